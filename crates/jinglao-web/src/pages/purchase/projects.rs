//! Purchase projects of the annual plan (年度购买计划): the list in the caller's subtree — for
//! finance the projects waiting for its review first — and one project with everything finance
//! reviews (content, quantity, budget, funding, mode, criteria, term) and the step the caller
//! may take: the purchasing body submits and announces; finance approves or returns it with a
//! reason.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDateTime;
use jinglao_db::purchase::{contracts, projects};
use jinglao_domain::clock::{china_time, format_local};
use jinglao_domain::purchase::project::{ProjectStatus, QuantityLine};
use jinglao_domain::settlement::yuan;
use jinglao_domain::{Invalid, Permission};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, IdPath, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::purchase::{self as usecase, Step};

fn may_view(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::PlanPurchases) || user.can(Permission::ApprovePurchases) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "只有民政部门和财政部门的工作人员可以查看购买服务项目".into(),
        ))
    }
}

/// A project in the list.
pub struct Row {
    /// The project.
    pub p: projects::Project,
    /// Budget in yuan.
    pub budget: String,
    /// Waiting for this person.
    pub mine: bool,
}

/// Filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    year: String,
    status: String,
}

/// `GET /purchase/projects`.
#[derive(Template)]
#[template(path = "purchase/projects.html")]
pub struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    q: ListQuery,
    statuses: Vec<(&'static str, &'static str)>,
    waiting: usize,
    can_draft: bool,
}

/// Whether a project in `status` waits for `user` (finance: to review; the purchasing body:
/// to submit again or to announce).
fn waits_for(user: &CurrentUser, status: ProjectStatus) -> bool {
    match status {
        ProjectStatus::Submitted => user.can(Permission::ApprovePurchases),
        ProjectStatus::Returned | ProjectStatus::Approved => user.can(Permission::PlanPurchases),
        _ => false,
    }
}

/// `GET /purchase/projects`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let f = projects::Filter {
        year: q.year.trim().parse().ok(),
        status: ProjectStatus::parse(q.status.trim()),
        ..Default::default()
    };
    let mut c = state.db.acquire().await?;
    let mut rows: Vec<Row> = projects::list(&mut c.conn(), &user.scope, &f, 500)
        .await?
        .into_iter()
        .map(|p| Row {
            budget: yuan(p.input.budget_fen),
            mine: waits_for(&user, p.status),
            p,
        })
        .collect();
    // The work waiting for this person first; the list is otherwise newest first.
    rows.sort_by_key(|r| !r.mine);
    let waiting = rows.iter().filter(|r| r.mine).count();
    render(&ListPage {
        ctx,
        rows,
        q,
        statuses: ProjectStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        waiting,
        can_draft: user.can(Permission::PlanPurchases) && user.scope.provider_id().is_none(),
    })
}

/// A contract of the project, for the page.
pub struct ContractRow {
    /// Id.
    pub id: Uuid,
    /// Number.
    pub no: String,
    /// Ceiling in yuan.
    pub ceiling: String,
    /// Term.
    pub term: String,
    /// Filed with finance on.
    pub filed: Option<String>,
}

/// A bid, for the page.
pub struct BidRow {
    /// Id.
    pub id: Uuid,
    /// Provider.
    pub provider: String,
    /// Price, yuan.
    pub price: String,
    /// Qualified.
    pub qualified: bool,
    /// Why not.
    pub gaps: String,
    /// Rank.
    pub rank: Option<usize>,
    /// Score.
    pub total: String,
    /// Published evaluations of the provider's earlier contracts.
    pub past: String,
    /// Documents handed in with it: id and "kind：file name".
    pub documents: Vec<(Uuid, String)>,
}

/// One criterion of the panel's score form, ready to show.
pub struct ScoreField {
    /// Criterion name.
    pub name: String,
    /// Its weight (the most points).
    pub weight: u32,
    /// The input's name (`scores.<criterion>`).
    pub field: String,
    /// The value as typed (after an error).
    pub value: String,
    /// Why it was refused.
    pub error: Option<String>,
}

/// One panel member's sheet for one bid, for the page.
pub struct SheetRow {
    /// Provider.
    pub provider: String,
    /// Panel member.
    pub evaluator: String,
    /// Points per criterion, in the order of the score form's criteria.
    pub scores: Vec<String>,
}

/// The score form as last sent.
#[derive(Debug, Default, Clone)]
pub struct SheetForm {
    bid_id: String,
    evaluator: String,
    typed: Vec<(String, String)>,
}

/// The score form's fields for the project's non-price criteria.
fn score_fields(p: &projects::Project, errors: &FormErrors, typed: &SheetForm) -> Vec<ScoreField> {
    p.input
        .criteria
        .iter()
        .filter(|c| c.name != jinglao_domain::purchase::project::PRICE_CRITERION)
        .map(|c| {
            let field = format!("scores.{}", c.name);
            ScoreField {
                value: typed
                    .typed
                    .iter()
                    .find(|(n, _)| *n == c.name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                error: errors.get(&field).map(|m| m.to_string()),
                name: c.name.clone(),
                weight: c.weight,
                field,
            }
        })
        .collect()
}

/// An award waiting for its contract.
pub struct PendingAward {
    /// Award.
    pub id: Uuid,
    /// Provider.
    pub provider: String,
    /// Value, yuan.
    pub value: String,
}

/// `GET /purchase/projects/{id}`.
#[derive(Template)]
#[template(path = "purchase/project.html")]
pub struct ShowPage {
    ctx: PageCtx,
    errors: FormErrors,
    p: projects::Project,
    budget: String,
    items: Vec<String>,
    regions: Vec<String>,
    quantities: Vec<(String, QuantityLine, u64)>,
    contracts: Vec<ContractRow>,
    deadline: Option<String>,
    can_submit: bool,
    /// The project may be changed here (a draft, a returned one, or approved and not announced).
    can_edit: bool,
    can_decide: bool,
    can_publish: bool,
    form: StepForm,
    bids: Vec<BidRow>,
    can_bid: bool,
    can_award: bool,
    /// The panel may record score sheets (a scored mode, after the deadline).
    can_score: bool,
    /// Documents may be attached to the bids (while the project takes bids or awaits its award).
    can_attach: bool,
    /// Kinds of bid document: stable name and label.
    document_kinds: Vec<(&'static str, &'static str)>,
    score_fields: Vec<ScoreField>,
    sheets: Vec<SheetRow>,
    sheet: SheetForm,
    providers: Vec<(Uuid, String)>,
    pending: Vec<PendingAward>,
    item_codes: Vec<(String, String)>,
    terms: Vec<(&'static str, &'static str)>,
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
    form: StepForm,
) -> Result<ShowPage, PageError> {
    may_view(user)?;
    let mut c = state.db.acquire().await?;
    let p = projects::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let names = jinglao_db::service_lists::item_names(&mut c.conn()).await?;
    let signed_contracts = contracts::of_project(&mut c.conn(), id).await?;
    let signed: Vec<Uuid> = signed_contracts.iter().map(|k| k.award_id).collect();
    let contracts = signed_contracts
        .into_iter()
        .map(|k| ContractRow {
            id: k.id,
            ceiling: yuan(k.input.ceiling_fen),
            term: format!("{} 至 {}", k.input.start, k.input.end),
            filed: k.filed_on.map(|d| d.to_string()),
            no: k.input.contract_no,
        })
        .collect();
    let bid_list = jinglao_db::purchase::selection::bids(&mut c.conn(), id).await?;
    let documents = jinglao_db::purchase::bid_documents::of_project(&mut c.conn(), id).await?;
    let ranked = jinglao_db::purchase::selection::ranking(&p, &bid_list);
    let fields = score_fields(&p, &errors, &SheetForm::default());
    let sheets: Vec<SheetRow> = bid_list
        .iter()
        .flat_map(|b| {
            let fields = &fields;
            b.sheets.iter().map(move |(who, scores)| SheetRow {
                provider: b.provider_name.clone(),
                evaluator: who.clone(),
                scores: fields
                    .iter()
                    .map(|f| {
                        scores
                            .iter()
                            .find(|(n, _)| *n == f.name)
                            .map_or_else(|| "—".to_string(), |(_, v)| v.to_string())
                    })
                    .collect(),
            })
        })
        .collect();
    let bidders: Vec<Uuid> = bid_list.iter().map(|b| b.provider_id).collect();
    let past = jinglao_db::purchase::evaluations::published_for(&mut c.conn(), &bidders).await?;
    let bids: Vec<BidRow> = bid_list
        .iter()
        .zip(ranked)
        .map(|(b, r)| BidRow {
            id: b.id,
            provider: b.provider_name.clone(),
            price: yuan(b.price_fen),
            qualified: b.qualified,
            gaps: b.gaps.join("；"),
            rank: r.rank,
            total: format!("{}.{:02}", r.total_centi / 100, r.total_centi % 100),
            past: past
                .iter()
                .filter(|e| e.provider_id == b.provider_id)
                .map(|e| format!("{} 年{}（{} 分）", e.year, e.grade_label(), e.total_text()))
                .collect::<Vec<_>>()
                .join("；"),
            documents: documents
                .iter()
                .filter(|d| d.bid_id == b.id)
                .map(|d| (d.id, format!("{}：{}", d.kind_label(), d.file_name)))
                .collect(),
        })
        .collect();
    let awards = jinglao_db::purchase::selection::awards(&mut c.conn(), id).await?;
    let pending: Vec<PendingAward> = awards
        .into_iter()
        .filter(|a| !signed.contains(&a.id))
        .map(|a| PendingAward {
            id: a.id,
            provider: a.provider_name,
            value: yuan(a.value_fen),
        })
        .collect();
    let plan = user.can(Permission::PlanPurchases) && user.scope.provider_id().is_none();
    let now = state.clock.now();
    let tendering = p.status == ProjectStatus::Tendering;
    let closed = p.bid_deadline.is_some_and(|d| d <= now);
    let providers = if plan && tendering && !closed {
        jinglao_db::providers::list(&mut c.conn(), &jinglao_domain::Scope::All)
            .await?
            .into_iter()
            .map(|pr| (pr.id, pr.name))
            .collect()
    } else {
        Vec::new()
    };
    drop(c);
    let status = p.status;
    Ok(ShowPage {
        ctx: ctx.with_errors(&errors),
        errors,
        budget: yuan(p.input.budget_fen),
        items: p
            .input
            .item_codes
            .iter()
            .map(|code| names.name(code).to_string())
            .collect(),
        regions: p
            .input
            .regions
            .iter()
            .map(|r| state.region_path(r))
            .collect(),
        quantities: p
            .input
            .quantities
            .iter()
            .map(|q| {
                (
                    names.name(&q.item_code).to_string(),
                    q.clone(),
                    q.total_units(),
                )
            })
            .collect(),
        contracts,
        deadline: p.bid_deadline.map(format_local),
        can_submit: user.can(Permission::PlanPurchases)
            && matches!(status, ProjectStatus::Draft | ProjectStatus::Returned),
        can_edit: plan && (status.is_editable() || status == ProjectStatus::Approved),
        can_decide: user.can(Permission::ApprovePurchases) && status == ProjectStatus::Submitted,
        can_publish: user.can(Permission::PlanPurchases) && status == ProjectStatus::Approved,
        form,
        bids,
        can_bid: plan && tendering && !closed,
        can_award: plan && tendering && closed,
        can_score: plan
            && tendering
            && closed
            && jinglao_domain::purchase::selection::panel_scores(p.input.mode, &p.input.criteria),
        can_attach: plan && tendering && !closed && !bid_list.is_empty(),
        document_kinds: jinglao_domain::purchase::selection::BidDocumentKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        score_fields: fields,
        sheets,
        sheet: SheetForm::default(),
        providers,
        pending: if plan { pending } else { Vec::new() },
        item_codes: p
            .input
            .item_codes
            .iter()
            .map(|code| (code.clone(), names.name(code).to_string()))
            .collect(),
        terms: jinglao_domain::purchase::contract::PaymentTerms::ALL
            .iter()
            .map(|t| (t.as_str(), t.label()))
            .collect(),
        p,
    })
}

/// `GET /purchase/projects/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    render(
        &show_page(
            &state,
            ctx,
            &user,
            id,
            FormErrors::new(),
            StepForm::default(),
        )
        .await?,
    )
}

/// The step form.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct StepForm {
    step: String,
    reason: String,
    /// `2026-12-20T17:00` (Beijing time, a `datetime-local` field).
    bid_deadline: String,
}

/// `POST /purchase/projects/{id}/step`
pub async fn step(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<StepForm>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let deadline = match form.bid_deadline.trim() {
        "" => None,
        text => Some(
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                .map(|t| china_time(t.date(), t.time()))
                .map_err(|_| {
                    AppError::from(Invalid::one(
                        "bid_deadline",
                        "请按 年-月-日 时:分 填写截止时间",
                    ))
                })?,
        ),
    };
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = match Step::parse(&form.step, &form.reason, deadline) {
        Ok(step) => usecase::take_step(&state, &acting, id, step).await,
        Err(i) => Err(AppError::Invalid(i)),
    };
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/purchase/projects/{id}?notice=project_stepped"))
                .into_response(),
        ),
        Err(AppError::Invalid(errors)) => render_with_status(
            &show_page(&state, ctx, &user, id, errors, form).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// Answers a project-page form: back to the project, or the page again with the errors.
async fn again(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    result: Result<(), AppError>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(
            Redirect::to(&format!("/purchase/projects/{id}?notice=project_stepped"))
                .into_response(),
        ),
        Err(AppError::Invalid(errors)) => render_with_status(
            &show_page(state, ctx, user, id, errors, StepForm::default()).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// The bid form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BidForm {
    provider_id: String,
    price_yuan: String,
    note: String,
}

/// `POST /purchase/projects/{id}/bids`: records a bid (or offer) handed in before the deadline.
pub async fn bid(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<BidForm>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let acting = Acting::new(&state, user.clone(), &meta);
    let provider = Uuid::parse_str(form.provider_id.trim());
    let price =
        jinglao_domain::supply::facility_input::yuan_to_fen(&form.price_yuan).filter(|f| *f > 0);
    let result = match (provider, price) {
        (Ok(p), Some(f)) => {
            crate::usecase::purchase::contracts::record_bid(&state, &acting, id, p, f, &form.note)
                .await
                .map(|_| ())
        }
        (Err(_), _) => Err(AppError::Invalid(Invalid::one(
            "provider_id",
            "请选择投标（报价）的承接主体",
        ))),
        (_, None) => Err(AppError::Invalid(Invalid::one(
            "price_yuan",
            "请填写报价金额（元），如 548000",
        ))),
    };
    again(&state, ctx, &user, id, result).await
}

/// The bid `text` names, when it is a bid of project `id` (a form names its bid; the address
/// names the project, and the two must agree).
async fn bid_in(state: &AppState, id: Uuid, text: &str) -> Result<Option<Uuid>, PageError> {
    let Ok(bid) = Uuid::parse_str(text.trim()) else {
        return Ok(None);
    };
    let mut c = state.db.acquire().await?;
    let bids = jinglao_db::purchase::selection::bids(&mut c.conn(), id).await?;
    Ok(bids.iter().any(|b| b.id == bid).then_some(bid))
}

/// `POST /purchase/projects/{id}/scores`: one panel member's sheet for one bid: `bid_id`,
/// `evaluator` and `scores.<criterion>` (whole points) for each non-price criterion.
pub async fn score(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    let form = SheetForm {
        bid_id: get("bid_id"),
        evaluator: get("evaluator"),
        typed: fields
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("scores.")
                    .map(|n| (n.to_string(), v.clone()))
            })
            .collect(),
    };
    let p = {
        let mut c = state.db.acquire().await?;
        projects::get(&mut c.conn(), &user.scope, id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    let bid = bid_in(&state, id, &form.bid_id).await?.ok_or(());
    let result = match (
        bid,
        jinglao_domain::purchase::selection::parse_sheet(&p.input.criteria, &form.typed),
    ) {
        (Err(_), _) => Err(AppError::Invalid(Invalid::one(
            "bid_id",
            "请选择评分的投标",
        ))),
        (_, Err(i)) => Err(AppError::Invalid(i)),
        (Ok(bid), Ok(scores)) => {
            let acting = Acting::new(&state, user.clone(), &meta);
            crate::usecase::purchase::contracts::score_bid(
                &state,
                &acting,
                bid,
                &form.evaluator,
                &scores,
            )
            .await
        }
    };
    match result {
        Ok(()) => Ok(
            Redirect::to(&format!("/purchase/projects/{id}?notice=bid_scored#sheets"))
                .into_response(),
        ),
        Err(AppError::Invalid(errors)) => {
            let mut page =
                show_page(&state, ctx, &user, id, errors.clone(), StepForm::default()).await?;
            page.score_fields = score_fields(&page.p, &errors, &form);
            page.sheet = form;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /purchase/projects/{id}/bid-documents` (multipart: `bid_id`, `kind`, `file`).
pub async fn attach_document(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let limit_mb = jinglao_domain::evidence::MAX_EVIDENCE_BYTES / 1024 / 1024;
    let mut up = crate::pages::upload::read(&mut multipart, "file", "投标文件", limit_mb).await?;
    let bid = bid_in(&state, id, up.text("bid_id")).await?.ok_or(());
    let kind = up.text("kind").to_string();
    let result = match (bid, up.take_file()) {
        (Err(_), _) => Err(AppError::Invalid(Invalid::one("bid_id", "请选择投标"))),
        (_, None) => Err(AppError::Invalid(Invalid::one(
            "file",
            "请选择要上传的文件（PDF、JPEG 或 PNG）",
        ))),
        (Ok(bid), Some((name, bytes))) => {
            let acting = Acting::new(&state, user.clone(), &meta);
            crate::usecase::purchase::contracts::attach_bid_document(
                &state,
                &acting,
                bid,
                &kind,
                (&name, &bytes),
            )
            .await
            .map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/purchase/projects/{id}?notice=bid_document_attached#bids"
        ))
        .into_response()),
        Err(e) => again(&state, ctx, &user, id, Err(e)).await,
    }
}

/// `GET /purchase/bid-documents/{id}`: a bid's document (a bidder: its own).
pub async fn document(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user, &meta);
    let (d, bytes) = crate::usecase::purchase::contracts::bid_document(&state, &acting, id).await?;
    Ok(crate::download::attachment(
        &d.content_type,
        "bid-document",
        &d.file_name,
        bytes,
    ))
}

/// `POST /purchase/projects/{id}/award`: `bid` repeated (the chosen bids) and `reason`.
pub async fn award(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let acting = Acting::new(&state, user.clone(), &meta);
    let bids: Vec<Uuid> = fields
        .iter()
        .filter(|(k, _)| k == "bid")
        .filter_map(|(_, v)| Uuid::parse_str(v.trim()).ok())
        .collect();
    let reason = fields
        .iter()
        .find(|(k, _)| k == "reason")
        .map_or("", |(_, v)| v.as_str());
    let result = if bids.is_empty() {
        Err(AppError::Invalid(Invalid::one(
            "bid_ids",
            "请勾选确定的承接主体",
        )))
    } else {
        crate::usecase::purchase::contracts::award(&state, &acting, id, &bids, reason)
            .await
            .map(|_| ())
    };
    again(&state, ctx, &user, id, result).await
}

/// `POST /purchase/projects/{id}/awards/{award}/contract`: the contract as typed, with
/// `price.<item>`, `minutes.<item>` and `cert.<item>` per item bought.
pub async fn sign(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    axum::extract::Path((id, award)): axum::extract::Path<(Uuid, Uuid)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    let items: Vec<String> = fields
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("price.").map(str::to_string))
        .collect();
    let draft = jinglao_domain::purchase::contract::ContractDraft {
        contract_no: get("contract_no"),
        scope: get("scope"),
        prices: items
            .iter()
            .map(|i| {
                (
                    i.clone(),
                    get(&format!("price.{i}")),
                    get(&format!("minutes.{i}")),
                    if get(&format!("cert.{i}")).is_empty() {
                        String::new()
                    } else {
                        "是".into()
                    },
                )
            })
            .collect(),
        ceiling_yuan: get("ceiling_yuan"),
        ceiling_fen: None,
        quantity_ceiling: get("quantity_ceiling"),
        quality: get("quality"),
        start: get("start"),
        end: get("end"),
        payment_terms: get("payment_terms"),
        breach_terms: get("breach_terms"),
        signed_on: get("signed_on"),
        payee_bank: get("payee_bank"),
        payee_account: get("payee_account"),
    };
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = crate::usecase::purchase::contracts::sign(&state, &acting, award, &draft).await;
    match result {
        Ok(k) => Ok(
            Redirect::to(&format!("/purchase/contracts/{k}?notice=project_stepped"))
                .into_response(),
        ),
        Err(e) => again(&state, ctx, &user, id, Err(e)).await,
    }
}
