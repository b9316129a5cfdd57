//! A task's launch-time values: each container's `secrets` and `environmentFiles` (its own and
//! RunTask's override), resolved through the secrets port into the environment the runtime
//! gives the container, its log driver's `secretOptions` into the driver's options, and its
//! `repositoryCredentials` into what its image is pulled with; never into the stored task, its
//! events or its logs.

use crate::core::Core;
use crate::model::{ContainerDefinition, EnvironmentFile, KeyValuePair, Task, TaskDefinition};
use crate::ports::runtime::RegistryAuth;
use crate::rules::secret_ref::{env_file, json_key, parse_s3_arn, parse_value_from, SecretRef};

const UNABLE: &str = "ResourceInitializationError: unable to pull secrets or registry auth";

/// The value a `valueFrom` names; the error is the task's stop reason.
async fn value_of(core: &Core, value_from: &str) -> Result<String, String> {
    let reference = parse_value_from(value_from).map_err(|e| format!("{UNABLE}: {e}"))?;
    match reference {
        SecretRef::Parameter(name) => core.secrets().parameter(name).await.map_err(|e| {
            format!("{UNABLE}: unable to retrieve secrets from ssm: parameter '{name}': {e}")
        }),
        SecretRef::Secret {
            id,
            json_key: key,
            version_stage,
            version_id,
        } => {
            let failed = |e: String| {
                format!("{UNABLE}: unable to retrieve secret from asm: secret '{id}': {e}")
            };
            let secret = core
                .secrets()
                .secret(id, version_stage, version_id)
                .await
                .map_err(|e| failed(e.to_string()))?;
            match key {
                Some(key) => json_key(&secret, key).map_err(failed),
                None => Ok(secret),
            }
        }
    }
}

/// The variables of `files`, in order (a later file's value for a name wins).
async fn from_files(core: &Core, files: &[EnvironmentFile]) -> Result<Vec<KeyValuePair>, String> {
    let mut vars = vec![];
    for file in files {
        let arn = file.value.as_deref().unwrap_or_default();
        let failed = |e: String| {
            format!("ResourceInitializationError: failed to download env files: file '{arn}': {e}")
        };
        let (bucket, key) = parse_s3_arn(arn).map_err(failed)?;
        let contents = core
            .secrets()
            .object(bucket, key)
            .await
            .map_err(|e| failed(e.to_string()))?;
        for (name, value) in env_file(&contents).map_err(failed)? {
            vars.push(KeyValuePair {
                name: Some(name),
                value: Some(value),
            });
        }
    }
    Ok(vars)
}

/// `def` with its environment files' variables first, then its own environment, then its
/// secrets (the runtime lets a later value for a name win).
async fn resolve_container(
    core: &Core,
    def: &ContainerDefinition,
    override_files: &[EnvironmentFile],
) -> Result<ContainerDefinition, String> {
    let files: Vec<EnvironmentFile> = def
        .environment_files
        .iter()
        .flatten()
        .chain(override_files)
        .cloned()
        .collect();
    let mut environment = from_files(core, &files).await?;
    environment.extend(def.environment.iter().flatten().cloned());
    for secret in def.secrets.iter().flatten() {
        environment.push(KeyValuePair {
            name: secret.name.clone(),
            value: Some(value_of(core, secret.value_from.as_deref().unwrap_or_default()).await?),
        });
    }
    // The log driver's secret options become its options, as the agent hands them over.
    let mut log_configuration = def.log_configuration.clone();
    if let Some(config) = log_configuration.as_mut() {
        for secret in config.secret_options.take().unwrap_or_default() {
            let value = value_of(core, secret.value_from.as_deref().unwrap_or_default()).await?;
            let name = secret.name.unwrap_or_default();
            config
                .options
                .get_or_insert_with(Default::default)
                .insert(name, value);
        }
    }
    Ok(ContainerDefinition {
        environment: Some(environment),
        log_configuration,
        ..def.clone()
    })
}

/// The credentials `def`'s image is pulled with: its `repositoryCredentials`, a Secrets Manager
/// secret holding `{"username": ..., "password": ...}`.
pub(crate) async fn registry_auth(
    core: &Core,
    def: Option<&ContainerDefinition>,
) -> Result<Option<RegistryAuth>, String> {
    let Some(id) = def
        .and_then(|d| d.repository_credentials.as_ref())
        .and_then(|r| r.credentials_parameter.as_deref())
    else {
        return Ok(None);
    };
    let failed = |e: String| {
        format!("{UNABLE}: unable to retrieve registry credentials: secret '{id}': {e}")
    };
    let secret = core
        .secrets()
        .secret(id, None, None)
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(Some(RegistryAuth {
        username: json_key(&secret, "username").map_err(failed)?,
        password: json_key(&secret, "password").map_err(failed)?,
    }))
}

/// `td` with every container's secrets and environment files resolved into its environment
/// (and its log driver's secret options into its options), or `None` when it has none of them;
/// the error is the task's stop reason.
pub(crate) async fn resolve(
    core: &Core,
    task: &Task,
    td: &TaskDefinition,
) -> Result<Option<TaskDefinition>, String> {
    let override_files = |name: &Option<String>| -> Vec<EnvironmentFile> {
        task.overrides
            .as_ref()
            .and_then(|o| o.container_overrides.as_ref())
            .and_then(|o| o.iter().find(|o| o.name == *name))
            .and_then(|o| o.environment_files.clone())
            .unwrap_or_default()
    };
    let defs = td.container_definitions.as_deref().unwrap_or_default();
    let needed = defs.iter().any(|d| {
        d.secrets.as_ref().is_some_and(|s| !s.is_empty())
            || d.environment_files.as_ref().is_some_and(|f| !f.is_empty())
            || d.log_configuration
                .as_ref()
                .and_then(|l| l.secret_options.as_ref())
                .is_some_and(|s| !s.is_empty())
            || !override_files(&d.name).is_empty()
    });
    if !needed {
        return Ok(None);
    }
    let mut resolved = Vec::with_capacity(defs.len());
    for def in defs {
        resolved.push(resolve_container(core, def, &override_files(&def.name)).await?);
    }
    Ok(Some(TaskDefinition {
        container_definitions: Some(resolved),
        ..td.clone()
    }))
}
