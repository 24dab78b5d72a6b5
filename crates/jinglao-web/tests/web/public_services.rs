//! The public home-service page: an older person or their family names the person by ID
//! number and a phone on record, reads the coming visits with their confirmation codes, books
//! a visit and rates a finished one; wrong numbers say nothing about who is registered and
//! lock the address after a few tries.

use chrono::Duration;
use jinglao_db::orders::{self, ListFilter};
use jinglao_db::test_on_both;
use jinglao_domain::Scope;
use jinglao_domain::clock::china_date;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestApp;
use crate::visits::{HOME, PHONE, SON_PHONE, id_number, setup};

test_on_both! {
    async fn a_son_books_a_visit_for_his_mother_reads_its_code_and_rates_the_last_one(app: TestApp) {
        let (order, code) = setup(&app).await;
        let public = app.client();
        let csrf = app.get(&public, "/services").await.csrf();
        let id = id_number();
        // A phone that is not on record: refused on the ID-number field, nothing told.
        let resp = app.post_form(&public, "/services", &[("_csrf", &csrf), ("id_number", &id), ("phone", "13500000000")]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.text_of("#error-summary").unwrap().contains("对不上登记信息"));
        let resp = app.post_form(&public, "/services", &[("_csrf", &csrf), ("id_number", "123"), ("phone", "")]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.texts("#error-summary a").len(), 2, "both fields named");

        // The son's phone, on record as an emergency contact.
        let resp = app.post_form(&public, "/services", &[("_csrf", &csrf), ("id_number", &id), ("phone", SON_PHONE)]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert_eq!(page.text_of("h1").as_deref(), Some("王*英 的居家服务"));
        assert!(page.text_of(".confirm-code").unwrap().contains(&code), "today's visit shows its code");

        // Book tomorrow at nine; today is refused by name.
        let provider = app.provider_id.to_string();
        let offer = page.attr("#offer option:nth-child(2)", "value").unwrap();
        assert_eq!(offer, format!("{provider}|XT-ZX-01"));
        let today = china_date(app.clock_now());
        let tomorrow = (today + Duration::days(1)).to_string();
        let fields = |day: &str| vec![
            ("_csrf", csrf.clone()), ("id_number", id.clone()), ("phone", PHONE.to_string()),
            ("offer", offer.clone()), ("funding", "entitlement".into()), ("day", day.to_string()),
            ("start", "09:00".into()), ("latest", "10:30".into()),
        ];
        let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
        let today_s = today.to_string();
        let resp = app.post_form(&public, "/services/book", &as_refs(&fields(&today_s)).iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.attr("#error-summary a", "href").as_deref(), Some("#day"));
        let resp = app.post_form(&public, "/services/book", &as_refs(&fields(&tomorrow)).iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        let booked = TestApp::page(resp).await;
        assert_eq!(booked.status, StatusCode::OK, "{}", booked.text);
        assert!(booked.text_of("#done").unwrap().contains("确认码"));
        let mut c = app.state.db.acquire().await.unwrap();
        let filter = ListFilter { provider_id: Some(app.provider_id), ..Default::default() };
        let listed = orders::list(&mut c.conn(), &Scope::All, &filter, 100).await.unwrap();
        let new = listed.iter().find(|o| o.id != order).expect("the new order");
        assert_eq!((new.channel.as_str(), new.funding.as_str()), ("public", "entitlement"));
        assert_eq!(china_date(new.window_start), today + Duration::days(1));
        drop(c);
        assert_eq!(app.audit_count("order.place").await, 2);
        // Plans change: the new visit is cancelled on the page, with a reason.
        let new_id = new.id.to_string();
        assert!(booked.html.html().contains(&new_id), "the coming visit has a cancel form");
        let cancel = |reason: &'static str| vec![("_csrf", csrf.as_str()), ("id_number", id.as_str()), ("phone", PHONE), ("order", new_id.as_str()), ("reason", reason)];
        let bad = TestApp::page(app.post_form(&public, "/services/cancel", &cancel(" ")).await).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.attr("#error-summary a", "href").as_deref(), Some("#reason"));
        let done = TestApp::page(app.post_form(&public, "/services/cancel", &cancel("老人住院")).await).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        assert_eq!(done.text_of("#done").as_deref(), Some("已取消这次服务。"));
        let mut c = app.state.db.acquire().await.unwrap();
        let after = orders::get(&mut c.conn(), &Scope::All, new.id).await.unwrap().unwrap();
        assert_eq!(after.status, "cancelled");
        drop(c);
        assert_eq!(app.audit_count("order.end").await, 1);

        // The first visit is served; the family rates it on the page, once.
        let token = app.token("carer_a").await;
        let visit = uuid::Uuid::now_v7();
        let at = |t: chrono::DateTime<chrono::Utc>| json!({ "device_at": t.to_rfc3339(), "lat": HOME.0, "lon": HOME.1 });
        let mut body = at(app.clock_now());
        body["visit_id"] = json!(visit);
        body["order_id"] = json!(order);
        assert_eq!(app.api_post(&token, "/api/v1/visits/check-in", body).await.0, StatusCode::OK);
        app.clock.advance(Duration::minutes(50));
        let mut out = at(app.clock_now());
        out["code"] = json!(code);
        assert_eq!(app.api_post(&token, &format!("/api/v1/visits/{visit}/check-out"), out).await.0, StatusCode::OK);
        let resp = app.post_form(&public, "/services", &[("_csrf", &csrf), ("id_number", &id), ("phone", PHONE)]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.attr(".rating-form input[name=visit]", "value"), Some(visit.to_string()));
        let v = visit.to_string();
        let rate = |score: &'static str| vec![("_csrf", csrf.as_str()), ("id_number", id.as_str()), ("phone", PHONE), ("visit", v.as_str()), ("score", score), ("comment", "准时，很耐心")];
        let resp = app.post_form(&public, "/services/rate", &rate("")).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.attr("#error-summary a", "href").as_deref(), Some("#score"));
        let resp = app.post_form(&public, "/services/rate", &rate("5")).await;
        let rated = TestApp::page(resp).await;
        assert_eq!(rated.status, StatusCode::OK, "{}", rated.text);
        assert_eq!(rated.text_of("#done").as_deref(), Some("谢谢您的评价。"));
        assert!(rated.attr(".rating-form input[name=visit]", "value").is_none(), "rated once");
        let again = TestApp::page(app.post_form(&public, "/services/rate", &rate("1")).await).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.audit_count("visit.rate").await, 1);
    }
}

test_on_both! {
    async fn a_visit_of_someone_else_cannot_be_rated_and_wrong_numbers_lock_the_address(app: TestApp) {
        setup(&app).await;
        let public = app.client();
        let csrf = app.get(&public, "/services").await.csrf();
        let id = id_number();
        let stranger = uuid::Uuid::now_v7().to_string();
        let resp = app.post_form(&public, "/services/rate", &[("_csrf", &csrf), ("id_number", &id), ("phone", PHONE), ("visit", &stranger), ("score", "1")]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.text_of("#error-summary").unwrap().contains("没有找到这次服务"));
        let resp = app.post_form(&public, "/services/cancel", &[("_csrf", &csrf), ("id_number", &id), ("phone", PHONE), ("order", &stranger), ("reason", "x")]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.attr("#error-summary a", "href").as_deref(), Some("#order"));
        // Five wrong pairs, then even the right pair waits (staff sign-in is not affected).
        for _ in 0..5 {
            let resp = app.post_form(&public, "/services", &[("_csrf", &csrf), ("id_number", &id), ("phone", "13500000000")]).await;
            assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let resp = app.post_form(&public, "/services", &[("_csrf", &csrf), ("id_number", &id), ("phone", PHONE)]).await;
        let page = TestApp::page(resp).await;
        assert!(page.text_of("#error-summary").unwrap().contains("尝试次数过多"), "{}", page.text);
        let staff = app.login("carer_a").await;
        assert_eq!(app.get(&staff, "/my/visits").await.status, StatusCode::OK);
    }
}

test_on_both! {
    async fn a_family_that_chose_text_messages_gets_the_code_and_the_cancellation_by_sms_and_a_call_family_gets_none(app: TestApp) {
        let (order, code) = setup(&app).await;
        let elder = {
            let mut c = app.state.db.acquire().await.unwrap();
            orders::get(&mut c.conn(), &Scope::All, order).await.unwrap().unwrap().elder_id
        };
        let public = app.client();
        let csrf = app.get(&public, "/services").await.csrf();
        let id = id_number();
        // By default the family is phoned: the visit booked above sent nothing.
        jinglao_web::sms::deliver(&app.state).await.unwrap();
        let mut c = app.state.db.acquire().await.unwrap();
        assert!(jinglao_db::sms::of_elder(&mut c.conn(), elder, 10).await.unwrap().is_empty());
        drop(c);
        // The son chooses text messages on the public page.
        let resp = app.post_form(&public, "/services/notify-by", &[("_csrf", &csrf), ("id_number", &id), ("phone", SON_PHONE), ("notify_by", "sms")]).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text_of("#done").unwrap().contains("短信"));
        assert_eq!(page.attr("#notify-form input[checked]", "value").as_deref(), Some("sms"));
        assert_eq!(app.audit_count("elder.notify_by").await, 1);
        // A booking now sends its confirmation code; cancelling it sends the change.
        let today = china_date(app.clock_now());
        let tomorrow = (today + Duration::days(1)).to_string();
        let offer = page.attr("#offer option:nth-child(2)", "value").unwrap();
        let resp = app.post_form(&public, "/services/book", &[("_csrf", &csrf), ("id_number", &id), ("phone", PHONE),
            ("offer", &offer), ("funding", "self_pay"), ("day", &tomorrow), ("start", "09:00"), ("latest", "")]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let sent = jinglao_web::sms::deliver(&app.state).await.unwrap();
        assert_eq!(sent, 1);
        let mut c = app.state.db.acquire().await.unwrap();
        let texts = jinglao_db::sms::of_elder(&mut c.conn(), elder, 10).await.unwrap();
        drop(c);
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].purpose, "visit_code");
        assert_eq!(texts[0].status, "sent");
        assert!(texts[0].body.contains("确认码") && texts[0].body.contains("09:00"), "{}", texts[0].body);
        assert!(texts[0].phone_masked.contains('*'), "the number stays masked: {}", texts[0].phone_masked);
        assert_ne!(texts[0].body, code);
        let page = TestApp::page(app.post_form(&public, "/services", &[("_csrf", &csrf), ("id_number", &id), ("phone", PHONE)]).await).await;
        let booked = page.attr(".cancel-form input[name=order]", "value").unwrap();
        let resp = app.post_form(&public, "/services/cancel", &[("_csrf", &csrf), ("id_number", &id), ("phone", PHONE), ("order", &booked), ("reason", "家里有事")]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(jinglao_web::sms::deliver(&app.state).await.unwrap(), 1);
        let mut c = app.state.db.acquire().await.unwrap();
        let texts = jinglao_db::sms::of_elder(&mut c.conn(), elder, 10).await.unwrap();
        drop(c);
        assert_eq!(texts[0].purpose, "booking_change");
        assert!(texts[0].body.contains("已取消") && texts[0].body.contains("家里有事"), "{}", texts[0].body);
        // The record page shows the choice and the messages to staff.
        app.create_user("yh_county_sms", jinglao_domain::Role::CountyStaff, "430302").await;
        let staff = app.login("yh_county_sms").await;
        let record = app.get(&staff, &format!("/elders/{elder}")).await;
        assert!(record.text_of("#notify-by").unwrap().contains("短信"));
        assert!(record.text_of("#texts").unwrap().contains("已发出"));
        // A person without a phone on record cannot be switched to text messages: said at the field.
        let resp = app.post_form(&staff, &format!("/elders/{elder}/notify-by"), &[("_csrf", &record.csrf()), ("notify_by", "fax")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#notify_by-error").unwrap().contains("电话或短信"));
    }
}
