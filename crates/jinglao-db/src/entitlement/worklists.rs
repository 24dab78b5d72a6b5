//! Worklists of proactive matching (服务找人), read from the last answers
//! ([`crate::eligibility`]) and enrolments, for a village/community or any region above it:
//!
//! - eligible but not enrolled: someone to notify or start an application for;
//! - enrolled but no longer eligible: someone to review, with the reason the sweep recorded;
//! - changes: what sweeps found different, newest first.
//!
//! An answer's bit n is item n of the list version it names, so the join with `service_items`
//! on `(mask >> position) & 1` turns answers into (person, item) pairs in SQL on both databases.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::{RegionCode, Scope};
use uuid::Uuid;

use crate::{Conn, DbError, on_conn};

/// Which worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worklist {
    /// 符合条件未纳入.
    EligibleNotEnrolled,
    /// 已纳入但不再符合.
    EnrolledNotEligible,
    /// 变化.
    Changes,
}

impl Worklist {
    /// Stable name in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Worklist::EligibleNotEnrolled => "eligible",
            Worklist::EnrolledNotEligible => "ineligible",
            Worklist::Changes => "changes",
        }
    }

    /// From a URL.
    pub fn parse(s: &str) -> Option<Worklist> {
        [
            Worklist::EligibleNotEnrolled,
            Worklist::EnrolledNotEligible,
            Worklist::Changes,
        ]
        .into_iter()
        .find(|w| w.as_str() == s)
    }

    /// Heading.
    pub fn label(self) -> &'static str {
        match self {
            Worklist::EligibleNotEnrolled => "符合条件、尚未纳入",
            Worklist::EnrolledNotEligible => "已纳入、不再符合",
            Worklist::Changes => "近期变化",
        }
    }
}

/// One row of a worklist.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WorkRow {
    /// The person.
    pub elder_id: Uuid,
    /// Name.
    pub name: String,
    /// Masked ID number.
    pub id_masked: String,
    /// Residence code.
    pub residence_region_code: String,
    /// Item code.
    pub item_code: String,
    /// Item name.
    pub item_name: String,
    /// Changes: gained (true) or lost; other lists: empty.
    pub gained: Option<bool>,
    /// Changes and "no longer eligible": the reason recorded by the sweep.
    pub reason: Option<String>,
    /// Changes: when.
    pub at: Option<DateTime<Utc>>,
}

/// A page of a worklist.
#[derive(Debug, Clone)]
pub struct WorkPage {
    /// Rows.
    pub rows: Vec<WorkRow>,
    /// All matching rows.
    pub total: i64,
}

/// Filters.
#[derive(Debug, Clone)]
pub struct WorkFilter {
    /// Region (the caller's scope is applied too).
    pub region: RegionCode,
    /// One item, or all.
    pub item: Option<String>,
    /// Evaluation date (enrolments active on it).
    pub on: NaiveDate,
    /// Changes since.
    pub since: DateTime<Utc>,
    /// Page from 0.
    pub page: i64,
    /// Rows a page.
    pub per_page: i64,
}

fn region_bounds(filter: &WorkFilter, scope: &Scope) -> Option<(String, String)> {
    let root = match scope {
        Scope::All => filter.region,
        Scope::Region(s) if s.contains(&filter.region) => filter.region,
        Scope::Region(s) if filter.region.contains(s) => *s,
        _ => return None,
    };
    Some(root.subtree_range())
}

/// The FROM/WHERE of each list; binds: $1 lo, $2 hi, $3 date or since, $4 item ('' = all).
fn body(list: Worklist) -> &'static str {
    match list {
        Worklist::EligibleNotEnrolled => {
            "FROM eligibility g \
             JOIN service_items si ON si.list_id = g.list_id AND ((g.mask >> si.position) & 1) = 1 \
             JOIN elders e ON e.id = g.elder_id \
             WHERE g.residence_region_code BETWEEN $1 AND $2 AND ($4 = '' OR si.code = $4) \
             AND NOT EXISTS (SELECT 1 FROM entitlements t WHERE t.elder_id = g.elder_id \
               AND t.item_code = si.code AND t.start_date <= $3 AND (t.end_date IS NULL OR t.end_date >= $3))"
        }
        Worklist::EnrolledNotEligible => {
            "FROM entitlements t \
             JOIN elders e ON e.id = t.elder_id \
             LEFT JOIN eligibility g ON g.elder_id = t.elder_id \
             LEFT JOIN service_items si ON si.list_id = g.list_id AND si.code = t.item_code \
             WHERE e.residence_region_code BETWEEN $1 AND $2 AND ($4 = '' OR t.item_code = $4) \
             AND t.start_date <= $3 AND (t.end_date IS NULL OR t.end_date >= $3) \
             AND (e.status <> 'active' OR (g.elder_id IS NOT NULL \
               AND (si.code IS NULL OR ((g.mask >> si.position) & 1) = 0)))"
        }
        Worklist::Changes => {
            "FROM eligibility_changes ch \
             JOIN eligibility_sweeps s ON s.id = ch.sweep_id \
             JOIN elders e ON e.id = ch.elder_id \
             WHERE ch.residence_region_code BETWEEN $1 AND $2 AND ($4 = '' OR ch.item_code = $4) \
             AND s.started_at >= $3"
        }
    }
}

fn select(list: Worklist) -> &'static str {
    match list {
        Worklist::EligibleNotEnrolled => {
            "SELECT e.id AS elder_id, e.name, e.id_masked, g.residence_region_code, si.code AS item_code, \
             si.name AS item_name, CAST(NULL AS BOOLEAN) AS gained, CAST(NULL AS TEXT) AS reason, \
             CAST(NULL AS TIMESTAMPTZ) AS at "
        }
        Worklist::EnrolledNotEligible => {
            "SELECT e.id AS elder_id, e.name, e.id_masked, e.residence_region_code, t.item_code, \
             COALESCE(si.name, t.item_code) AS item_name, CAST(NULL AS BOOLEAN) AS gained, \
             (SELECT ch.reason FROM eligibility_changes ch JOIN eligibility_sweeps s ON s.id = ch.sweep_id \
               WHERE ch.elder_id = t.elder_id AND ch.item_code = t.item_code AND NOT ch.gained \
               ORDER BY s.started_at DESC LIMIT 1) AS reason, \
             CAST(NULL AS TIMESTAMPTZ) AS at "
        }
        Worklist::Changes => {
            "SELECT e.id AS elder_id, e.name, e.id_masked, ch.residence_region_code, ch.item_code, \
             COALESCE((SELECT si.name FROM service_items si WHERE si.code = ch.item_code LIMIT 1), ch.item_code) AS item_name, ch.gained, ch.reason, s.started_at AS at "
        }
    }
}

fn order(list: Worklist) -> &'static str {
    match list {
        Worklist::Changes => " ORDER BY s.started_at DESC, e.name, ch.item_code",
        Worklist::EligibleNotEnrolled => {
            " ORDER BY g.residence_region_code, e.name, e.id, si.position"
        }
        Worklist::EnrolledNotEligible => {
            " ORDER BY e.residence_region_code, e.name, e.id, t.item_code"
        }
    }
}

/// A page of `list` within `filter.region` and the caller's `scope`.
pub async fn page(
    conn: &mut Conn<'_>,
    scope: &Scope,
    list: Worklist,
    filter: &WorkFilter,
) -> Result<WorkPage, DbError> {
    let Some((lo, hi)) = region_bounds(filter, scope) else {
        return Ok(WorkPage {
            rows: Vec::new(),
            total: 0,
        });
    };
    let item = filter.item.clone().unwrap_or_default();
    let count_sql = format!("SELECT COUNT(*) {}", body(list));
    let rows_sql = format!(
        "{}{}{} LIMIT {} OFFSET {}",
        select(list),
        body(list),
        order(list),
        filter.per_page.clamp(1, 500),
        filter.page.max(0) * filter.per_page.clamp(1, 500)
    );
    let total: i64 = on_conn!(conn, |c| {
        let q = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
            .bind(&lo)
            .bind(&hi);
        match list {
            Worklist::Changes => q.bind(filter.since),
            _ => q.bind(filter.on),
        }
        .bind(&item)
        .fetch_one(&mut *c)
        .await
    })?;
    let rows: Vec<WorkRow> = on_conn!(conn, |c| {
        let q = sqlx::query_as(sqlx::AssertSqlSafe(rows_sql.clone()))
            .bind(&lo)
            .bind(&hi);
        match list {
            Worklist::Changes => q.bind(filter.since),
            _ => q.bind(filter.on),
        }
        .bind(&item)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(WorkPage { rows, total })
}
