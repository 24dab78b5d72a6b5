//! API version 1: authentication, the caller's identity, regions, the audit trail, the
//! registry (masked), the assessment scoring rules, eligibility (服务找人), applications, and
//! providers and facilities.
//! Conventions are in docs/API-DESIGN.md.

pub mod applications;
pub mod assessments;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod contracts;
pub mod credit;
pub mod elders;
pub mod eligibility;
pub mod extract;
pub mod facilities;
pub mod family_beds;
pub mod idempotency;
pub mod life_events;
pub mod me;
pub mod notifications;
pub mod orders;
pub mod paging;
pub mod patrols;
pub mod payments;
pub mod plans;
pub mod purchase;
pub mod ratings;
pub mod regions;
pub mod responses;
pub mod service_lists;
pub mod staff;
pub mod statements;
pub mod visit_review;
pub mod visits;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, AppError, ErrorBody, ErrorEnvelope};
use crate::state::AppState;

/// The document's fixed parts; paths and schemas are collected from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "jinglao API",
        version = "1",
        description = "敬老 养老服务综合管理平台的接口。所有请求（获取令牌除外）须带 `Authorization: Bearer <token>`；\
                       错误一律返回 `{\"error\":{\"code\",\"message\",\"field\"?}}`。数据范围与页面一致：\
                       工作人员只能看到所辖区划，服务机构账号只能看到本机构。",
        license(name = "MulanPSL-2.0", identifier = "MulanPSL-2.0")
    ),
    components(schemas(ErrorEnvelope, ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "令牌"),
        (name = "me", description = "当前账号"),
        (name = "regions", description = "行政区划"),
        (name = "audit", description = "审计日志"),
        (name = "elders", description = "老年人信息（证件号、电话一律脱敏；每次查看记录均记入审计日志）"),
        (name = "assessments", description = "老年人能力评估（GB/T 42195-2022）"),
        (name = "service-lists", description = "基本养老服务清单（按版本发布；规则保存时即检查）"),
        (name = "applications", description = "服务申请与审核（村（居）初审、乡镇（街道）审定、公示、复核）"),
        (name = "eligibility", description = "基本养老服务清单资格判断与服务找人（每项附理由）"),
        (name = "facilities", description = "服务机构、养老设施、床位与入住（服务机构账号只能看到本机构）"),
        (name = "home-services", description = "居家服务工单、派单与月度结算（写操作可带 Idempotency-Key，重试得到同一结果）"),
        (name = "visits", description = "上门服务签到签退与电子核验（护理员只能操作派给自己的工单；重复请求幂等）"),
        (name = "purchase", description = "政府购买养老服务：指导性目录、年度购买项目与财政审核、公告、投标与资格审查、评审、确定承接主体、合同"),
        (name = "payments", description = "国库集中支付：已审批的结算单按合同生成支付批次，导出给国库，导入国库的支付结果后才记为已支付（财务人员）"),
        (name = "calendar", description = "工作日日历（国务院办公厅每年的部分节假日安排）"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "POST /api/v1/auth/token 换取的短期令牌，或 `jinglao token create` 创建的集成令牌",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every v1 route with its documentation (paths relative to `/api/v1`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::create_token, auth::revoke_token))
        .routes(routes!(me::show_me))
        .routes(routes!(notifications::my_notifications))
        .routes(routes!(notifications::read_notifications))
        .routes(routes!(notifications::set_notify_by))
        .routes(routes!(
            notifications::my_saved_filters,
            notifications::save_filter
        ))
        .routes(routes!(notifications::delete_filter))
        .routes(routes!(regions::list_roots))
        .routes(routes!(regions::show_region, regions::update_region))
        .routes(routes!(regions::list_children))
        .routes(routes!(audit::list_entries))
        .routes(routes!(elders::search_elders))
        .routes(routes!(elders::search_elders_posted))
        .routes(routes!(elders::show_elder))
        .routes(routes!(life_events::record_life_event))
        .routes(routes!(credit::list_credit_records, credit::record_credit))
        .routes(routes!(credit::revoke_credit))
        .routes(routes!(calendar::show_calendar))
        .routes(routes!(calendar::load_calendar_year))
        .routes(routes!(assessments::score_assessment))
        .routes(routes!(service_lists::applicable_list))
        .routes(routes!(service_lists::show_list))
        .routes(routes!(service_lists::publish_list))
        .routes(routes!(eligibility::check_eligibility))
        .routes(routes!(eligibility::list_worklist))
        .routes(routes!(eligibility::run_sweep))
        .routes(routes!(
            applications::create_application,
            applications::list_applications
        ))
        .routes(routes!(applications::show_application))
        .routes(routes!(applications::decide_application))
        .routes(routes!(applications::decide_applications))
        .routes(routes!(applications::resubmit_application))
        .routes(routes!(applications::appeal_application))
        .routes(routes!(applications::withdraw_application))
        .routes(routes!(facilities::provider_standing))
        .routes(routes!(
            facilities::list_facilities,
            facilities::create_facility
        ))
        .routes(routes!(facilities::show_facility))
        .routes(routes!(facilities::list_beds, facilities::add_beds))
        .routes(routes!(facilities::set_bed_status))
        .routes(routes!(facilities::discharge_resident))
        .routes(routes!(facilities::admit_resident))
        .routes(routes!(purchase::publish_catalogue))
        .routes(routes!(purchase::create_project, purchase::list_projects))
        .routes(routes!(purchase::show_project))
        .routes(routes!(purchase::project_step))
        .routes(routes!(purchase::record_bid))
        .routes(routes!(purchase::score_bid))
        .routes(routes!(purchase::attach_bid_document))
        .routes(routes!(purchase::bid_document))
        .routes(routes!(purchase::update_project))
        .routes(routes!(purchase::award_project))
        .routes(routes!(purchase::sign_contract))
        .routes(routes!(contracts::show_contract))
        .routes(routes!(contracts::record_acceptance))
        .routes(routes!(contracts::acceptance_report))
        .routes(routes!(contracts::terminate_contract))
        .routes(routes!(contracts::file_contract))
        .routes(routes!(contracts::open_evaluation))
        .routes(routes!(contracts::list_evaluations))
        .routes(routes!(contracts::show_evaluation))
        .routes(routes!(contracts::score_evaluation))
        .routes(routes!(contracts::record_call))
        .routes(routes!(contracts::name_evaluator))
        .routes(routes!(contracts::publish_evaluation))
        .routes(routes!(payments::list_payable))
        .routes(routes!(payments::list_batches, payments::create_batch))
        .routes(routes!(payments::show_batch))
        .routes(routes!(payments::batch_file))
        .routes(routes!(payments::confirm_batch))
        .routes(routes!(visits::check_in))
        .routes(routes!(visits::check_out))
        .routes(routes!(visits::correct_visit))
        .routes(routes!(visits::my_day))
        .routes(routes!(visit_review::list_exceptions))
        .routes(routes!(visit_review::review_visit))
        .routes(routes!(visit_review::review_visits))
        .routes(routes!(orders::list_orders, orders::book_order))
        .routes(routes!(orders::cancel_order))
        .routes(routes!(orders::assign_order))
        .routes(routes!(orders::auto_dispatch))
        .routes(routes!(plans::list_plans, plans::create_plan))
        .routes(routes!(plans::end_plan))
        .routes(routes!(
            family_beds::list_family_beds,
            family_beds::create_family_bed
        ))
        .routes(routes!(family_beds::person_beds))
        .routes(routes!(family_beds::record_adaptation))
        .routes(routes!(family_beds::record_device))
        .routes(routes!(family_beds::end_family_bed))
        .routes(routes!(staff::list_staff, staff::hire))
        .routes(routes!(ratings::list_ratings, ratings::apply_rating))
        .routes(routes!(ratings::save_sheet))
        .routes(routes!(ratings::decide_rating))
        .routes(routes!(
            statements::list_statements,
            statements::run_statement
        ))
        .routes(routes!(statements::show_statement))
        .routes(routes!(statements::step_statement))
        .routes(routes!(statements::statement_xlsx))
        .routes(routes!(patrols::list_due))
        .routes(routes!(patrols::refresh_patrols))
        .routes(routes!(patrols::record_patrol))
        .routes(routes!(patrols::assign_visitor))
}

/// The OpenAPI document as served (paths prefixed with `/api/v1`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = OpenApiRouter::<AppState>::new()
        .nest("/api/v1", router())
        .split_for_parts();
    api
}

/// JSON 404 for unknown API paths.
pub async fn not_found() -> ApiError {
    ApiError(AppError::NotFound)
}

/// JSON 405 for a known path with the wrong method.
pub async fn method_not_allowed() -> impl IntoResponse {
    let body = ErrorEnvelope {
        error: ErrorBody {
            code: "method_not_allowed".into(),
            message: "该接口不支持这个请求方法".into(),
            field: None,
            fields: Vec::new(),
            request_id: crate::request::current_request_id(),
        },
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
}
