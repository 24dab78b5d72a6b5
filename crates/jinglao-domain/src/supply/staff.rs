//! Staff and caregivers (从业人员): roles, the caregiver vocational levels, and labour
//! contracts. A person may work for several providers, but never under two full-time
//! contracts at once.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::category::parse_date;
use crate::{Invalid, Phone, ResidentId, labelled_enum};

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

/// Checks a contract's own dates (the error names the form's and the API's field).
pub fn check_term(t: &Term) -> Result<(), (&'static str, &'static str)> {
    match t.end {
        Some(end) if end < t.start => Err(("end_on", "合同终止日期不能早于起始日期")),
        _ => Ok(()),
    }
}

/// A hire as a form sends it: every field text, parsed once by [`HireDraft::parse`] into a
/// [`NewHire`]. Field names are the form's and the API's.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct HireDraft {
    /// Name.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// Phone (optional).
    pub phone: String,
    /// Role (stable name or label).
    pub role: String,
    /// Caregiver level (optional; stable name or label).
    pub vocational_level: String,
    /// Certificate number.
    pub certificate_no: String,
    /// Certificate date (optional).
    pub certificate_on: String,
    /// Facility id (optional).
    pub facility_id: String,
    /// Contract start.
    pub start_on: String,
    /// Contract end (optional).
    pub end_on: String,
    /// Full-time (全日制).
    pub full_time: bool,
}

/// A hire, checked: what storage records.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHire {
    /// Name (1–50 characters).
    pub name: String,
    /// ID number.
    pub id_number: ResidentId,
    /// Phone.
    pub phone: Option<Phone>,
    /// Role.
    pub role: StaffRole,
    /// Caregiver level.
    pub vocational_level: Option<VocationalLevel>,
    /// Certificate number (required with a level).
    pub certificate_no: String,
    /// Certificate date.
    pub certificate_on: Option<NaiveDate>,
    /// The facility the person works at, if one.
    pub facility_id: Option<Uuid>,
    /// The contract.
    pub term: Term,
}

impl HireDraft {
    /// Parses every field, collecting each problem under its field name.
    pub fn parse(&self) -> Result<NewHire, Invalid> {
        let mut inv = Invalid::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            inv.add("name", "请填写姓名（不超过 50 个字）");
        }
        let id = ResidentId::parse(&self.id_number)
            .map_err(|e| inv.add("id_number", e.to_string()))
            .ok();
        let phone = match self.phone.trim() {
            "" => None,
            p => Phone::parse(p)
                .map_err(|e| inv.add("phone", e.to_string()))
                .ok(),
        };
        let role = StaffRole::parse(&self.role);
        if role.is_none() {
            inv.add("role", format!("岗位应为：{}", StaffRole::labels_list()));
        }
        let level = match self.vocational_level.trim() {
            "" => None,
            l => {
                let l = VocationalLevel::parse(l);
                if l.is_none() {
                    inv.add(
                        "vocational_level",
                        format!("职业技能等级应为：{}", VocationalLevel::labels_list()),
                    );
                }
                l
            }
        };
        if level.is_some() && self.certificate_no.trim().is_empty() {
            inv.add("certificate_no", "填写了职业技能等级，请同时填写证书编号");
        }
        let date = |inv: &mut Invalid, field: &str, t: &str| {
            if t.trim().is_empty() {
                return None;
            }
            let d = parse_date(t);
            if d.is_none() {
                inv.add(field, "日期格式应为 年-月-日");
            }
            d
        };
        let certificate_on = date(&mut inv, "certificate_on", &self.certificate_on);
        let start = date(&mut inv, "start_on", &self.start_on);
        if self.start_on.trim().is_empty() {
            inv.add("start_on", "请填写合同起始日期");
        }
        let end = date(&mut inv, "end_on", &self.end_on);
        let term = start.map(|start| Term {
            start,
            end,
            full_time: self.full_time,
        });
        if let Some(t) = &term
            && let Err((field, msg)) = check_term(t)
        {
            inv.add(field, msg);
        }
        let facility_id = match self.facility_id.trim() {
            "" => None,
            f => {
                let id = Uuid::parse_str(f).ok();
                if id.is_none() {
                    inv.add("facility_id", "设施不属于本机构");
                }
                id
            }
        };
        match (id, role, term, inv.is_empty()) {
            (Some(id_number), Some(role), Some(term), true) => Ok(NewHire {
                name: name.to_string(),
                id_number,
                phone,
                role,
                vocational_level: level,
                certificate_no: self.certificate_no.trim().to_string(),
                certificate_on,
                facility_id,
                term,
            }),
            _ => Err(inv),
        }
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
    fn a_hire_form_with_several_problems_names_each_field() {
        let draft = HireDraft {
            name: String::new(),
            id_number: "123".into(),
            role: "厨师长".into(),
            vocational_level: "4".into(),
            start_on: "2026-13-01".into(),
            ..Default::default()
        };
        let fields: Vec<String> = draft
            .parse()
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in ["name", "id_number", "role", "certificate_no", "start_on"] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn a_contract_ending_before_it_starts_is_refused_on_its_end_date() {
        let draft = HireDraft {
            name: "赵护理".into(),
            id_number: "430302198001010012".into(),
            role: "养老护理员".into(),
            start_on: "2026-06-01".into(),
            end_on: "2026-05-01".into(),
            full_time: true,
            ..Default::default()
        };
        let e = draft.parse().unwrap_err();
        assert_eq!(e.errors[0].field, "end_on");
        let ok = HireDraft {
            end_on: String::new(),
            ..draft
        }
        .parse()
        .unwrap();
        assert_eq!(ok.role, StaffRole::parse("养老护理员").unwrap());
        assert!(ok.term.full_time && ok.term.end.is_none());
    }

    #[test]
    fn an_open_ended_contract_overlaps_everything_after_its_start() {
        let open = t("2020-01-01", None, true);
        assert!(open.overlaps(&t("2040-05-01", Some("2040-06-01"), true)));
        assert!(!open.overlaps(&t("2019-01-01", Some("2019-12-31"), true)));
        assert!(check_term(&t("2020-01-02", Some("2020-01-01"), true)).is_err());
    }
}
