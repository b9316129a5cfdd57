//! KECS's secret sources: the domain's secrets port ([`kecs_domain::ports::secrets`]) over a
//! local file ([`FileSecrets`]), for a machine with no other service.

mod file;

pub use file::{FileSecrets, SecretsFileError};
