//! Proactive matching (服务找人) against real databases: answers kept current when a record
//! changes, sweeps, and the worklists after a death and after a re-assessment.

use chrono::{Duration, NaiveDate, Utc};
use jinglao_db::audit::ChainKey;
use jinglao_db::crypto::FieldCipher;
use jinglao_db::elders::{self, Secrets};
use jinglao_db::eligibility::{self, SweepOptions, Trigger};
use jinglao_db::entitlements::{self, NewEntitlement};
use jinglao_db::testing::{TestDb, seed_regions};
use jinglao_db::worklists::{self, WorkFilter, Worklist};
use jinglao_db::{Actor, Db, service_lists, test_on_both};
use jinglao_domain::elder::{ElderDraft, LifeEvent, LifeEventKind, ValidationContext};
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::rules::Rule;
use jinglao_domain::service_list::{Payer, Quota, ServiceCategory, ServiceItem};
use jinglao_domain::{RegionCode, RegionTree, ResidentId, Role, Scope};
use uuid::Uuid;

const CHAIN: ChainKey = ChainKey([3; 32]);

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn today() -> NaiveDate {
    jinglao_domain::clock::china_date(Utc::now())
}

fn staff(region: &str, role: Role) -> Actor {
    Actor::user(
        Uuid::now_v7(),
        "staff",
        role,
        Scope::Region(code(region)),
        code(region),
    )
}

fn item(code: &str, name: &str, rule: &str) -> ServiceItem {
    ServiceItem {
        code: code.into(),
        name: name.into(),
        category: ServiceCategory::Care,
        target: Rule::parse(rule).unwrap(),
        content: "按服务规范提供".into(),
        payer: Payer::GovernmentInFull,
        quota: Quota::TimesPerMonth(4),
        effective_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        effective_to: None,
        basis: "潭政办发〔2023〕20号".into(),
    }
}

/// A person of the village 430302001001 born in `year`, living as `living`.
async fn register(
    db: &Db,
    tree: &RegionTree,
    c: &FieldCipher,
    n: u32,
    name: &str,
    year: u32,
    living: &str,
) -> Uuid {
    let id = ResidentId::from_first17(&format!("430302{year}0312{n:03}"))
        .as_str()
        .to_string();
    let input = ElderDraft {
        name: name.into(),
        id_number: id,
        ethnicity: "汉族".into(),
        phones: "13807315678".into(),
        hukou_region_code: "430302".into(),
        residence_region_code: "430302001001".into(),
        living_arrangement: living.into(),
        marital_status: "丧偶".into(),
        education: "小学".into(),
        ..Default::default()
    }
    .validate(&ValidationContext {
        regions: tree,
        today: today(),
        min_age: 60,
    })
    .unwrap();
    let actor = staff("430302", Role::CountyStaff);
    elders::create(
        db,
        Secrets {
            chain: &CHAIN,
            cipher: c,
        },
        &actor,
        &input,
        &[],
        Utc::now(),
    )
    .await
    .unwrap()
}

async fn worklist(
    db: &Db,
    scope: &Scope,
    list: Worklist,
) -> Vec<(String, String, Option<bool>, Option<String>)> {
    let mut conn = db.acquire().await.unwrap();
    let filter = WorkFilter {
        region: code("430302001001"),
        item: None,
        on: today(),
        since: Utc::now() - Duration::days(1),
        page: 0,
        per_page: 50,
    };
    let page = worklists::page(&mut conn.conn(), scope, list, &filter)
        .await
        .unwrap();
    assert_eq!(page.total as usize, page.rows.len());
    page.rows
        .into_iter()
        .map(|r| (r.name, r.item_code, r.gained, r.reason))
        .collect()
}

test_on_both! {
    async fn the_worklists_follow_a_death_at_once_and_a_reassessment_at_the_next_sweep(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let c = FieldCipher::new(&[1; 32], &[2; 32]);
        let city = staff("4303", Role::CityStaff);
        let list = service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市基本养老服务清单", "潭政办发〔2023〕20号", &[item("XT-01", "助餐", r#"age >= 80 or "失能" in categories"#), item("XT-02", "巡访", r#"living = "独居""#)]).await.unwrap();

        // Registering a person answers for them at once.
        let wang = register(&t.db, &tree, &c, 1, "王秀英", 1940, "独居").await;
        let li = register(&t.db, &tree, &c, 2, "李桂兰", 1955, "与子女").await;
        let zhao = register(&t.db, &tree, &c, 3, "赵德明", 1958, "与子女").await;
        let mut conn = t.db.acquire().await.unwrap();
        assert_eq!(eligibility::answer_of(&mut conn.conn(), wang).await.unwrap(), Some((list.id, 0b11)));
        assert_eq!(eligibility::answer_of(&mut conn.conn(), zhao).await.unwrap(), Some((list.id, 0)));
        drop(conn);
        // 李桂兰 was assessed 重度失能 (by the assessment workflow, which the nightly sweep
        // catches up with like any other writer).
        t.tamper("UPDATE elders SET ability_level = 3 WHERE name = '李桂兰'").await;

        // Both enrolled in meal help, under this list version.
        let county = staff("430302", Role::CountyStaff);
        for who in [wang, li] {
            let mut tx = t.db.begin().await.unwrap();
            let e = NewEntitlement { elder_id: who, item_code: "XT-01", list_id: list.id, application_id: None, start: today() };
            entitlements::enrol(&mut tx.conn(), &CHAIN, &county, &e, Utc::now()).await.unwrap();
            tx.commit().await.unwrap();
        }
        let book = PolicyBook::default();
        let opts = SweepOptions { trigger: Trigger::Manual, on: today(), threads: 0 };
        let first = eligibility::sweep(&t.db, &CHAIN, &county, &code("430302"), &book, opts).await.unwrap();
        assert_eq!((first.people, first.eligible_pairs), (3, 3));
        assert_eq!((first.gained, first.lost), (1, 0), "李桂兰 gained meal help with her assessment");

        let village = Scope::Region(code("430302001001"));
        let eligible = worklist(&t.db, &village, Worklist::EligibleNotEnrolled).await;
        let names: Vec<(&str, &str)> = eligible.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
        assert_eq!(names, vec![("王秀英", "XT-02")], "enrolled in meal help, not yet visited");
        assert!(worklist(&t.db, &village, Worklist::EnrolledNotEligible).await.is_empty());
        assert!(worklist(&t.db, &Scope::Region(code("430302002")), Worklist::EligibleNotEnrolled).await.is_empty(),
            "another township sees nothing");

        // A death is recorded: asked again at once, everything lost, and the enrolment is
        // flagged with the reason.
        let death = LifeEvent { elder_id: wang, kind: LifeEventKind::Died, date: today(), note: "村委会报告".into() };
        elders::record_life_event(&t.db, &CHAIN, &county, &death, Utc::now()).await.unwrap();
        let ineligible = worklist(&t.db, &village, Worklist::EnrolledNotEligible).await;
        assert_eq!(ineligible.len(), 1);
        assert_eq!((ineligible[0].0.as_str(), ineligible[0].1.as_str()), ("王秀英", "XT-01"));
        assert_eq!(ineligible[0].3.as_deref(), Some(format!("已故（{}）", today()).as_str()));
        assert!(worklist(&t.db, &village, Worklist::EligibleNotEnrolled).await.is_empty());

        // A re-assessment finds 李桂兰 能力完好: the nightly sweep finds she no longer qualifies.
        t.tamper("UPDATE elders SET ability_level = 0 WHERE name = '李桂兰'").await;
        let nightly = SweepOptions { trigger: Trigger::Nightly, ..opts };
        let second = eligibility::sweep(&t.db, &CHAIN, &Actor::system(), &code("4303"), &book, nightly).await.unwrap();
        assert_eq!((second.gained, second.lost), (0, 1));
        let ineligible = worklist(&t.db, &village, Worklist::EnrolledNotEligible).await;
        let li_row = ineligible.iter().find(|r| r.0 == "李桂兰").expect("李桂兰 flagged");
        assert_eq!(li_row.3.as_deref(), Some("不再符合：年龄 71 ≥ 80 ✗；特殊类别（无）含“失能” ✗"));

        // Changes, newest first: her loss, 王秀英's two losses, her gain.
        let changes = worklist(&t.db, &village, Worklist::Changes).await;
        let summary: Vec<(&str, &str, bool)> = changes.iter().map(|r| (r.0.as_str(), r.1.as_str(), r.2.unwrap())).collect();
        assert_eq!(summary, vec![
            ("李桂兰", "XT-01", false),
            ("王秀英", "XT-01", false), ("王秀英", "XT-02", false),
            ("李桂兰", "XT-01", true),
        ]);

        // Sweeping again changes nothing.
        let third = eligibility::sweep(&t.db, &CHAIN, &Actor::system(), &code("4303"), &book, nightly).await.unwrap();
        assert_eq!((third.gained, third.lost, third.eligible_pairs), (0, 0, 0));
    }
}

test_on_both! {
    async fn a_village_worker_sweeps_their_own_village_but_not_the_city_above_it(t: TestDb) {
        seed_regions(&t.db, &CHAIN).await;
        let city = staff("4303", Role::CityStaff);
        service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市基本养老服务清单", "潭政办发〔2023〕20号", &[item("XT-01", "助餐", "age >= 80")]).await.unwrap();
        let village = staff("430302001001", Role::VillageStaff);
        let book = PolicyBook::default();
        let opts = SweepOptions { trigger: Trigger::Manual, on: today(), threads: 0 };
        for above in ["4303", "430302", "430302001"] {
            match eligibility::sweep(&t.db, &CHAIN, &village, &code(above), &book, opts).await {
                Err(jinglao_db::DbError::Invalid(inv)) => assert_eq!(inv.errors[0].field, "region"),
                other => panic!("sweep of {above} by a village worker: {other:?}"),
            }
        }
        let mut c = t.db.acquire().await.unwrap();
        assert!(eligibility::last_sweep(&mut c.conn(), &code("4303")).await.unwrap().is_none(), "nothing was swept");
        drop(c);
        eligibility::sweep(&t.db, &CHAIN, &village, &code("430302001001"), &book, opts).await.unwrap();
    }
}

test_on_both! {
    async fn only_tekun_supported_at_home_are_in_the_home_service_group_and_the_sweep_sees_the_difference(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let c = FieldCipher::new(&[1; 32], &[2; 32]);
        let city = staff("4303", Role::CityStaff);
        service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市基本养老服务清单", "湘财社〔2015〕2号", &[item("XT-01", "政府购买居家养老服务", r#"age >= 60 and "分散供养特困" in categories"#)]).await.unwrap();
        let at_home = register(&t.db, &tree, &c, 1, "王秀英", 1950, "独居").await;
        let in_home = register(&t.db, &tree, &c, 2, "李桂兰", 1950, "机构").await;
        let county = staff("430302", Role::CountyStaff);
        for (who, detail) in [(at_home, "分散供养"), (in_home, "集中供养")] {
            let cat = jinglao_domain::category::CategoryInput {
                kind: jinglao_domain::category::CategoryKind::RuralExtremePoverty,
                detail: Some(detail.into()), start: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(), end: None,
                evidence: "五保供养证".into(),
            };
            elders::add_category(&t.db, &CHAIN, &county, who, &cat, Utc::now()).await.unwrap();
        }
        let book = PolicyBook::default();
        let opts = SweepOptions { trigger: Trigger::Manual, on: today(), threads: 0 };
        let r = eligibility::sweep(&t.db, &CHAIN, &county, &code("430302"), &book, opts).await.unwrap();
        assert_eq!(r.eligible_pairs, 1);
        let mut conn = t.db.acquire().await.unwrap();
        assert_ne!(eligibility::answer_of(&mut conn.conn(), at_home).await.unwrap().unwrap().1, 0);
        assert_eq!(eligibility::answer_of(&mut conn.conn(), in_home).await.unwrap().unwrap().1, 0);
    }
}
