//! Wiring: store, service, the API and admin listeners, and graceful shutdown.

use std::path::Path;
use std::sync::Arc;

use actix_web::{web, App, HttpServer};
use futures::StreamExt;
use kecs_api::{AppState, ConformanceLog, Metrics};
use kecs_domain::clock::SystemClock;
use kecs_domain::runtime::{ContainerRuntime, NoneRuntime, UnavailableRuntime};
use kecs_domain::store::{MemoryStore, Store};
use kecs_domain::Kecs;
use kecs_runtime::docker::DockerRuntime;
use kecs_runtime::RuntimeKind;
use kecs_store::DuckStore;

use crate::settings::Settings;

fn open_store(data_dir: &str) -> Result<Arc<dyn Store>, String> {
    if data_dir == ":memory:" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    DuckStore::open(Path::new(data_dir))
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| e.to_string())
}

/// The name this KECS labels its containers with, so that it adopts (and cleans up) only its
/// own: kept in the data directory, so a restart on the same data is the same instance.
fn instance_id(data_dir: &str) -> Result<String, String> {
    let fresh = || uuid::Uuid::new_v4().simple().to_string();
    if data_dir == ":memory:" {
        return Ok(fresh());
    }
    let path = Path::new(data_dir).join("instance-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        if !id.trim().is_empty() {
            return Ok(id.trim().to_string());
        }
    }
    let id = fresh();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &id)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(id)
}

/// The runtime tasks run on, and the Docker adapter when it is that one (its events feed the
/// task controller). Kubernetes refuses RunTask with a clear message until its adapter lands.
async fn runtime(
    name: &str,
    instance: &str,
) -> Result<(Arc<dyn ContainerRuntime>, Option<Arc<DockerRuntime>>), String> {
    Ok(match name.parse::<RuntimeKind>()? {
        RuntimeKind::None => (Arc::new(NoneRuntime), None),
        RuntimeKind::Docker => {
            let docker = Arc::new(DockerRuntime::connect(instance).await?);
            (docker.clone(), Some(docker))
        }
        RuntimeKind::Kubernetes => (Arc::new(UnavailableRuntime("kubernetes")), None),
    })
}

/// The task controller's eyes: feeds what Docker reports into the task state machine, from the
/// event stream at once and from a periodic resync that catches what the stream missed (events
/// before the subscription was up, or while it was broken).
async fn watch_docker(docker: Arc<DockerRuntime>, kecs: Arc<Kecs>) {
    let mut resync = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        let mut events = std::pin::pin!(docker.events());
        loop {
            tokio::select! {
                next = events.next() => match next {
                    Some(Ok(event)) => {
                        if let Err(e) = kecs.on_runtime_event(event.clone()).await {
                            tracing::error!(?event, error = %e, "recording a runtime event failed");
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "Docker event stream failed; subscribing again");
                        break;
                    }
                    None => break,
                },
                _ = resync.tick() => match docker.inventory().await {
                    Ok(observed) => {
                        if let Err(e) = kecs.reconcile_with(&observed, false).await {
                            tracing::error!(error = %e, "resync failed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "listing KECS's containers failed"),
                },
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// The service scheduler's safety net: a pass for every service at start-up and every 30 s
/// (passes otherwise run when a service or one of its tasks changes).
async fn resync_services(kecs: Arc<Kecs>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        every.tick().await;
        kecs.resync_services();
    }
}

/// Adopts what the runtime runs for this instance after a restart (also after kill -9):
/// running tasks are kept, interrupted launches start again, orphans are removed.
async fn recover(docker: &DockerRuntime, kecs: &Kecs) -> Result<(), String> {
    let observed = docker
        .inventory()
        .await
        .map_err(|e| format!("listing KECS's containers: {e}"))?;
    kecs.reconcile_with(&observed, true)
        .await
        .map_err(|e| format!("recovering tasks: {e}"))?;
    tracing::info!(containers = observed.len(), "recovered the runtime's state");
    Ok(())
}

/// Serves until SIGTERM or SIGINT, then drains in-flight requests and closes the store.
pub async fn run(settings: Settings) -> Result<(), String> {
    let store = open_store(&settings.data_dir)?;
    let instance = instance_id(&settings.data_dir)?;
    let (task_runtime, docker) = runtime(&settings.runtime, &instance).await?;
    let kecs = Arc::new(
        Kecs::open(store, Arc::new(SystemClock), task_runtime)
            .await
            .map_err(|e| format!("loading state from {}: {e}", settings.data_dir))?,
    );
    let conformance = match &settings.conformance_log {
        Some(p) => Some(
            ConformanceLog::open(p).map_err(|e| format!("conformance log {}: {e}", p.display()))?,
        ),
        None => None,
    };
    let state = AppState {
        kecs,
        default_region: settings.region.clone(),
        account_id: settings.account_id.clone(),
        metrics: Metrics::new().map_err(|e| e.to_string())?,
        allow_reset: settings.allow_reset,
        conformance,
    };
    let mut controllers = vec![tokio::spawn(state.kecs.clone().drive_tasks())];
    if let Some(docker) = docker {
        recover(&docker, &state.kecs).await?;
        controllers.push(tokio::spawn(watch_docker(docker, state.kecs.clone())));
    }
    controllers.push(tokio::spawn(resync_services(state.kecs.clone())));
    let data = web::Data::new(state);

    let api_data = data.clone();
    let api = HttpServer::new(move || {
        App::new()
            .app_data(api_data.clone())
            .configure(kecs_api::api_routes)
    })
    .disable_signals()
    .bind(&settings.api_addr)
    .map_err(|e| format!("cannot listen on {} (api): {e}", settings.api_addr))?
    .run();
    let admin_data = data.clone();
    let admin = HttpServer::new(move || {
        App::new()
            .app_data(admin_data.clone())
            .configure(kecs_api::admin_routes)
    })
    .workers(1)
    .disable_signals()
    .bind(&settings.admin_addr)
    .map_err(|e| format!("cannot listen on {} (admin): {e}", settings.admin_addr))?
    .run();
    tracing::info!(
        api = %settings.api_addr,
        admin = %settings.admin_addr,
        data_dir = %settings.data_dir,
        runtime = %settings.runtime,
        "KECS is serving the ECS API"
    );
    let (api_handle, admin_handle) = (api.handle(), admin.handle());
    let servers = async {
        let (a, b) = tokio::join!(api, admin);
        a.and(b).map_err(|e| e.to_string())
    };
    tokio::select! {
        result = servers => result?,
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down: draining requests");
            tokio::join!(api_handle.stop(true), admin_handle.stop(true));
        }
    }
    for c in controllers {
        c.abort();
    }
    drop(data);
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers, only the servers ending stops us.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
