use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;

/// 雨湖区, a home.
fn home() -> GeoPoint {
    GeoPoint::new(27.8560, 112.9070).unwrap()
}

/// `m` metres north of home.
fn north(m: f64) -> GeoPoint {
    GeoPoint::new(27.8560 + m / 111_195.0, 112.9070).unwrap()
}

fn t(h: u32, m: u32) -> DateTime<Utc> {
    // 2026-11-20, Beijing morning (UTC+8).
    Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap()
}

fn online(at: DateTime<Utc>, point: Option<GeoPoint>) -> Stamp {
    Stamp {
        at,
        device_at: at + Duration::seconds(20),
        received_at: at,
        point,
        offline: false,
    }
}

fn clean() -> VisitFacts {
    VisitFacts {
        min_minutes: 30,
        home: Some(home()),
        check_in: Some(online(t(1, 0), Some(north(30.0)))),
        check_out: Some(online(t(1, 45), Some(north(40.0)))),
        confirmation: Confirmation::Code { matched: true },
        caregiver_active: true,
        elder_active: true,
        within_quota: true,
    }
}

fn codes(v: &VisitFacts, others: &[OtherVisit]) -> Vec<ExceptionCode> {
    verify(v, others, &VisitRules::default())
        .into_iter()
        .map(|f| f.code)
        .collect()
}

#[test]
fn a_visit_that_keeps_every_rule_is_verified() {
    assert!(codes(&clean(), &[]).is_empty());
}

#[test]
fn a_visit_without_check_in_or_check_out_is_an_exception() {
    let mut v = clean();
    v.check_in = None;
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::NoCheckIn]);
    let mut v = clean();
    v.check_out = None;
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::NoCheckOut]);
}

#[test]
fn a_missing_position_is_an_exception_never_silently_accepted() {
    let mut v = clean();
    v.check_out = Some(online(t(1, 45), None));
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::NoLocation]);
    let mut v = clean();
    v.home = None;
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::NoHome]);
}

#[test]
fn check_in_and_check_out_must_lie_within_the_radius_of_the_home() {
    let mut v = clean();
    v.check_in = Some(online(t(1, 0), Some(north(199.0))));
    assert!(codes(&v, &[]).is_empty(), "199 m is inside 200 m");
    v.check_in = Some(online(t(1, 0), Some(north(260.0))));
    let f = verify(&v, &[], &VisitRules::default());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].code, ExceptionCode::TooFar);
    assert!(f[0].detail.contains("260 米"), "{}", f[0].detail);
    let mut v = clean();
    v.check_out = Some(online(t(1, 45), Some(north(900.0))));
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::TooFar]);
}

#[test]
fn a_visit_shorter_than_the_items_minimum_is_an_exception() {
    let mut v = clean();
    v.check_out = Some(online(t(1, 29), Some(north(40.0))));
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::TooShort]);
    v.check_out = Some(online(t(1, 30), Some(north(40.0))));
    assert!(codes(&v, &[]).is_empty(), "exactly the minimum is enough");
}

#[test]
fn a_visit_overlapping_another_of_the_same_caregiver_is_an_exception() {
    let other = OtherVisit {
        start: t(1, 40),
        end: t(2, 20),
        start_point: Some(north(100.0)),
        end_point: Some(north(100.0)),
    };
    assert_eq!(codes(&clean(), &[other]), vec![ExceptionCode::Overlap]);
    let touching = OtherVisit {
        start: t(1, 45),
        ..other
    };
    assert!(
        codes(&clean(), &[touching]).is_empty(),
        "ending as the next begins is no overlap"
    );
}

#[test]
fn travel_between_consecutive_visits_must_be_possible_at_the_regions_speed() {
    // 6 km away, ended 5 minutes before this check-in: 40 km/h needs 9 minutes.
    let before = OtherVisit {
        start: t(0, 0),
        end: t(0, 55),
        start_point: Some(north(6_000.0)),
        end_point: Some(north(6_000.0)),
    };
    let f = verify(&clean(), &[before], &VisitRules::default());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].code, ExceptionCode::ImpossibleTravel);
    assert!(f[0].detail.contains("至少需要 9 分钟"), "{}", f[0].detail);
    // Ended 15 minutes before: possible.
    let earlier = OtherVisit {
        end: t(0, 45),
        ..before
    };
    assert!(codes(&clean(), &[earlier]).is_empty());
    // The next visit, 6 km away, starting 3 minutes after check-out.
    let after = OtherVisit {
        start: t(1, 48),
        end: t(2, 30),
        start_point: Some(north(6_000.0)),
        end_point: Some(north(6_000.0)),
    };
    assert_eq!(
        codes(&clean(), &[after]),
        vec![ExceptionCode::ImpossibleTravel]
    );
    // A neighbour in the same building needs no travel time.
    let next_door = OtherVisit {
        start: t(1, 45),
        end: t(2, 30),
        start_point: Some(north(60.0)),
        end_point: Some(north(60.0)),
    };
    assert!(codes(&clean(), &[next_door]).is_empty());
}

#[test]
fn the_caregiver_the_elder_and_the_quota_must_all_hold_on_the_day() {
    let mut v = clean();
    v.caregiver_active = false;
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::CaregiverInactive]);
    let mut v = clean();
    v.elder_active = false;
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::ElderNotActive]);
    let mut v = clean();
    v.within_quota = false;
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::OverQuota]);
}

#[test]
fn the_elders_confirmation_must_be_present_and_match() {
    let mut v = clean();
    v.confirmation = Confirmation::Missing;
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::NoConfirmation]);
    v.confirmation = Confirmation::Code { matched: false };
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::BadConfirmation]);
    v.confirmation = Confirmation::Signature;
    assert_eq!(
        codes(&v, &[]),
        vec![ExceptionCode::SignatureOnly],
        "by default a signature alone goes to a reviewer"
    );
}

#[test]
fn a_signature_without_the_code_is_accepted_reviewed_or_refused_as_the_region_says() {
    let mut v = clean();
    v.confirmation = Confirmation::Signature;
    let under = |s: SignatureOnly| {
        let rules = VisitRules {
            signature_only: s,
            ..VisitRules::default()
        };
        verify(&v, &[], &rules)
            .into_iter()
            .map(|f| f.code)
            .collect::<Vec<_>>()
    };
    assert!(under(SignatureOnly::Accept).is_empty());
    assert_eq!(
        under(SignatureOnly::Review),
        vec![ExceptionCode::SignatureOnly]
    );
    assert_eq!(
        under(SignatureOnly::Refuse),
        vec![ExceptionCode::SignatureRefused]
    );
    assert!(ExceptionCode::SignatureOnly.acceptable_on_review());
    assert!(!ExceptionCode::SignatureRefused.acceptable_on_review());
}

#[test]
fn a_phone_clock_far_from_the_servers_is_flagged() {
    let mut v = clean();
    let mut s = online(t(1, 0), Some(north(30.0)));
    s.device_at = s.received_at - Duration::minutes(11);
    v.check_in = Some(s);
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::ClockSkew]);
    s.device_at = s.received_at - Duration::minutes(10);
    v.check_in = Some(s);
    assert!(codes(&v, &[]).is_empty(), "ten minutes is allowed");
}

#[test]
fn an_offline_record_is_always_flagged_and_a_late_one_says_so() {
    let mut v = clean();
    let mut s = online(t(1, 45), Some(north(40.0)));
    s.offline = true;
    s.device_at = s.at;
    s.received_at = s.at + Duration::hours(3);
    v.check_out = Some(s);
    assert_eq!(codes(&v, &[]), vec![ExceptionCode::OfflineSync]);
    s.received_at = s.at + Duration::hours(30);
    v.check_out = Some(s);
    let f = verify(&v, &[], &VisitRules::default());
    assert_eq!(f[0].code, ExceptionCode::LateSync);
    assert!(f[0].detail.contains("30 小时"), "{}", f[0].detail);
}

#[test]
fn positions_out_of_range_or_without_a_fix_are_refused() {
    assert!(GeoPoint::new(91.0, 112.0).is_err());
    assert!(GeoPoint::new(27.0, -181.0).is_err());
    assert!(GeoPoint::new(f64::NAN, 112.0).is_err());
    assert_eq!(GeoPoint::new(0.0, 0.0), Err("手机没有取得定位（0, 0）"));
    assert!(GeoPoint::new(27.85, 112.90).is_ok());
}

#[test]
fn a_signature_must_be_a_small_png_with_a_size() {
    // The smallest header: magic, IHDR length and type, 300 x 120, bit depth and the rest.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&300u32.to_be_bytes());
    png.extend_from_slice(&120u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(super::check_signature_png(&png), Ok(()));
    assert!(super::check_signature_png(b"GIF89a not a png at all, but long enough").is_err());
    let mut empty = png.clone();
    empty[16..20].copy_from_slice(&0u32.to_be_bytes());
    assert!(super::check_signature_png(&empty).is_err());
    let mut huge = png.clone();
    huge.resize(super::MAX_SIGNATURE_BYTES + 1, 0);
    assert!(
        super::check_signature_png(&huge)
            .unwrap_err()
            .contains("过大")
    );
}
