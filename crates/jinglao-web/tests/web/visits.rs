//! Caregivers' check-in and check-out over the API: idempotent retries, someone else's order
//! or visit (403), an account that is not a caregiver (403), and bad input named by field.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinglao_db::elders::{self, Secrets};
use jinglao_db::entitlements::{self, NewEntitlement};
use jinglao_db::orders::{self, Channel, NewOrder};
use jinglao_db::staff::{self, HireDraft as Hire};
use jinglao_db::{Actor, service_lists, test_on_both, visits};
use jinglao_domain::elder::{ElderDraft, ValidationContext};
use jinglao_domain::order::Funding;
use jinglao_domain::rules::Rule;
use jinglao_domain::service_list::{Payer, Quota, ServiceCategory, ServiceItem};
use jinglao_domain::{RegionCode, ResidentId, Role};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::common::TestApp;

pub(crate) const ITEM: &str = "XT-ZX-01";
pub(crate) const HOME: (f64, f64) = (27.8292, 112.9440);
/// The person's own phone and their son's, on record.
pub(crate) const PHONE: &str = "13807310001";
pub(crate) const SON_PHONE: &str = "13907310002";
/// The person's ID number.
pub(crate) fn id_number() -> String {
    ResidentId::from_first17("43030219380310001")
        .as_str()
        .to_string()
}

/// A priced item, two caregivers with accounts, one enrolled person with a home position, and
/// one order assigned to the first caregiver. Returns the order, its code and the elder.
pub(crate) async fn setup(app: &TestApp) -> (Uuid, String) {
    let (elder, staff_ids) = world(app).await;
    let db = &app.state.db;
    let chain = &app.state.keys.audit_chain;
    let cli = Actor::cli();
    let placed = orders::place(
        db,
        chain,
        &cli,
        &NewOrder {
            elder_id: elder,
            provider_id: app.provider_id,
            item_code: ITEM,
            funding: Some(Funding::Entitlement),
            window_start: Some(app.clock_now() + Duration::hours(1)),
            latest_start: None,
            minutes: Some(60),
            channel: Channel::Phone,
        },
        app.clock_now(),
    )
    .await
    .unwrap();
    orders::assign(db, chain, &cli, placed.id, staff_ids[0], Utc::now())
        .await
        .unwrap();
    (placed.id, placed.confirm_code)
}

/// A priced item (`ITEM`, 30 yuan a visit), two caregivers with accounts (`carer_a`,
/// `carer_b`) and one enrolled person with a home position, and no order yet. Returns the
/// person and the caregivers' staff ids.
pub(crate) async fn world(app: &TestApp) -> (Uuid, Vec<Uuid>) {
    let db = &app.state.db;
    let chain = &app.state.keys.audit_chain;
    let cli = Actor::cli();
    let item = ServiceItem {
        code: ITEM.into(),
        name: "助行服务".into(),
        category: ServiceCategory::Care,
        target: Rule::parse("age >= 60").unwrap(),
        content: "陪同出行".into(),
        payer: Payer::GovernmentInFull,
        quota: Quota::TimesPerMonth(8),
        effective_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        effective_to: None,
        basis: "潭政办发〔2023〕20号".into(),
    };
    let region = RegionCode::parse("4303").unwrap();
    let list = service_lists::publish(
        &jinglao_db::WriteCtx::new(db, chain, &cli, Utc::now()),
        region,
        "湘潭市清单",
        "潭政办发〔2023〕20号",
        &[item],
    )
    .await
    .unwrap();
    let p = app.provider_id;
    // Government-funded visits are charged only at a contract's price.
    let today = jinglao_domain::clock::china_date(Utc::now());
    jinglao_db::testing_contract::contract_prices(
        db,
        chain,
        p,
        &[(ITEM, 3_000, 30, false)],
        today - chrono::Duration::days(365),
        today + chrono::Duration::days(700),
    )
    .await;
    let mut staff_ids = Vec::new();
    for (n, username) in [(1u32, "carer_a"), (2, "carer_b")] {
        let hire = Hire {
            name: format!("护理员{n}"),
            id_number: ResidentId::from_first17(&format!("43030219800101{n:03}"))
                .as_str()
                .to_string(),
            role: "养老护理员".into(),
            start_on: "2024-01-01".into(),
            full_time: true,
            ..Default::default()
        };
        let staff_id = staff::hire(
            db,
            chain,
            &app.state.keys.cipher,
            &cli,
            p,
            &hire.parse().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
        let account = app.create_user(username, Role::Caregiver, "430302").await;
        visits::link_account(db, chain, &cli, account.id, staff_id, Utc::now())
            .await
            .unwrap();
        staff_ids.push(staff_id);
    }
    let draft = ElderDraft {
        name: "王秀英".into(),
        id_number: ResidentId::from_first17("43030219380310001")
            .as_str()
            .to_string(),
        ethnicity: "汉族".into(),
        hukou_region_code: "430302".into(),
        residence_region_code: "430302001001".into(),
        living_arrangement: "独居".into(),
        marital_status: "丧偶".into(),
        education: "小学".into(),
        latitude: HOME.0.to_string(),
        longitude: HOME.1.to_string(),
        phones: PHONE.into(),
        contacts: vec![jinglao_domain::elder::ContactDraft {
            name: "李强".into(),
            relation: "儿子".into(),
            phone: SON_PHONE.into(),
        }],
        ..Default::default()
    };
    let input = draft
        .validate(&ValidationContext {
            regions: &app.state.regions.tree(),
            today: app.state.today(),
            min_age: 60,
        })
        .unwrap();
    let secrets = Secrets {
        chain,
        cipher: &app.state.keys.cipher,
    };
    let elder = elders::create(db, secrets, &cli, &input, &[], Utc::now())
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    entitlements::enrol(
        &mut tx.conn(),
        chain,
        &cli,
        &NewEntitlement {
            elder_id: elder,
            item_code: ITEM,
            list_id: list.id,
            application_id: None,
            start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        },
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (elder, staff_ids)
}

pub(crate) fn stamp(t: DateTime<Utc>) -> serde_json::Value {
    json!({ "device_at": t.to_rfc3339(), "lat": HOME.0 + 0.0004, "lon": HOME.1 })
}

pub(crate) fn with(mut a: serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    for (k, v) in b.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

test_on_both! {
    async fn a_caregiver_checks_in_and_out_over_the_api_and_retries_answer_the_same_visit(app: TestApp) {
        let (order, code) = setup(&app).await;
        let a = app.token("carer_a").await;
        let b = app.token("carer_b").await;
        let visit = Uuid::now_v7();
        let body = with(stamp(app.clock_now()), json!({ "visit_id": visit, "order_id": order }));
        // Someone else's order; an account that is no caregiver.
        let (s, e) = app.api_post(&b, "/api/v1/visits/check-in", body.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
        app.create_user("village_v", Role::VillageStaff, "430302001001").await;
        let v = app.token("village_v").await;
        let (s, _) = app.api_post(&v, "/api/v1/visits/check-in", body.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Bad input, by field.
        let (s, e) = app.api_post(&a, "/api/v1/visits/check-in", with(body.clone(), json!({ "device_at": "昨天" }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("device_at")), "{e}");
        let (s, e) = app.api_post(&a, "/api/v1/visits/check-in", with(body.clone(), json!({ "lat": 95.0 }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("lat")), "{e}");
        let (s, e) = app.api_post(&a, &format!("/api/v1/visits/{visit}/check-out"), stamp(app.clock_now())).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("visit_id")), "check-out before check-in: {e}");
        // Check in twice (the second a retry with a fresh id): one visit.
        let (s, first) = app.api_post(&a, "/api/v1/visits/check-in", body.clone()).await;
        assert_eq!(s, StatusCode::OK, "{first}");
        let (s, second) = app.api_post(&a, "/api/v1/visits/check-in", with(body.clone(), json!({ "visit_id": Uuid::now_v7() }))).await;
        assert_eq!((s, &second["visit_id"]), (StatusCode::OK, &first["visit_id"]));
        app.clock.advance(Duration::minutes(50));
        let out = with(stamp(app.clock_now()), json!({ "code": code, "tasks": "walk" }));
        let (s, e) = app.api_post(&b, &format!("/api/v1/visits/{visit}/check-out"), out.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
        let (s, done) = app.api_post(&a, &format!("/api/v1/visits/{visit}/check-out"), out.clone()).await;
        assert_eq!((s, done["status"].as_str()), (StatusCode::OK, Some("verified")), "{done}");
        let (s, again) = app.api_post(&a, &format!("/api/v1/visits/{visit}/check-out"), out).await;
        assert_eq!((s, again), (StatusCode::OK, done));
        assert_eq!(app.audit_count("visit.check_in").await, 1);
        assert_eq!(app.audit_count("visit.check_out").await, 1);
    }
}

test_on_both! {
    async fn a_township_worker_decides_a_visit_in_the_exception_queue_with_a_reason(app: TestApp) {
        let (order, _) = setup(&app).await;
        let a = app.token("carer_a").await;
        let visit = Uuid::now_v7();
        let (s, _) = app.api_post(&a, "/api/v1/visits/check-in", with(stamp(app.clock_now()), json!({ "visit_id": visit, "order_id": order }))).await;
        assert_eq!(s, StatusCode::OK);
        app.clock.advance(Duration::minutes(45));
        // No code from the elder: the visit waits for a reviewer.
        let (_, out) = app.api_post(&a, &format!("/api/v1/visits/{visit}/check-out"), stamp(app.clock_now())).await;
        assert_eq!(out["status"], "exception", "{out}");
        assert_eq!(out["findings"][0]["code"], "no_confirmation");

        app.create_user("township_t", Role::TownshipStaff, "430302001").await;
        let t = app.login("township_t").await;
        let page = app.get(&t, "/visits/exceptions").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text_of("#queue-count").unwrap().contains("待核查 1 次"), "{}", page.text);
        assert!(page.text.contains("缺少老人确认"), "the reason is shown in words");
        let filtered = app.get(&t, "/visits/exceptions?code=too_far").await;
        assert!(filtered.text_of("#queue-count").unwrap().contains("待核查 0 次"));
        let csrf = page.csrf();
        let path = format!("/visits/{visit}/review");
        let resp = app.post_form(&t, &path, &[("_csrf", &csrf), ("decision", "accept"), ("reason", " ")]).await;
        let errors = TestApp::page(resp).await;
        assert_eq!(errors.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(errors.text.contains("请填写审核理由"), "{}", errors.text);
        let resp = app.post_form(&t, &path, &[("_csrf", &csrf), ("decision", "accept"), ("reason", "已电话回访，老人确认服务完成")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let after = app.get(&t, "/visits/exceptions").await;
        assert!(after.text_of("#queue-count").unwrap().contains("待核查 0 次"));
        let decided = app.get(&t, "/visits/exceptions?decided=yes").await;
        assert!(decided.text.contains("已电话回访"), "{}", decided.text);

        // A village worker may not open the queue; the provider sees its own, without the forms.
        app.create_user("village_q", Role::VillageStaff, "430302001001").await;
        let v = app.login("village_q").await;
        assert_eq!(app.get(&v, "/visits/exceptions").await.status, StatusCode::FORBIDDEN);
        let resp = app.post_form(&v, &path, &[("_csrf", &app.get(&v, "/").await.csrf()), ("decision", "reject"), ("reason", "x")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.audit_count("visit.review").await, 1);
    }
}

test_on_both! {
    async fn a_reviewer_corrects_a_forgotten_check_out_with_a_reason_from_the_list_on_the_page_and_over_the_api(app: TestApp) {
        let (order, code) = setup(&app).await;
        let a = app.token("carer_a").await;
        let visit = Uuid::now_v7();
        app.api_post(&a, "/api/v1/visits/check-in", with(stamp(app.clock_now()), json!({ "visit_id": visit, "order_id": order }))).await;
        let started = app.clock_now();
        app.clock.advance(Duration::minutes(10));
        // Checked out after ten minutes (forgotten and done in the street): too short.
        let (_, out) = app.api_post(&a, &format!("/api/v1/visits/{visit}/check-out"), with(stamp(app.clock_now()), json!({ "code": code }))).await;
        assert_eq!(out["findings"][0]["code"], "too_short", "{out}");
        app.clock.advance(Duration::hours(2));
        app.create_user("township_c", Role::TownshipStaff, "430302001").await;
        let t = app.login("township_c").await;
        let page = app.get(&t, "/visits/exceptions").await;
        assert!(page.text.contains("更正签到或签退时间"));
        let end = (started + Duration::minutes(50)).with_timezone(&jinglao_domain::clock::china_offset()).naive_local();
        let (day, time) = (end.date().to_string(), end.format("%H:%M").to_string());
        let path = format!("/visits/{visit}/correction");
        // Without a reason from the list: refused by name.
        let resp = app.post_form(&t, &path, &[("_csrf", &page.csrf()), ("which", "check_out"), ("day", &day), ("time", &time), ("reason_code", ""), ("reason", "")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.attr("#error-summary a", "href").as_deref(), Some("#reason_code"));
        let resp = app.post_form(&t, &path, &[("_csrf", &page.csrf()), ("which", "check_out"), ("day", &day), ("time", &time),
            ("reason_code", "forgot_check_out"), ("reason", "家属电话确认 10:50 结束")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("visit.correct").await, 1);
        // Over the API: a code not on the list is named; another correction re-checks again.
        let tt = app.token("township_c").await;
        let (s, e) = app.api_post(&tt, &format!("/api/v1/visits/{visit}/corrections"),
            json!({ "field": "check_in", "at": started.to_rfc3339(), "reason_code": "because" })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_code")), "{e}");
        let (s, done) = app.api_post(&tt, &format!("/api/v1/visits/{visit}/corrections"),
            json!({ "field": "check_in", "at": started.to_rfc3339(), "reason_code": "device_clock", "note": "" })).await;
        assert_eq!((s, done["status"].as_str()), (StatusCode::OK, Some("verified")), "{done}");
        // A caregiver may not correct.
        let (s, _) = app.api_post(&a, &format!("/api/v1/visits/{visit}/corrections"),
            json!({ "field": "check_in", "at": started.to_rfc3339(), "reason_code": "device_clock" })).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

test_on_both! {
    async fn a_month_is_settled_confirmed_by_the_provider_approved_paid_and_exported(app: TestApp) {
        let (order, code) = setup(&app).await;
        let a = app.token("carer_a").await;
        let visit = Uuid::now_v7();
        app.api_post(&a, "/api/v1/visits/check-in", with(stamp(app.clock_now()), json!({ "visit_id": visit, "order_id": order }))).await;
        let month = jinglao_db::orders::month_of(jinglao_domain::clock::china_date(app.clock_now()));
        app.clock.advance(Duration::minutes(45));
        let (_, out) = app.api_post(&a, &format!("/api/v1/visits/{visit}/check-out"), with(stamp(app.clock_now()), json!({ "code": code }))).await;
        assert_eq!(out["status"], "verified", "{out}");
        app.clock.advance(Duration::days(35));

        app.create_user("finance_f", Role::Finance, "4303").await;
        let f = app.login("finance_f").await;
        let list = app.get(&f, "/statements").await;
        assert_eq!(list.status, StatusCode::OK);
        let csrf = list.csrf();
        let provider = app.provider_id.to_string();
        let bad = app.post_form(&f, "/statements", &[("_csrf", &csrf), ("provider_id", &provider), ("month", "2026-13"), ("funding", "entitlement")]).await;
        let bad = TestApp::page(bad).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text.contains("月份格式"), "{}", bad.text);
        let resp = app.post_form(&f, "/statements", &[("_csrf", &csrf), ("provider_id", &provider), ("month", &month), ("funding", "entitlement")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        let path = location.split('?').next().unwrap().to_string();
        let page = app.get(&f, &location).await;
        assert_eq!(page.text_of("#statement-total").as_deref(), Some("30.00 元"));
        assert_eq!(page.text_of("#statement-status").as_deref(), Some("待确认"));
        assert_eq!(page.texts("#lines tbody tr").len(), 1);
        // Re-running the month adds nothing.
        let again = app.post_form(&f, "/statements", &[("_csrf", &csrf), ("provider_id", &provider), ("month", &month), ("funding", "entitlement")]).await;
        assert!(again.headers()["location"].to_str().unwrap().contains("added=0"));
        // The bureau may not confirm for the provider.
        let resp = app.post_form(&f, &format!("{path}/step"), &[("_csrf", &csrf), ("step", "confirm")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);

        app.create_user("provider_p", Role::ProviderAdmin, "430302").await;
        let p = app.login("provider_p").await;
        let mine = app.get(&p, &path).await;
        assert!(mine.text.contains("确认无误"));
        let resp = app.post_form(&p, &format!("{path}/step"), &[("_csrf", &mine.csrf()), ("step", "confirm")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let resp = app.post_form(&f, &format!("{path}/step"), &[("_csrf", &csrf), ("step", "approve")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        // Payment is not typed in here: finance pays it through a treasury batch.
        let approved = app.get(&f, &path).await;
        assert!(approved.text_of("#pay-note").is_some_and(|t| t.contains("国库支付批次")), "{}", approved.text);
        let resp = app.post_form(&f, &format!("{path}/step"), &[("_csrf", &csrf), ("step", "pay")]).await;
        let refused = TestApp::page(resp).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text.contains("收到国库的支付确认后才记为已支付"), "{}", refused.text);
        let resp = f.get(app.url(&format!("{path}.xlsx"))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
        let bytes = resp.bytes().await.unwrap();
        assert!(bytes.starts_with(b"PK"), "an XLSX (zip) file");
    }
}

test_on_both! {
    async fn the_phone_page_takes_records_kept_offline_with_the_phones_time_flags_them_and_refuses_one_without_it(app: TestApp) {
        // The visit an hour from now must fall on the same day, whenever the test runs.
        app.morning();
        let (order, _) = setup(&app).await;
        let carer = app.login("carer_a").await;
        let page = app.get(&carer, "/my/visits").await;
        let csrf = page.csrf();
        let visit = page.attr("input[name=visit_id]", "value").unwrap();
        // The offline check-out form of the same visit is on the page, hidden, for the script.
        assert!(page.html.html().contains(&format!("/my/visits/{visit}/check-out")));
        let check_in = format!("/my/visits/{order}/check-in");
        let (lat, lon) = (HOME.0.to_string(), HOME.1.to_string());
        // A record kept offline must carry the phone's time.
        let resp = app.post_form(&carer, &check_in, &[("_csrf", &csrf), ("visit_id", &visit), ("lat", &lat), ("lon", &lon), ("offline", "1")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.attr("#error-summary a", "href").as_deref(), Some("#device_at"));
        assert!(bad.text_of("#error-summary").is_some_and(|t| t.contains("离线记录缺少手机时间")), "{}", bad.text);
        // Made twenty minutes ago in a lift, sent now: the phone's time is the check-in's.
        let made = (app.clock_now() - Duration::minutes(20)).to_rfc3339();
        let fields = [("_csrf", csrf.as_str()), ("visit_id", &visit), ("device_at", &made), ("lat", &lat), ("lon", &lon), ("offline", "1")];
        let resp = app.post_form(&carer, &check_in, &fields).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        // Sent again (the answer was lost): the same visit, nothing added.
        let resp = app.post_form(&carer, &check_in, &fields).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let out = app.post_form(&carer, &format!("/my/visits/{visit}/check-out"), &[
            ("_csrf", csrf.as_str()), ("device_at", &app.clock_now().to_rfc3339()), ("lat", &lat), ("lon", &lon), ("code", ""), ("confirm_short", "yes"),
        ]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let mut c = app.state.db.acquire().await.unwrap();
        let outcome = visits::outcome(&mut c.conn(), Uuid::parse_str(&visit).unwrap()).await.unwrap();
        let codes: Vec<_> = outcome.findings.iter().map(|f| f.code.as_str()).collect();
        assert!(codes.contains(&"offline_sync"), "{codes:?}");
        assert_eq!(app.audit_count("visit.check_in").await, 1);
        // A form whose session ended says so in a way the phone's script can read.
        let stranger = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let resp = app.post_form(&stranger, &check_in, &fields).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.attr("main", "data-error").as_deref(), Some("csrf_failed"));
    }
}

/// A small but well-formed PNG header, as a data URL (what the phone's signature pad sends).
fn signature_data_url() -> (Vec<u8>, String) {
    use base64::Engine;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&600u32.to_be_bytes());
    png.extend_from_slice(&240u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0, 0x2f, 0x9e, 0x1a, 0x05]);
    png.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    let url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    (png, url)
}

test_on_both! {
    async fn a_person_without_a_code_signs_on_the_phone_and_the_reviewer_opens_the_signature(app: TestApp) {
        // The visit an hour from now must fall on the same day, whenever the test runs.
        app.morning();
        let (order, _) = setup(&app).await;
        let carer = app.login("carer_a").await;
        let page = app.get(&carer, "/my/visits").await;
        let csrf = page.csrf();
        let visit = page.attr("input[name=visit_id]", "value").unwrap();
        let (lat, lon) = (HOME.0.to_string(), HOME.1.to_string());
        let start = app.clock_now().to_rfc3339();
        let resp = app.post_form(&carer, &format!("/my/visits/{order}/check-in"), &[
            ("_csrf", csrf.as_str()), ("visit_id", &visit), ("device_at", &start), ("lat", &lat), ("lon", &lon),
        ]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        // Ninety minutes at the home with the phone in a pocket: a caregiver's session has its
        // own idle time-out, longer than a visit (nothing keeps it alive).
        app.clock.advance(Duration::minutes(90));
        let end = app.clock_now().to_rfc3339();
        let out = format!("/my/visits/{visit}/check-out");
        // Something that is not a PNG is refused by name, and nothing is checked out.
        let resp = app.post_form(&carer, &out, &[
            ("_csrf", csrf.as_str()), ("device_at", &end), ("lat", &lat), ("lon", &lon), ("signature", "data:image/png;base64,R0lGODlhAQABAAAAACw="),
        ]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.attr("#error-summary a", "href").as_deref(), Some("#signature"));
        let (png, url) = signature_data_url();
        let resp = app.post_form(&carer, &out, &[
            ("_csrf", csrf.as_str()), ("device_at", &end), ("lat", &lat), ("lon", &lon), ("signature", &url),
        ]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let id = Uuid::parse_str(&visit).unwrap();
        let mut c = app.state.db.acquire().await.unwrap();
        let outcome = visits::outcome(&mut c.conn(), id).await.unwrap();
        drop(c);
        // A signature alone is not the person's code: by default a reviewer looks at it.
        assert_eq!(outcome.status, "exception", "{outcome:?}");
        let codes: Vec<&str> = outcome.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, vec!["signature_only"]);

        // The township reviewer opens it (audited); the caregiver may not.
        app.create_user("township_t", Role::TownshipStaff, "430302001").await;
        let t = app.login("township_t").await;
        let resp = t.get(app.url(&format!("/visits/{visit}/signature.png"))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "image/png");
        assert_eq!(resp.bytes().await.unwrap().to_vec(), png, "the same image, decrypted");
        assert_eq!(app.audit_count("visit.signature.read").await, 1);
        let resp = carer.get(app.url(&format!("/visits/{visit}/signature.png"))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // The provider's administrator sees the link in its read-only queue and may open it.
        app.create_user("provider_p", Role::ProviderAdmin, "430302").await;
        let p = app.login("provider_p").await;
        let resp = p.get(app.url(&format!("/visits/{visit}/signature.png"))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        // Over the API the image travels as base64.
        let (s, e) = app.api_post(&app.token("carer_a").await, &format!("/api/v1/visits/{}/check-out", Uuid::now_v7()),
            json!({ "device_at": end, "lat": HOME.0, "lon": HOME.1, "signature_png": "not base64!" })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(e["error"]["field"], "signature_png");
    }
}

test_on_both! {
    async fn a_township_reviewer_decides_several_exceptions_at_once_all_or_none_on_the_page_and_over_the_api(app: TestApp) {
        let (db, keys) = (&app.state.db, &app.state.keys);
        jinglao_fixtures::demo::seed_population(db, keys, 2000, 7, |_| {}).await.unwrap();
        let now = app.clock_now();
        jinglao_fixtures::demo_purchase::seed_purchase(db, keys, now).await.unwrap();
        jinglao_fixtures::demo::seed_home_services(db, keys, now).await.unwrap();
        jinglao_fixtures::demo_history::seed_last_month(db, keys, now).await.unwrap();
        app.create_user("tw_review", jinglao_domain::Role::TownshipStaff, "430302001").await;
        let tw = app.login("tw_review").await;
        let page = app.get(&tw, "/visits/exceptions").await;
        let ids: Vec<String> = page.html.select(&scraper::Selector::parse("#queue input[name=visit]").unwrap())
            .map(|e| e.value().attr("value").unwrap().to_string()).collect();
        assert!(ids.len() >= 3, "exceptions to review: {}", ids.len());
        let csrf = page.csrf();
        // Without a reason nothing is decided.
        let form = |decision: &'static str, reason: &'static str, picked: &[String]| {
            let mut f: Vec<(String, String)> = vec![("_csrf".into(), csrf.clone()), ("decision".into(), decision.into()), ("reason".into(), reason.into())];
            f.extend(picked.iter().map(|id| ("visit".to_string(), id.clone())));
            f
        };
        let post = |f: Vec<(String, String)>| {
            let tw = tw.clone();
            let url = app.url("/visits/reviews");
            async move { tw.post(url).form(&f).send().await.unwrap() }
        };
        let resp = post(form("accept", "", &ids[..2])).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let before = app.audit_count("visit.review").await;
        assert_eq!(before, 0);
        // Two accepted together after calling the families back.
        let resp = post(form("accept", "已电话回访，服务属实", &ids[..2])).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("visit.review").await, 2);
        // A batch holding one already decided changes nothing and says whose it was.
        let resp = post(form("reject", "未能核实", &ids[1..3])).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#error-summary").unwrap().contains("的服务："), "{:?}", bad.text_of("#error-summary"));
        assert_eq!(app.audit_count("visit.review").await, 2, "nothing half-written");
        // The API lists the same queue and takes the same batch.
        let token = app.token("tw_review").await;
        let (status, body) = app.api_get(&token, "/api/v1/visits/exceptions").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total"].as_i64().unwrap() as usize, ids.len() - 2);
        assert!(!body["items"][0]["reasons"].as_array().unwrap().is_empty());
        let (status, body) = app.api_post(&token, "/api/v1/visits/reviews",
            serde_json::json!({"visit_ids": [ids[2]], "decision": "reject", "reason": "未能核实"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["reviewed"], 1);
        // A village worker may not review.
        app.create_user("vl_review", jinglao_domain::Role::VillageStaff, "430302001001").await;
        let vtoken = app.token("vl_review").await;
        let (status, _) = app.api_post(&vtoken, "/api/v1/visits/reviews",
            serde_json::json!({"visit_ids": [ids[3.min(ids.len() - 1)]], "decision": "reject", "reason": "x"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
