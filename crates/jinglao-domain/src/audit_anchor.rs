//! Anchors of the audit chain, kept outside the database.
//!
//! The chain's head row lives in the same database as the entries, so someone who can write
//! to the database can delete the newest entries and move the head back, and the chain still
//! verifies. An anchor is the head at a moment — sequence number, hash, time — with a MAC under
//! the chain's key, written as one line to an append-only file (and to the logs, for the log
//! collector) every few minutes or every so many entries. `jinglao audit verify` reads the
//! anchors back: an anchor beyond the database's head means newest entries were deleted; an
//! anchored entry with another hash means the chain was rewritten.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The longest line of an anchor file read (an anchor is about 200 bytes).
pub const MAX_LINE: usize = 512;

/// The chain's head at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The last entry's sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When the anchor was taken.
    pub at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct Line {
    seq: i64,
    hash: String,
    at: DateTime<Utc>,
    mac: String,
}

/// Why a line of an anchor file is not an anchor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorLineError {
    /// Longer than any anchor.
    #[error("行太长")]
    TooLong,
    /// Not an anchor's JSON.
    #[error("格式不对")]
    Malformed,
    /// The MAC does not match: edited or written without the key.
    #[error("签名不符（被改动，或不是本系统写的）")]
    BadMac,
}

impl Anchor {
    fn mac(&self, key: &[u8; 32]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
        mac.update(b"jinglao-audit-anchor-v1\0");
        mac.update(&self.seq.to_be_bytes());
        mac.update(self.hash.as_bytes());
        mac.update(&self.at.timestamp_micros().to_be_bytes());
        mac
    }

    /// The line written to the anchor file (JSON, without the line break).
    pub fn to_line(&self, key: &[u8; 32]) -> String {
        serde_json::to_string(&Line {
            seq: self.seq,
            hash: self.hash.clone(),
            at: self.at,
            mac: hex::encode(self.mac(key).finalize().into_bytes()),
        })
        .expect("an anchor serialises")
    }

    /// Reads one line of an anchor file and checks its MAC.
    pub fn parse_line(line: &str, key: &[u8; 32]) -> Result<Anchor, AnchorLineError> {
        if line.len() > MAX_LINE {
            return Err(AnchorLineError::TooLong);
        }
        let l: Line = serde_json::from_str(line).map_err(|_| AnchorLineError::Malformed)?;
        let a = Anchor {
            seq: l.seq,
            hash: l.hash,
            at: l.at,
        };
        // Compared in constant time by the MAC itself.
        let given = hex::decode(&l.mac).map_err(|_| AnchorLineError::BadMac)?;
        a.mac(key)
            .verify_slice(&given)
            .map_err(|_| AnchorLineError::BadMac)?;
        Ok(a)
    }
}

/// What the anchors say about the chain in the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorBreak {
    /// An anchor lies beyond the database's head: the newest entries were deleted and the head
    /// moved back.
    #[error(
        "锚点记录 {at} 时审计链已到第 {anchored_seq} 条，但数据库的链头只到第 {head_seq} 条：其后的记录被删除"
    )]
    Deleted {
        /// The anchored sequence number.
        anchored_seq: i64,
        /// When it was anchored (Beijing time, as text).
        at: String,
        /// The database's head.
        head_seq: i64,
    },
    /// The anchored entry has another hash: the chain was rewritten from there or before.
    #[error("第 {seq} 条审计记录与 {at} 的锚点不符：审计链被改写")]
    Rewritten {
        /// The anchored sequence number.
        seq: i64,
        /// When it was anchored (Beijing time, as text).
        at: String,
    },
    /// A line of the anchor file fails its check.
    #[error("锚点文件第 {line} 行{why}")]
    BadLine {
        /// Line number, from 1.
        line: usize,
        /// Why.
        why: AnchorLineError,
    },
}

/// Checks the anchors against the database's head and the hashes it holds at the anchored
/// sequence numbers (`hash_at`, `None` where there is no entry). The first break, if any.
pub fn check(
    anchors: &[Anchor],
    head_seq: i64,
    hash_at: impl Fn(i64) -> Option<String>,
) -> Option<AnchorBreak> {
    let when = |a: &Anchor| crate::clock::format_local(a.at);
    if let Some(a) = anchors.iter().max_by_key(|a| a.seq)
        && a.seq > head_seq
    {
        return Some(AnchorBreak::Deleted {
            anchored_seq: a.seq,
            at: when(a),
            head_seq,
        });
    }
    anchors
        .iter()
        .find(|a| hash_at(a.seq).as_deref() != Some(a.hash.as_str()))
        .map(|a| AnchorBreak::Rewritten {
            seq: a.seq,
            at: when(a),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const KEY: [u8; 32] = [4; 32];

    fn anchor(seq: i64) -> Anchor {
        Anchor {
            seq,
            hash: format!("{seq:064x}"),
            at: Utc.with_ymd_and_hms(2026, 12, 6, 2, 0, 0).unwrap(),
        }
    }

    #[test]
    fn an_anchor_reads_back_from_its_line_and_an_edited_line_is_refused() {
        let line = anchor(12).to_line(&KEY);
        assert_eq!(Anchor::parse_line(&line, &KEY), Ok(anchor(12)));
        let edited = line.replace("\"seq\":12", "\"seq\":11");
        assert_eq!(
            Anchor::parse_line(&edited, &KEY),
            Err(AnchorLineError::BadMac)
        );
        assert_eq!(
            Anchor::parse_line(&line, &[5; 32]),
            Err(AnchorLineError::BadMac),
            "written without the key"
        );
        assert_eq!(
            Anchor::parse_line("not json", &KEY),
            Err(AnchorLineError::Malformed)
        );
        assert_eq!(
            Anchor::parse_line(&"x".repeat(MAX_LINE + 1), &KEY),
            Err(AnchorLineError::TooLong)
        );
    }

    #[test]
    fn a_head_moved_back_behind_an_anchor_and_a_rewritten_entry_are_named() {
        let anchors = [anchor(5), anchor(9)];
        let intact = |seq: i64| Some(format!("{seq:064x}"));
        assert_eq!(check(&anchors, 12, intact), None);
        assert!(matches!(
            check(&anchors, 7, intact),
            Some(AnchorBreak::Deleted {
                anchored_seq: 9,
                head_seq: 7,
                ..
            })
        ));
        let rewritten = |seq: i64| {
            Some(if seq == 5 {
                "x".into()
            } else {
                format!("{seq:064x}")
            })
        };
        assert!(matches!(
            check(&anchors, 12, rewritten),
            Some(AnchorBreak::Rewritten { seq: 5, .. })
        ));
    }
}
