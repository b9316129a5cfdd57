"""Real containers through the AWS CLI and boto3: run a task, `aws ecs wait tasks-running` and
`tasks-stopped`, exit codes and stop reasons as ECS reports them."""
import json

import pytest

from conftest import make_client

IMAGE = "kecs-test/busybox:latest"


def register(aws, family, script, **extra):
    container = {"name": "app", "image": IMAGE, "memory": 32, "stopTimeout": 1,
                 "command": ["sh", "-c", script], **extra}
    aws("register-task-definition", "--family", family,
        "--container-definitions", json.dumps([container]))


def test_cli_waiters_follow_a_task_from_start_to_exit(aws_docker):
    aws_docker("create-cluster", "--cluster-name", "cli-docker")
    register(aws_docker, "cli-sleep", "sleep 3; exit 7")
    run = aws_docker("run-task", "--cluster", "cli-docker", "--task-definition", "cli-sleep")
    task = run["tasks"][0]
    assert task["lastStatus"] == "PROVISIONING"
    assert task["desiredStatus"] == "RUNNING"
    arn = task["taskArn"]
    aws_docker("wait", "tasks-running", "--cluster", "cli-docker", "--tasks", arn)
    running = aws_docker("describe-tasks", "--cluster", "cli-docker", "--tasks", arn)["tasks"][0]
    assert running["lastStatus"] == "RUNNING"
    assert running["containers"][0]["runtimeId"]
    aws_docker("wait", "tasks-stopped", "--cluster", "cli-docker", "--tasks", arn)
    stopped = aws_docker("describe-tasks", "--cluster", "cli-docker", "--tasks", arn)["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["containers"][0]["exitCode"] == 7
    assert stopped["stoppedAt"] >= stopped["startedAt"]


def test_cli_waiter_for_running_fails_on_a_missing_image(aws_docker):
    aws_docker("create-cluster", "--cluster-name", "cli-missing")
    aws_docker("register-task-definition", "--family", "cli-ghost", "--container-definitions",
               json.dumps([{"name": "app", "image": "kecs-test/absent:1", "memory": 32}]))
    arn = aws_docker("run-task", "--cluster", "cli-missing",
                     "--task-definition", "cli-ghost")["tasks"][0]["taskArn"]
    res = aws_docker("wait", "tasks-running", "--cluster", "cli-missing", "--tasks", arn, ok=False)
    assert res.returncode != 0
    assert "Waiter TasksRunning failed" in res.stderr
    stopped = aws_docker("describe-tasks", "--cluster", "cli-missing", "--tasks", arn)["tasks"][0]
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotPullContainerError")


def test_boto3_stop_task_and_waiter(docker_server):
    ecs = make_client(docker_server.api_url)
    ecs.create_cluster(clusterName="boto-docker")
    ecs.register_task_definition(family="boto-sleep", containerDefinitions=[{
        "name": "app", "image": IMAGE, "memory": 32, "stopTimeout": 1,
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
def test_admin_logs_endpoint_returns_the_last_lines(docker_server, tail):
    from conftest import http
    ecs = make_client(docker_server.api_url)
    ecs.create_cluster(clusterName="logs")
    ecs.register_task_definition(family="talker", containerDefinitions=[{
        "name": "app", "image": IMAGE, "memory": 32, "stopTimeout": 1,
        "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; sleep 300"]}])
    arn = ecs.run_task(cluster="logs", taskDefinition="talker")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="logs", tasks=[arn],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    task_id = arn.rsplit("/", 1)[1]
    url = f"{docker_server.admin_url}/_kecs/tasks/{task_id}/containers/app/logs?tail={tail}"
    import time
    lines = []
    for _ in range(50):
        status, _, body = http("GET", url)
        assert status == 200, body
        lines = json.loads(body)["lines"]
        if lines and lines[-1] == "line-5":
            break
        time.sleep(0.2)
    assert lines == [f"line-{i}" for i in range(6 - tail, 6)]
    status, _, _ = http("GET", f"{docker_server.admin_url}/_kecs/tasks/{task_id}/containers/nope/logs")
    assert status == 404
    ecs.stop_task(cluster="logs", task=arn)
