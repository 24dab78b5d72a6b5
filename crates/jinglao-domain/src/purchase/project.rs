//! A purchase project (政府购买服务项目) in a purchasing body's annual plan (年度购买计划,
//! 湘财社〔2015〕2号 六（一）): what is bought from which catalogue entry, for whom and where,
//! how much of it (measured from the eligibility worklists), the budget and where the money
//! comes from, how the provider is chosen, what is asked of providers beyond the seven
//! conditions, and the performance targets. Finance approves or returns it; an approved
//! project is frozen, and a change is a new version with its reason.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::labelled_enum;
use crate::region::RegionCode;
use crate::supply::facility_input::yuan_to_fen;
use crate::validation::Invalid;

labelled_enum! {
    /// How the provider is chosen (湘政发〔2014〕20号 二（四）4, 湘财社〔2015〕2号 七).
    pub enum PurchaseMode {
        /// 公开招标.
        OpenTender = ("open_tender", "公开招标"),
        /// 邀请招标.
        InvitedTender = ("invited_tender", "邀请招标"),
        /// 竞争性谈判.
        Negotiation = ("competitive_negotiation", "竞争性谈判"),
        /// 竞争性磋商.
        Consultation = ("competitive_consultation", "竞争性磋商"),
        /// 询价: the lowest qualified price wins.
        Inquiry = ("inquiry", "询价"),
        /// 单一来源: needs a written justification and a notice period before the award.
        SingleSource = ("single_source", "单一来源"),
        /// 多元市场主体模式: several providers, the older person chooses.
        ElderChoice = ("elder_choice", "多家承接、老人自选"),
        /// 公建民营: a public facility run by a provider, the government paying per head.
        PublicBuiltPrivateRun = ("public_built_private_run", "公建民营（按人头付费）"),
        /// 公私合作（PPP）.
        Ppp = ("ppp", "公私合作（PPP）"),
    }
}

impl PurchaseMode {
    /// The OCDS `procurementMethod` (open, selective, limited, direct).
    pub fn ocds_method(self) -> &'static str {
        match self {
            PurchaseMode::OpenTender | PurchaseMode::ElderChoice | PurchaseMode::Ppp => "open",
            PurchaseMode::InvitedTender => "selective",
            PurchaseMode::Negotiation | PurchaseMode::Consultation | PurchaseMode::Inquiry => {
                "limited"
            }
            PurchaseMode::SingleSource | PurchaseMode::PublicBuiltPrivateRun => "direct",
        }
    }

    /// Whether the award goes to the lowest qualified price (询价) rather than the best
    /// comprehensive score.
    pub fn lowest_price_wins(self) -> bool {
        self == PurchaseMode::Inquiry
    }

    /// Whether several providers may be awarded (the older person chooses among them).
    pub fn several_awards(self) -> bool {
        self == PurchaseMode::ElderChoice
    }
}

labelled_enum! {
    /// Where the money comes from (湘财社〔2015〕2号 八).
    pub enum FundingSource {
        /// 同级民政、老龄部门预算安排的专项资金.
        Budget = ("budget", "部门预算专项资金"),
        /// 福利彩票公益金.
        Lottery = ("lottery", "福利彩票公益金"),
        /// 上级补助资金.
        Transfer = ("transfer", "上级补助资金"),
    }
}

labelled_enum! {
    /// Where a project stands.
    pub enum ProjectStatus {
        /// Being drafted by the purchasing body.
        Draft = ("draft", "草稿"),
        /// With finance for review.
        Submitted = ("submitted", "待财政审核"),
        /// Returned by finance with a reason.
        Returned = ("returned", "已退回修改"),
        /// Approved by finance; frozen.
        Approved = ("approved", "财政已批复"),
        /// Publicly announced; bids are taken until the deadline.
        Tendering = ("tendering", "公告征集中"),
        /// Provider(s) chosen.
        Awarded = ("awarded", "已确定承接主体"),
        /// Under contract.
        Contracted = ("contracted", "合同履行中"),
        /// Accepted at term end.
        Accepted = ("accepted", "已验收"),
        /// Evaluated (绩效评价 published).
        Evaluated = ("evaluated", "已完成绩效评价"),
        /// Stopped (no valid bid, a failing evaluation).
        Cancelled = ("cancelled", "已终止"),
    }
}

impl ProjectStatus {
    /// Whether the public may see the project (from its announcement on).
    pub fn is_public(self) -> bool {
        !matches!(
            self,
            ProjectStatus::Draft
                | ProjectStatus::Submitted
                | ProjectStatus::Returned
                | ProjectStatus::Approved
        )
    }

    /// Whether the purchasing body may still edit it without a new version.
    pub fn is_editable(self) -> bool {
        matches!(self, ProjectStatus::Draft | ProjectStatus::Returned)
    }
}

/// One line of the estimated quantity: people × units each, of one service-list item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantityLine {
    /// Service-list item.
    pub item_code: String,
    /// How many people (from the eligibility worklist when measured).
    pub people: u32,
    /// Units per person over the project term (visits, hours, meals, months).
    pub units_per_person: u32,
    /// The unit (次、小时、餐、人月).
    pub unit: String,
}

impl QuantityLine {
    /// People × units.
    pub fn total_units(&self) -> u64 {
        u64::from(self.people) * u64::from(self.units_per_person)
    }
}

/// One evaluation criterion with its weight (points out of 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    /// Name (价格、服务方案、人员资质、以往绩效评价…).
    pub name: String,
    /// Points out of 100.
    pub weight: u32,
}

/// The name of the price criterion: scored from the offers, not by the panel.
pub const PRICE_CRITERION: &str = "价格";

/// The most lines, items, regions or criteria one project lists.
pub const MAX_LINES: usize = 100;

/// A checked project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInput {
    /// Budget year.
    pub year: i32,
    /// Title (e.g. 2026年雨湖区居家养老上门服务).
    pub title: String,
    /// The catalogue entry's code.
    pub catalogue_code: String,
    /// The service-list items bought.
    pub item_codes: Vec<String>,
    /// The regions served (within the purchasing body's).
    pub regions: Vec<RegionCode>,
    /// Estimated quantity.
    pub quantities: Vec<QuantityLine>,
    /// How the unit prices were arrived at (物价、工资、社保、税费).
    pub price_basis: String,
    /// Budget, fen.
    pub budget_fen: i64,
    /// Funding source.
    pub funding: FundingSource,
    /// How the provider is chosen.
    pub mode: PurchaseMode,
    /// Requirements beyond the seven conditions.
    pub requirements: String,
    /// Quantity and quality standards, performance targets.
    pub targets: String,
    /// Evaluation criteria (weights sum to 100; none for 询价 and 单一来源).
    pub criteria: Vec<Criterion>,
    /// Term of service.
    pub term_start: NaiveDate,
    /// Last day of service.
    pub term_end: NaiveDate,
    /// Why a single source (required for 单一来源).
    pub justification: Option<String>,
}

/// A project as typed (a form sends text; the API sends the same fields).
#[derive(Debug, Clone, Default)]
pub struct ProjectDraft {
    /// Year.
    pub year: String,
    /// Title.
    pub title: String,
    /// Catalogue entry code.
    pub catalogue_code: String,
    /// Item codes.
    pub item_codes: Vec<String>,
    /// Region codes.
    pub regions: Vec<String>,
    /// Quantity lines: item, people, units each, unit.
    pub quantities: Vec<(String, String, String, String)>,
    /// Price basis.
    pub price_basis: String,
    /// Budget in yuan (forms) — or use `budget_fen`.
    pub budget_yuan: String,
    /// Budget in fen (API); wins over `budget_yuan` when set.
    pub budget_fen: Option<i64>,
    /// Funding source name or label.
    pub funding: String,
    /// Mode name or label.
    pub mode: String,
    /// Requirements.
    pub requirements: String,
    /// Targets.
    pub targets: String,
    /// Criteria: name, weight.
    pub criteria: Vec<(String, String)>,
    /// Term start, `YYYY-MM-DD`.
    pub term_start: String,
    /// Term end, `YYYY-MM-DD`.
    pub term_end: String,
    /// Justification.
    pub justification: String,
}

fn text(inv: &mut Invalid, field: &str, value: &str, max: usize, what: &str) -> String {
    let t = value.trim();
    if t.chars().count() > max {
        inv.add(field, format!("{what}不超过 {max} 字"));
    }
    t.to_string()
}

impl ProjectDraft {
    /// Checks every field, naming each that is wrong. Cross-checks that need stored data
    /// (the catalogue entry covers the items, the regions lie in the purchaser's area) are
    /// storage's.
    pub fn parse(&self) -> Result<ProjectInput, Invalid> {
        let mut inv = Invalid::new();
        let year = self
            .year
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|y| (2014..=2100).contains(y));
        if year.is_none() {
            inv.add("year", "请填写预算年度（如 2026）");
        }
        let title = text(&mut inv, "title", &self.title, 100, "项目名称");
        if title.is_empty() {
            inv.add("title", "请填写项目名称");
        }
        let catalogue_code = self.catalogue_code.trim().to_string();
        if catalogue_code.is_empty() {
            inv.add("catalogue_code", "请选择指导性目录中的条目");
        }
        let mut item_codes: Vec<String> = Vec::new();
        for c in self
            .item_codes
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
        {
            if !item_codes.iter().any(|x| x == c) {
                item_codes.push(c.to_string());
            }
        }
        if item_codes.is_empty() {
            inv.add("item_codes", "请选择至少一个服务项目");
        }
        let mut regions = Vec::new();
        for r in self
            .regions
            .iter()
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
        {
            match RegionCode::parse(r) {
                Ok(code) if !regions.contains(&code) => regions.push(code),
                Ok(_) => {}
                Err(_) => inv.add("regions", format!("“{r}”不是有效的行政区划")),
            }
        }
        if regions.is_empty() {
            inv.add("regions", "请选择服务区域");
        }
        if item_codes.len() > MAX_LINES
            || regions.len() > MAX_LINES
            || self.quantities.len() > MAX_LINES
            || self.criteria.len() > MAX_LINES
        {
            inv.add("quantities", format!("每项最多 {MAX_LINES} 行"));
            return Err(inv);
        }
        let mut quantities = Vec::new();
        for (i, (item, people, units, unit)) in self.quantities.iter().enumerate() {
            if item.trim().is_empty() && people.trim().is_empty() && units.trim().is_empty() {
                continue;
            }
            let f = |n: &str| format!("quantities[{i}].{n}");
            let item = item.trim();
            if !item_codes.iter().any(|c| c == item) {
                inv.add(
                    &f("item_code"),
                    format!("数量测算中的“{item}”不在所选服务项目中"),
                );
            }
            let people = people.trim().parse::<u32>().ok().filter(|n| *n > 0);
            if people.is_none() {
                inv.add(&f("people"), "人数应为正整数");
            }
            let per = units
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=100_000).contains(n));
            if per.is_none() {
                inv.add(&f("units_per_person"), "人均数量应为 1–100000 的整数");
            }
            let unit = unit.trim();
            if unit.is_empty() || unit.chars().count() > 10 {
                inv.add(&f("unit"), "请填写计量单位（次、小时、餐、人月）");
            }
            if let (Some(people), Some(per)) = (people, per) {
                quantities.push(QuantityLine {
                    item_code: item.to_string(),
                    people,
                    units_per_person: per,
                    unit: unit.to_string(),
                });
            }
        }
        if quantities.is_empty() && !inv.errors.iter().any(|e| e.field.starts_with("quantities")) {
            inv.add("quantities", "请填写预计服务数量（人数 × 人均数量）");
        }
        let price_basis = text(
            &mut inv,
            "price_basis",
            &self.price_basis,
            500,
            "单价测算依据",
        );
        if price_basis.is_empty() {
            inv.add(
                "price_basis",
                "请说明单价测算依据（物价、工资、社保、税费）",
            );
        }
        let budget = match self.budget_fen {
            Some(f) => Some(f),
            None => yuan_to_fen(&self.budget_yuan).filter(|_| !self.budget_yuan.trim().is_empty()),
        }
        .filter(|f| (1..=1_000_000_000_000).contains(f));
        if budget.is_none() {
            let field = if self.budget_fen.is_some() {
                "budget_fen"
            } else {
                "budget_yuan"
            };
            inv.add(field, "预算金额应大于 0、不超过 100 亿元，最多两位小数");
        }
        let funding = FundingSource::parse(&self.funding);
        if funding.is_none() {
            inv.add(
                "funding",
                format!("请选择资金来源：{}", FundingSource::labels_list()),
            );
        }
        let mode = PurchaseMode::parse(&self.mode);
        if mode.is_none() {
            inv.add(
                "mode",
                format!("请选择购买方式：{}", PurchaseMode::labels_list()),
            );
        }
        let requirements = text(
            &mut inv,
            "requirements",
            &self.requirements,
            2000,
            "承接主体要求",
        );
        let targets = text(&mut inv, "targets", &self.targets, 2000, "绩效目标");
        if targets.is_empty() {
            inv.add("targets", "请填写服务数量、质量标准和绩效目标");
        }
        let mut criteria: Vec<Criterion> = Vec::new();
        for (i, (name, weight)) in self.criteria.iter().enumerate() {
            if name.trim().is_empty() && weight.trim().is_empty() {
                continue;
            }
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 30 {
                inv.add(
                    &format!("criteria[{i}].name"),
                    "请填写评分项名称（不超过 30 字）",
                );
            } else if criteria.iter().any(|c| c.name == name) {
                inv.add(
                    &format!("criteria[{i}].name"),
                    format!("评分项“{name}”重复"),
                );
            }
            match weight
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|w| (1..=100).contains(w))
            {
                Some(weight) => criteria.push(Criterion {
                    name: name.to_string(),
                    weight,
                }),
                None => inv.add(&format!("criteria[{i}].weight"), "分值应为 1–100 的整数"),
            }
        }
        if let Some(mode) = mode {
            let scored = !matches!(mode, PurchaseMode::Inquiry | PurchaseMode::SingleSource);
            let total: u32 = criteria.iter().map(|c| c.weight).sum();
            if scored && total != 100 {
                inv.add(
                    "criteria",
                    format!("评分项分值合计应为 100 分，现为 {total} 分"),
                );
            }
            if scored && !criteria.iter().any(|c| c.name == PRICE_CRITERION) {
                inv.add("criteria", format!("评分项中应有“{PRICE_CRITERION}”"));
            }
        }
        let justification = self.justification.trim();
        if mode == Some(PurchaseMode::SingleSource) && justification.chars().count() < 10 {
            inv.add("justification", "单一来源采购须写明理由（至少 10 字）");
        }
        let start = self.term_start.trim().parse::<NaiveDate>().ok();
        if start.is_none() {
            inv.add("term_start", "请填写服务期开始日期（如 2026-01-01）");
        }
        let end = self.term_end.trim().parse::<NaiveDate>().ok();
        match (start, end) {
            (_, None) => inv.add("term_end", "请填写服务期结束日期（如 2026-12-31）"),
            (Some(s), Some(e)) if e < s => inv.add("term_end", "结束日期不能早于开始日期"),
            (Some(s), Some(e)) if (e - s).num_days() > 366 * 3 => {
                inv.add("term_end", "服务期不超过三年")
            }
            _ => {}
        }
        match (year, budget, funding, mode, start, end) {
            (
                Some(year),
                Some(budget_fen),
                Some(funding),
                Some(mode),
                Some(term_start),
                Some(term_end),
            ) if inv.is_empty() => Ok(ProjectInput {
                year,
                title,
                catalogue_code,
                item_codes,
                regions,
                quantities,
                price_basis,
                budget_fen,
                funding,
                mode,
                requirements,
                targets,
                criteria,
                term_start,
                term_end,
                justification: (!justification.is_empty()).then(|| justification.to_string()),
            }),
            _ => Err(inv),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid open-tender draft.
    pub(crate) fn draft() -> ProjectDraft {
        ProjectDraft {
            year: "2026".into(),
            title: "2026年雨湖区居家养老上门服务".into(),
            catalogue_code: "JJ-01".into(),
            item_codes: vec!["JJ01".into()],
            regions: vec!["430302".into()],
            quantities: vec![("JJ01".into(), "120".into(), "48".into(), "次".into())],
            price_basis: "按本地家政服务小时工资 30 元测算".into(),
            budget_yuan: "172800".into(),
            budget_fen: None,
            funding: "budget".into(),
            mode: "公开招标".into(),
            requirements: "在雨湖区设有服务站点".into(),
            targets: "服务满意度不低于 90%".into(),
            criteria: vec![
                ("价格".into(), "30".into()),
                ("服务方案".into(), "70".into()),
            ],
            term_start: "2026-03-01".into(),
            term_end: "2026-12-31".into(),
            justification: String::new(),
        }
    }

    #[test]
    fn a_complete_draft_parses_into_fen_and_counts_its_units() {
        let p = draft().parse().unwrap();
        assert_eq!(p.budget_fen, 17_280_000);
        assert_eq!(p.quantities[0].total_units(), 5_760);
        assert_eq!(p.mode.ocds_method(), "open");
    }

    #[test]
    fn weights_not_adding_to_a_hundred_and_a_missing_price_criterion_are_named() {
        let mut d = draft();
        d.criteria = vec![("服务方案".into(), "60".into())];
        let e = d.parse().unwrap_err();
        let msgs: Vec<_> = e.errors.iter().filter(|e| e.field == "criteria").collect();
        assert_eq!(msgs.len(), 2, "{e}");
        assert!(msgs[0].message.contains("60"));
    }

    #[test]
    fn a_single_source_needs_its_reason_and_no_criteria() {
        let mut d = draft();
        d.mode = "single_source".into();
        d.criteria.clear();
        assert!(d.parse().unwrap_err().get("justification").is_some());
        d.justification = "该公建民营机构为本区唯一具备医养结合资质的运营方".into();
        assert!(d.parse().is_ok());
    }

    #[test]
    fn a_quantity_for_an_item_not_bought_and_a_bad_budget_are_refused_by_field() {
        let mut d = draft();
        d.quantities
            .push(("XX99".into(), "3".into(), "0".into(), "次".into()));
        d.budget_yuan = "12.345".into();
        let e = d.parse().unwrap_err();
        assert!(e.get("quantities[1].item_code").is_some());
        assert!(e.get("quantities[1].units_per_person").is_some());
        assert!(e.get("budget_yuan").is_some());
    }
}
