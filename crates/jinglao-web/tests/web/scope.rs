//! Data scope through pages and the API: a community worker of 雨湖区 cannot list, read or
//! change anything of a 岳塘区 community, while a county worker of 雨湖区 sees its whole
//! subtree. Scope is enforced in the queries, so guessing URLs does not help.

use crate::common::TestApp;
use jinglao_db::test_on_both;
use jinglao_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

/// 雨湖区 雨湖路街道 雨湖路社区.
const YUHU_COMMUNITY: &str = "430302001001";
/// 岳塘区 (a neighbouring county) and one of its communities.
const YUETANG: &str = "430304000000";

async fn a_yuetang_community(app: &TestApp) -> String {
    let mut c = app.state.db.acquire().await.unwrap();
    let sub = jinglao_db::regions::subtree(
        &mut c.conn(),
        &jinglao_domain::Scope::All,
        &jinglao_domain::RegionCode::parse(YUETANG).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    sub.into_iter()
        .find(|r| r.level == jinglao_domain::RegionLevel::Village)
        .unwrap()
        .code
        .to_string()
}

test_on_both! {
    async fn a_community_worker_cannot_list_read_or_change_a_neighbouring_countys_community_through_pages(app: TestApp) {
        app.create_user("yh_village", Role::VillageStaff, YUHU_COMMUNITY).await;
        let yt = a_yuetang_community(&app).await;
        let client = app.login("yh_village").await;

        // Read: the region page of a 岳塘区 community, of 岳塘区 itself, and a search for it.
        assert_eq!(app.get(&client, &format!("/regions/{yt}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&client, &format!("/regions/{YUETANG}")).await.status, StatusCode::NOT_FOUND);
        let search = app.get(&client, "/regions?q=%E7%A4%BE%E5%8C%BA").await; // 社区
        assert_eq!(search.status, StatusCode::OK);
        let found = search.texts("#search-results td.mono");
        assert_eq!(found, vec![YUHU_COMMUNITY.to_string()], "only its own community matches");

        // List: above its own community it sees only the path down to it.
        let county = app.get(&client, "/regions/430302").await;
        assert_eq!(county.status, StatusCode::OK);
        assert_eq!(county.texts("#children td.mono"), vec!["430302001000".to_string()]);

        // Change: posting the urban/rural form for the 岳塘区 community.
        let own = app.get(&client, &format!("/regions/{YUHU_COMMUNITY}")).await;
        let csrf = own.csrf();
        let resp = app
            .post_form(&client, &format!("/regions/{yt}/area-type"), &[("_csrf", &csrf), ("area_type", "rural")])
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        // …and its own community is not its to change either (role permission): 403.
        let resp = app
            .post_form(&client, &format!("/regions/{YUHU_COMMUNITY}/area-type"), &[("_csrf", &csrf), ("area_type", "rural")])
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.audit_count("region.update").await, 0, "nothing was written");

        // Accounts and the audit trail are not for this role at all.
        assert_eq!(app.get(&client, "/admin/users").await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&client, "/audit").await.status, StatusCode::FORBIDDEN);
    }
}

test_on_both! {
    async fn a_community_worker_gets_404_for_a_neighbouring_countys_community_through_the_api(app: TestApp) {
        app.create_user("yh_village_api", Role::VillageStaff, YUHU_COMMUNITY).await;
        let yt = a_yuetang_community(&app).await;
        let token = app.token("yh_village_api").await;

        let (s, body) = app.api_get(&token, &format!("/api/v1/regions/{yt}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "not_found");
        let (s, _) = app.api_get(&token, &format!("/api/v1/regions/{YUETANG}/children")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, body) = app.api_get(&token, "/api/v1/regions/430302/children").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body["items"].as_array().unwrap().len(), 1, "only the path to its own community");
        let (s, body) = app.api_get(&token, &format!("/api/v1/regions/{YUHU_COMMUNITY}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body["name"], "雨湖路社区居委会");

        let patch = |code: String| {
            let token = token.clone();
            let url = app.url(&format!("/api/v1/regions/{code}"));
            async move {
                reqwest::Client::new().patch(url).bearer_auth(token)
                    .json(&json!({"area_type": "rural"})).send().await.unwrap().status()
            }
        };
        assert_eq!(patch(yt.clone()).await, StatusCode::NOT_FOUND);
        assert_eq!(patch(YUHU_COMMUNITY.to_string()).await, StatusCode::FORBIDDEN);
        let (s, body) = app.api_get(&token, "/api/v1/audit-entries").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "forbidden");
        assert_eq!(app.audit_count("region.update").await, 0);
    }
}

test_on_both! {
    async fn a_county_worker_sees_and_may_change_its_whole_subtree_but_nothing_beyond(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, "430302").await;
        let yt = a_yuetang_community(&app).await;
        let token = app.token("yh_county").await;

        // Walk the whole subtree through the API: every township and every village.
        let (s, body) = app.api_get(&token, "/api/v1/regions/430302/children").await;
        assert_eq!(s, StatusCode::OK);
        let townships: Vec<String> = body["items"].as_array().unwrap().iter()
            .map(|r| r["code"].as_str().unwrap().to_string()).collect();
        assert!(townships.len() >= 10, "雨湖区 has its streets and towns: {townships:?}");
        let mut villages = 0;
        for t in &townships {
            let (s, body) = app.api_get(&token, &format!("/api/v1/regions/{t}/children")).await;
            assert_eq!(s, StatusCode::OK, "{t}");
            villages += body["items"].as_array().unwrap().len();
        }
        let mut c = app.state.db.acquire().await.unwrap();
        let county = jinglao_db::regions::subtree(&mut c.conn(), &jinglao_domain::Scope::All,
            &jinglao_domain::RegionCode::parse("430302").unwrap()).await.unwrap().unwrap();
        drop(c);
        let in_table = county.iter().filter(|r| r.level == jinglao_domain::RegionLevel::Village).count();
        assert_eq!(villages, in_table, "every village of the county is reachable");

        let resp = reqwest::Client::new().patch(app.url(&format!("/api/v1/regions/{YUHU_COMMUNITY}")))
            .bearer_auth(&token).json(&json!({"area_type": "rural"})).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["area_type"], "rural");
        assert_eq!(body["area_type_manual"], true);
        let (s, _) = app.api_get(&token, &format!("/api/v1/regions/{yt}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The same through pages: the county page lists every township.
        let client = app.login("yh_county").await;
        let page = app.get(&client, "/regions/430302").await;
        assert_eq!(page.texts("#children td.mono"), townships);
        assert_eq!(app.get(&client, &format!("/regions/{yt}")).await.status, StatusCode::NOT_FOUND);
    }
}

test_on_both! {
    async fn a_caregiver_sees_only_accounts_of_its_own_provider(app: TestApp) {
        let admin = app.create_user("scope_admin", Role::Admin, "4303").await;
        let _ = admin;
        let cg = app.create_user("scope_caregiver", Role::Caregiver, "430302").await;
        let scope = cg.scope().unwrap();
        let mut c = app.state.db.acquire().await.unwrap();
        let visible = jinglao_db::users::list(&mut c.conn(), &scope, &Default::default(), 100, 0).await.unwrap();
        assert!(visible.iter().all(|a| a.provider_id == Some(app.provider_id)));
        assert!(visible.iter().any(|a| a.username.as_str() == "scope_caregiver"));
        assert!(!visible.iter().any(|a| a.username.as_str() == "scope_admin"));
    }
}
