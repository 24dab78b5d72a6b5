//! The priority waiting list of public institutions (公办养老机构轮候): applicants are ordered by
//! the policy's priority groups, then by application date. The order and its reason are shown
//! to staff so that anyone can check why someone is ahead.
//!
//! Groups, highest first (潭政办发〔2023〕20号; 本溪 and 株洲 texts name the same groups):
//! 特困, 低保/低保边缘 (低收入), 高龄, 失能, 计生特殊家庭 (失独), 国家荣誉 (优抚对象).
//! Someone in several groups ranks by the highest.

use chrono::NaiveDate;
use serde::Serialize;

use crate::labelled_enum;

labelled_enum! {
    /// A priority group, highest first.
    pub enum PriorityGroup {
        /// 特困人员.
        ExtremePoverty = ("extreme_poverty", "特困人员"),
        /// 低保、低保边缘等低收入老年人.
        LowIncome = ("low_income", "低保、低保边缘等低收入老年人"),
        /// 高龄老年人.
        AdvancedAge = ("advanced_age", "高龄老年人"),
        /// 失能老年人.
        Disabled = ("disabled", "失能老年人"),
        /// 失独老年人.
        LostOnlyChild = ("lost_only_child", "失独老年人"),
        /// 获得国家荣誉或优抚对象.
        NationalHonour = ("national_honour", "获得国家荣誉或优抚对象"),
    }
}

/// One person waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting<T> {
    /// Whatever the caller keys the entry by.
    pub key: T,
    /// The groups the person belongs to on the day the list is read.
    pub groups: Vec<PriorityGroup>,
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

impl<T> Waiting<T> {
    /// The highest group, if any.
    pub fn top_group(&self) -> Option<PriorityGroup> {
        self.groups.iter().copied().min()
    }
}

/// Orders the list: highest group first (no group last), then earlier application; ties keep
/// the given order (stable sort), so the caller passes entries in a fixed order (by id).
pub fn order<T>(mut entries: Vec<Waiting<T>>) -> Vec<Place<T>> {
    let rank = |w: &Waiting<T>| {
        w.top_group()
            .map(|g| PriorityGroup::ALL.iter().position(|x| *x == g).unwrap_or(0))
            .unwrap_or(PriorityGroup::ALL.len())
    };
    entries.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.applied_on.cmp(&b.applied_on)));
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let reason = match entry.top_group() {
                Some(g) => format!(
                    "优先类别“{}”（第 {} 类），{} 申请",
                    g.label(),
                    PriorityGroup::ALL.iter().position(|x| *x == g).unwrap_or(0) + 1,
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
    use PriorityGroup::*;

    fn w(key: &'static str, groups: &[PriorityGroup], on: &str) -> Waiting<&'static str> {
        Waiting {
            key,
            groups: groups.to_vec(),
            applied_on: on.parse().unwrap(),
        }
    }

    #[test]
    fn the_list_orders_by_highest_priority_group_then_by_application_date() {
        let places = order(vec![
            w("none-early", &[], "2025-01-01"),
            w("old-late", &[AdvancedAge], "2026-05-01"),
            w("old-early", &[AdvancedAge], "2026-01-01"),
            w("tekun", &[ExtremePoverty], "2026-09-01"),
            w("honour+low", &[NationalHonour, LowIncome], "2026-08-01"),
            w("disabled", &[Disabled], "2024-01-01"),
        ]);
        let keys: Vec<_> = places.iter().map(|p| p.entry.key).collect();
        assert_eq!(
            keys,
            [
                "tekun",
                "honour+low",
                "old-early",
                "old-late",
                "disabled",
                "none-early"
            ]
        );
        assert_eq!(
            places[1].reason,
            "优先类别“低保、低保边缘等低收入老年人”（第 2 类），2026-08-01 申请"
        );
        assert!(places[5].reason.starts_with("无优先类别"));
    }

    #[test]
    fn equal_group_and_date_keep_the_given_order() {
        let places = order(vec![
            w("a", &[Disabled], "2026-01-01"),
            w("b", &[Disabled], "2026-01-01"),
        ]);
        assert_eq!(places[0].entry.key, "a");
        assert_eq!(places[1].position, 2);
    }
}
