//! The server's anchoring of the audit chain: every ten seconds it looks at the chain's head
//! and, when `audit.anchor_every_entries` entries were added since the last anchor or
//! `audit.anchor_every_minutes` passed with any added, appends an anchor to
//! `audit.anchor_file` and the log (`jinglao_db::audit_anchor`). Several servers on one
//! database each write their own file.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::state::AppState;

/// How often the head is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(10);

/// Runs forever; spawn it and abort it on shutdown. Does nothing without an anchor file.
pub async fn run(state: AppState) {
    let Some(file) = state.settings.audit.anchor_file.clone() else {
        return;
    };
    let every_entries = state.settings.audit.anchor_every_entries;
    let every = chrono::Duration::minutes(state.settings.audit.anchor_every_minutes);
    // Where the file left off (a restart continues from it).
    let mut last: Option<(i64, DateTime<Utc>)> =
        match jinglao_db::audit_anchor::read(&file, &state.keys.audit_chain) {
            Ok((anchors, _)) => anchors.iter().max_by_key(|a| a.seq).map(|a| (a.seq, a.at)),
            Err(e) => {
                tracing::warn!(error = %e, "the audit anchor file could not be read");
                None
            }
        };
    let mut tick = tokio::time::interval(CHECK_EVERY);
    loop {
        tick.tick().await;
        let now = state.clock.now();
        let head = match jinglao_db::audit_anchor::head(&state.db).await {
            Ok((seq, _)) => seq,
            Err(e) => {
                tracing::warn!(error = %e, "reading the audit chain's head failed");
                continue;
            }
        };
        let due = match last {
            None => head > 0,
            Some((seq, at)) => head > seq && (head - seq >= every_entries || now - at >= every),
        };
        if !due {
            continue;
        }
        match jinglao_db::audit_anchor::write(&state.db, &state.keys.audit_chain, &file, now).await
        {
            Ok(Some(a)) => last = Some((a.seq, a.at)),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "writing an audit anchor failed"),
        }
    }
}
