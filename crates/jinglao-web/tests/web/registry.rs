//! The registry through the pages and the API, on both databases: an uploaded file is checked
//! row by row and written all-or-nothing (or only its valid rows, when asked), the same file
//! again changes nothing, numbers are masked everywhere and every read and reveal is audited,
//! scope holds for pages and the API, and the scoring API names what is wrong.

use crate::common::TestApp;
use jinglao_db::test_on_both;
use jinglao_domain::elder_import::template_csv;
use jinglao_domain::{ResidentId, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// 雨湖区 and one of its communities.
const YUHU: &str = "430302000000";
const YUHU_COMMUNITY: &str = "430302001001";
/// 岳塘区, a neighbouring county.
const YUETANG: &str = "430304000000";

pub(crate) fn id_number(n: u32) -> String {
    ResidentId::from_first17(&format!("4303021940031{n:04}"))
        .as_str()
        .to_string()
}

pub(crate) fn row(n: u32, name: &str, cats: &str) -> String {
    let start = if cats.is_empty() { "" } else { "2024-01-01" };
    format!(
        "{name},{},汉族,1380731{n:04},430302,{YUHU_COMMUNITY},,,,独居,丧偶,小学,,,1,否,否,,,,{cats},{start},",
        id_number(n)
    )
}

pub(crate) fn file(rows: &[String]) -> Vec<u8> {
    let header = template_csv().lines().next().unwrap().to_string();
    format!("{header}\n{}\n", rows.join("\n")).into_bytes()
}

/// Uploads a file through the import form; returns the preview page's path (or the refusal).
async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let page = app.get(client, "/elders/import").await;
    assert_eq!(page.status, StatusCode::OK);
    let action = page
        .attr("form[enctype='multipart/form-data']", "action")
        .unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    client
        .post(app.url(&action))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Uploads and commits with `mode`; returns the status of the commit and the result page text.
pub(crate) async fn import(
    app: &TestApp,
    client: &reqwest::Client,
    bytes: Vec<u8>,
    mode: &str,
) -> (StatusCode, String) {
    let resp = upload(app, client, "people.csv", bytes).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "upload redirects to the preview"
    );
    let preview_path = resp.headers()["location"].to_str().unwrap().to_string();
    let preview = app.get(client, &preview_path).await;
    assert_eq!(preview.status, StatusCode::OK);
    let fingerprint = preview.attr("input[name=fingerprint]", "value").unwrap();
    let resp = app
        .post_form(
            client,
            &format!("{preview_path}/commit"),
            &[
                ("_csrf", &preview.csrf()),
                ("fingerprint", &fingerprint),
                ("mode", mode),
            ],
        )
        .await;
    let status = resp.status();
    (status, TestApp::page(resp).await.text)
}

async fn registered(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = app.api_get(token, "/api/v1/elders?limit=200").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

test_on_both! {
    async fn a_file_with_one_bad_row_writes_nothing_unless_only_the_valid_rows_are_chosen(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_county").await;
        let token = app.token("yh_county").await;
        let mut rows: Vec<String> = (1..=20).map(|n| row(n, "周桂英", "")).collect();
        // Row 7 of the data (line 8 of the file) has a wrong check digit.
        let good = id_number(7);
        let bad_check = if good.ends_with('0') { "1" } else { "0" };
        rows[6] = rows[6].replace(&good, &format!("{}{bad_check}", &good[..17]));

        let resp = upload(&app, &client, "people.csv", file(&rows)).await;
        let preview_path = resp.headers()["location"].to_str().unwrap().to_string();
        let preview = app.get(&client, &preview_path).await;
        assert!(preview.text.contains("校验位"), "the report names the reason");
        assert!(preview.text.contains("身份证号"), "the report names the column");
        assert!(preview.attr("#commit-all", "id").is_none(), "importing everything is not offered");

        let (status, _) = import(&app, &client, file(&rows), "all").await;
        assert_eq!(status, StatusCode::CONFLICT, "all-or-nothing refuses a file with a bad row");
        assert!(registered(&app, &token).await.is_empty(), "nothing was written");

        let (status, text) = import(&app, &client, file(&rows), "valid").await;
        assert!(status.is_success() || status == StatusCode::SEE_OTHER, "{status}: {text}");
        assert_eq!(registered(&app, &token).await.len(), 19);
    }
}

test_on_both! {
    async fn importing_the_same_file_twice_changes_nothing_the_second_time(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_county").await;
        let token = app.token("yh_county").await;
        let rows: Vec<String> = (1..=30).map(|n| row(n, "李淑珍", if n % 2 == 0 { "低保" } else { "" })).collect();
        let (status, _) = import(&app, &client, file(&rows), "all").await;
        assert!(status.is_success() || status == StatusCode::SEE_OTHER);
        let creates = app.audit_count("elder.create").await;
        assert_eq!(creates, 30, "one audit entry per person");
        let first = registered(&app, &token).await;
        assert_eq!(first.len(), 30);
        assert_eq!(first.iter().filter(|e| e["categories"].as_array().unwrap().iter().any(|c| c == "低保")).count(), 15);

        let (status, text) = import(&app, &client, file(&rows), "all").await;
        assert!(status.is_success() || status == StatusCode::SEE_OTHER);
        assert!(text.contains("30"), "the result counts the unchanged rows: {text}");
        assert_eq!(app.audit_count("elder.create").await, 30);
        assert_eq!(app.audit_count("elder.update").await, 0);
        assert_eq!(registered(&app, &token).await, first);
    }
}

test_on_both! {
    async fn a_file_that_is_not_a_spreadsheet_or_lacks_columns_is_refused_naming_why(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_county").await;
        let resp = upload(&app, &client, "photo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = TestApp::page(resp).await;
        assert!(page.text.contains("XLSX") || page.text.contains("CSV"), "{}", page.text);

        let resp = upload(&app, &client, "short.csv", "姓名,民族\n王秀英,汉族\n".as_bytes().to_vec()).await;
        let text = if resp.status() == StatusCode::SEE_OTHER {
            let path = resp.headers()["location"].to_str().unwrap().to_string();
            app.get(&client, &path).await.text
        } else {
            TestApp::page(resp).await.text
        };
        assert!(text.contains("缺少") && text.contains("身份证号"), "the missing column is named");
    }
}

test_on_both! {
    async fn the_template_downloads_as_csv_and_xlsx_and_reads_back(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_county").await;
        for path in ["/elders/import/template.csv", "/elders/import/template.xlsx"] {
            let resp = client.get(app.url(path)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let bytes = resp.bytes().await.unwrap();
            let table = jinglao_domain::tabular::read_table(&bytes).unwrap();
            assert_eq!(table.rows[0][0], "姓名", "{path}");
            assert!(table.rows[0].iter().any(|h| h == "身份证号"));
        }
    }
}

test_on_both! {
    async fn numbers_are_masked_in_pages_and_api_and_every_read_and_reveal_is_audited(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        app.create_user("yt_county", Role::CountyStaff, YUETANG).await;
        let client = app.login("yh_county").await;
        let token = app.token("yh_county").await;
        import(&app, &client, file(&[row(1, "王秀英", "低保")]), "all").await;
        let full = id_number(1);
        let people = registered(&app, &token).await;
        let id = people[0]["id"].as_str().unwrap().to_string();
        assert_eq!(people[0]["id_masked"], format!("4303*************{}", &full[17..]));
        assert!(!people.iter().any(|p| p.to_string().contains(&full)));

        let reads = app.audit_count("elder.read").await;
        let (status, body) = app.api_get(&token, &format!("/api/v1/elders/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!body.to_string().contains(&full));
        assert_eq!(body["phones_masked"][0], "138****0001");
        assert!(body["categories"].as_array().unwrap().iter().any(|c| c == "低保"));
        assert_eq!(app.audit_count("elder.read").await, reads + 1, "the API read is audited");

        let page = app.get(&client, &format!("/elders/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.text.contains(&full), "the record page shows the masked number");
        assert_eq!(app.audit_count("elder.read").await, reads + 2, "the page view is audited");

        let resp = app.post_form(&client, &format!("/elders/{id}/reveal"), &[("_csrf", &page.csrf()), ("what", "id_number")]).await;
        let revealed = TestApp::page(resp).await;
        assert!(revealed.text.contains(&full), "county staff may reveal the full number");
        assert_eq!(app.audit_count("elder.reveal").await, 1);

        // Another county's worker cannot see the record at all.
        let other = app.token("yt_county").await;
        let (status, body) = app.api_get(&other, &format!("/api/v1/elders/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(registered(&app, &other).await.is_empty());
        let other_client = app.login("yt_county").await;
        assert_eq!(app.get(&other_client, &format!("/elders/{id}")).await.status, StatusCode::NOT_FOUND);
        let (status, body) = app.api_get(&other, &format!("/api/v1/elders?region={YUHU}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "region");
    }
}

test_on_both! {
    async fn an_id_number_is_searched_by_post_never_in_the_address_and_every_search_is_audited(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_county").await;
        let token = app.token("yh_county").await;
        import(&app, &client, file(&[row(1, "王秀英", "低保")]), "all").await;
        let full = id_number(1);
        let searches = app.audit_count("elder.search").await;
        // In the address: refused by field, nothing searched.
        let (status, body) = app.api_get(&token, &format!("/api/v1/elders?q={full}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "q");
        let page = app.get(&client, &format!("/elders?q={full}")).await;
        assert!(page.texts("#elders tbody tr").is_empty());
        assert!(page.text.contains("不要放在网址里"), "{}", page.text);
        // In a body: found, the list giving the age and not the birth date.
        let (status, body) = app.api_post(&token, "/api/v1/elders/search", serde_json::json!({"q": full})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["items"].as_array().unwrap().len(), 1);
        assert!(body["items"][0]["age"].as_i64().unwrap() >= 60);
        assert!(body["items"][0].get("birth_date").is_none());
        let list = app.get(&client, "/elders").await;
        let resp = app.post_form(&client, "/elders/search", &[("_csrf", &list.csrf()), ("q", &full)]).await;
        let found = TestApp::page(resp).await;
        assert_eq!(found.status, StatusCode::OK);
        assert_eq!(found.texts("#elders tbody tr").len(), 1);
        // A name typed in the same form goes on to the address, for paging and bookmarks.
        let resp = app.post_form(&client, "/elders/search", &[("_csrf", &list.csrf()), ("q", "王")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(resp.headers()["location"].to_str().unwrap().starts_with("/elders?q=%E7%8E%8B"));
        // The two searches that showed people, and the list page, are in the audit trail, the
        // number masked.
        assert_eq!(app.audit_count("elder.search").await, searches + 3);
        let entries = jinglao_db::audit::list(&app.state.db, &jinglao_domain::Scope::All,
            &jinglao_db::audit::AuditFilter { action: Some("elder.search".into()), ..Default::default() }, 20).await.unwrap();
        assert!(entries.iter().all(|e| !e.detail.contains(&full)));
        assert!(entries.iter().any(|e| e.detail.contains(&jinglao_domain::ResidentId::parse(&full).unwrap().masked())));
    }
}

test_on_both! {
    async fn a_death_recorded_over_the_api_says_what_it_ended_and_the_record_page_shows_it(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        app.create_user("yt_county", Role::CountyStaff, YUETANG).await;
        let client = app.login("yh_county").await;
        let token = app.token("yh_county").await;
        import(&app, &client, file(&[row(1, "王秀英", "低保")]), "all").await;
        let id = registered(&app, &token).await[0]["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/elders/{id}/life-events");
        // Bad input is named by field; another county's staff learn nothing.
        let (status, body) = app.api_post(&token, &path, json!({"kind": "married", "date": "2026-02-30"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(["kind", "date"].contains(&body["error"]["field"].as_str().unwrap()), "{body}");
        let other = app.token("yt_county").await;
        let today = app.clock_now().date_naive().to_string();
        let (status, _) = app.api_post(&other, &path, json!({"kind": "died", "date": today})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = app.api_post(&token, &path, json!({"kind": "died", "date": today, "note": "死亡证明 001"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["orders"], 0);
        assert!(body["sentence"].is_string());
        // Twice is refused by name, and the page says what was done with the death.
        let (status, body) = app.api_post(&token, &path, json!({"kind": "died", "date": today})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "kind");
        let page = app.get(&client, &format!("/elders/{id}")).await;
        assert!(page.text_of("#elder-status").unwrap().contains("死亡"));
        assert!(page.text_of("#life-effects").is_some(), "{}", page.text);
    }
}

test_on_both! {
    async fn roles_without_registry_access_are_refused_by_the_api(app: TestApp) {
        app.create_user("kl_carer", Role::Caregiver, YUHU).await;
        let token = app.token("kl_carer").await;
        let (status, body) = app.api_get(&token, "/api/v1/elders").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
}

fn all_items(score: i64) -> serde_json::Map<String, Value> {
    jinglao_domain::assessment::ITEMS
        .iter()
        .map(|it| (it.code.to_string(), json!(score.min(it.max() as i64))))
        .collect()
}

async fn score(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/assessments/score"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// Items filled from the first so that they add up to `total`.
fn items_with_total(total: u32) -> serde_json::Map<String, Value> {
    let mut left = total as i64;
    jinglao_domain::assessment::ITEMS
        .iter()
        .map(|it| {
            let s = left.min(it.max() as i64);
            left -= s;
            (it.code.to_string(), json!(s))
        })
        .collect()
}

test_on_both! {
    async fn the_scoring_api_puts_every_boundary_where_the_standard_does_and_names_bad_items(app: TestApp) {
        app.create_user("assessor1", Role::Assessor, YUHU).await;
        let token = app.token("assessor1").await;
        for (total, level, label) in [
            (90, 0, "能力完好"), (89, 1, "轻度失能"), (66, 1, "轻度失能"), (65, 2, "中度失能"),
            (46, 2, "中度失能"), (45, 3, "重度失能"), (30, 3, "重度失能"), (29, 4, "完全失能"),
            (0, 4, "完全失能"),
        ] {
            let (status, body) = score(&app, &token, json!({"items": items_with_total(total)})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["total"], total, "{body}");
            assert_eq!(body["preliminary_level"], level, "total {total}");
            assert_eq!(body["final_level_label"], label, "total {total}");
        }

        // Dementia and two risk events: one level worse in total by default, and both listed.
        let (_, body) = score(&app, &token, json!({"items": items_with_total(70), "diagnoses": ["I10", "F01"], "risk_events_30d": 2})).await;
        assert_eq!(body["preliminary_level"], 1);
        assert_eq!(body["final_level"], 2);
        assert_eq!(body["stacking"], "apply_once");
        let rules: Vec<&str> = body["adjustments"].as_array().unwrap().iter().map(|a| a["rule"].as_str().unwrap()).collect();
        assert_eq!(rules, ["dementia_or_mental_disorder", "care_risk_events"]);

        let (_, body) = score(&app, &token, json!({"items": all_items(4), "coma": true})).await;
        assert_eq!(body["final_level"], 4);
        assert_eq!(body["adjustments"][0]["rule"], "coma");

        let mut items = all_items(1);
        items.remove("B.3.2");
        let (status, body) = score(&app, &token, json!({"items": items})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "items.B.3.2");

        let mut items = all_items(1);
        items.insert("B.2.3".into(), json!("3"));
        let (status, body) = score(&app, &token, json!({"items": items})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "items.B.2.3", "a score of the wrong type is named too");

        let mut items = all_items(1);
        items.insert("B.1.1".into(), json!(9));
        let (status, body) = score(&app, &token, json!({"items": items})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "items.B.1.1");
    }
}

test_on_both! {
    async fn a_search_parameter_that_cannot_be_used_is_named_at_its_own_field(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_county").await;
        let page = app.get(&client, "/elders?ability=9").await;
        assert_eq!(page.status, StatusCode::OK);
        let errors = page.texts(".form-group-error");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("能力等级") && errors[0].contains("0–4"), "{errors:?}");
        let page = app.get(&client, &format!("/elders?region={YUETANG}")).await;
        let errors = page.texts(".form-group-error");
        assert!(errors.len() == 1 && errors[0].contains("区划代码"), "{errors:?}");

        let token = app.token("yh_county").await;
        let (status, body) = app.api_get(&token, "/api/v1/elders?ability=9").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "ability");
        let (status, body) = app.api_get(&token, "/api/v1/elders?limit=0").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "limit");
        let (status, body) = app.api_get(&token, "/api/v1/elders/not-a-uuid").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
}

test_on_both! {
    async fn the_record_page_answers_every_item_of_the_applicable_service_list_with_its_reasons(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_county").await;
        let token = app.token("yh_county").await;
        // Born 1940 (86 today), living alone, holding 低保: 助餐 and 巡访 apply, 家庭养老床位 not.
        import(&app, &client, file(&[row(7, "李桂香", "低保")]), "all").await;
        let id = registered(&app, &token).await[0]["id"].as_str().unwrap().to_string();
        // The demo seed published the city list; a new version is what the page answers with.
        let page = app.get(&client, &format!("/elders/{id}")).await;
        assert!(page.text.contains("按 湘潭市基本养老服务清单（演示） 第 1 版 的服务对象条件逐项判断"));
        let items = jinglao_domain::service_list::xiangtan_demo_list(chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        jinglao_db::service_lists::publish(&jinglao_db::WriteCtx::new(&app.db.db, &app.state.keys.audit_chain, &jinglao_db::Actor::system(), chrono::Utc::now()), jinglao_domain::RegionCode::parse("4303").unwrap(), "湘潭市基本养老服务清单", "潭政办发〔2023〕20号", &items).await.unwrap();
        let page = app.get(&client, &format!("/elders/{id}")).await;
        assert!(page.text.contains("按 湘潭市基本养老服务清单 第 2 版 的服务对象条件逐项判断"), "{}", page.text);
        let row_of = |name: &str| {
            let start = page.text.find(&format!("<tr><td>{name}</td>")).unwrap_or_else(|| panic!("no row {name}"));
            page.text[start..start + page.text[start..].find("</tr>").unwrap()].to_string()
        };
        // Meal help's target group is the demo's assumption, not a text's: it says so.
        assert!(row_of("老年助餐（演示假设）").contains("符合</strong>"), "{}", row_of("老年助餐（演示假设）"));
        assert!(row_of("老年助餐（演示假设）").contains("含“高龄” ✓"));
        let list = app.get(&client, "/service-lists").await;
        assert_eq!(list.texts("[data-demo-assumption]"), vec!["演示假设".to_string()], "one item is marked");
        assert!(row_of("探访关爱（巡访）").contains("居住情况 独居 = “独居” ✓"));
        assert!(row_of("居家适老化改造").contains("不符合"));
    }
}

test_on_both! {
    async fn the_registry_list_pages_by_number_with_the_exact_total_in_pinyin_order_and_finds_a_phone_tail(app: TestApp) {
        jinglao_fixtures::demo::seed_population(&app.state.db, &app.state.keys, 1000, 7, |_| {}).await.unwrap();
        app.create_user("yh_pager", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_pager").await;
        let page = app.get(&client, "/elders?status=all").await;
        let total: usize = page.text_of(".pager-total").unwrap().parse().unwrap();
        assert!(total > 50, "more than one page in the county: {total}");
        assert_eq!(page.text_of("#result-count strong").unwrap(), total.to_string(), "an exact total, never 1000+");
        let first: Vec<String> = page.texts("tbody tr td:first-child a");
        assert_eq!(first.len(), 50);
        let pages = total.div_ceil(50);
        assert!(page.text_of(".pager-summary").unwrap().contains(&format!("第 1 / {pages} 页")), "{:?}", page.text_of(".pager-summary"));
        let key = |n: &String| jinglao_domain::collation::pinyin_key(n);
        assert!(first.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "pinyin order: {first:?}");
        let next = page.attr(".pager-next", "href").unwrap();
        assert!(next.contains("status=all") && next.contains("page=2"), "the link keeps the filter: {next}");
        let second = app.get(&client, &next).await;
        let names: Vec<String> = second.texts("tbody tr td:first-child a");
        assert!(key(first.last().unwrap()) <= key(&names[0]), "page 2 continues page 1");
        // The last page holds the rest.
        let last = app.get(&client, &format!("/elders?status=all&page={pages}")).await;
        assert_eq!(last.texts("tbody tr td:first-child a").len(), total - 50 * (pages - 1));
        // A page number past the end shows the last page.
        let past = app.get(&client, &format!("/elders?status=all&page={}", pages + 5)).await;
        assert_eq!(past.texts("tbody tr td:first-child a"), last.texts("tbody tr td:first-child a"));

        // The API gives the same total.
        let token = app.token("yh_pager").await;
        let (status, body) = app.api_get(&token, "/api/v1/elders?limit=1&status=all").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total"].as_i64().unwrap() as usize, total);

        // The last four digits of a phone number (1380731 9876) find the person, in an address as well.
        import(&app, &client, file(&[row(9876, "欧阳秀英", "")]), "all").await;
        let found = app.get(&client, "/elders?q=9876").await;
        assert!(found.texts("tbody tr td:first-child a").contains(&"欧阳秀英".to_string()), "{}", found.text);
        let (status, body) = app.api_get(&token, "/api/v1/elders?q=9876").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["items"].as_array().unwrap().iter().any(|p| p["name"] == "欧阳秀英"));
        // The search names whom it found in the audit trail: the tail comes close to a reveal.
        let entries = jinglao_db::audit::list(&app.state.db, &jinglao_domain::Scope::All,
            &jinglao_db::audit::AuditFilter { action: Some("elder.search".into()), ..Default::default() }, 10_000).await.unwrap();
        assert!(entries.iter().any(|e| {
            let d: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
            d["text"]["tail"] == "9876" && d["found"].as_array().is_some_and(|f| !f.is_empty())
        }), "a tail search records whom it found");
        // An inspector may list people but not see full numbers, so cannot search by their ends.
        app.create_user("yh_inspector", Role::Inspector, YUHU).await;
        let inspector = app.login("yh_inspector").await;
        let refused = app.get(&inspector, "/elders?q=9876").await;
        assert!(refused.text.contains("需要查看完整号码的权限"), "{}", refused.text);
        assert!(refused.texts("tbody tr td:first-child a").is_empty());
    }
}

test_on_both! {
    async fn a_clerk_exports_exactly_the_filtered_list_to_excel_with_id_numbers_masked_and_the_export_audited(app: TestApp) {
        jinglao_fixtures::demo::seed_population(&app.state.db, &app.state.keys, 400, 7, |_| {}).await.unwrap();
        app.create_user("yh_export", Role::CountyStaff, YUHU).await;
        let client = app.login("yh_export").await;
        let page = app.get(&client, "/elders?region=430302001&status=all").await;
        let shown: usize = page.text_of("#result-count strong").unwrap().parse().unwrap();
        assert!(shown > 0, "people in the township");
        let href = page.attr("#export-elders", "href").unwrap();
        assert!(href.contains("region=430302001"), "the link carries the filter: {href}");
        let resp = client.get(app.url(&href)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers()["content-disposition"].to_str().unwrap().contains(".xlsx"));
        let bytes = resp.bytes().await.unwrap();
        let table = jinglao_domain::tabular::read_table(&bytes).unwrap();
        assert_eq!(table.rows[0][0], "姓名");
        assert_eq!(table.rows.len() - 1, shown, "one row per person the page counted");
        assert!(table.rows[1..].iter().all(|r| r[1].contains('*')), "ID numbers stay masked");
        assert!(table.rows[1..].iter().all(|r| r[4].contains("雨湖区")), "places by name");
        assert_eq!(app.audit_count("elder.export").await, 1);
        // A search by ID number is not exported.
        let resp = client.get(app.url(&format!("/elders/export?q={}", id_number(1)))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(app.audit_count("elder.export").await, 1);
        // Another county's clerk exporting "this township" gets nothing of it.
        app.create_user("yt_export", Role::CountyStaff, YUETANG).await;
        let other = app.login("yt_export").await;
        let resp = other.get(app.url(&href)).send().await.unwrap();
        assert_ne!(resp.status(), StatusCode::OK);
    }
}

test_on_both! {
    async fn the_assessment_form_links_each_part_and_keeps_a_running_score_of_what_is_scored(app: TestApp) {
        let assessor = app.demo.iter().find(|a| a.role == Role::Assessor).unwrap();
        let (client, resp) = app.login_response(&assessor.username, assessor.password.as_deref().unwrap()).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let elder = crate::eligibility::register(&app, 31, "吴秀珍").await;
        let record = app.get(&client, &format!("/elders/{elder}")).await;
        let resp = app.post_form(&client, &format!("/elders/{elder}/assessments"), &[("_csrf", &record.csrf()), ("reason", "first")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap_or_default());
        let edit = resp.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
        let page = app.get(&client, &edit).await;
        assert_eq!(page.status, StatusCode::OK);
        // A link to every part: the five of A and the four indicators of B.
        let links = page.texts("#section-nav li a");
        assert_eq!(links.len(), 9, "{links:?}");
        assert!(page.attr("#section-nav a[href='#sec-B-1']", "href").is_some());
        assert!(page.html.select(&scraper::Selector::parse("fieldset#sec-B-1").unwrap()).next().is_some());
        assert_eq!(page.text_of("#running-points").as_deref(), Some("0"));
        // Two items scored and saved as a draft: the running score and the part's count follow.
        let csrf = page.csrf();
        let resp = app.post_form(&client, &edit, &[("_csrf", &csrf), ("action", "save"), ("reason", "first"),
            ("item.B.1.1", "3"), ("item.B.1.2", "2")]).await;
        assert!(resp.status().is_redirection() || resp.status() == StatusCode::UNPROCESSABLE_ENTITY, "{}", resp.status());
        let again = app.get(&client, &edit).await;
        assert_eq!(again.text_of("#running-points").as_deref(), Some("5"), "{:?}", again.text_of("#section-nav"));
        assert!(again.text_of("#sec-B-1 .subtotal").unwrap().contains("已评 2/"));
        // Submitting with items left names each missing item in the summary.
        let resp = app.post_form(&client, &edit, &[("_csrf", &csrf), ("action", "submit"), ("reason", "first"),
            ("item.B.1.1", "3"), ("item.B.1.2", "2")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#error-summary").unwrap().contains("B.1.3"), "{:?}", bad.text_of("#error-summary"));
    }
}
