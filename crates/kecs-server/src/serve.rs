//! Wiring: store, service, the API and admin listeners, and graceful shutdown.

use std::path::Path;
use std::sync::Arc;

use actix_web::{web, App, HttpServer};
use futures::StreamExt;
use kecs_api::{AppState, ConformanceLog, Metrics};
use kecs_domain::clock::SystemClock;
use kecs_domain::runtime::{ContainerExit, ContainerRuntime, NoneRuntime, UnavailableRuntime};
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

/// The runtime tasks run on, and the Docker adapter when it is that one (its events feed the
/// task controller). Kubernetes refuses RunTask with a clear message until its adapter lands.
async fn runtime(
    name: &str,
) -> Result<(Arc<dyn ContainerRuntime>, Option<Arc<DockerRuntime>>), String> {
    Ok(match name.parse::<RuntimeKind>()? {
        RuntimeKind::None => (Arc::new(NoneRuntime), None),
        RuntimeKind::Docker => {
            let docker = Arc::new(DockerRuntime::connect().await?);
            (docker.clone(), Some(docker))
        }
        RuntimeKind::Kubernetes => (Arc::new(UnavailableRuntime("kubernetes")), None),
    })
}

/// The task controller: feeds the exits Docker reports into the task state machine, from the
/// event stream at once and from a periodic resync that catches what the stream missed.
async fn watch_exits(docker: Arc<DockerRuntime>, kecs: Arc<Kecs>) {
    let record = |exit: ContainerExit| {
        let kecs = kecs.clone();
        async move {
            if let Err(e) = kecs.on_container_exit(exit.clone()).await {
                tracing::error!(task = %exit.task_arn, error = %e, "recording a container exit failed");
            }
        }
    };
    let mut resync = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        let mut exits = std::pin::pin!(docker.exits());
        loop {
            tokio::select! {
                next = exits.next() => match next {
                    Some(Ok(exit)) => record(exit).await,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "Docker event stream failed; subscribing again");
                        break;
                    }
                    None => break,
                },
                _ = resync.tick() => match docker.exited().await {
                    Ok(exits) => {
                        for exit in exits {
                            record(exit).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "listing exited containers failed"),
                },
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Serves until SIGTERM or SIGINT, then drains in-flight requests and closes the store.
pub async fn run(settings: Settings) -> Result<(), String> {
    let store = open_store(&settings.data_dir)?;
    let (task_runtime, docker) = runtime(&settings.runtime).await?;
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
    let controller = docker.map(|d| tokio::spawn(watch_exits(d, state.kecs.clone())));
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
    if let Some(c) = controller {
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
