//! Saved filters on the lists clerks use every day (registry, applications, visits, facilities):
//! 「把当前筛选存为」 keeps the list's address query under a name; the names are links above the
//! list. A query holding an ID or phone number is never saved (it would sit unencrypted in the
//! database and in the address).

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::saved_filters::{self, SavedFilter};
use serde::Deserialize;

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError};
use crate::pages::IdPath;
use crate::state::AppState;

/// The lists with saved filters: (key, address).
pub const LISTS: [(&str, &str); 4] = [
    ("elders", "/elders"),
    ("applications", "/applications"),
    ("patrols", "/patrols"),
    ("facilities", "/facilities"),
];

/// What a list shows of its saved filters.
#[derive(Debug, Clone)]
pub struct SavedView {
    /// The list's key.
    pub list: &'static str,
    /// Its address.
    pub path: &'static str,
    /// The current filter's query (what 「保存」 keeps).
    pub query: String,
    /// The account's filters of this list.
    pub saved: Vec<SavedFilter>,
}

/// The saved filters of `list` for `user`, with `query` as the filter on screen.
pub async fn view(
    state: &AppState,
    user: &CurrentUser,
    list: &'static str,
    query: String,
) -> Result<SavedView, PageError> {
    let path = LISTS
        .iter()
        .find(|(k, _)| *k == list)
        .map(|(_, p)| *p)
        .ok_or(AppError::NotFound)?;
    let mut c = state.db.acquire().await?;
    let saved = saved_filters::of(&mut c.conn(), user.account.id, list).await?;
    Ok(SavedView {
        list,
        path,
        query,
        saved,
    })
}

/// Whether a query names a person by ID or phone number (never saved).
fn names_a_person(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes())
        .any(|(k, v)| k == "q" && jinglao_db::elder_search::classify(&v).is_identifier())
}

/// The save form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SaveForm {
    list: String,
    filter_name: String,
    query: String,
}

/// `POST /saved-filters`: saves the list's current filter under a name.
pub async fn save(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Form(form): Form<SaveForm>,
) -> Result<Response, PageError> {
    let (list, path) = LISTS
        .iter()
        .find(|(k, _)| *k == form.list)
        .copied()
        .ok_or(AppError::NotFound)?;
    let query = form.query.trim().trim_start_matches('?').to_string();
    if names_a_person(&query) {
        return Err(AppError::BadRequest {
            message: "按身份证号或电话查找的条件不能保存".into(),
            field: Some("query".into()),
        }
        .into());
    }
    let mut c = state.db.acquire().await?;
    let back = |notice: &str| {
        let sep = if query.is_empty() { "?" } else { "&" };
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        format!("{path}{q}{sep}notice={notice}")
    };
    match saved_filters::save(
        &mut c.conn(),
        user.account.id,
        list,
        &form.filter_name,
        &query,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&back("filter_saved")).into_response()),
        Err(jinglao_db::DbError::Invalid(inv)) => Err(AppError::BadRequest {
            message: inv
                .errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
            field: Some("filter_name".into()),
        }
        .into()),
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /saved-filters/{id}/delete`: deletes one of the user's filters.
pub async fn delete(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    IdPath(id): IdPath,
    Form(form): Form<SaveForm>,
) -> Result<Response, PageError> {
    let path = LISTS
        .iter()
        .find(|(k, _)| *k == form.list)
        .map(|(_, p)| *p)
        .unwrap_or("/home");
    let mut c = state.db.acquire().await?;
    saved_filters::delete(&mut c.conn(), user.account.id, id).await?;
    Ok(Redirect::to(&format!("{path}?notice=filter_deleted")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_naming_a_person_by_id_or_phone_is_recognised_and_a_name_is_not() {
        let id = jinglao_domain::ResidentId::from_first17("43030219400310009");
        assert!(names_a_person(&format!("q={}&region=430302", id.as_str())));
        assert!(names_a_person("q=13807315678"));
        assert!(!names_a_person("q=%E7%8E%8B&region=430302"));
        assert!(!names_a_person("status=submitted"));
    }
}
