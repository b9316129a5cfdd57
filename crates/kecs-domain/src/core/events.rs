//! Which events a mutation causes ([`derive`]) and their release in commit order
//! ([`OrderedRelease`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use serde_json::Value;

use crate::model::{Cluster, Deployment, Service, Task, TaskDefinition};
use crate::ports::events::*;
use crate::state::{Mutation, State};

/// A write's place in the event order (see [`OrderedRelease::ticket`]).
pub(crate) struct Ticket<'r> {
    release: &'r OrderedRelease,
    number: Option<u64>,
}

impl Ticket<'_> {
    /// The write is finished: committed with `events`, or failed with none.
    pub(crate) fn finish(mut self, events: Vec<Event>) {
        if let Some(number) = self.number.take() {
            self.release.finish(number, events);
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(number) = self.number.take() {
            self.release.finish(number, vec![]);
        }
    }
}

/// Releases each write's events in ticket order once its commit is done: a write that
/// committed late holds back the events of the writes that took the lock after it.
pub(crate) struct OrderedRelease {
    bus: RwLock<Arc<dyn EventBus>>,
    inner: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    next_ticket: u64,
    next_release: u64,
    done: BTreeMap<u64, Vec<Event>>,
}

impl OrderedRelease {
    pub(crate) fn new(bus: Arc<dyn EventBus>) -> Self {
        Self {
            bus: RwLock::new(bus),
            inner: Mutex::new(Pending::default()),
        }
    }

    /// Sends what is released from now on to `bus`.
    pub(crate) fn set_bus(&self, bus: Arc<dyn EventBus>) {
        *self.bus.write().unwrap_or_else(|e| e.into_inner()) = bus;
    }

    /// A place in the order; taken under the state's write lock. Dropped unfinished (the
    /// request was cancelled before its commit answered), it releases its place with no events,
    /// so it never holds back the writes after it.
    pub(crate) fn ticket(&self) -> Ticket<'_> {
        let mut p = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        p.next_ticket += 1;
        Ticket {
            release: self,
            number: Some(p.next_ticket - 1),
        }
    }

    /// The write holding ticket `number` is finished (committed with `events`, or failed with
    /// none).
    fn finish(&self, number: u64, events: Vec<Event>) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let p = &mut *guard;
        p.done.insert(number, events);
        while let Some(events) = p.done.remove(&p.next_release) {
            p.next_release += 1;
            if !events.is_empty() {
                self.bus
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .publish(&events);
            }
        }
    }
}

/// The events `m` causes when applied to `state`, at `now` (epoch seconds).
pub fn derive(state: &State, m: &Mutation, now: f64) -> Vec<Event> {
    match m {
        Mutation::PutTask(t) => {
            let arn = t.task.task_arn.as_deref().unwrap_or_default();
            let old = state.tasks.get(arn);
            task_change(old.as_ref().map(|o| &o.task), &t.task, now)
                .into_iter()
                .collect()
        }
        Mutation::PutService(s) => {
            let arn = s.service.service_arn.as_deref().unwrap_or_default();
            let old = state.services.get(arn);
            service_changes(old.as_ref().map(|o| &o.service), &s.service, now)
        }
        Mutation::PutCluster(c) | Mutation::RetireCluster(c, _) => cluster_change(
            state
                .clusters
                .get(c.cluster_arn.as_deref().unwrap_or_default()),
            c,
            now,
        )
        .into_iter()
        .collect(),
        Mutation::PutTaskDefinition(td) => {
            let arn = td.task_definition_arn.as_deref().unwrap_or_default();
            task_definition_change(state.task_definitions.get(arn), td, now)
                .into_iter()
                .collect()
        }
        _ => vec![],
    }
}

fn event(detail_type: &'static str, arn: &str, now: f64, detail: Value) -> Event {
    let (region, account) = crate::arn::parse(arn)
        .map(|a| (a.region.to_string(), a.account.to_string()))
        .unwrap_or_default();
    Event {
        version: "0",
        // Given by the core when the write commits (`Core::write`), from the ID port.
        id: String::new(),
        detail_type,
        source: "aws.ecs",
        account,
        time: iso8601(now),
        region,
        resources: vec![arn.to_string()],
        detail,
        cluster_arn: None,
        service_arn: None,
        transition: None,
    }
}

/// A task's change: its status, desired status or a container's status moved.
fn task_change(old: Option<&Task>, new: &Task, now: f64) -> Option<Event> {
    let containers = |t: &Task| -> Vec<Option<String>> {
        t.containers
            .iter()
            .flatten()
            .map(|c| c.last_status.clone())
            .collect()
    };
    if let Some(old) = old {
        if old.last_status == new.last_status
            && old.desired_status == new.desired_status
            && containers(old) == containers(new)
        {
            return None;
        }
    }
    let arn = new.task_arn.as_deref().unwrap_or_default();
    let mut detail = json_with_iso_times(new);
    if let Value::Object(map) = &mut detail {
        map.insert("updatedAt".into(), Value::String(iso8601(now)));
    }
    let mut e = event(TASK_STATE_CHANGE, arn, now, detail);
    e.cluster_arn = new.cluster_arn.clone();
    e.service_arn = crate::state::service_of(new);
    let before = old.and_then(|o| o.last_status.clone());
    if before != new.last_status {
        e.transition = Some((
            before.unwrap_or_else(|| "NONE".into()),
            new.last_status.clone().unwrap_or_default(),
        ));
    }
    Some(e)
}

/// A service's deployments' changes of rollout state, then its actions (steady state): a
/// deployment completes as the service reaches its steady state.
fn service_changes(old: Option<&Service>, new: &Service, now: f64) -> Vec<Event> {
    let arn = new.service_arn.as_deref().unwrap_or_default();
    let mut out = vec![];
    let before = |id: &str| -> Option<&Deployment> {
        old.into_iter()
            .flat_map(|o| o.deployments.iter().flatten())
            .find(|d| d.id.as_deref() == Some(id))
    };
    for d in new.deployments.iter().flatten() {
        let Some(id) = d.id.as_deref() else { continue };
        let Some(state) = d.rollout_state else {
            continue;
        };
        if before(id).and_then(|o| o.rollout_state) == Some(state) {
            continue;
        }
        let (event_type, name) = match state.as_str() {
            "COMPLETED" => ("INFO", "SERVICE_DEPLOYMENT_COMPLETED"),
            "FAILED" => ("ERROR", "SERVICE_DEPLOYMENT_FAILED"),
            _ => ("INFO", "SERVICE_DEPLOYMENT_IN_PROGRESS"),
        };
        let reason = d
            .rollout_state_reason
            .clone()
            .unwrap_or_else(|| format!("ECS deployment {id} {}.", state.as_str().to_lowercase()));
        let detail = serde_json::json!({
            "eventType": event_type,
            "eventName": name,
            "deploymentId": id,
            "updatedAt": iso8601(now),
            "reason": reason,
        });
        out.push(for_service(
            event(DEPLOYMENT_STATE_CHANGE, arn, now, detail),
            new,
        ));
    }
    let seen: Vec<&str> = old
        .into_iter()
        .flat_map(|o| o.events.iter().flatten())
        .filter_map(|e| e.id.as_deref())
        .collect();
    // Service events are newest first; report the new ones oldest first.
    for e in new.events.iter().flatten().rev() {
        let (Some(id), Some(message)) = (e.id.as_deref(), e.message.as_deref()) else {
            continue;
        };
        if seen.contains(&id) {
            continue;
        }
        let Some((event_type, name)) = action_of(message) else {
            continue;
        };
        let detail = serde_json::json!({
            "eventType": event_type,
            "eventName": name,
            "clusterArn": new.cluster_arn,
            "createdAt": iso8601(e.created_at.unwrap_or(now)),
        });
        out.push(for_service(event(SERVICE_ACTION, arn, now, detail), new));
    }
    out
}

/// The `ECS Service Action` a service event message stands for, if any.
fn action_of(message: &str) -> Option<(&'static str, &'static str)> {
    if message.ends_with("has reached a steady state.") {
        Some(("INFO", "SERVICE_STEADY_STATE"))
    } else if message.contains("is unable to consistently start tasks successfully") {
        Some(("WARN", "SERVICE_TASK_START_IMPAIRED"))
    } else {
        None
    }
}

fn for_service(mut e: Event, service: &Service) -> Event {
    e.cluster_arn = service.cluster_arn.clone();
    e.service_arn = service.service_arn.clone();
    e
}

fn cluster_change(old: Option<&Cluster>, new: &Cluster, now: f64) -> Option<Event> {
    if old.is_some_and(|o| o.status == new.status) {
        return None;
    }
    let arn = new.cluster_arn.as_deref().unwrap_or_default();
    let detail = serde_json::json!({
        "clusterArn": arn,
        "clusterName": new.cluster_name,
        "status": new.status,
        "updatedAt": iso8601(now),
    });
    let mut e = event(CLUSTER_STATE_CHANGE, arn, now, detail);
    e.cluster_arn = new.cluster_arn.clone();
    Some(e)
}

fn task_definition_change(
    old: Option<&TaskDefinition>,
    new: &TaskDefinition,
    now: f64,
) -> Option<Event> {
    if old.is_some_and(|o| o.status == new.status) {
        return None;
    }
    let arn = new.task_definition_arn.as_deref().unwrap_or_default();
    let detail = serde_json::json!({
        "taskDefinitionArn": arn,
        "family": new.family,
        "revision": new.revision,
        "status": new.status,
        "updatedAt": iso8601(now),
    });
    Some(event(TASK_DEFINITION_STATE_CHANGE, arn, now, detail))
}

/// Members ECS reports as timestamps; EventBridge sends them as ISO 8601 strings.
const TIMESTAMP_MEMBERS: &[&str] = &[
    "connectivityAt",
    "createdAt",
    "executionStoppedAt",
    "pullStartedAt",
    "pullStoppedAt",
    "startedAt",
    "stoppedAt",
    "stoppingAt",
    "updatedAt",
];

/// `value` as JSON with its epoch-second timestamps written as ISO 8601.
fn json_with_iso_times<T: Serialize>(value: &T) -> Value {
    let mut v = serde_json::to_value(value).unwrap_or(Value::Null);
    isoify(&mut v);
    v
}

fn isoify(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, member) in map.iter_mut() {
                match member {
                    Value::Number(n) if TIMESTAMP_MEMBERS.contains(&k.as_str()) => {
                        *member = Value::String(iso8601(n.as_f64().unwrap_or_default()));
                    }
                    _ => isoify(member),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(isoify),
        _ => {}
    }
}

/// Epoch seconds as ISO 8601 UTC with milliseconds (`2020-01-23T17:57:34.402Z`).
pub fn iso8601(epoch_seconds: f64) -> String {
    let millis = (epoch_seconds * 1000.0).round() as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Container;
    use crate::state::StoredTask;

    #[test]
    fn iso8601_matches_known_instants() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_579_802_254.402), "2020-01-23T17:57:34.402Z");
        assert_eq!(iso8601(951_782_400.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(4_102_444_799.999), "2099-12-31T23:59:59.999Z");
    }

    fn task(last: &str, desired: &str, container: &str) -> Task {
        Task {
            task_arn: Some("arn:aws:ecs:eu-west-1:123:task/c/abc".into()),
            cluster_arn: Some("arn:aws:ecs:eu-west-1:123:cluster/c".into()),
            group: Some("service:web".into()),
            last_status: Some(last.into()),
            desired_status: Some(desired.into()),
            created_at: Some(1_579_802_254.402),
            containers: Some(vec![Container {
                name: Some("app".into()),
                last_status: Some(container.into()),
                ..Container::default()
            }]),
            ..Task::default()
        }
    }

    #[test]
    fn a_task_change_is_an_eventbridge_task_state_change() {
        let state = State::default();
        let new = task("PENDING", "RUNNING", "PENDING");
        let m = Mutation::PutTask(StoredTask {
            task: new,
            client_token: None,
            protected_until: None,
        });
        let events = derive(&state, &m, 1_579_802_255.0);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["detail-type"], "ECS Task State Change");
        assert_eq!(json["source"], "aws.ecs");
        assert_eq!(json["region"], "eu-west-1");
        assert_eq!(json["account"], "123");
        assert_eq!(json["time"], "2020-01-23T17:57:35.000Z");
        assert_eq!(json["resources"][0], "arn:aws:ecs:eu-west-1:123:task/c/abc");
        assert_eq!(json["detail"]["createdAt"], "2020-01-23T17:57:34.402Z");
        assert_eq!(json["detail"]["lastStatus"], "PENDING");
        assert!(json.get("transition").is_none());
        assert_eq!(
            e.transition,
            Some(("NONE".to_string(), "PENDING".to_string()))
        );
        assert_eq!(
            e.service_arn.as_deref(),
            Some("arn:aws:ecs:eu-west-1:123:service/c/web")
        );
    }

    #[test]
    fn only_status_changes_make_task_events() {
        let old = task("RUNNING", "RUNNING", "RUNNING");
        let mut same = old.clone();
        same.version = Some(9);
        assert!(task_change(Some(&old), &same, 1.0).is_none());
        let stopping = task("RUNNING", "STOPPED", "RUNNING");
        let e = task_change(Some(&old), &stopping, 1.0).unwrap();
        assert_eq!(e.transition, None);
        let container_stopped = task("RUNNING", "RUNNING", "STOPPED");
        assert!(task_change(Some(&old), &container_stopped, 1.0).is_some());
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);
    impl EventBus for Recorder {
        fn publish(&self, events: &[Event]) {
            let mut seen = self.0.lock().unwrap();
            seen.extend(events.iter().map(|e| e.id.clone()));
        }
    }

    fn named(id: &str) -> Event {
        let mut e = event(
            CLUSTER_STATE_CHANGE,
            "arn:aws:ecs:r:1:cluster/c",
            0.0,
            Value::Null,
        );
        e.id = id.into();
        e
    }

    #[test]
    fn events_are_released_in_lock_order_once_committed() {
        let recorder = Arc::new(Recorder::default());
        let release = OrderedRelease::new(recorder.clone());
        let (first, second, third) = (release.ticket(), release.ticket(), release.ticket());
        third.finish(vec![named("c")]);
        second.finish(vec![named("b")]);
        assert!(
            recorder.0.lock().unwrap().is_empty(),
            "held back by the first"
        );
        // The first write failed: it announces nothing but lets the others through.
        first.finish(vec![]);
        assert_eq!(*recorder.0.lock().unwrap(), vec!["b", "c"]);
    }

    #[test]
    fn a_dropped_ticket_releases_its_place() {
        let recorder = Arc::new(Recorder::default());
        let release = OrderedRelease::new(recorder.clone());
        let (cancelled, later) = (release.ticket(), release.ticket());
        later.finish(vec![named("later")]);
        assert!(recorder.0.lock().unwrap().is_empty());
        // The request holding the first place was cancelled before its commit answered.
        drop(cancelled);
        assert_eq!(*recorder.0.lock().unwrap(), vec!["later"]);
    }

    #[test]
    fn deployments_and_steady_states_are_service_events() {
        use crate::model::{DeploymentRolloutState, ServiceEvent};
        let deployment = |state| Deployment {
            id: Some("ecs-svc/1".into()),
            rollout_state: Some(state),
            ..Deployment::default()
        };
        let created = Service {
            service_arn: Some("arn:aws:ecs:r:1:service/c/web".into()),
            cluster_arn: Some("arn:aws:ecs:r:1:cluster/c".into()),
            deployments: Some(vec![deployment(DeploymentRolloutState::InProgress)]),
            ..Service::default()
        };
        let events = service_changes(None, &created, 0.0);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail_type, DEPLOYMENT_STATE_CHANGE);
        assert_eq!(
            events[0].detail["eventName"],
            "SERVICE_DEPLOYMENT_IN_PROGRESS"
        );
        assert_eq!(events[0].detail["deploymentId"], "ecs-svc/1");
        assert!(service_changes(Some(&created), &created, 1.0).is_empty());

        let mut steady = created.clone();
        steady.deployments = Some(vec![deployment(DeploymentRolloutState::Completed)]);
        steady.events = Some(vec![ServiceEvent {
            id: Some("e1".into()),
            created_at: Some(0.0),
            message: Some("(service web) has reached a steady state.".into()),
        }]);
        let names: Vec<_> = service_changes(Some(&created), &steady, 2.0)
            .into_iter()
            .map(|e| (e.detail_type, e.detail["eventName"].clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                (
                    DEPLOYMENT_STATE_CHANGE,
                    Value::from("SERVICE_DEPLOYMENT_COMPLETED")
                ),
                (SERVICE_ACTION, Value::from("SERVICE_STEADY_STATE")),
            ]
        );
        // The same service event is not announced twice.
        assert!(service_changes(Some(&steady), &steady, 3.0).is_empty());
    }
}
