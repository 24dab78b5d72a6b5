//! A recursive-descent parser for target-group rules, checking types as it builds the tree so
//! that a rule that parses is a rule that can be evaluated.
//!
//! ```text
//! rule       = or
//! or         = and { ("or" | "或") and }
//! and        = not { ("and" | "且") not }
//! not        = ("not" | "非") not | "(" or ")" | clause
//! clause     = operand [ compare operand | ["not" | "不"] "in" list-or-fact | "within" text ]
//! compare    = ">=" | "<=" | ">" | "<" | "=" | "==" | "!=" | "≥" | "≤" | "≠"
//! operand    = fact | number | text | date | "true" | "false" | "none"
//! ```

use super::facts::{self, FactSpec, Type};
use super::lexer::{Pos, Tok};
use super::{Clause, Cmp, Expr, Literal, MAX_CLAUSES, MAX_DEPTH, Operand, RuleError};
use crate::RegionCode;

pub(super) struct Parser {
    toks: Vec<(Tok, Pos)>,
    at: usize,
    /// Brackets and `not`s open at the current token.
    depth: usize,
    /// Clauses read so far.
    clauses: usize,
}

fn keyword(tok: &Tok) -> Option<&'static str> {
    let Tok::Word(w) = tok else { return None };
    Some(match w.as_str() {
        "and" | "且" | "并且" => "and",
        "or" | "或" | "或者" => "or",
        "not" | "非" | "不" => "not",
        "in" | "属于" => "in",
        "不属于" => "not in",
        "within" | "位于" => "within",
        "true" | "是" => "true",
        "false" | "否" => "false",
        "none" | "无" => "none",
        _ => return None,
    })
}

impl Parser {
    pub(super) fn new(toks: Vec<(Tok, Pos)>) -> Self {
        Parser {
            toks,
            at: 0,
            depth: 0,
            clauses: 0,
        }
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn pos(&self) -> Pos {
        self.toks[self.at].1
    }

    fn bump(&mut self) -> (Tok, Pos) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn expected(&self, what: &str) -> RuleError {
        RuleError::at(
            self.pos(),
            format!("应为{what}，却是{}", self.peek().describe()),
        )
    }

    pub(super) fn rule(&mut self) -> Result<Expr, RuleError> {
        if *self.peek() == Tok::End {
            return Err(self.expected("一个条件，例如 age >= 80"));
        }
        let e = self.or()?;
        if *self.peek() != Tok::End {
            return Err(self.expected("“且”“或”或规则结尾"));
        }
        Ok(e)
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        self.joined("or", Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        self.joined("and", Self::not, Expr::And)
    }

    /// `next { keyword next }`, joined to the left.
    fn joined(
        &mut self,
        keyword_name: &str,
        next: fn(&mut Self) -> Result<Expr, RuleError>,
        join: fn(Box<Expr>, Box<Expr>) -> Expr,
    ) -> Result<Expr, RuleError> {
        let mut left = next(self)?;
        while keyword(self.peek()) == Some(keyword_name) {
            self.bump();
            let right = next(self)?;
            left = join(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, RuleError> {
        if keyword(self.peek()) == Some("not") {
            self.enter()?;
            self.bump();
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if *self.peek() == Tok::Sym("(") {
            self.enter()?;
            self.bump();
            let inner = self.or()?;
            if *self.peek() != Tok::Sym(")") {
                return Err(self.expected("右括号“)”"));
            }
            self.bump();
            self.depth -= 1;
            return Ok(inner);
        }
        self.clauses += 1;
        if self.clauses > MAX_CLAUSES {
            return Err(RuleError::at(
                self.pos(),
                format!("条件太多：一条规则最多 {MAX_CLAUSES} 个条件"),
            ));
        }
        self.clause().map(Expr::Clause)
    }

    /// One more level of brackets or `not`, refused past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::at(
                self.pos(),
                format!("括号或“非”嵌套太深：最多 {MAX_DEPTH} 层"),
            ));
        }
        Ok(())
    }

    fn operand(&mut self) -> Result<(Operand, Pos), RuleError> {
        let pos = self.pos();
        let op = match self.peek().clone() {
            Tok::Number(n) => Operand::Literal(Literal::Number(n)),
            Tok::Text(t) => Operand::Literal(Literal::Text(t)),
            Tok::Date(d) => Operand::Literal(Literal::Date(d)),
            Tok::Sym("[") => return self.list().map(|l| (l, pos)),
            ref t @ Tok::Word(ref w) => match keyword(t) {
                Some("true") => Operand::Literal(Literal::Bool(true)),
                Some("false") => Operand::Literal(Literal::Bool(false)),
                Some("none") => Operand::Literal(Literal::None),
                Some(_) => return Err(self.expected("一个事实（如 age）或一个值")),
                None => match facts::lookup(w) {
                    Some(f) => Operand::Fact(f),
                    None => {
                        let names: Vec<&str> = facts::FACTS.iter().map(|f| f.name).collect();
                        return Err(RuleError::at(
                            pos,
                            format!("没有叫“{w}”的事实；可用的事实：{}", names.join("、")),
                        ));
                    }
                },
            },
            _ => return Err(self.expected("一个事实（如 age）或一个值")),
        };
        self.bump();
        Ok((op, pos))
    }

    fn list(&mut self) -> Result<Operand, RuleError> {
        self.bump(); // [
        let (mut items, mut positions) = (Vec::new(), Vec::new());
        if *self.peek() == Tok::Sym("]") {
            return Err(self.expected("列表中的至少一项文字"));
        }
        loop {
            match self.bump() {
                (Tok::Text(t), p) => {
                    items.push(t);
                    positions.push(p);
                }
                (other, p) => {
                    return Err(RuleError::at(
                        p,
                        format!("列表里应为带引号的文字，却是{}", other.describe()),
                    ));
                }
            }
            match self.bump() {
                (Tok::Sym(","), _) => continue,
                (Tok::Sym("]"), _) => break,
                (other, p) => {
                    return Err(RuleError::at(
                        p,
                        format!("应为逗号“,”或右方括号“]”，却是{}", other.describe()),
                    ));
                }
            }
        }
        Ok(Operand::List(items, positions))
    }

    fn clause(&mut self) -> Result<Clause, RuleError> {
        let (left, pos) = self.operand()?;
        let cmp = match (self.peek().clone(), keyword(self.peek())) {
            (Tok::Sym(s), _) if matches!(s, ">=" | "<=" | ">" | "<" | "=" | "!=") => {
                self.bump();
                Some(match s {
                    ">=" => Cmp::Ge,
                    "<=" => Cmp::Le,
                    ">" => Cmp::Gt,
                    "<" => Cmp::Lt,
                    "=" => Cmp::Eq,
                    _ => Cmp::Ne,
                })
            }
            (_, Some("in")) => {
                self.bump();
                Some(Cmp::In)
            }
            (_, Some("not in")) => {
                self.bump();
                Some(Cmp::NotIn)
            }
            (_, Some("not")) => {
                // `x not in [...]`
                self.bump();
                if keyword(self.peek()) != Some("in") {
                    return Err(self.expected("“in”（写作 not in）"));
                }
                self.bump();
                Some(Cmp::NotIn)
            }
            (_, Some("within")) => {
                self.bump();
                Some(Cmp::Within)
            }
            _ => None,
        };
        let clause = match cmp {
            None => Clause {
                left,
                cmp: Cmp::IsTrue,
                right: Operand::Literal(Literal::Bool(true)),
                pos,
            },
            Some(cmp) => {
                let (right, _) = self.operand()?;
                Clause {
                    left,
                    cmp,
                    right,
                    pos,
                }
            }
        };
        check(&clause)?;
        Ok(clause)
    }
}

fn lit_type(l: &Literal) -> Option<Type> {
    Some(match l {
        Literal::Number(_) => Type::Number,
        Literal::Text(_) => Type::Text,
        Literal::Bool(_) => Type::Bool,
        Literal::Date(_) => Type::Date,
        Literal::None => return None,
    })
}

fn check_text(fact: &FactSpec, text: &str, pos: Pos) -> Result<(), RuleError> {
    if let Some(allowed) = facts::allowed_texts(fact.name)
        && !allowed.contains(&text)
    {
        return Err(RuleError::at(
            pos,
            format!(
                "“{text}”不是{}的取值；可用的取值：{}",
                fact.label,
                allowed.join("、")
            ),
        ));
    }
    Ok(())
}

/// Type-checks one clause: a rule that would compare a number with a text, name an unknown
/// category or test a region against a malformed code is refused when it is saved.
fn check(c: &Clause) -> Result<(), RuleError> {
    let err = |m: String| Err(RuleError::at(c.pos, m));
    match (c.cmp, &c.left, &c.right) {
        (Cmp::IsTrue, Operand::Fact(f), _) if f.ty == Type::Bool => Ok(()),
        (Cmp::IsTrue, Operand::Fact(f), _) => err(format!(
            "{}（{}）是{}，不能单独作为条件；请写出比较，例如 {} >= 80",
            f.name,
            f.label,
            f.ty.label(),
            f.name
        )),
        (Cmp::IsTrue, _, _) => err("条件应以事实开头，例如 age >= 80".into()),
        (Cmp::Within, Operand::Fact(f), Operand::Literal(Literal::Text(code)))
            if f.ty == Type::Region =>
        {
            match RegionCode::parse(code) {
                Ok(_) => Ok(()),
                Err(_) => err(format!(
                    "“{code}”不是行政区划代码（2、4、6、9 或 12 位数字）"
                )),
            }
        }
        (Cmp::Within, _, _) => err("within 用于 region，例如 region within \"430302\"".into()),
        (Cmp::In | Cmp::NotIn, Operand::Fact(f), Operand::List(items, positions))
            if f.ty == Type::Text =>
        {
            for (t, p) in items.iter().zip(positions) {
                check_text(f, t, *p)?;
            }
            Ok(())
        }
        (Cmp::In | Cmp::NotIn, Operand::Literal(Literal::Text(t)), Operand::Fact(f))
            if f.ty == Type::TextList =>
        {
            check_text(f, t, c.pos)
        }
        (Cmp::In | Cmp::NotIn, _, _) => err(
            "in 的写法：\"低保\" in categories，或 ability in [\"重度失能\",\"完全失能\"]".into(),
        ),
        (_, Operand::List(..), _) | (_, _, Operand::List(..)) => err("列表只能用在 in 之后".into()),
        (cmp, Operand::Fact(f), Operand::Literal(l))
        | (cmp, Operand::Literal(l), Operand::Fact(f)) => match lit_type(l) {
            None if f.optional && matches!(cmp, Cmp::Eq | Cmp::Ne) => Ok(()),
            None => err(
                "只有可能缺失的事实（ability、ability_level）才能与 none 比较，且只能用 = 或 !="
                    .into(),
            ),
            Some(t) if t != f.ty => err(format!(
                "不能把{}（{}，{}）与{}比较",
                f.name,
                f.label,
                f.ty.label(),
                t.label()
            )),
            Some(t)
                if !matches!(cmp, Cmp::Eq | Cmp::Ne) && !matches!(t, Type::Number | Type::Date) =>
            {
                err(format!("{}只能用 = 或 != 比较", t.label()))
            }
            Some(_) => match l {
                Literal::Text(text) => check_text(f, text, c.pos),
                _ => Ok(()),
            },
        },
        (cmp, Operand::Fact(a), Operand::Fact(b)) => {
            if a.ty != b.ty {
                err(format!(
                    "不能把{}（{}）与{}（{}）比较",
                    a.name,
                    a.ty.label(),
                    b.name,
                    b.ty.label()
                ))
            } else if !matches!(cmp, Cmp::Eq | Cmp::Ne)
                && !matches!(a.ty, Type::Number | Type::Date)
            {
                err(format!("{}只能用 = 或 != 比较", a.ty.label()))
            } else {
                Ok(())
            }
        }
        _ => err("比较的两边至少要有一个事实，例如 age >= 80".into()),
    }
}
