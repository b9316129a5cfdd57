//! The per-cluster networks, and the addresses of awsvpc tasks on them.
//!
//! A cluster's network is created with an explicit subnet (the one the engine itself picks), so
//! that an awsvpc task can be given its address before it starts: the engine accepts a fixed
//! address only on a network whose subnet was configured. Its hostname is then the EC2-style
//! name of that address, as on ECS (`ip-10-0-0-5.ec2.internal`).

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use kecs_domain::ports::runtime::RuntimeError;

use super::spec::network_name;
use super::{failed, is_status, DockerRuntime, LABEL_CLUSTER};

/// Label on a network KECS created with an explicit subnet (fixed addresses possible).
const LABEL_SUBNET: &str = "kecs.subnet";

/// How long an address handed out stays reserved: until its container has started and the
/// engine lists it on the network, which takes far less.
const RESERVATION: Duration = Duration::from_secs(120);

/// Addresses handed out whose containers may not be running yet.
#[derive(Default)]
pub(super) struct Reserved(std::sync::Mutex<HashMap<Ipv4Addr, Instant>>);

impl Reserved {
    /// Reserves the first address of `subnet` that is neither `taken` nor reserved.
    fn reserve(&self, subnet: (Ipv4Addr, u8), taken: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
        let mut reserved = self.0.lock().unwrap_or_else(|p| p.into_inner());
        reserved.retain(|_, at| at.elapsed() < RESERVATION);
        let free = first_free(subnet, |ip| {
            taken.contains(&ip) || reserved.contains_key(&ip)
        })?;
        reserved.insert(free, Instant::now());
        Some(free)
    }
}

/// `a.b.c.d/n` as its address and prefix length.
fn parse_cidr(cidr: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = cidr.split_once('/')?;
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some(())?;
    Some((addr.parse().ok()?, len))
}

/// The first host address of `subnet` (network and broadcast addresses excluded) not `taken`.
fn first_free(subnet: (Ipv4Addr, u8), taken: impl Fn(Ipv4Addr) -> bool) -> Option<Ipv4Addr> {
    let (base, len) = subnet;
    let size = 1u64 << (32 - u32::from(len));
    let first = u64::from(u32::from(base)) & !(size - 1);
    (first + 1..first + size.saturating_sub(1))
        .filter_map(|n| u32::try_from(n).ok().map(Ipv4Addr::from))
        .find(|ip| !taken(*ip))
}

/// The EC2-style private DNS name of `ip` in `region`, as an awsvpc task's hostname on ECS.
pub fn ec2_hostname(ip: Ipv4Addr, region: &str) -> String {
    let dashed = ip.to_string().replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

impl DockerRuntime {
    /// The cluster's network, created (with an explicit subnet) when missing. A network seen
    /// once is taken to exist without asking the engine again, until a container cannot join
    /// it ([`Self::forget_network`]) or KECS removes it.
    pub(super) async fn ensure_network(&self, cluster_arn: &str) -> Result<String, RuntimeError> {
        let name = network_name(cluster_arn);
        if self.networks.contains(&name) {
            return Ok(name);
        }
        let _one_at_a_time = self.network_lock.lock().await;
        let made = self.make_network(cluster_arn, &name).await;
        if made.is_ok() {
            self.networks.insert(&name);
        }
        made.map(|()| name)
    }

    /// Forgets that the cluster's network exists (the engine said it does not).
    pub(super) fn forget_network(&self, cluster_arn: &str) {
        self.networks.remove(&network_name(cluster_arn));
    }

    async fn make_network(&self, cluster_arn: &str, name: &str) -> Result<(), RuntimeError> {
        let name = name.to_string();
        match self.docker.inspect_network(&name, None).await {
            Ok(_) => return Ok(()),
            Err(e) if is_status(&e, 404) => {}
            Err(e) => return Err(failed(format_args!("inspecting network {name}"), e)),
        }
        let mut labels = HashMap::from([(LABEL_CLUSTER.to_string(), cluster_arn.to_string())]);
        let request = |labels: HashMap<String, String>, ipam: Option<Ipam>| NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ipam,
            ..Default::default()
        };
        let creating = |e| failed(format_args!("creating network {name}"), e);
        match self
            .docker
            .create_network(request(labels.clone(), None))
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(()),
            Err(e) => return Err(creating(e)),
        }
        // Again with the subnet the engine chose, now as the network's configured one.
        let chosen = self
            .docker
            .inspect_network(&name, None)
            .await
            .ok()
            .and_then(|n| n.ipam?.config?.into_iter().find_map(ipv4_config));
        let Some(config) = chosen else {
            return Ok(());
        };
        self.docker.remove_network(&name).await.map_err(creating)?;
        labels.insert(LABEL_SUBNET.into(), "explicit".into());
        let ipam = Ipam {
            driver: Some("default".into()),
            config: Some(vec![config]),
            options: None,
        };
        match self
            .docker
            .create_network(request(labels, Some(ipam)))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 409) => Ok(()),
            Err(e) => Err(creating(e)),
        }
    }

    /// An address on the cluster's network for an awsvpc task's first container, or none when
    /// the network takes no fixed addresses (one created by an older KECS) or is full.
    pub(super) async fn reserve_address(
        &self,
        cluster_arn: &str,
    ) -> Result<Option<Ipv4Addr>, RuntimeError> {
        let name = network_name(cluster_arn);
        let network = self
            .docker
            .inspect_network(&name, None)
            .await
            .map_err(|e| failed(format_args!("inspecting network {name}"), e))?;
        if !network
            .labels
            .unwrap_or_default()
            .contains_key(LABEL_SUBNET)
        {
            return Ok(None);
        }
        let Some(config) = network
            .ipam
            .and_then(|i| i.config?.into_iter().find_map(ipv4_config))
        else {
            return Ok(None);
        };
        let Some(subnet) = config.subnet.as_deref().and_then(parse_cidr) else {
            return Ok(None);
        };
        let address = |s: &str| s.split('/').next().and_then(|a| a.parse().ok());
        let mut taken: HashSet<Ipv4Addr> = network
            .containers
            .unwrap_or_default()
            .values()
            .filter_map(|c| c.ipv4_address.as_deref().and_then(address))
            .collect();
        taken.extend(config.gateway.as_deref().and_then(address));
        Ok(self.reserved.reserve(subnet, &taken))
    }
}

/// The network's IPv4 subnet configuration, if `config` is one.
fn ipv4_config(config: IpamConfig) -> Option<IpamConfig> {
    let (addr, _) = parse_cidr(config.subnet.as_deref()?)?;
    (!addr.is_unspecified()).then_some(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_ec2_style_per_region() {
        let ip = Ipv4Addr::new(10, 0, 0, 5);
        assert_eq!(ec2_hostname(ip, "us-east-1"), "ip-10-0-0-5.ec2.internal");
        assert_eq!(
            ec2_hostname(ip, "eu-west-1"),
            "ip-10-0-0-5.eu-west-1.compute.internal"
        );
    }

    #[test]
    fn addresses_skip_the_network_the_taken_and_the_reserved() {
        let subnet = parse_cidr("172.20.0.0/16").unwrap();
        let gateway = Ipv4Addr::new(172, 20, 0, 1);
        let taken = HashSet::from([gateway, Ipv4Addr::new(172, 20, 0, 2)]);
        let reserved = Reserved::default();
        assert_eq!(
            reserved.reserve(subnet, &taken),
            Some(Ipv4Addr::new(172, 20, 0, 3))
        );
        assert_eq!(
            reserved.reserve(subnet, &taken),
            Some(Ipv4Addr::new(172, 20, 0, 4))
        );
        // A /30 has two host addresses; with both taken there is none.
        let tiny = parse_cidr("10.0.0.0/30").unwrap();
        let both = HashSet::from([Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]);
        assert_eq!(reserved.reserve(tiny, &both), None);
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("fd00::/64"), None);
    }
}
