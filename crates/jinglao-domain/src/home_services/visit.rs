//! Visit verification (上门服务电子核验): the rules one visit is checked against before it can be
//! paid. A visit carries the six elements (service, recipient, caregiver, date, location at
//! check-in and check-out, start and end time) and the older person's confirmation; each
//! broken rule yields a [`Finding`] with a stable reason code, and a visit with any finding goes
//! to the exception queue for a reviewer instead of being accepted silently.
//!
//! Times are the server's: an online stamp's time is when the server received it (the phone's
//! own clock is kept only to flag a phone far off); an offline stamp's time is the phone's, and
//! the record is always flagged for review.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::labelled_enum;

/// A position, checked for range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GeoPoint {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

impl GeoPoint {
    /// A point from a phone's reading: finite, in range, and not the (0, 0) that phones report
    /// when they have no fix.
    pub fn new(lat: f64, lon: f64) -> Result<GeoPoint, &'static str> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err("定位数据无效");
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err("纬度应在 -90 到 90 之间");
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err("经度应在 -180 到 180 之间");
        }
        if lat == 0.0 && lon == 0.0 {
            return Err("手机没有取得定位（0, 0）");
        }
        Ok(GeoPoint { lat, lon })
    }

    /// Great-circle distance in metres.
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        crate::facility::distance_m(self.lat, self.lon, other.lat, other.lon)
    }
}

/// The per-region rules (policy parameters `visit.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitRules {
    /// Largest distance from the registered home at check-in and check-out, metres.
    pub radius_m: i64,
    /// Fastest plausible travel between consecutive visits, km/h.
    pub max_speed_kmh: i64,
    /// Largest difference between the phone's clock and the server's, minutes.
    pub max_clock_skew_minutes: i64,
    /// Hours after the visit within which an offline record counts as synced on time.
    pub late_sync_hours: i64,
    /// What a signature without the one-time code counts for.
    pub signature_only: SignatureOnly,
}

labelled_enum! {
    /// What a drawn signature counts for when the person gave no one-time code (policy
    /// parameter `visit.signature_only`). Anyone holding the phone can draw one, so by default
    /// it sends the visit to a reviewer rather than to payment.
    pub enum SignatureOnly {
        /// It confirms the visit.
        Accept = ("accept", "签名即可确认"),
        /// The visit goes to the exception queue; a reviewer may accept it.
        Review = ("review", "转人工核查"),
        /// It does not confirm the visit, and no reviewer may accept it.
        Refuse = ("refuse", "不予认可"),
    }
}

impl Default for VisitRules {
    fn default() -> Self {
        VisitRules {
            radius_m: 200,
            max_speed_kmh: 40,
            max_clock_skew_minutes: 10,
            late_sync_hours: 24,
            signature_only: SignatureOnly::Review,
        }
    }
}

/// One end of a visit as recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    /// The time that counts: the server's receipt when online, the phone's clock when offline.
    pub at: DateTime<Utc>,
    /// The phone's clock as sent.
    pub device_at: DateTime<Utc>,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    /// Position, if the phone had one.
    pub point: Option<GeoPoint>,
    /// Recorded without a connection and synced later.
    pub offline: bool,
}

/// The older person's confirmation of the visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// None given.
    Missing,
    /// A one-time code, and whether it matched the one issued for this visit.
    Code {
        /// It matched.
        matched: bool,
    },
    /// A signature on the caregiver's phone.
    Signature,
}

/// What is known about one visit when it is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitFacts {
    /// The item's minimum duration, minutes (0: none).
    pub min_minutes: i64,
    /// The elder's registered location.
    pub home: Option<GeoPoint>,
    /// Check-in.
    pub check_in: Option<Stamp>,
    /// Check-out.
    pub check_out: Option<Stamp>,
    /// The elder's confirmation.
    pub confirmation: Confirmation,
    /// The caregiver held a contract with the provider on the day.
    pub caregiver_active: bool,
    /// The elder was registered and alive on the day.
    pub elder_active: bool,
    /// The visit fits in the month's remaining quota of its funding source.
    pub within_quota: bool,
}

/// Another visit of the same caregiver (for overlap and travel).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OtherVisit {
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Where it started.
    pub start_point: Option<GeoPoint>,
    /// Where it ended.
    pub end_point: Option<GeoPoint>,
}

labelled_enum! {
    /// Why a visit went to the exception queue (stable codes: reviewers filter on them).
    pub enum ExceptionCode {
        /// No check-in.
        NoCheckIn = ("no_check_in", "没有签到"),
        /// No check-out.
        NoCheckOut = ("no_check_out", "没有签退"),
        /// A stamp without a position.
        NoLocation = ("no_location", "签到或签退没有定位"),
        /// The elder has no registered location to compare with.
        NoHome = ("no_home", "老人没有登记住址坐标，无法核对位置"),
        /// Too far from home.
        TooFar = ("too_far", "签到或签退位置离老人住址太远"),
        /// Shorter than the item's minimum.
        TooShort = ("too_short", "服务时长不足"),
        /// Overlaps another visit of the same caregiver.
        Overlap = ("overlap", "与该护理员的其他服务时间重叠"),
        /// Could not have got here from the previous visit, or to the next.
        ImpossibleTravel = ("impossible_travel", "与前后服务之间的路程在间隔时间内无法到达"),
        /// The caregiver had no contract with the provider on the day.
        CaregiverInactive = ("caregiver_inactive", "护理员当天不在该机构任职"),
        /// The elder had died or moved away.
        ElderNotActive = ("elder_not_active", "老人当天已故或已迁出"),
        /// Beyond the month's quota.
        OverQuota = ("over_quota", "超出本月服务额度"),
        /// No confirmation by the elder.
        NoConfirmation = ("no_confirmation", "缺少老人确认"),
        /// The confirmation code did not match.
        BadConfirmation = ("bad_confirmation", "老人确认码不符"),
        /// Only a drawn signature, no one-time code (the region sends such visits to review).
        SignatureOnly = ("signature_only", "只有签名、没有确认码，须人工核查"),
        /// Only a drawn signature, which the region does not accept as confirmation.
        SignatureRefused = ("signature_refused", "本地区不认可只凭签名确认，须有老人确认码"),
        /// The phone's clock is far from the server's.
        ClockSkew = ("clock_skew", "手机时间与服务器时间相差过大"),
        /// Recorded offline and synced later.
        OfflineSync = ("offline_sync", "离线记录，事后补传"),
        /// Synced later than allowed.
        LateSync = ("late_sync", "离线记录补传超过时限"),
    }
}

labelled_enum! {
    /// Why a reviewer corrected a visit's time by hand (a reason code from a fixed list, as
    /// electronic visit verification asks; free text beside it).
    pub enum CorrectionReason {
        /// The phone's clock was wrong.
        DeviceClock = ("device_clock", "手机时间不准"),
        /// The caregiver forgot to check out; the person or family confirmed the end time.
        ForgotCheckOut = ("forgot_check_out", "护理员忘记签退，老人或家属确认了结束时间"),
        /// No signal or no position at the home.
        NoSignal = ("no_signal", "现场无信号或定位失败"),
        /// The platform or the device failed.
        SystemFault = ("system_fault", "系统或设备故障"),
        /// Something else, said in the note.
        Other = ("other", "其他（须在说明中写明）"),
    }
}

impl CorrectionReason {
    /// Checks the note beside the code: at most 200 characters, and at least 4 for "other".
    pub fn check_note(self, note: &str) -> Result<(), &'static str> {
        let n = note.trim().chars().count();
        if n > 200 {
            Err("说明不超过 200 字")
        } else if self == CorrectionReason::Other && n < 4 {
            Err("选择“其他”时请写明原因（至少 4 个字）")
        } else {
            Ok(())
        }
    }
}

/// One broken rule, with the figures behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The reason code.
    pub code: ExceptionCode,
    /// Details in words (distances, minutes).
    pub detail: String,
}

fn finding(code: ExceptionCode, detail: impl Into<String>) -> Finding {
    Finding {
        code,
        detail: detail.into(),
    }
}

/// Checks one visit against the rules; an empty answer means it is verified.
pub fn verify(v: &VisitFacts, others: &[OtherVisit], rules: &VisitRules) -> Vec<Finding> {
    let mut out = Vec::new();
    for (stamp, what, missing) in [
        (v.check_in, "签到", ExceptionCode::NoCheckIn),
        (v.check_out, "签退", ExceptionCode::NoCheckOut),
    ] {
        match stamp {
            None => out.push(finding(missing, missing.label())),
            Some(s) => check_stamp(&s, what, v.home, rules, &mut out),
        }
    }
    if v.home.is_none() {
        out.push(finding(
            ExceptionCode::NoHome,
            ExceptionCode::NoHome.label(),
        ));
    }
    if let (Some(i), Some(o)) = (v.check_in, v.check_out) {
        let minutes = (o.at - i.at).num_minutes();
        if minutes < v.min_minutes {
            out.push(finding(
                ExceptionCode::TooShort,
                format!("服务 {minutes} 分钟，该项目至少 {} 分钟", v.min_minutes),
            ));
        }
        check_neighbours(&i, &o, others, rules, &mut out);
    }
    if !v.caregiver_active {
        out.push(finding(
            ExceptionCode::CaregiverInactive,
            ExceptionCode::CaregiverInactive.label(),
        ));
    }
    if !v.elder_active {
        out.push(finding(
            ExceptionCode::ElderNotActive,
            ExceptionCode::ElderNotActive.label(),
        ));
    }
    if !v.within_quota {
        out.push(finding(
            ExceptionCode::OverQuota,
            ExceptionCode::OverQuota.label(),
        ));
    }
    match v.confirmation {
        Confirmation::Missing => out.push(finding(
            ExceptionCode::NoConfirmation,
            ExceptionCode::NoConfirmation.label(),
        )),
        Confirmation::Code { matched: false } => out.push(finding(
            ExceptionCode::BadConfirmation,
            ExceptionCode::BadConfirmation.label(),
        )),
        Confirmation::Signature => match rules.signature_only {
            SignatureOnly::Accept => {}
            SignatureOnly::Review => out.push(finding(
                ExceptionCode::SignatureOnly,
                ExceptionCode::SignatureOnly.label(),
            )),
            SignatureOnly::Refuse => out.push(finding(
                ExceptionCode::SignatureRefused,
                ExceptionCode::SignatureRefused.label(),
            )),
        },
        Confirmation::Code { matched: true } => {}
    }
    out
}

impl ExceptionCode {
    /// Whether a reviewer may still accept a visit with this finding: not one the region
    /// refuses outright.
    pub fn acceptable_on_review(self) -> bool {
        self != ExceptionCode::SignatureRefused
    }
}

/// Position, clock and sync of one stamp.
fn check_stamp(
    s: &Stamp,
    what: &str,
    home: Option<GeoPoint>,
    rules: &VisitRules,
    out: &mut Vec<Finding>,
) {
    match (s.point, home) {
        (None, _) => out.push(finding(
            ExceptionCode::NoLocation,
            format!("{what}没有定位"),
        )),
        (Some(p), Some(h)) => {
            let d = p.distance_m(h).round() as i64;
            if d > rules.radius_m {
                out.push(finding(
                    ExceptionCode::TooFar,
                    format!("{what}位置离老人住址 {d} 米，超过 {} 米", rules.radius_m),
                ));
            }
        }
        (Some(_), None) => {}
    }
    if s.offline {
        let late = s.received_at - s.at;
        if late > Duration::hours(rules.late_sync_hours) {
            out.push(finding(
                ExceptionCode::LateSync,
                format!(
                    "{what}在 {} 小时后才补传，超过 {} 小时",
                    late.num_hours(),
                    rules.late_sync_hours
                ),
            ));
        } else {
            out.push(finding(
                ExceptionCode::OfflineSync,
                format!("{what}为离线记录，时间以手机为准"),
            ));
        }
    } else {
        let skew = (s.device_at - s.received_at).num_minutes().abs();
        if skew > rules.max_clock_skew_minutes {
            out.push(finding(
                ExceptionCode::ClockSkew,
                format!(
                    "{what}时手机时间与服务器相差 {skew} 分钟，超过 {} 分钟",
                    rules.max_clock_skew_minutes
                ),
            ));
        }
    }
}

/// Overlap with the caregiver's other visits, and travel to and from the nearest ones.
fn check_neighbours(
    i: &Stamp,
    o: &Stamp,
    others: &[OtherVisit],
    rules: &VisitRules,
    out: &mut Vec<Finding>,
) {
    let (start, end) = (i.at, o.at);
    if others.iter().any(|x| x.start < end && start < x.end) {
        out.push(finding(
            ExceptionCode::Overlap,
            ExceptionCode::Overlap.label(),
        ));
    }
    let before = others
        .iter()
        .filter(|x| x.end <= start)
        .max_by_key(|x| x.end);
    let after = others
        .iter()
        .filter(|x| x.start >= end)
        .min_by_key(|x| x.start);
    let legs = [
        before.map(|b| (b.end_point, i.point, start - b.end, "上一次服务")),
        after.map(|a| (o.point, a.start_point, a.start - end, "下一次服务")),
    ];
    for (from, to, gap, which) in legs.into_iter().flatten() {
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        let metres = from.distance_m(to);
        // Within two radii of each other the homes may be the same building: no travel needed.
        if metres <= 2.0 * rules.radius_m as f64 {
            continue;
        }
        let needed_s = metres / (rules.max_speed_kmh as f64 * 1000.0 / 3600.0);
        if (gap.num_seconds() as f64) < needed_s {
            out.push(finding(
                ExceptionCode::ImpossibleTravel,
                format!(
                    "与{which}相距 {:.1} 公里，间隔 {} 分钟，按每小时 {} 公里至少需要 {} 分钟",
                    metres / 1000.0,
                    gap.num_minutes(),
                    rules.max_speed_kmh,
                    (needed_s / 60.0).ceil() as i64
                ),
            ));
        }
    }
}

/// Largest signature image accepted: a phone-width drawing as PNG is 5–40 KB.
pub const MAX_SIGNATURE_BYTES: usize = 200 * 1024;

/// Checks that `png` is a plausible drawn signature: a PNG (by its eight-byte signature and an
/// `IHDR` chunk) of at most [`MAX_SIGNATURE_BYTES`] and at least one pixel wide and high.
/// The reason, in words, when not.
pub fn check_signature_png(png: &[u8]) -> Result<(), &'static str> {
    const MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() > MAX_SIGNATURE_BYTES {
        return Err("签名图片过大（不超过 200 KB）");
    }
    if png.len() < 33 || !png.starts_with(MAGIC) || &png[12..16] != b"IHDR" {
        return Err("签名不是有效的 PNG 图片，请重新签名");
    }
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    if width == 0 || height == 0 || width > 4000 || height > 4000 {
        return Err("签名图片尺寸无效，请重新签名");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
