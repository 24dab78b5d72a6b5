//! Service lists through the API and the pages, on both databases: a broken rule is refused at
//! save time with line and column, a county list that drops or narrows a city item is refused
//! naming the item, and a new version is published from the prefilled form.

use crate::common::TestApp;
use jinglao_db::test_on_both;
use jinglao_domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

test_on_both! {
    async fn a_broken_rule_or_a_narrower_county_list_is_refused_naming_the_item(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, "430302000000").await;
        app.create_user("yh_village", Role::VillageStaff, "430302001001").await;
        let token = app.token("yh_county").await;
        let (status, city) = app.api_get(&token, "/api/v1/service-lists/applicable?region=430302").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(city["region_code"], "4303");
        let mut items: Vec<Value> = city["items"].as_array().unwrap().clone();

        // A syntax error on the second line of a rule.
        let mut broken = items.clone();
        broken[3]["target_rule"] = json!("age >= 80 or\n  \"失能\" in categorie");
        let (status, body) = app.api_post(&token, "/api/v1/service-lists",
            json!({"region": "430302", "title": "雨湖区清单", "basis": "雨民发〔2025〕1号", "items": broken})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "items[3].target_rule");
        assert!(body["error"]["message"].as_str().unwrap().contains("第 2 行第 11 列"), "{body}");

        // Meal help narrowed to 85 and visits dropped: both named.
        let mut narrow = items.clone();
        narrow[3]["target_rule"] = json!("age >= 85");
        narrow.remove(4);
        let (status, body) = app.api_post(&token, "/api/v1/service-lists",
            json!({"region": "430302", "title": "雨湖区清单", "basis": "雨民发〔2025〕1号", "items": narrow})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let fields: Vec<&str> = body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, vec!["items.XT-ZH-02", "items.XT-GA-01"], "{body}");

        // Widened (meal help also for 半失能) and one item added: published as the county's v1.
        items[3]["target_rule"] = json!(format!("({}) or \"半失能\" in categories", items[3]["target_rule"].as_str().unwrap()));
        let mut extra = items[0].clone();
        extra["code"] = json!("YH-01");
        extra["name"] = json!("高龄津贴");
        extra["target_rule"] = json!("age >= 90");
        items.push(extra);
        let (status, body) = app.api_post(&token, "/api/v1/service-lists",
            json!({"region": "430302", "title": "雨湖区清单", "basis": "雨民发〔2025〕1号", "items": items})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!((body["region_code"].as_str(), body["version"].as_i64()), (Some("430302"), Some(1)));

        // A village account may not publish.
        let village = app.token("yh_village").await;
        let (status, _) = app.api_post(&village, "/api/v1/service-lists",
            json!({"region": "430302001001", "title": "x", "basis": "x", "items": []})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

test_on_both! {
    async fn the_prefilled_form_publishes_a_new_version_and_shows_rule_errors_at_the_item(app: TestApp) {
        app.create_user("yh_county", Role::CountyStaff, "430302000000").await;
        let client = app.login("yh_county").await;
        let page = app.get(&client, "/service-lists?region=430302").await;
        assert!(page.text_of("#list-title").unwrap().contains("第 1 版"));
        let form = app.get(&client, "/service-lists/new?region=430302").await;
        assert_eq!(form.status, StatusCode::OK);
        // Every input of the form, as a browser would send it.
        let doc = scraper::Html::parse_document(&form.text);
        let mut fields: Vec<(String, String)> = Vec::new();
        for el in doc.select(&scraper::Selector::parse("#list-form input, #list-form textarea, #list-form select").unwrap()) {
            let name = el.value().attr("name").unwrap().to_string();
            let value = match el.value().name() {
                "textarea" => el.text().collect::<String>(),
                "select" => el.select(&scraper::Selector::parse("option[selected]").unwrap()).next()
                    .and_then(|o| o.value().attr("value")).unwrap_or("").to_string(),
                _ => el.value().attr("value").unwrap_or("").to_string(),
            };
            fields.push((name, value));
        }
        let set = |fields: &mut Vec<(String, String)>, name: &str, value: &str| {
            fields.iter_mut().find(|(n, _)| n == name).unwrap().1 = value.to_string();
        };
        set(&mut fields, "title", "雨湖区基本养老服务清单");
        set(&mut fields, "basis", "雨民发〔2025〕1号");
        set(&mut fields, "items[3].target_rule", "\"高龄\" in categories or \"失能\" in categories or agee >= 75");
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let resp = app.post_form(&client, "/service-lists", &pairs).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = TestApp::page(resp).await;
        assert!(page.text.contains("没有叫“agee”的事实"), "{}", page.text);
        assert!(page.text.contains("第 1 行第 45 列"), "{}", page.text);

        set(&mut fields, "items[3].target_rule", "\"高龄\" in categories or \"失能\" in categories or age >= 75");
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let resp = app.post_form(&client, "/service-lists", &pairs).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = app.get(&client, "/service-lists?region=430302001001").await;
        assert!(page.text_of("#list-title").unwrap().contains("雨湖区基本养老服务清单 第 1 版"), "{}", page.text);
        let rules = page.texts("#item-table pre.rule");
        assert!(rules.iter().any(|r| r.ends_with("or age >= 75")), "{rules:?}");
    }
}

/// Every input of a page's `#list-form`, as a browser would send it.
fn form_fields(page: &crate::common::Page) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for el in page.html.select(
        &scraper::Selector::parse("#list-form input, #list-form textarea, #list-form select")
            .unwrap(),
    ) {
        let name = el.value().attr("name").unwrap().to_string();
        let value = match el.value().name() {
            "textarea" => el.text().collect::<String>(),
            "select" => el
                .select(&scraper::Selector::parse("option[selected]").unwrap())
                .next()
                .and_then(|o| o.value().attr("value"))
                .unwrap_or("")
                .to_string(),
            _ => el.value().attr("value").unwrap_or("").to_string(),
        };
        fields.push((name, value));
    }
    fields
}

test_on_both! {
    async fn a_rule_picked_from_lists_is_previewed_with_who_qualifies_before_anything_is_published(app: TestApp) {
        jinglao_fixtures::demo::seed_population(&app.state.db, &app.state.keys, 600, 7, |_| {}).await.unwrap();
        app.create_user("yh_county", Role::CountyStaff, "430302000000").await;
        let client = app.login("yh_county").await;
        let published = app.audit_count("service_list.publish").await;
        let form = app.get(&client, "/service-lists/new?region=430302").await;
        // Each item's rule is also shown in plain words.
        assert!(form.text_of("#plain-0").is_some_and(|p| p.starts_with("通俗说明：")));
        let mut fields = form_fields(&form);
        let set = |fields: &mut Vec<(String, String)>, name: &str, value: &str| {
            fields.iter_mut().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name}")).1 = value.to_string();
        };
        set(&mut fields, "items[0].builder[0].fact", "age");
        set(&mut fields, "items[0].builder[0].op", "ge");
        set(&mut fields, "items[0].builder[0].value", "80");
        set(&mut fields, "items[0].builder[1].fact", "living");
        set(&mut fields, "items[0].builder[1].op", "is");
        set(&mut fields, "items[0].builder[1].value", "独居");
        set(&mut fields, "items[0].builder_join", "any");
        let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        pairs.push(("preview", "0"));
        let resp = app.post_form(&client, "/service-lists", &pairs).await;
        let page = TestApp::page(resp).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        // The rule box now holds the built rule; the preview says it in words, counts and names.
        let rule = page.html.select(&scraper::Selector::parse("textarea[name='items[0].target_rule']").unwrap())
            .next().unwrap().text().collect::<String>();
        assert_eq!(rule, "age >= 80 or living = \"独居\"");
        let preview = page.text_of("#preview-result-0").unwrap();
        assert!(preview.contains("满足以下其一：年满 80 周岁；独居"), "{preview}");
        let count: usize = page.text_of("#preview-count-0").unwrap().parse().unwrap();
        assert!(count > 0, "{preview}");
        let named = page.texts("#preview-sample-0 li");
        assert!(!named.is_empty() && named.len() <= 10 && named.len() <= count);
        assert!(named.iter().all(|n| n.contains("雨湖区")), "people of the county only: {named:?}");
        assert_eq!(app.audit_count("service_list.preview").await, 1);
        assert_eq!(app.audit_count("service_list.publish").await, published, "nothing published");
        // A value that is not on the list is named at its row.
        set(&mut fields, "items[0].builder[1].value", "低保");
        let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        pairs.push(("preview", "0"));
        let bad = TestApp::page(app.post_form(&client, "/service-lists", &pairs).await).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text_of("#error-summary").unwrap().contains("第 2 个条件：请从列表中选择居住情况"));
    }
}
