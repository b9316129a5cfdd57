//! The CloudWatch Logs API as one service trait (the operations KECS implements), the operation
//! enum and required-member checks, generated from the botocore model by `codegen/gen.py`.
#![allow(missing_docs)]
mod generated;
pub use generated::*;
