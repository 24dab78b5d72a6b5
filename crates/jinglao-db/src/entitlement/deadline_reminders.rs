//! Deadline reminders (issue 17, point 14): each night the staff who may take an application's
//! next step hear in their notification centre that its deadline is near (from
//! `soon_by`: today and the next days the work page marks red) and again once it has passed.
//! Who may take a step is the region's policy (`Step::roles_key`), and who covers the place is
//! the account's area (`notify::staff_covering`). Each reminder is keyed by the application,
//! its status, its deadline and "soon" or "overdue", so a check run many times, or on several
//! servers, writes it once per account; a new deadline (after a return and resubmission, or an
//! appeal) is reminded afresh.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::policy::PolicyBook;
use std::collections::HashMap;

use jinglao_domain::{RegionCode, Role, Scope};
use uuid::Uuid;

use crate::applications::{self, QueueFilter};
use crate::{Db, DbError};

/// Applications looked at per night at most (oldest deadline first): far more than any
/// region's open queue.
const MAX_PER_RUN: i64 = 20_000;

/// Writes the reminders due on `today` for every open application whose step falls due by
/// `soon_by`; returns how many notifications were written. One transaction.
pub async fn remind(
    db: &Db,
    book: &PolicyBook,
    today: NaiveDate,
    soon_by: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let filter = QueueFilter {
        due_by: Some(soon_by),
        ..QueueFilter::default()
    };
    let (due, _) =
        applications::queue_page(&mut conn, &Scope::All, &filter, (MAX_PER_RUN, 0)).await?;
    let mut written = 0;
    let mut covering: HashMap<(RegionCode, Vec<Role>), Vec<Uuid>> = HashMap::new();
    for a in due {
        let (Some(step), Some(deadline)) = (a.status.step(), a.step_deadline) else {
            continue;
        };
        // Staff of the area only: a region's policy naming a provider or evaluator role for a
        // step does not send people's applications to them.
        let roles: Vec<Role> = book
            .roles(step.roles_key(), &a.region)
            .into_iter()
            .filter(|r| r.is_civil_affairs_staff())
            .collect();
        // Many applications share a village and a step: each area's staff are read once.
        let key = (a.region, roles.clone());
        let staff = match covering.get(&key) {
            Some(s) => s.clone(),
            None => {
                let s = crate::notify::staff_covering(&mut conn, &a.region, &roles).await?;
                covering.insert(key, s.clone());
                s
            }
        };
        if staff.is_empty() {
            continue;
        }
        let overdue = deadline < today;
        let (kind, when) = if overdue {
            ("deadline_overdue", format!("已于 {deadline} 超过办理时限"))
        } else if deadline == today {
            ("deadline_soon", "今天到期".to_string())
        } else {
            ("deadline_soon", format!("将于 {deadline} 到期"))
        };
        let title = format!(
            "{}的{}申请（{}）{when}",
            a.elder_name,
            a.item_name,
            step.label()
        );
        let body = if overdue {
            "申请已逾期，请尽快办理；逾期件在工作台和申请列表中标红。".to_string()
        } else {
            format!("请在 {deadline} 前办理完{}。", step.label())
        };
        let link = format!("/applications/{}", a.id);
        let key = format!(
            "application:{}:{}:{deadline}:{}",
            a.id,
            a.status.as_str(),
            if overdue { "overdue" } else { "soon" }
        );
        written += crate::notify::add_once(
            &mut conn,
            &staff,
            crate::notify::New {
                kind,
                title: &title,
                body: &body,
                link: &link,
            },
            &key,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(written)
}
