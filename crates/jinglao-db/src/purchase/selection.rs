//! Choosing the provider: bids recorded while the project is announced (each bidder passed
//! through the gate — the seven conditions and the credit bar — at the time of bidding, and a
//! failing bidder recorded as disqualified with the reasons); after the deadline, the panel's
//! scores and the award. A losing bidder reads its own scores.

use chrono::{DateTime, Utc};
use jinglao_domain::purchase::project::ProjectStatus;
use jinglao_domain::purchase::selection::{self, RankInput, Ranked};
use jinglao_domain::{Invalid, Permission, Scope};
use serde_json::json;
use uuid::Uuid;

use super::projects::{self, Project};
use crate::audit::{self, Event};
use crate::{Conn, DbError, WriteCtx, on_conn, providers};

/// A stored bid with its provider's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bid {
    /// Id.
    pub id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// Provider's credit code.
    pub credit_code: Option<String>,
    /// Offered price, fen.
    pub price_fen: i64,
    /// Passed the gate.
    pub qualified: bool,
    /// 3A+ social organisation.
    pub priority: bool,
    /// Why not qualified.
    pub gaps: Vec<String>,
    /// Note.
    pub note: String,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// Panel sheets: evaluator and scores.
    pub sheets: Vec<(String, Vec<(String, u32)>)>,
}

#[derive(sqlx::FromRow)]
struct BidRow {
    id: Uuid,
    project_id: Uuid,
    provider_id: Uuid,
    provider_name: String,
    credit_code: Option<String>,
    price_fen: i64,
    qualified: bool,
    priority: bool,
    gaps: String,
    note: String,
    submitted_at: DateTime<Utc>,
}

/// The bids of a project, in submission order, with their sheets.
pub async fn bids(conn: &mut Conn<'_>, project_id: Uuid) -> Result<Vec<Bid>, DbError> {
    let rows: Vec<BidRow> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT b.id, b.project_id, b.provider_id, p.name AS provider_name, p.credit_code, b.price_fen, \
             b.qualified, b.priority, b.gaps, b.note, b.submitted_at \
             FROM purchase_bids b JOIN providers p ON p.id = b.provider_id \
             WHERE b.project_id = $1 ORDER BY b.submitted_at, b.id",
        )
        .bind(project_id)
        .fetch_all(&mut *c)
        .await
    })?;
    let sheets: Vec<(Uuid, String, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT s.bid_id, s.evaluator, s.scores FROM purchase_scores s JOIN purchase_bids b ON b.id = s.bid_id \
             WHERE b.project_id = $1 ORDER BY s.evaluator",
        )
        .bind(project_id)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|r| Bid {
            sheets: sheets
                .iter()
                .filter(|(b, _, _)| *b == r.id)
                .map(|(_, who, s)| (who.clone(), serde_json::from_str(s).unwrap_or_default()))
                .collect(),
            gaps: serde_json::from_str(&r.gaps).unwrap_or_default(),
            id: r.id,
            project_id: r.project_id,
            provider_id: r.provider_id,
            provider_name: r.provider_name,
            credit_code: r.credit_code,
            price_fen: r.price_fen,
            qualified: r.qualified,
            priority: r.priority,
            note: r.note,
            submitted_at: r.submitted_at,
        })
        .collect())
}

/// The ranking of `bids` under the project's mode and criteria (same order as `bids`).
pub fn ranking(p: &Project, bids: &[Bid]) -> Vec<Ranked> {
    let input: Vec<RankInput> = bids
        .iter()
        .enumerate()
        .map(|(i, b)| RankInput {
            order: i,
            price_fen: b.price_fen,
            qualified: b.qualified,
            priority: b.priority,
            sheets: b.sheets.iter().map(|(_, s)| s.clone()).collect(),
        })
        .collect();
    selection::rank(p.input.mode, &p.input.criteria, &input)
}

fn require(w: &WriteCtx<'_>, what: &str) -> Result<(), DbError> {
    if w.actor.may(Permission::PlanPurchases) {
        Ok(())
    } else {
        Err(DbError::Forbidden(what.into()))
    }
}

async fn project_for_change(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Project, DbError> {
    if scope.provider_id().is_some() {
        return Err(DbError::NotFound);
    }
    projects::get(conn, scope, id)
        .await?
        .ok_or(DbError::NotFound)
}

/// What a recorded bid came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidOutcome {
    /// The bid's id.
    pub id: Uuid,
    /// Passed the gate.
    pub qualified: bool,
    /// Why not.
    pub gaps: Vec<String>,
}

/// Records a provider's bid on an announced project before its deadline. The provider is
/// checked at once: a provider failing a condition or barred by its credit record (a fraud
/// penalty bars for `credit.fraud_bar_years` years from the decision) is recorded as
/// disqualified, with each reason, and can never be awarded. One bid per provider.
pub async fn record_bid(
    w: &WriteCtx<'_>,
    project_id: Uuid,
    provider_id: Uuid,
    price_fen: i64,
    note: &str,
) -> Result<BidOutcome, DbError> {
    require(w, "登记投标")?;
    if !(1..=1_000_000_000_000).contains(&price_fen) {
        return Err(Invalid::one("price_fen", "报价应大于 0").into());
    }
    let note = note.trim();
    if note.chars().count() > 500 {
        return Err(Invalid::one("note", "备注不超过 500 字").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let p = project_for_change(&mut conn, &w.actor.scope, project_id).await?;
    if p.status != ProjectStatus::Tendering {
        return Err(Invalid::one("status", format!("项目{}，不接受投标", p.status.label())).into());
    }
    if p.bid_deadline.is_some_and(|d| w.now > d) {
        return Err(Invalid::one("status", "投标截止时间已过").into());
    }
    if price_fen > p.input.budget_fen {
        return Err(Invalid::one("price_fen", "报价超过项目预算").into());
    }
    let provider = providers::get(&mut conn, &Scope::All, provider_id)
        .await?
        .ok_or_else(|| DbError::from(Invalid::one("provider_id", "没有这个服务机构")))?;
    let today = jinglao_domain::clock::china_date(w.now);
    let standing = providers::standing(&mut conn, &provider, today).await?;
    let gaps: Vec<String> = standing
        .gaps
        .iter()
        .map(|g| match g.condition {
            Some(c) => format!("条件{}（{}）：{}", c.number(), c.label(), g.reason),
            None => g.reason.clone(),
        })
        .collect();
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_bids (id, project_id, provider_id, price_fen, qualified, priority, gaps, note, submitted_at, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id).bind(project_id).bind(provider_id).bind(price_fen).bind(standing.qualified)
        .bind(standing.priority).bind(serde_json::to_string(&gaps).unwrap_or_default()).bind(note)
        .bind(w.now).bind(w.actor.user_id)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })
    .map_err(DbError::from)
    .map_err(|e| {
        if e.is_conflict_on("purchase_bids.project_id") {
            DbError::from(Invalid::one("provider_id", format!("{}已经投过标", provider.name)))
        } else {
            e
        }
    })?;
    let event = Event::new("purchase_bid.record", "purchase_project", project_id)
        .region(Some(p.region))
        .detail(json!({ "bid": id, "provider": provider.name, "price_fen": price_fen, "qualified": standing.qualified, "gaps": gaps }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(BidOutcome {
        id,
        qualified: standing.qualified,
        gaps,
    })
}

fn after_deadline(p: &Project, now: DateTime<Utc>) -> Result<(), DbError> {
    if p.status != ProjectStatus::Tendering {
        return Err(Invalid::one("status", format!("项目{}，不能评审", p.status.label())).into());
    }
    if p.bid_deadline.is_some_and(|d| now <= d) {
        return Err(Invalid::one("status", "投标截止后才能评审").into());
    }
    Ok(())
}

/// Refuses the award of a 单一来源 project before its public notice has run the region's
/// working days (`purchase.single_source_notice_days`, counted from the day it was announced on
/// the working-day calendar).
async fn single_source_noticed(
    conn: &mut Conn<'_>,
    p: &Project,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if p.input.mode != jinglao_domain::purchase::project::PurchaseMode::SingleSource {
        return Ok(());
    }
    let book = crate::policy::load(conn).await?;
    let days = book
        .int(
            jinglao_domain::policy::PolicyKey::PurchaseSingleSourceNoticeDays,
            &p.region,
        )
        .max(0) as u32;
    let Some(published) = p.published_at else {
        return Ok(());
    };
    let from = jinglao_domain::clock::china_date(published);
    let calendar = crate::calendar::load(conn).await?;
    let until = calendar.add_working_days(from, days);
    if days > 0 && jinglao_domain::clock::china_date(now) <= until {
        return Err(Invalid::one(
            "status",
            format!(
                "单一来源采购须公示 {days} 个工作日（{from} 公告，公示至 {until}），期满后才能确定承接主体"
            ),
        )
        .into());
    }
    Ok(())
}

/// Records one panel member's scores of one qualified bid after the deadline (a second sheet
/// by the same member replaces the first).
pub async fn score(
    w: &WriteCtx<'_>,
    bid_id: Uuid,
    evaluator: &str,
    scores: &[(String, u32)],
) -> Result<(), DbError> {
    require(w, "录入评分")?;
    let evaluator = evaluator.trim();
    if evaluator.is_empty() || evaluator.chars().count() > 30 {
        return Err(Invalid::one("evaluator", "请填写评审专家姓名（不超过 30 字）").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let project_id: Option<Uuid> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT project_id FROM purchase_bids WHERE id = $1")
            .bind(bid_id)
            .fetch_optional(&mut *c)
            .await
    })?;
    let p = project_for_change(
        &mut conn,
        &w.actor.scope,
        project_id.ok_or(DbError::NotFound)?,
    )
    .await?;
    after_deadline(&p, w.now)?;
    if !selection::panel_scores(p.input.mode, &p.input.criteria) {
        return Err(Invalid::one(
            "bid_id",
            format!("{}不设评审专家评分", p.input.mode.label()),
        )
        .into());
    }
    selection::check_sheet(&p.input.criteria, scores)?;
    let all = bids(&mut conn, p.id).await?;
    if !all.iter().any(|b| b.id == bid_id && b.qualified) {
        return Err(Invalid::one("bid_id", "资格审查未通过的投标不评分").into());
    }
    let text = serde_json::to_string(scores).unwrap_or_default();
    on_conn!(&mut conn, |c| {
        sqlx::query("DELETE FROM purchase_scores WHERE bid_id = $1 AND evaluator = $2")
            .bind(bid_id)
            .bind(evaluator)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_conn!(&mut conn, |c| {
        sqlx::query("INSERT INTO purchase_scores (bid_id, evaluator, scores, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(bid_id).bind(evaluator).bind(&text).bind(w.actor.user_id).bind(w.now)
            .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let event = Event::new("purchase_bid.score", "purchase_project", p.id)
        .region(Some(p.region))
        .detail(json!({ "bid": bid_id, "evaluator": evaluator, "scores": scores }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(())
}

/// Awards the project to the bids `chosen` after the deadline: each a qualified bid of this
/// project, one unless the mode allows several, a reason when not the first-ranked. Each
/// award is worth the bid's price.
pub async fn award(
    w: &WriteCtx<'_>,
    project_id: Uuid,
    chosen: &[Uuid],
    reason: &str,
) -> Result<Vec<Uuid>, DbError> {
    require(w, "确定承接主体")?;
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let p = project_for_change(&mut conn, &w.actor.scope, project_id).await?;
    after_deadline(&p, w.now)?;
    single_source_noticed(&mut conn, &p, w.now).await?;
    let all = bids(&mut conn, project_id).await?;
    let ranked = ranking(&p, &all);
    let mut orders = Vec::new();
    for id in chosen {
        match all.iter().position(|b| b.id == *id) {
            Some(i) => orders.push(i),
            None => return Err(Invalid::one("bids", "所选投标不属于本项目").into()),
        }
    }
    let sheets: Vec<(&str, bool, Vec<&str>)> = all
        .iter()
        .map(|b| {
            (
                b.provider_name.as_str(),
                b.qualified,
                b.sheets.iter().map(|(who, _)| who.as_str()).collect(),
            )
        })
        .collect();
    selection::check_panel(p.input.mode, &p.input.criteria, &sheets)?;
    selection::check_award(p.input.mode, &ranked, &orders, reason)?;
    if reason.trim().chars().count() > 500 {
        return Err(Invalid::one("reason", "理由不超过 500 字").into());
    }
    // The standing again on the day of the award: a bar recorded since the bid counts.
    let today = jinglao_domain::clock::china_date(w.now);
    for &i in &orders {
        let provider = providers::get(&mut conn, &Scope::All, all[i].provider_id)
            .await?
            .ok_or(DbError::NotFound)?;
        let standing = providers::standing(&mut conn, &provider, today).await?;
        if !standing.qualified {
            let why: Vec<String> = standing.gaps.iter().map(|g| g.reason.clone()).collect();
            return Err(Invalid::one(
                "bids",
                format!("{}现已不符合承接条件：{}", provider.name, why.join("；")),
            )
            .into());
        }
    }
    let total: i64 = orders.iter().map(|&i| all[i].price_fen).sum();
    if total > p.input.budget_fen {
        return Err(Invalid::one("bids", "中标金额合计超过项目预算").into());
    }
    // Claimed first: a second award running at the same time finds the project awarded.
    projects::set_status(
        &mut conn,
        project_id,
        ProjectStatus::Tendering,
        ProjectStatus::Awarded,
        w.now,
    )
    .await?;
    let mut ids = Vec::new();
    for &i in &orders {
        let (b, r) = (&all[i], &ranked[i]);
        let why = if reason.trim().is_empty() {
            if p.input.mode.lowest_price_wins() {
                format!("资格审查合格且报价最低（排名第 {}）", r.rank.unwrap_or(0))
            } else {
                format!(
                    "综合得分 {:.2} 分，排名第 {}",
                    f64::from(r.total_centi) / 100.0,
                    r.rank.unwrap_or(0)
                )
            }
        } else {
            reason.trim().to_string()
        };
        let id = Uuid::now_v7();
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "INSERT INTO purchase_awards (id, project_id, bid_id, provider_id, value_fen, rank, reason, decided_by, decided_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id).bind(project_id).bind(b.id).bind(b.provider_id).bind(b.price_fen)
            .bind(r.rank.unwrap_or(0) as i32).bind(&why).bind(w.actor.user_id).bind(w.now)
            .execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
        ids.push(id);
    }

    let names: Vec<&str> = orders
        .iter()
        .map(|&i| all[i].provider_name.as_str())
        .collect();
    let event = Event::new("purchase_project.award", "purchase_project", project_id)
        .region(Some(p.region))
        .detail(json!({ "title": p.input.title, "providers": names, "reason": reason.trim() }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(ids)
}

/// A stored award.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Award {
    /// Id.
    pub id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Bid.
    pub bid_id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// Provider's credit code.
    pub credit_code: Option<String>,
    /// Worth, fen.
    pub value_fen: i64,
    /// Rank of the bid.
    pub rank: i32,
    /// Why.
    pub reason: String,
    /// When.
    pub decided_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AwardRow {
    id: Uuid,
    project_id: Uuid,
    bid_id: Uuid,
    provider_id: Uuid,
    provider_name: String,
    credit_code: Option<String>,
    value_fen: i64,
    rank: i32,
    reason: String,
    decided_at: DateTime<Utc>,
}

const AWARD_COLUMNS: &str = "SELECT a.id, a.project_id, a.bid_id, a.provider_id, p.name AS provider_name, p.credit_code, \
    a.value_fen, a.rank, a.reason, a.decided_at FROM purchase_awards a JOIN providers p ON p.id = a.provider_id";

/// The awards of a project.
pub async fn awards(conn: &mut Conn<'_>, project_id: Uuid) -> Result<Vec<Award>, DbError> {
    let rows: Vec<AwardRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{AWARD_COLUMNS} WHERE a.project_id = $1 ORDER BY a.decided_at, a.id"
        )))
        .bind(project_id)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(rows.into_iter().map(award_of).collect())
}

/// One award by id.
pub async fn award_by_id(conn: &mut Conn<'_>, id: Uuid) -> Result<Option<Award>, DbError> {
    let row: Option<AwardRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{AWARD_COLUMNS} WHERE a.id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
    })?;
    Ok(row.map(award_of))
}

fn award_of(r: AwardRow) -> Award {
    Award {
        id: r.id,
        project_id: r.project_id,
        bid_id: r.bid_id,
        provider_id: r.provider_id,
        provider_name: r.provider_name,
        credit_code: r.credit_code,
        value_fen: r.value_fen,
        rank: r.rank,
        reason: r.reason,
        decided_at: r.decided_at,
    }
}
