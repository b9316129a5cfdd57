//! The addresses a task's containers are given for the endpoints the ECS agent serves them: task
//! metadata (v3 and v4), task-role credentials and the agent API (task scale-in protection).
//!
//! A container's endpoint ID names its task and container (`<task ARN, base64url>.<container>`):
//! metadata is no secret, as anyone who can call DescribeTasks sees it. The credentials ID
//! carries a proof instead of a name alone: a keyed SHA-256 of the task ARN, which only the
//! holder of the key (KECS) can make, so one task cannot ask for another's credentials.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::model::{KeyValuePair, Task, TaskDefinition};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where the endpoints are served and the key credentials IDs are proved with.
#[derive(Clone, PartialEq, Eq)]
pub struct TaskEndpoints {
    /// The base URL containers reach the endpoints at (`http://169.254.170.2:51679`).
    pub base_url: String,
    /// The secret key of credentials IDs (kept across restarts, as running containers keep
    /// their environment).
    pub key: Vec<u8>,
}

impl std::fmt::Debug for TaskEndpoints {
    /// Never shows the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskEndpoints")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The role the task's containers get credentials for: RunTask's override, else the
/// definition's.
pub fn task_role<'t>(task: &'t Task, td: &'t TaskDefinition) -> Option<&'t str> {
    task.overrides
        .as_ref()
        .and_then(|o| o.task_role_arn.as_deref())
        .or(td.task_role_arn.as_deref())
        .filter(|r| !r.is_empty())
}

/// The endpoint ID of the container `container` of the task `task_arn`.
pub fn container_id(task_arn: &str, container: &str) -> String {
    format!("{}.{container}", B64.encode(task_arn))
}

/// The task ARN and container name an endpoint ID names, if it is one.
pub fn parse_container_id(id: &str) -> Option<(String, String)> {
    let (task, container) = id.split_once('.')?;
    let arn = String::from_utf8(B64.decode(task).ok()?).ok()?;
    (!container.is_empty()).then(|| (arn, container.to_string()))
}

fn proof(key: &[u8], task_arn: &str) -> String {
    let mut hash = Sha256::new();
    hash.update((key.len() as u64).to_be_bytes());
    hash.update(key);
    hash.update(task_arn.as_bytes());
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The credentials ID of the task `task_arn` and the token its requests carry.
pub fn credentials_id(key: &[u8], task_arn: &str) -> (String, String) {
    let token = proof(key, task_arn);
    (format!("{}.{token}", B64.encode(task_arn)), token)
}

/// The task ARN a credentials ID proves, if it proves one.
pub fn verify_credentials_id(key: &[u8], id: &str) -> Option<String> {
    let (task, given) = id.split_once('.')?;
    let arn = String::from_utf8(B64.decode(task).ok()?).ok()?;
    let expected = proof(key, &arn);
    // Compared in constant time: how far a guess matched must not show in the answer's timing.
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some(arn)
}

/// The variables the container `container` of `task_arn` is given: the metadata URIs (v4 and
/// v3), the agent URI and, when the task has a role, the credentials URI and token (the full
/// form: containers reach KECS at its address, not at 169.254.170.2 port 80).
pub fn environment(
    endpoints: &TaskEndpoints,
    task_arn: &str,
    container: &str,
    task_role: Option<&str>,
) -> Vec<KeyValuePair> {
    let base = endpoints.base_url.trim_end_matches('/');
    let id = container_id(task_arn, container);
    let var = |name: &str, value: String| KeyValuePair {
        name: Some(name.to_string()),
        value: Some(value),
    };
    let mut vars = vec![
        var("ECS_CONTAINER_METADATA_URI_V4", format!("{base}/v4/{id}")),
        var("ECS_CONTAINER_METADATA_URI", format!("{base}/v3/{id}")),
        var("ECS_AGENT_URI", format!("{base}/api/{id}")),
    ];
    if task_role.is_some_and(|r| !r.is_empty()) {
        let (credentials, token) = credentials_id(&endpoints.key, task_arn);
        vars.push(var(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{base}/v2/credentials/{credentials}"),
        ));
        vars.push(var("AWS_CONTAINER_AUTHORIZATION_TOKEN", token));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str =
        "arn:aws:ecs:us-east-1:000000000000:task/web/0123456789abcdef0123456789abcdef";

    fn endpoints() -> TaskEndpoints {
        TaskEndpoints {
            base_url: "http://169.254.170.2:51679/".into(),
            key: b"a key of thirty-two bytes, say..".to_vec(),
        }
    }

    #[test]
    fn a_container_id_names_its_task_and_container() {
        let id = container_id(TASK, "app-1");
        assert!(!id.contains('/') && !id.contains(':'), "{id}");
        assert_eq!(
            parse_container_id(&id),
            Some((TASK.to_string(), "app-1".to_string()))
        );
        assert_eq!(parse_container_id("no-dot"), None);
        assert_eq!(parse_container_id("!!!.app"), None);
        assert_eq!(parse_container_id(&format!("{}.", B64.encode(TASK))), None);
    }

    #[test]
    fn only_the_key_makes_a_credentials_id() {
        let key = endpoints().key;
        let (id, token) = credentials_id(&key, TASK);
        assert_eq!(token.len(), 32);
        assert!(id.ends_with(&token));
        assert_eq!(verify_credentials_id(&key, &id), Some(TASK.to_string()));
        assert_eq!(verify_credentials_id(b"another key", &id), None);
        let other = "arn:aws:ecs:us-east-1:000000000000:task/web/ffffffffffffffffffffffffffffffff";
        let forged = format!("{}.{token}", B64.encode(other));
        assert_eq!(
            verify_credentials_id(&key, &forged),
            None,
            "proof of another task"
        );
        assert_eq!(verify_credentials_id(&key, &id[..id.len() - 1]), None);
    }

    #[test]
    fn containers_get_metadata_and_agent_uris_and_credentials_only_with_a_role() {
        let names = |vars: &[KeyValuePair]| -> Vec<String> {
            vars.iter().filter_map(|v| v.name.clone()).collect()
        };
        let plain = environment(&endpoints(), TASK, "app", None);
        assert_eq!(
            names(&plain),
            [
                "ECS_CONTAINER_METADATA_URI_V4",
                "ECS_CONTAINER_METADATA_URI",
                "ECS_AGENT_URI"
            ]
        );
        let id = container_id(TASK, "app");
        assert_eq!(
            plain[0].value.as_deref(),
            Some(format!("http://169.254.170.2:51679/v4/{id}").as_str())
        );
        let with_role = environment(&endpoints(), TASK, "app", Some("arn:aws:iam::1:role/r"));
        let (credentials, token) = credentials_id(&endpoints().key, TASK);
        assert_eq!(
            with_role[3].value.as_deref(),
            Some(format!("http://169.254.170.2:51679/v2/credentials/{credentials}").as_str())
        );
        assert_eq!(
            with_role[4].name.as_deref(),
            Some("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        );
        assert_eq!(with_role[4].value.as_deref(), Some(token.as_str()));
        assert_eq!(environment(&endpoints(), TASK, "app", Some("")).len(), 3);
    }
}
