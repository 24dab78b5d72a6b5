//! The region tree as the server keeps it: changes by this process show at once, changes by
//! another process (here: written straight through the storage layer) within seconds.

use std::time::{Duration, Instant};

use crate::common::TestApp;
use chrono::Utc;
use jinglao_db::{Actor, regions, test_on_both};
use jinglao_domain::{AreaType, RegionCode, Role};
use reqwest::StatusCode;

test_on_both! {
    async fn a_change_made_by_another_server_process_is_served_within_seconds(app: TestApp) {
        app.create_user("rt_city", Role::CityStaff, "4303").await;
        let token = app.token("rt_city").await;
        let (_, before) = app.api_get(&token, "/api/v1/regions/430302001001").await;
        assert_eq!(before["area_type"], "urban");

        // Another process (same database, its own memory) reclassifies the community.
        regions::set_area_type(&app.state.db, &app.state.keys.audit_chain, &Actor::cli(),
            &RegionCode::parse("430302001001").unwrap(), Some(AreaType::Rural), Utc::now())
            .await.unwrap();

        let started = Instant::now();
        loop {
            let (s, body) = app.api_get(&token, "/api/v1/regions/430302001001").await;
            assert_eq!(s, StatusCode::OK);
            if body["area_type"] == "rural" {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the change never arrived");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

test_on_both! {
    async fn the_region_page_shows_breadcrumbs_children_and_village_counts(app: TestApp) {
        app.create_user("rt_county", Role::CountyStaff, "430302").await;
        let c = app.login("rt_county").await;
        let page = app.get(&c, "/regions/430302001").await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.texts(".breadcrumbs a"), vec!["湖南省", "湘潭市", "雨湖区"]);
        assert_eq!(page.text_of("#region-name").as_deref(), Some("雨湖路街道"));
        let counts = page.texts("#children td.num");
        assert_eq!(counts.len(), 6);
        assert!(counts.iter().all(|n| n == "1"), "each community counts itself: {counts:?}");
        let county = app.get(&c, "/regions/430302").await;
        let total: i64 = county.texts("#children td.num").iter().map(|n| n.parse::<i64>().unwrap()).sum();
        assert_eq!(total, 106, "雨湖区 has 106 villages and communities");
        // Searching by name stays within the county.
        let found = app.get(&c, "/regions?q=%E9%9B%A8%E6%B9%96").await; // 雨湖
        let codes = found.texts("#search-results td.mono");
        assert!(!codes.is_empty() && codes.iter().all(|c| c.starts_with("430302")), "{codes:?}");
    }
}
