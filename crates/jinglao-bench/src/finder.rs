//! `jinglao bench finder`: generate N facilities (with beds) over Xiangtan and time a mix of
//! public finder searches (region, type, stars, price, nursing, vacancies, services, distance),
//! reporting p50/p95/max. The target is p95 under 50 ms at 10,000 facilities.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use chrono::Utc;
use hdrhistogram::Histogram;
use jinglao_db::finder::{self, Query};
use jinglao_db::{Actor, facility_bulk, providers};
use jinglao_domain::facility::{FacilityKind, Functions, ServiceFunction};
use jinglao_domain::{RegionCode, Scope};
use jinglao_fixtures::synth;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Options of `bench finder`.
#[derive(Debug, clap::Args)]
pub struct FinderArgs {
    /// Facilities to generate.
    #[arg(long, default_value_t = 10_000)]
    facilities: usize,
    /// Searches to time.
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// `sqlite` or a PostgreSQL URL of an empty database.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn query(rng: &mut ChaCha8Rng, counties: &[&str]) -> Query {
    let mut q = Query {
        limit: 20,
        ..Query::default()
    };
    if rng.random_bool(0.6) {
        q.region = RegionCode::parse(counties[rng.random_range(0..counties.len())]).ok();
    }
    if rng.random_bool(0.4) {
        q.kind = Some(
            [
                FacilityKind::CareHome,
                FacilityKind::CommunityPost,
                FacilityKind::ExtremePovertyHome,
            ][rng.random_range(0..3)],
        );
    }
    if rng.random_bool(0.3) {
        q.min_stars = Some(rng.random_range(1..=4));
    }
    if rng.random_bool(0.3) {
        q.max_price_fen = Some(rng.random_range(15..40) * 10_000);
    }
    q.nursing = rng.random_bool(0.3);
    q.vacancies = rng.random_bool(0.5);
    if rng.random_bool(0.3) {
        q.functions = Functions::of(&[ServiceFunction::SIX[rng.random_range(0..6)]]);
    }
    if rng.random_bool(0.5) {
        q.near = Some((
            rng.random_range(27.70..27.95),
            rng.random_range(112.55..113.0),
        ));
        q.within_m = Some([3_000.0, 5_000.0, 10_000.0][rng.random_range(0..3)]);
    }
    q
}

/// Runs the benchmark.
pub async fn run(args: FinderArgs) -> Result<ExitCode> {
    if args.facilities == 0 || args.queries == 0 {
        bail!("--facilities 与 --queries 必须大于 0");
    }
    let p = crate::prepare(&args.db).await?;
    let started = Instant::now();
    let tree = {
        let mut c = p.db.acquire().await?;
        jinglao_domain::RegionTree::new(jinglao_db::regions::load_all(&mut c.conn()).await?)
    };
    let places = synth::places_under(&tree, &RegionCode::parse("4303")?);
    let specs = synth::facilities::facilities(&places, args.facilities, args.seed);
    let provider = {
        let mut c = p.db.acquire().await?;
        providers::list(&mut c.conn(), &Scope::All).await?
    };
    let ids: Vec<_> = provider.iter().map(|p| p.id).collect();
    facility_bulk::insert(
        &p.db,
        &p.keys.audit_chain,
        &Actor::cli(),
        &ids,
        &specs,
        Utc::now(),
    )
    .await?;
    // A third of institutions hold a current level; some beds are occupied.
    let until = (Utc::now() + chrono::Duration::days(400)).date_naive();
    facility_bulk::rate_and_fill_for_benchmark(&p.db, until).await?;
    let mut c = p.db.acquire().await?;
    let load_seconds = started.elapsed().as_secs_f64();
    let today = jinglao_domain::clock::china_date(Utc::now());
    let counties = ["4303", "430302", "430304", "430321", "430381", "430382"];
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    // Warm-up.
    for _ in 0..50 {
        finder::search(&mut c.conn(), &query(&mut rng, &counties), today).await?;
    }
    let mut h = Histogram::<u64>::new(3)?;
    let mut hits = 0usize;
    for _ in 0..args.queries {
        let q = query(&mut rng, &counties);
        let t = Instant::now();
        let r = finder::search(&mut c.conn(), &q, today).await?;
        h.record(t.elapsed().as_micros() as u64)?;
        hits += r.total;
    }
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "finder search, {} facilities on {} ({} searches, loaded in {load_seconds:.1} s)",
        args.facilities, p.label, args.queries
    );
    println!(
        "  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (mean {:.1} matches per search)",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.95)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        hits as f64 / args.queries as f64
    );
    println!(
        "  peak RSS {:.0} MB",
        crate::data::own_peak_rss_mb().unwrap_or(0.0)
    );
    let ok = h.value_at_quantile(0.95) < 50_000;
    println!(
        "  target p95 < 50 ms: {}",
        if ok { "met" } else { "NOT met" }
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
