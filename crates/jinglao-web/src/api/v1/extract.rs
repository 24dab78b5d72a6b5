//! Extractors whose rejections use the API's JSON error envelope instead of axum's plain text.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

use crate::error::{ApiError, AppError};

/// `axum::Json` with JSON errors: 400 for malformed JSON, 422 for a body of the wrong shape
/// (naming the field when serde does), 415 folded into 400 with an explanation.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path` with JSON errors.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` with JSON errors.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Pulls a field name out of serde's messages ("missing field `password`", "unknown field
/// `x`", "…for key `area_type`…"). Errors below the top level carry their path first
/// ("…target type: items.B.1.1: invalid type…"), so a nested field is named in full.
fn field_in(message: &str) -> Option<String> {
    let named = || {
        let start = message.find('`')? + 1;
        let end = start + message[start..].find('`')?;
        Some(message[start..end].to_string())
    };
    let path = message
        .split_once("target type: ")
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(path, _)| path)
        .filter(|p| !p.is_empty() && !p.contains(char::is_whitespace));
    match (path, named()) {
        (Some(path), Some(name)) if message.contains("missing field") => {
            Some(format!("{path}.{name}"))
        }
        (Some(path), _) => Some(path.to_string()),
        (None, name) => name,
    }
}

/// A Chinese message for serde's commonest complaints, keeping serde's text otherwise.
fn data_error_message(text: &str, field: Option<&str>) -> String {
    let f = field.unwrap_or("?");
    if text.contains("missing field") {
        format!("缺少字段 {f}")
    } else if text.contains("unknown field") {
        format!("不认识的字段 {f}")
    } else if text.contains("invalid type") {
        format!("字段 {f} 的类型不对：{text}")
    } else {
        format!("请求内容的字段不符合要求：{text}")
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let text = r.body_text();
        let (message, field) = match &r {
            JsonRejection::JsonDataError(_) => {
                let field = field_in(&text);
                (data_error_message(&text, field.as_deref()), field)
            }
            JsonRejection::JsonSyntaxError(_) => (format!("请求内容不是有效的 JSON：{text}"), None),
            JsonRejection::MissingJsonContentType(_) => {
                ("请求须带 Content-Type: application/json".to_string(), None)
            }
            _ => (text.clone(), None),
        };
        if matches!(r, JsonRejection::JsonDataError(_)) {
            let mut inv = jinglao_domain::Invalid::new();
            inv.add(field.as_deref().unwrap_or("body"), message);
            return ApiError(AppError::Invalid(inv));
        }
        ApiError(AppError::BadRequest { message, field })
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError(AppError::BadRequest {
            message: format!("路径参数无效：{}", r.body_text()),
            field: None,
        })
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        let text = r.body_text();
        ApiError(AppError::BadRequest {
            field: field_in(&text),
            message: format!("查询参数无效：{text}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_serde_complaints_are_said_in_chinese() {
        assert_eq!(
            data_error_message("missing field `password` at line 1", Some("password")),
            "缺少字段 password"
        );
        assert_eq!(
            data_error_message("unknown field `x`, expected one of", Some("x")),
            "不认识的字段 x"
        );
    }

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            field_in("missing field `password` at line 1 column 20"),
            Some("password".into())
        );
        assert_eq!(field_in("no backticks"), None);
        assert_eq!(
            field_in(
                "Failed to deserialize the JSON body into the target type: items.B.1.1: \
                 invalid type: string \"x\", expected i64 at line 1 column 23"
            ),
            Some("items.B.1.1".into())
        );
        assert_eq!(
            field_in(
                "Failed to deserialize the JSON body into the target type: missing field \
                 `items` at line 1 column 2"
            ),
            Some("items".into())
        );
    }
}
