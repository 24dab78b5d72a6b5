//! Family care beds (家庭养老床位): the beds in force in scope with this month's verified visits
//! against the minimum and the count per county; one person's bed — setting it up after the
//! home assessment, the adaptation checklist, devices, ending it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jinglao_db::family_beds::{self, Bed, Listed, NewBed};
use jinglao_db::{DbError, elders, orders};
use jinglao_domain::family_bed::{ADAPTATIONS, DEVICES, MonthProgress, device_label};
use jinglao_domain::{Permission, Scope};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

fn may_view(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::EditElders) || user.can(Permission::ManageFacilities) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

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
    let rows = family_beds::list(&mut c.conn(), &user.scope, &month, 500).await?;
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

/// One bed with what its page shows.
pub struct BedView {
    bed: Bed,
    progress: MonthProgress,
    adaptations: Vec<(String, NaiveDate, String)>,
    devices: Vec<(String, String, NaiveDate)>,
}

impl BedView {
    fn done(&self, item: &str) -> Option<&(String, NaiveDate, String)> {
        self.adaptations.iter().find(|(i, ..)| i == item)
    }
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
    current: Option<BedView>,
    past: Vec<Bed>,
    offers: Vec<(String, String)>,
    form: BedForm,
    adaptations: &'static [(&'static str, &'static str)],
    devices: &'static [(&'static str, &'static str)],
    month: String,
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
    let book = jinglao_db::policy::book(&state.db).await?;
    let mut c = state.db.acquire().await?;
    let rec = elders::get(&mut c.conn(), &user.scope, id).await?;
    let beds = family_beds::of_elder(&mut c.conn(), &user.scope, id).await?;
    // A provider sees the person only through its own bed.
    let name = match (&rec, beds.first()) {
        (Some(r), _) => r.name.clone(),
        (None, Some(_)) => elders::get(&mut c.conn(), &Scope::All, id)
            .await?
            .map(|r| r.name)
            .unwrap_or_default(),
        (None, None) => return Err(AppError::NotFound.into()),
    };
    let (mut current, mut past) = (None, Vec::new());
    for b in beds {
        if b.status == "active" && current.is_none() {
            current = Some(BedView {
                progress: family_beds::progress(&mut c.conn(), &b, &book, &month).await?,
                adaptations: family_beds::adaptations(&mut c.conn(), b.id).await?,
                devices: family_beds::devices(&mut c.conn(), b.id).await?,
                bed: b,
            });
        } else {
            past.push(b);
        }
    }
    let offers = orders::offers(&mut c.conn(), &user.scope, today)
        .await?
        .into_iter()
        .map(|(p, name, item, _)| (format!("{p}|{item}"), format!("{name} — {item}")))
        .collect();
    drop(c);
    if let Some(r) = &rec {
        let (db, key) = (&state.db, &state.keys.audit_chain);
        elders::record_read(db, key, &user.actor(meta), r, state.clock.now()).await?;
    }
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
    })
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)
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
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let form = BedForm {
        start_on: state.today().to_string(),
        assessed_on: state.today().to_string(),
        ..Default::default()
    };
    render(
        &elder_page(
            &state,
            ctx,
            &user,
            &meta,
            parse_id(&id)?,
            form,
            FormErrors::new(),
        )
        .await?,
    )
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
    Path(id): Path<String>,
    Form(form): Form<BedForm>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let elder = parse_id(&id)?;
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
    let book = jinglao_db::policy::book(&state.db).await?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let result = family_beds::create(
        db,
        key,
        &user.actor(&meta),
        &bed,
        &book,
        state.today(),
        state.clock.now(),
    )
    .await
    .map(|_| ());
    answer(&state, ctx, &user, &meta, elder, form, result).await
}

/// The bed a form names (in the user's scope) and its person, whose page answers.
async fn bed_and_elder(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
) -> Result<(Uuid, Uuid), PageError> {
    may_view(user)?;
    let bed = parse_id(id)?;
    let mut c = state.db.acquire().await?;
    let elder = family_beds::get(&mut c.conn(), &user.scope, bed)
        .await?
        .ok_or(AppError::NotFound)?
        .elder_id;
    Ok((bed, elder))
}

/// `POST /family-beds/{id}/adaptations`
pub async fn adapt(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<BedForm>,
) -> Result<Response, PageError> {
    let (bed, elder) = bed_and_elder(&state, &user, &id).await?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let result = family_beds::adapt(
        db,
        key,
        &user.actor(&meta),
        bed,
        form.item.trim(),
        date(&form.done_on),
        &form.note,
        state.clock.now(),
    )
    .await;
    answer(&state, ctx, &user, &meta, elder, form, result).await
}

/// `POST /family-beds/{id}/devices`
pub async fn install(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<BedForm>,
) -> Result<Response, PageError> {
    let (bed, elder) = bed_and_elder(&state, &user, &id).await?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let result = family_beds::install(
        db,
        key,
        &user.actor(&meta),
        bed,
        form.kind.trim(),
        &form.serial_no,
        date(&form.installed_on),
        state.clock.now(),
    )
    .await;
    answer(&state, ctx, &user, &meta, elder, form, result).await
}

/// `POST /family-beds/{id}/end`
pub async fn end(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<BedForm>,
) -> Result<Response, PageError> {
    let (bed, elder) = bed_and_elder(&state, &user, &id).await?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let result = family_beds::end(
        db,
        key,
        &user.actor(&meta),
        bed,
        &form.reason,
        state.today(),
        state.clock.now(),
    )
    .await;
    answer(&state, ctx, &user, &meta, elder, form, result).await
}
