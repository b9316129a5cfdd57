//! KECS's local load balancer, the traffic port's adapter: one listener on the host per target
//! group of a service's `loadBalancers`, forwarding HTTP requests (each to the next target in
//! turn) and other TCP connections to the targets KECS registers.
//!
//! A target group's port is the one the user mapped to its name or ARN
//! (`--load-balancer-port`), or else the first free port of the configured range.

mod forward;
mod probe;
mod targets;

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};

use kecs_domain::ports::traffic::{Routed, Target, TargetGroupRoute, TrafficError, TrafficRouter};
use kecs_domain::Cause;
use targets::Targets;

/// Where target groups' listeners go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerPorts {
    /// The address listeners bind (KECS's API address's).
    pub ip: IpAddr,
    /// Ports the user gave, by target group name or ARN.
    pub mapped: Vec<(String, u16)>,
    /// Where a target group without a mapped port gets one: the first free.
    pub range: RangeInclusive<u16>,
}

impl ListenerPorts {
    /// The port mapped to `target_group_arn`, by its ARN or its name
    /// (`arn:...:targetgroup/<name>/<id>`).
    fn mapped(&self, target_group_arn: &str) -> Option<u16> {
        let name = target_group_arn
            .split_once(":targetgroup/")
            .and_then(|(_, rest)| rest.split('/').next());
        self.mapped
            .iter()
            .find(|(key, _)| key == target_group_arn || Some(key.as_str()) == name)
            .map(|(_, port)| *port)
    }
}

/// One target group's open listener.
struct Listener {
    address: SocketAddr,
    targets: Arc<Targets>,
    accept: tokio::task::JoinHandle<()>,
}

/// The local load balancer.
pub struct LocalLoadBalancer {
    ports: ListenerPorts,
    listeners: Mutex<HashMap<String, Listener>>,
    client: forward::Client,
}

impl std::fmt::Debug for LocalLoadBalancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLoadBalancer")
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

fn in_use(target_group: &str, port: u16, cause: Option<std::io::Error>) -> TrafficError {
    TrafficError::PortInUse {
        target_group: target_group.to_string(),
        port,
        cause: cause.map(Cause::new),
    }
}

impl LocalLoadBalancer {
    /// A load balancer that opens listeners as `ports` says (none is open yet).
    pub fn new(ports: ListenerPorts) -> Self {
        Self {
            ports,
            listeners: Mutex::new(HashMap::new()),
            client: forward::client(),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, Listener>> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The port `target_group` would listen on, bound (so that it stays free), unless it is
    /// open already.
    fn bind(
        &self,
        open: &HashMap<String, Listener>,
        target_group: &str,
    ) -> Result<std::net::TcpListener, TrafficError> {
        let taken: BTreeSet<u16> = open
            .iter()
            .filter(|(group, _)| group.as_str() != target_group)
            .map(|(_, l)| l.address.port())
            .collect();
        let bind = |port: u16| std::net::TcpListener::bind(SocketAddr::new(self.ports.ip, port));
        if let Some(port) = self.ports.mapped(target_group) {
            if taken.contains(&port) {
                return Err(in_use(target_group, port, None));
            }
            return bind(port).map_err(|e| in_use(target_group, port, Some(e)));
        }
        self.ports
            .range
            .clone()
            .filter(|port| !taken.contains(port))
            .find_map(|port| bind(port).ok())
            .ok_or_else(|| TrafficError::NoFreePort(target_group.to_string()))
    }
}

impl LocalLoadBalancer {
    /// Opens the listener of `target_group` and serves it.
    fn listen(
        &self,
        open: &HashMap<String, Listener>,
        target_group: &str,
    ) -> Result<Listener, TrafficError> {
        let bound = self.bind(open, target_group)?;
        let address = bound
            .local_addr()
            .map_err(|e| in_use(target_group, 0, Some(e)))?;
        let failed = |e| in_use(target_group, address.port(), Some(e));
        bound.set_nonblocking(true).map_err(failed)?;
        let listener = tokio::net::TcpListener::from_std(bound).map_err(failed)?;
        let targets = Arc::new(Targets::default());
        let accept = tokio::spawn(forward::accept(
            listener,
            targets.clone(),
            self.client.clone(),
        ));
        tracing::info!(target_group, %address, "load balancer listener opened");
        Ok(Listener {
            address,
            targets,
            accept,
        })
    }
}

impl Drop for LocalLoadBalancer {
    fn drop(&mut self) {
        for listener in self.open().values() {
            listener.accept.abort();
        }
    }
}

/// What changed from `before` to `after`.
fn changes(before: &[Target], after: &[Target]) -> (Vec<Target>, Vec<Target>) {
    let registered = after.iter().filter(|t| !before.contains(t)).cloned();
    let deregistered = before.iter().filter(|t| !after.contains(t)).cloned();
    (registered.collect(), deregistered.collect())
}

#[async_trait::async_trait]
impl TrafficRouter for LocalLoadBalancer {
    fn listener(&self, target_group_arn: &str) -> Result<Option<String>, TrafficError> {
        let open = self.open();
        if let Some(listener) = open.get(target_group_arn) {
            return Ok(Some(listener.address.to_string()));
        }
        // Bound and let go at once: only to see that it can be.
        let probe = self.bind(&open, target_group_arn)?;
        Ok(probe.local_addr().ok().map(|a| a.to_string()))
    }

    async fn route(&self, route: &TargetGroupRoute) -> Result<Routed, TrafficError> {
        let group = route.target_group_arn.as_str();
        let (address, targets) = {
            let mut open = self.open();
            if !open.contains_key(group) {
                let listener = self.listen(&open, group)?;
                open.insert(group.to_string(), listener);
            }
            match open.get(group) {
                Some(l) => (l.address, l.targets.clone()),
                None => return Ok(Routed::default()),
            }
        };
        // A target taking traffic keeps it; a new one takes it once it passes the check.
        let before = targets.all();
        let (kept, new): (Vec<&Target>, Vec<&Target>) =
            route.targets.iter().partition(|t| before.contains(t));
        let checks = futures::future::join_all(new.iter().map(|t| probe::answers(&t.address)));
        let passed = checks.await;
        let mut taking: Vec<Target> = kept.into_iter().cloned().collect();
        taking.extend(
            new.iter()
                .zip(&passed)
                .filter(|(_, ok)| **ok)
                .map(|(t, _)| (*t).clone()),
        );
        taking.sort();
        let (registered, deregistered) = changes(&before, &taking);
        targets.set(taking.clone());
        Ok(Routed {
            listener: Some(address.to_string()),
            targets: taking,
            waiting: passed.iter().filter(|ok| !**ok).count(),
            registered,
            deregistered,
        })
    }

    async fn close(&self, target_group_arn: &str) {
        if let Some(listener) = self.open().remove(target_group_arn) {
            listener.accept.abort();
            tracing::info!(target_group = target_group_arn, address = %listener.address, "load balancer listener closed");
        }
    }
}
