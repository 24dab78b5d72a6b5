//! Policy parameters (政策参数): each figure the rules read, its value for a region, which
//! region's setting supplies it and the document it comes from; city staff set values for
//! their region and below.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::DbError;
use jinglao_domain::policy::{POLICY_SPECS, PolicyKey, PolicySpec};
use jinglao_domain::{Invalid, Permission, RegionCode};
use serde::Deserialize;

use super::{FormErrors, PageCtx};
use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Which region to show.
#[derive(Debug, Deserialize, Default)]
pub struct PolicyQuery {
    #[serde(default)]
    region: String,
}

/// One parameter as it applies to the region shown.
pub struct ParamRow {
    spec: &'static PolicySpec,
    value: String,
    source: String,
    basis: String,
    own: bool,
}

/// `GET /policy`.
#[derive(Template)]
#[template(path = "policy.html")]
pub struct PolicyPage {
    ctx: PageCtx,
    picker: crate::pages::region_picker::RegionPicker,
    errors: FormErrors,
    region: RegionCode,
    region_name: String,
    rows: Vec<ParamRow>,
    can_edit: bool,
    form: SetForm,
}

fn may_view(user: &CurrentUser) -> Result<(), PageError> {
    if user.can(Permission::ManagePolicy) || user.can(Permission::ViewElders) {
        Ok(())
    } else {
        Err(AppError::forbidden().into())
    }
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    region: RegionCode,
    errors: FormErrors,
    form: SetForm,
) -> Result<PolicyPage, PageError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    let rows = POLICY_SPECS
        .iter()
        .map(|spec| {
            let r = book.resolve(spec.key, &region);
            ParamRow {
                spec,
                own: r.from_region == Some(region),
                source: match r.from_region {
                    Some(from) => state.region_name(&from),
                    None => "系统默认".to_string(),
                },
                value: r.value,
                basis: r.basis,
            }
        })
        .collect();
    Ok(PolicyPage {
        ctx: ctx.with_errors(&errors),
        picker: crate::pages::region_picker::area_filter(
            &state.regions.tree(),
            &user.scope,
            region.short(),
        ),
        errors,
        region_name: state.region_path(&region),
        region,
        rows,
        can_edit: user.can(Permission::ManagePolicy) && user.scope.covers_record_in(&region),
        form,
    })
}

/// `GET /policy`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<PolicyQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let region = match RegionCode::parse(&q.region) {
        Ok(r) if user.scope.sees_region(&r) && state.regions.tree().get_unscoped(&r).is_some() => r,
        Ok(_) => return Err(AppError::NotFound.into()),
        Err(_) => user.scope.region_root().unwrap_or(user.account.region_code),
    };
    render(
        &page(
            &state,
            ctx,
            &user,
            region,
            FormErrors::new(),
            SetForm::default(),
        )
        .await?,
    )
}

/// The set-a-value form.
#[derive(Debug, Deserialize, Default)]
pub struct SetForm {
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    param: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    basis: String,
}

/// `POST /policy`
pub async fn set(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManagePolicy>,
    meta: RequestMeta,
    Form(form): Form<SetForm>,
) -> Result<Response, PageError> {
    let region = RegionCode::parse(&form.region_code)
        .ok()
        .filter(|r| {
            state.regions.tree().get_unscoped(r).is_some() && user.scope.covers_record_in(r)
        })
        .ok_or(AppError::NotFound)?;
    let result = match PolicyKey::parse(&form.param) {
        None => Err(DbError::Invalid(Invalid::one("param", "没有这个政策参数"))),
        Some(key) => {
            jinglao_db::policy::set(
                &jinglao_db::WriteCtx::new(
                    &state.db,
                    &state.keys.audit_chain,
                    &user.actor(&meta),
                    state.clock.now(),
                ),
                region,
                key,
                &form.value,
                &form.basis,
            )
            .await
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/policy?region={}&notice=policy_saved",
            region.short()
        ))
        .into_response()),
        Err(DbError::Invalid(errors)) => {
            let p = page(&state, ctx, &user, region, errors, form).await?;
            render_with_status(&p, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}
