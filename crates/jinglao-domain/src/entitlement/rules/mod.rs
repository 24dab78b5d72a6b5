//! The target-group rule language of the basic elderly-service list (基本养老服务清单), written
//! by bureau staff and stored as text, e.g.
//!
//! ```text
//! age >= 65 and "低保" in categories and ability in ["轻度失能", "中度失能"]
//! ```
//!
//! [`Rule::parse`] reads and type-checks a rule (errors give line, column and what was
//! expected, in Chinese); [`Rule::evaluate`] answers for one person with every clause's result
//! and the fact values it used, so staff and applicants see why. docs/RULES.md is the guide.

pub mod builder;
mod compiled;
mod facts;
mod lexer;
mod parser;
mod plain;

use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

pub use compiled::{BLOCK, Packed, Program, category_bit};
pub use facts::{FACTS, FactSpec, Facts, Person, Type, Value, allowed_texts};
pub use lexer::Pos;
pub use plain::{CodesOnly, PlainAnswer, RegionNames};

/// The longest rule text accepted, in characters. The longest rule of the demo list is about
/// 150 characters; a county's most detailed target group fits in a few hundred.
pub const MAX_RULE_CHARS: usize = 4_000;
/// The most clauses a rule may have.
pub const MAX_CLAUSES: usize = 200;
/// The deepest nesting of brackets and `not` a rule may have.
pub const MAX_DEPTH: usize = 16;

/// A rule that does not parse or does not type-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleError {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// What is wrong, in Chinese.
    pub message: String,
}

impl RuleError {
    pub(crate) fn at(pos: Pos, message: impl Into<String>) -> Self {
        RuleError {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "第 {} 行第 {} 列：{}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for RuleError {}

/// A literal value in a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// 80.
    Number(i64),
    /// "低保".
    Text(String),
    /// true / false.
    Bool(bool),
    /// 2026-01-01.
    Date(NaiveDate),
    /// none: no assessment.
    None,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A fact.
    Fact(&'static FactSpec),
    /// A value.
    Literal(Literal),
    /// ["重度失能", "完全失能"], and where each item was written.
    List(Vec<String>, Vec<Pos>),
}

/// The comparison of a clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// =
    Eq,
    /// !=
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
    /// in
    In,
    /// not in
    NotIn,
    /// within (region)
    Within,
    /// A yes/no fact on its own.
    IsTrue,
}

impl Cmp {
    fn sign(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "≠",
            Cmp::Lt => "<",
            Cmp::Le => "≤",
            Cmp::Gt => ">",
            Cmp::Ge => "≥",
            Cmp::In => "属于",
            Cmp::NotIn => "不属于",
            Cmp::Within => "位于",
            Cmp::IsTrue => "",
        }
    }
}

/// A comparison: the unit of explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Left side.
    pub left: Operand,
    /// Comparison.
    pub cmp: Cmp,
    /// Right side.
    pub right: Operand,
    /// Where it starts in the text.
    pub pos: Pos,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Not.
    Not(Box<Expr>),
    /// A comparison.
    Clause(Clause),
}

/// A checked rule with its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    source: String,
    expr: Expr,
}

/// One clause's part in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseOutcome {
    /// E.g. "年龄 82 ≥ 80".
    pub text: String,
    /// Whether it held.
    pub held: bool,
}

/// The answer for one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Whether the person is in the target group.
    pub eligible: bool,
    /// Every clause, in the order written (all are evaluated, so the explanation is complete);
    /// or, from [`Rule::deciding`], only the clauses that decided.
    pub clauses: Vec<ClauseOutcome>,
    /// Whether `clauses` are the deciding ones (each then supports the answer, whatever its
    /// own truth: under a `not`, a false clause is a reason for "yes").
    #[serde(skip)]
    pub deciding: bool,
}

impl Outcome {
    /// For staff: "年龄 82 ≥ 80 ✓；特殊类别 含“低保” ✗".
    pub fn explanation(&self) -> String {
        self.clauses
            .iter()
            .map(|c| format!("{} {}", c.text, if c.held { "✓" } else { "✗" }))
            .collect::<Vec<_>>()
            .join("；")
    }
}

impl Rule {
    /// Parses and type-checks `source`. A rule longer than [`MAX_RULE_CHARS`] characters,
    /// with more than [`MAX_CLAUSES`] clauses or nested deeper than [`MAX_DEPTH`] is refused
    /// before it is built: rules are evaluated (and dropped) recursively, and a stored rule is
    /// parsed again on public requests, so an unbounded one could exhaust the stack.
    pub fn parse(source: &str) -> Result<Rule, RuleError> {
        let chars = source.chars().count();
        if chars > MAX_RULE_CHARS {
            return Err(RuleError {
                line: 1,
                column: 1,
                message: format!("规则太长：{chars} 个字，最多 {MAX_RULE_CHARS} 个字"),
            });
        }
        let toks = lexer::tokens(source)?;
        let expr = parser::Parser::new(toks).rule()?;
        Ok(Rule {
            source: source.to_string(),
            expr,
        })
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The clauses that decided the answer, each once: for a "no", the failed clauses of every
    /// failed part (and, under a `not`, the clause that held); for a "yes", the clauses of the
    /// parts that held. Shorter than [`Rule::evaluate`]'s full list, for worklists and notices.
    pub fn deciding(&self, facts: &Facts) -> Outcome {
        let mut all = Vec::new();
        let eligible = eval(&self.expr, facts, &mut all);
        let mut out = Vec::new();
        let mut next = 0;
        blame(&self.expr, eligible, &all, &mut next, &mut out);
        let mut seen = std::collections::HashSet::new();
        out.retain(|c: &ClauseOutcome| seen.insert(c.text.clone()));
        Outcome {
            eligible,
            clauses: out,
            deciding: true,
        }
    }

    /// Whether `facts` satisfy the rule, with every clause explained.
    pub fn evaluate(&self, facts: &Facts) -> Outcome {
        let mut clauses = Vec::new();
        let eligible = eval(&self.expr, facts, &mut clauses);
        Outcome {
            eligible,
            clauses,
            deciding: false,
        }
    }
}

fn eval(e: &Expr, facts: &Facts, out: &mut Vec<ClauseOutcome>) -> bool {
    match e {
        // Both sides always run, so that the explanation lists every clause.
        Expr::And(a, b) => {
            let l = eval(a, facts, out);
            let r = eval(b, facts, out);
            l && r
        }
        Expr::Or(a, b) => {
            let l = eval(a, facts, out);
            let r = eval(b, facts, out);
            l || r
        }
        Expr::Not(inner) => !eval(inner, facts, out),
        Expr::Clause(c) => {
            let (held, text) = clause(c, facts);
            out.push(ClauseOutcome { text, held });
            held
        }
    }
}

/// The number of clauses under `e`.
fn clause_count(e: &Expr) -> usize {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => clause_count(a) + clause_count(b),
        Expr::Not(a) => clause_count(a),
        Expr::Clause(_) => 1,
    }
}

/// Whether `e` held, read back from the clause outcomes in `all` starting at `from`.
fn held(e: &Expr, all: &[ClauseOutcome], from: usize) -> bool {
    match e {
        Expr::And(a, b) => held(a, all, from) && held(b, all, from + clause_count(a)),
        Expr::Or(a, b) => held(a, all, from) || held(b, all, from + clause_count(a)),
        Expr::Not(a) => !held(a, all, from),
        Expr::Clause(_) => all[from].held,
    }
}

/// Collects the clauses that made `e` come out as `value` (see [`Rule::deciding`]); `next` is
/// the index in `all` of `e`'s first clause and is moved past `e`.
fn blame(
    e: &Expr,
    value: bool,
    all: &[ClauseOutcome],
    next: &mut usize,
    out: &mut Vec<ClauseOutcome>,
) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            let conj = matches!(e, Expr::And(..));
            // And: a "no" is blamed on the parts that failed; Or: a "yes" on those that held.
            let pick_all = conj == value;
            for part in [a, b] {
                let start = *next;
                if pick_all || held(part, all, start) == value {
                    blame(part, value, all, next, out);
                } else {
                    *next = start + clause_count(part);
                }
            }
        }
        Expr::Not(a) => blame(a, !value, all, next, out),
        Expr::Clause(_) => {
            out.push(all[*next].clone());
            *next += 1;
        }
    }
}

fn value<'a>(op: &'a Operand, facts: &'a Facts) -> Value<'a> {
    match op {
        Operand::Fact(f) => facts.get(f.name),
        Operand::Literal(Literal::Number(n)) => Value::Number(*n),
        Operand::Literal(Literal::Text(t)) => Value::Text(t),
        Operand::Literal(Literal::Bool(b)) => Value::Bool(*b),
        Operand::Literal(Literal::Date(d)) => Value::Date(*d),
        Operand::Literal(Literal::None) => Value::None,
        Operand::List(items, _) => Value::TextList(items),
    }
}

fn shown(op: &Operand, v: &Value) -> String {
    match op {
        Operand::Fact(f) => format!("{} {}", f.label, v.show()),
        Operand::List(items, _) => format!("[{}]", items.join("、")),
        Operand::Literal(Literal::Text(t)) => format!("“{t}”"),
        Operand::Literal(_) => v.show(),
    }
}

/// Evaluates one (type-checked) clause; returns whether it held and how it reads.
fn clause(c: &Clause, facts: &Facts) -> (bool, String) {
    let l = value(&c.left, facts);
    let r = value(&c.right, facts);
    let held = match (c.cmp, &l, &r) {
        (Cmp::IsTrue, Value::Bool(b), _) => *b,
        (Cmp::Within, Value::Region(region), Value::Text(code)) => crate::RegionCode::parse(code)
            .map(|root| root.contains(region))
            .unwrap_or(false),
        (Cmp::In, Value::Text(t), Value::TextList(list)) => list.iter().any(|x| x == t),
        (Cmp::NotIn, Value::Text(t), Value::TextList(list)) => !list.iter().any(|x| x == t),
        // A missing value is in no list and satisfies no ordering.
        (Cmp::In, _, _) => false,
        (Cmp::NotIn, _, _) => true,
        (Cmp::Eq, a, b) => a == b,
        (Cmp::Ne, a, b) => a != b,
        (cmp, a, b) => {
            let ord = match (a, b) {
                (Value::Number(x), Value::Number(y)) => Some(x.cmp(y)),
                (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
                _ => None,
            };
            match ord {
                None => false,
                Some(o) => match cmp {
                    Cmp::Lt => o.is_lt(),
                    Cmp::Le => o.is_le(),
                    Cmp::Gt => o.is_gt(),
                    Cmp::Ge => o.is_ge(),
                    _ => false,
                },
            }
        }
    };
    let text = match (c.cmp, &c.left, &c.right) {
        (Cmp::IsTrue, Operand::Fact(f), _) => format!("{}：{}", f.label, l.show()),
        (Cmp::In | Cmp::NotIn, Operand::Literal(Literal::Text(t)), Operand::Fact(f)) => {
            let word = if c.cmp == Cmp::In { "含" } else { "不含" };
            let held = match r {
                Value::TextList([]) => "无".to_string(),
                _ => r.show(),
            };
            format!("{}（{held}）{word}“{t}”", f.label)
        }
        _ => format!(
            "{} {} {}",
            shown(&c.left, &l),
            c.cmp.sign(),
            shown(&c.right, &r)
        ),
    };
    (held, text)
}

#[cfg(test)]
mod tests;
