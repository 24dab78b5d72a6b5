//! Proactive matching (服务找人): every older person of a region asked about every item of the
//! list that applies to them, and the answers compared with what they are enrolled in and with
//! the last sweep. Pure: the database layer loads the people, stores the answers and turns the
//! differences into worklists (jinglao_db::eligibility).
//!
//! A person's facts are packed once per sweep ([`Raw`] → [`Packed`]); each item's rule is
//! compiled once ([`Matcher`]); the answer for a person is one bit per item (at most 64 items a
//! list).

use chrono::{Datelike, NaiveDate};

use crate::assessment::AbilityLevel;
use crate::category::{CategoryKind, derived_bits, labels_of_bits};
use crate::elder::LivingArrangement;
use crate::id_number::age_on;
use crate::rules::{BLOCK, Facts, Packed, Person, Program, category_bit};
use crate::service_list::ServiceItem;
use crate::validation::Invalid;
use crate::{RegionCode, Sex};

/// The most items a list may have for sweeps (one bit each in a 64-bit answer).
pub const MAX_ITEMS: usize = 64;

/// A region code as a number, and the numbers of every code within it, inclusive.
pub fn code_range(region: &RegionCode) -> (u64, u64) {
    let prefix = region.prefix();
    let width = 10u64.pow(12 - prefix.len().min(12) as u32);
    let lo = prefix.parse::<u64>().unwrap_or(0) * width;
    (lo, lo + width - 1)
}

/// A 12-digit code as a number.
pub fn code_number(region: &RegionCode) -> u64 {
    region.as_str().parse().unwrap_or(0)
}

/// The bit of a recorded category in [`Raw::categories`] and [`Packed::categories`].
pub fn kind_bit(kind: CategoryKind) -> u32 {
    category_bit(kind.label()).unwrap_or(0)
}

pub use crate::category::record_bits;

/// What the registry holds about a person, as the sweep loads it: codes as numbers, recorded
/// categories already reduced to those active on the sweep date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw {
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Household registration code.
    pub hukou: u64,
    /// Residence code.
    pub residence: u64,
    /// Living arrangement.
    pub living: LivingArrangement,
    /// A child lives locally.
    pub children_local: bool,
    /// A child can care.
    pub children_can_care: bool,
    /// Latest effective level.
    pub ability: Option<AbilityLevel>,
    /// Recorded categories active on the date, with the labels their details add
    /// ([`record_bits`]).
    pub categories: u32,
    /// A dementia diagnosis in the latest effective assessment.
    pub dementia: bool,
}

impl Raw {
    /// From a person as the record page has it.
    pub fn of_person(p: &Person<'_>, on: NaiveDate) -> Raw {
        Raw {
            birth_date: p.birth_date,
            sex: p.sex,
            hukou: code_number(&p.hukou_region),
            residence: code_number(&p.residence_region),
            living: p.living,
            children_local: p.children_local,
            children_can_care: p.children_can_care,
            ability: p.ability,
            categories: p
                .categories
                .iter()
                .filter(|c| c.is_active_on(on))
                .fold(0, |m, c| m | record_bits(c.kind, c.detail.as_deref())),
            dementia: p.dementia,
        }
    }

    /// The facts for explanations, exactly as [`Facts::of_person`] derives them for a list
    /// published for `list`.
    pub fn facts(&self, list: &RegionCode, on: NaiveDate, advanced_age: i32) -> Facts {
        let code = |n: u64| RegionCode::parse(&format!("{n:012}")).ok();
        let (lo, hi) = code_range(list);
        let within = |c: u64| (lo..=hi).contains(&c);
        // The same labels, in the same order, as `categories_on` gives.
        let bits = self.category_bits(age_on(self.birth_date, on), advanced_age);
        let categories: Vec<String> = labels_of_bits(bits).into_iter().map(String::from).collect();
        Facts {
            age: i64::from(age_on(self.birth_date, on)),
            sex: self.sex,
            hukou_local: within(self.hukou),
            resides_locally: within(self.residence),
            categories,
            ability: self.ability,
            living: self.living,
            children_local: self.children_local,
            children_can_care: self.children_can_care,
            region: code(self.residence).unwrap_or(*list),
            birth_date: self.birth_date,
            today: on,
        }
    }

    /// Every category bit at `age`: the recorded ones and those derived from age, level and
    /// diagnosis.
    fn category_bits(&self, age: i32, advanced_age: i32) -> u32 {
        self.categories | derived_bits(age, self.ability, self.dementia, advanced_age)
    }

    /// The packed facts on `on` for a list whose region spans `list` (see [`code_range`]),
    /// exactly as [`Facts::of_person`] derives them: 高龄 from `advanced_age`, 失能/半失能
    /// from the level, "local" meaning within the list's region.
    pub fn pack(&self, list: (u64, u64), on: NaiveDate, advanced_age: i32) -> Packed {
        let age = age_on(self.birth_date, on);
        let categories = self.category_bits(age, advanced_age);
        let within = |c: u64| (list.0..=list.1).contains(&c);
        let flags = u8::from(within(self.hukou))
            | u8::from(within(self.residence)) << 1
            | u8::from(self.children_local) << 2
            | u8::from(self.children_can_care) << 3;
        Packed {
            region: self.residence,
            birth: self.birth_date.num_days_from_ce(),
            categories,
            age: age.clamp(i16::MIN.into(), i16::MAX.into()) as i16,
            ability: self.ability.map_or(-1, |a| a.number() as i8),
            living: LivingArrangement::ALL
                .iter()
                .position(|l| *l == self.living)
                .unwrap_or(0) as u8,
            sex: u8::from(self.sex != Sex::Male),
            flags,
        }
    }
}

/// A list compiled for one sweep date.
#[derive(Debug, Clone)]
pub struct Matcher {
    programs: Vec<Program>,
    /// Items in force on the date, one bit each.
    in_force: u64,
}

impl Matcher {
    /// Compiles `items` for `on`. A list of more than [`MAX_ITEMS`] items is refused.
    pub fn new(items: &[ServiceItem], on: NaiveDate) -> Result<Matcher, Invalid> {
        if items.len() > MAX_ITEMS {
            return Err(Invalid::one(
                "items",
                format!(
                    "清单有 {} 个项目，服务找人最多支持 {MAX_ITEMS} 个",
                    items.len()
                ),
            ));
        }
        let in_force = items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.is_in_force_on(on))
            .fold(0u64, |m, (n, _)| m | 1 << n);
        Ok(Matcher {
            programs: items.iter().map(|i| Program::new(&i.target, on)).collect(),
            in_force,
        })
    }

    /// One bit per item the person is in the target group of (items not in force: never).
    #[inline]
    pub fn answer(&self, p: &Packed) -> u64 {
        let mut mask = 0u64;
        for (n, program) in self.programs.iter().enumerate() {
            if program.holds(p) {
                mask |= 1 << n;
            }
        }
        mask & self.in_force
    }

    /// Answers for a slice of people, a block at a time.
    fn answer_many(&self, people: &[Packed], out: &mut [u64]) {
        let mut held = [0u8; BLOCK];
        for (ps, os) in people.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            os.iter_mut().for_each(|o| *o = 0);
            for (n, program) in self.programs.iter().enumerate() {
                if self.in_force & (1 << n) == 0 {
                    continue;
                }
                program.holds_block(ps, &mut held);
                for (o, h) in os.iter_mut().zip(&held) {
                    *o |= u64::from(*h) << n;
                }
            }
        }
    }

    /// Answers for everyone, on `threads` threads (0: as many as the machine has).
    pub fn answers(&self, people: &[Packed], threads: usize) -> Vec<u64> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut out = vec![0u64; people.len()];
        if people.len() < 10_000 || threads == 1 {
            self.answer_many(people, &mut out);
            return out;
        }
        let chunk = people.len().div_ceil(threads).next_multiple_of(BLOCK);
        std::thread::scope(|s| {
            for (outs, ps) in out.chunks_mut(chunk).zip(people.chunks(chunk)) {
                s.spawn(move || self.answer_many(ps, outs));
            }
        });
        out
    }
}

/// Why a person enrolled in an item is no longer in its target group, for the worklist.
pub fn lost_reason(
    status: crate::elder::ElderStatus,
    status_date: Option<NaiveDate>,
    item: &ServiceItem,
    facts: Option<&Facts>,
) -> String {
    use crate::elder::ElderStatus;
    let when = status_date.map(|d| format!("（{d}）")).unwrap_or_default();
    match (status, facts) {
        (ElderStatus::Deceased, _) => format!("已故{when}"),
        (ElderStatus::MovedOut, _) => format!("已迁出{when}"),
        (_, Some(f)) => {
            let outcome = item.target.deciding(f);
            if outcome.eligible {
                "仍符合条件".into()
            } else {
                format!("不再符合：{}", outcome.explanation())
            }
        }
        (_, None) => "不再符合条件".into(),
    }
}

/// The items a mask names, as indexes.
pub fn bits(mask: u64) -> impl Iterator<Item = usize> {
    (0..MAX_ITEMS).filter(move |n| mask & (1 << n) != 0)
}

/// What changed for one person between two answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Items newly in the target group.
    pub gained: u64,
    /// Items no longer in the target group.
    pub lost: u64,
}

/// The difference between the last answer and this one.
pub fn change(previous: u64, now: u64) -> Change {
    Change {
        gained: now & !previous,
        lost: previous & !now,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use uuid::Uuid;

    use super::*;
    use crate::category::CategoryRecord;
    use crate::service_list::xiangtan_demo_list;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn person<'a>(cats: &'a [CategoryRecord], ability: Option<AbilityLevel>) -> Person<'a> {
        Person {
            birth_date: d(1944, 3, 12),
            sex: Sex::Female,
            hukou_region: RegionCode::parse("430302001001").unwrap(),
            residence_region: RegionCode::parse("430302001001").unwrap(),
            living: LivingArrangement::Alone,
            children_local: false,
            children_can_care: false,
            categories: cats,
            ability,
            dementia: false,
        }
    }

    fn cat(kind: CategoryKind, end: Option<NaiveDate>) -> CategoryRecord {
        CategoryRecord {
            id: Uuid::now_v7(),
            kind,
            detail: None,
            start: d(2020, 1, 1),
            end,
            evidence: String::new(),
        }
    }

    #[test]
    fn packing_from_raw_fields_gives_the_same_facts_as_the_record_page() {
        let city = RegionCode::parse("4303").unwrap();
        let other = RegionCode::parse("430381").unwrap();
        let today = d(2026, 11, 23);
        let detailed = |kind, detail: &str| CategoryRecord {
            detail: Some(detail.into()),
            ..cat(kind, None)
        };
        let cats = [
            cat(CategoryKind::Dibao, None),
            cat(CategoryKind::EmptyNest, Some(d(2025, 1, 1))),
            detailed(CategoryKind::RuralExtremePoverty, "分散供养"),
            detailed(CategoryKind::FamilyPlanningSpecial, "失独"),
            detailed(CategoryKind::Disability, "二级"),
        ];
        for (ability, dementia) in [
            (None, false),
            (Some(AbilityLevel::Moderate), true),
            (Some(AbilityLevel::Complete), false),
        ] {
            for list in [city, other] {
                let p = Person {
                    dementia,
                    ..person(&cats, ability)
                };
                let slow = Packed::of_facts(&Facts::of_person(&p, &list, today, 80));
                let raw = Raw::of_person(&p, today);
                let fast = raw.pack(code_range(&list), today, 80);
                assert_eq!(fast, slow, "{ability:?} {list:?}");
                assert_eq!(
                    raw.facts(&list, today, 80),
                    Facts::of_person(&p, &list, today, 80)
                );
            }
        }
    }

    #[test]
    fn a_person_answers_one_bit_per_item_and_a_lost_category_is_a_lost_item() {
        let today = d(2026, 11, 23);
        let list = xiangtan_demo_list(d(2024, 1, 1));
        let m = Matcher::new(&list, today).unwrap();
        let city = code_range(&RegionCode::parse("4303").unwrap());
        let with = [cat(CategoryKind::Dibao, None)];
        let before = m.answer(&Raw::of_person(&person(&with, None), today).pack(city, today, 80));
        // 低保 ended last month.
        let ended = [cat(CategoryKind::Dibao, Some(d(2026, 10, 31)))];
        let after = m.answer(&Raw::of_person(&person(&ended, None), today).pack(city, today, 80));
        let c = change(before, after);
        let lost: Vec<&str> = bits(c.lost).map(|n| list[n].code.as_str()).collect();
        // Purchase (80+ 低保 without a local child) and priority admission… which 高龄 still
        // grants, so only the purchase item is lost.
        assert_eq!(lost, ["XT-JJ-01"]);
        assert_eq!(c.gained, 0);
        let reason = lost_reason(
            crate::elder::ElderStatus::Active,
            None,
            &list[0],
            Some(&Facts::of_person(
                &person(&ended, None),
                &RegionCode::parse("4303").unwrap(),
                today,
                80,
            )),
        );
        assert!(reason.starts_with("不再符合："), "{reason}");
        assert_eq!(
            reason,
            "不再符合：特殊类别（高龄）含“分散供养特困” ✗；\
             特殊类别（高龄）含“低保” ✗；特殊类别（高龄）含“失能” ✗；特殊类别（高龄）含“半失能” ✗"
        );
    }

    #[test]
    fn items_not_yet_in_force_are_never_answered() {
        let today = d(2026, 11, 23);
        let mut list = xiangtan_demo_list(d(2024, 1, 1));
        list[3].effective_from = d(2027, 1, 1);
        let m = Matcher::new(&list, today).unwrap();
        let cats: [CategoryRecord; 0] = [];
        let p = Raw::of_person(&person(&cats, None), today).pack(
            code_range(&RegionCode::parse("4303").unwrap()),
            today,
            80,
        );
        assert_eq!(m.answer(&p) & (1 << 3), 0, "meal help starts next year");
        assert_ne!(m.answer(&p) & (1 << 4), 0, "visits: 独居");
    }

    #[test]
    fn the_threaded_answers_equal_the_answers_one_by_one() {
        let today = d(2026, 11, 23);
        let list = xiangtan_demo_list(d(2024, 1, 1));
        let m = Matcher::new(&list, today).unwrap();
        let people: Vec<Packed> = (0..30_000u32)
            .map(|i| Packed {
                age: 60 + (i % 40) as i16,
                categories: i.wrapping_mul(2_654_435_761) & 0xfff,
                ability: (i % 6) as i8 - 1,
                living: (i % 5) as u8,
                flags: (i % 16) as u8,
                ..Packed::default()
            })
            .collect();
        let one: Vec<u64> = people.iter().map(|p| m.answer(p)).collect();
        assert_eq!(m.answers(&people, 2), one);
        assert!(one.iter().any(|a| *a != 0) && one.contains(&0));
    }
}
