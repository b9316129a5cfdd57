//! Images, pulled as the ECS agent pulls them: per the pull behaviour, with the user's Docker
//! credentials (`~/.docker/config.json` or `$DOCKER_CONFIG`, credential helpers included), one
//! pull per image however many containers wait for it, progress in the log.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::StreamExt;
use kecs_domain::ports::runtime::{RegistryAuth, RuntimeError};

use super::{failed, is_unreachable};
use crate::image_ref::{registry_of, split_reference};
use crate::PullBehavior;

/// How often a long pull reports its progress in the log.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The outcome of one pull, shared by everyone waiting on it: the registry's refusal, if any.
type PullResult = Result<(), String>;

/// Pulls images for the Docker runtime.
pub(super) struct Puller {
    behavior: PullBehavior,
    /// Images this KECS has pulled (the `once` behaviour).
    pulled: Mutex<HashSet<String>>,
    /// Pulls in flight, by image.
    inflight: Mutex<HashMap<String, Shared<BoxFuture<'static, PullResult>>>>,
}

/// The user's credentials for `registry`, from Docker's configuration, if it has any.
fn credentials(registry: &str) -> Option<DockerCredentials> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    match docker_credential::get_credential(registry) {
        Ok(DockerCredential::UsernamePassword(username, password)) => Some(DockerCredentials {
            username: Some(username),
            password: Some(password),
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        }),
        Ok(DockerCredential::IdentityToken(token)) => Some(DockerCredentials {
            identitytoken: Some(token),
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        }),
        // No configuration at all is read as no credentials (the crate says "unable to read").
        Err(E::NoCredentialConfigured | E::ConfigNotFound | E::ConfigReadError) => None,
        Err(e) => {
            tracing::warn!(%registry, error = %e, "reading Docker credentials failed; pulling anonymously");
            None
        }
    }
}

/// Pulls `image` with `given` credentials (else the user's Docker configuration's), logging
/// progress; the registry's error message when it fails.
async fn pull(docker: Docker, image: String, given: Option<DockerCredentials>) -> PullResult {
    let (repo, tag) = split_reference(&image);
    let options = CreateImageOptionsBuilder::new()
        .from_image(repo)
        .tag(tag)
        .build();
    let registry = registry_of(&image).to_string();
    let auth = match given {
        Some(given) => Some(given),
        None => tokio::task::spawn_blocking(move || credentials(&registry))
            .await
            .ok()
            .flatten(),
    };
    tracing::info!(%image, "pulling image");
    let started = Instant::now();
    let mut reported = Instant::now();
    let mut layers_done = 0;
    let mut stream = docker.create_image(Some(options), None, auth);
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => return Err(error),
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                return Err(message)
            }
            Err(e) => return Err(e.to_string()),
        };
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(message);
        }
        if info.status.as_deref() == Some("Pull complete") {
            layers_done += 1;
        }
        if reported.elapsed() >= PROGRESS_EVERY {
            reported = Instant::now();
            tracing::info!(%image, layers_done, seconds = started.elapsed().as_secs(), "still pulling image");
        }
    }
    tracing::info!(%image, layers_done, seconds = started.elapsed().as_secs_f64(), "pulled image");
    Ok(())
}

impl Puller {
    pub(super) fn new(behavior: PullBehavior) -> Self {
        Self {
            behavior,
            pulled: Mutex::default(),
            inflight: Mutex::default(),
        }
    }

    /// The pull of `image` with `auth` in flight, or a new one (pulls with other credentials
    /// are not shared).
    fn shared_pull(
        &self,
        docker: &Docker,
        image: &str,
        auth: Option<&RegistryAuth>,
    ) -> (String, Shared<BoxFuture<'static, PullResult>>) {
        let key = format!("{image}\u{0}{}", auth.map_or("", |a| a.username.as_str()));
        let given = auth.map(|a| DockerCredentials {
            username: Some(a.username.clone()),
            password: Some(a.password.clone()),
            serveraddress: Some(registry_of(image).to_string()),
            ..Default::default()
        });
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        let shared = inflight
            .entry(key.clone())
            .or_insert_with(|| {
                pull(docker.clone(), image.to_string(), given)
                    .boxed()
                    .shared()
            })
            .clone();
        (key, shared)
    }

    /// Makes `image` available as the pull behaviour says; returns its digest when the engine
    /// knows one (an image pulled from a registry).
    pub(super) async fn ensure(
        &self,
        docker: &Docker,
        image: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<Option<String>, RuntimeError> {
        let inspected = match docker.inspect_image(image).await {
            Ok(found) => Some(found),
            Err(e) if is_unreachable(&e) => return Err(failed("inspecting an image", e)),
            Err(_) => None,
        };
        let cached = inspected.is_some();
        let pulled_before = self
            .pulled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(image);
        // What the engine had before any pull (also the digest when nothing new comes).
        let cached_digest = || inspected.and_then(|i| digest_in(image, i.repo_digests?));
        if !self.behavior.pulls(cached, pulled_before) {
            return Ok(cached_digest());
        }
        let (key, pulling) = self.shared_pull(docker, image, auth);
        let outcome = pulling.await;
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        match outcome {
            Ok(()) => {
                self.pulled
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(image.to_string());
                Ok(digest_of(docker, image).await)
            }
            Err(why) if cached && self.behavior.falls_back() => {
                tracing::info!(%image, error = %why, "pull failed; using the cached image");
                Ok(cached_digest())
            }
            Err(why) => Err(RuntimeError::engine(format!(
                "CannotPullContainerError: Error response from daemon: {why}"
            ))),
        }
    }
}

/// The digest the engine recorded for `image` when it was pulled from its repository.
async fn digest_of(docker: &Docker, image: &str) -> Option<String> {
    digest_in(image, docker.inspect_image(image).await.ok()?.repo_digests?)
}

/// The digest of `image` among the engine's `repo@digest` entries for it.
fn digest_in(image: &str, digests: Vec<String>) -> Option<String> {
    let (repo, _) = split_reference(image);
    let named = |d: &&String| d.split_once('@').is_some_and(|(r, _)| r == repo);
    let chosen = digests.iter().find(named).or(digests.first())?;
    chosen.split_once('@').map(|(_, digest)| digest.to_string())
}
