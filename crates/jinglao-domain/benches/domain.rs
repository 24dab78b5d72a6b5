//! Benchmarks of the pure rules that sit on hot paths: region-code parsing and scope checks
//! (every scoped query), password policy checks, and audit-chain hashing and verification
//! (every write, and `jinglao audit verify` over the whole trail).

use std::hint::black_box;

use chrono::DateTime;
use criterion::{Criterion, criterion_group, criterion_main};
use jinglao_domain::audit::{AuditEntry, ChainVerifier, GENESIS_HASH};
use jinglao_domain::{PasswordPolicy, RegionCode, Role, Scope};

fn region_codes(c: &mut Criterion) {
    c.bench_function("region_code_parse_12_digits", |b| {
        b.iter(|| RegionCode::parse(black_box("430302001001")).unwrap())
    });
    let scope = Scope::for_account(
        Role::CountyStaff,
        RegionCode::parse("430302").unwrap(),
        None,
    )
    .unwrap();
    let code = RegionCode::parse("430302101203").unwrap();
    c.bench_function("scope_covers_record", |b| {
        b.iter(|| scope.covers_record_in(black_box(&code)))
    });
    c.bench_function("region_code_ancestors", |b| {
        b.iter(|| black_box(&code).ancestors())
    });
}

fn passwords(c: &mut Criterion) {
    let p = PasswordPolicy::default();
    c.bench_function("password_policy_check", |b| {
        b.iter(|| p.check(black_box("zhangsan"), black_box("湘潭养老2026年服务")))
    });
}

fn audit_chain(c: &mut Criterion) {
    let key = [9u8; 32];
    let mut prev = GENESIS_HASH.to_string();
    let entries: Vec<AuditEntry> = (1..=10_000)
        .map(|seq| {
            let mut e = AuditEntry {
                seq,
                occurred_at: DateTime::from_timestamp_micros(1_763_000_000_000_000 + seq).unwrap(),
                actor_id: Some(uuid::Uuid::now_v7()),
                actor_name: "demo_county_staff".into(),
                actor_role: "county_staff".into(),
                action: "region.update".into(),
                entity: "region".into(),
                record_id: Some("430302001001".into()),
                region_code: Some("430302001001".into()),
                client_ip: Some("10.0.0.8".into()),
                request_id: Some(uuid::Uuid::now_v7().to_string()),
                detail: r#"{"area_type":{"from":"rural","to":"urban"}}"#.into(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = e.compute_hash(&key);
            prev.clone_from(&e.hash);
            e
        })
        .collect();
    c.bench_function("audit_entry_hash", |b| {
        b.iter(|| black_box(&entries[0]).compute_hash(&key))
    });
    c.bench_function("audit_verify_10000_entries", |b| {
        b.iter(|| {
            let mut v = ChainVerifier::new(key);
            for e in &entries {
                v.feed(e).unwrap();
            }
            v.finish(Some((10_000, prev.clone()))).unwrap()
        })
    });
}

criterion_group!(benches, region_codes, passwords, audit_chain);
criterion_main!(benches);
