//! Booking home services for one person (预约居家服务): a single order, or a weekly plan that
//! books the next two weeks and is topped up each night; the person's recent orders and
//! plans, and ending a plan with a reason. Community staff book for people in their area (also
//! on a phone call, marked so); a provider books for its own services.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime};
use jinglao_db::orders::{self, Channel, ListFilter, Listed, NewOrder};
use jinglao_db::plans::{self, NewPlan, Plan};
use jinglao_db::{DbError, elders};
use jinglao_domain::clock::{china_date, china_time, format_local_hm as hhmm};
use jinglao_domain::order::Funding;
use jinglao_domain::service_plan::Weekdays;
use jinglao_domain::settlement::yuan;
use jinglao_domain::{Invalid, Scope};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::orders::status_label;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::orders::{self as usecase, may_book};
use crate::usecase::home_services::plans as plan_usecase;

/// The booking forms (one struct for both; the plan form adds weekdays and dates).
#[derive(Debug, Default)]
pub struct BookForm {
    offer: String,
    funding: String,
    day: String,
    start: String,
    latest: String,
    minutes: String,
    by_phone: String,
    weekdays: Vec<u32>,
    start_on: String,
    end_on: String,
}

impl BookForm {
    /// From the posted pairs (weekdays repeat: `weekday=1&weekday=3`).
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        BookForm {
            offer: get("offer"),
            funding: get("funding"),
            day: get("day"),
            start: Some(get("start"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| get("start_time")),
            latest: get("latest"),
            minutes: Some(get("minutes"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| get("plan_minutes")),
            by_phone: get("by_phone"),
            weekdays: pairs
                .iter()
                .filter(|(k, _)| k == "weekday")
                .filter_map(|(_, v)| v.trim().parse().ok())
                .collect(),
            start_on: get("start_on"),
            end_on: get("end_on"),
        }
    }

    fn has_day(&self, d: &u32) -> bool {
        self.weekdays.contains(d)
    }
}

/// `GET /elders/{id}/orders/new`.
#[derive(Template)]
#[template(path = "orders/new.html")]
pub struct BookPage {
    ctx: PageCtx,
    errors: FormErrors,
    elder_id: Uuid,
    elder_name: String,
    offers: Vec<(String, String)>,
    form: BookForm,
    orders: Vec<(Listed, String, &'static str)>,
    plans: Vec<(Plan, String)>,
    weekday_names: [(u32, &'static str); 7],
    /// Item names by code.
    names: jinglao_domain::service_list::ItemNames,
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    elder_id: Uuid,
    form: BookForm,
    errors: FormErrors,
) -> Result<BookPage, PageError> {
    let today = china_date(state.clock.now());
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let elder = elders::get(&mut conn, &user.scope, elder_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let names = jinglao_db::service_lists::item_names(&mut conn).await?;
    let offers = orders::offers(&mut conn, &user.scope, today)
        .await?
        .into_iter()
        .map(|(p, name, item, fen)| {
            let label = format!("{name} — {}（{} 元/次）", names.name(&item), yuan(fen));
            (format!("{p}|{item}"), label)
        })
        .collect();
    // The last 30 of the orders around today (a plan books up to 14 days ahead), asked of the
    // database by day: a person's first orders, oldest first, would hide recent ones once a
    // daily plan has run for years.
    let filter = ListFilter {
        elder_id: Some(elder_id),
        days: Some((
            today - chrono::Duration::days(90),
            today + chrono::Duration::days(31),
        )),
        ..Default::default()
    };
    let mut listed = orders::list(&mut conn, &user.scope, &filter, 1000).await?;
    listed.reverse();
    listed.truncate(30);
    let orders = listed
        .into_iter()
        .map(|o| {
            let when = format!("{} {}", china_date(o.window_start), hhmm(o.window_start));
            let status = status_label(&o.status);
            (o, when, status)
        })
        .collect();
    let plans = plans::of_elder(&mut conn, &user.scope, elder_id)
        .await?
        .into_iter()
        .map(|p| {
            let s = p.schedule_label();
            (p, s)
        })
        .collect();
    Ok(BookPage {
        ctx: ctx.with_errors(&errors),
        errors,
        elder_id,
        elder_name: elder.name,
        offers,
        form,
        orders,
        plans,
        weekday_names: [
            (1, "周一"),
            (2, "周二"),
            (3, "周三"),
            (4, "周四"),
            (5, "周五"),
            (6, "周六"),
            (7, "周日"),
        ],
        names,
    })
}

fn elder_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)
}

/// `GET /elders/{id}/orders/new`
pub async fn new_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    may_book(&user)?;
    let form = BookForm {
        minutes: "60".into(),
        funding: "entitlement".into(),
        ..Default::default()
    };
    render(&page(&state, ctx, &user, elder_id(&id)?, form, FormErrors::new()).await?)
}

/// The parts both forms share, parsed; field errors gathered in `inv`.
struct Common {
    provider: Uuid,
    item: String,
    funding: Option<Funding>,
    minutes: Option<i64>,
    channel: Channel,
}

fn common(user: &CurrentUser, f: &BookForm, inv: &mut Invalid) -> Common {
    let (provider, item) = match f.offer.split_once('|') {
        Some((p, i)) => (Uuid::parse_str(p).unwrap_or(Uuid::nil()), i.to_string()),
        None => (Uuid::nil(), String::new()),
    };
    if provider.is_nil() || item.is_empty() {
        inv.add("offer", "请选择服务机构和项目");
    }
    let channel = if matches!(user.scope, Scope::Provider { .. }) {
        Channel::Provider
    } else if f.by_phone == "yes" {
        Channel::Phone
    } else {
        Channel::Staff
    };
    Common {
        provider,
        item,
        funding: Funding::parse(f.funding.trim()),
        minutes: f.minutes.trim().parse().ok(),
        channel,
    }
}

fn time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

async fn answer(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    elder: Uuid,
    form: BookForm,
    result: Result<&'static str, DbError>,
) -> Result<Response, PageError> {
    match result {
        Ok(notice) => Ok(
            Redirect::to(&format!("/elders/{elder}/orders/new?notice={notice}")).into_response(),
        ),
        Err(DbError::Invalid(errors)) => {
            let page = page(state, ctx, user, elder, form, errors).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /elders/{id}/orders`
pub async fn place(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    may_book(&user)?;
    let form = BookForm::from_pairs(&pairs);
    let elder = elder_id(&id)?;
    let mut inv = Invalid::new();
    let c = common(&user, &form, &mut inv);
    let day = date(&form.day);
    if day.is_none() {
        inv.add("day", "请填写服务日期，例如 2026-12-01");
    }
    let start = day.zip(time(&form.start)).map(|(d, t)| china_time(d, t));
    if day.is_some() && start.is_none() {
        inv.add("start", "请填写开始时间，例如 09:00");
    }
    let latest = match form.latest.trim() {
        "" => None,
        s => match day.zip(time(s)).map(|(d, t)| china_time(d, t)) {
            Some(t) => Some(t),
            None => {
                inv.add("latest", "最晚开始时间的格式应为 时:分，例如 11:00");
                None
            }
        },
    };
    let result = if !inv.is_empty() {
        Err(DbError::Invalid(inv))
    } else {
        let o = NewOrder {
            elder_id: elder,
            provider_id: c.provider,
            item_code: &c.item,
            funding: c.funding,
            window_start: start,
            latest_start: latest,
            minutes: c.minutes,
            channel: c.channel,
        };
        let acting = Acting::new(&state, user.clone(), &meta);
        usecase::book(&state, &acting, &o)
            .await
            .map(|_| "order_placed")
    };
    answer(&state, ctx, &user, elder, form, result).await
}

/// `POST /elders/{id}/plans`
pub async fn create_plan(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    may_book(&user)?;
    let form = BookForm::from_pairs(&pairs);
    let elder = elder_id(&id)?;
    let mut inv = Invalid::new();
    let c = common(&user, &form, &mut inv);
    let end_on = match form.end_on.trim() {
        "" => None,
        s => {
            let d = date(s);
            if d.is_none() {
                inv.add("end_on", "结束日期的格式应为 年-月-日");
            }
            d
        }
    };
    let result = if !inv.is_empty() {
        Err(DbError::Invalid(inv))
    } else {
        let p = NewPlan {
            elder_id: elder,
            provider_id: c.provider,
            item_code: &c.item,
            funding: c.funding,
            weekdays: Weekdays::from_days(&form.weekdays),
            start_time: time(&form.start),
            minutes: c.minutes,
            start_on: date(&form.start_on),
            end_on,
            channel: c.channel,
        };
        let acting = Acting::new(&state, user.clone(), &meta);
        plan_usecase::create(&state, &acting, &p)
            .await
            .map(|_| "plan_created")
    };
    answer(&state, ctx, &user, elder, form, result).await
}

/// The end-plan form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndPlanForm {
    reason: String,
}

/// `POST /plans/{id}/end`
pub async fn end_plan(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<EndPlanForm>,
) -> Result<Response, PageError> {
    may_book(&user)?;
    let elder = plan_usecase::get(&state, &user, id).await?.elder_id;
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = plan_usecase::end(&state, &acting, id, &form.reason)
        .await
        .map(|_| "plan_ended");
    answer(&state, ctx, &user, elder, BookForm::default(), result).await
}
