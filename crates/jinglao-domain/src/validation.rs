//! Field-level validation errors shared by every surface (HTML forms and the JSON API).

use serde::Serialize;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as submitted (`username`, `region_code`…).
    pub field: String,
    /// What is wrong and how to put it right, in Chinese.
    pub message: String,
}

/// A set of field errors; empty means the input is valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Invalid {
    /// The errors, in the order of the fields on the form.
    pub errors: Vec<FieldError>,
}

/// The most field errors one answer carries (a form has fewer fields than this).
pub const MAX_ERRORS: usize = 100;

impl Invalid {
    /// No errors yet.
    pub fn new() -> Self {
        Invalid::default()
    }

    /// The same errors, each message starting with `prefix` (a batch naming whose item it
    /// was: "王秀英的助餐申请：…").
    pub fn prefixed(self, prefix: &str) -> Self {
        Invalid {
            errors: self
                .errors
                .into_iter()
                .map(|e| FieldError {
                    message: format!("{prefix}{}", e.message),
                    ..e
                })
                .collect(),
        }
    }

    /// A single error.
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        let mut i = Invalid::new();
        i.add(field, message);
        i
    }

    /// Records an error for `field`. At most [`MAX_ERRORS`] are kept: a request built to fail
    /// on every one of thousands of entries gets a bounded answer.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.errors.len() >= MAX_ERRORS {
            return;
        }
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The first message for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// Renames a field (storage and forms may name the same input differently).
    pub fn rename(&mut self, from: &str, to: &str) {
        for e in self.errors.iter_mut().filter(|e| e.field == from) {
            e.field = to.to_string();
        }
    }

    /// `Ok(value)` when empty, otherwise `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Invalid> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<_> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Invalid {}
