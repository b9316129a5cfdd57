//! Task definitions through aws-sdk-ecs against the real binary.

mod common;

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, HealthCheck, KeyValuePair, NetworkMode, PortMapping,
    SortOrder, TaskDefinitionFamilyStatus, TaskDefinitionField, TaskDefinitionStatus,
    TransportProtocol,
};
use common::{code, container, tag};
use kecs_e2e::Server;

const ARN: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition";

#[tokio::test]
async fn register_keeps_every_field_and_adds_ecs_defaults() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    let web = ContainerDefinition::builder()
        .name("web")
        .image("nginx:1")
        .cpu(128)
        .memory_reservation(64)
        .port_mappings(PortMapping::builder().container_port(80).build())
        .environment(KeyValuePair::builder().name("A").value("1").build())
        .command("serve")
        .entry_point("/bin/sh")
        .working_directory("/srv")
        .health_check(
            HealthCheck::builder()
                .command("CMD-SHELL")
                .command("true")
                .interval(10)
                .build()
                .unwrap(),
        )
        .docker_labels("l", "v")
        .build();
    let out = ecs
        .register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("0.25 vCPU")
        .memory("512")
        .task_role_arn("arn:aws:iam::000000000000:role/app")
        .container_definitions(web)
        .tags(tag("k", "v"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.tags().len(), 1);
    let td = out.task_definition.unwrap();
    assert_eq!(
        td.task_definition_arn(),
        Some(format!("{ARN}/web:1").as_str())
    );
    assert_eq!(td.revision, 1);
    assert_eq!(td.status(), Some(&TaskDefinitionStatus::Active));
    assert_eq!(td.cpu(), Some("256"));
    assert_eq!(
        td.compatibilities(),
        [Compatibility::Ec2, Compatibility::Fargate]
    );
    assert!(td.registered_at().is_some());
    let attrs: Vec<&str> = td.requires_attributes().iter().map(|a| a.name()).collect();
    for want in [
        "ecs.capability.task-eni",
        "com.amazonaws.ecs.capability.task-iam-role",
        "com.amazonaws.ecs.capability.container-health-check",
    ] {
        assert!(attrs.contains(&want), "{want} missing from {attrs:?}");
    }
    let c = &td.container_definitions()[0];
    assert_eq!(c.essential(), Some(true));
    assert_eq!(c.command(), ["serve"]);
    assert_eq!(c.entry_point(), ["/bin/sh"]);
    assert_eq!(c.working_directory(), Some("/srv"));
    assert_eq!(c.docker_labels().unwrap()["l"], "v");
    assert_eq!(c.port_mappings()[0].host_port(), Some(80));
    assert_eq!(
        c.port_mappings()[0].protocol(),
        Some(&TransportProtocol::Tcp)
    );

    // Revisions count up per family.
    for rev in 2..=3 {
        let td = ecs
            .register_task_definition()
            .family("web")
            .container_definitions(container("c"))
            .send()
            .await
            .unwrap();
        assert_eq!(td.task_definition.unwrap().revision, rev);
    }
    let other = ecs
        .register_task_definition()
        .family("other")
        .container_definitions(container("c"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.task_definition.unwrap().revision, 1);
}

#[tokio::test]
async fn registration_errors_are_client_exceptions() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    let no_image = ContainerDefinition::builder().name("c").memory(64).build();
    assert_eq!(
        code(
            ecs.register_task_definition()
                .family("f")
                .container_definitions(no_image)
                .send()
                .await
        ),
        "ClientException"
    );
    let no_memory = ContainerDefinition::builder().name("c").image("i").build();
    assert_eq!(
        code(
            ecs.register_task_definition()
                .family("f")
                .container_definitions(no_memory)
                .send()
                .await
        ),
        "ClientException"
    );
    assert_eq!(
        code(
            ecs.register_task_definition()
                .family("bad family")
                .container_definitions(container("c"))
                .send()
                .await
        ),
        "ClientException"
    );
    assert_eq!(
        code(
            ecs.register_task_definition()
                .family("f")
                .requires_compatibilities(Compatibility::Fargate)
                .container_definitions(container("c"))
                .send()
                .await
        ),
        "ClientException"
    );
    // Nothing was registered.
    let families = ecs.list_task_definition_families().send().await.unwrap();
    assert!(families.families().is_empty());
}

#[tokio::test]
async fn describe_list_deregister_delete() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    for _ in 0..11 {
        ecs.register_task_definition()
            .family("app")
            .container_definitions(container("c"))
            .send()
            .await
            .unwrap();
    }
    ecs.register_task_definition()
        .family("zeta")
        .container_definitions(container("c"))
        .tags(tag("t", "1"))
        .send()
        .await
        .unwrap();

    let latest = ecs
        .describe_task_definition()
        .task_definition("app")
        .send()
        .await
        .unwrap();
    assert_eq!(latest.task_definition.unwrap().revision, 11);
    let by_rev = ecs
        .describe_task_definition()
        .task_definition("app:2")
        .send()
        .await
        .unwrap();
    assert_eq!(by_rev.task_definition.unwrap().revision, 2);
    let by_arn = ecs
        .describe_task_definition()
        .task_definition(format!("{ARN}/zeta:1"))
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.tags()[0].key(), Some("t"));
    assert_eq!(
        code(
            ecs.describe_task_definition()
                .task_definition("app:99")
                .send()
                .await
        ),
        "ClientException"
    );

    // Numeric revision order: app:2 comes before app:10.
    let asc = ecs
        .list_task_definitions()
        .family_prefix("app")
        .send()
        .await
        .unwrap();
    let arns = asc.task_definition_arns();
    assert_eq!(arns.len(), 11);
    assert_eq!(arns[1], format!("{ARN}/app:2"));
    assert_eq!(arns[10], format!("{ARN}/app:11"));
    let desc = ecs
        .list_task_definitions()
        .sort(SortOrder::Desc)
        .max_results(5)
        .send()
        .await
        .unwrap();
    assert_eq!(desc.task_definition_arns()[0], format!("{ARN}/zeta:1"));
    assert_eq!(desc.task_definition_arns()[1], format!("{ARN}/app:11"));
    let page2 = ecs
        .list_task_definitions()
        .sort(SortOrder::Desc)
        .max_results(5)
        .next_token(desc.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page2.task_definition_arns()[0], format!("{ARN}/app:7"));

    let dereg = ecs
        .deregister_task_definition()
        .task_definition("app:1")
        .send()
        .await
        .unwrap();
    let td = dereg.task_definition.unwrap();
    assert_eq!(td.status(), Some(&TaskDefinitionStatus::Inactive));
    assert!(td.deregistered_at().is_some());
    assert_eq!(
        code(
            ecs.deregister_task_definition()
                .task_definition("app")
                .send()
                .await
        ),
        "ClientException"
    );
    let inactive = ecs
        .list_task_definitions()
        .status(TaskDefinitionStatus::Inactive)
        .send()
        .await
        .unwrap();
    assert_eq!(inactive.task_definition_arns(), [format!("{ARN}/app:1")]);

    ecs.deregister_task_definition()
        .task_definition("zeta:1")
        .send()
        .await
        .unwrap();
    let active_families = ecs
        .list_task_definition_families()
        .status(TaskDefinitionFamilyStatus::Active)
        .send()
        .await
        .unwrap();
    assert_eq!(active_families.families(), ["app"]);
    let inactive_families = ecs
        .list_task_definition_families()
        .status(TaskDefinitionFamilyStatus::Inactive)
        .send()
        .await
        .unwrap();
    assert_eq!(inactive_families.families(), ["zeta"]);
    let prefixed = ecs
        .list_task_definition_families()
        .family_prefix("ze")
        .send()
        .await
        .unwrap();
    assert_eq!(prefixed.families(), ["zeta"]);

    let deleted = ecs
        .delete_task_definitions()
        .task_definitions("app:1")
        .task_definitions("app:2")
        .task_definitions("nope:1")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.task_definitions().len(), 1);
    assert_eq!(
        deleted.task_definitions()[0].status(),
        Some(&TaskDefinitionStatus::DeleteInProgress)
    );
    assert_eq!(deleted.failures().len(), 2);
    assert_eq!(deleted.failures()[0].arn(), Some("app:2"));
}
