//! `POST /assessments/score`: the GB/T 42195-2022 scoring rules as a pure function over HTTP,
//! for other systems (and for checking the rules from outside). Nothing is stored.

use axum::Json;
use axum::extract::State;
use jinglao_domain::assessment::{AdjustmentStacking, ScoreInput, score};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::auth::ApiUser;
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// The inputs of the scoring rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    /// All 26 item scores (B.1.1 … B.4.5) by the standard's item codes.
    #[schema(example = json!({"B.1.1": 4, "B.1.2": 4, "B.4.5": 3}))]
    pub items: BTreeMap<String, i64>,
    /// A.5.11 昏迷 (coma): the final level is 完全失能 whatever the scores.
    #[serde(default)]
    pub coma: bool,
    /// A.4.1 diagnoses as ICD-10 codes; dementia (F00–F03) or another mental or behavioural
    /// disorder (F04–F99) makes the level one worse.
    #[serde(default)]
    #[schema(example = json!(["I10", "F01"]))]
    pub diagnoses: Vec<String>,
    /// A.2.14 care-risk events (falls, wandering, choking, suicide and self-harm, other) in the
    /// last 30 days, summed; two or more make the level one worse.
    #[serde(default)]
    pub risk_events_30d: u32,
}

/// C.1 scores per indicator.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorsDto {
    /// 自理能力 (B.1), 0–32.
    pub self_care: u32,
    /// 基础运动能力 (B.2), 0–15.
    pub basic_mobility: u32,
    /// 精神状态 (B.3), 0–28.
    pub mental: u32,
    /// 感知觉与社会参与 (B.4), 0–15.
    pub perception_social: u32,
}

/// An adjustment rule that fired.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentDto {
    /// `coma`, `dementia_or_mental_disorder` or `care_risk_events`.
    pub rule: String,
    /// What the rule says and why it fired.
    pub description: String,
    /// Levels it made worse (0 when another rule already covered it).
    pub levels: u8,
}

/// The C report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreResponse {
    /// C.2 total, 0–90.
    pub total: u32,
    /// C.1 per-indicator scores.
    pub indicators: IndicatorsDto,
    /// C.3 preliminary level from the total: 0 能力完好 … 4 完全失能.
    pub preliminary_level: u8,
    /// C.5 final level after the adjustments, 0–4.
    pub final_level: u8,
    /// The final level's name, e.g. 中度失能.
    #[schema(example = "中度失能")]
    pub final_level_label: String,
    /// C.4 the adjustment rules that fired, in the standard's order.
    pub adjustments: Vec<AdjustmentDto>,
    /// Whether the dementia and risk-event rules stack (`stack`) or apply once together
    /// (`apply_once`), from the policy of the caller's region.
    #[schema(example = "apply_once")]
    pub stacking: String,
}

/// Score an assessment without storing anything. A missing item, an unknown item code or an
/// out-of-range score answers 422 naming the item (`items.B.1.1`).
#[utoipa::path(
    post,
    path = "/assessments/score",
    tag = "assessments",
    security(("bearer" = [])),
    request_body = ScoreRequest,
    responses(
        (status = 200, description = "评分结果", body = ScoreResponse),
        (status = 400, description = "请求不是有效的 JSON", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 422, description = "缺少项目、项目编号不存在或分值超出范围", body = ErrorEnvelope),
    )
)]
pub async fn score_assessment(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(body): ApiJson<ScoreRequest>,
) -> Result<Json<ScoreResponse>, ApiError> {
    let region = user.scope.region_root().unwrap_or(user.account.region_code);
    let stacking = jinglao_db::policy::book(&state.db).await?.stacking(&region);
    let input = ScoreInput {
        items: body.items,
        coma: body.coma,
        diagnoses: body.diagnoses,
        risk_events_30d: body.risk_events_30d,
    };
    let r = score(&input, stacking)?;
    Ok(Json(ScoreResponse {
        total: r.total,
        indicators: IndicatorsDto {
            self_care: r.indicators.self_care,
            basic_mobility: r.indicators.basic_mobility,
            mental: r.indicators.mental,
            perception_social: r.indicators.perception_social,
        },
        preliminary_level: r.preliminary_level.number(),
        final_level: r.final_level.number(),
        final_level_label: r.final_level.label().to_string(),
        adjustments: r
            .adjustments
            .into_iter()
            .map(|a| AdjustmentDto {
                rule: a.rule,
                description: a.description,
                levels: a.levels,
            })
            .collect(),
        stacking: match stacking {
            AdjustmentStacking::ApplyOnce => "apply_once",
            AdjustmentStacking::Stack => "stack",
        }
        .to_string(),
    }))
}
