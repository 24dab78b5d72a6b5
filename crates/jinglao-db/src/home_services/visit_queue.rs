//! Group commit for caregivers' check-ins and check-outs.
//!
//! At the start of a shift a city's caregivers check in together; one SQLite database takes
//! one writer at a time, and a transaction per request spends most of the writer's time
//! waiting between statements. The server therefore hands these requests to one task that
//! takes whatever has arrived since its last commit — up to [`MAX_BATCH`] — and runs them as
//! one transaction with one query per table ([`crate::visit_batch`]). Each caller is answered
//! after the commit, with its own result: nothing is acknowledged before it is durable.
//!
//! Jobs sharing a caregiver, a visit or an order never share a batch; a later one waits for
//! the earlier one's commit, so each is decided as if it had run alone and in order. If the
//! batch fails in the database, every job of it is run again on its own, so one bad job
//! cannot fail the others (the jobs are idempotent: a retried check-in finds its visit).

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::audit::ChainKey;
pub use crate::visit_batch::Who;
use crate::visit_batch::{self, Answers, Done, Job};
use crate::visits::{CheckIn, CheckOut, Outcome};
use crate::{Actor, Db, DbError};

/// Most jobs in one transaction (a commit every few milliseconds at the target load).
pub const MAX_BATCH: usize = 256;

/// Requests that may wait for the writer before callers wait to hand theirs in.
const CAPACITY: usize = 8_192;

struct Item {
    job: Job,
    reply: oneshot::Sender<Result<Done, DbError>>,
}

/// The handle callers submit through; cheap to clone. The writing task ends when the last
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct VisitQueue {
    sender: mpsc::Sender<Item>,
    /// For the questions asked before a check-out is queued ([`crate::visit_gate`]).
    db: Db,
    key: ChainKey,
}

impl VisitQueue {
    /// Starts the writing task on the current Tokio runtime.
    pub fn start(db: Db, key: ChainKey) -> VisitQueue {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        tokio::spawn(write_batches(db.clone(), key.clone(), receiver));
        VisitQueue { sender, db, key }
    }

    /// [`crate::visits::check_in`] for `who` (a caregiver's account is looked up in the
    /// batch), committed with other requests.
    pub async fn check_in(
        &self,
        actor: &Actor,
        who: Who,
        ci: &CheckIn,
        now: DateTime<Utc>,
    ) -> Result<Uuid, DbError> {
        self.submit(Job::check_in(actor, who, ci, now))
            .await?
            .visit()
    }

    /// [`crate::visits::check_out`] under the stored policy, committed with other requests.
    pub async fn check_out(
        &self,
        actor: &Actor,
        who: Who,
        co: &CheckOut,
        now: DateTime<Utc>,
    ) -> Result<Outcome, DbError> {
        crate::visit_gate::gate(&self.db, &self.key, actor, who, co, None, now).await?;
        self.submit(Job::check_out(actor, who, co, None, now))
            .await?
            .outcome()
    }

    async fn submit(&self, job: Job) -> Result<Done, DbError> {
        let stopped = || DbError::Config("the visit writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Item { job, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The writing task: one batch at a time, for as long as a handle exists.
async fn write_batches(db: Db, key: ChainKey, mut receiver: mpsc::Receiver<Item>) {
    let mut waiting: VecDeque<Item> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match receiver.recv().await {
                Some(item) => waiting.push_back(item),
                None => return,
            }
        }
        while waiting.len() < 4 * MAX_BATCH {
            match receiver.try_recv() {
                Ok(item) => waiting.push_back(item),
                Err(_) => break,
            }
        }
        let batch = take_batch(&mut waiting);
        run_batch(&db, &key, batch).await;
    }
}

/// Takes up to [`MAX_BATCH`] jobs from the front, skipping any that shares a key with a job
/// taken or skipped before it (so jobs on the same key keep their order).
fn take_batch(waiting: &mut VecDeque<Item>) -> Vec<Item> {
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut batch = Vec::new();
    let mut rest = VecDeque::new();
    while let Some(item) = waiting.pop_front() {
        let keys = item.job.keys();
        let free = keys.iter().flatten().all(|k| !seen.contains(k));
        seen.extend(keys.iter().flatten());
        if free && batch.len() < MAX_BATCH {
            batch.push(item);
        } else {
            rest.push_back(item);
        }
    }
    *waiting = rest;
    batch
}

/// Runs a batch in one transaction and answers each caller; on a database failure, runs each
/// job again on its own.
async fn run_batch(db: &Db, key: &ChainKey, items: Vec<Item>) {
    let (jobs, replies): (Vec<Job>, Vec<_>) = items.into_iter().map(|i| (i.job, i.reply)).unzip();
    match attempt(db, key, &jobs).await {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(e) if jobs.len() == 1 => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(e));
            }
        }
        Err(e) => {
            tracing::warn!(jobs = jobs.len(), error = %e, "visit batch failed; running its jobs one by one");
            for (job, reply) in jobs.into_iter().zip(replies) {
                let _ = reply.send(visit_batch::run_one(db, key, job).await);
            }
        }
    }
}

async fn attempt(db: &Db, key: &ChainKey, jobs: &[Job]) -> Result<Answers, DbError> {
    let mut tx = db.begin().await?;
    let answers = visit_batch::execute(&mut tx.conn(), key, jobs).await?;
    tx.commit().await?;
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(staff: Uuid, visit: Uuid) -> Item {
        let (reply, _) = oneshot::channel();
        Item {
            job: Job::Out {
                actor: Actor::system(),
                who: Who::Caregiver(crate::visits::Caregiver {
                    staff_id: staff,
                    provider_id: Uuid::nil(),
                }),
                co: CheckOut {
                    visit_id: visit,
                    ..Default::default()
                },
                book: None,
                now: Utc::now(),
            },
            reply,
        }
    }

    fn visit_of(i: &Item) -> Uuid {
        i.job.keys()[1].expect("a visit")
    }

    #[test]
    fn a_batch_never_holds_two_jobs_of_one_caregiver_and_later_ones_keep_their_order() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (v1, v2, v3, v4) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let mut waiting: VecDeque<Item> = [item(a, v1), item(a, v2), item(b, v3), item(a, v4)]
            .into_iter()
            .collect();
        let first = take_batch(&mut waiting);
        assert_eq!(first.iter().map(visit_of).collect::<Vec<_>>(), [v1, v3]);
        let second = take_batch(&mut waiting);
        assert_eq!(second.iter().map(visit_of).collect::<Vec<_>>(), [v2]);
        let third = take_batch(&mut waiting);
        assert_eq!(third.iter().map(visit_of).collect::<Vec<_>>(), [v4]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_batch_stops_at_its_size_limit() {
        let mut waiting: VecDeque<Item> = (0..MAX_BATCH + 5)
            .map(|_| item(Uuid::now_v7(), Uuid::now_v7()))
            .collect();
        assert_eq!(take_batch(&mut waiting).len(), MAX_BATCH);
        assert_eq!(waiting.len(), 5);
    }
}
