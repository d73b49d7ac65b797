//! Errors in the two shapes Microsoft uses: Graph's `{"error": {"code", "message",
//! "innerError"}}` for `/v1.0`, and the identity platform's OAuth 2.0 error
//! (`error`, `error_description` starting with an `AADSTS` code, `error_codes`, …) for
//! the token endpoint.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::view::iso_time;

/// A random request id, as Graph and the identity platform put in every answer.
pub fn request_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    // Without randomness the id is only less unique; nothing depends on it.
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    super::tenant::format_uuid(&b)
}

/// An error of Microsoft Graph.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u32>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
    }

    pub fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let id = request_id();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let date = iso_time(now);
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": date.as_str().map(|d| d.trim_end_matches('Z')),
                    "request-id": id,
                    "client-request-id": id,
                }
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Ok(v) = HeaderValue::from_str(&id) {
            response.headers_mut().insert("request-id", v);
        }
        response
    }
}

/// An error of the identity platform's token endpoint.
#[derive(Debug, Clone)]
pub struct AadError {
    pub status: StatusCode,
    /// The OAuth 2.0 error: `invalid_client`, `unauthorized_client`, `invalid_request`…
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    pub description: String,
}

impl AadError {
    pub fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        AadError {
            status,
            error,
            code,
            description: description.into(),
        }
    }
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let trace = request_id();
        let correlation = request_id();
        let now = time::OffsetDateTime::now_utc();
        let stamp = now
            .format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]Z"
            ))
            .unwrap_or_default();
        let description = format!(
            "AADSTS{}: {} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {stamp}",
            self.code, self.description
        );
        let body = json!({
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        (self.status, axum::Json(body)).into_response()
    }
}
