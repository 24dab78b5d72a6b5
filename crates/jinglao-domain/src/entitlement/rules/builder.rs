//! The rule builder (条件生成器): a target group put together from lists — a fact, how it is
//! compared, a value — joined by 并且 (all) or 或者 (any), turned into the same rule text a
//! power user would type. The text is then parsed like any typed rule, so the builder can never
//! produce a rule the checks would not accept, and both forms show the same plain rendering.

use crate::validation::Invalid;

use super::facts::allowed_texts;
#[cfg(test)]
use super::{Rule, RuleError};

/// How a builder fact is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number (年龄): 不小于 / 不大于 / 等于.
    Number,
    /// A category the person holds or not (特殊类别).
    Category,
    /// One of a list of texts (能力等级, 居住情况, 性别): 是 / 不是.
    Choice,
    /// Yes or no (子女在本地 …): 是 / 否.
    YesNo,
}

/// A fact the builder offers: its name in the rule language, its label and kind.
#[derive(Debug, Clone, Copy)]
pub struct BuilderFact {
    /// Name in the rule language.
    pub name: &'static str,
    /// Label on the form.
    pub label: &'static str,
    /// How it is compared.
    pub kind: Kind,
}

/// The facts the builder offers, in the order the form lists them.
pub const BUILDER_FACTS: &[BuilderFact] = &[
    BuilderFact {
        name: "age",
        label: "年龄",
        kind: Kind::Number,
    },
    BuilderFact {
        name: "categories",
        label: "特殊类别",
        kind: Kind::Category,
    },
    BuilderFact {
        name: "ability",
        label: "能力等级",
        kind: Kind::Choice,
    },
    BuilderFact {
        name: "living",
        label: "居住情况",
        kind: Kind::Choice,
    },
    BuilderFact {
        name: "sex",
        label: "性别",
        kind: Kind::Choice,
    },
    BuilderFact {
        name: "children_local",
        label: "子女在本地",
        kind: Kind::YesNo,
    },
    BuilderFact {
        name: "children_can_care",
        label: "子女能照料",
        kind: Kind::YesNo,
    },
    BuilderFact {
        name: "hukou_local",
        label: "本地户籍",
        kind: Kind::YesNo,
    },
    BuilderFact {
        name: "resides_locally",
        label: "本地居住",
        kind: Kind::YesNo,
    },
];

/// The comparisons of each kind: (stable name, words). One list serves every kind, so a row
/// reads naturally whatever fact it holds: 年龄 不小于 80, 特殊类别 是（有） 低保, 子女在本地
/// 不是（没有）.
pub fn operators(kind: Kind) -> &'static [(&'static str, &'static str)] {
    match kind {
        Kind::Number => ALL_OPERATORS,
        Kind::Category | Kind::Choice | Kind::YesNo => &ALL_OPERATORS[2..],
    }
}

/// Every comparison the form offers: (stable name, words).
pub const ALL_OPERATORS: &[(&str, &str)] = &[
    ("ge", "不小于"),
    ("le", "不大于"),
    ("is", "是（有）"),
    ("not", "不是（没有）"),
];

/// The ages the form offers (the thresholds the policy texts use).
pub const AGES: [&str; 9] = ["60", "65", "70", "75", "80", "85", "90", "95", "100"];

/// The values a fact's list offers (none for numbers and yes/no facts).
pub fn values(fact: &BuilderFact) -> Vec<&'static str> {
    match fact.kind {
        Kind::Number | Kind::YesNo => Vec::new(),
        Kind::Category | Kind::Choice => allowed_texts(fact.name).unwrap_or_default(),
    }
}

/// How the conditions are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// 并且: all of them.
    All,
    /// 或者: any of them.
    Any,
}

/// One condition row as submitted: all three texts may be empty (an unused row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// The fact's name.
    pub fact: String,
    /// The comparison's stable name.
    pub op: String,
    /// The value (a number, a listed text, or empty for yes/no).
    pub value: String,
}

/// The most condition rows one builder takes.
pub const MAX_ROWS: usize = 8;

/// The rule text of `rows` joined by `join`; an error names the row's field
/// (`{prefix}[i].fact`, `.op`, `.value`) and says what is wrong. Unused rows are skipped;
/// at least one row must be used.
pub fn build(join: Join, rows: &[Row], prefix: &str) -> Result<String, Invalid> {
    let mut inv = Invalid::new();
    let mut parts = Vec::new();
    for (i, r) in rows.iter().enumerate().take(MAX_ROWS) {
        let field = |f: &str| format!("{prefix}[{i}].{f}");
        let (fact, op, value) = (r.fact.trim(), r.op.trim(), r.value.trim());
        if fact.is_empty() {
            if !value.is_empty() {
                inv.add(&field("fact"), format!("第 {} 个条件请选择事项", i + 1));
            }
            continue;
        }
        let Some(spec) = BUILDER_FACTS.iter().find(|f| f.name == fact) else {
            inv.add(&field("fact"), format!("第 {} 个条件的事项无效", i + 1));
            continue;
        };
        if !operators(spec.kind).iter().any(|(o, _)| *o == op) {
            let words: Vec<&str> = operators(spec.kind).iter().map(|(_, w)| *w).collect();
            inv.add(
                &field("op"),
                format!(
                    "第 {} 个条件：{}只能选“{}”",
                    i + 1,
                    spec.label,
                    words.join("”或“")
                ),
            );
            continue;
        }
        let quoted = || format!("\"{}\"", value.replace('"', ""));
        let listed = || values(spec).contains(&value);
        let yes = op == "is";
        let part = match spec.kind {
            Kind::Number => match value.parse::<u32>() {
                Ok(n) if n <= 150 => {
                    let cmp = match op {
                        "ge" => ">=",
                        "le" => "<=",
                        "is" => "=",
                        _ => "!=",
                    };
                    format!("{fact} {cmp} {n}")
                }
                _ => {
                    inv.add(
                        &field("value"),
                        format!(
                            "第 {} 个条件：{}请选择或填写 0 到 150 的整数",
                            i + 1,
                            spec.label
                        ),
                    );
                    continue;
                }
            },
            Kind::Category | Kind::Choice if !listed() => {
                inv.add(
                    &field("value"),
                    format!("第 {} 个条件：请从列表中选择{}", i + 1, spec.label),
                );
                continue;
            }
            Kind::Category if yes => format!("{} in categories", quoted()),
            Kind::Category => format!("not {} in categories", quoted()),
            Kind::Choice if yes => format!("{fact} = {}", quoted()),
            Kind::Choice => format!("{fact} != {}", quoted()),
            Kind::YesNo if yes => fact.to_string(),
            Kind::YesNo => format!("not {fact}"),
        };
        parts.push(part);
    }
    if parts.is_empty() && inv.is_empty() {
        inv.add(&format!("{prefix}[0].fact"), "请至少选择一个条件");
    }
    inv.into_result(())?;
    let glue = match join {
        Join::All => " and ",
        Join::Any => " or ",
    };
    Ok(parts.join(glue))
}

/// [`build`], then parsed: the rule the builder made (the tests' check that every listed value
/// makes a rule the parser accepts).
#[cfg(test)]
fn build_rule(join: Join, rows: &[Row], prefix: &str) -> Result<Rule, Invalid> {
    let text = build(join, rows, prefix)?;
    Rule::parse(&text)
        .map_err(|e: RuleError| Invalid::one(&format!("{prefix}[0].fact"), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fact: &str, op: &str, value: &str) -> Row {
        Row {
            fact: fact.into(),
            op: op.into(),
            value: value.into(),
        }
    }

    #[test]
    fn rows_picked_from_lists_make_the_rule_a_power_user_would_type() {
        let rows = [
            row("age", "ge", "80"),
            row("categories", "is", "低保"),
            row("children_local", "not", ""),
            row("", "", ""),
        ];
        assert_eq!(
            build(Join::All, &rows, "b").unwrap(),
            "age >= 80 and \"低保\" in categories and not children_local"
        );
        let any = [
            row("ability", "is", "重度失能"),
            row("living", "not", "机构"),
        ];
        assert_eq!(
            build(Join::Any, &any, "b").unwrap(),
            "ability = \"重度失能\" or living != \"机构\""
        );
        assert!(build_rule(Join::Any, &any, "b").is_ok(), "the text parses");
    }

    #[test]
    fn a_value_off_the_list_an_operator_of_another_kind_or_nothing_chosen_is_named_by_row() {
        let inv = build(Join::All, &[row("categories", "is", "低宝")], "b").unwrap_err();
        assert_eq!(inv.errors[0].field, "b[0].value");
        assert!(inv.errors[0].message.contains("请从列表中选择特殊类别"));
        let inv = build(Join::All, &[row("children_local", "ge", "")], "b").unwrap_err();
        assert!(
            inv.errors[0].message.contains("子女在本地只能选"),
            "{inv:?}"
        );
        let inv = build(Join::All, &[row("age", "ge", "八十")], "b").unwrap_err();
        assert!(inv.errors[0].message.contains("整数"));
        let inv = build(Join::All, &[row("", "", "")], "b").unwrap_err();
        assert_eq!(inv.errors[0].message, "请至少选择一个条件");
    }

    #[test]
    fn every_listed_value_of_every_fact_makes_a_rule_that_parses() {
        for f in BUILDER_FACTS {
            for (op, _) in operators(f.kind) {
                let vals = match f.kind {
                    Kind::Number => vec!["60"],
                    Kind::YesNo => vec![""],
                    _ => values(f),
                };
                for v in vals {
                    let r = [row(f.name, op, v)];
                    assert!(
                        build_rule(Join::All, &r, "b").is_ok(),
                        "{} {op} {v}",
                        f.name
                    );
                }
            }
        }
    }
}
