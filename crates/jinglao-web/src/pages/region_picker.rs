//! The region picker every staff form and filter uses instead of a typed division code.
//!
//! The server sends one `<select>` holding every region the user's scope covers, indented by
//! level and in tree order, so the form works without JavaScript; `static/region-picker.js`
//! turns it into one select per level (县 → 乡镇 → 村) from the same options, with no extra
//! request. Levels a field cannot take (a township where a village is required) are listed,
//! for orientation, but disabled. The submitted value stays the 12-digit code the handlers
//! already parse and scope-check, so a forged value is refused exactly as a typed one was.

use jinglao_domain::{RegionCode, RegionLevel, RegionTree, Scope};

/// One option of the picker.
#[derive(Debug, Clone)]
pub struct PickOption {
    /// The short code (what the form submits).
    pub code: String,
    /// The region's name, indented with ideographic spaces by depth below the scope's top.
    pub label: String,
    /// The parent's short code ("" at the top), for the cascading script.
    pub parent: String,
    /// Whether the field may take this region.
    pub selectable: bool,
    /// Whether it is the current value.
    pub selected: bool,
}

/// A region field: a label, an optional hint and error, and its options.
#[derive(Debug, Clone)]
pub struct RegionPicker {
    /// The form field's name (also its id).
    pub name: &'static str,
    /// The visible label.
    pub label: &'static str,
    /// Help under the label ("" for none).
    pub hint: &'static str,
    /// The text of the empty option ("全部" on a filter, "请选择" on a form).
    pub empty: String,
    /// The options.
    pub options: Vec<PickOption>,
    /// The current value did not match any option (it is then kept as an extra option so
    /// nothing the user chose silently disappears).
    pub unknown: Option<String>,
    /// The field's error, if any.
    pub error: Option<String>,
    /// Laid out inline, as in a filter bar.
    pub inline: bool,
}

impl RegionPicker {
    /// A picker over what `scope` covers, offering regions from `shallowest` to `deepest`
    /// (shallower ones are shown, disabled, as headings), with `current` selected.
    pub fn new(
        tree: &RegionTree,
        scope: &Scope,
        name: &'static str,
        label: &'static str,
        levels: (RegionLevel, RegionLevel),
        current: &str,
    ) -> Self {
        let (shallowest, deepest) = levels;
        let current = current.trim();
        let current_code = RegionCode::parse(current).ok();
        let regions = tree.pickable(scope, deepest);
        let top = regions.first().map(|r| r.level.prefix_len()).unwrap_or(0);
        let mut found = current.is_empty();
        let options = regions
            .into_iter()
            .map(|r| {
                let depth = RegionLevel::ALL
                    .iter()
                    .filter(|l| l.prefix_len() > top && l.prefix_len() <= r.level.prefix_len())
                    .count();
                let selected = current_code == Some(r.code);
                found |= selected;
                PickOption {
                    code: r.code.short().to_string(),
                    label: format!("{}{}", "\u{3000}".repeat(depth), r.name),
                    parent: r
                        .parent_code
                        .map(|p| p.short().to_string())
                        .unwrap_or_default(),
                    selectable: r.level.prefix_len() >= shallowest.prefix_len(),
                    selected,
                }
            })
            .collect();
        RegionPicker {
            name,
            label,
            hint: "",
            empty: "请选择".into(),
            options,
            unknown: (!found).then(|| current.to_string()),
            error: None,
            inline: false,
        }
    }

    /// With help text.
    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = hint;
        self
    }

    /// With the empty option's text (a filter says "全部").
    pub fn empty(mut self, text: impl Into<String>) -> Self {
        self.empty = text.into();
        self
    }

    /// As a filter: "全部" for the empty choice, laid out inline.
    pub fn filter(mut self) -> Self {
        self.empty = "全部".into();
        self.inline = true;
        self
    }

    /// With the field's error from a form's errors.
    pub fn error(mut self, errors: &jinglao_domain::Invalid) -> Self {
        self.error = errors.get(self.name).map(str::to_string);
        self
    }
}

/// The usual filter of a list: field `region`, any level of the user's scope, "全部" empty.
pub fn area_filter(tree: &RegionTree, scope: &Scope, current: &str) -> RegionPicker {
    RegionPicker::new(
        tree,
        scope,
        "region",
        "地区",
        (RegionLevel::Province, RegionLevel::Village),
        current,
    )
    .filter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> RegionTree {
        use jinglao_domain::Region;
        let r = |code: &str, name: &str, level, parent: Option<&str>| Region {
            code: RegionCode::parse(code).unwrap(),
            name: name.into(),
            level,
            parent_code: parent.map(|p| RegionCode::parse(p).unwrap()),
            area_type: None,
            area_type_manual: false,
            source: "test".into(),
        };
        RegionTree::new(vec![
            r("430302", "雨湖区", RegionLevel::County, None),
            r(
                "430302001",
                "城正街街道",
                RegionLevel::Township,
                Some("430302"),
            ),
            r(
                "430302001001",
                "百花社区",
                RegionLevel::Village,
                Some("430302001"),
            ),
            r("430304", "岳塘区", RegionLevel::County, None),
        ])
    }

    #[test]
    fn a_village_field_offers_the_scope_indented_with_only_villages_selectable() {
        let scope = Scope::Region(RegionCode::parse("430302").unwrap());
        let p = RegionPicker::new(
            &tree(),
            &scope,
            "residence_region_code",
            "居住地",
            (RegionLevel::Village, RegionLevel::Village),
            "430302001001",
        );
        let labels: Vec<_> = p.options.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(
            labels,
            ["雨湖区", "\u{3000}城正街街道", "\u{3000}\u{3000}百花社区"]
        );
        assert_eq!(
            p.options.iter().map(|o| o.selectable).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert!(p.options[2].selected);
        assert_eq!(p.options[2].parent, "430302001");
        assert!(p.unknown.is_none());
    }

    #[test]
    fn a_value_outside_the_scope_is_kept_visible_rather_than_dropped() {
        let scope = Scope::Region(RegionCode::parse("430302").unwrap());
        let p = RegionPicker::new(
            &tree(),
            &scope,
            "region",
            "区划",
            (RegionLevel::County, RegionLevel::Township),
            "430304",
        );
        assert_eq!(p.unknown.as_deref(), Some("430304"));
        assert!(p.options.iter().all(|o| o.code != "430304"));
    }
}
