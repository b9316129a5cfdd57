"""Live events over /ws/events: EventBridge's shapes, the exact sequence a task and a service
produce, filters by query string and by subscribe message, and the connection bound."""
import json
import re

import pytest
import websocket

from conftest import ACCOUNT, REGION, cluster_arn, container, http, td_arn

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# How long a receive waits for the next event: a bound reached only when a test fails, so that
# a slow machine is not mistaken for a missing event.
RECV_SECONDS = 60


def connect(server, query=""):
    return websocket.create_connection(f"ws://127.0.0.1:{server.api_port}/ws/events{query}",
                                       timeout=RECV_SECONDS)


def receive(ws, n):
    """The next `n` messages, in order."""
    return [json.loads(ws.recv()) for _ in range(n)]


def nothing_more(ws, wait=0.5):
    """No further event within `wait` seconds (the events asserted have all been received)."""
    ws.settimeout(wait)
    try:
        extra = ws.recv()
    except websocket.WebSocketTimeoutException:
        return True
    finally:
        ws.settimeout(RECV_SECONDS)
    pytest.fail(f"unexpected event: {extra}")


def summary(e):
    """What distinguishes one event of a sequence from another."""
    d = e["detail"]
    if e["detail-type"] == "ECS Task State Change":
        return (e["detail-type"], d["lastStatus"], d["desiredStatus"])
    if e["detail-type"] in ("ECS Service Action", "ECS Deployment State Change"):
        return (e["detail-type"], d["eventName"])
    return (e["detail-type"], d["status"])


def test_a_task_and_a_service_produce_their_exact_event_sequence(server, ecs):
    ws = connect(server, "?cluster=ev")
    ecs.create_cluster(clusterName="ev")
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    task = ecs.run_task(cluster="ev", taskDefinition="web")["tasks"][0]
    ecs.stop_task(cluster="ev", task=task["taskArn"], reason="done")
    ecs.create_service(cluster="ev", serviceName="svc", taskDefinition="web", desiredCount=1)
    ecs.get_waiter("services_stable").wait(cluster="ev", services=["svc"],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    events = receive(ws, 7)
    assert [summary(e) for e in events] == [
        ("ECS Cluster State Change", "ACTIVE"),
        ("ECS Task State Change", "RUNNING", "RUNNING"),
        ("ECS Task State Change", "STOPPED", "STOPPED"),
        ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_IN_PROGRESS"),
        ("ECS Task State Change", "RUNNING", "RUNNING"),
        ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_COMPLETED"),
        ("ECS Service Action", "SERVICE_STEADY_STATE"),
    ]
    nothing_more(ws)

    # Every event in EventBridge's envelope; the task's detail is the task as ECS reports it.
    for e in events:
        assert e["version"] == "0" and e["source"] == "aws.ecs"
        assert (e["account"], e["region"]) == (ACCOUNT, REGION)
        assert ISO.match(e["time"]), e["time"]
        assert len(e["id"]) == 36
    started = events[1]
    assert started["resources"] == [task["taskArn"]]
    d = started["detail"]
    assert d["taskArn"] == task["taskArn"]
    assert d["clusterArn"] == cluster_arn("ev")
    assert d["taskDefinitionArn"] == td_arn("web", 1)
    assert ISO.match(d["createdAt"]) and ISO.match(d["updatedAt"])
    assert d["containers"][0]["name"] == container()["name"]
    stopped = events[2]["detail"]
    assert stopped["stoppedReason"] == "done" and stopped["stopCode"] == "UserInitiated"
    assert stopped["version"] > d["version"]
    service_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/ev/svc"
    deploying = events[3]
    assert deploying["resources"] == [service_arn]
    assert deploying["detail"]["eventType"] == "INFO"
    assert deploying["detail"]["deploymentId"].startswith("ecs-svc/")
    steady = next(e for e in events if e["detail-type"] == "ECS Service Action")
    assert steady["detail"]["clusterArn"] == cluster_arn("ev")
    assert ISO.match(steady["detail"]["createdAt"])
    ws.close()


def test_filters_by_query_string_and_by_subscribe_message(server, ecs):
    ecs.create_cluster(clusterName="a")
    ecs.create_cluster(clusterName="b")
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    only_b_tasks = connect(server, "?cluster=b&detail-type=ECS%20Task%20State%20Change")
    everything = connect(server)
    ecs.run_task(cluster="a", taskDefinition="web")
    ecs.run_task(cluster="b", taskDefinition="web")
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    (b_task,) = receive(only_b_tasks, 1)
    assert b_task["detail"]["clusterArn"] == cluster_arn("b")
    nothing_more(only_b_tasks)
    seen = receive(everything, 3)
    assert [e["detail-type"] for e in seen] == [
        "ECS Task State Change", "ECS Task State Change", "ECS Task Definition State Change"]
    assert seen[2]["detail"]["taskDefinitionArn"] == td_arn("web", 2)
    assert seen[2]["detail"]["status"] == "ACTIVE"

    # A subscribe message replaces the filter; it is acknowledged first.
    everything.send(json.dumps({"action": "subscribe", "cluster": cluster_arn("a")}))
    (ack,) = receive(everything, 1)
    assert ack == {"kecs": "subscribed", "cluster": cluster_arn("a"), "service": None,
                   "detailTypes": []}
    ecs.run_task(cluster="b", taskDefinition="web")
    ecs.run_task(cluster="a", taskDefinition="web")
    (a_task,) = receive(everything, 1)
    assert a_task["detail"]["clusterArn"] == cluster_arn("a")
    everything.send("not a subscription")
    (err,) = receive(everything, 1)
    assert err["kecs"] == "error"
    for ws in (only_b_tasks, everything):
        ws.close()


def test_service_filter_keeps_the_service_and_its_tasks(server, ecs):
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    ws = connect(server, "?service=svc")
    ecs.run_task(cluster="c", taskDefinition="web")  # not the service's
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=1)
    first, second = receive(ws, 2)
    assert first["detail-type"] == "ECS Deployment State Change"
    assert second["detail-type"] == "ECS Task State Change"
    assert second["detail"]["group"] == "service:svc"
    ws.close()


def test_websocket_clients_are_counted_and_plain_get_is_refused(server):
    before = connect(server)
    status, _, _ = http("GET", f"{server.api_url}/ws/events")
    assert status == 400  # not a WebSocket handshake
    metrics = http("GET", f"{server.admin_url}/metrics")[2].decode()
    assert re.search(r"^kecs_websocket_clients [1-9]", metrics, re.M), metrics
    before.close()


def test_a_docker_task_reports_each_step_of_its_life(docker_server):
    """On Docker: provisioning, pulling/creating, running (its containers up with it: the
    last started batch and RUNNING are one commit), the essential container's exit, the
    sidecar stopped, stopped — one event per change, in order."""
    ecs = docker_server.client()
    ecs.create_cluster(clusterName="dk")
    image = "kecs-test/busybox:latest"
    ecs.register_task_definition(family="t", containerDefinitions=[
        container("app", image=image, command=["sh", "-c", "sleep 1; exit 3"]),
        container("side", image=image, essential=False, command=["sleep", "30"], stopTimeout=1)])
    ws = connect(docker_server, "?cluster=dk&detail-type=ECS%20Task%20State%20Change")
    task = ecs.run_task(cluster="dk", taskDefinition="t")["tasks"][0]
    seen = []
    while not seen or seen[-1][0] != "STOPPED":
        d = json.loads(ws.recv())["detail"]
        assert d["taskArn"] == task["taskArn"]
        seen.append((d["lastStatus"], d["desiredStatus"], tuple(c["lastStatus"] for c in d["containers"])))
    assert seen == [
        ("PROVISIONING", "RUNNING", ("PENDING", "PENDING")),
        ("PENDING", "RUNNING", ("PENDING", "PENDING")),
        ("RUNNING", "RUNNING", ("RUNNING", "RUNNING")),
        ("RUNNING", "STOPPED", ("STOPPED", "RUNNING")),
        ("STOPPING", "STOPPED", ("STOPPED", "RUNNING")),
        ("STOPPING", "STOPPED", ("STOPPED", "STOPPED")),
        ("STOPPED", "STOPPED", ("STOPPED", "STOPPED")),
    ]
    nothing_more(ws)
    ws.close()


def test_clients_hanging_up_mid_write_do_not_hold_back_later_events(server, ecs):
    """A storm of CreateCluster requests whose clients reset the connection right after
    sending: the writes they started may land or not, but a later write's event still arrives."""
    import socket
    import struct
    from concurrent.futures import ThreadPoolExecutor

    from conftest import TARGET_PREFIX

    ws = connect(server, "?cluster=after-storm")

    def hang_up(i):
        body = json.dumps({"clusterName": f"storm-{i}"}).encode()
        head = (
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-amz-json-1.1\r\n"
            f"X-Amz-Target: {TARGET_PREFIX}CreateCluster\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        s = socket.create_connection(("127.0.0.1", server.api_port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(head + body)
        s.close()  # a reset, before any answer

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hang_up, range(300)))
    ecs.create_cluster(clusterName="after-storm")
    (event,) = receive(ws, 1)
    assert event["detail-type"] == "ECS Cluster State Change"
    assert event["detail"]["clusterArn"] == cluster_arn("after-storm")
