//! The Azure AD method's HTTP side: the client-credentials grant against the identity
//! platform, then Graph GETs that wait out throttling (429 and 503, by `Retry-After`)
//! and sign in again once when the access token expires mid-run. Refusals keep the
//! service's own code (`AADSTS7000222`, `syncStateNotFound`, …) so the report can say
//! what the administrator has to fix.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use serde_json::Value;

use engine_contract::azure_ad::{AzureAdSettings, GraphEndpoint};

/// Attempts per request while Graph throttles or is unavailable.
const MAX_ATTEMPTS: u32 = 6;
/// The longest `Retry-After` honoured; a longer one is cut to this.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Why the tenant could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The trusted CA could not be read or rustls refused the configuration.
    #[error("cannot set up TLS for Microsoft Graph: {0}")]
    Tls(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Build(#[source] reqwest::Error),
    /// The identity platform refused the application's credentials.
    #[error("sign-in to tenant '{tenant}' refused: {description}")]
    SignIn {
        /// The tenant as configured.
        tenant: String,
        /// The platform's `error_description` (it starts with the AADSTS code).
        description: String,
    },
    /// A request could not be made or answered (connection refused, TLS, timeout).
    #[error("request to {what} failed")]
    Http {
        /// What was asked for.
        what: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// Graph refused a request.
    #[error("microsoft graph answered {status} {code}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Graph's error code (`syncStateNotFound`, `Directory_ExpiredPageToken`, …).
        code: String,
        /// Graph's message.
        message: String,
    },
    /// Still throttled or unavailable after every attempt.
    #[error("microsoft graph kept answering {status} after {attempts} attempts")]
    GaveUp {
        /// 429 or 503.
        status: u16,
        /// How many.
        attempts: u32,
    },
    /// An answer that is not the JSON Graph sends.
    #[error("unexpected answer from microsoft graph: {0}")]
    Malformed(String),
}

impl GraphError {
    /// Graph's error code, when Graph refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Counters for the transcript and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphStats {
    /// Graph requests answered with data.
    pub requests: u64,
    /// Requests repeated after a 429 or 503.
    pub retries: u64,
}

/// A signed-in Graph client.
pub struct GraphClient {
    http: Client,
    endpoint: GraphEndpoint,
    settings: AzureAdSettings,
    token: String,
    /// What this client did.
    pub stats: GraphStats,
}

/// A client trusting only `ca_pems` (the customer's tenant is reached through the
/// fake's CA in tests; no system store, so a test cannot pass on a stray trust anchor).
fn http(ca_pems: &[String], timeout: Duration) -> Result<Client, GraphError> {
    let mut roots = RootCertStore::empty();
    for pem in ca_pems {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| GraphError::Tls(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| GraphError::Tls(e.to_string()))?;
        }
    }
    let mut tls = ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| GraphError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .connect_timeout(timeout)
        .timeout(timeout * 4)
        .build()
        .map_err(GraphError::Build)
}

fn retry_after(headers: &reqwest::header::HeaderMap, attempt: u32) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        // Without Retry-After, back off exponentially from half a second.
        .unwrap_or_else(|| Duration::from_millis(500 << attempt.min(6)))
        .min(MAX_WAIT)
}

impl GraphClient {
    /// Signs in with the client-credentials grant.
    pub async fn sign_in(
        endpoint: &GraphEndpoint,
        settings: &AzureAdSettings,
        ca_pems: &[String],
        timeout: Duration,
    ) -> Result<Self, GraphError> {
        let mut client = GraphClient {
            http: http(ca_pems, timeout)?,
            endpoint: endpoint.clone(),
            settings: settings.clone(),
            token: String::new(),
            stats: GraphStats::default(),
        };
        client.token = client.acquire().await?;
        Ok(client)
    }

    async fn acquire(&self) -> Result<String, GraphError> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.endpoint.authority.trim_end_matches('/'),
            self.settings.tenant.trim()
        );
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.settings.application.trim()),
            ("client_secret", self.settings.secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let body =
            serde_urlencoded::to_string(form).map_err(|e| GraphError::Malformed(e.to_string()))?;
        let response = self
            .http
            .post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|source| GraphError::Http {
                what: "the token endpoint".into(),
                source: source.without_url(),
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|source| GraphError::Http {
            what: "the token endpoint".into(),
            source,
        })?;
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| GraphError::Malformed(format!("token endpoint answered {status}: {e}")))?;
        if !status.is_success() {
            // The description ends with trace and correlation IDs and a timestamp that
            // change on every call; only the code and the sentence before them are kept.
            let description = json["error_description"]
                .as_str()
                .unwrap_or("no description");
            let description = description
                .split(" Trace ID:")
                .next()
                .unwrap_or(description)
                .trim()
                .to_owned();
            return Err(GraphError::SignIn {
                tenant: self.settings.tenant.clone(),
                description,
            });
        }
        json["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| GraphError::Malformed("the token answer has no access_token".into()))
    }

    /// The base URL requests are made under (`…/v1.0`).
    pub fn graph_url(&self) -> &str {
        self.endpoint.graph.trim_end_matches('/')
    }

    /// GETs `url` (absolute), waiting out throttling and signing in again once if the
    /// token expired.
    pub async fn get(&mut self, url: &str) -> Result<Value, GraphError> {
        let mut signed_in_again = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = self
                .http
                .get(url)
                .bearer_auth(&self.token)
                .header("ConsistencyLevel", "eventual")
                .header("Prefer", "odata.maxpagesize=999")
                .send()
                .await
                .map_err(|source| GraphError::Http {
                    what: "microsoft graph".into(),
                    source: source.without_url(),
                })?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
            {
                if attempt >= MAX_ATTEMPTS {
                    return Err(GraphError::GaveUp {
                        status: status.as_u16(),
                        attempts: attempt,
                    });
                }
                let wait = retry_after(response.headers(), attempt);
                self.stats.retries += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            let bytes = response.bytes().await.map_err(|source| GraphError::Http {
                what: "microsoft graph".into(),
                source,
            })?;
            let json: Value = serde_json::from_slice(&bytes)
                .map_err(|e| GraphError::Malformed(format!("{status}: {e}")))?;
            if status.is_success() {
                self.stats.requests += 1;
                return Ok(json);
            }
            let code = json["error"]["code"]
                .as_str()
                .unwrap_or("unknown")
                .to_owned();
            if status == StatusCode::UNAUTHORIZED
                && code == "InvalidAuthenticationToken"
                && !signed_in_again
            {
                signed_in_again = true;
                self.token = self.acquire().await?;
                continue;
            }
            return Err(GraphError::Refused {
                status: status.as_u16(),
                code,
                message: json["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
    }
}
