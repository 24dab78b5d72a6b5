//! The day's orders and dispatch (工单与派单): one day's orders in scope, by time; for one
//! provider its caregivers with their day (default hours, a shift, or leave) and load, an
//! auto-dispatch button, a manual override per order, cancel / no-show with a reason, and a
//! satisfaction score logged from a follow-up phone call once the visit is done.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jinglao_db::dispatch::{self, BoardCaregiver, DayEntry, Report};
use jinglao_db::orders::{self, Ending, ListFilter, Listed};
use jinglao_db::{DbError, providers, satisfaction};
use jinglao_domain::clock::{china_date, format_local_hm as hhmm};
use jinglao_domain::order::Funding;
use jinglao_domain::{Invalid, Permission, Scope};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::orders as usecase;

pub use crate::usecase::home_services::orders::{may_view, status_label};

/// Filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BoardQuery {
    day: String,
    provider: String,
    unassigned: String,
}

impl Board {
    /// A caregiver's own hours of the day, `08:30–17:30` (Beijing time).
    pub fn shift_hours(&self, c: &BoardCaregiver) -> String {
        match (c.starts_at, c.ends_at) {
            (Some(a), Some(z)) => format!("{}–{}", hhmm(a), hhmm(z)),
            _ => String::new(),
        }
    }
}

/// One order, formatted.
pub struct OrderRow {
    o: Listed,
    /// The item's name.
    item: String,
    window: String,
    planned: String,
    funding: &'static str,
    status: &'static str,
    open: bool,
}

/// A dispatch run, in words.
pub struct ReportView {
    assigned: usize,
    left: Vec<(String, String)>,
}

/// `GET /orders`.
#[derive(Template)]
#[template(path = "orders/index.html")]
pub struct Board {
    ctx: PageCtx,
    errors: FormErrors,
    day: String,
    providers: Vec<(Uuid, String)>,
    provider: Option<Uuid>,
    provider_fixed: bool,
    unassigned: bool,
    rows: Vec<OrderRow>,
    caregivers: Vec<BoardCaregiver>,
    can_manage: bool,
    can_rate: bool,
    report: Option<ReportView>,
}

fn parse_day(s: &str, today: NaiveDate) -> NaiveDate {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").unwrap_or(today)
}

fn provider_of(user: &CurrentUser, asked: &str) -> Option<Uuid> {
    user.scope
        .provider_id()
        .or_else(|| Uuid::parse_str(asked.trim()).ok())
}

async fn board(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    q: &BoardQuery,
    errors: FormErrors,
    report: Option<Report>,
) -> Result<Board, PageError> {
    let day = parse_day(&q.day, china_date(state.clock.now()));
    let provider = provider_of(user, &q.provider);
    let unassigned = q.unassigned == "yes";
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let filter = ListFilter {
        day: Some(day),
        provider_id: provider,
        unassigned,
        ..Default::default()
    };
    let listed = orders::list(&mut conn, &user.scope, &filter, 500).await?;
    let names = jinglao_db::service_lists::item_names(&mut conn).await?;
    // The caregivers' day only for those who dispatch for the provider.
    let caregivers = match provider {
        Some(p) => match dispatch::board(&mut conn, &user.reader(), p, day).await {
            Err(DbError::NotFound) => Vec::new(),
            other => other?,
        },
        None => Vec::new(),
    };
    let providers = providers::list(&mut conn, &user.scope)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let report = report.map(|r| {
        let name_of = |id: Uuid| {
            listed
                .iter()
                .find(|o| o.id == id)
                .map(|o| {
                    format!(
                        "{} {} {}",
                        hhmm(o.window_start),
                        o.elder_name,
                        names.name(&o.item_code)
                    )
                })
                .unwrap_or_else(|| id.to_string())
        };
        ReportView {
            assigned: r.assigned.len(),
            left: r
                .left
                .iter()
                .map(|(id, why)| (name_of(*id), why.clone()))
                .collect(),
        }
    });
    let rows = listed
        .into_iter()
        .map(|o| OrderRow {
            window: if o.window_end - o.window_start
                > chrono::Duration::minutes(i64::from(o.minutes))
            {
                format!(
                    "{}–{} 之间开始",
                    hhmm(o.window_start),
                    hhmm(o.window_end - chrono::Duration::minutes(i64::from(o.minutes)))
                )
            } else {
                format!("{}–{}", hhmm(o.window_start), hhmm(o.window_end))
            },
            planned: o.planned_at.map(hhmm).unwrap_or_default(),
            funding: Funding::parse(&o.funding).map_or("未知", |f| f.label()),
            status: crate::usecase::home_services::orders::shown_status(&o),
            open: o.status == "booked" && o.visit_id.is_none(),
            item: names.name(&o.item_code).to_string(),
            o,
        })
        .collect();
    Ok(Board {
        ctx: ctx.with_errors(&errors),
        errors,
        day: day.to_string(),
        providers,
        provider,
        provider_fixed: matches!(user.scope, Scope::Provider { .. }),
        unassigned,
        rows,
        caregivers,
        can_manage: user.can(Permission::ManageFacilities),
        can_rate: user.can(Permission::EditElders),
        report,
    })
}

/// `GET /orders`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<BoardQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    render(&board(&state, ctx, &user, &q, FormErrors::new(), None).await?)
}

/// Where a board form returns to.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BackTo {
    day: String,
    provider_id: String,
}

impl BackTo {
    fn query(&self) -> BoardQuery {
        BoardQuery {
            day: self.day.clone(),
            provider: self.provider_id.clone(),
            unassigned: String::new(),
        }
    }

    fn url(&self, notice: &str) -> String {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("day", self.day.trim())
            .append_pair("provider", self.provider_id.trim())
            .append_pair("notice", notice)
            .finish();
        format!("/orders?{q}")
    }
}

/// Shows the board again with `e`'s field errors, or passes other errors on.
async fn again(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    back: &BackTo,
    e: DbError,
) -> Result<Response, PageError> {
    match e {
        DbError::Invalid(errors) => {
            let page = board(state, ctx, user, &back.query(), errors, None).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        e => Err(AppError::from(e).into()),
    }
}

/// `POST /orders/dispatch`
pub async fn auto_dispatch(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    Form(back): Form<BackTo>,
) -> Result<Response, PageError> {
    let Some(provider) = provider_of(&user, &back.provider_id) else {
        let e = DbError::Invalid(Invalid::one("provider_id", "请先选择服务机构"));
        return again(&state, ctx, &user, &back, e).await;
    };
    let day = parse_day(&back.day, china_date(state.clock.now()));
    let acting = Acting::new(&state, user.clone(), &meta);
    match usecase::auto_dispatch(&state, &acting, provider, day).await {
        Ok(report) => {
            let page = board(
                &state,
                ctx,
                &user,
                &back.query(),
                FormErrors::new(),
                Some(report),
            )
            .await?;
            render(&page)
        }
        Err(e) => again(&state, ctx, &user, &back, e).await,
    }
}

/// The manual assignment form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignForm {
    caregiver_id: String,
    #[serde(flatten)]
    back: BackTo,
}

/// `POST /orders/{id}/assign`
pub async fn assign(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<AssignForm>,
) -> Result<Response, PageError> {
    let result = match Uuid::parse_str(form.caregiver_id.trim()) {
        Ok(staff) => {
            let acting = Acting::new(&state, user.clone(), &meta);
            usecase::assign(&state, &acting, id, staff).await
        }
        Err(_) => Err(DbError::Invalid(Invalid::one(
            "caregiver_id",
            "请选择护理员",
        ))),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&form.back.url("order_assigned")).into_response()),
        Err(e) => again(&state, ctx, &user, &form.back, e).await,
    }
}

/// The cancel / no-show form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndForm {
    how: String,
    reason: String,
    #[serde(flatten)]
    back: BackTo,
}

/// `POST /orders/{id}/end`
pub async fn end(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<EndForm>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let how = match form.how.as_str() {
        "no_show" => Ending::NoShow,
        _ => Ending::Cancelled,
    };
    let acting = Acting::new(&state, user.clone(), &meta);
    match usecase::end(&state, &acting, id, how, &form.reason).await {
        Ok(()) => Ok(Redirect::to(&form.back.url("order_ended")).into_response()),
        Err(DbError::Forbidden(_)) => Err(AppError::forbidden().into()),
        Err(e) => again(&state, ctx, &user, &form.back, e).await,
    }
}

/// A caregiver's day as entered on the board.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DayForm {
    kind: String,
    reason: String,
    /// A shift's hours (`08:30`), Beijing time.
    starts_at: String,
    ends_at: String,
    #[serde(flatten)]
    back: BackTo,
}

/// `POST /orders/caregivers/{staff}/day`: leave (the day's orders are dispatched again at
/// once, and the result shown), the day's own hours (a shift), or back to the default hours.
pub async fn caregiver_day(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    Path(staff): Path<String>,
    Form(form): Form<DayForm>,
) -> Result<Response, PageError> {
    let staff = Uuid::parse_str(staff.trim()).map_err(|_| AppError::NotFound)?;
    let provider = provider_of(&user, &form.back.provider_id).ok_or(AppError::NotFound)?;
    let day = parse_day(&form.back.day, china_date(state.clock.now()));
    let entry = match form.kind.as_str() {
        "leave" => DayEntry::Leave(form.reason.clone()),
        "shift" => {
            let at = |s: &str| {
                chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M")
                    .ok()
                    .map(|t| jinglao_domain::clock::china_time(day, t))
            };
            match (at(&form.starts_at), at(&form.ends_at)) {
                (Some(a), Some(z)) => DayEntry::Shift(a, z),
                (None, _) => {
                    let e = Invalid::one("starts_at", "请填写上班时间，例如 08:30");
                    return again(&state, ctx, &user, &form.back, e.into()).await;
                }
                (_, None) => {
                    let e = Invalid::one("ends_at", "请填写下班时间，例如 17:30");
                    return again(&state, ctx, &user, &form.back, e.into()).await;
                }
            }
        }
        _ => DayEntry::Default,
    };
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let actor = user.actor(&meta);
    match dispatch::set_day(
        &jinglao_db::WriteCtx::new(db, key, &actor, state.clock.now()),
        provider,
        staff,
        day,
        &entry,
    )
    .await
    {
        Ok(Some(report)) => {
            let page = board(
                &state,
                ctx,
                &user,
                &form.back.query(),
                FormErrors::new(),
                Some(report),
            )
            .await?;
            render(&page)
        }
        Ok(None) => Ok(Redirect::to(&form.back.url("saved")).into_response()),
        Err(e) => again(&state, ctx, &user, &form.back, e).await,
    }
}

/// A score logged from a follow-up call.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RatingForm {
    score: String,
    comment: String,
    #[serde(flatten)]
    back: BackTo,
}

/// `POST /visits/{id}/rating`
pub async fn rate_by_phone(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::EditElders>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<RatingForm>,
) -> Result<Response, PageError> {
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let score = form.score.trim().parse().ok();
    let channel = satisfaction::Channel::Phone;
    match satisfaction::rate(
        &jinglao_db::WriteCtx::new(db, key, &user.actor(&meta), state.clock.now()),
        id,
        score,
        &form.comment,
        channel,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&form.back.url("rated")).into_response()),
        Err(e) => again(&state, ctx, &user, &form.back, e).await,
    }
}
