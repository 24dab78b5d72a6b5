//! Recurring service plans (服务计划): lunch every weekday, a bath every Tuesday. A plan names
//! the weekdays and the start time; orders are generated for the days ahead, a fixed horizon at
//! a time, so quota and cancellations apply to each day as to any order.

use chrono::{Datelike, Duration, NaiveDate};

/// Orders are generated this many days ahead (today included).
pub const HORIZON_DAYS: i64 = 14;

/// Weekdays as bits: Monday is bit 0, Sunday bit 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekdays(u8);

const NAMES: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

impl Weekdays {
    /// From stored bits; `None` for no day or bits beyond Sunday.
    pub fn from_bits(bits: i64) -> Option<Self> {
        (1..128).contains(&bits).then_some(Weekdays(bits as u8))
    }

    /// From day numbers 1 (Monday) to 7 (Sunday), as a form sends them.
    pub fn from_days(days: &[u32]) -> Option<Self> {
        let bits = days
            .iter()
            .filter(|d| (1..=7).contains(*d))
            .fold(0u8, |b, d| b | 1 << (d - 1));
        Self::from_bits(i64::from(bits))
    }

    /// Day numbers 1 (Monday) to 7 (Sunday), in order.
    pub fn days(self) -> Vec<u32> {
        (0..7u32)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| i + 1)
            .collect()
    }

    /// Stored bits.
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// Whether `day` falls on one of the weekdays.
    pub fn has(self, day: NaiveDate) -> bool {
        self.0 & (1 << day.weekday().num_days_from_monday()) != 0
    }

    /// "周一、周三、周五"; "每天" for all seven; "工作日" for Monday to Friday.
    pub fn label(self) -> String {
        match self.0 {
            0b111_1111 => "每天".into(),
            0b001_1111 => "工作日".into(),
            b => (0..7)
                .filter(|i| b & (1 << i) != 0)
                .map(|i| NAMES[i])
                .collect::<Vec<_>>()
                .join("、"),
        }
    }
}

/// The plan's days from `from` through `through`, inside its own start and end.
pub fn days(
    w: Weekdays,
    start_on: NaiveDate,
    end_on: Option<NaiveDate>,
    from: NaiveDate,
    through: NaiveDate,
) -> Vec<NaiveDate> {
    let first = from.max(start_on);
    let last = end_on.map_or(through, |e| e.min(through));
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        if w.has(d) {
            out.push(d);
        }
        d += Duration::days(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn a_tuesday_plan_yields_only_tuesdays_within_its_dates() {
        let tue = Weekdays::from_days(&[2]).unwrap();
        // 2026-11-24 is a Tuesday.
        let got = days(tue, d(11, 20), Some(d(12, 8)), d(11, 23), d(12, 31));
        assert_eq!(got, vec![d(11, 24), d(12, 1), d(12, 8)]);
    }

    #[test]
    fn weekdays_reject_no_day_and_label_common_patterns() {
        assert_eq!(Weekdays::from_days(&[]), None);
        assert_eq!(Weekdays::from_days(&[9]), None);
        assert_eq!(
            Weekdays::from_days(&[1, 2, 3, 4, 5]).unwrap().label(),
            "工作日"
        );
        assert_eq!(
            Weekdays::from_days(&[1, 2, 3, 4, 5, 6, 7]).unwrap().label(),
            "每天"
        );
        assert_eq!(Weekdays::from_days(&[1, 3]).unwrap().label(), "周一、周三");
        assert_eq!(Weekdays::from_bits(0), None);
        assert_eq!(Weekdays::from_bits(128), None);
    }
}
