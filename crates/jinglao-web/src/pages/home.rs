//! The home dashboard: what this account is, where it works, and the figures and links its
//! role needs.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, Timelike};
use jinglao_db::audit::{self, AuditFilter};
use jinglao_db::{providers, throttle, users};
use jinglao_domain::clock::{china_offset, format_local};
use jinglao_domain::{Permission, RegionLevel, Scope, SubtreeStats};

use super::PageCtx;
use crate::auth::PageUser;
use crate::error::{PageError, render};
use crate::state::AppState;

/// One entry of the recent-activity table.
pub struct ActivityRow {
    /// When (Beijing time).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Which record.
    pub record: String,
}

/// A quick link on the dashboard.
pub struct Task {
    /// Target.
    pub href: String,
    /// Title.
    pub title: &'static str,
    /// What it is for.
    pub description: String,
}

/// The dashboard.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    ctx: PageCtx,
    display_name: String,
    role_label: &'static str,
    role_name: &'static str,
    region_path: String,
    stats: Option<SubtreeStats>,
    provider_name: Option<String>,
    previous_login: Option<String>,
    account_counts: Vec<(&'static str, i64)>,
    locked_count: usize,
    audit_today: Option<i64>,
    recent: Vec<ActivityRow>,
    tasks: Vec<Task>,
    work: super::home_work::Work,
}

/// `GET /home`: the signed-in person's work page.
pub async fn show_home(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let a = &user.account;
    let now = state.clock.now();
    let tree = state.regions.tree();
    let region = tree.get_unscoped(&a.region_code).cloned();
    let mut path: Vec<String> = tree
        .ancestors(&a.region_code)
        .into_iter()
        .map(|r| r.name.clone())
        .collect();
    if let Some(r) = &region {
        path.push(r.name.clone());
    }
    let stats = match (&user.scope, &region) {
        (Scope::Region(_), Some(r))
            if r.level != RegionLevel::Village
                && user.can(jinglao_domain::Permission::ViewRegions) =>
        {
            Some(tree.stats(&r.code))
        }
        _ => None,
    };
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let provider_name = match user.scope.provider_id() {
        Some(p) => providers::get(&mut conn, &user.scope, p)
            .await?
            .map(|p| p.name),
        None => None,
    };

    let (account_counts, locked_count) = if user.can(Permission::ManageAccounts) {
        let counts = users::count_by_role(&mut conn, &user.scope)
            .await?
            .into_iter()
            .map(|(r, n)| (r.label(), n))
            .collect();
        (counts, throttle::locked(&mut conn, now).await?.len())
    } else {
        (Vec::new(), 0)
    };

    let own_logins = audit::list(
        &state.db,
        &Scope::All,
        &AuditFilter {
            actor_name: Some(a.username.as_str().to_string()),
            action: Some("auth.login".into()),
            ..AuditFilter::default()
        },
        2,
    )
    .await?;
    let previous_login = own_logins.get(1).map(|e| {
        format!(
            "{}，来自 {}",
            format_local(e.occurred_at),
            e.client_ip.clone().unwrap_or_else(|| "未知地址".into())
        )
    });

    let (audit_today, recent) = if user.can(Permission::ViewAudit) {
        let local = now.with_timezone(&china_offset());
        let midnight = now
            - Duration::seconds(local.num_seconds_from_midnight() as i64)
            - Duration::nanoseconds(local.nanosecond() as i64);
        let today = audit::count_since(&state.db, &user.scope, midnight).await?;
        let entries = audit::list(&state.db, &user.scope, &AuditFilter::default(), 8).await?;
        let ids: Vec<uuid::Uuid> = entries
            .iter()
            .flat_map(|e| {
                let record = e
                    .record_id
                    .as_deref()
                    .and_then(|r| uuid::Uuid::parse_str(r).ok());
                e.actor_id.into_iter().chain(record)
            })
            .collect();
        let names = audit::names_of(&mut conn, &ids).await?;
        let name_of = |id: Option<&str>| {
            id.and_then(|r| uuid::Uuid::parse_str(r).ok())
                .and_then(|id| names.get(&id).cloned())
        };
        let recent = entries
            .into_iter()
            .map(|e| ActivityRow {
                at: format_local(e.occurred_at),
                actor: e
                    .actor_id
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or(e.actor_name),
                action: super::audit::action_label(&e.action),
                record: name_of(e.record_id.as_deref()).unwrap_or_default(),
            })
            .collect();
        (Some(today), recent)
    } else {
        (None, Vec::new())
    };

    let work = super::home_work::load(&state, &user).await?;
    let mut tasks = Vec::new();
    if user.can(Permission::ViewRegions) {
        tasks.push(Task {
            href: format!("/regions/{}", a.region_code),
            title: "浏览行政区划",
            description: match &region {
                Some(r) => format!("查看{}及下辖区划、城乡分类", r.name),
                None => "查看下辖区划".into(),
            },
        });
    }
    if user.can(Permission::ScoreAsThirdParty) || user.can(Permission::EvaluateContracts) {
        tasks.push(Task {
            href: "/purchase/evaluations".into(),
            title: "绩效评价",
            description: "政府购买服务合同的年度绩效评价：查看履约情况、打分".into(),
        });
    }
    if user.can(Permission::ManageAccounts) {
        tasks.push(Task {
            href: "/admin/users".into(),
            title: "账号管理",
            description: "新建账号、调整角色与辖区、重置密码、解除锁定".into(),
        });
    }
    if user.can(Permission::ViewAudit) {
        tasks.push(Task {
            href: "/audit".into(),
            title: "审计日志",
            description: "查阅每一次修改和敏感查询，并校验日志是否被篡改".into(),
        });
    }
    tasks.push(Task {
        href: "/account".into(),
        title: "我的账号",
        description: "修改密码、切换大字模式".into(),
    });

    render(&HomePage {
        ctx,
        display_name: a.display_name.clone(),
        role_label: a.role.label(),
        role_name: a.role.as_str(),
        region_path: path.join(" › "),
        stats,
        provider_name,
        previous_login,
        account_counts,
        locked_count,
        audit_today,
        recent,
        tasks,
        work,
    })
}
