//! Account names and the password policy.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A login name: 3–32 characters of `a-z 0-9 _ . -`, starting with a letter or digit.
/// Upper-case input is folded to lower case so that `ZhangSan` and `zhangsan` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

/// Why a login name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Outside 3..=32 characters.
    #[error("用户名应为 3 到 32 个字符")]
    Length,
    /// A character outside the allowed set.
    #[error("用户名只能包含小写字母、数字、下划线、点和连字符")]
    Characters,
    /// Starts with punctuation.
    #[error("用户名应以字母或数字开头")]
    Start,
}

impl Username {
    /// Parses and normalises a login name.
    pub fn parse(text: &str) -> Result<Self, UsernameError> {
        let s = text.trim().to_ascii_lowercase();
        if !(3..=32).contains(&s.chars().count()) {
            return Err(UsernameError::Length);
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
        {
            return Err(UsernameError::Characters);
        }
        if !s.as_bytes()[0].is_ascii_alphanumeric() {
            return Err(UsernameError::Start);
        }
        Ok(Username(s))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Username::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a password is refused. Messages are shown to the user as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Shorter than the minimum.
    #[error("密码至少需要 {0} 个字符")]
    TooShort(usize),
    /// Longer than the maximum (hashing very long inputs is a denial-of-service vector).
    #[error("密码不能超过 {0} 个字符")]
    TooLong(usize),
    /// All characters of one class.
    #[error("密码不能只由一类字符组成，请混合使用字母、数字或符号中的至少两类")]
    OneClass,
    /// Contains the user name.
    #[error("密码不能包含用户名")]
    ContainsUsername,
    /// On the list of passwords that attackers try first.
    #[error("这个密码过于常见，请换一个")]
    Common,
}

/// The minimum password policy (length ≥ 10, not all one character class).
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_len: usize,
    /// Maximum length in characters.
    pub max_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_len: 10,
            max_len: 128,
        }
    }
}

/// Passwords seen at the top of leaked-password lists (including Chinese favourites) that
/// still pass the length and class rules.
const COMMON: &[&str] = &[
    "password123",
    "password1234",
    "passw0rd123",
    "qwerty12345",
    "qwertyuiop1",
    "1234567890a",
    "a123456789",
    "a1234567890",
    "123456789a",
    "1qaz2wsx3edc",
    "1q2w3e4r5t",
    "woaini1314",
    "woaini5201314",
    "iloveyou123",
    "admin12345",
    "admin123456",
    "abc1234567",
    "abcd123456",
    "zxcvbnm123",
    "p@ssw0rd123",
];

impl PasswordPolicy {
    /// Checks `password` for the account `username`.
    pub fn check(&self, username: &str, password: &str) -> Result<(), PasswordError> {
        let len = password.chars().count();
        if len < self.min_len {
            return Err(PasswordError::TooShort(self.min_len));
        }
        if len > self.max_len {
            return Err(PasswordError::TooLong(self.max_len));
        }
        let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
        for c in password.chars() {
            match c {
                'a'..='z' => lower = true,
                'A'..='Z' => upper = true,
                '0'..='9' => digit = true,
                _ => other = true,
            }
        }
        if [lower, upper, digit, other].iter().filter(|&&b| b).count() < 2 {
            return Err(PasswordError::OneClass);
        }
        let folded = password.to_lowercase();
        if username.len() >= 3 && folded.contains(&username.to_lowercase()) {
            return Err(PasswordError::ContainsUsername);
        }
        if COMMON.contains(&folded.as_str()) {
            return Err(PasswordError::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_folded_to_lower_case_and_limited_to_a_safe_alphabet() {
        assert_eq!(Username::parse(" ZhangSan ").unwrap().as_str(), "zhangsan");
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse("张三丰"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("_admin"), Err(UsernameError::Start));
        assert!(Username::parse("demo_county.staff-1").is_ok());
    }

    #[test]
    fn passwords_need_ten_characters_of_at_least_two_classes() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("u", "Ab1"), Err(PasswordError::TooShort(10)));
        assert_eq!(p.check("u", "abcdefghijkl"), Err(PasswordError::OneClass));
        assert_eq!(p.check("u", "12345678901"), Err(PasswordError::OneClass));
        assert_eq!(
            p.check("u", "养老服务综合管理平台好"),
            Err(PasswordError::OneClass)
        );
        assert!(p.check("u", "湘潭养老2026年服务").is_ok());
        assert!(p.check("u", "correct horse battery").is_ok());
        assert!(p.check("u", "Tr0ub4dor&3x").is_ok());
    }

    #[test]
    fn passwords_may_not_contain_the_user_name_or_be_common() {
        let p = PasswordPolicy::default();
        assert_eq!(
            p.check("zhangsan", "Zhangsan2026!"),
            Err(PasswordError::ContainsUsername)
        );
        assert_eq!(p.check("u", "Woaini1314"), Err(PasswordError::Common));
    }

    #[test]
    fn very_long_passwords_are_refused() {
        let p = PasswordPolicy::default();
        let long = "a1".repeat(65);
        assert_eq!(p.check("u", &long), Err(PasswordError::TooLong(128)));
    }
}

/// An account as the rest of the system sees it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Id (UUID v7).
    pub id: uuid::Uuid,
    /// Login name.
    pub username: Username,
    /// Name shown on screen (真实姓名或岗位名).
    pub display_name: String,
    /// Role.
    pub role: crate::Role,
    /// Home region: the root of a staff scope; the provider's region for provider roles.
    pub region_code: crate::RegionCode,
    /// The provider, for provider roles.
    pub provider_id: Option<uuid::Uuid>,
    /// Must choose a new password at next sign-in (after an admin reset).
    pub must_change_password: bool,
    /// Inactive accounts cannot sign in and their sessions and tokens stop working.
    pub active: bool,
    /// Large-print (适老化) display preference.
    pub large_print: bool,
    /// When the password was last set.
    pub password_changed_at: chrono::DateTime<chrono::Utc>,
    /// Last successful sign-in.
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Address of the last successful sign-in.
    pub last_login_ip: Option<String>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Account {
    /// The data this account may reach.
    pub fn scope(&self) -> Result<crate::Scope, crate::scope::ScopeError> {
        crate::Scope::for_account(self.role, self.region_code, self.provider_id)
    }
}

/// Checks that a role, a region level and a provider fit together (a village worker must be
/// attached to a village, a caregiver to a provider…). Field names match the account forms.
pub fn check_role_attachment(
    role: crate::Role,
    region_level: crate::RegionLevel,
    has_provider: bool,
) -> crate::Invalid {
    let mut inv = crate::Invalid::new();
    if let Some(required) = role.required_region_level()
        && required != region_level
    {
        inv.add(
            "region_code",
            format!(
                "{}必须隶属于{}区划，所选区划是{}",
                role.label(),
                required.label(),
                region_level.label()
            ),
        );
    }
    match (role.scope_kind(), has_provider) {
        (crate::ScopeKind::Provider, false) => inv.add(
            "provider_id",
            format!("{}必须关联一家服务机构", role.label()),
        ),
        (crate::ScopeKind::Provider, true) => {}
        (_, true) => inv.add(
            "provider_id",
            format!("{}不能关联服务机构，请留空", role.label()),
        ),
        (_, false) => {}
    }
    inv
}

#[cfg(test)]
mod attachment_tests {
    use super::*;
    use crate::{RegionLevel, Role};

    #[test]
    fn a_village_worker_must_be_attached_to_a_village() {
        let inv = check_role_attachment(Role::VillageStaff, RegionLevel::County, false);
        assert!(inv.get("region_code").unwrap().contains("村（社区）"));
        assert!(check_role_attachment(Role::VillageStaff, RegionLevel::Village, false).is_empty());
    }

    #[test]
    fn provider_roles_need_a_provider_and_others_must_not_have_one() {
        assert!(
            check_role_attachment(Role::Caregiver, RegionLevel::County, false)
                .get("provider_id")
                .is_some()
        );
        assert!(check_role_attachment(Role::Caregiver, RegionLevel::County, true).is_empty());
        assert!(
            check_role_attachment(Role::Finance, RegionLevel::City, true)
                .get("provider_id")
                .is_some()
        );
    }
}
