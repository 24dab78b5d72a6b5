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
    /// The star-rating thresholds, 一级 to 五级, as `total:percent` pairs.
    RatingThresholds,
    /// Years a rating stays valid.
    RatingValidYears,
    /// Years before a failed level may be applied for again.
    RatingReapplyYears,
    /// Months of operation before a facility may apply for a rating.
    RatingMinOperatingMonths,
    /// Highest level a first-time applicant may ask for (0: no cap).
    RatingFirstTimeCap,
    /// Whether admission to an institution needs an effective capability assessment.
    AdmissionRequiresAssessment,
    /// Street centre minimum floor area (m²).
    StreetCentreMinArea,
    /// Street centre minimum number of the six home services.
    StreetCentreMinFunctions,
    /// Community post minimum floor area (m²).
    CommunityPostMinArea,
    /// Community post minimum number of the six home services.
    CommunityPostMinFunctions,
    /// 特困 institution minimum nursing-bed share (percent).
    ExtremePovertyMinNursingPercent,
    /// Largest distance (m) between a check-in or check-out and the elder's registered home.
    VisitRadiusM,
    /// Fastest plausible travel (km/h) between a caregiver's consecutive visits.
    VisitMaxSpeedKmh,
    /// Largest difference (minutes) between a device's clock and the server's.
    VisitMaxClockSkewMinutes,
    /// Hours after the visit within which an offline record may still be synced unflagged.
    VisitLateSyncHours,
    /// What a drawn signature without the one-time code counts for.
    VisitSignatureOnly,
    /// How many distinct wrong confirmation codes a check-out may try before it is recorded.
    VisitCodeTries,
    /// Whether the account that reviewed an assessment may not also make it effective.
    AssessmentSeparateDuties,
    /// Whether the account that approved a statement may not also record its payment.
    SettlementSeparateDuties,
    /// How much a rating given on the caregiver's phone counts against the person's own.
    SatisfactionCaregiverPhoneWeight,
    /// Target-group rule of people visited (巡访) weekly.
    PatrolWeeklyRule,
    /// Target-group rule of people visited at least monthly.
    PatrolMonthlyRule,
    /// Who may have a family care bed (家庭养老床位).
    FamilyBedRule,
    /// Fewest verified visits a month a family care bed's provider owes.
    FamilyBedMinVisits,
    /// The priority tiers of public institutions' waiting lists.
    WaitingListPriority,
    /// Visits a month owed to people on the monthly visit list (巡访).
    PatrolMonthlyTimes,
    /// Which items' applications need an effective capability assessment.
    ApplicationAssessmentRequired,
    /// Roles that may do the village/community's first review (初审) of an application.
    ApplicationVillageReviewRoles,
    /// Roles that may take the township/street's decision (审定) on an application.
    ApplicationTownshipDecisionRoles,
    /// Lowest star rating a 特困 institution must hold.
    ExtremePovertyMinStarLevel,
    /// Years a penalty for 弄虚作假、冒领财政资金 keeps a provider out of government purchase.
    CreditFraudBarYears,
    /// Working days a 单一来源 purchase is publicly noticed before its award.
    PurchaseSingleSourceNoticeDays,
    /// The contract evaluation scheme: parties' weights, criteria and grade bands.
    PurchaseEvaluationScheme,
    /// How far (percentage points) a contract's spending may run ahead of or behind its term
    /// before the performance view warns.
    PurchasePerformanceWarningPoints,
    /// The telephone the public pages give for questions, complaints and objections.
    ContactHotline,
    /// Where the public goes in person (the bureau's or the service hall's address).
    ContactAddress,
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
pub const POLICY_SPECS: [PolicySpec; 46] = [
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
    PolicySpec {
        key: PolicyKey::RatingThresholds,
        name: "rating.thresholds",
        label: "养老机构等级评定分数线（一级至五级，“总分:各部分最低得分率%”，逗号分隔）",
        default: "360:40,450:50,570:60,780:80,900:90",
        basis: "GB/T 37276-2018；分数线取自长沙市实施细则（待本地文件确认）",
    },
    PolicySpec {
        key: PolicyKey::RatingValidYears,
        name: "rating.valid_years",
        label: "等级评定结果有效期（年）",
        default: "3",
        basis: "地方等级评定实施办法（有效期三年）",
    },
    PolicySpec {
        key: PolicyKey::RatingReapplyYears,
        name: "rating.reapply_years",
        label: "评定未通过后不得再次申请同一等级的年限",
        default: "2",
        basis: "地方等级评定实施办法（未通过的两年内不得再申请）",
    },
    PolicySpec {
        key: PolicyKey::RatingMinOperatingMonths,
        name: "rating.min_operating_months",
        label: "申请等级评定须已运营的月数",
        default: "12",
        basis: "地方等级评定实施办法（运营满一年）",
    },
    PolicySpec {
        key: PolicyKey::RatingFirstTimeCap,
        name: "rating.first_time_cap",
        label: "首次申请评定的最高等级（0 表示不限）",
        default: "0",
        basis: "不限：五份政策文件均未规定首次评定的等级上限；本地实施办法有规定时再设置",
    },
    PolicySpec {
        key: PolicyKey::AdmissionRequiresAssessment,
        name: "admission.requires_assessment",
        label: "入住养老机构须有有效的能力评估结论（true/false）",
        default: "true",
        basis: "潭政办发〔2023〕20号（评估结果作为入住依据）",
    },
    PolicySpec {
        key: PolicyKey::StreetCentreMinArea,
        name: "facility.street_centre_min_area",
        label: "街道综合养老服务中心最小建筑面积（m²，0 表示不要求）",
        default: "0",
        basis: "不要求：面积标准只见于潭政办发〔2023〕20号，且只适用于市城区（见雨湖区、岳塘区的区域默认值）",
    },
    PolicySpec {
        key: PolicyKey::StreetCentreMinFunctions,
        name: "facility.street_centre_min_functions",
        label: "街道综合养老服务中心至少提供的“六助”服务项数",
        default: "4",
        basis: "潭政办发〔2023〕20号 二（二）6：街道服务中心不低于4项为老服务功能",
    },
    PolicySpec {
        key: PolicyKey::CommunityPostMinArea,
        name: "facility.community_post_min_area",
        label: "社区养老服务站最小建筑面积（m²，0 表示不要求；虚拟服务站不适用）",
        default: "0",
        basis: "不要求：面积标准只见于潭政办发〔2023〕20号，且只适用于市城区（见雨湖区、岳塘区的区域默认值）",
    },
    PolicySpec {
        key: PolicyKey::CommunityPostMinFunctions,
        name: "facility.community_post_min_functions",
        label: "社区养老服务站至少提供的“六助”服务项数",
        default: "3",
        basis: "潭政办发〔2023〕20号 二（二）6：社区服务站不低于3项为老服务功能",
    },
    PolicySpec {
        key: PolicyKey::ExtremePovertyMinNursingPercent,
        name: "facility.tekun_min_nursing_percent",
        label: "特困人员供养服务机构护理型床位最低占比（%）",
        default: "50",
        basis: "株洲市推进养老服务高质量发展实施意见（征求意见稿）",
    },
    PolicySpec {
        key: PolicyKey::VisitRadiusM,
        name: "visit.radius_m",
        label: "上门服务签到、签退位置距老人登记住址的最大距离（米）",
        default: "200",
        basis: "本地设置：上门服务电子核验（服务六要素中的“地点”）",
    },
    PolicySpec {
        key: PolicyKey::VisitMaxSpeedKmh,
        name: "visit.max_speed_kmh",
        label: "护理员前后两次上门服务之间可信的最高行进速度（公里/小时）",
        default: "40",
        basis: "本地设置：城区电动车、公交的通常速度",
    },
    PolicySpec {
        key: PolicyKey::VisitMaxClockSkewMinutes,
        name: "visit.max_clock_skew_minutes",
        label: "手机时间与服务器时间允许相差的分钟数",
        default: "10",
        basis: "本地设置：以服务器时间为准，相差过大的记录转人工核查",
    },
    PolicySpec {
        key: PolicyKey::VisitLateSyncHours,
        name: "visit.late_sync_hours",
        label: "离线记录须在服务结束后多少小时内补传（超过即标记为迟传）",
        default: "24",
        basis: "本地设置：离线补传一律标记，不静默接受",
    },
    PolicySpec {
        key: PolicyKey::VisitSignatureOnly,
        name: "visit.signature_only",
        label: "老人只签名、没有确认码时：accept 签名即可确认 / review 转人工核查 / refuse 不予认可",
        default: "review",
        basis: "本地设置：上门服务电子核验要求老人确认（刷卡、一次性确认码、人脸）；手写签名可由他人代签，默认转人工核查",
    },
    PolicySpec {
        key: PolicyKey::VisitCodeTries,
        name: "visit.code_tries",
        label: "签退时确认码输错可重新输入的次数（含第一次；用完后按“确认码不符”记录并转人工核查）",
        default: "3",
        basis: "本地设置：输错的确认码先请老人再念一遍，不直接记为异常",
    },
    PolicySpec {
        key: PolicyKey::AssessmentSeparateDuties,
        name: "assessment.separate_duties",
        label: "能力评估的审核与生效须由不同账号办理（true/false）",
        default: "true",
        basis: "财会〔2012〕21号《行政事业单位内部控制规范（试行）》：不相容岗位相互分离；评估结论作为补贴和入住依据（潭政办发〔2023〕20号）",
    },
    PolicySpec {
        key: PolicyKey::SettlementSeparateDuties,
        name: "settlement.separate_duties",
        label: "结算单的审批与支付登记须由不同账号办理（true/false）",
        default: "true",
        basis: "财会〔2012〕21号《行政事业单位内部控制规范（试行）》：不相容岗位相互分离（审批与支付）",
    },
    PolicySpec {
        key: PolicyKey::SatisfactionCaregiverPhoneWeight,
        name: "satisfaction.caregiver_phone_weight_percent",
        label: "在护理员手机上给出的评价在满意度汇总中的权重（%，老人本人或家属的评价为 100）",
        default: "50",
        basis: "本地设置：护理员手机上的评价可能由护理员代填；湘财社〔2015〕2号：绩效评价以服务对象满意度为主",
    },
    PolicySpec {
        key: PolicyKey::WaitingListPriority,
        name: "waiting_list.priority",
        label: "公办养老机构优先轮候的类别（用“、”分隔同一档，用“；”分档，前一档优先）",
        default: "城市特困、农村特困、低保、低保边缘、高龄、失能、失独、获得国家荣誉",
        basis: "潭政办发〔2023〕20号 二（三）9：低收入（特困、低保、低保边缘）、高龄、失能、失独、获得国家荣誉等老年人可优先轮候；文件未定先后，默认同为一档，按申请日期排序",
    },
    PolicySpec {
        key: PolicyKey::PatrolMonthlyTimes,
        name: "patrol.monthly_times",
        label: "巡访名单上的老人每月至少巡访次数（每周巡访的另按每周一次）",
        default: "1",
        basis: "潭政办发〔2023〕20号 二（二）5：落实常态化巡访（文件未定频次，本地设置）",
    },
    PolicySpec {
        key: PolicyKey::ApplicationAssessmentRequired,
        name: "application.assessment_required",
        label: "哪些项目的申请须有生效的能力评估：paid 政府出资的项目 / all 全部 / none 不要求 / 或列出项目编码（逗号分隔）",
        default: "paid",
        basis: "潭政办发〔2023〕20号 二（一）3：申请享受基本养老服务补贴、入住养老服务机构的老年人必须开展综合能力评估",
    },
    PolicySpec {
        key: PolicyKey::ApplicationVillageReviewRoles,
        name: "application.village_review_roles",
        label: "可以办理初审的角色（逗号分隔的角色名）",
        default: "village_staff",
        basis: "湘财社〔2015〕2号 第四条：向村（居）民委员会申请，经村（居）民委员会初审",
    },
    PolicySpec {
        key: PolicyKey::ApplicationTownshipDecisionRoles,
        name: "application.township_decision_roles",
        label: "可以办理审定的角色（逗号分隔的角色名）",
        default: "township_staff",
        basis: "湘财社〔2015〕2号 第四条：初审合格的，报乡（镇）人民政府（街道办事处）审定",
    },
    PolicySpec {
        key: PolicyKey::ExtremePovertyMinStarLevel,
        name: "facility.tekun_min_star_level",
        label: "特困人员供养服务机构须达到的最低等级（星级，0 表示不要求）",
        default: "2",
        basis: "株洲市推进养老服务高质量发展实施意见（征求意见稿）：特困人员供养机构符合二级以上养老机构等级标准",
    },
    PolicySpec {
        key: PolicyKey::CreditFraudBarYears,
        name: "credit.fraud_bar_years",
        label: "因弄虚作假、冒领财政资金受处罚的承接主体不得参与政府购买服务的年数",
        default: "3",
        basis: "湘政发〔2014〕20号 三（三）：对弄虚作假、冒领财政资金的承接主体，依法给予行政处罚，三年之内不得参与政府购买服务",
    },
    PolicySpec {
        key: PolicyKey::PurchaseSingleSourceNoticeDays,
        name: "purchase.single_source_notice_days",
        label: "单一来源采购确定承接主体前的公示期（工作日）",
        default: "5",
        basis: "政府采购非招标采购方式管理办法（财政部令第74号）第三十八条：拟采用单一来源采购方式的，应当在省级以上财政部门指定媒体上公示……公示期不得少于5个工作日",
    },
    PolicySpec {
        key: PolicyKey::PurchaseEvaluationScheme,
        name: "purchase.evaluation_scheme",
        label: "购买服务绩效评价方案（评价方权重、评分项、等次）",
        default: crate::purchase::evaluation::DEFAULT_SCHEME,
        basis: "湘财社〔2015〕2号 九：由财政部门会同民政和老龄部门、养老服务对象以及第三方组成的综合评审机制……要更侧重受益对象对养老服务的满意度评价；湘政发〔2014〕20号 二（五）：对购买服务项目数量、质量和资金使用效率等进行评价（各方权重和等次分数线文件未定，本地设定）",
    },
    PolicySpec {
        key: PolicyKey::PurchasePerformanceWarningPoints,
        name: "purchase.performance_warning_points",
        label: "合同支出进度偏离服务期进度多少个百分点时预警",
        default: "20",
        basis: "湘财社〔2015〕2号 八（五）：购买实施主体对项目实施进行全程督导和检查（偏离幅度文件未定，本地设定）",
    },
    PolicySpec {
        key: PolicyKey::PatrolWeeklyRule,
        name: "patrol.weekly_rule",
        label: "每周巡访一次的对象（规则，语法同服务清单）",
        default: r#"living = "独居" and "高龄" in categories"#,
        basis: "潭政办发〔2023〕20号 二（二）5（巡访独居、高龄等老年人；频次本地设置）",
    },
    PolicySpec {
        key: PolicyKey::PatrolMonthlyRule,
        name: "patrol.monthly_rule",
        label: "每月至少巡访一次的对象（规则，语法同服务清单）",
        default: r#"living = "独居" or "空巢" in categories or "留守" in categories or "城市特困" in categories or "农村特困" in categories or "高龄" in categories or "失能" in categories or "失智" in categories or "重度残疾" in categories or "计生特殊家庭" in categories"#,
        basis: "潭政办发〔2023〕20号 二（二）5：对独居、空巢、留守、特困、高龄、失能失智、重度残疾和计划生育特殊家庭等老年人落实常态化巡访",
    },
    PolicySpec {
        key: PolicyKey::FamilyBedRule,
        name: "family_bed.rule",
        label: "可建家庭养老床位的对象（规则，语法同服务清单）",
        default: r#"living != "机构" and ("高龄" in categories or "失能" in categories or "半失能" in categories)"#,
        basis: "潭政办发〔2023〕20号 二（二）5：为居家高龄、失能等有需求的老年人提供家庭养老床位照护服务（“等”含半失能，本地理解）",
    },
    PolicySpec {
        key: PolicyKey::FamilyBedMinVisits,
        name: "family_bed.min_visits",
        label: "家庭养老床位每月至少上门服务次数（核验通过的）",
        default: "4",
        basis: "本地设置（潭政办发〔2023〕20号：家庭养老床位提供上门服务）",
    },
    PolicySpec {
        key: PolicyKey::ContactHotline,
        name: "contact.hotline",
        label: "公众咨询、投诉和对公示提出异议的电话",
        default: "12345",
        basis: "国办发〔2020〕53号：12345 政务服务便民热线受理咨询、投诉、求助和建议；部署时可改为本级民政局电话",
    },
    PolicySpec {
        key: PolicyKey::ContactAddress,
        name: "contact.address",
        label: "公众现场办理和反映问题的地点",
        default: "所在村（社区）服务站、乡镇（街道）便民服务中心，或县（市、区）民政局",
        basis: "本地设置：申请经村（社区）初审、乡镇（街道）审定（潭政办发〔2023〕20号 基本养老服务清单制度）；部署时填写民政局地址",
    },
];

/// Built-in defaults for particular regions, where a policy text applies to them only: the
/// nearest one up the tree applies when no stored setting does, before the global default.
/// (region code, value, legal basis).
pub const REGION_DEFAULTS: &[(PolicyKey, &str, &str, &str)] = &[
    (
        PolicyKey::StreetCentreMinArea,
        "430302",
        "800",
        "潭政办发〔2023〕20号 二（二）6：市城区（雨湖区、岳塘区）每个街道建有不低于800平方米的综合养老服务中心",
    ),
    (
        PolicyKey::StreetCentreMinArea,
        "430304",
        "800",
        "潭政办发〔2023〕20号 二（二）6：市城区（雨湖区、岳塘区）每个街道建有不低于800平方米的综合养老服务中心",
    ),
    (
        PolicyKey::CommunityPostMinArea,
        "430302",
        "300",
        "潭政办发〔2023〕20号 二（二）6：市城区每个社区建有不低于300平方米的为老服务站或虚拟服务站",
    ),
    (
        PolicyKey::CommunityPostMinArea,
        "430304",
        "300",
        "潭政办发〔2023〕20号 二（二）6：市城区每个社区建有不低于300平方米的为老服务站或虚拟服务站",
    ),
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
            PolicyKey::RatingThresholds => crate::rating::Thresholds::parse(v).map(|_| ()),
            PolicyKey::RatingValidYears => int_in(1, 10),
            PolicyKey::RatingReapplyYears => int_in(0, 10),
            PolicyKey::RatingMinOperatingMonths => int_in(0, 120),
            PolicyKey::RatingFirstTimeCap => int_in(0, 5),
            PolicyKey::StreetCentreMinArea | PolicyKey::CommunityPostMinArea => int_in(0, 100_000),
            PolicyKey::StreetCentreMinFunctions | PolicyKey::CommunityPostMinFunctions => {
                int_in(0, 6)
            }
            PolicyKey::ExtremePovertyMinNursingPercent
            | PolicyKey::SatisfactionCaregiverPhoneWeight => int_in(0, 100),
            PolicyKey::VisitRadiusM => int_in(20, 5_000),
            PolicyKey::VisitMaxSpeedKmh => int_in(5, 200),
            PolicyKey::VisitMaxClockSkewMinutes => int_in(1, 120),
            PolicyKey::VisitCodeTries => int_in(1, 10),
            PolicyKey::VisitLateSyncHours => int_in(1, 24 * 31),
            PolicyKey::FamilyBedMinVisits => int_in(1, 62),
            PolicyKey::PatrolMonthlyTimes => int_in(1, 31),
            PolicyKey::ExtremePovertyMinStarLevel => int_in(0, 5),
            PolicyKey::CreditFraudBarYears => int_in(0, 10),
            PolicyKey::PurchaseSingleSourceNoticeDays => int_in(0, 30),
            PolicyKey::PurchasePerformanceWarningPoints => int_in(1, 100),
            PolicyKey::PurchaseEvaluationScheme => {
                crate::purchase::evaluation::Scheme::parse(v).map(|_| ())
            }
            PolicyKey::WaitingListPriority => {
                crate::waiting_list::PriorityTiers::parse(v).map(|_| ())
            }
            PolicyKey::ApplicationAssessmentRequired => match v {
                "paid" | "all" | "none" => Ok(()),
                codes if !codes.trim().is_empty() => Ok(()),
                _ => Err("应为 paid、all、none 或项目编码".into()),
            },
            PolicyKey::ApplicationVillageReviewRoles
            | PolicyKey::ApplicationTownshipDecisionRoles => {
                let roles: Vec<&str> = v.split([',', '，', '、']).map(str::trim).collect();
                if roles.iter().any(|r| r.is_empty()) {
                    return Err("请列出角色名，用逗号分隔".into());
                }
                roles
                    .iter()
                    .try_for_each(|r| r.parse::<crate::role::Role>().map(|_| ()))
            }
            PolicyKey::VisitSignatureOnly => crate::visit::SignatureOnly::parse(v)
                .map(|_| ())
                .ok_or_else(|| "应为 accept、review 或 refuse".to_string()),
            PolicyKey::PatrolWeeklyRule
            | PolicyKey::PatrolMonthlyRule
            | PolicyKey::FamilyBedRule => crate::rules::Rule::parse(v)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            PolicyKey::ContactHotline => {
                let ok = !v.is_empty()
                    && v.chars().count() <= 40
                    && v.chars()
                        .all(|c| c.is_ascii_digit() || "-－ ，,、转()（）".contains(c));
                if ok {
                    Ok(())
                } else {
                    Err("应为电话号码（数字和“-”，多个用顿号分隔，最多 40 个字）".into())
                }
            }
            PolicyKey::ContactAddress => match v.chars().count() {
                1..=200 => Ok(()),
                _ => Err("请填写 1 到 200 个字".into()),
            },
            PolicyKey::AssessmentAdjustmentsStack
            | PolicyKey::AdmissionRequiresAssessment
            | PolicyKey::AssessmentSeparateDuties
            | PolicyKey::SettlementSeparateDuties => match v {
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
        for r in chain.iter().rev() {
            if let Some((_, _, value, basis)) = REGION_DEFAULTS
                .iter()
                .find(|(k, code, _, _)| *k == key && r.short() == *code)
            {
                return Resolved {
                    value: value.to_string(),
                    from_region: None,
                    basis: basis.to_string(),
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

    /// A text parameter as written.
    pub fn text(&self, key: PolicyKey, region: &RegionCode) -> String {
        self.resolve(key, region).value.trim().to_string()
    }

    /// A true/false parameter.
    pub fn flag(&self, key: PolicyKey, region: &RegionCode) -> bool {
        self.resolve(key, region).value.trim() == "true"
    }

    /// The facility norms in force for `region`.
    pub fn facility_norms(&self, region: &RegionCode) -> crate::facility::Norms {
        crate::facility::Norms {
            street_centre_min_area: self.int(PolicyKey::StreetCentreMinArea, region),
            street_centre_min_functions: self.int(PolicyKey::StreetCentreMinFunctions, region),
            community_post_min_area: self.int(PolicyKey::CommunityPostMinArea, region),
            community_post_min_functions: self.int(PolicyKey::CommunityPostMinFunctions, region),
            tekun_min_nursing_percent: self.int(PolicyKey::ExtremePovertyMinNursingPercent, region),
            tekun_min_star_level: self.int(PolicyKey::ExtremePovertyMinStarLevel, region),
        }
    }

    /// The visit-verification rules in force for `region`.
    pub fn visit_rules(&self, region: &RegionCode) -> crate::visit::VisitRules {
        crate::visit::VisitRules {
            radius_m: self.int(PolicyKey::VisitRadiusM, region),
            max_speed_kmh: self.int(PolicyKey::VisitMaxSpeedKmh, region),
            max_clock_skew_minutes: self.int(PolicyKey::VisitMaxClockSkewMinutes, region),
            late_sync_hours: self.int(PolicyKey::VisitLateSyncHours, region),
            signature_only: crate::visit::SignatureOnly::parse(
                &self.resolve(PolicyKey::VisitSignatureOnly, region).value,
            )
            .unwrap_or(crate::visit::SignatureOnly::Review),
        }
    }

    /// The regular-visit rules in force for `region` (the built-in ones if a stored rule cannot
    /// be read, which `check` prevents).
    pub fn patrol_rules(&self, region: &RegionCode) -> crate::patrol::PatrolRules {
        let rule = |key: PolicyKey| {
            crate::rules::Rule::parse(&self.resolve(key, region).value)
                .or_else(|_| crate::rules::Rule::parse(key.spec().default))
                .expect("the built-in rule parses")
        };
        crate::patrol::PatrolRules {
            weekly: rule(PolicyKey::PatrolWeeklyRule),
            monthly: rule(PolicyKey::PatrolMonthlyRule),
            monthly_times: self.patrol_monthly_times(region),
        }
    }

    /// Visits a month owed to the monthly group in `region` (1–31).
    pub fn patrol_monthly_times(&self, region: &RegionCode) -> u32 {
        self.int(PolicyKey::PatrolMonthlyTimes, region).clamp(1, 31) as u32
    }

    /// Who may have a family care bed in `region` (the built-in rule if the stored one cannot
    /// be read, which `check` prevents).
    pub fn family_bed_rule(&self, region: &RegionCode) -> crate::rules::Rule {
        crate::rules::Rule::parse(&self.resolve(PolicyKey::FamilyBedRule, region).value)
            .or_else(|_| crate::rules::Rule::parse(PolicyKey::FamilyBedRule.spec().default))
            .expect("the built-in rule parses")
    }

    /// The waiting-list tiers in force for `region` (the built-in ones if a stored value cannot
    /// be read, which `check` prevents).
    pub fn waiting_list_tiers(&self, region: &RegionCode) -> crate::waiting_list::PriorityTiers {
        crate::waiting_list::PriorityTiers::parse(
            &self.resolve(PolicyKey::WaitingListPriority, region).value,
        )
        .or_else(|_| {
            crate::waiting_list::PriorityTiers::parse(PolicyKey::WaitingListPriority.spec().default)
        })
        .expect("the built-in tiers parse")
    }

    /// The roles `region` lets do a step: the comma-separated role names of `key`.
    pub fn roles(&self, key: PolicyKey, region: &RegionCode) -> Vec<crate::role::Role> {
        crate::elder::split_multi(&self.resolve(key, region).value)
            .into_iter()
            .filter_map(|r| r.parse().ok())
            .collect()
    }

    /// The rating thresholds in force for `region` (the built-in table if the stored one
    /// cannot be read, which `check` prevents).
    pub fn rating_thresholds(&self, region: &RegionCode) -> crate::rating::Thresholds {
        crate::rating::Thresholds::parse(&self.resolve(PolicyKey::RatingThresholds, region).value)
            .or_else(|_| {
                crate::rating::Thresholds::parse(PolicyKey::RatingThresholds.spec().default)
            })
            .expect("the built-in thresholds parse")
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
    fn the_floor_area_norms_apply_to_the_city_districts_the_text_names_and_nowhere_else() {
        let book = PolicyBook::default();
        let k = PolicyKey::StreetCentreMinArea;
        assert_eq!(book.int(k, &code("430302001")), 800, "雨湖区");
        assert_eq!(book.int(k, &code("430304005")), 800, "岳塘区");
        assert_eq!(book.int(k, &code("430321100")), 0, "湘潭县 is not 市城区");
        assert_eq!(book.int(k, &code("430202001")), 0, "株洲");
        assert!(book.resolve(k, &code("430302001")).basis.contains("市城区"));
        // A stored setting still wins.
        let set = PolicyBook::new(vec![PolicySetting {
            region: code("430302"),
            key: k,
            value: "1000".into(),
            basis: "区文件".into(),
        }]);
        assert_eq!(set.int(k, &code("430302001")), 1000);
        assert_eq!(
            PolicyKey::RatingFirstTimeCap.spec().default,
            "0",
            "no text caps a first rating"
        );
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
