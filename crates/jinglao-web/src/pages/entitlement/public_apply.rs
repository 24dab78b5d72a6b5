//! The public self-check and application (no sign-in, 适老化): one question per page in large
//! print, answers carried from page to page in the address (nothing is stored until the last
//! step, and the back button works), then every item of the list that applies with a plain
//! answer, and an application for a registered older person, which goes to their
//! village/community like a paper one.
//!
//! Nothing personal is shown to the public: the self-check answers only what was typed in;
//! the application form says the same thing whether an ID number is unknown or the name does
//! not match it.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use jinglao_db::DbError;
use jinglao_db::applications::{self, NewApplication};
use jinglao_domain::assessment::AbilityLevel;
use jinglao_domain::elder::LivingArrangement;
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::rules::allowed_texts;
use jinglao_domain::service_list::answer_items;
use jinglao_domain::{Invalid, RegionCode, ResidentId, Scope};

use crate::api::v1::eligibility::{WhatIfFacts, what_if};
use crate::auth::public;
use crate::error::{PageError, render, render_with_status};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// What has been answered so far (from the address or the form).
#[derive(Debug, Clone, Default)]
pub struct Answers {
    county: String,
    township: String,
    village: String,
    age: String,
    cats: Vec<String>,
    cats_done: bool,
    ability: String,
    living: String,
    children_local: String,
    children_can_care: String,
    item: String,
    /// The question the page that sent these answers asked (to say so when it came back
    /// unanswered).
    asked: String,
    // The application form.
    elder_name: String,
    id_number: String,
    applicant_name: String,
    applicant_relation: String,
    reason: String,
}

impl Answers {
    fn parse(pairs: &[(String, String)]) -> Answers {
        let mut a = Answers::default();
        for (k, v) in pairs {
            let v = v.trim().to_string();
            match k.as_str() {
                "county" => a.county = v,
                "township" => a.township = v,
                "village" => a.village = v,
                "age" => a.age = v,
                "cat" if !v.is_empty() => a.cats.push(v),
                "cats_done" => a.cats_done = true,
                "ability" => a.ability = v,
                "living" => a.living = v,
                "children_local" => a.children_local = v,
                "children_can_care" => a.children_can_care = v,
                "item" => a.item = v,
                "asked" => a.asked = v,
                "elder_name" => a.elder_name = v,
                "id_number" => a.id_number = v,
                "applicant_name" => a.applicant_name = v,
                "applicant_relation" => a.applicant_relation = v,
                "reason" => a.reason = v,
                _ => {}
            }
        }
        a
    }

    /// The answers as hidden fields (name, value), for the next page's form.
    fn hidden(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (k, v) in [
            ("county", &self.county),
            ("township", &self.township),
            ("village", &self.village),
            ("age", &self.age),
            ("ability", &self.ability),
            ("living", &self.living),
            ("children_local", &self.children_local),
            ("children_can_care", &self.children_can_care),
            ("item", &self.item),
        ] {
            if !v.is_empty() {
                out.push((k, v.clone()));
            }
        }
        for c in &self.cats {
            out.push(("cat", c.clone()));
        }
        if self.cats_done {
            out.push(("cats_done", "1".into()));
        }
        out
    }

    /// The address of these answers without the last one given (the "back" link).
    fn back(&self) -> String {
        let mut a = self.clone();
        if !a.item.is_empty() {
            a.item.clear();
        } else if !a.children_can_care.is_empty() {
            a.children_can_care.clear();
        } else if !a.children_local.is_empty() {
            a.children_local.clear();
        } else if !a.living.is_empty() {
            a.living.clear();
        } else if !a.ability.is_empty() {
            a.ability.clear();
        } else if a.cats_done {
            a.cats_done = false;
            a.cats.clear();
        } else if !a.age.is_empty() {
            a.age.clear();
        } else if !a.village.is_empty() {
            a.village.clear();
        } else if !a.township.is_empty() {
            a.township.clear();
        } else {
            a.county.clear();
        }
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in a.hidden() {
            s.append_pair(k, &v);
        }
        format!("/apply?{}", s.finish())
    }
}

/// One page of the flow.
#[derive(Template)]
#[template(path = "public/apply.html")]
pub struct ApplyPage {
    ctx: PageCtx,
    errors: FormErrors,
    /// Which question: county, township, village, age, cats, ability, living, children_local,
    /// children_can_care, result, who, done.
    step: &'static str,
    hidden: Vec<(&'static str, String)>,
    back: String,
    /// Choices (value, label) for the question.
    choices: Vec<(String, String)>,
    /// Result: (code, name, eligible, plain).
    results: Vec<(String, String, bool, String)>,
    list_title: String,
    item_name: String,
    answers: Answers,
    reference: String,
    deadline: String,
}

fn yes_no() -> Vec<(String, String)> {
    vec![("yes".into(), "是".into()), ("no".into(), "否".into())]
}

fn region_choices(state: &AppState, parent: &str) -> Vec<(String, String)> {
    let Ok(code) = RegionCode::parse(parent) else {
        return Vec::new();
    };
    state
        .regions
        .tree()
        .children(&Scope::All, &code)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.code.short().to_string(), r.name.clone()))
        .collect()
}

/// The self-check's category question: (labels joined by `|`, the words shown). 特困 says
/// whether the person lives at home (分散供养) — the groups of 湘财社〔2015〕2号 are the 散居 ones.
const PUBLIC_CATEGORIES: [(&str, &str); 15] = [
    (
        "农村特困|分散供养特困",
        "农村特困（五保），住在自己家里（分散供养）",
    ),
    ("农村特困", "农村特困（五保），住在敬老院（集中供养）"),
    (
        "城市特困|分散供养特困",
        "城市特困（三无），住在自己家里（分散供养）",
    ),
    ("城市特困", "城市特困（三无），住在养老机构（集中供养）"),
    ("低保", "低保"),
    ("低保边缘", "低保边缘"),
    ("计生特殊家庭|失独", "计划生育特殊家庭：失独"),
    ("计生特殊家庭", "计划生育特殊家庭：独生子女伤残"),
    ("残疾|重度残疾", "持残疾证，一级或二级"),
    ("残疾", "持残疾证，三级或四级"),
    ("失智", "经医生诊断患有痴呆（失智）"),
    ("优抚对象", "优抚对象"),
    ("获得国家荣誉", "获得国家荣誉"),
    ("空巢", "空巢（子女不在身边）"),
    ("留守", "留守（子女外出务工）"),
];

fn facts_of(a: &Answers) -> WhatIfFacts {
    let yes = |v: &str| Some(v == "yes");
    // Each answer stands for one or more labels; only labels rules know are kept.
    let mut categories: Vec<String> = a
        .cats
        .iter()
        .flat_map(|c| c.split('|'))
        .filter(|l| allowed_texts("categories").is_some_and(|v| v.contains(l)))
        .map(String::from)
        .collect();
    categories.sort();
    categories.dedup();
    WhatIfFacts {
        age: a.age.parse().unwrap_or(0),
        categories,
        ability_level: AbilityLevel::parse(&a.ability).map(|l| l.number()),
        living: (!a.living.is_empty()).then(|| a.living.clone()),
        children_local: yes(&a.children_local),
        children_can_care: yes(&a.children_can_care),
        ..WhatIfFacts::default()
    }
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    a: Answers,
    errors: FormErrors,
) -> Result<ApplyPage, PageError> {
    let public = state.public_region();
    let city = public.short();
    let age_ok = a.age.parse::<i64>().is_ok_and(|n| (40..=130).contains(&n));
    let mut errors = errors;
    if !a.age.is_empty() && !age_ok && errors.is_empty() {
        errors.add("age", "请填写 40 到 130 之间的整数岁数");
    }
    let (step, choices): (&'static str, Vec<(String, String)>) = if a.county.is_empty() {
        ("county", region_choices(state, city))
    } else if a.township.is_empty() {
        ("township", region_choices(state, &a.county))
    } else if a.village.is_empty() {
        ("village", region_choices(state, &a.township))
    } else if !age_ok {
        ("age", Vec::new())
    } else if !a.cats_done {
        // In words a family knows; each answer is the category labels it stands for (高龄 and
        // 失能 come from the age and the level asked later).
        (
            "cats",
            PUBLIC_CATEGORIES
                .iter()
                .map(|(labels, words)| (labels.to_string(), words.to_string()))
                .collect(),
        )
    } else if a.ability.is_empty() {
        let mut v: Vec<(String, String)> = AbilityLevel::ALL
            .iter()
            .map(|l| (l.label().to_string(), l.label().to_string()))
            .collect();
        v.push(("none".into(), "还没有评估过 / 不清楚".into()));
        ("ability", v)
    } else if a.living.is_empty() {
        (
            "living",
            LivingArrangement::ALL
                .iter()
                .map(|l| (l.label().to_string(), l.label().to_string()))
                .collect(),
        )
    } else if a.children_local.is_empty() {
        ("children_local", yes_no())
    } else if a.children_can_care.is_empty() {
        ("children_can_care", yes_no())
    } else if a.item.is_empty() {
        ("result", Vec::new())
    } else {
        ("who", Vec::new())
    };
    // The same question again after "下一步": it was not answered; say so at the question.
    if a.asked == step && errors.is_empty() {
        match step {
            "county" | "township" | "village" => errors.add("answer", "请选择一项再点“下一步”"),
            "age" => errors.add("age", "请填写老人的周岁年龄，例如 75"),
            "ability" | "living" | "children_local" | "children_can_care" => {
                errors.add(step, "请选择一项再点“下一步”")
            }
            _ => {}
        }
    }
    let mut results = Vec::new();
    let (mut list_title, mut item_name) = (String::new(), String::new());
    if matches!(step, "result" | "who") {
        let region = RegionCode::parse(&a.village).unwrap_or(public);
        let mut c = state.db.acquire().await?;
        if let Some(list) = jinglao_db::service_lists::applicable(&mut c.conn(), &region).await? {
            let book = jinglao_db::policy::book(&state.db).await?;
            let advanced = book.int(PolicyKey::AdvancedAge, &list.region) as i32;
            let today = state.today();
            if let Ok(facts) = what_if(&facts_of(&a), region, today, advanced) {
                for answer in
                    answer_items(&list.items, &facts, today, state.regions.tree().as_ref())
                {
                    let it = answer.item;
                    if it.code == a.item {
                        item_name = it.display_name();
                    }
                    results.push((
                        it.code.clone(),
                        it.display_name(),
                        answer.plain.eligible,
                        answer.plain.sentence,
                    ));
                }
            }
            list_title = format!("{} 第 {} 版", list.title, list.version);
        }
    }
    Ok(ApplyPage {
        ctx: ctx.with_errors(&errors),
        errors,
        step,
        hidden: a.hidden(),
        back: a.back(),
        choices,
        results,
        list_title,
        item_name,
        answers: a,
        reference: String::new(),
        deadline: String::new(),
    })
}

fn pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `GET /apply`: the next question, the answers, or the application form.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let a = Answers::parse(&pairs(q.as_deref().unwrap_or("")));
    render(&page(&state, ctx, a, FormErrors::new()).await?)
}

/// The one answer the public gets whenever an application was not created after the person
/// was looked up: unknown number, another name, an application for the item already under
/// way, the item already granted, or the item not on the person's own list. Anything more
/// would tell a stranger what the registry holds.
const NOT_TAKEN: &str = "未能受理这份申请。请核对老人的姓名和身份证号码；如果老人还没有在村（社区）登记，\
或者已经申请过、已经享受这一项目，请联系所在村（社区）。";

/// `POST /apply`: the application of a registered older person, to their village/community.
///
/// Everything that can be checked without the registry is checked first, with errors on the
/// fields. Then the attempt is reserved (`auth::public`) and the person looked up; from there
/// the page either creates the application or gives [`NOT_TAKEN`], whatever the registry
/// holds. An application the registry's facts do not support is still taken (the village
/// checks it at 初审, seeing the rule's answer), so that "not eligible" is not an answer
/// either.
pub async fn submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    meta: RequestMeta,
    body: String,
) -> Result<Response, PageError> {
    let a = Answers::parse(&pairs(&body));
    let mut inv = Invalid::new();
    for (field, value, msg) in [
        ("elder_name", &a.elder_name, "请填写老人的姓名"),
        ("id_number", &a.id_number, "请填写老人的身份证号码"),
        ("applicant_name", &a.applicant_name, "请填写您的姓名"),
        (
            "applicant_relation",
            &a.applicant_relation,
            "请填写您与老人的关系",
        ),
    ] {
        if value.is_empty() {
            inv.add(field, msg);
        }
    }
    let id = ResidentId::parse(&a.id_number);
    if !a.id_number.is_empty() && id.is_err() {
        inv.add(
            "id_number",
            "身份证号码格式不对，请核对（18 位，最后一位可能是 X）",
        );
    }
    // The item must be one of the list shown for the place chosen (no registry fact).
    let mut p = page(&state, ctx.clone(), a.clone(), FormErrors::new()).await?;
    if p.item_name.is_empty() {
        inv.add("item", "请先在上一步选择要申请的项目");
    }
    if !inv.is_empty() {
        let p = page(&state, ctx, a, inv).await?;
        return render_with_status(&p, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let id = id.expect("checked");
    let attempt = match public::begin(&state, &meta, "apply", &id).await? {
        Ok(attempt) => attempt,
        Err(locked) => {
            let p = page(&state, ctx, a, locked.errors("id_number")).await?;
            return render_with_status(&p, StatusCode::TOO_MANY_REQUESTS);
        }
    };
    let created = create(&state, &meta, &a, &id).await?;
    let Some(aid) = created else {
        attempt.failed(&state, &meta).await?;
        let p = page(&state, ctx, a, Invalid::one("id_number", NOT_TAKEN)).await?;
        return render_with_status(&p, StatusCode::UNPROCESSABLE_ENTITY);
    };
    attempt.succeeded(&state).await?;
    let mut c = state.db.acquire().await?;
    let app = applications::get(&mut c.conn(), &Scope::All, aid).await?;
    drop(c);
    // The page built above for these answers, now saying it is done.
    p.step = "done";
    p.reference = app
        .as_ref()
        .map(crate::pages::print::receipt_of)
        .unwrap_or_else(|| reference_of(aid));
    p.deadline = app
        .and_then(|x| x.step_deadline)
        .map(|d| d.to_string())
        .unwrap_or_default();
    render(&p)
}

/// Looks the person up and submits the application: `None` when either is refused, for any
/// reason (the caller gives [`NOT_TAKEN`]).
async fn create(
    state: &AppState,
    meta: &RequestMeta,
    a: &Answers,
    id: &ResidentId,
) -> Result<Option<uuid::Uuid>, PageError> {
    let mut c = state.db.acquire().await?;
    let found =
        jinglao_db::elders::find_by_id_number(&mut c.conn(), &state.keys.cipher, id).await?;
    let record = match found {
        Some((eid, _)) => jinglao_db::elders::get(&mut c.conn(), &Scope::All, eid).await?,
        None => None,
    };
    drop(c);
    let Some(e) = record.filter(|e| e.name == a.elder_name) else {
        return Ok(None);
    };
    let actor = public::public_actor(
        &format!("public:{}", a.applicant_name),
        Some(e.residence_region),
        meta,
    );
    let book = jinglao_db::policy::book(&state.db).await?;
    let result = applications::submit(
        &state.db,
        &state.keys.audit_chain,
        &actor,
        &NewApplication {
            elder_id: e.id,
            item_code: &a.item,
            applicant_name: &a.applicant_name,
            applicant_relation: &a.applicant_relation,
            reason: &a.reason,
            note: "",
            channel: "public",
        },
        &book,
        state.clock.now(),
    )
    .await;
    match result {
        Ok(aid) => Ok(Some(aid)),
        Err(DbError::Invalid(_) | DbError::NotFound) => Ok(None),
        Err(other) => Err(crate::error::AppError::from(other).into()),
    }
}

/// The reference applicants were given before receipt numbers (受理编号 of date and digits,
/// [`jinglao_domain::application::receipt_number`]): the last ten hex digits of the
/// application's id. Still accepted by the status lookup, so no one's old slip stops working.
pub fn reference_of(id: uuid::Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 10..].to_uppercase()
}

/// The status lookup page.
#[derive(Template)]
#[template(path = "public/status.html")]
pub struct StatusPage {
    ctx: PageCtx,
    errors: FormErrors,
    reference: String,
    found: Option<applications::Application>,
}

/// `GET /apply/status`: the form (reference and ID number).
pub async fn status_form(ctx: PageCtx) -> Result<Response, PageError> {
    render(&StatusPage {
        ctx,
        errors: FormErrors::new(),
        reference: String::new(),
        found: None,
    })
}

/// `POST /apply/status`: where an application stands, with the reason given for a return or a
/// refusal. The ID number is sent in the form, never in the address; an unknown reference and
/// a wrong ID number get the same answer.
pub async fn status(
    State(state): State<AppState>,
    ctx: PageCtx,
    meta: RequestMeta,
    body: String,
) -> Result<Response, PageError> {
    let mut reference = String::new();
    let mut id_number = String::new();
    for (k, v) in pairs(&body) {
        match k.as_str() {
            "reference" => {
                reference = jinglao_domain::application::normalise_receipt(&v);
            }
            "id_number" => id_number = v.trim().to_string(),
            _ => {}
        }
    }
    let not_found = || {
        Invalid::one(
            "reference",
            "没有找到这份申请。请核对受理编号和老人的身份证号码，或联系所在村（社区）。",
        )
    };
    let mut found = None;
    if let Ok(id) = ResidentId::parse(&id_number)
        && matches!(reference.len(), 10 | 17)
    {
        let attempt = match public::begin(&state, &meta, "status", &id).await? {
            Ok(attempt) => attempt,
            Err(locked) => {
                let errors = locked.errors("reference");
                let page = StatusPage {
                    ctx: ctx.with_errors(&errors),
                    errors,
                    reference,
                    found: None,
                };
                return render_with_status(&page, StatusCode::TOO_MANY_REQUESTS);
            }
        };
        found = lookup(&state, &id, &reference).await?;
        if found.is_some() {
            attempt.succeeded(&state).await?;
        } else {
            attempt.failed(&state, &meta).await?;
        }
    }
    let errors = if found.is_none() {
        not_found()
    } else {
        FormErrors::new()
    };
    let page = StatusPage {
        ctx: ctx.with_errors(&errors),
        errors,
        reference,
        found,
    };
    if page.found.is_none() {
        return render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    render(&page)
}

/// The application with this reference of the person with this ID number.
async fn lookup(
    state: &AppState,
    id: &ResidentId,
    reference: &str,
) -> Result<Option<applications::Application>, PageError> {
    let mut c = state.db.acquire().await?;
    let Some((elder, _)) =
        jinglao_db::elders::find_by_id_number(&mut c.conn(), &state.keys.cipher, id).await?
    else {
        return Ok(None);
    };
    let filter = applications::QueueFilter {
        elder_id: Some(elder),
        statuses: jinglao_domain::application::ApplicationStatus::ALL.to_vec(),
        ..Default::default()
    };
    Ok(
        applications::queue(&mut c.conn(), &Scope::All, &filter, 200)
            .await?
            .into_iter()
            .find(|a| {
                crate::pages::print::receipt_of(a) == reference || reference_of(a.id) == reference
            }),
    )
}
