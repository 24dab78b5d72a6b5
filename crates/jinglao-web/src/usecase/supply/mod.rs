//! Providers, facilities, beds, residents and staff.

pub mod beds;
pub mod facilities;
pub mod ratings;
pub mod staff;
