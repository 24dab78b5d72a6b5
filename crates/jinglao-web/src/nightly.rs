//! The server's nightly work: from 02:00 China time, end the public notices whose period is
//! over (the applications take effect), then sweep every region with a published
//! basic elderly-service list (服务找人) once a day. Checked every ten minutes, so a server
//! started later in the night, or restarted, still sweeps; a sweep already recorded for the
//! day is not repeated (with several servers on one PostgreSQL database, a second sweep
//! would find nothing changed).

use std::time::Duration;

use chrono::Timelike;
use jinglao_db::Actor;
use jinglao_db::eligibility::{self, SweepOptions, Trigger};
use jinglao_domain::clock::china_offset;

use crate::state::AppState;

/// Writes tonight's deadline reminders (`deadline_reminders::remind`), with "soon" meaning what
/// the work page marks red.
pub async fn remind_deadlines(
    state: &AppState,
    today: chrono::NaiveDate,
) -> Result<usize, jinglao_db::DbError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    let soon_by = today + chrono::Duration::days(crate::pages::home_work::SOON_DAYS);
    let n =
        jinglao_db::deadline_reminders::remind(&state.db, &book, today, soon_by, state.clock.now())
            .await?;
    if n > 0 {
        tracing::info!(reminders = n, "deadline reminders written");
    }
    Ok(n)
}

/// From this hour (China time) the day's sweep is due.
const SWEEP_FROM_HOUR: u32 = 2;

/// Runs forever; spawn it and abort it on shutdown.
pub async fn run(state: AppState) {
    // The first check comes one period after start, not at once: a server started for a
    // moment (a test, a migration check) does not begin a sweep.
    let period = Duration::from_secs(600);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    // The day the visit lists were last refreshed by this process (once a night; after a
    // restart once more, which changes nothing).
    let mut patrols_done: Option<chrono::NaiveDate> = None;
    loop {
        tick.tick().await;
        let local = state.clock.now().with_timezone(&china_offset());
        if local.hour() < SWEEP_FROM_HOUR {
            continue;
        }
        // Notices that ended take effect first, so the sweep sees the new enrolments.
        match jinglao_db::applications::end_notices(
            &state.db,
            &state.keys.audit_chain,
            local.date_naive(),
            state.clock.now(),
        )
        .await
        {
            Ok(n) if n > 0 => tracing::info!(effective = n, "public notices ended"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ending public notices failed"),
        }
        // Deadlines near or passed reach the notification centres of those who act on them
        // (each reminder once, however often this runs).
        if let Err(e) = remind_deadlines(&state, local.date_naive()).await {
            tracing::warn!(error = %e, "deadline reminders failed");
        }
        if let Err(e) = sweep_due(&state, local.date_naive()).await {
            tracing::warn!(error = %e, "nightly eligibility sweep failed");
        }
        if patrols_done != Some(local.date_naive()) {
            match refresh_patrols(&state, local.date_naive()).await {
                Ok(()) => patrols_done = Some(local.date_naive()),
                Err(e) => tracing::warn!(error = %e, "refreshing the visit lists failed"),
            }
        }
        // Recurring plans book their next day (a plan already booked to the horizon is
        // skipped, so a second check the same night does nothing).
        let system = Actor::system();
        match jinglao_db::plans::generate_all(
            &state.db,
            &state.keys.audit_chain,
            &system,
            state.clock.now(),
        )
        .await
        {
            Ok((plans, booked, skipped)) if plans > 0 => {
                tracing::info!(plans, booked, skipped, "service plans topped up")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "topping up service plans failed"),
        }
        let day_ago = state.clock.now() - crate::api::v1::idempotency::KEPT_FOR;
        match state.db.acquire().await {
            Ok(mut c) => {
                if let Err(e) = jinglao_db::idempotency::purge(&mut c.conn(), day_ago).await {
                    tracing::warn!(error = %e, "purging idempotency keys failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
        }
    }
}

/// Sweeps every region still due today.
pub async fn sweep_due(state: &AppState, on: chrono::NaiveDate) -> anyhow::Result<usize> {
    let due = {
        let mut c = state.db.acquire().await?;
        eligibility::nightly_due(&mut c.conn(), on).await?
    };
    let book = jinglao_db::policy::book(&state.db).await?;
    for region in &due {
        let r = eligibility::sweep(
            &state.db,
            &state.keys.audit_chain,
            &Actor::system(),
            region,
            &book,
            SweepOptions {
                trigger: Trigger::Nightly,
                on,
                threads: 0,
            },
        )
        .await?;
        tracing::info!(
            region = region.short(),
            people = r.people,
            gained = r.gained,
            lost = r.lost,
            "nightly eligibility sweep"
        );
    }
    Ok(due.len())
}

/// Refreshes the regular-visit (巡访) lists of every top-level region from the registry.
pub async fn refresh_patrols(state: &AppState, on: chrono::NaiveDate) -> anyhow::Result<()> {
    let book = jinglao_db::policy::book(&state.db).await?;
    let tree = state.regions.tree();
    let roots: Vec<_> = tree
        .roots(&jinglao_domain::Scope::All)
        .into_iter()
        .map(|r| r.code)
        .collect();
    for root in roots {
        let r = jinglao_db::patrols::refresh(
            &state.db,
            &state.keys.audit_chain,
            &Actor::system(),
            &root,
            &book,
            on,
            state.clock.now(),
        )
        .await?;
        tracing::info!(region = %root, listed = r.listed, added = r.added, ended = r.ended, "visit list refreshed");
    }
    Ok(())
}
