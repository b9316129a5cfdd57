//! TagResource, UntagResource and ListTagsForResource for every taggable resource KECS keeps.

use crate::core::Core;
use crate::model::*;
use crate::rules::validate;
use crate::state::{Mutation, State};
use crate::status::{ClusterStatus, HasStatus};
use crate::{arn, EcsError, RequestContext};

/// Checks that `resource_arn` names a taggable resource of the request's region that exists.
fn check_resource(state: &State, ctx: &RequestContext, resource_arn: &str) -> Result<(), EcsError> {
    let parsed = arn::parse(resource_arn).ok_or_else(|| {
        EcsError::invalid(format!(
            "The ARN '{resource_arn}' is not a valid ECS resource ARN."
        ))
    })?;
    let owned = ctx.owns(resource_arn);
    let exists = match parsed.kind {
        "cluster" => {
            let status = state.clusters.get(resource_arn).filter(|_| owned);
            return match status {
                Some(c) if c.status_is(ClusterStatus::Active) => Ok(()),
                Some(_) => Err(EcsError::invalid(
                    "The specified cluster is inactive. Specify an active cluster and try again.",
                )),
                None => Err(EcsError::ClusterNotFound),
            };
        }
        "task-definition" => state.task_definitions.contains_key(resource_arn),
        "daemon-task-definition" => state.daemon_task_definitions.contains_key(resource_arn),
        "daemon" => state.daemons.contains_key(resource_arn),
        "capacity-provider" => state
            .capacity_providers
            .get(resource_arn)
            .is_some_and(|p| p.status == Some(CapacityProviderStatus::Active)),
        "task" => state.tasks.contains_key(resource_arn),
        "service" => state.services.contains_key(resource_arn),
        "task-set" => task_set_exists(state, resource_arn),
        "container-instance" => state
            .container_instances
            .get(resource_arn)
            .is_some_and(|i| i.status.as_deref() != Some("INACTIVE")),
        other => {
            return Err(EcsError::invalid(format!(
                "Resources of type '{other}' cannot be tagged."
            )))
        }
    };
    if owned && exists {
        Ok(())
    } else {
        Err(EcsError::ResourceNotFound(
            "The specified resource could not be found.".into(),
        ))
    }
}

/// `arn:...:task-set/<cluster>/<service>/ecs-svc/<n>`: a task set of that service.
fn task_set_exists(state: &State, task_set_arn: &str) -> bool {
    let Some((prefix, path)) = task_set_arn.split_once(":task-set/") else {
        return false;
    };
    // The ID has a slash of its own (`ecs-svc/<n>`): cluster and service are the first two.
    let mut parts = path.splitn(3, '/');
    let (Some(cluster), Some(service), Some(_id)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let service_arn = format!("{prefix}:service/{cluster}/{service}");
    state.services.get(&service_arn).is_some_and(|s| {
        s.service
            .task_sets
            .unwrap_or_default()
            .iter()
            .any(|t| t.task_set_arn.as_deref() == Some(task_set_arn))
    })
}

pub(crate) async fn tag_resource(
    core: &Core,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<TagResourceResponse, EcsError> {
    let resource = input.resource_arn.unwrap_or_default();
    let new = input.tags.unwrap_or_default();
    validate::tags(&new)?;
    core.write(|state| {
        check_resource(state, ctx, &resource)?;
        let merged = validate::merge_tags(&state.tags_of(&resource), &new);
        validate::tags(&merged)?;
        Ok(((), vec![Mutation::PutTags(resource.clone(), merged)]))
    })
    .await?;
    Ok(TagResourceResponse {})
}

pub(crate) async fn untag_resource(
    core: &Core,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse, EcsError> {
    let resource = input.resource_arn.unwrap_or_default();
    let keys = input.tag_keys.unwrap_or_default();
    core.write(|state| {
        check_resource(state, ctx, &resource)?;
        let mut tags = state.tags_of(&resource);
        tags.retain(|t| !keys.iter().any(|k| Some(k) == t.key.as_ref()));
        Ok(((), vec![Mutation::PutTags(resource.clone(), tags)]))
    })
    .await?;
    Ok(UntagResourceResponse {})
}

pub(crate) async fn list_tags_for_resource(
    core: &Core,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, EcsError> {
    let resource = input.resource_arn.unwrap_or_default();
    core.read(|state| {
        // ListTagsForResource does not declare ResourceNotFoundException in the ECS model.
        check_resource(state, ctx, &resource).map_err(|e| match e {
            EcsError::ResourceNotFound(m) => EcsError::InvalidParameter(m),
            other => other,
        })?;
        Ok(ListTagsForResourceResponse {
            tags: Some(state.tags_of(&resource)),
        })
    })
}
