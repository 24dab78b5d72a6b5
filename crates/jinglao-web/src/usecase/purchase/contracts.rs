//! A contract after signing (履约管理、验收、绩效评价): the use cases shared by the contract and
//! evaluation pages and the API — the live performance view with its warnings, acceptances
//! (with the third party's report), early termination, and the year-end evaluation by every
//! party, published for the public and shown beside the provider's later bids.

use jinglao_db::purchase::acceptances::{self, Acceptance, Report};
use jinglao_db::purchase::contracts::{self, Contract};
use jinglao_db::purchase::evaluations::{self, Evaluation, PartyScore, Published, SurveyCall};
use jinglao_db::purchase::performance::{self, Performance};
use jinglao_db::purchase::projects::Project;
use jinglao_domain::purchase::acceptance::AcceptanceDraft;
use jinglao_domain::purchase::evaluation::{Party, Satisfaction};
use jinglao_domain::{Permission, Role};
use uuid::Uuid;

use super::super::Acting;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// Staff who run or review purchases read contracts; a provider reads its own.
fn may_read(user: &CurrentUser) -> Result<(), AppError> {
    if user.scope.provider_id().is_some()
        || user.can(Permission::PlanPurchases)
        || user.can(Permission::ApprovePurchases)
    {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "只有政府购买服务的经办、财政审核人员和承接主体可以查看购买服务合同".into(),
        ))
    }
}

/// Everything about a contract.
pub struct ContractView {
    /// The contract.
    pub contract: Contract,
    /// Its project.
    pub project: Project,
    /// The provider's name.
    pub provider_name: String,
    /// Live figures.
    pub performance: Performance,
    /// Acceptances, in the order recorded.
    pub acceptances: Vec<Acceptance>,
    /// Evaluations, newest year first.
    pub evaluations: Vec<Evaluation>,
}

async fn provider_name(state: &AppState, id: Uuid) -> Result<String, AppError> {
    let mut c = state.db.acquire().await?;
    Ok(
        jinglao_db::providers::get(&mut c.conn(), &jinglao_domain::Scope::All, id)
            .await?
            .map(|p| p.name)
            .unwrap_or_default(),
    )
}

/// A contract in the caller's reach, with its figures as of today.
pub async fn show(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<ContractView, AppError> {
    may_read(user)?;
    let mut c = state.db.acquire().await?;
    let (contract, project) = contracts::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let performance =
        performance::of_contract(&mut c.conn(), &contract, &project, state.today()).await?;
    let acceptances = acceptances::list(&mut c.conn(), id).await?;
    let mut evaluations = evaluations::of_contract(&mut c.conn(), id).await?;
    // A provider sees its results once published, not the marks while they are given.
    if user.scope.provider_id().is_some() {
        evaluations.retain(Evaluation::is_published);
    }
    drop(c);
    Ok(ContractView {
        provider_name: provider_name(state, contract.provider_id).await?,
        contract,
        project,
        performance,
        acceptances,
        evaluations,
    })
}

/// Records an acceptance with its report (name and bytes), if any.
pub async fn accept(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    draft: &AcceptanceDraft,
    report: Option<(&str, &[u8])>,
) -> Result<Uuid, AppError> {
    Ok(acceptances::record(
        &acting.write(state),
        &state.settings.files_dir,
        id,
        draft,
        report,
    )
    .await?)
}

/// An acceptance's report, checked against its checksum; each download is audited (a report
/// names the people whose service was inspected).
pub async fn report(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    acceptance: Uuid,
) -> Result<(Report, Vec<u8>), AppError> {
    may_read(&acting.user)?;
    let mut c = state.db.acquire().await?;
    let found = acceptances::read_report(
        &mut c.conn(),
        &acting.user.scope,
        &state.settings.files_dir,
        id,
        acceptance,
    )
    .await?;
    drop(c);
    let event =
        jinglao_db::audit::Event::new("purchase_contract.report_read", "purchase_contract", id)
            .detail(serde_json::json!({ "acceptance": acceptance, "sha256": found.0.sha256 }));
    acting.audit(state, event).await?;
    Ok(found)
}

/// Ends a contract early from `on`.
pub async fn terminate(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    on: chrono::NaiveDate,
    reason: &str,
) -> Result<(), AppError> {
    Ok(contracts::terminate(&acting.write(state), id, on, reason).await?)
}

/// An evaluation and what the caller may see and do with it.
pub struct EvaluationView {
    /// The evaluation.
    pub evaluation: Evaluation,
    /// Its contract.
    pub contract: Contract,
    /// Its project.
    pub project: Project,
    /// The provider's name.
    pub provider_name: String,
    /// Marks so far.
    pub scores: Vec<PartyScore>,
    /// The recipients' answers so far.
    pub satisfaction: Satisfaction,
    /// The survey sample (the purchasing body only: it holds names).
    pub survey: Vec<SurveyCall>,
    /// The party the caller marks as, if it marks.
    pub my_party: Option<Party>,
    /// Whether the caller is the purchasing body (draws, calls, names, publishes).
    pub purchaser: bool,
    /// The contract's figures (what the third party reads).
    pub performance: Performance,
    /// Its acceptances.
    pub acceptances: Vec<Acceptance>,
}

/// An evaluation the caller is part of: the purchasing body and finance through the project's
/// region, a third-party evaluator where it is named. Reading it is audited for the third
/// party (it reads a contract outside any subtree).
pub async fn evaluation(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
) -> Result<EvaluationView, AppError> {
    let user = &acting.user;
    let mut c = state.db.acquire().await?;
    let (evaluation, contract, project) = evaluations::reach(&mut c.conn(), &acting.actor, id)
        .await
        .map_err(|e| match e {
            jinglao_db::DbError::NotFound => AppError::NotFound,
            e => e.into(),
        })?;
    let scores = evaluations::scores(&mut c.conn(), id).await?;
    let satisfaction = evaluations::satisfaction(&mut c.conn(), &evaluation).await?;
    let purchaser = user.can(Permission::PlanPurchases);
    let survey = if purchaser {
        evaluations::survey(&mut c.conn(), id).await?
    } else {
        Vec::new()
    };
    let performance =
        performance::of_contract(&mut c.conn(), &contract, &project, state.today()).await?;
    let acceptances = acceptances::list(&mut c.conn(), contract.id).await?;
    drop(c);
    if !survey.is_empty() {
        // The sample is a list of people by name.
        let event = jinglao_db::audit::Event::new(
            "purchase_evaluation.survey_read",
            "purchase_project",
            project.id,
        )
        .region(Some(project.region))
        .detail(serde_json::json!({ "evaluation": id, "people": survey.len() }));
        acting.audit(state, event).await?;
    }
    if user.account.role == Role::Evaluator {
        let event = jinglao_db::audit::Event::new(
            "purchase_evaluation.read",
            "purchase_project",
            project.id,
        )
        .region(Some(project.region))
        .detail(serde_json::json!({ "evaluation": id, "contract_no": contract.input.contract_no }));
        acting.audit(state, event).await?;
    }
    Ok(EvaluationView {
        my_party: evaluations::party_of(&acting.actor).filter(|p| evaluation.scheme.weight(*p) > 0),
        provider_name: provider_name(state, contract.provider_id).await?,
        evaluation,
        contract,
        project,
        scores,
        satisfaction,
        survey,
        purchaser,
        performance,
        acceptances,
    })
}

/// One line of the caller's evaluation list.
pub struct EvaluationRow {
    /// The evaluation.
    pub evaluation: Evaluation,
    /// Contract number.
    pub contract_no: String,
    /// Project title.
    pub title: String,
    /// Provider.
    pub provider_name: String,
}

/// The evaluations waiting for or done by the caller: a third party's named ones; staff's in
/// their subtree.
pub async fn mine(state: &AppState, user: &CurrentUser) -> Result<Vec<EvaluationRow>, AppError> {
    let mut c = state.db.acquire().await?;
    let rows = if user.account.role == Role::Evaluator {
        evaluations::named_on(&mut c.conn(), user.account.id).await?
    } else if user.can(Permission::EvaluateContracts) && user.scope.provider_id().is_none() {
        evaluations::in_scope(&mut c.conn(), &user.scope).await?
    } else {
        return Err(AppError::Forbidden("您的账号不参与绩效评价".into()));
    };
    Ok(rows
        .into_iter()
        .map(
            |(evaluation, contract_no, title, provider_name)| EvaluationRow {
                evaluation,
                contract_no,
                title,
                provider_name,
            },
        )
        .collect())
}

/// Opens a contract's evaluation for `year`, drawing `survey_size` people to call.
pub async fn open(
    state: &AppState,
    acting: &Acting,
    contract: Uuid,
    year: i32,
    survey_size: usize,
) -> Result<Uuid, AppError> {
    Ok(evaluations::open(&acting.write(state), contract, year, survey_size).await?)
}

/// Names a third-party evaluator account.
pub async fn name_evaluator(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    username: &str,
) -> Result<(), AppError> {
    Ok(evaluations::name_evaluator(&acting.write(state), id, username).await?)
}

/// The caller's party's marks.
pub async fn score(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    marks: &[(String, u32)],
    comment: &str,
) -> Result<(), AppError> {
    Ok(evaluations::score(&acting.write(state), id, marks, comment).await?)
}

/// A survey call's answer.
pub async fn record_call(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    elder: Uuid,
    stars: Option<u8>,
    note: &str,
) -> Result<(), AppError> {
    Ok(evaluations::record_call(&acting.write(state), id, elder, stars, note).await?)
}

/// Publishes the result.
pub async fn publish(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
) -> Result<(u32, jinglao_domain::purchase::evaluation::Grade), AppError> {
    Ok(evaluations::publish(&acting.write(state), id).await?)
}

/// Published results (public).
pub async fn published(state: &AppState) -> Result<Vec<Published>, AppError> {
    let mut c = state.db.acquire().await?;
    Ok(evaluations::published(&mut c.conn(), 500).await?)
}

/// Records a provider's bid (or offer) on an announced project: the provider is checked at once
/// against the seven conditions and its credit record; a failing bidder is kept, disqualified,
/// with each reason.
pub async fn record_bid(
    state: &AppState,
    acting: &Acting,
    project: Uuid,
    provider: Uuid,
    price_fen: i64,
    note: &str,
) -> Result<jinglao_db::purchase::selection::BidOutcome, AppError> {
    Ok(jinglao_db::purchase::selection::record_bid(
        &acting.write(state),
        project,
        provider,
        price_fen,
        note,
    )
    .await?)
}

/// Attaches a document (服务方案、资格证明文件、报价单…) to a bid while the project takes bids
/// or awaits its award.
pub async fn attach_bid_document(
    state: &AppState,
    acting: &Acting,
    bid: Uuid,
    kind: &str,
    file: (&str, &[u8]),
) -> Result<Uuid, AppError> {
    Ok(jinglao_db::purchase::bid_documents::attach(
        &acting.write(state),
        &state.settings.files_dir,
        bid,
        kind,
        file,
    )
    .await?)
}

/// A bid's document, checked against its checksum (a provider's administrator reads its own
/// bids' only); each read is audited.
pub async fn bid_document(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
) -> Result<(jinglao_db::purchase::bid_documents::BidDocument, Vec<u8>), AppError> {
    may_read(&acting.user)?;
    // A bidder's price sheet and proposal are its administrators' business, not its caregivers'.
    if acting.user.scope.provider_id().is_some()
        && acting.user.account.role != jinglao_domain::Role::ProviderAdmin
    {
        return Err(AppError::Forbidden("查看投标文件".into()));
    }
    let mut c = state.db.acquire().await?;
    let found = jinglao_db::purchase::bid_documents::read(
        &mut c.conn(),
        &acting.user.scope,
        &state.settings.files_dir,
        id,
    )
    .await?;
    drop(c);
    let event =
        jinglao_db::audit::Event::new("purchase_bid.document_read", "purchase_bid", found.0.bid_id)
            .detail(serde_json::json!({ "document": id, "sha256": found.0.sha256 }));
    acting.audit(state, event).await?;
    Ok(found)
}

/// Records one panel member's score sheet for a qualified bid after the deadline (a second
/// sheet by the same member replaces the first); the ranking follows from the sheets.
pub async fn score_bid(
    state: &AppState,
    acting: &Acting,
    bid: Uuid,
    evaluator: &str,
    scores: &[(String, u32)],
) -> Result<(), AppError> {
    Ok(
        jinglao_db::purchase::selection::score(&acting.write(state), bid, evaluator, scores)
            .await?,
    )
}

/// Awards a project to the chosen bids, with the reason where it departs from the ranking.
pub async fn award(
    state: &AppState,
    acting: &Acting,
    project: Uuid,
    bids: &[Uuid],
    reason: &str,
) -> Result<Vec<Uuid>, AppError> {
    Ok(jinglao_db::purchase::selection::award(&acting.write(state), project, bids, reason).await?)
}

/// Signs the contract of an award: the draft is checked against the project's items and the
/// awarded amount, then its prices become the provider's settlement prices over the term.
pub async fn sign(
    state: &AppState,
    acting: &Acting,
    award_id: Uuid,
    draft: &jinglao_domain::purchase::contract::ContractDraft,
) -> Result<Uuid, AppError> {
    let mut c = state.db.acquire().await?;
    let award = jinglao_db::purchase::selection::award_by_id(&mut c.conn(), award_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p =
        jinglao_db::purchase::projects::get(&mut c.conn(), &acting.user.scope, award.project_id)
            .await?
            .ok_or(AppError::NotFound)?;
    drop(c);
    let input = draft.parse(&p.input.item_codes, award.value_fen, state.today())?;
    Ok(contracts::sign(&acting.write(state), award_id, &input).await?)
}

/// Finance records the contract's filing (合同备案) on `on`.
pub async fn file(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    on: chrono::NaiveDate,
) -> Result<(), AppError> {
    Ok(contracts::file(&acting.write(state), id, on).await?)
}

/// Saves a project draft of the purchasing body in `region` (the caller's subtree).
pub async fn create_project(
    state: &AppState,
    acting: &Acting,
    region: jinglao_domain::RegionCode,
    purchaser_name: &str,
    draft: &jinglao_domain::purchase::project::ProjectDraft,
) -> Result<Uuid, AppError> {
    let input = draft.parse()?;
    Ok(
        jinglao_db::purchase::projects::create(
            &acting.write(state),
            region,
            purchaser_name,
            &input,
        )
        .await?,
    )
}

/// Changes a project: a draft or returned one in place; an approved one not yet announced
/// becomes a new version, with `reason`, back with finance for review.
pub async fn update_project(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    draft: &jinglao_domain::purchase::project::ProjectDraft,
    reason: &str,
) -> Result<(), AppError> {
    let input = draft.parse()?;
    Ok(jinglao_db::purchase::projects::update(&acting.write(state), id, &input, reason).await?)
}

/// Publishes a new version of the guiding catalogue for `region` (finance, with civil
/// affairs): each entry's items must be in the service list in force there.
pub async fn publish_catalogue(
    state: &AppState,
    acting: &Acting,
    region: jinglao_domain::RegionCode,
    basis: &str,
    drafts: &[jinglao_domain::purchase::catalogue::EntryDraft],
) -> Result<jinglao_db::purchase::catalogue::Catalogue, AppError> {
    let mut c = state.db.acquire().await?;
    let known: Vec<String> =
        match jinglao_db::service_lists::applicable(&mut c.conn(), &region).await? {
            Some(l) => l.items.iter().map(|i| i.code.clone()).collect(),
            None => Vec::new(),
        };
    drop(c);
    Ok(jinglao_db::purchase::catalogue::publish(
        &acting.write(state),
        region,
        basis,
        drafts,
        &known,
    )
    .await?)
}
