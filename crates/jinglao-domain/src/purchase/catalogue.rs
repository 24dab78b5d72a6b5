//! The guiding catalogue of services that may be bought (政府购买服务指导性目录): finance, with
//! civil affairs, lists the kinds of service, their nature and content, and the service-list
//! items each covers (湘政发〔2014〕20号 二（四）1 “制定目录…明确政府购买服务的种类、性质和内容”).
//! A catalogue is published as a whole new version, like the service list; a project names
//! one entry of the version in force.

use serde::Serialize;

use crate::labelled_enum;
use crate::validation::Invalid;

labelled_enum! {
    /// What is bought (湘财社〔2015〕2号 五 “购买内容”).
    pub enum PurchaseCategory {
        /// 购买居家养老服务.
        HomeCare = ("home_care", "居家养老服务"),
        /// 购买社区日间照料服务.
        DayCare = ("day_care", "社区日间照料服务"),
        /// 购买机构养老服务.
        Institutional = ("institutional", "机构养老服务"),
        /// 购买养老服务人员培训.
        Training = ("training", "养老服务人员培训"),
        /// 购买养老评估.
        Assessment = ("assessment", "养老评估"),
    }
}

labelled_enum! {
    /// The nature of the matter bought (湘政发〔2014〕20号 二（二） “购买内容” 1–5).
    pub enum ServiceNature {
        /// 公共服务事项.
        PublicService = ("public_service", "公共服务事项"),
        /// 社会管理服务事项.
        SocialManagement = ("social_management", "社会管理服务事项"),
        /// 行业管理与协调事项.
        Industry = ("industry", "行业管理与协调事项"),
        /// 技术服务事项.
        Technical = ("technical", "技术服务事项"),
        /// 政府履职所需辅助性事项.
        Auxiliary = ("auxiliary", "政府履职所需辅助性事项"),
    }
}

/// The most entries one catalogue holds.
pub const MAX_ENTRIES: usize = 200;

/// One entry of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueEntry {
    /// Stable code within the catalogue (e.g. `JJ-01`), kept across versions.
    pub code: String,
    /// Name (e.g. 居家上门服务).
    pub name: String,
    /// What is bought.
    pub category: PurchaseCategory,
    /// Its nature.
    pub nature: ServiceNature,
    /// Content, in a sentence or two.
    pub content: String,
    /// The service-list items it covers (none for training or assessment).
    pub item_codes: Vec<String>,
}

impl CatalogueEntry {
    /// Whether this entry covers every one of `items`.
    pub fn covers(&self, items: &[String]) -> bool {
        items.iter().all(|i| self.item_codes.contains(i))
    }
}

/// An entry as typed, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct EntryDraft {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Category's stable name or label.
    pub category: String,
    /// Nature's stable name or label.
    pub nature: String,
    /// Content.
    pub content: String,
    /// Item codes.
    pub item_codes: Vec<String>,
}

/// Checks a whole catalogue: each entry's fields, codes unique, items known (`known_items`:
/// the codes of the service list in force). Errors name the entry by position:
/// `entries[2].name`.
pub fn check_catalogue(
    drafts: &[EntryDraft],
    known_items: &[String],
) -> Result<Vec<CatalogueEntry>, Invalid> {
    let mut inv = Invalid::new();
    if drafts.is_empty() {
        inv.add("entries", "目录至少要有一个条目");
    }
    if drafts.len() > MAX_ENTRIES {
        inv.add("entries", format!("目录最多 {MAX_ENTRIES} 个条目"));
        return Err(inv);
    }
    let mut out = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.iter().enumerate() {
        let f = |name: &str| format!("entries[{i}].{name}");
        let code = d.code.trim();
        if code.is_empty()
            || code.chars().count() > 20
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            inv.add(&f("code"), "编号为 1–20 位字母、数字或短横线");
        } else if drafts[..i].iter().any(|o| o.code.trim() == code) {
            inv.add(&f("code"), format!("编号“{code}”重复"));
        }
        let name = d.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            inv.add(&f("name"), "请填写名称（不超过 60 字）");
        }
        let category = PurchaseCategory::parse(&d.category);
        if category.is_none() {
            inv.add(
                &f("category"),
                format!("请选择购买内容：{}", PurchaseCategory::labels_list()),
            );
        }
        let nature = ServiceNature::parse(&d.nature);
        if nature.is_none() {
            inv.add(
                &f("nature"),
                format!("请选择事项性质：{}", ServiceNature::labels_list()),
            );
        }
        if d.content.trim().is_empty() || d.content.chars().count() > 500 {
            inv.add(&f("content"), "请填写服务内容（不超过 500 字）");
        }
        let mut items: Vec<String> = Vec::new();
        for code in &d.item_codes {
            let c = code.trim();
            if c.is_empty() || items.iter().any(|x| x == c) {
                continue;
            }
            if !known_items.iter().any(|k| k == c) {
                inv.add(&f("item_codes"), format!("服务清单中没有服务项目“{c}”"));
            }
            items.push(c.to_string());
        }
        if let (Some(category), Some(nature)) = (category, nature) {
            out.push(CatalogueEntry {
                code: code.to_string(),
                name: name.to_string(),
                category,
                nature,
                content: d.content.trim().to_string(),
                item_codes: items,
            });
        }
    }
    inv.into_result(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(code: &str, items: &[&str]) -> EntryDraft {
        EntryDraft {
            code: code.into(),
            name: "居家上门服务".into(),
            category: "居家养老服务".into(),
            nature: "public_service".into(),
            content: "助餐、助浴、助洁等上门服务".into(),
            item_codes: items.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_catalogue_names_each_bad_entry_by_position_and_field() {
        let known = vec!["JJ01".to_string()];
        let mut bad = draft("JJ-01", &["JJ01", "NOPE"]);
        bad.category = "别的".into();
        let err = check_catalogue(&[draft("JJ-01", &["JJ01"]), bad], &known).unwrap_err();
        assert!(err.get("entries[1].code").unwrap().contains("重复"));
        assert!(err.get("entries[1].category").is_some());
        assert!(err.get("entries[1].item_codes").unwrap().contains("NOPE"));
        assert!(err.get("entries[0].code").is_none());
    }

    #[test]
    fn an_entry_covers_a_project_only_when_it_lists_every_item() {
        let e = check_catalogue(
            &[draft("A", &["JJ01", "JJ02"])],
            &["JJ01".into(), "JJ02".into()],
        )
        .unwrap()
        .remove(0);
        assert!(e.covers(&["JJ01".into()]));
        assert!(!e.covers(&["JJ01".into(), "JJ03".into()]));
    }
}
