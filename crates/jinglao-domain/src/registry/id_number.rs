//! Resident identity card numbers (公民身份号码), GB 11643-1999.
//!
//! 18 characters: a 6-digit address code (the county of household registration when the number
//! was issued; it may since have been retired, so it is not checked against today's list), an
//! 8-digit birth date, a 3-digit sequence number (odd for men, even for women) and a check
//! character computed with ISO 7064 MOD 11-2.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Sex, as encoded in the ID number and recorded in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 男.
    Male,
    /// 女.
    Female,
}

impl Sex {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
    /// From a stable name or a Chinese label.
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim() {
            "male" | "男" => Some(Sex::Male),
            "female" | "女" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// Why a text is not a valid ID number. Each is a different message, as the standard's users
/// need to know which part to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 18 characters.
    #[error("身份证号应为 18 位，实际为 {0} 位")]
    Length(usize),
    /// A character other than digits (and X last).
    #[error("身份证号只能由数字组成，最后一位可以是 X")]
    Characters,
    /// The birth date part is not a real date (or lies in the future / before 1850).
    #[error("身份证号中的出生日期 {0} 不是一个真实的日期")]
    ImpossibleBirthDate(String),
    /// The check character does not match.
    #[error("身份证号校验位错误：按前 17 位计算，最后一位应为 {expected}")]
    BadCheckDigit {
        /// What the last character should be.
        expected: char,
    },
}

/// Why an ID number disagrees with values entered beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdMismatch {
    /// The entered birth date differs from the one in the number.
    #[error("填写的出生日期 {entered} 与身份证号中的 {in_id} 不一致")]
    BirthDate {
        /// Entered.
        entered: NaiveDate,
        /// Encoded in the number.
        in_id: NaiveDate,
    },
    /// The entered sex differs from the one in the number.
    #[error("填写的性别“{entered}”与身份证号（第 17 位）表示的“{in_id}”不一致")]
    Sex {
        /// Entered.
        entered: &'static str,
        /// Encoded in the number.
        in_id: &'static str,
    },
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// A valid 18-character resident ID number (ASCII digits, upper-case X).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentId(String);

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| (d - b'0') as u32 * w)
        .sum();
    CHECK[(sum % 11) as usize] as char
}

/// Folds full-width digits and X (common in copied Chinese text) to ASCII, and x to X.
fn normalise(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            'Ｘ' | 'ｘ' | 'x' => 'X',
            other => other,
        })
        .collect()
}

impl ResidentId {
    /// Parses and checks an ID number.
    pub fn parse(text: &str) -> Result<ResidentId, IdNumberError> {
        let s = normalise(text);
        let n = s.chars().count();
        if n != 18 {
            return Err(IdNumberError::Length(n));
        }
        let b = s.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(IdNumberError::Characters);
        }
        let date_text = &s[6..14];
        let date = NaiveDate::parse_from_str(date_text, "%Y%m%d")
            .ok()
            .filter(|d| d.year() >= 1850);
        if date.is_none() {
            return Err(IdNumberError::ImpossibleBirthDate(format!(
                "{}-{}-{}",
                &date_text[..4],
                &date_text[4..6],
                &date_text[6..]
            )));
        }
        let expected = check_char(&b[..17]);
        if b[17] as char != expected {
            return Err(IdNumberError::BadCheckDigit { expected });
        }
        Ok(ResidentId(s))
    }

    /// Builds a number from its first 17 digits, adding the check character (for synthetic
    /// data). Panics if `first17` is not 17 ASCII digits.
    pub fn from_first17(first17: &str) -> ResidentId {
        assert!(first17.len() == 17 && first17.bytes().all(|b| b.is_ascii_digit()));
        let c = check_char(first17.as_bytes());
        ResidentId(format!("{first17}{c}"))
    }

    /// The 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date encoded in the number.
    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked at parse")
    }

    /// The sex encoded in the number (17th digit: odd = male).
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The 6-digit address code.
    pub fn area_code(&self) -> &str {
        &self.0[..6]
    }

    /// The masked form shown on screen: `4303*************4` — the city prefix and the check
    /// character. Nothing else may show: with the birth date (on the record page) and the
    /// county (the household register) beside it, any of the sequence digits 15–17 would
    /// leave one candidate, since the check character fixes the rest.
    pub fn masked(&self) -> String {
        format!("{}*************{}", &self.0[..4], &self.0[17..])
    }

    /// Whether the birth date and sex agree with values entered beside the number.
    pub fn check_entered(
        &self,
        birth_date: Option<NaiveDate>,
        sex: Option<Sex>,
    ) -> Result<(), IdMismatch> {
        if let Some(d) = birth_date
            && d != self.birth_date()
        {
            return Err(IdMismatch::BirthDate {
                entered: d,
                in_id: self.birth_date(),
            });
        }
        if let Some(s) = sex
            && s != self.sex()
        {
            return Err(IdMismatch::Sex {
                entered: s.label(),
                in_id: self.sex().label(),
            });
        }
        Ok(())
    }
}

/// Age in whole years on `on` for someone born on `birth`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the full number in logs or panics.
        write!(f, "ResidentId({})", self.masked())
    }
}

impl TryFrom<String> for ResidentId {
    type Error = IdNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ResidentId::parse(&s)
    }
}

impl From<ResidentId> for String {
    fn from(r: ResidentId) -> String {
        r.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_examples_are_valid() {
        let a = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(
            a.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(a.sex(), Sex::Female);
        assert_eq!(a.area_code(), "110105");
        let b = ResidentId::parse("440524188001010014").unwrap();
        assert_eq!(b.birth_date(), NaiveDate::from_ymd_opt(1880, 1, 1).unwrap());
        assert_eq!(b.sex(), Sex::Male);
    }

    #[test]
    fn a_wrong_check_digit_is_refused_saying_what_it_should_be() {
        assert_eq!(
            ResidentId::parse("110105194912310021"),
            Err(IdNumberError::BadCheckDigit { expected: 'X' })
        );
    }

    #[test]
    fn an_impossible_birth_date_is_its_own_error() {
        let first17 = "43030219490230001";
        let with_check = format!("{first17}{}", check_char(first17.as_bytes()));
        assert!(matches!(
            ResidentId::parse(&with_check),
            Err(IdNumberError::ImpossibleBirthDate(d)) if d == "1949-02-30"
        ));
    }

    #[test]
    fn lower_case_x_and_full_width_digits_are_accepted_and_normalised() {
        let a = ResidentId::parse("11010519491231002x").unwrap();
        assert_eq!(a.as_str(), "11010519491231002X");
        let b = ResidentId::parse("４４０５２４１８８００１０１００１４").unwrap();
        assert_eq!(b.as_str(), "440524188001010014");
    }

    #[test]
    fn length_and_characters_are_checked_first() {
        assert_eq!(ResidentId::parse("4303"), Err(IdNumberError::Length(4)));
        assert_eq!(
            ResidentId::parse("43030219490101A01X"),
            Err(IdNumberError::Characters)
        );
    }

    #[test]
    fn the_mask_keeps_the_city_prefix_and_the_check_character_only() {
        let b = ResidentId::parse("440524188001010014").unwrap();
        assert_eq!(b.masked(), "4405*************4");
        assert_eq!(format!("{b:?}"), "ResidentId(4405*************4)");
    }

    #[test]
    fn the_mask_with_the_birth_date_and_the_county_still_leaves_dozens_of_numbers() {
        // What a clerk sees together: the mask, the exact birth date (record page) and the
        // household county. Every sequence number of that sex is a candidate whose check
        // character matches the mask's.
        let real = ResidentId::parse("440524188001010014").unwrap();
        let mask = real.masked();
        let candidates = (0..1000)
            .map(|seq| format!("440524{}{seq:03}", "18800101"))
            .map(|first17| ResidentId::from_first17(&first17))
            .filter(|id| id.sex() == real.sex() && id.masked() == mask)
            .count();
        assert!(candidates >= 30, "{candidates} candidates");
    }

    #[test]
    fn entered_values_that_disagree_with_the_number_are_reported() {
        let b = ResidentId::parse("440524188001010014").unwrap();
        assert!(b.check_entered(None, Some(Sex::Male)).is_ok());
        assert!(matches!(
            b.check_entered(None, Some(Sex::Female)),
            Err(IdMismatch::Sex { .. })
        ));
        assert!(matches!(
            b.check_entered(NaiveDate::from_ymd_opt(1880, 1, 2), None),
            Err(IdMismatch::BirthDate { .. })
        ));
    }

    #[test]
    fn ages_count_whole_years() {
        let birth = NaiveDate::from_ymd_opt(1946, 11, 24).unwrap();
        assert_eq!(
            age_on(birth, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
            79
        );
        assert_eq!(
            age_on(birth, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()),
            80
        );
    }

    proptest::proptest! {
        #[test]
        fn every_generated_number_parses_back(seq in 0u32..1000, days in 0i64..40000) {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            let first17 = format!("430302{}{:03}", birth.format("%Y%m%d"), seq);
            let id = ResidentId::from_first17(&first17);
            let parsed = ResidentId::parse(id.as_str()).unwrap();
            proptest::prop_assert_eq!(parsed.birth_date(), birth);
        }
    }
}
