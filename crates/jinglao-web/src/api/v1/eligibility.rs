//! Eligibility (服务找人): check one registered person or a what-if set of facts (试算) against
//! the basic elderly-service list that applies, read the worklists of the last sweeps, and run
//! a sweep.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use jinglao_db::elders;
use jinglao_db::eligibility::{self, SweepOptions, Trigger};
use jinglao_db::worklists::{self, WorkFilter, Worklist};
use jinglao_domain::assessment::AbilityLevel;
use jinglao_domain::category::derived_categories;
use jinglao_domain::elder::LivingArrangement;
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::rules::{Facts, Person, allowed_texts};
use jinglao_domain::service_list::answer_items;
use jinglao_domain::{Invalid, RegionCode, Sex};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery};
use super::responses::ScopedRead;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Facts for a what-if check. Omitted yes/no facts are "no", except that household and
/// residence are taken as local; derived categories (高龄, 失能, 半失能) are added from `age`
/// and the level as for a registered person.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfFacts {
    /// Whole years.
    #[schema(example = 82)]
    pub age: i64,
    /// 男 or 女 (default 女).
    #[serde(default)]
    pub sex: Option<String>,
    /// Default true.
    #[serde(default)]
    pub hukou_local: Option<bool>,
    /// Default true.
    #[serde(default)]
    pub resides_locally: Option<bool>,
    /// Recorded categories, e.g. ["低保"].
    #[serde(default)]
    #[schema(example = json!(["低保"]))]
    pub categories: Vec<String>,
    /// Level 0 (能力完好) to 4 (完全失能); omitted: no assessment.
    #[serde(default)]
    #[schema(example = 3)]
    pub ability_level: Option<u8>,
    /// 独居, 仅与配偶, 与子女, 与其他亲属, 机构 (default 与子女).
    #[serde(default)]
    pub living: Option<String>,
    /// Default false.
    #[serde(default)]
    pub children_local: Option<bool>,
    /// Default false.
    #[serde(default)]
    pub children_can_care: Option<bool>,
}

/// A check: a registered person, or a region with what-if facts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// A registered person (their list and facts are used).
    #[serde(default)]
    pub elder_id: Option<Uuid>,
    /// For a what-if check: the village/community (or any region) of residence.
    #[serde(default)]
    #[schema(example = "430302001001")]
    pub region: Option<String>,
    /// For a what-if check.
    #[serde(default)]
    pub facts: Option<WhatIfFacts>,
    /// Evaluation date (default today, China time).
    #[serde(default)]
    pub on: Option<NaiveDate>,
}

/// One clause of an explanation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClauseDto {
    /// E.g. "年龄 82 ≥ 80".
    pub text: String,
    /// Whether it held.
    pub held: bool,
}

/// One item's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemAnswer {
    /// Item code.
    pub code: String,
    /// Item name.
    pub name: String,
    /// In the target group.
    pub eligible: bool,
    /// Every clause, in the order written.
    pub explanation: Vec<ClauseDto>,
    /// The clauses that decided it, as one line for staff.
    pub summary: String,
    /// In plain words, for applicants.
    pub plain: String,
    /// Legal basis.
    pub basis: String,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    /// The list version used (decisions record it).
    pub list_id: Uuid,
    /// Its version number.
    pub list_version: i32,
    /// Its title.
    pub list_title: String,
    /// The region it was published for.
    pub list_region: String,
    /// Evaluation date.
    pub on: NaiveDate,
    /// Items in force on the date.
    pub items: Vec<ItemAnswer>,
}

pub(crate) fn what_if(
    f: &WhatIfFacts,
    region: RegionCode,
    on: NaiveDate,
    advanced_age: i32,
) -> Result<Facts, Invalid> {
    let mut inv = Invalid::new();
    if !(0..=150).contains(&f.age) {
        inv.add("facts.age", "年龄应在 0 到 150 之间");
    }
    let sex = match f.sex.as_deref() {
        None => Sex::Female,
        Some(s) => Sex::parse(s).unwrap_or_else(|| {
            inv.add("facts.sex", "性别应为“男”或“女”");
            Sex::Female
        }),
    };
    let living = match f.living.as_deref() {
        None => LivingArrangement::WithChildren,
        Some(s) => LivingArrangement::parse(s).unwrap_or_else(|| {
            inv.add(
                "facts.living",
                format!("居住情况应为：{}", LivingArrangement::labels_list()),
            );
            LivingArrangement::WithChildren
        }),
    };
    let ability = match f.ability_level {
        None => None,
        Some(n) => AbilityLevel::from_number(n).or_else(|| {
            inv.add("facts.ability_level", "能力等级应为 0 到 4");
            None
        }),
    };
    let allowed = allowed_texts("categories").unwrap_or_default();
    let mut categories: Vec<String> = Vec::new();
    for (i, c) in f.categories.iter().enumerate() {
        if !allowed.contains(&c.as_str()) {
            inv.add(
                &format!("facts.categories[{i}]"),
                format!("“{c}”不是特殊类别；可用：{}", allowed.join("、")),
            );
        } else if !categories.contains(c) {
            categories.push(c.clone());
        }
    }
    inv.into_result(())?;
    let birth_date = on
        .checked_sub_months(chrono::Months::new(12 * f.age as u32))
        .unwrap_or(on);
    for d in derived_categories(birth_date, ability, false, on, advanced_age) {
        if !categories.iter().any(|c| c == d) {
            categories.push(d.to_string());
        }
    }
    Ok(Facts {
        age: f.age,
        sex,
        hukou_local: f.hukou_local.unwrap_or(true),
        resides_locally: f.resides_locally.unwrap_or(true),
        categories,
        ability,
        living,
        children_local: f.children_local.unwrap_or(false),
        children_can_care: f.children_can_care.unwrap_or(false),
        region,
        birth_date,
        today: on,
    })
}

/// Check a registered person (`elder_id`; the read is audited) or a what-if set of facts
/// (`region` and `facts`) against the list that applies, item by item, with explanations.
#[utoipa::path(
    post,
    path = "/eligibility/check",
    tag = "eligibility",
    security(("bearer" = [])),
    request_body = CheckRequest,
    responses(
        (status = 200, description = "各项目的判断与理由", body = CheckResponse),
        (status = 400, description = "请求不是有效的 JSON", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "缺少 elder_id 或 region+facts，或事实取值无效（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn check_eligibility(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ViewElders>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<CheckRequest>,
) -> Result<Json<CheckResponse>, ApiError> {
    let on = body.on.unwrap_or_else(|| state.today());
    let book = jinglao_db::policy::book(&state.db).await?;
    let (region, person) = match (&body.elder_id, &body.region, &body.facts) {
        (Some(id), None, None) => {
            let mut c = state.db.acquire().await?;
            let e = elders::get(&mut c.conn(), &user.scope, *id)
                .await?
                .ok_or(AppError::NotFound)?;
            drop(c);
            elders::record_read(
                &state.db,
                &state.keys.audit_chain,
                &user.actor(&meta),
                &e,
                state.clock.now(),
            )
            .await?;
            (e.residence_region, Some(e))
        }
        (None, Some(r), Some(_)) => {
            let region = RegionCode::parse(r)
                .map_err(|_| Invalid::one("region", "区划代码应为 2、4、6、9 或 12 位数字"))?;
            (region, None)
        }
        _ => {
            return Err(Invalid::one(
                "elder_id",
                "请给出 elder_id（已登记的老人），或同时给出 region 和 facts（试算），二者不能同时给出",
            )
            .into());
        }
    };
    let mut c = state.db.acquire().await?;
    let list = jinglao_db::service_lists::applicable(&mut c.conn(), &region)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(c);
    let advanced = book.int(PolicyKey::AdvancedAge, &list.region) as i32;
    let facts = match (&person, &body.facts) {
        (Some(e), _) => Facts::of_person(&Person::of_record(e), &list.region, on, advanced),
        (None, Some(f)) => what_if(f, region, on, advanced)?,
        (None, None) => unreachable!("checked above"),
    };
    let items = answer_items(&list.items, &facts, on, state.regions.tree().as_ref())
        .into_iter()
        .map(|a| ItemAnswer {
            code: a.item.code.clone(),
            name: a.item.name.clone(),
            eligible: a.eligible(),
            summary: a.deciding.explanation(),
            plain: a.plain.sentence,
            explanation: a
                .all
                .clauses
                .into_iter()
                .map(|c| ClauseDto {
                    text: c.text,
                    held: c.held,
                })
                .collect(),
            basis: a.item.basis.clone(),
        })
        .collect();
    Ok(Json(CheckResponse {
        list_id: list.id,
        list_version: list.version,
        list_title: list.title,
        list_region: list.region.short().to_string(),
        on,
        items,
    }))
}

/// Worklist query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorklistQuery {
    /// Region (default: the caller's).
    #[serde(default)]
    pub region: Option<String>,
    /// `eligible` (符合条件未纳入), `ineligible` (已纳入不再符合) or `changes` (近期变化).
    pub list: String,
    /// One item code.
    #[serde(default)]
    pub item: Option<String>,
    /// Changes since (default 30 days ago).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Page from 1.
    #[serde(default)]
    pub page: Option<i64>,
}

/// A worklist row (ID numbers masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkRowDto {
    /// Person.
    pub elder_id: Uuid,
    /// Name.
    pub name: String,
    /// Masked ID number.
    pub id_number: String,
    /// Residence code.
    pub residence_region_code: String,
    /// Item.
    pub item_code: String,
    /// Item name.
    pub item_name: String,
    /// Changes: gained or lost.
    pub gained: Option<bool>,
    /// Why (changes; no longer eligible).
    pub reason: Option<String>,
    /// When (changes).
    pub at: Option<DateTime<Utc>>,
}

/// A page of a worklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorklistPage {
    /// Rows matching in all.
    pub total: i64,
    /// This page (50 rows).
    pub rows: Vec<WorkRowDto>,
}

/// The worklists of proactive matching for a region in the caller's scope.
#[utoipa::path(
    get,
    path = "/eligibility/worklists",
    tag = "eligibility",
    security(("bearer" = [])),
    params(WorklistQuery),
    responses(
        (status = 200, description = "一页工作清单", body = WorklistPage),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看老年人信息", body = ErrorEnvelope),
        (status = 422, description = "清单类型或区划无效", body = ErrorEnvelope),
    )
)]
pub async fn list_worklist(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ViewElders>,
    ApiQuery(q): ApiQuery<WorklistQuery>,
) -> Result<Json<WorklistPage>, ApiError> {
    let list = Worklist::parse(&q.list)
        .ok_or_else(|| Invalid::one("list", "清单类型应为 eligible、ineligible 或 changes"))?;
    let region = match q.region.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => RegionCode::parse(r)
            .ok()
            .filter(|r| user.scope.covers_record_in(r))
            .ok_or_else(|| Invalid::one("region", "区划代码无效或不在您的管辖范围内"))?,
        None => user.scope.region_root().unwrap_or(user.account.region_code),
    };
    let filter = WorkFilter {
        region,
        item: q.item.filter(|i| !i.is_empty()),
        on: state.today(),
        since: q
            .since
            .unwrap_or_else(|| state.clock.now() - chrono::Duration::days(30)),
        page: q.page.unwrap_or(1).max(1) - 1,
        per_page: 50,
    };
    let mut c = state.db.acquire().await?;
    let page = worklists::page(&mut c.conn(), &user.scope, list, &filter).await?;
    Ok(Json(WorklistPage {
        total: page.total,
        rows: page
            .rows
            .into_iter()
            .map(|r| WorkRowDto {
                elder_id: r.elder_id,
                name: r.name,
                id_number: r.id_masked,
                residence_region_code: r.residence_region_code,
                item_code: r.item_code,
                item_name: r.item_name,
                gained: r.gained,
                reason: r.reason,
                at: r.at,
            })
            .collect(),
    }))
}

/// Sweep request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// Region to sweep (in the caller's scope).
    #[schema(example = "430302")]
    pub region: String,
}

/// What a sweep did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SweepDto {
    /// Sweep id.
    pub id: Uuid,
    /// People asked.
    pub people: usize,
    /// Person × item pairs in a target group.
    pub eligible_pairs: u64,
    /// Newly in a target group.
    pub gained: usize,
    /// No longer in one.
    pub lost: usize,
    /// Seconds it took.
    pub seconds: f64,
}

/// Run a sweep of a region now (it also runs nightly).
#[utoipa::path(
    post,
    path = "/eligibility/sweeps",
    tag = "eligibility",
    security(("bearer" = [])),
    request_body = SweepRequest,
    responses(
        (status = 200, description = "扫描结果", body = SweepDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权维护老年人信息", body = ErrorEnvelope),
        (status = 422, description = "区划无效、不在范围内或没有服务清单", body = ErrorEnvelope),
    )
)]
pub async fn run_sweep(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::EditElders>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<SweepRequest>,
) -> Result<Json<SweepDto>, ApiError> {
    let region = RegionCode::parse(&body.region)
        .ok()
        .filter(|r| user.scope.covers_record_in(r))
        .ok_or_else(|| Invalid::one("region", "区划代码无效或不在您的管辖范围内"))?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let started = std::time::Instant::now();
    let r = eligibility::sweep(
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
    Ok(Json(SweepDto {
        id: r.id,
        people: r.people,
        eligible_pairs: r.eligible_pairs,
        gained: r.gained,
        lost: r.lost,
        seconds: started.elapsed().as_secs_f64(),
    }))
}
