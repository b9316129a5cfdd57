//! The clock port: ECS timestamps are epoch seconds, and the controllers wait through it.

use std::time::Duration;

/// A source of the current time, in fractional epoch seconds, and a timer.
#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    /// Now, in epoch seconds.
    fn now(&self) -> f64;

    /// Waits `d` (a controller looking again at containers it waits for).
    async fn sleep(&self, d: Duration);
}

/// The system clock; it sleeps on a timer that needs no async runtime (`futures-timer`), so
/// embedders can drive KECS on any executor.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> f64 {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // Millisecond precision, as ECS reports.
        (d.as_millis() as f64) / 1000.0
    }

    async fn sleep(&self, d: Duration) {
        futures_timer::Delay::new(d).await;
    }
}
