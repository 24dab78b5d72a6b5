//! A contract's performance, live (履约管理, 湘财社〔2015〕2号 八（五）): units delivered
//! against the quantity ceiling, money settled and paid against the money ceiling, the
//! verification exception rate, low ratings, satisfaction, the certificate coverage of the
//! caregivers who served, visits per person planned, and whether spending keeps pace with the
//! term. Every figure is a count over the platform's own records; nothing is typed in.

use chrono::NaiveDate;
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::purchase::contract::{Pace, pace};

use super::contracts::Contract;
use super::projects::Project;
use crate::{Conn, DbError, on_conn};

/// The figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Performance {
    /// Units delivered and settled (visits charged less those reversed).
    pub units: i64,
    /// The contract's quantity ceiling, if any.
    pub quantity_ceiling: Option<u64>,
    /// Settled under the contract (every statement, any state), fen.
    pub settled_fen: i64,
    /// Paid through the treasury, fen.
    pub paid_fen: i64,
    /// The money ceiling, fen.
    pub ceiling_fen: i64,
    /// Visits of the contract's items by the provider over the term (publicly funded), and
    /// how many ended in a verification exception or were rejected.
    pub visits: (i64, i64),
    /// People's own ratings of the contract's visits: how many, sum of stars, and how many
    /// were 1–2 stars.
    pub ratings: (i64, i64, i64),
    /// Caregivers who served under the contract, and how many hold a certificate.
    pub caregivers: (i64, i64),
    /// People served, and the people the project planned for.
    pub people: (i64, i64),
    /// Share of the term gone, percent.
    pub elapsed_percent: i64,
    /// Share of the ceiling settled, percent.
    pub spent_percent: i64,
    /// Pace of spending.
    pub pace: Pace,
    /// The allowed points either way.
    pub warning_points: i64,
}

impl Performance {
    /// Exceptions per hundred visits, one decimal, or `None` without visits.
    pub fn exception_rate(&self) -> Option<f64> {
        (self.visits.0 > 0)
            .then(|| (self.visits.1 as f64 * 1000.0 / self.visits.0 as f64).round() / 10.0)
    }

    /// Mean stars, one decimal.
    pub fn satisfaction(&self) -> Option<f64> {
        (self.ratings.0 > 0)
            .then(|| (self.ratings.1 as f64 * 10.0 / self.ratings.0 as f64).round() / 10.0)
    }

    /// Percent of caregivers certified.
    pub fn certified_percent(&self) -> Option<i64> {
        (self.caregivers.0 > 0).then(|| self.caregivers.1 * 100 / self.caregivers.0)
    }

    /// Visits per person served, one decimal.
    pub fn units_per_person(&self) -> Option<f64> {
        (self.people.0 > 0)
            .then(|| (self.units as f64 * 10.0 / self.people.0 as f64).round() / 10.0)
    }

    /// Plain sentences for what needs attention.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.pace {
            Pace::Ahead => out.push(format!(
                "资金支出进度 {}% 超过服务期进度 {}% 达 {} 个百分点以上，合同金额可能提前用完",
                self.spent_percent, self.elapsed_percent, self.warning_points
            )),
            Pace::Behind => out.push(format!(
                "资金支出进度 {}% 落后服务期进度 {}% 达 {} 个百分点以上，服务可能没有送到应服务的老人",
                self.spent_percent, self.elapsed_percent, self.warning_points
            )),
            Pace::OnPlan => {}
        }
        if let Some(q) = self.quantity_ceiling
            && self.units as u64 * 100 >= q * 90
        {
            out.push(format!(
                "已完成 {} 次，接近或超过合同数量上限 {} 次",
                self.units, q
            ));
        }
        if self.settled_fen * 100 >= self.ceiling_fen * 90 {
            out.push("已结算金额达到合同金额的 90%".into());
        }
        out
    }
}

/// The figures for a contract as of `today`.
pub async fn of_contract(
    conn: &mut Conn<'_>,
    contract: &Contract,
    project: &Project,
    today: NaiveDate,
) -> Result<Performance, DbError> {
    let id = contract.id;
    let (units, settled): (i64, i64) = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'charge' THEN 1 ELSE -1 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM statement_lines WHERE contract_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *c)
        .await
    })?;
    let paid: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM payment_batch_lines \
             WHERE contract_id = $1 AND status = 'paid'",
        )
        .bind(id)
        .fetch_one(&mut *c)
        .await
    })?;
    let items: Vec<String> = contract
        .input
        .prices
        .iter()
        .map(|p| p.item_code.clone())
        .collect();
    let mut visits = (0i64, 0i64);
    if !items.is_empty() {
        visits = on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT COUNT(*), COUNT(CASE WHEN status IN ('exception', 'rejected') THEN 1 END) \
                 FROM visits WHERE status <> 'in_progress' AND funding IN ('entitlement', 'voucher') \
                 AND provider_id = ",
            );
            q.push_bind(contract.provider_id)
                .push(" AND service_on BETWEEN ")
                .push_bind(contract.input.start)
                .push(" AND ")
                .push_bind(contract.input.end)
                .push(" AND item_code IN (");
            let mut sep = q.separated(", ");
            for i in &items {
                sep.push_bind(i.clone());
            }
            q.push(")");
            q.build_query_as::<(i64, i64)>().fetch_one(&mut *c).await
        })?;
    }
    let ratings: (i64, i64, i64) = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(score), 0) AS BIGINT), \
             COUNT(CASE WHEN score <= 2 THEN 1 END) FROM visit_ratings WHERE source = 'person' \
             AND visit_id IN (SELECT visit_id FROM statement_lines WHERE contract_id = $1 \
             AND kind = 'charge')",
        )
        .bind(id)
        .fetch_one(&mut *c)
        .await
    })?;
    let (caregivers, people): ((i64, i64), i64) = {
        let row: (i64, i64, i64) = on_conn!(conn, |c| {
            sqlx::query_as(
                "SELECT COUNT(DISTINCT v.caregiver_id), \
                 COUNT(DISTINCT CASE WHEN s.certificate_no <> '' THEN v.caregiver_id END), \
                 COUNT(DISTINCT v.elder_id) FROM statement_lines l \
                 JOIN visits v ON v.id = l.visit_id JOIN staff s ON s.id = v.caregiver_id \
                 WHERE l.contract_id = $1 AND l.kind = 'charge'",
            )
            .bind(id)
            .fetch_one(&mut *c)
            .await
        })?;
        ((row.0, row.1), row.2)
    };
    let planned: i64 = project
        .input
        .quantities
        .iter()
        .filter(|q| items.contains(&q.item_code))
        .map(|q| i64::from(q.people))
        .max()
        .unwrap_or(0);
    let book = crate::policy::load(conn).await?;
    let points = book.int(PolicyKey::PurchasePerformanceWarningPoints, &project.region);
    let term_days = (contract.input.end - contract.input.start).num_days() + 1;
    let gone = (today.min(contract.input.end) - contract.input.start).num_days() + 1;
    let elapsed_percent = (gone.max(0) * 100 / term_days.max(1)).clamp(0, 100);
    let spent_percent = settled.max(0) * 100 / contract.input.ceiling_fen.max(1);
    Ok(Performance {
        units,
        quantity_ceiling: contract.input.quantity_ceiling,
        settled_fen: settled,
        paid_fen: paid,
        ceiling_fen: contract.input.ceiling_fen,
        visits,
        ratings,
        caregivers,
        people: (people, planned),
        elapsed_percent,
        spent_percent,
        pace: pace(spent_percent, elapsed_percent, points),
        warning_points: points,
    })
}
