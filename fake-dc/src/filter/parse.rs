//! placeholder until the parser lands
#[derive(Debug, thiserror::Error)]
#[error("filter parser not available")]
pub struct FilterParseError;
impl std::str::FromStr for super::Filter {
    type Err = FilterParseError;
    fn from_str(_: &str) -> Result<Self, Self::Err> {
        Err(FilterParseError)
    }
}
