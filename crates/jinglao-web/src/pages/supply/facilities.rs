//! Facilities (养老机构与服务设施) for bureau staff and providers: the list with live bed
//! figures and norm warnings, registering a facility, and a facility's page, which gathers
//! beds, residents, the waiting list, staff counts and star ratings with their forms. The
//! forms' handlers are in [`crate::pages::facility_actions`] and [`crate::pages::ratings`].

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use jinglao_db::beds::{self, Bed, Resident, WaitingPerson};
use jinglao_db::facilities::{self, Facility, FacilityDraft};
use jinglao_db::ratings::{self, Rating};
use jinglao_db::{DbError, providers, staff};
use jinglao_domain::facility::{FacilityKind, FireStatus, Ownership, ServiceFunction, Warning};
use jinglao_domain::rating::Level;
use jinglao_domain::staff::StaffRole;
use jinglao_domain::waiting_list::Place;
use jinglao_domain::{Permission, Scope};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::providers::{may_view, parse_id};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::supply::facilities as usecase;

/// A facility in the list.
pub struct FacilityRow {
    f: Facility,
    region: String,
    level: Option<Level>,
    warnings: usize,
}

/// Filters of the list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    kind: String,
    warnings: String,
    /// `name` (pinyin, the default), `beds`, `occupancy`, `region`.
    sort: String,
    page: String,
}

/// Facilities per page.
const PER_PAGE: i64 = 50;

/// The sort orders the list offers: (stable name, column heading).
pub const SORTS: [(&str, &str); 4] = [
    ("name", "名称"),
    ("region", "所在地区"),
    ("beds", "床位"),
    ("occupancy", "入住率"),
];

/// `GET /facilities`.
#[derive(Template)]
#[template(path = "facilities/index.html")]
pub struct FacilitiesPage {
    ctx: PageCtx,
    saved: crate::pages::saved_filters::SavedView,
    rows: Vec<FacilityRow>,
    /// How many match the filter (all pages).
    total: usize,
    pager: crate::pages::paging::Pager,
    /// The list's address with its filter, ending in `sort=` (for the column links).
    sort_base: String,
    /// The filter as a query, for the export link.
    filter_query: String,
    q: ListQuery,
    kinds: &'static [FacilityKind],
    beds: i64,
    nursing: i64,
    occupied: i64,
    can_create: bool,
}

/// The facilities in `user`'s scope that `q` filters for, in its order.
async fn filtered(
    state: &AppState,
    user: &CurrentUser,
    q: &ListQuery,
) -> Result<Vec<FacilityRow>, PageError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    let today = state.today();
    let mut c = state.db.acquire().await?;
    let all = facilities::list(&mut c.conn(), &user.scope, None).await?;
    drop(c);
    let kind = FacilityKind::parse(&q.kind);
    let mut rows: Vec<FacilityRow> = all
        .into_iter()
        .filter(|f| kind.is_none_or(|k| f.kind == k))
        .map(|f| FacilityRow {
            region: state.region_path(&f.region_code),
            level: f.level_on(today),
            warnings: f.warnings(&book, today).len(),
            f,
        })
        .filter(|r| q.warnings != "yes" || r.warnings > 0)
        .collect();
    jinglao_domain::collation::sort_by_pinyin(&mut rows, |r| r.f.name.as_str());
    match q.sort.as_str() {
        "region" => rows.sort_by_key(|r| r.f.region_code),
        "beds" => rows.sort_by_key(|r| std::cmp::Reverse(r.f.beds_total)),
        "occupancy" => rows.sort_by(|a, b| {
            b.f.occupancy_percent()
                .partial_cmp(&a.f.occupancy_percent())
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
        _ => {}
    }
    Ok(rows)
}

/// `GET /facilities`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let rows = filtered(&state, &user, &q).await?;
    let filter = [("kind", q.kind.as_str()), ("warnings", q.warnings.as_str())];
    let filter_query = crate::pages::paging::query_of("", &filter)
        .trim_start_matches('?')
        .to_string();
    let sorted: Vec<(&str, &str)> = filter
        .iter()
        .copied()
        .chain(std::iter::once(("sort", q.sort.as_str())))
        .collect();
    let pager = crate::pages::paging::Pager::new(
        q.page.trim().parse().unwrap_or(1),
        PER_PAGE,
        rows.len() as i64,
        crate::pages::paging::query_of("/facilities", &sorted),
    );
    let (beds, nursing, occupied) = rows.iter().fold((0, 0, 0), |(b, n, o), r| {
        (
            b + r.f.beds_total,
            n + r.f.nursing_beds,
            o + r.f.occupied_beds,
        )
    });
    let total = rows.len();
    let shown = rows
        .into_iter()
        .skip(pager.offset() as usize)
        .take(PER_PAGE as usize)
        .collect();
    let saved = crate::pages::saved_filters::view(
        &state,
        &user,
        "facilities",
        crate::pages::paging::query_of("", &sorted)
            .trim_start_matches('?')
            .to_string(),
    )
    .await?;
    render(&FacilitiesPage {
        saved,
        ctx,
        beds,
        nursing,
        occupied,
        rows: shown,
        total,
        pager,
        sort_base: {
            let base = crate::pages::paging::query_of("/facilities", &filter);
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}sort=")
        },
        filter_query,
        q,
        kinds: FacilityKind::ALL,
        can_create: user.can(Permission::ManageFacilities),
    })
}

/// `GET /facilities/export?kind=&warnings=&sort=`: the list exactly as filtered and sorted, as
/// an Excel file; audited (`facility.export`).
pub async fn export(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let rows = filtered(&state, &user, &q).await?;
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.f.name.clone(),
                r.f.kind.label().to_string(),
                r.region.clone(),
                r.f.provider_name.clone(),
                r.f.beds_total.to_string(),
                r.f.nursing_beds.to_string(),
                r.f.occupied_beds.to_string(),
                r.level.map(|l| l.label().to_string()).unwrap_or_default(),
                r.warnings.to_string(),
            ]
        })
        .collect();
    let export = crate::download::ListExport {
        action: "facility.export",
        record_type: "facility",
        detail: serde_json::json!({ "kind": q.kind, "warnings": q.warnings }),
        sheet: "养老设施",
        headers: &[
            "名称",
            "类型",
            "所在地区",
            "运营机构",
            "床位",
            "护理型床位",
            "已入住",
            "等级",
            "不达标提示",
        ],
        fallback: "facilities.xlsx",
        name: format!("养老设施 {}.xlsx", state.today()),
    };
    Ok(export.answer(&state, &user, &meta, &table).await?)
}

/// `GET /facilities/new`.
#[derive(Template)]
#[template(path = "facilities/new.html")]
pub struct NewFacilityPage {
    ctx: PageCtx,
    region: crate::pages::region_picker::RegionPicker,
    errors: FormErrors,
    form: FacilityDraft,
    providers: Vec<(Uuid, String)>,
    kinds: &'static [FacilityKind],
    ownerships: &'static [Ownership],
    fire: &'static [FireStatus],
    functions: &'static [ServiceFunction],
}

impl NewFacilityPage {
    fn ticked(&self, f: &ServiceFunction) -> bool {
        self.form.functions.iter().any(|x| x == f.as_str())
    }
}

async fn new_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    errors: FormErrors,
    form: FacilityDraft,
) -> Result<NewFacilityPage, PageError> {
    let mut c = state.db.acquire().await?;
    let providers = providers::list(&mut c.conn(), &user.scope)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    // A provider may run a facility anywhere in its city; staff within their own area.
    let area = match &user.scope {
        jinglao_domain::Scope::Provider { region, .. } => jinglao_domain::Scope::Region(
            jinglao_domain::RegionCode::parse(&region.as_str()[..4]).unwrap_or(*region),
        ),
        other => other.clone(),
    };
    let region = crate::pages::region_picker::RegionPicker::new(
        &state.regions.tree(),
        &area,
        "region_code",
        "所在地",
        (
            jinglao_domain::RegionLevel::Township,
            jinglao_domain::RegionLevel::Village,
        ),
        &form.region_code,
    )
    .hint("选到乡镇（街道）或村（社区）。")
    .error(&errors);
    Ok(NewFacilityPage {
        region,
        ctx: ctx.with_errors(&errors),
        errors,
        form,
        providers,
        kinds: FacilityKind::ALL,
        ownerships: Ownership::ALL,
        fire: FireStatus::ALL,
        functions: ServiceFunction::ALL,
    })
}

/// `?provider=` on the new-facility link.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewQuery {
    provider: String,
}

/// `GET /facilities/new`
pub async fn new_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let provider_id = match &user.scope {
        Scope::Provider { provider_id, .. } => provider_id.to_string(),
        _ => q.provider,
    };
    let form = FacilityDraft {
        provider_id,
        region_code: user.account.region_code.short().to_string(),
        fire_status: FireStatus::ALL[0].as_str().to_string(),
        ..FacilityDraft::default()
    };
    render(&new_page(&state, ctx, &user, FormErrors::new(), form).await?)
}

/// Reads a URL-encoded form whose `functions` field repeats (one per ticked box), which the
/// plain form extractor cannot hold.
pub(crate) fn facility_form(body: &[u8]) -> FacilityDraft {
    let mut map = serde_json::Map::new();
    let mut functions = Vec::new();
    for (k, v) in form_urlencoded::parse(body) {
        if k == "functions" {
            functions.push(serde_json::Value::String(v.into_owned()));
        } else {
            map.insert(k.into_owned(), serde_json::Value::String(v.into_owned()));
        }
    }
    map.insert("functions".into(), serde_json::Value::Array(functions));
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

/// `POST /facilities`
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = facility_form(&body);
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = match form.parse() {
        Ok(f) => usecase::register(&state, &acting, &f).await,
        Err(invalid) => Err(DbError::Invalid(invalid)),
    };
    match result {
        Ok(id) => {
            Ok(Redirect::to(&format!("/facilities/{id}?notice=facility_created")).into_response())
        }
        Err(DbError::Invalid(errors)) => {
            let page = new_page(&state, ctx, &user, errors, form).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// What the facility page's forms hold when shown again with errors.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FacilityForms {
    /// Add beds: building.
    pub building: String,
    /// Add beds: floor.
    pub floor: String,
    /// Add beds: room.
    pub room: String,
    /// Add beds: how many.
    pub count: String,
    /// Add beds: nursing-type ("yes").
    pub nursing: String,
    /// Admission or waiting list: the elder's ID number.
    pub id_number: String,
    /// Admission: the bed.
    pub bed_id: String,
    /// Admission: first day.
    pub admitted_on: String,
    /// Why not the first on the waiting list.
    #[serde(default)]
    pub out_of_turn_reason: String,
    /// Waiting list: date applied.
    pub applied_on: String,
    /// Waiting list: note.
    pub note: String,
    /// Rating application: the level asked for.
    pub requested_level: String,
    /// Bed status change: the bed.
    pub status_bed_id: String,
    /// Bed status change: the new status.
    pub status: String,
    /// Discharge: the stay.
    pub stay_id: String,
    /// Discharge: last day.
    pub discharged_on: String,
    /// Discharge: reason.
    pub discharge_reason: String,
}

/// A bed row with the resident's name when occupied.
#[derive(Clone)]
pub struct BedRow {
    b: Bed,
    resident: Option<String>,
}

/// `GET /facilities/{id}`.
#[derive(Template)]
#[template(path = "facilities/show.html")]
pub struct FacilityPage {
    ctx: PageCtx,
    errors: FormErrors,
    form: FacilityForms,
    f: Facility,
    region: String,
    level: Option<Level>,
    warnings: Vec<Warning>,
    insured: bool,
    /// Every bed (for the residents' places and the status form).
    beds: Vec<BedRow>,
    /// The page of beds the table shows, and its pager.
    beds_shown: Vec<BedRow>,
    bed_pager: crate::pages::paging::Pager,
    free_beds: Vec<Bed>,
    residents: Vec<Resident>,
    waiting: Vec<Place<WaitingPerson>>,
    staff_counts: Vec<(String, i64)>,
    ratings: Vec<Rating>,
    photos: Vec<jinglao_db::facility_photos::Photo>,
    max_photos: usize,
    days_this_month: i64,
    days_last_month: i64,
    month: String,
    last_month: String,
    can_manage: bool,
}

/// A role's label from its stable name.
fn role_label(role: &str) -> &'static str {
    StaffRole::parse(role).map(|r| r.label()).unwrap_or("其他")
}

pub(crate) async fn facility_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
    form: FacilityForms,
    beds_page: i64,
) -> Result<FacilityPage, PageError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    let today = state.today();
    let mut c = state.db.acquire().await?;
    let f = facilities::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let all_beds = beds::list(&mut c.conn(), id).await?;
    let residents = beds::residents(&mut c.conn(), id).await?;
    let waiting = if f.ownership.is_public() && f.kind.has_beds() {
        beds::waiting_list(&mut c.conn(), &user.scope, &book, id, today).await?
    } else {
        Vec::new()
    };
    let staff_counts = staff::counts_by_role(&mut c.conn(), id, today)
        .await?
        .into_iter()
        .map(|(r, n)| (role_label(&r).to_string(), n))
        .collect();
    let ratings = ratings::of_facility(&mut c.conn(), id).await?;
    let photos = jinglao_db::facility_photos::list(&mut c.conn(), id).await?;
    let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let last_start = month_start
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(month_start);
    let days_this_month = beds::month_resident_days(&mut c.conn(), id, month_start).await?;
    let days_last_month = beds::month_resident_days(&mut c.conn(), id, last_start).await?;
    drop(c);
    let beds: Vec<BedRow> = all_beds
        .iter()
        .map(|b| BedRow {
            resident: residents
                .iter()
                .find(|r| r.bed_id == b.id)
                .map(|r| r.name.clone()),
            b: b.clone(),
        })
        .collect();
    let bed_pager = crate::pages::paging::Pager::new(
        beds_page,
        BEDS_PER_PAGE,
        beds.len() as i64,
        format!("/facilities/{id}"),
    )
    .anchored("beds");
    let beds_shown = bed_pager.page_of(&beds);
    let free_beds = all_beds
        .into_iter()
        .filter(|b| matches!(b.status.as_str(), "free" | "reserved"))
        .collect();
    Ok(FacilityPage {
        ctx: ctx.with_errors(&errors),
        errors,
        form,
        region: state.region_path(&f.region_code),
        level: f.level_on(today),
        warnings: f.warnings(&book, today),
        insured: f.insured_on(today),
        beds,
        beds_shown,
        bed_pager,
        free_beds,
        residents,
        waiting,
        staff_counts,
        ratings,
        photos,
        max_photos: jinglao_db::facility_photos::MAX_PHOTOS,
        days_this_month,
        days_last_month,
        month: month_start.format("%Y年%m月").to_string(),
        last_month: last_start.format("%Y年%m月").to_string(),
        can_manage: user.can(Permission::ManageFacilities),
        f,
    })
}

/// The facility page's own list parameter: which page of beds.
#[derive(Debug, Default, Deserialize)]
pub struct FacilityQuery {
    /// The page of the bed table, from 1.
    page: Option<i64>,
}

/// Beds in the facility page's table at a time.
const BEDS_PER_PAGE: i64 = 50;

/// `GET /facilities/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Query(q): Query<FacilityQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let form = FacilityForms {
        count: "1".into(),
        admitted_on: state.today().to_string(),
        applied_on: state.today().to_string(),
        ..FacilityForms::default()
    };
    let page = facility_page(
        &state,
        ctx,
        &user,
        parse_id(&id)?,
        FormErrors::new(),
        form,
        q.page.unwrap_or(1),
    )
    .await?;
    render(&page)
}

/// Shows the facility page again with a form's errors (422), or redirects to it with a notice.
pub(crate) async fn after_action<T>(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    form: FacilityForms,
    result: Result<T, DbError>,
    (notice, anchor): (&str, &str),
) -> Result<Response, PageError> {
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("/facilities/{id}?notice={notice}#{anchor}")).into_response())
        }
        Err(DbError::Invalid(errors)) => {
            let page = facility_page(state, ctx, user, id, errors, form, 1).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}
