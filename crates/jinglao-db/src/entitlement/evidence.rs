//! Evidence files of applications, stored outside the database: bytes in a content-addressed
//! directory, one row each with type, size and SHA-256. A read checks the checksum again and
//! is audited, as every read of a person's papers is.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use jinglao_domain::Invalid;
use jinglao_domain::evidence::{EvidenceKind, FileType, check};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, applications, on_conn};

/// A stored file's row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EvidenceFile {
    /// Id.
    pub id: Uuid,
    /// The application.
    pub application_id: Uuid,
    /// Kind (stable name).
    pub kind: String,
    /// Name as uploaded.
    pub original_name: String,
    /// MIME type (from the content).
    pub content_type: String,
    /// Bytes.
    pub size_bytes: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

impl EvidenceFile {
    /// The kind's label.
    pub fn kind_label(&self) -> &'static str {
        EvidenceKind::parse(&self.kind).map_or("其他", |k| k.label())
    }
}

fn path_of(root: &Path, sha: &str) -> PathBuf {
    root.join(&sha[..2]).join(sha)
}

/// Writes `bytes` under `root` by their checksum (once; the same file uploaded twice is stored
/// once), through a temporary file renamed into place and synced.
fn put(root: &Path, sha: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = path_of(root, sha);
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().expect("a parent directory");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{sha}.{}", Uuid::now_v7()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)
}

/// Writes `bytes` to the store (off the async threads) and returns their SHA-256 in hex. Done
/// before the row is inserted, so a row never points at a missing file.
pub(crate) async fn store(root: &Path, bytes: &[u8]) -> Result<String, DbError> {
    let sha = hex::encode(Sha256::digest(bytes));
    let root_owned = root.to_path_buf();
    let (sha_w, data) = (sha.clone(), bytes.to_vec());
    tokio::task::spawn_blocking(move || put(&root_owned, &sha_w, &data))
        .await
        .map_err(|e| DbError::Config(format!("文件存储：{e}")))?
        .map_err(|e| DbError::Config(format!("无法写入文件存储目录：{e}")))?;
    Ok(sha)
}

/// Reads a stored file and checks it against its checksum; `what` names it in errors.
pub(crate) async fn load(root: &Path, sha: &str, what: &str) -> Result<Vec<u8>, DbError> {
    let bytes = tokio::fs::read(path_of(root, sha))
        .await
        .map_err(|e| DbError::Corrupt(format!("{what} 无法读取：{e}")))?;
    if hex::encode(Sha256::digest(&bytes)) != sha {
        return Err(DbError::Corrupt(format!(
            "{what} 的内容与登记的校验值不符，已拒绝提供"
        )));
    }
    Ok(bytes)
}

/// Attaches a file to an application in the actor's scope. The type is recognised from the
/// content (PDF, JPEG, PNG) and the size limited; the bytes are written before the row, so a
/// row never points at a missing file.
pub async fn attach(
    w: &WriteCtx<'_>,
    root: &Path,
    application_id: Uuid,
    kind: &str,
    original_name: &str,
    bytes: &[u8],
) -> Result<Uuid, DbError> {
    let (db, chain, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut inv = Invalid::new();
    let kind = EvidenceKind::parse(kind).or_else(|| {
        inv.add(
            "kind",
            format!("材料类别应为：{}", EvidenceKind::labels_list()),
        );
        None
    });
    let ty = check(bytes).map_err(|m| inv.add("file", m)).ok();
    inv.into_result(())?;
    let (kind, ty): (EvidenceKind, FileType) = (kind.expect("checked"), ty.expect("checked"));
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let app = applications::get(&mut conn, &actor.scope, application_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let sha = store(root, bytes).await?;
    let id = Uuid::now_v7();
    let name: String = original_name.trim().chars().take(200).collect();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO evidence_files (id, application_id, kind, original_name, content_type, size_bytes, \
             sha256, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(application_id)
        .bind(kind.as_str())
        .bind(&name)
        .bind(ty.mime())
        .bind(bytes.len() as i64)
        .bind(&sha)
        .bind(actor.user_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    let event = Event::new("application.evidence_attach", "elder", app.elder_id)
        .region(Some(app.region))
        .detail(json!({
            "application": application_id, "file": id, "kind": kind.as_str(), "name": name,
            "bytes": bytes.len(), "sha256": sha,
        }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// The files of an application (the caller has checked the application is in scope).
pub async fn list(conn: &mut Conn<'_>, application_id: Uuid) -> Result<Vec<EvidenceFile>, DbError> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, application_id, kind, original_name, content_type, size_bytes, sha256, uploaded_at \
             FROM evidence_files WHERE application_id = $1 ORDER BY uploaded_at, id",
        )
        .bind(application_id)
        .fetch_all(&mut *c)
        .await
    })
    .map_err(Into::into)
}

/// Reads a file of an application in the actor's scope, checking its checksum; the read is
/// audited.
pub async fn read(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    root: &Path,
    application_id: Uuid,
    file_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(EvidenceFile, Vec<u8>), DbError> {
    let mut c = db.acquire().await?;
    let app = applications::get(&mut c.conn(), &actor.scope, application_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let file = list(&mut c.conn(), application_id)
        .await?
        .into_iter()
        .find(|f| f.id == file_id)
        .ok_or(DbError::NotFound)?;
    drop(c);
    let bytes = load(root, &file.sha256, &format!("证明材料 {}", file.id)).await?;
    let event = Event::new("application.evidence_read", "elder", app.elder_id)
        .region(Some(app.region))
        .detail(json!({ "application": application_id, "file": file.id }));
    audit::record(db, chain, actor, event, now).await?;
    Ok((file, bytes))
}
