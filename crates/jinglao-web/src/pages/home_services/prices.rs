//! A provider's contract unit prices (合同单价) per service-list item, with effective dates: the
//! list, and adding a price (bureau staff). Settlement pays each verified visit at the price in
//! force on its day.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::prices::{self, ContractPrice, NewPrice};
use jinglao_db::providers::{self, Provider};
use jinglao_db::{DbError, facilities::yuan_to_fen, service_lists};
use jinglao_domain::category::parse_date;
use jinglao_domain::settlement::yuan;
use jinglao_domain::{Invalid, Permission};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::providers::{may_view, parse_id};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// The form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PriceForm {
    item_code: String,
    valid_from: String,
    valid_to: String,
    unit_yuan: String,
    min_minutes: String,
    needs_certificate: String,
    basis: String,
}

/// A row, formatted.
pub struct PriceRow {
    p: ContractPrice,
    item_name: String,
    unit: String,
}

/// `GET /providers/{id}/prices`.
#[derive(Template)]
#[template(path = "providers/prices.html")]
pub struct PricesPage {
    ctx: PageCtx,
    errors: FormErrors,
    provider: Provider,
    rows: Vec<PriceRow>,
    items: Vec<(String, String)>,
    form: PriceForm,
    can_manage: bool,
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
    form: PriceForm,
) -> Result<PricesPage, PageError> {
    let mut c = state.db.acquire().await?;
    let provider = providers::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let items: Vec<(String, String)> =
        service_lists::applicable(&mut c.conn(), &provider.region_code)
            .await?
            .map(|l| {
                l.items
                    .iter()
                    .map(|i| (i.code.clone(), i.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
    let rows = prices::list(&mut c.conn(), id)
        .await?
        .into_iter()
        .map(|p| PriceRow {
            item_name: items
                .iter()
                .find(|(code, _)| *code == p.item_code)
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
            unit: yuan(p.unit_fen),
            p,
        })
        .collect();
    Ok(PricesPage {
        ctx: ctx.with_errors(&errors),
        errors,
        provider,
        rows,
        items,
        form,
        can_manage: user.can(Permission::ManageProviders),
    })
}

/// `GET /providers/{id}/prices`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let form = PriceForm {
        min_minutes: "0".into(),
        ..PriceForm::default()
    };
    render(&page(&state, ctx, &user, parse_id(&id)?, FormErrors::new(), form).await?)
}

/// `POST /providers/{id}/prices`
pub async fn add(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageProviders>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<PriceForm>,
) -> Result<Response, PageError> {
    let known = {
        let mut c = state.db.acquire().await?;
        let p = providers::get(&mut c.conn(), &user.scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        service_lists::applicable(&mut c.conn(), &p.region_code)
            .await?
            .is_some_and(|l| l.items.iter().any(|i| i.code == form.item_code.trim()))
    };
    let valid_to = parse_date(&form.valid_to);
    let result = if !known {
        Err(DbError::Invalid(Invalid::one(
            "item_code",
            "请从本地区基本养老服务清单中选择项目",
        )))
    } else if valid_to.is_none() && !form.valid_to.trim().is_empty() {
        Err(DbError::Invalid(Invalid::one(
            "valid_to",
            "截止日期应写成 年-月-日，长期有效请留空",
        )))
    } else {
        let unit_fen = yuan_to_fen(&form.unit_yuan).filter(|f| *f > 0);
        let p = NewPrice {
            item_code: form.item_code.trim(),
            valid_from: parse_date(&form.valid_from),
            valid_to,
            unit_fen,
            min_minutes: form.min_minutes.trim().parse().ok(),
            needs_certificate: form.needs_certificate == "yes",
            basis: &form.basis,
        };
        let (db, key) = (&state.db, &state.keys.audit_chain);
        prices::add(db, key, &user.actor(&meta), id, &p, state.clock.now()).await
    };
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("/providers/{id}/prices?notice=price_added")).into_response())
        }
        Err(DbError::Invalid(errors)) => {
            let page = page(&state, ctx, &user, id, errors, form).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}
