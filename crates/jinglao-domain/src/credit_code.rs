//! Unified social credit codes (统一社会信用代码), GB 32100-2015: 18 characters from
//! "0123456789ABCDEFGHJKLMNPQRTUWXY" (no I, O, S, V, Z), the last a check character.

/// Why a text is not a valid credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters.
    #[error("统一社会信用代码应为 18 位，实际为 {0} 位")]
    Length(usize),
    /// A character outside the code's alphabet.
    #[error("统一社会信用代码不能包含“{0}”（不使用 I、O、S、V、Z）")]
    Character(char),
    /// The check character does not match.
    #[error("统一社会信用代码校验位错误：按前 17 位计算，最后一位应为 {expected}")]
    BadCheck {
        /// What it should be.
        expected: char,
    },
}

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (which must be in the alphabet).
pub fn check_char(first17: &[u8]) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    Some(ALPHABET[((31 - sum % 31) % 31) as usize] as char)
}

/// A checked credit code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses and checks a code (lower case and spaces tolerated).
    pub fn parse(text: &str) -> Result<CreditCode, CreditCodeError> {
        let s: String = text
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let n = s.chars().count();
        if n != 18 {
            return Err(CreditCodeError::Length(n));
        }
        if let Some(bad) = s.bytes().find(|b| value(*b).is_none()) {
            return Err(CreditCodeError::Character(bad as char));
        }
        let expected = check_char(&s.as_bytes()[..17]).expect("alphabet checked");
        if s.as_bytes()[17] as char != expected {
            return Err(CreditCodeError::BadCheck { expected });
        }
        Ok(CreditCode(s))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_code_passes_and_a_wrong_check_character_is_named() {
        assert!(CreditCode::parse("52430302MJ5000001X").is_ok());
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert_eq!(
            CreditCode::parse("52430302MJ5000001Y"),
            Err(CreditCodeError::BadCheck { expected: 'X' })
        );
        assert_eq!(
            CreditCode::parse("52430302MJ50000O1X"),
            Err(CreditCodeError::Character('O'))
        );
        assert_eq!(CreditCode::parse("5243"), Err(CreditCodeError::Length(4)));
    }
}
