//! A synthetic older population for demonstrations, tests and benchmarks: valid ID numbers
//! over the real villages and communities of a region, the age and sex structure of an
//! ageing population, categories at realistic rates and capability assessments scored by the
//! real GB/T 42195 rules. The assumptions are listed in docs/DEMO-DATA.md.
//!
//! Deterministic: the same seed, count, region tree and date give the same people, whatever
//! the number of threads. People are made in chunks of [`CHUNK`], each chunk from its own
//! ChaCha stream, on all cores.

pub mod facilities;
mod names;
mod person;
mod places;
mod scores;

use std::collections::HashSet;

use chrono::NaiveDate;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use jinglao_domain::id_number::ResidentId;
use jinglao_domain::region::RegionCode;
use jinglao_domain::region_tree::RegionTree;

pub use jinglao_domain::bulk::{SynthAssessment, SynthElder};
pub use places::{Place, places_under, short_name};

/// People per chunk (one random stream each).
pub const CHUNK: usize = 1024;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct SynthParams {
    /// Random seed.
    pub seed: u64,
    /// Number of people.
    pub count: usize,
    /// The day ages are counted on.
    pub today: NaiveDate,
    /// Threads to use (0 = all cores).
    pub threads: usize,
}

/// Why a population cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    /// The region has no villages or communities.
    #[error("区划 {0} 下没有村（社区），无法生成人口")]
    NoVillages(String),
}

/// Index drawn from relative `weights` (not all zero).
pub(crate) fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    weights.len() - 1
}

/// Generates `params.count` people living under `root`.
pub fn generate(
    tree: &RegionTree,
    root: &RegionCode,
    params: SynthParams,
) -> Result<Vec<SynthElder>, SynthError> {
    let places = places_under(tree, root);
    if places.is_empty() {
        return Err(SynthError::NoVillages(root.to_string()));
    }
    let counties: Vec<RegionCode> = {
        let mut c: Vec<RegionCode> = places.iter().map(|p| p.county).collect();
        c.dedup();
        c
    };
    // Urban communities are denser than rural villages.
    let mut cumulative = Vec::with_capacity(places.len());
    let mut acc = 0u32;
    for p in &places {
        acc += if p.urban { 16 } else { 10 };
        cumulative.push(acc);
    }
    let world = person::World {
        places: &places,
        cumulative: &cumulative,
        counties: &counties,
        today: params.today,
    };
    let chunks = params.count.div_ceil(CHUNK);
    let threads = match params.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, chunks.max(1));
    let mut out: Vec<Vec<SynthElder>> = Vec::with_capacity(chunks);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let world = &world;
                s.spawn(move || {
                    (t..chunks)
                        .step_by(threads)
                        .map(|chunk| {
                            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
                            rng.set_stream(chunk as u64);
                            let start = chunk * CHUNK;
                            let end = (start + CHUNK).min(params.count);
                            let people = (start..end)
                                .map(|i| person::make(&mut rng, world, i))
                                .collect::<Vec<_>>();
                            (chunk, people)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Vec<SynthElder>)> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("generator thread"))
            .collect();
        all.sort_by_key(|(c, _)| *c);
        out.extend(all.into_iter().map(|(_, p)| p));
    });
    let mut people: Vec<SynthElder> = out.into_iter().flatten().collect();
    make_ids_unique(&mut people);
    Ok(people)
}

/// Two people drew the same county, birth date and sequence: later ones move to the next
/// free sequence number of the same sex, in order, so the result stays deterministic.
fn make_ids_unique(people: &mut [SynthElder]) {
    let mut seen: HashSet<u64> = HashSet::with_capacity(people.len());
    for p in people.iter_mut() {
        let id = p.input.id_number.as_str();
        let mut first17: u64 = id[..17].parse().expect("17 digits");
        while !seen.insert(first17) {
            let seq = first17 % 1000;
            first17 = first17 - seq + (seq + 2) % 1000;
        }
        let text = format!("{first17:017}");
        if text != id[..17] {
            p.input.id_number = ResidentId::from_first17(&text);
        }
    }
}

#[cfg(test)]
mod tests;
