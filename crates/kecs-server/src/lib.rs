//! The KECS server as a library: the wiring the `kecs` binary runs ([`serve`]), its settings,
//! and [`testing::TestServer`], which starts a real KECS in-process so that a Rust project's own
//! integration tests can point aws-sdk-ecs at it.
//!
//! Without the default `duckdb` feature nothing here compiles DuckDB; the server then keeps its
//! state in memory only.

mod background;
mod counted_runtime;
mod data_dir;
mod error;
pub mod exec_client;
mod load_balancing;
mod mcp_http;
mod secrets;
pub mod serve;
pub mod settings;
mod supervise;
pub mod task_endpoints;
pub mod testing;
pub mod traces;

pub use error::ServerError;
