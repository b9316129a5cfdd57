"""The Docker engine failing under KECS: KECS talks to the engine through a socket proxy the test
can cut (as a stopped engine: every connection dropped, new ones refused) and restore. While the
engine is away the API keeps answering and tasks are reported truthfully; what happened to the
containers meanwhile (killed as by an engine restart, or removed) shows once the engine is back,
and services replace their lost tasks."""
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import KecsServer, http, make_client, remove_containers_of

IMAGE = "kecs-test/busybox:latest"
ENGINE = "/var/run/docker.sock"


class EngineProxy:
    """A Unix socket forwarding to the Docker engine's, which `cut()` closes (dropping every
    open connection) and `restore()` opens again."""

    def __init__(self, path):
        self.path = str(path)
        self.lock = threading.Lock()
        self.conns = []
        self.listener = None

    def restore(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self):
        with self.lock:
            # shutdown() wakes the thread blocked in accept(); close() alone does not.
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns = []

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(ENGINE)
            with self.lock:
                self.conns += [client, engine]
            for a, b in ((client, engine), (engine, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def wait_for(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def faulty(kecs_binary, tmp_path):
    proxy = EngineProxy(tmp_path / "engine.sock").restore()
    s = KecsServer(tmp_path / "data", runtime="docker",
                   env={"DOCKER_HOST": f"unix://{proxy.path}"}).start()
    yield s, proxy
    s.stop()
    remove_containers_of(s)
    proxy.cut()


def test_engine_stopped_and_restarted_under_kecs(faulty):
    server, proxy = faulty
    ecs = make_client(server.api_url)
    ecs.create_cluster(clusterName="faults")
    ecs.register_task_definition(family="sleeper", containerDefinitions=[{
        "name": "app", "image": IMAGE, "memory": 32, "stopTimeout": 1,
        "command": ["sleep", "300"]}])

    def task(arn):
        return ecs.describe_tasks(cluster="faults", tasks=[arn])["tasks"][0]

    def runtime_id(arn):
        return task(arn)["containers"][0]["runtimeId"]

    killed, removed, stopping = (
        ecs.run_task(cluster="faults", taskDefinition="sleeper")["tasks"][0]["taskArn"]
        for _ in range(3))
    ecs.create_service(cluster="faults", serviceName="web", taskDefinition="sleeper",
                       desiredCount=1)
    waiter = {"Delay": 1, "MaxAttempts": 60}
    ecs.get_waiter("tasks_running").wait(cluster="faults", tasks=[killed, removed, stopping],
                                         WaiterConfig=waiter)
    ecs.get_waiter("services_stable").wait(cluster="faults", services=["web"],
                                           WaiterConfig=waiter)
    [service_task] = ecs.list_tasks(cluster="faults", serviceName="web")["taskArns"]
    ids = {arn: runtime_id(arn) for arn in (killed, removed, service_task)}

    proxy.cut()
    # The API answers at once, from its own state.
    started = time.monotonic()
    assert ecs.describe_clusters(clusters=["faults"])["clusters"][0]["status"] == "ACTIVE"
    assert task(killed)["lastStatus"] == "RUNNING"
    assert time.monotonic() - started < 2
    assert http("GET", f"{server.admin_url}/health")[0] == 200
    # A task cannot start without an engine, and says why.
    doomed = ecs.run_task(cluster="faults", taskDefinition="sleeper")["tasks"][0]["taskArn"]
    failed = wait_for("the launch to fail",
                      lambda: (t := task(doomed))["lastStatus"] == "STOPPED" and t)
    assert failed["stopCode"] == "TaskFailedToStart"
    assert "Docker engine" in failed["stoppedReason"]
    assert "does not answer" in failed["stoppedReason"]
    # A stop asked for now is accepted; it cannot finish before the engine is back.
    ecs.stop_task(cluster="faults", task=stopping, reason="while away")
    time.sleep(3)
    assert task(stopping)["desiredStatus"] == "STOPPED"
    assert task(stopping)["lastStatus"] != "STOPPED"
    # Meanwhile the engine restarts (its containers die) and someone removes one.
    docker("kill", ids[killed], ids[service_task])
    docker("rm", "-f", ids[removed])

    proxy.restore()
    gone = wait_for("the killed task to be reported",
                    lambda: (t := task(killed))["lastStatus"] == "STOPPED" and t)
    assert gone["stopCode"] == "EssentialContainerExited"
    assert gone["containers"][0]["exitCode"] == 137
    lost = wait_for("the removed task to be reported",
                    lambda: (t := task(removed))["lastStatus"] == "STOPPED" and t)
    assert lost["stopCode"] == "EssentialContainerExited"
    assert lost["containers"][0].get("exitCode") is None
    done = wait_for("the stop to finish",
                    lambda: (t := task(stopping))["lastStatus"] == "STOPPED" and t)
    assert done["stopCode"] == "UserInitiated"
    assert done["stoppedReason"] == "while away"
    # The service replaces its task that died with the engine.
    assert wait_for("the service task to be reported",
                    lambda: task(service_task)["lastStatus"] == "STOPPED")
    def replacement():
        arns = ecs.list_tasks(cluster="faults", serviceName="web")["taskArns"]
        return [a for a in arns if a != service_task and task(a)["lastStatus"] == "RUNNING"]
    assert len(wait_for("a replacement task", replacement)) == 1
    # And new tasks start again.
    fresh = ecs.run_task(cluster="faults", taskDefinition="sleeper")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="faults", tasks=[fresh], WaiterConfig=waiter)
