//! Registry (老年人信息库): older people's records, their categories, imports, search, life events and evidence.

pub mod elder_bulk;
pub mod elder_import;
pub mod elder_search;
pub mod elders;
pub mod life_events;
pub mod population;
pub mod search_keys;
