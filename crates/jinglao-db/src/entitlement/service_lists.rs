//! Basic elderly-service lists (基本养老服务清单): publishing a version and reading the list
//! that applies to a region. A county's list must cover the nearest published list above it
//! (`jinglao_domain::service_list::check_coverage`); versions are never changed once written.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::RegionCode;
use jinglao_domain::rules::Rule;
use jinglao_domain::service_list::{Payer, Quota, ServiceCategory, ServiceItem, check_coverage};
use jinglao_domain::validation::Invalid;
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, Event};
use crate::{Conn, DbError, on_conn};

/// One published version of a region's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceList {
    /// Id of this version (decisions record it).
    pub id: Uuid,
    /// Region it was published for.
    pub region: RegionCode,
    /// 1, 2, …
    pub version: i32,
    /// Title, e.g. 湘潭市基本养老服务清单（2024年版）.
    pub title: String,
    /// The document that publishes it.
    pub basis: String,
    /// When.
    pub published_at: DateTime<Utc>,
    /// Items in their order.
    pub items: Vec<ServiceItem>,
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: Uuid,
    region_code: String,
    version: i32,
    title: String,
    basis: String,
    published_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    code: String,
    name: String,
    category: String,
    target_rule: String,
    content: String,
    payer: String,
    government_share: i32,
    quota_kind: String,
    quota_amount: i64,
    effective_from: NaiveDate,
    effective_to: Option<NaiveDate>,
    basis: String,
}

fn payer_columns(p: Payer) -> (&'static str, i32) {
    match p {
        Payer::GovernmentInFull => ("government", 1000),
        Payer::SubsidyShare(s) => ("share", i32::from(s.min(1000))),
        Payer::SelfPaid => ("self", 0),
    }
}

fn quota_columns(q: Quota) -> (&'static str, i64) {
    match q {
        Quota::Unlimited => ("unlimited", 0),
        Quota::HoursPerMonth(n) => ("hours", i64::from(n)),
        Quota::TimesPerMonth(n) => ("times", i64::from(n)),
        Quota::FenPerMonth(n) => ("fen", n),
    }
}

impl ItemRow {
    fn into_item(self) -> Result<ServiceItem, DbError> {
        let bad = |what: String| DbError::Corrupt(format!("服务清单项目 {}：{what}", self.code));
        let target = Rule::parse(&self.target_rule).map_err(|e| bad(e.to_string()))?;
        let amount = |n: i64| u32::try_from(n).map_err(|_| bad(format!("数量 {n}")));
        Ok(ServiceItem {
            category: ServiceCategory::parse(&self.category)
                .ok_or_else(|| bad(self.category.clone()))?,
            payer: match self.payer.as_str() {
                "government" => Payer::GovernmentInFull,
                "share" => Payer::SubsidyShare(self.government_share.clamp(0, 1000) as u16),
                _ => Payer::SelfPaid,
            },
            quota: match self.quota_kind.as_str() {
                "hours" => Quota::HoursPerMonth(amount(self.quota_amount)?),
                "times" => Quota::TimesPerMonth(amount(self.quota_amount)?),
                "fen" => Quota::FenPerMonth(self.quota_amount),
                _ => Quota::Unlimited,
            },
            target,
            code: self.code,
            name: self.name,
            content: self.content,
            effective_from: self.effective_from,
            effective_to: self.effective_to,
            basis: self.basis,
        })
    }
}

/// Checks a list's own items: codes present and unique, names, legal basis, periods.
fn check_items(items: &[ServiceItem]) -> Invalid {
    let mut inv = Invalid::new();
    if items.is_empty() {
        inv.add("items", "清单至少要有一个项目");
    }
    for (i, it) in items.iter().enumerate() {
        let field = |f: &str| format!("items[{i}].{f}");
        if it.code.trim().is_empty() {
            inv.add(&field("code"), "请填写项目编码");
        } else if items[..i].iter().any(|o| o.code == it.code) {
            inv.add(&field("code"), format!("项目编码“{}”重复", it.code));
        }
        if it.name.trim().is_empty() {
            inv.add(&field("name"), "请填写项目名称");
        }
        if it.basis.trim().is_empty() {
            inv.add(&field("basis"), "请填写政策依据（文件文号及条款）");
        }
        if it.effective_to.is_some_and(|to| to < it.effective_from) {
            inv.add(&field("effective_to"), "截止日期早于开始日期");
        }
    }
    inv
}

/// Publishes a new version of `region`'s list: checked on its own and against the nearest
/// published list above it, written with its items and one audit entry in one transaction.
pub async fn publish(
    w: &WriteCtx<'_>,
    region: RegionCode,
    title: &str,
    basis: &str,
    items: &[ServiceItem],
) -> Result<ServiceList, DbError> {
    let (db, chain, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut inv = check_items(items);
    if !actor.scope.covers_record_in(&region) {
        inv.add("region_code", "该区划不在您的管辖范围内");
    }
    if title.trim().is_empty() {
        inv.add("title", "请填写清单名称");
    }
    if basis.trim().is_empty() {
        inv.add("basis", "请填写发布清单的文件文号");
    }
    if !inv.is_empty() {
        return Err(inv.into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let parent = nearest(&mut conn, &region.ancestors()).await?;
    if let Some(p) = &parent {
        let problems = check_coverage(&p.items, items);
        if !problems.is_empty() {
            let mut inv = Invalid::new();
            for pr in problems {
                inv.add(
                    &format!("items.{}", pr.code),
                    format!("{}（对照{}）", pr.reason, p.title),
                );
            }
            return Err(inv.into());
        }
    }
    let version = crate::versions::next(
        &mut conn,
        crate::versions::Versioned::ServiceLists,
        region.as_str(),
    )
    .await?;
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO service_lists (id, region_code, version, title, basis, published_at, published_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(region.as_str())
        .bind(version)
        .bind(title.trim())
        .bind(basis.trim())
        .bind(now)
        .bind(actor.user_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let rows: Vec<(i32, &ServiceItem)> = (0..).zip(items).collect();
    // 14 values per row; a list has tens of items, far from the bound-value limit.
    on_conn!(&mut conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO service_items (list_id, position, code, name, category, target_rule, content, payer, \
             government_share, quota_kind, quota_amount, effective_from, effective_to, basis) ",
        );
        q.push_values(&rows, |mut b, (position, it)| {
            let (payer, share) = payer_columns(it.payer);
            let (quota_kind, quota_amount) = quota_columns(it.quota);
            b.push_bind(id)
                .push_bind(*position)
                .push_bind(it.code.trim().to_string())
                .push_bind(it.name.trim().to_string())
                .push_bind(it.category.as_str())
                .push_bind(it.target.source().to_string())
                .push_bind(it.content.clone())
                .push_bind(payer)
                .push_bind(share)
                .push_bind(quota_kind)
                .push_bind(quota_amount)
                .push_bind(it.effective_from)
                .push_bind(it.effective_to)
                .push_bind(it.basis.trim().to_string());
        });
        q.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let event = Event::new("service_list.publish", "service_list", id)
        .region(Some(region))
        .detail(json!({
            "version": version, "title": title.trim(), "basis": basis.trim(), "items": items.len(),
            "covers": parent.as_ref().map(|p| json!({"id": p.id, "region": p.region.short(), "version": p.version})),
        }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    let mut c = db.acquire().await?;
    get(&mut c.conn(), id).await?.ok_or(DbError::NotFound)
}

/// The latest version published for exactly `region`.
pub async fn latest(
    conn: &mut Conn<'_>,
    region: &RegionCode,
) -> Result<Option<ServiceList>, DbError> {
    nearest(conn, std::slice::from_ref(region)).await
}

/// The name of every item code, from the newest published list version that has it.
pub async fn item_names(
    conn: &mut Conn<'_>,
) -> Result<jinglao_domain::service_list::ItemNames, DbError> {
    let rows: Vec<(String, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT si.code, si.name FROM service_items si \
             JOIN service_lists l ON l.id = si.list_id ORDER BY l.published_at, l.version",
        )
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(jinglao_domain::service_list::ItemNames::new(rows))
}

/// An item as messages name it: 「老年助餐」 (its newest name), or the code if no list has it.
pub async fn item_label(conn: &mut Conn<'_>, code: &str) -> Result<String, DbError> {
    let name: Option<String> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT si.name FROM service_items si JOIN service_lists l ON l.id = si.list_id \
             WHERE si.code = $1 ORDER BY l.published_at DESC, l.version DESC LIMIT 1",
        )
        .bind(code)
        .fetch_optional(&mut *c)
        .await
    })?;
    Ok(format!("「{}」", name.as_deref().unwrap_or(code)))
}

/// The list that applies to people in `region`: the latest version of the nearest region at
/// or above it that has published one. One query, whatever the depth (the record page asks on
/// every view).
pub async fn applicable(
    conn: &mut Conn<'_>,
    region: &RegionCode,
) -> Result<Option<ServiceList>, DbError> {
    let mut chain = region.ancestors();
    chain.push(*region);
    nearest(conn, &chain).await
}

/// The latest version of the deepest of `regions` (one line of descent) that has a list. Within
/// one line of descent a deeper code sorts after its ancestors (their trailing digits are zeros),
/// so the deepest region is the greatest code.
async fn nearest(
    conn: &mut Conn<'_>,
    regions: &[RegionCode],
) -> Result<Option<ServiceList>, DbError> {
    if regions.is_empty() {
        return Ok(None);
    }
    let id: Option<Uuid> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new("SELECT id FROM service_lists WHERE region_code IN (");
        let mut sep = q.separated(", ");
        for r in regions {
            sep.push_bind(r.as_str().to_string());
        }
        q.push(") ORDER BY region_code DESC, version DESC LIMIT 1");
        q.build_query_scalar().fetch_optional(&mut *c).await
    })?;
    match id {
        Some(id) => get(conn, id).await,
        None => Ok(None),
    }
}

/// One version by id, as it was published.
pub async fn get(conn: &mut Conn<'_>, id: Uuid) -> Result<Option<ServiceList>, DbError> {
    let row: Option<ListRow> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, region_code, version, title, basis, published_at FROM service_lists WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some(row) = row else { return Ok(None) };
    let items: Vec<ItemRow> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT code, name, category, target_rule, content, payer, government_share, quota_kind, \
             quota_amount, effective_from, effective_to, basis FROM service_items WHERE list_id = $1 \
             ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(Some(ServiceList {
        id: row.id,
        region: RegionCode::parse(&row.region_code).map_err(|_| {
            DbError::Corrupt(format!("服务清单 {}：区划 {}", row.id, row.region_code))
        })?,
        version: row.version,
        title: row.title,
        basis: row.basis,
        published_at: row.published_at,
        items: items
            .into_iter()
            .map(ItemRow::into_item)
            .collect::<Result<_, _>>()?,
    }))
}

/// A version in a region's history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VersionRow {
    /// Id.
    pub id: Uuid,
    /// Number.
    pub version: i32,
    /// Title.
    pub title: String,
    /// Publishing document.
    pub basis: String,
    /// When.
    pub published_at: DateTime<Utc>,
}

/// Every version published for exactly `region`, newest first.
pub async fn versions(
    conn: &mut Conn<'_>,
    region: &RegionCode,
) -> Result<Vec<VersionRow>, DbError> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, version, title, basis, published_at FROM service_lists WHERE region_code = $1 \
             ORDER BY version DESC",
        )
        .bind(region.as_str().to_string())
        .fetch_all(&mut *c)
        .await
    })
    .map_err(Into::into)
}
