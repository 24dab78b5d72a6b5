//! The facts a rule may test: stable names, their types, what they mean, and the words staff
//! see in explanations. docs/RULES.md lists the same table.

use chrono::NaiveDate;

use crate::assessment::AbilityLevel;
use crate::category::{CategoryRecord, LABELS, categories_on};
use crate::elder::{ElderInput, ElderRecord, LivingArrangement};
use crate::id_number::age_on;
use crate::{RegionCode, Sex};

/// The type of a fact or a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Whole number.
    Number,
    /// Text (one of a fact's allowed values, where it has a list).
    Text,
    /// Yes or no.
    Bool,
    /// A date.
    Date,
    /// A list of texts (`categories`).
    TextList,
    /// A region code (tested with `within`).
    Region,
}

impl Type {
    /// The type's name in messages.
    pub fn label(self) -> &'static str {
        match self {
            Type::Number => "数字",
            Type::Text => "文字",
            Type::Bool => "是/否",
            Type::Date => "日期",
            Type::TextList => "文字列表",
            Type::Region => "行政区划",
        }
    }
}

/// One fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactSpec {
    /// Name in rules.
    pub name: &'static str,
    /// Name in explanations.
    pub label: &'static str,
    /// Type.
    pub ty: Type,
    /// Whether the fact may be missing (`none`): no effective assessment yet.
    pub optional: bool,
    /// What it means.
    pub doc: &'static str,
}

const fn fact(
    name: &'static str,
    label: &'static str,
    ty: Type,
    optional: bool,
    doc: &'static str,
) -> FactSpec {
    FactSpec {
        name,
        label,
        ty,
        optional,
        doc,
    }
}

/// Every fact, in the order docs/RULES.md lists them.
pub const FACTS: &[FactSpec] = &[
    fact(
        "age",
        "年龄",
        Type::Number,
        false,
        "whole years on the evaluation date",
    ),
    fact("sex", "性别", Type::Text, false, "\"男\" or \"女\""),
    fact(
        "hukou_local",
        "本地户籍",
        Type::Bool,
        false,
        "household registration within the list's region",
    ),
    fact(
        "resides_locally",
        "本地居住",
        Type::Bool,
        false,
        "residence within the list's region",
    ),
    fact(
        "categories",
        "特殊类别",
        Type::TextList,
        false,
        "recorded categories active on the date, the labels their details add (分散供养特困, 失独, 重度残疾), plus 高龄/失能/半失能/失智",
    ),
    fact(
        "ability",
        "能力等级",
        Type::Text,
        true,
        "final level of the latest effective GB/T 42195 assessment, as its label",
    ),
    fact(
        "ability_level",
        "能力等级",
        Type::Number,
        true,
        "the same level as a number, 0 (能力完好) to 4 (完全失能)",
    ),
    fact(
        "living",
        "居住情况",
        Type::Text,
        false,
        "living arrangement: 独居, 仅与配偶, 与子女, 与其他亲属, 机构",
    ),
    fact(
        "children_local",
        "子女在本地",
        Type::Bool,
        false,
        "a child lives locally",
    ),
    fact(
        "children_can_care",
        "子女能照料",
        Type::Bool,
        false,
        "a child is able to care",
    ),
    fact(
        "region",
        "居住地",
        Type::Region,
        false,
        "residence village/community code; test with within \"430302\"",
    ),
    fact(
        "birth_date",
        "出生日期",
        Type::Date,
        false,
        "from the ID number",
    ),
    fact(
        "today",
        "评估日期",
        Type::Date,
        false,
        "the evaluation date",
    ),
];

/// The fact called `name`.
pub fn lookup(name: &str) -> Option<&'static FactSpec> {
    FACTS.iter().find(|f| f.name == name)
}

/// The texts a text-valued fact (or an item of `categories`) may take, when it has a list.
pub fn allowed_texts(fact: &str) -> Option<Vec<&'static str>> {
    match fact {
        "sex" => Some(vec![Sex::Male.label(), Sex::Female.label()]),
        "ability" => Some(AbilityLevel::ALL.iter().map(|a| a.label()).collect()),
        "living" => Some(LivingArrangement::ALL.iter().map(|l| l.label()).collect()),
        "categories" => Some(LABELS.to_vec()),
        _ => None,
    }
}

/// What the registry holds about a person that rules may use, from a stored record or from
/// validated input.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Household registration.
    pub hukou_region: RegionCode,
    /// Residence.
    pub residence_region: RegionCode,
    /// Living arrangement.
    pub living: LivingArrangement,
    /// A child lives locally.
    pub children_local: bool,
    /// A child can care.
    pub children_can_care: bool,
    /// Recorded categories with their periods.
    pub categories: &'a [CategoryRecord],
    /// Latest effective level.
    pub ability: Option<AbilityLevel>,
    /// A dementia diagnosis in the latest effective assessment.
    pub dementia: bool,
}

impl<'a> Person<'a> {
    /// From a stored record.
    pub fn of_record(r: &'a ElderRecord) -> Self {
        Person {
            birth_date: r.birth_date,
            sex: r.sex,
            hukou_region: r.hukou_region,
            residence_region: r.residence_region,
            living: r.living,
            children_local: r.children_local,
            children_can_care: r.children_can_care,
            categories: &r.categories,
            ability: r.ability,
            dementia: r.dementia,
        }
    }

    /// From validated input, its categories, its level and whether it has a dementia diagnosis.
    pub fn of_input(
        i: &ElderInput,
        categories: &'a [CategoryRecord],
        ability: Option<AbilityLevel>,
        dementia: bool,
    ) -> Self {
        Person {
            birth_date: i.birth_date(),
            sex: i.sex(),
            hukou_region: i.hukou_region,
            residence_region: i.residence_region,
            living: i.living,
            children_local: i.children_local,
            children_can_care: i.children_can_care,
            categories,
            ability,
            dementia,
        }
    }
}

/// What is known about one older person on the evaluation date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Whole years.
    pub age: i64,
    /// Sex.
    pub sex: Sex,
    /// Household registration within the list's region.
    pub hukou_local: bool,
    /// Residence within the list's region.
    pub resides_locally: bool,
    /// Category labels active on the date, derived ones included.
    pub categories: Vec<String>,
    /// Latest effective level.
    pub ability: Option<AbilityLevel>,
    /// Living arrangement.
    pub living: LivingArrangement,
    /// A child lives locally.
    pub children_local: bool,
    /// A child can care.
    pub children_can_care: bool,
    /// Residence.
    pub region: RegionCode,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Evaluation date.
    pub today: NaiveDate,
}

/// A value during evaluation, borrowed from the facts or the rule (evaluating a rule copies
/// nothing: a sweep evaluates every person against every item).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Number.
    Number(i64),
    /// Text.
    Text(&'a str),
    /// Yes/no.
    Bool(bool),
    /// Date.
    Date(NaiveDate),
    /// List of texts.
    TextList(&'a [String]),
    /// Region code.
    Region(RegionCode),
    /// Missing (no assessment).
    None,
}

impl Value<'_> {
    /// How the value is shown in an explanation.
    pub fn show(&self) -> String {
        match self {
            Value::Number(n) => n.to_string(),
            Value::Text(t) => t.to_string(),
            Value::Bool(true) => "是".into(),
            Value::Bool(false) => "否".into(),
            Value::Date(d) => d.to_string(),
            Value::TextList([]) => "（无）".into(),
            Value::TextList(v) => v.join("、"),
            Value::Region(r) => r.short().to_string(),
            Value::None => "未评估".into(),
        }
    }
}

impl Facts {
    /// The facts of a person on `on`, for a list published for `list_region`: categories active
    /// that day plus the derived ones (高龄 from `advanced_age`, 失能/半失能 from the latest
    /// effective level), and "local" meaning within the list's region.
    pub fn of_person(
        person: &Person<'_>,
        list_region: &RegionCode,
        on: NaiveDate,
        advanced_age: i32,
    ) -> Facts {
        Facts {
            age: i64::from(age_on(person.birth_date, on)),
            sex: person.sex,
            hukou_local: list_region.contains(&person.hukou_region),
            resides_locally: list_region.contains(&person.residence_region),
            categories: categories_on(
                person.categories,
                person.birth_date,
                person.ability,
                person.dementia,
                on,
                advanced_age,
            )
            .into_iter()
            .map(String::from)
            .collect(),
            ability: person.ability,
            living: person.living,
            children_local: person.children_local,
            children_can_care: person.children_can_care,
            region: person.residence_region,
            birth_date: person.birth_date,
            today: on,
        }
    }

    /// The value of a fact by name (names are checked before evaluation).
    pub fn get(&self, name: &str) -> Value<'_> {
        match name {
            "age" => Value::Number(self.age),
            "sex" => Value::Text(self.sex.label()),
            "hukou_local" => Value::Bool(self.hukou_local),
            "resides_locally" => Value::Bool(self.resides_locally),
            "categories" => Value::TextList(&self.categories),
            "ability" => self.ability.map_or(Value::None, |a| Value::Text(a.label())),
            "ability_level" => self
                .ability
                .map_or(Value::None, |a| Value::Number(a.number() as i64)),
            "living" => Value::Text(self.living.label()),
            "children_local" => Value::Bool(self.children_local),
            "children_can_care" => Value::Bool(self.children_can_care),
            "region" => Value::Region(self.region),
            "birth_date" => Value::Date(self.birth_date),
            "today" => Value::Date(self.today),
            _ => Value::None,
        }
    }
}
