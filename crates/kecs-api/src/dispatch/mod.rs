//! Decoding an operation's input, calling the service, encoding its output.

mod generated;

pub use generated::dispatch;

use kecs_domain::EcsError;
use serde::{de::DeserializeOwned, Serialize};

use crate::error::AwsError;

/// Why a dispatch failed.
#[derive(Debug)]
pub enum DispatchError {
    /// The body is not the operation's input.
    Serialization(String),
    /// A required member is missing (its path).
    MissingRequired(String),
    /// The service refused or failed.
    Ecs(EcsError),
}

impl From<EcsError> for DispatchError {
    fn from(e: EcsError) -> Self {
        DispatchError::Ecs(e)
    }
}

impl From<DispatchError> for AwsError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Serialization(m) => AwsError::serialization(m),
            DispatchError::MissingRequired(p) => AwsError::missing_required(&p),
            DispatchError::Ecs(e) => e.into(),
        }
    }
}

/// An empty body reads as `{}`, as AWS accepts for operations without required members. Any
/// other body must be a JSON object (serde would otherwise read a struct from an array).
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, DispatchError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let body = match start.map(|i| body[i]) {
        None => b"{}".as_slice(),
        Some(b'{') => body,
        Some(_) => {
            return Err(DispatchError::Serialization(
                "the request body must be a JSON object".into(),
            ))
        }
    };
    serde_json::from_slice(body).map_err(|e| DispatchError::Serialization(e.to_string()))
}

fn encode<T: Serialize>(output: &T) -> Result<Vec<u8>, DispatchError> {
    serde_json::to_vec(output)
        .map_err(|e| DispatchError::Ecs(EcsError::internal("encoding the answer", e)))
}
