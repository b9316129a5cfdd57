//! Task-role credentials (the domain's [`kecs_domain::ports::credentials`] port) from AWS's
//! own machinery: the credentials KECS itself runs with ([`HostCredentials`], the SDK's default
//! chain: environment, profile, ...), or AssumeRole of the task role at an AWS-compatible STS
//! endpoint ([`StsCredentials`]: moto, LocalStack, AWS), with the task's ID as the session name.

use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use kecs_domain::ports::credentials::{CredentialSource, CredentialsError, RoleCredentials};
use kecs_domain::Cause;

use crate::aws::{context, endpoint_config};

/// How long credentials without an expiry of their own are said to last.
const HOST_VALIDITY_SECS: f64 = 3600.0;

/// The credentials KECS runs with, handed to every task role.
#[derive(Debug)]
pub struct HostCredentials {
    provider: Option<SharedCredentialsProvider>,
}

impl HostCredentials {
    /// The SDK's default credentials chain.
    pub async fn new() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self {
            provider: config.credentials_provider(),
        }
    }
}

#[async_trait::async_trait]
impl CredentialSource for HostCredentials {
    async fn credentials(
        &self,
        _role_arn: &str,
        _task_arn: &str,
        now: f64,
    ) -> Result<RoleCredentials, CredentialsError> {
        let provider = self
            .provider
            .as_ref()
            .ok_or_else(|| CredentialsError::Refused("KECS runs without AWS credentials".into()))?;
        let found = provider
            .provide_credentials()
            .await
            .map_err(|e| CredentialsError::Failed {
                what: "reading the credentials KECS runs with".into(),
                cause: Cause::new(context(e)),
            })?;
        let expiration = found
            .expiry()
            .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(now + HOST_VALIDITY_SECS, |d| d.as_secs_f64());
        Ok(RoleCredentials {
            access_key_id: found.access_key_id().to_string(),
            secret_access_key: found.secret_access_key().to_string(),
            token: found.session_token().unwrap_or_default().to_string(),
            expiration,
        })
    }
}

/// AssumeRole of each task's role at an STS endpoint, signed with KECS's own credentials.
#[derive(Debug, Clone)]
pub struct StsCredentials {
    sts: aws_sdk_sts::Client,
}

impl StsCredentials {
    /// A client of `endpoint_url` in `region` (no request is made yet).
    pub async fn new(endpoint_url: &str, region: &str) -> Self {
        let config = endpoint_config(endpoint_url, region).await;
        Self {
            sts: aws_sdk_sts::Client::new(&config),
        }
    }
}

#[async_trait::async_trait]
impl CredentialSource for StsCredentials {
    async fn credentials(
        &self,
        role_arn: &str,
        task_arn: &str,
        _now: f64,
    ) -> Result<RoleCredentials, CredentialsError> {
        let session = task_arn.rsplit('/').next().unwrap_or("kecs-task");
        let answer = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session)
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some() => {
                return Err(CredentialsError::Refused(context(e).to_string()))
            }
            Err(e) => {
                return Err(CredentialsError::Failed {
                    what: format!("AssumeRole {role_arn}"),
                    cause: Cause::new(context(e)),
                })
            }
        };
        let c = out.credentials.ok_or_else(|| {
            CredentialsError::Refused(format!("AssumeRole {role_arn} gave no credentials"))
        })?;
        Ok(RoleCredentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            token: c.session_token,
            expiration: c.expiration.as_secs_f64(),
        })
    }
}
