//! Star rating workflow: application (prerequisites, first-time cap, two-year bar) →
//! self-assessment → expert scoring sheet → decision under the region's thresholds →
//! publication, which sets the facility's level for three years (policy parameter).

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use jinglao_domain::rating::{
    self, Level, PartScores, Prerequisites, check_item, decide, refusals,
};
use jinglao_domain::{Invalid, Permission};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, facilities, on_conn};

/// A rating application.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Rating {
    /// Id.
    pub id: Uuid,
    /// Facility.
    pub facility_id: Uuid,
    /// Level asked for.
    pub requested_level: i32,
    /// applied, self_assessed, scored, decided, published.
    pub status: String,
    /// Application date.
    pub applied_on: NaiveDate,
    /// Level granted.
    pub granted_level: Option<i32>,
    /// Whether the requested level was failed.
    pub failed: bool,
    /// Decision date.
    pub decided_on: Option<NaiveDate>,
    /// Valid until.
    pub valid_until: Option<NaiveDate>,
    /// Publication date.
    pub published_on: Option<NaiveDate>,
    /// The decision's reasons, one per line.
    pub reasons: String,
}

const SELECT: &str = "SELECT id, facility_id, requested_level, status, applied_on, granted_level, \
    failed, decided_on, valid_until, published_on, reasons FROM ratings";

/// The ratings of a facility, newest first.
pub async fn of_facility(conn: &mut Conn<'_>, facility_id: Uuid) -> Result<Vec<Rating>, DbError> {
    let sql = format!("{SELECT} WHERE facility_id = $1 ORDER BY applied_on DESC, id DESC");
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(facility_id)
            .fetch_all(&mut *c)
            .await
    })?)
}

async fn load(conn: &mut Conn<'_>, id: Uuid) -> Result<Rating, DbError> {
    let sql = format!("{SELECT} WHERE id = $1");
    on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?
    .ok_or(DbError::NotFound)
}

/// Applies for `requested` on behalf of a facility in scope (its provider or bureau staff).
/// The provider's credit records in force (a serious penalty, a 失信 listing, a fraud
/// penalty within its years) stop the application with the record named.
pub async fn apply(
    db: &Db,
    key: &ChainKey,
    book: &PolicyBook,
    actor: &Actor,
    facility_id: Uuid,
    requested: i64,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let today = jinglao_domain::clock::china_date(now);
    let Some(level) = Level::new(requested) else {
        return Err(Invalid::one("requested_level", "申请等级应为一级至五级").into());
    };
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    if !actor.may(Permission::ManageFacilities) && !actor.may(Permission::RateFacilities) {
        return Err(DbError::NotFound);
    }
    let f = facilities::get(&mut conn, &actor.scope, facility_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if !f.kind.is_institution() {
        return Err(Invalid::one("facility", "等级评定适用于养老机构").into());
    }
    let history = of_facility(&mut conn, facility_id).await?;
    let region = &f.region_code;
    let credit_bar = crate::credit::credit_of(&mut conn, f.provider_id)
        .await?
        .rating_bar(today);
    let cap = book.int(PolicyKey::RatingFirstTimeCap, region);
    let p = Prerequisites {
        filed: !f.filing_no.is_empty(),
        opened_on: f.opened_on,
        min_operating_months: book.int(PolicyKey::RatingMinOperatingMonths, region) as u32,
        credit_bar,
        rated_before: history.iter().any(|r| r.granted_level.is_some()),
        first_time_cap: Level::new(cap),
        failures: history
            .iter()
            .filter(|r| r.failed)
            .filter_map(|r| Some((r.decided_on?, Level::new(r.requested_level.into())?)))
            .collect(),
        bar_years: book.int(PolicyKey::RatingReapplyYears, region) as u32,
        open_application: history
            .iter()
            .any(|r| !matches!(r.status.as_str(), "decided" | "published")),
    };
    let refused = refusals(&p, level, today);
    if !refused.is_empty() {
        let mut inv = Invalid::new();
        for (field, msg) in refused {
            inv.add(field, msg);
        }
        return Err(inv.into());
    }
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query("INSERT INTO ratings (id, facility_id, requested_level, status, applied_on, created_at, updated_at) \
                     VALUES ($1, $2, $3, 'applied', $4, $5, $5)")
            .bind(id).bind(facility_id).bind(level.number() as i32).bind(today).bind(now)
            .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let event = Event::new("rating.apply", "facility", facility_id)
        .region(Some(f.region_code))
        .detail(json!({ "rating_id": id, "requested_level": level.number() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Saves a whole sheet: `self` by the facility (moves to self_assessed), `expert` by bureau
/// raters (moves to scored). Every item must be present, known and within its maximum; the
/// sheet replaces any earlier one, in one transaction.
pub async fn save_sheet(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    rating_id: Uuid,
    sheet: &str,
    scores: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<PartScores, DbError> {
    let mut inv = Invalid::new();
    let mut parsed = Vec::new();
    for item in rating::SHEET.iter() {
        let field = format!("score.{}", item.code);
        match scores.iter().find(|(c, _)| c == item.code) {
            None => inv.add(&field, format!("请填写“{}”的得分", item.name)),
            Some((_, text)) => match rating::parse_tenths(text) {
                None => inv.add(&field, "得分应为数字，最多一位小数"),
                Some(v) => match check_item(item.code, v) {
                    Ok(()) => parsed.push((item.code, v)),
                    Err(e) => inv.add(&field, e),
                },
            },
        }
    }
    for (code, _) in scores {
        if rating::sheet_item(code).is_none() {
            inv.add(&format!("score.{code}"), format!("评分表中没有条目 {code}"));
        }
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let r = load(&mut conn, rating_id).await?;
    let f = facilities::get(&mut conn, &actor.scope, r.facility_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let (allowed_from, next) = match sheet {
        "self" if actor.may(Permission::ManageFacilities) => {
            (&["applied", "self_assessed"][..], "self_assessed")
        }
        "expert" if actor.may(Permission::RateFacilities) => {
            (&["self_assessed", "scored"][..], "scored")
        }
        "self" | "expert" => return Err(DbError::NotFound),
        _ => return Err(Invalid::one("sheet", "评分表应为自评或专家评分").into()),
    };
    if !allowed_from.contains(&r.status.as_str()) {
        inv.add("sheet", "当前环节不能填写这张评分表");
    }
    if !inv.is_empty() {
        return Err(inv.into());
    }
    on_conn!(&mut conn, |c| {
        sqlx::query("DELETE FROM rating_scores WHERE rating_id = $1 AND sheet = $2")
            .bind(rating_id)
            .bind(sheet)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_conn!(&mut conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO rating_scores (rating_id, sheet, item_code, tenths) ",
        );
        q.push_values(&parsed, |mut row, (code, v)| {
            row.push_bind(rating_id)
                .push_bind(sheet)
                .push_bind(*code)
                .push_bind(*v as i32);
        });
        q.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE ratings SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(next)
            .bind(now)
            .bind(rating_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    let totals = PartScores::from_items(parsed.iter().map(|(c, v)| (*c, *v)));
    let event = Event::new("rating.sheet", "facility", r.facility_id)
        .region(Some(f.region_code))
        .detail(json!({ "rating_id": rating_id, "sheet": sheet, "total_tenths": totals.total() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(totals)
}

/// The item scores of a sheet.
pub async fn sheet(
    conn: &mut Conn<'_>,
    rating_id: Uuid,
    sheet: &str,
) -> Result<Vec<(String, i64)>, DbError> {
    let rows: Vec<(String, i32)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT item_code, tenths FROM rating_scores WHERE rating_id = $1 AND sheet = $2",
        )
        .bind(rating_id)
        .bind(sheet)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(rows.into_iter().map(|(c, v)| (c, v.into())).collect())
}

/// Decides from the expert sheet under the region's thresholds (stored with the decision) and,
/// when `publish`, publishes at once: the facility's level and its validity are set.
pub async fn decide_and_publish(
    db: &Db,
    key: &ChainKey,
    book: &PolicyBook,
    actor: &Actor,
    rating_id: Uuid,
    now: DateTime<Utc>,
) -> Result<rating::Outcome, DbError> {
    if !actor.may(Permission::RateFacilities) {
        return Err(DbError::NotFound);
    }
    let today = jinglao_domain::clock::china_date(now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let r = load(&mut conn, rating_id).await?;
    let f = facilities::get(&mut conn, &actor.scope, r.facility_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if r.status != "scored" {
        return Err(Invalid::one("status", "专家评分完成后才能评定").into());
    }
    // A penalty or listing recorded while the rating was under way stops it here too.
    if let Some(why) = crate::credit::credit_of(&mut conn, f.provider_id)
        .await?
        .rating_bar(today)
    {
        return Err(Invalid::one(
            "status",
            format!("{why}，暂不能评定；记录撤销或到期后再评定"),
        )
        .into());
    }
    let items = sheet(&mut conn, rating_id, "expert").await?;
    let scores = PartScores::from_items(items.iter().map(|(c, v)| (c.as_str(), *v)));
    let thresholds = book.rating_thresholds(&f.region_code);
    let requested =
        Level::new(r.requested_level.into()).ok_or(DbError::Corrupt("申请等级无效".into()))?;
    let outcome = decide(&scores, &thresholds, requested);
    let until = rating::valid_until(
        today,
        book.int(PolicyKey::RatingValidYears, &f.region_code) as u32,
    );
    let granted = outcome.granted.map(|l| l.number() as i32);
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE ratings SET status = 'published', granted_level = $1, failed = $2, decided_on = $3, \
                     valid_until = $4, published_on = $3, reasons = $5, thresholds = $6, updated_at = $7 WHERE id = $8")
            .bind(granted).bind(outcome.failed).bind(today).bind(granted.map(|_| until))
            .bind(outcome.reasons.join("\n"))
            .bind(book.resolve(PolicyKey::RatingThresholds, &f.region_code).value)
            .bind(now).bind(rating_id)
            .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    if let Some(g) = granted {
        on_conn!(&mut conn, |c| {
            sqlx::query("UPDATE facilities SET star_level = $1, star_valid_until = $2, updated_at = $3 WHERE id = $4")
                .bind(g).bind(until).bind(now).bind(f.id).execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    let event = Event::new("rating.decide", "facility", f.id)
        .region(Some(f.region_code))
        .detail(
            json!({ "rating_id": rating_id, "granted": granted, "failed": outcome.failed,
            "total_tenths": scores.total(), "reasons": outcome.reasons }),
        );
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// One rating and its facility, when the facility is within `scope`.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &jinglao_domain::Scope,
    id: Uuid,
) -> Result<Option<(Rating, facilities::Facility)>, DbError> {
    let r = match load(conn, id).await {
        Ok(r) => r,
        Err(DbError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(facilities::get(conn, scope, r.facility_id)
        .await?
        .map(|f| (r, f)))
}
