//! Regular visits (巡访) in storage: the visit list of a region refreshed from the registry by
//! the per-region rules (who is visited weekly, who monthly, and why), visitors assigned,
//! visits recorded with what they found and any referral, and the overdue list per community.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::elder::ElderStatus;
use jinglao_domain::patrol::{self, Frequency, PatrolRules};
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use jinglao_domain::{Invalid, Permission, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::eligibility::load_people;
use crate::{Actor, Conn, Db, DbError, on_conn};

fn freq_name(f: Frequency) -> &'static str {
    match f {
        Frequency::Weekly => "weekly",
        Frequency::Monthly => "monthly",
        Frequency::None => "none",
    }
}

/// A stored frequency.
pub fn frequency_of(s: &str) -> Frequency {
    match s {
        "weekly" => Frequency::Weekly,
        "monthly" => Frequency::Monthly,
        _ => Frequency::None,
    }
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    elder_id: Uuid,
    frequency: String,
    reason: String,
    joined_on: NaiveDate,
    last_visit_on: Option<NaiveDate>,
    status: String,
}

/// What a refresh changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// People on the list after the refresh.
    pub listed: usize,
    /// Newly listed.
    pub added: usize,
    /// Frequency or reason changed.
    pub changed: usize,
    /// Taken off (no longer qualifying, died or moved away).
    pub ended: usize,
}

/// Refreshes the visit list of everyone living in `root` on `on`; one transaction, audited
/// once for the region.
pub async fn refresh(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    root: &RegionCode,
    book: &PolicyBook,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Refreshed, DbError> {
    if !(actor.may(Permission::EditElders)) {
        return Err(DbError::Forbidden("您的角色不能维护巡访名单".into()));
    }
    if let Scope::Region(mine) = &actor.scope
        && !mine.contains(root)
    {
        return Err(DbError::NotFound);
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let people = load_people(&mut conn, root, on).await?;
    let (lo, hi) = root.subtree_range();
    let existing: Vec<PlanRow> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
            "SELECT elder_id, frequency, reason, joined_on, last_visit_on, status FROM patrol_plans \
             WHERE region_code BETWEEN $1 AND $2",
        )
        .bind(&lo).bind(&hi).fetch_all(&mut *c).await
    })?;
    let mut before: HashMap<Uuid, PlanRow> =
        existing.into_iter().map(|r| (r.elder_id, r)).collect();
    let mut rules: HashMap<u64, (PatrolRules, i32, RegionCode)> = HashMap::new();
    let mut out = Refreshed::default();
    for i in 0..people.ids.len() {
        let id = people.ids[i];
        let raw = &people.raw[i];
        let residence = RegionCode::parse(&format!("{:012}", raw.residence))
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        // Per residence, not per county: a township or village may set its own rules (the
        // policy book resolves each region to its nearest setting).
        let (r, advanced, city) = rules.entry(raw.residence).or_insert_with(|| {
            let city = RegionCode::parse(&residence.as_str()[..4]).unwrap_or(residence);
            (
                book.patrol_rules(&residence),
                book.int(PolicyKey::AdvancedAge, &residence) as i32,
                city,
            )
        });
        let active = people.status[i].0 == ElderStatus::Active;
        let (f, why) = if active {
            patrol::frequency(&raw.facts(city, on, *advanced), r)
        } else {
            (Frequency::None, String::new())
        };
        let prior = before.remove(&id);
        match (f, prior) {
            (Frequency::None, Some(p)) if p.status == "active" => {
                set_status(&mut conn, id, "ended", now).await?;
                out.ended += 1;
            }
            (Frequency::None, _) => {}
            (f, Some(p)) => {
                out.listed += 1;
                let same = p.status == "active" && p.frequency == freq_name(f) && p.reason == why;
                if !same {
                    let due = patrol::due_on(p.last_visit_on, p.joined_on, f, r.monthly_times);
                    on_conn!(&mut conn, |c| {
                        sqlx::query(
                            "UPDATE patrol_plans SET frequency = $1, reason = $2, due_on = $3, \
                             region_code = $4, status = 'active', updated_at = $5 WHERE elder_id = $6",
                        )
                        .bind(freq_name(f)).bind(&why).bind(due).bind(residence.as_str())
                        .bind(now).bind(id).execute(&mut *c).await.map(|_| ())
                    })?;
                    out.changed += 1;
                }
            }
            (f, None) => {
                out.listed += 1;
                out.added += 1;
                on_conn!(&mut conn, |c| {
                    sqlx::query(
                        "INSERT INTO patrol_plans (elder_id, region_code, frequency, reason, joined_on, \
                         due_on, status, updated_at) VALUES ($1, $2, $3, $4, $5, $5, 'active', $6)",
                    )
                    .bind(id).bind(residence.as_str()).bind(freq_name(f)).bind(&why).bind(on)
                    .bind(now).execute(&mut *c).await.map(|_| ())
                })?;
            }
        }
    }
    // Listed people no longer living in the region at all.
    for (id, p) in before {
        if p.status == "active" {
            set_status(&mut conn, id, "ended", now).await?;
            out.ended += 1;
        }
    }
    let event = Event::new("patrol.refresh", "region", root.as_str())
        .region(Some(*root))
        .detail(json!({
            "on": on, "listed": out.listed, "added": out.added, "changed": out.changed,
            "ended": out.ended,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(out)
}

async fn set_status(
    conn: &mut Conn<'_>,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE patrol_plans SET status = $1, updated_at = $2 WHERE elder_id = $3")
            .bind(status)
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Kinds of visitor.
pub const VISITOR_KINDS: [(&str, &str); 3] = [
    ("community_staff", "村（社区）工作人员"),
    ("social_worker", "社会工作者"),
    ("volunteer", "志愿者"),
];

/// The label of a visitor kind.
pub fn visitor_label(kind: &str) -> &'static str {
    VISITOR_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("未指定", |(_, l)| l)
}

fn check_visitor(kind: &str, name: &str, inv: &mut Invalid) {
    if !VISITOR_KINDS.iter().any(|(k, _)| *k == kind) {
        inv.add("visitor_kind", "请选择巡访人员类别");
    }
    let n = name.trim().chars().count();
    if n == 0 {
        inv.add("visitor_name", "请填写巡访人员姓名");
    } else if n > 40 {
        inv.add("visitor_name", "姓名不超过 40 字");
    }
}

async fn plan_in_scope(
    conn: &mut Conn<'_>,
    actor: &Actor,
    elder_id: Uuid,
) -> Result<(RegionCode, Frequency, Option<NaiveDate>, NaiveDate), DbError> {
    let row: Option<(String, String, Option<NaiveDate>, NaiveDate)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT region_code, frequency, last_visit_on, joined_on FROM patrol_plans \
             WHERE elder_id = $1 AND status = 'active'",
        )
        .bind(elder_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some((region, f, last, joined)) = row else {
        // "Not on the list" only about someone the actor may see at all.
        let visible = actor.may(Permission::EditElders)
            && crate::elders::get(conn, &actor.scope, elder_id)
                .await?
                .is_some();
        return Err(if visible {
            Invalid::one("elder_id", "这位老人不在巡访名单上").into()
        } else {
            DbError::NotFound
        });
    };
    let region = RegionCode::parse(&region).map_err(|e| DbError::Corrupt(e.to_string()))?;
    if !actor.scope.covers_record_in(&region) || !actor.may(Permission::EditElders) {
        return Err(DbError::NotFound);
    }
    Ok((region, frequency_of(&f), last, joined))
}

/// The most people one assignment may name.
pub const MAX_ASSIGN: usize = 500;

/// Assigns one regular visitor to each of `elder_ids` (a clerk's batch, or one person), in one
/// transaction: if any of them is not on the caller's list, nothing changes. Each person's
/// change is audited. Returns how many plans changed (the same visitor again is no change).
pub async fn assign_visitor(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    elder_ids: &[Uuid],
    kind: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    let mut inv = Invalid::new();
    check_visitor(kind, name, &mut inv);
    if elder_ids.is_empty() {
        inv.add("elder_id", "请勾选要安排巡访人员的老人");
    } else if elder_ids.len() > MAX_ASSIGN {
        inv.add("elder_id", format!("一次最多为 {MAX_ASSIGN} 位老人安排"));
    }
    inv.into_result(())?;
    let name = name.trim();
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let mut changed = 0;
    let mut seen = std::collections::HashSet::new();
    for &elder_id in elder_ids.iter().filter(|id| seen.insert(**id)) {
        let (region, ..) = plan_in_scope(&mut conn, actor, elder_id).await?;
        let n = on_conn!(&mut conn, |c| {
            sqlx::query(
                "UPDATE patrol_plans SET visitor_kind = $1, visitor_name = $2, updated_at = $3 \
                 WHERE elder_id = $4 AND status = 'active' \
                 AND (visitor_kind <> $1 OR visitor_name <> $2)",
            )
            .bind(kind)
            .bind(name)
            .bind(now)
            .bind(elder_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })?;
        if n == 0 {
            continue;
        }
        changed += n;
        let event = Event::new("patrol.assign", "elder", elder_id)
            .region(Some(region))
            .detail(json!({ "kind": kind, "name": name, "batch": elder_ids.len() }));
        audit::append(&mut conn, key, actor, event, now).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// A visit as recorded.
#[derive(Debug, Clone, Default)]
pub struct NewVisit<'a> {
    /// The person.
    pub elder_id: Uuid,
    /// Day of the visit.
    pub visited_on: Option<NaiveDate>,
    /// Visitor kind.
    pub visitor_kind: &'a str,
    /// Visitor name.
    pub visitor_name: &'a str,
    /// Met the person.
    pub met: bool,
    /// ok | risk.
    pub safety: &'a str,
    /// stable | changed | ill.
    pub health: &'a str,
    /// Needs found.
    pub needs: &'a str,
    /// Notes.
    pub notes: &'a str,
    /// none | service | alarm.
    pub referral: &'a str,
    /// What was referred, to whom.
    pub referral_note: &'a str,
}

/// Records a visit; the next one falls due from it. A safety risk or an alarm referral needs
/// a note saying what was done. A person not (or no longer) on the list may be visited too — a
/// neighbour's call, a visit on the way: the visit is kept, and no list entry changes. Audited,
/// one transaction.
pub async fn record(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    v: &NewVisit<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let mut inv = Invalid::new();
    check_visitor(v.visitor_kind, v.visitor_name, &mut inv);
    match v.visited_on {
        None => inv.add("visited_on", "请填写巡访日期"),
        Some(d) if d > today => inv.add("visited_on", "巡访日期不能晚于今天"),
        Some(d) if (today - d).num_days() > 31 => inv.add("visited_on", "只能补录 31 天以内的巡访"),
        Some(_) => {}
    }
    if !["ok", "risk"].contains(&v.safety) {
        inv.add("safety", "请选择安全状况");
    }
    if !["stable", "changed", "ill"].contains(&v.health) {
        inv.add("health", "请选择健康状况");
    }
    if !["none", "service", "alarm"].contains(&v.referral) {
        inv.add("referral", "请选择是否转介");
    }
    if (v.referral != "none" || v.safety == "risk") && v.referral_note.trim().is_empty() {
        inv.add("referral_note", "发现安全隐患或转介时，请写明处理情况");
    }
    if v.needs.chars().count() > 500 || v.notes.chars().count() > 1000 {
        inv.add("notes", "需求不超过 500 字，情况记录不超过 1000 字");
    }
    inv.into_result(())?;
    let on = v.visited_on.unwrap_or(today);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let plan = match plan_in_scope(&mut conn, actor, v.elder_id).await {
        Ok(p) => Some(p),
        Err(DbError::Invalid(_)) => None,
        Err(e) => return Err(e),
    };
    let region = match &plan {
        Some((region, ..)) => *region,
        None => {
            let person = crate::elders::get(&mut conn, &actor.scope, v.elder_id)
                .await?
                .ok_or(DbError::NotFound)?;
            if person.status != ElderStatus::Active {
                let mut inv = Invalid::new();
                let why = if person.status == ElderStatus::Deceased {
                    "已故"
                } else {
                    "已迁出"
                };
                inv.add("elder_id", format!("这位老人{why}，不再巡访"));
                return Err(inv.into());
            }
            person.residence_region
        }
    };
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO patrol_visits (id, elder_id, region_code, visited_on, visitor_kind, \
             visitor_name, met, safety, health, needs, notes, referral, referral_note, recorded_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(id).bind(v.elder_id).bind(region.as_str()).bind(on).bind(v.visitor_kind)
        .bind(v.visitor_name.trim()).bind(v.met).bind(v.safety).bind(v.health)
        .bind(v.needs.trim()).bind(v.notes.trim()).bind(v.referral).bind(v.referral_note.trim())
        .bind(actor.user_id).bind(now).execute(&mut *c).await.map(|_| ())
    })?;
    if let Some((_, f, last, joined)) = plan {
        // A visit that did not meet the person does not count: the visit stays due.
        let latest = if v.met {
            Some(last.map_or(on, |l| l.max(on)))
        } else {
            last
        };
        let times = crate::policy::load(&mut conn)
            .await?
            .patrol_monthly_times(&region);
        let due = patrol::due_on(latest, joined, f, times);
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "UPDATE patrol_plans SET last_visit_on = $1, due_on = $2, updated_at = $3 WHERE elder_id = $4",
            )
            .bind(latest).bind(due).bind(now).bind(v.elder_id).execute(&mut *c).await.map(|_| ())
        })?;
    }
    let event = Event::new("patrol.visit", "elder", v.elder_id)
        .region(Some(region))
        .detail(json!({
            "visit": id, "on": on, "met": v.met, "safety": v.safety, "health": v.health,
            "referral": v.referral, "referral_note": v.referral_note.trim(),
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// One person on the list, with their next visit.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Listed {
    /// The person.
    pub elder_id: Uuid,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Residence.
    pub region_code: String,
    /// weekly | monthly.
    pub frequency: String,
    /// Why.
    pub reason: String,
    /// Visitor.
    pub visitor_kind: String,
    /// Visitor.
    pub visitor_name: String,
    /// Last visit that met the person.
    pub last_visit_on: Option<NaiveDate>,
    /// Next visit due.
    pub due_on: Option<NaiveDate>,
}

impl Listed {
    /// Days overdue on `today`.
    pub fn overdue(&self, today: NaiveDate) -> Option<i64> {
        patrol::overdue_days(self.due_on, today)
    }
}

/// A position in the due list (due day, residence, name, person): where the next page starts.
pub type DuePosition = (NaiveDate, String, String, Uuid);

/// People in `scope` whose visit is due by `by` (overdue first), at most `limit`, starting
/// after `after` (the API's cursor) and skipping `offset` rows (a page number), with the total
/// count (of the whole list, not of the page).
pub async fn due(
    conn: &mut Conn<'_>,
    scope: &Scope,
    under: Option<&RegionCode>,
    by: NaiveDate,
    after: Option<&DuePosition>,
    (limit, offset): (i64, i64),
) -> Result<(Vec<Listed>, i64), DbError> {
    macro_rules! filter {
        ($q:expr) => {{
            $q.push(" WHERE p.status = 'active' AND p.due_on <= ")
                .push_bind(by);
            crate::scope_sql::push_scope(&mut $q, scope, "p.region_code", "p.region_code");
            if let Some(r) = under {
                let (lo, hi) = r.subtree_range();
                $q.push(" AND p.region_code BETWEEN ")
                    .push_bind(lo)
                    .push(" AND ")
                    .push_bind(hi);
            }
        }};
    }
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT p.elder_id, e.name, e.address, p.region_code, p.frequency, p.reason, \
             p.visitor_kind, p.visitor_name, p.last_visit_on, p.due_on FROM patrol_plans p \
             JOIN elders e ON e.id = p.elder_id",
        );
        filter!(q);
        if let Some((day, region, name, id)) = after {
            q.push(" AND (p.due_on > ").push_bind(*day);
            q.push(" OR (p.due_on = ")
                .push_bind(*day)
                .push(" AND (p.region_code > ")
                .push_bind(region.clone());
            q.push(" OR (p.region_code = ")
                .push_bind(region.clone())
                .push(" AND (e.name > ")
                .push_bind(name.clone());
            q.push(" OR (e.name = ")
                .push_bind(name.clone())
                .push(" AND p.elder_id > ")
                .push_bind(*id);
            q.push(")))))");
        }
        q.push(" ORDER BY p.due_on, p.region_code, e.name, p.elder_id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset.max(0));
        let rows = q.build_query_as::<Listed>().fetch_all(&mut *c).await?;
        let mut q = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM patrol_plans p");
        filter!(q);
        let n: i64 = q.build_query_scalar().fetch_one(&mut *c).await?;
        Ok::<_, sqlx::Error>((rows, n))
    })?)
}

/// Overdue counts per community (village/community code) within `scope` on `today`.
pub async fn overdue_by_community(
    conn: &mut Conn<'_>,
    scope: &Scope,
    today: NaiveDate,
) -> Result<Vec<(String, i64)>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT p.region_code, COUNT(*) FROM patrol_plans p WHERE p.status = 'active' AND p.due_on < ",
        );
        q.push_bind(today);
        crate::scope_sql::push_scope(&mut q, scope, "p.region_code", "p.region_code");
        q.push(" GROUP BY p.region_code ORDER BY COUNT(*) DESC, p.region_code LIMIT 500");
        q.build_query_as::<(String, i64)>().fetch_all(&mut *c).await
    })?)
}

/// The person's plan: (frequency, reason, visitor kind, visitor name, last, due, status).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PlanView {
    /// weekly | monthly.
    pub frequency: String,
    /// Why.
    pub reason: String,
    /// Visitor kind.
    pub visitor_kind: String,
    /// Visitor name.
    pub visitor_name: String,
    /// Last visit.
    pub last_visit_on: Option<NaiveDate>,
    /// Next due.
    pub due_on: Option<NaiveDate>,
    /// active | ended.
    pub status: String,
}

/// A recorded visit.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VisitRow {
    /// Day.
    pub visited_on: NaiveDate,
    /// Visitor.
    pub visitor_kind: String,
    /// Visitor.
    pub visitor_name: String,
    /// Met the person.
    pub met: bool,
    /// ok | risk.
    pub safety: String,
    /// stable | changed | ill.
    pub health: String,
    /// Needs.
    pub needs: String,
    /// Notes.
    pub notes: String,
    /// none | service | alarm.
    pub referral: String,
    /// What was done.
    pub referral_note: String,
}

/// The person's plan and visits (newest first), if the plan exists. The caller has checked
/// that the person is in scope (by reading the record).
pub async fn of_elder(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
) -> Result<(Option<PlanView>, Vec<VisitRow>), DbError> {
    let plan =
        on_conn!(conn, |c| {
            sqlx::query_as(
            "SELECT frequency, reason, visitor_kind, visitor_name, last_visit_on, due_on, status \
             FROM patrol_plans WHERE elder_id = $1",
        )
        .bind(elder_id).fetch_optional(&mut *c).await
        })?;
    let visits = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT visited_on, visitor_kind, visitor_name, met, safety, health, needs, notes, \
             referral, referral_note FROM patrol_visits WHERE elder_id = $1 \
             ORDER BY visited_on DESC, created_at DESC LIMIT 100",
        )
        .bind(elder_id)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok((plan, visits))
}
