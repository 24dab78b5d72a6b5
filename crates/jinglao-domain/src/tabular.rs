//! Reading an uploaded table (XLSX or CSV) into rows of text, whatever tool produced it:
//! CSV in UTF-8 (with or without a byte-order mark) or GBK (what Chinese Excel saves by
//! default), XLSX with text, number and date cells.

use std::collections::HashSet;
use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx, open_workbook_from_rs};

/// A table: the first row is the header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Rows of cells as text, trimmed.
    pub rows: Vec<Vec<String>>,
    /// (row, column) of cells that were stored as long numbers (15 or more digits): Excel
    /// keeps only 15 significant digits, so an ID number typed into a number cell has already
    /// lost its last digits.
    pub lossy_numbers: HashSet<(usize, usize)>,
}

/// Why a file could not be read as a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// An old binary Excel file.
    #[error("这是旧版 Excel（.xls）文件，请在 Excel 中“另存为”.xlsx 或 CSV 后再上传")]
    OldExcel,
    /// Not XLSX and not text.
    #[error("文件既不是 XLSX 也不是 CSV，无法读取")]
    NotATable,
    /// XLSX that could not be opened.
    #[error("XLSX 文件无法打开：{0}")]
    BadXlsx(String),
    /// CSV that could not be parsed.
    #[error("CSV 文件第 {line} 行无法解析：{reason}")]
    BadCsv {
        /// Line.
        line: usize,
        /// Reason.
        reason: String,
    },
    /// No rows at all.
    #[error("文件是空的")]
    Empty,
}

/// Reads `bytes` as XLSX (by content, not by name) or CSV.
pub fn read_table(bytes: &[u8]) -> Result<Table, TableError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(TableError::OldExcel);
    }
    let text = decode_text(bytes)?;
    read_csv(&text)
}

fn decode_text(bytes: &[u8]) -> Result<String, TableError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.contains(&0) {
        return Err(TableError::NotATable);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => {
            let (text, _, had_errors) = encoding_rs::GBK.decode(bytes);
            if had_errors {
                Err(TableError::NotATable)
            } else {
                Ok(text.into_owned())
            }
        }
    }
}

fn read_csv(text: &str) -> Result<Table, TableError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| TableError::BadCsv {
            line: i + 1,
            reason: e.to_string(),
        })?;
        rows.push(rec.iter().map(|c| c.trim().to_string()).collect());
    }
    if rows.is_empty() {
        return Err(TableError::Empty);
    }
    Ok(Table {
        rows,
        lossy_numbers: HashSet::new(),
    })
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    let mut wb: Xlsx<Cursor<Vec<u8>>> = open_workbook_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e: calamine::XlsxError| TableError::BadXlsx(e.to_string()))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or(TableError::Empty)?
        .map_err(|e| TableError::BadXlsx(e.to_string()))?;
    let mut table = Table::default();
    for (r, row) in range.rows().enumerate() {
        let mut cells = Vec::with_capacity(row.len());
        for (c, cell) in row.iter().cloned().enumerate() {
            let text = match cell {
                Data::Empty => String::new(),
                Data::String(ref s) => s.trim().to_string(),
                Data::Int(i) => {
                    if i.unsigned_abs() >= 100_000_000_000_000 {
                        table.lossy_numbers.insert((r, c));
                    }
                    i.to_string()
                }
                Data::Float(f) => {
                    if f.abs() >= 1e14 {
                        table.lossy_numbers.insert((r, c));
                    }
                    if f.fract() == 0.0 && f.abs() < 1e15 {
                        format!("{}", f as i64)
                    } else {
                        f.to_string()
                    }
                }
                Data::Bool(b) => if b { "是" } else { "否" }.to_string(),
                Data::DateTime(_) | Data::DateTimeIso(_) => cell
                    .as_date()
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                Data::DurationIso(ref s) => s.clone(),
                Data::Error(e) => format!("#{e:?}"),
            };
            cells.push(text);
        }
        table.rows.push(cells);
    }
    if table.rows.is_empty() {
        return Err(TableError::Empty);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_csv_with_a_byte_order_mark_is_read() {
        let t =
            read_table("\u{feff}姓名,身份证号\n王秀英, 11010519491231002X \n".as_bytes()).unwrap();
        assert_eq!(t.rows[0], vec!["姓名", "身份证号"]);
        assert_eq!(t.rows[1][1], "11010519491231002X");
    }

    #[test]
    fn gbk_csv_from_chinese_excel_is_read() {
        let (bytes, _, _) = encoding_rs::GBK.encode("姓名,民族\n王秀英,汉族\n");
        let t = read_table(&bytes).unwrap();
        assert_eq!(t.rows[1], vec!["王秀英", "汉族"]);
    }

    #[test]
    fn old_excel_and_binary_files_are_refused_with_a_reason() {
        assert_eq!(
            read_table(&[0xD0, 0xCF, 0x11, 0xE0, 0, 0]),
            Err(TableError::OldExcel)
        );
        assert_eq!(read_table(&[0xFF, 0x00, 0x12]), Err(TableError::NotATable));
        assert_eq!(read_table(b""), Err(TableError::Empty));
    }
}
