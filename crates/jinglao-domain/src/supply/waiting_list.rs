//! The priority waiting list of public institutions (公办养老机构轮候): applicants are ordered by
//! the region's priority tiers, then by application date. The order and its reason are shown
//! to staff so that anyone can check why someone is ahead.
//!
//! 潭政办发〔2023〕20号 二（三）9 names the groups — 低收入、高龄、失能、失独、获得国家荣誉等 —
//! without an order among them, so the tiers are a per-region policy parameter
//! (`waiting_list.priority`) whose default puts every named group in one tier (they rank
//! equal, then by date). A county that orders them writes tiers in that order. A group is a
//! category label ([`crate::category::LABELS`]): recorded (低保) or derived (高龄, 失独).

use chrono::NaiveDate;
use serde::Serialize;

/// The priority tiers, highest first; each tier a set of category labels that rank equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityTiers(Vec<Vec<String>>);

impl PriorityTiers {
    /// Reads tiers written as labels joined by "、" or ",", tiers separated by "；" or ";":
    /// `城市特困、农村特困；低保、低保边缘；高龄`. Each label must be a category rules know.
    pub fn parse(text: &str) -> Result<PriorityTiers, String> {
        let mut tiers = Vec::new();
        for tier in text.split([';', '；']) {
            let labels: Vec<String> = tier
                .split(['、', ',', '，'])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if labels.is_empty() {
                continue;
            }
            if let Some(bad) = labels
                .iter()
                .find(|l| !crate::category::LABELS.contains(&l.as_str()))
            {
                return Err(format!(
                    "“{bad}”不是老年人类别；可用：{}",
                    crate::category::LABELS.join("、")
                ));
            }
            tiers.push(labels);
        }
        if tiers.is_empty() {
            return Err("至少要有一个优先类别".into());
        }
        Ok(PriorityTiers(tiers))
    }

    /// Every label of every tier, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.0.iter().flatten().map(String::as_str).collect()
    }

    /// The tier (from 0) and the label that places someone with `categories`, if any.
    fn place_of<'a>(&'a self, categories: &[String]) -> Option<(usize, &'a str)> {
        self.0.iter().enumerate().find_map(|(i, tier)| {
            tier.iter()
                .find(|l| categories.contains(l))
                .map(|l| (i, l.as_str()))
        })
    }
}

/// One person waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting<T> {
    /// Whatever the caller keys the entry by.
    pub key: T,
    /// The person's category labels on the day the list is read (recorded and derived).
    pub categories: Vec<String>,
    /// When they applied.
    pub applied_on: NaiveDate,
}

/// A place in the ordered list with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place<T> {
    /// 1-based position.
    pub position: usize,
    /// The entry.
    pub entry: Waiting<T>,
    /// Why here, in words.
    pub reason: String,
}

/// Orders the list: highest tier first (no priority last), then earlier application; ties keep
/// the given order (stable sort), so the caller passes entries in a fixed order (by id).
pub fn order<T>(entries: Vec<Waiting<T>>, tiers: &PriorityTiers) -> Vec<Place<T>> {
    /// The tier an entry falls in (index, matching label), if any.
    type Tier = Option<(usize, String)>;
    let mut ranked: Vec<(Tier, Waiting<T>)> = entries
        .into_iter()
        .map(|w| {
            let place = tiers
                .place_of(&w.categories)
                .map(|(i, l)| (i, l.to_string()));
            (place, w)
        })
        .collect();
    let rank = |p: &Tier| p.as_ref().map_or(usize::MAX, |(i, _)| *i);
    ranked.sort_by(|a, b| {
        rank(&a.0)
            .cmp(&rank(&b.0))
            .then(a.1.applied_on.cmp(&b.1.applied_on))
    });
    let single = tiers.0.len() == 1;
    ranked
        .into_iter()
        .enumerate()
        .map(|(i, (place, entry))| {
            let reason = match place {
                Some((_, label)) if single => {
                    format!("优先轮候（{label}），按 {} 申请排序", entry.applied_on)
                }
                Some((tier, label)) => format!(
                    "优先轮候（{label}，第 {} 档），{} 申请",
                    tier + 1,
                    entry.applied_on
                ),
                None => format!("无优先类别，按 {} 申请排序", entry.applied_on),
            };
            Place {
                position: i + 1,
                entry,
                reason,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(key: &'static str, categories: &[&str], on: &str) -> Waiting<&'static str> {
        Waiting {
            key,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            applied_on: on.parse().unwrap(),
        }
    }

    fn keys(places: &[Place<&'static str>]) -> Vec<&'static str> {
        places.iter().map(|p| p.entry.key).collect()
    }

    #[test]
    fn the_groups_the_text_names_rank_equal_by_default_then_by_date() {
        let tiers =
            PriorityTiers::parse(crate::policy::PolicyKey::WaitingListPriority.spec().default)
                .unwrap();
        let places = order(
            vec![
                w("none-early", &["空巢"], "2025-01-01"),
                w("old-late", &["高龄"], "2026-05-01"),
                w("honour", &["获得国家荣誉"], "2026-03-01"),
                w("lost-child", &["计生特殊家庭", "失独"], "2024-06-01"),
                w("entitled-only", &["优抚对象"], "2023-01-01"),
            ],
            &tiers,
        );
        assert_eq!(
            keys(&places),
            [
                "lost-child",
                "honour",
                "old-late",
                "entitled-only",
                "none-early"
            ],
            "优抚对象 is not 获得国家荣誉"
        );
        assert_eq!(places[0].reason, "优先轮候（失独），按 2024-06-01 申请排序");
        assert!(places[4].reason.starts_with("无优先类别"));
    }

    #[test]
    fn a_county_that_orders_the_groups_puts_the_first_tier_ahead_whatever_the_date() {
        let tiers = PriorityTiers::parse("城市特困、农村特困；低保、低保边缘；高龄").unwrap();
        let places = order(
            vec![
                w("old-early", &["高龄"], "2024-01-01"),
                w("dibao", &["低保"], "2026-01-01"),
                w("tekun", &["农村特困"], "2026-09-01"),
            ],
            &tiers,
        );
        assert_eq!(keys(&places), ["tekun", "dibao", "old-early"]);
        assert_eq!(
            places[1].reason,
            "优先轮候（低保，第 2 档），2026-01-01 申请"
        );
        assert!(PriorityTiers::parse("低保；国家荣誉").is_err());
        assert!(PriorityTiers::parse(" ；").is_err());
    }

    #[test]
    fn equal_tier_and_date_keep_the_given_order() {
        let tiers = PriorityTiers::parse("失能").unwrap();
        let places = order(
            vec![
                w("a", &["失能"], "2026-01-01"),
                w("b", &["失能"], "2026-01-01"),
            ],
            &tiers,
        );
        assert_eq!(places[0].entry.key, "a");
        assert_eq!(places[1].position, 2);
    }
}
