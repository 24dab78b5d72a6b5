//! The work on a staff member's home page: what is waiting for their role, counted within their
//! scope, each count a link to the list it counts; deadlines near or past in red; key figures;
//! and what changed since yesterday.

use chrono::Duration;
use jinglao_db::worklist::{self, WorkCounts};
use jinglao_domain::Role;

use crate::auth::CurrentUser;
use crate::error::PageError;
use crate::state::AppState;

/// Days ahead in which an application's deadline counts as 即将超期 (today and the next two).
pub const SOON_DAYS: i64 = 2;

/// One count on the home page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// What it counts, in the clerk's words.
    pub label: &'static str,
    /// How many.
    pub count: i64,
    /// The list it counts.
    pub href: &'static str,
    /// A deadline is near or past: shown in red while the count is above zero.
    pub urgent: bool,
    /// Its id on the page.
    pub id: &'static str,
}

/// A figure of the region (not work, but what the role watches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// What.
    pub label: &'static str,
    /// Its value, in words.
    pub value: String,
}

/// Everything the work section shows.
pub struct Work {
    /// To-do counts, most pressing first.
    pub tiles: Vec<Tile>,
    /// Key figures.
    pub figures: Vec<Figure>,
    /// What was done since yesterday: (action in words, how many times).
    pub changes: Vec<(String, i64)>,
}

/// The tiles a role works from, in the order the role works them.
pub fn tiles_for(role: Role, w: &WorkCounts) -> Vec<Tile> {
    let t = |id, label, count, href, urgent| Tile {
        label,
        count,
        href,
        urgent,
        id,
    };
    let overdue = t(
        "todo-overdue",
        "已超期的申请",
        w.overdue,
        "/applications?overdue=1",
        true,
    );
    let soon = t(
        "todo-due-soon",
        "即将超期的申请",
        w.due_soon,
        "/applications?soon=1",
        true,
    );
    let to_review = t(
        "todo-review",
        "待初审的申请",
        w.to_review,
        "/applications?status=submitted",
        false,
    );
    let to_decide = t(
        "todo-decide",
        "待审定的申请",
        w.to_decide,
        "/applications?status=village_approved",
        false,
    );
    let appealed = t(
        "todo-appealed",
        "复核中的申请",
        w.appealed,
        "/applications?status=appealed",
        false,
    );
    let in_notice = t(
        "todo-notice",
        "公示中的申请",
        w.in_notice,
        "/applications?status=in_notice",
        false,
    );
    let returned = t(
        "todo-returned",
        "退回补正的申请",
        w.returned,
        "/applications?status=returned",
        false,
    );
    let visits = t(
        "todo-visits",
        "待核查的上门服务",
        w.visit_exceptions,
        "/visits/exceptions",
        false,
    );
    let patrols = t(
        "todo-patrols",
        "今日应巡访",
        w.patrols_due,
        "/patrols",
        w.patrols_late > 0,
    );
    let reassess = t(
        "todo-reassess",
        "逾期未复评",
        w.reassessments_due,
        "/assessments/due",
        true,
    );
    let to_confirm = t(
        "todo-statements-draft",
        "待确认的结算单",
        w.statements_draft,
        "/statements",
        false,
    );
    let disputed = t(
        "todo-statements-disputed",
        "机构有异议的结算单",
        w.statements_disputed,
        "/statements",
        false,
    );
    let to_approve = t(
        "todo-statements-confirmed",
        "待审核的结算单",
        w.statements_confirmed,
        "/statements",
        false,
    );
    let to_pay = t(
        "todo-statements-approved",
        "待拨付的结算单",
        w.statements_approved,
        "/payment-batches",
        false,
    );
    let projects = t(
        "todo-projects-submitted",
        "待审核的购买项目",
        w.projects_submitted,
        "/purchase/projects?status=submitted",
        false,
    );
    let batches = t(
        "todo-batches-open",
        "等待国库确认的支付批次",
        w.batches_open,
        "/payment-batches",
        false,
    );
    let evaluations = t(
        "todo-evaluations",
        "待评分的绩效评价",
        w.evaluations_to_score,
        "/purchase/evaluations",
        false,
    );
    match role {
        Role::VillageStaff => vec![overdue, soon, to_review, returned, patrols, reassess],
        Role::TownshipStaff => vec![
            overdue, soon, to_decide, appealed, to_review, in_notice, visits, patrols, reassess,
        ],
        Role::CountyStaff | Role::CityStaff => vec![
            overdue, soon, to_decide, appealed, in_notice, visits, to_approve, disputed,
        ],
        Role::Finance => vec![projects, to_approve, to_pay, batches, disputed],
        Role::ProviderAdmin => vec![to_confirm, visits],
        Role::Inspector => vec![visits, overdue],
        Role::Assessor => vec![reassess],
        Role::Evaluator => vec![evaluations],
        Role::Admin | Role::Caregiver | Role::Auditor => Vec::new(),
    }
}

/// The key figures a role watches.
fn figures_for(role: Role, w: &WorkCounts) -> Vec<Figure> {
    let beds = Figure {
        label: "空余床位",
        value: format!("{} 张（共 {} 张）", w.beds_free, w.beds_total),
    };
    match role {
        Role::ProviderAdmin | Role::CountyStaff | Role::CityStaff | Role::TownshipStaff => {
            vec![beds]
        }
        _ => Vec::new(),
    }
}

/// The work of the signed-in person.
pub async fn load(state: &AppState, user: &CurrentUser) -> Result<Work, PageError> {
    let role = user.account.role;
    let today = state.today();
    let now = state.clock.now();
    let mut c = state.db.acquire().await?;
    // A third-party evaluator's work is the evaluations it is named on, nothing in a region.
    let counts = if role == Role::Evaluator {
        let named =
            jinglao_db::purchase::evaluations::named_on(&mut c.conn(), user.account.id).await?;
        WorkCounts {
            evaluations_to_score: named.iter().filter(|(e, ..)| !e.is_published()).count() as i64,
            ..WorkCounts::default()
        }
    } else {
        worklist::counts(
            &mut c.conn(),
            &user.scope,
            today,
            today + Duration::days(SOON_DAYS),
        )
        .await?
    };
    let changes = if matches!(role, Role::Caregiver | Role::Evaluator) {
        Vec::new()
    } else {
        worklist::changes_since(&mut c.conn(), &user.scope, now - Duration::days(1))
            .await?
            .into_iter()
            .map(|(action, n)| (super::audit::action_label(&action), n))
            .collect()
    };
    Ok(Work {
        tiles: tiles_for(role, &counts),
        figures: figures_for(role, &counts),
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_village_clerk_sees_first_reviews_and_deadlines_first_and_no_statements() {
        let w = WorkCounts {
            to_review: 3,
            overdue: 1,
            statements_confirmed: 9,
            ..WorkCounts::default()
        };
        let tiles = tiles_for(Role::VillageStaff, &w);
        assert_eq!(tiles[0].label, "已超期的申请");
        assert!(tiles[0].urgent);
        assert!(
            tiles
                .iter()
                .any(|t| t.label == "待初审的申请" && t.count == 3)
        );
        assert!(tiles.iter().all(|t| !t.href.starts_with("/statements")));
    }

    #[test]
    fn finance_sees_projects_to_review_statements_to_approve_and_to_pay_and_batches_out() {
        let w = WorkCounts {
            projects_submitted: 1,
            statements_confirmed: 2,
            statements_approved: 5,
            batches_open: 3,
            ..WorkCounts::default()
        };
        let labels: Vec<(&str, i64)> = tiles_for(Role::Finance, &w)
            .iter()
            .map(|t| (t.label, t.count))
            .collect();
        assert_eq!(
            labels,
            [
                ("待审核的购买项目", 1),
                ("待审核的结算单", 2),
                ("待拨付的结算单", 5),
                ("等待国库确认的支付批次", 3),
                ("机构有异议的结算单", 0)
            ]
        );
    }
}
