//! Last month, as the demo remembers it: so that the pages a township reviewer, an inspector
//! and the finance office open first are not empty on a fresh start.
//!
//! The demo provider's caregivers (孙梅 and two colleagues hired here) visited a dozen people
//! of 雨湖区 twice a working day. Every visit goes through the real paths — an order placed the
//! evening before and dispatched, check-in and check-out stamped at the person's home and
//! verified by the region's rules — with the clock set to the time of each step. About one
//! visit in twelve fails verification for an ordinary reason (a mistyped code, a visit cut
//! short, a check-in from the road), and in the month's last three working days one caregiver
//! stamped every visit from the same spot (her own home) with codes asked for by phone: the shared-point
//! pattern the inspectors' signals look for. The month is then settled into draft statements,
//! and the demo provider's seven purchase conditions are recorded as checked and met.
//!
//! The history is written by the system account (the audit log says so). It runs once: a
//! month that already has the demo caregiver's visits is left alone.

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use jinglao_db::visits::{CheckIn, CheckOut, StampInput};
use jinglao_db::{Actor, Db, entitlements, orders, providers, visits};
use jinglao_domain::clock::{china_date, china_time};
use jinglao_domain::order::Funding;
use jinglao_domain::supply::provider::Condition;
use jinglao_domain::{RegionCode, ResidentId, Role, Scope};
use uuid::Uuid;

use crate::demo::{DEMO_PROVIDER_CREDIT_CODE, demo_username};
use jinglao_web::Keys;

/// The item visited (助餐/居家照料 of the demo list) and its minimum minutes by contract.
const ITEM: &str = "XT-JJ-01";

/// What the history made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// Visits made last month.
    pub visits: usize,
    /// Of which sent to the exception queue.
    pub exceptions: usize,
    /// Statements drafted.
    pub statements: usize,
}

/// The colleagues hired for the history: name and the first 17 digits of a made-up ID.
const COLLEAGUES: [(&str, &str); 2] =
    [("王丽", "43030219780315022"), ("刘敏", "43030219800921042")];

/// The first day of the month before `today`'s.
fn last_month(today: NaiveDate) -> NaiveDate {
    let first = today.with_day(1).expect("day 1");
    (first - Duration::days(1)).with_day(1).expect("day 1")
}

/// Writes last month's history (see the module documentation); returns what it made, or the
/// default when the month already has it.
pub async fn seed_last_month(db: &Db, keys: &Keys, now: DateTime<Utc>) -> anyhow::Result<History> {
    let chain = &keys.audit_chain;
    let actor = Actor::system();
    let today = china_date(now);
    let first = last_month(today);
    let month = format!("{:04}-{:02}", first.year(), first.month());
    let mut c = db.acquire().await?;
    let provider = providers::by_credit_code(&mut c.conn(), DEMO_PROVIDER_CREDIT_CODE)
        .await?
        .context("the demo provider is seeded first")?;
    let username = jinglao_domain::Username::parse(&demo_username(Role::Caregiver))?;
    let account = jinglao_db::users::by_username(&mut c.conn(), &Scope::All, &username)
        .await?
        .context("the demo caregiver is seeded first")?;
    let sun_mei = visits::caregiver_of(&mut c.conn(), account.id)
        .await?
        .context("the demo caregiver's round is seeded first")?;
    let days: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .collect();
    let Some(&day_one) = days.first() else {
        return Ok(History::default());
    };
    if !orders::assigned_on(&mut c.conn(), sun_mei.staff_id, day_one)
        .await?
        .is_empty()
    {
        return Ok(History::default());
    }
    let list = jinglao_db::service_lists::latest(&mut c.conn(), &RegionCode::parse("4303")?)
        .await?
        .context("the demo service list is seeded first")?;
    // Neighbours of the demo township (雨湖路街道, whose worker reviews the exceptions) first,
    // then of the rest of the county.
    let mut people =
        orders::people_with_position(&mut c.conn(), &RegionCode::parse("430302001")?, today, 12)
            .await?;
    for id in orders::people_with_position(&mut c.conn(), &RegionCode::parse("430302")?, today, 24)
        .await?
    {
        if people.len() < 12 && !people.contains(&id) {
            people.push(id);
        }
    }
    let mut homes = Vec::new();
    for id in people {
        if let Some(e) = jinglao_db::elders::get(&mut c.conn(), &Scope::All, id).await?
            && let Some((lon, lat)) = e.location
        {
            homes.push((id, lat, lon));
        }
    }
    drop(c);
    anyhow::ensure!(
        homes.len() >= 6,
        "the demo population has people with a home position"
    );
    qualify(db, keys, provider.id, today, now).await?;
    let mut carers = vec![sun_mei];
    for (name, id17) in COLLEAGUES {
        carers.push(hire(db, keys, provider.id, name, id17, now).await?);
    }
    let first_start = china_time(first, NaiveTime::from_hms_opt(0, 0, 0).context("midnight")?);
    for &(person, ..) in &homes {
        enrol(db, keys, person, list.id, first_start).await?;
    }
    let book = jinglao_db::policy::book(db).await?;
    let mut made = History::default();
    let last_days = days.len().saturating_sub(3);
    for (d, &day) in days.iter().enumerate() {
        for (k, carer) in carers.iter().enumerate() {
            for (slot, (h, m)) in [(9, 0), (14, 30)].into_iter().enumerate() {
                let n = made.visits;
                // Caregiver k looks after four neighbours, two a day in turn.
                let (person, lat, lon) = homes[(k * 4 + (d * 2 + slot) % 4) % homes.len()];
                let start = china_time(day, NaiveTime::from_hms_opt(h, m, 0).context("a time")?);
                let evening = start - Duration::hours(15);
                let placed = place(db, keys, provider.id, person, start, evening).await?;
                orders::assign(db, chain, &actor, placed.id, carer.staff_id, evening).await?;
                // The ordinary slips, and 刘敏's last week stamped from her own home.
                let from_home_of_carer = k == 2 && d >= last_days;
                let (in_lat, in_lon) = if from_home_of_carer {
                    (27.8702, 112.8805)
                } else if n % 43 == 7 {
                    (lat + 0.03, lon)
                } else {
                    (lat + 0.0001, lon - 0.0001)
                };
                let minutes = if n % 41 == 3 {
                    20
                } else {
                    55 + (n % 4) as i64 * 5
                };
                let code = if n % 37 == 5 {
                    mistype(&placed.confirm_code)
                } else {
                    placed.confirm_code.clone()
                };
                let t_in = start + Duration::minutes((n % 7) as i64);
                let visit_id = Uuid::now_v7();
                let stamp = |at: DateTime<Utc>| StampInput {
                    device_at: Some(at),
                    lat: Some(in_lat),
                    lon: Some(in_lon),
                    offline: false,
                };
                let ci = CheckIn {
                    visit_id,
                    order_id: placed.id,
                    stamp: stamp(t_in),
                };
                visits::check_in(db, chain, &actor, *carer, &ci, t_in).await?;
                let t_out = t_in + Duration::minutes(minutes);
                // A mistyped code is asked again; this caregiver keeps mistyping until her
                // tries run out and the visit goes to review.
                let mut code = code;
                let outcome = loop {
                    let co = CheckOut {
                        visit_id,
                        stamp: stamp(t_out),
                        code: Some(code.clone()),
                        ..Default::default()
                    };
                    match visits::check_out(db, chain, &actor, *carer, &co, &book, t_out).await {
                        Err(jinglao_db::DbError::Invalid(e)) if e.get("code").is_some() => {
                            code = mistype(&code);
                        }
                        other => break other?,
                    }
                };
                made.visits += 1;
                if outcome.status == "exception" {
                    made.exceptions += 1;
                }
            }
        }
    }
    for funding in [Funding::Entitlement, Funding::SelfPay] {
        let report =
            jinglao_db::statements::run(db, chain, &actor, provider.id, &month, funding, now).await;
        match report {
            Ok(_) => made.statements += 1,
            // A funding with no visits in the month has nothing to settle.
            Err(jinglao_db::DbError::Invalid(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(made)
}

/// A code with its last digit changed: what a hurried caregiver types.
fn mistype(code: &str) -> String {
    let mut digits: Vec<char> = code.chars().collect();
    if let Some(last) = digits.last_mut() {
        *last = if *last == '9' {
            '0'
        } else {
            char::from(*last as u8 + 1)
        };
    }
    digits.into_iter().collect()
}

/// An order for `start`, placed `placed_at`: paid by the entitlement while the month's quota
/// lasts, then self-paid (as a family would).
pub(crate) async fn place(
    db: &Db,
    keys: &Keys,
    provider: Uuid,
    person: Uuid,
    start: DateTime<Utc>,
    placed_at: DateTime<Utc>,
) -> anyhow::Result<orders::Placed> {
    let actor = Actor::system();
    let mut order = orders::NewOrder {
        elder_id: person,
        provider_id: provider,
        item_code: ITEM,
        funding: Some(Funding::Entitlement),
        window_start: Some(start),
        latest_start: None,
        minutes: Some(60),
        channel: orders::Channel::Phone,
    };
    match orders::place(db, &keys.audit_chain, &actor, &order, placed_at).await {
        Ok(p) => Ok(p),
        Err(jinglao_db::DbError::Invalid(_)) => {
            order.funding = Some(Funding::SelfPay);
            Ok(orders::place(db, &keys.audit_chain, &actor, &order, placed_at).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Enrols the person in the item from the start of the history, unless already enrolled.
pub(crate) async fn enrol(
    db: &Db,
    keys: &Keys,
    person: Uuid,
    list: Uuid,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let on = china_date(at);
    let enrolled = {
        let mut c = db.acquire().await?;
        entitlements::active_codes(&mut c.conn(), person, on).await?
    };
    if enrolled.iter().any(|code| code == ITEM) {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let e = entitlements::NewEntitlement {
        elder_id: person,
        item_code: ITEM,
        list_id: list,
        application_id: None,
        start: NaiveDate::from_ymd_opt(2024, 1, 1).context("a date")?,
    };
    entitlements::enrol(&mut tx.conn(), &keys.audit_chain, &Actor::system(), &e, at).await?;
    tx.commit().await?;
    Ok(())
}

/// Hires a caregiver of the demo provider who may be sent for the item.
async fn hire(
    db: &Db,
    keys: &Keys,
    provider: Uuid,
    name: &str,
    id17: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<visits::Caregiver> {
    let actor = Actor::system();
    let draft = jinglao_db::staff::HireDraft {
        name: name.into(),
        id_number: ResidentId::from_first17(id17).as_str().to_string(),
        role: "养老护理员".into(),
        vocational_level: "五级/初级工".into(),
        certificate_no: format!("HN-YL-2024-{}", &id17[10..14]),
        start_on: "2024-03-01".into(),
        full_time: true,
        ..Default::default()
    };
    let staff_id = jinglao_db::staff::hire(
        db,
        &keys.audit_chain,
        &keys.cipher,
        &actor,
        provider,
        &draft.parse().map_err(jinglao_db::DbError::Invalid)?,
        now,
    )
    .await?;
    let skills = [ITEM.to_string()];
    jinglao_db::dispatch::set_skills(
        db,
        &keys.audit_chain,
        &actor,
        provider,
        staff_id,
        &skills,
        now,
    )
    .await?;
    Ok(visits::Caregiver {
        staff_id,
        provider_id: provider,
    })
}

/// Records the seven purchase conditions (湘财社〔2015〕2号) as checked and met two months ago,
/// so the provider doing government-paid visits is shown as qualified.
async fn qualify(
    db: &Db,
    keys: &Keys,
    provider: Uuid,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let checked = today - Duration::days(60);
    for c in Condition::ALL {
        let f = providers::NewFinding {
            condition: c.as_str(),
            met: true,
            checked_on: Some(checked),
            expires_on: Some(checked + Duration::days(365)),
            evidence: "雨湖区民政局现场核查记录（演示）",
        };
        providers::record_finding(db, &keys.audit_chain, &Actor::system(), provider, &f, now)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_is_the_month_before_this_one_even_in_january() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(last_month(d("2026-12-07")), d("2026-11-01"));
        assert_eq!(last_month(d("2027-01-31")), d("2026-12-01"));
    }

    #[test]
    fn a_mistyped_code_differs_in_its_last_digit_only() {
        assert_eq!(mistype("123459"), "123450");
        assert_eq!(mistype("000001"), "000002");
    }
}
