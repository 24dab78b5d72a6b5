//! One synthetic person: age and sex, ID number, family, living arrangement, education,
//! income, insurance, phones, contacts, categories and latent ability.

use chrono::{Datelike, Duration, NaiveDate};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::places::{Place, address, location};
use super::{SynthElder, names, pick_weighted, scores};
use jinglao_domain::category::{CategoryInput, CategoryKind};
use jinglao_domain::elder::{
    Education, ElderInput, EmergencyContact, IncomeSource, LivingArrangement, MaritalStatus,
    MedicalPayment,
};
use jinglao_domain::id_number::{ResidentId, Sex};
use jinglao_domain::phone::Phone;
use jinglao_domain::region::RegionCode;

/// What every person is drawn from.
pub(crate) struct World<'a> {
    pub places: &'a [Place],
    /// Running sum of the places' weights.
    pub cumulative: &'a [u32],
    /// County codes under the root (for household registrations elsewhere).
    pub counties: &'a [RegionCode],
    pub today: NaiveDate,
}

/// Age bands: (lowest age, highest age, weight per 10,000, women per 1,000). Weights follow
/// the 2020 census age structure of people aged 60 and over; the share of women rises with
/// age.
const AGE_BANDS: [(i32, i32, u32, u32); 9] = [
    (60, 64, 2780, 496),
    (65, 69, 2800, 505),
    (70, 74, 1795, 515),
    (75, 79, 1175, 530),
    (80, 84, 773, 555),
    (85, 89, 443, 590),
    (90, 94, 170, 640),
    (95, 99, 45, 700),
    (100, 105, 5, 760),
];

/// Latent ability level (0 能力完好 … 4 完全丧失) per 1,000, by age group.
const ABILITY_BY_AGE: [(i32, [u32; 5]); 4] = [
    (60, [900, 60, 25, 10, 5]),
    (70, [780, 120, 55, 30, 15]),
    (80, [540, 210, 120, 85, 45]),
    (90, [300, 240, 190, 160, 110]),
];

/// Mobile number prefixes in use in Hunan.
const MOBILE_PREFIXES: [&str; 12] = [
    "138", "139", "136", "135", "150", "151", "158", "187", "188", "133", "153", "189",
];

fn chance(rng: &mut ChaCha8Rng, per_mille: u32) -> bool {
    rng.random_range(0..1000) < per_mille
}

fn mobile(rng: &mut ChaCha8Rng) -> Phone {
    let prefix = MOBILE_PREFIXES[rng.random_range(0..MOBILE_PREFIXES.len())];
    let n: u32 = rng.random_range(0..100_000_000);
    Phone::parse(&format!("{prefix}{n:08}")).expect("generated mobile numbers are valid")
}

fn landline(rng: &mut ChaCha8Rng) -> Phone {
    // Xiangtan's area code is 0731; local numbers have 8 digits starting 5.
    let n: u32 = rng.random_range(0..10_000_000);
    Phone::parse(&format!("07315{n:07}")).expect("generated landlines are valid")
}

fn birth_date(rng: &mut ChaCha8Rng, today: NaiveDate) -> (NaiveDate, usize) {
    let band = pick_weighted(rng, &AGE_BANDS.map(|b| b.2));
    let (lo, hi, ..) = AGE_BANDS[band];
    let age = rng.random_range(lo..=hi);
    // A birthday somewhere in the year before the person turned `age` + 1.
    let latest = today
        .with_year(today.year() - age)
        .unwrap_or_else(|| today - Duration::days(365 * age as i64));
    let date = latest - Duration::days(rng.random_range(0..365));
    (date, band)
}

fn marital(rng: &mut ChaCha8Rng, age: i32, sex: Sex) -> MaritalStatus {
    use MaritalStatus::*;
    // (married, widowed, divorced, unmarried) per 1,000.
    let w: [u32; 4] = match (sex, age) {
        (Sex::Male, a) if a < 70 => [880, 70, 20, 30],
        (Sex::Male, a) if a < 80 => [800, 150, 20, 30],
        (Sex::Male, _) => [600, 365, 10, 25],
        (Sex::Female, a) if a < 70 => [850, 128, 18, 4],
        (Sex::Female, a) if a < 80 => [650, 330, 15, 5],
        (Sex::Female, _) => [300, 690, 5, 5],
    };
    [Married, Widowed, Divorced, Unmarried][pick_weighted(rng, &w)]
}

fn education(rng: &mut ChaCha8Rng, born: i32, sex: Sex, urban: bool) -> Education {
    use Education::*;
    let cohort = match born {
        y if y < 1940 => 0,
        y if y < 1956 => 1,
        _ => 2,
    };
    let cohort = if urban { (cohort + 1).min(3) } else { cohort };
    // (illiterate, primary, junior high, senior high, college) per 1,000.
    let w: [u32; 5] = match (sex, cohort) {
        (Sex::Female, 0) => [550, 350, 70, 20, 10],
        (Sex::Female, 1) => [250, 450, 200, 70, 30],
        (Sex::Female, 2) => [80, 350, 350, 150, 70],
        (Sex::Female, _) => [40, 220, 380, 230, 130],
        (Sex::Male, 0) => [250, 450, 180, 80, 40],
        (Sex::Male, 1) => [100, 400, 300, 130, 70],
        (Sex::Male, 2) => [40, 280, 400, 180, 100],
        (Sex::Male, _) => [20, 180, 380, 260, 160],
    };
    [Illiterate, Primary, JuniorHigh, SeniorHigh, College][pick_weighted(rng, &w)]
}

/// Which categories of the exclusive poverty group apply.
enum Poverty {
    None,
    Extreme { centralised: bool },
    Dibao,
    NearDibao,
}

/// The `index`-th person.
pub(crate) fn make(rng: &mut ChaCha8Rng, w: &World<'_>, index: usize) -> SynthElder {
    let total = *w.cumulative.last().expect("places");
    let roll = rng.random_range(0..total);
    let place = &w.places[w.cumulative.partition_point(|c| *c <= roll)];
    let (birth, band) = birth_date(rng, w.today);
    let sex = if chance(rng, AGE_BANDS[band].3) {
        Sex::Female
    } else {
        Sex::Male
    };
    let age = jinglao_domain::id_number::age_on(birth, w.today);

    // Household registration: usually the county of residence, sometimes another county.
    let hukou = if w.counties.len() > 1 && chance(rng, 100) {
        w.counties[rng.random_range(0..w.counties.len())]
    } else {
        place.county
    };
    let seq: u32 = rng.random_range(0..500) * 2 + if sex == Sex::Male { 1 } else { 0 };
    let first17 = format!("{}{}{seq:03}", &hukou.as_str()[..6], birth.format("%Y%m%d"));
    let id_number = ResidentId::from_first17(&first17);

    let poverty = match rng.random_range(0..1000) {
        0..10 => Poverty::Extreme {
            centralised: chance(rng, 250),
        },
        10..50 => Poverty::Dibao,
        50..70 => Poverty::NearDibao,
        _ => Poverty::None,
    };
    let extreme = matches!(poverty, Poverty::Extreme { .. });
    let born = birth.year();
    let lost_only_child = born >= 1945 && chance(rng, 4);

    // Family.
    let mut marital = marital(rng, age, sex);
    let mut children_count = if marital == MaritalStatus::Unmarried {
        0
    } else {
        match born {
            y if y < 1950 => rng.random_range(2..=5),
            y if y < 1960 => rng.random_range(1..=4),
            _ => rng.random_range(1..=2),
        }
    };
    if extreme {
        // 特困: no one obliged and able to support them.
        children_count = 0;
        if marital == MaritalStatus::Married {
            marital = MaritalStatus::Widowed;
        }
    }
    if lost_only_child {
        children_count = 0;
    }
    let children_local = children_count > 0 && chance(rng, if place.urban { 700 } else { 550 });
    let mut living = match (marital, children_count) {
        (MaritalStatus::Married, _) => [
            LivingArrangement::SpouseOnly,
            LivingArrangement::WithChildren,
            LivingArrangement::WithRelatives,
            LivingArrangement::Institution,
        ][pick_weighted(rng, &[550, 420, 10, 20])],
        (_, 0) => [
            LivingArrangement::Alone,
            LivingArrangement::WithRelatives,
            LivingArrangement::Institution,
        ][pick_weighted(rng, &[780, 140, 80])],
        _ => [
            LivingArrangement::Alone,
            LivingArrangement::WithChildren,
            LivingArrangement::WithRelatives,
            LivingArrangement::Institution,
        ][pick_weighted(rng, &[380, 540, 40, 40])],
    };
    if let Poverty::Extreme { centralised } = poverty {
        living = if centralised {
            LivingArrangement::Institution
        } else {
            LivingArrangement::Alone
        };
    }
    if children_count == 0 && living == LivingArrangement::WithChildren {
        living = LivingArrangement::SpouseOnly;
    }
    let children_local = children_local || living == LivingArrangement::WithChildren;
    let children_can_care =
        children_count > 0 && chance(rng, if children_local { 800 } else { 200 });

    let education = education(rng, born, sex, place.urban);

    // Income and medical insurance.
    let mut income = vec![IncomeSource::Pension];
    if children_count > 0 && chance(rng, 450) {
        income.push(IncomeSource::Children);
    }
    if age >= 80 || !matches!(poverty, Poverty::None) {
        income.push(IncomeSource::StateBenefit);
    }
    if chance(rng, 200) {
        income.push(IncomeSource::Savings);
    }
    if children_count == 0 && chance(rng, 100) {
        income.push(IncomeSource::Relatives);
    }
    let mut medical = vec![if place.urban && chance(rng, 600) {
        MedicalPayment::EmployeeInsurance
    } else {
        MedicalPayment::ResidentInsurance
    }];
    if !matches!(poverty, Poverty::None | Poverty::NearDibao) {
        medical.push(MedicalPayment::MedicalAssistance);
    }
    if chance(rng, 30) {
        medical.push(MedicalPayment::Commercial);
    }

    // Phones: mobiles are rarer among the oldest.
    let mut phones = Vec::new();
    let mobile_share = match age {
        a if a < 70 => 900,
        a if a < 80 => 760,
        a if a < 90 => 520,
        _ => 300,
    };
    if chance(rng, mobile_share) {
        phones.push(mobile(rng));
    }
    if chance(rng, 150) {
        phones.push(landline(rng));
    }

    // Emergency contact: a child if there is one, otherwise a relative, neighbour or the
    // village committee.
    let name = names::full_name(rng, sex);
    let family = names::surname_of(&name).to_string();
    let mut contacts = Vec::new();
    if chance(rng, 880) {
        let (cname, relation) = if children_count > 0 {
            let son = chance(rng, 550);
            (
                names::child_name(rng, &family, son),
                if son { "儿子" } else { "女儿" },
            )
        } else {
            let relations = ["侄子", "外甥女", "邻居", "村（社区）干部"];
            let r = relations[rng.random_range(0..relations.len())];
            (names::child_name(rng, &family, r == "侄子"), r)
        };
        contacts.push(EmergencyContact {
            name: cname,
            relation: relation.to_string(),
            phone: mobile(rng),
        });
    }

    let input = ElderInput {
        name,
        id_number,
        ethnicity: match rng.random_range(0..1000) {
            0..6 => "土家族",
            6..10 => "苗族",
            10..13 => "回族",
            13..14 => "侗族",
            14..15 => "瑶族",
            _ => "汉族",
        },
        phones,
        hukou_region: hukou,
        residence_region: place.code,
        address: address(rng, place),
        location: location(rng, place),
        living,
        marital,
        education,
        income_sources: income,
        medical_payments: medical,
        children_count,
        children_local,
        children_can_care,
        contacts,
        under_age_reason: None,
    };

    // Categories.
    let since = |rng: &mut ChaCha8Rng, earliest: NaiveDate| {
        let span = (w.today - earliest).num_days().max(1);
        earliest + Duration::days(rng.random_range(0..span))
    };
    let start = since(rng, NaiveDate::from_ymd_opt(2016, 1, 1).expect("date"));
    let cat = |kind: CategoryKind, detail: Option<&str>, evidence: String| CategoryInput {
        kind,
        detail: detail.map(str::to_string),
        start,
        end: None,
        evidence,
    };
    let mut categories = Vec::new();
    let county_name = &place.county.as_str()[..6];
    match poverty {
        Poverty::Extreme { centralised } => categories.push(cat(
            if place.urban {
                CategoryKind::UrbanExtremePoverty
            } else {
                CategoryKind::RuralExtremePoverty
            },
            Some(if centralised {
                "集中供养"
            } else {
                "分散供养"
            }),
            format!("特困人员救助供养证 TK{county_name}{index:07}"),
        )),
        Poverty::Dibao => categories.push(cat(
            CategoryKind::Dibao,
            None,
            format!("低保证 DB{county_name}{index:07}"),
        )),
        Poverty::NearDibao => categories.push(cat(
            CategoryKind::NearDibao,
            None,
            "低保边缘家庭认定（乡镇审核）".into(),
        )),
        Poverty::None => {}
    }
    if lost_only_child {
        categories.push(cat(
            CategoryKind::FamilyPlanningSpecial,
            Some("失独"),
            "计划生育特殊家庭扶助金名册".into(),
        ));
    } else if born >= 1945 && chance(rng, 2) {
        categories.push(cat(
            CategoryKind::FamilyPlanningSpecial,
            Some("伤残"),
            "计划生育特殊家庭扶助金名册".into(),
        ));
    }
    if chance(rng, if sex == Sex::Male { 25 } else { 5 }) {
        categories.push(cat(
            CategoryKind::EntitledGroup,
            None,
            "退役军人事务局优抚名册".into(),
        ));
    }
    if matches!(
        living,
        LivingArrangement::Alone | LivingArrangement::SpouseOnly
    ) && !children_local
        && chance(rng, 800)
    {
        categories.push(cat(
            CategoryKind::EmptyNest,
            None,
            "村（社区）走访核实".into(),
        ));
    } else if !place.urban
        && children_count > 0
        && !children_local
        && living != LivingArrangement::Institution
        && chance(rng, 600)
    {
        categories.push(cat(CategoryKind::LeftBehind, None, "村委会走访核实".into()));
    }

    // Ability: by age, worse for people with a severe-disability certificate.
    let ability_row = ABILITY_BY_AGE
        .iter()
        .rev()
        .find(|(from, _)| age >= *from)
        .map_or(ABILITY_BY_AGE[0].1, |(_, w)| *w);
    let mut level = pick_weighted(rng, &ability_row) as u8;
    let severe_disability = chance(rng, if level >= 2 { 150 } else { 18 });
    if severe_disability {
        level = level.max(2);
        let (grade, kind) = if chance(rng, 350) {
            ("一级", "肢体")
        } else {
            (
                "二级",
                ["肢体", "视力", "精神", "智力"][rng.random_range(0..4)],
            )
        };
        categories.push(cat(
            CategoryKind::Disability,
            Some(grade),
            format!("第二代残疾人证（{kind}残疾{grade}）"),
        ));
    }
    let special = categories
        .iter()
        .any(|c| !matches!(c.kind, CategoryKind::EmptyNest | CategoryKind::LeftBehind));
    let assessed_per_mille = match (level, special, age >= 80) {
        (1.., _, _) => 750,
        (0, true, _) => 500,
        (0, false, true) => 200,
        _ => 60,
    };
    let assessment = chance(rng, assessed_per_mille)
        .then(|| scores::assess(rng, w.today, index, level, &input, living));
    SynthElder {
        input,
        categories,
        assessment,
    }
}
