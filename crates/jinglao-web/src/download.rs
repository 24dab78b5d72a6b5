//! File downloads: one response shape for every file the pages hand out (CSV reports, XLSX
//! templates and statements, evidence files), with the Chinese file name in `filename*`
//! (RFC 6266 / 5987 percent-encoding) and an ASCII fallback, never cached by the browser.

use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

/// The XLSX content type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Percent-encodes a file name for `filename*` (RFC 5987: unreserved characters stay, every
/// other byte is `%XX`; a space is `%20`, never `+`).
pub fn rfc5987(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A download of `body` named `name` (shown by browsers that read `filename*`), `fallback`
/// for the others.
pub fn attachment(
    content_type: &str,
    fallback: &str,
    name: &str,
    body: impl Into<axum::body::Body>,
) -> Response {
    let disposition = format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        rfc5987(name)
    );
    (
        [
            (CONTENT_TYPE, content_type.to_string()),
            (CONTENT_DISPOSITION, disposition),
            (CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body.into(),
    )
        .into_response()
}

/// A one-sheet workbook of a list as the page filtered it: a bold header row, then the rows,
/// every cell as text (ID numbers and codes must not turn into numbers).
pub fn table_xlsx(
    sheet_name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, crate::error::AppError> {
    fn build(
        sheet_name: &str,
        headers: &[&str],
        rows: &[Vec<String>],
    ) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet = wb.add_worksheet();
        sheet.set_name(sheet_name)?;
        for (c, h) in headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold)?;
            sheet.set_column_width(c as u16, 16)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32 + 1, c as u16, cell)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        wb.save_to_buffer()
    }
    build(sheet_name, headers, rows).map_err(|e| {
        crate::error::AppError::Internal(anyhow::anyhow!("{sheet_name} workbook: {e}"))
    })
}

/// An exported list, audited and handed out: records `action` (e.g. `facility.export`) in the
/// audit trail with the list's filter and row count in `detail`, then answers the workbook of
/// `rows` under `headers`, named `name` (`fallback` for browsers that cannot read it).
pub struct ListExport<'a> {
    /// Audit action.
    pub action: &'a str,
    /// What kind of record the rows are (the audit entry's record type).
    pub record_type: &'a str,
    /// The filter, for the audit entry (the row count is added).
    pub detail: serde_json::Value,
    /// Sheet name.
    pub sheet: &'a str,
    /// Column headers.
    pub headers: &'a [&'a str],
    /// ASCII file name.
    pub fallback: &'a str,
    /// File name shown.
    pub name: String,
}

impl ListExport<'_> {
    /// Audits the export as `user` and answers the file.
    pub async fn answer(
        self,
        state: &crate::state::AppState,
        user: &crate::auth::CurrentUser,
        meta: &crate::request::RequestMeta,
        rows: &[Vec<String>],
    ) -> Result<Response, crate::error::AppError> {
        let mut detail = self.detail;
        if let Some(map) = detail.as_object_mut() {
            map.insert("rows".into(), rows.len().into());
        }
        let mut event = jinglao_db::audit::Event::new(self.action, self.record_type, "export")
            .region(user.scope.region_root())
            .detail(detail);
        event.record_id = None;
        jinglao_db::audit::record(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(meta),
            event,
            state.clock.now(),
        )
        .await?;
        let body = table_xlsx(self.sheet, self.headers, rows)?;
        Ok(attachment(XLSX, self.fallback, &self.name, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_names_and_spaces_are_percent_encoded_and_safe_characters_kept() {
        assert_eq!(
            rfc5987("对账单 2026-10.xlsx"),
            "%E5%AF%B9%E8%B4%A6%E5%8D%95%202026-10.xlsx"
        );
    }
}
