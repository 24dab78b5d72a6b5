//! Staff and caregivers (从业人员): roles, the caregiver vocational levels, and labour
//! contracts. A person may work for several providers, but never under two full-time
//! contracts at once.

use chrono::NaiveDate;
use serde::Serialize;

use crate::labelled_enum;

labelled_enum! {
    /// What a person does.
    pub enum StaffRole {
        /// 养老护理员.
        Caregiver = ("caregiver", "养老护理员"),
        /// 社会工作者.
        SocialWorker = ("social_worker", "社会工作者"),
        /// 医生.
        Doctor = ("doctor", "医生"),
        /// 护士.
        Nurse = ("nurse", "护士"),
        /// 康复师.
        Therapist = ("therapist", "康复师"),
        /// 管理人员.
        Manager = ("manager", "管理人员"),
        /// 老年人能力评估师.
        Assessor = ("assessor", "老年人能力评估师"),
    }
}

labelled_enum! {
    /// Vocational skill level of a 养老护理员 (国家职业技能标准).
    pub enum VocationalLevel {
        /// 五级/初级工.
        Five = ("5", "五级/初级工"),
        /// 四级/中级工.
        Four = ("4", "四级/中级工"),
        /// 三级/高级工.
        Three = ("3", "三级/高级工"),
        /// 二级/技师.
        Two = ("2", "二级/技师"),
        /// 一级/高级技师.
        One = ("1", "一级/高级技师"),
    }
}

/// A labour contract's period and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Term {
    /// First day.
    pub start: NaiveDate,
    /// Last day (None: open-ended).
    pub end: Option<NaiveDate>,
    /// Full-time (全日制) rather than part-time (非全日制).
    pub full_time: bool,
}

impl Term {
    /// Whether the two periods share at least one day.
    pub fn overlaps(&self, other: &Term) -> bool {
        let a_end = self.end.unwrap_or(NaiveDate::MAX);
        let b_end = other.end.unwrap_or(NaiveDate::MAX);
        self.start <= b_end && other.start <= a_end
    }

    /// Whether the contract is running on `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|e| day <= e)
    }
}

/// The first existing contract that a new one may not sit beside: both full-time and
/// overlapping. Part-time work beside anything is allowed (劳动合同法 第六十九条).
pub fn full_time_clash<'a, T>(new: &Term, existing: &'a [(T, Term)]) -> Option<&'a (T, Term)> {
    if !new.full_time {
        return None;
    }
    existing
        .iter()
        .find(|(_, t)| t.full_time && t.overlaps(new))
}

/// Checks a contract's own dates.
pub fn check_term(t: &Term) -> Result<(), (&'static str, &'static str)> {
    match t.end {
        Some(end) if end < t.start => Err(("contract_end", "合同终止日期不能早于起始日期")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(start: &str, end: Option<&str>, full_time: bool) -> Term {
        Term {
            start: start.parse().unwrap(),
            end: end.map(|e| e.parse().unwrap()),
            full_time,
        }
    }

    #[test]
    fn two_overlapping_full_time_contracts_clash_but_part_time_ones_do_not() {
        let existing = vec![("甲", t("2025-01-01", Some("2026-12-31"), true))];
        assert!(full_time_clash(&t("2026-12-31", None, true), &existing).is_some());
        assert!(full_time_clash(&t("2027-01-01", None, true), &existing).is_none());
        assert!(full_time_clash(&t("2026-01-01", None, false), &existing).is_none());
        let part = vec![("乙", t("2025-01-01", None, false))];
        assert!(full_time_clash(&t("2026-01-01", None, true), &part).is_none());
    }

    #[test]
    fn an_open_ended_contract_overlaps_everything_after_its_start() {
        let open = t("2020-01-01", None, true);
        assert!(open.overlaps(&t("2040-05-01", Some("2040-06-01"), true)));
        assert!(!open.overlaps(&t("2019-01-01", Some("2019-12-31"), true)));
        assert!(check_term(&t("2020-01-02", Some("2020-01-01"), true)).is_err());
    }
}
