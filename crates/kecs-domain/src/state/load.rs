//! Loading the state from the store's records at start-up. The packed tables take most of the
//! time (each document summarized and compressed): a batch's documents for them are prepared on
//! every core at once (see [`Table::load_all`]).

use super::holds::load_into;
use super::{State, Table};
use crate::ports::store::{Kind, Record, StoreError};
use crate::state::Row;
use crate::status::ClusterStatus;

/// The records of one batch bound for the packed tables, by table.
#[derive(Default)]
struct ForPacked {
    tasks: Vec<Record>,
    services: Vec<Record>,
    deployments: Vec<Record>,
    revisions: Vec<Record>,
}

/// Puts `records` into `table`, the documents prepared in parallel.
fn load_packed<T: Row>(table: &mut Table<T>, records: Vec<Record>) -> Result<(), StoreError> {
    let Some(kind) = records.first().map(|r| r.kind) else {
        return Ok(());
    };
    let docs: Vec<(String, String)> = records.into_iter().map(|r| (r.key, r.doc)).collect();
    table
        .load_all(docs)
        .map_err(|(key, e)| StoreError::undecodable(format!("{} {key}", kind.as_str()), e))
}

impl State {
    /// Adds stored records (a batch of a load); [`index_service_tasks`](Self::index_service_tasks)
    /// once they are all in.
    pub fn load(&mut self, records: Vec<Record>) -> Result<(), StoreError> {
        let s = self;
        let mut packed = ForPacked::default();
        for r in records {
            match r.kind {
                Kind::Cluster => {
                    if r.index.status.as_deref() == Some(ClusterStatus::Inactive.as_str()) {
                        // Deleted before its time was kept: forgotten at the next sweep.
                        let at = r.index.created_at.unwrap_or(0.0);
                        s.retired_clusters.insert(r.key.clone(), at);
                    }
                    load_into(&mut s.clusters, r)?
                }
                Kind::TaskDefinition => {
                    let key = r.key.clone();
                    load_into(&mut s.task_definitions, r)?;
                    if let Some(td) = s.task_definitions.get(&key) {
                        s.families.note(td);
                    }
                }
                Kind::Tags => load_into(&mut s.tags, r)?,
                Kind::CapacityProvider => load_into(&mut s.capacity_providers, r)?,
                Kind::AccountSetting => load_into(&mut s.account_settings, r)?,
                Kind::Attribute => load_into(&mut s.attributes, r)?,
                Kind::Task => packed.tasks.push(r),
                Kind::Service => packed.services.push(r),
                Kind::ServiceDeployment => packed.deployments.push(r),
                Kind::ServiceRevision => packed.revisions.push(r),
                Kind::ContainerInstance => load_into(&mut s.container_instances, r)?,
                Kind::LogGroup => load_into(&mut s.log_groups, r)?,
                Kind::DaemonTaskDefinition | Kind::Daemon => s.load_daemon_record(r)?,
            }
        }
        load_packed(&mut s.tasks, packed.tasks)?;
        load_packed(&mut s.services, packed.services)?;
        load_packed(&mut s.service_deployments, packed.deployments)?;
        load_packed(&mut s.service_revisions, packed.revisions)
    }

    /// Builds the derived index of each service's tasks, and the clusters' counts.
    pub fn index_service_tasks(&mut self) {
        self.count_all();
        let s = self;
        let indexed: Vec<(String, String)> = s
            .tasks
            .summaries()
            .filter_map(|(arn, t)| Some((t.service_arn(arn)?, arn.clone())))
            .collect();
        for (service, task) in indexed {
            s.service_tasks.entry(service).or_default().insert(task);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Task;
    use crate::ports::store::Change;
    use crate::state::{Mutation, StoredTask};

    fn task(i: usize) -> StoredTask {
        StoredTask {
            task: Task {
                task_arn: Some(format!("arn:aws:ecs:us-east-1:1:task/c/{i:04}")),
                cluster_arn: Some("arn:aws:ecs:us-east-1:1:cluster/c".into()),
                last_status: Some(["PENDING", "RUNNING", "STOPPED"][i % 3].into()),
                group: Some(format!("service:s{}", i % 7)),
                ..Task::default()
            },
            client_token: Some(format!("token-{i}")),
            protected_until: None,
        }
    }

    #[test]
    fn a_load_prepared_on_several_threads_holds_what_was_applied() {
        let mut applied = State::default();
        let mut records = vec![];
        for i in 0..1000 {
            if let Change::Put(r) = applied.apply(Mutation::PutTask(task(i))).unwrap() {
                records.push(r);
            }
        }
        let mut loaded = State::default();
        loaded.load(records).unwrap();
        loaded.index_service_tasks();
        assert_eq!(loaded.tasks.len(), 1000);
        for ((arn, want), (arn2, got)) in applied.tasks.summaries().zip(loaded.tasks.summaries()) {
            assert_eq!((arn, want), (arn2, got));
            assert_eq!(applied.tasks.get(arn), loaded.tasks.get(arn));
        }
        assert_eq!(applied.service_tasks.len(), 7);
        assert!(loaded.service_tasks == applied.service_tasks);
        let cluster = "arn:aws:ecs:us-east-1:1:cluster/c";
        assert_eq!(loaded.counts.of(cluster), applied.counts.of(cluster));
    }

    #[test]
    fn an_unreadable_document_fails_the_load_naming_it() {
        let mut records: Vec<Record> = (0..300)
            .map(|i| {
                let mut s = State::default();
                match s.apply(Mutation::PutTask(task(i))).unwrap() {
                    Change::Put(r) => r,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        records[250].doc = r#"{"task":{"lastStatus":42}}"#.into();
        let key = records[250].key.clone();
        let err = State::default().load(records).unwrap_err();
        assert!(err.to_string().contains(&key), "{err}");
    }
}
