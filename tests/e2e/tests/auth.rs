//! `--auth sigv4`: aws-sdk-rust requests signed with the configured credentials are served;
//! a wrong secret, an unknown access key and an unsigned request are refused as AWS refuses
//! them. `--admin-token` guards the admin port but leaves the probes open. (boto3 and the AWS
//! CLI: tests/py/test_auth.py.)

use aws_sdk_ecs::error::ProvideErrorMetadata;
use kecs_e2e::Server;
use reqwest::StatusCode;

async fn client(kecs: &Server, key: &str, secret: &str) -> aws_sdk_ecs::Client {
    kecs.client_as("eu-west-1", key, secret).await
}

#[tokio::test]
async fn signed_requests_pass_and_wrong_or_missing_signatures_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(
        dir.path(),
        &[
            "--auth",
            "sigv4",
            "--access-key-id",
            "AKIAKECSTEST",
            "--secret-access-key",
            "kecs/secret+key",
            "--admin-token",
            "admin-t0ken",
        ],
    )
    .await;

    let good = client(&kecs, "AKIAKECSTEST", "kecs/secret+key").await;
    let created = good
        .create_cluster()
        .cluster_name("signed")
        .send()
        .await
        .unwrap();
    assert!(created
        .cluster()
        .and_then(|c| c.cluster_arn())
        .unwrap()
        .contains(":eu-west-1:"));

    let wrong = client(&kecs, "AKIAKECSTEST", "not-the-secret").await;
    let err = wrong.list_clusters().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
    let unknown = client(&kecs, "AKIAOTHER", "kecs/secret+key").await;
    let err = unknown.list_clusters().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"), "{err:?}");

    let http = reqwest::Client::new();
    let unsigned = kecs
        .raw("DeleteCluster", r#"{"cluster":"signed"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::BAD_REQUEST);
    let body = unsigned.text().await.unwrap();
    assert!(
        body.contains("MissingAuthenticationTokenException"),
        "{body}"
    );
    // Nothing a refused request asked for was done.
    let listed = good.list_clusters().send().await.unwrap();
    assert_eq!(listed.cluster_arns().len(), 1);

    // The admin port: probes open, the rest behind the token.
    let status = |url: String, token: Option<&'static str>| {
        let mut req = http.get(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(
        status(format!("{}/ready", kecs.admin), None).await,
        StatusCode::OK
    );
    assert_eq!(
        status(format!("{}/metrics", kecs.admin), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(format!("{}/metrics", kecs.admin), Some("wrong")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(format!("{}/metrics", kecs.admin), Some("admin-t0ken")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn sigv4_without_credentials_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(kecs_e2e::kecs_bin())
        .args([
            "server",
            "--runtime",
            "none",
            "--auth",
            "sigv4",
            "--data-dir",
        ])
        .arg(dir.path())
        .args(["--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--access-key-id"), "{err}");
}
