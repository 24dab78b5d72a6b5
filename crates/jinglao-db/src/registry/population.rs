//! Loading a generated population (`jinglao demo --elders N`, benchmarks): records,
//! categories and effective assessments written in one transaction with multi-row statements,
//! after the personal numbers are encrypted on all cores.
//!
//! The load is one audited action ("population.load", with the seed and counts) rather than
//! one audit entry per synthetic person: nobody real is read or changed. Imports of real
//! people go through [`crate::elder_import`], which audits each record.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::RegionCode;
use jinglao_domain::assessment::ITEMS;
use jinglao_domain::assessment_form::reassessment_due;
use jinglao_domain::bulk::SynthElder;
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::elder_bulk::{
    Ability, NewCategory, NewElder, insert_categories, insert_many, restore_indexes,
    suspend_indexes,
};
use crate::elders::{Secrets, seal_many};
use crate::{Actor, Conn, Db, DbError, on_conn};
use jinglao_domain::elder::ElderInput;

/// Who made the generated assessments.
#[derive(Debug, Clone, Copy)]
pub struct Assessors {
    /// The agency.
    pub agency_id: Uuid,
    /// First assessor.
    pub first: Uuid,
    /// Second assessor.
    pub second: Uuid,
    /// The staff account that reviewed and approved them.
    pub approver: Uuid,
}

/// What a load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Records.
    pub elders: usize,
    /// Category rows.
    pub categories: usize,
    /// Effective assessments.
    pub assessments: usize,
}

/// A population to load, with what its records need.
#[derive(Debug, Clone, Copy)]
pub struct Population<'a> {
    /// The people.
    pub people: &'a [SynthElder],
    /// Who assessed them (none: no assessments are written).
    pub assessors: Option<Assessors>,
    /// The policy book their categories and assessments are read under.
    pub policy: &'a PolicyBook,
    /// A label for the import record.
    pub label: &'a str,
}

/// Writes `people` in batches of `batch` records, calling `progress` with the number written
/// so far. Everything commits together or not at all.
pub async fn load(
    db: &Db,
    keys: Secrets<'_>,
    actor: &Actor,
    p: &Population<'_>,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize),
) -> Result<LoadSummary, DbError> {
    let Population {
        people,
        assessors,
        policy,
        label,
    } = *p;
    let cipher = keys.cipher;
    // CPU-bound for a few seconds at most; this runs in batch commands, not in the server.
    let ids: Vec<Uuid> = people.iter().map(|_| Uuid::now_v7()).collect();
    let inputs: Vec<(Uuid, &ElderInput)> = ids
        .iter()
        .copied()
        .zip(people.iter().map(|p| &p.input))
        .collect();
    let sealed = seal_many(cipher, &inputs);
    let mut summary = LoadSummary::default();
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    crate::elder_bulk::bulk_cache(&mut conn, true).await?;
    // The cache is put back whether or not the writes succeed: this connection returns to the
    // pool either way.
    let written = async {
        let suspended = suspend_indexes(&mut conn, people.len()).await?;
        const BATCH: usize = 20_000;
        for (n, chunk) in people.chunks(BATCH).enumerate() {
            let base = n * BATCH;
            let rows: Vec<NewElder<'_>> = chunk
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    let i = base + k;
                    NewElder {
                        id: ids[i],
                        input: &p.input,
                        sealed: &sealed[i],
                        ability: match (&p.assessment, assessors) {
                            (Some(a), Some(_)) => a.form.reference_date.map(|d| Ability {
                                level: a.result.final_level.number() as i32,
                                assessed_on: d,
                                due: reassessment_due(
                                    d,
                                    interval(policy, &p.input.residence_region),
                                ),
                                dementia: a.form.has_dementia(),
                            }),
                            _ => None,
                        },
                    }
                })
                .collect();
            insert_many(&mut conn, &rows, now).await?;
            let cats: Vec<NewCategory<'_>> = chunk
                .iter()
                .enumerate()
                .flat_map(|(k, p)| {
                    let id = ids[base + k];
                    p.categories
                        .iter()
                        .map(move |c| (id, &p.input.residence_region, c))
                })
                .collect();
            insert_categories(&mut conn, &cats, now).await?;
            summary.categories += cats.len();
            if let Some(who) = assessors {
                summary.assessments +=
                    insert_assessments(&mut conn, who, &ids[base..base + chunk.len()], chunk, now)
                        .await?;
            }
            summary.elders += chunk.len();
            progress(summary.elders);
        }
        restore_indexes(&mut conn, suspended).await?;
        let event = Event {
            action: "population.load",
            entity: "elder",
            record_id: None,
            region_code: actor.scope.region_root(),
            detail: json!({
                "source": label, "elders": summary.elders, "categories": summary.categories,
                "assessments": summary.assessments,
            }),
        };
        audit::append(&mut conn, keys.chain, actor, event, now).await?;
        Ok::<(), DbError>(())
    }
    .await;
    crate::elder_bulk::bulk_cache(&mut conn, false).await?;
    written?;
    tx.commit().await?;
    crate::elder_bulk::refresh_statistics(db).await?;
    Ok(summary)
}

fn interval(policy: &PolicyBook, region: &RegionCode) -> u32 {
    policy.int(PolicyKey::ReassessmentIntervalMonths, region) as u32
}

/// Inserts the effective assessments of a batch; returns how many.
async fn insert_assessments(
    conn: &mut Conn<'_>,
    who: Assessors,
    ids: &[Uuid],
    people: &[SynthElder],
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    struct Row {
        id: Uuid,
        elder_id: Uuid,
        reason: Option<&'static str>,
        reference_date: Option<NaiveDate>,
        region: String,
        form: String,
        digits: String,
        result: jinglao_domain::assessment::ScoreResult,
        adjustments: String,
    }
    let rows: Vec<Row> = people
        .iter()
        .zip(ids)
        .filter_map(|(p, id)| {
            let a = p.assessment.as_ref()?;
            Some(Row {
                id: Uuid::now_v7(),
                elder_id: *id,
                reason: a.form.reason.map(|r| r.as_str()),
                reference_date: a.form.reference_date,
                region: p.input.residence_region.as_str().to_string(),
                form: serde_json::to_string(&a.form).unwrap_or_default(),
                digits: ITEMS
                    .iter()
                    .map(|it| {
                        char::from_digit(*a.form.items.get(it.code).unwrap_or(&0) as u32, 10)
                            .unwrap_or('0')
                    })
                    .collect(),
                adjustments: serde_json::to_string(&a.result.adjustments).unwrap_or_default(),
                result: a.result.clone(),
            })
        })
        .collect();
    // The generator scores with the default rule (the two adjustments do not stack).
    let stacking = "apply_once";
    // 29 values per row.
    for chunk in rows.chunks(1000) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO assessments (id, elder_id, supersedes_id, version, status, reason, reference_date, \
                 region_code, agency_id, assessor1_id, assessor2_id, form, scores, total, self_care, \
                 basic_mobility, mental, perception_social, preliminary_level, final_level, adjustments, \
                 stacking, submitted_at, reviewed_at, reviewed_by, effective_at, effective_by, created_by, \
                 created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.id)
                    .push_bind(r.elder_id)
                    .push_bind(None::<Uuid>)
                    .push_bind(1i32)
                    .push_bind("effective")
                    .push_bind(r.reason)
                    .push_bind(r.reference_date)
                    .push_bind(r.region.clone())
                    .push_bind(who.agency_id)
                    .push_bind(who.first)
                    .push_bind(who.second)
                    .push_bind(r.form.clone())
                    .push_bind(r.digits.clone())
                    .push_bind(r.result.total as i32)
                    .push_bind(r.result.indicators.self_care as i32)
                    .push_bind(r.result.indicators.basic_mobility as i32)
                    .push_bind(r.result.indicators.mental as i32)
                    .push_bind(r.result.indicators.perception_social as i32)
                    .push_bind(r.result.preliminary_level.number() as i32)
                    .push_bind(r.result.final_level.number() as i32)
                    .push_bind(r.adjustments.clone())
                    .push_bind(stacking)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(who.approver)
                    .push_bind(now)
                    .push_bind(who.approver)
                    .push_bind(who.first)
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(rows.len())
}
