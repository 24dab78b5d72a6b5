//! The registry pages: search, register, view (every view audited), edit, reveal full numbers
//! (audited), categories, life events and re-assessment requests.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::DbError;
use jinglao_db::assessments::{self, Assessment};
use jinglao_db::audit::{self, AuditFilter};
use jinglao_db::elder_search::{self, ElderFilter, ElderSummary, Position};
use jinglao_db::elders::{self, Reveal};
use jinglao_domain::assessment::AbilityLevel;
use jinglao_domain::assessment_form::AssessmentReason;
use jinglao_domain::category::{CategoryDraft, CategoryKind, categories_on};
use jinglao_domain::clock::format_local;
use jinglao_domain::elder::{
    ContactDraft, ETHNICITIES, Education, ElderDraft, ElderRecord, ElderStatus, IncomeSource,
    LifeEvent, LivingArrangement, MaritalStatus, MedicalPayment, ValidationContext, parse_yes_no,
};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::rules::{Facts, Person};
use jinglao_domain::service_list::answer_items;
use jinglao_domain::{Invalid, Permission, RegionCode, RegionLevel};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{CurrentUser, PageUser};
use crate::elder_query::{ParamProblem, SearchParams, categories_today, filter_for};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::region_picker::RegionPicker;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;

/// Parameters of the search page.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    ability: String,
    #[serde(default)]
    status: String,
    /// The page shown, from 1.
    page: Option<i64>,
}

impl SearchQuery {
    /// The search's filters as an address query, for the page's own links.
    fn address(&self) -> form_urlencoded::Serializer<'static, String> {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("q", &self.q)
            .append_pair("region", &self.region)
            .append_pair("category", &self.category)
            .append_pair("ability", &self.ability)
            .append_pair("status", &self.status);
        s
    }
}

/// A search result row, ready to show.
pub struct ResultRow {
    row: ElderSummary,
    age: i32,
    region: String,
}

/// The search page.
#[derive(Template)]
#[template(path = "elders/index.html")]
pub struct SearchPage {
    ctx: PageCtx,
    saved: crate::pages::saved_filters::SavedView,
    region: RegionPicker,
    q: SearchQuery,
    /// The export link of exactly this filter (none for an ID or phone search).
    export_query: Option<String>,
    rows: Vec<ResultRow>,
    pager: crate::pages::paging::Pager,
    category_choices: Vec<&'static str>,
    abilities: Vec<AbilityLevel>,
    statuses: Vec<ElderStatus>,
    can_edit: bool,
    can_import: bool,
    /// The parameter that could not be searched with (`region` or `ability`; empty if none)…
    param_field: &'static str,
    /// …and why, shown at that field.
    param_message: String,
}

fn require(user: &CurrentUser, p: Permission) -> Result<(), PageError> {
    user.require(p).map_err(PageError)
}

/// `GET /elders`: the search form and a page of results. Names and filters travel in the
/// address (paging, bookmarks); an ID or phone number never does: the form posts those to
/// `POST /elders/search`, and one typed into the address is refused.
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    results(&state, ctx, &user, &meta, q, false).await
}

/// The most rows one export may carry; a larger list is refused with the advice to narrow it.
const EXPORT_MAX: usize = 20_000;

/// `GET /elders/export?…`: the list exactly as filtered, as an Excel file, ID numbers masked;
/// audited (`elder.export`, with the filter and the row count). A search by ID or phone number
/// is not exported (it finds one person; and the number would sit in the address).
pub async fn export(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    require(&user, Permission::ViewElders)?;
    let bad = |field: &str, message: &str| -> PageError {
        AppError::BadRequest {
            message: message.to_string(),
            field: Some(field.to_string()),
        }
        .into()
    };
    if elder_search::classify(&q.q).is_identifier() {
        return Err(bad("q", "按身份证号或电话查到的是一个人，不提供导出"));
    }
    let params = SearchParams {
        q: &q.q,
        region: &q.region,
        category: &q.category,
        ability: &q.ability,
        status: &q.status,
    };
    let filter = match filter_for(&state, &user, &params).await? {
        Ok(f) => f,
        Err(p) => return Err(bad(p.field, &p.message)),
    };
    let today = state.today();
    let mut rows: Vec<ElderSummary> = Vec::new();
    let mut c = state.db.acquire().await?;
    loop {
        let after = rows.last().map(|r| (r.name.clone(), r.id));
        let at = after
            .as_ref()
            .map_or(Position::Start, |(n, id)| Position::After(n, *id));
        let (mut page, more) = elder_search::search(
            &mut c.conn(),
            &state.keys.cipher,
            &user.scope,
            &filter,
            at,
            1000,
        )
        .await?;
        for r in &mut page {
            r.categories = categories_today(r, &filter);
        }
        rows.append(&mut page);
        if rows.len() > EXPORT_MAX {
            return Err(bad(
                "region",
                &format!("符合条件的老人超过 {EXPORT_MAX} 人，请按地区或类别缩小范围后再导出"),
            ));
        }
        if !more {
            break;
        }
    }
    drop(c);
    elder_search::record_export(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &filter,
        rows.len(),
        state.clock.now(),
    )
    .await?;
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.id_masked.clone(),
                r.sex.label().to_string(),
                jinglao_domain::id_number::age_on(r.birth_date, today).to_string(),
                state.region_path(&r.residence_region),
                r.ability
                    .map(|a| a.label().to_string())
                    .unwrap_or_else(|| "未评估".into()),
                r.categories.join("、"),
                r.status.label().to_string(),
            ]
        })
        .collect();
    let body = crate::download::table_xlsx(
        "老年人",
        &[
            "姓名",
            "身份证号（部分隐藏）",
            "性别",
            "年龄",
            "居住地",
            "能力等级",
            "特殊类别",
            "状态",
        ],
        &table,
    )?;
    Ok(crate::download::attachment(
        crate::download::XLSX,
        "elders.xlsx",
        &format!("老年人名单 {today}.xlsx"),
        body,
    ))
}

/// The notification preference form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NotifyByForm {
    notify_by: String,
}

/// `POST /elders/{id}/notify-by`: how the family wants to be told of application results,
/// visit codes and booking changes.
pub async fn set_notify_by(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<NotifyByForm>,
) -> Result<Response, PageError> {
    require(&user, Permission::EditElders)?;
    let result = jinglao_db::sms::set_preference(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        &user.scope,
        id,
        form.notify_by.trim(),
    )
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/elders/{id}?notice=saved#notify")).into_response()),
        Err(DbError::Invalid(errors)) => render_with_status(
            &record_page_for(&state, ctx, &user, &meta, id, errors).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /elders/search`: the same form, posted. An ID or phone number is answered here, on the
/// page, so that it stays out of addresses, browser history and proxy logs; anything else is
/// sent on to `GET /elders`.
pub async fn search_posted(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(q): Form<SearchQuery>,
) -> Result<Response, PageError> {
    if elder_search::classify(&q.q).is_identifier() {
        return results(&state, ctx, &user, &meta, q, true).await;
    }
    let address = q.address().finish();
    Ok(Redirect::to(&format!("/elders?{address}")).into_response())
}

async fn results(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    q: SearchQuery,
    posted: bool,
) -> Result<Response, PageError> {
    require(user, Permission::ViewElders)?;
    let today = state.today();
    let params = SearchParams {
        q: &q.q,
        region: &q.region,
        category: &q.category,
        ability: &q.ability,
        status: &q.status,
    };
    let identifier = elder_search::classify(&q.q).is_identifier();
    let (filter, param_error) = match filter_for(state, user, &params).await? {
        Ok(_) if identifier && !posted => (
            ElderFilter::new(today),
            Some(ParamProblem {
                field: "q",
                message: "身份证号和电话号码请在查找框中输入后点“查找”，不要放在网址里".into(),
            }),
        ),
        Ok(f) => (f, None),
        Err(problem) => (ElderFilter::new(today), Some(problem)),
    };
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let cipher = &state.keys.cipher;
    let (rows, total, page) = if param_error.is_some() {
        (Vec::new(), 0, 1)
    } else {
        let page = q.page.unwrap_or(1);
        elder_search::numbered(&mut conn, cipher, &user.scope, &filter, page, PAGE_SIZE).await?
    };
    drop(c);
    // Links keep the filters; a number searched by is never put in a link.
    let base = if identifier {
        "/elders".to_string()
    } else {
        format!("/elders?{}", q.address().finish())
    };
    let pager = crate::pages::paging::Pager::new(page, PAGE_SIZE, total, base);
    if param_error.is_none() {
        let actor = user.actor(meta);
        let now = state.clock.now();
        elder_search::record_search(
            &state.db,
            &state.keys.audit_chain,
            &actor,
            &filter,
            &rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            now,
        )
        .await?;
    }
    let category_choices: Vec<&'static str> = jinglao_domain::category::LABELS.to_vec();
    let mut region = RegionPicker::new(
        &state.regions.tree(),
        &user.scope,
        "region",
        "地区",
        (RegionLevel::Province, RegionLevel::Village),
        &q.region,
    )
    .filter();
    if let Some(p) = param_error.as_ref().filter(|p| p.field == "region") {
        region.error = Some(p.message.clone());
    }
    let export_query = (!identifier && param_error.is_none()).then(|| q.address().finish());
    let saved = crate::pages::saved_filters::view(
        state,
        user,
        "elders",
        if identifier {
            String::new()
        } else {
            q.address().finish()
        },
    )
    .await?;
    render(&SearchPage {
        saved,
        ctx,
        region,
        export_query,
        rows: rows
            .into_iter()
            .map(|mut row| {
                row.categories = categories_today(&row, &filter);
                ResultRow {
                    age: jinglao_domain::id_number::age_on(row.birth_date, today),
                    region: state.region_name(&row.residence_region),
                    row,
                }
            })
            .collect(),
        q,
        pager,
        category_choices,
        abilities: AbilityLevel::ALL.to_vec(),
        statuses: ElderStatus::ALL.to_vec(),
        can_edit: user.can(Permission::EditElders),
        can_import: user.can(Permission::ImportElders),
        param_field: param_error.as_ref().map_or("", |p| p.field),
        param_message: param_error.map(|p| p.message).unwrap_or_default(),
    })
}

/// The register/edit form's values as typed.
#[derive(Debug, Clone, Default)]
pub struct ElderFormValues {
    draft: ElderDraft,
    income: Vec<String>,
    medical: Vec<String>,
}

impl ElderFormValues {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let all = |k: &str| -> Vec<String> {
            pairs
                .iter()
                .filter(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let income = all("income_sources");
        let medical = all("medical_payments");
        let contact = |i: u8| ContactDraft {
            name: get(&format!("contact{i}_name")),
            relation: get(&format!("contact{i}_relation")),
            phone: get(&format!("contact{i}_phone")),
        };
        ElderFormValues {
            draft: ElderDraft {
                name: get("name"),
                id_number: get("id_number"),
                ethnicity: get("ethnicity"),
                phones: get("phones"),
                hukou_region_code: get("hukou_region_code"),
                residence_region_code: get("residence_region_code"),
                address: get("address"),
                longitude: get("longitude"),
                latitude: get("latitude"),
                living_arrangement: get("living_arrangement"),
                marital_status: get("marital_status"),
                education: get("education"),
                income_sources: income.join("、"),
                medical_payments: medical.join("、"),
                children_count: get("children_count"),
                children_local: get("children_local"),
                children_can_care: get("children_can_care"),
                contacts: vec![contact(1), contact(2)],
                under_age_reason: get("under_age_reason"),
            },
            income,
            medical,
        }
    }

    fn contact(&self, i: &usize) -> ContactDraft {
        self.draft.contacts.get(*i).cloned().unwrap_or_default()
    }
    fn has_income(&self, v: &str) -> bool {
        self.income.iter().any(|x| x == v)
    }
    fn has_medical(&self, v: &str) -> bool {
        self.medical.iter().any(|x| x == v)
    }
    fn yes(&self, v: &str) -> bool {
        matches!(parse_yes_no(v), Some(Ok(true)))
    }
    fn no(&self, v: &str) -> bool {
        matches!(parse_yes_no(v), Some(Ok(false)))
    }
}

/// The register/edit page.
#[derive(Template)]
#[template(path = "elders/form.html")]
pub struct ElderFormPage {
    ctx: PageCtx,
    residence: RegionPicker,
    hukou: RegionPicker,
    errors: FormErrors,
    v: ElderFormValues,
    editing: Option<ElderRecord>,
    duplicate_of: Option<Uuid>,
    ethnicities: Vec<&'static str>,
    livings: Vec<LivingArrangement>,
    maritals: Vec<MaritalStatus>,
    educations: Vec<Education>,
    incomes: Vec<IncomeSource>,
    medicals: Vec<MedicalPayment>,
    min_age: i64,
}

fn form_page(
    (state, scope): (&AppState, &jinglao_domain::Scope),
    ctx: PageCtx,
    errors: FormErrors,
    v: ElderFormValues,
    editing: Option<ElderRecord>,
    duplicate_of: Option<Uuid>,
    min_age: i64,
) -> ElderFormPage {
    let residence = RegionPicker::new(
        &state.regions.tree(),
        scope,
        "residence_region_code",
        "居住地村（社区）",
        (RegionLevel::Village, RegionLevel::Village),
        &v.draft.residence_region_code,
    )
    .hint("老人实际居住的村（社区）。")
    .error(&errors);
    // A person's hukou may lie outside the clerk's area, so it is picked from every known
    // region down to townships.
    let hukou = RegionPicker::new(
        &state.regions.tree(),
        &jinglao_domain::Scope::All,
        "hukou_region_code",
        "户籍地",
        (RegionLevel::County, RegionLevel::Township),
        &v.draft.hukou_region_code,
    )
    .hint("户口所在地，选到县（市、区）即可。")
    .error(&errors);
    ElderFormPage {
        ctx: ctx.with_errors(&errors),
        residence,
        hukou,
        errors,
        v,
        editing,
        duplicate_of,
        ethnicities: ETHNICITIES.to_vec(),
        livings: LivingArrangement::ALL.to_vec(),
        maritals: MaritalStatus::ALL.to_vec(),
        educations: Education::ALL.to_vec(),
        incomes: IncomeSource::ALL.to_vec(),
        medicals: MedicalPayment::ALL.to_vec(),
        min_age,
    }
}

async fn min_age(state: &AppState, region: &RegionCode) -> Result<i64, PageError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    Ok(book.int(PolicyKey::RegistryMinAge, region))
}

/// `GET /elders/new`
pub async fn new_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    require(&user, Permission::EditElders)?;
    let region = user.account.region_code;
    let mut v = ElderFormValues::default();
    v.draft.ethnicity = "汉族".into();
    v.draft.hukou_region_code = region.short().to_string();
    if region.level() == jinglao_domain::RegionLevel::Village {
        v.draft.residence_region_code = region.to_string();
    }
    render(&form_page(
        (&state, &user.scope),
        ctx,
        FormErrors::new(),
        v,
        None,
        None,
        min_age(&state, &region).await?,
    ))
}

fn validation_context<'a>(
    tree: &'a jinglao_domain::RegionTree,
    state: &AppState,
    min_age: i64,
) -> ValidationContext<'a> {
    ValidationContext {
        regions: tree,
        today: state.today(),
        min_age: min_age as i32,
    }
}

/// `POST /elders`
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    require(&user, Permission::EditElders)?;
    let v = ElderFormValues::from_pairs(&pairs);
    let region =
        RegionCode::parse(&v.draft.residence_region_code).unwrap_or(user.account.region_code);
    let min = min_age(&state, &region).await?;
    let tree = state.regions.tree();
    let input = match v.draft.validate(&validation_context(&tree, &state, min)) {
        Ok(i) => i,
        Err(errors) => {
            return render_with_status(
                &form_page((&state, &user.scope), ctx, errors, v, None, None, min),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match elders::create(
        &state.db,
        state.keys.secrets(),
        &user.actor(&meta),
        &input,
        &[],
        state.clock.now(),
    )
    .await
    {
        Ok(id) => {
            follow_patrols(&state, &user, &meta, &input.residence_region).await;
            Ok(Redirect::to(&format!("/elders/{id}?notice=elder_created")).into_response())
        }
        Err(DbError::DuplicateElder {
            existing_id,
            region_code,
        }) => {
            // Only in scope (the storage layer answers otherwise without the record).
            let errors = Invalid::one(
                "id_number",
                format!(
                    "这个身份证号已登记（居住地：{}），不能重复登记",
                    state.region_path(&region_code)
                ),
            );
            let link = Some(existing_id);
            render_with_status(
                &form_page((&state, &user.scope), ctx, errors, v, None, link, min),
                StatusCode::CONFLICT,
            )
        }
        Err(DbError::Invalid(errors)) => render_with_status(
            &form_page((&state, &user.scope), ctx, errors, v, None, None, min),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(AppError::from(e).into()),
    }
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

/// A record in scope, or 404.
async fn record_in_scope(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<ElderRecord, PageError> {
    let mut c = state.db.acquire().await?;
    Ok(elders::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?)
}

/// The record page of `id` showing `errors` (a form on it was refused).
pub(crate) async fn record_page_for(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    id: Uuid,
    errors: FormErrors,
) -> Result<ElderPage, PageError> {
    let e = record_in_scope(state, user, id).await?;
    record_page(
        state,
        ctx,
        user,
        meta,
        e,
        Shown {
            errors,
            ..Default::default()
        },
    )
    .await
}

/// A category row of the record page.
pub struct CategoryRow {
    id: Uuid,
    label: &'static str,
    detail: String,
    period: String,
    evidence: String,
    active: bool,
}

/// After a change to a person's record, their village's visit list follows at once (a person
/// who now qualifies is listed; the nightly sweep would otherwise be the next to notice). The
/// change itself is saved already: a failure here is logged, and the nightly sweep repairs it.
async fn follow_patrols(
    state: &AppState,
    user: &CurrentUser,
    meta: &RequestMeta,
    village: &RegionCode,
) {
    let acting = crate::usecase::Acting::new(state, user.clone(), meta);
    if let Err(e) =
        crate::usecase::home_services::patrols::refresh_village(state, &acting, village).await
    {
        tracing::warn!(error = %e, village = %village, "visit list not refreshed after a record change");
    }
}

/// A history row of the record page.
pub struct HistoryRow {
    at: String,
    actor: String,
    action: String,
    /// The detail, field by field.
    detail: Vec<String>,
}

/// The record page.
#[derive(Template)]
#[template(path = "elders/show.html")]
pub struct ElderPage {
    ctx: PageCtx,
    errors: FormErrors,
    e: ElderRecord,
    age: i32,
    hukou: String,
    residence: String,
    categories: Vec<CategoryRow>,
    current_categories: Vec<&'static str>,
    kinds: Vec<CategoryKind>,
    reasons: Vec<AssessmentReason>,
    assessments: Vec<Assessment>,
    history: Vec<HistoryRow>,
    revealed: Option<(String, Vec<String>)>,
    today: String,
    can_edit: bool,
    can_reveal: bool,
    can_assess: bool,
    can_request: bool,
    cat_form: CategoryDraft,
    /// The service list that applies to the person, with each item's answer.
    entitlements: Option<Entitlements>,
    /// What recording the person's death or move away ended, in a sentence.
    life_effects: Option<String>,
    /// How the family wants to be told things (`phone` or `sms`).
    notify_by: String,
    /// The choices: (stable name, words).
    channels: &'static [(&'static str, &'static str)],
    /// The latest text messages: (when, the masked number, the text, the state in words).
    texts: Vec<(String, String, String, &'static str)>,
}

/// The record page's "基本养老服务清单对照" section.
pub struct Entitlements {
    /// E.g. 湘潭市基本养老服务清单 第 1 版.
    list: String,
    /// Item name, whether the person is in its target group, whether enrolled, the answer in
    /// plain words, and how it was decided (the deciding clauses, folded on the page).
    items: Vec<(String, bool, bool, String, String)>,
    /// Items that may be applied for: code, name and whether the rule finds the person eligible
    /// (eligible ones first).
    choices: Vec<(String, String, bool)>,
    /// The item to preselect (from a worklist's link).
    preselect: String,
}

/// What the record page shows besides the record: field errors, numbers revealed on request
/// (with what was revealed) and the category form as last sent.
#[derive(Default)]
struct Shown {
    errors: FormErrors,
    revealed: Option<(String, Vec<String>)>,
    category: CategoryDraft,
}

async fn record_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    e: ElderRecord,
    shown: Shown,
) -> Result<ElderPage, PageError> {
    let Shown {
        errors,
        revealed,
        category: cat_form,
    } = shown;
    let today = state.today();
    let book = jinglao_db::policy::book(&state.db).await?;
    let advanced = book.int(PolicyKey::AdvancedAge, &e.residence_region) as i32;
    // Every view of a person's record is in the audit trail.
    elders::record_read(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(meta),
        &e,
        state.clock.now(),
    )
    .await?;
    let mut c = state.db.acquire().await?;
    let assessments = assessments::for_elder(&mut c.conn(), &user.scope, e.id).await?;
    let list = jinglao_db::service_lists::applicable(&mut c.conn(), &e.residence_region).await?;
    let enrolled = jinglao_db::entitlements::active_codes(&mut c.conn(), e.id, today).await?;
    let life_effects = if e.status == ElderStatus::Active {
        None
    } else {
        elders::last_life_event_effects(&mut c.conn(), e.id)
            .await?
            .map(|fx| fx.describe())
    };
    drop(c);
    // Services find people: each item of the applicable list, answered for this person.
    let entitlements = list.map(|l| {
        let facts = Facts::of_person(&Person::of_record(&e), &l.region, today, advanced);
        let answers = answer_items(&l.items, &facts, today, state.regions.tree().as_ref());
        Entitlements {
            list: format!("{} 第 {} 版", l.title, l.version),
            items: answers
                .iter()
                .map(|a| {
                    (
                        a.item.display_name(),
                        a.deciding.eligible,
                        enrolled.contains(&a.item.code),
                        a.plain.sentence.clone(),
                        a.deciding.explanation(),
                    )
                })
                .collect(),
            choices: {
                let mut v: Vec<(String, String, bool)> = answers
                    .iter()
                    .filter(|a| !enrolled.contains(&a.item.code))
                    .map(|a| (a.item.code.clone(), a.item.display_name(), a.eligible()))
                    .collect();
                v.sort_by_key(|c| !c.2);
                v
            },
            preselect: String::new(),
        }
    });
    let history = audit::list(
        &state.db,
        &user.scope,
        &AuditFilter {
            entity: Some("elder".into()),
            record_id: Some(e.id.to_string()),
            ..AuditFilter::default()
        },
        50,
    )
    .await?;
    let mut ids: Vec<uuid::Uuid> = history.iter().filter_map(|h| h.actor_id).collect();
    for h in &history {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&h.detail) {
            crate::pages::audit_detail::ids_in(&v, &mut ids);
        }
    }
    let mut c = state.db.acquire().await?;
    let names = crate::pages::audit_detail::Names {
        by_id: jinglao_db::audit::names_of(&mut c.conn(), &ids).await?,
        items: jinglao_db::service_lists::item_names(&mut c.conn()).await?,
    };
    let notify_by = jinglao_db::sms::preference(&mut c.conn(), e.id).await?;
    let texts = jinglao_db::sms::of_elder(&mut c.conn(), e.id, 10)
        .await?
        .into_iter()
        .map(|m| {
            let state = match m.status.as_str() {
                "sent" => "已发出",
                "failed" => "发送失败",
                _ => "待发送",
            };
            (format_local(m.created_at), m.phone_masked, m.body, state)
        })
        .collect();
    drop(c);
    let history = history
        .into_iter()
        .filter(|h| h.action != "elder.read")
        .map(|h| HistoryRow {
            at: format_local(h.occurred_at),
            actor: h
                .actor_id
                .and_then(|id| names.by_id.get(&id).cloned())
                .unwrap_or(h.actor_name),
            action: crate::pages::audit::action_label(&h.action),
            detail: crate::pages::audit_detail::lines(state, &names, &h.detail),
        })
        .collect();
    Ok(ElderPage {
        notify_by,
        channels: &jinglao_db::sms::CHANNELS,
        texts,
        ctx: ctx.with_errors(&errors),
        errors,
        age: e.age_on(today),
        hukou: state.region_path(&e.hukou_region),
        residence: state.region_path(&e.residence_region),
        categories: e
            .categories
            .iter()
            .map(|c| CategoryRow {
                id: c.id,
                label: c.kind.label(),
                detail: c.detail.clone().unwrap_or_default(),
                period: format!(
                    "{} 至 {}",
                    c.start,
                    c.end.map(|d| d.to_string()).unwrap_or_else(|| "今".into())
                ),
                evidence: c.evidence.clone(),
                active: c.is_active_on(today),
            })
            .collect(),
        current_categories: categories_on(
            &e.categories,
            e.birth_date,
            e.ability,
            e.dementia,
            today,
            advanced,
        ),
        kinds: CategoryKind::ALL.to_vec(),
        reasons: AssessmentReason::ALL.to_vec(),
        assessments,
        history,
        revealed,
        today: today.to_string(),
        can_edit: user.can(Permission::EditElders),
        can_reveal: user.can(Permission::RevealIdentifiers),
        can_assess: user.can(Permission::Assess),
        can_request: user.can(Permission::EditElders) || user.can(Permission::ReviewAssessments),
        cat_form,
        entitlements,
        life_effects,
        e,
    })
}

/// Query of the record page.
#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    /// An item to preselect in the apply form (worklist links).
    #[serde(default)]
    apply: String,
}

/// `GET /elders/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    require(&user, Permission::ViewElders)?;
    let e = record_in_scope(&state, &user, parse_id(&id)?).await?;
    let mut page = record_page(&state, ctx, &user, &meta, e, Shown::default()).await?;
    if let Some(ent) = page.entitlements.as_mut() {
        ent.preselect = q.apply;
    }
    render(&page)
}

/// The reveal form.
#[derive(Debug, Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    what: String,
}

/// `POST /elders/{id}/reveal`: shows full numbers on this page only (audited).
pub async fn reveal(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<RevealForm>,
) -> Result<Response, PageError> {
    require(&user, Permission::RevealIdentifiers)?;
    let (what, label) = match form.what.as_str() {
        "phones" => (Reveal::Phones, "联系电话"),
        _ => (Reveal::IdNumber, "身份证号"),
    };
    let shown = elders::reveal(
        &state.db,
        state.keys.secrets(),
        &user.actor(&meta),
        id,
        what,
        state.clock.now(),
    )
    .await?;
    let e = record_in_scope(&state, &user, id).await?;
    let page = record_page(
        &state,
        ctx,
        &user,
        &meta,
        e,
        Shown {
            revealed: Some((label.into(), shown)),
            ..Default::default()
        },
    )
    .await?;
    render(&page)
}

/// `GET /elders/{id}/edit`
pub async fn edit_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require(&user, Permission::EditElders)?;
    let e = record_in_scope(&state, &user, parse_id(&id)?).await?;
    let v = ElderFormValues {
        draft: ElderDraft {
            name: e.name.clone(),
            id_number: String::new(),
            ethnicity: e.ethnicity.clone(),
            phones: String::new(),
            hukou_region_code: e.hukou_region.short().to_string(),
            residence_region_code: e.residence_region.to_string(),
            address: e.address.clone(),
            longitude: e.location.map(|l| l.0.to_string()).unwrap_or_default(),
            latitude: e.location.map(|l| l.1.to_string()).unwrap_or_default(),
            living_arrangement: e.living.as_str().into(),
            marital_status: e.marital.as_str().into(),
            education: e.education.as_str().into(),
            income_sources: String::new(),
            medical_payments: String::new(),
            children_count: e.children_count.to_string(),
            children_local: if e.children_local { "是" } else { "否" }.into(),
            children_can_care: if e.children_can_care { "是" } else { "否" }.into(),
            contacts: e
                .contacts
                .iter()
                .map(|c| ContactDraft {
                    name: c.name.clone(),
                    relation: c.relation.clone(),
                    phone: String::new(),
                })
                .collect(),
            under_age_reason: e.under_age_reason.clone().unwrap_or_default(),
        },
        income: e
            .income_sources
            .iter()
            .map(|v| v.as_str().to_string())
            .collect(),
        medical: e
            .medical_payments
            .iter()
            .map(|v| v.as_str().to_string())
            .collect(),
    };
    let min = min_age(&state, &e.residence_region).await?;
    render(&form_page(
        (&state, &user.scope),
        ctx,
        FormErrors::new(),
        v,
        Some(e),
        None,
        min,
    ))
}

/// `POST /elders/{id}/edit`: blank ID and phone fields keep the stored numbers, so editing
/// never has to show them.
pub async fn update(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    require(&user, Permission::EditElders)?;
    let e = record_in_scope(&state, &user, id).await?;
    let stored = {
        let mut c = state.db.acquire().await?;
        elders::get_input(&mut c.conn(), &state.keys.cipher, id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    let v = ElderFormValues::from_pairs(&pairs);
    let mut draft = v.draft.clone();
    if draft.id_number.trim().is_empty() {
        draft.id_number = stored.id_number.as_str().to_string();
    }
    if draft.phones.trim().is_empty() {
        draft.phones = stored
            .phones
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("、");
    }
    for (i, c) in draft.contacts.iter_mut().enumerate() {
        if c.phone.trim().is_empty()
            && !c.name.trim().is_empty()
            && let Some(old) = stored.contacts.get(i)
        {
            c.phone = old.phone.as_str().to_string();
        }
    }
    let min = min_age(&state, &e.residence_region).await?;
    let tree = state.regions.tree();
    let input = match draft.validate(&validation_context(&tree, &state, min)) {
        Ok(i) => i,
        Err(errors) => {
            return render_with_status(
                &form_page((&state, &user.scope), ctx, errors, v, Some(e), None, min),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match elders::update(
        &state.db,
        state.keys.secrets(),
        &user.actor(&meta),
        id,
        &input,
        state.clock.now(),
    )
    .await
    {
        Ok(changes) if changes.is_empty() => {
            Ok(Redirect::to(&format!("/elders/{id}?notice=unchanged")).into_response())
        }
        Ok(_) => {
            follow_patrols(&state, &user, &meta, &input.residence_region).await;
            Ok(Redirect::to(&format!("/elders/{id}?notice=saved")).into_response())
        }
        Err(DbError::DuplicateElder { region_code, .. }) => {
            let errors = Invalid::one(
                "id_number",
                format!("这个身份证号已登记在 {}", state.region_path(&region_code)),
            );
            render_with_status(
                &form_page((&state, &user.scope), ctx, errors, v, Some(e), None, min),
                StatusCode::CONFLICT,
            )
        }
        Err(DbError::Invalid(errors)) => render_with_status(
            &form_page((&state, &user.scope), ctx, errors, v, Some(e), None, min),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// `POST /elders/{id}/categories`
pub async fn add_category(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<CategoryDraft>,
) -> Result<Response, PageError> {
    require(&user, Permission::EditElders)?;
    let result = match form.validate(state.today()) {
        Ok(cat) => elders::add_category(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            id,
            &cat,
            state.clock.now(),
        )
        .await
        .map(|_| ()),
        Err(inv) => Err(DbError::Invalid(inv)),
    };
    match result {
        Ok(()) => {
            if let Ok(e) = record_in_scope(&state, &user, id).await {
                follow_patrols(&state, &user, &meta, &e.residence_region).await;
            }
            Ok(
                Redirect::to(&format!("/elders/{id}?notice=category_added#categories"))
                    .into_response(),
            )
        }
        Err(DbError::Invalid(errors)) => {
            let e = record_in_scope(&state, &user, id).await?;
            let page = record_page(
                &state,
                ctx,
                &user,
                &meta,
                e,
                Shown {
                    errors,
                    category: form,
                    ..Default::default()
                },
            )
            .await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// The end-category form.
#[derive(Debug, Deserialize)]
pub struct EndCategoryForm {
    #[serde(default)]
    end: String,
    /// The ticked confirmation: ending a category can end someone's services.
    #[serde(default)]
    confirm: String,
}

/// `POST /elders/{id}/categories/{cid}/end`
pub async fn end_category(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path((id, cid)): Path<(String, String)>,
    Form(form): Form<EndCategoryForm>,
) -> Result<Response, PageError> {
    require(&user, Permission::EditElders)?;
    let id = parse_id(&id)?;
    let cid = parse_id(&cid)?;
    let result = match jinglao_domain::category::parse_date(&form.end) {
        _ if form.end.trim().is_empty() => Err(DbError::Invalid(Invalid::one(
            "end",
            "请填写该类别结束的日期",
        ))),
        Some(_) if form.confirm != "1" => Err(DbError::Invalid(Invalid::one(
            "end",
            "请勾选“确认该类别已在这一天结束”后再提交",
        ))),
        Some(end) => {
            elders::end_category(
                &state.db,
                &state.keys.audit_chain,
                &user.actor(&meta),
                id,
                cid,
                end,
                state.clock.now(),
            )
            .await
        }
        None => Err(DbError::Invalid(Invalid::one(
            "end",
            "结束日期格式应为 年-月-日",
        ))),
    };
    match result {
        Ok(()) => {
            if let Ok(e) = record_in_scope(&state, &user, id).await {
                follow_patrols(&state, &user, &meta, &e.residence_region).await;
            }
            Ok(
                Redirect::to(&format!("/elders/{id}?notice=category_ended#categories"))
                    .into_response(),
            )
        }
        Err(DbError::Invalid(errors)) => {
            let e = record_in_scope(&state, &user, id).await?;
            let page = record_page(
                &state,
                ctx,
                &user,
                &meta,
                e,
                Shown {
                    errors,
                    ..Default::default()
                },
            )
            .await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// The life-event form.
#[derive(Debug, Deserialize)]
pub struct LifeEventForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    note: String,
}

/// `POST /elders/{id}/life-event`: death or moving away.
pub async fn life_event(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<LifeEventForm>,
) -> Result<Response, PageError> {
    require(&user, Permission::EditElders)?;
    let result = match LifeEvent::parse(id, &form.kind, &form.date, &form.note) {
        Ok(ev) => {
            elders::record_life_event(
                &state.db,
                &state.keys.audit_chain,
                &user.actor(&meta),
                &ev,
                state.clock.now(),
            )
            .await
        }
        Err(inv) => Err(DbError::Invalid(inv)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/elders/{id}?notice=life_event")).into_response()),
        Err(DbError::Invalid(errors)) => {
            let e = record_in_scope(&state, &user, id).await?;
            let page = record_page(
                &state,
                ctx,
                &user,
                &meta,
                e,
                Shown {
                    errors,
                    ..Default::default()
                },
            )
            .await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// The re-assessment request form.
#[derive(Debug, Deserialize)]
pub struct ReassessmentForm {
    #[serde(default)]
    reason: String,
}

/// `POST /elders/{id}/reassessment-request`: an event (a fall, a hospital stay) calls for an
/// immediate assessment; the person appears on the due worklist until one is effective.
pub async fn request_reassessment(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<ReassessmentForm>,
) -> Result<Response, PageError> {
    if !(user.can(Permission::EditElders) || user.can(Permission::ReviewAssessments)) {
        return Err(AppError::forbidden().into());
    }
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        let e = record_in_scope(&state, &user, id).await?;
        let errors = Invalid::one(
            "reason",
            "请写明需要即时评估的原因（不超过 200 个字），如 跌倒骨折出院",
        );
        let page = record_page(
            &state,
            ctx,
            &user,
            &meta,
            e,
            Shown {
                errors,
                ..Default::default()
            },
        )
        .await?;
        return render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    elders::request_reassessment(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        id,
        Some(reason),
        state.clock.now(),
    )
    .await?;
    Ok(Redirect::to(&format!("/elders/{id}?notice=reassessment_requested")).into_response())
}
