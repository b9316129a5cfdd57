"""Stopped tasks are forgotten after `--stopped-task-retention` seconds (ECS forgets them after
about an hour): DescribeTasks then reports them MISSING, ListTasks no longer lists them, their
tags go, and on Docker their containers are removed. Running tasks stay."""
import subprocess
import time

import pytest

from conftest import KecsServer, make_client, remove_containers_of


def wait_missing(ecs, cluster, arn, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = ecs.describe_tasks(cluster=cluster, tasks=[arn])
        if answer["failures"]:
            return answer
        time.sleep(0.3)
    pytest.fail(f"{arn} still described after {timeout} s")


@pytest.mark.parametrize("runtime", ["none", "docker"])
def test_stopped_tasks_are_forgotten_after_their_retention(kecs_binary, tmp_path, runtime):
    server = KecsServer(tmp_path / "data", runtime=runtime,
                        env={"KECS_STOPPED_TASK_RETENTION": "2"}).start()
    try:
        ecs = make_client(server.api_url)
        ecs.create_cluster(clusterName="keep")
        ecs.register_task_definition(family="t", containerDefinitions=[{
            "name": "app", "image": server.image, "memory": 32, "stopTimeout": 1,
            "command": ["sleep", "300"]}])
        done, alive = (ecs.run_task(cluster="keep", taskDefinition="t",
                                    tags=[{"key": "k", "value": "v"}])["tasks"][0]["taskArn"]
                       for _ in range(2))
        waiter = {"Delay": 1, "MaxAttempts": 60}
        ecs.get_waiter("tasks_running").wait(cluster="keep", tasks=[done, alive],
                                             WaiterConfig=waiter)
        ecs.stop_task(cluster="keep", task=done)
        ecs.get_waiter("tasks_stopped").wait(cluster="keep", tasks=[done], WaiterConfig=waiter)
        # Still there right after it stopped.
        assert ecs.describe_tasks(cluster="keep", tasks=[done])["tasks"][0]["lastStatus"] == "STOPPED"
        answer = wait_missing(ecs, "keep", done)
        assert answer["failures"] == [{"arn": done, "reason": "MISSING"}]
        assert done not in ecs.list_tasks(cluster="keep", desiredStatus="STOPPED")["taskArns"]
        assert ecs.describe_tasks(cluster="keep", tasks=[alive])["tasks"][0]["lastStatus"] == "RUNNING"
        assert ecs.list_tags_for_resource(resourceArn=alive)["tags"] == [{"key": "k", "value": "v"}]
        if runtime == "docker":
            left = subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"label=kecs.task-arn={done}"],
                capture_output=True, text=True, check=True).stdout.split()
            assert left == [], "the forgotten task's container is removed"
        # Forgotten for good: a restart does not bring it back.
        server.stop()
        server = KecsServer(tmp_path / "data", runtime=runtime,
                            env={"KECS_STOPPED_TASK_RETENTION": "2"}).start()
        ecs = make_client(server.api_url)
        assert ecs.describe_tasks(cluster="keep", tasks=[done])["failures"][0]["reason"] == "MISSING"
        assert ecs.describe_tasks(cluster="keep", tasks=[alive])["tasks"][0]["lastStatus"] == "RUNNING"
    finally:
        server.stop()
        if runtime == "docker":
            remove_containers_of(server)


def test_deleted_clusters_are_forgotten_after_the_retention(kecs_binary, tmp_path):
    env = {"KECS_STOPPED_TASK_RETENTION": "2"}
    server = KecsServer(tmp_path / "data", runtime="none", env=env).start()
    try:
        ecs = make_client(server.api_url)
        for name in ("gone", "keep"):
            ecs.create_cluster(clusterName=name, tags=[{"key": "k", "value": name}])
        gone = ecs.delete_cluster(cluster="gone")["cluster"]["clusterArn"]
        assert gone in ecs.list_clusters()["clusterArns"]
        deadline = time.monotonic() + 60
        while gone in ecs.list_clusters()["clusterArns"]:
            assert time.monotonic() < deadline, "the deleted cluster is still listed"
            time.sleep(0.3)
        assert ecs.describe_clusters(clusters=[gone])["failures"] == [{"arn": gone, "reason": "MISSING"}]
        keep = ecs.describe_clusters(clusters=["keep"])["clusters"][0]["clusterArn"]
        assert ecs.list_clusters()["clusterArns"] == [keep]
        # Forgotten for good, tags included: a restart does not bring it back.
        server.stop()
        server = KecsServer(tmp_path / "data", runtime="none", env=env).start()
        ecs = make_client(server.api_url)
        assert ecs.list_clusters()["clusterArns"] == [keep]
        assert ecs.list_tags_for_resource(resourceArn=keep)["tags"] == [{"key": "k", "value": "keep"}]
        ecs.create_cluster(clusterName="gone")
        assert ecs.list_tags_for_resource(resourceArn=gone)["tags"] == []
    finally:
        server.stop()
