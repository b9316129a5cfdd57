//! What a container agent reports about a task (SubmitTaskStateChange,
//! SubmitContainerStateChange, SubmitAttachmentStateChanges), applied to the task as the ECS
//! backend records it: statuses, exit codes, runtime IDs, bindings and attachment states.

use crate::model::{ContainerStateChange, Task, TaskStopCode};
use crate::rules::task_state::{
    is_stopped, mark_running, mark_stopped, record_exit, request_stop, set_status,
};
use crate::status::{HasLastStatus, TaskStatus};

/// A status the agent reports, checked.
pub fn status(value: &str) -> Result<TaskStatus, String> {
    TaskStatus::of(Some(value)).ok_or_else(|| format!("Invalid status '{value}'."))
}

/// Applies one container's report.
pub fn container(task: &mut Task, change: &ContainerStateChange) -> Result<(), String> {
    let name = change.container_name.as_deref().unwrap_or_default();
    let reported = change.status.as_deref().map(status).transpose()?;
    let Some(c) = task
        .containers
        .iter_mut()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name))
    else {
        return Err(format!("The task has no container named '{name}'."));
    };
    if let Some(id) = &change.runtime_id {
        c.runtime_id = Some(id.clone());
    }
    if let Some(digest) = &change.image_digest {
        c.image_digest = Some(digest.clone());
    }
    if let Some(bindings) = &change.network_bindings {
        c.network_bindings = Some(bindings.clone());
    }
    if let Some(s) = reported.filter(|s| *s != TaskStatus::Stopped) {
        c.set_last(s);
    }
    match reported {
        Some(TaskStatus::Stopped) => {
            record_exit(task, name, change.exit_code, change.reason.as_deref())
        }
        // The task's own status stays; its version counts the change.
        _ => {
            let current = task.last().unwrap_or(TaskStatus::Provisioning);
            set_status(task, current);
        }
    }
    Ok(())
}

/// Applies the task's own status, with the times the agent gives (epoch seconds; `now` when it
/// gives none). A stopped task stays as it is.
pub fn task_status(
    task: &mut Task,
    reported: TaskStatus,
    reason: Option<&str>,
    stopped_at: Option<f64>,
    now: f64,
) {
    if is_stopped(task) {
        return;
    }
    match reported {
        TaskStatus::Running => mark_running(task, now),
        TaskStatus::Stopped => {
            let reason = reason.unwrap_or("Essential container in task exited");
            request_stop(task, TaskStopCode::EssentialContainerExited, reason, now);
            mark_stopped(task, stopped_at.unwrap_or(now));
        }
        other => set_status(task, other),
    }
}

/// The ID an attachment ARN ends with (`arn:...:attachment/<id>`).
fn attachment_id(attachment_arn: &str) -> &str {
    attachment_arn.rsplit('/').next().unwrap_or_default()
}

/// Whether the task has the attachment `attachment_arn`.
pub fn has_attachment(task: &Task, attachment_arn: &str) -> bool {
    let id = attachment_id(attachment_arn);
    task.attachments
        .iter()
        .flatten()
        .any(|a| a.id.as_deref() == Some(id))
}

/// Sets the status of the task's attachment `attachment_arn`; false when it has none by that
/// ARN's ID.
pub fn attachment(task: &mut Task, attachment_arn: &str, status: &str) -> bool {
    let id = attachment_id(attachment_arn);
    let Some(a) = task
        .attachments
        .iter_mut()
        .flatten()
        .find(|a| a.id.as_deref() == Some(id))
    else {
        return false;
    };
    a.status = Some(status.to_string());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attachment, Container};
    use crate::status::HasDesiredStatus;

    fn task() -> Task {
        let mut t = Task {
            containers: Some(vec![Container {
                name: Some("app".into()),
                ..Container::default()
            }]),
            attachments: Some(vec![Attachment {
                id: Some("eni-1".into()),
                status: Some("PRECREATED".into()),
                ..Attachment::default()
            }]),
            ..Task::default()
        };
        t.set_last(TaskStatus::Pending);
        t.set_desired(TaskStatus::Running);
        t
    }

    #[test]
    fn a_running_report_then_an_exit_stop_the_task_with_its_exit_code() {
        let mut t = task();
        let running = ContainerStateChange {
            container_name: Some("app".into()),
            runtime_id: Some("abc".into()),
            status: Some("RUNNING".into()),
            ..ContainerStateChange::default()
        };
        container(&mut t, &running).unwrap();
        task_status(&mut t, TaskStatus::Running, None, None, 10.0);
        assert_eq!(t.last(), Some(TaskStatus::Running));
        let c = &t.containers.as_ref().unwrap()[0];
        assert_eq!(
            (c.runtime_id.as_deref(), c.last()),
            (Some("abc"), Some(TaskStatus::Running))
        );
        let exited = ContainerStateChange {
            container_name: Some("app".into()),
            status: Some("STOPPED".into()),
            exit_code: Some(3),
            ..ContainerStateChange::default()
        };
        container(&mut t, &exited).unwrap();
        task_status(&mut t, TaskStatus::Stopped, Some("done"), Some(20.0), 30.0);
        assert_eq!(t.last(), Some(TaskStatus::Stopped));
        assert_eq!(t.stopped_reason.as_deref(), Some("done"));
        assert_eq!(t.stopped_at, Some(20.0));
        assert_eq!(t.containers.as_ref().unwrap()[0].exit_code, Some(3));
    }

    #[test]
    fn unknown_containers_statuses_and_attachments_are_refused() {
        let mut t = task();
        let ghost = ContainerStateChange {
            container_name: Some("ghost".into()),
            ..ContainerStateChange::default()
        };
        assert!(container(&mut t, &ghost).is_err());
        assert!(status("SLEEPING").is_err());
        let arn = |id: &str| format!("arn:aws:ecs:us-east-1:1:attachment/{id}");
        assert!(has_attachment(&t, &arn("eni-1")) && !has_attachment(&t, &arn("eni-2")));
        assert!(attachment(&mut t, &arn("eni-1"), "ATTACHED"));
        assert!(!attachment(&mut t, &arn("eni-2"), "ATTACHED"));
    }
}
