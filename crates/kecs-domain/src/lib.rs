//! The pure core of KECS: the Amazon ECS model, ARNs, validation and decisions, and the ports
//! (storage, runtime, clock, events) through which adapters do the I/O. Nothing here touches a
//! network, a disk or an async runtime, so other Rust tools can embed it (see
//! [`ports::store::MemoryStore`]).
//!
//! Layers, each importing only those before it (ARCHITECTURE.md; checked by
//! `tests/e2e/tests/architecture.rs`): the generated `model` and `api`, `arn`, errors and the
//! request context; [`ports`]; [`rules`] (pure decisions); [`state`] (the in-memory tables);
//! `core` (the write path); `ops` (the ECS operations) and `control` (background controllers);
//! [`Kecs`], the facade that ties them together.

pub mod api;
pub mod arn;
mod context;
mod error;
pub mod model;
pub mod status;

pub mod ports;
pub mod rules;
pub mod state;

mod core;
mod ops;

mod control;

mod app;

pub use app::Kecs;
pub use context::RequestContext;
pub use control::Controller;
pub use error::{Cause, EcsError, LogsError};
pub use ops::census::Census;
pub use ops::task_metadata::{EndpointError, MetadataVersion};
