//! The front doors: the public front page at `/` (what people come to do, whom to call, how to
//! object to a notice) and each staff role's work page at `/home`.

use jinglao_db::test_on_both;
use jinglao_domain::Role;
use jinglao_domain::policy::PolicyKey;
use reqwest::StatusCode;

use crate::common::TestApp;

test_on_both! {
    async fn the_public_front_page_offers_every_door_the_hotline_and_how_to_object(app: TestApp) {
        let public = app.client();
        let page = app.get(&public, "/").await;
        assert_eq!(page.status, StatusCode::OK, "no sign-in for the public");
        let doors = page.texts("#doors .door-title");
        assert_eq!(doors, ["查一查能享受什么", "申请服务", "查办理进度", "找养老机构", "预约和评价上门服务", "公示", "政府购买服务", "投诉建议"]);
        assert_eq!(page.attr("#door-notices", "href").as_deref(), Some("/notices"));
        assert_eq!(page.text_of("#hotline").as_deref(), Some("12345"), "the built-in default");
        assert!(page.text_of("#objection").is_some());
        assert!(page.text.contains("公示 7 天"), "the notice period is the policy parameter's");
        assert_eq!(page.attr("#staff-login", "href").as_deref(), Some("/login"));
        // Every door leads to a page the public may open.
        for href in page.attrs("#doors a", "href").iter().filter(|h| h.starts_with('/')) {
            assert_eq!(app.get(&public, href).await.status, StatusCode::OK, "{href}");
        }

        // The bureau sets its own number and address for its area.
        let cli = jinglao_db::Actor::cli();
        let ctx = jinglao_db::WriteCtx::new(&app.state.db, &app.state.keys.audit_chain, &cli, chrono::Utc::now());
        let city = jinglao_domain::RegionCode::parse("4303").unwrap();
        jinglao_db::policy::set(&ctx, city, PolicyKey::ContactHotline, "0731-58000000", "湘潭市民政局公告").await.unwrap();
        jinglao_db::policy::set(&ctx, city, PolicyKey::ContactAddress, "湘潭市岳塘区民政局一楼大厅", "湘潭市民政局公告").await.unwrap();
        let page = app.get(&public, "/").await;
        assert_eq!(page.text_of("#hotline").as_deref(), Some("0731-58000000"));
        assert_eq!(page.text_of("#address").as_deref(), Some("湘潭市岳塘区民政局一楼大厅"));
        assert!(jinglao_db::policy::set(&ctx, city, PolicyKey::ContactHotline, "call us", "x").await.is_err(),
            "a hotline that is not a number is refused");
    }
}

test_on_both! {
    async fn staff_sign_in_from_the_front_page_and_land_on_their_work_page(app: TestApp) {
        app.create_user("front_clerk", Role::VillageStaff, "430302001001").await;
        let (_, resp) = app.login_response("front_clerk", crate::common::PASSWORD).await;
        assert_eq!(resp.headers()["location"], "/home", "signing in leads to work, not to the public page");
        let clerk = app.login("front_clerk").await;
        let page = app.get(&clerk, "/").await;
        assert_eq!(page.attr("#staff-return a", "href").as_deref(), Some("/home"));
        let home = app.get(&clerk, "/home").await;
        assert_eq!(home.status, StatusCode::OK);
        assert_eq!(home.attr("nav a[aria-current=page]", "href").as_deref(), Some("/home"));
        // Anonymous visitors asking for the work page are sent to sign in.
        assert_eq!(app.get(&app.client(), "/home").await.status, StatusCode::SEE_OTHER);
    }
}

test_on_both! {
    async fn each_role_finds_its_work_counted_on_its_home_page_with_deadlines_in_red(app: TestApp) {
        app.create_user("todo_village", Role::VillageStaff, "430302001001").await;
        app.create_user("todo_township", Role::TownshipStaff, "430302001000").await;
        app.create_user("todo_finance", Role::Finance, "4303").await;
        let id = crate::eligibility::register(&app, 31, "钱桂英").await;
        let village = app.login("todo_village").await;
        let page = app.get(&village, "/home").await;
        assert_eq!(page.text_of("#todo-review .tile-count").as_deref(), Some("0"));

        let csrf = page.csrf();
        let resp = app.post_form(&village, &format!("/elders/{id}/applications"),
            &[("_csrf", &csrf), ("item_code", "XT-ZH-02"), ("applicant_name", "钱桂英"), ("applicant_relation", "本人")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);

        // The village clerk: one first review waiting, linked to exactly that list.
        let page = app.get(&village, "/home").await;
        assert_eq!(page.text_of("#todo-review .tile-count").as_deref(), Some("1"));
        assert_eq!(page.attr("#todo-review", "href").as_deref(), Some("/applications?status=submitted"));
        let list = app.get(&village, "/applications?status=submitted").await;
        assert_eq!(list.texts("#application-list tbody tr").len(), 1);
        assert!(page.texts("#changes li").iter().any(|c| c.contains("提交申请") && c.contains('1')),
            "what changed since yesterday: {:?}", page.texts("#changes li"));
        assert!(page.attr("#todo-overdue", "class").unwrap().contains("tile-empty"));

        // The township sees its step and the whole township's first reviews; finance sees none.
        let township = app.login("todo_township").await;
        let page = app.get(&township, "/home").await;
        assert_eq!(page.text_of("#todo-decide .tile-count").as_deref(), Some("0"));
        assert_eq!(page.text_of("#todo-review .tile-count").as_deref(), Some("1"));
        let finance = app.login("todo_finance").await;
        let page = app.get(&finance, "/home").await;
        assert!(page.text_of("#todo-review").is_none(), "finance has no applications to review");
        assert!(page.text_of("#todo-statements-confirmed").is_some());

        // Days pass: the first review falls due soon, then is missed; both are red.
        let mut c = app.state.db.acquire().await.unwrap();
        let queued = jinglao_db::applications::queue(&mut c.conn(), &jinglao_domain::Scope::All, &Default::default(), 5).await.unwrap();
        drop(c);
        let deadline = queued[0].step_deadline.unwrap();
        let days_left = (deadline - app.state.today()).num_days();
        assert!(days_left > 2, "a first review has working days to run");
        app.clock.advance(chrono::Duration::days(days_left - 1));
        let village = app.login("todo_village").await;
        let page = app.get(&village, "/home").await;
        let soon = page.text_of("#todo-due-soon .tile-count").unwrap();
        let late = page.text_of("#todo-overdue .tile-count").unwrap();
        assert_eq!((soon.as_str(), late.as_str()), ("1", "0"), "due within two days");
        assert!(page.attr("#todo-due-soon", "class").unwrap().contains("tile-urgent"));
        let list = app.get(&village, "/applications?soon=1").await;
        assert!(list.text.contains("即将超期"), "the row is marked before it is missed");
        app.clock.advance(chrono::Duration::days(2));
        let village = app.login("todo_village").await;
        let page = app.get(&village, "/home").await;
        assert_eq!(page.text_of("#todo-overdue .tile-count").as_deref(), Some("1"));
        assert!(page.attr("#todo-overdue", "class").unwrap().contains("tile-urgent"));
    }
}

test_on_both! {
    async fn the_notice_board_sheet_prints_the_public_area_with_a_seal_box_and_never_another_city(app: TestApp) {
        let public = app.client();
        let sheet = app.get(&public, "/notices/print").await;
        assert_eq!(sheet.status, reqwest::StatusCode::OK);
        assert!(sheet.title().contains("湘潭市"), "{}", sheet.title());
        assert!(sheet.text_of(".seal-issuer").unwrap().contains("湘潭市民政局"));
        assert!(sheet.text.contains("如有异议"));
        let county = app.get(&public, "/notices/print?region=430302").await;
        assert!(county.text_of(".seal-issuer").unwrap().contains("雨湖区民政局"));
        // An area outside the public pages' region prints the public region's sheet.
        let elsewhere = app.get(&public, "/notices/print?region=4302").await;
        assert!(elsewhere.title().contains("湘潭市"), "{}", elsewhere.title());
        // The notice page links to the sheet of the area it shows.
        let page = app.get(&public, "/notices?region=430302").await;
        assert_eq!(page.attr("#print-notices", "href").as_deref(), Some("/notices/print?region=430302"));
    }
}

test_on_both! {
    async fn a_clerk_saves_a_filter_finds_it_above_the_list_and_no_one_else_sees_it(app: TestApp) {
        app.create_user("sf_village", Role::VillageStaff, "430302001001").await;
        app.create_user("sf_other", Role::VillageStaff, "430302001001").await;
        let me = app.login("sf_village").await;
        let page = app.get(&me, "/applications?status=submitted&soon=1").await;
        assert_eq!(page.attr("#saved-filters input[name=query]", "value").as_deref(), Some("status=submitted&soon=1"));
        let csrf = page.csrf();
        let resp = app.post_form(&me, "/saved-filters", &[("_csrf", &csrf), ("list", "applications"), ("filter_name", "快到期的初审"), ("query", "status=submitted&soon=1")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let back = resp.headers()["location"].to_str().unwrap().to_string();
        assert!(back.starts_with("/applications?status=submitted&soon=1"), "{back}");
        let list = app.get(&me, "/applications").await;
        assert_eq!(list.text_of(".saved-filter").as_deref(), Some("快到期的初审"));
        assert_eq!(list.attr(".saved-filter", "href").as_deref(), Some("/applications?status=submitted&soon=1"));
        // Another clerk of the same village has her own, empty, list.
        let other = app.login("sf_other").await;
        assert!(app.get(&other, "/applications").await.text_of(".saved-filter").is_none());
        // A search by ID number is never saved.
        let id = jinglao_domain::ResidentId::from_first17("43030219400310009").as_str().to_string();
        let resp = app.post_form(&me, "/saved-filters", &[("_csrf", &csrf), ("list", "elders"), ("filter_name", "某人"), ("query", &format!("q={id}"))]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        // The API lists it; another account cannot delete it; its owner can.
        let token = app.token("sf_village").await;
        let (status, body) = app.api_get(&token, "/api/v1/me/saved-filters?list=applications").await;
        assert_eq!(status, StatusCode::OK);
        let fid = body[0]["id"].as_str().unwrap().to_string();
        let other_csrf = app.get(&other, "/applications").await.csrf();
        let resp = app.post_form(&other, &format!("/saved-filters/{fid}/delete"), &[("_csrf", &other_csrf), ("list", "applications")]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = app.post_form(&me, &format!("/saved-filters/{fid}/delete"), &[("_csrf", &csrf), ("list", "applications")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(app.get(&me, "/applications").await.text_of(".saved-filter").is_none());
    }
}
