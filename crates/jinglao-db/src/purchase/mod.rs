//! Government purchase of services (issue 18): the guiding catalogue (`catalogue`), projects
//! of the annual plan and finance's review (`projects`), bids, scores and awards
//! (`selection`), contracts and their prices (`contracts`), acceptances that gate the final
//! payment (`acceptances`), the live performance view (`performance`), the year-end
//! multi-party evaluation (`evaluations`), treasury payment (`payments`), and the facts the OCDS
//! publication is built from (`ocds`). The rules are in `jinglao_domain::purchase`.

pub mod acceptances;
pub mod bid_documents;
pub mod bulk;
pub mod catalogue;
pub mod contracts;
pub mod evaluations;
pub mod ocds;
pub mod payments;
pub mod performance;
pub mod projects;
pub mod selection;
