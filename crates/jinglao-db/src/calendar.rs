//! The working-day calendar in storage: the loaded years and their listed days, the years
//! shipped with the code (loaded by `migrate::run` when absent, never over an administrator's
//! replacement), and replacing one year as a whole. The rules are in
//! `jinglao_domain::calendar`.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::calendar::{ListedDay, WorkCalendar, YearCalendar};
use jinglao_domain::{Permission, Scope};
use serde_json::json;

use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, on_conn};

/// The years shipped in `data/calendar`.
pub const SHIPPED: &[(i32, &str)] = &[
    (2025, include_str!("../../../data/calendar/2025.csv")),
    (2026, include_str!("../../../data/calendar/2026.csv")),
];

/// The calendar deadlines count on (every loaded year: a few hundred rows at most).
pub async fn load(conn: &mut Conn<'_>) -> Result<WorkCalendar, DbError> {
    let rows: Vec<(i32, NaiveDate, String)> = on_conn!(conn, |c| {
        sqlx::query_as("SELECT year, day, kind FROM work_calendar_days")
            .fetch_all(&mut *c)
            .await
    })?;
    let years: Vec<i32> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT year FROM work_calendar_years")
            .fetch_all(&mut *c)
            .await
    })?;
    let mut cal = WorkCalendar::from_rows(rows);
    cal.add_years(years);
    Ok(cal)
}

/// A loaded year, as the administrator's page lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoadedYear {
    /// The year.
    pub year: i32,
    /// The notice.
    pub source: String,
    /// Who loaded it: the account's display name (`system` for a shipped year).
    pub loaded_by: String,
    /// When.
    pub loaded_at: DateTime<Utc>,
}

/// The loaded years, newest first.
pub async fn years(conn: &mut Conn<'_>) -> Result<Vec<LoadedYear>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT y.year, y.source, COALESCE(u.display_name, y.loaded_by) AS loaded_by, y.loaded_at \
             FROM work_calendar_years y LEFT JOIN users u ON u.username = y.loaded_by \
             ORDER BY y.year DESC",
        )
            .fetch_all(&mut *c).await
    })?)
}

/// Every loaded year with its listed days, newest year first (two queries, whatever the
/// number of years).
pub async fn all_years(conn: &mut Conn<'_>) -> Result<Vec<(LoadedYear, Vec<ListedDay>)>, DbError> {
    let loaded = years(conn).await?;
    let rows: Vec<(i32, NaiveDate, String, String)> = on_conn!(conn, |c| {
        sqlx::query_as("SELECT year, day, kind, name FROM work_calendar_days ORDER BY day")
            .fetch_all(&mut *c)
            .await
    })?;
    let mut out: Vec<(LoadedYear, Vec<ListedDay>)> =
        loaded.into_iter().map(|y| (y, Vec::new())).collect();
    for (year, date, kind, name) in rows {
        let kind = jinglao_domain::calendar::DayKind::parse(&kind)
            .ok_or_else(|| DbError::Corrupt(format!("calendar kind {kind}")))?;
        if let Some((_, days)) = out.iter_mut().find(|(y, _)| y.year == year) {
            days.push(ListedDay { date, kind, name });
        }
    }
    Ok(out)
}

/// The listed days of a year, in date order.
pub async fn days(conn: &mut Conn<'_>, year: i32) -> Result<Vec<ListedDay>, DbError> {
    let rows: Vec<(NaiveDate, String, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT day, kind, name FROM work_calendar_days WHERE year = $1 ORDER BY day",
        )
        .bind(year)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter()
        .map(|(date, kind, name)| {
            let kind = jinglao_domain::calendar::DayKind::parse(&kind)
                .ok_or_else(|| DbError::Corrupt(format!("calendar kind {kind}")))?;
            Ok(ListedDay { date, kind, name })
        })
        .collect()
}

/// Loads each shipped year the database does not have yet; returns the years loaded. A year
/// already present (shipped earlier or replaced by an administrator) is left alone, and costs
/// nothing but the one query that lists the loaded years.
pub async fn load_shipped(db: &Db) -> Result<Vec<i32>, DbError> {
    let present: Vec<i32> = {
        let mut c = db.acquire().await?;
        on_conn!(&mut c.conn(), |c| {
            sqlx::query_scalar("SELECT year FROM work_calendar_years")
                .fetch_all(&mut *c)
                .await
        })?
    };
    let mut loaded = Vec::new();
    for (year, text) in SHIPPED.iter().filter(|(y, _)| !present.contains(y)) {
        let cal = YearCalendar::parse(*year, text)
            .map_err(|e| DbError::Corrupt(format!("shipped calendar {year}: {e:?}")))?;
        let mut tx = db.begin().await?;
        let mut conn = tx.conn();
        // Another process may be migrating at the same time: the first to insert the year wins.
        let inserted = on_conn!(&mut conn, |c| {
            sqlx::query(
                "INSERT INTO work_calendar_years (year, source, loaded_by, loaded_at) \
                 VALUES ($1, $2, 'system', $3) ON CONFLICT (year) DO NOTHING",
            )
            .bind(cal.year)
            .bind(&cal.source)
            .bind(Utc::now())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            insert_days(&mut conn, &cal).await?;
            loaded.push(*year);
        }
        tx.commit().await?;
    }
    Ok(loaded)
}

/// Inserts a year's listed days in one statement (a year lists at most 366).
async fn insert_days(conn: &mut Conn<'_>, cal: &YearCalendar) -> Result<(), DbError> {
    if cal.days.is_empty() {
        return Ok(());
    }
    on_conn!(conn, |c| {
        let mut q =
            sqlx::QueryBuilder::new("INSERT INTO work_calendar_days (day, year, kind, name) ");
        q.push_values(&cal.days, |mut b, d| {
            b.push_bind(d.date)
                .push_bind(cal.year)
                .push_bind(d.kind.as_str())
                .push_bind(&d.name);
        });
        q.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Replaces (or adds) a year as a whole, in one transaction: the calendar is national, so only
/// an account with `ManageCalendar` over everything may. Audited with the counts before and
/// after. Deadlines already set keep their dates; new ones count on the new calendar.
pub async fn replace_year(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    cal: &YearCalendar,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !actor.may(Permission::ManageCalendar) || actor.scope != Scope::All {
        return Err(DbError::Forbidden("修改节假日安排".into()));
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let before = days(&mut conn, cal.year).await?;
    let old_source: Option<String> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT source FROM work_calendar_years WHERE year = $1")
            .bind(cal.year)
            .fetch_optional(&mut *c)
            .await
    })?;
    on_conn!(&mut conn, |c| {
        sqlx::query("DELETE FROM work_calendar_days WHERE year = $1")
            .bind(cal.year)
            .execute(&mut *c)
            .await?;
        sqlx::query("DELETE FROM work_calendar_years WHERE year = $1")
            .bind(cal.year)
            .execute(&mut *c)
            .await?;
        sqlx::query("INSERT INTO work_calendar_years (year, source, loaded_by, loaded_at) VALUES ($1, $2, $3, $4)")
            .bind(cal.year).bind(&cal.source).bind(&actor.name).bind(now)
            .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    insert_days(&mut conn, cal).await?;
    // What changed, day by day, so an auditor sees a moved holiday and not only the counts.
    let describe = |d: &ListedDay| format!("{} {} {}", d.date, d.kind.label(), d.name);
    let removed: Vec<String> = before
        .iter()
        .filter(|d| !cal.days.contains(d))
        .map(describe)
        .collect();
    let added: Vec<String> = cal
        .days
        .iter()
        .filter(|d| !before.contains(d))
        .map(describe)
        .collect();
    let event = Event::new("calendar.replace", "calendar", cal.year).detail(json!({
        "year": cal.year, "source": cal.source, "source_before": old_source,
        "days_before": before.len(), "days_after": cal.days.len(),
        "removed": removed, "added": added,
    }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}
