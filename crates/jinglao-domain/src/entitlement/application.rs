//! Applications for an item of the basic elderly-service list and their review chain
//! (湘财社〔2015〕2号: the person or their family applies to the village/residents' committee,
//! which reviews first (初审); the township/street decides (审定); the decision is publicly
//! noticed (公示) and then takes effect). Pure: the state machine, who may take each step,
//! working-day deadlines and the rule that deciding against the eligibility rule needs a
//! written reason. Storage is jinglao_db::applications.

use crate::labelled_enum;
use crate::role::Role;
use crate::validation::Invalid;

labelled_enum! {
    /// Where an application stands.
    pub enum ApplicationStatus {
        /// Waiting for the village/community's first review.
        Submitted = ("submitted", "待村（居）初审"),
        /// Sent back to the applicant for correction.
        Returned = ("returned", "退回补正"),
        /// First review passed; waiting for the township/street.
        VillageApproved = ("village_approved", "待乡镇（街道）审定"),
        /// Approved and on public notice.
        InNotice = ("in_notice", "公示中"),
        /// In effect: the person is enrolled.
        Effective = ("effective", "已生效"),
        /// Refused, with the reason shown to the applicant.
        Rejected = ("rejected", "不予批准"),
        /// The applicant appealed a refusal; the township/street looks again.
        Appealed = ("appealed", "复核中"),
        /// Withdrawn by the applicant.
        Withdrawn = ("withdrawn", "已撤回"),
    }
}

labelled_enum! {
    /// What a reviewer does.
    pub enum Decision {
        /// Pass to the next step (first review) or approve (decision, appeal).
        Approve = ("approve", "同意"),
        /// Send back for correction.
        Return = ("return", "退回补正"),
        /// Refuse.
        Reject = ("reject", "不予批准"),
    }
}

/// The step an application is waiting for, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// 村（居）初审.
    VillageReview,
    /// 乡镇（街道）审定 (also of an appeal).
    TownshipDecision,
}

impl Step {
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Step::VillageReview => "村（居）初审",
            Step::TownshipDecision => "乡镇（街道）审定",
        }
    }

    /// The policy parameter naming the roles that may take this step. By default exactly
    /// what 湘财社〔2015〕2号 第四条 says: the village/residents' committee reviews, the
    /// township/street decides; a region may widen either.
    pub fn roles_key(self) -> crate::policy::PolicyKey {
        match self {
            Step::VillageReview => crate::policy::PolicyKey::ApplicationVillageReviewRoles,
            Step::TownshipDecision => crate::policy::PolicyKey::ApplicationTownshipDecisionRoles,
        }
    }

    /// The name its decisions are stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::VillageReview => "village_review",
            Step::TownshipDecision => "township_decision",
        }
    }

    /// The other step: one account never takes both steps of one application.
    pub fn other(self) -> Step {
        match self {
            Step::VillageReview => Step::TownshipDecision,
            Step::TownshipDecision => Step::VillageReview,
        }
    }
}

impl ApplicationStatus {
    /// Whether the applicant may withdraw (before the township/street has decided).
    pub fn can_withdraw(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Submitted
                | ApplicationStatus::Returned
                | ApplicationStatus::VillageApproved
                | ApplicationStatus::Appealed
        )
    }

    /// The step it waits for.
    pub fn step(self) -> Option<Step> {
        match self {
            ApplicationStatus::Submitted => Some(Step::VillageReview),
            ApplicationStatus::VillageApproved | ApplicationStatus::Appealed => {
                Some(Step::TownshipDecision)
            }
            _ => None,
        }
    }
}

/// Whether an application for `item` needs an effective capability assessment under the
/// region's `application.assessment_required` (潭政办发〔2023〕20号 二（一）3: those applying for
/// basic elderly-service subsidies must be assessed): `paid` — the items the government pays
/// for in whole or in part; `all`; `none`; or a list of item codes.
pub fn needs_assessment(setting: &str, item: &crate::service_list::ServiceItem) -> bool {
    match setting.trim() {
        "paid" => item.payer.government_share() > 0,
        "all" => true,
        "none" => false,
        codes => crate::elder::split_multi(codes).contains(&item.code.as_str()),
    }
}

/// The outcome of a decision: the new status, and whether the notice period starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// New status.
    pub to: ApplicationStatus,
    /// The decision starts the public notice.
    pub starts_notice: bool,
}

/// What a decision needs besides the decision itself.
#[derive(Debug, Clone, Copy)]
pub struct DecisionContext<'a> {
    /// The application's status.
    pub status: ApplicationStatus,
    /// The decider's role.
    pub role: Role,
    /// The roles the region lets take the step the application waits for (for an objection
    /// during the notice, the township/street decision's).
    pub allowed_roles: &'a [Role],
    /// Whether the rule found the person eligible (evaluated at the decision).
    pub eligible: bool,
    /// The written reason (may be empty).
    pub reason: &'a str,
}

/// Checks a decision and returns where it leads. A refusal or a return needs a reason (it is
/// shown to the applicant); approving someone the rule finds ineligible needs a written reason
/// too, and so does refusing someone it finds eligible.
pub fn decide(d: Decision, ctx: DecisionContext<'_>) -> Result<Transition, Invalid> {
    // An objection upheld during the public notice: the township/street refuses after all.
    if ctx.status == ApplicationStatus::InNotice {
        if !ctx.allowed_roles.contains(&ctx.role) {
            return Err(Invalid::one(
                "decision",
                format!(
                    "公示期间只有乡镇（街道）可以根据异议改为不予批准，{}不能",
                    ctx.role.label()
                ),
            ));
        }
        if d != Decision::Reject {
            return Err(Invalid::one("decision", "公示期间只能根据异议改为不予批准"));
        }
        if ctx.reason.trim().chars().count() < 4 {
            return Err(Invalid::one(
                "reason",
                "请写明异议核实的情况和不予批准的理由（至少 4 个字）",
            ));
        }
        return Ok(Transition {
            to: ApplicationStatus::Rejected,
            starts_notice: false,
        });
    }
    let Some(step) = ctx.status.step() else {
        return Err(Invalid::one(
            "decision",
            format!("申请当前状态为“{}”，不需要审核", ctx.status.label()),
        ));
    };
    if !ctx.allowed_roles.contains(&ctx.role) {
        return Err(Invalid::one(
            "decision",
            format!("{}不能进行{}", ctx.role.label(), step.label()),
        ));
    }
    let reason = ctx.reason.trim();
    let needs_reason = match d {
        Decision::Approve => !ctx.eligible,
        Decision::Return | Decision::Reject => true,
    };
    if needs_reason && reason.chars().count() < 4 {
        let why = match d {
            Decision::Approve => "规则判断该老人不符合条件；如仍同意，请写明理由（至少 4 个字）",
            Decision::Return => "请写明需要补正的内容（至少 4 个字），申请人会看到",
            Decision::Reject => "请写明不予批准的理由（至少 4 个字），申请人会看到",
        };
        return Err(Invalid::one("reason", why));
    }
    let to = match (step, d, ctx.status) {
        (Step::VillageReview, Decision::Approve, _) => ApplicationStatus::VillageApproved,
        (Step::TownshipDecision, Decision::Approve, _) => ApplicationStatus::InNotice,
        (_, Decision::Return, ApplicationStatus::Appealed) => {
            return Err(Invalid::one("decision", "复核只能同意或不予批准"));
        }
        (_, Decision::Return, _) => ApplicationStatus::Returned,
        (_, Decision::Reject, _) => ApplicationStatus::Rejected,
    };
    Ok(Transition {
        to,
        starts_notice: to == ApplicationStatus::InNotice,
    })
}

/// A name as shown on the public notice: the surname and asterisks (王** for 王秀英).
pub fn notice_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

/// The receipt number (受理编号) an applicant is given: the China date of submission and eight
/// digits from the random part of the application's id, "20261207-48213907" — digits a
/// person can read out on the phone, unlike a hexadecimal id. It is looked up together with the
/// person's ID number, so two applications sharing the digits could only be confused for one
/// person on one day (one chance in a hundred million).
pub fn receipt_number(id: uuid::Uuid, submitted_on: chrono::NaiveDate) -> String {
    let random = u64::from_be_bytes(id.as_bytes()[8..16].try_into().unwrap_or([0; 8]))
        & 0x3FFF_FFFF_FFFF_FFFF;
    format!(
        "{}-{:08}",
        submitted_on.format("%Y%m%d"),
        random % 100_000_000
    )
}

/// A receipt number as a person types it: digits only, the dash and spaces optional.
pub fn normalise_receipt(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 16 {
        format!("{}-{}", &digits[..8], &digits[8..])
    } else {
        text.trim().to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The roles the texts give each step: the village reviews, the township decides.
    fn ctx(
        status: ApplicationStatus,
        role: Role,
        eligible: bool,
        reason: &str,
    ) -> DecisionContext<'_> {
        let allowed_roles: &[Role] = match status.step() {
            Some(Step::VillageReview) => &[Role::VillageStaff],
            _ => &[Role::TownshipStaff],
        };
        DecisionContext {
            status,
            role,
            allowed_roles,
            eligible,
            reason,
        }
    }

    #[test]
    fn the_chain_runs_village_review_then_township_decision_then_notice() {
        let t = decide(
            Decision::Approve,
            ctx(ApplicationStatus::Submitted, Role::VillageStaff, true, ""),
        )
        .unwrap();
        assert_eq!(t.to, ApplicationStatus::VillageApproved);
        let t = decide(
            Decision::Approve,
            ctx(
                ApplicationStatus::VillageApproved,
                Role::TownshipStaff,
                true,
                "",
            ),
        )
        .unwrap();
        assert_eq!(
            t,
            Transition {
                to: ApplicationStatus::InNotice,
                starts_notice: true
            }
        );
    }

    #[test]
    fn a_village_cannot_decide_and_a_county_cannot_do_the_first_review() {
        let e = decide(
            Decision::Approve,
            ctx(
                ApplicationStatus::VillageApproved,
                Role::VillageStaff,
                true,
                "",
            ),
        )
        .unwrap_err();
        assert!(e.get("decision").unwrap().contains("乡镇（街道）审定"));
        assert!(
            decide(
                Decision::Approve,
                ctx(ApplicationStatus::Submitted, Role::CountyStaff, true, "")
            )
            .is_err()
        );
        // By the texts' default a township does not do the village's 初审 and a county does
        // not do the township's 审定; a region that widens the roles lets them.
        for (status, role) in [
            (ApplicationStatus::Submitted, Role::TownshipStaff),
            (ApplicationStatus::VillageApproved, Role::CountyStaff),
        ] {
            assert!(decide(Decision::Approve, ctx(status, role, true, "")).is_err());
            let wider = DecisionContext {
                allowed_roles: &[Role::VillageStaff, Role::TownshipStaff, Role::CountyStaff],
                ..ctx(status, role, true, "")
            };
            assert!(decide(Decision::Approve, wider).is_ok());
        }
    }

    #[test]
    fn returning_rejecting_and_approving_against_the_rule_need_a_written_reason() {
        for (d, eligible) in [
            (Decision::Return, true),
            (Decision::Reject, true),
            (Decision::Approve, false),
        ] {
            let e = decide(
                d,
                ctx(
                    ApplicationStatus::Submitted,
                    Role::VillageStaff,
                    eligible,
                    "不行",
                ),
            )
            .unwrap_err();
            assert!(e.get("reason").is_some(), "{d:?}");
        }
        let t = decide(
            Decision::Approve,
            ctx(
                ApplicationStatus::Submitted,
                Role::VillageStaff,
                false,
                "子女长期在外务工，实际无人照料",
            ),
        )
        .unwrap();
        assert_eq!(t.to, ApplicationStatus::VillageApproved);
        let t = decide(
            Decision::Return,
            ctx(
                ApplicationStatus::VillageApproved,
                Role::TownshipStaff,
                true,
                "请补充低保证明复印件",
            ),
        )
        .unwrap();
        assert_eq!(t.to, ApplicationStatus::Returned);
    }

    #[test]
    fn an_appeal_is_approved_or_refused_by_the_township_but_not_sent_back() {
        assert!(
            decide(
                Decision::Return,
                ctx(
                    ApplicationStatus::Appealed,
                    Role::TownshipStaff,
                    true,
                    "请补充材料"
                )
            )
            .is_err()
        );
        let t = decide(
            Decision::Approve,
            ctx(ApplicationStatus::Appealed, Role::TownshipStaff, true, ""),
        )
        .unwrap();
        assert_eq!(t.to, ApplicationStatus::InNotice);
        assert!(
            decide(
                Decision::Approve,
                ctx(ApplicationStatus::Effective, Role::TownshipStaff, true, "")
            )
            .is_err()
        );
    }

    #[test]
    fn an_objection_during_the_notice_lets_the_township_refuse_with_a_reason() {
        let t = decide(
            Decision::Reject,
            ctx(
                ApplicationStatus::InNotice,
                Role::TownshipStaff,
                true,
                "经核实子女在本地且能照料",
            ),
        )
        .unwrap();
        assert_eq!(t.to, ApplicationStatus::Rejected);
        assert!(
            decide(
                Decision::Approve,
                ctx(ApplicationStatus::InNotice, Role::TownshipStaff, true, "")
            )
            .is_err()
        );
        assert!(
            decide(
                Decision::Reject,
                ctx(
                    ApplicationStatus::InNotice,
                    Role::VillageStaff,
                    true,
                    "有人举报情况不实"
                )
            )
            .is_err()
        );
        assert!(
            decide(
                Decision::Reject,
                ctx(ApplicationStatus::InNotice, Role::TownshipStaff, true, "")
            )
            .is_err()
        );
    }

    /// Whether the applicant may still withdraw.
    #[test]
    fn an_application_can_be_withdrawn_until_it_is_decided() {
        for s in [
            ApplicationStatus::Submitted,
            ApplicationStatus::Returned,
            ApplicationStatus::VillageApproved,
            ApplicationStatus::Appealed,
        ] {
            assert!(s.can_withdraw(), "{s:?}");
        }
        for s in [
            ApplicationStatus::InNotice,
            ApplicationStatus::Effective,
            ApplicationStatus::Rejected,
            ApplicationStatus::Withdrawn,
        ] {
            assert!(!s.can_withdraw(), "{s:?}");
        }
    }

    #[test]
    fn the_public_notice_shows_only_the_surname() {
        assert_eq!(notice_name("王秀英"), "王**");
        assert_eq!(notice_name("李明"), "李*");
        assert_eq!(notice_name("欧阳"), "欧*");
    }

    #[test]
    fn a_receipt_number_is_the_date_and_eight_digits_and_reads_back_however_it_is_typed() {
        let id = uuid::Uuid::parse_str("0192f1a2-3b4c-7d5e-8f60-718293a4b5c6").unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let r = receipt_number(id, day);
        assert!(r.starts_with("20261207-"), "{r}");
        assert_eq!(r.len(), 17);
        assert!(r[9..].chars().all(|c| c.is_ascii_digit()));
        assert_eq!(normalise_receipt(&r.replace('-', " ")), r);
        assert_eq!(normalise_receipt(&r), r);
        // Another id of the same day gives other digits.
        let other = uuid::Uuid::parse_str("0192f1a2-3b4c-7d5e-8f60-718293a4b5c7").unwrap();
        assert_ne!(receipt_number(other, day), r);
    }
}
