//! Where tasks' secrets and environment files come from: the secrets file, then the
//! AWS-compatible endpoint, whichever are configured.

use std::sync::Arc;

use kecs_domain::ports::secrets::{NoSecrets, SecretSource};
use kecs_secrets::{AwsSecrets, Chain, FileSecrets};

use crate::error::ServerError;
use crate::settings::Settings;

/// The sources `settings` name, asked in that order; none: every lookup says so.
pub(crate) async fn source(settings: &Settings) -> Result<Arc<dyn SecretSource>, ServerError> {
    let mut sources: Vec<Arc<dyn SecretSource>> = vec![];
    if let Some(path) = &settings.secrets_file {
        let file = FileSecrets::open(path).map_err(|e| ServerError::Setting(e.to_string()))?;
        sources.push(Arc::new(file));
    }
    if let Some(url) = settings
        .aws_endpoint_url
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        sources.push(Arc::new(AwsSecrets::new(url, &settings.region).await));
    }
    Ok(match sources.len() {
        0 => Arc::new(NoSecrets),
        1 => sources.remove(0),
        _ => Arc::new(Chain(sources)),
    })
}
