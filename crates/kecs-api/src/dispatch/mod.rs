//! Decoding an operation's input, calling the service, encoding its output.

mod generated;
mod logs_generated;

pub use generated::dispatch;
pub use logs_generated::dispatch_logs;

use kecs_domain::{EcsError, LogsError};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::AwsError;

/// Why a dispatch failed.
#[derive(Debug)]
pub enum DispatchError {
    /// The body is not the operation's input.
    Serialization(String),
    /// A required member is missing (its path).
    MissingRequired(String),
    /// A member's value is not one of its enum's (path, value, allowed values).
    NotInEnum(String, String, Vec<String>),
    /// The service refused or failed.
    Ecs(EcsError),
    /// The CloudWatch Logs service refused or failed.
    Logs(LogsError),
}

impl From<EcsError> for DispatchError {
    fn from(e: EcsError) -> Self {
        DispatchError::Ecs(e)
    }
}

impl From<LogsError> for DispatchError {
    fn from(e: LogsError) -> Self {
        DispatchError::Logs(e)
    }
}

impl From<DispatchError> for AwsError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Serialization(m) => AwsError::serialization(m),
            DispatchError::MissingRequired(p) => AwsError::missing_required(&p),
            DispatchError::NotInEnum(path, value, allowed) => {
                AwsError::not_in_enum(&path, &value, &allowed)
            }
            DispatchError::Ecs(e) => e.into(),
            DispatchError::Logs(e) => e.into(),
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
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = aws_path(&e.path().to_string());
        match unknown_variant(&e.inner().to_string()) {
            Some((value, allowed)) => DispatchError::NotInEnum(path, value, allowed),
            None => DispatchError::Serialization(e.inner().to_string()),
        }
    })?;
    de.end()
        .map_err(|e| DispatchError::Serialization(e.to_string()))?;
    Ok(value)
}

/// serde's `a.b[0].c` as AWS's validation messages write it: `a.b.1.member.c`.
fn aws_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find(']').map_or(rest.len(), |c| open + c);
        let index = rest[open + 1..close].parse::<usize>().map_or(0, |i| i + 1);
        out.push_str(&format!(".{index}.member"));
        rest = rest.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The value and the allowed ones of serde_json's "unknown variant `X`, expected one of `A`,
/// `B`" (or "expected `A`").
fn unknown_variant(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (value, rest) = rest.split_once('`')?;
    let expected = rest.split(" at line ").next().unwrap_or(rest);
    let allowed = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((value.to_string(), allowed))
}

fn encode<T: Serialize>(output: &T) -> Result<Vec<u8>, DispatchError> {
    serde_json::to_vec(output)
        .map_err(|e| DispatchError::Ecs(EcsError::internal("encoding the answer", e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_enum_value_is_named_with_its_member_and_the_allowed_values() {
        let got = decode::<kecs_domain::model::RunTaskRequest>(
            br#"{"taskDefinition":"t","launchType":"Fargate"}"#,
        );
        let Err(DispatchError::NotInEnum(path, value, allowed)) = got else {
            panic!("{got:?}");
        };
        assert_eq!((path.as_str(), value.as_str()), ("launchType", "Fargate"));
        assert!(allowed.contains(&"FARGATE".to_string()) && allowed.len() >= 3);
        assert_eq!(
            aws_path("containerDefinitions[1].logConfiguration.logDriver"),
            "containerDefinitions.2.member.logConfiguration.logDriver"
        );
        let wrong_type =
            decode::<kecs_domain::model::ListClustersRequest>(br#"{"maxResults":"ten"}"#);
        assert!(matches!(wrong_type, Err(DispatchError::Serialization(_))));
    }
}
