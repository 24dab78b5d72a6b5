use std::collections::HashSet;

use super::*;
use jinglao_domain::assessment::AbilityLevel;
use jinglao_domain::category::{CategoryInput, CategoryKind};
use jinglao_domain::elder::{LivingArrangement, ValidationContext};
use jinglao_domain::elder_import::{IMPORT_COLUMNS, import_row, parse_table};
use jinglao_domain::tabular::Table;
use jinglao_domain::{Region, RegionTree};

/// The seed regions of `data/regions` as a tree.
fn seed_tree() -> RegionTree {
    let text = include_str!("../../../../data/regions/seed-regions.csv");
    let records = jinglao_domain::region_import::parse_region_csv(text, &Default::default())
        .expect("the seed file is valid");
    RegionTree::new(
        records
            .into_iter()
            .map(|r| Region {
                code: r.code,
                name: r.name,
                level: r.level,
                parent_code: r.parent_code,
                area_type: r.area_type,
                area_type_manual: false,
                source: "test".into(),
            })
            .collect(),
    )
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn xiangtan() -> RegionCode {
    RegionCode::parse("4303").unwrap()
}

fn people(count: usize, seed: u64, threads: usize) -> Vec<SynthElder> {
    generate(
        &seed_tree(),
        &xiangtan(),
        SynthParams {
            seed,
            count,
            today: today(),
            threads,
        },
    )
    .unwrap()
}

fn share(p: &[SynthElder], f: impl Fn(&SynthElder) -> bool) -> f64 {
    p.iter().filter(|e| f(e)).count() as f64 / p.len() as f64
}

fn has(e: &SynthElder, kinds: &[CategoryKind]) -> bool {
    e.categories.iter().any(|c| kinds.contains(&c.kind))
}

#[test]
fn the_same_seed_gives_the_same_people_whatever_the_number_of_threads() {
    let a = people(3000, 7, 1);
    let b = people(3000, 7, 3);
    assert_eq!(a.len(), 3000);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.input.canonical(), y.input.canonical());
        assert_eq!(x.categories, y.categories);
        assert_eq!(
            x.assessment.as_ref().map(|s| &s.form),
            y.assessment.as_ref().map(|s| &s.form)
        );
    }
    let c = people(3000, 8, 2);
    assert_ne!(a[0].input.canonical(), c[0].input.canonical());
}

#[test]
fn every_id_number_is_valid_unique_and_of_a_xiangtan_county_and_every_person_is_60_to_105() {
    let p = people(20_000, 1, 0);
    let mut seen = HashSet::new();
    for e in &p {
        let id = e.input.id_number.as_str();
        assert!(ResidentId::parse(id).is_ok(), "{id}");
        assert!(seen.insert(id.to_string()), "duplicate {id}");
        assert!(id.starts_with("4303"));
        let age = jinglao_domain::id_number::age_on(e.input.birth_date(), today());
        assert!((60..=105).contains(&age), "age {age}");
        assert!(xiangtan().contains(&e.input.residence_region));
    }
}

#[test]
fn the_population_has_the_stated_structure() {
    let p = people(40_000, 2, 0);
    let women = share(&p, |e| e.input.sex() == jinglao_domain::Sex::Female);
    assert!((0.50..0.56).contains(&women), "women {women}");
    let eighty_plus = share(&p, |e| {
        jinglao_domain::id_number::age_on(e.input.birth_date(), today()) >= 80
    });
    assert!((0.11..0.18).contains(&eighty_plus), "80+ {eighty_plus}");
    let extreme = share(&p, |e| {
        has(
            e,
            &[
                CategoryKind::UrbanExtremePoverty,
                CategoryKind::RuralExtremePoverty,
            ],
        )
    });
    assert!((0.007..0.013).contains(&extreme), "特困 {extreme}");
    let dibao = share(&p, |e| has(e, &[CategoryKind::Dibao]));
    assert!((0.033..0.047).contains(&dibao), "低保 {dibao}");
    let disabled = share(&p, |e| has(e, &[CategoryKind::Disability]));
    assert!((0.02..0.045).contains(&disabled), "重度残疾 {disabled}");
    let alone = share(&p, |e| e.input.living == LivingArrangement::Alone);
    assert!((0.07..0.14).contains(&alone), "独居 {alone}");
    let assessed = share(&p, |e| e.assessment.is_some());
    assert!((0.12..0.30).contains(&assessed), "assessed {assessed}");
    let disabled_level = share(&p, |e| {
        e.assessment.as_ref().is_some_and(|a| {
            matches!(
                a.result.final_level,
                AbilityLevel::Severe | AbilityLevel::Complete
            )
        })
    });
    assert!(
        (0.02..0.08).contains(&disabled_level),
        "失能 {disabled_level}"
    );
}

#[test]
fn extreme_poverty_means_no_children_and_living_alone_or_in_an_institution() {
    for e in people(20_000, 3, 0) {
        if has(
            &e,
            &[
                CategoryKind::UrbanExtremePoverty,
                CategoryKind::RuralExtremePoverty,
            ],
        ) {
            assert_eq!(e.input.children_count, 0);
            assert!(matches!(
                e.input.living,
                LivingArrangement::Alone | LivingArrangement::Institution
            ));
        }
    }
}

#[test]
fn every_generated_assessment_is_complete_and_scored_by_the_standard() {
    let p = people(5000, 4, 0);
    let mut levels = [0usize; 5];
    for a in p.iter().filter_map(|e| e.assessment.as_ref()) {
        assert!(
            a.form.check(today(), true).is_empty(),
            "{:?}",
            a.form.check(today(), true)
        );
        let again = jinglao_domain::assessment::score(
            &a.form.score_input(),
            jinglao_domain::assessment::AdjustmentStacking::ApplyOnce,
        )
        .unwrap();
        assert_eq!(again, a.result);
        levels[a.result.final_level.number() as usize] += 1;
    }
    assert!(
        levels.iter().all(|n| *n > 0),
        "every level occurs: {levels:?}"
    );
}

#[test]
fn generated_people_written_as_an_import_file_read_back_unchanged() {
    let p = people(2000, 5, 0);
    let tree = seed_tree();
    let mut rows = vec![
        IMPORT_COLUMNS
            .iter()
            .map(|c| c.header.to_string())
            .collect(),
    ];
    rows.extend(p.iter().map(|e| import_row(&e.input, &e.categories)));
    let table = Table {
        rows,
        lossy_numbers: Default::default(),
    };
    let ctx = ValidationContext {
        regions: &tree,
        today: today(),
        min_age: 60,
    };
    let parsed = parse_table(&table, &ctx).unwrap();
    assert!(
        parsed.problems.is_empty(),
        "{:?}",
        &parsed.problems[..parsed.problems.len().min(5)]
    );
    for (e, r) in p.iter().zip(&parsed.records) {
        assert_eq!(e.input.canonical(), r.input.canonical());
        let kinds = |c: &[CategoryInput]| {
            c.iter()
                .map(|c| (c.kind, c.detail.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(&e.categories), kinds(&r.categories));
    }
}
