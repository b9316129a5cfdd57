//! The admin port, metrics, reset and logs of the real binary.

use std::process::{Command, Stdio};
use std::time::Duration;

use kecs_e2e::{free_port, kecs_bin, Server};

#[tokio::test]
async fn health_ready_metrics_and_reset() {
    let kecs = Server::start().await;
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/health", kecs.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ecs = kecs.client().await;
    ecs.create_cluster().cluster_name("m").send().await.unwrap();
    ecs.list_clusters().send().await.unwrap();
    let _ = ecs
        .describe_clusters()
        .clusters("m")
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await;
    let metrics = http
        .get(format!("{}/metrics", kecs.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"kecs_api_request_duration_seconds_count{operation="ListClusters",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains(r#"kecs_api_request_duration_seconds_bucket{operation="CreateCluster",status="200",le="+Inf"} 1"#));

    let reset = http
        .post(format!("{}/_kecs/reset", kecs.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert!(ecs
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
}

#[tokio::test]
async fn reset_is_refused_unless_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &[]).await;
    let ecs = kecs.client().await;
    ecs.create_cluster()
        .cluster_name("keep")
        .send()
        .await
        .unwrap();
    let reset = reqwest::Client::new()
        .post(format!("{}/_kecs/reset", kecs.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 403);
    assert_eq!(
        ecs.list_clusters()
            .send()
            .await
            .unwrap()
            .cluster_arns()
            .len(),
        1
    );
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("kecs.log");
    let (api, admin) = (free_port(), free_port());
    let mut child = Command::new(kecs_bin())
        .args(["server", "--runtime", "none", "--log-format", "json"])
        .args([
            "--api-addr",
            &format!("127.0.0.1:{api}"),
            "--admin-addr",
            &format!("127.0.0.1:{admin}"),
        ])
        .args(["--data-dir", &dir.path().join("data").to_string_lossy()])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("http://127.0.0.1:{admin}/ready"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = http
        .post(format!("http://127.0.0.1:{api}/"))
        .header(
            "X-Amz-Target",
            "AmazonEC2ContainerServiceV20141113.DescribeClusters",
        )
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(r#"{"clusters":["nope"]}"#)
        .send()
        .await
        .unwrap();
    let request_id = resp.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_string();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    // Every line logged while serving a request names it.
    let served: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["span"]["name"] == "request")
        .collect();
    assert!(!served.is_empty(), "no line logged while serving:\n{text}");
    for l in &served {
        assert_eq!(l["span"]["request_id"], request_id.as_str(), "{l}");
    }
    assert!(
        served.iter().any(|l| l["fields"]["message"] == "answered"),
        "{text}"
    );
}
