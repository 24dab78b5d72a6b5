//! The caller's notifications and saved filters over the API (the 消息 page's list and its
//! 「已读」, the lists' 常用筛选), and how an older person's family wants to be told things
//! (电话 or 短信), as on the record page.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use jinglao_db::notify;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath};
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// One notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    /// Its id.
    pub id: Uuid,
    /// What it is about: `application_returned`, `deadline_soon` (an application's step falls
    /// due within the days the work page marks red), `deadline_overdue`.
    pub kind: String,
    /// One line.
    pub title: String,
    /// A sentence or two.
    pub body: String,
    /// The page it is about.
    pub link: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When read (null: unread).
    pub read_at: Option<DateTime<Utc>>,
}

/// My notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    /// How many are unread.
    pub unread: i64,
    /// The latest hundred, newest first.
    pub items: Vec<NotificationDto>,
}

/// My notifications, newest first, with the unread count.
#[utoipa::path(
    get,
    path = "/me/notifications",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "我的消息", body = NotificationList),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
    )
)]
pub async fn my_notifications(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<NotificationList>, ApiError> {
    let mut c = state.db.acquire().await?;
    let (rows, unread) = notify::list(&mut c.conn(), user.account.id, 100).await?;
    Ok(Json(NotificationList {
        unread,
        items: rows
            .into_iter()
            .map(|n| NotificationDto {
                id: n.id,
                kind: n.kind,
                title: n.title,
                body: n.body,
                link: n.link,
                created_at: n.created_at,
                read_at: n.read_at,
            })
            .collect(),
    }))
}

/// Which to mark read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// One notification; omitted: all of mine.
    #[serde(default)]
    pub id: Option<Uuid>,
}

/// How many were marked.
#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    /// Notifications marked read now.
    pub marked: u64,
}

/// Mark one or all of my notifications read.
#[utoipa::path(
    post,
    path = "/me/notifications/read",
    tag = "auth",
    security(("bearer" = [])),
    request_body = ReadRequest,
    responses(
        (status = 200, description = "已标为已读", body = Marked),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
    )
)]
pub async fn read_notifications(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(body): ApiJson<ReadRequest>,
) -> Result<Json<Marked>, ApiError> {
    let mut c = state.db.acquire().await?;
    let marked =
        notify::mark_read(&mut c.conn(), user.account.id, body.id, state.clock.now()).await?;
    Ok(Json(Marked { marked }))
}

/// How the family wants to be told things.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyByRequest {
    /// phone (a call; no message is sent) | sms.
    pub notify_by: String,
}

/// Set how an older person's family wants to be told of application results, visit codes and
/// booking changes (a person in my area; SMS needs a phone on record).
#[utoipa::path(
    put,
    path = "/elders/{id}/notify-by",
    tag = "elders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "老年人编号")),
    request_body = NotifyByRequest,
    responses(
        (status = 204, description = "已设置"),
        ScopedRead,
        (status = 422, description = "方式无效，或选短信但档案里没有电话", body = ErrorEnvelope),
    )
)]
pub async fn set_notify_by(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::EditElders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NotifyByRequest>,
) -> Result<axum::http::StatusCode, ApiError> {
    jinglao_db::sms::set_preference(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        &user.scope,
        id,
        body.notify_by.trim(),
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// A saved filter.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedFilterDto {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The list's query (append to the list's address).
    pub query: String,
}

/// Which list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParam {
    /// elders | applications | patrols | facilities.
    pub list: String,
}

fn list_key(list: &str) -> Result<&'static str, ApiError> {
    crate::pages::saved_filters::LISTS
        .iter()
        .map(|(k, _)| *k)
        .find(|k| *k == list.trim())
        .ok_or_else(|| {
            crate::error::AppError::BadRequest {
                message: "list 应为 elders、applications、patrols 或 facilities".into(),
                field: Some("list".into()),
            }
            .into()
        })
}

/// My saved filters of a list.
#[utoipa::path(
    get,
    path = "/me/saved-filters",
    tag = "auth",
    security(("bearer" = [])),
    params(ListParam),
    responses(
        (status = 200, description = "我保存的筛选", body = [SavedFilterDto]),
        (status = 400, description = "列表名无效", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
    )
)]
pub async fn my_saved_filters(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    super::extract::ApiQuery(q): super::extract::ApiQuery<ListParam>,
) -> Result<Json<Vec<SavedFilterDto>>, ApiError> {
    let list = list_key(&q.list)?;
    let mut c = state.db.acquire().await?;
    Ok(Json(
        jinglao_db::saved_filters::of(&mut c.conn(), user.account.id, list)
            .await?
            .into_iter()
            .map(|f| SavedFilterDto {
                id: f.id,
                name: f.name,
                query: f.query,
            })
            .collect(),
    ))
}

/// A filter to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveFilterRequest {
    /// elders | applications | patrols | facilities.
    pub list: String,
    /// Its name (1–30 characters; the same name replaces).
    pub name: String,
    /// The list's query (never an ID or phone number).
    pub query: String,
}

/// Save a filter of a list under a name.
#[utoipa::path(
    post,
    path = "/me/saved-filters",
    tag = "auth",
    security(("bearer" = [])),
    request_body = SaveFilterRequest,
    responses(
        (status = 201, description = "已保存", body = SavedFilterDto),
        (status = 400, description = "列表名无效或条件含身份证号、电话", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 422, description = "名字为空或过长、保存的筛选太多", body = ErrorEnvelope),
    )
)]
pub async fn save_filter(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(body): ApiJson<SaveFilterRequest>,
) -> Result<(axum::http::StatusCode, Json<SavedFilterDto>), ApiError> {
    let list = list_key(&body.list)?;
    let query = body.query.trim().trim_start_matches('?').to_string();
    if form_urlencoded::parse(query.as_bytes())
        .any(|(k, v)| k == "q" && jinglao_db::elder_search::classify(&v).is_identifier())
    {
        return Err(crate::error::AppError::BadRequest {
            message: "按身份证号或电话查找的条件不能保存".into(),
            field: Some("query".into()),
        }
        .into());
    }
    let mut c = state.db.acquire().await?;
    let id = jinglao_db::saved_filters::save(
        &mut c.conn(),
        user.account.id,
        list,
        &body.name,
        &query,
        state.clock.now(),
    )
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(SavedFilterDto {
            id,
            name: body.name.trim().to_string(),
            query,
        }),
    ))
}

/// Delete one of my saved filters.
#[utoipa::path(
    delete,
    path = "/me/saved-filters/{id}",
    tag = "auth",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "筛选编号")),
    responses(
        (status = 204, description = "已删除"),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 404, description = "没有这个筛选", body = ErrorEnvelope),
    )
)]
pub async fn delete_filter(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::http::StatusCode, ApiError> {
    let mut c = state.db.acquire().await?;
    jinglao_db::saved_filters::delete(&mut c.conn(), user.account.id, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
