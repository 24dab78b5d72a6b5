//! The older person's record (老年人基本信息) and the one validation every way in (forms,
//! the API, bulk imports) goes through.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::id_number::{ResidentId, Sex, age_on};
use crate::labelled_enum;
use crate::phone::Phone;
use crate::region::{RegionCode, RegionLevel};
use crate::region_tree::RegionTree;
use crate::validation::Invalid;

labelled_enum! {
    /// Who the person lives with (居住情况, GB/T 42195 A.2.10).
    pub enum LivingArrangement {
        /// 独居.
        Alone = ("alone", "独居"),
        /// 仅与配偶.
        SpouseOnly = ("spouse_only", "仅与配偶"),
        /// 与子女.
        WithChildren = ("with_children", "与子女"),
        /// 与其他亲属.
        WithRelatives = ("with_relatives", "与其他亲属"),
        /// 机构.
        Institution = ("institution", "机构"),
    }
}

labelled_enum! {
    /// Marital status (婚姻状况, A.2.11).
    pub enum MaritalStatus {
        /// 未婚.
        Unmarried = ("unmarried", "未婚"),
        /// 已婚.
        Married = ("married", "已婚"),
        /// 丧偶.
        Widowed = ("widowed", "丧偶"),
        /// 离婚.
        Divorced = ("divorced", "离婚"),
        /// 未说明.
        Unknown = ("unknown", "未说明"),
    }
}

labelled_enum! {
    /// Education (文化程度, A.2.9).
    pub enum Education {
        /// 文盲.
        Illiterate = ("illiterate", "文盲"),
        /// 小学.
        Primary = ("primary", "小学"),
        /// 初中.
        JuniorHigh = ("junior_high", "初中"),
        /// 高中/技校/职高/中专.
        SeniorHigh = ("senior_high", "高中/中专"),
        /// 大学专科及以上.
        College = ("college", "大专及以上"),
        /// 不详.
        Unknown = ("unknown", "不详"),
    }
}

labelled_enum! {
    /// Sources of income (经济来源, A.2.13); several may apply.
    pub enum IncomeSource {
        /// 退休金/养老金.
        Pension = ("pension", "退休金/养老金"),
        /// 子女补贴.
        Children = ("children", "子女补贴"),
        /// 亲友资助.
        Relatives = ("relatives", "亲友资助"),
        /// 国家普惠型补贴.
        StateBenefit = ("state_benefit", "国家普惠型补贴"),
        /// 个人储蓄.
        Savings = ("savings", "个人储蓄"),
        /// 其他补贴.
        Other = ("other", "其他补贴"),
    }
}

labelled_enum! {
    /// How medical costs are paid (医疗费用支付方式, A.2.12); several may apply.
    pub enum MedicalPayment {
        /// 城镇职工基本医疗保险.
        EmployeeInsurance = ("employee_insurance", "城镇职工基本医疗保险"),
        /// 城乡居民基本医疗保险.
        ResidentInsurance = ("resident_insurance", "城乡居民基本医疗保险"),
        /// 医疗救助.
        MedicalAssistance = ("medical_assistance", "医疗救助"),
        /// 长期护理保险.
        LongTermCare = ("ltc_insurance", "长期护理保险"),
        /// 公费医疗.
        PublicFunded = ("public_funded", "公费医疗"),
        /// 商业医疗保险.
        Commercial = ("commercial", "商业医疗保险"),
        /// 自费.
        SelfPaid = ("self_paid", "自费"),
        /// 其他.
        Other = ("other", "其他"),
    }
}

labelled_enum! {
    /// Whether the person is on the register (在册), moved away or deceased.
    pub enum ElderStatus {
        /// 在册.
        Active = ("active", "在册"),
        /// 迁出.
        MovedOut = ("moved_out", "迁出"),
        /// 死亡.
        Deceased = ("deceased", "死亡"),
    }
}

/// The 56 recognised ethnic groups (民族), plus the two catch-alls of the census.
pub const ETHNICITIES: [&str; 58] = [
    "汉族",
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
    "其他未识别民族",
    "外国人入籍",
];

/// Normalises an ethnicity: accepts the name with or without the final 族 (汉 → 汉族).
pub fn parse_ethnicity(text: &str) -> Option<&'static str> {
    let t = text.trim();
    ETHNICITIES
        .iter()
        .copied()
        .find(|e| *e == t || e.strip_suffix('族') == Some(t))
}

/// An emergency contact (紧急联系人).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyContact {
    /// Name.
    pub name: String,
    /// Relation to the older person (儿子, 女儿, 邻居…).
    pub relation: String,
    /// Phone.
    pub phone: Phone,
}

/// A validated record, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ElderInput {
    /// Name.
    pub name: String,
    /// Resident ID number.
    pub id_number: ResidentId,
    /// Ethnicity, one of [`ETHNICITIES`].
    pub ethnicity: &'static str,
    /// Phone numbers (first is the main one).
    pub phones: Vec<Phone>,
    /// Household registration (户籍) region.
    pub hukou_region: RegionCode,
    /// Residence: a village/community.
    pub residence_region: RegionCode,
    /// Street address.
    pub address: String,
    /// Longitude and latitude (WGS-84 as collected; GCJ-02 from domestic map services).
    pub location: Option<(f64, f64)>,
    /// Living arrangement.
    pub living: LivingArrangement,
    /// Marital status.
    pub marital: MaritalStatus,
    /// Education.
    pub education: Education,
    /// Income sources.
    pub income_sources: Vec<IncomeSource>,
    /// Medical payment types.
    pub medical_payments: Vec<MedicalPayment>,
    /// Number of living children.
    pub children_count: i32,
    /// At least one child lives locally (same county).
    pub children_local: bool,
    /// At least one child is able to care for the person.
    pub children_can_care: bool,
    /// Emergency contacts (up to two).
    pub contacts: Vec<EmergencyContact>,
    /// Why someone younger than the registry's minimum age is registered.
    pub under_age_reason: Option<String>,
}

impl ElderInput {
    /// Birth date (from the ID number).
    pub fn birth_date(&self) -> NaiveDate {
        self.id_number.birth_date()
    }
    /// Sex (from the ID number).
    pub fn sex(&self) -> Sex {
        self.id_number.sex()
    }
}

/// An emergency contact as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ContactDraft {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Relation.
    #[serde(default)]
    pub relation: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
}

/// A record as typed into a form or read from an import row: text fields, validated by
/// [`ElderDraft::validate`]. Field names are the form's and the API's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ElderDraft {
    /// 姓名.
    #[serde(default)]
    pub name: String,
    /// 公民身份号码.
    #[serde(default)]
    pub id_number: String,
    /// 民族.
    #[serde(default)]
    pub ethnicity: String,
    /// 联系电话, several separated by 、 or ;.
    #[serde(default)]
    pub phones: String,
    /// 户籍地区划代码.
    #[serde(default)]
    pub hukou_region_code: String,
    /// 居住地区划代码 (村/社区).
    #[serde(default)]
    pub residence_region_code: String,
    /// 居住地址.
    #[serde(default)]
    pub address: String,
    /// 经度.
    #[serde(default)]
    pub longitude: String,
    /// 纬度.
    #[serde(default)]
    pub latitude: String,
    /// 居住情况.
    #[serde(default)]
    pub living_arrangement: String,
    /// 婚姻状况.
    #[serde(default)]
    pub marital_status: String,
    /// 文化程度.
    #[serde(default)]
    pub education: String,
    /// 经济来源, several separated by 、.
    #[serde(default)]
    pub income_sources: String,
    /// 医疗费用支付方式, several separated by 、.
    #[serde(default)]
    pub medical_payments: String,
    /// 子女数.
    #[serde(default)]
    pub children_count: String,
    /// 子女是否在本地: 是/否.
    #[serde(default)]
    pub children_local: String,
    /// 子女能否照料: 是/否.
    #[serde(default)]
    pub children_can_care: String,
    /// 紧急联系人 (up to two).
    #[serde(default)]
    pub contacts: Vec<ContactDraft>,
    /// 未满登记年龄的原因.
    #[serde(default)]
    pub under_age_reason: String,
}

/// Splits a multi-valued cell: 、 , ， ; ； / and line breaks all separate values.
pub fn split_multi(text: &str) -> Vec<&str> {
    text.split(['、', ',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses 是/否 (also yes/no, true/false, 1/0); empty is `None`.
pub fn parse_yes_no(text: &str) -> Option<Result<bool, ()>> {
    match text.trim() {
        "" => None,
        "是" | "有" | "yes" | "true" | "1" | "on" => Some(Ok(true)),
        "否" | "无" | "no" | "false" | "0" | "off" => Some(Ok(false)),
        _ => Some(Err(())),
    }
}

/// What validation needs to know besides the draft.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext<'a> {
    /// The region tree (codes must exist; residence must be a village/community).
    pub regions: &'a RegionTree,
    /// Today (for the age).
    pub today: NaiveDate,
    /// The registry's minimum age (policy parameter, normally 60).
    pub min_age: i32,
}

fn parse_enum<T: Copy>(
    inv: &mut Invalid,
    field: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
    list: fn() -> String,
    what: &str,
) -> Option<T> {
    if text.trim().is_empty() {
        inv.add(field, format!("请选择{what}"));
        return None;
    }
    let v = parse(text);
    if v.is_none() {
        inv.add(
            field,
            format!("{what}“{}”无法识别，应为：{}", text.trim(), list()),
        );
    }
    v
}

fn parse_multi<T: Copy + PartialEq>(
    inv: &mut Invalid,
    field: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
    list: fn() -> String,
    what: &str,
) -> Vec<T> {
    let mut out = Vec::new();
    for part in split_multi(text) {
        match parse(part) {
            Some(v) if !out.contains(&v) => out.push(v),
            Some(_) => {}
            None => inv.add(field, format!("{what}“{part}”无法识别，应为：{}", list())),
        }
    }
    out
}

impl ElderDraft {
    /// Validates everything at once; every problem names its field.
    pub fn validate(&self, ctx: &ValidationContext<'_>) -> Result<ElderInput, Invalid> {
        let mut inv = Invalid::new();

        let name = self.name.trim().to_string();
        let n = name.chars().count();
        if n == 0 {
            inv.add("name", "请填写姓名");
        } else if n > 50 {
            inv.add("name", "姓名不能超过 50 个字");
        } else if name.chars().any(|c| c.is_ascii_digit() || c.is_control()) {
            inv.add("name", "姓名不能包含数字或控制字符");
        }

        let id = if self.id_number.trim().is_empty() {
            inv.add("id_number", "请填写身份证号");
            None
        } else {
            match ResidentId::parse(&self.id_number) {
                Ok(id) => Some(id),
                Err(e) => {
                    inv.add("id_number", e.to_string());
                    None
                }
            }
        };
        if let Some(id) = &id {
            let age = age_on(id.birth_date(), ctx.today);
            if id.birth_date() > ctx.today || age > 130 {
                inv.add("id_number", "身份证号中的出生日期不合理");
            } else if age < ctx.min_age && self.under_age_reason.trim().is_empty() {
                inv.add(
                    "under_age_reason",
                    format!(
                        "按身份证号计算年龄为 {age} 岁，未满 {} 周岁；如按计划生育特殊家庭等政策登记，请填写登记原因",
                        ctx.min_age
                    ),
                );
            }
        }

        let ethnicity = if self.ethnicity.trim().is_empty() {
            inv.add("ethnicity", "请填写民族");
            None
        } else {
            let e = parse_ethnicity(&self.ethnicity);
            if e.is_none() {
                inv.add(
                    "ethnicity",
                    format!("民族“{}”不在 56 个民族名称中", self.ethnicity.trim()),
                );
            }
            e
        };

        let mut phones = Vec::new();
        for p in split_multi(&self.phones) {
            match Phone::parse(p) {
                Ok(ph) if !phones.contains(&ph) => phones.push(ph),
                Ok(_) => {}
                Err(e) => inv.add("phones", format!("“{p}”：{e}")),
            }
        }
        if phones.len() > 3 {
            inv.add("phones", "最多登记 3 个联系电话");
        }

        let region = |inv: &mut Invalid, field: &str, text: &str, what: &str| {
            if text.trim().is_empty() {
                inv.add(field, format!("请填写{what}区划代码"));
                return None;
            }
            match RegionCode::parse(text) {
                Err(e) => {
                    inv.add(field, e.to_string());
                    None
                }
                Ok(c) if ctx.regions.get_unscoped(&c).is_none() => {
                    inv.add(field, format!("区划代码 {} 不存在", text.trim()));
                    None
                }
                Ok(c) => Some(c),
            }
        };
        let hukou = region(
            &mut inv,
            "hukou_region_code",
            &self.hukou_region_code,
            "户籍地",
        );
        let residence = region(
            &mut inv,
            "residence_region_code",
            &self.residence_region_code,
            "居住地",
        );
        if let Some(r) = residence
            && r.level() != RegionLevel::Village
        {
            inv.add(
                "residence_region_code",
                "居住地须填写到村（社区）一级的 12 位区划代码",
            );
        }

        let address = self.address.trim().to_string();
        if address.chars().count() > 200 {
            inv.add("address", "地址不能超过 200 个字");
        }

        let location = match (self.longitude.trim(), self.latitude.trim()) {
            ("", "") => None,
            (lng, lat) => {
                let lng_v = lng
                    .parse::<f64>()
                    .ok()
                    .filter(|v| (73.0..=136.0).contains(v));
                let lat_v = lat.parse::<f64>().ok().filter(|v| (3.0..=54.0).contains(v));
                if lng_v.is_none() {
                    inv.add("longitude", "经度应为 73 到 136 之间的数（中国境内）");
                }
                if lat_v.is_none() {
                    inv.add("latitude", "纬度应为 3 到 54 之间的数（中国境内）");
                }
                lng_v.zip(lat_v)
            }
        };

        let living = parse_enum(
            &mut inv,
            "living_arrangement",
            &self.living_arrangement,
            LivingArrangement::parse,
            LivingArrangement::labels_list,
            "居住情况",
        );
        let marital = parse_enum(
            &mut inv,
            "marital_status",
            &self.marital_status,
            MaritalStatus::parse,
            MaritalStatus::labels_list,
            "婚姻状况",
        );
        let education = parse_enum(
            &mut inv,
            "education",
            &self.education,
            Education::parse,
            Education::labels_list,
            "文化程度",
        );
        let income_sources = parse_multi(
            &mut inv,
            "income_sources",
            &self.income_sources,
            IncomeSource::parse,
            IncomeSource::labels_list,
            "经济来源",
        );
        let medical_payments = parse_multi(
            &mut inv,
            "medical_payments",
            &self.medical_payments,
            MedicalPayment::parse,
            MedicalPayment::labels_list,
            "医疗费用支付方式",
        );

        let children_count = match self.children_count.trim() {
            "" => 0,
            t => match t.parse::<i32>() {
                Ok(n) if (0..=20).contains(&n) => n,
                _ => {
                    inv.add("children_count", "子女数应为 0 到 20 之间的整数");
                    0
                }
            },
        };
        let mut yes_no = |field: &str, text: &str, what: &str| match parse_yes_no(text) {
            None => false,
            Some(Ok(b)) => b,
            Some(Err(())) => {
                inv.add(field, format!("{what}应填“是”或“否”"));
                false
            }
        };
        let children_local = yes_no("children_local", &self.children_local, "子女是否在本地");
        let children_can_care =
            yes_no("children_can_care", &self.children_can_care, "子女能否照料");
        if children_count == 0 && (children_local || children_can_care) {
            inv.add(
                "children_count",
                "子女数为 0 时，“子女在本地”和“子女能照料”都应为“否”",
            );
        }

        let mut contacts = Vec::new();
        for (i, c) in self.contacts.iter().enumerate() {
            let prefix = format!("contacts[{i}]");
            let empty = c.name.trim().is_empty()
                && c.relation.trim().is_empty()
                && c.phone.trim().is_empty();
            if empty {
                continue;
            }
            if i >= 2 {
                inv.add(&prefix, "最多登记两位紧急联系人");
                break;
            }
            let cname = c.name.trim();
            if cname.is_empty() || cname.chars().count() > 50 {
                inv.add(
                    &format!("{prefix}.name"),
                    "请填写紧急联系人姓名（不超过 50 个字）",
                );
            }
            if c.relation.trim().is_empty() || c.relation.trim().chars().count() > 20 {
                inv.add(
                    &format!("{prefix}.relation"),
                    "请填写与老人的关系（如 儿子、女儿、邻居）",
                );
            }
            match Phone::parse(&c.phone) {
                Ok(phone) => contacts.push(EmergencyContact {
                    name: cname.to_string(),
                    relation: c.relation.trim().to_string(),
                    phone,
                }),
                Err(e) => inv.add(&format!("{prefix}.phone"), e.to_string()),
            }
        }

        let under_age_reason =
            Some(self.under_age_reason.trim().to_string()).filter(|s| !s.is_empty());
        if under_age_reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > 200)
        {
            inv.add("under_age_reason", "登记原因不能超过 200 个字");
        }

        match (
            inv.is_empty(),
            id,
            ethnicity,
            hukou,
            residence,
            living,
            marital,
            education,
        ) {
            (
                true,
                Some(id_number),
                Some(ethnicity),
                Some(hukou_region),
                Some(residence_region),
                Some(living),
                Some(marital),
                Some(education),
            ) => Ok(ElderInput {
                name,
                id_number,
                ethnicity,
                phones,
                hukou_region,
                residence_region,
                address,
                location,
                living,
                marital,
                education,
                income_sources,
                medical_payments,
                children_count,
                children_local,
                children_can_care,
                contacts,
                under_age_reason,
            }),
            _ => Err(inv),
        }
    }
}

/// A life event that ends the person's active services and subsidies from its date (services,
/// subsidies and plans of later modules subscribe to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifeEvent {
    /// The person.
    pub elder_id: Uuid,
    /// What happened.
    pub kind: LifeEventKind,
    /// When it took effect.
    pub date: NaiveDate,
    /// Free text (death certificate number, destination of the move…).
    pub note: String,
}

impl LifeEvent {
    /// Parses a life event as a clerk types it (the kind's code, a date, a note of at most 200
    /// characters), naming each field that is wrong.
    pub fn parse(elder_id: Uuid, kind: &str, date: &str, note: &str) -> Result<Self, Invalid> {
        let mut inv = Invalid::new();
        let kind = LifeEventKind::parse(kind.trim());
        if kind.is_none() {
            inv.add("kind", "请选择“死亡”或“迁出”");
        }
        let date = crate::category::parse_date(date);
        if date.is_none() {
            inv.add("date", "日期格式应为 年-月-日");
        }
        if note.chars().count() > 200 {
            inv.add("note", "说明不能超过 200 个字");
        }
        match (kind, date, inv.is_empty()) {
            (Some(kind), Some(date), true) => Ok(LifeEvent {
                elder_id,
                kind,
                date,
                note: note.trim().to_string(),
            }),
            _ => Err(inv),
        }
    }
}

labelled_enum! {
    /// Kinds of life event.
    pub enum LifeEventKind {
        /// 死亡.
        Died = ("died", "死亡"),
        /// 迁出本地.
        MovedOut = ("moved_out", "迁出"),
    }
}

impl LifeEventKind {
    /// The status the record takes.
    pub fn status(self) -> ElderStatus {
        match self {
            LifeEventKind::Died => ElderStatus::Deceased,
            LifeEventKind::MovedOut => ElderStatus::MovedOut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Region;

    fn tree() -> RegionTree {
        let mk = |c: &str, n: &str, l: RegionLevel| Region {
            code: RegionCode::parse(c).unwrap(),
            name: n.into(),
            level: l,
            parent_code: RegionCode::parse(c).unwrap().parent(),
            area_type: None,
            area_type_manual: false,
            source: String::new(),
        };
        RegionTree::new(vec![
            mk("43", "湖南省", RegionLevel::Province),
            mk("4303", "湘潭市", RegionLevel::City),
            mk("430302", "雨湖区", RegionLevel::County),
            mk("430302001", "雨湖路街道", RegionLevel::Township),
            mk("430302001001", "雨湖路社区居委会", RegionLevel::Village),
        ])
    }

    fn ctx(t: &RegionTree) -> ValidationContext<'_> {
        ValidationContext {
            regions: t,
            today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            min_age: 60,
        }
    }

    fn good() -> ElderDraft {
        ElderDraft {
            name: "王秀英".into(),
            id_number: ResidentId::from_first17("43030219440312002")
                .as_str()
                .into(),
            ethnicity: "汉".into(),
            phones: "13807315678、0731-58888888".into(),
            hukou_region_code: "430302".into(),
            residence_region_code: "430302001001".into(),
            address: "雨湖路 12 号 3 栋 201".into(),
            longitude: "112.90".into(),
            latitude: "27.86".into(),
            living_arrangement: "独居".into(),
            marital_status: "丧偶".into(),
            education: "小学".into(),
            income_sources: "退休金/养老金、子女补贴".into(),
            medical_payments: "城乡居民基本医疗保险".into(),
            children_count: "2".into(),
            children_local: "否".into(),
            children_can_care: "是".into(),
            contacts: vec![ContactDraft {
                name: "李军".into(),
                relation: "儿子".into(),
                phone: "13912345678".into(),
            }],
            under_age_reason: String::new(),
        }
    }

    #[test]
    fn a_complete_draft_becomes_a_record_with_values_derived_from_the_id() {
        let t = tree();
        let e = good().validate(&ctx(&t)).unwrap();
        assert_eq!(e.ethnicity, "汉族");
        assert_eq!(e.sex(), Sex::Female);
        assert_eq!(
            e.birth_date(),
            NaiveDate::from_ymd_opt(1944, 3, 12).unwrap()
        );
        assert_eq!(e.phones.len(), 2);
        assert_eq!(
            e.income_sources,
            vec![IncomeSource::Pension, IncomeSource::Children]
        );
        assert_eq!(e.location, Some((112.90, 27.86)));
        assert_eq!(e.contacts[0].relation, "儿子");
    }

    #[test]
    fn every_problem_is_named_at_its_field_at_once() {
        let t = tree();
        let mut d = good();
        d.id_number = "110105194912310021".into();
        d.residence_region_code = "430302001".into();
        d.ethnicity = "火星族".into();
        d.phones = "12345".into();
        d.living_arrangement = "和猫".into();
        d.children_count = "0".into();
        d.contacts[0].phone = "x".into();
        d.longitude = "200".into();
        let inv = d.validate(&ctx(&t)).unwrap_err();
        let fields: Vec<&str> = inv.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "id_number",
                "ethnicity",
                "phones",
                "residence_region_code",
                "longitude",
                "living_arrangement",
                "children_count",
                "contacts[0].phone"
            ]
        );
        assert!(inv.get("id_number").unwrap().contains("校验位"));
    }

    #[test]
    fn people_under_sixty_need_a_stated_reason() {
        let t = tree();
        let mut d = good();
        d.id_number = ResidentId::from_first17("43030219740312002")
            .as_str()
            .into();
        let inv = d.validate(&ctx(&t)).unwrap_err();
        assert!(inv.get("under_age_reason").unwrap().contains("52 岁"));
        d.under_age_reason = "计划生育特殊家庭（失独），女方年满49周岁".into();
        assert!(d.validate(&ctx(&t)).is_ok());
    }

    #[test]
    fn unknown_regions_are_refused() {
        let t = tree();
        let mut d = good();
        d.hukou_region_code = "430399".into();
        let inv = d.validate(&ctx(&t)).unwrap_err();
        assert_eq!(inv.get("hukou_region_code"), Some("区划代码 430399 不存在"));
    }

    #[test]
    fn multi_valued_cells_split_on_the_usual_separators() {
        assert_eq!(
            split_multi("a、b，c; d；e\n"),
            vec!["a", "b", "c", "d", "e"]
        );
        assert_eq!(parse_yes_no("是"), Some(Ok(true)));
        assert_eq!(parse_yes_no("否"), Some(Ok(false)));
        assert_eq!(parse_yes_no("也许"), Some(Err(())));
        assert_eq!(parse_yes_no(""), None);
    }
}

impl ElderInput {
    /// A deterministic text of every field (clear text included), for change detection by a
    /// keyed digest: two inputs are the same record exactly when their canonical texts match.
    pub fn canonical(&self) -> String {
        let join = |v: Vec<&str>| v.join(",");
        let mut parts: Vec<String> = vec![
            self.name.clone(),
            self.id_number.as_str().to_string(),
            self.ethnicity.to_string(),
            join(self.phones.iter().map(|p| p.as_str()).collect()),
            self.hukou_region.to_string(),
            self.residence_region.to_string(),
            self.address.clone(),
            self.location
                .map(|(a, b)| format!("{a:.6},{b:.6}"))
                .unwrap_or_default(),
            self.living.as_str().into(),
            self.marital.as_str().into(),
            self.education.as_str().into(),
            join(self.income_sources.iter().map(|v| v.as_str()).collect()),
            join(self.medical_payments.iter().map(|v| v.as_str()).collect()),
            self.children_count.to_string(),
            self.children_local.to_string(),
            self.children_can_care.to_string(),
            self.under_age_reason.clone().unwrap_or_default(),
        ];
        for c in &self.contacts {
            parts.push(format!("{}|{}|{}", c.name, c.relation, c.phone.as_str()));
        }
        parts.join("\u{1f}")
    }

    /// The fields as shown for comparison (personal numbers masked).
    pub fn display_fields(&self) -> Vec<(&'static str, String)> {
        let join = |v: Vec<&str>| v.join("、");
        let out = vec![
            ("姓名", self.name.clone()),
            ("身份证号", self.id_number.masked()),
            ("民族", self.ethnicity.to_string()),
            (
                "联系电话",
                self.phones
                    .iter()
                    .map(|p| p.masked())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            ("户籍地", self.hukou_region.to_string()),
            ("居住地", self.residence_region.to_string()),
            ("居住地址", self.address.clone()),
            (
                "坐标",
                self.location
                    .map(|(a, b)| format!("{a:.6}, {b:.6}"))
                    .unwrap_or_default(),
            ),
            ("居住情况", self.living.label().into()),
            ("婚姻状况", self.marital.label().into()),
            ("文化程度", self.education.label().into()),
            (
                "经济来源",
                join(self.income_sources.iter().map(|v| v.label()).collect()),
            ),
            (
                "医疗费用支付方式",
                join(self.medical_payments.iter().map(|v| v.label()).collect()),
            ),
            ("子女数", self.children_count.to_string()),
            (
                "子女在本地",
                if self.children_local { "是" } else { "否" }.into(),
            ),
            (
                "子女能照料",
                if self.children_can_care { "是" } else { "否" }.into(),
            ),
            (
                "紧急联系人",
                self.contacts
                    .iter()
                    .map(|c| format!("{}（{}）{}", c.name, c.relation, c.phone.masked()))
                    .collect::<Vec<_>>()
                    .join("；"),
            ),
            (
                "登记原因",
                self.under_age_reason.clone().unwrap_or_default(),
            ),
        ];
        out
    }
}

/// One field that differs between the stored record and new input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field's label.
    pub field: String,
    /// Stored value (masked where personal).
    pub from: String,
    /// New value (masked where personal).
    pub to: String,
}

impl ElderInput {
    /// Takes from `old` every field named in `blank` (see `elder_import::KEEPABLE`): an empty
    /// cell in an import means "no change" for a person already on file, never "blank it".
    pub fn keep_where_blank(&mut self, old: &ElderInput, blank: &[&str]) {
        for field in blank {
            match *field {
                "phones" => self.phones = old.phones.clone(),
                "address" => self.address = old.address.clone(),
                "location" => self.location = old.location,
                "income_sources" => self.income_sources = old.income_sources.clone(),
                "medical_payments" => self.medical_payments = old.medical_payments.clone(),
                "children_count" => self.children_count = old.children_count,
                "children_local" => self.children_local = old.children_local,
                "children_can_care" => self.children_can_care = old.children_can_care,
                "contacts" => self.contacts = old.contacts.clone(),
                _ => {}
            }
        }
    }
}

/// The fields that differ between two versions of a record. Personal numbers compare in clear
/// but show masked; when only the hidden digits change the masked values are equal, so the
/// change is described in words.
pub fn diff(old: &ElderInput, new: &ElderInput) -> Vec<FieldChange> {
    let a = old.display_fields();
    let b = new.display_fields();
    let mut out: Vec<FieldChange> = a
        .into_iter()
        .zip(b)
        .filter(|(x, y)| x.1 != y.1)
        .map(|(x, y)| FieldChange {
            field: x.0.into(),
            from: x.1,
            to: y.1,
        })
        .collect();
    let hidden = |label: &str, changed: bool, out: &mut Vec<FieldChange>| {
        if changed && !out.iter().any(|c| c.field == label) {
            out.push(FieldChange {
                field: label.into(),
                from: "（原号码）".into(),
                to: "（已更改，中间位不同）".into(),
            });
        }
    };
    hidden("身份证号", old.id_number != new.id_number, &mut out);
    hidden("联系电话", old.phones != new.phones, &mut out);
    hidden("紧急联系人", old.contacts != new.contacts, &mut out);
    out
}

/// A contact as shown (phone masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactView {
    /// Name.
    pub name: String,
    /// Relation.
    pub relation: String,
    /// Masked phone.
    pub phone_masked: String,
}

/// A stored record as shown to staff: personal numbers masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElderRecord {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Masked ID number.
    pub id_masked: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Ethnicity.
    pub ethnicity: String,
    /// Masked phones.
    pub phones_masked: Vec<String>,
    /// 户籍.
    pub hukou_region: RegionCode,
    /// Residence (village/community).
    pub residence_region: RegionCode,
    /// Address.
    pub address: String,
    /// Longitude, latitude.
    pub location: Option<(f64, f64)>,
    /// Living arrangement.
    pub living: LivingArrangement,
    /// Marital status.
    pub marital: MaritalStatus,
    /// Education.
    pub education: Education,
    /// Income sources.
    pub income_sources: Vec<IncomeSource>,
    /// Medical payments.
    pub medical_payments: Vec<MedicalPayment>,
    /// Children.
    pub children_count: i32,
    /// A child lives locally.
    pub children_local: bool,
    /// A child can care.
    pub children_can_care: bool,
    /// Emergency contacts.
    pub contacts: Vec<ContactView>,
    /// Why registered under the minimum age.
    pub under_age_reason: Option<String>,
    /// 在册 / 迁出 / 死亡.
    pub status: ElderStatus,
    /// When the status took effect.
    pub status_date: Option<NaiveDate>,
    /// Note on the status.
    pub status_note: Option<String>,
    /// Final level of the latest effective assessment.
    pub ability: Option<crate::assessment::AbilityLevel>,
    /// A dementia diagnosis (F00–F03, G30) in the latest effective assessment.
    pub dementia: bool,
    /// Its reference date.
    pub ability_assessed_on: Option<NaiveDate>,
    /// When the next routine assessment is due.
    pub reassessment_due: Option<NaiveDate>,
    /// An immediate re-assessment was asked for, and why.
    pub reassessment_requested: Option<String>,
    /// Recorded categories (all periods).
    pub categories: Vec<crate::category::CategoryRecord>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl ElderRecord {
    /// Age in whole years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> i32 {
        age_on(self.birth_date, on)
    }
}
