//! The registry search parameters as the page and the API accept them, and how they become a
//! scoped [`ElderFilter`]: one place decides what a typed region, category, ability level and
//! status mean.

use jinglao_db::elder_search::{ElderFilter, ElderSummary};
use jinglao_domain::RegionCode;
use jinglao_domain::assessment::AbilityLevel;
use jinglao_domain::category;
use jinglao_domain::elder::ElderStatus;
use jinglao_domain::policy::PolicyKey;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// What was asked for, as typed. Empty fields do not filter.
#[derive(Debug, Default, Clone)]
pub struct SearchParams<'a> {
    /// A name (prefix), a full ID number or a phone number.
    pub q: &'a str,
    /// A region code (its subtree).
    pub region: &'a str,
    /// A category label.
    pub category: &'a str,
    /// An ability level (number or label).
    pub ability: &'a str,
    /// A status, `all`, or empty for 在册 only.
    pub status: &'a str,
}

/// Why the parameters cannot be searched with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamProblem {
    /// The parameter.
    pub field: &'static str,
    /// The reason, to show.
    pub message: String,
}

/// The filter for `params` within the caller's scope, or the parameter that cannot be used.
pub async fn filter_for(
    state: &AppState,
    user: &CurrentUser,
    params: &SearchParams<'_>,
) -> Result<Result<ElderFilter, ParamProblem>, AppError> {
    let region = if params.region.trim().is_empty() {
        None
    } else {
        match RegionCode::parse(params.region) {
            Ok(r) if user.scope.covers_record_in(&r) => Some(r),
            _ => {
                return Ok(Err(ParamProblem {
                    field: "region",
                    message: "区划代码不存在或不在您的管辖范围内".into(),
                }));
            }
        }
    };
    // The last digits of an ID number, beside the birth date, sex and last character every
    // result shows, narrow the hidden ones to a few dozen guesses: only a role that may see
    // full numbers searches by them (and each such search records whom it found).
    if matches!(
        jinglao_db::elder_search::classify(params.q),
        jinglao_db::elder_search::TextQuery::Tail(_)
    ) && !user.can(jinglao_domain::Permission::RevealIdentifiers)
    {
        return Ok(Err(ParamProblem {
            field: "q",
            message: "按证件号或电话尾号查找，需要查看完整号码的权限；请按姓名查找".into(),
        }));
    }
    let ability = if params.ability.trim().is_empty() {
        None
    } else {
        match AbilityLevel::parse(params.ability) {
            Some(a) => Some(a),
            None => {
                return Ok(Err(ParamProblem {
                    field: "ability",
                    message: "能力等级应为 0–4 或 能力完好、轻度失能、中度失能、重度失能、完全失能"
                        .into(),
                }));
            }
        }
    };
    let book = jinglao_db::policy::book(&state.db).await?;
    let root = user.scope.region_root().unwrap_or(user.account.region_code);
    Ok(Ok(ElderFilter {
        text: params.q.to_string(),
        region,
        category: Some(params.category.trim().to_string()).filter(|c| !c.is_empty()),
        ability,
        status: match params.status {
            "all" => None,
            s => ElderStatus::parse(s).or(Some(ElderStatus::Active)),
        },
        today: state.today(),
        advanced_age: book.int(PolicyKey::AdvancedAge, &root) as i32,
    }))
}

/// A result row's categories as lists show them: the recorded ones active today, then the
/// derived ones (高龄, 失能 / 半失能) by the filter's day and 高龄 age.
pub fn categories_today(row: &ElderSummary, filter: &ElderFilter) -> Vec<&'static str> {
    let recorded = row
        .categories
        .iter()
        .filter_map(|l| category::label_bit(l))
        .fold(0, |m, b| m | b);
    let age = jinglao_domain::id_number::age_on(row.birth_date, filter.today);
    let derived = category::derived_bits(age, row.ability, row.dementia, filter.advanced_age);
    category::labels_of_bits(recorded | derived)
}
