//! Demo data: the seed region tree, a demo provider and one account per role. Idempotent:
//! running it again creates only what is missing (and prints passwords only for accounts it
//! created).

use crate::synth::{self, SynthParams};
use anyhow::Context;
use chrono::{DateTime, Utc};
use jinglao_db::audit::{self, Event};
use jinglao_db::population::{self, Assessors, LoadSummary};
use jinglao_db::users::NewAccount;
use jinglao_db::{Actor, Db, agencies, providers, regions, users};
use jinglao_domain::region_import::parse_region_csv;
use jinglao_domain::{RegionCode, ResidentId, Role, Scope, Username};
use serde_json::json;

use jinglao_web::Keys;
use jinglao_web::auth::{password, secrets};

/// The seed division codes (国家统计局 统计用区划代码 2023), embedded in the binary.
pub const SEED_REGIONS_CSV: &str = include_str!("../../../data/regions/seed-regions.csv");

/// Source label stored on seeded regions.
pub const SEED_SOURCE: &str = "国家统计局 统计用区划代码 2023（china-division 2.7.0）";

/// The demo provider's unified social credit code (a valid GB 32100 code: 民政 · 民办非企业单位
/// · 雨湖区).
pub const DEMO_PROVIDER_CREDIT_CODE: &str = "52430302MJ5000001X";

/// A demo account and, if it was created just now, its password.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    /// Role.
    pub role: Role,
    /// Login name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Home region code.
    pub region_code: String,
    /// The password, only when the account was created by this run.
    pub password: Option<String>,
}

/// The demo assessment agency's credit code (社会服务机构 · 湘潭市).
pub const DEMO_AGENCY_CREDIT_CODE: &str = "52430300MJ50000024";

/// Extra assessor accounts, so that the demo agency has the three certified full-time
/// assessors it needs to be active: (login name, shown name).
const EXTRA_ASSESSORS: [(&str, &str); 2] = [
    ("demo_assessor2", "黄伟（评估师）"),
    ("demo_assessor3", "罗敏（评估师）"),
];

/// A second finance account: who approves a statement may not also record its payment
/// (`settlement.separate_duties`), so the demo has a cashier.
const CASHIER: (&str, &str) = ("demo_cashier", "钱红（市民政局出纳）");

/// (role, shown name, region) of each demo account.
const ACCOUNTS: [(Role, &str, &str); 12] = [
    (Role::Admin, "系统管理员（演示）", "4303"),
    (Role::CityStaff, "王敏（湘潭市民政局）", "4303"),
    (Role::CountyStaff, "李强（雨湖区民政局）", "430302"),
    (Role::TownshipStaff, "张丽（雨湖路街道）", "430302001"),
    (Role::VillageStaff, "刘芳（雨湖路社区）", "430302001001"),
    (Role::Assessor, "陈静（评估师）", "4303"),
    (
        Role::ProviderAdmin,
        "赵刚（康乐居家养老服务中心）",
        "430302",
    ),
    (Role::Caregiver, "孙梅（康乐居家养老服务中心）", "430302"),
    (Role::Finance, "周杰（市民政局财务）", "4303"),
    (Role::Inspector, "吴磊（市民政局监管）", "4303"),
    (Role::Auditor, "郑洁（市民政局审计）", "4303"),
    (Role::Evaluator, "湘潭市养老服务评估中心（第三方）", "4303"),
];

/// The demo login name of a role.
pub fn demo_username(role: Role) -> String {
    format!("demo_{}", role.as_str())
}

/// Loads the region tree and creates whatever demo data is missing.
pub async fn seed(db: &Db, keys: &Keys) -> anyhow::Result<Vec<DemoAccount>> {
    let actor = Actor::system();
    let now = Utc::now();
    let known = {
        let mut c = db.acquire().await?;
        regions::all_codes(&mut c.conn()).await?
    };
    let records = parse_region_csv(SEED_REGIONS_CSV, &known)
        .map_err(|p| anyhow::anyhow!("内置区划文件有误：{}", p[0]))?;
    regions::import(db, &keys.audit_chain, &actor, &records, SEED_SOURCE, now).await?;

    let provider = {
        let mut c = db.acquire().await?;
        providers::by_credit_code(&mut c.conn(), DEMO_PROVIDER_CREDIT_CODE).await?
    };
    let provider = match provider {
        Some(p) => p,
        None => {
            providers::create(
                db,
                &keys.audit_chain,
                &actor,
                &providers::NewProvider {
                    name: "雨湖区康乐居家养老服务中心",
                    credit_code: DEMO_PROVIDER_CREDIT_CODE,
                    region_code: "430302",
                    kind: "private_non_enterprise",
                    legal_representative: "刘建国",
                    registration_authority: "湘潭市雨湖区民政局",
                    registered_on: chrono::NaiveDate::from_ymd_opt(2016, 5, 18),
                    contact_name: "刘建国",
                    office_phone: "0731-58210001",
                    evaluation_grade: "4A",
                    ..Default::default()
                },
                now,
            )
            .await?
        }
    };

    let mut out = Vec::new();
    let mut created = 0;
    let logins = ACCOUNTS
        .iter()
        .map(|(role, name, region)| (*role, demo_username(*role), *name, *region))
        .chain(
            EXTRA_ASSESSORS
                .iter()
                .map(|(login, name)| (Role::Assessor, login.to_string(), *name, "4303")),
        )
        .chain([(Role::Finance, CASHIER.0.to_string(), CASHIER.1, "4303")]);
    for (role, login, display_name, region) in logins {
        let username = Username::parse(&login)?;
        let existing = {
            let mut c = db.acquire().await?;
            users::by_username(&mut c.conn(), &Scope::All, &username).await?
        };
        let region_code = RegionCode::parse(region)?;
        let password = match existing {
            Some(_) => None,
            None => {
                let pw = secrets::readable_password();
                let new = NewAccount {
                    username: username.clone(),
                    display_name: display_name.to_string(),
                    role,
                    region_code,
                    provider_id: matches!(role, Role::ProviderAdmin | Role::Caregiver)
                        .then_some(provider.id),
                    password_hash: password::hash(&pw).await?,
                    must_change_password: false,
                };
                users::create(db, &keys.audit_chain, &actor, new, Utc::now()).await?;
                created += 1;
                Some(pw)
            }
        };
        out.push(DemoAccount {
            role,
            username: username.to_string(),
            display_name: display_name.to_string(),
            region_code: region_code.to_string(),
            password,
        });
    }
    seed_agency(db, keys, &out, now).await?;
    seed_service_list(db, keys, now).await?;
    if created > 0 {
        audit::record(
            db,
            &keys.audit_chain,
            &actor,
            Event {
                action: "system.seed",
                entity: "demo",
                record_id: None,
                region_code: None,
                detail: json!({ "accounts_created": created, "provider": provider.name }),
            },
            Utc::now(),
        )
        .await?;
    }
    Ok(out)
}

/// The demo city service list (`jinglao_domain::service_list::xiangtan_demo_list`), published
/// once for 湘潭市.
async fn seed_service_list(db: &Db, keys: &Keys, now: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let city = RegionCode::parse("4303")?;
    let mut c = db.acquire().await?;
    if jinglao_db::service_lists::latest(&mut c.conn(), &city)
        .await?
        .is_some()
    {
        return Ok(());
    }
    drop(c);
    let items = jinglao_domain::service_list::xiangtan_demo_list(
        chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("a valid date"),
    );
    jinglao_db::service_lists::publish(
        &jinglao_db::WriteCtx::new(db, &keys.audit_chain, &Actor::system(), now),
        city,
        "湘潭市基本养老服务清单（演示）",
        "潭政办发〔2023〕20号",
        &items,
    )
    .await?;
    Ok(())
}

/// The demo agency with its three certified assessors.
async fn seed_agency(
    db: &Db,
    keys: &Keys,
    accounts: &[DemoAccount],
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let actor = Actor::system();
    let today = jinglao_domain::clock::china_date(now);
    let existing = {
        let mut c = db.acquire().await?;
        agencies::list(&mut c.conn(), &Scope::All, today)
            .await?
            .into_iter()
            .find(|a| a.credit_code == DEMO_AGENCY_CREDIT_CODE)
    };
    let agency_id = match existing {
        Some(a) => a.id,
        None => {
            agencies::create(
                &jinglao_db::WriteCtx::new(db, &keys.audit_chain, &actor, now),
                "湘潭市康宁老年人能力评估中心",
                DEMO_AGENCY_CREDIT_CODE,
                Some(RegionCode::parse("4303")?),
                true,
                "湘潭市岳塘区建设南路 88 号",
            )
            .await?
        }
    };
    for (n, a) in accounts
        .iter()
        .filter(|a| a.role == Role::Assessor)
        .enumerate()
    {
        let account = {
            let mut c = db.acquire().await?;
            users::by_username(&mut c.conn(), &Scope::All, &Username::parse(&a.username)?)
                .await?
                .ok_or_else(|| anyhow::anyhow!("演示评估师账号 {} 不存在", a.username))?
        };
        let has_profile = {
            let mut c = db.acquire().await?;
            agencies::profile(&mut c.conn(), account.id)
                .await?
                .is_some()
        };
        if !has_profile {
            agencies::set_profile(
                &jinglao_db::WriteCtx::new(db, &keys.audit_chain, &actor, now),
                account.id,
                agency_id,
                &format!("DEMO-PG-4303-{:04}", n + 1),
                "三级",
                Some(today + chrono::Duration::days(3 * 365)),
                true,
            )
            .await?;
        }
    }
    Ok(())
}

/// What `seed_population` did.
#[derive(Debug, Clone, Copy)]
pub enum PopulationOutcome {
    /// The registry already held people; nothing was generated.
    Kept(i64),
    /// A population was generated and loaded.
    Loaded(LoadSummary),
}

/// Generates `count` people over Xiangtan (seed `seed`) and loads them with their categories and
/// assessments (made by the demo agency's assessors and approved by the demo county account),
/// unless the registry already holds people. `progress` is called with the number written.
pub async fn seed_population(
    db: &Db,
    keys: &Keys,
    count: usize,
    seed: u64,
    progress: impl FnMut(usize),
) -> anyhow::Result<PopulationOutcome> {
    let existing = {
        let mut c = db.acquire().await?;
        jinglao_db::elder_search::total(&mut c.conn()).await?
    };
    if existing > 0 || count == 0 {
        return Ok(PopulationOutcome::Kept(existing));
    }
    let now = Utc::now();
    let today = jinglao_domain::clock::china_date(now);
    let tree = {
        let mut c = db.acquire().await?;
        jinglao_domain::RegionTree::new(regions::load_all(&mut c.conn()).await?)
    };
    let people = synth::generate(
        &tree,
        &RegionCode::parse("4303")?,
        SynthParams {
            seed,
            count,
            today,
            threads: 0,
        },
    )?;
    let summary = load_population(
        db,
        keys,
        &people,
        &format!("演示人口（jinglao demo --elders {count} --seed {seed}）"),
        progress,
    )
    .await?;
    // Services find people from the start: the first sweep fills the worklists.
    let book = jinglao_db::policy::book(db).await?;
    jinglao_db::eligibility::sweep(
        db,
        &keys.audit_chain,
        &Actor::system(),
        &RegionCode::parse("4303")?,
        &book,
        jinglao_db::eligibility::SweepOptions {
            trigger: jinglao_db::eligibility::Trigger::Manual,
            on: today,
            threads: 0,
        },
    )
    .await?;
    Ok(PopulationOutcome::Loaded(summary))
}

/// Loads generated people with their categories and assessments (made by the demo agency's
/// assessors and approved by the demo county account) in one transaction.
pub async fn load_population(
    db: &Db,
    keys: &Keys,
    people: &[crate::synth::SynthElder],
    label: &str,
    progress: impl FnMut(usize),
) -> anyhow::Result<population::LoadSummary> {
    let assessors = demo_assessors(db).await?;
    let policy = jinglao_db::policy::book(db).await?;
    Ok(population::load(
        db,
        keys.secrets(),
        &Actor::system(),
        &population::Population {
            people,
            assessors: Some(assessors),
            policy: &policy,
            label,
        },
        Utc::now(),
        progress,
    )
    .await?)
}

/// The demo agency, two of its assessors and the county account that approves.
async fn demo_assessors(db: &Db) -> anyhow::Result<Assessors> {
    let mut c = db.acquire().await?;
    let mut conn = c.conn();
    let find = async |conn: &mut jinglao_db::Conn<'_>, login: &str| -> anyhow::Result<uuid::Uuid> {
        Ok(
            users::by_username(conn, &Scope::All, &Username::parse(login)?)
                .await?
                .ok_or_else(|| anyhow::anyhow!("演示账号 {login} 不存在"))?
                .id,
        )
    };
    let first = find(&mut conn, &demo_username(Role::Assessor)).await?;
    let second = find(&mut conn, EXTRA_ASSESSORS[0].0).await?;
    let approver = find(&mut conn, &demo_username(Role::CountyStaff)).await?;
    let agency_id = agencies::profile(&mut conn, first)
        .await?
        .ok_or_else(|| anyhow::anyhow!("演示评估师没有登记证书"))?
        .agency_id;
    Ok(Assessors {
        agency_id,
        first,
        second,
        approver,
    })
}

/// Providers and facilities of the demo: `count` facilities over Xiangtan with their beds and
/// staff, operated by 40 providers (and the demo provider), and assessed people of the demo
/// population admitted to beds in their own county up to about 55% occupancy, unless
/// facilities already exist. Returns how many facilities exist afterwards and how many people
/// were admitted now.
pub async fn seed_facilities(
    db: &Db,
    keys: &Keys,
    count: usize,
    seed: u64,
) -> anyhow::Result<(usize, usize)> {
    use jinglao_db::{facility_bulk, staff};
    use jinglao_domain::credit_code::check_char;
    let existing = {
        let mut c = db.acquire().await?;
        jinglao_db::facilities::list(&mut c.conn(), &Scope::All, None)
            .await?
            .len()
    };
    if existing > 0 {
        return Ok((existing, 0));
    }
    let now = Utc::now();
    let actor = Actor::cli();
    let tree = {
        let mut c = db.acquire().await?;
        jinglao_domain::RegionTree::new(regions::load_all(&mut c.conn()).await?)
    };
    let places = synth::places_under(&tree, &RegionCode::parse("4303")?);
    let specs = synth::facilities::facilities(&places, count, seed);
    let counties = ["430302", "430304", "430321", "430381", "430382"];
    let kinds = [
        "enterprise",
        "private_non_enterprise",
        "private_non_enterprise",
        "social_group",
        "public_institution",
    ];
    let grades = ["", "3A", "4A", "5A", "2A"];
    let mut provider_ids = Vec::new();
    for n in 0..40usize {
        let county = counties[n % counties.len()];
        let first17 = format!("52{county}MJ5{:06}", 100 + n);
        let code = format!("{first17}{}", check_char(first17.as_bytes()).unwrap_or('0'));
        let existing = {
            let mut c = db.acquire().await?;
            providers::by_credit_code(&mut c.conn(), &code).await?
        };
        let p = match existing {
            Some(p) => p,
            None => {
                providers::create(
                    db,
                    &keys.audit_chain,
                    &actor,
                    &providers::NewProvider {
                        name: &format!(
                            "湘潭{}养老服务有限公司",
                            [
                                "康馨",
                                "颐年",
                                "福满堂",
                                "安泰",
                                "乐龄",
                                "仁和",
                                "恒爱",
                                "德寿"
                            ][n % 8]
                                .to_string()
                                + &(n + 1).to_string()
                        ),
                        credit_code: &code,
                        region_code: county,
                        kind: kinds[n % kinds.len()],
                        legal_representative: "周志刚",
                        registration_authority: "湘潭市民政局",
                        registered_on: chrono::NaiveDate::from_ymd_opt(
                            2012 + (n % 10) as i32,
                            3,
                            1,
                        ),
                        contact_name: "周志刚",
                        office_phone: &format!("0731-5822{:04}", n),
                        evaluation_grade: grades[n % grades.len()],
                        ..Default::default()
                    },
                    now,
                )
                .await?
            }
        };
        provider_ids.push(p.id);
    }
    // The demo provider (whose administrator account the demo signs in with) runs every
    // 41st facility, so `demo_provider_admin` has facilities, beds and staff of its own.
    let demo_provider = {
        let mut c = db.acquire().await?;
        providers::by_credit_code(&mut c.conn(), DEMO_PROVIDER_CREDIT_CODE).await?
    };
    if let Some(p) = demo_provider {
        provider_ids.insert(0, p.id);
    }
    let ids =
        facility_bulk::insert(db, &keys.audit_chain, &actor, &provider_ids, &specs, now).await?;
    // Staff: one hire per person, through the same path as the pages (encrypted ID numbers).
    let mut serial = 0u32;
    for (n, s) in specs.iter().enumerate() {
        for (role, full_time) in &s.staff {
            serial += 1;
            let birth_year = 1965 + (serial % 35);
            let first17 = format!(
                "430302{birth_year}{:02}{:02}{:03}",
                serial % 12 + 1,
                serial % 28 + 1,
                serial % 1000
            );
            let id = jinglao_domain::ResidentId::from_first17(&first17);
            let hire = staff::HireDraft {
                name: synth_staff_name(serial),
                id_number: id.as_str().to_string(),
                role: (*role).to_string(),
                vocational_level: if *role == "caregiver" && !serial.is_multiple_of(3) {
                    ["5", "4", "3"][serial as usize % 3].into()
                } else {
                    String::new()
                },
                certificate_no: if *role == "caregiver" && !serial.is_multiple_of(3) {
                    format!("HN{:08}", serial)
                } else {
                    String::new()
                },
                facility_id: ids[n].to_string(),
                start_on: s
                    .opened_on
                    .max(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default())
                    .to_string(),
                full_time: *full_time,
                ..Default::default()
            };
            let provider = provider_ids[n % provider_ids.len()];
            match staff::hire(
                db,
                &keys.audit_chain,
                &keys.cipher,
                &actor,
                provider,
                &hire.parse().map_err(jinglao_db::DbError::Invalid)?,
                now,
            )
            .await
            {
                Ok(_) => {}
                // A generated number that collides with an earlier one (same person): skip.
                Err(jinglao_db::DbError::Invalid(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    rate_some(db, keys, &ids, &specs, now).await?;
    let today = jinglao_domain::clock::china_date(now);
    let admitted =
        facility_bulk::admit_residents_for_demo(db, &keys.audit_chain, &actor, 55, today, now)
            .await?;
    Ok((ids.len(), admitted))
}

/// Rates every fourth filed institution of the demo through the real workflow (application,
/// self-assessment, experts' sheet, decision), with scores between 62% and 95% of each item's
/// maximum, so the finder's level filter and the facility pages have levels to show.
async fn rate_some(
    db: &Db,
    keys: &Keys,
    ids: &[uuid::Uuid],
    specs: &[crate::synth::facilities::FacilitySpec],
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    use jinglao_db::ratings;
    use jinglao_domain::rating::{SHEET, tenths};
    let book = jinglao_db::policy::book(db).await?;
    let actor = Actor::cli();
    let key = &keys.audit_chain;
    let candidates = specs
        .iter()
        .zip(ids)
        .filter(|(s, _)| s.kind.is_institution() && !s.filing_no.is_empty())
        .step_by(4);
    for (n, (_, id)) in candidates.enumerate() {
        let requested = 1 + (n % 3) as i64;
        let rating = match ratings::apply(db, key, &book, &actor, *id, requested, now).await {
            Ok(r) => r,
            // Not yet a year in operation, for example: the demo leaves it unrated.
            Err(jinglao_db::DbError::Invalid(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let percent = 62 + (n as i64 * 7) % 34;
        let scores: Vec<(String, String)> = SHEET
            .iter()
            .map(|i| {
                (
                    i.code.to_string(),
                    tenths(i.max_points * 10 * percent / 100),
                )
            })
            .collect();
        for sheet in ["self", "expert"] {
            ratings::save_sheet(db, key, &actor, rating, sheet, &scores, now).await?;
        }
        ratings::decide_and_publish(db, key, &book, &actor, rating, now).await?;
    }
    Ok(())
}

fn synth_staff_name(n: u32) -> String {
    const SURNAMES: [&str; 12] = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "彭", "谭",
    ];
    const GIVEN: [&str; 12] = [
        "秀英", "桂芳", "丽", "建华", "红梅", "志强", "敏", "春花", "海燕", "国平", "小兰", "卫东",
    ];
    format!(
        "{}{}",
        SURNAMES[n as usize % 12],
        GIVEN[(n as usize / 12) % 12]
    )
}

/// Today's round of home visits for the demo caregiver (孙梅 of the demo provider): the
/// provider's own meal price (its contract prices come with the purchase year), her staff record linked to her account, and four people of
/// 雨湖区 with a registered position enrolled in 政府购买居家养老服务 and booked for today. Runs
/// at every start; a day that already has its round is left alone. Returns the orders made.
pub async fn seed_home_services(db: &Db, keys: &Keys, now: DateTime<Utc>) -> anyhow::Result<usize> {
    use jinglao_db::{orders, prices, visits};
    let actor = Actor::system();
    let chain = &keys.audit_chain;
    let today = jinglao_domain::clock::china_date(now);
    let mut c = db.acquire().await?;
    let provider = providers::by_credit_code(&mut c.conn(), DEMO_PROVIDER_CREDIT_CODE)
        .await?
        .context("the demo provider is seeded first")?;
    let username = jinglao_domain::Username::parse(&demo_username(Role::Caregiver))?;
    let account = jinglao_db::users::by_username(&mut c.conn(), &Scope::All, &username)
        .await?
        .context("the demo caregiver is seeded first")?;
    let city = RegionCode::parse("4303")?;
    let list = jinglao_db::service_lists::latest(&mut c.conn(), &city)
        .await?
        .context("the demo service list is seeded first")?;
    // 上门服务 (XT-JJ-01) is priced by the provider's purchase contract (seeded with the
    // purchase year); meal help it sells at its own list price, to those who pay themselves.
    let has_meal_price = prices::list(&mut c.conn(), provider.id)
        .await?
        .iter()
        .any(|p| p.item_code == "XT-ZH-02");
    drop(c);
    if !has_meal_price {
        let p = prices::NewPrice {
            item_code: "XT-ZH-02",
            valid_from: chrono::NaiveDate::from_ymd_opt(2024, 1, 1),
            unit_fen: Some(1_200),
            min_minutes: Some(0),
            basis: "康乐居家养老服务中心收费标准（演示）",
            ..Default::default()
        };
        prices::add(db, chain, &actor, provider.id, &p, now).await?;
    }
    let me = {
        let mut c = db.acquire().await?;
        visits::caregiver_of(&mut c.conn(), account.id).await?
    };
    let staff_id = match me {
        Some(m) => m.staff_id,
        None => {
            let hire = jinglao_db::staff::HireDraft {
                name: "孙梅".into(),
                id_number: ResidentId::from_first17("43030219750612021")
                    .as_str()
                    .to_string(),
                role: "养老护理员".into(),
                vocational_level: "四级/中级工".into(),
                certificate_no: "HN-YL-2023-0612".into(),
                start_on: "2023-03-01".into(),
                full_time: true,
                ..Default::default()
            };
            let id = jinglao_db::staff::hire(
                db,
                chain,
                &keys.cipher,
                &actor,
                provider.id,
                &hire.parse().map_err(jinglao_db::DbError::Invalid)?,
                now,
            )
            .await?;
            visits::link_account(db, chain, &actor, account.id, id, now).await?;
            id
        }
    };
    // 孙梅 may be dispatched for both items (idempotent: the set is replaced).
    let skills = ["XT-JJ-01".to_string(), "XT-ZH-02".to_string()];
    jinglao_db::dispatch::set_skills(db, chain, &actor, provider.id, staff_id, &skills, now)
        .await?;
    let mut c = db.acquire().await?;
    if !orders::assigned_on(&mut c.conn(), staff_id, today)
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let people =
        orders::people_with_position(&mut c.conn(), &RegionCode::parse("430302")?, today, 4)
            .await?;
    drop(c);
    let mut made = 0;
    for (person, (h, m)) in people.iter().zip([(9, 0), (10, 30), (14, 0), (15, 30)]) {
        crate::demo_history::enrol(db, keys, *person, list.id, now).await?;
        let start = jinglao_domain::clock::china_time(
            today,
            chrono::NaiveTime::from_hms_opt(h, m, 0).context("a time")?,
        );
        // A demo run every day for weeks uses up the month's hours: the rest are self-paid.
        let placed = crate::demo_history::place(db, keys, provider.id, *person, start, now).await?;
        orders::assign(db, chain, &actor, placed.id, staff_id, now).await?;
        made += 1;
    }
    Ok(made)
}

/// Refreshes the regular-visit (巡访) list of the demo county (雨湖区) from the registry, so the
/// visit pages have people on them; returns how many are on the list.
pub async fn seed_patrols(db: &Db, keys: &Keys, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let book = jinglao_db::policy::book(db).await?;
    let county = RegionCode::parse("430302").context("the demo county")?;
    let today = jinglao_domain::clock::china_date(now);
    let r = jinglao_db::patrols::refresh(
        db,
        &keys.audit_chain,
        &Actor::system(),
        &county,
        &book,
        today,
        now,
    )
    .await?;
    Ok(r.listed)
}
