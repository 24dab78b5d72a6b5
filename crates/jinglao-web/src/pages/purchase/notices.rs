//! The public notice pages of government purchase: `/open-data/purchase` lists every announced
//! project; `/open-data/purchase/{id}` is one project's notice and, as it goes on, its award,
//! contracts, acceptances and evaluation. For everyone, without signing in.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use jinglao_domain::clock::format_local;
use jinglao_domain::settlement::yuan;

use crate::error::{AppError, PageError, render};
use crate::pages::{IdPath, PageCtx};
use crate::state::AppState;
use crate::usecase::purchase::notices::{self as usecase, PublicProject};

/// A row of the list.
pub struct Row {
    /// Id.
    pub id: uuid::Uuid,
    /// Title.
    pub title: String,
    /// Purchasing body.
    pub purchaser: String,
    /// Mode.
    pub mode: &'static str,
    /// Budget, yuan.
    pub budget: String,
    /// State.
    pub status: &'static str,
    /// Deadline.
    pub deadline: String,
}

/// `GET /open-data/purchase`.
#[derive(Template)]
#[template(path = "purchase/notices.html")]
pub struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
}

/// `GET /open-data/purchase`
pub async fn index(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, PageError> {
    let rows = usecase::list(&state)
        .await?
        .into_iter()
        .map(|p| Row {
            id: p.id,
            title: p.input.title.clone(),
            purchaser: p.purchaser_name.clone(),
            mode: p.input.mode.label(),
            budget: yuan(p.input.budget_fen),
            status: p.status.label(),
            deadline: p.bid_deadline.map(format_local).unwrap_or_default(),
        })
        .collect();
    render(&ListPage { ctx, rows })
}

/// `GET /open-data/purchase/{id}`.
#[derive(Template)]
#[template(path = "purchase/notice.html")]
pub struct ShowPage {
    ctx: PageCtx,
    v: PublicProject,
    budget: String,
    deadline: Option<String>,
    open: bool,
    awards: Vec<(String, String)>,
}

/// `GET /open-data/purchase/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let v = usecase::show(&state, id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    render(&ShowPage {
        ctx,
        budget: yuan(v.project.input.budget_fen),
        deadline: v.project.bid_deadline.map(format_local),
        open: v.project.bid_deadline.is_some_and(|d| d > now),
        awards: v
            .awards
            .iter()
            .map(|(n, f)| (n.clone(), yuan(*f)))
            .collect(),
        v,
    })
}
