//! Staff and caregivers: one record per person (ID number encrypted, hashed for lookup,
//! masked for lists, as in the registry), contracts with providers, social insurance by month,
//! training hours and awards. Hiring someone already on the books of another provider links
//! the same person; two overlapping full-time contracts are refused without naming the other
//! employer.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::staff::{StaffRole, Term, VocationalLevel, full_time_clash};
use jinglao_domain::{Invalid, Permission, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::crypto::{Field, FieldCipher};
use crate::{Actor, Conn, Db, DbError, facilities, on_conn, providers};

/// A member of staff as their employer sees them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffMember {
    /// Person id.
    pub staff_id: Uuid,
    /// Contract id.
    pub employment_id: Uuid,
    /// Name.
    pub name: String,
    /// Masked ID number.
    pub id_masked: String,
    /// Masked phone.
    pub phone_masked: String,
    /// Role (stable name).
    pub role: String,
    /// Caregiver level (stable name).
    pub vocational_level: Option<String>,
    /// Certificate number.
    pub certificate_no: String,
    /// Facility, if assigned to one.
    pub facility_id: Option<Uuid>,
    /// Contract start.
    pub start_on: NaiveDate,
    /// Contract end.
    pub end_on: Option<NaiveDate>,
    /// Full-time.
    pub full_time: bool,
    /// Training hours recorded.
    pub training_hours: i64,
    /// Months of social insurance recorded with this provider.
    pub insured_months: i64,
}

impl StaffMember {
    /// The role's label.
    pub fn role_label(&self) -> &'static str {
        StaffRole::parse(&self.role)
            .map(|r| r.label())
            .unwrap_or("未知")
    }

    /// The level's label, or "—".
    pub fn level_label(&self) -> &'static str {
        self.vocational_level
            .as_deref()
            .and_then(VocationalLevel::parse)
            .map(|l| l.label())
            .unwrap_or("—")
    }
}

pub use jinglao_domain::staff::{HireDraft, NewHire};

/// Hires a person for `provider_id` (in the actor's scope): registers the person if new
/// (matched by ID number), then records the contract, all in one transaction. Refused, naming
/// the field, when the facility is not the provider's or a full-time contract would overlap
/// another.
pub async fn hire(
    db: &Db,
    key: &ChainKey,
    cipher: &FieldCipher,
    actor: &Actor,
    provider_id: Uuid,
    h: &NewHire,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    // Checked by the use case too; kept here so no caller can skip it.
    if !actor.may(Permission::ManageFacilities) {
        return Err(DbError::NotFound);
    }
    let mut inv = Invalid::new();
    let (name, id, phone, role, level, term) = (
        h.name.as_str(),
        &h.id_number,
        &h.phone,
        h.role,
        h.vocational_level,
        h.term,
    );
    let certificate_on = h.certificate_on;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let provider = providers::get(&mut conn, &actor.scope, provider_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let facility_id = match h.facility_id {
        None => None,
        Some(fid) => match facilities::get(&mut conn, &actor.scope, fid).await? {
            Some(f) if f.provider_id == provider_id => Some(f.id),
            _ => {
                inv.add("facility_id", "设施不属于本机构");
                None
            }
        },
    };
    inv.into_result(())?;
    let hash = cipher.lookup_hash(Field::IdNumber, id.as_str());
    let existing: Option<(Uuid, String)> = on_conn!(&mut conn, |c| {
        sqlx::query_as("SELECT id, name FROM staff WHERE id_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *c)
            .await
    })?;
    let staff_id = match existing {
        // The same ID number under another name is a typing error or a borrowed number, not
        // the same person: refused, so that a number alone cannot link someone to a provider.
        Some((_, registered)) if registered != name => {
            return Err(Invalid::one(
                "name",
                "这个身份证号码已登记在另一个姓名下，请核对姓名和号码",
            )
            .into());
        }
        Some((s, _)) => {
            let others: Vec<(Uuid, NaiveDate, Option<NaiveDate>, bool)> = on_conn!(
                &mut conn,
                |c| {
                    sqlx::query_as("SELECT id, start_on, end_on, full_time FROM employments WHERE staff_id = $1")
                    .bind(s).fetch_all(&mut *c).await
                }
            )?;
            let terms: Vec<(Uuid, Term)> = others
                .into_iter()
                .map(|(e, start, end, full_time)| {
                    (
                        e,
                        Term {
                            start,
                            end,
                            full_time,
                        },
                    )
                })
                .collect();
            if let Some((_, t)) = full_time_clash(&term, &terms) {
                return Err(Invalid::one(
                    "full_time",
                    format!(
                        "此人已有一份全日制劳动合同（{} 至 {}），全日制合同期间不能重叠；可登记为非全日制",
                        t.start,
                        t.end.map(|d| d.to_string()).unwrap_or_else(|| "无固定期限".into())
                    ),
                )
                .into());
            }
            s
        }
        None => {
            let s = Uuid::now_v7();
            let (phone_cipher, phone_masked) = match &phone {
                Some(p) => (
                    Some(cipher.encrypt(Field::Phone, s, p.as_str())),
                    p.masked(),
                ),
                None => (None, String::new()),
            };
            on_conn!(&mut conn, |c| {
                sqlx::query(
                    "INSERT INTO staff (id, name, id_cipher, id_hash, id_masked, phone_cipher, phone_masked, sex, \
                     birth_date, role, vocational_level, certificate_no, certificate_on, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
                )
                .bind(s).bind(name).bind(cipher.encrypt(Field::IdNumber, s, id.as_str())).bind(&hash)
                .bind(id.masked()).bind(phone_cipher).bind(phone_masked).bind(id.sex().as_str())
                .bind(id.birth_date()).bind(role.as_str()).bind(level.map(|l| l.as_str()))
                .bind(&h.certificate_no).bind(certificate_on).bind(now)
                .execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
            s
        }
    };
    let employment = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO employments (id, staff_id, provider_id, facility_id, role, start_on, end_on, full_time, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(employment).bind(staff_id).bind(provider_id).bind(facility_id).bind(role.as_str())
        .bind(term.start).bind(term.end).bind(term.full_time).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let event = Event::new("staff.hire", "staff", staff_id)
        .region(Some(provider.region_code))
        .detail(
            json!({ "provider_id": provider_id, "facility_id": facility_id, "role": role.as_str(),
            "start_on": term.start, "end_on": term.end, "full_time": term.full_time }),
        );
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(staff_id)
}

/// Staff of a provider in scope (contracts running on `today`), optionally of one facility.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    provider_id: Uuid,
    facility_id: Option<Uuid>,
    today: NaiveDate,
) -> Result<Vec<StaffMember>, DbError> {
    if providers::get(conn, scope, provider_id).await?.is_none() {
        return Err(DbError::NotFound);
    }
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT s.id AS staff_id, m.id AS employment_id, s.name, s.id_masked, s.phone_masked, m.role, \
             s.vocational_level, s.certificate_no, m.facility_id, m.start_on, m.end_on, m.full_time, \
             COALESCE((SELECT SUM(r.hours) FROM staff_records r WHERE r.staff_id = s.id AND r.kind = 'training'), 0) AS training_hours, \
             (SELECT COUNT(*) FROM staff_insurance_months i WHERE i.staff_id = s.id AND i.provider_id = m.provider_id) AS insured_months \
             FROM employments m JOIN staff s ON s.id = m.staff_id WHERE m.provider_id = ",
        );
        q.push_bind(provider_id);
        q.push(" AND m.start_on <= ").push_bind(today);
        q.push(" AND (m.end_on IS NULL OR m.end_on >= ")
            .push_bind(today)
            .push(")");
        if let Some(f) = facility_id {
            q.push(" AND m.facility_id = ").push_bind(f);
        }
        q.push(" ORDER BY m.role, s.name");
        q.build_query_as::<StaffMember>().fetch_all(&mut *c).await
    })?)
}

/// Records social insurance paid for `month` (YYYY-MM) by the provider; idempotent.
pub async fn record_insurance(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    staff_id: Uuid,
    month: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let ok =
        month.len() == 7 && jinglao_domain::category::parse_date(&format!("{month}-01")).is_some();
    if !ok {
        return Err(Invalid::one("month", "月份格式应为 年-月，例如 2026-10").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    if !actor.may(Permission::ManageFacilities)
        || providers::get(&mut conn, &actor.scope, provider_id)
            .await?
            .is_none()
    {
        return Err(DbError::NotFound);
    }
    let employed: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM employments WHERE staff_id = $1 AND provider_id = $2",
        )
        .bind(staff_id)
        .bind(provider_id)
        .fetch_one(&mut *c)
        .await
    })?;
    if employed == 0 {
        return Err(DbError::NotFound);
    }
    on_conn!(&mut conn, |c| {
        sqlx::query("INSERT INTO staff_insurance_months (staff_id, provider_id, month) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(staff_id).bind(provider_id).bind(month).execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let event = Event::new("staff.insurance", "staff", staff_id)
        .detail(json!({ "provider_id": provider_id, "month": month }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Records training hours or an award for a member of the provider's staff.
pub async fn add_record(
    w: &WriteCtx<'_>,
    provider_id: Uuid,
    staff_id: Uuid,
    kind: &str,
    on: Option<NaiveDate>,
    hours: i64,
    title: &str,
) -> Result<(), DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut inv = Invalid::new();
    if !matches!(kind, "training" | "award") {
        inv.add("kind", "应为培训或获奖");
    }
    if on.is_none() {
        inv.add("on_date", "请填写日期（年-月-日）");
    }
    if kind == "training" && !(1..=1000).contains(&hours) {
        inv.add("hours", "培训学时应为 1 到 1000");
    }
    if title.trim().is_empty() {
        inv.add("title", "请填写培训内容或奖项名称");
    }
    let (Some(on), true) = (on, inv.is_empty()) else {
        return Err(inv.into());
    };
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    if !actor.may(Permission::ManageFacilities)
        || providers::get(&mut conn, &actor.scope, provider_id)
            .await?
            .is_none()
    {
        return Err(DbError::NotFound);
    }
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO staff_records (id, staff_id, kind, on_date, hours, title, created_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS \
                     (SELECT 1 FROM employments WHERE staff_id = $2 AND provider_id = $8)",
        )
        .bind(Uuid::now_v7())
        .bind(staff_id)
        .bind(kind)
        .bind(on)
        .bind(hours as i32)
        .bind(title.trim())
        .bind(now)
        .bind(provider_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let event = Event::new("staff.record", "staff", staff_id)
        .detail(json!({ "kind": kind, "on": on, "hours": hours, "title": title.trim() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Staff on contract on `today` at a facility, by role (for KPIs: caregivers per 10,000 older
/// people, social workers per 100 beds).
pub async fn counts_by_role(
    conn: &mut Conn<'_>,
    facility_id: Uuid,
    today: NaiveDate,
) -> Result<Vec<(String, i64)>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT role, COUNT(DISTINCT staff_id) FROM employments WHERE facility_id = $1 AND start_on <= $2 \
             AND (end_on IS NULL OR end_on >= $2) GROUP BY role ORDER BY role",
        )
        .bind(facility_id).bind(today).fetch_all(&mut *c).await
    })?)
}
