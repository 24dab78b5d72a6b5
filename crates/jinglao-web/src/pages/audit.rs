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

/// The Chinese label of every audit action the platform writes (a test checks that every
/// action string in the storage crate has one). An action this build does not know (written by
/// a newer version) reads as its own name, never as 「其他操作」.
pub fn action_label(action: &str) -> String {
    ACTION_LABELS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or_else(|| action.to_string(), |(_, l)| l.to_string())
}

/// Every action and its label, by area.
pub const ACTION_LABELS: &[(&str, &str)] = &[
    ("auth.login", "登录"),
    ("auth.login_failed", "登录失败"),
    ("auth.logout", "退出"),
    ("auth.token_issue", "签发接口令牌"),
    ("auth.token_create", "创建集成令牌"),
    ("auth.token_revoke", "吊销令牌"),
    ("auth.unlock", "解除锁定"),
    ("user.create", "新建账号"),
    ("user.update", "修改账号"),
    ("user.read", "查看账号"),
    ("user.password_change", "修改密码"),
    ("user.password_reset", "重置密码"),
    ("user.preference", "修改显示偏好"),
    ("user.link_staff", "账号关联护理员"),
    ("region.update", "修改区划"),
    ("region.import", "导入区划"),
    ("system.seed", "载入演示数据"),
    ("audit.verify", "校验审计日志"),
    ("policy.set", "修改政策参数"),
    ("calendar.replace", "更新节假日安排"),
    ("elder.create", "登记老年人"),
    ("elder.update", "修改老年人信息"),
    ("elder.read", "查看老年人档案"),
    ("elder.reveal", "查看完整证件号或电话"),
    ("elder.notify_by", "设置通知方式（电话或短信）"),
    ("elder.search", "查询老年人"),
    ("elder.export", "导出老年人名单"),
    ("application.export", "导出服务申请名单"),
    ("patrol.export", "导出巡访应访名单"),
    ("elder.import", "批量导入老年人"),
    ("elder.duplicate_refused", "拒绝重复登记"),
    ("elder.category_add", "登记特殊类别"),
    ("elder.category_end", "结束特殊类别"),
    ("elder.life_event", "登记死亡、迁出等变动"),
    ("elder.reassessment_request", "申请重新评估"),
    ("population.load", "载入人口数据"),
    ("agency.create", "登记评估机构"),
    ("assessor.certificate", "登记评估员证书"),
    ("assessment.open", "开始能力评估"),
    ("assessment.save", "保存评估"),
    ("assessment.submit", "提交评估"),
    ("assessment.review", "复核评估"),
    ("assessment.return", "退回评估"),
    ("assessment.effective", "评估结果生效"),
    ("assessment.cancel", "撤销评估"),
    ("assessment.correct", "更正评估"),
    ("assessment.read", "查看评估"),
    ("service_list.publish", "发布服务清单"),
    ("service_list.preview", "预览服务对象条件（列出符合的老人）"),
    ("eligibility.sweep", "服务找人筛查"),
    ("entitlement.enrol", "纳入服务对象"),
    ("application.print", "打印申请文书"),
    ("application.submit", "提交申请"),
    ("application.decide", "审核申请"),
    ("application.appeal", "申请复核"),
    ("application.resubmit", "补正后重新提交"),
    ("application.withdraw", "撤回申请"),
    ("application.notice_end", "公示期满"),
    ("application.evidence_attach", "上传申请材料"),
    ("application.evidence_read", "查看申请材料"),
    ("provider.create", "登记服务机构"),
    ("provider.finding", "登记机构检查结果"),
    ("facility.export", "导出养老设施名单"),
    ("facility.create", "登记养老设施"),
    ("facility.generate", "生成演示设施"),
    ("facility.photo_add", "上传设施照片"),
    ("bed.add", "新增床位"),
    ("bed.status", "修改床位状态"),
    ("stay.admit", "办理入住"),
    ("stay.admit_refused", "拒绝入住"),
    ("stay.discharge", "办理退住"),
    ("stay.generate", "生成演示入住"),
    ("waiting_list.join", "登记轮候"),
    ("waiting_list.join_refused", "拒绝轮候登记"),
    ("staff.hire", "登记从业人员"),
    ("staff.skills", "修改护理员技能"),
    ("staff.record", "登记从业记录"),
    ("staff.insurance", "登记社保缴纳"),
    ("staff.bar", "登记从业禁止"),
    ("staff.day", "安排护理员工作日"),
    ("rating.apply", "申请等级评定"),
    ("rating.sheet", "填写评定表"),
    ("rating.decide", "等级评定结论"),
    ("credit.record", "记录信用信息"),
    ("credit.revoke", "撤销信用记录"),
    ("price.add", "登记服务价格"),
    ("purchase_catalogue.publish", "发布政府购买服务指导性目录"),
    ("purchase_project.create", "编制政府购买服务项目"),
    ("purchase_project.update", "修改政府购买服务项目"),
    ("purchase_project.submit", "报送财政审核购买项目"),
    ("purchase_project.approve", "批复购买项目"),
    ("purchase_project.return", "退回购买项目"),
    ("purchase_project.publish", "发布购买服务公告"),
    ("purchase_project.award", "确定承接主体"),
    ("purchase_bid.record", "登记投标"),
    ("purchase_bid.score", "录入评审评分"),
    ("purchase_bid.document", "登记投标文件"),
    ("purchase_bid.document_read", "查看投标文件"),
    ("purchase_contract.sign", "登记购买服务合同"),
    ("purchase_contract.file", "登记合同财政备案"),
    ("purchase_contract.accept", "登记合同履约验收"),
    ("purchase_contract.terminate", "解除购买服务合同"),
    ("purchase_evaluation.open", "开始年度绩效评价"),
    ("purchase_evaluation.name_evaluator", "指定第三方评估机构"),
    ("purchase_evaluation.score", "绩效评价打分"),
    ("purchase_evaluation.survey_call", "登记绩效评价电话回访"),
    ("purchase_evaluation.publish", "公布绩效评价结果"),
    ("purchase_evaluation.read", "第三方查看绩效评价"),
    (
        "purchase_evaluation.survey_read",
        "查看绩效评价电话回访名单",
    ),
    ("purchase_contract.report_read", "下载合同验收报告"),
    ("order.place", "预约上门服务"),
    ("order.dispatch", "派单"),
    ("order.assign", "指派护理员"),
    ("order.end", "结束工单"),
    ("plan.create", "建立服务计划"),
    ("plan.end", "终止服务计划"),
    ("plan.skip", "跳过计划服务"),
    ("visit.check_in", "上门签到"),
    ("visit.check_out", "服务签退"),
    ("visit.code_miss", "签退确认码输错（可重试）"),
    ("visit.review", "核查服务记录"),
    ("visit.revoke", "撤销服务记录"),
    ("visit.correct", "更正服务记录"),
    ("visit.recheck", "重新核验服务"),
    ("visit.rate", "服务评价"),
    ("statement.run", "生成月度结算单"),
    ("statement.confirm", "机构确认结算单"),
    ("statement.dispute", "机构对结算单提出异议"),
    ("statement.reopen", "重新核算结算单"),
    ("statement.approve", "审核通过结算单"),
    ("statement.pay", "登记拨付（旧版，已改为国库支付批次）"),
    ("payment_batch.create", "生成国库支付批次"),
    ("payment_batch.confirm", "导入国库支付结果"),
    ("payment_batch.download", "下载国库支付清单"),
    ("statement.paid", "结算单经国库确认已支付"),
    ("statement.payment_failed", "国库支付失败，结算单退回已审批"),
    ("patrol.refresh", "更新巡访名单"),
    ("patrol.assign", "指派巡访人"),
    ("patrol.visit", "记录巡访"),
    ("family_bed.create", "建立家庭养老床位"),
    ("family_bed.create_refused", "拒绝建立家庭养老床位"),
    ("family_bed.adapt", "登记适老化改造"),
    ("family_bed.device", "登记智能设备"),
    ("family_bed.end", "撤销家庭养老床位"),
];

/// A row of the trail.
pub struct EntryRow {
    entry: AuditEntry,
    at: String,
    label: String,
    /// Who, by name (the account's display name), with the role in words.
    who: String,
    role: String,
    /// What the entry is about: the kind of record and, where known, its name.
    about: String,
    /// The detail, field by field.
    detail: Vec<String>,
}

/// What a record kind is called.
fn entity_label(entity: &str) -> &str {
    match entity {
        "elder" => "老年人",
        "user" => "账号",
        "region" => "区划",
        "provider" => "服务机构",
        "facility" => "养老设施",
        "staff" => "从业人员",
        "application" => "申请",
        "assessment" => "能力评估",
        "agency" => "评估机构",
        "order" => "工单",
        "plan" => "服务计划",
        "visit" => "上门服务",
        "statement" => "结算单",
        "service_list" => "服务清单",
        "policy" => "政策参数",
        "rating" => "等级评定",
        "family_bed" => "家庭养老床位",
        "patrol" => "巡访",
        "credit" => "信用记录",
        "audit" => "审计日志",
        "session" => "会话",
        "token" => "令牌",
        "purchase_catalogue" => "购买服务目录",
        "purchase_project" => "购买服务项目",
        "purchase_bid" => "投标",
        "payment_batch" => "国库支付批次",
        other => other,
    }
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
    // Names for every id on the page (actors, records, ids inside details), in one lookup.
    let mut ids = Vec::new();
    for e in entries.iter().take(PAGE_SIZE as usize) {
        ids.extend(e.actor_id);
        if let Some(id) = e
            .record_id
            .as_deref()
            .and_then(|r| uuid::Uuid::parse_str(r).ok())
        {
            ids.push(id);
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&e.detail) {
            super::audit_detail::ids_in(&v, &mut ids);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let mut c = state.db.acquire().await?;
    let names = super::audit_detail::Names {
        by_id: audit::names_of(&mut c.conn(), &ids).await?,
        items: jinglao_db::service_lists::item_names(&mut c.conn()).await?,
    };
    drop(c);
    let rows: Vec<EntryRow> = entries
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|e| {
            let who = e
                .actor_id
                .and_then(|id| names.by_id.get(&id).cloned())
                .unwrap_or_else(|| e.actor_name.clone());
            let role = e
                .actor_role
                .parse::<jinglao_domain::Role>()
                .map_or_else(|_| "系统".to_string(), |r| r.label().to_string());
            let record = e
                .record_id
                .as_deref()
                .and_then(|r| uuid::Uuid::parse_str(r).ok())
                .and_then(|id| names.by_id.get(&id).cloned());
            let about = match (record, &e.record_id) {
                (Some(name), _) => format!("{}：{name}", entity_label(&e.entity)),
                (None, Some(r)) if e.entity == "region" => {
                    match jinglao_domain::RegionCode::parse(r) {
                        Ok(code) => format!("区划：{}", state.region_path(&code)),
                        Err(_) => "区划".into(),
                    }
                }
                _ => entity_label(&e.entity).to_string(),
            };
            EntryRow {
                at: format_local(e.occurred_at),
                label: action_label(&e.action),
                detail: super::audit_detail::lines(state, &names, &e.detail),
                who,
                role,
                about,
                entry: e,
            }
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

#[cfg(test)]
mod tests {
    use super::ACTION_LABELS;

    /// Every quoted `area.verb` in the sources that write audit entries.
    fn actions_in_sources() -> std::collections::BTreeSet<String> {
        const AREAS: &[&str] = &[
            "auth",
            "user",
            "region",
            "system",
            "audit",
            "policy",
            "calendar",
            "elder",
            "population",
            "agency",
            "assessor",
            "assessment",
            "service_list",
            "eligibility",
            "entitlement",
            "application",
            "provider",
            "facility",
            "bed",
            "stay",
            "waiting_list",
            "staff",
            "rating",
            "credit",
            "price",
            "order",
            "plan",
            "visit",
            "statement",
            "patrol",
            "family_bed",
            "purchase_catalogue",
            "purchase_project",
            "purchase_bid",
            "purchase_contract",
            "payment_batch",
        ];
        // Quoted names that look like actions but are settings, columns or files.
        const NOT_ACTIONS: &[&str] = &[
            "staff.id_hash",
            "auth.absolute_timeout_hours",
            "auth.api_token_hours",
            "auth.idle_timeout_minutes",
            "auth.lockout_minutes",
            "auth.max_failures_per_account",
            "auth.max_failures_per_ip",
            "policy.html",
            "statement.xlsx",
            "waiting_list.facility_id",
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut out = std::collections::BTreeSet::new();
        let mut stack: Vec<std::path::PathBuf> = [
            "jinglao-db/src",
            "jinglao-web/src",
            "jinglao-cli/src",
            "jinglao-fixtures/src",
        ]
        .iter()
        .map(|d| root.join(d))
        .collect();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs")
                    || path.ends_with("audit.rs") && path.starts_with(root.join("jinglao-web"))
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for quoted in text.split('"').skip(1).step_by(2) {
                    let Some((area, verb)) = quoted.split_once('.') else {
                        continue;
                    };
                    if AREAS.contains(&area)
                        && !verb.is_empty()
                        && verb.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        && !NOT_ACTIONS.contains(&quoted)
                    {
                        out.insert(quoted.to_string());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_action_the_platform_writes_has_a_chinese_label() {
        let labelled: std::collections::BTreeSet<&str> =
            ACTION_LABELS.iter().map(|(a, _)| *a).collect();
        let missing: Vec<String> = actions_in_sources()
            .into_iter()
            .filter(|a| !labelled.contains(a.as_str()))
            .collect();
        assert!(missing.is_empty(), "actions without a label: {missing:?}");
        assert_eq!(
            labelled.len(),
            ACTION_LABELS.len(),
            "each action listed once"
        );
    }
}
