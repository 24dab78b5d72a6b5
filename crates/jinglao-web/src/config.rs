//! Typed, layered configuration: built-in defaults, then `config/default.toml`, then the file
//! named by `JINGLAO_CONFIG`, then `JINGLAO_*` environment variables (nested keys with `__`,
//! e.g. `JINGLAO_AUTH__LOCKOUT_MINUTES=30`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Development (safe defaults, secrets generated when missing) or production (every secret
/// must be provided).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Local use and the demo.
    Development,
    /// A real deployment.
    Production,
}

/// Everything the server needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Development or production.
    pub mode: Mode,
    /// `sqlite://path.db` or `postgres://user@host/db`.
    pub database_url: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// File with the 32-byte secret key (64 hex characters). Required in production.
    pub secret_key_file: Option<PathBuf>,
    /// The address users type, e.g. `https://yanglao.xiangtan.gov.cn`. Cookies are marked
    /// `Secure` when it starts with `https://`.
    pub public_url: Option<String>,
    /// Honour `X-Forwarded-For` / `X-Forwarded-Proto` (only behind a trusted reverse proxy).
    pub trust_proxy_headers: bool,
    /// Database pool.
    pub database: DatabaseSettings,
    /// Sign-in and session rules.
    pub auth: AuthSettings,
    /// Logging.
    pub log: LogSettings,
    /// Where evidence files are stored (outside the database; back it up with the database).
    #[serde(default = "default_files_dir")]
    pub files_dir: PathBuf,
    /// Anchors of the audit chain outside the database.
    #[serde(default)]
    pub audit: AuditSettings,
    /// The area the public pages serve (the bureau's city or county, as a region code): the
    /// self-check's first question, the finder's districts, the notices, the front page's
    /// contacts.
    #[serde(default = "default_public_region")]
    pub public_region: String,
    /// The gateway text messages go out through (`crate::sms`): `log` (the default) writes
    /// each message to the log and marks it sent, for a deployment without an SMS contract.
    #[serde(default = "default_sms_gateway")]
    pub sms_gateway: String,
    /// The OCDS prefix of this publisher's `ocid`s (`ocds-` and six letters or digits, issued by
    /// the Open Contracting Partnership); every purchase project is `<prefix>-<project id>`.
    #[serde(default = "default_ocds_prefix")]
    pub ocds_prefix: String,
    /// The publisher named in the OCDS packages (the bureau).
    #[serde(default = "default_ocds_publisher")]
    pub ocds_publisher: String,
}

fn default_ocds_prefix() -> String {
    "ocds-jl0000".into()
}

fn default_ocds_publisher() -> String {
    "湘潭市民政局".into()
}

fn default_public_region() -> String {
    "4303".into()
}

fn default_sms_gateway() -> String {
    "log".into()
}

/// Anchors of the audit chain (see `jinglao_db::audit_anchor`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditSettings {
    /// The append-only file the server writes the chain's head to (none: anchors only in the
    /// log). Make it append-only (`chattr +a`) or keep it where the database's users cannot
    /// write; `jinglao audit verify` reads it.
    pub anchor_file: Option<PathBuf>,
    /// An anchor at least this often while entries are added (minutes).
    pub anchor_every_minutes: i64,
    /// An anchor as soon as this many entries were added since the last.
    pub anchor_every_entries: i64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            anchor_file: Some(PathBuf::from("jinglao-audit-anchors.log")),
            anchor_every_minutes: 5,
            anchor_every_entries: 1000,
        }
    }
}

fn default_files_dir() -> PathBuf {
    PathBuf::from("jinglao-files")
}

/// Database pool settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseSettings {
    /// Maximum connections in the pool.
    pub max_connections: u32,
    /// How long SQLite waits on a lock, in milliseconds.
    pub busy_timeout_ms: u64,
}

/// Sign-in and session rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthSettings {
    /// Failed sign-ins that lock an account.
    pub max_failures_per_account: i32,
    /// Failed sign-ins that lock a client address. Offices behind one NAT address may need more.
    pub max_failures_per_ip: i32,
    /// How long a lock lasts (and the window in which failures add up).
    pub lockout_minutes: i64,
    /// A session ends after this long without a request.
    pub idle_timeout_minutes: i64,
    /// Roles whose sessions may be idle longer (or shorter), by role name: a caregiver's phone
    /// sits in a pocket through a visit of an hour or two, and its sign-in must outlast it
    /// without a script keeping it alive.
    #[serde(default = "default_idle_by_role")]
    pub idle_timeout_minutes_by_role: std::collections::BTreeMap<String, i64>,
    /// A session ends this long after sign-in, however active.
    pub absolute_timeout_hours: i64,
    /// Lifetime of tokens from `POST /api/v1/auth/token`.
    pub api_token_hours: i64,
    /// How long a verified API token is remembered by one server process (0 = check the
    /// database on every request). Revocation reaches other processes within this time.
    pub cache_seconds: i64,
}

fn default_idle_by_role() -> std::collections::BTreeMap<String, i64> {
    std::collections::BTreeMap::from([("caregiver".to_string(), 240)])
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: String,
    /// A tracing filter, e.g. `info` or `jinglao_web=debug,info`.
    pub filter: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Development,
            database_url: "sqlite://jinglao.db".into(),
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            secret_key_file: Some(PathBuf::from("jinglao.key")),
            public_url: None,
            trust_proxy_headers: false,
            database: DatabaseSettings {
                max_connections: 8,
                busy_timeout_ms: 5000,
            },
            auth: AuthSettings {
                max_failures_per_account: 5,
                max_failures_per_ip: 5,
                lockout_minutes: 15,
                idle_timeout_minutes: 30,
                idle_timeout_minutes_by_role: default_idle_by_role(),
                absolute_timeout_hours: 12,
                api_token_hours: 12,
                cache_seconds: 5,
            },
            log: LogSettings {
                format: "pretty".into(),
                filter: "info".into(),
            },
            files_dir: default_files_dir(),
            audit: AuditSettings::default(),
            public_region: default_public_region(),
            sms_gateway: default_sms_gateway(),
            ocds_prefix: default_ocds_prefix(),
            ocds_publisher: default_ocds_publisher(),
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("配置错误：{0}")]
pub struct ConfigError(String);

impl Settings {
    /// Loads settings from `dir/default.toml` (if present), the file named by
    /// `JINGLAO_CONFIG` (which must exist if named), and the environment.
    pub fn load(config_dir: &Path) -> Result<Settings, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        let default_file = config_dir.join("default.toml");
        if default_file.exists() {
            fig = fig.merge(Toml::file(&default_file));
        }
        if let Ok(extra) = std::env::var("JINGLAO_CONFIG") {
            let p = PathBuf::from(&extra);
            if !p.exists() {
                return Err(ConfigError(format!(
                    "JINGLAO_CONFIG 指向的文件 {extra} 不存在"
                )));
            }
            fig = fig.merge(Toml::file(p));
        }
        fig = fig.merge(Env::prefixed("JINGLAO_").split("__").ignore(&["config"]));
        let s: Settings = fig.extract().map_err(|e| ConfigError(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    /// Refuses settings that cannot work, naming the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.mode == Mode::Production && self.secret_key_file.is_none() {
            return Err(ConfigError(
                "生产模式必须设置 secret_key_file（或环境变量 JINGLAO_SECRET_KEY_FILE）".into(),
            ));
        }
        let a = &self.auth;
        for (name, v) in [
            (
                "auth.max_failures_per_account",
                a.max_failures_per_account as i64,
            ),
            ("auth.max_failures_per_ip", a.max_failures_per_ip as i64),
            ("auth.lockout_minutes", a.lockout_minutes),
            ("auth.idle_timeout_minutes", a.idle_timeout_minutes),
            ("auth.absolute_timeout_hours", a.absolute_timeout_hours),
            ("auth.api_token_hours", a.api_token_hours),
        ] {
            if v <= 0 {
                return Err(ConfigError(format!("{name} 必须大于 0，实际为 {v}")));
            }
        }
        for (role, minutes) in &a.idle_timeout_minutes_by_role {
            if role.parse::<jinglao_domain::Role>().is_err() {
                return Err(ConfigError(format!(
                    "auth.idle_timeout_minutes_by_role 中的“{role}”不是角色名"
                )));
            }
            if !(1..=a.absolute_timeout_hours * 60).contains(minutes) {
                return Err(ConfigError(format!(
                    "auth.idle_timeout_minutes_by_role.{role} 应在 1 到 {} 分钟之间（不超过会话最长时间），实际为 {minutes}",
                    a.absolute_timeout_hours * 60
                )));
            }
        }
        if self.audit.anchor_every_minutes <= 0 || self.audit.anchor_every_entries <= 0 {
            return Err(ConfigError(
                "audit.anchor_every_minutes 和 audit.anchor_every_entries 必须大于 0".into(),
            ));
        }
        if !crate::sms::GATEWAYS.contains(&self.sms_gateway.trim()) {
            return Err(ConfigError(format!(
                "sms_gateway 应为 {} 之一，实际为 {}",
                crate::sms::GATEWAYS.join("、"),
                self.sms_gateway
            )));
        }
        let prefix = self.ocds_prefix.trim();
        if prefix.len() != 11
            || !prefix.starts_with("ocds-")
            || !prefix[5..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(ConfigError(format!(
                "ocds_prefix 应为 ocds- 加 6 位小写字母或数字，实际为 {}",
                self.ocds_prefix
            )));
        }
        if jinglao_domain::RegionCode::parse(self.public_region.trim()).is_err() {
            return Err(ConfigError(format!(
                "public_region 应为行政区划代码（2、4、6、9 或 12 位数字），实际为 {}",
                self.public_region
            )));
        }
        if !(0..=60).contains(&a.cache_seconds) {
            return Err(ConfigError(format!(
                "auth.cache_seconds 应在 0 到 60 之间，实际为 {}",
                a.cache_seconds
            )));
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            return Err(ConfigError(format!(
                "log.format 应为 pretty 或 json，实际为 {}",
                self.log.format
            )));
        }
        Ok(())
    }

    /// Whether cookies must carry `Secure`.
    pub fn cookies_secure(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// The URL to print for people.
    pub fn display_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe_and_valid() {
        let s = Settings::default();
        assert!(s.check().is_ok());
        assert_eq!(s.auth.max_failures_per_account, 5);
        assert_eq!(s.auth.lockout_minutes, 15);
        assert!(!s.cookies_secure());
    }

    #[test]
    fn production_without_a_secret_key_file_is_refused_naming_the_key() {
        let s = Settings {
            mode: Mode::Production,
            secret_key_file: None,
            ..Settings::default()
        };
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("JINGLAO_SECRET_KEY_FILE"), "{e}");
    }

    #[test]
    fn https_public_urls_make_cookies_secure() {
        let s = Settings {
            public_url: Some("https://yanglao.example.gov.cn".into()),
            ..Settings::default()
        };
        assert!(s.cookies_secure());
    }

    #[test]
    fn the_shipped_configuration_files_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        for file in ["default.toml", "production.example.toml"] {
            let s: Settings = Figment::from(Serialized::defaults(Settings::default()))
                .merge(Toml::file(dir.join(file)))
                .extract()
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            s.check().unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }

    #[test]
    fn a_caregiver_stays_signed_in_through_a_visit_and_unknown_roles_are_refused() {
        let s = Settings::default();
        assert_eq!(
            s.auth.idle_timeout_minutes_by_role.get("caregiver"),
            Some(&240)
        );
        let mut bad = Settings::default();
        bad.auth
            .idle_timeout_minutes_by_role
            .insert("carer".into(), 60);
        assert!(bad.check().unwrap_err().to_string().contains("carer"));
        let mut long = Settings::default();
        long.auth
            .idle_timeout_minutes_by_role
            .insert("caregiver".into(), 13 * 60);
        assert!(long.check().is_err(), "longer than the session itself");
    }

    #[test]
    fn nonsense_limits_are_refused_naming_the_key() {
        let mut s = Settings::default();
        s.auth.idle_timeout_minutes = 0;
        assert!(
            s.check()
                .unwrap_err()
                .to_string()
                .contains("auth.idle_timeout_minutes")
        );
    }
}
