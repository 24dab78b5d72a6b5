//! Home services (居家社区养老服务): prices, orders, plans, dispatch, visits and their verification, statements, satisfaction, regular patrols (巡访) and family care beds.

pub mod dispatch;
pub mod family_beds;
pub mod orders;
pub mod patrols;
pub mod plans;
pub mod prices;
pub mod satisfaction;
pub mod statements;
pub(crate) mod visit_batch;
pub mod visit_bulk;
pub(crate) mod visit_check;
pub mod visit_gate;
pub mod visit_queue;
pub mod visit_signals;
pub mod visits;
