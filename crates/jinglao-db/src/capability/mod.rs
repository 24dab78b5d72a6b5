//! Capability assessment (老年人能力评估, GB/T 42195-2022): assessments and the agencies that make them.

pub mod agencies;
pub mod assessments;
