//! Demo and test data for jinglao, kept out of the product crates: the synthetic population
//! and facilities (`synth`, seeded and reproducible) and the demo seed (`demo`: the region
//! tree, one account per role, a provider, the demo service list and a population). Used by
//! `jinglao demo`, `jinglao gen`, the benchmarks and the tests; nothing in the domain, storage
//! or web crates depends on it (they take the plain records of `jinglao_domain::bulk`).

pub mod demo;
pub mod synth;
