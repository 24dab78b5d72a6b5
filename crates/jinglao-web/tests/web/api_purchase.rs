//! Government purchase over the API, as finance and a county bureau would run it: the
//! catalogue, a project returned and approved, the notice, bids (a barred provider disqualified
//! with the reason), the award and the contract, and the public OCDS publication, which holds
//! no older person's data.

use chrono::Duration;
use jinglao_db::providers::{self, NewFinding, NewProvider};
use jinglao_db::{Actor, test_on_both};
use jinglao_domain::Role;
use jinglao_domain::supply::provider::Condition;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestApp;
use crate::visits::{ITEM, with, world};

test_on_both! {
    async fn finance_and_a_county_run_a_purchase_over_the_api_and_the_public_reads_it_as_ocds(app: TestApp) {
        world(&app).await;
        app.create_user("finance_f", Role::Finance, "4303").await;
        app.create_user("county_c", Role::CountyStaff, "430302").await;
        let (f, c) = (app.token("finance_f").await, app.token("county_c").await);
        let catalogue = json!({ "region_code": "4303", "basis": "潭财购〔2026〕1号", "entries": [
            { "code": "JJ-01", "name": "居家上门服务", "category": "home_care", "nature": "public_service",
              "content": "助行等上门服务", "item_codes": [ITEM] } ] });
        let (s, e) = app.api_post(&c, "/api/v1/purchase/catalogues", catalogue.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
        let (s, e) = app.api_post(&f, "/api/v1/purchase/catalogues", with(catalogue.clone(), json!({ "entries": [
            { "code": "JJ-01", "name": "x", "category": "别的", "nature": "public_service", "content": "x", "item_codes": ["NOPE"] } ] }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("entries[0].category")), "{e}");
        let (s, e) = app.api_post(&f, "/api/v1/purchase/catalogues", catalogue).await;
        assert_eq!(s, StatusCode::CREATED, "{e}");

        let today = app.state.today();
        let project = json!({ "region_code": "430302", "purchaser_name": "湘潭市雨湖区民政局", "year": 2026,
            "title": "2026年雨湖区助行服务", "catalogue_code": "JJ-01", "item_codes": [ITEM], "regions": ["430302"],
            "quantities": [{ "item_code": ITEM, "people": 50, "units_per_person": 24, "unit": "次" }],
            "price_basis": "按小时工资测算", "budget_fen": 6_000_000, "funding": "lottery", "mode": "open_tender",
            "targets": "满意度不低于 90%", "criteria": [{ "name": "价格", "weight": 40 }, { "name": "服务方案", "weight": 60 }],
            "term_start": today.to_string(), "term_end": (today + Duration::days(300)).to_string() });
        let (s, e) = app.api_post(&c, "/api/v1/purchase/projects", with(project.clone(), json!({ "budget_fen": 0 }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("budget_fen")), "{e}");
        let (s, p) = app.api_post(&c, "/api/v1/purchase/projects", project.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let id = p["id"].as_str().unwrap().to_string();
        let step = |b: serde_json::Value| (format!("/api/v1/purchase/projects/{id}/steps"), b);
        let (u, b) = step(json!({ "step": "submit" }));
        assert_eq!(app.api_post(&c, &u, b).await.0, StatusCode::OK);
        let (u, b) = step(json!({ "step": "return" }));
        let (s, e) = app.api_post(&f, &u, b).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")), "{e}");
        let (u, b) = step(json!({ "step": "approve" }));
        let (s, e) = app.api_post(&c, &u, b.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the county does not approve its own project: {e}");
        let (s, ok) = app.api_post(&f, &u, b).await;
        assert_eq!((s, ok["status_label"].as_str()), (StatusCode::OK, Some("财政已批复")), "{ok}");
        // Approved and not announced: a change is a new version with its reason, back with
        // finance; the project's region cannot change.
        let put = format!("/api/v1/purchase/projects/{id}");
        let bigger = with(project.clone(), json!({ "budget_fen": 5_900_000 }));
        let (s, e) = app.api_put(&c, &put, bigger.clone()).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")), "{e}");
        let (s, e) = app.api_put(&c, &put, with(bigger.clone(), json!({ "region_code": "430304", "reason": "调整预算" }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("region_code")), "{e}");
        let (s, v2) = app.api_put(&c, &put, with(bigger, json!({ "reason": "服务人数增加，预算调整" }))).await;
        assert_eq!((s, v2["status_label"].as_str(), v2["version"].as_i64()), (StatusCode::OK, Some("待财政审核"), Some(2)), "{v2}");
        let (u, b) = step(json!({ "step": "approve" }));
        assert_eq!(app.api_post(&f, &u, b).await.0, StatusCode::OK);
        let (u, b) = step(json!({ "step": "publish", "bid_deadline": (app.clock_now() + Duration::hours(1)).to_rfc3339() }));
        assert_eq!(app.api_post(&c, &u, b).await.0, StatusCode::OK);

        // The demo provider, penalised for fraud last year, is disqualified with the reason; a
        // provider meeting the seven conditions is not.
        let (s, e) = app.api_post(&c, &format!("/api/v1/providers/{}/credit-records", app.provider_id), json!({
            "kind": "fraud_penalty", "decision_no": "潭民罚决字〔2025〕7号", "authority": "湘潭市民政局",
            "decided_on": (today - Duration::days(200)).to_string(), "summary": "虚报服务记录冒领补贴" })).await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let good = {
            let cli = Actor::cli();
            let p = providers::create(&app.state.db, &app.state.keys.audit_chain, &cli, &NewProvider { name: "乙社会工作服务中心",
                credit_code: "52430302MJ50000021", region_code: "430302", kind: "民办非企业单位", legal_representative: "张三",
                ..Default::default() }, app.clock_now()).await.unwrap().id;
            for cond in Condition::ALL {
                providers::record_finding(&app.state.db, &app.state.keys.audit_chain, &cli, p, &NewFinding { condition: cond.as_str(),
                    met: true, checked_on: Some(today), expires_on: None, evidence: "现场核查" }, app.clock_now()).await.unwrap();
            }
            p
        };
        let bids = format!("/api/v1/purchase/projects/{id}/bids");
        let (s, barred) = app.api_post(&c, &bids, json!({ "provider_id": app.provider_id, "price_fen": 5_000_000 })).await;
        assert_eq!((s, barred["qualified"].as_bool()), (StatusCode::CREATED, Some(false)), "{barred}");
        assert!(barred["gaps"].to_string().contains("潭民罚决字〔2025〕7号"), "{barred}");
        let (_, won) = app.api_post(&c, &bids, json!({ "provider_id": good, "price_fen": 5_800_000 })).await;
        assert_eq!(won["qualified"], true, "{won}");

        let (s, e) = app.api_post(&c, &bids, json!({ "provider_id": good, "price_fen": 6_000_001 })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("price_fen")), "over the budget: {e}");
        // A village clerk does not read purchase projects; the barred bidder sees its own bid
        // but no rank while bids are still taken (the price score would give the lowest away).
        app.create_user("village_v", Role::VillageStaff, "430302001001").await;
        let v = app.token("village_v").await;
        assert_eq!(app.api_get(&v, "/api/v1/purchase/projects").await.0, StatusCode::FORBIDDEN);
        app.create_user("provider_p", Role::ProviderAdmin, "430302").await;
        let pp = app.token("provider_p").await;
        let (_, mine) = app.api_get(&pp, &format!("/api/v1/purchase/projects/{id}")).await;
        assert!(mine["bids"][0]["rank"].is_null() && mine["bids"][0]["total_centi"] == 0, "{mine}");
        // The qualified bid's proposal, before the deadline, kept with it; the barred bidder cannot read it.
        let docs = format!("/api/v1/purchase/bids/{}/documents", won["id"].as_str().unwrap());
        let (s, e) = app.api_post(&c, &docs, json!({ "kind": "proposal", "file_name": "方案.pdf", "content_base64": "%%%" })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("content_base64")), "{e}");
        use base64::Engine as _;
        let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n".to_vec();
        let (s, doc) = app.api_post(&c, &docs, json!({ "kind": "proposal", "file_name": "服务方案.pdf",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&pdf) })).await;
        assert_eq!(s, StatusCode::CREATED, "{doc}");
        let file = format!("/api/v1/purchase/bid-documents/{}", doc["id"].as_str().unwrap());
        let resp = reqwest::Client::new().get(app.url(&file)).bearer_auth(&c).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
        let resp = reqwest::Client::new().get(app.url(&file)).bearer_auth(&pp).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "another bidder's document");
        let (_, detail) = app.api_get(&c, &format!("/api/v1/purchase/projects/{id}")).await;
        let with_doc = detail["bids"].as_array().unwrap().iter().find(|b| b["id"] == won["id"]).unwrap();
        assert_eq!(with_doc["documents"][0]["kind_label"], "服务方案", "{with_doc}");
        app.clock.advance(Duration::hours(2));
        let (s, e) = app.api_post(&c, &docs, json!({ "kind": "proposal", "file_name": "补交.pdf",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&pdf) })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bid_id")), "nothing added after the deadline: {e}");
        // The panel scores the qualified bid (综合评分法): over the API, a score over the
        // criterion's weight is named; a disqualified bid is not scored; a good sheet is kept.
        let sheet = format!("/api/v1/purchase/bids/{}/scores", won["id"].as_str().unwrap());
        let (s, e) = app.api_post(&c, &sheet, json!({ "evaluator": "评审专家甲", "scores": { "服务方案": 61 } })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("scores.服务方案")), "{e}");
        let (s, e) = app.api_post(&c, &format!("/api/v1/purchase/bids/{}/scores", barred["id"].as_str().unwrap()),
            json!({ "evaluator": "评审专家甲", "scores": { "服务方案": 50 } })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bid_id")), "{e}");
        let (s, e) = app.api_post(&c, &sheet, json!({ "evaluator": "评审专家甲", "scores": { "服务方案": 52 } })).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
        // On the project page, the second panel member's sheet: a word for a number is named
        // at its field and the typed values stay; then the sheet is kept beside the first.
        let county = app.login("county_c").await;
        let page_path = format!("/purchase/projects/{id}");
        let page = app.get(&county, &page_path).await;
        let bid_options = page.attrs("#score-form #bid_id option", "value");
        assert_eq!(bid_options, vec![String::new(), won["id"].as_str().unwrap().to_string()], "qualified bids only");
        let field = page.attr("#score-form input[id=score-1]", "name").unwrap();
        assert_eq!(field, "scores.服务方案");
        let resp = app.post_form(&county, &format!("{page_path}/scores"), &[("_csrf", &page.csrf()),
            ("bid_id", won["id"].as_str().unwrap()), ("evaluator", "评审专家乙"), ("scores.服务方案", "五十")]).await;
        let bad = TestApp::page(resp).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#score-1-error").unwrap().contains("0 到 60 的整数"), "{}", bad.text);
        assert_eq!(bad.attr("#score-1", "value").as_deref(), Some("五十"));
        assert_eq!(bad.attr("#evaluator", "value").as_deref(), Some("评审专家乙"));
        let resp = app.post_form(&county, &format!("{page_path}/scores"), &[("_csrf", &page.csrf()),
            ("bid_id", won["id"].as_str().unwrap()), ("evaluator", "评审专家乙"), ("scores.服务方案", "56")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&county, &page_path).await;
        let sheets = page.texts("#sheet-table tbody tr");
        assert_eq!(sheets.len(), 2, "{sheets:?}");
        assert!(sheets.iter().any(|r| r.contains("评审专家乙") && r.contains("56")), "{sheets:?}");
        let (_, detail) = app.api_get(&c, &format!("/api/v1/purchase/projects/{id}")).await;
        let scored = detail["bids"].as_array().unwrap().iter().find(|b| b["id"] == won["id"]).unwrap();
        assert_eq!(scored["sheets"].as_array().unwrap().len(), 2, "{scored}");
        // 40 for the only qualified price + the mean of 52 and 56 = 94.00 points.
        assert_eq!(scored["total_centi"], 9400, "{scored}");
        let award = format!("/api/v1/purchase/projects/{id}/award");
        let (s, e) = app.api_post(&c, &award, json!({ "bid_ids": [barred["id"]] })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bids")), "{e}");
        let (s, awards) = app.api_post(&c, &award, json!({ "bid_ids": [won["id"]] })).await;
        assert_eq!(s, StatusCode::OK, "{awards}");
        let contract = json!({ "contract_no": "雨民购〔2026〕5号", "scope": "雨湖区 50 名老年人的助行服务",
            "prices": [{ "item_code": ITEM, "unit_fen": 4_800, "min_minutes": 45 }], "ceiling_fen": 5_800_000,
            "quality": "按服务规范", "start": today.to_string(), "end": (today + Duration::days(300)).to_string(),
            "payment_terms": "monthly_verified", "breach_terms": "未按约定服务的按次扣减", "signed_on": today.to_string(),
            "payee_bank": "中国建设银行湘潭雨湖支行", "payee_account": "43050162760800001234" });
        let path = format!("/api/v1/purchase/awards/{}/contract", awards[0].as_str().unwrap());
        let (s, e) = app.api_post(&c, &path, with(contract.clone(), json!({ "ceiling_fen": 5_800_001 }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ceiling_fen")), "{e}");
        let (s, e) = app.api_post(&c, &path, contract).await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let (_, detail) = app.api_get(&c, &format!("/api/v1/purchase/projects/{id}")).await;
        assert_eq!(detail["project"]["status_label"], "合同履行中", "{detail}");
        // The barred provider reads the project, and only its own bid.
        let (s, mine) = app.api_get(&pp, &format!("/api/v1/purchase/projects/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        assert_eq!(mine["bids"].as_array().unwrap().len(), 1, "{mine}");

        // The public reads the publication without signing in.
        let http = reqwest::Client::new();
        let mut written = Vec::new();
        for kind in ["releases", "records"] {
            let resp = http.get(app.url(&format!("/open-data/ocds/{kind}.json"))).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let text = resp.text().await.unwrap();
            assert!(!text.contains("王秀英") && !text.contains(&crate::visits::id_number()), "no personal data in OCDS");
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["version"], "1.1");
            crate::common::assert_valid_ocds(&text);
            written.push((kind, text));
        }
        let records: serde_json::Value = serde_json::from_str(&written[1].1).unwrap();
        let compiled = &records["records"][0]["compiledRelease"];
        assert_eq!(compiled["ocid"], format!("ocds-jl0000-{id}"));
        assert_eq!(compiled["awards"][0]["suppliers"][0]["name"], "乙社会工作服务中心");
        assert_eq!(compiled["contracts"][0]["value"]["amount"], 58_000);
        assert_eq!(compiled["tender"]["numberOfTenderers"], 2);
    }
}
