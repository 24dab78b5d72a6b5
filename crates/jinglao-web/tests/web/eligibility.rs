//! Eligibility through the API and the pages, on both databases: a registered person and a
//! what-if check answered item by item with explanations, bad input named by field, a sweep,
//! the worklists page and its scope.

use crate::common::TestApp;
use jinglao_db::test_on_both;
use jinglao_domain::elder::{ElderDraft, ValidationContext};
use jinglao_domain::{ResidentId, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const YUHU: &str = "430302000000";

/// Registers a person of the community 430302001001 born in 1940, living alone, through the
/// repository the pages use.
pub(crate) async fn register(app: &TestApp, n: u32, name: &str) -> Uuid {
    let input = ElderDraft {
        name: name.into(),
        id_number: ResidentId::from_first17(&format!("4303021940031{n:04}"))
            .as_str()
            .to_string(),
        ethnicity: "汉族".into(),
        phones: "13807315678".into(),
        hukou_region_code: "430302".into(),
        residence_region_code: "430302001001".into(),
        living_arrangement: "独居".into(),
        marital_status: "丧偶".into(),
        education: "小学".into(),
        ..Default::default()
    }
    .validate(&ValidationContext {
        regions: &app.state.regions.tree(),
        today: app.state.today(),
        min_age: 60,
    })
    .unwrap();
    let actor = jinglao_db::Actor::cli();
    let id = jinglao_db::elders::create(
        &app.state.db,
        app.state.keys.secrets(),
        &actor,
        &input,
        &[],
        app.state.clock.now(),
    )
    .await
    .unwrap();
    // Assessed 能力完好 (items paid by the government need an effective assessment).
    app.db.tamper("UPDATE elders SET ability_level = 0").await;
    id
}

fn item<'a>(body: &'a Value, code: &str) -> &'a Value {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == code)
        .unwrap_or_else(|| panic!("no {code}: {body}"))
}

test_on_both! {
    async fn the_check_answers_a_registered_person_and_a_what_if_with_reasons_and_names_bad_fields(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        let token = app.token("yh_county").await;
        let id = register(&app, 1, "王秀英").await;

        let reads = app.audit_count("elder.read").await;
        let (status, body) = app.api_post(&token, "/api/v1/eligibility/check", json!({"elder_id": id})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["list_version"], 1);
        let meals = item(&body, "XT-ZH-02");
        assert_eq!(meals["eligible"], true);
        assert_eq!(meals["summary"], "特殊类别（高龄）含“高龄” ✓");
        assert_eq!(item(&body, "XT-WZ-01")["eligible"], false, "home adaptation needs 特困, 低保失能 or 残疾");
        assert_eq!(app.audit_count("elder.read").await, reads + 1, "the check read the record");

        // What-if: 62, 低保, 重度失能 (level 3), in 雨湖区: the purchase group.
        let what_if = json!({"region": "430302001001", "facts": {"age": 62, "categories": ["低保"], "ability_level": 3}});
        let (status, body) = app.api_post(&token, "/api/v1/eligibility/check", what_if).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let purchase = item(&body, "XT-JJ-01");
        assert_eq!(purchase["eligible"], true, "{purchase}");
        assert!(purchase["plain"].as_str().unwrap().starts_with("符合条件："), "{purchase}");
        // The same at 59 is refused by the age clause.
        let (_, body) = app.api_post(&token, "/api/v1/eligibility/check",
            json!({"region": "430302001001", "facts": {"age": 59, "categories": ["低保"], "ability_level": 3}})).await;
        assert_eq!(item(&body, "XT-JJ-01")["eligible"], false);
        assert!(item(&body, "XT-JJ-01")["summary"].as_str().unwrap().contains("年龄 59 ≥ 60 ✗"));

        // Bad input names the field.
        for (bad, field) in [
            (json!({"region": "430302001001", "facts": {"age": 70, "categories": ["低保", "贫困"]}}), "facts.categories[1]"),
            (json!({"region": "430302001001", "facts": {"age": 70, "ability_level": 7}}), "facts.ability_level"),
            (json!({"region": "4303X", "facts": {"age": 70}}), "region"),
            (json!({"elder_id": id, "region": "430302", "facts": {"age": 70}}), "elder_id"),
            (json!({}), "elder_id"),
        ] {
            let (status, body) = app.api_post(&token, "/api/v1/eligibility/check", bad.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} → {body}");
            assert_eq!(body["error"]["field"], field, "{bad} → {body}");
        }
        let (status, _) = app.api_post(&token, "/api/v1/eligibility/check", json!({"elder_id": Uuid::now_v7()})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

test_on_both! {
    async fn a_sweep_fills_the_worklists_that_the_page_shows_within_scope(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        app.create_user("yt_county", Role::CountyStaff, "430304000000").await;
        let token = app.token("yh_county").await;
        register(&app, 2, "李桂香").await;

        let (status, body) = app.api_post(&token, "/api/v1/eligibility/sweeps", json!({"region": "430302"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["people"], 1);
        let (status, body) = app.api_post(&token, "/api/v1/eligibility/sweeps", json!({"region": "430304"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another county: {body}");
        assert_eq!(body["error"]["field"], "region");

        let (status, body) = app.api_get(&token, "/api/v1/eligibility/worklists?list=eligible&region=430302001001").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let codes: Vec<&str> = body["rows"].as_array().unwrap().iter().map(|r| r["item_code"].as_str().unwrap()).collect();
        // 86, living alone at home, no categories: a family bed, meal help, visits and priority
        // admission (高龄).
        assert_eq!(codes, vec!["XT-ZH-01", "XT-ZH-02", "XT-GA-01", "XT-ZH-03"], "{body}");
        assert!(body["rows"][0]["id_number"].as_str().unwrap().contains("*"));
        let (status, body) = app.api_get(&token, "/api/v1/eligibility/worklists?list=everything").await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("list")));

        // The page, in scope and out of it.
        let client = app.login("yh_county").await;
        let page = app.get(&client, "/eligibility?region=430302001001").await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.texts("#worklist tbody tr").len(), 4, "{}", page.text);
        assert!(page.text_of("#last-sweep").unwrap().contains("手动，1 人"));
        let other = app.login("yt_county").await;
        let page = app.get(&other, "/eligibility?region=430302001001").await;
        assert!(page.text.contains("不在您的管辖范围内"), "{}", page.text);
        assert!(page.texts("#worklist tbody tr").is_empty());

        // Sweeping from the page records a manual sweep and shows the changes list.
        let page = app.get(&client, "/eligibility?region=430302").await;
        let resp = app.post_form(&client, "/eligibility/sweeps", &[("_csrf", &page.csrf()), ("region", "430302")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.audit_count("eligibility.sweep").await, 2);

        // The nightly run sweeps the city once a day.
        let today = app.state.today();
        assert_eq!(jinglao_web::nightly::sweep_due(&app.state, today).await.unwrap(), 1);
        assert_eq!(jinglao_web::nightly::sweep_due(&app.state, today).await.unwrap(), 0, "once a day");
    }
}

test_on_both! {
    async fn an_application_is_made_on_the_record_page_decided_by_the_village_and_township_and_publicly_noticed(app: TestApp) {
        app.create_user("yh_village", Role::VillageStaff, "430302001001").await;
        app.create_user("yh_township", Role::TownshipStaff, "430302001000").await;
        let id = register(&app, 3, "赵秀兰").await;
        let village = app.login("yh_village").await;

        // The record page offers the form; a missing applicant is named at its field.
        let page = app.get(&village, &format!("/elders/{id}")).await;
        assert!(page.text.contains("id=\"apply\""), "{}", page.text);
        let csrf = page.csrf();
        let resp = app.post_form(&village, &format!("/elders/{id}/applications"),
            &[("_csrf", &csrf), ("item_code", "XT-ZH-02"), ("applicant_name", ""), ("applicant_relation", "本人")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = TestApp::page(resp).await;
        assert!(page.text.contains("请填写申请人姓名"));
        // Home adaptation: she is not 特困, 低保失能 or 残疾, so a reason is required.
        let resp = app.post_form(&village, &format!("/elders/{id}/applications"),
            &[("_csrf", &csrf), ("item_code", "XT-WZ-01"), ("applicant_name", "赵秀兰"), ("applicant_relation", "本人")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text.contains("如仍要申请，请写明理由"));
        let resp = app.post_form(&village, &format!("/elders/{id}/applications"),
            &[("_csrf", &csrf), ("item_code", "XT-ZH-02"), ("applicant_name", "赵秀兰"), ("applicant_relation", "本人")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let path = resp.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();

        // Evidence: a renamed executable is refused by its content; a PDF is stored and served
        // back as it was, and the read is audited.
        let page = app.get(&village, &path).await;
        let action = page.attr("form[enctype='multipart/form-data']", "action").unwrap();
        let upload = |name: &str, bytes: &[u8]| {
            reqwest::multipart::Form::new()
                .text("kind", "identity")
                .part("file", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()))
        };
        let resp = village.post(app.url(&action)).multipart(upload("户口簿.pdf", b"MZ\x90 not a pdf")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text.contains("只接受 PDF、JPEG 或 PNG 文件"));
        let pdf = b"%PDF-1.7\n%%EOF\n";
        let resp = village.post(app.url(&action)).multipart(upload("户口簿.pdf", pdf)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&village, &path).await;
        let link = page.attr("#file-list a", "href").unwrap();
        let reads = app.audit_count("application.evidence_read").await;
        let resp = village.get(app.url(&link)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/pdf");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), pdf);
        assert_eq!(app.audit_count("application.evidence_read").await, reads + 1);

        // The village reviews first; the township decides.
        let page = app.get(&village, &path).await;
        assert_eq!(page.text_of("#status").unwrap(), "待村（居）初审");
        let resp = app.post_form(&village, &format!("{path}/decisions"), &[("_csrf", &page.csrf()), ("decision", "approve"), ("reason", "")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&village, &path).await;
        assert!(page.text_of("#decide").is_none(), "the village cannot take the township's step");
        let township = app.login("yh_township").await;
        let page = app.get(&township, &path).await;
        let resp = app.post_form(&township, &format!("{path}/decisions"), &[("_csrf", &page.csrf()), ("decision", "reject"), ("reason", "")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a refusal needs a reason");
        let resp = app.post_form(&township, &format!("{path}/decisions"), &[("_csrf", &page.csrf()), ("decision", "approve"), ("reason", "")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.get(&township, &path).await.text_of("#status").unwrap(), "公示中");

        // The public notice needs no sign-in and shows the surname only.
        let public = app.client();
        let page = app.get(&public, "/notices?region=430302001").await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.texts("#notice-list tbody tr td:first-child"), vec!["赵**"]);
        assert!(!page.text.contains("赵秀兰"));

        // The same through the API: the decision history records the list version and the rule.
        let token = app.token("yh_township").await;
        let aid = path.trim_start_matches("/applications/");
        let (status, body) = app.api_get(&token, &format!("/api/v1/applications/{aid}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "in_notice");
        let steps: Vec<&str> = body["decisions"].as_array().unwrap().iter().map(|d| d["step"].as_str().unwrap()).collect();
        assert_eq!(steps, vec!["submit", "village_review", "township_decision"]);
        assert_eq!(body["decisions"][2]["explanation"], "特殊类别（高龄）含“高龄” ✓");
        let (status, body) = app.api_post(&token, &format!("/api/v1/applications/{aid}/decisions"), json!({"decision": "maybe"})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("decision")));
        let (status, body) = app.api_get(&token, "/api/v1/applications?overdue=true").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.as_array().unwrap().len(), 0, "nothing overdue");

        // An objection during the notice, upheld by the township: refused, reason shown.
        let page = app.get(&township, &path).await;
        assert!(page.text_of("#object").is_some());
        let resp = app.post_form(&township, &format!("{path}/decisions"),
            &[("_csrf", &page.csrf()), ("decision", "reject"), ("reason", "经核实老人已随子女迁居外地")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&township, &path).await;
        assert_eq!(page.text_of("#status").unwrap(), "不予批准");
        assert_eq!(page.text_of("#decision-reason").unwrap(), "经核实老人已随子女迁居外地");
        let (_, body) = app.api_get(&token, &format!("/api/v1/applications/{aid}")).await;
        assert_eq!(body["decisions"][3]["step"], "notice_objection");
    }
}

test_on_both! {
    async fn a_family_member_checks_on_the_public_pages_one_question_at_a_time_and_applies(app: TestApp) {
        register(&app, 4, "孙玉珍").await;
        let public = app.client();
        let page = app.get(&public, "/apply").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("老人住在哪个县（市、区）？"));
        assert!(page.texts("#answer option").iter().any(|o| o == "雨湖区"), "{:?}", page.texts("#answer option"));
        let page = app.get(&public, "/apply?county=430302&township=430302001&village=430302001001&age=abc").await;
        assert!(page.text.contains("请填写 40 到 130 之间的整数岁数"));
        let answers = "county=430302&township=430302001&village=430302001001&age=86&cats_done=1&ability=none\
                       &living=%E7%8B%AC%E5%B1%85&children_local=no&children_can_care=no";
        let page = app.get(&public, &format!("/apply?{answers}")).await;
        let results = page.texts("#results li h2");
        assert!(results.contains(&"老年助餐（演示假设）".to_string()), "the public sees the demo assumption marked: {results:?}");
        // Plain sentences, the items the person can get first, and the one thing missing.
        assert!(page.text.contains("符合条件：是高龄老人。"), "{}", page.text);
        assert!(page.text.contains("满足下面任意一项即可：是分散供养特困人员；是低保对象。"), "{}", page.text);
        for code in ["categories", "≥", "✗", "含“"] {
            assert!(!page.text.contains(code), "no rule code ({code}) on the public answer: {}", page.text);
        }
        let classes = page.attrs("#results > li", "class");
        let first_no = classes.iter().position(|c| !c.contains("result-yes")).unwrap();
        assert!(classes[first_no..].iter().all(|c| !c.contains("result-yes")), "yes first: {classes:?}");
        assert!(!page.attr("#back", "href").unwrap().contains("children_can_care"));

        // Apply: a wrong name gets the same answer as an unknown number.
        let form = app.get(&public, &format!("/apply?{answers}&item=XT-ZH-02")).await;
        assert!(form.text.contains("申请：老年助餐"));
        let id_number = jinglao_domain::ResidentId::from_first17("43030219400310004").as_str().to_string();
        let body = |name: &str| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            s.append_pair("_csrf", &form.csrf());
            for pair in answers.split('&') {
                let (k, v) = pair.split_once('=').unwrap();
                s.append_pair(k, &percent_decode(v));
            }
            s.append_pair("item", "XT-ZH-02").append_pair("elder_name", name).append_pair("id_number", &id_number)
                .append_pair("applicant_name", "孙强").append_pair("applicant_relation", "儿子");
            s.finish()
        };
        let post = |b: String| public.post(app.url("/apply")).header("content-type", "application/x-www-form-urlencoded").body(b).send();
        let resp = post(body("孙玉")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text.contains("未能受理这份申请"));
        let resp = post(body("孙玉珍")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let page = TestApp::page(resp).await;
        assert_eq!(page.text_of("#done").unwrap(), "申请已提交");
        // A receipt number to read out on the phone: the day and eight digits.
        let reference = page.text_of("#reference").unwrap();
        let today = app.state.today().format("%Y%m%d").to_string();
        assert!(reference.starts_with(&format!("{today}-")) && reference.len() == 17, "{reference}");
        assert!(reference[9..].chars().all(|c| c.is_ascii_digit()), "{reference}");

        // It waits in the village's queue like a paper application.
        app.create_user("yh_village", Role::VillageStaff, "430302001001").await;
        let token = app.token("yh_village").await;
        let (_, body) = app.api_get(&token, "/api/v1/applications?status=submitted").await;
        let rows = body.as_array().unwrap();
        assert_eq!(rows.len(), 1, "{body}");
        assert_eq!(rows[0]["elder_name"], "孙玉珍");

        // The village sends it back; the family sees why with the reference and the ID number.
        let aid = rows[0]["id"].as_str().unwrap().to_string();
        let (status, _) = app.api_post(&token, &format!("/api/v1/applications/{aid}/decisions"),
            json!({"decision": "return", "reason": "请补充户口簿复印件"})).await;
        assert_eq!(status, StatusCode::OK);
        let form = app.get(&public, "/apply/status").await;
        let csrf = form.csrf();
        // Typed with spaces instead of the dash, it is still found.
        let (status, page) = lookup(&app, &public, &csrf, &reference.replace('-', " "), &id_number).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page.text_of("#public-status").unwrap(), "退回补正");
        assert_eq!(page.text_of("#public-reason").unwrap(), "请补充户口簿复印件");
        // A slip from before receipt numbers (ten hex digits of the id) still works.
        let old_style = jinglao_web::pages::public_apply::reference_of(uuid::Uuid::parse_str(&aid).unwrap());
        let (status, _) = lookup(&app, &public, &csrf, &old_style.to_lowercase(), &id_number).await;
        assert_eq!(status, StatusCode::OK);
        // The clerk prints the receipt with the same number, and the decision letter, which is
        // not final while the application is open.
        let clerk = app.login("yh_village").await;
        let receipt = app.get(&clerk, &format!("/applications/{aid}/print/receipt")).await;
        assert_eq!(receipt.status, StatusCode::OK);
        assert_eq!(receipt.text_of("#receipt-number").unwrap(), reference);
        assert!(receipt.text_of(".seal-area").is_some(), "a seal box");
        assert!(receipt.text_of("#watermark").is_none(), "a receipt is final");
        let letter = app.get(&clerk, &format!("/applications/{aid}/print/decision")).await;
        assert_eq!(letter.text_of("#watermark").as_deref(), Some("未生效"));
        assert!(letter.text_of("#decision-text").unwrap().contains("尚未作出决定"));
        assert!(app.audit_count("application.print").await >= 2);
        // Another county's clerk cannot print it.
        app.create_user("yt_clerk", Role::CountyStaff, "430304").await;
        let far = app.login("yt_clerk").await;
        assert_eq!(app.get(&far, &format!("/applications/{aid}/print/receipt")).await.status, StatusCode::NOT_FOUND);
        let other = jinglao_domain::ResidentId::from_first17("43030219400310009").as_str().to_string();
        let (status, page) = lookup(&app, &public, &csrf, &reference, &other).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.text.contains("没有找到这份申请"));
    }
}

/// The whole form of a public application for `item` naming `name` and `id`.
fn application_body(csrf: &str, answers: &str, item: &str, name: &str, id: &str) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("_csrf", csrf);
    for pair in answers.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        s.append_pair(k, &percent_decode(v));
    }
    s.append_pair("item", item)
        .append_pair("elder_name", name)
        .append_pair("id_number", id)
        .append_pair("applicant_name", "孙强")
        .append_pair("applicant_relation", "儿子");
    s.finish()
}

test_on_both! {
    async fn the_public_application_answers_the_same_whatever_the_registry_holds_and_locks_the_network_after_five_failures(app: TestApp) {
        register(&app, 4, "孙玉珍").await;
        register(&app, 5, "周桂英").await;
        let public = app.client();
        let answers = "county=430302&township=430302001&village=430302001001&age=86&cats_done=1&ability=none\
                       &living=%E7%8B%AC%E5%B1%85&children_local=no&children_can_care=no";
        let form = app.get(&public, &format!("/apply?{answers}&item=XT-ZH-01")).await;
        let csrf = form.csrf();
        let number = |n: u32| ResidentId::from_first17(&format!("4303021940031{n:04}")).as_str().to_string();
        let send = |item: &'static str, name: &'static str, id: String| {
            let body = application_body(&csrf, answers, item, name, &id);
            let req = public.post(app.url("/apply")).header("content-type", "application/x-www-form-urlencoded").body(body);
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status();
                let page = TestApp::page(resp).await;
                (status, page.text_of("#id_number-error").unwrap_or_default(), page)
            }
        };
        // Registered but not in the family-bed group by the registry (no assessment): taken,
        // for the village to check, with the rule's answer recorded.
        let (status, _, page) = send("XT-ZH-01", "周桂英", number(5)).await;
        assert_eq!(status, StatusCode::OK, "{}", page.text);
        assert_eq!(page.text_of("#done").unwrap(), "申请已提交");
        // Unknown number, wrong name, and an application already under way: one answer.
        let unknown = send("XT-ZH-01", "孙玉珍", number(9)).await;
        let wrong_name = send("XT-ZH-01", "孙玉", number(4)).await;
        let again = send("XT-ZH-01", "周桂英", number(5)).await;
        for (status, error, page) in [&unknown, &wrong_name, &again] {
            assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.text);
            assert_eq!(error, &unknown.1);
            assert!(error.contains("未能受理这份申请"), "{error}");
            assert!(!page.text.contains("不符合"), "no registry fact is shown");
        }
        // Each failure is in the audit trail with the client's address.
        let failures = jinglao_db::audit::list(&app.state.db, &jinglao_domain::Scope::All,
            &jinglao_db::audit::AuditFilter { action: Some("public.identify_failed".into()), ..Default::default() }, 10)
            .await.unwrap();
        assert_eq!(failures.len(), 3);
        assert!(failures.iter().all(|e| e.client_ip.as_deref() == Some("127.0.0.1")));
        // Two more failures lock this network: even a good pair is refused for now.
        send("XT-ZH-01", "孙玉珍", number(11)).await;
        send("XT-ZH-01", "孙玉珍", number(12)).await;
        let (status, error, _) = send("XT-ZH-02", "孙玉珍", number(4)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(error.contains("尝试次数过多"), "{error}");
        // The status lookup shares the lock.
        let status_form = app.get(&public, "/apply/status").await;
        let (status, page) = lookup(&app, &public, &status_form.csrf(), "ABCDEF1234", &number(4)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(page.text.contains("尝试次数过多"));
    }
}

/// Looks an application up on the public status page.
async fn lookup(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: &str,
    reference: &str,
    id: &str,
) -> (StatusCode, crate::common::Page) {
    let resp = client
        .post(app.url("/apply/status"))
        .form(&[("_csrf", csrf), ("reference", reference), ("id_number", id)])
        .send()
        .await
        .unwrap();
    (resp.status(), TestApp::page(resp).await)
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned()
}

test_on_both! {
    async fn a_village_clerk_reviews_several_applications_at_once_and_a_batch_with_one_that_cannot_be_decided_changes_nothing(app: TestApp) {
        app.create_user("yh_village", Role::VillageStaff, "430302001001").await;
        let village = app.login("yh_village").await;
        let names = ["赵秀兰", "钱桂英", "孙玉梅"];
        for (n, name) in names.iter().enumerate() {
            let id = register(&app, 10 + n as u32, name).await;
            let page = app.get(&village, &format!("/elders/{id}")).await;
            let resp = app.post_form(&village, &format!("/elders/{id}/applications"),
                &[("_csrf", &page.csrf()), ("item_code", "XT-ZH-02"), ("applicant_name", name), ("applicant_relation", "本人")]).await;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        }
        let list = app.get(&village, "/applications?status=submitted").await;
        assert_eq!(list.text_of(".pager-total").as_deref(), Some("3"));
        // The filtered queue exports to Excel: the three, by name, and the export is audited.
        let href = list.attr("#export-applications", "href").unwrap();
        assert_eq!(href, "/applications/export?status=submitted");
        let resp = village.get(app.url(&href)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let table = jinglao_domain::tabular::read_table(&resp.bytes().await.unwrap()).unwrap();
        let mut exported: Vec<String> = table.rows[1..].iter().map(|r| r[0].clone()).collect();
        exported.sort();
        let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        expected.sort();
        assert_eq!(exported, expected);
        assert!(table.rows[1..].iter().all(|r| r[2] != "XT-ZH-02" && !r[2].is_empty()), "items by name");
        assert_eq!(app.audit_count("application.export").await, 1);
        let ids: Vec<String> = list.html.select(&scraper::Selector::parse("#application-list input[name=id]").unwrap())
            .map(|e| e.value().attr("value").unwrap().to_string()).collect();
        assert_eq!(ids.len(), 3);
        let csrf = list.csrf();
        // Returning needs a reason: nothing is decided, and the page says so.
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("decision", "return"), ("reason", ""), ("status", "submitted")];
        for id in &ids { form.push(("id", id)); }
        let bad = TestApp::page(app.post_form(&village, "/applications/decisions", &form).await).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#error-summary").unwrap().contains("申请："), "names whose: {:?}", bad.text_of("#error-summary"));
        assert_eq!(app.audit_count("application.decide").await, 0, "nothing half-written");
        // Approving the first review of all three in one go.
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("decision", "approve"), ("reason", "材料齐全"), ("status", "submitted")];
        for id in &ids { form.push(("id", id)); }
        let resp = app.post_form(&village, "/applications/decisions", &form).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let back = resp.headers()["location"].to_str().unwrap().to_string();
        let after = app.get(&village, &back).await;
        assert_eq!(after.text_of("#decided").as_deref(), Some("已办理 3 份申请。"));
        assert_eq!(app.audit_count("application.decide").await, 3);
        // The same batch again: the village step is done, so it is refused as a whole.
        let resp = app.post_form(&village, "/applications/decisions", &form).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.audit_count("application.decide").await, 3);
        // The same over the API.
        let token = app.token("yh_village").await;
        let (status, body) = app.api_post(&token, "/api/v1/applications/decisions",
            serde_json::json!({"ids": ids, "decision": "approve", "reason": ""})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
}

test_on_both! {
    async fn a_returned_application_reaches_the_other_staff_of_the_area_in_their_notification_centre(app: TestApp) {
        app.create_user("yh_village", Role::VillageStaff, "430302001001").await;
        app.create_user("yh_township", Role::TownshipStaff, "430302001000").await;
        app.create_user("yt_village", Role::VillageStaff, "430304001001").await;
        let id = register(&app, 21, "周桂芳").await;
        let village = app.login("yh_village").await;
        let page = app.get(&village, &format!("/elders/{id}")).await;
        let resp = app.post_form(&village, &format!("/elders/{id}/applications"),
            &[("_csrf", &page.csrf()), ("item_code", "XT-ZH-02"), ("applicant_name", "周桂芳"), ("applicant_relation", "本人")]).await;
        let path = resp.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
        let aid = path.rsplit('/').next().unwrap().to_string();
        let page = app.get(&village, &path).await;
        let resp = app.post_form(&village, &format!("{path}/decisions"),
            &[("_csrf", &page.csrf()), ("decision", "return"), ("reason", "请补充户口簿复印件")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        // The township worker sees it in the header and in the centre; the one who returned it
        // and staff of another county do not.
        let township = app.login("yh_township").await;
        let home = app.get(&township, "/home").await;
        assert_eq!(home.text_of("#unread-count").as_deref(), Some("1"));
        let centre = app.get(&township, "/notifications").await;
        let items = centre.texts("#notifications li");
        assert_eq!(items.len(), 1);
        assert!(items[0].contains("周桂芳的") && items[0].contains("退回补正") && items[0].contains("请补充户口簿复印件"), "{items:?}");
        assert!(app.get(&village, "/home").await.text_of("#unread-count").is_none(), "not told of one's own decision");
        let far = app.login("yt_village").await;
        assert!(app.get(&far, "/notifications").await.text_of("#no-notifications").is_some());
        // 「查看」 opens the application and marks it read.
        let open = centre.attr("#notifications form", "action").unwrap();
        let resp = app.post_form(&township, &open, &[("_csrf", &centre.csrf())]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers()["location"].to_str().unwrap(), format!("/applications/{aid}"));
        assert!(app.get(&township, "/home").await.text_of("#unread-count").is_none());
        // Another account cannot open (or learn of) someone else's notification.
        let resp = app.post_form(&far, &open, &[("_csrf", &app.get(&far, "/notifications").await.csrf())]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        // The API lists the same.
        let token = app.token("yh_township").await;
        let (status, body) = app.api_get(&token, "/api/v1/me/notifications").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["unread"], 0);
        assert_eq!(body["items"][0]["kind"], "application_returned");
    }
}
