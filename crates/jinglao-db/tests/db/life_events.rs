//! A death or a move away ends, in the same transaction, everything that depended on the
//! person: entitlements, future visits not started, plans, the family bed, the stay in a home
//! (the bed freed), waiting-list places and regular visits — and says so.

use chrono::{Duration, NaiveTime, Utc};
use jinglao_db::facilities::{self, FacilityDraft};
use jinglao_db::family_beds::{self, NewBed};
use jinglao_db::orders::Channel;
use jinglao_db::plans::{self, NewPlan};
use jinglao_db::testing::TestDb;
use jinglao_db::{beds, elders, on_conn, patrols, test_on_both};
use jinglao_domain::clock::china_date;
use jinglao_domain::elder::{LifeEvent, LifeEventKind};
use jinglao_domain::order::Funding;
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::service_plan::Weekdays;
use jinglao_domain::{RegionCode, Role};
use uuid::Uuid;

use crate::home_services::{CHAIN, ITEM, book, count, staff_actor, visit, world};

test_on_both! {
    async fn a_death_ends_entitlements_future_visits_plans_family_bed_stay_waiting_and_patrols(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let today = china_date(Utc::now());
        let county = staff_actor("430302", Role::CountyStaff);
        let township = staff_actor("430302001", Role::TownshipStaff);
        let book_ = PolicyBook::default();
        // A visit already done today stays; two booked for the coming days are cancelled.
        let (done, code) = book(&w, Funding::Entitlement, 0).await.unwrap();
        visit(&w, done, 0, 60, &code).await;
        book(&w, Funding::Entitlement, 12).await.unwrap();
        book(&w, Funding::Entitlement, 24).await.unwrap();
        let tomorrow = today + Duration::days(1);
        plans::create(&w.db, &CHAIN, &staff_actor("430302001001", Role::VillageStaff), &NewPlan {
            elder_id: w.elder, provider_id: w.provider, item_code: ITEM, funding: Some(Funding::Entitlement),
            weekdays: Weekdays::from_days(&[3]), start_time: NaiveTime::from_hms_opt(9, 30, 0),
            minutes: Some(60), start_on: Some(tomorrow), end_on: None, channel: Channel::Staff,
        }, Utc::now()).await.unwrap();
        let bed_no = family_beds::create(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), &NewBed {
            elder_id: w.elder, provider_id: Some(w.provider), contract_no: "JTCW-2026-009", item_code: ITEM,
            start_on: Some(today), assessed_on: Some(today), assessor: "刘评估", assessment: "独居",
        }, &book_, today).await.unwrap();
        patrols::refresh(&w.db, &CHAIN, &township, &RegionCode::parse("430302001").unwrap(), &book_, today, Utc::now())
            .await.unwrap();
        // In a home, on a bed, and on another home's waiting list.
        let admin = crate::home_services::provider_actor(w.provider, Role::ProviderAdmin);
        let f = facilities::create(&w.db, &CHAIN, &admin, &FacilityDraft {
            provider_id: w.provider.to_string(), name: "甲护理院".into(), kind: "care_home".into(),
            ownership: "private".into(), region_code: "430302001".into(), address: "雨湖区韶山西路 1 号".into(),
            ..Default::default()
        }.parse().unwrap(), Utc::now()).await.unwrap();
        let bed = beds::add(&w.db, &CHAIN, &admin, f, &beds::NewBeds { building: "1号楼", floor: "1", room: "101", count: 1, nursing: true }, Utc::now())
            .await.unwrap()[0];
        let mut c = w.db.acquire().await.unwrap();
        let (admitted, applied) = (today - Duration::days(30), today - Duration::days(60));
        on_conn!(&mut c.conn(), |c| {
            sqlx::query("UPDATE beds SET status = 'occupied' WHERE id = $1").bind(bed).execute(&mut *c).await.unwrap();
            sqlx::query("INSERT INTO stays (id, facility_id, bed_id, elder_id, admitted_on, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(Uuid::now_v7()).bind(f).bind(bed).bind(w.elder).bind(admitted).bind(Utc::now()).execute(&mut *c).await.unwrap();
            sqlx::query("INSERT INTO waiting_list (id, facility_id, elder_id, applied_on, status, created_at) VALUES ($1, $2, $3, $4, 'waiting', $5)")
                .bind(Uuid::now_v7()).bind(f).bind(w.elder).bind(applied).bind(Utc::now()).execute(&mut *c).await.map(|_| ())
        }).unwrap();
        facilities::recount(&mut c.conn(), Some(f), Utc::now()).await.unwrap();
        drop(c);
        let booked_before = count(&w.db, "SELECT COUNT(*) FROM service_orders WHERE status = 'booked'").await;
        assert!(booked_before >= 2, "{booked_before}");

        let ev = LifeEvent { elder_id: w.elder, kind: LifeEventKind::Died, date: today, note: "死亡证明 2026-009".into() };
        let fx = elders::record_life_event(&w.db, &CHAIN, &county, &ev, Utc::now()).await.unwrap();
        assert_eq!((fx.entitlements, fx.plans, fx.family_beds, fx.stays, fx.waiting, fx.patrols), (1, 1, 1, 1, 1, 1), "{fx:?}");
        assert_eq!(fx.orders as i64, booked_before, "every booked visit not started is cancelled");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM service_orders WHERE status = 'booked'").await, 0);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM service_orders WHERE status = 'cancelled' AND end_reason LIKE '老人已故%'").await, booked_before);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM entitlements WHERE end_date IS NULL").await, 0);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM beds WHERE status = 'free'").await, 1);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM stays WHERE discharged_on IS NULL").await, 0);
        assert_eq!(count(&w.db, "SELECT CAST(occupied_beds AS BIGINT) FROM facilities").await, 0, "the home's counter follows");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'stay.discharge' AND region_code LIKE '430302001%'").await, 1,
            "the freed bed is in the home's region's trail too");
        let mut c = w.db.acquire().await.unwrap();
        let ended = family_beds::get(&mut c.conn(), &jinglao_domain::Scope::All, bed_no).await.unwrap().unwrap();
        assert_eq!(ended.status, "ended");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM patrol_plans WHERE status = 'active'").await, 0);
        // The done visit is untouched; the record keeps what was ended, in words.
        let status: String = on_conn!(&mut c.conn(), |c| sqlx::query_scalar("SELECT status FROM service_orders WHERE id = $1").bind(done).fetch_one(&mut *c).await).unwrap();
        assert_eq!(status, "done");
        let kept = elders::last_life_event_effects(&mut c.conn(), w.elder).await.unwrap().unwrap();
        assert_eq!(kept, fx);
        let s = kept.sentence().unwrap();
        assert!(s.contains("1 项服务资格终止") && s.contains("1 次机构入住办理退住"), "{s}");
    }
}

test_on_both! {
    async fn a_move_away_with_nothing_depending_on_the_person_ends_nothing_and_says_so(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        t.tamper("UPDATE entitlements SET end_date = '2025-01-01'").await;
        let ev = LifeEvent { elder_id: w.elder, kind: LifeEventKind::MovedOut, date: china_date(Utc::now()), note: "迁往长沙".into() };
        let fx = elders::record_life_event(&w.db, &CHAIN, &staff_actor("430302", Role::CountyStaff), &ev, Utc::now()).await.unwrap();
        assert_eq!(fx, jinglao_db::life_events::Effects::default());
        assert_eq!(fx.sentence(), None);
    }
}

test_on_both! {
    async fn a_backdated_death_ends_a_plan_that_had_not_begun_on_its_first_day_not_before_it(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let today = china_date(Utc::now());
        let start = today + Duration::days(3);
        let (plan, _) = plans::create(&w.db, &CHAIN, &staff_actor("430302001001", Role::VillageStaff), &NewPlan {
            elder_id: w.elder, provider_id: w.provider, item_code: ITEM, funding: Some(Funding::Entitlement),
            weekdays: Weekdays::from_days(&[1, 2, 3, 4, 5, 6, 7]), start_time: NaiveTime::from_hms_opt(9, 30, 0),
            minutes: Some(60), start_on: Some(start), end_on: None, channel: Channel::Staff,
        }, Utc::now()).await.unwrap();
        let ev = LifeEvent { elder_id: w.elder, kind: LifeEventKind::Died, date: today - Duration::days(10), note: String::new() };
        elders::record_life_event(&w.db, &CHAIN, &staff_actor("430302", Role::CountyStaff), &ev, Utc::now()).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let end: Option<chrono::NaiveDate> = on_conn!(&mut c.conn(), |c| sqlx::query_scalar("SELECT end_on FROM service_plans WHERE id = $1").bind(plan).fetch_one(&mut *c).await).unwrap();
        assert_eq!(end, Some(start));
        // Recording it again is refused by name: the person is no longer active.
        drop(c);
        let err = elders::record_life_event(&w.db, &CHAIN, &staff_actor("430302", Role::CountyStaff), &ev, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, jinglao_db::DbError::Invalid(i) if i.get("kind").is_some()), "{err:?}");
    }
}
