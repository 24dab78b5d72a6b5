//! The forms of a facility's page: adding beds, changing a bed's status, admitting and
//! discharging a resident, and putting someone on the waiting list. Each handler calls one
//! storage function (one transaction) and answers through [`after_action`].

use axum::Form;
use axum::extract::{Multipart, State};
use axum::response::Response;
use jinglao_db::DbError;
use jinglao_db::beds::{self, Admission, Discharge, NewBeds};
use jinglao_domain::Invalid;
use jinglao_domain::category::parse_date;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::error::PageError;
use crate::pages::IdPath;
use crate::pages::PageCtx;
use crate::pages::facilities::{FacilityForms, after_action};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::supply::beds as usecase;

/// A uuid chosen from a list, or a field error saying to choose.
fn chosen(text: &str, field: &str, message: &str) -> Result<Uuid, DbError> {
    Uuid::parse_str(text.trim()).map_err(|_| DbError::Invalid(Invalid::one(field, message)))
}

/// `POST /facilities/{id}/beds`
pub async fn add_beds(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<FacilityForms>,
) -> Result<Response, PageError> {
    let result = match form.count.trim().parse::<i64>() {
        Ok(count) => {
            let b = NewBeds {
                building: &form.building,
                floor: &form.floor,
                room: &form.room,
                count,
                nursing: form.nursing == "yes",
            };
            let acting = Acting::new(&state, user.clone(), &meta);
            usecase::add(&state, &acting, id, &b).await
        }
        Err(_) => Err(DbError::Invalid(Invalid::one(
            "count",
            "一次可添加 1 到 50 张床位，请填写整数",
        ))),
    };
    after_action(&state, ctx, &user, id, form, result, ("beds_added", "beds")).await
}

/// `POST /facilities/{id}/bed-status`
pub async fn set_bed_status(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<FacilityForms>,
) -> Result<Response, PageError> {
    let result = match chosen(&form.status_bed_id, "status_bed_id", "请选择床位") {
        Ok(bed) => {
            let acting = Acting::new(&state, user.clone(), &meta);
            usecase::set_status(&state, &acting, id, bed, &form.status).await
        }
        Err(e) => Err(e),
    };
    after_action(&state, ctx, &user, id, form, result, ("bed_status", "beds")).await
}

/// `POST /facilities/{id}/admissions`
pub async fn admit(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<FacilityForms>,
) -> Result<Response, PageError> {
    let result = match chosen(&form.bed_id, "bed_id", "请选择一张空床") {
        Ok(bed_id) => {
            let a = Admission {
                bed_id,
                id_number: &form.id_number,
                admitted_on: parse_date(&form.admitted_on),
                out_of_turn_reason: &form.out_of_turn_reason,
            };
            let acting = Acting::new(&state, user.clone(), &meta);
            usecase::admit(&state, &acting, id, &a).await
        }
        Err(e) => Err(e),
    };
    after_action(
        &state,
        ctx,
        &user,
        id,
        form,
        result,
        ("admitted", "residents"),
    )
    .await
}

/// `POST /facilities/{id}/discharges`
pub async fn discharge(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<FacilityForms>,
) -> Result<Response, PageError> {
    let result = match chosen(&form.stay_id, "stay_id", "请选择要退住的老人") {
        Ok(stay_id) => {
            let d = Discharge {
                stay_id,
                on: parse_date(&form.discharged_on),
                reason: &form.discharge_reason,
            };
            let acting = Acting::new(&state, user.clone(), &meta);
            usecase::discharge(&state, &acting, id, &d).await
        }
        Err(e) => Err(e),
    };
    after_action(
        &state,
        ctx,
        &user,
        id,
        form,
        result,
        ("discharged", "residents"),
    )
    .await
}

/// `POST /facilities/{id}/waiting-list`
pub async fn join_waiting_list(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<FacilityForms>,
) -> Result<Response, PageError> {
    let result = beds::join_waiting_list(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        &state.keys.cipher,
        id,
        &form.id_number,
        parse_date(&form.applied_on),
        &form.note,
    )
    .await;
    after_action(
        &state,
        ctx,
        &user,
        id,
        form,
        result,
        ("waiting_joined", "waiting"),
    )
    .await
}

/// `POST /facilities/{id}/photos` (multipart: `caption`, `photo`).
pub async fn add_photo(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ManageFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let mut form = crate::pages::upload::read(
        &mut multipart,
        "photo",
        "照片",
        jinglao_domain::evidence::MAX_EVIDENCE_BYTES / 1024 / 1024,
    )
    .await?;
    let caption = form.text("caption").to_string();
    let bytes = form.take_file().map(|(_, b)| b).unwrap_or_default();
    let result = if bytes.is_empty() {
        Err(DbError::Invalid(Invalid::one(
            "photo",
            "请选择要上传的照片",
        )))
    } else {
        jinglao_db::facility_photos::add(
            &jinglao_db::WriteCtx::new(
                &state.db,
                &state.keys.audit_chain,
                &user.actor(&meta),
                state.clock.now(),
            ),
            &state.settings.files_dir,
            id,
            &caption,
            &bytes,
        )
        .await
    };
    let form = FacilityForms::default();
    after_action(
        &state,
        ctx,
        &user,
        id,
        form,
        result,
        ("photo_added", "photos"),
    )
    .await
}
