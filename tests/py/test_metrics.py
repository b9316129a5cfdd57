"""Prometheus metrics on the admin port after a known workload."""
import re
import time

import websocket

from conftest import container, http

IMAGE_MISSING = "kecs-test/not-built-here:latest"


def scrape(server):
    status, _, body = http("GET", f"{server.admin_url}/metrics")
    assert status == 200
    return body.decode()


def metric(text, name, **labels):
    """The value of one sample (0 when absent)."""
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if found == labels:
            return float(m.group(3))
    return 0.0


def wait_for(fn, timeout=60):
    end = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_metrics_count_a_known_workload(start_server):
    server = start_server()
    ecs = server.client()
    ecs.create_cluster(clusterName="m")
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    tasks = ecs.run_task(cluster="m", taskDefinition="web", count=3)["tasks"]
    ecs.stop_task(cluster="m", task=tasks[0]["taskArn"])
    ecs.create_service(cluster="m", serviceName="svc", taskDefinition="web", desiredCount=2)
    ecs.get_waiter("services_stable").wait(cluster="m", services=["svc"],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.api_port}/ws/events", timeout=10)
    text = scrape(server)

    assert metric(text, "kecs_task_state_transitions_total", from_state="NONE", to_state="RUNNING") == 5
    assert metric(text, "kecs_task_state_transitions_total", from_state="RUNNING", to_state="STOPPED") == 1
    assert metric(text, "kecs_tasks", cluster="m", last_status="RUNNING") == 4
    assert metric(text, "kecs_tasks", cluster="m", last_status="STOPPED") == 1
    assert metric(text, "kecs_active_services", cluster="m") == 1
    assert metric(text, "kecs_api_request_duration_seconds_count", operation="RunTask", status="200") == 1
    assert metric(text, "kecs_api_request_duration_seconds_count", operation="CreateService", status="200") == 1
    assert metric(text, "kecs_runtime_errors_total") == 0
    assert metric(text, "kecs_websocket_clients") == 1
    # DuckDB catches up with the journal once the writes stop.
    assert re.search(r"^kecs_store_backlog_groups \d+$", text, re.M), text
    wait_for(lambda: metric(scrape(server), "kecs_store_backlog_groups") == 0)
    ws.close()
    wait_for(lambda: metric(scrape(server), "kecs_websocket_clients") == 0)

    # Gauges follow deletions; counters only grow.
    ecs.update_service(cluster="m", service="svc", desiredCount=0)
    ecs.delete_service(cluster="m", service="svc")
    wait_for(lambda: metric(scrape(server), "kecs_tasks", cluster="m", last_status="RUNNING") == 2)
    text = scrape(server)
    assert metric(text, "kecs_active_services", cluster="m") == 0
    assert metric(text, "kecs_task_state_transitions_total", from_state="RUNNING", to_state="STOPPED") == 3


def test_runtime_errors_are_counted(docker_server):
    ecs = docker_server.client()
    before = metric(scrape(docker_server), "kecs_runtime_errors_total")
    ecs.create_cluster(clusterName="errors")
    ecs.register_task_definition(family="missing", containerDefinitions=[container(image=IMAGE_MISSING)])
    task = ecs.run_task(cluster="errors", taskDefinition="missing")["tasks"][0]
    ecs.get_waiter("tasks_stopped").wait(cluster="errors", tasks=[task["taskArn"]],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert metric(scrape(docker_server), "kecs_runtime_errors_total") >= before + 1
