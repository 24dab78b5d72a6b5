//! Synthetic facilities for the demo and the finder benchmark: a plausible mix of types,
//! ownership, sizes, services, prices and bed plans, placed at villages and communities.

use chrono::NaiveDate;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use jinglao_domain::bulk::FacilitySpec;

use super::places::{Place, address, location};
use jinglao_domain::facility::{FacilityKind, FireStatus, Functions, Ownership, ServiceFunction};

const KINDS: [(FacilityKind, u32); 7] = [
    (FacilityKind::CareHome, 30),
    (FacilityKind::ExtremePovertyHome, 12),
    (FacilityKind::RegionalExtremePovertyHome, 3),
    (FacilityKind::StreetCentre, 12),
    (FacilityKind::CommunityPost, 25),
    (FacilityKind::RuralMutualAid, 10),
    (FacilityKind::MealPoint, 8),
];

fn pick_kind(rng: &mut ChaCha8Rng) -> FacilityKind {
    let total: u32 = KINDS.iter().map(|(_, w)| w).sum();
    let mut n = rng.random_range(0..total);
    for (k, w) in KINDS {
        if n < w {
            return k;
        }
        n -= w;
    }
    FacilityKind::CareHome
}

/// `n` facilities spread over `places` (deterministic for a seed).
pub fn facilities(places: &[Place], n: usize, seed: u64) -> Vec<FacilitySpec> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    if places.is_empty() {
        return out;
    }
    for i in 0..n {
        let place = &places[rng.random_range(0..places.len())];
        let kind = pick_kind(&mut rng);
        let ownership = match kind {
            FacilityKind::ExtremePovertyHome | FacilityKind::RegionalExtremePovertyHome => {
                Ownership::PublicRun
            }
            FacilityKind::StreetCentre | FacilityKind::CommunityPost => {
                Ownership::PublicBuiltPrivateRun
            }
            _ => [
                Ownership::Private,
                Ownership::Private,
                Ownership::PublicBuiltPrivateRun,
                Ownership::Ppp,
            ][rng.random_range(0..4)],
        };
        let (area, beds, nursing_share): (f64, i64, f64) = match kind {
            FacilityKind::CareHome => (
                rng.random_range(1500.0..12000.0),
                rng.random_range(40..300),
                rng.random_range(0.3..0.9),
            ),
            FacilityKind::ExtremePovertyHome => (
                rng.random_range(1200.0..5000.0),
                rng.random_range(30..120),
                rng.random_range(0.35..0.8),
            ),
            FacilityKind::RegionalExtremePovertyHome => (
                rng.random_range(4000.0..9000.0),
                rng.random_range(100..250),
                rng.random_range(0.5..0.9),
            ),
            FacilityKind::StreetCentre => (
                rng.random_range(600.0..2000.0),
                rng.random_range(10..40),
                rng.random_range(0.3..0.7),
            ),
            FacilityKind::CommunityPost => {
                (rng.random_range(200.0..600.0), rng.random_range(0..10), 0.0)
            }
            FacilityKind::RuralMutualAid => {
                (rng.random_range(150.0..500.0), rng.random_range(4..16), 0.0)
            }
            _ => (rng.random_range(80.0..300.0), 0, 0.0),
        };
        let mut fs: Vec<ServiceFunction> = ServiceFunction::SIX
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.6))
            .collect();
        if kind.is_institution() {
            fs.push(ServiceFunction::FullCare);
            if rng.random_bool(0.5) {
                fs.push(ServiceFunction::MedicalCare);
            }
            if rng.random_bool(0.5) {
                fs.push(ServiceFunction::Rehabilitation);
            }
        } else if kind == FacilityKind::MealPoint {
            fs = vec![ServiceFunction::Meals];
        } else {
            fs.push(ServiceFunction::DayCare);
        }
        let mut rooms = Vec::new();
        let nursing_beds = (beds as f64 * nursing_share).round() as i64;
        let mut left = beds;
        let mut nursing_left = nursing_beds;
        while left > 0 {
            let size = left.min(rng.random_range(1..=4));
            let nursing = nursing_left > 0;
            nursing_left -= size;
            left -= size;
            rooms.push((size, nursing));
        }
        let mut staff = Vec::new();
        let caregivers = (beds / 6).clamp(1, 30);
        for _ in 0..caregivers {
            staff.push(("caregiver", rng.random_bool(0.85)));
        }
        staff.push(("manager", true));
        if beds >= 60 {
            staff.push(("social_worker", true));
            staff.push(("nurse", true));
        }
        let price_lo = match kind {
            FacilityKind::ExtremePovertyHome | FacilityKind::RegionalExtremePovertyHome => 120_000,
            FacilityKind::CareHome => rng.random_range(18..40) * 10_000,
            _ => rng.random_range(3..15) * 10_000,
        };
        let stem = &place.short_name;
        let name = match kind {
            FacilityKind::CareHome => format!(
                "{stem}{}养老院",
                ["康乐", "颐和", "福寿", "安康", "夕阳红", "松鹤"][i % 6]
            ),
            FacilityKind::ExtremePovertyHome => format!("{stem}敬老院"),
            FacilityKind::RegionalExtremePovertyHome => format!("{stem}区域性中心敬老院"),
            FacilityKind::StreetCentre => format!("{stem}综合养老服务中心"),
            FacilityKind::CommunityPost => format!("{stem}养老服务站"),
            FacilityKind::RuralMutualAid => format!("{stem}幸福院"),
            FacilityKind::MealPoint => format!("{stem}老年助餐点"),
            FacilityKind::HomeServiceAgency => format!("{stem}居家养老服务站"),
        };
        let opened_on = NaiveDate::from_ymd_opt(
            rng.random_range(2008..2025),
            rng.random_range(1..=12),
            rng.random_range(1..=28),
        )
        .unwrap_or(NaiveDate::MIN);
        out.push(FacilitySpec {
            name: format!("{name}（{}）", i + 1),
            kind,
            ownership,
            region_code: place.code.to_string(),
            address: address(&mut rng, place),
            location: location(&mut rng, place),
            floor_area_m2: (area * 10.0).round() / 10.0,
            functions: Functions::of(&fs),
            opened_on,
            filing_no: if rng.random_bool(0.9) {
                format!("湘潭民养备{}{:05}", opened_on.format("%Y"), i + 1)
            } else {
                String::new()
            },
            fire_status: if rng.random_bool(0.85) {
                FireStatus::Approved
            } else {
                FireStatus::Pending
            },
            price_fen: (price_lo, price_lo + rng.random_range(0..20) * 10_000),
            rooms,
            staff,
        });
    }
    out
}
