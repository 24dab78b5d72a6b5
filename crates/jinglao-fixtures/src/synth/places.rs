//! Where synthetic people live: the villages and communities under a region, their rough
//! position, and street addresses in the local style.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use jinglao_domain::region::{AreaType, RegionCode, RegionLevel};
use jinglao_domain::region_tree::RegionTree;

/// A village or community people can live in.
#[derive(Debug, Clone)]
pub struct Place {
    /// Its code.
    pub code: RegionCode,
    /// The county it belongs to (6-digit prefix, the area code of ID numbers issued there).
    pub county: RegionCode,
    /// Urban community or rural village (unclassified counts as rural).
    pub urban: bool,
    /// Name for addresses: 关圣殿社区, 双和村.
    pub short_name: String,
    /// Centre (longitude, latitude), if the county's position is known.
    pub centre: Option<(f64, f64)>,
    /// How far homes spread around the centre, in degrees.
    pub spread: f64,
}

/// Approximate centres and radii (degrees) of Xiangtan's county-level units, for plausible
/// map points. Counties not listed get no coordinates.
const COUNTY_CENTRES: [(&str, f64, f64, f64); 8] = [
    ("430302", 112.880, 27.870, 0.06), // 雨湖区
    ("430304", 112.970, 27.865, 0.05), // 岳塘区
    ("430321", 112.850, 27.700, 0.20), // 湘潭县
    ("430371", 112.885, 27.840, 0.03), // 湘潭高新区
    ("430372", 113.030, 27.950, 0.04), // 昭山示范区
    ("430373", 112.900, 27.950, 0.05), // 九华示范区
    ("430381", 112.530, 27.730, 0.20), // 湘乡市
    ("430382", 112.520, 27.920, 0.08), // 韶山市
];

/// A stable pseudo-random number in [0, 1) from a code (so a village's position does not
/// depend on the seed or on which other villages exist).
fn unit_from(code: &RegionCode, salt: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in code.as_str().bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The address name of a village or community.
pub fn short_name(name: &str) -> String {
    for (suffix, replacement) in [
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居民委员会", "社区"),
        ("居委会", "社区"),
        ("村民委员会", "村"),
        ("村委会", "村"),
    ] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return format!("{stem}{replacement}");
        }
    }
    name.to_string()
}

/// Every village and community under `root`, in code order.
pub fn places_under(tree: &RegionTree, root: &RegionCode) -> Vec<Place> {
    tree.subtree(root)
        .iter()
        .filter(|r| r.level == RegionLevel::Village)
        .map(|r| {
            let county = RegionCode::parse(&r.code.as_str()[..6]).unwrap_or(r.code);
            let urban = r.area_type == Some(AreaType::Urban);
            let known = COUNTY_CENTRES
                .iter()
                .find(|(c, ..)| *c == &r.code.as_str()[..6]);
            let (centre, spread) = match known {
                Some((_, lon, lat, radius)) => {
                    // Villages spread over the county; communities sit nearer the centre.
                    let r_max = if urban { radius * 0.4 } else { *radius };
                    let angle = unit_from(&r.code, 1) * std::f64::consts::TAU;
                    let dist = unit_from(&r.code, 2).sqrt() * r_max;
                    (
                        Some((lon + dist * angle.cos(), lat + dist * angle.sin())),
                        if urban { 0.004 } else { 0.012 },
                    )
                }
                None => (None, 0.0),
            };
            Place {
                code: r.code,
                county,
                urban,
                short_name: short_name(&r.name),
                centre,
                spread,
            }
        })
        .collect()
}

/// A street address in the place.
pub fn address(rng: &mut ChaCha8Rng, place: &Place) -> String {
    if place.urban {
        format!(
            "{}{}栋{}单元{}{:02}号",
            place.short_name,
            rng.random_range(1..=40),
            rng.random_range(1..=4),
            rng.random_range(1..=7),
            rng.random_range(1..=4)
        )
    } else {
        format!(
            "{}{}组{}号",
            place.short_name,
            rng.random_range(1..=18),
            rng.random_range(1..=80)
        )
    }
}

/// A map point near the place's centre (rounded to about 10 m).
pub fn location(rng: &mut ChaCha8Rng, place: &Place) -> Option<(f64, f64)> {
    let (lon, lat) = place.centre?;
    let round = |v: f64| (v * 10_000.0).round() / 10_000.0;
    Some((
        round(lon + rng.random_range(-place.spread..place.spread)),
        round(lat + rng.random_range(-place.spread..place.spread)),
    ))
}
