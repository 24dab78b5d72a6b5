//! Administrative divisions (行政区划): 12-digit statistical division codes and the tree
//! they form, per ../shared/docs/STANDARDS.md §5.
//!
//! A code is stored zero-padded to 12 digits: 2 (省) + 2 (市) + 2 (县) + 3 (乡镇/街道) + 3
//! (村/社区). The level of a code is its deepest non-zero segment, so the whole subtree of a
//! region is the contiguous range of codes that share its significant prefix. That is what makes
//! "a county's whole subtree in one indexed query" a plain range scan on the primary key.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The five levels of the division tree, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// 省 / 自治区 / 直辖市.
    Province,
    /// 地级市 / 州 / 盟.
    City,
    /// 县 / 县级市 / 市辖区.
    County,
    /// 乡 / 镇 / 街道 (and special areas such as 开发区).
    Township,
    /// 村民委员会 / 居民委员会 (village or community).
    Village,
}

impl RegionLevel {
    /// Every level, top first.
    pub const ALL: [RegionLevel; 5] = [
        RegionLevel::Province,
        RegionLevel::City,
        RegionLevel::County,
        RegionLevel::Township,
        RegionLevel::Village,
    ];

    /// The stable name used in the database, the API and CSV files.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
            RegionLevel::Township => "township",
            RegionLevel::Village => "village",
        }
    }

    /// The Chinese name shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            RegionLevel::Province => "省级",
            RegionLevel::City => "市级",
            RegionLevel::County => "县级",
            RegionLevel::Township => "乡镇（街道）",
            RegionLevel::Village => "村（社区）",
        }
    }

    /// Number of significant leading digits of a code at this level.
    pub fn prefix_len(self) -> usize {
        match self {
            RegionLevel::Province => 2,
            RegionLevel::City => 4,
            RegionLevel::County => 6,
            RegionLevel::Township => 9,
            RegionLevel::Village => 12,
        }
    }

    /// The level directly below, if any.
    pub fn child(self) -> Option<RegionLevel> {
        match self {
            RegionLevel::Province => Some(RegionLevel::City),
            RegionLevel::City => Some(RegionLevel::County),
            RegionLevel::County => Some(RegionLevel::Township),
            RegionLevel::Township => Some(RegionLevel::Village),
            RegionLevel::Village => None,
        }
    }
}

impl fmt::Display for RegionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RegionLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("未知的区划级别“{s}”"))
    }
}

/// Why a text is not a division code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    /// Not 2, 4, 6, 9 or 12 ASCII digits.
    #[error("区划代码应为 2、4、6、9 或 12 位数字")]
    BadFormat,
    /// The province segment is 00.
    #[error("区划代码的省级部分不能为 00")]
    NoProvince,
}

/// A 12-digit statistical division code (统计用区划代码), always zero-padded.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode([u8; 12]);

/// Segment boundaries: (start, end) of each level's digits.
const SEGMENTS: [(usize, usize); 5] = [(0, 2), (2, 4), (4, 6), (6, 9), (9, 12)];

impl RegionCode {
    /// Parses a code of 2, 4, 6, 9 or 12 digits (surrounding whitespace ignored) and pads it.
    pub fn parse(text: &str) -> Result<Self, RegionCodeError> {
        let t = text.trim();
        if !matches!(t.len(), 2 | 4 | 6 | 9 | 12) || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::BadFormat);
        }
        let mut digits = [b'0'; 12];
        digits[..t.len()].copy_from_slice(t.as_bytes());
        if &digits[0..2] == b"00" {
            return Err(RegionCodeError::NoProvince);
        }
        Ok(RegionCode(digits))
    }

    /// The 12-digit text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("000000000000")
    }

    fn segment_is_zero(&self, level: usize) -> bool {
        let (a, b) = SEGMENTS[level];
        self.0[a..b].iter().all(|&d| d == b'0')
    }

    /// The level: the deepest non-zero segment. (A city without counties, such as 东莞市, has
    /// townships whose county segment is 00; they are still townships.)
    pub fn level(&self) -> RegionLevel {
        (0..5)
            .rev()
            .find(|&i| !self.segment_is_zero(i))
            .map(|i| RegionLevel::ALL[i])
            .unwrap_or(RegionLevel::Province)
    }

    /// The significant prefix: the digits up to the end of this code's level.
    pub fn prefix(&self) -> &str {
        &self.as_str()[..self.level().prefix_len()]
    }

    /// The short form used in everyday documents: the significant prefix (e.g. 430302).
    pub fn short(&self) -> &str {
        self.prefix()
    }

    /// The inclusive range of 12-digit codes in this region's subtree (itself included).
    pub fn subtree_range(&self) -> (String, String) {
        let p = self.prefix();
        let pad = 12 - p.len();
        (
            format!("{p}{}", "0".repeat(pad)),
            format!("{p}{}", "9".repeat(pad)),
        )
    }

    /// Whether `other` lies in this region's subtree (a region contains itself).
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.as_str().starts_with(self.prefix())
    }

    /// The parent code derived from the code itself: the deepest non-zero segment zeroed.
    pub fn parent(&self) -> Option<RegionCode> {
        let level = self.level();
        if level == RegionLevel::Province {
            return None;
        }
        let idx = RegionLevel::ALL.iter().position(|l| *l == level)?;
        let mut digits = self.0;
        let (a, b) = SEGMENTS[idx];
        digits[a..b].fill(b'0');
        Some(RegionCode(digits))
    }

    /// All ancestors, from the province down to the parent.
    pub fn ancestors(&self) -> Vec<RegionCode> {
        let mut out = Vec::new();
        let mut cur = self.parent();
        while let Some(c) = cur {
            cur = c.parent();
            out.push(c);
        }
        out.reverse();
        out
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.as_str())
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RegionCode {
    type Err = RegionCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionCode::parse(s)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RegionCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Urban or rural classification (城镇 / 农村) of a township or village.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaType {
    /// 城镇: 街道, and 居民委员会 (urban communities).
    Urban,
    /// 农村: 镇/乡, and 村民委员会 (villages).
    Rural,
}

impl AreaType {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            AreaType::Urban => "urban",
            AreaType::Rural => "rural",
        }
    }
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            AreaType::Urban => "城镇",
            AreaType::Rural => "农村",
        }
    }
}

impl FromStr for AreaType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "urban" => Ok(AreaType::Urban),
            "rural" => Ok(AreaType::Rural),
            _ => Err(format!("未知的城乡类型“{s}”")),
        }
    }
}

/// Derives the urban/rural type of a region from its name and code.
///
/// Villages: a name ending in 居委会 (or containing 社区) is urban, 村委会 is rural; otherwise the
/// code range decides (001–199 居委会, 200–399 村委会). Townships: 街道 is urban, 镇 and 乡 are
/// rural; otherwise 000–099 / 100–399 by code. Anything else (开发区, 农场, 虚拟社区 outside the
/// ranges, and every level above township) is left unclassified for staff to set by hand.
pub fn derive_area_type(code: &RegionCode, name: &str) -> Option<AreaType> {
    let name = name.trim();
    match code.level() {
        RegionLevel::Village => {
            if name.ends_with("居委会") || name.ends_with("居民委员会") || name.contains("社区")
            {
                return Some(AreaType::Urban);
            }
            if name.ends_with("村委会") || name.ends_with("村民委员会") {
                return Some(AreaType::Rural);
            }
            match village_number(code) {
                1..=199 => Some(AreaType::Urban),
                200..=399 => Some(AreaType::Rural),
                _ => None,
            }
        }
        RegionLevel::Township => {
            if name.ends_with("街道") || name.ends_with("街道办事处") {
                return Some(AreaType::Urban);
            }
            if name.ends_with('镇') || name.ends_with('乡') {
                return Some(AreaType::Rural);
            }
            match township_number(code) {
                1..=99 => Some(AreaType::Urban),
                100..=399 => Some(AreaType::Rural),
                _ => None,
            }
        }
        _ => None,
    }
}

fn segment_number(code: &RegionCode, a: usize, b: usize) -> u32 {
    code.as_str()[a..b].parse().unwrap_or(0)
}

fn village_number(code: &RegionCode) -> u32 {
    segment_number(code, 9, 12)
}

fn township_number(code: &RegionCode) -> u32 {
    segment_number(code, 6, 9)
}

/// A region as the rest of the system sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    /// 12-digit code.
    pub code: RegionCode,
    /// Official name.
    pub name: String,
    /// Level in the tree.
    pub level: RegionLevel,
    /// Parent code; `None` for a province.
    pub parent_code: Option<RegionCode>,
    /// Urban/rural type, if classified.
    pub area_type: Option<AreaType>,
    /// True when staff set `area_type` by hand (a re-import then keeps it).
    pub area_type_manual: bool,
    /// Where the code list came from, e.g. "国家统计局 统计用区划代码 2023".
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn short_codes_are_padded_to_twelve_digits() {
        assert_eq!(code("4303").as_str(), "430300000000");
        assert_eq!(code("430302001").as_str(), "430302001000");
        assert_eq!(code(" 430302001001 ").as_str(), "430302001001");
    }

    #[test]
    fn malformed_codes_are_refused_with_a_reason() {
        assert_eq!(RegionCode::parse("43030"), Err(RegionCodeError::BadFormat));
        assert_eq!(RegionCode::parse("43a3"), Err(RegionCodeError::BadFormat));
        assert_eq!(RegionCode::parse(""), Err(RegionCodeError::BadFormat));
        assert_eq!(RegionCode::parse("００"), Err(RegionCodeError::BadFormat));
        assert_eq!(
            RegionCode::parse("000302"),
            Err(RegionCodeError::NoProvince)
        );
    }

    #[test]
    fn the_level_is_the_deepest_non_zero_segment() {
        assert_eq!(code("43").level(), RegionLevel::Province);
        assert_eq!(code("4303").level(), RegionLevel::City);
        assert_eq!(code("430302").level(), RegionLevel::County);
        assert_eq!(code("430302001").level(), RegionLevel::Township);
        assert_eq!(code("430302001001").level(), RegionLevel::Village);
        // 东莞市 has no counties: its towns have a zero county segment.
        assert_eq!(code("441900003").level(), RegionLevel::Township);
    }

    #[test]
    fn a_subtree_is_the_range_of_codes_sharing_the_prefix() {
        let county = code("430302");
        assert_eq!(
            county.subtree_range(),
            ("430302000000".into(), "430302999999".into())
        );
        assert!(county.contains(&code("430302001001")));
        assert!(county.contains(&county));
        assert!(!county.contains(&code("430304001001")));
        assert!(!code("430302001001").contains(&county));
    }

    #[test]
    fn parents_and_ancestors_come_from_the_code() {
        let v = code("430302001001");
        assert_eq!(v.parent(), Some(code("430302001")));
        assert_eq!(
            v.ancestors(),
            vec![code("43"), code("4303"), code("430302"), code("430302001")]
        );
        assert_eq!(code("43").parent(), None);
        assert_eq!(code("441900003").parent(), Some(code("4419")));
    }

    #[test]
    fn committee_names_decide_urban_or_rural() {
        let urban = code("430302001001");
        assert_eq!(
            derive_area_type(&urban, "雨湖路社区居委会"),
            Some(AreaType::Urban)
        );
        let rural = code("430302100201");
        assert_eq!(
            derive_area_type(&rural, "鹤岭村村委会"),
            Some(AreaType::Rural)
        );
        // No suffix: the code range decides, and outside the ranges nothing is guessed.
        assert_eq!(
            derive_area_type(&code("430223400498"), "攸县工业园虚拟社区"),
            Some(AreaType::Urban)
        );
        assert_eq!(
            derive_area_type(&code("430224500598"), "红色农场虚拟生活区"),
            None
        );
        assert_eq!(
            derive_area_type(&code("430302001"), "雨湖路街道"),
            Some(AreaType::Urban)
        );
        assert_eq!(
            derive_area_type(&code("430302100"), "鹤岭镇"),
            Some(AreaType::Rural)
        );
        assert_eq!(derive_area_type(&code("430302"), "雨湖区"), None);
    }

    proptest::proptest! {
        #[test]
        fn every_ancestor_contains_its_descendant(s in "[1-9][0-9]{11}") {
            let c = RegionCode::parse(&s).unwrap();
            for a in c.ancestors() {
                proptest::prop_assert!(a.contains(&c));
                proptest::prop_assert!(a.level() < c.level());
            }
        }
    }
}
