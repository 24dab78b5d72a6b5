//! The working-day calendar for administrators (`/admin/calendar`): the loaded years with
//! their notices, a warning when a year deadlines may reach has none, a year's listed days,
//! and loading a year's file (all-or-nothing, every wrong line named).

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::calendar::{self, LoadedYear};
use jinglao_domain::calendar::{LineError, ListedDay, WorkCalendar, YearCalendar};
use jinglao_domain::clock::format_local;
use serde::Deserialize;

use super::PageCtx;
use crate::auth::CurrentUser;
use crate::auth::can::{PageCan, need};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::request::RequestMeta;
use crate::state::AppState;

/// `GET /admin/calendar`.
#[derive(Template)]
#[template(path = "admin/calendar.html")]
pub struct CalendarPage {
    ctx: PageCtx,
    /// Year, notice, loaded by, loaded at.
    years: Vec<(LoadedYear, String)>,
    missing: Vec<i32>,
    /// The year shown, with its days.
    shown: Option<(i32, Vec<ListedDay>)>,
    /// What was wrong with an upload.
    problems: Vec<LineError>,
    year_input: String,
}

/// `?year=` picks the year to show.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct YearQuery {
    year: Option<i32>,
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    show: Option<i32>,
    problems: Vec<LineError>,
    year_input: String,
) -> Result<CalendarPage, PageError> {
    let mut c = state.db.acquire().await?;
    let loaded = calendar::years(&mut c.conn()).await?;
    // Which years are missing depends only on which are loaded.
    let mut cal = WorkCalendar::weekends_only();
    cal.add_years(loaded.iter().map(|y| y.year));
    let shown_year = show.or_else(|| loaded.first().map(|y| y.year));
    let shown = match shown_year {
        Some(y) if loaded.iter().any(|l| l.year == y) => {
            Some((y, calendar::days(&mut c.conn(), y).await?))
        }
        _ => None,
    };
    Ok(CalendarPage {
        ctx,
        years: loaded
            .into_iter()
            .map(|y| {
                let at = format_local(y.loaded_at);
                (y, at)
            })
            .collect(),
        missing: cal.missing_years(state.today()),
        shown,
        problems,
        year_input,
    })
}

/// `GET /admin/calendar`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(_user, _): PageCan<need::ManageCalendar>,
    Query(q): Query<YearQuery>,
) -> Result<Response, PageError> {
    render(&page(&state, ctx, q.year, Vec::new(), String::new()).await?)
}

/// `POST /admin/calendar` (multipart: `year`, `file`): loads a year's notice, replacing what
/// was loaded for that year.
pub async fn upload(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageCalendar>,
    meta: RequestMeta,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let limit_mb = crate::routes::BODY_LIMIT / 1024 / 1024;
    let mut form = super::upload::read(&mut multipart, "file", "文件", limit_mb).await?;
    let year = form.text("year").chars().take(10).collect::<String>();
    let bytes = form.take_file().map(|(_, b)| b).unwrap_or_default();
    match load_year(&state, &user, &meta, &year, &bytes).await? {
        Ok(y) => Ok(Redirect::to(&format!(
            "/admin/calendar?year={}&notice=calendar_loaded",
            y.year
        ))
        .into_response()),
        Err(problems) => render_with_status(
            &page(&state, ctx, None, problems, year).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

/// The use case behind the page and the API: parse the file for the year and, when every
/// line is right, replace the year in one transaction. Line problems come back for display.
pub(crate) async fn load_year(
    state: &AppState,
    user: &CurrentUser,
    meta: &RequestMeta,
    year: &str,
    bytes: &[u8],
) -> Result<Result<YearCalendar, Vec<LineError>>, AppError> {
    let cal = match YearCalendar::from_upload(year, bytes) {
        Ok(c) => c,
        Err(problems) => return Ok(Err(problems)),
    };
    calendar::replace_year(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(meta),
        &cal,
        state.clock.now(),
    )
    .await?;
    Ok(Ok(cal))
}
