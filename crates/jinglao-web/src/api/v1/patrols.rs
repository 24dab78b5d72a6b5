//! Regular patrols (巡访关爱) over the API: the due list of the caller's area (cursor-paged,
//! overdue first) and recording a patrol visit. Same scope and checks as the patrol pages;
//! recording accepts an `Idempotency-Key`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use jinglao_db::patrols::{self, DuePosition, NewVisit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::idempotency::{IdempotencyKey, once};
use super::paging;
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::patrols as usecase;

/// Filters of the due list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// Only people living within this region (narrows my area, never widens it).
    pub under: Option<String>,
    /// Also those falling due within this many days (0–31, default 0: due or overdue today).
    pub within: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (1–500, default 100).
    pub limit: Option<i64>,
}

/// One person on the due list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueDto {
    /// The person.
    pub elder_id: Uuid,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Residence (village/community code).
    pub region_code: String,
    /// weekly | monthly.
    pub frequency: String,
    /// Why the person is visited.
    pub reason: String,
    /// community_staff | social_worker | volunteer.
    pub visitor_kind: String,
    /// The visitor kind in words.
    pub visitor_label: String,
    /// The assigned visitor.
    pub visitor_name: String,
    /// The last visit that met the person.
    pub last_visit_on: Option<NaiveDate>,
    /// When the next visit is due.
    pub due_on: Option<NaiveDate>,
    /// Days overdue today (absent when not overdue).
    pub overdue_days: Option<i64>,
}

/// A page of the due list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueList {
    /// The whole list's size (all pages).
    pub total: i64,
    /// Overdue first, then by residence and name.
    pub items: Vec<DueDto>,
    /// Send as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// People in my area whose regular visit is due.
#[utoipa::path(
    get,
    path = "/patrols/due",
    tag = "home-services",
    security(("bearer" = [])),
    params(DueQuery),
    responses(
        (status = 200, description = "应访名单（逾期在前，分页）", body = DueList),
        (status = 400, description = "参数无效（指明参数）", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看巡访名单", body = ErrorEnvelope),
    )
)]
pub async fn list_due(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> Result<axum::Json<DueList>, ApiError> {
    let limit = paging::limit(q.limit)?;
    let under = paging::region(q.under.as_deref(), "under")?;
    let within = q.within.unwrap_or(0);
    if !(0..=31).contains(&within) {
        return Err(AppError::BadRequest {
            message: "within 应为 0 至 31 天".into(),
            field: Some("within".into()),
        }
        .into());
    }
    let after: Option<DuePosition> = paging::decode(q.cursor.as_deref())?;
    let (rows, total) = usecase::due(
        &state,
        &user,
        under.as_ref(),
        within,
        after.as_ref(),
        (limit + 1, 0),
    )
    .await?;
    let (rows, next_cursor) = paging::page(rows, limit, |r| {
        (
            r.due_on.unwrap_or_default(),
            r.region_code.clone(),
            r.name.clone(),
            r.elder_id,
        )
    });
    let today = state.today();
    Ok(axum::Json(DueList {
        total,
        items: rows
            .into_iter()
            .map(|r| DueDto {
                overdue_days: r.overdue(today),
                visitor_label: patrols::visitor_label(&r.visitor_kind).into(),
                elder_id: r.elder_id,
                name: r.name,
                address: r.address,
                region_code: r.region_code,
                frequency: r.frequency,
                reason: r.reason,
                visitor_kind: r.visitor_kind,
                visitor_name: r.visitor_name,
                last_visit_on: r.last_visit_on,
                due_on: r.due_on,
            })
            .collect(),
        next_cursor,
    }))
}

/// A patrol visit as recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatrolVisitRequest {
    /// The day of the visit (ISO date; today or up to 31 days back).
    pub visited_on: NaiveDate,
    /// community_staff | social_worker | volunteer.
    pub visitor_kind: String,
    /// Who visited.
    pub visitor_name: String,
    /// Whether the person was met (false: nobody home; the visit does not count).
    pub met: bool,
    /// ok | risk.
    pub safety: String,
    /// stable | changed | ill.
    pub health: String,
    /// Needs found.
    #[serde(default)]
    pub needs: String,
    /// Notes (at most 1,000 characters).
    #[serde(default)]
    pub notes: String,
    /// none | service | alarm.
    pub referral: String,
    /// What was done (required with a safety risk or a referral).
    #[serde(default)]
    pub referral_note: String,
}

/// The recorded visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatrolVisitDto {
    /// Its id.
    pub visit_id: Uuid,
}

/// Record a patrol visit to a person in my area; the next visit falls due from it.
#[utoipa::path(
    post,
    path = "/elders/{id}/patrols",
    tag = "home-services",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "老年人编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = PatrolVisitRequest,
    responses(
        (status = 201, description = "已记录", body = PatrolVisitDto),
        ScopedRead,
        (status = 422, description = "日期、巡访人或处理情况有误（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn record_patrol(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PatrolVisitRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/elders/{id}/patrols");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let visit = NewVisit {
                elder_id: id,
                visited_on: Some(body.visited_on),
                visitor_kind: body.visitor_kind.trim(),
                visitor_name: &body.visitor_name,
                met: body.met,
                safety: body.safety.trim(),
                health: body.health.trim(),
                needs: &body.needs,
                notes: &body.notes,
                referral: body.referral.trim(),
                referral_note: &body.referral_note,
            };
            let visit_id = usecase::record(&state, &acting, &visit).await?;
            Ok((StatusCode::CREATED, PatrolVisitDto { visit_id }))
        },
    )
    .await
}

/// What a refresh changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshedDto {
    /// People on the list after the refresh.
    pub listed: usize,
    /// Newly listed.
    pub added: usize,
    /// Frequency or reason changed.
    pub changed: usize,
    /// Taken off (no longer qualifying, died or moved away).
    pub ended: usize,
}

/// Bring my area's patrol list up to date with today's registry and the region's rules.
#[utoipa::path(
    post,
    path = "/patrols/refresh",
    tag = "home-services",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "名单已更新", body = RefreshedDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权更新巡访名单", body = ErrorEnvelope),
    )
)]
pub async fn refresh_patrols(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
) -> Result<axum::Json<RefreshedDto>, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let r = usecase::refresh(&state, &acting).await?;
    Ok(axum::Json(RefreshedDto {
        listed: r.listed,
        added: r.added,
        changed: r.changed,
        ended: r.ended,
    }))
}

/// One regular visitor for several people on my list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignVisitorRequest {
    /// The people (at most 500); all must be on my area's list, or nothing changes.
    pub elder_ids: Vec<Uuid>,
    /// community_staff | social_worker | volunteer.
    pub visitor_kind: String,
    /// The visitor's name.
    pub visitor_name: String,
}

/// How many plans changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignedDto {
    /// Plans whose visitor changed (the same visitor again is no change).
    pub changed: u64,
}

/// Assign one regular visitor to several people on my list, all or none.
#[utoipa::path(
    post,
    path = "/patrols/visitor",
    tag = "home-services",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果")),
    request_body = AssignVisitorRequest,
    responses(
        (status = 200, description = "已安排", body = AssignedDto),
        ScopedRead,
        (status = 422, description = "人员类别、姓名或名单有误（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn assign_visitor(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<AssignVisitorRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    once(
        state,
        acting,
        key,
        "POST /api/v1/patrols/visitor".to_string(),
        body,
        move |state, acting, body| async move {
            let changed = usecase::assign_visitor(
                &state,
                &acting,
                &body.elder_ids,
                body.visitor_kind.trim(),
                &body.visitor_name,
            )
            .await?;
            Ok((StatusCode::OK, AssignedDto { changed }))
        },
    )
    .await
}
