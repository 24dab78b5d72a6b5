//! The scope predicate shared by tables that belong to a region and, for provider accounts, to
//! a provider (accounts, providers, facilities): region scopes see their subtree by one
//! `BETWEEN` on the region code, provider scopes the rows of their provider.

use jinglao_domain::Scope;
use uuid::Uuid;

/// Appends ` AND <region_col> BETWEEN …` or ` AND <provider_col> = …` for `scope`.
pub(crate) fn push_scope<DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<DB>,
    scope: &Scope,
    region_col: &str,
    provider_col: &str,
) where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Uuid: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match scope {
        Scope::All => {}
        Scope::Region(root) => {
            let (lo, hi) = root.subtree_range();
            q.push(format!(" AND {region_col} BETWEEN "))
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        Scope::Provider { provider_id, .. } => {
            q.push(format!(" AND {provider_col} = "))
                .push_bind(*provider_id);
        }
    }
}

/// Appends `(<id>, <id>, …)`, the right side of an `IN` (callers skip empty lists: `IN ()` is
/// not SQL).
pub(crate) fn push_id_list<DB: sqlx::Database>(q: &mut sqlx::QueryBuilder<DB>, ids: &[Uuid])
where
    Uuid: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push("(");
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    q.push(")");
}
