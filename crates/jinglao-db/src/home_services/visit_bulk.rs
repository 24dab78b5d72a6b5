//! A month of home-service visits generated in bulk for the settlement benchmark: providers with
//! contract prices (half of them with a price change mid-month), caregivers employed by them,
//! and for every caregiver a round of people living next to each other (the registered people
//! sorted by residence, cut into blocks), seven or eight visits a day, each checked in and out
//! at the person's home with the code confirmed — as `visits::check_out` would have left them.
//! A few people are then registered as dead mid-month, the late fact the month-end re-check is
//! for. Multi-row inserts in one transaction per table; not audited (benchmark data only).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::orders::month_of;
use crate::{Conn, Db, DbError, on_conn};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Providers.
    pub providers: usize,
    /// Caregivers (spread over the providers).
    pub caregivers: usize,
    /// Visits in the month.
    pub visits: usize,
    /// First day of the month.
    pub month: NaiveDate,
    /// Seed.
    pub seed: u64,
    /// Share of the visited people registered dead mid-month, per mille.
    pub deaths_per_mille: u64,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// Provider ids.
    pub providers: Vec<Uuid>,
    /// Visits inserted.
    pub visits: usize,
    /// People registered dead mid-month.
    pub deaths: usize,
}

/// Active people with a registered position, neighbours next to each other (sorted by
/// residence): the homes the generated rounds visit.
async fn positioned_people(db: &Db) -> Result<Vec<Person>, DbError> {
    let mut c = db.acquire().await?;
    Ok(on_conn!(&mut c.conn(), |c| {
        sqlx::query_as(
            "SELECT id, residence_region_code, latitude, longitude FROM elders \
             WHERE status = 'active' AND latitude IS NOT NULL AND longitude IS NOT NULL \
             ORDER BY residence_region_code, id",
        )
        .fetch_all(&mut *c)
        .await
    })?)
}

/// splitmix64: a small deterministic generator (benchmark data only).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(sqlx::FromRow)]
struct Person {
    id: Uuid,
    residence_region_code: String,
    latitude: f64,
    longitude: f64,
}

struct VisitRow {
    id: Uuid,
    order: Uuid,
    provider: Uuid,
    caregiver: Uuid,
    person: usize,
    item: &'static str,
    funding: &'static str,
    day: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    price: i64,
    jitter: (f64, f64, f64, f64),
}

/// The items and prices of the benchmark (fen): 居家服务 changes price on the 16th for every
/// second provider.
fn price(item: &str, provider_no: usize, day: u32) -> i64 {
    match item {
        "XT-JJ-01" if provider_no.is_multiple_of(2) && day >= 16 => 4_800,
        "XT-JJ-01" => 4_500,
        _ => 1_200,
    }
}

/// Providers with contract prices (half change 居家服务's price on the 16th of `month_first`'s
/// month) and caregivers employed by them in turn.
async fn insert_staffing(
    conn: &mut Conn<'_>,
    providers_n: usize,
    caregivers_n: usize,
    month_first: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(Vec<Uuid>, Vec<Uuid>), DbError> {
    let providers: Vec<Uuid> = (0..providers_n).map(|_| Uuid::now_v7()).collect();
    for (n, id) in providers.iter().enumerate() {
        on_conn!(&mut *conn, |c| {
            sqlx::query(
                "INSERT INTO providers (id, name, credit_code, region_code, created_at, updated_at) \
                 VALUES ($1, $2, $3, '430300000000', $4, $4)",
            )
            .bind(id).bind(format!("基准服务机构{n:03}")).bind(format!("BENCH{n:013}")).bind(now)
            .execute(&mut *c).await.map(|_| ())
        })?;
    }
    // Government-paid visits are charged only at a contract's price: one contract each.
    let groups: Vec<Vec<Uuid>> = providers.iter().map(|p| vec![*p]).collect();
    let contracts = crate::purchase::bulk::contracts_for(
        &mut *conn,
        &groups,
        month_first - chrono::Months::new(12),
        month_first + chrono::Months::new(12),
        now,
    )
    .await?;
    for (n, (id, contract)) in providers.iter().zip(&contracts).enumerate() {
        let last = month_first.with_day(15).expect("the 15th");
        let mut prices = vec![("XT-ZH-02", NaiveDate::from_ymd_opt(2024, 1, 1), None, 1_200)];
        if n.is_multiple_of(2) {
            prices.push((
                "XT-JJ-01",
                NaiveDate::from_ymd_opt(2024, 1, 1),
                Some(last),
                4_500,
            ));
            prices.push(("XT-JJ-01", last.succ_opt(), None, 4_800));
        } else {
            prices.push(("XT-JJ-01", NaiveDate::from_ymd_opt(2024, 1, 1), None, 4_500));
        }
        for (item, from, to, fen) in prices {
            on_conn!(&mut *conn, |c| {
                sqlx::query(
                    "INSERT INTO service_prices (id, provider_id, item_code, valid_from, valid_to, \
                     unit_fen, min_minutes, needs_certificate, basis, created_at, contract_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, 30, FALSE, '基准测试合同', $7, $8)",
                )
                .bind(Uuid::now_v7())
                .bind(id)
                .bind(item)
                .bind(from)
                .bind(to)
                .bind(fen)
                .bind(now)
                .bind(contract.contract_id)
                .execute(&mut *c)
                .await
                .map(|_| ())
            })?;
        }
    }
    let caregivers: Vec<Uuid> = (0..caregivers_n).map(|_| Uuid::now_v7()).collect();
    for (chunk_no, chunk) in caregivers.chunks(1_000).enumerate() {
        on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO staff (id, name, id_cipher, id_hash, id_masked, sex, birth_date, role, \
                 created_at, updated_at) ",
            );
            q.push_values(chunk.iter().enumerate(), |mut b, (i, id)| {
                let n = chunk_no * 1_000 + i;
                b.push_bind(*id)
                    .push_bind(format!("护理员{n}"))
                    .push_bind(vec![0u8; 16])
                    .push_bind(format!("bench-staff-{n}"))
                    .push_bind("4303*************0")
                    .push_bind("female")
                    .push_bind(NaiveDate::from_ymd_opt(1975, 1, 1))
                    .push_bind("caregiver")
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
        on_conn!(&mut *conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO employments (id, staff_id, provider_id, role, start_on, full_time, created_at) ",
            );
            q.push_values(chunk.iter().enumerate(), |mut b, (i, id)| {
                let n = chunk_no * 1_000 + i;
                b.push_bind(Uuid::now_v7())
                    .push_bind(*id)
                    .push_bind(providers[n % providers.len()])
                    .push_bind("caregiver")
                    .push_bind(NaiveDate::from_ymd_opt(2024, 1, 1))
                    .push_bind(true)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok((providers, caregivers))
}

/// Generates and inserts the month. Needs the registry loaded (people with positions).
pub async fn generate(db: &Db, spec: &Spec) -> Result<Generated, DbError> {
    let now = Utc::now();
    let mut rng = Mix(spec.seed);
    let month = month_of(spec.month);
    let people = positioned_people(db).await?;
    if people.is_empty() || spec.providers == 0 || spec.caregivers == 0 {
        return Err(DbError::Config(
            "the benchmark needs people with positions, providers and caregivers".into(),
        ));
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let (providers, caregivers) =
        insert_staffing(&mut conn, spec.providers, spec.caregivers, spec.month, now).await?;
    // Each caregiver's round: a block of neighbours, visited in turn, 08:00 onwards, 80 minutes
    // apart, an hour each, on days 1–28.
    let per_carer = spec.visits.div_ceil(spec.caregivers);
    let block = (people.len() / spec.caregivers).max(1);
    let mut rows = Vec::with_capacity(spec.visits);
    'carers: for (c, carer) in caregivers.iter().enumerate() {
        let first = (c * block) % people.len();
        let provider_no = c % providers.len();
        for k in 0..per_carer {
            if rows.len() == spec.visits {
                break 'carers;
            }
            let per_day = per_carer.div_ceil(28);
            let day = spec
                .month
                .with_day(1 + (k / per_day) as u32)
                .expect("days 1–28");
            let slot = (k % per_day) as i64;
            let start = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
                + Duration::minutes(80 * slot)
                + Duration::seconds(rng.below(300) as i64);
            let item = if rng.below(10) < 8 {
                "XT-JJ-01"
            } else {
                "XT-ZH-02"
            };
            let j = |r: &mut Mix| (r.below(400) as f64 - 200.0) * 1e-6;
            rows.push(VisitRow {
                id: Uuid::now_v7(),
                order: Uuid::now_v7(),
                provider: providers[provider_no],
                caregiver: *carer,
                person: first + (k * 7) % block.min(people.len() - first),
                item,
                funding: if rng.below(10) < 9 {
                    "entitlement"
                } else {
                    "self_pay"
                },
                day,
                start,
                end: start + Duration::minutes(60),
                price: price(item, provider_no, day.day()),
                jitter: (j(&mut rng), j(&mut rng), j(&mut rng), j(&mut rng)),
            });
        }
    }
    for chunk in rows.chunks(1_500) {
        on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO service_orders (id, elder_id, region_code, provider_id, item_code, funding, \
                 service_on, service_month, window_start, window_end, minutes, price_fen, confirm_code, \
                 status, caregiver_id, channel, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, r| {
                let p = &people[r.person];
                b.push_bind(r.order)
                    .push_bind(p.id)
                    .push_bind(&p.residence_region_code)
                    .push_bind(r.provider)
                    .push_bind(r.item)
                    .push_bind(r.funding)
                    .push_bind(r.day)
                    .push_bind(&month)
                    .push_bind(r.start)
                    .push_bind(r.end)
                    .push_bind(60i32)
                    .push_bind(r.price)
                    .push_bind("246810")
                    .push_bind("done")
                    .push_bind(r.caregiver)
                    .push_bind("staff")
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    for chunk in rows.chunks(1_000) {
        on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO visits (id, order_id, provider_id, caregiver_id, elder_id, region_code, \
                 item_code, funding, service_on, service_month, in_at, in_device_at, in_received_at, \
                 in_lat, in_lon, out_at, out_device_at, out_received_at, out_lat, out_lon, confirmation, \
                 code_entered, code_matched, status, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, r| {
                let p = &people[r.person];
                b.push_bind(r.id)
                    .push_bind(r.order)
                    .push_bind(r.provider)
                    .push_bind(r.caregiver)
                    .push_bind(p.id)
                    .push_bind(&p.residence_region_code)
                    .push_bind(r.item)
                    .push_bind(r.funding)
                    .push_bind(r.day)
                    .push_bind(&month)
                    .push_bind(r.start)
                    .push_bind(r.start)
                    .push_bind(r.start + Duration::seconds(2))
                    .push_bind(p.latitude + r.jitter.0)
                    .push_bind(p.longitude + r.jitter.1)
                    .push_bind(r.end)
                    .push_bind(r.end)
                    .push_bind(r.end + Duration::seconds(2))
                    .push_bind(p.latitude + r.jitter.2)
                    .push_bind(p.longitude + r.jitter.3)
                    .push_bind("code")
                    .push_bind("246810")
                    .push_bind(true)
                    .push_bind("verified")
                    .push_bind(r.end)
                    .push_bind(r.end);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    // Late facts: some visited people registered dead on the 10th.
    let mut dead: Vec<Uuid> = rows
        .iter()
        .filter(|_| rng.below(1_000) < spec.deaths_per_mille)
        .map(|r| people[r.person].id)
        .collect();
    dead.sort();
    dead.dedup();
    let tenth = spec.month.with_day(10).expect("the 10th");
    for chunk in dead.chunks(1_000) {
        on_conn!(&mut conn, |c| {
            let mut q =
                sqlx::QueryBuilder::new("UPDATE elders SET status = 'deceased', status_date = ");
            q.push_bind(tenth).push(" WHERE id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    tx.commit().await?;
    Ok(Generated {
        providers,
        visits: rows.len(),
        deaths: dead.len(),
    })
}

/// Writes the month's visits (provider, funding, item, day, status) and every contract price
/// as CSV for the benchmark's peer.
pub async fn export_month(
    db: &Db,
    month: &str,
    visits_csv: &std::path::Path,
    prices_csv: &std::path::Path,
) -> Result<(), DbError> {
    use std::io::Write;
    let io = |e: std::io::Error| DbError::Config(format!("writing the peer's input: {e}"));
    let mut c = db.acquire().await?;
    let visits: Vec<(Uuid, String, String, NaiveDate, String)> = on_conn!(&mut c.conn(), |c| {
        sqlx::query_as(
            "SELECT provider_id, funding, item_code, service_on, status FROM visits WHERE service_month = $1",
        )
        .bind(month).fetch_all(&mut *c).await
    })?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(visits_csv).map_err(io)?);
    writeln!(w, "provider,funding,item,day,status").map_err(io)?;
    for (p, f, i, d, s) in visits {
        writeln!(w, "{p},{f},{i},{d},{s}").map_err(io)?;
    }
    w.flush().map_err(io)?;
    let prices: Vec<(Uuid, String, NaiveDate, Option<NaiveDate>, i64)> =
        on_conn!(&mut c.conn(), |c| {
            sqlx::query_as(
                "SELECT provider_id, item_code, valid_from, valid_to, unit_fen FROM service_prices",
            )
            .fetch_all(&mut *c)
            .await
        })?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(prices_csv).map_err(io)?);
    writeln!(w, "provider,item,valid_from,valid_to,unit_fen").map_err(io)?;
    for (p, i, from, to, fen) in prices {
        let to = to.map(|d| d.to_string()).unwrap_or_default();
        writeln!(w, "{p},{i},{from},{to},{fen}").map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Copies a SQLite database to `path` (`VACUUM INTO`), for looking at the benchmark's query
/// plans afterwards; refused on PostgreSQL.
pub async fn copy_sqlite(db: &Db, path: &std::path::Path) -> Result<(), DbError> {
    if db.backend() != crate::Backend::Sqlite {
        return Err(DbError::Config("--keep needs SQLite".into()));
    }
    let target = path.display().to_string().replace('\'', "''");
    let mut c = db.acquire().await?;
    on_conn!(&mut c.conn(), |c| {
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{target}'")))
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// A day of booked orders for the check-in load test.
#[derive(Debug, Clone, Copy)]
pub struct DaySpec {
    /// Providers.
    pub providers: usize,
    /// Caregivers (spread over the providers).
    pub caregivers: usize,
    /// Orders booked for each caregiver.
    pub orders_per_caregiver: usize,
    /// The day (China date).
    pub day: NaiveDate,
}

/// One caregiver's booked round: their provider, staff id, and orders in turn with the home's
/// position.
#[derive(Debug, Clone)]
pub struct Round {
    /// Provider.
    pub provider: Uuid,
    /// Staff id.
    pub caregiver: Uuid,
    /// (order, latitude, longitude).
    pub orders: Vec<(Uuid, f64, f64)>,
}

/// Books `day` for every caregiver: self-paid orders of 助餐 (no quota, so every check-out runs
/// the whole check) at the homes of a block of neighbours, spread over the day, assigned and
/// with the code `246810`. Not audited (benchmark data only).
pub async fn book_day(db: &Db, spec: &DaySpec) -> Result<Vec<Round>, DbError> {
    let now = Utc::now();
    let people = positioned_people(db).await?;
    if people.is_empty() || spec.caregivers == 0 || spec.providers == 0 {
        return Err(DbError::Config(
            "the load test needs people with positions, providers and caregivers".into(),
        ));
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let first_of_month = spec.day.with_day(1).expect("the first");
    let (providers, caregivers) = insert_staffing(
        &mut conn,
        spec.providers,
        spec.caregivers,
        first_of_month,
        now,
    )
    .await?;
    let midnight = spec.day.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - Duration::hours(8);
    let step = 86_400 / spec.orders_per_caregiver.max(1) as i64;
    let month = month_of(spec.day);
    let block = (people.len() / spec.caregivers).max(1);
    let mut rounds = Vec::with_capacity(caregivers.len());
    for (c, carer) in caregivers.iter().enumerate() {
        let first = (c * block) % people.len();
        let provider = providers[c % providers.len()];
        let orders: Vec<(Uuid, usize)> = (0..spec.orders_per_caregiver)
            .map(|k| {
                (
                    Uuid::now_v7(),
                    first + (k * 7) % block.min(people.len() - first),
                )
            })
            .collect();
        for (n, chunk) in orders.chunks(1_500).enumerate() {
            on_conn!(&mut conn, |c| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO service_orders (id, elder_id, region_code, provider_id, item_code, \
                     funding, service_on, service_month, window_start, window_end, minutes, price_fen, \
                     confirm_code, status, caregiver_id, assigned_how, channel, created_at, updated_at) ",
                );
                q.push_values(chunk.iter().enumerate(), |mut b, (i, (id, person))| {
                    let p = &people[*person];
                    let start = midnight + Duration::seconds(step * (n * 1_500 + i) as i64);
                    b.push_bind(*id)
                        .push_bind(p.id)
                        .push_bind(&p.residence_region_code)
                        .push_bind(provider)
                        .push_bind("XT-ZH-02")
                        .push_bind("self_pay")
                        .push_bind(spec.day)
                        .push_bind(&month)
                        .push_bind(start)
                        .push_bind(start + Duration::minutes(30))
                        .push_bind(30i32)
                        .push_bind(1_200i64)
                        .push_bind("246810")
                        .push_bind("booked")
                        .push_bind(*carer)
                        .push_bind("hand")
                        .push_bind("staff")
                        .push_bind(now)
                        .push_bind(now);
                });
                q.build().execute(&mut *c).await.map(|_| ())
            })?;
        }
        rounds.push(Round {
            provider,
            caregiver: *carer,
            orders: orders
                .into_iter()
                .map(|(id, p)| (id, people[p].latitude, people[p].longitude))
                .collect(),
        });
    }
    tx.commit().await?;
    Ok(rounds)
}

/// After a load test: (visits, visits checked out, orders with more than one visit).
pub async fn reconcile(db: &Db) -> Result<(i64, i64, i64), DbError> {
    let mut c = db.acquire().await?;
    Ok(on_conn!(&mut c.conn(), |c| {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM visits), \
             (SELECT COUNT(*) FROM visits WHERE out_at IS NOT NULL), \
             (SELECT COUNT(*) FROM (SELECT order_id FROM visits GROUP BY order_id \
              HAVING COUNT(*) > 1) d)",
        )
        .fetch_one(&mut *c)
        .await
    })?)
}
