//! The statuses ECS reports, as enums. The wire model keeps them as strings (the botocore model
//! types them so); the domain reads and writes them through these, never as string literals.

use crate::model::{Cluster, Container, Deployment, Service, Task, TaskSet};

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// The status as ECS writes it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// The status ECS writes as `text`, if it is one.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The status a model field holds.
            pub fn of(field: Option<&str>) -> Option<Self> {
                field.and_then(Self::parse)
            }
        }

        impl From<$name> for String {
            fn from(status: $name) -> String {
                status.as_str().to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum! {
    /// A task's (and a container's) `lastStatus` and `desiredStatus`.
    TaskStatus {
        /// Created, nothing started yet.
        Provisioning = "PROVISIONING",
        /// Its containers are being created and started.
        Pending = "PENDING",
        /// awsvpc: its network interface is being attached.
        Activating = "ACTIVATING",
        /// Every container started.
        Running = "RUNNING",
        /// awsvpc: being taken out of service before it stops.
        Deactivating = "DEACTIVATING",
        /// Its containers are being stopped.
        Stopping = "STOPPING",
        /// awsvpc: its network interface is being detached.
        Deprovisioning = "DEPROVISIONING",
        /// Ended.
        Stopped = "STOPPED",
    }
}

status_enum! {
    /// A service's `status`.
    ServiceStatus {
        /// It runs.
        Active = "ACTIVE",
        /// Deleted; its tasks are still stopping.
        Draining = "DRAINING",
        /// Deleted.
        Inactive = "INACTIVE",
    }
}

status_enum! {
    /// A cluster's `status`.
    ClusterStatus {
        /// It takes tasks and services.
        Active = "ACTIVE",
        /// Being created with capacity providers.
        Provisioning = "PROVISIONING",
        /// Being deleted with capacity providers.
        Deprovisioning = "DEPROVISIONING",
        /// Its creation failed.
        Failed = "FAILED",
        /// Deleted.
        Inactive = "INACTIVE",
    }
}

status_enum! {
    /// A service deployment's `status` (the rolling-update controller's deployments).
    DeploymentStatus {
        /// The newest deployment, the one the service converges to.
        Primary = "PRIMARY",
        /// An older deployment whose tasks are being replaced.
        Active = "ACTIVE",
        /// A deployment whose tasks are all gone.
        Inactive = "INACTIVE",
    }
}

status_enum! {
    /// A task set's `status`.
    TaskSetStatus {
        /// The task set that serves production traffic.
        Primary = "PRIMARY",
        /// A task set that runs but is not primary.
        Active = "ACTIVE",
        /// Deleted; its tasks are stopping.
        Draining = "DRAINING",
    }
}

/// A model value with a `status` field, read and written as its enum.
pub trait HasStatus {
    /// The enum of this value's statuses.
    type Status: Copy + PartialEq;
    /// The status it holds (`None`: none, or one KECS does not know).
    fn status_of(&self) -> Option<Self::Status>;
    /// Sets its status.
    fn set_status(&mut self, status: Self::Status);
    /// Whether its status is `status`.
    fn status_is(&self, status: Self::Status) -> bool {
        self.status_of() == Some(status)
    }
}

macro_rules! has_status {
    ($model:ty, $status:ty) => {
        impl HasStatus for $model {
            type Status = $status;
            fn status_of(&self) -> Option<$status> {
                <$status>::of(self.status.as_deref())
            }
            fn set_status(&mut self, status: $status) {
                self.status = Some(status.into());
            }
        }
    };
}

has_status!(Service, ServiceStatus);
has_status!(Cluster, ClusterStatus);
has_status!(Deployment, DeploymentStatus);
has_status!(TaskSet, TaskSetStatus);

/// A task or a container: its `lastStatus`, read and written as a [`TaskStatus`].
pub trait HasLastStatus {
    /// Its `lastStatus`.
    fn last(&self) -> Option<TaskStatus>;
    /// Sets its `lastStatus`.
    fn set_last(&mut self, status: TaskStatus);
    /// Whether its `lastStatus` is `status`.
    fn last_is(&self, status: TaskStatus) -> bool {
        self.last() == Some(status)
    }
}

impl HasLastStatus for Task {
    fn last(&self) -> Option<TaskStatus> {
        TaskStatus::of(self.last_status.as_deref())
    }
    fn set_last(&mut self, status: TaskStatus) {
        self.last_status = Some(status.into());
    }
}

impl HasLastStatus for Container {
    fn last(&self) -> Option<TaskStatus> {
        TaskStatus::of(self.last_status.as_deref())
    }
    fn set_last(&mut self, status: TaskStatus) {
        self.last_status = Some(status.into());
    }
}

/// A task's `desiredStatus`, as a [`TaskStatus`].
pub trait HasDesiredStatus {
    /// Its `desiredStatus`.
    fn desired(&self) -> Option<TaskStatus>;
    /// Sets its `desiredStatus`.
    fn set_desired(&mut self, status: TaskStatus);
}

impl HasDesiredStatus for Task {
    fn desired(&self) -> Option<TaskStatus> {
        TaskStatus::of(self.desired_status.as_deref())
    }
    fn set_desired(&mut self, status: TaskStatus) {
        self.desired_status = Some(status.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_and_write_as_ecs_spells_them() {
        assert_eq!(
            TaskStatus::parse("DEPROVISIONING"),
            Some(TaskStatus::Deprovisioning)
        );
        assert_eq!(TaskStatus::parse("running"), None);
        let mut service = Service::default();
        assert_eq!(service.status_of(), None);
        service.set_status(ServiceStatus::Draining);
        assert_eq!(service.status.as_deref(), Some("DRAINING"));
        assert!(service.status_is(ServiceStatus::Draining));
        let mut task = Task::default();
        task.set_last(TaskStatus::Pending);
        task.set_desired(TaskStatus::Running);
        assert_eq!(
            (task.last_status.as_deref(), task.desired()),
            (Some("PENDING"), Some(TaskStatus::Running))
        );
        assert!(task.last_is(TaskStatus::Pending));
    }
}
