//! Dispatch (派单): assigning a day's orders to a provider's caregivers. A caregiver can take an
//! order only with the skill for its item, a certificate where the item needs one, not
//! blacklisted, within a shift, and with time to travel from the previous visit; among those,
//! the one with the fewest visits that day, then the nearest, gets it. Orders are taken by the
//! earliest start allowed; an order nobody can take is returned with the reason.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use crate::clock::china_time;
use crate::visit::GeoPoint;

/// Working hours of a caregiver with no shift entered for the day: 08:00–18:00 China time (a
/// provider's default; a shift entered for the day replaces it).
pub const DEFAULT_HOURS: (u32, u32) = (8, 18);

/// The default shift on `day`, in UTC.
pub fn default_shift(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |h: u32| china_time(day, NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default());
    (at(DEFAULT_HOURS.0), at(DEFAULT_HOURS.1))
}

/// `shifts` with the `busy` periods taken out (each widened by `gap` on both sides): what is
/// left for new orders once the visits kept as they are have their time.
pub fn free_periods(
    shifts: &[(DateTime<Utc>, DateTime<Utc>)],
    busy: &[(DateTime<Utc>, DateTime<Utc>)],
    gap: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut free: Vec<(DateTime<Utc>, DateTime<Utc>)> = shifts.to_vec();
    for (b0, b1) in busy {
        let (b0, b1) = (*b0 - gap, *b1 + gap);
        free = free
            .into_iter()
            .flat_map(|(a, z)| {
                let mut parts = Vec::with_capacity(2);
                if b1 <= a || z <= b0 {
                    parts.push((a, z));
                } else {
                    if a < b0 {
                        parts.push((a, b0));
                    }
                    if b1 < z {
                        parts.push((b1, z));
                    }
                }
                parts
            })
            .collect();
    }
    free
}

/// A caregiver as dispatch sees them on the day.
#[derive(Debug, Clone, PartialEq)]
pub struct Caregiver<K> {
    /// Staff id.
    pub id: K,
    /// Item codes they may deliver.
    pub skills: Vec<String>,
    /// Holds a valid caregiver certificate.
    pub certified: bool,
    /// On a blacklist.
    pub blacklisted: bool,
    /// Working hours that day.
    pub shifts: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Where they start the day.
    pub start_at: Option<GeoPoint>,
}

/// An order to place.
#[derive(Debug, Clone, PartialEq)]
pub struct Order<K> {
    /// Order id.
    pub id: K,
    /// Item code.
    pub item: String,
    /// The item needs a certified caregiver.
    pub needs_certificate: bool,
    /// Earliest start.
    pub earliest: DateTime<Utc>,
    /// Latest start.
    pub latest: DateTime<Utc>,
    /// Minutes the visit takes.
    pub minutes: i64,
    /// The elder's home.
    pub home: Option<GeoPoint>,
}

/// An order placed with a caregiver at a start time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment<K> {
    /// Order.
    pub order: K,
    /// Caregiver.
    pub caregiver: K,
    /// Planned start.
    pub start: DateTime<Utc>,
}

/// Dispatch options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Travel speed assumed between homes, km/h.
    pub speed_kmh: i64,
    /// Minutes allowed between two visits however close.
    pub min_gap_minutes: i64,
}

impl Options {
    /// A city's planning assumptions: 20 km/h between homes (electric bicycle in traffic), at
    /// least 10 minutes between two visits.
    pub const CITY: Options = Options {
        speed_kmh: 20,
        min_gap_minutes: 10,
    };
}

struct Day<'a, K> {
    c: &'a Caregiver<K>,
    free_at: Option<DateTime<Utc>>,
    at: Option<GeoPoint>,
    load: usize,
}

fn travel(from: Option<GeoPoint>, to: Option<GeoPoint>, o: &Options) -> Duration {
    let metres = match (from, to) {
        (Some(a), Some(b)) => a.distance_m(b),
        _ => 0.0,
    };
    let seconds = metres / (o.speed_kmh.max(1) as f64 * 1000.0 / 3600.0);
    Duration::seconds(seconds.round() as i64).max(Duration::minutes(o.min_gap_minutes))
}

/// When `d` could start `order`, if at all.
fn earliest_start<K>(d: &Day<'_, K>, order: &Order<K>, o: &Options) -> Option<DateTime<Utc>> {
    let ready = match d.free_at {
        Some(t) => t + travel(d.at, order.home, o),
        None => order.earliest,
    };
    let start = ready.max(order.earliest);
    let end = start + Duration::minutes(order.minutes);
    let in_shift = d.c.shifts.iter().any(|(a, b)| *a <= start && end <= *b);
    (start <= order.latest && in_shift).then_some(start)
}

/// Assigns `orders` to `caregivers`; returns the assignments and the orders left with why.
pub fn plan<K: Clone + PartialEq>(
    orders: &[Order<K>],
    caregivers: &[Caregiver<K>],
    o: &Options,
) -> (Vec<Assignment<K>>, Vec<(K, String)>) {
    let mut days: Vec<Day<'_, K>> = caregivers
        .iter()
        .map(|c| Day {
            c,
            free_at: None,
            at: c.start_at,
            load: 0,
        })
        .collect();
    let mut sorted: Vec<&Order<K>> = orders.iter().collect();
    sorted.sort_by_key(|x| (x.earliest, x.latest));
    let (mut placed, mut left) = (Vec::new(), Vec::new());
    for order in sorted {
        let able: Vec<usize> = (0..days.len())
            .filter(|&i| {
                let c = days[i].c;
                !c.blacklisted
                    && c.skills.contains(&order.item)
                    && (c.certified || !order.needs_certificate)
            })
            .collect();
        if able.is_empty() {
            let why = if order.needs_certificate {
                "没有具备该项目技能且持证、未列入黑名单的护理员"
            } else {
                "没有具备该项目技能、未列入黑名单的护理员"
            };
            left.push((order.id.clone(), why.to_string()));
            continue;
        }
        let best = able
            .into_iter()
            .filter_map(|i| earliest_start(&days[i], order, o).map(|s| (i, s)))
            .min_by(|(a, _), (b, _)| {
                let (da, db) = (&days[*a], &days[*b]);
                let dist = |d: &Day<'_, K>| match (d.at, order.home) {
                    (Some(p), Some(h)) => p.distance_m(h),
                    _ => f64::MAX,
                };
                da.load.cmp(&db.load).then(dist(da).total_cmp(&dist(db)))
            });
        match best {
            Some((i, start)) => {
                let d = &mut days[i];
                d.free_at = Some(start + Duration::minutes(order.minutes));
                d.at = order.home;
                d.load += 1;
                placed.push(Assignment {
                    order: order.id.clone(),
                    caregiver: d.c.id.clone(),
                    start,
                });
            }
            None => left.push((
                order.id.clone(),
                "时段内没有空闲的护理员（已排满或不在班）".to_string(),
            )),
        }
    }
    (placed, left)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap()
    }

    fn p(km_north: f64) -> Option<GeoPoint> {
        Some(GeoPoint::new(27.85 + km_north / 111.195, 112.90).unwrap())
    }

    fn carer(id: u32, skills: &[&str], certified: bool) -> Caregiver<u32> {
        Caregiver {
            id,
            skills: skills.iter().map(|s| s.to_string()).collect(),
            certified,
            blacklisted: false,
            shifts: vec![(t(0, 0), t(9, 0))],
            start_at: p(0.0),
        }
    }

    fn order(id: u32, item: &str, h: u32, km: f64) -> Order<u32> {
        Order {
            id,
            item: item.into(),
            needs_certificate: false,
            earliest: t(h, 0),
            latest: t(h + 1, 0),
            minutes: 60,
            home: p(km),
        }
    }

    const OPT: Options = Options {
        speed_kmh: 30,
        min_gap_minutes: 10,
    };

    #[test]
    fn orders_go_to_the_least_loaded_skilled_caregiver_then_the_nearest() {
        let cs = vec![carer(1, &["助浴", "助洁"], true), carer(2, &["助洁"], true)];
        let mut bath = order(12, "助浴", 1, 1.0);
        bath.latest = t(3, 0);
        let os = vec![order(10, "助洁", 1, 1.0), order(11, "助洁", 1, 1.0), bath];
        let (placed, left) = plan(&os, &cs, &OPT);
        assert!(left.is_empty(), "{left:?}");
        let who: Vec<(u32, u32)> = placed.iter().map(|a| (a.order, a.caregiver)).collect();
        // 10 → 1 (tie on load, same distance: first), 11 → 2 (less loaded), 12 → 1 (only skill),
        // starting after 10 ends plus the minimum gap.
        assert_eq!(who, vec![(10, 1), (11, 2), (12, 1)]);
        assert_eq!(placed[2].start, t(2, 10));
    }

    #[test]
    fn an_item_needing_a_certificate_never_goes_to_an_uncertified_or_blacklisted_caregiver() {
        let mut banned = carer(2, &["护理"], true);
        banned.blacklisted = true;
        let cs = vec![carer(1, &["护理"], false), banned];
        let mut o = order(10, "护理", 1, 1.0);
        o.needs_certificate = true;
        let (placed, left) = plan(&[o], &cs, &OPT);
        assert!(placed.is_empty());
        assert_eq!(
            left,
            vec![(
                10,
                "没有具备该项目技能且持证、未列入黑名单的护理员".to_string()
            )]
        );
    }

    #[test]
    fn kept_visits_are_cut_out_of_the_shift_with_the_gap_around_them() {
        let shift = [(t(0, 0), t(9, 0))];
        let free = free_periods(&shift, &[(t(2, 0), t(3, 0))], Duration::minutes(10));
        assert_eq!(free, vec![(t(0, 0), t(1, 50)), (t(3, 10), t(9, 0))]);
        let none = free_periods(&shift, &[(t(0, 0), t(9, 0))], Duration::zero());
        assert!(none.is_empty());
        let after = free_periods(&shift, &[(t(10, 0), t(11, 0))], Duration::zero());
        assert_eq!(after, shift.to_vec());
    }

    #[test]
    fn the_default_shift_is_eight_to_six_china_time() {
        let (a, z) = default_shift(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
        assert_eq!((a, z), (t(0, 0), t(10, 0)));
    }

    #[test]
    fn travel_time_and_shifts_limit_what_one_caregiver_can_take() {
        let cs = vec![carer(1, &["助餐"], true)];
        // 15 km apart: 30 minutes at 30 km/h after the first visit ends at 2:00.
        let mut far = order(11, "助餐", 2, 15.0);
        far.latest = t(2, 20);
        let (placed, left) = plan(&[order(10, "助餐", 1, 0.0), far.clone()], &cs, &OPT);
        assert_eq!(placed.len(), 1, "cannot be there by 2:20");
        assert_eq!(left[0].0, 11);
        far.latest = t(3, 0);
        let (placed, _) = plan(&[order(10, "助餐", 1, 0.0), far], &cs, &OPT);
        assert_eq!(
            placed[1].start,
            t(2, 30),
            "starts when the caregiver can arrive"
        );
        // Outside the shift: left with the reason.
        let late = order(12, "助餐", 9, 0.0);
        let (_, left) = plan(&[late], &cs, &OPT);
        assert_eq!(left[0].1, "时段内没有空闲的护理员（已排满或不在班）");
    }
}
