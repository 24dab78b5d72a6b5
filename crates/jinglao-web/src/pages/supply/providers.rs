//! Providers (承接主体): the register with each provider's bid standing, registering a provider
//! (credit code checked, with an authorised override), and a provider's page with the seven
//! conditions of 湘政发〔2014〕20号 as checked, its credit records, its facilities and its staff
//! link.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::DbError;
use jinglao_db::credit::StoredRecord;
use jinglao_db::facilities::{self, Facility};
use jinglao_db::providers::{self, NewFinding, NewProvider, Provider};
use jinglao_domain::category::parse_date;
use jinglao_domain::credit::CreditKind;
use jinglao_domain::provider::{
    BidStanding, Condition, EvaluationGrade, ProviderKind, Qualification,
};
use jinglao_domain::{Invalid, Permission};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::credit::CreditForm;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// The registration form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ProviderForm {
    name: String,
    credit_code: String,
    override_reason: String,
    region_code: String,
    kind: String,
    legal_representative: String,
    registration_authority: String,
    registered_on: String,
    contact_name: String,
    office_phone: String,
    evaluation_grade: String,
}

/// A provider in the list, with its standing.
pub struct ProviderRow {
    p: Provider,
    region: String,
    standing: BidStanding,
}

/// `GET /providers`.
#[derive(Template)]
#[template(path = "providers/index.html")]
pub struct ProvidersPage {
    ctx: PageCtx,
    picker: crate::pages::region_picker::RegionPicker,
    errors: FormErrors,
    rows: Vec<ProviderRow>,
    form: ProviderForm,
    kinds: &'static [ProviderKind],
    grades: &'static [EvaluationGrade],
    can_manage: bool,
    can_override: bool,
}

/// Bureau staff who register providers or record their credit, and a provider's own
/// administrator (who sees only its own provider: the scope does that).
pub(crate) fn may_view(user: &CurrentUser) -> Result<(), PageError> {
    Ok(user.require(Permission::ViewProviders)?)
}

pub(crate) fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError(AppError::NotFound))
}

async fn list_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    errors: FormErrors,
    form: ProviderForm,
) -> Result<ProvidersPage, PageError> {
    let today = state.today();
    let mut c = state.db.acquire().await?;
    let rows = providers::list_with_standing(&mut c.conn(), &user.scope, today)
        .await?
        .into_iter()
        .map(|(p, standing)| ProviderRow {
            region: state.region_path(&p.region_code),
            standing,
            p,
        })
        .collect();
    Ok(ProvidersPage {
        ctx: ctx.with_errors(&errors),
        picker: crate::pages::region_picker::RegionPicker::new(
            &state.regions.tree(),
            &user.scope,
            "region_code",
            "登记地",
            (
                jinglao_domain::RegionLevel::County,
                jinglao_domain::RegionLevel::Village,
            ),
            &form.region_code,
        )
        .hint("县（市、区）或以下，须在您的管辖范围内。")
        .error(&errors),
        errors,
        rows,
        form,
        kinds: ProviderKind::ALL,
        grades: EvaluationGrade::ALL,
        can_manage: user.can(Permission::ManageProviders),
        can_override: user.can(Permission::OverrideCreditCode),
    })
}

/// `GET /providers`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let form = ProviderForm {
        region_code: user.account.region_code.short().to_string(),
        ..ProviderForm::default()
    };
    render(&list_page(&state, ctx, &user, FormErrors::new(), form).await?)
}

/// `POST /providers`
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageProviders>,
    meta: RequestMeta,
    Form(form): Form<ProviderForm>,
) -> Result<Response, PageError> {
    let registered_on = parse_date(&form.registered_on);
    let mut pre = Invalid::new();
    if registered_on.is_none() && !form.registered_on.trim().is_empty() {
        pre.add("registered_on", "登记日期应写成 年-月-日，例如 2015-03-01");
    }
    let result = if pre.is_empty() {
        providers::create(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            &NewProvider {
                name: &form.name,
                credit_code: &form.credit_code,
                override_reason: &form.override_reason,
                region_code: &form.region_code,
                kind: &form.kind,
                legal_representative: &form.legal_representative,
                registration_authority: &form.registration_authority,
                registered_on,
                contact_name: &form.contact_name,
                office_phone: &form.office_phone,
                evaluation_grade: &form.evaluation_grade,
            },
            state.clock.now(),
        )
        .await
    } else {
        Err(DbError::Invalid(pre))
    };
    match result {
        Ok(p) => Ok(
            Redirect::to(&format!("/providers/{}?notice=provider_created", p.id)).into_response(),
        ),
        Err(DbError::Invalid(errors)) => {
            let page = list_page(&state, ctx, &user, errors, form).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// The form recording one condition's check.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct FindingForm {
    condition: String,
    met: String,
    checked_on: String,
    expires_on: String,
    evidence: String,
}

/// `GET /providers/{id}`.
#[derive(Template)]
#[template(path = "providers/show.html")]
pub struct ProviderPage {
    ctx: PageCtx,
    errors: FormErrors,
    p: Provider,
    region: String,
    standing: BidStanding,
    findings: Vec<Qualification>,
    facilities: Vec<Facility>,
    form: FindingForm,
    conditions: &'static [Condition],
    can_manage: bool,
    can_staff: bool,
    /// The provider's credit records, newest first.
    credit: Vec<StoredRecord>,
    credit_form: CreditForm,
    credit_kinds: &'static [CreditKind],
    can_credit: bool,
    today: String,
}

pub(crate) async fn provider_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
    form: FindingForm,
    credit_form: CreditForm,
) -> Result<ProviderPage, PageError> {
    let mut c = state.db.acquire().await?;
    let p = providers::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let standing = providers::standing(&mut c.conn(), &p, state.today()).await?;
    let findings = providers::findings(&mut c.conn(), id).await?;
    let facilities = facilities::list(&mut c.conn(), &user.scope, Some(id)).await?;
    let credit = jinglao_db::credit::of_provider(&mut c.conn(), id).await?;
    Ok(ProviderPage {
        ctx: ctx.with_errors(&errors),
        errors,
        region: state.region_path(&p.region_code),
        p,
        standing,
        findings,
        facilities,
        form,
        conditions: Condition::ALL,
        can_manage: user.can(Permission::ManageProviders),
        can_staff: user.can(Permission::ManageFacilities),
        credit,
        credit_form,
        credit_kinds: CreditKind::ALL,
        can_credit: user.can(Permission::RecordCredit),
        today: state.today().to_string(),
    })
}

/// `GET /providers/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let form = FindingForm {
        met: "yes".into(),
        checked_on: state.today().to_string(),
        ..FindingForm::default()
    };
    let credit = CreditForm::default();
    render(&provider_page(&state, ctx, &user, id, FormErrors::new(), form, credit).await?)
}

/// `POST /providers/{id}/findings`
pub async fn record_finding(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageProviders>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<FindingForm>,
) -> Result<Response, PageError> {
    let expires_on = parse_date(&form.expires_on);
    let result = if expires_on.is_none() && !form.expires_on.trim().is_empty() {
        Err(DbError::Invalid(Invalid::one(
            "expires_on",
            "有效期应写成 年-月-日，或留空表示长期有效",
        )))
    } else {
        providers::record_finding(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            id,
            &NewFinding {
                condition: &form.condition,
                met: form.met == "yes",
                checked_on: parse_date(&form.checked_on),
                expires_on,
                evidence: &form.evidence,
            },
            state.clock.now(),
        )
        .await
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/providers/{id}?notice=finding_recorded#conditions"
        ))
        .into_response()),
        Err(DbError::Invalid(errors)) => {
            let page =
                provider_page(&state, ctx, &user, id, errors, form, CreditForm::default()).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}
