//! The local load balancer against real sockets: HTTP requests go to the registered targets in
//! turn, a deregistered target gets no more, TCP is spliced, and a mapped port that is taken
//! is refused.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use kecs_domain::ports::traffic::{Target, TargetGroupRoute, TrafficError, TrafficRouter};
use kecs_proxy::{ListenerPorts, LocalLoadBalancer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// An HTTP server answering `name` to every request; returns its address.
async fn http_server(name: &'static str) -> String {
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| async move {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(Bytes::from(name)),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

fn target(task: &str, address: &str) -> Target {
    Target {
        task_arn: task.into(),
        address: address.into(),
    }
}

fn balancer(mapped: Vec<(String, u16)>) -> LocalLoadBalancer {
    LocalLoadBalancer::new(ListenerPorts {
        ip: LOCAL,
        mapped,
        range: 41000..=41999,
    })
}

async fn get(listener: &str) -> (u16, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let response = client
        .get(format!("http://{listener}/").parse().unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn requests_go_to_the_registered_targets_in_turn() {
    let (a, b) = (http_server("a").await, http_server("b").await);
    let lb = balancer(vec![]);
    let route = |targets| TargetGroupRoute {
        target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:0:targetgroup/web/1".into(),
        targets,
    };
    let routed = lb
        .route(&route(vec![target("ta", &a), target("tb", &b)]))
        .await
        .unwrap();
    assert_eq!(routed.registered.len(), 2);
    let listener = routed.listener.unwrap();
    assert!(listener.starts_with("127.0.0.1:41"), "{listener}");
    let mut bodies = vec![];
    for _ in 0..4 {
        bodies.push(get(&listener).await.1);
    }
    bodies.sort();
    assert_eq!(bodies, ["a", "a", "b", "b"]);
    // Deregistered: a gets nothing more.
    let routed = lb.route(&route(vec![target("tb", &b)])).await.unwrap();
    assert_eq!(routed.deregistered, [target("ta", &a)]);
    assert!(routed.registered.is_empty());
    for _ in 0..3 {
        assert_eq!(get(&listener).await, (200, "b".into()));
    }
    // None left: the balancer answers 503 itself.
    lb.route(&route(vec![])).await.unwrap();
    assert_eq!(get(&listener).await.0, 503);
}

#[tokio::test]
async fn other_protocols_are_spliced_as_tcp() {
    // A server that speaks first, as SMTP or MySQL do.
    let server = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let address = server.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = server.accept().await.unwrap();
            tokio::spawn(async move {
                stream.write_all(b"hello\n").await?;
                let mut buf = [0u8; 4];
                stream.read_exact(&mut buf).await?;
                stream.write_all(&buf).await
            });
        }
    });
    let lb = balancer(vec![]);
    let routed = lb
        .route(&TargetGroupRoute {
            target_group_arn: "tcp-group".into(),
            targets: vec![target("t", &address)],
        })
        .await
        .unwrap();
    let mut client = tokio::net::TcpStream::connect(routed.listener.unwrap())
        .await
        .unwrap();
    let mut greeting = [0u8; 6];
    client.read_exact(&mut greeting).await.unwrap();
    assert_eq!(&greeting, b"hello\n");
    client.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    client.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");
}

#[tokio::test]
async fn a_target_takes_traffic_once_it_answers() {
    // Reserved, then let go: nothing listens there yet.
    let free = std::net::TcpListener::bind((LOCAL, 0)).unwrap();
    let address = free.local_addr().unwrap();
    drop(free);
    let lb = balancer(vec![]);
    let route = TargetGroupRoute {
        target_group_arn: "late".into(),
        targets: vec![target("t", &address.to_string())],
    };
    let routed = lb.route(&route).await.unwrap();
    assert_eq!((routed.waiting, routed.targets.len()), (1, 0));
    assert_eq!(get(&routed.listener.clone().unwrap()).await.0, 503);
    // It listens now: the next route registers it.
    let listener = TcpListener::bind(address).await.unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
    });
    let routed = lb.route(&route).await.unwrap();
    assert_eq!((routed.waiting, routed.registered.len()), (0, 1));
}

#[tokio::test]
async fn a_mapped_port_that_is_taken_is_refused() {
    let taken = std::net::TcpListener::bind((LOCAL, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let lb = balancer(vec![("web".into(), port)]);
    let group = "arn:aws:elasticloadbalancing:us-east-1:0:targetgroup/web/1";
    let refused = lb.listener(group);
    assert!(
        matches!(refused, Err(TrafficError::PortInUse { port: p, .. }) if p == port),
        "{refused:?}"
    );
    drop(taken);
    assert_eq!(
        lb.listener(group).unwrap(),
        Some(SocketAddr::new(LOCAL, port).to_string())
    );
}
