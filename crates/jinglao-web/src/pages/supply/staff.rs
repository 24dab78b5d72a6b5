//! A provider's staff and caregivers (工作人员与护理员): the list with masked ID numbers and
//! phones, hiring (a person already registered, e.g. with another provider, is matched by ID
//! number; overlapping full-time contracts are refused), social-insurance months, training
//! and awards.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::DbError;
use jinglao_db::facilities::{self, Facility};
use jinglao_db::providers::{self, Provider};
use jinglao_db::staff::{self, HireDraft, StaffMember};
use jinglao_domain::category::parse_date;
use jinglao_domain::staff::{StaffRole, VocationalLevel};
use jinglao_domain::{Invalid, Permission};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::providers::{may_view, parse_id};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::supply::staff as usecase;

/// The insurance and record forms.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecordForm {
    staff_id: String,
    month: String,
    kind: String,
    on_date: String,
    hours: String,
    title: String,
}

/// `GET /providers/{id}/staff`.
#[derive(Template)]
#[template(path = "providers/staff.html")]
pub struct StaffPage {
    ctx: PageCtx,
    errors: FormErrors,
    p: Provider,
    /// Everyone employed (for the insurance and record forms' choices).
    people: Vec<StaffMember>,
    /// The page of people the tables show (pinyin order), and its pager.
    shown: Vec<StaffMember>,
    pager: crate::pages::paging::Pager,
    facilities: Vec<Facility>,
    hire: HireDraft,
    record: RecordForm,
    roles: &'static [StaffRole],
    levels: &'static [VocationalLevel],
    can_manage: bool,
    /// The items the provider has contract prices for (what skills can name): code and name.
    items: Vec<(String, String)>,
    /// Each person's skills.
    skills: Vec<(Uuid, Vec<String>)>,
}

impl StaffPage {
    fn has_skill(&self, staff: &Uuid, item: &str) -> bool {
        self.skills
            .iter()
            .any(|(s, items)| s == staff && items.iter().any(|i| i == item))
    }

    fn facility_name(&self, id: &Option<Uuid>) -> String {
        id.and_then(|id| self.facilities.iter().find(|f| f.id == id))
            .map(|f| f.name.clone())
            .unwrap_or_else(|| "机构本部".into())
    }
}

/// People in the staff page's tables at a time.
const STAFF_PER_PAGE: i64 = 50;

async fn staff_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    (id, page): (Uuid, i64),
    errors: FormErrors,
    (hire, record): (HireDraft, RecordForm),
) -> Result<StaffPage, PageError> {
    let mut c = state.db.acquire().await?;
    let p = providers::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut people = usecase::list(state, user, id, None).await?;
    jinglao_domain::collation::sort_by_pinyin(&mut people, |s| s.name.as_str());
    let pager = crate::pages::paging::Pager::new(
        page,
        STAFF_PER_PAGE,
        people.len() as i64,
        format!("/providers/{id}/staff"),
    )
    .anchored("people");
    let shown = pager.page_of(&people);
    let facilities = facilities::list(&mut c.conn(), &user.scope, Some(id)).await?;
    let mut items: Vec<String> = jinglao_db::prices::list(&mut c.conn(), id)
        .await?
        .into_iter()
        .map(|p| p.item_code)
        .collect();
    items.sort();
    items.dedup();
    let names = jinglao_db::service_lists::item_names(&mut c.conn()).await?;
    let items = items
        .into_iter()
        .map(|code| {
            let name = names.name(&code).to_string();
            (code, name)
        })
        .collect();
    let skills = jinglao_db::dispatch::skills_at(&mut c.conn(), id)
        .await?
        .into_iter()
        .collect();
    Ok(StaffPage {
        ctx: ctx.with_errors(&errors),
        errors,
        p,
        people,
        shown,
        pager,
        facilities,
        hire,
        record,
        roles: StaffRole::ALL,
        levels: VocationalLevel::ALL,
        can_manage: user.can(Permission::ManageFacilities),
        items,
        skills,
    })
}

fn blank_hire(state: &AppState) -> HireDraft {
    HireDraft {
        role: StaffRole::Caregiver.as_str().into(),
        start_on: state.today().to_string(),
        full_time: true,
        ..HireDraft::default()
    }
}

/// The staff page's own list parameter.
#[derive(Debug, Default, Deserialize)]
pub struct StaffQuery {
    /// The page of people, from 1.
    page: Option<i64>,
}

/// `GET /providers/{id}/staff`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<StaffQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let forms = (blank_hire(&state), RecordForm::default());
    let at = (parse_id(&id)?, q.page.unwrap_or(1));
    let page = staff_page(&state, ctx, &user, at, FormErrors::new(), forms).await?;
    render(&page)
}

async fn answer(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    (id, page): (Uuid, i64),
    forms: (HireDraft, RecordForm),
    result: Result<(), DbError>,
    notice: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/providers/{id}/staff?page={page}&notice={notice}#people"
        ))
        .into_response()),
        Err(DbError::Invalid(errors)) => {
            let page = staff_page(state, ctx, user, (id, page), errors, forms).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /providers/{id}/staff`
pub async fn hire(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<HireDraft>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = match form.parse() {
        Ok(h) => usecase::hire(&state, &acting, id, &h).await.map(|_| ()),
        Err(invalid) => Err(DbError::Invalid(invalid)),
    };
    let forms = (form, RecordForm::default());
    answer(&state, ctx, &user, (id, 1), forms, result, "staff_hired").await
}

fn chosen_staff(text: &str) -> Result<Uuid, DbError> {
    Uuid::parse_str(text.trim())
        .map_err(|_| DbError::Invalid(Invalid::one("staff_id", "请选择工作人员")))
}

/// `POST /providers/{id}/staff/insurance`: one month of social insurance paid.
pub async fn record_insurance(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<RecordForm>,
) -> Result<Response, PageError> {
    let result = match chosen_staff(&form.staff_id) {
        Ok(person) => {
            let acting = Acting::new(&state, user.clone(), &meta);
            usecase::record_insurance(&state, &acting, id, person, &form.month).await
        }
        Err(e) => Err(e),
    };
    let forms = (blank_hire(&state), form);
    answer(
        &state,
        ctx,
        &user,
        (id, 1),
        forms,
        result,
        "insurance_recorded",
    )
    .await
}

/// `POST /providers/{id}/staff/records`: a training or an award.
pub async fn add_record(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<RecordForm>,
) -> Result<Response, PageError> {
    let hours = form.hours.trim();
    let result = match (chosen_staff(&form.staff_id), hours.parse::<i64>()) {
        (Err(e), _) => Err(e),
        (Ok(_), Err(_)) if !hours.is_empty() => Err(DbError::Invalid(Invalid::one(
            "hours",
            "学时应为整数（获奖记录可留空）",
        ))),
        (Ok(person), h) => {
            staff::add_record(
                &jinglao_db::WriteCtx::new(
                    &state.db,
                    &state.keys.audit_chain,
                    &user.actor(&meta),
                    state.clock.now(),
                ),
                id,
                person,
                &form.kind,
                parse_date(&form.on_date),
                h.unwrap_or(0),
                &form.title,
            )
            .await
        }
    };
    let forms = (blank_hire(&state), form);
    answer(
        &state,
        ctx,
        &user,
        (id, 1),
        forms,
        result,
        "staff_record_added",
    )
    .await
}

/// The most people and ticks one skills form may carry.
const MAX_SKILL_ROWS: usize = 2_000;
const MAX_SKILL_TICKS: usize = 40_000;

/// `POST /providers/{id}/skills`: the skills of everyone on the page of the staff list the form
/// showed (`staff` names each person listed, `skill` is `<staff id>|<item code>` per tick,
/// `page` the page to return to), saved in one transaction; people not listed and people
/// unchanged are left alone.
pub async fn set_skills_bulk(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let listed: Vec<Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == "staff")
        .filter_map(|(_, v)| Uuid::parse_str(v.trim()).ok())
        .collect();
    let ticks = pairs.iter().filter(|(k, _)| k == "skill").count();
    if listed.len() > MAX_SKILL_ROWS || ticks > MAX_SKILL_TICKS {
        return Err(AppError::BadRequest {
            message: "一次提交的人员或技能太多".into(),
            field: Some("skill".into()),
        }
        .into());
    }
    let mut changes: Vec<(Uuid, Vec<String>)> = listed.iter().map(|s| (*s, Vec::new())).collect();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "skill") {
        let Some((staff, item)) = v.split_once('|') else {
            continue;
        };
        let Ok(staff) = Uuid::parse_str(staff.trim()) else {
            continue;
        };
        if let Some((_, items)) = changes.iter_mut().find(|(s, _)| *s == staff) {
            items.push(item.to_string());
        }
    }
    let acting = crate::usecase::Acting::new(&state, user.clone(), &meta);
    let result = jinglao_db::dispatch::set_skills_many(&acting.write(&state), id, &changes).await;
    let forms = (blank_hire(&state), RecordForm::default());
    // Back to the page of people the form showed.
    let page = pairs
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(1);
    let at = (id, page);
    answer(&state, ctx, &user, at, forms, result.map(|_| ()), "saved").await
}

/// `POST /providers/{id}/staff/{staff}/skills`: the items this person may be dispatched for
/// (checkboxes, `skill` repeated).
pub async fn set_skills(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    Path((id, staff_id)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let staff_id = parse_id(&staff_id)?;
    let items: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "skill")
        .map(|(_, v)| v)
        .collect();
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let result = jinglao_db::dispatch::set_skills(
        db,
        key,
        &user.actor(&meta),
        id,
        staff_id,
        &items,
        state.clock.now(),
    )
    .await;
    let forms = (blank_hire(&state), RecordForm::default());
    answer(&state, ctx, &user, (id, 1), forms, result, "saved").await
}
