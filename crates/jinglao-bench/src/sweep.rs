//! `jinglao bench sweep`: proactive matching (服务找人) at scale.
//!
//! The parent generates N people and loads them (untimed for the target), publishes a city list
//! of 30 items (the six demo items and 24 more written in the same rule language), and runs
//! `jinglao bench sweep-child` as a separate process so that its peak memory is the sweep's
//! alone. The child:
//!
//! 1. loads everyone's facts from the database (timed: "load");
//! 2. packs them for the list and asks every person about every item, several rounds, keeping
//!    the best and the median (timed: "pack", "match" — the target excludes loading);
//! 3. writes the packed facts as CSV and the 30 rules as SQL CASE expressions for DuckDB;
//! 4. runs the whole stored sweep twice (`jinglao_db::eligibility::sweep`: load, match,
//!    compare, write), the first writing every answer, the second finding nothing changed.
//!
//! The parent then runs the same 30 rules in DuckDB (bench/duckdb_sweep.py) over the same
//! packed facts, checks that every item's count agrees, and reports both times and the ratio.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use jinglao_db::eligibility::{self, SweepOptions, Trigger};
use jinglao_db::{Actor, Db, PoolSettings};
use jinglao_domain::RegionCode;
use jinglao_domain::category::CategoryKind;
use jinglao_domain::rules::{Packed, Program, Rule};
use jinglao_domain::service_list::{
    Payer, Quota, ServiceCategory, ServiceItem, xiangtan_demo_list,
};
use serde::{Deserialize, Serialize};

use crate::china_today;
use crate::prepare;

/// Options of `bench sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// People to generate and load.
    #[arg(long, default_value_t = 1_000_000)]
    elders: usize,
    /// `sqlite` (a fresh file in a temporary directory) or a PostgreSQL URL of an empty
    /// database.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Random seed of the generated people.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Timed rounds of packing and matching (best and median reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Skip the DuckDB comparison (needs `python3 -m pip install duckdb`).
    #[arg(long)]
    no_peer: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Options of the child process (not for people).
#[derive(Debug, clap::Args)]
pub struct SweepChildArgs {
    /// Database URL.
    #[arg(long)]
    db: String,
    /// Region to sweep.
    #[arg(long, default_value = "4303")]
    region: String,
    /// Timed rounds.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Where to write the packed facts (CSV) and the rules (JSON) for the peer.
    #[arg(long)]
    out: PathBuf,
}

/// What the child measured.
#[derive(Debug, Serialize, Deserialize)]
struct ChildReport {
    people: usize,
    items: usize,
    load_seconds: f64,
    pack_best: f64,
    pack_median: f64,
    match_best: f64,
    match_median: f64,
    counts: Vec<u64>,
    stored_first: Vec<(String, f64)>,
    stored_first_seconds: f64,
    stored_second: Vec<(String, f64)>,
    stored_second_seconds: f64,
    second_changes: usize,
    /// Peak resident memory while packing and matching (the peak is reset after loading; the
    /// loaded people are resident throughout and counted).
    match_peak_rss_mb: Option<f64>,
    /// Peak resident memory of the stored sweeps (reset before them): everything, including
    /// pages of the SQLite file read through its memory map.
    stored_peak_rss_mb: Option<f64>,
}

/// Resets the process's peak resident memory to the current one (Linux: `clear_refs` 5).
pub(crate) fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// What DuckDB measured.
#[derive(Debug, Deserialize)]
struct PeerReport {
    version: String,
    load_seconds: f64,
    match_best: f64,
    match_median: f64,
    counts: Vec<u64>,
}

#[derive(Debug, Serialize)]
struct SweepReport {
    database: String,
    elders: usize,
    items: usize,
    generate_and_load_seconds: f64,
    child: ChildReport,
    duckdb_version: Option<String>,
    duckdb_match_best: Option<f64>,
    duckdb_match_median: Option<f64>,
    ratio_match_to_duckdb: Option<f64>,
    counts_agree: Option<bool>,
}

/// The 30-item city list of the benchmark: the demo items and 24 more of the shapes the
/// policy texts use (age thresholds, categories, ability levels, living arrangement, children,
/// residence in a county).
pub fn bench_items(from: NaiveDate) -> Vec<ServiceItem> {
    let mut items = xiangtan_demo_list(from);
    let cats: Vec<&str> = CategoryKind::ALL.iter().map(|k| k.label()).collect();
    let counties = ["430302", "430304", "430321", "430381", "430382"];
    for k in 0..24usize {
        let cat = cats[k % cats.len()];
        let other = cats[(k + 3) % cats.len()];
        let rule = match k % 6 {
            0 => format!("age >= {} and \"{cat}\" in categories", 65 + k),
            1 => format!(
                "ability in [\"中度失能\", \"重度失能\"] and resides_locally and age >= {}",
                60 + k
            ),
            2 => format!(
                "(living = \"独居\" or \"空巢\" in categories) and age >= {}",
                70 + k / 2
            ),
            3 => format!("\"{cat}\" in categories and not children_can_care"),
            4 => format!(
                "region within \"{}\" and age >= {}",
                counties[k % counties.len()],
                75 + k % 10
            ),
            _ => format!(
                "ability_level >= {} and hukou_local and \"{other}\" not in categories",
                k % 5
            ),
        };
        items.push(ServiceItem {
            code: format!("XT-BM-{:02}", k + 1),
            name: format!("测试项目{}", k + 1),
            category: ServiceCategory::Caring,
            target: Rule::parse(&rule).expect("the bench rules parse"),
            content: "基准测试用项目".into(),
            payer: Payer::GovernmentInFull,
            quota: Quota::Unlimited,
            effective_from: from,
            effective_to: None,
            basis: "基准测试".into(),
        });
    }
    items
}

fn seconds(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

fn best_and_median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2])
}

/// Writes the packed facts as CSV for the peer.
fn write_packed(path: &Path, packed: &[Packed]) -> Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "region,birth,categories,age,ability,living,sex,flags")?;
    for p in packed {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{}",
            p.region, p.birth, p.categories, p.age, p.ability, p.living, p.sex, p.flags
        )?;
    }
    Ok(w.flush()?)
}

/// `bench sweep-child`: loads, matches, writes the peer's input, runs the stored sweep.
pub async fn child(args: SweepChildArgs) -> Result<ExitCode> {
    let db = Db::connect(&args.db, &PoolSettings::default()).await?;
    let root = RegionCode::parse(&args.region)?;
    let on = china_today();
    let book = jinglao_db::policy::book(&db).await?;
    let mut c = db.acquire().await?;
    let lists = eligibility::lists_for(&mut c.conn(), &root, on, &book).await?;
    let started = Instant::now();
    let people = eligibility::load_people(&mut c.conn(), &root, on).await?;
    let load_seconds = seconds(started.elapsed());
    drop(c);
    // Closing the pool unmaps SQLite's file, so the peak below is the sweep's own memory.
    db.close().await;
    if lists.len() != 1 {
        bail!("基准测试应只有一份市级清单，实际 {} 份", lists.len());
    }
    reset_peak();
    let (mut packs, mut matches) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..args.rounds.max(1) {
        let t = Instant::now();
        let (which, packed) = eligibility::pack(&people, &lists, on);
        packs.push(seconds(t.elapsed()));
        let t = Instant::now();
        let answers = eligibility::answer(&lists, which, &packed, 0);
        matches.push(seconds(t.elapsed()));
        last = Some((packed, answers));
    }
    let (packed, answers) = last.expect("one round");
    let match_peak_rss_mb = crate::data::own_peak_rss_mb();
    let items = lists[0].list.items.len();
    let counts: Vec<u64> = (0..items)
        .map(|n| answers.mask.iter().filter(|m| *m & (1 << n) != 0).count() as u64)
        .collect();
    // The peer's input: everyone on the register (the others answer nothing either way).
    let active: Vec<Packed> = packed
        .iter()
        .zip(&answers.list)
        .filter(|(_, w)| w.is_some())
        .map(|(p, _)| *p)
        .collect();
    write_packed(&args.out.join("people.csv"), &active)?;
    let rules: Vec<String> = lists[0]
        .list
        .items
        .iter()
        .map(|i| Program::new(&i.target, on).to_sql())
        .collect();
    std::fs::write(args.out.join("rules.json"), serde_json::to_vec(&rules)?)?;
    drop((packed, active, answers, people));
    reset_peak();

    let db = Db::connect(&args.db, &PoolSettings::default()).await?;
    let chain = jinglao_db::audit::ChainKey([0; 32]);
    let opts = SweepOptions {
        trigger: Trigger::Manual,
        on,
        threads: 0,
    };
    let t = Instant::now();
    let first = eligibility::sweep(&db, &chain, &Actor::cli(), &root, &book, opts).await?;
    let stored_first_seconds = seconds(t.elapsed());
    let t = Instant::now();
    let second = eligibility::sweep(&db, &chain, &Actor::cli(), &root, &book, opts).await?;
    let stored_second_seconds = seconds(t.elapsed());
    let steps = |r: &eligibility::SweepReport| {
        r.steps
            .iter()
            .map(|(s, d)| (s.to_string(), seconds(*d)))
            .collect::<Vec<_>>()
    };
    let (pack_best, pack_median) = best_and_median(packs);
    let (match_best, match_median) = best_and_median(matches);
    let report = ChildReport {
        people: first.people,
        items,
        load_seconds,
        pack_best,
        pack_median,
        match_best,
        match_median,
        counts,
        stored_first: steps(&first),
        stored_first_seconds,
        stored_second: steps(&second),
        stored_second_seconds,
        second_changes: second.gained + second.lost,
        match_peak_rss_mb,
        stored_peak_rss_mb: crate::data::own_peak_rss_mb(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// The peer script, shipped in the repository.
fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/duckdb_sweep.py")
}

/// Runs `bench sweep`.
pub async fn run(args: SweepArgs) -> Result<ExitCode> {
    if args.elders == 0 {
        bail!("--elders 必须大于 0");
    }
    let p = prepare(&args.db).await?;
    eprintln!("生成并写入 {} 人……", args.elders);
    let started = Instant::now();
    {
        let people = crate::data::generate(args.elders, args.seed)?;
        jinglao_fixtures::demo::load_population(&p.db, &p.keys, &people, "bench sweep", |_| {})
            .await?;
    }
    let generate_and_load_seconds = seconds(started.elapsed());
    let items = bench_items(NaiveDate::from_ymd_opt(2024, 1, 1).expect("a valid date"));
    jinglao_db::service_lists::publish(
        &jinglao_db::WriteCtx::new(
            &p.db,
            &p.keys.audit_chain,
            &Actor::cli(),
            chrono::Utc::now(),
        ),
        RegionCode::parse("4303")?,
        "湘潭市基本养老服务清单（基准测试 30 项）",
        "基准测试",
        &items,
    )
    .await?;
    p.db.close().await;

    eprintln!("服务找人：子进程读取、匹配、写入……");
    let out = p.dir.path().to_path_buf();
    let output = Command::new(std::env::current_exe()?)
        .args(["bench", "sweep-child", "--db", &p.db_url, "--rounds"])
        .arg(args.rounds.to_string())
        .arg("--out")
        .arg(&out)
        .output()
        .context("启动 bench sweep-child")?;
    if !output.status.success() {
        bail!(
            "bench sweep-child 失败：{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let child: ChildReport = serde_json::from_slice(&output.stdout)
        .with_context(|| String::from_utf8_lossy(&output.stdout).to_string())?;

    let peer = if args.no_peer {
        None
    } else {
        eprintln!("DuckDB：同样的 30 条规则……");
        let o = Command::new("python3")
            .arg(peer_script())
            .arg(out.join("people.csv"))
            .arg(out.join("rules.json"))
            .arg(args.rounds.to_string())
            .output()
            .context("运行 python3 bench/duckdb_sweep.py")?;
        if !o.status.success() {
            bail!(
                "DuckDB 对照失败（python3 -m pip install duckdb？）：{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Some(serde_json::from_slice::<PeerReport>(&o.stdout)?)
    };
    let report = SweepReport {
        database: p.label.clone(),
        elders: args.elders,
        items: child.items,
        generate_and_load_seconds,
        duckdb_version: peer.as_ref().map(|p| p.version.clone()),
        duckdb_match_best: peer.as_ref().map(|p| p.match_best),
        duckdb_match_median: peer.as_ref().map(|p| p.match_median),
        ratio_match_to_duckdb: peer.as_ref().map(|p| child.match_best / p.match_best),
        counts_agree: peer.as_ref().map(|p| p.counts == child.counts),
        child,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report, peer.as_ref());
    }
    drop(p);
    Ok(if report.counts_agree == Some(false) {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(r: &SweepReport, peer: Option<&PeerReport>) {
    let c = &r.child;
    println!("数据库            {}", r.database);
    println!(
        "人数 × 项目       {} × {}（生成并写入 {:.1} 秒，不计入）",
        c.people, c.items, r.generate_and_load_seconds
    );
    println!("读取事实          {:.2} 秒", c.load_seconds);
    println!(
        "打包事实          最好 {:.3} 秒，中位 {:.3} 秒",
        c.pack_best, c.pack_median
    );
    println!(
        "匹配 30 条规则    最好 {:.3} 秒，中位 {:.3} 秒",
        c.match_best, c.match_median
    );
    println!(
        "打包 + 匹配       最好 {:.3} 秒（目标 < 1 秒）",
        c.pack_best + c.match_best
    );
    if let Some(mb) = c.match_peak_rss_mb {
        println!("匹配时峰值内存    {mb:.0} MB（目标 < 1024 MB；含已读入的全部事实）");
    }
    if let Some(p) = peer {
        println!(
            "DuckDB {}    读入 {:.2} 秒；匹配 最好 {:.3} 秒，中位 {:.3} 秒",
            p.version, p.load_seconds, p.match_best, p.match_median
        );
        println!(
            "比值（本系统 / DuckDB，匹配最好值）  {:.2}；各项目人数{}",
            c.match_best / p.match_best,
            if p.counts == c.counts {
                "一致"
            } else {
                "不一致！"
            }
        );
    }
    let steps = |s: &[(String, f64)]| {
        s.iter()
            .map(|(n, t)| format!("{n} {t:.2}"))
            .collect::<Vec<_>>()
            .join("，")
    };
    println!(
        "入库扫描（首次）  {:.2} 秒：{}",
        c.stored_first_seconds,
        steps(&c.stored_first)
    );
    println!(
        "入库扫描（再次）  {:.2} 秒：{}；变化 {}",
        c.stored_second_seconds,
        steps(&c.stored_second),
        c.second_changes
    );
    if let Some(mb) = c.stored_peak_rss_mb {
        let note = if r.database == "sqlite" {
            "（含经内存映射读取的 SQLite 文件页）"
        } else {
            ""
        };
        println!("入库扫描峰值内存  {mb:.0} MB{note}");
    }
}
