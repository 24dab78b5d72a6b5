//! Home services (居家社区养老服务): prices, orders, plans, dispatch, visits and their verification, statements, satisfaction, regular patrols (巡访) and family care beds.

pub mod dispatch;
pub mod family_bed;
pub mod order;
pub mod patrol;
pub mod service_plan;
pub mod settlement;
pub mod visit;
pub mod visit_fraud;
