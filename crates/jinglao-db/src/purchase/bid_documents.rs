//! A bid's documents (投标文件): the service proposal, the qualification papers, the price sheet,
//! kept as evidence files (PDF, JPEG or PNG, content-addressed, checked on every read). The
//! purchasing body attaches them while the project takes bids, up to the deadline; it reads
//! them, and a bidder's administrator reads its own.

use std::path::Path;

use chrono::{DateTime, Utc};
use jinglao_domain::entitlement::evidence::check;
use jinglao_domain::purchase::project::ProjectStatus;
use jinglao_domain::purchase::selection::BidDocumentKind;
use jinglao_domain::{Invalid, Permission, Scope};
use serde_json::json;
use uuid::Uuid;

use super::projects;
use crate::audit::{self, Event};
use crate::entitlement::evidence::{load, store};
use crate::{Conn, DbError, WriteCtx, on_conn};

/// The most documents one bid keeps.
pub const MAX_PER_BID: i64 = 20;

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BidDocument {
    /// Id.
    pub id: Uuid,
    /// The bid.
    pub bid_id: Uuid,
    /// Kind (stable name).
    pub kind: String,
    /// File name as uploaded.
    pub file_name: String,
    /// Content type, from the content.
    pub content_type: String,
    /// Size.
    pub bytes: i64,
    /// SHA-256 of the content.
    pub sha256: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

impl BidDocument {
    /// The kind's label.
    pub fn kind_label(&self) -> &'static str {
        BidDocumentKind::parse(&self.kind).map_or("其他材料", |k| k.label())
    }
}

const COLUMNS: &str =
    "d.id, d.bid_id, d.kind, d.file_name, d.content_type, d.bytes, d.sha256, d.uploaded_at";

/// The project and provider of a bid.
async fn bid_of(conn: &mut Conn<'_>, bid_id: Uuid) -> Result<Option<(Uuid, Uuid)>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT project_id, provider_id FROM purchase_bids WHERE id = $1")
            .bind(bid_id)
            .fetch_optional(&mut *c)
            .await
    })?)
}

/// Attaches a document to a bid of a project in the caller's subtree that takes bids, before
/// the deadline (stored under `root` before the row is written). One transaction, audited.
pub async fn attach(
    w: &WriteCtx<'_>,
    root: &Path,
    bid_id: Uuid,
    kind: &str,
    (file_name, bytes): (&str, &[u8]),
) -> Result<Uuid, DbError> {
    if !w.actor.may(Permission::PlanPurchases) || w.actor.scope.provider_id().is_some() {
        return Err(DbError::Forbidden("登记投标文件".into()));
    }
    let kind = BidDocumentKind::parse(kind.trim()).ok_or_else(|| {
        Invalid::one(
            "kind",
            format!("文件类别应为：{}", BidDocumentKind::labels_list()),
        )
    })?;
    let ty = check(bytes).map_err(|m| Invalid::one("file", m))?;
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let (project_id, _) = bid_of(&mut conn, bid_id)
        .await?
        .ok_or_else(|| Invalid::one("bid_id", "请选择投标"))?;
    let p = projects::get(&mut conn, &w.actor.scope, project_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if p.status != ProjectStatus::Tendering {
        return Err(Invalid::one(
            "bid_id",
            format!("项目{}，不再登记投标文件", p.status.label()),
        )
        .into());
    }
    // Documents come with the bid: none is added once bids have closed (the panel may already
    // have seen the others).
    if p.bid_deadline.is_some_and(|d| d <= w.now) {
        return Err(Invalid::one("bid_id", "投标截止后不再登记投标文件").into());
    }
    let held: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM purchase_bid_documents WHERE bid_id = $1")
            .bind(bid_id)
            .fetch_one(&mut *c)
            .await
    })?;
    if held >= MAX_PER_BID {
        return Err(Invalid::one("file", format!("每份投标最多登记 {MAX_PER_BID} 个文件")).into());
    }
    let sha = store(root, bytes).await?;
    let name: String = file_name.trim().chars().take(200).collect();
    let name = if name.is_empty() {
        kind.label().to_string()
    } else {
        name
    };
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_bid_documents (id, bid_id, kind, file_name, content_type, bytes, \
             sha256, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(bid_id)
        .bind(kind.as_str())
        .bind(&name)
        .bind(ty.mime())
        .bind(bytes.len() as i64)
        .bind(&sha)
        .bind(w.actor.user_id)
        .bind(w.now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let event = Event::new("purchase_bid.document", "purchase_project", p.id)
        .region(Some(p.region))
        .detail(
            json!({ "bid": bid_id, "document": id, "kind": kind.as_str(),
            "file": name, "sha256": sha, "bytes": bytes.len() }),
        );
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(id)
}

/// The documents of every bid of a project, oldest first.
pub async fn of_project(
    conn: &mut Conn<'_>,
    project_id: Uuid,
) -> Result<Vec<BidDocument>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM purchase_bid_documents d JOIN purchase_bids b ON b.id = d.bid_id \
         WHERE b.project_id = $1 ORDER BY d.uploaded_at, d.id"
    );
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(project_id)
            .fetch_all(&mut *c)
            .await
    })?)
}

/// A document of a bid on a project visible in `scope` (a provider: of its own bids only),
/// checked against its checksum.
pub async fn read(
    conn: &mut Conn<'_>,
    scope: &Scope,
    root: &Path,
    id: Uuid,
) -> Result<(BidDocument, Vec<u8>), DbError> {
    let sql = format!("SELECT {COLUMNS} FROM purchase_bid_documents d WHERE d.id = $1");
    let doc: BidDocument = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?
    .ok_or(DbError::NotFound)?;
    let (project_id, provider_id) = bid_of(conn, doc.bid_id).await?.ok_or(DbError::NotFound)?;
    projects::get(conn, scope, project_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if scope.provider_id().is_some_and(|own| own != provider_id) {
        return Err(DbError::NotFound);
    }
    let bytes = load(root, &doc.sha256, &format!("投标文件 {}", doc.file_name)).await?;
    Ok((doc, bytes))
}
