//! fake-dc's Microsoft Graph over real HTTPS (reqwest, trusting fake-dc's CA): the token
//! endpoint's refusals, the bearer check, query options, paging, relations, delta and
//! faults, each as Microsoft documents them (docs/graph.md). Microsoft's own SDK runs
//! against it in graph_sdk.rs.

#![allow(clippy::unwrap_used)] // tests fail loudly
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use fake_dc::fixture::{load_file, load_str, LoadOptions};
use fake_dc::graph::{GraphFaultSpec, GraphServer};
use fake_dc::server::FakeDc;
use serde_json::Value;

const TENANT: &str = "6a1f0e54-3c1b-4b8e-9d2a-0f5e1c7b9a31";
const APP: &str = "0e2c3f5a-7b44-4a0c-8d1e-52b7c9f1a6d3";
const START: i64 = 1_767_571_200; // 2026-01-05

struct Tenant {
    dc: FakeDc,
    graph: GraphServer,
    http: reqwest::Client,
    now: Arc<AtomicI64>,
}

async fn tenant() -> Tenant {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/azure-tenant.yaml");
    let mut dir = load_file(&path, LoadOptions::default()).unwrap();
    let now = Arc::new(AtomicI64::new(START));
    let clock = now.clone();
    dir.set_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    let dc = FakeDc::builder(dir)
        .host(
            "dc1.hybrid.example.test",
            fake_dc::server::HostConfig::loopback(),
        )
        .start()
        .await
        .unwrap();
    let graph = GraphServer::start(
        dc.directory().clone(),
        dc.ca(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let tls = fake_dc::tls::client_config_trusting(dc.ca_pem()).unwrap();
    let mut tls = (*tls).clone();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    Tenant {
        dc,
        graph,
        http,
        now,
    }
}

impl Tenant {
    async fn token_answer(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let body = serde_urlencoded::to_string(form).unwrap();
        let r = self
            .http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.graph.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (
            r.status().as_u16(),
            serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
        )
    }

    async fn token(&self) -> String {
        let (status, json) = self.token_answer(TENANT, &grant("graph-secret-1")).await;
        assert_eq!(status, 200, "{json}");
        json["access_token"].as_str().unwrap().to_owned()
    }

    async fn get_with(
        &self,
        token: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let url = if path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.graph.url())
        };
        let mut req = self.http.get(url).bearer_auth(token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, json, headers)
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let (s, j, _) = self.get_with(token, path, &[]).await;
        (s, j)
    }

    /// Every item of a listing, following nextLinks; and the page count.
    async fn all(&self, token: &str, path: &str) -> (Vec<Value>, usize, Value) {
        let (mut items, mut pages) = (Vec::new(), 0);
        let mut next = path.to_owned();
        loop {
            let (status, page) = self.get(token, &next).await;
            assert_eq!(status, 200, "{next}: {page}");
            pages += 1;
            items.extend(page["value"].as_array().unwrap().iter().cloned());
            match page["@odata.nextLink"].as_str() {
                Some(link) => next = link.to_owned(),
                None => return (items, pages, page),
            }
        }
    }
}

/// A token request's form fields.
type Form<'a> = Vec<(&'a str, &'a str)>;

fn grant(secret: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", APP),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ]
}

fn names(items: &[Value], key: &str) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .filter_map(|i| i[key].as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_token_endpoint_refuses_as_the_identity_platform_does() {
    let t = tenant().await;
    let cases: Vec<(&str, Form, u16, &str, u64)> = vec![
        (
            "00000000-0000-0000-0000-000000000000",
            grant("graph-secret-1"),
            400,
            "invalid_request",
            90002,
        ),
        (
            TENANT,
            vec![("client_id", APP)],
            400,
            "invalid_request",
            900144,
        ),
        (
            TENANT,
            vec![("grant_type", "password"), ("client_id", APP)],
            400,
            "unsupported_grant_type",
            70003,
        ),
        (
            TENANT,
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "11111111-2222-3333-4444-555555555555"),
                ("client_secret", "x"),
                ("scope", "a/.default"),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (TENANT, grant("wrong"), 401, "invalid_client", 7000215),
        (
            TENANT,
            grant("graph-secret-revoked"),
            401,
            "invalid_client",
            7000215,
        ),
        (
            TENANT,
            grant("graph-secret-old"),
            401,
            "invalid_client",
            7000222,
        ),
        (
            TENANT,
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", "graph-secret-1"),
                ("scope", "User.Read"),
            ],
            400,
            "invalid_scope",
            1002012,
        ),
    ];
    for (tenant, form, status, error, code) in cases {
        let (s, json) = t.token_answer(tenant, &form).await;
        assert_eq!((s, json["error"].as_str()), (status, Some(error)), "{json}");
        assert_eq!(json["error_codes"][0].as_u64(), Some(code), "{json}");
        let description = json["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("AADSTS{code}: ")),
            "{description}"
        );
        assert!(description.contains("Trace ID: ") && description.contains("Correlation ID: "));
    }
    // The initial domain names the tenant too, and OpenID discovery points at the endpoint.
    let (s, json) = t
        .token_answer("hybridexample.onmicrosoft.com", &grant("graph-secret-1"))
        .await;
    assert_eq!(
        (s, json["token_type"].as_str()),
        (200, Some("Bearer")),
        "{json}"
    );
    assert_eq!(json["expires_in"], 3599);
    let (_, discovery) = t
        .get(
            "",
            &format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
        )
        .await;
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/{TENANT}/oauth2/v2.0/token", t.graph.url())
    );
}

#[tokio::test]
async fn graph_wants_a_live_token() {
    let t = tenant().await;
    let (s, json) = t.get("", "/v1.0/users").await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );
    assert_eq!(json["error"]["message"], "Access token is empty.");
    assert!(json["error"]["innerError"]["request-id"].is_string());
    let (s, _) = t.get("made-up", "/v1.0/users").await;
    assert_eq!(s, 401);
    let token = t.token().await;
    assert_eq!(t.get(&token, "/v1.0/users").await.0, 200);
    t.now.fetch_add(3600, Ordering::SeqCst);
    let (s, json) = t.get(&token, "/v1.0/users").await;
    assert_eq!(s, 401);
    assert_eq!(
        json["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
}

#[tokio::test]
async fn query_options_and_paging() {
    let t = tenant().await;
    let token = t.token().await;
    let (users, pages, _) = t
        .all(
            &token,
            "/v1.0/users?$top=10&$select=userPrincipalName,onPremisesImmutableId",
        )
        .await;
    assert_eq!((users.len(), pages), (32, 4));
    assert!(
        users.iter().all(|u| u.as_object().unwrap().len() == 3),
        "{:?}",
        users[0]
    );
    // Default properties without $select.
    let (_, page) = t.get(&token, "/v1.0/users?$top=1").await;
    let keys: Vec<&String> = page["value"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 11, "{keys:?}");
    let (_, page) = t
        .get(
            &token,
            "/v1.0/users?$filter=startswith(displayName,'alice')",
        )
        .await;
    assert_eq!(
        names(page["value"].as_array().unwrap(), "displayName"),
        ["Alice Archer"]
    );
    let (_, page) = t
        .get(
            &token,
            "/v1.0/users?$filter=proxyAddresses/any(p:p eq 'smtp:carol@hybrid.example.test')",
        )
        .await;
    assert_eq!(
        names(page["value"].as_array().unwrap(), "displayName"),
        ["Carol Chen"]
    );
    let (_, page) = t.get(&token, "/v1.0/users?$filter=mail in ('bob.baker@hybrid.example.test','gina.cloud@hybrid.example.test')").await;
    assert_eq!(
        names(page["value"].as_array().unwrap(), "displayName"),
        ["Bob Baker", "Gina Cloud"]
    );
    let (_, page) = t
        .get(&token, "/v1.0/groups?$filter=onPremisesSyncEnabled eq null")
        .await;
    assert_eq!(
        names(page["value"].as_array().unwrap(), "displayName"),
        ["All Company"]
    );
    // Refusals.
    let (s, json) = t.get(&token, "/v1.0/users?$top=1000").await;
    assert_eq!(s, 400);
    assert_eq!(
        json["error"]["message"],
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    );
    let (s, json) = t.get(&token, "/v1.0/users?$count=true").await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (400, Some("Request_BadRequest"))
    );
    let (s, json) = t
        .get(&token, "/v1.0/users?$filter=accountEnabled ne true")
        .await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (400, Some("Request_UnsupportedQuery"))
    );
    let (s, json) = t.get(&token, "/v1.0/users?$filter=displayName eq").await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (400, Some("BadRequest"))
    );
    let eventual = [("ConsistencyLevel", "eventual")];
    let (s, json, _) = t
        .get_with(
            &token,
            "/v1.0/users?$filter=accountEnabled ne true&$count=true",
            &eventual,
        )
        .await;
    assert_eq!((s, json["@odata.count"].as_u64()), (200, Some(1)), "{json}");
    let (s, count, headers) = t.get_with(&token, "/v1.0/groups/$count", &eventual).await;
    assert_eq!((s, count), (200, Value::from(4)));
    assert_eq!(headers["content-type"], "text/plain");
    // A nextLink is used once.
    let (_, first) = t.get(&token, "/v1.0/users?$top=5").await;
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert_eq!(t.get(&token, next).await.0, 200);
    let (s, json) = t.get(&token, next).await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (400, Some("Directory_ExpiredPageToken"))
    );
}

#[tokio::test]
async fn members_transitive_members_and_member_of() {
    let t = tenant().await;
    let token = t.token().await;
    let (_, groups) = t
        .get(&token, "/v1.0/groups?$filter=displayName eq 'Everyone'")
        .await;
    let everyone = groups["value"][0]["id"].as_str().unwrap().to_owned();
    let (direct, _, _) = t
        .all(&token, &format!("/v1.0/groups/{everyone}/members"))
        .await;
    assert_eq!(names(&direct, "displayName"), ["Dan Dubois", "Engineering"]);
    assert_eq!(
        direct
            .iter()
            .filter(|m| m["@odata.type"] == "#microsoft.graph.group")
            .count(),
        1
    );
    let (all, _, _) = t
        .all(
            &token,
            &format!("/v1.0/groups/{everyone}/transitiveMembers?$top=2"),
        )
        .await;
    assert_eq!(
        names(&all, "displayName"),
        [
            "Alice Archer",
            "Bob Baker",
            "Carol Chen",
            "Dan Dubois",
            "Engineering",
            "Erin Eriksen",
            "Platform"
        ]
    );
    let (s, carol) = t.get(&token, "/v1.0/users/cchen@hybrid.example.test?$select=id,onPremisesSamAccountName,onPremisesImmutableId").await;
    assert_eq!(
        (s, carol["onPremisesSamAccountName"].as_str()),
        (200, Some("cchen")),
        "{carol}"
    );
    let carol = carol["id"].as_str().unwrap();
    let (of, _, _) = t
        .all(&token, &format!("/v1.0/users/{carol}/transitiveMemberOf"))
        .await;
    assert_eq!(
        names(&of, "displayName"),
        ["All Company", "Engineering", "Everyone", "Platform"]
    );
    let (s, json) = t
        .get(&token, "/v1.0/users/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (404, Some("Request_ResourceNotFound"))
    );
}

#[tokio::test]
async fn delta_rounds_report_changes_removals_and_member_changes() {
    let t = tenant().await;
    let token = t.token().await;
    let (groups, _, last) = t
        .all(&token, "/v1.0/groups/delta?$select=displayName,members")
        .await;
    assert_eq!(groups.len(), 4);
    let platform = groups
        .iter()
        .find(|g| g["displayName"] == "Platform")
        .unwrap();
    assert_eq!(platform["members@delta"].as_array().unwrap().len(), 2);
    let link = last["@odata.deltaLink"].as_str().unwrap().to_owned();
    let (_, _, users_last) = t.all(&token, "/v1.0/users/delta?$select=displayName").await;
    let users_link = users_last["@odata.deltaLink"].as_str().unwrap().to_owned();
    t.dc.with_directory(|d| {
        let carol: fake_dc::dn::Dn = "CN=Carol Chen,OU=Staff,DC=hybrid,DC=example,DC=test"
            .parse()
            .unwrap();
        let platform: fake_dc::dn::Dn = "CN=Platform,OU=Staff,DC=hybrid,DC=example,DC=test"
            .parse()
            .unwrap();
        let (c, p) = (d.lookup(&carol).unwrap(), d.lookup(&platform).unwrap());
        d.modify(
            p,
            &[fake_dc::directory::Modification {
                op: fake_dc::directory::ModOp::Delete,
                attr: "member".into(),
                values: vec![d.dn_str(c).as_bytes().to_vec()],
            }],
            true,
        )
        .unwrap();
        let bob: fake_dc::dn::Dn = "CN=Bob Baker,OU=Staff,DC=hybrid,DC=example,DC=test"
            .parse()
            .unwrap();
        let b = d.lookup(&bob).unwrap();
        d.delete(b).unwrap();
    });
    // Platform lost Carol; Engineering lost Bob with his deletion.
    let (changed, _, last) = t.all(&token, &link).await;
    assert_eq!(
        names(&changed, "displayName"),
        ["Engineering", "Platform"],
        "{changed:?}"
    );
    for group in &changed {
        let refs = group["members@delta"].as_array().unwrap();
        assert_eq!(refs.len(), 1, "{group}");
        assert_eq!(refs[0]["@removed"]["reason"], "deleted");
    }
    assert!(last["@odata.deltaLink"].is_string());
    let (users, _, _) = t.all(&token, &users_link).await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["@removed"]["reason"], "changed");
    // Nothing more since; a link from now; a link fake-dc never issued.
    let (again, _, _) = t
        .all(&token, last["@odata.deltaLink"].as_str().unwrap())
        .await;
    assert!(again.is_empty(), "{again:?}");
    let (latest, _, page) = t.all(&token, "/v1.0/users/delta?$deltatoken=latest").await;
    assert!(latest.is_empty() && page["@odata.deltaLink"].is_string());
    let (s, json) = t.get(&token, "/v1.0/users/delta()?$deltatoken=nope").await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (400, Some("syncStateNotFound"))
    );
}

#[tokio::test]
async fn faults_throttle_and_unavailable_with_retry_after() {
    let t = tenant().await;
    let token = t.token().await;
    t.graph.state().add_faults(GraphFaultSpec {
        throttle_requests: Some(1),
        unavailable_requests: Some(1),
        retry_after: Some(7),
        ..GraphFaultSpec::default()
    });
    let (s, json, headers) = t.get_with(&token, "/v1.0/users", &[]).await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (429, Some("TooManyRequests"))
    );
    assert_eq!(headers["retry-after"], "7");
    // Token requests are not throttled.
    t.token().await;
    let (s, json, headers) = t.get_with(&token, "/v1.0/users", &[]).await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (503, Some("serviceNotAvailable"))
    );
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(t.get(&token, "/v1.0/users").await.0, 200);
    // Links issued before the fault are gone; a round started afterwards works.
    let (_, _, before) = t.all(&token, "/v1.0/users/delta").await;
    t.graph.state().add_faults(GraphFaultSpec {
        invalidate_delta_tokens: true,
        ..GraphFaultSpec::default()
    });
    let (s, json) = t
        .get(&token, before["@odata.deltaLink"].as_str().unwrap())
        .await;
    assert_eq!(
        (s, json["error"]["code"].as_str()),
        (400, Some("syncStateNotFound"))
    );
    let (_, _, after) = t.all(&token, "/v1.0/users/delta").await;
    let link = after["@odata.deltaLink"].as_str().unwrap();
    assert_eq!(t.get(&token, link).await.0, 200);
}

#[test]
fn tenant_mistakes_are_reported_at_their_place() {
    let yaml = "domains:\n  - dns: corp.example.test\nazureAd:\n  tenantId: not-a-guid\n  applications:\n    - appId: 0e2c3f5a-7b44-4a0c-8d1e-52b7c9f1a6d3\n      secrets: [{ value: s, expires: soon }]\n  groups:\n    - { displayName: G, members: [nobody] }\n";
    let problems = match load_str(yaml, "bad.yaml", LoadOptions::default()) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.problems(),
    };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(
        text.iter()
            .any(|t| t.starts_with("bad.yaml:4:") && t.contains("'not-a-guid' is not a GUID")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("bad.yaml:7:") && t.contains("RFC 3339")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("bad.yaml:9:") && t.contains("'nobody'")),
        "{text:#?}"
    );
}
