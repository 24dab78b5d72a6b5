//! Photos of a facility for its public page: JPEG or PNG (recognised from the content), at most
//! [`MAX_PHOTOS`] a facility, added by those who manage the facility, read by anyone (they are
//! public, and must not show residents' faces: the form says so). Bytes live in the evidence
//! store; every read checks the checksum.

use std::path::Path;

use jinglao_domain::evidence::{FileType, check};
use jinglao_domain::{Invalid, Permission};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, Event};
use crate::evidence::{load, store};
use crate::{Conn, Db, DbError, facilities, on_conn};

/// Most photos one facility may show.
pub const MAX_PHOTOS: usize = 12;

/// A photo's row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Photo {
    /// Id.
    pub id: Uuid,
    /// The facility.
    pub facility_id: Uuid,
    /// Caption shown under it.
    pub caption: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// SHA-256, hex.
    pub sha256: String,
}

/// The photos of a facility, oldest first.
pub async fn list(conn: &mut Conn<'_>, facility_id: Uuid) -> Result<Vec<Photo>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, facility_id, caption, content_type, sha256 FROM facility_photos \
             WHERE facility_id = $1 ORDER BY uploaded_at, id",
        )
        .bind(facility_id)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Adds a photo to a facility the actor manages, audited.
pub async fn add(
    w: &WriteCtx<'_>,
    root: &Path,
    facility_id: Uuid,
    caption: &str,
    bytes: &[u8],
) -> Result<Uuid, DbError> {
    let (db, chain, actor, now) = (w.db, w.chain, w.actor, w.now);
    if !actor.may(Permission::ManageFacilities) {
        return Err(DbError::NotFound);
    }
    let mut inv = Invalid::new();
    let caption: String = caption.trim().chars().take(60).collect();
    if caption.is_empty() {
        inv.add("caption", "请填写照片说明，例如“多功能活动室”");
    }
    let ty = match check(bytes) {
        Ok(t @ (FileType::Jpeg | FileType::Png)) => Some(t),
        Ok(_) => {
            inv.add("photo", "照片应为 JPG 或 PNG 图片");
            None
        }
        Err(m) => {
            inv.add("photo", m);
            None
        }
    };
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let f = facilities::get(&mut conn, &actor.scope, facility_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if list(&mut conn, facility_id).await?.len() >= MAX_PHOTOS {
        inv.add("photo", format!("每个设施最多展示 {MAX_PHOTOS} 张照片"));
    }
    inv.into_result(())?;
    let ty = ty.expect("checked above");
    let sha = store(root, bytes).await?;
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO facility_photos (id, facility_id, caption, content_type, size_bytes, sha256, \
             uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id).bind(facility_id).bind(&caption).bind(ty.mime()).bind(bytes.len() as i64)
        .bind(&sha).bind(actor.user_id).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let event = Event::new("facility.photo_add", "facility", facility_id)
        .region(Some(f.region_code))
        .detail(json!({ "photo": id, "caption": caption, "bytes": bytes.len(), "sha256": sha }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// One photo's bytes, for the public page (no scope: photos are public).
pub async fn read(
    db: &Db,
    root: &Path,
    facility_id: Uuid,
    photo_id: Uuid,
) -> Result<(Photo, Vec<u8>), DbError> {
    let mut c = db.acquire().await?;
    let photo = list(&mut c.conn(), facility_id)
        .await?
        .into_iter()
        .find(|p| p.id == photo_id)
        .ok_or(DbError::NotFound)?;
    drop(c);
    let bytes = load(root, &photo.sha256, &format!("照片 {}", photo.id)).await?;
    Ok((photo, bytes))
}
