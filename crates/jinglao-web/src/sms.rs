//! Sending the text messages queued by `jinglao_db::sms` through a gateway. The gateway is
//! chosen by the `sms_gateway` setting; `log` — the only one shipped — writes each message to
//! the log with the number masked and marks it sent, so that a deployment without an SMS
//! contract still records what would have gone out. A real gateway implements [`SmsGateway`]
//! and is added to [`gateway`] and [`GATEWAYS`].
//!
//! Messages go out after the change that queued them has committed: the server sends what is
//! pending every few seconds (`crate::app`), and a failed send is kept as failed with the
//! gateway's reason, never retried silently.

use chrono::Utc;

use crate::error::AppError;
use crate::state::AppState;

/// The gateways this build knows.
pub const GATEWAYS: [&str; 1] = ["log"];

/// How often pending messages are sent.
pub const SEND_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Something that delivers a text message.
pub trait SmsGateway: Send + Sync {
    /// Its name, stored with each message.
    fn name(&self) -> &'static str;
    /// Sends `text` to `phone`; the error is the gateway's reason.
    fn send(&self, phone: &str, phone_masked: &str, text: &str) -> Result<(), String>;
}

/// Writes the message to the log (number masked) and reports it sent.
pub struct LogGateway;

impl SmsGateway for LogGateway {
    fn name(&self) -> &'static str {
        "log"
    }

    fn send(&self, phone: &str, phone_masked: &str, text: &str) -> Result<(), String> {
        if phone.is_empty() {
            return Err("档案里没有电话".into());
        }
        tracing::info!(
            to = phone_masked,
            text,
            "text message (log gateway, not sent)"
        );
        Ok(())
    }
}

/// The configured gateway.
pub fn gateway(state: &AppState) -> Box<dyn SmsGateway> {
    // Settings are checked at start against GATEWAYS; "log" is the only one shipped.
    debug_assert!(GATEWAYS.contains(&state.settings.sms_gateway.trim()));
    Box::new(LogGateway)
}

/// Sends what is pending (at most a hundred at a time); returns how many were handed to the
/// gateway.
pub async fn deliver(state: &AppState) -> Result<usize, AppError> {
    let gw = gateway(state);
    let mut c = state.db.acquire().await?;
    let pending = jinglao_db::sms::pending(&mut c.conn(), &state.keys.cipher, 100).await?;
    for m in &pending {
        let result = gw.send(&m.phone, &m.phone_masked, &m.body);
        jinglao_db::sms::mark(&mut c.conn(), m.id, result, gw.name(), Utc::now()).await?;
    }
    Ok(pending.len())
}

/// Sends pending messages every [`SEND_EVERY`] for as long as the server runs.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(SEND_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = deliver(&state).await {
            tracing::warn!(error = %e, "sending text messages failed");
        }
    }
}
