//! CreateCluster, DescribeClusters, ListClusters, UpdateCluster, UpdateClusterSettings,
//! PutClusterCapacityProviders and DeleteCluster.

use super::find::{active_cluster, cluster_arn, has_services, services_in, tasks_in};
use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::paginate_sorted;
use crate::rules::validate;
use crate::state::{prefixed, Mutation, State};
use crate::status::{ClusterStatus, HasStatus, ServiceStatus, TaskStatus};
use crate::{arn, EcsError, RequestContext};

fn check_settings(settings: &[ClusterSetting]) -> Result<(), EcsError> {
    for s in settings {
        let value = s.value.as_deref().unwrap_or_default();
        if s.name == Some(ClusterSettingName::ContainerInsights)
            && !matches!(value, "enabled" | "disabled" | "enhanced")
        {
            return Err(EcsError::invalid(format!(
                "Invalid value '{value}' for setting containerInsights. Valid values: enabled, disabled, enhanced."
            )));
        }
    }
    Ok(())
}

fn merge_settings(existing: &[ClusterSetting], new: &[ClusterSetting]) -> Vec<ClusterSetting> {
    let mut out = existing.to_vec();
    for s in new {
        match out.iter_mut().find(|e| e.name == s.name) {
            Some(e) => e.value = s.value.clone(),
            None => out.push(s.clone()),
        }
    }
    out
}

/// Checks capacity providers and a default strategy against what exists in the region.
fn check_capacity_providers(
    state: &State,
    ctx: &RequestContext,
    providers: &[String],
    strategy: &[CapacityProviderStrategyItem],
) -> Result<(), EcsError> {
    for p in providers {
        if !super::capacity_providers::exists_active(state, ctx, p) {
            return Err(EcsError::invalid(format!(
                "The specified capacity provider '{p}' is not in an ACTIVE state. Specify a valid capacity provider and try again."
            )));
        }
    }
    let mut with_base = 0;
    for item in strategy {
        let name = item.capacity_provider.as_deref().unwrap_or_default();
        if !providers.iter().any(|p| p == name) {
            return Err(EcsError::invalid(format!(
                "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again. Capacity provider: {name}"
            )));
        }
        if !(0..=1000).contains(&item.weight.unwrap_or(0)) {
            return Err(EcsError::invalid(
                "The capacity provider strategy weight must be between 0 and 1000.",
            ));
        }
        let base = item.base.unwrap_or(0);
        if !(0..=100_000).contains(&base) {
            return Err(EcsError::invalid(
                "The capacity provider strategy base must be between 0 and 100000.",
            ));
        }
        if base > 0 {
            with_base += 1;
        }
    }
    if with_base > 1 {
        return Err(EcsError::invalid(
            "Only one capacity provider in a capacity provider strategy can have a base defined.",
        ));
    }
    Ok(())
}

/// The cluster as a response shows it: counts and `include`d parts filled in.
fn view(state: &State, c: &Cluster, include: &[ClusterField], with_defaults: bool) -> Cluster {
    let arn = c.cluster_arn.as_deref().unwrap_or_default();
    let wants = |f: ClusterField| with_defaults || include.contains(&f);
    let mut out = c.clone();
    out.registered_container_instances_count = Some(super::container_instances::registered_count(
        state, arn, true,
    ));
    let counts = state.counts.of(arn);
    out.running_tasks_count = Some(counts.running_tasks);
    out.pending_tasks_count = Some(counts.pending_tasks);
    out.active_services_count = Some(counts.active_services);
    out.statistics = Some(if include.contains(&ClusterField::Statistics) {
        statistics(state, arn)
    } else {
        vec![]
    });
    // As ECS does: parts not asked for come back as empty lists.
    out.tags = Some(if wants(ClusterField::Tags) {
        state.tags_of(arn)
    } else {
        vec![]
    });
    if !wants(ClusterField::Settings) {
        out.settings = Some(vec![]);
    }
    if !wants(ClusterField::Configurations) {
        out.configuration = None;
    }
    if wants(ClusterField::Attachments) {
        // ECS's cluster attachments are Auto Scaling policies and Service Connect namespace
        // links, neither of which exists here.
        out.attachments.get_or_insert_with(Vec::new);
    } else {
        out.attachments = None;
        out.attachments_status = None;
    }
    out
}

/// DescribeClusters' STATISTICS: tasks and services by launch type (a task or service of a
/// capacity provider strategy counts as EC2 unless it is Fargate's).
fn statistics(state: &State, arn: &str) -> Vec<KeyValuePair> {
    let kind = |l: Option<LaunchType>| match l {
        Some(LaunchType::Fargate) => 1,
        Some(LaunchType::External) => 2,
        _ => 0,
    };
    // [EC2, Fargate, External] each.
    let (mut running, mut pending, mut active, mut draining) = ([0; 3], [0; 3], [0; 3], [0; 3]);
    for (_, t) in tasks_in(state, arn) {
        match t.last_status {
            Some(TaskStatus::Running) => running[kind(t.launch_type)] += 1,
            Some(TaskStatus::Stopped) | None => {}
            Some(_) => pending[kind(t.launch_type)] += 1,
        }
    }
    for (_, svc) in services_in(state, arn) {
        match svc.status {
            Some(ServiceStatus::Active) => active[kind(svc.launch_type)] += 1,
            Some(ServiceStatus::Draining) => draining[kind(svc.launch_type)] += 1,
            _ => {}
        }
    }
    [
        ("runningEC2TasksCount", running[0]),
        ("runningFargateTasksCount", running[1]),
        ("pendingEC2TasksCount", pending[0]),
        ("pendingFargateTasksCount", pending[1]),
        ("runningExternalTasksCount", running[2]),
        ("pendingExternalTasksCount", pending[2]),
        ("activeEC2ServiceCount", active[0]),
        ("activeFargateServiceCount", active[1]),
        ("drainingEC2ServiceCount", draining[0]),
        ("drainingFargateServiceCount", draining[1]),
        ("activeExternalServiceCount", active[2]),
        ("drainingExternalServiceCount", draining[2]),
    ]
    .into_iter()
    .map(|(name, n)| KeyValuePair {
        name: Some(name.to_string()),
        value: Some(n.to_string()),
    })
    .collect()
}

pub(crate) async fn create_cluster(
    core: &Core,
    ctx: &RequestContext,
    input: CreateClusterRequest,
) -> Result<CreateClusterResponse, EcsError> {
    let name = input
        .cluster_name
        .clone()
        .unwrap_or_else(|| "default".into());
    if !validate::is_name(&name, 255) {
        return Err(EcsError::invalid(
            "Cluster name must be 1-255 characters long and contain only letters (uppercase and lowercase), numbers, underscores and hyphens.",
        ));
    }
    let tags = validate::dedupe_tags(input.tags.as_deref().unwrap_or_default());
    validate::tags(&tags)?;
    let settings = input.settings.clone().unwrap_or_default();
    check_settings(&settings)?;
    core.write(|state| {
        let arn = arn::ecs(&ctx.region, &ctx.account_id, &format!("cluster/{name}"));
        if let Some(existing) = state
            .clusters
            .get(&arn)
            .filter(|c| c.status_is(ClusterStatus::Active))
        {
            // CreateCluster is idempotent: an ACTIVE cluster of that name is returned as it is.
            return Ok((view(state, existing, &[], true), vec![]));
        }
        let providers = input.capacity_providers.clone().unwrap_or_default();
        let strategy = input
            .default_capacity_provider_strategy
            .clone()
            .unwrap_or_default();
        check_capacity_providers(state, ctx, &providers, &strategy)?;
        let insights = super::account_settings::effective(
            state,
            ctx,
            &ctx.root_principal(),
            SettingName::ContainerInsights,
        );
        let settings = merge_settings(
            &[ClusterSetting {
                name: Some(ClusterSettingName::ContainerInsights),
                value: Some(insights),
            }],
            &settings,
        );
        let cluster = Cluster {
            cluster_arn: Some(arn.clone()),
            cluster_name: Some(name.clone()),
            status: Some(ClusterStatus::Active.into()),
            settings: Some(settings),
            configuration: input.configuration.clone(),
            capacity_providers: Some(providers),
            default_capacity_provider_strategy: Some(strategy),
            service_connect_defaults: input.service_connect_defaults.as_ref().map(|d| {
                ClusterServiceConnectDefaults {
                    namespace: d.namespace.clone(),
                }
            }),
            ..Cluster::default()
        };
        let mut shown = view(state, &cluster, &[], true);
        shown.tags = Some(tags.clone());
        Ok((
            shown,
            vec![Mutation::PutCluster(cluster), Mutation::PutTags(arn, tags)],
        ))
    })
    .await
    .map(|cluster| CreateClusterResponse {
        cluster: Some(cluster),
    })
}

pub(crate) async fn describe_clusters(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeClustersRequest,
) -> Result<DescribeClustersResponse, EcsError> {
    let names = input.clusters.unwrap_or_else(|| vec!["default".into()]);
    if names.len() > 100 {
        return Err(EcsError::invalid("clusters can have at most 100 items."));
    }
    let include = input.include.unwrap_or_default();
    core.read(|state| {
        let mut clusters = vec![];
        let mut failures = vec![];
        for name in &names {
            let found = cluster_arn(ctx, Some(name))
                .ok()
                .and_then(|arn| state.clusters.get(&arn));
            match found {
                Some(c) => clusters.push(view(state, c, &include, false)),
                None => failures.push(super::missing(
                    cluster_arn(ctx, Some(name)).unwrap_or_else(|_| name.clone()),
                )),
            }
        }
        Ok(DescribeClustersResponse {
            clusters: Some(clusters),
            failures: Some(failures),
        })
    })
}

pub(crate) async fn list_clusters(
    core: &Core,
    ctx: &RequestContext,
    input: ListClustersRequest,
) -> Result<ListClustersResponse, EcsError> {
    let prefix = arn::ecs(&ctx.region, &ctx.account_id, "cluster/");
    let arns: Vec<String> = core.read(|state| {
        // Deleted clusters stay listed until the retention sweeper forgets them: ECS's
        // "might remain discoverable in your account for a period of time".
        prefixed(&state.clusters, prefix.clone())
            .map(|(k, _)| k.clone())
            .collect()
    });
    let page = paginate_sorted(arns, input.max_results, input.next_token.as_deref())?;
    Ok(ListClustersResponse {
        cluster_arns: Some(page.items),
        next_token: page.next_token,
    })
}

/// Applies `change` to the ACTIVE cluster named `ident` and returns it as responses show it.
async fn modify_cluster(
    core: &Core,
    ctx: &RequestContext,
    ident: Option<&str>,
    change: impl FnOnce(&State, &mut Cluster) -> Result<(), EcsError>,
) -> Result<Cluster, EcsError> {
    core.write(|state| {
        let mut cluster = active_cluster(state, ctx, ident)?.clone();
        change(state, &mut cluster)?;
        let shown = view(state, &cluster, &[], true);
        Ok((shown, vec![Mutation::PutCluster(cluster)]))
    })
    .await
}

pub(crate) async fn update_cluster(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateClusterRequest,
) -> Result<UpdateClusterResponse, EcsError> {
    let settings = input.settings.clone().unwrap_or_default();
    check_settings(&settings)?;
    let cluster = modify_cluster(core, ctx, input.cluster.as_deref(), |_, c| {
        c.settings = Some(merge_settings(
            c.settings.as_deref().unwrap_or_default(),
            &settings,
        ));
        if input.configuration.is_some() {
            c.configuration = input.configuration.clone();
        }
        if let Some(d) = &input.service_connect_defaults {
            c.service_connect_defaults = Some(ClusterServiceConnectDefaults {
                namespace: d.namespace.clone(),
            });
        }
        Ok(())
    })
    .await?;
    Ok(UpdateClusterResponse {
        cluster: Some(cluster),
    })
}

pub(crate) async fn update_cluster_settings(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateClusterSettingsRequest,
) -> Result<UpdateClusterSettingsResponse, EcsError> {
    let settings = input.settings.clone().unwrap_or_default();
    check_settings(&settings)?;
    let cluster = modify_cluster(core, ctx, input.cluster.as_deref(), |_, c| {
        c.settings = Some(merge_settings(
            c.settings.as_deref().unwrap_or_default(),
            &settings,
        ));
        Ok(())
    })
    .await?;
    Ok(UpdateClusterSettingsResponse {
        cluster: Some(cluster),
    })
}

pub(crate) async fn put_cluster_capacity_providers(
    core: &Core,
    ctx: &RequestContext,
    input: PutClusterCapacityProvidersRequest,
) -> Result<PutClusterCapacityProvidersResponse, EcsError> {
    let providers = input.capacity_providers.clone().unwrap_or_default();
    let strategy = input
        .default_capacity_provider_strategy
        .clone()
        .unwrap_or_default();
    let cluster = modify_cluster(core, ctx, input.cluster.as_deref(), |state, c| {
        check_capacity_providers(state, ctx, &providers, &strategy)?;
        c.capacity_providers = Some(providers.clone());
        c.default_capacity_provider_strategy = Some(strategy.clone());
        Ok(())
    })
    .await?;
    Ok(PutClusterCapacityProvidersResponse {
        cluster: Some(cluster),
    })
}

pub(crate) async fn delete_cluster(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteClusterRequest,
) -> Result<DeleteClusterResponse, EcsError> {
    let cluster = core
        .write(|state| {
            let mut cluster = active_cluster(state, ctx, input.cluster.as_deref())?.clone();
            let arn = cluster.cluster_arn.clone().unwrap_or_default();
            let has_tasks = tasks_in(state, &arn).any(|(_, t)| !t.last_is(TaskStatus::Stopped));
            if super::container_instances::registered_count(state, &arn, false) > 0 {
                return Err(EcsError::ClusterContainsContainerInstances);
            }
            if has_services(state, &arn) {
                return Err(EcsError::ClusterContainsServices);
            }
            if has_tasks {
                return Err(EcsError::ClusterContainsTasks);
            }
            cluster.set_status(ClusterStatus::Inactive);
            let shown = view(state, &cluster, &[], true);
            let mut mutations = vec![Mutation::RetireCluster(cluster, core.now())];
            mutations.extend(super::host_instance::retire_host(state, &arn));
            Ok((shown, mutations))
        })
        .await?;
    // The stopped tasks' containers and the cluster's network go, outside the request.
    core.enqueue(crate::core::work::TaskWork::ForgetCluster(
        cluster.cluster_arn.clone().unwrap_or_default(),
    ));
    Ok(DeleteClusterResponse {
        cluster: Some(cluster),
    })
}
