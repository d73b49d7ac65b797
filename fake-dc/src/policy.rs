//! AD's query policy: the `lDAPAdminLimits` of the Default Query Policy (MS-ADTS
//! 3.1.1.3.4.6), the limits a DC puts on every LDAP client, as one configurable set. A
//! fixture can set them (`queryPolicy:`), `fake-dc serve` takes them as flags, and the
//! in-process API through `ServerOptions::policy`. The rootDSE lists their names in
//! `supportedLDAPPolicies`, as AD does.
//!
//! Which of them fake-dc enforces, and how:
//! - `MaxPageSize`: an unpaged search returns at most this many entries, then
//!   sizeLimitExceeded; a larger page is cut to it.
//! - `MaxValRange`: values of one attribute per response (ranged retrieval).
//! - `MaxQueryDuration`: a search still evaluating or paging at this age stops with
//!   timeLimitExceeded, checked while it runs (every few entries), not after.
//! - `MaxReceiveBuffer`: a larger request closes the connection.
//! - `MaxConnIdleTime`: a connection with no complete request for this long is closed.
//! - `MaxConnections`: connections past it are closed on accept.
//! - `MaxResultSetSize`: accepted and listed; fake-dc keeps a paged search's remaining
//!   entry ids with its cookie, where AD keeps a cursor, so it is not enforced (a limit of
//!   262,144 bytes of ids would end every paged read of 100,000 users, which AD serves).
//! - `MaxNotificationPerConn`: the most change-notification searches one connection may
//!   hold (used once notification searches are served).
//!
//! A request's own cost is bounded as AD bounds it, by size rather than by counting its
//! parts: MaxReceiveBuffer caps the bytes (so the filter's branches, the attribute list,
//! the DN and an add's values), the codec's BER depth caps nesting (about 28 filter
//! levels), and everything a request can make fake-dc do is linear in those bytes — an OR
//! of equalities on one attribute is one hash set, a long attribute list is matched
//! through a set, a long base DN is looked up once per suffix that could exist — with
//! MaxQueryDuration ending whatever remains expensive (an unindexed OR of 100,000
//! substrings). AD itself answers such requests the same way: from indexes, or with
//! timeLimitExceeded.

use std::time::Duration;

use serde::Deserialize;

/// The limits, with Windows' defaults.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueryPolicy {
    /// MaxPageSize (1,000).
    pub max_page_size: usize,
    /// MaxValRange (1,500).
    pub max_val_range: usize,
    /// MaxQueryDuration (120 s).
    pub max_query_duration: Duration,
    /// MaxReceiveBuffer (10,485,760 bytes).
    pub max_receive_buffer: usize,
    /// MaxResultSetSize (262,144 bytes); listed, not enforced (see the module docs).
    pub max_result_set_size: usize,
    /// MaxConnIdleTime (900 s).
    pub max_conn_idle_time: Duration,
    /// MaxConnections (5,000).
    pub max_connections: usize,
    /// MaxNotificationPerConn (5).
    pub max_notification_per_conn: usize,
}

impl Default for QueryPolicy {
    fn default() -> Self {
        QueryPolicy {
            max_page_size: 1_000,
            max_val_range: 1_500,
            max_query_duration: Duration::from_secs(120),
            max_receive_buffer: 10 * 1024 * 1024,
            max_result_set_size: 262_144,
            max_conn_idle_time: Duration::from_secs(900),
            max_connections: 5_000,
            max_notification_per_conn: 5,
        }
    }
}

/// The fixture's `queryPolicy:` block: AD's names, numbers as AD stores them (seconds for
/// durations). Anything left out keeps Windows' default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QueryPolicySpec {
    #[serde(rename = "MaxPageSize")]
    pub max_page_size: Option<u32>,
    #[serde(rename = "MaxValRange")]
    pub max_val_range: Option<u32>,
    #[serde(rename = "MaxQueryDuration")]
    pub max_query_duration: Option<u32>,
    #[serde(rename = "MaxReceiveBuffer")]
    pub max_receive_buffer: Option<u32>,
    #[serde(rename = "MaxResultSetSize")]
    pub max_result_set_size: Option<u32>,
    #[serde(rename = "MaxConnIdleTime")]
    pub max_conn_idle_time: Option<u32>,
    #[serde(rename = "MaxConnections")]
    pub max_connections: Option<u32>,
    #[serde(rename = "MaxNotificationPerConn")]
    pub max_notification_per_conn: Option<u32>,
}

/// A policy value that cannot work (zero where at least one is needed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be at least 1")]
pub struct PolicyError {
    /// The AD name of the value, e.g. `MaxPageSize`.
    pub name: &'static str,
}

impl QueryPolicySpec {
    /// Windows' defaults with this block's values put over them.
    pub fn resolve(&self) -> Result<QueryPolicy, PolicyError> {
        let d = QueryPolicy::default();
        let at_least_one = |name: &'static str, v: Option<u32>, default: usize| match v {
            Some(0) => Err(PolicyError { name }),
            Some(n) => Ok(n as usize),
            None => Ok(default),
        };
        let secs = |name: &'static str, v: Option<u32>, default: Duration| match v {
            Some(0) => Err(PolicyError { name }),
            Some(n) => Ok(Duration::from_secs(u64::from(n))),
            None => Ok(default),
        };
        Ok(QueryPolicy {
            max_page_size: at_least_one("MaxPageSize", self.max_page_size, d.max_page_size)?,
            max_val_range: at_least_one("MaxValRange", self.max_val_range, d.max_val_range)?,
            max_query_duration: secs(
                "MaxQueryDuration",
                self.max_query_duration,
                d.max_query_duration,
            )?,
            max_receive_buffer: at_least_one(
                "MaxReceiveBuffer",
                self.max_receive_buffer,
                d.max_receive_buffer,
            )?,
            max_result_set_size: at_least_one(
                "MaxResultSetSize",
                self.max_result_set_size,
                d.max_result_set_size,
            )?,
            max_conn_idle_time: secs(
                "MaxConnIdleTime",
                self.max_conn_idle_time,
                d.max_conn_idle_time,
            )?,
            max_connections: at_least_one(
                "MaxConnections",
                self.max_connections,
                d.max_connections,
            )?,
            max_notification_per_conn: at_least_one(
                "MaxNotificationPerConn",
                self.max_notification_per_conn,
                d.max_notification_per_conn,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_overrides_only_what_it_names() {
        let spec = QueryPolicySpec {
            max_page_size: Some(250),
            max_query_duration: Some(2),
            ..QueryPolicySpec::default()
        };
        let p = spec.resolve().expect("valid");
        assert_eq!(p.max_page_size, 250);
        assert_eq!(p.max_query_duration, Duration::from_secs(2));
        assert_eq!(p.max_val_range, 1_500);
        assert_eq!(p.max_connections, 5_000);
    }

    #[test]
    fn zero_is_refused_by_name() {
        let spec = QueryPolicySpec {
            max_val_range: Some(0),
            ..QueryPolicySpec::default()
        };
        assert_eq!(
            spec.resolve().map_err(|e| e.to_string()),
            Err("MaxValRange must be at least 1".to_string())
        );
    }
}
