//! The host's background loops, each run under supervision: the domain's controllers, the
//! runtime watch, the services' resync and the retention sweeper.

use std::sync::Arc;

use futures::StreamExt;
use kecs_api::AppState;
use kecs_domain::ports::runtime::{ContainerRuntime, RuntimeEvent};
use kecs_domain::Kecs;
use tracing::Instrument;

use crate::supervise::{supervise, RESTART_DELAY};

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
                        let span = event_span(&event);
                        if let Err(e) = kecs.on_runtime_event(event.clone()).instrument(span).await {
                            tracing::error!(?event, error = %e, "recording a runtime event failed");
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "the runtime's event stream failed; subscribing again");
                        break;
                    }
                    None => break,
                },
                _ = resync.tick() => {
                    let span = tracing::info_span!(parent: None, "resync");
                    resync_runtime(runtime.as_ref(), &kecs).instrument(span).await
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// One look at what the runtime holds, reconciled with the state.
async fn resync_runtime(runtime: &dyn ContainerRuntime, kecs: &Kecs) {
    match runtime.inventory().await {
        Ok(observed) => {
            if let Err(e) = kecs.reconcile_with(&observed, false).await {
                tracing::error!(error = %e, "resync failed");
            }
        }
        Err(e) => tracing::warn!(error = %e, "listing KECS's containers failed"),
    }
}

/// The span a runtime event is recorded in (a trace of its own).
fn event_span(event: &RuntimeEvent) -> tracing::Span {
    match event {
        RuntimeEvent::Exited(exit) => tracing::info_span!(
            parent: None,
            "container exited",
            task = %exit.task_arn,
            container = %exit.container,
            exit_code = ?exit.exit_code
        ),
        RuntimeEvent::Health {
            task_arn,
            container,
            status,
        } => tracing::info_span!(
            parent: None,
            "container health",
            task = %task_arn,
            container = %container,
            health = ?status
        ),
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

/// Starts every background worker under supervision: the domain's queue-driven controllers
/// (task launcher, service scheduler, cluster cleanup), the runtime watch, the services' resync
/// and the retention sweeper. Each is reported on `/ready` and started again if it stops.
pub(crate) fn supervise_workers(
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
