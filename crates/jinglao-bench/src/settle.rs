//! `jinglao bench settle`: the month-end run of home services for a city — re-check the month's
//! verified visits against facts registered since (deaths, ended contracts), then settle every
//! provider's statements — over generated data at city scale (by default 1,000,000 people, 200
//! providers, 10,000 caregivers, 2,000,000 visits in the month before this one). The target is
//! under 10 s on SQLite, with peak memory reported; DuckDB computes the same statement totals
//! over the same visits and prices in the same run (bench/duckdb_settle.py), the totals must
//! agree, and the ratio is reported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{Datelike, Duration, Utc};
use jinglao_db::orders::month_of;
use jinglao_db::visit_bulk::{self, Spec};
use jinglao_db::{Actor, statements, visits};
use jinglao_domain::order::Funding;
use serde::Deserialize;

use crate::china_today;
use crate::prepare;

/// Options of `bench settle`.
#[derive(Debug, clap::Args)]
pub struct SettleArgs {
    /// Visits in the month.
    #[arg(long, default_value_t = 2_000_000)]
    visits: usize,
    /// People to generate and load.
    #[arg(long, default_value_t = 1_000_000)]
    elders: usize,
    /// Providers.
    #[arg(long, default_value_t = 200)]
    providers: usize,
    /// Caregivers.
    #[arg(long, default_value_t = 10_000)]
    caregivers: usize,
    /// `sqlite` (a fresh file in a temporary directory) or a PostgreSQL URL of an empty database.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Timed rounds of the DuckDB peer (best and median reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Skip the DuckDB comparison (needs `python3 -m pip install duckdb`).
    #[arg(long)]
    no_peer: bool,
    /// Keep a copy of the generated SQLite database, before the timed part, at this path (for
    /// looking at query plans).
    #[arg(long, hide = true)]
    keep: Option<PathBuf>,
}

/// What DuckDB measured.
#[derive(Debug, Deserialize)]
struct Peer {
    version: String,
    load_seconds: f64,
    best: f64,
    median: f64,
    totals: BTreeMap<String, (i64, i64)>,
}

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/duckdb_settle.py")
}

/// Runs `bench settle`.
pub async fn run(args: SettleArgs) -> Result<ExitCode> {
    if args.elders == 0 || args.visits == 0 || args.providers == 0 || args.caregivers == 0 {
        bail!("--elders、--visits、--providers、--caregivers 都必须大于 0");
    }
    let p = prepare(&args.db).await?;
    eprintln!("生成并写入 {} 人……", args.elders);
    let started = Instant::now();
    {
        let people = crate::data::generate(args.elders, args.seed)?;
        jinglao_fixtures::demo::load_population(&p.db, &p.keys, &people, "bench settle", |_| {})
            .await?;
    }
    let people_seconds = started.elapsed().as_secs_f64();
    let this_month = china_today()
        .with_day(1)
        .context("the first of the month")?;
    let first = (this_month - Duration::days(1))
        .with_day(1)
        .context("the first")?;
    let month = month_of(first);
    eprintln!(
        "生成 {month} 的 {} 次上门服务（{} 家机构，{} 名护理员）……",
        args.visits, args.providers, args.caregivers
    );
    let started = Instant::now();
    let spec = Spec {
        providers: args.providers,
        caregivers: args.caregivers,
        visits: args.visits,
        month: first,
        seed: args.seed,
        deaths_per_mille: 1,
    };
    let generated = visit_bulk::generate(&p.db, &spec).await?;
    let generate_seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.keep {
        visit_bulk::copy_sqlite(&p.db, path).await?;
    }

    eprintln!("月末复核与结算（计时）……");
    let actor = Actor::cli();
    let chain = &p.keys.audit_chain;
    let book = jinglao_db::policy::book(&p.db).await?;
    crate::sweep::reset_peak();
    let now = Utc::now();
    let started = Instant::now();
    let recheck = visits::recheck_month(&p.db, chain, &actor, &month, &book, now).await?;
    let recheck_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut ours: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut unpriced = 0;
    for provider in &generated.providers {
        for funding in [Funding::Entitlement, Funding::SelfPay] {
            let r = statements::run(&p.db, chain, &actor, *provider, &month, funding, now).await?;
            unpriced += r.unpriced.len();
            if r.statement.line_count > 0 {
                ours.insert(
                    format!("{provider}|{}", funding.as_str()),
                    (r.statement.total_fen, i64::from(r.statement.line_count)),
                );
            }
        }
    }
    let settle_seconds = started.elapsed().as_secs_f64();
    let peak_mb = crate::data::own_peak_rss_mb();
    let lines: i64 = ours.values().map(|(_, n)| n).sum();
    let total: i64 = ours.values().map(|(t, _)| t).sum();

    let peer = if args.no_peer {
        None
    } else {
        eprintln!("DuckDB：同样的对账单合计……");
        let (v, pr) = (
            p.dir.path().join("visits.csv"),
            p.dir.path().join("prices.csv"),
        );
        visit_bulk::export_month(&p.db, &month, &v, &pr).await?;
        let o = Command::new("python3")
            .arg(peer_script())
            .arg(&v)
            .arg(&pr)
            .arg(args.rounds.to_string())
            .output()
            .context("运行 python3 bench/duckdb_settle.py")?;
        if !o.status.success() {
            bail!(
                "DuckDB 对照失败（python3 -m pip install duckdb？）：{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let peer: Peer = serde_json::from_slice(&o.stdout)?;
        if peer.totals != ours {
            bail!(
                "DuckDB 的对账单合计与本系统不一致：{} 组对 {} 组",
                peer.totals.len(),
                ours.len()
            );
        }
        Some(peer)
    };

    let timed = recheck_seconds + settle_seconds;
    println!(
        "数据库 {}；{} 人（生成并写入 {:.1} 秒）",
        p.label, args.elders, people_seconds
    );
    println!(
        "{month}：{} 次服务，{} 家机构，{} 名护理员（生成并写入 {:.1} 秒）；月中登记死亡 {} 人",
        generated.visits, args.providers, args.caregivers, generate_seconds, generated.deaths
    );
    println!(
        "月末复核  {:.2} 秒：候选 {} 次，转入异常 {} 次",
        recheck_seconds, recheck.candidates, recheck.flagged
    );
    println!(
        "结算      {:.2} 秒：{} 张对账单，{} 行，合计 {} 元，无单价 {} 次",
        settle_seconds,
        ours.len(),
        lines,
        jinglao_domain::settlement::yuan(total),
        unpriced
    );
    println!(
        "复核 + 结算（目标 < 10 秒）  {timed:.2} 秒；峰值内存 {}",
        match peak_mb {
            Some(mb) => format!("{mb:.0} MB"),
            None => "未知".into(),
        }
    );
    if let Some(peer) = &peer {
        println!(
            "DuckDB {}  读入 {:.2} 秒；同样的合计 最好 {:.3} 秒，中位 {:.3} 秒；各对账单合计一致",
            peer.version, peer.load_seconds, peer.best, peer.median
        );
        println!(
            "比值（本系统结算 / DuckDB 最好值）  {:.1}",
            settle_seconds / peer.best
        );
    }
    Ok(ExitCode::SUCCESS)
}
