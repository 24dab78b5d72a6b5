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

/// A credit code as registered: checked, or accepted despite a failed check character by an
/// authorised override with its reason (GB 32100 notes that some early pilot-region codes do
/// not satisfy the check; refusing them for ever would lock real organisations out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCode {
    /// The code, upper case, spaces removed.
    pub code: String,
    /// The override's reason, when the check character did not match.
    pub override_reason: Option<String>,
}

/// Accepts `text` as a credit code: a valid code always; a code whose only fault is its check
/// character when `may_override` and a reason of at least 5 characters are given. Length and
/// alphabet faults are never overridden.
pub fn register(
    text: &str,
    override_reason: &str,
    may_override: bool,
) -> Result<RegisteredCode, String> {
    match CreditCode::parse(text) {
        Ok(c) => Ok(RegisteredCode {
            code: c.0,
            override_reason: None,
        }),
        Err(CreditCodeError::BadCheck { expected }) => {
            let reason = override_reason.trim();
            if !may_override {
                return Err(format!(
                    "{}；早期试点地区的非标准代码须由县级以上民政工作人员核实后登记",
                    CreditCodeError::BadCheck { expected }
                ));
            }
            if reason.chars().count() < 5 {
                return Err(format!(
                    "{}；如确属早期试点地区的非标准代码，请填写核实情况（至少 5 个字）",
                    CreditCodeError::BadCheck { expected }
                ));
            }
            Ok(RegisteredCode {
                code: text
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_uppercase(),
                override_reason: Some(reason.to_string()),
            })
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The registration authority (登记管理部门), from the code's first character.
pub fn authority_label(code: &str) -> &'static str {
    match code.as_bytes().first() {
        Some(b'1') => "机构编制",
        Some(b'5') => "民政",
        Some(b'9') => "市场监管（工商）",
        Some(b'Y') => "其他",
        _ => "未知",
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

    #[test]
    fn a_bad_check_character_is_accepted_only_by_an_authorised_override_with_a_reason() {
        let ok = register("52430302MJ5000001X", "", false).unwrap();
        assert_eq!(ok.override_reason, None);
        let refused = register("52430302MJ5000001Y", "", false).unwrap_err();
        assert!(refused.contains("县级以上民政"), "{refused}");
        let no_reason = register("52430302MJ5000001Y", "查", true).unwrap_err();
        assert!(no_reason.contains("核实情况"), "{no_reason}");
        let over = register(
            "52430302mj5000001y",
            "2015 年试点赋码，经登记机关核实",
            true,
        )
        .unwrap();
        assert_eq!(over.code, "52430302MJ5000001Y");
        assert!(over.override_reason.is_some());
        // Length and alphabet faults are never overridden.
        assert!(register("5243", "经登记机关核实无误", true).is_err());
        assert!(register("52430302MJ50000O1X", "经登记机关核实无误", true).is_err());
    }
}
