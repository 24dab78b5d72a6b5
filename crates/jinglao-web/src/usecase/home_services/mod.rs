//! Home and community services bought by government: orders and dispatch, the caregiver's
//! day, and monthly statements.

pub mod day;
pub mod family_beds;
pub mod orders;
pub mod patrols;
pub mod plans;
pub mod statements;
