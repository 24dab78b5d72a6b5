//! Home services purely over the API, as a provider's own system and a caregiver's app would
//! use them: booking (idempotent), the order list with a cursor, assignment, the caregiver's
//! day, check-in and check-out with the person's code, and the month's statement from
//! generation to payment, with its lines and its XLSX.

use chrono::Duration;
use jinglao_db::test_on_both;
use jinglao_domain::Role;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::common::TestApp;
use crate::visits::{ITEM, stamp, with, world};

/// POST with an `Idempotency-Key`; the status, whether it was a replay, and the body.
async fn post_once(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: serde_json::Value,
) -> (StatusCode, bool, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    (status, replayed, resp.json().await.unwrap_or_default())
}

test_on_both! {
    async fn a_caregivers_day_runs_over_the_api_from_booking_to_the_paid_statement(app: TestApp) {
        // The day's visit must not cross midnight, whenever the test runs.
        app.morning();
        let (elder, staff) = world(&app).await;
        app.create_user("provider_p", Role::ProviderAdmin, "430302").await;
        let p = app.token("provider_p").await;

        // The provider's system books a visit; a retry with the same key is the same order.
        let start = app.clock_now() + Duration::hours(1);
        let booking = json!({ "elder_id": elder, "item_code": ITEM, "window_start": start.to_rfc3339(), "minutes": 60 });
        let (s, replayed, first) = post_once(&app, &p, "/api/v1/orders", "book-1", booking.clone()).await;
        assert_eq!((s, replayed), (StatusCode::CREATED, false), "{first}");
        let (s, replayed, again) = post_once(&app, &p, "/api/v1/orders", "book-1", booking.clone()).await;
        assert_eq!((s, replayed, &again), (StatusCode::CREATED, true, &first));
        assert_eq!(app.audit_count("order.place").await, 1, "one order for two requests");
        // The same key with another body is refused, naming the header.
        let (s, _, e) = post_once(&app, &p, "/api/v1/orders", "book-1", with(booking.clone(), json!({ "minutes": 30 }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")), "{e}");
        // Bad input is named by field: a time that is not RFC 3339, minutes as text.
        let (s, e) = app.api_post(&p, "/api/v1/orders", with(booking.clone(), json!({ "window_start": "明天上午" }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("window_start")), "{e}");
        let (s, e) = app.api_post(&p, "/api/v1/orders", with(booking.clone(), json!({ "minutes": "六十" }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("minutes")), "{e}");
        let order = first["order_id"].as_str().unwrap().to_string();

        // A second order later the same day, to page through the list one at a time.
        let (s, _) = app.api_post(&p, "/api/v1/orders", with(booking.clone(), json!({ "window_start": (start + Duration::hours(3)).to_rfc3339() }))).await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, page1) = app.api_get(&p, "/api/v1/orders?limit=1").await;
        assert_eq!(s, StatusCode::OK, "{page1}");
        assert_eq!(page1["items"][0]["id"].as_str(), Some(order.as_str()));
        assert_eq!(page1["items"][0]["status_label"], "待服务");
        let cursor = page1["next_cursor"].as_str().expect("a second page").to_string();
        let (_, page2) = app.api_get(&p, &format!("/api/v1/orders?limit=1&cursor={cursor}")).await;
        assert_eq!(page2["items"].as_array().unwrap().len(), 1);
        assert_ne!(page2["items"][0]["id"], page1["items"][0]["id"]);
        assert!(page2["next_cursor"].is_null(), "{page2}");
        let (s, e) = app.api_get(&p, "/api/v1/orders?cursor=forged").await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("cursor")), "{e}");
        let (_, unassigned) = app.api_get(&p, "/api/v1/orders?unassigned=true&status=booked").await;
        assert_eq!(unassigned["items"].as_array().unwrap().len(), 2);

        // The provider assigns the first order to carer_a.
        let (s, assigned) = app.api_post(&p, &format!("/api/v1/orders/{order}/assign"), json!({ "caregiver_id": staff[0] })).await;
        assert_eq!(s, StatusCode::OK, "{assigned}");

        // The caregiver's day: the visit, as the phone shows it.
        let a = app.token("carer_a").await;
        let (s, day) = app.api_get(&a, "/api/v1/me/visits").await;
        assert_eq!(s, StatusCode::OK, "{day}");
        let items = day["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{day}");
        assert_eq!(items[0]["order_id"].as_str(), Some(order.as_str()));
        assert_eq!(items[0]["item_name"], "助行服务");
        assert_eq!(items[0]["elder_name"], "王秀英");
        assert_eq!(items[0]["state_label"], "未开始");
        let raw = day.to_string();
        assert!(!raw.contains(&crate::visits::id_number()) && !raw.contains(crate::visits::PHONE), "no ID or phone number on a caregiver's day");
        // A provider administrator is not a caregiver.
        let (s, _) = app.api_get(&p, "/api/v1/me/visits").await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Check in at the door, check out with the code the person reads from their page.
        let visit = Uuid::now_v7();
        app.clock.advance(Duration::hours(1));
        let (s, e) = app.api_post(&a, "/api/v1/visits/check-in", with(stamp(app.clock_now()), json!({ "visit_id": visit, "order_id": order }))).await;
        assert_eq!(s, StatusCode::OK, "{e}");
        let code = {
            let mut c = app.state.db.acquire().await.unwrap();
            let codes = jinglao_db::orders::codes_to_give(&mut c.conn(), elder, app.state.today()).await.unwrap();
            codes.into_iter().find(|(id, _)| id.to_string() == order).expect("the person's code").1
        };
        app.clock.advance(Duration::minutes(60));
        let (s, out) = app.api_post(&a, &format!("/api/v1/visits/{visit}/check-out"), with(stamp(app.clock_now()), json!({ "code": code }))).await;
        assert_eq!((s, out["status"].as_str()), (StatusCode::OK, Some("verified")), "{out}");
        let (_, day) = app.api_get(&a, "/api/v1/me/visits").await;
        assert_eq!(day["items"][0]["state_label"], "已完成，核验通过");
        assert_eq!(day["items"][0]["visit_id"].as_str(), Some(visit.to_string().as_str()));

        // The month ends; finance settles it.
        let month = jinglao_db::orders::month_of(app.state.today());
        app.clock.advance(Duration::days(35));
        app.create_user("finance_f", Role::Finance, "4303").await;
        let f = app.token("finance_f").await;
        // Tokens are short-lived: the provider's system signs in again a month later.
        let p = app.token("provider_p").await;
        let run = json!({ "provider_id": app.provider_id, "month": month });
        let (s, e) = app.api_post(&f, "/api/v1/statements", with(run.clone(), json!({ "month": "2026-13" }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("month")), "{e}");
        let (s, report) = app.api_post(&f, "/api/v1/statements", run.clone()).await;
        assert_eq!(s, StatusCode::OK, "{report}");
        assert_eq!((report["added"].as_u64(), report["statement"]["total_fen"].as_i64()), (Some(1), Some(3_000)), "{report}");
        let id = report["statement"]["id"].as_str().unwrap().to_string();
        let (_, list) = app.api_get(&f, &format!("/api/v1/statements?month={month}")).await;
        assert_eq!(list["items"][0]["id"].as_str(), Some(id.as_str()), "{list}");
        assert_eq!(list["items"][0]["status_label"], "待确认");
        let (s, detail) = app.api_get(&p, &format!("/api/v1/statements/{id}")).await;
        assert_eq!(s, StatusCode::OK, "the provider reads its own statement: {detail}");
        assert_eq!(detail["lines"][0]["visit_id"].as_str(), Some(visit.to_string().as_str()), "{detail}");
        assert_eq!(detail["lines"][0]["amount_fen"], 3_000);
        assert_eq!(detail["lines"][0]["verification"], "自动核验通过");

        // Confirm (provider), approve (finance), pay (another finance account).
        let step = |s: &str| json!({ "step": s });
        let (s, _) = app.api_post(&f, &format!("/api/v1/statements/{id}/steps"), step("confirm")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the bureau does not confirm for the provider");
        let (s, _, confirmed) = post_once(&app, &p, &format!("/api/v1/statements/{id}/steps"), "confirm-1", step("confirm")).await;
        assert_eq!((s, confirmed["status"].as_str()), (StatusCode::OK, Some("confirmed")), "{confirmed}");
        let (s, replayed, again) = post_once(&app, &p, &format!("/api/v1/statements/{id}/steps"), "confirm-1", step("confirm")).await;
        assert_eq!((s, replayed, &again), (StatusCode::OK, true, &confirmed), "a retried confirmation is answered, not refused");
        let (s, _) = app.api_post(&f, &format!("/api/v1/statements/{id}/steps"), step("approve")).await;
        assert_eq!(s, StatusCode::OK);
        app.create_user("cashier_c", Role::Finance, "4303").await;
        let cashier = app.token("cashier_c").await;
        let (s, e) = app.api_post(&cashier, &format!("/api/v1/statements/{id}/steps"), step("pay")).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("step")), "payment is not a step: {e}");
        // The approver may not send it for payment; the cashier does, and it is paid only when
        // the treasury's confirmation comes back.
        let (s, e) = app.api_post(&f, "/api/v1/payment-batches", json!({ "statement_ids": [id] })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("statement_ids")), "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("不同的人"), "{e}");
        let (s, batch) = app.api_post(&cashier, "/api/v1/payment-batches", json!({ "statement_ids": [id] })).await;
        assert_eq!((s, batch["line_count"].as_i64()), (StatusCode::CREATED, Some(1)), "{batch}");
        let (_, shown) = app.api_get(&f, &format!("/api/v1/statements/{id}")).await;
        assert_eq!(shown["status_label"], "国库支付中", "{shown}");
        let bid = batch["id"].as_str().unwrap();
        let answer = |amount: i64| json!({ "rows": [{ "batch_no": batch["batch_no"], "seq": 1, "amount_fen": amount,
            "result": "paid", "voucher_no": "GK-2026-000123", "paid_on": jinglao_domain::clock::china_date(app.clock_now()) }] });
        let (s, e) = app.api_post(&cashier, &format!("/api/v1/payment-batches/{bid}/confirmation"), answer(2_999)).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rows[0].amount_fen")), "{e}");
        let (s, done) = app.api_post(&cashier, &format!("/api/v1/payment-batches/{bid}/confirmation"), answer(3_000)).await;
        assert_eq!((s, done["statements_paid"].as_i64()), (StatusCode::OK, Some(1)), "{done}");
        let (_, paid) = app.api_get(&f, &format!("/api/v1/statements/{id}")).await;
        assert_eq!(paid["status_label"], "已支付", "{paid}");
        let resp = reqwest::Client::new().get(app.url(&format!("/api/v1/payment-batches/{bid}/file?format=csv"))).bearer_auth(&cashier).send().await.unwrap();
        let csv = resp.text().await.unwrap();
        assert!(csv.contains("批次号") && csv.contains("成功"), "the file shows the answer: {csv}");

        let resp = reqwest::Client::new().get(app.url(&format!("/api/v1/statements/{id}/xlsx"))).bearer_auth(&f).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
        assert!(resp.bytes().await.unwrap().starts_with(b"PK"));
        assert_eq!(app.audit_count("payment_batch.confirm").await, 1);
    }
}

test_on_both! {
    async fn order_and_statement_apis_keep_to_the_callers_scope_and_role(app: TestApp) {
        let (elder, _) = world(&app).await;
        // A village worker elsewhere sees none of this provider's orders and cannot book for
        // a person outside the village.
        app.create_user("village_far", Role::VillageStaff, "430302001002").await;
        let v = app.token("village_far").await;
        let booking = json!({ "elder_id": elder, "provider_id": app.provider_id, "item_code": ITEM,
            "window_start": (app.clock_now() + Duration::hours(2)).to_rfc3339(), "minutes": 60 });
        let (s, e) = app.api_post(&v, "/api/v1/orders", booking.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
        // A caregiver may neither book, list orders nor read statements.
        let a = app.token("carer_a").await;
        let (s, _) = app.api_post(&a, "/api/v1/orders", booking).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.api_get(&a, "/api/v1/statements").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // A statement id outside the caller's reach is 404, like one that does not exist.
        app.create_user("finance_f", Role::Finance, "4303").await;
        let f = app.token("finance_f").await;
        let (s, _) = app.api_get(&f, &format!("/api/v1/statements/{}", Uuid::now_v7())).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // A malformed key is refused before anything runs.
        let resp = reqwest::Client::new().post(app.url("/api/v1/dispatch/auto")).bearer_auth(&f)
            .header("Idempotency-Key", "键").json(&json!({ "date": "2026-12-08" })).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
}
