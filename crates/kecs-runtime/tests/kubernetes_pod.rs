//! The task -> pod converter (`kecs_runtime::kubernetes::pod`), field by field.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kecs_domain::model::{
    ContainerCondition, ContainerDefinition, ContainerDependency, ContainerOverride, HealthCheck,
    HostEntry, HostVolumeProperties, KernelCapabilities, KeyValuePair, LinuxParameters, MountPoint,
    NetworkMode, PortMapping, Task, TaskDefinition, TaskOverride, TransportProtocol,
    Volume as EcsVolume,
};
use kecs_runtime::kubernetes::names::{
    namespace, ANNOTATION_CLUSTER_ARN, ANNOTATION_CONTAINERS, ANNOTATION_TASK_ARN,
    ANNOTATION_TRACEPARENT, LABEL_INSTANCE, LABEL_SERVICE, LABEL_TASK_ID,
};
use kecs_runtime::kubernetes::pod::{millicores, pod, probe, PodInput};

const TASK: &str = "arn:aws:ecs:us-east-1:000000000000:task/web/0123456789abcdef0123456789abcdef";
const CLUSTER: &str = "arn:aws:ecs:us-east-1:000000000000:cluster/web";

fn task() -> Task {
    Task {
        task_arn: Some(TASK.into()),
        cluster_arn: Some(CLUSTER.into()),
        ..Task::default()
    }
}

fn def(name: &str) -> ContainerDefinition {
    ContainerDefinition {
        name: Some(name.into()),
        image: Some("busybox:1".into()),
        ..ContainerDefinition::default()
    }
}

fn td(defs: Vec<ContainerDefinition>) -> TaskDefinition {
    TaskDefinition {
        container_definitions: Some(defs),
        ..TaskDefinition::default()
    }
}

fn pod_of(task: &Task, td: &TaskDefinition) -> Pod {
    pod_traced(task, td, None)
}

fn pod_traced(task: &Task, td: &TaskDefinition, trace_parent: Option<&str>) -> Pod {
    pod(&PodInput {
        task,
        td,
        instance: "i1",
        pull: kecs_runtime::PullBehavior::PreferCached,
        pull_secret: None,
        trace_parent,
    })
}

fn spec(p: &Pod) -> &PodSpec {
    p.spec.as_ref().unwrap()
}

fn only(p: &Pod) -> &Container {
    let s = spec(p);
    assert_eq!(s.containers.len(), 1);
    &s.containers[0]
}

#[test]
fn metadata_names_the_task_cluster_and_instance() {
    let mut t = task();
    t.group = Some("service:Front_End".into());
    let p = pod_of(&t, &td(vec![def("app")]));
    let m = &p.metadata;
    assert_eq!(m.name.as_deref(), Some("0123456789abcdef0123456789abcdef"));
    assert_eq!(m.namespace.as_deref(), Some(namespace(CLUSTER).as_str()));
    let labels = m.labels.as_ref().unwrap();
    assert_eq!(labels[LABEL_INSTANCE], "i1");
    assert_eq!(labels[LABEL_TASK_ID], "0123456789abcdef0123456789abcdef");
    assert!(labels[LABEL_SERVICE].starts_with("front-end-"));
    let notes = m.annotations.as_ref().unwrap();
    assert_eq!(notes[ANNOTATION_TASK_ARN], TASK);
    assert_eq!(notes[ANNOTATION_CLUSTER_ARN], CLUSTER);
    assert_eq!(notes[ANNOTATION_CONTAINERS], r#"{"app":"app"}"#);
    assert!(!notes.contains_key(ANNOTATION_TRACEPARENT));
    assert_eq!(spec(&p).restart_policy.as_deref(), Some("Never"));
}

#[test]
fn a_traced_launch_writes_its_trace_context_on_the_pod() {
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let p = pod_traced(&task(), &td(vec![def("app")]), Some(tp));
    let notes = p.metadata.annotations.as_ref().unwrap();
    assert_eq!(notes[ANNOTATION_TRACEPARENT], tp);
}

#[test]
fn entry_point_is_command_and_command_is_args() {
    let mut d = def("app");
    d.entry_point = Some(vec!["/bin/sh".into(), "-c".into()]);
    d.command = Some(vec!["echo hi".into()]);
    let p = pod_of(&task(), &td(vec![d.clone()]));
    assert_eq!(only(&p).command, Some(vec!["/bin/sh".into(), "-c".into()]));
    assert_eq!(only(&p).args, Some(vec!["echo hi".into()]));
    // Without an entryPoint, the image's ENTRYPOINT stays and command is still the args.
    d.entry_point = None;
    let p = pod_of(&task(), &td(vec![d]));
    assert_eq!(only(&p).command, None);
    assert_eq!(only(&p).args, Some(vec!["echo hi".into()]));
}

#[test]
fn overrides_replace_command_env_and_sizes() {
    let mut d = def("app");
    d.command = Some(vec!["a".into()]);
    d.environment = Some(vec![
        KeyValuePair {
            name: Some("A".into()),
            value: Some("1".into()),
        },
        KeyValuePair {
            name: Some("B".into()),
            value: Some("2".into()),
        },
    ]);
    d.memory = Some(128);
    let mut t = task();
    t.overrides = Some(TaskOverride {
        container_overrides: Some(vec![ContainerOverride {
            name: Some("app".into()),
            command: Some(vec!["b".into()]),
            environment: Some(vec![KeyValuePair {
                name: Some("A".into()),
                value: Some("9".into()),
            }]),
            memory: Some(256),
            cpu: Some(512),
            ..ContainerOverride::default()
        }]),
        ..TaskOverride::default()
    });
    let p = pod_of(&t, &td(vec![d]));
    let c = only(&p);
    assert_eq!(c.args, Some(vec!["b".into()]));
    let env: Vec<(String, Option<String>)> = c
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    assert_eq!(
        env,
        [
            ("B".into(), Some("2".into())),
            ("A".into(), Some("9".into()))
        ]
    );
    let r = c.resources.as_ref().unwrap();
    assert_eq!(
        r.limits.as_ref().unwrap()["memory"],
        Quantity("256Mi".into())
    );
    assert_eq!(r.requests.as_ref().unwrap()["cpu"], Quantity("500m".into()));
}

#[test]
fn cpu_units_are_millicores_and_memory_limits_and_requests() {
    assert_eq!(millicores(1024), Quantity("1000m".into()));
    assert_eq!(millicores(256), Quantity("250m".into()));
    assert_eq!(millicores(1), Quantity("1m".into()));
    let mut d = def("app");
    d.cpu = Some(2048);
    d.memory = Some(512);
    d.memory_reservation = Some(128);
    let p = pod_of(&task(), &td(vec![d]));
    let r = only(&p).resources.clone().unwrap();
    assert_eq!(
        r.requests.unwrap(),
        BTreeMap::from([
            ("cpu".into(), Quantity("2000m".into())),
            ("memory".into(), Quantity("128Mi".into()))
        ])
    );
    assert_eq!(
        r.limits.unwrap(),
        BTreeMap::from([("memory".into(), Quantity("512Mi".into()))])
    );
    // cpu 0 means no reservation in ECS.
    let mut d = def("app");
    d.cpu = Some(0);
    let p = pod_of(&task(), &td(vec![d]));
    assert_eq!(only(&p).resources.clone().unwrap().requests, None);
}

#[test]
fn ports_keep_protocol_and_fixed_host_ports() {
    let mut d = def("app");
    d.port_mappings = Some(vec![
        PortMapping {
            container_port: Some(80),
            host_port: Some(8080),
            name: Some("http".into()),
            ..PortMapping::default()
        },
        PortMapping {
            container_port: Some(53),
            host_port: Some(0),
            protocol: Some(TransportProtocol::Udp),
            ..PortMapping::default()
        },
    ]);
    let p = pod_of(&task(), &td(vec![d.clone()]));
    let ports = only(&p).ports.clone().unwrap();
    assert_eq!(ports[0].container_port, 80);
    assert_eq!(ports[0].host_port, Some(8080));
    assert_eq!(ports[0].protocol.as_deref(), Some("TCP"));
    assert_eq!(ports[0].name.as_deref(), Some("http"));
    assert_eq!(ports[1].container_port, 53);
    assert_eq!(ports[1].host_port, None);
    assert_eq!(ports[1].protocol.as_deref(), Some("UDP"));
    // awsvpc tasks have their own address: nothing is bound on the node.
    let mut t = td(vec![d]);
    t.network_mode = Some(NetworkMode::Awsvpc);
    let p = pod_of(&task(), &t);
    assert_eq!(only(&p).ports.clone().unwrap()[0].host_port, None);
}

#[test]
fn health_check_is_a_readiness_probe() {
    let mut d = def("app");
    d.health_check = Some(HealthCheck {
        command: Some(vec![
            "CMD-SHELL".into(),
            "wget -q -O- localhost || exit 1".into(),
        ]),
        interval: Some(10),
        timeout: Some(2),
        retries: Some(5),
        start_period: Some(7),
    });
    let p = pod_of(&task(), &td(vec![d]));
    let probe = only(&p).readiness_probe.clone().unwrap();
    assert_eq!(
        probe.exec.unwrap().command.unwrap(),
        ["/bin/sh", "-c", "wget -q -O- localhost || exit 1"]
    );
    assert_eq!(probe.period_seconds, Some(10));
    assert_eq!(probe.timeout_seconds, Some(2));
    assert_eq!(probe.failure_threshold, Some(5));
    assert_eq!(probe.initial_delay_seconds, Some(7));
    assert_eq!(
        only(&p).liveness_probe,
        None,
        "ECS never restarts an unhealthy container"
    );
    let cmd = probe_of(vec!["CMD", "test", "-f", "/ok"]);
    assert_eq!(cmd, ["test", "-f", "/ok"]);
}

fn probe_of(command: Vec<&str>) -> Vec<String> {
    probe(&HealthCheck {
        command: Some(command.into_iter().map(String::from).collect()),
        ..HealthCheck::default()
    })
    .and_then(|p| p.exec?.command)
    .unwrap_or_default()
}

#[test]
fn security_user_workdir_and_tty() {
    let mut d = def("app");
    d.user = Some("1000:2000".into());
    d.privileged = Some(true);
    d.readonly_root_filesystem = Some(true);
    d.working_directory = Some("/srv".into());
    d.interactive = Some(true);
    d.pseudo_terminal = Some(true);
    d.linux_parameters = Some(LinuxParameters {
        capabilities: Some(KernelCapabilities {
            add: Some(vec!["NET_ADMIN".into()]),
            drop: Some(vec!["ALL".into()]),
        }),
        ..LinuxParameters::default()
    });
    let p = pod_of(&task(), &td(vec![d]));
    let c = only(&p);
    let s = c.security_context.clone().unwrap();
    assert_eq!(s.run_as_user, Some(1000));
    assert_eq!(s.run_as_group, Some(2000));
    assert_eq!(s.privileged, Some(true));
    assert_eq!(s.read_only_root_filesystem, Some(true));
    let caps = s.capabilities.unwrap();
    assert_eq!(caps.add, Some(vec!["NET_ADMIN".into()]));
    assert_eq!(caps.drop, Some(vec!["ALL".into()]));
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    assert_eq!((c.stdin, c.tty), (Some(true), Some(true)));
    // A user name cannot be resolved outside the image: left to the image.
    let mut d = def("app");
    d.user = Some("nginx".into());
    let p = pod_of(&task(), &td(vec![d]));
    assert_eq!(only(&p).security_context, None);
}

#[test]
fn stop_timeout_is_the_grace_period() {
    let p = pod_of(&task(), &td(vec![def("app")]));
    assert_eq!(spec(&p).termination_grace_period_seconds, Some(30));
    let mut a = def("a");
    a.stop_timeout = Some(5);
    let mut b = def("b");
    b.stop_timeout = Some(12);
    let p = pod_of(&task(), &td(vec![a, b]));
    assert_eq!(spec(&p).termination_grace_period_seconds, Some(12));
}

#[test]
fn volumes_and_mounts() {
    let mut d = def("app");
    d.mount_points = Some(vec![
        MountPoint {
            source_volume: Some("data".into()),
            container_path: Some("/data".into()),
            read_only: Some(true),
        },
        MountPoint {
            source_volume: Some("scratch".into()),
            container_path: Some("/tmp/s".into()),
            read_only: None,
        },
    ]);
    let mut t = td(vec![d]);
    t.volumes = Some(vec![
        EcsVolume {
            name: Some("data".into()),
            host: Some(HostVolumeProperties {
                source_path: Some("/srv/data".into()),
            }),
            ..EcsVolume::default()
        },
        EcsVolume {
            name: Some("scratch".into()),
            ..EcsVolume::default()
        },
    ]);
    let p = pod_of(&task(), &t);
    let vols = spec(&p).volumes.clone().unwrap();
    assert_eq!(vols[0].name, "data");
    assert_eq!(vols[0].host_path.as_ref().unwrap().path, "/srv/data");
    assert_eq!(vols[1].name, "scratch");
    assert!(vols[1].empty_dir.is_some());
    let mounts = only(&p).volume_mounts.clone().unwrap();
    assert_eq!(
        (
            mounts[0].name.as_str(),
            mounts[0].mount_path.as_str(),
            mounts[0].read_only
        ),
        ("data", "/data", Some(true))
    );
    assert_eq!(mounts[1].mount_path, "/tmp/s");
}

fn depends(on: &str, condition: ContainerCondition) -> Option<Vec<ContainerDependency>> {
    Some(vec![ContainerDependency {
        container_name: Some(on.into()),
        condition: Some(condition),
    }])
}

#[test]
fn depends_on_maps_to_init_containers_and_sidecars() {
    let migrate = def("migrate");
    let mut proxy = def("proxy");
    proxy.health_check = Some(HealthCheck {
        command: Some(vec!["CMD".into(), "true".into()]),
        ..HealthCheck::default()
    });
    let log = def("log");
    let mut app = def("app");
    app.depends_on = Some(vec![
        ContainerDependency {
            container_name: Some("migrate".into()),
            condition: Some(ContainerCondition::Success),
        },
        ContainerDependency {
            container_name: Some("proxy".into()),
            condition: Some(ContainerCondition::Healthy),
        },
        ContainerDependency {
            container_name: Some("log".into()),
            condition: Some(ContainerCondition::Start),
        },
    ]);
    // Defined first, started last.
    let p = pod_of(&task(), &td(vec![app, migrate, proxy, log]));
    let s = spec(&p);
    let init: Vec<&str> = s
        .init_containers
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(init, ["migrate", "proxy"]);
    let regular: Vec<&str> = s.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        regular,
        ["log", "app"],
        "START dependencies keep their order"
    );
    let inits = s.init_containers.clone().unwrap();
    assert_eq!(inits[0].restart_policy, None, "runs to completion");
    assert_eq!(
        inits[1].restart_policy.as_deref(),
        Some("Always"),
        "a sidecar"
    );
    assert!(
        inits[1].startup_probe.is_some(),
        "the next starts once it is healthy"
    );
}

#[test]
fn complete_dependency_is_an_init_container() {
    let mut app = def("app");
    app.depends_on = depends("setup", ContainerCondition::Complete);
    let p = pod_of(&task(), &td(vec![def("setup"), app]));
    assert_eq!(spec(&p).init_containers.clone().unwrap()[0].name, "setup");
}

#[test]
fn names_are_kubernetes_names_and_the_map_keeps_ecs_names() {
    let p = pod_of(&task(), &td(vec![def("Web_App")]));
    let name = only(&p).name.clone();
    assert!(name.starts_with("web-app-"), "{name}");
    let map: BTreeMap<String, String> =
        serde_json::from_str(&p.metadata.annotations.as_ref().unwrap()[ANNOTATION_CONTAINERS])
            .unwrap();
    assert_eq!(map[&name], "Web_App");
}

#[test]
fn host_network_hosts_and_dns() {
    let mut d = def("app");
    d.extra_hosts = Some(vec![HostEntry {
        hostname: Some("db".into()),
        ip_address: Some("10.0.0.5".into()),
    }]);
    d.dns_servers = Some(vec!["1.1.1.1".into()]);
    d.dns_search_domains = Some(vec!["corp".into()]);
    d.hostname = Some("box".into());
    let mut t = td(vec![d]);
    t.network_mode = Some(NetworkMode::Host);
    let p = pod_of(&task(), &t);
    let s = spec(&p);
    assert_eq!(s.host_network, Some(true));
    let alias = &s.host_aliases.as_ref().unwrap()[0];
    assert_eq!(alias.ip, "10.0.0.5");
    assert_eq!(alias.hostnames, Some(vec!["db".into()]));
    let dns = s.dns_config.clone().unwrap();
    assert_eq!(dns.nameservers, Some(vec!["1.1.1.1".into()]));
    assert_eq!(dns.searches, Some(vec!["corp".into()]));
    assert_eq!(s.hostname.as_deref(), Some("box"));
}

#[test]
fn containers_start_in_dependency_order_under_the_names_their_runtime_ids_use() {
    // Defined first, started second: each keeps the Kubernetes name `container_names_of`
    // gives it, which the runtime IDs KECS records are built from.
    let mut first = def("App");
    first.depends_on = Some(vec![ContainerDependency {
        container_name: Some("app".into()),
        condition: Some(ContainerCondition::Start),
    }]);
    let t = td(vec![first, def("app")]);
    let p = pod_of(&task(), &t);
    let names = kecs_runtime::kubernetes::pod::container_names_of(&t);
    let started: Vec<&str> = spec(&p)
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(started, [names[1].0.as_str(), names[0].0.as_str()]);
    assert_eq!((names[0].1.as_str(), names[1].1.as_str()), ("App", "app"));
}

#[test]
fn the_pull_behaviour_becomes_the_image_pull_policy() {
    use kecs_runtime::kubernetes::pod::pull_policy;
    use kecs_runtime::PullBehavior::*;
    let t = task();
    let p = pod_of(&t, &td(vec![def("app")]));
    assert_eq!(only(&p).image_pull_policy.as_deref(), Some("IfNotPresent"));
    let policies = [Default, Always, Once, PreferCached].map(pull_policy);
    assert_eq!(
        policies,
        ["Always", "Always", "IfNotPresent", "IfNotPresent"]
    );
}
