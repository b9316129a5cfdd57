//! PutAttributes, DeleteAttributes and ListAttributes.
//!
//! Attributes target container instances. KECS has no container instances registered yet, so a
//! target is accepted by ID or ARN without an existence check (its short ID is expanded to the
//! long ARN, as ECS reports it).

use super::find::{active_cluster, cluster_arn};
use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, LIST};
use crate::state::{ClusterAttribute, Mutation};
use crate::{arn, EcsError, RequestContext};

/// Custom attributes one resource may carry.
const MAX_PER_TARGET: usize = 10;

fn check_name(name: &str) -> Result<(), EcsError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok {
        Ok(())
    } else {
        Err(EcsError::invalid(format!(
            "Attribute name '{name}' is invalid: up to 128 letters, numbers, hyphens, underscores, periods and slashes, starting with a letter or number."
        )))
    }
}

fn check_value(value: &str) -> Result<(), EcsError> {
    let ok = value.len() <= 128
        && value.trim() == value
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@/\\: ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(EcsError::invalid(format!(
            "Attribute value '{value}' is invalid: up to 128 letters, numbers, hyphens, underscores, periods, at signs, slashes, colons and spaces, not starting or ending with a space."
        )))
    }
}

/// The attribute with its target in long ARN form, and its key in the state.
fn normalise(
    ctx: &RequestContext,
    cluster: &str,
    a: &Attribute,
) -> Result<(Attribute, String), EcsError> {
    let name = a.name.clone().unwrap_or_default();
    check_name(&name)?;
    if let Some(v) = &a.value {
        check_value(v)?;
    }
    let target_type = a.target_type.unwrap_or(TargetType::ContainerInstance);
    let target = a
        .target_id
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| EcsError::invalid("targetId is required for each attribute."))?;
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    let target = if arn::is_arn(&target) {
        target
    } else {
        arn::ecs(
            &ctx.region,
            &ctx.account_id,
            &format!("container-instance/{cluster_name}/{target}"),
        )
    };
    let key = format!("{cluster}|{}|{target}|{name}", target_type.as_str());
    let attribute = Attribute {
        name: Some(name),
        value: a.value.clone(),
        target_type: Some(target_type),
        target_id: Some(target),
    };
    Ok((attribute, key))
}

pub(crate) async fn put_attributes(
    core: &Core,
    ctx: &RequestContext,
    input: PutAttributesRequest,
) -> Result<PutAttributesResponse, EcsError> {
    let attrs = input.attributes.unwrap_or_default();
    if attrs.is_empty() {
        return Err(EcsError::invalid("attributes must not be empty."));
    }
    let written = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?
                .cluster_arn
                .clone()
                .unwrap_or_default();
            let mut out = vec![];
            let mut mutations = vec![];
            for a in &attrs {
                let (attribute, key) = normalise(ctx, &cluster, a)?;
                out.push(attribute.clone());
                mutations.push((key, attribute));
            }
            // Count per target after the put, new names added to what is already there.
            let mut per_target: std::collections::BTreeMap<
                String,
                std::collections::BTreeSet<String>,
            > = Default::default();
            for ca in state.attributes.values().filter(|ca| ca.cluster == cluster) {
                let a = &ca.attribute;
                per_target
                    .entry(a.target_id.clone().unwrap_or_default())
                    .or_default()
                    .insert(a.name.clone().unwrap_or_default());
            }
            for (_, a) in &mutations {
                per_target
                    .entry(a.target_id.clone().unwrap_or_default())
                    .or_default()
                    .insert(a.name.clone().unwrap_or_default());
            }
            if per_target
                .values()
                .any(|names| names.len() > MAX_PER_TARGET)
            {
                return Err(EcsError::AttributeLimitExceeded(format!(
                    "A resource can have at most {MAX_PER_TARGET} custom attributes."
                )));
            }
            let mutations = mutations
                .into_iter()
                .map(|(key, attribute)| {
                    Mutation::PutAttribute(
                        key,
                        ClusterAttribute {
                            cluster: cluster.clone(),
                            attribute,
                        },
                    )
                })
                .collect();
            Ok((out, mutations))
        })
        .await?;
    Ok(PutAttributesResponse {
        attributes: Some(written),
    })
}

pub(crate) async fn delete_attributes(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteAttributesRequest,
) -> Result<DeleteAttributesResponse, EcsError> {
    let attrs = input.attributes.unwrap_or_default();
    let deleted = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?
                .cluster_arn
                .clone()
                .unwrap_or_default();
            let mut out = vec![];
            let mut mutations = vec![];
            for a in &attrs {
                let (attribute, key) = normalise(ctx, &cluster, a)?;
                if state.attributes.contains_key(&key) {
                    mutations.push(Mutation::DeleteAttribute(key));
                }
                out.push(attribute);
            }
            Ok((out, mutations))
        })
        .await?;
    Ok(DeleteAttributesResponse {
        attributes: Some(deleted),
    })
}

pub(crate) async fn list_attributes(
    core: &Core,
    ctx: &RequestContext,
    input: ListAttributesRequest,
) -> Result<ListAttributesResponse, EcsError> {
    let target_type = input
        .target_type
        .ok_or_else(|| EcsError::invalid("targetType is required."))?;
    if input.attribute_value.is_some() && input.attribute_name.is_none() {
        return Err(EcsError::invalid(
            "attributeName must be given with attributeValue.",
        ));
    }
    let cluster = cluster_arn(ctx, input.cluster.as_deref())?;
    let items: Vec<(String, Attribute)> = core.read(|state| {
        active_cluster(state, ctx, input.cluster.as_deref())?;
        Ok::<_, EcsError>(
            state
                .attributes
                .iter()
                .filter(|(_, ca)| ca.cluster == cluster)
                .filter(|(_, ca)| ca.attribute.target_type == Some(target_type))
                .filter(|(_, ca)| {
                    input.attribute_name.is_none() || ca.attribute.name == input.attribute_name
                })
                .filter(|(_, ca)| {
                    input.attribute_value.is_none() || ca.attribute.value == input.attribute_value
                })
                .map(|(k, ca)| (k.clone(), ca.attribute.clone()))
                .collect(),
        )
    })?;
    let page = paginate(
        items,
        |(k, _)| k.clone(),
        false,
        input.max_results,
        input.next_token.as_deref(),
        LIST,
    )?;
    Ok(ListAttributesResponse {
        attributes: Some(page.items.into_iter().map(|(_, a)| a).collect()),
        next_token: page.next_token,
    })
}
