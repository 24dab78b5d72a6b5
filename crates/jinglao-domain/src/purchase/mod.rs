//! Government purchase of elderly-care services (政府购买养老服务, issue 18): the standard
//! procedure of 湘政发〔2014〕20号 二（四）–（五） and 湘财社〔2015〕2号 六–九 —
//! 制定目录、确定项目、公开信息、选择承接、签订合同、履约管理、资金支付、绩效评价.
//!
//! - [`catalogue`]: the guiding catalogue (指导性目录) finance keeps, versioned.
//! - [`project`]: a purchase project in the annual plan, its modes, funding and states.
//! - [`selection`]: bids, the gate each bidder passes, scoring and the award.
//! - [`contract`]: the contract whose unit prices settlement uses.
//! - [`acceptance`]: inspection of the service delivered, which gates the final payment.
//! - [`evaluation`]: the year-end multi-party evaluation and its grade.
//! - [`ocds`]: the project as Open Contracting Data Standard 1.1 releases and a record.
//! - [`payment`]: treasury payment batches and the confirmation that marks them paid.

pub mod acceptance;
pub mod catalogue;
pub mod contract;
pub mod evaluation;
pub mod ocds;
pub mod payment;
pub mod project;
pub mod selection;
