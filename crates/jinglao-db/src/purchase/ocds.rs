//! The facts the OCDS publication is built from (`jinglao_domain::purchase::ocds`): for each
//! announced project its buyer, items with counted quantities, bidders, awards and contracts.
//! Organisations and money only: nothing here reads an older person's record.

use jinglao_domain::purchase::ocds::{AwardFact, ContractFact, ItemFact, Org, ProjectFacts};
use jinglao_domain::purchase::project::ProjectStatus;
use uuid::Uuid;

use super::projects::Project;
use super::{contracts, selection};
use crate::{Conn, DbError};

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
    // Who bid stays sealed while bids are still taken.
    let bids = if p.status == ProjectStatus::Tendering {
        Vec::new()
    } else {
        selection::bids(conn, p.id).await?
    };
    let awards = selection::awards(conn, p.id).await?;
    let contracts = contracts::of_project(conn, p.id).await?;
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
    Ok(ProjectFacts {
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
        tenderers: bids
            .iter()
            .map(|b| provider_org(b.provider_id, &b.provider_name, &b.credit_code))
            .collect(),
        awards: awards
            .iter()
            .map(|a| AwardFact {
                id: a.id.to_string(),
                date: a.decided_at,
                supplier: provider_org(a.provider_id, &a.provider_name, &a.credit_code),
                value_fen: a.value_fen,
                reason: a.reason.clone(),
            })
            .collect(),
        contracts: contracts
            .iter()
            .map(|c| ContractFact {
                id: c.id.to_string(),
                award_id: c.award_id.to_string(),
                number: c.input.contract_no.clone(),
                signed_on: c.input.signed_on,
                start: c.input.start,
                end: c.input.end,
                value_fen: c.input.ceiling_fen,
                terminated: c.status != "active",
                payments: Vec::new(),
            })
            .collect(),
    })
}
