//! Service providers (承接主体): registration (with the credit-code check and its authorised
//! override), findings on the seven conditions of 湘政发〔2014〕20号, and whether a provider is
//! qualified to bid. A provider administrator sees only its own provider.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::credit_code;
use jinglao_domain::provider::{
    BidStanding, Condition, EvaluationGrade, ProviderKind, Qualification, bid_standing,
};
use jinglao_domain::{Invalid, Permission, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::scope_sql::push_scope;
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
    /// Kind of legal entity.
    pub kind: ProviderKind,
    /// Why a code failing its check character was accepted, and by whose authority.
    pub credit_code_override: Option<String>,
    /// Legal representative (法定代表人).
    pub legal_representative: String,
    /// Registration authority (登记管理机关).
    pub registration_authority: String,
    /// Registration date.
    pub registered_on: Option<NaiveDate>,
    /// Contact person.
    pub contact_name: String,
    /// Office phone (public).
    pub office_phone: String,
    /// Social-organisation evaluation grade.
    pub evaluation_grade: Option<EvaluationGrade>,
}

#[derive(sqlx::FromRow)]
struct ProviderRow {
    id: Uuid,
    name: String,
    credit_code: Option<String>,
    region_code: String,
    kind: String,
    credit_code_override: Option<String>,
    legal_representative: String,
    registration_authority: String,
    registered_on: Option<NaiveDate>,
    contact_name: String,
    office_phone: String,
    evaluation_grade: Option<String>,
}

const COLUMNS: &str = "SELECT id, name, credit_code, region_code, kind, credit_code_override, \
    legal_representative, registration_authority, registered_on, contact_name, office_phone, \
    evaluation_grade FROM providers";

impl TryFrom<ProviderRow> for Provider {
    type Error = DbError;
    fn try_from(r: ProviderRow) -> Result<Self, DbError> {
        let corrupt = |what: &str| DbError::Corrupt(format!("服务机构 {}：{what}", r.name));
        Ok(Provider {
            id: r.id,
            region_code: RegionCode::parse(&r.region_code).map_err(|e| corrupt(&e.to_string()))?,
            kind: ProviderKind::parse(&r.kind).ok_or_else(|| corrupt("机构类型无效"))?,
            evaluation_grade: r
                .evaluation_grade
                .as_deref()
                .and_then(EvaluationGrade::parse),
            credit_code: r.credit_code,
            credit_code_override: r.credit_code_override,
            legal_representative: r.legal_representative,
            registration_authority: r.registration_authority,
            registered_on: r.registered_on,
            contact_name: r.contact_name,
            office_phone: r.office_phone,
            name: r.name,
        })
    }
}

/// One provider within `scope`.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Provider>, DbError> {
    let rows: Vec<ProviderRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(COLUMNS);
        q.push(" WHERE id = ").push_bind(id);
        push_scope(&mut q, scope, "region_code", "id");
        q.build_query_as::<ProviderRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().next().map(Provider::try_from).transpose()
}

/// Locks a provider's row until the transaction ends (a write that changes nothing): work that
/// must see and change one provider's data alone — its prices, its month's statement — queues
/// here on either database (SQLite's writers are serialised anyway; PostgreSQL waits on the row).
pub async fn lock(conn: &mut Conn<'_>, id: Uuid) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE providers SET updated_at = updated_at WHERE id = $1")
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Providers within `scope`, by name.
pub async fn list(conn: &mut Conn<'_>, scope: &Scope) -> Result<Vec<Provider>, DbError> {
    let rows: Vec<ProviderRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(COLUMNS);
        q.push(" WHERE 1 = 1");
        push_scope(&mut q, scope, "region_code", "id");
        q.push(" ORDER BY name");
        q.build_query_as::<ProviderRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Provider::try_from).collect()
}

/// The provider with this credit code, if any (not scoped: used to keep seeding idempotent).
pub async fn by_credit_code(conn: &mut Conn<'_>, code: &str) -> Result<Option<Provider>, DbError> {
    let row: Option<ProviderRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE credit_code = $1"
        )))
        .bind(code)
        .fetch_optional(&mut *c)
        .await
    })?;
    row.map(Provider::try_from).transpose()
}

/// What registering a provider takes.
#[derive(Debug, Clone, Default)]
pub struct NewProvider<'a> {
    /// Name.
    pub name: &'a str,
    /// Credit code as typed.
    pub credit_code: &'a str,
    /// Reason for accepting a code whose check character fails (authorised roles only).
    pub override_reason: &'a str,
    /// Region code as typed.
    pub region_code: &'a str,
    /// Kind (stable name or label).
    pub kind: &'a str,
    /// 法定代表人.
    pub legal_representative: &'a str,
    /// 登记管理机关.
    pub registration_authority: &'a str,
    /// Registration date.
    pub registered_on: Option<NaiveDate>,
    /// Contact.
    pub contact_name: &'a str,
    /// Office phone.
    pub office_phone: &'a str,
    /// Evaluation grade (1A–5A or empty).
    pub evaluation_grade: &'a str,
}

/// Registers a provider in a region covered by the actor's scope, audited.
pub async fn create(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    p: &NewProvider<'_>,
    now: DateTime<Utc>,
) -> Result<Provider, DbError> {
    let mut inv = Invalid::new();
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        inv.add("name", "请填写机构名称（不超过 100 个字）");
    }
    let code = match credit_code::register(
        p.credit_code,
        p.override_reason,
        actor.may(Permission::OverrideCreditCode),
    ) {
        Ok(c) => Some(c),
        Err(e) => {
            inv.add("credit_code", e);
            None
        }
    };
    let region = match RegionCode::parse(p.region_code) {
        Ok(r) if actor.scope.covers_record_in(&r) => Some(r),
        Ok(_) => {
            inv.add("region_code", "该区划不在您的管理范围内");
            None
        }
        Err(e) => {
            inv.add("region_code", e.to_string());
            None
        }
    };
    let kind = ProviderKind::parse(p.kind);
    if kind.is_none() {
        inv.add(
            "kind",
            format!("机构类型应为：{}", ProviderKind::labels_list()),
        );
    }
    let grade = if p.evaluation_grade.trim().is_empty() {
        None
    } else {
        let g = EvaluationGrade::parse(p.evaluation_grade);
        if g.is_none() {
            inv.add("evaluation_grade", "社会组织评估等级应为 1A 至 5A，或留空");
        }
        g
    };
    if p.legal_representative.trim().is_empty() {
        inv.add("legal_representative", "请填写法定代表人");
    }
    let (Some(code), Some(region), Some(kind), true) = (code, region, kind, inv.is_empty()) else {
        return Err(inv.into());
    };
    let provider = Provider {
        id: Uuid::now_v7(),
        name: name.to_string(),
        credit_code: Some(code.code.clone()),
        region_code: region,
        kind,
        credit_code_override: code
            .override_reason
            .as_ref()
            .map(|r| format!("{r}（{} 核准）", actor.name)),
        legal_representative: p.legal_representative.trim().to_string(),
        registration_authority: p.registration_authority.trim().to_string(),
        registered_on: p.registered_on,
        contact_name: p.contact_name.trim().to_string(),
        office_phone: p.office_phone.trim().to_string(),
        evaluation_grade: grade,
    };
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let pr = &provider;
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO providers (id, name, credit_code, region_code, kind, credit_code_override, \
             legal_representative, registration_authority, registered_on, contact_name, office_phone, \
             evaluation_grade, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        )
        .bind(pr.id)
        .bind(&pr.name)
        .bind(&pr.credit_code)
        .bind(pr.region_code.as_str())
        .bind(pr.kind.as_str())
        .bind(&pr.credit_code_override)
        .bind(&pr.legal_representative)
        .bind(&pr.registration_authority)
        .bind(pr.registered_on)
        .bind(&pr.contact_name)
        .bind(&pr.office_phone)
        .bind(pr.evaluation_grade.map(|g| g.as_str()))
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
    let event = Event::new("provider.create", "provider", pr.id)
        .region(Some(region))
        .detail(json!({
            "name": pr.name, "credit_code": pr.credit_code, "kind": pr.kind.as_str(),
            "credit_code_override": pr.credit_code_override,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(provider)
}

#[derive(sqlx::FromRow)]
struct FindingRow {
    provider_id: Uuid,
    condition: String,
    met: bool,
    checked_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    evidence: String,
    checker_name: String,
}

impl TryFrom<FindingRow> for Qualification {
    type Error = DbError;

    fn try_from(r: FindingRow) -> Result<Self, DbError> {
        Ok(Qualification {
            condition: Condition::parse(&r.condition)
                .ok_or_else(|| DbError::Corrupt(format!("资质条件 {} 无效", r.condition)))?,
            met: r.met,
            checked_on: r.checked_on,
            expires_on: r.expires_on,
            evidence: r.evidence,
            checker: r.checker_name,
        })
    }
}

const FINDING_COLUMNS: &str = "SELECT pf.provider_id, pf.condition, pf.met, pf.checked_on, \
     pf.expires_on, pf.evidence, pf.checker_name FROM provider_findings pf";

/// Every finding on a provider, newest first.
pub async fn findings(
    conn: &mut Conn<'_>,
    provider_id: Uuid,
) -> Result<Vec<Qualification>, DbError> {
    let rows: Vec<FindingRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(FINDING_COLUMNS);
        q.push(" WHERE pf.provider_id = ").push_bind(provider_id);
        q.push(" ORDER BY pf.checked_on DESC, pf.created_at DESC");
        q.build_query_as::<FindingRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Qualification::try_from).collect()
}

/// A finding as entered.
#[derive(Debug, Clone)]
pub struct NewFinding<'a> {
    /// Condition (stable name or label).
    pub condition: &'a str,
    /// Met or not.
    pub met: bool,
    /// Date checked.
    pub checked_on: Option<NaiveDate>,
    /// Expiry, if any.
    pub expires_on: Option<NaiveDate>,
    /// Evidence.
    pub evidence: &'a str,
}

/// Records a finding on a provider in scope (bureau staff only), audited.
pub async fn record_finding(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    f: &NewFinding<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut inv = Invalid::new();
    if !actor.may(Permission::ManageProviders) {
        inv.add("condition", "只有县级以上民政工作人员可以登记资质核查结果");
    }
    let condition = Condition::parse(f.condition);
    if condition.is_none() {
        inv.add("condition", "请选择七项条件之一");
    }
    match f.checked_on {
        None => inv.add("checked_on", "请填写核查日期（年-月-日）"),
        Some(d) if d > jinglao_domain::clock::china_date(now) => {
            inv.add("checked_on", "核查日期不能晚于今天")
        }
        Some(d) if f.expires_on.is_some_and(|e| e < d) => {
            inv.add("expires_on", "有效期不能早于核查日期")
        }
        _ => {}
    }
    if f.evidence.trim().is_empty() {
        inv.add("evidence", "请填写依据（文件编号、证照号或核查记录）");
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let provider = get(&mut conn, &actor.scope, provider_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let (Some(condition), Some(checked_on), true) = (condition, f.checked_on, inv.is_empty())
    else {
        return Err(inv.into());
    };
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO provider_findings (id, provider_id, condition, met, checked_on, expires_on, \
             evidence, checker_id, checker_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(Uuid::now_v7())
        .bind(provider_id)
        .bind(condition.as_str())
        .bind(f.met)
        .bind(checked_on)
        .bind(f.expires_on)
        .bind(f.evidence.trim())
        .bind(actor.user_id)
        .bind(&actor.name)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let event = Event::new("provider.finding", "provider", provider_id)
        .region(Some(provider.region_code))
        .detail(json!({
            "condition": condition.as_str(), "met": f.met, "checked_on": checked_on,
            "expires_on": f.expires_on, "evidence": f.evidence.trim(),
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Which of `ids` are barred from government purchase on `today` by a credit record (a 失信
/// listing, or a fraud penalty within the years of their region's `credit.fraud_bar_years`),
/// each with the reason in words.
pub async fn blacklisted_among(
    conn: &mut Conn<'_>,
    ids: &[Uuid],
    today: NaiveDate,
) -> Result<HashMap<Uuid, String>, DbError> {
    Ok(crate::credit::credit_among(conn, ids)
        .await?
        .into_iter()
        .filter_map(|(id, c)| Some((id, c.purchase_bar(today)?)))
        .collect())
}

/// Whether the provider may bid on `today` (the seven conditions, the blacklist).
pub async fn standing(
    conn: &mut Conn<'_>,
    provider: &Provider,
    today: NaiveDate,
) -> Result<BidStanding, DbError> {
    let f = findings(conn, provider.id).await?;
    let black = blacklisted_among(conn, &[provider.id], today).await?;
    Ok(bid_standing(
        &f,
        provider.evaluation_grade,
        black.get(&provider.id).map(String::as_str),
        today,
    ))
}

/// The providers within `scope` with their standing on `today`: one query for all their
/// findings (a list page shows every provider's standing at once).
pub async fn list_with_standing(
    conn: &mut Conn<'_>,
    scope: &Scope,
    today: NaiveDate,
) -> Result<Vec<(Provider, BidStanding)>, DbError> {
    let providers = list(conn, scope).await?;
    let rows: Vec<FindingRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(FINDING_COLUMNS);
        q.push(" JOIN providers ON providers.id = pf.provider_id WHERE 1 = 1");
        push_scope(&mut q, scope, "providers.region_code", "providers.id");
        q.build_query_as::<FindingRow>().fetch_all(&mut *c).await
    })?;
    let mut by_provider: HashMap<Uuid, Vec<Qualification>> = HashMap::new();
    for r in rows {
        let id = r.provider_id;
        by_provider
            .entry(id)
            .or_default()
            .push(Qualification::try_from(r)?);
    }
    let ids: Vec<Uuid> = providers.iter().map(|p| p.id).collect();
    let black = blacklisted_among(conn, &ids, today).await?;
    Ok(providers
        .into_iter()
        .map(|p| {
            let f = by_provider.remove(&p.id).unwrap_or_default();
            let s = bid_standing(
                &f,
                p.evaluation_grade,
                black.get(&p.id).map(String::as_str),
                today,
            );
            (p, s)
        })
        .collect())
}
