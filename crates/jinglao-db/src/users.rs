//! Accounts: creation and changes by administrators (scoped and audited), password changes,
//! preferences, and the look-ups sign-in needs.

use chrono::{DateTime, Utc};
use jinglao_domain::account::check_role_attachment;
use jinglao_domain::{Account, Invalid, RegionCode, Role, Scope, Username};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::scope_sql::push_scope;
use crate::{Actor, Conn, Db, DbError, on_conn};

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: Uuid,
    username: String,
    display_name: String,
    role: String,
    region_code: String,
    provider_id: Option<Uuid>,
    must_change_password: bool,
    active: bool,
    large_print: bool,
    password_changed_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
    last_login_ip: Option<String>,
    created_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.region_code, \
    u.provider_id, u.must_change_password, u.active, u.large_print, u.password_changed_at, \
    u.last_login_at, u.last_login_ip, u.created_at";

impl TryFrom<AccountRow> for Account {
    type Error = DbError;
    fn try_from(r: AccountRow) -> Result<Self, DbError> {
        let corrupt = |what: String| DbError::Corrupt(format!("账号 {}：{what}", r.username));
        Ok(Account {
            id: r.id,
            username: Username::parse(&r.username).map_err(|e| corrupt(e.to_string()))?,
            display_name: r.display_name.clone(),
            role: r.role.parse::<Role>().map_err(corrupt)?,
            region_code: RegionCode::parse(&r.region_code).map_err(|e| corrupt(e.to_string()))?,
            provider_id: r.provider_id,
            must_change_password: r.must_change_password,
            active: r.active,
            large_print: r.large_print,
            password_changed_at: r.password_changed_at,
            last_login_at: r.last_login_at,
            last_login_ip: r.last_login_ip,
            created_at: r.created_at,
        })
    }
}

/// Decodes an account from a row that selected [`COLUMNS`] (used by session look-ups).
pub(crate) fn account_from_row<R>(row: &R) -> Result<Account, DbError>
where
    R: sqlx::Row,
    for<'r> AccountRow: sqlx::FromRow<'r, R>,
{
    let r: AccountRow = sqlx::FromRow::from_row(row)?;
    Account::try_from(r)
}

/// One account within `scope`.
pub async fn get(conn: &mut Conn<'_>, scope: &Scope, id: Uuid) -> Result<Option<Account>, DbError> {
    let rows: Vec<AccountRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM users u WHERE u.id = "));
        q.push_bind(id);
        push_scope(&mut q, scope, "u.region_code", "u.provider_id");
        q.build_query_as::<AccountRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().next().map(Account::try_from).transpose()
}

/// The account and password hash for a sign-in attempt (not scoped: the caller is not yet
/// anyone).
pub async fn credentials(
    conn: &mut Conn<'_>,
    username: &Username,
) -> Result<Option<(Account, String)>, DbError> {
    let sql = format!("SELECT {COLUMNS}, u.password_hash FROM users u WHERE u.username = $1");
    let row = on_conn!(conn, |c| {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username.as_str())
            .fetch_optional(&mut *c)
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                use sqlx::Row;
                let hash: String = row.try_get("password_hash")?;
                Ok::<_, DbError>(Some((account_from_row(&row)?, hash)))
            }
        }
    })?;
    Ok(row)
}

/// Looks an account up by name, within `scope`.
pub async fn by_username(
    conn: &mut Conn<'_>,
    scope: &Scope,
    username: &Username,
) -> Result<Option<Account>, DbError> {
    let rows: Vec<AccountRow> = on_conn!(conn, |c| {
        let mut q =
            sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM users u WHERE u.username = "));
        q.push_bind(username.as_str().to_string());
        push_scope(&mut q, scope, "u.region_code", "u.provider_id");
        q.build_query_as::<AccountRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().next().map(Account::try_from).transpose()
}

/// Filters for the account list.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Only this role.
    pub role: Option<Role>,
    /// Only accounts in this region's subtree.
    pub region: Option<RegionCode>,
    /// Only active (`Some(true)`) or inactive (`Some(false)`) accounts.
    pub active: Option<bool>,
    /// Text contained in the login or display name.
    pub text: Option<String>,
}

/// Accounts within `scope` matching `filter`, by login name, at most `limit` after `offset`.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    filter: &AccountFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<Account>, DbError> {
    let rows: Vec<AccountRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM users u WHERE 1 = 1"));
        push_scope(&mut q, scope, "u.region_code", "u.provider_id");
        if let Some(r) = filter.role {
            q.push(" AND u.role = ").push_bind(r.as_str().to_string());
        }
        if let Some(region) = filter.region {
            let (lo, hi) = region.subtree_range();
            q.push(" AND u.region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        if let Some(a) = filter.active {
            q.push(" AND u.active = ").push_bind(a);
        }
        if let Some(t) = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let pattern = format!(
                "%{}%",
                t.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            q.push(" AND (u.username LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR lower(u.display_name) LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
        q.push(" ORDER BY u.username LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        q.build_query_as::<AccountRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Account::try_from).collect()
}

/// Number of active accounts per role within `scope`.
pub async fn count_by_role(
    conn: &mut Conn<'_>,
    scope: &Scope,
) -> Result<Vec<(Role, i64)>, DbError> {
    let rows: Vec<(String, i64)> = on_conn!(conn, |c| {
        let mut q =
            sqlx::QueryBuilder::new("SELECT u.role, COUNT(*) FROM users u WHERE u.active = TRUE");
        push_scope(&mut q, scope, "u.region_code", "u.provider_id");
        q.push(" GROUP BY u.role");
        q.build_query_as::<(String, i64)>().fetch_all(&mut *c).await
    })?;
    let mut out: Vec<(Role, i64)> = rows
        .into_iter()
        .filter_map(|(r, n)| r.parse::<Role>().ok().map(|r| (r, n)))
        .collect();
    out.sort_by_key(|(r, _)| Role::ALL.iter().position(|x| x == r));
    Ok(out)
}

/// A new account, as entered.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Login name.
    pub username: Username,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Home region.
    pub region_code: RegionCode,
    /// Provider, for provider roles.
    pub provider_id: Option<Uuid>,
    /// argon2id PHC string (hashing happens above this layer, off the async runtime).
    pub password_hash: String,
    /// Whether the user must change the password at first sign-in.
    pub must_change_password: bool,
}

/// Checks a display name (1–50 characters, no control characters).
pub fn check_display_name(name: &str, inv: &mut Invalid) {
    let n = name.trim().chars().count();
    if n == 0 {
        inv.add("display_name", "请填写姓名");
    } else if n > 50 {
        inv.add("display_name", "姓名不能超过 50 个字");
    } else if name.chars().any(char::is_control) {
        inv.add("display_name", "姓名不能包含控制字符");
    }
}

/// Validates the region and provider of an account against the database and the actor's
/// scope: the region must exist and be inside the actor's scope; the provider must exist and
/// be in that scope too; the role must fit the region level. Problems are added to `inv`.
pub async fn check_attachment(
    conn: &mut Conn<'_>,
    actor: &Actor,
    role: Role,
    region_code: &RegionCode,
    provider_id: Option<Uuid>,
    inv: &mut Invalid,
) -> Result<(), DbError> {
    let region = crate::regions::get(conn, &Scope::All, region_code).await?;
    match region {
        None => inv.add("region_code", "区划代码不存在"),
        Some(_) if !actor.scope.covers_record_in(region_code) => {
            inv.add("region_code", "该区划不在您的管理范围内")
        }
        Some(r) => {
            for e in check_role_attachment(role, r.level, provider_id.is_some()).errors {
                inv.add(&e.field, e.message);
            }
        }
    }
    if let Some(p) = provider_id
        && crate::providers::get(conn, &actor.scope, p)
            .await?
            .is_none()
    {
        inv.add("provider_id", "服务机构不存在或不在您的管理范围内");
    }
    Ok(())
}

/// Creates an account. Field problems come back as [`DbError::Invalid`]; a taken user name as
/// a field error on `username`.
pub async fn create(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    new: NewAccount,
    now: DateTime<Utc>,
) -> Result<Account, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let mut inv = Invalid::new();
    check_display_name(&new.display_name, &mut inv);
    check_attachment(
        &mut conn,
        actor,
        new.role,
        &new.region_code,
        new.provider_id,
        &mut inv,
    )
    .await?;
    if by_username(&mut conn, &Scope::All, &new.username)
        .await?
        .is_some()
    {
        inv.add("username", "这个用户名已被使用");
    }
    if !inv.is_empty() {
        return Err(inv.into());
    }
    let id = Uuid::now_v7();
    let inserted = on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, region_code, provider_id, \
             password_hash, must_change_password, active, large_print, password_changed_at, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, FALSE, $9, $9, $9)",
        )
        .bind(id)
        .bind(new.username.as_str())
        .bind(new.display_name.trim())
        .bind(new.role.as_str())
        .bind(new.region_code.as_str())
        .bind(new.provider_id)
        .bind(&new.password_hash)
        .bind(new.must_change_password)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    });
    if let Err(e) = inserted {
        let e = DbError::from(e);
        if e.is_conflict_on("users.username") {
            return Err(Invalid::one("username", "这个用户名已被使用").into());
        }
        return Err(e);
    }
    let event = Event::new("user.create", "user", id)
        .region(Some(new.region_code))
        .detail(json!({
            "username": new.username.as_str(),
            "display_name": new.display_name.trim(),
            "role": new.role.as_str(),
            "region_code": new.region_code.as_str(),
            "provider_id": new.provider_id,
            "must_change_password": new.must_change_password,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    let account = get(&mut conn, &Scope::All, id)
        .await?
        .ok_or(DbError::NotFound)?;
    tx.commit().await?;
    Ok(account)
}

/// Changes an administrator may make to an account.
#[derive(Debug, Clone)]
pub struct AccountChanges {
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Home region.
    pub region_code: RegionCode,
    /// Provider.
    pub provider_id: Option<Uuid>,
    /// Active or disabled.
    pub active: bool,
}

/// Applies `changes` to an account within the actor's scope. Disabling an account, or moving
/// it to another role or region, ends its sessions and revokes its tokens at once.
pub async fn update(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
    changes: AccountChanges,
    now: DateTime<Utc>,
) -> Result<Account, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let before = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let mut inv = Invalid::new();
    check_display_name(&changes.display_name, &mut inv);
    check_attachment(
        &mut conn,
        actor,
        changes.role,
        &changes.region_code,
        changes.provider_id,
        &mut inv,
    )
    .await?;
    if actor.user_id == Some(id) && (!changes.active || changes.role != before.role) {
        inv.add("role", "不能停用自己的账号或更改自己的角色");
    }
    if !inv.is_empty() {
        return Err(inv.into());
    }
    let mut diff = serde_json::Map::new();
    let mut note = |field: &str, from: Value, to: Value| {
        if from != to {
            diff.insert(field.into(), json!({"from": from, "to": to}));
        }
    };
    note(
        "display_name",
        json!(before.display_name),
        json!(changes.display_name.trim()),
    );
    note(
        "role",
        json!(before.role.as_str()),
        json!(changes.role.as_str()),
    );
    note(
        "region_code",
        json!(before.region_code.as_str()),
        json!(changes.region_code.as_str()),
    );
    note(
        "provider_id",
        json!(before.provider_id),
        json!(changes.provider_id),
    );
    note("active", json!(before.active), json!(changes.active));
    if diff.is_empty() {
        return Ok(before);
    }
    let access_changed = !changes.active
        || changes.role != before.role
        || changes.region_code != before.region_code
        || changes.provider_id != before.provider_id;
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE users SET display_name = $2, role = $3, region_code = $4, provider_id = $5, \
             active = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(id)
        .bind(changes.display_name.trim())
        .bind(changes.role.as_str())
        .bind(changes.region_code.as_str())
        .bind(changes.provider_id)
        .bind(changes.active)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if access_changed {
        end_all_access(&mut conn, id, None, now).await?;
    }
    let event = Event::new("user.update", "user", id)
        .region(Some(changes.region_code))
        .detail(json!({ "username": before.username.as_str(), "changes": diff, "sessions_ended": access_changed }));
    audit::append(&mut conn, key, actor, event, now).await?;
    let after = get(&mut conn, &Scope::All, id)
        .await?
        .ok_or(DbError::NotFound)?;
    tx.commit().await?;
    Ok(after)
}

/// Ends every session of an account except `keep_session` and revokes its API tokens.
async fn end_all_access(
    conn: &mut Conn<'_>,
    user_id: Uuid,
    keep_session: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Why a password is being set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// The user chose a new password (other sessions end; this one stays).
    ByUser,
    /// An administrator set a temporary password (all sessions and tokens end; the user must
    /// change it at next sign-in).
    Reset,
}

/// Stores a new password hash for an account within the actor's scope.
pub async fn set_password(
    w: &WriteCtx<'_>,
    id: Uuid,
    password_hash: &str,
    how: PasswordChange,
    keep_session: Option<&str>,
) -> Result<(), DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let account = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let must_change = how == PasswordChange::Reset;
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE users SET password_hash = $2, must_change_password = $3, \
             password_changed_at = $4, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(password_hash)
        .bind(must_change)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let keep = if how == PasswordChange::ByUser {
        keep_session
    } else {
        None
    };
    end_all_access(&mut conn, id, keep, now).await?;
    let action = match how {
        PasswordChange::ByUser => "user.password_change",
        PasswordChange::Reset => "user.password_reset",
    };
    let event = Event::new(action, "user", id)
        .region(Some(account.region_code))
        .detail(json!({ "username": account.username.as_str() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Saves the large-print preference of the acting user.
pub async fn set_large_print(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    large_print: bool,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let Some(id) = actor.user_id else {
        return Err(DbError::NotFound);
    };
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE users SET large_print = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(large_print)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    let event = Event::new("user.preference", "user", id)
        .region(actor.region)
        .detail(json!({ "large_print": large_print }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a successful sign-in on the account row.
pub async fn record_login(
    conn: &mut Conn<'_>,
    id: Uuid,
    client_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE users SET last_login_at = $2, last_login_ip = $3 WHERE id = $1")
            .bind(id)
            .bind(now)
            .bind(client_ip)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    const KEY: ChainKey = ChainKey([2; 32]);

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    async fn seed_regions(db: &Db) {
        let text = "code,name,level,parent_code\n43,湖南省,province,\n4303,湘潭市,city,43\n\
                    430302,雨湖区,county,4303\n430304,岳塘区,county,4303\n\
                    430302001,雨湖路街道,township,430302\n\
                    430302001001,雨湖路社区居委会,village,430302001\n";
        let records =
            jinglao_domain::region_import::parse_region_csv(text, &Default::default()).unwrap();
        crate::regions::import(db, &KEY, &Actor::system(), &records, "test", Utc::now())
            .await
            .unwrap();
    }

    fn new_account(name: &str, role: Role, region: &str) -> NewAccount {
        NewAccount {
            username: Username::parse(name).unwrap(),
            display_name: "张三".into(),
            role,
            region_code: code(region),
            provider_id: None,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$x$y".into(),
            must_change_password: false,
        }
    }

    crate::test_on_both! {
        async fn a_taken_user_name_is_a_field_error_not_a_crash(t: TestDb) {
            seed_regions(&t.db).await;
            create(&t.db, &KEY, &Actor::cli(), new_account("zhangsan", Role::CountyStaff, "430302"), Utc::now())
                .await.unwrap();
            let err = create(&t.db, &KEY, &Actor::cli(), new_account("ZhangSan", Role::CountyStaff, "430302"), Utc::now())
                .await.unwrap_err();
            match err {
                DbError::Invalid(inv) => assert_eq!(inv.get("username"), Some("这个用户名已被使用")),
                other => panic!("expected a field error, got {other:?}"),
            }
        }
    }

    crate::test_on_both! {
        async fn a_role_on_the_wrong_level_or_outside_scope_is_refused_and_nothing_is_written(t: TestDb) {
            seed_regions(&t.db).await;
            let err = create(&t.db, &KEY, &Actor::cli(), new_account("lisi", Role::VillageStaff, "430302"), Utc::now())
                .await.unwrap_err();
            assert!(matches!(&err, DbError::Invalid(i) if i.get("region_code").is_some()), "{err:?}");
            let county_admin = Actor::user(Uuid::now_v7(), "x", Role::CountyStaff, Scope::Region(code("430302")), code("430302"));
            let err = create(&t.db, &KEY, &county_admin, new_account("wangwu", Role::CountyStaff, "430304"), Utc::now())
                .await.unwrap_err();
            assert!(matches!(&err, DbError::Invalid(i) if i.get("region_code") == Some("该区划不在您的管理范围内")));
            let mut c = t.db.acquire().await.unwrap();
            assert!(list(&mut c.conn(), &Scope::All, &AccountFilter::default(), 10, 0).await.unwrap().is_empty());
        }
    }

    crate::test_on_both! {
        async fn disabling_an_account_ends_its_sessions_and_is_audited_with_the_diff(t: TestDb) {
            seed_regions(&t.db).await;
            let a = create(&t.db, &KEY, &Actor::cli(), new_account("zhaoliu", Role::CountyStaff, "430302"), Utc::now())
                .await.unwrap();
            {
                let mut c = t.db.acquire().await.unwrap();
                crate::sessions::insert(&mut c.conn(), &crate::sessions::NewSession { user_id: a.id, id_hash: "h1", csrf_token: "csrf", client_ip: None, user_agent: None }, Utc::now(), chrono::Duration::hours(12)).await.unwrap();
            }
            let changes = AccountChanges {
                display_name: a.display_name.clone(), role: a.role, region_code: a.region_code,
                provider_id: None, active: false,
            };
            let after = update(&t.db, &KEY, &Actor::cli(), a.id, changes, Utc::now()).await.unwrap();
            assert!(!after.active);
            let mut c = t.db.acquire().await.unwrap();
            assert!(crate::sessions::find(&mut c.conn(), "h1").await.unwrap().is_none());
            let entries = audit::list(&t.db, &Scope::All, &audit::AuditFilter {
                action: Some("user.update".into()), ..Default::default() }, 5).await.unwrap();
            assert!(entries[0].detail.contains("\"active\":{\"from\":true,\"to\":false}"), "{}", entries[0].detail);
        }
    }
}
