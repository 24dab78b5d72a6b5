//! Multi-party performance evaluation of a purchase contract (绩效评价, 湘财社〔2015〕2号 九: 由财政
//! 部门会同民政和老龄部门、养老服务对象以及第三方组成的综合评审机制……更侧重受益对象对养老服务的满意
//! 度评价; 湘政发〔2014〕20号 二（五）: 对购买服务项目数量、质量和资金使用效率等进行评价。评价结果向社会
//! 公布，并作为以后年度……选择承接主体的重要依据).
//!
//! The scheme — each party's weight, the criteria the scoring parties mark, the grade bands — is
//! a per-region parameter (`purchase.evaluation_scheme`) written in one line a clerk can read:
//!
//! ```text
//! 评价方：服务对象 50，购买主体 20，财政部门 10，第三方 20｜评分项：服务数量 30，服务质量 40，资金使用效率 30｜等次：优秀 90，良好 80，合格 60
//! ```
//!
//! The recipients' score is not typed in: it is their satisfaction, from the ratings already
//! given for the contract's visits and a sampled telephone survey, each 1–5 stars, scaled so
//! that 5 stars is 100 points.

use serde::{Deserialize, Serialize};

use crate::labelled_enum;

labelled_enum! {
    /// Who scores.
    pub enum Party {
        /// The service recipients (their satisfaction).
        Recipients = ("recipients", "服务对象"),
        /// The purchasing body (civil affairs).
        Purchaser = ("purchaser", "购买主体"),
        /// Finance.
        Finance = ("finance", "财政部门"),
        /// The third-party evaluator.
        ThirdParty = ("third_party", "第三方"),
    }
}

labelled_enum! {
    /// The grade.
    pub enum Grade {
        /// 优秀.
        Excellent = ("excellent", "优秀"),
        /// 良好.
        Good = ("good", "良好"),
        /// 合格.
        Pass = ("pass", "合格"),
        /// 不合格: the contract may be ended.
        Fail = ("fail", "不合格"),
    }
}

/// Marks by criterion, in the scheme's order.
pub type Marks = Vec<(String, u32)>;

/// The longest scheme text read.
pub const MAX_SCHEME_CHARS: usize = 1000;

/// A parsed scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheme {
    /// Each party's weight in percent (summing to 100; a party may be 0).
    pub weights: Vec<(Party, u32)>,
    /// The criteria the scoring parties mark, each with its most points (summing to 100).
    pub criteria: Vec<(String, u32)>,
    /// The lowest total (points) for 优秀, 良好 and 合格, descending.
    pub bands: [u32; 3],
}

fn number(s: &str) -> Option<u32> {
    s.trim().parse::<u32>().ok()
}

/// Splits "name 30，name 40" into pairs.
fn pairs(list: &str) -> Result<Vec<(String, u32)>, String> {
    let mut out = Vec::new();
    for part in list.split([',', '，', '、', ';', '；']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, n) = part
            .rsplit_once(|c: char| c.is_whitespace() || c == '=')
            .ok_or_else(|| format!("“{part}”应写成“名称 分值”"))?;
        let n = number(n).ok_or_else(|| format!("“{part}”的分值应为整数"))?;
        let name = name.trim().trim_end_matches('=').trim();
        if name.is_empty() || name.chars().count() > 30 {
            return Err(format!("“{part}”的名称应为 1–30 字"));
        }
        out.push((name.to_string(), n));
    }
    Ok(out)
}

impl Scheme {
    /// Parses the parameter's text.
    pub fn parse(text: &str) -> Result<Scheme, String> {
        if text.chars().count() > MAX_SCHEME_CHARS {
            return Err(format!("评价方案不超过 {MAX_SCHEME_CHARS} 字"));
        }
        let (mut weights, mut criteria, mut bands) = (None, None, None);
        for section in text.split(['｜', '|', '\n']) {
            let section = section.trim();
            if section.is_empty() {
                continue;
            }
            let (head, list) = section
                .split_once(['：', ':'])
                .ok_or_else(|| format!("“{section}”应以“评价方：”“评分项：”或“等次：”开头"))?;
            let items = pairs(list)?;
            match head.trim() {
                "评价方" => {
                    let mut w = Vec::new();
                    for (name, n) in items {
                        let p = Party::parse(&name).ok_or_else(|| {
                            format!("评价方“{name}”应为：{}", Party::labels_list())
                        })?;
                        if w.iter().any(|(q, _)| *q == p) {
                            return Err(format!("评价方“{name}”写了两次"));
                        }
                        w.push((p, n));
                    }
                    if w.iter().map(|(_, n)| n).sum::<u32>() != 100 {
                        return Err("评价方的权重合计应为 100".into());
                    }
                    weights = Some(w);
                }
                "评分项" => {
                    if items.is_empty() || items.len() > 12 {
                        return Err("评分项应有 1–12 项".into());
                    }
                    if items.iter().map(|(_, n)| n).sum::<u32>() != 100 {
                        return Err("评分项的分值合计应为 100".into());
                    }
                    criteria = Some(items);
                }
                "等次" => {
                    let mut b = [0u32; 3];
                    for (i, g) in [Grade::Excellent, Grade::Good, Grade::Pass]
                        .iter()
                        .enumerate()
                    {
                        b[i] = items
                            .iter()
                            .find(|(n, _)| n == g.label())
                            .map(|(_, v)| *v)
                            .ok_or_else(|| {
                                format!("等次应写出优秀、良好、合格的最低分，缺“{}”", g.label())
                            })?;
                    }
                    if !(b[0] > b[1] && b[1] > b[2] && b[0] <= 100) {
                        return Err("等次的最低分应为 优秀 > 良好 > 合格，且不超过 100".into());
                    }
                    bands = Some(b);
                }
                other => return Err(format!("“{other}”不是评价方案的部分")),
            }
        }
        let weights = weights.ok_or("缺少“评价方：”")?;
        let recipients = weights
            .iter()
            .find(|(p, _)| *p == Party::Recipients)
            .map_or(0, |(_, n)| *n);
        if weights
            .iter()
            .any(|(p, n)| *p != Party::Recipients && *n >= recipients)
        {
            return Err(
                "服务对象的权重应高于其他各方（湘财社〔2015〕2号 九：更侧重受益对象的满意度评价）"
                    .into(),
            );
        }
        Ok(Scheme {
            weights,
            criteria: criteria.ok_or("缺少“评分项：”")?,
            bands: bands.ok_or("缺少“等次：”")?,
        })
    }

    /// A party's weight (0 when not in the scheme).
    pub fn weight(&self, party: Party) -> u32 {
        self.weights
            .iter()
            .find(|(p, _)| *p == party)
            .map_or(0, |(_, n)| *n)
    }

    /// The parties that mark the criteria (every weighted party but the recipients).
    pub fn scoring_parties(&self) -> Vec<Party> {
        self.weights
            .iter()
            .filter(|(p, n)| *n > 0 && *p != Party::Recipients)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Checks one party's marks (criterion name → points) against the criteria and returns
    /// them in the scheme's order with their sum; the error names the criterion.
    pub fn check_marks(&self, marks: &[(String, u32)]) -> Result<(Marks, u32), (String, String)> {
        let mut out = Vec::new();
        for (name, max) in &self.criteria {
            let got = marks
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| (name.clone(), format!("请为“{name}”打分（0–{max}）")))?;
            if got > *max {
                return Err((name.clone(), format!("“{name}”最高 {max} 分")));
            }
            out.push((name.clone(), got));
        }
        if let Some((n, _)) = marks
            .iter()
            .find(|(n, _)| !self.criteria.iter().any(|(c, _)| c == n))
        {
            return Err((n.clone(), format!("“{n}”不是本方案的评分项")));
        }
        let sum = out.iter().map(|(_, v)| v).sum();
        Ok((out, sum))
    }

    /// The grade of a total in tenths of a point.
    pub fn grade(&self, total_tenths: u32) -> Grade {
        let [e, g, p] = self.bands.map(|b| b * 10);
        if total_tenths >= e {
            Grade::Excellent
        } else if total_tenths >= g {
            Grade::Good
        } else if total_tenths >= p {
            Grade::Pass
        } else {
            Grade::Fail
        }
    }

    /// The weighted total in tenths of a point from each party's score (0–100, tenths);
    /// `None` when a weighted party has no score yet (the error lists who).
    pub fn total(&self, scores: &[(Party, u32)]) -> Result<u32, Vec<Party>> {
        let missing: Vec<Party> = self
            .weights
            .iter()
            .filter(|(p, n)| *n > 0 && !scores.iter().any(|(q, _)| q == p))
            .map(|(p, _)| *p)
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let sum: u64 = self
            .weights
            .iter()
            .map(|(p, w)| {
                let s = scores.iter().find(|(q, _)| q == p).map_or(0, |(_, s)| *s);
                u64::from(*w) * u64::from(s)
            })
            .sum();
        // Round half up to a tenth.
        Ok(((sum + 50) / 100) as u32)
    }
}

/// The recipients' satisfaction: answers (1–5 stars) from ratings and from the telephone
/// survey. Each source's mean counts half when both have answers (the survey is a random
/// sample, the ratings are whoever chose to rate); 5 stars is 100 points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Satisfaction {
    /// Ratings given for the contract's visits: how many, and the sum of stars.
    pub ratings: (u32, u32),
    /// Survey calls answered: how many, and the sum of stars.
    pub survey: (u32, u32),
    /// Survey calls not reached.
    pub unreached: u32,
}

impl Satisfaction {
    /// The score in tenths of a point, or `None` with no answer at all.
    pub fn score_tenths(&self) -> Option<u32> {
        let mean = |(n, sum): (u32, u32)| (n > 0).then(|| f64::from(sum) / f64::from(n));
        let stars = match (mean(self.ratings), mean(self.survey)) {
            (None, None) => return None,
            (Some(a), None) | (None, Some(a)) => a,
            (Some(a), Some(b)) => (a + b) / 2.0,
        };
        Some((stars * 200.0).round() as u32)
    }
}

/// The default scheme (the parameter's built-in value).
pub const DEFAULT_SCHEME: &str = "评价方：服务对象 50，购买主体 20，财政部门 10，第三方 20｜评分项：服务数量 30，服务质量 40，资金使用效率 30｜等次：优秀 90，良好 80，合格 60";

/// Draws `n` of `candidates` for the survey, the same way every time for the same `seed`
/// (so the draw can be checked afterwards): a sort by a hash of seed and candidate.
pub fn draw_sample<T: AsRef<[u8]> + Clone>(candidates: &[T], n: usize, seed: &[u8]) -> Vec<T> {
    use sha2::{Digest, Sha256};
    let mut keyed: Vec<([u8; 32], &T)> = candidates
        .iter()
        .map(|c| {
            let mut h = Sha256::new();
            h.update(seed);
            h.update(c.as_ref());
            (h.finalize().into(), c)
        })
        .collect();
    keyed.sort_by_key(|k| k.0);
    keyed.into_iter().take(n).map(|(_, c)| c.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scheme_weighs_the_recipients_most_and_parses() {
        let s = Scheme::parse(DEFAULT_SCHEME).unwrap();
        assert_eq!(s.weight(Party::Recipients), 50);
        assert_eq!(s.criteria.len(), 3);
        assert_eq!(s.bands, [90, 80, 60]);
        assert_eq!(
            s.scoring_parties(),
            vec![Party::Purchaser, Party::Finance, Party::ThirdParty]
        );
    }

    #[test]
    fn a_scheme_that_does_not_favour_the_recipients_or_does_not_add_up_is_refused() {
        let e = Scheme::parse("评价方：服务对象 30，购买主体 40，财政部门 10，第三方 20｜评分项：质量 100｜等次：优秀 90，良好 80，合格 60").unwrap_err();
        assert!(e.contains("服务对象的权重应高于"), "{e}");
        let e = Scheme::parse(
            "评价方：服务对象 50，购买主体 20｜评分项：质量 100｜等次：优秀 90，良好 80，合格 60",
        )
        .unwrap_err();
        assert!(e.contains("合计应为 100"), "{e}");
        let e = Scheme::parse("评价方：服务对象 100｜评分项：质量 100｜等次：优秀 90，合格 60")
            .unwrap_err();
        assert!(e.contains("良好"), "{e}");
        assert!(Scheme::parse(&"评".repeat(1001)).is_err());
    }

    #[test]
    fn the_total_weighs_each_party_and_a_missing_party_is_named() {
        let s = Scheme::parse(DEFAULT_SCHEME).unwrap();
        let scores = [
            (Party::Recipients, 920),
            (Party::Purchaser, 850),
            (Party::Finance, 800),
        ];
        assert_eq!(s.total(&scores), Err(vec![Party::ThirdParty]));
        let mut all = scores.to_vec();
        all.push((Party::ThirdParty, 780));
        // 0.5·92 + 0.2·85 + 0.1·80 + 0.2·78 = 86.6
        assert_eq!(s.total(&all), Ok(866));
        assert_eq!(s.grade(866), Grade::Good);
        assert_eq!(s.grade(900), Grade::Excellent);
        assert_eq!(s.grade(599), Grade::Fail);
    }

    #[test]
    fn marks_are_checked_against_the_criteria_by_name() {
        let s = Scheme::parse(DEFAULT_SCHEME).unwrap();
        let m = |v: &[(&str, u32)]| {
            v.iter()
                .map(|(n, p)| (n.to_string(), *p))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            s.check_marks(&m(&[
                ("服务数量", 25),
                ("服务质量", 35),
                ("资金使用效率", 28)
            ]))
            .unwrap()
            .1,
            88
        );
        assert_eq!(
            s.check_marks(&m(&[
                ("服务数量", 31),
                ("服务质量", 35),
                ("资金使用效率", 28)
            ]))
            .unwrap_err()
            .0,
            "服务数量"
        );
        assert!(s.check_marks(&m(&[("服务数量", 1)])).is_err());
    }

    #[test]
    fn satisfaction_averages_ratings_and_survey_half_and_half() {
        let s = Satisfaction {
            ratings: (10, 45),
            survey: (4, 16),
            unreached: 1,
        };
        // (4.5 + 4.0) / 2 = 4.25 stars = 85.0 points
        assert_eq!(s.score_tenths(), Some(850));
        assert_eq!(Satisfaction::default().score_tenths(), None);
        assert_eq!(
            Satisfaction {
                survey: (2, 10),
                ..Default::default()
            }
            .score_tenths(),
            Some(1000)
        );
    }

    #[test]
    fn the_survey_sample_is_the_same_for_the_same_seed() {
        let c: Vec<String> = (0..50).map(|i| format!("p{i}")).collect();
        let a = draw_sample(&c, 10, b"eval-1");
        assert_eq!(a, draw_sample(&c, 10, b"eval-1"));
        assert_ne!(a, draw_sample(&c, 10, b"eval-2"));
        assert_eq!(draw_sample(&c, 100, b"x").len(), 50);
    }
}
