//! Registering a facility: the form's text ([`FacilityDraft`]) parsed once into a checked
//! [`NewFacility`], which the JSON API builds from typed values instead. Either way
//! [`NewFacility::check`] applies the same ranges and cross-field rules, and every error names
//! its field in Chinese. What needs the database (the provider within the caller's reach, the
//! region within the provider's city) is checked where the facility is stored.

use chrono::NaiveDate;
use uuid::Uuid;

use super::facility::{FacilityKind, FireStatus, Functions, Ownership, ServiceFunction};
use crate::category::parse_date;
use crate::{Invalid, RegionCode};

/// A facility as a form sends it: every field text, parsed once by [`FacilityDraft::parse`]
/// into a [`NewFacility`]. Field names are the form's and the API's.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct FacilityDraft {
    /// Operating provider id.
    pub provider_id: String,
    /// Name.
    pub name: String,
    /// Type (stable name or label).
    pub kind: String,
    /// Ownership (stable name or label).
    pub ownership: String,
    /// Owner.
    pub owner: String,
    /// 12-digit region code.
    pub region_code: String,
    /// Address.
    pub address: String,
    /// Latitude (WGS-84).
    pub latitude: String,
    /// Longitude (WGS-84).
    pub longitude: String,
    /// Floor area, m².
    pub floor_area_m2: String,
    /// A virtual community station ("yes"): services arranged without premises of its own.
    pub virtual_station: String,
    /// Service functions (stable names).
    pub functions: Vec<String>,
    /// Partner medical institution.
    pub medical_partner: String,
    /// Opening date.
    pub opened_on: String,
    /// 备案 number.
    pub filing_no: String,
    /// 备案 date.
    pub filed_on: String,
    /// Fire-safety status.
    pub fire_status: String,
    /// Food licence.
    pub food_licence: String,
    /// Insurer.
    pub insurer: String,
    /// Insured beds.
    pub insured_beds: String,
    /// Insurance from.
    pub insurance_from: String,
    /// Insurance to.
    pub insurance_to: String,
    /// Premium, yuan.
    pub premium_yuan: String,
    /// Monthly price from, yuan.
    pub price_min_yuan: String,
    /// Monthly price to, yuan.
    pub price_max_yuan: String,
    /// Public phone.
    pub phone: String,
    /// Public description.
    pub description: String,
}

/// A facility, parsed: what storage records.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFacility {
    /// Operating provider.
    pub provider_id: Uuid,
    /// Name (1–100 characters).
    pub name: String,
    /// Type.
    pub kind: FacilityKind,
    /// Ownership and operation.
    pub ownership: Ownership,
    /// Owner of the premises.
    pub owner: String,
    /// Region (township or village).
    pub region_code: RegionCode,
    /// Address (required).
    pub address: String,
    /// WGS-84 latitude (with longitude, or neither).
    pub latitude: Option<f64>,
    /// WGS-84 longitude.
    pub longitude: Option<f64>,
    /// Floor area, m² (0 when not given).
    pub floor_area_m2: f64,
    /// A community post without premises of its own (only a community post can be one).
    pub virtual_station: bool,
    /// Service functions.
    pub functions: Functions,
    /// Partner medical institution.
    pub medical_partner: String,
    /// Opening date.
    pub opened_on: Option<NaiveDate>,
    /// 备案 number.
    pub filing_no: String,
    /// 备案 date (required with a number).
    pub filed_on: Option<NaiveDate>,
    /// Fire-safety status.
    pub fire_status: FireStatus,
    /// Food licence.
    pub food_licence: String,
    /// Insurer.
    pub insurer: String,
    /// Insured beds (0–100,000).
    pub insured_beds: i64,
    /// Insurance from.
    pub insurance_from: Option<NaiveDate>,
    /// Insurance to (not before from).
    pub insurance_to: Option<NaiveDate>,
    /// Premium, fen.
    pub premium_fen: i64,
    /// Monthly price from, fen.
    pub price_min_fen: i64,
    /// Monthly price to, fen (not below from).
    pub price_max_fen: i64,
    /// Public phone.
    pub phone: String,
    /// Public description.
    pub description: String,
}

/// Most money a facility field takes: a hundred million yuan, in fen.
const MAX_FEN: i64 = 10_000_000_000;

impl NewFacility {
    /// The ranges and cross-field rules, each problem under its field (money fields named
    /// in the unit they were sent in).
    pub fn check(&self, money: MoneyFields) -> Result<(), Invalid> {
        let mut inv = Invalid::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            inv.add("name", "请填写设施名称（不超过 100 个字）");
        }
        if self.address.trim().is_empty() {
            inv.add("address", "请填写地址");
        }
        for (field, text, max) in [
            ("owner", &self.owner, 100),
            ("address", &self.address, 200),
            ("medical_partner", &self.medical_partner, 100),
            ("filing_no", &self.filing_no, 64),
            ("food_licence", &self.food_licence, 64),
            ("insurer", &self.insurer, 100),
            ("phone", &self.phone, 32),
            ("description", &self.description, 2000),
        ] {
            if text.chars().count() > max {
                inv.add(field, format!("不超过 {max} 个字"));
            }
        }
        let in_range = |v: Option<f64>, lo: f64, hi: f64| {
            v.is_none_or(|v| v.is_finite() && (lo..=hi).contains(&v))
        };
        if !in_range(self.latitude, -90.0, 90.0) {
            inv.add("latitude", "纬度应为 -90 到 90 之间的数");
        }
        if !in_range(self.longitude, -180.0, 180.0) {
            inv.add("longitude", "经度应为 -180 到 180 之间的数");
        }
        if self.latitude.is_some() != self.longitude.is_some() {
            inv.add("longitude", "经度和纬度须同时填写");
        }
        if !in_range(Some(self.floor_area_m2), 0.0, 1_000_000.0) {
            inv.add("floor_area_m2", "建筑面积应为 0 到 1000000 之间的数");
        }
        if !self.filing_no.trim().is_empty() && self.filed_on.is_none() {
            inv.add("filed_on", "填写了备案编号，请同时填写备案日期");
        }
        if !(0..=100_000).contains(&self.insured_beds) {
            inv.add("insured_beds", "投保床位数应为 0 或正整数");
        }
        if let (Some(a), Some(b)) = (self.insurance_from, self.insurance_to)
            && b < a
        {
            inv.add("insurance_to", "保险止期不能早于起期");
        }
        for (field, fen) in [
            ("premium", self.premium_fen),
            ("price_min", self.price_min_fen),
            ("price_max", self.price_max_fen),
        ] {
            if !(0..=MAX_FEN).contains(&fen) {
                inv.add(money.field(field), "金额应为 0 到 1 亿元之间");
            }
        }
        if self.price_max_fen < self.price_min_fen {
            inv.add(money.field("price_max"), "收费上限不能低于下限");
        }
        inv.into_result(())
    }
}

/// Which unit the money fields were given in, so their errors name the field as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyFields {
    /// The form's yuan fields (`premium_yuan`, …).
    Yuan,
    /// The API's fen fields (`premium_fen`, …).
    Fen,
}

impl MoneyFields {
    fn field(self, base: &str) -> &'static str {
        match (base, self) {
            ("premium", MoneyFields::Yuan) => "premium_yuan",
            ("premium", MoneyFields::Fen) => "premium_fen",
            ("price_min", MoneyFields::Yuan) => "price_min_yuan",
            ("price_min", MoneyFields::Fen) => "price_min_fen",
            (_, MoneyFields::Yuan) => "price_max_yuan",
            (_, MoneyFields::Fen) => "price_max_fen",
        }
    }
}

/// A facility's choices from lists, parsed the same way from the form and from the API.
pub struct Choices;

impl Choices {
    /// Type, ownership, fire-safety status (blank: not yet approved) and service functions by
    /// stable name or label; each problem is added under its field.
    pub fn parse(
        kind: &str,
        ownership: &str,
        fire_status: &str,
        functions: &[String],
        inv: &mut Invalid,
    ) -> Option<(FacilityKind, Ownership, FireStatus, Functions)> {
        let kind_ = FacilityKind::parse(kind);
        if kind_.is_none() {
            inv.add(
                "kind",
                format!("设施类型应为：{}", FacilityKind::labels_list()),
            );
        }
        let ownership_ = Ownership::parse(ownership);
        if ownership_.is_none() {
            inv.add(
                "ownership",
                format!("运营方式应为：{}", Ownership::labels_list()),
            );
        }
        let fire = match fire_status.trim() {
            "" => Some(FireStatus::Missing),
            t => FireStatus::parse(t),
        };
        if fire.is_none() {
            inv.add(
                "fire_status",
                format!("消防状态应为：{}", FireStatus::labels_list()),
            );
        }
        let mut fs = Vec::new();
        if functions.len() > ServiceFunction::ALL.len() {
            inv.add("functions", "服务功能重复或过多");
        }
        for f in functions.iter().take(ServiceFunction::ALL.len()) {
            match ServiceFunction::parse(f) {
                Some(f) => fs.push(f),
                None => inv.add("functions", format!("未知的服务功能“{f}”")),
            }
        }
        Some((kind_?, ownership_?, fire?, Functions::of(&fs)))
    }
}

/// Parses yuan with up to two decimals into fen; blank is zero.
pub fn yuan_to_fen(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return Some(0);
    }
    let (w, f) = t.split_once('.').unwrap_or((t, ""));
    if w.is_empty()
        || !w.bytes().all(|b| b.is_ascii_digit())
        || f.len() > 2
        || !f.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = w.parse().ok()?;
    let frac: i64 = format!("{f:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

impl FacilityDraft {
    /// Parses every field, collecting each problem under its field name.
    pub fn parse(&self) -> Result<NewFacility, Invalid> {
        let mut inv = Invalid::new();
        let provider_id = Uuid::parse_str(self.provider_id.trim()).ok();
        if provider_id.is_none() {
            inv.add("provider_id", "请选择您有权管理的运营机构");
        }
        let choices = Choices::parse(
            &self.kind,
            &self.ownership,
            &self.fire_status,
            &self.functions,
            &mut inv,
        );
        let region = RegionCode::parse(self.region_code.trim())
            .map_err(|e| inv.add("region_code", e.to_string()))
            .ok();
        let mut number = |field: &str, text: &str, what: &str| match text.trim() {
            "" => None,
            t => match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    inv.add(field, format!("{what}应为数字"));
                    None
                }
            },
        };
        let latitude = number("latitude", &self.latitude, "纬度");
        let longitude = number("longitude", &self.longitude, "经度");
        let floor_area = number("floor_area_m2", &self.floor_area_m2, "建筑面积");
        let mut date = |field: &str, text: &str| match text.trim() {
            "" => None,
            t => {
                let d = parse_date(t);
                if d.is_none() {
                    inv.add(field, "日期格式应为 年-月-日，例如 2024-03-01");
                }
                d
            }
        };
        let opened_on = date("opened_on", &self.opened_on);
        let filed_on = date("filed_on", &self.filed_on);
        let insurance_from = date("insurance_from", &self.insurance_from);
        let insurance_to = date("insurance_to", &self.insurance_to);
        let insured_beds = match self.insured_beds.trim() {
            "" => Some(0),
            t => t.parse::<i64>().ok(),
        };
        if insured_beds.is_none() {
            inv.add("insured_beds", "投保床位数应为 0 或正整数");
        }
        let mut money = |field: &str, text: &str| {
            let v = yuan_to_fen(text);
            if v.is_none() {
                inv.add(field, "金额应为元，最多两位小数，例如 2800 或 2800.50");
            }
            v.unwrap_or(0)
        };
        let premium_fen = money("premium_yuan", &self.premium_yuan);
        let price_min_fen = money("price_min_yuan", &self.price_min_yuan);
        let price_max_fen = money("price_max_yuan", &self.price_max_yuan);
        let (
            Some(provider_id),
            Some((kind, ownership, fire_status, functions)),
            Some(region_code),
            Some(insured_beds),
        ) = (provider_id, choices, region, insured_beds)
        else {
            return Err(inv);
        };
        let f = NewFacility {
            provider_id,
            name: self.name.trim().to_string(),
            kind,
            ownership,
            owner: self.owner.trim().to_string(),
            region_code,
            address: self.address.trim().to_string(),
            latitude,
            longitude,
            floor_area_m2: floor_area.unwrap_or(0.0),
            virtual_station: kind == FacilityKind::CommunityPost && self.virtual_station == "yes",
            functions,
            medical_partner: self.medical_partner.trim().to_string(),
            opened_on,
            filing_no: self.filing_no.trim().to_string(),
            filed_on,
            fire_status,
            food_licence: self.food_licence.trim().to_string(),
            insurer: self.insurer.trim().to_string(),
            insured_beds,
            insurance_from,
            insurance_to,
            premium_fen,
            price_min_fen,
            price_max_fen,
            phone: self.phone.trim().to_string(),
            description: self.description.trim().to_string(),
        };
        // Range and cross-field problems join the parse problems, in one answer.
        if let Err(more) = f.check(MoneyFields::Yuan) {
            inv.errors.extend(more.errors);
        }
        inv.into_result(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> FacilityDraft {
        FacilityDraft {
            provider_id: "0190b2a4-0000-7000-8000-000000000001".into(),
            name: "雨湖区颐和护理院".into(),
            kind: "care_home".into(),
            ownership: "private".into(),
            region_code: "430302001".into(),
            address: "雨湖区韶山西路 1 号".into(),
            latitude: "27.86".into(),
            longitude: "112.90".into(),
            floor_area_m2: "3200".into(),
            price_min_yuan: "1800".into(),
            price_max_yuan: "3600.50".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_form_parses_into_typed_values_with_money_in_fen() {
        let f = draft().parse().unwrap();
        assert_eq!(f.kind, FacilityKind::parse("care_home").unwrap());
        assert_eq!((f.price_min_fen, f.price_max_fen), (180_000, 360_050));
        assert_eq!(f.latitude, Some(27.86));
        assert_eq!(f.fire_status, FireStatus::Missing);
        assert!(!f.virtual_station);
    }

    #[test]
    fn each_problem_is_named_by_its_field_in_the_unit_it_was_sent_in() {
        let bad = FacilityDraft {
            latitude: "91".into(),
            longitude: String::new(),
            price_min_yuan: "3000".into(),
            price_max_yuan: "2000".into(),
            filing_no: "湘潭备001".into(),
            insured_beds: "-3".into(),
            ..draft()
        };
        let e = bad.parse().unwrap_err();
        for field in [
            "latitude",
            "longitude",
            "price_max_yuan",
            "filed_on",
            "insured_beds",
        ] {
            assert!(e.get(field).is_some(), "{field}: {e:?}");
        }
        let typed = FacilityDraft {
            price_min_yuan: "3000".into(),
            price_max_yuan: "2000".into(),
            ..draft()
        };
        let mut f = typed.parse().unwrap_err();
        assert!(f.get("price_max_yuan").is_some());
        f = NewFacility {
            price_min_fen: 300_000,
            price_max_fen: 200_000,
            ..draft().parse().unwrap()
        }
        .check(MoneyFields::Fen)
        .unwrap_err();
        assert!(f.get("price_max_fen").is_some(), "{f:?}");
    }

    #[test]
    fn yuan_take_at_most_two_decimals() {
        assert_eq!(yuan_to_fen("2800.5"), Some(280_050));
        assert_eq!(yuan_to_fen(""), Some(0));
        assert_eq!(yuan_to_fen("1.234"), None);
        assert_eq!(yuan_to_fen("-1"), None);
        assert_eq!(yuan_to_fen("99999999999999999999"), None);
    }
}
