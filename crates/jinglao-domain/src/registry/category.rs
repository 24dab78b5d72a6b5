//! Special categories (特殊群体) an older person may belong to, each with a period and evidence,
//! and the derived ones (高龄 from age, 失能/半失能 from the latest effective assessment).

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use crate::assessment::AbilityLevel;
use crate::id_number::age_on;
use crate::labelled_enum;
use crate::validation::Invalid;

labelled_enum! {
    /// Recorded categories. The Chinese labels are also the values eligibility rules test
    /// (`"低保" in categories`).
    pub enum CategoryKind {
        /// 城市特困人员（“三无”老人），分散或集中供养.
        UrbanExtremePoverty = ("urban_extreme_poverty", "城市特困"),
        /// 农村特困人员（“五保”），分散或集中供养.
        RuralExtremePoverty = ("rural_extreme_poverty", "农村特困"),
        /// 最低生活保障对象.
        Dibao = ("dibao", "低保"),
        /// 低保边缘.
        NearDibao = ("near_dibao", "低保边缘"),
        /// 计划生育特殊家庭（失独或独生子女伤残）.
        FamilyPlanningSpecial = ("family_planning_special", "计生特殊家庭"),
        /// 残疾（残疾证一级至四级; 一级、二级为重度）.
        Disability = ("disability", "残疾"),
        /// 优抚对象.
        EntitledGroup = ("entitled_group", "优抚对象"),
        /// 获得国家荣誉（not the same as 优抚对象: 潭政办发〔2023〕20号 names it apart).
        NationalHonour = ("national_honour", "获得国家荣誉"),
        /// 空巢（子女不在身边）.
        EmptyNest = ("empty_nest", "空巢"),
        /// 留守（子女外出务工）.
        LeftBehind = ("left_behind", "留守"),
    }
}

/// Derived category: aged 80 or over (the threshold is a policy parameter).
pub const ADVANCED_AGE: &str = "高龄";
/// Derived category: 重度失能 or 完全失能 in the latest effective assessment.
pub const DISABLED: &str = "失能";
/// Derived category: 轻度失能 or 中度失能 in the latest effective assessment.
pub const PARTLY_DISABLED: &str = "半失能";
/// Derived category: a dementia diagnosis (ICD-10 F00–F03, G30) in the latest effective
/// assessment (潭政办发〔2023〕20号 巡访 names 失智).
pub const DEMENTIA: &str = "失智";
/// Derived category: 特困 supported at home (分散供养), the 散居 五保 and 三无 people of
/// 湘财社〔2015〕2号 第四条（一）, as against 集中供养 in an institution.
pub const SCATTERED_EXTREME_POVERTY: &str = "分散供养特困";
/// Derived category: 计生特殊家庭 of the 失独 kind.
pub const LOST_ONLY_CHILD: &str = "失独";
/// Derived category: 残疾 of grade one or two.
pub const SEVERE_DISABILITY: &str = "重度残疾";

impl CategoryKind {
    /// From the stable name or the label, also the names of the first release (重度残疾 is
    /// now 残疾 with its grade).
    pub fn parse_any(text: &str) -> Option<CategoryKind> {
        match text.trim() {
            "重度残疾" | "severe_disability" => Some(CategoryKind::Disability),
            t => CategoryKind::parse(t),
        }
    }

    /// The allowed details, when the category must say which kind it is.
    pub fn detail_choices(self) -> Option<&'static [&'static str]> {
        match self {
            CategoryKind::RuralExtremePoverty | CategoryKind::UrbanExtremePoverty => {
                Some(&["分散供养", "集中供养"])
            }
            CategoryKind::FamilyPlanningSpecial => Some(&["失独", "伤残"]),
            CategoryKind::Disability => Some(&["一级", "二级", "三级", "四级"]),
            _ => None,
        }
    }

    /// What the detail means, for the form.
    pub fn detail_label(self) -> &'static str {
        match self {
            CategoryKind::RuralExtremePoverty | CategoryKind::UrbanExtremePoverty => "供养方式",
            CategoryKind::FamilyPlanningSpecial => "类型",
            CategoryKind::Disability => "残疾证等级",
            _ => "说明",
        }
    }

    /// Whether the detail must be given.
    pub fn detail_required(self) -> bool {
        self.detail_choices().is_some()
    }

    /// The derived label a detail adds: 分散供养 特困 → 分散供养特困, 失独 → 失独, a disability of
    /// grade one or two → 重度残疾.
    pub fn detail_label_of(self, detail: Option<&str>) -> Option<&'static str> {
        match (self, detail.map(str::trim)) {
            (
                CategoryKind::UrbanExtremePoverty | CategoryKind::RuralExtremePoverty,
                Some("分散供养"),
            ) => Some(SCATTERED_EXTREME_POVERTY),
            (CategoryKind::FamilyPlanningSpecial, Some("失独")) => Some(LOST_ONLY_CHILD),
            (CategoryKind::Disability, Some("一级" | "二级")) => Some(SEVERE_DISABILITY),
            _ => None,
        }
    }
}

/// Every category label rules may test: the recorded ones ([`CategoryKind::ALL`]'s labels),
/// then the derived ones, in the order lists show them. A label's position is its bit
/// ([`label_bit`]) in the sweep's packed facts and everywhere labels are collected (at most 32).
pub const LABELS: [&str; 17] = [
    "城市特困",
    "农村特困",
    "低保",
    "低保边缘",
    "计生特殊家庭",
    "残疾",
    "优抚对象",
    "获得国家荣誉",
    "空巢",
    "留守",
    ADVANCED_AGE,
    DISABLED,
    PARTLY_DISABLED,
    DEMENTIA,
    SCATTERED_EXTREME_POVERTY,
    LOST_ONLY_CHILD,
    SEVERE_DISABILITY,
];

/// The bit of a category label (its position in [`LABELS`]), if it is one.
pub fn label_bit(label: &str) -> Option<u32> {
    LABELS.iter().position(|c| *c == label).map(|i| 1u32 << i)
}

/// The labels whose bits are set, in the order of [`LABELS`].
pub fn labels_of_bits(bits: u32) -> Vec<&'static str> {
    LABELS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, l)| *l)
        .collect()
}

/// The bits a recorded category sets: its own, and the label its detail adds (分散供养特困,
/// 失独, 重度残疾).
pub fn record_bits(kind: CategoryKind, detail: Option<&str>) -> u32 {
    let bit = |l: &str| label_bit(l).unwrap_or(0);
    bit(kind.label()) | kind.detail_label_of(detail).map_or(0, bit)
}

/// The bits derived from age, level and diagnosis: 高龄 at `advanced_age` or over, 失能 /
/// 半失能 from the latest effective level, 失智 from its diagnoses.
pub fn derived_bits(
    age: i32,
    ability: Option<AbilityLevel>,
    dementia: bool,
    advanced_age: i32,
) -> u32 {
    let bit = |l: &str| label_bit(l).unwrap_or(0);
    let mut bits = 0;
    if age >= advanced_age {
        bits |= bit(ADVANCED_AGE);
    }
    match ability {
        Some(AbilityLevel::Severe | AbilityLevel::Complete) => bits |= bit(DISABLED),
        Some(AbilityLevel::Mild | AbilityLevel::Moderate) => bits |= bit(PARTLY_DISABLED),
        _ => {}
    }
    if dementia {
        bits |= bit(DEMENTIA);
    }
    bits
}

/// A recorded category with its period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryRecord {
    /// Id.
    pub id: Uuid,
    /// Which category.
    pub kind: CategoryKind,
    /// 分散供养, 失独, 一级…
    pub detail: Option<String>,
    /// From (inclusive).
    pub start: NaiveDate,
    /// Until (inclusive); open if `None`.
    pub end: Option<NaiveDate>,
    /// Evidence: certificate numbers, approval documents.
    pub evidence: String,
}

impl CategoryRecord {
    /// Whether the category holds on `date`.
    pub fn is_active_on(&self, date: NaiveDate) -> bool {
        self.start <= date && self.end.is_none_or(|e| date <= e)
    }
}

/// A category as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct CategoryDraft {
    /// Stable name or label.
    #[serde(default)]
    pub kind: String,
    /// Detail.
    #[serde(default)]
    pub detail: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub start: String,
    /// YYYY-MM-DD or empty.
    #[serde(default)]
    pub end: String,
    /// Evidence.
    #[serde(default)]
    pub evidence: String,
}

/// A validated category, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryInput {
    /// Which.
    pub kind: CategoryKind,
    /// Detail.
    pub detail: Option<String>,
    /// From.
    pub start: NaiveDate,
    /// Until.
    pub end: Option<NaiveDate>,
    /// Evidence.
    pub evidence: String,
}

/// Parses `YYYY-MM-DD` (also `YYYY/MM/DD` and `YYYY.MM.DD`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim().replace(['/', '.'], "-");
    NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok()
}

impl CategoryDraft {
    /// Validates a category.
    pub fn validate(&self, today: NaiveDate) -> Result<CategoryInput, Invalid> {
        let mut inv = Invalid::new();
        let kind = CategoryKind::parse_any(&self.kind);
        if kind.is_none() {
            inv.add(
                "kind",
                format!("请选择类别，应为：{}", CategoryKind::labels_list()),
            );
        }
        let detail = Some(self.detail.trim().to_string()).filter(|d| !d.is_empty());
        if let Some(k) = kind {
            match (k.detail_choices(), &detail) {
                (Some(choices), Some(d)) if !choices.contains(&d.as_str()) => inv.add(
                    "detail",
                    format!("{}应为：{}", k.detail_label(), choices.join("、")),
                ),
                (Some(choices), None) if k.detail_required() => inv.add(
                    "detail",
                    format!("请选择{}：{}", k.detail_label(), choices.join("、")),
                ),
                (_, Some(d)) if d.chars().count() > 50 => inv.add("detail", "说明不能超过 50 个字"),
                _ => {}
            }
        }
        let start = parse_date(&self.start);
        if start.is_none() {
            inv.add("start", "开始日期格式应为 年-月-日，例如 2024-01-01");
        }
        let end = if self.end.trim().is_empty() {
            None
        } else {
            let e = parse_date(&self.end);
            if e.is_none() {
                inv.add("end", "结束日期格式应为 年-月-日，或留空表示长期有效");
            }
            e
        };
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            inv.add("end", "结束日期不能早于开始日期");
        }
        if let Some(s) = start
            && s > today
        {
            inv.add("start", "开始日期不能晚于今天");
        }
        if self.evidence.trim().chars().count() > 500 {
            inv.add("evidence", "证明材料说明不能超过 500 个字");
        }
        match (inv.is_empty(), kind, start) {
            (true, Some(kind), Some(start)) => Ok(CategoryInput {
                kind,
                detail,
                start,
                end,
                evidence: self.evidence.trim().to_string(),
            }),
            _ => Err(inv),
        }
    }
}

/// The categories a person belongs to on `on`: recorded ones active on that date, with the
/// labels their details add, then the derived ones (高龄, 失能 / 半失能, 失智). Labels in the
/// order of [`LABELS`], without repeats.
pub fn categories_on(
    records: &[CategoryRecord],
    birth_date: NaiveDate,
    ability: Option<AbilityLevel>,
    dementia: bool,
    on: NaiveDate,
    advanced_age: i32,
) -> Vec<&'static str> {
    let recorded = records
        .iter()
        .filter(|r| r.is_active_on(on))
        .fold(0, |m, r| m | record_bits(r.kind, r.detail.as_deref()));
    let age = age_on(birth_date, on);
    labels_of_bits(recorded | derived_bits(age, ability, dementia, advanced_age))
}

/// The categories derived from age, ability and diagnosis on `on`: 高龄 from age, 失能 / 半失能
/// from the latest effective level, 失智 from the latest effective assessment's diagnoses.
pub fn derived_categories(
    birth_date: NaiveDate,
    ability: Option<AbilityLevel>,
    dementia: bool,
    on: NaiveDate,
    advanced_age: i32,
) -> Vec<&'static str> {
    let age = age_on(birth_date, on);
    labels_of_bits(derived_bits(age, ability, dementia, advanced_age))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn rec(kind: CategoryKind, start: &str, end: Option<&str>) -> CategoryRecord {
        CategoryRecord {
            id: Uuid::now_v7(),
            kind,
            detail: None,
            start: d(start),
            end: end.map(d),
            evidence: String::new(),
        }
    }

    #[test]
    fn categories_hold_only_within_their_period_and_derived_ones_follow_age_and_ability() {
        let records = vec![
            rec(CategoryKind::Dibao, "2020-01-01", Some("2025-12-31")),
            rec(CategoryKind::EmptyNest, "2022-06-01", None),
        ];
        let birth = d("1945-01-10");
        let c = categories_on(
            &records,
            birth,
            Some(AbilityLevel::Severe),
            false,
            d("2025-06-01"),
            80,
        );
        assert_eq!(c, vec!["低保", "空巢", "高龄", "失能"]);
        let later = categories_on(
            &records,
            birth,
            Some(AbilityLevel::Mild),
            true,
            d("2026-01-01"),
            80,
        );
        assert_eq!(later, vec!["空巢", "高龄", "半失能", "失智"]);
        let young = categories_on(&records, d("1950-01-10"), None, false, d("2026-01-01"), 80);
        assert_eq!(young, vec!["空巢"]);
    }

    #[test]
    fn some_categories_must_say_which_kind_they_are() {
        let today = d("2026-11-23");
        let mut draft = CategoryDraft {
            kind: "农村特困".into(),
            start: "2024-01-01".into(),
            ..Default::default()
        };
        assert!(
            draft
                .validate(today)
                .unwrap_err()
                .get("detail")
                .unwrap()
                .contains("分散供养")
        );
        draft.detail = "集中供养".into();
        assert_eq!(
            draft.validate(today).unwrap().kind,
            CategoryKind::RuralExtremePoverty
        );
        let disability = CategoryDraft {
            kind: "残疾".into(),
            detail: "五级".into(),
            start: "2024-01-01".into(),
            ..Default::default()
        };
        assert!(disability.validate(today).is_err());
        let urban = CategoryDraft {
            kind: "城市特困".into(),
            start: "2024-01-01".into(),
            ..Default::default()
        };
        assert!(
            urban.validate(today).is_err(),
            "城市特困 says how it is supported too"
        );
    }

    #[test]
    fn the_label_table_is_the_recorded_kinds_then_the_derived_ones() {
        let mut expected: Vec<&str> = CategoryKind::ALL.iter().map(|k| k.label()).collect();
        expected.extend([
            ADVANCED_AGE,
            DISABLED,
            PARTLY_DISABLED,
            DEMENTIA,
            SCATTERED_EXTREME_POVERTY,
            LOST_ONLY_CHILD,
            SEVERE_DISABILITY,
        ]);
        assert_eq!(LABELS.to_vec(), expected);
        assert_eq!(labels_of_bits(u32::MAX >> (32 - LABELS.len())), expected);
    }

    #[test]
    fn details_add_the_labels_the_policy_texts_name() {
        let with = |kind, detail: &str| CategoryRecord {
            detail: Some(detail.into()),
            ..rec(kind, "2020-01-01", None)
        };
        let on = d("2026-01-01");
        let labels =
            |r: Vec<CategoryRecord>| categories_on(&r, d("1960-01-01"), None, false, on, 80);
        assert_eq!(
            labels(vec![with(CategoryKind::RuralExtremePoverty, "分散供养")]),
            vec!["农村特困", "分散供养特困"]
        );
        assert_eq!(
            labels(vec![with(CategoryKind::UrbanExtremePoverty, "集中供养")]),
            vec!["城市特困"],
            "集中供养 lives in an institution: not 散居"
        );
        assert_eq!(
            labels(vec![with(CategoryKind::FamilyPlanningSpecial, "失独")]),
            vec!["计生特殊家庭", "失独"]
        );
        assert_eq!(
            labels(vec![with(CategoryKind::Disability, "三级")]),
            vec!["残疾"]
        );
        assert_eq!(
            labels(vec![with(CategoryKind::Disability, "二级")]),
            vec!["残疾", "重度残疾"]
        );
        // The first release's name still reads.
        assert_eq!(
            CategoryKind::parse_any("重度残疾"),
            Some(CategoryKind::Disability)
        );
    }

    #[test]
    fn dates_are_checked() {
        let today = d("2026-11-23");
        let draft = CategoryDraft {
            kind: "低保".into(),
            start: "2024-13-01".into(),
            end: "2023-01-01".into(),
            ..Default::default()
        };
        let inv = draft.validate(today).unwrap_err();
        assert!(inv.get("start").is_some());
        let backwards = CategoryDraft {
            kind: "低保".into(),
            start: "2024-01-01".into(),
            end: "2023-01-01".into(),
            ..Default::default()
        };
        assert_eq!(
            backwards.validate(today).unwrap_err().get("end"),
            Some("结束日期不能早于开始日期")
        );
    }
}
