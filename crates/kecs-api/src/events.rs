//! The event bus adapter and `GET /ws/events`: every state change the domain publishes goes to
//! a broadcast channel that each WebSocket client reads at its own pace.
//!
//! A client picks what it wants by query string (`?cluster=&service=&detail-type=`, names or
//! ARNs, detail types comma-separated) or later by a text message
//! `{"action":"subscribe","cluster":...,"service":...,"detailTypes":[...]}`. A client that falls
//! more than [`BUFFERED_EVENTS`] behind is told how many it missed (`{"kecs":"lagged",...}`);
//! one that stops reading for [`SEND_TIMEOUT`] is dropped. Publishing never waits for anyone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::Message;
use futures::StreamExt;
use kecs_domain::ports::events::{Event, EventBus};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

use crate::metrics::Metrics;
use crate::AppState;

/// Events kept for a client that is behind before it is told it lagged.
pub const BUFFERED_EVENTS: usize = 4096;
/// The most WebSocket clients at once; more get HTTP 503.
pub const MAX_CLIENTS: usize = 256;
/// A client that does not take an event within this time is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// An event and its JSON, encoded once for every client.
#[derive(Debug)]
pub struct Published {
    event: Event,
    json: String,
}

/// The bus: publishes to every connected client and counts task state transitions.
#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<Arc<Published>>,
    clients: Arc<AtomicUsize>,
    metrics: Metrics,
}

impl EventHub {
    /// A hub counting into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self {
            sender: broadcast::channel(BUFFERED_EVENTS).0,
            clients: Arc::new(AtomicUsize::new(0)),
            metrics,
        }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }

    /// A place for one more client, unless [`MAX_CLIENTS`] are connected.
    fn admit(&self) -> Option<ClientSlot> {
        let mut now = self.clients.load(Ordering::Relaxed);
        loop {
            if now >= MAX_CLIENTS {
                return None;
            }
            match self.clients.compare_exchange_weak(
                now,
                now + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.metrics.set_websocket_clients(now + 1);
                    return Some(ClientSlot(self.clone()));
                }
                Err(seen) => now = seen,
            }
        }
    }
}

impl EventBus for EventHub {
    fn publish(&self, events: &[Event]) {
        for event in events {
            if let Some((from, to)) = &event.transition {
                self.metrics.count_task_transition(from, to);
            }
            if self.sender.receiver_count() == 0 {
                continue; // nobody listens: no need to encode
            }
            let json = serde_json::to_string(event).unwrap_or_default();
            // Sending fails only when nobody listens, which is fine.
            let _ = self.sender.send(Arc::new(Published {
                event: event.clone(),
                json,
            }));
        }
    }
}

/// One connected client; frees its place when dropped.
struct ClientSlot(EventHub);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let left = self.0.clients.fetch_sub(1, Ordering::AcqRel) - 1;
        self.0.metrics.set_websocket_clients(left);
    }
}

/// Which events a client wants; empty members match everything.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct Filter {
    /// A cluster name or ARN.
    #[serde(default)]
    pub cluster: Option<String>,
    /// A service name or ARN.
    #[serde(default)]
    pub service: Option<String>,
    /// Detail types (`ECS Task State Change`, ...).
    #[serde(default, rename = "detailTypes", alias = "detail-type")]
    pub detail_types: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct FilterQuery {
    cluster: Option<String>,
    service: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
}

#[derive(Deserialize)]
struct Subscribe {
    action: String,
    #[serde(flatten)]
    filter: Filter,
}

/// `arn` names `wanted` (an ARN, or the last part of one).
fn names(arn: Option<&str>, wanted: &str) -> bool {
    arn.is_some_and(|arn| arn == wanted || arn.rsplit('/').next() == Some(wanted))
}

impl Filter {
    fn from_query(q: FilterQuery) -> Self {
        let detail_types = q
            .detail_type
            .iter()
            .flat_map(|d| d.split(','))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect();
        Self {
            cluster: q.cluster.filter(|c| !c.is_empty()),
            service: q.service.filter(|s| !s.is_empty()),
            detail_types,
        }
    }

    /// Whether `event` passes.
    pub fn matches(&self, event: &Event) -> bool {
        let cluster = self
            .cluster
            .as_deref()
            .is_none_or(|c| names(event.cluster_arn.as_deref(), c));
        let service = self
            .service
            .as_deref()
            .is_none_or(|s| names(event.service_arn.as_deref(), s));
        let detail_type = self.detail_types.is_empty()
            || self.detail_types.iter().any(|d| d == event.detail_type);
        cluster && service && detail_type
    }
}

/// `GET /ws/events`.
pub(crate) async fn ws_events(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let Some(slot) = state.events.admit() else {
        return Ok(HttpResponse::ServiceUnavailable().json(json!({
            "error": format!("too many event clients (at most {MAX_CLIENTS})")
        })));
    };
    let (response, session, messages) = actix_ws::handle(&req, body)?;
    let receiver = state.events.subscribe();
    let filter = Filter::from_query(query.into_inner());
    actix_web::rt::spawn(stream_events(slot, session, messages, receiver, filter));
    Ok(response)
}

async fn stream_events(
    _slot: ClientSlot,
    mut session: actix_ws::Session,
    mut messages: actix_ws::MessageStream,
    mut receiver: broadcast::Receiver<Arc<Published>>,
    mut filter: Filter,
) {
    loop {
        let outgoing = tokio::select! {
            message = messages.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<Subscribe>(&text) {
                        Ok(s) if s.action == "subscribe" => {
                            filter = s.filter;
                            json!({"kecs": "subscribed", "cluster": filter.cluster,
                                "service": filter.service, "detailTypes": filter.detail_types})
                        }
                        _ => json!({"kecs": "error", "message":
                            "expected {\"action\":\"subscribe\",\"cluster\":...,\"service\":...,\"detailTypes\":[...]}"}),
                    }
                    .to_string()
                }
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        break;
                    }
                    continue;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => continue,
            },
            next = next_outgoing(&mut receiver, &filter) => match next {
                Some(message) => message,
                None => break,
            },
        };
        match tokio::time::timeout(SEND_TIMEOUT, session.text(outgoing)).await {
            Ok(Ok(())) => {}
            // Closed by the client, or too slow to take events: drop it.
            _ => break,
        }
    }
    let _ = session.close(None).await;
}

/// The next message for a client: an event its filter passes, or a notice that it fell behind
/// and missed some; `None` once the hub is gone.
async fn next_outgoing(
    receiver: &mut broadcast::Receiver<Arc<Published>>,
    filter: &Filter,
) -> Option<String> {
    loop {
        match receiver.recv().await {
            Ok(p) if filter.matches(&p.event) => return Some(p.json.clone()),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                return Some(json!({"kecs": "lagged", "missed": missed}).to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(cluster: &str, service: Option<&str>, detail_type: &'static str) -> Event {
        Event {
            version: "0",
            id: "1".into(),
            detail_type,
            source: "aws.ecs",
            account: "1".into(),
            time: "t".into(),
            region: "r".into(),
            resources: vec![],
            detail: serde_json::Value::Null,
            cluster_arn: Some(format!("arn:aws:ecs:r:1:cluster/{cluster}")),
            service_arn: service.map(|s| format!("arn:aws:ecs:r:1:service/{cluster}/{s}")),
            transition: None,
        }
    }

    #[test]
    fn filters_match_names_arns_and_detail_types() {
        let task = "ECS Task State Change";
        let e = event("prod", Some("web"), task);
        assert!(Filter::default().matches(&e));
        let by_name = Filter::from_query(FilterQuery {
            cluster: Some("prod".into()),
            service: Some("web".into()),
            detail_type: Some(format!("ECS Service Action, {task}")),
        });
        assert!(by_name.matches(&e));
        let by_arn = Filter {
            cluster: Some("arn:aws:ecs:r:1:cluster/prod".into()),
            ..Filter::default()
        };
        assert!(by_arn.matches(&e));
        assert!(!by_arn.matches(&event("dev", Some("web"), task)));
        let other_service = Filter {
            service: Some("api".into()),
            ..Filter::default()
        };
        assert!(!other_service.matches(&e));
        assert!(!other_service.matches(&event("prod", None, task)));
        let only_actions = Filter {
            detail_types: vec!["ECS Service Action".into()],
            ..Filter::default()
        };
        assert!(!only_actions.matches(&e));
    }

    #[test]
    fn a_subscribe_message_replaces_the_filter() {
        let s: Subscribe = serde_json::from_str(
            r#"{"action":"subscribe","cluster":"c","detailTypes":["ECS Service Action"]}"#,
        )
        .unwrap();
        assert_eq!(s.action, "subscribe");
        assert_eq!(s.filter.cluster.as_deref(), Some("c"));
        assert_eq!(s.filter.detail_types, vec!["ECS Service Action"]);
    }

    #[test]
    fn clients_beyond_the_bound_are_refused_and_slots_come_back() {
        let hub = EventHub::new(Metrics::new().unwrap());
        let slots: Vec<_> = (0..MAX_CLIENTS).map(|_| hub.admit().unwrap()).collect();
        assert!(hub.admit().is_none());
        drop(slots);
        assert!(hub.admit().is_some());
        assert!(String::from_utf8(hub.metrics.render())
            .unwrap()
            .contains("kecs_websocket_clients 0"));
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_told_what_it_missed_and_goes_on() {
        let hub = EventHub::new(Metrics::new().unwrap());
        let mut receiver = hub.subscribe();
        let events: Vec<Event> = (0..BUFFERED_EVENTS + 10)
            .map(|_| event("prod", None, "ECS Task State Change"))
            .collect();
        hub.publish(&events);
        let filter = Filter::default();
        let notice = next_outgoing(&mut receiver, &filter).await.unwrap();
        assert_eq!(notice, r#"{"kecs":"lagged","missed":10}"#);
        let next = next_outgoing(&mut receiver, &filter).await.unwrap();
        assert!(
            next.contains("\"detail-type\":\"ECS Task State Change\""),
            "{next}"
        );
        // Filtered-out events are skipped, not sent.
        let dev_only = Filter {
            cluster: Some("dev".into()),
            ..Filter::default()
        };
        hub.publish(&[event("dev", None, "ECS Service Action")]);
        let mut fresh = hub.subscribe();
        hub.publish(&[
            event("prod", None, "ECS Task State Change"),
            event("dev", None, "ECS Service Action"),
        ]);
        let passed = next_outgoing(&mut fresh, &dev_only).await.unwrap();
        assert!(passed.contains("ECS Service Action"), "{passed}");
    }
}
