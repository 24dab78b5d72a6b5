//! The assessment form around the scores: A.1–A.5 basic information, the workflow states, and
//! the validation of a form as typed. The option lists of A.2.14, A.4.1 and A.5 follow GB/T
//! 42195-2022 Appendix A as far as it could be read; they are marked "(check)" in
//! docs/ASSESSMENT.md and are data, not logic: only A.2.14 (risk events), A.4.1 (F-codes) and
//! A.5.11 (coma) feed the level.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::assessment::{ITEMS, ScoreInput, parse_icd10};
use crate::category::parse_date;
use crate::labelled_enum;
use crate::validation::Invalid;

labelled_enum! {
    /// Why the assessment is made (A.1 评估原因).
    pub enum AssessmentReason {
        /// 首次评估.
        First = ("first", "首次"),
        /// 常规评估（到期复核）.
        Routine = ("routine", "常规"),
        /// 即时评估（状况变化）.
        Immediate = ("immediate", "即时"),
        /// 复评（对结果有异议）.
        Appeal = ("appeal", "复评"),
        /// 其他.
        Other = ("other", "其他"),
    }
}

labelled_enum! {
    /// Where an assessment stands.
    pub enum AssessmentStatus {
        /// 草稿: the assessors are filling it in.
        Draft = ("draft", "草稿"),
        /// 已提交: waiting for review by township or county staff.
        Submitted = ("submitted", "待审核"),
        /// 已审核: reviewed, waiting to be made effective by county staff.
        Reviewed = ("reviewed", "已审核"),
        /// 已生效: the person's ability level.
        Effective = ("effective", "已生效"),
        /// 已被更正: a corrected version took its place.
        Superseded = ("superseded", "已被更正"),
        /// 已作废: a draft abandoned.
        Cancelled = ("cancelled", "已作废"),
    }
}

/// A.2.14 kinds of care-risk event in the last 30 days.
pub const RISK_EVENTS: [(&str, &str); 5] = [
    ("falls", "跌倒"),
    ("wandering", "走失"),
    ("choking", "噎食"),
    ("self_harm", "自杀、自伤"),
    ("other", "其他"),
];

/// A.2.14 answers: 无 / 1 次 / 2 次 / 3 次及以上 (stored as 0–3).
pub const RISK_EVENT_ANSWERS: [&str; 4] = ["无", "发生过 1 次", "发生过 2 次", "发生过 3 次及以上"];

/// A.4.1 common diagnoses: (label, a representative ICD-10 code). Other codes are typed in.
pub const COMMON_DIAGNOSES: [(&str, &str); 12] = [
    ("高血压病", "I10"),
    ("冠心病", "I25"),
    ("糖尿病", "E11"),
    ("慢性阻塞性肺疾病", "J44"),
    ("脑卒中", "I64"),
    ("帕金森病", "G20"),
    ("骨质疏松", "M81"),
    ("慢性肾脏病", "N18"),
    ("恶性肿瘤", "C80"),
    ("白内障", "H25"),
    ("阿尔茨海默病痴呆", "F00"),
    ("血管性痴呆", "F01"),
];

/// A.5 health-related problems: (code, question, answers). A.5.11 is 昏迷.
pub const HEALTH_PROBLEMS: [(&str, &str, &[&str]); 12] = [
    (
        "A.5.1",
        "压力性损伤",
        &["无", "Ⅰ期", "Ⅱ期", "Ⅲ期", "Ⅳ期", "不可分期", "深部组织损伤"],
    ),
    (
        "A.5.2",
        "关节活动度",
        &["无，没有影响日常生活功能", "有，影响日常生活功能"],
    ),
    (
        "A.5.3",
        "伤口情况",
        &[
            "无",
            "擦伤",
            "烧烫伤",
            "术后伤口",
            "糖尿病足溃疡",
            "血管性溃疡",
            "其他伤口",
        ],
    ),
    (
        "A.5.4",
        "特殊护理情况",
        &[
            "无",
            "胃管",
            "尿管",
            "气管切开",
            "胃/肠/膀胱造瘘",
            "无创呼吸机",
            "透析",
            "其他",
        ],
    ),
    (
        "A.5.5",
        "疼痛感",
        &[
            "无疼痛",
            "轻度疼痛",
            "中度疼痛（尚可忍受）",
            "重度疼痛（无法忍受）",
            "不知道或无法回答",
        ],
    ),
    (
        "A.5.6",
        "牙齿缺失情况",
        &[
            "无缺损",
            "牙体缺损（如龋齿、楔状缺损）",
            "牙列缺损",
            "牙列缺失",
        ],
    ),
    (
        "A.5.7",
        "义齿佩戴情况",
        &["无义齿", "固定义齿", "可摘局部义齿", "可摘全/半口义齿"],
    ),
    (
        "A.5.8",
        "吞咽困难的情形和症状",
        &[
            "无",
            "抱怨吞咽困难或吞咽时会疼痛",
            "吃东西或喝水时出现咳嗽或呛咳",
            "用餐后嘴中仍含着食物或留有残余食物",
            "当喝或吃流质或固体食物时，食物会从嘴角边流失",
            "有流口水的情况",
        ],
    ),
    (
        "A.5.9",
        "营养不良（体质指数 BMI 低于正常值）",
        &["无", "有"],
    ),
    ("A.5.10", "清理呼吸道无效", &["无", "有"]),
    ("A.5.11", "昏迷", &["无", "有"]),
    ("A.5.12", "其他（请注明）", &[]),
];

/// Relation of the informant to the older person (A.3).
pub const INFORMANT_RELATIONS: [&str; 6] =
    ["本人", "配偶", "子女", "其他亲属", "雇佣照顾者", "其他"];

/// The form as stored (JSON), everything except the assessors and the status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssessmentForm {
    /// A.1 评估编号.
    pub number: String,
    /// A.1 评估基准日期.
    pub reference_date: Option<NaiveDate>,
    /// A.1 评估原因.
    pub reason: Option<AssessmentReason>,
    /// A.1 其他原因说明.
    pub reason_other: String,
    /// 评估地点.
    pub place: String,
    /// A.2 身高 (cm).
    pub height_cm: Option<u16>,
    /// A.2 体重 (kg).
    pub weight_kg: Option<f32>,
    /// A.2 宗教信仰.
    pub religion: String,
    /// A.2.14 risk events in the last 30 days, by kind (0–3, 3 = three or more).
    pub risk_events: BTreeMap<String, u8>,
    /// A.3 信息提供者姓名.
    pub informant_name: String,
    /// A.3 信息提供者与老人的关系.
    pub informant_relation: String,
    /// A.4.1 diagnoses (ICD-10).
    pub diagnoses: Vec<String>,
    /// A.4.2 用药情况.
    pub medication: String,
    /// A.5 answers by code.
    pub health: BTreeMap<String, String>,
    /// B item scores by code.
    pub items: BTreeMap<String, i64>,
}

impl AssessmentForm {
    /// Whether a diagnosis is dementia (the 失智 category comes from it).
    pub fn has_dementia(&self) -> bool {
        self.diagnoses
            .iter()
            .any(|d| crate::assessment::is_dementia(d))
    }

    /// A.5.11 昏迷.
    pub fn coma(&self) -> bool {
        self.health.get("A.5.11").map(String::as_str) == Some("有")
    }

    /// A.2.14 events summed (3 counts as three).
    pub fn risk_events_total(&self) -> u32 {
        self.risk_events.values().map(|v| *v as u32).sum()
    }

    /// What scoring needs.
    pub fn score_input(&self) -> ScoreInput {
        ScoreInput {
            items: self.items.clone(),
            coma: self.coma(),
            diagnoses: self.diagnoses.clone(),
            risk_events_30d: self.risk_events_total(),
        }
    }

    /// Checks the A sections (scores are checked by [`crate::assessment::score`]). A draft
    /// may be incomplete; `complete` demands everything a submission needs.
    pub fn check(&self, today: NaiveDate, complete: bool) -> Invalid {
        let mut inv = Invalid::new();
        if self.number.chars().count() > 40 {
            inv.add("number", "评估编号不能超过 40 个字符");
        }
        match self.reference_date {
            None if complete => inv.add("reference_date", "请填写评估基准日期"),
            Some(d) if d > today => inv.add("reference_date", "评估基准日期不能晚于今天"),
            _ => {}
        }
        if complete && self.reason.is_none() {
            inv.add("reason", "请选择评估原因");
        }
        if self.reason == Some(AssessmentReason::Other) && self.reason_other.trim().is_empty() {
            inv.add("reason_other", "评估原因为“其他”时请说明");
        }
        if let Some(h) = self.height_cm
            && !(80..=230).contains(&h)
        {
            inv.add("height_cm", "身高应在 80 到 230 厘米之间");
        }
        if let Some(w) = self.weight_kg
            && !(20.0..=250.0).contains(&w)
        {
            inv.add("weight_kg", "体重应在 20 到 250 公斤之间");
        }
        for (k, v) in &self.risk_events {
            if !RISK_EVENTS.iter().any(|(code, _)| code == k) {
                inv.add(&format!("risk_events.{k}"), "未知的照护风险事件类型");
            } else if *v > 3 {
                inv.add(
                    &format!("risk_events.{k}"),
                    "次数应选 无、1 次、2 次 或 3 次及以上",
                );
            }
        }
        if complete && self.informant_name.trim().is_empty() {
            inv.add("informant_name", "请填写信息提供者姓名");
        }
        if !self.informant_relation.is_empty()
            && !INFORMANT_RELATIONS.contains(&self.informant_relation.as_str())
        {
            inv.add("informant_relation", "请选择信息提供者与老人的关系");
        }
        for (i, d) in self.diagnoses.iter().enumerate() {
            if parse_icd10(d).is_none() {
                inv.add(
                    &format!("diagnoses[{i}]"),
                    format!("“{d}”不是有效的 ICD-10 编码"),
                );
            }
        }
        for (code, _q, answers) in HEALTH_PROBLEMS {
            match self.health.get(code) {
                Some(a) if !answers.is_empty() && !answers.contains(&a.as_str()) => {
                    inv.add(&format!("health.{code}"), "请从选项中选择")
                }
                None if complete && !answers.is_empty() => {
                    inv.add(&format!("health.{code}"), "请回答这一项")
                }
                _ => {}
            }
        }
        if complete {
            for it in &ITEMS {
                if !self.items.contains_key(it.code) {
                    inv.add(
                        &format!("items.{}", it.code),
                        format!("请为 {} {} 评分", it.code, it.name),
                    );
                }
            }
        }
        inv
    }
}

/// Parses the optional date fields of forms; the error is the message to show beside the field.
pub fn optional_date(text: &str) -> Result<Option<NaiveDate>, &'static str> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(text).map(Some).ok_or("日期格式应为 年-月-日")
    }
}

/// When the next routine assessment is due: the reference date plus the region's interval.
pub fn reassessment_due(reference_date: NaiveDate, interval_months: u32) -> NaiveDate {
    reference_date
        .checked_add_months(Months::new(interval_months))
        .unwrap_or(reference_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn a_draft_may_be_incomplete_but_a_submission_may_not() {
        let f = AssessmentForm::default();
        assert!(f.check(today(), false).is_empty());
        let inv = f.check(today(), true);
        assert!(inv.get("reference_date").is_some());
        assert!(inv.get("items.B.1.1").is_some());
        assert!(inv.get("health.A.5.11").is_some());
    }

    #[test]
    fn coma_and_risk_events_come_from_the_a_sections() {
        let mut f = AssessmentForm::default();
        f.health.insert("A.5.11".into(), "有".into());
        f.risk_events.insert("falls".into(), 1);
        f.risk_events.insert("choking".into(), 3);
        let s = f.score_input();
        assert!(s.coma);
        assert_eq!(s.risk_events_30d, 4);
    }

    #[test]
    fn the_routine_reassessment_falls_due_after_the_interval() {
        let d = NaiveDate::from_ymd_opt(2025, 2, 28).unwrap();
        assert_eq!(
            reassessment_due(d, 12),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        assert_eq!(
            reassessment_due(d, 6),
            NaiveDate::from_ymd_opt(2025, 8, 28).unwrap()
        );
    }
}
