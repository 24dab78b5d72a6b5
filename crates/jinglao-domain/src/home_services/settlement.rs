//! Monthly settlement of verified visits (结算): contract unit prices per item with effective
//! dates, and the statement (对账单) — every visit a line at the price in force on its day,
//! totals per item, and the visits that cannot be priced listed rather than dropped. Money is in
//! integer fen throughout.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

/// A contract unit price for one item, from a date, until a date (inclusive) or open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Price {
    /// Service-list item code.
    pub item: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day, or open.
    pub to: Option<NaiveDate>,
    /// Per visit, fen.
    pub unit_fen: i64,
}

impl Price {
    fn covers(&self, day: NaiveDate) -> bool {
        self.from <= day && self.to.is_none_or(|t| day <= t)
    }
}

/// Why a price list cannot be used: two prices of one item in force on the same day, an end
/// before a start, or a price not above zero.
pub fn check_prices(prices: &[Price]) -> Result<(), String> {
    for (i, p) in prices.iter().enumerate() {
        if p.unit_fen <= 0 {
            return Err(format!("项目 {} 自 {} 起的单价应大于零", p.item, p.from));
        }
        if p.to.is_some_and(|t| t < p.from) {
            return Err(format!("项目 {} 的单价截止日早于起始日", p.item));
        }
        for q in &prices[i + 1..] {
            let overlap = p.item == q.item
                && p.to.is_none_or(|t| q.from <= t)
                && q.to.is_none_or(|t| p.from <= t);
            if overlap {
                return Err(format!(
                    "项目 {} 有两个单价同时有效（自 {} 起与自 {} 起）",
                    p.item, p.from, q.from
                ));
            }
        }
    }
    Ok(())
}

/// The price of `item` on `day`, if one is in force.
pub fn price_on(prices: &[Price], item: &str, day: NaiveDate) -> Option<i64> {
    prices
        .iter()
        .find(|p| p.item == item && p.covers(day))
        .map(|p| p.unit_fen)
}

/// A verified visit ready to be paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayableVisit<K> {
    /// Visit id.
    pub id: K,
    /// Item code.
    pub item: String,
    /// Day of the visit (China date).
    pub on: NaiveDate,
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line<K> {
    /// Visit id.
    pub visit: K,
    /// Item code.
    pub item: String,
    /// Day.
    pub on: NaiveDate,
    /// Amount, fen.
    pub amount_fen: i64,
}

/// A statement: the lines, totals per item (visits, fen), the total, and what could not be
/// priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement<K> {
    /// Every priced visit.
    pub lines: Vec<Line<K>>,
    /// Per item: number of visits and amount.
    pub by_item: BTreeMap<String, (i64, i64)>,
    /// Total, fen.
    pub total_fen: i64,
    /// Visits without a price in force on their day (left for the next run, not paid at zero).
    pub unpriced: Vec<K>,
}

/// Prices `visits` under `prices`.
pub fn statement<K: Clone>(visits: &[PayableVisit<K>], prices: &[Price]) -> Statement<K> {
    let mut s = Statement {
        lines: Vec::with_capacity(visits.len()),
        by_item: BTreeMap::new(),
        total_fen: 0,
        unpriced: Vec::new(),
    };
    for v in visits {
        match price_on(prices, &v.item, v.on) {
            Some(fen) => {
                let e = s.by_item.entry(v.item.clone()).or_insert((0, 0));
                e.0 += 1;
                e.1 += fen;
                s.total_fen += fen;
                s.lines.push(Line {
                    visit: v.id.clone(),
                    item: v.item.clone(),
                    on: v.on,
                    amount_fen: fen,
                });
            }
            None => s.unpriced.push(v.id.clone()),
        }
    }
    s
}

/// Formats fen as yuan with two decimals, e.g. `1234.50`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn price(item: &str, from: &str, to: Option<&str>, fen: i64) -> Price {
        Price {
            item: item.into(),
            from: d(from),
            to: to.map(d),
            unit_fen: fen,
        }
    }

    #[test]
    fn each_visit_is_paid_at_the_price_in_force_on_its_day() {
        let prices = vec![
            price("助浴", "2026-01-01", Some("2026-11-14"), 4_000),
            price("助浴", "2026-11-15", None, 4_500),
            price("助餐", "2026-01-01", None, 1_200),
        ];
        check_prices(&prices).unwrap();
        let visits = vec![
            PayableVisit {
                id: 1,
                item: "助浴".into(),
                on: d("2026-11-14"),
            },
            PayableVisit {
                id: 2,
                item: "助浴".into(),
                on: d("2026-11-15"),
            },
            PayableVisit {
                id: 3,
                item: "助餐".into(),
                on: d("2026-11-15"),
            },
            PayableVisit {
                id: 4,
                item: "助洁".into(),
                on: d("2026-11-15"),
            },
        ];
        let s = statement(&visits, &prices);
        assert_eq!(
            s.lines.iter().map(|l| l.amount_fen).collect::<Vec<_>>(),
            vec![4_000, 4_500, 1_200]
        );
        assert_eq!(s.by_item["助浴"], (2, 8_500));
        assert_eq!(s.total_fen, 9_700);
        assert_eq!(s.unpriced, vec![4], "no price, not paid at zero");
        assert_eq!(yuan(s.total_fen), "97.00");
        assert_eq!(yuan(-1_205), "-12.05");
    }

    #[test]
    fn two_prices_of_one_item_in_force_on_the_same_day_are_refused() {
        let overlapping = vec![
            price("助浴", "2026-01-01", None, 4_000),
            price("助浴", "2026-11-15", None, 4_500),
        ];
        assert!(check_prices(&overlapping).unwrap_err().contains("同时有效"));
        assert!(check_prices(&[price("助浴", "2026-02-01", Some("2026-01-01"), 1)]).is_err());
        assert!(check_prices(&[price("助浴", "2026-02-01", None, 0)]).is_err());
        let adjacent = vec![
            price("助浴", "2026-01-01", Some("2026-06-30"), 4_000),
            price("助浴", "2026-07-01", None, 4_500),
        ];
        assert!(check_prices(&adjacent).is_ok());
    }
}
