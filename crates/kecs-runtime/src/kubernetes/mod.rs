//! Tasks as pods on a Kubernetes cluster: each ECS cluster is a namespace (labelled as
//! KECS's), each task a pod (`restartPolicy: Never`) labelled with this KECS's instance and its
//! task ID, its containers mapped by [`pod`]. Pod and container states come from a watch
//! (kube's watcher feeding a reflector cache), read by [`observe`].
//!
//! A task's pod is created once its last container is "created" (Kubernetes starts a pod's
//! containers itself, in the order [`pod`] gives them). Stopping a task sets the pod's
//! `activeDeadlineSeconds`, so the kubelet stops its containers (SIGTERM, SIGKILL after the
//! grace period) and the pod stays with their exit codes, as a stopped Docker container does;
//! removing a task deletes its pod. Services with port mappings get a Kubernetes Service of
//! the same name in the cluster's namespace, so their tasks are reachable by name.

pub mod names;
mod objects;
pub mod observe;
pub mod pod;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kecs_domain::model::{Task, TaskDefinition};
use kecs_domain::ports::runtime::{
    ContainerRuntime, ContainerState, ContainerStatus, LogLine, NetworkNames, ObservedContainer,
    RegistryAuth, RuntimeError, RuntimeEvent, StartedContainer,
};
use kecs_domain::ports::traces::{NoTraces, Traces};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;

use names::{dns_label, namespace, parse_runtime_id, pod_name, runtime_id, LABEL_INSTANCE};

/// How long a pod may stay unscheduled or pulling before its task fails to start.
const START_DEADLINE: Duration = Duration::from_secs(600);
/// How often a wait looks at the watch's cache.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// The Kubernetes runtime.
pub struct KubernetesRuntime {
    client: Client,
    instance: String,
    /// The watch's cache of this instance's pods (replaced when the watch starts again).
    pods: RwLock<Option<Store<Pod>>>,
    /// When images are pulled.
    pull: crate::PullBehavior,
    /// Each task's registry credentials, held until its pod is created.
    pull_auths: std::sync::Mutex<std::collections::HashMap<String, Vec<(String, RegistryAuth)>>>,
    /// Where a pod's trace context comes from (written as an annotation when traced).
    traces: Arc<dyn Traces>,
}

impl std::fmt::Debug for KubernetesRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesRuntime")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// kube's TLS is rustls: when the build enables more than one of its crypto providers (other
/// crates here enable aws-lc-rs), rustls cannot choose and a client would panic; ring is
/// installed first. Another provider installed before stays.
fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn failed(what: impl std::fmt::Display, e: kube::Error) -> RuntimeError {
    RuntimeError::engine_with(format!("Kubernetes: {what}: {e}"), e)
}

fn is_code(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == code)
}

impl KubernetesRuntime {
    /// Connects with the kubeconfig (`$KUBECONFIG`, `~/.kube/config`) or the in-cluster
    /// service account, and checks that the API server answers.
    pub async fn connect(instance: &str) -> Result<Self, RuntimeError> {
        install_crypto();
        let unreachable = |e: kube::Error| {
            let message = format!("no Kubernetes API server answers: {e} (set KUBECONFIG, or use --runtime docker or none)");
            RuntimeError::engine_with(message, e)
        };
        let client = Client::try_default().await.map_err(unreachable)?;
        client.apiserver_version().await.map_err(unreachable)?;
        Ok(Self::with_client(client, instance))
    }

    /// A runtime on the API server `config` describes (no check that it answers).
    pub fn from_config(config: kube::Config, instance: &str) -> Result<Self, RuntimeError> {
        install_crypto();
        let client = Client::try_from(config)
            .map_err(|e| RuntimeError::engine_with(format!("Kubernetes client: {e}"), e))?;
        Ok(Self::with_client(client, instance))
    }

    /// A runtime on an existing client.
    pub fn with_client(client: Client, instance: &str) -> Self {
        Self {
            client,
            instance: instance.to_string(),
            pods: RwLock::new(None),
            pull: crate::PullBehavior::default(),
            pull_auths: std::sync::Mutex::default(),
            traces: Arc::new(NoTraces),
        }
    }

    /// Annotates each pod with the trace context of the launch that creates it, from `traces`.
    pub fn with_traces(mut self, traces: Arc<dyn Traces>) -> Self {
        self.traces = traces;
        self
    }

    /// Has the kubelet pull images as `pull` says, as near as `imagePullPolicy` can.
    pub fn with_image_pull(mut self, pull: crate::PullBehavior) -> Self {
        self.pull = pull;
        self
    }

    fn selector(&self) -> String {
        format!("{LABEL_INSTANCE}={}", self.instance)
    }

    fn pods_in(&self, ns: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// The pod `ns/name`, from the watch's cache when it has it, else from the API server.
    async fn pod(&self, ns: &str, name: &str) -> Result<Option<Arc<Pod>>, RuntimeError> {
        let cached = self
            .pods
            .read()
            .ok()
            .and_then(|s| s.as_ref().map(|s| s.get(&ObjectRef::new(name).within(ns))));
        match cached {
            Some(Some(pod)) => Ok(Some(pod)),
            _ => self
                .pods_in(ns)
                .get_opt(name)
                .await
                .map(|p| p.map(Arc::new))
                .map_err(|e| failed(format_args!("reading pod {ns}/{name}"), e)),
        }
    }

    /// Waits until `check` says something of the pod `ns/name` (re-read from the watch's
    /// cache every [`LOOK_EVERY`]), or `deadline` passes.
    async fn wait_for<T>(
        &self,
        ns: &str,
        name: &str,
        deadline: Duration,
        mut check: impl FnMut(Option<&Pod>) -> Option<T>,
    ) -> Result<Option<T>, RuntimeError> {
        let started = Instant::now();
        loop {
            let pod = self.pod(ns, name).await?;
            if let Some(answer) = check(pod.as_deref()) {
                return Ok(Some(answer));
            }
            if started.elapsed() > deadline {
                return Ok(None);
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    }
}

/// The runtime ID's parts, or an error naming it.
fn parts(id: &str) -> Result<(&str, &str, &str), RuntimeError> {
    parse_runtime_id(id).ok_or_else(|| RuntimeError::engine(format!("not a pod container: {id}")))
}

#[async_trait::async_trait]
impl ContainerRuntime for KubernetesRuntime {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn events(&self) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        let (store, writer) = reflector::store();
        if let Ok(mut pods) = self.pods.write() {
            *pods = Some(store);
        }
        let api: Api<Pod> = Api::all(self.client.clone());
        let config = watcher::Config::default().labels(&self.selector());
        let mut tracker = observe::Tracker::default();
        let stream = reflector::reflector(writer, watcher(api, config).default_backoff())
            .map(move |event| match event {
                Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                    Ok(tracker.applied(&pod))
                }
                Ok(watcher::Event::Delete(pod)) => Ok(tracker.deleted(&pod)),
                Ok(watcher::Event::Init | watcher::Event::InitDone) => Ok(vec![]),
                Err(e) => Err(RuntimeError::engine(format!(
                    "Kubernetes: watching pods: {e}"
                ))),
            })
            .flat_map(|events| {
                futures::stream::iter(match events {
                    Ok(events) => events.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
            });
        Box::pin(stream)
    }

    async fn prepare_task(&self, task: &Task, td: &TaskDefinition) -> Result<(), RuntimeError> {
        let ns = self
            .ensure_namespace(task.cluster_arn.as_deref().unwrap_or_default())
            .await?;
        if let Some(service) = pod::service_name(task) {
            self.ensure_service(&ns, service, None, td).await?;
        }
        Ok(())
    }

    async fn create_container(
        &self,
        task: &Task,
        td: &TaskDefinition,
        name: &str,
        created: &[StartedContainer],
        auth: Option<&RegistryAuth>,
        names: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError> {
        let task_arn = task.task_arn.as_deref().unwrap_or_default();
        let ns = namespace(task.cluster_arn.as_deref().unwrap_or_default());
        if let Some(service) = pod::service_name(task).filter(|_| created.is_empty()) {
            self.ensure_aliases(&ns, service, td, names).await?;
        }
        let pod_name = pod_name(task_arn);
        let names = pod::container_names_of(td);
        let containers = names.len();
        let k8s_name = names
            .into_iter()
            .find(|(_, ecs)| ecs == name)
            .map(|(k8s, _)| k8s)
            .ok_or_else(|| {
                RuntimeError::engine(format!("no container {name} in the task definition"))
            })?;
        // repositoryCredentials: kept until the pod is made, then one image pull secret.
        let auths = {
            let mut held = self.pull_auths.lock().unwrap_or_else(|p| p.into_inner());
            let mine = held.entry(task_arn.to_string()).or_default();
            if let Some(auth) = auth {
                let image = pod::image_of(td, name);
                mine.push((
                    crate::image_ref::registry_of(&image).to_string(),
                    auth.clone(),
                ));
            }
            if created.len() + 1 == containers {
                held.remove(task_arn).unwrap_or_default()
            } else {
                vec![]
            }
        };
        // The pod holds all of a task's containers: it is created with the last one.
        if created.len() + 1 == containers {
            let pull_secret = match auths.is_empty() {
                true => None,
                false => Some(self.create_pull_secret(&ns, &pod_name, &auths).await?),
            };
            let trace_parent = self.traces.current();
            let spec = pod::pod(&pod::PodInput {
                task,
                td,
                instance: &self.instance,
                pull: self.pull,
                pull_secret,
                trace_parent: trace_parent.as_ref().map(|t| t.0.as_str()),
            });
            self.pods_in(&ns)
                .create(&PostParams::default(), &spec)
                .await
                .map_err(|e| {
                    failed(
                        format_args!("CannotCreateContainerError: creating pod {ns}/{pod_name}"),
                        e,
                    )
                })?;
        }
        Ok(StartedContainer {
            name: name.to_string(),
            runtime_id: Some(runtime_id(&ns, &pod_name, &k8s_name)),
            ..StartedContainer::default()
        })
    }

    /// Kubernetes starts the pod's containers itself: this waits until the container runs (or
    /// already ended), and fails when it never will (image pull, configuration, pod gone).
    async fn start_container(
        &self,
        _task: &Task,
        container: &StartedContainer,
    ) -> Result<StartedContainer, RuntimeError> {
        let id = container.runtime_id.clone().unwrap_or_default();
        let (ns, pod_name, name) = parts(&id)?;
        let outcome = self
            .wait_for(ns, pod_name, START_DEADLINE, |pod| {
                let Some(pod) = pod else {
                    return Some(Err(format!("pod {ns}/{pod_name} is gone")));
                };
                let status = observe::status_of(pod, name)?;
                let image = status.image.clone();
                if let Some(reason) = observe::start_failure(status, &image) {
                    return Some(Err(reason));
                }
                match observe::state_of(status, false).status {
                    ContainerStatus::Running | ContainerStatus::Exited(_) => {
                        Some(Ok(pod.status.as_ref().and_then(|s| s.pod_ip.clone())))
                    }
                    _ => None,
                }
            })
            .await?;
        match outcome {
            Some(Ok(ip)) => Ok(StartedContainer {
                private_ipv4: ip,
                ..container.clone()
            }),
            Some(Err(reason)) => Err(RuntimeError::engine(reason)),
            None => Err(RuntimeError::engine(format!(
                "ResourceInitializationError: pod {ns}/{pod_name} did not start container {name} within {} s",
                START_DEADLINE.as_secs()
            ))),
        }
    }

    async fn container_state(&self, runtime_id: &str) -> Result<ContainerState, RuntimeError> {
        let (ns, pod_name, name) = parts(runtime_id)?;
        Ok(match self.pod(ns, pod_name).await? {
            Some(pod) => observe::container_state(&pod, name),
            None => ContainerState {
                status: ContainerStatus::Missing,
                health: None,
            },
        })
    }

    /// Sets the pod's active deadline: the kubelet stops its containers (grace period first)
    /// and keeps the pod, with their exit codes. Waits until they have stopped.
    async fn stop_task(&self, task: &Task) -> Result<(), RuntimeError> {
        let ns = namespace(task.cluster_arn.as_deref().unwrap_or_default());
        let pod_name = pod_name(task.task_arn.as_deref().unwrap_or_default());
        let patch = serde_json::json!({"spec": {"activeDeadlineSeconds": 1}});
        let patched = match self
            .pods_in(&ns)
            .patch(&pod_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(pod) => pod,
            Err(e) if is_code(&e, 404) => return Ok(()),
            Err(e) => return Err(failed(format_args!("stopping pod {ns}/{pod_name}"), e)),
        };
        let grace = patched
            .spec
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30);
        let deadline = Duration::from_secs(u64::try_from(grace).unwrap_or(30) + 30);
        self.wait_for(&ns, &pod_name, deadline, |pod| {
            let Some(pod) = pod else {
                return Some(());
            };
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            let ended = matches!(phase, Some("Succeeded" | "Failed"))
                || observe::statuses(pod).all(|s| {
                    s.state
                        .as_ref()
                        .is_some_and(|s| s.terminated.is_some() || s.running.is_none())
                });
            ended.then_some(())
        })
        .await?
        .ok_or_else(|| {
            RuntimeError::engine(format!(
                "Kubernetes: pod {ns}/{pod_name} did not stop within {} s",
                deadline.as_secs()
            ))
        })
    }

    async fn remove_task(&self, task_arn: &str) -> Result<(), RuntimeError> {
        let selector = format!(
            "{},{}={}",
            self.selector(),
            names::LABEL_TASK_ID,
            pod_name(task_arn)
        );
        let api: Api<Pod> = Api::all(self.client.clone());
        let found = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| failed("listing pods", e))?;
        let now = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        };
        for pod in found.items {
            let (Some(ns), Some(name)) = (pod.metadata.namespace, pod.metadata.name) else {
                continue;
            };
            match self.pods_in(&ns).delete(&name, &now).await {
                Ok(_) => {}
                Err(e) if is_code(&e, 404) => {}
                Err(e) => return Err(failed(format_args!("deleting pod {ns}/{name}"), e)),
            }
            self.delete_pull_secret(&ns, &name).await?;
        }
        Ok(())
    }

    async fn logs(
        &self,
        task: &Task,
        container: &str,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        let Some(id) = task
            .containers
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(container))
            .and_then(|c| c.runtime_id.clone())
        else {
            return Ok(vec![]);
        };
        let (ns, pod_name, name) = parts(&id)?;
        let params = LogParams {
            container: Some(name.to_string()),
            tail_lines: tail.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            timestamps: true,
            ..LogParams::default()
        };
        match self.pods_in(ns).logs(pod_name, &params).await {
            Ok(text) => Ok(text.lines().map(crate::log_line::parse).collect()),
            Err(e) if is_code(&e, 404) || is_code(&e, 400) => Ok(vec![]),
            Err(e) => Err(failed(format_args!("reading logs of {id}"), e)),
        }
    }

    /// From the watch's cache once it holds the whole list (the resync then costs the API
    /// server nothing); from the API server before (start-up recovery) or while the watch
    /// starts again.
    async fn inventory(&self) -> Result<Vec<ObservedContainer>, RuntimeError> {
        let cached = self.pods.read().ok().and_then(|s| {
            let store = s.as_ref()?;
            store.wait_until_ready().now_or_never()?.ok()?;
            Some(store.state())
        });
        if let Some(pods) = cached {
            return Ok(pods.iter().flat_map(|p| observe::observed(p)).collect());
        }
        let api: Api<Pod> = Api::all(self.client.clone());
        let pods = api
            .list(&ListParams::default().labels(&self.selector()))
            .await
            .map_err(|e| failed("listing pods", e))?;
        Ok(pods.items.iter().flat_map(observe::observed).collect())
    }

    async fn remove_cluster(&self, cluster_arn: &str) -> Result<(), RuntimeError> {
        let name = namespace(cluster_arn);
        let api: Api<Namespace> = Api::all(self.client.clone());
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, 404) => Ok(()),
            Err(e) => Err(failed(format_args!("deleting namespace {name}"), e)),
        }
    }

    async fn remove_service(&self, service_arn: &str) -> Result<(), RuntimeError> {
        let Some((cluster_arn, name)) = kecs_domain::arn::split_in_cluster(service_arn) else {
            return Ok(());
        };
        self.remove_services(&namespace(&cluster_arn), &dns_label(name, 63))
            .await
    }
}
