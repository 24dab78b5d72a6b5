//! Home services (居家社区养老服务): prices, orders, plans, dispatch, visits and their verification, statements, satisfaction, regular patrols (巡访) and family care beds.

pub mod family_beds;
pub mod my_visits;
pub mod order_new;
pub mod orders;
pub mod patrols;
pub mod prices;
pub mod public_services;
pub mod satisfaction;
pub mod statements;
pub mod visit_review;
pub mod visit_signals;
