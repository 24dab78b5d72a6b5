//! `jinglao bench …`: how the platform measures itself. A crate of its own so that the load
//! generator (hyper, rand, hdrhistogram) stays out of the product crates; the `jinglao`
//! binary reaches it through `jinglao bench`.
//!
//! `bench http` is a bounded loopback load generator. By default it builds a fresh database
//! (SQLite in a temporary directory, or the PostgreSQL database given with `--db`), loads the
//! demo data, creates an API token, starts `jinglao serve` as a separate process on a free
//! port, drives it with N concurrent keep-alive connections for a fixed time, and reports
//! requests per second, latency percentiles, errors and the server's CPU time and peak memory.
//! With `--rate` it runs open-loop at a fixed request rate and measures latency from each
//! request's scheduled start, so a stalled server is not hidden by clients that wait
//! (coordinated omission).

mod checkins;
mod data;
mod finder;
mod ocds;
mod settle;
mod sweep;

use std::net::SocketAddr;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Subcommand;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use jinglao_db::{Actor, Db, PoolSettings, migrate, tokens, users};
use jinglao_domain::{Scope, Username};
use jinglao_web::auth::secrets;
use jinglao_web::{Keys, Settings};
use serde::Serialize;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load-test one authenticated GET endpoint over loopback.
    Http(HttpArgs),
    /// Import a generated file of N people end to end, then again (idempotent), beside the
    /// database's own bulk loader on the same file.
    Import(crate::data::ImportArgs),
    /// Generate and load N people, then drive the registry search page with a mix of queries.
    Search(crate::data::SearchArgs),
    /// Generate and load N people, then sweep them against a 30-item list (服务找人), beside
    /// the same rules in DuckDB.
    Sweep(crate::sweep::SweepArgs),
    /// Time the public institution finder's searches over N generated facilities.
    Finder(crate::finder::FinderArgs),
    /// Month-end re-check and settlement of a city's month of home visits, beside the same
    /// statement totals in DuckDB.
    Settle(crate::settle::SettleArgs),
    /// 200 caregivers checking in and out over the API against a city database.
    Checkins(crate::checkins::CheckinArgs),
    /// Publish a year of government purchase (1,000 projects, 100,000 payments) as one OCDS
    /// record package, beside `ocdskit compile` on the same releases.
    Ocds(crate::ocds::OcdsArgs),
    /// The measured half of `bench sweep`, in its own process (not for direct use).
    #[command(hide = true)]
    SweepChild(crate::sweep::SweepChildArgs),
}

/// Options of `bench http`.
#[derive(Debug, clap::Args)]
pub struct HttpArgs {
    /// Path to request.
    #[arg(long, default_value = "/api/v1/regions/430302/children")]
    path: String,
    /// Concurrent clients (one keep-alive connection each).
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Measured duration in seconds.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Warm-up in seconds (not measured).
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Fixed total request rate per second (open loop); omit for as fast as possible.
    #[arg(long)]
    rate: Option<u64>,
    /// Database for the self-hosted server: `sqlite` (fresh file in a temporary directory) or
    /// a PostgreSQL URL of an empty database.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Use an already running server instead of starting one (requires --token).
    #[arg(long)]
    url: Option<String>,
    /// Bearer token for --url.
    #[arg(long)]
    token: Option<String>,
    /// Demo account whose token the self-hosted run uses.
    #[arg(long, default_value = "demo_county_staff")]
    user: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// The result of a run.
#[derive(Debug, Serialize)]
struct Report {
    path: String,
    database: String,
    concurrency: usize,
    target_rate: Option<u64>,
    seconds: f64,
    requests: u64,
    errors: u64,
    requests_per_second: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    server_cpu_seconds: Option<f64>,
    server_peak_rss_mb: Option<f64>,
}

/// Runs a benchmark command.
pub async fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Http(args) => http(args).await,
        BenchCommand::Import(args) => crate::data::import(args).await,
        BenchCommand::Search(args) => crate::data::search(args).await,
        BenchCommand::Sweep(args) => crate::sweep::run(args).await,
        BenchCommand::Finder(args) => crate::finder::run(args).await,
        BenchCommand::Settle(args) => crate::settle::run(args).await,
        BenchCommand::Checkins(args) => crate::checkins::run(args).await,
        BenchCommand::Ocds(args) => crate::ocds::run(args).await,
        BenchCommand::SweepChild(args) => crate::sweep::child(args).await,
    }
}

/// A `jinglao serve` child process, killed when dropped.
pub(crate) struct Server {
    pub(crate) child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A fresh database with the demo data, its key file and the directory that holds them.
pub(crate) struct Prepared {
    /// Holds the SQLite file and key file until dropped.
    pub dir: tempfile::TempDir,
    /// The database URL.
    pub db_url: String,
    /// `sqlite` or `postgres`.
    pub label: String,
    /// The key file.
    pub key_file: std::path::PathBuf,
    /// The keys.
    pub keys: Keys,
    /// The open database.
    pub db: Db,
}

/// Creates and migrates a database (`sqlite`: a fresh file in a temporary directory; otherwise a
/// PostgreSQL URL of an empty database) and loads the demo regions and accounts.
pub(crate) async fn prepare(db_arg: &str) -> Result<Prepared> {
    let dir = tempfile::tempdir()?;
    let (db_url, label) = if db_arg == "sqlite" {
        (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            "sqlite".to_string(),
        )
    } else {
        (db_arg.to_string(), "postgres".to_string())
    };
    let key_file = dir.path().join("bench.key");
    jinglao_web::keys::generate_key_file(&key_file)?;
    let settings = Settings {
        database_url: db_url.clone(),
        secret_key_file: Some(key_file.clone()),
        audit: jinglao_web::config::AuditSettings {
            anchor_file: Some(dir.path().join("bench.anchors")),
            ..Default::default()
        },
        ..Settings::default()
    };
    let keys = Keys::load(&settings)?;
    let db = Db::connect(&db_url, &PoolSettings::default()).await?;
    migrate::run(&db).await?;
    jinglao_fixtures::demo::seed(&db, &keys).await?;
    Ok(Prepared {
        dir,
        db_url,
        label,
        key_file,
        keys,
        db,
    })
}

/// A demo account by login name.
pub(crate) async fn demo_account(db: &Db, login: &str) -> Result<jinglao_domain::Account> {
    let username = Username::parse(login)?;
    let mut c = db.acquire().await?;
    users::by_username(&mut c.conn(), &Scope::All, &username)
        .await?
        .with_context(|| format!("没有演示账号 {username}"))
}

/// Starts `jinglao serve` on a prepared database (closing this process's pool first) and waits
/// until it is ready.
pub(crate) async fn spawn_server(p: &Prepared) -> Result<(Server, SocketAddr)> {
    p.db.close().await;
    let port = free_port()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let exe = std::env::current_exe()?;
    let child = std::process::Command::new(exe)
        .arg("--config-dir")
        .arg(p.dir.path())
        .arg("serve")
        .env("JINGLAO_DATABASE_URL", &p.db_url)
        .env("JINGLAO_LISTEN", addr.to_string())
        .env("JINGLAO_SECRET_KEY_FILE", &p.key_file)
        .env("JINGLAO_LOG__FILTER", "warn")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("无法启动 jinglao serve")?;
    let server = Server { child };
    wait_ready(addr).await?;
    Ok((server, addr))
}

/// Prepares a database with demo data and a token, and starts `jinglao serve` on it.
async fn start_server(args: &HttpArgs) -> Result<(Server, SocketAddr, String, Prepared)> {
    let p = prepare(&args.db).await?;
    let account = demo_account(&p.db, &args.user).await?;
    let token = secrets::new_api_token();
    let now = Utc::now();
    tokens::create_integration(
        &jinglao_db::WriteCtx::new(&p.db, &p.keys.audit_chain, &Actor::cli(), now),
        account.id,
        "bench",
        &secrets::digest(&token),
        now + chrono::Duration::days(1),
    )
    .await?;
    let (server, addr) = spawn_server(&p).await?;
    Ok((server, addr, token, p))
}

async fn wait_ready(addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(status) = get_status(addr, "/readyz", None).await
            && status == 200
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("服务器 30 秒内没有就绪")
}

async fn get_status(addr: SocketAddr, path: &str, token: Option<&str>) -> Result<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = hyper::Request::get(path).header(hyper::header::HOST, addr.to_string());
    if let Some(t) = token {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = sender
        .send_request(req.body(Empty::<Bytes>::new())?)
        .await?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await?;
    Ok(status)
}

/// One request a client sends: a path and the kind of query it stands for (results are kept
/// per kind).
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    /// Index into the list of kinds.
    pub kind: usize,
    /// Path and query.
    pub path: String,
    /// A form body to post instead of a GET (what a page posts, e.g. a search by number).
    pub form: Option<String>,
}

/// What every request of a run carries and where it goes.
pub(crate) struct Load {
    /// Server address.
    pub addr: SocketAddr,
    /// The requests, sent in turn (each client starts at a different place).
    pub probes: Arc<[Probe]>,
    /// How many kinds the probes name.
    pub kinds: usize,
    /// The credential header (`Authorization` or `Cookie`) and its value.
    pub header: Arc<(hyper::header::HeaderName, String)>,
}

/// Per-client result: one latency histogram per kind.
struct ClientStats {
    hists: Vec<Histogram<u64>>,
    errors: u64,
}

/// A latency histogram from 1 µs to 60 s with three significant digits.
pub(crate) fn histogram() -> Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

async fn client(
    load: Arc<Load>,
    start_at: usize,
    measure_from: Instant,
    stop_at: Instant,
    interval: Option<Duration>,
    offset: Duration,
) -> Result<ClientStats> {
    let mut stats = ClientStats {
        hists: (0..load.kinds)
            .map(|_| histogram())
            .collect::<Result<_>>()?,
        errors: 0,
    };
    let stream = tokio::net::TcpStream::connect(load.addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let host = load.addr.to_string();
    let mut next_at = Instant::now() + offset;
    let mut n = start_at;
    loop {
        let scheduled = match interval {
            Some(iv) => {
                let now = Instant::now();
                if next_at > now {
                    tokio::time::sleep_until(next_at.into()).await;
                }
                let s = next_at;
                next_at += iv;
                s
            }
            None => Instant::now(),
        };
        if scheduled >= stop_at {
            break;
        }
        let probe = &load.probes[n % load.probes.len()];
        n += 1;
        let req = match &probe.form {
            None => hyper::Request::get(&probe.path),
            Some(_) => hyper::Request::post(&probe.path).header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            ),
        }
        .header(hyper::header::HOST, &host)
        .header(&load.header.0, &load.header.1)
        .body(Full::new(Bytes::from(
            probe.form.clone().unwrap_or_default(),
        )))?;
        sender.ready().await?;
        let ok = match sender.send_request(req).await {
            Ok(resp) => {
                let good = resp.status() == 200;
                resp.into_body().collect().await.is_ok() && good
            }
            Err(_) => false,
        };
        let done = Instant::now();
        if scheduled >= measure_from {
            let us = done.duration_since(scheduled).as_micros().max(1) as u64;
            stats.hists[probe.kind].saturating_record(us);
            if !ok {
                stats.errors += 1;
            }
        }
        if !ok && sender.is_closed() {
            break;
        }
    }
    Ok(stats)
}

/// Runs `concurrency` clients closed-loop (or open-loop at `rate` requests per second) for
/// `warmup` + `duration` seconds and merges their histograms per kind.
pub(crate) async fn drive(
    load: Load,
    concurrency: usize,
    warmup: u64,
    duration: u64,
    rate: Option<u64>,
) -> Result<(Vec<Histogram<u64>>, u64)> {
    let load = Arc::new(load);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(warmup);
    let stop_at = measure_from + Duration::from_secs(duration);
    let interval = rate.map(|r| Duration::from_secs_f64(concurrency as f64 / r.max(1) as f64));
    let spread = load.probes.len() / concurrency.max(1);
    let mut handles = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let offset = interval
            .map(|iv| iv.mul_f64(i as f64 / concurrency as f64))
            .unwrap_or_default();
        handles.push(tokio::spawn(client(
            load.clone(),
            i * spread,
            measure_from,
            stop_at,
            interval,
            offset,
        )));
    }
    let mut hists: Vec<Histogram<u64>> = (0..load.kinds)
        .map(|_| histogram())
        .collect::<Result<_>>()?;
    let mut errors = 0;
    for h in handles {
        let s = h.await??;
        for (all, one) in hists.iter_mut().zip(&s.hists) {
            all.add(one)?;
        }
        errors += s.errors;
    }
    Ok((hists, errors))
}

/// Asks a server to stop gracefully; dropping it kills it if it does not go.
pub(crate) async fn stop_server(mut s: Server) {
    #[cfg(unix)]
    {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(s.child.id().to_string())
            .status();
        for _ in 0..50 {
            if s.child.try_wait().ok().flatten().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    drop(s);
}

/// (CPU seconds, peak RSS in MB) of a process, from /proc.
pub(crate) fn process_usage(pid: u32) -> (Option<f64>, Option<f64>) {
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = after.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        });
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
        });
    (cpu, rss)
}

async fn http(args: HttpArgs) -> Result<ExitCode> {
    if args.concurrency == 0 {
        bail!("--concurrency 必须大于 0");
    }
    let (server, addr, token, label) = match (&args.url, &args.token) {
        (Some(url), Some(token)) => {
            let hostport = url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string();
            let addr: SocketAddr = tokio::net::lookup_host(&hostport)
                .await?
                .next()
                .with_context(|| format!("无法解析 {url}"))?;
            (None, addr, token.clone(), "external".to_string())
        }
        (Some(_), None) => bail!("--url 需要同时给出 --token"),
        _ => {
            eprintln!("正在准备数据库和服务器……");
            let (s, a, t, p) = start_server(&args).await?;
            let label = p.label.clone();
            (Some((s, p)), a, t, label)
        }
    };
    let status = get_status(addr, &args.path, Some(&token)).await?;
    if status != 200 {
        bail!("预检请求 {} 返回 {status}，不是 200", args.path);
    }
    let server_pid = server.as_ref().map(|s| s.0.child.id());
    let cpu_before = server_pid.and_then(|p| process_usage(p).0);

    eprintln!(
        "对 {} 施加负载：{} 个并发连接，预热 {} 秒，测量 {} 秒{}……",
        args.path,
        args.concurrency,
        args.warmup,
        args.duration,
        args.rate
            .map(|r| format!("，固定速率 {r} 次/秒"))
            .unwrap_or_default()
    );
    let load = Load {
        addr,
        probes: vec![Probe {
            kind: 0,
            path: args.path.clone(),
            form: None,
        }]
        .into(),
        kinds: 1,
        header: Arc::new((hyper::header::AUTHORIZATION, format!("Bearer {token}"))),
    };
    let (hists, errors) = drive(
        load,
        args.concurrency,
        args.warmup,
        args.duration,
        args.rate,
    )
    .await?;
    let hist = &hists[0];
    let seconds = args.duration as f64;
    let (cpu_after, rss) = server_pid.map(process_usage).unwrap_or((None, None));
    let report = Report {
        path: args.path.clone(),
        database: label,
        concurrency: args.concurrency,
        target_rate: args.rate,
        seconds,
        requests: hist.len(),
        errors,
        requests_per_second: hist.len() as f64 / seconds,
        p50_ms: hist.value_at_quantile(0.50) as f64 / 1000.0,
        p95_ms: hist.value_at_quantile(0.95) as f64 / 1000.0,
        p99_ms: hist.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: hist.max() as f64 / 1000.0,
        server_cpu_seconds: match (cpu_before, cpu_after) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
        server_peak_rss_mb: rss,
    };
    if let Some((s, _prepared)) = server {
        stop_server(s).await;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("路径            {}", report.path);
        println!("数据库          {}", report.database);
        println!("并发            {}", report.concurrency);
        if let Some(r) = report.target_rate {
            println!("目标速率        {r} 次/秒");
        }
        println!(
            "请求数          {}（{} 秒）",
            report.requests, report.seconds
        );
        println!("吞吐            {:.0} 次/秒", report.requests_per_second);
        println!(
            "延迟 p50/p95/p99/max  {:.2} / {:.2} / {:.2} / {:.2} 毫秒",
            report.p50_ms, report.p95_ms, report.p99_ms, report.max_ms
        );
        println!("错误            {}", report.errors);
        if let Some(c) = report.server_cpu_seconds {
            println!("服务器 CPU      {c:.1} 秒");
        }
        if let Some(m) = report.server_peak_rss_mb {
            println!("服务器峰值内存  {m:.1} MB");
        }
    }
    Ok(if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// Today in China.
pub(crate) fn china_today() -> chrono::NaiveDate {
    jinglao_domain::clock::china_date(Utc::now())
}
