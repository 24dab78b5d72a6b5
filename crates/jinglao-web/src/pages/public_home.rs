//! The public front page at `/`: what an older person or a family member can do here, in big
//! buttons, and whom to call or visit — the bureau's hotline and address and how to object to
//! a notice, all per-region parameters of the area the public pages serve. Staff sign in from
//! a link; their work starts at `/home`.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use jinglao_domain::policy::PolicyKey;

use super::PageCtx;
use crate::error::{PageError, render};
use crate::state::AppState;

/// One big button.
pub struct Door {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub title: &'static str,
    /// One line under it.
    pub hint: &'static str,
    /// Its id (tests and the screen reader's landmarks).
    pub id: &'static str,
}

/// What the public can do, in the order people ask for it.
const DOORS: [Door; 7] = [
    Door {
        href: "/apply",
        title: "查一查能享受什么",
        hint: "回答几个简单问题，看看老人能享受哪些基本养老服务",
        id: "door-check",
    },
    Door {
        href: "/apply",
        title: "申请服务",
        hint: "先回答几个问题，再为符合条件的项目提交申请；村（社区）初审、乡镇（街道）审定",
        id: "door-apply",
    },
    Door {
        href: "/apply/status",
        title: "查办理进度",
        hint: "凭受理编号和老人的身份证号码查询",
        id: "door-status",
    },
    Door {
        href: "/institutions",
        title: "找养老机构",
        hint: "按地区、床位、星级和收费找养老院、日间照料中心和助餐点",
        id: "door-find",
    },
    Door {
        href: "/services",
        title: "预约和评价上门服务",
        hint: "为已享受上门服务的老人预约时间、取消预约、评价服务",
        id: "door-services",
    },
    Door {
        href: "/notices",
        title: "公示",
        hint: "审定通过的名单在这里公示，欢迎监督",
        id: "door-notices",
    },
    Door {
        href: "/open-data/purchase",
        title: "政府购买服务",
        hint: "购买项目公告、确定的承接主体、合同、验收和绩效评价结果",
        id: "door-purchase",
    },
];

/// The front page.
#[derive(Template)]
#[template(path = "public/front.html")]
pub struct FrontPage {
    ctx: PageCtx,
    area: String,
    doors: &'static [Door],
    hotline: String,
    address: String,
    notice_days: i64,
    appeal_days: i64,
}

/// `GET /`
pub async fn show(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, PageError> {
    let region = state.public_region();
    let book = jinglao_db::policy::book(&state.db).await?;
    render(&FrontPage {
        ctx,
        area: state.region_name(&region),
        doors: &DOORS,
        hotline: book.text(PolicyKey::ContactHotline, &region),
        address: book.text(PolicyKey::ContactAddress, &region),
        notice_days: book.int(PolicyKey::ApplicationNoticeDays, &region),
        appeal_days: book.int(PolicyKey::ApplicationAppealDays, &region),
    })
}
