//! Institution star rating (养老机构等级评定, GB/T 37276-2018): the scoring sheet in four parts
//! (环境 120, 设施设备 130, 运营管理 150, 服务 600), the level thresholds (a per-region table,
//! since the figures come from a local implementation rule), the decision, and the rules on who
//! may apply: prerequisites, the first-time cap, and no re-application within two years of
//! failing a level.
//!
//! Scores are kept in tenths of a point so that half points survive without floating point.

use chrono::{Months, NaiveDate};
use serde::Serialize;

use crate::labelled_enum;

labelled_enum! {
    /// The four parts of the sheet.
    pub enum Part {
        /// 环境.
        Environment = ("environment", "环境"),
        /// 设施设备.
        Equipment = ("equipment", "设施设备"),
        /// 运营管理.
        Operations = ("operations", "运营管理"),
        /// 服务.
        Service = ("service", "服务"),
    }
}

impl Part {
    /// The part's maximum, in points.
    pub fn max_points(self) -> i64 {
        match self {
            Part::Environment => 120,
            Part::Equipment => 130,
            Part::Operations => 150,
            Part::Service => 600,
        }
    }
}

/// One line of the scoring sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SheetItem {
    /// Stable code.
    pub code: &'static str,
    /// Part.
    pub part: Part,
    /// What is scored.
    pub name: &'static str,
    /// Maximum, in points.
    pub max_points: i64,
}

const fn item(code: &'static str, part: Part, name: &'static str, max_points: i64) -> SheetItem {
    SheetItem {
        code,
        part,
        name,
        max_points,
    }
}

/// The scoring sheet, following the headings of GB/T 37276-2018 附录 A; the split of each
/// part's points among its lines is the local sheet's and sums to the standard's part maxima
/// (a test holds it so).
pub const SHEET: [SheetItem; 29] = [
    item("E1", Part::Environment, "交通便捷度", 10),
    item("E2", Part::Environment, "周边服务设施", 10),
    item("E3", Part::Environment, "自然环境与院区绿化", 15),
    item("E4", Part::Environment, "院内无障碍与标识", 20),
    item("E5", Part::Environment, "居室环境", 35),
    item(
        "E6",
        Part::Environment,
        "公共区域（餐厅、活动室、公共卫生间）",
        30,
    ),
    item("F1", Part::Equipment, "建筑与消防设施", 30),
    item(
        "F2",
        Part::Equipment,
        "生活设施（床具、呼叫装置、洗浴设施）",
        25,
    ),
    item("F3", Part::Equipment, "医疗与护理设施", 25),
    item("F4", Part::Equipment, "康复与活动设施", 20),
    item("F5", Part::Equipment, "安全监控设施", 15),
    item("F6", Part::Equipment, "信息化设施", 15),
    item("M1", Part::Operations, "行政办公管理", 25),
    item("M2", Part::Operations, "人力资源管理", 30),
    item("M3", Part::Operations, "财务管理", 25),
    item("M4", Part::Operations, "安全管理", 30),
    item("M5", Part::Operations, "后勤管理", 20),
    item("M6", Part::Operations, "服务质量评价与改进", 20),
    item("S1", Part::Service, "出入院服务", 50),
    item("S2", Part::Service, "生活照料服务", 120),
    item("S3", Part::Service, "膳食服务", 80),
    item("S4", Part::Service, "清洁卫生服务", 50),
    item("S5", Part::Service, "洗涤服务", 30),
    item("S6", Part::Service, "医疗护理服务", 100),
    item("S7", Part::Service, "康复服务", 50),
    item("S8", Part::Service, "文化娱乐服务", 40),
    item("S9", Part::Service, "心理/精神支持服务", 40),
    item("S10", Part::Service, "安宁服务", 20),
    item("S11", Part::Service, "委托服务", 20),
];

/// A sheet line by code.
pub fn sheet_item(code: &str) -> Option<&'static SheetItem> {
    SHEET.iter().find(|i| i.code == code)
}

/// A level, 1 (一级) to 5 (五级, the highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Level(u8);

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [Level(1), Level(2), Level(3), Level(4), Level(5)];

    /// From 1–5.
    pub fn new(n: i64) -> Option<Level> {
        (1..=5).contains(&n).then_some(Level(n as u8))
    }

    /// 1–5.
    pub fn number(self) -> i64 {
        i64::from(self.0)
    }

    /// 一级 … 五级.
    pub fn label(self) -> &'static str {
        ["一级", "二级", "三级", "四级", "五级"][usize::from(self.0 - 1)]
    }

    /// ★ repeated.
    pub fn stars(self) -> String {
        "★".repeat(usize::from(self.0))
    }
}

/// What a level needs: a total, and every part at least a share of its own maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Threshold {
    /// Minimum total, in points.
    pub min_total: i64,
    /// Minimum of each part, percent of the part's maximum.
    pub min_part_percent: i64,
}

/// The five thresholds, 一级 first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds(pub [Threshold; 5]);

impl Thresholds {
    /// Parses `total:percent` five times, comma separated, 一级 first, e.g. the default
    /// `360:40,450:50,570:60,780:80,900:90`. Each level must ask at least as much as the one
    /// below.
    pub fn parse(text: &str) -> Result<Thresholds, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() != 5 {
            return Err("应为五级各一组“总分:各部分最低百分比”，以逗号分隔".into());
        }
        let mut out = [Threshold {
            min_total: 0,
            min_part_percent: 0,
        }; 5];
        for (i, p) in parts.iter().enumerate() {
            let (t, s) = p
                .split_once(':')
                .ok_or_else(|| format!("第 {} 组应为“总分:百分比”", i + 1))?;
            let min_total: i64 = t
                .trim()
                .parse()
                .map_err(|_| format!("第 {} 组总分应为整数", i + 1))?;
            let min_part_percent: i64 = s
                .trim()
                .parse()
                .map_err(|_| format!("第 {} 组百分比应为整数", i + 1))?;
            if !(0..=1000).contains(&min_total) || !(0..=100).contains(&min_part_percent) {
                return Err(format!(
                    "第 {} 组超出范围（总分 0–1000，百分比 0–100）",
                    i + 1
                ));
            }
            out[i] = Threshold {
                min_total,
                min_part_percent,
            };
            if i > 0
                && (min_total < out[i - 1].min_total
                    || min_part_percent < out[i - 1].min_part_percent)
            {
                return Err(format!("第 {} 组的要求不能低于下一级", i + 1));
            }
        }
        Ok(Thresholds(out))
    }

    /// The threshold of `level`.
    pub fn of(&self, level: Level) -> Threshold {
        self.0[usize::from(level.0 - 1)]
    }
}

/// Part totals, in tenths of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PartScores {
    /// 环境.
    pub environment: i64,
    /// 设施设备.
    pub equipment: i64,
    /// 运营管理.
    pub operations: i64,
    /// 服务.
    pub service: i64,
}

impl PartScores {
    /// Sums item scores (tenths) by part; unknown codes are ignored (callers validate first).
    pub fn from_items<'a>(items: impl IntoIterator<Item = (&'a str, i64)>) -> PartScores {
        let mut s = PartScores::default();
        for (code, tenths) in items {
            if let Some(i) = sheet_item(code) {
                *s.part_mut(i.part) += tenths;
            }
        }
        s
    }

    fn part_mut(&mut self, p: Part) -> &mut i64 {
        match p {
            Part::Environment => &mut self.environment,
            Part::Equipment => &mut self.equipment,
            Part::Operations => &mut self.operations,
            Part::Service => &mut self.service,
        }
    }

    /// A part's total, tenths.
    pub fn part(&self, p: Part) -> i64 {
        match p {
            Part::Environment => self.environment,
            Part::Equipment => self.equipment,
            Part::Operations => self.operations,
            Part::Service => self.service,
        }
    }

    /// The total, tenths.
    pub fn total(&self) -> i64 {
        self.environment + self.equipment + self.operations + self.service
    }

    /// Why `level` is not met (empty: met).
    pub fn shortfalls(&self, level: Level, t: &Thresholds) -> Vec<String> {
        let th = t.of(level);
        let mut out = Vec::new();
        if self.total() < th.min_total * 10 {
            out.push(format!(
                "总分 {} 低于{}要求的 {}",
                tenths(self.total()),
                level.label(),
                th.min_total
            ));
        }
        for &p in Part::ALL {
            // part / max >= percent / 100, in tenths: part * 100 >= percent * max * 10.
            if self.part(p) * 100 < th.min_part_percent * p.max_points() * 10 {
                out.push(format!(
                    "{} {} 分，低于满分 {} 的 {}%",
                    p.label(),
                    tenths(self.part(p)),
                    p.max_points(),
                    th.min_part_percent
                ));
            }
        }
        out
    }

    /// The highest level the scores meet.
    pub fn highest_met(&self, t: &Thresholds) -> Option<Level> {
        Level::ALL
            .iter()
            .rev()
            .copied()
            .find(|l| self.shortfalls(*l, t).is_empty())
    }
}

/// Formats tenths of a point (`875` → `87.5`, `870` → `87`).
pub fn tenths(v: i64) -> String {
    if v % 10 == 0 {
        (v / 10).to_string()
    } else {
        format!("{}.{}", v / 10, (v % 10).abs())
    }
}

/// Parses a score such as `8`, `8.5` into tenths; at most one decimal.
pub fn parse_tenths(text: &str) -> Option<i64> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 1 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let w: i64 = whole.parse().ok()?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    w.checked_mul(10)?.checked_add(f)
}

/// Checks one item score (tenths): known code, within 0 and its maximum.
pub fn check_item(code: &str, tenths_: i64) -> Result<(), String> {
    let item = sheet_item(code).ok_or_else(|| format!("评分表中没有条目 {code}"))?;
    if tenths_ < 0 {
        return Err("得分不能为负".into());
    }
    if tenths_ > item.max_points * 10 {
        return Err(format!(
            "得分 {} 超过该项满分 {}",
            tenths(tenths_),
            item.max_points
        ));
    }
    Ok(())
}

/// The outcome of scoring an application for `requested`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The level granted (None: none).
    pub granted: Option<Level>,
    /// The highest level the scores meet, before the request and the cap.
    pub met: Option<Level>,
    /// Whether the requested level was not reached (the two-year bar applies to it).
    pub failed: bool,
    /// Why, line by line.
    pub reasons: Vec<String>,
}

/// Decides: the highest level met, no higher than requested (and the first-time cap, already
/// enforced at application). Falling short of the requested level counts as failing it; a
/// lower level met is still granted.
pub fn decide(scores: &PartScores, t: &Thresholds, requested: Level) -> Outcome {
    let met = scores.highest_met(t);
    let granted = met.map(|m| m.min(requested));
    let failed = met.is_none_or(|m| m < requested);
    let mut reasons = vec![format!(
        "总分 {}（环境 {}，设施设备 {}，运营管理 {}，服务 {}）",
        tenths(scores.total()),
        tenths(scores.environment),
        tenths(scores.equipment),
        tenths(scores.operations),
        tenths(scores.service)
    )];
    if failed {
        reasons.extend(scores.shortfalls(requested, t));
    }
    reasons.push(match granted {
        Some(g) if failed => format!("未达到申请的{}，评定为{}", requested.label(), g.label()),
        Some(g) => format!("达到{}", g.label()),
        None => "未达到一级，不予评定等级".into(),
    });
    Outcome {
        granted,
        met,
        failed,
        reasons,
    }
}

/// What an application must satisfy before it is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prerequisites {
    /// The 备案 number, if filed.
    pub filed: bool,
    /// Opening date.
    pub opened_on: Option<NaiveDate>,
    /// Months of operation required.
    pub min_operating_months: u32,
    /// Why a serious penalty or 失信 listing in force stops the application
    /// (`credit::rating_bar`), if one does.
    pub credit_bar: Option<String>,
    /// Whether the facility ever held a level before.
    pub rated_before: bool,
    /// Highest level a first-time applicant may ask for (None: no cap).
    pub first_time_cap: Option<Level>,
    /// Earlier failures: (decision date, failed level).
    pub failures: Vec<(NaiveDate, Level)>,
    /// Years a failed level is barred.
    pub bar_years: u32,
    /// Whether an application is already in progress.
    pub open_application: bool,
}

/// Reasons an application for `requested` on `today` is refused, each with the field it
/// concerns (empty: accepted).
pub fn refusals(
    p: &Prerequisites,
    requested: Level,
    today: NaiveDate,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !p.filed {
        out.push(("facility", "机构尚未备案，不能申请等级评定".to_string()));
    }
    match p.opened_on {
        None => out.push(("facility", "未登记开业日期，无法核实运营时间".to_string())),
        Some(o) => {
            let due = o.checked_add_months(Months::new(p.min_operating_months));
            if due.is_none_or(|d| d > today) {
                out.push((
                    "facility",
                    format!(
                        "开业不满 {} 个月（{} 开业），暂不能申请",
                        p.min_operating_months, o
                    ),
                ));
            }
        }
    }
    if let Some(why) = &p.credit_bar {
        out.push(("facility", format!("{why}，不能申请等级评定")));
    }
    if p.open_application {
        out.push(("facility", "已有一份评定申请正在办理".to_string()));
    }
    if !p.rated_before
        && let Some(cap) = p.first_time_cap
        && requested > cap
    {
        out.push((
            "requested_level",
            format!("首次参加评定最高可申请{}", cap.label()),
        ));
    }
    for (on, level) in &p.failures {
        let until = on
            .checked_add_months(Months::new(p.bar_years * 12))
            .unwrap_or(NaiveDate::MAX);
        if requested >= *level && today < until {
            out.push((
                "requested_level",
                format!(
                    "{on} 评定未达到{}，{} 前不能再申请{}及以上等级",
                    level.label(),
                    until,
                    level.label()
                ),
            ));
        }
    }
    out
}

/// Last day a level decided on `on` is valid (valid `years` years).
pub fn valid_until(on: NaiveDate, years: u32) -> NaiveDate {
    on.checked_add_months(Months::new(years * 12))
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests;
