//! Cursor paging of API lists: a list answers at most `limit` items and, when there are more,
//! an opaque `next_cursor` to send back as `cursor` for the next page. The cursor is the last
//! item's position in list order (not an offset), so a page never repeats or skips an item
//! when rows are added meanwhile. It is base64url JSON: opaque to clients, never trusted —
//! a cursor that does not decode is a 400 naming `cursor`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Items per page when the client does not say.
pub const DEFAULT_LIMIT: i64 = 100;

/// Most items per page.
pub const MAX_LIMIT: i64 = 500;

/// The page size asked for, within 1..=[`MAX_LIMIT`].
pub fn limit(asked: Option<i64>) -> Result<i64, AppError> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(AppError::BadRequest {
            message: format!("limit 应为 1 至 {MAX_LIMIT}"),
            field: Some("limit".into()),
        }),
    }
}

/// A region filter parameter (`region`, `under`): absent or blank is no filter; anything but
/// a division code is a 400 naming `field`.
pub fn region(
    value: Option<&str>,
    field: &str,
) -> Result<Option<jinglao_domain::RegionCode>, AppError> {
    match value.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => {
            jinglao_domain::RegionCode::parse(r)
                .map(Some)
                .map_err(|_| AppError::BadRequest {
                    message: format!("{field} 应为行政区划代码，例如 430302"),
                    field: Some(field.into()),
                })
        }
    }
}

/// Encodes a position.
pub fn encode<T: Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// Decodes the `cursor` parameter, if given.
pub fn decode<T: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<T>, AppError> {
    let Some(text) = cursor.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let bad = || AppError::BadRequest {
        message: "cursor 无效：请使用上一页返回的 next_cursor".into(),
        field: Some("cursor".into()),
    };
    if text.len() > 1024 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map(Some).map_err(|_| bad())
}

/// Splits one row too many off a fetched page: the items to answer and the cursor of the next
/// page (the last answered item's position), if there is one.
pub fn page<T, P: Serialize>(
    mut rows: Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> P,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| encode(&position(r)))
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_decodes_to_the_position_it_was_made_from() {
        let c = encode(&("2026-10".to_string(), 7));
        assert_eq!(
            decode::<(String, i32)>(Some(&c)).unwrap(),
            Some(("2026-10".to_string(), 7))
        );
        assert!(decode::<(String, i32)>(None).unwrap().is_none());
    }

    #[test]
    fn a_forged_cursor_is_refused_naming_the_parameter() {
        let e = decode::<(String, i32)>(Some("not-base64!")).unwrap_err();
        assert!(matches!(e, AppError::BadRequest { field: Some(f), .. } if f == "cursor"));
        let wrong_shape = encode(&"text");
        assert!(decode::<(String, i32)>(Some(&wrong_shape)).is_err());
    }

    #[test]
    fn a_page_with_more_rows_behind_it_carries_the_last_items_position() {
        let (items, next) = page(vec![1, 2, 3], 2, |n| *n);
        assert_eq!(items, vec![1, 2]);
        assert_eq!(decode::<i32>(next.as_deref()).unwrap(), Some(2));
        let (items, next) = page(vec![1, 2], 2, |n| *n);
        assert_eq!(items, vec![1, 2]);
        assert!(next.is_none());
    }

    #[test]
    fn a_page_size_outside_the_range_is_named() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(MAX_LIMIT + 1)).is_err());
    }
}
