//! The older-people registry.

pub mod import;
