//! The application as a library: build it on a listener (port 0 in tests), run it until a
//! shutdown signal, finishing in-flight requests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use jinglao_db::Db;
use jinglao_domain::Clock;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::keys::Keys;
use crate::regions_cache::{REFRESH_EVERY, RegionCache};
use crate::routes;
use crate::state::AppState;

/// A built, bound application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Binds `settings.listen` and builds the router. The database must be migrated: the
    /// caller checks (and `jinglao serve` refuses to start otherwise).
    pub async fn build(
        settings: Settings,
        db: Db,
        keys: Keys,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let openapi = crate::api::v1::openapi();
        let openapi_json = serde_json::to_vec(&openapi)?;
        let settings_cache_seconds = settings.auth.cache_seconds;
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("无法监听 {}：{e}", settings.listen))?;
        let regions = Arc::new(RegionCache::load(&db).await?);
        let visit_queue =
            jinglao_db::visit_queue::VisitQueue::start(db.clone(), keys.audit_chain.clone());
        let state = AppState {
            db,
            visit_queue,
            settings: Arc::new(settings),
            keys: Arc::new(keys),
            clock,
            openapi_json: openapi_json.into(),
            token_cache: Arc::new(crate::auth::cache::TokenCache::new(settings_cache_seconds)),
            regions,
            ocds_bulk: Default::default(),
        };
        Ok(Application {
            listener,
            router: routes::app(state.clone()),
            state,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The shared state (for tests that need the database or the clock).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
    /// finish. Expired sessions are cleaned up every ten minutes meanwhile, the nightly
    /// eligibility sweep runs (crate::nightly), and the audit chain is anchored outside the
    /// database (crate::anchors).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                let now = state.clock.now();
                match state.db.acquire().await {
                    Ok(mut c) => {
                        match jinglao_db::sessions::delete_stale(
                            &mut c.conn(),
                            now,
                            state.idle_timeout(),
                        )
                        .await
                        {
                            Ok(n) if n > 0 => {
                                tracing::info!(removed = n, "expired sessions removed")
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "session clean-up failed"),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "session clean-up could not get a connection")
                    }
                }
            }
        });
        let refresher_state = self.state.clone();
        let refresher = tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            loop {
                tick.tick().await;
                match refresher_state
                    .regions
                    .refresh_if_changed(&refresher_state.db)
                    .await
                {
                    Ok(true) => tracing::info!("region tree reloaded after a change elsewhere"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "region tree refresh failed"),
                }
            }
        });
        let nightly = tokio::spawn(crate::nightly::run(self.state.clone()));
        let anchors = tokio::spawn(crate::anchors::run(self.state.clone()));
        let texts = tokio::spawn(crate::sms::run(self.state.clone()));
        let result = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        sweeper.abort();
        refresher.abort();
        nightly.abort();
        anchors.abort();
        texts.abort();
        self.state.db.close().await;
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    // The handlers are registered now, not when the future is first polled: a SIGTERM that
    // arrives just after the server starts answering must still stop it gracefully.
    #[cfg(unix)]
    let (term, int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = async |s: Option<tokio::signal::unix::Signal>| match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            };
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}
