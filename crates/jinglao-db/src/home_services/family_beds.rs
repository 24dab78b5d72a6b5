//! Family care beds (家庭养老床位) in storage: setting one up for a qualifying person at home
//! (the region's rule, no bed in an institution, one bed at a time), the adaptation checklist,
//! devices, the month's verified visits against the minimum, ending a bed, and counts per
//! county for the targets dashboard.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::family_bed::{MonthProgress, adaptation_label, device_label};
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use jinglao_domain::{Invalid, Permission, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::eligibility::load_person;
use crate::{Actor, Conn, Db, DbError, on_conn, orders};

/// A bed as entered.
#[derive(Debug, Clone, Default)]
pub struct NewBed<'a> {
    /// The person.
    pub elder_id: Uuid,
    /// Provider.
    pub provider_id: Option<Uuid>,
    /// Contract number.
    pub contract_no: &'a str,
    /// The item its visits are booked under.
    pub item_code: &'a str,
    /// First day.
    pub start_on: Option<NaiveDate>,
    /// Home assessment day.
    pub assessed_on: Option<NaiveDate>,
    /// Who assessed the home.
    pub assessor: &'a str,
    /// What the home assessment found.
    pub assessment: &'a str,
}

/// What a provider is told when a bed cannot be set up for someone whose record it does not
/// cover: the possible reasons, without saying which.
pub const PERSON_REFUSED: &str = "无法为这位老人建床：可能档案不在册（已迁出或已故）、不符合本地家庭养老床位条件、\
正入住养老机构，或已有在用的家庭养老床位。请老人所在的村（社区）或县（市、区）民政部门核实后办理。";

/// A refusal about the person, with whether the caller may hear its reason.
struct Refusal {
    code: &'static str,
    message: String,
    covered: bool,
}

impl Refusal {
    /// Rolls the transaction back, audits the refusal (with its reason) and answers: the reason
    /// to staff covering the record, [`PERSON_REFUSED`] to anyone else.
    async fn answer<T>(
        self,
        tx: crate::Tx,
        w: &WriteCtx<'_>,
        elder_id: Uuid,
        residence: RegionCode,
    ) -> Result<T, DbError> {
        drop(tx);
        let event = Event::new("family_bed.create_refused", "elder", elder_id)
            .region(Some(residence))
            .detail(json!({ "refused": self.code }));
        audit::record(w.db, w.chain, w.actor, event, w.now).await?;
        let message = if self.covered {
            self.message
        } else {
            PERSON_REFUSED.to_string()
        };
        Err(Invalid::one("elder_id", message).into())
    }
}

/// Whether `actor` may act on beds of `provider` for people living in `region`.
fn may_manage(actor: &Actor, region: &RegionCode, provider: Uuid) -> bool {
    match &actor.scope {
        Scope::Provider { provider_id, .. } => {
            actor.may(Permission::ManageFacilities) && *provider_id == provider
        }
        scope => actor.may(Permission::EditElders) && scope.covers_record_in(region),
    }
}

/// Sets up a bed; audited, one transaction. Refused, naming the field, when the person does
/// not qualify under the region's rule (with the clauses in words), lives in an institution,
/// already has a bed, or the provider has no contract price for the item on the start day.
pub async fn create(
    w: &WriteCtx<'_>,
    b: &NewBed<'_>,
    book: &PolicyBook,
    today: NaiveDate,
) -> Result<Uuid, DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut inv = Invalid::new();
    if b.provider_id.is_none() {
        inv.add("provider_id", "请选择服务机构");
    }
    if b.contract_no.trim().is_empty() {
        inv.add("contract_no", "请填写床位服务协议编号");
    }
    if b.item_code.trim().is_empty() {
        inv.add("item_code", "请选择上门服务项目");
    }
    match b.start_on {
        None => inv.add("start_on", "请填写开始日期"),
        Some(d) if d < today - chrono::Duration::days(31) => {
            inv.add("start_on", "开始日期不能早于 31 天前")
        }
        Some(_) => {}
    }
    match (b.assessed_on, b.start_on) {
        (None, _) => inv.add("assessed_on", "请填写入户评估日期"),
        (Some(a), _) if a > today => inv.add("assessed_on", "入户评估日期不能晚于今天"),
        (Some(a), Some(s)) if a > s => inv.add("assessed_on", "应先入户评估，再开始床位服务"),
        _ => {}
    }
    if b.assessor.trim().is_empty() {
        inv.add("assessor", "请填写入户评估人员");
    }
    for (field, text, max) in [
        ("contract_no", b.contract_no, 64),
        ("assessor", b.assessor, 50),
        ("assessment", b.assessment, 2000),
    ] {
        if text.trim().chars().count() > max {
            inv.add(field, format!("不超过 {max} 个字"));
        }
    }
    if b.assessment.trim().is_empty() {
        inv.add(
            "assessment",
            "请填写入户评估结论（居住环境、照护需求、改造建议）",
        );
    }
    inv.into_result(())?;
    let provider = b.provider_id.unwrap_or_default();
    let start = b.start_on.unwrap_or(today);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let facts: Option<(String, String)> = on_conn!(&mut conn, |c| {
        sqlx::query_as("SELECT residence_region_code, status FROM elders WHERE id = $1")
            .bind(b.elder_id)
            .fetch_optional(&mut *c)
            .await
    })?;
    let (residence, status) = facts.ok_or(DbError::NotFound)?;
    let residence = RegionCode::parse(&residence).map_err(|e| DbError::Corrupt(e.to_string()))?;
    if !may_manage(actor, &residence, provider) {
        return Err(DbError::NotFound);
    }
    // What the registry says of the person is told only to staff who cover the record; a
    // provider learns nothing but a refusal that lists the possible reasons (it is audited).
    let covered = actor.scope.covers_record_in(&residence);
    let refuse = |code: &'static str, message: String| Refusal {
        code,
        message,
        covered,
    };
    if status != "active" {
        let r = refuse("inactive", "老人已故或已迁出，不能建床".into());
        return r.answer(tx, w, b.elder_id, residence).await;
    }
    // The region's rule, on the person's facts today.
    let (raw, _) = load_person(&mut conn, b.elder_id, today)
        .await?
        .ok_or(DbError::NotFound)?;
    let city = RegionCode::parse(&residence.as_str()[..4]).unwrap_or(residence);
    let advanced = book.int(PolicyKey::AdvancedAge, &residence) as i32;
    let decided = book
        .family_bed_rule(&residence)
        .deciding(&raw.facts(&city, today, advanced));
    if !decided.eligible {
        let why = format!("不符合本地家庭养老床位条件：{}", decided.explanation());
        return refuse("not_eligible", why)
            .answer(tx, w, b.elder_id, residence)
            .await;
    }
    let in_care: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM stays WHERE elder_id = $1 AND discharged_on IS NULL",
        )
        .bind(b.elder_id)
        .fetch_one(&mut *c)
        .await
    })?;
    if in_care > 0 {
        let r = refuse("in_care", "老人正入住养老机构，不能建家庭养老床位".into());
        return r.answer(tx, w, b.elder_id, residence).await;
    }
    if orders::price_on(&mut conn, provider, b.item_code.trim(), start)
        .await?
        .is_none()
    {
        let label = crate::service_lists::item_label(&mut conn, b.item_code.trim()).await?;
        return Err(Invalid::one(
            "item_code",
            format!("该服务机构在 {start} 没有项目{label}的合同单价"),
        )
        .into());
    }
    let id = Uuid::now_v7();
    let inserted = on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO family_beds (id, elder_id, region_code, provider_id, contract_no, item_code, \
             start_on, assessed_on, assessor, assessment, basis, status, created_by, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $13, $13)",
        )
        .bind(id).bind(b.elder_id).bind(residence.as_str()).bind(provider)
        .bind(b.contract_no.trim()).bind(b.item_code.trim()).bind(start).bind(b.assessed_on)
        .bind(b.assessor.trim()).bind(b.assessment.trim()).bind(decided.explanation())
        .bind(actor.user_id).bind(now).execute(&mut *c).await.map(|_| ())
    });
    match inserted {
        Ok(_) => {}
        Err(e) => {
            let e = DbError::from(e);
            if e.is_conflict_on("family_beds.elder_id") {
                let r = refuse("has_bed", "老人已有在用的家庭养老床位".into());
                return r.answer(tx, w, b.elder_id, residence).await;
            }
            return Err(e);
        }
    }
    let event = Event::new("family_bed.create", "elder", b.elder_id)
        .region(Some(residence))
        .detail(json!({
            "bed": id, "provider": provider, "contract": b.contract_no.trim(),
            "item": b.item_code.trim(), "start_on": start, "basis": decided.explanation(),
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// A bed as its page shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Bed {
    /// Id.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// Residence.
    pub region_code: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// Contract number.
    pub contract_no: String,
    /// Item.
    pub item_code: String,
    /// Start.
    pub start_on: NaiveDate,
    /// End.
    pub end_on: Option<NaiveDate>,
    /// Home assessment.
    pub assessed_on: NaiveDate,
    /// By whom.
    pub assessor: String,
    /// Found.
    pub assessment: String,
    /// Why the person qualified.
    pub basis: String,
    /// active | ended.
    pub status: String,
    /// Why it ended.
    pub end_reason: Option<String>,
}

const BED_COLUMNS: &str = "SELECT b.id, b.elder_id, b.region_code, b.provider_id, p.name AS provider_name, \
    b.contract_no, b.item_code, b.start_on, b.end_on, b.assessed_on, b.assessor, b.assessment, \
    b.basis, b.status, b.end_reason FROM family_beds b JOIN providers p ON p.id = b.provider_id";

/// The person's beds (in force first, then ended, newest first) within `scope`.
pub async fn of_elder(
    conn: &mut Conn<'_>,
    scope: &Scope,
    elder_id: Uuid,
) -> Result<Vec<Bed>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(BED_COLUMNS);
        q.push(" WHERE b.elder_id = ").push_bind(elder_id);
        crate::scope_sql::push_scope(&mut q, scope, "b.region_code", "b.provider_id");
        q.push(" ORDER BY b.status, b.start_on DESC");
        q.build_query_as::<Bed>().fetch_all(&mut *c).await
    })?)
}

/// One bed within `scope`.
pub async fn get(conn: &mut Conn<'_>, scope: &Scope, id: Uuid) -> Result<Option<Bed>, DbError> {
    let rows: Vec<Bed> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(BED_COLUMNS);
        q.push(" WHERE b.id = ").push_bind(id);
        crate::scope_sql::push_scope(&mut q, scope, "b.region_code", "b.provider_id");
        q.build_query_as::<Bed>().fetch_all(&mut *c).await
    })?;
    Ok(rows.into_iter().next())
}

async fn bed_for_change(conn: &mut Conn<'_>, actor: &Actor, id: Uuid) -> Result<Bed, DbError> {
    let bed = get(conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let region =
        RegionCode::parse(&bed.region_code).map_err(|e| DbError::Corrupt(e.to_string()))?;
    if !may_manage(actor, &region, bed.provider_id) {
        return Err(DbError::NotFound);
    }
    if bed.status != "active" {
        return Err(Invalid::one("bed", "床位已撤销，不能再修改").into());
    }
    Ok(bed)
}

/// An adaptation as entered.
#[derive(Debug, Clone, Default)]
pub struct NewAdaptation<'a> {
    /// Checklist item (see `ADAPTATIONS`).
    pub item: &'a str,
    /// When it was done.
    pub done_on: Option<NaiveDate>,
    /// A note.
    pub note: &'a str,
}

/// A device as entered.
#[derive(Debug, Clone, Default)]
pub struct NewDevice<'a> {
    /// Device kind (see `DEVICES`).
    pub kind: &'a str,
    /// Its serial number.
    pub serial_no: &'a str,
    /// When it was installed.
    pub installed_on: Option<NaiveDate>,
}

/// Marks an adaptation done (or records it again with a new date and note); audited.
pub async fn adapt(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    bed_id: Uuid,
    a: &NewAdaptation<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let (item, done_on, note) = (a.item.trim(), a.done_on, a.note);
    let mut inv = Invalid::new();
    if adaptation_label(item).is_none() {
        inv.add("item", "请选择改造项目");
    }
    if done_on.is_none() {
        inv.add("done_on", "请填写完成日期");
    }
    if note.trim().chars().count() > 500 {
        inv.add("note", "备注不超过 500 字");
    }
    inv.into_result(())?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let bed = bed_for_change(&mut conn, actor, bed_id).await?;
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO family_bed_adaptations (bed_id, item, done_on, note) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (bed_id, item) DO UPDATE SET done_on = excluded.done_on, note = excluded.note",
        )
        .bind(bed_id).bind(item).bind(done_on).bind(note.trim()).execute(&mut *c).await.map(|_| ())
    })?;
    let event = Event::new("family_bed.adapt", "elder", bed.elder_id)
        .region(RegionCode::parse(&bed.region_code).ok())
        .detail(json!({ "bed": bed_id, "item": item, "done_on": done_on, "note": note.trim() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a device installed (its serial unique among devices in place); audited.
pub async fn install(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    bed_id: Uuid,
    d: &NewDevice<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let (kind, serial_no, installed_on) = (d.kind.trim(), d.serial_no, d.installed_on);
    let mut inv = Invalid::new();
    if device_label(kind).is_none() {
        inv.add("kind", "请选择设备类型");
    }
    if serial_no.trim().is_empty() || serial_no.trim().chars().count() > 64 {
        inv.add("serial_no", "请填写设备编号（不超过 64 个字符）");
    }
    if installed_on.is_none() {
        inv.add("installed_on", "请填写安装日期");
    }
    inv.into_result(())?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let bed = bed_for_change(&mut conn, actor, bed_id).await?;
    let inserted = on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO family_bed_devices (id, bed_id, kind, serial_no, installed_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7()).bind(bed_id).bind(kind).bind(serial_no.trim()).bind(installed_on)
        .bind(now).execute(&mut *c).await.map(|_| ())
    });
    if let Err(e) = inserted {
        let e = DbError::from(e);
        if e.is_conflict_on("family_bed_devices.kind") {
            return Err(Invalid::one("serial_no", "这个编号的设备已经登记在用").into());
        }
        return Err(e);
    }
    let event = Event::new("family_bed.device", "elder", bed.elder_id)
        .region(RegionCode::parse(&bed.region_code).ok())
        .detail(json!({ "bed": bed_id, "kind": kind, "serial": serial_no.trim() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The checklist as recorded: (item, done on, note).
pub async fn adaptations(
    conn: &mut Conn<'_>,
    bed_id: Uuid,
) -> Result<Vec<(String, NaiveDate, String)>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT item, done_on, note FROM family_bed_adaptations WHERE bed_id = $1")
            .bind(bed_id)
            .fetch_all(&mut *c)
            .await
    })?)
}

/// Devices in place: (kind, serial, installed on).
pub async fn devices(
    conn: &mut Conn<'_>,
    bed_id: Uuid,
) -> Result<Vec<(String, String, NaiveDate)>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT kind, serial_no, installed_on FROM family_bed_devices WHERE bed_id = $1 \
             AND removed_on IS NULL ORDER BY installed_on, kind",
        )
        .bind(bed_id)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// The month's verified (or accepted) visits of the bed's item by the bed's provider, against
/// the region's minimum.
pub async fn progress(
    conn: &mut Conn<'_>,
    bed: &Bed,
    book: &PolicyBook,
    month: &str,
) -> Result<MonthProgress, DbError> {
    let region =
        RegionCode::parse(&bed.region_code).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let done: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM visits WHERE elder_id = $1 AND provider_id = $2 AND item_code = $3 \
             AND service_month = $4 AND status IN ('verified', 'accepted')",
        )
        .bind(bed.elder_id).bind(bed.provider_id).bind(&bed.item_code).bind(month)
        .fetch_one(&mut *c).await
    })?;
    Ok(MonthProgress {
        done,
        minimum: book.int(PolicyKey::FamilyBedMinVisits, &region),
    })
}

/// Ends a bed with a reason; audited.
pub async fn end(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    bed_id: Uuid,
    reason: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if reason.trim().is_empty() || reason.trim().chars().count() > 500 {
        return Err(Invalid::one("reason", "请填写撤床原因（不超过 500 字）").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let bed = bed_for_change(&mut conn, actor, bed_id).await?;
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE family_beds SET status = 'ended', end_on = $1, end_reason = $2, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(today).bind(reason.trim()).bind(now).bind(bed_id).execute(&mut *c).await.map(|_| ())
    })?;
    let event = Event::new("family_bed.end", "elder", bed.elder_id)
        .region(RegionCode::parse(&bed.region_code).ok())
        .detail(json!({ "bed": bed_id, "reason": reason.trim() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// One line of the beds list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Listed {
    /// Bed.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// Name.
    pub elder_name: String,
    /// Residence.
    pub region_code: String,
    /// Provider's name.
    pub provider_name: String,
    /// Start.
    pub start_on: NaiveDate,
    /// Verified visits this month.
    pub done: i64,
}

/// The order of [`list`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// The beds furthest behind this month's minimum first (the work list).
    LeastDoneFirst,
    /// In the order they were set up, after the bed `after` (keyset paging).
    Registered {
        /// The last bed of the previous page.
        after: Option<Uuid>,
    },
}

/// Beds in force within `scope`, with this month's verified visits, in `order`.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    month: &str,
    order: ListOrder,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT b.id, b.elder_id, e.name AS elder_name, b.region_code, p.name AS provider_name, \
             b.start_on, (SELECT COUNT(*) FROM visits v WHERE v.elder_id = b.elder_id \
               AND v.provider_id = b.provider_id AND v.item_code = b.item_code \
               AND v.service_month = ",
        );
        q.push_bind(month.to_string());
        q.push(
            " AND v.status IN ('verified', 'accepted')) AS done FROM family_beds b \
             JOIN elders e ON e.id = b.elder_id JOIN providers p ON p.id = b.provider_id \
             WHERE b.status = 'active'",
        );
        crate::scope_sql::push_scope(&mut q, scope, "b.region_code", "b.provider_id");
        match order {
            ListOrder::LeastDoneFirst => {
                q.push(" ORDER BY done, b.start_on, b.id");
            }
            ListOrder::Registered { after } => {
                if let Some(after) = after {
                    q.push(" AND b.id > ").push_bind(after);
                }
                q.push(" ORDER BY b.id");
            }
        }
        q.push(" LIMIT ").push_bind(limit);
        q.build_query_as::<Listed>().fetch_all(&mut *c).await
    })?)
}

/// Beds in force per county within `scope` on the day (for the targets dashboard).
pub async fn counts_by_county(
    conn: &mut Conn<'_>,
    scope: &Scope,
) -> Result<Vec<(String, i64)>, DbError> {
    let rows: Vec<(String, i64)> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT b.region_code, COUNT(*) FROM family_beds b WHERE b.status = 'active'",
        );
        crate::scope_sql::push_scope(&mut q, scope, "b.region_code", "b.provider_id");
        q.push(" GROUP BY b.region_code");
        q.build_query_as::<(String, i64)>().fetch_all(&mut *c).await
    })?;
    let mut by: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (code, n) in rows {
        *by.entry(code.chars().take(6).collect()).or_default() += n;
    }
    Ok(by.into_iter().collect())
}
