//! The proactive-matching page (服务找人): per village/community (or any region in scope) the
//! people eligible but not enrolled, the enrolled no longer eligible with the reason, and the
//! recent changes, with the last sweep and a button to sweep again now.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::eligibility::{self, SweepOptions, Trigger};
use jinglao_db::worklists::{self, WorkFilter, WorkRow, Worklist};
use jinglao_domain::clock::format_local;
use jinglao_domain::{Invalid, Permission, RegionCode};
use serde::Deserialize;

use crate::auth::can::{PageCan, need};
use crate::error::{AppError, PageError, render};
use crate::pages::PageCtx;
use crate::request::RequestMeta;
use crate::state::AppState;

const PER_PAGE: i64 = 50;

/// Query of the page.
#[derive(Debug, Deserialize)]
pub struct WorkQuery {
    #[serde(default)]
    region: String,
    #[serde(default)]
    list: String,
    #[serde(default)]
    item: String,
    page: Option<i64>,
}

/// One row as shown.
pub struct Row {
    row: WorkRow,
    place: String,
    at: String,
}

/// The page.
#[derive(Template)]
#[template(path = "eligibility/index.html")]
pub struct WorkPage {
    ctx: PageCtx,
    picker: crate::pages::region_picker::RegionPicker,
    region: String,
    region_label: String,
    list: Worklist,
    lists: Vec<Worklist>,
    item: String,
    items: Vec<(String, String)>,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    has_next: bool,
    last_sweep: Option<String>,
    can_sweep: bool,
    error: Option<String>,
}

/// `GET /eligibility`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ViewElders>,
    Query(q): Query<WorkQuery>,
) -> Result<Response, PageError> {
    let home = user.scope.region_root().unwrap_or(user.account.region_code);
    let (region, error) = match q.region.trim() {
        "" => (home, None),
        r => match RegionCode::parse(r)
            .ok()
            .filter(|r| user.scope.covers_record_in(r))
        {
            Some(r) => (r, None),
            None => (
                home,
                Some(format!("区划“{r}”无效或不在您的管辖范围内，已显示本辖区。")),
            ),
        },
    };
    let list = Worklist::parse(&q.list).unwrap_or(Worklist::EligibleNotEnrolled);
    let page = q.page.unwrap_or(1).max(1);
    let mut c = state.db.acquire().await?;
    let applicable = jinglao_db::service_lists::applicable(&mut c.conn(), &region).await?;
    let items: Vec<(String, String)> = applicable
        .map(|l| {
            l.items
                .iter()
                .map(|i| (i.code.clone(), i.display_name()))
                .collect()
        })
        .unwrap_or_default();
    let item = q.item.trim().to_string();
    let filter = WorkFilter {
        region,
        item: items.iter().any(|(c, _)| *c == item).then(|| item.clone()),
        on: state.today(),
        since: state.clock.now() - chrono::Duration::days(30),
        page: page - 1,
        per_page: PER_PAGE,
    };
    let result = worklists::page(&mut c.conn(), &user.scope, list, &filter).await?;
    let last = eligibility::last_sweep(&mut c.conn(), &region).await?;
    drop(c);
    let rows = result
        .rows
        .into_iter()
        .map(|row| Row {
            place: RegionCode::parse(&row.residence_region_code)
                .map(|r| state.region_name(&r))
                .unwrap_or_else(|_| row.residence_region_code.clone()),
            at: row.at.map(format_local).unwrap_or_default(),
            row,
        })
        .collect();
    render(&WorkPage {
        ctx,
        picker: crate::pages::region_picker::area_filter(
            &state.regions.tree(),
            &user.scope,
            region.short(),
        ),
        region: region.short().to_string(),
        region_label: state.region_path(&region),
        list,
        lists: vec![
            Worklist::EligibleNotEnrolled,
            Worklist::EnrolledNotEligible,
            Worklist::Changes,
        ],
        item: filter.item.unwrap_or_default(),
        items,
        rows,
        total: result.total,
        page,
        has_next: page * PER_PAGE < result.total,
        last_sweep: last.map(|s| {
            format!(
                "{}（{}，{} 人，新符合 {} 项、不再符合 {} 项）",
                format_local(s.started_at),
                s.trigger_label(),
                s.people,
                s.gained,
                s.lost
            )
        }),
        can_sweep: user.can(Permission::EditElders),
        error,
    })
}

/// The sweep form.
#[derive(Debug, Deserialize)]
pub struct SweepForm {
    #[serde(default)]
    region: String,
}

/// `POST /eligibility/sweeps`: sweep a region now.
pub async fn sweep(
    State(state): State<AppState>,
    PageCan(user, _): PageCan<need::EditElders>,
    meta: RequestMeta,
    Form(form): Form<SweepForm>,
) -> Result<Response, PageError> {
    let region = RegionCode::parse(form.region.trim())
        .ok()
        .filter(|r| user.scope.covers_record_in(r))
        .ok_or_else(|| {
            AppError::Invalid(Invalid::one("region", "区划代码无效或不在您的管辖范围内"))
        })?;
    let book = jinglao_db::policy::book(&state.db).await?;
    eligibility::sweep(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &region,
        &book,
        SweepOptions {
            trigger: Trigger::Manual,
            on: state.today(),
            threads: 0,
        },
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/eligibility?region={}&list=changes&notice=swept",
        region.short()
    ))
    .into_response())
}
