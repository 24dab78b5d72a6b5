use chrono::NaiveDate;

use super::*;
use crate::assessment::AbilityLevel;
use crate::elder::LivingArrangement;
use crate::{RegionCode, Sex};

fn person() -> Facts {
    Facts {
        age: 82,
        sex: Sex::Female,
        hukou_local: true,
        resides_locally: true,
        categories: vec!["低保".into(), "高龄".into()],
        ability: Some(AbilityLevel::Moderate),
        living: LivingArrangement::Alone,
        children_local: false,
        children_can_care: false,
        region: RegionCode::parse("430302001001").unwrap(),
        birth_date: NaiveDate::from_ymd_opt(1944, 3, 12).unwrap(),
        today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    }
}

fn error(src: &str) -> RuleError {
    Rule::parse(src).expect_err(src)
}

#[test]
fn the_issue_example_holds_for_a_moderately_disabled_dibao_holder_and_explains_each_clause() {
    let rule =
        Rule::parse(r#"age >= 65 and "低保" in categories and ability in ["轻度失能","中度失能"]"#)
            .unwrap();
    let out = rule.evaluate(&person());
    assert!(out.eligible);
    assert_eq!(
        out.explanation(),
        "年龄 82 ≥ 65 ✓；特殊类别（低保、高龄）含“低保” ✓；能力等级 中度失能 属于 [轻度失能、中度失能] ✓"
    );
    let mut p = person();
    p.categories = vec![];
    let out = rule.evaluate(&p);
    assert!(!out.eligible);
    assert!(
        out.explanation().contains("特殊类别（无）含“低保” ✗"),
        "{}",
        out.explanation()
    );
    assert_eq!(
        rule.plain_answer(&p, &super::CodesOnly).sentence,
        "暂不符合。还差一项：是低保对象。"
    );
}

#[test]
fn every_clause_is_evaluated_even_when_the_answer_is_already_known() {
    let rule = Rule::parse("age >= 90 and children_local or hukou_local").unwrap();
    let out = rule.evaluate(&person());
    assert!(out.eligible, "and binds tighter than or");
    assert_eq!(out.clauses.len(), 3);
    assert_eq!(
        out.clauses.iter().map(|c| c.held).collect::<Vec<_>>(),
        vec![false, false, true]
    );
}

#[test]
fn chinese_keywords_full_width_quotes_and_brackets_are_accepted() {
    let rule = Rule::parse(
        "age ≥ 80 且 （“空巢” 属于 categories 或 living = “独居”） 且 非 children_local",
    )
    .unwrap();
    assert!(rule.evaluate(&person()).eligible);
    let rule = Rule::parse("ability 不属于 【“重度失能”，“完全失能”】").unwrap();
    assert!(rule.evaluate(&person()).eligible);
}

#[test]
fn a_person_without_an_assessment_compares_equal_to_none_and_is_in_no_list() {
    let mut p = person();
    p.ability = None;
    assert!(Rule::parse("ability = none").unwrap().evaluate(&p).eligible);
    assert!(
        !Rule::parse("ability_level >= 3")
            .unwrap()
            .evaluate(&p)
            .eligible
    );
    assert!(
        !Rule::parse(r#"ability in ["重度失能"]"#)
            .unwrap()
            .evaluate(&p)
            .eligible
    );
    let out = Rule::parse("ability_level >= 3").unwrap().evaluate(&p);
    assert_eq!(out.explanation(), "能力等级 未评估 ≥ 3 ✗");
}

#[test]
fn regions_dates_and_yes_no_facts_work() {
    let p = person();
    assert!(
        Rule::parse(r#"region within "430302""#)
            .unwrap()
            .evaluate(&p)
            .eligible
    );
    assert!(
        !Rule::parse(r#"region within "430304""#)
            .unwrap()
            .evaluate(&p)
            .eligible
    );
    assert!(
        Rule::parse("birth_date <= 1946-11-23")
            .unwrap()
            .evaluate(&p)
            .eligible
    );
    assert!(
        Rule::parse("today >= 2026-01-01 and hukou_local = true")
            .unwrap()
            .evaluate(&p)
            .eligible
    );
    assert!(
        Rule::parse("# 本地户籍\nhukou_local")
            .unwrap()
            .evaluate(&p)
            .eligible
    );
}

#[test]
fn errors_give_line_column_and_what_was_expected() {
    let e = error("age >= 80 and\n  agee >= 60");
    assert_eq!((e.line, e.column), (2, 3));
    assert!(e.message.starts_with("没有叫“agee”的事实"), "{}", e.message);

    let e = error("age >= ");
    assert_eq!((e.line, e.column), (1, 8));
    assert!(e.message.contains("应为一个事实"), "{}", e.message);

    let e = error("(age >= 80");
    assert!(e.message.contains("右括号"), "{}", e.message);

    let e = error(r#"age >= 80 "低保""#);
    assert!(e.message.contains("“且”“或”或规则结尾"), "{}", e.message);

    let e = error(r#""低保 in categories"#);
    assert!(e.message.contains("引号没有闭合"), "{}", e.message);

    let e = error("");
    assert!(e.message.contains("应为一个条件"), "{}", e.message);

    assert!(
        error("age >= 2026-13-01")
            .message
            .contains("不是有效的日期")
    );
    assert!(error("age @ 3").message.contains("不认识的符号"));
}

#[test]
fn a_rule_that_mixes_types_or_names_an_unknown_value_is_refused_when_saved() {
    assert!(
        error(r#"age >= "八十""#)
            .message
            .contains("不能把age（年龄，数字）与文字比较")
    );
    let e = error(r#""低宝" in categories"#);
    assert!(
        e.message.contains("“低宝”不是特殊类别的取值"),
        "{}",
        e.message
    );
    assert!(
        error(r#"ability in ["重度"]"#)
            .message
            .contains("不是能力等级的取值")
    );
    assert!(error(r#"sex = "M""#).message.contains("不是性别的取值"));
    assert!(error("age").message.contains("不能单独作为条件"));
    assert!(error("80 >= 60").message.contains("至少要有一个事实"));
    assert!(error("age = none").message.contains("none"));
    assert!(
        error(r#"living >= "独居""#)
            .message
            .contains("只能用 = 或 != 比较")
    );
    assert!(
        error(r#"region within "43X""#)
            .message
            .contains("不是行政区划代码")
    );
    assert!(
        error(r#"age within "4303""#)
            .message
            .contains("within 用于 region")
    );
    assert!(error(r#"age in ["1"]"#).message.contains("in 的写法"));
    assert!(error("age >= birth_date").message.contains("不能把age"));
}

#[test]
fn every_documented_fact_has_a_value_for_a_person() {
    let p = person();
    for f in FACTS {
        let v = p.get(f.name);
        assert!(v != Value::None || f.optional, "{} has no value", f.name);
    }
}

#[test]
fn every_rule_in_the_guide_parses() {
    let guide = include_str!("../../../../../docs/RULES.md");
    let blocks: Vec<&str> = guide
        .split("```text\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 4);
    for block in blocks {
        let rule = Rule::parse(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        // And each evaluates for a person without panicking.
        rule.evaluate(&person());
    }
    // The 湘财社〔2015〕2号 rule: group (b), 60 or over with 低保 and 失能.
    let purchase = guide
        .split("```text\n")
        .nth(2)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let rule = Rule::parse(purchase).unwrap();
    let mut p = person();
    p.age = 62;
    p.categories = vec!["低保".into(), "失能".into()];
    assert!(rule.evaluate(&p).eligible);
    p.hukou_local = false;
    assert!(
        !rule.evaluate(&p).eligible,
        "local household registration is required"
    );
}

proptest::proptest! {
    #[test]
    fn any_text_either_parses_or_names_a_place_inside_it(text in "[a-z_ \"“”()（）\\[\\]，,<>=!≥0-9\\-低保且或非属于\n]{0,60}") {
        match Rule::parse(&text) {
            Ok(rule) => { rule.evaluate(&person()); }
            Err(e) => {
                let lines = text.split('\n').count();
                proptest::prop_assert!(e.line >= 1 && e.line <= lines, "{e:?}");
                proptest::prop_assert!(e.column >= 1);
                proptest::prop_assert!(!e.message.is_empty());
            }
        }
    }
}

#[test]
fn the_facts_of_a_registered_person_include_derived_categories_and_local_means_within_the_list_region()
 {
    use crate::category::{CategoryKind, CategoryRecord};
    use crate::elder::{ElderDraft, ValidationContext};
    use crate::region::Region;
    let codes = [
        "43",
        "4303",
        "430302",
        "430302001",
        "430302001001",
        "430304",
    ];
    let regions: Vec<Region> = codes
        .iter()
        .map(|c| {
            let code = RegionCode::parse(c).unwrap();
            Region {
                code,
                name: c.to_string(),
                level: code.level(),
                parent_code: code.parent(),
                area_type: None,
                area_type_manual: false,
                source: String::new(),
            }
        })
        .collect();
    let tree = crate::RegionTree::new(regions);
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let input = ElderDraft {
        name: "王秀英".into(),
        id_number: crate::ResidentId::from_first17("43030219440312001")
            .as_str()
            .into(),
        ethnicity: "汉族".into(),
        hukou_region_code: "430304".into(),
        residence_region_code: "430302001001".into(),
        living_arrangement: "独居".into(),
        marital_status: "丧偶".into(),
        education: "小学".into(),
        ..Default::default()
    }
    .validate(&ValidationContext {
        regions: &tree,
        today,
        min_age: 60,
    })
    .unwrap();
    let dibao = CategoryRecord {
        id: uuid::Uuid::nil(),
        kind: CategoryKind::Dibao,
        detail: None,
        start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        end: None,
        evidence: String::new(),
    };
    let county = RegionCode::parse("430302").unwrap();
    let records = [dibao];
    let person = Person::of_input(&input, &records, Some(AbilityLevel::Severe), false);
    let f = Facts::of_person(&person, &county, today, 80);
    assert_eq!(f.age, 82);
    assert_eq!(f.categories, vec!["低保", "高龄", "失能"]);
    assert!(f.resides_locally);
    assert!(!f.hukou_local, "household registration is in 岳塘区");
    let rule = Rule::parse(
        r#"age >= 60 and "低保" in categories and "失能" in categories and hukou_local"#,
    )
    .unwrap();
    let out = rule.evaluate(&f);
    assert!(!out.eligible);
    assert!(
        out.explanation().ends_with("本地户籍：否 ✗"),
        "{}",
        out.explanation()
    );
}

/// The facts of a local person of `age` with `categories` (derived ones included as written).
fn local(age: i64, categories: &[&str], children_local: bool, children_can_care: bool) -> Facts {
    Facts {
        age,
        categories: categories.iter().map(|c| c.to_string()).collect(),
        children_local,
        children_can_care,
        ability: None,
        ..person()
    }
}

#[test]
fn the_four_hunan_target_groups_hold_exactly_from_their_age_boundaries() {
    let list =
        crate::service_list::xiangtan_demo_list(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
    let purchase = &list[0].target;
    let yes = |f: Facts| purchase.evaluate(&f).eligible;
    // 1. 特困 living dispersed (散居五保, 三无), aged 60+; 集中供养 is not in the group.
    assert!(!yes(local(59, &["农村特困", "分散供养特困"], true, true)));
    assert!(yes(local(60, &["农村特困", "分散供养特困"], true, true)));
    assert!(yes(local(60, &["城市特困", "分散供养特困"], true, true)));
    assert!(
        !yes(local(70, &["农村特困"], true, true)),
        "集中供养 lives in an institution"
    );
    // 2. 低保 and 失能, aged 60+; 半失能 is not enough below 65.
    assert!(!yes(local(59, &["低保", "失能"], true, true)));
    assert!(yes(local(60, &["低保", "失能"], true, true)));
    assert!(!yes(local(60, &["低保", "半失能"], true, true)));
    assert!(!yes(local(60, &["失能"], true, true)), "失能 without 低保");
    // 3. 低保 and 半失能, aged 65+.
    assert!(!yes(local(64, &["低保", "半失能"], true, true)));
    assert!(yes(local(65, &["低保", "半失能"], true, true)));
    assert!(
        !yes(local(65, &["半失能"], true, true)),
        "半失能 without 低保"
    );
    // 4. 低保 aged 80+ whose children are away or unable to care.
    assert!(!yes(local(79, &["低保", "高龄"], false, false)));
    assert!(
        yes(local(80, &["低保", "高龄"], false, true)),
        "children away"
    );
    assert!(
        yes(local(80, &["低保", "高龄"], true, false)),
        "children unable"
    );
    assert!(
        !yes(local(80, &["低保", "高龄"], true, true)),
        "children local and able"
    );
    assert!(!yes(local(80, &["高龄"], false, false)), "no 低保");
    // Household registration and residence must both be local.
    let mut away = local(70, &["农村特困"], true, true);
    away.hukou_local = false;
    assert!(!yes(away));
}

#[test]
fn the_deciding_clauses_of_a_no_skip_what_did_not_matter_and_follow_a_not() {
    let rule = Rule::parse("age >= 80 and (\"低保\" in categories or not children_local)").unwrap();
    let mut f = local(85, &["高龄"], true, true);
    let why = rule.deciding(&f);
    assert!(!why.eligible);
    // The age held and is not the reason; the child living locally is.
    assert_eq!(
        why.explanation(),
        "特殊类别（高龄）含“低保” ✗；子女在本地：是 ✓"
    );
    f.age = 70;
    // Both parts failed: both are reasons.
    assert_eq!(
        rule.deciding(&f).explanation(),
        "年龄 70 ≥ 80 ✗；特殊类别（高龄）含“低保” ✗；子女在本地：是 ✓"
    );
    f.children_local = false;
    f.age = 85;
    let yes = rule.deciding(&f);
    assert!(yes.eligible);
    assert_eq!(yes.explanation(), "年龄 85 ≥ 80 ✓；子女在本地：否 ✗");
}

#[test]
fn a_deeply_nested_or_overlong_rule_is_refused_with_a_message_instead_of_overflowing_the_stack() {
    let deep = format!("{}age >= 80{}", "(".repeat(1_900), ")".repeat(1_900));
    let e = error(&deep);
    assert!(e.message.contains("嵌套太深"), "{e}");
    let nots = format!("{}age >= 80", "not ".repeat(900));
    assert!(error(&nots).message.contains("嵌套太深"));
    // Over the length limit: refused before a single token is read.
    let huge = format!("{}age >= 80{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(error(&huge).message.contains("规则太长"));
    // Sixteen levels are still fine.
    let ok = format!(
        "{}age >= 80{}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    assert!(Rule::parse(&ok).is_ok());
}

#[test]
fn a_rule_of_more_than_two_hundred_clauses_is_refused_at_the_first_clause_too_many() {
    let clauses = |n: usize| vec!["age >= 80"; n].join(" or ");
    assert!(Rule::parse(&clauses(MAX_CLAUSES)).is_ok());
    let e = error(&clauses(MAX_CLAUSES + 1));
    assert!(e.message.contains("条件太多"), "{e}");
    assert!(e.column > 1);
}
