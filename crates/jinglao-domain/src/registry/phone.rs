//! Phone numbers: mainland mobile numbers and landlines with an area code.

use std::fmt;

/// Why a text is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Neither a mobile number nor a landline with area code.
    #[error("电话号码应为 11 位手机号，或带区号的固定电话（如 0731-58888888）")]
    Format,
}

/// A normalised phone number: 11 mobile digits, or `0` + area code + number (10–12 digits).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number, ignoring spaces, hyphens and a leading +86 / 86.
    pub fn parse(text: &str) -> Result<Phone, PhoneError> {
        let mut digits: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '（' | '）'))
            .map(|c| match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                other => other,
            })
            .collect();
        if let Some(rest) = digits.strip_prefix("+86") {
            digits = rest.to_string();
        } else if digits.len() == 13 && digits.starts_with("86") {
            digits = digits[2..].to_string();
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Format);
        }
        let b = digits.as_bytes();
        let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        let landline = (10..=12).contains(&b.len()) && b[0] == b'0' && b[1] != b'0';
        if mobile || landline {
            Ok(Phone(digits))
        } else {
            Err(PhoneError::Format)
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is a mobile number.
    pub fn is_mobile(&self) -> bool {
        self.0.starts_with('1')
    }

    /// The masked form: `138****5678` (mobile) or `0731****88` (landline).
    pub fn masked(&self) -> String {
        if self.is_mobile() {
            format!("{}****{}", &self.0[..3], &self.0[7..])
        } else {
            let n = self.0.len();
            format!("{}****{}", &self.0[..4], &self.0[n - 2..])
        }
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_and_landlines_are_accepted_in_the_usual_spellings() {
        assert_eq!(
            Phone::parse("138 0731 5678").unwrap().as_str(),
            "13807315678"
        );
        assert_eq!(
            Phone::parse("+86 13807315678").unwrap().as_str(),
            "13807315678"
        );
        assert_eq!(
            Phone::parse("0731-58888888").unwrap().as_str(),
            "073158888888"
        );
        assert_eq!(
            Phone::parse("(0731)5888888").unwrap().as_str(),
            "07315888888"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "12345",
            "23807315678",
            "5888888",
            "1380731567a",
            "00731588888",
        ] {
            assert_eq!(Phone::parse(bad), Err(PhoneError::Format), "{bad}");
        }
    }

    #[test]
    fn masks_hide_the_middle() {
        assert_eq!(Phone::parse("13807315678").unwrap().masked(), "138****5678");
        assert_eq!(
            Phone::parse("0731-58888888").unwrap().masked(),
            "0731****88"
        );
    }
}
