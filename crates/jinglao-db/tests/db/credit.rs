//! Credit records against real databases: a 失信 listing takes a provider out of government
//! purchase (its standing, visits the government pays for) until revoked, a serious penalty
//! stops a rating application, a fraud penalty bars purchase for the region's years; records
//! are kept to the actor's subtree and a retried form records nothing twice.

use chrono::{Duration, Utc};
use jinglao_db::credit;
use jinglao_db::facilities::{self, FacilityDraft};
use jinglao_db::orders::{self, Channel, NewOrder};
use jinglao_db::testing::TestDb;
use jinglao_db::{DbError, on_conn, providers, ratings, test_on_both};
use jinglao_domain::clock::china_date;
use jinglao_domain::credit::{CreditDraft, CreditRecord};
use jinglao_domain::order::Funding;
use jinglao_domain::{Role, Scope};

use crate::home_services::{CHAIN, ITEM, book, provider_actor, staff_actor, world};

fn listing(no: &str, kind: &str, decided: &str) -> CreditRecord {
    CreditDraft {
        kind,
        decision_no: no,
        authority: "湘潭市民政局",
        decided_on: decided,
        ends_on: "",
        summary: "虚报上门服务记录，冒领补贴",
    }
    .validate(china_date(Utc::now()))
    .expect("a valid listing")
}

test_on_both! {
    async fn a_listing_stops_government_paid_visits_and_bidding_until_it_is_revoked(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let today = china_date(Utc::now());
        let county = staff_actor("430302", Role::CountyStaff);
        let day = (today - Duration::days(10)).to_string();
        // Another county's staff, the provider itself and a village clerk cannot record.
        let far = staff_actor("430304", Role::CountyStaff);
        let err = credit::record(&w.db, &CHAIN, &far, w.provider, &listing("潭民失信〔2026〕1号", "dishonest", &day), Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        let err = credit::record(&w.db, &CHAIN, &provider_actor(w.provider, Role::ProviderAdmin), w.provider, &listing("x", "dishonest", &day), Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let err = credit::record(&w.db, &CHAIN, &staff_actor("430302001001", Role::VillageStaff), w.provider, &listing("x", "dishonest", &day), Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        // A visit the government pays for, booked before the listing.
        let (before, _) = book(&w, Funding::Entitlement, 3).await.unwrap();
        // An inspector of the county records the listing; the same decision again is refused.
        let inspector = staff_actor("430302", Role::Inspector);
        let id = credit::record(&w.db, &CHAIN, &inspector, w.provider, &listing("潭民失信〔2026〕1号", "dishonest", &day), Utc::now()).await.unwrap();
        let err = credit::record(&w.db, &CHAIN, &inspector, w.provider, &listing("潭民失信〔2026〕1号", "dishonest", &day), Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("decision_no").is_some_and(|m| m.contains("已经登记"))), "{err:?}");
        // The visit booked before is cancelled with the reason, in the same transaction.
        let mut c = w.db.acquire().await.unwrap();
        let (status, reason): (String, Option<String>) = on_conn!(&mut c.conn(), |c| sqlx::query_as("SELECT status, end_reason FROM service_orders WHERE id = $1").bind(before).fetch_one(&mut *c).await).unwrap();
        assert_eq!(status, "cancelled");
        assert!(reason.unwrap().contains("改派其他机构"));
        // Standing names the listing; a visit the government pays for is refused, self-pay is not.
        let p = providers::get(&mut c.conn(), &Scope::All, w.provider).await.unwrap().unwrap();
        let s = providers::standing(&mut c.conn(), &p, today).await.unwrap();
        assert!(s.gaps.iter().any(|g| g.reason.contains("列入失信名单") && g.reason.contains("潭民失信〔2026〕1号")), "{s:?}");
        drop(c);
        let err = book(&w, Funding::Entitlement, 0).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("provider_id").is_some_and(|m| m.contains("失信"))), "{err:?}");
        let village = staff_actor("430302001001", Role::VillageStaff);
        orders::place(&w.db, &CHAIN, &village, &NewOrder {
            elder_id: w.elder, provider_id: w.provider, item_code: ITEM, funding: Some(Funding::SelfPay),
            window_start: Some(w.base), latest_start: None, minutes: Some(60), channel: Channel::Staff,
        }, Utc::now()).await.unwrap();
        // Revoked (信用修复): bookable again; a second revocation is refused by name.
        let err = credit::revoke(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), id, Some(today), " ").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("revoke_reason").is_some()), "{err:?}");
        credit::revoke(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), id, Some(today), "潭民信修〔2026〕2号").await.unwrap();
        let err = credit::revoke(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &county, Utc::now()), id, Some(today), "again").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("record").is_some()), "{err:?}");
        book(&w, Funding::Entitlement, 1).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let kept = credit::of_provider(&mut c.conn(), w.provider).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].record.revoked_on, Some(today));
        assert_eq!(kept[0].revoke_reason.as_deref(), Some("潭民信修〔2026〕2号"));
    }
}

test_on_both! {
    async fn a_serious_penalty_stops_a_rating_and_a_fraud_penalty_bars_purchase_for_the_regions_years(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let today = china_date(Utc::now());
        let county = staff_actor("430302", Role::CountyStaff);
        let admin = provider_actor(w.provider, Role::ProviderAdmin);
        let f = facilities::create(&w.db, &CHAIN, &admin, &FacilityDraft {
            provider_id: w.provider.to_string(), name: "甲护理院".into(), kind: "care_home".into(), ownership: "private".into(),
            region_code: "430302001".into(), address: "雨湖区".into(), opened_on: "2023-01-01".into(),
            filing_no: "湘潭雨湖备2023001".into(), filed_on: "2023-02-01".into(), ..Default::default() }.parse().unwrap(), Utc::now()).await.unwrap();
        // An ordinary penalty stops nothing.
        credit::record(&w.db, &CHAIN, &county, w.provider, &listing("潭民罚决字〔2026〕1号", "penalty", "2026-01-10"), Utc::now()).await.unwrap();
        credit::record(&w.db, &CHAIN, &county, w.provider, &listing("潭民罚决字〔2026〕2号", "serious_penalty", "2026-02-10"), Utc::now()).await.unwrap();
        let book_ = jinglao_domain::policy::PolicyBook::default();
        let err = ratings::apply(&w.db, &CHAIN, &book_, &admin, f, 3, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("facility").is_some_and(|m| m.contains("重大行政处罚") && m.contains("2号"))), "{err:?}");
        // A serious penalty alone does not bar purchase; a fraud penalty two years old does,
        // for three years by default and not where the county set one year.
        book(&w, Funding::Entitlement, 0).await.unwrap();
        let two_years_ago = (today - Duration::days(730)).to_string();
        credit::record(&w.db, &CHAIN, &county, w.provider, &listing("潭民罚决字〔2024〕9号", "fraud_penalty", &two_years_ago), Utc::now()).await.unwrap();
        let err = book(&w, Funding::Entitlement, 1).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("provider_id").is_some_and(|m| m.contains("不得参与政府购买服务"))), "{err:?}");
        jinglao_db::policy::set(&jinglao_db::WriteCtx::new(&w.db, &CHAIN, &staff_actor("4303", Role::CityStaff), Utc::now()), jinglao_domain::RegionCode::parse("430302").unwrap(), jinglao_domain::policy::PolicyKey::CreditFraudBarYears, "1", "测试：区级设置一年").await.unwrap();
        book(&w, Funding::Entitlement, 2).await.unwrap();
    }
}
