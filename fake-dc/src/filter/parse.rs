//! placeholder
pub struct FilterParseError;
