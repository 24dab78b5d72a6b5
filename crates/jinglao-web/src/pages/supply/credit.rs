//! Credit records on a provider's page: recording a 失信 listing or an administrative penalty
//! (`POST /providers/{id}/credit-records`) and revoking one
//! (`POST /providers/{id}/credit-records/{record}/revoke`). The same use cases serve the API.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::{DbError, credit};
use jinglao_domain::category::parse_date;
use jinglao_domain::credit::CreditDraft;
use serde::Deserialize;

use crate::auth::can::{PageCan, need};
use crate::error::{AppError, PageError, render_with_status};
use crate::pages::IdPath;
use crate::pages::PageCtx;
use crate::pages::providers::{FindingForm, parse_id, provider_page};
use crate::request::RequestMeta;
use crate::state::AppState;

/// The credit-record form (also carries the revoke fields).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CreditForm {
    pub(crate) kind: String,
    pub(crate) decision_no: String,
    pub(crate) authority: String,
    pub(crate) decided_on: String,
    pub(crate) ends_on: String,
    pub(crate) summary: String,
    pub(crate) revoked_on: String,
    pub(crate) revoke_reason: String,
}

async fn answer(
    state: AppState,
    ctx: PageCtx,
    user: crate::auth::CurrentUser,
    id: uuid::Uuid,
    result: Result<(), DbError>,
    form: CreditForm,
    notice: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/providers/{id}?notice={notice}#credit")).into_response())
        }
        Err(DbError::Invalid(errors)) => {
            let page =
                provider_page(&state, ctx, &user, id, errors, FindingForm::default(), form).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /providers/{id}/credit-records`
pub async fn record(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::RecordCredit>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<CreditForm>,
) -> Result<Response, PageError> {
    let draft = CreditDraft {
        kind: &form.kind,
        decision_no: &form.decision_no,
        authority: &form.authority,
        decided_on: &form.decided_on,
        ends_on: &form.ends_on,
        summary: &form.summary,
    };
    let result = match draft.validate(state.today()) {
        Ok(rec) => {
            let actor = user.actor(&meta);
            let (db, key) = (&state.db, &state.keys.audit_chain);
            credit::record(db, key, &actor, id, &rec, state.clock.now())
                .await
                .map(|_| ())
        }
        Err(invalid) => Err(DbError::Invalid(invalid)),
    };
    answer(state, ctx, user, id, result, form, "credit_recorded").await
}

/// `POST /providers/{id}/credit-records/{record}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::RecordCredit>,
    meta: RequestMeta,
    Path((id, record)): Path<(String, String)>,
    Form(form): Form<CreditForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let record = parse_id(&record)?;
    let result = credit::revoke(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        record,
        parse_date(&form.revoked_on),
        &form.revoke_reason,
    )
    .await;
    // The record's own provider decides where the clerk lands (the address only names a page).
    let (id, result) = match result {
        Ok(provider) => (provider, Ok(())),
        Err(e) => (id, Err(e)),
    };
    answer(state, ctx, user, id, result, form, "credit_revoked").await
}
