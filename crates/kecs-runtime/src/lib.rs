//! KECS's container runtime adapters: the domain's runtime port on the local Docker engine
//! ([`docker::DockerRuntime`], bollard) and on a Kubernetes cluster ([`kubernetes`], kube).

pub mod docker;
mod env;
mod image_ref;
pub mod kubernetes;
mod log_line;
mod pull_behavior;

pub use pull_behavior::{PullBehavior, UnknownPullBehavior};

use std::fmt;
use std::str::FromStr;

/// The container runtime tasks run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeKind {
    /// The local Docker engine (the default).
    #[default]
    Docker,
    /// Pods on a Kubernetes cluster.
    Kubernetes,
    /// No containers: the API alone.
    None,
}

impl RuntimeKind {
    /// The name used in configuration.
    pub fn as_str(&self) -> &'static str {
        match self {
            RuntimeKind::Docker => "docker",
            RuntimeKind::Kubernetes => "kubernetes",
            RuntimeKind::None => "none",
        }
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A runtime name KECS does not know (the name given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown runtime '{0}': expected docker, kubernetes or none")]
pub struct UnknownRuntime(pub String);

impl FromStr for RuntimeKind {
    type Err = UnknownRuntime;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "docker" => Ok(RuntimeKind::Docker),
            "kubernetes" => Ok(RuntimeKind::Kubernetes),
            "none" => Ok(RuntimeKind::None),
            other => Err(UnknownRuntime(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_runtime_and_rejects_others() {
        for k in [
            RuntimeKind::Docker,
            RuntimeKind::Kubernetes,
            RuntimeKind::None,
        ] {
            assert_eq!(k.as_str().parse::<RuntimeKind>(), Ok(k));
        }
        assert!("podman".parse::<RuntimeKind>().is_err());
    }
}
