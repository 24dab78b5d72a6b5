//! Providers' credit records: recording a 失信 listing or an administrative penalty against a
//! provider in scope, revoking one (信用修复, a decision overturned) with the day and reason,
//! and reading them for the gates (`providers::blacklisted_among`, `ratings::apply`). The rules
//! themselves are in `jinglao_domain::credit`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::credit::{CreditDraft, CreditKind, CreditRecord};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::{Invalid, Permission, Scope};
use serde_json::json;
use uuid::Uuid;

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
    /// The account that recorded it.
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

const COLUMNS: &str = "SELECT id, provider_id, kind, decision_no, authority, decided_on, ends_on, \
    summary, revoked_on, revoke_reason, recorded_by_name FROM credit_records";

/// A provider's records, newest decision first.
pub async fn of_provider(
    conn: &mut Conn<'_>,
    provider_id: Uuid,
) -> Result<Vec<StoredRecord>, DbError> {
    let sql = format!("{COLUMNS} WHERE provider_id = $1 ORDER BY decided_on DESC, id DESC");
    let rows: Vec<Row> = on_conn!(conn, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(provider_id).fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(StoredRecord::try_from).collect()
}

/// The records of `ids` that could bar anything (not ordinary penalties), by provider.
pub async fn barring_among(
    conn: &mut Conn<'_>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<CreditRecord>>, DbError> {
    let mut out: HashMap<Uuid, Vec<CreditRecord>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for chunk in ids.chunks(500) {
        let rows: Vec<Row> = on_conn!(conn, c => {
            let mut q = sqlx::QueryBuilder::new(COLUMNS);
            q.push(" WHERE kind <> 'penalty' AND provider_id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            q.build_query_as::<Row>().fetch_all(&mut *c).await
        })?;
        for r in rows {
            let s = StoredRecord::try_from(r)?;
            out.entry(s.provider_id).or_default().push(s.record);
        }
    }
    Ok(out)
}

/// What a provider's credit records bar on a day, each with its reason in words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bars {
    /// Why the provider may not take part in government purchase, if it may not.
    pub purchase: Option<String>,
    /// Why the provider's facilities may not be rated, if they may not.
    pub rating: Option<String>,
}

/// What the credit records of `ids` bar on `day`, for the providers barred from anything: the
/// years of a fraud penalty are those of the provider's own region (`credit.fraud_bar_years`).
pub async fn bars_among(
    conn: &mut Conn<'_>,
    ids: &[Uuid],
    day: NaiveDate,
) -> Result<HashMap<Uuid, Bars>, DbError> {
    let records = barring_among(conn, ids).await?;
    let mut out = HashMap::new();
    if records.is_empty() {
        return Ok(out);
    }
    let book = crate::policy::load(conn).await?;
    let regions: Vec<(Uuid, String)> = on_conn!(conn, c => {
        let mut q = sqlx::QueryBuilder::new("SELECT id, region_code FROM providers WHERE id IN (");
        let mut sep = q.separated(", ");
        for id in records.keys() {
            sep.push_bind(*id);
        }
        q.push(")");
        q.build_query_as::<(Uuid, String)>().fetch_all(&mut *c).await
    })?;
    for (id, region) in regions {
        let region = jinglao_domain::RegionCode::parse(&region)
            .map_err(|e| DbError::Corrupt(format!("provider {id} region: {e}")))?;
        let years = book.int(PolicyKey::CreditFraudBarYears, &region).max(0) as u32;
        let recs = &records[&id];
        let bars = Bars {
            purchase: jinglao_domain::credit::purchase_bar(recs, day, years),
            rating: jinglao_domain::credit::rating_bar(recs, day, years),
        };
        if bars != Bars::default() {
            out.insert(id, bars);
        }
    }
    Ok(out)
}

/// Records a credit record against a provider in the actor's scope. The same decision and
/// kind twice is refused by name (a retried form changes nothing). A record that bars
/// government purchase today cancels the provider's government-paid visits not yet started,
/// in the same transaction. Audited, with the cancelled orders.
pub async fn record(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    draft: &CreditDraft<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    if !actor.may(Permission::RecordCredit) {
        return Err(DbError::Forbidden("登记信用记录".into()));
    }
    let today = jinglao_domain::clock::china_date(now);
    let rec = draft.validate(today)?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let provider = provider_in_scope(&mut conn, &actor.scope, provider_id).await?;
    let id = Uuid::now_v7();
    let inserted = on_conn!(&mut conn, c => {
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
    let cancelled = match bars_among(&mut conn, &[provider_id], today)
        .await?
        .remove(&provider_id)
        .and_then(|b| b.purchase)
    {
        Some(why) => {
            let reason = format!("服务机构{why}，政府出资的服务单取消，请改派其他机构");
            on_conn!(&mut conn, c => {
                sqlx::query_scalar::<_, Uuid>(
                    "UPDATE service_orders SET status = 'cancelled', end_reason = $2, updated_at = $3 \
                     WHERE provider_id = $1 AND status = 'booked' AND service_on >= $4 \
                     AND funding IN ('entitlement', 'voucher') \
                     AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.order_id = service_orders.id) \
                     RETURNING id",
                )
                .bind(provider_id).bind(&reason).bind(now).bind(today)
                .fetch_all(&mut *c).await
            })?
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
#[allow(clippy::too_many_arguments)]
pub async fn revoke(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    record_id: Uuid,
    on: Option<NaiveDate>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    if !actor.may(Permission::RecordCredit) {
        return Err(DbError::Forbidden("撤销信用记录".into()));
    }
    let today = jinglao_domain::clock::china_date(now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let sql = format!("{COLUMNS} WHERE id = $1");
    let row: Option<Row> = on_conn!(&mut conn, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(record_id).fetch_optional(&mut *c).await
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
    let changed = on_conn!(&mut conn, c => {
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
