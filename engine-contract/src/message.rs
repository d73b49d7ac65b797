//! The engine contract `fake-dc-engine/1`: the JSON messages the scenario runner
//! exchanges with a sync engine that runs as a separate program (see
//! the runner's `SubprocessEngine` and `docs/engine-contract.md`).
//!
//! One exchange is one process: the runner writes one [`RequestMessage`] on the engine's
//! standard input and closes it; the engine writes one answer on standard output and
//! exits 0. Which answer type is expected follows from the request's `kind`:
//!
//! | request `kind` | answer |
//! |---|---|
//! | `hello` | [`HelloAnswer`]: the engine's name and the scenarios and properties it claims |
//! | `sync` | [`SyncAnswer`]: a [`SyncResponse`] (report and account after the run) |
//! | `sign-in` | [`SignInAnswer`]: a [`SignInResult`] and a detail text |
//!
//! Every message carries `"contract": "fake-dc-engine/1"`. The version changes when a
//! message changes incompatibly; an engine answering for another version is refused with
//! a message naming both versions instead of being half understood. Unknown fields in an
//! answer are ignored, so an engine may add its own.
//!
//! The JSON Schema of every message, [`schema`], is generated from these types and
//! committed as `docs/engine-contract.schema.json` (a test keeps the two equal).

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::engine::{SignInRequest, SignInResult, SyncRequest, SyncResponse};

/// The contract name and version every message carries.
pub const CONTRACT: &str = "fake-dc-engine/1";

/// The schema of the `contract` field: exactly [`CONTRACT`].
fn contract_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "The contract name and version; an answer for another version is refused.",
        "type": "string",
        "const": CONTRACT
    })
}

/// What the runner writes on an engine's standard input.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct RequestMessage<'a> {
    /// Always `fake-dc-engine/1` ([`CONTRACT`]).
    #[schemars(schema_with = "contract_schema")]
    pub contract: Cow<'a, str>,
    /// The request itself, tagged by `kind`.
    #[serde(flatten)]
    pub body: Request<'a>,
}

impl<'a> RequestMessage<'a> {
    /// Wraps a request in the current contract.
    pub fn new(body: Request<'a>) -> Self {
        Self {
            contract: Cow::Borrowed(CONTRACT),
            body,
        }
    }
}

/// The three requests, tagged by `kind`. Borrowed when the runner sends them, so a
/// 100,000-user account is not copied once per step.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Request<'a> {
    /// Asked once before a run: who are you, which scenarios do you claim?
    Hello,
    /// Run one sync.
    Sync {
        /// DCs, settings and the account before the run.
        request: Cow<'a, SyncRequest>,
    },
    /// Run one sign-in pass-through.
    SignIn {
        /// DCs, connector and what the user typed.
        request: Cow<'a, SignInRequest>,
    },
}

impl Request<'_> {
    /// The `kind` as it appears on the wire, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Hello => "hello",
            Request::Sync { .. } => "sync",
            Request::SignIn { .. } => "sign-in",
        }
    }
}

/// The answer to `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct HelloAnswer {
    /// Always `fake-dc-engine/1` ([`CONTRACT`]).
    #[schemars(schema_with = "contract_schema")]
    pub contract: String,
    /// The engine's name for tables and messages (`--engine-name` overrides it).
    pub name: String,
    /// The scenarios (file names without `.yaml`) the engine implements, and the fuzz
    /// properties it holds to, as `property:<name>` (`harness fuzz` judges only those).
    /// Every other scenario is reported as not claimed, neither passed nor failed; a
    /// scenario name matching no scenario file is reported as a warning, since it is most
    /// likely a typo.
    pub claims: Vec<String>,
}

/// The answer to `sync`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct SyncAnswer {
    /// Always `fake-dc-engine/1` ([`CONTRACT`]).
    #[schemars(schema_with = "contract_schema")]
    pub contract: String,
    /// The run's report and the account after it. A sync that failed (bad bind,
    /// untrusted certificate, dropped connection) is still an answer: a report with
    /// errors and the account unchanged.
    pub response: SyncResponse,
}

/// The answer to `sign-in`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct SignInAnswer {
    /// Always `fake-dc-engine/1` ([`CONTRACT`]).
    #[schemars(schema_with = "contract_schema")]
    pub contract: String,
    /// How the sign-in ended.
    pub result: SignInResult,
    /// Free text shown in the transcript (e.g. the DC's diagnostic); may be empty.
    #[serde(default)]
    pub detail: String,
}

/// Names of the messages in the schema's `$defs`, for validating one message kind.
pub mod defs {
    /// Every request (`hello`, `sync`, `sign-in`).
    pub const REQUEST: &str = "RequestMessage";
    /// The answer to `hello`.
    pub const HELLO_ANSWER: &str = "HelloAnswer";
    /// The answer to `sync`.
    pub const SYNC_ANSWER: &str = "SyncAnswer";
    /// The answer to `sign-in`.
    pub const SIGN_IN_ANSWER: &str = "SignInAnswer";
}

/// The JSON Schema (draft 2020-12) of every message of the contract: the document
/// accepts any one message; each is also under `$defs` by the names in [`defs`].
///
/// It describes what the runner accepts, so fields with defaults are optional; what the
/// runner sends always has them.
pub fn schema() -> serde_json::Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let messages = [
        generator.subschema_for::<RequestMessage<'static>>(),
        generator.subschema_for::<HelloAnswer>(),
        generator.subschema_for::<SyncAnswer>(),
        generator.subschema_for::<SignInAnswer>(),
    ];
    let defs = generator.take_definitions(true);
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("Sync engine contract {CONTRACT}"),
        "description": "Messages between the fake-dc scenario runner and a sync engine run as a program: one request on standard input, one answer on standard output. See docs/engine-contract.md.",
        "oneOf": messages,
        "$defs": defs,
    })
}

/// [`schema`] as the committed file holds it: pretty-printed, ending in a newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema of one message kind: `{"$ref": "#/$defs/<def>"}` with every definition.
pub fn schema_of(def: &str) -> serde_json::Value {
    let mut root = schema();
    if let Some(map) = root.as_object_mut() {
        map.remove("oneOf");
        map.insert(
            "$ref".into(),
            serde_json::Value::String(format!("#/$defs/{def}")),
        );
    }
    root
}
