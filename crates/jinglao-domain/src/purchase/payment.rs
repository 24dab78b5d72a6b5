//! Treasury payment (国库集中支付, 湘财社〔2015〕2号 八 资金支付): approved monthly statements
//! are paid against their contracts in a batch file the treasury clerk loads, one line per
//! statement and contract, and are marked paid only when the treasury's confirmation file
//! comes back. This module holds the two file layouts and the pure checks of a confirmation
//! against the batch it answers; storage applies the result in one transaction.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::settlement::yuan;
use crate::tabular::Table;

/// Columns of the batch file handed to the treasury, in order. The last four are the
/// treasury's answer: the same file, filled in, is a confirmation file.
pub const BATCH_HEADERS: [&str; 14] = [
    "批次号",
    "序号",
    "收款单位",
    "统一社会信用代码",
    "开户银行",
    "银行账号",
    "金额（元）",
    "资金来源",
    "合同编号",
    "用途",
    "支付结果",
    "支付凭证号",
    "支付日期",
    "失败原因",
];

/// Columns of the confirmation file the treasury returns (any order; others are ignored).
pub const CONFIRMATION_HEADERS: [&str; 7] = [
    "批次号",
    "序号",
    "金额（元）",
    "支付结果",
    "支付凭证号",
    "支付日期",
    "失败原因",
];

/// The most rows one confirmation file may hold (a batch holds at most this many lines).
pub const MAX_ROWS: usize = 5_000;

/// What the treasury did with one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Paid, with the treasury's voucher number and the day.
    Paid {
        /// 支付凭证号.
        voucher: String,
        /// 支付日期.
        paid_on: NaiveDate,
    },
    /// Not paid, with the treasury's reason (e.g. a wrong account).
    Failed {
        /// 失败原因.
        reason: String,
    },
}

/// One parsed row of a confirmation file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmationRow {
    /// The row's number in the file (the header is row 1).
    pub row: usize,
    /// 批次号.
    pub batch_no: String,
    /// 序号.
    pub seq: i32,
    /// 金额, fen.
    pub amount_fen: i64,
    /// The result.
    pub outcome: Outcome,
}

/// One problem with a row (or with the file, row 1 for the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// Row number in the file.
    pub row: usize,
    /// The column, by its header name.
    pub column: String,
    /// What is wrong, in a sentence.
    pub reason: String,
}

impl RowProblem {
    fn new(row: usize, column: &str, reason: impl Into<String>) -> Self {
        RowProblem {
            row,
            column: column.to_string(),
            reason: reason.into(),
        }
    }
}

/// A batch line as storage holds it, for matching a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineState {
    /// 序号.
    pub seq: i32,
    /// Amount, fen.
    pub amount_fen: i64,
    /// The answer already recorded, if any.
    pub answered: Option<Outcome>,
}

/// What applying a confirmation changes, line by line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// (序号, outcome) of lines answered now.
    pub answers: Vec<(i32, Outcome)>,
    /// Rows that repeat an answer already recorded (a file imported twice).
    pub unchanged: usize,
}

/// Parses a money cell: yuan with at most two decimals, thousands separators allowed.
fn money(cell: &str) -> Option<i64> {
    let t: String = cell
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    if t.is_empty() {
        return None;
    }
    crate::supply::facility_input::yuan_to_fen(&t)
}

/// Parses a date cell as the treasury writes it: 2026-12-05, 2026/12/05, 2026.12.05 or
/// 20261205.
fn day(cell: &str) -> Option<NaiveDate> {
    let t = cell.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
        .or_else(|| t.get(..10).and_then(|d| d.parse().ok()))
}

/// Reads a confirmation file into rows, or every problem found with the row and column that
/// has it. Nothing is partly read: one problem refuses the whole file. A row with no 支付结果
/// is not answered yet and is skipped, so the batch file itself, partly filled in, is a
/// confirmation file.
pub fn parse_confirmation(table: &Table) -> Result<Vec<ConfirmationRow>, Vec<RowProblem>> {
    let Some(header) = table.rows.first() else {
        return Err(vec![RowProblem::new(1, "文件", "文件是空的")]);
    };
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        at.entry(h.trim()).or_insert(i);
    }
    let missing: Vec<RowProblem> = ["批次号", "序号", "金额（元）", "支付结果"]
        .iter()
        .filter(|h| !at.contains_key(**h))
        .map(|h| RowProblem::new(1, h, format!("缺少“{h}”列")))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    if table.rows.len() - 1 > MAX_ROWS {
        return Err(vec![RowProblem::new(
            1,
            "文件",
            format!("一个文件最多 {MAX_ROWS} 行"),
        )]);
    }
    let cell = |row: &Vec<String>, name: &str| -> String {
        at.get(name)
            .and_then(|i| row.get(*i))
            .map(|c| c.trim().to_string())
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen: HashMap<(String, i32), usize> = HashMap::new();
    let mut vouchers: HashMap<String, usize> = HashMap::new();
    for (i, raw) in table.rows.iter().enumerate().skip(1) {
        let n = i + 1;
        if raw.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let result = cell(raw, "支付结果");
        if result.is_empty() {
            continue;
        }
        let batch_no = cell(raw, "批次号");
        if batch_no.is_empty() {
            problems.push(RowProblem::new(n, "批次号", "请填写批次号"));
        }
        let seq = cell(raw, "序号").parse::<i32>().ok().filter(|s| *s > 0);
        if seq.is_none() {
            problems.push(RowProblem::new(n, "序号", "序号应为正整数"));
        }
        let amount = money(&cell(raw, "金额（元）"));
        if amount.is_none() {
            problems.push(RowProblem::new(n, "金额（元）", "金额应为元，最多两位小数"));
        }
        let outcome = match result.as_str() {
            "成功" | "已支付" | "支付成功" => {
                let voucher = cell(raw, "支付凭证号");
                if at
                    .get("支付凭证号")
                    .is_some_and(|c| table.lossy_numbers.contains(&(i, *c)))
                {
                    problems.push(RowProblem::new(
                        n,
                        "支付凭证号",
                        "这一格在 Excel 里存成了数字，已丢失末尾几位；请把该列设为文本后重新填写",
                    ));
                }
                if !voucher.is_empty()
                    && let Some(first) = vouchers.insert(voucher.clone(), n)
                {
                    problems.push(RowProblem::new(
                        n,
                        "支付凭证号",
                        format!("与第 {first} 行的凭证号相同：一个凭证号只对应一笔支付"),
                    ));
                }
                let paid_on = day(&cell(raw, "支付日期"));
                if voucher.is_empty() || voucher.chars().count() > 60 {
                    problems.push(RowProblem::new(
                        n,
                        "支付凭证号",
                        "支付成功的行须有支付凭证号（不超过 60 字）",
                    ));
                }
                if paid_on.is_none() {
                    problems.push(RowProblem::new(
                        n,
                        "支付日期",
                        "支付成功的行须有支付日期，例如 2026-12-05",
                    ));
                }
                paid_on.map(|paid_on| Outcome::Paid { voucher, paid_on })
            }
            "失败" | "退回" | "支付失败" => {
                let reason = cell(raw, "失败原因");
                if reason.is_empty() || reason.chars().count() > 200 {
                    problems.push(RowProblem::new(
                        n,
                        "失败原因",
                        "支付失败的行须写明原因（不超过 200 字）",
                    ));
                }
                Some(Outcome::Failed { reason })
            }
            other => {
                problems.push(RowProblem::new(
                    n,
                    "支付结果",
                    format!("“{other}”不是支付结果，应为“成功”或“失败”"),
                ));
                None
            }
        };
        if let Some(seq) = seq
            && let Some(first) = seen.insert((batch_no.clone(), seq), n)
        {
            problems.push(RowProblem::new(
                n,
                "序号",
                format!("与第 {first} 行重复：每一行支付只能有一个结果"),
            ));
        }
        if let (Some(seq), Some(amount_fen), Some(outcome)) = (seq, amount, outcome) {
            rows.push(ConfirmationRow {
                row: n,
                batch_no,
                seq,
                amount_fen,
                outcome,
            });
        }
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push(RowProblem::new(1, "文件", "文件里没有支付结果"));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Matches parsed rows against the batch `batch_no` whose lines are `lines`: every row must
/// name this batch and one of its lines, with the line's amount; a line answered before may
/// only be given the same answer again (so importing a file twice changes nothing).
pub fn match_confirmation(
    batch_no: &str,
    lines: &[LineState],
    rows: &[ConfirmationRow],
) -> Result<Changes, Vec<RowProblem>> {
    let by_seq: HashMap<i32, &LineState> = lines.iter().map(|l| (l.seq, l)).collect();
    let mut problems = Vec::new();
    let mut changes = Changes::default();
    for r in rows {
        if r.batch_no != batch_no {
            problems.push(RowProblem::new(
                r.row,
                "批次号",
                format!("“{}”不是本批次（{batch_no}）", r.batch_no),
            ));
            continue;
        }
        let Some(line) = by_seq.get(&r.seq) else {
            problems.push(RowProblem::new(
                r.row,
                "序号",
                format!("本批次没有第 {} 行", r.seq),
            ));
            continue;
        };
        if line.amount_fen != r.amount_fen {
            problems.push(RowProblem::new(
                r.row,
                "金额（元）",
                format!(
                    "金额 {} 元与本批次第 {} 行的 {} 元不符",
                    yuan(r.amount_fen),
                    r.seq,
                    yuan(line.amount_fen)
                ),
            ));
            continue;
        }
        match &line.answered {
            None => changes.answers.push((r.seq, r.outcome.clone())),
            Some(before) if *before == r.outcome => changes.unchanged += 1,
            Some(Outcome::Paid { voucher, paid_on }) => problems.push(RowProblem::new(
                r.row,
                "支付结果",
                format!(
                    "第 {} 行已于 {paid_on} 确认支付（凭证 {voucher}），不能更改",
                    r.seq
                ),
            )),
            Some(Outcome::Failed { reason }) => problems.push(RowProblem::new(
                r.row,
                "支付结果",
                format!(
                    "第 {} 行已确认支付失败（{reason}）；请把结算单放进新的批次重新支付",
                    r.seq
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(changes)
    } else {
        Err(problems)
    }
}

/// The purpose line of a payment (用途), e.g. 「2026年11月居家养老上门服务费（合同 雨民购〔2026〕3号）」.
pub fn purpose(service_month: &str, contract_no: &str) -> String {
    let (y, m) = service_month.split_once('-').unwrap_or((service_month, ""));
    let m = m.trim_start_matches('0');
    format!("{y}年{m}月居家养老上门服务费（合同 {contract_no}）")
}

/// The batch file as CSV for the treasury clerk: UTF-8 with a byte-order mark (so Excel and
/// WPS open it as Chinese), the header of [`BATCH_HEADERS`], every cell safe to open.
pub fn batch_csv(rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = w.write_record(BATCH_HEADERS);
        for row in rows {
            let _ = w.write_record(
                row.iter()
                    .map(|c| crate::tabular::spreadsheet_safe(c).into_owned()),
            );
        }
        let _ = w.flush();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> Table {
        Table {
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect(),
            ..Table::default()
        }
    }

    const HEAD: &[&str] = &[
        "批次号",
        "序号",
        "金额（元）",
        "支付结果",
        "支付凭证号",
        "支付日期",
        "失败原因",
    ];

    #[test]
    fn a_confirmation_file_is_read_with_its_results_in_any_column_order() {
        let t = table(&[
            &[
                "支付结果",
                "批次号",
                "序号",
                "金额（元）",
                "支付凭证号",
                "支付日期",
                "失败原因",
            ],
            &["成功", "ZF-1", "1", "1,234.50", "GK001", "2026/12/05", ""],
            &["失败", "ZF-1", "2", "80", "", "", "账号户名不符"],
        ]);
        let rows = parse_confirmation(&t).unwrap();
        assert_eq!(rows[0].amount_fen, 123_450);
        assert_eq!(
            rows[0].outcome,
            Outcome::Paid {
                voucher: "GK001".into(),
                paid_on: NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
            }
        );
        assert_eq!(
            rows[1].outcome,
            Outcome::Failed {
                reason: "账号户名不符".into()
            }
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_row_and_column() {
        let t = table(&[
            HEAD,
            &["ZF-1", "1", "100", "成功", "", "2026-12-05", ""],
            &["ZF-1", "x", "abc", "待定", "", "", ""],
            &["ZF-1", "1", "100", "失败", "", "", ""],
        ]);
        let problems = parse_confirmation(&t).unwrap_err();
        let seen: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert!(seen.contains(&(2, "支付凭证号")), "{problems:?}");
        assert!(seen.contains(&(3, "序号")));
        assert!(seen.contains(&(3, "金额（元）")));
        assert!(seen.contains(&(3, "支付结果")));
        assert!(seen.contains(&(4, "失败原因")));
        assert!(seen.contains(&(4, "序号")), "a repeated line is named");
    }

    #[test]
    fn a_row_without_a_result_is_still_waiting_and_is_skipped() {
        let t = table(&[
            HEAD,
            &["ZF-1", "1", "100", "", "", "", ""],
            &["ZF-1", "2", "100", "成功", "GK2", "2026-12-05", ""],
        ]);
        let rows = parse_confirmation(&t).unwrap();
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [2]);
        let none = parse_confirmation(&table(&[HEAD, &["ZF-1", "1", "100", "", "", "", ""]]));
        assert!(none.unwrap_err()[0].reason.contains("没有支付结果"));
    }

    #[test]
    fn a_file_without_the_needed_columns_names_them() {
        let problems = parse_confirmation(&table(&[&["序号", "金额"]])).unwrap_err();
        let cols: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(cols, ["批次号", "金额（元）", "支付结果"]);
    }

    fn paid(v: &str) -> Outcome {
        Outcome::Paid {
            voucher: v.into(),
            paid_on: NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        }
    }

    fn row(n: usize, seq: i32, amount_fen: i64, outcome: Outcome) -> ConfirmationRow {
        ConfirmationRow {
            row: n,
            batch_no: "ZF-1".into(),
            seq,
            amount_fen,
            outcome,
        }
    }

    #[test]
    fn a_confirmation_must_match_the_batch_line_by_line_and_amount_by_amount() {
        let lines = [
            LineState {
                seq: 1,
                amount_fen: 100,
                answered: None,
            },
            LineState {
                seq: 2,
                amount_fen: 200,
                answered: Some(paid("A")),
            },
        ];
        let ok = match_confirmation(
            "ZF-1",
            &lines,
            &[row(2, 1, 100, paid("B")), row(3, 2, 200, paid("A"))],
        )
        .unwrap();
        assert_eq!(ok.answers, vec![(1, paid("B"))]);
        assert_eq!(ok.unchanged, 1, "a repeated import changes nothing");
        let bad = match_confirmation(
            "ZF-1",
            &lines,
            &[
                row(2, 1, 101, paid("B")),
                row(3, 2, 200, paid("C")),
                row(4, 9, 1, paid("D")),
            ],
        )
        .unwrap_err();
        assert!(bad[0].reason.contains("不符"));
        assert!(bad[1].reason.contains("不能更改"));
        assert!(bad[2].reason.contains("没有第 9 行"));
        let other = ConfirmationRow {
            batch_no: "ZF-2".into(),
            ..row(2, 1, 100, paid("B"))
        };
        assert!(match_confirmation("ZF-1", &lines, &[other]).is_err());
    }

    #[test]
    fn the_batch_file_reads_back_as_a_table_with_its_header() {
        let bytes = batch_csv(&[vec!["ZF-1".into(), "1".into(), "=甲".into()]]);
        let t = crate::tabular::read_table(&bytes).unwrap();
        assert_eq!(t.rows[0][0], "批次号");
        assert_eq!(t.rows[1][2], "'=甲", "a formula-like cell is made text");
    }

    #[test]
    fn the_purpose_says_the_month_and_the_contract() {
        assert_eq!(
            purpose("2026-09", "雨民购〔2026〕3号"),
            "2026年9月居家养老上门服务费（合同 雨民购〔2026〕3号）"
        );
    }
}
