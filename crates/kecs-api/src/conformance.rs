//! A record of every response (operation, status, body) as JSON lines, for the conformance
//! check against the botocore model (`tests/conformance/check.py`). Enabled only by the hidden
//! `KECS_CONFORMANCE_LOG` setting that the test harnesses pass.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// An append-only JSON-lines log of responses.
#[derive(Clone)]
pub struct ConformanceLog {
    file: Arc<Mutex<std::fs::File>>,
}

impl ConformanceLog {
    /// Opens (appends to) `path`.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Records one response; `service` is `Some("logs")` for CloudWatch Logs, `None` for ECS.
    pub fn record(&self, service: Option<&str>, operation: Option<&str>, status: u16, body: &[u8]) {
        let body: serde_json::Value =
            serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
        let mut line = serde_json::json!({"operation": operation, "status": status, "body": body});
        if let Some(service) = service {
            line["service"] = service.into();
        }
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "{line}");
        }
    }
}
