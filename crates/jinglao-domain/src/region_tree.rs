//! The region tree in memory: the read side of the division codes.
//!
//! The tree is small (a city has a few thousand regions, a province tens of thousands) and read
//! on almost every request, so the server keeps a snapshot and reads it without touching the
//! database. Regions are sorted by code, which makes every subtree a contiguous slice found by
//! binary search. Every read that depends on who is asking takes a [`Scope`] and applies it
//! here, exactly as a repository query would.

use std::collections::HashMap;

use crate::region::{AreaType, Region, RegionCode, RegionLevel};
use crate::scope::Scope;

/// Counts of regions below one region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubtreeStats {
    /// Counties (or county-level units).
    pub counties: i64,
    /// Townships and streets.
    pub townships: i64,
    /// Villages and communities.
    pub villages: i64,
    /// Urban communities.
    pub urban_villages: i64,
    /// Rural villages.
    pub rural_villages: i64,
    /// Villages not yet classified.
    pub unclassified_villages: i64,
}

/// An immutable snapshot of the region tree.
#[derive(Debug, Clone, Default)]
pub struct RegionTree {
    /// All regions, sorted by code.
    regions: Vec<Region>,
    /// Position of each code in `regions`.
    index: HashMap<RegionCode, usize>,
    /// Positions of each region's children, in code order.
    children: HashMap<RegionCode, Vec<usize>>,
    /// Positions of the regions without a parent.
    roots: Vec<usize>,
}

impl RegionTree {
    /// Builds the tree from regions in any order.
    pub fn new(mut regions: Vec<Region>) -> Self {
        regions.sort_by_key(|r| r.code);
        let index: HashMap<RegionCode, usize> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.code, i))
            .collect();
        let mut children: HashMap<RegionCode, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for (i, r) in regions.iter().enumerate() {
            match r.parent_code {
                Some(p) => children.entry(p).or_default().push(i),
                None => roots.push(i),
            }
        }
        RegionTree {
            regions,
            index,
            children,
            roots,
        }
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// A region regardless of scope (for labels the caller is entitled to anyway).
    pub fn get_unscoped(&self, code: &RegionCode) -> Option<&Region> {
        self.index.get(code).map(|&i| &self.regions[i])
    }

    /// A region, if it exists and `scope` may see it (its subtree, or an ancestor of its root).
    pub fn get(&self, scope: &Scope, code: &RegionCode) -> Option<&Region> {
        if !scope.sees_region(code) {
            return None;
        }
        self.get_unscoped(code)
    }

    /// The children of `code` that `scope` may see, or `None` when `code` itself is not
    /// visible. Above the scope root only the next step towards the root is listed.
    pub fn children(&self, scope: &Scope, code: &RegionCode) -> Option<Vec<&Region>> {
        self.get(scope, code)?;
        let kids = self
            .children
            .get(code)
            .map(|v| v.iter().map(|&i| &self.regions[i]))
            .into_iter()
            .flatten();
        Some(match scope.region_root() {
            Some(root) if !root.contains(code) => kids.filter(|r| r.code.contains(&root)).collect(),
            _ => kids.collect(),
        })
    }

    /// The top of what `scope` may see: provinces for a global scope, otherwise the root.
    pub fn roots(&self, scope: &Scope) -> Vec<&Region> {
        match scope.region_root() {
            Some(root) => self.get(scope, &root).into_iter().collect(),
            None => self.roots.iter().map(|&i| &self.regions[i]).collect(),
        }
    }

    /// The ancestors of `code` that exist, from the top down (for breadcrumbs).
    pub fn ancestors(&self, code: &RegionCode) -> Vec<&Region> {
        code.ancestors()
            .iter()
            .filter_map(|a| self.get_unscoped(a))
            .collect()
    }

    /// The whole subtree of `code`, itself included, in code order: a slice of the sorted
    /// list found by binary search.
    pub fn subtree(&self, code: &RegionCode) -> &[Region] {
        let (lo, hi) = code.subtree_range();
        let start = self
            .regions
            .partition_point(|r| r.code.as_str() < lo.as_str());
        let end = self
            .regions
            .partition_point(|r| r.code.as_str() <= hi.as_str());
        &self.regions[start..end]
    }

    /// Counts by level (and urban/rural for villages) below `code`.
    pub fn stats(&self, code: &RegionCode) -> SubtreeStats {
        let mut s = SubtreeStats::default();
        for r in self.subtree(code).iter().filter(|r| r.code != *code) {
            match r.level {
                RegionLevel::County => s.counties += 1,
                RegionLevel::Township => s.townships += 1,
                RegionLevel::Village => {
                    s.villages += 1;
                    match r.area_type {
                        Some(AreaType::Urban) => s.urban_villages += 1,
                        Some(AreaType::Rural) => s.rural_villages += 1,
                        None => s.unclassified_villages += 1,
                    }
                }
                _ => {}
            }
        }
        s
    }

    /// For each child of `code`, how many villages/communities its subtree holds (a village
    /// counts itself).
    pub fn village_counts_by_child(&self, code: &RegionCode) -> HashMap<RegionCode, i64> {
        self.children
            .get(code)
            .map(|kids| {
                kids.iter()
                    .map(|&i| {
                        let c = self.regions[i].code;
                        let n = self
                            .subtree(&c)
                            .iter()
                            .filter(|r| r.level == RegionLevel::Village)
                            .count() as i64;
                        (c, n)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What a region picker offers: every region `scope` covers, from its root (or the
    /// provinces, for a global scope) down to `deepest`, in tree order so that each region
    /// follows its parent. A picker for a city-wide user at village level is about a thousand
    /// regions, small enough to send whole.
    pub fn pickable(&self, scope: &Scope, deepest: RegionLevel) -> Vec<&Region> {
        let within: &[Region] = match scope.region_root() {
            Some(root) => self.subtree(&root),
            None => &self.regions,
        };
        within
            .iter()
            .filter(|r| r.level.prefix_len() <= deepest.prefix_len())
            .collect()
    }

    /// Regions whose name contains `text`, inside what `scope` covers (not the ancestors above
    /// it), in code order, at most `limit`.
    pub fn search(&self, scope: &Scope, text: &str, limit: usize) -> Vec<&Region> {
        let text = text.trim();
        if text.is_empty() {
            return Vec::new();
        }
        let candidates: &[Region] = match scope.region_root() {
            Some(root) => self.subtree(&root),
            None => &self.regions,
        };
        candidates
            .iter()
            .filter(|r| r.name.contains(text))
            .take(limit)
            .collect()
    }
}

/// The seed regions of `data/regions` as a tree, for tests.
#[cfg(test)]
pub(crate) fn seed_tree() -> RegionTree {
    let text = include_str!("../../../data/regions/seed-regions.csv");
    let records = crate::region_import::parse_region_csv(text, &Default::default())
        .expect("the seed file is valid");
    RegionTree::new(
        records
            .into_iter()
            .map(|r| Region {
                code: r.code,
                name: r.name,
                level: r.level,
                parent_code: r.parent_code,
                area_type: r.area_type,
                area_type_manual: false,
                source: "test".into(),
            })
            .collect(),
    )
}

/// Rules name regions (`region within "430302"`) by code; the tree says them by name.
impl crate::rules::RegionNames for RegionTree {
    fn region_name(&self, code: &str) -> Option<String> {
        let code = RegionCode::parse(code).ok()?;
        self.get_unscoped(&code).map(|r| r.name.clone())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_picker_offers_the_scope_in_tree_order_down_to_the_asked_level() {
        let tree = super::seed_tree();
        let county = RegionCode::parse("430302").unwrap();
        let picks = tree.pickable(&Scope::Region(county), RegionLevel::Township);
        assert_eq!(picks[0].code, county);
        assert!(picks.iter().all(|r| county.contains(&r.code)));
        assert!(picks.iter().all(|r| r.level != RegionLevel::Village));
        assert!(picks.len() > 5);
        // Each region comes after its parent.
        for (i, r) in picks.iter().enumerate().skip(1) {
            let parent = r.parent_code.unwrap();
            assert!(
                picks[..i].iter().any(|p| p.code == parent),
                "{} before its parent",
                r.name
            );
        }
        let villages = tree.pickable(&Scope::Region(county), RegionLevel::Village);
        assert!(villages.len() > picks.len());
    }

    use super::*;
    use crate::Role;

    fn seed() -> RegionTree {
        seed_tree()
    }

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn xiangtan_has_the_official_counts() {
        let t = seed();
        assert_eq!(t.len(), 2797);
        let s = t.stats(&code("4303"));
        assert_eq!((s.counties, s.townships, s.villages), (8, 70, 957));
        assert_eq!(
            s.urban_villages + s.rural_villages + s.unclassified_villages,
            957
        );
    }

    #[test]
    fn a_subtree_is_exactly_the_regions_under_a_code() {
        let t = seed();
        let yuhu = t.subtree(&code("430302"));
        assert_eq!(yuhu[0].code, code("430302"));
        assert!(yuhu.iter().all(|r| r.code.as_str().starts_with("430302")));
        let outside = t
            .subtree(&code("4303"))
            .iter()
            .filter(|r| r.code.as_str().starts_with("430302"))
            .count();
        assert_eq!(outside, yuhu.len());
        assert!(t.subtree(&code("439999")).is_empty());
    }

    #[test]
    fn a_community_worker_sees_only_the_path_to_its_community() {
        let t = seed();
        let scope = Scope::for_account(Role::VillageStaff, code("430302001001"), None).unwrap();
        assert!(t.get(&scope, &code("430304001001")).is_none());
        assert!(t.children(&scope, &code("430304")).is_none());
        let path: Vec<_> = t
            .children(&scope, &code("430302"))
            .unwrap()
            .iter()
            .map(|r| r.code)
            .collect();
        assert_eq!(path, vec![code("430302001")]);
        assert!(
            t.children(&scope, &code("430302001001"))
                .unwrap()
                .is_empty()
        );
        let found = t.search(&scope, "社区", 100);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, code("430302001001"));
        assert_eq!(t.roots(&scope)[0].code, code("430302001001"));
    }

    #[test]
    fn a_county_worker_lists_every_child_and_global_scopes_start_at_the_provinces() {
        let t = seed();
        let scope = Scope::Region(code("430302"));
        let kids = t.children(&scope, &code("430302")).unwrap();
        let counts = t.village_counts_by_child(&code("430302"));
        assert_eq!(kids.len(), counts.len());
        assert_eq!(
            counts.values().sum::<i64>(),
            t.stats(&code("430302")).villages
        );
        let provinces: Vec<_> = t
            .roots(&Scope::All)
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(provinces, vec!["辽宁省", "湖南省", "云南省"]);
        assert_eq!(t.ancestors(&code("430302001001")).len(), 4);
    }
}
