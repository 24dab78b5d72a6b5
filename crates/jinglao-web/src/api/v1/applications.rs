//! Applications for an item of the basic elderly-service list and decisions on them
//! (村（居）初审 → 乡镇（街道）审定 → 公示 → 生效).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use jinglao_db::applications::{self, ApplicantAction, Application, NewApplication, QueueFilter};
use jinglao_domain::application::{ApplicationStatus, Decision};
use jinglao_domain::{Invalid, Permission, RegionCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// A new application made by staff on the person's behalf.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// The person.
    pub elder_id: Uuid,
    /// The item of the list.
    #[schema(example = "XT-ZH-02")]
    pub item_code: String,
    /// Who applies.
    #[schema(example = "张明")]
    pub applicant_name: String,
    /// Relation to the person.
    #[schema(example = "儿子")]
    pub applicant_relation: String,
    /// Required when the rule finds the person not eligible.
    #[serde(default)]
    pub reason: String,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

/// A decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve`, `return` or `reject`.
    #[schema(example = "approve")]
    pub decision: String,
    /// Required to return, to reject, and to approve against the rule.
    #[serde(default)]
    pub reason: String,
}

/// Resubmission after correction, or an appeal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantRequest {
    /// What was corrected, or why the refusal should be reviewed.
    pub text: String,
}

/// An application.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationDto {
    /// Id.
    pub id: Uuid,
    /// Person.
    pub elder_id: Uuid,
    /// Their name.
    pub elder_name: String,
    /// Item.
    pub item_code: String,
    /// Item name.
    pub item_name: String,
    /// Residence code.
    pub residence_region_code: String,
    /// `submitted`, `returned`, `village_approved`, `in_notice`, `effective`, `rejected`,
    /// `appealed` or `withdrawn`.
    pub status: String,
    /// Its label.
    pub status_label: String,
    /// The rule's answer at submission.
    pub precheck_eligible: bool,
    /// Its explanation.
    pub precheck_explanation: String,
    /// Deadline of the step it waits for.
    pub step_deadline: Option<NaiveDate>,
    /// Past that deadline today.
    pub overdue: bool,
    /// Public notice.
    pub notice_from: Option<NaiveDate>,
    /// Until (inclusive).
    pub notice_until: Option<NaiveDate>,
    /// Reason given to the applicant (return, refusal).
    pub decision_reason: Option<String>,
    /// Appeal possible until.
    pub appeal_until: Option<NaiveDate>,
    /// Submitted.
    pub submitted_at: DateTime<Utc>,
}

/// A decision in the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionDto {
    /// Step.
    pub step: String,
    /// Decision.
    pub decision: String,
    /// Status after it.
    pub to_status: String,
    /// Reason.
    pub reason: String,
    /// List version used.
    pub list_id: Uuid,
    /// The rule's answer then.
    pub eligible: bool,
    /// Its explanation.
    pub explanation: String,
    /// Against the rule.
    pub against_rule: bool,
    /// Who.
    pub decided_by: String,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// An application with its decisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationDetail {
    /// The application.
    #[serde(flatten)]
    pub application: ApplicationDto,
    /// Every step, oldest first.
    pub decisions: Vec<DecisionDto>,
}

fn dto(a: Application, today: NaiveDate) -> ApplicationDto {
    ApplicationDto {
        overdue: a.overdue_on(today),
        id: a.id,
        elder_id: a.elder_id,
        elder_name: a.elder_name,
        item_code: a.item_code,
        item_name: a.item_name,
        residence_region_code: a.region.as_str().to_string(),
        status: a.status.as_str().to_string(),
        status_label: a.status.label().to_string(),
        precheck_eligible: a.precheck_eligible,
        precheck_explanation: a.precheck_explanation,
        step_deadline: a.step_deadline,
        notice_from: a.notice_from,
        notice_until: a.notice_until,
        decision_reason: a.decision_reason,
        appeal_until: a.appeal_until,
        submitted_at: a.submitted_at,
    }
}

async fn detail(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    id: Uuid,
) -> Result<ApplicationDetail, AppError> {
    let mut c = state.db.acquire().await?;
    let a = applications::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let decisions = applications::history(&mut c.conn(), id)
        .await?
        .into_iter()
        .map(|h| DecisionDto {
            step: h.step,
            decision: h.decision,
            to_status: h.to_status,
            reason: h.reason,
            list_id: h.list_id,
            eligible: h.eligible,
            explanation: h.explanation,
            against_rule: h.against_rule,
            decided_by: h.decided_by_name,
            decided_at: h.decided_at,
        })
        .collect();
    Ok(ApplicationDetail {
        application: dto(a, state.today()),
        decisions,
    })
}

/// Apply on a person's behalf. The rule is checked at once; for someone it finds not eligible
/// a written `reason` is required.
#[utoipa::path(
    post,
    path = "/applications",
    tag = "applications",
    security(("bearer" = [])),
    request_body = ApplicationRequest,
    responses(
        (status = 201, description = "已受理，待村（居）初审", body = ApplicationDetail),
        ScopedRead,
        (status = 422, description = "缺少字段、项目不存在、重复申请，或不符合条件却未写理由", body = ErrorEnvelope),
    )
)]
pub async fn create_application(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::EditElders>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<ApplicationRequest>,
) -> Result<(StatusCode, Json<ApplicationDetail>), ApiError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    let id = applications::submit(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &NewApplication {
            elder_id: body.elder_id,
            item_code: body.item_code.trim(),
            applicant_name: &body.applicant_name,
            applicant_relation: &body.applicant_relation,
            reason: &body.reason,
            note: &body.note,
            channel: "staff",
        },
        &book,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(detail(&state, &user, id).await?)))
}

/// Queue query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Region within scope.
    #[serde(default)]
    pub region: Option<String>,
    /// One status (default: every open one).
    #[serde(default)]
    pub status: Option<String>,
    /// Only those past the deadline of their step.
    #[serde(default)]
    pub overdue: Option<bool>,
}

/// Applications in the caller's scope, oldest deadline first (at most 500).
#[utoipa::path(
    get,
    path = "/applications",
    tag = "applications",
    security(("bearer" = [])),
    params(QueueQuery),
    responses(
        (status = 200, description = "申请列表", body = Vec<ApplicationDto>),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看老年人信息", body = ErrorEnvelope),
        (status = 422, description = "状态或区划无效", body = ErrorEnvelope),
    )
)]
pub async fn list_applications(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ViewElders>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<Vec<ApplicationDto>>, ApiError> {
    let mut f = QueueFilter::default();
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        f.statuses = vec![ApplicationStatus::parse(s).ok_or_else(|| {
            Invalid::one(
                "status",
                format!("状态应为：{}", ApplicationStatus::labels_list()),
            )
        })?];
    }
    if let Some(r) = q.region.as_deref().filter(|r| !r.is_empty()) {
        f.region = Some(
            RegionCode::parse(r)
                .ok()
                .filter(|r| user.scope.covers_record_in(r))
                .ok_or_else(|| Invalid::one("region", "区划代码无效或不在您的管辖范围内"))?,
        );
    }
    let today = state.today();
    if q.overdue == Some(true) {
        f.overdue_on = Some(today);
    }
    let mut c = state.db.acquire().await?;
    let rows = applications::queue(&mut c.conn(), &user.scope, &f, 500).await?;
    Ok(Json(rows.into_iter().map(|a| dto(a, today)).collect()))
}

/// One application with every decision, each with the list version and the rule's answer.
#[utoipa::path(
    get,
    path = "/applications/{id}",
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "申请编号")),
    responses(
        (status = 200, description = "申请及审核记录", body = ApplicationDetail),
        ScopedRead,
    )
)]
pub async fn show_application(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ViewElders>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ApplicationDetail>, ApiError> {
    Ok(Json(detail(&state, &user, id).await?))
}

/// Decide at the step the application waits for: village/community staff review first,
/// township/street (or county) staff decide; outside the caller's scope or role it is refused.
#[utoipa::path(
    post,
    path = "/applications/{id}/decisions",
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "申请编号")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "决定后的申请", body = ApplicationDetail),
        ScopedRead,
        (status = 422, description = "不是您这一级的审核步骤、缺少理由或决定无效", body = ErrorEnvelope),
    )
)]
pub async fn decide_application(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ViewElders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> Result<Json<ApplicationDetail>, ApiError> {
    let decision = Decision::parse(&body.decision)
        .ok_or_else(|| Invalid::one("decision", "决定应为 approve、return 或 reject"))?;
    let book = jinglao_db::policy::book(&state.db).await?;
    applications::decide_on(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        id,
        decision,
        &body.reason,
        &book,
    )
    .await?;
    Ok(Json(detail(&state, &user, id).await?))
}

/// Carries out an applicant's action on their behalf and answers with the application.
async fn applicant_action(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    meta: &RequestMeta,
    id: Uuid,
    action: ApplicantAction,
    text: &str,
) -> Result<Json<ApplicationDetail>, ApiError> {
    user.require(Permission::EditElders)?;
    let book = jinglao_db::policy::book(&state.db).await?;
    applications::act_for_applicant(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(meta),
            state.clock.now(),
        ),
        id,
        action,
        text,
        &book,
    )
    .await?;
    Ok(Json(detail(state, user, id).await?))
}

/// Send a returned application back to review after correcting it.
#[utoipa::path(
    post,
    path = "/applications/{id}/resubmit",
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "申请编号")),
    request_body = ApplicantRequest,
    responses(
        (status = 200, description = "已重新提交", body = ApplicationDetail),
        ScopedRead,
        (status = 422, description = "申请不是退回补正状态", body = ErrorEnvelope),
    )
)]
pub async fn resubmit_application(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ApplicantRequest>,
) -> Result<Json<ApplicationDetail>, ApiError> {
    applicant_action(
        &state,
        &user,
        &meta,
        id,
        ApplicantAction::Resubmit,
        &body.text,
    )
    .await
}

/// Appeal a refusal within the appeal period (once; the review is final).
#[utoipa::path(
    post,
    path = "/applications/{id}/appeal",
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "申请编号")),
    request_body = ApplicantRequest,
    responses(
        (status = 200, description = "已申请复核", body = ApplicationDetail),
        ScopedRead,
        (status = 422, description = "不是不予批准状态、超过期限、已复核过或缺少理由", body = ErrorEnvelope),
    )
)]
pub async fn appeal_application(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ApplicantRequest>,
) -> Result<Json<ApplicationDetail>, ApiError> {
    applicant_action(
        &state,
        &user,
        &meta,
        id,
        ApplicantAction::Appeal,
        &body.text,
    )
    .await
}

/// Withdraw an application not yet decided, on the applicant's behalf.
#[utoipa::path(
    post,
    path = "/applications/{id}/withdraw",
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "申请编号")),
    request_body = ApplicantRequest,
    responses(
        (status = 200, description = "已撤回", body = ApplicationDetail),
        ScopedRead,
        (status = 422, description = "已经审定、生效或结束的申请不能撤回", body = ErrorEnvelope),
    )
)]
pub async fn withdraw_application(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ApplicantRequest>,
) -> Result<Json<ApplicationDetail>, ApiError> {
    applicant_action(
        &state,
        &user,
        &meta,
        id,
        ApplicantAction::Withdraw,
        &body.text,
    )
    .await
}

/// One decision on several applications.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDecisionRequest {
    /// The applications (at most 200).
    pub ids: Vec<Uuid>,
    /// approve | return | reject.
    pub decision: String,
    /// The reason (required to return or reject), the same for all.
    #[serde(default)]
    pub reason: String,
}

/// How many were decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDecided {
    /// Applications decided.
    pub decided: usize,
}

/// Take one decision on several applications at my step, all or none: each is checked as if
/// alone, and if one cannot take it nothing is decided and the error names whose it is.
#[utoipa::path(
    post,
    path = "/applications/decisions",
    tag = "applications",
    security(("bearer" = [])),
    request_body = BatchDecisionRequest,
    responses(
        (status = 200, description = "已全部办理", body = BatchDecided),
        ScopedRead,
        (status = 422, description = "有一份不能办理（指明是谁的申请和原因），一份也没有办理", body = ErrorEnvelope),
    )
)]
pub async fn decide_applications(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ViewElders>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<BatchDecisionRequest>,
) -> Result<Json<BatchDecided>, ApiError> {
    let decision = Decision::parse(&body.decision)
        .ok_or_else(|| Invalid::one("decision", "决定应为 approve、return 或 reject"))?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let decided = applications::decide_many(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        &body.ids,
        decision,
        &body.reason,
        &book,
    )
    .await?;
    Ok(Json(BatchDecided { decided }))
}
