//! Government purchase against real databases: a project walks from the catalogue through
//! finance's review, the notice, bids (a barred provider refused with the reason), scores and
//! the award to a contract whose prices settlement uses, and out as OCDS without personal data.

use chrono::{Duration, NaiveDate, Utc};
use jinglao_db::providers::{self, NewFinding, NewProvider};
use jinglao_db::purchase::{
    bid_documents, catalogue, contracts, ocds, payments, projects, selection,
};
use jinglao_db::testing::TestDb;
use jinglao_db::{DbError, WriteCtx, credit, on_conn, test_on_both};
use jinglao_domain::clock::china_date;
use jinglao_domain::credit::CreditDraft;
use jinglao_domain::purchase::catalogue::EntryDraft;
use jinglao_domain::purchase::contract::ContractDraft;
use jinglao_domain::purchase::ocds as ocds_out;
use jinglao_domain::purchase::project::{ProjectDraft, ProjectStatus};
use jinglao_domain::supply::provider::Condition;
use jinglao_domain::{Role, Scope};

use crate::home_services::{CHAIN, ITEM, code, staff_actor, world};

fn project_draft() -> ProjectDraft {
    ProjectDraft {
        year: "2026".into(),
        title: "2026年雨湖区居家助洁服务".into(),
        catalogue_code: "JJ-01".into(),
        item_codes: vec![ITEM.into()],
        regions: vec!["430302".into()],
        quantities: vec![(ITEM.into(), "120".into(), "24".into(), "次".into())],
        price_basis: "按家政服务小时工资测算".into(),
        budget_yuan: "120000".into(),
        funding: "福利彩票公益金".into(),
        mode: "公开招标".into(),
        targets: "服务满意度不低于 90%".into(),
        criteria: vec![
            ("价格".into(), "30".into()),
            ("服务方案".into(), "70".into()),
        ],
        term_start: "2026-01-01".into(),
        term_end: "2026-12-31".into(),
        ..Default::default()
    }
}

test_on_both! {
    async fn a_project_goes_from_the_catalogue_to_a_contract_whose_prices_settlement_uses(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let now = Utc::now();
        let today = china_date(now);
        let finance = staff_actor("4303", Role::Finance);
        let county = staff_actor("430302", Role::CountyStaff);
        let at = |a, t| WriteCtx::new(&w.db, &CHAIN, a, t);

        // Without the catalogue entry, no project (the world's catalogue has only its test
        // entry); the county cannot publish one.
        let input = project_draft().parse().unwrap();
        let err = projects::create(&at(&county, now), code("430302"), "湘潭市雨湖区民政局", &input).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("catalogue_code").is_some_and(|m| m.contains("没有条目“JJ-01”"))), "{err:?}");
        let entry = EntryDraft { code: "JJ-01".into(), name: "居家上门服务".into(), category: "home_care".into(),
            nature: "公共服务事项".into(), content: "助餐、助洁等上门服务".into(), item_codes: vec![ITEM.into()] };
        let err = catalogue::publish(&at(&county, now), code("4303"), "潭财购〔2026〕1号", std::slice::from_ref(&entry), &[ITEM.into()]).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        catalogue::publish(&at(&finance, now), code("4303"), "潭财购〔2026〕1号", &[entry], &[ITEM.into()]).await.unwrap();

        // An item outside the entry is named; a region outside the purchaser's too.
        let mut other = project_draft();
        other.item_codes.push("XT-ZC-09".into());
        other.regions.push("430304".into());
        let err = projects::create(&at(&county, now), code("430302"), "湘潭市雨湖区民政局", &other.parse().unwrap()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("item_codes").is_some() && i.get("regions").is_some()), "{err:?}");
        let id = projects::create(&at(&county, now), code("430302"), "湘潭市雨湖区民政局", &input).await.unwrap();

        // Finance returns it with a reason, approves the second submission; it is frozen.
        projects::submit(&at(&county, now), id).await.unwrap();
        let err = projects::decide(&at(&county, now), id, true, "").await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "the purchasing body does not approve its own plan");
        let err = projects::decide(&at(&finance, now), id, false, "").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("reason").is_some()), "{err:?}");
        let back = projects::decide(&at(&finance, now), id, false, "单价测算依据不足，请补充").await.unwrap();
        assert_eq!((back.status, back.return_reason.as_deref()), (ProjectStatus::Returned, Some("单价测算依据不足，请补充")));
        projects::submit(&at(&county, now), id).await.unwrap();
        let ok = projects::decide(&at(&finance, now), id, true, "").await.unwrap();
        assert_eq!(ok.status, ProjectStatus::Approved);
        // A change now is a new version with its reason, back with finance.
        let mut bigger = input.clone();
        bigger.budget_fen = 13_000_000;
        let err = projects::update(&at(&county, now), id, &bigger, "").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("reason").is_some()), "{err:?}");
        projects::update(&at(&county, now), id, &bigger, "服务人数增加 10 人").await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let p = projects::get(&mut c.conn(), &Scope::All, id).await.unwrap().unwrap();
        assert_eq!((p.version, p.status), (2, ProjectStatus::Submitted));
        drop(c);
        projects::decide(&at(&finance, now), id, true, "").await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let versions: Vec<(i32, String)> = on_conn!(&mut c.conn(), |c| sqlx::query_as("SELECT version, reason FROM purchase_project_versions WHERE project_id = $1 ORDER BY version").bind(id).fetch_all(&mut *c).await).unwrap();
        assert_eq!(versions, vec![(1, "初次编报".to_string()), (2, "服务人数增加 10 人".to_string())]);
        // Not public before the notice; public after.
        assert!(projects::get_public(&mut c.conn(), id).await.unwrap().is_none());
        drop(c);
        let deadline = now + Duration::hours(1);
        projects::publish(&at(&county, now), id, deadline).await.unwrap();

        // Three bidders: one meeting all seven conditions, one never checked, and the world's
        // provider barred by a fraud penalty two years ago.
        let city = staff_actor("4303", Role::CityStaff);
        let bidder = |name: &'static str, credit: &'static str| {
            let city = city.clone();
            let db = w.db.clone();
            async move {
                providers::create(&db, &CHAIN, &city, &NewProvider { name, credit_code: credit, region_code: "430302",
                    kind: "民办非企业单位", legal_representative: "张三", evaluation_grade: "4A", ..Default::default() }, Utc::now())
                    .await.unwrap().id
            }
        };
        let good = bidder("乙社会工作服务中心", "52430302MJ50000021").await;
        let unchecked = bidder("丙家政公司", "52430302MJ50000034").await;
        let cli = jinglao_db::Actor::cli();
        for c in Condition::ALL {
            providers::record_finding(&w.db, &CHAIN, &cli, good, &NewFinding { condition: c.as_str(), met: true,
                checked_on: Some(today), expires_on: None, evidence: "现场核查" }, now).await.unwrap();
            providers::record_finding(&w.db, &CHAIN, &cli, w.provider, &NewFinding { condition: c.as_str(), met: true,
                checked_on: Some(today), expires_on: None, evidence: "现场核查" }, now).await.unwrap();
        }
        let two_years_ago = (today - Duration::days(730)).to_string();
        let fraud = CreditDraft { kind: "fraud_penalty", decision_no: "潭民罚决字〔2024〕9号", authority: "湘潭市民政局",
            decided_on: &two_years_ago, ends_on: "", summary: "虚报服务记录冒领补贴" }.validate(today).unwrap();
        credit::record(&w.db, &CHAIN, &county, w.provider, &fraud, now).await.unwrap();
        let barred = selection::record_bid(&at(&county, now), id, w.provider, 10_000_000, "").await.unwrap();
        assert!(!barred.qualified);
        assert!(barred.gaps.iter().any(|g| g.contains("不得参与政府购买服务") && g.contains("潭民罚决字〔2024〕9号")), "{barred:?}");
        let plain = selection::record_bid(&at(&county, now), id, unchecked, 9_000_000, "").await.unwrap();
        assert!(plain.gaps.iter().any(|g| g.contains("未核查")), "{plain:?}");
        let ok_bid = selection::record_bid(&at(&county, now), id, good, 11_000_000, "").await.unwrap();
        assert!(ok_bid.qualified, "{ok_bid:?}");
        let err = selection::record_bid(&at(&county, now), id, good, 10_500_000, "").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("provider_id").is_some_and(|m| m.contains("已经投过标"))), "{err:?}");

        // While bids are taken, the publication does not say who bid.
        let mut c = w.db.acquire().await.unwrap();
        let open = projects::get(&mut c.conn(), &Scope::All, id).await.unwrap().unwrap();
        let sealed = ocds::facts(&mut c.conn(), "ocds-test01", &open, &Default::default()).await.unwrap();
        assert!(sealed.tenderers.is_empty(), "{:?}", sealed.tenderers);
        drop(c);
        // Nothing is scored or awarded before the deadline; after it, the barred one cannot win.
        let err = selection::award(&at(&county, now), id, &[ok_bid.id], "").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("status").is_some_and(|m| m.contains("截止后"))), "{err:?}");
        let later = now + Duration::hours(2);
        selection::score(&at(&county, later), ok_bid.id, "评审专家甲", &[("服务方案".into(), 60)]).await.unwrap();
        let err = selection::score(&at(&county, later), barred.id, "评审专家甲", &[("服务方案".into(), 60)]).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("bid_id").is_some()), "{err:?}");
        let err = selection::award(&at(&county, later), id, &[barred.id], "理由足够长足够长足够长").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("bids").is_some_and(|m| m.contains("资格审查未通过"))), "{err:?}");
        // The bid's documents: kept by content, read by the purchasing body and by the bidder
        // (its own only), checked on every read.
        let store = tempfile::tempdir().unwrap();
        let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n".to_vec();
        let err = bid_documents::attach(&at(&county, now), store.path(), ok_bid.id, "简历", ("方案.pdf", &pdf)).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("kind").is_some()), "{err:?}");
        let err = bid_documents::attach(&at(&county, now), store.path(), ok_bid.id, "proposal", ("方案.pdf", b"MZ\x90\x00")).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("file").is_some()), "{err:?}");
        let doc = bid_documents::attach(&at(&county, now), store.path(), ok_bid.id, "服务方案", ("服务方案.pdf", &pdf)).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let listed = bid_documents::of_project(&mut c.conn(), id).await.unwrap();
        assert_eq!((listed.len(), listed[0].kind_label(), listed[0].bid_id), (1, "服务方案", ok_bid.id));
        let (_, bytes) = bid_documents::read(&mut c.conn(), &county.scope, store.path(), doc).await.unwrap();
        assert_eq!(bytes, pdf);
        let own = Scope::Provider { provider_id: good, region: jinglao_domain::RegionCode::parse("430302").unwrap() };
        assert!(bid_documents::read(&mut c.conn(), &own, store.path(), doc).await.is_ok(), "the bidder reads its own");
        let other = Scope::Provider { provider_id: unchecked, region: jinglao_domain::RegionCode::parse("430302").unwrap() };
        assert!(matches!(bid_documents::read(&mut c.conn(), &other, store.path(), doc).await, Err(DbError::NotFound)), "not another bidder's");
        let elsewhere = staff_actor("430304", Role::CountyStaff);
        assert!(matches!(bid_documents::read(&mut c.conn(), &elsewhere.scope, store.path(), doc).await, Err(DbError::NotFound)));
        let on_disk = store.path().join(&listed[0].sha256[..2]).join(&listed[0].sha256);
        std::fs::write(&on_disk, b"%PDF-1.7 altered").unwrap();
        let err = bid_documents::read(&mut c.conn(), &county.scope, store.path(), doc).await.unwrap_err();
        assert!(matches!(&err, DbError::Corrupt(_)), "{err:?}");
        drop(c);
        let awards = selection::award(&at(&county, later), id, &[ok_bid.id], "").await.unwrap();
        let err = bid_documents::attach(&at(&county, later), store.path(), ok_bid.id, "price_sheet", ("报价单.pdf", &pdf)).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("bid_id").is_some_and(|m| m.contains("不再登记"))), "after the deadline: {err:?}");

        // The contract's prices become the provider's settlement prices; an item not bought is
        // refused; a ceiling above the award too.
        let items = vec![ITEM.to_string()];
        let mut draft = ContractDraft { contract_no: "雨民购〔2026〕3号".into(), scope: "雨湖区 130 名老年人的助洁服务".into(),
            prices: vec![(ITEM.into(), "45".into(), "60".into(), "是".into())], ceiling_yuan: "110000".into(),
            quality: "按服务规范".into(), start: "2026-01-01".into(), end: "2026-12-31".into(),
            payment_terms: "monthly_verified".into(), breach_terms: "未按约定服务的按次扣减".into(),
            signed_on: today.to_string(),
            payee_bank: "中国建设银行湘潭雨湖支行".into(), payee_account: "43050162760800001234".into(), ..Default::default() };
        draft.ceiling_yuan = "110000.01".into();
        assert!(draft.parse(&items, 11_000_000, today).unwrap_err().get("ceiling_yuan").is_some());
        draft.ceiling_yuan = "110000".into();
        let contract = contracts::sign(&at(&county, later), awards[0], &draft.parse(&items, 11_000_000, today).unwrap()).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let prices: Vec<(i64, Option<uuid::Uuid>, NaiveDate)> = on_conn!(&mut c.conn(), |c| sqlx::query_as("SELECT unit_fen, contract_id, valid_from FROM service_prices WHERE provider_id = $1").bind(good).fetch_all(&mut *c).await).unwrap();
        assert_eq!(prices, vec![(4_500, Some(contract), "2026-01-01".parse().unwrap())]);
        let p = projects::get(&mut c.conn(), &Scope::All, id).await.unwrap().unwrap();
        assert_eq!(p.status, ProjectStatus::Contracted);
        drop(c);
        let err = contracts::file(&at(&county, later), contract, today).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)));
        contracts::file(&at(&finance, later), contract, today).await.unwrap();

        // Published as OCDS: every stage a release, no older person's data.
        let mut c = w.db.acquire().await.unwrap();
        let names = jinglao_domain::service_list::ItemNames::new([(ITEM.to_string(), "助洁服务".to_string())]);
        let f = ocds::facts(&mut c.conn(), "ocds-test01", &p, &names).await.unwrap();
        let rs = ocds_out::releases(&f);
        let tags: Vec<_> = rs.iter().map(|r| r["tag"][0].as_str().unwrap().to_string()).collect();
        assert_eq!(tags, ["planning", "tender", "award", "contract"]);
        let record = ocds_out::record(&f.ocid, rs);
        assert_eq!(record["compiledRelease"]["tender"]["numberOfTenderers"], 3);
        assert_eq!(record["compiledRelease"]["awards"][0]["suppliers"][0]["name"], "乙社会工作服务中心");
        assert_eq!(record["compiledRelease"]["planning"]["budget"]["amount"]["amount"], 130_000);
        let text = record.to_string();
        assert!(!text.contains("王秀英") && !text.contains("430302193803"), "no personal data in OCDS");
    }
}

test_on_both! {
    async fn a_statement_that_would_pass_its_contracts_ceiling_is_held_at_approval(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let now = Utc::now();
        let today = china_date(now);
        let finance = staff_actor("4303", Role::Finance);
        let county = staff_actor("430302", Role::CountyStaff);
        let at = |a, t| WriteCtx::new(&w.db, &CHAIN, a, t);
        let entry = EntryDraft { code: "JJ-01".into(), name: "居家上门服务".into(), category: "home_care".into(),
            nature: "public_service".into(), content: "上门服务".into(), item_codes: vec![ITEM.into()] };
        catalogue::publish(&at(&finance, now), code("4303"), "潭财购〔2026〕1号", &[entry], &[ITEM.into()]).await.unwrap();
        let id = projects::create(&at(&county, now), code("430302"), "湘潭市雨湖区民政局", &project_draft().parse().unwrap()).await.unwrap();
        projects::submit(&at(&county, now), id).await.unwrap();
        projects::decide(&at(&finance, now), id, true, "").await.unwrap();
        projects::publish(&at(&county, now), id, now + Duration::minutes(5)).await.unwrap();
        let cli = jinglao_db::Actor::cli();
        for c in Condition::ALL {
            providers::record_finding(&w.db, &CHAIN, &cli, w.provider, &NewFinding { condition: c.as_str(), met: true,
                checked_on: Some(today), expires_on: None, evidence: "现场核查" }, now).await.unwrap();
        }
        let bid = selection::record_bid(&at(&county, now), id, w.provider, 10_000, "").await.unwrap();
        let later = now + Duration::minutes(10);
        // 综合评分法: no award before the panel has scored.
        let err = selection::award(&at(&county, later), id, &[bid.id], "").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("bids").is_some_and(|m| m.contains("评审专家评分"))), "{err:?}");
        selection::score(&at(&county, later), bid.id, "评审专家甲", &[("服务方案".into(), 60)]).await.unwrap();
        let awards = selection::award(&at(&county, later), id, &[bid.id], "").await.unwrap();
        // The provider's price now comes from the contract alone: 40 yuan a visit, 100 in all.
        t.tamper("DELETE FROM service_prices").await;
        let contract = ContractDraft { contract_no: "雨民购〔2026〕9号".into(), scope: "助洁".into(),
            prices: vec![(ITEM.into(), "40".into(), "30".into(), "是".into())], ceiling_yuan: "100".into(),
            quality: "按服务规范".into(), start: "2024-01-01".into(), end: "2030-12-31".into(),
            payment_terms: "monthly_verified".into(), breach_terms: "按次扣减".into(), signed_on: today.to_string(),
            payee_bank: "中国建设银行湘潭雨湖支行".into(), payee_account: "43050162760800009999".into(),
            ..Default::default() }.parse(&[ITEM.to_string()], 10_000, today).unwrap();
        let k = contracts::sign(&at(&county, later), awards[0], &contract).await.unwrap();
        // Three verified visits: 120 yuan on a contract of 100.
        for slot in 0..3 {
            let (order, code) = crate::home_services::book(&w, jinglao_domain::order::Funding::Entitlement, slot).await.unwrap();
            assert_eq!(crate::home_services::visit(&w, order, slot, 60, &code).await.status, "verified");
        }
        let month = jinglao_db::orders::month_of(china_date(w.base));
        let settle = crate::home_services::next_month(&w, 1);
        let run = jinglao_db::statements::run(&w.db, &CHAIN, &finance, w.provider, &month, jinglao_domain::order::Funding::Entitlement, settle).await.unwrap();
        assert_eq!(run.statement.total_fen, 12_000);
        let mut c = w.db.acquire().await.unwrap();
        let priced: Vec<Option<uuid::Uuid>> = on_conn!(&mut c.conn(), |c| sqlx::query_scalar("SELECT contract_id FROM statement_lines").fetch_all(&mut *c).await).unwrap();
        assert_eq!(priced, vec![Some(k); 3], "each line names its contract");
        drop(c);
        let provider = crate::home_services::provider_actor(w.provider, Role::ProviderAdmin);
        jinglao_db::statements::advance(&w.db, &CHAIN, &provider, run.statement.id, &jinglao_db::statements::Step::Confirm, settle).await.unwrap();
        let err = jinglao_db::statements::advance(&w.db, &CHAIN, &finance, run.statement.id, &jinglao_db::statements::Step::Approve, settle).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("statement").is_some_and(|m| m.contains("雨民购〔2026〕9号") && m.contains("暂缓支付") && m.contains("100.00"))), "{err:?}");
    }
}

/// Pays `statements` through the treasury as `treasurer` would: a batch, then the treasury's
/// confirmation of every line.
pub(crate) async fn pay(
    db: &jinglao_db::Db,
    treasurer: &jinglao_db::Actor,
    statements: &[uuid::Uuid],
    now: chrono::DateTime<Utc>,
) {
    use jinglao_domain::purchase::payment::{ConfirmationRow, Outcome};
    let w = WriteCtx::new(db, &CHAIN, treasurer, now);
    let batch = payments::create(&w, statements).await.unwrap();
    let mut c = db.acquire().await.unwrap();
    let lines = payments::lines(&mut c.conn(), batch.id).await.unwrap();
    drop(c);
    let rows: Vec<ConfirmationRow> = lines
        .iter()
        .map(|l| ConfirmationRow {
            row: l.seq as usize + 1,
            batch_no: batch.batch_no.clone(),
            seq: l.seq,
            amount_fen: l.amount_fen,
            outcome: Outcome::Paid {
                voucher: format!("GK-{}-{}", batch.batch_no, l.seq),
                paid_on: china_date(now),
            },
        })
        .collect();
    let done = payments::confirm(&w, batch.id, &rows, "测试")
        .await
        .unwrap();
    assert!(
        matches!(done, payments::Confirmed::Applied { .. }),
        "{done:?}"
    );
}

test_on_both! {
    async fn an_approved_statement_is_paid_only_when_the_treasury_confirms_its_batch(t: TestDb) {
        use jinglao_domain::purchase::payment::{ConfirmationRow, Outcome};
        use jinglao_db::statements::{self, Step};
        use jinglao_domain::order::Funding;
        let w = world(t.db.clone(), 30).await;
        let month = jinglao_db::orders::month_of(china_date(w.base));
        let settle = crate::home_services::next_month(&w, 1);
        let approver = staff_actor("430302", Role::Finance);
        let treasurer = staff_actor("430302", Role::Finance);
        let provider = crate::home_services::provider_actor(w.provider, Role::ProviderAdmin);
        // Two verified visits at the contract's 40 yuan.
        for slot in 0..2 {
            let (order, code) = crate::home_services::book(&w, Funding::Entitlement, slot).await.unwrap();
            crate::home_services::visit(&w, order, slot, 60, &code).await;
        }
        let run = statements::run(&w.db, &CHAIN, &approver, w.provider, &month, Funding::Entitlement, settle).await.unwrap();
        assert_eq!((run.added, run.statement.total_fen), (2, 8_000));
        let at = |a, t| WriteCtx::new(&w.db, &CHAIN, a, t);
        let err = payments::create(&at(&treasurer, settle), &[run.statement.id]).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("statement_ids").is_some_and(|m| m.contains("已审批"))), "only approved statements: {err:?}");
        statements::advance(&w.db, &CHAIN, &provider, run.statement.id, &Step::Confirm, settle).await.unwrap();
        statements::advance(&w.db, &CHAIN, &approver, run.statement.id, &Step::Approve, settle).await.unwrap();
        // A county clerk without the finance role cannot pay; a village's scope does not reach it.
        let county = staff_actor("430302", Role::CountyStaff);
        assert!(matches!(payments::create(&at(&county, settle), &[run.statement.id]).await, Err(DbError::Forbidden(_))));
        let elsewhere = staff_actor("430304", Role::Finance);
        assert!(matches!(payments::create(&at(&elsewhere, settle), &[run.statement.id]).await, Err(DbError::NotFound)));
        let mut c = w.db.acquire().await.unwrap();
        let payable = payments::payable(&mut c.conn(), &treasurer.scope).await.unwrap();
        assert_eq!(payable.iter().map(|p| p.amount_fen).collect::<Vec<_>>(), vec![8_000]);
        drop(c);
        let batch = payments::create(&at(&treasurer, settle), &[run.statement.id]).await.unwrap();
        assert_eq!((batch.line_count, batch.total_fen, batch.status.as_str()), (1, 8_000, "open"));
        assert!(batch.batch_no.starts_with("ZF430302-"), "{}", batch.batch_no);
        // In a batch: not paid, not payable again.
        let mut c = w.db.acquire().await.unwrap();
        let s = statements::get(&mut c.conn(), &Scope::All, run.statement.id).await.unwrap().unwrap();
        assert_eq!(s.status, "paying");
        assert!(payments::payable(&mut c.conn(), &treasurer.scope).await.unwrap().is_empty());
        let lines = payments::lines(&mut c.conn(), batch.id).await.unwrap();
        assert_eq!((lines[0].payee_account.as_str(), lines[0].funding_source.as_str()), ("6222020000000000001", "部门预算专项资金"));
        drop(c);
        let row = |amount_fen, outcome| ConfirmationRow { row: 2, batch_no: batch.batch_no.clone(), seq: 1, amount_fen, outcome };
        let today = china_date(settle);
        // A wrong amount is refused, nothing written.
        let wrong = payments::confirm(&at(&treasurer, settle), batch.id, &[row(7_999, Outcome::Paid { voucher: "GK-9".into(), paid_on: today })], "测试").await.unwrap();
        assert!(matches!(&wrong, payments::Confirmed::Refused(p) if p[0].column == "金额（元）"), "{wrong:?}");
        // The treasury returns it unpaid: back to 已审批, payable again in a new batch.
        let failed = payments::confirm(&at(&treasurer, settle), batch.id, &[row(8_000, Outcome::Failed { reason: "账号户名不符".into() })], "测试").await.unwrap();
        assert_eq!(failed, payments::Confirmed::Applied { paid: 0, failed: 1, unchanged: 0, statements_paid: 0 });
        let mut c = w.db.acquire().await.unwrap();
        assert_eq!(statements::get(&mut c.conn(), &Scope::All, run.statement.id).await.unwrap().unwrap().status, "approved");
        drop(c);
        let again = payments::create(&at(&treasurer, settle), &[run.statement.id]).await.unwrap();
        assert!(again.batch_no.ends_with("-0002"), "{}", again.batch_no);
        let paid = ConfirmationRow { batch_no: again.batch_no.clone(), ..row(8_000, Outcome::Paid { voucher: "GK-2026-000123".into(), paid_on: today }) };
        let done = payments::confirm(&at(&treasurer, settle), again.id, std::slice::from_ref(&paid), "测试").await.unwrap();
        assert_eq!(done, payments::Confirmed::Applied { paid: 1, failed: 0, unchanged: 0, statements_paid: 1 });
        // The same file twice changes nothing; a contradicting answer is refused.
        let twice = payments::confirm(&at(&treasurer, settle), again.id, std::slice::from_ref(&paid), "测试").await.unwrap();
        assert_eq!(twice, payments::Confirmed::Applied { paid: 0, failed: 0, unchanged: 1, statements_paid: 0 });
        let contra = ConfirmationRow { outcome: Outcome::Failed { reason: "退回".into() }, ..paid.clone() };
        assert!(matches!(payments::confirm(&at(&treasurer, settle), again.id, &[contra], "测试").await.unwrap(), payments::Confirmed::Refused(_)));
        let mut c = w.db.acquire().await.unwrap();
        let s = statements::get(&mut c.conn(), &Scope::All, run.statement.id).await.unwrap().unwrap();
        assert_eq!((s.status.as_str(), s.payment_ref.as_deref()), ("paid", Some("GK-2026-000123")));
        let b = payments::get(&mut c.conn(), &Scope::All, again.id).await.unwrap().unwrap();
        assert_eq!(b.status, "closed");
        drop(c);
        assert_eq!(count_audit(&w.db, "payment_batch.confirm").await, 2);
        assert_eq!(count_audit(&w.db, "statement.payment_failed").await, 1, "each statement's own trail");
        assert_eq!(count_audit(&w.db, "statement.paid").await, 1);
    }
}

test_on_both! {
    async fn a_visit_at_a_price_not_from_a_contract_is_not_charged_to_public_funds(t: TestDb) {
        use jinglao_db::prices::{self, NewPrice};
        use jinglao_db::statements;
        use jinglao_domain::order::Funding;
        let w = world(t.db.clone(), 30).await;
        // The contract's price is gone; a price typed in by the city takes its place.
        t.tamper("DELETE FROM service_prices").await;
        prices::add(&w.db, &CHAIN, &staff_actor("4303", Role::CityStaff), w.provider, &NewPrice {
            item_code: ITEM, valid_from: NaiveDate::from_ymd_opt(2024, 1, 1), valid_to: None,
            unit_fen: Some(4_000), min_minutes: Some(30), needs_certificate: true, basis: "机构收费标准",
        }, Utc::now()).await.unwrap();
        let (order, code) = crate::home_services::book(&w, Funding::Entitlement, 0).await.unwrap();
        let visit = crate::home_services::visit(&w, order, 0, 60, &code).await.visit_id;
        let month = jinglao_db::orders::month_of(china_date(w.base));
        let settle = crate::home_services::next_month(&w, 1);
        let finance = staff_actor("430302", Role::Finance);
        let run = statements::run(&w.db, &CHAIN, &finance, w.provider, &month, Funding::Entitlement, settle).await.unwrap();
        assert_eq!((run.added, run.unpriced.clone()), (0, vec![visit]), "listed for staff, never charged");
    }
}

async fn count_audit(db: &jinglao_db::Db, action: &str) -> i64 {
    let mut c = db.acquire().await.unwrap();
    on_conn!(&mut c.conn(), |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = $1"
    )
    .bind(action)
    .fetch_one(&mut *c)
    .await)
    .unwrap()
}

test_on_both! {
    async fn a_contracted_providers_visit_cannot_be_dispatched_to_another_providers_caregiver(t: TestDb) {
        // No subcontracting (转包): only the contracted provider's own staff serve its orders.
        use jinglao_db::staff::{self, HireDraft};
        let w = world(t.db.clone(), 30).await;
        let city = staff_actor("4303", Role::CityStaff);
        let other = providers::create(&w.db, &CHAIN, &city, &NewProvider { name: "丁家政服务公司", credit_code: "52430302MJ5000009N",
            region_code: "430302", kind: "民办非企业单位", legal_representative: "丁一", ..Default::default() }, Utc::now())
            .await.unwrap().id;
        let cipher = jinglao_db::crypto::FieldCipher::new(&[1; 32], &[2; 32]);
        let hire = HireDraft { name: "外聘护理员".into(),
            id_number: jinglao_domain::ResidentId::from_first17("43030219850505055").as_str().to_string(),
            role: "养老护理员".into(), vocational_level: "四级/中级工".into(), certificate_no: "HN-2024-099".into(),
            start_on: "2024-01-01".into(), full_time: true, ..Default::default() };
        let outsider = staff::hire(&w.db, &CHAIN, &cipher, &crate::home_services::provider_actor(other, Role::ProviderAdmin),
            other, &hire.parse().unwrap(), Utc::now()).await.unwrap();
        let (order, _) = crate::home_services::book(&w, jinglao_domain::order::Funding::Entitlement, 0).await.unwrap();
        let err = jinglao_db::orders::assign(&w.db, &CHAIN, &w.admin, order, outsider, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("caregiver_id").is_some_and(|m| m.contains("不在该机构任职"))), "{err:?}");
    }
}

test_on_both! {
    async fn a_single_source_award_waits_for_its_public_notice_to_run_five_working_days(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let now = Utc::now();
        let finance = staff_actor("4303", Role::Finance);
        let county = staff_actor("430302", Role::CountyStaff);
        let at = |a, t| WriteCtx::new(&w.db, &CHAIN, a, t);
        let entry = EntryDraft { code: "JJ-01".into(), name: "居家上门服务".into(), category: "home_care".into(),
            nature: "public_service".into(), content: "上门服务".into(), item_codes: vec![ITEM.into()] };
        catalogue::publish(&at(&finance, now), code("4303"), "潭财购〔2026〕1号", &[entry], &[ITEM.into()]).await.unwrap();
        let mut draft = project_draft();
        draft.mode = "single_source".into();
        draft.criteria = Vec::new();
        draft.justification = "全区唯一具备失能老人上门护理资质的机构（湘民函〔2026〕8号认定）".into();
        let id = projects::create(&at(&county, now), code("430302"), "湘潭市雨湖区民政局", &draft.parse().unwrap()).await.unwrap();
        projects::submit(&at(&county, now), id).await.unwrap();
        projects::decide(&at(&finance, now), id, true, "").await.unwrap();
        projects::publish(&at(&county, now), id, now + Duration::hours(1)).await.unwrap();
        let bid = selection::record_bid(&at(&county, now), id, w.provider, 10_000_000, "").await.unwrap();
        assert!(bid.qualified, "{bid:?}");
        // After the bid deadline but within the notice: refused, saying until when.
        let err = selection::award(&at(&county, now + Duration::hours(2)), id, &[bid.id], "").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("status").is_some_and(|m| m.contains("公示 5 个工作日"))), "{err:?}");
        // Three weeks later every calendar has passed five working days.
        selection::award(&at(&county, now + Duration::days(21)), id, &[bid.id], "").await.unwrap();
    }
}

test_on_both! {
    async fn a_contracts_final_month_is_paid_after_acceptance_less_its_deduction_then_every_party_evaluates_it(t: TestDb) {
        use jinglao_db::purchase::{acceptances, evaluations};
        use jinglao_db::statements::{self, Step};
        use jinglao_domain::order::Funding;
        use jinglao_domain::purchase::acceptance::{AcceptanceDraft, month_end};
        use jinglao_domain::purchase::evaluation::Grade;
        let w = world(t.db.clone(), 30).await;
        let month = jinglao_db::orders::month_of(china_date(w.base));
        let settle = crate::home_services::next_month(&w, 1);
        // A contract whose term ends with this month: its statement is the final payment.
        t.tamper("DELETE FROM service_prices").await;
        let end = month_end(&month).unwrap();
        let k = jinglao_db::testing_contract::contract_prices(&w.db, &CHAIN, w.provider, &[(ITEM, 4_000, 30, true)],
            end - Duration::days(200), end).await;
        for slot in 0..2 {
            let (order, code) = crate::home_services::book(&w, Funding::Entitlement, slot).await.unwrap();
            crate::home_services::visit(&w, order, slot, 60, &code).await;
        }
        let approver = staff_actor("430302", Role::Finance);
        let treasurer = staff_actor("430302", Role::Finance);
        let county = staff_actor("430302", Role::CountyStaff);
        let provider = crate::home_services::provider_actor(w.provider, Role::ProviderAdmin);
        let run = statements::run(&w.db, &CHAIN, &approver, w.provider, &month, Funding::Entitlement, settle).await.unwrap();
        assert_eq!(run.statement.total_fen, 8_000);
        statements::advance(&w.db, &CHAIN, &provider, run.statement.id, &Step::Confirm, settle).await.unwrap();
        statements::advance(&w.db, &CHAIN, &approver, run.statement.id, &Step::Approve, settle).await.unwrap();
        let at = |a, t| WriteCtx::new(&w.db, &CHAIN, a, t);
        let refused = |e: DbError, needle: &str| {
            assert!(matches!(&e, DbError::Invalid(i) if i.get("statement_ids").is_some_and(|m| m.contains(needle))), "{needle}: {e:?}");
        };
        refused(payments::create(&at(&treasurer, settle), &[run.statement.id]).await.unwrap_err(), "终期验收");
        let today = china_date(settle);
        let draft = |result: &str, yuan: &str, findings: &str| AcceptanceDraft {
            kind: "final".into(), period_end: end.to_string(), inspected_on: today.to_string(),
            inspectors: "雨湖区民政局 李四".into(), third_party: "湘潭某评估中心 报告第 7 号".into(),
            findings: findings.into(), result: result.into(), deduction_yuan: yuan.into(), ..Default::default()
        };
        let files = tempfile::tempdir().unwrap();
        // The provider cannot accept its own work; a report that is not a PDF or image is refused.
        assert!(matches!(acceptances::record(&at(&provider, settle), files.path(), k, &draft("accepted", "", ""), None).await, Err(DbError::Forbidden(_))));
        let bad = acceptances::record(&at(&county, settle), files.path(), k, &draft("accepted", "", ""), Some(("报告.exe", b"MZ\x90\x00"))).await.unwrap_err();
        assert!(matches!(&bad, DbError::Invalid(i) if i.get("report").is_some()), "{bad:?}");
        acceptances::record(&at(&county, settle), files.path(), k, &draft("rejected", "", "服务记录缺签名"), None).await.unwrap();
        refused(payments::create(&at(&treasurer, settle), &[run.statement.id]).await.unwrap_err(), "验收不合格");
        let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        let a = acceptances::record(&at(&county, settle), files.path(), k, &draft("deducted", "30", "两次服务超时，按合同扣减"), Some(("验收报告.pdf", pdf))).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let (report, bytes) = acceptances::read_report(&mut c.conn(), &county.scope, files.path(), k, a).await.unwrap();
        assert_eq!((report.content_type.as_str(), bytes.as_slice()), ("application/pdf", pdf.as_slice()));
        assert!(acceptances::read_report(&mut c.conn(), &staff_actor("430304", Role::CountyStaff).scope, files.path(), k, a).await.is_err(), "another county cannot read it");
        drop(c);
        // The batch pays 80 − 30 yuan; the statement is paid when the treasury confirms it.
        let batch = payments::create(&at(&treasurer, settle), &[run.statement.id]).await.unwrap();
        assert_eq!(batch.total_fen, 5_000);
        let mut c = w.db.acquire().await.unwrap();
        let lines = payments::lines(&mut c.conn(), batch.id).await.unwrap();
        assert_eq!((lines[0].amount_fen, lines[0].deducted_fen), (5_000, 3_000));
        drop(c);
        payments::confirm(&at(&treasurer, settle), batch.id, &[jinglao_domain::purchase::payment::ConfirmationRow {
            row: 2, batch_no: batch.batch_no.clone(), seq: 1, amount_fen: 5_000,
            outcome: jinglao_domain::purchase::payment::Outcome::Paid { voucher: "GK-77".into(), paid_on: today } }], "测试").await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        assert_eq!(statements::get(&mut c.conn(), &Scope::All, run.statement.id).await.unwrap().unwrap().status, "paid");
        let (contract, project) = contracts::get(&mut c.conn(), &county.scope, k).await.unwrap().unwrap();
        assert_eq!((contract.status.as_str(), project.status), ("accepted", ProjectStatus::Accepted));
        let perf = jinglao_db::purchase::performance::of_contract(&mut c.conn(), &contract, &project, today).await.unwrap();
        assert_eq!((perf.units, perf.settled_fen, perf.paid_fen, perf.people.0), (2, 8_000, 5_000, 1));
        assert_eq!(perf.caregivers.0, perf.caregivers.1, "every caregiver who served is certified");
        drop(c);

        // Year-end evaluation: the scheme is the region's; the survey draws from the people served.
        let year: i32 = month[..4].parse().unwrap();
        let e = evaluations::open(&at(&county, settle), k, year, 10).await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let sample = evaluations::survey(&mut c.conn(), e).await.unwrap();
        assert_eq!(sample.len(), 1, "one person was served");
        drop(c);
        let marks = |v: [u32; 3]| vec![("服务数量".to_string(), v[0]), ("服务质量".to_string(), v[1]), ("资金使用效率".to_string(), v[2])];
        evaluations::score(&at(&county, settle), e, &marks([25, 35, 28]), "按时完成").await.unwrap();
        let over = evaluations::score(&at(&approver, settle), e, &marks([31, 35, 28]), "").await.unwrap_err();
        assert!(matches!(&over, DbError::Invalid(i) if i.get("marks.服务数量").is_some()), "{over:?}");
        evaluations::score(&at(&approver, settle), e, &marks([24, 30, 26]), "").await.unwrap();
        // The third party: an evaluator account reaches only the evaluations it is named on.
        let admin = jinglao_db::Actor::cli();
        let account = jinglao_db::users::create(&w.db, &CHAIN, &admin, jinglao_db::users::NewAccount {
            username: jinglao_domain::Username::parse("pinggu01").unwrap(), display_name: "湘潭某评估中心".into(),
            role: Role::Evaluator, region_code: code("430302"), provider_id: None,
            password_hash: "x".into(), must_change_password: false }, settle).await.unwrap();
        let third = jinglao_db::Actor::user(account.id, "pinggu01", Role::Evaluator, Scope::Region(code("430302")), code("430302"));
        assert!(matches!(evaluations::score(&at(&third, settle), e, &marks([20, 30, 20]), "").await, Err(DbError::NotFound)));
        let early = evaluations::publish(&at(&county, settle), e).await.unwrap_err();
        assert!(matches!(&early, DbError::Invalid(i) if i.get("status").is_some_and(|m| m.contains("第三方") && m.contains("服务对象"))), "{early:?}");
        evaluations::name_evaluator(&at(&county, settle), e, "pinggu01").await.unwrap();
        evaluations::score(&at(&third, settle), e, &marks([20, 30, 20]), "资料齐全").await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        assert_eq!(evaluations::named_on(&mut c.conn(), account.id).await.unwrap().len(), 1);
        drop(c);
        // The call: 5 stars. Someone not drawn cannot be recorded.
        evaluations::record_call(&at(&county, settle), e, sample[0].elder_id, Some(5), "很满意").await.unwrap();
        assert!(evaluations::record_call(&at(&county, settle), e, uuid::Uuid::now_v7(), Some(1), "").await.is_err());
        // 0.5·100 + 0.2·88 + 0.1·80 + 0.2·70 = 89.6: 良好.
        let (total, grade) = evaluations::publish(&at(&county, settle), e).await.unwrap();
        assert_eq!((total, grade), (896, Grade::Good));
        let mut c = w.db.acquire().await.unwrap();
        let public = evaluations::published_for(&mut c.conn(), &[w.provider]).await.unwrap();
        assert_eq!((public[0].total_text(), public[0].grade_label()), ("89.6".to_string(), "良好"));
        assert_eq!(projects::get(&mut c.conn(), &Scope::All, project.id).await.unwrap().unwrap().status, ProjectStatus::Evaluated);
        drop(c);
        assert!(evaluations::score(&at(&county, settle), e, &marks([1, 1, 1]), "").await.is_err(), "published scores are final");
        assert_eq!(count_audit(&w.db, "purchase_evaluation.publish").await, 1);
        assert_eq!(count_audit(&w.db, "purchase_contract.accept").await, 2);
    }
}

test_on_both! {
    async fn an_ended_contracts_prices_stop_on_the_day_it_ends(t: TestDb) {
        let w = world(t.db.clone(), 30).await;
        let county = staff_actor("430302", Role::CountyStaff);
        let mut c = w.db.acquire().await.unwrap();
        let k: uuid::Uuid = on_conn!(&mut c.conn(), |c| sqlx::query_scalar("SELECT id FROM purchase_contracts").fetch_one(&mut *c).await).unwrap();
        drop(c);
        let now = Utc::now();
        let at = WriteCtx::new(&w.db, &CHAIN, &county, now);
        let today = china_date(now);
        let blank = contracts::terminate(&at, k, today, " ").await.unwrap_err();
        assert!(matches!(&blank, DbError::Invalid(i) if i.get("reason").is_some()), "{blank:?}");
        contracts::terminate(&at, k, today, "年度绩效评价不合格，依合同第十条解除").await.unwrap();
        let mut c = w.db.acquire().await.unwrap();
        let to: Vec<Option<NaiveDate>> = on_conn!(&mut c.conn(), |c| sqlx::query_scalar("SELECT valid_to FROM service_prices WHERE contract_id = $1").bind(k).fetch_all(&mut *c).await).unwrap();
        assert_eq!(to, vec![Some(today - Duration::days(1))], "no visit from the day it ends is priced under it");
        let (contract, _) = contracts::get(&mut c.conn(), &Scope::All, k).await.unwrap().unwrap();
        assert_eq!(contract.status_label(), "已解除");
        assert_eq!(contract.last_day(), today - Duration::days(1));
        drop(c);
        assert!(contracts::terminate(&at, k, today, "再次").await.is_err(), "once");
    }
}
