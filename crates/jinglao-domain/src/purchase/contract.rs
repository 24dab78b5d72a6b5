//! The purchase contract (购买服务合同, 湘政发〔2014〕20号 二（四）5): scope, subject, unit
//! prices per item, quantity and money ceilings, quality, term, payment terms, rights and
//! breach terms, and its filing with finance (合同报同级财政部门备案). Its unit prices are the
//! prices settlement uses — prices come from a contract and are never typed in free — and its
//! money ceiling holds any statement that would pass it. Subcontracting (转包) is forbidden:
//! only the contracted provider's own staff are dispatched.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::labelled_enum;
use crate::supply::facility_input::yuan_to_fen;
use crate::validation::Invalid;

labelled_enum! {
    /// How the contract is paid.
    pub enum PaymentTerms {
        /// Monthly, from the verified visits (the existing statements).
        MonthlyVerified = ("monthly_verified", "按月据实结算（核验通过的服务）"),
        /// At agreed milestones.
        Milestones = ("milestones", "按合同节点支付"),
        /// Per head per month (公建民营).
        PerHead = ("per_head", "按人头按月支付"),
    }
}

/// One contracted unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractPrice {
    /// Service-list item.
    pub item_code: String,
    /// Unit price, fen.
    pub unit_fen: i64,
    /// Minimum minutes per visit.
    pub min_minutes: u32,
    /// Needs a certified caregiver.
    pub needs_certificate: bool,
}

/// A checked contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractInput {
    /// Contract number (e.g. 雨民购〔2026〕3号).
    pub contract_no: String,
    /// Scope and subject, in words.
    pub scope: String,
    /// Unit prices (only items the project buys).
    pub prices: Vec<ContractPrice>,
    /// The most money the contract pays, fen (not above the award).
    pub ceiling_fen: i64,
    /// The most units (visits, hours, meals) it pays for, if capped.
    pub quantity_ceiling: Option<u64>,
    /// Quality requirements.
    pub quality: String,
    /// First day of service.
    pub start: NaiveDate,
    /// Last day of service.
    pub end: NaiveDate,
    /// How it is paid.
    pub payment_terms: PaymentTerms,
    /// Rights, obligations and breach terms.
    pub breach_terms: String,
    /// Signed on.
    pub signed_on: NaiveDate,
    /// The provider's bank (开户银行) payments go to.
    #[serde(default)]
    pub payee_bank: String,
    /// The provider's account number (银行账号), digits only.
    #[serde(default)]
    pub payee_account: String,
}

/// A contract as typed.
#[derive(Debug, Clone, Default)]
pub struct ContractDraft {
    /// Number.
    pub contract_no: String,
    /// Scope.
    pub scope: String,
    /// Prices: item, yuan, min minutes, needs certificate (`1`/`true`/`是`).
    pub prices: Vec<(String, String, String, String)>,
    /// Ceiling in yuan (forms).
    pub ceiling_yuan: String,
    /// Ceiling in fen (API), wins when set.
    pub ceiling_fen: Option<i64>,
    /// Quantity ceiling, or empty.
    pub quantity_ceiling: String,
    /// Quality.
    pub quality: String,
    /// Start.
    pub start: String,
    /// End.
    pub end: String,
    /// Payment terms.
    pub payment_terms: String,
    /// Breach terms.
    pub breach_terms: String,
    /// Signed on.
    pub signed_on: String,
    /// Bank.
    pub payee_bank: String,
    /// Account number (spaces and dashes are dropped).
    pub payee_account: String,
}

impl ContractDraft {
    /// Checks the contract against the project it is for: `items` bought, `award_fen` the
    /// awarded amount (ceiling), signed not after `today`.
    pub fn parse(
        &self,
        items: &[String],
        award_fen: i64,
        today: NaiveDate,
    ) -> Result<ContractInput, Invalid> {
        let mut inv = Invalid::new();
        let no = self.contract_no.trim();
        if no.is_empty() || no.chars().count() > 60 {
            inv.add("contract_no", "请填写合同编号（不超过 60 字）");
        }
        let scope = self.scope.trim();
        if scope.is_empty() || scope.chars().count() > 2000 {
            inv.add("scope", "请填写购买服务的范围和标的（不超过 2000 字）");
        }
        if self.prices.len() > 100 {
            inv.add("prices", "单价最多 100 行");
            return Err(inv);
        }
        let mut prices: Vec<ContractPrice> = Vec::new();
        for (i, (item, yuan, minutes, cert)) in self.prices.iter().enumerate() {
            let f = |n: &str| format!("prices[{i}].{n}");
            let item = item.trim();
            if item.is_empty() && yuan.trim().is_empty() {
                continue;
            }
            if !items.iter().any(|c| c == item) {
                inv.add(&f("item_code"), format!("“{item}”不是本项目购买的服务项目"));
            } else if prices.iter().any(|p| p.item_code == item) {
                inv.add(&f("item_code"), format!("“{item}”的单价重复"));
            }
            let unit = yuan_to_fen(yuan).filter(|f| (1..=10_000_000).contains(f));
            if unit.is_none() {
                inv.add(
                    &f("unit_yuan"),
                    "单价应大于 0、不超过 10 万元，最多两位小数",
                );
            }
            let minutes = if minutes.trim().is_empty() {
                Some(0)
            } else {
                minutes.trim().parse::<u32>().ok().filter(|m| *m <= 24 * 60)
            };
            if minutes.is_none() {
                inv.add(&f("min_minutes"), "最短服务时长应为 0–1440 分钟");
            }
            let cert = matches!(cert.trim(), "1" | "true" | "是" | "on");
            if let (Some(unit_fen), Some(min_minutes)) = (unit, minutes) {
                prices.push(ContractPrice {
                    item_code: item.to_string(),
                    unit_fen,
                    min_minutes,
                    needs_certificate: cert,
                });
            }
        }
        if prices.is_empty() && !inv.errors.iter().any(|e| e.field.starts_with("prices")) {
            inv.add("prices", "请填写合同单价：结算只按合同单价");
        }
        let ceiling = match self.ceiling_fen {
            Some(f) => Some(f),
            None => {
                yuan_to_fen(&self.ceiling_yuan).filter(|_| !self.ceiling_yuan.trim().is_empty())
            }
        };
        let field = if self.ceiling_fen.is_some() {
            "ceiling_fen"
        } else {
            "ceiling_yuan"
        };
        match ceiling {
            Some(c) if c <= 0 => inv.add(field, "合同金额应大于 0"),
            Some(c) if c > award_fen => inv.add(
                field,
                format!(
                    "合同金额不能超过中标（成交）金额 {}",
                    crate::settlement::yuan(award_fen)
                ),
            ),
            None => inv.add(field, "请填写合同金额，最多两位小数"),
            _ => {}
        }
        let quantity_ceiling = if self.quantity_ceiling.trim().is_empty() {
            None
        } else {
            let q = self
                .quantity_ceiling
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|q| *q > 0);
            if q.is_none() {
                inv.add("quantity_ceiling", "服务数量上限应为正整数，或留空");
            }
            q
        };
        let quality = self.quality.trim();
        if quality.is_empty() || quality.chars().count() > 2000 {
            inv.add("quality", "请填写质量要求（不超过 2000 字）");
        }
        let start = self.start.trim().parse::<NaiveDate>().ok();
        let end = self.end.trim().parse::<NaiveDate>().ok();
        if start.is_none() {
            inv.add("start", "请填写服务期开始日期");
        }
        match (start, end) {
            (_, None) => inv.add("end", "请填写服务期结束日期"),
            (Some(s), Some(e)) if e < s => inv.add("end", "结束日期不能早于开始日期"),
            _ => {}
        }
        let terms = PaymentTerms::parse(&self.payment_terms);
        if terms.is_none() {
            inv.add(
                "payment_terms",
                format!("请选择支付方式：{}", PaymentTerms::labels_list()),
            );
        }
        let breach = self.breach_terms.trim();
        if breach.is_empty() || breach.chars().count() > 2000 {
            inv.add(
                "breach_terms",
                "请写明双方权利义务和违约责任（不超过 2000 字）",
            );
        }
        let signed = self.signed_on.trim().parse::<NaiveDate>().ok();
        match signed {
            None => inv.add("signed_on", "请填写签订日期"),
            Some(d) if d > today => inv.add("signed_on", "签订日期不能晚于今天"),
            _ => {}
        }
        let payee_bank = self.payee_bank.trim();
        if payee_bank.is_empty() || payee_bank.chars().count() > 60 {
            inv.add("payee_bank", "请填写承接主体的开户银行（不超过 60 字）");
        }
        let payee_account: String = self
            .payee_account
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if !(8..=32).contains(&payee_account.len())
            || !payee_account.bytes().all(|b| b.is_ascii_digit())
        {
            inv.add("payee_account", "银行账号应为 8–32 位数字");
        }
        match (ceiling, start, end, terms, signed) {
            (Some(ceiling_fen), Some(start), Some(end), Some(payment_terms), Some(signed_on))
                if inv.is_empty() =>
            {
                Ok(ContractInput {
                    contract_no: no.to_string(),
                    scope: scope.to_string(),
                    prices,
                    ceiling_fen,
                    quantity_ceiling,
                    quality: quality.to_string(),
                    start,
                    end,
                    payment_terms,
                    breach_terms: breach.to_string(),
                    signed_on,
                    payee_bank: payee_bank.to_string(),
                    payee_account,
                })
            }
            _ => Err(inv),
        }
    }
}

/// Why a statement of `amount_fen` must be held under a contract that caps money at
/// `ceiling_fen` when `committed_fen` is already on its other statements (not rejected), if
/// it must.
pub fn ceiling_hold(ceiling_fen: i64, committed_fen: i64, amount_fen: i64) -> Option<String> {
    let left = ceiling_fen - committed_fen;
    (amount_fen > left).then(|| {
        format!(
            "本月结算 {} 超过合同剩余金额 {}（合同金额 {}，已结算 {}），暂缓支付",
            crate::settlement::yuan(amount_fen),
            crate::settlement::yuan(left.max(0)),
            crate::settlement::yuan(ceiling_fen),
            crate::settlement::yuan(committed_fen)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ContractDraft {
        ContractDraft {
            contract_no: "雨民购〔2026〕3号".into(),
            scope: "为雨湖区 120 名老年人提供助行服务".into(),
            prices: vec![("JJ01".into(), "30".into(), "45".into(), "".into())],
            ceiling_yuan: "150000".into(),
            ceiling_fen: None,
            quantity_ceiling: "5760".into(),
            quality: "按服务规范执行".into(),
            start: "2026-03-01".into(),
            end: "2026-12-31".into(),
            payment_terms: "monthly_verified".into(),
            breach_terms: "未按约定提供服务的，按次扣减".into(),
            signed_on: "2026-02-20".into(),
            payee_bank: "中国工商银行湘潭雨湖支行".into(),
            payee_account: "1904 0210 0910 0123 456".into(),
        }
    }

    fn today() -> NaiveDate {
        "2026-03-01".parse().unwrap()
    }

    #[test]
    fn a_contract_keeps_only_prices_of_items_bought_and_not_above_the_award() {
        let items = vec!["JJ01".to_string()];
        let c = draft().parse(&items, 15_000_000, today()).unwrap();
        assert_eq!(c.prices[0].unit_fen, 3_000);
        assert_eq!(c.payee_account, "1904021009100123456");
        let mut d = draft();
        d.prices
            .push(("ZZ09".into(), "10".into(), "".into(), "".into()));
        d.ceiling_yuan = "150000.01".into();
        let e = d.parse(&items, 15_000_000, today()).unwrap_err();
        assert!(e.get("prices[1].item_code").is_some());
        assert!(e.get("ceiling_yuan").unwrap().contains("150000.00"));
    }

    #[test]
    fn a_statement_past_the_remaining_amount_is_held_with_the_figures() {
        assert_eq!(ceiling_hold(100_000, 60_000, 40_000), None);
        let why = ceiling_hold(100_000, 60_000, 40_001).unwrap();
        assert!(why.contains("400.00") && why.contains("暂缓支付"), "{why}");
    }
}

/// How a contract's spending keeps pace with its term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Within the allowed points of the term's progress.
    OnPlan,
    /// Spending ahead of the term by more than the allowed points (the money may run out).
    Ahead,
    /// Spending behind (services not reaching the people they were bought for).
    Behind,
}

/// Compares the share of the ceiling spent with the share of the term gone, both in whole
/// percent, allowing `points` either way (`purchase.performance_warning_points`). Nothing is
/// said to be behind in the first tenth of the term, when little can have been settled yet.
pub fn pace(spent_percent: i64, elapsed_percent: i64, points: i64) -> Pace {
    if spent_percent > elapsed_percent + points {
        Pace::Ahead
    } else if elapsed_percent >= 10 && spent_percent + points < elapsed_percent {
        Pace::Behind
    } else {
        Pace::OnPlan
    }
}

#[cfg(test)]
mod pace_tests {
    use super::*;

    #[test]
    fn spending_far_ahead_of_or_behind_the_term_is_flagged_both_ways() {
        assert_eq!(pace(80, 50, 20), Pace::Ahead);
        assert_eq!(pace(70, 50, 20), Pace::OnPlan);
        assert_eq!(pace(20, 50, 20), Pace::Behind);
        assert_eq!(pace(0, 5, 20), Pace::OnPlan);
    }
}
