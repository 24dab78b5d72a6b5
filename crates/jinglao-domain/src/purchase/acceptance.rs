//! Acceptance of a contract's service (履约验收, 湘政发〔2014〕20号 二（四）7: 承接主体实施合同约定的
//! 服务事项后，购买主体应及时组织对合同履约情况进行检查验收，并按照合同约定……支付; 湘财社〔2015〕2号
//! 八（六）). An acceptance covers service up to a day; its result is accepted, accepted with a
//! deduction, or rejected. It gates payment: the final month of a contract (and, for a
//! milestone contract, every month) is paid only once an acceptance covering it is on record
//! and the latest one covering it is not a rejection.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::labelled_enum;
use crate::purchase::contract::PaymentTerms;
use crate::supply::facility_input::yuan_to_fen;
use crate::validation::Invalid;

labelled_enum! {
    /// What an acceptance closes.
    pub enum AcceptanceKind {
        /// A milestone (阶段验收): service up to a day.
        Milestone = ("milestone", "阶段验收"),
        /// The whole term (终期验收): clears the final payment.
        Final = ("final", "终期验收"),
    }
}

labelled_enum! {
    /// The acceptance's word.
    pub enum AcceptanceResult {
        /// Accepted (验收合格).
        Accepted = ("accepted", "验收合格"),
        /// Accepted with a deduction from the payment (合格但扣减).
        Deducted = ("deducted", "验收合格，扣减部分费用"),
        /// Rejected (验收不合格): no payment it gates until a later acceptance.
        Rejected = ("rejected", "验收不合格"),
    }
}

/// A checked acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptanceInput {
    /// Milestone or final.
    pub kind: AcceptanceKind,
    /// Service up to and including this day is covered.
    pub period_end: NaiveDate,
    /// Inspected on.
    pub inspected_on: NaiveDate,
    /// Who inspected (names and units).
    pub inspectors: String,
    /// The third party and its report number, or empty.
    pub third_party: String,
    /// What was found.
    pub findings: String,
    /// The result.
    pub result: AcceptanceResult,
    /// Withheld from the payment, fen (only with [`AcceptanceResult::Deducted`]).
    pub deduction_fen: i64,
}

/// An acceptance as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AcceptanceDraft {
    /// `milestone` | `final` (or the label).
    pub kind: String,
    /// YYYY-MM-DD.
    pub period_end: String,
    /// YYYY-MM-DD.
    pub inspected_on: String,
    /// Inspectors.
    pub inspectors: String,
    /// Third party and report number.
    #[serde(default)]
    pub third_party: String,
    /// Findings.
    pub findings: String,
    /// `accepted` | `deducted` | `rejected` (or the label).
    pub result: String,
    /// Deduction in yuan (forms).
    #[serde(default)]
    pub deduction_yuan: String,
    /// Deduction in fen (API), wins when set.
    #[serde(default)]
    pub deduction_fen: Option<i64>,
}

fn date(inv: &mut Invalid, field: &str, text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| inv.add(field, "请填写日期，格式如 2026-12-31"))
        .ok()
}

impl AcceptanceDraft {
    /// Checks the acceptance against its contract's term and ceiling, inspected not after
    /// `today`.
    pub fn parse(
        &self,
        term: (NaiveDate, NaiveDate),
        ceiling_fen: i64,
        today: NaiveDate,
    ) -> Result<AcceptanceInput, Invalid> {
        let mut inv = Invalid::new();
        let kind = AcceptanceKind::parse(&self.kind);
        if kind.is_none() {
            inv.add(
                "kind",
                format!("验收类型应为：{}", AcceptanceKind::labels_list()),
            );
        }
        let result = AcceptanceResult::parse(&self.result);
        if result.is_none() {
            inv.add(
                "result",
                format!("验收结论应为：{}", AcceptanceResult::labels_list()),
            );
        }
        let period_end = date(&mut inv, "period_end", &self.period_end);
        if let Some(d) = period_end {
            if d < term.0 || d > term.1 {
                inv.add(
                    "period_end",
                    format!("验收截止日应在合同服务期（{} 至 {}）内", term.0, term.1),
                );
            } else if kind == Some(AcceptanceKind::Final) && d != term.1 {
                inv.add(
                    "period_end",
                    format!("终期验收覆盖整个服务期，截止日应为合同终止日 {}", term.1),
                );
            }
        }
        let inspected_on = date(&mut inv, "inspected_on", &self.inspected_on);
        if let Some(d) = inspected_on {
            if d > today {
                inv.add("inspected_on", "验收日期不能晚于今天");
            } else if period_end.is_some_and(|p| d < p) {
                inv.add("inspected_on", "验收应在所验收的服务期结束之后进行");
            }
        }
        let inspectors = self.inspectors.trim();
        if inspectors.is_empty() || inspectors.chars().count() > 200 {
            inv.add("inspectors", "请填写验收人员及其单位（不超过 200 字）");
        }
        let third_party = self.third_party.trim();
        if third_party.chars().count() > 200 {
            inv.add("third_party", "第三方机构及报告编号不超过 200 字");
        }
        let findings = self.findings.trim();
        if findings.chars().count() > 1000 {
            inv.add("findings", "验收意见不超过 1000 字");
        }
        if findings.is_empty()
            && matches!(
                result,
                Some(AcceptanceResult::Rejected | AcceptanceResult::Deducted)
            )
        {
            inv.add("findings", "不合格或扣减费用时，请写明发现的问题和依据");
        }
        let deduction = match self.deduction_fen {
            Some(f) => Some(f),
            None => yuan_to_fen(&self.deduction_yuan),
        };
        match (result, deduction) {
            (_, None) => inv.add("deduction_yuan", "扣减金额应为金额，如 1200 或 1200.50"),
            (Some(AcceptanceResult::Deducted), Some(f)) if f <= 0 => {
                inv.add("deduction_yuan", "扣减部分费用时，请填写扣减金额")
            }
            (Some(AcceptanceResult::Deducted), Some(f)) if f > ceiling_fen => {
                inv.add("deduction_yuan", "扣减金额不能超过合同金额")
            }
            (Some(AcceptanceResult::Accepted | AcceptanceResult::Rejected), Some(f)) if f != 0 => {
                inv.add(
                    "deduction_yuan",
                    "只有“验收合格，扣减部分费用”才填写扣减金额",
                )
            }
            _ => {}
        }
        inv.into_result(())?;
        Ok(AcceptanceInput {
            kind: kind.expect("checked"),
            period_end: period_end.expect("checked"),
            inspected_on: inspected_on.expect("checked"),
            inspectors: inspectors.to_string(),
            third_party: third_party.to_string(),
            findings: findings.to_string(),
            result: result.expect("checked"),
            deduction_fen: deduction.unwrap_or(0),
        })
    }
}

/// A recorded acceptance, as the payment gate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptanceFact {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: AcceptanceKind,
    /// Covers service up to this day.
    pub period_end: NaiveDate,
    /// Result.
    pub result: AcceptanceResult,
    /// Inspected on.
    pub inspected_on: NaiveDate,
    /// Deduction, fen.
    pub deduction_fen: i64,
}

/// The last day of a `YYYY-MM` month.
pub fn month_end(month: &str) -> Option<NaiveDate> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    next.pred_opt()
}

/// Whether the payment for service in `month` under a contract with these terms ending on
/// `term_end` waits for an acceptance: every month of a milestone contract, and the final month
/// (the one holding the last day, or any after it) of the others.
pub fn needs_acceptance(terms: PaymentTerms, term_end: NaiveDate, month: &str) -> bool {
    match month_end(month) {
        None => true,
        Some(last) => terms == PaymentTerms::Milestones || last >= term_end,
    }
}

/// The acceptance that clears the payment for `month`, or why none does. `facts` are the
/// contract's acceptances in the order recorded; the latest one covering the month decides.
pub fn clearing_acceptance<'a>(
    terms: PaymentTerms,
    term_end: NaiveDate,
    month: &str,
    facts: &'a [AcceptanceFact],
) -> Result<Option<&'a AcceptanceFact>, String> {
    if !needs_acceptance(terms, term_end, month) {
        return Ok(None);
    }
    let last = month_end(month).unwrap_or(term_end).min(term_end);
    let covering = facts.iter().rev().find(|f| {
        f.period_end >= last
            && (terms == PaymentTerms::Milestones || f.kind == AcceptanceKind::Final)
    });
    match covering {
        None if terms == PaymentTerms::Milestones => Err(format!(
            "按合同节点支付，须先验收到 {last}，尚无覆盖该月的验收记录"
        )),
        None => Err("是合同最后一期款，须终期验收合格后支付，尚无终期验收记录".into()),
        Some(f) if f.result == AcceptanceResult::Rejected => Err(format!(
            "{} 的{}结论为验收不合格，整改并重新验收合格后才能支付",
            f.inspected_on,
            f.kind.label()
        )),
        Some(f) => Ok(Some(f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn fact(kind: AcceptanceKind, end: &str, result: AcceptanceResult) -> AcceptanceFact {
        AcceptanceFact {
            id: Uuid::now_v7(),
            kind,
            period_end: d(end),
            result,
            inspected_on: d(end),
            deduction_fen: 0,
        }
    }

    fn draft() -> AcceptanceDraft {
        AcceptanceDraft {
            kind: "final".into(),
            period_end: "2026-12-31".into(),
            inspected_on: "2027-01-10".into(),
            inspectors: "雨湖区民政局 张三".into(),
            findings: "服务记录完整".into(),
            result: "accepted".into(),
            ..Default::default()
        }
    }

    const TERM: (&str, &str) = ("2026-01-01", "2026-12-31");

    fn term() -> (NaiveDate, NaiveDate) {
        (d(TERM.0), d(TERM.1))
    }

    #[test]
    fn a_monthly_contract_waits_for_acceptance_only_in_its_final_month() {
        let end = d("2026-12-31");
        assert!(!needs_acceptance(
            PaymentTerms::MonthlyVerified,
            end,
            "2026-11"
        ));
        assert!(needs_acceptance(
            PaymentTerms::MonthlyVerified,
            end,
            "2026-12"
        ));
        assert!(needs_acceptance(
            PaymentTerms::PerHead,
            d("2026-12-15"),
            "2026-12"
        ));
        assert!(needs_acceptance(PaymentTerms::Milestones, end, "2026-03"));
    }

    #[test]
    fn the_final_month_is_cleared_by_the_latest_final_acceptance_and_refused_after_a_rejection() {
        let end = d("2026-12-31");
        let terms = PaymentTerms::MonthlyVerified;
        let none: Vec<AcceptanceFact> = vec![];
        assert!(
            clearing_acceptance(terms, end, "2026-12", &none)
                .unwrap_err()
                .contains("尚无终期验收记录")
        );
        let milestone = vec![fact(
            AcceptanceKind::Milestone,
            "2026-12-31",
            AcceptanceResult::Accepted,
        )];
        assert!(clearing_acceptance(terms, end, "2026-12", &milestone).is_err());
        let rejected = vec![fact(
            AcceptanceKind::Final,
            "2026-12-31",
            AcceptanceResult::Rejected,
        )];
        assert!(
            clearing_acceptance(terms, end, "2026-12", &rejected)
                .unwrap_err()
                .contains("验收不合格")
        );
        let mut redone = rejected.clone();
        redone.push(fact(
            AcceptanceKind::Final,
            "2026-12-31",
            AcceptanceResult::Deducted,
        ));
        let ok = clearing_acceptance(terms, end, "2026-12", &redone)
            .unwrap()
            .unwrap();
        assert_eq!(ok.id, redone[1].id);
    }

    #[test]
    fn a_milestone_contract_pays_a_month_only_up_to_an_accepted_milestone() {
        let end = d("2026-12-31");
        let terms = PaymentTerms::Milestones;
        let facts = vec![fact(
            AcceptanceKind::Milestone,
            "2026-06-30",
            AcceptanceResult::Accepted,
        )];
        assert!(
            clearing_acceptance(terms, end, "2026-06", &facts)
                .unwrap()
                .is_some()
        );
        let err = clearing_acceptance(terms, end, "2026-07", &facts).unwrap_err();
        assert!(err.contains("2026-07-31"), "{err}");
    }

    #[test]
    fn a_final_acceptance_must_cover_the_whole_term_and_come_after_it() {
        let mut a = draft();
        a.period_end = "2026-11-30".into();
        a.inspected_on = "2026-11-01".into();
        let e = a.parse(term(), 100_000, d("2027-02-01")).unwrap_err();
        assert!(e.get("period_end").unwrap().contains("合同终止日"));
        assert!(
            draft()
                .parse(term(), 100_000, d("2027-01-09"))
                .unwrap_err()
                .get("inspected_on")
                .is_some()
        );
        assert!(draft().parse(term(), 100_000, d("2027-02-01")).is_ok());
    }

    #[test]
    fn a_deduction_needs_its_result_an_amount_within_the_ceiling_and_the_reason() {
        let mut a = draft();
        a.result = "deducted".into();
        a.findings = String::new();
        let e = a.parse(term(), 100_000, d("2027-02-01")).unwrap_err();
        assert!(e.get("deduction_yuan").is_some());
        assert!(e.get("findings").is_some());
        a.findings = "三次服务超时".into();
        a.deduction_yuan = "2000".into();
        assert!(
            a.parse(term(), 100_000, d("2027-02-01"))
                .unwrap_err()
                .get("deduction_yuan")
                .unwrap()
                .contains("合同金额")
        );
        a.deduction_yuan = "300.50".into();
        assert_eq!(
            a.parse(term(), 100_000, d("2027-02-01"))
                .unwrap()
                .deduction_fen,
            30_050
        );
        let mut b = draft();
        b.deduction_yuan = "10".into();
        assert!(b.parse(term(), 100_000, d("2027-02-01")).is_err());
    }
}
