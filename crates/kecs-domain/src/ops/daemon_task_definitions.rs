//! RegisterDaemonTaskDefinition, DescribeDaemonTaskDefinition, ListDaemonTaskDefinitions and
//! DeleteDaemonTaskDefinition. A daemon task definition is checked as a task definition with
//! the same members would be (its shapes are a subset), and numbered per family like one.

use super::task_definitions::sort_key;
use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, LIST};
use crate::rules::daemon::recast;
use crate::rules::task_definition as td_rules;
use crate::rules::validate;
use crate::state::{prefixed, Mutation, State};
use crate::{arn, EcsError, RequestContext};

fn prefix(ctx: &RequestContext, family: &str) -> String {
    arn::ecs(
        &ctx.region,
        &ctx.account_id,
        &format!("daemon-task-definition/{family}"),
    )
}

/// The revisions of `family` (every family's with `None`), lowest first.
fn revisions<'s>(
    state: &'s State,
    ctx: &RequestContext,
    family: Option<&str>,
) -> Vec<&'s DaemonTaskDefinition> {
    let scope = match family {
        Some(f) => format!("{}:", prefix(ctx, f)),
        None => prefix(ctx, ""),
    };
    let mut found: Vec<&DaemonTaskDefinition> = prefixed(&state.daemon_task_definitions, scope)
        .map(|(_, td)| td)
        .collect();
    found.sort_by(|a, b| (&a.family, a.revision).cmp(&(&b.family, b.revision)));
    found
}

/// The daemon task definition `ident` names (`family`, `family:revision` or an ARN); a bare
/// family means its latest ACTIVE revision.
pub(crate) fn resolve<'s>(
    state: &'s State,
    ctx: &RequestContext,
    ident: &str,
) -> Option<&'s DaemonTaskDefinition> {
    if arn::is_arn(ident) {
        return state
            .daemon_task_definitions
            .get(ident)
            .filter(|_| ctx.owns(ident));
    }
    match ident.split_once(':') {
        Some((family, rev)) => state.daemon_task_definitions.get(&format!(
            "{}:{}",
            prefix(ctx, family),
            rev.parse::<i32>().ok()?
        )),
        None => revisions(state, ctx, Some(ident))
            .into_iter()
            .rev()
            .find(|td| td.status == Some(DaemonTaskDefinitionStatus::Active)),
    }
}

fn not_found() -> EcsError {
    EcsError::client("Unable to describe daemon task definition.")
}

pub(crate) async fn register_daemon_task_definition(
    core: &Core,
    ctx: &RequestContext,
    input: RegisterDaemonTaskDefinitionRequest,
) -> Result<RegisterDaemonTaskDefinitionResponse, EcsError> {
    let tags = validate::dedupe_tags(input.tags.as_deref().unwrap_or_default());
    validate::tags(&tags)?;
    // The checks of a task definition with the same members.
    let as_task_definition: RegisterTaskDefinitionRequest = recast(&input)
        .ok_or_else(|| EcsError::invalid("The daemon task definition is not valid."))?;
    let draft = td_rules::build(&as_task_definition)?;
    core.container_policy().check(&draft)?;
    let family = input.family.clone().unwrap_or_default();
    let now = core.now();
    let registered_by = ctx.root_principal();
    core.write(|state| {
        let revision = revisions(state, ctx, Some(&family))
            .last()
            .and_then(|td| td.revision)
            .unwrap_or(0)
            + 1;
        let arn = format!("{}:{revision}", prefix(ctx, &family));
        let td = DaemonTaskDefinition {
            daemon_task_definition_arn: Some(arn.clone()),
            family: Some(family.clone()),
            revision: Some(revision),
            task_role_arn: input.task_role_arn.clone(),
            execution_role_arn: input.execution_role_arn.clone(),
            container_definitions: input.container_definitions.clone(),
            volumes: input.volumes.clone(),
            cpu: input.cpu.clone(),
            memory: input.memory.clone(),
            status: Some(DaemonTaskDefinitionStatus::Active),
            registered_at: Some(now),
            registered_by: Some(registered_by),
            ..DaemonTaskDefinition::default()
        };
        let response = RegisterDaemonTaskDefinitionResponse {
            daemon_task_definition_arn: Some(arn.clone()),
        };
        Ok((
            response,
            vec![
                Mutation::PutDaemonTaskDefinition(td),
                Mutation::PutTags(arn, tags.clone()),
            ],
        ))
    })
    .await
}

pub(crate) async fn describe_daemon_task_definition(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeDaemonTaskDefinitionRequest,
) -> Result<DescribeDaemonTaskDefinitionResponse, EcsError> {
    let ident = input.daemon_task_definition.unwrap_or_default();
    core.read(|state| {
        let td = resolve(state, ctx, &ident).ok_or_else(not_found)?;
        Ok(DescribeDaemonTaskDefinitionResponse {
            daemon_task_definition: Some(td.clone()),
        })
    })
}

pub(crate) async fn list_daemon_task_definitions(
    core: &Core,
    ctx: &RequestContext,
    input: ListDaemonTaskDefinitionsRequest,
) -> Result<ListDaemonTaskDefinitionsResponse, EcsError> {
    let descending = input.sort == Some(SortOrder::Desc);
    let status = input
        .status
        .unwrap_or(DaemonTaskDefinitionStatusFilter::Active);
    let last_only = input.revision == Some(DaemonTaskDefinitionRevisionFilter::LastRegistered);
    let mut found: Vec<(String, DaemonTaskDefinitionSummary)> = core.read(|state| {
        let all = revisions(state, ctx, input.family.as_deref());
        let family_prefix = input.family_prefix.clone().unwrap_or_default();
        let in_scope = all.iter().enumerate().filter(|(i, td)| {
            let family = td.family.as_deref().unwrap_or_default();
            // The last registered revision is the last of its family in this order.
            let last = all.get(i + 1).is_none_or(|next| next.family != td.family);
            family.starts_with(&family_prefix) && (!last_only || last)
        });
        in_scope
            .map(|(_, td)| td)
            .filter(|td| {
                matches!(
                    (status, td.status),
                    (DaemonTaskDefinitionStatusFilter::All, _)
                        | (
                            DaemonTaskDefinitionStatusFilter::Active,
                            Some(DaemonTaskDefinitionStatus::Active)
                        )
                        | (
                            DaemonTaskDefinitionStatusFilter::DeleteInProgress,
                            Some(DaemonTaskDefinitionStatus::DeleteInProgress)
                        )
                )
            })
            .map(|td| {
                let key = sort_key(td.family.as_deref(), td.revision);
                let summary = DaemonTaskDefinitionSummary {
                    arn: td.daemon_task_definition_arn.clone(),
                    registered_at: td.registered_at,
                    registered_by: td.registered_by.clone(),
                    delete_requested_at: td.delete_requested_at,
                    status: td.status,
                };
                (key, summary)
            })
            .collect()
    });
    if descending {
        found.reverse();
    }
    let page = paginate(
        found,
        |(k, _)| k.clone(),
        descending,
        input.max_results,
        input.next_token.as_deref(),
        LIST,
    )?;
    Ok(ListDaemonTaskDefinitionsResponse {
        daemon_task_definitions: Some(page.items.into_iter().map(|(_, s)| s).collect()),
        next_token: page.next_token,
    })
}

pub(crate) async fn delete_daemon_task_definition(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteDaemonTaskDefinitionRequest,
) -> Result<DeleteDaemonTaskDefinitionResponse, EcsError> {
    let ident = input.daemon_task_definition.unwrap_or_default();
    let now = core.now();
    core.write(|state| {
        let mut td = resolve(state, ctx, &ident).cloned().ok_or_else(|| {
            EcsError::client("The specified daemon task definition does not exist.")
        })?;
        if td.status != Some(DaemonTaskDefinitionStatus::Active) {
            return Err(EcsError::client(
                "The daemon task definition must be ACTIVE to be deleted.",
            ));
        }
        // Deleted at once unless a daemon still deploys it.
        let in_use = state.daemons.values().any(|d| {
            d.target()
                .and_then(|r| r.daemon_task_definition_arn.as_ref())
                == td.daemon_task_definition_arn.as_ref()
        });
        td.status = Some(if in_use {
            DaemonTaskDefinitionStatus::DeleteInProgress
        } else {
            DaemonTaskDefinitionStatus::Deleted
        });
        td.delete_requested_at = Some(now);
        let response = DeleteDaemonTaskDefinitionResponse {
            daemon_task_definition_arn: td.daemon_task_definition_arn.clone(),
        };
        Ok((response, vec![Mutation::PutDaemonTaskDefinition(td)]))
    })
    .await
}
