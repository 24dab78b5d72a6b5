//! The older-people registry: records with encrypted personal numbers, categories, life
//! events, search, and the audited reveal of full numbers.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::assessment::AbilityLevel;
use jinglao_domain::category::{CategoryInput, CategoryKind, CategoryRecord};
use jinglao_domain::elder::{
    ContactView, Education, ElderInput, ElderRecord, ElderStatus, EmergencyContact, IncomeSource,
    LifeEvent, LivingArrangement, MaritalStatus, MedicalPayment, diff,
};
use jinglao_domain::{Invalid, Phone, RegionCode, ResidentId, Scope, Sex};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::crypto::{Field, FieldCipher};
use crate::{Actor, Conn, Db, DbError, on_conn};

/// The keys a registry write needs.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a> {
    /// Audit chain key.
    pub chain: &'a ChainKey,
    /// Field encryption.
    pub cipher: &'a FieldCipher,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ElderRow {
    pub(crate) id: Uuid,
    name: String,
    id_masked: String,
    birth_date: NaiveDate,
    sex: String,
    ethnicity: String,
    hukou_region_code: String,
    pub(crate) residence_region_code: String,
    address: String,
    longitude: Option<f64>,
    latitude: Option<f64>,
    living_arrangement: String,
    marital_status: String,
    education: String,
    income_sources: String,
    medical_payments: String,
    children_count: i32,
    children_local: bool,
    children_can_care: bool,
    under_age_reason: Option<String>,
    status: String,
    status_date: Option<NaiveDate>,
    status_note: Option<String>,
    ability_level: Option<i32>,
    dementia: bool,
    ability_assessed_on: Option<NaiveDate>,
    reassessment_due: Option<NaiveDate>,
    reassessment_requested: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "e.id, e.name, e.id_masked, e.birth_date, e.sex, e.ethnicity, \
    e.hukou_region_code, e.residence_region_code, e.address, e.longitude, e.latitude, \
    e.living_arrangement, e.marital_status, e.education, e.income_sources, e.medical_payments, \
    e.children_count, e.children_local, e.children_can_care, e.under_age_reason, e.status, \
    e.status_date, e.status_note, e.ability_level, e.dementia, e.ability_assessed_on, \
    e.reassessment_due, e.reassessment_requested, e.created_at, e.updated_at";

fn corrupt(id: Uuid, what: &str) -> DbError {
    DbError::Corrupt(format!("老年人记录 {id}：{what}"))
}

fn parse_list<T>(id: Uuid, text: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, DbError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| corrupt(id, s)))
        .collect()
}

fn join_names<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> String {
    items.iter().map(|v| name(*v)).collect::<Vec<_>>().join(",")
}

impl ElderRow {
    fn into_record(
        self,
        phones: Vec<String>,
        contacts: Vec<ContactView>,
        categories: Vec<CategoryRecord>,
    ) -> Result<ElderRecord, DbError> {
        let id = self.id;
        let region = |s: &str| RegionCode::parse(s).map_err(|_| corrupt(id, s));
        Ok(ElderRecord {
            id,
            name: self.name,
            id_masked: self.id_masked,
            birth_date: self.birth_date,
            sex: Sex::parse(&self.sex).ok_or_else(|| corrupt(id, &self.sex))?,
            ethnicity: self.ethnicity,
            phones_masked: phones,
            hukou_region: region(&self.hukou_region_code)?,
            residence_region: region(&self.residence_region_code)?,
            address: self.address,
            location: self.longitude.zip(self.latitude),
            living: LivingArrangement::parse(&self.living_arrangement)
                .ok_or_else(|| corrupt(id, &self.living_arrangement))?,
            marital: MaritalStatus::parse(&self.marital_status)
                .ok_or_else(|| corrupt(id, &self.marital_status))?,
            education: Education::parse(&self.education)
                .ok_or_else(|| corrupt(id, &self.education))?,
            income_sources: parse_list(id, &self.income_sources, IncomeSource::parse)?,
            medical_payments: parse_list(id, &self.medical_payments, MedicalPayment::parse)?,
            children_count: self.children_count,
            children_local: self.children_local,
            children_can_care: self.children_can_care,
            contacts,
            under_age_reason: self.under_age_reason,
            status: ElderStatus::parse(&self.status).ok_or_else(|| corrupt(id, &self.status))?,
            status_date: self.status_date,
            status_note: self.status_note,
            ability: self
                .ability_level
                .and_then(|n| AbilityLevel::from_number(n as u8)),
            dementia: self.dementia,
            ability_assessed_on: self.ability_assessed_on,
            reassessment_due: self.reassessment_due,
            reassessment_requested: self.reassessment_requested,
            categories,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Adds the scope predicate for elders: region scopes reach records whose residence lies in
/// their subtree; provider scopes reach none (yet).
pub(crate) fn push_scope<DB: sqlx::Database>(q: &mut sqlx::QueryBuilder<DB>, scope: &Scope)
where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    push_scope_on(q, scope, "e.residence_region_code");
}

/// [`push_scope`] on another column (or expression) holding a residence code, such as the copy
/// on category rows.
pub(crate) fn push_scope_on<DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<DB>,
    scope: &Scope,
    residence: &str,
) where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match scope {
        Scope::All => {}
        Scope::Region(root) => push_subtree(q, residence, root),
        Scope::Provider { .. } => {
            q.push(" AND 1 = 0");
        }
    }
}

/// `AND <residence> BETWEEN <lo> AND <hi>` for the subtree of `root`.
pub(crate) fn push_subtree<DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<DB>,
    residence: &str,
    root: &RegionCode,
) where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let (lo, hi) = root.subtree_range();
    q.push(format_args!(" AND {residence} BETWEEN "))
        .push_bind(lo)
        .push(" AND ")
        .push_bind(hi);
}

#[derive(sqlx::FromRow)]
struct CategoryRow {
    id: Uuid,
    kind: String,
    detail: Option<String>,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    evidence: String,
}

async fn categories_of(conn: &mut Conn<'_>, id: Uuid) -> Result<Vec<CategoryRecord>, DbError> {
    let rows: Vec<CategoryRow> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, kind, detail, start_date, end_date, evidence FROM elder_categories \
             WHERE elder_id = $1 ORDER BY start_date, kind",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(CategoryRecord {
                kind: CategoryKind::parse(&r.kind).ok_or_else(|| corrupt(id, &r.kind))?,
                id: r.id,
                detail: r.detail,
                start: r.start_date,
                end: r.end_date,
                evidence: r.evidence,
            })
        })
        .collect()
}

/// One record within `scope`, personal numbers masked.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<ElderRecord>, DbError> {
    let rows: Vec<ElderRow> = on_conn!(conn, |c| {
        let mut q =
            sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM elders e WHERE e.id = "));
        q.push_bind(id);
        push_scope(&mut q, scope);
        q.build_query_as::<ElderRow>().fetch_all(&mut *c).await
    })?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let phones: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT phone_masked FROM elder_phones WHERE elder_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
    })?;
    let contacts: Vec<(String, String, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT name, relation, phone_masked FROM elder_contacts WHERE elder_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
    })?;
    let contacts = contacts
        .into_iter()
        .map(|(name, relation, phone_masked)| ContactView {
            name,
            relation,
            phone_masked,
        })
        .collect();
    let categories = categories_of(conn, id).await?;
    row.into_record(phones, contacts, categories).map(Some)
}

/// The stored record as input (clear text), for editing and comparing. Not scoped: callers
/// check the scope with [`get`] first.
pub async fn get_input(
    conn: &mut Conn<'_>,
    cipher: &FieldCipher,
    id: Uuid,
) -> Result<Option<ElderInput>, DbError> {
    let rec = match get(conn, &Scope::All, id).await? {
        Some(r) => r,
        None => return Ok(None),
    };
    let id_cipher: Vec<u8> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT id_cipher FROM elders WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *c)
            .await
    })?;
    let phones: Vec<Vec<u8>> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT phone_cipher FROM elder_phones WHERE elder_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
    })?;
    let contacts: Vec<(String, String, Vec<u8>)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT name, relation, phone_cipher FROM elder_contacts WHERE elder_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
    })?;
    let id_number = ResidentId::parse(&cipher.decrypt(Field::IdNumber, id, &id_cipher)?)
        .map_err(|e| corrupt(id, &e.to_string()))?;
    let phone = |blob: &[u8]| -> Result<Phone, DbError> {
        Phone::parse(&cipher.decrypt(Field::Phone, id, blob)?)
            .map_err(|e| corrupt(id, &e.to_string()))
    };
    Ok(Some(ElderInput {
        name: rec.name,
        ethnicity: jinglao_domain::elder::parse_ethnicity(&rec.ethnicity)
            .ok_or_else(|| corrupt(id, &rec.ethnicity))?,
        phones: phones.iter().map(|b| phone(b)).collect::<Result<_, _>>()?,
        hukou_region: rec.hukou_region,
        residence_region: rec.residence_region,
        address: rec.address,
        location: rec.location,
        living: rec.living,
        marital: rec.marital,
        education: rec.education,
        income_sources: rec.income_sources,
        medical_payments: rec.medical_payments,
        children_count: rec.children_count,
        children_local: rec.children_local,
        children_can_care: rec.children_can_care,
        contacts: contacts
            .into_iter()
            .map(|(name, relation, blob)| {
                Ok(EmergencyContact {
                    name,
                    relation,
                    phone: phone(&blob)?,
                })
            })
            .collect::<Result<_, DbError>>()?,
        under_age_reason: rec.under_age_reason,
        id_number,
    }))
}

/// The record already holding this ID number, if any: its id and residence (not scoped, so
/// duplicates are caught across the whole registry).
pub async fn find_by_id_number(
    conn: &mut Conn<'_>,
    cipher: &FieldCipher,
    id_number: &ResidentId,
) -> Result<Option<(Uuid, RegionCode)>, DbError> {
    let hash = cipher.lookup_hash(Field::IdNumber, id_number.as_str());
    let row: Option<(Uuid, String)> = on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, residence_region_code FROM elders WHERE id_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *c)
            .await
    })?;
    Ok(row.and_then(|(id, r)| RegionCode::parse(&r).ok().map(|r| (id, r))))
}

/// A person named on the public pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// Record id.
    pub id: Uuid,
    /// Full name (the page shows it masked).
    pub name: String,
    /// Where the person lives.
    pub residence: RegionCode,
}

/// The person a member of the public names by ID number and a phone number on record — the
/// person's own or an emergency contact's (a son or daughter booking for a parent). `None`
/// when the ID number is unknown or the phone is not one of the person's: the caller says the
/// same thing in both cases, so the page does not tell who is registered. No audit entry: the
/// caller records what is then done (a booking, a rating), and a failed attempt counts against
/// the client's address.
pub async fn identify(
    conn: &mut Conn<'_>,
    cipher: &FieldCipher,
    id_number: &ResidentId,
    phone: &jinglao_domain::Phone,
) -> Result<Option<Identified>, DbError> {
    let Some((id, residence)) = find_by_id_number(conn, cipher, id_number).await? else {
        return Ok(None);
    };
    let hash = cipher.lookup_hash(Field::Phone, phone.as_str());
    let (own, name): (i64, String) =
        on_conn!(conn, |c| {
            sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM elder_phones WHERE elder_id = $1 AND phone_hash = $2), \
             name FROM elders WHERE id = $1",
        )
        .bind(id).bind(&hash).fetch_one(&mut *c).await
        })?;
    let matched = own > 0 || {
        let contacts: Vec<Vec<u8>> = on_conn!(conn, |c| {
            sqlx::query_scalar("SELECT phone_cipher FROM elder_contacts WHERE elder_id = $1")
                .bind(id)
                .fetch_all(&mut *c)
                .await
        })?;
        contacts.iter().any(|blob| {
            cipher
                .decrypt(Field::Phone, id, blob)
                .is_ok_and(|p| jinglao_domain::Phone::parse(&p).is_ok_and(|p| p == *phone))
        })
    };
    Ok(matched.then_some(Identified {
        id,
        name,
        residence,
    }))
}

/// Everything an insert or update of one record writes, precomputed (encryption and hashing
/// happen here, outside any transaction).
/// A phone number sealed for storage: ciphertext, lookup hash, masked form, hash of its last
/// four digits.
pub(crate) type SealedPhone = (Vec<u8>, String, String, String);
/// An emergency contact sealed for storage: name, relation, phone ciphertext, masked phone.
pub(crate) type SealedContact = (String, String, Vec<u8>, String);

pub(crate) struct Sealed {
    pub(crate) id_cipher: Vec<u8>,
    pub(crate) id_hash: String,
    pub(crate) id_masked: String,
    /// Keyed hash of the ID number's last four characters.
    pub(crate) id_tail_hash: String,
    /// The name's pinyin sort key.
    pub(crate) name_key: String,
    pub(crate) phones: Vec<SealedPhone>,
    pub(crate) contacts: Vec<SealedContact>,
    pub(crate) digest: String,
}

/// Seals many records on every core: encryption and keyed hashing dominate a bulk write, and
/// run before its transaction opens so the write lock is held briefly.
pub(crate) fn seal_many(cipher: &FieldCipher, inputs: &[(Uuid, &ElderInput)]) -> Vec<Sealed> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = inputs.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(id, i)| seal(cipher, *id, i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("sealing thread"))
            .collect()
    })
}

/// Seals the numbers of the record `id` (each ciphertext is bound to it).
pub(crate) fn seal(cipher: &FieldCipher, id: Uuid, input: &ElderInput) -> Sealed {
    Sealed {
        id_cipher: cipher.encrypt(Field::IdNumber, id, input.id_number.as_str()),
        id_hash: cipher.lookup_hash(Field::IdNumber, input.id_number.as_str()),
        id_masked: input.id_number.masked(),
        id_tail_hash: cipher
            .tail_hash(Field::IdNumber, input.id_number.as_str())
            .unwrap_or_default(),
        name_key: jinglao_domain::collation::pinyin_key(&input.name),
        phones: input
            .phones
            .iter()
            .map(|p| {
                (
                    cipher.encrypt(Field::Phone, id, p.as_str()),
                    cipher.lookup_hash(Field::Phone, p.as_str()),
                    p.masked(),
                    cipher
                        .tail_hash(Field::Phone, p.as_str())
                        .unwrap_or_default(),
                )
            })
            .collect(),
        contacts: input
            .contacts
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.relation.clone(),
                    cipher.encrypt(Field::Phone, id, c.phone.as_str()),
                    c.phone.masked(),
                )
            })
            .collect(),
        digest: cipher.digest(input.canonical().as_bytes()),
    }
}

/// The digest stored for a record with this content.
pub fn content_digest(cipher: &FieldCipher, input: &ElderInput) -> String {
    cipher.digest(input.canonical().as_bytes())
}

async fn write_children(conn: &mut Conn<'_>, id: Uuid, sealed: &Sealed) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("DELETE FROM elder_phones WHERE elder_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query("DELETE FROM elder_contacts WHERE elder_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        for (i, (cipher_text, hash, masked, tail)) in sealed.phones.iter().enumerate() {
            sqlx::query(
                "INSERT INTO elder_phones (elder_id, position, phone_cipher, phone_hash, phone_masked, \
                 tail_hash) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(i as i32)
            .bind(cipher_text)
            .bind(hash)
            .bind(masked)
            .bind(tail)
            .execute(&mut *c)
            .await?;
        }
        for (i, (name, relation, cipher_text, masked)) in sealed.contacts.iter().enumerate() {
            sqlx::query(
                "INSERT INTO elder_contacts (elder_id, position, name, relation, phone_cipher, phone_masked) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(i as i32)
            .bind(name)
            .bind(relation)
            .bind(cipher_text)
            .bind(masked)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Adds a category row without auditing.
pub(crate) async fn insert_category(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    cat: &CategoryInput,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO elder_categories (id, elder_id, kind, detail, start_date, end_date, evidence, created_at, \
             residence_region_code) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT residence_region_code FROM elders WHERE id = $2))",
        )
        .bind(id)
        .bind(elder_id)
        .bind(cat.kind.as_str())
        .bind(&cat.detail)
        .bind(cat.start)
        .bind(cat.end)
        .bind(&cat.evidence)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(id)
}

/// What another region's staff are told of an ID number registered outside their scope:
/// that it is registered, not where.
pub const REGISTERED_ELSEWHERE: &str =
    "这个身份证号已在其他辖区登记，不能重复登记。如老人已迁入本辖区，请联系原辖区办理迁出。";

/// The error for an ID number already in the registry. Inside the actor's scope it names the
/// existing record (the page links to it); outside, the answer is [`REGISTERED_ELSEWHERE`],
/// and the attempt is audited with the existing record's id (committed on its own: the change
/// itself is refused), so that probing another county's registry leaves a trace.
async fn duplicate(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    existing: Uuid,
    region: RegionCode,
    id_number: &ResidentId,
    now: DateTime<Utc>,
) -> DbError {
    if actor.scope.covers_record_in(&region) {
        return DbError::DuplicateElder {
            existing_id: existing,
            region_code: region,
        };
    }
    let event = Event::new("elder.duplicate_refused", "elder", existing)
        .region(Some(region))
        .detail(json!({ "id_number": id_number.masked() }));
    match audit::record(db, chain, actor, event, now).await {
        Ok(_) => Invalid::one("id_number", REGISTERED_ELSEWHERE).into(),
        Err(e) => e,
    }
}

/// Registers a person. The residence must be in the actor's scope; an ID number already in
/// the registry (anywhere) is refused with the existing record's id.
pub async fn create(
    db: &Db,
    keys: Secrets<'_>,
    actor: &Actor,
    input: &ElderInput,
    categories: &[CategoryInput],
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    if !actor.scope.covers_record_in(&input.residence_region) {
        return Err(Invalid::one("residence_region_code", "居住地不在您的管辖范围内").into());
    }
    let id = Uuid::now_v7();
    let sealed = seal(keys.cipher, id, input);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    if let Some((existing, region)) =
        find_by_id_number(&mut conn, keys.cipher, &input.id_number).await?
    {
        drop(tx);
        let number = &input.id_number;
        return Err(duplicate(db, keys.chain, actor, existing, region, number, now).await);
    }
    let row = crate::elder_bulk::NewElder {
        id,
        input,
        sealed: &sealed,
        ability: None,
    };
    crate::elder_bulk::insert_many(&mut conn, &[row], now)
        .await
        .map_err(|e| {
            if e.is_conflict_on("elders.id_hash") {
                Invalid::one("id_number", "这个身份证号已登记").into()
            } else {
                e
            }
        })?;
    for cat in categories {
        insert_category(&mut conn, id, cat, now).await?;
    }
    let event = Event::new("elder.create", "elder", id)
        .region(Some(input.residence_region))
        .detail(json!({
            "name": input.name,
            "id_number": input.id_number.masked(),
            "categories": categories.iter().map(|c| c.kind.label()).collect::<Vec<_>>(),
        }));
    audit::append(&mut conn, keys.chain, actor, event, now).await?;
    crate::eligibility::refresh_after_change(&mut conn, id, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a record within the actor's scope; the audit entry lists each changed field with
/// personal numbers masked. Returns the changes (empty when nothing changed, and then nothing
/// is written).
pub async fn update(
    db: &Db,
    keys: Secrets<'_>,
    actor: &Actor,
    id: Uuid,
    input: &ElderInput,
    now: DateTime<Utc>,
) -> Result<Vec<jinglao_domain::elder::FieldChange>, DbError> {
    let sealed = seal(keys.cipher, id, input);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    if get(&mut conn, &actor.scope, id).await?.is_none() {
        return Err(DbError::NotFound);
    }
    if !actor.scope.covers_record_in(&input.residence_region) {
        return Err(Invalid::one("residence_region_code", "新的居住地不在您的管辖范围内").into());
    }
    let old = get_input(&mut conn, keys.cipher, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let changes = diff(&old, input);
    if changes.is_empty() {
        return Ok(changes);
    }
    if old.id_number != input.id_number
        && let Some((existing, region)) =
            find_by_id_number(&mut conn, keys.cipher, &input.id_number).await?
        && existing != id
    {
        drop(tx);
        let number = &input.id_number;
        return Err(duplicate(db, keys.chain, actor, existing, region, number, now).await);
    }
    update_row(&mut conn, id, input, &sealed, now).await?;
    let event = Event::new("elder.update", "elder", id)
        .region(Some(input.residence_region))
        .detail(json!({ "changes": changes }));
    audit::append(&mut conn, keys.chain, actor, event, now).await?;
    crate::eligibility::refresh_after_change(&mut conn, id, now).await?;
    tx.commit().await?;
    Ok(changes)
}

/// Rewrites a record's fields (no audit; callers audit).
pub(crate) async fn update_row(
    conn: &mut Conn<'_>,
    id: Uuid,
    input: &ElderInput,
    sealed: &Sealed,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE elders SET name = $2, id_cipher = $3, id_hash = $4, id_masked = $5, birth_date = $6, \
             sex = $7, ethnicity = $8, hukou_region_code = $9, residence_region_code = $10, address = $11, \
             longitude = $12, latitude = $13, living_arrangement = $14, marital_status = $15, education = $16, \
             income_sources = $17, medical_payments = $18, children_count = $19, children_local = $20, \
             children_can_care = $21, under_age_reason = $22, content_digest = $23, updated_at = $24, \
             name_key = $25, id_tail_hash = $26 WHERE id = $1",
        )
        .bind(id)
        .bind(&input.name)
        .bind(&sealed.id_cipher)
        .bind(&sealed.id_hash)
        .bind(&sealed.id_masked)
        .bind(input.birth_date())
        .bind(input.sex().as_str())
        .bind(input.ethnicity)
        .bind(input.hukou_region.as_str())
        .bind(input.residence_region.as_str())
        .bind(&input.address)
        .bind(input.location.map(|l| l.0))
        .bind(input.location.map(|l| l.1))
        .bind(input.living.as_str())
        .bind(input.marital.as_str())
        .bind(input.education.as_str())
        .bind(join_names(&input.income_sources, IncomeSource::as_str))
        .bind(join_names(&input.medical_payments, MedicalPayment::as_str))
        .bind(input.children_count)
        .bind(input.children_local)
        .bind(input.children_can_care)
        .bind(&input.under_age_reason)
        .bind(&sealed.digest)
        .bind(now)
        .bind(&sealed.name_key)
        .bind(&sealed.id_tail_hash)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    // The categories carry a copy of the residence for search (migration 0016).
    on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE elder_categories SET residence_region_code = $2 \
             WHERE elder_id = $1 AND residence_region_code <> $2",
        )
        .bind(id)
        .bind(input.residence_region.as_str())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    write_children(conn, id, sealed).await
}

/// What a staff member asks to see in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// The ID number.
    IdNumber,
    /// Phone numbers and contacts' phones.
    Phones,
}

/// Full numbers for one record within the actor's scope; each reveal is audited (the entry
/// names what was shown, never the numbers themselves).
pub async fn reveal(
    db: &Db,
    keys: Secrets<'_>,
    actor: &Actor,
    id: Uuid,
    what: Reveal,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let rec = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let input = get_input(&mut conn, keys.cipher, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let shown = match what {
        Reveal::IdNumber => vec![input.id_number.as_str().to_string()],
        Reveal::Phones => input
            .phones
            .iter()
            .map(|p| p.as_str().to_string())
            .chain(
                input
                    .contacts
                    .iter()
                    .map(|c| format!("{}：{}", c.name, c.phone.as_str())),
            )
            .collect(),
    };
    let event = Event::new("elder.reveal", "elder", id)
        .region(Some(rec.residence_region))
        .detail(json!({
            "what": match what { Reveal::IdNumber => "id_number", Reveal::Phones => "phones" },
        }));
    audit::append(&mut conn, keys.chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(shown)
}

/// Records that someone read a person's record (pages and the API call this on every view).
pub async fn record_read(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    rec: &ElderRecord,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    audit::record(
        db,
        chain,
        actor,
        Event::new("elder.read", "elder", rec.id).region(Some(rec.residence_region)),
        now,
    )
    .await?;
    Ok(())
}

/// Adds a category to a record in scope.
pub async fn add_category(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    elder_id: Uuid,
    cat: &CategoryInput,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let rec = get(&mut conn, &actor.scope, elder_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let overlapping = rec.categories.iter().any(|r| {
        r.kind == cat.kind
            && r.start <= cat.end.unwrap_or(NaiveDate::MAX)
            && cat.start <= r.end.unwrap_or(NaiveDate::MAX)
    });
    if overlapping {
        return Err(Invalid::one(
            "kind",
            format!("“{}”在这段时间已有记录；请先结束原记录", cat.kind.label()),
        )
        .into());
    }
    let id = insert_category(&mut conn, elder_id, cat, now).await?;
    let event = Event::new("elder.category_add", "elder", elder_id)
        .region(Some(rec.residence_region))
        .detail(json!({
            "category": cat.kind.label(), "detail": cat.detail,
            "start": cat.start, "end": cat.end, "evidence": cat.evidence,
        }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    crate::eligibility::refresh_after_change(&mut conn, elder_id, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Ends a category on `end` (not before its start).
pub async fn end_category(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    elder_id: Uuid,
    category_id: Uuid,
    end: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let rec = get(&mut conn, &actor.scope, elder_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let cat = rec
        .categories
        .iter()
        .find(|c| c.id == category_id)
        .ok_or(DbError::NotFound)?;
    if end < cat.start {
        return Err(Invalid::one("end", "结束日期不能早于开始日期").into());
    }
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE elder_categories SET end_date = $2 WHERE id = $1")
            .bind(category_id)
            .bind(end)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    let event = Event::new("elder.category_end", "elder", elder_id)
        .region(Some(rec.residence_region))
        .detail(json!({ "category": cat.kind.label(), "end": end, "was": cat.end }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    crate::eligibility::refresh_after_change(&mut conn, elder_id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Locks a person's row until the transaction ends (a write that changes nothing), so that
/// changes to one person that read before they write queue on either database.
pub async fn lock(conn: &mut Conn<'_>, id: Uuid) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE elders SET updated_at = updated_at WHERE id = $1")
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Records a death or a move away: the status changes from `event.date`, every category still
/// open on that date ends on it, everything that depended on the person ends with it
/// (`life_events::apply`) and a `elder.life_event` domain event keeps what was ended — all in
/// one transaction. Returns what was ended.
pub async fn record_life_event(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    event: &LifeEvent,
    now: DateTime<Utc>,
) -> Result<crate::life_events::Effects, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    // Two recordings racing for one person queue here; the second finds the status changed.
    lock(&mut conn, event.elder_id).await?;
    let rec = get(&mut conn, &actor.scope, event.elder_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if rec.status != ElderStatus::Active {
        return Err(
            Invalid::one("kind", format!("这位老人已是“{}”状态", rec.status.label())).into(),
        );
    }
    if event.date < rec.birth_date || event.date > jinglao_domain::clock::china_date(now) {
        return Err(Invalid::one("date", "日期应在出生日期之后、今天或以前").into());
    }
    let status = event.kind.status();
    // Everything that depended on the person ends the same day, in this transaction.
    let ended =
        crate::life_events::apply(&mut conn, event.elder_id, event.kind, event.date, now).await?;
    let effects = ended.effects();
    let payload = json!({ "event": event, "effects": effects }).to_string();
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE elders SET status = $2, status_date = $3, status_note = $4, updated_at = $5 WHERE id = $1")
            .bind(event.elder_id)
            .bind(status.as_str())
            .bind(event.date)
            .bind(&event.note)
            .bind(now)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "UPDATE elder_categories SET end_date = $2 \
             WHERE elder_id = $1 AND start_date <= $2 AND (end_date IS NULL OR end_date > $2)",
        )
        .bind(event.elder_id)
        .bind(event.date)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO domain_events (id, kind, entity, record_id, effective_date, payload, created_at) \
             VALUES ($1, 'elder.life_event', 'elder', $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(event.elder_id)
        .bind(event.date)
        .bind(&payload)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let audit_event = Event::new("elder.life_event", "elder", event.elder_id)
        .region(Some(rec.residence_region))
        .detail(json!({
            "kind": event.kind.label(), "date": event.date, "note": event.note, "ended": effects,
            "rows": ended,
        }));
    audit::append(&mut conn, chain, actor, audit_event, now).await?;
    // Each freed bed is also told in its home's region, where that county's auditors look.
    for (stay, bed, facility, region, on) in &ended.stays {
        let region = jinglao_domain::RegionCode::parse(region)
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let discharge = Event::new("stay.discharge", "elder", event.elder_id)
            .region(Some(region))
            .detail(json!({
                "facility_id": facility, "stay_id": stay, "bed_id": bed,
                "discharged_on": on, "reason": format!("{}（{}）", event.kind.label(), event.date),
            }));
        audit::append(&mut conn, chain, actor, discharge, now).await?;
    }
    crate::eligibility::refresh_after_change(&mut conn, event.elder_id, now).await?;
    tx.commit().await?;
    Ok(effects)
}

/// What the person's latest death or move away ended (for the record page), if one is
/// recorded.
pub async fn last_life_event_effects(
    conn: &mut Conn<'_>,
    id: Uuid,
) -> Result<Option<crate::life_events::Effects>, DbError> {
    let payload: Option<String> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT payload FROM domain_events WHERE record_id = $1 AND kind = 'elder.life_event' \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await
    })?;
    Ok(payload
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
        .and_then(|v| serde_json::from_value(v.get("effects")?.clone()).ok()))
}

/// Flags (or clears, with `None`) the need for an immediate re-assessment.
pub async fn request_reassessment(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    elder_id: Uuid,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let rec = get(&mut conn, &actor.scope, elder_id)
        .await?
        .ok_or(DbError::NotFound)?;
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE elders SET reassessment_requested = $2, updated_at = $3 WHERE id = $1")
            .bind(elder_id)
            .bind(reason)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    let event = Event::new("elder.reassessment_request", "elder", elder_id)
        .region(Some(rec.residence_region))
        .detail(json!({ "reason": reason }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The pending domain events of a record (for tests and, later, subscribers).
pub async fn domain_events_of(
    conn: &mut Conn<'_>,
    id: Uuid,
) -> Result<Vec<(String, NaiveDate)>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT kind, effective_date FROM domain_events WHERE record_id = $1 ORDER BY created_at")
            .bind(id)
            .fetch_all(&mut *c)
            .await
    })?)
}
