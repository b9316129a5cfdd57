//! What the task endpoints and the logs read of the engine: a container's statistics and its
//! output, the machine's resources, and the network that gives the host the endpoints' address.
//!
//! The endpoints' address (169.254.170.2, as on ECS) becomes the host's own as the gateway of a
//! bridge network KECS creates for it; containers on every network mode then reach it through
//! their default route (bridge, awsvpc) or directly (host), without privileges or NAT rules.

use std::net::Ipv4Addr;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{LogsOptionsBuilder, StatsOptions};
use futures::StreamExt;
use kecs_domain::model::Task;
use kecs_domain::ports::runtime::{HostResources, LogLine, RuntimeError};

use super::{failed, is_status, DockerRuntime};

/// The network whose gateway is the endpoints' address.
/// (A dot, which no cluster name has: never the network of a cluster.)
pub const ENDPOINT_NETWORK: &str = "kecs.task-endpoints";

/// The engine's machine: 1,024 CPU units per core and its memory, as the ECS agent registers
/// them; none when the engine does not say.
pub(super) async fn host_resources(docker: &bollard::Docker) -> Option<HostResources> {
    let info = docker.info().await.ok()?;
    Some(HostResources {
        cpu: i32::try_from(info.ncpu? * 1024).ok()?,
        memory_mib: i32::try_from(info.mem_total? / (1024 * 1024)).ok()?,
    })
}

impl DockerRuntime {
    /// Makes `gateway` an address of this host, as the gateway of the bridge network
    /// [`ENDPOINT_NETWORK`] (its /24), unless that network exists already.
    pub async fn ensure_endpoint_network(&self, gateway: Ipv4Addr) -> Result<(), RuntimeError> {
        let _one_at_a_time = self.network_lock.lock().await;
        match self.docker.inspect_network(ENDPOINT_NETWORK, None).await {
            Ok(_) => return Ok(()),
            Err(e) if is_status(&e, 404) => {}
            Err(e) => {
                return Err(failed(
                    format_args!("inspecting network {ENDPOINT_NETWORK}"),
                    e,
                ))
            }
        }
        let [a, b, c, _] = gateway.octets();
        let request = NetworkCreateRequest {
            name: ENDPOINT_NETWORK.into(),
            driver: Some("bridge".into()),
            ipam: Some(Ipam {
                driver: Some("default".into()),
                config: Some(vec![IpamConfig {
                    subnet: Some(format!("{a}.{b}.{c}.0/24")),
                    gateway: Some(gateway.to_string()),
                    ..Default::default()
                }]),
                options: None,
            }),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 409) => Ok(()),
            Err(e) => Err(failed(
                format_args!("creating network {ENDPOINT_NETWORK}"),
                e,
            )),
        }
    }

    /// The engine's statistics of a container (two samples, so that CPU use can be computed
    /// from `precpu_stats`), or none when the container is gone.
    pub(super) async fn stats(
        &self,
        runtime_id: &str,
    ) -> Result<Option<serde_json::Value>, RuntimeError> {
        let options = StatsOptions {
            stream: false,
            one_shot: false,
        };
        let mut stream = self.docker.stats(runtime_id, Some(options));
        match stream.next().await {
            Some(Ok(stats)) => serde_json::to_value(stats)
                .map(Some)
                .map_err(|e| RuntimeError::engine_with("encoding container statistics", e)),
            Some(Err(e)) if is_status(&e, 404) => Ok(None),
            Some(Err(e)) => Err(failed(
                format_args!("reading statistics of {runtime_id}"),
                e,
            )),
            None => Ok(None),
        }
    }

    /// The lines (the last `tail`, or all) the container `container` of `task` wrote.
    pub(super) async fn tail_logs(
        &self,
        task: &Task,
        container: &str,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        let Some((_, id)) = self
            .containers_of(task.task_arn.as_deref().unwrap_or_default())
            .await?
            .into_iter()
            .find(|(name, _)| name == container)
        else {
            return Ok(vec![]);
        };
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail(&tail.map_or_else(|| "all".to_string(), |n| n.to_string()))
            .build();
        let mut stream = self.docker.logs(&id, Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&chunk.map_err(|e| failed("reading logs", e))?.to_string());
        }
        Ok(text.lines().map(crate::log_line::parse).collect())
    }
}
