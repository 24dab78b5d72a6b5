//! Assessment agencies (评估机构) and assessors' certificates (老年人能力评估师证书).
//!
//! An agency is active when it is an independent legal entity with at least the policy's
//! number of full-time assessors holding an unexpired certificate.

use chrono::NaiveDate;
use jinglao_domain::credit_code::CreditCode;
use jinglao_domain::{Invalid, RegionCode, Role, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, Event};
use crate::{Conn, DbError, on_conn};

/// An agency with its certified staff count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Credit code.
    pub credit_code: String,
    /// Registered region.
    pub region_code: RegionCode,
    /// An independent legal entity (独立法人).
    pub independent_legal_entity: bool,
    /// Address.
    pub address: String,
    /// Full-time assessors with an unexpired certificate, as of the day asked.
    pub certified_full_time: i64,
}

impl Agency {
    /// Whether it may assess, given the policy's minimum of full-time certified assessors.
    pub fn is_active(&self, min_assessors: i64) -> bool {
        self.independent_legal_entity && self.certified_full_time >= min_assessors
    }
}

/// An assessor's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessorProfile {
    /// The account.
    pub user_id: Uuid,
    /// Display name of the account.
    pub display_name: String,
    /// Agency.
    pub agency_id: Uuid,
    /// Certificate number.
    pub certificate_no: String,
    /// Level (五级 … 一级).
    pub certificate_level: String,
    /// Expiry.
    pub certificate_expiry: NaiveDate,
    /// Full-time with the agency.
    pub full_time: bool,
}

impl AssessorProfile {
    /// Whether the certificate is valid on `date`.
    pub fn certified_on(&self, date: NaiveDate) -> bool {
        date <= self.certificate_expiry
    }
}

/// Certificate levels of the 老年人能力评估师 occupation.
pub const CERTIFICATE_LEVELS: [&str; 5] = ["五级", "四级", "三级", "二级", "一级"];

#[derive(sqlx::FromRow)]
struct AgencyRow {
    id: Uuid,
    name: String,
    credit_code: String,
    region_code: String,
    independent_legal_entity: bool,
    address: String,
    certified_full_time: i64,
}

fn push_scope<DB: sqlx::Database>(q: &mut sqlx::QueryBuilder<DB>, scope: &Scope)
where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some((lo, hi)) = scope.subtree_range() {
        // Agencies serve a whole city: anyone whose scope overlaps the agency's region may see
        // it (an assessor of the city sees county agencies; a county sees the city's).
        q.push(" AND (a.region_code BETWEEN ")
            .push_bind(lo)
            .push(" AND ")
            .push_bind(hi);
        if let Some(root) = scope.region_root() {
            let mut ancestors: Vec<String> =
                root.ancestors().iter().map(|c| c.to_string()).collect();
            ancestors.push(root.to_string());
            q.push(" OR a.region_code IN (");
            let mut sep = q.separated(", ");
            for a in ancestors {
                sep.push_bind(a);
            }
            q.push(")");
        }
        q.push(")");
    }
}

/// Agencies visible in `scope`, with full-time assessors certified on `on`.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    on: NaiveDate,
) -> Result<Vec<Agency>, DbError> {
    let rows: Vec<AgencyRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT a.id, a.name, a.credit_code, a.region_code, a.independent_legal_entity, a.address, \
             (SELECT COUNT(*) FROM assessor_profiles p JOIN users u ON u.id = p.user_id \
              WHERE p.agency_id = a.id AND p.full_time = TRUE AND u.active = TRUE AND p.certificate_expiry >= ",
        );
        q.push_bind(on);
        q.push(") AS certified_full_time FROM assessment_agencies a WHERE 1 = 1");
        push_scope(&mut q, scope);
        q.push(" ORDER BY a.name");
        q.build_query_as::<AgencyRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(Agency {
                region_code: RegionCode::parse(&r.region_code)
                    .map_err(|_| DbError::Corrupt(format!("评估机构 {} 的区划无效", r.name)))?,
                id: r.id,
                name: r.name,
                credit_code: r.credit_code,
                independent_legal_entity: r.independent_legal_entity,
                address: r.address,
                certified_full_time: r.certified_full_time,
            })
        })
        .collect()
}

/// One agency visible in `scope`.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
    on: NaiveDate,
) -> Result<Option<Agency>, DbError> {
    Ok(list(conn, scope, on)
        .await?
        .into_iter()
        .find(|a| a.id == id))
}

/// Registers an agency in a region of the actor's scope.
pub async fn create(
    w: &WriteCtx<'_>,
    name: &str,
    credit_code: &str,
    region: Option<RegionCode>,
    independent_legal_entity: bool,
    address: &str,
) -> Result<Uuid, DbError> {
    let (db, chain, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut inv = Invalid::new();
    if name.trim().is_empty() || name.trim().chars().count() > 100 {
        inv.add("name", "请填写机构名称（不超过 100 个字）");
    }
    let code = match CreditCode::parse(credit_code) {
        Ok(c) => Some(c),
        Err(e) => {
            inv.add("credit_code", e.to_string());
            None
        }
    };
    match region {
        None => inv.add("region_code", "请填写机构所在区划代码"),
        Some(r) if !actor.scope.covers_record_in(&r) => {
            inv.add("region_code", "该区划不在您的管辖范围内")
        }
        _ => {}
    }
    if !independent_legal_entity {
        inv.add(
            "independent_legal_entity",
            "评估机构须为独立法人（潭政办发〔2023〕20号）",
        );
    }
    let (Some(code), Some(region), true) = (code, region, inv.is_empty()) else {
        return Err(inv.into());
    };
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO assessment_agencies (id, name, credit_code, region_code, independent_legal_entity, \
             address, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id)
        .bind(name.trim())
        .bind(code.as_str())
        .bind(region.as_str())
        .bind(independent_legal_entity)
        .bind(address.trim())
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })
    .map_err(|e| match DbError::from(e) {
        e if e.is_conflict_on("assessment_agencies.credit_code") => {
            DbError::Invalid(Invalid::one("credit_code", "这个统一社会信用代码已登记"))
        }
        DbError::ForeignKey => DbError::Invalid(Invalid::one("region_code", "区划代码不存在")),
        e => e,
    })?;
    let event = Event::new("agency.create", "assessment_agency", id)
        .region(Some(region))
        .detail(json!({ "name": name.trim(), "credit_code": code.as_str() }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    user_id: Uuid,
    display_name: String,
    agency_id: Uuid,
    certificate_no: String,
    certificate_level: String,
    certificate_expiry: NaiveDate,
    full_time: bool,
}

impl From<ProfileRow> for AssessorProfile {
    fn from(r: ProfileRow) -> Self {
        AssessorProfile {
            user_id: r.user_id,
            display_name: r.display_name,
            agency_id: r.agency_id,
            certificate_no: r.certificate_no,
            certificate_level: r.certificate_level,
            certificate_expiry: r.certificate_expiry,
            full_time: r.full_time,
        }
    }
}

const PROFILE: &str = "SELECT p.user_id, u.display_name, p.agency_id, p.certificate_no, \
    p.certificate_level, p.certificate_expiry, p.full_time FROM assessor_profiles p \
    JOIN users u ON u.id = p.user_id";

/// An assessor's certificate.
pub async fn profile(
    conn: &mut Conn<'_>,
    user_id: Uuid,
) -> Result<Option<AssessorProfile>, DbError> {
    let sql = format!("{PROFILE} WHERE p.user_id = $1");
    let row: Option<ProfileRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_optional(&mut *c)
            .await
    })?;
    Ok(row.map(AssessorProfile::from))
}

/// The assessors of an agency (active accounts).
pub async fn assessors(
    conn: &mut Conn<'_>,
    agency_id: Uuid,
) -> Result<Vec<AssessorProfile>, DbError> {
    let sql =
        format!("{PROFILE} WHERE p.agency_id = $1 AND u.active = TRUE ORDER BY u.display_name");
    let rows: Vec<ProfileRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(agency_id)
            .fetch_all(&mut *c)
            .await
    })?;
    Ok(rows.into_iter().map(AssessorProfile::from).collect())
}

/// Records (or replaces) an assessor's certificate and agency. The account must have the
/// `assessor` role and be in the actor's scope; the agency must be visible to the actor.
pub async fn set_profile(
    w: &WriteCtx<'_>,
    user_id: Uuid,
    agency_id: Uuid,
    certificate_no: &str,
    certificate_level: &str,
    certificate_expiry: Option<NaiveDate>,
    full_time: bool,
) -> Result<(), DbError> {
    let (db, chain, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let mut inv = Invalid::new();
    let account = crate::users::get(&mut conn, &actor.scope, user_id).await?;
    match &account {
        None => inv.add("user_id", "账号不存在或不在您的管辖范围内"),
        Some(a) if a.role != Role::Assessor => {
            inv.add("user_id", "只有“能力评估师”角色的账号可以登记评估师证书")
        }
        _ => {}
    }
    if get(
        &mut conn,
        &actor.scope,
        agency_id,
        jinglao_domain::clock::china_date(now),
    )
    .await?
    .is_none()
    {
        inv.add("agency_id", "评估机构不存在或不在您的管辖范围内");
    }
    let no = certificate_no.trim();
    if no.is_empty() || no.chars().count() > 50 {
        inv.add("certificate_no", "请填写证书编号（不超过 50 个字符）");
    }
    if !CERTIFICATE_LEVELS.contains(&certificate_level) {
        inv.add(
            "certificate_level",
            format!("证书等级应为：{}", CERTIFICATE_LEVELS.join("、")),
        );
    }
    if certificate_expiry.is_none() {
        inv.add("certificate_expiry", "请填写证书有效期至（年-月-日）");
    }
    let (Some(expiry), true) = (certificate_expiry, inv.is_empty()) else {
        return Err(inv.into());
    };
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO assessor_profiles (user_id, agency_id, certificate_no, certificate_level, \
             certificate_expiry, full_time, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (user_id) DO UPDATE SET agency_id = excluded.agency_id, \
             certificate_no = excluded.certificate_no, certificate_level = excluded.certificate_level, \
             certificate_expiry = excluded.certificate_expiry, full_time = excluded.full_time, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(agency_id)
        .bind(no)
        .bind(certificate_level)
        .bind(expiry)
        .bind(full_time)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let event = Event::new("assessor.certificate", "user", user_id)
        .region(account.map(|a| a.region_code))
        .detail(json!({
            "agency_id": agency_id, "certificate_no": no, "level": certificate_level,
            "expiry": expiry, "full_time": full_time,
        }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}
