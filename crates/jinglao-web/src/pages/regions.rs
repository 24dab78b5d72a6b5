//! The region browser: a region, the path above it, its children with village counts, search
//! by name, and the urban/rural flag for staff allowed to set it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_domain::{AreaType, Invalid, Permission, Region, RegionCode, RegionLevel};
use serde::Deserialize;

use super::{FormErrors, PageCtx};
use crate::auth::PageUser;
use crate::error::{AppError, PageError, render, render_with_status};
use crate::request::RequestMeta;
use crate::state::AppState;

/// A child row in the browser.
pub struct ChildRow {
    /// The child.
    pub region: Region,
    /// Villages/communities in its subtree (itself, for a village).
    pub villages: i64,
}

/// One region.
#[derive(Template)]
#[template(path = "regions/show.html")]
pub struct RegionPage {
    ctx: PageCtx,
    region: Region,
    breadcrumbs: Vec<Region>,
    children: Vec<ChildRow>,
    child_level_label: &'static str,
    can_edit_area: bool,
    errors: FormErrors,
    query: String,
}

/// Search results.
#[derive(Template)]
#[template(path = "regions/search.html")]
pub struct RegionSearchPage {
    ctx: PageCtx,
    query: String,
    results: Vec<Region>,
    roots: Vec<Region>,
    truncated: bool,
}

/// Query of the region index.
#[derive(Debug, Deserialize)]
pub struct RegionQuery {
    q: Option<String>,
}

/// The division tree is reference data for every role but the third-party evaluator, which
/// reads only the contracts it is named on.
fn may_view(user: &crate::auth::CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::ViewRegions) {
        Ok(())
    } else {
        Err(AppError::Forbidden("您的账号不能浏览行政区划".into()))
    }
}

const SEARCH_LIMIT: usize = 100;

/// `GET /regions`: searches by name, or shows the top of the user's tree.
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<RegionQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let query = q.q.unwrap_or_default().trim().to_string();
    if query.is_empty()
        && let Some(root) = user.scope.region_root()
    {
        return Ok(Redirect::to(&format!("/regions/{root}")).into_response());
    }
    let tree = state.regions.tree();
    let results = tree.search(&user.scope, &query, SEARCH_LIMIT + 1);
    let truncated = results.len() > SEARCH_LIMIT;
    render(&RegionSearchPage {
        ctx,
        query,
        results: results.into_iter().take(SEARCH_LIMIT).cloned().collect(),
        roots: tree.roots(&user.scope).into_iter().cloned().collect(),
        truncated,
    })
}

fn parse_code(code: &str) -> Result<RegionCode, AppError> {
    RegionCode::parse(code).map_err(|_| AppError::NotFound)
}

async fn region_page(
    state: &AppState,
    ctx: PageCtx,
    user: &crate::auth::CurrentUser,
    code: RegionCode,
    errors: FormErrors,
) -> Result<RegionPage, PageError> {
    let tree = state.regions.tree();
    let region = tree
        .get(&user.scope, &code)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let breadcrumbs = tree
        .ancestors(&code)
        .into_iter()
        .filter(|r| user.scope.sees_region(&r.code))
        .cloned()
        .collect();
    let counts = tree.village_counts_by_child(&code);
    let children = tree
        .children(&user.scope, &code)
        .unwrap_or_default()
        .into_iter()
        .map(|r| ChildRow {
            villages: counts.get(&r.code).copied().unwrap_or(0),
            region: r.clone(),
        })
        .collect();
    let can_edit_area = user.can(Permission::EditRegions)
        && matches!(region.level, RegionLevel::Township | RegionLevel::Village)
        && user.scope.covers_record_in(&code);
    Ok(RegionPage {
        ctx: ctx.with_errors(&errors),
        child_level_label: region.level.child().map(|l| l.label()).unwrap_or(""),
        region,
        breadcrumbs,
        children,
        can_edit_area,
        errors,
        query: String::new(),
    })
}

/// `GET /regions/{code}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let code = parse_code(&code)?;
    render(&region_page(&state, ctx, &user, code, FormErrors::new()).await?)
}

/// The urban/rural form.
#[derive(Debug, Deserialize)]
pub struct AreaTypeForm {
    #[serde(default)]
    area_type: String,
}

/// `POST /regions/{code}/area-type`
pub async fn update_area_type(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(code): Path<String>,
    Form(form): Form<AreaTypeForm>,
) -> Result<Response, PageError> {
    let code = parse_code(&code)?;
    if !user.scope.sees_region(&code) {
        return Err(AppError::NotFound.into());
    }
    user.require(Permission::EditRegions)?;
    let area = match form.area_type.as_str() {
        "" | "none" => Ok(None),
        other => other.parse::<AreaType>().map(Some),
    };
    let area = match area {
        Ok(a) => a,
        Err(_) => {
            let errors = Invalid::one("area_type", "请选择城镇、农村或待核定");
            return render_with_status(
                &region_page(&state, ctx, &user, code, errors).await?,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let result = state
        .regions
        .set_area_type(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            &code,
            area,
            state.clock.now(),
        )
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/regions/{code}?notice=saved")).into_response()),
        Err(jinglao_db::DbError::Invalid(errors)) => render_with_status(
            &region_page(&state, ctx, &user, code, errors).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(AppError::from(e).into()),
    }
}
