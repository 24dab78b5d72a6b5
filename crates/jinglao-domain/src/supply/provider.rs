//! Providers (承接主体): what kind of legal entity they are, the seven conditions of
//! 湘政发〔2014〕20号 they must meet to take on government-bought services, their
//! social-organisation evaluation grade, and the one function that says whether a provider is
//! qualified to bid.

use chrono::NaiveDate;
use serde::Serialize;

use crate::labelled_enum;

labelled_enum! {
    /// The kind of legal entity.
    pub enum ProviderKind {
        /// 企业.
        Enterprise = ("enterprise", "企业"),
        /// 民办非企业单位.
        PrivateNonEnterprise = ("private_non_enterprise", "民办非企业单位"),
        /// 社会团体.
        SocialGroup = ("social_group", "社会团体"),
        /// 事业单位.
        PublicInstitution = ("public_institution", "事业单位"),
        /// 基层老年协会.
        ElderAssociation = ("elder_association", "基层老年协会"),
    }
}

labelled_enum! {
    /// The seven conditions a provider must meet (湘政发〔2014〕20号 第三条“承接主体”).
    pub enum Condition {
        /// 依法设立，具有独立承担民事责任的能力.
        LegallyEstablished = ("legally_established", "依法设立，具有独立承担民事责任的能力"),
        /// 治理结构健全，内部管理和监督制度完善，信息公开.
        Governance = ("governance", "治理结构健全，内部管理和监督制度完善，信息公开"),
        /// 有健全的财务制度和会计核算制度.
        Finance = ("finance", "有健全的财务制度和会计核算制度"),
        /// 具备提供服务所必需的设施、人员和专业技术能力.
        Capacity = ("capacity", "具备提供服务所必需的设施、人员和专业技术能力"),
        /// 依法缴纳税收和社会保障资金，记录良好.
        TaxAndSocialSecurity = ("tax_and_social_security", "依法缴纳税收和社会保障资金，记录良好"),
        /// 近三年无重大违法记录，年检（年报）合格.
        CleanRecord = ("clean_record", "近三年无重大违法记录，年检（年报）合格"),
        /// 符合购买项目的其他资质要求.
        ProjectSpecific = ("project_specific", "符合购买项目的其他资质要求"),
    }
}

impl Condition {
    /// The number in the document's list (1–7).
    pub fn number(self) -> usize {
        Condition::ALL.iter().position(|c| *c == self).unwrap_or(0) + 1
    }
}

labelled_enum! {
    /// Social-organisation evaluation grade (社会组织评估等级).
    pub enum EvaluationGrade {
        /// 1A.
        A1 = ("1A", "1A"),
        /// 2A.
        A2 = ("2A", "2A"),
        /// 3A.
        A3 = ("3A", "3A"),
        /// 4A.
        A4 = ("4A", "4A"),
        /// 5A.
        A5 = ("5A", "5A"),
    }
}

impl EvaluationGrade {
    /// 3A and above are given priority in purchases (湘政发〔2014〕20号).
    pub fn has_priority(self) -> bool {
        self >= EvaluationGrade::A3
    }
}

/// One condition as checked by bureau staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Qualification {
    /// Which condition.
    pub condition: Condition,
    /// Whether the checker found it met.
    pub met: bool,
    /// When it was checked.
    pub checked_on: NaiveDate,
    /// Until when the finding holds (a licence's or an inspection's expiry), if it expires.
    pub expires_on: Option<NaiveDate>,
    /// Evidence: a document number, a certificate, a file reference.
    pub evidence: String,
    /// Who checked.
    pub checker: String,
}

impl Qualification {
    /// Whether this finding counts on `today`.
    pub fn holds_on(&self, today: NaiveDate) -> bool {
        self.met && self.expires_on.is_none_or(|e| today <= e)
    }
}

/// Why a condition does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Which condition (None: the blacklist).
    pub condition: Option<Condition>,
    /// Why, in words.
    pub reason: String,
}

/// Whether a provider may bid, and what stands in the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BidStanding {
    /// All seven conditions hold and the provider is not blacklisted.
    pub qualified: bool,
    /// A 3A+ social organisation: priority in selection.
    pub priority: bool,
    /// What is missing, expired or failed.
    pub gaps: Vec<Gap>,
}

/// Whether a provider is qualified to bid on `today`: every one of the seven conditions has a
/// current, met finding (the latest finding per condition counts) and the provider is not on
/// barred by a credit record (`credit::purchase_bar`; callers pass its reason).
pub fn bid_standing(
    findings: &[Qualification],
    grade: Option<EvaluationGrade>,
    credit_bar: Option<&str>,
    today: NaiveDate,
) -> BidStanding {
    let mut gaps = Vec::new();
    for &c in Condition::ALL {
        let latest = findings
            .iter()
            .filter(|q| q.condition == c)
            .max_by_key(|q| q.checked_on);
        let reason = match latest {
            None => Some("未核查".to_string()),
            Some(q) if !q.met => Some(format!("{} 核查未通过", q.checked_on)),
            Some(q) if !q.holds_on(today) => Some(format!(
                "已于 {} 过期",
                q.expires_on.map(|d| d.to_string()).unwrap_or_default()
            )),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            gaps.push(Gap {
                condition: Some(c),
                reason,
            });
        }
    }
    if let Some(reason) = credit_bar {
        gaps.push(Gap {
            condition: None,
            reason: reason.into(),
        });
    }
    BidStanding {
        qualified: gaps.is_empty(),
        priority: grade.is_some_and(EvaluationGrade::has_priority),
        gaps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn all_met(on: &str) -> Vec<Qualification> {
        Condition::ALL
            .iter()
            .map(|&condition| Qualification {
                condition,
                met: true,
                checked_on: d(on),
                expires_on: None,
                evidence: "现场核查".into(),
                checker: "县民政局".into(),
            })
            .collect()
    }

    #[test]
    fn a_provider_meeting_all_seven_conditions_and_not_blacklisted_may_bid() {
        let s = bid_standing(
            &all_met("2026-01-10"),
            Some(EvaluationGrade::A3),
            None,
            d("2026-11-23"),
        );
        assert!(s.qualified && s.priority, "{s:?}");
        assert!(
            !bid_standing(
                &all_met("2026-01-10"),
                Some(EvaluationGrade::A2),
                None,
                d("2026-11-23")
            )
            .priority
        );
    }

    #[test]
    fn a_missing_failed_or_expired_condition_or_the_blacklist_stops_bidding() {
        let today = d("2026-11-23");
        let mut q = all_met("2026-01-10");
        q.retain(|f| f.condition != Condition::Finance);
        q[0].expires_on = Some(d("2026-06-30"));
        q.push(Qualification {
            condition: Condition::CleanRecord,
            met: false,
            checked_on: d("2026-03-01"),
            ..q[1].clone()
        });
        let s = bid_standing(
            &q,
            None,
            Some("列入失信名单（湘潭市民政局，潭民失信〔2026〕1号）"),
            today,
        );
        assert!(!s.qualified);
        let reasons: Vec<_> = s
            .gaps
            .iter()
            .map(|g| (g.condition, g.reason.as_str()))
            .collect();
        assert!(
            reasons.contains(&(Some(Condition::Finance), "未核查")),
            "{reasons:?}"
        );
        assert!(reasons.contains(&(Some(Condition::LegallyEstablished), "已于 2026-06-30 过期")));
        assert!(reasons.contains(&(Some(Condition::CleanRecord), "2026-03-01 核查未通过")));
        assert!(reasons.contains(&(None, "列入失信名单（湘潭市民政局，潭民失信〔2026〕1号）")));
    }

    #[test]
    fn the_latest_finding_for_a_condition_is_the_one_that_counts() {
        let mut q = all_met("2026-01-10");
        q.push(Qualification {
            condition: Condition::Finance,
            met: false,
            checked_on: d("2025-01-01"),
            ..q[0].clone()
        });
        assert!(bid_standing(&q, None, None, d("2026-11-23")).qualified);
    }
}
