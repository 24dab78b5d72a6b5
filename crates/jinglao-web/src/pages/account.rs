//! The signed-in user's own account: details, password change and display preference.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::users::{self, PasswordChange};
use jinglao_domain::clock::format_local;
use jinglao_domain::{Invalid, PasswordPolicy};
use serde::Deserialize;

use super::{FormErrors, PageCtx};
use crate::auth::{PageUser, password};
use crate::error::{PageError, render, render_with_status};
use crate::request::RequestMeta;
use crate::state::AppState;

/// The account page.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    ctx: PageCtx,
    errors: FormErrors,
    username: String,
    display_name: String,
    role_label: &'static str,
    region_code: String,
    password_changed: String,
    must_change: bool,
}

fn account_page(ctx: PageCtx, user: &crate::auth::CurrentUser, errors: FormErrors) -> AccountPage {
    let a = &user.account;
    AccountPage {
        ctx: ctx.with_errors(&errors),
        errors,
        username: a.username.to_string(),
        display_name: a.display_name.clone(),
        role_label: a.role.label(),
        region_code: a.region_code.to_string(),
        password_changed: format_local(a.password_changed_at),
        must_change: a.must_change_password,
    }
}

/// `GET /account`
pub async fn show(ctx: PageCtx, PageUser(user): PageUser) -> Result<Response, PageError> {
    render(&account_page(ctx, &user, FormErrors::new()))
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// `POST /account/password`: checks the current password and the policy, stores the new one
/// and ends the account's other sessions.
pub async fn change_password(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::new();
    let stored = {
        let mut c = state.db.acquire().await?;
        users::credentials(&mut c.conn(), &user.account.username)
            .await?
            .map(|(_, h)| h)
    };
    if form.current_password.is_empty() {
        inv.add("current_password", "请输入当前密码");
    } else if !password::verify(&form.current_password, stored).await? {
        inv.add("current_password", "当前密码不正确");
    }
    if let Err(e) =
        PasswordPolicy::default().check(user.account.username.as_str(), &form.new_password)
    {
        inv.add("new_password", e.to_string());
    } else if form.new_password == form.current_password {
        inv.add("new_password", "新密码不能与当前密码相同");
    }
    if form.confirm_password != form.new_password {
        inv.add("confirm_password", "两次输入的新密码不一致");
    }
    if !inv.is_empty() {
        return render_with_status(
            &account_page(ctx, &user, inv),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hash = password::hash(&form.new_password).await?;
    users::set_password(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        user.account.id,
        &hash,
        PasswordChange::ByUser,
        user.session.as_ref().map(|s| s.id_hash.as_str()),
    )
    .await?;
    state.access_changed();
    Ok(Redirect::to("/account?notice=password_changed").into_response())
}
