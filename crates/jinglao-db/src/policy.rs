//! Per-region policy parameters: stored overrides, resolved through the region tree by
//! `jinglao_domain::policy::PolicyBook`.

use jinglao_domain::policy::{PolicyBook, PolicyKey, PolicySetting};
use jinglao_domain::{Invalid, RegionCode};
use serde_json::json;

use crate::WriteCtx;
use crate::audit::{self, Event};
use crate::{Conn, Db, DbError, on_conn};

/// Every stored setting.
pub async fn load(conn: &mut Conn<'_>) -> Result<PolicyBook, DbError> {
    let rows: Vec<(String, String, String, String)> = on_conn!(conn, |c| {
        sqlx::query_as("SELECT region_code, param, value, basis FROM policy_params")
            .fetch_all(&mut *c)
            .await
    })?;
    Ok(PolicyBook::new(
        rows.into_iter()
            .filter_map(|(r, k, value, basis)| {
                Some(PolicySetting {
                    region: RegionCode::parse(&r).ok()?,
                    key: PolicyKey::parse(&k)?,
                    value,
                    basis,
                })
            })
            .collect(),
    ))
}

/// The book read from its own connection.
pub async fn book(db: &Db) -> Result<PolicyBook, DbError> {
    let mut c = db.acquire().await?;
    load(&mut c.conn()).await
}

/// Sets (or replaces) a region's value of a parameter, with its legal basis; the region must
/// be in the actor's scope. Audited with the old and new value.
pub async fn set(
    w: &WriteCtx<'_>,
    region: RegionCode,
    key: PolicyKey,
    value: &str,
    basis: &str,
) -> Result<(), DbError> {
    let (db, chain, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut inv = Invalid::new();
    if !actor.scope.covers_record_in(&region) {
        inv.add("region_code", "该区划不在您的管辖范围内");
    }
    if let Err(e) = key.check(value) {
        inv.add("value", format!("{}：{e}", key.spec().label));
    }
    if basis.trim().is_empty() {
        inv.add("basis", "请填写依据（文件文号及条款）");
    }
    if !inv.is_empty() {
        return Err(inv.into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let old: Option<String> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT value FROM policy_params WHERE region_code = $1 AND param = $2")
            .bind(region.as_str())
            .bind(key.spec().name)
            .fetch_optional(&mut *c)
            .await
    })?;
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO policy_params (region_code, param, value, basis, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (region_code, param) DO UPDATE SET value = excluded.value, basis = excluded.basis, \
             updated_at = excluded.updated_at",
        )
        .bind(region.as_str())
        .bind(key.spec().name)
        .bind(value.trim())
        .bind(basis.trim())
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let event = Event::new("policy.set", "policy_param", key.spec().name)
        .region(Some(region))
        .detail(json!({ "from": old, "to": value.trim(), "basis": basis.trim() }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}
