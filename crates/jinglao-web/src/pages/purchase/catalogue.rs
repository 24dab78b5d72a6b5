//! The guiding catalogue (指导性目录) page: what may be bought in the caller's region, version
//! and document; finance (and city civil affairs) publish a new version from the same form,
//! pre-filled with the one in force. `POST /api/v1/purchase/catalogues` is the same use case.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_domain::purchase::catalogue::{EntryDraft, PurchaseCategory, ServiceNature};
use jinglao_domain::{Permission, RegionCode};

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;

/// Rows the publish form offers beyond the entries in force.
const SPARE_ROWS: usize = 2;

/// One row of the form: index, code, name, category, nature, content, items chosen.
pub struct Row {
    /// Index from 1.
    pub i: usize,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Category (stable name).
    pub category: String,
    /// Nature (stable name).
    pub nature: String,
    /// Content.
    pub content: String,
    /// Items chosen.
    pub items: Vec<String>,
}

/// `GET /purchase/catalogue`.
#[derive(Template)]
#[template(path = "purchase/catalogue.html")]
pub struct CataloguePage {
    ctx: PageCtx,
    errors: FormErrors,
    current: Option<jinglao_db::purchase::catalogue::Catalogue>,
    /// Item names, by code, for the table.
    names: Vec<(String, String)>,
    can_publish: bool,
    rows: Vec<Row>,
    basis: String,
    categories: Vec<(&'static str, &'static str)>,
    natures: Vec<(&'static str, &'static str)>,
}

impl CataloguePage {
    /// An item's name.
    pub fn item_name(&self, code: &str) -> String {
        self.names
            .iter()
            .find(|(c, _)| c == code)
            .map_or(code.to_string(), |(_, n)| n.clone())
    }
}

fn root(user: &CurrentUser) -> Result<RegionCode, AppError> {
    let staff = user.can(Permission::PlanPurchases) || user.can(Permission::ApprovePurchases);
    match user.scope.region_root() {
        Some(r) if staff && user.scope.provider_id().is_none() => Ok(r),
        _ => Err(AppError::Forbidden(
            "只有民政部门和财政部门的工作人员可以查看指导性目录".into(),
        )),
    }
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    errors: FormErrors,
    typed: Option<(String, Vec<Row>)>,
) -> Result<CataloguePage, PageError> {
    let region = root(user)?;
    let mut c = state.db.acquire().await?;
    let current = jinglao_db::purchase::catalogue::in_force(&mut c.conn(), &region).await?;
    let list = jinglao_db::service_lists::applicable(&mut c.conn(), &region).await?;
    drop(c);
    let names: Vec<(String, String)> = list
        .map(|l| {
            l.items
                .iter()
                .map(|i| (i.code.clone(), i.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let (basis, rows) = typed.unwrap_or_else(|| {
        let mut rows: Vec<Row> = current
            .iter()
            .flat_map(|k| k.entries.iter())
            .enumerate()
            .map(|(n, e)| Row {
                i: n + 1,
                code: e.code.clone(),
                name: e.name.clone(),
                category: e.category.as_str().into(),
                nature: e.nature.as_str().into(),
                content: e.content.clone(),
                items: e.item_codes.clone(),
            })
            .collect();
        let from = rows.len();
        for n in 0..SPARE_ROWS {
            rows.push(Row {
                i: from + n + 1,
                code: String::new(),
                name: String::new(),
                category: String::new(),
                nature: String::new(),
                content: String::new(),
                items: Vec::new(),
            });
        }
        (String::new(), rows)
    });
    Ok(CataloguePage {
        ctx: ctx.with_errors(&errors),
        errors,
        current,
        names,
        can_publish: user.can(Permission::ManagePurchaseCatalogue),
        rows,
        basis,
        categories: PurchaseCategory::ALL
            .iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
        natures: ServiceNature::ALL
            .iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
    })
}

/// `GET /purchase/catalogue`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    render(&page(&state, ctx, &user, FormErrors::new(), None).await?)
}

/// `POST /purchase/catalogue`: `basis` and, per row `n`, `e.n.code`, `e.n.name`,
/// `e.n.category`, `e.n.nature`, `e.n.content` and `e.n.item` (repeated); rows without a code
/// and name are left out.
pub async fn publish(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(map): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let region = root(&user)?;
    let get = |k: &str| {
        map.iter()
            .find(|(n, _)| n == k)
            .map_or(String::new(), |(_, v)| v.trim().to_string())
    };
    let mut rows = Vec::new();
    for i in 1..=60 {
        let f = |n: &str| get(&format!("e.{i}.{n}"));
        let items: Vec<String> = map
            .iter()
            .filter(|(k, _)| *k == format!("e.{i}.item"))
            .map(|(_, v)| v.clone())
            .collect();
        let row = Row {
            i,
            code: f("code"),
            name: f("name"),
            category: f("category"),
            nature: f("nature"),
            content: f("content"),
            items,
        };
        let seen = map.iter().any(|(k, _)| k.starts_with(&format!("e.{i}.")));
        if !seen {
            break;
        }
        rows.push(row);
    }
    let drafts: Vec<EntryDraft> = rows
        .iter()
        .filter(|r| !(r.code.is_empty() && r.name.is_empty()))
        .map(|r| EntryDraft {
            code: r.code.clone(),
            name: r.name.clone(),
            category: r.category.clone(),
            nature: r.nature.clone(),
            content: r.content.clone(),
            item_codes: r.items.clone(),
        })
        .collect();
    let basis = get("basis");
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = crate::usecase::purchase::contracts::publish_catalogue(
        &state, &acting, region, &basis, &drafts,
    )
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/purchase/catalogue?notice=catalogue_published").into_response()),
        Err(AppError::Invalid(errors)) => render_with_status(
            &page(&state, ctx, &user, errors, Some((basis, rows))).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}
