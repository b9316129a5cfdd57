//! The in-process test helper as a user's integration test would use it: aws-sdk-ecs against
//! `TestServer`, two servers side by side, and shutdown.

use std::time::Duration;

use aws_sdk_ecs::types::ContainerDefinition;
use kecs_server::testing::TestServer;

async fn client(endpoint: &str) -> aws_sdk_ecs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_ecs::Client::new(&config)
}

#[tokio::test]
async fn a_test_server_serves_the_sdk_until_shut_down() {
    let kecs = TestServer::start().await.unwrap();
    assert!(kecs.endpoint_url().starts_with("http://127.0.0.1:"));
    let ecs = client(kecs.endpoint_url()).await;
    ecs.create_cluster()
        .cluster_name("ci")
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("app")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("busybox")
                .memory(32)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let run = ecs
        .run_task()
        .cluster("ci")
        .task_definition("app")
        .count(2)
        .send()
        .await
        .unwrap();
    let statuses: Vec<&str> = run.tasks().iter().filter_map(|t| t.last_status()).collect();
    assert_eq!(statuses, ["RUNNING", "RUNNING"]);

    // A second server is a world of its own.
    let other = TestServer::builder()
        .region("eu-west-1")
        .account_id("123456789012")
        .start()
        .await
        .unwrap();
    assert_ne!(other.endpoint_url(), kecs.endpoint_url());
    let clusters = client(other.endpoint_url())
        .await
        .list_clusters()
        .send()
        .await
        .unwrap();
    assert!(clusters.cluster_arns().is_empty());
    other.shutdown().await;

    let endpoint = kecs
        .endpoint_url()
        .trim_start_matches("http://")
        .to_string();
    kecs.shutdown().await;
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(&endpoint),
    )
    .await
    .unwrap();
    assert!(refused.is_err(), "{endpoint} still accepts connections");
}
