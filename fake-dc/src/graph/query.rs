//! OData query options as Graph reads them on users and groups: `$select`, `$filter`,
//! `$top` (1–999), `$count` (with `ConsistencyLevel: eventual`), `$skiptoken`,
//! `$deltatoken`. Options Graph does not support on these collections, or that fake-dc
//! does not implement (`$orderby`, `$search`, `$expand`, `$skip`), are refused by name
//! rather than ignored, so a client never mistakes an unfiltered answer for a filtered one.

use axum::http::HeaderMap;

use super::error::GraphError;
use super::filter::{self, Filter};

/// Graph's default page size for users and groups.
pub const DEFAULT_TOP: usize = 100;
/// The largest `$top` Graph accepts on directory objects.
pub const MAX_TOP: usize = 999;

/// The options of one request.
#[derive(Debug, Default)]
pub struct Options {
    pub select: Option<Vec<String>>,
    pub filter: Option<Filter>,
    pub top: Option<usize>,
    pub count: bool,
    pub skiptoken: Option<String>,
    pub deltatoken: Option<String>,
    /// `ConsistencyLevel: eventual` was sent.
    pub eventual: bool,
    /// The options to repeat in a nextLink, URL-encoded, without `$skiptoken`.
    pub carried: String,
}

impl Options {
    pub fn parse(pairs: &[(String, String)], headers: &HeaderMap) -> Result<Options, GraphError> {
        let mut o = Options {
            eventual: headers
                .get("consistencylevel")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("eventual")),
            ..Options::default()
        };
        let mut carried = Vec::new();
        for (key, value) in pairs {
            // Graph accepts the options with or without `$`.
            let name = key.trim_start_matches('$').to_ascii_lowercase();
            match name.as_str() {
                "select" => {
                    o.select = Some(
                        value
                            .split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    )
                }
                "filter" => {
                    o.filter = Some(
                        filter::parse(value).map_err(|e| GraphError::bad_request(e.to_string()))?,
                    )
                }
                "top" => {
                    let top = value.parse::<usize>().ok().filter(|t| (1..=MAX_TOP).contains(t));
                    o.top = Some(top.ok_or_else(|| {
                        GraphError::bad_request(format!(
                            "Invalid page size specified: '{value}'. Must be between 1 and {MAX_TOP} inclusive."
                        ))
                    })?);
                }
                "count" => match value.to_ascii_lowercase().as_str() {
                    "true" => o.count = true,
                    "false" => o.count = false,
                    _ => {
                        return Err(GraphError::bad_request(format!(
                            "'{value}' is not a valid value for $count; use true or false."
                        )))
                    }
                },
                "skiptoken" => {
                    o.skiptoken = Some(value.clone());
                    continue;
                }
                "deltatoken" => {
                    o.deltatoken = Some(value.clone());
                    continue;
                }
                "orderby" | "search" | "expand" | "skip" | "format" | "levels" => {
                    return Err(GraphError::unsupported_query(format!(
                        "The query option '${name}' is not supported by fake-dc's Graph on this resource."
                    )))
                }
                _ if key.starts_with('$') => {
                    return Err(GraphError::bad_request(format!(
                        "Query option '{key}' is not allowed. Make sure that it is supported by the resource."
                    )))
                }
                // Plain parameters are not OData options; Graph ignores unknown ones.
                _ => continue,
            }
            carried.push((key.clone(), value.clone()));
        }
        if o.top.is_none() {
            // `Prefer: odata.maxpagesize=N` asks for a page size without `$top` (the way
            // delta queries take one); out of range, it is clamped, not refused.
            o.top = headers
                .get_all("prefer")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
                .find_map(|n| n.trim().parse::<usize>().ok())
                .map(|n| n.clamp(1, MAX_TOP));
        }
        o.carried = serde_urlencoded::to_string(&carried).unwrap_or_default();
        if o.count && !o.eventual {
            return Err(GraphError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "$count is not currently supported.",
            ));
        }
        if o.filter.as_ref().is_some_and(Filter::is_advanced) && !(o.eventual && o.count) {
            return Err(GraphError::unsupported_query(
                "Unsupported or invalid query filter clause specified: ne, not and endsWith need ConsistencyLevel: eventual and $count=true.",
            ));
        }
        Ok(o)
    }

    pub fn page_size(&self) -> usize {
        self.top.unwrap_or(DEFAULT_TOP)
    }
}
