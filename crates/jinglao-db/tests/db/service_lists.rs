//! Publishing basic elderly-service lists and reading the one that applies, on both databases.

use chrono::{NaiveDate, Utc};
use jinglao_db::audit::ChainKey;
use jinglao_db::service_lists;
use jinglao_db::testing::{TestDb, seed_regions};
use jinglao_db::{Actor, DbError, test_on_both};
use jinglao_domain::rules::Rule;
use jinglao_domain::service_list::{Payer, Quota, ServiceCategory, ServiceItem};
use jinglao_domain::{RegionCode, Role, Scope};
use uuid::Uuid;

const CHAIN: ChainKey = ChainKey([9; 32]);

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
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

fn item(code: &str, name: &str, rule: &str, quota: Quota) -> ServiceItem {
    ServiceItem {
        code: code.into(),
        name: name.into(),
        category: ServiceCategory::Care,
        target: Rule::parse(rule).unwrap(),
        content: "按服务规范提供".into(),
        payer: Payer::GovernmentInFull,
        quota,
        effective_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        effective_to: None,
        basis: "潭政办发〔2023〕20号".into(),
    }
}

fn city_items() -> Vec<ServiceItem> {
    vec![
        item(
            "XT-01",
            "助餐",
            r#"age >= 80 or "失能" in categories"#,
            Quota::TimesPerMonth(30),
        ),
        item(
            "XT-02",
            "巡访",
            r#"living = "独居" or "空巢" in categories"#,
            Quota::TimesPerMonth(2),
        ),
    ]
}

test_on_both! {
    async fn a_county_list_must_cover_the_city_list_and_each_version_stays_as_published(t: TestDb) {
        seed_regions(&t.db, &CHAIN).await;
        let now = Utc::now();
        let city = staff("4303", Role::CityStaff);
        let v1 = service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, now), code("4303"), "湘潭市基本养老服务清单", "潭政办发〔2023〕20号", &city_items())
            .await.unwrap();
        assert_eq!((v1.version, v1.items.len()), (1, 2));
        assert_eq!(v1.items[0].target.source(), r#"age >= 80 or "失能" in categories"#);

        // A county list that drops 巡访 and narrows 助餐 is refused, naming both items.
        let county = staff("430302", Role::CountyStaff);
        let narrow = vec![item("XT-01", "助餐", "age >= 85", Quota::TimesPerMonth(30))];
        let err = service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, now), code("430302"), "雨湖区清单", "雨民发〔2024〕1号", &narrow)
            .await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        let fields: Vec<&str> = inv.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["items.XT-01", "items.XT-02"]);
        assert!(inv.errors[0].message.contains("不得窄于市级"), "{}", inv.errors[0].message);

        // Widened by adding a group, more meals, plus an item of its own: accepted.
        let mut wide = city_items();
        wide[0] = item("XT-01", "助餐", r#"age >= 80 or "失能" in categories or "低保" in categories"#, Quota::TimesPerMonth(31));
        wide.push(item("YH-01", "助浴", "age >= 90", Quota::TimesPerMonth(4)));
        let county_v1 = service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, now), code("430302"), "雨湖区清单", "雨民发〔2024〕1号", &wide)
            .await.unwrap();
        assert_eq!(county_v1.version, 1);

        // A village takes the county's list; a county without its own takes the city's.
        let mut c = t.db.acquire().await.unwrap();
        let applies = service_lists::applicable(&mut c.conn(), &code("430302001001")).await.unwrap().unwrap();
        assert_eq!(applies.id, county_v1.id);
        let elsewhere = service_lists::applicable(&mut c.conn(), &code("430304")).await.unwrap().unwrap();
        assert_eq!(elsewhere.id, v1.id);
        drop(c);

        // A second county version leaves the first exactly as it was.
        let county_v2 = service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, now), code("430302"), "雨湖区清单（修订）", "雨民发〔2025〕3号", &city_items())
            .await.unwrap();
        assert_eq!(county_v2.version, 2);
        let mut c = t.db.acquire().await.unwrap();
        let old = service_lists::get(&mut c.conn(), county_v1.id).await.unwrap().unwrap();
        assert_eq!(old, county_v1);
        assert_eq!(service_lists::latest(&mut c.conn(), &code("430302")).await.unwrap().unwrap().id, county_v2.id);
    }
}

test_on_both! {
    async fn a_list_with_bad_items_or_outside_the_scope_is_refused_and_nothing_is_written(t: TestDb) {
        seed_regions(&t.db, &CHAIN).await;
        let county = staff("430302", Role::CountyStaff);
        let mut items = city_items();
        items[1].code = "XT-01".into();
        items[0].basis = " ".into();
        let err = service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, Utc::now()), code("430304"), "", "x", &items)
            .await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        let fields: Vec<&str> = inv.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["items[0].basis", "items[1].code", "region_code", "title"]);
        let mut c = t.db.acquire().await.unwrap();
        assert!(service_lists::applicable(&mut c.conn(), &code("430304")).await.unwrap().is_none());
    }
}
