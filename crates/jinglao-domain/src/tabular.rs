//! Reading an uploaded table (XLSX or CSV) into rows of text, whatever tool produced it:
//! CSV in UTF-8 (with or without a byte-order mark) or GBK (what Chinese Excel saves by
//! default), XLSX with text, number and date cells.

use std::collections::HashSet;
use std::io::Cursor;

use calamine::{DataRef, DataType, Reader, Xlsx, open_workbook_from_rs};

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
    /// Bigger than any real import (a sheet's used area, or the unpacked archive).
    #[error("文件太大：{0}")]
    TooLarge(String),
}

/// A cell written back to a file people open in Excel or WPS: text that starts like a formula
/// (`=`, `+`, `-`, `@`, or a tab or carriage return before one) gets a leading `'`, so that a
/// row someone typed as `=HYPERLINK(…)` is shown as text instead of run. Cells of rejected rows
/// come straight from an uploaded file, so anyone who can upload could otherwise plant one.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
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

/// The most columns a sheet may use (the import template has about 30).
pub const MAX_COLUMNS: u32 = 256;
/// The most rows a sheet may use (Excel's own limit).
pub const MAX_ROWS: u32 = 1_048_576;
/// The most bytes an XLSX file may hold once unpacked. An upload is at most 64 MB; a sheet of a
/// million rows unpacks to a few hundred MB, and a "zip bomb" to far more.
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// Refuses an archive whose parts would unpack past [`MAX_UNPACKED_BYTES`], before any part is
/// unpacked (calamine reads the shared strings whole).
fn check_unpacked_size(bytes: &[u8]) -> Result<(), TableError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| TableError::BadXlsx(e.to_string()))?;
    // The sizes the central directory declares (zip refuses to
    // unpack a part past its declared size when calamine reads it).
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let part = zip
            .by_index_raw(i)
            .map_err(|e| TableError::BadXlsx(e.to_string()))?;
        total = total.saturating_add(part.size());
    }
    if total > MAX_UNPACKED_BYTES {
        return Err(TableError::TooLarge(format!(
            "解压后超过 {} MB",
            MAX_UNPACKED_BYTES >> 20
        )));
    }
    Ok(())
}

/// Reads the first sheet cell by cell. calamine's `worksheet_range` allocates the rectangle
/// from A1 to the last used cell, so one cell written at XFD1048576 would ask for 17 billion
/// cells; here every cell's position is checked before anything is allocated for it.
fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    check_unpacked_size(bytes)?;
    let mut wb: Xlsx<Cursor<&[u8]>> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| TableError::BadXlsx(e.to_string()))?;
    let Some(first) = wb.sheet_names().first().cloned() else {
        return Err(TableError::Empty);
    };
    let mut reader = wb
        .worksheet_cells_reader(&first)
        .map_err(|e| TableError::BadXlsx(e.to_string()))?;
    let mut table = Table::default();
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| TableError::BadXlsx(e.to_string()))?
    {
        let (r, c) = cell.get_position();
        if c >= MAX_COLUMNS {
            return Err(TableError::TooLarge(format!(
                "第 {} 行用到了第 {} 列，最多 {MAX_COLUMNS} 列",
                r + 1,
                c + 1
            )));
        }
        if r >= MAX_ROWS {
            return Err(TableError::TooLarge(format!("超过 {MAX_ROWS} 行")));
        }
        let (r, c) = (r as usize, c as usize);
        let text = cell_text(cell.get_value(), (r, c), &mut table);
        if text.is_empty() {
            continue;
        }
        if table.rows.len() <= r {
            table.rows.resize_with(r + 1, Vec::new);
        }
        let row = &mut table.rows[r];
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = text;
    }
    if table.rows.is_empty() {
        return Err(TableError::Empty);
    }
    Ok(table)
}

/// One cell as text, noting long numbers that Excel has already rounded.
fn cell_text(cell: &DataRef<'_>, at: (usize, usize), table: &mut Table) -> String {
    match cell {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.trim().to_string(),
        DataRef::SharedString(s) => s.trim().to_string(),
        DataRef::Int(i) => {
            if i.unsigned_abs() >= 100_000_000_000_000 {
                table.lossy_numbers.insert(at);
            }
            i.to_string()
        }
        DataRef::Float(f) => {
            if f.abs() >= 1e14 {
                table.lossy_numbers.insert(at);
            }
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        DataRef::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) => cell
            .as_date()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
    }
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

    fn xlsx(cells: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (r, c, v) in cells {
            ws.write_string(*r, *c, *v).unwrap();
        }
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn an_xlsx_file_is_read_cell_by_cell_into_rows_of_text() {
        let t = read_table(&xlsx(&[(0, 0, "姓名"), (0, 1, "民族"), (2, 1, "汉族")])).unwrap();
        assert_eq!(t.rows[0], vec!["姓名", "民族"]);
        assert!(t.rows[1].is_empty(), "a blank row stays a blank row");
        assert_eq!(t.rows[2], vec!["", "汉族"]);
    }

    #[test]
    fn a_tiny_xlsx_naming_the_last_cell_of_the_sheet_is_refused_without_allocating_the_sheet() {
        // One cell at XFD1048576: calamine's range would be 17 billion cells.
        let bytes = xlsx(&[(0, 0, "姓名"), (1_048_575, 16_383, "x")]);
        assert!(bytes.len() < 10_000);
        match read_table(&bytes) {
            Err(TableError::TooLarge(why)) => assert!(why.contains("16384 列"), "{why}"),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn cells_that_start_like_a_formula_are_written_as_text() {
        assert_eq!(
            spreadsheet_safe("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for bad in ["+1", "-2+3", "@SUM(A1)", "\t=1"] {
            assert!(spreadsheet_safe(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(spreadsheet_safe("王秀英"), "王秀英");
        assert_eq!(spreadsheet_safe("2026-01-01"), "2026-01-01");
    }
}
