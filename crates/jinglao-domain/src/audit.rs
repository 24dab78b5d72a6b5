//! The audit trail's hash chain.
//!
//! Each entry's `hash` is HMAC-SHA-256, under a key derived from the deployment's secret key,
//! of a length-prefixed encoding of every field of the entry and the previous entry's hash.
//! Editing any field, deleting an entry or re-ordering entries breaks the chain at that point;
//! because the MAC is keyed, someone with write access to the database but not the key file
//! cannot forge a consistent chain. The chain head (last sequence number and hash) is kept in a
//! separate row, so deleting entries from the end is detected — unless the head row is moved
//! back as well, which only the anchors kept outside the database catch
//! ([`crate::audit_anchor`]).

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// When it happened (UTC, microsecond precision).
    pub occurred_at: DateTime<Utc>,
    /// The acting account, if any (`None` for the CLI and the system).
    pub actor_id: Option<Uuid>,
    /// The acting account's name, or `cli:<os user>` / `system`.
    pub actor_name: String,
    /// The actor's role at the time, or `system`.
    pub actor_role: String,
    /// What was done: `<entity>.<verb>`, e.g. `region.update`, `auth.login_failed`.
    pub action: String,
    /// The kind of record touched, e.g. `region`, `user`.
    pub entity: String,
    /// The record's id, if one record was touched.
    pub record_id: Option<String>,
    /// The region the record belongs to (used to scope auditors' views).
    pub region_code: Option<String>,
    /// The client's IP address.
    pub client_ip: Option<String>,
    /// The request id, to join with the server logs.
    pub request_id: Option<String>,
    /// Details as compact JSON text (what changed, from what to what, reasons).
    pub detail: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

type HmacSha256 = Hmac<Sha256>;

fn put(mac: &mut HmacSha256, field: Option<&[u8]>) {
    match field {
        None => mac.update(&[0]),
        Some(bytes) => {
            mac.update(&[1]);
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        }
    }
}

impl AuditEntry {
    /// The hash this entry should carry, given its content and `prev_hash`.
    pub fn compute_hash(&self, key: &[u8; 32]) -> String {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("any key length works");
        put(&mut mac, Some(b"jinglao-audit-v1"));
        put(&mut mac, Some(&self.seq.to_be_bytes()));
        put(
            &mut mac,
            Some(&self.occurred_at.timestamp_micros().to_be_bytes()),
        );
        put(
            &mut mac,
            self.actor_id.as_ref().map(|u| u.as_bytes().as_slice()),
        );
        put(&mut mac, Some(self.actor_name.as_bytes()));
        put(&mut mac, Some(self.actor_role.as_bytes()));
        put(&mut mac, Some(self.action.as_bytes()));
        put(&mut mac, Some(self.entity.as_bytes()));
        put(&mut mac, self.record_id.as_deref().map(str::as_bytes));
        put(&mut mac, self.region_code.as_deref().map(str::as_bytes));
        put(&mut mac, self.client_ip.as_deref().map(str::as_bytes));
        put(&mut mac, self.request_id.as_deref().map(str::as_bytes));
        put(&mut mac, Some(self.detail.as_bytes()));
        put(&mut mac, Some(self.prev_hash.as_bytes()));
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Truncates a timestamp to the microsecond precision both databases store.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The first place where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// The entry's content does not match its hash: it was edited.
    #[error("第 {seq} 条审计记录的内容与其哈希不符（记录被修改）")]
    Edited {
        /// The edited entry.
        seq: i64,
    },
    /// The entry's `prev_hash` is not the previous entry's hash.
    #[error("第 {seq} 条审计记录没有接上前一条记录的哈希（前一条被修改或替换）")]
    Unlinked {
        /// The entry whose link is wrong.
        seq: i64,
    },
    /// Sequence numbers jump: entries in between were deleted.
    #[error("第 {expected} 条审计记录缺失（下一条是第 {found} 条，记录被删除）")]
    Missing {
        /// The sequence number that should have come next.
        expected: i64,
        /// The one that came instead.
        found: i64,
    },
    /// The recorded head is beyond the last entry: entries at the end were deleted.
    #[error("链头记录到第 {head_seq} 条，但最后一条是第 {last_seq} 条（末尾记录被删除）")]
    Truncated {
        /// Last sequence number present.
        last_seq: i64,
        /// What the head row says.
        head_seq: i64,
    },
    /// The recorded head's hash differs from the last entry's hash.
    #[error("链头哈希与第 {seq} 条记录不符（链头或最后一条记录被修改）")]
    HeadMismatch {
        /// The last entry.
        seq: i64,
    },
}

impl ChainBreak {
    /// The sequence number of the first bad (or first missing) entry.
    pub fn first_bad_seq(&self) -> i64 {
        match self {
            ChainBreak::Edited { seq }
            | ChainBreak::Unlinked { seq }
            | ChainBreak::HeadMismatch { seq } => *seq,
            ChainBreak::Missing { expected, .. } => *expected,
            ChainBreak::Truncated { last_seq, .. } => last_seq + 1,
        }
    }
}

/// Checks a chain entry by entry, in sequence order, without holding it in memory.
#[derive(Debug)]
pub struct ChainVerifier {
    key: [u8; 32],
    next_seq: i64,
    prev_hash: String,
    checked: u64,
}

impl ChainVerifier {
    /// A verifier expecting the chain to start at entry 1.
    pub fn new(key: [u8; 32]) -> Self {
        ChainVerifier {
            key,
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            checked: 0,
        }
    }

    /// Checks the next entry.
    pub fn feed(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        if e.seq != self.next_seq {
            return Err(ChainBreak::Missing {
                expected: self.next_seq,
                found: e.seq,
            });
        }
        if e.compute_hash(&self.key) != e.hash {
            return Err(ChainBreak::Edited { seq: e.seq });
        }
        if e.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked { seq: e.seq });
        }
        self.prev_hash.clone_from(&e.hash);
        self.next_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// Compares the end of the chain with the recorded head (`None` if no head row exists yet).
    pub fn finish(self, head: Option<(i64, String)>) -> Result<u64, ChainBreak> {
        let last_seq = self.next_seq - 1;
        let (head_seq, head_hash) = head.unwrap_or((0, GENESIS_HASH.to_string()));
        if head_seq > last_seq {
            return Err(ChainBreak::Truncated { last_seq, head_seq });
        }
        if head_seq < last_seq || head_hash != self.prev_hash {
            return Err(ChainBreak::HeadMismatch { seq: last_seq });
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    occurred_at: DateTime::from_timestamp_micros(1_700_000_000_000_000 + seq)
                        .unwrap(),
                    actor_id: None,
                    actor_name: "system".into(),
                    actor_role: "system".into(),
                    action: "region.update".into(),
                    entity: "region".into(),
                    record_id: Some(format!("43030200100{seq}")),
                    region_code: None,
                    client_ip: Some("127.0.0.1".into()),
                    request_id: None,
                    detail: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.compute_hash(&KEY);
                prev.clone_from(&e.hash);
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: Option<(i64, String)>) -> Result<u64, ChainBreak> {
        let mut v = ChainVerifier::new(KEY);
        for e in entries {
            v.feed(e)?;
        }
        v.finish(head)
    }

    fn head(entries: &[AuditEntry]) -> Option<(i64, String)> {
        entries.last().map(|e| (e.seq, e.hash.clone()))
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c, head(&c)), Ok(5));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn an_edited_field_is_named_by_its_sequence_number() {
        let mut c = chain(5);
        let h = head(&c);
        c[2].actor_name = "someone else".into();
        assert_eq!(verify(&c, h), Err(ChainBreak::Edited { seq: 3 }));
    }

    #[test]
    fn an_edit_with_a_recomputed_unkeyed_hash_is_still_caught() {
        let mut c = chain(5);
        let h = head(&c);
        c[1].detail = "{\"forged\":true}".into();
        c[1].hash = c[1].compute_hash(&[0; 32]);
        assert_eq!(verify(&c, h), Err(ChainBreak::Edited { seq: 2 }));
    }

    #[test]
    fn a_deleted_entry_in_the_middle_is_reported_as_missing() {
        let mut c = chain(5);
        let h = head(&c);
        c.remove(3);
        assert_eq!(
            verify(&c, h),
            Err(ChainBreak::Missing {
                expected: 4,
                found: 5
            })
        );
    }

    #[test]
    fn deleting_entries_from_the_end_is_caught_by_the_head() {
        let mut c = chain(5);
        let h = head(&c);
        c.truncate(3);
        let err = verify(&c, h).unwrap_err();
        assert_eq!(
            err,
            ChainBreak::Truncated {
                last_seq: 3,
                head_seq: 5
            }
        );
        assert_eq!(err.first_bad_seq(), 4);
    }

    #[test]
    fn the_hash_covers_every_field() {
        let base = chain(1).remove(0);
        let mutations: [fn(&mut AuditEntry); 13] = [
            |e| e.seq = 2,
            |e| e.occurred_at += chrono::Duration::microseconds(1),
            |e| e.actor_id = Some(Uuid::nil()),
            |e| e.actor_name.push('x'),
            |e| e.actor_role.push('x'),
            |e| e.action.push('x'),
            |e| e.entity.push('x'),
            |e| e.record_id = None,
            |e| e.region_code = Some(String::new()),
            |e| e.client_ip = None,
            |e| e.request_id = Some("r".into()),
            |e| e.detail.push(' '),
            |e| e.prev_hash.push('0'),
        ];
        for m in mutations {
            let mut e = base.clone();
            m(&mut e);
            assert_ne!(e.compute_hash(&KEY), base.hash);
        }
    }
}
