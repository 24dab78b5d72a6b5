//! The auditor's pages: the trail with filters, and verification of the hash chain.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use jinglao_db::audit::{self, AuditFilter, Event};
use jinglao_domain::Invalid;
use jinglao_domain::audit::AuditEntry;
use jinglao_domain::clock::{china_offset, format_local};
use serde::Deserialize;
use serde_json::json;

use super::{FormErrors, PageCtx};
use crate::auth::can::{PageCan, need};
use crate::error::{PageError, render};
use crate::request::RequestMeta;
use crate::state::AppState;

const PAGE_SIZE: i64 = 100;

/// The Chinese label of an audit action.
pub fn action_label(action: &str) -> &'static str {
    match action {
        "auth.login" => "登录",
        "auth.login_failed" => "登录失败",
        "auth.logout" => "退出",
        "auth.token_issue" => "签发接口令牌",
        "auth.token_create" => "创建集成令牌",
        "auth.token_revoke" => "吊销令牌",
        "auth.unlock" => "解除锁定",
        "user.create" => "新建账号",
        "user.update" => "修改账号",
        "user.read" => "查看账号",
        "user.password_change" => "修改密码",
        "user.password_reset" => "重置密码",
        "user.preference" => "修改显示偏好",
        "region.update" => "修改区划",
        "region.import" => "导入区划",
        "provider.create" => "登记服务机构",
        "system.seed" => "载入演示数据",
        "audit.verify" => "校验审计日志",
        _ => "其他操作",
    }
}

/// A row of the trail.
pub struct EntryRow {
    entry: AuditEntry,
    at: String,
    label: &'static str,
}

/// The trail.
#[derive(Template)]
#[template(path = "audit/index.html")]
pub struct AuditPage {
    ctx: PageCtx,
    errors: FormErrors,
    rows: Vec<EntryRow>,
    q: AuditQuery,
    next_query: Option<String>,
    verification: Option<VerificationView>,
}

/// What a verification found, for the page.
pub struct VerificationView {
    ok: bool,
    checked: u64,
    head_seq: i64,
    head_hash: String,
    message: String,
    first_bad_seq: Option<i64>,
    /// What the anchors outside the database say, in a sentence.
    anchors: String,
}

/// Filters, as typed.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    record_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

fn day_start(text: &str, field: &str, inv: &mut Invalid) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => d
            .and_hms_opt(0, 0, 0)
            .and_then(|dt| dt.and_local_timezone(china_offset()).single())
            .map(|dt| dt.with_timezone(&Utc)),
        Err(_) => {
            inv.add(field, "日期格式应为 年-月-日，例如 2026-11-23");
            None
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn to_filter(q: &AuditQuery) -> (AuditFilter, FormErrors) {
    let mut inv = Invalid::new();
    let from = day_start(&q.from, "from", &mut inv);
    let until = day_start(&q.to, "to", &mut inv).map(|t| t + chrono::Duration::days(1));
    if let (Some(f), Some(u)) = (from, until)
        && f >= u
    {
        inv.add("to", "结束日期不能早于开始日期");
    }
    (
        AuditFilter {
            actor_name: non_empty(&q.actor).map(|a| a.to_lowercase()),
            action: non_empty(&q.action),
            entity: non_empty(&q.entity),
            record_id: non_empty(&q.record_id),
            from,
            until,
            before_seq: q.before,
        },
        inv,
    )
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    user: &crate::auth::CurrentUser,
    q: AuditQuery,
    verification: Option<VerificationView>,
) -> Result<Response, PageError> {
    let (filter, errors) = to_filter(&q);
    let entries = if errors.is_empty() {
        audit::list(&state.db, &user.scope, &filter, PAGE_SIZE + 1).await?
    } else {
        Vec::new()
    };
    let more = entries.len() as i64 > PAGE_SIZE;
    let rows: Vec<EntryRow> = entries
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|e| EntryRow {
            at: format_local(e.occurred_at),
            label: action_label(&e.action),
            entry: e,
        })
        .collect();
    let next_query = if more {
        rows.last().map(|last| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("actor", &q.actor)
                .append_pair("action", &q.action)
                .append_pair("entity", &q.entity)
                .append_pair("record_id", &q.record_id)
                .append_pair("from", &q.from)
                .append_pair("to", &q.to)
                .append_pair("before", &last.entry.seq.to_string())
                .finish()
        })
    } else {
        None
    };
    render(&AuditPage {
        ctx: ctx.with_errors(&errors),
        errors,
        rows,
        q,
        next_query,
        verification,
    })
}

/// `GET /audit`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ViewAudit>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    page(&state, ctx, &user, q, None).await
}

/// `POST /audit/verify`: checks the whole chain and shows the result above the trail. The
/// check itself is recorded.
pub async fn verify(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ViewAudit>,
    meta: RequestMeta,
) -> Result<Response, PageError> {
    let v = audit::verify(&state.db, &state.keys.audit_chain, 5000).await?;
    let key = &state.keys.audit_chain;
    let anchored = match &state.settings.audit.anchor_file {
        Some(file) => Some(jinglao_db::audit_anchor::verify(&state.db, key, file).await?),
        None => None,
    };
    let anchor_break = anchored.as_ref().and_then(|a| a.broken.clone());
    let anchors = anchored.as_ref().map_or_else(
        || jinglao_db::audit_anchor::NOT_CONFIGURED.to_string(),
        |a| a.summary(),
    );
    let view = VerificationView {
        ok: v.broken.is_none() && anchor_break.is_none(),
        checked: v.checked,
        head_seq: v.head_seq,
        head_hash: v.head_hash.clone(),
        message: v
            .broken
            .as_ref()
            .map(|b| b.to_string())
            .or(anchor_break.as_ref().map(|b| b.to_string()))
            .unwrap_or_default(),
        first_bad_seq: v.broken.as_ref().map(|b| b.first_bad_seq()),
        anchors,
    };
    audit::record(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        Event {
            action: "audit.verify",
            entity: "audit_log",
            record_id: None,
            region_code: user.scope.region_root(),
            detail: json!({
                "checked": v.checked,
                "intact": v.broken.is_none(),
                "anchors_intact": anchor_break.is_none(),
                "first_bad_seq": view.first_bad_seq,
                "head_seq": v.head_seq,
            }),
        },
        state.clock.now(),
    )
    .await?;
    page(&state, ctx, &user, AuditQuery::default(), Some(view)).await
}
