//! Providers' credit records: recording a 失信 listing or an administrative penalty against a
//! provider in scope, revoking one (信用修复, a decision overturned) with the day and reason,
//! and reading them for the gates (`providers::blacklisted_among`, `ratings::apply`). The rules
//! themselves are in `jinglao_domain::credit`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::credit::{CreditKind, CreditRecord};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::{Invalid, Permission, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, on_conn};

/// A stored record with who recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Id.
    pub id: Uuid,
    /// The provider.
    pub provider_id: Uuid,
    /// The record.
    pub record: CreditRecord,
    /// Why it was revoked, if it was.
    pub revoke_reason: Option<String>,
    /// Who recorded it: the account's display name.
    pub recorded_by_name: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    provider_id: Uuid,
    kind: String,
    decision_no: String,
    authority: String,
    decided_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    summary: String,
    revoked_on: Option<NaiveDate>,
    revoke_reason: Option<String>,
    recorded_by_name: String,
}

impl TryFrom<Row> for StoredRecord {
    type Error = DbError;
    fn try_from(r: Row) -> Result<Self, DbError> {
        let kind = CreditKind::parse(&r.kind)
            .ok_or_else(|| DbError::Corrupt(format!("credit record kind {}", r.kind)))?;
        Ok(StoredRecord {
            id: r.id,
            provider_id: r.provider_id,
            record: CreditRecord {
                kind,
                decision_no: r.decision_no,
                authority: r.authority,
                decided_on: r.decided_on,
                ends_on: r.ends_on,
                revoked_on: r.revoked_on,
                summary: r.summary,
            },
            revoke_reason: r.revoke_reason,
            recorded_by_name: r.recorded_by_name,
        })
    }
}

/// A record with its provider's region.
#[derive(sqlx::FromRow)]
struct WithRegion {
    region_code: String,
    #[sqlx(flatten)]
    row: Row,
}

/// The records with the recording account's display name (its user name as recorded when the
/// account is gone).
const COLUMNS: &str = "SELECT r.id, r.provider_id, r.kind, r.decision_no, r.authority, r.decided_on, \
    r.ends_on, r.summary, r.revoked_on, r.revoke_reason, \
    COALESCE(u.display_name, r.recorded_by_name) AS recorded_by_name \
    FROM credit_records r LEFT JOIN users u ON u.id = r.recorded_by";

/// A provider's records, newest decision first.
pub async fn of_provider(
    conn: &mut Conn<'_>,
    provider_id: Uuid,
) -> Result<Vec<StoredRecord>, DbError> {
    let sql = format!("{COLUMNS} WHERE r.provider_id = $1 ORDER BY r.decided_on DESC, r.id DESC");
    let rows: Vec<Row> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(provider_id)
            .fetch_all(&mut *c)
            .await
    })?;
    rows.into_iter().map(StoredRecord::try_from).collect()
}

/// A provider's credit records that can bar anything (not ordinary penalties), with the
/// years its own region's `credit.fraud_bar_years` gives a fraud penalty: load once, ask for
/// any day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderCredit {
    records: Vec<CreditRecord>,
    fraud_bar_years: u32,
}

impl ProviderCredit {
    /// Why the provider may not take part in government purchase on `day`, if it may not.
    pub fn purchase_bar(&self, day: NaiveDate) -> Option<String> {
        jinglao_domain::credit::purchase_bar(&self.records, day, self.fraud_bar_years)
    }

    /// Why the provider's facilities may not be rated on `day`, if they may not.
    pub fn rating_bar(&self, day: NaiveDate) -> Option<String> {
        jinglao_domain::credit::rating_bar(&self.records, day, self.fraud_bar_years)
    }
}

/// The credit of those of `ids` that have a record that can bar anything (one query; the
/// policy parameters are read only when some provider has one).
pub async fn credit_among(
    conn: &mut Conn<'_>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, ProviderCredit>, DbError> {
    let mut found: HashMap<Uuid, (String, Vec<CreditRecord>)> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<WithRegion> = on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT p.region_code, r.id, r.provider_id, r.kind, r.decision_no, r.authority, \
                 r.decided_on, r.ends_on, r.summary, r.revoked_on, r.revoke_reason, r.recorded_by_name \
                 FROM credit_records r JOIN providers p ON p.id = r.provider_id \
                 WHERE r.kind <> 'penalty' AND r.provider_id IN ",
            );
            crate::scope_sql::push_id_list(&mut q, chunk);
            q.build_query_as::<WithRegion>().fetch_all(&mut *c).await
        })?;
        for WithRegion {
            region_code: region,
            row,
        } in rows
        {
            let s = StoredRecord::try_from(row)?;
            found
                .entry(s.provider_id)
                .or_insert_with(|| (region, Vec::new()))
                .1
                .push(s.record);
        }
    }
    if found.is_empty() {
        return Ok(HashMap::new());
    }
    let book = crate::policy::load(conn).await?;
    found
        .into_iter()
        .map(|(id, (region, records))| {
            let region = jinglao_domain::RegionCode::parse(&region)
                .map_err(|e| DbError::Corrupt(format!("provider {id} region: {e}")))?;
            let years = book.int(PolicyKey::CreditFraudBarYears, &region).max(0) as u32;
            Ok((
                id,
                ProviderCredit {
                    records,
                    fraud_bar_years: years,
                },
            ))
        })
        .collect()
}

/// One provider's credit (empty when it has no record that can bar anything).
pub async fn credit_of(conn: &mut Conn<'_>, id: Uuid) -> Result<ProviderCredit, DbError> {
    Ok(credit_among(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default())
}

/// Records a credit record (checked by `CreditDraft::validate`) against a provider in the
/// actor's scope. The same decision and
/// kind twice is refused by name (a retried form changes nothing). A record that bars
/// government purchase today cancels the provider's government-paid visits not yet started,
/// in the same transaction. Audited, with the cancelled orders.
pub async fn record(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    rec: &CreditRecord,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    if !actor.may(Permission::RecordCredit) {
        return Err(DbError::Forbidden("登记信用记录".into()));
    }
    let today = jinglao_domain::clock::china_date(now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let provider = provider_in_scope(&mut conn, &actor.scope, provider_id).await?;
    let id = Uuid::now_v7();
    let inserted = on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO credit_records (id, provider_id, kind, decision_no, authority, decided_on, \
             ends_on, summary, recorded_by, recorded_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id).bind(provider_id).bind(rec.kind.as_str()).bind(&rec.decision_no)
        .bind(&rec.authority).bind(rec.decided_on).bind(rec.ends_on).bind(&rec.summary)
        .bind(actor.user_id).bind(&actor.name).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })
    .map_err(DbError::from);
    match inserted {
        Err(e) if e.is_conflict_on("credit_records.provider_id") => {
            return Err(Invalid::one(
                "decision_no",
                format!("这份决定书（{}）已经登记过", rec.decision_no),
            )
            .into());
        }
        other => other?,
    };
    // A record that bars government purchase today takes the provider off the visits the
    // government pays for that have not started; the people keep their entitlements and are
    // booked with another provider.
    let cancelled = match credit_of(&mut conn, provider_id).await?.purchase_bar(today) {
        Some(why) => {
            let reason = format!("服务机构{why}，政府出资的服务单取消，请改派其他机构");
            let which = crate::orders::Unstarted::GovernmentPaidOf(provider_id, today);
            crate::orders::cancel_unstarted(&mut conn, which, &reason, now).await?
        }
        None => Vec::new(),
    };
    let event = Event::new("credit.record", "provider", provider_id)
        .region(Some(provider))
        .detail(json!({
            "record": id, "kind": rec.kind.label(), "decision_no": rec.decision_no,
            "authority": rec.authority, "decided_on": rec.decided_on, "ends_on": rec.ends_on,
            "summary": rec.summary, "orders_cancelled": cancelled,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Revokes a record of a provider in scope from `on` (not before its decision, not after
/// today), with the reason. A revoked record cannot be revoked again. Audited.
pub async fn revoke(
    w: &WriteCtx<'_>,
    record_id: Uuid,
    on: Option<NaiveDate>,
    reason: &str,
) -> Result<Uuid, DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    if !actor.may(Permission::RecordCredit) {
        return Err(DbError::Forbidden("撤销信用记录".into()));
    }
    let today = jinglao_domain::clock::china_date(now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let sql = format!("{COLUMNS} WHERE r.id = $1");
    let row: Option<Row> = on_conn!(&mut conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(record_id)
            .fetch_optional(&mut *c)
            .await
    })?;
    let stored = StoredRecord::try_from(row.ok_or(DbError::NotFound)?)?;
    let region = provider_in_scope(&mut conn, &actor.scope, stored.provider_id).await?;
    let mut inv = Invalid::new();
    if stored.record.revoked_on.is_some() {
        inv.add("record", "这条记录已经撤销");
    }
    match on {
        None => inv.add("revoked_on", "请填写撤销日期（年-月-日）"),
        Some(d) if d < stored.record.decided_on => inv.add(
            "revoked_on",
            format!("撤销日期不能早于决定日期 {}", stored.record.decided_on),
        ),
        Some(d) if d > today => inv.add("revoked_on", "撤销日期不能晚于今天"),
        Some(_) => {}
    }
    let reason = reason.trim();
    if reason.is_empty() {
        inv.add("revoke_reason", "请写明撤销原因，例如信用修复决定书文号");
    } else if reason.chars().count() > 500 {
        inv.add("revoke_reason", "撤销原因不能超过 500 个字");
    }
    let (Some(on), true) = (on, inv.is_empty()) else {
        return Err(inv.into());
    };
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE credit_records SET revoked_on = $2, revoke_reason = $3 WHERE id = $1 AND revoked_on IS NULL")
            .bind(record_id).bind(on).bind(reason).execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        // Another request revoked it between our read and this write.
        return Err(Invalid::one("record", "这条记录已经撤销").into());
    }
    let event = Event::new("credit.revoke", "provider", stored.provider_id)
        .region(Some(region))
        .detail(json!({
            "record": record_id, "decision_no": stored.record.decision_no,
            "revoked_on": on, "reason": reason,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(stored.provider_id)
}

/// The provider's region, when the provider is within `scope` (otherwise not found).
async fn provider_in_scope(
    conn: &mut Conn<'_>,
    scope: &Scope,
    provider_id: Uuid,
) -> Result<jinglao_domain::RegionCode, DbError> {
    // A provider's own account never records credit about anyone, itself included.
    if matches!(scope, Scope::Provider { .. }) {
        return Err(DbError::NotFound);
    }
    crate::providers::get(conn, scope, provider_id)
        .await?
        .map(|p| p.region_code)
        .ok_or(DbError::NotFound)
}
