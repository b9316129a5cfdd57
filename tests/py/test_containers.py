"""Containers through the AWS CLI and boto3, on every runtime that runs them (the local Docker
engine, and Kubernetes through the fake API server): run a task, `aws ecs wait tasks-running` and
`tasks-stopped`, exit codes and stop reasons as ECS reports them, logs, and a service scaled and
rolled to a new revision."""
import json
import time

import pytest

from conftest import make_client


def register(aws, image, family, script, **extra):
    container = {"name": "app", "image": image, "memory": 32, "stopTimeout": 1,
                 "command": ["sh", "-c", script], **extra}
    aws("register-task-definition", "--family", family,
        "--container-definitions", json.dumps([container]))


def test_cli_waiters_follow_a_task_from_start_to_exit(aws_tasks, task_server):
    aws_tasks("create-cluster", "--cluster-name", "cli-docker")
    # Long enough for the CLI waiter, which looks again only every 6 s, to see it RUNNING.
    register(aws_tasks, task_server.image, "cli-sleep", "sleep 10; exit 7")
    run = aws_tasks("run-task", "--cluster", "cli-docker", "--task-definition", "cli-sleep")
    task = run["tasks"][0]
    assert task["lastStatus"] == "PROVISIONING"
    assert task["desiredStatus"] == "RUNNING"
    arn = task["taskArn"]
    aws_tasks("wait", "tasks-running", "--cluster", "cli-docker", "--tasks", arn)
    running = aws_tasks("describe-tasks", "--cluster", "cli-docker", "--tasks", arn)["tasks"][0]
    assert running["lastStatus"] == "RUNNING"
    assert running["containers"][0]["runtimeId"]
    aws_tasks("wait", "tasks-stopped", "--cluster", "cli-docker", "--tasks", arn)
    stopped = aws_tasks("describe-tasks", "--cluster", "cli-docker", "--tasks", arn)["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["containers"][0]["exitCode"] == 7
    assert stopped["stoppedAt"] >= stopped["startedAt"]


def test_cli_waiter_for_running_fails_on_a_missing_image(aws_tasks):
    aws_tasks("create-cluster", "--cluster-name", "cli-missing")
    aws_tasks("register-task-definition", "--family", "cli-ghost", "--container-definitions",
               json.dumps([{"name": "app", "image": "kecs-test/absent:1", "memory": 32}]))
    arn = aws_tasks("run-task", "--cluster", "cli-missing",
                     "--task-definition", "cli-ghost")["tasks"][0]["taskArn"]
    res = aws_tasks("wait", "tasks-running", "--cluster", "cli-missing", "--tasks", arn, ok=False)
    assert res.returncode != 0
    assert "Waiter TasksRunning failed" in res.stderr
    stopped = aws_tasks("describe-tasks", "--cluster", "cli-missing", "--tasks", arn)["tasks"][0]
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotPullContainerError")


def test_boto3_stop_task_and_waiter(task_server):
    ecs = make_client(task_server.api_url)
    ecs.create_cluster(clusterName="boto-docker")
    ecs.register_task_definition(family="boto-sleep", containerDefinitions=[{
        "name": "app", "image": task_server.image, "memory": 32, "stopTimeout": 1,
        "command": ["sleep", "300"]}])
    arn = ecs.run_task(cluster="boto-docker", taskDefinition="boto-sleep")["tasks"][0]["taskArn"]
    waiter_config = {"Delay": 1, "MaxAttempts": 60}
    ecs.get_waiter("tasks_running").wait(cluster="boto-docker", tasks=[arn],
                                         WaiterConfig=waiter_config)
    stopping = ecs.stop_task(cluster="boto-docker", task=arn, reason="bye")["task"]
    assert stopping["desiredStatus"] == "STOPPED"
    assert stopping["lastStatus"] in ("RUNNING", "STOPPING")
    ecs.get_waiter("tasks_stopped").wait(cluster="boto-docker", tasks=[arn],
                                         WaiterConfig=waiter_config)
    task = ecs.describe_tasks(cluster="boto-docker", tasks=[arn])["tasks"][0]
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "bye"
    # sleep as PID 1 ignores SIGTERM: SIGKILL after the 1 s stopTimeout.
    assert task["containers"][0]["exitCode"] == 137


@pytest.mark.parametrize("tail", [1, 3])
def test_admin_logs_endpoint_returns_the_last_lines(task_server, tail):
    from conftest import http
    ecs = make_client(task_server.api_url)
    ecs.create_cluster(clusterName="logs")
    ecs.register_task_definition(family="talker", containerDefinitions=[{
        "name": "app", "image": task_server.image, "memory": 32, "stopTimeout": 1,
        "command": ["sh", "-c", "; ".join(f"echo line-{i}" for i in range(1, 6)) + "; sleep 300"]}])
    arn = ecs.run_task(cluster="logs", taskDefinition="talker")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="logs", tasks=[arn],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    task_id = arn.rsplit("/", 1)[1]
    url = f"{task_server.admin_url}/_kecs/tasks/{task_id}/containers/app/logs?tail={tail}"
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, _, body = http("GET", url)
        assert status == 200, body
        lines = json.loads(body)["lines"]
        if lines and lines[-1] == "line-5":
            break
        time.sleep(0.2)
    assert lines == [f"line-{i}" for i in range(6 - tail, 6)]
    status, _, _ = http("GET", f"{task_server.admin_url}/_kecs/tasks/{task_id}/containers/nope/logs")
    assert status == 404
    ecs.stop_task(cluster="logs", task=arn)


def test_service_scales_up_and_rolls_to_a_new_revision(task_server):
    ecs = make_client(task_server.api_url)
    ecs.create_cluster(clusterName="svc")
    for family_rev in range(2):
        ecs.register_task_definition(family="svc-web", containerDefinitions=[{
            "name": "web", "image": task_server.image, "memory": 32, "stopTimeout": 1,
            "command": ["sleep", "300"],
            "environment": [{"name": "REV", "value": str(family_rev + 1)}],
            "portMappings": [{"containerPort": 8080}]}])
    waiter = {"Delay": 1, "MaxAttempts": 90}
    ecs.create_service(cluster="svc", serviceName="web", taskDefinition="svc-web:1",
                       desiredCount=1)
    ecs.get_waiter("services_stable").wait(cluster="svc", services=["web"], WaiterConfig=waiter)
    ecs.update_service(cluster="svc", service="web", desiredCount=3)
    ecs.get_waiter("services_stable").wait(cluster="svc", services=["web"], WaiterConfig=waiter)
    arns = ecs.list_tasks(cluster="svc", serviceName="web")["taskArns"]
    tasks = ecs.describe_tasks(cluster="svc", tasks=arns)["tasks"]
    assert [t["lastStatus"] for t in tasks] == ["RUNNING"] * 3
    assert all(t["containers"][0]["runtimeId"] for t in tasks)
    ecs.update_service(cluster="svc", service="web", taskDefinition="svc-web:2")
    ecs.get_waiter("services_stable").wait(cluster="svc", services=["web"], WaiterConfig=waiter)
    service = ecs.describe_services(cluster="svc", services=["web"])["services"][0]
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY"]
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    arns = ecs.list_tasks(cluster="svc", serviceName="web")["taskArns"]
    tasks = ecs.describe_tasks(cluster="svc", tasks=arns)["tasks"]
    assert len(tasks) == 3
    assert {t["taskDefinitionArn"].rsplit(":", 1)[1] for t in tasks} == {"2"}
    assert all(t["lastStatus"] == "RUNNING" for t in tasks)
    ecs.update_service(cluster="svc", service="web", desiredCount=0)
    ecs.delete_service(cluster="svc", service="web")


def test_depends_on_success_runs_the_dependency_first(task_server):
    ecs = make_client(task_server.api_url)
    ecs.create_cluster(clusterName="deps")
    ecs.register_task_definition(family="deps", containerDefinitions=[
        {"name": "app", "image": task_server.image, "memory": 32, "stopTimeout": 1,
         "command": ["sleep", "300"],
         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
        {"name": "init", "image": task_server.image, "memory": 32, "essential": False,
         "command": ["sh", "-c", "sleep 1; exit 0"]},
    ])
    arn = ecs.run_task(cluster="deps", taskDefinition="deps")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="deps", tasks=[arn],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    deadline = time.monotonic() + 60
    while True:
        containers = {c["name"]: c for c in
                      ecs.describe_tasks(cluster="deps", tasks=[arn])["tasks"][0]["containers"]}
        if containers["init"]["lastStatus"] == "STOPPED" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert containers["init"]["lastStatus"] == "STOPPED"
    assert containers["init"]["exitCode"] == 0
    assert containers["app"]["lastStatus"] == "RUNNING"
    ecs.stop_task(cluster="deps", task=arn)


def test_health_checks_report_healthy_and_unhealthy(task_server):
    ecs = make_client(task_server.api_url)
    ecs.create_cluster(clusterName="health")
    for family, check in (("healthy", "true"), ("sick", "exit 1")):
        ecs.register_task_definition(family=family, containerDefinitions=[{
            "name": "app", "image": task_server.image, "memory": 32, "stopTimeout": 1,
            "command": ["sleep", "300"],
            "healthCheck": {"command": ["CMD-SHELL", check], "interval": 5, "timeout": 2,
                            "retries": 1, "startPeriod": 0}}])
    arns = {f: ecs.run_task(cluster="health", taskDefinition=f)["tasks"][0]["taskArn"]
            for f in ("healthy", "sick")}
    want = {"healthy": "HEALTHY", "sick": "UNHEALTHY"}
    deadline = time.monotonic() + 60
    while True:
        tasks = ecs.describe_tasks(cluster="health", tasks=list(arns.values()))["tasks"]
        got = {f: next(t for t in tasks if t["taskArn"] == a).get("healthStatus")
               for f, a in arns.items()}
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert got == want
    sick = next(t for t in tasks if t["taskArn"] == arns["sick"])
    assert sick["lastStatus"] == "RUNNING", "standalone tasks keep running"
    for a in arns.values():
        ecs.stop_task(cluster="health", task=a)
