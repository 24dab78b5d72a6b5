//! Providers, facilities, beds, residents, staff and star ratings through the pages, on both
//! databases: a bad credit code is refused naming the field and nothing is written; a provider
//! administrator runs its own facility (beds, admission with and without an assessment, staff)
//! and sees nothing of another provider; a rating goes from application to publication, with a
//! sheet item above its maximum refused, and the level appears in the public finder.

use crate::common::{Page, TestApp};
use chrono::Utc;
use jinglao_db::Actor;
use jinglao_db::elders::{self, Secrets};
use jinglao_db::test_on_both;
use jinglao_domain::ResidentId;
use jinglao_domain::Role;
use jinglao_domain::elder::{ElderDraft, ValidationContext};
use jinglao_domain::rating::SHEET;
use reqwest::StatusCode;
use uuid::Uuid;

/// A valid GB 32100 code of a 民办非企业单位 registered in 雨湖区, from its first 17 characters.
fn credit_code(serial: u32) -> String {
    let first17 = format!("52430302MJ5{serial:06}");
    let check = jinglao_domain::credit_code::check_char(first17.as_bytes()).unwrap();
    format!("{first17}{check}")
}

/// The same code with a wrong check character.
fn wrong_check(code: &str) -> String {
    let last = code.chars().last().unwrap();
    let other = if last == '0' { '1' } else { '0' };
    format!("{}{other}", &code[..17])
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_string()
}

fn elder_name(n: u32) -> String {
    format!("入住测试{}", ["甲", "乙", "丙", "丁"][n as usize % 4])
}

/// Registers an older person in 雨湖区 (optionally with an effective assessment) and returns
/// the ID number.
async fn register_elder(app: &TestApp, n: u32, assessed: bool) -> String {
    let id = ResidentId::from_first17(&format!("4303021942051{n:04}"))
        .as_str()
        .to_string();
    let draft = ElderDraft {
        name: elder_name(n),
        id_number: id.clone(),
        ethnicity: "汉族".into(),
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
    let keys = &app.state.keys;
    let secrets = Secrets {
        chain: &keys.audit_chain,
        cipher: &keys.cipher,
    };
    elders::create(
        &app.state.db,
        secrets,
        &Actor::cli(),
        &draft,
        &[],
        Utc::now(),
    )
    .await
    .unwrap();
    if assessed {
        // Stands in for an effective assessment (the assessment workflow has its own tests).
        app.db
            .tamper(&format!(
                "UPDATE elders SET ability_level = 2 WHERE name = '{}'",
                elder_name(n)
            ))
            .await;
    }
    id
}

/// Registers a facility through the form for `provider`; returns its page's path.
async fn new_facility(
    app: &TestApp,
    client: &reqwest::Client,
    provider: Uuid,
    name: &str,
    extra: &[(&str, &str)],
) -> String {
    let page = app.get(client, "/facilities/new").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let provider = provider.to_string();
    let mut form = vec![
        ("_csrf", csrf.as_str()),
        ("provider_id", provider.as_str()),
        ("name", name),
        ("kind", "care_home"),
        ("ownership", "private"),
        ("region_code", "430302001"),
        ("address", "雨湖区建设北路 8 号"),
        ("latitude", "27.86"),
        ("longitude", "112.91"),
        ("floor_area_m2", "2400"),
        ("functions", "full_care"),
        ("functions", "meals"),
        ("functions", "rehabilitation"),
        ("fire_status", "approved"),
        ("price_min_yuan", "2200"),
        ("price_max_yuan", "4800"),
    ];
    form.extend_from_slice(extra);
    let resp = app.post_form(client, "/facilities", &form).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "facility is registered"
    );
    location(&resp).split('?').next().unwrap().to_string()
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = app.get(client, page).await.csrf();
    let mut all = vec![("_csrf", csrf.as_str())];
    all.extend_from_slice(form);
    app.post_form(client, action, &all).await
}

async fn page_after(app: &TestApp, client: &reqwest::Client, resp: reqwest::Response) -> Page {
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "the form is accepted");
    app.get(client, &location(&resp)).await
}

test_on_both! {
    async fn a_provider_with_a_bad_credit_code_is_refused_unless_county_staff_give_a_reason(app: TestApp) {
        app.create_user("county_a", Role::CountyStaff, "430302000000").await;
        let client = app.login("county_a").await;
        let code = credit_code(4242);
        let bad = wrong_check(&code);
        let form = |code: &'static str, reason: &'static str| {
            vec![("name", "雨湖康乐养老服务中心"), ("credit_code", code), ("override_reason", reason),
                 ("region_code", "430302"), ("kind", "private_non_enterprise"), ("legal_representative", "刘建国")]
        };
        let bad: &'static str = Box::leak(bad.into_boxed_str());
        let resp = post(&app, &client, "/providers", "/providers", &form(bad, "")).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = TestApp::page(resp).await;
        assert!(page.text_of(".error-summary").unwrap().contains("校验"), "{}", page.text_of(".error-summary").unwrap());
        assert!(page.text.contains("id=\"credit_code-error\""), "the error is shown at the field");
        assert!(!app.get(&client, "/providers").await.text.contains("雨湖康乐养老服务中心"), "nothing was written");

        // With a written reason, county staff may register an early non-conforming code.
        let resp = post(&app, &client, "/providers", "/providers", &form(bad, "已核对民政局登记证书原件")).await;
        let page = page_after(&app, &client, resp).await;
        assert!(page.text.contains("已核对民政局登记证书原件"));
        let standing = page.text_of("#bid-standing").unwrap();
        assert!(standing.contains("暂不具备") && standing.contains("条件1"), "{standing}");

        // All seven conditions checked and met: qualified to bid.
        let path = location_path(&page);
        for c in jinglao_domain::provider::Condition::ALL {
            let resp = post(&app, &client, &path, &format!("{path}/findings"), &[
                ("condition", c.as_str()), ("met", "yes"), ("checked_on", "2026-01-05"),
                ("expires_on", ""), ("evidence", "年检报告书")]).await;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        }
        let page = app.get(&client, &path).await;
        assert!(page.text_of("#bid-standing").unwrap().contains("具备承接政府购买服务的资格"));

        // A check dated in the future is refused at the field.
        let resp = post(&app, &client, &path, &format!("{path}/findings"), &[
            ("condition", "finance"), ("met", "no"), ("checked_on", "2099-01-01"), ("evidence", "x")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text.contains("id=\"checked_on-error\""));

        // An inspector records a 失信 listing: a bad date is named, then the provider loses its
        // standing with the decision named; revoked over the API, it is qualified again.
        app.create_user("inspector_a", Role::Inspector, "430302000000").await;
        let inspector = app.login("inspector_a").await;
        let credit = format!("{path}/credit-records");
        let listing = |decided: &'static str| vec![("kind", "dishonest"), ("decision_no", "潭民失信〔2026〕1号"),
            ("authority", "湘潭市民政局"), ("decided_on", decided), ("ends_on", ""), ("summary", "虚报服务记录")];
        let resp = post(&app, &inspector, &path, &credit, &listing("2099-01-01")).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text.contains("id=\"decided_on-error\""));
        let resp = post(&app, &inspector, &path, &credit, &listing("2026-11-01")).await;
        let page = page_after(&app, &inspector, resp).await;
        let standing = page.text_of("#bid-standing").unwrap();
        assert!(standing.contains("暂不具备") && standing.contains("潭民失信〔2026〕1号"), "{standing}");
        let records = page.text_of("#credit-records").unwrap();
        assert!(records.contains("列入失信名单") && records.contains("测试 inspector_a"), "the recorder by name: {records}");
        let token = app.token("inspector_a").await;
        let provider = path.trim_start_matches("/providers/");
        let (status, body) = app.api_get(&token, &format!("/api/v1/providers/{provider}/credit-records")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let record = body[0]["id"].as_str().unwrap().to_string();
        let (status, body) = app.api_post(&token, &format!("/api/v1/credit-records/{record}/revoke"),
            serde_json::json!({"revoked_on": "2026-11-02", "revoke_reason": ""})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "revoke_reason");
        let (status, body) = app.api_post(&token, &format!("/api/v1/credit-records/{record}/revoke"),
            serde_json::json!({"revoked_on": "2026-11-02", "revoke_reason": "潭民信修〔2026〕2号"})).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert!(app.get(&client, &path).await.text_of("#bid-standing").unwrap().contains("具备承接政府购买服务的资格"));
        assert_eq!(app.audit_count("credit.record").await, 1);
        assert_eq!(app.audit_count("credit.revoke").await, 1);
    }
}

/// The provider page's own path, read from its finding form.
fn location_path(page: &Page) -> String {
    page.attr("#finding-form", "action")
        .unwrap()
        .trim_end_matches("/findings")
        .to_string()
}

test_on_both! {
    async fn a_provider_administrator_runs_its_own_facility_and_sees_nothing_of_another_provider(app: TestApp) {
        app.create_user("home_admin", Role::ProviderAdmin, "430302000000").await;
        app.create_user("county_b", Role::CountyStaff, "430302000000").await;
        let admin = app.login("home_admin").await;

        // The new-facility form offers only its own provider.
        let form = app.get(&admin, "/facilities/new").await;
        assert_eq!(form.texts("#provider_id option").len(), 2, "a blank choice and its own provider");
        let path = new_facility(&app, &admin, app.provider_id, "雨湖颐和护理院", &[]).await;
        let page = app.get(&admin, &path).await;
        assert!(page.text.contains("全托、助餐、康复") || page.text.contains("助餐"), "functions are kept");

        // Beds: three nursing beds in room 301.
        let resp = post(&app, &admin, &path, &format!("{path}/beds"), &[
            ("building", "1号楼"), ("floor", "3"), ("room", "301"), ("count", "3"), ("nursing", "yes")]).await;
        let page = page_after(&app, &admin, resp).await;
        assert!(page.text_of("#bed-figures").unwrap().contains("3 张（护理型 3 张"));
        let bed = page.attr("#bed_id option:nth-child(2)", "value").unwrap();
        assert!(page.text_of(".pager").is_none(), "one page of beds has no pager");

        // 53 beds: the table shows 50 and pages to the rest, landing at the table.
        for room in ["302", "303"] {
            let resp = post(&app, &admin, &path, &format!("{path}/beds"), &[
                ("building", "1号楼"), ("floor", "3"), ("room", room), ("count", "25")]).await;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        }
        let many = app.get(&admin, &path).await;
        assert_eq!(many.texts("#bed-table tbody tr").len(), 50);
        assert_eq!(many.text_of(".pager-total").as_deref(), Some("53"));
        let next = many.attr(".pager-next", "href").unwrap();
        assert!(next.ends_with("page=2#beds"), "{next}");
        let rest = app.get(&admin, &next).await;
        assert_eq!(rest.texts("#bed-table tbody tr").len(), 3);
        assert!(rest.texts("#bed_id option").len() > 3, "the admission form still offers every free bed");

        // No assessment: refused at the ID number, nothing written.
        let unassessed = register_elder(&app, 1, false).await;
        let resp = post(&app, &admin, &path, &format!("{path}/admissions"), &[
            ("id_number", &unassessed), ("bed_id", &bed), ("admitted_on", "2026-11-01")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused = TestApp::page(resp).await;
        assert!(refused.text_of("#id_number-error").unwrap().contains("能力评估"));
        assert!(app.get(&admin, &path).await.text_of("#bed-figures").unwrap().contains("已入住 0 张"));

        // With an assessment: admitted; the ID number is masked in the list.
        let assessed = register_elder(&app, 2, true).await;
        let resp = post(&app, &admin, &path, &format!("{path}/admissions"), &[
            ("id_number", &assessed), ("bed_id", &bed), ("admitted_on", "2026-11-01")]).await;
        let page = page_after(&app, &admin, resp).await;
        assert!(page.text_of("#bed-figures").unwrap().contains("已入住 1 张"));
        let residents = page.text_of("#resident-table").unwrap();
        assert!(residents.contains(&elder_name(2)) && !residents.contains(&assessed), "{residents}");

        // The same person cannot take a second bed.
        let other_bed = page.attr("#bed_id option:nth-child(2)", "value").unwrap();
        let resp = post(&app, &admin, &path, &format!("{path}/admissions"), &[
            ("id_number", &assessed), ("bed_id", &other_bed), ("admitted_on", "2026-11-02")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Staff: a caregiver hired; the list masks the ID number.
        let staff_path = format!("/providers/{}/staff", app.provider_id);
        let caregiver = ResidentId::from_first17("43030219850612302").as_str().to_string();
        let resp = post(&app, &admin, &staff_path, &staff_path, &[
            ("name", "彭春花"), ("id_number", &caregiver), ("role", "caregiver"), ("vocational_level", "4"),
            ("certificate_no", "HN20230001"), ("start_on", "2024-03-01"), ("full_time", "true")]).await;
        let page = page_after(&app, &admin, resp).await;
        let table = page.text_of("#staff-table").unwrap();
        assert!(table.contains("彭春花") && table.contains("四级") && !table.contains(&caregiver), "{table}");

        // Another provider's facility and provider page are not found for this administrator.
        let county = app.login("county_b").await;
        let other = {
            let resp = post(&app, &county, "/providers", "/providers", &[
                ("name", "岳塘福寿养老有限公司"), ("credit_code", &credit_code(777)), ("region_code", "430302"),
                ("kind", "private_non_enterprise"), ("legal_representative", "王德福")]).await;
            let status = resp.status();
            assert_eq!(status, StatusCode::SEE_OTHER, "{:?}", TestApp::page(resp).await.text_of(".error-summary"));
            location(&resp).split('?').next().unwrap().trim_start_matches("/providers/").to_string()
        };
        let other_path = new_facility(&app, &county, other.parse().unwrap(), "岳塘福寿园", &[]).await;
        assert_eq!(app.get(&admin, &other_path).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&admin, &format!("/providers/{other}")).await.status, StatusCode::NOT_FOUND);
        let list = app.get(&admin, "/facilities").await;
        assert!(list.text.contains("雨湖颐和护理院") && !list.text.contains("岳塘福寿园"));
        // …and may not register a facility for it.
        let csrf = app.get(&admin, "/facilities/new").await.csrf();
        let resp = app.post_form(&admin, "/facilities", &[("_csrf", &csrf), ("provider_id", &other),
            ("name", "冒名设施"), ("kind", "care_home"), ("ownership", "private"),
            ("region_code", "430302001"), ("address", "x"), ("fire_status", "approved")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text.contains("id=\"provider_id"));
    }
}

test_on_both! {
    async fn a_rating_goes_from_application_to_publication_and_shows_in_the_public_finder(app: TestApp) {
        app.create_user("county_c", Role::CountyStaff, "430302000000").await;
        let client = app.login("county_c").await;
        let path = new_facility(&app, &client, app.provider_id, "雨湖松鹤养老院", &[
            ("filing_no", "湘潭民养备2020001"), ("filed_on", "2020-06-01"), ("opened_on", "2020-06-01")]).await;
        // No text caps a first rating; where the county sets a cap of 3, asking for 4 is refused.
        jinglao_db::policy::set(&jinglao_db::WriteCtx::new(&app.state.db, &app.state.keys.audit_chain, &jinglao_db::Actor::cli(), chrono::Utc::now()), jinglao_domain::RegionCode::parse("430302").unwrap(), jinglao_domain::policy::PolicyKey::RatingFirstTimeCap, "3", "雨湖区养老机构等级评定实施办法").await.unwrap();
        let resp = post(&app, &client, &path, &format!("{path}/ratings"), &[("requested_level", "4")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let resp = post(&app, &client, &path, &format!("{path}/ratings"), &[("requested_level", "3")]).await;
        let page = page_after(&app, &client, resp).await;
        let rating = page.attr("#rating-table a", "href").unwrap();

        // The self-assessment: one item above its maximum refuses the whole sheet.
        let sheet = |over: bool| -> Vec<(String, String)> {
            SHEET.iter().enumerate().map(|(n, i)| {
                let v = if over && n == 0 { i.max_points + 1 } else { i.max_points * 9 / 10 };
                (format!("score.{}", i.code), v.to_string())
            }).collect()
        };
        let send = |form: Vec<(String, String)>, action: String| {
            let (app, client, rating) = (&app, &client, rating.clone());
            async move {
                let csrf = app.get(client, &rating).await.csrf();
                let mut all = vec![("_csrf".to_string(), csrf)];
                all.extend(form);
                client.post(app.url(&action)).form(&all).send().await.unwrap()
            }
        };
        let resp = send(sheet(true), format!("{rating}/sheets/self")).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused = TestApp::page(resp).await;
        let first = SHEET[0].code;
        assert!(refused.text.contains(&format!("id=\"score.{first}\"")));
        assert!(refused.text_of(".error-summary").unwrap().contains("满分"), "{}", refused.text_of(".error-summary").unwrap());
        assert!(app.get(&client, &rating).await.text_of("#rating-status").unwrap().contains("待机构自评"), "nothing saved");

        let resp = send(sheet(false), format!("{rating}/sheets/self")).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let resp = send(sheet(false), format!("{rating}/sheets/expert")).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let resp = post(&app, &client, &rating, &format!("{rating}/decision"), &[]).await;
        let page = page_after(&app, &client, resp).await;
        assert!(page.text_of("#rating-outcome").unwrap().contains("评为 3 级"), "{}", page.text_of("#rating-outcome").unwrap());

        // The level is on the facility and in the public finder (no sign-in).
        assert!(app.get(&client, &path).await.text_of("#facility-level").unwrap().contains("三级"));
        let id = path.trim_start_matches("/facilities/");
        let public = app.get(&app.client(), &format!("/institutions/{id}")).await;
        assert_eq!(public.status, StatusCode::OK);
        assert!(public.text_of("#facility-stars").unwrap().contains("三级"));
        let found = app.get(&app.client(), "/institutions?stars=3&region=430302").await;
        assert!(found.text.contains("雨湖松鹤养老院"));
    }
}

test_on_both! {
    async fn the_api_registers_a_facility_names_bad_fields_admits_a_resident_and_keeps_to_scope(app: TestApp) {
        app.create_user("api_admin", Role::ProviderAdmin, "430302000000").await;
        let token = app.token("api_admin").await;
        let provider = app.provider_id.to_string();
        let body = |region: &str| serde_json::json!({
            "provider_id": provider, "name": "雨湖晚晴护理院", "kind": "care_home", "ownership": "private",
            "region_code": region, "address": "雨湖区韶山西路 1 号", "functions": ["full_care", "meals"],
            "fire_status": "approved"
        });

        // Outside the provider's city: refused naming the field, nothing written.
        let (status, err) = app.api_post(&token, "/api/v1/facilities", body("430104001")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["field"], "region_code", "{err}");
        let (_, list) = app.api_get(&token, "/api/v1/facilities").await;
        assert!(list.as_array().unwrap().is_empty());

        // Typed JSON: a coordinate as text, money in yuan, an impossible date are each named.
        let with = |extra: serde_json::Value| {
            let mut b = body("430302001");
            b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            b
        };
        for (extra, field) in [
            (serde_json::json!({ "latitude": "27.86" }), "latitude"),
            (serde_json::json!({ "price_min_yuan": "2200" }), "price_min_yuan"),
            (serde_json::json!({ "opened_on": "2023-02-30" }), "opened_on"),
            (serde_json::json!({ "price_min_fen": 300000, "price_max_fen": 200000 }), "price_max_fen"),
            (serde_json::json!({ "latitude": 27.86 }), "longitude"),
        ] {
            let (status, err) = app.api_post(&token, "/api/v1/facilities", with(extra)).await;
            assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{err}");
        }
        let (status, f) = app.api_post(&token, "/api/v1/facilities", with(serde_json::json!({
            "latitude": 27.86, "longitude": 112.9, "floor_area_m2": 2400.5,
            "price_min_fen": 220000, "price_max_fen": 380050, "opened_on": "2023-01-01",
            "filing_no": "湘潭雨湖备2023009", "filed_on": "2023-02-01"
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{f}");
        assert_eq!(f["functions"], serde_json::json!(["meals", "full_care"]));
        assert_eq!((f["price_min_fen"].as_i64(), f["price_max_fen"].as_i64()), (Some(220000), Some(380050)));
        assert_eq!(f["latitude"].as_f64(), Some(27.86));
        let id = f["id"].as_str().unwrap().to_string();

        // A bed through the page, then an admission through the API.
        let client = app.login("api_admin").await;
        let path = format!("/facilities/{id}");
        let resp = post(&app, &client, &path, &format!("{path}/beds"), &[
            ("building", "A"), ("floor", "1"), ("room", "101"), ("count", "1")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let (_, beds) = app.api_get(&token, &format!("/api/v1/facilities/{id}/beds")).await;
        let bed = beds[0]["id"].as_str().unwrap().to_string();
        let elder = register_elder(&app, 3, true).await;
        let admit = serde_json::json!({ "bed_id": bed, "id_number": elder, "admitted_on": "2026-11-01" });
        let (status, stay) = app.api_post(&token, &format!("/api/v1/facilities/{id}/admissions"), admit.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{stay}");
        let (status, again) = app.api_post(&token, &format!("/api/v1/facilities/{id}/admissions"), admit).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{again}");
        let (_, f) = app.api_get(&token, &format!("/api/v1/facilities/{id}")).await;
        assert_eq!((f["beds_total"].as_i64(), f["occupied_beds"].as_i64()), (Some(1), Some(1)));

        // Beds, a bed's status and a discharge over the API; the counters follow.
        let (status, added) = app.api_post(&token, &format!("/api/v1/facilities/{id}/beds"),
            serde_json::json!({ "building": "A", "floor": "2", "room": "201", "count": 2, "nursing": true })).await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        let new_bed = added["bed_ids"][0].as_str().unwrap().to_string();
        let (status, err) = app.api_post(&token, &format!("/api/v1/facilities/{id}/beds"),
            serde_json::json!({ "building": "A", "floor": "2", "room": "202", "count": 500 })).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("count")), "{err}");
        let (status, err) = app.api_post(&token, &format!("/api/v1/facilities/{id}/beds/{new_bed}/status"),
            serde_json::json!({ "status": "occupied" })).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")), "{err}");
        let (status, _) = app.api_post(&token, &format!("/api/v1/facilities/{id}/beds/{new_bed}/status"),
            serde_json::json!({ "status": "out_of_service" })).await;
        assert_eq!(status, StatusCode::OK);
        let stay_id = stay["stay_id"].as_str().unwrap().to_string();
        let (status, err) = app.api_post(&token, &format!("/api/v1/facilities/{id}/discharges"),
            serde_json::json!({ "stay_id": stay_id, "discharged_on": "2026-11-20", "reason": "" })).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("discharge_reason")), "{err}");
        let (status, _) = app.api_post(&token, &format!("/api/v1/facilities/{id}/discharges"),
            serde_json::json!({ "stay_id": stay_id, "discharged_on": "2026-11-20", "reason": "回家养老" })).await;
        assert_eq!(status, StatusCode::OK);
        let (_, f) = app.api_get(&token, &format!("/api/v1/facilities/{id}")).await;
        assert_eq!((f["beds_total"].as_i64(), f["occupied_beds"].as_i64()), (Some(2), Some(0)), "one bed out of service: {f}");

        // Staff: a hire with bad fields is named; a good one is listed with the ID masked.
        let staff_path = format!("/api/v1/providers/{provider}/staff");
        let (status, err) = app.api_post(&token, &staff_path, serde_json::json!({
            "name": "赵护理", "id_number": "123", "role": "caregiver", "start_on": "2026-01-01", "full_time": true })).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("id_number")), "{err}");
        let carer_id = jinglao_domain::ResidentId::from_first17("43030219800101001").as_str().to_string();
        let (status, hired) = app.api_post(&token, &staff_path, serde_json::json!({
            "name": "赵护理", "id_number": carer_id, "role": "caregiver", "vocational_level": "4",
            "certificate_no": "HN2024-001", "facility_id": id, "start_on": "2026-01-01", "full_time": true })).await;
        assert_eq!(status, StatusCode::CREATED, "{hired}");
        let (_, people) = app.api_get(&token, &staff_path).await;
        assert_eq!(people.as_array().unwrap().len(), 1, "{people}");
        assert!(people[0]["id_masked"].as_str().unwrap().contains('*') && !people.to_string().contains(&carer_id));

        // Rating: applying for a level is listed on the facility; a level out of range is named.
        let (status, err) = app.api_post(&token, &format!("/api/v1/facilities/{id}/ratings"), serde_json::json!({ "requested_level": 9 })).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("requested_level")), "{err}");
        let (status, applied) = app.api_post(&token, &format!("/api/v1/facilities/{id}/ratings"), serde_json::json!({ "requested_level": 2 })).await;
        assert_eq!(status, StatusCode::CREATED, "{applied}");
        let (_, ratings) = app.api_get(&token, &format!("/api/v1/facilities/{id}/ratings")).await;
        assert_eq!(ratings[0]["status"], "applied", "{ratings}");
        // Only raters decide.
        let rating = applied["rating_id"].as_str().unwrap();
        let (status, _) = app.api_post(&token, &format!("/api/v1/ratings/{rating}/decision"), serde_json::json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The whitelist filter: no level in force, so not listed.
        let (_, white) = app.api_get(&token, "/api/v1/facilities?min_level=1").await;
        assert!(white.as_array().unwrap().is_empty());
        let (status, _) = app.api_get(&token, "/api/v1/facilities?min_level=9").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // Standing: no conditions checked yet, with the reasons.
        let (status, s) = app.api_get(&token, &format!("/api/v1/providers/{provider}/standing")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(s["qualified"], false);
        assert_eq!(s["gaps"].as_array().unwrap().len(), 7, "{s}");

        // County staff see the facilities of their county; a caregiver may not use these endpoints.
        app.create_user("county_d", Role::CountyStaff, "430302000000").await;
        let county = app.token("county_d").await;
        let (_, theirs) = app.api_get(&county, "/api/v1/facilities").await;
        assert_eq!(theirs.as_array().unwrap().len(), 1, "county staff see facilities in their county");
        app.create_user("caregiver_x", Role::Caregiver, "430302000000").await;
        let caregiver = app.token("caregiver_x").await;
        let (status, _) = app.api_get(&caregiver, "/api/v1/facilities").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

/// A 1×1 PNG.
const PNG: &str = "89504e470d0a1a0a0000000d4948445200000001000000010806000000\
1f15c4890000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082";

async fn upload_photo(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    caption: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let csrf = app.get(client, "/facilities").await.csrf();
    let form = reqwest::multipart::Form::new()
        .text("caption", caption.to_string())
        .part(
            "photo",
            reqwest::multipart::Part::bytes(bytes).file_name("photo.png"),
        );
    client
        .post(app.url(&format!("{path}/photos?_csrf={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

test_on_both! {
    async fn a_photo_uploaded_by_the_provider_appears_on_the_public_page_and_a_pdf_is_refused(app: TestApp) {
        app.create_user("photo_admin", Role::ProviderAdmin, "430302000000").await;
        let admin = app.login("photo_admin").await;
        let path = new_facility(&app, &admin, app.provider_id, "雨湖福乐养老院", &[]).await;
        let png = hex::decode(PNG).unwrap();

        let resp = upload_photo(&app, &admin, &path, "多功能活动室", b"%PDF-1.4 not a photo".to_vec()).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text_of("#photo-error").unwrap().contains("JPG 或 PNG"));
        let resp = upload_photo(&app, &admin, &path, "", png.clone()).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a caption is needed");

        let resp = upload_photo(&app, &admin, &path, "多功能活动室", png.clone()).await;
        let page = page_after(&app, &admin, resp).await;
        assert_eq!(page.texts("#photo-list li").len(), 1);

        // The public page shows it, and anyone can fetch the bytes, unchanged.
        let id = path.trim_start_matches("/facilities/");
        let public = app.get(&app.client(), &format!("/institutions/{id}")).await;
        let src = public.attr("#facility-photos img", "src").unwrap();
        assert_eq!(public.attr("#facility-photos img", "alt").unwrap(), "多功能活动室");
        let resp = app.client().get(app.url(&src)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "image/png");
        assert_eq!(resp.bytes().await.unwrap().to_vec(), png);

        // Someone else's facility: not found.
        app.create_user("county_p", Role::CountyStaff, "430304000000").await;
        let other = app.login("county_p").await;
        let resp = upload_photo(&app, &other, &path, "冒名", hex::decode(PNG).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
}

test_on_both! {
    async fn county_staff_agree_contract_prices_that_never_overlap_and_the_provider_sees_them(app: TestApp) {
        app.create_user("county_price", Role::CountyStaff, "430302000000").await;
        app.create_user("price_admin", Role::ProviderAdmin, "430302000000").await;
        let county = app.login("county_price").await;
        let path = format!("/providers/{}/prices", app.provider_id);
        let form = |item: &'static str, from: &'static str, yuan: &'static str| {
            vec![("item_code", item), ("valid_from", from), ("valid_to", ""), ("unit_yuan", yuan),
                 ("min_minutes", "45"), ("basis", "雨民购〔2026〕3号")]
        };
        let resp = post(&app, &county, &path, &path, &form("NO-SUCH", "2026-01-01", "45")).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text_of("#item_code-error").unwrap().contains("服务清单"));
        let resp = post(&app, &county, &path, &path, &form("XT-JJ-01", "2026-01-01", "45")).await;
        let page = page_after(&app, &county, resp).await;
        assert!(page.text_of("#prices").unwrap().contains("45.00"));
        let resp = post(&app, &county, &path, &path, &form("XT-JJ-01", "2026-06-01", "50")).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(TestApp::page(resp).await.text.contains("同时有效"));

        let admin = app.login("price_admin").await;
        let page = app.get(&admin, &path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text_of("#prices").unwrap().contains("45.00"));
        assert!(page.text_of("#price-form").is_none(), "a provider does not set its own prices");
    }
}

test_on_both! {
    async fn the_facility_list_pages_sorts_by_pinyin_and_exports_exactly_what_is_filtered(app: TestApp) {
        jinglao_fixtures::demo::seed_facilities(&app.state.db, &app.state.keys, 180, 7).await.unwrap();
        app.create_user("city_fac", jinglao_domain::Role::CityStaff, "4303").await;
        let city = app.login("city_fac").await;
        let page = app.get(&city, "/facilities").await;
        let total: usize = page.text_of(".pager-total").unwrap().parse().unwrap();
        assert!(total > 50, "{total}");
        let names = page.texts("#facilities tbody tr td:first-child");
        assert_eq!(names.len(), 50, "fifty a page");
        let keys: Vec<String> = names.iter().map(|n| jinglao_domain::collation::pinyin_key(n)).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "names in pinyin order: {names:?}");
        // The last page holds the rest.
        let last = total.div_ceil(50);
        let tail = app.get(&city, &format!("/facilities?page={last}")).await;
        assert_eq!(tail.texts("#facilities tbody tr").len(), total - 50 * (last - 1));
        // Sorted by beds, largest first, the filter kept in the column links.
        let by_beds = app.get(&city, "/facilities?warnings=yes&sort=beds").await;
        let beds: Vec<i64> = by_beds.texts("#facilities tbody tr td:nth-child(5)").iter().map(|b| b.parse().unwrap()).collect();
        assert!(beds.windows(2).all(|w| w[0] >= w[1]), "{beds:?}");
        assert!(by_beds.attr("th a.sort-link", "href").unwrap().contains("warnings=yes"));
        // The export holds exactly the filtered list, and is audited.
        let filtered: usize = by_beds.text_of(".pager-total").unwrap().parse().unwrap();
        let href = by_beds.attr("#export-facilities", "href").unwrap();
        let resp = city.get(app.url(&href)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let table = jinglao_domain::tabular::read_table(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(table.rows.len() - 1, filtered);
        assert_eq!(app.audit_count("facility.export").await, 1);
    }
}

test_on_both! {
    async fn a_large_staff_list_pages_in_pinyin_order_and_its_skills_form_changes_only_the_page_shown(app: TestApp) {
        // Contract prices (what skills can name) and whoever the fixture employs.
        crate::visits::setup(&app).await;
        app.create_user("big_admin", Role::ProviderAdmin, "430302").await;
        let token = app.token("big_admin").await;
        let staff_path = format!("/api/v1/providers/{}/staff", app.provider_id);
        let (_, before) = app.api_get(&token, &staff_path).await;
        let total = before.as_array().unwrap().len() + 53;
        let surnames = ["张", "李", "王", "赵", "陈", "刘", "黄", "周", "吴", "孙", "朱"];
        for n in 0..53u32 {
            let id = jinglao_domain::ResidentId::from_first17(&format!("430302197901{:02}{n:03}", 1 + n % 28)).as_str().to_string();
            let name = format!("{}护理{n}", surnames[n as usize % surnames.len()]);
            let (status, body) = app.api_post(&token, &staff_path, serde_json::json!({
                "name": name, "id_number": id, "role": "caregiver", "start_on": "2026-01-01", "full_time": true })).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let admin = app.login("big_admin").await;
        let path = format!("/providers/{}/staff", app.provider_id);
        let page = app.get(&admin, &path).await;
        let names = page.texts("#staff-table tbody tr td:first-child");
        assert_eq!(names.len(), 50);
        assert_eq!(page.text_of(".pager-total"), Some(total.to_string()));
        let key = |n: &String| jinglao_domain::collation::pinyin_key(n);
        assert!(names.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "pinyin order: {names:?}");
        assert_eq!(page.attrs("#skills-form input[name=staff]", "value").len(), 50, "the skills form covers the page");
        assert_eq!(page.texts("#record_staff_id option").len(), total + 1, "the record form offers everyone (after 请选择)");
        let next = page.attr(".pager-next", "href").unwrap();
        assert!(next.ends_with("page=2#people"), "{next}");
        let second = app.get(&admin, &next).await;
        let rest = total - 50;
        assert_eq!(second.texts("#staff-table tbody tr").len(), rest);
        let listed = second.attrs("#skills-form input[name=staff]", "value");
        assert_eq!(listed.len(), rest);
        assert_eq!(second.attr("#skills-form input[name=page]", "value").as_deref(), Some("2"));
        assert!(second.text_of("#save-skills").unwrap().contains(&format!("本页 {rest} 人")));
        // Saving page 2's form returns to page 2.
        let csrf = second.csrf();
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("page", "2")];
        form.extend(listed.iter().map(|s| ("staff", s.as_str())));
        let resp = app.post_form(&admin, &format!("/providers/{}/skills", app.provider_id), &form).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(resp.headers()["location"].to_str().unwrap().contains("page=2"));
    }
}
