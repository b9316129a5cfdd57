//! Tags, account settings, attributes and capacity providers through aws-sdk-ecs.

mod common;

use aws_sdk_ecs::types::{
    Attribute, AutoScalingGroupProvider, AutoScalingGroupProviderUpdate, CapacityProviderField,
    CapacityProviderStatus, CapacityProviderUpdateStatus, ManagedScaling, ManagedScalingStatus,
    SettingName, SettingType, TargetType,
};
use common::{code, container, tag};
use kecs_e2e::Server;

#[tokio::test]
async fn tags_on_every_taggable_resource() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    let cluster = ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap()
        .cluster_arn
        .unwrap();
    let td = ecs
        .register_task_definition()
        .family("f")
        .container_definitions(container("c"))
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    for arn in [&cluster, &td] {
        ecs.tag_resource()
            .resource_arn(arn)
            .tags(tag("a", "1"))
            .tags(tag("b", "2"))
            .send()
            .await
            .unwrap();
        ecs.tag_resource()
            .resource_arn(arn)
            .tags(tag("a", "3"))
            .send()
            .await
            .unwrap();
        ecs.untag_resource()
            .resource_arn(arn)
            .tag_keys("b")
            .send()
            .await
            .unwrap();
        let tags = ecs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(tags.tags(), [tag("a", "3")], "{arn}");
    }
    assert_eq!(
        code(
            ecs.tag_resource()
                .resource_arn(&cluster)
                .tags(tag("aws:x", "1"))
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    let fifty_one = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert_eq!(
        code(
            ecs.tag_resource()
                .resource_arn(&cluster)
                .set_tags(Some(fifty_one))
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    assert_eq!(
        code(
            ecs.list_tags_for_resource()
                .resource_arn("arn:aws:ecs:us-east-1:000000000000:cluster/none")
                .send()
                .await
        ),
        "ClusterNotFoundException"
    );
    assert_eq!(
        code(
            ecs.list_tags_for_resource()
                .resource_arn("arn:aws:ecs:us-east-1:000000000000:task-definition/none:1")
                .send()
                .await
        ),
        "InvalidParameterException",
        "ListTagsForResource declares no ResourceNotFoundException"
    );
    assert_eq!(
        code(
            ecs.untag_resource()
                .resource_arn("arn:aws:ecs:us-east-1:000000000000:task-definition/none:1")
                .tag_keys("a")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    // Another region's resources are invisible here.
    let west = kecs.client_in("eu-west-1").await;
    let west_cluster = west
        .create_cluster()
        .cluster_name("w")
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    let west_arn = west_cluster.cluster_arn().unwrap();
    assert_eq!(
        code(
            ecs.list_tags_for_resource()
                .resource_arn(west_arn)
                .send()
                .await
        ),
        "ClusterNotFoundException"
    );
    assert_eq!(
        code(ecs.delete_cluster().cluster(west_arn).send().await),
        "ClusterNotFoundException"
    );
    assert_eq!(
        code(
            ecs.list_tags_for_resource()
                .resource_arn("garbage")
                .send()
                .await
        ),
        "InvalidParameterException"
    );
}

#[tokio::test]
async fn account_settings() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    let root = "arn:aws:iam::000000000000:root";
    let effective = ecs
        .list_account_settings()
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(effective.settings()[0].value(), Some("disabled"));
    assert_eq!(
        effective.settings()[0].r#type(),
        Some(&SettingType::AwsManaged)
    );

    let put = ecs
        .put_account_setting_default()
        .name(SettingName::ContainerInsights)
        .value("enabled")
        .send()
        .await
        .unwrap();
    let s = put.setting.unwrap();
    assert_eq!(
        (s.value(), s.principal_arn(), s.r#type()),
        (Some("enabled"), Some(root), Some(&SettingType::User))
    );
    // New clusters take the account's containerInsights.
    let c = ecs
        .create_cluster()
        .cluster_name("insights")
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    assert_eq!(c.settings()[0].value(), Some("enabled"));

    let role = "arn:aws:iam::000000000000:role/dev";
    ecs.put_account_setting()
        .name(SettingName::AwsvpcTrunking)
        .value("disabled")
        .principal_arn(role)
        .send()
        .await
        .unwrap();
    let mine = ecs
        .list_account_settings()
        .principal_arn(role)
        .send()
        .await
        .unwrap();
    assert_eq!(mine.settings().len(), 1);
    let for_role = ecs
        .list_account_settings()
        .principal_arn(role)
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(
        for_role.settings()[0].value(),
        Some("enabled"),
        "falls back to the account default"
    );

    let page = ecs
        .list_account_settings()
        .effective_settings(true)
        .max_results(4)
        .send()
        .await
        .unwrap();
    assert_eq!(page.settings().len(), 4);
    assert!(page.next_token().is_some());

    ecs.delete_account_setting()
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    let after = ecs
        .list_account_settings()
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(after.settings()[0].value(), Some("disabled"));
    assert_eq!(
        code(
            ecs.put_account_setting()
                .name(SettingName::ContainerInsights)
                .value("maybe")
                .send()
                .await
        ),
        "InvalidParameterException"
    );
}

#[tokio::test]
async fn attributes() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let attr = |n: &str, v: &str| {
        Attribute::builder()
            .name(n)
            .value(v)
            .target_id("i-1")
            .build()
            .unwrap()
    };
    let put = ecs
        .put_attributes()
        .cluster("c")
        .attributes(attr("stack", "prod"))
        .attributes(attr("zone", "a"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.attributes()[0].target_id(),
        Some("arn:aws:ecs:us-east-1:000000000000:container-instance/c/i-1")
    );
    let listed = ecs
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.attributes().len(), 2);
    let filtered = ecs
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .attribute_name("zone")
        .attribute_value("a")
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.attributes().len(), 1);
    let page = ecs
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.attributes().len(), 1);
    assert!(page.next_token().is_some());

    let eleven: Vec<Attribute> = (0..11).map(|i| attr(&format!("a{i}"), "v")).collect();
    assert_eq!(
        code(
            ecs.put_attributes()
                .cluster("c")
                .set_attributes(Some(eleven))
                .send()
                .await
        ),
        "AttributeLimitExceededException"
    );
    ecs.delete_attributes()
        .cluster("c")
        .attributes(attr("zone", "a"))
        .send()
        .await
        .unwrap();
    let left = ecs
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .send()
        .await
        .unwrap();
    assert_eq!(left.attributes().len(), 1);
    assert_eq!(
        code(
            ecs.put_attributes()
                .cluster("none")
                .attributes(attr("x", "y"))
                .send()
                .await
        ),
        "ClusterNotFoundException"
    );
}

#[tokio::test]
async fn capacity_providers() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    let asg =
        "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/asg";
    let created = ecs
        .create_capacity_provider()
        .name("cp")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(asg)
                .build()
                .unwrap(),
        )
        .tags(tag("k", "v"))
        .send()
        .await
        .unwrap()
        .capacity_provider
        .unwrap();
    assert_eq!(created.status(), Some(&CapacityProviderStatus::Active));
    let scaling = created
        .auto_scaling_group_provider()
        .unwrap()
        .managed_scaling()
        .unwrap();
    assert_eq!(
        (scaling.status(), scaling.target_capacity()),
        (Some(&ManagedScalingStatus::Disabled), Some(100))
    );

    let dup = ecs
        .create_capacity_provider()
        .name("cp")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(asg)
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(code(dup), "ClientException");
    let reserved = ecs
        .create_capacity_provider()
        .name("fargate-x")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(asg)
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(code(reserved), "InvalidParameterException");

    let all = ecs.describe_capacity_providers().send().await.unwrap();
    let names: Vec<&str> = all
        .capacity_providers()
        .iter()
        .filter_map(|p| p.name())
        .collect();
    assert_eq!(names, ["FARGATE", "FARGATE_SPOT", "cp"]);
    let named = ecs
        .describe_capacity_providers()
        .capacity_providers("cp")
        .capacity_providers("ghost")
        .include(CapacityProviderField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(named.capacity_providers()[0].tags()[0].key(), Some("k"));
    assert_eq!(named.failures()[0].reason(), Some("MISSING"));

    let updated = ecs
        .update_capacity_provider()
        .name("cp")
        .auto_scaling_group_provider(
            AutoScalingGroupProviderUpdate::builder()
                .managed_scaling(
                    ManagedScaling::builder()
                        .status(ManagedScalingStatus::Enabled)
                        .target_capacity(80)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .capacity_provider
        .unwrap();
    assert_eq!(
        updated.update_status(),
        Some(&CapacityProviderUpdateStatus::UpdateComplete)
    );
    assert_eq!(
        updated
            .auto_scaling_group_provider()
            .unwrap()
            .managed_scaling()
            .unwrap()
            .target_capacity(),
        Some(80)
    );

    ecs.create_cluster()
        .cluster_name("uses-cp")
        .capacity_providers("cp")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            ecs.delete_capacity_provider()
                .capacity_provider("cp")
                .send()
                .await
        ),
        "ClientException"
    );
    ecs.delete_cluster()
        .cluster("uses-cp")
        .send()
        .await
        .unwrap();
    let deleted = ecs
        .delete_capacity_provider()
        .capacity_provider("cp")
        .send()
        .await
        .unwrap()
        .capacity_provider
        .unwrap();
    assert_eq!(deleted.status(), Some(&CapacityProviderStatus::Inactive));
}
