//! The caregiver's phone pages (护理员手机端): today's visits in time order, each with the
//! address and a map link, and check-in and check-out forms. No app to install and no script
//! needed: a small script adds the phone's position and clock to the forms when the browser
//! allows it; without it the server's time is used and the missing position sends the visit to
//! the exception queue, never silently accepted.
//!
//! Each check-in form carries a visit id chosen when the page was drawn, so pressing 签到 twice
//! (or again after a timeout) is the same visit.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use jinglao_db::DbError;
use jinglao_db::visit_queue::Who;
use jinglao_db::visits::{Caregiver, CheckIn, CheckOut, StampInput};
use jinglao_domain::Invalid;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::PageUser;
use crate::error::{AppError, PageError, render};
use crate::pages::answer_form;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::home_services::day::{DayVisit, caregiver, caregiver_day};

/// One visit on the list: the day's visit and a fresh id for its check-in form.
pub struct Row {
    /// The visit as the use case gives it.
    v: DayVisit,
    /// A fresh id for the check-in form.
    new_visit_id: Uuid,
}

impl std::ops::Deref for Row {
    type Target = DayVisit;
    fn deref(&self) -> &DayVisit {
        &self.v
    }
}

/// `GET /my/visits`.
#[derive(Template)]
#[template(path = "my_visits/index.html")]
pub struct MyVisitsPage {
    ctx: PageCtx,
    errors: FormErrors,
    /// For the check-out form kept for offline use, which never shows an error.
    no_errors: FormErrors,
    day: String,
    rows: Vec<Row>,
    /// The caregiver's staff id: records kept on the phone while offline are sent only by the
    /// caregiver who made them.
    caregiver: Uuid,
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    me: Caregiver,
    errors: FormErrors,
) -> Result<MyVisitsPage, PageError> {
    let day = state.today();
    let rows = caregiver_day(state, me, day)
        .await?
        .into_iter()
        .map(|v| Row {
            v,
            new_visit_id: Uuid::now_v7(),
        })
        .collect();
    Ok(MyVisitsPage {
        ctx: ctx.with_errors(&errors),
        errors,
        no_errors: FormErrors::new(),
        day: day.to_string(),
        rows,
        caregiver: me.staff_id,
    })
}

/// `GET /my/visits`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let me = caregiver(&state, user.account.id).await?;
    render(&page(&state, ctx, me, FormErrors::new()).await?)
}

/// What the forms send (position and phone time are filled in by the script when allowed).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StampForm {
    visit_id: String,
    device_at: String,
    lat: String,
    lon: String,
    code: String,
    notes: String,
    /// The person's signature drawn on the check-out form (a PNG data URL), if any.
    signature: String,
    /// `1` when the phone recorded this without a connection and sends it later: the phone's
    /// time is then the time of the stamp, and the visit is flagged (late if synced late).
    offline: String,
    /// `yes` once the caregiver has confirmed ending a visit early.
    confirm_short: String,
}

impl StampForm {
    /// The stamp; an empty phone time is the server's (a page without the script). A record
    /// made offline must carry the phone's time.
    fn stamp(&self, now: DateTime<Utc>) -> Result<StampInput, Invalid> {
        let offline = matches!(self.offline.trim(), "1" | "true");
        let device_at = match self.device_at.trim() {
            "" if offline => {
                return Err(Invalid::one("device_at", "离线记录缺少手机时间，无法上传"));
            }
            "" => now,
            t => DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| Invalid::one("device_at", "手机时间格式无效，请刷新页面后重试"))?,
        };
        let number = |s: &str| s.trim().parse::<f64>().ok();
        Ok(StampInput {
            device_at: Some(device_at),
            lat: number(&self.lat),
            lon: number(&self.lon),
            offline,
        })
    }
}

async fn answer(
    state: &AppState,
    ctx: PageCtx,
    me: Caregiver,
    result: Result<&'static str, DbError>,
) -> Result<Response, PageError> {
    answer_form(
        result,
        |notice| format!("/my/visits?notice={notice}"),
        async |errors| page(state, ctx, me, errors).await,
    )
    .await
}

fn parse_uuid(s: &str, field: &str) -> Result<Uuid, DbError> {
    Uuid::parse_str(s.trim()).map_err(|_| Invalid::one(field, "编号无效，请刷新页面后重试").into())
}

/// `POST /my/visits/{order}/check-in`
pub async fn check_in(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(order): Path<String>,
    Form(form): Form<StampForm>,
) -> Result<Response, PageError> {
    let me = caregiver(&state, user.account.id).await?;
    let now = state.clock.now();
    let result = async {
        let ci = CheckIn {
            visit_id: parse_uuid(&form.visit_id, "visit_id")?,
            order_id: parse_uuid(&order, "order_id")?,
            stamp: form.stamp(now)?,
        };
        state
            .visit_queue
            .check_in(&user.actor(&meta), Who::Caregiver(me), &ci, now)
            .await?;
        Ok("checked_in")
    }
    .await;
    answer(&state, ctx, me, result).await
}

/// `POST /my/visits/{visit}/check-out`
pub async fn check_out(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(visit): Path<String>,
    Form(form): Form<StampForm>,
) -> Result<Response, PageError> {
    let me = caregiver(&state, user.account.id).await?;
    let now = state.clock.now();
    let result = async {
        let visit_id = parse_uuid(&visit, "visit_id")?;
        let co = CheckOut {
            visit_id,
            stamp: form.stamp(now)?,
            code: Some(form.code.clone()),
            signature: crate::api::v1::visits::sealed_signature(
                &state,
                visit_id,
                &form.signature,
                "signature",
            )?,
            tasks: String::new(),
            notes: form.notes.clone(),
            warn_short: form.confirm_short.trim() != "yes",
        };
        let out = state
            .visit_queue
            .check_out(&user.actor(&meta), Who::Caregiver(me), &co, now)
            .await?;
        Ok(if out.status == "verified" {
            "checked_out"
        } else {
            "checked_out_exception"
        })
    }
    .await;
    answer(&state, ctx, me, result).await
}

/// The person's rating, given on the caregiver's phone after check-out.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RatingForm {
    score: String,
    comment: String,
}

/// `POST /my/visits/{visit}/rating`
pub async fn rate(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(visit): Path<String>,
    Form(form): Form<RatingForm>,
) -> Result<Response, PageError> {
    let me = caregiver(&state, user.account.id).await?;
    let id = Uuid::parse_str(visit.trim()).map_err(|_| AppError::NotFound)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let score = form.score.trim().parse().ok();
    let channel = jinglao_db::satisfaction::Channel::Confirmation;
    let actor = user.actor(&meta);
    answer_form(
        jinglao_db::satisfaction::rate(
            &jinglao_db::WriteCtx::new(db, key, &actor, state.clock.now()),
            id,
            score,
            &form.comment,
            channel,
        )
        .await,
        |_| "/my/visits?notice=rated".to_string(),
        async |errors| page(&state, ctx, me, errors).await,
    )
    .await
}
