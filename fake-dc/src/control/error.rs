//! The control API's errors: each becomes a 4xx (or 500) with a JSON [`ErrorBody`] that
//! names the field at fault.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::model::ErrorBody;

/// Why a control request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer <token>` header, or the wrong token.
    #[error("missing or wrong bearer token: send 'Authorization: Bearer <token>' with the token of the ready line")]
    Unauthorized,
    /// The request is malformed: JSON that does not parse or does not fit, a bad value.
    #[error("{message}")]
    BadRequest {
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A host or snapshot that does not exist.
    #[error("{message}")]
    NotFound {
        /// The path parameter at fault.
        field: String,
        /// What is missing.
        message: String,
    },
    /// A well-formed request the directory refused (no such parent, name taken, …):
    /// nothing was applied.
    #[error("{message}")]
    Unprocessable {
        /// The field at fault.
        field: String,
        /// Why.
        message: String,
    },
    /// The server failed (a worker task died); the state is unchanged.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A malformed request.
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A missing host or snapshot.
    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            field: field.into(),
            message: message.into(),
        }
    }

    fn status_and_field(&self) -> (StatusCode, &str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "Authorization"),
            ApiError::BadRequest { field, .. } => (StatusCode::BAD_REQUEST, field),
            ApiError::NotFound { field, .. } => (StatusCode::NOT_FOUND, field),
            ApiError::Unprocessable { field, .. } => (StatusCode::UNPROCESSABLE_ENTITY, field),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ""),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, field) = self.status_and_field();
        let body = ErrorBody {
            error: self.to_string(),
            field: field.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
