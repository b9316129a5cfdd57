"""KECS on the kubernetes runtime, restarted after kill -9 (against the fake API server): it
adopts the pods of its tasks, records exits that happened while it was down, and deletes pods
labelled as its own that belong to no task it knows."""
import json
import signal
import time

from conftest import FakeKube, http, make_client


def wait_status(ecs, cluster, arn, status, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if task["lastStatus"] == status or time.monotonic() > deadline:
            return task
        time.sleep(0.3)


def test_a_restarted_kecs_adopts_its_pods_and_deletes_orphans(kecs_binary, tmp_path):
    fake = FakeKube(tmp_path)
    data = tmp_path / "data"
    kecs = fake.kecs(data).start()
    try:
        ecs = make_client(kecs.api_url)
        ecs.create_cluster(clusterName="recover")
        for family, script in (("steady", "sleep 300"), ("brief", "sleep 4; exit 5")):
            ecs.register_task_definition(family=family, containerDefinitions=[{
                "name": "app", "image": kecs.image, "memory": 32, "stopTimeout": 1,
                "command": ["sh", "-c", script]}])
        steady = ecs.run_task(cluster="recover", taskDefinition="steady")["tasks"][0]["taskArn"]
        brief = ecs.run_task(cluster="recover", taskDefinition="brief")["tasks"][0]["taskArn"]
        steady_id = wait_status(ecs, "recover", steady, "RUNNING")["containers"][0]["runtimeId"]
        assert wait_status(ecs, "recover", brief, "RUNNING")["lastStatus"] == "RUNNING"
        namespace = steady_id.split("/")[0]

        # A pod labelled as this KECS's, for a task it never had.
        instance = (data / "instance-id").read_text().strip()
        orphan_arn = "arn:aws:ecs:us-east-1:000000000000:task/recover/0123456789abcdef0123456789abcdef"
        orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "0123456789abcdef0123456789abcdef",
            "labels": {"kecs.io/instance": instance,
                       "kecs.io/task-id": "0123456789abcdef0123456789abcdef"},
            "annotations": {"kecs.io/task-arn": orphan_arn,
                            "kecs.io/containers": json.dumps({"app": "app"})}},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "app", "image": kecs.image, "command": ["sleep", "300"]}]}}
        pods = f"{fake.url}/api/v1/namespaces/{namespace}/pods"
        status, _, body = http("POST", pods, json.dumps(orphan).encode(),
                               {"content-type": "application/json"})
        assert status == 201, body

        # Crash, and let the brief task's container exit while KECS is down.
        kecs.stop(signal.SIGKILL)
        time.sleep(5)
        kecs = fake.kecs(data).start()
        ecs = make_client(kecs.api_url)
        task = ecs.describe_tasks(cluster="recover", tasks=[steady])["tasks"][0]
        assert task["lastStatus"] == "RUNNING"
        assert task["containers"][0]["runtimeId"] == steady_id
        stopped = wait_status(ecs, "recover", brief, "STOPPED")
        assert stopped["stopCode"] == "EssentialContainerExited"
        assert stopped["containers"][0]["exitCode"] == 5
        assert http("GET", f"{pods}/0123456789abcdef0123456789abcdef")[0] == 404, \
            "the orphan is deleted"

        # The adopted task is still KECS's to stop.
        ecs.stop_task(cluster="recover", task=steady)
        stopped = wait_status(ecs, "recover", steady, "STOPPED")
        assert stopped["containers"][0]["exitCode"] == 137
    finally:
        kecs.stop(signal.SIGKILL)
        fake.stop()
