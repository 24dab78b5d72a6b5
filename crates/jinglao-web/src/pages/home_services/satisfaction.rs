//! Satisfaction roll-ups (服务满意度): ratings of visits per provider, caregiver or item, for
//! a month or all months, within the viewer's scope (a provider sees its own).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use jinglao_db::satisfaction::{self, By, RollUp};
use serde::Deserialize;

use crate::auth::PageUser;
use crate::error::{PageError, render};
use crate::pages::PageCtx;
use crate::pages::orders::may_view;
use crate::state::AppState;

/// Filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filter {
    by: String,
    month: String,
}

/// `GET /satisfaction`.
#[derive(Template)]
#[template(path = "visits/satisfaction.html")]
pub struct Page {
    ctx: PageCtx,
    by: &'static str,
    month: String,
    rows: Vec<RollUp>,
    heading: &'static str,
    /// The weight of a rating given on the caregiver's phone, percent.
    weight: i64,
}

/// `GET /satisfaction`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(f): Query<Filter>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let (by, key, heading) = match f.by.as_str() {
        "caregiver" => (By::Caregiver, "caregiver", "护理员"),
        "item" => (By::Item, "item", "服务项目"),
        _ => (By::Provider, "provider", "服务机构"),
    };
    let month = f.month.trim().to_string();
    let valid = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    let book = jinglao_db::policy::book(&state.db).await?;
    let home = user.scope.region_root().unwrap_or(user.account.region_code);
    let weight = book.int(
        jinglao_domain::policy::PolicyKey::SatisfactionCaregiverPhoneWeight,
        &home,
    );
    let mut c = state.db.acquire().await?;
    let rows = satisfaction::roll_up(
        &mut c.conn(),
        &user.scope,
        by,
        valid.then_some(month.as_str()),
        weight,
    )
    .await?;
    render(&Page {
        ctx,
        by: key,
        month: if valid { month } else { String::new() },
        rows,
        heading,
        weight,
    })
}
