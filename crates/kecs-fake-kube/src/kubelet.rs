//! The simulated kubelet: moves each pod through its life as a kubelet reports it. Images it
//! does not know fail to pull (`ErrImagePull`); init containers run one after another (a
//! sidecar, `restartPolicy: Always`, lets the next start once it runs); regular containers
//! start together; a container's [`Program`] decides when it exits and with what code; a
//! readiness probe makes it ready once it passes; an active deadline or a deletion stops the
//! containers (at once if they handle SIGTERM, else killed after the grace period: 137).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Pod, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::program::{self, Program};

/// The current time as the API shows it (jiff's `now()` needs its `std` feature).
pub fn now() -> Time {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Time(Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(0)).unwrap_or_default())
}

/// One container as the kubelet runs it.
#[derive(Debug, Clone)]
struct Run {
    program: Program,
    started: Instant,
    /// When a stop (deadline, deletion) reached it, and whether SIGKILL is due at the end of the
    /// grace period.
    stopping: Option<Instant>,
}

/// What the kubelet keeps about one pod besides the pod.
#[derive(Debug, Default)]
pub struct PodRun {
    created: Option<Instant>,
    runs: HashMap<String, Run>,
    /// Set when the pod was deleted with a grace period: remove it once its containers ended.
    pub deleting: bool,
    /// Stdout of each container, by name.
    pub logs: HashMap<String, Vec<(String, String)>>,
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message,
        }),
        ..ContainerState::default()
    }
}

fn status(c: &Container, state: ContainerState, ready: bool) -> ContainerStatus {
    ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_id: String::new(),
        started: Some(state.running.is_some()),
        ready,
        restart_count: 0,
        state: Some(state),
        ..ContainerStatus::default()
    }
}

fn words(c: &Container) -> Vec<String> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect()
}

fn is_running(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|s| s.running.is_some())
}

fn is_terminated(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|s| s.terminated.is_some())
}

fn exit_code(s: &ContainerStatus) -> Option<i32> {
    s.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code)
}

fn terminated(prev: &ContainerStatus, code: i32, reason: &str) -> ContainerStatus {
    let started_at = prev
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .and_then(|r| r.started_at.clone());
    ContainerStatus {
        ready: false,
        started: Some(false),
        state: Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: code,
                reason: Some(reason.into()),
                started_at,
                finished_at: Some(now()),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        }),
        ..prev.clone()
    }
}

impl PodRun {
    /// Stops the pod's running containers (a deadline or a deletion).
    pub fn stop(&mut self) {
        let at = Instant::now();
        for run in self.runs.values_mut() {
            run.stopping.get_or_insert(at);
        }
    }

    /// Moves `pod` on; true when its status changed.
    pub fn advance(&mut self, pod: &mut Pod, known_image: &dyn Fn(&str) -> bool) -> bool {
        let created = *self.created.get_or_insert_with(Instant::now);
        let Some(spec) = pod.spec.clone() else {
            return false;
        };
        let before = pod.status.clone();
        let grace = Duration::from_secs(
            u64::try_from(spec.termination_grace_period_seconds.unwrap_or(30)).unwrap_or(30),
        );
        if let Some(deadline) = spec.active_deadline_seconds {
            let due = Duration::from_secs(u64::try_from(deadline).unwrap_or(0));
            if created.elapsed() >= due {
                self.stop();
            }
        }
        let status = pod.status.get_or_insert_with(|| PodStatus {
            phase: Some("Pending".into()),
            start_time: Some(now()),
            pod_ip: Some("10.42.0.7".into()),
            host_ip: Some("192.168.0.2".into()),
            ..PodStatus::default()
        });
        let inits = spec.init_containers.clone().unwrap_or_default();
        let regular = spec.containers.clone();
        let mut init_statuses = status.init_container_statuses.clone().unwrap_or_default();
        let mut statuses = status.container_statuses.clone().unwrap_or_default();
        for c in &inits {
            if !init_statuses.iter().any(|s| s.name == c.name) {
                init_statuses.push(self::status(c, waiting("PodInitializing", None), false));
            }
        }
        for c in &regular {
            if !statuses.iter().any(|s| s.name == c.name) {
                statuses.push(self::status(c, waiting("ContainerCreating", None), false));
            }
        }
        let stopping = self.runs.values().any(|r| r.stopping.is_some()) || self.deleting;
        // Init containers, one at a time.
        let mut inits_done = true;
        for (c, s) in inits.iter().zip(init_statuses.iter_mut()) {
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            self.step(c, s, grace, stopping, known_image);
            let done = if sidecar {
                is_running(s)
            } else {
                exit_code(s) == Some(0)
            };
            if !done {
                inits_done = false;
                break;
            }
        }
        if inits_done {
            for (c, s) in regular.iter().zip(statuses.iter_mut()) {
                self.step(c, s, grace, stopping, known_image);
            }
        }
        let init_failed = init_statuses
            .iter()
            .any(|s| exit_code(s).is_some_and(|c| c != 0));
        let all_ended = statuses.iter().all(|s| is_terminated(s) || !is_running(s))
            && statuses.iter().any(is_terminated);
        let phase = if init_failed || (stopping && statuses.iter().all(|s| !is_running(s))) {
            "Failed"
        } else if all_ended {
            if statuses.iter().all(|s| exit_code(s) == Some(0)) {
                "Succeeded"
            } else {
                "Failed"
            }
        } else if statuses.iter().any(is_running) {
            "Running"
        } else {
            "Pending"
        };
        status.phase = Some(phase.into());
        if spec.active_deadline_seconds.is_some() && phase == "Failed" && stopping {
            status.reason = Some("DeadlineExceeded".into());
        }
        status.init_container_statuses = (!init_statuses.is_empty()).then_some(init_statuses);
        status.container_statuses = Some(statuses);
        pod.status != before
    }

    /// Whether every started container has ended (a deleted pod can go).
    pub fn ended(&self, pod: &Pod) -> bool {
        let Some(status) = pod.status.as_ref() else {
            return true;
        };
        status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten())
            .all(|s| !is_running(s))
    }

    /// One container's next state.
    fn step(
        &mut self,
        c: &Container,
        s: &mut ContainerStatus,
        grace: Duration,
        stopping: bool,
        known_image: &dyn Fn(&str) -> bool,
    ) {
        if is_terminated(s) {
            return;
        }
        if !is_running(s) {
            if stopping {
                return;
            }
            let image = c.image.clone().unwrap_or_default();
            if !known_image(&image) {
                *s = status(
                    c,
                    waiting(
                        "ErrImagePull",
                        Some(format!(
                            "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"
                        )),
                    ),
                    false,
                );
                return;
            }
            let program = program::parse(&words(c));
            let written = now().0.to_string();
            self.logs
                .entry(c.name.clone())
                .or_default()
                .extend(program.output.iter().map(|l| (written.clone(), l.clone())));
            self.runs.insert(
                c.name.clone(),
                Run {
                    program,
                    started: Instant::now(),
                    stopping: None,
                },
            );
            *s = status(
                c,
                ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(now()),
                    }),
                    ..ContainerState::default()
                },
                c.readiness_probe.is_none(),
            );
            return;
        }
        let Some(run) = self.runs.get(&c.name).cloned() else {
            return;
        };
        if let Some(stopped) = run.stopping {
            if run.program.handles_term {
                *s = terminated(s, 143, "Error");
            } else if stopped.elapsed() >= grace {
                *s = terminated(s, 137, "Error");
            }
            return;
        }
        if let Some(d) = run.program.runs_for {
            if run.started.elapsed() >= d {
                let code = run.program.exit_code;
                *s = terminated(s, code, if code == 0 { "Completed" } else { "Error" });
                return;
            }
        }
        if let Some(probe) = &c.readiness_probe {
            let delay = Duration::from_secs(
                u64::try_from(probe.initial_delay_seconds.unwrap_or(0)).unwrap_or(0),
            );
            if run.started.elapsed() >= delay {
                let command = probe
                    .exec
                    .as_ref()
                    .and_then(|e| e.command.clone())
                    .unwrap_or_default();
                s.ready = program::probe_passes(&command);
            }
        }
    }
}
