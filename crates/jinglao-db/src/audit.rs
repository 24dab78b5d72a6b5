//! The audit trail: appending entries inside the caller's transaction, listing them for
//! auditors within scope, and verifying the whole chain.

use chrono::{DateTime, Utc};
use jinglao_domain::audit::{AuditEntry, ChainBreak, ChainVerifier, truncate_to_micros};
use jinglao_domain::{RegionCode, Role, Scope};
use serde_json::Value;
use uuid::Uuid;

use crate::{Conn, Db, DbError, Tx, on_conn};

/// Who is acting, from where: every write function takes one, so no write goes unaudited.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The account, or `None` for the CLI and the system itself.
    pub user_id: Option<Uuid>,
    /// Account name, `cli:<os user>` or `system`.
    pub name: String,
    /// Role name, or `system`.
    pub role: String,
    /// The account's scope (what it may touch).
    pub scope: Scope,
    /// The account's own region (recorded on entries about the account itself).
    pub region: Option<RegionCode>,
    /// Client address.
    pub client_ip: Option<String>,
    /// Request id, shared with the logs.
    pub request_id: Option<String>,
}

impl Actor {
    /// Whether the actor's role allows `p` (the CLI and the system may do anything).
    pub fn may(&self, p: jinglao_domain::Permission) -> bool {
        self.user_id.is_none()
            || self
                .role
                .parse::<jinglao_domain::Role>()
                .is_ok_and(|r| r.allows(p))
    }

    /// An operator at the command line (full scope: they hold the database and the key).
    pub fn cli() -> Actor {
        let os_user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Actor {
            user_id: None,
            name: format!("cli:{os_user}"),
            role: "system".into(),
            scope: Scope::All,
            region: None,
            client_ip: None,
            request_id: None,
        }
    }

    /// The platform itself (seeding, scheduled jobs).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "system".into(),
            role: "system".into(),
            scope: Scope::All,
            region: None,
            client_ip: None,
            request_id: None,
        }
    }

    /// A signed-in account.
    pub fn user(user_id: Uuid, name: &str, role: Role, scope: Scope, region: RegionCode) -> Actor {
        Actor {
            user_id: Some(user_id),
            name: name.to_string(),
            role: role.as_str().to_string(),
            scope,
            region: Some(region),
            client_ip: None,
            request_id: None,
        }
    }

    /// The same actor, seen from a client address with a request id.
    pub fn with_request(mut self, client_ip: Option<String>, request_id: Option<String>) -> Self {
        self.client_ip = client_ip;
        self.request_id = request_id;
        self
    }
}

/// What happened, to be recorded.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// `<entity>.<verb>`.
    pub action: &'a str,
    /// Kind of record.
    pub entity: &'a str,
    /// Record id.
    pub record_id: Option<String>,
    /// Region of the record, for scoping auditors' views.
    pub region_code: Option<RegionCode>,
    /// Details: what changed, reasons, counts.
    pub detail: Value,
}

impl<'a> Event<'a> {
    /// An event about one record.
    pub fn new(action: &'a str, entity: &'a str, record_id: impl ToString) -> Self {
        Event {
            action,
            entity,
            record_id: Some(record_id.to_string()),
            region_code: None,
            detail: Value::Object(Default::default()),
        }
    }

    /// Sets the region.
    pub fn region(mut self, code: Option<RegionCode>) -> Self {
        self.region_code = code;
        self
    }

    /// Sets the details.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// HMAC key of the chain (derived from the deployment's secret key by the caller).
#[derive(Clone)]
pub struct ChainKey(pub [u8; 32]);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(***)")
    }
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    seq: i64,
    hash: String,
}

/// Appends one entry in the caller's transaction, chained to the current head. The head row is
/// locked (PostgreSQL `FOR UPDATE`; SQLite writers are already serialised) until the caller
/// commits, so concurrent appends queue up and the chain stays linear.
pub async fn append(
    conn: &mut Conn<'_>,
    key: &ChainKey,
    actor: &Actor,
    event: Event<'_>,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    append_each(conn, key, vec![(actor, event, now)]).await
}

/// Appends many entries in one go (bulk imports): the head is read and locked once, the chain
/// is computed in memory, rows go in multi-row inserts, and the head moves once.
pub async fn append_many(
    conn: &mut Conn<'_>,
    key: &ChainKey,
    actor: &Actor,
    events: Vec<Event<'_>>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let entries = events.into_iter().map(|e| (actor, e, now)).collect();
    append_each(conn, key, entries).await.map(|_| ())
}

/// [`append_many`] for entries of different actors and times (a group commit of many
/// requests): chained in the order given. Returns the sequence number of the last entry (0 when
/// there are none: nothing is read or written then).
pub async fn append_each(
    conn: &mut Conn<'_>,
    key: &ChainKey,
    events: Vec<(&Actor, Event<'_>, DateTime<Utc>)>,
) -> Result<i64, DbError> {
    if events.is_empty() {
        return Ok(0);
    }
    let lock = conn.for_update();
    let head_sql = format!("SELECT seq, hash FROM audit_head WHERE id = 1{lock}");
    let head: HeadRow = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(head_sql))
            .fetch_one(&mut *c)
            .await
    })?;
    let mut prev = head.hash;
    let mut seq = head.seq;
    let mut entries = Vec::with_capacity(events.len());
    for (actor, event, now) in events {
        seq += 1;
        let mut e = AuditEntry {
            seq,
            occurred_at: truncate_to_micros(now),
            actor_id: actor.user_id,
            actor_name: actor.name.clone(),
            actor_role: actor.role.clone(),
            action: event.action.to_string(),
            entity: event.entity.to_string(),
            record_id: event.record_id,
            region_code: event.region_code.map(|c| c.as_str().to_string()),
            client_ip: actor.client_ip.clone(),
            request_id: actor.request_id.clone(),
            detail: event.detail.to_string(),
            prev_hash: prev,
            hash: String::new(),
        };
        e.hash = e.compute_hash(&key.0);
        prev = e.hash.clone();
        entries.push(e);
    }
    for chunk in entries.chunks(1000) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO audit_log (seq, occurred_at, actor_id, actor_name, actor_role, action, \
                 entity, record_id, region_code, client_ip, request_id, detail, prev_hash, hash) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(e.seq)
                    .push_bind(e.occurred_at)
                    .push_bind(e.actor_id)
                    .push_bind(&e.actor_name)
                    .push_bind(&e.actor_role)
                    .push_bind(&e.action)
                    .push_bind(&e.entity)
                    .push_bind(&e.record_id)
                    .push_bind(&e.region_code)
                    .push_bind(&e.client_ip)
                    .push_bind(&e.request_id)
                    .push_bind(&e.detail)
                    .push_bind(&e.prev_hash)
                    .push_bind(&e.hash);
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    on_conn!(conn, |c| {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&prev)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(seq)
}

/// Records an event in a transaction of its own (for events that change nothing else, such as
/// a failed login or a read of a person's record).
pub async fn record(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    event: Event<'_>,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    let mut tx: Tx = db.begin().await?;
    let seq = append(&mut tx.conn(), key, actor, event, now).await?;
    tx.commit().await?;
    Ok(seq)
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    seq: i64,
    occurred_at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor_name: String,
    actor_role: String,
    action: String,
    entity: String,
    record_id: Option<String>,
    region_code: Option<String>,
    client_ip: Option<String>,
    request_id: Option<String>,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl From<EntryRow> for AuditEntry {
    fn from(r: EntryRow) -> Self {
        AuditEntry {
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            actor_role: r.actor_role,
            action: r.action,
            entity: r.entity,
            record_id: r.record_id,
            region_code: r.region_code,
            client_ip: r.client_ip,
            request_id: r.request_id,
            detail: r.detail,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

const COLUMNS: &str = "seq, occurred_at, actor_id, actor_name, actor_role, action, entity, \
                       record_id, region_code, client_ip, request_id, detail, prev_hash, hash";

/// Filters for the auditor's list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact account name.
    pub actor_name: Option<String>,
    /// Exact action, or a prefix ending in `.` (e.g. `auth.`).
    pub action: Option<String>,
    /// Exact entity kind.
    pub entity: Option<String>,
    /// Exact record id.
    pub record_id: Option<String>,
    /// From this time (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// Only entries with `seq` below this (keyset pagination, newest first).
    pub before_seq: Option<i64>,
}

/// Lists entries newest first, within `scope`: region scopes see entries whose region lies in
/// their subtree; entries without a region (system-wide events) only with global scope.
pub async fn list(
    db: &Db,
    scope: &Scope,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let mut c = db.acquire().await?;
    let rows: Vec<EntryRow> = on_conn!(&mut c.conn(), |c| {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1"));
        match scope {
            Scope::All => {}
            Scope::Region(_) | Scope::Provider { .. } => {
                let (lo, hi) = scope.subtree_range().unwrap_or_default();
                q.push(" AND region_code BETWEEN ")
                    .push_bind(lo)
                    .push(" AND ")
                    .push_bind(hi);
            }
        }
        if let Some(a) = &filter.actor_name {
            q.push(" AND actor_name = ").push_bind(a.clone());
        }
        if let Some(a) = &filter.action {
            if let Some(prefix) = a.strip_suffix('.') {
                q.push(" AND action >= ").push_bind(format!("{prefix}."));
                q.push(" AND action < ").push_bind(format!("{prefix}/"));
            } else {
                q.push(" AND action = ").push_bind(a.clone());
            }
        }
        if let Some(e) = &filter.entity {
            q.push(" AND entity = ").push_bind(e.clone());
        }
        if let Some(r) = &filter.record_id {
            q.push(" AND record_id = ").push_bind(r.clone());
        }
        if let Some(t) = filter.from {
            q.push(" AND occurred_at >= ").push_bind(t);
        }
        if let Some(t) = filter.until {
            q.push(" AND occurred_at < ").push_bind(t);
        }
        if let Some(s) = filter.before_seq {
            q.push(" AND seq < ").push_bind(s);
        }
        q.push(" ORDER BY seq DESC LIMIT ").push_bind(limit);
        q.build_query_as::<EntryRow>().fetch_all(&mut *c).await
    })?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

/// The names of the records `ids` point at — people, providers, facilities, staff, accounts —
/// for showing audit entries with names instead of ids. Unknown ids are left out.
pub async fn names_of(
    conn: &mut Conn<'_>,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, DbError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(200) {
        let rows: Vec<(Uuid, String)> = on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new("");
            for (i, (table, name)) in [
                ("elders", "name"),
                ("providers", "name"),
                ("facilities", "name"),
                ("staff", "name"),
                ("users", "display_name"),
            ]
            .iter()
            .enumerate()
            {
                if i > 0 {
                    q.push(" UNION ALL ");
                }
                q.push(format!("SELECT id, {name} FROM {table} WHERE id IN "));
                crate::scope_sql::push_id_list(&mut q, chunk);
            }
            q.build_query_as().fetch_all(&mut *c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// Counts entries within `scope` since `since` (for dashboards).
pub async fn count_since(db: &Db, scope: &Scope, since: DateTime<Utc>) -> Result<i64, DbError> {
    let mut c = db.acquire().await?;
    let n = on_conn!(&mut c.conn(), |c| {
        let mut q = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM audit_log WHERE occurred_at >= ");
        q.push_bind(since);
        if let Some((lo, hi)) = scope.subtree_range() {
            q.push(" AND region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        q.build_query_scalar::<i64>().fetch_one(&mut *c).await
    })?;
    Ok(n)
}

/// The result of verifying the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Entries checked before the result was reached.
    pub checked: u64,
    /// The head as recorded.
    pub head_seq: i64,
    /// The head hash as recorded.
    pub head_hash: String,
    /// `None` when intact, otherwise the first break.
    pub broken: Option<ChainBreak>,
}

/// Verifies the whole chain in batches of `batch` entries, in sequence order, stopping at the
/// first break.
pub async fn verify(db: &Db, key: &ChainKey, batch: i64) -> Result<Verification, DbError> {
    let mut c = db.acquire().await?;
    let mut conn = c.conn();
    let head: Option<HeadRow> = on_conn!(&mut conn, |c| {
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *c)
            .await
    })?;
    let mut verifier = ChainVerifier::new(key.0);
    let mut after = 0i64;
    let mut checked = 0u64;
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    loop {
        let rows: Vec<EntryRow> = on_conn!(&mut conn, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .bind(batch)
                .fetch_all(&mut *c)
                .await
        })?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let entry = AuditEntry::from(row);
            after = entry.seq;
            if let Err(b) = verifier.feed(&entry) {
                return Ok(Verification {
                    checked,
                    head_seq: head.as_ref().map(|h| h.seq).unwrap_or(0),
                    head_hash: head.map(|h| h.hash).unwrap_or_default(),
                    broken: Some(b),
                });
            }
            checked += 1;
        }
    }
    let head_pair = head.as_ref().map(|h| (h.seq, h.hash.clone()));
    let broken = verifier.finish(head_pair).err();
    Ok(Verification {
        checked,
        head_seq: head.as_ref().map(|h| h.seq).unwrap_or(0),
        head_hash: head.map(|h| h.hash).unwrap_or_default(),
        broken,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use serde_json::json;

    const KEY: ChainKey = ChainKey([3; 32]);

    async fn write_entries(db: &Db, n: usize) {
        for i in 0..n {
            let ev = Event::new("region.update", "region", format!("43030200100{i}"))
                .region(Some(RegionCode::parse("430302001001").unwrap()))
                .detail(json!({"i": i}));
            record(db, &KEY, &Actor::system(), ev, Utc::now())
                .await
                .unwrap();
        }
    }

    crate::test_on_both! {
        async fn an_untouched_trail_verifies_and_reports_its_head(t: TestDb) {
            write_entries(&t.db, 5).await;
            let v = verify(&t.db, &KEY, 2).await.unwrap();
            assert_eq!(v.broken, None);
            assert_eq!(v.checked, 5);
            assert_eq!(v.head_seq, 5);
        }
    }

    crate::test_on_both! {
        async fn many_entries_appended_at_once_chain_like_single_ones(t: TestDb) {
            write_entries(&t.db, 2).await;
            let mut tx = t.db.begin().await.unwrap();
            let events = (0..2500)
                .map(|i| Event::new("elder.create", "elder", i).detail(json!({"i": i})))
                .collect();
            append_many(&mut tx.conn(), &KEY, &Actor::cli(), events, Utc::now()).await.unwrap();
            tx.commit().await.unwrap();
            write_entries(&t.db, 1).await;
            let v = verify(&t.db, &KEY, 1000).await.unwrap();
            assert_eq!(v.broken, None);
            assert_eq!(v.checked, 2503);
        }
    }

    crate::test_on_both! {
        async fn the_database_refuses_to_update_or_delete_audit_entries(t: TestDb) {
            write_entries(&t.db, 2).await;
            let mut c = t.db.acquire().await.unwrap();
            let upd = on_conn!(&mut c.conn(), |c| {
                sqlx::query("UPDATE audit_log SET actor_name = 'x' WHERE seq = 1").execute(&mut *c).await
            .map(|r| r.rows_affected())
            });
            assert!(upd.is_err());
            let del = on_conn!(&mut c.conn(), |c| {
                sqlx::query("DELETE FROM audit_log WHERE seq = 2").execute(&mut *c).await
            .map(|r| r.rows_affected())
            });
            assert!(del.is_err());
            let back = on_conn!(&mut c.conn(), |c| {
                sqlx::query("UPDATE audit_head SET seq = 1 WHERE id = 1").execute(&mut *c).await
            .map(|r| r.rows_affected())
            });
            assert!(back.is_err());
        }
    }

    crate::test_on_both! {
        async fn an_entry_edited_behind_the_triggers_back_is_named(t: TestDb) {
            write_entries(&t.db, 4).await;
            t.tamper("UPDATE audit_log SET detail = '{\"i\":99}' WHERE seq = 3").await;
            let v = verify(&t.db, &KEY, 100).await.unwrap();
            assert_eq!(v.broken, Some(ChainBreak::Edited { seq: 3 }));
        }
    }

    crate::test_on_both! {
        async fn a_deleted_last_entry_is_caught_by_the_head(t: TestDb) {
            write_entries(&t.db, 3).await;
            t.tamper("DELETE FROM audit_log WHERE seq = 3").await;
            let v = verify(&t.db, &KEY, 100).await.unwrap();
            assert_eq!(v.broken, Some(ChainBreak::Truncated { last_seq: 2, head_seq: 3 }));
        }
    }

    crate::test_on_both! {
        async fn auditors_of_a_county_see_only_entries_of_their_county(t: TestDb) {
            write_entries(&t.db, 2).await;
            let other = Event::new("region.update", "region", "430304001001")
                .region(Some(RegionCode::parse("430304001001").unwrap()));
            record(&t.db, &KEY, &Actor::system(), other, Utc::now()).await.unwrap();
            let yuhu = Scope::Region(RegionCode::parse("430302").unwrap());
            let seen = list(&t.db, &yuhu, &AuditFilter::default(), 50).await.unwrap();
            assert_eq!(seen.len(), 2);
            assert!(seen.iter().all(|e| e.region_code.as_deref().unwrap().starts_with("430302")));
            let all = list(&t.db, &Scope::All, &AuditFilter::default(), 50).await.unwrap();
            assert_eq!(all.len(), 3);
            assert_eq!(all[0].seq, 3, "newest first");
        }
    }
}
