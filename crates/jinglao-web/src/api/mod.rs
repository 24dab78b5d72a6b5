//! The JSON API. Version 1 lives under `/api/v1`; its OpenAPI document is generated from the
//! handlers (utoipa) and served at `/api/v1/openapi.json`.

pub mod v1;
