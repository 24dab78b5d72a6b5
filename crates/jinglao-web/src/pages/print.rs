//! Documents printed on A4 and handed out or pinned up (issue 17): the application receipt
//! (受理回执) with its readable number, the decision letter (审核结果告知书), the notice sheet
//! for a notice board (公示) and the monthly statement (对账单). Each has a seal box (盖章处)
//! naming who issues it; a document that is not final — a decision still in its notice period,
//! a statement not yet approved — prints with a 「未生效」 watermark on every page.
//!
//! The pages read through the same scoped storage calls as the screens they come from; printing
//! a person's application is audited (`application.print`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use jinglao_db::applications::{self, Application, NoticeLine};
use jinglao_db::audit::{self, Event};
use jinglao_domain::application::{ApplicationStatus, receipt_number};
use jinglao_domain::clock::{china_date, format_local};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::{Region, RegionCode, RegionLevel};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::PageUser;
use crate::auth::can::{PageCan, need};
use crate::error::{AppError, PageError, render};
use crate::pages::IdPath;
use crate::request::RequestMeta;
use crate::state::AppState;

/// Who issues a document for `region`: a village or community committee by its own name, a
/// township's government or a street's office, a county's or city's civil-affairs bureau.
pub fn issuer_of(region: &Region) -> String {
    match region.level {
        RegionLevel::Village => region.name.clone(),
        RegionLevel::Township if region.name.ends_with("街道") => {
            format!("{}办事处", region.name)
        }
        RegionLevel::Township => format!("{}人民政府", region.name),
        _ => format!("{}民政局", region.name),
    }
}

/// The issuer for `code`, or the code itself if the tree does not know it.
fn issuer_for(state: &AppState, code: &RegionCode) -> String {
    state
        .regions
        .tree()
        .get_unscoped(code)
        .map(issuer_of)
        .unwrap_or_else(|| code.to_string())
}

/// Today as printed on a document.
fn today_text(state: &AppState) -> String {
    state.today().format("%Y年%m月%d日").to_string()
}

/// The receipt.
#[derive(Template)]
#[template(path = "print/receipt.html")]
pub struct ReceiptPrint {
    draft: bool,
    a: Application,
    receipt: String,
    place: String,
    submitted: String,
    status_url: String,
    hotline: String,
    issuer: String,
    today: String,
}

/// The decision letter.
#[derive(Template)]
#[template(path = "print/decision.html")]
pub struct DecisionPrint {
    draft: bool,
    a: Application,
    receipt: String,
    place: String,
    sentence: String,
    issuer: String,
    today: String,
}

/// The receipt number of an application.
pub fn receipt_of(a: &Application) -> String {
    receipt_number(a.id, china_date(a.submitted_at))
}

/// One application in the user's scope, its printing audited.
async fn printed(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    meta: &RequestMeta,
    id: Uuid,
    document: &str,
) -> Result<Application, PageError> {
    let mut c = state.db.acquire().await?;
    let a = applications::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(c);
    audit::record(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(meta),
        Event::new("application.print", "application", id)
            .region(Some(a.region))
            .detail(json!({ "document": document })),
        state.clock.now(),
    )
    .await?;
    Ok(a)
}

/// `GET /applications/{id}/print/receipt`: the receipt for the person who applied.
pub async fn receipt(
    State(state): State<AppState>,
    PageCan(user, _): PageCan<need::ViewElders>,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let a = printed(&state, &user, &meta, id, "受理回执").await?;
    let book = jinglao_db::policy::book(&state.db).await?;
    render(&ReceiptPrint {
        draft: false,
        receipt: receipt_of(&a),
        place: state.region_path(&a.region),
        submitted: format_local(a.submitted_at),
        status_url: "/apply/status".into(),
        hotline: book.text(PolicyKey::ContactHotline, &a.region),
        issuer: issuer_for(&state, &a.region),
        today: today_text(&state),
        a,
    })
}

/// The decision in one sentence, as the letter states it.
fn decision_sentence(a: &Application) -> String {
    match a.status {
        ApplicationStatus::Effective => format!(
            "您为{}申请的“{}”，经审核同意，公示期满无异议，已经生效。",
            a.elder_name, a.item_name
        ),
        ApplicationStatus::InNotice => format!(
            "您为{}申请的“{}”，经乡镇（街道）审定同意，正在公示；公示期满无异议后生效。",
            a.elder_name, a.item_name
        ),
        ApplicationStatus::Rejected => format!(
            "您为{}申请的“{}”，经审核不予批准，理由见下。",
            a.elder_name, a.item_name
        ),
        ApplicationStatus::Appealed => format!(
            "您为{}申请的“{}”，已申请复核，复核结果另行告知。",
            a.elder_name, a.item_name
        ),
        _ => format!(
            "您为{}申请的“{}”尚在办理中（{}），尚未作出决定。",
            a.elder_name,
            a.item_name,
            a.status.label()
        ),
    }
}

/// `GET /applications/{id}/print/decision`: the decision letter; 「未生效」 until it is final
/// (approved and past its notice period, or refused).
pub async fn decision(
    State(state): State<AppState>,
    PageCan(user, _): PageCan<need::ViewElders>,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let a = printed(&state, &user, &meta, id, "审核结果告知书").await?;
    let township = a.region.parent().unwrap_or(a.region);
    render(&DecisionPrint {
        draft: !matches!(
            a.status,
            ApplicationStatus::Effective | ApplicationStatus::Rejected
        ),
        receipt: receipt_of(&a),
        place: state.region_path(&a.region),
        sentence: decision_sentence(&a),
        issuer: issuer_for(&state, &township),
        today: today_text(&state),
        a,
    })
}

/// The notice sheet.
#[derive(Template)]
#[template(path = "print/notices.html")]
pub struct NoticeSheet {
    draft: bool,
    region_name: String,
    hotline: String,
    lines: Vec<(NoticeLine, String)>,
    issuer: String,
    today: String,
}

/// `?region=` of the notice sheet.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SheetQuery {
    region: String,
}

/// `GET /notices/print?region=`: the public notice of one area as a sheet for its notice
/// board (surnames only, as on the public page; no sign-in). An area outside the public region
/// prints the public region's.
pub async fn notice_sheet(
    State(state): State<AppState>,
    Query(q): Query<SheetQuery>,
) -> Result<Response, PageError> {
    let public = state.public_region();
    let region = RegionCode::parse(q.region.trim())
        .ok()
        .filter(|r| public.contains(r))
        .unwrap_or(public);
    let mut c = state.db.acquire().await?;
    let lines = applications::notices(&mut c.conn(), &region)
        .await?
        .into_iter()
        .map(|l| {
            let place = state.region_path(&l.region);
            (l, place)
        })
        .collect();
    drop(c);
    let book = jinglao_db::policy::book(&state.db).await?;
    render(&NoticeSheet {
        draft: false,
        region_name: state.region_name(&region),
        hotline: book.text(PolicyKey::ContactHotline, &region),
        lines,
        issuer: issuer_for(&state, &region),
        today: today_text(&state),
    })
}

/// The statement.
#[derive(Template)]
#[template(path = "print/statement.html")]
pub struct StatementPrint {
    draft: bool,
    v: crate::usecase::home_services::statements::StatementView,
    funding: &'static str,
    status: &'static str,
    total: String,
    /// Each line with its item's name, its amount in yuan and its verification in words.
    lines: Vec<(
        jinglao_db::statements::LineDetail,
        String,
        String,
        &'static str,
    )>,
    issuer: String,
    today: String,
}

/// `GET /statements/{id}/print`: the statement for signing and sealing; 「未生效」 until it is
/// approved.
pub async fn statement(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    use crate::usecase::home_services::statements as uc;
    let id = Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    let mut v = uc::show(&state, &user, id).await?;
    let names =
        jinglao_db::service_lists::item_names(&mut state.db.acquire().await?.conn()).await?;
    let lines = std::mem::take(&mut v.lines)
        .into_iter()
        .map(|l| {
            let item = names.name(&l.line.item_code).to_string();
            let amount = jinglao_domain::settlement::yuan(l.line.amount_fen);
            let check = uc::verification_label(&l.visit_status);
            (l, item, amount, check)
        })
        .collect();
    let status = v.statement.status.clone();
    render(&StatementPrint {
        draft: !matches!(status.as_str(), "approved" | "paid"),
        funding: uc::funding_label(&v.statement.funding),
        status: jinglao_db::statements::status_label(&status),
        total: jinglao_domain::settlement::yuan(v.statement.total_fen),
        lines,
        issuer: issuer_for(&state, &user.account.region_code),
        today: today_text(&state),
        v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str, level: RegionLevel) -> Region {
        Region {
            code: RegionCode::parse("430302001").unwrap(),
            name: name.into(),
            level,
            parent_code: None,
            area_type: None,
            area_type_manual: false,
            source: "test".into(),
        }
    }

    #[test]
    fn a_street_issues_through_its_office_a_town_through_its_government_a_county_through_its_bureau()
     {
        assert_eq!(
            issuer_of(&region("雨湖路街道", RegionLevel::Township)),
            "雨湖路街道办事处"
        );
        assert_eq!(
            issuer_of(&region("姜畲镇", RegionLevel::Township)),
            "姜畲镇人民政府"
        );
        assert_eq!(
            issuer_of(&region("雨湖区", RegionLevel::County)),
            "雨湖区民政局"
        );
        assert_eq!(
            issuer_of(&region("雨湖路社区居委会", RegionLevel::Village)),
            "雨湖路社区居委会"
        );
    }
}
