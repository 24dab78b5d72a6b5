//! Contract unit prices (合同单价) of home services per provider and item, with effective dates.
//! Bureau staff (county and above) set them; the provider sees its own. A new price may not be
//! in force on any day another price of the same item and provider is: the check runs under a
//! lock on the provider row, so two clerks adding overlapping prices at once cannot both succeed.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::settlement::{Price, check_prices};
use jinglao_domain::{Invalid, Permission};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, on_conn, providers};

/// A stored price.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContractPrice {
    /// Id.
    pub id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// Service-list item code.
    pub item_code: String,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day, or open.
    pub valid_to: Option<NaiveDate>,
    /// Per visit, fen.
    pub unit_fen: i64,
    /// Minimum minutes a visit must last.
    pub min_minutes: i32,
    /// Needs a certified caregiver.
    pub needs_certificate: bool,
    /// The contract or document.
    pub basis: String,
}

impl ContractPrice {
    /// As the settlement rules see it.
    pub fn price(&self) -> Price {
        Price {
            item: self.item_code.clone(),
            from: self.valid_from,
            to: self.valid_to,
            unit_fen: self.unit_fen,
        }
    }
}

/// A provider's prices, by item then date.
pub async fn list(conn: &mut Conn<'_>, provider_id: Uuid) -> Result<Vec<ContractPrice>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, provider_id, item_code, valid_from, valid_to, unit_fen, min_minutes, \
             needs_certificate, basis FROM service_prices WHERE provider_id = $1 \
             ORDER BY item_code, valid_from",
        )
        .bind(provider_id)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// A price as entered.
#[derive(Debug, Clone, Default)]
pub struct NewPrice<'a> {
    /// Item code (checked by the caller against the list that applies to the provider).
    pub item_code: &'a str,
    /// First day.
    pub valid_from: Option<NaiveDate>,
    /// Last day, or open.
    pub valid_to: Option<NaiveDate>,
    /// Per visit, fen.
    pub unit_fen: Option<i64>,
    /// Minimum minutes.
    pub min_minutes: Option<i64>,
    /// Needs a certified caregiver.
    pub needs_certificate: bool,
    /// Contract number or document.
    pub basis: &'a str,
}

/// Adds a price for a provider in scope, audited; refused naming the field when it would be in
/// force together with another price of the same item.
pub async fn add(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    p: &NewPrice<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    if !actor.may(Permission::ManageProviders) {
        return Err(DbError::NotFound);
    }
    let mut inv = Invalid::new();
    let item = p.item_code.trim();
    if item.is_empty() {
        inv.add("item_code", "请选择服务项目");
    }
    if p.valid_from.is_none() {
        inv.add("valid_from", "请填写起始日期（年-月-日）");
    }
    if let (Some(f), Some(t)) = (p.valid_from, p.valid_to)
        && t < f
    {
        inv.add("valid_to", "截止日期不能早于起始日期");
    }
    match p.unit_fen {
        Some(f) if f > 0 && f <= 1_000_000 => {}
        _ => inv.add(
            "unit_yuan",
            "单价应为大于 0、不超过 10000 元的金额，最多两位小数",
        ),
    }
    let min_minutes = p.min_minutes.unwrap_or(-1);
    if !(0..=24 * 60).contains(&min_minutes) {
        inv.add(
            "min_minutes",
            "最短服务时长应为 0 到 1440 之间的整数（分钟）",
        );
    }
    if p.basis.trim().is_empty() {
        inv.add("basis", "请填写合同编号或依据文件");
    }
    inv.into_result(())?;
    let (from, fen) = (p.valid_from.expect("checked"), p.unit_fen.expect("checked"));
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let provider = providers::get(&mut conn, &actor.scope, provider_id)
        .await?
        .ok_or(DbError::NotFound)?;
    // Concurrent additions for this provider queue here.
    providers::lock(&mut conn, provider_id).await?;
    let checked = CheckedPrice {
        item,
        from,
        to: p.valid_to,
        unit_fen: fen,
        min_minutes: min_minutes as i32,
        needs_certificate: p.needs_certificate,
        basis: p.basis.trim(),
        contract_id: None,
    };
    let id = insert_locked(&mut conn, provider_id, &checked, actor.user_id, now)
        .await
        .map_err(|e| match e {
            PriceClash(m) => DbError::from(Invalid::one("valid_from", m)),
            PriceDb(e) => e,
        })?;
    let event = Event::new("price.add", "provider", provider_id)
        .region(Some(provider.region_code))
        .detail(
            json!({ "price": id, "item": item, "from": from, "to": p.valid_to, "unit_fen": fen }),
        );
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// A checked price, ready to store.
pub(crate) struct CheckedPrice<'a> {
    /// Item code.
    pub item: &'a str,
    /// First day.
    pub from: NaiveDate,
    /// Last day, or open.
    pub to: Option<NaiveDate>,
    /// Per visit, fen.
    pub unit_fen: i64,
    /// Minimum minutes.
    pub min_minutes: i32,
    /// Needs a certified caregiver.
    pub needs_certificate: bool,
    /// Contract number or document.
    pub basis: &'a str,
    /// The purchase contract it comes from.
    pub contract_id: Option<Uuid>,
}

/// Why a price could not be stored.
pub(crate) enum PriceError {
    /// It would be in force together with another price of the same item (the sentence).
    PriceClash(String),
    /// The database failed.
    PriceDb(DbError),
}
use PriceError::{PriceClash, PriceDb};

impl From<DbError> for PriceError {
    fn from(e: DbError) -> Self {
        PriceDb(e)
    }
}

/// Stores a price after checking it against the provider's others; the caller holds the
/// provider's lock (`providers::lock`) in the same transaction.
pub(crate) async fn insert_locked(
    conn: &mut Conn<'_>,
    provider_id: Uuid,
    p: &CheckedPrice<'_>,
    created_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Uuid, PriceError> {
    let mut prices: Vec<Price> = list(conn, provider_id)
        .await?
        .iter()
        .map(ContractPrice::price)
        .collect();
    prices.push(Price {
        item: p.item.to_string(),
        from: p.from,
        to: p.to,
        unit_fen: p.unit_fen,
    });
    check_prices(&prices).map_err(PriceClash)?;
    let id = Uuid::now_v7();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO service_prices (id, provider_id, item_code, valid_from, valid_to, unit_fen, \
             min_minutes, needs_certificate, basis, created_by, created_at, contract_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id).bind(provider_id).bind(p.item).bind(p.from).bind(p.to).bind(p.unit_fen)
        .bind(p.min_minutes).bind(p.needs_certificate).bind(p.basis)
        .bind(created_by).bind(now).bind(p.contract_id)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })
    .map_err(DbError::from)?;
    Ok(id)
}
