//! The registry, its import and the assessment workflow against real databases.

use chrono::{NaiveDate, Utc};
use jinglao_db::assessments::{self, Assessment};
use jinglao_db::audit::{self, AuditFilter, ChainKey};
use jinglao_db::crypto::FieldCipher;
use jinglao_db::elder_import::{self, Action, ImportSource};
use jinglao_db::elder_search::{self, ElderFilter, Position};
use jinglao_db::elders::{self, Reveal, Secrets};
use jinglao_db::testing::TestDb;
use jinglao_db::users::NewAccount;
use jinglao_db::{Actor, Db, DbError, agencies, test_on_both, users};
use jinglao_domain::assessment::{AbilityLevel, ITEMS};
use jinglao_domain::assessment_form::{
    AssessmentForm, AssessmentReason, AssessmentStatus, HEALTH_PROBLEMS,
};
use jinglao_domain::category::{CategoryDraft, CategoryKind};
use jinglao_domain::elder::{
    ContactDraft, ElderDraft, ElderInput, LifeEvent, LifeEventKind, ValidationContext,
};
use jinglao_domain::elder_import::{parse_table, template_csv};
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::tabular::read_table;
use jinglao_domain::{RegionCode, RegionTree, ResidentId, Role, Scope, Username};
use uuid::Uuid;

const CHAIN: ChainKey = ChainKey([5; 32]);

fn cipher() -> FieldCipher {
    FieldCipher::new(&[6; 32], &[7; 32])
}

fn secrets(c: &FieldCipher) -> Secrets<'_> {
    Secrets {
        chain: &CHAIN,
        cipher: c,
    }
}

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn today() -> NaiveDate {
    jinglao_domain::clock::china_date(Utc::now())
}

async fn seed_regions(db: &Db) -> RegionTree {
    jinglao_db::testing::seed_regions(db, &CHAIN).await
}

fn id_number(n: u32, year: u32) -> String {
    ResidentId::from_first17(&format!("430302{year}0312{n:03}"))
        .as_str()
        .to_string()
}

fn draft(n: u32, residence: &str) -> ElderDraft {
    ElderDraft {
        name: "王秀英".into(),
        id_number: id_number(n, 1944),
        ethnicity: "汉族".into(),
        phones: "13807315678".into(),
        hukou_region_code: "430302".into(),
        residence_region_code: residence.into(),
        living_arrangement: "独居".into(),
        marital_status: "丧偶".into(),
        education: "小学".into(),
        contacts: vec![ContactDraft {
            name: "李军".into(),
            relation: "儿子".into(),
            phone: "13912345678".into(),
        }],
        ..Default::default()
    }
}

fn input(tree: &RegionTree, d: ElderDraft) -> ElderInput {
    d.validate(&ValidationContext {
        regions: tree,
        today: today(),
        min_age: 60,
    })
    .unwrap()
}

fn county_actor(county: &str) -> Actor {
    Actor::user(
        Uuid::now_v7(),
        "county",
        Role::CountyStaff,
        Scope::Region(code(county)),
        code(county),
    )
}

test_on_both! {
    async fn a_second_record_with_the_same_id_number_is_refused_with_the_existing_one(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        let first = elders::create(&t.db, secrets(&c), &actor, &input(&tree, draft(1, "430302001001")), &[], Utc::now())
            .await.unwrap();
        let again = elders::create(&t.db, secrets(&c), &actor, &input(&tree, draft(1, "430302001002")), &[], Utc::now()).await;
        match again {
            Err(DbError::DuplicateElder { existing_id, region_code }) => {
                assert_eq!(existing_id, first);
                assert_eq!(region_code, code("430302001001"));
            }
            other => panic!("expected a duplicate, got {other:?}"),
        }
    }
}

test_on_both! {
    async fn another_countys_staff_learn_only_that_a_number_is_registered_elsewhere_and_the_try_is_audited(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let first = elders::create(&t.db, secrets(&c), &county_actor("430302"), &input(&tree, draft(1, "430302001001")), &[], Utc::now())
            .await.unwrap();
        let other = county_actor("430304");
        let again = elders::create(&t.db, secrets(&c), &other, &input(&tree, draft(1, "430304001001")), &[], Utc::now()).await;
        match again {
            Err(DbError::Invalid(inv)) => {
                assert_eq!(inv.errors[0].field, "id_number");
                assert_eq!(inv.errors[0].message, elders::REGISTERED_ELSEWHERE);
                assert!(!inv.errors[0].message.contains("雨湖"));
            }
            other => panic!("expected the one answer, got {other:?}"),
        }
        let filter = AuditFilter { action: Some("elder.duplicate_refused".into()), ..Default::default() };
        let entries = audit::list(&t.db, &Scope::All, &filter, 10).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].record_id.as_deref(), Some(first.to_string().as_str()));
    }
}

test_on_both! {
    async fn a_number_copied_onto_another_persons_row_does_not_decrypt_and_old_values_are_resealed_once(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let county = county_actor("430302");
        let a = elders::create(&t.db, secrets(&c), &county, &input(&tree, draft(1, "430302001001")), &[], Utc::now()).await.unwrap();
        let b = elders::create(&t.db, secrets(&c), &county, &input(&tree, draft(2, "430302001001")), &[], Utc::now()).await.unwrap();
        let cipher_of = |id: Uuid| {
            let db = t.db.clone();
            async move {
                let mut conn = db.acquire().await.unwrap();
                jinglao_db::on_conn!(&mut conn.conn(), |x| {
                    sqlx::query_scalar::<_, Vec<u8>>("SELECT id_cipher FROM elders WHERE id = $1").bind(id).fetch_one(&mut *x).await
                }).unwrap()
            }
        };
        let set_cipher = |id: Uuid, value: Vec<u8>| {
            let db = t.db.clone();
            async move {
                let mut conn = db.acquire().await.unwrap();
                jinglao_db::on_conn!(&mut conn.conn(), |x| {
                    sqlx::query("UPDATE elders SET id_cipher = $1 WHERE id = $2").bind(&value).bind(id).execute(&mut *x).await.map(|_| ())
                }).unwrap()
            }
        };
        // Someone with write access copies A's ciphertext onto B: B's record does not show A's
        // number, it fails loudly.
        let b_own = cipher_of(b).await;
        set_cipher(b, cipher_of(a).await).await;
        let err = elders::reveal(&t.db, secrets(&c), &county, b, Reveal::IdNumber, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Corrupt(_)), "{err:?}");
        set_cipher(b, b_own).await;
        // A value of the first release (bound to the field only) is refused until `jinglao
        // migrate` reseals it, once.
        set_cipher(a, c.encrypt_first_release(jinglao_db::crypto::Field::IdNumber, &id_number(1, 1944))).await;
        t.tamper("DELETE FROM data_versions WHERE name = 'field_cipher'").await;
        assert!(elders::reveal(&t.db, secrets(&c), &county, a, Reveal::IdNumber, Utc::now()).await.is_err());
        assert_eq!(jinglao_db::crypto::reseal_legacy(&t.db, &c).await.unwrap(), 1);
        let shown = elders::reveal(&t.db, secrets(&c), &county, a, Reveal::IdNumber, Utc::now()).await.unwrap();
        assert_eq!(shown, vec![id_number(1, 1944)]);
        assert_eq!(jinglao_db::crypto::reseal_legacy(&t.db, &c).await.unwrap(), 0, "done once");
    }
}

test_on_both! {
    async fn numbers_are_stored_encrypted_shown_masked_and_each_reveal_is_audited(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        let id = elders::create(&t.db, secrets(&c), &actor, &input(&tree, draft(2, "430302001001")), &[], Utc::now())
            .await.unwrap();
        // Nothing in the table holds the clear numbers.
        let mut conn = t.db.acquire().await.unwrap();
        let rec = elders::get(&mut conn.conn(), &actor.scope, id).await.unwrap().unwrap();
        drop(conn);
        assert_eq!(rec.id_masked, format!("4303*************{}", &id_number(2, 1944)[17..]));
        assert_eq!(rec.phones_masked, vec!["138****5678"]);
        assert_eq!(rec.contacts[0].phone_masked, "139****5678");
        let backup = t.url.clone();
        if backup.starts_with("sqlite://") {
            let file = std::fs::read(backup.trim_start_matches("sqlite://")).unwrap_or_default();
            let wal = std::fs::read(format!("{}-wal", backup.trim_start_matches("sqlite://"))).unwrap_or_default();
            for bytes in [file, wal] {
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains(&id_number(2, 1944)), "no clear ID number on disk");
                assert!(!text.contains("13807315678"), "no clear phone on disk");
            }
        }
        let shown = elders::reveal(&t.db, secrets(&c), &actor, id, Reveal::IdNumber, Utc::now()).await.unwrap();
        assert_eq!(shown, vec![id_number(2, 1944)]);
        let shown = elders::reveal(&t.db, secrets(&c), &actor, id, Reveal::Phones, Utc::now()).await.unwrap();
        assert_eq!(shown, vec!["13807315678".to_string(), "李军：13912345678".to_string()]);
        let entries = audit::list(&t.db, &Scope::All, &AuditFilter { action: Some("elder.reveal".into()), ..Default::default() }, 10)
            .await.unwrap();
        assert_eq!(entries.len(), 2);
        assert!(!entries.iter().any(|e| e.detail.contains(&id_number(2, 1944))), "the audit names what, not the number");
        // Outside the scope the record does not exist, and cannot be revealed.
        let other = county_actor("430304");
        let mut conn = t.db.acquire().await.unwrap();
        assert!(elders::get(&mut conn.conn(), &other.scope, id).await.unwrap().is_none());
        drop(conn);
        assert!(matches!(elders::reveal(&t.db, secrets(&c), &other, id, Reveal::IdNumber, Utc::now()).await, Err(DbError::NotFound)));
    }
}

test_on_both! {
    async fn search_finds_by_name_id_phone_category_and_level_within_scope_only(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        let mut d = draft(3, "430302001001");
        d.name = "赵桂兰".into();
        d.phones = "0731-58888888".into();
        let cat = CategoryDraft { kind: "低保".into(), start: "2024-01-01".into(), ..Default::default() }
            .validate(today()).unwrap();
        let id = elders::create(&t.db, secrets(&c), &actor, &input(&tree, d), &[cat], Utc::now()).await.unwrap();
        elders::create(&t.db, secrets(&c), &actor, &input(&tree, draft(4, "430302001002")), &[], Utc::now()).await.unwrap();
        let yt = county_actor("430304");
        let yt_village = tree.subtree(&code("430304")).iter().find(|r| r.level == jinglao_domain::RegionLevel::Village).unwrap().code;
        let mut other = draft(5, yt_village.as_str());
        other.name = "赵桂芳".into();
        elders::create(&t.db, secrets(&c), &yt, &input(&tree, other), &[], Utc::now()).await.unwrap();

        let mut conn = t.db.acquire().await.unwrap();
        let find = |text: &str| ElderFilter { text: text.into(), ..ElderFilter::new(today()) };
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find("赵桂"), Position::Start, 50).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), vec!["赵桂兰"], "赵桂芳 lives in 岳塘区");
        assert_eq!(rows[0].categories, vec!["低保"]);
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &Scope::All, &find("赵桂"), Position::Start, 50).await.unwrap();
        assert_eq!(rows.len(), 2);
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find(&id_number(3, 1944)), Position::Start, 50).await.unwrap();
        assert_eq!(rows[0].id, id);
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find("0731 5888 8888"), Position::Start, 50).await.unwrap();
        assert_eq!(rows[0].id, id);
        let by_cat = ElderFilter { category: Some("低保".into()), ..ElderFilter::new(today()) };
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &by_cat, Position::Start, 50).await.unwrap();
        assert_eq!(rows.len(), 1);
        let elderly = ElderFilter { category: Some("高龄".into()), ..ElderFilter::new(today()) };
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &elderly, Position::Start, 50).await.unwrap();
        assert_eq!(rows.len(), 2, "both 1944-born people are 80 or over");
        let n = elder_search::count(&mut conn.conn(), &c, &actor.scope, &ElderFilter::new(today())).await.unwrap();
        assert_eq!(n, 2);
        // Paging by name.
        let (page1, more) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &ElderFilter::new(today()), Position::Start, 1).await.unwrap();
        assert!(more);
        let (page2, more) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &ElderFilter::new(today()),
            Position::After(&page1[0].name, page1[0].id), 1).await.unwrap();
        assert!(!more);
        assert_ne!(page1[0].id, page2[0].id);
    }
}

test_on_both! {
    async fn a_death_ends_open_categories_and_raises_one_domain_event(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        let cat = CategoryDraft { kind: "农村特困".into(), detail: "分散供养".into(), start: "2020-01-01".into(), ..Default::default() }
            .validate(today()).unwrap();
        let id = elders::create(&t.db, secrets(&c), &actor, &input(&tree, draft(6, "430302001001")), &[cat], Utc::now()).await.unwrap();
        let date = today() - chrono::Duration::days(3);
        let ev = LifeEvent { elder_id: id, kind: LifeEventKind::Died, date, note: "死亡证明 No.123".into() };
        elders::record_life_event(&t.db, &CHAIN, &actor, &ev, Utc::now()).await.unwrap();
        let mut conn = t.db.acquire().await.unwrap();
        let rec = elders::get(&mut conn.conn(), &actor.scope, id).await.unwrap().unwrap();
        assert_eq!(rec.status, jinglao_domain::elder::ElderStatus::Deceased);
        assert_eq!(rec.status_date, Some(date));
        assert_eq!(rec.categories[0].end, Some(date));
        assert_eq!(rec.categories[0].kind, CategoryKind::RuralExtremePoverty);
        assert_eq!(elders::domain_events_of(&mut conn.conn(), id).await.unwrap(), vec![("elder.life_event".to_string(), date)]);
        drop(conn);
        let twice = elders::record_life_event(&t.db, &CHAIN, &actor, &ev, Utc::now()).await;
        assert!(matches!(twice, Err(DbError::Invalid(_))), "a second death is refused");
    }
}

fn import_file(rows: &[String]) -> String {
    let header = template_csv().lines().next().unwrap().to_string();
    format!("{header}\n{}\n", rows.join("\n"))
}

fn import_row(n: u32, name: &str, village: &str, cats: &str) -> String {
    let start = if cats.is_empty() { "" } else { "2024-01-01" };
    format!(
        "{name},{},汉族,1380731{n:04},430302,{village},,,,独居,丧偶,小学,,,1,否,否,,,,{cats},{start},",
        id_number(n, 1940)
    )
}

test_on_both! {
    async fn an_import_is_planned_shown_applied_once_and_idempotent(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        let ctx = ValidationContext { regions: &tree, today: today(), min_age: 60 };
        let rows: Vec<String> = (1..=300).map(|n| import_row(n, "孙玉兰", "430302001001", if n % 3 == 0 { "低保" } else { "" })).collect();
        let parsed = parse_table(&read_table(import_file(&rows).as_bytes()).unwrap(), &ctx).unwrap();
        assert!(parsed.problems.is_empty());
        let plan = elder_import::plan(&t.db, &c, &actor.scope, &parsed.records).await.unwrap();
        assert_eq!((plan.new_count(), plan.update_count(), plan.unchanged_count(), plan.category_count()), (300, 0, 0, 100));
        let src = ImportSource { file_name: "a.csv".into(), checksum: "x".into() };
        let s = elder_import::apply(&t.db, secrets(&c), &actor, &parsed.records, &plan, &src, Utc::now()).await.unwrap();
        assert_eq!((s.inserted, s.updated, s.unchanged, s.categories_added), (300, 0, 0, 100));
        let creates = audit::list(&t.db, &Scope::All, &AuditFilter { action: Some("elder.create".into()), ..Default::default() }, 1000).await.unwrap();
        assert_eq!(creates.len(), 300, "one audit entry per person");
        assert_eq!(audit::verify(&t.db, &CHAIN, 1000).await.unwrap().broken, None);

        // The same file again: nothing to do, nothing written.
        let again = elder_import::plan(&t.db, &c, &actor.scope, &parsed.records).await.unwrap();
        assert_eq!((again.new_count(), again.update_count(), again.unchanged_count(), again.category_count()), (0, 0, 300, 0));
        let before = audit::verify(&t.db, &CHAIN, 1000).await.unwrap().head_seq;
        let s = elder_import::apply(&t.db, secrets(&c), &actor, &parsed.records, &again, &src, Utc::now()).await.unwrap();
        assert_eq!(s.unchanged, 300);
        assert_eq!(audit::verify(&t.db, &CHAIN, 1000).await.unwrap().head_seq, before);

        // One person changed: the plan shows the diff, masked.
        let mut changed = rows.clone();
        changed[4] = import_row(5, "孙玉兰", "430302001002", "");
        changed[5] = changed[5].replace("13807310006", "13807319999");
        let parsed2 = parse_table(&read_table(import_file(&changed).as_bytes()).unwrap(), &ctx).unwrap();
        let plan2 = elder_import::plan(&t.db, &c, &actor.scope, &parsed2.records).await.unwrap();
        assert_eq!(plan2.update_count(), 2);
        let Action::Update { changes, .. } = &plan2.rows[4].action else { panic!() };
        assert_eq!(changes[0].field, "居住地");
        let Action::Update { changes, .. } = &plan2.rows[5].action else { panic!() };
        assert_eq!((changes[0].from.as_str(), changes[0].to.as_str()), ("138****0006", "138****9999"));
        assert_ne!(plan2.fingerprint, again.fingerprint);

        // A row whose ID number is on file under another name is refused with the reason, and
        // nothing of that person changes.
        let mut renamed = rows.clone();
        renamed[6] = import_row(7, "孙玉芳", "430302001002", "");
        let parsed3 = parse_table(&read_table(import_file(&renamed).as_bytes()).unwrap(), &ctx).unwrap();
        let plan3 = elder_import::plan(&t.db, &c, &actor.scope, &parsed3.records).await.unwrap();
        assert_eq!((plan3.refused.len(), plan3.update_count()), (1, 0), "{:?}", plan3.refused);
        let refused = &plan3.refused[0];
        assert_eq!(refused.line, parsed3.records[6].line);
        assert!(refused.reason.contains("已登记为“孙玉兰”") && refused.reason.contains("不一致"), "{}", refused.reason);

        // Empty optional cells mean "no change": a row without the phone and the children's
        // answers leaves them as they are on file, and an import that only blanks changes
        // nothing; a new value in another column is still an update, with the phone kept.
        let mut blanked = rows.clone();
        blanked[8] = blanked[8].replace("13807310009", "").replace(",1,否,否,", ",,,,");
        let parsed4 = parse_table(&read_table(import_file(&blanked).as_bytes()).unwrap(), &ctx).unwrap();
        assert!(parsed4.problems.is_empty(), "{:?}", parsed4.problems);
        assert_eq!(parsed4.records[8].blank, ["phones", "address", "location", "income_sources", "medical_payments", "children_count", "children_local", "children_can_care", "contacts"]);
        let plan4 = elder_import::plan(&t.db, &c, &actor.scope, &parsed4.records).await.unwrap();
        assert_eq!((plan4.update_count(), plan4.unchanged_count()), (0, 300), "blanks are not changes");
        blanked[8] = blanked[8].replace(",独居,", ",与子女,");
        let parsed5 = parse_table(&read_table(import_file(&blanked).as_bytes()).unwrap(), &ctx).unwrap();
        let plan5 = elder_import::plan(&t.db, &c, &actor.scope, &parsed5.records).await.unwrap();
        let Action::Update { changes, input, .. } = &plan5.rows[8].action else { panic!("{:?}", plan5.rows[8].action) };
        assert_eq!(changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["居住情况"]);
        assert_eq!(input.phones.len(), 1, "the phone on file is kept");
        assert_eq!(input.children_count, 1);
    }
}

test_on_both! {
    async fn an_import_touching_another_county_refuses_those_rows(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let yuhu = county_actor("430302");
        let ctx = ValidationContext { regions: &tree, today: today(), min_age: 60 };
        let yt_village = tree.subtree(&code("430304")).iter().find(|r| r.level == jinglao_domain::RegionLevel::Village).unwrap().code;
        let rows = vec![import_row(1, "周兰英", "430302001001", ""), import_row(2, "周兰英", yt_village.as_str(), "")];
        let parsed = parse_table(&read_table(import_file(&rows).as_bytes()).unwrap(), &ctx).unwrap();
        let plan = elder_import::plan(&t.db, &c, &yuhu.scope, &parsed.records).await.unwrap();
        assert_eq!(plan.new_count(), 1);
        assert_eq!(plan.refused.len(), 1);
        assert_eq!(plan.refused[0].line, 3);
    }
}

async fn staff(db: &Db, name: &str, role: Role, region: &str) -> Actor {
    let a = users::create(
        db,
        &CHAIN,
        &Actor::cli(),
        NewAccount {
            username: Username::parse(name).unwrap(),
            display_name: name.into(),
            role,
            region_code: code(region),
            provider_id: None,
            password_hash: "x".into(),
            must_change_password: false,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    Actor::user(a.id, name, role, Scope::Region(code(region)), code(region))
}

async fn assessor(db: &Db, name: &str, agency: Uuid, expiry: &str) -> Actor {
    let a = users::create(
        db,
        &CHAIN,
        &Actor::cli(),
        NewAccount {
            username: Username::parse(name).unwrap(),
            display_name: name.into(),
            role: Role::Assessor,
            region_code: code("4303"),
            provider_id: None,
            password_hash: "x".into(),
            must_change_password: false,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    agencies::set_profile(
        &jinglao_db::WriteCtx::new(db, &CHAIN, &Actor::cli(), Utc::now()),
        a.id,
        agency,
        &format!("CERT-{name}"),
        "四级",
        jinglao_domain::category::parse_date(expiry),
        true,
    )
    .await
    .unwrap();
    Actor::user(
        a.id,
        name,
        Role::Assessor,
        Scope::Region(code("4303")),
        code("4303"),
    )
}

fn full_form(scores: u8) -> AssessmentForm {
    let mut f = AssessmentForm {
        reference_date: Some(today()),
        reason: Some(AssessmentReason::First),
        informant_name: "本人".into(),
        informant_relation: "本人".into(),
        ..Default::default()
    };
    for (code, _, answers) in HEALTH_PROBLEMS {
        if let Some(first) = answers.first() {
            f.health.insert(code.into(), first.to_string());
        }
    }
    for it in &ITEMS {
        f.items.insert(it.code.into(), scores.min(it.max()) as i64);
    }
    f
}

test_on_both! {
    async fn an_assessment_goes_draft_submitted_reviewed_effective_and_a_correction_supersedes_it(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let county = staff(&t.db, "county_reviewer", Role::CountyStaff, "430302").await;
        let elder = elders::create(&t.db, secrets(&c), &county, &input(&tree, draft(7, "430302001001")), &[], Utc::now()).await.unwrap();
        let agency = agencies::create(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &Actor::cli(), Utc::now()), "湘潭市康评评估中心", "52430302MJ5000001X", Some(code("4303")), true, "").await.unwrap();
        let a1 = assessor(&t.db, "assessor_a", agency, "2099-12-31").await;
        let a2 = assessor(&t.db, "assessor_b", agency, "2099-12-31").await;
        let policy = PolicyBook::default();
        // A list with one item for 半失能 people: the answer follows the assessments.
        let list = jinglao_db::service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &Actor::cli(), Utc::now()), code("4303"), "湘潭市清单", "潭政办发〔2023〕20号", &[jinglao_domain::service_list::ServiceItem {
                code: "XT-01".into(), name: "助浴".into(), category: jinglao_domain::service_list::ServiceCategory::Care,
                target: jinglao_domain::rules::Rule::parse("\"半失能\" in categories").unwrap(), content: "上门助浴".into(),
                payer: jinglao_domain::service_list::Payer::GovernmentInFull, quota: jinglao_domain::service_list::Quota::TimesPerMonth(4),
                effective_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(), effective_to: None, basis: "潭政办发〔2023〕20号".into(),
            }]).await.unwrap();
        let answer = |db: Db| async move {
            let mut c = db.acquire().await.unwrap();
            jinglao_db::eligibility::answer_of(&mut c.conn(), elder).await.unwrap()
        };
        assert_eq!(answer(t.db.clone()).await, None, "registered before the list: answered at the next sweep or change");

        let id = assessments::open(&t.db, &CHAIN, &a1, elder, AssessmentReason::First, Utc::now()).await.unwrap();
        // One assessor is not enough, and the agency has only two assessors (three required).
        assessments::save_draft(&t.db, &CHAIN, &a1, id, &full_form(2), None, Utc::now()).await.unwrap();
        let err = assessments::submit(&t.db, &CHAIN, &a1, id, &policy, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("assessor2").is_some()), "{err:?}");
        assessments::save_draft(&t.db, &CHAIN, &a1, id, &full_form(2), a2.user_id, Utc::now()).await.unwrap();
        let err = assessments::submit(&t.db, &CHAIN, &a1, id, &policy, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("agency").unwrap().contains("不足 3 名")), "{err:?}");
        assessor(&t.db, "assessor_c", agency, "2099-12-31").await;
        let result = assessments::submit(&t.db, &CHAIN, &a2, id, &policy, Utc::now()).await.unwrap();
        assert_eq!(result.final_level, AbilityLevel::Moderate, "all twos: 50 points");

        let township = staff(&t.db, "township_reviewer", Role::TownshipStaff, "430302001").await;
        let err = assessments::review(&t.db, &CHAIN, &township, id, false, "", Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)), "sending back needs a reason");
        assessments::review(&t.db, &CHAIN, &township, id, true, "材料齐全", Utc::now()).await.unwrap();
        assessments::make_effective(&t.db, &CHAIN, &county, id, &policy, Utc::now()).await.unwrap();
        let mut conn = t.db.acquire().await.unwrap();
        let rec = elders::get(&mut conn.conn(), &county.scope, elder).await.unwrap().unwrap();
        assert_eq!(rec.ability, Some(AbilityLevel::Moderate));
        assert_eq!(rec.reassessment_due, Some(jinglao_domain::assessment_form::reassessment_due(today(), 12)));
        drop(conn);
        assert_eq!(answer(t.db.clone()).await, Some((list.id, 1)), "the effective assessment answered at once");

        // An effective assessment is never edited; a correction is a new version.
        let err = assessments::save_draft(&t.db, &CHAIN, &a1, id, &full_form(4), a2.user_id, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)));
        let fix = assessments::correct(&t.db, &CHAIN, &a1, id, Utc::now()).await.unwrap();
        // The correction records Alzheimer's disease (G30, which leaves the level as it is):
        // the person becomes 失智.
        let mut with_dementia = full_form(4);
        with_dementia.diagnoses = vec!["G30".into()];
        assessments::save_draft(&t.db, &CHAIN, &a1, fix, &with_dementia, a2.user_id, Utc::now()).await.unwrap();
        assessments::submit(&t.db, &CHAIN, &a1, fix, &policy, Utc::now()).await.unwrap();
        assessments::review(&t.db, &CHAIN, &county, fix, true, "", Utc::now()).await.unwrap();
        // Who reviewed it may not also make it effective; a colleague does.
        let err = assessments::make_effective(&t.db, &CHAIN, &county, fix, &policy, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("decision").is_some_and(|m| m.contains("不同的人"))), "{err:?}");
        let colleague = staff(&t.db, "county_colleague", Role::CountyStaff, "430302").await;
        assessments::make_effective(&t.db, &CHAIN, &colleague, fix, &policy, Utc::now()).await.unwrap();
        let mut conn = t.db.acquire().await.unwrap();
        let history: Vec<Assessment> = assessments::for_elder(&mut conn.conn(), &county.scope, elder).await.unwrap();
        let statuses: Vec<(i32, AssessmentStatus)> = history.iter().map(|a| (a.version, a.status)).collect();
        assert_eq!(statuses, vec![(2, AssessmentStatus::Effective), (1, AssessmentStatus::Superseded)]);
        assert_eq!(history[1].result.as_ref().unwrap().total, 50, "the original is kept as it was");
        let rec = elders::get(&mut conn.conn(), &county.scope, elder).await.unwrap().unwrap();
        assert_eq!(rec.ability, Some(AbilityLevel::Intact));
        assert!(rec.dementia, "失智 from the effective assessment's diagnoses");
        drop(conn);
        // The re-assessment (能力完好) took the item away at once, with the reason recorded.
        assert_eq!(answer(t.db.clone()).await, Some((list.id, 0)));
        let mut conn = t.db.acquire().await.unwrap();
        let filter = jinglao_db::worklists::WorkFilter {
            region: code("430302001001"), item: None, on: today(), since: Utc::now() - chrono::Duration::days(1),
            page: 0, per_page: 50,
        };
        let changes = jinglao_db::worklists::page(&mut conn.conn(), &Scope::All, jinglao_db::worklists::Worklist::Changes, &filter).await.unwrap();
        assert_eq!(changes.rows.len(), 1);
        assert_eq!(changes.rows[0].gained, Some(false));
        assert_eq!(changes.rows[0].reason.as_deref(), Some("不再符合：特殊类别（高龄、失智）含“半失能” ✗"));
        drop(conn);
        // The whole assessment (health problems, medication, religion) is read by assessors and
        // the staff who decide, each read audited; finance and inspection see the level only.
        for role in [Role::Finance, Role::Inspector] {
            let other = staff(&t.db, &format!("{}_x", role.as_str()), role, "430302").await;
            let err = assessments::read(&t.db, &CHAIN, &other, id, Utc::now()).await.unwrap_err();
            assert!(matches!(err, DbError::Forbidden(_)), "{role}: {err:?}");
        }
        let read = assessments::read(&t.db, &CHAIN, &county, id, Utc::now()).await.unwrap().unwrap();
        assert_eq!(read.id, id);
        let filter = AuditFilter { action: Some("assessment.read".into()), ..Default::default() };
        assert_eq!(audit::list(&t.db, &Scope::All, &filter, 10).await.unwrap().len(), 1);
    }
}

test_on_both! {
    async fn an_expired_certificate_stops_a_submission(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let county = county_actor("430302");
        let elder = elders::create(&t.db, secrets(&c), &county, &input(&tree, draft(8, "430302001001")), &[], Utc::now()).await.unwrap();
        let agency = agencies::create(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &Actor::cli(), Utc::now()), "评估中心", "52430302MJ5000001X", Some(code("4303")), true, "").await.unwrap();
        let a1 = assessor(&t.db, "as_one", agency, "2099-12-31").await;
        let a2 = assessor(&t.db, "as_two", agency, "2020-01-01").await;
        assessor(&t.db, "as_three", agency, "2099-12-31").await;
        assessor(&t.db, "as_four", agency, "2099-12-31").await;
        let id = assessments::open(&t.db, &CHAIN, &a1, elder, AssessmentReason::First, Utc::now()).await.unwrap();
        assessments::save_draft(&t.db, &CHAIN, &a1, id, &full_form(3), a2.user_id, Utc::now()).await.unwrap();
        let err = assessments::submit(&t.db, &CHAIN, &a1, id, &PolicyBook::default(), Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("assessor2").unwrap().contains("过期")), "{err:?}");
    }
}

test_on_both! {
    async fn an_uploaded_file_is_stored_encrypted_and_read_back_only_by_its_uploader(t: TestDb) {
        seed_regions(&t.db).await;
        let c = cipher();
        let owner = staff(&t.db, "uploader", Role::CountyStaff, "430302").await.user_id.unwrap();
        let content = format!("姓名,身份证号\n王秀英,{}\n", id_number(1, 1940)).into_bytes();
        let batch = elder_import::store_batch(&t.db, &c, owner, "a.csv", &content, Utc::now()).await.unwrap();
        let mut conn = t.db.acquire().await.unwrap();
        let stored: Vec<u8> = jinglao_db::on_conn!(&mut conn.conn(), |x| {
            sqlx::query_scalar("SELECT content FROM import_batches WHERE id = $1").bind(batch.id).fetch_one(&mut *x).await
        }).unwrap();
        drop(conn);
        let needle = id_number(1, 1940);
        assert!(!stored.windows(needle.len()).any(|w| w == needle.as_bytes()), "no ID number in clear text");
        let back = elder_import::get_batch(&t.db, &c, batch.id, owner).await.unwrap().unwrap();
        assert_eq!(back.content, content);
        assert!(elder_import::get_batch(&t.db, &c, batch.id, Uuid::now_v7()).await.unwrap().is_none(), "others' batches are invisible");
    }
}

test_on_both! {
    async fn a_category_search_follows_its_holder_to_a_new_township(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        let villages: Vec<RegionCode> = tree
            .subtree(&code("430302"))
            .iter()
            .filter(|r| r.level == jinglao_domain::RegionLevel::Village)
            .map(|r| r.code)
            .collect();
        let first = villages[0];
        let elsewhere = *villages.iter().find(|v| v.as_str()[..9] != first.as_str()[..9]).unwrap();
        let cat = CategoryDraft { kind: "低保".into(), start: "2024-01-01".into(), ..Default::default() }
            .validate(today()).unwrap();
        let id = elders::create(&t.db, secrets(&c), &actor, &input(&tree, draft(7, first.as_str())), &[cat], Utc::now())
            .await.unwrap();
        let township = |v: &RegionCode| code(&format!("{}000", &v.as_str()[..9]));
        let dibao_in = |region: RegionCode| ElderFilter {
            region: Some(region),
            category: Some("低保".into()),
            ..ElderFilter::new(today())
        };
        let found = |filter: ElderFilter| {
            let db = t.db.clone();
            let c = c.clone();
            let scope = actor.scope.clone();
            async move {
                let mut conn = db.acquire().await.unwrap();
                let (rows, _) = elder_search::search(&mut conn.conn(), &c, &scope, &filter, Position::Start, 50).await.unwrap();
                let n = elder_search::count(&mut conn.conn(), &c, &scope, &filter).await.unwrap();
                assert_eq!(rows.len() as i64, n, "the page and the count agree");
                rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(found(dibao_in(township(&first))).await, vec![id]);
        assert!(found(dibao_in(township(&elsewhere))).await.is_empty());

        let mut moved = draft(7, elsewhere.as_str());
        moved.name = "王秀英".into();
        elders::update(&t.db, secrets(&c), &actor, id, &input(&tree, moved), Utc::now()).await.unwrap();
        assert!(found(dibao_in(township(&first))).await.is_empty(), "gone from the old township");
        assert_eq!(found(dibao_in(township(&elsewhere))).await, vec![id], "found in the new one");
        // A category added after the move carries the new residence too.
        let more = CategoryDraft { kind: "空巢".into(), start: "2025-01-01".into(), ..Default::default() }
            .validate(today()).unwrap();
        elders::add_category(&t.db, &CHAIN, &actor, id, &more, Utc::now()).await.unwrap();
        let empty_nest = ElderFilter { region: Some(township(&elsewhere)), category: Some("空巢".into()), ..ElderFilter::new(today()) };
        assert_eq!(found(empty_nest).await, vec![id]);
    }
}

test_on_both! {
    async fn a_large_import_rebuilds_the_indexes_it_set_aside_and_a_late_duplicate_undoes_it_all(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        let ctx = ValidationContext { regions: &tree, today: today(), min_age: 60 };
        let indexes = |db: Db| async move {
            let mut conn = db.acquire().await.unwrap();
            jinglao_db::elder_bulk::secondary_indexes(&mut conn.conn()).await.unwrap()
        };
        let before = indexes(t.db.clone()).await;
        assert!(before.iter().any(|(name, _)| name == "elders_id_hash_uq"));

        // 10,000 new people into an empty registry: the indexes are set aside and rebuilt.
        let person = |n: u32| {
            let id = ResidentId::from_first17(&format!("4303021945{:02}{:02}{:03}", 1 + n / 28 % 12, 1 + n % 28, n / 336))
                .as_str()
                .to_string();
            format!("孙玉兰,{id},汉族,,430302,430302001001,,,,独居,丧偶,小学,,,1,否,否,,,,低保,2024-01-01,")
        };
        let rows: Vec<String> = (0..10_000).map(person).collect();
        let parsed = parse_table(&read_table(import_file(&rows).as_bytes()).unwrap(), &ctx).unwrap();
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems.first());
        let plan = elder_import::plan(&t.db, &c, &actor.scope, &parsed.records).await.unwrap();
        assert_eq!(plan.new_count(), 10_000);

        // Someone registers the last person between the preview and the commit.
        let last = parsed.records.last().unwrap().input.clone();
        elders::create(&t.db, secrets(&c), &actor, &last, &[], Utc::now()).await.unwrap();
        let src = ImportSource { file_name: "big.csv".into(), checksum: "y".into() };
        let err = elder_import::apply(&t.db, secrets(&c), &actor, &parsed.records, &plan, &src, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.errors[0].field == "file"), "{err:?}");
        let mut conn = t.db.acquire().await.unwrap();
        assert_eq!(elder_search::total(&mut conn.conn()).await.unwrap(), 1, "nothing of the file was written");
        drop(conn);
        assert_eq!(indexes(t.db.clone()).await, before, "the rollback kept every index");

        // Previewed again, the file imports; afterwards every index is back as it was.
        let plan = elder_import::plan(&t.db, &c, &actor.scope, &parsed.records).await.unwrap();
        assert_eq!((plan.new_count(), plan.update_count() + plan.unchanged_count()), (9_999, 1));
        elder_import::apply(&t.db, secrets(&c), &actor, &parsed.records, &plan, &src, Utc::now()).await.unwrap();
        assert_eq!(indexes(t.db.clone()).await, before);
        let mut conn = t.db.acquire().await.unwrap();
        assert_eq!(elder_search::total(&mut conn.conn()).await.unwrap(), 10_000);
        let dibao = ElderFilter { category: Some("低保".into()), ..ElderFilter::new(today()) };
        let n = elder_search::count(&mut conn.conn(), &c, &actor.scope, &dibao).await.unwrap();
        assert_eq!(n, 10_000, "the person registered by hand got the file's category too");
    }
}

test_on_both! {
    async fn the_list_is_in_pinyin_order_with_numbered_pages_and_finds_people_by_the_last_four_digits(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        // Code-point order would be 张 (U+5F20) < 李 (U+674E) < 王 (U+738B) < 赵 (U+8D75); pinyin
        // order is 李 (li3) < 王 (wang2) < 张 (zhang1) < 赵 (zhao4).
        for (n, name, phone) in [(11, "张建国", "13800001111"), (12, "李秀兰", "13800002222"), (13, "王桂英", "13800003333"), (14, "赵德明", "13800004444")] {
            let mut d = draft(n, "430302001001");
            d.name = name.into();
            d.phones = phone.into();
            elders::create(&t.db, secrets(&c), &actor, &input(&tree, d), &[], Utc::now()).await.unwrap();
        }
        let mut conn = t.db.acquire().await.unwrap();
        let all = ElderFilter::new(today());
        let names = |rows: Vec<elder_search::ElderSummary>| rows.into_iter().map(|r| r.name).collect::<Vec<_>>();
        let (rows, more) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &all, Position::Start, 10).await.unwrap();
        assert_eq!(names(rows), vec!["李秀兰", "王桂英", "张建国", "赵德明"]);
        assert!(!more);
        // Numbered pages: page 2 of two per page.
        let (rows, more) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &all, Position::Skip(2), 2).await.unwrap();
        assert_eq!(names(rows), vec!["张建国", "赵德明"]);
        assert!(!more);
        assert_eq!(elder_search::count(&mut conn.conn(), &c, &actor.scope, &all).await.unwrap(), 4);
        // The API's cursor continues in the same order.
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &all, Position::After("王桂英", Uuid::nil()), 10).await.unwrap();
        assert_eq!(names(rows), vec!["王桂英", "张建国", "赵德明"], "nil sorts before every id of the same name");

        let find = |text: &str| ElderFilter { text: text.into(), ..ElderFilter::new(today()) };
        // The ID number of n = 12 ends in its check digit after "012"; its last four characters:
        let id_tail: String = id_number(12, 1944).chars().skip(14).collect();
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find(&id_tail), Position::Start, 10).await.unwrap();
        assert_eq!(names(rows), vec!["李秀兰"], "by the end of the ID number ({id_tail})");
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find("4444"), Position::Start, 10).await.unwrap();
        assert_eq!(names(rows), vec!["赵德明"], "by the end of the phone number");
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find("9999"), Position::Start, 10).await.unwrap();
        assert!(rows.is_empty());
        assert_eq!(elder_search::classify("4444"), elder_search::TextQuery::Tail("4444".into()));
        assert_eq!(elder_search::classify("123x"), elder_search::TextQuery::Tail("123X".into()));
        assert_eq!(elder_search::classify("12x4"), elder_search::TextQuery::Name("12x4".into()));
        // A name prefix still finds exactly the names that start with it.
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find("王"), Position::Start, 10).await.unwrap();
        assert_eq!(names(rows), vec!["王桂英"]);
    }
}

test_on_both! {
    async fn records_written_before_the_search_keys_get_them_from_the_backfill(t: TestDb) {
        let tree = seed_regions(&t.db).await;
        let c = cipher();
        let actor = county_actor("430302");
        let mut d = draft(21, "430302001001");
        d.name = "李秀兰".into();
        d.phones = "13800005555".into();
        elders::create(&t.db, secrets(&c), &actor, &input(&tree, d), &[], Utc::now()).await.unwrap();
        // As a record of an earlier release: no sort key, no tail hashes.
        t.tamper("UPDATE elders SET name_key = '', id_tail_hash = ''; UPDATE elder_phones SET tail_hash = ''").await;
        let find = |text: &str| ElderFilter { text: text.into(), ..ElderFilter::new(today()) };
        let mut conn = t.db.acquire().await.unwrap();
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find("5555"), Position::Start, 10).await.unwrap();
        assert!(rows.is_empty(), "not found before the backfill");
        drop(conn);

        assert_eq!(jinglao_db::search_keys::backfill(&t.db, &c).await.unwrap(), 2, "one record, one phone");
        assert_eq!(jinglao_db::search_keys::backfill(&t.db, &c).await.unwrap(), 0, "nothing left the second time");
        let mut conn = t.db.acquire().await.unwrap();
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find("5555"), Position::Start, 10).await.unwrap();
        assert_eq!(rows.len(), 1);
        let (rows, _) = elder_search::search(&mut conn.conn(), &c, &actor.scope, &find("李"), Position::Start, 10).await.unwrap();
        assert_eq!(rows.len(), 1, "the name prefix search reads the filled key");
    }
}
