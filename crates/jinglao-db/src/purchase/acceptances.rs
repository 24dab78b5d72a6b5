//! Acceptances of contracts (履约验收): recorded by the purchasing body with the third party's
//! report kept as a stored file; read by the payment batch, which pays a contract's final
//! month (every month of a milestone contract) only once an acceptance clears it.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::entitlement::evidence::check;
use jinglao_domain::purchase::acceptance::{
    AcceptanceDraft, AcceptanceFact, AcceptanceInput, AcceptanceKind, AcceptanceResult,
};
use jinglao_domain::purchase::project::ProjectStatus;
use jinglao_domain::{Invalid, Permission};
use serde_json::json;
use uuid::Uuid;

use super::{contracts, projects};
use crate::audit::{self, Event};
use crate::entitlement::evidence::{load, store};
use crate::{Conn, DbError, WriteCtx, on_conn};

/// The third party's report, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Name as uploaded.
    pub name: String,
    /// MIME type (from the content).
    pub content_type: String,
    /// Bytes.
    pub bytes: i64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// A recorded acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    /// Id.
    pub id: Uuid,
    /// Contract.
    pub contract_id: Uuid,
    /// What was recorded.
    pub input: AcceptanceInput,
    /// The report, if one was attached.
    pub report: Option<Report>,
    /// Recorded at.
    pub recorded_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    contract_id: Uuid,
    kind: String,
    period_end: NaiveDate,
    inspected_on: NaiveDate,
    inspectors: String,
    third_party: String,
    findings: String,
    result: String,
    deduction_fen: i64,
    report_name: Option<String>,
    report_type: Option<String>,
    report_bytes: Option<i64>,
    report_sha256: Option<String>,
    recorded_at: DateTime<Utc>,
}

impl TryFrom<Row> for Acceptance {
    type Error = DbError;
    fn try_from(r: Row) -> Result<Self, DbError> {
        let kind = AcceptanceKind::parse(&r.kind)
            .ok_or_else(|| DbError::Corrupt(format!("acceptance kind {}", r.kind)))?;
        let result = AcceptanceResult::parse(&r.result)
            .ok_or_else(|| DbError::Corrupt(format!("acceptance result {}", r.result)))?;
        let report = match (
            r.report_name,
            r.report_type,
            r.report_bytes,
            r.report_sha256,
        ) {
            (Some(name), Some(content_type), Some(bytes), Some(sha256)) => Some(Report {
                name,
                content_type,
                bytes,
                sha256,
            }),
            _ => None,
        };
        Ok(Acceptance {
            id: r.id,
            contract_id: r.contract_id,
            input: AcceptanceInput {
                kind,
                period_end: r.period_end,
                inspected_on: r.inspected_on,
                inspectors: r.inspectors,
                third_party: r.third_party,
                findings: r.findings,
                result,
                deduction_fen: r.deduction_fen,
            },
            report,
            recorded_at: r.recorded_at,
        })
    }
}

/// A contract's acceptances in the order recorded.
pub async fn list(conn: &mut Conn<'_>, contract_id: Uuid) -> Result<Vec<Acceptance>, DbError> {
    let rows: Vec<Row> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, contract_id, kind, period_end, inspected_on, inspectors, third_party, \
             findings, result, deduction_fen, report_name, report_type, report_bytes, \
             report_sha256, recorded_at FROM purchase_acceptances WHERE contract_id = $1 \
             ORDER BY recorded_at, id",
        )
        .bind(contract_id)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter().map(Acceptance::try_from).collect()
}

/// What the payment gate needs of a contract's acceptances, in the order recorded.
pub async fn facts(conn: &mut Conn<'_>, contract_id: Uuid) -> Result<Vec<AcceptanceFact>, DbError> {
    Ok(list(conn, contract_id)
        .await?
        .into_iter()
        .map(|a| AcceptanceFact {
            id: a.id,
            kind: a.input.kind,
            period_end: a.input.period_end,
            result: a.input.result,
            inspected_on: a.input.inspected_on,
            deduction_fen: a.input.deduction_fen,
        })
        .collect())
}

/// The most bytes a report may have.
pub const MAX_REPORT_BYTES: usize = 10 * 1024 * 1024;

/// Records an acceptance of a contract in the caller's subtree, with the third party's report
/// (PDF, JPEG or PNG, stored under `root` before the row is written). A final acceptance that
/// is not a rejection closes the contract (已终期验收) and, once every contract of the project
/// is closed, the project (已验收). One transaction, audited.
pub async fn record(
    w: &WriteCtx<'_>,
    root: &Path,
    contract_id: Uuid,
    draft: &AcceptanceDraft,
    report: Option<(&str, &[u8])>,
) -> Result<Uuid, DbError> {
    if !w.actor.may(Permission::PlanPurchases) || w.actor.scope.provider_id().is_some() {
        return Err(DbError::Forbidden("登记履约验收".into()));
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let (contract, project) = contracts::get(&mut conn, &w.actor.scope, contract_id)
        .await?
        .ok_or(DbError::NotFound)?;
    // A contract ended early is still accepted for the service it gave (its last payment
    // waits for that); a contract accepted at its end takes no more.
    if contract.status == "accepted" {
        return Err(Invalid::one(
            "status",
            format!("合同{}，不再登记验收", contract.status_label()),
        )
        .into());
    }
    contracts::lock(&mut conn, contract_id).await?;
    let today = jinglao_domain::clock::china_date(w.now);
    let input = draft.parse(
        (contract.input.start, contract.last_day()),
        contract.input.ceiling_fen,
        today,
    )?;
    let stored = match report {
        None => None,
        Some((name, bytes)) => {
            if bytes.len() > MAX_REPORT_BYTES {
                return Err(Invalid::one("report", "验收报告不超过 10 MB").into());
            }
            let ty = check(bytes).map_err(|m| Invalid::one("report", m))?;
            let sha = store(root, bytes).await?;
            Some(Report {
                name: name.trim().chars().take(200).collect(),
                content_type: ty.mime().to_string(),
                bytes: bytes.len() as i64,
                sha256: sha,
            })
        }
    };
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_acceptances (id, contract_id, kind, period_end, inspected_on, \
             inspectors, third_party, findings, result, deduction_fen, report_name, report_type, \
             report_bytes, report_sha256, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(id)
        .bind(contract_id)
        .bind(input.kind.as_str())
        .bind(input.period_end)
        .bind(input.inspected_on)
        .bind(&input.inspectors)
        .bind(&input.third_party)
        .bind(&input.findings)
        .bind(input.result.as_str())
        .bind(input.deduction_fen)
        .bind(stored.as_ref().map(|r| r.name.clone()))
        .bind(stored.as_ref().map(|r| r.content_type.clone()))
        .bind(stored.as_ref().map(|r| r.bytes))
        .bind(stored.as_ref().map(|r| r.sha256.clone()))
        .bind(w.actor.user_id)
        .bind(w.now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    if input.kind == AcceptanceKind::Final && input.result != AcceptanceResult::Rejected {
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "UPDATE purchase_contracts SET status = 'accepted' WHERE id = $1 AND status = 'active'",
            )
                .bind(contract_id)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        let open: i64 = on_conn!(&mut conn, |c| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM purchase_contracts WHERE project_id = $1 AND status = 'active'",
            )
            .bind(project.id)
            .fetch_one(&mut *c)
            .await
        })?;
        if open == 0 && project.status == ProjectStatus::Contracted {
            projects::set_status(
                &mut conn,
                project.id,
                ProjectStatus::Contracted,
                ProjectStatus::Accepted,
                w.now,
            )
            .await?;
        }
    }
    let event = Event::new("purchase_contract.accept", "purchase_project", project.id)
        .region(Some(project.region))
        .detail(json!({
            "contract_no": contract.input.contract_no, "acceptance": id,
            "kind": input.kind.as_str(), "period_end": input.period_end,
            "result": input.result.as_str(), "deduction_fen": input.deduction_fen,
            "report_sha256": stored.as_ref().map(|r| r.sha256.clone()),
        }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(id)
}

/// The report of an acceptance of a contract visible in `scope`, checked against its
/// checksum.
pub async fn read_report(
    conn: &mut Conn<'_>,
    scope: &jinglao_domain::Scope,
    root: &Path,
    contract_id: Uuid,
    acceptance_id: Uuid,
) -> Result<(Report, Vec<u8>), DbError> {
    contracts::get(conn, scope, contract_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let report = list(conn, contract_id)
        .await?
        .into_iter()
        .find(|a| a.id == acceptance_id)
        .and_then(|a| a.report)
        .ok_or(DbError::NotFound)?;
    let bytes = load(root, &report.sha256, &format!("验收报告 {}", report.name)).await?;
    Ok((report, bytes))
}
