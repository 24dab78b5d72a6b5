//! Beds, residents' admissions and discharges, monthly resident-days, and the priority waiting
//! list of public institutions.
//!
//! Two admissions racing for one bed: the bed's status changes only from free or reserved to
//! occupied (`UPDATE … WHERE status IN (…)`), and a partial unique index allows one open stay
//! per bed and per person, so exactly one wins on either database and the other gets a field
//! error, with nothing written.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::category::{self, CategoryKind};
use jinglao_domain::facility::resident_days;
use jinglao_domain::id_number::age_on;
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use jinglao_domain::waiting_list::{Place, Waiting, order};
use jinglao_domain::{Invalid, Permission, ResidentId, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::crypto::FieldCipher;
use crate::facilities::{self, Facility};
use crate::{Actor, Conn, Db, DbError, elders, on_conn};

/// A bed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Bed {
    /// Id.
    pub id: Uuid,
    /// Facility.
    pub facility_id: Uuid,
    /// Building.
    pub building: String,
    /// Floor.
    pub floor: String,
    /// Room.
    pub room: String,
    /// Bed label within the room.
    pub label: String,
    /// Nursing-type (护理型).
    pub nursing: bool,
    /// free, occupied, reserved, out_of_service.
    pub status: String,
}

impl Bed {
    /// 1号楼 3层 302室 2床.
    pub fn place(&self) -> String {
        format!(
            "{} {}层 {}室 {}床",
            self.building, self.floor, self.room, self.label
        )
    }

    /// The status in Chinese.
    pub fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }
}

/// Bed statuses and their labels.
pub const STATUSES: [(&str, &str); 4] = [
    ("free", "空闲"),
    ("occupied", "已入住"),
    ("reserved", "预留"),
    ("out_of_service", "停用"),
];

/// The Chinese label of a bed status.
pub fn status_label(s: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, l)| *l)
        .unwrap_or("未知")
}

async fn facility_in_scope(
    conn: &mut Conn<'_>,
    actor: &Actor,
    facility_id: Uuid,
) -> Result<Facility, DbError> {
    if !actor.may(Permission::ManageFacilities) {
        return Err(DbError::NotFound);
    }
    facilities::get(conn, &actor.scope, facility_id)
        .await?
        .ok_or(DbError::NotFound)
}

/// The beds of a facility, by place.
pub async fn list(conn: &mut Conn<'_>, facility_id: Uuid) -> Result<Vec<Bed>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, facility_id, building, floor, room, label, nursing, status FROM beds \
             WHERE facility_id = $1 ORDER BY building, floor, room, label",
        )
        .bind(facility_id)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Beds to add to one room.
#[derive(Debug, Clone, Default)]
pub struct NewBeds<'a> {
    /// Building.
    pub building: &'a str,
    /// Floor.
    pub floor: &'a str,
    /// Room.
    pub room: &'a str,
    /// How many beds (labelled 1, 2, … after the room's existing ones) .
    pub count: i64,
    /// Nursing-type.
    pub nursing: bool,
}

/// Adds beds to a room of a facility in scope, in one transaction, and updates the counters.
pub async fn add(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    facility_id: Uuid,
    b: &NewBeds<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let f = facility_in_scope(&mut conn, actor, facility_id).await?;
    let mut inv = Invalid::new();
    if !f.kind.has_beds() {
        inv.add("building", format!("{}不设床位", f.kind.label()));
    }
    for (field, v) in [
        ("building", b.building),
        ("floor", b.floor),
        ("room", b.room),
    ] {
        if v.trim().is_empty() || v.trim().chars().count() > 20 {
            inv.add(field, "请填写（不超过 20 个字）");
        }
    }
    if !(1..=50).contains(&b.count) {
        inv.add("count", "一次可添加 1 到 50 张床位");
    }
    if !inv.is_empty() {
        return Err(inv.into());
    }
    let existing: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM beds WHERE facility_id = $1 AND building = $2 AND floor = $3 AND room = $4")
            .bind(facility_id).bind(b.building.trim()).bind(b.floor.trim()).bind(b.room.trim())
            .fetch_one(&mut *c).await
    })?;
    let ids: Vec<Uuid> = (0..b.count).map(|_| Uuid::now_v7()).collect();
    on_conn!(&mut conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO beds (id, facility_id, building, floor, room, label, nursing, status, created_at, updated_at) ",
        );
        q.push_values(ids.iter().enumerate(), |mut row, (n, id)| {
            row.push_bind(*id).push_bind(facility_id).push_bind(b.building.trim())
                .push_bind(b.floor.trim()).push_bind(b.room.trim())
                .push_bind((existing + n as i64 + 1).to_string()).push_bind(b.nursing)
                .push_bind("free").push_bind(now).push_bind(now);
        });
        q.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })
    .map_err(|e| match DbError::from(e) {
        e if e.is_conflict_on("beds.facility_id") => {
            DbError::Invalid(Invalid::one("room", "该房间的床号已存在"))
        }
        e => e,
    })?;
    facilities::recount(&mut conn, Some(facility_id), now).await?;
    let event = Event::new("bed.add", "facility", facility_id)
        .region(Some(f.region_code))
        .detail(
            json!({ "building": b.building.trim(), "floor": b.floor.trim(), "room": b.room.trim(),
            "count": b.count, "nursing": b.nursing }),
        );
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Sets a bed's status to free, reserved or out of service (occupied only by admission). An
/// occupied bed cannot be changed until its resident is discharged.
pub async fn set_status(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    facility_id: Uuid,
    bed_id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !matches!(status, "free" | "reserved" | "out_of_service") {
        return Err(
            Invalid::one("status", "床位状态只能改为空闲、预留或停用；入住请办理入住").into(),
        );
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let f = facility_in_scope(&mut conn, actor, facility_id).await?;
    let n = on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE beds SET status = $1, updated_at = $2 WHERE id = $3 AND facility_id = $4 AND status <> 'occupied'")
            .bind(status).bind(now).bind(bed_id).bind(facility_id)
            .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    if n == 0 {
        return Err(Invalid::one("status", "床位不存在或已有人入住（请先办理退住）").into());
    }
    facilities::recount(&mut conn, Some(facility_id), now).await?;
    let event = Event::new("bed.status", "bed", bed_id)
        .region(Some(f.region_code))
        .detail(json!({ "facility_id": facility_id, "status": status }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// An admission as entered.
#[derive(Debug, Clone)]
pub struct Admission<'a> {
    /// The bed.
    pub bed_id: Uuid,
    /// The older person's ID number (looked up in the registry).
    pub id_number: &'a str,
    /// First day.
    pub admitted_on: Option<NaiveDate>,
    /// At a public institution with a waiting list, why someone other than the first in line
    /// is admitted (empty otherwise).
    pub out_of_turn_reason: &'a str,
}

/// The one answer about the person an admission or a waiting-list entry names, for an actor
/// whose scope does not cover the person's record (a provider's administrator, another
/// county's staff) and for a number not registered at all: listing the possible reasons
/// without saying which, so that the form cannot be used to learn what the registry holds.
pub const PERSON_REFUSED: &str = "无法用这个身份证号码办理：可能尚未在老年人数据库登记、档案不在册（已迁出或已故）、\
没有生效的能力评估，或已在一家机构入住。请核对号码，或请老人所在的村（社区）协助。";

/// Why a registered person cannot be admitted or queued (the detail for staff who cover the
/// person's record, and for the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PersonProblem {
    NotRegistered,
    Inactive,
    NoAssessment,
    InAnInstitution,
}

impl PersonProblem {
    fn code(self) -> &'static str {
        match self {
            PersonProblem::NotRegistered => "not_registered",
            PersonProblem::Inactive => "inactive",
            PersonProblem::NoAssessment => "no_assessment",
            PersonProblem::InAnInstitution => "in_an_institution",
        }
    }

    fn message(self) -> &'static str {
        match self {
            PersonProblem::NotRegistered => PERSON_REFUSED,
            PersonProblem::Inactive => "该老年人的档案状态不是“在册”（已迁出或已故），不能办理",
            PersonProblem::NoAssessment => {
                "该老年人没有生效的能力评估结论，入住前须完成评估（潭政办发〔2023〕20号）"
            }
            PersonProblem::InAnInstitution => "该老年人已在一家机构入住，须先办理退住",
        }
    }
}

/// What an admission or waiting-list entry needs of the person.
#[derive(Debug, Clone, Copy)]
struct PersonNeeds {
    assessment: bool,
    not_in_an_institution: bool,
}

/// Looks the person up by ID number and checks them. A refusal is recorded in the audit
/// trail (committed on its own, since the change itself is not made) and answered with the
/// detail only when the actor's scope covers the person's record.
async fn person_for(
    w: &WriteCtx<'_>,
    cipher: &FieldCipher,
    action: &'static str,
    facility: &Facility,
    id: &ResidentId,
    needs: PersonNeeds,
) -> Result<(Uuid, Option<i32>), DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut c = db.acquire().await?;
    let mut conn = c.conn();
    let found = elders::find_by_id_number(&mut conn, cipher, id).await?;
    let mut ability = None;
    let problem = if let Some((elder_id, _)) = found {
        let (level, status, in_stay): (Option<i32>, String, i64) = on_conn!(&mut conn, |c| {
            sqlx::query_as(
                "SELECT ability_level, status, \
                 (SELECT COUNT(*) FROM stays WHERE elder_id = $1 AND discharged_on IS NULL) \
                 FROM elders WHERE id = $1",
            )
            .bind(elder_id)
            .fetch_one(&mut *c)
            .await
        })?;
        ability = level;
        if status != "active" {
            Some(PersonProblem::Inactive)
        } else if needs.assessment && level.is_none() {
            Some(PersonProblem::NoAssessment)
        } else if needs.not_in_an_institution && in_stay > 0 {
            Some(PersonProblem::InAnInstitution)
        } else {
            None
        }
    } else {
        Some(PersonProblem::NotRegistered)
    };
    drop(c);
    let Some(problem) = problem else {
        let (elder_id, _) = found.expect("found");
        return Ok((elder_id, ability));
    };
    let covered = found.is_some_and(|(_, region)| actor.scope.covers_record_in(&region));
    let event = Event::new(action, "facility", facility.id)
        .region(Some(facility.region_code))
        .detail(json!({
            "refused": problem.code(),
            "elder_id": found.filter(|_| covered).map(|(e, _)| e),
            "id_masked": id.masked(),
        }));
    audit::record(db, key, actor, event, now).await?;
    let message = if covered {
        problem.message()
    } else {
        PERSON_REFUSED
    };
    Err(Invalid::one("id_number", message).into())
}

/// Admits a registered older person to a free (or reserved) bed of a facility in scope. Needs
/// an effective capability assessment when the region's policy says so; one open stay per
/// person and per bed. Also closes the person's waiting-list entry at this facility.
///
/// Everything that needs no registry fact (the date, the bed) is checked first; the person is
/// then checked by [`person_for`], which tells an actor outside the person's region nothing
/// but [`PERSON_REFUSED`] and audits the refusal.
pub async fn admit(
    w: &WriteCtx<'_>,
    cipher: &FieldCipher,
    book: &PolicyBook,
    facility_id: Uuid,
    a: &Admission<'_>,
) -> Result<Uuid, DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut inv = Invalid::new();
    let id_number = match ResidentId::parse(a.id_number) {
        Ok(id) => Some(id),
        Err(e) => {
            inv.add("id_number", e.to_string());
            None
        }
    };
    match a.admitted_on {
        None => inv.add("admitted_on", "请填写入住日期（年-月-日）"),
        Some(d) if d > jinglao_domain::clock::china_date(now) + chrono::Duration::days(1) => {
            inv.add("admitted_on", "入住日期不能晚于今天")
        }
        _ => {}
    }
    let f = {
        let mut c = db.acquire().await?;
        let mut conn = c.conn();
        let f = facility_in_scope(&mut conn, actor, facility_id).await?;
        let bed_free: Option<String> = on_conn!(&mut conn, |c| {
            sqlx::query_scalar("SELECT status FROM beds WHERE id = $1 AND facility_id = $2")
                .bind(a.bed_id)
                .bind(facility_id)
                .fetch_optional(&mut *c)
                .await
        })?;
        if !bed_free.is_some_and(|s| s == "free" || s == "reserved") {
            inv.add("bed_id", "该床位已有人入住、已停用或不属于本设施");
        }
        f
    };
    let (Some(id), Some(admitted_on), true) = (id_number, a.admitted_on, inv.is_empty()) else {
        return Err(inv.into());
    };
    let needs = PersonNeeds {
        assessment: book.flag(PolicyKey::AdmissionRequiresAssessment, &f.region_code),
        not_in_an_institution: true,
    };
    let (elder_id, ability) = person_for(w, cipher, "stay.admit_refused", &f, &id, needs).await?;
    // A public institution admits in the order of its waiting list, or records why not
    // (潭政办发〔2023〕20号 二（三）9: priority waiting for public institutions).
    let out_of_turn = if f.ownership.is_public() {
        let mut c = db.acquire().await?;
        let today = jinglao_domain::clock::china_date(now);
        let list = waiting_list(&mut c.conn(), &actor.scope, book, facility_id, today).await?;
        match list.first() {
            Some(first) if first.entry.key.elder_id != elder_id => {
                let reason = a.out_of_turn_reason.trim();
                if reason.chars().count() < 4 {
                    let place = list
                        .iter()
                        .find(|p| p.entry.key.elder_id == elder_id)
                        .map_or("不在轮候名单上".to_string(), |p| {
                            format!("在轮候名单第 {} 位", p.position)
                        });
                    return Err(Invalid::one(
                        "out_of_turn_reason",
                        format!(
                            "本机构按轮候名单入住：排在第 1 位的是{}，这位老人{place}。不按顺序入住请写明理由（至少 4 个字）",
                            first.entry.key.name
                        ),
                    )
                    .into());
                }
                Some((reason.to_string(), first.entry.key.entry_id))
            }
            _ => None,
        }
    } else {
        None
    };
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    // Take the bed: only one transaction can move it out of free/reserved.
    let taken = on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE beds SET status = 'occupied', updated_at = $1 WHERE id = $2 AND facility_id = $3 \
                     AND status IN ('free', 'reserved')")
            .bind(now).bind(a.bed_id).bind(facility_id)
            .execute(&mut *c).await.map(|r| r.rows_affected())
    })
    .map_err(DbError::from)?;
    if taken == 0 {
        return Err(Invalid::one("bed_id", "该床位已有人入住、已停用或不属于本设施").into());
    }
    let stay_id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query("INSERT INTO stays (id, facility_id, bed_id, elder_id, admitted_on, ability_level, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(stay_id).bind(facility_id).bind(a.bed_id).bind(elder_id).bind(admitted_on).bind(ability).bind(now)
            .execute(&mut *c).await.map(|r| r.rows_affected())
    })
    .map_err(|e| match DbError::from(e) {
        e if e.is_conflict_on("stays.elder_id") => {
            DbError::Invalid(Invalid::one("id_number", "该老年人已在一家机构入住，须先办理退住"))
        }
        e if e.is_conflict_on("stays.bed_id") => {
            DbError::Invalid(Invalid::one("bed_id", "该床位已有人入住"))
        }
        e => e,
    })?;
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE waiting_list SET status = 'admitted' WHERE facility_id = $1 AND elder_id = $2 AND status = 'waiting'")
            .bind(facility_id).bind(elder_id).execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    facilities::recount(&mut conn, Some(facility_id), now).await?;
    let event = Event::new("stay.admit", "elder", elder_id)
        .region(Some(f.region_code))
        .detail(json!({
            "facility_id": facility_id, "bed_id": a.bed_id, "stay_id": stay_id, "admitted_on": admitted_on,
            "out_of_turn_reason": out_of_turn.as_ref().map(|(r, _)| r),
            "first_in_line": out_of_turn.as_ref().map(|(_, e)| e),
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(stay_id)
}

/// A discharge as entered.
#[derive(Debug, Clone, Default)]
pub struct Discharge<'a> {
    /// The stay ending.
    pub stay_id: Uuid,
    /// The last day.
    pub on: Option<NaiveDate>,
    /// Why.
    pub reason: &'a str,
}

/// Discharges a resident: closes the stay and frees the bed.
pub async fn discharge(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    facility_id: Uuid,
    d: &Discharge<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let (stay_id, on, reason) = (d.stay_id, d.on, d.reason);
    let mut inv = Invalid::new();
    if on.is_none() {
        inv.add("discharged_on", "请填写退住日期（年-月-日）");
    }
    if reason.trim().is_empty() {
        inv.add("discharge_reason", "请填写退住原因");
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let f = facility_in_scope(&mut conn, actor, facility_id).await?;
    let stay: Option<(Uuid, Uuid, NaiveDate)> = on_conn!(&mut conn, |c| {
        sqlx::query_as("SELECT bed_id, elder_id, admitted_on FROM stays WHERE id = $1 AND facility_id = $2 AND discharged_on IS NULL")
            .bind(stay_id).bind(facility_id).fetch_optional(&mut *c).await
    })?;
    let Some((bed_id, elder_id, admitted_on)) = stay else {
        return Err(DbError::NotFound);
    };
    if let Some(d) = on
        && d < admitted_on
    {
        inv.add(
            "discharged_on",
            format!("退住日期不能早于入住日期 {admitted_on}"),
        );
    }
    let (Some(on), true) = (on, inv.is_empty()) else {
        return Err(inv.into());
    };
    close_stay_in(
        &mut conn,
        stay_id,
        bed_id,
        facility_id,
        on,
        reason.trim(),
        now,
    )
    .await?;
    let event = Event::new("stay.discharge", "elder", elder_id)
        .region(Some(f.region_code))
        .detail(json!({ "facility_id": facility_id, "stay_id": stay_id, "discharged_on": on, "reason": reason.trim() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends a stay on `on` with `reason`, frees its bed and recounts the facility, inside the
/// caller's transaction (a discharge, or a death or move recorded on the person).
pub(crate) async fn close_stay_in(
    conn: &mut Conn<'_>,
    stay_id: Uuid,
    bed_id: Uuid,
    facility_id: Uuid,
    on: NaiveDate,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE stays SET discharged_on = $1, discharge_reason = $2 WHERE id = $3")
            .bind(on)
            .bind(reason)
            .bind(stay_id)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE beds SET status = 'free', updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(bed_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    facilities::recount(conn, Some(facility_id), now).await
}

/// A current resident, as the facility sees them (name, masked ID number, bed).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Resident {
    /// Stay id.
    pub stay_id: Uuid,
    /// Elder id.
    pub elder_id: Uuid,
    /// Name.
    pub name: String,
    /// Masked ID number.
    pub id_masked: String,
    /// Bed id.
    pub bed_id: Uuid,
    /// Admission date.
    pub admitted_on: NaiveDate,
    /// Capability level at admission (0–4).
    pub ability_level: Option<i32>,
}

impl Resident {
    /// The ability level recorded at admission, as a label.
    pub fn ability_text(&self) -> &'static str {
        self.ability_level
            .and_then(|n| u8::try_from(n).ok())
            .and_then(jinglao_domain::assessment::AbilityLevel::from_number)
            .map(|l| l.label())
            .unwrap_or("—")
    }
}

/// Current residents of a facility.
pub async fn residents(conn: &mut Conn<'_>, facility_id: Uuid) -> Result<Vec<Resident>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT s.id AS stay_id, s.elder_id, e.name, e.id_masked, s.bed_id, s.admitted_on, s.ability_level \
             FROM stays s JOIN elders e ON e.id = s.elder_id \
             WHERE s.facility_id = $1 AND s.discharged_on IS NULL ORDER BY s.admitted_on, e.name",
        )
        .bind(facility_id)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Resident-days of a facility in the month starting `month_start` (for subsidies and
/// settlement).
pub async fn month_resident_days(
    conn: &mut Conn<'_>,
    facility_id: Uuid,
    month_start: NaiveDate,
) -> Result<i64, DbError> {
    let next = month_start
        .checked_add_months(chrono::Months::new(1))
        .ok_or(DbError::NotFound)?;
    let stays: Vec<(NaiveDate, Option<NaiveDate>)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT admitted_on, discharged_on FROM stays WHERE facility_id = $1 AND admitted_on < $2 \
             AND (discharged_on IS NULL OR discharged_on > $3)",
        )
        .bind(facility_id).bind(next).bind(month_start)
        .fetch_all(&mut *c).await
    })?;
    Ok(resident_days(&stays, month_start))
}

/// Puts a registered older person on a public facility's waiting list. The person is checked
/// like an admission's (without the assessment), telling an actor outside the person's region
/// nothing but [`PERSON_REFUSED`].
pub async fn join_waiting_list(
    w: &WriteCtx<'_>,
    cipher: &FieldCipher,
    facility_id: Uuid,
    id_number: &str,
    applied_on: Option<NaiveDate>,
    note: &str,
) -> Result<Uuid, DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut inv = Invalid::new();
    let id = ResidentId::parse(id_number)
        .map_err(|e| inv.add("id_number", e.to_string()))
        .ok();
    if applied_on.is_none() {
        inv.add("applied_on", "请填写申请日期（年-月-日）");
    }
    let f = {
        let mut c = db.acquire().await?;
        facility_in_scope(&mut c.conn(), actor, facility_id).await?
    };
    if !f.ownership.is_public() {
        inv.add("id_number", "只有公办和公建民营机构实行轮候");
    }
    let (Some(id), Some(applied_on), true) = (id, applied_on, inv.is_empty()) else {
        return Err(inv.into());
    };
    let needs = PersonNeeds {
        assessment: false,
        not_in_an_institution: false,
    };
    let action = "waiting_list.join_refused";
    let (elder_id, _) = person_for(w, cipher, action, &f, &id, needs).await?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let entry = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query("INSERT INTO waiting_list (id, facility_id, elder_id, applied_on, status, note, created_at) \
                     VALUES ($1, $2, $3, $4, 'waiting', $5, $6)")
            .bind(entry).bind(facility_id).bind(elder_id).bind(applied_on).bind(note.trim()).bind(now)
            .execute(&mut *c).await.map(|r| r.rows_affected())
    })
    .map_err(|e| match DbError::from(e) {
        e if e.is_conflict_on("waiting_list.facility_id") => {
            DbError::Invalid(Invalid::one("id_number", "该老年人已在本机构轮候"))
        }
        e => e,
    })?;
    let event = Event::new("waiting_list.join", "elder", elder_id)
        .region(Some(f.region_code))
        .detail(json!({ "facility_id": facility_id, "applied_on": applied_on }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(entry)
}

/// Who is waiting, as shown to staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingPerson {
    /// Entry id.
    pub entry_id: Uuid,
    /// Elder id.
    pub elder_id: Uuid,
    /// Name.
    pub name: String,
    /// Masked ID number.
    pub id_masked: String,
}

/// The ordered waiting list of a facility on `today`, each place with its reason. Groups are
/// read from the registry on the day: categories in force, age, the effective assessment.
pub async fn waiting_list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    book: &PolicyBook,
    facility_id: Uuid,
    today: NaiveDate,
) -> Result<Vec<Place<WaitingPerson>>, DbError> {
    let Some(f) = facilities::get(conn, scope, facility_id).await? else {
        return Err(DbError::NotFound);
    };
    type Row = (
        Uuid,
        Uuid,
        String,
        String,
        NaiveDate,
        NaiveDate,
        Option<i32>,
        bool,
    );
    let rows: Vec<Row> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT w.id, w.elder_id, e.name, e.id_masked, w.applied_on, e.birth_date, e.ability_level, \
             e.dementia FROM waiting_list w JOIN elders e ON e.id = w.elder_id \
             WHERE w.facility_id = $1 AND w.status = 'waiting' ORDER BY w.id",
        )
        .bind(facility_id)
        .fetch_all(&mut *c)
        .await
    })?;
    let cats: Vec<(Uuid, String, Option<String>)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT k.elder_id, k.kind, k.detail FROM elder_categories k \
             JOIN waiting_list w ON w.elder_id = k.elder_id AND w.facility_id = $1 AND w.status = 'waiting' \
             WHERE k.start_date <= $2 AND (k.end_date IS NULL OR k.end_date >= $2)",
        )
        .bind(facility_id)
        .bind(today)
        .fetch_all(&mut *c)
        .await
    })?;
    let advanced = book.int(PolicyKey::AdvancedAge, &f.region_code) as i32;
    let tiers = book.waiting_list_tiers(&f.region_code);
    // Each person's recorded categories as bits, grouped once.
    let mut recorded: std::collections::HashMap<Uuid, u32> = std::collections::HashMap::new();
    for (elder, kind, detail) in &cats {
        if let Some(k) = CategoryKind::parse(kind) {
            *recorded.entry(*elder).or_default() |= category::record_bits(k, detail.as_deref());
        }
    }
    let entries = rows
        .into_iter()
        .map(
            |(entry_id, elder_id, name, id_masked, applied_on, birth, ability, dementia)| {
                // The person's categories on the day, exactly as the registry derives them.
                let level = ability
                    .and_then(|a| u8::try_from(a).ok())
                    .and_then(jinglao_domain::assessment::AbilityLevel::from_number);
                let bits = recorded.get(&elder_id).copied().unwrap_or(0)
                    | category::derived_bits(age_on(birth, today), level, dementia, advanced);
                let categories = category::labels_of_bits(bits)
                    .into_iter()
                    .map(String::from)
                    .collect();
                Waiting {
                    key: WaitingPerson {
                        entry_id,
                        elder_id,
                        name,
                        id_masked,
                    },
                    categories,
                    applied_on,
                }
            },
        )
        .collect();
    Ok(order(entries, &tiers))
}
