//! What RegisterTaskDefinition checks and fills in: ECS's validation, container defaults,
//! `compatibilities` and `requiresAttributes`.

use std::collections::BTreeSet;

use crate::model::*;
use crate::rules::validate;
use crate::EcsError;

fn err(msg: impl Into<String>) -> EcsError {
    EcsError::client(msg)
}

/// Task CPU in units: `"256"`, `"0.25 vCPU"`, `"1 vcpu"`.
pub(crate) fn parse_cpu(s: &str) -> Option<i64> {
    let t = s.trim().to_ascii_lowercase();
    match t.strip_suffix("vcpu") {
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .map(|v| (v * 1024.0).round() as i64),
        None => t.parse().ok(),
    }
    .filter(|v| *v > 0)
}

/// Task memory in MiB: `"512"`, `"1 GB"`, `"2GB"`.
pub(crate) fn parse_memory(s: &str) -> Option<i64> {
    let t = s.trim().to_ascii_lowercase();
    match t.strip_suffix("gb") {
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .map(|v| (v * 1024.0).round() as i64),
        None => t.strip_suffix("mb").unwrap_or(&t).trim().parse().ok(),
    }
    .filter(|v| *v > 0)
}

/// True when Fargate offers this CPU/memory pair.
pub(crate) fn fargate_size_ok(cpu: i64, memory: i64) -> bool {
    let (lo, hi, step) = match cpu {
        256 => return [512, 1024, 2048].contains(&memory),
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => return false,
    };
    (lo..=hi).contains(&memory) && (memory - lo) % step == 0
}

fn check_health(c: &str, h: &HealthCheck) -> Result<(), EcsError> {
    if h.command.as_deref().unwrap_or_default().is_empty() {
        return Err(err(format!(
            "Invalid healthCheck for container '{c}': command is required."
        )));
    }
    let ranges = [
        ("interval", h.interval, 5, 300),
        ("timeout", h.timeout, 2, 120),
        ("retries", h.retries, 1, 10),
        ("startPeriod", h.start_period, 0, 300),
    ];
    for (name, value, lo, hi) in ranges {
        if let Some(v) = value.filter(|v| !(lo..=hi).contains(v)) {
            return Err(err(format!(
                "Invalid healthCheck for container '{c}': {name} {v} must be between {lo} and {hi}."
            )));
        }
    }
    Ok(())
}

/// Checks one container against its task and fills in ECS's defaults.
fn container(
    c: &ContainerDefinition,
    names: &BTreeSet<String>,
    volumes: &BTreeSet<String>,
    mode: NetworkMode,
    task_memory: Option<i64>,
) -> Result<ContainerDefinition, EcsError> {
    let name = c.name.clone().unwrap_or_default();
    if name.is_empty() {
        return Err(err("Container.name should not be null or empty."));
    }
    if !validate::is_name(&name, 255) {
        return Err(err(format!(
            "Container name '{name}' is invalid: up to 255 letters, numbers, hyphens and underscores."
        )));
    }
    if c.image.as_deref().unwrap_or_default().trim().is_empty() {
        return Err(err("Container.image should not be null or empty."));
    }
    let setting = |what: &str| err(format!("Invalid setting for container '{name}'. {what}"));
    let log_secrets = c
        .log_configuration
        .as_ref()
        .and_then(|l| l.secret_options.as_ref());
    for secret in c
        .secrets
        .iter()
        .flatten()
        .chain(log_secrets.into_iter().flatten())
    {
        let value_from = secret.value_from.as_deref().unwrap_or_default();
        super::secret_ref::parse_value_from(value_from).map_err(|e| {
            let secret = secret.name.as_deref().unwrap_or_default();
            setting(&format!("Secret '{secret}': {e}."))
        })?;
    }
    for file in c.environment_files.iter().flatten() {
        super::secret_ref::parse_s3_arn(file.value.as_deref().unwrap_or_default())
            .map_err(|e| setting(&format!("Environment file {e}.")))?;
    }
    if let Some(m) = c.memory {
        if m < 6 {
            return Err(setting("The 'memory' setting must be at least 6 MiB."));
        }
        if task_memory.is_some_and(|t| i64::from(m) > t) {
            return Err(setting(
                "The 'memory' setting must not exceed the task's memory.",
            ));
        }
    }
    if let Some(r) = c.memory_reservation {
        if r < 6 {
            return Err(setting(
                "The 'memoryReservation' setting must be at least 6 MiB.",
            ));
        }
        if c.memory.is_some_and(|m| m < r) {
            return Err(setting(
                "'memory' must be greater than or equal to 'memoryReservation'.",
            ));
        }
    }
    if task_memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none() {
        return Err(setting(
            "At least one of 'memory' or 'memoryReservation' must be specified.",
        ));
    }
    if c.cpu.is_some_and(|cpu| !(0..=10240 * 1024).contains(&cpu)) {
        return Err(setting("'cpu' must not be negative."));
    }
    let mut ports = vec![];
    for p in c.port_mappings.as_deref().unwrap_or_default() {
        if p.container_port.is_none() && p.container_port_range.is_none() {
            return Err(setting(
                "A port mapping needs a containerPort or a containerPortRange.",
            ));
        }
        for port in [p.container_port, p.host_port].into_iter().flatten() {
            if !(0..=65535).contains(&port) {
                return Err(setting(&format!("Port {port} is out of range 0-65535.")));
            }
        }
        let mut p = p.clone();
        if matches!(mode, NetworkMode::Awsvpc | NetworkMode::Host) {
            match (p.container_port, p.host_port) {
                (Some(cp), Some(hp)) if cp != hp => {
                    return Err(err(format!(
                        "When networkMode={mode}, the host ports and container ports in port mappings must match."
                    )))
                }
                (Some(cp), None) => p.host_port = Some(cp),
                _ => {}
            }
        }
        if mode == NetworkMode::Bridge && p.host_port.is_none() && p.container_port.is_some() {
            // 0: Docker picks a free host port (dynamic port mapping).
            p.host_port = Some(0);
        }
        p.protocol = Some(p.protocol.unwrap_or(TransportProtocol::Tcp));
        ports.push(p);
    }
    if !c.links.as_deref().unwrap_or_default().is_empty() && mode != NetworkMode::Bridge {
        return Err(err(format!(
            "links are not supported when networkMode={mode}."
        )));
    }
    for m in c.mount_points.as_deref().unwrap_or_default() {
        let source = m.source_volume.as_deref().unwrap_or_default();
        if !volumes.contains(source) {
            return Err(err(format!(
                "Unknown volume '{source}' in mountPoints of container '{name}'."
            )));
        }
    }
    for v in c.volumes_from.as_deref().unwrap_or_default() {
        let source = v.source_container.as_deref().unwrap_or_default();
        if !names.contains(source) || source == name {
            return Err(err(format!(
                "Unknown container '{source}' in volumesFrom of container '{name}'."
            )));
        }
    }
    for d in c.depends_on.as_deref().unwrap_or_default() {
        let on = d.container_name.as_deref().unwrap_or_default();
        if !names.contains(on) || on == name {
            return Err(err(format!(
                "Unknown container '{on}' in dependsOn of container '{name}'."
            )));
        }
    }
    if let Some(h) = &c.health_check {
        check_health(&name, h)?;
    }
    let mut out = c.clone();
    if let Some(h) = &mut out.health_check {
        h.interval = Some(h.interval.unwrap_or(30));
        h.timeout = Some(h.timeout.unwrap_or(5));
        h.retries = Some(h.retries.unwrap_or(3));
    }
    out.cpu = Some(c.cpu.unwrap_or(0));
    out.essential = Some(c.essential.unwrap_or(true));
    out.port_mappings = Some(ports);
    out.environment = Some(c.environment.clone().unwrap_or_default());
    out.mount_points = Some(c.mount_points.clone().unwrap_or_default());
    out.volumes_from = Some(c.volumes_from.clone().unwrap_or_default());
    out.system_controls = Some(c.system_controls.clone().unwrap_or_default());
    Ok(out)
}

/// The attributes a container instance must have to run this definition, as ECS derives them.
fn requires_attributes(td: &TaskDefinition) -> Vec<Attribute> {
    let mut names = BTreeSet::new();
    let mut add = |n: &str| {
        names.insert(n.to_string());
    };
    let api = |v: &str| format!("com.amazonaws.ecs.capability.docker-remote-api.{v}");
    if td.network_mode == Some(NetworkMode::Awsvpc) {
        add("ecs.capability.task-eni");
        add(&api("1.18"));
    }
    if td.task_role_arn.is_some() {
        add("com.amazonaws.ecs.capability.task-iam-role");
    }
    for c in td.container_definitions.as_deref().unwrap_or_default() {
        if let Some(log) = &c.log_configuration {
            if let Some(driver) = log.log_driver {
                add(&format!(
                    "com.amazonaws.ecs.capability.logging-driver.{driver}"
                ));
                add(&api("1.19"));
                if driver == LogDriver::Awslogs && td.execution_role_arn.is_some() {
                    add("ecs.capability.execution-role-awslogs");
                }
            }
        }
        if td.execution_role_arn.is_some()
            && c.image.as_deref().unwrap_or_default().contains(".dkr.ecr.")
        {
            add("ecs.capability.execution-role-ecr-pull");
        }
        if c.health_check.is_some() {
            add("com.amazonaws.ecs.capability.container-health-check");
        }
        if !c.depends_on.as_deref().unwrap_or_default().is_empty()
            || c.start_timeout.is_some()
            || c.stop_timeout.is_some()
        {
            add("ecs.capability.container-ordering");
        }
        if c.repository_credentials.is_some() {
            add("com.amazonaws.ecs.capability.private-registry-authentication.secretsmanager");
        }
        for s in c.secrets.as_deref().unwrap_or_default() {
            let from = s.value_from.as_deref().unwrap_or_default();
            if from.contains(":secretsmanager:") {
                add("ecs.capability.secrets.asm.environment-variables");
            } else {
                add("ecs.capability.secrets.ssm.environment-variables");
            }
        }
        if c.docker_labels.as_ref().is_some_and(|l| !l.is_empty()) || c.ulimits.is_some() {
            add(&api("1.18"));
        }
        if c.memory_reservation.is_some() {
            add(&api("1.21"));
        }
        if c.linux_parameters
            .as_ref()
            .and_then(|l| l.init_process_enabled)
            == Some(true)
        {
            add(&api("1.25"));
        }
        if c.firelens_configuration.is_some() {
            add("ecs.capability.firelens.fluentbit");
        }
    }
    if td.pid_mode.is_some() || td.ipc_mode.is_some() {
        add(&api("1.35"));
    }
    for v in td.volumes.as_deref().unwrap_or_default() {
        if v.efs_volume_configuration.is_some() {
            add("ecs.capability.efs");
        }
        if v.docker_volume_configuration.is_some() {
            add(&api("1.25"));
        }
    }
    names
        .into_iter()
        .map(|n| Attribute {
            name: Some(n),
            ..Attribute::default()
        })
        .collect()
}

/// Where a definition can run, as ECS derives `compatibilities`.
fn compatibilities(
    td: &TaskDefinition,
    cpu: Option<i64>,
    memory: Option<i64>,
) -> Vec<Compatibility> {
    let mut out = vec![Compatibility::Ec2];
    let awsvpc = td.network_mode == Some(NetworkMode::Awsvpc);
    if !awsvpc {
        out.push(Compatibility::External);
    }
    let fargate_ok = awsvpc && matches!((cpu, memory), (Some(c), Some(m)) if fargate_size_ok(c, m));
    if fargate_ok {
        out.push(Compatibility::Fargate);
    }
    out
}

/// Validates a registration and returns the definition it registers (without ARN, revision,
/// status and registration time, which the caller assigns).
pub(crate) fn build(input: &RegisterTaskDefinitionRequest) -> Result<TaskDefinition, EcsError> {
    let family = input.family.clone().unwrap_or_default();
    if !validate::is_name(&family, 255) {
        return Err(err(
            "Family must be 1-255 characters long and contain only letters, numbers, hyphens and underscores.",
        ));
    }
    let defs = input.container_definitions.as_deref().unwrap_or_default();
    if defs.is_empty() {
        return Err(err("Container list cannot be empty."));
    }
    if defs.len() > 10 {
        return Err(err("A task definition can have at most 10 containers."));
    }
    let mut names = BTreeSet::new();
    for c in defs {
        if let Some(n) = &c.name {
            if !names.insert(n.clone()) {
                return Err(err(format!("Duplicate container name '{n}'.")));
            }
        }
    }
    let mut volumes = BTreeSet::new();
    for v in input.volumes.as_deref().unwrap_or_default() {
        let n = v.name.clone().unwrap_or_default();
        if !validate::is_name(&n, 255) {
            return Err(err(format!("Invalid volume name '{n}'.")));
        }
        if !volumes.insert(n.clone()) {
            return Err(err(format!("Duplicate volume name '{n}'.")));
        }
    }
    let cpu = match input.cpu.as_deref() {
        None => None,
        Some(s) => {
            Some(parse_cpu(s).ok_or_else(|| err(format!("Invalid 'cpu' setting for task: {s}.")))?)
        }
    };
    let memory = match input.memory.as_deref() {
        None => None,
        Some(s) => Some(
            parse_memory(s)
                .ok_or_else(|| err(format!("Invalid 'memory' setting for task: {s}.")))?,
        ),
    };
    let mode = input.network_mode.unwrap_or(NetworkMode::Bridge);
    let required = input.requires_compatibilities.clone().unwrap_or_default();
    if required.contains(&Compatibility::Fargate) {
        if input.pid_mode == Some(PidMode::Host) {
            return Err(err(
                "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.",
            ));
        }
        if mode != NetworkMode::Awsvpc {
            return Err(err("Fargate only supports network mode 'awsvpc'."));
        }
        let (Some(c), Some(m)) = (cpu, memory) else {
            return Err(err(
                "Fargate requires that 'cpu' and 'memory' be defined at the task level.",
            ));
        };
        if !fargate_size_ok(c, m) {
            return Err(err(format!(
                "No Fargate configuration exists for given values: {c} CPU, {m} memory. See the Amazon ECS documentation for the valid combinations."
            )));
        }
    }
    let containers = defs
        .iter()
        .map(|c| container(c, &names, &volumes, mode, memory))
        .collect::<Result<Vec<_>, _>>()?;
    if !containers.iter().any(|c| c.essential == Some(true)) {
        return Err(err(
            "A task definition must have at least one essential container.",
        ));
    }
    let mut td = TaskDefinition {
        family: Some(family),
        container_definitions: Some(containers),
        task_role_arn: input.task_role_arn.clone(),
        execution_role_arn: input.execution_role_arn.clone(),
        network_mode: input.network_mode,
        volumes: Some(with_volume_defaults(
            input.volumes.clone().unwrap_or_default(),
        )),
        placement_constraints: Some(input.placement_constraints.clone().unwrap_or_default()),
        requires_compatibilities: input.requires_compatibilities.clone(),
        cpu: cpu.map(|c| c.to_string()),
        memory: memory.map(|m| m.to_string()),
        inference_accelerators: input.inference_accelerators.clone(),
        pid_mode: input.pid_mode,
        ipc_mode: input.ipc_mode,
        proxy_configuration: input.proxy_configuration.clone(),
        ephemeral_storage: input.ephemeral_storage.clone(),
        runtime_platform: input.runtime_platform.clone(),
        enable_fault_injection: input.enable_fault_injection,
        ..TaskDefinition::default()
    };
    td.requires_attributes = Some(requires_attributes(&td));
    td.compatibilities = Some(compatibilities(&td, cpu, memory));
    Ok(td)
}

/// What ECS fills in on volumes: an EFS volume's `rootDirectory` is `/` when not given.
fn with_volume_defaults(mut volumes: Vec<Volume>) -> Vec<Volume> {
    for v in &mut volumes {
        if let Some(efs) = v.efs_volume_configuration.as_mut() {
            efs.root_directory.get_or_insert_with(|| "/".into());
        }
    }
    volumes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> ContainerDefinition {
        ContainerDefinition {
            name: Some("web".into()),
            image: Some("busybox".into()),
            memory: Some(128),
            ..ContainerDefinition::default()
        }
    }

    fn request(containers: Vec<ContainerDefinition>) -> RegisterTaskDefinitionRequest {
        RegisterTaskDefinitionRequest {
            family: Some("fam".into()),
            container_definitions: Some(containers),
            ..RegisterTaskDefinitionRequest::default()
        }
    }

    #[test]
    fn parses_cpu_and_memory_units() {
        assert_eq!(parse_cpu("256"), Some(256));
        assert_eq!(parse_cpu("0.25 vCPU"), Some(256));
        assert_eq!(parse_cpu("2 vcpu"), Some(2048));
        assert_eq!(parse_cpu("abc"), None);
        assert_eq!(parse_memory("1 GB"), Some(1024));
        assert_eq!(parse_memory("512"), Some(512));
        assert_eq!(parse_memory("0"), None);
    }

    #[test]
    fn fargate_sizes() {
        assert!(fargate_size_ok(256, 512));
        assert!(!fargate_size_ok(256, 4096));
        assert!(fargate_size_ok(1024, 3072));
        assert!(!fargate_size_ok(1024, 3000));
        assert!(!fargate_size_ok(300, 1024));
    }

    #[test]
    fn fills_container_defaults() {
        let td = build(&request(vec![web()])).unwrap();
        let c = &td.container_definitions.unwrap()[0];
        assert_eq!(c.essential, Some(true));
        assert_eq!(c.cpu, Some(0));
        assert_eq!(c.port_mappings, Some(vec![]));
        assert_eq!(c.environment, Some(vec![]));
        assert_eq!(
            td.compatibilities,
            Some(vec![Compatibility::Ec2, Compatibility::External])
        );
    }

    #[test]
    fn awsvpc_host_port_defaults_to_container_port() {
        let mut c = web();
        c.port_mappings = Some(vec![PortMapping {
            container_port: Some(80),
            ..PortMapping::default()
        }]);
        let mut r = request(vec![c]);
        r.network_mode = Some(NetworkMode::Awsvpc);
        r.cpu = Some("256".into());
        r.memory = Some("512".into());
        let td = build(&r).unwrap();
        let p = &td.container_definitions.as_ref().unwrap()[0]
            .port_mappings
            .as_ref()
            .unwrap()[0];
        assert_eq!(
            (p.host_port, p.protocol),
            (Some(80), Some(TransportProtocol::Tcp))
        );
        assert_eq!(
            td.compatibilities,
            Some(vec![Compatibility::Ec2, Compatibility::Fargate])
        );
        let attrs: Vec<String> = td
            .requires_attributes
            .unwrap()
            .into_iter()
            .filter_map(|a| a.name)
            .collect();
        assert!(attrs.contains(&"ecs.capability.task-eni".to_string()));
    }

    #[test]
    fn refuses_what_ecs_refuses() {
        let mut no_image = web();
        no_image.image = None;
        assert!(build(&request(vec![no_image])).is_err());
        assert!(build(&request(vec![])).is_err());
        assert!(build(&request(vec![web(), web()])).is_err());
        let mut no_memory = web();
        no_memory.memory = None;
        assert!(build(&request(vec![no_memory])).is_err());
        let mut fargate = request(vec![web()]);
        fargate.requires_compatibilities = Some(vec![Compatibility::Fargate]);
        assert!(build(&fargate).is_err(), "fargate needs awsvpc");
        let mut bad_dep = web();
        bad_dep.depends_on = Some(vec![ContainerDependency {
            container_name: Some("nope".into()),
            condition: Some(ContainerCondition::Start),
        }]);
        assert!(build(&request(vec![bad_dep])).is_err());
        let mut r = request(vec![web()]);
        r.family = Some("x".repeat(256));
        assert!(build(&r).is_err());
    }
}
