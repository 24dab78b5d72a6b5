//! The jinglao web application: server-rendered Simplified-Chinese pages for staff, the JSON
//! API under `/api/v1` with its generated OpenAPI document, and the authentication, scope and
//! audit rules every request goes through.
//!
//! The application, its use cases (`usecase`) and its demo seed are here, so tests can start
//! the real application on a random port against a fresh database; the binary (`jinglao-cli`)
//! adds argument parsing, operator commands and the load generators.

pub mod anchors;
pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod download;
pub mod elder_query;
pub mod error;
pub mod keys;
pub mod nightly;
pub mod ocds_cache;
pub mod pages;
pub mod regions_cache;
pub mod request;
pub mod routes;
pub mod sms;
pub mod state;
pub mod telemetry;
pub mod usecase;

pub use app::{Application, shutdown_signal};
pub use config::{Mode, Settings};
pub use keys::Keys;
pub use state::AppState;
