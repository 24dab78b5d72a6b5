//! Capability assessment scoring, GB/T 42195-2022《老年人能力评估规范》 (../shared/docs/STANDARDS.md §1).
//!
//! Four first-level indicators, 26 items, total 0–90 (higher = more capable). The total gives
//! the preliminary level (C.3); three adjustment rules (C.4) give the final level (C.5).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::labelled_enum;
use crate::validation::Invalid;

labelled_enum! {
    /// The four first-level indicators (一级指标).
    pub enum Indicator {
        /// 自理能力 (B.1), max 32.
        SelfCare = ("self_care", "自理能力"),
        /// 基础运动能力 (B.2), max 15.
        BasicMobility = ("basic_mobility", "基础运动能力"),
        /// 精神状态 (B.3), max 28.
        Mental = ("mental", "精神状态"),
        /// 感知觉与社会参与 (B.4), max 15.
        PerceptionSocial = ("perception_social", "感知觉与社会参与"),
    }
}

/// The ability levels (C.3/C.5), 0 best to 4 worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum AbilityLevel {
    /// 0 能力完好.
    Intact = 0,
    /// 1 轻度失能 (能力轻度受损).
    Mild = 1,
    /// 2 中度失能 (能力中度受损).
    Moderate = 2,
    /// 3 重度失能 (能力重度受损).
    Severe = 3,
    /// 4 完全失能 (能力完全丧失).
    Complete = 4,
}

impl AbilityLevel {
    /// Every level, best first.
    pub const ALL: [AbilityLevel; 5] = [
        AbilityLevel::Intact,
        AbilityLevel::Mild,
        AbilityLevel::Moderate,
        AbilityLevel::Severe,
        AbilityLevel::Complete,
    ];

    /// The level's number, 0–4.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// From 0–4.
    pub fn from_number(n: u8) -> Option<AbilityLevel> {
        AbilityLevel::ALL.get(n as usize).copied()
    }

    /// The label used on screen and in rules: 能力完好, 轻度失能 … 完全失能.
    pub fn label(self) -> &'static str {
        match self {
            AbilityLevel::Intact => "能力完好",
            AbilityLevel::Mild => "轻度失能",
            AbilityLevel::Moderate => "中度失能",
            AbilityLevel::Severe => "重度失能",
            AbilityLevel::Complete => "完全失能",
        }
    }

    /// The standard's longer wording: 能力轻度受损 …
    pub fn long_label(self) -> &'static str {
        match self {
            AbilityLevel::Intact => "能力完好",
            AbilityLevel::Mild => "能力轻度受损（轻度失能）",
            AbilityLevel::Moderate => "能力中度受损（中度失能）",
            AbilityLevel::Severe => "能力重度受损（重度失能）",
            AbilityLevel::Complete => "能力完全丧失（完全失能）",
        }
    }

    /// From a label or a number.
    pub fn parse(text: &str) -> Option<AbilityLevel> {
        let t = text.trim();
        AbilityLevel::ALL
            .into_iter()
            .find(|l| l.label() == t || l.number().to_string() == t)
    }

    /// One level worse, never past 完全失能.
    pub fn worse(self, by: u8) -> AbilityLevel {
        AbilityLevel::from_number((self.number() + by).min(4)).expect("capped at 4")
    }
}

impl From<AbilityLevel> for u8 {
    fn from(l: AbilityLevel) -> u8 {
        l.number()
    }
}

impl TryFrom<u8> for AbilityLevel {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        AbilityLevel::from_number(n).ok_or_else(|| format!("等级应为 0 到 4，实际为 {n}"))
    }
}

/// One second-level item (二级指标).
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// The standard's code, e.g. `B.1.1`.
    pub code: &'static str,
    /// Name, e.g. 进食.
    pub name: &'static str,
    /// What it covers, when the name alone is not enough.
    pub note: &'static str,
    /// Its indicator.
    pub indicator: Indicator,
    /// The score descriptions, indexed by score (so the maximum is `anchors.len() - 1`).
    pub anchors: &'static [&'static str],
}

impl Item {
    /// The highest score.
    pub fn max(&self) -> u8 {
        (self.anchors.len() - 1) as u8
    }
}

/// The standard five-step scale, indexed by score.
const STD: &[&str] = &[
    "完全依赖他人协助，且不能给予配合",
    "主要依靠他人协助，自身能给予配合",
    "需要他人协助，但以自身完成为主",
    "在他人指导或提示下完成",
    "独立完成",
];

use Indicator::{BasicMobility, Mental, PerceptionSocial, SelfCare};

/// All 26 items in the standard's order.
pub const ITEMS: [Item; 26] = [
    Item {
        code: "B.1.1",
        name: "进食",
        note: "使用适当的器具将食物送入口中并咽下",
        indicator: SelfCare,
        anchors: &[
            "完全依赖他人协助进食，或吞咽困难，或留置营养管",
            "需要大量接触式协助，经常（每周一次及以上）呛咳",
            "至少需要少量接触式协助，偶尔（每月一次及以上）呛咳",
            "在他人指导或提示下完成，或独立使用辅具，没有呛咳",
            "独立使用器具进食并咽下，没有呛咳",
        ],
    },
    Item {
        code: "B.1.2",
        name: "修饰",
        note: "洗脸、刷牙、梳头、刮脸、剪指（趾）甲",
        indicator: SelfCare,
        anchors: STD,
    },
    Item {
        code: "B.1.3",
        name: "洗澡",
        note: "清洗和擦干身体",
        indicator: SelfCare,
        anchors: STD,
    },
    Item {
        code: "B.1.4",
        name: "穿/脱上衣",
        note: "穿/脱上身衣服、系扣、拉拉链等",
        indicator: SelfCare,
        anchors: STD,
    },
    Item {
        code: "B.1.5",
        name: "穿/脱裤子和鞋袜",
        note: "穿/脱裤子、鞋袜等",
        indicator: SelfCare,
        anchors: STD,
    },
    Item {
        code: "B.1.6",
        name: "小便控制",
        note: "控制和排出尿液的能力",
        indicator: SelfCare,
        anchors: &[
            "小便失禁，完全不能控制，或留置导尿管",
            "白天大部分时间不能控制（每天≥1次，但尚非完全失控），夜间尿失禁，或他人大量协助",
            "白天大部分时间可控制，偶出现（每天<1次，但每周>1次）尿失禁，或他人少量协助使用尿布等",
            "白天可自行控制，夜间次数增多/控制较差，或自行使用尿布、尿垫",
            "可自行控制排尿，次数与控制均正常",
        ],
    },
    Item {
        code: "B.1.7",
        name: "大便控制",
        note: "控制和排出粪便的能力",
        indicator: SelfCare,
        anchors: &[
            "严重便秘或完全失禁，需依赖他人协助排便或清洁皮肤",
            "大部分时间（每天≥1次）便秘或失禁，或他人大量协助",
            "经常（每天<1次，但每周>1次）便秘或失禁，或他人少量协助",
            "有时（每天<1次）便秘或失禁，或自行使用开塞露、尿垫",
            "可正常自行控制",
        ],
    },
    Item {
        code: "B.1.8",
        name: "如厕",
        note: "上厕所排泄，含解裤、清洁、穿裤",
        indicator: SelfCare,
        anchors: STD,
    },
    Item {
        code: "B.2.1",
        name: "床上体位转移",
        note: "卧床翻身及坐起躺下",
        indicator: BasicMobility,
        anchors: STD,
    },
    Item {
        code: "B.2.2",
        name: "床椅转移",
        note: "从坐位到站位，再从站位到坐位的转换",
        indicator: BasicMobility,
        anchors: STD,
    },
    Item {
        code: "B.2.3",
        name: "平地行走",
        note: "在平地上行走，含他人辅助和使用辅具",
        indicator: BasicMobility,
        anchors: &[
            "完全不能步行",
            "步行时需要他人大量扶持协助",
            "步行时需要他人少量扶持协助",
            "能行走 50 m 左右，存在跌倒风险，需他人监护或指导，或使用拐杖、助行器等",
            "独立平地行走 50 m 左右，不需协助，无摔倒风险",
        ],
    },
    Item {
        code: "B.2.4",
        name: "上下楼梯",
        note: "连续上下 10～15 个台阶",
        indicator: BasicMobility,
        anchors: &[
            "主要依靠他人协助，自身能给予配合；或完全依赖他人协助，且不能给予配合",
            "需要他人协助，但以自身完成为主",
            "在他人指导或提示下完成",
            "可独立上下楼梯（连续上下 10～15 个台阶），不需要协助",
        ],
    },
    Item {
        code: "B.3.1",
        name: "时间定向",
        note: "知道并确认时间的能力",
        indicator: Mental,
        anchors: &[
            "无时间观念",
            "年月日不清楚，可知上午/下午或白天/夜间",
            "年月日不清楚，可知上半年/下半年或季节",
            "年月日（或星期几）不能全部分清（相差两天或以上）",
            "年、月清楚，日期（或星期几）可相差一天",
        ],
    },
    Item {
        code: "B.3.2",
        name: "空间定向",
        note: "知道并确认空间的能力",
        indicator: Mental,
        anchors: &[
            "不能单独外出，无空间观念",
            "不能单独外出，知道较少地址信息",
            "不能单独外出，但知道较多地址信息",
            "不能单独外出，但能准确知道日常生活所在地地址",
            "能在日常生活范围内单独外出",
        ],
    },
    Item {
        code: "B.3.3",
        name: "人物定向",
        note: "知道并确认人物的能力",
        indicator: Mental,
        anchors: &[
            "不认识任何人（包括自己）",
            "只认识自己或极少数日常同住的亲人或照护者",
            "能认识部分日常同住的亲人或照护者",
            "认识大部分共同生活居住的人",
            "认识长期共同生活的人，能称呼并知道关系",
        ],
    },
    Item {
        code: "B.3.4",
        name: "记忆",
        note: "短时、近期和远期记忆",
        indicator: Mental,
        anchors: &[
            "记忆完全紊乱或完全不能对既往事物进行正确的回忆",
            "出现重度的记忆紊乱或回忆不能（不能回忆远期记忆，不记得自己的老朋友）",
            "出现中度的记忆紊乱或回忆不能（不能回忆近期记忆，不记得上一顿饭吃了什么）",
            "出现轻度的记忆紊乱或回忆不能（不能回忆即时信息，3 个词语经过 5 分钟后仅能回忆 0～1 个）",
            "总是能保持与社会、年龄所适应的记忆能力，能完整地回忆",
        ],
    },
    Item {
        code: "B.3.5",
        name: "理解能力",
        note: "理解语言信息和非语言信息的能力",
        indicator: Mental,
        anchors: &[
            "完全不能理解他人的言语",
            "理解有严重困难，需要大量他人帮助",
            "理解有困难，需频繁重复或简化口头表达",
            "能理解他人的话，但需要增加时间",
            "能正常理解他人的话",
        ],
    },
    Item {
        code: "B.3.6",
        name: "表达能力",
        note: "表达信息的能力",
        indicator: Mental,
        anchors: &[
            "完全不能表达需要",
            "表达有严重困难，需要大量他人帮助",
            "表达有困难，需频繁重复或简化口头表达",
            "能表达自己的需要，但需要增加时间",
            "能正常表达自己的想法",
        ],
    },
    Item {
        code: "B.3.7",
        name: "攻击行为",
        note: "身体攻击行为或语言攻击行为",
        indicator: Mental,
        anchors: &["近一个月内出现过攻击行为", "未出现"],
    },
    Item {
        code: "B.3.8",
        name: "抑郁症状",
        note: "存在情绪低落、兴趣减退、活力减退等症状",
        indicator: Mental,
        anchors: &["近一个月内出现过负性情绪", "未出现"],
    },
    Item {
        code: "B.3.9",
        name: "意识水平",
        note: "机体对自身和周围环境的刺激做出应答反应的能力程度",
        indicator: Mental,
        anchors: &[
            "昏睡（一般的外界刺激不能使其觉醒），或昏迷",
            "嗜睡，或意识模糊",
            "神志清醒，对周围环境能做出正确反应",
        ],
    },
    Item {
        code: "B.4.1",
        name: "视力",
        note: "感受存在的光线并感受物体的大小、形状的能力（在个体的最好矫正视力下评估）",
        indicator: PerceptionSocial,
        anchors: &[
            "只能看到光、颜色和形状；或完全失明",
            "能看清楚大字体，但看不清书报上的标准字体；或看不清楚报纸大标题，但能辨认物体",
            "视力正常",
        ],
    },
    Item {
        code: "B.4.2",
        name: "听力",
        note: "能辨别声音的方位、音调、音量和音质的有关能力（可借助平时使用助听设备等）",
        indicator: PerceptionSocial,
        anchors: &[
            "讲话者大声说话或说话很慢，才能部分听见；或完全失聪",
            "在轻声说话或说话距离超过 2 m 时听不清；正常交流有些困难，需在安静的环境或大声说话才能听到",
            "听力正常",
        ],
    },
    Item {
        code: "B.4.3",
        name: "执行日常事务",
        note: "计划、安排并完成日常事务，包括但不限于洗衣服、小金额购物、服药管理",
        indicator: PerceptionSocial,
        anchors: &[
            "完全依赖他人进行日常事务",
            "需要他人大量帮助",
            "需要他人少量帮助",
            "在他人指导或提示下完成",
            "能完全独立计划、安排和完成日常事务，无需协助",
        ],
    },
    Item {
        code: "B.4.4",
        name: "使用交通工具外出",
        note: "",
        indicator: PerceptionSocial,
        anchors: &[
            "只能在他人协助下搭乘出租车或私家车；或完全不能出门",
            "有他人协助或陪伴时可搭乘公共交通工具",
            "能自己搭乘出租车，但不会搭乘其他公共交通工具",
            "能自己骑车或搭乘公共交通工具外出",
        ],
    },
    Item {
        code: "B.4.5",
        name: "社会交往能力",
        note: "",
        indicator: PerceptionSocial,
        anchors: &[
            "不能与人交往",
            "勉强可与他人接触，谈吐内容不清楚，表情不恰当",
            "脱离社会，可被动接触，不会主动待人，谈话中很多不适词句，容易上当受骗",
            "能适应单纯环境，主动接触他人，初见面时难让人发现智力问题，不能理解隐喻语",
            "参与社会，在社会环境有一定的适应能力，待人接物恰当",
        ],
    },
];

/// The maximum of each indicator, from the item table.
pub fn indicator_max(ind: Indicator) -> u32 {
    ITEMS
        .iter()
        .filter(|i| i.indicator == ind)
        .map(|i| i.max() as u32)
        .sum()
}

/// The item with this code.
pub fn item(code: &str) -> Option<&'static Item> {
    ITEMS.iter().find(|i| i.code == code)
}

/// The preliminary level (C.3) for a total score.
pub fn preliminary_level(total: u32) -> AbilityLevel {
    match total {
        90.. => AbilityLevel::Intact,
        66..=89 => AbilityLevel::Mild,
        46..=65 => AbilityLevel::Moderate,
        30..=45 => AbilityLevel::Severe,
        _ => AbilityLevel::Complete,
    }
}

/// Whether the dementia rule and the risk-event rule add up (policy setting; the standard's
/// text is read here as "apply once", the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentStacking {
    /// Both firing make the level one worse in total.
    #[default]
    ApplyOnce,
    /// Each makes it one worse (two in total).
    Stack,
}

/// One adjustment rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// `coma`, `dementia_or_mental_disorder` or `care_risk_events`.
    pub rule: String,
    /// What the rule says and why it fired, in Chinese.
    pub description: String,
    /// Levels it made worse (0 when another rule already covered it or coma decided).
    pub levels: u8,
}

/// What scoring needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreInput {
    /// The 26 item scores by code (B.1.1 … B.4.5).
    pub items: BTreeMap<String, i64>,
    /// A.5.11 昏迷.
    #[serde(default)]
    pub coma: bool,
    /// A.4.1 diagnoses as ICD-10 codes.
    #[serde(default)]
    pub diagnoses: Vec<String>,
    /// A.2.14: care-risk events in the last 30 days, summed.
    #[serde(default)]
    pub risk_events_30d: u32,
}

/// The C report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreResult {
    /// C.2 total, 0–90.
    pub total: u32,
    /// C.1 per-indicator scores.
    pub indicators: IndicatorScores,
    /// C.3 preliminary level.
    pub preliminary_level: AbilityLevel,
    /// C.4 adjustments that fired.
    pub adjustments: Vec<Adjustment>,
    /// C.5 final level.
    pub final_level: AbilityLevel,
}

/// C.1 scores by indicator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorScores {
    /// 自理能力, 0–32.
    pub self_care: u32,
    /// 基础运动能力, 0–15.
    pub basic_mobility: u32,
    /// 精神状态, 0–28.
    pub mental: u32,
    /// 感知觉与社会参与, 0–15.
    pub perception_social: u32,
}

/// An ICD-10 code: a letter, two digits, optionally a dot and more digits (F03, F01.1, I10).
pub fn parse_icd10(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_uppercase();
    let b = t.as_bytes();
    let ok = b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && (b.len() == 3
            || (b[3] == b'.' && b.len() > 4 && b[4..].iter().all(|c| c.is_ascii_alphanumeric())));
    ok.then_some(t)
}

/// Whether a diagnosis is dementia (失智): F00–F03 (dementia in Alzheimer's disease, vascular,
/// in other diseases, unspecified) or G30 (Alzheimer's disease).
pub fn is_dementia(code: &str) -> bool {
    let code = code.trim().to_ascii_uppercase();
    ["F00", "F01", "F02", "F03", "G30"]
        .iter()
        .any(|p| code.starts_with(p))
}

/// Whether a diagnosis triggers rule 2: dementia (F00–F03) or another mental or behavioural
/// disorder (F04–F99).
pub fn is_dementia_or_mental(code: &str) -> bool {
    code.starts_with('F') && code[1..3].parse::<u8>().is_ok()
}

/// Scores an assessment. Every item must be present and within its range; anything else is a
/// field error naming the item (`items.B.1.1`), the diagnosis, etc.
pub fn score(input: &ScoreInput, stacking: AdjustmentStacking) -> Result<ScoreResult, Invalid> {
    let mut inv = Invalid::new();
    for code in input.items.keys() {
        if item(code).is_none() {
            inv.add(
                &format!("items.{code}"),
                format!("没有编号为 {code} 的评估项目（应为 B.1.1 至 B.4.5）"),
            );
        }
    }
    let mut s = IndicatorScores::default();
    for it in &ITEMS {
        match input.items.get(it.code) {
            None => inv.add(
                &format!("items.{}", it.code),
                format!("缺少 {} {} 的得分", it.code, it.name),
            ),
            Some(&v) if v < 0 || v > it.max() as i64 => inv.add(
                &format!("items.{}", it.code),
                format!(
                    "{} {} 的得分应为 0 到 {}，实际为 {v}",
                    it.code,
                    it.name,
                    it.max()
                ),
            ),
            Some(&v) => {
                let v = v as u32;
                match it.indicator {
                    Indicator::SelfCare => s.self_care += v,
                    Indicator::BasicMobility => s.basic_mobility += v,
                    Indicator::Mental => s.mental += v,
                    Indicator::PerceptionSocial => s.perception_social += v,
                }
            }
        }
    }
    let mut mental_codes = Vec::new();
    for (i, d) in input.diagnoses.iter().enumerate() {
        match parse_icd10(d) {
            Some(code) if is_dementia_or_mental(&code) => mental_codes.push(code),
            Some(_) => {}
            None => inv.add(
                &format!("diagnoses[{i}]"),
                format!("“{d}”不是有效的 ICD-10 编码（如 F03、I10）"),
            ),
        }
    }
    if input.risk_events_30d > 150 {
        inv.add("risk_events_30d", "30 天内照护风险事件次数不合理");
    }
    if !inv.is_empty() {
        return Err(inv);
    }

    let total = s.self_care + s.basic_mobility + s.mental + s.perception_social;
    let preliminary = preliminary_level(total);
    let mut adjustments = Vec::new();
    let final_level = if input.coma {
        adjustments.push(Adjustment {
            rule: "coma".into(),
            description: "处于昏迷状态（A.5.11），直接评定为能力完全丧失".into(),
            levels: AbilityLevel::Complete.number() - preliminary.number(),
        });
        AbilityLevel::Complete
    } else {
        let mut worse = 0u8;
        if !mental_codes.is_empty() {
            adjustments.push(Adjustment {
                rule: "dementia_or_mental_disorder".into(),
                description: format!(
                    "确诊为痴呆（F00～F03）或精神科专科医生诊断的其他精神和行为障碍（F04～F99）：{}，在原等级上提高一个等级",
                    mental_codes.join("、")
                ),
                levels: 1,
            });
            worse += 1;
        }
        if input.risk_events_30d >= 2 {
            let stacks = stacking == AdjustmentStacking::Stack || worse == 0;
            adjustments.push(Adjustment {
                rule: "care_risk_events".into(),
                description: if stacks {
                    format!(
                        "近 30 天内发生照护风险事件 {} 次（≥2 次），在原等级上提高一个等级",
                        input.risk_events_30d
                    )
                } else {
                    format!(
                        "近 30 天内发生照护风险事件 {} 次（≥2 次）；按本地设置与上一条只合计提高一个等级",
                        input.risk_events_30d
                    )
                },
                levels: u8::from(stacks),
            });
            if stacks {
                worse += 1;
            }
        }
        let f = preliminary.worse(worse);
        // Never worse than 完全失能: record what the cap swallowed.
        let mut excess = worse - (f.number() - preliminary.number());
        for a in adjustments.iter_mut().rev() {
            let cut = excess.min(a.levels);
            a.levels -= cut;
            excess -= cut;
        }
        f
    };
    Ok(ScoreResult {
        total,
        indicators: s,
        preliminary_level: preliminary,
        adjustments,
        final_level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores with every item at its maximum, then lowered by `minus` points spread over the
    /// 0–4 items in order.
    fn input_with_total(total: u32) -> ScoreInput {
        let mut items: BTreeMap<String, i64> = ITEMS
            .iter()
            .map(|i| (i.code.to_string(), i.max() as i64))
            .collect();
        let mut minus = 90 - total as i64;
        for it in &ITEMS {
            let take = minus.min(it.max() as i64);
            *items.get_mut(it.code).unwrap() -= take;
            minus -= take;
        }
        ScoreInput {
            items,
            ..Default::default()
        }
    }

    #[test]
    fn the_item_maxima_add_up_to_ninety_with_the_standards_indicator_maxima() {
        assert_eq!(ITEMS.len(), 26);
        assert_eq!(indicator_max(Indicator::SelfCare), 32);
        assert_eq!(indicator_max(Indicator::BasicMobility), 15);
        assert_eq!(indicator_max(Indicator::Mental), 28);
        assert_eq!(indicator_max(Indicator::PerceptionSocial), 15);
        let total: u32 = Indicator::ALL.iter().map(|i| indicator_max(*i)).sum();
        assert_eq!(total, 90);
        let mut codes: Vec<_> = ITEMS.iter().map(|i| i.code).collect();
        codes.dedup();
        assert_eq!(codes.len(), 26);
    }

    #[test]
    fn every_level_boundary_falls_where_the_standard_puts_it() {
        let level = |t| {
            score(&input_with_total(t), AdjustmentStacking::ApplyOnce)
                .unwrap()
                .final_level
        };
        assert_eq!(level(90), AbilityLevel::Intact);
        assert_eq!(level(89), AbilityLevel::Mild);
        assert_eq!(level(66), AbilityLevel::Mild);
        assert_eq!(level(65), AbilityLevel::Moderate);
        assert_eq!(level(46), AbilityLevel::Moderate);
        assert_eq!(level(45), AbilityLevel::Severe);
        assert_eq!(level(30), AbilityLevel::Severe);
        assert_eq!(level(29), AbilityLevel::Complete);
        assert_eq!(level(0), AbilityLevel::Complete);
        let r = score(&input_with_total(65), AdjustmentStacking::ApplyOnce).unwrap();
        assert_eq!(r.total, 65);
        assert!(r.adjustments.is_empty());
    }

    #[test]
    fn coma_decides_complete_loss_whatever_the_score() {
        let mut i = input_with_total(90);
        i.coma = true;
        let r = score(&i, AdjustmentStacking::ApplyOnce).unwrap();
        assert_eq!(r.preliminary_level, AbilityLevel::Intact);
        assert_eq!(r.final_level, AbilityLevel::Complete);
        assert_eq!(r.adjustments[0].rule, "coma");
        assert_eq!(r.adjustments[0].levels, 4);
    }

    #[test]
    fn dementia_or_a_mental_disorder_makes_it_one_level_worse() {
        let mut i = input_with_total(70);
        i.diagnoses = vec!["I10".into(), "f01.1".into()];
        let r = score(&i, AdjustmentStacking::ApplyOnce).unwrap();
        assert_eq!(r.preliminary_level, AbilityLevel::Mild);
        assert_eq!(r.final_level, AbilityLevel::Moderate);
        assert_eq!(r.adjustments.len(), 1);
        assert!(r.adjustments[0].description.contains("F01.1"));
        i.diagnoses = vec!["I10".into(), "E11".into()];
        assert_eq!(
            score(&i, AdjustmentStacking::ApplyOnce)
                .unwrap()
                .final_level,
            AbilityLevel::Mild
        );
    }

    #[test]
    fn two_or_more_risk_events_make_it_one_level_worse_and_one_does_not() {
        let mut i = input_with_total(70);
        i.risk_events_30d = 1;
        assert_eq!(
            score(&i, AdjustmentStacking::ApplyOnce)
                .unwrap()
                .final_level,
            AbilityLevel::Mild
        );
        i.risk_events_30d = 2;
        let r = score(&i, AdjustmentStacking::ApplyOnce).unwrap();
        assert_eq!(r.final_level, AbilityLevel::Moderate);
        assert_eq!(r.adjustments[0].rule, "care_risk_events");
    }

    #[test]
    fn dementia_and_risk_events_apply_once_by_default_and_stack_when_set() {
        let mut i = input_with_total(70);
        i.diagnoses = vec!["F03".into()];
        i.risk_events_30d = 3;
        let once = score(&i, AdjustmentStacking::ApplyOnce).unwrap();
        assert_eq!(once.final_level, AbilityLevel::Moderate);
        assert_eq!(
            once.adjustments.len(),
            2,
            "both rules are reported as fired"
        );
        assert_eq!(once.adjustments[1].levels, 0);
        let stacked = score(&i, AdjustmentStacking::Stack).unwrap();
        assert_eq!(stacked.final_level, AbilityLevel::Severe);
    }

    #[test]
    fn adjustments_never_go_past_complete_loss() {
        let mut i = input_with_total(20);
        i.diagnoses = vec!["F00".into()];
        i.risk_events_30d = 5;
        let r = score(&i, AdjustmentStacking::Stack).unwrap();
        assert_eq!(r.final_level, AbilityLevel::Complete);
        assert_eq!(r.adjustments.iter().map(|a| a.levels).sum::<u8>(), 0);
    }

    #[test]
    fn a_missing_or_out_of_range_item_is_named() {
        let mut i = input_with_total(80);
        i.items.remove("B.3.4");
        i.items.insert("B.2.4".into(), 4);
        i.items.insert("B.9.9".into(), 1);
        let inv = score(&i, AdjustmentStacking::ApplyOnce).unwrap_err();
        assert!(inv.get("items.B.3.4").unwrap().contains("缺少"));
        assert!(inv.get("items.B.2.4").unwrap().contains("0 到 3"));
        assert!(inv.get("items.B.9.9").is_some());
        i.items.remove("B.9.9");
        i.items.insert("B.2.4".into(), 3);
        i.items.insert("B.3.4".into(), 2);
        i.diagnoses = vec!["dementia".into()];
        assert!(
            score(&i, AdjustmentStacking::ApplyOnce)
                .unwrap_err()
                .get("diagnoses[0]")
                .is_some()
        );
    }

    proptest::proptest! {
        #[test]
        fn the_total_is_the_sum_of_the_indicators_and_levels_only_get_worse(
            scores in proptest::collection::vec(0u8..=4, 26),
            coma in proptest::bool::ANY,
            events in 0u32..5,
            dementia in proptest::bool::ANY,
        ) {
            let items = ITEMS.iter().zip(scores).map(|(it, s)| (it.code.to_string(), s.min(it.max()) as i64)).collect();
            let input = ScoreInput { items, coma, risk_events_30d: events,
                diagnoses: if dementia { vec!["F02".into()] } else { vec![] } };
            let r = score(&input, AdjustmentStacking::ApplyOnce).unwrap();
            let i = r.indicators;
            proptest::prop_assert_eq!(r.total, i.self_care + i.basic_mobility + i.mental + i.perception_social);
            proptest::prop_assert!(r.final_level >= r.preliminary_level);
            proptest::prop_assert_eq!(r.preliminary_level, preliminary_level(r.total));
        }
    }
}
