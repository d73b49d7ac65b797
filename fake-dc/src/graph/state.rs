//! What the Graph listener remembers between requests: the access tokens it issued, the
//! open listings behind `$skiptoken`s, the delta states behind `$deltatoken`s, and its
//! faults. Each is a std `Mutex` held for a lookup or an insert, never across an await.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use super::error::GraphError;
use super::objects::{Kind, Obj};
use super::spec::GraphFaultSpec;
use super::tenant::Tenant;
use crate::directory::Directory;
use crate::server::SharedDirectory;

/// How many open listings are kept; the oldest is forgotten first, and its nextLink
/// then answers as expired (Graph's own page tokens are short-lived too).
const MAX_CURSORS: usize = 256;
/// How many delta states are kept; an evicted one answers `syncStateNotFound`, as a
/// delta link Graph has dropped does.
const MAX_DELTA_STATES: usize = 64;
/// Access tokens kept at most; the oldest is forgotten first.
const MAX_TOKENS: usize = 4096;

/// One item of a listing: an object rendered when its page is served, or an answer
/// already made (a delta round's changes, `@removed` entries).
#[derive(Debug, Clone)]
pub enum Item {
    Obj(Obj),
    Rendered(Value),
}

/// How a listing's items are shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A collection of one resource: `/users`, `/groups`.
    List,
    /// `directoryObject`s with their `@odata.type`: members, memberOf.
    DirectoryObjects,
    /// A delta round: the last page carries the deltaLink; groups carry `members@delta`.
    Delta,
}

/// An open listing.
pub struct Cursor {
    /// The directory as it was when the listing began, so its pages agree.
    pub snapshot: Directory,
    pub tenant: Arc<Tenant>,
    pub items: Arc<Vec<Item>>,
    /// The next item to serve.
    pub pos: usize,
    pub top: usize,
    pub select: Option<Vec<String>>,
    pub kind: Kind,
    pub shape: Shape,
    /// The path the client asked for, reused in the nextLink.
    pub path: String,
    /// `@odata.context`.
    pub context: String,
    /// The query options to repeat in the nextLink (without `$skiptoken`).
    pub query: String,
    /// When it was opened (directory clock), for the page-token lifetime.
    pub opened: i64,
    /// The page the next request serves (1 is the first).
    pub page: u32,
    /// For a delta round, the highest USN of `snapshot`.
    pub usn: u64,
}

/// What a delta link stands for: the tenant as the round that issued it saw it.
#[derive(Clone)]
pub struct DeltaState {
    pub snapshot: Directory,
    pub tenant: Arc<Tenant>,
    pub kind: Kind,
    pub select: Option<Vec<String>>,
    pub usn: u64,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub app_id: String,
    /// Directory-clock Unix seconds.
    pub expires: i64,
}

/// Keyed values, forgetting the oldest beyond a capacity.
struct Store<T> {
    map: HashMap<String, T>,
    order: VecDeque<String>,
    cap: usize,
}

impl<T> Store<T> {
    fn new(cap: usize) -> Self {
        Store {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    fn insert(&mut self, key: String, value: T) {
        while self.map.len() >= self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }

    fn take(&mut self, key: &str) -> Option<T> {
        let v = self.map.remove(key)?;
        self.order.retain(|k| k != key);
        Some(v)
    }

    fn get(&self, key: &str) -> Option<&T> {
        self.map.get(key)
    }
}

/// Faults now in force.
#[derive(Debug, Default, Clone)]
pub struct FaultState {
    pub spec: GraphFaultSpec,
    pub throttle_left: u32,
    pub unavailable_left: u32,
}

impl FaultState {
    fn from_spec(spec: GraphFaultSpec) -> Self {
        FaultState {
            throttle_left: spec.throttle_requests.unwrap_or(0),
            unavailable_left: spec.unavailable_requests.unwrap_or(0),
            spec,
        }
    }
}

/// The Graph listener's state.
pub struct GraphState {
    /// The directory the DC serves; the tenant travels inside it.
    pub directory: SharedDirectory,
    tokens: Mutex<Store<IssuedToken>>,
    cursors: Mutex<Store<Cursor>>,
    deltas: Mutex<Store<DeltaState>>,
    faults: Mutex<FaultState>,
    /// Requests answered, for the control API's statistics.
    requests: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fresh opaque token: 32 random bytes as hex.
pub fn random_token() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 32];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl GraphState {
    pub fn new(directory: SharedDirectory, faults: GraphFaultSpec) -> Self {
        GraphState {
            directory,
            tokens: Mutex::new(Store::new(MAX_TOKENS)),
            cursors: Mutex::new(Store::new(MAX_CURSORS)),
            deltas: Mutex::new(Store::new(MAX_DELTA_STATES)),
            faults: Mutex::new(FaultState::from_spec(faults)),
            requests: Default::default(),
        }
    }

    /// The tenant and the directory clock's now.
    pub fn tenant(&self) -> Option<(Arc<Tenant>, i64)> {
        let dir = self
            .directory
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        dir.azure_ad.clone().map(|t| (t, dir.now()))
    }

    pub fn issue(&self, token: String, issued: IssuedToken) {
        lock(&self.tokens).insert(token, issued);
    }

    pub fn token(&self, token: &str) -> Option<IssuedToken> {
        lock(&self.tokens).get(token).cloned()
    }

    /// Keeps a listing; returns its `$skiptoken`.
    pub fn open(&self, cursor: Cursor) -> String {
        let key = random_token();
        lock(&self.cursors).insert(key.clone(), cursor);
        key
    }

    /// Takes a listing out to serve its next page (it is put back with [`Self::open`]
    /// under a new token when pages remain, so each nextLink is used once).
    pub fn take_cursor(&self, key: &str) -> Option<Cursor> {
        lock(&self.cursors).take(key)
    }

    pub fn keep_delta(&self, state: DeltaState) -> String {
        let key = random_token();
        lock(&self.deltas).insert(key.clone(), state);
        key
    }

    pub fn delta(&self, key: &str) -> Option<DeltaState> {
        lock(&self.deltas).get(key).cloned()
    }

    pub fn faults(&self) -> FaultState {
        lock(&self.faults).clone()
    }

    /// Adds faults (counts add up, flags are set).
    pub fn add_faults(&self, add: GraphFaultSpec) {
        let mut f = lock(&self.faults);
        f.throttle_left += add.throttle_requests.unwrap_or(0);
        f.unavailable_left += add.unavailable_requests.unwrap_or(0);
        let spec = &mut f.spec;
        spec.retry_after = add.retry_after.or(spec.retry_after);
        spec.from_page = add.from_page.or(spec.from_page);
        spec.expire_page_tokens |= add.expire_page_tokens;
        drop(f);
        // A one-off: the links issued so far are gone, later ones work, as when Graph
        // drops its sync state (a run that starts over gets a link that works again).
        if add.invalidate_delta_tokens {
            let mut deltas = lock(&self.deltas);
            deltas.map.clear();
            deltas.order.clear();
        }
    }

    pub fn clear_faults(&self) {
        *lock(&self.faults) = FaultState::default();
    }

    /// Whether page `page` of a listing may be served now, or the fault answer.
    pub fn admit(&self, page: u32) -> Result<(), GraphError> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut f = lock(&self.faults);
        if page < f.spec.from_page.unwrap_or(1) {
            return Ok(());
        }
        let retry_after = Some(f.spec.retry_after.unwrap_or(1));
        if f.throttle_left > 0 {
            f.throttle_left -= 1;
            let mut e = GraphError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests are being made to the tenant. Please retry after the time given in Retry-After.",
            );
            e.retry_after = retry_after;
            return Err(e);
        }
        if f.unavailable_left > 0 {
            f.unavailable_left -= 1;
            let mut e = GraphError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry after the time given in Retry-After.",
            );
            e.retry_after = retry_after;
            return Err(e);
        }
        Ok(())
    }

    /// Graph requests answered so far (faults included, token requests not).
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }
}
