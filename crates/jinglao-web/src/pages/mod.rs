//! Server-rendered pages (Simplified Chinese). Each page is a template struct; every form is a
//! plain POST answered with a 303 redirect, so nothing needs JavaScript.

pub mod account;
pub mod admin_users;
pub mod audit;
pub mod audit_detail;
pub mod calendar;
pub mod capability;
pub mod entitlement;
pub mod home;
pub mod home_services;
pub mod home_work;
pub mod login;
pub mod named;
pub mod notifications;
pub mod paging;
pub mod policy;
pub mod preferences;
pub mod print;
pub mod public_home;
pub mod purchase;
pub mod region_picker;
pub mod regions;
pub mod registry;
pub mod saved_filters;
pub mod supply;
pub mod upload;
pub use capability::{agencies, assessments};
pub use entitlement::{applications, eligibility, public_apply, service_lists};
pub use home_services::{
    family_beds, my_visits, order_new, orders, patrols, prices, public_services, satisfaction,
    statements, visit_review, visit_signals,
};
pub use registry::{elder_import, elders};
pub use supply::{credit, facilities, facility_actions, finder, providers, ratings, staff};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jinglao_domain::{Invalid, Permission};

use crate::auth::CurrentUser;
use crate::auth::session::{CsrfToken, LargePrint, SessionEnded};

/// The errors of a form: one type drives both the summary at the top and the message at each
/// field (see docs/UI-GUIDE.md).
pub type FormErrors = Invalid;

/// One link of the main navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Target.
    pub href: &'static str,
    /// Label.
    pub label: &'static str,
    /// Whether it is the current section.
    pub current: bool,
}

/// Who is signed in, as the page header shows it.
#[derive(Debug, Clone)]
pub struct NavUser {
    /// Display name.
    pub display_name: String,
    /// Role label.
    pub role_label: &'static str,
    /// Unread notifications.
    pub unread: i64,
}

/// What every page's layout needs: the user, navigation, CSRF token, display preference,
/// and a confirmation message after a redirect.
#[derive(Debug, Clone)]
pub struct PageCtx {
    /// The signed-in user, if any.
    pub user: Option<NavUser>,
    /// Main navigation for the user's role.
    pub nav: Vec<NavItem>,
    /// The CSRF token for this page's forms.
    pub csrf: String,
    /// Large-print mode.
    pub large_print: bool,
    /// This page's path and query (where preference forms return to).
    pub path: String,
    /// A confirmation message (from `?notice=`; only known keys are shown).
    pub notice: Option<&'static str>,
    /// Whether the page shows form errors (the title then starts with "错误：").
    pub has_errors: bool,
    /// The browser's previous session ended (timed out or signed out elsewhere).
    pub session_ended: bool,
}

impl PageCtx {
    /// Marks the page as showing `errors`.
    pub fn with_errors(mut self, errors: &FormErrors) -> Self {
        self.has_errors = !errors.is_empty();
        self
    }
}

/// The confirmation messages pages may show after a redirect.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "saved" => "已保存。",
        "filter_saved" => "已保存这个筛选，下次点名字即可打开。",
        "filter_deleted" => "已删除这个筛选。",
        "statement_run" => "对账单已生成或更新。",
        "batch_created" => "支付批次已生成。请下载支付清单交国库，收到国库的支付结果后在本页上传。",
        "project_stepped" => "已办理。",
        "project_changed" => "项目已修改。",
        "project_new_version" => "已形成新版本并报送财政部门审核。",
        "bid_document_attached" => "投标文件已登记。",
        "bid_scored" => "评分已保存，名次已按全部评分重新计算。",
        "acceptance_recorded" => "验收记录已登记。",
        "catalogue_published" => "新版本指导性目录已发布。",
        "project_drafted" => "已保存为草稿。核对无误后在本页“报送财政审核”。",
        "contract_filed" => "已登记合同备案；该合同下已审批的结算单可以支付了。",
        "contract_terminated" => "合同已解除，自解除之日起不再按该合同计价。",
        "evaluation_scored" => "评分已保存；公布前可以修改。",
        "call_recorded" => "回访结果已登记。",
        "evaluator_named" => "已指定第三方评估机构，对方登录后可以查看本合同并打分。",
        "evaluation_published" => "评价结果已公布。",
        "visit_reviewed" => "核查结论已记录。",
        "visit_corrected" => "已更正时间并重新核验；更正记录单独保存，并记入审计日志。",
        "checked_in" => "已签到。服务完成后请让老人读出确认码再签退。",
        "checked_out" => "已签退，核验通过。",
        "checked_out_exception" => "已签退。这次服务有需要人工核查的地方，原因见下方。",
        "created" => "账号已创建。",
        "unlocked" => "已解除锁定。",
        "password_changed" => "密码已修改，其他设备上的登录已退出。",
        "must_change" => "管理员重置了您的密码。请先设置一个新密码，然后才能继续使用。",
        "logged_out" => "您已安全退出。",
        "elder_created" => "已登记。",
        "category_added" => "已添加特殊类别。",
        "category_ended" => "已结束该类别。",
        "life_event" => {
            "已记录。在册状态已更新，相关类别和依赖这位老人的服务已同时结束（见“已同时办理”）。"
        }
        "reassessment_requested" => "已列入待评估清单。",
        "imported" => "导入完成。",
        "swept" => "已重新比对。下面是比对发现的变化。",
        "list_published" => "新版本已发布。此前的审核决定仍按当时的版本保留。",
        "application_submitted" => "申请已受理，等待村（居）初审。",
        "application_decided" => "审核决定已记录。",
        "application_resubmitted" => "已重新提交，等待村（居）初审。",
        "evidence_attached" => "证明材料已上传。",
        "application_withdrawn" => "申请已撤回。",
        "application_appealed" => "已申请复核，等待乡镇（街道）复核。",
        "assessment_saved" => "评估已保存。",
        "assessment_submitted" => "评估已提交审核。",
        "assessment_reviewed" => "已审核。",
        "assessment_returned" => "已退回评估师修改。",
        "assessment_effective" => "评估已生效，老年人能力等级已更新。",
        "assessment_cancelled" => "评估已作废。",
        "agency_created" => "评估机构已登记。",
        "certificate_saved" => "评估师证书已登记。",
        "policy_saved" => "政策参数已保存。",
        "provider_created" => "服务机构已登记。",
        "finding_recorded" => "核查结果已记录，承接资格已重新判断。",
        "calendar_loaded" => "放假安排已导入，之后新算的期限按它计算。",
        "credit_recorded" => "信用记录已登记，承接资格和评定资格已按它重新判断。",
        "credit_revoked" => "信用记录已撤销，撤销日期和原因保留在记录上。",
        "facility_created" => "设施已登记。下一步：添加床位。",
        "beds_added" => "床位已添加。",
        "bed_status" => "床位状态已更改。",
        "admitted" => "已办理入住。",
        "discharged" => "已办理退住。",
        "waiting_joined" => "已登记轮候。",
        "rating_applied" => "等级评定申请已提交，下一步由机构填写自评。",
        "sheet_saved" => "评分表已保存。",
        "rating_decided" => "等级已评定并公布。",
        "staff_hired" => "人员已登记。",
        "price_added" => "单价已保存。",
        "photo_added" => "照片已上传，公开查询页面同时显示。",
        "insurance_recorded" => "参保记录已登记。",
        "staff_record_added" => "记录已登记。",
        "unchanged" => "没有任何改动。",
        "order_assigned" => "已指定护理员。",
        "order_ended" => "工单已结束，占用的服务额度已释放。",
        "order_placed" => "已预约。确认码已生成，请告知老人或家属（护理员看不到）。",
        "plan_created" => "服务计划已建立，未来两周的工单已生成。",
        "plan_ended" => "服务计划已终止，尚未开始的工单已取消。",
        "rated" => "评价已记录。",
        "visit_revoked" => "服务记录已撤销。已结算的，下期对账单将扣回。",
        _ => return None,
    })
}

/// The navigation of the public pages (no one signed in).
fn public_nav(path: &str) -> Vec<NavItem> {
    [
        ("/", "首页"),
        ("/apply", "查询和申请"),
        ("/institutions", "找养老机构"),
        ("/services", "上门服务"),
        ("/notices", "公示"),
    ]
    .into_iter()
    .map(|(href, label)| NavItem {
        href,
        label,
        current: if href == "/apply" {
            path == "/apply"
        } else if href == "/" {
            path == "/"
        } else {
            path.starts_with(href)
        },
    })
    .collect()
}

fn nav_for(user: &CurrentUser, path: &str) -> Vec<NavItem> {
    let mut items = vec![("/home", "工作台")];
    if user.account.role == jinglao_domain::Role::Caregiver {
        items.push(("/my/visits", "今日服务"));
    }
    if user.can(Permission::ViewElders) {
        items.push(("/elders", "老年人"));
        items.push(("/eligibility", "服务找人"));
        items.push(("/applications", "服务申请"));
        items.push(("/service-lists", "服务清单"));
    }
    if user.can(Permission::Assess)
        || user.can(Permission::ReviewAssessments)
        || user.can(Permission::ApproveAssessments)
    {
        items.push(("/assessments", "能力评估"));
    }
    if user.can(Permission::ViewRegions) {
        items.push(("/regions", "行政区划"));
    }
    if user.can(Permission::ViewProviders) {
        items.push(("/providers", "服务机构"));
        items.push(("/facilities", "养老设施"));
    }
    if user.can(Permission::ViewElders) || user.can(Permission::ManageFacilities) {
        items.push(("/orders", "工单派单"));
    }
    if user.can(Permission::EditElders) {
        items.push(("/patrols", "巡访"));
    }
    if user.can(Permission::EditElders) || user.can(Permission::ManageFacilities) {
        items.push(("/family-beds", "家庭床位"));
    }
    if user.can(Permission::ReviewVisits)
        || user.can(Permission::ManageFacilities)
        || user.account.role == jinglao_domain::Role::Inspector
    {
        items.push(("/visits/exceptions", "服务核查"));
    }
    if user.can(Permission::ReviewVisits)
        || user.account.role == jinglao_domain::Role::Inspector
        || user.account.role == jinglao_domain::Role::Auditor
    {
        items.push(("/visits/signals", "服务疑点"));
    }
    if user.can(Permission::ViewElders) || user.can(Permission::ManageFacilities) {
        items.push(("/satisfaction", "满意度"));
    }
    if user.can(Permission::SettleServices)
        || (user.can(Permission::ManageFacilities)
            && matches!(user.scope, jinglao_domain::Scope::Provider { .. }))
    {
        items.push(("/statements", "月度结算"));
    }
    if user.can(Permission::PlanPurchases) || user.can(Permission::ApprovePurchases) {
        items.push(("/purchase/projects", "购买服务"));
    }
    if user.can(Permission::PayStatements) {
        items.push(("/payment-batches", "国库支付"));
    }
    if user.can(Permission::EvaluateContracts) || user.can(Permission::ScoreAsThirdParty) {
        items.push(("/purchase/evaluations", "绩效评价"));
    }
    if user.can(Permission::ManageAgencies) {
        items.push(("/agencies", "评估机构"));
    }
    if user.can(Permission::ManagePolicy) {
        items.push(("/policy", "政策参数"));
    }
    if user.can(Permission::ManageAccounts) {
        items.push(("/admin/users", "账号管理"));
        if user.can(Permission::ManageCalendar) {
            items.push(("/admin/calendar", "节假日安排"));
        }
    }
    if user.can(Permission::ViewAudit) {
        items.push(("/audit", "审计日志"));
    }
    items.push(("/account", "我的账号"));
    items
        .into_iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            current: path.starts_with(href),
        })
        .collect()
}

/// The usual answer to a posted form: success goes on to the address `to` makes of the
/// result (303); field errors draw the form again with them (422, built by `again`); any other
/// error is its own error page. One place for the branch every form handler needs.
pub async fn answer_form<T, P, Fut>(
    result: Result<T, jinglao_db::DbError>,
    to: impl FnOnce(T) -> String,
    again: impl FnOnce(FormErrors) -> Fut,
) -> Result<axum::response::Response, crate::error::PageError>
where
    P: askama::Template,
    Fut: Future<Output = Result<P, crate::error::PageError>>,
{
    use axum::response::IntoResponse;
    match result {
        Ok(v) => Ok(axum::response::Redirect::to(&to(v)).into_response()),
        Err(jinglao_db::DbError::Invalid(errors)) => crate::error::render_with_status(
            &again(errors).await?,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(crate::error::AppError::from(e).into()),
    }
}

/// A record's id from the path (`/orders/{id}`): an address with something else there is a
/// plain 404 page, as for a record that does not exist or is out of scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdPath(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = crate::error::PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| crate::error::AppError::NotFound)?;
        uuid::Uuid::parse_str(id.trim())
            .map(IdPath)
            .map_err(|_| crate::error::AppError::NotFound.into())
    }
}

impl FromRequestParts<crate::state::AppState> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = parts.extensions.get::<CurrentUser>();
        // The header's 「消息」 count; a page still renders if it cannot be read.
        let unread = match user {
            Some(u) => match state.db.acquire().await {
                Ok(mut c) => jinglao_db::notify::unread(&mut c.conn(), u.account.id)
                    .await
                    .unwrap_or(0),
                Err(_) => 0,
            },
            None => 0,
        };
        let path = parts.uri.path().to_string();
        let notice = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "notice")
                .and_then(|(_, v)| notice_text(&v))
        });
        Ok(PageCtx {
            user: user.map(|u| NavUser {
                display_name: u.account.display_name.clone(),
                role_label: u.account.role.label(),
                unread,
            }),
            nav: match user {
                Some(u) => nav_for(u, &path),
                None => public_nav(&path),
            },
            csrf: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            large_print: parts.extensions.get::<LargePrint>().is_some_and(|l| l.0),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or(path),
            notice,
            has_errors: false,
            session_ended: parts.extensions.get::<SessionEnded>().is_some(),
        })
    }
}

/// A local path safe to redirect to (no scheme, no host, no `//`), or `/`.
pub fn safe_return_path(p: Option<&str>) -> String {
    // Browsers drop tabs and line breaks from addresses and read `\` as `/`, so `/\t/host`
    // and `/\\host` are other sites: no control character, space or backslash anywhere, and
    // the second character must not start another slash. Only ASCII: a `Location` header
    // cannot carry anything else (our own addresses are percent-encoded).
    match p {
        Some(p)
            if p.starts_with('/')
                && p.is_ascii()
                && !p.starts_with("//")
                && !p
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_used_as_return_addresses() {
        assert_eq!(safe_return_path(Some("/regions/430302")), "/regions/430302");
        assert_eq!(safe_return_path(Some("//evil.example/")), "/");
        assert_eq!(safe_return_path(Some("https://evil.example/")), "/");
        assert_eq!(safe_return_path(Some("/\\evil.example")), "/");
        // What `next=/%09/evil.example` decodes to; a browser drops the tab.
        assert_eq!(safe_return_path(Some("/\t/evil.example")), "/");
        assert_eq!(safe_return_path(Some("/\n/evil.example")), "/");
        assert_eq!(safe_return_path(Some("/ /evil.example")), "/");
        assert_eq!(
            safe_return_path(Some("/elders?q=%E7%8E%8B")),
            "/elders?q=%E7%8E%8B"
        );
        assert_eq!(safe_return_path(Some("/elders?q=王")), "/");
        assert_eq!(safe_return_path(None), "/");
    }
}
