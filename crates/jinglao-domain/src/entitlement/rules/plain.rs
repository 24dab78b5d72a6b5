//! Rules said in plain Chinese, generated from the rule's structure (never from its text), for
//! older people and their families on the public pages and for staff beside the detail.
//!
//! A rule is first brought to negation normal form ([`Nnf`]: every `not` pushed down onto a
//! clause, nested `and`s and `or`s flattened), so that `not (children_local and
//! children_can_care)` reads 「子女不在本地或子女无力照料」. Each clause then reads as a short
//! predicate about the older person (「年满 80 周岁」「是低保对象」「住在雨湖区」).
//!
//! For one person, [`Rule::plain_answer`] says what they meet when the answer is yes, and when
//! it is no either the one thing that would be enough (「还差一项：年满 80 周岁（现在 75 岁）」),
//! the few single things any of which would be (「满足下面任意一项即可：…」), or what the
//! failed parts need (「需满足其一：特困人员；低保且失能；……」).

use super::facts::{Facts, Type, Value};
use super::{Clause, Cmp, Expr, Literal, Operand, Rule};
use crate::assessment::AbilityLevel;

/// Region names, which the domain does not hold: the web layer passes its region tree.
pub trait RegionNames {
    /// The name of the region with this code, if known.
    fn region_name(&self, code: &str) -> Option<String>;
}

/// For callers without a region tree: regions read as their codes.
pub struct CodesOnly;

impl RegionNames for CodesOnly {
    fn region_name(&self, _code: &str) -> Option<String> {
        None
    }
}

impl<F: Fn(&str) -> Option<String>> RegionNames for F {
    fn region_name(&self, code: &str) -> Option<String> {
        self(code)
    }
}

/// The most single fixes listed in one answer; more are summed up as 「等」.
const MAX_FIXES: usize = 4;

/// A rule in negation normal form, each clause with its position among the rule's clauses
/// (the order [`Rule::evaluate`] reports them in) and whether it is wanted true or false.
#[derive(Debug, Clone)]
enum Nnf<'a> {
    Lit {
        clause: &'a Clause,
        index: usize,
        wanted: bool,
    },
    All(Vec<Nnf<'a>>),
    Any(Vec<Nnf<'a>>),
}

fn nnf<'a>(e: &'a Expr, positive: bool, next: &mut usize) -> Nnf<'a> {
    match e {
        Expr::Clause(c) => {
            let index = *next;
            *next += 1;
            Nnf::Lit {
                clause: c,
                index,
                wanted: positive,
            }
        }
        Expr::Not(inner) => nnf(inner, !positive, next),
        Expr::And(a, b) | Expr::Or(a, b) => {
            let conj = matches!(e, Expr::And(..)) == positive;
            let parts = [nnf(a, positive, next), nnf(b, positive, next)];
            let mut flat = Vec::new();
            for p in parts {
                match (p, conj) {
                    (Nnf::All(v), true) | (Nnf::Any(v), false) => flat.extend(v),
                    (p, _) => flat.push(p),
                }
            }
            if conj { Nnf::All(flat) } else { Nnf::Any(flat) }
        }
    }
}

impl Nnf<'_> {
    /// Whether it holds, given each clause's truth.
    fn holds(&self, truth: &dyn Fn(usize) -> bool) -> bool {
        match self {
            Nnf::Lit { index, wanted, .. } => truth(*index) == *wanted,
            Nnf::All(v) => v.iter().all(|p| p.holds(truth)),
            Nnf::Any(v) => v.iter().any(|p| p.holds(truth)),
        }
    }

    fn lits<'s>(&'s self, out: &mut Vec<&'s Nnf<'s>>) {
        match self {
            Nnf::Lit { .. } => out.push(self),
            Nnf::All(v) | Nnf::Any(v) => v.iter().for_each(|p| p.lits(out)),
        }
    }
}

/// The answer for one person, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainAnswer {
    /// Whether the person is in the target group.
    pub eligible: bool,
    /// One or two sentences: 「符合条件：年满 80 周岁，是低保对象。」 or 「还差一项：……」.
    pub sentence: String,
}

impl Rule {
    /// The target group in plain Chinese, e.g. 「本地户籍，在本地居住，并且满足以下其一：……」.
    pub fn describe(&self, names: &dyn RegionNames) -> String {
        let tree = nnf(self.expr(), true, &mut 0);
        let w = Words { names, facts: None };
        match &tree {
            Nnf::Any(alts) => format!("满足以下其一：{}", w.alternatives(alts)),
            Nnf::All(parts) => w.conjunction(parts),
            lit => w.inline(lit),
        }
    }

    /// Whether `facts` meet the rule, said in plain words (see the module's documentation).
    pub fn plain_answer(&self, facts: &Facts, names: &dyn RegionNames) -> PlainAnswer {
        let outcome = self.evaluate(facts);
        let truth = |i: usize| outcome.clauses[i].held;
        let tree = nnf(self.expr(), true, &mut 0);
        let w = Words {
            names,
            facts: Some(facts),
        };
        if outcome.eligible {
            let mut met = Vec::new();
            w.reasons(&tree, &truth, &mut met);
            dedup(&mut met);
            return PlainAnswer {
                eligible: true,
                sentence: format!("符合条件：{}。", met.join("，")),
            };
        }
        // The single clauses whose change alone would turn the answer to yes.
        let mut lits = Vec::new();
        tree.lits(&mut lits);
        let mut fixes = Vec::new();
        for lit in lits {
            let Nnf::Lit { index, .. } = lit else {
                continue;
            };
            let flipped = |i: usize| if i == *index { !truth(i) } else { truth(i) };
            if tree.holds(&flipped) {
                fixes.push(w.needed(lit));
            }
        }
        dedup(&mut fixes);
        let sentence = match fixes.len() {
            0 => format!("暂不符合。{}。", w.needs(&tree, &truth)),
            1 => format!("暂不符合。还差一项：{}。", fixes[0]),
            n => {
                let shown = fixes[..n.min(MAX_FIXES)].join("；");
                let more = if n > MAX_FIXES { "等" } else { "" };
                format!("暂不符合。满足下面任意一项即可：{shown}{more}。")
            }
        };
        PlainAnswer {
            eligible: false,
            sentence,
        }
    }
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
}

struct Words<'a> {
    names: &'a dyn RegionNames,
    /// The person, when the words are about one (to say what they have now).
    facts: Option<&'a Facts>,
}

impl Words<'_> {
    /// A conjunction at the top: simple parts first, then any alternatives.
    fn conjunction(&self, parts: &[Nnf<'_>]) -> String {
        let simple: Vec<String> = parts
            .iter()
            .filter(|p| !matches!(p, Nnf::Any(_)))
            .map(|p| self.inline(p))
            .collect();
        let anys: Vec<&[Nnf<'_>]> = parts
            .iter()
            .filter_map(|p| match p {
                Nnf::Any(v) => Some(v.as_slice()),
                _ => None,
            })
            .collect();
        match (simple.is_empty(), anys.as_slice()) {
            (_, []) => simple.join("，"),
            (true, [one]) => format!("满足以下其一：{}", self.alternatives(one)),
            (false, [one]) => format!(
                "{}，并且满足以下其一：{}",
                simple.join("，"),
                self.alternatives(one)
            ),
            (_, many) => {
                let mut all = simple;
                all.extend(many.iter().map(|v| self.either(v)));
                all.join("，并且")
            }
        }
    }

    /// Alternatives listed one after another: 「A；B；C」.
    fn alternatives(&self, alts: &[Nnf<'_>]) -> String {
        alts.iter()
            .map(|a| self.inline(a))
            .collect::<Vec<_>>()
            .join("；")
    }

    /// Alternatives inside a sentence: 「子女不在本地或子女无力照料」.
    fn either(&self, alts: &[Nnf<'_>]) -> String {
        alts.iter()
            .map(|a| match a {
                Nnf::All(_) => format!("（{}）", self.inline(a)),
                _ => self.inline(a),
            })
            .collect::<Vec<_>>()
            .join("或")
    }

    /// Any part on one line.
    fn inline(&self, n: &Nnf<'_>) -> String {
        match n {
            Nnf::Lit { clause, wanted, .. } => self.phrase(clause, *wanted),
            Nnf::All(parts) => parts
                .iter()
                .map(|p| match p {
                    Nnf::Any(v) => self.either(v),
                    _ => self.inline(p),
                })
                .collect::<Vec<_>>()
                .join("、"),
            Nnf::Any(alts) => self.either(alts),
        }
    }

    /// What the person meets, for a part that holds.
    fn reasons(&self, n: &Nnf<'_>, truth: &dyn Fn(usize) -> bool, out: &mut Vec<String>) {
        match n {
            Nnf::Lit { clause, wanted, .. } => out.push(self.phrase(clause, *wanted)),
            Nnf::All(parts) => parts.iter().for_each(|p| self.reasons(p, truth, out)),
            Nnf::Any(alts) => {
                if let Some(p) = alts.iter().find(|p| p.holds(truth)) {
                    self.reasons(p, truth, out);
                }
            }
        }
    }

    /// What a failed part needs.
    fn needs(&self, n: &Nnf<'_>, truth: &dyn Fn(usize) -> bool) -> String {
        match n {
            Nnf::Lit { .. } => format!("需要：{}", self.needed(n)),
            Nnf::Any(alts) => format!("需满足其一：{}", self.alternatives(alts)),
            Nnf::All(parts) => parts
                .iter()
                .filter(|p| !p.holds(truth))
                .map(|p| self.needs(p, truth))
                .collect::<Vec<_>>()
                .join("；并且"),
        }
    }

    /// A clause as it is needed, with what the person has now where that helps.
    fn needed(&self, lit: &Nnf<'_>) -> String {
        let Nnf::Lit { clause, wanted, .. } = lit else {
            return self.inline(lit);
        };
        let phrase = self.phrase(clause, *wanted);
        match self.now(clause) {
            Some(now) => format!("{phrase}（现在{now}）"),
            None => phrase,
        }
    }

    /// What the person has now for a clause's fact, when it is a number, a text or a date
    /// (for yes/no facts and categories the needed phrase says it all).
    fn now(&self, c: &Clause) -> Option<String> {
        let facts = self.facts?;
        let Operand::Fact(f) = (match (&c.left, &c.right) {
            (Operand::Fact(_), _) => &c.left,
            (_, r) => r,
        }) else {
            return None;
        };
        match (f.name, facts.get(f.name)) {
            ("age", Value::Number(n)) => Some(format!(" {n} 岁")),
            (_, Value::None) => Some("还没有能力评估".into()),
            ("ability_level", Value::Number(n)) => {
                AbilityLevel::from_number(n as u8).map(|l| format!("是{}", l.label()))
            }
            (_, Value::Text(t)) => Some(format!("是{t}")),
            (_, Value::Number(n)) => Some(format!("是 {n}")),
            (_, Value::Date(d)) => Some(format!("是{}", date(&d))),
            _ => None,
        }
    }

    /// One clause as a predicate about the older person; `wanted` false says its negation.
    fn phrase(&self, c: &Clause, wanted: bool) -> String {
        // Literal on the left (80 <= age) reads as the fact on the left.
        let (left, cmp, right) = match (&c.left, &c.right) {
            (Operand::Literal(_), Operand::Fact(_)) if !matches!(c.cmp, Cmp::In | Cmp::NotIn) => {
                (&c.right, mirror(c.cmp), &c.left)
            }
            _ => (&c.left, c.cmp, &c.right),
        };
        // `not in` and `!=` are the negations of `in` and `=`.
        let (cmp, wanted) = match cmp {
            Cmp::NotIn => (Cmp::In, !wanted),
            Cmp::Ne => (Cmp::Eq, !wanted),
            other => (other, wanted),
        };
        let yes_no = |y: String, n: String| if wanted { y } else { n };
        match (left, cmp, right) {
            (Operand::Fact(f), Cmp::IsTrue, _)
            | (Operand::Fact(f), Cmp::Eq, Operand::Literal(Literal::Bool(true))) => {
                bool_phrase(f.name, f.label, wanted)
            }
            (Operand::Fact(f), Cmp::Eq, Operand::Literal(Literal::Bool(false))) => {
                bool_phrase(f.name, f.label, !wanted)
            }
            (Operand::Literal(Literal::Text(t)), Cmp::In, Operand::Fact(_)) => {
                category_phrase(t, wanted)
            }
            (Operand::Fact(f), Cmp::In, Operand::List(items, _)) => yes_no(
                format!("{}为{}", f.label, items.join("或")),
                format!("{}不是{}", f.label, items.join("、")),
            ),
            (Operand::Fact(_), Cmp::Within, Operand::Literal(Literal::Text(code))) => {
                let name = self
                    .names
                    .region_name(code)
                    .unwrap_or_else(|| format!("区划 {code}"));
                yes_no(format!("住在{name}"), format!("不住在{name}"))
            }
            (Operand::Fact(f), Cmp::Eq, Operand::Literal(Literal::None)) => {
                let _ = f;
                yes_no("还没有能力评估".into(), "做过能力评估".into())
            }
            (Operand::Fact(f), Cmp::Eq, Operand::Literal(Literal::Text(t))) => match f.name {
                "sex" => yes_no(format!("{t}性"), format!("不是{t}性")),
                "living" if t == "独居" => yes_no("独居".into(), "不是独居".into()),
                "living" if t == "机构" => yes_no("住在养老机构".into(), "不住在养老机构".into()),
                _ => yes_no(format!("{}为{t}", f.label), format!("{}不是{t}", f.label)),
            },
            (Operand::Fact(f), cmp, Operand::Literal(Literal::Number(n))) if f.name == "age" => {
                age_phrase(cmp, *n, wanted)
            }
            (Operand::Fact(f), cmp, Operand::Literal(Literal::Number(n)))
                if f.name == "ability_level" =>
            {
                level_phrase(cmp, *n, wanted)
            }
            (Operand::Fact(f), cmp, Operand::Literal(l)) => {
                let v = match l {
                    Literal::Number(n) => n.to_string(),
                    Literal::Date(d) => date(d),
                    Literal::Text(t) => t.clone(),
                    Literal::Bool(b) => if *b { "是" } else { "否" }.into(),
                    Literal::None => "未评估".into(),
                };
                order_phrase(f.label, f.ty, cmp, &v, wanted)
            }
            (Operand::Fact(a), cmp, Operand::Fact(b)) => {
                order_phrase(a.label, a.ty, cmp, b.label, wanted)
            }
            // Type-checking leaves no other shape; say it plainly rather than fail.
            _ => {
                let sign = if wanted { "" } else { "不" };
                format!("{sign}满足条件")
            }
        }
    }
}

/// The same comparison with its sides swapped.
fn mirror(cmp: Cmp) -> Cmp {
    match cmp {
        Cmp::Lt => Cmp::Gt,
        Cmp::Le => Cmp::Ge,
        Cmp::Gt => Cmp::Lt,
        Cmp::Ge => Cmp::Le,
        other => other,
    }
}

/// The negation of an ordering, so that "not older than" reads as "no older than".
fn negate(cmp: Cmp) -> Cmp {
    match cmp {
        Cmp::Lt => Cmp::Ge,
        Cmp::Le => Cmp::Gt,
        Cmp::Gt => Cmp::Le,
        Cmp::Ge => Cmp::Lt,
        Cmp::Eq => Cmp::Ne,
        Cmp::Ne => Cmp::Eq,
        other => other,
    }
}

fn age_phrase(cmp: Cmp, n: i64, wanted: bool) -> String {
    match if wanted { cmp } else { negate(cmp) } {
        Cmp::Ge => format!("年满 {n} 周岁"),
        Cmp::Gt => format!("年满 {} 周岁", n + 1),
        Cmp::Lt => format!("不满 {n} 周岁"),
        Cmp::Le => format!("不满 {} 周岁", n + 1),
        Cmp::Eq => format!("年龄为 {n} 岁"),
        _ => format!("年龄不是 {n} 岁"),
    }
}

fn level_phrase(cmp: Cmp, n: i64, wanted: bool) -> String {
    let label = |n: i64| {
        u8::try_from(n)
            .ok()
            .and_then(AbilityLevel::from_number)
            .map_or_else(|| format!("第 {n} 级"), |l| l.label().to_string())
    };
    match if wanted { cmp } else { negate(cmp) } {
        Cmp::Ge => format!("能力等级为{}或更重", label(n)),
        Cmp::Gt => format!("能力等级为{}或更重", label(n + 1)),
        Cmp::Le => format!("能力等级为{}或更轻", label(n)),
        Cmp::Lt => format!("能力等级为{}或更轻", label(n - 1)),
        Cmp::Eq => format!("能力等级为{}", label(n)),
        _ => format!("能力等级不是{}", label(n)),
    }
}

fn order_phrase(label: &str, ty: Type, cmp: Cmp, v: &str, wanted: bool) -> String {
    let dates = ty == Type::Date;
    let word = match if wanted { cmp } else { negate(cmp) } {
        Cmp::Ge if dates => "不早于",
        Cmp::Gt if dates => "晚于",
        Cmp::Le if dates => "不晚于",
        Cmp::Lt if dates => "早于",
        Cmp::Ge => "不少于",
        Cmp::Gt => "多于",
        Cmp::Le => "不超过",
        Cmp::Lt => "少于",
        Cmp::Eq => "为",
        _ => "不是",
    };
    format!("{label}{word}{v}")
}

fn date(d: &chrono::NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

/// A yes/no fact as a predicate.
fn bool_phrase(name: &str, label: &str, wanted: bool) -> String {
    let (yes, no) = match name {
        "hukou_local" => ("本地户籍", "不是本地户籍"),
        "resides_locally" => ("在本地居住", "不在本地居住"),
        "children_local" => ("有子女在本地", "子女不在本地"),
        "children_can_care" => ("子女能够照料", "子女无力照料"),
        _ => return format!("{label}：{}", if wanted { "是" } else { "否" }),
    };
    (if wanted { yes } else { no }).to_string()
}

/// A recorded (or derived) category as a predicate: 「是低保对象」.
fn category_phrase(label: &str, wanted: bool) -> String {
    let noun = match label {
        "城市特困" => "城市特困人员",
        "农村特困" => "农村特困人员",
        "分散供养特困" => "分散供养特困人员",
        "低保" => "低保对象",
        "低保边缘" => "低保边缘家庭成员",
        "计生特殊家庭" => "计划生育特殊家庭成员",
        "失独" => "失独老人",
        "残疾" => "残疾人",
        "重度残疾" => "重度残疾人",
        "优抚对象" => "优抚对象",
        "获得国家荣誉" => {
            return if wanted {
                "获得过国家荣誉"
            } else {
                "没有获得过国家荣誉"
            }
            .into();
        }
        "空巢" => "空巢老人",
        "留守" => "留守老人",
        "高龄" => "高龄老人",
        "失能" => "失能老人",
        "半失能" => "半失能老人",
        "失智" => "失智老人",
        other => return format!("{}“{other}”类别", if wanted { "属于" } else { "不属于" }),
    };
    format!("{}{noun}", if wanted { "是" } else { "不是" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elder::LivingArrangement;
    use crate::rules::facts::Facts;
    use crate::{RegionCode, Sex};
    use chrono::NaiveDate;

    fn facts(age: i64, cats: &[&str]) -> Facts {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        Facts {
            age,
            sex: Sex::Female,
            hukou_local: true,
            resides_locally: true,
            categories: cats.iter().map(|c| c.to_string()).collect(),
            ability: None,
            living: LivingArrangement::Alone,
            children_local: true,
            children_can_care: true,
            region: RegionCode::parse("430302001001").unwrap(),
            birth_date: d,
            today: d,
        }
    }

    fn rule(s: &str) -> Rule {
        Rule::parse(s).unwrap()
    }

    const HOME_CARE: &str = "hukou_local and resides_locally and (\
        (age >= 60 and \"分散供养特困\" in categories) \
        or (age >= 60 and \"低保\" in categories and \"失能\" in categories) \
        or (age >= 80 and \"低保\" in categories and (not children_local or not children_can_care)))";

    #[test]
    fn a_rule_reads_as_a_sentence_about_the_person_not_as_its_code() {
        assert_eq!(
            rule(HOME_CARE).describe(&CodesOnly),
            "本地户籍，在本地居住，并且满足以下其一：年满 60 周岁、是分散供养特困人员；\
             年满 60 周岁、是低保对象、是失能老人；\
             年满 80 周岁、是低保对象、子女不在本地或子女无力照料"
        );
        assert_eq!(
            rule("ability in [\"重度失能\", \"完全失能\"] and living != \"机构\"")
                .describe(&CodesOnly),
            "能力等级为重度失能或完全失能，不住在养老机构"
        );
        assert_eq!(
            rule("not (\"低保\" in categories or age < 70)").describe(&CodesOnly),
            "不是低保对象，年满 70 周岁"
        );
    }

    #[test]
    fn a_region_is_named_by_the_callers_tree() {
        let names = |code: &str| (code == "430302").then(|| "雨湖区".to_string());
        assert_eq!(
            rule("region within \"430302\"").describe(&names),
            "住在雨湖区"
        );
    }

    #[test]
    fn a_yes_says_what_was_met_on_the_branch_that_held() {
        let a = rule(HOME_CARE).plain_answer(&facts(66, &["低保", "失能"]), &CodesOnly);
        assert!(a.eligible);
        assert_eq!(
            a.sentence,
            "符合条件：本地户籍，在本地居住，年满 60 周岁，是低保对象，是失能老人。"
        );
    }

    #[test]
    fn a_no_that_one_thing_would_change_names_that_thing_and_what_there_is_now() {
        let a = rule("age >= 80 and \"低保\" in categories")
            .plain_answer(&facts(75, &["低保"]), &CodesOnly);
        assert!(!a.eligible);
        assert_eq!(
            a.sentence,
            "暂不符合。还差一项：年满 80 周岁（现在 75 岁）。"
        );
    }

    #[test]
    fn a_no_that_several_single_things_would_change_lists_them_as_choices() {
        let a = rule("\"高龄\" in categories or \"失能\" in categories")
            .plain_answer(&facts(70, &[]), &CodesOnly);
        assert_eq!(
            a.sentence,
            "暂不符合。满足下面任意一项即可：是高龄老人；是失能老人。"
        );
    }

    #[test]
    fn a_failed_or_that_no_single_thing_fixes_says_what_would_have_been_needed() {
        let a = rule(HOME_CARE).plain_answer(&facts(55, &[]), &CodesOnly);
        assert_eq!(
            a.sentence,
            "暂不符合。需满足其一：年满 60 周岁、是分散供养特困人员；\
             年满 60 周岁、是低保对象、是失能老人；\
             年满 80 周岁、是低保对象、子女不在本地或子女无力照料。"
        );
    }

    #[test]
    fn negated_and_mirrored_comparisons_read_the_right_way_round() {
        assert_eq!(rule("80 <= age").describe(&CodesOnly), "年满 80 周岁");
        assert_eq!(rule("not age > 79").describe(&CodesOnly), "不满 80 周岁");
        assert_eq!(
            rule("ability_level >= 2").describe(&CodesOnly),
            "能力等级为中度失能或更重"
        );
        assert_eq!(
            rule("ability = none").describe(&CodesOnly),
            "还没有能力评估"
        );
        assert_eq!(
            rule("\"低保\" not in categories").describe(&CodesOnly),
            "不是低保对象"
        );
        assert_eq!(rule("sex = \"女\"").describe(&CodesOnly), "女性");
    }

    #[test]
    fn every_demo_rule_reads_without_codes_or_operators() {
        let list =
            crate::service_list::xiangtan_demo_list(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        for item in &list {
            let s = item.target.describe(&CodesOnly);
            for code in [">=", "<=", " in ", "and", " or ", "categories", "\""] {
                assert!(!s.contains(code), "{}: {s}", item.code);
            }
        }
    }
}
