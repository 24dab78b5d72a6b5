//! A purchase project as Open Contracting Data Standard 1.1 data: one `ocid` per project
//! (`<prefix>-<project id>`), a release per stage — planning (finance's approval), tender (the
//! public notice), each award, each contract, and the contract's implementation (its payments
//! as transactions) — and the compiled release that merges them by the standard's rules.
//!
//! What goes in is a [`ProjectFacts`], built by storage from the project, its bids, awards,
//! contracts and paid statements; it holds organisations and money only. No older person's
//! name, ID or address can reach it: quantities are counts.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

/// The OCDS version written.
pub const VERSION: &str = "1.1";

/// An organisation taking part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Stable id within the data (`CN-SAMR-<统一社会信用代码>` or `jinglao-…`).
    pub id: String,
    /// Name.
    pub name: String,
    /// The unified social credit code, when known.
    pub credit_code: Option<String>,
}

impl Org {
    fn identifier(&self) -> Value {
        match &self.credit_code {
            Some(c) => json!({ "scheme": "CN-SAMR", "id": c, "legalName": self.name }),
            None => json!({ "legalName": self.name }),
        }
    }
}

/// One item bought, with its estimated quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFact {
    /// Service-list item code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Units over the term.
    pub quantity: u64,
    /// The unit's name (次、小时、餐).
    pub unit: String,
}

/// An award.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardFact {
    /// Id.
    pub id: String,
    /// Decided at.
    pub date: DateTime<Utc>,
    /// The provider.
    pub supplier: Org,
    /// Awarded amount, fen.
    pub value_fen: i64,
    /// Why (the ranking, or the reason given).
    pub reason: String,
}

/// A payment made under a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFact {
    /// Id (the statement's).
    pub id: String,
    /// Paid at.
    pub date: DateTime<Utc>,
    /// Amount, fen.
    pub value_fen: i64,
    /// The treasury reference.
    pub reference: String,
}

/// A contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFact {
    /// Id.
    pub id: String,
    /// The award it implements.
    pub award_id: String,
    /// Contract number.
    pub number: String,
    /// Signed on.
    pub signed_on: NaiveDate,
    /// Term.
    pub start: NaiveDate,
    /// Term end.
    pub end: NaiveDate,
    /// Ceiling, fen.
    pub value_fen: i64,
    /// Ended (accepted or terminated).
    pub terminated: bool,
    /// Payments made.
    pub payments: Vec<PaymentFact>,
}

/// Everything published about one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFacts {
    /// `<prefix>-<project id>`.
    pub ocid: String,
    /// Title.
    pub title: String,
    /// Description: content and targets.
    pub description: String,
    /// The purchasing body.
    pub buyer: Org,
    /// Budget, fen.
    pub budget_fen: i64,
    /// The funding source's label.
    pub funding: String,
    /// OCDS procurement method.
    pub method: &'static str,
    /// The mode's Chinese name.
    pub method_details: String,
    /// Items and quantities.
    pub items: Vec<ItemFact>,
    /// Approved by finance at.
    pub approved_at: Option<DateTime<Utc>>,
    /// Announced at.
    pub published_at: Option<DateTime<Utc>>,
    /// Bids taken until.
    pub bid_deadline: Option<DateTime<Utc>>,
    /// Cancelled (no valid bid, ended).
    pub cancelled: bool,
    /// Organisations that bid (qualified or not).
    pub tenderers: Vec<Org>,
    /// Awards.
    pub awards: Vec<AwardFact>,
    /// Contracts.
    pub contracts: Vec<ContractFact>,
}

/// Formats fen as an OCDS amount (a JSON number in yuan). Whole yuan are integers; otherwise
/// the float nearest fen/100, which serde_json writes as its shortest round-trip text — the two
/// decimals exactly (123.45, never 123.45000000000002) for any amount below 2^53 fen.
pub fn amount(fen: i64) -> Value {
    if fen % 100 == 0 {
        return json!(fen / 100);
    }
    json!(fen as f64 / 100.0)
}

fn value(fen: i64) -> Value {
    json!({ "amount": amount(fen), "currency": "CNY" })
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn day_start(d: NaiveDate) -> String {
    format!("{d}T00:00:00+08:00")
}

fn day_end(d: NaiveDate) -> String {
    format!("{d}T23:59:59+08:00")
}

fn party(org: &Org, roles: &[&str]) -> Value {
    json!({ "id": org.id, "name": org.name, "identifier": org.identifier(), "roles": roles })
}

fn tender_status(f: &ProjectFacts) -> &'static str {
    if f.cancelled && f.awards.is_empty() {
        "cancelled"
    } else if !f.awards.is_empty() {
        "complete"
    } else if f.published_at.is_some() {
        "active"
    } else {
        "planned"
    }
}

fn items(f: &ProjectFacts) -> Value {
    f.items
        .iter()
        .map(|i| {
            json!({
                "id": i.code,
                "description": i.name,
                "classification": { "scheme": "jinglao-service-list", "id": i.code, "description": i.name },
                "quantity": i.quantity,
                "unit": { "name": i.unit },
            })
        })
        .collect()
}

fn base(
    f: &ProjectFacts,
    id: String,
    date: String,
    tag: &str,
    parties: Vec<Value>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ocid".into(), json!(f.ocid));
    m.insert("id".into(), json!(id));
    m.insert("date".into(), json!(date));
    m.insert("tag".into(), json!([tag]));
    m.insert("initiationType".into(), json!("tender"));
    m.insert("language".into(), json!("zh"));
    m.insert("parties".into(), Value::Array(parties));
    m.insert(
        "buyer".into(),
        json!({ "id": f.buyer.id, "name": f.buyer.name }),
    );
    m
}

fn contract_json(
    c: &ContractFact,
    with_payments: bool,
    buyer: &Org,
    supplier: Option<&Org>,
) -> Value {
    let mut v = json!({
        "id": c.id,
        "awardID": c.award_id,
        "title": c.number,
        "status": if c.terminated { "terminated" } else { "active" },
        "period": { "startDate": day_start(c.start), "endDate": day_end(c.end) },
        "value": value(c.value_fen),
        "dateSigned": day_start(c.signed_on),
    });
    if with_payments && !c.payments.is_empty() {
        let payee = supplier.map(|s| json!({ "id": s.id, "name": s.name }));
        let payer = json!({ "id": buyer.id, "name": buyer.name });
        let tx: Vec<Value> = c
            .payments
            .iter()
            .map(|p| {
                let mut t = json!({
                    "id": p.id,
                    "date": ts(p.date),
                    "value": value(p.value_fen),
                    "payer": payer.clone(),
                    "uri": format!("urn:treasury:{}", p.reference),
                });
                if let Some(payee) = &payee {
                    t["payee"] = payee.clone();
                }
                t
            })
            .collect();
        v["implementation"] = json!({ "transactions": tx });
    }
    v
}

/// The project's releases, oldest first: planning, tender, one per award, one per contract,
/// one implementation release per contract with payments.
pub fn releases(f: &ProjectFacts) -> Vec<Value> {
    let mut out = Vec::new();
    let buyer_party = party(&f.buyer, &["buyer", "procuringEntity", "payer"]);
    let planning = json!({
        "rationale": f.description,
        "budget": { "description": f.funding, "amount": value(f.budget_fen) },
    });
    let tender_id = format!("{}-tender", f.ocid);
    let mut tender = json!({
        "id": tender_id,
        "title": f.title,
        "description": f.description,
        "status": "planned",
        "items": items(f),
        "value": value(f.budget_fen),
        "procurementMethod": f.method,
        "procurementMethodDetails": f.method_details,
    });
    if let Some(at) = f.approved_at {
        let mut r = base(
            f,
            format!("{}-planning", f.ocid),
            ts(at),
            "planning",
            vec![buyer_party.clone()],
        );
        r.insert("planning".into(), planning.clone());
        r.insert("tender".into(), tender.clone());
        out.push(Value::Object(r));
    }
    if let Some(at) = f.published_at {
        tender["status"] = json!(tender_status(f));
        if let Some(end) = f.bid_deadline {
            tender["tenderPeriod"] = json!({ "startDate": ts(at), "endDate": ts(end) });
        }
        if !f.tenderers.is_empty() {
            tender["numberOfTenderers"] = json!(f.tenderers.len());
            tender["tenderers"] = f
                .tenderers
                .iter()
                .map(|o| json!({ "id": o.id, "name": o.name }))
                .collect();
        }
        let mut parties = vec![buyer_party.clone()];
        parties.extend(f.tenderers.iter().map(|o| party(o, &["tenderer"])));
        let mut r = base(f, format!("{}-tender", f.ocid), ts(at), "tender", parties);
        r.insert("tender".into(), tender.clone());
        out.push(Value::Object(r));
    }
    for a in &f.awards {
        let parties = vec![
            buyer_party.clone(),
            party(&a.supplier, &["tenderer", "supplier", "payee"]),
        ];
        let mut r = base(
            f,
            format!("{}-award-{}", f.ocid, a.id),
            ts(a.date),
            "award",
            parties,
        );
        r.insert(
            "awards".into(),
            json!([{
                "id": a.id,
                "title": f.title,
                "description": a.reason,
                "status": "active",
                "date": ts(a.date),
                "value": value(a.value_fen),
                "suppliers": [{ "id": a.supplier.id, "name": a.supplier.name }],
            }]),
        );
        out.push(Value::Object(r));
    }
    for c in &f.contracts {
        let supplier = f
            .awards
            .iter()
            .find(|a| a.id == c.award_id)
            .map(|a| &a.supplier);
        let at = format!("{}T00:00:00+08:00", c.signed_on);
        let mut r = base(
            f,
            format!("{}-contract-{}", f.ocid, c.id),
            at,
            "contract",
            vec![buyer_party.clone()],
        );
        r.insert(
            "contracts".into(),
            json!([contract_json(c, false, &f.buyer, supplier)]),
        );
        out.push(Value::Object(r));
        if let Some(last) = c.payments.iter().map(|p| p.date).max() {
            let id = format!("{}-implementation-{}-{}", f.ocid, c.id, c.payments.len());
            let mut r = base(f, id, ts(last), "implementation", vec![buyer_party.clone()]);
            r.insert(
                "contracts".into(),
                json!([contract_json(c, true, &f.buyer, supplier)]),
            );
            out.push(Value::Object(r));
        }
    }
    out
}

/// Merges `releases` (oldest first) into the compiled release by the OCDS merge rules: later
/// values replace earlier ones, objects merge field by field, arrays of objects with `id`
/// merge by id, other arrays are replaced; `tag` is `["compiled"]` and `id` is the ocid with
/// the latest date.
pub fn compile(releases: &[Value]) -> Value {
    compile_owned(releases.to_vec())
}

/// [`compile`], taking the releases: their values move into the compiled release instead of
/// being copied (a year's payments are most of a bulk download).
pub fn compile_owned(releases: Vec<Value>) -> Value {
    let mut out = Value::Object(Map::new());
    for r in releases {
        merge(&mut out, r);
    }
    if let Some(o) = out.as_object_mut() {
        let ocid = o
            .get("ocid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let date = o
            .get("date")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        o.insert("id".into(), json!(format!("{ocid}-{date}")));
        o.insert("tag".into(), json!(["compiled"]));
    }
    out
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if v.is_object() && existing.is_object() => merge(existing, v),
                    Some(existing) if identified(&v) && identified(existing) => {
                        merge_by_id(existing, v)
                    }
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn identified(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.get("id").is_some()))
}

fn merge_by_id(into: &mut Value, from: Value) {
    let (Some(a), Value::Array(b)) = (into.as_array_mut(), from) else {
        return;
    };
    for item in b {
        match a.iter_mut().position(|x| x.get("id") == item.get("id")) {
            Some(i) => merge(&mut a[i], item),
            None => a.push(item),
        }
    }
}

/// A release package around `releases`.
pub fn release_package(
    uri: &str,
    published: DateTime<Utc>,
    publisher: &str,
    releases: Vec<Value>,
) -> Value {
    json!({
        "uri": uri,
        "version": VERSION,
        "publishedDate": ts(published),
        "publisher": { "name": publisher },
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "publicationPolicy": "https://www.mca.gov.cn/",
        "releases": releases,
    })
}

/// A record: the releases embedded and the compiled release.
pub fn record(ocid: &str, releases: Vec<Value>) -> Value {
    let compiled = compile(&releases);
    json!({ "ocid": ocid, "releases": releases, "compiledRelease": compiled })
}

/// A record whose releases are linked, not embedded (OCDS linked releases: the address of the
/// release package that holds each, its date and tag), and the compiled release. The bulk
/// download uses it: each payment appears once, in the compiled release.
pub fn record_linked(ocid: &str, releases: Vec<Value>, package_url: &str) -> Value {
    let links: Vec<Value> = releases
        .iter()
        .map(|r| {
            json!({
                "url": format!("{package_url}#{}", r["id"].as_str().unwrap_or_default()),
                "date": r["date"],
                "tag": r["tag"],
            })
        })
        .collect();
    let compiled = compile_owned(releases);
    json!({ "ocid": ocid, "releases": links, "compiledRelease": compiled })
}

/// The record package of many projects with linked releases (see [`record_linked`]; each
/// project's facts with the address of its release package), as JSON text, the records built
/// and written on up to `threads` threads: a year's bulk download is mostly payments, and each
/// project's record is independent of the others.
pub fn linked_record_package_text(
    uri: &str,
    published: DateTime<Utc>,
    publisher: &str,
    projects: &[(ProjectFacts, String)],
    threads: usize,
) -> String {
    let size = projects.len().div_ceil(threads.clamp(1, 16)).max(1);
    let parts: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = projects
            .chunks(size)
            .map(|chunk| {
                s.spawn(move || {
                    let mut out = String::new();
                    for (i, (f, url)) in chunk.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(&record_linked(&f.ocid, releases(f), url).to_string());
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let head = record_package(uri, published, publisher, Vec::new()).to_string();
    // The empty array is the only `"records":[]` in the text: strings have their quotes escaped.
    head.replacen(
        "\"records\":[]",
        &format!("\"records\":[{}]", parts.join(",")),
        1,
    )
}

/// A record package around `records`.
pub fn record_package(
    uri: &str,
    published: DateTime<Utc>,
    publisher: &str,
    records: Vec<Value>,
) -> Value {
    json!({
        "uri": uri,
        "version": VERSION,
        "publishedDate": ts(published),
        "publisher": { "name": publisher },
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "publicationPolicy": "https://www.mca.gov.cn/",
        "records": records,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn org(id: &str, name: &str) -> Org {
        Org {
            id: id.into(),
            name: name.into(),
            credit_code: None,
        }
    }

    pub(crate) fn facts() -> ProjectFacts {
        ProjectFacts {
            ocid: "ocds-jlxt01-p1".into(),
            title: "2026年雨湖区居家养老上门服务".into(),
            description: "服务满意度不低于 90%".into(),
            buyer: org("jinglao-region-430302", "湘潭市雨湖区民政局"),
            budget_fen: 17_280_000,
            funding: "部门预算专项资金".into(),
            method: "open",
            method_details: "公开招标".into(),
            items: vec![ItemFact {
                code: "JJ01".into(),
                name: "助行服务".into(),
                quantity: 5760,
                unit: "次".into(),
            }],
            approved_at: Some(at("2026-01-10T02:00:00Z")),
            published_at: Some(at("2026-01-12T02:00:00Z")),
            bid_deadline: Some(at("2026-02-01T09:00:00Z")),
            cancelled: false,
            tenderers: vec![org("p-a", "甲公司"), org("p-b", "乙协会")],
            awards: vec![AwardFact {
                id: "a1".into(),
                date: at("2026-02-05T02:00:00Z"),
                supplier: org("p-a", "甲公司"),
                value_fen: 15_000_000,
                reason: "综合得分第一".into(),
            }],
            contracts: vec![ContractFact {
                id: "c1".into(),
                award_id: "a1".into(),
                number: "雨民购〔2026〕3号".into(),
                signed_on: "2026-02-20".parse().unwrap(),
                start: "2026-03-01".parse().unwrap(),
                end: "2026-12-31".parse().unwrap(),
                value_fen: 15_000_000,
                terminated: false,
                payments: vec![
                    PaymentFact {
                        id: "s1".into(),
                        date: at("2026-04-10T02:00:00Z"),
                        value_fen: 123_456,
                        reference: "GK1".into(),
                    },
                    PaymentFact {
                        id: "s2".into(),
                        date: at("2026-05-10T02:00:00Z"),
                        value_fen: 9_900,
                        reference: "GK2".into(),
                    },
                ],
            }],
        }
    }

    #[test]
    fn the_bulk_text_is_the_record_package_with_linked_records_on_any_number_of_threads() {
        let f = facts();
        let projects = vec![(f.clone(), "https://x/a.json".to_string()); 5];
        let now = at("2026-12-01T00:00:00Z");
        let expected = record_package(
            "u",
            now,
            "p",
            projects
                .iter()
                .map(|(f, url)| record_linked(&f.ocid, releases(f), url))
                .collect(),
        );
        for threads in [1, 2, 3, 8] {
            let text = linked_record_package_text("u", now, "p", &projects, threads);
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                expected,
                "{threads}"
            );
        }
        let none = linked_record_package_text("u", now, "p", &[], 2);
        assert_eq!(
            serde_json::from_str::<Value>(&none).unwrap()["records"],
            json!([])
        );
        // Linked: the compiled release holds what the releases said, once.
        let r = &expected["records"][0];
        assert_eq!(r["compiledRelease"], compile(&releases(&f)));
        assert!(
            r["releases"][0]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://x/a.json#")
        );
    }

    #[test]
    fn amounts_are_yuan_with_their_two_decimals_exactly() {
        for (fen, text) in [
            (12_345, "123.45"),
            (10, "0.1"),
            (1_234_500, "12345"),
            (-5, "-0.05"),
            (99_999_999_999, "999999999.99"),
        ] {
            assert_eq!(amount(fen).to_string(), text);
        }
    }

    #[test]
    fn each_stage_is_a_release_and_the_compiled_release_holds_them_all() {
        let rs = releases(&facts());
        let tags: Vec<_> = rs
            .iter()
            .map(|r| r["tag"][0].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            tags,
            ["planning", "tender", "award", "contract", "implementation"]
        );
        let c = compile(&rs);
        assert_eq!(c["tag"], json!(["compiled"]));
        assert_eq!(c["tender"]["status"], "complete");
        assert_eq!(c["awards"][0]["suppliers"][0]["name"], "甲公司");
        assert_eq!(
            c["contracts"][0]["implementation"]["transactions"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            c["contracts"][0]["implementation"]["transactions"][0]["value"]["amount"],
            json!(1234.56)
        );
        // Parties merge by id: the buyer once, the supplier with the roles of its last release.
        let parties = c["parties"].as_array().unwrap();
        assert_eq!(parties.len(), 3, "{parties:?}");
        assert_eq!(c["planning"]["budget"]["amount"]["amount"], json!(172800));
    }

    #[test]
    fn a_project_only_approved_has_just_its_planning_release() {
        let mut f = facts();
        f.published_at = None;
        f.tenderers.clear();
        f.awards.clear();
        f.contracts.clear();
        let rs = releases(&f);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0]["tender"]["status"], "planned");
    }
}
