//! The facts the OCDS publication is built from (`jinglao_domain::purchase::ocds`): for each
//! announced project its buyer, items with counted quantities, bidders, awards, contracts and
//! the treasury payments made under them (OCDS implementation transactions), many projects in
//! a few queries.
//! Organisations and money only: nothing here reads an older person's record.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use jinglao_domain::clock::china_time;
use jinglao_domain::purchase::ocds::{
    AwardFact, ContractFact, ItemFact, Org, PaymentFact, ProjectFacts,
};
use jinglao_domain::purchase::project::ProjectStatus;
use uuid::Uuid;

use super::projects::Project;
use crate::{Conn, DbError, on_conn};

fn provider_org(id: Uuid, name: &str, credit_code: &Option<String>) -> Org {
    Org {
        id: match credit_code {
            Some(c) => format!("CN-SAMR-{c}"),
            None => format!("jinglao-provider-{id}"),
        },
        name: name.to_string(),
        credit_code: credit_code.clone(),
    }
}

/// The OCDS facts of `p` under the ocid prefix `prefix`; `item_names` maps service-list item
/// codes to their names.
pub async fn facts(
    conn: &mut Conn<'_>,
    prefix: &str,
    p: &Project,
    item_names: &jinglao_domain::service_list::ItemNames,
) -> Result<ProjectFacts, DbError> {
    let mut all = facts_many(conn, prefix, std::slice::from_ref(p), item_names).await?;
    all.pop().ok_or(DbError::NotFound)
}

#[derive(sqlx::FromRow)]
struct BidRow {
    project_id: Uuid,
    provider_id: Uuid,
    name: String,
    credit_code: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AwardRow {
    id: Uuid,
    project_id: Uuid,
    provider_id: Uuid,
    name: String,
    credit_code: Option<String>,
    value_fen: i64,
    reason: String,
    decided_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ContractRow {
    id: Uuid,
    project_id: Uuid,
    award_id: Uuid,
    contract_no: String,
    signed_on: NaiveDate,
    start_on: NaiveDate,
    end_on: NaiveDate,
    ceiling_fen: i64,
    status: String,
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    contract_id: Uuid,
    batch_no: String,
    seq: i32,
    paid_on: NaiveDate,
    amount_fen: i64,
    voucher_no: String,
}

/// Projects per query of [`facts_many`] (the `IN` list).
const CHUNK: usize = 500;

/// The OCDS facts of many projects at once, in their order: bidders, awards, contracts and
/// paid treasury lines read in four queries per 500 projects, not per project.
pub async fn facts_many(
    conn: &mut Conn<'_>,
    prefix: &str,
    projects: &[Project],
    item_names: &jinglao_domain::service_list::ItemNames,
) -> Result<Vec<ProjectFacts>, DbError> {
    let mut out = Vec::with_capacity(projects.len());
    for chunk in projects.chunks(CHUNK) {
        // Who bid stays sealed while bids are still taken.
        let open: Vec<Uuid> = chunk
            .iter()
            .filter(|p| p.status != ProjectStatus::Tendering)
            .map(|p| p.id)
            .collect();
        let ids: Vec<Uuid> = chunk.iter().map(|p| p.id).collect();
        let bids: Vec<BidRow> = if open.is_empty() {
            Vec::new()
        } else {
            on_conn!(&mut *conn, |c| {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT b.project_id, b.provider_id, p.name, p.credit_code FROM purchase_bids b \
                     JOIN providers p ON p.id = b.provider_id WHERE b.project_id IN ",
                );
                crate::scope_sql::push_id_list(&mut q, &open);
                q.push(" ORDER BY b.submitted_at, b.id");
                q.build_query_as::<BidRow>().fetch_all(&mut *c).await
            })?
        };
        let awards: Vec<AwardRow> = on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT a.id, a.project_id, a.provider_id, p.name, p.credit_code, a.value_fen, \
                 a.reason, a.decided_at FROM purchase_awards a \
                 JOIN providers p ON p.id = a.provider_id WHERE a.project_id IN ",
            );
            crate::scope_sql::push_id_list(&mut q, &ids);
            q.push(" ORDER BY a.decided_at, a.id");
            q.build_query_as::<AwardRow>().fetch_all(&mut *c).await
        })?;
        let contracts: Vec<ContractRow> = on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT id, project_id, award_id, contract_no, signed_on, start_on, end_on, \
                 ceiling_fen, status FROM purchase_contracts WHERE project_id IN ",
            );
            crate::scope_sql::push_id_list(&mut q, &ids);
            q.push(" ORDER BY created_at, id");
            q.build_query_as::<ContractRow>().fetch_all(&mut *c).await
        })?;
        let payments: Vec<PaymentRow> = on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT l.contract_id, b.batch_no, l.seq, l.paid_on, l.amount_fen, l.voucher_no \
                 FROM payment_batch_lines l JOIN payment_batches b ON b.id = l.batch_id \
                 JOIN purchase_contracts k ON k.id = l.contract_id \
                 WHERE l.status = 'paid' AND k.project_id IN ",
            );
            crate::scope_sql::push_id_list(&mut q, &ids);
            q.push(" ORDER BY l.paid_on, b.batch_no, l.seq");
            q.build_query_as::<PaymentRow>().fetch_all(&mut *c).await
        })?;
        let mut bids_of: HashMap<Uuid, Vec<Org>> = HashMap::new();
        for b in bids {
            bids_of.entry(b.project_id).or_default().push(provider_org(
                b.provider_id,
                &b.name,
                &b.credit_code,
            ));
        }
        let mut awards_of: HashMap<Uuid, Vec<AwardFact>> = HashMap::new();
        for a in awards {
            awards_of.entry(a.project_id).or_default().push(AwardFact {
                id: a.id.to_string(),
                date: a.decided_at,
                supplier: provider_org(a.provider_id, &a.name, &a.credit_code),
                value_fen: a.value_fen,
                reason: a.reason,
            });
        }
        let mut paid_of: HashMap<Uuid, Vec<PaymentFact>> = HashMap::new();
        for p in payments {
            paid_of.entry(p.contract_id).or_default().push(PaymentFact {
                id: format!("{}-{}", p.batch_no, p.seq),
                date: china_time(p.paid_on, NaiveTime::MIN),
                value_fen: p.amount_fen,
                reference: p.voucher_no,
            });
        }
        let mut contracts_of: HashMap<Uuid, Vec<ContractFact>> = HashMap::new();
        for k in contracts {
            contracts_of
                .entry(k.project_id)
                .or_default()
                .push(ContractFact {
                    id: k.id.to_string(),
                    award_id: k.award_id.to_string(),
                    number: k.contract_no,
                    signed_on: k.signed_on,
                    start: k.start_on,
                    end: k.end_on,
                    value_fen: k.ceiling_fen,
                    terminated: k.status != "active",
                    payments: paid_of.remove(&k.id).unwrap_or_default(),
                });
        }
        for p in chunk {
            out.push(assemble(
                prefix,
                p,
                item_names,
                bids_of.remove(&p.id).unwrap_or_default(),
                awards_of.remove(&p.id).unwrap_or_default(),
                contracts_of.remove(&p.id).unwrap_or_default(),
            ));
        }
    }
    Ok(out)
}

fn assemble(
    prefix: &str,
    p: &Project,
    item_names: &jinglao_domain::service_list::ItemNames,
    tenderers: Vec<Org>,
    awards: Vec<AwardFact>,
    contracts: Vec<ContractFact>,
) -> ProjectFacts {
    let items = p
        .input
        .item_codes
        .iter()
        .map(|code| {
            let lines: Vec<_> = p
                .input
                .quantities
                .iter()
                .filter(|q| q.item_code == *code)
                .collect();
            ItemFact {
                code: code.clone(),
                name: item_names.name(code).to_string(),
                quantity: lines.iter().map(|q| q.total_units()).sum(),
                unit: lines
                    .first()
                    .map(|q| q.unit.clone())
                    .unwrap_or_else(|| "次".into()),
            }
        })
        .collect();
    let description = if p.input.requirements.is_empty() {
        p.input.targets.clone()
    } else {
        format!(
            "{}\n承接主体要求：{}",
            p.input.targets, p.input.requirements
        )
    };
    ProjectFacts {
        ocid: format!("{prefix}-{}", p.id),
        title: p.input.title.clone(),
        description,
        buyer: Org {
            id: format!("jinglao-region-{}", p.region.as_str()),
            name: p.purchaser_name.clone(),
            credit_code: None,
        },
        budget_fen: p.input.budget_fen,
        funding: p.input.funding.label().to_string(),
        method: p.input.mode.ocds_method(),
        method_details: p.input.mode.label().to_string(),
        items,
        approved_at: p.approved_at,
        published_at: p.published_at,
        bid_deadline: p.bid_deadline,
        cancelled: p.status == ProjectStatus::Cancelled,
        tenderers,
        awards,
        contracts,
    }
}
