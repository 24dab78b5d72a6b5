//! Purchase projects of the annual plan: drafted by the purchasing body (city, county or
//! township staff), submitted to finance, approved (frozen: a version row) or returned with a
//! reason, announced with a bid deadline, and followed to award, contract, acceptance and
//! evaluation. A change after approval is a new version with its reason, approved again.
//! Every write is one transaction with its audit entry; reads and writes keep to the caller's
//! subtree.

use chrono::{DateTime, Utc};
use jinglao_domain::purchase::project::{ProjectInput, ProjectStatus};
use jinglao_domain::{Invalid, Permission, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use super::catalogue;
use crate::audit::{self, Event};
use crate::{Conn, DbError, WriteCtx, on_conn};

/// A stored project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Id.
    pub id: Uuid,
    /// The purchasing body's region.
    pub region: RegionCode,
    /// The purchasing body's name (e.g. 湘潭市雨湖区民政局).
    pub purchaser_name: String,
    /// Version (1 until a change after approval).
    pub version: i32,
    /// Where it stands.
    pub status: ProjectStatus,
    /// The catalogue version its entry comes from.
    pub catalogue_id: Uuid,
    /// What was entered.
    pub input: ProjectInput,
    /// Finance's reason for returning it.
    pub return_reason: Option<String>,
    /// Bids taken until.
    pub bid_deadline: Option<DateTime<Utc>>,
    /// Approved at.
    pub approved_at: Option<DateTime<Utc>>,
    /// Announced at.
    pub published_at: Option<DateTime<Utc>>,
    /// Awarded at.
    pub awarded_at: Option<DateTime<Utc>>,
    /// Why it was stopped.
    pub cancel_reason: Option<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    region_code: String,
    purchaser_name: String,
    version: i32,
    status: String,
    catalogue_id: Uuid,
    body: String,
    return_reason: Option<String>,
    bid_deadline: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    published_at: Option<DateTime<Utc>>,
    awarded_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>,
    created_at: DateTime<Utc>,
}

const COLUMNS: &str = "SELECT id, region_code, purchaser_name, version, status, catalogue_id, body, \
    return_reason, bid_deadline, approved_at, published_at, awarded_at, cancel_reason, created_at \
    FROM purchase_projects";

impl TryFrom<Row> for Project {
    type Error = DbError;
    fn try_from(r: Row) -> Result<Self, DbError> {
        Ok(Project {
            region: RegionCode::parse(&r.region_code)
                .map_err(|e| DbError::Corrupt(format!("project region: {e}")))?,
            status: ProjectStatus::parse(&r.status)
                .ok_or_else(|| DbError::Corrupt(format!("project status {}", r.status)))?,
            input: serde_json::from_str(&r.body)
                .map_err(|e| DbError::Corrupt(format!("project body: {e}")))?,
            id: r.id,
            purchaser_name: r.purchaser_name,
            version: r.version,
            catalogue_id: r.catalogue_id,
            return_reason: r.return_reason,
            bid_deadline: r.bid_deadline,
            approved_at: r.approved_at,
            published_at: r.published_at,
            awarded_at: r.awarded_at,
            cancel_reason: r.cancel_reason,
            created_at: r.created_at,
        })
    }
}

/// What a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Budget year.
    pub year: Option<i32>,
    /// Status.
    pub status: Option<ProjectStatus>,
    /// Only what the public may see.
    pub public_only: bool,
    /// How many to skip (the public publication's pages).
    pub offset: i64,
}

/// Projects within `scope` (a provider scope sees the public ones), newest first, at most
/// `limit`.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    f: &Filter,
    limit: i64,
) -> Result<Vec<Project>, DbError> {
    let public_only = f.public_only || scope.provider_id().is_some();
    let rows: Vec<Row> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(COLUMNS);
        q.push(" WHERE 1 = 1");
        if let Some(y) = f.year {
            q.push(" AND year = ").push_bind(y);
        }
        if let Some(s) = f.status {
            q.push(" AND status = ").push_bind(s.as_str());
        }
        if public_only {
            q.push(" AND status NOT IN ('draft', 'submitted', 'returned', 'approved')");
        } else if let Some((lo, hi)) = scope.subtree_range() {
            q.push(" AND region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(f.offset.max(0));
        q.build_query_as::<Row>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Project::try_from).collect()
}

/// A project the caller may see: in its subtree, or public (for providers and the public,
/// pass `Scope::All` with `public_only`).
pub async fn get(conn: &mut Conn<'_>, scope: &Scope, id: Uuid) -> Result<Option<Project>, DbError> {
    let row: Option<Row> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?;
    let Some(p) = row.map(Project::try_from).transpose()? else {
        return Ok(None);
    };
    let visible = match scope {
        Scope::Provider { .. } => p.status.is_public(),
        s => s.covers_record_in(&p.region),
    };
    Ok(visible.then_some(p))
}

/// A project as the public sees it: only once announced.
pub async fn get_public(conn: &mut Conn<'_>, id: Uuid) -> Result<Option<Project>, DbError> {
    Ok(get(conn, &Scope::All, id)
        .await?
        .filter(|p| p.status.is_public()))
}

/// Checks `input` against stored data: the catalogue in force for `region` has the entry and
/// it covers every item; each region served lies within the purchaser's.
async fn check_stored(
    conn: &mut Conn<'_>,
    region: &RegionCode,
    input: &ProjectInput,
) -> Result<Uuid, DbError> {
    let mut inv = Invalid::new();
    for r in &input.regions {
        if !region.contains(r) {
            inv.add(
                "regions",
                format!("服务区域 {} 不在购买主体的辖区内", r.as_str()),
            );
        }
    }
    let Some(cat) = catalogue::in_force(conn, region).await? else {
        inv.add(
            "catalogue_code",
            "本地区还没有发布政府购买服务指导性目录，请先由财政部门发布",
        );
        return Err(inv.into());
    };
    match cat.entry(&input.catalogue_code) {
        None => inv.add(
            "catalogue_code",
            format!(
                "指导性目录（第 {} 版）中没有条目“{}”",
                cat.version, input.catalogue_code
            ),
        ),
        Some(e) => {
            for item in input
                .item_codes
                .iter()
                .filter(|i| !e.item_codes.contains(i))
            {
                inv.add(
                    "item_codes",
                    format!("目录条目“{}”不包括服务项目“{item}”", e.name),
                );
            }
        }
    }
    inv.into_result(cat.id).map_err(DbError::from)
}

fn body(input: &ProjectInput) -> String {
    serde_json::to_string(input).unwrap_or_default()
}

/// Drafts a project for the purchasing body of `region` (in the actor's subtree).
pub async fn create(
    w: &WriteCtx<'_>,
    region: RegionCode,
    purchaser_name: &str,
    input: &ProjectInput,
) -> Result<Uuid, DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("编制政府购买服务项目".into()));
    }
    if !w.actor.scope.covers_record_in(&region) {
        return Err(Invalid::one("region_code", "该区划不在您的管辖范围内").into());
    }
    let name = purchaser_name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(Invalid::one("purchaser_name", "请填写购买主体名称（不超过 60 字）").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let catalogue_id = check_stored(&mut conn, &region, input).await?;
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_projects (id, region_code, purchaser_name, year, version, status, catalogue_id, \
             catalogue_code, title, mode, funding, budget_fen, body, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, 'draft', $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        )
        .bind(id).bind(region.as_str()).bind(name).bind(input.year).bind(catalogue_id)
        .bind(&input.catalogue_code).bind(&input.title).bind(input.mode.as_str())
        .bind(input.funding.as_str()).bind(input.budget_fen).bind(body(input))
        .bind(w.actor.user_id).bind(w.now)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let event = Event::new("purchase_project.create", "purchase_project", id)
        .region(Some(region))
        .detail(json!({ "title": input.title, "budget_fen": input.budget_fen, "mode": input.mode.as_str() }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Loads a project in the actor's subtree for a change, inside the transaction.
async fn for_change(conn: &mut Conn<'_>, scope: &Scope, id: Uuid) -> Result<Project, DbError> {
    match scope {
        Scope::Provider { .. } => Err(DbError::NotFound),
        s => get(conn, s, id).await?.ok_or(DbError::NotFound),
    }
}

fn wrong_state(p: &Project, doing: &str) -> DbError {
    Invalid::one(
        "status",
        format!("项目“{}”{}，不能{doing}", p.input.title, p.status.label()),
    )
    .into()
}

/// Changes a project's content. A draft or returned project is changed in place; an approved
/// one that is not yet announced becomes a new version, with `reason`, back with finance.
pub async fn update(
    w: &WriteCtx<'_>,
    id: Uuid,
    input: &ProjectInput,
    reason: &str,
) -> Result<(), DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("修改政府购买服务项目".into()));
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let p = for_change(&mut conn, &w.actor.scope, id).await?;
    let new_version = match p.status {
        s if s.is_editable() => false,
        ProjectStatus::Approved => {
            if reason.trim().chars().count() < 4 {
                return Err(Invalid::one(
                    "reason",
                    "已批复的项目修改后形成新版本，请写明修改理由（至少 4 字）",
                )
                .into());
            }
            true
        }
        _ => return Err(wrong_state(&p, "修改")),
    };
    let catalogue_id = check_stored(&mut conn, &p.region, input).await?;
    let (version, status) = if new_version {
        (p.version + 1, "submitted")
    } else {
        (p.version, p.status.as_str())
    };
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE purchase_projects SET year = $2, version = $3, status = $4, catalogue_id = $5, catalogue_code = $6, \
             title = $7, mode = $8, funding = $9, budget_fen = $10, body = $11, updated_at = $12, \
             change_reason = CASE WHEN $4 = 'submitted' THEN $13 ELSE change_reason END, \
             submitted_at = CASE WHEN $4 = 'submitted' THEN $12 ELSE submitted_at END \
             WHERE id = $1 AND status = $14 AND version = $15",
        )
        .bind(id).bind(input.year).bind(version).bind(status).bind(catalogue_id)
        .bind(&input.catalogue_code).bind(&input.title).bind(input.mode.as_str())
        .bind(input.funding.as_str()).bind(input.budget_fen).bind(body(input)).bind(w.now)
        .bind(reason.trim()).bind(p.status.as_str()).bind(p.version)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    // Someone took a step on the project meanwhile (submitted, approved, published it): the
    // change was made to what they no longer see.
    if changed != 1 {
        let now = for_change(&mut conn, &w.actor.scope, id).await?;
        return Err(wrong_state(&now, "按修改前的内容修改"));
    }
    let event = Event::new("purchase_project.update", "purchase_project", id)
        .region(Some(p.region))
        .detail(json!({
            "version": version, "reason": reason.trim(),
            "budget_fen": { "from": p.input.budget_fen, "to": input.budget_fen },
        }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves a project from one status to another with the columns that go with it; refused
/// unless it is in one of `from`.
async fn transition(
    w: &WriteCtx<'_>,
    id: Uuid,
    from: &[ProjectStatus],
    doing: &str,
    to: ProjectStatus,
    action: &str,
    extra: serde_json::Value,
) -> Result<Project, DbError> {
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let p = for_change(&mut conn, &w.actor.scope, id).await?;
    if !from.contains(&p.status) {
        return Err(wrong_state(&p, doing));
    }
    let reason = extra
        .get("reason")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let deadline = extra
        .get("bid_deadline")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE purchase_projects SET status = $2, updated_at = $3, \
             submitted_at = CASE WHEN $2 = 'submitted' THEN $3 ELSE submitted_at END, \
             approved_at = CASE WHEN $2 = 'approved' THEN $3 ELSE approved_at END, \
             approved_by = CASE WHEN $2 = 'approved' THEN $4 ELSE approved_by END, \
             return_reason = CASE WHEN $2 = 'returned' THEN $5 ELSE return_reason END, \
             cancel_reason = CASE WHEN $2 = 'cancelled' THEN $5 ELSE cancel_reason END, \
             published_at = CASE WHEN $2 = 'tendering' THEN $3 ELSE published_at END, \
             bid_deadline = CASE WHEN $2 = 'tendering' THEN $6 ELSE bid_deadline END, \
             awarded_at = CASE WHEN $2 = 'awarded' THEN $3 ELSE awarded_at END \
             WHERE id = $1 AND status = $7",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(w.now)
        .bind(w.actor.user_id)
        .bind(reason.clone())
        .bind(deadline)
        .bind(p.status.as_str())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        // Another request moved it first: this one changes nothing.
        return Err(wrong_state(&p, doing));
    }
    if to == ProjectStatus::Approved {
        let why: Option<String> = on_conn!(&mut conn, |c| {
            sqlx::query_scalar("SELECT change_reason FROM purchase_projects WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *c)
                .await
        })?;
        let why = why.unwrap_or_else(|| "初次编报".into());
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "INSERT INTO purchase_project_versions (project_id, version, title, budget_fen, body, reason, approved_by, approved_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id).bind(p.version).bind(&p.input.title).bind(p.input.budget_fen).bind(body(&p.input))
            .bind(why).bind(w.actor.user_id).bind(w.now)
            .execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    let mut detail = extra;
    detail["from"] = json!(p.status.as_str());
    detail["title"] = json!(p.input.title);
    let event = Event::new(action, "purchase_project", id)
        .region(Some(p.region))
        .detail(detail);
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    let mut c = w.db.acquire().await?;
    get(&mut c.conn(), &Scope::All, id)
        .await?
        .ok_or(DbError::NotFound)
}

/// The purchasing body sends a draft or returned project to finance.
pub async fn submit(w: &WriteCtx<'_>, id: Uuid) -> Result<Project, DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("报送政府购买服务项目".into()));
    }
    transition(
        w,
        id,
        &[ProjectStatus::Draft, ProjectStatus::Returned],
        "报送财政审核",
        ProjectStatus::Submitted,
        "purchase_project.submit",
        json!({}),
    )
    .await
}

/// Finance approves a submitted project (freezing this version) or returns it with a reason.
pub async fn decide(
    w: &WriteCtx<'_>,
    id: Uuid,
    approve: bool,
    reason: &str,
) -> Result<Project, DbError> {
    if !w.actor.may(Permission::ApprovePurchases) {
        return Err(DbError::Forbidden("审核政府购买服务项目".into()));
    }
    if approve {
        transition(
            w,
            id,
            &[ProjectStatus::Submitted],
            "批复",
            ProjectStatus::Approved,
            "purchase_project.approve",
            json!({}),
        )
        .await
    } else {
        let reason = reason.trim();
        if reason.chars().count() < 4 || reason.chars().count() > 500 {
            return Err(Invalid::one("reason", "退回须写明理由（4–500 字）").into());
        }
        transition(
            w,
            id,
            &[ProjectStatus::Submitted],
            "退回",
            ProjectStatus::Returned,
            "purchase_project.return",
            json!({ "reason": reason }),
        )
        .await
    }
}

/// The purchasing body announces an approved project; bids are taken until `deadline`, which
/// must be after now.
pub async fn publish(
    w: &WriteCtx<'_>,
    id: Uuid,
    deadline: DateTime<Utc>,
) -> Result<Project, DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("发布政府购买服务公告".into()));
    }
    if deadline <= w.now {
        return Err(Invalid::one("bid_deadline", "截止时间应晚于现在").into());
    }
    transition(
        w,
        id,
        &[ProjectStatus::Approved],
        "发布公告",
        ProjectStatus::Tendering,
        "purchase_project.publish",
        json!({ "bid_deadline": deadline.to_rfc3339() }),
    )
    .await
}

/// Moves a project on from `from` after award, contract, acceptance or evaluation (used by
/// those steps, inside their own checks); refused when another request moved it first.
pub(crate) async fn set_status(
    conn: &mut Conn<'_>,
    id: Uuid,
    from: ProjectStatus,
    to: ProjectStatus,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let changed = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE purchase_projects SET status = $2, updated_at = $3, \
             awarded_at = CASE WHEN $2 = 'awarded' THEN $3 ELSE awarded_at END \
             WHERE id = $1 AND status = $4",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(now)
        .bind(from.as_str())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        // Another request moved the project first: this one changes nothing.
        return Err(Invalid::one("status", "项目状态已被他人改变，请刷新后再试").into());
    }
    Ok(())
}
