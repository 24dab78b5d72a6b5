//! The guiding catalogue (指导性目录): published as a whole new version by finance (or city
//! civil affairs) for its region; a project names an entry of the newest version published for
//! its region or the nearest region above it.

use chrono::{DateTime, Utc};
use jinglao_domain::purchase::catalogue::{
    CatalogueEntry, EntryDraft, PurchaseCategory, ServiceNature, check_catalogue,
};
use jinglao_domain::{Invalid, Permission, RegionCode};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::{Conn, DbError, WriteCtx, on_conn};

/// A published catalogue version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// Id.
    pub id: Uuid,
    /// Region it was published for.
    pub region: RegionCode,
    /// Version (1, 2, …).
    pub version: i32,
    /// The issuing document.
    pub basis: String,
    /// When.
    pub published_at: DateTime<Utc>,
    /// Entries, in order.
    pub entries: Vec<CatalogueEntry>,
}

impl Catalogue {
    /// The entry with `code`.
    pub fn entry(&self, code: &str) -> Option<&CatalogueEntry> {
        self.entries.iter().find(|e| e.code == code)
    }
}

#[derive(sqlx::FromRow)]
struct Head {
    id: Uuid,
    region_code: String,
    version: i32,
    basis: String,
    published_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    code: String,
    name: String,
    category: String,
    nature: String,
    content: String,
    item_codes: String,
}

/// Publishes a new version of `region`'s catalogue (checked against the service-list item
/// codes `known_items`), in one transaction with its audit entry.
pub async fn publish(
    w: &WriteCtx<'_>,
    region: RegionCode,
    basis: &str,
    drafts: &[EntryDraft],
    known_items: &[String],
) -> Result<Catalogue, DbError> {
    if !w.actor.may(Permission::ManagePurchaseCatalogue) {
        return Err(DbError::Forbidden("发布指导性目录".into()));
    }
    let mut inv = Invalid::new();
    if !w.actor.scope.covers_record_in(&region) {
        inv.add("region_code", "该区划不在您的管辖范围内");
    }
    let basis = basis.trim();
    if basis.is_empty() || basis.chars().count() > 100 {
        inv.add("basis", "请填写发布目录的文件文号（不超过 100 字）");
    }
    let entries = match check_catalogue(drafts, known_items) {
        Ok(e) if inv.is_empty() => e,
        Ok(_) => return Err(inv.into()),
        Err(mut more) => {
            inv.errors.append(&mut more.errors);
            return Err(inv.into());
        }
    };
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let version = crate::versions::next(
        &mut conn,
        crate::versions::Versioned::PurchaseCatalogues,
        region.as_str(),
    )
    .await?;
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_catalogues (id, region_code, version, basis, published_at, published_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id).bind(region.as_str()).bind(version).bind(basis).bind(w.now).bind(w.actor.user_id)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let rows: Vec<(i32, &CatalogueEntry)> = (0..).zip(entries.iter()).collect();
    on_conn!(&mut conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO purchase_catalogue_entries (catalogue_id, position, code, name, category, nature, content, item_codes) ",
        );
        q.push_values(&rows, |mut b, (pos, e)| {
            b.push_bind(id)
                .push_bind(*pos)
                .push_bind(e.code.clone())
                .push_bind(e.name.clone())
                .push_bind(e.category.as_str())
                .push_bind(e.nature.as_str())
                .push_bind(e.content.clone())
                .push_bind(e.item_codes.join(","));
        });
        q.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let event = Event::new("purchase_catalogue.publish", "purchase_catalogue", id)
        .region(Some(region))
        .detail(json!({ "version": version, "basis": basis, "entries": entries.len() }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(Catalogue {
        id,
        region,
        version,
        basis: basis.to_string(),
        published_at: w.now,
        entries,
    })
}

async fn load(conn: &mut Conn<'_>, head: Head) -> Result<Catalogue, DbError> {
    let rows: Vec<EntryRow> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT code, name, category, nature, content, item_codes FROM purchase_catalogue_entries \
             WHERE catalogue_id = $1 ORDER BY position",
        )
        .bind(head.id)
        .fetch_all(&mut *c)
        .await
    })?;
    let entries = rows
        .into_iter()
        .map(|r| {
            Ok(CatalogueEntry {
                category: PurchaseCategory::parse(&r.category).ok_or_else(|| {
                    DbError::Corrupt(format!("catalogue category {}", r.category))
                })?,
                nature: ServiceNature::parse(&r.nature)
                    .ok_or_else(|| DbError::Corrupt(format!("catalogue nature {}", r.nature)))?,
                item_codes: r
                    .item_codes
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                code: r.code,
                name: r.name,
                content: r.content,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(Catalogue {
        id: head.id,
        region: RegionCode::parse(&head.region_code)
            .map_err(|e| DbError::Corrupt(format!("catalogue region: {e}")))?,
        version: head.version,
        basis: head.basis,
        published_at: head.published_at,
        entries,
    })
}

/// The newest catalogue published for `region` or the nearest region above it.
pub async fn in_force(
    conn: &mut Conn<'_>,
    region: &RegionCode,
) -> Result<Option<Catalogue>, DbError> {
    let mut chain = vec![*region];
    chain.extend(region.ancestors().into_iter().rev());
    for r in chain {
        let head: Option<Head> = on_conn!(conn, |c| {
            sqlx::query_as(
                "SELECT id, region_code, version, basis, published_at FROM purchase_catalogues \
                 WHERE region_code = $1 ORDER BY version DESC LIMIT 1",
            )
            .bind(r.as_str())
            .fetch_optional(&mut *c)
            .await
        })?;
        if let Some(h) = head {
            return Ok(Some(load(conn, h).await?));
        }
    }
    Ok(None)
}

/// A catalogue version by id.
pub async fn get(conn: &mut Conn<'_>, id: Uuid) -> Result<Option<Catalogue>, DbError> {
    let head: Option<Head> = on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, region_code, version, basis, published_at FROM purchase_catalogues WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?;
    match head {
        Some(h) => Ok(Some(load(conn, h).await?)),
        None => Ok(None),
    }
}
