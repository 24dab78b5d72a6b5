//! Booking, plans, dispatch and ratings through the pages: a village worker books a visit and a
//! weekly plan for a person; the provider sets skills, dispatches the day and puts a caregiver
//! on leave; bad input is named by field; a caregiver hands the phone over for a rating; the
//! roll-up and the inspectors' signals pages answer.

use chrono::Duration;
use jinglao_db::orders;
use jinglao_db::test_on_both;
use jinglao_domain::clock::china_date;
use jinglao_domain::{Role, Scope};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::common::TestApp;
use crate::visits::{HOME, setup};

async fn elder_of(app: &TestApp, order: Uuid) -> Uuid {
    let mut c = app.state.db.acquire().await.unwrap();
    orders::get(&mut c.conn(), &Scope::All, order)
        .await
        .unwrap()
        .unwrap()
        .elder_id
}

test_on_both! {
    async fn a_village_worker_books_a_visit_and_a_weekly_plan_and_the_provider_dispatches_the_day(app: TestApp) {
        // The visit an hour from now must fall on the same day, whenever the test runs.
        app.morning();
        let (order, _) = setup(&app).await;
        let elder = elder_of(&app, order).await;
        app.create_user("village_o", Role::VillageStaff, "430302001001").await;
        let v = app.login("village_o").await;
        let person = app.get(&v, &format!("/elders/{elder}")).await;
        assert!(person.text.contains("预约居家服务"), "the record links to booking");
        let path = format!("/elders/{elder}/orders/new");
        let page = app.get(&v, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let offer = page.attr("#offer option:nth-child(2)", "value").unwrap();
        let csrf = page.csrf();
        let tomorrow = (china_date(app.clock_now()) + Duration::days(1)).to_string();
        // Nothing chosen: each field named.
        let resp = app.post_form(&v, &format!("/elders/{elder}/orders"), &[("_csrf", &csrf), ("minutes", "60")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("请选择服务机构和项目") && bad.text.contains("请填写服务日期"), "{}", bad.text);
        let resp = app.post_form(&v, &format!("/elders/{elder}/orders"), &[
            ("_csrf", &csrf), ("offer", &offer), ("funding", "self_pay"), ("day", &tomorrow),
            ("start", "09:00"), ("latest", "11:00"), ("minutes", "60"), ("by_phone", "yes"),
        ]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let after = app.get(&v, resp.headers()["location"].to_str().unwrap()).await;
        assert!(after.text.contains("已预约"), "{}", after.text);
        assert_eq!(after.texts("#recent-orders tbody tr").len(), 2);
        // A plan with no weekday is refused by name; a daily one books ahead.
        let plan_path = format!("/elders/{elder}/plans");
        let resp = app.post_form(&v, &plan_path, &[("_csrf", &csrf), ("offer", &offer), ("funding", "self_pay"),
            ("start_time", "14:00"), ("plan_minutes", "60"), ("start_on", &tomorrow)]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("请至少选择一天"), "{}", bad.text);
        let resp = app.post_form(&v, &plan_path, &[("_csrf", &csrf), ("offer", &offer), ("funding", "self_pay"),
            ("weekday", "1"), ("weekday", "2"), ("weekday", "3"), ("weekday", "4"), ("weekday", "5"),
            ("weekday", "6"), ("weekday", "7"), ("start_time", "14:00"), ("plan_minutes", "60"),
            ("start_on", &tomorrow)]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let after = app.get(&v, &path).await;
        assert!(after.text_of("#plans").unwrap().contains("每天 14:00，60 分钟"), "{}", after.text);
        assert_eq!(after.texts("#recent-orders tbody tr").len(), 2 + 13);

        // The provider: skills for both caregivers, then dispatch tomorrow.
        app.create_user("provider_o", Role::ProviderAdmin, "430302").await;
        let p = app.login("provider_o").await;
        let staff_page = app.get(&p, &format!("/providers/{}/staff", app.provider_id)).await;
        // One form sets everyone's skills; the items are listed by name.
        let staff: Vec<String> = staff_page.attrs("#skills-form input[name=staff]", "value");
        assert_eq!(staff.len(), 2);
        let item = offer.split('|').nth(1).unwrap().to_string();
        let labels = staff_page.texts("#skills-form label.skill");
        assert!(labels.iter().all(|l| !l.contains(&item)), "names, not codes: {labels:?}");
        let csrf = staff_page.csrf();
        let ticks: Vec<String> = staff.iter().map(|s| format!("{s}|{item}")).collect();
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &csrf)];
        form.extend(staff.iter().map(|s| ("staff", s.as_str())));
        form.extend(ticks.iter().map(|t| ("skill", t.as_str())));
        let resp = app.post_form(&p, &format!("/providers/{}/skills", app.provider_id), &form).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("staff.skills").await, 2, "one entry per person whose skills changed");
        // Saving the same form again changes nobody.
        let resp = app.post_form(&p, &format!("/providers/{}/skills", app.provider_id), &form).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("staff.skills").await, 2);
        let board = app.get(&p, &format!("/orders?day={tomorrow}")).await;
        assert_eq!(board.status, StatusCode::OK);
        assert_eq!(board.texts("#orders tbody tr").len(), 2, "the visit and the plan's first day");
        assert!(board.text_of("#orders").unwrap().contains("未派单"));
        let resp = app.post_form(&p, "/orders/dispatch", &[("_csrf", &board.csrf()), ("day", &tomorrow)]).await;
        let done = TestApp::page(resp).await;
        assert_eq!(done.status, StatusCode::OK);
        assert!(done.text_of("#dispatch-report").unwrap().contains("已派出 2 单"), "{}", done.text);
        assert!(!done.text_of("#orders").unwrap().contains("未派单"));
        // Leave without a reason is refused; with one, the day is dispatched again.
        let leave = done.attr("#caregivers form", "action").unwrap();
        // The day's own hours: refused by field when missing or backwards, then shown.
        let shift = |a: &'static str, z: &'static str| vec![("_csrf", board.csrf()), ("day", tomorrow.clone()), ("kind", "shift".into()), ("starts_at", a.into()), ("ends_at", z.into())];
        for (a, z, field) in [("", "12:00", "#starts_at"), ("12:00", "09:00", "#ends_at")] {
            let fields = shift(a, z);
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let bad = TestApp::page(app.post_form(&p, &leave, &pairs).await).await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(bad.attr("#error-summary a", "href").as_deref(), Some(field));
        }
        let fields = shift("09:00", "12:00");
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = app.post_form(&p, &leave, &pairs).await;
        assert!(resp.status().is_success() || resp.status() == StatusCode::SEE_OTHER, "{}", resp.status());
        let board = app.get(&p, &format!("/orders?day={tomorrow}")).await;
        assert!(board.text_of("#caregivers").unwrap().contains("排班 09:00–12:00"), "{}", board.text);
        let resp = app.post_form(&p, &leave, &[("_csrf", &board.csrf()), ("day", &tomorrow), ("kind", "leave"), ("reason", "")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let resp = app.post_form(&p, &leave, &[("_csrf", &board.csrf()), ("day", &tomorrow), ("kind", "leave"), ("reason", "病假")]).await;
        let after = TestApp::page(resp).await;
        assert_eq!(after.status, StatusCode::OK);
        assert!(after.text_of("#dispatch-report").is_some(), "{}", after.text);
        assert!(after.text_of("#caregivers").unwrap().contains("请假：病假"));
        // A village worker naming the provider in the address does not see its caregivers' day.
        let peek = app.get(&v, &format!("/orders?day={tomorrow}&provider={}", app.provider_id)).await;
        assert!(!peek.text.contains("病假"), "{}", peek.text);
        assert!(peek.text_of("#caregivers").is_none_or(|t| !t.contains("请假")));
        // Cancelling needs a reason.
        let first = after.attr("#orders tbody tr", "id").unwrap().trim_start_matches("order-").to_string();
        let resp = app.post_form(&p, &format!("/orders/{first}/end"), &[("_csrf", &board.csrf()), ("day", &tomorrow), ("how", "cancelled"), ("reason", " ")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("请填写取消或未服务的原因"));
        assert_eq!(app.audit_count("order.dispatch").await, 2);
        assert_eq!(app.audit_count("plan.create").await, 1);
        // The list is of the days around today: the two single orders, moved to long ago,
        // leave it; the plan's 13 stay.
        app.db.tamper("UPDATE service_orders SET service_on = '2020-01-06' WHERE plan_id IS NULL").await;
        let later = app.get(&v, &path).await;
        assert_eq!(later.texts("#recent-orders tbody tr").len(), 13);
    }
}

test_on_both! {
    async fn the_person_rates_a_visit_on_the_caregivers_phone_and_it_shows_in_the_roll_up(app: TestApp) {
        let (order, code) = setup(&app).await;
        let token = app.token("carer_a").await;
        let visit = Uuid::now_v7();
        let stamp = |t: chrono::DateTime<chrono::Utc>| json!({ "device_at": t.to_rfc3339(), "lat": HOME.0, "lon": HOME.1 });
        let mut body = stamp(app.clock_now());
        body["visit_id"] = json!(visit);
        body["order_id"] = json!(order);
        let (s, _) = app.api_post(&token, "/api/v1/visits/check-in", body).await;
        assert_eq!(s, StatusCode::OK);
        app.clock.advance(Duration::minutes(50));
        let mut out = stamp(app.clock_now());
        out["code"] = json!(code);
        let (s, _) = app.api_post(&token, &format!("/api/v1/visits/{visit}/check-out"), out).await;
        assert_eq!(s, StatusCode::OK);
        let carer = app.login("carer_a").await;
        let mine = app.get(&carer, "/my/visits").await;
        let action = mine.attr(".rating-form", "action").unwrap();
        let resp = app.post_form(&carer, &action, &[("_csrf", &mine.csrf()), ("comment", "很好")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("请选择 1 到 5 星"));
        let resp = app.post_form(&carer, &action, &[("_csrf", &mine.csrf()), ("score", "5"), ("comment", "很好")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let after = app.get(&carer, "/my/visits").await;
        assert!(after.text_of(".rated").unwrap().contains("5 星"));
        // The other caregiver cannot rate this visit.
        let other = app.login("carer_b").await;
        let resp = app.post_form(&other, &action, &[("_csrf", &app.get(&other, "/my/visits").await.csrf()), ("score", "1")]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);

        app.create_user("county_s", Role::CountyStaff, "430302").await;
        let county = app.login("county_s").await;
        let roll = app.get(&county, "/satisfaction").await;
        assert_eq!(roll.status, StatusCode::OK);
        // Given on the caregiver's phone: counted apart from the person's own ratings.
        let cells = roll.texts("#ratings tbody tr td");
        assert_eq!((cells[1].as_str(), cells[2].as_str(), cells[3].as_str()), ("0", "1", "5.0"));
        let by_carer = app.get(&county, "/satisfaction?by=caregiver").await;
        assert!(by_carer.text_of("#ratings").unwrap().contains("护理员1"));

        app.create_user("inspector_i", Role::Inspector, "4303").await;
        let inspector = app.login("inspector_i").await;
        let signals = app.get(&inspector, &format!("/visits/signals?month={}", orders::month_of(china_date(app.clock_now())))).await;
        assert_eq!(signals.status, StatusCode::OK);
        assert!(signals.text_of("#no-signals").is_some(), "one honest visit raises nothing: {}", signals.text);
        let bad = app.get(&inspector, "/visits/signals?month=2026-13").await;
        assert!(bad.text.contains("月份格式"), "{}", bad.text);
        // A caregiver may not look at signals.
        assert_eq!(app.get(&carer, "/visits/signals").await.status, StatusCode::FORBIDDEN);
        // A township worker revokes the visit after an inspection (a reason is required).
        app.create_user("township_r", Role::TownshipStaff, "430302001").await;
        let township = app.login("township_r").await;
        let csrf = app.get(&township, "/visits/signals").await.csrf();
        let path = format!("/visits/{visit}/revoke");
        let resp = app.post_form(&township, &path, &[("_csrf", &csrf), ("reason", " ")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("请填写撤销理由"), "{}", bad.text);
        let resp = app.post_form(&township, &path, &[("_csrf", &csrf), ("reason", "2026-JC-017 抽查：老人当天住院")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let resp = app.post_form(&carer, &path, &[("_csrf", &mine.csrf()), ("reason", "x")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.audit_count("visit.revoke").await, 1);
    }
}
