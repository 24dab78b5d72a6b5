//! Providers' credit records (信用记录), the minimal set the gates need until the supervision
//! issue brings the full credit system: 失信 listings and administrative penalties, each with
//! the decision that imposed it, and the two rules that read them.
//!
//! - Government purchase (bidding, and visits the government pays for) is barred while the
//!   provider is on the 失信 list, and for `credit.fraud_bar_years` years (three) after a
//!   penalty for 弄虚作假、冒领财政资金 (湘政发〔2014〕20号 三（三）: “三年之内不得参与政府购买服务”).
//! - A star-rating application is refused while a serious penalty or a 失信 listing is in
//!   force (local rating practice, docs/STANDARDS.md: “no serious penalty or 失信 listing”).
//!
//! A record is in force from its decision date to its end date (inclusive; none: until it is
//! revoked, e.g. by 信用修复), and not after it is revoked.

use chrono::{Months, NaiveDate};
use serde::Serialize;

use crate::labelled_enum;
use crate::validation::Invalid;

labelled_enum! {
    /// What a credit record says.
    pub enum CreditKind {
        /// 列入失信名单（黑名单）.
        Dishonest = ("dishonest", "列入失信名单"),
        /// An administrative penalty for 弄虚作假、冒领财政资金.
        FraudPenalty = ("fraud_penalty", "弄虚作假、冒领财政资金受行政处罚"),
        /// 重大行政处罚 (other than the above).
        SeriousPenalty = ("serious_penalty", "重大行政处罚"),
        /// 一般行政处罚: kept on the record, bars nothing by itself.
        Penalty = ("penalty", "一般行政处罚"),
    }
}

/// A credit record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditRecord {
    /// What it says.
    pub kind: CreditKind,
    /// The decision's number (e.g. 潭民罚决字〔2026〕3号).
    pub decision_no: String,
    /// Who decided (e.g. 湘潭市民政局).
    pub authority: String,
    /// The decision date; the record is in force from it.
    pub decided_on: NaiveDate,
    /// The last day it is in force, if the decision says; none: until revoked.
    pub ends_on: Option<NaiveDate>,
    /// The day it was revoked (信用修复, decision overturned), if it was.
    pub revoked_on: Option<NaiveDate>,
    /// What happened, in a sentence.
    pub summary: String,
}

/// A record as entered, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct CreditDraft<'a> {
    /// The kind's code or label.
    pub kind: &'a str,
    /// Decision number.
    pub decision_no: &'a str,
    /// Deciding authority.
    pub authority: &'a str,
    /// Decision date, `YYYY-MM-DD`.
    pub decided_on: &'a str,
    /// Last day in force, `YYYY-MM-DD`, or empty.
    pub ends_on: &'a str,
    /// What happened.
    pub summary: &'a str,
}

impl CreditDraft<'_> {
    /// Checks a record typed by a clerk on `today`, naming each field that is wrong.
    pub fn validate(&self, today: NaiveDate) -> Result<CreditRecord, Invalid> {
        let mut inv = Invalid::new();
        let kind = CreditKind::parse(self.kind);
        if kind.is_none() {
            inv.add(
                "kind",
                format!("请选择记录类型：{}", CreditKind::labels_list()),
            );
        }
        let text = |inv: &mut Invalid, field: &'static str, v: &str, what: &str, max: usize| {
            let v = v.trim();
            if v.is_empty() {
                inv.add(field, format!("请填写{what}"));
            } else if v.chars().count() > max {
                inv.add(field, format!("{what}不能超过 {max} 个字"));
            }
            v.to_string()
        };
        let decision_no = text(&mut inv, "decision_no", self.decision_no, "决定书文号", 100);
        let authority = text(&mut inv, "authority", self.authority, "作出决定的机关", 100);
        let summary = text(&mut inv, "summary", self.summary, "事由", 500);
        let decided_on = crate::category::parse_date(self.decided_on);
        match decided_on {
            None => inv.add("decided_on", "请填写决定日期（年-月-日）"),
            Some(d) if d > today => inv.add("decided_on", "决定日期不能晚于今天"),
            Some(_) => {}
        }
        let ends_on = if self.ends_on.trim().is_empty() {
            None
        } else {
            let e = crate::category::parse_date(self.ends_on);
            match (e, decided_on) {
                (None, _) => inv.add(
                    "ends_on",
                    "截止日期应写成 年-月-日，或留空表示撤销前一直有效",
                ),
                (Some(e), Some(d)) if e < d => inv.add("ends_on", "截止日期不能早于决定日期"),
                _ => {}
            }
            e
        };
        match (kind, decided_on, inv.is_empty()) {
            (Some(kind), Some(decided_on), true) => Ok(CreditRecord {
                kind,
                decision_no,
                authority,
                decided_on,
                ends_on,
                revoked_on: None,
                summary,
            }),
            _ => Err(inv),
        }
    }
}

impl CreditRecord {
    /// Whether the record has been decided by `day` and not revoked by then.
    fn decided_and_standing(&self, day: NaiveDate) -> bool {
        self.decided_on <= day && self.revoked_on.is_none_or(|r| day < r)
    }

    /// Whether the record itself is in force on `day` (decided, not ended, not revoked).
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.decided_and_standing(day) && self.ends_on.is_none_or(|e| day <= e)
    }

    /// The last day a fraud penalty keeps the provider out of government purchase: `years`
    /// years counted as the Civil Code counts a period (arts. 201–202: from the day after the
    /// decision, ending on the corresponding day — the month's last day when there is none), so
    /// the anniversary itself; or the record's own end if later.
    fn fraud_bar_until(&self, years: u32) -> NaiveDate {
        let bar = self
            .decided_on
            .checked_add_months(Months::new(years * 12))
            .unwrap_or(NaiveDate::MAX);
        self.ends_on.map_or(bar, |e| e.max(bar))
    }

    /// Why the record bars the provider from government purchase on `day`, if it does.
    pub fn purchase_bar(&self, day: NaiveDate, fraud_bar_years: u32) -> Option<String> {
        if !self.decided_and_standing(day) {
            return None;
        }
        match self.kind {
            CreditKind::Dishonest if self.in_force_on(day) => Some(format!(
                "列入失信名单（{}，{}）",
                self.authority, self.decision_no
            )),
            CreditKind::FraudPenalty => {
                let until = self.fraud_bar_until(fraud_bar_years);
                (day <= until).then(|| {
                    format!(
                        "因弄虚作假、冒领财政资金受处罚（{}），至 {} 不得参与政府购买服务",
                        self.decision_no, until
                    )
                })
            }
            _ => None,
        }
    }

    /// Why the record stops a star-rating application on `day`, if it does.
    pub fn rating_bar(&self, day: NaiveDate, fraud_bar_years: u32) -> Option<String> {
        match self.kind {
            CreditKind::Dishonest | CreditKind::FraudPenalty => {
                self.purchase_bar(day, fraud_bar_years)
            }
            CreditKind::SeriousPenalty if self.in_force_on(day) => Some(format!(
                "存在重大行政处罚（{}，{}）",
                self.authority, self.decision_no
            )),
            _ => None,
        }
    }

    /// The period in words: “2026-03-01 起至 2027-02-28” or “2026-03-01 起，撤销前有效”.
    pub fn period(&self) -> String {
        let end = match (self.ends_on, self.revoked_on) {
            (_, Some(r)) => format!("，{r} 撤销"),
            (Some(e), None) => format!("至 {e}"),
            (None, None) => "，撤销前有效".into(),
        };
        format!("{} 起{end}", self.decided_on)
    }
}

/// The first reason any of `records` bars government purchase on `day`.
pub fn purchase_bar(records: &[CreditRecord], day: NaiveDate, years: u32) -> Option<String> {
    records.iter().find_map(|r| r.purchase_bar(day, years))
}

/// The first reason any of `records` stops a rating application on `day`.
pub fn rating_bar(records: &[CreditRecord], day: NaiveDate, years: u32) -> Option<String> {
    records.iter().find_map(|r| r.rating_bar(day, years))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn record(kind: CreditKind, decided: &str, ends: Option<&str>) -> CreditRecord {
        CreditRecord {
            kind,
            decision_no: "潭民罚决字〔2026〕3号".into(),
            authority: "湘潭市民政局".into(),
            decided_on: d(decided),
            ends_on: ends.map(d),
            revoked_on: None,
            summary: "虚报服务记录".into(),
        }
    }

    #[test]
    fn a_fraud_penalty_bars_purchase_for_three_years_counted_as_the_civil_code_counts() {
        let r = record(CreditKind::FraudPenalty, "2026-03-01", None);
        assert!(r.purchase_bar(d("2026-02-28"), 3).is_none());
        assert!(r.purchase_bar(d("2026-03-01"), 3).is_some());
        let last = r.purchase_bar(d("2029-03-01"), 3).unwrap();
        assert!(last.contains("至 2029-03-01 不得"), "{last}");
        assert!(r.purchase_bar(d("2029-03-02"), 3).is_none());
        // The region's parameter decides the years.
        assert!(r.purchase_bar(d("2029-03-02"), 5).is_some());
        // A decision on 29 February ends on 28 February, the month's last day.
        let leap = record(CreditKind::FraudPenalty, "2028-02-29", None);
        assert!(leap.purchase_bar(d("2031-02-28"), 3).is_some());
        assert!(leap.purchase_bar(d("2031-03-01"), 3).is_none());
    }

    #[test]
    fn a_listing_bars_purchase_and_rating_until_it_ends_or_is_revoked() {
        let mut r = record(CreditKind::Dishonest, "2026-03-01", Some("2026-12-31"));
        assert!(r.purchase_bar(d("2026-12-31"), 3).is_some());
        assert!(r.rating_bar(d("2026-12-31"), 3).is_some());
        assert!(r.purchase_bar(d("2027-01-01"), 3).is_none());
        r.ends_on = None;
        r.revoked_on = Some(d("2026-06-01"));
        assert!(r.purchase_bar(d("2026-05-31"), 3).is_some());
        assert!(r.purchase_bar(d("2026-06-01"), 3).is_none());
        assert!(r.period().contains("2026-06-01 撤销"));
    }

    #[test]
    fn a_serious_penalty_stops_a_rating_but_not_purchase_and_an_ordinary_one_stops_neither() {
        let r = record(CreditKind::SeriousPenalty, "2026-03-01", None);
        assert!(r.rating_bar(d("2030-01-01"), 3).is_some());
        assert!(r.purchase_bar(d("2026-04-01"), 3).is_none());
        let r = record(CreditKind::Penalty, "2026-03-01", None);
        assert!(r.rating_bar(d("2026-04-01"), 3).is_none());
        assert!(r.purchase_bar(d("2026-04-01"), 3).is_none());
    }

    #[test]
    fn a_record_typed_badly_is_refused_naming_each_field() {
        let today = d("2026-12-06");
        let err = CreditDraft {
            kind: "警告",
            decided_on: "2027-01-01",
            ends_on: "明年",
            ..Default::default()
        }
        .validate(today)
        .unwrap_err();
        for f in [
            "kind",
            "decision_no",
            "authority",
            "summary",
            "decided_on",
            "ends_on",
        ] {
            assert!(err.get(f).is_some(), "{f}: {err:?}");
        }
        let ok = CreditDraft {
            kind: "列入失信名单",
            decision_no: " 潭民失信〔2026〕1号 ",
            authority: "湘潭市民政局",
            decided_on: "2026-11-01",
            ends_on: "",
            summary: "拒不整改重大安全隐患",
        }
        .validate(today)
        .unwrap();
        assert_eq!(
            (ok.kind, ok.decision_no.as_str(), ok.ends_on),
            (CreditKind::Dishonest, "潭民失信〔2026〕1号", None)
        );
    }
}
