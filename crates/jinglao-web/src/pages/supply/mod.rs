//! Supply (服务供给): providers, their facilities, beds and residents, staff, star ratings, credit records and the public institution finder.

pub mod credit;
pub mod facilities;
pub mod facility_actions;
pub mod finder;
pub mod providers;
pub mod ratings;
pub mod staff;
