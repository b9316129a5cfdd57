//! Wiring: store, service, controllers, the API and admin listeners, and graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use futures::StreamExt;
use kecs_api::{AllowedHosts, AppState, ConformanceLog, EventHub, Metrics, Workers};
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::{ContainerRuntime, NoneRuntime};
use kecs_domain::ports::secrets::{NoSecrets, SecretSource};
use kecs_domain::ports::store::{MemoryStore, Store};
use kecs_domain::rules::container_policy::ContainerPolicy;
use kecs_domain::Kecs;
use kecs_runtime::docker::DockerRuntime;
use kecs_runtime::kubernetes::KubernetesRuntime;
use kecs_runtime::{PullBehavior, RuntimeKind};

use crate::counted_runtime::CountedRuntime;
use crate::error::ServerError;
use crate::settings::Settings;
use crate::supervise::{supervise, RESTART_DELAY};

fn open_store(data_dir: &str, repair_journal: bool) -> Result<Arc<dyn Store>, ServerError> {
    if data_dir == ":memory:" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    open_durable(data_dir, repair_journal)
}

#[cfg(feature = "duckdb")]
fn open_durable(data_dir: &str, repair_journal: bool) -> Result<Arc<dyn Store>, ServerError> {
    use kecs_store::journal::OnDamage;
    let on_damage = if repair_journal {
        OnDamage::Repair
    } else {
        OnDamage::Refuse
    };
    let (store, repairs) = kecs_store::DuckStore::open_with(Path::new(data_dir), on_damage)
        .map_err(|source| ServerError::Store {
            context: "opening the store".into(),
            source,
        })?;
    for repair in repairs {
        tracing::warn!(repair = %repair, "--repair-journal dropped part of the journal");
    }
    Ok(Arc::new(store))
}

#[cfg(not(feature = "duckdb"))]
fn open_durable(data_dir: &str, _repair_journal: bool) -> Result<Arc<dyn Store>, ServerError> {
    Err(ServerError::Setting(format!(
        "this KECS was built without DuckDB: use --data-dir :memory: instead of {data_dir}"
    )))
}

/// The name this KECS labels its containers with, so that it adopts (and cleans up) only its
/// own: kept in the data directory, so a restart on the same data is the same instance.
fn instance_id(data_dir: &str) -> Result<String, ServerError> {
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
    write_durably(&path, id.as_bytes())
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))?;
    Ok(id)
}

/// Writes `contents` to `path` so that a crash leaves either the old file or the whole new one:
/// a temporary file synced to disk, renamed over `path`, then the directory synced (the rename).
fn write_durably(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    match path.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// The runtime tasks run on.
async fn runtime(
    name: &str,
    instance: &str,
    pull: PullBehavior,
) -> Result<Arc<dyn ContainerRuntime>, ServerError> {
    Ok(match name.parse::<RuntimeKind>()? {
        RuntimeKind::None => Arc::new(NoneRuntime),
        RuntimeKind::Docker => Arc::new(
            DockerRuntime::connect(instance)
                .await?
                .with_image_pull(pull),
        ),
        RuntimeKind::Kubernetes => Arc::new(
            KubernetesRuntime::connect(instance)
                .await?
                .with_image_pull(pull),
        ),
    })
}

/// The task controller's eyes: feeds what the runtime reports into the task state machine,
/// from its event stream at once and from a periodic resync that catches what the stream missed
/// (events before the subscription was up, or while it was broken).
async fn watch_runtime(runtime: Arc<dyn ContainerRuntime>, kecs: Arc<Kecs>) {
    let mut resync = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        let mut events = runtime.events();
        loop {
            tokio::select! {
                next = events.next() => match next {
                    Some(Ok(event)) => {
                        if let Err(e) = kecs.on_runtime_event(event.clone()).await {
                            tracing::error!(?event, error = %e, "recording a runtime event failed");
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "the runtime's event stream failed; subscribing again");
                        break;
                    }
                    None => break,
                },
                _ = resync.tick() => match runtime.inventory().await {
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

/// Forgets stopped tasks older than `retention` (and removes their containers), looking every
/// half retention, at least every minute.
async fn forget_stopped_tasks(kecs: Arc<Kecs>, retention: std::time::Duration) {
    let every = (retention / 2).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(60),
    );
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match kecs.forget_stopped_tasks(retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "forgot stopped tasks past their retention"),
            Err(e) => tracing::warn!(error = %e, "forgetting stopped tasks failed"),
        }
    }
}

/// Adopts what the runtime runs for this instance after a restart (also after kill -9):
/// running tasks are kept, interrupted launches start again, orphans are removed.
async fn recover(runtime: &dyn ContainerRuntime, kecs: &Kecs) -> Result<(), ServerError> {
    let observed = runtime.inventory().await?;
    kecs.reconcile_with(&observed, true)
        .await
        .map_err(ServerError::Recovery)?;
    tracing::info!(containers = observed.len(), "recovered the runtime's state");
    Ok(())
}

/// Starts every background worker under supervision: the domain's queue-driven controllers
/// (task launcher, service scheduler, cluster cleanup), the runtime watch, the services' resync
/// and the retention sweeper. Each is reported on `/ready` and started again if it stops.
fn supervise_workers(
    state: &AppState,
    runtime: Arc<dyn ContainerRuntime>,
    retention: std::time::Duration,
) -> Vec<tokio::task::JoinHandle<()>> {
    let workers = &state.workers;
    let kecs = &state.kecs;
    let mut handles: Vec<_> = kecs
        .controllers()
        .into_iter()
        .map(|controller| {
            supervise(
                controller.name(),
                workers.clone(),
                RESTART_DELAY,
                move || {
                    let controller = controller.clone();
                    async move { controller.run().await }
                },
            )
        })
        .collect();
    if !runtime.is_emulated() {
        let kecs = kecs.clone();
        handles.push(supervise(
            "runtime-watch",
            workers.clone(),
            RESTART_DELAY,
            move || watch_runtime(runtime.clone(), kecs.clone()),
        ));
    }
    let k = kecs.clone();
    handles.push(supervise(
        "service-resync",
        workers.clone(),
        RESTART_DELAY,
        move || resync_services(k.clone()),
    ));
    let k = kecs.clone();
    handles.push(supervise(
        "retention-sweeper",
        workers.clone(),
        RESTART_DELAY,
        move || forget_stopped_tasks(k.clone(), retention),
    ));
    handles
}

/// What one KECS instance serves from.
pub struct Wiring {
    /// Where state is kept.
    pub store: Arc<dyn Store>,
    /// Where tasks run.
    pub runtime: Arc<dyn ContainerRuntime>,
    /// Region for requests without a SigV4 credential scope.
    pub region: String,
    /// The account in every ARN.
    pub account_id: String,
    /// Whether `POST /_kecs/reset` is enabled.
    pub allow_reset: bool,
    /// Host names accepted besides loopback ones (`*`: any).
    pub allowed_hosts: Vec<String>,
    /// What task definitions may ask of this machine.
    pub container_policy: ContainerPolicy,
    /// How long a stopped task is kept.
    pub stopped_task_retention: std::time::Duration,
    /// Where responses are recorded for the conformance tests.
    pub conformance: Option<ConformanceLog>,
    /// Who may call the ECS API.
    pub auth: kecs_api::Auth,
    /// The admin port's bearer token.
    pub admin_token: Option<String>,
    /// Where tasks' secrets and environment files come from.
    pub secrets: Arc<dyn SecretSource>,
}

impl Wiring {
    /// An in-memory store and the runtime named (`docker`, `kubernetes` or `none`), in
    /// us-east-1 under account 000000000000.
    pub async fn in_memory(runtime_name: &str) -> Result<Self, ServerError> {
        let instance = instance_id(":memory:")?;
        Ok(Self {
            store: Arc::new(MemoryStore::new()),
            runtime: runtime(runtime_name, &instance, PullBehavior::default()).await?,
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            allow_reset: true,
            allowed_hosts: vec![],
            container_policy: ContainerPolicy::Permissive,
            stopped_task_retention: std::time::Duration::from_secs(3600),
            conformance: None,
            auth: kecs_api::Auth::none(),
            admin_token: None,
            secrets: Arc::new(NoSecrets),
        })
    }
}

/// A KECS that serves: the addresses it listens on, and what stops it.
pub struct Started {
    /// The ECS API's address.
    pub api_addr: SocketAddr,
    /// The admin endpoints' address.
    pub admin_addr: SocketAddr,
    api: ServerHandle,
    admin: ServerHandle,
    servers: tokio::task::JoinHandle<std::io::Result<()>>,
    controllers: Vec<tokio::task::JoinHandle<()>>,
}

impl Started {
    /// Stops serving (draining in-flight requests when `graceful`) and stops the controllers.
    pub async fn stop(self, graceful: bool) {
        tokio::join!(self.api.stop(graceful), self.admin.stop(graceful));
        let _ = self.servers.await;
        for c in self.controllers {
            c.abort();
        }
    }
}

fn first_addr(addrs: &[SocketAddr], what: &str) -> Result<SocketAddr, ServerError> {
    addrs.first().copied().ok_or_else(|| {
        ServerError::io(
            format!("the {what} listener"),
            std::io::Error::other("it is bound to no address"),
        )
    })
}

/// Loads the state, recovers the runtime's tasks, starts the controllers and both listeners
/// (`127.0.0.1:0` picks a free port), on the calling tokio runtime.
pub async fn start(
    wiring: Wiring,
    api_addr: &str,
    admin_addr: &str,
) -> Result<Started, ServerError> {
    let metrics = Metrics::new()?;
    let events = EventHub::new(metrics.clone());
    let runtime: Arc<dyn ContainerRuntime> = Arc::new(CountedRuntime::new(
        wiring.runtime,
        metrics.runtime_errors(),
    ));
    let kecs = Arc::new(
        Kecs::open(wiring.store, Arc::new(SystemClock), runtime.clone())
            .await
            .map_err(|source| ServerError::Store {
                context: "loading state".into(),
                source,
            })?
            .with_events(Arc::new(events.clone()))
            .with_container_policy(wiring.container_policy)
            .with_secrets(wiring.secrets),
    );
    let state = AppState {
        kecs,
        default_region: wiring.region,
        account_id: wiring.account_id,
        metrics,
        events,
        allow_reset: wiring.allow_reset,
        allowed_hosts: AllowedHosts::new(wiring.allowed_hosts),
        conformance: wiring.conformance,
        workers: Workers::default(),
        auth: wiring.auth,
        admin_token: wiring.admin_token,
    };
    if !runtime.is_emulated() {
        recover(runtime.as_ref(), &state.kecs).await?;
    }
    let controllers = supervise_workers(&state, runtime, wiring.stopped_task_retention);
    let data = web::Data::new(state);

    let api_data = data.clone();
    let api = HttpServer::new(move || {
        App::new()
            .app_data(api_data.clone())
            .wrap(actix_web::middleware::from_fn(kecs_api::host_guard))
            .configure(kecs_api::api_routes)
    })
    .disable_signals()
    .bind(api_addr)
    .map_err(|e| ServerError::io(format!("cannot listen on {api_addr} (api)"), e))?;
    let api_bound = api.addrs();
    let admin = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::from_fn(kecs_api::admin_token_guard))
            .wrap(actix_web::middleware::from_fn(kecs_api::host_guard))
            .configure(kecs_api::admin_routes)
    })
    .workers(1)
    .disable_signals()
    .bind(admin_addr)
    .map_err(|e| ServerError::io(format!("cannot listen on {admin_addr} (admin)"), e))?;
    let admin_bound = admin.addrs();
    let (api, admin) = (api.run(), admin.run());
    let started = Started {
        api_addr: first_addr(&api_bound, "api")?,
        admin_addr: first_addr(&admin_bound, "admin")?,
        api: api.handle(),
        admin: admin.handle(),
        servers: tokio::spawn(async move {
            let (a, b) = tokio::join!(api, admin);
            a.and(b)
        }),
        controllers,
    };
    Ok(started)
}

/// Opens what `settings` name and serves until SIGTERM or SIGINT, then drains in-flight
/// requests and closes the store.
pub async fn run(settings: Settings) -> Result<(), ServerError> {
    let in_data_dir = |source: ServerError| ServerError::InDataDir {
        data_dir: settings.data_dir.clone(),
        source: Box::new(source),
    };
    let store = open_store(&settings.data_dir, settings.repair_journal)?;
    let instance = instance_id(&settings.data_dir)?;
    let pull = settings
        .image_pull
        .parse::<PullBehavior>()
        .map_err(|e| ServerError::Setting(format!("image_pull: {e}")))?;
    let task_runtime = runtime(&settings.runtime, &instance, pull).await?;
    let conformance = match &settings.conformance_log {
        Some(p) => Some(
            ConformanceLog::open(p)
                .map_err(|e| ServerError::io(format!("conformance log {}", p.display()), e))?,
        ),
        None => None,
    };
    let wiring = Wiring {
        store,
        runtime: task_runtime,
        region: settings.region.clone(),
        account_id: settings.account_id.clone(),
        allow_reset: settings.allow_reset,
        allowed_hosts: settings.allowed_hosts.clone(),
        container_policy: match settings.container_policy.as_str() {
            "restricted" => ContainerPolicy::Restricted {
                docker_socket: settings.allow_docker_socket,
            },
            _ => ContainerPolicy::Permissive,
        },
        stopped_task_retention: std::time::Duration::from_secs(settings.stopped_task_retention),
        conformance,
        auth: settings.api_auth(),
        admin_token: settings.admin_token.clone().filter(|t| !t.is_empty()),
        secrets: crate::secrets::source(&settings).await?,
    };
    let mut started = start(wiring, &settings.api_addr, &settings.admin_addr)
        .await
        .map_err(in_data_dir)?;
    tracing::info!(
        api = %started.api_addr,
        admin = %started.admin_addr,
        data_dir = %settings.data_dir,
        runtime = %settings.runtime,
        "KECS is serving the ECS API"
    );
    let loopback_only = [started.api_addr, started.admin_addr]
        .iter()
        .all(|a| a.ip().is_loopback());
    if !loopback_only {
        tracing::info!(
            accepted_hosts = %AllowedHosts::new(settings.allowed_hosts.clone()).describe(),
            "listening beyond loopback: requests addressed to other host names get 403 (--allowed-host)"
        );
    }
    tokio::select! {
        result = &mut started.servers => {
            result?.map_err(|e| ServerError::io("serving", e))?;
        }
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down: draining requests");
            started.stop(true).await;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_id_is_kept_in_the_data_directory() {
        let dir = std::env::temp_dir().join(format!("kecs-instance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data_dir = dir.to_string_lossy().into_owned();
        let first = instance_id(&data_dir).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(
            instance_id(&data_dir).unwrap(),
            first,
            "a restart is the same instance"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("instance-id")).unwrap(),
            first
        );
        assert!(!dir.join("instance-id.tmp").exists());
        assert_ne!(instance_id(":memory:").unwrap(), first);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
