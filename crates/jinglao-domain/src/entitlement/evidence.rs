//! Evidence files attached to applications (证明材料): what kinds there are, which file types
//! are accepted (recognised by their first bytes, not by their names) and how large they may be.

use crate::labelled_enum;

/// The largest evidence file accepted (a phone photo of a certificate is 2–5 MB).
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;

labelled_enum! {
    /// What a file proves.
    pub enum EvidenceKind {
        /// 身份证明（身份证、户口簿）.
        Identity = ("identity", "身份证明（身份证、户口簿）"),
        /// 低保、特困等救助证明.
        Assistance = ("assistance", "低保、特困等救助证明"),
        /// 残疾证.
        Disability = ("disability", "残疾证"),
        /// 能力评估报告、病历.
        Health = ("health", "能力评估报告、病历"),
        /// 居住、子女情况证明.
        Living = ("living", "居住、子女情况证明"),
        /// 其他.
        Other = ("other", "其他"),
    }
}

/// An accepted file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// application/pdf.
    Pdf,
    /// image/jpeg.
    Jpeg,
    /// image/png.
    Png,
}

impl FileType {
    /// The MIME type served back.
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
        }
    }

    /// From a stored MIME type.
    pub fn from_mime(m: &str) -> Option<FileType> {
        [FileType::Pdf, FileType::Jpeg, FileType::Png]
            .into_iter()
            .find(|t| t.mime() == m)
    }
}

/// The type of `bytes` by their signature, if it is one accepted.
pub fn sniff(bytes: &[u8]) -> Option<FileType> {
    if bytes.starts_with(b"%PDF-") {
        Some(FileType::Pdf)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileType::Jpeg)
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(FileType::Png)
    } else {
        None
    }
}

/// Why a file is refused, or its type.
pub fn check(bytes: &[u8]) -> Result<FileType, String> {
    if bytes.is_empty() {
        return Err("文件是空的".into());
    }
    if bytes.len() > MAX_EVIDENCE_BYTES {
        return Err(format!(
            "文件有 {:.1} MB，超过 {} MB 的上限；请压缩或分页上传",
            bytes.len() as f64 / 1024.0 / 1024.0,
            MAX_EVIDENCE_BYTES / 1024 / 1024
        ));
    }
    sniff(bytes)
        .ok_or_else(|| "只接受 PDF、JPEG 或 PNG 文件（按文件内容识别，改扩展名无效）".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_content_and_size() {
        assert_eq!(check(b"%PDF-1.7\n..."), Ok(FileType::Pdf));
        assert_eq!(
            check(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Ok(FileType::Jpeg)
        );
        assert!(
            check(b"MZ\x90\x00 an executable renamed to .pdf")
                .unwrap_err()
                .contains("PDF、JPEG 或 PNG")
        );
        assert!(check(b"").unwrap_err().contains("空"));
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_EVIDENCE_BYTES + 1, b' ');
        assert!(check(&big).unwrap_err().contains("超过 10 MB"));
    }
}
