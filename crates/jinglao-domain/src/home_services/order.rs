//! Service orders (服务工单) and their funding: who pays for one visit, and whether the month's
//! quota of the person's entitlement still covers it. An order beyond the quota is refused for
//! that funding source with the figures, and may go ahead as self-paid if the person agrees.

use crate::labelled_enum;
use crate::service_list::Quota;

labelled_enum! {
    /// Who pays for an order.
    pub enum Funding {
        /// The person's entitlement under the basic service list (an effective application).
        Entitlement = ("entitlement", "服务额度"),
        /// A consumption voucher.
        Voucher = ("voucher", "消费券"),
        /// The person or family.
        SelfPay = ("self_pay", "自费"),
        /// Long-term-care insurance (later).
        CareInsurance = ("care_insurance", "长期护理保险"),
    }
}

impl Funding {
    /// Whether the government pays (the person's entitlement, a government voucher): such a
    /// visit is government purchase of services, closed to providers barred by a credit record
    /// (湘政发〔2014〕20号 三（三）).
    pub fn is_government_purchase(self) -> bool {
        matches!(self, Funding::Entitlement | Funding::Voucher)
    }
}

/// What the person has already used of an item this month (orders not cancelled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Orders.
    pub times: u32,
    /// Minutes booked.
    pub minutes: u32,
    /// Amount, fen.
    pub fen: i64,
}

/// One order's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Minutes booked.
    pub minutes: u32,
    /// Price, fen.
    pub fen: i64,
}

fn hours(minutes: u32) -> String {
    let h = f64::from(minutes) / 60.0;
    if minutes.is_multiple_of(60) {
        format!("{h:.0}")
    } else {
        format!("{h:.1}")
    }
}

/// Whether an order of `size` fits in `quota` after `used` this month; the refusal states the
/// quota, what is used and what this order would need.
pub fn fits(quota: Quota, used: Usage, size: Size) -> Result<(), String> {
    let tail = "；可改为自费（需本人或家属同意）";
    match quota {
        Quota::Unlimited => Ok(()),
        Quota::TimesPerMonth(n) if used.times < n => Ok(()),
        Quota::TimesPerMonth(n) => Err(format!("本月额度 {n} 次，已用 {} 次{tail}", used.times)),
        Quota::HoursPerMonth(h) if used.minutes + size.minutes <= h * 60 => Ok(()),
        Quota::HoursPerMonth(h) => Err(format!(
            "本月额度 {h} 小时，已用 {} 小时，本次 {} 小时将超出{tail}",
            hours(used.minutes),
            hours(size.minutes)
        )),
        Quota::FenPerMonth(f) if used.fen + size.fen <= f => Ok(()),
        Quota::FenPerMonth(f) => Err(format!(
            "本月额度 {} 元，已用 {} 元，本次 {} 元将超出{tail}",
            crate::settlement::yuan(f),
            crate::settlement::yuan(used.fen),
            crate::settlement::yuan(size.fen)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Size = Size {
        minutes: 60,
        fen: 3_000,
    };

    #[test]
    fn an_order_within_the_months_quota_fits() {
        assert!(
            fits(
                Quota::Unlimited,
                Usage {
                    times: 99,
                    minutes: 9_999,
                    fen: 0
                },
                HOUR
            )
            .is_ok()
        );
        assert!(
            fits(
                Quota::TimesPerMonth(30),
                Usage {
                    times: 29,
                    ..Usage::default()
                },
                HOUR
            )
            .is_ok()
        );
        let used = Usage {
            minutes: 7 * 60,
            ..Usage::default()
        };
        assert!(
            fits(Quota::HoursPerMonth(8), used, HOUR).is_ok(),
            "exactly the quota"
        );
        let used = Usage {
            fen: 27_000,
            ..Usage::default()
        };
        assert!(fits(Quota::FenPerMonth(30_000), used, HOUR).is_ok());
    }

    #[test]
    fn an_order_beyond_the_quota_is_refused_with_the_figures_and_the_self_paid_way_out() {
        let e = fits(
            Quota::TimesPerMonth(30),
            Usage {
                times: 30,
                ..Usage::default()
            },
            HOUR,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "本月额度 30 次，已用 30 次；可改为自费（需本人或家属同意）"
        );
        let used = Usage {
            minutes: 7 * 60 + 30,
            ..Usage::default()
        };
        let e = fits(Quota::HoursPerMonth(8), used, HOUR).unwrap_err();
        assert!(
            e.starts_with("本月额度 8 小时，已用 7.5 小时，本次 1 小时将超出"),
            "{e}"
        );
        let used = Usage {
            fen: 28_000,
            ..Usage::default()
        };
        let e = fits(Quota::FenPerMonth(30_000), used, HOUR).unwrap_err();
        assert!(
            e.starts_with("本月额度 300.00 元，已用 280.00 元，本次 30.00 元将超出"),
            "{e}"
        );
    }
}

/// How far ahead an older person (or their family) may book a visit themselves on the public
/// page: from tomorrow to this many days ahead. Staff and providers book on any day.
pub const PUBLIC_BOOKING_DAYS: i64 = 14;

/// Whether `day` may be booked on the public page on `today`; the reason when not, in words.
pub fn public_booking_day(
    day: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Result<(), &'static str> {
    if day <= today {
        Err("请预约明天或以后的服务")
    } else if day > today + chrono::Duration::days(PUBLIC_BOOKING_DAYS) {
        Err("只能预约两周以内的服务")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod booking_window_tests {
    use super::*;

    #[test]
    fn the_public_may_book_from_tomorrow_to_two_weeks_ahead() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let day = |n| today + chrono::Duration::days(n);
        assert!(public_booking_day(day(0), today).is_err());
        assert!(public_booking_day(day(1), today).is_ok());
        assert!(public_booking_day(day(PUBLIC_BOOKING_DAYS), today).is_ok());
        assert!(public_booking_day(day(PUBLIC_BOOKING_DAYS + 1), today).is_err());
    }
}
