//! Proactive matching (服务找人) in storage: sweeps that ask every older person of a region
//! about every item of the list that applies to them, the single-person refresh that runs when
//! one record changes, and the worklists read from the answers (eligible but not enrolled;
//! enrolled but no longer eligible; changes).
//!
//! The answers are a cache of pure rules over the registry (jinglao_domain::eligibility), kept
//! per person as one bit per item of the list version used; a sweep writes only the rows that
//! changed and records each change with its reason.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use jinglao_domain::RegionCode;
use jinglao_domain::Sex;
use jinglao_domain::assessment::AbilityLevel;
use jinglao_domain::category::CategoryKind;
use jinglao_domain::elder::{ElderStatus, LivingArrangement};
use jinglao_domain::eligibility::{
    Matcher, Raw, bits, change, code_range, lost_reason, record_bits,
};
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use jinglao_domain::rules::Packed;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::service_lists::{self, ServiceList};
use crate::{Actor, Conn, Db, DbError, on_conn};

/// What started a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Staff asked for it.
    Manual,
    /// The server's nightly schedule.
    Nightly,
    /// One person's record changed.
    Change,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Nightly => "nightly",
            Trigger::Change => "change",
        }
    }
}

/// Register status and its date.
pub type Status = (ElderStatus, Option<NaiveDate>);

/// The people of a region as a sweep needs them.
#[derive(Debug, Default)]
pub struct People {
    /// Record ids.
    pub ids: Vec<Uuid>,
    /// Their facts.
    pub raw: Vec<Raw>,
    /// Register status and its date.
    pub status: Vec<Status>,
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    id: Uuid,
    birth_date: NaiveDate,
    sex: String,
    hukou_region_code: String,
    residence_region_code: String,
    living_arrangement: String,
    children_local: bool,
    children_can_care: bool,
    ability_level: Option<i32>,
    dementia: bool,
    status: String,
    status_date: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct CategoryRow {
    elder_id: Uuid,
    kind: String,
    detail: Option<String>,
}

fn corrupt(id: Uuid, what: &str) -> DbError {
    DbError::Corrupt(format!("老年人 {id}：{what}"))
}

impl PersonRow {
    fn into_parts(self) -> Result<(Uuid, Raw, Status), DbError> {
        let id = self.id;
        let code = |c: &str| {
            c.parse::<u64>()
                .map_err(|_| corrupt(id, &format!("区划代码 {c}")))
        };
        let raw = Raw {
            birth_date: self.birth_date,
            sex: Sex::parse(&self.sex).ok_or_else(|| corrupt(id, &self.sex))?,
            hukou: code(&self.hukou_region_code)?,
            residence: code(&self.residence_region_code)?,
            living: LivingArrangement::parse(&self.living_arrangement)
                .ok_or_else(|| corrupt(id, &self.living_arrangement))?,
            children_local: self.children_local,
            children_can_care: self.children_can_care,
            ability: self
                .ability_level
                .and_then(|l| AbilityLevel::from_number(l as u8)),
            categories: 0,
            dementia: self.dementia,
        };
        let status = ElderStatus::parse(&self.status).ok_or_else(|| corrupt(id, &self.status))?;
        Ok((id, raw, (status, self.status_date)))
    }
}

const PERSON_COLUMNS: &str = "id, birth_date, sex, hukou_region_code, residence_region_code, \
     living_arrangement, children_local, children_can_care, ability_level, dementia, status, \
     status_date";

/// Loads everyone residing in `root` (any status), with their categories active on `on`.
pub async fn load_people(
    conn: &mut Conn<'_>,
    root: &RegionCode,
    on: NaiveDate,
) -> Result<People, DbError> {
    let (lo, hi) = root.subtree_range();
    let mut people = People::default();
    on_conn!(conn, |c| {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM elders WHERE residence_region_code BETWEEN $1 AND $2"
        );
        let mut rows = sqlx::query_as::<_, PersonRow>(sqlx::AssertSqlSafe(sql))
            .bind(&lo)
            .bind(&hi)
            .fetch(&mut *c);
        while let Some(row) = rows.try_next().await? {
            let (id, raw, status) = row.into_parts()?;
            people.ids.push(id);
            people.raw.push(raw);
            people.status.push(status);
        }
        Ok::<_, DbError>(())
    })?;
    let index: HashMap<Uuid, usize> = people
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    on_conn!(conn, |c| {
        let mut rows = sqlx::query_as::<_, CategoryRow>(
            "SELECT elder_id, kind, detail FROM elder_categories WHERE residence_region_code BETWEEN $1 AND $2 \
             AND start_date <= $3 AND (end_date IS NULL OR end_date >= $3)",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(on)
        .fetch(&mut *c);
        while let Some(row) = rows.try_next().await? {
            add_category(&mut people, &index, row);
        }
        Ok::<_, DbError>(())
    })?;
    Ok(people)
}

fn add_category(people: &mut People, index: &HashMap<Uuid, usize>, row: CategoryRow) {
    if let (Some(&i), Some(kind)) = (index.get(&row.elder_id), CategoryKind::parse(&row.kind)) {
        people.raw[i].categories |= record_bits(kind, row.detail.as_deref());
    }
}

/// A list version compiled for a sweep.
pub struct SweepList {
    /// The version.
    pub list: ServiceList,
    /// Codes within its region, as numbers.
    pub range: (u64, u64),
    /// Its rules.
    pub matcher: Matcher,
    /// 高龄 from this age in its region.
    pub advanced_age: i32,
}

impl SweepList {
    fn new(list: ServiceList, on: NaiveDate, book: &PolicyBook) -> Result<SweepList, DbError> {
        let matcher = Matcher::new(&list.items, on).map_err(DbError::Invalid)?;
        Ok(SweepList {
            range: code_range(&list.region),
            advanced_age: book.int(PolicyKey::AdvancedAge, &list.region) as i32,
            matcher,
            list,
        })
    }
}

/// The lists that apply to people in `root`: the nearest list at or above it and the latest
/// version of every list published below it, deepest first (a person is asked under the
/// Who a rule would take in today: how many active people living under `root` satisfy `rule`
/// (a list for `list_region`) on `on`, and up to `sample` of them (the first by record id), for
/// the rule builder's preview before a list is published. Reads only; the caller scopes `root`.
pub async fn preview(
    conn: &mut Conn<'_>,
    root: &RegionCode,
    rule: &jinglao_domain::rules::Rule,
    list_region: &RegionCode,
    on: NaiveDate,
    book: &PolicyBook,
    sample: usize,
) -> Result<(usize, Vec<Uuid>), DbError> {
    let people = load_people(conn, root, on).await?;
    let advanced = book.int(PolicyKey::AdvancedAge, list_region) as i32;
    let mut taken: Vec<Uuid> = (0..people.ids.len())
        .filter(|&i| people.status[i].0 == ElderStatus::Active)
        .filter(|&i| {
            rule.evaluate(&people.raw[i].facts(list_region, on, advanced))
                .eligible
        })
        .map(|i| people.ids[i])
        .collect();
    let count = taken.len();
    taken.sort_unstable();
    taken.truncate(sample);
    Ok((count, taken))
}

/// deepest list whose region contains their residence).
pub async fn lists_for(
    conn: &mut Conn<'_>,
    root: &RegionCode,
    on: NaiveDate,
    book: &PolicyBook,
) -> Result<Vec<SweepList>, DbError> {
    let (lo, hi) = root.subtree_range();
    let below: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT DISTINCT region_code FROM service_lists WHERE region_code BETWEEN $1 AND $2",
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *c)
        .await
    })?;
    let mut lists = Vec::new();
    if let Some(l) = service_lists::applicable(conn, root).await? {
        lists.push(SweepList::new(l, on, book)?);
    }
    for code in below {
        let region = RegionCode::parse(&code)
            .map_err(|_| DbError::Corrupt(format!("服务清单区划 {code}")))?;
        if lists.iter().any(|l| l.list.region == region) {
            continue;
        }
        if let Some(l) = service_lists::latest(conn, &region).await? {
            lists.push(SweepList::new(l, on, book)?);
        }
    }
    lists.sort_by_key(|l| std::cmp::Reverse(l.list.region.prefix().len()));
    Ok(lists)
}

/// The index of the deepest list containing `residence`.
fn list_of(lists: &[SweepList], residence: u64) -> Option<usize> {
    lists
        .iter()
        .position(|l| (l.range.0..=l.range.1).contains(&residence))
}

/// Everyone's answers: list index (or none) and one bit per item; people not on the register
/// (died, moved away) answer nothing.
pub struct Answers {
    /// Which list each person was asked under.
    pub list: Vec<Option<u32>>,
    /// The answers.
    pub mask: Vec<u64>,
}

/// Packs everyone's facts for their list (step one of matching).
pub fn pack(
    people: &People,
    lists: &[SweepList],
    on: NaiveDate,
) -> (Vec<Option<u32>>, Vec<Packed>) {
    let which: Vec<Option<u32>> = people
        .raw
        .iter()
        .zip(&people.status)
        .map(|(r, (s, _))| {
            (*s == ElderStatus::Active)
                .then(|| list_of(lists, r.residence).map(|i| i as u32))
                .flatten()
        })
        .collect();
    let packed = people
        .raw
        .iter()
        .zip(&which)
        .map(|(r, w)| match w {
            Some(i) => {
                let l = &lists[*i as usize];
                r.pack(l.range, on, l.advanced_age)
            }
            None => Packed::default(),
        })
        .collect();
    (which, packed)
}

/// Asks everyone (step two), on `threads` threads (0: all cores).
pub fn answer(
    lists: &[SweepList],
    which: Vec<Option<u32>>,
    packed: &[Packed],
    threads: usize,
) -> Answers {
    let mask = if lists.len() == 1 {
        // One list (the usual case): the threaded pass over everyone, then blank those without it.
        let mut m = lists[0].matcher.answers(packed, threads);
        for (a, w) in m.iter_mut().zip(&which) {
            if w.is_none() {
                *a = 0;
            }
        }
        m
    } else {
        packed
            .iter()
            .zip(&which)
            .map(|(p, w)| w.map_or(0, |i| lists[i as usize].matcher.answer(p)))
            .collect()
    };
    Answers { list: which, mask }
}

/// What a sweep did.
#[derive(Debug, Clone)]
pub struct SweepReport {
    /// Its id.
    pub id: Uuid,
    /// People asked (any status).
    pub people: usize,
    /// List versions used.
    pub lists: Vec<(RegionCode, i32)>,
    /// Person × item pairs in the target group.
    pub eligible_pairs: u64,
    /// Pairs newly in a target group (people asked before).
    pub gained: usize,
    /// Pairs no longer in one.
    pub lost: usize,
    /// Seconds by step: lists, load, pack, match, compare, write.
    pub steps: Vec<(&'static str, Duration)>,
}

#[derive(sqlx::FromRow)]
struct PreviousRow {
    elder_id: Uuid,
    list_id: Uuid,
    mask: i64,
    residence_region_code: String,
}

/// A person's last answer: list version, bits, and where they lived then.
type Previous = HashMap<Uuid, (Uuid, u64, String)>;

/// The last answers for people whose recorded residence lies in `root`.
async fn previous(conn: &mut Conn<'_>, root: &RegionCode) -> Result<Previous, DbError> {
    let (lo, hi) = root.subtree_range();
    let mut out = HashMap::new();
    on_conn!(conn, |c| {
        let mut rows = sqlx::query_as::<_, PreviousRow>(
            "SELECT elder_id, list_id, mask, residence_region_code FROM eligibility \
             WHERE residence_region_code BETWEEN $1 AND $2",
        )
        .bind(&lo)
        .bind(&hi)
        .fetch(&mut *c);
        while let Some(r) = rows.try_next().await? {
            out.insert(
                r.elder_id,
                (r.list_id, r.mask as u64, r.residence_region_code),
            );
        }
        Ok::<_, DbError>(())
    })?;
    Ok(out)
}

/// A row to write.
struct NewAnswer {
    elder_id: Uuid,
    list_id: Uuid,
    mask: u64,
    residence: String,
}

/// A change to record.
struct NewChange {
    elder_id: Uuid,
    code: String,
    gained: bool,
    reason: String,
    residence: String,
}

/// Compares answers with the last ones: rows to write, rows to delete and changes with reasons.
/// A person asked for the first time has no changes (they appear on the worklists directly).
async fn compare(
    conn: &mut Conn<'_>,
    people: &People,
    lists: &[SweepList],
    answers: &Answers,
    before: &Previous,
    on: NaiveDate,
) -> Result<(Vec<NewAnswer>, Vec<Uuid>, Vec<NewChange>), DbError> {
    let mut old_lists: HashMap<Uuid, ServiceList> = HashMap::new();
    let mut writes = Vec::new();
    let mut changes = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(people.ids.len());
    for (i, id) in people.ids.iter().enumerate() {
        seen.insert(*id);
        let residence = format!("{:012}", people.raw[i].residence);
        let Some(li) = answers.list[i] else {
            // Not asked (died, moved away, or no list applies): everything held before is lost.
            if let Some((old_id, old_mask, _)) = before.get(id) {
                let old = old_list(conn, &mut old_lists, lists, *old_id).await?;
                let (status, date) = people.status[i];
                for n in bits(*old_mask) {
                    if let Some(item) = old.items.get(n) {
                        changes.push(NewChange {
                            elder_id: *id,
                            code: item.code.clone(),
                            gained: false,
                            reason: lost_reason(status, date, item, None),
                            residence: residence.clone(),
                        });
                    }
                }
            }
            continue;
        };
        let l = &lists[li as usize];
        let mask = answers.mask[i];
        let Some((old_id, old_mask, _)) = before.get(id) else {
            writes.push(NewAnswer {
                elder_id: *id,
                list_id: l.list.id,
                mask,
                residence,
            });
            continue;
        };
        // Answers under another version are compared item by item through the codes.
        let old_codes: Vec<String> = if *old_id == l.list.id {
            Vec::new()
        } else {
            let old = old_list(conn, &mut old_lists, lists, *old_id).await?;
            bits(*old_mask)
                .filter_map(|n| old.items.get(n).map(|it| it.code.clone()))
                .collect()
        };
        let old_mask = if *old_id == l.list.id {
            *old_mask
        } else {
            l.list
                .items
                .iter()
                .enumerate()
                .filter(|(_, it)| old_codes.contains(&it.code))
                .fold(0u64, |m, (n, _)| m | 1 << n)
        };
        let c = change(old_mask, mask);
        if c.gained != 0 || c.lost != 0 {
            let facts = people.raw[i].facts(&l.list.region, on, l.advanced_age);
            let (status, date) = people.status[i];
            for n in bits(c.gained) {
                let item = &l.list.items[n];
                changes.push(NewChange {
                    elder_id: *id,
                    code: item.code.clone(),
                    gained: true,
                    reason: format!("新符合：{}", item.target.deciding(&facts).explanation()),
                    residence: residence.clone(),
                });
            }
            for n in bits(c.lost) {
                let item = &l.list.items[n];
                changes.push(NewChange {
                    elder_id: *id,
                    code: item.code.clone(),
                    gained: false,
                    reason: lost_reason(status, date, item, Some(&facts)),
                    residence: residence.clone(),
                });
            }
        }
        if c.gained != 0 || c.lost != 0 || *old_id != l.list.id {
            writes.push(NewAnswer {
                elder_id: *id,
                list_id: l.list.id,
                mask,
                residence,
            });
        }
    }
    let mut deletes: Vec<Uuid> = people
        .ids
        .iter()
        .enumerate()
        .filter(|(i, id)| answers.list[*i].is_none() && before.contains_key(id))
        .map(|(_, id)| *id)
        .collect();
    // Answered here before, living elsewhere now: lost here (the sweep of their new region
    // asks them again).
    for (id, (old_id, old_mask, residence)) in before {
        if seen.contains(id) {
            continue;
        }
        let old = old_list(conn, &mut old_lists, lists, *old_id).await?;
        for n in bits(*old_mask) {
            if let Some(item) = old.items.get(n) {
                changes.push(NewChange {
                    elder_id: *id,
                    code: item.code.clone(),
                    gained: false,
                    reason: "已迁至本区域以外居住".into(),
                    residence: residence.clone(),
                });
            }
        }
        deletes.push(*id);
    }
    Ok((writes, deletes, changes))
}

async fn old_list<'l>(
    conn: &mut Conn<'_>,
    cache: &'l mut HashMap<Uuid, ServiceList>,
    lists: &'l [SweepList],
    id: Uuid,
) -> Result<&'l ServiceList, DbError> {
    if let Some(l) = lists.iter().find(|l| l.list.id == id) {
        return Ok(&l.list);
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(id) {
        slot.insert(
            service_lists::get(conn, id)
                .await?
                .ok_or(DbError::NotFound)?,
        );
    }
    Ok(&cache[&id])
}

/// A sweep as its record says it ran.
#[derive(Debug, Clone, Copy)]
struct SweepRun<'a> {
    /// Its id.
    id: Uuid,
    /// The region swept.
    root: &'a RegionCode,
    /// What started it.
    trigger: Trigger,
    /// The day the rules were applied on.
    on: NaiveDate,
    /// When it started.
    started_at: DateTime<Utc>,
    /// How many people it looked at.
    people: usize,
}

/// Writes a sweep's answers and changes in one transaction.
async fn store(
    conn: &mut Conn<'_>,
    s: &SweepRun<'_>,
    actor: &Actor,
    writes: &[NewAnswer],
    deletes: &[Uuid],
    changes: &[NewChange],
) -> Result<(), DbError> {
    let SweepRun {
        id,
        root,
        trigger,
        on,
        started_at,
        people,
    } = *s;
    let gained = changes.iter().filter(|c| c.gained).count() as i32;
    let lost = changes.len() as i32 - gained;
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO eligibility_sweeps (id, region_code, trigger, evaluated_on, started_at, finished_at, \
             people, gained, lost, started_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(root.as_str().to_string())
        .bind(trigger.as_str())
        .bind(on)
        .bind(started_at)
        .bind(Utc::now())
        .bind(people as i32)
        .bind(gained)
        .bind(lost)
        .bind(actor.user_id)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    for chunk in deletes.chunks(1000) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new("DELETE FROM eligibility WHERE elder_id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    // 6 values a row.
    for chunk in writes.chunks(2000) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO eligibility (elder_id, list_id, mask, residence_region_code, evaluated_on, sweep_id) ",
            );
            q.push_values(chunk, |mut b, w| {
                b.push_bind(w.elder_id)
                    .push_bind(w.list_id)
                    .push_bind(w.mask as i64)
                    .push_bind(w.residence.clone())
                    .push_bind(on)
                    .push_bind(id);
            });
            q.push(
                " ON CONFLICT (elder_id) DO UPDATE SET list_id = excluded.list_id, mask = excluded.mask, \
                 residence_region_code = excluded.residence_region_code, evaluated_on = excluded.evaluated_on, \
                 sweep_id = excluded.sweep_id",
            );
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    for chunk in changes.chunks(2000) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO eligibility_changes (sweep_id, elder_id, item_code, gained, reason, residence_region_code) ",
            );
            q.push_values(chunk, |mut b, ch| {
                b.push_bind(id)
                    .push_bind(ch.elder_id)
                    .push_bind(ch.code.clone())
                    .push_bind(ch.gained)
                    .push_bind(ch.reason.clone())
                    .push_bind(ch.residence.clone());
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Options of a sweep.
#[derive(Debug, Clone, Copy)]
pub struct SweepOptions {
    /// Why it runs.
    pub trigger: Trigger,
    /// The evaluation date (China time).
    pub on: NaiveDate,
    /// Threads for matching (0: all cores).
    pub threads: usize,
}

/// Sweeps `root`: loads everyone residing there, asks them under the list that applies,
/// compares with the last answers and writes the differences, audited as one action.
pub async fn sweep(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    root: &RegionCode,
    book: &PolicyBook,
    opts: SweepOptions,
) -> Result<SweepReport, DbError> {
    // Only the caller's own subtree: an ancestor (visible as context) is not theirs to sweep.
    if !actor.scope.covers_record_in(root) {
        return Err(jinglao_domain::validation::Invalid::one(
            "region",
            "这个区划不在您的管辖范围内，只能扫描本辖区",
        )
        .into());
    }
    let started_at = Utc::now();
    let mut steps = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, t: &mut Instant| {
        steps.push((name, t.elapsed()));
        *t = Instant::now();
    };
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let lists = lists_for(&mut conn, root, opts.on, book).await?;
    if lists.is_empty() {
        return Err(DbError::Invalid(jinglao_domain::validation::Invalid::one(
            "region",
            format!("{} 及其上级都没有发布基本养老服务清单", root.short()),
        )));
    }
    lap("lists", &mut t);
    let people = load_people(&mut conn, root, opts.on).await?;
    let before = previous(&mut conn, root).await?;
    lap("load", &mut t);
    let (which, packed) = pack(&people, &lists, opts.on);
    lap("pack", &mut t);
    let answers = answer(&lists, which, &packed, opts.threads);
    drop(packed);
    lap("match", &mut t);
    let (writes, deletes, changes) =
        compare(&mut conn, &people, &lists, &answers, &before, opts.on).await?;
    lap("compare", &mut t);
    let id = Uuid::now_v7();
    store(
        &mut conn,
        &SweepRun {
            id,
            root,
            trigger: opts.trigger,
            on: opts.on,
            started_at,
            people: people.ids.len(),
        },
        actor,
        &writes,
        &deletes,
        &changes,
    )
    .await?;
    let gained = changes.iter().filter(|c| c.gained).count();
    let report = SweepReport {
        id,
        people: people.ids.len(),
        lists: lists
            .iter()
            .map(|l| (l.list.region, l.list.version))
            .collect(),
        eligible_pairs: answers.mask.iter().map(|m| u64::from(m.count_ones())).sum(),
        gained,
        lost: changes.len() - gained,
        steps: Vec::new(),
    };
    let event = Event::new("eligibility.sweep", "eligibility_sweep", id)
        .region(Some(*root))
        .detail(json!({
            "trigger": opts.trigger.as_str(), "on": opts.on, "people": report.people,
            "lists": report.lists.iter().map(|(r, v)| json!({"region": r.short(), "version": v})).collect::<Vec<_>>(),
            "eligible_pairs": report.eligible_pairs, "gained": report.gained, "lost": report.lost,
            "rows_written": writes.len(),
        }));
    audit::append(&mut conn, chain, actor, event, Utc::now()).await?;
    tx.commit().await?;
    lap("write", &mut t);
    Ok(SweepReport { steps, ..report })
}

/// One person's packed facts and register status, with their categories active on `on` (what
/// [`load_people`] gives for a region, for one record).
pub async fn load_person(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    on: NaiveDate,
) -> Result<Option<(Raw, Status)>, DbError> {
    let row: Option<PersonRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {PERSON_COLUMNS} FROM elders WHERE id = $1"
        )))
        .bind(elder_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some(row) = row else { return Ok(None) };
    let (_, mut raw, status) = row.into_parts()?;
    let kinds: Vec<(String, Option<String>)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT kind, detail FROM elder_categories WHERE elder_id = $1 AND start_date <= $2 \
             AND (end_date IS NULL OR end_date >= $2)",
        )
        .bind(elder_id)
        .bind(on)
        .fetch_all(&mut *c)
        .await
    })?;
    raw.categories = kinds
        .iter()
        .filter_map(|(k, d)| CategoryKind::parse(k).map(|k| record_bits(k, d.as_deref())))
        .fold(0, |m, b| m | b);
    Ok(Some((raw, status)))
}

/// Asks one person again at once (their record, a category, an assessment or their status
/// changed). Runs inside the caller's transaction so the answer changes with the record.
pub async fn refresh_elder(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    on: NaiveDate,
    book: &PolicyBook,
) -> Result<(), DbError> {
    let Some((raw, status)) = load_person(conn, elder_id, on).await? else {
        return Ok(());
    };
    let id = elder_id;
    let residence = RegionCode::parse(&format!("{:012}", raw.residence))
        .map_err(|_| corrupt(id, "居住地区划"))?;
    let Some(list) = service_lists::applicable(conn, &residence).await? else {
        return Ok(());
    };
    let lists = vec![SweepList::new(list, on, book)?];
    let people = People {
        ids: vec![id],
        raw: vec![raw],
        status: vec![status],
    };
    let before: Previous = on_conn!(conn, |c| {
        sqlx::query_as::<_, PreviousRow>(
            "SELECT elder_id, list_id, mask, residence_region_code FROM eligibility WHERE elder_id = $1",
        )
        .bind(elder_id)
        .fetch_all(&mut *c)
        .await
    })?
    .into_iter()
    .map(|r| (r.elder_id, (r.list_id, r.mask as u64, r.residence_region_code)))
    .collect();
    let (which, packed) = pack(&people, &lists, on);
    let answers = answer(&lists, which, &packed, 1);
    let (writes, deletes, changes) = compare(conn, &people, &lists, &answers, &before, on).await?;
    if writes.is_empty() && deletes.is_empty() && changes.is_empty() {
        return Ok(());
    }
    store(
        conn,
        &SweepRun {
            id: Uuid::now_v7(),
            root: &residence,
            trigger: Trigger::Change,
            on,
            started_at: Utc::now(),
            people: 1,
        },
        &Actor::system(),
        &writes,
        &deletes,
        &changes,
    )
    .await
}

/// The current answer for one person: the list version and the codes of the items whose
/// target group they are in.
pub async fn answer_of(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
) -> Result<Option<(Uuid, u64)>, DbError> {
    let row: Option<(Uuid, i64)> = on_conn!(conn, |c| {
        sqlx::query_as("SELECT list_id, mask FROM eligibility WHERE elder_id = $1")
            .bind(elder_id)
            .fetch_optional(&mut *c)
            .await
    })?;
    Ok(row.map(|(l, m)| (l, m as u64)))
}

/// [`refresh_elder`] for the China date of `now`, with the policy book read in the same
/// transaction.
pub async fn refresh_after_change(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let book = crate::policy::load(conn).await?;
    let on = jinglao_domain::clock::china_date(now);
    refresh_elder(conn, elder_id, on, &book).await
}

/// A past sweep, for "last compared on …".
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SweepSummary {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// `manual` or `nightly`.
    pub trigger: String,
    /// People asked.
    pub people: i32,
    /// Pairs gained.
    pub gained: i32,
    /// Pairs lost.
    pub lost: i32,
}

impl SweepSummary {
    /// 手动 / 每晚.
    pub fn trigger_label(&self) -> &'static str {
        match self.trigger.as_str() {
            "nightly" => "每晚自动",
            "manual" => "手动",
            _ => "信息变化",
        }
    }
}

/// The latest whole sweep (not a one-person refresh) that covered `region`: of the region
/// itself or of a region above it.
pub async fn last_sweep(
    conn: &mut Conn<'_>,
    region: &RegionCode,
) -> Result<Option<SweepSummary>, DbError> {
    let mut chain = region.ancestors();
    chain.push(*region);
    on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT started_at, trigger, people, gained, lost FROM eligibility_sweeps \
             WHERE trigger <> 'change' AND region_code IN (",
        );
        let mut sep = q.separated(", ");
        for r in &chain {
            sep.push_bind(r.as_str().to_string());
        }
        q.push(") ORDER BY started_at DESC LIMIT 1");
        q.build_query_as().fetch_optional(&mut *c).await
    })
    .map_err(Into::into)
}

/// The regions the nightly sweep of `on` has still to cover: every region with a published
/// list that no list above it includes (a sweep of a city asks its counties under their own
/// lists), without a nightly sweep evaluated on `on`.
pub async fn nightly_due(conn: &mut Conn<'_>, on: NaiveDate) -> Result<Vec<RegionCode>, DbError> {
    let codes: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT DISTINCT region_code FROM service_lists ORDER BY region_code")
            .fetch_all(&mut *c)
            .await
    })?;
    let regions: Vec<RegionCode> = codes
        .iter()
        .filter_map(|c| RegionCode::parse(c).ok())
        .collect();
    let tops: Vec<RegionCode> = regions
        .iter()
        .filter(|r| !regions.iter().any(|o| o != *r && o.contains(r)))
        .copied()
        .collect();
    let mut due = Vec::new();
    for r in tops {
        let done: i64 = on_conn!(conn, |c| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM eligibility_sweeps WHERE region_code = $1 AND trigger = 'nightly' \
                 AND evaluated_on = $2",
            )
            .bind(r.as_str().to_string())
            .bind(on)
            .fetch_one(&mut *c)
            .await
        })?;
        if done == 0 {
            due.push(r);
        }
    }
    Ok(due)
}
