//! The working-day calendar over the API: the loaded years with their listed days (anyone
//! signed in: deadlines are counted on it), and loading a year's notice (administrators; the
//! same use case as `/admin/calendar`).

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use jinglao_db::calendar;
use jinglao_domain::calendar::WorkCalendar;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath};
use crate::auth::ApiUser;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// A listed day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayDto {
    /// The day.
    pub date: NaiveDate,
    /// `holiday` (放假) or `workday` (调休上班).
    pub kind: String,
    /// Its label: 放假 or 上班.
    pub kind_label: String,
    /// The holiday's name.
    pub name: String,
}

/// A loaded year.
#[derive(Debug, Serialize, ToSchema)]
pub struct YearDto {
    /// The year.
    pub year: i32,
    /// The State Council notice it comes from.
    pub source: String,
    /// Who loaded it (`system`: shipped with the platform).
    pub loaded_by: String,
    /// The listed days; days not listed follow the week.
    pub days: Vec<DayDto>,
}

/// The calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDto {
    /// Loaded years, newest first.
    pub years: Vec<YearDto>,
    /// Years a deadline set today may reach that have no notice loaded (counted on weekends
    /// only until one is).
    pub missing_years: Vec<i32>,
}

/// The working-day calendar application deadlines are counted on.
#[utoipa::path(
    get,
    path = "/calendar",
    tag = "calendar",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "已导入的放假安排", body = CalendarDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
    )
)]
pub async fn show_calendar(
    State(state): State<AppState>,
    ApiUser(_user): ApiUser,
) -> Result<Json<CalendarDto>, ApiError> {
    let mut c = state.db.acquire().await?;
    let all = calendar::all_years(&mut c.conn()).await?;
    let mut loaded = WorkCalendar::weekends_only();
    loaded.add_years(all.iter().map(|(y, _)| y.year));
    let years = all
        .into_iter()
        .map(|(y, days)| YearDto {
            year: y.year,
            source: y.source,
            loaded_by: y.loaded_by,
            days: days
                .into_iter()
                .map(|d| DayDto {
                    date: d.date,
                    kind: d.kind.as_str().into(),
                    kind_label: d.kind.label().into(),
                    name: d.name,
                })
                .collect(),
        })
        .collect();
    Ok(Json(CalendarDto {
        years,
        missing_years: loaded.missing_years(state.today()),
    }))
}

/// A year's notice in the file format of `/admin/calendar`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CalendarFile {
    /// UTF-8 CSV: `# notice` line, header `date,kind,name`, one row per listed day.
    #[schema(
        example = "# 国务院办公厅关于2027年部分节假日安排的通知\ndate,kind,name\n2027-01-01,holiday,元旦\n"
    )]
    pub csv: String,
}

/// Load (replace) a year's notice. Every wrong line is named in the error's message and
/// nothing is written.
#[utoipa::path(
    put,
    path = "/calendar/{year}",
    tag = "calendar",
    security(("bearer" = [])),
    params(("year" = i32, Path, description = "年份")),
    request_body = CalendarFile,
    responses(
        (status = 200, description = "已导入", body = CalendarDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "只有系统管理员可以修改", body = ErrorEnvelope),
        (status = 422, description = "文件有问题（逐行列出）", body = ErrorEnvelope),
    )
)]
pub async fn load_calendar_year(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ManageCalendar>,
    meta: RequestMeta,
    ApiPath(year): ApiPath<i32>,
    ApiJson(body): ApiJson<CalendarFile>,
) -> Result<Json<CalendarDto>, ApiError> {
    let loaded = crate::pages::calendar::load_year(
        &state,
        &user,
        &meta,
        &year.to_string(),
        body.csv.as_bytes(),
    )
    .await?;
    if let Err(problems) = loaded {
        let message = problems
            .iter()
            .take(20)
            .map(|p| match p.line {
                0 => p.message.clone(),
                n => format!("第 {n} 行：{}", p.message),
            })
            .collect::<Vec<_>>()
            .join("；");
        return Err(jinglao_domain::Invalid::one("csv", message).into());
    }
    show_calendar(State(state), ApiUser(user)).await
}
