//! Home services on the public pages (居家服务自助预约与评价), for older people and their
//! families without an account, in large print: name the person by ID number and a phone
//! number on record (their own or an emergency contact's), then see the coming visits with
//! the confirmation code to give the caregiver, book a visit from the services offered under
//! the person's service list, cancel a coming one with a reason, and rate recent visits.
//!
//! Nothing is kept between pages: every form carries the two numbers again and every action
//! identifies the person again. A wrong pair says the same thing whether the ID number is
//! unknown or the phone is not on record, and counts against the client's address (the login
//! lock-out figures, on a key of its own), so the page cannot be used to find out who is registered.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate, NaiveTime};
use jinglao_db::elders::{self, Identified};
use jinglao_db::orders::{self, Channel, ListFilter, NewOrder};
use jinglao_db::{Actor, DbError, satisfaction, service_lists};
use jinglao_domain::clock::{china_date, china_time, format_local_hm as hhmm};
use jinglao_domain::order::Funding;
use jinglao_domain::order::{PUBLIC_BOOKING_DAYS, public_booking_day};
use jinglao_domain::settlement::yuan;
use jinglao_domain::{Invalid, Phone, ResidentId, Scope};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::public;
use crate::error::{PageError, render, render_with_status};
use crate::pages::orders::status_label;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Every form of these pages (the two numbers travel with each).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServicesForm {
    id_number: String,
    phone: String,
    // Booking.
    offer: String,
    funding: String,
    day: String,
    start: String,
    latest: String,
    // Cancelling.
    order: String,
    reason: String,
    // Rating.
    visit: String,
    score: String,
    comment: String,
    // How to be told.
    notify_by: String,
}

/// One coming or recent visit.
pub struct VisitRow {
    when: String,
    item: String,
    provider: String,
    status: &'static str,
    /// The confirmation code, for a visit still to come.
    code: Option<String>,
    /// A finished visit not yet rated: its id for the rating form.
    to_rate: Option<Uuid>,
    /// A booked visit still to come: its order id for the cancel form.
    to_cancel: Option<Uuid>,
    score: Option<i32>,
}

/// `GET|POST /services`.
#[derive(Template)]
#[template(path = "public/services.html")]
pub struct ServicesPage {
    ctx: PageCtx,
    errors: FormErrors,
    form: ServicesForm,
    /// The person, once named: the masked name.
    person: Option<String>,
    visits: Vec<VisitRow>,
    offers: Vec<(String, String)>,
    /// What was just done, in words.
    done: Option<String>,
    /// How the family is told things now (`phone`, `sms`), once the person is named.
    notify_by: String,
    /// The choices.
    channels: &'static [(&'static str, &'static str)],
}

/// 王秀英 → 王*英; 李明 → 李*.
fn masked(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 | 1 => name.to_string(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

fn not_named() -> Invalid {
    Invalid::one(
        "id_number",
        "身份证号码和联系电话对不上登记信息。请核对后再试，或联系所在村（社区）。",
    )
}

/// Names the person from the form. The attempt is reserved against the client's address and
/// the number typed before the registry is asked (`auth::public`), and a wrong pair counts.
async fn identify(
    state: &AppState,
    meta: &RequestMeta,
    form: &ServicesForm,
) -> Result<Identified, Refusal> {
    let mut inv = Invalid::new();
    let id = ResidentId::parse(form.id_number.trim());
    if id.is_err() {
        inv.add("id_number", "请填写老人的 18 位身份证号码");
    }
    let phone = Phone::parse(form.phone.trim());
    if phone.is_err() {
        inv.add("phone", "请填写登记过的手机号码或固定电话");
    }
    let (Ok(id), Ok(phone)) = (id, phone) else {
        return Err(inv.into());
    };
    let attempt = match public::begin(state, meta, "services", &id).await? {
        Ok(a) => a,
        Err(locked) => return Err(Refusal::Locked(locked)),
    };
    let found = {
        let mut c = state.db.acquire().await?;
        elders::identify(&mut c.conn(), &state.keys.cipher, &id, &phone).await?
    };
    match found {
        Some(person) => {
            attempt.succeeded(state).await?;
            Ok(person)
        }
        None => {
            attempt.failed(state, meta).await?;
            Err(not_named().into())
        }
    }
}

/// Why a public action was not taken.
enum Refusal {
    /// A field is wrong, or the one answer for "not named".
    Db(DbError),
    /// Too many failed attempts from this network or for this number.
    Locked(public::Locked),
}

impl From<DbError> for Refusal {
    fn from(e: DbError) -> Self {
        Refusal::Db(e)
    }
}

impl From<Invalid> for Refusal {
    fn from(e: Invalid) -> Self {
        Refusal::Db(e.into())
    }
}

/// The actor of an action taken on these pages.
fn public_actor(person: &Identified, meta: &RequestMeta) -> Actor {
    public::public_actor("public:居家服务页", Some(person.residence), meta)
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    form: ServicesForm,
    person: Option<&Identified>,
    errors: FormErrors,
    done: Option<String>,
) -> Result<ServicesPage, PageError> {
    let (mut visits, mut offers) = (Vec::new(), Vec::new());
    let mut notify_by = String::new();
    if let Some(p) = person {
        notify_by = {
            let mut c = state.db.acquire().await?;
            jinglao_db::sms::preference(&mut c.conn(), p.id).await?
        };
        let today = china_date(state.clock.now());
        let mut c = state.db.acquire().await?;
        let mut conn = c.conn();
        let names: Vec<(String, String)> = service_lists::applicable(&mut conn, &p.residence)
            .await?
            .map(|l| {
                l.items
                    .iter()
                    .map(|i| (i.code.clone(), i.display_name()))
                    .collect()
            })
            .unwrap_or_default();
        let name_of = |code: &str| {
            names
                .iter()
                .find(|(c, _)| c == code)
                .map_or_else(|| code.to_string(), |(_, n)| n.clone())
        };
        let filter = ListFilter {
            elder_id: Some(p.id),
            days: Some((
                today - Duration::days(30),
                today + Duration::days(PUBLIC_BOOKING_DAYS),
            )),
            ..Default::default()
        };
        let listed = orders::list(&mut conn, &Scope::All, &filter, 1000).await?;
        let codes = orders::codes_to_give(&mut conn, p.id, today).await?;
        let now = state.clock.now();
        for o in listed {
            let day = china_date(o.window_start);
            let rateable = o.status == "done" && o.score.is_none();
            visits.push(VisitRow {
                when: format!("{day} {}–{}", hhmm(o.window_start), hhmm(o.window_end)),
                item: name_of(&o.item_code),
                provider: o.provider_name.clone(),
                status: status_label(&o.status),
                code: codes
                    .iter()
                    .find(|(id, _)| *id == o.id)
                    .map(|(_, c)| c.clone()),
                to_rate: o.visit_id.filter(|_| rateable),
                to_cancel: (o.status == "booked" && o.visit_id.is_none() && o.window_start > now)
                    .then_some(o.id),
                score: o.score,
            });
        }
        offers = orders::offers(&mut conn, &Scope::All, today)
            .await?
            .into_iter()
            .filter(|(_, _, item, _)| names.iter().any(|(c, _)| c == item))
            .map(|(pid, provider, item, fen)| {
                let label = format!("{} — {provider}（{} 元/次）", name_of(&item), yuan(fen));
                (format!("{pid}|{item}"), label)
            })
            .collect();
    }
    Ok(ServicesPage {
        ctx: ctx.with_errors(&errors),
        errors,
        form,
        person: person.map(|p| masked(&p.name)),
        visits,
        offers,
        done,
        notify_by,
        channels: &jinglao_db::sms::CHANNELS,
    })
}

/// `POST /services/notify-by`: the family chooses a phone call or text messages for
/// confirmation codes, booking changes and application results.
pub async fn notify_by(
    State(state): State<AppState>,
    ctx: PageCtx,
    meta: RequestMeta,
    Form(form): Form<ServicesForm>,
) -> Result<Response, PageError> {
    let person = match identify(&state, &meta, &form).await {
        Ok(p) => p,
        Err(e) => return refused(&state, ctx, form, None, e).await,
    };
    let actor = public_actor(&person, &meta);
    let result = jinglao_db::sms::set_preference(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &actor,
            state.clock.now(),
        ),
        &Scope::All,
        person.id,
        form.notify_by.trim(),
    )
    .await
    .map(|()| {
        if form.notify_by.trim() == "sms" {
            "以后会用短信把确认码、预约变动和申请结果发到登记的电话。".to_string()
        } else {
            "以后由村（社区）或服务机构打电话告知，不再发短信。".to_string()
        }
    });
    answer(&state, ctx, form, &person, result).await
}

async fn refused(
    state: &AppState,
    ctx: PageCtx,
    form: ServicesForm,
    person: Option<&Identified>,
    e: impl Into<Refusal>,
) -> Result<Response, PageError> {
    match e.into() {
        Refusal::Db(DbError::Invalid(errors)) => {
            let page = page(state, ctx, form, person, errors, None).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Refusal::Locked(locked) => {
            let page = page(state, ctx, form, person, locked.errors("id_number"), None).await?;
            render_with_status(&page, StatusCode::TOO_MANY_REQUESTS)
        }
        Refusal::Db(e) => Err(crate::error::AppError::from(e).into()),
    }
}

/// The page after an action on the person's behalf: what was done, or why not.
async fn answer(
    state: &AppState,
    ctx: PageCtx,
    form: ServicesForm,
    person: &Identified,
    result: Result<String, DbError>,
) -> Result<Response, PageError> {
    match result {
        Ok(done) => {
            let page = page(
                state,
                ctx,
                form,
                Some(person),
                FormErrors::new(),
                Some(done),
            );
            render(&page.await?)
        }
        Err(e) => refused(state, ctx, form, Some(person), e).await,
    }
}

/// `GET /services`: the form naming the person.
pub async fn show(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, PageError> {
    let form = ServicesForm::default();
    render(&page(&state, ctx, form, None, FormErrors::new(), None).await?)
}

/// `POST /services`: the person's visits, booking and rating.
pub async fn lookup(
    State(state): State<AppState>,
    ctx: PageCtx,
    meta: RequestMeta,
    Form(form): Form<ServicesForm>,
) -> Result<Response, PageError> {
    match identify(&state, &meta, &form).await {
        Ok(p) => render(&page(&state, ctx, form, Some(&p), FormErrors::new(), None).await?),
        Err(e) => refused(&state, ctx, form, None, e).await,
    }
}

fn time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

/// `POST /services/book`: one visit, on the person's quota or paid by themselves.
pub async fn book(
    State(state): State<AppState>,
    ctx: PageCtx,
    meta: RequestMeta,
    Form(form): Form<ServicesForm>,
) -> Result<Response, PageError> {
    let person = match identify(&state, &meta, &form).await {
        Ok(p) => p,
        Err(e) => return refused(&state, ctx, form, None, e).await,
    };
    let now = state.clock.now();
    let mut inv = Invalid::new();
    let (provider, item) = match form.offer.split_once('|') {
        Some((p, i)) => (Uuid::parse_str(p).ok(), i.to_string()),
        None => (None, String::new()),
    };
    if provider.is_none() || item.is_empty() {
        inv.add("offer", "请选择要预约的服务");
    }
    let day = NaiveDate::parse_from_str(form.day.trim(), "%Y-%m-%d").ok();
    match day {
        None => inv.add("day", "请选择服务日期"),
        Some(d) => {
            if let Err(why) = public_booking_day(d, china_date(now)) {
                inv.add("day", why);
            }
        }
    }
    let start = day.zip(time(&form.start)).map(|(d, t)| china_time(d, t));
    if day.is_some() && start.is_none() {
        inv.add("start", "请选择上门时间");
    }
    let latest = day.zip(time(&form.latest)).map(|(d, t)| china_time(d, t));
    let funding = match form.funding.as_str() {
        "self_pay" => Funding::SelfPay,
        _ => Funding::Entitlement,
    };
    if !inv.is_empty() {
        return refused(&state, ctx, form, Some(&person), inv).await;
    }
    // The visit lasts the contract's minimum for the item (an hour where none is set).
    let minutes = match (provider, day) {
        (Some(p), Some(d)) => {
            let mut c = state.db.acquire().await?;
            orders::price_on(&mut c.conn(), p, &item, d)
                .await?
                .map(|(_, min, _)| i64::from(min))
                .filter(|m| *m > 0)
        }
        _ => None,
    };
    let o = NewOrder {
        elder_id: person.id,
        provider_id: provider.unwrap_or_default(),
        item_code: &item,
        funding: Some(funding),
        window_start: start,
        latest_start: latest,
        minutes: Some(minutes.unwrap_or(60)),
        channel: Channel::Public,
    };
    let actor = public_actor(&person, &meta);
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let result = orders::place(db, key, &actor, &o, now).await.map(|placed| {
        format!(
            "已预约。确认码 {}：服务结束时请告诉服务人员。服务机构会安排人员上门。",
            placed.confirm_code
        )
    });
    answer(&state, ctx, form, &person, result).await
}

/// `POST /services/cancel`: cancels one of the person's visits still to come, with a reason
/// (frees the quota; the provider sees it on its board).
pub async fn cancel(
    State(state): State<AppState>,
    ctx: PageCtx,
    meta: RequestMeta,
    Form(form): Form<ServicesForm>,
) -> Result<Response, PageError> {
    let person = match identify(&state, &meta, &form).await {
        Ok(p) => p,
        Err(e) => return refused(&state, ctx, form, None, e).await,
    };
    let not_theirs = || Invalid::one("order", "没有找到这次服务");
    let Ok(order) = Uuid::parse_str(form.order.trim()) else {
        return refused(&state, ctx, form, Some(&person), not_theirs()).await;
    };
    let mut c = state.db.acquire().await?;
    let found = orders::get(&mut c.conn(), &Scope::All, order).await?;
    drop(c);
    if found.is_none_or(|o| o.elder_id != person.id) {
        return refused(&state, ctx, form, Some(&person), not_theirs()).await;
    }
    let actor = public_actor(&person, &meta);
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let how = orders::Ending::Cancelled;
    let result = orders::end(db, key, &actor, order, how, &form.reason, state.clock.now()).await;
    let result = result.map(|()| "已取消这次服务。".to_string());
    answer(&state, ctx, form, &person, result).await
}

/// `POST /services/rate`: a rating of one of the person's finished visits.
pub async fn rate(
    State(state): State<AppState>,
    ctx: PageCtx,
    meta: RequestMeta,
    Form(form): Form<ServicesForm>,
) -> Result<Response, PageError> {
    let person = match identify(&state, &meta, &form).await {
        Ok(p) => p,
        Err(e) => return refused(&state, ctx, form, None, e).await,
    };
    let Ok(visit) = Uuid::parse_str(form.visit.trim()) else {
        let e = Invalid::one("visit", "请选择要评价的服务");
        return refused(&state, ctx, form, Some(&person), e).await;
    };
    let actor = public_actor(&person, &meta);
    let channel = satisfaction::Channel::Public {
        elder_id: person.id,
    };
    let score = form.score.trim().parse().ok();
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let now = state.clock.now();
    let result = satisfaction::rate(
        &jinglao_db::WriteCtx::new(db, key, &actor, now),
        visit,
        score,
        &form.comment,
        channel,
    )
    .await
    .map(|()| "谢谢您的评价。".to_string())
    // Someone else's visit reads as unknown.
    .map_err(|e| match e {
        DbError::NotFound => Invalid::one("visit", "没有找到这次服务").into(),
        e => e,
    });
    answer(&state, ctx, form, &person, result).await
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn names_are_masked_but_the_first_and_last_characters() {
        assert_eq!(masked("王秀英"), "王*英");
        assert_eq!(masked("李明"), "李*");
        assert_eq!(masked("欧阳春花"), "欧**花");
    }
}
