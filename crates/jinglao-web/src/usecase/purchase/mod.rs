//! Government purchase of services: the use cases shared by the purchase pages and the API —
//! the project's steps (submit, approve, return, announce), bids, the award, the contract, and
//! the public OCDS publication.

use chrono::{DateTime, Utc};
use jinglao_db::purchase::{ocds, projects};
use jinglao_db::service_lists;
use jinglao_domain::Scope;
use jinglao_domain::purchase::ocds as out;
use serde_json::Value;
use uuid::Uuid;

pub mod contracts;
pub mod notices;
pub mod payments;

use super::Acting;
use crate::error::AppError;
use crate::state::AppState;

/// A step in a project's review and announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The purchasing body sends it to finance.
    Submit,
    /// Finance approves it.
    Approve,
    /// Finance returns it, with the reason.
    Return(String),
    /// The purchasing body announces it, taking bids until the deadline.
    Publish(DateTime<Utc>),
}

impl Step {
    /// The step a form or the API names: `submit`, `approve`, `return` (with `reason`) or
    /// `publish` (with the bid deadline).
    pub fn parse(
        step: &str,
        reason: &str,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Step, jinglao_domain::Invalid> {
        use jinglao_domain::Invalid;
        Ok(match step.trim() {
            "submit" => Step::Submit,
            "approve" => Step::Approve,
            "return" => Step::Return(reason.trim().to_string()),
            "publish" => Step::Publish(
                deadline.ok_or_else(|| Invalid::one("bid_deadline", "请填写投标截止时间"))?,
            ),
            _ => {
                return Err(Invalid::one(
                    "step",
                    "应为 submit、approve、return 或 publish",
                ));
            }
        })
    }
}

/// Takes a step on a project in the caller's subtree.
pub async fn take_step(
    state: &AppState,
    who: &Acting,
    id: Uuid,
    step: Step,
) -> Result<projects::Project, AppError> {
    let w = who.write(state);
    Ok(match step {
        Step::Submit => projects::submit(&w, id).await?,
        Step::Approve => projects::decide(&w, id, true, "").await?,
        Step::Return(reason) => projects::decide(&w, id, false, &reason).await?,
        Step::Publish(deadline) => projects::publish(&w, id, deadline).await?,
    })
}

/// The most projects one page of the OCDS publication holds.
pub const OCDS_PAGE: i64 = 100;

/// One page (from 1) of the public OCDS publication: the releases, or the records, of the
/// announced projects, newest first, and whether there is a next page.
pub async fn ocds_page(
    state: &AppState,
    page: i64,
    records: bool,
) -> Result<(Value, bool), AppError> {
    let page = page.clamp(1, 100_000);
    let mut c = state.db.acquire().await?;
    let f = projects::Filter {
        public_only: true,
        offset: OCDS_PAGE * (page - 1),
        ..Default::default()
    };
    let mut all = projects::list(&mut c.conn(), &Scope::All, &f, OCDS_PAGE + 1).await?;
    let more = all.len() as i64 > OCDS_PAGE;
    all.truncate(OCDS_PAGE as usize);
    drop(c);
    let kind = if records { "records" } else { "releases" };
    let base = state.settings.public_url.clone().unwrap_or_default();
    let uri = format!("{base}/open-data/ocds/{kind}.json?page={page}");
    let packaging = if records {
        Packaging::Records
    } else {
        Packaging::Releases
    };
    Ok((package_of(state, &all, packaging, &uri).await?, more))
}

/// The most projects the bulk download holds.
pub const OCDS_BULK_MAX: i64 = 100_000;

/// Every announced project's record in one record package (the bulk download), built at most
/// every few minutes. The build runs in a task of its own: a caller who hangs up (or times out)
/// does not cancel it, so its result is cached for the next caller instead of being thrown
/// away and started again.
pub async fn ocds_bulk(state: &AppState) -> Result<axum::body::Bytes, AppError> {
    let state = state.clone();
    tokio::spawn(async move { build_bulk(&state).await })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("bulk OCDS task: {e}")))?
}

async fn build_bulk(state: &AppState) -> Result<axum::body::Bytes, AppError> {
    state
        .ocds_bulk
        .get_or_build(state.clock.now(), async || {
            let mut c = state.db.acquire().await?;
            let f = projects::Filter {
                public_only: true,
                ..Default::default()
            };
            let all = projects::list(&mut c.conn(), &Scope::All, &f, OCDS_BULK_MAX).await?;
            drop(c);
            let base = state.settings.public_url.clone().unwrap_or_default();
            let uri = format!("{base}/open-data/ocds/bulk/records.json");
            let mut c = state.db.acquire().await?;
            let names = service_lists::item_names(&mut c.conn()).await?;
            let facts =
                ocds::facts_many(&mut c.conn(), &state.settings.ocds_prefix, &all, &names).await?;
            drop(c);
            let projects: Vec<(out::ProjectFacts, String)> = facts
                .into_iter()
                .zip(&all)
                .map(|(f, p)| (f, project_releases_url(state, p.id)))
                .collect();
            let (now, publisher) = (state.clock.now(), state.settings.ocds_publisher.clone());
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            // Seconds of CPU for a big year: off the async workers.
            let text = tokio::task::spawn_blocking(move || {
                out::linked_record_package_text(&uri, now, &publisher, &projects, threads)
            })
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("bulk OCDS: {e}")))?;
            Ok::<_, AppError>(axum::body::Bytes::from(text))
        })
        .await
}

/// How [`package_of`] packages the projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packaging {
    /// A release package of every release.
    Releases,
    /// A record package, each record with its releases embedded.
    Records,
}

/// The address of one project's release package.
fn project_releases_url(state: &AppState, id: Uuid) -> String {
    let base = state.settings.public_url.clone().unwrap_or_default();
    format!("{base}/open-data/ocds/projects/{id}/releases.json")
}

/// The package of `all`.
async fn package_of(
    state: &AppState,
    all: &[projects::Project],
    packaging: Packaging,
    uri: &str,
) -> Result<Value, AppError> {
    let mut c = state.db.acquire().await?;
    let names = service_lists::item_names(&mut c.conn()).await?;
    let facts = ocds::facts_many(&mut c.conn(), &state.settings.ocds_prefix, all, &names).await?;
    drop(c);
    let mut items = Vec::new();
    for f in &facts {
        let rs = out::releases(f);
        match packaging {
            Packaging::Releases => items.extend(rs),
            Packaging::Records => items.push(out::record(&f.ocid, rs)),
        }
    }
    let publisher = state.settings.ocds_publisher.clone();
    Ok(if packaging == Packaging::Releases {
        out::release_package(uri, state.clock.now(), &publisher, items)
    } else {
        out::record_package(uri, state.clock.now(), &publisher, items)
    })
}

/// One announced project's releases as a release package (what the bulk download's records
/// link to), or `None` when there is no such public project.
pub async fn ocds_project_releases(state: &AppState, id: Uuid) -> Result<Option<Value>, AppError> {
    let mut c = state.db.acquire().await?;
    let Some(p) = projects::get_public(&mut c.conn(), id).await? else {
        return Ok(None);
    };
    drop(c);
    let uri = project_releases_url(state, id);
    Ok(Some(
        package_of(state, std::slice::from_ref(&p), Packaging::Releases, &uri).await?,
    ))
}
