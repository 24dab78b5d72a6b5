//! Documents published in numbered versions per region (service lists, purchase catalogues):
//! the next version number, read inside the publishing transaction.

use crate::{Conn, DbError, on_conn};

/// Tables whose rows are versions per `region_code`.
#[derive(Debug, Clone, Copy)]
pub enum Versioned {
    /// `service_lists`.
    ServiceLists,
    /// `purchase_catalogues`.
    PurchaseCatalogues,
}

impl Versioned {
    fn table(self) -> &'static str {
        match self {
            Versioned::ServiceLists => "service_lists",
            Versioned::PurchaseCatalogues => "purchase_catalogues",
        }
    }
}

/// The version the next publication in `region` gets (1 for the first).
pub async fn next(conn: &mut Conn<'_>, of: Versioned, region: &str) -> Result<i32, DbError> {
    let sql = format!(
        "SELECT MAX(version) FROM {} WHERE region_code = $1",
        of.table()
    );
    let last: Option<i32> = on_conn!(conn, |c| {
        sqlx::query_scalar::<_, Option<i32>>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(region)
            .fetch_one(&mut *c)
            .await
    })?;
    Ok(last.unwrap_or(0) + 1)
}
