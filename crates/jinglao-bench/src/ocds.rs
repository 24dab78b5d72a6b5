//! `jinglao bench ocds`: publishing the open contracting data of a year of government purchase
//! — by default 1,000 projects, three contracts each, 100,000 treasury payments — as one OCDS
//! record package with linked releases and compiled releases (what
//! `/open-data/ocds/bulk/records.json` serves), against a target of under 1 s, from reading the
//! database to the JSON text. The peer is `ocdskit compile --package --linked-releases` (Open
//! Contracting's own tool, PyPI `ocdskit`), fed the same releases from a file in the same run;
//! the ratio is reported.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{Datelike, NaiveDate, Utc};
use jinglao_db::purchase::{bulk, ocds, projects};
use jinglao_domain::Scope;
use jinglao_domain::purchase::ocds as out;

use crate::prepare;

/// Options of `bench ocds`.
#[derive(Debug, clap::Args)]
pub struct OcdsArgs {
    /// Projects.
    #[arg(long, default_value_t = 1_000)]
    projects: usize,
    /// Contracts per project (多家承接、老人自选 when more than one).
    #[arg(long, default_value_t = 3)]
    contracts: usize,
    /// Treasury payments in all (spread evenly over the contracts).
    #[arg(long, default_value_t = 100_000)]
    payments: usize,
    /// `sqlite` (a fresh file in a temporary directory) or a PostgreSQL URL of an empty database.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Timed rounds (best and median reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Skip the ocdskit comparison (needs `python3 -m pip install ocdskit`).
    #[arg(long)]
    no_peer: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `bench ocds`.
pub async fn run(args: OcdsArgs) -> Result<ExitCode> {
    if args.projects == 0 || args.contracts == 0 || args.rounds == 0 {
        bail!("--projects、--contracts、--rounds 都必须大于 0");
    }
    let p = prepare(&args.db).await?;
    let now = Utc::now();
    let year = crate::china_today().year() - 1;
    let start = NaiveDate::from_ymd_opt(year - 1, 1, 1).context("a day")?;
    let end = NaiveDate::from_ymd_opt(year + 1, 12, 31).context("a day")?;
    let contracts_n = args.projects * args.contracts;
    let per_contract = args.payments.div_ceil(contracts_n);
    eprintln!(
        "生成 {} 个项目、{contracts_n} 份合同、约 {} 笔国库支付……",
        args.projects,
        per_contract * contracts_n
    );
    let started = Instant::now();
    let paid = {
        let mut tx = p.db.begin().await?;
        let mut conn = tx.conn();
        let providers = bulk::providers(&mut conn, contracts_n, now).await?;
        let groups: Vec<Vec<uuid::Uuid>> = providers
            .chunks(args.contracts)
            .map(<[_]>::to_vec)
            .collect();
        let contracts = bulk::contracts_for(&mut conn, &groups, start, end, now).await?;
        let paid = bulk::payments(&mut conn, &contracts, per_contract, start, now).await?;
        tx.commit().await?;
        paid
    };
    let generate_seconds = started.elapsed().as_secs_f64();

    // The timed part: what the bulk download does — the announced projects, their facts in a
    // few queries, every release, every record with its compiled release, one JSON text.
    let prefix = "ocds-jl0000";
    let mut times = Vec::new();
    let mut phases = (0.0, 0.0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut body = String::new();
    let mut releases_all = Vec::new();
    for round in 0..args.rounds {
        let started = Instant::now();
        let mut c = p.db.acquire().await?;
        let f = projects::Filter {
            public_only: true,
            ..Default::default()
        };
        let all = projects::list(&mut c.conn(), &Scope::All, &f, 100_000).await?;
        let names = jinglao_db::service_lists::item_names(&mut c.conn()).await?;
        let facts = ocds::facts_many(&mut c.conn(), prefix, &all, &names).await?;
        drop(c);
        let read = started.elapsed().as_secs_f64();
        if round == 0 {
            for f in &facts {
                releases_all.extend(out::releases(f));
            }
        }
        let projects: Vec<(out::ProjectFacts, String)> = facts
            .into_iter()
            .zip(&all)
            .map(|(f, p)| {
                let url = format!(
                    "https://example.org/open-data/ocds/projects/{}/releases.json",
                    p.id
                );
                (f, url)
            })
            .collect();
        body = out::linked_record_package_text("bench", now, "基准测试", &projects, threads);
        let total = started.elapsed().as_secs_f64();
        if times.iter().all(|t| total < *t) {
            phases = (read, total - read);
        }
        times.push(total);
    }
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let med = median(times.clone());
    let check: serde_json::Value = serde_json::from_str(&body)?;
    let records = check["records"].as_array().map_or(0, Vec::len);
    let transactions: usize = check["records"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| {
            r["compiledRelease"]["contracts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|k| {
            k["implementation"]["transactions"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum();
    println!(
        "{}：{} 个项目、{contracts_n} 份合同、{paid} 笔支付（生成并写入 {generate_seconds:.1} 秒）",
        p.label, args.projects
    );
    println!(
        "记录包    最好 {best:.3} 秒，中位 {med:.3} 秒（{} 轮；目标 < 1 秒）：{records} 条记录，{transactions} 笔交易，{:.1} MB",
        args.rounds,
        body.len() as f64 / 1_048_576.0
    );
    println!(
        "          其中读取 {:.3} 秒，生成发布、汇编并写成 JSON {:.3} 秒（{threads} 个线程；最好一轮）",
        phases.0, phases.1
    );
    if records != args.projects || transactions != paid {
        bail!("记录包不完整：{records} 条记录、{transactions} 笔交易");
    }
    if args.no_peer {
        return Ok(ExitCode::SUCCESS);
    }
    // The peer: ocdskit compiles the same releases into a record package.
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("releases.json");
    let package = out::release_package("bench", now, "基准测试", releases_all);
    std::fs::write(&input, package.to_string())?;
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/ocds/schema/release-schema.json");
    let mut peer = Vec::new();
    for _ in 0..args.rounds {
        let started = Instant::now();
        let status = Command::new("ocdskit")
            .args(["compile", "--package", "--linked-releases", "--schema"])
            .arg(&schema)
            .stdin(std::fs::File::open(&input)?)
            .stdout(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => peer.push(started.elapsed().as_secs_f64()),
            Ok(s) => bail!("ocdskit compile 失败：{s}"),
            Err(e) => {
                println!("未运行 ocdskit（python3 -m pip install ocdskit）：{e}");
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let version = Command::new("python3")
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('ocdskit'))",
        ])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let peer_best = peer.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "ocdskit {version} compile --package --linked-releases：最好 {peer_best:.3} 秒，中位 {:.3} 秒（同一批发布，从文件读入）",
        median(peer)
    );
    println!("比值（ocdskit ÷ 本平台，最好）：{:.1}", peer_best / best);
    Ok(ExitCode::SUCCESS)
}
