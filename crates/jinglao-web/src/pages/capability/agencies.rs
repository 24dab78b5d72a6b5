//! Assessment agencies (评估机构) and their assessors' certificates: the list with each
//! agency's standing, registration, and recording a certificate against an assessor account.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jinglao_db::DbError;
use jinglao_db::agencies::{self, Agency, AssessorProfile, CERTIFICATE_LEVELS};
use jinglao_domain::account::Username;
use jinglao_domain::category::parse_date;
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

/// The registration form.
#[derive(Debug, Deserialize, Default)]
pub struct AgencyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    independent_legal_entity: Option<String>,
    #[serde(default)]
    address: String,
}

/// An agency row, ready to show.
pub struct AgencyRow {
    a: Agency,
    region: String,
    active: bool,
}

/// `GET /agencies`.
#[derive(Template)]
#[template(path = "agencies/index.html")]
pub struct AgenciesPage {
    ctx: PageCtx,
    picker: crate::pages::region_picker::RegionPicker,
    errors: FormErrors,
    rows: Vec<AgencyRow>,
    form: AgencyForm,
    min_assessors: i64,
    can_manage: bool,
}

fn may_view(user: &CurrentUser) -> Result<(), PageError> {
    if user.can(Permission::ManageAgencies) || user.can(Permission::ReviewAssessments) {
        Ok(())
    } else {
        Err(AppError::forbidden().into())
    }
}

async fn min_assessors(state: &AppState, region: &RegionCode) -> Result<i64, PageError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    Ok(book.int(PolicyKey::AgencyMinAssessors, region))
}

async fn list_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    errors: FormErrors,
    form: AgencyForm,
) -> Result<AgenciesPage, PageError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    let mut c = state.db.acquire().await?;
    let list = agencies::list(&mut c.conn(), &user.scope, state.today()).await?;
    let rows = list
        .into_iter()
        .map(|a| AgencyRow {
            region: state.region_path(&a.region_code),
            active: a.is_active(book.int(PolicyKey::AgencyMinAssessors, &a.region_code)),
            a,
        })
        .collect();
    Ok(AgenciesPage {
        ctx: ctx.with_errors(&errors),
        picker: crate::pages::region_picker::RegionPicker::new(
            &state.regions.tree(),
            &user.scope,
            "region_code",
            "所在地区",
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
        min_assessors: book.int(PolicyKey::AgencyMinAssessors, &user.account.region_code),
        can_manage: user.can(Permission::ManageAgencies),
    })
}

/// `GET /agencies`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let form = AgencyForm {
        region_code: user.account.region_code.short().to_string(),
        independent_legal_entity: Some("yes".into()),
        ..AgencyForm::default()
    };
    render(&list_page(&state, ctx, &user, FormErrors::new(), form).await?)
}

/// `POST /agencies`
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageAgencies>,
    meta: RequestMeta,
    Form(form): Form<AgencyForm>,
) -> Result<Response, PageError> {
    let region = RegionCode::parse(&form.region_code)
        .ok()
        .filter(|r| state.regions.tree().get_unscoped(r).is_some());
    if region.is_none() && !form.region_code.trim().is_empty() {
        let errors = Invalid::one("region_code", "区划代码不存在");
        let page = list_page(&state, ctx, &user, errors, form).await?;
        return render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let result = agencies::create(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        &form.name,
        &form.credit_code,
        region,
        form.independent_legal_entity.is_some(),
        &form.address,
    )
    .await;
    match result {
        Ok(id) => {
            Ok(Redirect::to(&format!("/agencies/{id}?notice=agency_created")).into_response())
        }
        Err(DbError::Invalid(errors)) => {
            let page = list_page(&state, ctx, &user, errors, form).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// The certificate form.
#[derive(Debug, Deserialize, Default)]
pub struct CertificateForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    certificate_no: String,
    #[serde(default)]
    certificate_level: String,
    #[serde(default)]
    certificate_expiry: String,
    #[serde(default)]
    full_time: Option<String>,
}

/// An assessor row.
pub struct AssessorRow {
    p: AssessorProfile,
    valid: bool,
}

/// `GET /agencies/{id}`.
#[derive(Template)]
#[template(path = "agencies/show.html")]
pub struct AgencyPage {
    ctx: PageCtx,
    errors: FormErrors,
    a: Agency,
    region: String,
    active: bool,
    min_assessors: i64,
    assessors: Vec<AssessorRow>,
    form: CertificateForm,
    levels: [&'static str; 5],
    can_manage: bool,
}

async fn agency_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
    form: CertificateForm,
) -> Result<AgencyPage, PageError> {
    let today = state.today();
    let mut c = state.db.acquire().await?;
    let a = agencies::get(&mut c.conn(), &user.scope, id, today)
        .await?
        .ok_or(AppError::NotFound)?;
    let assessors = agencies::assessors(&mut c.conn(), id)
        .await?
        .into_iter()
        .map(|p| AssessorRow {
            valid: p.certified_on(today),
            p,
        })
        .collect();
    drop(c);
    let min = min_assessors(state, &a.region_code).await?;
    Ok(AgencyPage {
        ctx: ctx.with_errors(&errors),
        errors,
        region: state.region_path(&a.region_code),
        active: a.is_active(min),
        min_assessors: min,
        a,
        assessors,
        form,
        levels: CERTIFICATE_LEVELS,
        can_manage: user.can(Permission::ManageAgencies),
    })
}

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError(AppError::NotFound))
}

/// `GET /agencies/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let form = CertificateForm {
        full_time: Some("yes".into()),
        certificate_level: CERTIFICATE_LEVELS[0].into(),
        ..CertificateForm::default()
    };
    render(&agency_page(&state, ctx, &user, parse_id(&id)?, FormErrors::new(), form).await?)
}

/// `POST /agencies/{id}/assessors`: records an assessor's certificate with this agency.
pub async fn set_certificate(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageAgencies>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<CertificateForm>,
) -> Result<Response, PageError> {
    let account = match Username::parse(&form.username) {
        Ok(name) => {
            let mut c = state.db.acquire().await?;
            jinglao_db::users::by_username(&mut c.conn(), &user.scope, &name).await?
        }
        Err(_) => None,
    };
    let expiry: Option<NaiveDate> = parse_date(&form.certificate_expiry);
    let result = match &account {
        None => Err(DbError::Invalid(Invalid::one(
            "username",
            "找不到这个用户名，或该账号不在您的管辖范围内",
        ))),
        Some(acc) => {
            agencies::set_profile(
                &jinglao_db::WriteCtx::new(
                    &state.db,
                    &state.keys.audit_chain,
                    &user.actor(&meta),
                    state.clock.now(),
                ),
                acc.id,
                id,
                &form.certificate_no,
                &form.certificate_level,
                expiry,
                form.full_time.is_some(),
            )
            .await
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/agencies/{id}?notice=certificate_saved#assessors"
        ))
        .into_response()),
        Err(DbError::Invalid(mut errors)) => {
            // The account field is called `user_id` in storage; the form asks for a username.
            errors.rename("user_id", "username");
            let page = agency_page(&state, ctx, &user, id, errors, form).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}
