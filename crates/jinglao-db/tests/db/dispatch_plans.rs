//! Dispatch, recurring plans, satisfaction ratings and fraud signals against real databases.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use jinglao_db::dispatch::{self, DayEntry};
use jinglao_db::orders::{self, Channel, ListFilter, NewOrder};
use jinglao_db::plans::{self, NewPlan};
use jinglao_db::satisfaction::{self, By};
use jinglao_db::statements::{self, Step};
use jinglao_db::testing::TestDb;
use jinglao_db::visits::{self, Caregiver, CheckIn, CheckOut};
use jinglao_db::{Actor, DbError, elders, test_on_both, visit_signals};
use jinglao_domain::Role;
use jinglao_domain::clock::{china_date, china_offset};
use jinglao_domain::elder::{LifeEvent, LifeEventKind};
use jinglao_domain::order::Funding;
use jinglao_domain::service_plan::Weekdays;
use jinglao_domain::visit_fraud::Signal;
use uuid::Uuid;

use crate::home_services::{
    CHAIN, ITEM, World, at_home, carer_actor, count, register, staff_actor, visit, world,
};

/// `days` days from today at `h`:`m` China time.
fn at(days: i64, h: u32, m: u32) -> DateTime<Utc> {
    let day = china_date(Utc::now()) + Duration::days(days);
    china_offset()
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap()))
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// Books an unassigned order for `elder` in a window from `start` to `latest`.
async fn order(w: &World, elder: Uuid, start: DateTime<Utc>, latest: DateTime<Utc>) -> Uuid {
    orders::place(
        &w.db,
        &CHAIN,
        &staff_actor("430302001001", Role::VillageStaff),
        &NewOrder {
            elder_id: elder,
            provider_id: w.provider,
            item_code: ITEM,
            funding: Some(Funding::SelfPay),
            window_start: Some(start),
            latest_start: Some(latest),
            minutes: Some(60),
            channel: Channel::Staff,
        },
        Utc::now(),
    )
    .await
    .unwrap()
    .id
}

async fn skill_both(w: &World) {
    for c in [w.carer, w.other] {
        dispatch::set_skills(
            &w.db,
            &CHAIN,
            &w.admin,
            w.provider,
            c.staff_id,
            &[ITEM.into()],
            Utc::now(),
        )
        .await
        .unwrap();
    }
}

async fn caregiver_of(w: &World, order: Uuid) -> Option<Uuid> {
    let mut c = w.db.acquire().await.unwrap();
    orders::get(&mut c.conn(), &jinglao_domain::Scope::All, order)
        .await
        .unwrap()
        .unwrap()
        .caregiver_id
}

test_on_both! {
    async fn auto_dispatch_spreads_a_days_orders_over_skilled_caregivers_and_keeps_hand_assignments(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let day = china_date(at(2, 9, 0));
        // Nobody has the skill yet: every order is left, with the reason.
        let a = order(&w, w.elder, at(2, 9, 0), at(2, 11, 0)).await;
        let r = dispatch::auto(&w.db, &CHAIN, &w.admin, w.provider, day, Utc::now()).await.unwrap();
        assert!(r.assigned.is_empty());
        assert!(r.left[0].1.contains("技能"), "{:?}", r.left);
        skill_both(&w).await;
        let b = order(&w, w.elder, at(2, 9, 0), at(2, 11, 0)).await;
        let hand = order(&w, w.elder, at(2, 14, 0), at(2, 14, 0)).await;
        orders::assign(&w.db, &CHAIN, &w.admin, hand, w.other.staff_id, Utc::now()).await.unwrap();
        let r = dispatch::auto(&w.db, &CHAIN, &w.admin, w.provider, day, Utc::now()).await.unwrap();
        assert!(r.left.is_empty(), "{:?}", r.left);
        assert_eq!(r.assigned.len(), 2, "the hand assignment is not re-planned");
        let (ca, cb) = (caregiver_of(&w, a).await, caregiver_of(&w, b).await);
        assert!(ca.is_some() && cb.is_some() && ca != cb, "two caregivers share the 09:00 orders");
        assert_eq!(caregiver_of(&w, hand).await, Some(w.other.staff_id));
        // Running again changes nothing that matters: still both placed, the hand one kept.
        let again = dispatch::auto(&w.db, &CHAIN, &w.admin, w.provider, day, Utc::now()).await.unwrap();
        assert_eq!(again.assigned.len(), 2);
        assert_eq!(caregiver_of(&w, hand).await, Some(w.other.staff_id));
        // Another provider's administrator cannot dispatch this provider.
        let stranger = crate::home_services::provider_actor(Uuid::now_v7(), Role::ProviderAdmin);
        let err = dispatch::auto(&w.db, &CHAIN, &stranger, w.provider, day, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        // County staff dispatch providers registered in their county only.
        let other_county = staff_actor("430304", Role::CountyStaff);
        let err = dispatch::auto(&w.db, &CHAIN, &other_county, w.provider, day, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        dispatch::auto(&w.db, &CHAIN, &staff_actor("430302", Role::CountyStaff), w.provider, day, Utc::now()).await.unwrap();
    }
}

test_on_both! {
    async fn sick_leave_takes_the_caregivers_orders_and_dispatches_them_again(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        skill_both(&w).await;
        let day = china_date(at(2, 9, 0));
        let o = order(&w, w.elder, at(2, 9, 0), at(2, 9, 0)).await;
        orders::assign(&w.db, &CHAIN, &w.admin, o, w.carer.staff_id, Utc::now()).await.unwrap();
        let err = dispatch::set_day(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &w.admin, Utc::now()), w.provider, w.carer.staff_id, day, &DayEntry::Leave("  ".into())).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("reason").is_some());
        let report = dispatch::set_day(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &w.admin, Utc::now()), w.provider, w.carer.staff_id, day, &DayEntry::Leave("病假".into())).await.unwrap().unwrap();
        assert_eq!(report.assigned.len(), 1);
        assert_eq!(caregiver_of(&w, o).await, Some(w.other.staff_id));
        // With the other caregiver off too, the order is left with nobody and says why.
        let report = dispatch::set_day(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &w.admin, Utc::now()), w.provider, w.other.staff_id, day, &DayEntry::Leave("事假".into())).await.unwrap().unwrap();
        assert_eq!(report.left.len(), 1);
        assert!(report.left[0].1.contains("不在班"), "{:?}", report.left);
        assert_eq!(caregiver_of(&w, o).await, None);
        // A shift that ends before it starts is refused by name.
        let err = dispatch::set_day(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &w.admin, Utc::now()), w.provider, w.other.staff_id, day, &DayEntry::Shift(at(2, 12, 0), at(2, 8, 0))).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("ends_at").is_some());
    }
}

test_on_both! {
    async fn a_barred_caregiver_gets_no_orders_by_hand_or_by_dispatch(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        skill_both(&w).await;
        let day = china_date(at(2, 9, 0));
        // Only the bureau may bar, and only with a reason.
        let err = dispatch::bar(&w.db, &CHAIN, &w.admin, w.carer.staff_id, day, "虚假服务", Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let city = staff_actor("4303", Role::CityStaff);
        dispatch::bar(&w.db, &CHAIN, &city, w.carer.staff_id, day, "2026年虚假服务记录", Utc::now()).await.unwrap();
        let o = order(&w, w.elder, at(2, 9, 0), at(2, 9, 0)).await;
        let err = orders::assign(&w.db, &CHAIN, &w.admin, o, w.carer.staff_id, Utc::now()).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("caregiver_id").unwrap().contains("黑名单"));
        let r = dispatch::auto(&w.db, &CHAIN, &w.admin, w.provider, day, Utc::now()).await.unwrap();
        assert_eq!(r.assigned.len(), 1);
        assert_eq!(caregiver_of(&w, o).await, Some(w.other.staff_id));
    }
}

fn plan<'a>(w: &World, days: &[u32], start_on: chrono::NaiveDate) -> NewPlan<'a> {
    NewPlan {
        elder_id: w.elder,
        provider_id: w.provider,
        item_code: ITEM,
        funding: Some(Funding::Entitlement),
        weekdays: Weekdays::from_days(days),
        start_time: NaiveTime::from_hms_opt(9, 30, 0),
        minutes: Some(60),
        start_on: Some(start_on),
        end_on: None,
        channel: Channel::Staff,
    }
}

test_on_both! {
    async fn a_daily_plan_books_ahead_skips_days_beyond_the_quota_with_the_reason_and_never_books_twice(t: TestDb) {
        let w = world(t.db.clone(), 3).await;
        let village = staff_actor("430302001001", Role::VillageStaff);
        let tomorrow = china_date(Utc::now()) + Duration::days(1);
        let mut bad = plan(&w, &[], tomorrow);
        bad.start_time = None;
        let err = plans::create(&w.db, &CHAIN, &village, &bad, Utc::now()).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("weekdays").is_some() && inv.get("start_time").is_some());
        let (id, g) = plans::create(&w.db, &CHAIN, &village, &plan(&w, &[1, 2, 3, 4, 5, 6, 7], tomorrow), Utc::now())
            .await
            .unwrap();
        // 13 days from tomorrow within the 14-day horizon; 3 a month from the entitlement.
        let months: std::collections::BTreeSet<String> =
            g.booked.iter().chain(g.skipped.iter().map(|(d, _)| (*d, Uuid::nil())).collect::<Vec<_>>().iter())
                .map(|(d, _)| orders::month_of(*d)).collect();
        assert_eq!(g.booked.len() + g.skipped.len(), 13);
        assert_eq!(g.booked.len(), 3 * months.len(), "{g:?}");
        assert!(g.skipped[0].1.contains("本月额度"), "{:?}", g.skipped);
        let n = count(&w.db, "SELECT COUNT(*) FROM service_orders WHERE plan_id IS NOT NULL AND channel = 'staff'").await;
        assert_eq!(n as usize, g.booked.len(), "the plan's orders carry its channel");
        // The nightly top-up finds the plan generated to the horizon: nothing more.
        let (_, booked, _) = plans::generate_all(&w.db, &CHAIN, &village, Utc::now()).await.unwrap();
        assert_eq!(booked, 0);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM service_orders").await as usize, g.booked.len());
        // Ending the plan cancels its future orders, with the reason, and frees the quota.
        let cancelled = plans::end(&w.db, &CHAIN, &village, id, "老人入住养老机构", Utc::now()).await.unwrap();
        assert_eq!(cancelled as usize, g.booked.len());
        let n = count(&w.db, "SELECT COUNT(*) FROM service_orders WHERE status = 'booked'").await;
        assert_eq!(n, 0);
        let err = plans::end(&w.db, &CHAIN, &village, id, "再次", Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)), "{err:?}");
    }
}

test_on_both! {
    async fn a_visit_is_rated_once_after_check_out_by_its_caregivers_phone_or_a_logged_call(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let (o, code) = crate::home_services::book(&w, Funding::Entitlement, 0).await.unwrap();
        let out = visit(&w, o, 0, 60, &code).await;
        let village = staff_actor("430302001001", Role::VillageStaff);
        let bad = satisfaction::rate(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &village, Utc::now()), out.visit_id, Some(6), "", satisfaction::Channel::Phone).await.unwrap_err();
        let DbError::Invalid(inv) = bad else { panic!("{bad:?}") };
        assert!(inv.get("score").is_some());
        // Another township's staff cannot log it.
        let far = staff_actor("430304", Role::CountyStaff);
        let err = satisfaction::rate(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &far, Utc::now()), out.visit_id, Some(5), "", satisfaction::Channel::Phone).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        satisfaction::rate(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &village, Utc::now()), out.visit_id, Some(4), "准时，打扫干净", satisfaction::Channel::Phone).await.unwrap();
        let twice = satisfaction::rate(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &village, Utc::now()), out.visit_id, Some(1), "", satisfaction::Channel::Phone).await.unwrap_err();
        let DbError::Invalid(inv) = twice else { panic!("{twice:?}") };
        assert!(inv.get("visit").unwrap().contains("已经评价"));
        let mut c = w.db.acquire().await.unwrap();
        let rows = satisfaction::roll_up(&mut c.conn(), &jinglao_domain::Scope::All, By::Provider, None, 50).await.unwrap();
        assert_eq!((rows[0].count, rows[0].average()), (1, "4.0".to_string()));
        let rows = satisfaction::roll_up(&mut c.conn(), &jinglao_domain::Scope::All, By::Caregiver, None, 50).await.unwrap();
        assert_eq!(rows[0].label, "护理员1");
        drop(c);
        // A rating on the caregiver's own phone is kept apart: it does not take the person's
        // place (a second visit rated first on the phone is still open to the person), and it
        // counts half in the roll-up.
        let (o3, code3) = crate::home_services::book(&w, Funding::Entitlement, 2).await.unwrap();
        let third = visit(&w, o3, 2, 60, &code3).await;
        let me = carer_actor(&w);
        let carer_user = Actor { user_id: None, ..me };
        satisfaction::rate(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &carer_user, Utc::now()), third.visit_id, Some(5), "", satisfaction::Channel::Confirmation).await.unwrap();
        satisfaction::rate(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &village, Utc::now()), third.visit_id, Some(2), "来晚了", satisfaction::Channel::Phone).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let rows = satisfaction::roll_up(&mut c.conn(), &jinglao_domain::Scope::All, By::Provider, None, 50).await.unwrap();
        // (4 × 100 + 2 × 100 + 5 × 50) / 250 = 3.4
        assert_eq!((rows[0].count, rows[0].phone_count, rows[0].average()), (2, 1, "3.4".to_string()));
        drop(c);
        // A visit still in progress cannot be rated; its own caregiver may rate once it ends.
        let (o2, _) = crate::home_services::book(&w, Funding::Entitlement, 1).await.unwrap();
        let id = Uuid::now_v7();
        let start = w.base + Duration::hours(2);
        visits::check_in(&w.db, &CHAIN, &carer_actor(&w), w.carer,
            &CheckIn { visit_id: id, order_id: o2, stamp: at_home(start) }, start).await.unwrap();
        let err = satisfaction::rate(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &village, Utc::now()), id, Some(5), "", satisfaction::Channel::Phone).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("visit").unwrap().contains("尚未结束"));
    }
}

/// A visit by `c` for order `o` from `start`, checked in and out at home with `code`.
async fn visit_by(w: &World, c: Caregiver, o: Uuid, start: DateTime<Utc>, code: &str) -> Uuid {
    let id = Uuid::now_v7();
    let actor = carer_actor(w);
    visits::check_in(
        &w.db,
        &CHAIN,
        &actor,
        c,
        &CheckIn {
            visit_id: id,
            order_id: o,
            stamp: at_home(start),
        },
        start,
    )
    .await
    .unwrap();
    let end = start + Duration::minutes(60);
    // The code is recorded as typed, wrong or not: one try, as before retries were asked for
    // (what the signals look at is what was finally recorded).
    let one_try =
        jinglao_domain::policy::PolicyBook::new(vec![jinglao_domain::policy::PolicySetting {
            region: jinglao_domain::RegionCode::parse("4303").unwrap(),
            key: jinglao_domain::policy::PolicyKey::VisitCodeTries,
            value: "1".into(),
            basis: "测试".into(),
        }]);
    visits::check_out(
        &w.db,
        &CHAIN,
        &actor,
        c,
        &CheckOut {
            visit_id: id,
            stamp: at_home(end),
            code: Some(code.into()),
            ..Default::default()
        },
        &one_try,
        end,
    )
    .await
    .unwrap();
    id
}

test_on_both! {
    async fn inspectors_see_shared_points_simultaneous_caregivers_visits_after_death_and_reused_codes(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let admin = &w.admin;
        let mut people = vec![w.elder];
        for n in 2..=3 {
            people.push(register(&w.db, &w.tree, n).await);
        }
        // Three homes, one point, one caregiver, the same code typed at each.
        let mut ids = Vec::new();
        for (i, p) in people.iter().enumerate() {
            let start = w.base + Duration::hours(2 * i as i64);
            let o = order(&w, *p, start, start).await;
            orders::assign(&w.db, &CHAIN, admin, o, w.carer.staff_id, Utc::now()).await.unwrap();
            ids.push(visit_by(&w, w.carer, o, start, "111111").await);
        }
        // The first person served by the other caregiver at the same time as the first visit.
        let start = w.base;
        let o = order(&w, w.elder, start, start).await;
        orders::assign(&w.db, &CHAIN, admin, o, w.other.staff_id, Utc::now()).await.unwrap();
        let twin = visit_by(&w, w.other, o, start + Duration::minutes(10), "222222").await;
        // The third person's death is registered afterwards, dated the day before the visits.
        let ev = LifeEvent {
            elder_id: people[2],
            kind: LifeEventKind::Died,
            date: china_date(w.base) - Duration::days(1),
            note: "死亡证明 2026-001".into(),
        };
        elders::record_life_event(&w.db, &CHAIN, &staff_actor("430302", Role::CountyStaff), &ev, Utc::now())
            .await
            .unwrap();
        let inspector = staff_actor("4303", Role::Inspector);
        let month = orders::month_of(china_date(w.base));
        let mut c = w.db.acquire().await.unwrap();
        let signals = visit_signals::month(&mut c.conn(), &inspector, &month).await.unwrap();
        let shared = signals.iter().find_map(|s| match s { Signal::SharedCoordinates { elders, visits, .. } => Some((*elders, visits.len())), _ => None });
        assert_eq!(shared, Some((3, 4)), "{signals:?}");
        let simultaneous = signals.iter().find_map(|s| match s { Signal::SimultaneousCaregivers { visits, .. } => Some(visits.clone()), _ => None }).unwrap();
        assert!(simultaneous.contains(&ids[0]) && simultaneous.contains(&twin));
        let dead = signals.iter().find_map(|s| match s { Signal::AfterDeath { visits, .. } => Some(visits.clone()), _ => None }).unwrap();
        assert_eq!(dead, vec![ids[2]]);
        let reused = signals.iter().find_map(|s| match s { Signal::ReusedCode { code, visits } => Some((code.clone(), visits.len())), _ => None });
        assert_eq!(reused, Some(("111111".to_string(), 3)));
        // A month that is not a month is refused by name; a caregiver may not look.
        let err = visit_signals::month(&mut c.conn(), &inspector, "2026-13").await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)));
        let err = visit_signals::month(&mut c.conn(), &carer_actor(&w), &month).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)));
        // Lists of the day's orders carry names, scoped to the provider.
        let list = orders::list(&mut c.conn(), &admin.scope, &ListFilter { provider_id: Some(w.provider), ..Default::default() }, 100).await.unwrap();
        assert_eq!(list.len(), 4);
        assert!(list.iter().all(|o| o.elder_name == "王秀英"));
    }
}

test_on_both! {
    async fn a_caregiver_cannot_be_thirty_kilometres_away_ten_minutes_after_the_last_visit(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let far_person = register(&w.db, &w.tree, 2).await;
        t.tamper("UPDATE elders SET latitude = latitude + 0.3 WHERE created_at = (SELECT MAX(created_at) FROM elders)").await;
        let first = order(&w, w.elder, w.base, w.base).await;
        orders::assign(&w.db, &CHAIN, &w.admin, first, w.carer.staff_id, Utc::now()).await.unwrap();
        visit_by(&w, w.carer, first, w.base, "111111").await;
        // 10 minutes after the first ended, 33 km north.
        let start = w.base + Duration::minutes(70);
        let second = order(&w, far_person, start, start).await;
        orders::assign(&w.db, &CHAIN, &w.admin, second, w.carer.staff_id, Utc::now()).await.unwrap();
        let far = |at| visits::StampInput { device_at: Some(at), lat: Some(crate::home_services::HOME.0 + 0.3), lon: Some(crate::home_services::HOME.1), offline: false };
        let id = Uuid::now_v7();
        visits::check_in(&w.db, &CHAIN, &carer_actor(&w), w.carer, &CheckIn { visit_id: id, order_id: second, stamp: far(start) }, start).await.unwrap();
        let end = start + Duration::minutes(60);
        let out = visits::check_out(&w.db, &CHAIN, &carer_actor(&w), w.carer,
            &CheckOut { visit_id: id, stamp: far(end), code: None, ..Default::default() }, &w.book, end).await.unwrap();
        let codes: Vec<&str> = out.findings.iter().map(|f| f.code.as_str()).collect();
        assert!(codes.contains(&"impossible_travel"), "{codes:?}");
        assert!(!codes.contains(&"overlap"), "{codes:?}");
    }
}

test_on_both! {
    async fn a_paid_visit_revoked_later_is_taken_back_by_one_negative_line_on_the_next_statement(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let (order, code) = crate::home_services::book(&w, Funding::Entitlement, 0).await.unwrap();
        let visit_id = visit(&w, order, 0, 60, &code).await.visit_id;
        let month = orders::month_of(china_date(w.base));
        let finance = staff_actor("430302", jinglao_domain::Role::Finance);
        let now = crate::home_services::next_month(&w, 1);
        let first = statements::run(&w.db, &CHAIN, &finance, w.provider, &month, Funding::Entitlement, now).await.unwrap();
        assert_eq!((first.added, first.statement.total_fen), (1, 4_000));
        statements::advance(&w.db, &CHAIN, &w.admin, first.statement.id, &Step::Confirm, now).await.unwrap();
        statements::advance(&w.db, &CHAIN, &finance, first.statement.id, &Step::Approve, now).await.unwrap();
        let treasurer = staff_actor("430302", Role::Finance);
        crate::purchase::pay(&w.db, &treasurer, &[first.statement.id], now).await;
        // Revoking needs the right role and a reason; only a passed visit can be revoked.
        let township = staff_actor("430302001", Role::TownshipStaff);
        let err = visits::revoke(&w.db, &CHAIN, &carer_actor(&w), visit_id, "x", now).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let err = visits::revoke(&w.db, &CHAIN, &township, visit_id, " ", now).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)), "{err:?}");
        visits::revoke(&w.db, &CHAIN, &township, visit_id, "2026-JC-017 抽查：老人当天住院", now).await.unwrap();
        let err = visits::revoke(&w.db, &CHAIN, &township, visit_id, "再次", now).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)), "{err:?}");
        // The paid statement is untouched; the next month's takes the visit back, once.
        let next_month = orders::month_of(china_date(now));
        let later = crate::home_services::next_month(&w, 2);
        let second = statements::run(&w.db, &CHAIN, &finance, w.provider, &next_month, Funding::Entitlement, later).await.unwrap();
        assert_eq!((second.reversed, second.statement.total_fen), (1, -4_000), "{second:?}");
        let again = statements::run(&w.db, &CHAIN, &finance, w.provider, &next_month, Funding::Entitlement, later).await.unwrap();
        assert_eq!(again.reversed, 0);
        let mut c = w.db.acquire().await.unwrap();
        let paid = statements::get(&mut c.conn(), &jinglao_domain::Scope::All, first.statement.id).await.unwrap().unwrap();
        assert_eq!((paid.total_fen, paid.status.as_str()), (4_000, "paid"));
        drop(c);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM statement_lines WHERE kind = 'reversal' AND amount_fen = -4000").await, 1);
        // A month that only takes money back is never sent to the treasury as a payment.
        statements::advance(&w.db, &CHAIN, &w.admin, second.statement.id, &Step::Confirm, later).await.unwrap();
        statements::advance(&w.db, &CHAIN, &finance, second.statement.id, &Step::Approve, later).await.unwrap();
        let err = jinglao_db::purchase::payments::create(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &treasurer, later), &[second.statement.id]).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("statement_ids").is_some_and(|m| m.contains("冲减 40.00 元"))), "{err:?}");
    }
}
