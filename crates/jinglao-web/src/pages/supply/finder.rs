//! The public institution finder (养老机构查询): no sign-in, large print, works on a phone and
//! without JavaScript. Search by region, type, star level, price, nursing beds, vacancies,
//! services and distance from a point (the browser's location or coordinates typed in); a page
//! per facility with its public details. No personal data of residents or staff appears.

use askama::Template;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::response::Response;
use jinglao_db::facilities::Facility;
use jinglao_db::finder::{self, Hit, Query};
use jinglao_domain::facility::{FacilityKind, Functions, ServiceFunction};
use jinglao_domain::{RegionCode, Scope};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{AppError, PageError, render};
use crate::pages::PageCtx;
use crate::state::AppState;

/// The search form, as sent in the address.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchForm {
    region: String,
    kind: String,
    stars: String,
    max_price: String,
    nursing: String,
    vacancies: String,
    service: String,
    lat: String,
    lon: String,
    km: String,
    page: String,
}

/// A result row, formatted.
pub struct Row {
    hit: Hit,
    stars: String,
    price: String,
    distance: String,
}

/// `GET /institutions`.
#[derive(Template)]
#[template(path = "public/finder.html")]
pub struct FinderPage {
    ctx: PageCtx,
    form: SearchForm,
    region: crate::pages::region_picker::RegionPicker,
    kinds: Vec<(&'static str, &'static str)>,
    services: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    total: usize,
    searched: bool,
    problem: Option<String>,
    next_page: Option<String>,
}

fn yuan(fen: i64) -> String {
    format!("{}", fen / 100)
}

fn price(f: &Facility) -> String {
    match (f.price_min_fen, f.price_max_fen) {
        (0, 0) => "请电话咨询".into(),
        (a, b) if a == b => format!("每月 {} 元", yuan(a)),
        (a, b) => format!("每月 {}–{} 元", yuan(a), yuan(b)),
    }
}

fn stars(f: &Facility, today: chrono::NaiveDate) -> String {
    f.level_on(today)
        .map(|l| format!("{} {}", l.stars(), l.label()))
        .unwrap_or_else(|| "未评定".into())
}

/// `GET /institutions`
pub async fn search(
    State(state): State<AppState>,
    ctx: PageCtx,
    UrlQuery(form): UrlQuery<SearchForm>,
) -> Result<Response, PageError> {
    let today = state.today();
    let city = state.public_region();
    let city_name = state.region_name(&city);
    let region = crate::pages::region_picker::RegionPicker::new(
        &state.regions.tree(),
        &Scope::Region(city),
        "region",
        "地区",
        (
            jinglao_domain::RegionLevel::County,
            jinglao_domain::RegionLevel::Township,
        ),
        &form.region,
    )
    .empty(format!("{city_name}全部"));
    let mut problem = None;
    let mut q = Query {
        limit: 20,
        ..Query::default()
    };
    q.region = RegionCode::parse(form.region.trim()).ok();
    q.kind = FacilityKind::parse(&form.kind);
    q.min_stars = form
        .stars
        .trim()
        .parse()
        .ok()
        .filter(|s| (1..=5).contains(s));
    q.max_price_fen = form.max_price.trim().parse::<i64>().ok().map(|y| y * 100);
    q.nursing = form.nursing == "yes";
    q.vacancies = form.vacancies == "yes";
    if let Some(s) = ServiceFunction::parse(&form.service) {
        q.functions = Functions::of(&[s]);
    }
    if !form.lat.trim().is_empty() || !form.lon.trim().is_empty() {
        match (
            form.lat.trim().parse::<f64>(),
            form.lon.trim().parse::<f64>(),
        ) {
            (Ok(lat), Ok(lon))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
            {
                q.near = Some((lat, lon));
                q.within_m = form
                    .km
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|k| *k > 0.0 && *k <= 100.0)
                    .map(|k| k * 1000.0);
            }
            _ => problem = Some("位置应为纬度、经度两个数字，例如 27.83 和 112.94".to_string()),
        }
    }
    let page: usize = form.page.trim().parse().unwrap_or(0).min(500);
    q.offset = page * 20;
    let searched = !form.region.is_empty()
        || !form.kind.is_empty()
        || q.near.is_some()
        || !form.page.is_empty()
        || q.min_stars.is_some()
        || q.nursing
        || q.vacancies
        || q.functions.0 != 0
        || q.max_price_fen.is_some();
    let mut c = state.db.acquire().await?;
    let results = finder::search(&mut c.conn(), &q, today).await?;
    let rows = results
        .hits
        .into_iter()
        .map(|hit| Row {
            stars: stars(&hit.facility, today),
            price: price(&hit.facility),
            distance: hit
                .distance_m
                .map(|d| {
                    if d < 1000.0 {
                        format!("{d:.0} 米")
                    } else {
                        format!("{:.1} 公里", d / 1000.0)
                    }
                })
                .unwrap_or_default(),
            hit,
        })
        .collect();
    let next_page = (results.total > q.offset + 20).then(|| {
        format!(
            "/institutions?region={}&kind={}&stars={}&max_price={}&nursing={}&vacancies={}&service={}&lat={}&lon={}&km={}&page={}",
            enc(&form.region), enc(&form.kind), enc(&form.stars), enc(&form.max_price), enc(&form.nursing),
            enc(&form.vacancies), enc(&form.service), enc(&form.lat), enc(&form.lon), enc(&form.km), page + 1
        )
    });
    render(&FinderPage {
        ctx,
        region,
        kinds: FacilityKind::ALL
            .iter()
            // Everything the finder lists: homes, day centres, meal points (not home-care
            // companies, which have no place to visit).
            .filter(|k| **k != FacilityKind::HomeServiceAgency)
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        services: ServiceFunction::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        rows,
        total: results.total,
        searched,
        problem,
        next_page,
        form,
    })
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.trim().as_bytes()).collect()
}

/// `GET /institutions/{id}`.
#[derive(Template)]
#[template(path = "public/facility.html")]
pub struct FacilityPage {
    ctx: PageCtx,
    f: Facility,
    region: String,
    stars: String,
    price: String,
    free_beds: i64,
    insured: bool,
    warnings: Vec<String>,
    photos: Vec<jinglao_db::facility_photos::Photo>,
}

/// `GET /institutions/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let mut c = state.db.acquire().await?;
    let f = finder::public_facility(&mut c.conn(), id)
        .await?
        .filter(|f| f.kind != FacilityKind::HomeServiceAgency)
        .ok_or(AppError::NotFound)?;
    let photos = jinglao_db::facility_photos::list(&mut c.conn(), id).await?;
    drop(c);
    let book = jinglao_db::policy::book(&state.db).await?;
    let today = state.today();
    render(&FacilityPage {
        ctx,
        region: state.region_path(&f.region_code),
        stars: stars(&f, today),
        price: price(&f),
        free_beds: (f.beds_total - f.occupied_beds).max(0),
        insured: f.insured_on(today),
        warnings: f
            .warnings(&book, today)
            .into_iter()
            .map(|w| w.message)
            .collect(),
        photos,
        f,
    })
}

/// `GET /institutions/{id}/photos/{photo}`: a facility's photo (public; cached by browsers).
pub async fn photo(
    State(state): State<AppState>,
    Path((id, photo)): Path<(String, String)>,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    let parse = |s: &str| Uuid::parse_str(s).map_err(|_| PageError(AppError::NotFound));
    let (p, bytes) = jinglao_db::facility_photos::read(
        &state.db,
        &state.settings.files_dir,
        parse(&id)?,
        parse(&photo)?,
    )
    .await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, p.content_type),
            (
                axum::http::header::CACHE_CONTROL,
                "public, max-age=86400".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
