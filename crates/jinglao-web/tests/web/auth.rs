//! Signing in and staying signed in: CSRF, lockout, session renewal and time-outs, password
//! changes, and API tokens.

use crate::common::{PASSWORD, TestApp, set_cookie_value};
use chrono::Duration;
use jinglao_db::test_on_both;
use jinglao_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

test_on_both! {
    async fn a_form_post_without_the_csrf_token_is_refused(app: TestApp) {
        app.create_user("csrf_user", Role::CountyStaff, "430302").await;
        // Before sign-in: the login form without its token.
        let client = app.client();
        let _ = app.get(&client, "/login").await;
        let resp = app.post_form(&client, "/login", &[("username", "csrf_user"), ("password", PASSWORD)]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie_value(&resp, "jl_session").is_none(), "no session was started");

        // After sign-in: a state-changing form with a missing, then a wrong, token.
        let client = app.login("csrf_user").await;
        let resp = app.post_form(&client, "/regions/430302001001/area-type", &[("area_type", "rural")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let page = TestApp::page(resp).await;
        assert_eq!(page.text_of("h1").as_deref(), Some("表单已过期"));
        let resp = app.post_form(&client, "/regions/430302001001/area-type",
            &[("_csrf", "forged-token-forged-token-forged-token"), ("area_type", "rural")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // A token from another visitor's session does not work either.
        let other = app.client();
        let other_token = app.get(&other, "/login").await.csrf();
        let resp = app.post_form(&client, "/regions/430302001001/area-type",
            &[("_csrf", &other_token), ("area_type", "rural")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // A post from another site is refused even with the right token.
        let csrf = app.get(&client, "/regions/430302001001").await.csrf();
        let resp = client.post(app.url("/regions/430302001001/area-type"))
            .header("Origin", "https://evil.example")
            .form(&[("_csrf", csrf.as_str()), ("area_type", "rural")]).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // With the right token, same origin, it works.
        let resp = app.post_form(&client, "/regions/430302001001/area-type",
            &[("_csrf", &csrf), ("area_type", "rural")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("region.update").await, 1);
    }
}

test_on_both! {
    async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes(app: TestApp) {
        app.create_user("lock_user", Role::CityStaff, "4303").await;
        for i in 1..=4 {
            let (_, resp) = app.login_response("lock_user", "wrong-password-1").await;
            assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
            let page = TestApp::page(resp).await;
            assert!(page.title().starts_with("错误："), "{}", page.title());
            assert_eq!(page.text_of("#username-error").unwrap(), "错误：用户名或密码不正确");
        }
        let (_, resp) = app.login_response("lock_user", "wrong-password-1").await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        // Now even the right password is refused, through the page and the API.
        let (_, resp) = app.login_response("lock_user", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(resp.headers().get("retry-after").is_some());
        let page = TestApp::page(resp).await;
        assert!(page.text.contains("暂时锁定"));
        let api = reqwest::Client::new().post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "lock_user", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
        let body: serde_json::Value = api.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(app.audit_count("auth.login_failed").await, 5);

        // Fifteen minutes later the right password works again.
        app.clock.advance(Duration::minutes(15) + Duration::seconds(1));
        let (_, resp) = app.login_response("lock_user", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
}

test_on_both! {
    async fn twenty_guesses_sent_at_once_get_five_password_checks_at_most(app: TestApp) {
        app.create_user("race_user", Role::CityStaff, "4303").await;
        let client = reqwest::Client::new();
        let url = app.url("/api/v1/auth/token");
        let guesses = (0..20).map(|i| {
            client.post(&url)
                .json(&json!({"username": "race_user", "password": format!("wrong-password-{i}")}))
                .send()
        });
        let answers = futures::future::join_all(guesses).await;
        for r in &answers {
            let status = r.as_ref().unwrap().status();
            assert!(matches!(status, StatusCode::UNPROCESSABLE_ENTITY | StatusCode::TOO_MANY_REQUESTS), "{status}");
        }
        // Every password checked and found wrong is recorded: five at most (twenty before
        // attempts were reserved ahead of the check).
        let checked = app.audit_count("auth.login_failed").await;
        assert!((1..=5).contains(&checked), "{checked} passwords were checked");
        let (_, resp) = app.login_response("race_user", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

test_on_both! {
    async fn unknown_user_names_are_counted_like_wrong_passwords_and_lock_the_address(app: TestApp) {
        app.create_user("ip_victim", Role::CityStaff, "4303").await;
        for i in 0..5 {
            let (_, resp) = app.login_response(&format!("nobody{i}"), "wrong-password-1").await;
            let expected = if i < 4 { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::TOO_MANY_REQUESTS };
            assert_eq!(resp.status(), expected, "attempt {i}");
        }
        // The address is locked: a different, valid account cannot sign in from it for now.
        let (_, resp) = app.login_response("ip_victim", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

test_on_both! {
    async fn the_session_id_changes_at_sign_in_and_the_old_one_stops_working(app: TestApp) {
        app.create_user("renew_user", Role::CountyStaff, "430302").await;
        let (client, first) = app.login_response("renew_user", PASSWORD).await;
        let first_id = set_cookie_value(&first, "jl_session").expect("a session cookie");
        let first_csrf = set_cookie_value(&first, "jl_csrf");
        assert_eq!(first_csrf.as_deref(), Some(""), "the pre-sign-in token is dropped");
        let cookie = first.headers().get_all("set-cookie").iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with("jl_session=")).unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http here; Secure only over TLS");

        // Signing in again from the same browser: a new id, and the old one is gone.
        let page = app.get(&client, "/login").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "already signed in");
        let csrf = app.get(&client, "/account").await.csrf();
        let second = app.post_form(&client, "/login",
            &[("_csrf", &csrf), ("username", "renew_user"), ("password", PASSWORD)]).await;
        let second_id = set_cookie_value(&second, "jl_session").expect("a new session cookie");
        assert_ne!(first_id, second_id);

        let stale = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let resp = stale.get(app.url("/home")).header("Cookie", format!("jl_session={first_id}")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(resp.headers()["location"].to_str().unwrap().starts_with("/login"));
        assert_eq!(app.get(&client, "/home").await.status, StatusCode::OK, "the new session works");
    }
}

test_on_both! {
    async fn a_session_ends_after_thirty_idle_minutes_and_after_twelve_hours_whatever_happens(app: TestApp) {
        app.create_user("idle_user", Role::CountyStaff, "430302").await;
        let client = app.login("idle_user").await;
        app.clock.advance(Duration::minutes(29));
        assert_eq!(app.get(&client, "/home").await.status, StatusCode::OK);
        app.clock.advance(Duration::minutes(29));
        assert_eq!(app.get(&client, "/home").await.status, StatusCode::OK, "activity keeps it alive");
        app.clock.advance(Duration::minutes(31));
        let page = app.get(&client, "/home").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "idle for 31 minutes");
        let login = app.get(&client, "/login").await;
        assert_eq!(login.status, StatusCode::OK);

        // Absolute limit: active every 20 minutes, still ends after 12 hours.
        let client = app.login("idle_user").await;
        for _ in 0..35 {
            app.clock.advance(Duration::minutes(20));
            assert_eq!(app.get(&client, "/home").await.status, StatusCode::OK);
        }
        app.clock.advance(Duration::minutes(20));
        assert_eq!(app.get(&client, "/home").await.status, StatusCode::SEE_OTHER, "12 hours have passed");
    }
}

test_on_both! {
    async fn a_caregivers_session_outlasts_a_two_hour_visit_while_an_office_session_ends_after_thirty_minutes(app: TestApp) {
        app.create_user("carer_idle", Role::Caregiver, "430302").await;
        app.create_user("office_idle", Role::CountyStaff, "430302").await;
        let carer = app.login("carer_idle").await;
        let office = app.login("office_idle").await;
        app.clock.advance(Duration::minutes(120));
        assert_eq!(app.get(&carer, "/account").await.status, StatusCode::OK, "240 minutes for caregivers");
        assert_eq!(app.get(&office, "/home").await.status, StatusCode::SEE_OTHER, "30 minutes for the office");
        app.clock.advance(Duration::minutes(241));
        assert_eq!(app.get(&carer, "/account").await.status, StatusCode::SEE_OTHER);
    }
}

test_on_both! {
    async fn signing_out_ends_the_session_and_is_audited(app: TestApp) {
        app.create_user("out_user", Role::Finance, "4303").await;
        let client = app.login("out_user").await;
        let csrf = app.get(&client, "/home").await.csrf();
        let resp = app.post_form(&client, "/logout", &[("_csrf", &csrf)]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.get(&client, "/home").await.status, StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("auth.logout").await, 1);
        assert_eq!(app.audit_count("auth.login").await, 1);
    }
}

test_on_both! {
    async fn changing_the_password_checks_the_policy_and_ends_other_sessions(app: TestApp) {
        app.create_user("pw_user", Role::Inspector, "4303").await;
        let laptop = app.login("pw_user").await;
        let phone = app.login("pw_user").await;
        let csrf = app.get(&laptop, "/account").await.csrf();

        let resp = app.post_form(&laptop, "/account/password", &[
            ("_csrf", &csrf), ("current_password", PASSWORD),
            ("new_password", "aaaaaaaaaaaa"), ("confirm_password", "aaaaaaaaaaaa")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = TestApp::page(resp).await;
        assert!(page.title().starts_with("错误："));
        assert!(page.text_of("#new_password-error").unwrap().contains("一类字符"));
        assert_eq!(page.attr(".error-summary a", "href").as_deref(), Some("#new_password"));

        let resp = app.post_form(&laptop, "/account/password", &[
            ("_csrf", &csrf), ("current_password", "not-my-password"),
            ("new_password", "Another-Pass-2026"), ("confirm_password", "Another-Pass-2026")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let resp = app.post_form(&laptop, "/account/password", &[
            ("_csrf", &csrf), ("current_password", PASSWORD),
            ("new_password", "Another-Pass-2026"), ("confirm_password", "Another-Pass-2026")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.get(&laptop, "/home").await.status, StatusCode::OK, "this session stays");
        assert_eq!(app.get(&phone, "/home").await.status, StatusCode::SEE_OTHER, "the other one ended");
        let (_, resp) = app.login_response("pw_user", "Another-Pass-2026").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("user.password_change").await, 1);
    }
}

test_on_both! {
    async fn api_tokens_work_until_revoked_or_expired_and_errors_use_the_envelope(app: TestApp) {
        app.create_user("api_user", Role::CityStaff, "4303").await;
        let token = app.token("api_user").await;
        assert!(token.starts_with("jl_"));
        let (s, me) = app.api_get(&token, "/api/v1/me").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(me["role"], "city_staff");
        assert_eq!(me["region_code"], "430300000000");

        // No token, a bad token, a malformed header: 401 with the envelope.
        let resp = reqwest::get(app.url("/api/v1/me")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().get("www-authenticate").is_some());
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
        let (s, _) = app.api_get("jl_not-a-real-token", "/api/v1/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // Bad input: malformed JSON (400), missing field (422, naming it), wrong password (422).
        let post = |body: &'static str| {
            let url = app.url("/api/v1/auth/token");
            async move {
                let r = reqwest::Client::new().post(url).header("content-type", "application/json")
                    .body(body).send().await.unwrap();
                let s = r.status();
                (s, r.json::<serde_json::Value>().await.unwrap())
            }
        };
        let (s, b) = post("{not json").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(b["error"]["code"], "bad_request");
        let (s, b) = post(r#"{"username":"api_user"}"#).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(b["error"]["field"], "password");
        let (s, b) = post(r#"{"username":"api_user","password":"wrong-password"}"#).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(b["error"]["code"], "validation_failed");
        assert!(b["error"]["message"].as_str().unwrap().contains("不正确"));

        // Unknown paths and wrong methods answer in JSON too; bad codes are 400.
        let (s, b) = app.api_get(&token, "/api/v1/nothing-here").await;
        assert_eq!((s, b["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        let r = reqwest::Client::new().put(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        let (s, b) = app.api_get(&token, "/api/v1/regions/43x/children").await;
        assert_eq!((s, b["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("code")));
        let r = reqwest::Client::new().patch(app.url("/api/v1/regions/430302001001")).bearer_auth(&token)
            .json(&json!({"area_type": "suburban"})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(b["error"]["field"], "area_type");
        let r = reqwest::Client::new().patch(app.url("/api/v1/regions/430302")).bearer_auth(&token)
            .json(&json!({"area_type": "urban"})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a county has no urban/rural type");

        // Revoking: the token stops working at once.
        let r = reqwest::Client::new().delete(app.url("/api/v1/auth/token")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (s, _) = app.api_get(&token, "/api/v1/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // Expiry: a fresh token dies after 12 hours.
        let token = app.token("api_user").await;
        app.clock.advance(Duration::hours(12) + Duration::seconds(1));
        let (s, _) = app.api_get(&token, "/api/v1/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(app.audit_count("auth.token_issue").await, 2);
        assert_eq!(app.audit_count("auth.token_revoke").await, 1);
    }
}

test_on_both! {
    async fn health_and_readiness_answer_without_signing_in(app: TestApp) {
        let r = reqwest::get(app.url("/healthz")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = reqwest::get(app.url("/readyz")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get("x-request-id").is_some(), "every response carries a request id");
        // A proxy's plain request id is kept; a strange one is replaced.
        let c = reqwest::Client::new();
        let r = c.get(app.url("/healthz")).header("x-request-id", "lb-20261123-0001").send().await.unwrap();
        assert_eq!(r.headers()["x-request-id"], "lb-20261123-0001");
        let r = c.get(app.url("/healthz")).header("x-request-id", "<script>alert(1)</script>").send().await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}

test_on_both! {
    async fn pages_send_protective_headers_and_unknown_pages_show_a_404_with_the_request_id(app: TestApp) {
        let client = app.client();
        let resp = client.get(app.url("/login")).send().await.unwrap();
        let h = resp.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(h["cache-control"], "no-store");
        let page = app.get(&client, "/no/such/page").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert!(page.text_of("#request-id").is_some_and(|id| id.len() >= 32));
    }
}
