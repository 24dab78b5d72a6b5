//! Capability assessment pages: the queues, the full GB/T 42195-2022 form with the standard's
//! score descriptions on screen, the workflow actions, the printable report, and the "due and
//! overdue" worklist.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::DbError;
use jinglao_db::agencies::{self, AssessorProfile};
use jinglao_db::assessments::{self, Assessment};
use jinglao_db::elder_search::{self, ElderSummary};
use jinglao_db::elders;
use jinglao_domain::assessment::{ITEMS, Indicator, Item, indicator_max};
use jinglao_domain::assessment_form::{
    AssessmentForm, AssessmentReason, AssessmentStatus, COMMON_DIAGNOSES, HEALTH_PROBLEMS,
    INFORMANT_RELATIONS, RISK_EVENT_ANSWERS, RISK_EVENTS,
};
use jinglao_domain::clock::format_local;
use jinglao_domain::elder::{ElderRecord, split_multi};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::{Invalid, Permission, RegionCode};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

fn can_any(user: &CurrentUser) -> bool {
    user.can(Permission::Assess)
        || user.can(Permission::ReviewAssessments)
        || user.can(Permission::ApproveAssessments)
}

/// The queues page.
#[derive(Template)]
#[template(path = "assessments/index.html")]
pub struct QueuePage {
    ctx: PageCtx,
    drafts: Vec<Assessment>,
    submitted: Vec<Assessment>,
    to_review: Vec<Assessment>,
    to_approve: Vec<Assessment>,
    is_assessor: bool,
    certificate: Option<AssessorProfile>,
}

/// `GET /assessments`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    if !can_any(&user) {
        return Err(AppError::forbidden().into());
    }
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let me = Some(user.account.id);
    let is_assessor = user.can(Permission::Assess);
    let (drafts, submitted, certificate) = if is_assessor {
        (
            assessments::queue(&mut conn, &user.scope, AssessmentStatus::Draft, me, 200).await?,
            assessments::queue(&mut conn, &user.scope, AssessmentStatus::Submitted, me, 200)
                .await?,
            agencies::profile(&mut conn, user.account.id).await?,
        )
    } else {
        (Vec::new(), Vec::new(), None)
    };
    let to_review = if user.can(Permission::ReviewAssessments) {
        assessments::queue(
            &mut conn,
            &user.scope,
            AssessmentStatus::Submitted,
            None,
            200,
        )
        .await?
    } else {
        Vec::new()
    };
    let to_approve = if user.can(Permission::ApproveAssessments) {
        assessments::queue(
            &mut conn,
            &user.scope,
            AssessmentStatus::Reviewed,
            None,
            200,
        )
        .await?
    } else {
        Vec::new()
    };
    render(&QueuePage {
        ctx,
        drafts,
        submitted,
        to_review,
        to_approve,
        is_assessor,
        certificate,
    })
}

/// The open-assessment form.
#[derive(Debug, Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    reason: String,
}

/// `POST /elders/{id}/assessments`: an assessor opens a draft.
pub async fn open(
    State(state): State<AppState>,
    PageCan(user, _): PageCan<need::Assess>,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<OpenForm>,
) -> Result<Response, PageError> {
    let elder = parse_id(&id)?;
    let reason = AssessmentReason::parse(&form.reason)
        .ok_or_else(|| AppError::Invalid(Invalid::one("reason", "请选择评估原因")))?;
    let aid = assessments::open(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        elder,
        reason,
        state.clock.now(),
    )
    .await?;
    Ok(Redirect::to(&format!("/assessments/{aid}/edit")).into_response())
}

/// An item with the selected score, for the view.
pub struct ItemView {
    item: &'static Item,
    score: Option<i64>,
}

impl ItemView {
    fn anchors_desc(&self) -> Vec<(usize, &'static str)> {
        self.item
            .anchors
            .iter()
            .copied()
            .enumerate()
            .rev()
            .collect()
    }
    fn chosen(&self) -> &'static str {
        self.score
            .and_then(|s| self.item.anchors.get(s as usize).copied())
            .unwrap_or("")
    }
    fn is(&self, s: &usize) -> bool {
        self.score == Some(*s as i64)
    }
}

/// An indicator's items.
pub struct IndicatorView {
    indicator: Indicator,
    code: &'static str,
    max: u32,
    items: Vec<ItemView>,
}

impl IndicatorView {
    /// The points of the items scored so far (the running score; the level is decided only
    /// when every item is scored).
    fn subtotal(&self) -> i64 {
        self.items.iter().filter_map(|i| i.score).sum()
    }

    /// How many of its items are scored.
    fn answered(&self) -> usize {
        self.items.iter().filter(|i| i.score.is_some()).count()
    }

    /// The id of its section, for the section links.
    fn anchor(&self) -> String {
        format!("sec-{}", self.code.replace('.', "-"))
    }
}

fn indicators(form: &AssessmentForm) -> Vec<IndicatorView> {
    Indicator::ALL
        .iter()
        .enumerate()
        .map(|(i, ind)| IndicatorView {
            indicator: *ind,
            code: ["B.1", "B.2", "B.3", "B.4"][i],
            max: indicator_max(*ind),
            items: ITEMS
                .iter()
                .filter(|it| it.indicator == *ind)
                .map(|it| ItemView {
                    item: it,
                    score: form.items.get(it.code).copied(),
                })
                .collect(),
        })
        .collect()
}

/// The assessment form page.
#[derive(Template)]
#[template(path = "assessments/edit.html")]
pub struct EditPage {
    ctx: PageCtx,
    errors: FormErrors,
    a: Assessment,
    elder: ElderRecord,
    f: AssessmentForm,
    assessor2: Option<Uuid>,
    colleagues: Vec<AssessorProfile>,
    indicators: Vec<IndicatorView>,
    reasons: Vec<AssessmentReason>,
    risk_events: Vec<(&'static str, &'static str)>,
    risk_answers: Vec<&'static str>,
    diagnoses: Vec<(&'static str, &'static str)>,
    other_diagnoses: String,
    health: Vec<(&'static str, &'static str, &'static [&'static str])>,
    relations: Vec<&'static str>,
    age: i32,
    residence: String,
}

impl EditPage {
    /// The points of every item scored so far.
    fn running_total(&self) -> i64 {
        self.indicators.iter().map(IndicatorView::subtotal).sum()
    }

    fn reference_date_text(&self) -> String {
        self.f
            .reference_date
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
    fn height_text(&self) -> String {
        self.f.height_cm.map(|v| v.to_string()).unwrap_or_default()
    }
    fn weight_text(&self) -> String {
        self.f.weight_kg.map(|v| v.to_string()).unwrap_or_default()
    }
    fn reason_is(&self, r: &AssessmentReason) -> bool {
        self.f.reason == Some(*r)
    }
    fn assessor2_is(&self, id: &Uuid) -> bool {
        self.assessor2 == Some(*id)
    }
    fn is_assessor1(&self, id: &Uuid) -> bool {
        self.a.assessor1.as_ref().is_some_and(|x| x.0 == *id)
    }
    fn risk(&self, code: &str) -> u8 {
        self.f.risk_events.get(code).copied().unwrap_or(0)
    }
    fn has_diagnosis(&self, code: &str) -> bool {
        self.f.diagnoses.iter().any(|d| d == code)
    }
    fn health_answer(&self, code: &str) -> String {
        self.f.health.get(code).cloned().unwrap_or_default()
    }
}

async fn load(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(Assessment, ElderRecord), PageError> {
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let a = assessments::get(&mut conn, &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let elder = elders::get(&mut conn, &jinglao_domain::Scope::All, a.elder_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((a, elder))
}

/// One assessment for display, with its person: the storage layer checks that the role may read
/// whole assessments and records the read.
async fn load_read(
    state: &AppState,
    user: &CurrentUser,
    meta: &RequestMeta,
    id: Uuid,
) -> Result<(Assessment, ElderRecord), PageError> {
    let actor = user.actor(meta);
    let a = assessments::read(
        &state.db,
        &state.keys.audit_chain,
        &actor,
        id,
        state.clock.now(),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let mut c = state.db.acquire().await?;
    let elder = elders::get(&mut c.conn(), &jinglao_domain::Scope::All, a.elder_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((a, elder))
}

async fn edit_page(
    state: &AppState,
    ctx: PageCtx,
    a: Assessment,
    elder: ElderRecord,
    form: AssessmentForm,
    assessor2: Option<Uuid>,
    errors: FormErrors,
) -> Result<EditPage, PageError> {
    let colleagues = match a.agency_id {
        Some(g) => {
            let mut c = state.db.acquire().await?;
            agencies::assessors(&mut c.conn(), g).await?
        }
        None => Vec::new(),
    };
    let common: Vec<&str> = COMMON_DIAGNOSES.iter().map(|(_, c)| *c).collect();
    let other_diagnoses = form
        .diagnoses
        .iter()
        .filter(|d| !common.contains(&d.as_str()))
        .cloned()
        .collect::<Vec<_>>()
        .join("、");
    Ok(EditPage {
        ctx: ctx.with_errors(&errors),
        errors,
        indicators: indicators(&form),
        age: elder.age_on(state.today()),
        residence: state.region_path(&elder.residence_region),
        a,
        elder,
        f: form,
        assessor2,
        colleagues,
        reasons: AssessmentReason::ALL.to_vec(),
        risk_events: RISK_EVENTS.to_vec(),
        risk_answers: RISK_EVENT_ANSWERS.to_vec(),
        diagnoses: COMMON_DIAGNOSES.to_vec(),
        other_diagnoses,
        health: HEALTH_PROBLEMS.to_vec(),
        relations: INFORMANT_RELATIONS.to_vec(),
    })
}

/// `GET /assessments/{id}/edit`
pub async fn edit_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::Assess>,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (a, elder) = load_read(&state, &user, &meta, parse_id(&id)?).await?;
    if a.status != AssessmentStatus::Draft {
        return Ok(Redirect::to(&format!("/assessments/{}", a.id)).into_response());
    }
    let form = a.form.clone();
    let a2 = a.assessor2.as_ref().map(|x| x.0);
    render(&edit_page(&state, ctx, a, elder, form, a2, FormErrors::new()).await?)
}

/// Reads the form fields (`item.B.1.1`, `risk.falls`, `health.A.5.1`, `diagnosis` …).
fn parse_form(pairs: &[(String, String)], inv: &mut Invalid) -> (AssessmentForm, Option<Uuid>) {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut f = AssessmentForm {
        number: get("number"),
        reason_other: get("reason_other"),
        place: get("place"),
        religion: get("religion"),
        informant_name: get("informant_name"),
        informant_relation: get("informant_relation"),
        medication: get("medication"),
        ..AssessmentForm::default()
    };
    match jinglao_domain::assessment_form::optional_date(&get("reference_date")) {
        Ok(d) => f.reference_date = d,
        Err(message) => inv.add("reference_date", message),
    }
    f.reason = AssessmentReason::parse(&get("reason"));
    let h = get("height_cm");
    if !h.is_empty() {
        match h.parse::<u16>() {
            Ok(v) => f.height_cm = Some(v),
            Err(_) => inv.add("height_cm", "身高请填整数（厘米）"),
        }
    }
    let w = get("weight_kg");
    if !w.is_empty() {
        match w.parse::<f32>() {
            Ok(v) => f.weight_kg = Some(v),
            Err(_) => inv.add("weight_kg", "体重请填数字（公斤）"),
        }
    }
    for (k, v) in pairs {
        if let Some(code) = k.strip_prefix("risk.") {
            match v.parse::<u8>() {
                Ok(n) => {
                    f.risk_events.insert(code.to_string(), n);
                }
                Err(_) => inv.add(k, "请选择次数"),
            }
        } else if let Some(code) = k.strip_prefix("health.") {
            if !v.trim().is_empty() {
                f.health.insert(code.to_string(), v.trim().to_string());
            }
        } else if let Some(code) = k.strip_prefix("item.") {
            match v.parse::<i64>() {
                Ok(n) => {
                    f.items.insert(code.to_string(), n);
                }
                Err(_) => inv.add(&format!("items.{code}"), "请选择得分"),
            }
        } else if k == "diagnosis" && !v.trim().is_empty() && !f.diagnoses.contains(v) {
            f.diagnoses.push(v.trim().to_string());
        }
    }
    for code in split_multi(&get("diagnoses_other")) {
        let code = code.to_ascii_uppercase();
        if !f.diagnoses.contains(&code) {
            f.diagnoses.push(code);
        }
    }
    let a2 = get("assessor2");
    let assessor2 = if a2.is_empty() {
        None
    } else {
        match Uuid::parse_str(&a2) {
            Ok(u) => Some(u),
            Err(_) => {
                inv.add("assessor2", "请选择第二名评估师");
                None
            }
        }
    };
    (f, assessor2)
}

/// `POST /assessments/{id}/edit`: saves the draft (`action=save`) or saves and submits it
/// (`action=submit`).
pub async fn save(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::Assess>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (a, elder) = load(&state, &user, id).await?;
    let mut inv = Invalid::new();
    let (form, assessor2) = parse_form(&pairs, &mut inv);
    let submit = pairs.iter().any(|(k, v)| k == "action" && v == "submit");
    let actor = user.actor(&meta);
    let now = state.clock.now();
    let result = if inv.is_empty() {
        match assessments::save_draft(
            &state.db,
            &state.keys.audit_chain,
            &actor,
            id,
            &form,
            assessor2,
            now,
        )
        .await
        {
            Ok(()) if submit => {
                let book = jinglao_db::policy::book(&state.db).await?;
                assessments::submit(&state.db, &state.keys.audit_chain, &actor, id, &book, now)
                    .await
                    .map(|_| true)
            }
            Ok(()) => Ok(false),
            Err(e) => Err(e),
        }
    } else {
        Err(DbError::Invalid(inv))
    };
    match result {
        Ok(true) => Ok(
            Redirect::to(&format!("/assessments/{id}?notice=assessment_submitted")).into_response(),
        ),
        Ok(false) => Ok(
            Redirect::to(&format!("/assessments/{id}/edit?notice=assessment_saved"))
                .into_response(),
        ),
        Err(DbError::Invalid(errors)) => {
            let page = edit_page(&state, ctx, a, elder, form, assessor2, errors).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// The assessment page (and the printable report).
#[derive(Template)]
#[template(path = "assessments/show.html")]
pub struct ShowPage {
    ctx: PageCtx,
    errors: FormErrors,
    a: Assessment,
    elder: ElderRecord,
    indicators: Vec<IndicatorView>,
    health: Vec<(&'static str, &'static str, String)>,
    risk: Vec<(&'static str, &'static str)>,
    age: i32,
    residence: String,
    can_edit: bool,
    can_review: bool,
    can_approve: bool,
    can_correct: bool,
    created: String,
    submitted: String,
}

/// The printable report.
#[derive(Template)]
#[template(path = "assessments/report.html")]
pub struct ReportPage {
    a: Assessment,
    elder: ElderRecord,
    indicators: Vec<IndicatorView>,
    health: Vec<(&'static str, &'static str, String)>,
    risk: Vec<(&'static str, &'static str)>,
    age: i32,
    residence: String,
}

fn health_view(f: &AssessmentForm) -> Vec<(&'static str, &'static str, String)> {
    HEALTH_PROBLEMS
        .iter()
        .map(|(code, q, _)| (*code, *q, f.health.get(*code).cloned().unwrap_or_default()))
        .collect()
}

fn risk_view(f: &AssessmentForm) -> Vec<(&'static str, &'static str)> {
    RISK_EVENTS
        .iter()
        .map(|(code, label)| {
            let n = f.risk_events.get(*code).copied().unwrap_or(0) as usize;
            (*label, RISK_EVENT_ANSWERS[n.min(3)])
        })
        .collect()
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    a: Assessment,
    elder: ElderRecord,
    errors: FormErrors,
) -> ShowPage {
    let me = Some(user.account.id);
    let mine = a.assessor1.as_ref().map(|x| x.0) == me || a.assessor2.as_ref().map(|x| x.0) == me;
    ShowPage {
        ctx: ctx.with_errors(&errors),
        errors,
        indicators: indicators(&a.form),
        health: health_view(&a.form),
        risk: risk_view(&a.form),
        age: elder.age_on(a.form.reference_date.unwrap_or(state.today())),
        residence: state.region_path(&elder.residence_region),
        can_edit: a.status == AssessmentStatus::Draft && mine,
        can_review: a.status == AssessmentStatus::Submitted
            && user.can(Permission::ReviewAssessments),
        can_approve: a.status == AssessmentStatus::Reviewed
            && user.can(Permission::ApproveAssessments),
        can_correct: a.status == AssessmentStatus::Effective && user.can(Permission::Assess),
        created: format_local(a.created_at),
        submitted: a.submitted_at.map(format_local).unwrap_or_default(),
        a,
        elder,
    }
}

/// `GET /assessments/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (a, elder) = load_read(&state, &user, &meta, parse_id(&id)?).await?;
    render(&show_page(&state, ctx, &user, a, elder, FormErrors::new()).await)
}

/// `GET /assessments/{id}/report`: A4, print stylesheet, signature blanks.
pub async fn report(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (a, elder) = load_read(&state, &user, &meta, parse_id(&id)?).await?;
    render(&ReportPage {
        indicators: indicators(&a.form),
        health: health_view(&a.form),
        risk: risk_view(&a.form),
        age: elder.age_on(a.form.reference_date.unwrap_or(state.today())),
        residence: state.region_path(&elder.residence_region),
        a,
        elder,
    })
}

/// The review form.
#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

/// `POST /assessments/{id}/review`
pub async fn review(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ReviewAssessments>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let approve = match form.decision.as_str() {
        "approve" => true,
        "return" => false,
        _ => {
            let (a, elder) = load(&state, &user, id).await?;
            let errors = Invalid::one("decision", "请选择“审核通过”或“退回修改”");
            return render_with_status(
                &show_page(&state, ctx, &user, a, elder, errors).await,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match assessments::review(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        id,
        approve,
        &form.note,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => {
            let notice = if approve {
                "assessment_reviewed"
            } else {
                "assessment_returned"
            };
            Ok(Redirect::to(&format!("/assessments/{id}?notice={notice}")).into_response())
        }
        Err(DbError::Invalid(errors)) => {
            let (a, elder) = load(&state, &user, id).await?;
            render_with_status(
                &show_page(&state, ctx, &user, a, elder, errors).await,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /assessments/{id}/effective`
pub async fn make_effective(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ApproveAssessments>,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    match assessments::make_effective(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        id,
        &book,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => Ok(
            Redirect::to(&format!("/assessments/{id}?notice=assessment_effective")).into_response(),
        ),
        Err(DbError::Invalid(errors)) => {
            let (a, elder) = load(&state, &user, id).await?;
            render_with_status(
                &show_page(&state, ctx, &user, a, elder, errors).await,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /assessments/{id}/correct`: a new version to correct an effective assessment.
pub async fn correct(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::Assess>,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    match assessments::correct(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        id,
        state.clock.now(),
    )
    .await
    {
        Ok(new_id) => Ok(Redirect::to(&format!("/assessments/{new_id}/edit")).into_response()),
        Err(DbError::Invalid(errors)) => {
            let (a, elder) = load(&state, &user, id).await?;
            render_with_status(
                &show_page(&state, ctx, &user, a, elder, errors).await,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /assessments/{id}/cancel`
pub async fn cancel(
    State(state): State<AppState>,
    PageCan(user, _): PageCan<need::Assess>,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    assessments::cancel(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        id,
        state.clock.now(),
    )
    .await?;
    Ok(Redirect::to(&format!("/assessments/{id}?notice=assessment_cancelled")).into_response())
}

/// Parameters of the worklist.
#[derive(Debug, Deserialize, Default)]
pub struct DueQuery {
    #[serde(default)]
    region: String,
    page: Option<i64>,
}

/// A worklist row.
pub struct DueRow {
    row: ElderSummary,
    region: String,
    state: &'static str,
    overdue: bool,
}

/// The worklist page.
#[derive(Template)]
#[template(path = "assessments/due.html")]
pub struct DuePage {
    ctx: PageCtx,
    picker: crate::pages::region_picker::RegionPicker,
    rows: Vec<DueRow>,
    region: String,
    notice_days: i64,
    interval: i64,
    page: i64,
    has_next: bool,
}

const DUE_PAGE: i64 = 100;

/// `GET /assessments/due`: people whose routine re-assessment falls due within the notice
/// period or is overdue, and those flagged for an immediate one.
pub async fn due(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<DueQuery>,
) -> Result<Response, PageError> {
    if !can_any(&user) && !user.can(Permission::ViewElders) {
        return Err(AppError::forbidden().into());
    }
    let today = state.today();
    let region = RegionCode::parse(&q.region)
        .ok()
        .filter(|r| user.scope.covers_record_in(r));
    let anchor = region
        .or(user.scope.region_root())
        .unwrap_or(user.account.region_code);
    let book = jinglao_db::policy::book(&state.db).await?;
    let notice_days = book.int(PolicyKey::ReassessmentNoticeDays, &anchor);
    let interval = book.int(PolicyKey::ReassessmentIntervalMonths, &anchor);
    let page = q.page.unwrap_or(1).max(1);
    let mut c = state.db.acquire().await?;
    let mut rows = elder_search::due_worklist(
        &mut c.conn(),
        &user.scope,
        region,
        today + chrono::Duration::days(notice_days),
        today,
        DUE_PAGE + 1,
        (page - 1) * DUE_PAGE,
    )
    .await?;
    let has_next = rows.len() as i64 > DUE_PAGE;
    rows.truncate(DUE_PAGE as usize);
    render(&DuePage {
        ctx,
        picker: crate::pages::region_picker::area_filter(
            &state.regions.tree(),
            &user.scope,
            &q.region,
        ),
        rows: rows
            .into_iter()
            .map(|row| {
                let overdue = row.reassessment_due.is_some_and(|d| d < today);
                DueRow {
                    region: state.region_name(&row.residence_region),
                    state: if row.reassessment_requested.is_some() {
                        "需即时评估"
                    } else if overdue {
                        "已逾期"
                    } else {
                        "即将到期"
                    },
                    overdue,
                    row,
                }
            })
            .collect(),
        region: q.region,
        notice_days,
        interval,
        page,
        has_next,
    })
}
