"""Container networking as the ECS agent sets it up on the Docker engine."""
import pytest

from conftest import make_client

WAIT = {"Delay": 1, "MaxAttempts": 60}


@pytest.mark.parametrize("disabled,exit_code", [(True, 0), (False, 1)])
def test_disable_networking_leaves_the_container_loopback_only(docker_server, disabled, exit_code):
    ecs = make_client(docker_server.api_url)
    ecs.create_cluster(clusterName="nonet")
    family = f"nonet-{str(disabled).lower()}"
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "app", "image": docker_server.image, "memory": 32, "disableNetworking": disabled,
        # Exit 0 only when loopback is the one interface.
        "command": ["sh", "-c", '[ "$(ls /sys/class/net)" = lo ]'],
    }])
    arn = ecs.run_task(cluster="nonet", taskDefinition=family)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_stopped").wait(cluster="nonet", tasks=[arn], WaiterConfig=WAIT)
    task = ecs.describe_tasks(cluster="nonet", tasks=[arn])["tasks"][0]
    assert task["containers"][0]["exitCode"] == exit_code, task


def test_a_non_essential_container_that_cannot_start_leaves_the_task_running(docker_server):
    ecs = make_client(docker_server.api_url)
    ecs.create_cluster(clusterName="nonessential")
    ecs.register_task_definition(
        family="data-container",
        volumes=[{"name": "shared"}],
        containerDefinitions=[
            {"name": "data", "image": docker_server.image, "memory": 32, "essential": False,
             "command": ["/no/such/program"],
             "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}]},
            # Its volumes stay usable through volumesFrom.
            {"name": "app", "image": docker_server.image, "memory": 32, "stopTimeout": 1,
             "command": ["sh", "-c", "test -d /shared && sleep 300"],
             "volumesFrom": [{"sourceContainer": "data"}]},
        ])
    arn = ecs.run_task(cluster="nonessential", taskDefinition="data-container")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="nonessential", tasks=[arn], WaiterConfig=WAIT)
    task = ecs.describe_tasks(cluster="nonessential", tasks=[arn])["tasks"][0]
    containers = {c["name"]: c for c in task["containers"]}
    assert containers["data"]["lastStatus"] == "STOPPED"
    assert containers["data"]["reason"].startswith("CannotStartContainerError"), containers["data"]
    assert containers["app"]["lastStatus"] == "RUNNING"
    # Still running a moment later: the failed container did not stop the task.
    import time
    time.sleep(3)
    again = ecs.describe_tasks(cluster="nonessential", tasks=[arn])["tasks"][0]
    assert again["lastStatus"] == "RUNNING", again.get("stoppedReason")
    ecs.stop_task(cluster="nonessential", task=arn)
