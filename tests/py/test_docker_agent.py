"""Containers as the ECS agent runs them on the Docker engine: networking, start failures,
dependency timeouts."""
import socket
import subprocess
import threading
import time

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
    time.sleep(3)
    again = ecs.describe_tasks(cluster="nonessential", tasks=[arn])["tasks"][0]
    assert again["lastStatus"] == "RUNNING", again.get("stoppedReason")
    ecs.stop_task(cluster="nonessential", task=arn)


def test_a_dependency_past_its_start_timeout_stops_the_task(docker_server):
    # startTimeout on the dependency: when it has not reached the condition in time, the
    # dependent container gives up, never starts, and the task stops with the dependency.
    ecs = make_client(docker_server.api_url)
    ecs.create_cluster(clusterName="timeout")
    ecs.register_task_definition(family="never-healthy", containerDefinitions=[
        {"name": "db", "image": docker_server.image, "memory": 32, "essential": False,
         "startTimeout": 3, "stopTimeout": 2, "command": ["sleep", "300"],
         "healthCheck": {"command": ["CMD-SHELL", "exit 1"], "interval": 5, "retries": 10}},
        {"name": "app", "image": docker_server.image, "memory": 32, "command": ["sleep", "300"],
         "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
    ])
    begun = time.monotonic()
    arn = ecs.run_task(cluster="timeout", taskDefinition="never-healthy")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_stopped").wait(cluster="timeout", tasks=[arn], WaiterConfig=WAIT)
    assert time.monotonic() - begun < 30, "gave up after the dependency's startTimeout"
    task = ecs.describe_tasks(cluster="timeout", tasks=[arn])["tasks"][0]
    assert task["stopCode"] == "TaskFailedToStart", task
    assert "startTimeout of 3 s" in task["stoppedReason"], task["stoppedReason"]
    containers = {c["name"]: c for c in task["containers"]}
    assert containers["db"]["exitCode"] == 137, containers["db"]
    assert "exitCode" not in containers["app"], "the dependent never started"
    assert containers["app"]["lastStatus"] == "STOPPED"


def answer_a(query, address):
    """A DNS answer to `query` (one question) with one A record of `address`."""
    end = query.index(b"\0", 12) + 5  # the question: its name, type and class
    header = query[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
    record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(address)
    return header + query[12:end] + record


def test_dns_servers_answer_and_search_domains_show_in_bridge_mode(docker_server):
    # A DNS server on the host's docker0 address that knows one name; the container resolves
    # it through Docker's embedded resolver, which forwards to the dnsServers given.
    # docker0's address (the default bridge's gateway): containers on any bridge reach it.
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "docker0"],
                           capture_output=True, text=True, check=True).stdout.split()
    gateway = shown[shown.index("inet") + 1].split("/")[0]
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((gateway, 53))
    server.settimeout(0.5)
    asked = []
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                query, peer = server.recvfrom(512)
            except socket.timeout:
                continue
            asked.append(query)
            server.sendto(answer_a(query, "10.1.2.3"), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        ecs = make_client(docker_server.api_url)
        ecs.create_cluster(clusterName="dns")
        ecs.register_task_definition(family="dns", networkMode="bridge", containerDefinitions=[{
            "name": "app", "image": docker_server.image, "memory": 32,
            "dnsServers": [gateway], "dnsSearchDomains": ["corp.example"],
            "command": ["sh", "-c",
                        "busybox grep -q 'search corp.example' /etc/resolv.conf || exit 3; "
                        "busybox nslookup probe.kecs.test | busybox grep -q 10.1.2.3 || exit 4"],
        }])
        arn = ecs.run_task(cluster="dns", taskDefinition="dns")["tasks"][0]["taskArn"]
        ecs.get_waiter("tasks_stopped").wait(cluster="dns", tasks=[arn], WaiterConfig=WAIT)
        task = ecs.describe_tasks(cluster="dns", tasks=[arn])["tasks"][0]
        assert task["containers"][0]["exitCode"] == 0, task
        assert any(b"probe" in q for q in asked), "the query reached the given server"
    finally:
        done.set()
        thread.join()
        server.close()


def test_an_awsvpc_task_is_named_after_its_address(docker_server):
    # On ECS an awsvpc task's hostname is the EC2-style name of its ENI's address.
    ecs = make_client(docker_server.api_url)
    ecs.create_cluster(clusterName="vpc")
    ecs.register_task_definition(family="vpc", networkMode="awsvpc", containerDefinitions=[
        {"name": name, "image": docker_server.image, "memory": 32, "stopTimeout": 1,
         "command": ["sleep", "300"]} for name in ("first", "second")])
    net = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    arns = [ecs.run_task(cluster="vpc", taskDefinition="vpc", networkConfiguration=net)
            ["tasks"][0]["taskArn"] for _ in range(2)]
    ecs.get_waiter("tasks_running").wait(cluster="vpc", tasks=arns, WaiterConfig=WAIT)
    names = set()
    for task in ecs.describe_tasks(cluster="vpc", tasks=arns)["tasks"]:
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        want = "ip-" + details["privateIPv4Address"].replace(".", "-") + ".ec2.internal"
        for container in task["containers"]:
            got = subprocess.run(["docker", "exec", container["runtimeId"], "hostname"],
                                 capture_output=True, text=True, check=True).stdout.strip()
            assert got == want, (container["name"], got, want)
        names.add(want)
        ecs.stop_task(cluster="vpc", task=task["taskArn"])
    assert len(names) == 2, "each task has its own address"
