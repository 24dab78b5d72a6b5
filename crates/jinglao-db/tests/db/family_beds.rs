//! Family care beds against real databases: only a person who qualifies under the region's
//! rule gets one, one at a time; the checklist, devices (serial unique), the month's verified
//! visits against the minimum, ending, counts per county.

use chrono::{NaiveDate, Utc};
use jinglao_db::family_beds::{self, ListOrder, NewAdaptation, NewBed, NewDevice};
use jinglao_db::testing::TestDb;
use jinglao_db::{DbError, on_conn, test_on_both};
use jinglao_domain::clock::china_date;
use jinglao_domain::order::Funding;
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::{Role, Scope};

use crate::home_services::{CHAIN, ITEM, book, staff_actor, visit, world};

test_on_both! {
    async fn a_family_bed_needs_a_qualifying_person_and_counts_the_months_verified_visits(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let today = china_date(Utc::now());
        let county = staff_actor("430302", Role::CountyStaff);
        let policy = PolicyBook::default();
        let bed = |provider| NewBed {
            elder_id: w.elder,
            provider_id: provider,
            contract_no: "JTCW-2026-001",
            item_code: ITEM,
            start_on: Some(today),
            assessed_on: Some(today),
            assessor: "刘评估",
            assessment: "独居，卧室到卫生间需加装扶手",
        };
        // Missing fields, by name.
        let err = family_beds::create(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), &NewBed { elder_id: w.elder, ..Default::default() }, &policy, today).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        for f in ["provider_id", "contract_no", "start_on", "assessed_on", "assessment"] {
            assert!(inv.get(f).is_some(), "{f}");
        }
        // 88 and at home: 高龄 qualifies (潭政办发〔2023〕20号: 居家高龄、失能等) — but not while
        // living in an institution.
        t.tamper("UPDATE elders SET living_arrangement = 'institution'").await;
        let err = family_beds::create(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), &bed(Some(w.provider)), &policy, today).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("elder_id").unwrap().contains("不符合本地家庭养老床位条件"), "{inv:?}");
        t.tamper("UPDATE elders SET living_arrangement = 'alone'").await;
        // Seventy and not assessed: neither 高龄 nor 失能, refused with the rule's clauses.
        t.tamper("UPDATE elders SET birth_date = '1956-03-10'").await;
        let err = family_beds::create(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), &bed(Some(w.provider)), &policy, today).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("elder_id").unwrap().contains("不符合本地家庭养老床位条件"), "{inv:?}");
        // Assessed as moderately disabled: qualifies.
        t.tamper("UPDATE elders SET ability_level = 2").await;
        let id = family_beds::create(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), &bed(Some(w.provider)), &policy, today).await.unwrap();
        let err = family_beds::create(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), &bed(Some(w.provider)), &policy, today).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("elder_id").unwrap().contains("已有在用"));
        // Checklist and devices; a serial already in place is refused.
        family_beds::adapt(&w.db, &CHAIN, &w.admin, id, &NewAdaptation { item: "grab_bars", done_on: Some(today), note: "两处" }, Utc::now()).await.unwrap();
        let err = family_beds::adapt(&w.db, &CHAIN, &w.admin, id, &NewAdaptation { item: "pool", done_on: Some(today), note: "" }, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)));
        family_beds::install(&w.db, &CHAIN, &w.admin, id, &NewDevice { kind: "emergency_button", serial_no: "SN-001", installed_on: Some(today) }, Utc::now()).await.unwrap();
        let err = family_beds::install(&w.db, &CHAIN, &w.admin, id, &NewDevice { kind: "emergency_button", serial_no: "SN-001", installed_on: Some(today) }, Utc::now()).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("serial_no").unwrap().contains("已经登记"));
        // Another provider's administrator cannot touch it.
        let stranger = crate::home_services::provider_actor(uuid::Uuid::now_v7(), Role::ProviderAdmin);
        let err = family_beds::install(&w.db, &CHAIN, &stranger, id, &NewDevice { kind: "smoke", serial_no: "SN-9", installed_on: Some(today) }, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        // One verified visit of the bed's item this month: 1 of the minimum 4.
        let (order, code) = book(&w, Funding::Entitlement, 0).await.unwrap();
        visit(&w, order, 0, 60, &code).await;
        let mut c = w.db.acquire().await.unwrap();
        let b = family_beds::get(&mut c.conn(), &Scope::All, id).await.unwrap().unwrap();
        let month = jinglao_db::orders::month_of(china_date(w.base));
        let p = family_beds::progress(&mut c.conn(), &b, &policy, &month).await.unwrap();
        assert_eq!((p.done, p.minimum), (1, 4));
        let counts = family_beds::counts_by_county(&mut c.conn(), &county.scope).await.unwrap();
        assert_eq!(counts, vec![("430302".to_string(), 1)]);
        let listed = family_beds::list(&mut c.conn(), &w.admin.scope, &month, ListOrder::LeastDoneFirst, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(family_beds::adaptations(&mut c.conn(), id).await.unwrap().len(), 1);
        drop(c);
        let err = family_beds::end(&w.db, &CHAIN, &county, id, " ", today, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)));
        family_beds::end(&w.db, &CHAIN, &county, id, "老人入住养老机构", today, Utc::now()).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let n: i64 = on_conn!(&mut c.conn(), |c| sqlx::query_scalar("SELECT COUNT(*) FROM family_beds WHERE status = 'active'").fetch_one(&mut *c).await).unwrap();
        assert_eq!(n, 0);
        let _ = NaiveDate::MIN;
    }
}
