//! The workload: what each operation sends, and the fixture (a cluster, a task definition, 100
//! tasks) set up on a target before it is measured. Bodies are valid for KECS and moto alike
//! (tasks run on FARGATE with an awsvpc network, which moto needs no container instance for).

use serde_json::{json, Value};

use crate::load::call;
use crate::servers::Target;
use crate::BenchResult;

/// What the set-up left to refer to.
#[derive(Default)]
pub struct Fixture {
    /// 100 task ARNs, for DescribeTasks.
    pub tasks: Vec<String>,
    /// A subnet and a security group the target accepts (moto checks them against its EC2).
    pub subnet: String,
    pub security_group: String,
}

/// One measured operation: its name and its body for client `c`'s `n`th call.
pub struct Op {
    pub name: &'static str,
    pub body: fn(&Fixture, usize, u64) -> Value,
    /// Whether the body changes from call to call (else one body serves every call).
    pub varies: bool,
}

fn run_task_body(f: &Fixture) -> Value {
    json!({
        "cluster": "bench",
        "taskDefinition": "bench",
        "count": 1,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": [f.subnet],
            "securityGroups": [f.security_group]
        }}
    })
}

fn task_definition(family: &str) -> Value {
    json!({
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}]
    })
}

/// The operations, in the order they are measured.
pub const OPS: &[Op] = &[
    Op {
        name: "CreateCluster",
        body: |_, c, n| json!({"clusterName": format!("c{c}-{n}")}),
        varies: true,
    },
    Op {
        name: "RegisterTaskDefinition",
        body: |_, c, _| task_definition(&format!("bench-{c}")),
        varies: false,
    },
    Op {
        name: "DescribeClusters",
        body: |_, _, _| json!({"clusters": ["bench"]}),
        varies: false,
    },
    Op {
        name: "ListTaskDefinitions",
        body: |_, _, _| json!({"familyPrefix": "bench"}),
        varies: false,
    },
    Op {
        name: "RunTask",
        body: |f, _, _| run_task_body(f),
        varies: false,
    },
    Op {
        name: "DescribeTasks",
        body: |f, _, _| json!({"cluster": "bench", "tasks": f.tasks}),
        varies: false,
    },
    Op {
        name: "ListTasks",
        body: |_, _, _| json!({"cluster": "bench"}),
        varies: false,
    },
];

/// Creates the cluster `bench`, the task definition `bench` and 100 tasks.
pub async fn set_up(target: &Target) -> BenchResult<Fixture> {
    let client = crate::load::client();
    call(
        &client,
        target,
        "CreateCluster",
        &json!({"clusterName": "bench"}),
    )
    .await?;
    call(
        &client,
        target,
        "RegisterTaskDefinition",
        &task_definition("bench"),
    )
    .await?;
    let mut fixture = Fixture {
        subnet: "subnet-12345678".into(),
        security_group: "sg-12345678".into(),
        ..Fixture::default()
    };
    if target.name == "moto" {
        fixture.subnet =
            crate::load::ec2_first(&client, target, "DescribeSubnets", "subnetId").await?;
        fixture.security_group =
            crate::load::ec2_first(&client, target, "DescribeSecurityGroups", "groupId").await?;
    }
    let mut body = run_task_body(&fixture);
    body["count"] = json!(10);
    for _ in 0..10 {
        let answer = call(&client, target, "RunTask", &body).await?;
        let tasks = answer["tasks"].as_array().cloned().unwrap_or_default();
        fixture.tasks.extend(
            tasks
                .iter()
                .filter_map(|t| t["taskArn"].as_str().map(str::to_string)),
        );
    }
    if fixture.tasks.len() != 100 {
        return Err(format!(
            "{}: set-up ran {} tasks, not 100",
            target.name,
            fixture.tasks.len()
        )
        .into());
    }
    Ok(fixture)
}
