//! Choosing the provider (选择承接): bids or offers, the gate every bidder passes, the panel's
//! scores, the ranking and the award.
//!
//! - **The gate.** A bidder must meet the seven conditions and not be barred by its credit
//!   record (`provider::bid_standing`; a fraud penalty bars for three years,
//!   湘政发〔2014〕20号 三（三）). A bidder who fails is recorded as disqualified with the
//!   reasons, never silently dropped.
//! - **Scoring** (综合评分法) for the scored modes: the price criterion gives its full weight to
//!   the lowest qualified price and `lowest / price × weight` to the others; each other
//!   criterion is the mean of the panel members' scores (each at most the criterion's weight).
//!   Scores are kept in hundredths of a point.
//! - **Ranking.** 询价: lowest qualified price first. Otherwise highest total first. Ties go
//!   to the lower price, then to a 3A-or-better social organisation (priority,
//!   湘政发〔2014〕20号 二（三）六), then to the earlier bid.
//! - **Award.** Awarding anyone but the first-ranked needs a written reason; 多家承接、老人自选
//!   may award several; 单一来源 may award only after its notice period.

use serde::Serialize;

use super::project::{Criterion, PRICE_CRITERION, PurchaseMode};
use crate::validation::Invalid;

crate::labelled_enum! {
    /// What a document handed in with a bid is (投标文件).
    pub enum BidDocumentKind {
        /// The service proposal (服务方案), the technical part the panel scores.
        Proposal = ("proposal", "服务方案"),
        /// Qualification papers (资格证明文件): licences, the seven conditions' evidence.
        Qualification = ("qualification", "资格证明文件"),
        /// The signed price sheet (报价单).
        PriceSheet = ("price_sheet", "报价单"),
        /// Anything else the notice asked for.
        Other = ("other", "其他材料"),
    }
}

/// A bid as the ranking sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankInput {
    /// Position in submission order (earlier first).
    pub order: usize,
    /// Offered price for the whole project, fen.
    pub price_fen: i64,
    /// Passed the gate.
    pub qualified: bool,
    /// 3A+ social organisation.
    pub priority: bool,
    /// Each panel member's scores, per criterion name (non-price criteria).
    pub sheets: Vec<Vec<(String, u32)>>,
}

/// A bid's place in the ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    /// The bid's `order`.
    pub order: usize,
    /// Rank from 1; none for a disqualified bid.
    pub rank: Option<usize>,
    /// Total, hundredths of a point (0 for 询价 and disqualified bids).
    pub total_centi: u32,
    /// Per criterion: name and score in hundredths.
    pub by_criterion: Vec<(String, u32)>,
}

/// Checks one panel member's sheet against the criteria: every non-price criterion scored,
/// each within its weight. Field names `scores.<criterion>`.
pub fn check_sheet(criteria: &[Criterion], scores: &[(String, u32)]) -> Result<(), Invalid> {
    let mut inv = Invalid::new();
    for c in criteria.iter().filter(|c| c.name != PRICE_CRITERION) {
        match scores.iter().find(|(n, _)| *n == c.name) {
            None => inv.add(
                &format!("scores.{}", c.name),
                format!("请给“{}”打分", c.name),
            ),
            Some((_, s)) if *s > c.weight => inv.add(
                &format!("scores.{}", c.name),
                format!("“{}”最高 {} 分，不能打 {} 分", c.name, c.weight, s),
            ),
            Some(_) => {}
        }
    }
    for (n, _) in scores {
        if !criteria
            .iter()
            .any(|c| c.name == *n && c.name != PRICE_CRITERION)
        {
            inv.add(&format!("scores.{n}"), format!("本项目没有评分项“{n}”"));
        }
    }
    inv.into_result(())
}

/// Whether bids under `mode` are scored by a panel (not 询价, which takes the lowest price,
/// nor 单一来源, which has one bidder) on these criteria (some besides the price).
pub fn panel_scores(mode: PurchaseMode, criteria: &[Criterion]) -> bool {
    !matches!(mode, PurchaseMode::Inquiry | PurchaseMode::SingleSource)
        && criteria.iter().any(|c| c.name != PRICE_CRITERION)
}

/// Before an award under a scored mode: every qualified bid carries a sheet from every panel
/// member who scored any of them. The ranking gives a bid no points for a criterion nobody
/// scored, so a panel that scored only some bids would decide by omission. Each bid is its
/// bidder's name, whether it qualified and the members whose sheets it has. Field `bids`.
pub fn check_panel(
    mode: PurchaseMode,
    criteria: &[Criterion],
    bids: &[(&str, bool, Vec<&str>)],
) -> Result<(), Invalid> {
    if !panel_scores(mode, criteria) {
        return Ok(());
    }
    let mut panel: Vec<&str> = bids
        .iter()
        .filter(|(_, qualified, _)| *qualified)
        .flat_map(|(_, _, who)| who.iter().copied())
        .collect();
    panel.sort_unstable();
    panel.dedup();
    if panel.is_empty() {
        return Err(Invalid::one(
            "bids",
            "还没有录入评审专家评分，综合评分法须先评分再确定承接主体",
        ));
    }
    let gaps: Vec<String> = bids
        .iter()
        .filter(|(_, qualified, _)| *qualified)
        .filter_map(|(name, _, who)| {
            let missing: Vec<&str> = panel.iter().copied().filter(|m| !who.contains(m)).collect();
            (!missing.is_empty()).then(|| format!("{name}缺少{}的评分", missing.join("、")))
        })
        .collect();
    if gaps.is_empty() {
        Ok(())
    } else {
        Err(Invalid::one(
            "bids",
            format!(
                "评分不完整：{}；每位评审专家须给每个资格审查通过的投标打分",
                gaps.join("；")
            ),
        ))
    }
}

/// Reads one panel member's sheet as typed (criterion name → whole points as text) and checks
/// it like [`check_sheet`]. Field names `scores.<criterion>`.
pub fn parse_sheet(
    criteria: &[Criterion],
    typed: &[(String, String)],
) -> Result<Vec<(String, u32)>, Invalid> {
    let mut inv = Invalid::new();
    let mut out = Vec::new();
    for c in criteria.iter().filter(|c| c.name != PRICE_CRITERION) {
        let field = format!("scores.{}", c.name);
        let text = typed
            .iter()
            .find(|(n, _)| *n == c.name)
            .map_or("", |(_, v)| v.trim());
        if text.is_empty() {
            inv.add(&field, format!("请给“{}”打分", c.name));
            continue;
        }
        match text.parse::<u32>() {
            Ok(n) => out.push((c.name.clone(), n)),
            Err(_) => inv.add(
                &field,
                format!("“{}”的得分应为 0 到 {} 的整数", c.name, c.weight),
            ),
        }
    }
    inv.into_result(())?;
    check_sheet(criteria, &out)?;
    Ok(out)
}

/// Scores and ranks the bids of a project chosen by `mode` under `criteria`.
pub fn rank(mode: PurchaseMode, criteria: &[Criterion], bids: &[RankInput]) -> Vec<Ranked> {
    let lowest = bids
        .iter()
        .filter(|b| b.qualified && b.price_fen > 0)
        .map(|b| b.price_fen)
        .min();
    let mut out: Vec<(Ranked, &RankInput)> = bids
        .iter()
        .map(|b| {
            let mut by = Vec::new();
            if b.qualified && !mode.lowest_price_wins() {
                for c in criteria {
                    let centi = if c.name == PRICE_CRITERION {
                        match lowest {
                            Some(low) if b.price_fen > 0 => {
                                (i128::from(low) * i128::from(c.weight) * 100
                                    / i128::from(b.price_fen))
                                    as u32
                            }
                            _ => 0,
                        }
                    } else if b.sheets.is_empty() {
                        0
                    } else {
                        let sum: u64 = b
                            .sheets
                            .iter()
                            .map(|s| {
                                s.iter()
                                    .find(|(n, _)| *n == c.name)
                                    .map_or(0, |(_, v)| u64::from((*v).min(c.weight)))
                            })
                            .sum();
                        (sum * 100 / b.sheets.len() as u64) as u32
                    };
                    by.push((c.name.clone(), centi));
                }
            }
            let total = by.iter().map(|(_, s)| *s).sum();
            (
                Ranked {
                    order: b.order,
                    rank: None,
                    total_centi: total,
                    by_criterion: by,
                },
                b,
            )
        })
        .collect();
    let mut ranked: Vec<usize> = (0..out.len()).filter(|&i| out[i].1.qualified).collect();
    ranked.sort_by(|&x, &y| {
        let (a, b) = (&out[x], &out[y]);
        let by_score = if mode.lowest_price_wins() {
            std::cmp::Ordering::Equal
        } else {
            b.0.total_centi.cmp(&a.0.total_centi)
        };
        by_score
            .then(a.1.price_fen.cmp(&b.1.price_fen))
            .then(b.1.priority.cmp(&a.1.priority))
            .then(a.1.order.cmp(&b.1.order))
    });
    for (place, i) in ranked.into_iter().enumerate() {
        out[i].0.rank = Some(place + 1);
    }
    out.into_iter().map(|(r, _)| r).collect()
}

/// Checks an award of the bids at `chosen` (their `order`) against the ranking: each chosen
/// bid is qualified; one award unless the mode allows several; a reason when a chosen bid is
/// not ranked first (for several: not within the first `chosen.len()`).
pub fn check_award(
    mode: PurchaseMode,
    ranking: &[Ranked],
    chosen: &[usize],
    reason: &str,
) -> Result<(), Invalid> {
    let mut inv = Invalid::new();
    if chosen.is_empty() {
        inv.add("bids", "请选择中标（成交）的承接主体");
        return Err(inv);
    }
    if chosen.len() > 1 && !mode.several_awards() {
        inv.add("bids", format!("{}只能确定一家承接主体", mode.label()));
    }
    for &c in chosen {
        match ranking.iter().find(|r| r.order == c) {
            None => inv.add("bids", "所选投标不属于本项目"),
            Some(r) if r.rank.is_none() => inv.add("bids", "所选投标人资格审查未通过，不能中标"),
            Some(r)
                if r.rank.unwrap_or(usize::MAX) > chosen.len()
                    && reason.trim().chars().count() < 10 =>
            {
                inv.add(
                    "reason",
                    format!(
                        "所选投标排名第 {}，须写明不选排名靠前者的理由（至少 10 字）",
                        r.rank.unwrap_or(0)
                    ),
                )
            }
            Some(_) => {}
        }
    }
    inv.into_result(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria() -> Vec<Criterion> {
        vec![
            Criterion {
                name: "价格".into(),
                weight: 30,
            },
            Criterion {
                name: "服务方案".into(),
                weight: 70,
            },
        ]
    }

    fn bid(order: usize, price: i64, plan: &[u32]) -> RankInput {
        RankInput {
            order,
            price_fen: price,
            qualified: true,
            priority: false,
            sheets: plan
                .iter()
                .map(|s| vec![("服务方案".to_string(), *s)])
                .collect(),
        }
    }

    #[test]
    fn the_lowest_price_gets_the_full_price_weight_and_the_panel_mean_is_added() {
        let r = rank(
            PurchaseMode::OpenTender,
            &criteria(),
            &[bid(0, 100_000, &[60, 64]), bid(1, 80_000, &[50, 50])],
        );
        // 0: 30 × 80/100 = 24 + 62 = 86; 1: 30 + 50 = 80.
        assert_eq!((r[0].total_centi, r[0].rank), (8_600, Some(1)));
        assert_eq!((r[1].total_centi, r[1].rank), (8_000, Some(2)));
    }

    #[test]
    fn a_disqualified_bid_is_not_ranked_and_does_not_set_the_lowest_price() {
        let mut cheap = bid(0, 10_000, &[70]);
        cheap.qualified = false;
        let r = rank(
            PurchaseMode::OpenTender,
            &criteria(),
            &[cheap, bid(1, 80_000, &[50])],
        );
        assert_eq!(r[0].rank, None);
        assert_eq!(r[1].by_criterion[0], ("价格".to_string(), 3_000));
        assert!(check_award(PurchaseMode::OpenTender, &r, &[0], "理由写得足够长足够长").is_err());
    }

    #[test]
    fn an_inquiry_goes_to_the_lowest_price_and_ties_to_a_three_a_organisation() {
        let mut b = bid(1, 50_000, &[]);
        b.priority = true;
        let r = rank(
            PurchaseMode::Inquiry,
            &[],
            &[bid(0, 50_000, &[]), b, bid(2, 40_000, &[])],
        );
        assert_eq!(
            r.iter().map(|x| x.rank).collect::<Vec<_>>(),
            vec![Some(3), Some(2), Some(1)]
        );
    }

    #[test]
    fn awarding_the_second_needs_a_reason_and_two_awards_need_the_elder_choice_mode() {
        let r = rank(
            PurchaseMode::OpenTender,
            &criteria(),
            &[bid(0, 100_000, &[70]), bid(1, 100_000, &[10])],
        );
        assert!(
            check_award(PurchaseMode::OpenTender, &r, &[1], "")
                .unwrap_err()
                .get("reason")
                .is_some()
        );
        assert!(
            check_award(
                PurchaseMode::OpenTender,
                &r,
                &[1],
                "第一名放弃中标资格，依次递补"
            )
            .is_ok()
        );
        assert!(check_award(PurchaseMode::OpenTender, &r, &[0, 1], "").is_err());
        assert!(check_award(PurchaseMode::ElderChoice, &r, &[0, 1], "").is_ok());
    }

    #[test]
    fn an_award_waits_until_every_panel_member_has_scored_every_qualified_bid() {
        let c = criteria();
        let ok = [
            ("甲", true, vec!["张", "李"]),
            ("乙", true, vec!["李", "张"]),
            ("丙", false, vec![]),
        ];
        assert!(check_panel(PurchaseMode::OpenTender, &c, &ok).is_ok());
        let gap = [("甲", true, vec!["张", "李"]), ("乙", true, vec!["张"])];
        let e = check_panel(PurchaseMode::OpenTender, &c, &gap).unwrap_err();
        assert!(e.get("bids").unwrap().contains("乙缺少李的评分"), "{e:?}");
        let none = [("甲", true, vec![]), ("乙", true, vec![])];
        assert!(check_panel(PurchaseMode::OpenTender, &c, &none).is_err());
        assert!(
            check_panel(PurchaseMode::Inquiry, &c, &none).is_ok(),
            "询价 takes the lowest price"
        );
    }

    #[test]
    fn a_typed_sheet_names_each_criterion_left_blank_not_a_whole_number_or_over_its_weight() {
        let typed = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let ok = parse_sheet(&criteria(), &typed(&[("服务方案", " 62 ")])).unwrap();
        assert_eq!(ok, vec![("服务方案".to_string(), 62)]);
        let e = parse_sheet(&criteria(), &typed(&[("服务方案", "")])).unwrap_err();
        assert!(e.get("scores.服务方案").unwrap().contains("请给"));
        let e = parse_sheet(&criteria(), &typed(&[("服务方案", "六十")])).unwrap_err();
        assert!(e.get("scores.服务方案").unwrap().contains("0 到 70 的整数"));
        let e = parse_sheet(&criteria(), &typed(&[("服务方案", "80")])).unwrap_err();
        assert!(e.get("scores.服务方案").unwrap().contains("最高 70 分"));
    }

    #[test]
    fn a_sheet_over_a_criterions_weight_or_missing_one_is_named() {
        let e = check_sheet(&criteria(), &[("服务方案".into(), 71)]).unwrap_err();
        assert!(e.get("scores.服务方案").unwrap().contains("70"));
        let e = check_sheet(&criteria(), &[("价格".into(), 20)]).unwrap_err();
        assert!(e.get("scores.服务方案").is_some() && e.get("scores.价格").is_some());
    }
}
