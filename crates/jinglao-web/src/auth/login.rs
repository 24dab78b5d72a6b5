//! Signing in and out, shared by the sign-in page and `POST /api/v1/auth/token`.
//!
//! Failures count against the account name and the client address; either reaching its limit
//! locks it for the lockout period, during which even the right password is refused. Unknown
//! names are treated exactly like wrong passwords.

use chrono::{DateTime, Duration, Utc};
use jinglao_db::audit::{self, Event};
use jinglao_db::throttle::{self, ip_key, user_key};
use jinglao_db::{Actor, sessions, tokens, users};
use jinglao_domain::clock::format_local;
use jinglao_domain::{Account, Invalid, Username};
use serde_json::json;

use super::password;
use super::secrets::{digest, new_api_token, random_secret};
use crate::error::AppError;
use crate::request::RequestMeta;
use crate::state::AppState;

/// The message for a wrong name or password (never says which).
pub const BAD_CREDENTIALS: &str = "用户名或密码不正确";

fn locked_error(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    AppError::RateLimited {
        message: format!(
            "登录失败次数过多，该账号或您所在的网络已被暂时锁定，请在 {} 之后再试",
            format_local(until)
        ),
        retry_after_secs: (until - now).num_seconds(),
    }
}

fn actor_for_attempt(meta: &RequestMeta, name: &str, account: Option<&Account>) -> Actor {
    let mut a = Actor::system().with_request(meta.client_ip.clone(), meta.request_id.clone());
    a.name = name.chars().take(64).collect();
    a.role = account
        .map(|a| a.role.as_str().to_string())
        .unwrap_or_else(|| "anonymous".into());
    a.user_id = account.map(|a| a.id);
    a
}

/// Checks a name and password. On success returns the account (and forgets earlier failures
/// of that account); on failure counts it and returns a field error or, when locked, 429.
pub async fn authenticate(
    state: &AppState,
    meta: &RequestMeta,
    username: &str,
    password_text: &str,
) -> Result<Account, AppError> {
    let now = state.clock.now();
    let name = username.trim().to_lowercase();
    if name.is_empty() || password_text.is_empty() {
        let mut inv = Invalid::new();
        if name.is_empty() {
            inv.add("username", "请输入用户名");
        }
        if password_text.is_empty() {
            inv.add("password", "请输入密码");
        }
        return Err(inv.into());
    }
    let ukey = user_key(&name);
    let ikey = meta.client_ip.as_deref().map(ip_key);
    let mut keys = vec![(ukey.as_str(), state.account_throttle())];
    if let Some(k) = &ikey {
        keys.push((k.as_str(), state.ip_throttle()));
    }

    // The attempt is counted before the password is checked (and given back if it is right),
    // so guesses sent in parallel cannot all be checked before the first failure counts.
    let mut tx = state.db.begin().await?;
    if let Some(until) = throttle::reserve(&mut tx.conn(), &keys, now).await? {
        tx.commit().await?;
        return Err(locked_error(until, now));
    }
    tx.commit().await?;

    let found = {
        let mut c = state.db.acquire().await?;
        match Username::parse(&name) {
            Ok(u) => users::credentials(&mut c.conn(), &u).await?,
            Err(_) => None,
        }
    };

    let (account, stored) = match found {
        Some((a, h)) => (Some(a), Some(h)),
        None => (None, None),
    };
    let ok = password::verify(password_text, stored).await?;
    if let Some(a) = &account
        && ok
        && a.active
    {
        // The account's failures are cleared when the session or token is issued.
        let mut tx = state.db.begin().await?;
        throttle::succeeded(
            &mut tx.conn(),
            &keys.iter().map(|k| k.0).collect::<Vec<_>>(),
        )
        .await?;
        tx.commit().await?;
        return Ok(a.clone());
    }
    let known = account;

    // The failure is already counted; lock the keys it filled, and record it, in one
    // transaction.
    let mut tx = state.db.begin().await?;
    let mut conn = tx.conn();
    let locked = throttle::failed(&mut conn, &keys, now).await?;
    let event = Event {
        action: "auth.login_failed",
        entity: "user",
        record_id: known.as_ref().map(|a| a.id.to_string()),
        region_code: known.as_ref().map(|a| a.region_code),
        detail: json!({
            "username": name.chars().take(64).collect::<String>(),
            "reason": match &known {
                None => "unknown_user",
                Some(a) if !a.active => "inactive",
                Some(_) => "bad_password",
            },
            "locked_until": locked,
        }),
    };
    let actor = actor_for_attempt(meta, &name, known.as_ref());
    audit::append(&mut conn, &state.keys.audit_chain, &actor, event, now).await?;
    tx.commit().await?;
    match locked {
        Some(until) => Err(locked_error(until, now)),
        None => Err(Invalid::one("username", BAD_CREDENTIALS).into()),
    }
}

/// A new browser session for `account`: any session the browser already had is ended (the
/// id changes at every sign-in), failures of the account are forgotten, and the sign-in is
/// recorded. Returns the cookie secret.
pub async fn start_session(
    state: &AppState,
    meta: &RequestMeta,
    account: &Account,
    previous_secret: Option<&str>,
) -> Result<String, AppError> {
    let now = state.clock.now();
    let secret = random_secret();
    let mut tx = state.db.begin().await?;
    let mut conn = tx.conn();
    if let Some(old) = previous_secret {
        sessions::delete(&mut conn, &digest(old)).await?;
    }
    sessions::insert(
        &mut conn,
        &sessions::NewSession {
            user_id: account.id,
            id_hash: &digest(&secret),
            csrf_token: &random_secret(),
            client_ip: meta.client_ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
        },
        now,
        state.absolute_timeout(),
    )
    .await?;
    users::record_login(&mut conn, account.id, meta.client_ip.as_deref(), now).await?;
    throttle::clear(&mut conn, &user_key(account.username.as_str())).await?;
    let actor = actor_for_attempt(meta, account.username.as_str(), Some(account));
    let event = Event::new("auth.login", "user", account.id)
        .region(Some(account.region_code))
        .detail(json!({ "channel": "web", "user_agent": meta.user_agent }));
    audit::append(&mut conn, &state.keys.audit_chain, &actor, event, now).await?;
    tx.commit().await?;
    Ok(secret)
}

/// A short-lived API token for `account`. Returns the token and its expiry.
pub async fn issue_api_token(
    state: &AppState,
    meta: &RequestMeta,
    account: &Account,
) -> Result<(String, DateTime<Utc>), AppError> {
    let now = state.clock.now();
    let token = new_api_token();
    let expires_at = now + Duration::hours(state.settings.auth.api_token_hours);
    let mut tx = state.db.begin().await?;
    let mut conn = tx.conn();
    let rec = tokens::insert(
        &mut conn,
        account.id,
        &digest(&token),
        tokens::TokenKind::Login,
        "api-login",
        now,
        expires_at,
    )
    .await?;
    users::record_login(&mut conn, account.id, meta.client_ip.as_deref(), now).await?;
    throttle::clear(&mut conn, &user_key(account.username.as_str())).await?;
    let actor = actor_for_attempt(meta, account.username.as_str(), Some(account));
    let event = Event::new("auth.token_issue", "api_token", rec.id)
        .region(Some(account.region_code))
        .detail(json!({ "channel": "api", "expires_at": expires_at }));
    audit::append(&mut conn, &state.keys.audit_chain, &actor, event, now).await?;
    tx.commit().await?;
    Ok((token, expires_at))
}

/// Ends a browser session and records the sign-out.
pub async fn end_session(
    state: &AppState,
    actor: &Actor,
    account: &Account,
    id_hash: &str,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut conn = tx.conn();
    if sessions::delete(&mut conn, id_hash).await? {
        let event = Event::new("auth.logout", "user", account.id).region(Some(account.region_code));
        audit::append(&mut conn, &state.keys.audit_chain, actor, event, now).await?;
    }
    tx.commit().await?;
    Ok(())
}
