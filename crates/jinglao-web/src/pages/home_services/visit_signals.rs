//! Fraud signals (服务疑点) for inspectors: for a month, the same position reported at several
//! homes, one person served by more than one caregiver at once, visits after a registered
//! death, and one caregiver typing the same confirmation code at several homes. Each signal
//! lists its visits with who, whom and when; signals are leads for an inspection, not findings.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Months;
use jinglao_db::visit_signals::{self, VisitLine};
use jinglao_domain::clock::china_date;
use jinglao_domain::visit_fraud::{Party, Signal};
use serde::Deserialize;

use crate::auth::PageUser;
use crate::error::{AppError, PageError, render};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignalsQuery {
    month: String,
}

/// One signal in words.
pub struct SignalView {
    kind: &'static str,
    what: String,
    visits: Vec<VisitLine>,
}

/// `GET /visits/signals`.
#[derive(Template)]
#[template(path = "visits/signals.html")]
pub struct SignalsPage {
    ctx: PageCtx,
    errors: FormErrors,
    month: String,
    signals: Vec<SignalView>,
    can_revoke: bool,
}

/// `GET /visits/signals`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Query(q): Query<SignalsQuery>,
) -> Result<Response, PageError> {
    let page = signals_page(&state, ctx, &user, &meta, &q.month, FormErrors::new()).await?;
    render(&page)
}

async fn signals_page(
    state: &AppState,
    ctx: PageCtx,
    user: &crate::auth::CurrentUser,
    meta: &RequestMeta,
    month: &str,
    form_errors: FormErrors,
) -> Result<SignalsPage, PageError> {
    let month = match month.trim() {
        "" => {
            // The month before this one: a month is looked at once it is over.
            let today = china_date(state.clock.now());
            let prev = today.checked_sub_months(Months::new(1)).unwrap_or(today);
            prev.format("%Y-%m").to_string()
        }
        m => m.to_string(),
    };
    let actor = user.actor(meta);
    let mut c = state.db.acquire().await?;
    let found = match visit_signals::month(&mut c.conn(), &actor, &month).await {
        Ok(s) => Ok(s),
        Err(jinglao_db::DbError::Forbidden(_)) => return Err(AppError::forbidden().into()),
        Err(jinglao_db::DbError::Invalid(e)) => Err(e),
        Err(e) => return Err(AppError::from(e).into()),
    };
    let (signals, errors) = match found {
        Ok(s) => (s, form_errors),
        Err(e) => (Vec::new(), e),
    };
    let mut views = Vec::new();
    for s in signals {
        let (kind, what, ids) = match s {
            Signal::SharedCoordinates {
                point,
                elders,
                visits,
            } => (
                "同一坐标多户",
                format!("坐标 {point} 出现在 {elders} 位不同老人的服务中"),
                visits,
            ),
            Signal::SimultaneousCaregivers {
                caregivers, visits, ..
            } => (
                "同时多人服务",
                format!("同一位老人同一时间有 {caregivers} 名护理员在服务"),
                visits,
            ),
            Signal::AfterDeath {
                died_on, visits, ..
            } => ("死亡后服务", format!("老人已于 {died_on} 登记死亡"), visits),
            Signal::ReusedCode { code, visits } => (
                "确认码重复",
                format!("同一护理员在不同老人家中输入了相同的确认码 {code}"),
                visits,
            ),
            Signal::SignatureOnlyShare {
                party,
                who,
                checked_out,
                signature_only,
                visits,
            } => {
                let name = visit_signals::party_name(&mut c.conn(), party, who).await?;
                let whom = match party {
                    Party::Caregiver => format!("护理员{name}"),
                    Party::Provider => format!("服务机构“{name}”"),
                };
                (
                    "只签名无确认码",
                    format!(
                        "{whom}本月签退 {checked_out} 次，其中 {signature_only} 次只有签名、没有老人确认码（{}%）",
                        signature_only * 100 / checked_out.max(1)
                    ),
                    visits,
                )
            }
        };
        let visits = visit_signals::lines(&mut c.conn(), &ids).await?;
        views.push(SignalView { kind, what, visits });
    }
    drop(c);
    Ok(SignalsPage {
        ctx: ctx.with_errors(&errors),
        errors,
        can_revoke: user.can(jinglao_domain::Permission::ReviewVisits),
        month,
        signals: views,
    })
}

/// The revoke form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeForm {
    reason: String,
    month: String,
}

/// `POST /visits/{id}/revoke`: a visit that passed is found not to have happened as recorded;
/// if it was paid, the provider's next statement takes it back.
pub async fn revoke(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Form(form): axum::Form<RevokeForm>,
) -> Result<Response, PageError> {
    user.require(jinglao_domain::Permission::ReviewVisits)?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let back = |notice: &str| {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("month", form.month.trim())
            .append_pair("notice", notice)
            .finish();
        axum::response::Redirect::to(&format!("/visits/signals?{q}"))
    };
    match jinglao_db::visits::revoke(
        db,
        key,
        &user.actor(&meta),
        id,
        &form.reason,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => Ok(axum::response::IntoResponse::into_response(back(
            "visit_revoked",
        ))),
        Err(jinglao_db::DbError::Invalid(e)) => {
            let page = signals_page(&state, ctx, &user, &meta, &form.month, e).await?;
            crate::error::render_with_status(&page, axum::http::StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}
