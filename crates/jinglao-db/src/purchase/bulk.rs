//! Government purchases generated in bulk for the benchmarks: projects awarded and contracted
//! (one contract per provider), and months of treasury payments under them, written as the
//! procedure would have left them (approved, announced, awarded, contracted, filed; statements
//! paid through confirmed batch lines). Multi-row inserts in the caller's transaction; not
//! audited (benchmark data only).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use jinglao_domain::purchase::contract::{ContractDraft, ContractInput};
use jinglao_domain::purchase::project::{ProjectDraft, ProjectInput};
use uuid::Uuid;

use crate::{Conn, DbError, on_conn};

/// A contract made by [`contracts_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracted {
    /// The project.
    pub project_id: Uuid,
    /// The contract.
    pub contract_id: Uuid,
    /// The provider it is with.
    pub provider_id: Uuid,
}

const REGION: &str = "430302000000";
const ITEMS: [&str; 2] = ["XT-JJ-01", "XT-ZH-02"];

fn invalid(e: jinglao_domain::Invalid) -> DbError {
    DbError::Corrupt(format!("benchmark purchase data: {e}"))
}

fn project_input(
    n: usize,
    providers: usize,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<ProjectInput, DbError> {
    ProjectDraft {
        year: start.year().to_string(),
        title: format!("基准测试购买项目{n:05}"),
        catalogue_code: "BENCH-01".into(),
        item_codes: ITEMS.iter().map(|s| s.to_string()).collect(),
        regions: vec![REGION.into()],
        quantities: ITEMS
            .iter()
            .map(|i| (i.to_string(), "300".into(), "40".into(), "次".into()))
            .collect(),
        price_basis: "基准测试".into(),
        budget_yuan: format!("{}", 600_000 * providers),
        funding: "budget".into(),
        mode: if providers > 1 {
            "elder_choice"
        } else {
            "inquiry"
        }
        .into(),
        targets: "满意度不低于 90%".into(),
        criteria: if providers > 1 {
            vec![
                ("价格".into(), "40".into()),
                ("服务方案".into(), "60".into()),
            ]
        } else {
            Vec::new()
        },
        term_start: start.to_string(),
        term_end: end.to_string(),
        ..Default::default()
    }
    .parse()
    .map_err(invalid)
}

fn contract_input(no: String, start: NaiveDate, end: NaiveDate) -> Result<ContractInput, DbError> {
    ContractDraft {
        contract_no: no,
        scope: "基准测试".into(),
        prices: vec![
            ("XT-JJ-01".into(), "45".into(), "30".into(), String::new()),
            ("XT-ZH-02".into(), "12".into(), "0".into(), String::new()),
        ],
        ceiling_yuan: "600000".into(),
        quality: "按服务规范".into(),
        start: start.to_string(),
        end: end.to_string(),
        payment_terms: "monthly_verified".into(),
        breach_terms: "按次扣减".into(),
        signed_on: start.to_string(),
        payee_bank: "基准测试银行".into(),
        payee_account: "6222020000000000001".into(),
        ..Default::default()
    }
    .parse(&ITEMS.map(String::from), 60_000_000, start)
    .map_err(invalid)
}

/// `n` providers registered in 雨湖区 (benchmark organisations with made-up credit codes).
pub async fn providers(
    conn: &mut Conn<'_>,
    n: usize,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbError> {
    let ids: Vec<(usize, Uuid)> = (0..n).map(|i| (i, Uuid::now_v7())).collect();
    for chunk in ids.chunks(1_000) {
        on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO providers (id, name, credit_code, region_code, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, (i, id)| {
                b.push_bind(*id)
                    .push_bind(format!("基准承接主体{i:05}"))
                    .push_bind(format!("BENCHP{i:012}"))
                    .push_bind(REGION)
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

/// One project per group of providers, each provider awarded and contracted over
/// `start`–`end` (one catalogue version for them all). Returns the contracts in order.
pub async fn contracts_for(
    conn: &mut Conn<'_>,
    groups: &[Vec<Uuid>],
    start: NaiveDate,
    end: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Contracted>, DbError> {
    let catalogue = Uuid::now_v7();
    let version = crate::versions::next(
        &mut *conn,
        crate::versions::Versioned::PurchaseCatalogues,
        "430300000000",
    )
    .await?;
    on_conn!(&mut *conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_catalogues (id, region_code, version, basis, published_at) \
             VALUES ($1, '430300000000', $2, '基准测试目录', $3)",
        )
        .bind(catalogue)
        .bind(version)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    on_conn!(&mut *conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_catalogue_entries (catalogue_id, position, code, name, category, \
             nature, content, item_codes) VALUES ($1, 1, 'BENCH-01', '居家上门服务', 'home_care', \
             'public_service', '基准测试', $2)",
        )
        .bind(catalogue)
        .bind(ITEMS.join(","))
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    let mut out = Vec::new();
    let mut projects = Vec::new();
    let mut awards = Vec::new();
    for (n, group) in groups.iter().enumerate() {
        let input = project_input(n, group.len(), start, end)?;
        let body = serde_json::to_string(&input).unwrap_or_default();
        let project = Uuid::now_v7();
        projects.push((project, input, body));
        for provider in group {
            let bid = Uuid::now_v7();
            let award = Uuid::now_v7();
            let contract = Uuid::now_v7();
            let k = contract_input(format!("基准合同{}", contract.simple()), start, end)?;
            awards.push((project, *provider, bid, award, contract, k));
            out.push(Contracted {
                project_id: project,
                contract_id: contract,
                provider_id: *provider,
            });
        }
    }
    for chunk in projects.chunks(500) {
        on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO purchase_projects (id, region_code, purchaser_name, year, version, \
                 status, catalogue_id, catalogue_code, title, mode, funding, budget_fen, body, \
                 bid_deadline, submitted_at, approved_at, published_at, awarded_at, created_at, \
                 updated_at) ",
            );
            q.push_values(chunk, |mut b, (id, input, body)| {
                b.push_bind(*id)
                    .push_bind(REGION)
                    .push_bind("基准测试民政局")
                    .push_bind(input.year)
                    .push_bind(1i32)
                    .push_bind("contracted")
                    .push_bind(catalogue)
                    .push_bind("BENCH-01")
                    .push_bind(&input.title)
                    .push_bind(input.mode.as_str())
                    .push_bind(input.funding.as_str())
                    .push_bind(input.budget_fen)
                    .push_bind(body)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    for chunk in awards.chunks(500) {
        on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO purchase_bids (id, project_id, provider_id, price_fen, qualified, \
                 priority, gaps, note, submitted_at) ",
            );
            q.push_values(chunk, |mut b, (project, provider, bid, _, _, _)| {
                b.push_bind(*bid)
                    .push_bind(*project)
                    .push_bind(*provider)
                    .push_bind(60_000_000i64)
                    .push_bind(true)
                    .push_bind(false)
                    .push_bind("[]")
                    .push_bind("")
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
        on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO purchase_awards (id, project_id, bid_id, provider_id, value_fen, rank, \
                 reason, decided_at) ",
            );
            q.push_values(chunk, |mut b, (project, provider, bid, award, _, _)| {
                b.push_bind(*award)
                    .push_bind(*project)
                    .push_bind(*bid)
                    .push_bind(*provider)
                    .push_bind(60_000_000i64)
                    .push_bind(1i32)
                    .push_bind("综合评分第一")
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
        on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO purchase_contracts (id, project_id, award_id, provider_id, contract_no, \
                 ceiling_fen, start_on, end_on, signed_on, payment_terms, body, filed_on, status, \
                 created_at) ",
            );
            q.push_values(
                chunk,
                |mut b, (project, provider, _, award, contract, k)| {
                    b.push_bind(*contract)
                        .push_bind(*project)
                        .push_bind(*award)
                        .push_bind(*provider)
                        .push_bind(&k.contract_no)
                        .push_bind(k.ceiling_fen)
                        .push_bind(k.start)
                        .push_bind(k.end)
                        .push_bind(k.signed_on)
                        .push_bind(k.payment_terms.as_str())
                        .push_bind(serde_json::to_string(k).unwrap_or_default())
                        .push_bind(k.start)
                        .push_bind("active")
                        .push_bind(now);
                },
            );
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(out)
}

/// Pays `per_contract` monthly statements under each contract (two fundings a month, from
/// `first_month` on), one treasury batch a month with every line confirmed paid. Returns the
/// payment lines written.
pub async fn payments(
    conn: &mut Conn<'_>,
    contracts: &[Contracted],
    per_contract: usize,
    first_month: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    struct Line {
        statement: Uuid,
        contract: Contracted,
        month: String,
        funding: &'static str,
        amount: i64,
        paid_on: NaiveDate,
    }
    let mut by_month: Vec<Vec<Line>> = Vec::new();
    for (n, k) in contracts.iter().enumerate() {
        for i in 0..per_contract {
            let m = i / 2;
            let month_first = first_month + Months::new(m as u32);
            while by_month.len() <= m {
                by_month.push(Vec::new());
            }
            by_month[m].push(Line {
                statement: Uuid::now_v7(),
                contract: *k,
                month: month_first.format("%Y-%m").to_string(),
                funding: if i % 2 == 0 { "entitlement" } else { "voucher" },
                amount: 100_000 + ((n * 7 + i * 13) % 900) as i64 * 100,
                paid_on: month_first + Months::new(1),
            });
        }
    }
    let mut written = 0;
    for (m, lines) in by_month.iter().enumerate() {
        for chunk in lines.chunks(1_000) {
            on_conn!(&mut *conn, |c| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO statements (id, provider_id, service_month, funding, status, \
                     total_fen, line_count, paid_at, payment_ref, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut b, l| {
                    b.push_bind(l.statement)
                        .push_bind(l.contract.provider_id)
                        .push_bind(&l.month)
                        .push_bind(l.funding)
                        .push_bind("paid")
                        .push_bind(l.amount)
                        .push_bind(0i32)
                        .push_bind(now)
                        .push_bind("基准")
                        .push_bind(now)
                        .push_bind(now);
                });
                q.build().execute(&mut *c).await.map(|_| ())
            })?;
        }
        let batch = Uuid::now_v7();
        let total: i64 = lines.iter().map(|l| l.amount).sum();
        on_conn!(&mut *conn, |c| {
            sqlx::query(
                "INSERT INTO payment_batches (id, batch_no, region_code, line_count, total_fen, \
                 status, created_at, closed_at) VALUES ($1, $2, '430300000000', $3, $4, 'closed', $5, $5)",
            )
            .bind(batch)
            .bind(format!("ZF-BENCH-{}-{m:04}", batch.simple()))
            .bind(lines.len() as i32)
            .bind(total)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        for (c_no, chunk) in lines.chunks(1_000).enumerate() {
            on_conn!(&mut *conn, |c| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO payment_batch_lines (batch_id, seq, statement_id, contract_id, \
                     provider_id, amount_fen, payee_name, payee_credit_code, payee_bank, \
                     payee_account, funding_source, purpose, status, voucher_no, paid_on, \
                     answered_at) ",
                );
                q.push_values(chunk.iter().enumerate(), |mut b, (i, l)| {
                    let seq = (c_no * 1_000 + i + 1) as i32;
                    b.push_bind(batch)
                        .push_bind(seq)
                        .push_bind(l.statement)
                        .push_bind(l.contract.contract_id)
                        .push_bind(l.contract.provider_id)
                        .push_bind(l.amount)
                        .push_bind("基准服务机构")
                        .push_bind("")
                        .push_bind("基准测试银行")
                        .push_bind("6222020000000000001")
                        .push_bind("部门预算专项资金")
                        .push_bind("基准")
                        .push_bind("paid")
                        .push_bind(format!("GK-{m:03}-{seq:06}"))
                        .push_bind(l.paid_on)
                        .push_bind(now);
                });
                q.build().execute(&mut *c).await.map(|_| ())
            })?;
            written += chunk.len();
        }
    }
    Ok(written)
}
