//! Writing the audit chain's head to an append-only file outside the database, and checking
//! the chain against those anchors (see `jinglao_domain::audit_anchor` for why).
//!
//! The file is one JSON line per anchor. Give the server an append-only file (`chattr +a` on
//! Linux, or a file the log collector ships away): each anchor is also written to the log at
//! target `jinglao_audit_anchor`.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use jinglao_domain::audit_anchor::{Anchor, AnchorBreak, check};

use crate::audit::ChainKey;
use crate::{Db, DbError, on_conn};

/// The chain's head now: the last sequence number and its hash.
pub async fn head(db: &Db) -> Result<(i64, String), DbError> {
    let mut c = db.acquire().await?;
    Ok(on_conn!(&mut c.conn(), |c| {
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *c)
            .await
    })?)
}

/// Appends an anchor of the head at `now` to `file` (created if missing) and to the log;
/// `None` while the chain is empty.
pub async fn write(
    db: &Db,
    key: &ChainKey,
    file: &Path,
    now: DateTime<Utc>,
) -> Result<Option<Anchor>, DbError> {
    let (seq, hash) = head(db).await?;
    if seq == 0 {
        return Ok(None);
    }
    let anchor = Anchor { seq, hash, at: now };
    let line = anchor.to_line(&key.0);
    let path = file.to_path_buf();
    let written = line.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        f.write_all(format!("{written}\n").as_bytes())?;
        f.sync_data()
    })
    .await
    .map_err(|e| DbError::Config(format!("审计锚点：{e}")))?
    .map_err(|e| DbError::Config(format!("无法写入审计锚点文件 {}：{e}", file.display())))?;
    tracing::info!(target: "jinglao_audit_anchor", seq, anchor = %line, "audit chain anchored");
    Ok(Some(anchor))
}

/// The anchors of `file` (none when it does not exist), and the first line that is not one.
pub fn read(file: &Path, key: &ChainKey) -> Result<(Vec<Anchor>, Option<AnchorBreak>), DbError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => {
            return Err(DbError::Config(format!(
                "无法读取审计锚点文件 {}：{e}",
                file.display()
            )));
        }
    };
    let mut anchors = Vec::new();
    let mut bad = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match Anchor::parse_line(line, &key.0) {
            Ok(a) => anchors.push(a),
            Err(why) if bad.is_none() => bad = Some(AnchorBreak::BadLine { line: i + 1, why }),
            Err(_) => {}
        }
    }
    Ok((anchors, bad))
}

/// What checking against the anchors found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorCheck {
    /// Anchors read.
    pub anchors: usize,
    /// The newest anchor.
    pub latest: Option<Anchor>,
    /// The first break, if any.
    pub broken: Option<AnchorBreak>,
}

impl AnchorCheck {
    /// The result in a sentence, for the auditors' page and `jinglao audit verify`.
    pub fn summary(&self) -> String {
        match (&self.broken, &self.latest) {
            (Some(b), _) => format!("与库外锚点核对不符：{b}"),
            (None, Some(l)) => format!(
                "与库外的 {} 个锚点核对无误（最新：{}，第 {} 条）。",
                self.anchors,
                jinglao_domain::clock::format_local(l.at),
                l.seq
            ),
            (None, None) => "锚点文件中还没有锚点（服务运行几分钟后会写入）。".to_string(),
        }
    }
}

/// What to say when no anchor file is configured.
pub const NOT_CONFIGURED: &str =
    "未配置锚点文件（audit.anchor_file），无法发现连同链头一起删除的最新记录。";

/// Checks the database's chain against the anchors of `file`: the head is not behind any of
/// them and every anchored entry still has its hash.
pub async fn verify(db: &Db, key: &ChainKey, file: &Path) -> Result<AnchorCheck, DbError> {
    let (anchors, bad_line) = read(file, key)?;
    let (head_seq, _) = head(db).await?;
    let mut hashes = std::collections::HashMap::new();
    let mut c = db.acquire().await?;
    let seqs: Vec<i64> = anchors
        .iter()
        .map(|a| a.seq)
        .filter(|s| *s <= head_seq)
        .collect();
    for chunk in seqs.chunks(500) {
        let rows: Vec<(i64, String)> = on_conn!(&mut c.conn(), |c| {
            let mut q = sqlx::QueryBuilder::new("SELECT seq, hash FROM audit_log WHERE seq IN (");
            let mut sep = q.separated(", ");
            for s in chunk {
                sep.push_bind(*s);
            }
            q.push(")");
            q.build_query_as::<(i64, String)>().fetch_all(&mut *c).await
        })?;
        hashes.extend(rows);
    }
    let broken = check(&anchors, head_seq, |s| hashes.get(&s).cloned()).or(bad_line);
    Ok(AnchorCheck {
        anchors: anchors.len(),
        latest: anchors.iter().max_by_key(|a| a.seq).cloned(),
        broken,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use crate::{Actor, audit};

    const KEY: ChainKey = ChainKey([3; 32]);

    async fn entries(db: &Db, n: usize) {
        for i in 0..n {
            let ev = audit::Event::new("region.update", "region", i);
            audit::record(db, &KEY, &Actor::system(), ev, Utc::now())
                .await
                .unwrap();
        }
    }

    crate::test_on_both! {
        async fn deleting_the_newest_entries_and_moving_the_head_back_is_caught_by_the_anchors(t: TestDb) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("anchors.log");
            entries(&t.db, 3).await;
            write(&t.db, &KEY, &file, Utc::now()).await.unwrap();
            entries(&t.db, 2).await;
            write(&t.db, &KEY, &file, Utc::now()).await.unwrap();
            let ok = verify(&t.db, &KEY, &file).await.unwrap();
            assert_eq!((ok.anchors, ok.broken.clone()), (2, None));
            // Someone with write access drops the triggers, deletes entries 4–5 and moves the
            // head back to entry 3: the chain in the database is consistent again...
            t.tamper("DELETE FROM audit_log WHERE seq > 3").await;
            let (seq3, hash3): (i64, String) = {
                let mut c = t.db.acquire().await.unwrap();
                on_conn!(&mut c.conn(), |c| {
                    sqlx::query_as("SELECT seq, hash FROM audit_log WHERE seq = 3").fetch_one(&mut *c).await
                }).unwrap()
            };
            t.tamper(&format!("UPDATE audit_head SET seq = {seq3}, hash = '{hash3}' WHERE id = 1")).await;
            assert_eq!(audit::verify(&t.db, &KEY, 100).await.unwrap().broken, None, "the chain alone cannot tell");
            // ...but not with the anchor written at entry 5.
            let caught = verify(&t.db, &KEY, &file).await.unwrap();
            assert!(
                matches!(caught.broken, Some(AnchorBreak::Deleted { anchored_seq: 5, head_seq: 3, .. })),
                "{caught:?}"
            );
        }
    }

    crate::test_on_both! {
        async fn an_edited_anchor_line_is_named(t: TestDb) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("anchors.log");
            entries(&t.db, 2).await;
            write(&t.db, &KEY, &file, Utc::now()).await.unwrap();
            let text = std::fs::read_to_string(&file).unwrap().replace("\"seq\":2", "\"seq\":1");
            std::fs::write(&file, text).unwrap();
            let found = verify(&t.db, &KEY, &file).await.unwrap();
            assert!(matches!(found.broken, Some(AnchorBreak::BadLine { line: 1, .. })), "{found:?}");
        }
    }
}
