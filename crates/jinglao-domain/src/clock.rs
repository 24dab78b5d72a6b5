//! Time: a clock that tests can move, and the conversion to the time shown on screen.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, FixedOffset, Utc};

/// Where "now" comes from. Production uses [`SystemClock`]; tests use [`ManualClock`] to
/// cross lockout and session time-outs without sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, truncated to microseconds (the precision both databases keep).
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        crate::audit::truncate_to_micros(Utc::now())
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock stopped at the current system time.
    pub fn starting_now() -> Self {
        ManualClock(Arc::new(Mutex::new(SystemClock.now())))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// China Standard Time (UTC+8; no daylight saving since 1991), the zone of every screen.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The calendar date in China at a UTC instant: the "today" of every date check, since
/// between 16:00 and 24:00 UTC the date in China is already the next day.
pub fn china_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&china_offset()).date_naive()
}

/// Formats a UTC time as Beijing time, e.g. `2026-11-23 08:30:05`.
pub fn format_local(t: DateTime<Utc>) -> String {
    t.with_timezone(&china_offset())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Formats a UTC time as Beijing time of day, e.g. `08:30` (visit windows, shifts).
pub fn format_local_hm(t: DateTime<Utc>) -> String {
    t.with_timezone(&china_offset()).format("%H:%M").to_string()
}

/// The UTC instant of a Beijing date and time of day (a fixed offset: never ambiguous).
pub fn china_time(day: chrono::NaiveDate, t: chrono::NaiveTime) -> DateTime<Utc> {
    (day.and_time(t) - chrono::Duration::hours(8)).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beijing_date_and_time_converts_to_utc_and_back() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let t = china_time(day, chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap());
        assert_eq!(t.to_rfc3339(), "2026-11-23T23:30:00+00:00");
        assert_eq!(
            (china_date(t), format_local_hm(t)),
            (day, "07:30".to_string())
        );
    }

    #[test]
    fn screen_times_are_beijing_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T16:30:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_local(t), "2026-11-23 00:30:05");
    }

    #[test]
    fn the_date_in_china_turns_at_sixteen_hundred_utc() {
        let before = DateTime::parse_from_rfc3339("2026-11-23T15:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        let after = DateTime::parse_from_rfc3339("2026-11-23T16:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(china_date(before).to_string(), "2026-11-23");
        assert_eq!(china_date(after).to_string(), "2026-11-24");
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let c = ManualClock::starting_now();
        let t0 = c.now();
        c.advance(Duration::minutes(31));
        assert_eq!(c.now() - t0, Duration::minutes(31));
    }
}
