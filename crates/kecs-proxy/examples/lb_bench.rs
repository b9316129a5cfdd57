//! The local load balancer in front of the targets given as arguments (`host:port` each), for
//! `scripts/bench-lb.sh`: prints the listener's address, then serves until killed.

use std::net::{IpAddr, Ipv4Addr};

use kecs_domain::ports::traffic::{Target, TargetGroupRoute, TrafficRouter};
use kecs_proxy::{ListenerPorts, LocalLoadBalancer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let targets: Vec<Target> = std::env::args()
        .skip(1)
        .enumerate()
        .map(|(i, address)| Target {
            task_arn: format!("target-{i}"),
            address,
        })
        .collect();
    let lb = LocalLoadBalancer::new(ListenerPorts {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        mapped: vec![],
        range: 41000..=41999,
    });
    let routed = lb
        .route(&TargetGroupRoute {
            target_group_arn: "bench".into(),
            targets,
        })
        .await?;
    if routed.waiting > 0 {
        return Err(format!("{} targets do not answer", routed.waiting).into());
    }
    println!("{}", routed.listener.unwrap_or_default());
    std::future::pending::<()>().await;
    Ok(())
}
