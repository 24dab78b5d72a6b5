//! The group commit of check-ins and check-outs: many caregivers' requests in one transaction,
//! each answered with its own result.

use chrono::Duration;
use jinglao_db::audit;
use jinglao_db::testing::TestDb;
use jinglao_db::visit_queue::{VisitQueue, Who};
use jinglao_db::visits::{CheckIn, CheckOut};
use jinglao_db::{DbError, orders, test_on_both};
use jinglao_domain::order::Funding;
use uuid::Uuid;

use crate::home_services::{CHAIN, at_home, book, carer_actor, count, world};

test_on_both! {
    async fn requests_of_several_caregivers_handed_in_together_each_get_their_own_answer_and_land_once(t: TestDb) {
        let w = world(t.db.clone(), 10).await;
        let queue = VisitQueue::start(w.db.clone(), CHAIN.clone());
        let (mine, my_code) = book(&w, Funding::SelfPay, 0).await.unwrap();
        let (theirs, their_code) = book(&w, Funding::SelfPay, 1).await.unwrap();
        orders::assign(&w.db, &CHAIN, &w.admin, theirs, w.other.staff_id, chrono::Utc::now()).await.unwrap();
        let (not_theirs, _) = book(&w, Funding::SelfPay, 2).await.unwrap();
        let me = carer_actor(&w);
        let start = w.base;
        let (v1, v2, v3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let check_in = |visit_id, order_id, who| {
            let (queue, me) = (queue.clone(), me.clone());
            async move {
                queue.check_in(&me, Who::Caregiver(who), &CheckIn { visit_id, order_id, stamp: at_home(start) }, start).await
            }
        };
        // All at once: the first check-in and its retry, the other caregiver's check-in, the
        // other caregiver trying an order that is not theirs, and a check-out of nothing.
        let nothing = CheckOut { visit_id: Uuid::now_v7(), stamp: at_home(start), ..Default::default() };
        let (first, retry, other, refused, early) = tokio::join!(
            check_in(v1, mine, w.carer),
            check_in(v1, mine, w.carer),
            check_in(v2, theirs, w.other),
            check_in(v3, not_theirs, w.other),
            queue.check_out(&me, Who::Caregiver(w.carer), &nothing, start),
        );
        assert_eq!(first.unwrap(), v1);
        assert_eq!(retry.unwrap(), v1, "the retry answers with the same visit");
        assert_eq!(other.unwrap(), v2);
        assert!(matches!(refused, Err(DbError::Forbidden(_))), "{refused:?}");
        assert!(matches!(early, Err(DbError::Invalid(ref i)) if i.get("visit_id").is_some()), "{early:?}");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM visits").await, 2);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'visit.check_in'").await, 2);

        // Both check out together, under the stored policy; one forgot the code.
        let end = start + Duration::minutes(60);
        let check_out = |visit_id, who, code: &str| {
            let (queue, me) = (queue.clone(), me.clone());
            let co = CheckOut { visit_id, stamp: at_home(end), code: Some(code.to_string()), ..Default::default() };
            async move { queue.check_out(&me, Who::Caregiver(who), &co, end).await }
        };
        let (a, b) = tokio::join!(check_out(v1, w.carer, &my_code), check_out(v2, w.other, ""));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.status, "verified", "{:?}", a.findings);
        assert_eq!(b.status, "exception");
        let _ = their_code;
        let again = check_out(v1, w.carer, &my_code).await.unwrap();
        assert_eq!(again, a, "a repeated check-out answers with the stored outcome");
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM service_orders WHERE status = 'done'").await, 2);
        assert_eq!(count(&w.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'visit.check_out'").await, 2);
        assert_eq!(audit::verify(&w.db, &CHAIN, 1000).await.unwrap().broken, None, "the chain holds");
    }
}
