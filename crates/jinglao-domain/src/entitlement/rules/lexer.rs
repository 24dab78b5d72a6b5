//! Splitting a rule's text into tokens, each with its line and column (both from 1, columns
//! counted in characters, as a clerk sees them on screen).

use super::RuleError;

/// Where a token starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// A token of the rule language.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A fact name or keyword (`age`, `and`, `且` …).
    Word(String),
    /// A whole number.
    Number(i64),
    /// A quoted text ("低保" or “低保”).
    Text(String),
    /// A date written 2026-01-01.
    Date(chrono::NaiveDate),
    /// `(`, `)`, `[`, `]`, `,` and the comparison signs.
    Sym(&'static str),
    /// End of the text.
    End,
}

impl Tok {
    /// How the token is named in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("“{w}”"),
            Tok::Number(n) => format!("数字 {n}"),
            Tok::Text(t) => format!("文字 \"{t}\""),
            Tok::Date(d) => format!("日期 {d}"),
            Tok::Sym(s) => format!("“{s}”"),
            Tok::End => "规则结尾".to_string(),
        }
    }
}

/// Signs, longest first so that `>=` is not read as `>` then `=`.
const SYMBOLS: [(&str, &str); 14] = [
    (">=", ">="),
    ("<=", "<="),
    ("!=", "!="),
    ("==", "="),
    ("≥", ">="),
    ("≤", "<="),
    ("≠", "!="),
    (">", ">"),
    ("<", "<"),
    ("=", "="),
    ("(", "("),
    (")", ")"),
    ("[", "["),
    ("]", "]"),
];

/// Full-width brackets and commas, as typed with a Chinese input method, read as their ASCII
/// forms (outside quoted text only: the lexer calls this where punctuation is expected).
fn half_width(c: char) -> char {
    match c {
        '（' => '(',
        '）' => ')',
        '【' => '[',
        '】' => ']',
        '，' | '、' => ',',
        other => other,
    }
}

/// Splits `text` into tokens; the last is always [`Tok::End`].
pub fn tokens(text: &str) -> Result<Vec<(Tok, Pos)>, RuleError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut column) = (0usize, 1usize, 1usize);
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, column };
        let advance = |n: usize, column: &mut usize, i: &mut usize| {
            *i += n;
            *column += n;
        };
        if c == '\n' {
            i += 1;
            line += 1;
            column = 1;
            continue;
        }
        if c.is_whitespace() {
            advance(1, &mut column, &mut i);
            continue;
        }
        // A comment runs to the end of the line.
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                advance(1, &mut column, &mut i);
            }
            continue;
        }
        let c = half_width(c);
        if c == ',' {
            out.push((Tok::Sym(","), pos));
            advance(1, &mut column, &mut i);
            continue;
        }
        if let Some((len, sym)) = SYMBOLS.iter().find_map(|(s, canon)| {
            let n = s.chars().count();
            let matches = chars.len() >= i + n
                && chars[i..i + n].iter().map(|&c| half_width(c)).eq(s.chars());
            matches.then_some((n, *canon))
        }) {
            out.push((Tok::Sym(sym), pos));
            advance(len, &mut column, &mut i);
            continue;
        }
        if c == '"' || c == '“' || c == '”' {
            let close = |d: char| d == '"' || d == '”' || d == '“';
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && !close(chars[j]) && chars[j] != '\n' {
                j += 1;
            }
            if j >= chars.len() || chars[j] == '\n' {
                return Err(RuleError::at(
                    pos,
                    "引号没有闭合：文字要用一对引号括起来，例如 \"低保\"",
                ));
            }
            let text: String = chars[start..j].iter().collect();
            out.push((Tok::Text(text.trim().to_string()), pos));
            advance(j + 1 - i, &mut column, &mut i);
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '-') {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            let tok = if word.len() == 10 && word.as_bytes()[4] == b'-' {
                match chrono::NaiveDate::parse_from_str(&word, "%Y-%m-%d") {
                    Ok(d) => Tok::Date(d),
                    Err(_) => {
                        return Err(RuleError::at(
                            pos,
                            format!("“{word}”不是有效的日期（应为 2026-01-01 的形式）"),
                        ));
                    }
                }
            } else {
                match word.parse::<i64>() {
                    Ok(n) => Tok::Number(n),
                    Err(_) => return Err(RuleError::at(pos, format!("“{word}”不是整数"))),
                }
            };
            out.push((tok, pos));
            advance(j - i, &mut column, &mut i);
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut j = i + 1;
            // Latin words run over letters, digits and underscores; a Chinese keyword is read
            // whole (且, 或, 非, 属于, 不属于, 位于, 是, 否, 无).
            if c.is_ascii_alphabetic() || c == '_' {
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
            } else {
                while j < chars.len() && chars[j].is_alphabetic() && !chars[j].is_ascii() {
                    j += 1;
                }
            }
            let word: String = chars[i..j].iter().collect();
            out.push((Tok::Word(word), pos));
            advance(j - i, &mut column, &mut i);
            continue;
        }
        return Err(RuleError::at(pos, format!("不认识的符号“{c}”")));
    }
    out.push((Tok::End, Pos { line, column }));
    Ok(out)
}
