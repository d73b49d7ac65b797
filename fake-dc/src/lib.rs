pub mod filter;
pub mod tls;
