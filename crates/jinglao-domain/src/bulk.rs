//! Records made elsewhere in bulk — a generated population or a set of generated facilities
//! (`jinglao-fixtures`, for the demo and the benchmarks) — in the shape the bulk loaders of the
//! storage crate take. Plain data: how they are generated is not the domain's business.

use chrono::NaiveDate;

use crate::assessment::ScoreResult;
use crate::assessment_form::AssessmentForm;
use crate::category::CategoryInput;
use crate::elder::ElderInput;
use crate::facility::{FacilityKind, FireStatus, Functions, Ownership};

/// A synthetic person with their categories and, for some, an effective assessment.
#[derive(Debug, Clone)]
pub struct SynthElder {
    /// The record.
    pub input: ElderInput,
    /// Recorded categories.
    pub categories: Vec<CategoryInput>,
    /// The latest assessment, if the person has one.
    pub assessment: Option<SynthAssessment>,
}

/// A completed assessment.
#[derive(Debug, Clone)]
pub struct SynthAssessment {
    /// The form (A sections and item scores).
    pub form: AssessmentForm,
    /// Its score under the default rules.
    pub result: ScoreResult,
}

/// One generated facility.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilitySpec {
    /// Name.
    pub name: String,
    /// Type.
    pub kind: FacilityKind,
    /// Ownership.
    pub ownership: Ownership,
    /// Village or community code where it stands.
    pub region_code: String,
    /// Address.
    pub address: String,
    /// (longitude, latitude).
    pub location: Option<(f64, f64)>,
    /// Floor area, m².
    pub floor_area_m2: f64,
    /// Services.
    pub functions: Functions,
    /// Opening date.
    pub opened_on: NaiveDate,
    /// 备案 number.
    pub filing_no: String,
    /// Fire status.
    pub fire_status: FireStatus,
    /// Monthly price range, fen.
    pub price_fen: (i64, i64),
    /// Rooms: (beds per room, nursing) — bed plan.
    pub rooms: Vec<(i64, bool)>,
    /// Staff to hire: (role stable name, full-time).
    pub staff: Vec<(&'static str, bool)>,
}
