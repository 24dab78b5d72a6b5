//! Family care beds (家庭养老床位): a provider takes on an older person at home as if in a bed
//! of its own — a home assessment, the home adapted from a checklist, devices installed, and a
//! monthly minimum of verified visits (潭政办发〔2023〕20号; target 3,000 beds in 湘潭 by 2025).
//! Who qualifies is a per-region rule (`family_bed.rule`); the minimum is `family_bed.min_visits`.

/// The adaptation checklist (适老化改造), stable codes with labels.
pub const ADAPTATIONS: [(&str, &str); 8] = [
    ("grab_bars", "卫生间、床边扶手"),
    ("non_slip", "地面防滑处理"),
    ("threshold", "消除门槛高差"),
    ("night_light", "感应夜灯"),
    ("care_bed", "护理床"),
    ("commode", "坐便椅或洗澡椅"),
    ("wheelchair", "轮椅或助行器"),
    ("call_button", "紧急呼叫装置"),
];

/// Devices recorded on a bed (alarms from them arrive with the emergency-response work).
pub const DEVICES: [(&str, &str); 6] = [
    ("emergency_button", "一键呼叫器"),
    ("smoke", "烟雾报警器"),
    ("gas", "燃气报警器"),
    ("door", "门磁"),
    ("fall", "跌倒监测"),
    ("mattress", "智能床垫"),
];

/// The label of an adaptation code.
pub fn adaptation_label(code: &str) -> Option<&'static str> {
    ADAPTATIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
}

/// The label of a device kind.
pub fn device_label(kind: &str) -> Option<&'static str> {
    DEVICES.iter().find(|(c, _)| *c == kind).map(|(_, l)| *l)
}

/// How a month stands against the minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthProgress {
    /// Verified (or accepted) visits so far.
    pub done: i64,
    /// The minimum.
    pub minimum: i64,
}

impl MonthProgress {
    /// Visits still owed this month.
    pub fn short(&self) -> i64 {
        (self.minimum - self.done).max(0)
    }

    /// "3 / 4 次".
    pub fn label(&self) -> String {
        format!("{} / {} 次", self.done, self.minimum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cover_every_code_and_progress_counts_what_is_owed() {
        assert_eq!(adaptation_label("grab_bars"), Some("卫生间、床边扶手"));
        assert_eq!(adaptation_label("pool"), None);
        assert_eq!(device_label("smoke"), Some("烟雾报警器"));
        let p = MonthProgress {
            done: 3,
            minimum: 4,
        };
        assert_eq!((p.short(), p.label()), (1, "3 / 4 次".to_string()));
        assert_eq!(
            MonthProgress {
                done: 6,
                minimum: 4
            }
            .short(),
            0
        );
    }
}
