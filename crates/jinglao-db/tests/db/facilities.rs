//! Providers, facilities, beds, residents and staff against real databases: the credit-code
//! override, scope between providers, two admissions racing for one bed, admission without an
//! assessment, overlapping full-time contracts, the waiting list's order, and resident-days.

use chrono::{NaiveDate, Utc};
use jinglao_db::audit::{self, AuditFilter, ChainKey};
use jinglao_db::beds::{self, Admission, NewBeds};
use jinglao_db::crypto::FieldCipher;
use jinglao_db::elders::{self, Secrets};
use jinglao_db::facilities::{self, FacilityDraft};
use jinglao_db::providers::{self, NewProvider};
use jinglao_db::staff::{self, HireDraft as Hire};
use jinglao_db::testing::{TestDb, seed_regions};
use jinglao_db::{Actor, Db, DbError, on_conn, test_on_both};
use jinglao_domain::category::{CategoryInput, CategoryKind};
use jinglao_domain::elder::{ElderDraft, ValidationContext};
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::{RegionCode, RegionTree, ResidentId, Role, Scope};
use uuid::Uuid;

const CHAIN: ChainKey = ChainKey([5; 32]);

fn cipher() -> FieldCipher {
    FieldCipher::new(&[1; 32], &[2; 32])
}

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn today() -> NaiveDate {
    jinglao_domain::clock::china_date(Utc::now())
}

fn staff_actor(region: &str, role: Role) -> Actor {
    Actor::user(
        Uuid::now_v7(),
        role.as_str(),
        role,
        Scope::Region(code(region)),
        code(region),
    )
}

fn provider_admin(provider_id: Uuid) -> Actor {
    Actor::user(
        Uuid::now_v7(),
        "provider_admin",
        Role::ProviderAdmin,
        Scope::Provider {
            provider_id,
            region: code("430302"),
        },
        code("430302"),
    )
}

fn id_number(n: u32, year: u32) -> String {
    ResidentId::from_first17(&format!("430302{year}0312{n:03}"))
        .as_str()
        .to_string()
}

async fn register_elder(
    db: &Db,
    tree: &RegionTree,
    n: u32,
    year: u32,
    assessed: bool,
) -> (Uuid, String) {
    let id = id_number(n, year);
    let input = ElderDraft {
        name: format!(
            "测试{}",
            ["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬", "癸"][n as usize % 10]
        ),
        id_number: id.clone(),
        ethnicity: "汉族".into(),
        phones: "13807315678".into(),
        hukou_region_code: "430302".into(),
        residence_region_code: "430302001001".into(),
        living_arrangement: "独居".into(),
        marital_status: "丧偶".into(),
        education: "小学".into(),
        ..Default::default()
    }
    .validate(&ValidationContext {
        regions: tree,
        today: today(),
        min_age: 60,
    })
    .unwrap();
    let c = cipher();
    let elder = elders::create(
        db,
        Secrets {
            chain: &CHAIN,
            cipher: &c,
        },
        &staff_actor("430302", Role::CountyStaff),
        &input,
        &[],
        Utc::now(),
    )
    .await
    .unwrap();
    if assessed {
        // Stands in for an effective assessment (the assessment workflow is tested in registry.rs).
        let mut conn = db.acquire().await.unwrap();
        on_conn!(&mut conn.conn(), |c| {
            sqlx::query("UPDATE elders SET ability_level = 3 WHERE id = $1")
                .bind(elder)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
        })
        .unwrap();
    }
    (elder, id)
}

async fn provider(db: &Db, name: &str, code_: &str) -> Uuid {
    providers::create(
        db,
        &CHAIN,
        &staff_actor("4303", Role::CityStaff),
        &NewProvider {
            name,
            credit_code: code_,
            region_code: "430302",
            kind: "民办非企业单位",
            legal_representative: "李四",
            ..Default::default()
        },
        Utc::now(),
    )
    .await
    .unwrap()
    .id
}

async fn facility(db: &Db, actor: &Actor, provider_id: Uuid, name: &str) -> Uuid {
    facilities::create(
        db,
        &CHAIN,
        actor,
        &FacilityDraft {
            provider_id: provider_id.to_string(),
            name: name.into(),
            kind: "care_home".into(),
            ownership: "public_built_private_run".into(),
            region_code: "430302001".into(),
            address: "雨湖区韶山西路 1 号".into(),
            latitude: "27.86".into(),
            longitude: "112.90".into(),
            floor_area_m2: "3200".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
        Utc::now(),
    )
    .await
    .unwrap()
}

test_on_both! {
    async fn a_credit_code_failing_its_check_is_accepted_only_with_an_authorised_reason(t: TestDb) {
        seed_regions(&t.db, &CHAIN).await;
        let bad = NewProvider { name: "早期试点机构", credit_code: "52430302MJ5000001Y", region_code: "430302",
            kind: "social_group", legal_representative: "王五", ..Default::default() };
        let err = providers::create(&t.db, &CHAIN, &staff_actor("4303", Role::CityStaff), &bad, Utc::now()).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("credit_code").unwrap().contains("校验位"), "{inv:?}");
        // A village clerk may not override, whatever the reason.
        let err = providers::create(&t.db, &CHAIN, &staff_actor("430302001001", Role::VillageStaff),
            &NewProvider { override_reason: "登记机关书面核实", region_code: "430302001001", ..bad.clone() }, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("credit_code").is_some_and(|m| m.contains("县级以上"))), "{err:?}");
        let p = providers::create(&t.db, &CHAIN, &staff_actor("4303", Role::CityStaff),
            &NewProvider { override_reason: "2015 年试点赋码，经登记机关书面核实", ..bad.clone() }, Utc::now()).await.unwrap();
        assert!(p.credit_code_override.as_deref().unwrap().contains("书面核实"));
        let mut c = t.db.acquire().await.unwrap();
        assert_eq!(providers::get(&mut c.conn(), &Scope::All, p.id).await.unwrap().unwrap(), p);
    }
}

test_on_both! {
    async fn a_provider_administrator_sees_and_changes_only_its_own_facilities(t: TestDb) {
        seed_regions(&t.db, &CHAIN).await;
        let a = provider(&t.db, "甲养老服务公司", "52430302MJ5000001X").await;
        let b = provider(&t.db, "乙养老服务公司", "91350100M000100Y43").await;
        let fa = facility(&t.db, &provider_admin(a), a, "甲护理院").await;
        // B's administrator cannot register a facility for A, nor see or add beds to A's.
        let err = facilities::create(&t.db, &CHAIN, &provider_admin(b), &FacilityDraft {
            provider_id: a.to_string(), name: "冒名设施".into(), kind: "care_home".into(), ownership: "private".into(),
            region_code: "430302001".into(), address: "某地".into(), ..Default::default() }.parse().unwrap(), Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("provider_id").is_some()), "{err:?}");
        let mut c = t.db.acquire().await.unwrap();
        assert!(facilities::get(&mut c.conn(), &provider_admin(b).scope, fa).await.unwrap().is_none());
        assert_eq!(facilities::list(&mut c.conn(), &provider_admin(b).scope, None).await.unwrap().len(), 0);
        assert_eq!(facilities::list(&mut c.conn(), &provider_admin(a).scope, None).await.unwrap().len(), 1);
        drop(c);
        let err = beds::add(&t.db, &CHAIN, &provider_admin(b), fa, &NewBeds { building: "1号楼", floor: "1", room: "101", count: 2, nursing: true }, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        // A facility outside the provider's city is refused with a field error.
        let err = facilities::create(&t.db, &CHAIN, &provider_admin(a), &FacilityDraft {
            provider_id: a.to_string(), name: "外市设施".into(), kind: "care_home".into(), ownership: "private".into(),
            region_code: "430102".into(), address: "长沙".into(), ..Default::default() }.parse().unwrap(), Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("region_code").is_some()), "{err:?}");
        // B's staff list of A is not found.
        let mut c = t.db.acquire().await.unwrap();
        assert!(matches!(staff::list(&mut c.conn(), &provider_admin(b).scope, a, None, today()).await, Err(DbError::NotFound)));
    }
}

test_on_both! {
    async fn two_admissions_racing_for_one_bed_admit_exactly_one(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let p = provider(&t.db, "甲养老服务公司", "52430302MJ5000001X").await;
        let admin = provider_admin(p);
        let f = facility(&t.db, &admin, p, "甲护理院").await;
        let bed = beds::add(&t.db, &CHAIN, &admin, f, &NewBeds { building: "1号楼", floor: "2", room: "201", count: 1, nursing: true }, Utc::now()).await.unwrap()[0];
        let (_, id1) = register_elder(&t.db, &tree, 1, 1940, true).await;
        let (_, id2) = register_elder(&t.db, &tree, 2, 1941, true).await;
        let book = PolicyBook::default();
        let c = cipher();
        let on = Some(today());
        let a1 = Admission { bed_id: bed, id_number: &id1, admitted_on: on, out_of_turn_reason: "" };
        let a2 = Admission { bed_id: bed, id_number: &id2, admitted_on: on, out_of_turn_reason: "" };
        let w = jinglao_db::WriteCtx::new(&t.db, &CHAIN, &admin, Utc::now());
        let (r1, r2) = tokio::join!(
            beds::admit(&w, &c, &book, f, &a1),
            beds::admit(&w, &c, &book, f, &a2),
        );
        let won = [r1.is_ok(), r2.is_ok()].iter().filter(|x| **x).count();
        assert_eq!(won, 1, "{r1:?} {r2:?}");
        let lost = if r1.is_ok() { r2 } else { r1 }.unwrap_err();
        assert!(matches!(&lost, DbError::Invalid(i) if i.get("bed_id").is_some()), "{lost:?}");
        let mut conn = t.db.acquire().await.unwrap();
        assert_eq!(beds::residents(&mut conn.conn(), f).await.unwrap().len(), 1);
        let fac = facilities::get(&mut conn.conn(), &Scope::All, f).await.unwrap().unwrap();
        assert_eq!((fac.beds_total, fac.nursing_beds, fac.occupied_beds), (1, 1, 1));
        let stays: i64 = on_conn!(&mut conn.conn(), |c| sqlx::query_scalar("SELECT COUNT(*) FROM stays").fetch_one(&mut *c).await).unwrap();
        assert_eq!(stays, 1, "the loser wrote nothing");
    }
}

test_on_both! {
    async fn admission_needs_an_assessment_and_one_bed_per_person_and_discharge_frees_the_bed(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let p = provider(&t.db, "甲养老服务公司", "52430302MJ5000001X").await;
        let admin = provider_admin(p);
        let f = facility(&t.db, &admin, p, "甲护理院").await;
        let ids = beds::add(&t.db, &CHAIN, &admin, f, &NewBeds { building: "1号楼", floor: "2", room: "202", count: 2, nursing: false }, Utc::now()).await.unwrap();
        let (_, unassessed) = register_elder(&t.db, &tree, 3, 1942, false).await;
        let (_, assessed) = register_elder(&t.db, &tree, 4, 1943, true).await;
        let (book, c) = (PolicyBook::default(), cipher());
        let admit = |bed: Uuid, id: String| {
            let (book, c, admin) = (book.clone(), c.clone(), admin.clone());
            let db = t.db.clone();
            async move { beds::admit(&jinglao_db::WriteCtx::new(&db, &CHAIN, &admin, Utc::now()), &c, &book, f, &Admission { bed_id: bed, id_number: &id, admitted_on: Some(today()), out_of_turn_reason: "" }).await }
        };
        // The provider's administrator is told the same thing whatever the registry holds
        // (no assessment, already in a home, not registered); the county's staff, who cover
        // the person's record, are told which.
        let refused = |err: &DbError| matches!(err, DbError::Invalid(i) if i.get("id_number") == Some(beds::PERSON_REFUSED));
        let err = admit(ids[0], unassessed.clone()).await.unwrap_err();
        assert!(refused(&err), "{err:?}");
        let county = staff_actor("430302", Role::CountyStaff);
        let a = Admission { bed_id: ids[0], id_number: &unassessed, admitted_on: Some(today()), out_of_turn_reason: "" };
        let err = beds::admit(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, Utc::now()), &c, &book, f, &a).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("id_number").is_some_and(|m| m.contains("没有生效的能力评估结论"))), "{err:?}");
        let stay = admit(ids[0], assessed.clone()).await.unwrap();
        let err = admit(ids[1], assessed.clone()).await.unwrap_err();
        assert!(refused(&err), "{err:?}");
        let err = admit(ids[1], "110101194001011234".into()).await.unwrap_err();
        assert!(refused(&err), "{err:?}");
        // A bad date or bed is named before the person is looked up (no probe without a trace).
        let a = Admission { bed_id: ids[0], id_number: &unassessed, admitted_on: None, out_of_turn_reason: "" };
        let err = beds::admit(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &admin, Utc::now()), &c, &book, f, &a).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("admitted_on").is_some() && i.get("id_number").is_none()), "{err:?}");
        let filter = AuditFilter { action: Some("stay.admit_refused".into()), ..Default::default() };
        assert_eq!(audit::list(&t.db, &Scope::All, &filter, 10).await.unwrap().len(), 4, "each refusal is audited");
        // An occupied bed cannot be taken out of service.
        let err = beds::set_status(&t.db, &CHAIN, &admin, f, ids[0], "out_of_service", Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("status").is_some()), "{err:?}");
        let err = beds::discharge(&t.db, &CHAIN, &admin, f, &beds::Discharge { stay_id: stay, on: Some(today()), reason: "" }, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("discharge_reason").is_some()), "{err:?}");
        beds::discharge(&t.db, &CHAIN, &admin, f, &beds::Discharge { stay_id: stay, on: Some(today()), reason: "回家养老" }, Utc::now()).await.unwrap();
        let mut conn = t.db.acquire().await.unwrap();
        let fac = facilities::get(&mut conn.conn(), &Scope::All, f).await.unwrap().unwrap();
        assert_eq!((fac.beds_total, fac.occupied_beds), (2, 0));
        drop(conn);
        admit(ids[1], assessed).await.unwrap();
    }
}

test_on_both! {
    async fn overlapping_full_time_contracts_with_two_providers_are_refused_but_part_time_is_allowed(t: TestDb) {
        seed_regions(&t.db, &CHAIN).await;
        let a = provider(&t.db, "甲养老服务公司", "52430302MJ5000001X").await;
        let b = provider(&t.db, "乙养老服务公司", "91350100M000100Y43").await;
        let c = cipher();
        let hire = Hire { name: "赵护理".into(), id_number: id_number(7, 1980), role: "养老护理员".into(),
            vocational_level: "四级/中级工".into(), certificate_no: "HN2024-001".into(), start_on: "2025-01-01".into(),
            end_on: "2027-12-31".into(), full_time: true, ..Default::default() };
        let s1 = staff::hire(&t.db, &CHAIN, &c, &provider_admin(a), a, &(hire).parse().unwrap(), Utc::now()).await.unwrap();
        let err = staff::hire(&t.db, &CHAIN, &c, &provider_admin(b), b, &(Hire { start_on: "2026-06-01".into(), end_on: "".into(), ..hire.clone() }).parse().unwrap(), Utc::now()).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        let msg = inv.get("full_time").unwrap();
        assert!(msg.contains("2025-01-01 至 2027-12-31") && !msg.contains("甲"), "names no other employer: {msg}");
        let s2 = staff::hire(&t.db, &CHAIN, &c, &provider_admin(b), b, &(Hire { start_on: "2026-06-01".into(), end_on: "".into(), full_time: false, ..hire.clone() }).parse().unwrap(), Utc::now()).await.unwrap();
        assert_eq!(s1, s2, "the same person, linked by ID number");
        let mut conn = t.db.acquire().await.unwrap();
        let on = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        let listed = staff::list(&mut conn.conn(), &provider_admin(b).scope, b, None, on).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].id_masked.contains('*') && !listed[0].id_masked.contains("0312007"), "{:?}", listed[0]);
    }
}

test_on_both! {
    async fn the_waiting_list_orders_by_priority_group_then_application_date(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let p = provider(&t.db, "甲养老服务公司", "52430302MJ5000001X").await;
        let county = staff_actor("430302", Role::CountyStaff);
        let f = facility(&t.db, &county, p, "区社会福利院").await;
        let c = cipher();
        let (young_early, id_a) = register_elder(&t.db, &tree, 11, 1960, false).await; // no group
        let (_, id_b) = register_elder(&t.db, &tree, 12, 1940, false).await;            // 高龄
        let (dibao, id_c) = register_elder(&t.db, &tree, 13, 1962, false).await;         // 低保
        elders::add_category(&t.db, &CHAIN, &county, dibao, &CategoryInput {
            kind: CategoryKind::Dibao, detail: None, start: "2020-01-01".parse().unwrap(), end: None, evidence: "低保证".into() }, Utc::now()).await.unwrap();
        for (id, applied) in [(&id_a, "2024-01-01"), (&id_b, "2026-03-01"), (&id_c, "2026-09-01")] {
            beds::join_waiting_list(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, Utc::now()), &c, f, id, applied.parse().ok(), "").await.unwrap();
        }
        let err = beds::join_waiting_list(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, Utc::now()), &c, f, &id_a, today().into(), "").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("id_number").is_some()), "{err:?}");
        let mut conn = t.db.acquire().await.unwrap();
        let list = beds::waiting_list(&mut conn.conn(), &county.scope, &PolicyBook::default(), f, today()).await.unwrap();
        // The text names the groups without an order: 高龄 and 低保 rank equal, by date.
        let order: Vec<Uuid> = list.iter().map(|p| p.entry.key.elder_id).collect();
        assert_eq!(order[1], dibao);
        assert_eq!(order[2], young_early);
        assert!(list[0].reason.contains("优先轮候（高龄）"), "{}", list[0].reason);
        assert!(list[1].reason.contains("优先轮候（低保）"), "{}", list[1].reason);
        // A county that ranks low income first.
        let ranked = PolicyBook::new(vec![jinglao_domain::policy::PolicySetting {
            region: code("430302"),
            key: jinglao_domain::policy::PolicyKey::WaitingListPriority,
            value: "低保、低保边缘；高龄".into(),
            basis: "区轮候办法".into(),
        }]);
        let list = beds::waiting_list(&mut conn.conn(), &county.scope, &ranked, f, today()).await.unwrap();
        assert_eq!(list[0].entry.key.elder_id, dibao);
        drop(conn);
        // Admitting someone else than the first in line needs a reason, recorded.
        let bed = beds::add(&t.db, &CHAIN, &county, f, &NewBeds { building: "1号楼", floor: "1", room: "101", count: 1, nursing: true }, Utc::now()).await.unwrap()[0];
        t.tamper("UPDATE elders SET ability_level = 3").await;
        let a = Admission { bed_id: bed, id_number: &id_c, admitted_on: Some(today()), out_of_turn_reason: "" };
        let book = PolicyBook::default();
        let err = beds::admit(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, Utc::now()), &c, &book, f, &a).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("out_of_turn_reason").is_some_and(|m| m.contains("第 3 位"))), "{err:?}");
        let a = Admission { out_of_turn_reason: "第 1、2 位老人已电话确认暂不入住", ..a };
        beds::admit(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, Utc::now()), &c, &book, f, &a).await.unwrap();
    }
}

fn full_sheet(percent: i64) -> Vec<(String, String)> {
    jinglao_domain::rating::SHEET
        .iter()
        .map(|i| {
            (
                i.code.to_string(),
                jinglao_domain::rating::tenths(i.max_points * percent / 10),
            )
        })
        .collect()
}

test_on_both! {
    async fn a_rating_goes_from_application_to_publication_and_a_failed_level_is_barred(t: TestDb) {
        use jinglao_db::ratings;
        seed_regions(&t.db, &CHAIN).await;
        let p = provider(&t.db, "甲养老服务公司", "52430302MJ5000001X").await;
        let admin = provider_admin(p);
        let county = staff_actor("430302", Role::CountyStaff);
        let book = PolicyBook::default();
        let f = facilities::create(&t.db, &CHAIN, &admin, &FacilityDraft {
            provider_id: p.to_string(), name: "甲护理院".into(), kind: "care_home".into(), ownership: "private".into(),
            region_code: "430302001".into(), address: "雨湖区".into(), opened_on: "2023-01-01".into(),
            filing_no: "湘潭雨湖备2023001".into(), filed_on: "2023-02-01".into(), ..Default::default() }.parse().unwrap(), Utc::now()).await.unwrap();
        // No policy text caps a first rating; a county that sets a cap has it applied.
        let capped = PolicyBook::new(vec![jinglao_domain::policy::PolicySetting {
            region: code("430302"),
            key: jinglao_domain::policy::PolicyKey::RatingFirstTimeCap,
            value: "3".into(),
            basis: "区等级评定实施办法".into(),
        }]);
        let err = ratings::apply(&t.db, &CHAIN, &capped, &admin, f, 4, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("requested_level").is_some_and(|m| m.contains("三级"))), "{err:?}");
        let r = ratings::apply(&t.db, &CHAIN, &book, &admin, f, 3, Utc::now()).await.unwrap();
        // An item above its maximum names the item, and nothing is written.
        let mut bad = full_sheet(70);
        bad[0].1 = "10.5".into();
        let err = ratings::save_sheet(&t.db, &CHAIN, &admin, r, "self", &bad, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("score.E1").is_some_and(|m| m.contains("超过该项满分 10"))), "{err:?}");
        let mut c = t.db.acquire().await.unwrap();
        assert!(ratings::sheet(&mut c.conn(), r, "self").await.unwrap().is_empty());
        drop(c);
        ratings::save_sheet(&t.db, &CHAIN, &admin, r, "self", &full_sheet(70), Utc::now()).await.unwrap();
        // The provider cannot fill the expert sheet.
        assert!(ratings::save_sheet(&t.db, &CHAIN, &admin, r, "expert", &full_sheet(90), Utc::now()).await.is_err());
        // Experts find 55%: 二级 met, 三级 failed.
        ratings::save_sheet(&t.db, &CHAIN, &county, r, "expert", &full_sheet(55), Utc::now()).await.unwrap();
        // A serious penalty recorded while the rating is under way stops the decision until it
        // is revoked.
        let penalty = jinglao_db::credit::record(&t.db, &CHAIN, &county, p, &jinglao_domain::credit::CreditDraft {
            kind: "serious_penalty", decision_no: "潭民罚决字〔2026〕5号", authority: "雨湖区民政局",
            decided_on: &today().to_string(), ends_on: "", summary: "消防设施长期停用" }.validate(today()).unwrap(), Utc::now()).await.unwrap();
        let err = ratings::decide_and_publish(&t.db, &CHAIN, &book, &county, r, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("status").is_some_and(|m| m.contains("重大行政处罚"))), "{err:?}");
        jinglao_db::credit::revoke(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &county, Utc::now()), penalty, Some(today()), "行政复议撤销原处罚决定").await.unwrap();
        let o = ratings::decide_and_publish(&t.db, &CHAIN, &book, &county, r, Utc::now()).await.unwrap();
        assert_eq!((o.granted.map(|l| l.number()), o.failed), (Some(2), true), "{o:?}");
        let mut c = t.db.acquire().await.unwrap();
        let fac = facilities::get(&mut c.conn(), &Scope::All, f).await.unwrap().unwrap();
        assert_eq!(fac.level_on(today()).map(|l| l.number()), Some(2));
        drop(c);
        // 三级 again within two years: refused; 二级 is allowed.
        let err = ratings::apply(&t.db, &CHAIN, &book, &admin, f, 3, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("requested_level").is_some_and(|m| m.contains("前不能再申请三级"))), "{err:?}");
        ratings::apply(&t.db, &CHAIN, &book, &admin, f, 2, Utc::now()).await.unwrap();
        // The finder shows it at two stars and not at three.
        use jinglao_db::finder::{self, Query};
        let mut c = t.db.acquire().await.unwrap();
        let two = finder::search(&mut c.conn(), &Query { min_stars: Some(2), ..Default::default() }, today()).await.unwrap();
        assert_eq!(two.total, 1);
        let three = finder::search(&mut c.conn(), &Query { min_stars: Some(3), ..Default::default() }, today()).await.unwrap();
        assert_eq!(three.total, 0);
    }
}

fn price<'a>(
    item: &'a str,
    from: &str,
    to: Option<&str>,
    fen: i64,
) -> jinglao_db::prices::NewPrice<'a> {
    jinglao_db::prices::NewPrice {
        item_code: item,
        valid_from: from.parse().ok(),
        valid_to: to.map(|t| t.parse().unwrap()),
        unit_fen: Some(fen),
        min_minutes: Some(45),
        needs_certificate: false,
        basis: "雨民购〔2026〕3号",
    }
}

test_on_both! {
    async fn contract_prices_of_one_item_never_overlap_even_when_added_at_once(t: TestDb) {
        use jinglao_db::prices;
        seed_regions(&t.db, &CHAIN).await;
        let p = provider(&t.db, "甲养老服务公司", "52430302MJ5000001X").await;
        let county = staff_actor("430302", Role::CountyStaff);
        prices::add(&t.db, &CHAIN, &county, p, &price("XT-ZY", "2026-01-01", Some("2026-06-30"), 4_000), Utc::now()).await.unwrap();
        // In force together with the first on June: refused naming the date, nothing written.
        let err = prices::add(&t.db, &CHAIN, &county, p, &price("XT-ZY", "2026-06-01", None, 4_500), Utc::now()).await.unwrap_err();
        match err {
            DbError::Invalid(inv) => assert!(inv.get("valid_from").unwrap().contains("同时有效"), "{inv:?}"),
            e => panic!("{e:?}"),
        }
        prices::add(&t.db, &CHAIN, &county, p, &price("XT-ZY", "2026-07-01", None, 4_500), Utc::now()).await.unwrap();
        // A provider administrator may not set prices; a bad amount names its field.
        assert!(matches!(
            prices::add(&t.db, &CHAIN, &provider_admin(p), p, &price("XT-ZC", "2026-01-01", None, 1_200), Utc::now()).await,
            Err(DbError::NotFound)
        ));
        let err = prices::add(&t.db, &CHAIN, &county, p, &price("XT-ZC", "2026-01-01", None, 0), Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(ref inv) if inv.get("unit_yuan").is_some()), "{err:?}");

        // Two clerks adding overlapping open prices for another item at once: exactly one wins.
        let (a, b) = (price("XT-ZC", "2026-01-01", None, 1_200), price("XT-ZC", "2026-03-01", None, 1_300));
        let (r1, r2) = tokio::join!(
            prices::add(&t.db, &CHAIN, &county, p, &a, Utc::now()),
            prices::add(&t.db, &CHAIN, &county, p, &b, Utc::now()),
        );
        assert_eq!([r1.is_ok(), r2.is_ok()].iter().filter(|x| **x).count(), 1, "{r1:?} {r2:?}");
        let mut c = t.db.acquire().await.unwrap();
        let all = prices::list(&mut c.conn(), p).await.unwrap();
        assert_eq!(all.len(), 3);
        let book: Vec<_> = all.iter().map(|x| x.price()).collect();
        let june = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        let july = NaiveDate::from_ymd_opt(2026, 7, 15).unwrap();
        assert_eq!(jinglao_domain::settlement::price_on(&book, "XT-ZY", june), Some(4_000));
        assert_eq!(jinglao_domain::settlement::price_on(&book, "XT-ZY", july), Some(4_500));
    }
}
