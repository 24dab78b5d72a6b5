//! The public notices of government purchase (公开信息, 湘财社〔2015〕2号 八（二）: 向社会详细公开需
//! 购买的服务项目、数量和质量标准、对承接主体的要求、绩效评价标准等内容): every announced project with
//! its content, quantities, budget, requirements, criteria and deadline, and — as it goes on —
//! the award, the contracts, their acceptances and the published evaluation. Organisations,
//! counts and money only: no person, and no bid before the deadline.

use chrono::{DateTime, Utc};
use jinglao_db::purchase::{acceptances, contracts, evaluations, projects, selection};
use jinglao_domain::Scope;
use uuid::Uuid;

use crate::error::AppError;
use crate::state::AppState;

/// A contract as the public sees it.
pub struct PublicContract {
    /// Number.
    pub contract_no: String,
    /// Provider.
    pub provider_name: String,
    /// Money ceiling, fen.
    pub ceiling_fen: i64,
    /// Term.
    pub term: String,
    /// Its state in words.
    pub status: &'static str,
    /// Acceptances: date, kind and result in words.
    pub acceptances: Vec<String>,
    /// Published evaluations: year, total, grade.
    pub evaluations: Vec<(i32, String, &'static str)>,
}

/// A project as the public sees it.
pub struct PublicProject {
    /// The project.
    pub project: projects::Project,
    /// Service-list item names.
    pub items: Vec<String>,
    /// Regions by name.
    pub regions: Vec<String>,
    /// Bids received, once the deadline has passed.
    pub bids: Option<usize>,
    /// Awards: provider and value in fen.
    pub awards: Vec<(String, i64)>,
    /// Contracts.
    pub contracts: Vec<PublicContract>,
}

/// Announced projects, newest first (at most 500).
pub async fn list(state: &AppState) -> Result<Vec<projects::Project>, AppError> {
    let mut c = state.db.acquire().await?;
    let f = projects::Filter {
        public_only: true,
        ..Default::default()
    };
    Ok(projects::list(&mut c.conn(), &Scope::All, &f, 500).await?)
}

/// One announced project; `None` for a project the public may not see (the same answer as a
/// project that does not exist).
pub async fn show(
    state: &AppState,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<PublicProject>, AppError> {
    let mut c = state.db.acquire().await?;
    let Some(project) = projects::get(&mut c.conn(), &Scope::All, id).await? else {
        return Ok(None);
    };
    if !project.status.is_public() {
        return Ok(None);
    }
    let names = jinglao_db::service_lists::item_names(&mut c.conn()).await?;
    let closed = project.bid_deadline.is_some_and(|d| d <= now);
    let bids = if closed {
        Some(selection::bids(&mut c.conn(), id).await?.len())
    } else {
        None
    };
    let awards = selection::awards(&mut c.conn(), id)
        .await?
        .into_iter()
        .map(|a| (a.provider_name, a.value_fen))
        .collect();
    let mut out = Vec::new();
    for k in contracts::of_project(&mut c.conn(), id).await? {
        let provider_name = jinglao_db::providers::get(&mut c.conn(), &Scope::All, k.provider_id)
            .await?
            .map(|p| p.name)
            .unwrap_or_default();
        let accepted = acceptances::list(&mut c.conn(), k.id)
            .await?
            .into_iter()
            .map(|a| {
                format!(
                    "{} {}：{}",
                    a.input.inspected_on,
                    a.input.kind.label(),
                    a.input.result.label()
                )
            })
            .collect();
        let evaluated = evaluations::of_contract(&mut c.conn(), k.id)
            .await?
            .into_iter()
            .filter(|e| e.is_published())
            .map(|e| {
                let t = e.total_tenths.unwrap_or(0).max(0);
                (
                    e.year,
                    format!("{}.{}", t / 10, t % 10),
                    e.grade.map_or("", |g| g.label()),
                )
            })
            .collect();
        out.push(PublicContract {
            status: k.status_label(),
            contract_no: k.input.contract_no.clone(),
            ceiling_fen: k.input.ceiling_fen,
            term: format!("{} 至 {}", k.input.start, k.input.end),
            provider_name,
            acceptances: accepted,
            evaluations: evaluated,
        });
    }
    Ok(Some(PublicProject {
        items: project
            .input
            .item_codes
            .iter()
            .map(|code| names.name(code).to_string())
            .collect(),
        regions: project
            .input
            .regions
            .iter()
            .map(|r| state.region_path(r))
            .collect(),
        bids,
        awards,
        contracts: out,
        project,
    }))
}
