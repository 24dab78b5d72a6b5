//! Regular visits (巡访) against real databases: the list refreshed from the registry by the
//! region's rules, visits moving the next one, bad records named by field, scope.

use chrono::{Duration, Utc};
use jinglao_db::patrols::{self, NewVisit};
use jinglao_db::testing::TestDb;
use jinglao_db::{DbError, elders, test_on_both};
use jinglao_domain::clock::china_date;
use jinglao_domain::elder::{LifeEvent, LifeEventKind};
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::{RegionCode, Role};

use crate::home_services::{CHAIN, register, staff_actor, world};

fn visit(elder: uuid::Uuid, on: chrono::NaiveDate) -> NewVisit<'static> {
    NewVisit {
        elder_id: elder,
        visited_on: Some(on),
        visitor_kind: "volunteer",
        visitor_name: "张志愿",
        met: true,
        safety: "ok",
        health: "stable",
        referral: "none",
        ..Default::default()
    }
}

test_on_both! {
    async fn a_very_old_person_living_alone_is_visited_weekly_and_each_visit_moves_the_next(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let today = china_date(Utc::now());
        let county = RegionCode::parse("430302").unwrap();
        let village = staff_actor("430302001001", Role::VillageStaff);
        let township = staff_actor("430302001", Role::TownshipStaff);
        let book = PolicyBook::default();
        // Village staff cannot refresh the whole county; the township can refresh its own.
        let err = patrols::refresh(&w.db, &CHAIN, &village, &county, &book, today, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        let r = patrols::refresh(&w.db, &CHAIN, &township, &RegionCode::parse("430302001").unwrap(), &book, today, Utc::now()).await.unwrap();
        assert_eq!((r.listed, r.added), (1, 1));
        let again = patrols::refresh(&w.db, &CHAIN, &township, &RegionCode::parse("430302001").unwrap(), &book, today, Utc::now()).await.unwrap();
        assert_eq!((again.added, again.changed, again.ended), (0, 0, 0), "a second refresh changes nothing");
        let mut c = w.db.acquire().await.unwrap();
        let (due, n) = patrols::due(&mut c.conn(), &village.scope, None, today, None, (100, 0)).await.unwrap();
        assert_eq!(n, 1);
        assert_eq!(due[0].frequency, "weekly");
        assert!(due[0].reason.contains("独居"), "{}", due[0].reason);
        drop(c);
        // Bad records, by field.
        let mut bad = visit(w.elder, today + Duration::days(1));
        bad.safety = "risk";
        bad.visitor_name = " ";
        let err = patrols::record(&w.db, &CHAIN, &village, &bad, today, Utc::now()).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("visited_on").is_some() && inv.get("referral_note").is_some() && inv.get("visitor_name").is_some());
        // Not at home: recorded, but the visit stays due.
        let mut missed = visit(w.elder, today);
        missed.met = false;
        patrols::record(&w.db, &CHAIN, &village, &missed, today, Utc::now()).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        assert_eq!(patrols::due(&mut c.conn(), &village.scope, None, today, None, (100, 0)).await.unwrap().1, 1);
        drop(c);
        patrols::record(&w.db, &CHAIN, &village, &visit(w.elder, today), today, Utc::now()).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let (_, n) = patrols::due(&mut c.conn(), &village.scope, None, today, None, (100, 0)).await.unwrap();
        assert_eq!(n, 0, "visited today: next due in a week");
        let (_, n) = patrols::due(&mut c.conn(), &village.scope, None, today + Duration::days(7), None, (100, 0)).await.unwrap();
        assert_eq!(n, 1);
        let (plan, visits) = patrols::of_elder(&mut c.conn(), w.elder).await.unwrap();
        assert_eq!(plan.unwrap().due_on, Some(today + Duration::days(7)));
        assert_eq!(visits.len(), 2);
        drop(c);
        // Staff of another county cannot record; a death takes the person off the list.
        let far = staff_actor("430304", Role::CountyStaff);
        let err = patrols::record(&w.db, &CHAIN, &far, &visit(w.elder, today), today, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        let ev = LifeEvent { elder_id: w.elder, kind: LifeEventKind::Died, date: today, note: "死亡证明".into() };
        elders::record_life_event(&w.db, &CHAIN, &staff_actor("430302", Role::CountyStaff), &ev, Utc::now()).await.unwrap();
        // The death itself ended the plan; the next refresh finds nothing more to end.
        let r = patrols::refresh(&w.db, &CHAIN, &township, &RegionCode::parse("430302001").unwrap(), &book, today, Utc::now()).await.unwrap();
        assert_eq!((r.listed, r.ended), (0, 0));
        let mut c = w.db.acquire().await.unwrap();
        assert_eq!(patrols::of_elder(&mut c.conn(), w.elder).await.unwrap().0.unwrap().status, "ended");
        drop(c);
        let err = patrols::record(&w.db, &CHAIN, &village, &visit(w.elder, today), today, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)), "off the list: {err:?}");
        // Another county's staff learn nothing of it: off the list reads as unknown to them.
        let err = patrols::record(&w.db, &CHAIN, &far, &visit(w.elder, today), today, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
    }
}

test_on_both! {
    async fn a_townships_own_visit_rule_applies_to_its_people_and_not_to_the_rest_of_the_county(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let today = china_date(Utc::now());
        // A second very old person living alone, in another township of the same county.
        register(&w.db, &w.tree, 2).await;
        t.tamper("UPDATE elders SET residence_region_code = '430302002001' WHERE created_at = (SELECT MAX(created_at) FROM elders)").await;
        // That township visits weekly only people of 100 and over.
        jinglao_db::policy::set(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &staff_actor("4303", Role::CityStaff), Utc::now()), RegionCode::parse("430302002").unwrap(), jinglao_domain::policy::PolicyKey::PatrolWeeklyRule, "age >= 100", "雨湖区某街道 2026 年巡访安排").await.unwrap();
        let book = jinglao_db::policy::book(&w.db).await.unwrap();
        let county = staff_actor("430302", Role::CountyStaff);
        let r = patrols::refresh(&w.db, &CHAIN, &county, &RegionCode::parse("430302").unwrap(), &book, today, Utc::now()).await.unwrap();
        assert_eq!(r.listed, 2);
        let mut c = w.db.acquire().await.unwrap();
        let (rows, _) = patrols::due(&mut c.conn(), &county.scope, None, today, None, (10, 0)).await.unwrap();
        let freq = |code: &str| rows.iter().find(|p| p.region_code == code).map(|p| p.frequency.clone());
        assert_eq!(freq("430302001001").as_deref(), Some("weekly"));
        assert_eq!(freq("430302002001").as_deref(), Some("monthly"), "{rows:?}");
    }
}
