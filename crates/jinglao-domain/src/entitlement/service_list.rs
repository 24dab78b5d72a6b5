//! The basic elderly-service list (基本养老服务清单): its items and the rule that a county's list
//! inherits the city's (潭政办发〔2023〕20号: each county publishes a list covering the city
//! list). Pure: storage, versions and publication come with the rest of issue 4.

use chrono::NaiveDate;
use serde::Serialize;

use crate::labelled_enum;
use crate::rules::{Expr, Facts, Operand, Outcome, PlainAnswer, RegionNames, Rule};

labelled_enum! {
    /// The three kinds of item.
    pub enum ServiceCategory {
        /// 物质帮助.
        MaterialHelp = ("material_help", "物质帮助"),
        /// 照护服务.
        Care = ("care", "照护服务"),
        /// 关爱服务.
        Caring = ("caring", "关爱服务"),
    }
}

/// Who pays for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Payer {
    /// 政府全额.
    GovernmentInFull,
    /// The government pays this share, in per mille (e.g. 600 = 60 %); the person the rest.
    SubsidyShare(u16),
    /// 自费.
    SelfPaid,
}

impl Payer {
    /// The government's share in per mille.
    pub fn government_share(self) -> u16 {
        match self {
            Payer::GovernmentInFull => 1000,
            Payer::SubsidyShare(p) => p.min(1000),
            Payer::SelfPaid => 0,
        }
    }
}

/// How much of an item a person may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Quota {
    /// No limit stated.
    Unlimited,
    /// Hours a month (e.g. 8).
    HoursPerMonth(u32),
    /// Times a month (e.g. 30 meals, 4 visits).
    TimesPerMonth(u32),
    /// An amount in fen a month.
    FenPerMonth(i64),
}

/// One item of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceItem {
    /// Stable code across versions and levels (e.g. XT-JJ-01).
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub category: ServiceCategory,
    /// Who it is for.
    pub target: Rule,
    /// Content and service standard.
    pub content: String,
    /// Who pays.
    pub payer: Payer,
    /// How much.
    pub quota: Quota,
    /// Effective from.
    pub effective_from: NaiveDate,
    /// Effective until (inclusive), if it ends.
    pub effective_to: Option<NaiveDate>,
    /// Legal basis: document number and article, e.g. 湘财社〔2015〕2号 第四条.
    pub basis: String,
}

impl ServiceItem {
    /// Whether the item is in force on `date`.
    pub fn is_in_force_on(&self, date: NaiveDate) -> bool {
        self.effective_from <= date && self.effective_to.is_none_or(|to| date <= to)
    }
}

/// Why a county's item does not cover the city's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageProblem {
    /// The city item's code.
    pub code: String,
    /// What is wrong, in Chinese.
    pub reason: String,
}

/// Whether `wider` keeps everyone `narrower` admits: the same rule, or the same rule joined
/// with more groups by `or` (`(<city rule>) or <more>`). A rule written any other way is
/// refused even if it happens to be wider: staff widen a group by adding to it, and the check
/// must be one a reviewer can see at a glance.
pub fn widens(narrower: &Rule, wider: &Rule) -> bool {
    fn disjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::Or(a, b) => {
                disjuncts(a, out);
                disjuncts(b, out);
            }
            other => out.push(other),
        }
    }
    let mut want = Vec::new();
    disjuncts(narrower.expr(), &mut want);
    let mut have = Vec::new();
    disjuncts(wider.expr(), &mut have);
    want.iter().all(|w| have.iter().any(|h| same(w, h)))
}

/// Structural equality of two rules, ignoring where they were written.
fn same(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::And(a1, a2), Expr::And(b1, b2)) | (Expr::Or(a1, a2), Expr::Or(b1, b2)) => {
            same(a1, b1) && same(a2, b2)
        }
        (Expr::Not(x), Expr::Not(y)) => same(x, y),
        (Expr::Clause(x), Expr::Clause(y)) => {
            x.cmp == y.cmp && same_operand(&x.left, &y.left) && same_operand(&x.right, &y.right)
        }
        _ => false,
    }
}

fn same_operand(a: &Operand, b: &Operand) -> bool {
    match (a, b) {
        (Operand::List(x, _), Operand::List(y, _)) => {
            let mut x: Vec<&String> = x.iter().collect();
            let mut y: Vec<&String> = y.iter().collect();
            x.sort_unstable();
            y.sort_unstable();
            x == y
        }
        (x, y) => x == y,
    }
}

fn quota_covers(city: Quota, county: Quota) -> bool {
    match (city, county) {
        (_, Quota::Unlimited) => true,
        (Quota::HoursPerMonth(a), Quota::HoursPerMonth(b))
        | (Quota::TimesPerMonth(a), Quota::TimesPerMonth(b)) => b >= a,
        (Quota::FenPerMonth(a), Quota::FenPerMonth(b)) => b >= a,
        _ => false,
    }
}

/// Checks that a county's list covers the city's: every city item is there under its code,
/// with a target group at least as wide, a quota at least as large, at least the same share
/// paid by the government, and in force at least as long. Items the county adds are free.
pub fn check_coverage(city: &[ServiceItem], county: &[ServiceItem]) -> Vec<CoverageProblem> {
    let mut out = Vec::new();
    for c in city {
        let problem = |reason: String| CoverageProblem {
            code: c.code.clone(),
            reason,
        };
        let Some(k) = county.iter().find(|k| k.code == c.code) else {
            out.push(problem(format!("缺少市级清单项目“{}”", c.name)));
            continue;
        };
        if !widens(&c.target, &k.target) {
            out.push(problem(format!(
                "“{}”的服务对象不得窄于市级：应与市级相同，或写成（市级条件） or 新增条件",
                c.name
            )));
        }
        if !quota_covers(c.quota, k.quota) {
            out.push(problem(format!("“{}”的服务标准（数量）低于市级", c.name)));
        }
        if k.payer.government_share() < c.payer.government_share() {
            out.push(problem(format!("“{}”的政府承担比例低于市级", c.name)));
        }
        let ends_earlier = match (c.effective_to, k.effective_to) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => b < a,
        };
        if k.effective_from > c.effective_from || ends_earlier {
            out.push(problem(format!("“{}”的执行期短于市级", c.name)));
        }
    }
    out
}

/// The demo city list of 湘潭市 (jinglao demo): the items issue 4 names, with target groups
/// from the policy texts. Quotas and shares the texts do not fix are demo assumptions, listed in
/// docs/DEMO-DATA.md. Every rule here parses (tested).
pub fn xiangtan_demo_list(effective_from: NaiveDate) -> Vec<ServiceItem> {
    use crate::policy::PolicyKey;
    let item = |code: &str,
                name: &str,
                category: ServiceCategory,
                rule: &str,
                content: &str,
                payer: Payer,
                quota: Quota,
                basis: &str| ServiceItem {
        code: code.into(),
        name: name.into(),
        category,
        target: Rule::parse(rule).expect("the demo rules parse"),
        content: content.into(),
        payer,
        quota,
        effective_from,
        effective_to: None,
        basis: basis.into(),
    };
    // Items that have a policy parameter take its rule, so the list and the parameter never
    // disagree about who is in the group.
    let waiting_groups =
        crate::waiting_list::PriorityTiers::parse(PolicyKey::WaitingListPriority.spec().default)
            .expect("the built-in tiers parse");
    let priority_rule = waiting_groups
        .labels()
        .iter()
        .map(|l| format!("\"{l}\" in categories"))
        .collect::<Vec<_>>()
        .join(" or ");
    let patrol_times: u32 = PolicyKey::PatrolMonthlyTimes
        .spec()
        .default
        .parse()
        .expect("a number");
    vec![
        item(
            "XT-JJ-01",
            "政府购买居家养老服务",
            ServiceCategory::Care,
            "hukou_local and resides_locally and (\n\
             (age >= 60 and \"分散供养特困\" in categories)\n\
             or (age >= 60 and \"低保\" in categories and \"失能\" in categories)\n\
             or (age >= 65 and \"低保\" in categories and \"半失能\" in categories)\n\
             or (age >= 80 and \"低保\" in categories and (not children_local or not children_can_care)))",
            "助餐、助浴、助洁、助急、助医、护理等上门服务，由承接主体按服务规范提供",
            Payer::GovernmentInFull,
            Quota::HoursPerMonth(8),
            "湘财社〔2015〕2号 第四条（一）至（四）：散居的农村五保和城市“三无”老人（分散供养特困）、低保失能、低保半失能、子女不在本地或无力照料的高龄低保老人",
        ),
        item(
            "XT-ZH-01",
            "家庭养老床位",
            ServiceCategory::Care,
            PolicyKey::FamilyBedRule.spec().default,
            "在家中设置养老床位，提供专业照护、远程监测和紧急呼叫",
            Payer::SubsidyShare(800),
            Quota::HoursPerMonth(30),
            "潭政办发〔2023〕20号 二（二）5：为居家高龄、失能等有需求的老年人提供家庭养老床位照护服务（对象同政策参数 family_bed.rule）",
        ),
        item(
            "XT-WZ-01",
            "居家适老化改造",
            ServiceCategory::MaterialHelp,
            "\"农村特困\" in categories or \"城市特困\" in categories\n\
             or (\"低保\" in categories and \"失能\" in categories) or \"残疾\" in categories",
            "每户一次：防滑、扶手、如厕洗浴、紧急呼叫等基础改造",
            Payer::GovernmentInFull,
            Quota::Unlimited,
            "潭政办发〔2023〕20号 二（一）4：特困、低保失能、残疾老年人家庭适老化改造全覆盖",
        ),
        item(
            "XT-ZH-02",
            "老年助餐",
            ServiceCategory::Care,
            "\"高龄\" in categories or \"失能\" in categories",
            "助餐点就餐或送餐上门，每日一餐",
            Payer::SubsidyShare(500),
            Quota::TimesPerMonth(30),
            "演示假设：潭政办发〔2023〕20号只要求发展老年助餐（市城区全覆盖），未定补贴对象和比例；这里的对象（高龄、失能）和 50% 补贴是演示数据",
        ),
        item(
            "XT-GA-01",
            "探访关爱（巡访）",
            ServiceCategory::Caring,
            PolicyKey::PatrolMonthlyRule.spec().default,
            "村（社区）定期上门或电话探访，了解安全、健康和生活状况",
            Payer::GovernmentInFull,
            Quota::TimesPerMonth(patrol_times),
            "潭政办发〔2023〕20号 二（二）5：常态化巡访（对象同政策参数 patrol.monthly_rule，次数同 patrol.monthly_times）",
        ),
        item(
            "XT-ZH-03",
            "公办养老机构优先入住",
            ServiceCategory::Care,
            &priority_rule,
            "公办养老机构空余床位按优先顺序安排入住，费用按收费标准",
            Payer::SelfPaid,
            Quota::Unlimited,
            "潭政办发〔2023〕20号 二（三）9：低收入、高龄、失能、失独、获得国家荣誉等老年人可优先轮候入住公办养老服务机构（类别同政策参数 waiting_list.priority）",
        ),
    ]
}

/// One item of a service list answered for one person: services find people.
#[derive(Debug, Clone)]
pub struct ItemAnswer<'a> {
    /// The item.
    pub item: &'a ServiceItem,
    /// The clauses that decided it (what pages say).
    pub deciding: Outcome,
    /// Every clause (the full explanation the API gives).
    pub all: Outcome,
    /// The answer in plain words (what the public and staff read first).
    pub plain: PlainAnswer,
}

impl ItemAnswer<'_> {
    /// Whether the person is in the item's target group.
    pub fn eligible(&self) -> bool {
        self.all.eligible
    }
}

/// Every item of a list in force on `on`, answered on one person's `facts`: the items the
/// person can get first, each group in the list's order. The one place the per-person answer is assembled: the record page, the eligibility
/// API and the public self-check all call it.
pub fn answer_items<'a>(
    items: &'a [ServiceItem],
    facts: &Facts,
    on: NaiveDate,
    names: &dyn RegionNames,
) -> Vec<ItemAnswer<'a>> {
    let mut out: Vec<ItemAnswer<'a>> = items
        .iter()
        .filter(|it| it.is_in_force_on(on))
        .map(|item| ItemAnswer {
            deciding: item.target.deciding(facts),
            all: item.target.evaluate(facts),
            plain: item.target.plain_answer(facts, names),
            item,
        })
        .collect();
    // The items the person can get first; the list's own order within each group.
    out.sort_by_key(|a| !a.all.eligible);
    out
}

/// The names of service items by code, for pages that hold only the code (orders, visits,
/// skills, prices): the name from the newest list version that has the code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemNames(std::collections::HashMap<String, String>);

impl ItemNames {
    /// From (code, name) pairs, oldest first: a later name replaces an earlier one.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        ItemNames(pairs.into_iter().collect())
    }

    /// The item's name, or the code itself when no list has it.
    pub fn name<'a>(&'a self, code: &'a str) -> &'a str {
        self.0.get(code).map_or(code, String::as_str)
    }
}

/// Whether a basis marks the demo's own assumption rather than a policy text (it starts with
/// 演示假设).
pub fn is_demo_basis(basis: &str) -> bool {
    basis.trim_start().starts_with("演示假设")
}

impl ServiceItem {
    /// Whether the item's target group or figures are the demo's own assumption, not a policy
    /// text's (its basis says 演示假设): pages mark it.
    pub fn is_demo_assumption(&self) -> bool {
        is_demo_basis(&self.basis)
    }

    /// The name as pages show it: marked “（演示假设）” when it is one.
    pub fn display_name(&self) -> String {
        if self.is_demo_assumption() {
            format!("{}（演示假设）", self.name)
        } else {
            self.name.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, rule: &str, quota: Quota) -> ServiceItem {
        ServiceItem {
            code: code.into(),
            name: format!("项目{code}"),
            category: ServiceCategory::Care,
            target: Rule::parse(rule).unwrap(),
            content: "上门助餐".into(),
            payer: Payer::GovernmentInFull,
            quota,
            effective_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            effective_to: None,
            basis: "潭政办发〔2023〕20号".into(),
        }
    }

    #[test]
    fn a_county_list_that_repeats_and_adds_to_the_city_list_covers_it() {
        let city = vec![item(
            "A",
            "age >= 80 or \"失能\" in categories",
            Quota::TimesPerMonth(30),
        )];
        let county = vec![
            // Written differently (spacing, an extra group) but containing the city's groups.
            item(
                "A",
                "\"失能\" in categories or age >= 80   or \"半失能\" in categories",
                Quota::TimesPerMonth(31),
            ),
            item("B", "age >= 90", Quota::Unlimited),
        ];
        assert_eq!(check_coverage(&city, &county), vec![]);
    }

    #[test]
    fn a_missing_item_a_narrower_group_a_smaller_quota_or_a_smaller_share_is_named() {
        let city = vec![
            item("A", "age >= 80", Quota::TimesPerMonth(30)),
            item(
                "B",
                "age >= 60 and \"低保\" in categories",
                Quota::HoursPerMonth(8),
            ),
            item("C", "age >= 70", Quota::FenPerMonth(10_000)),
        ];
        let mut c = item("C", "age >= 70", Quota::FenPerMonth(10_000));
        c.payer = Payer::SubsidyShare(500);
        let county = vec![
            item(
                "B",
                "age >= 65 and \"低保\" in categories",
                Quota::HoursPerMonth(6),
            ),
            c,
        ];
        let problems = check_coverage(&city, &county);
        let reasons: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.code.as_str(), p.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].1.contains("缺少市级清单项目"));
        assert!(reasons[1].1.contains("不得窄于市级"));
        assert!(reasons[2].1.contains("数量）低于市级"));
        assert!(reasons[3].1.contains("政府承担比例低于市级"));
    }

    #[test]
    fn the_demo_list_parses_and_finds_a_disabled_dibao_holder_in_the_purchase_group() {
        let list = xiangtan_demo_list(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!(list.len(), 6);
        assert!(
            check_coverage(&list, &list).is_empty(),
            "a list covers itself"
        );
        let purchase = &list[0].target;
        assert!(
            purchase
                .source()
                .contains("age >= 65 and \"低保\" in categories and \"半失能\"")
        );
    }

    #[test]
    fn widening_is_recognised_only_by_adding_groups() {
        let city = Rule::parse(r#"ability in ["重度失能", "完全失能"]"#).unwrap();
        assert!(widens(
            &city,
            &Rule::parse(r#"ability in ["完全失能", "重度失能"]"#).unwrap()
        ));
        assert!(widens(
            &city,
            &Rule::parse(r#"ability in ["重度失能", "完全失能"] or age >= 90"#).unwrap()
        ));
        // Wider in fact, but not written as an addition: refused, so that a reviewer can tell.
        assert!(!widens(
            &city,
            &Rule::parse(r#"ability in ["中度失能", "重度失能", "完全失能"]"#).unwrap()
        ));
        assert!(!widens(&city, &Rule::parse("age >= 90").unwrap()));
    }
}
