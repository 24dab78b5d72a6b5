//! Searching the registry: by name (prefix), ID number or phone number (exact, through their
//! keyed hashes), the last four characters of either ("尾号", through keyed hashes of the
//! tails), region, category and ability level, always within the caller's scope, in pinyin
//! order of the names. Pages are numbered (an offset, with the exact total) for the pages and
//! keyset (after a name and id) for the API. Every predicate is index-backed; see
//! BENCHMARKS.md for the figures at one million records.

use std::collections::HashMap;

use chrono::{Months, NaiveDate};
use jinglao_domain::assessment::AbilityLevel;
use jinglao_domain::category::{
    self, ADVANCED_AGE, CategoryKind, DEMENTIA, DISABLED, PARTLY_DISABLED,
};
use jinglao_domain::elder::ElderStatus;
use jinglao_domain::region::RegionLevel;
use jinglao_domain::{Phone, RegionCode, ResidentId, Scope, Sex};
use uuid::Uuid;

use crate::crypto::{Field, FieldCipher};
use crate::elders::{push_scope, push_scope_on, push_subtree};
use crate::{Conn, DbError, on_conn};

/// What to look for. Empty fields do not filter.
#[derive(Debug, Clone)]
pub struct ElderFilter {
    /// A name (prefix), a full ID number, or a phone number.
    pub text: String,
    /// Only residents of this region's subtree.
    pub region: Option<RegionCode>,
    /// A category label (recorded, or 高龄 / 失能 / 半失能).
    pub category: Option<String>,
    /// Ability level of the latest effective assessment.
    pub ability: Option<AbilityLevel>,
    /// Only this status (`None`: any).
    pub status: Option<ElderStatus>,
    /// Today, for category periods and ages.
    pub today: NaiveDate,
    /// Age from which 高龄 applies.
    pub advanced_age: i32,
}

impl ElderFilter {
    /// Active people matching nothing in particular, as of `today`.
    pub fn new(today: NaiveDate) -> Self {
        ElderFilter {
            text: String::new(),
            region: None,
            category: None,
            ability: None,
            status: Some(ElderStatus::Active),
            today,
            advanced_age: 80,
        }
    }
}

/// A row of the search results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElderSummary {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Masked ID number.
    pub id_masked: String,
    /// Sex.
    pub sex: Sex,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Residence.
    pub residence_region: RegionCode,
    /// Status.
    pub status: ElderStatus,
    /// Latest effective level.
    pub ability: Option<AbilityLevel>,
    /// Next routine assessment.
    pub reassessment_due: Option<NaiveDate>,
    /// An immediate re-assessment was asked for.
    pub reassessment_requested: Option<String>,
    /// Recorded categories active today, with the labels their details add.
    pub categories: Vec<&'static str>,
    /// A dementia diagnosis in the latest effective assessment.
    pub dementia: bool,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    name: String,
    id_masked: String,
    sex: String,
    birth_date: NaiveDate,
    residence_region_code: String,
    status: String,
    ability_level: Option<i32>,
    dementia: bool,
    reassessment_due: Option<NaiveDate>,
    reassessment_requested: Option<String>,
}

const SUMMARY: &str = "e.id, e.name, e.id_masked, e.sex, e.birth_date, e.residence_region_code, \
    e.status, e.ability_level, e.dementia, e.reassessment_due, e.reassessment_requested";

/// How the text was understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextQuery {
    /// Nothing typed.
    None,
    /// A full ID number.
    IdNumber(String),
    /// A phone number.
    Phone(String),
    /// The last four characters of an ID or phone number ("尾号"), upper-cased.
    Tail(String),
    /// The start of a name.
    Name(String),
}

/// Where a page of results starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position<'a> {
    /// The first page.
    Start,
    /// After this many rows (numbered pages).
    Skip(i64),
    /// After the row with this name and id (the API's keyset cursor).
    After(&'a str, Uuid),
}

impl TextQuery {
    /// Whether the text is a full ID or phone number: never carried in an address.
    pub fn is_identifier(&self) -> bool {
        matches!(self, TextQuery::IdNumber(_) | TextQuery::Phone(_))
    }
}

/// Classifies the search text.
pub fn classify(text: &str) -> TextQuery {
    let t = text.trim();
    if t.is_empty() {
        TextQuery::None
    } else if let Ok(id) = ResidentId::parse(t) {
        TextQuery::IdNumber(id.as_str().to_string())
    } else if let Ok(p) = Phone::parse(t) {
        TextQuery::Phone(p.as_str().to_string())
    } else if is_tail(t) {
        TextQuery::Tail(t.to_uppercase())
    } else {
        TextQuery::Name(t.to_string())
    }
}

/// Whether `t` is four digits, or three and a final X (the end of an ID number).
fn is_tail(t: &str) -> bool {
    let chars: Vec<char> = t.chars().collect();
    chars.len() == crate::crypto::TAIL_CHARS
        && chars.iter().enumerate().all(|(i, c)| {
            c.is_ascii_digit() || (i == crate::crypto::TAIL_CHARS - 1 && matches!(c, 'x' | 'X'))
        })
}

/// Records a search of the registry in the audit trail: pages and the API call this for every
/// search that shows people, since a list of people is a read of their records too. The entry
/// names what was asked (an ID or phone number masked, never in full) and how many people were
/// shown; a search by the last digits of a number also names whom it found (`found`), since it
/// comes close to a reveal of their numbers.
pub async fn record_search(
    db: &crate::Db,
    chain: &crate::audit::ChainKey,
    actor: &crate::Actor,
    filter: &ElderFilter,
    shown: &[Uuid],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbError> {
    let found = matches!(classify(&filter.text), TextQuery::Tail(_)).then_some(shown);
    record_query(
        db,
        chain,
        actor,
        "elder.search",
        filter,
        (shown.len(), found),
        now,
    )
    .await
}

/// Records that the filtered list was exported to a file (`elder.export`), with the filter and
/// how many rows left the platform.
pub async fn record_export(
    db: &crate::Db,
    chain: &crate::audit::ChainKey,
    actor: &crate::Actor,
    filter: &ElderFilter,
    rows: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbError> {
    record_query(db, chain, actor, "elder.export", filter, (rows, None), now).await
}

async fn record_query(
    db: &crate::Db,
    chain: &crate::audit::ChainKey,
    actor: &crate::Actor,
    action: &str,
    filter: &ElderFilter,
    (shown, found): (usize, Option<&[Uuid]>),
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbError> {
    let asked = match classify(&filter.text) {
        TextQuery::None => serde_json::Value::Null,
        TextQuery::IdNumber(id) => ResidentId::parse(&id)
            .map(|i| serde_json::json!({ "id_number": i.masked() }))
            .unwrap_or_default(),
        TextQuery::Phone(p) => Phone::parse(&p)
            .map(|p| serde_json::json!({ "phone": p.masked() }))
            .unwrap_or_default(),
        TextQuery::Tail(t) => serde_json::json!({ "tail": t }),
        TextQuery::Name(n) => serde_json::json!({ "name": n }),
    };
    let mut event = crate::audit::Event::new(action, "elder", "search")
        .region(filter.region.or(actor.scope.region_root()));
    event.record_id = None;
    event.detail = serde_json::json!({
        "text": asked,
        "region": filter.region.map(|r| r.to_string()),
        "category": filter.category,
        "ability": filter.ability.map(|a| a.number()),
        "status": filter.status.map(|s| s.as_str()),
        "shown": shown,
    });
    if let Some(ids) = found {
        event.detail["found"] = serde_json::json!(ids);
    }
    crate::audit::record(db, chain, actor, event, now).await?;
    Ok(())
}

/// The scope and the region asked for, on the column (or expression) `residence`.
fn push_regions<DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<DB>,
    scope: &Scope,
    f: &ElderFilter,
    residence: &str,
) where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    push_scope_on(q, scope, residence);
    if let Some(r) = &f.region {
        push_subtree(q, residence, r);
    }
}

/// Whether to walk the name index rather than the residence index. With a name typed, the
/// name index finds its few hundred entries directly. With nothing but a large region to go on
/// (the whole registry, a city or a county: at least one person in twenty), a page of 50 names
/// turns up within the first thousand entries of the name index, whereas walking the residence
/// index means sorting everyone in the region. In a township or village, or for a category or
/// ability level (which have their own indexes), the other walks are shorter. The planners
/// cannot tell these cases apart from their statistics, so the choice is made here, by hiding
/// the residence column from them.
fn walk_names(scope: &Scope, f: &ElderFilter) -> bool {
    match classify(&f.text) {
        TextQuery::Name(_) => return true,
        TextQuery::IdNumber(_) | TextQuery::Phone(_) | TextQuery::Tail(_) => return false,
        TextQuery::None => {}
    }
    let narrow = |code: &RegionCode| code.level() > RegionLevel::County;
    let scope_narrow = matches!(scope, Scope::Region(root) if narrow(root));
    let region_narrow = f.region.as_ref().is_some_and(narrow);
    // Recorded categories are read from their own index; 失能/半失能 from the ability index.
    let indexed_category = matches!(
        f.category.as_deref(),
        Some(label) if label == DISABLED || label == PARTLY_DISABLED || CategoryKind::parse(label).is_some()
    );
    !scope_narrow && !region_narrow && !indexed_category && f.ability.is_none()
}

/// The filters of `f` within `scope`. `ordered`: the query walks an index in name order for a
/// page (then [`walk_names`] may hide the residence index from the planner); a count is not
/// ordered and walks the name index only for a typed name (at a million people, counting a
/// county through the name index reads the whole index: 150 ms against 15 through the
/// residence index; a full name counts in well under a millisecond through the name index
/// against 8 ms through the residence index).
fn push_filters<DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<DB>,
    cipher: &FieldCipher,
    scope: &Scope,
    f: &ElderFilter,
    ordered: bool,
) where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i32: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    NaiveDate: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    // A count walks the name index only for a typed name (its range is short); otherwise the
    // residence index.
    let hide_residence = if ordered {
        walk_names(scope, f)
    } else {
        matches!(classify(&f.text), TextQuery::Name(_))
    };
    let residence = if hide_residence {
        "(e.residence_region_code || '')"
    } else {
        "e.residence_region_code"
    };
    push_regions(q, scope, f, residence);
    match classify(&f.text) {
        TextQuery::None => {}
        TextQuery::IdNumber(id) => {
            q.push(" AND e.id_hash = ")
                .push_bind(cipher.lookup_hash(Field::IdNumber, &id));
        }
        TextQuery::Phone(p) => {
            q.push(" AND e.id IN (SELECT elder_id FROM elder_phones WHERE phone_hash = ")
                .push_bind(cipher.lookup_hash(Field::Phone, &p))
                .push(")");
        }
        TextQuery::Tail(t) => {
            q.push(" AND e.id IN (SELECT t.id FROM elders t WHERE t.id_tail_hash = ")
                .push_bind(cipher.tail_hash(Field::IdNumber, &t).unwrap_or_default())
                .push(" UNION SELECT p.elder_id FROM elder_phones p WHERE p.tail_hash = ")
                .push_bind(cipher.tail_hash(Field::Phone, &t).unwrap_or_default())
                .push(")");
        }
        TextQuery::Name(n) => {
            // The pinyin key's range narrows the walk of the name index; the name's own range
            // keeps it exact (characters that share a reading).
            let key = jinglao_domain::collation::pinyin_key(&n);
            let key_upper = format!("{key}\u{10FFFF}");
            let upper = format!("{n}\u{10FFFF}");
            q.push(" AND e.name_key >= ")
                .push_bind(key)
                .push(" AND e.name_key < ")
                .push_bind(key_upper)
                .push(" AND e.name >= ")
                .push_bind(n)
                .push(" AND e.name < ")
                .push_bind(upper);
        }
    }
    if let Some(s) = f.status {
        q.push(" AND e.status = ").push_bind(s.as_str().to_string());
    }
    if let Some(a) = f.ability {
        q.push(" AND e.ability_level = ")
            .push_bind(a.number() as i32);
    }
    match f.category.as_deref() {
        None | Some("") => {}
        Some(ADVANCED_AGE) => {
            let cutoff = f
                .today
                .checked_sub_months(Months::new(12 * f.advanced_age.max(0) as u32))
                .unwrap_or(f.today);
            q.push(" AND e.birth_date <= ").push_bind(cutoff);
        }
        Some(DISABLED) => {
            q.push(" AND e.ability_level IN (3, 4)");
        }
        Some(PARTLY_DISABLED) => {
            q.push(" AND e.ability_level IN (1, 2)");
        }
        Some(DEMENTIA) => {
            q.push(" AND e.dementia = TRUE");
        }
        Some(label) if detail_filter(label).is_some() => {
            // A label a category's detail adds (分散供养特困, 失独, 重度残疾).
            let (kinds, details) = detail_filter(label).expect("checked");
            q.push(" AND e.id IN (SELECT c.elder_id FROM elder_categories c WHERE c.kind IN (");
            let mut sep = q.separated(", ");
            for k in kinds {
                sep.push_bind(k.as_str().to_string());
            }
            q.push(") AND c.detail IN (");
            let mut sep = q.separated(", ");
            for d in details {
                sep.push_bind(d.to_string());
            }
            q.push(")");
            push_regions(q, scope, f, "c.residence_region_code");
            q.push(" AND c.start_date <= ")
                .push_bind(f.today)
                .push(" AND (c.end_date IS NULL OR c.end_date >= ")
                .push_bind(f.today)
                .push("))");
        }
        Some(label) => match CategoryKind::parse(label) {
            Some(kind) => {
                // The holders of the category in the region, read from the category index
                // (which carries each holder's residence) rather than by testing every
                // resident of the region.
                q.push(" AND e.id IN (SELECT c.elder_id FROM elder_categories c WHERE c.kind = ")
                    .push_bind(kind.as_str().to_string());
                push_regions(q, scope, f, "c.residence_region_code");
                q.push(" AND c.start_date <= ")
                    .push_bind(f.today)
                    .push(" AND (c.end_date IS NULL OR c.end_date >= ")
                    .push_bind(f.today)
                    .push("))");
            }
            None => {
                q.push(" AND 1 = 0");
            }
        },
    }
}

/// The recorded kinds and details behind a label that a detail adds.
fn detail_filter(label: &str) -> Option<(Vec<CategoryKind>, Vec<&'static str>)> {
    let kinds: Vec<CategoryKind> = CategoryKind::ALL
        .iter()
        .copied()
        .filter(|k| {
            k.detail_choices()
                .unwrap_or_default()
                .iter()
                .any(|d| k.detail_label_of(Some(d)) == Some(label))
        })
        .collect();
    let details: Vec<&'static str> = kinds
        .iter()
        .flat_map(|k| {
            k.detail_choices()
                .unwrap_or_default()
                .iter()
                .copied()
                .filter(|d| k.detail_label_of(Some(d)) == Some(label))
        })
        .collect();
    (!kinds.is_empty()).then_some((kinds, details))
}

/// One page of results, in pinyin order of the names (then the name, then id), starting at
/// `at`. Returns the rows and whether more follow.
///
/// Two steps in one statement: the inner query picks the page's ids from an index that holds
/// every filtered column (migration 0016), so it reads no rows; the outer query reads the rows
/// of that page only.
pub async fn search(
    conn: &mut Conn<'_>,
    cipher: &FieldCipher,
    scope: &Scope,
    filter: &ElderFilter,
    at: Position<'_>,
    limit: i64,
) -> Result<(Vec<ElderSummary>, bool), DbError> {
    let rows: Vec<SummaryRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!(
            "SELECT {SUMMARY} FROM elders e WHERE e.id IN (SELECT e.id FROM elders e WHERE 1 = 1"
        ));
        push_filters(&mut q, cipher, scope, filter, true);
        if let Position::After(name, id) = at {
            let key = jinglao_domain::collation::pinyin_key(name);
            q.push(" AND (e.name_key, e.name, e.id) > (")
                .push_bind(key)
                .push(", ")
                .push_bind(name.to_string())
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        q.push(" ORDER BY e.name_key, e.name, e.id LIMIT ")
            .push_bind(limit + 1);
        if let Position::Skip(n) = at {
            q.push(" OFFSET ").push_bind(n.max(0));
        }
        q.push(") ORDER BY e.name_key, e.name, e.id");
        q.build_query_as::<SummaryRow>().fetch_all(&mut *c).await
    })?;
    let more = rows.len() as i64 > limit;
    let mut out: Vec<ElderSummary> = rows
        .into_iter()
        .take(limit as usize)
        .map(summary)
        .collect::<Result<_, DbError>>()?;
    attach_categories(conn, &mut out, filter.today).await?;
    Ok((out, more))
}

fn summary(r: SummaryRow) -> Result<ElderSummary, DbError> {
    let bad = |what: &str| DbError::Corrupt(format!("老年人记录 {}：{what}", r.id));
    Ok(ElderSummary {
        id: r.id,
        sex: Sex::parse(&r.sex).ok_or_else(|| bad(&r.sex))?,
        residence_region: RegionCode::parse(&r.residence_region_code)
            .map_err(|_| bad(&r.residence_region_code))?,
        status: ElderStatus::parse(&r.status).ok_or_else(|| bad(&r.status))?,
        ability: r
            .ability_level
            .and_then(|n| AbilityLevel::from_number(n as u8)),
        name: r.name,
        id_masked: r.id_masked,
        birth_date: r.birth_date,
        reassessment_due: r.reassessment_due,
        reassessment_requested: r.reassessment_requested,
        categories: Vec::new(),
        dementia: r.dementia,
    })
}

#[derive(sqlx::FromRow)]
struct CountedRow {
    #[sqlx(flatten)]
    row: SummaryRow,
    total: i64,
}

/// Page `page` (from 1) of `per_page` results in pinyin order, with the exact total; a page
/// past the end gives the last page. Returns the rows, the total and the page shown.
///
/// When the page walks an index in name order ([`walk_names`]) it stops after the page, and the
/// total is a separate count. Otherwise every match is read and sorted anyway, so one statement
/// returns the page and the total (`COUNT(*) OVER ()`) in a single pass.
pub async fn numbered(
    conn: &mut Conn<'_>,
    cipher: &FieldCipher,
    scope: &Scope,
    filter: &ElderFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<ElderSummary>, i64, i64), DbError> {
    let per_page = per_page.clamp(1, 1_000);
    // An address may carry any number: past a million pages is past any registry.
    let page = page.clamp(1, 1_000_000);
    let last_page = |total: i64| ((total - 1).max(0) / per_page) + 1;
    if walk_names(scope, filter) {
        let total = count(conn, cipher, scope, filter).await?;
        let page = page.clamp(1, last_page(total));
        let at = Position::Skip((page - 1) * per_page);
        let (rows, _) = search(conn, cipher, scope, filter, at, per_page).await?;
        return Ok((rows, total, page));
    }
    let page = page.max(1);
    let rows: Vec<CountedRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!(
            "SELECT {SUMMARY}, p.total FROM (SELECT e.id AS pid, COUNT(*) OVER () AS total \
             FROM elders e WHERE 1 = 1"
        ));
        push_filters(&mut q, cipher, scope, filter, true);
        q.push(" ORDER BY e.name_key, e.name, e.id LIMIT ")
            .push_bind(per_page)
            .push(" OFFSET ")
            .push_bind((page - 1) * per_page);
        q.push(") p JOIN elders e ON e.id = p.pid ORDER BY e.name_key, e.name, e.id");
        q.build_query_as::<CountedRow>().fetch_all(&mut *c).await
    })?;
    let Some(total) = rows.first().map(|r| r.total) else {
        if page == 1 {
            return Ok((Vec::new(), 0, 1));
        }
        // Past the end (or the list shrank meanwhile): the last page.
        let total = count(conn, cipher, scope, filter).await?;
        let page = last_page(total);
        let at = Position::Skip((page - 1) * per_page);
        let (rows, _) = search(conn, cipher, scope, filter, at, per_page).await?;
        return Ok((rows, total, page));
    };
    let mut out: Vec<ElderSummary> = rows
        .into_iter()
        .map(|r| summary(r.row))
        .collect::<Result<_, DbError>>()?;
    attach_categories(conn, &mut out, filter.today).await?;
    Ok((out, total, page))
}

async fn attach_categories(
    conn: &mut Conn<'_>,
    rows: &mut [ElderSummary],
    today: NaiveDate,
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let cats: Vec<(Uuid, String, Option<String>)> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT elder_id, kind, detail FROM elder_categories WHERE elder_id IN (",
        );
        let mut sep = q.separated(", ");
        for id in &ids {
            sep.push_bind(*id);
        }
        q.push(") AND start_date <= ")
            .push_bind(today)
            .push(" AND (end_date IS NULL OR end_date >= ")
            .push_bind(today)
            .push(")");
        q.build_query_as::<(Uuid, String, Option<String>)>()
            .fetch_all(&mut *c)
            .await
    })?;
    let mut by: HashMap<Uuid, u32> = HashMap::new();
    for (id, kind, detail) in cats {
        if let Some(k) = CategoryKind::parse(&kind) {
            *by.entry(id).or_default() |= category::record_bits(k, detail.as_deref());
        }
    }
    for r in rows {
        r.categories = category::labels_of_bits(by.remove(&r.id).unwrap_or_default());
    }
    Ok(())
}

/// Every record in the registry, whatever its status (for "is the registry empty?").
pub async fn total(conn: &mut Conn<'_>) -> Result<i64, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM elders")
            .fetch_one(&mut *c)
            .await
    })?)
}

/// How many records match (the pager's total), counted from the same indexes the page walks.
pub async fn count(
    conn: &mut Conn<'_>,
    cipher: &FieldCipher,
    scope: &Scope,
    filter: &ElderFilter,
) -> Result<i64, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM elders e WHERE 1 = 1");
        push_filters(&mut q, cipher, scope, filter, false);
        q.build_query_scalar::<i64>().fetch_one(&mut *c).await
    })?)
}

/// The "due and overdue" worklist: active people in scope whose routine re-assessment falls due
/// by `due_by`, or for whom an immediate re-assessment was asked; earliest first.
pub async fn due_worklist(
    conn: &mut Conn<'_>,
    scope: &Scope,
    region: Option<RegionCode>,
    due_by: NaiveDate,
    today: NaiveDate,
    limit: i64,
    offset: i64,
) -> Result<Vec<ElderSummary>, DbError> {
    let rows: Vec<SummaryRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!(
            "SELECT {SUMMARY} FROM elders e WHERE e.status = 'active' \
             AND (e.reassessment_due <= "
        ));
        q.push_bind(due_by)
            .push(" OR e.reassessment_requested IS NOT NULL)");
        push_scope(&mut q, scope);
        if let Some(r) = &region {
            push_subtree(&mut q, "e.residence_region_code", r);
        }
        q.push(
            " ORDER BY CASE WHEN e.reassessment_requested IS NOT NULL THEN 0 ELSE 1 END, \
                e.reassessment_due, e.name, e.id LIMIT ",
        )
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
        q.build_query_as::<SummaryRow>().fetch_all(&mut *c).await
    })?;
    // A row that cannot be read is left off the worklist (the search reports it instead).
    let mut out: Vec<ElderSummary> = rows.into_iter().filter_map(|r| summary(r).ok()).collect();
    attach_categories(conn, &mut out, today).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_read_as_an_id_a_phone_or_a_name() {
        assert_eq!(
            classify("44052418800101001 4"),
            TextQuery::IdNumber("440524188001010014".into())
        );
        assert_eq!(
            classify("138-0731-5678"),
            TextQuery::Phone("13807315678".into())
        );
        assert_eq!(classify(" 王秀 "), TextQuery::Name("王秀".into()));
        assert_eq!(classify(""), TextQuery::None);
    }

    #[test]
    fn names_or_a_large_region_walk_the_name_index_and_narrow_filters_do_not() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let region = |s: &str| Scope::Region(RegionCode::parse(s).unwrap());
        let with = |f: fn(&mut ElderFilter)| {
            let mut filter = ElderFilter::new(day);
            f(&mut filter);
            filter
        };
        let plain = ElderFilter::new(day);
        assert!(walk_names(&Scope::All, &plain));
        assert!(walk_names(&region("430302"), &plain), "a county");
        assert!(!walk_names(&region("430302001"), &plain), "a township");
        assert!(
            walk_names(&region("430302001"), &with(|f| f.text = "王".into())),
            "a name"
        );
        assert!(!walk_names(
            &Scope::All,
            &with(|f| f.text = "440524188001010014".into())
        ));
        assert!(!walk_names(
            &region("430302"),
            &with(|f| f.region = RegionCode::parse("430302001").ok())
        ));
        assert!(!walk_names(
            &region("430302"),
            &with(|f| f.category = Some("低保".into()))
        ));
        assert!(!walk_names(
            &region("430302"),
            &with(|f| f.category = Some("失能".into()))
        ));
        assert!(walk_names(
            &region("430302"),
            &with(|f| f.category = Some("高龄".into()))
        ));
        assert!(!walk_names(
            &region("430302"),
            &with(|f| f.ability = Some(AbilityLevel::Severe))
        ));
    }
}
