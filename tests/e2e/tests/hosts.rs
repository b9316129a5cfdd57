//! DNS rebinding and cross-site requests: a request addressed to a host name that is neither
//! loopback nor allowed (`--allowed-host`), or sent from such a web origin, gets 403 on the API,
//! the UI, `/ws/events` and the admin port; loopback names and allowed names work.

use kecs_e2e::Server;
use reqwest::StatusCode;

fn port_of(url: &str) -> &str {
    url.rsplit(':').next().unwrap()
}

async fn list_clusters(
    kecs: &Server,
    host: Option<&str>,
    origin: Option<&str>,
) -> (StatusCode, String) {
    let mut req = kecs.raw("ListClusters", "{}");
    if let Some(host) = host {
        req = req.header("Host", host);
    }
    if let Some(origin) = origin {
        req = req.header("Origin", origin);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

async fn get(url: String, headers: &[(&str, &str)]) -> StatusCode {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn rebinding_and_cross_site_requests_are_refused_on_every_port() {
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &["--allowed-host", "kecs.test"]).await;
    let api_port = port_of(&kecs.endpoint).to_string();
    let admin_port = port_of(&kecs.admin).to_string();
    let attacker = format!("attacker.example:{api_port}");

    let (status, body) = list_clusters(&kecs, Some(&attacker), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("\"__type\":\"AccessDeniedException\""),
        "{body}"
    );
    assert!(body.contains("attacker.example"), "{body}");
    assert_eq!(
        get(format!("{}/ui/", kecs.endpoint), &[("Host", &attacker)]).await,
        StatusCode::FORBIDDEN
    );
    let ws = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Origin", "http://attacker.example"),
    ];
    assert_eq!(
        get(format!("{}/ws/events", kecs.endpoint), &ws).await,
        StatusCode::FORBIDDEN
    );
    let admin_attacker = format!("attacker.example:{admin_port}");
    assert_eq!(
        get(
            format!("{}/health", kecs.admin),
            &[("Host", &admin_attacker)]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (status, _) = list_clusters(&kecs, None, Some("http://attacker.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a cross-site POST");

    // Loopback names, the allowed name, and same-origin browsers are served.
    for host in [
        None,
        Some(format!("localhost:{api_port}")),
        Some(format!("[::1]:{api_port}")),
        Some(format!("kecs.test:{api_port}")),
    ] {
        let (status, body) = list_clusters(&kecs, host.as_deref(), None).await;
        assert_eq!(status, StatusCode::OK, "{host:?}: {body}");
    }
    let (status, _) = list_clusters(
        &kecs,
        Some(&format!("kecs.test:{api_port}")),
        Some(&format!("http://kecs.test:{api_port}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        get(
            format!("{}/ui/", kecs.endpoint),
            &[("Origin", &kecs.endpoint)]
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        get(format!("{}/health", kecs.admin), &[]).await,
        StatusCode::OK
    );
}
