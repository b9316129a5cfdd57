//! `GET /_kecs/exec/{session}` on the API port: the stream of an ExecuteCommand session
//! (its `streamUrl`). The client shows the session's token (`?token=`, ExecuteCommand's
//! `tokenValue`) and may ask for no terminal (`?tty=false`). Framing, one WebSocket message at
//! a time: binary messages from the client are the command's stdin and the text message
//! `{"eof":true}` closes it; binary messages to the client are what the command writes, and the
//! last message, text, is `{"exitCode":N}` (or `{"error":"..."}`) before the close.

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::Message;
use futures::StreamExt;
use kecs_domain::ports::runtime::ExecProcess;
use serde::Deserialize;
use serde_json::json;

use crate::task_endpoints::status_of;
use crate::AppState;

/// The stream's query.
#[derive(Debug, Deserialize)]
pub(crate) struct ExecQuery {
    token: Option<String>,
    tty: Option<bool>,
}

pub(crate) async fn ws_exec(
    req: HttpRequest,
    body: web::Payload,
    session_id: web::Path<String>,
    query: web::Query<ExecQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let token = query.token.clone().unwrap_or_default();
    let tty = query.tty.unwrap_or(true);
    let process = match state.kecs.open_exec(&session_id, &token, tty).await {
        Ok(p) => p,
        Err(e) => {
            let body = json!({ "message": e.to_string() });
            return Ok(HttpResponse::build(status_of(&e)).json(body));
        }
    };
    let (response, session, messages) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(pump(process, session, messages));
    Ok(response)
}

/// Carries the client's input to the command and the command's output to the client until the
/// command ends (then its exit code) or the client leaves (then the command's stdin closes).
async fn pump(
    process: ExecProcess,
    mut session: actix_ws::Session,
    mut messages: actix_ws::MessageStream,
) {
    let ExecProcess {
        mut output,
        input,
        exit_code,
    } = process;
    let mut input = Some(input);
    let last = loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => {
                    if session.binary(bytes).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => break json!({ "error": e.to_string() }),
                None => break match exit_code.await {
                    Ok(code) => json!({ "exitCode": code }),
                    Err(e) => json!({ "error": e.to_string() }),
                },
            },
            message = messages.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Some(stdin) = &input {
                        // A command that closed its stdin takes no more: nothing to tell.
                        let _ = stdin.unbounded_send(bytes.to_vec());
                    }
                }
                Some(Ok(Message::Text(text))) if text.contains("\"eof\"") => input = None,
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    };
    let _ = session.text(last.to_string()).await;
    let _ = session.close(None).await;
}
