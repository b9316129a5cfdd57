//! The pure core of KECS: the Amazon ECS model, ARNs, validation and decisions, and the ports
//! (storage, clock) through which adapters do the I/O. Nothing here touches a network, a disk or
//! an async runtime, so other Rust tools can embed it (see [`store::MemoryStore`]).
#![warn(missing_docs)]

pub mod api;
pub mod arn;
pub mod clock;
mod context;
mod error;
pub mod events;
pub mod model;
pub mod pagination;
pub mod runtime;
pub mod service;
pub mod state;
pub mod store;
pub mod validate;

pub use context::RequestContext;
pub use error::EcsError;
pub use service::Kecs;
