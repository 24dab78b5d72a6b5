//! Fraud signals across many visits (listed for inspectors, not decided here): the same
//! coordinates reported from many different homes, one older person "served" by several
//! caregivers at the same time, visits to people already dead, and one-time confirmation codes
//! used more than once. Each signal names the visits behind it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::visit::GeoPoint;

/// A visit as the signals see it. `K` identifies visits, elders and caregivers.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRecord<K> {
    /// Visit id.
    pub id: K,
    /// Elder id.
    pub elder: K,
    /// Caregiver id.
    pub caregiver: K,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Check-in position.
    pub point: Option<GeoPoint>,
    /// The one-time confirmation code entered, if any.
    pub code: Option<String>,
}

/// One signal with the visits behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Signal<K> {
    /// One position (to about a metre) reported at the homes of `elders` different people.
    SharedCoordinates {
        /// The position, as text (`lat,lon` to five decimals).
        point: String,
        /// How many different elders.
        elders: usize,
        /// The visits.
        visits: Vec<K>,
    },
    /// One elder served by several caregivers whose visits overlap in time.
    SimultaneousCaregivers {
        /// The elder.
        elder: K,
        /// How many different caregivers overlap.
        caregivers: usize,
        /// The visits.
        visits: Vec<K>,
    },
    /// Visits after the elder's recorded death.
    AfterDeath {
        /// The elder.
        elder: K,
        /// Date of death.
        died_on: NaiveDate,
        /// The visits.
        visits: Vec<K>,
    },
    /// A one-time confirmation code entered on more than one visit.
    ReusedCode {
        /// The code.
        code: String,
        /// The visits.
        visits: Vec<K>,
    },
    /// A caregiver or provider whose check-outs were confirmed by a drawn signature alone
    /// unusually often (anyone holding the phone can draw one).
    SignatureOnlyShare {
        /// Caregiver or provider.
        party: Party,
        /// Its id.
        who: K,
        /// Checked-out visits in the month.
        checked_out: usize,
        /// Of which confirmed by a signature alone.
        signature_only: usize,
        /// Those visits (at most [`SIGNATURE_VISITS_LISTED`]).
        visits: Vec<K>,
    },
}

/// Who a [`Signal::SignatureOnlyShare`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Party {
    /// A caregiver.
    Caregiver,
    /// A provider.
    Provider,
}

/// A caregiver's or provider's check-outs in a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutCounts<K> {
    /// Caregiver or provider.
    pub party: Party,
    /// Its id.
    pub who: K,
    /// Visits checked out.
    pub checked_out: usize,
    /// Visits confirmed by a signature alone.
    pub signature_only: Vec<K>,
}

/// Fewest check-outs in a month before a share of signatures means anything.
pub const SIGNATURE_SHARE_MIN_VISITS: usize = 10;
/// Share of signature-only check-outs (percent) from which a party is listed. Where the
/// one-time code is the rule, families without a phone at hand are the exception, not a
/// third of a caregiver's month.
pub const SIGNATURE_SHARE_PERCENT: usize = 30;
/// Visits listed under one signal.
pub const SIGNATURE_VISITS_LISTED: usize = 50;

/// Caregivers and providers with at least [`SIGNATURE_SHARE_MIN_VISITS`] check-outs of which
/// at least [`SIGNATURE_SHARE_PERCENT`] % were confirmed by a signature alone.
pub fn signature_only_share<K: Copy>(counts: &[CheckOutCounts<K>]) -> Vec<Signal<K>> {
    counts
        .iter()
        .filter(|c| {
            c.checked_out >= SIGNATURE_SHARE_MIN_VISITS
                && c.signature_only.len() * 100 >= SIGNATURE_SHARE_PERCENT * c.checked_out
        })
        .map(|c| Signal::SignatureOnlyShare {
            party: c.party,
            who: c.who,
            checked_out: c.checked_out,
            signature_only: c.signature_only.len(),
            visits: c
                .signature_only
                .iter()
                .take(SIGNATURE_VISITS_LISTED)
                .copied()
                .collect(),
        })
        .collect()
}

/// Positions (rounded to five decimals, about a metre) reported at the homes of at least
/// `min_elders` different people.
pub fn shared_coordinates<K: Copy + Ord + Hash>(
    visits: &[VisitRecord<K>],
    min_elders: usize,
) -> Vec<Signal<K>> {
    let mut by_point: BTreeMap<(i64, i64), (BTreeSet<K>, Vec<K>)> = BTreeMap::new();
    for v in visits {
        if let Some(p) = v.point {
            let key = ((p.lat * 1e5).round() as i64, (p.lon * 1e5).round() as i64);
            let e = by_point.entry(key).or_default();
            e.0.insert(v.elder);
            e.1.push(v.id);
        }
    }
    by_point
        .into_iter()
        .filter(|(_, (elders, _))| elders.len() >= min_elders.max(2))
        .map(|((lat, lon), (elders, visits))| Signal::SharedCoordinates {
            point: format!("{:.5},{:.5}", lat as f64 / 1e5, lon as f64 / 1e5),
            elders: elders.len(),
            visits,
        })
        .collect()
}

/// Elders with visits by different caregivers that overlap in time.
pub fn simultaneous_caregivers<K: Copy + Ord + Hash>(visits: &[VisitRecord<K>]) -> Vec<Signal<K>> {
    let mut by_elder: BTreeMap<K, Vec<&VisitRecord<K>>> = BTreeMap::new();
    for v in visits {
        by_elder.entry(v.elder).or_default().push(v);
    }
    let mut out = Vec::new();
    for (elder, mut vs) in by_elder {
        vs.sort_by_key(|v| (v.start, v.end));
        let (mut caregivers, mut involved) = (BTreeSet::new(), BTreeSet::new());
        // Sweep: each visit against those still running when it starts.
        for (i, v) in vs.iter().enumerate() {
            for w in vs[..i].iter().filter(|w| w.end > v.start) {
                if w.caregiver != v.caregiver {
                    caregivers.extend([w.caregiver, v.caregiver]);
                    involved.extend([w.id, v.id]);
                }
            }
        }
        if !involved.is_empty() {
            out.push(Signal::SimultaneousCaregivers {
                elder,
                caregivers: caregivers.len(),
                visits: involved.into_iter().collect(),
            });
        }
    }
    out
}

/// Visits that started (China date) after the elder's death.
pub fn after_death<K: Copy + Ord + Hash>(
    visits: &[VisitRecord<K>],
    deaths: &HashMap<K, NaiveDate>,
) -> Vec<Signal<K>> {
    let mut by_elder: BTreeMap<K, Vec<K>> = BTreeMap::new();
    for v in visits {
        if let Some(d) = deaths.get(&v.elder)
            && crate::clock::china_date(v.start) > *d
        {
            by_elder.entry(v.elder).or_default().push(v.id);
        }
    }
    by_elder
        .into_iter()
        .map(|(elder, visits)| Signal::AfterDeath {
            elder,
            died_on: deaths[&elder],
            visits,
        })
        .collect()
}

/// One-time codes entered on more than one visit.
pub fn reused_codes<K: Copy + Ord + Hash>(visits: &[VisitRecord<K>]) -> Vec<Signal<K>> {
    let mut by_code: BTreeMap<&str, Vec<K>> = BTreeMap::new();
    for v in visits {
        if let Some(c) = v.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            by_code.entry(c).or_default().push(v.id);
        }
    }
    by_code
        .into_iter()
        .filter(|(_, visits)| visits.len() > 1)
        .map(|(code, visits)| Signal::ReusedCode {
            code: code.to_string(),
            visits,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap()
    }

    fn visit(id: u32, elder: u32, caregiver: u32, start: DateTime<Utc>) -> VisitRecord<u32> {
        VisitRecord {
            id,
            elder,
            caregiver,
            start,
            end: start + Duration::minutes(60),
            point: Some(GeoPoint::new(27.85 + elder as f64 * 0.001, 112.90).unwrap()),
            code: Some(format!("C{id}")),
        }
    }

    #[test]
    fn one_position_reported_from_many_homes_is_a_signal() {
        let spot = GeoPoint::new(27.84321, 112.91234).unwrap();
        let mut vs: Vec<_> = (1..=5).map(|n| visit(n, n, 9, t(1, 0))).collect();
        for v in vs.iter_mut().take(4) {
            // The same reading, to within a few centimetres.
            v.point = Some(GeoPoint::new(spot.lat + 0.000_000_3, spot.lon).unwrap());
        }
        let s = shared_coordinates(&vs, 3);
        assert_eq!(
            s,
            vec![Signal::SharedCoordinates {
                point: "27.84321,112.91234".into(),
                elders: 4,
                visits: vec![1, 2, 3, 4]
            }]
        );
        assert!(shared_coordinates(&vs, 5).is_empty());
        // Many visits to one home from one spot are normal.
        let same_home: Vec<_> = (1..=6).map(|n| visit(n, 1, 9, t(n, 0))).collect();
        assert!(shared_coordinates(&same_home, 2).is_empty());
    }

    #[test]
    fn one_elder_served_by_two_caregivers_at_once_is_a_signal() {
        let vs = vec![
            visit(1, 7, 100, t(1, 0)),
            visit(2, 7, 200, t(1, 30)),
            visit(3, 7, 100, t(3, 0)),
            visit(4, 8, 300, t(1, 0)),
            visit(5, 8, 300, t(1, 30)),
        ];
        assert_eq!(
            simultaneous_caregivers(&vs),
            vec![Signal::SimultaneousCaregivers {
                elder: 7,
                caregivers: 2,
                visits: vec![1, 2]
            }],
            "the same caregiver overlapping itself is another rule (overlap), not this signal"
        );
        let back_to_back = vec![visit(1, 7, 100, t(1, 0)), visit(2, 7, 200, t(2, 0))];
        assert!(simultaneous_caregivers(&back_to_back).is_empty());
    }

    #[test]
    fn visits_after_a_recorded_death_are_a_signal() {
        let died = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        let vs = vec![
            visit(1, 7, 100, t(1, 0)),
            // 2026-11-19 15:00 UTC is 23:00 in China on the day of death: not after.
            visit(2, 7, 100, t(1, 0) - Duration::hours(10)),
            visit(3, 8, 100, t(2, 0)),
        ];
        let deaths = HashMap::from([(7, died)]);
        assert_eq!(
            after_death(&vs, &deaths),
            vec![Signal::AfterDeath {
                elder: 7,
                died_on: died,
                visits: vec![1]
            }]
        );
    }

    #[test]
    fn a_one_time_code_used_twice_is_a_signal() {
        let mut vs = vec![
            visit(1, 7, 100, t(1, 0)),
            visit(2, 8, 100, t(2, 0)),
            visit(3, 9, 100, t(3, 0)),
        ];
        vs[1].code = Some("C1".into());
        vs[2].code = None;
        assert_eq!(
            reused_codes(&vs),
            vec![Signal::ReusedCode {
                code: "C1".into(),
                visits: vec![1, 2]
            }]
        );
    }

    #[test]
    fn a_caregiver_confirming_a_third_of_a_month_by_signature_alone_is_a_signal() {
        let counts = |party, who, checked_out, sig: u32| CheckOutCounts {
            party,
            who,
            checked_out,
            signature_only: (0..sig).collect(),
        };
        let found = signature_only_share(&[
            counts(Party::Caregiver, 1, 20, 6),
            counts(Party::Caregiver, 2, 20, 5),
            counts(Party::Caregiver, 3, 9, 9),
            counts(Party::Provider, 4, 100, 30),
        ]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(matches!(
            found[0],
            Signal::SignatureOnlyShare {
                party: Party::Caregiver,
                who: 1,
                checked_out: 20,
                signature_only: 6,
                ..
            }
        ));
        assert!(matches!(
            found[1],
            Signal::SignatureOnlyShare {
                party: Party::Provider,
                who: 4,
                ..
            }
        ));
    }
}
