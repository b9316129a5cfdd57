//! Background workers under supervision: a worker that ends or panics is logged, reported down
//! on `/ready`, and started again after a pause; never silently gone.

use std::future::Future;
use std::time::Duration;

use kecs_api::Workers;

/// How long a stopped worker stays down before it is started again.
pub const RESTART_DELAY: Duration = Duration::from_secs(1);

/// Aborts the worker's task when its supervisor goes (shutdown aborts the supervisor).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a worker's task ended.
fn why(ended: Result<(), tokio::task::JoinError>) -> String {
    match ended {
        Ok(()) => "it returned".into(),
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            format!("it panicked: {message}")
        }
        Err(e) => format!("it was cancelled: {e}"),
    }
}

/// Runs the worker `make` starts, as `name`, on the calling tokio runtime: reported up while it
/// runs; when it ends (workers loop forever) or panics, reported down with why, logged, and
/// started again after [`RESTART_DELAY`] (`restart_delay` in tests).
pub fn supervise<F, Fut>(
    name: &'static str,
    workers: Workers,
    restart_delay: Duration,
    make: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            workers.up(name);
            let mut task = AbortOnDrop(tokio::spawn(make()));
            let reason = why((&mut task.0).await);
            workers.down(name, reason.clone());
            tracing::error!(
                worker = name,
                reason = %reason,
                "a background worker stopped; starting it again"
            );
            tokio::time::sleep(restart_delay).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_worker_that_panics_is_reported_down_then_started_again() {
        let workers = Workers::default();
        let starts = Arc::new(AtomicUsize::new(0));
        let supervisor = supervise("flaky", workers.clone(), Duration::from_millis(200), {
            let starts = starts.clone();
            move || {
                let n = starts.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        panic!("first run fails");
                    }
                    std::future::pending::<()>().await
                }
            }
        });
        // Down, with why, during the restart delay.
        let mut seen_down = None;
        for _ in 0..100 {
            if let Some(why) = workers.down_now().get("flaky") {
                seen_down = Some(why.clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(seen_down.as_deref(), Some("it panicked: first run fails"));
        // Then up again, on a second start.
        for _ in 0..200 {
            if workers.down_now().is_empty() && starts.load(Ordering::SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(workers.down_now().is_empty(), "{:?}", workers.down_now());
        assert_eq!(starts.load(Ordering::SeqCst), 2);
        assert_eq!(workers.names(), ["flaky"]);
        supervisor.abort();
    }
}
