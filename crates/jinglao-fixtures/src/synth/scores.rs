//! Synthetic capability assessments: item scores drawn to land in the person's latent level,
//! the A sections filled in plausibly, and the result computed by the real scoring rules —
//! so a generated level is always one the standard would give for those answers.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{SynthAssessment, names, pick_weighted};
use jinglao_domain::assessment::{AdjustmentStacking, ITEMS, Indicator, score};
use jinglao_domain::assessment_form::{
    AssessmentForm, AssessmentReason, HEALTH_PROBLEMS, RISK_EVENTS,
};
use jinglao_domain::elder::{ElderInput, LivingArrangement};

/// Points below the maximum (90) for each preliminary level: 0 → 90, 1 → 66–89, 2 → 46–65,
/// 3 → 30–45, 4 → 0–29 (a few points are always kept at level 4, as in practice).
const DEFICIT: [(u32, u32); 5] = [(0, 0), (1, 24), (25, 44), (45, 60), (61, 84)];

/// Chronic conditions with rough prevalence per 1,000 older people.
const CONDITIONS: [(&str, u32); 6] = [
    ("I10", 450),
    ("E11", 180),
    ("I25", 120),
    ("J44", 80),
    ("M81", 100),
    ("H25", 90),
];

fn chance(rng: &mut ChaCha8Rng, per_mille: u32) -> bool {
    rng.random_range(0..1000) < per_mille
}

/// Takes `deficit` points off the maxima, spread over the indicators by `weights`
/// (self-care, mobility, mental, perception/social).
fn item_scores(rng: &mut ChaCha8Rng, deficit: u32, weights: [u32; 4]) -> BTreeMap<String, i64> {
    let mut scores: Vec<u8> = ITEMS.iter().map(|i| i.max()).collect();
    let group = |ind: Indicator| match ind {
        Indicator::SelfCare => 0,
        Indicator::BasicMobility => 1,
        Indicator::Mental => 2,
        Indicator::PerceptionSocial => 3,
    };
    let mut left = deficit;
    while left > 0 {
        let room: [u32; 4] = std::array::from_fn(|g| {
            let has = ITEMS
                .iter()
                .zip(&scores)
                .any(|(it, s)| group(it.indicator) == g && *s > 0);
            if has { weights[g].max(1) } else { 0 }
        });
        if room.iter().all(|r| *r == 0) {
            break;
        }
        let g = pick_weighted(rng, &room);
        let candidates: Vec<usize> = ITEMS
            .iter()
            .enumerate()
            .filter(|(i, it)| group(it.indicator) == g && scores[*i] > 0)
            .map(|(i, _)| i)
            .collect();
        let i = candidates[rng.random_range(0..candidates.len())];
        scores[i] -= 1;
        left -= 1;
    }
    ITEMS
        .iter()
        .zip(scores)
        .map(|(it, s)| (it.code.to_string(), s as i64))
        .collect()
}

/// An effective assessment for someone whose latent level is `level`.
pub(crate) fn assess(
    rng: &mut ChaCha8Rng,
    today: NaiveDate,
    index: usize,
    level: u8,
    input: &ElderInput,
    living: LivingArrangement,
) -> SynthAssessment {
    let mut diagnoses: Vec<String> = CONDITIONS
        .iter()
        .filter(|(_, p)| chance(rng, *p))
        .map(|(c, _)| c.to_string())
        .collect();
    // A quarter of the more dependent people decline cognitively; most of them have a
    // dementia diagnosis, which raises the level by one (C.4), so their scores are drawn one
    // level better.
    let cognitive = level >= 2 && chance(rng, 250);
    let dementia = cognitive && chance(rng, 600);
    let mut preliminary = level as usize;
    if dementia {
        diagnoses.push(["F00", "F01", "F03"][rng.random_range(0..3)].to_string());
        preliminary -= 1;
    }
    if level >= 3 && !cognitive && chance(rng, 300) {
        diagnoses.push("I64".into());
    }
    let (lo, hi) = DEFICIT[preliminary];
    let deficit = rng.random_range(lo..=hi);
    let weights = if cognitive {
        [2, 2, 5, 3]
    } else {
        [4, 4, 1, 1]
    };
    let items = item_scores(rng, deficit, weights);

    let mut risk_events: BTreeMap<String, u8> = RISK_EVENTS
        .iter()
        .map(|(k, _)| (k.to_string(), 0))
        .collect();
    if level >= 2 && chance(rng, 100) {
        risk_events.insert("falls".into(), rng.random_range(1..=2));
    }
    if cognitive && chance(rng, 80) {
        risk_events.insert("wandering".into(), 1);
    }
    let mut health: BTreeMap<String, String> = HEALTH_PROBLEMS
        .iter()
        .filter(|(_, _, answers)| !answers.is_empty())
        .map(|(code, _, answers)| (code.to_string(), answers[0].to_string()))
        .collect();
    if level >= 3 {
        health.insert("A.5.2".into(), HEALTH_PROBLEMS[1].2[1].into());
    }
    if chance(rng, 550) {
        health.insert("A.5.6".into(), HEALTH_PROBLEMS[5].2[2].into());
        health.insert("A.5.7".into(), HEALTH_PROBLEMS[6].2[2].into());
    }
    if level == 4 && chance(rng, 20) {
        health.insert("A.5.11".into(), "有".into());
    }

    // Most were assessed within the last year; some are past the routine interval.
    let reference_date = today - Duration::days(rng.random_range(3..=430));
    let (informant_name, informant_relation) = if level <= 1 {
        (input.name.clone(), "本人")
    } else if let Some(c) = input.contacts.first() {
        (
            c.name.clone(),
            if c.relation == "儿子" || c.relation == "女儿" {
                "子女"
            } else {
                "其他"
            },
        )
    } else {
        (
            names::full_name(rng, jinglao_domain::id_number::Sex::Female),
            "雇佣照顾者",
        )
    };
    let form = AssessmentForm {
        number: format!("XT{}{:07}", reference_date.format("%Y"), index),
        reference_date: Some(reference_date),
        reason: Some(if chance(rng, 780) {
            AssessmentReason::First
        } else {
            AssessmentReason::Routine
        }),
        reason_other: String::new(),
        place: match living {
            LivingArrangement::Institution => "养老机构".into(),
            _ if chance(rng, 700) => "老人家中".into(),
            _ => "村（社区）综合服务站".into(),
        },
        height_cm: Some(rng.random_range(148..=176)),
        weight_kg: Some(rng.random_range(40..=78) as f32),
        religion: "无".into(),
        risk_events,
        informant_name,
        informant_relation: informant_relation.into(),
        medication: if diagnoses.is_empty() {
            String::new()
        } else {
            "遵医嘱长期服药".into()
        },
        diagnoses,
        health,
        items,
    };
    let result = score(&form.score_input(), AdjustmentStacking::ApplyOnce)
        .expect("generated scores are within range");
    SynthAssessment { form, result }
}
