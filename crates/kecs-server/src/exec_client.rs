//! `kecs exec <task> [--container c] -- cmd...`: a command in a task's container, interactive
//! when run from a terminal, through KECS's ExecuteCommand and the session stream it serves
//! (what `aws ecs execute-command` would need AWS's Session Manager plugin for).

use std::io::{IsTerminal, Write};

use awc::ws;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

/// `kecs exec`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// The task, by ID or ARN.
    pub task: String,
    /// The task's cluster (`default` when not given).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The container to run the command in (needed when the task has several).
    #[arg(long)]
    pub container: Option<String>,
    /// KECS's API address.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub endpoint_url: String,
    /// The command and its arguments, after `--` (`/bin/sh` when none is given).
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Why `kecs exec` could not run the command.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// KECS could not be reached, or the stream broke.
    #[error("{0}")]
    Connection(String),
    /// ExecuteCommand was refused.
    #[error("{code}: {message}")]
    Refused {
        /// The AWS error code.
        code: String,
        /// What KECS said.
        message: String,
    },
}

fn connection(what: &str, e: impl std::fmt::Display) -> ExecError {
    ExecError::Connection(format!("{what}: {e}"))
}

/// Restores the terminal's mode when dropped.
struct RawMode(bool);

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Asks KECS for a session; answers its stream URL and token.
async fn open_session(
    client: &awc::Client,
    args: &ExecArgs,
) -> Result<(String, String), ExecError> {
    let command = if args.command.is_empty() {
        "/bin/sh".to_string()
    } else {
        shell_words::join(&args.command)
    };
    let body = json!({
        "cluster": args.cluster,
        "task": args.task,
        "container": args.container,
        "command": command,
        "interactive": true,
    });
    let mut response = client
        .post(args.endpoint_url.as_str())
        .insert_header((
            "X-Amz-Target",
            "AmazonEC2ContainerServiceV20141113.ExecuteCommand",
        ))
        .insert_header(("Content-Type", "application/x-amz-json-1.1"))
        .send_json(&body)
        .await
        .map_err(|e| connection("calling ExecuteCommand", e))?;
    // The body is `application/x-amz-json-1.1`, which awc's `json()` does not take.
    let body = response
        .body()
        .await
        .map_err(|e| connection("reading ExecuteCommand's answer", e))?;
    let answer: Value = serde_json::from_slice(&body)
        .map_err(|e| connection("reading ExecuteCommand's answer", e))?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    if !response.status().is_success() {
        let code = text(&answer["__type"]);
        return Err(ExecError::Refused {
            code: code.rsplit('#').next().unwrap_or_default().to_string(),
            message: text(&answer["message"]),
        });
    }
    let session = &answer["session"];
    Ok((text(&session["streamUrl"]), text(&session["tokenValue"])))
}

/// Runs the command; answers its exit code.
pub async fn run(args: ExecArgs) -> Result<i32, ExecError> {
    let client = awc::Client::default();
    let (stream_url, token) = open_session(&client, &args).await?;
    let tty = std::io::stdin().is_terminal();
    let url = format!("{stream_url}?token={token}&tty={tty}");
    let (_, socket) = client
        .ws(url.as_str())
        .connect()
        .await
        .map_err(|e| connection("opening the session's stream", e))?;
    let (mut sink, mut frames) = socket.split();
    let _raw = RawMode(tty && crossterm::terminal::enable_raw_mode().is_ok());
    let mut stdin = tokio::io::stdin();
    let mut buffer = vec![0u8; 4096];
    let mut stdin_open = true;
    let mut stdout = std::io::stdout();
    loop {
        tokio::select! {
            read = stdin.read(&mut buffer), if stdin_open => {
                let message = match read {
                    Ok(0) | Err(_) => {
                        stdin_open = false;
                        ws::Message::Text(r#"{"eof":true}"#.into())
                    }
                    Ok(n) => ws::Message::Binary(buffer[..n].to_vec().into()),
                };
                sink.send(message).await.map_err(|e| connection("writing to the stream", e))?;
            }
            frame = frames.next() => match frame {
                Some(Ok(ws::Frame::Binary(bytes))) => {
                    stdout.write_all(&bytes).and_then(|()| stdout.flush())
                        .map_err(|e| connection("writing the output", e))?;
                }
                Some(Ok(ws::Frame::Text(text))) => {
                    let last: Value = serde_json::from_slice(&text).unwrap_or_default();
                    if let Some(code) = last["exitCode"].as_i64() {
                        return Ok(i32::try_from(code).unwrap_or(1));
                    }
                    return Err(ExecError::Connection(last["error"].as_str()
                        .unwrap_or("the session ended without an exit code").to_string()));
                }
                Some(Ok(ws::Frame::Ping(bytes))) => {
                    sink.send(ws::Message::Pong(bytes)).await
                        .map_err(|e| connection("writing to the stream", e))?;
                }
                Some(Ok(ws::Frame::Close(_))) | None => {
                    return Err(ExecError::Connection("the session closed without an exit code".into()))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(connection("reading the stream", e)),
            },
        }
    }
}
