//! Facilities (养老服务设施): their types, ownership, the service functions they offer, and the
//! checks the policy texts imply (a street centre of at least 800 m² offering at least four of
//! the six home services, …), reported as warnings rather than refusals: a facility that falls
//! short still exists and must still be registered and supervised.

use serde::Serialize;

use crate::labelled_enum;

labelled_enum! {
    /// Facility type.
    pub enum FacilityKind {
        /// 养老机构.
        CareHome = ("care_home", "养老机构"),
        /// 特困人员供养服务机构（敬老院）.
        ExtremePovertyHome = ("tekun_home", "特困人员供养服务机构（敬老院）"),
        /// 区域性中心敬老院.
        RegionalExtremePovertyHome = ("regional_tekun_home", "区域性中心敬老院"),
        /// 街道（乡镇）综合养老服务中心.
        StreetCentre = ("street_centre", "街道（乡镇）综合养老服务中心"),
        /// 社区养老服务站（日间照料中心）.
        CommunityPost = ("community_post", "社区养老服务站（日间照料中心）"),
        /// 农村互助养老服务设施（幸福院）.
        RuralMutualAid = ("rural_mutual_aid", "农村互助养老服务设施（幸福院）"),
        /// 老年助餐点.
        MealPoint = ("meal_point", "老年助餐点"),
        /// 居家上门服务机构.
        HomeServiceAgency = ("home_service_agency", "居家上门服务机构"),
    }
}

impl FacilityKind {
    /// Whether the type has beds at all (a home-service agency has none).
    pub fn has_beds(self) -> bool {
        !matches!(
            self,
            FacilityKind::HomeServiceAgency | FacilityKind::MealPoint
        )
    }

    /// Whether the type is an institution (机构) in the sense of the star rating and the
    /// public finder's "institution" filter.
    pub fn is_institution(self) -> bool {
        matches!(
            self,
            FacilityKind::CareHome
                | FacilityKind::ExtremePovertyHome
                | FacilityKind::RegionalExtremePovertyHome
        )
    }

    /// Whether it is a 特困 institution (nursing-bed share ≥ 50%, 株洲 draft; Xiangtan figures
    /// are higher and set per region).
    pub fn is_extreme_poverty_home(self) -> bool {
        matches!(
            self,
            FacilityKind::ExtremePovertyHome | FacilityKind::RegionalExtremePovertyHome
        )
    }
}

labelled_enum! {
    /// Who owns and who runs it.
    pub enum Ownership {
        /// 公办公营.
        PublicRun = ("public_run", "公办公营"),
        /// 公建民营.
        PublicBuiltPrivateRun = ("public_built_private_run", "公建民营"),
        /// 民办.
        Private = ("private", "民办"),
        /// PPP.
        Ppp = ("ppp", "PPP"),
    }
}

impl Ownership {
    /// Public institutions keep a priority waiting list (公办、公建民营).
    pub fn is_public(self) -> bool {
        matches!(
            self,
            Ownership::PublicRun | Ownership::PublicBuiltPrivateRun
        )
    }
}

labelled_enum! {
    /// Fire-safety approval (消防审验) status.
    pub enum FireStatus {
        /// 已通过消防验收或备案.
        Approved = ("approved", "已通过消防验收或备案"),
        /// 办理中.
        Pending = ("pending", "办理中"),
        /// 按规定无需办理.
        NotRequired = ("not_required", "按规定无需办理"),
        /// 未办理.
        Missing = ("missing", "未办理"),
    }
}

labelled_enum! {
    /// A service function. The first six are the home services the Xiangtan plan counts.
    pub enum ServiceFunction {
        /// 助餐.
        Meals = ("meals", "助餐"),
        /// 助浴.
        Bathing = ("bathing", "助浴"),
        /// 助急.
        Emergency = ("emergency", "助急"),
        /// 助医.
        Medical = ("medical", "助医"),
        /// 助行.
        Mobility = ("mobility", "助行"),
        /// 助洁.
        Cleaning = ("cleaning", "助洁"),
        /// 助购.
        Shopping = ("shopping", "助购"),
        /// 全托.
        FullCare = ("full_care", "全托"),
        /// 日托.
        DayCare = ("day_care", "日托"),
        /// 上门.
        HomeVisits = ("home_visits", "上门"),
        /// 康复.
        Rehabilitation = ("rehabilitation", "康复"),
        /// 医养结合.
        MedicalCare = ("medical_care", "医养结合"),
    }
}

impl ServiceFunction {
    /// Its bit in a [`Functions`] set (stable: stored).
    pub fn bit(self) -> u32 {
        1 << ServiceFunction::ALL
            .iter()
            .position(|f| *f == self)
            .unwrap_or(0)
    }

    /// The six home services of 潭政办发〔2023〕20号 (助餐、助浴、助急、助医、助行、助洁).
    pub const SIX: [ServiceFunction; 6] = [
        ServiceFunction::Meals,
        ServiceFunction::Bathing,
        ServiceFunction::Emergency,
        ServiceFunction::Medical,
        ServiceFunction::Mobility,
        ServiceFunction::Cleaning,
    ];
}

/// A set of service functions, stored as an integer bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Functions(pub u32);

impl Functions {
    /// From a list.
    pub fn of(fs: &[ServiceFunction]) -> Functions {
        Functions(fs.iter().fold(0, |m, f| m | f.bit()))
    }

    /// Whether `f` is offered.
    pub fn has(self, f: ServiceFunction) -> bool {
        self.0 & f.bit() != 0
    }

    /// The offered functions, in display order.
    pub fn list(self) -> Vec<ServiceFunction> {
        ServiceFunction::ALL
            .iter()
            .copied()
            .filter(|f| self.has(*f))
            .collect()
    }

    /// How many of the six home services are offered.
    pub fn six_count(self) -> usize {
        ServiceFunction::SIX
            .iter()
            .filter(|f| self.has(**f))
            .count()
    }

    /// Labels joined with "、".
    pub fn labels(self) -> String {
        self.list()
            .iter()
            .map(|f| f.label())
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// The figures the checks compare against, per region (policy parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Norms {
    /// Street centre minimum floor area, m².
    pub street_centre_min_area: i64,
    /// Street centre minimum number of the six home services.
    pub street_centre_min_functions: i64,
    /// Community post minimum floor area, m².
    pub community_post_min_area: i64,
    /// Community post minimum number of the six home services.
    pub community_post_min_functions: i64,
    /// 特困 institution minimum nursing-bed share, percent.
    pub tekun_min_nursing_percent: i64,
    /// 特困 institution minimum star level (0: none required).
    pub tekun_min_star_level: i64,
}

impl Default for Norms {
    fn default() -> Self {
        Norms {
            street_centre_min_area: 800,
            street_centre_min_functions: 4,
            community_post_min_area: 300,
            community_post_min_functions: 3,
            tekun_min_nursing_percent: 50,
            tekun_min_star_level: 2,
        }
    }
}

/// What the checks look at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// Type.
    pub kind: FacilityKind,
    /// In an urban 街道 or 社区 (the floor-area norms of 潭政办发〔2023〕20号 are for the city
    /// districts' streets and communities).
    pub urban: bool,
    /// A virtual community station (the text allows them: 为老服务站或虚拟服务站), which has no
    /// floor area to measure.
    pub virtual_station: bool,
    /// The star level in force.
    pub star_level: Option<u8>,
    /// Floor area, m².
    pub floor_area_m2: f64,
    /// Functions offered.
    pub functions: Functions,
    /// Beds in service (not out of service).
    pub beds: i64,
    /// Nursing-type beds in service.
    pub nursing_beds: i64,
}

/// A warning code (stable, counted by the KPI issue) and its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable code.
    pub code: &'static str,
    /// What falls short, in Chinese.
    pub message: String,
}

/// The shortfalls of a facility against `norms`.
pub fn warnings(p: &Profile, norms: &Norms) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut size_and_functions = |min_area: i64, min_functions: i64, what: &str| {
        if p.urban && !p.virtual_station && p.floor_area_m2 < min_area as f64 {
            out.push(Warning {
                code: "floor_area",
                message: format!(
                    "{what}建筑面积 {} m²，低于 {min_area} m²（潭政办发〔2023〕20号）",
                    p.floor_area_m2
                ),
            });
        }
        let n = p.functions.six_count() as i64;
        if n < min_functions {
            out.push(Warning {
                code: "functions",
                message: format!(
                    "{what}提供助餐、助浴、助急、助医、助行、助洁中的 {n} 项，至少应有 {min_functions} 项（潭政办发〔2023〕20号）"
                ),
            });
        }
    };
    match p.kind {
        FacilityKind::StreetCentre => size_and_functions(
            norms.street_centre_min_area,
            norms.street_centre_min_functions,
            "街道综合养老服务中心",
        ),
        FacilityKind::CommunityPost => size_and_functions(
            norms.community_post_min_area,
            norms.community_post_min_functions,
            "社区养老服务站",
        ),
        _ => {}
    }
    if p.kind.is_extreme_poverty_home() {
        let share = nursing_percent(p.beds, p.nursing_beds);
        if share < norms.tekun_min_nursing_percent as f64 {
            out.push(Warning {
                code: "nursing_share",
                message: format!(
                    "特困人员供养服务机构护理型床位占比 {share:.1}%，低于 {}%",
                    norms.tekun_min_nursing_percent
                ),
            });
        }
        let level = i64::from(p.star_level.unwrap_or(0));
        if level < norms.tekun_min_star_level {
            out.push(Warning {
                code: "tekun_level",
                message: format!(
                    "特困人员供养服务机构应达到{}以上，现为{}",
                    crate::rating::Level::new(norms.tekun_min_star_level)
                        .map_or("评定等级", |l| l.label()),
                    p.star_level
                        .and_then(|l| crate::rating::Level::new(l.into()))
                        .map_or("未评定等级", |l| l.label())
                ),
            });
        }
    }
    out
}

/// Nursing beds as a percentage of beds (0 when there are no beds).
pub fn nursing_percent(beds: i64, nursing: i64) -> f64 {
    if beds == 0 {
        0.0
    } else {
        nursing as f64 * 100.0 / beds as f64
    }
}

/// Great-circle distance in metres between two WGS-84 points (haversine).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// Resident-days (床日) of `stays` in the month starting `month_start`: each day from admission
/// up to but not including discharge (the admission day counts, the discharge day does not).
pub fn resident_days(
    stays: &[(chrono::NaiveDate, Option<chrono::NaiveDate>)],
    month_start: chrono::NaiveDate,
) -> i64 {
    let next = month_start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(chrono::NaiveDate::MAX);
    stays
        .iter()
        .map(|(admitted, discharged)| {
            let from = (*admitted).max(month_start);
            let to = discharged.unwrap_or(next).min(next);
            (to - from).num_days().max(0)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_days_count_the_admission_day_and_not_the_discharge_day() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let stays = [
            (d("2026-10-20"), None),                  // whole November: 30
            (d("2026-11-10"), Some(d("2026-11-12"))), // 10th, 11th: 2
            (d("2026-11-30"), None),                  // 1
            (d("2026-09-01"), Some(d("2026-10-31"))), // none
        ];
        assert_eq!(resident_days(&stays, d("2026-11-01")), 33);
    }

    fn profile(kind: FacilityKind, area: f64, fs: &[ServiceFunction]) -> Profile {
        Profile {
            kind,
            urban: true,
            virtual_station: false,
            star_level: None,
            floor_area_m2: area,
            functions: Functions::of(fs),
            beds: 0,
            nursing_beds: 0,
        }
    }

    #[test]
    fn a_street_centre_needs_800_square_metres_and_four_of_the_six_services() {
        use ServiceFunction::*;
        let n = Norms::default();
        let ok = profile(
            FacilityKind::StreetCentre,
            800.0,
            &[Meals, Bathing, Emergency, Medical, FullCare],
        );
        assert!(warnings(&ok, &n).is_empty());
        let small = profile(
            FacilityKind::StreetCentre,
            799.5,
            &[Meals, Bathing, Emergency, FullCare, DayCare],
        );
        let codes: Vec<_> = warnings(&small, &n).iter().map(|w| w.code).collect();
        assert_eq!(codes, ["floor_area", "functions"]);
    }

    #[test]
    fn floor_areas_are_not_asked_of_rural_townships_or_virtual_stations() {
        use ServiceFunction::*;
        let n = Norms::default();
        let rural = Profile {
            urban: false,
            ..profile(
                FacilityKind::StreetCentre,
                200.0,
                &[Meals, Bathing, Emergency, Medical],
            )
        };
        assert!(warnings(&rural, &n).is_empty(), "a 镇's centre: no 800 m²");
        let virtual_post = Profile {
            virtual_station: true,
            ..profile(
                FacilityKind::CommunityPost,
                0.0,
                &[Meals, Cleaning, Mobility],
            )
        };
        assert!(warnings(&virtual_post, &n).is_empty());
        // The functions are asked everywhere.
        let thin = Profile {
            virtual_station: true,
            ..profile(FacilityKind::CommunityPost, 0.0, &[Meals])
        };
        assert_eq!(warnings(&thin, &n)[0].code, "functions");
    }

    #[test]
    fn a_community_post_needs_300_square_metres_and_three_services() {
        use ServiceFunction::*;
        let n = Norms::default();
        assert!(
            warnings(
                &profile(
                    FacilityKind::CommunityPost,
                    300.0,
                    &[Meals, Cleaning, Mobility]
                ),
                &n
            )
            .is_empty()
        );
        let w = warnings(
            &profile(FacilityKind::CommunityPost, 300.0, &[Meals, Cleaning]),
            &n,
        );
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("2 项"), "{w:?}");
    }

    #[test]
    fn a_tekun_home_under_half_nursing_beds_is_warned_and_other_homes_are_not() {
        let n = Norms::default();
        let mut p = profile(FacilityKind::ExtremePovertyHome, 2000.0, &[]);
        p.beds = 100;
        p.nursing_beds = 49;
        p.star_level = Some(2);
        assert_eq!(warnings(&p, &n)[0].code, "nursing_share");
        p.nursing_beds = 50;
        assert!(warnings(&p, &n).is_empty());
        // And rated 二级 or above (株洲 draft, a parameter).
        p.star_level = Some(1);
        assert_eq!(warnings(&p, &n)[0].code, "tekun_level");
        p.star_level = None;
        assert!(warnings(&p, &n)[0].message.contains("未评定等级"));
        p.star_level = Some(2);
        p.kind = FacilityKind::CareHome;
        p.nursing_beds = 0;
        assert!(warnings(&p, &n).is_empty());
    }

    #[test]
    fn function_bits_round_trip_and_distances_are_in_metres() {
        let f = Functions::of(&[ServiceFunction::Meals, ServiceFunction::MedicalCare]);
        assert_eq!(
            f.list(),
            [ServiceFunction::Meals, ServiceFunction::MedicalCare]
        );
        assert_eq!(f.labels(), "助餐、医养结合");
        // 湘潭市政府 to 湘潭站, about 4.6 km.
        let d = distance_m(27.8297, 112.9440, 27.8625, 112.9195);
        assert!((3_500.0..5_500.0).contains(&d), "{d}");
    }
}
