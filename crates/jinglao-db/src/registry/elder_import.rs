//! Applying a bulk import: a plan (what is new, unchanged, changed — with the changes — or out
//! of scope) that the user sees before committing, then one transaction that writes it all
//! with batched inserts. Idempotent by ID number: importing the same file again changes
//! nothing.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::Invalid;
use jinglao_domain::RegionCode;
use jinglao_domain::Scope;
use jinglao_domain::elder::{ElderInput, FieldChange, diff};
use jinglao_domain::elder_import::{ImportRecord, header_for};
use jinglao_domain::region_import::RowProblem;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::crypto::{Field, FieldCipher};
use crate::elder_bulk::{
    NewCategory, NewElder, insert_categories, insert_many, restore_indexes, suspend_indexes,
};
use crate::elders::{Sealed, Secrets, get_input, seal_many, update_row};
use crate::{Actor, Db, DbError, on_conn};

/// What happens to one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A new person.
    New,
    /// Already registered exactly so.
    Unchanged {
        /// The record.
        elder_id: Uuid,
    },
    /// Registered, with these differences.
    Update {
        /// The record.
        elder_id: Uuid,
        /// What changes.
        changes: Vec<FieldChange>,
        /// The record as it will be: the row, with what is on file wherever its optional
        /// cells were empty.
        input: Box<ElderInput>,
    },
}

/// The plan for one valid row.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRow {
    /// Index into the records.
    pub index: usize,
    /// Line in the file.
    pub line: usize,
    /// What happens.
    pub action: Action,
    /// Indices of the row's categories that will be added.
    pub new_categories: Vec<usize>,
}

/// What an import would do.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    /// Rows that will be written or left alone.
    pub rows: Vec<PlannedRow>,
    /// Valid rows refused because of scope (the person lives, or is registered, outside the
    /// importer's area).
    pub refused: Vec<RowProblem>,
    /// A digest of the plan: committing checks it has not changed since the preview.
    pub fingerprint: String,
}

impl ImportPlan {
    /// Rows that add a person.
    pub fn new_count(&self) -> usize {
        self.rows.iter().filter(|r| r.action == Action::New).count()
    }
    /// Rows that change a person.
    pub fn update_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.action, Action::Update { .. }))
            .count()
    }
    /// Rows already registered as they are.
    pub fn unchanged_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.action, Action::Unchanged { .. }))
            .count()
    }
    /// Categories to add.
    pub fn category_count(&self) -> usize {
        self.rows.iter().map(|r| r.new_categories.len()).sum()
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// People added.
    pub inserted: usize,
    /// People changed.
    pub updated: usize,
    /// Rows with nothing to do.
    pub unchanged: usize,
    /// Categories added.
    pub categories_added: usize,
}

struct Existing {
    id: Uuid,
    digest: String,
    residence: RegionCode,
}

const CHUNK: usize = 500;

/// Works out what importing `records` would do for `scope`, reading but not writing.
pub async fn plan(
    db: &Db,
    cipher: &FieldCipher,
    scope: &Scope,
    records: &[ImportRecord],
) -> Result<ImportPlan, DbError> {
    let hashes: Vec<String> = records
        .iter()
        .map(|r| cipher.lookup_hash(Field::IdNumber, r.input.id_number.as_str()))
        .collect();
    let mut c = db.acquire().await?;
    let mut conn = c.conn();
    let mut existing: HashMap<String, Existing> = HashMap::new();
    for chunk in hashes.chunks(CHUNK) {
        let rows: Vec<(Uuid, String, String, String)> = on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT id, id_hash, content_digest, residence_region_code FROM elders WHERE id_hash IN (",
            );
            let mut sep = q.separated(", ");
            for h in chunk {
                sep.push_bind(h.clone());
            }
            q.push(")");
            q.build_query_as::<(Uuid, String, String, String)>()
                .fetch_all(&mut *c)
                .await
        })?;
        for (id, hash, digest, residence) in rows {
            let residence = RegionCode::parse(&residence)
                .map_err(|_| DbError::Corrupt(format!("老年人记录 {id} 的居住地代码无效")))?;
            existing.insert(
                hash,
                Existing {
                    id,
                    digest,
                    residence,
                },
            );
        }
    }

    // Categories already recorded for the people who exist.
    let ids: Vec<Uuid> = existing.values().map(|e| e.id).collect();
    let mut cats: HashMap<Uuid, Vec<(String, NaiveDate, Option<NaiveDate>)>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, String, NaiveDate, Option<NaiveDate>)> = on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT elder_id, kind, start_date, end_date FROM elder_categories WHERE elder_id IN (",
            );
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            q.build_query_as::<(Uuid, String, NaiveDate, Option<NaiveDate>)>()
                .fetch_all(&mut *c)
                .await
        })?;
        for (id, kind, start, end) in rows {
            cats.entry(id).or_default().push((kind, start, end));
        }
    }

    let mut plan = ImportPlan::default();
    for (index, (rec, hash)) in records.iter().zip(&hashes).enumerate() {
        let residence = rec.input.residence_region;
        let (action, elder_id) = match existing.get(hash) {
            Some(e) if !scope.covers_record_in(&e.residence) => {
                plan.refused.push(RowProblem {
                    line: rec.line,
                    column: header_for("id_number").into(),
                    value: rec.input.id_number.masked(),
                    reason: crate::elders::REGISTERED_ELSEWHERE.to_string(),
                });
                continue;
            }
            Some(e) if e.digest == crate::elders::content_digest(cipher, &rec.input) => {
                (Action::Unchanged { elder_id: e.id }, Some(e.id))
            }
            Some(e) => {
                let old = get_input(&mut conn, cipher, e.id)
                    .await?
                    .ok_or(DbError::NotFound)?;
                // The same ID number under another name is a typing error in one of the two
                // (or someone else's number), never a reason to overwrite the person on file.
                if old.name.trim() != rec.input.name.trim() {
                    plan.refused.push(RowProblem {
                        line: rec.line,
                        column: header_for("name").into(),
                        value: rec.input.name.clone(),
                        reason: format!(
                            "这个身份证号码已登记为“{}”，与本行姓名不一致：请核对号码和姓名；确需更名的，在该老人的档案中修改",
                            old.name.trim()
                        ),
                    });
                    continue;
                }
                // An empty optional cell keeps what is on file.
                let mut merged = rec.input.clone();
                merged.keep_where_blank(&old, &rec.blank);
                if merged == old {
                    (Action::Unchanged { elder_id: e.id }, Some(e.id))
                } else {
                    (
                        Action::Update {
                            elder_id: e.id,
                            changes: diff(&old, &merged),
                            input: Box::new(merged),
                        },
                        Some(e.id),
                    )
                }
            }
            None => (Action::New, None),
        };
        if !scope.covers_record_in(&residence) {
            plan.refused.push(RowProblem {
                line: rec.line,
                column: header_for("residence_region_code").into(),
                value: residence.to_string(),
                reason: "居住地不在您的管辖范围内".into(),
            });
            continue;
        }
        let held = elder_id.and_then(|id| cats.get(&id));
        let new_categories = rec
            .categories
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                !held.is_some_and(|h| {
                    h.iter()
                        .any(|(k, _, e)| k == c.kind.as_str() && e.is_none_or(|e| c.start <= e))
                })
            })
            .map(|(i, _)| i)
            .collect();
        plan.rows.push(PlannedRow {
            index,
            line: rec.line,
            action,
            new_categories,
        });
    }
    plan.fingerprint = fingerprint(&plan);
    Ok(plan)
}

fn fingerprint(plan: &ImportPlan) -> String {
    let mut h = Sha256::new();
    for r in &plan.rows {
        let (tag, id, changes) = match &r.action {
            Action::New => ("new", None, String::new()),
            Action::Unchanged { elder_id } => ("same", Some(*elder_id), String::new()),
            Action::Update {
                elder_id, changes, ..
            } => (
                "update",
                Some(*elder_id),
                serde_json::to_string(changes).unwrap_or_default(),
            ),
        };
        h.update(format!("{}|{tag}|{id:?}|{changes}|{:?}\n", r.line, r.new_categories).as_bytes());
    }
    for p in &plan.refused {
        h.update(format!("refused|{}|{}\n", p.line, p.reason).as_bytes());
    }
    hex::encode(h.finalize())
}

/// Where the rows came from, for the audit trail.
#[derive(Debug, Clone)]
pub struct ImportSource {
    /// File name as uploaded.
    pub file_name: String,
    /// SHA-256 of the file.
    pub checksum: String,
}

/// Writes a plan in one transaction. Every written record gets its own audit entry (with the
/// file, line and changes), plus one entry for the whole import.
pub async fn apply(
    db: &Db,
    keys: Secrets<'_>,
    actor: &Actor,
    records: &[ImportRecord],
    plan: &ImportPlan,
    source: &ImportSource,
    now: DateTime<Utc>,
) -> Result<ImportSummary, DbError> {
    // The plan was made for this actor's scope; storage checks it again rather than trust it.
    if let Some(r) = plan.rows.iter().find(|r| {
        !matches!(r.action, Action::Unchanged { .. })
            && !actor
                .scope
                .covers_record_in(&records[r.index].input.residence_region)
    }) {
        return Err(Invalid::one(
            "file",
            format!("第 {} 行的居住地不在您的管辖范围内，整个文件未导入", r.line),
        )
        .into());
    }
    // Encryption and hashing before the transaction, so the write lock is held briefly.
    let changed: Vec<usize> = plan
        .rows
        .iter()
        .filter(|r| !matches!(r.action, Action::Unchanged { .. }))
        .map(|r| r.index)
        .collect();
    // Each row's record id first: the numbers are sealed bound to it.
    let record_id: HashMap<usize, Uuid> = plan
        .rows
        .iter()
        .filter_map(|r| match &r.action {
            Action::New => Some((r.index, Uuid::now_v7())),
            Action::Update { elder_id, .. } => Some((r.index, *elder_id)),
            Action::Unchanged { .. } => None,
        })
        .collect();
    // What each changed row writes: the row, or for an update the merged record.
    let written_input: HashMap<usize, &ElderInput> = plan
        .rows
        .iter()
        .filter_map(|r| match &r.action {
            Action::New => Some((r.index, &records[r.index].input)),
            Action::Update { input, .. } => Some((r.index, input.as_ref())),
            Action::Unchanged { .. } => None,
        })
        .collect();
    let inputs: Vec<(Uuid, &ElderInput)> = changed
        .iter()
        .map(|&i| (record_id[&i], written_input[&i]))
        .collect();
    let sealed: HashMap<usize, Sealed> = changed
        .into_iter()
        .zip(seal_many(keys.cipher, &inputs))
        .collect();
    let mut summary = ImportSummary::default();
    let mut events = Vec::new();
    let mut new_rows: Vec<(Uuid, usize)> = Vec::new();
    let mut category_rows = Vec::new();

    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    crate::elder_bulk::bulk_cache(&mut conn, true).await?;
    // The cache is put back whether or not the writes succeed: this connection returns to the
    // pool either way.
    let written = async {
        let incoming = plan
            .rows
            .iter()
            .filter(|r| matches!(r.action, Action::New))
            .count();
        let suspended = suspend_indexes(&mut conn, incoming).await?;
        for r in &plan.rows {
            let rec = &records[r.index];
            let elder_id = match &r.action {
                Action::New => {
                    let id = record_id[&r.index];
                    new_rows.push((id, r.index));
                    events.push(
                        Event::new("elder.create", "elder", id)
                            .region(Some(rec.input.residence_region))
                            .detail(json!({
                                "via": "import", "file": source.file_name, "line": r.line,
                                "name": rec.input.name, "id_number": rec.input.id_number.masked(),
                            })),
                    );
                    summary.inserted += 1;
                    id
                }
                Action::Unchanged { elder_id } => {
                    summary.unchanged += 1;
                    *elder_id
                }
                Action::Update {
                    elder_id,
                    changes,
                    input,
                } => {
                    update_row(&mut conn, *elder_id, input, &sealed[&r.index], now).await?;
                    events.push(
                        Event::new("elder.update", "elder", elder_id)
                            .region(Some(rec.input.residence_region))
                            .detail(json!({
                                "via": "import", "file": source.file_name, "line": r.line,
                                "changes": changes,
                            })),
                    );
                    summary.updated += 1;
                    *elder_id
                }
            };
            let existing = !matches!(r.action, Action::New);
            for &ci in &r.new_categories {
                category_rows.push((
                    elder_id,
                    &rec.input.residence_region,
                    &rec.categories[ci],
                    existing,
                ));
            }
        }

        let new_rows: Vec<NewElder<'_>> = new_rows
            .iter()
            .map(|(id, index)| NewElder {
                id: *id,
                input: &records[*index].input,
                sealed: &sealed[index],
                ability: None,
            })
            .collect();
        insert_many(&mut conn, &new_rows, now).await?;
        let cats: Vec<NewCategory<'_>> = category_rows
            .iter()
            .map(|(id, residence, c, _)| (*id, *residence, *c))
            .collect();
        insert_categories(&mut conn, &cats, now).await?;
        restore_indexes(&mut conn, suspended).await?;
        summary.categories_added = category_rows.len();
        // New people's categories are part of their creation; existing people get an entry each.
        for (elder_id, _, cat, existing) in &category_rows {
            if *existing {
                events.push(
                    Event::new("elder.category_add", "elder", elder_id).detail(json!({
                        "via": "import", "file": source.file_name,
                        "category": cat.kind.label(), "start": cat.start,
                    })),
                );
            }
        }
        if summary.inserted + summary.updated + summary.categories_added > 0 {
            events.push(Event {
                action: "elder.import",
                entity: "elder",
                record_id: None,
                region_code: actor.scope.region_root(),
                detail: json!({
                    "file": source.file_name, "sha256": source.checksum,
                    "inserted": summary.inserted, "updated": summary.updated,
                    "unchanged": summary.unchanged, "categories_added": summary.categories_added,
                }),
            });
            audit::append_many(&mut conn, keys.chain, actor, events, now).await?;
        }
        Ok::<(), DbError>(())
    }
    .await;
    crate::elder_bulk::bulk_cache(&mut conn, false).await?;
    // Someone registered one of the file's people after the preview: the insert (or, for a
    // large import, the rebuilt unique index) refuses the second record.
    let raced = |e: DbError| {
        if e.is_conflict_on("elders.id_hash") {
            DbError::Invalid(jinglao_domain::Invalid::one(
                "file",
                "预览之后有人登记了文件中的某位老人，请重新预览后再导入",
            ))
        } else {
            e
        }
    };
    written.map_err(raced)?;
    tx.commit().await.map_err(raced)?;
    // A large import changes the tables' shape; small ones leave it to the next large one (and,
    // on PostgreSQL, to autovacuum).
    if summary.inserted + summary.updated >= 1000 {
        crate::elder_bulk::refresh_statistics(db).await?;
    }
    Ok(summary)
}

/// An uploaded file waiting for its commit.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Id.
    pub id: Uuid,
    /// Who uploaded it.
    pub created_by: Uuid,
    /// File name as uploaded.
    pub file_name: String,
    /// SHA-256 of the content.
    pub checksum: String,
    /// The file.
    pub content: Vec<u8>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Keeps an uploaded file for the commit step.
pub async fn store_batch(
    db: &Db,
    cipher: &FieldCipher,
    created_by: Uuid,
    file_name: &str,
    content: &[u8],
    now: DateTime<Utc>,
) -> Result<Batch, DbError> {
    let id = Uuid::now_v7();
    let checksum = hex::encode(Sha256::digest(content));
    // The file holds people's ID and phone numbers: stored encrypted like those fields.
    let sealed = cipher.encrypt_bytes(Field::ImportFile, id, content);
    let mut c = db.acquire().await?;
    on_conn!(&mut c.conn(), |c| {
        sqlx::query(
            "INSERT INTO import_batches (id, created_by, file_name, checksum, content, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(created_by)
        .bind(file_name)
        .bind(&checksum)
        .bind(&sealed)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(Batch {
        id,
        created_by,
        file_name: file_name.to_string(),
        checksum,
        content: content.to_vec(),
        created_at: now,
    })
}

/// A batch as selected: id, uploader, file name, checksum, content, upload time.
type BatchRow = (Uuid, Uuid, String, String, Vec<u8>, DateTime<Utc>);

/// A stored batch of the given uploader (others' batches are invisible).
pub async fn get_batch(
    db: &Db,
    cipher: &FieldCipher,
    id: Uuid,
    created_by: Uuid,
) -> Result<Option<Batch>, DbError> {
    let mut c = db.acquire().await?;
    let row: Option<BatchRow> = on_conn!(&mut c.conn(), |c| {
        sqlx::query_as(
            "SELECT id, created_by, file_name, checksum, content, created_at FROM import_batches \
             WHERE id = $1 AND created_by = $2",
        )
        .bind(id)
        .bind(created_by)
        .fetch_optional(&mut *c)
        .await
    })?;
    row.map(
        |(id, created_by, file_name, checksum, sealed, created_at)| -> Result<Batch, DbError> {
            Ok(Batch {
                id,
                created_by,
                file_name,
                checksum,
                content: cipher.decrypt_bytes(Field::ImportFile, id, &sealed)?,
                created_at,
            })
        },
    )
    .transpose()
}

/// Deletes a batch (after its commit) and any older than `older_than`.
pub async fn delete_batches(
    db: &Db,
    id: Option<Uuid>,
    older_than: DateTime<Utc>,
) -> Result<u64, DbError> {
    let mut c = db.acquire().await?;
    Ok(on_conn!(&mut c.conn(), |c| {
        sqlx::query("DELETE FROM import_batches WHERE id = $1 OR created_at < $2")
            .bind(id)
            .bind(older_than)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?)
}
