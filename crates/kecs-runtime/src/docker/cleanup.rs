//! What a removed task leaves on the engine: its containers and the volumes KECS made for it.

use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder};
use kecs_domain::ports::runtime::RuntimeError;

use super::{failed, is_status, label_filter, DockerRuntime, LABEL_INSTANCE, LABEL_TASK};

impl DockerRuntime {
    /// Removes every container of the task `task_arn`, running or not, and its volumes.
    pub(super) async fn remove_task_containers(&self, task_arn: &str) -> Result<(), RuntimeError> {
        for (_, id) in self.containers_of(task_arn).await? {
            let options = RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build();
            match self.docker.remove_container(&id, Some(options)).await {
                Ok(()) => {}
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(failed(format_args!("removing container {id}"), e)),
            }
        }
        let filters = label_filter(LABEL_TASK, task_arn);
        let options = ListVolumesOptionsBuilder::new().filters(&filters).build();
        let volumes = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| failed("listing volumes", e))?;
        for v in volumes.volumes.into_iter().flatten() {
            if v.labels.get(LABEL_INSTANCE) == Some(&self.instance) {
                let _ = self
                    .docker
                    .remove_volume(
                        &v.name,
                        None::<bollard::query_parameters::RemoveVolumeOptions>,
                    )
                    .await;
            }
        }
        Ok(())
    }
}
