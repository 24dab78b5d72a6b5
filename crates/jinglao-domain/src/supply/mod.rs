//! Supply (服务供给): providers, their facilities, beds and residents, staff, star ratings, credit records and the public institution finder.

pub mod credit;
pub mod credit_code;
pub mod facility;
pub mod facility_input;
pub mod provider;
pub mod rating;
pub mod staff;
pub mod waiting_list;
