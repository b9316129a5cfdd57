//! CreateCapacityProvider, DescribeCapacityProviders, UpdateCapacityProvider and
//! DeleteCapacityProvider. FARGATE and FARGATE_SPOT exist in every region, as in ECS.

use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, Limits};
use crate::rules::validate;
use crate::state::{prefixed, Mutation, State};
use crate::status::{ClusterStatus, HasStatus};
use crate::{arn, EcsError, RequestContext};

const DESCRIBE_PAGE: Limits = Limits {
    default: 10,
    max: 10,
};
const BUILT_IN: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

fn provider_arn(ctx: &RequestContext, name: &str) -> String {
    arn::ecs(
        &ctx.region,
        &ctx.account_id,
        &format!("capacity-provider/{name}"),
    )
}

/// The name in a capacity provider name or ARN (an ARN of another region or account names
/// nothing here, so it is kept whole and matches no provider).
fn provider_name<'a>(ctx: &RequestContext, ident: &'a str) -> &'a str {
    match arn::parse(ident) {
        Some(a) if a.kind == "capacity-provider" && ctx.owns(ident) => a.id,
        _ => ident,
    }
}

fn built_in(ctx: &RequestContext, name: &str) -> CapacityProvider {
    CapacityProvider {
        capacity_provider_arn: Some(provider_arn(ctx, name)),
        name: Some(name.to_string()),
        status: Some(CapacityProviderStatus::Active),
        tags: Some(vec![]),
        r#type: CapacityProviderType::parse(name),
        ..CapacityProvider::default()
    }
}

/// True when `ident` names FARGATE, FARGATE_SPOT or an ACTIVE capacity provider of the region.
pub(crate) fn exists_active(state: &State, ctx: &RequestContext, ident: &str) -> bool {
    let name = provider_name(ctx, ident);
    BUILT_IN.contains(&name)
        || state
            .capacity_providers
            .get(&provider_arn(ctx, name))
            .is_some_and(|p| p.status == Some(CapacityProviderStatus::Active))
}

/// ECS's defaults for the parts of an Auto Scaling group provider left out.
fn with_defaults(p: &AutoScalingGroupProvider) -> AutoScalingGroupProvider {
    let ms = p.managed_scaling.clone().unwrap_or_default();
    AutoScalingGroupProvider {
        auto_scaling_group_arn: p.auto_scaling_group_arn.clone(),
        managed_scaling: Some(ManagedScaling {
            status: Some(ms.status.unwrap_or(ManagedScalingStatus::Disabled)),
            target_capacity: Some(ms.target_capacity.unwrap_or(100)),
            minimum_scaling_step_size: Some(ms.minimum_scaling_step_size.unwrap_or(1)),
            maximum_scaling_step_size: Some(ms.maximum_scaling_step_size.unwrap_or(10_000)),
            instance_warmup_period: Some(ms.instance_warmup_period.unwrap_or(300)),
        }),
        managed_termination_protection: Some(
            p.managed_termination_protection
                .unwrap_or(ManagedTerminationProtection::Disabled),
        ),
        managed_draining: Some(p.managed_draining.unwrap_or(ManagedDraining::Enabled)),
    }
}

fn check_scaling(ms: &ManagedScaling) -> Result<(), EcsError> {
    if !(1..=100).contains(&ms.target_capacity.unwrap_or(100)) {
        return Err(EcsError::invalid(
            "targetCapacity must be between 1 and 100.",
        ));
    }
    let min = ms.minimum_scaling_step_size.unwrap_or(1);
    let max = ms.maximum_scaling_step_size.unwrap_or(10_000);
    if !(1..=10_000).contains(&min) || !(1..=10_000).contains(&max) || min > max {
        return Err(EcsError::invalid(
            "Scaling step sizes must be between 1 and 10000, and minimumScalingStepSize may not exceed maximumScalingStepSize.",
        ));
    }
    if !(0..=10_000).contains(&ms.instance_warmup_period.unwrap_or(300)) {
        return Err(EcsError::invalid(
            "instanceWarmupPeriod must be between 0 and 10000.",
        ));
    }
    Ok(())
}

fn view(state: &State, p: &CapacityProvider, with_tags: bool) -> CapacityProvider {
    let mut out = p.clone();
    // As ECS does: tags not asked for come back as an empty list.
    out.tags = Some(if with_tags {
        state.tags_of(p.capacity_provider_arn.as_deref().unwrap_or_default())
    } else {
        vec![]
    });
    out
}

pub(crate) async fn create_capacity_provider(
    core: &Core,
    ctx: &RequestContext,
    input: CreateCapacityProviderRequest,
) -> Result<CreateCapacityProviderResponse, EcsError> {
    let name = input.name.clone().unwrap_or_default();
    if !validate::is_name(&name, 255) {
        return Err(EcsError::invalid(
            "The capacity provider name must be 1-255 characters long and contain only letters, numbers, underscores and hyphens.",
        ));
    }
    let lower = name.to_ascii_lowercase();
    if ["aws", "ecs", "fargate"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(EcsError::invalid(
            "The specified capacity provider name is invalid. Capacity provider names can't start with 'aws', 'ecs', or 'fargate'.",
        ));
    }
    let asg = input
        .auto_scaling_group_provider
        .clone()
        .ok_or_else(|| EcsError::invalid("autoScalingGroupProvider is required."))?;
    let asg_arn = asg.auto_scaling_group_arn.clone().unwrap_or_default();
    // The model takes the group's ARN or its name (1-255 characters, no colon).
    let is_arn = asg_arn.starts_with("arn:") && asg_arn.contains(":autoscaling:");
    let is_name = !asg_arn.is_empty() && asg_arn.len() <= 255 && !asg_arn.contains(':');
    if !is_arn && !is_name {
        return Err(EcsError::invalid(format!(
            "The specified Auto Scaling group ARN '{asg_arn}' is not valid."
        )));
    }
    if let Some(ms) = &asg.managed_scaling {
        check_scaling(ms)?;
    }
    let tags = validate::dedupe_tags(input.tags.as_deref().unwrap_or_default());
    validate::tags(&tags)?;
    let arn = provider_arn(ctx, &name);
    let provider = core
        .write(|state| {
            if state.capacity_providers.get(&arn).is_some_and(|p| p.status == Some(CapacityProviderStatus::Active)) {
                return Err(EcsError::client(
                    "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.",
                ));
            }
            let asg_taken = state.capacity_providers.values().any(|p| {
                p.status == Some(CapacityProviderStatus::Active)
                    && p.auto_scaling_group_provider.as_ref().and_then(|a| a.auto_scaling_group_arn.as_deref())
                        == Some(asg_arn.as_str())
            });
            if asg_taken {
                return Err(EcsError::client(
                    "The specified Auto Scaling group is already in use by another capacity provider.",
                ));
            }
            let provider = CapacityProvider {
                capacity_provider_arn: Some(arn.clone()),
                name: Some(name.clone()),
                status: Some(CapacityProviderStatus::Active),
                auto_scaling_group_provider: Some(with_defaults(&asg)),
                r#type: Some(CapacityProviderType::Ec2Autoscaling),
                ..CapacityProvider::default()
            };
            let mut shown = provider.clone();
            shown.tags = Some(tags.clone());
            Ok((shown, vec![Mutation::PutCapacityProvider(provider), Mutation::PutTags(arn.clone(), tags.clone())]))
        })
        .await?;
    Ok(CreateCapacityProviderResponse {
        capacity_provider: Some(provider),
    })
}

pub(crate) async fn describe_capacity_providers(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeCapacityProvidersRequest,
) -> Result<DescribeCapacityProvidersResponse, EcsError> {
    let with_tags = input
        .include
        .as_deref()
        .unwrap_or_default()
        .contains(&CapacityProviderField::Tags);
    let (found, failures) = core.read(|state| {
        let lookup = |name: &str| -> Option<CapacityProvider> {
            if BUILT_IN.contains(&name) {
                Some(built_in(ctx, name))
            } else {
                state
                    .capacity_providers
                    .get(&provider_arn(ctx, name))
                    .map(|p| view(state, p, with_tags))
            }
        };
        match &input.capacity_providers {
            Some(names) => {
                let mut found = vec![];
                let mut failures = vec![];
                for ident in names {
                    match lookup(provider_name(ctx, ident)) {
                        Some(p) => found.push(p),
                        None => failures.push(super::missing(if arn::is_arn(ident) {
                            ident.clone()
                        } else {
                            provider_arn(ctx, ident)
                        })),
                    }
                }
                (found, failures)
            }
            None => {
                let prefix = provider_arn(ctx, "");
                let mut all: Vec<CapacityProvider> =
                    BUILT_IN.iter().map(|n| built_in(ctx, n)).collect();
                all.extend(
                    prefixed(&state.capacity_providers, prefix.clone())
                        .map(|(_, p)| view(state, p, with_tags)),
                );
                all.sort_by(|a, b| a.name.cmp(&b.name));
                (all, vec![])
            }
        }
    });
    let page = paginate(
        found,
        |p| p.name.clone().unwrap_or_default(),
        false,
        input.max_results,
        input.next_token.as_deref(),
        if input.capacity_providers.is_some() {
            Limits {
                default: 100,
                max: 100,
            }
        } else {
            DESCRIBE_PAGE
        },
    )?;
    Ok(DescribeCapacityProvidersResponse {
        capacity_providers: Some(page.items),
        failures: Some(failures),
        next_token: page.next_token,
    })
}

/// The user-created ACTIVE provider named by `ident`, for an update or delete.
fn editable_provider(
    state: &State,
    ctx: &RequestContext,
    ident: &str,
) -> Result<CapacityProvider, EcsError> {
    let name = provider_name(ctx, ident);
    if BUILT_IN.contains(&name) {
        return Err(EcsError::client(format!(
            "The {name} capacity provider is managed by Amazon ECS and cannot be changed or deleted."
        )));
    }
    state
        .capacity_providers
        .get(&provider_arn(ctx, name))
        .filter(|p| p.status == Some(CapacityProviderStatus::Active))
        .cloned()
        .ok_or_else(|| EcsError::client("The specified capacity provider does not exist. Specify a valid name or ARN and try again."))
}

pub(crate) async fn update_capacity_provider(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateCapacityProviderRequest,
) -> Result<UpdateCapacityProviderResponse, EcsError> {
    let ident = input.name.clone().unwrap_or_default();
    let update = input
        .auto_scaling_group_provider
        .clone()
        .unwrap_or_default();
    if let Some(ms) = &update.managed_scaling {
        check_scaling(ms)?;
    }
    let provider = core
        .write(|state| {
            let mut p = editable_provider(state, ctx, &ident)?;
            let mut asg = p.auto_scaling_group_provider.clone().unwrap_or_default();
            if let Some(ms) = &update.managed_scaling {
                asg.managed_scaling = Some(ms.clone());
            }
            if update.managed_termination_protection.is_some() {
                asg.managed_termination_protection = update.managed_termination_protection;
            }
            if update.managed_draining.is_some() {
                asg.managed_draining = update.managed_draining;
            }
            p.auto_scaling_group_provider = Some(with_defaults(&asg));
            p.update_status = Some(CapacityProviderUpdateStatus::UpdateComplete);
            Ok((
                view(state, &p, true),
                vec![Mutation::PutCapacityProvider(p)],
            ))
        })
        .await?;
    Ok(UpdateCapacityProviderResponse {
        capacity_provider: Some(provider),
    })
}

pub(crate) async fn delete_capacity_provider(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteCapacityProviderRequest,
) -> Result<DeleteCapacityProviderResponse, EcsError> {
    let ident = input.capacity_provider.clone().unwrap_or_default();
    let provider = core
        .write(|state| {
            let mut p = editable_provider(state, ctx, &ident)?;
            let name = p.name.clone().unwrap_or_default();
            let arn = p.capacity_provider_arn.clone().unwrap_or_default();
            let in_use = state.clusters.values().any(|c| {
                c.status_is(ClusterStatus::Active)
                    && c.capacity_providers.as_deref().unwrap_or_default().iter().any(|n| provider_name(ctx, n) == name || *n == arn)
            });
            if in_use {
                return Err(EcsError::client(
                    "The specified capacity provider is in use and cannot be removed. Disassociate it from all clusters first.",
                ));
            }
            p.status = Some(CapacityProviderStatus::Inactive);
            p.update_status = Some(CapacityProviderUpdateStatus::DeleteComplete);
            Ok((view(state, &p, true), vec![Mutation::PutCapacityProvider(p)]))
        })
        .await?;
    Ok(DeleteCapacityProviderResponse {
        capacity_provider: Some(provider),
    })
}
