//! One error type for the application, one status mapping, two renderings: an HTML page for
//! people and the JSON envelope `{"error":{"code","message","field"?}}` for the API.
//! A 5xx never shows internals: it logs the cause chain with the request id and shows the id.

use askama::Template;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::DbError;
use jinglao_domain::Invalid;
use serde::Serialize;
use utoipa::ToSchema;

use crate::request::current_request_id;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The record does not exist or is outside the caller's scope (the two look the same).
    #[error("找不到这个页面或记录")]
    NotFound,
    /// Signed in, but the role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Not signed in (API: missing or invalid token).
    #[error("请先登录")]
    Unauthenticated,
    /// Not signed in (pages): go to the sign-in page and come back to `next`.
    #[error("请先登录")]
    LoginRequired {
        /// Where to return after signing in.
        next: String,
    },
    /// The account must choose a new password before anything else.
    #[error("请先修改密码")]
    PasswordChangeRequired,
    /// A state-changing form without a valid CSRF token.
    #[error("表单已过期或来源不可信，请返回上一页刷新后重新提交")]
    Csrf,
    /// Input failed validation.
    #[error("{0}")]
    Invalid(Invalid),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed (bad JSON, bad path parameter…).
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
        /// The field at fault, if one.
        field: Option<String>,
    },
    /// Too many attempts.
    #[error("{message}")]
    RateLimited {
        /// What happened and when to retry.
        message: String,
        /// Seconds until retrying makes sense.
        retry_after_secs: i64,
    },
    /// A dependency (the database) is unavailable.
    #[error("服务暂时不可用")]
    Unavailable,
    /// A bug or an unexpected failure.
    #[error("服务器内部错误")]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound,
            DbError::Forbidden(why) => AppError::Forbidden(why),
            DbError::Invalid(i) => AppError::Invalid(i),
            DbError::Conflict { constraint } => {
                AppError::Conflict(format!("与已有记录冲突（{constraint}）"))
            }
            DbError::ForeignKey => AppError::BadRequest {
                message: "引用的记录不存在".into(),
                field: None,
            },
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(i: Invalid) -> Self {
        AppError::Invalid(i)
    }
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::Csrf | AppError::PasswordChangeRequired => {
                StatusCode::FORBIDDEN
            }
            AppError::Unauthenticated | AppError::LoginRequired { .. } => StatusCode::UNAUTHORIZED,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the JSON envelope.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Forbidden(_) => "forbidden",
            AppError::Unauthenticated | AppError::LoginRequired { .. } => "unauthenticated",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::Csrf => "csrf_failed",
            AppError::Invalid(_) => "validation_failed",
            AppError::Conflict(_) => "conflict",
            AppError::BadRequest { .. } => "bad_request",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// A role-permission refusal with the standard message.
    pub fn forbidden() -> AppError {
        AppError::Forbidden("您的角色没有权限执行这个操作".into())
    }

    fn log(&self) {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, request_id = ?current_request_id(), "internal error");
        }
    }

    fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            AppError::RateLimited {
                retry_after_secs, ..
            } => HeaderValue::from_str(&(*retry_after_secs).max(1).to_string()).ok(),
            _ => None,
        }
    }
}

/// The JSON error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The body of the JSON error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code: `not_found`, `forbidden`, `unauthenticated`,
    /// `validation_failed`, `conflict`, `bad_request`, `rate_limited`, `internal`, …
    pub code: String,
    /// What happened, for people (Chinese).
    pub message: String,
    /// The first field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field error, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorDto>,
    /// The request id, to quote when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One field error in the JSON envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorDto {
    /// The field's name as sent.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An [`AppError`] rendered as JSON (API handlers return this).
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let (field, fields, message) = match &e {
            AppError::Invalid(inv) => (
                inv.errors.first().map(|f| f.field.clone()),
                inv.errors
                    .iter()
                    .map(|f| FieldErrorDto {
                        field: f.field.clone(),
                        message: f.message.clone(),
                    })
                    .collect(),
                inv.errors
                    .first()
                    .map(|f| f.message.clone())
                    .unwrap_or_else(|| "输入有误".into()),
            ),
            AppError::BadRequest { field, message } => (field.clone(), vec![], message.clone()),
            other => (None, vec![], other.to_string()),
        };
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: e.code().into(),
                message,
                field,
                fields,
                request_id: current_request_id(),
            },
        };
        let mut resp = (e.status(), Json(body)).into_response();
        if let Some(v) = e.retry_after() {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if matches!(e, AppError::Unauthenticated) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"jinglao\""),
            );
        }
        resp
    }
}

/// The standalone error page (no navigation: it must render even when nothing else works).
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    /// The machine-readable code (as in the JSON envelope), for scripts reading the page.
    code: &'static str,
    title: String,
    message: String,
    request_id: Option<String>,
}

/// An [`AppError`] rendered as an HTML page (page handlers return this).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        match &e {
            AppError::LoginRequired { next } => {
                let to = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return Redirect::to(&to).into_response();
            }
            AppError::PasswordChangeRequired => {
                return Redirect::to("/account?notice=must_change").into_response();
            }
            _ => {}
        }
        let title = match &e {
            AppError::NotFound => "找不到页面",
            AppError::Forbidden(_) => "没有权限",
            AppError::Csrf => "表单已过期",
            AppError::Invalid(_) | AppError::BadRequest { .. } => "请求有误",
            AppError::Conflict(_) => "操作冲突",
            AppError::RateLimited { .. } => "请稍后再试",
            AppError::Unavailable => "服务暂时不可用",
            _ => "服务器出错了",
        };
        let message = match &e {
            AppError::Internal(_) => {
                "系统出现了意外错误，您的操作没有完成。请稍后再试；如果问题持续，请把下面的请求编号告诉系统管理员。".to_string()
            }
            other => other.to_string(),
        };
        let page = ErrorPage {
            status: e.status().as_u16(),
            code: e.code(),
            title: title.into(),
            message,
            request_id: current_request_id(),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "服务器内部错误".to_string());
        let mut resp = (e.status(), axum::response::Html(body)).into_response();
        if let Some(v) = e.retry_after() {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Renders a template into an HTML response, turning a template failure into a 500.
pub fn render<T: Template>(t: &T) -> Result<Response, PageError> {
    render_with_status(t, StatusCode::OK)
}

/// Renders a template with a status other than 200 (422 for a form with errors, 429 when
/// locked out).
pub fn render_with_status<T: Template>(t: &T, status: StatusCode) -> Result<Response, PageError> {
    let html = t
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok((status, axum::response::Html(html)).into_response())
}
