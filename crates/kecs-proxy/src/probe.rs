//! The target group's health check a new target passes before it takes traffic: it accepts a
//! connection and, asked `GET /`, answers or stays open. A published port accepts connections
//! before the container listens (the engine's proxy does), then closes them: that fails.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the whole check may take.
const LIMIT: Duration = Duration::from_secs(2);
/// How long a target that says nothing must keep the connection open to pass.
const QUIET: Duration = Duration::from_millis(500);

/// Whether the target at `address` takes connections.
pub(crate) async fn answers(address: &str) -> bool {
    let check = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        stream
            .write_all(b"GET / HTTP/1.0\r\nUser-Agent: kecs-health-check\r\n\r\n")
            .await
            .ok()?;
        let mut first = [0u8; 1];
        Some(
            match tokio::time::timeout(QUIET, stream.read(&mut first)).await {
                Ok(Ok(n)) => n > 0,
                Ok(Err(_)) => false,
                Err(_) => true,
            },
        )
    };
    tokio::time::timeout(LIMIT, check)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
