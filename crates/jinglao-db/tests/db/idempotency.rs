//! Stored answers of idempotent API writes: the first request holds the key, a retry reads the
//! first answer, a key abandoned while pending or older than a day is taken over.

use chrono::{DateTime, Duration, Utc};
use jinglao_db::idempotency::{self, Stored};
use jinglao_db::testing::TestDb;
use jinglao_db::{Db, test_on_both};
use uuid::Uuid;

/// Claims `key` for `account` at `at` (a day's keeping, two minutes' pending).
async fn claim(db: &Db, account: Uuid, key: &str, at: DateTime<Utc>) -> Option<Stored> {
    let mut c = db.acquire().await.unwrap();
    idempotency::claim(
        &mut c.conn(),
        &idempotency::Claim {
            account_id: account,
            key,
            route: "POST /api/v1/orders",
            request_hash: "h1",
        },
        at,
        at - Duration::hours(24),
        at - Duration::minutes(2),
    )
    .await
    .unwrap()
}

test_on_both! {
    async fn the_first_request_holds_a_key_and_a_retry_reads_its_answer(t: TestDb) {
        let (account, now) = (Uuid::now_v7(), Utc::now());
        assert_eq!(claim(&t.db, account, "k-1", now).await, None, "the first request holds the key");
        let pending = claim(&t.db, account, "k-1", now).await.expect("a retry sees the first request");
        assert_eq!(pending.status, 0, "still running");
        let mut c = t.db.acquire().await.unwrap();
        idempotency::complete(&mut c.conn(), account, "k-1", 201, "{\"order_id\":1}").await.unwrap();
        drop(c);
        let done = claim(&t.db, account, "k-1", now + Duration::seconds(5)).await.unwrap();
        assert_eq!((done.status, done.body.as_str(), done.request_hash.as_str()), (201, "{\"order_id\":1}", "h1"));
        assert_eq!(claim(&t.db, Uuid::now_v7(), "k-1", now).await, None, "another account's same key is its own");
        assert_eq!(claim(&t.db, account, "k-1", now + Duration::hours(25)).await, None, "a day later the key is new again");
    }
}

test_on_both! {
    async fn a_key_left_pending_by_a_stopped_server_is_taken_over_and_a_released_one_is_free(t: TestDb) {
        let (account, now) = (Uuid::now_v7(), Utc::now());
        assert_eq!(claim(&t.db, account, "k-2", now).await, None);
        assert!(claim(&t.db, account, "k-2", now + Duration::minutes(1)).await.is_some(), "a minute later it is still running");
        assert_eq!(claim(&t.db, account, "k-2", now + Duration::minutes(3)).await, None, "three minutes later it was abandoned");
        assert_eq!(claim(&t.db, account, "k-3", now).await, None);
        let mut c = t.db.acquire().await.unwrap();
        idempotency::release(&mut c.conn(), account, "k-3").await.unwrap();
        drop(c);
        assert_eq!(claim(&t.db, account, "k-3", now).await, None, "a released key is free");
        let mut c = t.db.acquire().await.unwrap();
        assert_eq!(idempotency::purge(&mut c.conn(), now + Duration::hours(25)).await.unwrap(), 2);
    }
}
