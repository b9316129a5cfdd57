//! What the examples share: the cluster and the one-container task definition they run.

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::{EcsError, Kecs, RequestContext};

/// Creates the cluster `name` and registers the task definition family `name` (one busybox
/// container, 64 MiB).
pub async fn cluster_and_family(
    kecs: &Kecs,
    ctx: &RequestContext,
    name: &str,
) -> Result<(), EcsError> {
    kecs.create_cluster(
        ctx,
        CreateClusterRequest {
            cluster_name: Some(name.into()),
            ..Default::default()
        },
    )
    .await?;
    kecs.register_task_definition(
        ctx,
        RegisterTaskDefinitionRequest {
            family: Some(name.into()),
            container_definitions: Some(vec![ContainerDefinition {
                name: Some("app".into()),
                image: Some("busybox".into()),
                memory: Some(64),
                ..Default::default()
            }]),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}
