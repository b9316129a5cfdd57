//! Tasks and services kept packed: what goes in comes out, smaller, and walks read summaries.

use kecs_domain::model::{LaunchType, Task};
use kecs_domain::state::{Mutation, Packed, State, StoredTask};
use kecs_domain::status::TaskStatus;

fn task(cluster: &str, id: &str, status: &str, group: &str) -> StoredTask {
    let arn = format!("arn:aws:ecs:us-east-1:000000000000:task/{cluster}/{id}");
    StoredTask {
        task: Task {
            task_arn: Some(arn.clone()),
            cluster_arn: Some(format!(
                "arn:aws:ecs:us-east-1:000000000000:cluster/{cluster}"
            )),
            task_definition_arn: Some(
                "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3".into(),
            ),
            last_status: Some(status.into()),
            desired_status: Some(status.into()),
            group: Some(group.into()),
            launch_type: Some(LaunchType::Fargate),
            started_by: Some("ci".into()),
            created_at: Some(1_795_675_924.667),
            ..Task::default()
        },
        client_token: Some(format!("token-{id}")),
        protected_until: None,
    }
}

#[test]
fn a_packed_document_unpacks_to_what_was_packed_and_is_smaller() {
    let t = task(
        "default",
        "17780fdbabd24231a91d41bbbc55a410",
        "RUNNING",
        "family:web",
    );
    let doc = serde_json::to_string(&t).unwrap();
    let packed = Packed::pack(&doc).unwrap();
    assert_eq!(packed.document().unwrap(), doc.as_bytes());
    assert_eq!(packed.unpack::<StoredTask>().unwrap(), t);
    assert!(
        packed.len() * 3 < doc.len(),
        "{} packed bytes for a {} byte document",
        packed.len(),
        doc.len()
    );
}

#[test]
fn a_document_that_is_not_the_type_asked_for_does_not_unpack() {
    let packed = Packed::pack("[1, 2, 3]").unwrap();
    assert!(packed.unpack::<StoredTask>().is_err());
}

#[test]
fn tasks_are_found_by_key_summary_and_cluster_range() {
    let mut s = State::default();
    for t in [
        task("a", "1", "RUNNING", "service:web"),
        task("a", "2", "STOPPED", "family:web"),
        task("b", "3", "RUNNING", "family:web"),
    ] {
        s.apply(Mutation::PutTask(t)).unwrap();
    }
    let arn = "arn:aws:ecs:us-east-1:000000000000:task/a/2";
    assert_eq!(
        s.tasks.get(arn),
        Some(task("a", "2", "STOPPED", "family:web"))
    );
    let summary = s.tasks.summary(arn).unwrap();
    assert!(summary.last_is(TaskStatus::Stopped));
    assert_eq!(summary.family.as_deref(), Some("web"));
    assert_eq!(summary.started_by.as_deref(), Some("ci"));
    assert_eq!(summary.launch_type, Some(LaunchType::Fargate));
    assert_eq!(
        summary.client_token,
        Some(kecs_domain::state::token_hash("token-2"))
    );
    let in_a: Vec<&String> = s
        .tasks
        .prefixed("arn:aws:ecs:us-east-1:000000000000:task/a/".into())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(in_a.len(), 2);
    assert_eq!(
        s.tasks
            .summary("arn:aws:ecs:us-east-1:000000000000:task/a/1")
            .and_then(|t| t.service_arn("arn:aws:ecs:us-east-1:000000000000:task/a/1")),
        Some("arn:aws:ecs:us-east-1:000000000000:service/a/web".to_string())
    );
    // A put replaces the value and its summary.
    s.apply(Mutation::PutTask(task("a", "1", "STOPPED", "service:web")))
        .unwrap();
    let first = "arn:aws:ecs:us-east-1:000000000000:task/a/1";
    assert!(s.tasks.summary(first).unwrap().last_is(TaskStatus::Stopped));
    assert_eq!(
        s.tasks.get(first).unwrap().task.last_status.as_deref(),
        Some("STOPPED")
    );
    s.apply(Mutation::DeleteTask(first.into())).unwrap();
    assert!(!s.tasks.contains_key(first));
    assert_eq!(s.tasks.len(), 2);
    assert!(s.service_tasks["arn:aws:ecs:us-east-1:000000000000:service/a/web"].is_empty());
}
