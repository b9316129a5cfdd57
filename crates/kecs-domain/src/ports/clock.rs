//! The clock port: ECS timestamps are epoch seconds.

/// A source of the current time, in fractional epoch seconds.
pub trait Clock: Send + Sync {
    /// Now, in epoch seconds.
    fn now(&self) -> f64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // Millisecond precision, as ECS reports.
        (d.as_millis() as f64) / 1000.0
    }
}
