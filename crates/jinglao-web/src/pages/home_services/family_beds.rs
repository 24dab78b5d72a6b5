//! Family care beds (家庭养老床位): the beds in force in scope with this month's verified visits
//! against the minimum and the count per county; one person's bed — setting it up after the
//! home assessment, the adaptation checklist, devices, ending it.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jinglao_db::family_beds::{self, Bed, ListOrder, Listed, NewAdaptation, NewBed, NewDevice};
use jinglao_db::{DbError, orders};
use jinglao_domain::family_bed::{ADAPTATIONS, DEVICES, device_label};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, IdPath, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::family_beds::{
    self as usecase, BedDetail, PersonBeds, may_view,
};

/// `GET /family-beds`.
#[derive(Template)]
#[template(path = "family_beds/index.html")]
pub struct ListPage {
    ctx: PageCtx,
    month: String,
    minimum: i64,
    rows: Vec<Listed>,
    counties: Vec<(String, String, i64)>,
    total: i64,
}

/// `GET /family-beds`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let month = orders::month_of(state.today());
    let book = jinglao_db::policy::book(&state.db).await?;
    let mut c = state.db.acquire().await?;
    let rows = usecase::list(&state, &user, &month, ListOrder::LeastDoneFirst, 500).await?;
    let tree = state.regions.tree();
    let counties: Vec<(String, String, i64)> =
        family_beds::counts_by_county(&mut c.conn(), &user.scope)
            .await?
            .into_iter()
            .map(|(code, n)| {
                let name = jinglao_domain::RegionCode::parse(&code)
                    .ok()
                    .and_then(|r| tree.get_unscoped(&r).map(|x| x.name.clone()))
                    .unwrap_or_else(|| code.clone());
                (code, name, n)
            })
            .collect();
    let minimum = book.int(
        jinglao_domain::policy::PolicyKey::FamilyBedMinVisits,
        &user.account.region_code,
    );
    render(&ListPage {
        ctx,
        month,
        minimum,
        total: counties.iter().map(|(_, _, n)| n).sum(),
        rows,
        counties,
    })
}

/// The forms of the bed page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BedForm {
    offer: String,
    contract_no: String,
    start_on: String,
    assessed_on: String,
    assessor: String,
    assessment: String,
    item: String,
    done_on: String,
    note: String,
    kind: String,
    serial_no: String,
    installed_on: String,
    reason: String,
}

/// `GET /elders/{id}/family-bed`.
#[derive(Template)]
#[template(path = "family_beds/elder.html")]
pub struct ElderPage {
    ctx: PageCtx,
    errors: FormErrors,
    elder_id: Uuid,
    name: String,
    current: Option<BedDetail>,
    past: Vec<Bed>,
    offers: Vec<(String, String)>,
    form: BedForm,
    adaptations: &'static [(&'static str, &'static str)],
    devices: &'static [(&'static str, &'static str)],
    month: String,
    /// Item names by code.
    names: jinglao_domain::service_list::ItemNames,
}

impl ElderPage {
    fn device_name(&self, k: &str) -> &'static str {
        device_label(k).unwrap_or("其他")
    }
}

async fn elder_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    id: Uuid,
    form: BedForm,
    errors: FormErrors,
) -> Result<ElderPage, PageError> {
    let today = state.today();
    let month = orders::month_of(today);
    let acting = Acting::new(state, user.clone(), meta);
    let PersonBeds { name, beds } = usecase::of_elder(state, &acting, id, &month).await?;
    let (mut current, mut past) = (None, Vec::new());
    for b in beds {
        if b.bed.status == "active" && current.is_none() {
            current = Some(b);
        } else {
            past.push(b.bed);
        }
    }
    let mut c = state.db.acquire().await?;
    let names = jinglao_db::service_lists::item_names(&mut c.conn()).await?;
    let offers = orders::offers(&mut c.conn(), &user.scope, today)
        .await?
        .into_iter()
        .map(|(p, name, item, _)| {
            let label = format!("{name} — {}", names.name(&item));
            (format!("{p}|{item}"), label)
        })
        .collect();
    drop(c);
    Ok(ElderPage {
        ctx: ctx.with_errors(&errors),
        errors,
        elder_id: id,
        name,
        current,
        past,
        offers,
        form,
        adaptations: &ADAPTATIONS,
        devices: &DEVICES,
        month,
        names,
    })
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// `GET /elders/{id}/family-bed`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let form = BedForm {
        start_on: state.today().to_string(),
        assessed_on: state.today().to_string(),
        ..Default::default()
    };
    render(&elder_page(&state, ctx, &user, &meta, id, form, FormErrors::new()).await?)
}

async fn answer(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    elder: Uuid,
    form: BedForm,
    result: Result<(), DbError>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/elders/{elder}/family-bed?notice=saved")).into_response())
        }
        Err(DbError::Invalid(errors)) => {
            let page = elder_page(state, ctx, user, meta, elder, form, errors).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /elders/{id}/family-bed`
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<BedForm>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let elder = id;
    let (provider, item) = match form.offer.split_once('|') {
        Some((p, i)) => (Uuid::parse_str(p).ok(), i.to_string()),
        None => (None, String::new()),
    };
    let bed = NewBed {
        elder_id: elder,
        provider_id: provider,
        contract_no: &form.contract_no,
        item_code: &item,
        start_on: date(&form.start_on),
        assessed_on: date(&form.assessed_on),
        assessor: &form.assessor,
        assessment: &form.assessment,
    };
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = usecase::create(&state, &acting, &bed).await.map(|_| ());
    answer(&state, ctx, &user, &meta, elder, form, result).await
}

/// The bed a form names (in the user's scope) and its person, whose page answers.
async fn bed_and_elder(
    state: &AppState,
    user: &CurrentUser,
    bed: Uuid,
) -> Result<(Uuid, Uuid), PageError> {
    Ok((bed, usecase::get(state, user, bed).await?.elder_id))
}

/// `POST /family-beds/{id}/adaptations`
pub async fn adapt(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<BedForm>,
) -> Result<Response, PageError> {
    let (bed, elder) = bed_and_elder(&state, &user, id).await?;
    let a = NewAdaptation {
        item: form.item.trim(),
        done_on: date(&form.done_on),
        note: &form.note,
    };
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = usecase::adapt(&state, &acting, bed, &a).await;
    answer(&state, ctx, &user, &meta, elder, form, result).await
}

/// `POST /family-beds/{id}/devices`
pub async fn install(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<BedForm>,
) -> Result<Response, PageError> {
    let (bed, elder) = bed_and_elder(&state, &user, id).await?;
    let d = NewDevice {
        kind: form.kind.trim(),
        serial_no: &form.serial_no,
        installed_on: date(&form.installed_on),
    };
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = usecase::install(&state, &acting, bed, &d).await;
    answer(&state, ctx, &user, &meta, elder, form, result).await
}

/// `POST /family-beds/{id}/end`
pub async fn end(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<BedForm>,
) -> Result<Response, PageError> {
    let (bed, elder) = bed_and_elder(&state, &user, id).await?;
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = usecase::end(&state, &acting, bed, &form.reason).await;
    answer(&state, ctx, &user, &meta, elder, form, result).await
}
