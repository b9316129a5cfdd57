//! Wiring: store, service, controllers, the API and admin listeners, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use kecs_api::{AllowedHosts, AppState, ConformanceLog, EventHub, Metrics, Workers};
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::credentials::{CredentialSource, StaticCredentials};
use kecs_domain::ports::runtime::{ContainerRuntime, NoneRuntime};
use kecs_domain::ports::secrets::{NoSecrets, SecretSource};
use kecs_domain::ports::store::{NoStore, Store};
use kecs_domain::ports::traces::{NoTraces, Traces};
use kecs_domain::ports::traffic::{NoTraffic, TrafficRouter};
use kecs_domain::rules::container_policy::ContainerPolicy;
use kecs_domain::Kecs;
use kecs_runtime::docker::DockerRuntime;
use kecs_runtime::kubernetes::KubernetesRuntime;
use kecs_runtime::{PullBehavior, RuntimeKind};
use tracing::Instrument;

use crate::background::supervise_workers;
use crate::counted_runtime::CountedRuntime;
use crate::data_dir::{endpoint_key, instance_id};
use crate::error::ServerError;
use crate::settings::Settings;
use crate::task_endpoints::EndpointSettings;
use crate::traces::TraceExport;

fn open_store(data_dir: &str, repair_journal: bool) -> Result<Arc<dyn Store>, ServerError> {
    if data_dir == ":memory:" {
        return Ok(Arc::new(NoStore));
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
    let (store, repairs) =
        kecs_store::DuckStore::open_with(std::path::Path::new(data_dir), on_damage).map_err(
            |source| ServerError::Store {
                context: "opening the store".into(),
                source,
            },
        )?;
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

/// The runtime tasks run on; on Docker, `endpoint_gateway` (the task endpoints' link-local
/// address) is made an address of this host first; on Kubernetes, pods carry the trace context
/// `traces` reads.
async fn runtime(
    name: &str,
    instance: &str,
    pull: PullBehavior,
    endpoint_gateway: Option<std::net::Ipv4Addr>,
    traces: Arc<dyn Traces>,
) -> Result<Arc<dyn ContainerRuntime>, ServerError> {
    Ok(match name.parse::<RuntimeKind>()? {
        RuntimeKind::None => Arc::new(NoneRuntime),
        RuntimeKind::Docker => {
            let docker = DockerRuntime::connect(instance)
                .await?
                .with_image_pull(pull);
            if let Some(gateway) = endpoint_gateway {
                if let Err(e) = docker.ensure_endpoint_network(gateway).await {
                    tracing::warn!(error = %e, "cannot give this host the task endpoints' address");
                }
            }
            Arc::new(docker)
        }
        RuntimeKind::Kubernetes => Arc::new(
            KubernetesRuntime::connect(instance)
                .await?
                .with_image_pull(pull)
                .with_traces(traces),
        ),
    })
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
    /// Where tasks' containers reach the task endpoints (metadata, credentials, agent API);
    /// none: they are not served.
    pub task_endpoints: Option<EndpointSettings>,
    /// Where task-role credentials come from.
    pub task_credentials: Arc<dyn CredentialSource>,
    /// Where services' load balancers send traffic, and how long a stopping target drains.
    pub load_balancers: (Arc<dyn TrafficRouter>, std::time::Duration),
    /// The trace export, when traces are exported.
    pub traces: Option<TraceExport>,
    /// Whether MCP is served at `/mcp` on the admin port.
    pub mcp_http: bool,
}

impl Wiring {
    /// State in memory only (a store that keeps nothing) and the runtime named (`docker`,
    /// `kubernetes` or `none`), in us-east-1 under account 000000000000.
    pub async fn in_memory(runtime_name: &str) -> Result<Self, ServerError> {
        let instance = instance_id(":memory:")?;
        Ok(Self {
            store: Arc::new(NoStore),
            runtime: runtime(
                runtime_name,
                &instance,
                PullBehavior::default(),
                None,
                Arc::new(NoTraces),
            )
            .await?,
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
            task_endpoints: None,
            task_credentials: Arc::new(StaticCredentials),
            load_balancers: (Arc::new(NoTraffic), std::time::Duration::ZERO),
            traces: None,
            mcp_http: false,
        })
    }
}

/// A KECS that serves: the addresses it listens on, and what stops it.
pub struct Started {
    /// The ECS API's address.
    pub api_addr: SocketAddr,
    /// The admin endpoints' address.
    pub admin_addr: SocketAddr,
    /// The task endpoints' address, when they are served.
    pub task_endpoints_addr: Option<SocketAddr>,
    handles: Vec<ServerHandle>,
    servers: tokio::task::JoinHandle<std::io::Result<()>>,
    controllers: Vec<tokio::task::JoinHandle<()>>,
}

impl Started {
    /// Stops serving (draining in-flight requests when `graceful`) and stops the controllers.
    pub async fn stop(self, graceful: bool) {
        futures::future::join_all(self.handles.iter().map(|h| h.stop(graceful))).await;
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
    if let Some(export) = &wiring.traces {
        metrics.register(export.dropped.clone())?;
    }
    let events = EventHub::new(metrics.clone());
    let runtime: Arc<dyn ContainerRuntime> = Arc::new(CountedRuntime::new(
        wiring.runtime,
        metrics.runtime_errors(),
    ));
    let endpoints = wiring
        .task_endpoints
        .and_then(crate::task_endpoints::listen);
    let kecs = Arc::new(
        Kecs::open(wiring.store, Arc::new(SystemClock), runtime.clone())
            .await
            .map_err(|source| ServerError::Store {
                context: "loading state".into(),
                source,
            })?
            .with_events(Arc::new(events.clone()))
            .with_container_policy(wiring.container_policy)
            .with_secrets(wiring.secrets)
            .with_task_endpoints(endpoints.as_ref().map(|(_, e)| e.clone()))
            .with_task_credentials(wiring.task_credentials)
            .with_load_balancers(wiring.load_balancers.0, wiring.load_balancers.1)
            .with_traces(crate::traces::port(wiring.traces.as_ref())),
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
        traces: wiring.traces.map(|export| export.traces),
    };
    if !runtime.is_emulated() {
        recover(runtime.as_ref(), &state.kecs)
            .instrument(tracing::info_span!("recover"))
            .await?;
    }
    let controllers = supervise_workers(&state, runtime, wiring.stopped_task_retention);
    let data = web::Data::new(state);

    let api_data = data.clone();
    let endpoint_data = data.clone();
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
    // MCP on the admin port calls this KECS's API, on loopback when it listens on every address.
    let mcp_endpoint = match (wiring.mcp_http, api_bound.first()) {
        (true, Some(addr)) if addr.ip().is_unspecified() => {
            Some(format!("http://127.0.0.1:{}", addr.port()))
        }
        (true, Some(addr)) => Some(format!("http://{addr}")),
        _ => None,
    };
    let admin = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::from_fn(kecs_api::admin_token_guard))
            .wrap(actix_web::middleware::from_fn(kecs_api::host_guard))
            .configure(kecs_api::admin_routes)
            .configure(|cfg| {
                if let Some(endpoint) = &mcp_endpoint {
                    crate::mcp_http::routes(cfg, endpoint);
                }
            })
    })
    .workers(1)
    .disable_signals()
    .bind(admin_addr)
    .map_err(|e| ServerError::io(format!("cannot listen on {admin_addr} (admin)"), e))?;
    let admin_bound = admin.addrs();
    let mut servers = vec![api.run(), admin.run()];
    let mut task_endpoints_addr = None;
    if let Some((listener, _)) = endpoints {
        task_endpoints_addr = listener.local_addr().ok();
        let endpoint_data = endpoint_data.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(endpoint_data.clone())
                .configure(kecs_api::task_endpoint_routes)
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .map_err(|e| ServerError::io("the task endpoints' listener", e))?;
        servers.push(server.run());
    }
    let started = Started {
        api_addr: first_addr(&api_bound, "api")?,
        admin_addr: first_addr(&admin_bound, "admin")?,
        task_endpoints_addr,
        handles: servers.iter().map(|s| s.handle()).collect(),
        servers: tokio::spawn(async move {
            futures::future::join_all(servers)
                .await
                .into_iter()
                .collect::<std::io::Result<()>>()
        }),
        controllers,
    };
    Ok(started)
}

/// Opens what `settings` name and serves until SIGTERM or SIGINT, then drains in-flight
/// requests and closes the store.
pub async fn run(settings: Settings, traces: Option<TraceExport>) -> Result<(), ServerError> {
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
    let endpoint_addr = crate::task_endpoints::address(&settings);
    let gateway = crate::task_endpoints::network_gateway(endpoint_addr);
    let port = crate::traces::port(traces.as_ref());
    let task_runtime = runtime(&settings.runtime, &instance, pull, gateway, port).await?;
    let task_endpoints = match endpoint_addr {
        Some(addr) => Some(EndpointSettings {
            addr,
            url: settings.metadata_url.clone().filter(|u| !u.is_empty()),
            key: endpoint_key(&settings.data_dir)?,
        }),
        None => None,
    };
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
        task_endpoints,
        load_balancers: crate::load_balancing::router(&settings)?,
        task_credentials: crate::task_endpoints::credentials(&settings).await,
        traces,
        mcp_http: settings.mcp_http,
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
