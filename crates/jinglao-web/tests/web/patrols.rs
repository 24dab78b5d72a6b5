//! Regular visits (巡访) through the pages: refresh the list, see who is due, record a visit
//! (bad input named by field), and the person drops off today's list.

use jinglao_db::orders;
use jinglao_db::test_on_both;
use jinglao_domain::{Role, Scope};
use reqwest::StatusCode;

use crate::common::TestApp;
use crate::visits::setup;

test_on_both! {
    async fn a_village_worker_refreshes_the_visit_list_and_records_a_visit(app: TestApp) {
        let (order, _) = setup(&app).await;
        let elder = {
            let mut c = app.state.db.acquire().await.unwrap();
            orders::get(&mut c.conn(), &Scope::All, order).await.unwrap().unwrap().elder_id
        };
        app.create_user("village_p", Role::VillageStaff, "430302001001").await;
        let v = app.login("village_p").await;
        let page = app.get(&v, "/patrols").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text_of("#no-due").is_some());
        let resp = app.post_form(&v, "/patrols/refresh", &[("_csrf", &page.csrf())]).await;
        let refreshed = TestApp::page(resp).await;
        assert_eq!(refreshed.status, StatusCode::OK);
        assert!(refreshed.text_of("#refresh-report").unwrap().contains("新增 1 人"), "{}", refreshed.text);
        assert_eq!(refreshed.texts("#due tbody tr").len(), 1);
        assert!(refreshed.text_of("#due").unwrap().contains("王秀英"));

        let path = format!("/elders/{elder}/patrols");
        let person = app.get(&v, &path).await;
        assert!(person.text_of("#plan").unwrap().contains("每周一次"), "{}", person.text);
        let csrf = person.csrf();
        // Assign the regular visitor (a name is required).
        let resp = app.post_form(&v, &format!("{path}/visitor"), &[("_csrf", &csrf), ("visitor_kind", "social_worker"), ("visitor_name", "")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let resp = app.post_form(&v, &format!("{path}/visitor"), &[("_csrf", &csrf), ("visitor_kind", "social_worker"), ("visitor_name", "周社工")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(app.get(&v, &path).await.text_of("#plan").unwrap().contains("周社工（社会工作者）"));
        let resp = app.post_form(&v, &path, &[("_csrf", &csrf), ("visited_on", "2020-01-01"), ("visitor_kind", "volunteer"), ("visitor_name", ""), ("safety", "risk"), ("health", "stable"), ("referral", "none")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        for msg in ["只能补录 31 天以内的巡访", "请填写巡访人员姓名", "发现安全隐患或转介时"] {
            assert!(bad.text.contains(msg), "{msg}: {}", bad.text);
        }
        let today = app.state.today().to_string();
        let resp = app.post_form(&v, &path, &[("_csrf", &csrf), ("visited_on", &today), ("visitor_kind", "community_staff"), ("visitor_name", "李网格"), ("met", "yes"), ("safety", "ok"), ("health", "changed"), ("needs", "助浴"), ("referral", "service"), ("referral_note", "已转助浴服务")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let after = app.get(&v, &path).await;
        assert_eq!(after.texts("#visits tbody tr").len(), 1);
        assert!(after.text_of("#visits").unwrap().contains("已转助浴服务"));
        let list = app.get(&v, "/patrols").await;
        assert!(list.text_of("#no-due").is_some(), "visited today: not due");
        let week = app.get(&v, "/patrols?within=7").await;
        assert_eq!(week.texts("#due tbody tr").len(), 1);
        assert_eq!(app.audit_count("patrol.visit").await, 1);
        // A provider's administrator cannot open the visit list.
        app.create_user("provider_x", Role::ProviderAdmin, "430302").await;
        let p = app.login("provider_x").await;
        assert_eq!(app.get(&p, "/patrols").await.status, StatusCode::FORBIDDEN);
    }
}

test_on_both! {
    async fn a_county_worker_sets_up_a_family_bed_and_the_provider_records_the_home_adaptations(app: TestApp) {
        let (order, _) = setup(&app).await;
        let elder = {
            let mut c = app.state.db.acquire().await.unwrap();
            orders::get(&mut c.conn(), &Scope::All, order).await.unwrap().unwrap().elder_id
        };
        app.create_user("county_b", Role::CountyStaff, "430302").await;
        let county = app.login("county_b").await;
        let path = format!("/elders/{elder}/family-bed");
        let page = app.get(&county, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text_of("#no-bed").is_some());
        let offer = page.attr("#offer option:nth-child(2)", "value").unwrap();
        let today = app.state.today().to_string();
        let form = |csrf: &str| vec![
            ("_csrf".to_string(), csrf.to_string()), ("offer".into(), offer.clone()),
            ("contract_no".into(), "JTCW-001".into()), ("assessed_on".into(), today.clone()),
            ("start_on".into(), today.clone()), ("assessor".into(), "刘评估".into()),
            ("assessment".into(), "需加装扶手".into()),
        ];
        // Seventy and not assessed (neither 高龄 nor 失能): the local rule refuses, saying why.
        app.db.tamper(&format!("UPDATE elders SET birth_date = '{}'", app.state.today() - chrono::Duration::days(70 * 365 + 30))).await;
        let resp = county.post(app.url(&path)).form(&form(&page.csrf())).send().await.unwrap();
        let refused = TestApp::page(resp).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text.contains("不符合本地家庭养老床位条件"), "{}", refused.text);
        // The county widens its rule (a policy parameter with its basis): now it qualifies.
        jinglao_db::policy::set(&jinglao_db::WriteCtx::new(&app.state.db, &app.state.keys.audit_chain, &jinglao_db::Actor::cli(), chrono::Utc::now()), jinglao_domain::RegionCode::parse("430302").unwrap(), jinglao_domain::policy::PolicyKey::FamilyBedRule, "age >= 65", "雨湖区民政局 2026 年第 3 号通知").await.unwrap();
        let resp = county.post(app.url(&path)).form(&form(&page.csrf())).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let bed = app.get(&county, &path).await;
        assert!(bed.text_of("#bed").unwrap().contains("JTCW-001"), "{}", bed.text);
        assert!(bed.text_of("#progress").unwrap().contains("0 / 4 次"));
        // The provider records an adaptation and a device; bad input is named.
        app.create_user("provider_b", Role::ProviderAdmin, "430302").await;
        let p = app.login("provider_b").await;
        let mine = app.get(&p, &path).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
        let action = mine.attr("#adapt-form", "action").unwrap();
        let resp = app.post_form(&p, &action, &[("_csrf", &mine.csrf()), ("item", ""), ("done_on", &today)]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let resp = app.post_form(&p, &action, &[("_csrf", &mine.csrf()), ("item", "grab_bars"), ("done_on", &today)]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let action = mine.attr("#device-form", "action").unwrap();
        let resp = app.post_form(&p, &action, &[("_csrf", &mine.csrf()), ("kind", "smoke"), ("serial_no", "YG-001"), ("installed_on", &today)]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let after = app.get(&p, &path).await;
        assert!(after.text_of("#adaptations").unwrap().contains("完成"));
        assert!(after.text_of("#devices").unwrap().contains("YG-001"));
        let list = app.get(&county, "/family-beds").await;
        assert_eq!(list.texts("#beds tbody tr").len(), 1);
        assert!(list.text_of("#beds").unwrap().contains("不足"));
        assert_eq!(app.audit_count("family_bed.create").await, 1);
    }
}

test_on_both! {
    async fn a_village_workers_app_keeps_the_patrol_list_over_the_api(app: TestApp) {
        let (order, _) = setup(&app).await;
        let elder = {
            let mut c = app.state.db.acquire().await.unwrap();
            orders::get(&mut c.conn(), &Scope::All, order).await.unwrap().unwrap().elder_id
        };
        app.create_user("village_a", Role::VillageStaff, "430302001001").await;
        let v = app.token("village_a").await;
        let (s, r) = app.api_post(&v, "/api/v1/patrols/refresh", serde_json::json!({})).await;
        assert_eq!((s, r["added"].as_u64()), (StatusCode::OK, Some(1)), "{r}");
        let (s, due) = app.api_get(&v, "/api/v1/patrols/due").await;
        assert_eq!(s, StatusCode::OK, "{due}");
        assert_eq!((due["total"].as_i64(), due["items"][0]["name"].as_str()), (Some(1), Some("王秀英")), "{due}");
        assert_eq!(due["items"][0]["frequency"], "weekly");
        // Bad input is named by field: a visit a year ago, a risk without a note.
        let today = app.state.today();
        let visit = serde_json::json!({ "visited_on": today, "visitor_kind": "community_staff", "visitor_name": "李网格",
            "met": true, "safety": "ok", "health": "stable", "referral": "none" });
        let path = format!("/api/v1/elders/{elder}/patrols");
        let mut old = visit.clone();
        old["visited_on"] = serde_json::json!(today - chrono::Duration::days(365));
        let (s, e) = app.api_post(&v, &path, old).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("visited_on")), "{e}");
        let mut risk = visit.clone();
        risk["safety"] = "risk".into();
        let (s, e) = app.api_post(&v, &path, risk).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("referral_note")), "{e}");
        let (s, done) = app.api_post(&v, &path, visit).await;
        assert_eq!(s, StatusCode::CREATED, "{done}");
        let (_, due) = app.api_get(&v, "/api/v1/patrols/due").await;
        assert_eq!(due["total"], 0, "visited today: not due");
        let (_, week) = app.api_get(&v, "/api/v1/patrols/due?within=7").await;
        assert_eq!(week["items"].as_array().unwrap().len(), 1);
        let (s, e) = app.api_get(&v, "/api/v1/patrols/due?within=99").await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("within")));
        assert_eq!(app.audit_count("patrol.visit").await, 1);
        // A provider's administrator has no patrol list; a worker of another village does not
        // reach this person.
        app.create_user("provider_y", Role::ProviderAdmin, "430302").await;
        let p = app.token("provider_y").await;
        assert_eq!(app.api_get(&p, "/api/v1/patrols/due").await.0, StatusCode::FORBIDDEN);
        app.create_user("village_far", Role::VillageStaff, "430302001002").await;
        let far = app.token("village_far").await;
        let (s, _) = app.api_post(&far, &path, serde_json::json!({ "visited_on": today, "visitor_kind": "community_staff",
            "visitor_name": "王网格", "met": true, "safety": "ok", "health": "stable", "referral": "none" })).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

test_on_both! {
    async fn a_newly_registered_person_who_qualifies_is_on_the_visit_list_at_once_and_anyone_can_be_visited(app: TestApp) {
        app.create_user("village_fresh", Role::VillageStaff, "430302001001").await;
        let v = app.login("village_fresh").await;
        let csrf = app.get(&v, "/patrols").await.csrf();
        // An 86-year-old living alone, registered on the record form: weekly visits.
        let id_number = jinglao_domain::ResidentId::from_first17("43030219400101002").as_str().to_string();
        let resp = app.post_form(&v, "/elders", &[
            ("_csrf", &csrf), ("name", "吴桂芝"), ("id_number", &id_number), ("ethnicity", "汉族"),
            ("phones", "13807310123"), ("hukou_region_code", "430302"), ("residence_region_code", "430302001001"),
            ("living_arrangement", "独居"), ("marital_status", "丧偶"), ("education", "小学"),
        ]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", TestApp::page(resp).await.text);
        let list = app.get(&v, "/patrols").await;
        assert!(list.text_of("#due").is_some_and(|t| t.contains("吴桂芝")), "listed without a refresh: {}", list.text);

        // Someone not on the list (a 64-year-old living with children) can still be visited,
        // and the visit is kept without putting them on the list.
        let id_number = jinglao_domain::ResidentId::from_first17("43030219620101003").as_str().to_string();
        let resp = app.post_form(&v, "/elders", &[
            ("_csrf", &csrf), ("name", "郑建军"), ("id_number", &id_number), ("ethnicity", "汉族"),
            ("phones", "13807310124"), ("hukou_region_code", "430302"), ("residence_region_code", "430302001001"),
            ("living_arrangement", "与子女"), ("marital_status", "已婚"), ("education", "初中"),
            ("children_count", "2"), ("children_local", "yes"), ("children_can_care", "yes"),
        ]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{:?}", TestApp::page(resp).await.texts("#error-summary li"));
        let record = resp.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
        let list = app.get(&v, "/patrols?within=31").await;
        assert!(!list.text.contains("郑建军"), "he does not qualify");
        let path = format!("{record}/patrols");
        let page = app.get(&v, &path).await;
        assert!(page.text_of("#off-list-visit").is_some());
        let today = app.state.today().to_string();
        let resp = app.post_form(&v, &path, &[("_csrf", &page.csrf()), ("visited_on", &today), ("visitor_kind", "community_staff"),
            ("visitor_name", "李网格"), ("met", "yes"), ("safety", "ok"), ("health", "stable"), ("referral", "none")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let after = app.get(&v, &path).await;
        assert_eq!(after.texts("#visits tbody tr").len(), 1);
        assert!(after.text_of("#off-list-visit").is_some(), "still not on the list");
    }
}

test_on_both! {
    async fn a_township_worker_pages_through_the_whole_due_list_and_assigns_one_visitor_to_several_people(app: TestApp) {
        jinglao_fixtures::demo::seed_population(&app.state.db, &app.state.keys, 1500, 7, |_| {}).await.unwrap();
        app.create_user("county_p", Role::CountyStaff, "430302").await;
        let v = app.login("county_p").await;
        let first = app.get(&v, "/patrols").await;
        let refreshed = TestApp::page(app.post_form(&v, "/patrols/refresh", &[("_csrf", &first.csrf())]).await).await;
        assert_eq!(refreshed.status, StatusCode::OK);
        let page = app.get(&v, "/patrols?within=31").await;
        let total: usize = page.text_of(".pager-total").unwrap().parse().unwrap();
        assert!(total > 50, "enough people for two pages: {total}");
        // Fifty on a page, and the pager says how many in all and which page this is.
        assert_eq!(page.texts("#due tbody tr").len(), 50);
        assert!(page.text_of(".pager-summary").unwrap().contains("第 1 / "), "{:?}", page.text_of(".pager-summary"));
        let next = page.attr(".pager-next", "href").unwrap();
        assert!(next.contains("within=31") && next.contains("page=2"), "the filter is kept: {next}");
        let two = app.get(&v, &next).await;
        let names_one = page.texts("#due tbody tr");
        let names_two = two.texts("#due tbody tr");
        assert!(names_two.iter().all(|r| !names_one.contains(r)), "page 2 shows other people");
        // A page past the end shows the last page, not an empty list.
        let last = app.get(&v, "/patrols?within=31&page=999").await;
        assert!(!last.texts("#due tbody tr").is_empty());
        // The whole filtered list, every page, exports for the round, with places by name.
        let href = page.attr("#export-patrols", "href").unwrap();
        assert_eq!(href, "/patrols/export?within=31");
        let resp = v.get(app.url(&href)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let table = jinglao_domain::tabular::read_table(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(table.rows.len() - 1, total, "one row per person the pager counted");
        assert!(table.rows[1..].iter().all(|r| r[1].contains("雨湖区")), "places by name");
        assert_eq!(app.audit_count("patrol.export").await, 1);

        // Tick three people and give them one visitor, in one go.
        let ids: Vec<String> = page.html.select(&scraper::Selector::parse("#due input[name=elder]").unwrap())
            .take(3).map(|e| e.value().attr("value").unwrap().to_string()).collect();
        let csrf = page.csrf();
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("visitor_kind", "volunteer"), ("visitor_name", "赵志愿"), ("within", "31")];
        for id in &ids { form.push(("elder", id)); }
        let before = app.audit_count("patrol.assign").await;
        let resp = app.post_form(&v, "/patrols/visitor", &form).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let back = resp.headers()["location"].to_str().unwrap().to_string();
        let after = app.get(&v, &back).await;
        assert_eq!(after.text_of("#assigned").unwrap(), "已为 3 位老人安排巡访人员。");
        assert_eq!(app.audit_count("patrol.assign").await, before + 3);
        // Without a name nothing changes, and the error names the field.
        let mut bad: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("visitor_kind", "volunteer"), ("visitor_name", "")];
        for id in &ids { bad.push(("elder", id)); }
        let resp = TestApp::page(app.post_form(&v, "/patrols/visitor", &bad).await).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(resp.text_of("#visitor_name-error").unwrap().contains("请填写巡访人员姓名"));
        // Someone outside the worker's area in the batch: the whole batch is refused.
        let stranger = uuid::Uuid::now_v7().to_string();
        let mut mixed: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("visitor_kind", "volunteer"), ("visitor_name", "钱志愿")];
        mixed.push(("elder", &ids[0]));
        mixed.push(("elder", &stranger));
        let resp = app.post_form(&v, "/patrols/visitor", &mixed).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.audit_count("patrol.assign").await, before + 3, "nothing half-written");
    }
}
