//! Clusters through aws-sdk-ecs against the real binary.

mod common;

use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ClusterConfiguration, ClusterField, ClusterSetting,
    ClusterSettingName, ExecuteCommandConfiguration, ExecuteCommandLogging,
};
use common::{code, tag};
use kecs_e2e::Server;

#[tokio::test]
async fn cluster_lifecycle() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;

    let created = ecs
        .create_cluster()
        .cluster_name("prod")
        .tags(tag("team", "a"))
        .send()
        .await
        .unwrap();
    let c = created.cluster.unwrap();
    assert_eq!(
        c.cluster_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/prod")
    );
    assert_eq!(c.status(), Some("ACTIVE"));
    assert_eq!(c.running_tasks_count, 0);
    assert_eq!(c.settings()[0].value(), Some("disabled"));
    assert_eq!(c.tags().len(), 1);

    // Idempotent create returns the same cluster.
    let again = ecs
        .create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(again.cluster.unwrap().cluster_arn(), c.cluster_arn());

    // The default cluster name.
    let default = ecs.create_cluster().send().await.unwrap().cluster.unwrap();
    assert_eq!(default.cluster_name(), Some("default"));

    let described = ecs
        .describe_clusters()
        .clusters("prod")
        .clusters("nope")
        .include(ClusterField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(described.clusters().len(), 1);
    assert_eq!(described.clusters()[0].tags()[0].key(), Some("team"));
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    assert_eq!(
        described.failures()[0].arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/nope")
    );

    let without_tags = ecs
        .describe_clusters()
        .clusters("prod")
        .send()
        .await
        .unwrap();
    assert!(without_tags.clusters()[0].tags().is_empty());

    let updated = ecs
        .update_cluster_settings()
        .cluster("prod")
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enhanced")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.cluster.unwrap().settings()[0].value(),
        Some("enhanced")
    );

    let updated = ecs
        .update_cluster()
        .cluster("prod")
        .configuration(
            ClusterConfiguration::builder()
                .execute_command_configuration(
                    ExecuteCommandConfiguration::builder()
                        .logging(ExecuteCommandLogging::Default)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cfg = updated.cluster.unwrap().configuration.unwrap();
    assert_eq!(
        cfg.execute_command_configuration.unwrap().logging,
        Some(ExecuteCommandLogging::Default)
    );

    let with_fargate = ecs
        .put_cluster_capacity_providers()
        .cluster("prod")
        .capacity_providers("FARGATE")
        .default_capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE")
                .weight(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_fargate.cluster.unwrap().capacity_providers(),
        ["FARGATE"]
    );
    let bad_strategy = ecs
        .put_cluster_capacity_providers()
        .cluster("prod")
        .capacity_providers("FARGATE")
        .default_capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(code(bad_strategy), "InvalidParameterException");

    let deleted = ecs.delete_cluster().cluster("prod").send().await.unwrap();
    assert_eq!(deleted.cluster.unwrap().status(), Some("INACTIVE"));
    let after = ecs
        .describe_clusters()
        .clusters("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(after.clusters()[0].status(), Some("INACTIVE"));
    assert_eq!(
        code(ecs.delete_cluster().cluster("prod").send().await),
        "ClusterNotFoundException"
    );
    assert_eq!(
        code(ecs.update_cluster_settings().cluster("prod").send().await),
        "InvalidParameterException"
    );
    // Deleted, it stays listed (INACTIVE) until the stopped-task retention forgets it.
    let listed = ecs.list_clusters().send().await.unwrap();
    assert_eq!(
        listed.cluster_arns(),
        [
            "arn:aws:ecs:us-east-1:000000000000:cluster/default",
            "arn:aws:ecs:us-east-1:000000000000:cluster/prod"
        ]
    );
}

#[tokio::test]
async fn list_clusters_paginates() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    for i in 0..7 {
        ecs.create_cluster()
            .cluster_name(format!("c{i}"))
            .send()
            .await
            .unwrap();
    }
    let mut seen = vec![];
    let mut token = None;
    loop {
        let page = ecs
            .list_clusters()
            .max_results(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.cluster_arns().len() <= 3);
        seen.extend(page.cluster_arns().iter().cloned());
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let expected: Vec<String> = (0..7)
        .map(|i| format!("arn:aws:ecs:us-east-1:000000000000:cluster/c{i}"))
        .collect();
    assert_eq!(seen, expected);
    // The SDK's paginator walks the same pages.
    let all: Vec<String> = ecs
        .list_clusters()
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all, expected);
    assert_eq!(
        code(ecs.list_clusters().max_results(101).send().await),
        "InvalidParameterException"
    );
    assert_eq!(
        code(ecs.list_clusters().next_token("not-a-token").send().await),
        "InvalidParameterException"
    );
}

#[tokio::test]
async fn invalid_names_are_refused_and_change_nothing() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    for bad in ["x".repeat(256), "has space".into(), "bad/slash".into()] {
        assert_eq!(
            code(ecs.create_cluster().cluster_name(bad).send().await),
            "InvalidParameterException"
        );
    }
    assert_eq!(
        code(
            ecs.create_cluster()
                .cluster_name("t")
                .tags(tag("aws:reserved", "x"))
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    assert!(ecs
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
    // 255 characters is the limit, and allowed.
    ecs.create_cluster()
        .cluster_name("x".repeat(255))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn regions_come_from_the_sigv4_scope() {
    let kecs = Server::start().await;
    let east = kecs.client().await;
    let west = kecs.client_in("eu-west-1").await;
    west.create_cluster()
        .cluster_name("w")
        .send()
        .await
        .unwrap();
    let arns = west.list_clusters().send().await.unwrap().cluster_arns;
    assert_eq!(
        arns.unwrap(),
        ["arn:aws:ecs:eu-west-1:000000000000:cluster/w"]
    );
    assert!(east
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
}
