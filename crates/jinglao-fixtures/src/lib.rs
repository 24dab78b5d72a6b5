//! Demo and test data for jinglao, kept out of the product crates: the synthetic population
//! and facilities (`synth`, seeded and reproducible) and the demo seed (`demo`: the region
//! tree, one account per role, a provider, the demo service list and a population). Used by
//! `jinglao demo`, `jinglao gen`, the benchmarks and the tests; nothing in the domain, storage
//! or web crates depends on it (they take the plain records of `jinglao_domain::bulk`).

pub mod demo;
pub mod demo_history;
pub mod demo_purchase;
pub mod files;
pub mod synth;

use jinglao_domain::region_import::parse_region_csv;
use jinglao_domain::{Region, RegionTree};

/// The embedded seed regions as a tree (for generating without a database).
pub fn seed_tree() -> anyhow::Result<RegionTree> {
    let records = parse_region_csv(crate::demo::SEED_REGIONS_CSV, &Default::default())
        .map_err(|p| anyhow::anyhow!("内置区划文件有误：{}", p[0]))?;
    Ok(RegionTree::new(
        records
            .into_iter()
            .map(|r| Region {
                code: r.code,
                name: r.name,
                level: r.level,
                parent_code: r.parent_code,
                area_type: r.area_type,
                area_type_manual: false,
                source: crate::demo::SEED_SOURCE.into(),
            })
            .collect(),
    ))
}
