//! A purchase contract for tests and benchmarks that need a provider with contract prices
//! (settlement charges government-funded visits only at prices from a contract): the real
//! procedure — catalogue, project by 询价, finance's approval, notice, the provider's offer,
//! award, contract, filing — walked by the platform account in a few seconds of the past, so
//! every rule of it still applies.

use chrono::{Duration, NaiveDate, Utc};
use jinglao_domain::purchase::catalogue::EntryDraft;
use jinglao_domain::purchase::contract::ContractDraft;
use jinglao_domain::purchase::project::ProjectDraft;
use jinglao_domain::supply::provider::Condition;
use jinglao_domain::{RegionCode, Scope};
use uuid::Uuid;

use crate::audit::ChainKey;
use crate::purchase::{catalogue, contracts, projects, selection};
use crate::{Actor, Db, WriteCtx, providers};

/// One contracted price: item, fen per unit, minimum minutes, needs a certificate.
pub type ContractPrice<'a> = (&'a str, i64, u32, bool);

/// Signs and files a contract between the provider's county and `provider_id` for `prices`,
/// in force `from`–`to`; records the seven conditions as met for the provider (a bidder must
/// meet them). Returns the contract's id. Panics on any refusal: a test set up wrongly.
pub async fn contract_prices(
    db: &Db,
    chain: &ChainKey,
    provider_id: Uuid,
    prices: &[ContractPrice<'_>],
    from: NaiveDate,
    to: NaiveDate,
) -> Uuid {
    let actor = Actor::system();
    let start = Utc::now() - Duration::hours(3);
    let at = |t| WriteCtx::new(db, chain, &actor, t);
    let provider = {
        let mut c = db.acquire().await.expect("a connection");
        providers::get(&mut c.conn(), &Scope::All, provider_id)
            .await
            .expect("the provider loads")
            .expect("the provider exists")
    };
    let county = RegionCode::parse(&provider.region_code.as_str()[..6]).expect("a county code");
    let city = RegionCode::parse(&provider.region_code.as_str()[..4]).expect("a city code");
    let items: Vec<String> = prices.iter().map(|p| p.0.to_string()).collect();
    let entry = format!("CS-{}", &Uuid::now_v7().simple().to_string()[24..]);
    catalogue::publish(
        &at(start),
        city,
        "测试目录",
        &[EntryDraft {
            code: entry.clone(),
            name: "测试购买服务".into(),
            category: "home_care".into(),
            nature: "public_service".into(),
            content: "测试用上门服务".into(),
            item_codes: items.clone(),
        }],
        &items,
    )
    .await
    .expect("the test catalogue publishes");
    let budget: i64 = prices.iter().map(|p| p.1 * 100_000).sum();
    let input = ProjectDraft {
        year: from.format("%Y").to_string(),
        title: format!("{}测试购买项目", provider.name),
        catalogue_code: entry,
        item_codes: items.clone(),
        regions: vec![county.as_str().to_string()],
        quantities: prices
            .iter()
            .map(|p| (p.0.to_string(), "100".into(), "1000".into(), "次".into()))
            .collect(),
        price_basis: "测试".into(),
        budget_yuan: jinglao_domain::settlement::yuan(budget),
        funding: "budget".into(),
        mode: "inquiry".into(),
        targets: "测试".into(),
        term_start: from.to_string(),
        term_end: to.to_string(),
        ..Default::default()
    }
    .parse()
    .expect("the test project parses");
    let id = projects::create(&at(start), county, "测试民政局", &input)
        .await
        .expect("the test project is created");
    projects::submit(&at(start), id).await.expect("submitted");
    projects::decide(&at(start), id, true, "")
        .await
        .expect("approved");
    projects::publish(&at(start), id, start + Duration::hours(1))
        .await
        .expect("announced");
    for c in Condition::ALL {
        providers::record_finding(
            db,
            chain,
            &actor,
            provider_id,
            &providers::NewFinding {
                condition: c.as_str(),
                met: true,
                checked_on: Some(jinglao_domain::clock::china_date(start)),
                expires_on: None,
                evidence: "测试核查",
            },
            start,
        )
        .await
        .expect("a finding");
    }
    let bid = selection::record_bid(&at(start), id, provider_id, budget, "")
        .await
        .expect("the offer is recorded");
    assert!(bid.qualified, "the test provider qualifies: {:?}", bid.gaps);
    let later = start + Duration::hours(2);
    let awards = selection::award(&at(later), id, &[bid.id], "")
        .await
        .expect("awarded");
    let contract = ContractDraft {
        contract_no: format!("测试合同-{}", &Uuid::now_v7().simple().to_string()[20..]),
        scope: "测试".into(),
        prices: prices
            .iter()
            .map(|p| {
                (
                    p.0.to_string(),
                    jinglao_domain::settlement::yuan(p.1),
                    p.2.to_string(),
                    if p.3 { "是" } else { "" }.to_string(),
                )
            })
            .collect(),
        ceiling_fen: Some(budget),
        quality: "测试".into(),
        start: from.to_string(),
        end: to.to_string(),
        payment_terms: "monthly_verified".into(),
        breach_terms: "测试".into(),
        signed_on: jinglao_domain::clock::china_date(later).to_string(),
        payee_bank: "测试银行".into(),
        payee_account: "6222020000000000001".into(),
        ..Default::default()
    }
    .parse(
        &items,
        budget,
        jinglao_domain::clock::china_date(Utc::now()),
    )
    .expect("the test contract parses");
    let k = contracts::sign(&at(later), awards[0], &contract)
        .await
        .expect("the contract is signed");
    contracts::file(&at(later), k, jinglao_domain::clock::china_date(later))
        .await
        .expect("the contract is filed");
    k
}
