//! Service providers (承接主体): what accounts need now. The provider issue extends this with
//! registration, qualifications and ratings.

use chrono::{DateTime, Utc};
use jinglao_domain::{Invalid, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, on_conn};

/// A provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Id.
    pub id: Uuid,
    /// Registered name.
    pub name: String,
    /// Unified social credit code (统一社会信用代码), when known.
    pub credit_code: Option<String>,
    /// Registered region.
    pub region_code: RegionCode,
}

#[derive(sqlx::FromRow)]
struct ProviderRow {
    id: Uuid,
    name: String,
    credit_code: Option<String>,
    region_code: String,
}

impl TryFrom<ProviderRow> for Provider {
    type Error = DbError;
    fn try_from(r: ProviderRow) -> Result<Self, DbError> {
        Ok(Provider {
            id: r.id,
            region_code: RegionCode::parse(&r.region_code)
                .map_err(|e| DbError::Corrupt(format!("服务机构 {}：{e}", r.name)))?,
            name: r.name,
            credit_code: r.credit_code,
        })
    }
}

fn push_scope<DB: sqlx::Database>(q: &mut sqlx::QueryBuilder<DB>, scope: &Scope)
where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Uuid: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match scope {
        Scope::All => {}
        Scope::Region(root) => {
            let (lo, hi) = root.subtree_range();
            q.push(" AND region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        Scope::Provider { provider_id, .. } => {
            q.push(" AND id = ").push_bind(*provider_id);
        }
    }
}

/// One provider within `scope`.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Provider>, DbError> {
    let rows: Vec<ProviderRow> = on_conn!(conn, c => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, name, credit_code, region_code FROM providers WHERE id = ",
        );
        q.push_bind(id);
        push_scope(&mut q, scope);
        q.build_query_as::<ProviderRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().next().map(Provider::try_from).transpose()
}

/// Providers within `scope`, by name.
pub async fn list(conn: &mut Conn<'_>, scope: &Scope) -> Result<Vec<Provider>, DbError> {
    let rows: Vec<ProviderRow> = on_conn!(conn, c => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, name, credit_code, region_code FROM providers WHERE 1 = 1",
        );
        push_scope(&mut q, scope);
        q.push(" ORDER BY name");
        q.build_query_as::<ProviderRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Provider::try_from).collect()
}

/// The provider with this credit code, if any (not scoped: used to keep seeding idempotent).
pub async fn by_credit_code(conn: &mut Conn<'_>, code: &str) -> Result<Option<Provider>, DbError> {
    let row: Option<ProviderRow> = on_conn!(conn, c => {
        sqlx::query_as("SELECT id, name, credit_code, region_code FROM providers WHERE credit_code = $1")
            .bind(code)
            .fetch_optional(&mut *c)
            .await
    })?;
    row.map(Provider::try_from).transpose()
}

/// Registers a provider in a region covered by the actor's scope, audited.
pub async fn create(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    name: &str,
    credit_code: Option<&str>,
    region_code: RegionCode,
    now: DateTime<Utc>,
) -> Result<Provider, DbError> {
    let mut inv = Invalid::new();
    if name.trim().is_empty() {
        inv.add("name", "请填写机构名称");
    }
    if !actor.scope.covers_record_in(&region_code) {
        inv.add("region_code", "该区划不在您的管理范围内");
    }
    if !inv.is_empty() {
        return Err(inv.into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let id = Uuid::now_v7();
    on_conn!(&mut conn, c => {
        sqlx::query(
            "INSERT INTO providers (id, name, credit_code, region_code, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id)
        .bind(name.trim())
        .bind(credit_code)
        .bind(region_code.as_str())
        .bind(now)
        .execute(&mut *c)
        .await
            .map(|r| r.rows_affected())
    })
    .map_err(|e| match DbError::from(e) {
        e if e.is_conflict_on("providers.credit_code") => {
            DbError::Invalid(Invalid::one("credit_code", "这个统一社会信用代码已登记"))
        }
        DbError::ForeignKey => DbError::Invalid(Invalid::one("region_code", "区划代码不存在")),
        e => e,
    })?;
    let event = Event::new("provider.create", "provider", id)
        .region(Some(region_code))
        .detail(json!({ "name": name.trim(), "credit_code": credit_code }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(Provider {
        id,
        name: name.trim().to_string(),
        credit_code: credit_code.map(str::to_string),
        region_code,
    })
}
