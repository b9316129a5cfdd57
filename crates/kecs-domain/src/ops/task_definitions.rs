//! RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions,
//! ListTaskDefinitionFamilies, DeregisterTaskDefinition and DeleteTaskDefinitions.

use crate::rules::task_definition as rules;

use std::collections::BTreeMap;

use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, paginate_sorted, LIST};
use crate::rules::validate;
use crate::state::{prefixed, Mutation, State};
use crate::{arn, EcsError, RequestContext};

fn td_arn(ctx: &RequestContext, family: &str, revision: i32) -> String {
    arn::ecs(
        &ctx.region,
        &ctx.account_id,
        &format!("task-definition/{family}:{revision}"),
    )
}

/// What a task definition identifier names: `family`, `family:rev` or an ARN.
struct TdIdent {
    family: String,
    revision: Option<i32>,
    /// False for an ARN of another region or account: nothing there is visible here.
    visible: bool,
}

fn split_ident(ctx: &RequestContext, ident: &str) -> Result<TdIdent, EcsError> {
    let bad = || EcsError::client(format!("Invalid task definition identifier: {ident}"));
    let (body, is_arn) = if arn::is_arn(ident) {
        let a = arn::parse(ident)
            .filter(|a| a.kind == "task-definition")
            .ok_or_else(bad)?;
        (a.id, true)
    } else {
        (ident, false)
    };
    let (family, revision) = match body.split_once(':') {
        Some((family, rev)) => (family, Some(rev.parse::<i32>().map_err(|_| bad())?)),
        None if is_arn => return Err(bad()),
        None => (body, None),
    };
    Ok(TdIdent {
        family: family.to_string(),
        revision,
        visible: !is_arn || ctx.owns(ident),
    })
}

/// The ARN of `family`'s revisions without `:<revision>` (how [`crate::state::Families`] keys it).
fn family_prefix(ctx: &RequestContext, family: &str) -> String {
    arn::ecs(
        &ctx.region,
        &ctx.account_id,
        &format!("task-definition/{family}"),
    )
}

/// Every revision of `family` in the request's region, lowest first.
fn revisions<'s>(
    state: &'s State,
    ctx: &RequestContext,
    family: &str,
) -> impl Iterator<Item = &'s TaskDefinition> {
    let prefix = arn::ecs(
        &ctx.region,
        &ctx.account_id,
        &format!("task-definition/{family}:"),
    );
    let mut found: Vec<&TaskDefinition> = prefixed(&state.task_definitions, prefix.clone())
        .map(|(_, td)| td)
        .collect();
    found.sort_by_key(|td| td.revision);
    found.into_iter()
}

/// The task definition an identifier names; a bare family means its latest ACTIVE revision.
pub(crate) fn resolve<'s>(
    state: &'s State,
    ctx: &RequestContext,
    ident: &str,
) -> Result<Option<&'s TaskDefinition>, EcsError> {
    let id = split_ident(ctx, ident)?;
    if !id.visible {
        return Ok(None);
    }
    Ok(match id.revision {
        Some(rev) => state.task_definitions.get(&td_arn(ctx, &id.family, rev)),
        None => {
            let prefix = family_prefix(ctx, &id.family);
            state
                .families
                .latest_active(&prefix)
                .and_then(|rev| state.task_definitions.get(&td_arn(ctx, &id.family, rev)))
        }
    })
}

/// The key that lists revisions by family, then revision number (task definitions and daemon
/// task definitions alike).
pub(crate) fn sort_key(family: Option<&str>, revision: Option<i32>) -> String {
    format!(
        "{}\u{1}{:010}",
        family.unwrap_or_default(),
        revision.unwrap_or(0)
    )
}

pub(crate) async fn register_task_definition(
    core: &Core,
    ctx: &RequestContext,
    input: RegisterTaskDefinitionRequest,
) -> Result<RegisterTaskDefinitionResponse, EcsError> {
    let tags = validate::dedupe_tags(input.tags.as_deref().unwrap_or_default());
    validate::tags(&tags)?;
    let draft = rules::build(&input)?;
    core.container_policy().check(&draft)?;
    let family = draft.family.clone().unwrap_or_default();
    let now = core.now();
    let registered_by = ctx.root_principal();
    core.write(|state| {
        let revision = state.families.latest(&family_prefix(ctx, &family)) + 1;
        let arn = td_arn(ctx, &family, revision);
        let td = TaskDefinition {
            task_definition_arn: Some(arn.clone()),
            revision: Some(revision),
            status: Some(TaskDefinitionStatus::Active),
            registered_at: Some(now),
            registered_by: Some(registered_by),
            ..draft
        };
        let response = RegisterTaskDefinitionResponse {
            task_definition: Some(td.clone()),
            tags: Some(tags.clone()),
        };
        Ok((
            response,
            vec![
                Mutation::PutTaskDefinition(td),
                Mutation::PutTags(arn, tags.clone()),
            ],
        ))
    })
    .await
}

pub(crate) async fn describe_task_definition(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeTaskDefinitionRequest,
) -> Result<DescribeTaskDefinitionResponse, EcsError> {
    let ident = input.task_definition.unwrap_or_default();
    let with_tags = input
        .include
        .unwrap_or_default()
        .contains(&TaskDefinitionField::Tags);
    core.read(|state| {
        let td = resolve(state, ctx, &ident)?
            .ok_or_else(|| EcsError::client("Unable to describe task definition."))?;
        Ok(DescribeTaskDefinitionResponse {
            tags: with_tags
                .then(|| state.tags_of(td.task_definition_arn.as_deref().unwrap_or_default())),
            task_definition: Some(td.clone()),
        })
    })
}

pub(crate) async fn list_task_definitions(
    core: &Core,
    ctx: &RequestContext,
    input: ListTaskDefinitionsRequest,
) -> Result<ListTaskDefinitionsResponse, EcsError> {
    let status = input.status.unwrap_or(TaskDefinitionStatus::Active);
    let descending = input.sort == Some(SortOrder::Desc);
    let mut found: Vec<(String, String)> = core.read(|state| {
        let in_scope: Box<dyn Iterator<Item = &TaskDefinition>> =
            match input.family_prefix.as_deref() {
                // `familyPrefix` is, despite its name, the exact family (as in ECS).
                Some(family) if !family.is_empty() => Box::new(revisions(state, ctx, family)),
                _ => {
                    let prefix = arn::ecs(&ctx.region, &ctx.account_id, "task-definition/");
                    Box::new(prefixed(&state.task_definitions, prefix.clone()).map(|(_, td)| td))
                }
            };
        in_scope
            .filter(|td| td.status == Some(status))
            .map(|td| {
                (
                    sort_key(td.family.as_deref(), td.revision),
                    td.task_definition_arn.clone().unwrap_or_default(),
                )
            })
            .collect()
    });
    found.sort();
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
    Ok(ListTaskDefinitionsResponse {
        task_definition_arns: Some(page.items.into_iter().map(|(_, a)| a).collect()),
        next_token: page.next_token,
    })
}

pub(crate) async fn list_task_definition_families(
    core: &Core,
    ctx: &RequestContext,
    input: ListTaskDefinitionFamiliesRequest,
) -> Result<ListTaskDefinitionFamiliesResponse, EcsError> {
    let want = input.status.unwrap_or(TaskDefinitionFamilyStatus::All);
    let name_prefix = input.family_prefix.unwrap_or_default();
    let families: Vec<String> = core.read(|state| {
        let prefix = arn::ecs(
            &ctx.region,
            &ctx.account_id,
            &format!("task-definition/{name_prefix}"),
        );
        // family -> has an ACTIVE revision
        let mut families: BTreeMap<String, bool> = BTreeMap::new();
        for (_, td) in prefixed(&state.task_definitions, prefix.clone()) {
            let active = families
                .entry(td.family.clone().unwrap_or_default())
                .or_default();
            *active |= td.status == Some(TaskDefinitionStatus::Active);
        }
        families
            .into_iter()
            .filter(|(_, active)| match want {
                TaskDefinitionFamilyStatus::Active => *active,
                TaskDefinitionFamilyStatus::Inactive => !*active,
                TaskDefinitionFamilyStatus::All => true,
            })
            .map(|(f, _)| f)
            .collect()
    });
    let page = paginate_sorted(families, input.max_results, input.next_token.as_deref())?;
    Ok(ListTaskDefinitionFamiliesResponse {
        families: Some(page.items),
        next_token: page.next_token,
    })
}

pub(crate) async fn deregister_task_definition(
    core: &Core,
    ctx: &RequestContext,
    input: DeregisterTaskDefinitionRequest,
) -> Result<DeregisterTaskDefinitionResponse, EcsError> {
    let ident = input.task_definition.unwrap_or_default();
    if split_ident(ctx, &ident)?.revision.is_none() {
        return Err(EcsError::client("Revision is missing."));
    }
    let now = core.now();
    core.write(|state| {
        let mut td = resolve(state, ctx, &ident)?
            .cloned()
            .ok_or_else(|| EcsError::client("The specified task definition does not exist."))?;
        if td.status == Some(TaskDefinitionStatus::Active) {
            td.status = Some(TaskDefinitionStatus::Inactive);
            td.deregistered_at = Some(now);
        }
        let response = DeregisterTaskDefinitionResponse {
            task_definition: Some(td.clone()),
        };
        Ok((response, vec![Mutation::PutTaskDefinition(td)]))
    })
    .await
}

pub(crate) async fn delete_task_definitions(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteTaskDefinitionsRequest,
) -> Result<DeleteTaskDefinitionsResponse, EcsError> {
    let idents = input.task_definitions.unwrap_or_default();
    if idents.is_empty() || idents.len() > 10 {
        return Err(EcsError::invalid(
            "taskDefinitions must have between 1 and 10 items.",
        ));
    }
    let now = core.now();
    core.write(|state| {
        let mut deleted = vec![];
        let mut failures = vec![];
        let mut mutations = vec![];
        for ident in &idents {
            let failure = |reason: &str| Failure {
                arn: Some(ident.clone()),
                reason: Some(reason.into()),
                detail: None,
            };
            let found = match split_ident(ctx, ident) {
                Ok(TdIdent {
                    revision: Some(_), ..
                }) => resolve(state, ctx, ident)?,
                _ => {
                    failures.push(failure("The specified task definition identifier is invalid. Specify a valid name or ARN and try again."));
                    continue;
                }
            };
            match found {
                None => failures.push(failure("The specified task definition does not exist. Specify a valid task definition and try again.")),
                Some(td) if td.status == Some(TaskDefinitionStatus::Active) => failures.push(failure(
                    "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
                )),
                Some(td) => {
                    let mut td = td.clone();
                    if td.status == Some(TaskDefinitionStatus::Inactive) {
                        td.status = Some(TaskDefinitionStatus::DeleteInProgress);
                        td.delete_requested_at = Some(now);
                        mutations.push(Mutation::PutTaskDefinition(td.clone()));
                    }
                    deleted.push(td);
                }
            }
        }
        let response = DeleteTaskDefinitionsResponse {
            task_definitions: Some(deleted),
            failures: Some(failures),
        };
        Ok((response, mutations))
    })
    .await
}
