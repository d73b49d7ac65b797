//! The identity platform's side: OpenID discovery, the OAuth 2.0 client-credentials
//! token endpoint (`POST /{tenant}/oauth2/v2.0/token`), and the bearer check in front
//! of every `/v1.0` route. Refusals carry the identity platform's AADSTS codes and
//! Graph's `InvalidAuthenticationToken`; which refusal wins when several apply follows
//! the order the identity platform checks in: tenant, grant, client, secret, scope.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error::{AadError, GraphError};
use super::state::{random_token, GraphState, IssuedToken};
use super::tenant::Tenant;

/// `https://host:port` as the client addressed the listener.
pub fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("https://{host}")
}

fn tenant_for(state: &GraphState, name: &str) -> Result<(Arc<Tenant>, i64), AadError> {
    match state.tenant() {
        Some((t, now)) if t.is_named(name) => Ok((t, now)),
        _ => Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!("Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
        )),
    }
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`: what MSAL reads to find the
/// token endpoint of an authority.
pub async fn openid_configuration(
    State(state): State<Arc<GraphState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (t, _) = match tenant_for(&state, &tenant) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let base = format!("{}/{}", origin(&headers), t.tenant_id);
    Json(json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("https://login.microsoftonline.com/{}/v2.0", t.tenant_id),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    }))
    .into_response()
}

fn missing(parameter: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{parameter}'."),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`, the client-credentials grant.
pub async fn token(
    State(state): State<Arc<GraphState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    match grant(&state, &tenant, &body) {
        Ok(json) => Json(json).into_response(),
        Err(e) => e.into_response(),
    }
}

fn grant(state: &GraphState, tenant: &str, body: &[u8]) -> Result<serde_json::Value, AadError> {
    let (t, now) = tenant_for(state, tenant)?;
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must be application/x-www-form-urlencoded: {e}."),
        )
    })?;
    let param = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let grant_type = param("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let client_id = param("client_id").ok_or_else(|| missing("client_id"))?;
    let app = t.application(client_id).ok_or_else(|| {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", t.initial_domain),
        )
    })?;
    let secret = param("client_secret").ok_or_else(|| {
        AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    })?;
    let matching: Vec<_> = app
        .secrets
        .iter()
        .filter(|s| !s.revoked && s.value == secret)
        .collect();
    if matching.is_empty() {
        return Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", app.app_id),
        ));
    }
    if matching.iter().all(|s| s.expires.is_some_and(|e| e <= now)) {
        return Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000222,
            format!("The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.app_id),
        ));
    }
    let scope = param("scope").ok_or_else(|| missing("scope"))?;
    if !scope.split(' ').any(|s| s.ends_with("/.default")) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
        ));
    }
    let access_token = random_token();
    state.issue(
        access_token.clone(),
        IssuedToken {
            app_id: app.app_id.clone(),
            expires: now + i64::try_from(t.token_lifetime).unwrap_or(i64::MAX / 2),
        },
    );
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": t.token_lifetime,
        "ext_expires_in": t.token_lifetime,
        "access_token": access_token,
    }))
}

/// The bearer check in front of `/v1.0`.
pub async fn authorize(State(state): State<Arc<GraphState>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().strip_prefix("Bearer").unwrap_or(v).trim())
        .unwrap_or("");
    if given.is_empty() {
        return GraphError::invalid_token("Access token is empty.").into_response();
    }
    let Some(issued) = state.token(given) else {
        return GraphError::invalid_token("Access token validation failure. Invalid audience.")
            .into_response();
    };
    let Some((tenant, now)) = state.tenant() else {
        return GraphError::invalid_token("Access token validation failure.").into_response();
    };
    if issued.expires <= now {
        return GraphError::invalid_token("Lifetime validation failed, the token is expired.")
            .into_response();
    }
    // A token of an app removed from the tenant since (a reload) no longer works.
    if tenant.application(&issued.app_id).is_none() {
        return GraphError::invalid_token("Access token validation failure. Invalid audience.")
            .into_response();
    }
    next.run(req).await
}
