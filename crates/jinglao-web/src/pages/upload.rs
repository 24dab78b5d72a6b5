//! Reading a multipart form (a file and a few text fields) the same way on every upload page:
//! one error naming the file field when the body cannot be read or is over the size limit the
//! route sets, text fields cut to a sane length.

use std::collections::HashMap;

use axum::extract::Multipart;

use crate::error::AppError;

/// Longest text field kept from a multipart form (characters).
const MAX_TEXT_CHARS: usize = 1_000;

/// A multipart form, read.
#[derive(Debug, Default)]
pub struct Upload {
    /// Text fields by name.
    pub fields: HashMap<String, String>,
    /// The file field: its name on the client's disk and its bytes (absent or empty when no
    /// file was chosen).
    pub file: Option<(String, Vec<u8>)>,
}

impl Upload {
    /// A text field, or "".
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// The file, when one with content was sent.
    pub fn take_file(&mut self) -> Option<(String, Vec<u8>)> {
        self.file.take().filter(|(_, b)| !b.is_empty())
    }
}

/// Reads every part: `file_field` as the file, the others as text. `what` and `limit_mb` word
/// the error (e.g. “照片”, 16).
pub async fn read(
    multipart: &mut Multipart,
    file_field: &'static str,
    what: &str,
    limit_mb: usize,
) -> Result<Upload, AppError> {
    let failed = |e: axum::extract::multipart::MultipartError| AppError::BadRequest {
        message: format!("{what}过大或上传中断（上限 {limit_mb} MB）：{e}"),
        field: Some(file_field.into()),
    };
    let mut out = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == file_field {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(failed)?;
            out.file = Some((file_name, bytes.to_vec()));
        } else {
            let text = field.text().await.map_err(failed)?;
            out.fields
                .insert(name, text.chars().take(MAX_TEXT_CHARS).collect());
        }
    }
    Ok(out)
}
