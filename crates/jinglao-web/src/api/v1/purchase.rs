//! Government purchase of services over the API: the guiding catalogue, projects and their
//! review, the notice, bids, the award and the contract. Scoped like the pages: staff see their
//! subtree; a provider sees announced projects only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use jinglao_db::purchase::{projects, selection};
use jinglao_domain::purchase::catalogue::EntryDraft;
use jinglao_domain::purchase::contract::ContractDraft;
use jinglao_domain::purchase::project::{ProjectDraft, ProjectStatus};
use jinglao_domain::{Invalid, RegionCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::purchase::{self as usecase, Step};

/// One catalogue entry.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EntryBody {
    /// Code, kept across versions (e.g. `JJ-01`).
    pub code: String,
    /// Name.
    pub name: String,
    /// `home_care`, `day_care`, `institutional`, `training` or `assessment` (or the label).
    pub category: String,
    /// `public_service`, `social_management`, `industry`, `technical` or `auxiliary`.
    pub nature: String,
    /// Content.
    pub content: String,
    /// Service-list item codes it covers.
    #[serde(default)]
    pub item_codes: Vec<String>,
}

/// A new catalogue version.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CatalogueBody {
    /// The region it is for (finance's own or below).
    pub region_code: String,
    /// The issuing document.
    pub basis: String,
    /// Entries (at most 200).
    pub entries: Vec<EntryBody>,
}

/// A published catalogue version.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueDto {
    /// Id.
    pub id: Uuid,
    /// Version.
    pub version: i32,
    /// Document.
    pub basis: String,
    /// Entry codes and names.
    pub entries: Vec<(String, String)>,
}

/// Publish a new version of the guiding catalogue (finance, city civil affairs).
#[utoipa::path(
    post,
    path = "/purchase/catalogues",
    tag = "purchase",
    security(("bearer" = [])),
    request_body = CatalogueBody,
    responses(
        (status = 201, description = "已发布", body = CatalogueDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "条目无效（指明条目和字段）", body = ErrorEnvelope),
    )
)]
pub async fn publish_catalogue(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiJson(body): ApiJson<CatalogueBody>,
) -> Result<(StatusCode, Json<CatalogueDto>), ApiError> {
    let region = RegionCode::parse(body.region_code.trim())
        .map_err(|_| AppError::from(Invalid::one("region_code", "不是有效的行政区划代码")))?;
    let acting = Acting::new(&state, user, &meta);
    let drafts: Vec<EntryDraft> = body
        .entries
        .into_iter()
        .map(|e| EntryDraft {
            code: e.code,
            name: e.name,
            category: e.category,
            nature: e.nature,
            content: e.content,
            item_codes: e.item_codes,
        })
        .collect();
    let cat = crate::usecase::purchase::contracts::publish_catalogue(
        &state,
        &acting,
        region,
        &body.basis,
        &drafts,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CatalogueDto {
            id: cat.id,
            version: cat.version,
            basis: cat.basis,
            entries: cat.entries.into_iter().map(|e| (e.code, e.name)).collect(),
        }),
    ))
}

/// A quantity line.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct QuantityBody {
    /// Service-list item.
    pub item_code: String,
    /// People.
    pub people: u32,
    /// Units per person over the term.
    pub units_per_person: u32,
    /// Unit (次、小时、餐、人月).
    pub unit: String,
}

/// A criterion.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CriterionBody {
    /// Name (one must be 价格 for the scored modes).
    pub name: String,
    /// Points out of 100.
    pub weight: u32,
}

/// A project as drafted.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProjectBody {
    /// The purchasing body's region.
    pub region_code: String,
    /// The purchasing body's name.
    pub purchaser_name: String,
    /// Budget year.
    pub year: i32,
    /// Title.
    pub title: String,
    /// Catalogue entry code.
    pub catalogue_code: String,
    /// Items bought.
    pub item_codes: Vec<String>,
    /// Regions served.
    pub regions: Vec<String>,
    /// Estimated quantity.
    pub quantities: Vec<QuantityBody>,
    /// How the unit prices were arrived at.
    pub price_basis: String,
    /// Budget, fen.
    pub budget_fen: i64,
    /// `budget`, `lottery` or `transfer`.
    pub funding: String,
    /// `open_tender`, `invited_tender`, `competitive_negotiation`, `competitive_consultation`,
    /// `inquiry`, `single_source`, `elder_choice`, `public_built_private_run` or `ppp`.
    pub mode: String,
    /// Requirements beyond the seven conditions.
    #[serde(default)]
    pub requirements: String,
    /// Quantity and quality standards, performance targets.
    pub targets: String,
    /// Evaluation criteria (weights sum to 100; none for 询价 and 单一来源).
    #[serde(default)]
    pub criteria: Vec<CriterionBody>,
    /// Term start.
    pub term_start: NaiveDate,
    /// Term end.
    pub term_end: NaiveDate,
    /// Why a single source.
    #[serde(default)]
    pub justification: String,
}

/// A project as returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectDto {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Purchasing body.
    pub purchaser_name: String,
    /// Year.
    pub year: i32,
    /// Version.
    pub version: i32,
    /// Status code.
    pub status: String,
    /// Its label.
    pub status_label: String,
    /// Mode label.
    pub mode_label: String,
    /// Budget, fen.
    pub budget_fen: i64,
    /// Finance's reason for returning it.
    pub return_reason: Option<String>,
    /// Bids taken until.
    pub bid_deadline: Option<DateTime<Utc>>,
}

/// Staff read projects and bids only when they run or review purchases; providers read the
/// announced projects (storage keeps them to those).
fn may_read(user: &crate::auth::CurrentUser) -> Result<(), AppError> {
    use jinglao_domain::Permission;
    if user.scope.provider_id().is_some()
        || user.can(Permission::PlanPurchases)
        || user.can(Permission::ApprovePurchases)
    {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "只有政府购买服务的经办和财政审核人员可以查看购买项目".into(),
        ))
    }
}

fn dto(p: projects::Project) -> ProjectDto {
    ProjectDto {
        id: p.id,
        title: p.input.title.clone(),
        purchaser_name: p.purchaser_name,
        year: p.input.year,
        version: p.version,
        status: p.status.as_str().into(),
        status_label: p.status.label().into(),
        mode_label: p.input.mode.label().into(),
        budget_fen: p.input.budget_fen,
        return_reason: p.return_reason,
        bid_deadline: p.bid_deadline,
    }
}

/// The draft a project body describes (parsed by the use case, as the page's form is).
fn draft_of(b: ProjectBody) -> ProjectDraft {
    ProjectDraft {
        year: b.year.to_string(),
        title: b.title,
        catalogue_code: b.catalogue_code,
        item_codes: b.item_codes,
        regions: b.regions,
        quantities: b
            .quantities
            .into_iter()
            .map(|q| {
                (
                    q.item_code,
                    q.people.to_string(),
                    q.units_per_person.to_string(),
                    q.unit,
                )
            })
            .collect(),
        price_basis: b.price_basis,
        budget_yuan: String::new(),
        budget_fen: Some(b.budget_fen),
        funding: b.funding,
        mode: b.mode,
        requirements: b.requirements,
        targets: b.targets,
        criteria: b
            .criteria
            .into_iter()
            .map(|c| (c.name, c.weight.to_string()))
            .collect(),
        term_start: b.term_start.to_string(),
        term_end: b.term_end.to_string(),
        justification: b.justification,
    }
}

/// A changed project: the whole project as when drafting (its region and purchasing body stay
/// what they were), and why, when it was already approved.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProjectChangeBody {
    /// The project as it should now read.
    #[serde(flatten)]
    pub project: ProjectBody,
    /// Why (required once finance has approved: the change becomes a new version for review).
    #[serde(default)]
    pub reason: String,
}

/// Change a project: a draft or a returned project is changed in place; an approved project
/// not yet announced becomes a new version, with the reason, back with finance for review.
#[utoipa::path(
    put,
    path = "/purchase/projects/{id}",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "项目编号")),
    request_body = ProjectChangeBody,
    responses(
        (status = 200, description = "已修改（已批复的项目：新版本已报送财政）", body = ProjectDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "字段无效、缺少修改理由、改变了所属地区或项目已公告", body = ErrorEnvelope),
    )
)]
pub async fn update_project(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ProjectChangeBody>,
) -> Result<Json<ProjectDto>, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let p = {
        let mut c = state.db.acquire().await?;
        projects::get(&mut c.conn(), &acting.user.scope, id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    if RegionCode::parse(b.project.region_code.trim()).ok() != Some(p.region) {
        return Err(AppError::from(Invalid::one(
            "region_code",
            "项目所属地区不能修改；请另行编报",
        ))
        .into());
    }
    let reason = b.reason.clone();
    let draft = draft_of(b.project);
    crate::usecase::purchase::contracts::update_project(&state, &acting, id, &draft, &reason)
        .await?;
    let mut c = state.db.acquire().await?;
    let p = projects::get(&mut c.conn(), &acting.user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(dto(p)))
}

/// Draft a purchase project (city, county and township staff).
#[utoipa::path(
    post,
    path = "/purchase/projects",
    tag = "purchase",
    security(("bearer" = [])),
    request_body = ProjectBody,
    responses(
        (status = 201, description = "已保存为草稿", body = ProjectDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "字段无效（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn create_project(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiJson(b): ApiJson<ProjectBody>,
) -> Result<(StatusCode, Json<ProjectDto>), ApiError> {
    let region = RegionCode::parse(b.region_code.trim())
        .map_err(|_| AppError::from(Invalid::one("region_code", "不是有效的行政区划代码")))?;
    let purchaser = b.purchaser_name.clone();
    let draft = draft_of(b);
    let acting = Acting::new(&state, user, &meta);
    let id = crate::usecase::purchase::contracts::create_project(
        &state, &acting, region, &purchaser, &draft,
    )
    .await?;
    let mut c = state.db.acquire().await?;
    let p = projects::get(&mut c.conn(), &acting.user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(dto(p))))
}

/// Filters of the project list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// Budget year.
    pub year: Option<i32>,
    /// Status code.
    pub status: Option<String>,
}

/// Projects in your subtree (a provider: the announced ones), newest first, at most 500.
#[utoipa::path(
    get,
    path = "/purchase/projects",
    tag = "purchase",
    security(("bearer" = [])),
    params(ProjectQuery),
    responses((status = 200, description = "购买项目", body = [ProjectDto]), ScopedRead)
)]
pub async fn list_projects(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<ProjectQuery>,
) -> Result<Json<Vec<ProjectDto>>, ApiError> {
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ProjectStatus::parse(s).ok_or_else(|| {
            AppError::from(Invalid::one(
                "status",
                format!("状态应为：{}", ProjectStatus::labels_list()),
            ))
        })?),
    };
    may_read(&user)?;
    let mut c = state.db.acquire().await?;
    let f = projects::Filter {
        year: q.year,
        status,
        ..Default::default()
    };
    let list = projects::list(&mut c.conn(), &user.scope, &f, 500).await?;
    Ok(Json(list.into_iter().map(dto).collect()))
}

/// A bid as returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct BidDto {
    /// Id.
    pub id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// Its name.
    pub provider_name: String,
    /// Offered price, fen.
    pub price_fen: i64,
    /// Passed the qualification check.
    pub qualified: bool,
    /// Why not.
    pub gaps: Vec<String>,
    /// 3A+ social organisation.
    pub priority: bool,
    /// Rank (none when disqualified).
    pub rank: Option<usize>,
    /// Total score in hundredths of a point.
    pub total_centi: u32,
    /// The provider's published evaluation results of earlier contracts, newest first: year,
    /// grade label, total (湘财社〔2015〕2号 九: the basis for choosing providers).
    pub past_evaluations: Vec<(i32, String, String)>,
    /// The panel's score sheets of this bid (shown to a bidder only once the award is made).
    pub sheets: Vec<SheetDto>,
    /// The documents handed in with the bid.
    pub documents: Vec<BidDocumentDto>,
}

/// A document handed in with a bid.
#[derive(Debug, Serialize, ToSchema)]
pub struct BidDocumentDto {
    /// Id (`GET /purchase/bid-documents/{id}` gives the file).
    pub id: Uuid,
    /// `proposal`, `qualification`, `price_sheet` or `other`.
    pub kind: String,
    /// 服务方案、资格证明文件、报价单、其他材料.
    pub kind_label: String,
    /// File name as uploaded.
    pub file_name: String,
    /// Size in bytes.
    pub bytes: i64,
    /// SHA-256 of the content.
    pub sha256: String,
}

/// One panel member's sheet of one bid.
#[derive(Debug, Serialize, ToSchema)]
pub struct SheetDto {
    /// The panel member.
    pub evaluator: String,
    /// Whole points per non-price criterion.
    pub scores: std::collections::BTreeMap<String, u32>,
}

/// A project with its bids and awards.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectDetailDto {
    /// The project.
    pub project: ProjectDto,
    /// Bids (a provider sees its own only).
    pub bids: Vec<BidDto>,
    /// Awards: provider name and value in fen.
    pub awards: Vec<(Uuid, String, i64)>,
}

/// One project you may see, with its bids (a provider sees only its own bid and scores).
#[utoipa::path(
    get,
    path = "/purchase/projects/{id}",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "项目编号")),
    responses((status = 200, description = "项目", body = ProjectDetailDto), ScopedRead)
)]
pub async fn show_project(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ProjectDetailDto>, ApiError> {
    may_read(&user)?;
    let mut c = state.db.acquire().await?;
    let p = projects::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let bids = selection::bids(&mut c.conn(), id).await?;
    let documents = jinglao_db::purchase::bid_documents::of_project(&mut c.conn(), id).await?;
    // A bidder learns its rank and score only once the award is made: before, the price
    // score would give away the lowest price.
    let ranked_public = !matches!(p.status, ProjectStatus::Tendering);
    let ranked = selection::ranking(&p, &bids);
    let own = user.scope.provider_id();
    let bidders: Vec<Uuid> = bids.iter().map(|b| b.provider_id).collect();
    let past = jinglao_db::purchase::evaluations::published_for(&mut c.conn(), &bidders).await?;
    let bids = bids
        .into_iter()
        .zip(ranked)
        .filter(|(b, _)| own.is_none_or(|o| o == b.provider_id))
        .map(|(b, r)| BidDto {
            id: b.id,
            provider_id: b.provider_id,
            provider_name: b.provider_name,
            price_fen: b.price_fen,
            qualified: b.qualified,
            gaps: b.gaps,
            priority: b.priority,
            rank: if own.is_none() || ranked_public {
                r.rank
            } else {
                None
            },
            total_centi: if own.is_none() || ranked_public {
                r.total_centi
            } else {
                0
            },
            past_evaluations: past
                .iter()
                .filter(|e| e.provider_id == b.provider_id)
                .map(|e| (e.year, e.grade_label().to_string(), e.total_text()))
                .collect(),
            documents: documents
                .iter()
                .filter(|d| d.bid_id == b.id)
                .map(|d| BidDocumentDto {
                    id: d.id,
                    kind: d.kind.clone(),
                    kind_label: d.kind_label().into(),
                    file_name: d.file_name.clone(),
                    bytes: d.bytes,
                    sha256: d.sha256.clone(),
                })
                .collect(),
            sheets: if own.is_none() || ranked_public {
                b.sheets
                    .into_iter()
                    .map(|(evaluator, scores)| SheetDto {
                        evaluator,
                        scores: scores.into_iter().collect(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    let awards = selection::awards(&mut c.conn(), id)
        .await?
        .into_iter()
        .map(|a| (a.id, a.provider_name, a.value_fen))
        .collect();
    Ok(Json(ProjectDetailDto {
        project: dto(p),
        bids,
        awards,
    }))
}

/// A step on a project.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StepBody {
    /// `submit` (purchasing body), `approve` or `return` (finance), `publish` (purchasing body).
    pub step: String,
    /// Why it is returned.
    #[serde(default)]
    pub reason: String,
    /// For `publish`: bids are taken until (RFC 3339).
    pub bid_deadline: Option<DateTime<Utc>>,
}

/// Submit a project to finance, approve or return it, or announce it.
#[utoipa::path(
    post,
    path = "/purchase/projects/{id}/steps",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "项目编号")),
    request_body = StepBody,
    responses(
        (status = 200, description = "已办理", body = ProjectDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "当前状态不能办理，或缺少理由、截止时间", body = ErrorEnvelope),
    )
)]
pub async fn project_step(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<StepBody>,
) -> Result<Json<ProjectDto>, ApiError> {
    let step = Step::parse(&b.step, &b.reason, b.bid_deadline).map_err(AppError::from)?;
    let acting = Acting::new(&state, user, &meta);
    Ok(Json(dto(
        usecase::take_step(&state, &acting, id, step).await?
    )))
}

/// A bid to record.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BidBody {
    /// The bidding provider.
    pub provider_id: Uuid,
    /// Price for the whole project, fen.
    pub price_fen: i64,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// What became of a bid.
#[derive(Debug, Serialize, ToSchema)]
pub struct BidOutcomeDto {
    /// Id.
    pub id: Uuid,
    /// Passed the qualification check (the seven conditions, the credit bar).
    pub qualified: bool,
    /// Why not, one sentence each.
    pub gaps: Vec<String>,
}

/// Record a provider's bid before the deadline; a provider failing the qualification check is
/// recorded as disqualified, with the reasons.
#[utoipa::path(
    post,
    path = "/purchase/projects/{id}/bids",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "项目编号")),
    request_body = BidBody,
    responses(
        (status = 201, description = "已登记（含资格审查结果）", body = BidOutcomeDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "项目不在公告期、已截止或已投过标", body = ErrorEnvelope),
    )
)]
pub async fn record_bid(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<BidBody>,
) -> Result<(StatusCode, Json<BidOutcomeDto>), ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let o = crate::usecase::purchase::contracts::record_bid(
        &state,
        &acting,
        id,
        b.provider_id,
        b.price_fen,
        &b.note,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(BidOutcomeDto {
            id: o.id,
            qualified: o.qualified,
            gaps: o.gaps,
        }),
    ))
}

/// A document handed in with a bid.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidDocumentBody {
    /// `proposal` (服务方案), `qualification` (资格证明文件), `price_sheet` (报价单) or `other`.
    pub kind: String,
    /// File name.
    pub file_name: String,
    /// The bytes, base64 (PDF, JPEG or PNG). The API's request body limit (2 MB) bounds it;
    /// larger files are uploaded on the project page.
    pub content_base64: String,
}

/// Attach a document to a bid while the project takes bids or awaits its award (the
/// purchasing body). Errors name `kind`, `file` or `bid_id`.
#[utoipa::path(
    post,
    path = "/purchase/bids/{id}/documents",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "投标编号")),
    request_body = BidDocumentBody,
    responses(
        (status = 201, description = "已登记", body = super::contracts::CreatedDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "文件类别或格式不符、项目已不在征集期", body = ErrorEnvelope),
    )
)]
pub async fn attach_bid_document(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<BidDocumentBody>,
) -> Result<(StatusCode, Json<super::contracts::CreatedDto>), ApiError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b.content_base64.trim())
        .map_err(|_| AppError::from(Invalid::one("content_base64", "不是有效的 base64")))?;
    let acting = Acting::new(&state, user, &meta);
    let doc = crate::usecase::purchase::contracts::attach_bid_document(
        &state,
        &acting,
        id,
        &b.kind,
        (&b.file_name, &bytes),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(super::contracts::CreatedDto { id: doc }),
    ))
}

/// A document handed in with a bid (checked against its checksum); a bidder reads its own.
#[utoipa::path(
    get,
    path = "/purchase/bid-documents/{id}",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "投标文件编号")),
    responses((status = 200, description = "投标文件", content_type = "application/pdf"), ScopedRead)
)]
pub async fn bid_document(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::response::Response, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let (d, bytes) = crate::usecase::purchase::contracts::bid_document(&state, &acting, id).await?;
    Ok(crate::download::attachment(
        &d.content_type,
        "bid-document",
        &d.file_name,
        bytes,
    ))
}

/// One panel member's score sheet of one bid.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SheetBody {
    /// The panel member's name.
    pub evaluator: String,
    /// Whole points for each non-price criterion of the project, by name, e.g.
    /// `{"服务方案": 60, "人员资质": 18}`; the price score follows from the prices.
    pub scores: std::collections::BTreeMap<String, u32>,
}

/// Record one panel member's score sheet of a qualified bid, after the bid deadline (综合评分法).
/// A second sheet by the same member for the same bid replaces the first; the ranking follows
/// from all sheets. Errors name `scores.<criterion>`.
#[utoipa::path(
    post,
    path = "/purchase/bids/{id}/scores",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "投标编号")),
    request_body = SheetBody,
    responses(
        (status = 204, description = "已保存"),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "未到截止时间、投标未通过资格审查、缺项或超过分值", body = ErrorEnvelope),
    )
)]
pub async fn score_bid(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<SheetBody>,
) -> Result<StatusCode, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let scores: Vec<(String, u32)> = b.scores.into_iter().collect();
    crate::usecase::purchase::contracts::score_bid(&state, &acting, id, &b.evaluator, &scores)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An award.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AwardBody {
    /// The winning bids (several only for 多家承接、老人自选).
    pub bid_ids: Vec<Uuid>,
    /// Why, when not the first-ranked.
    #[serde(default)]
    pub reason: String,
}

/// Award the project after the bid deadline.
#[utoipa::path(
    post,
    path = "/purchase/projects/{id}/award",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "项目编号")),
    request_body = AwardBody,
    responses(
        (status = 200, description = "已确定承接主体：各中标的编号", body = [Uuid]),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "未到截止时间、资格不符或缺少理由", body = ErrorEnvelope),
    )
)]
pub async fn award_project(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<AwardBody>,
) -> Result<Json<Vec<Uuid>>, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    Ok(Json(
        crate::usecase::purchase::contracts::award(&state, &acting, id, &b.bid_ids, &b.reason)
            .await?,
    ))
}

/// A contract price.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PriceBody {
    /// Service-list item (one the project buys).
    pub item_code: String,
    /// Unit price, fen.
    pub unit_fen: i64,
    /// Minimum minutes per visit.
    #[serde(default)]
    pub min_minutes: u32,
    /// Needs a certified caregiver.
    #[serde(default)]
    pub needs_certificate: bool,
}

/// A signed contract.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ContractBody {
    /// Contract number.
    pub contract_no: String,
    /// Scope and subject.
    pub scope: String,
    /// Unit prices: settlement uses only these.
    pub prices: Vec<PriceBody>,
    /// The most money it pays, fen (not above the award).
    pub ceiling_fen: i64,
    /// The most units it pays for.
    pub quantity_ceiling: Option<u64>,
    /// Quality requirements.
    pub quality: String,
    /// Term start.
    pub start: NaiveDate,
    /// Term end.
    pub end: NaiveDate,
    /// `monthly_verified`, `milestones` or `per_head`.
    pub payment_terms: String,
    /// Rights, obligations and breach terms.
    pub breach_terms: String,
    /// Signed on.
    pub signed_on: NaiveDate,
    /// The provider's bank (开户银行) payments go to.
    pub payee_bank: String,
    /// The provider's account number (银行账号).
    pub payee_account: String,
}

/// Record the contract signed for an award; its prices become the provider's settlement prices.
#[utoipa::path(
    post,
    path = "/purchase/awards/{id}/contract",
    tag = "purchase",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "中标编号")),
    request_body = ContractBody,
    responses(
        (status = 201, description = "已登记：合同编号", body = Uuid),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "字段无效、单价与已有价格重叠或合同已登记", body = ErrorEnvelope),
    )
)]
pub async fn sign_contract(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ContractBody>,
) -> Result<(StatusCode, Json<Uuid>), ApiError> {
    let draft = ContractDraft {
        contract_no: b.contract_no,
        scope: b.scope,
        prices: b
            .prices
            .into_iter()
            .map(|x| {
                (
                    x.item_code,
                    jinglao_domain::settlement::yuan(x.unit_fen),
                    x.min_minutes.to_string(),
                    x.needs_certificate.to_string(),
                )
            })
            .collect(),
        ceiling_yuan: String::new(),
        ceiling_fen: Some(b.ceiling_fen),
        quantity_ceiling: b
            .quantity_ceiling
            .map(|q| q.to_string())
            .unwrap_or_default(),
        quality: b.quality,
        start: b.start.to_string(),
        end: b.end.to_string(),
        payment_terms: b.payment_terms,
        breach_terms: b.breach_terms,
        signed_on: b.signed_on.to_string(),
        payee_bank: b.payee_bank,
        payee_account: b.payee_account,
    };
    let acting = Acting::new(&state, user, &meta);
    let id = crate::usecase::purchase::contracts::sign(&state, &acting, id, &draft).await?;
    Ok((StatusCode::CREATED, Json(id)))
}
