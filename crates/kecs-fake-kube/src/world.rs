//! The fake cluster's objects, resource versions and change history.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::kubelet::{now, PodRun};
use crate::objects::{Namespaces, Objects};

/// How many pod changes a watch can resume from.
const HISTORY: usize = 10_000;

/// One change to a pod, as a watch reports it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resource version it made.
    pub rv: u64,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// The pod after the change.
    pub pod: Pod,
}

/// Why a request failed, as the API server's Status says.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 404.
    NotFound(String),
    /// 409.
    AlreadyExists(String),
    /// 422.
    Invalid(String),
    /// 410: the resource version asked for is older than the history kept.
    Gone,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) rv: u64,
    pub(crate) namespaces: BTreeMap<String, Value>,
    pub(crate) pods: BTreeMap<(String, String), (Pod, PodRun)>,
    /// Services and Secrets, by (plural, namespace, name).
    pub(crate) objects: BTreeMap<(&'static str, String, String), Value>,
    pub(crate) history: VecDeque<Change>,
}

/// The fake cluster.
pub struct World {
    state: Mutex<State>,
    changes: broadcast::Sender<Change>,
    images: Vec<String>,
}

/// `image` with its tag (`:latest` when it has none).
fn tagged(image: &str) -> String {
    let name = image.rsplit('/').next().unwrap_or(image);
    if name.contains(':') || name.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// Whether `labels` match a selector of `k=v` terms joined by commas.
pub fn selects(selector: Option<&str>, labels: Option<&BTreeMap<String, String>>) -> bool {
    selector
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.is_empty())
        .all(|term| {
            let (k, v) = term.split_once('=').unwrap_or((term, ""));
            let v = v.trim_start_matches('=');
            labels.and_then(|l| l.get(k)).is_some_and(|have| have == v)
        })
}

fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

pub(crate) fn stamp(meta: &mut Value, rv: u64) {
    meta["resourceVersion"] = Value::String(rv.to_string());
}

impl World {
    /// An empty cluster whose registry holds `images`.
    pub fn new(images: Vec<String>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            changes: broadcast::channel(4096).0,
            images: images.iter().map(|i| tagged(i)).collect(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn known(&self, image: &str) -> bool {
        self.images.contains(&tagged(image))
    }

    pub(crate) fn record(&self, state: &mut State, kind: &'static str, pod: &mut Pod) {
        state.rv += 1;
        pod.metadata.resource_version = Some(state.rv.to_string());
        let change = Change {
            rv: state.rv,
            kind,
            pod: pod.clone(),
        };
        if state.history.len() == HISTORY {
            state.history.pop_front();
        }
        state.history.push_back(change.clone());
        let _ = self.changes.send(change);
    }

    /// One kubelet step for every pod.
    pub fn tick(&self) {
        let mut state = self.lock();
        let keys: Vec<(String, String)> = state.pods.keys().cloned().collect();
        for key in keys {
            let Some((mut pod, mut run)) = state.pods.remove(&key) else {
                continue;
            };
            let changed = run.advance(&mut pod, &|i| self.known(i));
            if run.deleting && run.ended(&pod) {
                self.record(&mut state, "DELETED", &mut pod);
                continue;
            }
            if changed {
                self.record(&mut state, "MODIFIED", &mut pod);
            }
            state.pods.insert(key, (pod, run));
        }
    }

    /// The namespaces.
    pub fn namespaces(&self) -> Namespaces<'_> {
        Namespaces(self)
    }

    /// The Services.
    pub fn services(&self) -> Objects<'_> {
        Objects {
            world: self,
            plural: "services",
        }
    }

    /// The Secrets.
    pub fn secrets(&self) -> Objects<'_> {
        Objects {
            world: self,
            plural: "secrets",
        }
    }

    /// The current resource version.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Creates a pod (its status is the kubelet's).
    pub fn create_pod(&self, ns: &str, mut pod: Pod) -> Result<Pod, Failure> {
        let name = pod
            .metadata
            .name
            .clone()
            .ok_or_else(|| Failure::Invalid("metadata.name: Required value".into()))?;
        let mut state = self.lock();
        if !state.namespaces.contains_key(ns) {
            return Err(Failure::NotFound(format!("namespaces \"{ns}\" not found")));
        }
        let key = (ns.to_string(), name.clone());
        if state.pods.contains_key(&key) {
            return Err(Failure::AlreadyExists(format!(
                "pods \"{name}\" already exists"
            )));
        }
        pod.metadata.namespace = Some(ns.to_string());
        pod.metadata.uid = Some(format!("uid-{}-{}", state.rv + 1, name));
        pod.metadata.creation_timestamp = Some(now());
        pod.status = None;
        self.record(&mut state, "ADDED", &mut pod);
        state.pods.insert(key, (pod.clone(), PodRun::default()));
        Ok(pod)
    }

    /// A pod.
    pub fn pod(&self, ns: &str, name: &str) -> Result<Pod, Failure> {
        self.lock()
            .pods
            .get(&(ns.to_string(), name.to_string()))
            .map(|(p, _)| p.clone())
            .ok_or_else(|| Failure::NotFound(format!("pods \"{name}\" not found")))
    }

    /// Pods (in `ns`, or everywhere) matching a label selector, and the resource version.
    pub fn pods(&self, ns: Option<&str>, selector: Option<&str>) -> (Vec<Pod>, u64) {
        let state = self.lock();
        let pods = state
            .pods
            .iter()
            .filter(|((n, _), _)| ns.is_none_or(|ns| ns == n))
            .filter(|(_, (p, _))| selects(selector, p.metadata.labels.as_ref()))
            .map(|(_, (p, _))| p.clone())
            .collect();
        (pods, state.rv)
    }

    /// Applies a JSON merge patch to a pod.
    pub fn patch_pod(&self, ns: &str, name: &str, patch: &Value) -> Result<Pod, Failure> {
        let mut state = self.lock();
        let key = (ns.to_string(), name.to_string());
        let (pod, run) = state
            .pods
            .remove(&key)
            .ok_or_else(|| Failure::NotFound(format!("pods \"{name}\" not found")))?;
        let mut value = serde_json::to_value(&pod).unwrap_or(Value::Null);
        merge(&mut value, patch);
        let mut patched: Pod = match serde_json::from_value(value) {
            Ok(p) => p,
            Err(e) => {
                state.pods.insert(key, (pod, run));
                return Err(Failure::Invalid(e.to_string()));
            }
        };
        self.record(&mut state, "MODIFIED", &mut patched);
        state.pods.insert(key, (patched.clone(), run));
        Ok(patched)
    }

    /// Deletes a pod: at once with a zero grace period, else once its containers stopped.
    pub fn delete_pod(&self, ns: &str, name: &str, grace: Option<i64>) -> Result<Pod, Failure> {
        let mut state = self.lock();
        let key = (ns.to_string(), name.to_string());
        let (mut pod, mut run) = state
            .pods
            .remove(&key)
            .ok_or_else(|| Failure::NotFound(format!("pods \"{name}\" not found")))?;
        let grace = grace.or_else(|| pod.spec.as_ref()?.termination_grace_period_seconds);
        if grace == Some(0) || run.ended(&pod) {
            self.record(&mut state, "DELETED", &mut pod);
            return Ok(pod);
        }
        pod.metadata.deletion_timestamp = Some(now());
        pod.metadata.deletion_grace_period_seconds = grace;
        run.deleting = true;
        run.stop();
        self.record(&mut state, "MODIFIED", &mut pod);
        state.pods.insert(key, (pod.clone(), run));
        Ok(pod)
    }

    /// The last `tail` lines a pod's container wrote, each after the RFC 3339 time it was
    /// written when `timestamps` (as the kubelet's `?timestamps=true`).
    pub fn logs(
        &self,
        ns: &str,
        name: &str,
        container: &str,
        tail: Option<usize>,
        timestamps: bool,
    ) -> Result<String, Failure> {
        let state = self.lock();
        let (_, run) = state
            .pods
            .get(&(ns.to_string(), name.to_string()))
            .ok_or_else(|| Failure::NotFound(format!("pods \"{name}\" not found")))?;
        let lines = run.logs.get(container).cloned().unwrap_or_default();
        let from = tail.map_or(0, |t| lines.len().saturating_sub(t));
        Ok(lines[from..]
            .iter()
            .map(|(at, l)| match timestamps {
                true => format!("{at} {l}\n"),
                false => format!("{l}\n"),
            })
            .collect())
    }

    /// Changes after `since` matching `selector`, and a receiver for the ones to come (taken
    /// together, so none is missed); `Gone` when `since` is older than the history.
    pub fn watch(
        &self,
        since: u64,
        selector: Option<&str>,
    ) -> Result<(Vec<Change>, broadcast::Receiver<Change>), Failure> {
        let state = self.lock();
        let oldest = state.history.front().map_or(state.rv, |c| c.rv);
        if state.history.len() == HISTORY && since + 1 < oldest {
            return Err(Failure::Gone);
        }
        let past = state
            .history
            .iter()
            .filter(|c| c.rv > since && selects(selector, c.pod.metadata.labels.as_ref()))
            .cloned()
            .collect();
        Ok((past, self.changes.subscribe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_every_term() {
        let labels = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "2".into())]);
        assert!(selects(None, Some(&labels)));
        assert!(selects(Some("a=1"), Some(&labels)));
        assert!(selects(Some("a=1,b==2"), Some(&labels)));
        assert!(!selects(Some("a=1,b=3"), Some(&labels)));
        assert!(!selects(Some("c=1"), None));
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut v = serde_json::json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge(
            &mut v,
            &serde_json::json!({"a": {"b": null, "e": 4}, "d": [1]}),
        );
        assert_eq!(v, serde_json::json!({"a": {"c": 2, "e": 4}, "d": [1]}));
    }

    #[test]
    fn images_without_a_tag_are_latest() {
        let w = World::new(vec!["busybox".into(), "kecs-test/busybox:1".into()]);
        assert!(w.known("busybox:latest"));
        assert!(w.known("busybox"));
        assert!(w.known("kecs-test/busybox:1"));
        assert!(!w.known("kecs-test/busybox"));
    }
}
