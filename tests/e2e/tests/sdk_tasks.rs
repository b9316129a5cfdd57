//! Tasks on the `none` runtime through aws-sdk-ecs against the real binary.

mod common;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    ContainerOverride, DesiredStatus, KeyValuePair, LaunchType, PropagateTags, TaskField,
    TaskOverride, TaskStopCode,
};
use common::{code, container, tag};
use kecs_e2e::Server;

async fn setup(ecs: &aws_sdk_ecs::Client) {
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    ecs.register_task_definition()
        .family("app")
        .container_definitions(container("web"))
        .container_definitions(container("side"))
        .tags(tag("from", "td"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn run_describe_list_stop() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    setup(&ecs).await;
    let run = ecs
        .run_task()
        .cluster("c")
        .task_definition("app")
        .count(2)
        .started_by("ci")
        .propagate_tags(PropagateTags::TaskDefinition)
        .tags(tag("own", "1"))
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name("web")
                        .command("echo")
                        .environment(KeyValuePair::builder().name("X").value("1").build())
                        .memory(128)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(run.failures().is_empty());
    let tasks = run.tasks();
    assert_eq!(tasks.len(), 2);
    let t = &tasks[0];
    let prefix = "arn:aws:ecs:us-east-1:000000000000:task/c/";
    assert!(
        t.task_arn().unwrap().starts_with(prefix),
        "{:?}",
        t.task_arn()
    );
    assert_eq!(t.task_arn().unwrap().len(), prefix.len() + 32);
    assert_eq!(t.last_status(), Some("RUNNING"));
    assert_eq!(t.desired_status(), Some("RUNNING"));
    assert_eq!(t.launch_type(), Some(&LaunchType::Ec2));
    assert_eq!(t.group(), Some("family:app"));
    assert_eq!(t.started_by(), Some("ci"));
    assert!(t.started_at().is_some() && t.created_at().is_some());
    let web = t
        .containers()
        .iter()
        .find(|c| c.name() == Some("web"))
        .unwrap();
    assert_eq!(web.last_status(), Some("RUNNING"));
    assert_eq!(web.memory(), Some("128"), "the override wins");
    assert_eq!(
        t.overrides().unwrap().container_overrides()[0].command(),
        ["echo"]
    );

    let arn = t.task_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    let described = ecs
        .describe_tasks()
        .cluster("c")
        .tasks(&id)
        .tasks("0123456789abcdef0123456789abcdef")
        .include(TaskField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(described.tasks()[0].task_arn(), Some(arn.as_str()));
    let mut tags: Vec<_> = described.tasks()[0]
        .tags()
        .iter()
        .map(|t| t.key().unwrap().to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, ["from", "own"]);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    assert_eq!(
        described.failures()[0].arn(),
        Some(format!("{prefix}0123456789abcdef0123456789abcdef").as_str())
    );

    let cluster = ecs.describe_clusters().clusters("c").send().await.unwrap();
    assert_eq!(cluster.clusters()[0].running_tasks_count, 2);
    assert_eq!(
        code(ecs.delete_cluster().cluster("c").send().await),
        "ClusterContainsTasksException"
    );

    // The SDK's waiter agrees the tasks are running.
    ecs.wait_until_tasks_running()
        .cluster("c")
        .tasks(&arn)
        .wait(std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let stopped = ecs
        .stop_task()
        .cluster("c")
        .task(&arn)
        .reason("done")
        .send()
        .await
        .unwrap()
        .task
        .unwrap();
    assert_eq!(stopped.last_status(), Some("STOPPED"));
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert_eq!(stopped.stopped_reason(), Some("done"));
    assert!(stopped.stopped_at().is_some());
    ecs.wait_until_tasks_stopped()
        .cluster("c")
        .tasks(&arn)
        .wait(std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let running = ecs.list_tasks().cluster("c").send().await.unwrap();
    assert_eq!(running.task_arns().len(), 1);
    let stopped_list = ecs
        .list_tasks()
        .cluster("c")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped_list.task_arns(), std::slice::from_ref(&arn));
    assert_eq!(
        ecs.list_tasks()
            .cluster("c")
            .family("app")
            .started_by("ci")
            .send()
            .await
            .unwrap()
            .task_arns()
            .len(),
        1
    );
    assert!(ecs
        .list_tasks()
        .cluster("c")
        .family("other")
        .send()
        .await
        .unwrap()
        .task_arns()
        .is_empty());
    let page = ecs
        .list_tasks()
        .cluster("c")
        .max_results(1)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(page.next_token(), None);

    let other = running.task_arns()[0].clone();
    ecs.stop_task()
        .cluster("c")
        .task(&other)
        .send()
        .await
        .unwrap();
    ecs.delete_cluster().cluster("c").send().await.unwrap();
}

#[tokio::test]
async fn run_task_refusals_change_nothing() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    setup(&ecs).await;
    assert_eq!(
        code(
            ecs.run_task()
                .cluster("c")
                .task_definition("app")
                .count(11)
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    assert_eq!(
        code(
            ecs.run_task()
                .cluster("c")
                .task_definition("nope")
                .send()
                .await
        ),
        "ClientException"
    );
    assert_eq!(
        code(
            ecs.run_task()
                .cluster("none")
                .task_definition("app")
                .send()
                .await
        ),
        "ClusterNotFoundException"
    );
    assert_eq!(
        code(
            ecs.run_task()
                .cluster("c")
                .task_definition("app")
                .launch_type(LaunchType::Fargate)
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    let bad_override = TaskOverride::builder()
        .container_overrides(ContainerOverride::builder().name("ghost").build())
        .build();
    assert_eq!(
        code(
            ecs.run_task()
                .cluster("c")
                .task_definition("app")
                .overrides(bad_override)
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    ecs.deregister_task_definition()
        .task_definition("app:1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            ecs.run_task()
                .cluster("c")
                .task_definition("app:1")
                .send()
                .await
        ),
        "ClientException"
    );
    assert_eq!(
        code(ecs.stop_task().cluster("c").task("0123").send().await),
        "InvalidParameterException"
    );
    let all = ecs
        .list_tasks()
        .cluster("c")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert!(all.task_arns().is_empty());
    assert!(ecs
        .list_tasks()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .task_arns()
        .is_empty());
}

#[tokio::test]
async fn client_token_makes_run_task_idempotent() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    setup(&ecs).await;
    let first = ecs
        .run_task()
        .cluster("c")
        .task_definition("app")
        .client_token("tok")
        .count(2)
        .send()
        .await
        .unwrap();
    let again = ecs
        .run_task()
        .cluster("c")
        .task_definition("app")
        .client_token("tok")
        .count(2)
        .send()
        .await
        .unwrap();
    let arns = |r: &aws_sdk_ecs::operation::run_task::RunTaskOutput| -> Vec<String> {
        let mut v: Vec<String> = r
            .tasks()
            .iter()
            .map(|t| t.task_arn().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(arns(&first), arns(&again));
    assert_eq!(
        ecs.list_tasks()
            .cluster("c")
            .send()
            .await
            .unwrap()
            .task_arns()
            .len(),
        2
    );
}

#[tokio::test]
async fn tasks_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &[]).await;
    let ecs = kecs.client().await;
    setup(&ecs).await;
    let run = ecs
        .run_task()
        .cluster("c")
        .task_definition("app")
        .count(3)
        .send()
        .await
        .unwrap();
    let stop = run.tasks()[0].task_arn().unwrap().to_string();
    ecs.stop_task()
        .cluster("c")
        .task(&stop)
        .send()
        .await
        .unwrap();
    kecs.kill();
    let kecs = Server::start_on(dir.path(), &[]).await;
    let ecs = kecs.client().await;
    assert_eq!(
        ecs.list_tasks()
            .cluster("c")
            .send()
            .await
            .unwrap()
            .task_arns()
            .len(),
        2
    );
    let d = ecs
        .describe_tasks()
        .cluster("c")
        .tasks(&stop)
        .send()
        .await
        .unwrap();
    assert_eq!(d.tasks()[0].last_status(), Some("STOPPED"));
}
