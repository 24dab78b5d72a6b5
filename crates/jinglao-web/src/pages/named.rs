//! Names where codes are stored: a change of 户籍地 or 居住地 reads as region names, not as
//! division codes, on every page that shows changes (the import preview, a record's history).

use jinglao_domain::RegionCode;
use jinglao_domain::elder::FieldChange;

use crate::state::AppState;

/// The labels of the fields that hold a region code.
const REGION_FIELDS: [&str; 2] = ["户籍地", "居住地"];

/// A region code as its path of names (雨湖区 › 雨湖路街道 › 雨湖路社区居委会); anything else as is.
fn region_or_text(state: &AppState, value: &str) -> String {
    match RegionCode::parse(value) {
        Ok(code) => state.region_path(&code),
        Err(_) => value.to_string(),
    }
}

/// The change with region codes said by name.
pub fn change(state: &AppState, c: &FieldChange) -> FieldChange {
    if !REGION_FIELDS.contains(&c.field.as_str()) {
        return c.clone();
    }
    FieldChange {
        field: c.field.clone(),
        from: region_or_text(state, &c.from),
        to: region_or_text(state, &c.to),
    }
}
