//! Contracts after signing over the API: the live performance view, acceptances (with the
//! third party's report, base64), early termination, and the year-end evaluation by every
//! party. The same use cases as the contract and evaluation pages, scoped the same way.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use jinglao_db::purchase::acceptances::Acceptance;
use jinglao_db::purchase::evaluations::Evaluation;
use jinglao_domain::Invalid;
use jinglao_domain::purchase::acceptance::AcceptanceDraft;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath};
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::purchase::contracts as usecase;

/// The live figures of a contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerformanceDto {
    /// Units delivered and settled.
    pub units: i64,
    /// The quantity ceiling, if any.
    pub quantity_ceiling: Option<u64>,
    /// Settled, fen.
    pub settled_fen: i64,
    /// Paid through the treasury, fen.
    pub paid_fen: i64,
    /// The money ceiling, fen.
    pub ceiling_fen: i64,
    /// Share of the term gone, percent.
    pub elapsed_percent: i64,
    /// Share of the ceiling settled, percent.
    pub spent_percent: i64,
    /// Visits of the contract's items over the term.
    pub visits: i64,
    /// Of which ended in an exception or were rejected.
    pub exception_visits: i64,
    /// People's own ratings, and how many were 1–2 stars.
    pub ratings: i64,
    /// Low ratings (1–2 stars).
    pub low_ratings: i64,
    /// Mean stars.
    pub satisfaction: Option<f64>,
    /// Caregivers who served, and how many are certified.
    pub caregivers: i64,
    /// Certified caregivers.
    pub certified_caregivers: i64,
    /// People served.
    pub people_served: i64,
    /// People the project planned for.
    pub people_planned: i64,
    /// What needs attention, in words.
    pub warnings: Vec<String>,
}

/// An acceptance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptanceDto {
    /// Id.
    pub id: Uuid,
    /// `milestone` or `final`.
    pub kind: String,
    /// Covers service up to this day.
    pub period_end: NaiveDate,
    /// Inspected on.
    pub inspected_on: NaiveDate,
    /// Inspectors.
    pub inspectors: String,
    /// Third party and report number.
    pub third_party: String,
    /// Findings.
    pub findings: String,
    /// `accepted`, `deducted` or `rejected`.
    pub result: String,
    /// Its label.
    pub result_label: String,
    /// Withheld from the payment, fen.
    pub deduction_fen: i64,
    /// The report's file name, if attached.
    pub report_name: Option<String>,
}

impl From<Acceptance> for AcceptanceDto {
    fn from(a: Acceptance) -> Self {
        AcceptanceDto {
            id: a.id,
            kind: a.input.kind.as_str().into(),
            period_end: a.input.period_end,
            inspected_on: a.input.inspected_on,
            inspectors: a.input.inspectors,
            third_party: a.input.third_party,
            findings: a.input.findings,
            result: a.input.result.as_str().into(),
            result_label: a.input.result.label().into(),
            deduction_fen: a.input.deduction_fen,
            report_name: a.report.map(|r| r.name),
        }
    }
}

/// An evaluation, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationSummaryDto {
    /// Id.
    pub id: Uuid,
    /// Year.
    pub year: i32,
    /// `open` or `published`.
    pub status: String,
    /// Total in tenths of a point, once published.
    pub total_tenths: Option<i32>,
    /// Grade (`excellent`, `good`, `pass`, `fail`), once published.
    pub grade: Option<String>,
}

impl From<&Evaluation> for EvaluationSummaryDto {
    fn from(e: &Evaluation) -> Self {
        EvaluationSummaryDto {
            id: e.id,
            year: e.year,
            status: e.status.clone(),
            total_tenths: e.total_tenths,
            grade: e.grade.map(|g| g.as_str().into()),
        }
    }
}

/// A contract after signing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractDto {
    /// Id.
    pub id: Uuid,
    /// Number.
    pub contract_no: String,
    /// Project.
    pub project_id: Uuid,
    /// Provider.
    pub provider_name: String,
    /// `active`, `accepted` or `terminated`.
    pub status: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// `monthly_verified`, `milestones` or `per_head`.
    pub payment_terms: String,
    /// Filed with finance on.
    pub filed_on: Option<NaiveDate>,
    /// Ended early on.
    pub terminated_on: Option<NaiveDate>,
    /// Live figures.
    pub performance: PerformanceDto,
    /// Acceptances, in the order recorded.
    pub acceptances: Vec<AcceptanceDto>,
    /// Evaluations, newest first.
    pub evaluations: Vec<EvaluationSummaryDto>,
}

fn performance_dto(p: &jinglao_db::purchase::performance::Performance) -> PerformanceDto {
    PerformanceDto {
        units: p.units,
        quantity_ceiling: p.quantity_ceiling,
        settled_fen: p.settled_fen,
        paid_fen: p.paid_fen,
        ceiling_fen: p.ceiling_fen,
        elapsed_percent: p.elapsed_percent,
        spent_percent: p.spent_percent,
        visits: p.visits.0,
        exception_visits: p.visits.1,
        ratings: p.ratings.0,
        low_ratings: p.ratings.2,
        satisfaction: p.satisfaction(),
        caregivers: p.caregivers.0,
        certified_caregivers: p.caregivers.1,
        people_served: p.people.0,
        people_planned: p.people.1,
        warnings: p.warnings(),
    }
}

/// A contract with its live figures, acceptances and evaluations (staff who run or review
/// purchases, in their subtree; a provider, its own).
#[utoipa::path(
    get,
    path = "/purchase/contracts/{id}",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "合同编号")),
    responses((status = 200, description = "合同及履约情况", body = ContractDto), ScopedRead)
)]
pub async fn show_contract(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ContractDto>, ApiError> {
    let v = usecase::show(&state, &user, id).await?;
    Ok(Json(ContractDto {
        id: v.contract.id,
        contract_no: v.contract.input.contract_no.clone(),
        project_id: v.project.id,
        provider_name: v.provider_name,
        status: v.contract.status.clone(),
        start: v.contract.input.start,
        end: v.contract.input.end,
        payment_terms: v.contract.input.payment_terms.as_str().into(),
        filed_on: v.contract.filed_on,
        terminated_on: v.contract.terminated.map(|t| t.0),
        performance: performance_dto(&v.performance),
        acceptances: v.acceptances.into_iter().map(AcceptanceDto::from).collect(),
        evaluations: v
            .evaluations
            .iter()
            .map(EvaluationSummaryDto::from)
            .collect(),
    }))
}

/// The third party's report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// File name.
    pub name: String,
    /// The bytes, base64 (PDF, JPEG or PNG). The API's request body limit (2 MB) bounds it;
    /// larger reports are uploaded on the contract page (10 MB).
    pub content_base64: String,
}

/// An acceptance.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceBody {
    /// `milestone` or `final`.
    pub kind: String,
    /// Covers service up to this day (a final acceptance: the contract's last day).
    pub period_end: String,
    /// Inspected on (after the period, not after today).
    pub inspected_on: String,
    /// Inspectors and their units.
    pub inspectors: String,
    /// Third party and report number.
    #[serde(default)]
    pub third_party: String,
    /// Findings (needed for a rejection or a deduction).
    #[serde(default)]
    pub findings: String,
    /// `accepted`, `deducted` or `rejected`.
    pub result: String,
    /// Withheld from the next payment, fen (only with `deducted`).
    #[serde(default)]
    pub deduction_fen: i64,
    /// The report.
    #[serde(default)]
    pub report: Option<ReportBody>,
}

/// What was created.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDto {
    /// Id.
    pub id: Uuid,
}

/// Record an acceptance (the purchasing body). The final month of a contract (every month of
/// a milestone contract) is paid only after an acceptance covering it that is not a rejection;
/// a deduction is withheld from the first payment it clears.
#[utoipa::path(
    post,
    path = "/purchase/contracts/{id}/acceptances",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "合同编号")),
    request_body = AcceptanceBody,
    responses(
        (status = 201, description = "已登记", body = CreatedDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "字段有误（说明是哪一项、为什么）", body = ErrorEnvelope),
    )
)]
pub async fn record_acceptance(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AcceptanceBody>,
) -> Result<(StatusCode, Json<CreatedDto>), ApiError> {
    use base64::Engine;
    let report = match &body.report {
        None => None,
        Some(r) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(r.content_base64.trim())
                .map_err(|_| {
                    AppError::from(Invalid::one("report.content_base64", "不是有效的 base64"))
                })?;
            Some((r.name.clone(), bytes))
        }
    };
    let draft = AcceptanceDraft {
        kind: body.kind,
        period_end: body.period_end,
        inspected_on: body.inspected_on,
        inspectors: body.inspectors,
        third_party: body.third_party,
        findings: body.findings,
        result: body.result,
        deduction_yuan: String::new(),
        deduction_fen: Some(body.deduction_fen),
    };
    let acting = Acting::new(&state, user, &meta);
    let id = usecase::accept(
        &state,
        &acting,
        id,
        &draft,
        report.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
    )
    .await
    .map_err(|e| match e {
        AppError::Invalid(mut i) => {
            i.rename("deduction_yuan", "deduction_fen");
            AppError::Invalid(i)
        }
        e => e,
    })?;
    Ok((StatusCode::CREATED, Json(CreatedDto { id })))
}

/// An acceptance's report (checked against its checksum).
#[utoipa::path(
    get,
    path = "/purchase/contracts/{id}/acceptances/{acceptance}/report",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "合同编号"), ("acceptance" = Uuid, Path, description = "验收记录编号")),
    responses((status = 200, description = "验收报告", content_type = "application/pdf"), ScopedRead)
)]
pub async fn acceptance_report(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath((id, acceptance)): ApiPath<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let (r, bytes) = usecase::report(&state, &acting, id, acceptance).await?;
    Ok(crate::download::attachment(
        &r.content_type,
        "report",
        &r.name,
        bytes,
    ))
}

/// Ending a contract early.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminationBody {
    /// From this day its prices stop.
    pub terminated_on: NaiveDate,
    /// Why, with its basis (e.g. a failing evaluation).
    pub reason: String,
}

/// End a contract early (the purchasing body): its prices stop on the day, so no later visit is
/// priced under it.
#[utoipa::path(
    post,
    path = "/purchase/contracts/{id}/termination",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "合同编号")),
    request_body = TerminationBody,
    responses(
        (status = 204, description = "已解除"),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "不能解除（说明原因）", body = ErrorEnvelope),
    )
)]
pub async fn terminate_contract(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TerminationBody>,
) -> Result<StatusCode, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    usecase::terminate(&state, &acting, id, body.terminated_on, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Opening an evaluation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenEvaluationBody {
    /// The year evaluated.
    pub year: i32,
    /// How many people to draw for the telephone survey (at most 100).
    pub survey_size: usize,
}

/// Open a contract's year-end evaluation (the purchasing body): the region's scheme is copied
/// in and the survey sample drawn from the people the contract served that year.
#[utoipa::path(
    post,
    path = "/purchase/contracts/{id}/evaluations",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "合同编号")),
    request_body = OpenEvaluationBody,
    responses(
        (status = 201, description = "已开始", body = CreatedDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "不能开始（说明原因）", body = ErrorEnvelope),
    )
)]
pub async fn open_evaluation(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<OpenEvaluationBody>,
) -> Result<(StatusCode, Json<CreatedDto>), ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let id = usecase::open(&state, &acting, id, body.year, body.survey_size).await?;
    Ok((StatusCode::CREATED, Json(CreatedDto { id })))
}

/// An evaluation in the caller's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationRowDto {
    /// The evaluation.
    pub evaluation: EvaluationSummaryDto,
    /// Contract number.
    pub contract_no: String,
    /// Project title.
    pub title: String,
    /// Provider.
    pub provider_name: String,
}

/// The evaluations the caller takes part in (a third-party evaluator: those it is named on).
#[utoipa::path(
    get,
    path = "/purchase/evaluations",
    tag = "purchase",
    security(("bearer" = [])),
    responses((status = 200, description = "绩效评价", body = [EvaluationRowDto]), ScopedRead)
)]
pub async fn list_evaluations(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Vec<EvaluationRowDto>>, ApiError> {
    let rows = usecase::mine(&state, &user).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| EvaluationRowDto {
                evaluation: EvaluationSummaryDto::from(&r.evaluation),
                contract_no: r.contract_no,
                title: r.title,
                provider_name: r.provider_name,
            })
            .collect(),
    ))
}

/// One party's marks.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyScoreDto {
    /// `purchaser`, `finance` or `third_party`.
    pub party: String,
    /// Criterion → points.
    pub marks: Vec<(String, u32)>,
    /// Their sum (0–100).
    pub sum: u32,
    /// Comment.
    pub comment: String,
}

/// An evaluation in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationDto {
    /// Summary.
    pub evaluation: EvaluationSummaryDto,
    /// Contract.
    pub contract_id: Uuid,
    /// Contract number.
    pub contract_no: String,
    /// Provider.
    pub provider_name: String,
    /// Each party's weight, percent.
    pub weights: Vec<(String, u32)>,
    /// The criteria and their points.
    pub criteria: Vec<(String, u32)>,
    /// Lowest totals for 优秀, 良好, 合格.
    pub bands: [u32; 3],
    /// The scheme's document.
    pub basis: String,
    /// Marks so far.
    pub scores: Vec<PartyScoreDto>,
    /// The recipients' score so far, tenths of a point.
    pub recipients_tenths: Option<u32>,
    /// The party the caller marks as.
    pub my_party: Option<String>,
    /// The contract's live figures.
    pub performance: PerformanceDto,
    /// Survey calls (the purchasing body only): person, reached, stars.
    pub survey: Vec<SurveyCallDto>,
    /// Published at.
    pub published_at: Option<DateTime<Utc>>,
}

/// A person drawn for the survey.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyCallDto {
    /// The person.
    pub elder_id: Uuid,
    /// Name.
    pub name: String,
    /// Reached (null: not called yet).
    pub reached: Option<bool>,
    /// Stars.
    pub score: Option<i32>,
}

/// An evaluation the caller takes part in.
#[utoipa::path(
    get,
    path = "/purchase/evaluations/{id}",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "绩效评价编号")),
    responses((status = 200, description = "绩效评价", body = EvaluationDto), ScopedRead)
)]
pub async fn show_evaluation(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<EvaluationDto>, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let v = usecase::evaluation(&state, &acting, id).await?;
    let e = &v.evaluation;
    Ok(Json(EvaluationDto {
        evaluation: EvaluationSummaryDto::from(e),
        contract_id: v.contract.id,
        contract_no: v.contract.input.contract_no.clone(),
        provider_name: v.provider_name.clone(),
        weights: e
            .scheme
            .weights
            .iter()
            .map(|(p, w)| (p.as_str().to_string(), *w))
            .collect(),
        criteria: e.scheme.criteria.clone(),
        bands: e.scheme.bands,
        basis: e.basis.clone(),
        scores: v
            .scores
            .iter()
            .map(|s| PartyScoreDto {
                party: s.party.as_str().into(),
                marks: s.marks.clone(),
                sum: s.sum,
                comment: s.comment.clone(),
            })
            .collect(),
        recipients_tenths: v.satisfaction.score_tenths(),
        my_party: v.my_party.map(|p| p.as_str().into()),
        performance: performance_dto(&v.performance),
        survey: v
            .survey
            .iter()
            .map(|s| SurveyCallDto {
                elder_id: s.elder_id,
                name: s.name.clone(),
                reached: s.reached,
                score: s.score,
            })
            .collect(),
        published_at: e.published_at,
    }))
}

/// One party's marks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreBody {
    /// Criterion name → points (every criterion of the scheme, each within its points).
    pub marks: std::collections::BTreeMap<String, u32>,
    /// Comment.
    #[serde(default)]
    pub comment: String,
}

/// Mark the evaluation as your party (purchasing body, finance, or a named third party);
/// replaces your earlier marks until it is published. Errors name `marks.<criterion>`.
#[utoipa::path(
    post,
    path = "/purchase/evaluations/{id}/scores",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "绩效评价编号")),
    request_body = ScoreBody,
    responses(
        (status = 204, description = "已保存"),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "分数有误（说明是哪一项）", body = ErrorEnvelope),
    )
)]
pub async fn score_evaluation(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ScoreBody>,
) -> Result<StatusCode, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let marks: Vec<(String, u32)> = body.marks.into_iter().collect();
    usecase::score(&state, &acting, id, &marks, &body.comment).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A survey call's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    /// The person called (one of the sample).
    pub elder_id: Uuid,
    /// 1–5 stars, or null when not reached.
    pub score: Option<u8>,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Record a survey call (the purchasing body).
#[utoipa::path(
    post,
    path = "/purchase/evaluations/{id}/calls",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "绩效评价编号")),
    request_body = CallBody,
    responses(
        (status = 204, description = "已登记"),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "不能登记（说明原因）", body = ErrorEnvelope),
    )
)]
pub async fn record_call(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CallBody>,
) -> Result<StatusCode, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    usecase::record_call(&state, &acting, id, body.elder_id, body.score, &body.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Naming a third-party evaluator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorBody {
    /// The account's user name (role `evaluator`).
    pub username: String,
}

/// Name a third-party evaluator account on the evaluation (the purchasing body): it can then
/// read this contract and mark it, and nothing else.
#[utoipa::path(
    post,
    path = "/purchase/evaluations/{id}/evaluators",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "绩效评价编号")),
    request_body = EvaluatorBody,
    responses(
        (status = 204, description = "已指定"),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "没有这个第三方账号", body = ErrorEnvelope),
    )
)]
pub async fn name_evaluator(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EvaluatorBody>,
) -> Result<StatusCode, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    usecase::name_evaluator(&state, &acting, id, &body.username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The published result.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedDto {
    /// Total, tenths of a point.
    pub total_tenths: u32,
    /// `excellent`, `good`, `pass` or `fail`.
    pub grade: String,
    /// Its label.
    pub grade_label: String,
}

/// Publish the result (the purchasing body), once every weighted party has marked and the
/// recipients have answered; refused naming who is missing.
#[utoipa::path(
    post,
    path = "/purchase/evaluations/{id}/publication",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "绩效评价编号")),
    responses(
        (status = 200, description = "已公布", body = PublishedDto),
        ScopedRead,
        (status = 422, description = "还不能公布（说明缺哪一方）", body = ErrorEnvelope),
    )
)]
pub async fn publish_evaluation(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<PublishedDto>, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let (total, grade) = usecase::publish(&state, &acting, id).await?;
    Ok(Json(PublishedDto {
        total_tenths: total,
        grade: grade.as_str().into(),
        grade_label: grade.label().into(),
    }))
}

/// Recording a contract's filing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingBody {
    /// Filed with finance on (not before signing, not after today).
    pub filed_on: NaiveDate,
}

/// Record that a contract was filed with finance (合同报同级财政部门备案; finance). Payment needs
/// it.
#[utoipa::path(
    post,
    path = "/purchase/contracts/{id}/filing",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "合同编号")),
    request_body = FilingBody,
    responses(
        (status = 204, description = "已备案"),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "已备案或日期不对", body = ErrorEnvelope),
    )
)]
pub async fn file_contract(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<FilingBody>,
) -> Result<StatusCode, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    usecase::file(&state, &acting, id, body.filed_on).await?;
    Ok(StatusCode::NO_CONTENT)
}
