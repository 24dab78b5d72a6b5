//! Account management by administrators, and the audit trail as auditors see it.

use crate::common::{PASSWORD, TestApp};
use jinglao_db::test_on_both;
use jinglao_domain::Role;
use reqwest::StatusCode;

test_on_both! {
    async fn an_admin_creates_an_account_whose_owner_must_choose_a_password_at_first_sign_in(app: TestApp) {
        app.create_user("root_admin", Role::Admin, "4303").await;
        let admin = app.login("root_admin").await;
        let csrf = app.get(&admin, "/admin/users/new").await.csrf();

        // Bad input: every problem named at its field, nothing written, values kept.
        let resp = app.post_form(&admin, "/admin/users", &[
            ("_csrf", &csrf), ("username", "张三"), ("display_name", ""),
            ("role", "village_staff"), ("region_code", "430302"), ("provider_id", "")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = TestApp::page(resp).await;
        assert!(page.title().starts_with("错误："));
        let links: Vec<String> = page.html.select(&scraper::Selector::parse(".error-summary a").unwrap())
            .filter_map(|a| a.value().attr("href").map(str::to_string)).collect();
        assert_eq!(links, vec!["#username", "#display_name", "#region_code"]);
        assert!(page.text_of("#region_code-error").unwrap().contains("村（社区）"));
        assert_eq!(page.attr("#region_code option[selected]", "value").as_deref(), Some("430302"), "input is kept");

        // A caregiver without a provider, and an unknown region.
        let resp = app.post_form(&admin, "/admin/users", &[
            ("_csrf", &csrf), ("username", "cg1"), ("display_name", "孙梅"),
            ("role", "caregiver"), ("region_code", "430399999999"), ("provider_id", "")]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(page.text_of("#region_code-error").unwrap(), "错误：区划代码不存在");

        // A good one: the temporary password is shown once.
        let resp = app.post_form(&admin, "/admin/users", &[
            ("_csrf", &csrf), ("username", "liufang"), ("display_name", "刘芳"),
            ("role", "village_staff"), ("region_code", "430302001001"), ("provider_id", "")]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let page = TestApp::page(resp).await;
        let temp = page.text_of("#temporary-password").unwrap();
        assert_eq!(temp.len(), 19);

        // The same name again is a field error.
        let resp = app.post_form(&admin, "/admin/users", &[
            ("_csrf", &csrf), ("username", "LiuFang"), ("display_name", "刘芳"),
            ("role", "village_staff"), ("region_code", "430302001001"), ("provider_id", "")]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.text_of("#username-error").unwrap(), "错误：这个用户名已被使用");

        // First sign-in goes straight to the password page, and nothing else opens until done.
        let (owner, resp) = app.login_response("liufang", &temp).await;
        assert_eq!(resp.headers()["location"], "/account?notice=must_change");
        let r = app.get(&owner, "/regions").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = app.get(&owner, "/account").await;
        assert!(page.text_of("#must-change").is_some());
        let resp = app.post_form(&owner, "/account/password", &[
            ("_csrf", &page.csrf()), ("current_password", &temp),
            ("new_password", "Xiangtan-New-2026!"), ("confirm_password", "Xiangtan-New-2026!")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.get(&owner, "/regions/430302001001").await.status, StatusCode::OK);
        assert_eq!(app.audit_count("user.create").await, 1 + 15 + 1, "demo accounts (one per role, two more assessors and a cashier), the test admin and this one");
    }
}

test_on_both! {
    async fn disabling_an_account_signs_it_out_everywhere_and_reset_passwords_are_one_time(app: TestApp) {
        app.create_user("admin2", Role::Admin, "4303").await;
        let target = app.create_user("zhou", Role::Finance, "4303").await;
        let victim_session = app.login("zhou").await;
        let victim_token = app.token("zhou").await;
        let admin = app.login("admin2").await;

        let page = app.get(&admin, &format!("/admin/users/{}", target.id)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(app.audit_count("user.read").await, 1, "viewing an account is audited");
        let csrf = page.csrf();
        let resp = app.post_form(&admin, &format!("/admin/users/{}/reset-password", target.id), &[("_csrf", &csrf)]).await;
        let page = TestApp::page(resp).await;
        let temp = page.text_of("#temporary-password").unwrap();
        assert_eq!(app.get(&victim_session, "/home").await.status, StatusCode::SEE_OTHER, "sessions ended");
        let (s, _) = app.api_get(&victim_token, "/api/v1/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "tokens revoked");
        let (_, resp) = app.login_response("zhou", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "the old password is gone");
        let (_, resp) = app.login_response("zhou", &temp).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);

        // Disable.
        let zhou = app.login_response("zhou", &temp).await.0;
        let resp = app.post_form(&admin, &format!("/admin/users/{}", target.id), &[
            ("_csrf", &csrf), ("display_name", "周杰"), ("role", "finance"),
            ("region_code", "4303"), ("provider_id", ""), ("active", "no")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.get(&zhou, "/account").await.status, StatusCode::SEE_OTHER);
        let (_, resp) = app.login_response("zhou", &temp).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a disabled account cannot sign in");
    }
}

test_on_both! {
    async fn an_admin_can_lift_a_lockout_of_an_account_and_of_an_address(app: TestApp) {
        app.create_user("admin3", Role::Admin, "4303").await;
        let locked = app.create_user("locked_one", Role::Assessor, "4303").await;
        let admin = app.login("admin3").await;
        for _ in 0..5 {
            app.login_response("locked_one", "wrong-password-9").await;
        }
        let list = app.get(&admin, "/admin/users").await;
        let locks = list.text_of("#locks").unwrap();
        assert!(locks.contains("账号 locked_one") && locks.contains("地址 127.0.0.1"), "{locks}");
        let page = app.get(&admin, &format!("/admin/users/{}", locked.id)).await;
        assert!(page.text_of("#account-lock").unwrap().starts_with("锁定至"));
        let resp = app.post_form(&admin, &format!("/admin/users/{}/unlock", locked.id), &[("_csrf", &page.csrf())]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        // The account is free, but the address the failures came from is still locked.
        let (_, resp) = app.login_response("locked_one", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        let resp = app.post_form(&admin, "/admin/locks/unlock", &[("_csrf", &page.csrf()), ("key", "ip:127.0.0.1")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let (_, resp) = app.login_response("locked_one", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("auth.unlock").await, 2);
    }
}

test_on_both! {
    async fn only_admins_reach_account_management(app: TestApp) {
        for (name, role, region) in [
            ("m_city", Role::CityStaff, "4303"),
            ("m_auditor", Role::Auditor, "4303"),
            ("m_provider", Role::ProviderAdmin, "430302"),
        ] {
            app.create_user(name, role, region).await;
            let c = app.login(name).await;
            assert_eq!(app.get(&c, "/admin/users").await.status, StatusCode::FORBIDDEN, "{name}");
            assert_eq!(app.get(&c, "/admin/users/new").await.status, StatusCode::FORBIDDEN, "{name}");
        }
    }
}

test_on_both! {
    async fn auditors_read_and_verify_the_trail_but_nobody_can_change_it(app: TestApp) {
        app.create_user("aud", Role::Auditor, "4303").await;
        app.create_user("cty", Role::CountyStaff, "430302").await;
        let county = app.login("cty").await;
        let csrf = app.get(&county, "/regions/430302001001").await.csrf();
        app.post_form(&county, "/regions/430302001001/area-type", &[("_csrf", &csrf), ("area_type", "rural")]).await;

        let auditor = app.login("aud").await;
        let page = app.get(&auditor, "/audit?action=region.").await;
        assert_eq!(page.status, StatusCode::OK);
        // Actions, people and records by name; the detail field by field, in words.
        let actions = page.texts("#audit-entries tbody tr td:nth-child(4)");
        assert!(actions.iter().any(|a| a == "修改区划"), "{actions:?}");
        let about = page.texts("#audit-entries tbody tr td:nth-child(5)");
        assert!(about.iter().any(|a| a.contains("区划：") && a.contains("雨湖路社区")), "{about:?}");
        let details = page.text_of("#audit-entries tbody tr td.detail").unwrap();
        assert!(details.contains("城乡类型：城镇 → 农村"), "{details}");
        assert!(!details.contains('{'), "no JSON: {details}");
        let logins = app.get(&auditor, "/audit?action=auth.login").await;
        let detail = logins.texts("#audit-entries tbody tr td.detail").join(" ");
        assert!(!detail.contains("Mozilla") && !detail.contains("reqwest"), "no user-agent strings: {detail}");

        let bad = app.get(&auditor, "/audit?from=2026-13-01").await;
        assert!(bad.title().starts_with("错误："));

        let resp = app.post_form(&auditor, "/audit/verify", &[("_csrf", &page.csrf())]).await;
        let page = TestApp::page(resp).await;
        assert!(page.text_of("#verification").unwrap().contains("校验通过"));

        // The API lists the same, newest first, within scope.
        let token = app.token("aud").await;
        let (s, body) = app.api_get(&token, "/api/v1/audit-entries?action=auth.&limit=2").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body["items"].as_array().unwrap().len(), 2);
        assert!(body["next_before_seq"].is_i64());
        let (s, body) = app.api_get(&token, "/api/v1/audit-entries?from=yesterday").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["field"], "from");

        // There is no route that changes an entry, for any role.
        let r = reqwest::Client::new().delete(app.url("/api/v1/audit-entries")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}

test_on_both! {
    async fn the_large_print_preference_is_saved_on_the_account(app: TestApp) {
        app.create_user("lp_user", Role::TownshipStaff, "430302001").await;
        let c = app.login("lp_user").await;
        let page = app.get(&c, "/home").await;
        assert_eq!(page.attr("html", "class"), None);
        let resp = app.post_form(&c, "/preferences/large-print", &[
            ("_csrf", &page.csrf()), ("large_print", "on"), ("return_to", "/regions/430302001")]).await;
        assert_eq!(resp.headers()["location"], "/regions/430302001");
        let c2 = app.login("lp_user").await;
        assert_eq!(app.get(&c2, "/home").await.attr("html", "class").as_deref(), Some("large-print"),
            "saved on the account, so a new session has it");
        // Anonymous visitors get it through a cookie, and a foreign return address is ignored.
        let anon = app.client();
        let login = app.get(&anon, "/login").await;
        let resp = app.post_form(&anon, "/preferences/large-print", &[
            ("_csrf", &login.csrf()), ("large_print", "on"), ("return_to", "https://evil.example/")]).await;
        assert_eq!(resp.headers()["location"], "/");
        assert_eq!(app.get(&anon, "/login").await.attr("html", "class").as_deref(), Some("large-print"));
    }
}

async fn upload_calendar(
    app: &TestApp,
    client: &reqwest::Client,
    year: &str,
    csv: &str,
) -> reqwest::Response {
    let page = app.get(client, "/admin/calendar").await;
    assert_eq!(page.status, StatusCode::OK);
    let action = page.attr("#calendar-form", "action").unwrap();
    let form = reqwest::multipart::Form::new()
        .text("year", year.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("2027.csv"),
        );
    client
        .post(app.url(&action))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

test_on_both! {
    async fn an_administrator_loads_next_years_holidays_all_or_nothing_and_others_cannot(app: TestApp) {
        app.create_user("cal_admin", Role::Admin, "4303").await;
        app.create_user("cal_city", Role::CityStaff, "430300000000").await;
        let client = app.login("cal_admin").await;
        let page = app.get(&client, "/admin/calendar").await;
        assert!(page.text_of("#calendar-years").unwrap().contains("国办发明电〔2024〕12号"), "the shipped years are listed");
        // A file with a weekday listed as a make-up working day and a date of another year:
        // every bad line named, nothing written.
        let bad = "# 国务院办公厅关于2027年部分节假日安排的通知\ndate,kind,name\n2027-01-01,holiday,元旦\n2027-01-05,workday,调休\n2026-12-31,holiday,元旦\n";
        let resp = upload_calendar(&app, &client, "2027", bad).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = TestApp::page(resp).await;
        let problems = page.text_of("#calendar-problems").unwrap();
        assert!(problems.contains("第 4 行") && problems.contains("第 5 行") && !problems.contains("第 3 行"), "{problems}");
        let token = app.token("cal_admin").await;
        let (_, body) = app.api_get(&token, "/api/v1/calendar").await;
        assert!(body["years"].as_array().unwrap().iter().all(|y| y["year"] != 2027), "{body}");
        // The right file loads; the API shows it.
        let good = "# 国务院办公厅关于2027年部分节假日安排的通知\ndate,kind,name\n2027-01-01,holiday,元旦\n";
        let resp = upload_calendar(&app, &client, "2027", good).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let (status, body) = app.api_get(&token, "/api/v1/calendar").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["years"][0]["year"], 2027, "{body}");
        assert_eq!(body["years"][0]["days"][0]["kind"], "holiday");
        assert_eq!(body["years"][0]["loaded_by"], "测试 cal_admin", "the loader by name");
        assert_eq!(app.audit_count("calendar.replace").await, 1);
        // A city clerk can neither open the page nor load over the API.
        let city = app.login("cal_city").await;
        assert_eq!(app.get(&city, "/admin/calendar").await.status, StatusCode::FORBIDDEN);
        let city_token = app.token("cal_city").await;
        let resp = reqwest::Client::new().put(app.url("/api/v1/calendar/2027")).bearer_auth(&city_token)
            .json(&serde_json::json!({"csv": good})).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = reqwest::Client::new().put(app.url("/api/v1/calendar/2027")).bearer_auth(&token)
            .json(&serde_json::json!({"csv": bad})).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("第 4 行"), "{body}");
    }
}
