//! Regular visits (巡访) to vulnerable older people (潭政办发〔2023〕20号 二（二）5: lonely,
//! empty-nest, left-behind, 特困, very old, disabled or demented, severely disabled and
//! 计生特殊家庭 people): who is visited how often, decided by two per-region target-group rules
//! written in the same language as the service list's (docs/RULES.md) and the region's
//! number of visits a month (`patrol.monthly_times`, which the demo list's 巡访 item promises
//! too), and when the next visit is due or overdue.

use chrono::{Duration, Months, NaiveDate};
use serde::Serialize;

use crate::rules::{Facts, Rule};

/// How often someone is visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Frequency {
    /// Not on the visit list.
    None,
    /// The region's number of times a month (once by default).
    Monthly,
    /// Once a week.
    Weekly,
}

impl Frequency {
    /// Label for screens.
    pub fn label(self) -> &'static str {
        match self {
            Frequency::None => "不需巡访",
            Frequency::Monthly => "每月一次",
            Frequency::Weekly => "每周一次",
        }
    }
}

/// The two rules of a region (policy `patrol.weekly_rule`, `patrol.monthly_rule`) and how many
/// visits a month the second group is owed (`patrol.monthly_times`).
#[derive(Debug, Clone)]
pub struct PatrolRules {
    /// Who is visited weekly.
    pub weekly: Rule,
    /// Who is visited at least monthly.
    pub monthly: Rule,
    /// Visits a month owed to the monthly group (1–31).
    pub monthly_times: u32,
}

/// How often this person is visited, with the clauses that decided it.
pub fn frequency(facts: &Facts, rules: &PatrolRules) -> (Frequency, String) {
    let weekly = rules.weekly.deciding(facts);
    if weekly.eligible {
        return (Frequency::Weekly, weekly.explanation());
    }
    let monthly = rules.monthly.deciding(facts);
    if monthly.eligible {
        (Frequency::Monthly, monthly.explanation())
    } else {
        (Frequency::None, monthly.explanation())
    }
}

/// When the next visit is due: a week after the last one for the weekly group; for the monthly
/// group a calendar month after it, or, where the region owes `monthly_times` visits a month,
/// 30 / `monthly_times` days after it; at once (the day the person joined the list) if never
/// visited.
pub fn due_on(
    last: Option<NaiveDate>,
    joined: NaiveDate,
    f: Frequency,
    monthly_times: u32,
) -> Option<NaiveDate> {
    let Some(last) = last else {
        return (f != Frequency::None).then_some(joined);
    };
    match f {
        Frequency::None => None,
        Frequency::Weekly => Some(last + Duration::days(7)),
        Frequency::Monthly if monthly_times > 1 => {
            Some(last + Duration::days(i64::from(30 / monthly_times.min(30))))
        }
        Frequency::Monthly => last.checked_add_months(Months::new(1)),
    }
}

/// Days overdue on `today` (0 or more when due has passed; None when not yet due).
pub fn overdue_days(due: Option<NaiveDate>, today: NaiveDate) -> Option<i64> {
    due.filter(|d| *d < today).map(|d| (today - d).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assessment::AbilityLevel;
    use crate::elder::LivingArrangement;
    use crate::policy::PolicyKey;
    use crate::{RegionCode, Sex};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn person(age: i64, living: LivingArrangement, categories: &[&str]) -> Facts {
        Facts {
            age,
            sex: Sex::Male,
            hukou_local: true,
            resides_locally: true,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            ability: Some(AbilityLevel::Intact),
            living,
            children_local: true,
            children_can_care: true,
            region: RegionCode::parse("430302001001").unwrap(),
            birth_date: d("1944-03-12"),
            today: d("2026-11-23"),
        }
    }

    fn defaults() -> PatrolRules {
        PatrolRules {
            weekly: Rule::parse(PolicyKey::PatrolWeeklyRule.spec().default).unwrap(),
            monthly: Rule::parse(PolicyKey::PatrolMonthlyRule.spec().default).unwrap(),
            monthly_times: 1,
        }
    }

    #[test]
    fn the_built_in_rules_visit_the_very_old_living_alone_weekly_and_other_vulnerable_people_monthly()
     {
        let r = defaults();
        let (f, why) = frequency(&person(82, LivingArrangement::Alone, &["高龄"]), &r);
        assert_eq!(f, Frequency::Weekly);
        assert!(why.contains("独居"), "{why}");
        assert_eq!(
            frequency(&person(70, LivingArrangement::Alone, &[]), &r).0,
            Frequency::Monthly
        );
        assert_eq!(
            frequency(&person(66, LivingArrangement::WithChildren, &["留守"]), &r).0,
            Frequency::Monthly
        );
        assert_eq!(
            frequency(&person(68, LivingArrangement::SpouseOnly, &["失能"]), &r).0,
            Frequency::Monthly
        );
        assert_eq!(
            frequency(&person(66, LivingArrangement::WithChildren, &[]), &r).0,
            Frequency::None
        );
        assert_eq!(
            frequency(&person(72, LivingArrangement::WithChildren, &["失智"]), &r).0,
            Frequency::Monthly,
            "失智 is named by the text"
        );
        assert_eq!(
            frequency(&person(79, LivingArrangement::Alone, &[]), &r).0,
            Frequency::Monthly,
            "高龄 from the parameter, not a literal 80: 79 without the label is not 高龄"
        );
    }

    #[test]
    fn the_next_visit_falls_due_a_week_or_a_calendar_month_after_the_last() {
        assert_eq!(
            due_on(Some(d("2026-11-20")), d("2026-01-01"), Frequency::Weekly, 1),
            Some(d("2026-11-27"))
        );
        assert_eq!(
            due_on(
                Some(d("2026-01-31")),
                d("2026-01-01"),
                Frequency::Monthly,
                1
            ),
            Some(d("2026-02-28"))
        );
        assert_eq!(
            due_on(
                Some(d("2026-01-31")),
                d("2026-01-01"),
                Frequency::Monthly,
                2
            ),
            Some(d("2026-02-15")),
            "twice a month: every fifteen days"
        );
        assert_eq!(
            due_on(None, d("2026-11-02"), Frequency::Monthly, 1),
            Some(d("2026-11-02")),
            "never visited: due at once"
        );
        assert_eq!(due_on(None, d("2026-11-02"), Frequency::None, 1), None);
        assert_eq!(
            overdue_days(Some(d("2026-11-20")), d("2026-11-23")),
            Some(3)
        );
        assert_eq!(
            overdue_days(Some(d("2026-11-23")), d("2026-11-23")),
            None,
            "due today is not overdue"
        );
    }
}
