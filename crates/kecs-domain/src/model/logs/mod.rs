//! The CloudWatch Logs shapes that KECS's log operations use, generated from the botocore model by
//! `codegen/gen.py` (one definition each).
#![allow(missing_docs)]
mod generated;
pub use generated::*;
