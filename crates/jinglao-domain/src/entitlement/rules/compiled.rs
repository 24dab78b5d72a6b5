//! Rules compiled for sweeps. A sweep asks every older person of a region about every item of
//! its list (a million people × 30 items); the explaining evaluator of [`super::Rule`] builds
//! text for every clause, which is what a record page needs and far too slow for that. Here a
//! person's facts are packed into a few machine words ([`Packed`]) and a rule into a tree of
//! integer tests ([`Program`]) that answers yes or no only. The explanation is asked for
//! afterwards, for the rows a worklist shows. A property test holds both evaluators to the same
//! answers.
//!
//! [`Program::to_sql`] writes the same tests as a SQL expression over the packed columns, so
//! that the sweep benchmark can run the identical rules in DuckDB and compare the counts.

use chrono::{Datelike, NaiveDate};

use super::facts::{self, Facts};
use super::{Cmp, Expr, Literal, Operand, Rule};
use crate::assessment::AbilityLevel;
use crate::elder::LivingArrangement;
use crate::{RegionCode, Sex};

/// The value packed for a missing fact (`ability` without an assessment).
const NONE: i64 = -1;

/// Bits of [`Packed::flags`].
const HUKOU_LOCAL: u8 = 1;
const RESIDES_LOCALLY: u8 = 2;
const CHILDREN_LOCAL: u8 = 4;
const CHILDREN_CAN_CARE: u8 = 8;

/// One person's facts in 24 bytes: what a rule can test, already derived for the evaluation
/// date and the list's region (see [`Facts::of_person`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Packed {
    /// Residence code as a number (12 digits).
    pub region: u64,
    /// Birth date as days from 0001-01-01.
    pub birth: i32,
    /// The categories of the day, one bit each in the order of `categories`' allowed values.
    pub categories: u32,
    /// Whole years.
    pub age: i16,
    /// Ability level 0–4, or -1 without an assessment.
    pub ability: i8,
    /// Index of the living arrangement.
    pub living: u8,
    /// 0 male, 1 female.
    pub sex: u8,
    /// Local household registration, local residence, children local, children can care.
    pub flags: u8,
}

/// The bit of a category label in [`Packed::categories`], if it is one.
pub fn category_bit(label: &str) -> Option<u32> {
    crate::category::label_bit(label)
}

fn region_number(r: &RegionCode) -> u64 {
    r.as_str().parse().unwrap_or(0)
}

fn sex_index(s: Sex) -> u8 {
    u8::from(s != Sex::Male)
}

fn living_index(l: LivingArrangement) -> u8 {
    LivingArrangement::ALL
        .iter()
        .position(|x| *x == l)
        .unwrap_or(0) as u8
}

impl Packed {
    /// Packs derived facts.
    pub fn of_facts(f: &Facts) -> Packed {
        let mut flags = 0;
        for (on, bit) in [
            (f.hukou_local, HUKOU_LOCAL),
            (f.resides_locally, RESIDES_LOCALLY),
            (f.children_local, CHILDREN_LOCAL),
            (f.children_can_care, CHILDREN_CAN_CARE),
        ] {
            if on {
                flags |= bit;
            }
        }
        Packed {
            region: region_number(&f.region),
            birth: f.birth_date.num_days_from_ce(),
            categories: f
                .categories
                .iter()
                .filter_map(|c| category_bit(c))
                .fold(0, |a, b| a | b),
            age: f.age.clamp(i16::MIN.into(), i16::MAX.into()) as i16,
            ability: f.ability.map_or(-1, |a| a.number() as i8),
            living: living_index(f.living),
            sex: sex_index(f.sex),
            flags,
        }
    }
}

/// A fact as read from [`Packed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Age,
    Sex,
    HukouLocal,
    ResidesLocally,
    Categories,
    Ability,
    Living,
    ChildrenLocal,
    ChildrenCanCare,
    Region,
    BirthDate,
    Today,
}

impl Field {
    fn of(name: &str) -> Field {
        match name {
            "age" => Field::Age,
            "sex" => Field::Sex,
            "hukou_local" => Field::HukouLocal,
            "resides_locally" => Field::ResidesLocally,
            "categories" => Field::Categories,
            // `ability` (a label) and `ability_level` (a number) are the same level.
            "ability" | "ability_level" => Field::Ability,
            "living" => Field::Living,
            "children_local" => Field::ChildrenLocal,
            "children_can_care" => Field::ChildrenCanCare,
            "region" => Field::Region,
            "birth_date" => Field::BirthDate,
            _ => Field::Today,
        }
    }

    #[inline]
    fn read(self, p: &Packed, today: i64) -> i64 {
        match self {
            Field::Age => p.age.into(),
            Field::Sex => p.sex.into(),
            Field::HukouLocal => i64::from(p.flags & HUKOU_LOCAL != 0),
            Field::ResidesLocally => i64::from(p.flags & RESIDES_LOCALLY != 0),
            Field::Categories => p.categories.into(),
            Field::Ability => p.ability.into(),
            Field::Living => p.living.into(),
            Field::ChildrenLocal => i64::from(p.flags & CHILDREN_LOCAL != 0),
            Field::ChildrenCanCare => i64::from(p.flags & CHILDREN_CAN_CARE != 0),
            Field::Region => p.region as i64,
            Field::BirthDate => p.birth.into(),
            Field::Today => today,
        }
    }

    /// The column (or constant) in the benchmark's SQL table.
    fn sql(self, today: i64) -> String {
        match self {
            Field::Age => "age".into(),
            Field::Sex => "sex".into(),
            Field::HukouLocal => format!("(flags & {HUKOU_LOCAL} <> 0)::INT"),
            Field::ResidesLocally => format!("(flags & {RESIDES_LOCALLY} <> 0)::INT"),
            Field::Categories => "categories".into(),
            Field::Ability => "ability".into(),
            Field::Living => "living".into(),
            Field::ChildrenLocal => format!("(flags & {CHILDREN_LOCAL} <> 0)::INT"),
            Field::ChildrenCanCare => format!("(flags & {CHILDREN_CAN_CARE} <> 0)::INT"),
            Field::Region => "region".into(),
            Field::BirthDate => "birth".into(),
            Field::Today => today.to_string(),
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    Field(Field),
    Const(i64),
}

impl Src {
    #[inline]
    fn read(self, p: &Packed, today: i64) -> i64 {
        match self {
            Src::Field(f) => f.read(p, today),
            Src::Const(c) => c,
        }
    }

    fn sql(self, today: i64) -> String {
        match self {
            Src::Field(f) => f.sql(today),
            Src::Const(c) => c.to_string(),
        }
    }

    /// Whether this side may be missing (`ability` without an assessment).
    fn optional(self) -> bool {
        self == Src::Field(Field::Ability)
    }
}

/// A compiled rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// Equality or ordering of two integers; ordering never holds when a side is missing.
    Compare {
        left: Src,
        cmp: Cmp,
        right: Src,
    },
    /// A category bit is set.
    HasCategory(u32),
    /// A small-integer fact is one of a set (bit per value); a missing value is in none.
    InSet {
        field: Field,
        set: u64,
    },
    /// Residence code in [lo, hi].
    Within {
        lo: u64,
        hi: u64,
    },
    /// A yes/no fact.
    IsTrue(Field),
}

/// A rule compiled for one evaluation date: answers yes or no for a packed person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    node: Node,
    today: i64,
}

/// The integer a literal of a fact packs to.
fn encode(fact: &str, l: &Literal) -> i64 {
    match l {
        Literal::Number(n) => *n,
        Literal::Bool(b) => i64::from(*b),
        Literal::Date(d) => d.num_days_from_ce().into(),
        Literal::None => NONE,
        Literal::Text(t) => encode_text(fact, t),
    }
}

fn encode_text(fact: &str, t: &str) -> i64 {
    match fact {
        "ability" => AbilityLevel::parse(t).map_or(NONE, |a| a.number().into()),
        // Values were checked against the fact's list when the rule was parsed.
        _ => facts::allowed_texts(fact)
            .and_then(|v| v.iter().position(|x| *x == t))
            .map_or(NONE, |i| i as i64),
    }
}

fn src(op: &Operand, other: &Operand) -> Src {
    match op {
        Operand::Fact(f) => Src::Field(Field::of(f.name)),
        Operand::Literal(l) => {
            let fact = match other {
                Operand::Fact(f) => f.name,
                _ => "",
            };
            Src::Const(encode(fact, l))
        }
        Operand::List(..) => Src::Const(NONE),
    }
}

fn compile(e: &Expr) -> Node {
    match e {
        Expr::And(a, b) => Node::And(Box::new(compile(a)), Box::new(compile(b))),
        Expr::Or(a, b) => Node::Or(Box::new(compile(a)), Box::new(compile(b))),
        Expr::Not(a) => Node::Not(Box::new(compile(a))),
        Expr::Clause(c) => match (c.cmp, &c.left, &c.right) {
            (Cmp::IsTrue, Operand::Fact(f), _) => Node::IsTrue(Field::of(f.name)),
            (Cmp::Within, _, Operand::Literal(Literal::Text(code))) => {
                let (lo, hi) = RegionCode::parse(code).map_or((1, 0), |root| {
                    let prefix = root.prefix();
                    let width = 10u64.pow(12 - prefix.len() as u32);
                    let lo = prefix.parse::<u64>().unwrap_or(0) * width;
                    (lo, lo + width - 1)
                });
                Node::Within { lo, hi }
            }
            (cmp @ (Cmp::In | Cmp::NotIn), Operand::Literal(Literal::Text(t)), _) => {
                let has = Node::HasCategory(category_bit(t).unwrap_or(0));
                if cmp == Cmp::In {
                    has
                } else {
                    Node::Not(Box::new(has))
                }
            }
            (cmp @ (Cmp::In | Cmp::NotIn), Operand::Fact(f), Operand::List(items, _)) => {
                let set = items
                    .iter()
                    .map(|t| encode_text(f.name, t))
                    .filter(|v| (0..64).contains(v))
                    .fold(0u64, |s, v| s | (1 << v));
                let node = Node::InSet {
                    field: Field::of(f.name),
                    set,
                };
                if cmp == Cmp::In {
                    node
                } else {
                    Node::Not(Box::new(node))
                }
            }
            (cmp, l, r) => Node::Compare {
                left: src(l, r),
                cmp,
                right: src(r, l),
            },
        },
    }
}

#[inline]
fn holds(n: &Node, p: &Packed, today: i64) -> bool {
    match n {
        Node::And(a, b) => holds(a, p, today) && holds(b, p, today),
        Node::Or(a, b) => holds(a, p, today) || holds(b, p, today),
        Node::Not(a) => !holds(a, p, today),
        Node::HasCategory(bit) => p.categories & bit != 0,
        Node::InSet { field, set } => {
            let v = field.read(p, today);
            (0..64).contains(&v) && set & (1 << v) != 0
        }
        Node::Within { lo, hi } => (*lo..=*hi).contains(&p.region),
        Node::IsTrue(f) => f.read(p, today) != 0,
        Node::Compare { left, cmp, right } => {
            let (l, r) = (left.read(p, today), right.read(p, today));
            let missing = (left.optional() && l == NONE) || (right.optional() && r == NONE);
            match cmp {
                Cmp::Eq => l == r,
                Cmp::Ne => l != r,
                _ if missing => false,
                Cmp::Lt => l < r,
                Cmp::Le => l <= r,
                Cmp::Gt => l > r,
                Cmp::Ge => l >= r,
                _ => false,
            }
        }
    }
}

/// People evaluated together by [`Program::holds_block`].
pub const BLOCK: usize = 256;

/// Evaluates `n` for every person of `block` at once, one node at a time (tight loops over the
/// block instead of a tree walk per person); `out[i]` is 1 where it holds.
fn holds_block(n: &Node, block: &[Packed], today: i64, out: &mut [u8]) {
    let out = &mut out[..block.len()];
    match n {
        Node::And(a, b) | Node::Or(a, b) => {
            holds_block(a, block, today, out);
            let mut other = [0u8; BLOCK];
            holds_block(b, block, today, &mut other);
            if matches!(n, Node::And(..)) {
                out.iter_mut().zip(&other).for_each(|(o, x)| *o &= x);
            } else {
                out.iter_mut().zip(&other).for_each(|(o, x)| *o |= x);
            }
        }
        Node::Not(a) => {
            holds_block(a, block, today, out);
            out.iter_mut().for_each(|o| *o ^= 1);
        }
        Node::HasCategory(bit) => {
            for (o, p) in out.iter_mut().zip(block) {
                *o = u8::from(p.categories & bit != 0);
            }
        }
        Node::Within { lo, hi } => {
            for (o, p) in out.iter_mut().zip(block) {
                *o = u8::from(p.region >= *lo && p.region <= *hi);
            }
        }
        Node::Compare {
            left: Src::Field(Field::Age),
            cmp,
            right: Src::Const(k),
        } => {
            // The commonest clause (age >= 80) gets its own loop.
            for (o, p) in out.iter_mut().zip(block) {
                let a = i64::from(p.age);
                *o = u8::from(match cmp {
                    Cmp::Eq => a == *k,
                    Cmp::Ne => a != *k,
                    Cmp::Lt => a < *k,
                    Cmp::Le => a <= *k,
                    Cmp::Gt => a > *k,
                    _ => a >= *k,
                });
            }
        }
        _ => {
            for (o, p) in out.iter_mut().zip(block) {
                *o = u8::from(holds(n, p, today));
            }
        }
    }
}

fn sql(n: &Node, today: i64) -> String {
    match n {
        Node::And(a, b) => format!("({} AND {})", sql(a, today), sql(b, today)),
        Node::Or(a, b) => format!("({} OR {})", sql(a, today), sql(b, today)),
        Node::Not(a) => format!("(NOT {})", sql(a, today)),
        Node::HasCategory(bit) => format!("(categories & {bit} <> 0)"),
        Node::InSet { field, set } => {
            let values: Vec<String> = (0..64)
                .filter(|v| set & (1u64 << v) != 0)
                .map(|v| v.to_string())
                .collect();
            if values.is_empty() {
                "FALSE".into()
            } else {
                format!("({} IN ({}))", field.sql(today), values.join(", "))
            }
        }
        Node::Within { lo, hi } => format!("(region BETWEEN {lo} AND {hi})"),
        Node::IsTrue(f) => format!("({} <> 0)", f.sql(today)),
        Node::Compare { left, cmp, right } => {
            let sign = match cmp {
                Cmp::Eq => "=",
                Cmp::Ne => "<>",
                Cmp::Lt => "<",
                Cmp::Le => "<=",
                Cmp::Gt => ">",
                _ => ">=",
            };
            let base = format!("({} {sign} {})", left.sql(today), right.sql(today));
            let guards: Vec<String> = [left, right]
                .into_iter()
                .filter(|s| s.optional() && !matches!(cmp, Cmp::Eq | Cmp::Ne))
                .map(|s| format!("{} <> {NONE}", s.sql(today)))
                .collect();
            if guards.is_empty() {
                base
            } else {
                format!("({} AND {base})", guards.join(" AND "))
            }
        }
    }
}

impl Program {
    /// Compiles `rule` for evaluation on `today`.
    pub fn new(rule: &Rule, today: NaiveDate) -> Program {
        Program {
            node: compile(rule.expr()),
            today: today.num_days_from_ce().into(),
        }
    }

    /// Whether the packed person is in the target group.
    #[inline]
    pub fn holds(&self, p: &Packed) -> bool {
        holds(&self.node, p, self.today)
    }

    /// Evaluates up to [`BLOCK`] people at once: `out[i]` is 1 where person `i` is in the
    /// target group. Same answers as [`Program::holds`], several times faster over many people.
    pub fn holds_block(&self, people: &[Packed], out: &mut [u8]) {
        assert!(people.len() <= BLOCK && out.len() >= people.len());
        holds_block(&self.node, people, self.today, out);
    }

    /// The same test as a SQL boolean expression over columns named as [`Packed`]'s fields
    /// (`flags`, `categories` and `region` as integers; `ability` -1 when missing).
    pub fn to_sql(&self) -> String {
        sql(&self.node, self.today)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::service_list::xiangtan_demo_list;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    prop_compose! {
        fn any_facts()(
            age in 55i64..105,
            female in any::<bool>(),
            flags in 0u8..16,
            cats in proptest::collection::vec(0usize..12, 0..4),
            ability in -1i8..5,
            living in 0usize..5,
            village in 0u64..4,
        ) -> Facts {
            let labels = facts::allowed_texts("categories").unwrap();
            let categories: Vec<String> = labels
                .iter()
                .enumerate()
                .filter(|(i, _)| cats.contains(i))
                .map(|(_, l)| l.to_string())
                .collect();
            let codes = ["430302001001", "430302002003", "430304100200", "430381001001"];
            Facts {
                age,
                sex: if female { Sex::Female } else { Sex::Male },
                hukou_local: flags & 1 != 0,
                resides_locally: flags & 2 != 0,
                categories,
                ability: AbilityLevel::from_number(ability.max(0) as u8).filter(|_| ability >= 0),
                living: LivingArrangement::ALL[living],
                children_local: flags & 4 != 0,
                children_can_care: flags & 8 != 0,
                region: RegionCode::parse(codes[village as usize]).unwrap(),
                birth_date: d(2026 - age as i32, 6, 1),
                today: d(2026, 11, 23),
            }
        }
    }

    /// Clauses of every shape the parser accepts.
    const CLAUSES: &[&str] = &[
        "age >= 80",
        "age < 65",
        "70 <= age",
        "age = 90",
        "age != 60",
        "sex = \"女\"",
        "hukou_local",
        "not resides_locally",
        "children_local",
        "children_can_care",
        "\"低保\" in categories",
        "\"失能\" not in categories",
        "\"高龄\" in categories",
        "ability in [\"重度失能\", \"完全失能\"]",
        "ability not in [\"能力完好\"]",
        "ability = none",
        "ability != none",
        "ability = \"中度失能\"",
        "ability_level >= 3",
        "ability_level < 2",
        "2 > ability_level",
        "living = \"独居\"",
        "living in [\"独居\", \"仅与配偶\"]",
        "region within \"430302\"",
        "region within \"430302001\"",
        "region within \"430304100200\"",
        "birth_date < 1946-01-01",
        "today >= 2026-01-01",
        "birth_date <= today",
    ];

    fn any_rule() -> impl Strategy<Value = String> {
        let leaf = proptest::sample::select(CLAUSES).prop_map(String::from);
        leaf.prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
                inner.prop_map(|a| format!("not ({a})")),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_compiled_rule_answers_as_the_explaining_one(rule in any_rule(), f in any_facts()) {
            let rule = Rule::parse(&rule).unwrap();
            let program = Program::new(&rule, f.today);
            prop_assert_eq!(program.holds(&Packed::of_facts(&f)), rule.evaluate(&f).eligible);
        }

        #[test]
        fn a_block_answers_as_each_person_alone(rule in any_rule(), people in proptest::collection::vec(any_facts(), 1..40)) {
            let rule = Rule::parse(&rule).unwrap();
            let program = Program::new(&rule, people[0].today);
            let packed: Vec<Packed> = people.iter().map(Packed::of_facts).collect();
            let mut out = [0u8; BLOCK];
            program.holds_block(&packed, &mut out);
            let one: Vec<u8> = packed.iter().map(|p| u8::from(program.holds(p))).collect();
            prop_assert_eq!(&out[..packed.len()], &one[..]);
        }
    }

    #[test]
    fn every_demo_rule_compiles_to_the_same_answers_for_a_dibao_holder_with_a_moderate_level() {
        let f = Facts {
            age: 82,
            sex: Sex::Female,
            hukou_local: true,
            resides_locally: true,
            categories: vec!["低保".into(), "高龄".into(), "半失能".into()],
            ability: Some(AbilityLevel::Moderate),
            living: LivingArrangement::Alone,
            children_local: false,
            children_can_care: false,
            region: RegionCode::parse("430302001001").unwrap(),
            birth_date: d(1944, 3, 12),
            today: d(2026, 11, 23),
        };
        let answers: Vec<bool> = xiangtan_demo_list(d(2024, 1, 1))
            .iter()
            .map(|i| Program::new(&i.target, f.today).holds(&Packed::of_facts(&f)))
            .collect();
        // Purchase (80+ 低保 with no local child), a family bed (居家, 高龄), no adaptation,
        // meal help (高龄), visits (独居, 高龄), priority admission (低保).
        assert_eq!(answers, [true, true, false, true, true, true]);
    }

    #[test]
    fn the_sql_form_names_only_packed_columns_and_guards_a_missing_level() {
        let rule =
            Rule::parse("ability_level < 2 and \"低保\" in categories and region within \"4303\"")
                .unwrap();
        let sql = Program::new(&rule, d(2026, 11, 23)).to_sql();
        assert_eq!(
            sql,
            "(((ability <> -1 AND (ability < 2)) AND (categories & 4 <> 0)) AND (region BETWEEN 430300000000 AND 430399999999))"
        );
    }
}
