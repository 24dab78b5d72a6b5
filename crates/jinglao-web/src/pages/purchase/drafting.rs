//! Drafting a purchase project (确定项目, 年度购买计划): the purchasing body fills in the catalogue
//! entry, the items and regions, the quantities (people × units), the price basis, budget and
//! funding, the mode, the requirements beyond the seven conditions, the targets and criteria,
//! and the term; it is saved as a draft for the project page's 报送财政审核. The API's
//! `POST /api/v1/purchase/projects` takes the same draft through the same use case.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_domain::purchase::project::{FundingSource, MAX_LINES, ProjectDraft, PurchaseMode};
use jinglao_domain::{Invalid, Permission, RegionCode};
use uuid::Uuid;

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;

/// How many quantity and criterion rows the form offers.
const ROWS: usize = 4;

/// `GET /purchase/projects/new`.
#[derive(Template)]
#[template(path = "purchase/new_project.html")]
pub struct NewPage {
    ctx: PageCtx,
    errors: FormErrors,
    /// Catalogue entries: code and name.
    entries: Vec<(String, String)>,
    /// The catalogue's document, or none when there is none in force.
    catalogue: Option<String>,
    /// Regions the project may cover: code and name (the caller's region and its children).
    regions: Vec<(String, String)>,
    modes: Vec<(&'static str, &'static str)>,
    fundings: Vec<(&'static str, &'static str)>,
    /// Every item the catalogue covers: code and name.
    items: Vec<(String, String)>,
    f: Fields,
    rows: Vec<usize>,
    /// Changing an existing project rather than drafting one.
    editing: Option<Editing>,
}

/// The project being changed.
pub struct Editing {
    /// Its id.
    pub id: Uuid,
    /// Its purchasing body (not changed here).
    pub purchaser: String,
    /// Finance approved it: the change becomes this new version, with a reason.
    pub new_version: Option<i32>,
}

/// The form as typed, kept to draw it again.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    map: Vec<(String, String)>,
}

impl Fields {
    /// The value of a field.
    pub fn get(&self, name: &str) -> &str {
        self.map
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
    /// Every value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.map
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
    /// Whether a repeated field holds `value`.
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.map.iter().any(|(k, v)| k == name && v == value)
    }
    /// A row's field (`q.1.people`).
    pub fn row(&self, prefix: &str, i: &usize, name: &str) -> String {
        self.get(&format!("{prefix}.{i}.{name}")).to_string()
    }
    /// The highest row number any quantity or criterion field uses (at most `MAX_LINES`).
    fn rows(&self) -> usize {
        self.map
            .iter()
            .filter_map(|(k, _)| {
                let rest = k.strip_prefix("q.").or_else(|| k.strip_prefix("c."))?;
                rest.split('.').next()?.parse::<usize>().ok()
            })
            .filter(|n| *n <= MAX_LINES)
            .max()
            .unwrap_or(0)
    }

    /// The fields of a stored project, to change it on the same form.
    fn of(p: &jinglao_db::purchase::projects::Project) -> Fields {
        let i = &p.input;
        let mut map: Vec<(String, String)> = vec![
            ("year".into(), i.year.to_string()),
            ("title".into(), i.title.clone()),
            ("catalogue_code".into(), i.catalogue_code.clone()),
            ("price_basis".into(), i.price_basis.clone()),
            (
                "budget_yuan".into(),
                format!("{}.{:02}", i.budget_fen / 100, i.budget_fen % 100),
            ),
            ("funding".into(), i.funding.as_str().into()),
            ("mode".into(), i.mode.as_str().into()),
            ("requirements".into(), i.requirements.clone()),
            ("targets".into(), i.targets.clone()),
            ("term_start".into(), i.term_start.to_string()),
            ("term_end".into(), i.term_end.to_string()),
            (
                "justification".into(),
                i.justification.clone().unwrap_or_default(),
            ),
        ];
        map.extend(i.item_codes.iter().map(|c| ("item".to_string(), c.clone())));
        map.extend(
            i.regions
                .iter()
                .map(|r| ("region".to_string(), r.to_string())),
        );
        for (n, q) in i.quantities.iter().enumerate() {
            let n = n + 1;
            map.push((format!("q.{n}.item"), q.item_code.clone()));
            map.push((format!("q.{n}.people"), q.people.to_string()));
            map.push((format!("q.{n}.units"), q.units_per_person.to_string()));
            map.push((format!("q.{n}.unit"), q.unit.clone()));
        }
        for (n, c) in i.criteria.iter().enumerate() {
            let n = n + 1;
            map.push((format!("c.{n}.name"), c.name.clone()));
            map.push((format!("c.{n}.weight"), c.weight.to_string()));
        }
        Fields { map }
    }
}

fn may(user: &CurrentUser) -> Result<RegionCode, AppError> {
    match user.scope.region_root() {
        Some(r) if user.can(Permission::PlanPurchases) && user.scope.provider_id().is_none() => {
            Ok(r)
        }
        _ => Err(AppError::Forbidden(
            "只有市、县（区）、乡镇（街道）民政部门可以编报购买项目".into(),
        )),
    }
}

async fn new_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    errors: FormErrors,
    f: Fields,
) -> Result<NewPage, PageError> {
    form_page(state, ctx, user, errors, f, None).await
}

async fn form_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    errors: FormErrors,
    f: Fields,
    editing: Option<Editing>,
) -> Result<NewPage, PageError> {
    let root = may(user)?;
    let mut c = state.db.acquire().await?;
    let catalogue = jinglao_db::purchase::catalogue::in_force(&mut c.conn(), &root).await?;
    let names = jinglao_db::service_lists::item_names(&mut c.conn()).await?;
    drop(c);
    let mut items: Vec<(String, String)> = Vec::new();
    let entries = catalogue
        .as_ref()
        .map(|k| {
            k.entries
                .iter()
                .map(|e| {
                    let its: Vec<(String, String)> = e
                        .item_codes
                        .iter()
                        .map(|i| (i.clone(), names.name(i).to_string()))
                        .collect();
                    for i in &its {
                        if !items.contains(i) {
                            items.push(i.clone());
                        }
                    }
                    (e.code.clone(), e.name.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    let tree = state.regions.tree();
    let mut regions = Vec::new();
    if let Some(r) = tree.get(&user.scope, &root) {
        regions.push((r.code.to_string(), r.name.clone()));
    }
    for r in tree.children(&user.scope, &root).unwrap_or_default() {
        regions.push((r.code.to_string(), r.name.clone()));
    }
    Ok(NewPage {
        ctx: ctx.with_errors(&errors),
        errors,
        entries,
        catalogue: catalogue.map(|k| k.basis),
        regions,
        modes: PurchaseMode::ALL
            .iter()
            .map(|m| (m.as_str(), m.label()))
            .collect(),
        fundings: FundingSource::ALL
            .iter()
            .map(|m| (m.as_str(), m.label()))
            .collect(),
        items,
        rows: (1..=f.rows().max(ROWS)).collect(),
        f,
        editing,
    })
}

/// `GET /purchase/projects/new`
pub async fn new(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let year = chrono::Datelike::year(&state.today()) + 1;
    let f = Fields {
        map: vec![
            ("year".into(), year.to_string()),
            ("term_start".into(), format!("{year}-01-01")),
            ("term_end".into(), format!("{year}-12-31")),
            ("c.1.name".into(), "价格".into()),
            ("c.1.weight".into(), "30".into()),
            ("c.2.name".into(), "服务方案".into()),
            ("c.2.weight".into(), "40".into()),
            ("c.3.name".into(), "人员资质".into()),
            ("c.3.weight".into(), "20".into()),
            ("c.4.name".into(), "以往绩效评价".into()),
            ("c.4.weight".into(), "10".into()),
        ],
    };
    render(&new_page(&state, ctx, &user, FormErrors::new(), f).await?)
}

/// The draft from the form's fields.
fn draft_of(f: &Fields) -> ProjectDraft {
    let rows = |prefix: &str, names: &[&str]| -> Vec<Vec<String>> {
        (1..=f.rows().max(ROWS))
            .map(|i| {
                names
                    .iter()
                    .map(|n| f.row(prefix, &i, n).trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|r: &Vec<String>| r.iter().skip(1).any(|v| !v.is_empty()))
            .collect()
    };
    ProjectDraft {
        year: f.get("year").into(),
        title: f.get("title").into(),
        catalogue_code: f.get("catalogue_code").into(),
        item_codes: f.all("item"),
        regions: f.all("region"),
        quantities: rows("q", &["item", "people", "units", "unit"])
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
            .collect(),
        price_basis: f.get("price_basis").into(),
        budget_yuan: f.get("budget_yuan").into(),
        budget_fen: None,
        funding: f.get("funding").into(),
        mode: f.get("mode").into(),
        requirements: f.get("requirements").into(),
        targets: f.get("targets").into(),
        criteria: rows("c", &["name", "weight"])
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect(),
        term_start: f.get("term_start").into(),
        term_end: f.get("term_end").into(),
        justification: f.get("justification").into(),
    }
}

/// `POST /purchase/projects/new`
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(map): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let root = may(&user)?;
    let f = Fields { map };
    let purchaser = f.get("purchaser_name").trim().to_string();
    let acting = Acting::new(&state, user.clone(), &meta);
    let result: Result<Uuid, AppError> = if purchaser.is_empty() {
        Err(AppError::Invalid(Invalid::one(
            "purchaser_name",
            "请填写购买主体名称，如 湘潭市雨湖区民政局",
        )))
    } else {
        crate::usecase::purchase::contracts::create_project(
            &state,
            &acting,
            root,
            &purchaser,
            &draft_of(&f),
        )
        .await
    };
    match result {
        Ok(id) => Ok(
            Redirect::to(&format!("/purchase/projects/{id}?notice=project_drafted"))
                .into_response(),
        ),
        Err(AppError::Invalid(errors)) => render_with_status(
            &new_page(&state, ctx, &user, errors, f).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// Loads a project the caller may change on this form: a draft, a returned project, or an
/// approved one not yet announced (which becomes a new version).
async fn changeable(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(jinglao_db::purchase::projects::Project, Editing), PageError> {
    may(user)?;
    let mut c = state.db.acquire().await?;
    let p = jinglao_db::purchase::projects::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    use jinglao_domain::purchase::project::ProjectStatus;
    let new_version = match p.status {
        s if s.is_editable() => None,
        ProjectStatus::Approved => Some(p.version + 1),
        s => {
            return Err(AppError::Invalid(Invalid::one(
                "status",
                format!("项目{}，不能再修改", s.label()),
            ))
            .into());
        }
    };
    let editing = Editing {
        id,
        purchaser: p.purchaser_name.clone(),
        new_version,
    };
    Ok((p, editing))
}

/// `GET /purchase/projects/{id}/edit`: the drafting form filled with the project.
pub async fn edit(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    crate::pages::IdPath(id): crate::pages::IdPath,
) -> Result<Response, PageError> {
    let (p, editing) = changeable(&state, &user, id).await?;
    let f = Fields::of(&p);
    render(&form_page(&state, ctx, &user, FormErrors::new(), f, Some(editing)).await?)
}

/// `POST /purchase/projects/{id}/edit`: saves the change (with `reason` for a new version).
pub async fn save_edit(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    crate::pages::IdPath(id): crate::pages::IdPath,
    Form(map): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (_, editing) = changeable(&state, &user, id).await?;
    let f = Fields { map };
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = crate::usecase::purchase::contracts::update_project(
        &state,
        &acting,
        id,
        &draft_of(&f),
        f.get("reason"),
    )
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/purchase/projects/{id}?notice={}",
            if editing.new_version.is_some() {
                "project_new_version"
            } else {
                "project_changed"
            }
        ))
        .into_response()),
        Err(AppError::Invalid(errors)) => render_with_status(
            &form_page(&state, ctx, &user, errors, f, Some(editing)).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}
