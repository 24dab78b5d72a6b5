//! The notification centre (消息): a staff member's own notifications, newest first, unread ones
//! marked; 「查看」 marks one read and opens what it is about, 「全部标为已读」 clears the count.
//! Only the owner sees or marks them.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::notify::{self, Notification};
use jinglao_domain::clock::format_local;

use crate::auth::PageUser;
use crate::error::{AppError, PageError, render};
use crate::pages::{IdPath, PageCtx};
use crate::state::AppState;

/// How many the centre shows.
const SHOWN: i64 = 100;

/// `GET /notifications`.
#[derive(Template)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    ctx: PageCtx,
    rows: Vec<(Notification, String)>,
    unread: i64,
}

/// `GET /notifications`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let mut c = state.db.acquire().await?;
    let (rows, unread) = notify::list(&mut c.conn(), user.account.id, SHOWN).await?;
    render(&NotificationsPage {
        ctx,
        rows: rows
            .into_iter()
            .map(|n| {
                let at = format_local(n.created_at);
                (n, at)
            })
            .collect(),
        unread,
    })
}

/// `POST /notifications/{id}/open`: marks it read and goes where it points (a local path only).
pub async fn open(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let mut c = state.db.acquire().await?;
    let n = notify::get(&mut c.conn(), user.account.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    notify::mark_read(&mut c.conn(), user.account.id, Some(id), state.clock.now()).await?;
    let to = crate::pages::safe_return_path(Some(&n.link));
    Ok(Redirect::to(&to).into_response())
}

/// `POST /notifications/read`: marks all of the user's notifications read.
pub async fn read_all(
    State(state): State<AppState>,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let mut c = state.db.acquire().await?;
    notify::mark_read(&mut c.conn(), user.account.id, None, state.clock.now()).await?;
    Ok(Redirect::to("/notifications").into_response())
}
