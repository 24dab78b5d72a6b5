//! Synthetic people written as an import file (`jinglao gen elders`, the import benchmark).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use jinglao_domain::elder_import::{IMPORT_COLUMNS, import_row};

use crate::synth::SynthElder;

/// Writes people as an import file: XLSX when the name ends in `.xlsx`, otherwise CSV (UTF-8
/// with a byte-order mark, as Excel expects).
pub fn write_people(path: &Path, people: &[SynthElder]) -> Result<()> {
    let is_xlsx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        use rust_xlsxwriter::{Format, Workbook};
        let mut wb = Workbook::new();
        let text = Format::new().set_num_format("@");
        let sheet = wb.add_worksheet_with_constant_memory()?;
        sheet.set_name("老年人")?;
        for (c, col) in IMPORT_COLUMNS.iter().enumerate() {
            sheet.write_string(0, c as u16, col.header)?;
        }
        for (r, p) in people.iter().enumerate() {
            for (c, v) in import_row(&p.input, &p.categories).iter().enumerate() {
                sheet.write_string_with_format(r as u32 + 1, c as u16, v, &text)?;
            }
        }
        wb.save(path)
            .with_context(|| format!("无法写入 {}", path.display()))?;
    } else {
        let file =
            std::fs::File::create(path).with_context(|| format!("无法创建 {}", path.display()))?;
        let mut buf = std::io::BufWriter::new(file);
        buf.write_all("\u{feff}".as_bytes())?;
        let mut w = csv::Writer::from_writer(buf);
        w.write_record(IMPORT_COLUMNS.iter().map(|c| c.header))?;
        for p in people {
            w.write_record(import_row(&p.input, &p.categories))?;
        }
        w.flush()?;
    }
    Ok(())
}
