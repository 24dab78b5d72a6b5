//! The OpenAPI document: generated from the handlers, OpenAPI 3.1, locked by a snapshot (an
//! API change shows up in review as a snapshot diff), and served as generated. `.ci/run` also
//! checks it with `openapi-spec-validator`.

use crate::common::TestApp;
use jinglao_db::test_on_both;

fn document() -> serde_json::Value {
    serde_json::to_value(jinglao_web::api::v1::openapi()).expect("serialisable")
}

#[test]
fn the_openapi_document_matches_its_snapshot() {
    insta::assert_json_snapshot!("openapi", document());
}

#[test]
fn every_operation_has_an_id_of_its_own() {
    let doc = document();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            if let Some(first) = seen.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {first} and {method} {path}");
            }
        }
    }
}

#[test]
fn every_path_parameter_is_in_its_path_and_every_query_filter_says_query() {
    // The validator in `.ci/run` refuses a `path` parameter the template lacks; a query filter
    // struct without `#[into_params(parameter_in = Query)]` comes out as one.
    let doc = document();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap_or_default();
                let place = param["in"].as_str().unwrap_or_default();
                assert!(
                    ["path", "query", "header", "cookie"].contains(&place),
                    "{method} {path}: parameter {name} says where it goes"
                );
                if place == "path" {
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: path parameter {name} is not in the path"
                    );
                }
            }
        }
    }
}

#[test]
fn the_document_is_openapi_3_1_and_every_operation_is_documented() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for expected in [
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/regions",
        "/api/v1/regions/{code}",
        "/api/v1/regions/{code}/children",
        "/api/v1/audit-entries",
        "/api/v1/eligibility/check",
        "/api/v1/service-lists",
        "/api/v1/eligibility/worklists",
        "/api/v1/applications",
        "/api/v1/applications/{id}/decisions",
    ] {
        assert!(paths.contains_key(expected), "missing {expected}");
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its responses"
            );
            let public = path == "/api/v1/auth/token" && method == "post";
            assert_eq!(
                op.get("security").is_some(),
                !public,
                "{method} {path}: only token creation is public"
            );
            if !public {
                assert!(
                    op["responses"].get("401").is_some(),
                    "{method} {path} documents 401"
                );
            }
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

test_on_both! {
    async fn the_server_serves_the_generated_document(app: TestApp) {
        let served: serde_json::Value = reqwest::get(app.url("/api/v1/openapi.json"))
            .await.unwrap().json().await.unwrap();
        assert_eq!(served, document());
    }
}
