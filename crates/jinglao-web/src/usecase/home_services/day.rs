//! A caregiver's day (护理员当日工单): the visits booked for them on a day in time order, with
//! what the phone page shows — the person's name and address (never an ID or phone number),
//! a map link, the item's name, the visit's state in words and why a visit went to review.

use chrono::NaiveDate;
use jinglao_db::orders::{self, Assigned};
use jinglao_db::visits::Caregiver;
use jinglao_db::{providers, service_lists};
use jinglao_domain::Scope;
use jinglao_domain::clock::format_local_hm;

use crate::error::AppError;
use crate::state::AppState;

/// One visit of the day.
#[derive(Debug, Clone)]
pub struct DayVisit {
    /// The order and its visit, as stored.
    pub order: Assigned,
    /// `09:00–10:00` (Beijing time).
    pub window: String,
    /// A map link for the address, if the person's position is registered.
    pub map: Option<String>,
    /// Why the visit went to review, in words.
    pub reasons: Vec<String>,
    /// The item's name in the service list in force where the provider is registered.
    pub item_name: String,
}

impl DayVisit {
    /// The state in words.
    pub fn state(&self) -> &'static str {
        match (
            self.order.status.as_str(),
            self.order.visit_status.as_deref(),
        ) {
            ("no_show", _) => "未服务",
            (_, None) => "未开始",
            (_, Some("in_progress")) => "服务中",
            (_, Some("verified")) => "已完成，核验通过",
            (_, Some("exception")) => "已完成，待人工核查",
            (_, Some("accepted")) => "核查通过",
            (_, Some("rejected")) => "核查未通过",
            _ => "—",
        }
    }
}

/// The caregiver who works behind the signed-in account, or 403.
pub async fn caregiver(state: &AppState, account_id: uuid::Uuid) -> Result<Caregiver, AppError> {
    let mut c = state.db.acquire().await?;
    jinglao_db::visits::caregiver_of(&mut c.conn(), account_id)
        .await?
        .ok_or_else(|| AppError::Forbidden("这个账号不是护理员，或尚未关联护理员档案".into()))
}

/// `me`'s visits on `day`, in time order (cancelled ones left out).
pub async fn caregiver_day(
    state: &AppState,
    me: Caregiver,
    day: NaiveDate,
) -> Result<Vec<DayVisit>, AppError> {
    let mut c = state.db.acquire().await?;
    let names: Vec<(String, String)> =
        match providers::get(&mut c.conn(), &Scope::All, me.provider_id).await? {
            Some(p) => service_lists::applicable(&mut c.conn(), &p.region_code)
                .await?
                .map(|l| l.items.into_iter().map(|i| (i.code, i.name)).collect())
                .unwrap_or_default(),
            None => Vec::new(),
        };
    Ok(orders::assigned_on(&mut c.conn(), me.staff_id, day)
        .await?
        .into_iter()
        .map(|a| DayVisit {
            window: format!(
                "{}–{}",
                format_local_hm(a.window_start),
                format_local_hm(a.window_end)
            ),
            map: a.latitude.zip(a.longitude).map(|(lat, lon)| {
                format!("https://uri.amap.com/marker?position={lon},{lat}&name=服务地址")
            }),
            reasons: a
                .findings
                .as_deref()
                .and_then(|f| serde_json::from_str::<Vec<serde_json::Value>>(f).ok())
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f["detail"].as_str().map(str::to_string))
                .collect(),
            item_name: names
                .iter()
                .find(|(code, _)| *code == a.item_code)
                .map_or_else(|| a.item_code.clone(), |(_, n)| n.clone()),
            order: a,
        })
        .collect())
}
