//! Policy parameters: figures that come from policy documents and differ between regions,
//! each with its legal basis. A region inherits its nearest ancestor's setting; the built-in
//! default applies when no region up the tree sets one.

use std::collections::HashMap;

use crate::assessment::AdjustmentStacking;
use crate::region::RegionCode;

/// A parameter the code reads. The key names are stable (stored in `policy_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKey {
    /// Minimum age for the older-people registry.
    RegistryMinAge,
    /// Age from which someone counts as 高龄.
    AdvancedAge,
    /// Months between routine re-assessments.
    ReassessmentIntervalMonths,
    /// Whether the dementia and risk-event adjustments stack.
    AssessmentAdjustmentsStack,
    /// Full-time certified assessors an agency needs to be active.
    AgencyMinAssessors,
    /// Days before the due date an assessment appears on the "due" worklist.
    ReassessmentNoticeDays,
    /// Working days the village/community has for its first review of an application.
    ApplicationVillageDays,
    /// Working days the township/street has for its decision.
    ApplicationTownshipDays,
    /// Days an approval is publicly noticed before it takes effect.
    ApplicationNoticeDays,
    /// Days after a rejection within which the applicant may appeal.
    ApplicationAppealDays,
}

/// A parameter's metadata.
#[derive(Debug, Clone, Copy)]
pub struct PolicySpec {
    /// The key.
    pub key: PolicyKey,
    /// Stable name.
    pub name: &'static str,
    /// What it means, in Chinese.
    pub label: &'static str,
    /// Built-in default (as text).
    pub default: &'static str,
    /// Where the default comes from.
    pub basis: &'static str,
}

/// Every parameter.
pub const POLICY_SPECS: [PolicySpec; 10] = [
    PolicySpec {
        key: PolicyKey::RegistryMinAge,
        name: "registry.min_age",
        label: "老年人数据库登记年龄下限（周岁）",
        default: "60",
        basis: "《中华人民共和国老年人权益保障法》第二条",
    },
    PolicySpec {
        key: PolicyKey::AdvancedAge,
        name: "registry.advanced_age",
        label: "高龄老人年龄起点（周岁）",
        default: "80",
        basis: "湘财社〔2015〕2号 第四条（80 周岁以上）",
    },
    PolicySpec {
        key: PolicyKey::ReassessmentIntervalMonths,
        name: "assessment.reassessment_interval_months",
        label: "常规复评间隔（月）",
        default: "12",
        basis: "本地设置；MZ/T 039-2013 为 6 个月",
    },
    PolicySpec {
        key: PolicyKey::AssessmentAdjustmentsStack,
        name: "assessment.adjustments_stack",
        label: "痴呆与照护风险事件两条升级规则是否叠加（true/false）",
        default: "false",
        basis: "GB/T 42195-2022 C.4（按“只升一级”理解，可由本地设置）",
    },
    PolicySpec {
        key: PolicyKey::AgencyMinAssessors,
        name: "assessment.agency_min_assessors",
        label: "评估机构须有的专职持证评估师人数",
        default: "3",
        basis: "潭政办发〔2023〕20号",
    },
    PolicySpec {
        key: PolicyKey::ReassessmentNoticeDays,
        name: "assessment.due_notice_days",
        label: "复评到期前提前列入待评估清单的天数",
        default: "30",
        basis: "本地设置",
    },
    PolicySpec {
        key: PolicyKey::ApplicationVillageDays,
        name: "application.village_review_working_days",
        label: "村（居）委会初审时限（工作日）",
        default: "5",
        basis: "湘财社〔2015〕2号：初审和审定的具体流程及办法由县级民政、财政部门规定（县级设置）",
    },
    PolicySpec {
        key: PolicyKey::ApplicationTownshipDays,
        name: "application.township_decision_working_days",
        label: "乡镇（街道）审定时限（工作日）",
        default: "10",
        basis: "湘财社〔2015〕2号：初审和审定的具体流程及办法由县级民政、财政部门规定（县级设置）",
    },
    PolicySpec {
        key: PolicyKey::ApplicationNoticeDays,
        name: "application.notice_days",
        label: "审定结果公示天数",
        default: "7",
        basis: "本地设置",
    },
    PolicySpec {
        key: PolicyKey::ApplicationAppealDays,
        name: "application.appeal_days",
        label: "不予批准后可申请复核的天数",
        default: "30",
        basis: "本地设置",
    },
];

impl PolicyKey {
    /// The parameter's metadata.
    pub fn spec(self) -> &'static PolicySpec {
        POLICY_SPECS
            .iter()
            .find(|s| s.key == self)
            .expect("every key has a spec")
    }

    /// From the stable name.
    pub fn parse(name: &str) -> Option<PolicyKey> {
        POLICY_SPECS.iter().find(|s| s.name == name).map(|s| s.key)
    }

    /// Whether `value` is acceptable for this key.
    pub fn check(self, value: &str) -> Result<(), String> {
        let v = value.trim();
        let int_in = |lo: i64, hi: i64| match v.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(()),
            _ => Err(format!("应为 {lo} 到 {hi} 之间的整数")),
        };
        match self {
            PolicyKey::RegistryMinAge => int_in(40, 80),
            PolicyKey::AdvancedAge => int_in(60, 100),
            PolicyKey::ReassessmentIntervalMonths => int_in(1, 60),
            PolicyKey::AgencyMinAssessors => int_in(1, 100),
            PolicyKey::ReassessmentNoticeDays => int_in(0, 365),
            PolicyKey::ApplicationVillageDays | PolicyKey::ApplicationTownshipDays => int_in(1, 60),
            PolicyKey::ApplicationNoticeDays => int_in(0, 30),
            PolicyKey::ApplicationAppealDays => int_in(1, 365),
            PolicyKey::AssessmentAdjustmentsStack => match v {
                "true" | "false" => Ok(()),
                _ => Err("应为 true 或 false".into()),
            },
        }
    }
}

/// A region's override of a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySetting {
    /// The region it applies to (and below).
    pub region: RegionCode,
    /// The parameter.
    pub key: PolicyKey,
    /// Its value, as text.
    pub value: String,
    /// The document and article it implements.
    pub basis: String,
}

/// All overrides, for resolving values.
#[derive(Debug, Clone, Default)]
pub struct PolicyBook {
    settings: HashMap<(RegionCode, PolicyKey), PolicySetting>,
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The value, as text.
    pub value: String,
    /// The region whose setting applies, or `None` for the built-in default.
    pub from_region: Option<RegionCode>,
    /// The legal basis.
    pub basis: String,
}

impl PolicyBook {
    /// A book holding `settings`.
    pub fn new(settings: Vec<PolicySetting>) -> Self {
        PolicyBook {
            settings: settings
                .into_iter()
                .map(|s| ((s.region, s.key), s))
                .collect(),
        }
    }

    /// The value for `region`: its own setting, else its nearest ancestor's, else the default.
    pub fn resolve(&self, key: PolicyKey, region: &RegionCode) -> Resolved {
        let mut chain = region.ancestors();
        chain.push(*region);
        for r in chain.iter().rev() {
            if let Some(s) = self.settings.get(&(*r, key)) {
                return Resolved {
                    value: s.value.clone(),
                    from_region: Some(*r),
                    basis: s.basis.clone(),
                };
            }
        }
        let spec = key.spec();
        Resolved {
            value: spec.default.to_string(),
            from_region: None,
            basis: spec.basis.to_string(),
        }
    }

    /// An integer parameter (falls back to the default if a stored value is unreadable).
    pub fn int(&self, key: PolicyKey, region: &RegionCode) -> i64 {
        self.resolve(key, region)
            .value
            .trim()
            .parse()
            .unwrap_or_else(|_| key.spec().default.parse().unwrap_or(0))
    }

    /// The adjustment stacking setting.
    pub fn stacking(&self, region: &RegionCode) -> AdjustmentStacking {
        if self
            .resolve(PolicyKey::AssessmentAdjustmentsStack, region)
            .value
            .trim()
            == "true"
        {
            AdjustmentStacking::Stack
        } else {
            AdjustmentStacking::ApplyOnce
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn the_nearest_setting_up_the_tree_wins_and_the_default_applies_otherwise() {
        let book = PolicyBook::new(vec![
            PolicySetting {
                region: code("4303"),
                key: PolicyKey::ReassessmentIntervalMonths,
                value: "12".into(),
                basis: "市设置".into(),
            },
            PolicySetting {
                region: code("430302"),
                key: PolicyKey::ReassessmentIntervalMonths,
                value: "6".into(),
                basis: "区设置".into(),
            },
        ]);
        let k = PolicyKey::ReassessmentIntervalMonths;
        assert_eq!(book.int(k, &code("430302001001")), 6);
        assert_eq!(book.int(k, &code("430304001001")), 12);
        let zhuzhou = book.resolve(k, &code("4302"));
        assert_eq!(zhuzhou.from_region, None);
        assert!(zhuzhou.basis.contains("MZ/T 039"));
        assert_eq!(book.stacking(&code("4303")), AdjustmentStacking::ApplyOnce);
    }

    #[test]
    fn values_are_checked_per_key() {
        assert!(PolicyKey::RegistryMinAge.check("60").is_ok());
        assert!(PolicyKey::RegistryMinAge.check("sixty").is_err());
        assert!(PolicyKey::AssessmentAdjustmentsStack.check("yes").is_err());
        for s in POLICY_SPECS {
            assert!(s.key.check(s.default).is_ok(), "{}", s.name);
            assert_eq!(PolicyKey::parse(s.name), Some(s.key));
        }
    }
}
