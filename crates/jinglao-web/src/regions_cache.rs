//! The server's in-memory snapshot of the region tree.
//!
//! Loaded at start-up; reloaded at once after this process changes a region, and within
//! [`REFRESH_EVERY`] after another process does (each write increments the `regions` row of
//! `data_versions`, which a background task polls). Readers take an `Arc` of the current
//! snapshot and never wait for a reload.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jinglao_db::audit::ChainKey;
use jinglao_db::{Actor, Db, DbError, regions};
use jinglao_domain::{AreaType, Region, RegionCode, RegionTree};

/// How often each process checks whether another one changed the regions.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Snapshot {
    version: i64,
    tree: Arc<RegionTree>,
}

/// The current region tree of this process.
#[derive(Debug)]
pub struct RegionCache {
    current: RwLock<Snapshot>,
}

impl RegionCache {
    /// Loads the tree from the database.
    pub async fn load(db: &Db) -> Result<RegionCache, DbError> {
        let (version, tree) = read(db).await?;
        Ok(RegionCache {
            current: RwLock::new(Snapshot {
                version,
                tree: Arc::new(tree),
            }),
        })
    }

    /// The current snapshot.
    pub fn tree(&self) -> Arc<RegionTree> {
        self.current
            .read()
            .map(|s| s.tree.clone())
            .unwrap_or_default()
    }

    /// Reloads now (after a write by this process).
    pub async fn reload(&self, db: &Db) -> Result<(), DbError> {
        let (version, tree) = read(db).await?;
        if let Ok(mut s) = self.current.write() {
            *s = Snapshot {
                version,
                tree: Arc::new(tree),
            };
        }
        Ok(())
    }

    /// Reloads if the stored version moved; returns whether it did.
    pub async fn refresh_if_changed(&self, db: &Db) -> Result<bool, DbError> {
        let stored = {
            let mut c = db.acquire().await?;
            regions::version(&mut c.conn()).await?
        };
        let known = self.current.read().map(|s| s.version).unwrap_or(-1);
        if stored == known {
            return Ok(false);
        }
        self.reload(db).await?;
        Ok(true)
    }
}

impl RegionCache {
    /// Sets a region's urban/rural type (see [`regions::set_area_type`]) and serves the change
    /// from this process at once.
    pub async fn set_area_type(
        &self,
        db: &Db,
        key: &ChainKey,
        actor: &Actor,
        code: &RegionCode,
        area: Option<AreaType>,
        now: DateTime<Utc>,
    ) -> Result<Region, DbError> {
        let region = regions::set_area_type(db, key, actor, code, area, now).await?;
        self.reload(db).await?;
        Ok(region)
    }
}

/// Reads the version first, then the rows: a write in between makes the next poll reload
/// again, so a change is never missed.
async fn read(db: &Db) -> Result<(i64, RegionTree), DbError> {
    let mut c = db.acquire().await?;
    let mut conn = c.conn();
    let version = regions::version(&mut conn).await?;
    let all = regions::load_all(&mut conn).await?;
    Ok((version, RegionTree::new(all)))
}
