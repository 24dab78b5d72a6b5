//! `jinglao bench import` and `jinglao bench search`: the registry at scale.
//!
//! `bench import` generates a file of N synthetic people (untimed), imports it end to end into a
//! fresh database exactly as `jinglao elders import` does (read, validate every row, compare
//! with the registry, encrypt, write, audit), imports it again (nothing may change), and loads
//! the same CSV with the database's own bulk loader (`sqlite3 .import` or `psql \copy` into a
//! table of text columns: no checks, no encryption, no indexes) as the floor to compare with.
//!
//! `bench search` generates and loads N people (timed: the 60-second scale check), starts
//! `jinglao serve` on the database, signs a county account in, and drives the registry search
//! page with a mix of the queries staff type: a surname, a full name, an ID number, a phone
//! number, a township with a category, a county with an ability level, and the next page of a
//! broad result. Latency is reported per kind and overall.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use jinglao_domain::RegionCode;
use jinglao_domain::category::CategoryKind;
use jinglao_fixtures::synth::{self, SynthElder, SynthParams};
use jinglao_web::auth::secrets;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::china_today;
use crate::{Load, Prepared, Probe, demo_account, drive, prepare, spawn_server, stop_server};
use jinglao_fixtures::files::write_people;
use jinglao_fixtures::seed_tree;
use jinglao_web::usecase::registry::import::{ImportOptions, ImportRun, import_file};

/// Options of `bench import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Rows in the generated file.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// `sqlite` (a fresh file in a temporary directory) or a PostgreSQL URL of an empty
    /// database.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Random seed of the generated people.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Options of `bench search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// People to generate and load.
    #[arg(long, default_value_t = 1_000_000)]
    elders: usize,
    /// `sqlite` (a fresh file in a temporary directory) or a PostgreSQL URL of an empty
    /// database.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Random seed of the generated people and of the query mix.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Concurrent clients (staff at their desks), closed loop.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Measured duration in seconds.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Warm-up in seconds (not measured).
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Demo account that searches (its scope limits what it sees).
    #[arg(long, default_value = "demo_county_staff")]
    user: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct ImportReport {
    database: String,
    rows: usize,
    file_mb: f64,
    import_seconds: f64,
    stages: Vec<(String, f64)>,
    rows_per_second: f64,
    reimport_seconds: f64,
    reimport_stages: Vec<(String, f64)>,
    reimport_unchanged: usize,
    peer: Option<String>,
    peer_seconds: Option<f64>,
    ratio_to_peer: Option<f64>,
    peak_rss_mb: Option<f64>,
}

/// Our own peak resident memory, from /proc.
pub(crate) fn own_peak_rss_mb() -> Option<f64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse::<f64>()
        .ok()
        .map(|kb| kb / 1024.0)
}

pub(crate) fn generate(count: usize, seed: u64) -> Result<Vec<SynthElder>> {
    let tree = seed_tree()?;
    Ok(synth::generate(
        &tree,
        &RegionCode::parse("4303")?,
        SynthParams {
            seed,
            count,
            today: china_today(),
            threads: 0,
        },
    )?)
}

/// Reads and imports the file as `jinglao elders import` does; returns the run and its seconds
/// (reading the file included).
async fn timed_import(p: &Prepared, file: &Path) -> Result<(ImportRun, f64)> {
    let started = Instant::now();
    let bytes = std::fs::read(file)?;
    let run = import_file(
        &p.db,
        &p.keys,
        "elders.csv",
        &bytes,
        ImportOptions::default(),
        &|_| {},
    )
    .await?;
    Ok((run, started.elapsed().as_secs_f64()))
}

/// The run's stages as (name, seconds).
fn seconds_by_stage(run: &ImportRun) -> Vec<(String, f64)> {
    run.stages
        .iter()
        .map(|(s, d)| (s.to_string(), d.as_secs_f64()))
        .collect()
}

/// Runs `bench import`.
pub async fn import(args: ImportArgs) -> Result<ExitCode> {
    if args.rows == 0 {
        bail!("--rows 必须大于 0");
    }
    eprintln!("正在生成 {} 人的导入文件并准备数据库……", args.rows);
    let p = prepare(&args.db).await?;
    let file = p.dir.path().join("elders.csv");
    write_people(&file, &generate(args.rows, args.seed)?)?;
    let file_mb = std::fs::metadata(&file)?.len() as f64 / 1e6;

    eprintln!("导入（计时）……");
    let (run, import_seconds) = timed_import(&p, &file).await?;
    let Some(summary) = &run.summary else {
        bail!(
            "生成的文件未能导入：{}",
            run.problems
                .first()
                .map(|p| p.to_string())
                .unwrap_or_default()
        );
    };
    if summary.inserted != args.rows {
        bail!("应新登记 {} 人，实际 {}", args.rows, summary.inserted);
    }

    eprintln!("再次导入同一文件（计时，应无变化）……");
    let (again, reimport_seconds) = timed_import(&p, &file).await?;
    let unchanged = again.summary.as_ref().map_or(0, |s| s.unchanged);
    if again
        .summary
        .as_ref()
        .is_none_or(|s| s.inserted + s.updated > 0)
    {
        bail!("再次导入改变了数据：{:?}", again.summary);
    }

    eprintln!("同一文件用数据库自带的批量加载（对照）……");
    let peer = peer_load(&args.db, &p.dir.path().join("peer.db"), &file)?;
    p.db.close().await;
    let report = ImportReport {
        database: p.label.clone(),
        rows: args.rows,
        file_mb,
        import_seconds,
        stages: seconds_by_stage(&run),
        rows_per_second: args.rows as f64 / import_seconds,
        reimport_seconds,
        reimport_stages: seconds_by_stage(&again),
        reimport_unchanged: unchanged,
        peer: peer.as_ref().map(|(name, _)| name.clone()),
        peer_seconds: peer.as_ref().map(|(_, s)| *s),
        ratio_to_peer: peer.as_ref().map(|(_, s)| import_seconds / s),
        peak_rss_mb: own_peak_rss_mb(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("数据库          {}", report.database);
        println!(
            "行数            {}（文件 {:.1} MB）",
            report.rows, report.file_mb
        );
        println!(
            "导入            {:.2} 秒（{:.0} 行/秒）",
            report.import_seconds, report.rows_per_second
        );
        for (stage, s) in &report.stages {
            println!("  {stage:<12}  {s:.2} 秒");
        }
        println!(
            "再次导入        {:.2} 秒（{} 行无变化）",
            report.reimport_seconds, report.reimport_unchanged
        );
        for (stage, s) in &report.reimport_stages {
            println!("  {stage:<12}  {s:.2} 秒");
        }
        if let (Some(name), Some(s), Some(r)) =
            (&report.peer, report.peer_seconds, report.ratio_to_peer)
        {
            println!("对照 {name}  {s:.2} 秒（本系统为其 {r:.1} 倍）");
        }
        if let Some(m) = report.peak_rss_mb {
            println!("峰值内存        {m:.0} MB");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the CSV with the database's own bulk loader into a table of text columns; returns the
/// loader's name and seconds, or `None` when the client program is not installed.
fn peer_load(db: &str, sqlite_file: &Path, csv: &Path) -> Result<Option<(String, f64)>> {
    let header = std::fs::read_to_string(csv)?
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches('\u{feff}')
        .to_string();
    let columns: Vec<String> = header
        .split(',')
        .enumerate()
        .map(|(i, _)| format!("c{i} TEXT"))
        .collect();
    let create = format!("CREATE TABLE peer_import ({})", columns.join(", "));
    let (name, mut cmd) = if db == "sqlite" {
        let mut cmd = Command::new("sqlite3");
        cmd.arg(sqlite_file).arg(&create).arg(format!(
            ".import --csv --skip 1 {} peer_import",
            csv.display()
        ));
        ("sqlite3 .import".to_string(), cmd)
    } else {
        let mut cmd = Command::new("psql");
        cmd.arg(db)
            .arg("-q")
            .arg("-v")
            .arg("ON_ERROR_STOP=1")
            .arg("-c")
            .arg("DROP TABLE IF EXISTS peer_import")
            .arg("-c")
            .arg(&create)
            .arg("-c")
            .arg(format!(
                "\\copy peer_import FROM '{}' WITH (FORMAT csv, HEADER true)",
                csv.display()
            ))
            .arg("-c")
            .arg("DROP TABLE peer_import");
        ("psql \\copy".to_string(), cmd)
    };
    let started = Instant::now();
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("无法运行对照程序"),
    };
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "对照程序失败：{}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(Some((name, seconds)))
}

/// The kinds of query in the search mix, as shown in the report.
const KINDS: [&str; 8] = [
    "姓氏",
    "姓名",
    "身份证号",
    "手机号",
    "乡镇+类别",
    "区县+能力等级",
    "翻页",
    "尾号",
];

/// Builds `n` requests to the search page from people the account can see. Searches by a
/// full number are posted (with the session's `csrf` token), as the page's form does: the page
/// refuses them in an address.
fn probes(people: &[&SynthElder], n: usize, seed: u64, csrf: &str) -> Vec<Probe> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5ea7c4);
    let enc = |pairs: &[(&str, &str)]| {
        let mut s = form_urlencoded::Serializer::new(String::from("/elders?"));
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let categories = [
        CategoryKind::Dibao.label(),
        CategoryKind::EmptyNest.label(),
        CategoryKind::LeftBehind.label(),
    ];
    (0..n)
        .map(|i| {
            let kind = i % KINDS.len();
            let who = people[rng.random_range(0..people.len())];
            let surname: String = who.input.name.chars().take(1).collect();
            let township = who.input.residence_region.as_str()[..9].to_string();
            let county = who.input.residence_region.as_str()[..6].to_string();
            let posted = |number: &str| {
                let mut s = form_urlencoded::Serializer::new(String::new());
                s.append_pair("_csrf", csrf).append_pair("q", number);
                Some(s.finish())
            };
            let (path, form) = match kind {
                2 => (
                    "/elders/search".to_string(),
                    posted(who.input.id_number.as_str()),
                ),
                3 => (
                    "/elders/search".to_string(),
                    posted(
                        who.input
                            .phones
                            .first()
                            .map_or(who.input.id_number.as_str(), |p| p.as_str()),
                    ),
                ),
                _ => (String::new(), None),
            };
            let path = match kind {
                0 => enc(&[("q", &surname)]),
                1 => enc(&[("q", &who.input.name)]),
                2 | 3 => path,
                4 => enc(&[
                    ("region", &township),
                    (
                        "category",
                        categories[rng.random_range(0..categories.len())],
                    ),
                ]),
                5 => enc(&[
                    ("region", &county),
                    ("ability", &rng.random_range(1..=4u8).to_string()),
                ]),
                6 => {
                    // A later page of the surname's results (page 2–10, clamped to the last).
                    let page = rng.random_range(2..=10u32).to_string();
                    enc(&[("q", &surname), ("page", &page)])
                }
                _ => {
                    // The last four digits of the phone number (or of the ID number).
                    let number = who
                        .input
                        .phones
                        .first()
                        .map_or(who.input.id_number.as_str(), |p| p.as_str());
                    let tail: String = number.chars().skip(number.chars().count() - 4).collect();
                    enc(&[("q", &tail)])
                }
            };
            Probe { kind, path, form }
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct KindReport {
    kind: String,
    requests: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct SearchReport {
    database: String,
    elders: usize,
    generate_seconds: f64,
    load_seconds: f64,
    database_mb: Option<f64>,
    user: String,
    concurrency: usize,
    seconds: u64,
    requests_per_second: f64,
    errors: u64,
    overall: KindReport,
    kinds: Vec<KindReport>,
}

fn kind_report(kind: &str, h: &Histogram<u64>) -> KindReport {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    KindReport {
        kind: kind.to_string(),
        requests: h.len(),
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: h.max() as f64 / 1000.0,
    }
}

/// Runs `bench search`.
pub async fn search(args: SearchArgs) -> Result<ExitCode> {
    if args.elders == 0 || args.concurrency == 0 {
        bail!("--elders 和 --concurrency 必须大于 0");
    }
    let p = prepare(&args.db).await?;
    eprintln!("生成 {} 人（计时）……", args.elders);
    let started = Instant::now();
    let people = generate(args.elders, args.seed)?;
    let generate_seconds = started.elapsed().as_secs_f64();
    eprintln!("写入数据库（计时）……");
    let bar = ProgressBar::new(people.len() as u64);
    let started = Instant::now();
    jinglao_fixtures::demo::load_population(&p.db, &p.keys, &people, "bench search", |n| {
        bar.set_position(n as u64)
    })
    .await?;
    let load_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let account = demo_account(&p.db, &args.user).await?;
    let scope = account.scope()?;
    let visible: Vec<&SynthElder> = people
        .iter()
        .filter(|e| scope.sees_region(&e.input.residence_region))
        .collect();
    if visible.is_empty() {
        bail!("账号 {} 的管辖范围内没有生成的人", args.user);
    }
    let secret = secrets::random_secret();
    let csrf = secrets::random_secret();
    let probes = probes(&visible, 4000, args.seed, &csrf);
    drop(visible);
    drop(people);
    {
        let mut c = p.db.acquire().await?;
        jinglao_db::sessions::insert(
            &mut c.conn(),
            &jinglao_db::sessions::NewSession {
                user_id: account.id,
                id_hash: &secrets::digest(&secret),
                csrf_token: &csrf,
                client_ip: Some("127.0.0.1"),
                user_agent: Some("jinglao bench search"),
            },
            Utc::now(),
            chrono::Duration::hours(12),
        )
        .await?;
    }
    let database_mb = (p.label == "sqlite")
        .then(|| std::fs::metadata(p.dir.path().join("bench.db")).ok())
        .flatten()
        .map(|m| m.len() as f64 / 1e6);
    let (server, addr) = spawn_server(&p).await?;
    let load = Load {
        addr,
        probes: probes.into(),
        kinds: KINDS.len(),
        header: Arc::new((
            hyper::header::COOKIE,
            format!("{}={secret}", jinglao_web::auth::session::SESSION_COOKIE),
        )),
    };
    eprintln!(
        "检索页负载：{} 个并发，预热 {} 秒，测量 {} 秒……",
        args.concurrency, args.warmup, args.duration
    );
    let (hists, errors) = drive(load, args.concurrency, args.warmup, args.duration, None).await?;
    stop_server(server).await;
    let mut all = crate::histogram()?;
    for h in &hists {
        all.add(h)?;
    }
    let report = SearchReport {
        database: p.label.clone(),
        elders: args.elders,
        generate_seconds,
        load_seconds,
        database_mb,
        user: args.user.clone(),
        concurrency: args.concurrency,
        seconds: args.duration,
        requests_per_second: all.len() as f64 / args.duration as f64,
        errors,
        overall: kind_report("全部", &all),
        kinds: KINDS
            .iter()
            .zip(&hists)
            .map(|(k, h)| kind_report(k, h))
            .collect(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("数据库          {}", report.database);
        println!(
            "人数            {}（生成 {:.1} 秒，写入 {:.1} 秒，合计 {:.1} 秒）",
            report.elders,
            report.generate_seconds,
            report.load_seconds,
            report.generate_seconds + report.load_seconds
        );
        if let Some(mb) = report.database_mb {
            println!("数据库文件      {mb:.0} MB");
        }
        println!(
            "检索            {} 并发，{:.0} 次/秒，错误 {}",
            report.concurrency, report.requests_per_second, report.errors
        );
        println!("查询类型        次数     p50      p95      p99      max（毫秒）");
        for k in report.kinds.iter().chain(std::iter::once(&report.overall)) {
            println!(
                "{:<12}  {:>6}  {:>7.2}  {:>7.2}  {:>7.2}  {:>7.2}",
                k.kind, k.requests, k.p50_ms, k.p95_ms, k.p99_ms, k.max_ms
            );
        }
    }
    // Keep the temporary directory until the server has stopped.
    drop(p);
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
