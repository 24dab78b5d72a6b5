//! Rating rules: the sheet's sums, every threshold at its boundary, the per-part minimum, the
//! request and the two-year bar.

use super::*;

const DEFAULT: &str = "360:40,450:50,570:60,780:80,900:90";

fn t() -> Thresholds {
    Thresholds::parse(DEFAULT).unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Scores with every part at `percent` of its maximum, then `extra` tenths added to service.
fn at_percent(percent: i64, extra: i64) -> PartScores {
    PartScores {
        environment: 120 * percent / 10,
        equipment: 130 * percent / 10,
        operations: 150 * percent / 10,
        service: 600 * percent / 10 + extra,
    }
}

#[test]
fn the_sheet_items_sum_to_the_standards_part_maxima_and_1000_points() {
    for &p in Part::ALL {
        let sum: i64 = SHEET
            .iter()
            .filter(|i| i.part == p)
            .map(|i| i.max_points)
            .sum();
        assert_eq!(sum, p.max_points(), "{p:?}");
    }
    assert_eq!(SHEET.iter().map(|i| i.max_points).sum::<i64>(), 1000);
}

#[test]
fn each_level_is_met_at_its_minimum_total_and_missed_a_tenth_of_a_point_below() {
    let th = t();
    for level in Level::ALL {
        let need = th.of(level);
        // Parts exactly at the level's share; service topped up so the total is exactly the
        // minimum total (never below the share).
        let base = at_percent(need.min_part_percent, 0);
        let extra = (need.min_total * 10 - base.total()).max(0);
        let exact = PartScores {
            service: base.service + extra,
            ..base
        };
        assert_eq!(exact.total().max(need.min_total * 10), exact.total());
        assert!(
            exact.shortfalls(level, &th).is_empty(),
            "{level:?} {exact:?}"
        );
        if extra > 0 {
            let below = PartScores {
                service: exact.service - 1,
                ..exact
            };
            let s = below.shortfalls(level, &th);
            assert_eq!(s.len(), 1, "{level:?}: {s:?}");
            assert!(s[0].starts_with("总分"), "{s:?}");
        }
    }
}

#[test]
fn a_part_below_its_share_fails_the_level_whatever_the_total() {
    let th = t();
    // 五级: total 1000 would pass, but environment at 89.9% of 120 = 107.9 fails.
    let s = PartScores {
        environment: 1079,
        equipment: 1300,
        operations: 1500,
        service: 6000,
    };
    assert!(s.total() >= 9000);
    let why = s.shortfalls(Level::new(5).unwrap(), &th);
    assert_eq!(why, ["环境 107.9 分，低于满分 120 的 90%"]);
    assert_eq!(s.highest_met(&th), Level::new(4));
    // Exactly 90% (108) passes.
    let ok = PartScores {
        environment: 1080,
        ..s
    };
    assert_eq!(ok.highest_met(&th), Level::new(5));
}

#[test]
fn each_part_minimum_is_checked_at_every_level() {
    let th = t();
    for level in Level::ALL {
        let pct = th.of(level).min_part_percent;
        for &p in Part::ALL {
            let mut s = PartScores {
                environment: 1200,
                equipment: 1300,
                operations: 1500,
                service: 6000,
            };
            let at = pct * p.max_points() / 10; // tenths: max * 10 * pct / 100
            *s.part_mut(p) = at;
            assert!(
                s.shortfalls(level, &th).is_empty(),
                "{level:?} {p:?} at share"
            );
            *s.part_mut(p) = at - 1;
            let why = s.shortfalls(level, &th);
            assert!(
                why.iter().any(|w| w.starts_with(p.label())),
                "{level:?} {p:?} {why:?}"
            );
        }
    }
}

#[test]
fn the_decision_grants_at_most_the_requested_level_and_marks_a_shortfall_as_failed() {
    let th = t();
    let four = Level::new(4).unwrap();
    let strong = at_percent(95, 0);
    let o = decide(&strong, &th, Level::new(3).unwrap());
    assert_eq!((o.granted, o.failed), (Level::new(3), false));
    let mid = at_percent(65, 0); // 650 points, every part 65%: 三级
    let o = decide(&mid, &th, four);
    assert_eq!(
        (o.granted, o.met, o.failed),
        (Level::new(3), Level::new(3), true)
    );
    assert!(
        o.reasons
            .iter()
            .any(|r| r.contains("未达到申请的四级，评定为三级")),
        "{o:?}"
    );
    let weak = at_percent(30, 0);
    let o = decide(&weak, &th, Level::new(1).unwrap());
    assert_eq!((o.granted, o.failed), (None, true));
}

fn prereq() -> Prerequisites {
    Prerequisites {
        filed: true,
        opened_on: Some(d("2024-01-01")),
        min_operating_months: 12,
        credit_bar: None,
        rated_before: true,
        first_time_cap: None,
        failures: vec![],
        bar_years: 2,
        open_application: false,
    }
}

#[test]
fn a_failed_level_cannot_be_applied_for_again_within_two_years_but_a_lower_one_can() {
    let mut p = prereq();
    p.failures = vec![(d("2025-03-10"), Level::new(4).unwrap())];
    let four = Level::new(4).unwrap();
    let five = Level::new(5).unwrap();
    let three = Level::new(3).unwrap();
    let r = refusals(&p, four, d("2027-03-09"));
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "requested_level");
    assert!(r[0].1.contains("2027-03-10 前不能再申请四级"), "{r:?}");
    assert!(!refusals(&p, five, d("2027-03-09")).is_empty());
    assert!(refusals(&p, three, d("2027-03-09")).is_empty());
    assert!(refusals(&p, four, d("2027-03-10")).is_empty());
}

#[test]
fn prerequisites_and_the_first_time_cap_refuse_with_reasons() {
    let mut p = prereq();
    p.opened_on = Some(d("2026-01-01"));
    p.filed = false;
    p.credit_bar = Some("存在重大行政处罚（湘潭市民政局，潭民罚决字〔2026〕3号）".into());
    p.rated_before = false;
    p.first_time_cap = Level::new(3);
    let r = refusals(&p, Level::new(4).unwrap(), d("2026-11-23"));
    let words: Vec<&str> = r.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(r.len(), 4, "{words:?}");
    assert!(words.iter().any(|w| w.contains("尚未备案")));
    assert!(words.iter().any(|w| w.contains("开业不满 12 个月")));
    assert!(words.iter().any(|w| w.contains("重大行政处罚")));
    assert!(
        words
            .iter()
            .any(|w| w.contains("首次参加评定最高可申请三级"))
    );
    // Exactly 12 months after opening is enough.
    let mut ok = prereq();
    ok.opened_on = Some(d("2025-11-23"));
    assert!(refusals(&ok, Level::new(2).unwrap(), d("2026-11-23")).is_empty());
}

#[test]
fn thresholds_parse_and_refuse_a_table_that_asks_less_of_a_higher_level() {
    assert_eq!(
        t().of(Level::new(3).unwrap()),
        Threshold {
            min_total: 570,
            min_part_percent: 60
        }
    );
    assert!(Thresholds::parse("360:40,450:50,570:60,780:80").is_err());
    assert!(
        Thresholds::parse("360:40,450:50,570:60,500:80,900:90")
            .unwrap_err()
            .contains("第 4 组")
    );
    assert!(Thresholds::parse("360:40,450:50,570:60,780:80,900:101").is_err());
}

#[test]
fn scores_parse_in_tenths_and_items_above_their_maximum_are_refused() {
    assert_eq!(parse_tenths("8.5"), Some(85));
    assert_eq!(parse_tenths("12"), Some(120));
    assert_eq!(parse_tenths("8.55"), None);
    assert_eq!(parse_tenths("-1"), None);
    assert_eq!(parse_tenths("abc"), None);
    assert_eq!(tenths(875), "87.5");
    assert!(check_item("E1", 100).is_ok());
    assert_eq!(
        check_item("E1", 101).unwrap_err(),
        "得分 10.1 超过该项满分 10"
    );
    assert!(check_item("Z9", 1).is_err());
    assert_eq!(valid_until(d("2026-11-23"), 3), d("2029-11-22"));
}
