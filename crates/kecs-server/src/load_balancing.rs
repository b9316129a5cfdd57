//! The local load balancer's settings: `--load-balancer-port <target group>=<port>`
//! (repeatable), `--load-balancer-port-range` and `--deregistration-delay`. Listeners bind the
//! API address's IP; only the Docker runtime's tasks are reachable from here.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kecs_domain::ports::traffic::{NoTraffic, TrafficRouter};
use kecs_proxy::{ListenerPorts, LocalLoadBalancer};

use crate::settings::Settings;
use crate::ServerError;

fn bad(what: &str, value: &str, why: &str) -> ServerError {
    ServerError::Setting(format!("{what} '{value}': {why}"))
}

/// Where target groups' listeners go, as the settings say.
pub fn listener_ports(settings: &Settings) -> Result<ListenerPorts, ServerError> {
    let mut mapped: Vec<(String, u16)> = vec![];
    for given in &settings.load_balancer_ports {
        let (group, port) = given
            .rsplit_once('=')
            .ok_or_else(|| bad("load_balancer_port", given, "must be <target group>=<port>"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad("load_balancer_port", given, "the port must be 1 to 65535"))?;
        if group.is_empty() || port == 0 {
            return Err(bad(
                "load_balancer_port",
                given,
                "must be <target group>=<port>",
            ));
        }
        if mapped.iter().any(|(_, p)| *p == port) {
            return Err(bad("load_balancer_port", given, "the port is given twice"));
        }
        mapped.push((group.to_string(), port));
    }
    let range = &settings.load_balancer_port_range;
    let (first, last) = range
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)))
        .filter(|(a, b)| *a > 0 && a <= b)
        .ok_or_else(|| bad("load_balancer_port_range", range, "must be <first>-<last>"))?;
    let ip = settings
        .api_addr
        .parse::<SocketAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.ip());
    Ok(ListenerPorts {
        ip,
        mapped,
        range: first..=last,
    })
}

/// The router services' load balancers use (nothing listens unless tasks run on Docker), and
/// the deregistration delay.
pub fn router(settings: &Settings) -> Result<(Arc<dyn TrafficRouter>, Duration), ServerError> {
    let delay = Duration::from_secs(settings.deregistration_delay);
    if settings.runtime != "docker" {
        return Ok((Arc::new(NoTraffic), delay));
    }
    let ports = listener_ports(settings)?;
    Ok((Arc::new(LocalLoadBalancer::new(ports)), delay))
}
