//! The purchase pages as finance uses them: the plan's project waiting for review comes first,
//! is returned with a reason and approved on resubmission; approved statements are paid in a
//! treasury batch whose file goes to the treasury and whose filled-in answer, uploaded, is the
//! only thing that marks them paid — a wrong file is refused row by row with nothing written.

use jinglao_db::test_on_both;
use jinglao_domain::Role;
use reqwest::StatusCode;

use crate::common::TestApp;

/// The demo's purchase year, today's round and last month's settled history.
pub async fn seed_demo_year(app: &TestApp) {
    let (db, keys) = (&app.state.db, &app.state.keys);
    let now = app.clock_now();
    jinglao_fixtures::demo::seed_population(db, keys, 2000, 7, |_| {})
        .await
        .unwrap();
    jinglao_fixtures::demo_purchase::seed_purchase(db, keys, now)
        .await
        .unwrap();
    jinglao_fixtures::demo::seed_home_services(db, keys, now)
        .await
        .unwrap();
    jinglao_fixtures::demo_history::seed_last_month(db, keys, now)
        .await
        .unwrap();
}

/// Last month's government-paid statements of the demo provider, confirmed by the provider and
/// approved by the county on their pages. Returns their paths.
pub async fn approve_last_month(app: &TestApp) -> Vec<String> {
    let mut c = app.state.db.acquire().await.unwrap();
    let filter = jinglao_db::statements::ListFilter {
        status: Some("draft".into()),
        ..Default::default()
    };
    let ids: Vec<uuid::Uuid> =
        jinglao_db::statements::list(&mut c.conn(), &jinglao_domain::Scope::All, &filter, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.statement.funding == "entitlement")
            .map(|s| s.statement.id)
            .collect();
    drop(c);
    assert!(!ids.is_empty(), "the demo history settles last month");
    app.create_user("kl_admin", Role::ProviderAdmin, "430302")
        .await;
    app.create_user("yh_county", Role::CountyStaff, "430302")
        .await;
    let provider = app.login("kl_admin").await;
    let county = app.login("yh_county").await;
    let mut paths = Vec::new();
    for id in ids {
        let path = format!("/statements/{id}");
        let page = app.get(&provider, &path).await;
        let resp = app
            .post_form(
                &provider,
                &format!("{path}/step"),
                &[("_csrf", &page.csrf()), ("step", "confirm")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&county, &path).await;
        let resp = app
            .post_form(
                &county,
                &format!("{path}/step"),
                &[("_csrf", &page.csrf()), ("step", "approve")],
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::SEE_OTHER,
            "{}",
            TestApp::page(resp).await.text
        );
        paths.push(path);
    }
    paths
}

async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    batch_path: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let page = app.get(client, batch_path).await;
    let action = page.attr("#confirm-form", "action").unwrap();
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

fn pairs_owned(fields: &[(String, String)]) -> Vec<(String, String)> {
    fields.to_vec()
}

test_on_both! {
    async fn finance_reviews_the_plan_first_and_returns_a_project_with_its_reason(app: TestApp) {
        seed_demo_year(&app).await;
        app.create_user("fin_plan", Role::Finance, "4303").await;
        let fin = app.login("fin_plan").await;
        let list = app.get(&fin, "/purchase/projects").await;
        assert_eq!(list.status, StatusCode::OK);
        let first = list.texts("#projects tbody tr");
        assert!(first[0].contains("公建民营") && first[0].contains("待您办理"), "the project waiting for finance comes first: {first:?}");
        let href = list.attr("#projects tbody tr a", "href").unwrap();
        let page = app.get(&fin, &href).await;
        assert!(page.text_of("#project-budget").unwrap().contains("810000.00"), "{}", page.text);
        assert!(page.text.contains("雨湖区"), "regions by name");
        // A return needs its reason; with one, the purchasing body sees it.
        let resp = app.post_form(&fin, &format!("{href}/step"), &[("_csrf", &page.csrf()), ("step", "return"), ("reason", "")]).await;
        let again = TestApp::page(resp).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again.text_of("#reason-error").is_some(), "{}", again.text);
        let resp = app.post_form(&fin, &format!("{href}/step"), &[("_csrf", &page.csrf()), ("step", "return"), ("reason", "人均单价偏高，请附测算表")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        app.create_user("yh_plan", Role::CountyStaff, "430302").await;
        let county = app.login("yh_plan").await;
        let mine = app.get(&county, &href).await;
        assert_eq!(mine.text_of("#return-reason").as_deref(), Some("人均单价偏高，请附测算表"));
        assert!(mine.text_of("#approve").is_none(), "the purchasing body does not approve its own plan");
        // The county changes the returned project on the drafting form, filled with what it holds.
        let edit_href = mine.attr("#edit-project", "href").unwrap();
        let form = app.get(&county, &edit_href).await;
        assert_eq!(form.status, StatusCode::OK);
        assert_eq!(form.attr("#budget_yuan", "value").as_deref(), Some("810000.00"));
        assert!(form.attr("#reason", "name").is_none(), "a returned project changes in place, without a reason");
        let mut fields: Vec<(String, String)> = form.html.select(&scraper::Selector::parse("#project-form input, #project-form select").unwrap())
            .filter_map(|e| {
                let v = e.value();
                let name = v.attr("name")?.to_string();
                if v.attr("type") == Some("checkbox") && v.attr("checked").is_none() { return None; }
                let value = if v.name() == "select" {
                    e.select(&scraper::Selector::parse("option[selected]").unwrap()).next()
                        .and_then(|o| o.value().attr("value")).unwrap_or("").to_string()
                } else { v.attr("value").unwrap_or("").to_string() };
                Some((name, value))
            })
            .collect();
        for (k, v) in fields.iter_mut() {
            if k == "budget_yuan" { *v = "780000".into(); }
            if k == "price_basis" { *v = "按本地护理员工资测算，附测算表".into(); }
        }
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let resp = app.post_form(&county, &edit_href, &pairs).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", TestApp::page(resp).await.texts("#error-summary li").join(" | "));
        let mine = app.get(&county, &href).await;
        assert!(mine.text_of("#project-budget").unwrap().contains("780000.00"));
        assert_eq!(mine.text_of("#project-status").as_deref(), Some("已退回修改"), "still returned until sent again");
        let resp = app.post_form(&county, &format!("{href}/step"), &[("_csrf", &mine.csrf()), ("step", "submit")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&fin, &href).await;
        let resp = app.post_form(&fin, &format!("{href}/step"), &[("_csrf", &page.csrf()), ("step", "approve")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.get(&fin, &href).await.text_of("#project-status").as_deref(), Some("财政已批复"));
        // Approved and not yet announced: a change is a new version with its reason, back with finance.
        let mine = app.get(&county, &href).await;
        let form = app.get(&county, &mine.attr("#edit-project", "href").unwrap()).await;
        assert!(form.text_of("#save-project").unwrap().contains("第 2 版"));
        let resp = app.post_form(&county, &edit_href, &[("_csrf", &form.csrf()), ("reason", "")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#error-summary").is_some());
        let mut with_reason = pairs_owned(&fields);
        with_reason.push(("reason".into(), "服务人数增加 10 人".into()));
        with_reason.retain(|(k, _)| k != "_csrf");
        with_reason.push(("_csrf".into(), form.csrf()));
        let pairs: Vec<(&str, &str)> = with_reason.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let resp = app.post_form(&county, &edit_href, &pairs).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", TestApp::page(resp).await.texts("#error-summary li").join(" | "));
        let page = app.get(&fin, &href).await;
        assert_eq!(page.text_of("#project-status").as_deref(), Some("待财政审核（第 2 版）"), "{:?}", page.text_of("#project-status"));
        // A village clerk cannot open the plan.
        app.create_user("yh_village", Role::VillageStaff, "430302001001").await;
        let village = app.login("yh_village").await;
        assert_eq!(app.get(&village, "/purchase/projects").await.status, StatusCode::FORBIDDEN);
    }
}

test_on_both! {
    async fn a_statement_is_paid_when_the_treasurys_filled_in_batch_file_is_uploaded_and_not_before(app: TestApp) {
        seed_demo_year(&app).await;
        let paths = approve_last_month(&app).await;
        app.create_user("fin_pay", Role::Finance, "4303").await;
        let fin = app.login("fin_pay").await;
        let page = app.get(&fin, "/payment-batches").await;
        assert_eq!(page.status, StatusCode::OK);
        let rows = page.texts("#payable tbody tr");
        assert_eq!(rows.len(), paths.len(), "{rows:?}");
        assert!(rows[0].contains("康乐") && rows[0].contains("雨民购"), "provider and contract by name: {rows:?}");
        // Nothing ticked: told so.
        let resp = app.post_form(&fin, "/payment-batches", &[("_csrf", &page.csrf())]).await;
        let none = TestApp::page(resp).await;
        assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(none.text_of("#statement_ids-error").is_some());
        let ids = page.attrs("#payable input[name=statement]", "value");
        let mut form: Vec<(&str, &str)> = vec![("_csrf", "")];
        let csrf = page.csrf();
        form[0].1 = &csrf;
        for id in &ids { form.push(("statement", id)); }
        let resp = app.post_form(&fin, "/payment-batches", &form).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let batch_path = resp.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
        let batch = app.get(&fin, &batch_path).await;
        assert_eq!(batch.text_of("#batch-status").as_deref(), Some("等待国库确认"));
        assert_eq!(app.get(&fin, &paths[0]).await.text_of("#statement-status").as_deref(), Some("国库支付中"));
        // The file for the treasury.
        let file = fin.get(app.url(&format!("{batch_path}.csv"))).send().await.unwrap();
        assert!(file.headers()["content-disposition"].to_str().unwrap().contains("filename*=UTF-8''"));
        let text = file.text().await.unwrap();
        let mut lines: Vec<Vec<String>> = text.trim_start_matches('\u{feff}').lines()
            .map(|l| l.split(',').map(str::to_string).collect()).collect();
        assert_eq!(lines[0][..4], ["批次号", "序号", "收款单位", "统一社会信用代码"]);
        assert!(lines[1][5].chars().all(|c| c.is_ascii_digit()), "the whole account number: {:?}", lines[1]);
        assert_eq!(app.audit_count("payment_batch.download").await, 1, "whole bank accounts: downloads are audited");
        // A wrong amount: the row and column named, nothing written.
        let today = jinglao_domain::clock::china_date(app.clock_now()).to_string();
        let mut wrong = lines.clone();
        wrong[1][6] = "1.00".into();
        wrong[1][10] = "成功".into();
        wrong[1][11] = "GK-1".into();
        wrong[1][12] = today.clone();
        let csv = |rows: &Vec<Vec<String>>| rows.iter().map(|r| r.join(",")).collect::<Vec<_>>().join("\n").into_bytes();
        let resp = upload(&app, &fin, &batch_path, "结果.csv", csv(&wrong)).await;
        let refused = TestApp::page(resp).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let problems = refused.texts("#problems tbody tr");
        assert!(problems[0].contains("2") && problems[0].contains("金额（元）") && problems[0].contains("不符"), "{problems:?}");
        assert_eq!(app.get(&fin, &paths[0]).await.text_of("#statement-status").as_deref(), Some("国库支付中"));
        // The treasury's answer: every line paid.
        for (i, row) in lines.iter_mut().enumerate().skip(1) {
            row[10] = "成功".into();
            row[11] = format!("GK-2026-{i:04}");
            row[12] = today.clone();
        }
        let resp = upload(&app, &fin, &batch_path, "结果.csv", csv(&lines)).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", TestApp::page(resp).await.text);
        let done = app.get(&fin, resp_location(&app, &fin, &batch_path, csv(&lines)).await.as_str()).await;
        assert!(done.text_of("#import-result").unwrap().contains("与已登记的结果相同"), "a second upload changes nothing");
        assert_eq!(done.text_of("#batch-status").as_deref(), Some("已全部确认"));
        let paid = app.get(&fin, &paths[0]).await;
        assert_eq!(paid.text_of("#statement-status").as_deref(), Some("已支付"));
        assert!(paid.text.contains("GK-2026-0001"));
        assert!(app.get(&fin, "/payment-batches").await.text_of("#no-payable").is_some());
        // The payment is published as the contract's implementation transaction, and the whole
        // publication validates against the OCDS schema.
        let public = reqwest::Client::new();
        for path in ["/open-data/ocds/records.json", "/open-data/ocds/bulk/records.json", "/open-data/ocds/releases.json"] {
            let resp = public.get(app.url(path)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let text = resp.text().await.unwrap();
            crate::common::assert_valid_ocds(&text);
            assert!(text.contains("GK-2026-0001"), "{path} has the treasury voucher");
        }
        let text = public.get(app.url("/open-data/ocds/records.json")).send().await.unwrap().text().await.unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tx = v["records"].as_array().unwrap().iter()
            .flat_map(|r| r["compiledRelease"]["contracts"].as_array().cloned().unwrap_or_default())
            .flat_map(|k| k["implementation"]["transactions"].as_array().cloned().unwrap_or_default())
            .collect::<Vec<_>>();
        assert_eq!(tx.len(), paths.len(), "{tx:?}");
        assert_eq!(tx[0]["payee"]["name"], "雨湖区康乐居家养老服务中心");
        // The bulk download links each record's releases to its project's release package.
        let bulk: serde_json::Value = public.get(app.url("/open-data/ocds/bulk/records.json")).send().await.unwrap().json().await.unwrap();
        let link = bulk["records"][0]["releases"][0]["url"].as_str().unwrap().to_string();
        let (path, release_id) = link.split_once('#').unwrap();
        let resp = public.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{link}");
        let text = resp.text().await.unwrap();
        crate::common::assert_valid_ocds(&text);
        assert!(text.contains(release_id), "{link}");
        let missing = public.get(app.url(&format!("/open-data/ocds/projects/{}/releases.json", uuid::Uuid::nil()))).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}

/// Uploads again and returns where the page sends the clerk.
async fn resp_location(
    app: &TestApp,
    client: &reqwest::Client,
    batch_path: &str,
    bytes: Vec<u8>,
) -> String {
    let resp = upload(app, client, batch_path, "结果.csv", bytes).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    resp.headers()["location"].to_str().unwrap().to_string()
}

test_on_both! {
    async fn the_district_accepts_a_contract_with_its_report_and_every_party_evaluates_it_and_the_public_reads_the_grade(app: TestApp) {
        seed_demo_year(&app).await;
        app.create_user("yh_county", Role::CountyStaff, "430302").await;
        app.create_user("fin_eval", Role::Finance, "4303").await;
        app.create_user("pinggu", Role::Evaluator, "4303").await;
        let county = app.login("yh_county").await;
        // From the project to its contract, by name.
        let projects = app.get(&county, "/purchase/projects").await;
        let mut contract_path = None;
        for href in projects.attrs("table a", "href") {
            let p = app.get(&county, &href).await;
            if let Some(k) = p.attr("#contracts a", "href") { contract_path = Some(k); break; }
        }
        let contract_path = contract_path.expect("the demo's contract is linked from its project");
        let page = app.get(&county, &contract_path).await;
        assert!(page.text_of("#performance").unwrap().contains("核验异常率"));
        assert!(page.text_of("#no-acceptances").is_some());
        // A milestone acceptance with a deduction and the third party's report.
        let today = jinglao_domain::clock::china_date(app.clock_now());
        let period_end = today - chrono::Duration::days(1);
        let action = page.attr("#acceptance-form", "action").unwrap();
        let form = |deduction: &str, report: &'static [u8]| reqwest::multipart::Form::new()
            .text("kind", "milestone").text("period_end", period_end.to_string())
            .text("inspected_on", today.to_string()).text("inspectors", "雨湖区民政局 李四")
            .text("third_party", "湘潭某评估中心 第 7 号").text("findings", "两次晚到")
            .text("result", "deducted").text("deduction_yuan", deduction.to_string())
            .part("report", reqwest::multipart::Part::bytes(report).file_name("验收报告.pdf"));
        let pdf: &'static [u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        let resp = county.post(app.url(&action)).multipart(form("", pdf)).send().await.unwrap();
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#deduction_yuan-error").is_some(), "a deduction needs its amount");
        let resp = county.post(app.url(&action)).multipart(form("90", pdf)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", TestApp::page(resp).await.text);
        let page = app.get(&county, &contract_path).await;
        let row = page.texts("#acceptances tbody tr").join(" ");
        assert!(row.contains("阶段验收") && row.contains("扣减 90.00 元"), "{row}");
        let report = county.get(app.url(&page.attr("#acceptances a", "href").unwrap())).send().await.unwrap();
        assert_eq!(report.bytes().await.unwrap().as_ref(), pdf);
        // The year's evaluation.
        let resp = app.post_form(&county, &format!("{contract_path}/evaluations"), &[("_csrf", &page.csrf()), ("year", &today.format("%Y").to_string()), ("survey_size", "5")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let eval_path = resp.headers()["location"].to_str().unwrap().to_string();
        let eval_id = eval_path.rsplit('/').next().unwrap().to_string();
        let contract_id = contract_path.rsplit('/').next().unwrap().to_string();
        // The third party reaches nothing until named, and then only this contract's evaluation.
        let third = app.token("pinggu").await;
        let api_eval = format!("/api/v1/purchase/evaluations/{eval_id}");
        assert_eq!(app.api_get(&third, &api_eval).await.0, StatusCode::NOT_FOUND);
        let county_token = app.token("yh_county").await;
        let (s, _) = app.api_post(&county_token, &format!("{api_eval}/evaluators"), serde_json::json!({"username": "pinggu"})).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, v) = app.api_get(&third, &api_eval).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["my_party"], "third_party");
        assert!(v["survey"].as_array().unwrap().is_empty(), "the survey's names are the purchasing body's");
        for path in [format!("/api/v1/purchase/contracts/{contract_id}"), "/api/v1/purchase/projects".into(), "/api/v1/regions".into()] {
            assert_eq!(app.api_get(&third, &path).await.0, StatusCode::FORBIDDEN, "{path}");
        }
        let marks = |q: u32| serde_json::json!({"marks": {"服务数量": q, "服务质量": 30, "资金使用效率": 25}, "comment": "抽查一致"});
        let (s, v) = app.api_post(&third, &format!("{api_eval}/scores"), serde_json::json!({"marks": {"服务数量": 31, "服务质量": 30, "资金使用效率": 25}})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(v.to_string().contains("marks.服务数量"), "{v}");
        assert_eq!(app.api_post(&third, &format!("{api_eval}/scores"), marks(24)).await.0, StatusCode::NO_CONTENT);
        let fin = app.token("fin_eval").await;
        assert_eq!(app.api_post(&fin, &format!("{api_eval}/scores"), marks(26)).await.0, StatusCode::NO_CONTENT);
        // The district marks on the page; the survey calls each person drawn.
        let page = app.get(&county, &eval_path).await;
        let resp = app.post_form(&county, &format!("{eval_path}/score"), &[("_csrf", &page.csrf()), ("mark.服务数量", "27"), ("mark.服务质量", "35"), ("mark.资金使用效率", "26"), ("comment", "按计划推进")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", TestApp::page(resp).await.text);
        let (_, v) = app.api_get(&county_token, &api_eval).await;
        let drawn = v["survey"].as_array().unwrap().clone();
        assert!(!drawn.is_empty() && drawn.len() <= 5, "{drawn:?}");
        // Publishing before the recipients answer names who is missing.
        let resp = app.post_form(&county, &format!("{eval_path}/publish"), &[("_csrf", &page.csrf())]).await;
        let early = TestApp::page(resp).await;
        assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(early.text_of("#status-error").unwrap().contains("服务对象"), "{:?}", early.text_of("#status-error"));
        for p in &drawn {
            let (s, v) = app.api_post(&county_token, &format!("{api_eval}/calls"), serde_json::json!({"elder_id": p["elder_id"], "score": 4})).await;
            assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        }
        let (s, v) = app.api_post(&county_token, &format!("{api_eval}/publication"), serde_json::json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // 0.5·80 + 0.2·88 + 0.1·81 + 0.2·79 = 81.5
        assert_eq!((v["total_tenths"].as_u64(), v["grade_label"].as_str()), (Some(815), Some("良好")));
        let page = app.get(&county, &eval_path).await;
        assert_eq!(page.text_of("#grade").as_deref(), Some("良好"));
        // The public reads the grade, and no person's name.
        let public = reqwest::Client::new();
        let text = public.get(app.url("/open-data/evaluations")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("81.5") && text.contains("良好") && text.contains("雨湖区康乐居家养老服务中心"));
        let json = public.get(app.url("/open-data/evaluations.json")).send().await.unwrap().text().await.unwrap();
        for p in &drawn {
            assert!(!json.contains(p["name"].as_str().unwrap()) && !text.contains(p["name"].as_str().unwrap()));
        }
        assert!(app.audit_count("purchase_evaluation.read").await >= 1, "the third party's reads are audited");
        // The public notices: announced projects only, each with its award, contract,
        // acceptance and grade; a project still with finance answers like one that does not exist.
        let list = TestApp::page(public.get(app.url("/open-data/purchase")).send().await.unwrap()).await;
        let links = list.attrs("#notices a", "href");
        assert_eq!(links.len(), 2, "the tendered and the contracted project, not the one with finance: {links:?}");
        let mut found = false;
        for l in &links {
            let notice = TestApp::page(public.get(app.url(l)).send().await.unwrap()).await;
            if notice.text.contains("雨民购") {
                let contract = notice.texts(".notice-contract").join(" ");
                assert!(contract.contains("阶段验收") && contract.contains("81.5") && contract.contains("良好"), "{contract}");
                assert!(notice.text_of("#notice-awards").unwrap().contains("康乐"));
                for p in &drawn { assert!(!notice.text.contains(p["name"].as_str().unwrap())); }
                found = true;
            }
        }
        assert!(found);
        let (_, all) = app.api_get(&county_token, "/api/v1/purchase/projects").await;
        let hidden = all.as_array().unwrap().iter().find(|p| p["status"] == "submitted").unwrap()["id"].as_str().unwrap().to_string();
        let hidden = public.get(app.url(&format!("/open-data/purchase/{hidden}"))).send().await.unwrap().status();
        let missing = public.get(app.url(&format!("/open-data/purchase/{}", uuid::Uuid::nil()))).send().await.unwrap().status();
        assert_eq!((hidden, missing), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        // The next project shows the grade beside the provider's bid.
        let (_, projects) = app.api_get(&county_token, "/api/v1/purchase/projects").await;
        let mut seen = false;
        for p in projects.as_array().unwrap() {
            let (_, d) = app.api_get(&county_token, &format!("/api/v1/purchase/projects/{}", p["id"].as_str().unwrap())).await;
            for b in d["bids"].as_array().unwrap() {
                if b["provider_name"] == "雨湖区康乐居家养老服务中心" {
                    seen |= b["past_evaluations"].to_string().contains("良好");
                }
            }
        }
        assert!(seen, "the result stands beside the provider's bids");
    }
}

test_on_both! {
    async fn the_district_records_an_offer_awards_it_after_the_deadline_signs_the_contract_and_finance_files_it_on_their_pages(app: TestApp) {
        seed_demo_year(&app).await;
        app.create_user("yh_county", Role::CountyStaff, "430302").await;
        app.create_user("fin_file", Role::Finance, "4303").await;
        let county = app.login("yh_county").await;
        // The meal-help project by 询价, taking offers.
        let list = app.get(&county, "/purchase/projects").await;
        let mut meals = None;
        for href in list.attrs("table a", "href") {
            let p = app.get(&county, &href).await;
            if p.attr("#bid-form", "action").is_some() { meals = Some(href); break; }
        }
        let meals = meals.expect("a project taking offers shows the offer form");
        let page = app.get(&county, &meals).await;
        // 安康 was never checked: its offer is recorded, disqualified, with the reasons.
        let kangle = page.attrs("#provider_id option", "value").into_iter()
            .zip(page.texts("#provider_id option"))
            .find(|(_, n)| n.contains("安康")).unwrap().0;
        let resp = app.post_form(&county, &format!("{meals}/bids"), &[("_csrf", &page.csrf()), ("provider_id", &kangle), ("price_yuan", "")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#price_yuan-error").is_some());
        let resp = app.post_form(&county, &format!("{meals}/bids"), &[("_csrf", &page.csrf()), ("provider_id", &kangle), ("price_yuan", "90000")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&county, &meals).await;
        let bids = page.texts("#bids tbody tr");
        assert!(bids.iter().any(|b| b.contains("安康") && b.contains("不通过")), "{bids:?}");
        assert!(bids.iter().any(|b| b.contains("福寿") && b.contains("通过")), "{bids:?}");
        assert!(page.attr("#award-form", "action").is_none(), "no award before the deadline");
        // 福寿's price sheet is kept with its offer; a file that is not a PDF or picture is refused.
        let action = page.attr("#bid-document-form", "action").unwrap();
        let fushou = page.attrs("#doc_bid_id option", "value").into_iter()
            .zip(page.texts("#doc_bid_id option"))
            .find(|(_, n)| n.contains("福寿")).unwrap().0;
        let send = |bytes: Vec<u8>, name: &'static str| {
            let form = reqwest::multipart::Form::new()
                .text("bid_id", fushou.clone())
                .text("kind", "price_sheet")
                .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
            county.post(app.url(&action)).multipart(form).send()
        };
        let bad = TestApp::page(send(b"MZ\x90\x00".to_vec(), "报价单.exe").await.unwrap()).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#file-error").is_some(), "{}", bad.text);
        let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n".to_vec();
        let resp = send(pdf.clone(), "福寿报价单.pdf").await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&county, &meals).await;
        let link = page.attr("#bids a.bid-document", "href").unwrap();
        assert_eq!(page.text_of("#bids a.bid-document").as_deref(), Some("报价单：福寿报价单.pdf"));
        let resp = county.get(app.url(&link)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
        assert_eq!(app.audit_count("purchase_bid.document").await, 1);
        // Eleven days on, the offers are opened and the lowest qualified one is chosen.
        app.clock.advance(chrono::Duration::days(11));
        let county = app.login("yh_county").await;
        let page = app.get(&county, &meals).await;
        let chosen = page.attrs("#award-form input[name=bid]", "value");
        assert!(!chosen.is_empty());
        let lowest = page.texts("#award-form label").iter().position(|l| l.contains("第 1 名")).unwrap();
        let resp = app.post_form(&county, &format!("{meals}/award"), &[("_csrf", &page.csrf()), ("bid", &chosen[lowest])]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", TestApp::page(resp).await.text);
        let page = app.get(&county, &meals).await;
        let action = page.attr(".contract-form", "action").expect("the award waits for its contract");
        let item = page.attrs(".contract-form input[type=text]", "name").into_iter().find(|n| n.starts_with("price.")).unwrap();
        let today = jinglao_domain::clock::china_date(app.clock_now()).to_string();
        // 询价: the lowest qualified offer, 福寿's 92,000 yuan (安康 is disqualified).
        let ceiling = "92000";
        let form = [("_csrf", page.csrf()), ("contract_no", "雨民购〔2027〕8号".into()), ("scope", "老年助餐".into()),
            (item.as_str(), "12".to_string()), ("minutes.XT-ZH-02", "0".into()), ("ceiling_yuan", ceiling.into()),
            ("quality", "按助餐服务规范".into()), ("start", "2027-01-01".into()), ("end", "2027-12-31".into()),
            ("payment_terms", "monthly_verified".into()), ("breach_terms", "严禁转包".into()), ("signed_on", today.clone()),
            ("payee_bank", "中国建设银行湘潭雨湖支行".into()), ("payee_account", "43050162760800005678".into())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = app.post_form(&county, &action, &form).await;
        if resp.status() != StatusCode::SEE_OTHER { panic!("{}", TestApp::page(resp).await.texts("#error-summary li").join(" | ")); }
        let contract = resp.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
        assert!(app.get(&county, &meals).await.attrs("#contracts a", "href").contains(&contract), "the project links its contract");
        // Finance files it; until then payment would be refused.
        let fin = app.login("fin_file").await;
        let page = app.get(&fin, &contract).await;
        assert!(page.text_of("#contract-head").unwrap().contains("未备案"));
        let resp = app.post_form(&fin, &format!("{contract}/filing"), &[("_csrf", &page.csrf()), ("filed_on", &today)]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", TestApp::page(resp).await.text);
        assert!(app.get(&fin, &contract).await.text_of("#contract-head").unwrap().contains("已备案"));
        assert!(app.get(&fin, &contract).await.attr("#filing-form", "action").is_none(), "filed once");
    }
}

test_on_both! {
    async fn the_district_drafts_a_project_on_its_page_and_sends_it_to_finance(app: TestApp) {
        seed_demo_year(&app).await;
        app.create_user("yh_county", Role::CountyStaff, "430302").await;
        let county = app.login("yh_county").await;
        let list = app.get(&county, "/purchase/projects").await;
        assert_eq!(list.attr("#new-project", "href").as_deref(), Some("/purchase/projects/new"));
        let page = app.get(&county, "/purchase/projects/new").await;
        assert_eq!(page.status, StatusCode::OK);
        let items = page.attrs("#item_codes input[name=item]", "value");
        assert!(items.contains(&"XT-JJ-01".to_string()), "{items:?}");
        // Nothing filled in: every missing part named, nothing saved.
        let resp = app.post_form(&county, "/purchase/projects/new", &[("_csrf", &page.csrf())]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#purchaser_name-error").is_some(), "the purchasing body is named first");
        let resp = app.post_form(&county, "/purchase/projects/new", &[("_csrf", &page.csrf()), ("purchaser_name", "湘潭市雨湖区民政局")]).await;
        let bad = TestApp::page(resp).await;
        for field in ["title", "catalogue_code", "item_codes", "regions", "quantities", "targets"] {
            assert!(bad.text_of(&format!("#{field}-error")).is_some(), "{field}: {}", bad.texts(".field-error").join(" | "));
        }
        let year = (chrono::Datelike::year(&jinglao_domain::clock::china_date(app.clock_now())) + 1).to_string();
        let form = [
            ("_csrf", page.csrf()), ("purchaser_name", "湘潭市雨湖区民政局".into()),
            ("title", format!("{year}年雨湖区政府购买居家养老上门服务（续）")), ("year", year.clone()),
            ("catalogue_code", "JJ-01".into()), ("item", "XT-JJ-01".into()), ("region", "430302000000".into()),
            ("q.1.item", "XT-JJ-01".into()), ("q.1.people", "300".into()), ("q.1.units", "40".into()), ("q.1.unit", "次".into()),
            ("price_basis", "按本地家政服务小时工资测算".into()), ("budget_yuan", "540000".into()),
            ("funding", "budget".into()), ("mode", "open_tender".into()),
            ("targets", "满意度不低于 90%".into()),
            ("c.1.name", "价格".into()), ("c.1.weight", "30".into()), ("c.2.name", "服务方案".into()), ("c.2.weight", "70".into()),
            ("term_start", format!("{year}-01-01")), ("term_end", format!("{year}-12-31")),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = app.post_form(&county, "/purchase/projects/new", &form).await;
        if resp.status() != StatusCode::SEE_OTHER { panic!("{}", TestApp::page(resp).await.texts("#error-summary li").join(" | ")); }
        let path = resp.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
        let page = app.get(&county, &path).await;
        assert_eq!(page.text_of("#project-status").as_deref(), Some("草稿"));
        assert!(page.text_of("#project-budget").unwrap().contains("540000.00"));
        let resp = app.post_form(&county, &format!("{path}/step"), &[("_csrf", &page.csrf()), ("step", "submit")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.get(&county, &path).await.text_of("#project-status").as_deref(), Some("待财政审核"));
    }
}

test_on_both! {
    async fn finance_publishes_a_new_catalogue_version_from_the_one_in_force_and_a_wrong_item_is_refused(app: TestApp) {
        seed_demo_year(&app).await;
        app.create_user("fin_cat", Role::Finance, "4303").await;
        app.create_user("yh_county", Role::CountyStaff, "430302").await;
        let fin = app.login("fin_cat").await;
        let page = app.get(&fin, "/purchase/catalogue").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text_of("#catalogue-head").unwrap().contains("第 1 版"));
        let rows = page.texts("#catalogue tbody tr");
        assert!(rows.iter().any(|r| r.contains("居家上门养老服务")), "{rows:?}");
        // The form comes filled with the entries in force; a new one is added with a meal item.
        let mut form: Vec<(String, String)> = vec![("_csrf".into(), page.csrf()), ("basis".into(), "潭财购〔2027〕1号".into())];
        let codes = page.attrs("#catalogue-form input[name$='.code']", "value");
        let n = codes.iter().filter(|c| !c.is_empty()).count();
        for (i, code) in codes.iter().enumerate().take(n) {
            let i = i + 1;
            for field in ["code", "name", "content"] {
                form.push((format!("e.{i}.{field}"), page.attr(&format!("#e-{i}-{field}"), "value").unwrap_or_default()));
            }
            let _ = code;
            for (k, sel) in [("category", "category"), ("nature", "nature")] {
                form.push((format!("e.{i}.{k}"), page.attr(&format!("#e-{i}-{sel} option[selected]"), "value").unwrap_or_default()));
            }
            for item in page.attrs(&format!("#catalogue-form input[name='e.{i}.item'][checked]"), "value") {
                form.push((format!("e.{i}.item"), item));
            }
        }
        let new = n + 1;
        form.extend([(format!("e.{new}.code"), "ZC-02".to_string()), (format!("e.{new}.name"), "老年食堂运营补助".into()),
            (format!("e.{new}.category"), "home_care".into()), (format!("e.{new}.nature"), "public_service".into()),
            (format!("e.{new}.content"), "社区老年食堂运营".into()), (format!("e.{new}.item"), "XT-NO-SUCH".into())]);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let resp = app.post_form(&fin, "/purchase/catalogue", &pairs).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "an item not in the service list");
        assert!(!bad.texts("#error-summary li").is_empty());
        form.pop();
        form.push((format!("e.{new}.item"), "XT-ZH-02".into()));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let resp = app.post_form(&fin, "/purchase/catalogue", &pairs).await;
        if resp.status() != StatusCode::SEE_OTHER { panic!("{}", TestApp::page(resp).await.texts("#error-summary li").join(" | ")); }
        let page = app.get(&fin, "/purchase/catalogue").await;
        assert!(page.text_of("#catalogue-head").unwrap().contains("第 2 版"));
        assert!(page.texts("#catalogue tbody tr").iter().any(|r| r.contains("老年食堂运营补助")));
        assert_eq!(page.texts("#catalogue tbody tr").len(), n + 1, "the entries in force are kept");
        // The county reads it but cannot publish.
        let county = app.login("yh_county").await;
        let page = app.get(&county, "/purchase/catalogue").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.attr("#catalogue-form", "action").is_none());
    }
}
