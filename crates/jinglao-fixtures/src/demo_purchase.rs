//! The demo's purchase year for 湘潭市 (issue 18) — the year of two months ago, so that the
//! contract covers last month's history and today's visits: finance's guiding catalogue and
//! three projects at different stages — home services in 雨湖区 bought by 公开招标 from three
//! bidders (one never checked, so disqualified), awarded to the demo provider (康乐), whose
//! contract prices every government-paid visit of the demo, contracted and filed; a 公建民营
//! care home bought per head, waiting for finance; meal help by 询价, announced and taking
//! offers. Each step goes through the same storage functions as the pages, at the day it
//! would have happened, so the audit trail and the OCDS releases read like a real year.
//! Seeded once: a catalogue already published for the city means the year is there.
//!
//! After last month's history is settled, [`seed_acceptance_and_evaluation`] adds the
//! district's milestone acceptance of the home-services contract up to last month (with a
//! deduction for late visits) and that year's evaluation, marked by the district, finance and
//! the third-party evaluator, with a telephone survey, and published.

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use jinglao_db::purchase::{catalogue, contracts, projects, selection};
use jinglao_db::{Actor, Db, WriteCtx, providers};
use jinglao_domain::RegionCode;
use jinglao_domain::purchase::catalogue::EntryDraft;
use jinglao_domain::purchase::contract::ContractDraft;
use jinglao_domain::purchase::project::ProjectDraft;
use jinglao_domain::supply::provider::Condition;
use jinglao_web::Keys;

use crate::demo::DEMO_PROVIDER_CREDIT_CODE;

/// 09:00 Beijing time on a day of year `y`.
fn on(y: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, month, day, 1, 0, 0)
        .single()
        .expect("a valid day")
}

fn entry(code: &str, name: &str, category: &str, content: &str, items: &[&str]) -> EntryDraft {
    EntryDraft {
        code: code.into(),
        name: name.into(),
        category: category.into(),
        nature: "public_service".into(),
        content: content.into(),
        item_codes: items.iter().map(|s| s.to_string()).collect(),
    }
}

/// A bidder of the demo: name, credit code, kind, grade (等级评估).
type Bidder = (&'static str, &'static str, &'static str, &'static str);

/// A provider of the demo, registered once (in January of `y`), with the seven conditions
/// checked when `checked`.
async fn provider(
    db: &Db,
    keys: &Keys,
    (name, code, kind, grade): Bidder,
    checked: bool,
    y: i32,
) -> anyhow::Result<uuid::Uuid> {
    let actor = Actor::system();
    let existing = {
        let mut c = db.acquire().await?;
        providers::by_credit_code(&mut c.conn(), code).await?
    };
    let id = match existing {
        Some(p) => return Ok(p.id),
        None => {
            providers::create(
                db,
                &keys.audit_chain,
                &actor,
                &providers::NewProvider {
                    name,
                    credit_code: code,
                    region_code: "430302",
                    kind,
                    legal_representative: "周敏",
                    evaluation_grade: grade,
                    ..Default::default()
                },
                on(y, 1, 3),
            )
            .await?
            .id
        }
    };
    if checked {
        check_all(db, keys, id, y).await?;
    }
    Ok(id)
}

/// Records the district's on-site check finding all seven conditions met (8 January of `y`).
async fn check_all(db: &Db, keys: &Keys, id: uuid::Uuid, y: i32) -> anyhow::Result<()> {
    for c in Condition::ALL {
        providers::record_finding(
            db,
            &keys.audit_chain,
            &Actor::system(),
            id,
            &providers::NewFinding {
                condition: c.as_str(),
                met: true,
                checked_on: NaiveDate::from_ymd_opt(y, 1, 8),
                expires_on: None,
                evidence: "雨湖区民政局现场核查（演示）",
            },
            on(y, 1, 8),
        )
        .await?;
    }
    Ok(())
}

/// Seeds the purchase year unless a catalogue is already published for 湘潭市. Returns the
/// number of projects created.
pub async fn seed_purchase(db: &Db, keys: &Keys, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let city = RegionCode::parse("4303")?;
    let district = RegionCode::parse("430302")?;
    {
        let mut c = db.acquire().await?;
        if catalogue::in_force(&mut c.conn(), &city).await?.is_some() {
            return Ok(0);
        }
    }
    let actor = Actor::system();
    let at = |t| WriteCtx::new(db, &keys.audit_chain, &actor, t);
    // The year of two months ago: every step below (January to February) is then in the past,
    // and the two-year term covers last month and today.
    let y = jinglao_domain::clock::china_date(now - Duration::days(60)).year();
    let on = |m, d| on(y, m, d);
    let known: Vec<String> = ["XT-JJ-01", "XT-ZH-01", "XT-ZH-02", "XT-ZH-03"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    catalogue::publish(
        &at(on(1, 5)),
        city,
        &format!("潭财购〔{y}〕1号（演示）"),
        &[
            entry(
                "JJ-01",
                "居家上门养老服务",
                "home_care",
                "为居家老年人提供助餐、助浴、助洁、助急、助医、护理等上门服务",
                &["XT-JJ-01", "XT-ZH-01"],
            ),
            entry(
                "ZC-01",
                "老年助餐服务",
                "home_care",
                "社区老年食堂、助餐点配餐送餐",
                &["XT-ZH-02"],
            ),
            entry(
                "JG-01",
                "公办养老机构运营（公建民营）",
                "institutional",
                "公办养老机构委托运营，特困人员按人头购买供养护理服务",
                &["XT-ZH-03"],
            ),
            entry(
                "PX-01",
                "养老护理员培训",
                "training",
                "养老护理员职业培训和继续教育",
                &[],
            ),
        ],
        &known,
    )
    .await
    .context("the demo catalogue")?;

    let base = ProjectDraft {
        year: y.to_string(),
        regions: vec!["430302".into()],
        funding: "budget".into(),
        price_basis: "按本地家政服务小时工资、社保缴费和税费测算（演示）".into(),
        targets: "服务对象满意度不低于 90%；核验通过率不低于 95%；投诉按时办结率 100%".into(),
        requirements: "在雨湖区设有服务站点；护理员持证上岗比例不低于 80%".into(),
        term_start: format!("{y}-01-01"),
        term_end: format!("{}-12-31", y + 1),
        ..Default::default()
    };
    let home = ProjectDraft {
        title: format!("{y}—{}年雨湖区政府购买居家养老上门服务", y + 1),
        catalogue_code: "JJ-01".into(),
        item_codes: vec!["XT-JJ-01".into()],
        quantities: vec![("XT-JJ-01".into(), "320".into(), "40".into(), "次".into())],
        budget_yuan: "576000".into(),
        mode: "open_tender".into(),
        criteria: vec![
            ("价格".into(), "30".into()),
            ("服务方案".into(), "40".into()),
            ("人员资质".into(), "20".into()),
            ("以往绩效评价".into(), "10".into()),
        ],
        ..base.clone()
    }
    .parse()
    .map_err(|e| anyhow::anyhow!("demo project: {e}"))?;
    let care_home = ProjectDraft {
        title: format!("{y}年湘潭市雨湖区敬老院公建民营运营（按人头购买）"),
        catalogue_code: "JG-01".into(),
        item_codes: vec!["XT-ZH-03".into()],
        quantities: vec![("XT-ZH-03".into(), "45".into(), "10".into(), "人月".into())],
        budget_yuan: "810000".into(),
        funding: "transfer".into(),
        mode: "public_built_private_run".into(),
        criteria: vec![
            ("价格".into(), "20".into()),
            ("运营方案".into(), "50".into()),
            ("医养结合能力".into(), "30".into()),
        ],
        ..base.clone()
    }
    .parse()
    .map_err(|e| anyhow::anyhow!("demo project: {e}"))?;
    let meals = ProjectDraft {
        year: (y + 1).to_string(),
        title: format!("{}年雨湖区老年助餐配餐服务", y + 1),
        catalogue_code: "ZC-01".into(),
        item_codes: vec!["XT-ZH-02".into()],
        quantities: vec![("XT-ZH-02".into(), "600".into(), "200".into(), "餐".into())],
        budget_yuan: "960000".into(),
        funding: "lottery".into(),
        mode: "inquiry".into(),
        criteria: Vec::new(),
        term_start: format!("{}-01-01", y + 1),
        term_end: format!("{}-12-31", y + 1),
        ..base
    }
    .parse()
    .map_err(|e| anyhow::anyhow!("demo project: {e}"))?;
    let purchaser = "湘潭市雨湖区民政局";

    // 1. Home services: approved, announced, three bids, awarded, contracted, filed.
    let p1 = projects::create(&at(on(1, 6)), district, purchaser, &home).await?;
    projects::submit(&at(on(1, 7)), p1).await?;
    projects::decide(&at(on(1, 9)), p1, false, "单价测算依据请补充社保缴费部分").await?;
    projects::submit(&at(on(1, 12)), p1).await?;
    projects::decide(&at(on(1, 14)), p1, true, "").await?;
    projects::publish(&at(on(1, 15)), p1, on(2, 5)).await?;
    let kangle = {
        let mut c = db.acquire().await?;
        providers::by_credit_code(&mut c.conn(), DEMO_PROVIDER_CREDIT_CODE)
            .await?
            .context("the demo provider is seeded first")?
            .id
    };
    let fushou = provider(
        db,
        keys,
        (
            "湘潭市雨湖区福寿社会工作服务中心",
            "52430302MJ5000005A",
            "private_non_enterprise",
            "4A",
        ),
        true,
        y,
    )
    .await?;
    check_all(db, keys, kangle, y).await?;
    let ankang = provider(
        db,
        keys,
        (
            "湘潭安康家政服务有限公司",
            "91430302MA4L00007C",
            "enterprise",
            "",
        ),
        false,
        y,
    )
    .await?;
    let b1 = selection::record_bid(&at(on(1, 28)), p1, fushou, 56_000_000, "").await?;
    selection::record_bid(&at(on(1, 30)), p1, ankang, 49_600_000, "").await?;
    let b3 = selection::record_bid(&at(on(2, 2)), p1, kangle, 54_800_000, "").await?;
    for (who, plan, staff, past) in [
        ("评审专家 王立", 34, 17, 8),
        ("评审专家 陈芳", 36, 18, 9),
        ("评审专家 刘洋", 33, 16, 8),
    ] {
        for (bid, shift) in [(&b3, 0), (&b1, 3)] {
            if !bid.qualified {
                continue;
            }
            let sheet = vec![
                ("服务方案".to_string(), plan - shift),
                ("人员资质".to_string(), staff - shift.min(2)),
                ("以往绩效评价".to_string(), past),
            ];
            selection::score(&at(on(2, 6)), bid.id, who, &sheet).await?;
        }
    }
    let awards = selection::award(&at(on(2, 9)), p1, &[b3.id], "").await?;
    let items = vec!["XT-JJ-01".to_string()];
    let contract = ContractDraft {
        contract_no: format!("雨民购〔{y}〕3号"),
        scope: "为雨湖区 320 名符合条件的老年人提供政府购买居家养老上门服务，每人每年约 40 次"
            .into(),
        prices: vec![("XT-JJ-01".into(), "45".into(), "45".into(), "是".into())],
        ceiling_yuan: "548000".into(),
        quantity_ceiling: "12800".into(),
        quality: "按湘潭市居家养老上门服务规范执行；每次服务经电子核验；满意度不低于 90%".into(),
        start: format!("{y}-01-01"),
        end: format!("{}-12-31", y + 1),
        payment_terms: "monthly_verified".into(),
        breach_terms: "未按约定提供服务的，按次扣减并记入信用记录；严禁转包".into(),
        signed_on: format!("{y}-02-16"),
        payee_bank: "中国建设银行湘潭雨湖支行".into(),
        payee_account: "43050162760800001234".into(),
        ..Default::default()
    }
    .parse(&items, 54_800_000, jinglao_domain::clock::china_date(now))
    .map_err(|e| anyhow::anyhow!("demo contract: {e}"))?;
    let k = contracts::sign(&at(on(2, 16)), awards[0], &contract).await?;
    contracts::file(
        &at(on(2, 20)),
        k,
        NaiveDate::from_ymd_opt(y, 2, 20).expect("a day"),
    )
    .await?;

    // 2. The care home per head: with finance.
    let p2 = projects::create(
        &at(now - Duration::days(5)),
        district,
        purchaser,
        &care_home,
    )
    .await?;
    projects::submit(&at(now - Duration::days(4)), p2).await?;

    // 3. Meal help by 询价: announced, taking offers for ten more days.
    let p3 = projects::create(&at(now - Duration::days(20)), district, purchaser, &meals).await?;
    projects::submit(&at(now - Duration::days(19)), p3).await?;
    projects::decide(&at(now - Duration::days(15)), p3, true, "").await?;
    projects::publish(&at(now - Duration::days(12)), p3, now + Duration::days(10)).await?;
    selection::record_bid(&at(now - Duration::days(3)), p3, fushou, 92_000_000, "").await?;
    Ok(3)
}

/// A demo account as an actor (its real id, so the audit trail names the person).
async fn demo_actor(db: &Db, role: jinglao_domain::Role) -> anyhow::Result<Actor> {
    let name = crate::demo::demo_username(role);
    let mut c = db.acquire().await?;
    let account = jinglao_db::users::by_username(
        &mut c.conn(),
        &jinglao_domain::Scope::All,
        &jinglao_domain::Username::parse(&name)?,
    )
    .await?
    .with_context(|| format!("the demo account {name}"))?;
    let scope = jinglao_domain::Scope::Region(account.region_code);
    Ok(Actor::user(
        account.id,
        &name,
        role,
        scope,
        account.region_code,
    ))
}

/// The milestone acceptance of the demo's home-services contract up to the end of last month
/// and the evaluation of last month's year, published; once (skipped when the contract already
/// has an acceptance). Returns whether it seeded.
pub async fn seed_acceptance_and_evaluation(
    db: &Db,
    keys: &Keys,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    use jinglao_db::purchase::{acceptances, evaluations};
    use jinglao_domain::Role;
    use jinglao_domain::purchase::acceptance::AcceptanceDraft;
    let contract = {
        let mut c = db.acquire().await?;
        let y = jinglao_domain::clock::china_date(now - Duration::days(60)).year();
        let found = contracts::by_number(&mut c.conn(), &format!("雨民购〔{y}〕3号"))
            .await?
            .map(|k| k.id);
        let Some(k) = found else { return Ok(false) };
        if !acceptances::list(&mut c.conn(), k).await?.is_empty() {
            return Ok(false);
        }
        k
    };
    let county = demo_actor(db, Role::CountyStaff).await?;
    let finance = demo_actor(db, Role::Finance).await?;
    let third = demo_actor(db, Role::Evaluator).await?;
    let today = jinglao_domain::clock::china_date(now);
    let last_month_end = today.with_day(1).expect("a first day") - Duration::days(1);
    let files = std::env::temp_dir().join("jinglao-demo-files");
    let draft = AcceptanceDraft {
        kind: "milestone".into(),
        period_end: last_month_end.to_string(),
        inspected_on: today.to_string(),
        inspectors: "雨湖区民政局 李强；湘潭市养老服务评估中心 评估员 2 名".into(),
        third_party: "湘潭市养老服务评估中心 评估报告（演示）".into(),
        findings: "抽查服务记录 60 份，核验完整；2 次服务晚到超过 30 分钟，按合同第七条扣减".into(),
        result: "deducted".into(),
        deduction_yuan: "90".into(),
        deduction_fen: None,
    };
    let w = |a| WriteCtx::new(db, &keys.audit_chain, a, now);
    acceptances::record(&w(&county), &files, contract, &draft, None)
        .await
        .context("the demo acceptance")?;
    let year = last_month_end.year();
    let e = evaluations::open(&w(&county), contract, year, 12)
        .await
        .context("the demo evaluation")?;
    evaluations::name_evaluator(&w(&county), e, &crate::demo::demo_username(Role::Evaluator))
        .await?;
    let marks = |v: [u32; 3]| {
        vec![
            ("服务数量".to_string(), v[0]),
            ("服务质量".to_string(), v[1]),
            ("资金使用效率".to_string(), v[2]),
        ]
    };
    evaluations::score(
        &w(&county),
        e,
        &marks([27, 35, 26]),
        "服务按计划推进，核验记录完整",
    )
    .await?;
    evaluations::score(
        &w(&finance),
        e,
        &marks([26, 34, 27]),
        "资金按月据实结算，未发现超范围支付",
    )
    .await?;
    evaluations::score(
        &w(&third),
        e,
        &marks([25, 33, 25]),
        "入户回访与服务记录一致；个别服务晚到",
    )
    .await?;
    let sample = {
        let mut c = db.acquire().await?;
        evaluations::survey(&mut c.conn(), e).await?
    };
    for (i, person) in sample.iter().enumerate() {
        let (stars, note) = match i % 6 {
            0 | 1 | 3 => (Some(5), "服务很好"),
            2 | 4 => (Some(4), "护理员准时，希望多来几次"),
            _ => (None, "无人接听"),
        };
        evaluations::record_call(&w(&county), e, person.elder_id, stars, note).await?;
    }
    if !sample.is_empty() {
        evaluations::publish(&w(&county), e).await?;
    }
    Ok(true)
}
