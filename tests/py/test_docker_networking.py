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
