//! ExecuteCommand on Docker: `docker exec` attached to the command's stdin and output.

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::Docker;
use futures::{FutureExt, StreamExt, TryStreamExt};
use kecs_domain::model::Task;
use kecs_domain::ports::runtime::{ExecProcess, RuntimeError};
use tokio::io::AsyncWriteExt;

/// Starts `command` in the container `container` of `task` and attaches to it.
pub(super) async fn exec(
    docker: &Docker,
    task: &Task,
    container: &str,
    command: &[String],
    tty: bool,
) -> Result<ExecProcess, RuntimeError> {
    let id = task
        .containers
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(container))
        .and_then(|c| c.runtime_id.clone())
        .ok_or_else(|| {
            RuntimeError::engine(format!("the container {container} has not started"))
        })?;
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(tty),
        cmd: Some(command.to_vec()),
        ..ExecConfig::default()
    };
    let created = docker
        .create_exec(&id, config)
        .await
        .map_err(|e| RuntimeError::engine_with(format!("docker exec in {container} failed"), e))?;
    let options = StartExecOptions {
        detach: false,
        tty,
        output_capacity: None,
    };
    let started = docker
        .start_exec(&created.id, Some(options))
        .await
        .map_err(|e| RuntimeError::engine_with(format!("docker exec in {container} failed"), e))?;
    let StartExecResults::Attached { output, mut input } = started else {
        return Err(RuntimeError::engine("docker exec did not attach"));
    };
    let (stdin, mut lines) = futures::channel::mpsc::unbounded::<Vec<u8>>();
    tokio::spawn(async move {
        while let Some(bytes) = lines.next().await {
            if input.write_all(&bytes).await.is_err() {
                return;
            }
            let _ = input.flush().await;
        }
        // The client closed stdin (or left).
        let _ = input.shutdown().await;
    });
    let output = output
        .map_ok(|chunk| chunk.into_bytes().to_vec())
        .map_err(|e| RuntimeError::engine_with("reading docker exec's output failed", e))
        .boxed();
    let docker = docker.clone();
    let exec_id = created.id;
    let exit_code = async move {
        let inspected = docker
            .inspect_exec(&exec_id)
            .await
            .map_err(|e| RuntimeError::engine_with("inspecting docker exec failed", e))?;
        Ok(inspected.exit_code)
    }
    .boxed();
    Ok(ExecProcess {
        output,
        input: stdin,
        exit_code,
    })
}
