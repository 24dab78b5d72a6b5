//! Account management for administrators: list and filter, create (with a temporary password
//! shown once), change role, region, provider and status, reset passwords, lift lockouts,
//! revoke API tokens.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::audit::{self, Event};
use jinglao_db::providers::{self, Provider};
use jinglao_db::tokens::{self, TokenRecord};
use jinglao_db::users::{self, AccountChanges, AccountFilter, NewAccount, PasswordChange};
use jinglao_db::{DbError, throttle};
use jinglao_domain::clock::format_local;
use jinglao_domain::{Account, Invalid, Permission, RegionCode, RegionLevel, Role, Username};
use serde::Deserialize;
use uuid::Uuid;

use super::{FormErrors, PageCtx};
use crate::auth::{CurrentUser, PageUser, password, secrets};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::region_picker::RegionPicker;
use crate::request::RequestMeta;
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;

/// A row of the account list.
pub struct AccountRow {
    account: Account,
    region: String,
    last_login: String,
}

/// A locked name or address.
pub struct LockRow {
    key: String,
    label: String,
    until: String,
}

/// The account list.
#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    ctx: PageCtx,
    region: RegionPicker,
    rows: Vec<AccountRow>,
    locks: Vec<LockRow>,
    roles: Vec<Role>,
    filter_role: String,
    filter_active: String,
    filter_q: String,
    page: i64,
    has_next: bool,
    next_query: String,
    prev_query: String,
}

/// Filters of the account list.
#[derive(Debug, Deserialize, Default)]
pub struct UsersQuery {
    #[serde(default)]
    role: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

fn admin(user: &CurrentUser) -> Result<(), AppError> {
    user.require(Permission::ManageAccounts)
}

fn query_string(q: &UsersQuery, page: i64) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("role", &q.role)
        .append_pair("region", &q.region)
        .append_pair("active", &q.active)
        .append_pair("q", &q.q)
        .append_pair("page", &page.to_string())
        .finish()
}

/// `GET /admin/users`
pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<UsersQuery>,
) -> Result<Response, PageError> {
    admin(&user)?;
    let page = q.page.unwrap_or(1).max(1);
    let filter = AccountFilter {
        role: q.role.parse::<Role>().ok(),
        region: RegionCode::parse(&q.region).ok(),
        active: match q.active.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        text: Some(q.q.clone()),
    };
    let now = state.clock.now();
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let mut accounts = users::list(
        &mut conn,
        &user.scope,
        &filter,
        PAGE_SIZE + 1,
        (page - 1) * PAGE_SIZE,
    )
    .await?;
    let has_next = accounts.len() as i64 > PAGE_SIZE;
    accounts.truncate(PAGE_SIZE as usize);
    let locks = throttle::locked(&mut conn, now)
        .await?
        .into_iter()
        .map(|(key, until)| LockRow {
            label: match key.split_once(':') {
                Some(("user", name)) => format!("账号 {name}"),
                Some(("ip", ip)) => format!("地址 {ip}"),
                _ => key.clone(),
            },
            key,
            until: format_local(until),
        })
        .collect();
    render(&UsersPage {
        region: crate::pages::region_picker::area_filter(
            &state.regions.tree(),
            &user.scope,
            &q.region,
        ),
        ctx,
        rows: accounts
            .into_iter()
            .map(|a| AccountRow {
                region: state.region_path(&a.region_code),
                last_login: a
                    .last_login_at
                    .map(format_local)
                    .unwrap_or_else(|| "从未登录".into()),
                account: a,
            })
            .collect(),
        locks,
        roles: Role::ALL.to_vec(),
        filter_role: q.role.clone(),
        filter_active: q.active.clone(),
        filter_q: q.q.clone(),
        page,
        has_next,
        next_query: query_string(&q, page + 1),
        prev_query: query_string(&q, page - 1),
    })
}

/// The create/edit form's values.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct AccountForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    provider_id: String,
    #[serde(default)]
    active: String,
}

/// The new-account page.
#[derive(Template)]
#[template(path = "admin/user_new.html")]
pub struct NewUserPage {
    ctx: PageCtx,
    region: RegionPicker,
    errors: FormErrors,
    form: AccountForm,
    roles: Vec<Role>,
    providers: Vec<Provider>,
}

/// The page showing a temporary password once.
#[derive(Template)]
#[template(path = "admin/user_password.html")]
pub struct TemporaryPasswordPage {
    ctx: PageCtx,
    account: Account,
    password: String,
    created: bool,
}

async fn provider_choices(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<Provider>, PageError> {
    let mut c = state.db.acquire().await?;
    Ok(providers::list(&mut c.conn(), &user.scope).await?)
}

/// `GET /admin/users/new`
pub async fn new_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    admin(&user)?;
    render(&NewUserPage {
        region: region_field(&state, &user, "", &FormErrors::new()),
        ctx,
        errors: FormErrors::new(),
        form: AccountForm::default(),
        roles: Role::ALL.to_vec(),
        providers: provider_choices(&state, &user).await?,
    })
}

/// The account's region: any level of the administrator's own scope.
fn region_field(
    state: &AppState,
    user: &CurrentUser,
    current: &str,
    errors: &FormErrors,
) -> RegionPicker {
    RegionPicker::new(
        &state.regions.tree(),
        &user.scope,
        "region_code",
        "所属地区",
        (RegionLevel::Province, RegionLevel::Village),
        current,
    )
    .hint("村（社区）工作人员选到村（社区），其余工作人员选到其所在层级。")
    .error(errors)
}

/// Parses the role, region and provider fields shared by the create and edit forms.
fn parse_attachment(
    form: &AccountForm,
    inv: &mut Invalid,
) -> (Option<Role>, Option<RegionCode>, Option<Uuid>) {
    let role = match form.role.parse::<Role>() {
        Ok(r) => Some(r),
        Err(_) => {
            inv.add("role", "请选择角色");
            None
        }
    };
    let region = match RegionCode::parse(&form.region_code) {
        Ok(c) => Some(c),
        Err(e) => {
            inv.add(
                "region_code",
                if form.region_code.trim().is_empty() {
                    "请填写所属区划代码".to_string()
                } else {
                    e.to_string()
                },
            );
            None
        }
    };
    let provider = if form.provider_id.trim().is_empty() {
        None
    } else {
        match Uuid::parse_str(form.provider_id.trim()) {
            Ok(p) => Some(p),
            Err(_) => {
                inv.add("provider_id", "请选择服务机构");
                None
            }
        }
    };
    (role, region, provider)
}

fn db_errors(e: DbError) -> Result<FormErrors, PageError> {
    match e {
        DbError::Invalid(i) => Ok(i),
        other => Err(AppError::from(other).into()),
    }
}

/// `POST /admin/users`: creates the account with a temporary password shown once.
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(form): Form<AccountForm>,
) -> Result<Response, PageError> {
    admin(&user)?;
    let mut inv = Invalid::new();
    let username = match Username::parse(&form.username) {
        Ok(u) => Some(u),
        Err(e) => {
            inv.add("username", e.to_string());
            None
        }
    };
    users::check_display_name(&form.display_name, &mut inv);
    let (role, region, provider) = parse_attachment(&form, &mut inv);
    if !inv.is_empty()
        && let (Some(role), Some(region)) = (role, region)
    {
        // Report the database-backed problems too, so the form is fixed in one pass.
        let mut c = state.db.acquire().await?;
        users::check_attachment(
            &mut c.conn(),
            &user.actor(&meta),
            role,
            &region,
            provider,
            &mut inv,
        )
        .await?;
    }
    let errors = match (inv.is_empty(), username, role, region) {
        (true, Some(username), Some(role), Some(region_code)) => {
            let temp = secrets::readable_password();
            let new = NewAccount {
                username,
                display_name: form.display_name.clone(),
                role,
                region_code,
                provider_id: provider,
                password_hash: password::hash(&temp).await?,
                must_change_password: true,
            };
            match users::create(
                &state.db,
                &state.keys.audit_chain,
                &user.actor(&meta),
                new,
                state.clock.now(),
            )
            .await
            {
                Ok(account) => {
                    return render(&TemporaryPasswordPage {
                        ctx,
                        account,
                        password: temp,
                        created: true,
                    });
                }
                Err(e) => db_errors(e)?,
            }
        }
        _ => inv,
    };
    let page = NewUserPage {
        region: region_field(&state, &user, &form.region_code, &errors),
        ctx: ctx.with_errors(&errors),
        errors,
        form,
        roles: Role::ALL.to_vec(),
        providers: provider_choices(&state, &user).await?,
    };
    render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// A token row.
pub struct TokenRow {
    token: TokenRecord,
    created: String,
    expires: String,
    last_used: String,
    live: bool,
}

/// One account.
#[derive(Template)]
#[template(path = "admin/user_show.html")]
pub struct UserPage {
    ctx: PageCtx,
    region: RegionPicker,
    errors: FormErrors,
    account: Account,
    form: AccountForm,
    roles: Vec<Role>,
    providers: Vec<Provider>,
    locked_until: Option<String>,
    sessions: i64,
    tokens: Vec<TokenRow>,
    last_login: String,
    created: String,
    password_changed: String,
    is_self: bool,
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

/// The account with this id if the administrator's scope reaches it, otherwise 404.
async fn account_in_scope(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<Account, PageError> {
    let mut c = state.db.acquire().await?;
    Ok(users::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?)
}

async fn user_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    id: Uuid,
    errors: FormErrors,
    form: Option<AccountForm>,
) -> Result<UserPage, PageError> {
    let now = state.clock.now();
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let account = users::get(&mut conn, &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let locked_until = throttle::locked_until(
        &mut conn,
        &throttle::user_key(account.username.as_str()),
        now,
    )
    .await?
    .map(format_local);
    let sessions = jinglao_db::sessions::count_for_user(&mut conn, id).await?;
    let tokens = tokens::list_for_user(&mut conn, id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            created: format_local(t.created_at),
            expires: format_local(t.expires_at),
            last_used: t
                .last_used_at
                .map(format_local)
                .unwrap_or_else(|| "—".into()),
            live: t.revoked_at.is_none() && t.expires_at > now,
            token: t,
        })
        .collect();
    let providers = providers::list(&mut conn, &user.scope).await?;
    // Viewing an account is a read of a person's record.
    audit::record(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(meta),
        Event::new("user.read", "user", id).region(Some(account.region_code)),
        now,
    )
    .await?;
    let form = form.unwrap_or_else(|| AccountForm {
        username: account.username.to_string(),
        display_name: account.display_name.clone(),
        role: account.role.as_str().to_string(),
        region_code: account.region_code.to_string(),
        provider_id: account
            .provider_id
            .map(|p| p.to_string())
            .unwrap_or_default(),
        active: if account.active {
            "yes".into()
        } else {
            "no".into()
        },
    });
    Ok(UserPage {
        region: region_field(state, user, &form.region_code, &errors),
        ctx: ctx.with_errors(&errors),
        errors,
        last_login: match (&account.last_login_at, &account.last_login_ip) {
            (Some(t), ip) => format!(
                "{}（{}）",
                format_local(*t),
                ip.clone().unwrap_or_else(|| "未知地址".into())
            ),
            _ => "从未登录".into(),
        },
        created: format_local(account.created_at),
        password_changed: format_local(account.password_changed_at),
        is_self: account.id == user.account.id,
        account,
        form,
        roles: Role::ALL.to_vec(),
        providers,
        locked_until,
        sessions,
        tokens,
    })
}

/// `GET /admin/users/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    admin(&user)?;
    render(&user_page(&state, ctx, &user, &meta, id, FormErrors::new(), None).await?)
}

/// `POST /admin/users/{id}`: saves role, region, provider, name and status.
pub async fn update(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<AccountForm>,
) -> Result<Response, PageError> {
    admin(&user)?;
    let mut inv = Invalid::new();
    let (role, region, provider) = parse_attachment(&form, &mut inv);
    let active = match form.active.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            inv.add("active", "请选择账号状态");
            None
        }
    };
    let errors = match (inv.is_empty(), role, region, active) {
        (true, Some(role), Some(region_code), Some(active)) => {
            let changes = AccountChanges {
                display_name: form.display_name.clone(),
                role,
                region_code,
                provider_id: provider,
                active,
            };
            match users::update(
                &state.db,
                &state.keys.audit_chain,
                &user.actor(&meta),
                id,
                changes,
                state.clock.now(),
            )
            .await
            {
                Ok(_) => {
                    state.access_changed();
                    return Ok(
                        Redirect::to(&format!("/admin/users/{id}?notice=saved")).into_response()
                    );
                }
                Err(e) => db_errors(e)?,
            }
        }
        _ => inv,
    };
    render_with_status(
        &user_page(&state, ctx, &user, &meta, id, errors, Some(form)).await?,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

/// `POST /admin/users/{id}/reset-password`: sets a temporary password, shown once; the user
/// must change it at next sign-in, and every session and token of the account ends.
pub async fn reset_password(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    admin(&user)?;
    let temp = secrets::readable_password();
    let hash = password::hash(&temp).await?;
    users::set_password(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        id,
        &hash,
        PasswordChange::Reset,
        None,
    )
    .await?;
    state.access_changed();
    let account = account_in_scope(&state, &user, id).await?;
    render(&TemporaryPasswordPage {
        ctx,
        account,
        password: temp,
        created: false,
    })
}

/// `POST /admin/users/{id}/unlock`
pub async fn unlock(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    admin(&user)?;
    let account = account_in_scope(&state, &user, id).await?;
    throttle::unlock(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &throttle::user_key(account.username.as_str()),
        Some(account.region_code),
        state.clock.now(),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/users/{id}?notice=unlocked")).into_response())
}

/// The unlock-address form.
#[derive(Debug, Deserialize)]
pub struct UnlockKeyForm {
    #[serde(default)]
    key: String,
}

/// `POST /admin/locks/unlock`: lifts a lock on an address (or a name without an account).
pub async fn unlock_key(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(form): Form<UnlockKeyForm>,
) -> Result<Response, PageError> {
    admin(&user)?;
    if !(form.key.starts_with("ip:") || form.key.starts_with("user:")) {
        return Err(AppError::BadRequest {
            message: "无效的锁定项".into(),
            field: Some("key".into()),
        }
        .into());
    }
    throttle::unlock(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &form.key,
        None,
        state.clock.now(),
    )
    .await?;
    Ok(Redirect::to("/admin/users?notice=unlocked").into_response())
}

/// `POST /admin/users/{id}/tokens/{token_id}/revoke`
pub async fn revoke_token(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    admin(&user)?;
    let id = parse_id(&id)?;
    let token_id = parse_id(&token_id)?;
    account_in_scope(&state, &user, id).await?;
    let mut c = state.db.acquire().await?;
    if !tokens::list_for_user(&mut c.conn(), id)
        .await?
        .iter()
        .any(|t| t.id == token_id)
    {
        return Err(AppError::NotFound.into());
    }
    drop(c);
    tokens::revoke(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        token_id,
        state.clock.now(),
    )
    .await?;
    state.access_changed();
    Ok(Redirect::to(&format!("/admin/users/{id}?notice=saved")).into_response())
}
