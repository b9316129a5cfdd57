//! The task endpoints' listener (metadata, credentials, agent API): where it binds, what
//! containers are told, and where task-role credentials come from.
//!
//! On Docker the default address is ECS's own, 169.254.170.2 (port 51679: port 80 would need
//! privileges), made an address of this host by a Docker network whose gateway it is; every
//! container reaches it whatever its network mode. When that port is taken (another KECS), a
//! free one is used; when the address cannot be had at all, containers are not told of any
//! endpoint and tasks run without them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;

use kecs_domain::ports::credentials::{CredentialSource, StaticCredentials};
use kecs_domain::rules::task_endpoints::TaskEndpoints;
use kecs_secrets::{HostCredentials, StsCredentials};

use crate::settings::Settings;

/// ECS's address for the endpoints.
pub const ECS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
/// The port KECS serves them on at that address.
pub const DEFAULT_PORT: u16 = 51679;

/// Where the endpoints are served and what containers are told.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// The base URL containers are told, when not `http://<the bound address>`.
    pub url: Option<String>,
    /// The key of credentials IDs.
    pub key: Vec<u8>,
}

/// The address `settings` ask for: `--metadata-addr`, else 169.254.170.2:51679 on Docker;
/// none when off.
pub(crate) fn address(settings: &Settings) -> Option<SocketAddr> {
    match settings.metadata_addr.as_deref() {
        Some("off") => None,
        Some(addr) => addr.parse().ok(),
        None if settings.runtime == "docker" => {
            Some(SocketAddr::new(IpAddr::V4(ECS_ADDRESS), DEFAULT_PORT))
        }
        None => None,
    }
}

/// The link-local address a Docker network must give this host before `addr` can be bound.
pub(crate) fn network_gateway(addr: Option<SocketAddr>) -> Option<Ipv4Addr> {
    match addr?.ip() {
        IpAddr::V4(ip) if ip.is_link_local() => Some(ip),
        _ => None,
    }
}

/// Binds `settings.addr` (a free port of the same address when that one is taken); with what
/// containers are told. None, logged, when the address cannot be had.
pub(crate) fn listen(settings: EndpointSettings) -> Option<(TcpListener, TaskEndpoints)> {
    let listener = match TcpListener::bind(settings.addr) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let any_port = SocketAddr::new(settings.addr.ip(), 0);
            tracing::warn!(addr = %settings.addr, "the task endpoints' port is taken; using a free one");
            TcpListener::bind(any_port)
        }
        other => other,
    };
    let listener = match listener {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(addr = %settings.addr, error = %e, "cannot serve the task endpoints (metadata, credentials): containers get none");
            return None;
        }
    };
    let bound = listener.local_addr().ok()?;
    let base_url = settings.url.unwrap_or_else(|| format!("http://{bound}"));
    tracing::info!(addr = %bound, url = %base_url, "serving the task endpoints (metadata, credentials, agent API)");
    Some((
        listener,
        TaskEndpoints {
            base_url,
            key: settings.key,
        },
    ))
}

/// Where task-role credentials come from, as `settings` say.
pub(crate) async fn credentials(settings: &Settings) -> Arc<dyn CredentialSource> {
    match (
        settings.task_credentials.as_str(),
        settings.aws_endpoint_url.as_deref(),
    ) {
        ("host", _) => Arc::new(HostCredentials::new().await),
        ("sts", Some(url)) => Arc::new(StsCredentials::new(url, &settings.region).await),
        _ => Arc::new(StaticCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_falls_back_to_a_free_one_and_a_foreign_address_to_none() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let settings = |addr: SocketAddr| EndpointSettings {
            addr,
            url: None,
            key: b"k".repeat(32),
        };
        let (listener, endpoints) = listen(settings(taken.local_addr().unwrap())).unwrap();
        let bound = listener.local_addr().unwrap();
        assert_ne!(bound, taken.local_addr().unwrap());
        assert_eq!(endpoints.base_url, format!("http://{bound}"));
        // TEST-NET-3 is no address of this host.
        assert!(listen(settings("203.0.113.77:51679".parse().unwrap())).is_none());
    }

    #[test]
    fn only_link_local_addresses_need_a_network() {
        let ecs = SocketAddr::new(IpAddr::V4(ECS_ADDRESS), DEFAULT_PORT);
        assert_eq!(network_gateway(Some(ecs)), Some(ECS_ADDRESS));
        assert_eq!(network_gateway("0.0.0.0:51679".parse().ok()), None);
        assert_eq!(network_gateway(None), None);
    }
}
