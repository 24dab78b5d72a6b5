//! Registry (老年人信息库): older people's records, their categories, imports, search, life events and evidence.

pub mod elder_import;
pub mod elders;
