//! The registry over the API: `GET /elders` (search, one page at a time) and
//! `GET /elders/{id}` (one record; every read is in the audit trail). ID and phone numbers are
//! always masked here; full numbers are shown only on the record page, to roles that need them,
//! one audited reveal at a time.

use axum::Json;
use axum::extract::State;
use jinglao_db::elder_search::{self, ElderFilter, ElderSummary, Position};
use jinglao_db::elders;
use jinglao_domain::Permission;
use jinglao_domain::category::categories_on;
use jinglao_domain::elder::ElderRecord;
use jinglao_domain::policy::PolicyKey;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::auth::can::{ApiCan, need};
use crate::elder_query::{SearchParams, categories_today, filter_for};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Search parameters (`GET /elders` takes them in the query, `POST /elders/search` as JSON).
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ElderSearch {
    /// A name (prefix), a full resident ID number, a phone number, or the last four
    /// characters of either ("尾号", e.g. `1234` or `123X`).
    #[serde(default)]
    q: String,
    /// Region code: residents of its subtree (within your scope).
    #[serde(default)]
    region: String,
    /// Category label, recorded (低保, 空巢 …) or derived (高龄, 失能, 半失能).
    #[serde(default)]
    category: String,
    /// Ability level of the latest effective assessment: 0–4 or its label.
    #[serde(default)]
    ability: String,
    /// `active` (default), `moved_out`, `deceased`, or `all`.
    #[serde(default)]
    status: String,
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
    /// Cursor from the previous page's `next`.
    after_name: Option<String>,
    /// Cursor from the previous page's `next`.
    after_id: Option<Uuid>,
}

/// A search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ElderSummaryDto {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Resident ID number, masked.
    #[schema(example = "4303*************4")]
    pub id_masked: String,
    /// `male` or `female` (from the ID number).
    pub sex: String,
    /// Age in whole years today (lists give the age, not the birth date: with the county and
    /// the masked number a birth date would narrow the number down).
    pub age: i32,
    /// Village or community of residence.
    pub residence_region: String,
    /// `active`, `moved_out` or `deceased`.
    pub status: String,
    /// Latest effective GB/T 42195 level, 0–4, or null when never assessed.
    pub ability_level: Option<u8>,
    /// Its label (能力完好 … 完全失能).
    pub ability_label: Option<String>,
    /// Next routine re-assessment.
    pub reassessment_due: Option<chrono::NaiveDate>,
    /// Categories today, recorded and derived.
    pub categories: Vec<String>,
}

/// Where the next page starts.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextPage {
    /// Pass as `after_name`.
    pub after_name: String,
    /// Pass as `after_id`.
    pub after_id: Uuid,
}

/// One page of results, ordered by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ElderPage {
    /// The people.
    pub items: Vec<ElderSummaryDto>,
    /// How many people match in all (every page), in pinyin order of their names.
    pub total: i64,
    /// The cursor of the next page, or null on the last.
    pub next: Option<NextPage>,
}

fn summary_dto(s: ElderSummary, filter: &ElderFilter) -> ElderSummaryDto {
    let categories = categories_today(&s, filter)
        .into_iter()
        .map(String::from)
        .collect();
    ElderSummaryDto {
        id: s.id,
        name: s.name,
        id_masked: s.id_masked,
        sex: s.sex.as_str().into(),
        age: jinglao_domain::id_number::age_on(s.birth_date, filter.today),
        residence_region: s.residence_region.to_string(),
        status: s.status.as_str().into(),
        ability_level: s.ability.map(|a| a.number()),
        ability_label: s.ability.map(|a| a.label().into()),
        reassessment_due: s.reassessment_due,
        categories,
    }
}

/// Search the registry within your scope by name, region, category, ability and status. A
/// full ID or phone number in `q` is refused here (addresses end up in logs and histories):
/// send it to `POST /elders/search`. Every search is in the audit trail.
#[utoipa::path(
    get,
    path = "/elders",
    tag = "elders",
    security(("bearer" = [])),
    params(ElderSearch),
    responses(
        (status = 200, description = "一页结果", body = ElderPage),
        (status = 400, description = "查询参数无效", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看老年人信息", body = ErrorEnvelope),
        (status = 422, description = "区划不在范围内、能力等级无效，或在网址中使用了身份证号/电话号码", body = ErrorEnvelope),
    )
)]
pub async fn search_elders(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiQuery(q): ApiQuery<ElderSearch>,
) -> Result<Json<ElderPage>, ApiError> {
    if elder_search::classify(&q.q).is_identifier() {
        return Err(jinglao_domain::Invalid::one(
            "q",
            "身份证号和电话号码不要放在网址里，请用 POST /api/v1/elders/search 查询",
        )
        .into());
    }
    search(&state, &user, &meta, q).await.map(Json)
}

/// Search the registry within your scope, the parameters in the body: the way to search by a
/// full ID or phone number. Every search is in the audit trail.
#[utoipa::path(
    post,
    path = "/elders/search",
    tag = "elders",
    security(("bearer" = [])),
    request_body = ElderSearch,
    responses(
        (status = 200, description = "一页结果", body = ElderPage),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看老年人信息", body = ErrorEnvelope),
        (status = 422, description = "区划不在范围内或能力等级无效", body = ErrorEnvelope),
    )
)]
pub async fn search_elders_posted(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiJson(q): ApiJson<ElderSearch>,
) -> Result<Json<ElderPage>, ApiError> {
    search(&state, &user, &meta, q).await.map(Json)
}

async fn search(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    meta: &RequestMeta,
    q: ElderSearch,
) -> Result<ElderPage, ApiError> {
    user.require(Permission::ViewElders)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(jinglao_domain::Invalid::one("limit", "每页条数应在 1 到 200 之间").into());
    }
    let params = SearchParams {
        q: &q.q,
        region: &q.region,
        category: &q.category,
        ability: &q.ability,
        status: &q.status,
    };
    let filter = filter_for(state, user, &params)
        .await?
        .map_err(|p| jinglao_domain::Invalid::one(p.field, p.message))?;
    let at = match (&q.after_name, q.after_id) {
        (Some(n), Some(id)) => Position::After(n.as_str(), id),
        (None, None) => Position::Start,
        _ => {
            return Err(jinglao_domain::Invalid::one(
                "after_id",
                "after_name 与 after_id 须同时给出",
            )
            .into());
        }
    };
    let mut c = state.db.acquire().await?;
    let (rows, more) = elder_search::search(
        &mut c.conn(),
        &state.keys.cipher,
        &user.scope,
        &filter,
        at,
        limit,
    )
    .await?;
    let total =
        elder_search::count(&mut c.conn(), &state.keys.cipher, &user.scope, &filter).await?;
    drop(c);
    let (chain, now) = (&state.keys.audit_chain, state.clock.now());
    elder_search::record_search(
        &state.db,
        chain,
        &user.actor(meta),
        &filter,
        &rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        now,
    )
    .await?;
    let next = more.then(|| rows.last()).flatten().map(|last| NextPage {
        after_name: last.name.clone(),
        after_id: last.id,
    });
    Ok(ElderPage {
        items: rows.into_iter().map(|s| summary_dto(s, &filter)).collect(),
        total,
        next,
    })
}

/// An emergency contact (phone masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDto {
    /// Name.
    pub name: String,
    /// Relation to the person.
    pub relation: String,
    /// Phone, masked.
    pub phone_masked: String,
}

/// A recorded category with its period.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    /// Stable name, e.g. `dibao`.
    pub kind: String,
    /// Label, e.g. 低保.
    pub label: String,
    /// Detail (e.g. 分散供养, certificate level).
    pub detail: Option<String>,
    /// From.
    pub start: chrono::NaiveDate,
    /// Until (inclusive), or null while it lasts.
    pub end: Option<chrono::NaiveDate>,
}

/// One person's record, numbers masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ElderDto {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Resident ID number, masked.
    pub id_masked: String,
    /// `male` or `female`.
    pub sex: String,
    /// Birth date.
    pub birth_date: chrono::NaiveDate,
    /// Age today in whole years.
    pub age: i32,
    /// Ethnicity.
    pub ethnicity: String,
    /// Phones, masked.
    pub phones_masked: Vec<String>,
    /// Household registration (户籍) region.
    pub hukou_region: String,
    /// Residence village or community.
    pub residence_region: String,
    /// Address.
    pub address: String,
    /// (longitude, latitude), GCJ-02, or null.
    pub location: Option<(f64, f64)>,
    /// Living arrangement (stable name).
    pub living: String,
    /// Marital status (stable name).
    pub marital: String,
    /// Education (stable name).
    pub education: String,
    /// Income sources (stable names).
    pub income_sources: Vec<String>,
    /// Medical-payment types (stable names).
    pub medical_payments: Vec<String>,
    /// Number of children.
    pub children_count: i32,
    /// Whether a child lives locally.
    pub children_local: bool,
    /// Whether a child can give care.
    pub children_can_care: bool,
    /// Emergency contacts.
    pub contacts: Vec<ContactDto>,
    /// `active`, `moved_out` or `deceased`.
    pub status: String,
    /// Date of death or moving out.
    pub status_date: Option<chrono::NaiveDate>,
    /// Latest effective GB/T 42195 level, 0–4, or null.
    pub ability_level: Option<u8>,
    /// Its label.
    pub ability_label: Option<String>,
    /// Date of that assessment.
    pub ability_assessed_on: Option<chrono::NaiveDate>,
    /// Next routine re-assessment.
    pub reassessment_due: Option<chrono::NaiveDate>,
    /// Recorded categories, all periods.
    pub category_records: Vec<CategoryDto>,
    /// Categories today, recorded and derived (高龄, 失能, 半失能).
    pub categories: Vec<String>,
}

fn record_dto(e: ElderRecord, today: chrono::NaiveDate, advanced_age: i32) -> ElderDto {
    let categories = categories_on(
        &e.categories,
        e.birth_date,
        e.ability,
        e.dementia,
        today,
        advanced_age,
    )
    .into_iter()
    .map(String::from)
    .collect();
    ElderDto {
        age: e.age_on(today),
        id: e.id,
        name: e.name,
        id_masked: e.id_masked,
        sex: e.sex.as_str().into(),
        birth_date: e.birth_date,
        ethnicity: e.ethnicity,
        phones_masked: e.phones_masked,
        hukou_region: e.hukou_region.to_string(),
        residence_region: e.residence_region.to_string(),
        address: e.address,
        location: e.location,
        living: e.living.as_str().into(),
        marital: e.marital.as_str().into(),
        education: e.education.as_str().into(),
        income_sources: e.income_sources.iter().map(|i| i.as_str().into()).collect(),
        medical_payments: e
            .medical_payments
            .iter()
            .map(|m| m.as_str().into())
            .collect(),
        children_count: e.children_count,
        children_local: e.children_local,
        children_can_care: e.children_can_care,
        contacts: e
            .contacts
            .into_iter()
            .map(|c| ContactDto {
                name: c.name,
                relation: c.relation,
                phone_masked: c.phone_masked,
            })
            .collect(),
        status: e.status.as_str().into(),
        status_date: e.status_date,
        ability_level: e.ability.map(|a| a.number()),
        ability_label: e.ability.map(|a| a.label().into()),
        ability_assessed_on: e.ability_assessed_on,
        reassessment_due: e.reassessment_due,
        category_records: e
            .categories
            .into_iter()
            .map(|c| CategoryDto {
                kind: c.kind.as_str().into(),
                label: c.kind.label().into(),
                detail: c.detail,
                start: c.start,
                end: c.end,
            })
            .collect(),
        categories,
    }
}

/// One person's record. Every read is written to the audit trail.
#[utoipa::path(
    get,
    path = "/elders/{id}",
    tag = "elders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "老年人记录编号")),
    responses(
        (status = 200, description = "记录（证件号、电话已脱敏）", body = ElderDto),
        (status = 400, description = "编号格式错误", body = ErrorEnvelope),
        ScopedRead,
    )
)]
pub async fn show_elder(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ViewElders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ElderDto>, ApiError> {
    let e = {
        let mut c = state.db.acquire().await?;
        elders::get(&mut c.conn(), &user.scope, id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    elders::record_read(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &e,
        state.clock.now(),
    )
    .await?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let advanced = book.int(PolicyKey::AdvancedAge, &e.residence_region) as i32;
    Ok(Json(record_dto(e, state.today(), advanced)))
}
