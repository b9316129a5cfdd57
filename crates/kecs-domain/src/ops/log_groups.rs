//! CloudWatch Logs log groups: CreateLogGroup, DeleteLogGroup, DescribeLogGroups, retention
//! and tags. They are stored like ECS resources (keyed by ARN, one region's in one range); their
//! streams are the tasks' `awslogs` containers (`ops::log_events`).

use crate::core::Core;
use crate::model::logs::{
    CreateLogGroupRequest, DeleteLogGroupRequest, DeleteRetentionPolicyRequest,
    DescribeLogGroupsRequest, DescribeLogGroupsResponse, ListTagsForResourceRequest,
    ListTagsForResourceResponse, LogGroup, LogGroupClass, PutRetentionPolicyRequest,
};
use crate::model::Tag;
use crate::ops::pagination::{paginate, Limits};
use crate::rules::awslogs::{
    check_group_name, group_arn, identified_group, millis, RETENTION_DAYS,
};
use crate::state::{prefixed, Mutation, State};
use crate::{LogsError, RequestContext};

/// DescribeLogGroups' page sizes: 1 to 50, 50 by default.
const GROUP_PAGE: Limits = Limits {
    default: 50,
    max: 50,
};

pub(crate) fn group_missing() -> LogsError {
    LogsError::ResourceNotFound("The specified log group does not exist.".into())
}

/// The stored group `arn`, or ResourceNotFoundException.
pub(crate) fn existing(state: &State, arn: &str) -> Result<LogGroup, LogsError> {
    state.log_groups.get(arn).cloned().ok_or_else(group_missing)
}

/// The ARN of the group a request names by `logGroupName` or `logGroupIdentifier`.
pub(crate) fn named_group(
    ctx: &RequestContext,
    name: Option<&str>,
    identifier: Option<&str>,
) -> Result<String, LogsError> {
    match (name, identifier) {
        (Some(name), None) => Ok(group_arn(&ctx.region, &ctx.account_id, name)),
        (None, Some(id)) => Ok(identified_group(id, &ctx.region, &ctx.account_id)),
        _ => Err(LogsError::InvalidParameter(
            "Provide either logGroupName or logGroupIdentifier, but not both.".into(),
        )),
    }
}

/// Creates the group `name` in `region` unless it exists; whether it was created.
pub(crate) async fn create(
    core: &Core,
    region: &str,
    account: &str,
    name: &str,
    request: CreateLogGroupRequest,
) -> Result<bool, LogsError> {
    check_group_name(name).map_err(LogsError::InvalidParameter)?;
    let arn = group_arn(region, account, name);
    let group = LogGroup {
        log_group_name: Some(name.to_string()),
        creation_time: Some(millis(core.now())),
        metric_filter_count: Some(0),
        arn: Some(format!("{arn}:*")),
        log_group_arn: Some(arn.clone()),
        stored_bytes: Some(0),
        kms_key_id: request.kms_key_id,
        log_group_class: Some(request.log_group_class.unwrap_or(LogGroupClass::Standard)),
        deletion_protection_enabled: request.deletion_protection_enabled,
        ..LogGroup::default()
    };
    let tags: Vec<Tag> = request
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| Tag {
            key: Some(key),
            value: Some(value),
        })
        .collect();
    let created = core
        .write(|state| {
            if state.log_groups.contains_key(&arn) {
                return Ok((false, vec![]));
            }
            let mut mutations = vec![Mutation::PutLogGroup(group)];
            if !tags.is_empty() {
                mutations.push(Mutation::PutTags(arn.clone(), tags));
            }
            Ok((true, mutations))
        })
        .await?;
    Ok(created)
}

pub(crate) async fn create_log_group(
    core: &Core,
    ctx: &RequestContext,
    input: CreateLogGroupRequest,
) -> Result<(), LogsError> {
    let name = input.log_group_name.clone().unwrap_or_default();
    if !create(core, &ctx.region, &ctx.account_id, &name, input).await? {
        return Err(LogsError::ResourceAlreadyExists(
            "The specified log group already exists".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn delete_log_group(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteLogGroupRequest,
) -> Result<(), LogsError> {
    let arn = group_arn(
        &ctx.region,
        &ctx.account_id,
        input.log_group_name.as_deref().unwrap_or_default(),
    );
    let found = core
        .write(|state| {
            if !state.log_groups.contains_key(&arn) {
                return Ok((false, vec![]));
            }
            Ok((
                true,
                vec![
                    Mutation::DeleteLogGroup(arn.clone()),
                    Mutation::PutTags(arn.clone(), vec![]),
                ],
            ))
        })
        .await?;
    found.then_some(()).ok_or_else(group_missing)
}

pub(crate) async fn describe_log_groups(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeLogGroupsRequest,
) -> Result<DescribeLogGroupsResponse, LogsError> {
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(LogsError::InvalidParameter(
            "logGroupNamePrefix and logGroupNamePattern are mutually exclusive.".into(),
        ));
    }
    let prefix = input.log_group_name_prefix.unwrap_or_default();
    let pattern = input.log_group_name_pattern.map(|p| p.to_lowercase());
    let identifiers: Option<Vec<String>> = input.log_group_identifiers.map(|ids| {
        ids.iter()
            .map(|id| identified_group(id, &ctx.region, &ctx.account_id))
            .collect()
    });
    let groups: Vec<LogGroup> = core.read(|state| {
        prefixed(
            &state.log_groups,
            group_arn(&ctx.region, &ctx.account_id, &prefix),
        )
        .filter(|(arn, _)| identifiers.as_ref().is_none_or(|ids| ids.contains(arn)))
        .map(|(_, g)| g.clone())
        .filter(|g| {
            let name = g.log_group_name.as_deref().unwrap_or_default();
            pattern
                .as_ref()
                .is_none_or(|p| name.to_lowercase().contains(p.as_str()))
        })
        .filter(|g| {
            input
                .log_group_class
                .is_none_or(|c| g.log_group_class == Some(c))
        })
        .collect()
    });
    let page = paginate(
        groups,
        |g| g.log_group_name.clone().unwrap_or_default(),
        false,
        input.limit,
        input.next_token.as_deref(),
        GROUP_PAGE,
    )?;
    Ok(DescribeLogGroupsResponse {
        log_groups: Some(page.items),
        next_token: page.next_token,
    })
}

/// Sets (or, with `None`, removes) a group's retention.
async fn set_retention(
    core: &Core,
    ctx: &RequestContext,
    name: Option<&str>,
    days: Option<i32>,
) -> Result<(), LogsError> {
    let arn = group_arn(&ctx.region, &ctx.account_id, name.unwrap_or_default());
    let found = core
        .write(|state| {
            let Some(group) = state.log_groups.get(&arn) else {
                return Ok((false, vec![]));
            };
            let mut group = group.clone();
            group.retention_in_days = days;
            Ok((true, vec![Mutation::PutLogGroup(group)]))
        })
        .await?;
    found.then_some(()).ok_or_else(group_missing)
}

pub(crate) async fn put_retention_policy(
    core: &Core,
    ctx: &RequestContext,
    input: PutRetentionPolicyRequest,
) -> Result<(), LogsError> {
    let days = input.retention_in_days.unwrap_or_default();
    if !RETENTION_DAYS.contains(&days) {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(i32::to_string).collect();
        return Err(LogsError::InvalidParameter(format!(
            "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )));
    }
    set_retention(core, ctx, input.log_group_name.as_deref(), Some(days)).await
}

pub(crate) async fn delete_retention_policy(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteRetentionPolicyRequest,
) -> Result<(), LogsError> {
    set_retention(core, ctx, input.log_group_name.as_deref(), None).await
}

pub(crate) async fn list_tags_for_resource(
    core: &Core,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, LogsError> {
    let arn = identified_group(
        input.resource_arn.as_deref().unwrap_or_default(),
        &ctx.region,
        &ctx.account_id,
    );
    let tags = core.read(|state| {
        existing(state, &arn)?;
        Ok::<_, LogsError>(state.tags_of(&arn))
    })?;
    Ok(ListTagsForResourceResponse {
        tags: Some(
            tags.into_iter()
                .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
                .collect(),
        ),
    })
}
