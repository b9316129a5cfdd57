//! What the domain's integration tests share: a request context and a KECS on an in-memory
//! store with its controller running, the default cluster created.

use std::sync::Arc;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::ContainerRuntime;
use kecs_domain::ports::store::MemoryStore;
use kecs_domain::{Kecs, RequestContext};

/// us-east-1, account 000000000000.
pub fn ctx() -> RequestContext {
    RequestContext::new("us-east-1", "000000000000")
}

/// KECS over `runtime` on an in-memory store, its task controller spawned, the default cluster
/// created.
pub async fn kecs_on(runtime: Arc<dyn ContainerRuntime>) -> Arc<Kecs> {
    let kecs = Arc::new(
        Kecs::open(Arc::new(MemoryStore::new()), Arc::new(SystemClock), runtime)
            .await
            .unwrap(),
    );
    tokio::spawn(kecs.clone().drive_tasks());
    kecs.create_cluster(&ctx(), CreateClusterRequest::default())
        .await
        .unwrap();
    kecs
}

/// Creates the default cluster on `kecs` and registers one revision of the family `web` per
/// image (one container `app`).
#[allow(dead_code)] // Not every test binary prepares its own KECS.
pub async fn prepare(kecs: &Kecs, images: &[&str]) {
    kecs.create_cluster(&ctx(), CreateClusterRequest::default())
        .await
        .unwrap();
    register_web(kecs, images).await;
}

/// [`kecs_on`] `runtime`, with one revision of the family `web` per image (one container `app`).
#[allow(dead_code)] // Not every test binary registers `web`.
pub async fn kecs_with(runtime: Arc<dyn ContainerRuntime>, images: &[&str]) -> Arc<Kecs> {
    let kecs = kecs_on(runtime).await;
    register_web(&kecs, images).await;
    kecs
}

/// One revision of the family `web` per image (one container `app`).
#[allow(dead_code)] // Not every test binary registers `web`.
async fn register_web(kecs: &Kecs, images: &[&str]) {
    for image in images {
        kecs.register_task_definition(
            &ctx(),
            RegisterTaskDefinitionRequest {
                family: Some("web".into()),
                container_definitions: Some(vec![ContainerDefinition {
                    name: Some("app".into()),
                    image: Some((*image).into()),
                    memory: Some(32),
                    ..ContainerDefinition::default()
                }]),
                ..RegisterTaskDefinitionRequest::default()
            },
        )
        .await
        .unwrap();
    }
}

/// The ARN of revision `revision` of the family `web`.
#[allow(dead_code)] // Not every test binary registers `web`.
pub fn td(revision: i32) -> String {
    format!("arn:aws:ecs:us-east-1:000000000000:task-definition/web:{revision}")
}
