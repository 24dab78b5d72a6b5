//! A service-list item as typed into a form or sent to the API, checked into a
//! [`ServiceItem`]: the target-group rule is parsed and type-checked here, so a rule with an
//! error can never be published (the message gives line and column).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::category::parse_date;
use crate::rules::Rule;
use crate::service_list::{Payer, Quota, ServiceCategory, ServiceItem};
use crate::validation::Invalid;

/// An item as entered. Texts throughout, so that every mistake can be named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemDraft {
    /// E.g. XT-ZH-02.
    pub code: String,
    /// E.g. 老年助餐.
    pub name: String,
    /// 物质帮助 / 照护服务 / 关爱服务 (or material_help / care / caring).
    pub category: String,
    /// The rule (docs/RULES.md).
    pub target_rule: String,
    /// Content and service standard.
    pub content: String,
    /// government / share / self.
    pub payer: String,
    /// The government's share in per cent when `payer` is share (e.g. "50").
    pub government_share_percent: String,
    /// unlimited / hours / times / fen.
    pub quota_kind: String,
    /// Hours or times a month, or fen a month.
    pub quota_amount: String,
    /// YYYY-MM-DD.
    pub effective_from: String,
    /// YYYY-MM-DD or empty.
    pub effective_to: String,
    /// Document number and article.
    pub basis: String,
}

fn date(text: &str) -> Option<NaiveDate> {
    parse_date(text.trim())
}

impl ItemDraft {
    /// Whether the item is the demo's own assumption (its basis says 演示假设).
    pub fn is_demo_assumption(&self) -> bool {
        crate::service_list::is_demo_basis(&self.basis)
    }

    /// The draft of a stored item (to prefill the next version's form).
    pub fn of_item(it: &ServiceItem) -> ItemDraft {
        let (payer, share) = match it.payer {
            Payer::GovernmentInFull => ("government", String::new()),
            Payer::SubsidyShare(p) => ("share", format!("{}", f64::from(p) / 10.0)),
            Payer::SelfPaid => ("self", String::new()),
        };
        let (kind, amount) = match it.quota {
            Quota::Unlimited => ("unlimited", String::new()),
            Quota::HoursPerMonth(n) => ("hours", n.to_string()),
            Quota::TimesPerMonth(n) => ("times", n.to_string()),
            Quota::FenPerMonth(n) => ("fen", n.to_string()),
        };
        ItemDraft {
            code: it.code.clone(),
            name: it.name.clone(),
            category: it.category.label().to_string(),
            target_rule: it.target.source().to_string(),
            content: it.content.clone(),
            payer: payer.into(),
            government_share_percent: share,
            quota_kind: kind.into(),
            quota_amount: amount,
            effective_from: it.effective_from.to_string(),
            effective_to: it.effective_to.map(|d| d.to_string()).unwrap_or_default(),
            basis: it.basis.clone(),
        }
    }

    /// Checks the draft; errors are added to `inv` under `items[i].<field>`.
    pub fn validate(&self, i: usize, inv: &mut Invalid) -> Option<ServiceItem> {
        let field = |f: &str| format!("items[{i}].{f}");
        let before = inv.errors.len();
        let target = match Rule::parse(&self.target_rule) {
            Ok(r) => Some(r),
            Err(_) if self.target_rule.trim().is_empty() => {
                inv.add(&field("target_rule"), "请填写服务对象条件");
                None
            }
            Err(e) => {
                inv.add(&field("target_rule"), format!("服务对象条件{e}"));
                None
            }
        };
        let category = ServiceCategory::parse(self.category.trim());
        if category.is_none() {
            inv.add(
                &field("category"),
                format!("类别应为：{}", ServiceCategory::labels_list()),
            );
        }
        let payer = match self.payer.trim() {
            "government" | "政府全额" => Some(Payer::GovernmentInFull),
            "self" | "自费" => Some(Payer::SelfPaid),
            "share" | "政府补贴" => match self.government_share_percent.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => {
                    Some(Payer::SubsidyShare((p * 10.0).round() as u16))
                }
                _ => {
                    inv.add(
                        &field("government_share_percent"),
                        "政府承担比例应为 0 到 100 之间的数（百分比）",
                    );
                    None
                }
            },
            _ => {
                inv.add(&field("payer"), "付费方式应为 government、share 或 self");
                None
            }
        };
        let amount = self.quota_amount.trim();
        let count = || amount.parse::<u32>().ok().filter(|n| *n > 0);
        let quota = match self.quota_kind.trim() {
            "unlimited" | "" => Some(Quota::Unlimited),
            "hours" => count().map(Quota::HoursPerMonth),
            "times" => count().map(Quota::TimesPerMonth),
            "fen" => amount
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Quota::FenPerMonth),
            _ => {
                inv.add(
                    &field("quota_kind"),
                    "数量单位应为 unlimited、hours、times 或 fen",
                );
                return None;
            }
        };
        if quota.is_none() {
            inv.add(&field("quota_amount"), "数量应为正整数（金额以分为单位）");
        }
        let from = date(&self.effective_from);
        if from.is_none() {
            inv.add(&field("effective_from"), "开始日期应为 YYYY-MM-DD");
        }
        let to = match self.effective_to.trim() {
            "" => Some(None),
            t => match date(t) {
                Some(d) => Some(Some(d)),
                None => {
                    inv.add(&field("effective_to"), "截止日期应为 YYYY-MM-DD 或留空");
                    None
                }
            },
        };
        if inv.errors.len() > before {
            return None;
        }
        Some(ServiceItem {
            code: self.code.trim().to_string(),
            name: self.name.trim().to_string(),
            category: category?,
            target: target?,
            content: self.content.trim().to_string(),
            payer: payer?,
            quota: quota?,
            effective_from: from?,
            effective_to: to?,
            basis: self.basis.trim().to_string(),
        })
    }
}

/// Checks every draft; all errors together, or the items.
pub fn validate_items(drafts: &[ItemDraft]) -> Result<Vec<ServiceItem>, Invalid> {
    let mut inv = Invalid::new();
    let items: Vec<Option<ServiceItem>> = drafts
        .iter()
        .enumerate()
        .map(|(i, d)| d.validate(i, &mut inv))
        .collect();
    if !inv.is_empty() {
        return Err(inv);
    }
    Ok(items.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_list::xiangtan_demo_list;

    #[test]
    fn a_stored_item_round_trips_through_its_draft() {
        let list = xiangtan_demo_list(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        let drafts: Vec<ItemDraft> = list.iter().map(ItemDraft::of_item).collect();
        assert_eq!(validate_items(&drafts).unwrap(), list);
    }

    #[test]
    fn a_broken_rule_is_refused_with_its_line_and_column_under_the_item() {
        let mut d = ItemDraft::of_item(
            &xiangtan_demo_list(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())[3],
        );
        d.target_rule = "age >= 80 or\n  \"低宝\" in categories".into();
        d.quota_amount = "-3".into();
        d.quota_kind = "times".into();
        let inv = validate_items(&[ItemDraft::default(), d]).unwrap_err();
        let msg = inv.get("items[1].target_rule").unwrap();
        assert!(msg.starts_with("服务对象条件第 2 行第 3 列："), "{msg}");
        assert!(msg.contains("低宝"), "{msg}");
        assert!(inv.get("items[1].quota_amount").is_some());
        assert!(inv.get("items[0].target_rule").unwrap().contains("请填写"));
    }
}
