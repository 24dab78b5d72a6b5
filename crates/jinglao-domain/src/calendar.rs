//! The working-day calendar: the State Council's yearly notice of public holidays and make-up
//! working days (国务院办公厅关于某年部分节假日安排的通知), one file per year
//! (`data/calendar/<year>.csv`), loaded into the database and replaceable by an administrator.
//! Deadlines in working days (application review steps) count on it: a day listed as
//! `holiday` is off even on a weekday, a weekend listed as `workday` (调休上班) is on, every
//! other day is on from Monday to Friday. A year with no file counts weekends only, and says
//! so (`WorkCalendar::missing_years`).
//!
//! File format (UTF-8): `#` comment lines (the first names the notice), a header
//! `date,kind,name`, then one row per listed day.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

use crate::labelled_enum;

/// Largest calendar file accepted (a year has at most 366 rows of ~40 bytes).
pub const MAX_FILE_BYTES: usize = 64 * 1024;
/// Most rows a year's file may list.
pub const MAX_ROWS: usize = 366;
/// Longest source line (the notice's title, number and date).
pub const MAX_SOURCE_CHARS: usize = 200;
/// Line errors reported before the check stops (the rest are summed up in one line).
pub const MAX_ERRORS: usize = 50;

labelled_enum! {
    /// What a listed day is.
    pub enum DayKind {
        /// 放假 (a public holiday or a day off moved onto a weekday).
        Holiday = ("holiday", "放假"),
        /// 调休上班 (a weekend that is worked).
        Workday = ("workday", "上班"),
    }
}

/// One listed day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedDay {
    /// The day.
    pub date: NaiveDate,
    /// Off or on.
    pub kind: DayKind,
    /// The holiday's name (元旦, 春节 …).
    pub name: String,
}

/// One year's notice, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearCalendar {
    /// The year.
    pub year: i32,
    /// The notice it comes from (the file's first comment line).
    pub source: String,
    /// The listed days, in date order.
    pub days: Vec<ListedDay>,
}

/// A line of a calendar file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong, in Chinese.
    pub message: String,
}

impl YearCalendar {
    /// Parses an uploaded file for the year typed beside it: the year must be 2000–2100 and the
    /// file UTF-8 text within [`MAX_FILE_BYTES`]; then [`YearCalendar::parse`].
    pub fn from_upload(year: &str, bytes: &[u8]) -> Result<YearCalendar, Vec<LineError>> {
        let whole = |message: &str| {
            vec![LineError {
                line: 0,
                message: message.into(),
            }]
        };
        let Some(year) = year
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
        else {
            return Err(whole("请填写年份（2000 至 2100 之间的四位数字）"));
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(whole("文件应为 UTF-8 编码的 CSV 文本"));
        };
        YearCalendar::parse(year, text)
    }

    /// Parses a year's file, checking every line: dates of `year` only, each listed once, a
    /// `workday` only on a Saturday or Sunday, a source line naming the notice. All errors are
    /// returned together, each with its line.
    pub fn parse(year: i32, text: &str) -> Result<YearCalendar, Vec<LineError>> {
        let whole = |message: String| vec![LineError { line: 0, message }];
        if text.len() > MAX_FILE_BYTES {
            return Err(whole(format!("文件超过 {} KB", MAX_FILE_BYTES / 1024)));
        }
        let mut errors = Vec::new();
        let mut source = String::new();
        let mut header_seen = false;
        let mut days: BTreeMap<NaiveDate, ListedDay> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim().trim_start_matches('\u{feff}');
            if line.is_empty() {
                continue;
            }
            if errors.len() >= MAX_ERRORS {
                errors.push(LineError {
                    line: 0,
                    message: format!("错误太多，只列出前 {MAX_ERRORS} 处；请先改正这些再上传"),
                });
                return Err(errors);
            }
            if let Some(comment) = line.strip_prefix('#') {
                if source.is_empty() {
                    source = comment.trim().to_string();
                    if source.chars().count() > MAX_SOURCE_CHARS {
                        errors.push(LineError {
                            line: n,
                            message: format!("通知名称不能超过 {MAX_SOURCE_CHARS} 个字"),
                        });
                    }
                }
                continue;
            }
            if !header_seen {
                header_seen = true;
                if line.replace(' ', "") != "date,kind,name" {
                    errors.push(LineError {
                        line: n,
                        message: "第一行应为表头 date,kind,name".into(),
                    });
                }
                continue;
            }
            if days.len() >= MAX_ROWS {
                return Err(whole(format!("一年最多列 {MAX_ROWS} 天")));
            }
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            if cols.len() != 3 {
                errors.push(LineError {
                    line: n,
                    message: "每行应有三列：日期、类型、名称".into(),
                });
                continue;
            }
            let Ok(date) = NaiveDate::parse_from_str(cols[0], "%Y-%m-%d") else {
                errors.push(LineError {
                    line: n,
                    message: format!("日期“{}”应写成 年-月-日", cols[0]),
                });
                continue;
            };
            if date.year() != year {
                errors.push(LineError {
                    line: n,
                    message: format!("{date} 不在 {year} 年"),
                });
                continue;
            }
            let Some(kind) = DayKind::parse(cols[1]) else {
                errors.push(LineError {
                    line: n,
                    message: format!("类型“{}”应为 holiday（放假）或 workday（上班）", cols[1]),
                });
                continue;
            };
            if kind == DayKind::Workday && !is_weekend(date) {
                errors.push(LineError {
                    line: n,
                    message: format!("{date} 是工作日，不需要列为调休上班"),
                });
                continue;
            }
            if cols[2].is_empty() || cols[2].chars().count() > 50 {
                errors.push(LineError {
                    line: n,
                    message: "请写明节日名称（50 字以内）".into(),
                });
                continue;
            }
            if days.contains_key(&date) {
                errors.push(LineError {
                    line: n,
                    message: format!("{date} 重复列出"),
                });
                continue;
            }
            days.insert(
                date,
                ListedDay {
                    date,
                    kind,
                    name: cols[2].to_string(),
                },
            );
        }
        if source.is_empty() {
            errors.push(LineError {
                line: 0,
                message: "文件第一行应以 # 开头写明通知名称和文号".into(),
            });
        }
        if days.is_empty() && errors.is_empty() {
            errors.push(LineError {
                line: 0,
                message: "文件没有列出任何日子".into(),
            });
        }
        if errors.is_empty() {
            Ok(YearCalendar {
                year,
                source,
                days: days.into_values().collect(),
            })
        } else {
            Err(errors)
        }
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The calendar deadlines count on: the loaded years' listed days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    listed: BTreeMap<NaiveDate, DayKind>,
    years: BTreeSet<i32>,
}

impl WorkCalendar {
    /// Weekends only (no year loaded).
    pub fn weekends_only() -> Self {
        WorkCalendar::default()
    }

    /// From loaded years.
    pub fn new(years: impl IntoIterator<Item = YearCalendar>) -> Self {
        let mut cal = WorkCalendar::default();
        for y in years {
            cal.years.insert(y.year);
            for d in y.days {
                cal.listed.insert(d.date, d.kind);
            }
        }
        cal
    }

    /// From stored rows (year, day, kind); unknown kinds are ignored.
    pub fn from_rows(rows: impl IntoIterator<Item = (i32, NaiveDate, String)>) -> Self {
        let mut cal = WorkCalendar::default();
        for (year, day, kind) in rows {
            cal.years.insert(year);
            if let Some(k) = DayKind::parse(&kind) {
                cal.listed.insert(day, k);
            }
        }
        cal
    }

    /// Marks years as loaded (a year may list no day at all).
    pub fn add_years(&mut self, years: impl IntoIterator<Item = i32>) {
        self.years.extend(years);
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.listed.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !is_weekend(date),
        }
    }

    /// The date `days` working days after `from` (the day itself does not count).
    pub fn add_working_days(&self, from: NaiveDate, days: u32) -> NaiveDate {
        let mut d = from;
        let mut left = days;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The years loaded.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Of the years a deadline set on `today` may reach (this year and, from December, the
    /// next), those with no notice loaded: deadlines in them count weekends only.
    pub fn missing_years(&self, today: NaiveDate) -> Vec<i32> {
        let mut wanted = vec![today.year()];
        if today.month() == 12 {
            wanted.push(today.year() + 1);
        }
        wanted.retain(|y| !self.years.contains(y));
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn y2026() -> YearCalendar {
        YearCalendar::parse(2026, include_str!("../../../data/calendar/2026.csv")).unwrap()
    }

    #[test]
    fn the_shipped_files_parse_and_name_their_notice() {
        let y = y2026();
        assert!(y.source.contains("2026年部分节假日安排"), "{}", y.source);
        assert_eq!(
            y.days.iter().filter(|d| d.kind == DayKind::Workday).count(),
            6
        );
        let y25 =
            YearCalendar::parse(2025, include_str!("../../../data/calendar/2025.csv")).unwrap();
        assert!(y25.source.contains("国办发明电〔2024〕12号"));
    }

    #[test]
    fn a_deadline_over_the_spring_festival_skips_the_holiday_and_counts_the_make_up_saturdays() {
        let cal = WorkCalendar::new([y2026()]);
        // Friday 13 February + 5 working days: Sat 14 (worked), then the holiday to Mon 23,
        // Tue 24, Wed 25, Thu 26, Fri 27.
        assert_eq!(cal.add_working_days(d("2026-02-13"), 5), d("2026-02-27"));
        // Weekends only, it would have ended during the holiday.
        assert_eq!(
            WorkCalendar::weekends_only().add_working_days(d("2026-02-13"), 5),
            d("2026-02-20")
        );
        // National Day: Wed 30 Sep + 1 = Thu 8 Oct; the worked Saturday 10 Oct counts.
        assert_eq!(cal.add_working_days(d("2026-09-30"), 1), d("2026-10-08"));
        assert_eq!(cal.add_working_days(d("2026-10-09"), 1), d("2026-10-10"));
        assert!(cal.is_working_day(d("2026-01-04")) && !cal.is_working_day(d("2026-01-02")));
    }

    #[test]
    fn a_year_without_a_notice_counts_weekends_and_is_reported_missing_in_december() {
        let cal = WorkCalendar::new([y2026()]);
        assert!(cal.missing_years(d("2026-06-01")).is_empty());
        assert_eq!(cal.missing_years(d("2026-12-06")), vec![2027]);
        assert_eq!(cal.add_working_days(d("2027-01-01"), 1), d("2027-01-04"));
    }

    #[test]
    fn a_bad_file_is_refused_with_every_wrong_line_named() {
        let text = "date,kind,name\n2026-13-01,holiday,x\n2025-05-01,holiday,劳动节\n2026-05-06,workday,调休\n2026-05-01,rest,劳动节\n2026-05-02,holiday,劳动节\n2026-05-02,holiday,劳动节\n2026-05-03,holiday\n";
        let errs = YearCalendar::parse(2026, text).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 7, 8, 0], "{errs:?}");
        assert!(errs.iter().any(|e| e.message.contains("通知名称")));
        let big = "#x\ndate,kind,name\n".to_string() + &"2026-05-02,holiday,劳动节\n".repeat(4000);
        assert_eq!(YearCalendar::parse(2026, &big).unwrap_err()[0].line, 0);
        // Many bad lines: the first fifty and a line saying there are more.
        let many = "#x\ndate,kind,name\n".to_string() + &"bad\n".repeat(300);
        let errs = YearCalendar::parse(2026, &many).unwrap_err();
        assert_eq!(errs.len(), MAX_ERRORS + 1);
        assert!(errs.last().unwrap().message.contains("错误太多"));
        let long = format!(
            "#{}\ndate,kind,name\n2026-05-01,holiday,劳动节\n",
            "长".repeat(300)
        );
        assert!(
            YearCalendar::parse(2026, &long).unwrap_err()[0]
                .message
                .contains("不能超过")
        );
    }
}
