//! Secrets from a local TOML file (`--secrets-file`): SSM parameters, Secrets Manager secrets
//! and S3 objects (environment files) by the names and ARNs task definitions give.
//!
//! ```toml
//! [parameters]          # SSM parameters, by name (an ARN finds its name too)
//! "/prod/db/host" = "db.internal"
//!
//! [secrets]             # Secrets Manager secrets, by ARN or name
//! "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf" = '{"password":"s3cret"}'
//!
//! [objects]             # S3 objects, by ARN
//! "arn:aws:s3:::config/app.env" = "LOG_LEVEL=debug\n"
//! ```
//!
//! The file is read again at every launch, so that an edit needs no restart; a secret has one
//! value, whatever version is asked for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kecs_domain::ports::secrets::{SecretError, SecretSource};
use kecs_domain::Cause;

/// The file's tables.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    #[serde(default)]
    parameters: BTreeMap<String, String>,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    #[serde(default)]
    objects: BTreeMap<String, String>,
}

/// A secrets file that cannot be used (named, with why).
#[derive(Debug, thiserror::Error)]
pub enum SecretsFileError {
    /// It cannot be read.
    #[error("secrets file {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        cause: std::io::Error,
    },
    /// It is not the documented TOML.
    #[error("secrets file {path}: {cause}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        #[source]
        cause: toml::de::Error,
    },
}

/// Secrets from a TOML file.
#[derive(Debug, Clone)]
pub struct FileSecrets {
    path: PathBuf,
}

fn parse(path: &Path, text: &str) -> Result<Contents, SecretsFileError> {
    toml::from_str(text).map_err(|cause| SecretsFileError::Parse {
        path: path.to_path_buf(),
        cause,
    })
}

/// The names an SSM parameter ARN's name may have been written as (`parameter/prod/db` is
/// `/prod/db`; `parameter/db` is `db`).
fn parameter_names(name: &str) -> Vec<String> {
    let mut names = vec![name.to_string()];
    if let Some((_, path)) = name.split_once(":parameter/") {
        names.push(format!("/{path}"));
        names.push(path.to_string());
    }
    names
}

/// The names a Secrets Manager ARN's secret may have been written as (with and without the
/// six random characters AWS appends).
fn secret_names(id: &str) -> Vec<String> {
    let mut names = vec![id.to_string()];
    if let Some((_, name)) = id.split_once(":secret:") {
        names.push(name.to_string());
        if let Some((bare, suffix)) = name.rsplit_once('-') {
            if suffix.len() == 6 {
                names.push(bare.to_string());
            }
        }
    }
    names
}

impl FileSecrets {
    /// A source reading `path`, checked now: start-up fails on a file that cannot be used.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, SecretsFileError> {
        let source = Self { path: path.into() };
        let text =
            std::fs::read_to_string(&source.path).map_err(|cause| SecretsFileError::Read {
                path: source.path.clone(),
                cause,
            })?;
        parse(&source.path, &text)?;
        Ok(source)
    }

    async fn contents(&self, what: &str) -> Result<Contents, SecretError> {
        let failed = |cause: SecretsFileError| SecretError::Failed {
            what: what.to_string(),
            cause: Cause::new(cause),
        };
        let text = tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|cause| {
                failed(SecretsFileError::Read {
                    path: self.path.clone(),
                    cause,
                })
            })?;
        parse(&self.path, &text).map_err(failed)
    }

    fn not_found(&self, what: &str) -> SecretError {
        SecretError::NotFound(format!("{what} is not in {}", self.path.display()))
    }
}

fn first_of(table: &BTreeMap<String, String>, names: &[String]) -> Option<String> {
    names.iter().find_map(|n| table.get(n).cloned())
}

#[async_trait::async_trait]
impl SecretSource for FileSecrets {
    async fn parameter(&self, name: &str) -> Result<String, SecretError> {
        let what = format!("parameter {name}");
        let contents = self.contents(&what).await?;
        first_of(&contents.parameters, &parameter_names(name)).ok_or_else(|| self.not_found(&what))
    }

    async fn secret(
        &self,
        id: &str,
        _version_stage: Option<&str>,
        _version_id: Option<&str>,
    ) -> Result<String, SecretError> {
        let what = format!("secret {id}");
        let contents = self.contents(&what).await?;
        first_of(&contents.secrets, &secret_names(id)).ok_or_else(|| self.not_found(&what))
    }

    async fn object(&self, bucket: &str, key: &str) -> Result<String, SecretError> {
        let arn = format!("arn:aws:s3:::{bucket}/{key}");
        let what = format!("object {arn}");
        let contents = self.contents(&what).await?;
        contents
            .objects
            .get(&arn)
            .cloned()
            .ok_or_else(|| self.not_found(&what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[parameters]
"/prod/db/host" = "db.internal"
plain = "p"

[secrets]
"arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf" = '{"password":"s3cret"}'
api-key = "k"

[objects]
"arn:aws:s3:::config/app.env" = "A=1\n"
"#;

    fn source(text: &str) -> (tempfile::TempDir, Result<FileSecrets, SecretsFileError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        std::fs::write(&path, text).unwrap();
        (dir, FileSecrets::open(path))
    }

    #[tokio::test]
    async fn values_are_found_by_name_and_by_arn() {
        let (_dir, s) = source(FILE);
        let s = s.unwrap();
        assert_eq!(s.parameter("/prod/db/host").await.unwrap(), "db.internal");
        let arn = "arn:aws:ssm:us-east-1:000000000000:parameter/prod/db/host";
        assert_eq!(s.parameter(arn).await.unwrap(), "db.internal");
        let plain = "arn:aws:ssm:us-east-1:000000000000:parameter/plain";
        assert_eq!(s.parameter(plain).await.unwrap(), "p");
        let db = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";
        assert_eq!(
            s.secret(db, None, None).await.unwrap(),
            r#"{"password":"s3cret"}"#
        );
        let api = "arn:aws:secretsmanager:us-east-1:000000000000:secret:api-key-Zz9Zz9";
        assert_eq!(s.secret(api, Some("AWSCURRENT"), None).await.unwrap(), "k");
        assert_eq!(s.object("config", "app.env").await.unwrap(), "A=1\n");
        let missing = s.parameter("/nope").await.unwrap_err();
        assert!(
            matches!(&missing, SecretError::NotFound(m) if m.contains("/nope")),
            "{missing}"
        );
        assert!(s.object("config", "other.env").await.is_err());
    }

    #[test]
    fn a_file_that_cannot_be_used_is_refused_at_open() {
        let (_dir, s) = source("[parameter]\nx = 1\n");
        let e = s.unwrap_err().to_string();
        assert!(e.contains("secrets.toml") && e.contains("parameter"), "{e}");
        assert!(FileSecrets::open("/no/such/secrets.toml").is_err());
    }
}
