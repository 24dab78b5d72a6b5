//! The bulk OCDS download (every announced project's record in one package) kept for a few
//! minutes: building it reads every project, so a public address that rebuilt it per request
//! would let anyone keep the database busy. One rebuild runs at a time; the others wait for it
//! and get its result.

use axum::body::Bytes;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;

/// How long a built package is served before it is built again.
pub const FRESH_FOR: Duration = Duration::minutes(10);

/// The cached package.
#[derive(Debug, Default)]
pub struct BulkCache {
    built: Mutex<Option<(DateTime<Utc>, Bytes)>>,
}

impl BulkCache {
    /// The package built at most [`FRESH_FOR`] before `now`, or the one `build` makes now.
    pub async fn get_or_build<F, Fut, E>(&self, now: DateTime<Utc>, build: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        let mut slot = self.built.lock().await;
        if let Some((at, body)) = slot.as_ref()
            && now - *at < FRESH_FOR
            && *at <= now
        {
            return Ok(body.clone());
        }
        let body = build().await?;
        *slot = Some((now, body.clone()));
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_package_is_reused_while_fresh_and_rebuilt_after() {
        let cache = BulkCache::default();
        let t0 = Utc::now();
        let first: Result<Bytes, ()> = cache.get_or_build(t0, async || Ok(Bytes::from("a"))).await;
        assert_eq!(first.unwrap(), "a");
        let again: Result<Bytes, ()> = cache
            .get_or_build(t0 + Duration::minutes(5), async || Ok(Bytes::from("b")))
            .await;
        assert_eq!(again.unwrap(), "a");
        let later: Result<Bytes, ()> = cache
            .get_or_build(t0 + Duration::minutes(11), async || Ok(Bytes::from("c")))
            .await;
        assert_eq!(later.unwrap(), "c");
    }
}
