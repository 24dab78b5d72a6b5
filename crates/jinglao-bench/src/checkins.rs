//! `jinglao bench checkins`: the caregivers' check-in / check-out load test. Builds a city
//! database (by default 1,000,000 people), books a day of orders for 200 caregivers with their
//! own accounts and tokens, starts `jinglao serve` as its own process, and lets every caregiver
//! work through their round over the API — check in, check out with the code, next — for a
//! bounded time: by default at a fixed offered rate (2,000 requests a second shared by all,
//! latency counted from when each request was due), or with `--rate 0` as fast as the server
//! answers (capacity). Reports requests per second, latency percentiles per
//! kind, errors and the server's CPU and memory; afterwards it counts the visits in the
//! database against what the server acknowledged: none lost, none duplicated.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::Utc;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use jinglao_db::visit_bulk::{self, DaySpec, Round};
use jinglao_db::{Actor, Db, PoolSettings, tokens, users, visits};
use jinglao_domain::{RegionCode, Role, Username};
use jinglao_web::auth::{password, secrets};
use serde_json::json;
use uuid::Uuid;

use crate::china_today;
use crate::{histogram, prepare, spawn_server, stop_server};

/// Options of `bench checkins`.
#[derive(Debug, clap::Args)]
pub struct CheckinArgs {
    /// People to generate and load.
    #[arg(long, default_value_t = 1_000_000)]
    elders: usize,
    /// Concurrent caregivers (one keep-alive connection and one account each).
    #[arg(long, default_value_t = 200)]
    caregivers: usize,
    /// Providers the caregivers work for.
    #[arg(long, default_value_t = 20)]
    providers: usize,
    /// Requests per second offered by all caregivers together, each sending on a fixed
    /// schedule (latency counted from when a request was due, so a slow answer also delays
    /// and counts against the requests queued behind it); 0 sends each request as soon as the
    /// last one is answered, which measures capacity rather than latency at a load.
    #[arg(long, default_value_t = 2_000)]
    rate: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 300)]
    duration: u64,
    /// Warm-up seconds (not measured).
    #[arg(long, default_value_t = 10)]
    warmup: u64,
    /// `sqlite` (a fresh file in a temporary directory) or a PostgreSQL URL of an empty database.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Random seed for the people.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// What one caregiver's client saw.
struct Tally {
    hists: [Histogram<u64>; 2],
    errors: u64,
    /// Check-ins and check-outs the server answered 200 to (all, warm-up included).
    checked_in: u64,
    checked_out: u64,
    first_error: Option<String>,
}

struct Shared {
    addr: std::net::SocketAddr,
    measure_from: Instant,
    stop_at: Instant,
    /// Between one caregiver's requests, when paced.
    interval: Option<Duration>,
}

async fn post(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: &str,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> Result<(u16, Bytes)> {
    let req = hyper::Request::post(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?;
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}

async fn caregiver(
    shared: Arc<Shared>,
    token: String,
    round: Round,
    first_due: Instant,
) -> Result<Tally> {
    let mut t = Tally {
        hists: [histogram()?, histogram()?],
        errors: 0,
        checked_in: 0,
        checked_out: 0,
        first_error: None,
    };
    let stream = tokio::net::TcpStream::connect(shared.addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let host = shared.addr.to_string();
    let mut due = first_due;
    for (order, lat, lon) in &round.orders {
        if Instant::now() >= shared.stop_at {
            break;
        }
        let visit = Uuid::now_v7();
        let stamp = |extra: serde_json::Value| {
            let mut b = json!({ "device_at": Utc::now().to_rfc3339(), "lat": lat, "lon": lon });
            for (k, v) in extra.as_object().into_iter().flatten() {
                b[k] = v.clone();
            }
            b
        };
        let steps = [
            (
                0usize,
                "/api/v1/visits/check-in".to_string(),
                stamp(json!({ "visit_id": visit, "order_id": order })),
            ),
            (
                1,
                format!("/api/v1/visits/{visit}/check-out"),
                stamp(json!({ "code": "246810" })),
            ),
        ];
        for (kind, path, body) in steps {
            let started = match shared.interval {
                Some(every) => {
                    tokio::time::sleep_until(due.into()).await;
                    let at = due;
                    due += every;
                    at
                }
                None => Instant::now(),
            };
            let answer = post(&mut sender, &host, &token, &path, body).await;
            let us = started.elapsed().as_micros().max(1) as u64;
            let ok = matches!(answer, Ok((200, _)));
            if ok {
                if kind == 0 {
                    t.checked_in += 1;
                } else {
                    t.checked_out += 1;
                }
            } else if t.first_error.is_none() {
                t.first_error = Some(match &answer {
                    Ok((s, b)) => format!("{s} {}", String::from_utf8_lossy(b)),
                    Err(e) => e.to_string(),
                });
            }
            if started >= shared.measure_from {
                t.hists[kind].saturating_record(us);
                if !ok {
                    t.errors += 1;
                }
            }
            if !ok {
                if sender.is_closed() {
                    return Ok(t);
                }
                break;
            }
        }
    }
    Ok(t)
}

/// Runs `bench checkins`.
pub async fn run(args: CheckinArgs) -> Result<ExitCode> {
    if args.caregivers == 0 || args.providers == 0 || args.elders == 0 {
        bail!("--elders、--caregivers、--providers 都必须大于 0");
    }
    let p = prepare(&args.db).await?;
    eprintln!("生成并写入 {} 人……", args.elders);
    let started = Instant::now();
    {
        let people = crate::data::generate(args.elders, args.seed)?;
        jinglao_fixtures::demo::load_population(&p.db, &p.keys, &people, "bench checkins", |_| {})
            .await?;
    }
    let people_seconds = started.elapsed().as_secs_f64();
    // Enough orders that nobody runs out: 12 visits a second each is far beyond the target.
    let per = (12 * (args.warmup + args.duration) as usize).max(10);
    eprintln!(
        "为 {} 名护理员各预约 {per} 单，并建立账号……",
        args.caregivers
    );
    let day = china_today();
    let rounds = visit_bulk::book_day(
        &p.db,
        &DaySpec {
            providers: args.providers,
            caregivers: args.caregivers,
            orders_per_caregiver: per,
            day,
        },
    )
    .await?;
    let cli = Actor::cli();
    let chain = &p.keys.audit_chain;
    let hash = password::hash(&secrets::random_secret()).await?;
    let now = Utc::now();
    let mut tokens_of = Vec::with_capacity(rounds.len());
    for (n, r) in rounds.iter().enumerate() {
        let account = users::create(
            &p.db,
            chain,
            &cli,
            users::NewAccount {
                username: Username::parse(&format!("bench_carer_{n}"))?,
                display_name: format!("压测护理员{n}"),
                role: Role::Caregiver,
                region_code: RegionCode::parse("430302")?,
                provider_id: Some(r.provider),
                password_hash: hash.clone(),
                must_change_password: false,
            },
            now,
        )
        .await?;
        visits::link_account(&p.db, chain, &cli, account.id, r.caregiver, now).await?;
        let token = secrets::new_api_token();
        tokens::create_integration(
            &jinglao_db::WriteCtx::new(&p.db, chain, &cli, now),
            account.id,
            "bench checkins",
            &secrets::digest(&token),
            now + chrono::Duration::days(1),
        )
        .await?;
        tokens_of.push(token);
    }
    let (server, addr) = spawn_server(&p).await?;
    let pid = server.child.id();
    let cpu_before = crate::process_usage(pid).0;
    eprintln!(
        "{} 名护理员同时签到签退：预热 {} 秒，测量 {} 秒……",
        args.caregivers, args.warmup, args.duration
    );
    let start = Instant::now();
    let interval =
        (args.rate > 0).then(|| Duration::from_secs_f64(args.caregivers as f64 / args.rate as f64));
    let shared = Arc::new(Shared {
        addr,
        measure_from: start + Duration::from_secs(args.warmup),
        stop_at: start + Duration::from_secs(args.warmup + args.duration),
        interval,
    });
    // Paced caregivers start evenly spread over one interval, not all in the same instant.
    let handles: Vec<_> = rounds
        .into_iter()
        .zip(tokens_of)
        .enumerate()
        .map(|(n, (r, t))| {
            let offset = interval.map_or(Duration::ZERO, |i| i * n as u32 / args.caregivers as u32);
            tokio::spawn(caregiver(shared.clone(), t, r, start + offset))
        })
        .collect();
    let mut hists = [histogram()?, histogram()?];
    let (mut errors, mut checked_in, mut checked_out) = (0, 0, 0);
    let mut first_error = None;
    for h in handles {
        let t = h.await??;
        for (all, one) in hists.iter_mut().zip(&t.hists) {
            all.add(one)?;
        }
        errors += t.errors;
        checked_in += t.checked_in;
        checked_out += t.checked_out;
        first_error = first_error.or(t.first_error);
    }
    let elapsed = start.elapsed().as_secs_f64() - args.warmup as f64;
    let (cpu_after, rss) = crate::process_usage(pid);
    stop_server(server).await;

    let db = Db::connect(&p.db_url, &PoolSettings::default()).await?;
    let (visits_n, out_n, doubled) = visit_bulk::reconcile(&db).await?;
    let mut all = histogram()?;
    for h in &hists {
        all.add(h)?;
    }
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "数据库 {}；{} 人（生成并写入 {people_seconds:.1} 秒）；{} 名护理员，{} 家机构",
        p.label, args.elders, args.caregivers, args.providers
    );
    let offered = if args.rate > 0 {
        format!("按计划发送 {} 次/秒", args.rate)
    } else {
        "每个护理员收到应答即发下一次".to_string()
    };
    println!(
        "测量 {elapsed:.0} 秒（{offered}）：{} 次请求，{:.0} 次/秒（目标 ≥ 2000），错误 {errors}",
        all.len(),
        all.len() as f64 / elapsed
    );
    for (name, h) in [("签到", &hists[0]), ("签退", &hists[1]), ("全部", &all)] {
        println!(
            "{name}  p50 {:.1} / p95 {:.1} / p99 {:.1} / max {:.1} 毫秒（目标 p99 < 50）",
            ms(h, 0.50),
            ms(h, 0.95),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
    println!(
        "核对：服务器确认签到 {checked_in} 次、签退 {checked_out} 次；数据库中服务记录 {visits_n} 条、已签退 {out_n} 条；同一工单多条记录 {doubled} 个"
    );
    if let Some(c) = cpu_before.zip(cpu_after).map(|(a, b)| b - a) {
        println!("服务器 CPU {c:.1} 秒");
    }
    if let Some(m) = rss {
        println!("服务器峰值内存 {m:.0} MB");
    }
    if let Some(e) = &first_error {
        println!("第一个错误：{e}");
    }
    let lost = checked_in as i64 - visits_n;
    let consistent = lost == 0 && out_n == checked_out as i64 && doubled == 0;
    if !consistent {
        println!(
            "不一致：丢失 {lost} 条，签退差 {}",
            checked_out as i64 - out_n
        );
    }
    Ok(if errors == 0 && consistent {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
