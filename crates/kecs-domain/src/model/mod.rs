//! Every ECS shape, generated from the botocore model by `codegen/gen.py` (one definition each).
#![allow(missing_docs)]
mod document;
mod generated;
mod json_span;
mod lookup;
pub use document::{Document, Stored};
pub use generated::*;
pub mod logs;
