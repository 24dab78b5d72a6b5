//! Basic elderly-service list pages: the list that applies to a region with its versions, and
//! the form that publishes a new version (prefilled from the current one, or from the list
//! above for a county's first version; one blank item to add; an item whose code is cleared is
//! left out). Rules are checked when the form is sent; errors name the item and, for a rule,
//! the line and column.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::DbError;
use jinglao_db::service_lists::{self, ServiceList, VersionRow};
use jinglao_domain::clock::format_local;
use jinglao_domain::service_item_draft::{ItemDraft, validate_items};
use jinglao_domain::service_list::ServiceCategory;
use jinglao_domain::{Invalid, Permission, RegionCode};
use serde::Deserialize;

use super::rule_builder::{self, BuilderView, Choices, Preview};
use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Query: a region.
#[derive(Debug, Deserialize)]
pub struct RegionQuery {
    #[serde(default)]
    region: String,
}

fn region_of(user: &CurrentUser, text: &str) -> RegionCode {
    RegionCode::parse(text.trim())
        .ok()
        .unwrap_or_else(|| user.scope.region_root().unwrap_or(user.account.region_code))
}

/// The list page.
#[derive(Template)]
#[template(path = "service_lists/index.html")]
pub struct ListPage {
    ctx: PageCtx,
    picker: crate::pages::region_picker::RegionPicker,
    region: String,
    region_label: String,
    list: Option<ServiceList>,
    list_region_label: String,
    published_at: String,
    /// Each item with its target group in plain words.
    items: Vec<(ItemDraft, String)>,
    versions: Vec<(VersionRow, String)>,
    can_publish: bool,
}

/// `GET /service-lists`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<RegionQuery>,
) -> Result<Response, PageError> {
    let region = region_of(&user, &q.region);
    let mut c = state.db.acquire().await?;
    let list = service_lists::applicable(&mut c.conn(), &region).await?;
    let versions = match &list {
        Some(l) => service_lists::versions(&mut c.conn(), &l.region).await?,
        None => Vec::new(),
    };
    drop(c);
    render(&ListPage {
        ctx,
        picker: crate::pages::region_picker::area_filter(
            &state.regions.tree(),
            &user.scope,
            region.short(),
        ),
        region: region.short().to_string(),
        region_label: state.region_path(&region),
        list_region_label: list
            .as_ref()
            .map(|l| state.region_path(&l.region))
            .unwrap_or_default(),
        published_at: list
            .as_ref()
            .map(|l| format_local(l.published_at))
            .unwrap_or_default(),
        items: list
            .as_ref()
            .map(|l| {
                let tree = state.regions.tree();
                l.items
                    .iter()
                    .map(|it| (ItemDraft::of_item(it), it.target.describe(tree.as_ref())))
                    .collect()
            })
            .unwrap_or_default(),
        versions: versions
            .into_iter()
            .map(|v| {
                let at = format_local(v.published_at);
                (v, at)
            })
            .collect(),
        can_publish: user.can(Permission::PublishServiceLists)
            && user.scope.covers_record_in(&region),
        list,
    })
}

/// The publish form.
#[derive(Template)]
#[template(path = "service_lists/edit.html")]
pub struct EditPage {
    ctx: PageCtx,
    errors: FormErrors,
    region: String,
    region_label: String,
    title: String,
    basis: String,
    items: Vec<ItemRow>,
    categories: Vec<ServiceCategory>,
    based_on: String,
    /// What the rule builder's selects offer.
    choices: Choices,
}

/// An item of the form with its plain text fields (name, label, value), its rule in plain
/// words, its builder and, after 「预览」, its preview.
pub struct ItemRow {
    it: ItemDraft,
    fields: Vec<(&'static str, &'static str, String)>,
    plain: Option<String>,
    builder: BuilderView,
    preview: Option<Preview>,
}

fn rows(
    state: &AppState,
    items: Vec<ItemDraft>,
    mut builders: Vec<BuilderView>,
    preview: Option<Preview>,
) -> Vec<ItemRow> {
    builders.resize(items.len(), BuilderView::empty());
    items
        .into_iter()
        .zip(builders)
        .enumerate()
        .map(|(i, (it, builder))| ItemRow {
            plain: rule_builder::plain_of(state, &it.target_rule),
            preview: preview.clone().filter(|p| p.index == i),
            builder,
            fields: vec![
                ("code", "编码", it.code.clone()),
                ("name", "名称", it.name.clone()),
                ("content", "服务内容和标准", it.content.clone()),
                ("basis", "政策依据（文号及条款）", it.basis.clone()),
                ("effective_from", "开始日期", it.effective_from.clone()),
                ("effective_to", "截止日期（可空）", it.effective_to.clone()),
                (
                    "government_share_percent",
                    "政府承担比例（%，付费方式为补贴时）",
                    it.government_share_percent.clone(),
                ),
                ("quota_amount", "数量", it.quota_amount.clone()),
            ],
            it,
        })
        .collect()
}

/// `GET /service-lists/new?region=`
pub async fn new_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::PublishServiceLists>,
    Query(q): Query<RegionQuery>,
) -> Result<Response, PageError> {
    let region = region_of(&user, &q.region);
    if !user.scope.covers_record_in(&region) {
        return Err(AppError::forbidden().into());
    }
    let mut c = state.db.acquire().await?;
    let current = service_lists::applicable(&mut c.conn(), &region).await?;
    drop(c);
    let mut items: Vec<ItemDraft> = current
        .as_ref()
        .map(|l| l.items.iter().map(ItemDraft::of_item).collect())
        .unwrap_or_default();
    items.push(ItemDraft::default());
    render(&EditPage {
        ctx,
        errors: FormErrors::new(),
        region: region.short().to_string(),
        region_label: state.region_path(&region),
        title: current
            .as_ref()
            .filter(|l| l.region == region)
            .map(|l| l.title.clone())
            .unwrap_or_default(),
        basis: String::new(),
        based_on: current
            .map(|l| format!("{} 第 {} 版", l.title, l.version))
            .unwrap_or_default(),
        items: rows(&state, items, Vec::new(), None),
        categories: ServiceCategory::ALL.to_vec(),
        choices: Choices::all(),
    })
}

/// The form as sent.
struct Sent {
    region: String,
    title: String,
    basis: String,
    items: Vec<ItemDraft>,
    builders: Vec<BuilderView>,
    /// The item whose 「生成条件并预览」 was pressed, if one was.
    preview: Option<usize>,
}

/// Reads the form: `region`, `title`, `basis`, `items[i].<field>`, each item's builder
/// (`items[i].builder_join`, `items[i].builder[n].fact|op|value`) and `preview`.
fn read_form(body: &[u8]) -> Sent {
    let (mut region, mut title, mut basis) = (String::new(), String::new(), String::new());
    let mut items: Vec<ItemDraft> = Vec::new();
    let mut builders: Vec<BuilderView> = Vec::new();
    let mut preview = None;
    for (k, v) in form_urlencoded::parse(body) {
        let v = v.into_owned();
        match k.as_ref() {
            "region" => region = v,
            "title" => title = v,
            "basis" => basis = v,
            "preview" => preview = v.trim().parse::<usize>().ok().filter(|n| *n < 64),
            key => {
                let Some(rest) = key.strip_prefix("items[") else {
                    continue;
                };
                let Some((n, field)) = rest.split_once("].") else {
                    continue;
                };
                let Ok(n) = n.parse::<usize>() else { continue };
                if n >= 64 {
                    continue;
                }
                if items.len() <= n {
                    items.resize(n + 1, ItemDraft::default());
                    builders.resize(n + 1, BuilderView::empty());
                }
                if let Some(tail) = field.strip_prefix("builder") {
                    builders[n].set(tail, v);
                    continue;
                }
                let it = &mut items[n];
                match field {
                    "code" => it.code = v,
                    "name" => it.name = v,
                    "category" => it.category = v,
                    "target_rule" => it.target_rule = v,
                    "content" => it.content = v,
                    "payer" => it.payer = v,
                    "government_share_percent" => it.government_share_percent = v,
                    "quota_kind" => it.quota_kind = v,
                    "quota_amount" => it.quota_amount = v,
                    "effective_from" => it.effective_from = v,
                    "effective_to" => it.effective_to = v,
                    "basis" => it.basis = v,
                    _ => {}
                }
            }
        }
    }
    Sent {
        region,
        title,
        basis,
        items,
        builders,
        preview,
    }
}

/// `POST /service-lists`: publish a new version.
pub async fn publish(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::PublishServiceLists>,
    meta: RequestMeta,
    body: Bytes,
) -> Result<Response, PageError> {
    let sent = read_form(&body);
    if let Some(index) = sent.preview {
        return preview(&state, ctx, &user, &meta, sent, index).await;
    }
    let Sent {
        region: region_text,
        title,
        basis,
        items: all,
        ..
    } = sent;
    // A row whose code and name are both empty is the unused blank row, or a removed item.
    let drafts: Vec<ItemDraft> = all
        .into_iter()
        .filter(|d| !(d.code.trim().is_empty() && d.name.trim().is_empty()))
        .collect();
    let region = RegionCode::parse(region_text.trim());
    let result = match (&region, validate_items(&drafts)) {
        (Err(_), _) => Err(DbError::Invalid(Invalid::one("region", "区划代码无效"))),
        (_, Err(inv)) => Err(DbError::Invalid(inv)),
        (Ok(r), Ok(items)) => {
            service_lists::publish(
                &jinglao_db::WriteCtx::new(
                    &state.db,
                    &state.keys.audit_chain,
                    &user.actor(&meta),
                    state.clock.now(),
                ),
                *r,
                &title,
                &basis,
                &items,
            )
            .await
        }
    };
    match result {
        Ok(list) => Ok(Redirect::to(&format!(
            "/service-lists?region={}&notice=list_published",
            list.region.short()
        ))
        .into_response()),
        Err(DbError::Invalid(errors)) => {
            let region = region.unwrap_or(user.account.region_code);
            let mut items = drafts;
            items.push(ItemDraft::default());
            let page = EditPage {
                ctx: ctx.with_errors(&errors),
                errors,
                region: region.short().to_string(),
                region_label: state.region_path(&region),
                title,
                basis,
                items: rows(&state, items, Vec::new(), None),
                categories: ServiceCategory::ALL.to_vec(),
                based_on: String::new(),
                choices: Choices::all(),
            };
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// 「生成条件并预览」 on item `index`: nothing is published; the form comes back as it was
/// sent, the item's rule box holding the built rule, with the preview under it (or the errors
/// naming the builder row or the rule).
async fn preview(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    sent: Sent,
    index: usize,
) -> Result<Response, PageError> {
    let region = RegionCode::parse(sent.region.trim()).unwrap_or(user.account.region_code);
    if !user.scope.covers_record_in(&region) {
        return Err(AppError::forbidden().into());
    }
    let Sent {
        title,
        basis,
        mut items,
        mut builders,
        ..
    } = sent;
    if index >= items.len() {
        return Err(AppError::NotFound.into());
    }
    builders.resize(items.len(), BuilderView::empty());
    builders[index].open = true;
    let answer = rule_builder::preview(
        state,
        user,
        meta,
        index,
        &builders[index],
        &items[index].target_rule,
        &region,
    )
    .await?;
    let (errors, shown) = match answer {
        Ok((text, p)) => {
            items[index].target_rule = text;
            (FormErrors::new(), Some(p))
        }
        Err(inv) => (inv, None),
    };
    if items
        .last()
        .is_none_or(|d| !(d.code.trim().is_empty() && d.name.trim().is_empty()))
    {
        items.push(ItemDraft::default());
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EditPage {
        ctx: ctx.with_errors(&errors),
        errors,
        region: region.short().to_string(),
        region_label: state.region_path(&region),
        title,
        basis,
        items: rows(state, items, builders, shown),
        categories: ServiceCategory::ALL.to_vec(),
        based_on: String::new(),
        choices: Choices::all(),
    };
    render_with_status(&page, status)
}
