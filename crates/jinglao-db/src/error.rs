//! Storage errors, with constraint violations turned into something a form can show.

use jinglao_domain::Invalid;

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The configuration (URL, options) is unusable.
    #[error("{0}")]
    Config(String),
    /// Migrations are missing, edited or newer than this program.
    #[error("{0}")]
    Migration(String),
    /// A unique constraint refused the write. `constraint` is `table.column`.
    #[error("违反唯一约束：{constraint}")]
    Conflict {
        /// Which constraint, as `table.column`.
        constraint: String,
    },
    /// A referenced record does not exist.
    #[error("引用的记录不存在")]
    ForeignKey,
    /// The record was not found (or is outside the caller's scope).
    #[error("记录不存在")]
    NotFound,
    /// An older person with this ID number is already registered.
    #[error("这个身份证号已登记")]
    DuplicateElder {
        /// The existing record.
        existing_id: uuid::Uuid,
        /// Where the existing record lives.
        region_code: jinglao_domain::RegionCode,
    },
    /// The record exists and is in scope, but this actor may not act on it (a caregiver on
    /// another caregiver's visit). The text says why.
    #[error("{0}")]
    Forbidden(String),
    /// Input failed validation against data in the database.
    #[error("{0}")]
    Invalid(Invalid),
    /// Stored data that cannot be turned into a domain value (a bug or a hand edit).
    #[error("数据库中的数据无效：{0}")]
    Corrupt(String),
    /// Anything else from the driver.
    #[error(transparent)]
    Sqlx(sqlx::Error),
}

impl From<Invalid> for DbError {
    fn from(i: Invalid) -> Self {
        DbError::Invalid(i)
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e {
            if d.is_unique_violation() {
                return DbError::Conflict {
                    constraint: constraint_name(d.as_ref()),
                };
            }
            if d.is_foreign_key_violation() {
                return DbError::ForeignKey;
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return DbError::NotFound;
        }
        DbError::Sqlx(e)
    }
}

/// Normalises a unique-constraint name to `table.column`. PostgreSQL reports the index name,
/// which by our convention is `<table>_<column>_uq`; SQLite reports
/// `UNIQUE constraint failed: table.column`.
fn constraint_name(d: &dyn sqlx::error::DatabaseError) -> String {
    if let Some(name) = d.constraint()
        && let Some(stem) = name.strip_suffix("_uq")
    {
        for (index, normal) in KNOWN_UNIQUE {
            if *index == stem {
                return normal.to_string();
            }
        }
        return stem.to_string();
    }
    let msg = d.message();
    if let Some(rest) = msg.strip_prefix("UNIQUE constraint failed: ") {
        return rest.split(',').next().unwrap_or(rest).trim().to_string();
    }
    msg.to_string()
}

/// Unique indexes (name without `_uq`) and the `table.column` they protect.
const KNOWN_UNIQUE: &[(&str, &str)] = &[
    ("users_username", "users.username"),
    ("providers_credit_code", "providers.credit_code"),
    ("api_tokens_token_hash", "api_tokens.token_hash"),
    ("elders_id_hash", "elders.id_hash"),
    ("beds_place", "beds.facility_id"),
    ("stays_open_bed", "stays.bed_id"),
    ("stays_open_elder", "stays.elder_id"),
    ("waiting_list_open", "waiting_list.facility_id"),
    ("staff_id_hash", "staff.id_hash"),
    ("family_beds_active", "family_beds.elder_id"),
    ("family_bed_devices_serial", "family_bed_devices.kind"),
    ("credit_records_decision", "credit_records.provider_id"),
    ("purchase_bids_provider_id", "purchase_bids.project_id"),
    (
        "purchase_contracts_contract_no",
        "purchase_contracts.contract_no",
    ),
    ("payment_batches_batch_no", "payment_batches.batch_no"),
    (
        "purchase_evaluations_contract_year",
        "purchase_evaluations.contract_id",
    ),
    (
        "payment_batch_lines_live",
        "payment_batch_lines.statement_id",
    ),
    (
        "assessment_agencies_credit_code",
        "assessment_agencies.credit_code",
    ),
];

impl DbError {
    /// Whether this is a unique violation on `table.column`.
    pub fn is_conflict_on(&self, table_column: &str) -> bool {
        matches!(self, DbError::Conflict { constraint } if constraint == table_column)
    }

    /// Whether the database reported a transient lock or serialisation failure worth retrying.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(d)) => {
                let code = d.code().unwrap_or_default();
                // SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED (and extended codes ending in them);
                // PostgreSQL: 40001 serialization_failure, 40P01 deadlock_detected.
                matches!(code.as_ref(), "5" | "6" | "517" | "40001" | "40P01")
            }
            DbError::Sqlx(sqlx::Error::PoolTimedOut) => true,
            _ => false,
        }
    }
}
