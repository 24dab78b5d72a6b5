//! Regular visits (巡访): the due and overdue list for the viewer's area with the overdue
//! count per community, refreshing the list from the registry by the region's rules, and one
//! person's plan, visitor and visit history with the form to record a visit.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use jinglao_db::patrols::{self, Listed, NewVisit, PlanView, VISITOR_KINDS, VisitRow};
use jinglao_db::{DbError, elders};
use jinglao_domain::RegionCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render};
use crate::pages::IdPath;
use crate::pages::answer_form;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// The frequency in words.
pub fn frequency_label(f: &str) -> &'static str {
    patrols::frequency_of(f).label()
}

/// Filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DueQuery {
    under: String,
    within: String,
    page: String,
    /// How many plans the last batch assignment changed (for the confirmation).
    assigned: String,
}

/// People per page of the due list.
const PER_PAGE: i64 = 50;

/// `GET /patrols`.
#[derive(Template)]
#[template(path = "patrols/index.html")]
pub struct DuePage {
    ctx: PageCtx,
    saved: crate::pages::saved_filters::SavedView,
    today: NaiveDate,
    rows: Vec<(Listed, Option<i64>)>,
    total: i64,
    pager: crate::pages::paging::Pager,
    area: crate::pages::region_picker::RegionPicker,
    assigned: Option<i64>,
    kinds: &'static [(&'static str, &'static str)],
    errors: FormErrors,
    communities: Vec<(String, String, i64)>,
    under: String,
    within: i64,
    refreshed: Option<patrols::Refreshed>,
    /// The filter as a query (with its `?`), for the export link.
    export_query: String,
}

async fn due_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    q: &DueQuery,
    refreshed: Option<patrols::Refreshed>,
    errors: FormErrors,
) -> Result<DuePage, PageError> {
    let today = state.today();
    let within: i64 = q.within.trim().parse().unwrap_or(0).clamp(0, 31);
    let under = RegionCode::parse(q.under.trim()).ok();
    let under_text = under.map(|u| u.short().to_string()).unwrap_or_default();
    let within_text = within.to_string();
    let base = crate::pages::paging::query_of(
        "/patrols",
        &[("under", &under_text), ("within", &within_text)],
    );
    let page = q.page.trim().parse().unwrap_or(1);
    // The total first, so that a page past the end shows the last page.
    let (_, total) = crate::usecase::home_services::patrols::due(
        state,
        user,
        under.as_ref(),
        within,
        None,
        (0, 0),
    )
    .await?;
    let pager = crate::pages::paging::Pager::new(page, PER_PAGE, total, base);
    let (rows, total) = crate::usecase::home_services::patrols::due(
        state,
        user,
        under.as_ref(),
        within,
        None,
        (PER_PAGE, pager.offset()),
    )
    .await?;
    let mut c = state.db.acquire().await?;
    let tree = state.regions.tree();
    let communities = patrols::overdue_by_community(&mut c.conn(), &user.scope, today)
        .await?
        .into_iter()
        .map(|(code, n)| {
            let name = RegionCode::parse(&code)
                .ok()
                .and_then(|r| tree.get_unscoped(&r).map(|x| x.name.clone()))
                .unwrap_or_else(|| code.clone());
            (code, name, n)
        })
        .collect();
    let filter_query =
        crate::pages::paging::query_of("", &[("under", &under_text), ("within", &within_text)]);
    let saved = crate::pages::saved_filters::view(
        state,
        user,
        "patrols",
        filter_query.trim_start_matches('?').to_string(),
    )
    .await?;
    Ok(DuePage {
        saved,
        ctx,
        today,
        rows: rows
            .into_iter()
            .map(|r| {
                let o = r.overdue(today);
                (r, o)
            })
            .collect(),
        total,
        pager,
        area: crate::pages::region_picker::RegionPicker::new(
            &tree,
            &user.scope,
            "under",
            "地区",
            (
                jinglao_domain::RegionLevel::Province,
                jinglao_domain::RegionLevel::Village,
            ),
            &under_text,
        )
        .filter(),
        assigned: q.assigned.trim().parse().ok(),
        kinds: &VISITOR_KINDS,
        errors,
        communities,
        under: under.map(|u| u.as_str().to_string()).unwrap_or_default(),
        within,
        refreshed,
        export_query: filter_query,
    })
}

use crate::usecase::home_services::patrols::may_use as may_view;

/// `GET /patrols`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<DueQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    render(&due_page(&state, ctx, &user, &q, None, FormErrors::new()).await?)
}

/// The most people one export of the visit list carries.
const EXPORT_MAX: i64 = 20_000;

/// `GET /patrols/export?under=&within=`: the visit list exactly as filtered (every page), as an
/// Excel file for a visitor's round: names, villages, addresses, when each is due and who
/// visits; audited (`patrol.export`).
pub async fn export(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Query(q): Query<DueQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let today = state.today();
    let within: i64 = q.within.trim().parse().unwrap_or(0).clamp(0, 31);
    let under = RegionCode::parse(q.under.trim()).ok();
    let (rows, total) = crate::usecase::home_services::patrols::due(
        &state,
        &user,
        under.as_ref(),
        within,
        None,
        (EXPORT_MAX, 0),
    )
    .await?;
    if total > EXPORT_MAX {
        return Err(AppError::BadRequest {
            message: format!("应访老人超过 {EXPORT_MAX} 人，请按地区缩小范围后再导出"),
            field: Some("under".into()),
        }
        .into());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let place = RegionCode::parse(&r.region_code)
                .map(|c| state.region_path(&c))
                .unwrap_or_default();
            vec![
                r.name.clone(),
                place,
                r.address.clone(),
                frequency_label(&r.frequency).to_string(),
                r.last_visit_on
                    .map_or_else(|| "从未".to_string(), |d| d.to_string()),
                r.due_on.map(|d| d.to_string()).unwrap_or_default(),
                r.overdue(today)
                    .map(|n| format!("逾期 {n} 天"))
                    .unwrap_or_default(),
                if r.visitor_name.is_empty() {
                    "未指定".to_string()
                } else {
                    r.visitor_name.clone()
                },
            ]
        })
        .collect();
    let export = crate::download::ListExport {
        action: "patrol.export",
        record_type: "patrol",
        detail: serde_json::json!({
            "under": under.map(|u| u.to_string()), "within": within,
        }),
        sheet: "应访名单",
        headers: &[
            "老人",
            "所在地区",
            "住址",
            "频次",
            "上次巡访",
            "应访日期",
            "逾期",
            "巡访人员",
        ],
        fallback: "patrols.xlsx",
        name: format!("应访名单 {today}.xlsx"),
    };
    Ok(export.answer(&state, &user, &meta, &table).await?)
}

/// `POST /patrols/refresh`: the viewer's own area, against today's registry.
pub async fn refresh(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
) -> Result<Response, PageError> {
    let acting = crate::usecase::Acting::new(&state, user.clone(), &meta);
    let r = crate::usecase::home_services::patrols::refresh(&state, &acting).await?;
    let page = due_page(
        &state,
        ctx,
        &user,
        &DueQuery::default(),
        Some(r),
        FormErrors::new(),
    )
    .await?;
    render(&page)
}

/// The bulk assignment form on the due list: the ticked people and one visitor.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BulkVisitorForm {
    visitor_kind: String,
    visitor_name: String,
    /// Where the clerk was (kept so the list comes back as it was).
    under: String,
    within: String,
    page: String,
}

/// `POST /patrols/visitor`: one visitor for every ticked person, in one transaction.
pub async fn assign_many(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let mut form = BulkVisitorForm::default();
    let mut ids = Vec::new();
    let mut bad = false;
    for (k, v) in pairs {
        match k.as_str() {
            "elder" => match Uuid::parse_str(v.trim()) {
                Ok(id) => ids.push(id),
                Err(_) => bad = true,
            },
            "visitor_kind" => form.visitor_kind = v,
            "visitor_name" => form.visitor_name = v,
            "under" => form.under = v,
            "within" => form.within = v,
            "page" => form.page = v,
            _ => {}
        }
    }
    if bad {
        return Err(AppError::NotFound.into());
    }
    let acting = crate::usecase::Acting::new(&state, user.clone(), &meta);
    let result = crate::usecase::home_services::patrols::assign_visitor(
        &state,
        &acting,
        &ids,
        form.visitor_kind.trim(),
        &form.visitor_name,
    )
    .await;
    let q = DueQuery {
        under: form.under,
        within: form.within,
        page: form.page,
        assigned: String::new(),
    };
    match result {
        Ok(n) => {
            let back = crate::pages::paging::query_of(
                "/patrols",
                &[
                    ("under", &q.under),
                    ("within", &q.within),
                    ("page", &q.page),
                    ("assigned", &n.to_string()),
                ],
            );
            Ok(axum::response::Redirect::to(&back).into_response())
        }
        Err(DbError::Invalid(errors)) => crate::error::render_with_status(
            &due_page(&state, ctx, &user, &q, None, errors).await?,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `GET /elders/{id}/patrols`.
#[derive(Template)]
#[template(path = "patrols/elder.html")]
pub struct ElderPage {
    ctx: PageCtx,
    errors: FormErrors,
    elder_id: Uuid,
    name: String,
    plan: Option<PlanView>,
    visits: Vec<VisitRow>,
    kinds: &'static [(&'static str, &'static str)],
    form: VisitForm,
}

impl ElderPage {
    fn kind_label(&self, k: &str) -> &'static str {
        patrols::visitor_label(k)
    }

    /// Whether the person is on the visit list now.
    fn on_list(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| p.status == "active")
    }
}

/// The visit form (also the visitor form: kind and name only).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VisitForm {
    visited_on: String,
    visitor_kind: String,
    visitor_name: String,
    met: String,
    safety: String,
    health: String,
    needs: String,
    notes: String,
    referral: String,
    referral_note: String,
}

async fn elder_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    id: Uuid,
    form: VisitForm,
    errors: FormErrors,
) -> Result<ElderPage, PageError> {
    let mut c = state.db.acquire().await?;
    let rec = elders::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (plan, visits) = patrols::of_elder(&mut c.conn(), id).await?;
    drop(c);
    let (db, key) = (&state.db, &state.keys.audit_chain);
    elders::record_read(db, key, &user.actor(meta), &rec, state.clock.now()).await?;
    // Blank fields start from today and the person's assigned visitor.
    let or = |typed: String, default: String| if typed.is_empty() { default } else { typed };
    let assigned =
        |f: fn(&PlanView) -> &String| plan.as_ref().map(|p| f(p).clone()).unwrap_or_default();
    let form = VisitForm {
        visited_on: or(form.visited_on, state.today().to_string()),
        visitor_kind: or(form.visitor_kind, assigned(|p| &p.visitor_kind)),
        visitor_name: or(form.visitor_name, assigned(|p| &p.visitor_name)),
        ..form
    };
    Ok(ElderPage {
        ctx: ctx.with_errors(&errors),
        errors,
        elder_id: id,
        name: rec.name,
        plan,
        visits,
        kinds: &VISITOR_KINDS,
        form,
    })
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)
}

/// `GET /elders/{id}/patrols`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let page = elder_page(
        &state,
        ctx,
        &user,
        &meta,
        parse_id(&id)?,
        VisitForm::default(),
        FormErrors::new(),
    )
    .await?;
    render(&page)
}

async fn answer(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    id: Uuid,
    form: VisitForm,
    result: Result<(), DbError>,
) -> Result<Response, PageError> {
    answer_form(
        result,
        |_| format!("/elders/{id}/patrols?notice=saved"),
        async |errors| elder_page(state, ctx, user, meta, id, form, errors).await,
    )
    .await
}

/// `POST /elders/{id}/patrols`
pub async fn record(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<VisitForm>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let v = NewVisit {
        elder_id: id,
        visited_on: NaiveDate::parse_from_str(form.visited_on.trim(), "%Y-%m-%d").ok(),
        visitor_kind: form.visitor_kind.trim(),
        visitor_name: &form.visitor_name,
        met: form.met != "no",
        safety: form.safety.trim(),
        health: form.health.trim(),
        needs: &form.needs,
        notes: &form.notes,
        referral: form.referral.trim(),
        referral_note: &form.referral_note,
    };
    let acting = crate::usecase::Acting::new(&state, user.clone(), &meta);
    let result = crate::usecase::home_services::patrols::record(&state, &acting, &v)
        .await
        .map(|_| ());
    answer(&state, ctx, &user, &meta, id, form, result).await
}

/// `POST /elders/{id}/patrols/visitor`
pub async fn assign_visitor(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<VisitForm>,
) -> Result<Response, PageError> {
    let acting = crate::usecase::Acting::new(&state, user.clone(), &meta);
    let result = crate::usecase::home_services::patrols::assign_visitor(
        &state,
        &acting,
        &[id],
        form.visitor_kind.trim(),
        &form.visitor_name,
    )
    .await
    .map(|_| ());
    answer(&state, ctx, &user, &meta, id, form, result).await
}
