//! Applications and their review chain against real databases: pre-check and the written
//! reason, village review and township decision within scope and role, send-back and
//! resubmission, deadlines and the overdue queue, the public notice and enrolment, refusal and
//! appeal, and decisions that keep the list version they were made under.

use chrono::{Duration, NaiveDate, Utc};
use jinglao_db::applications::{self, ApplicantAction, NewApplication, QueueFilter};
use jinglao_db::audit::ChainKey;
use jinglao_db::crypto::FieldCipher;
use jinglao_db::elders::{self, Secrets};
use jinglao_db::testing::{TestDb, seed_regions};
use jinglao_db::{Actor, Db, DbError, entitlements, service_lists, test_on_both};
use jinglao_domain::application::{ApplicationStatus, Decision};
use jinglao_domain::elder::{ElderDraft, ValidationContext};
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::rules::Rule;
use jinglao_domain::service_list::{Payer, Quota, ServiceCategory, ServiceItem};
use jinglao_domain::{RegionCode, RegionTree, ResidentId, Role, Scope};
use uuid::Uuid;

const CHAIN: ChainKey = ChainKey([4; 32]);

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn today() -> NaiveDate {
    jinglao_domain::clock::china_date(Utc::now())
}

fn staff(region: &str, role: Role) -> Actor {
    Actor::user(
        Uuid::now_v7(),
        role.as_str(),
        role,
        Scope::Region(code(region)),
        code(region),
    )
}

fn meals(rule: &str) -> Vec<ServiceItem> {
    vec![ServiceItem {
        code: "XT-02".into(),
        name: "老年助餐".into(),
        category: ServiceCategory::Care,
        target: Rule::parse(rule).unwrap(),
        content: "每日一餐".into(),
        payer: Payer::SubsidyShare(500),
        quota: Quota::TimesPerMonth(30),
        effective_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        effective_to: None,
        basis: "潭政办发〔2023〕20号".into(),
    }]
}

async fn register(db: &Db, tree: &RegionTree, n: u32, year: u32) -> Uuid {
    let input = ElderDraft {
        name: "张桂兰".into(),
        id_number: ResidentId::from_first17(&format!("430302{year}0312{n:03}"))
            .as_str()
            .to_string(),
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
    let c = FieldCipher::new(&[1; 32], &[2; 32]);
    let id = elders::create(
        db,
        Secrets {
            chain: &CHAIN,
            cipher: &c,
        },
        &staff("430302", Role::CountyStaff),
        &input,
        &[],
        Utc::now(),
    )
    .await
    .unwrap();
    // Assessed 能力完好 (the assessment workflow is tested in registry.rs): the items here are
    // paid for by the government and need an effective assessment.
    set_level(db, id, Some(0)).await;
    id
}

async fn set_level(db: &Db, id: Uuid, level: Option<i32>) {
    let mut c = db.acquire().await.unwrap();
    jinglao_db::on_conn!(&mut c.conn(), |c| {
        sqlx::query("UPDATE elders SET ability_level = $1 WHERE id = $2")
            .bind(level)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
    .unwrap();
}

fn apply(elder_id: Uuid, reason: &str) -> NewApplication<'_> {
    NewApplication {
        elder_id,
        item_code: "XT-02",
        applicant_name: "张明",
        applicant_relation: "儿子",
        reason,
        note: "",
        channel: "staff",
    }
}

async fn status(db: &Db, id: Uuid) -> ApplicationStatus {
    let mut c = db.acquire().await.unwrap();
    applications::get(&mut c.conn(), &Scope::All, id)
        .await
        .unwrap()
        .unwrap()
        .status
}

test_on_both! {
    async fn an_application_goes_through_review_notice_and_enrolment_under_the_version_it_was_decided_on(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let city = staff("4303", Role::CityStaff);
        let v1 = service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市清单", "潭政办发〔2023〕20号", &meals("age >= 80")).await.unwrap();
        let book = PolicyBook::default();
        let old = register(&t.db, &tree, 1, 1940).await;   // 86
        let young = register(&t.db, &tree, 2, 1956).await; // 70
        let village = staff("430302001001", Role::VillageStaff);
        let township = staff("430302001", Role::TownshipStaff);

        // Applying for someone the rule finds ineligible needs a written reason.
        let err = applications::submit(&t.db, &CHAIN, &village, &apply(young, ""), &book, Utc::now()).await.unwrap_err();
        let DbError::Invalid(inv) = err else { panic!("{err:?}") };
        assert!(inv.get("reason").unwrap().contains("年龄 70 ≥ 80 ✗"), "{inv:?}");
        let young_app = applications::submit(&t.db, &CHAIN, &village, &apply(young, "独居且患慢性病，无人送餐"), &book, Utc::now()).await.unwrap();

        let id = applications::submit(&t.db, &CHAIN, &village, &apply(old, ""), &book, Utc::now()).await.unwrap();
        let again = applications::submit(&t.db, &CHAIN, &village, &apply(old, ""), &book, Utc::now()).await.unwrap_err();
        assert!(matches!(&again, DbError::Invalid(i) if i.get("item_code").is_some()), "one open application per item");

        // Deadlines: the village step is due in 5 working days; ten days on, it is overdue.
        let mut c = t.db.acquire().await.unwrap();
        let app = applications::get(&mut c.conn(), &Scope::All, id).await.unwrap().unwrap();
        let calendar = jinglao_db::calendar::load(&mut c.conn()).await.unwrap();
        assert_eq!(app.step_deadline, Some(calendar.add_working_days(today(), 5)));
        assert!(app.precheck_eligible && app.precheck_explanation.contains("年龄 86 ≥ 80 ✓"));
        let overdue = applications::queue(&mut c.conn(), &village.scope,
            &QueueFilter { overdue_on: Some(app.step_deadline.unwrap() + Duration::days(1)), ..Default::default() }, 50).await.unwrap();
        assert_eq!(overdue.len(), 2);
        drop(c);

        // The township cannot take the village's step... the village can; a village elsewhere
        // cannot see it at all.
        let elsewhere = staff("430302002001", Role::VillageStaff);
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &elsewhere, Utc::now()), id, Decision::Approve, "", &book).await.unwrap_err();
        assert!(matches!(err, DbError::NotFound), "{err:?}");
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), young_app, Decision::Approve, "", &book).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("reason").is_some()), "approving against the rule needs a reason");

        // Village passes it; township sends it back; it is corrected and goes round again.
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), id, Decision::Approve, "", &book).await.unwrap();
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), id, Decision::Approve, "", &book).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("decision").unwrap().contains("乡镇（街道）审定")), "{err:?}");
        let to = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), id, Decision::Return, "请补充户口本复印件", &book).await.unwrap();
        assert_eq!(to, ApplicationStatus::Returned);
        applications::act_for_applicant(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), id, ApplicantAction::Resubmit, "已补充户口本复印件", &book).await.unwrap();
        assert_eq!(status(&t.db, id).await, ApplicationStatus::Submitted);
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), id, Decision::Approve, "", &book).await.unwrap();

        // A new list version (meal help from 85) is published before the township decides: the
        // decision records v2, and the person (86) still qualifies.
        let v2 = service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市清单", "潭政办发〔2024〕1号", &meals("age >= 85")).await.unwrap();
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), id, Decision::Approve, "", &book).await.unwrap();
        assert_eq!(status(&t.db, id).await, ApplicationStatus::InNotice);
        let mut c = t.db.acquire().await.unwrap();
        let notice = applications::notices(&mut c.conn(), &code("430302001")).await.unwrap();
        assert_eq!(notice.len(), 1);
        assert_eq!(notice[0].name, "张**");
        assert_eq!(notice[0].until, today() + Duration::days(7));
        let history = applications::history(&mut c.conn(), id).await.unwrap();
        let steps: Vec<(&str, &str)> = history.iter().map(|h| (h.step.as_str(), h.decision.as_str())).collect();
        assert_eq!(steps, vec![("submit", "submit"), ("village_review", "approve"), ("township_decision", "return"),
            ("resubmit", "resubmit"), ("village_review", "approve"), ("township_decision", "approve")]);
        assert_eq!(history[0].list_id, v1.id);
        assert_eq!(history[5].list_id, v2.id);
        assert_eq!(history[5].explanation, "年龄 86 ≥ 85 ✓");
        drop(c);

        // A village cannot act on an objection during the notice; only the township can.
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), id, Decision::Reject, "有人反映情况不实", &book).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("decision").is_some()), "{err:?}");

        // The notice ends (nothing before its last day): effective, enrolled under v2.
        assert_eq!(applications::end_notices(&t.db, &CHAIN, today() + Duration::days(7), Utc::now()).await.unwrap(), 0);
        assert_eq!(applications::end_notices(&t.db, &CHAIN, today() + Duration::days(8), Utc::now()).await.unwrap(), 1);
        assert_eq!(status(&t.db, id).await, ApplicationStatus::Effective);
        let mut c = t.db.acquire().await.unwrap();
        assert_eq!(entitlements::active_codes(&mut c.conn(), old, today() + Duration::days(8)).await.unwrap(), vec!["XT-02"]);
        drop(c);
        // A third version never touches the decisions made under v2.
        service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市清单", "潭政办发〔2025〕1号", &meals("age >= 90")).await.unwrap();
        let mut c = t.db.acquire().await.unwrap();
        let history = applications::history(&mut c.conn(), id).await.unwrap();
        assert_eq!(history[5].list_id, v2.id);
        assert_eq!(history.last().unwrap().list_id, v2.id);
        drop(c);

        // Refused (the rule is now against it and the township agrees), then appealed.
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), young_app, Decision::Approve, "独居且患慢性病，无人送餐", &book).await.unwrap();
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), young_app, Decision::Reject, "", &book).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("reason").is_some()));
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), young_app, Decision::Reject, "年龄未达到助餐条件", &book).await.unwrap();
        let mut c = t.db.acquire().await.unwrap();
        let refused = applications::get(&mut c.conn(), &Scope::All, young_app).await.unwrap().unwrap();
        assert_eq!(refused.decision_reason.as_deref(), Some("年龄未达到助餐条件"));
        assert_eq!(refused.appeal_until, Some(today() + Duration::days(30)));
        drop(c);
        applications::act_for_applicant(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), young_app, ApplicantAction::Appeal, "老人行动不便，确需助餐", &book).await.unwrap();
        assert_eq!(status(&t.db, young_app).await, ApplicationStatus::Appealed);
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), young_app, Decision::Return, "请补充材料", &book).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)), "an appeal is decided, not sent back");
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), young_app, Decision::Reject, "复核维持原决定", &book).await.unwrap();
        let err = applications::act_for_applicant(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), young_app, ApplicantAction::Withdraw, "不再需要", &book).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("status").is_some()), "a decided application is not withdrawn");
        let err = applications::act_for_applicant(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), young_app, ApplicantAction::Appeal, "再次申请复核", &book).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("status").unwrap().contains("最终决定")), "{err:?}");
    }
}

test_on_both! {
    async fn evidence_files_are_checked_by_content_stored_outside_the_database_and_verified_on_read(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let city = staff("4303", Role::CityStaff);
        service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市清单", "潭政办发〔2023〕20号", &meals("age >= 80")).await.unwrap();
        let book = PolicyBook::default();
        let elder = register(&t.db, &tree, 3, 1940).await;
        let village = staff("430302001001", Role::VillageStaff);
        let id = applications::submit(&t.db, &CHAIN, &village, &apply(elder, ""), &book, Utc::now()).await.unwrap();
        let store = tempfile::tempdir().unwrap();

        let err = jinglao_db::evidence::attach(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), store.path(), id, "identity", "身份证.pdf", b"MZ\x90\x00renamed executable").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("file").unwrap().contains("PDF、JPEG 或 PNG")), "{err:?}");
        let err = jinglao_db::evidence::attach(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), store.path(), id, "passport", "x.pdf", b"%PDF-1.7").await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("kind").is_some()));

        let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n".to_vec();
        let file = jinglao_db::evidence::attach(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), store.path(), id, "assistance", "低保证.pdf", &pdf).await.unwrap();
        let (meta, bytes) = jinglao_db::evidence::read(&t.db, &CHAIN, &village, store.path(), id, file, Utc::now()).await.unwrap();
        assert_eq!((bytes, meta.content_type.as_str(), meta.kind_label()), (pdf.clone(), "application/pdf", "低保、特困等救助证明"));
        // A village elsewhere cannot read it.
        let elsewhere = staff("430302002001", Role::VillageStaff);
        assert!(matches!(jinglao_db::evidence::read(&t.db, &CHAIN, &elsewhere, store.path(), id, file, Utc::now()).await, Err(DbError::NotFound)));
        // The family withdraws it before review; a new application for the item is then allowed.
        applications::act_for_applicant(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), id, ApplicantAction::Withdraw, "老人已入住养老机构", &book).await.unwrap();
        assert_eq!(status(&t.db, id).await, ApplicationStatus::Withdrawn);
        applications::submit(&t.db, &CHAIN, &village, &apply(elder, ""), &book, Utc::now()).await.unwrap();

        // Changed on disk: refused, not served.
        let on_disk = store.path().join(&meta.sha256[..2]).join(&meta.sha256);
        std::fs::write(&on_disk, b"%PDF-1.7 altered").unwrap();
        let err = jinglao_db::evidence::read(&t.db, &CHAIN, &village, store.path(), id, file, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Corrupt(m) if m.contains("校验值不符")), "{err:?}");
    }
}

test_on_both! {
    async fn a_paid_item_waits_for_an_assessment_and_no_account_takes_both_steps_of_one_application(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let city = staff("4303", Role::CityStaff);
        service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市清单", "潭政办发〔2023〕20号", &meals("age >= 80")).await.unwrap();
        let book = PolicyBook::default();
        let who = register(&t.db, &tree, 1, 1940).await;
        set_level(&t.db, who, None).await;
        let village = staff("430302001001", Role::VillageStaff);
        let township = staff("430302001", Role::TownshipStaff);
        // Staff are told to arrange the assessment first.
        let err = applications::submit(&t.db, &CHAIN, &village, &apply(who, ""), &book, Utc::now()).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("item_code").is_some_and(|m| m.contains("能力评估"))), "{err:?}");
        // A family's application is taken; the township cannot grant it before the assessment.
        let public = NewApplication { channel: "public", ..apply(who, "") };
        let id = applications::submit(&t.db, &CHAIN, &Actor::system(), &public, &book, Utc::now()).await.unwrap();
        // By the texts the township does not do the village's 初审.
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), id, Decision::Approve, "", &book).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("decision").is_some()), "{err:?}");
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &village, Utc::now()), id, Decision::Approve, "", &book).await.unwrap();
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), id, Decision::Approve, "", &book).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("decision").is_some_and(|m| m.contains("能力评估"))), "{err:?}");
        set_level(&t.db, who, Some(2)).await;
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), id, Decision::Approve, "", &book).await.unwrap();
        assert_eq!(status(&t.db, id).await, ApplicationStatus::InNotice);

        // Where a region lets townships do the 初审 too, the one who did it may not also decide.
        let wider = PolicyBook::new(vec![jinglao_domain::policy::PolicySetting {
            region: code("430302"),
            key: jinglao_domain::policy::PolicyKey::ApplicationVillageReviewRoles,
            value: "village_staff,township_staff".into(),
            basis: "区民政局通知".into(),
        }]);
        let other = register(&t.db, &tree, 2, 1941).await;
        let id = applications::submit(&t.db, &CHAIN, &village, &apply(other, ""), &wider, Utc::now()).await.unwrap();
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), id, Decision::Approve, "", &wider).await.unwrap();
        let err = applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &township, Utc::now()), id, Decision::Approve, "", &wider).await.unwrap_err();
        assert!(matches!(&err, DbError::Invalid(i) if i.get("decision").is_some_and(|m| m.contains("另一位工作人员"))), "{err:?}");
        let colleague = staff("430302001", Role::TownshipStaff);
        applications::decide_on(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &colleague, Utc::now()), id, Decision::Approve, "", &wider).await.unwrap();
    }
}

async fn account(db: &Db, name: &str, role: Role, region: &str) -> Uuid {
    jinglao_db::users::create(
        db,
        &CHAIN,
        &Actor::cli(),
        jinglao_db::users::NewAccount {
            username: jinglao_domain::Username::parse(name).unwrap(),
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
    .unwrap()
    .id
}

async fn inbox(db: &Db, account: Uuid) -> Vec<jinglao_db::notify::Notification> {
    let mut c = db.acquire().await.unwrap();
    jinglao_db::notify::list(&mut c.conn(), account, 50)
        .await
        .unwrap()
        .0
}

test_on_both! {
    async fn the_staff_who_take_the_next_step_are_reminded_once_before_a_deadline_and_once_after_it(t: TestDb) {
        let tree = seed_regions(&t.db, &CHAIN).await;
        let city = staff("4303", Role::CityStaff);
        service_lists::publish(&jinglao_db::WriteCtx::new(&t.db, &CHAIN, &city, Utc::now()), code("4303"), "湘潭市清单", "潭政办发〔2023〕20号", &meals("age >= 80")).await.unwrap();
        let book = PolicyBook::default();
        let village_clerk = account(&t.db, "v_clerk", Role::VillageStaff, "430302001001").await;
        let other_village = account(&t.db, "v_other", Role::VillageStaff, "430302001002").await;
        let township_clerk = account(&t.db, "t_clerk", Role::TownshipStaff, "430302001000").await;
        let elder = register(&t.db, &tree, 5, 1940).await;
        let village = staff("430302001001", Role::VillageStaff);
        let id = applications::submit(&t.db, &CHAIN, &village, &apply(elder, ""), &book, Utc::now()).await.unwrap();
        let deadline = {
            let mut c = t.db.acquire().await.unwrap();
            applications::get(&mut c.conn(), &Scope::All, id).await.unwrap().unwrap().step_deadline.unwrap()
        };

        // Nothing is near yet.
        assert_eq!(jinglao_db::deadline_reminders::remind(&t.db, &book, today(), today(), Utc::now()).await.unwrap(), 0);
        // Two days before: the village clerk, who takes the first review, hears of it once.
        let before = deadline - Duration::days(2);
        assert_eq!(jinglao_db::deadline_reminders::remind(&t.db, &book, before, deadline, Utc::now()).await.unwrap(), 1);
        assert_eq!(jinglao_db::deadline_reminders::remind(&t.db, &book, before, deadline, Utc::now()).await.unwrap(), 0, "once, however often the check runs");
        let mine = inbox(&t.db, village_clerk).await;
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].kind, "deadline_soon");
        assert_eq!(mine[0].title, format!("张桂兰的老年助餐申请（村（居）初审）将于 {deadline} 到期"));
        assert_eq!(mine[0].link, format!("/applications/{id}"));
        assert!(inbox(&t.db, other_village).await.is_empty(), "another village's clerk is not concerned");
        assert!(inbox(&t.db, township_clerk).await.is_empty(), "the township does not take the first review");
        // The day after the deadline: once more, as overdue.
        let after = deadline + Duration::days(1);
        assert_eq!(jinglao_db::deadline_reminders::remind(&t.db, &book, after, after + Duration::days(2), Utc::now()).await.unwrap(), 1);
        assert_eq!(jinglao_db::deadline_reminders::remind(&t.db, &book, after, after + Duration::days(2), Utc::now()).await.unwrap(), 0);
        let mine = inbox(&t.db, village_clerk).await;
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].kind, "deadline_overdue");
        assert!(mine[0].title.ends_with(&format!("已于 {deadline} 超过办理时限")), "{}", mine[0].title);
    }
}
