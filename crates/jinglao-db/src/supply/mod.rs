//! Supply (服务供给): providers, their facilities, beds and residents, staff, star ratings, credit records and the public institution finder.

pub mod beds;
pub mod credit;
pub mod facilities;
pub mod facility_bulk;
pub mod facility_photos;
pub mod finder;
pub mod providers;
pub mod ratings;
pub mod staff;
