//! Home services against real databases: quota enforcement, check-in and check-out (idempotent
//! retries, someone else's order, check-out before check-in), verification findings and the
//! exception queue, offline late sync, corrections, and settlement (a visit charged once even
//! when two runs race, adjustments after approval, the statement's steps and who may take them).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinglao_db::audit::ChainKey;
use jinglao_db::crypto::FieldCipher;
use jinglao_db::elders::{self, Secrets};
use jinglao_db::entitlements::{self, NewEntitlement};
use jinglao_db::orders::{self, Channel, Ending, NewOrder, month_of};
use jinglao_db::prices::{self, NewPrice};
use jinglao_db::providers::{self, NewProvider};
use jinglao_db::staff::{self, HireDraft as Hire};
use jinglao_db::statements::{self, Step};
use jinglao_db::testing::{TestDb, seed_regions};
use jinglao_db::visits::{
    self, Caregiver, CheckIn, CheckOut, Corrected, Correction, Decision, StampInput,
};
use jinglao_db::{Actor, Db, DbError, on_conn, service_lists, test_on_both, visit_signals};
use jinglao_domain::clock::china_date;
use jinglao_domain::elder::{ElderDraft, ValidationContext};
use jinglao_domain::order::Funding;
use jinglao_domain::policy::{PolicyBook, PolicyKey, PolicySetting};
use jinglao_domain::rules::Rule;
use jinglao_domain::service_list::{Payer, Quota, ServiceCategory, ServiceItem};
use jinglao_domain::settlement::{PayableVisit, statement};
use jinglao_domain::visit::CorrectionReason;
use jinglao_domain::visit_fraud::{Party, Signal};
use jinglao_domain::{RegionCode, RegionTree, ResidentId, Role, Scope};
use uuid::Uuid;

pub(crate) const CHAIN: ChainKey = ChainKey([6; 32]);
pub(crate) const ITEM: &str = "XT-ZJ-01";
pub(crate) const HOME: (f64, f64) = (27.8292, 112.9440);

pub(crate) fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

pub(crate) fn staff_actor(region: &str, role: Role) -> Actor {
    Actor::user(
        Uuid::now_v7(),
        role.as_str(),
        role,
        Scope::Region(code(region)),
        code(region),
    )
}

pub(crate) fn provider_actor(provider_id: Uuid, role: Role) -> Actor {
    let scope = Scope::Provider {
        provider_id,
        region: code("430302"),
    };
    Actor::user(Uuid::now_v7(), role.as_str(), role, scope, code("430302"))
}

/// One provider with a contract price, two caregivers, and one person enrolled in the item.
pub(crate) struct World {
    pub(crate) db: Db,
    pub(crate) provider: Uuid,
    pub(crate) elder: Uuid,
    pub(crate) carer: Caregiver,
    pub(crate) other: Caregiver,
    pub(crate) admin: Actor,
    pub(crate) book: PolicyBook,
    pub(crate) tree: RegionTree,
    /// A time today or later at which orders start.
    pub(crate) base: DateTime<Utc>,
}

pub(crate) async fn register(db: &Db, tree: &RegionTree, n: u32) -> Uuid {
    let input = ElderDraft {
        name: "王秀英".into(),
        id_number: ResidentId::from_first17(&format!("4303021938031{n:04}"))
            .as_str()
            .to_string(),
        ethnicity: "汉族".into(),
        phones: "13807315678".into(),
        hukou_region_code: "430302".into(),
        residence_region_code: "430302001001".into(),
        living_arrangement: "独居".into(),
        marital_status: "丧偶".into(),
        education: "小学".into(),
        latitude: HOME.0.to_string(),
        longitude: HOME.1.to_string(),
        ..Default::default()
    }
    .validate(&ValidationContext {
        regions: tree,
        today: china_date(Utc::now()),
        min_age: 60,
    })
    .unwrap();
    let c = FieldCipher::new(&[1; 32], &[2; 32]);
    elders::create(
        db,
        Secrets {
            chain: &CHAIN,
            cipher: &c,
        },
        &staff_actor("430302", Role::CountyStaff),
        &input,
        &[],
        Utc::now(),
    )
    .await
    .unwrap()
}

pub(crate) async fn world(db: Db, quota: u32) -> World {
    let tree = seed_regions(&db, &CHAIN).await;
    let city = staff_actor("4303", Role::CityStaff);
    let item = ServiceItem {
        code: ITEM.into(),
        name: "助洁服务".into(),
        category: ServiceCategory::Care,
        target: Rule::parse("age >= 80").unwrap(),
        content: "每次一小时".into(),
        payer: Payer::GovernmentInFull,
        quota: Quota::TimesPerMonth(quota),
        effective_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        effective_to: None,
        basis: "潭政办发〔2023〕20号".into(),
    };
    let list = service_lists::publish(
        &jinglao_db::WriteCtx::new(&db, &CHAIN, &city, Utc::now()),
        code("4303"),
        "湘潭市清单",
        "潭政办发〔2023〕20号",
        &[item],
    )
    .await
    .unwrap();
    let provider = providers::create(
        &db,
        &CHAIN,
        &city,
        &NewProvider {
            name: "甲居家养老服务公司",
            credit_code: "52430302MJ5000001X",
            region_code: "430302",
            kind: "民办非企业单位",
            legal_representative: "李四",
            ..Default::default()
        },
        Utc::now(),
    )
    .await
    .unwrap()
    .id;
    // Government-funded visits are charged only at a contract's price.
    jinglao_db::testing_contract::contract_prices(
        &db,
        &CHAIN,
        provider,
        &[(ITEM, 4_000, 30, true)],
        china_date(Utc::now()) - Duration::days(365),
        china_date(Utc::now()) + Duration::days(700),
    )
    .await;
    let admin = provider_actor(provider, Role::ProviderAdmin);
    let c = FieldCipher::new(&[1; 32], &[2; 32]);
    let mut carers = Vec::new();
    for (n, cert) in [(1u32, "HN2024-001"), (2, "HN2024-002")] {
        let hire = Hire {
            name: format!("护理员{n}"),
            id_number: ResidentId::from_first17(&format!("43030219800101{n:03}"))
                .as_str()
                .to_string(),
            role: "养老护理员".into(),
            vocational_level: "四级/中级工".into(),
            certificate_no: cert.into(),
            start_on: "2024-01-01".into(),
            full_time: true,
            ..Default::default()
        };
        let staff_id = staff::hire(
            &db,
            &CHAIN,
            &c,
            &admin,
            provider,
            &(hire).parse().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
        carers.push(Caregiver {
            staff_id,
            provider_id: provider,
        });
    }
    let elder = register(&db, &tree, 1).await;
    let mut tx = db.begin().await.unwrap();
    entitlements::enrol(
        &mut tx.conn(),
        &CHAIN,
        &city,
        &NewEntitlement {
            elder_id: elder,
            item_code: ITEM,
            list_id: list.id,
            application_id: None,
            start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        },
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    World {
        db,
        provider,
        elder,
        carer: carers[0],
        other: carers[1],
        admin,
        book: PolicyBook::default(),
        tree,
        base: Utc::now() + Duration::hours(1),
    }
}

pub(crate) fn carer_actor(w: &World) -> Actor {
    provider_actor(w.provider, Role::Caregiver)
}

/// Books and assigns an order starting `slot` two-hour slots after the base time.
pub(crate) async fn book(
    w: &World,
    funding: Funding,
    slot: i64,
) -> Result<(Uuid, String), DbError> {
    book_at(w, funding, w.base + Duration::hours(2 * slot)).await
}

/// Books and assigns an order starting at `start`.
pub(crate) async fn book_at(
    w: &World,
    funding: Funding,
    start: DateTime<Utc>,
) -> Result<(Uuid, String), DbError> {
    let village = staff_actor("430302001001", Role::VillageStaff);
    let placed = orders::place(
        &w.db,
        &CHAIN,
        &village,
        &NewOrder {
            elder_id: w.elder,
            provider_id: w.provider,
            item_code: ITEM,
            funding: Some(funding),
            window_start: Some(start),
            latest_start: None,
            minutes: Some(60),
            channel: Channel::Staff,
        },
        Utc::now(),
    )
    .await?;
    orders::assign(
        &w.db,
        &CHAIN,
        &w.admin,
        placed.id,
        w.carer.staff_id,
        Utc::now(),
    )
    .await?;
    Ok((placed.id, placed.confirm_code))
}

pub(crate) fn at_home(t: DateTime<Utc>) -> StampInput {
    StampInput {
        device_at: Some(t),
        lat: Some(HOME.0 + 0.0005),
        lon: Some(HOME.1),
        offline: false,
    }
}

/// A whole visit of `minutes` at home in slot `slot`, confirmed with `code`.
pub(crate) async fn visit(
    w: &World,
    order: Uuid,
    slot: i64,
    minutes: i64,
    code: &str,
) -> visits::Outcome {
    let start = w.base + Duration::hours(2 * slot);
    let id = Uuid::now_v7();
    visits::check_in(
        &w.db,
        &CHAIN,
        &carer_actor(w),
        w.carer,
        &CheckIn {
            visit_id: id,
            order_id: order,
            stamp: at_home(start),
        },
        start,
    )
    .await
    .unwrap();
    let end = start + Duration::minutes(minutes);
    let out = |code: &str| CheckOut {
        visit_id: id,
        stamp: at_home(end),
        code: Some(code.into()),
        ..Default::default()
    };
    // A wrong code is asked again (the region's tries, three by default) before it counts:
    // the caregiver tries two other wrong codes first.
    for n in 0.. {
        let attempt = if n == 0 {
            code.to_string()
        } else {
            format!("{code}{n}")
        };
        match visits::check_out(
            &w.db,
            &CHAIN,
            &carer_actor(w),
            w.carer,
            &out(&attempt),
            &w.book,
            end,
        )
        .await
        {
            Err(DbError::Invalid(e)) if e.get("code").is_some() && n < 5 => continue,
            other => return other.unwrap(),
        }
    }
    unreachable!()
}

pub(crate) async fn count(db: &Db, sql: &str) -> i64 {
    let mut c = db.acquire().await.unwrap();
    on_conn!(&mut c.conn(), |c| {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut *c)
            .await
    })
    .unwrap()
}

fn codes(o: &visits::Outcome) -> Vec<&'static str> {
    o.findings.iter().map(|f| f.code.as_str()).collect()
}

test_on_both! {
    async fn an_order_beyond_the_months_quota_is_refused_for_the_entitlement_and_may_go_ahead_as_self_paid(t: TestDb) {
        let w = world(t.db.clone(), 2).await;
        let (first, _) = book(&w, Funding::Entitlement, 0).await.unwrap();
        book(&w, Funding::Entitlement, 1).await.unwrap();
        let err = book(&w, Funding::Entitlement, 2).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        let msg = inv.get("funding").unwrap();
        assert!(msg.contains("本月额度 2 次，已用 2 次") && msg.contains("自费"), "{msg}");
        book(&w, Funding::SelfPay, 2).await.unwrap();
        // Cancelling frees the quota; a cancellation needs a reason and a caregiver cannot cancel.
        let err = orders::end(&w.db, &CHAIN, &carer_actor(&w), first, Ending::Cancelled, "老人住院", Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let err = orders::end(&w.db, &CHAIN, &w.admin, first, Ending::Cancelled, " ", Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("reason").is_some()), "{err:?}");
        orders::end(&w.db, &CHAIN, &w.admin, first, Ending::Cancelled, "老人住院", Utc::now()).await.unwrap();
        book(&w, Funding::Entitlement, 3).await.unwrap();
        // Vouchers are not open yet: refused by name, not silently taken as self-pay.
        let err = book(&w, Funding::Voucher, 4).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("funding").is_some()), "{err:?}");
    }
}

test_on_both! {
    async fn two_bookings_racing_for_the_last_visit_of_the_month_cannot_both_succeed(t: TestDb) {
        let w = world(t.db.clone(), 1).await;
        let (a, b) = tokio::join!(book(&w, Funding::Entitlement, 0), book(&w, Funding::Entitlement, 1));
        assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1, "{a:?} {b:?}");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM service_orders WHERE funding = 'entitlement'").await, 1);
    }
}

test_on_both! {
    async fn a_visit_at_home_confirmed_with_the_elders_code_is_verified_and_retries_change_nothing(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let (order, code) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let me = carer_actor(&w);
        let start = w.base;
        let id = Uuid::now_v7();
        let ci = CheckIn { visit_id: id, order_id: order, stamp: at_home(start) };
        assert_eq!(visits::check_in(&w.db, &CHAIN, &me, w.carer, &ci, start).await.unwrap(), id);
        // The same request again, and a second check-in from a reloaded page with a new id.
        assert_eq!(visits::check_in(&w.db, &CHAIN, &me, w.carer, &ci, start).await.unwrap(), id);
        let again = CheckIn { visit_id: Uuid::now_v7(), ..ci };
        assert_eq!(visits::check_in(&w.db, &CHAIN, &me, w.carer, &again, start).await.unwrap(), id);
        let end = start + Duration::minutes(50);
        let co = CheckOut { visit_id: id, stamp: at_home(end), code: Some(code.clone()), tasks: "clean,laundry".into(), ..Default::default() };
        let out = visits::check_out(&w.db, &CHAIN, &me, w.carer, &co, &w.book, end).await.unwrap();
        assert_eq!((out.status.as_str(), out.findings.len()), ("verified", 0), "{out:?}");
        let again = visits::check_out(&w.db, &CHAIN, &me, w.carer, &co, &w.book, end + Duration::minutes(1)).await.unwrap();
        assert_eq!(again, out);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM visits").await, 1);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM service_orders WHERE status = 'done'").await, 1);
    }
}

test_on_both! {
    async fn another_caregivers_order_is_forbidden_and_check_out_before_check_in_or_bad_coordinates_are_refused(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let (order, _) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let me = carer_actor(&w);
        let ci = CheckIn { visit_id: Uuid::now_v7(), order_id: order, stamp: at_home(w.base) };
        let err = visits::check_in(&w.db, &CHAIN, &me, w.other, &ci, w.base).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let err = visits::check_out(&w.db, &CHAIN, &me, w.carer, &CheckOut {
            visit_id: ci.visit_id, stamp: at_home(w.base), ..Default::default() }, &w.book, w.base).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("visit_id").unwrap().contains("请先签到")), "{err:?}");
        let bad = CheckIn { stamp: StampInput { lat: Some(127.0), ..at_home(w.base) }, ..ci };
        let err = visits::check_in(&w.db, &CHAIN, &me, w.carer, &bad, w.base).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("lat").unwrap().contains("纬度")), "{err:?}");
        visits::check_in(&w.db, &CHAIN, &me, w.carer, &ci, w.base).await.unwrap();
        // The other caregiver can neither check in to it nor check it out.
        let err = visits::check_in(&w.db, &CHAIN, &me, w.other, &ci, w.base).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let err = visits::check_out(&w.db, &CHAIN, &me, w.other, &CheckOut {
            visit_id: ci.visit_id, stamp: at_home(w.base), ..Default::default() }, &w.book, w.base).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM visits").await, 1);
    }
}

test_on_both! {
    async fn visits_without_location_far_away_too_short_unconfirmed_or_overlapping_go_to_the_exception_queue(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let me = carer_actor(&w);
        // Too short, and a wrong code.
        let (o1, _) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let out = visit(&w, o1, 0, 10, "000000x").await;
        assert_eq!(out.status, "exception");
        assert_eq!(codes(&out), ["too_short", "bad_confirmation"]);
        // No location at check-in, 3 km away at check-out, no confirmation.
        let (o2, _) = book(&w, Funding::Entitlement, 1).await.unwrap();
        let start = w.base + Duration::hours(2);
        let id = Uuid::now_v7();
        visits::check_in(&w.db, &CHAIN, &me, w.carer, &CheckIn { visit_id: id, order_id: o2,
            stamp: StampInput { lat: None, lon: None, ..at_home(start) } }, start).await.unwrap();
        let end = start + Duration::minutes(45);
        let out = visits::check_out(&w.db, &CHAIN, &me, w.carer, &CheckOut { visit_id: id,
            stamp: StampInput { lat: Some(HOME.0 + 0.03), ..at_home(end) }, ..Default::default() }, &w.book, end).await.unwrap();
        assert_eq!(codes(&out), ["no_location", "too_far", "no_confirmation"], "{out:?}");
        // A visit overlapping the first one of the same caregiver.
        let (o3, code3) = book(&w, Funding::Entitlement, 5).await.unwrap();
        let start = w.base + Duration::minutes(5);
        let id3 = Uuid::now_v7();
        visits::check_in(&w.db, &CHAIN, &me, w.carer, &CheckIn { visit_id: id3, order_id: o3, stamp: at_home(start) }, start).await.unwrap();
        let end = start + Duration::minutes(40);
        let out = visits::check_out(&w.db, &CHAIN, &me, w.carer, &CheckOut { visit_id: id3, stamp: at_home(end),
            code: Some(code3), ..Default::default() }, &w.book, end).await.unwrap();
        assert_eq!(codes(&out), ["overlap"], "{out:?}");
        // The reviewer decides with a reason; a village worker may not; a decided visit stays decided.
        let township = staff_actor("430302001", Role::TownshipStaff);
        let err = visits::review(&w.db, &CHAIN, &staff_actor("430302001001", Role::VillageStaff), id, Decision::Accept, "核实", Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let err = visits::review(&w.db, &CHAIN, &township, id, Decision::Accept, "", Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("reason").is_some()), "{err:?}");
        visits::review(&w.db, &CHAIN, &township, id, Decision::Reject, "电话回访老人称当天无人上门", Utc::now()).await.unwrap();
        let err = visits::review(&w.db, &CHAIN, &township, id, Decision::Accept, "改判", Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)), "{err:?}");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM visits WHERE status = 'exception'").await, 2);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'visit.review'").await, 1);
    }
}

test_on_both! {
    async fn an_offline_record_is_flagged_and_one_synced_late_is_flagged_as_late(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let me = carer_actor(&w);
        let (order, code) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let start = w.base;
        let end = start + Duration::minutes(60);
        let synced = end + Duration::hours(30);
        let id = Uuid::now_v7();
        let offline = |t| StampInput { offline: true, ..at_home(t) };
        visits::check_in(&w.db, &CHAIN, &me, w.carer, &CheckIn { visit_id: id, order_id: order, stamp: offline(start) }, synced).await.unwrap();
        let out = visits::check_out(&w.db, &CHAIN, &me, w.carer, &CheckOut { visit_id: id, stamp: offline(end),
            code: Some(code), ..Default::default() }, &w.book, synced).await.unwrap();
        assert_eq!(out.status, "exception");
        assert_eq!(codes(&out), ["late_sync", "late_sync"], "{out:?}");
        // The phone's times were kept: the visit lasted an hour, not zero minutes.
        let minutes = count(&w.db, "SELECT COUNT(*) FROM visits WHERE out_at > in_at").await;
        assert_eq!(minutes, 1);
    }
}

test_on_both! {
    async fn a_visit_to_someone_who_had_died_and_by_a_caregiver_no_longer_employed_is_an_exception(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let (order, code) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let day = china_date(w.base) - Duration::days(1);
        t.tamper(&format!("UPDATE elders SET status = 'deceased', status_date = '{day}'")).await;
        t.tamper(&format!("UPDATE employments SET end_on = '{day}'")).await;
        let out = visit(&w, order, 0, 60, &code).await;
        assert_eq!(codes(&out), ["caregiver_inactive", "elder_not_active"], "{out:?}");
    }
}

test_on_both! {
    async fn a_manual_correction_is_logged_apart_with_its_reason_and_rechecks_the_visit(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let (order, code) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let out = visit(&w, order, 0, 20, &code).await;
        assert_eq!(codes(&out), ["too_short"]);
        let visit_id = out.visit_id;
        let township = staff_actor("430302001", Role::TownshipStaff);
        let later = w.base + Duration::minutes(45);
        // A reason code from the list is required; "other" needs words beside it.
        let err = visits::correct(&w.db, &CHAIN, &township, visit_id,
            &Correction { which: Corrected::CheckOut, at: later, code: None, reason: "" }, &w.book, later).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("reason_code").is_some()), "{err:?}");
        let other = Some(CorrectionReason::Other);
        let err = visits::correct(&w.db, &CHAIN, &township, visit_id,
            &Correction { which: Corrected::CheckOut, at: later, code: other, reason: "" }, &w.book, later).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("reason").is_some()), "{err:?}");
        let out = visits::correct(&w.db, &CHAIN, &township, visit_id, &Correction {
            which: Corrected::CheckOut, at: later, code: Some(CorrectionReason::NoSignal),
            reason: "签退时无信号，家属电话确认 45 分钟" }, &w.book, later).await.unwrap();
        assert_eq!((out.status.as_str(), codes(&out).len()), ("verified", 0), "{out:?}");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM visit_corrections WHERE field = 'check_out' AND reason_code = 'no_signal'").await, 1);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'visit.correct'").await, 1);
    }
}

/// A time `months` months after the visits' month (settlement takes ended months only).
pub(crate) fn next_month(w: &World, months: i64) -> DateTime<Utc> {
    use chrono::Datelike;
    let first = china_date(w.base).with_day(1).unwrap();
    (first + Duration::days(32 * months + 1))
        .and_hms_opt(4, 0, 0)
        .unwrap()
        .and_utc()
}

test_on_both! {
    async fn settling_a_month_twice_or_twice_at_once_charges_each_visit_exactly_once(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let mut total = 0;
        for slot in 0..3 {
            let (order, code) = book(&w, Funding::Entitlement, slot).await.unwrap();
            assert_eq!(visit(&w, order, slot, 60, &code).await.status, "verified");
            total += 4_000;
        }
        let (order, _) = book(&w, Funding::Entitlement, 3).await.unwrap();
        assert_eq!(visit(&w, order, 3, 60, "bad").await.status, "exception");
        let month = month_of(china_date(w.base));
        // The contract price changed: 30 yuan until yesterday, 40 yuan from today (the visits' day).
        let day = china_date(w.base);
        t.tamper(&format!("UPDATE service_prices SET valid_from = '{day}'")).await;
        prices::add(&w.db, &CHAIN, &staff_actor("4303", Role::CityStaff), w.provider, &NewPrice {
            item_code: ITEM, valid_from: NaiveDate::from_ymd_opt(2024, 1, 1), valid_to: Some(day - Duration::days(1)),
            unit_fen: Some(3_000), min_minutes: Some(30), needs_certificate: true, basis: "XT-2024-HT-00",
        }, Utc::now()).await.unwrap();
        // A verified visit of an item the provider has no price for: listed, never charged at zero.
        let (stray, stray_code) = book(&w, Funding::Entitlement, 4).await.unwrap();
        let stray_visit = visit(&w, stray, 4, 60, &stray_code).await.visit_id;
        // (The latest visit; SQLite keeps UUIDs as blobs, so not by id in hand-written SQL.)
        t.tamper("UPDATE visits SET item_code = 'XT-NONE' WHERE in_at = (SELECT MAX(in_at) FROM visits)").await;
        let finance = staff_actor("430302", Role::Finance);
        let err = statements::run(&w.db, &CHAIN, &finance, w.provider, &month, Funding::Entitlement, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("month").is_some()), "the month has not ended: {err:?}");
        let now = next_month(&w, 1);
        let (a, b) = tokio::join!(
            statements::run(&w.db, &CHAIN, &finance, w.provider, &month, Funding::Entitlement, now),
            statements::run(&w.db, &CHAIN, &finance, w.provider, &month, Funding::Entitlement, now),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.added + b.added, 3, "{a:?} {b:?}");
        assert_eq!(a.unpriced.len().max(b.unpriced.len()), 1, "{a:?} {b:?}");
        assert!(a.unpriced.contains(&stray_visit) || b.unpriced.contains(&stray_visit));
        assert_eq!(a.statement.id, b.statement.id);
        let again = statements::run(&w.db, &CHAIN, &finance, w.provider, &month, Funding::Entitlement, now).await.unwrap();
        assert_eq!((again.added, again.statement.total_fen, again.statement.line_count), (0, total, 3));
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM statement_lines").await, 3);
        // The database's pricing agrees with the pure rule (`settlement::statement`).
        let mut c = w.db.acquire().await.unwrap();
        let stored = statements::lines(&mut c.conn(), a.statement.id).await.unwrap();
        let price_list: Vec<_> = prices::list(&mut c.conn(), w.provider).await.unwrap().iter().map(|p| p.price()).collect();
        drop(c);
        let payable: Vec<_> = stored.iter().map(|l| PayableVisit { id: l.visit_id, item: l.item_code.clone(), on: l.service_on }).collect();
        let pure = statement(&payable, &price_list);
        assert_eq!(pure.total_fen, again.statement.total_fen);
        assert!(pure.lines.iter().all(|l| l.amount_fen == 4_000) && pure.unpriced.is_empty());
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM statements").await, 1);
        // The schema itself refuses a second charge of one visit.
        let mut c = w.db.acquire().await.unwrap();
        let lines = statements::lines(&mut c.conn(), a.statement.id).await.unwrap();
        let dup = on_conn!(&mut c.conn(), |c| {
            sqlx::query("INSERT INTO statement_lines (statement_id, visit_id, kind, item_code, service_on, \
                service_month, amount_fen) VALUES ($1, $2, 'charge', $3, $4, $5, $6)")
                .bind(a.statement.id).bind(lines[0].visit_id).bind(ITEM)
                .bind(lines[0].service_on).bind(&month).bind(4_000i64)
                .execute(&mut *c).await.map(|_| ())
        });
        assert!(dup.is_err(), "a duplicate charge line was accepted");
    }
}

test_on_both! {
    async fn a_visit_accepted_after_its_statement_was_approved_is_charged_next_month_as_an_adjustment(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let (o1, c1) = book(&w, Funding::Entitlement, 0).await.unwrap();
        visit(&w, o1, 0, 60, &c1).await;
        let (o2, _) = book(&w, Funding::Entitlement, 1).await.unwrap();
        let late = visit(&w, o2, 1, 60, "").await;
        assert_eq!(codes(&late), ["no_confirmation"]);
        let month = month_of(china_date(w.base));
        let finance = staff_actor("430302", Role::Finance);
        let now = next_month(&w, 1);
        let st = statements::run(&w.db, &CHAIN, &finance, w.provider, &month, Funding::Entitlement, now).await.unwrap().statement;
        assert_eq!((st.line_count, st.total_fen, st.status.as_str()), (1, 4_000, "draft"));
        // Only the provider confirms; only the bureau approves; a step out of order is refused.
        let err = statements::advance(&w.db, &CHAIN, &finance, st.id, &Step::Confirm, now).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let err = statements::advance(&w.db, &CHAIN, &finance, st.id, &Step::Approve, now).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref i) if i.get("status").unwrap().contains("待确认")), "{err:?}");
        statements::advance(&w.db, &CHAIN, &w.admin, st.id, &Step::Confirm, now).await.unwrap();
        let err = statements::advance(&w.db, &CHAIN, &w.admin, st.id, &Step::Approve, now).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        statements::advance(&w.db, &CHAIN, &finance, st.id, &Step::Approve, now).await.unwrap();
        // The family confirms by phone; the reviewer accepts the visit after approval.
        visits::review(&w.db, &CHAIN, &staff_actor("430302001", Role::TownshipStaff), late.visit_id, Decision::Accept,
            "家属电话确认服务已完成", now).await.unwrap();
        let rerun = statements::run(&w.db, &CHAIN, &finance, w.provider, &month, Funding::Entitlement, now).await.unwrap();
        assert_eq!((rerun.added, rerun.waiting, rerun.statement.total_fen), (0, 1, 4_000), "the approved statement is unchanged");
        let next = month_of(china_date(next_month(&w, 1)));
        let adj = statements::run(&w.db, &CHAIN, &finance, w.provider, &next, Funding::Entitlement, next_month(&w, 2)).await.unwrap();
        assert_eq!((adj.added, adj.adjustments, adj.statement.total_fen), (1, 1, 4_000), "{adj:?}");
        let mut c = w.db.acquire().await.unwrap();
        let lines = statements::lines(&mut c.conn(), adj.statement.id).await.unwrap();
        assert_eq!(lines[0].service_month, month, "the line keeps the visit's own month");
        drop(c);
        // The one who approved it may not also send it for payment (duties kept apart).
        let err = jinglao_db::purchase::payments::create(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &finance, now), &[st.id]).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("statement_ids").is_some_and(|m| m.contains("不同的人"))), "{err:?}");
        let treasurer = staff_actor("430302", Role::Finance);
        crate::purchase::pay(&w.db, &treasurer, &[st.id], now).await;
        let mut c = w.db.acquire().await.unwrap();
        let paid = statements::get(&mut c.conn(), &jinglao_domain::Scope::All, st.id).await.unwrap().unwrap();
        assert_eq!(paid.status, "paid");
    }
}

test_on_both! {
    async fn a_death_registered_after_the_visit_sends_it_back_to_the_exception_queue_at_month_end(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let (order, code) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let out = visit(&w, order, 0, 60, &code).await;
        assert_eq!(out.status, "verified");
        let month = month_of(china_date(w.base));
        let finance = staff_actor("430302", Role::Finance);
        let none = visits::recheck_month(&w.db, &CHAIN, &finance, &month, &w.book, Utc::now()).await.unwrap();
        assert_eq!((none.candidates, none.flagged), (0, 0));
        // The family reports a death on the visit's day, a week later.
        let day = china_date(w.base);
        t.tamper(&format!("UPDATE elders SET status = 'deceased', status_date = '{day}'")).await;
        let found = visits::recheck_month(&w.db, &CHAIN, &finance, &month, &w.book, Utc::now()).await.unwrap();
        assert_eq!((found.candidates, found.flagged), (1, 1));
        let mut c = w.db.acquire().await.unwrap();
        let now = visits::outcome(&mut c.conn(), out.visit_id).await.unwrap();
        drop(c);
        assert_eq!((now.status.as_str(), codes(&now)), ("exception", vec!["elder_not_active"]));
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'visit.recheck'").await, 1);
        let again = visits::recheck_month(&w.db, &CHAIN, &finance, &month, &w.book, Utc::now()).await.unwrap();
        assert_eq!(again.candidates, 0, "a re-run finds nothing new");
        let err = visits::recheck_month(&w.db, &CHAIN, &carer_actor(&w), &month, &w.book, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
    }
}

/// Checks in and out of `order` in `slot` with a drawn signature instead of the code.
async fn signed_visit(w: &World, order: Uuid, slot: i64, book: &PolicyBook) -> visits::Outcome {
    let start = w.base + Duration::hours(2 * slot);
    confirmed_at(w, order, start, None, book).await
}

/// Checks in at `start` and out 30 minutes later, with `code`, or a drawn signature when none.
async fn confirmed_at(
    w: &World,
    order: Uuid,
    start: DateTime<Utc>,
    code: Option<String>,
    book: &PolicyBook,
) -> visits::Outcome {
    let id = Uuid::now_v7();
    let me = carer_actor(w);
    visits::check_in(
        &w.db,
        &CHAIN,
        &me,
        w.carer,
        &CheckIn {
            visit_id: id,
            order_id: order,
            stamp: at_home(start),
        },
        start,
    )
    .await
    .unwrap();
    let end = start + Duration::minutes(30);
    let signature = code.is_none().then(|| vec![1, 2, 3]);
    let out = CheckOut {
        visit_id: id,
        stamp: at_home(end),
        code,
        signature,
        ..Default::default()
    };
    visits::check_out(&w.db, &CHAIN, &me, w.carer, &out, book, end)
        .await
        .unwrap()
}

test_on_both! {
    async fn a_signature_alone_goes_to_a_reviewer_and_where_the_region_refuses_it_no_reviewer_can_pass_it(t: TestDb) {
        let w = world(t.db.clone(), 12).await;
        let township = staff_actor("430302001", Role::TownshipStaff);
        // By default: to the exception queue, and a reviewer may accept it.
        let (o1, _) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let out = signed_visit(&w, o1, 0, &w.book).await;
        assert_eq!((out.status.as_str(), codes(&out)), ("exception", vec!["signature_only"]));
        visits::review(&w.db, &CHAIN, &township, out.visit_id, Decision::Accept, "电话回访，老人确认已服务", Utc::now()).await.unwrap();
        // Where the county says a signature is not a confirmation, no reviewer can pass it.
        let refuse = PolicyBook::new(vec![refuse_setting()]);
        let (o2, _) = book(&w, Funding::Entitlement, 1).await.unwrap();
        let out = signed_visit(&w, o2, 1, &refuse).await;
        assert_eq!(codes(&out), vec!["signature_refused"]);
        let err = visits::review(&w.db, &CHAIN, &township, out.visit_id, Decision::Accept, "核实", Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("decision").is_some()), "{err:?}");
        visits::review(&w.db, &CHAIN, &township, out.visit_id, Decision::Reject, "须有确认码", Utc::now()).await.unwrap();
        // Where a signature is enough, it is verified.
        let accept = PolicyBook::new(vec![PolicySetting { value: "accept".into(), ..refuse_setting() }]);
        let (o3, _) = book(&w, Funding::Entitlement, 2).await.unwrap();
        assert_eq!(signed_visit(&w, o3, 2, &accept).await.status, "verified");
    }
}

fn refuse_setting() -> PolicySetting {
    PolicySetting {
        region: code("430302"),
        key: PolicyKey::VisitSignatureOnly,
        value: "refuse".into(),
        basis: "雨湖区民政局通知".into(),
    }
}

test_on_both! {
    async fn a_caregiver_who_checks_out_a_third_of_the_month_on_a_signature_alone_is_listed_for_inspectors(t: TestDb) {
        let w = world(t.db.clone(), 12).await;
        // Ten half-hour visits, back to back in one home, all in the month of the first.
        let month_end = end_of_china_month(w.base);
        let first = if w.base + Duration::hours(7) > month_end { month_end + Duration::hours(2) } else { w.base };
        for n in 0..10 {
            let start = first + Duration::minutes(35 * n);
            let (o, code) = book_at(&w, Funding::Entitlement, start).await.unwrap();
            let code = (n >= 3).then_some(code);
            let out = confirmed_at(&w, o, start, code, &w.book).await;
            assert!(matches!(out.status.as_str(), "verified" | "exception"), "{out:?}");
        }
        let inspector = staff_actor("4303", Role::Inspector);
        let month = orders::month_of(jinglao_domain::clock::china_date(first));
        let mut c = w.db.acquire().await.unwrap();
        let signals = visit_signals::month(&mut c.conn(), &inspector, &month).await.unwrap();
        let shares: Vec<(Party, usize, usize)> = signals.iter().filter_map(|s| match s {
            Signal::SignatureOnlyShare { party, checked_out, signature_only, .. } => Some((*party, *checked_out, *signature_only)),
            _ => None,
        }).collect();
        assert_eq!(shares, vec![(Party::Caregiver, 10, 3), (Party::Provider, 10, 3)], "{signals:?}");
        // Another county's inspector sees none of it.
        let other = staff_actor("430304", Role::Inspector);
        let theirs = visit_signals::month(&mut c.conn(), &other, &month).await.unwrap();
        assert!(theirs.is_empty());
    }
}

/// The last moment of the China month `t` falls in.
fn end_of_china_month(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Datelike;
    let d = china_date(t);
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
    .unwrap();
    jinglao_domain::clock::china_time(next, chrono::NaiveTime::MIN) - Duration::seconds(1)
}

test_on_both! {
    async fn a_wrong_code_is_asked_again_until_the_tries_run_out_and_a_repeated_one_counts_once(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let me = carer_actor(&w);
        let (order, code) = book(&w, Funding::Entitlement, 0).await.unwrap();
        let start = w.base;
        let id = Uuid::now_v7();
        visits::check_in(&w.db, &CHAIN, &me, w.carer, &CheckIn { visit_id: id, order_id: order, stamp: at_home(start) }, start).await.unwrap();
        let end = start + Duration::minutes(50);
        let out = |c: &str| CheckOut { visit_id: id, stamp: at_home(end), code: Some(c.into()), ..Default::default() };
        let wrong = if code == "123456" { "654321" } else { "123456" };
        let err = visits::check_out(&w.db, &CHAIN, &me, w.carer, &out(wrong), &w.book, end).await.unwrap_err();
        let DbError::Invalid(e) = err else { panic!("{err:?}") };
        assert!(e.get("code").unwrap().contains("还可以再试 2 次"), "{e:?}");
        // The same wrong code sent again (a retried request) is not a second try.
        let err = visits::check_out(&w.db, &CHAIN, &me, w.carer, &out(wrong), &w.book, end).await.unwrap_err();
        let DbError::Invalid(e) = err else { panic!("{err:?}") };
        assert!(e.get("code").unwrap().contains("还可以再试 2 次"), "{e:?}");
        // A short code says how many digits it has.
        let err = visits::check_out(&w.db, &CHAIN, &me, w.carer, &out("12"), &w.book, end).await.unwrap_err();
        let DbError::Invalid(e) = err else { panic!("{err:?}") };
        assert!(e.get("code").unwrap().contains("6 位数字") && e.get("code").unwrap().contains("再试 1 次"), "{e:?}");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM visits WHERE out_at IS NOT NULL").await, 0, "nothing recorded yet");
        // The right code now verifies the visit: the misses leave no finding.
        let ok = visits::check_out(&w.db, &CHAIN, &me, w.carer, &out(&code), &w.book, end).await.unwrap();
        assert_eq!(ok.status, "verified", "{ok:?}");
        // A check-out that asks to be warned hears about a short visit first.
        let (o2, c2) = book(&w, Funding::Entitlement, 3).await.unwrap();
        let start = w.base + Duration::hours(6);
        let id2 = Uuid::now_v7();
        visits::check_in(&w.db, &CHAIN, &me, w.carer, &CheckIn { visit_id: id2, order_id: o2, stamp: at_home(start) }, start).await.unwrap();
        let early = start + Duration::minutes(10);
        let warned = CheckOut { visit_id: id2, stamp: at_home(early), code: Some(c2.clone()), warn_short: true, ..Default::default() };
        let err = visits::check_out(&w.db, &CHAIN, &me, w.carer, &warned, &w.book, early).await.unwrap_err();
        let DbError::Invalid(e) = err else { panic!("{err:?}") };
        assert!(e.get("confirm_short").unwrap().contains("才 10 分钟"), "{e:?}");
        let confirmed = CheckOut { warn_short: false, ..warned };
        let out = visits::check_out(&w.db, &CHAIN, &me, w.carer, &confirmed, &w.book, early).await.unwrap();
        assert_eq!(codes(&out), ["too_short"]);
    }
}
