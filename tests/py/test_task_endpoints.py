"""The endpoints the ECS agent serves a task's containers, on Docker: task metadata v4 and v3
(`ECS_CONTAINER_METADATA_URI_V4`, `ECS_CONTAINER_METADATA_URI`) with the engine's statistics,
reached from inside the container on every network mode; task-role credentials
(`AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN`) as an SDK's
container provider reads them, static or from an STS endpoint (moto); and the agent API's task
protection (`ECS_AGENT_URI`)."""
import json
import subprocess
import urllib.error
import urllib.request

import pytest

from test_secrets import AWS_TEST_CREDENTIALS, moto  # noqa: F401 (a fixture)

WAIT = {"Delay": 1, "MaxAttempts": 60}
IMAGE = "kecs-test/busybox:latest"
ROLE = "arn:aws:iam::000000000000:role/app-role"


@pytest.fixture
def start(start_docker):
    return start_docker


def inside(container_id, script):
    """What `script` prints, run by sh inside the container."""
    out = subprocess.run(["docker", "exec", container_id, "sh", "-c", script],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, (script, out.stderr)
    return out.stdout


def fetch(container_id, variable, suffix=""):
    """The JSON the container gets from the URL in its environment `variable` (plus `suffix`)."""
    return json.loads(inside(container_id, f'wget -qO- "${variable}{suffix}"'))


def run_task(ecs, family, network_mode="bridge", role=None, **run):
    ecs.create_cluster(clusterName="meta")
    extra = {"taskRoleArn": role} if role else {}
    ecs.register_task_definition(
        family=family, networkMode=network_mode, cpu="256", memory="512", **extra,
        containerDefinitions=[
            {"name": name, "image": IMAGE, "memory": 32, "cpu": 10, "stopTimeout": 1,
             "command": ["sleep", "300"], "dockerLabels": {"team": "kecs"}}
            for name in ("app", "sidecar")])
    if network_mode == "awsvpc":
        run["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    arn = ecs.run_task(cluster="meta", taskDefinition=family, **run)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="meta", tasks=[arn], WaiterConfig=WAIT)
    return ecs.describe_tasks(cluster="meta", tasks=[arn])["tasks"][0]


def by_name(task):
    return {c["name"]: c for c in task["containers"]}


@pytest.mark.parametrize("network_mode", ["bridge", "awsvpc", "host"])
def test_metadata_v4_and_v3_answer_inside_the_container(start, network_mode):
    ecs = start()
    task = run_task(ecs, f"meta-{network_mode}", network_mode)
    containers = by_name(task)
    app = containers["app"]
    family_rev = task["taskDefinitionArn"].rsplit("/", 1)[1]

    me = fetch(app["runtimeId"], "ECS_CONTAINER_METADATA_URI_V4")
    assert me["DockerId"] == app["runtimeId"]
    assert me["Name"] == "app"
    assert me["DockerName"] == f"kecs-meta-{task['taskArn'].rsplit('/', 1)[1]}-app"
    assert me["Image"] == IMAGE
    assert me["ContainerARN"] == app["containerArn"]
    assert me["KnownStatus"] == "RUNNING" and me["DesiredStatus"] == "RUNNING"
    assert me["Type"] == "NORMAL"
    assert me["Limits"] == {"CPU": 10, "Memory": 32}
    assert me["Labels"]["team"] == "kecs"
    assert me["Labels"]["com.amazonaws.ecs.task-arn"] == task["taskArn"]
    assert me["Labels"]["com.amazonaws.ecs.cluster"] == "meta"
    assert me["Labels"]["com.amazonaws.ecs.task-definition-family"] == f"meta-{network_mode}"
    assert me["Labels"]["com.amazonaws.ecs.task-definition-version"] == family_rev.split(":")[1]
    assert me["StartedAt"].endswith("Z")
    assert [n["NetworkMode"] for n in me["Networks"]] == [network_mode]
    if network_mode == "awsvpc":
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        assert me["Networks"][0]["IPv4Addresses"] == [details["privateIPv4Address"]]
        assert me["Networks"][0]["AttachmentIndex"] == 0

    whole = fetch(app["runtimeId"], "ECS_CONTAINER_METADATA_URI_V4", "/task")
    assert whole["TaskARN"] == task["taskArn"]
    assert whole["Cluster"] == task["clusterArn"]
    assert whole["Family"] == f"meta-{network_mode}"
    assert whole["Revision"] == family_rev.split(":")[1]
    assert whole["KnownStatus"] == "RUNNING" and whole["DesiredStatus"] == "RUNNING"
    assert whole["LaunchType"] == "EC2"
    assert whole["Limits"] == {"CPU": 0.25, "Memory": 512}
    assert whole["PullStartedAt"].endswith("Z") and whole["PullStoppedAt"].endswith("Z")
    assert sorted(c["Name"] for c in whole["Containers"]) == ["app", "sidecar"]
    assert {c["DockerId"] for c in whole["Containers"]} == {c["runtimeId"] for c in task["containers"]}

    # v3: the same container, without v4's additions.
    v3 = fetch(containers["sidecar"]["runtimeId"], "ECS_CONTAINER_METADATA_URI")
    assert v3["Name"] == "sidecar" and v3["DockerId"] == containers["sidecar"]["runtimeId"]
    assert "LaunchType" not in fetch(app["runtimeId"], "ECS_CONTAINER_METADATA_URI", "/task")

    stats = fetch(app["runtimeId"], "ECS_CONTAINER_METADATA_URI_V4", "/stats")
    assert stats["id"] == app["runtimeId"]
    assert stats["memory_stats"]["usage"] > 0, stats["memory_stats"]
    assert "cpu_stats" in stats and "precpu_stats" in stats
    task_stats = fetch(app["runtimeId"], "ECS_CONTAINER_METADATA_URI_V4", "/task/stats")
    assert set(task_stats) == {c["runtimeId"] for c in task["containers"]}
    ecs.stop_task(cluster="meta", task=task["taskArn"])


def environment_of(container_id):
    lines = inside(container_id, "env").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


CREDENTIALS = ('wget -qO- --header "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" '
               '"$AWS_CONTAINER_CREDENTIALS_FULL_URI"')


def test_task_role_credentials_are_served_as_sdks_read_them(start):
    ecs = start()
    task = run_task(ecs, "creds", role=ROLE)
    app = by_name(task)["app"]
    got = json.loads(inside(app["runtimeId"], CREDENTIALS))
    assert set(got) == {"RoleArn", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    assert got["RoleArn"] == ROLE
    assert got["AccessKeyId"] and got["SecretAccessKey"] and got["Token"]
    assert got["Expiration"].endswith("Z")
    env = environment_of(app["runtimeId"])
    # The relative form would send SDKs to 169.254.170.2 port 80, which KECS does not take.
    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in env
    url = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    assert url.startswith("http://169.254.170.2:"), url

    # Another token, or a forged ID, gets nothing.
    forged = url[:-1] + ("1" if url.endswith("0") else "0")
    for target, token in ((url, "not-the-token"), (forged, None)):
        request = urllib.request.Request(target, headers={"Authorization": token} if token else {})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(request, timeout=10)
        assert e.value.code == 401

    # RunTask's override names the role; a task without one is given no credentials URI.
    other = "arn:aws:iam::000000000000:role/override"
    overridden = run_task(ecs, "creds", role=ROLE, overrides={"taskRoleArn": other})
    got = json.loads(inside(by_name(overridden)["app"]["runtimeId"], CREDENTIALS))
    assert got["RoleArn"] == other
    plain = run_task(ecs, "no-role")
    env = environment_of(by_name(plain)["app"]["runtimeId"])
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in env
    assert env["ECS_CONTAINER_METADATA_URI_V4"].startswith("http://169.254.170.2:")


def test_credentials_can_come_from_an_sts_endpoint(start, moto):  # noqa: F811
    url, _ = moto
    ecs = start(KECS_TASK_CREDENTIALS="sts", KECS_AWS_ENDPOINT_URL=url, **AWS_TEST_CREDENTIALS)
    task = run_task(ecs, "sts", role=ROLE)
    got = json.loads(inside(by_name(task)["app"]["runtimeId"], CREDENTIALS))
    assert got["RoleArn"] == ROLE
    # moto's AssumeRole hands out its own temporary keys, not KECS's static test ones.
    assert got["AccessKeyId"].startswith("ASIA") and got["AccessKeyId"] != "ASIAKECSTASKROLETEST"
    assert len(got["Token"]) > 20


def agent_call(url, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_agent_api_protects_a_service_task(start):
    ecs = start()
    ecs.create_cluster(clusterName="meta")
    ecs.register_task_definition(family="worker", containerDefinitions=[
        {"name": "app", "image": IMAGE, "memory": 32, "stopTimeout": 1,
         "command": ["sleep", "300"]}])
    ecs.create_service(cluster="meta", serviceName="worker", taskDefinition="worker",
                       desiredCount=1)
    ecs.get_waiter("services_stable").wait(cluster="meta", services=["worker"],
                                           WaiterConfig=WAIT)
    arn = ecs.list_tasks(cluster="meta", serviceName="worker")["taskArns"][0]
    task = ecs.describe_tasks(cluster="meta", tasks=[arn])["tasks"][0]
    runtime_id = task["containers"][0]["runtimeId"]
    # Reachable from inside the container.
    state = json.loads(inside(runtime_id, 'wget -qO- "$ECS_AGENT_URI/task-protection/v1/state"'))
    assert state == {"protection": {"ProtectionEnabled": False, "TaskArn": arn}}

    url = environment_of(runtime_id)["ECS_AGENT_URI"] + "/task-protection/v1/state"
    status, body = agent_call(url, "PUT", {"ProtectionEnabled": True, "ExpiresInMinutes": 5})
    assert status == 200, body
    assert body["protection"]["ProtectionEnabled"] is True
    assert body["protection"]["ExpirationDate"].endswith("Z")
    seen = ecs.get_task_protection(cluster="meta", tasks=[arn])["protectedTasks"][0]
    assert seen["protectionEnabled"] is True

    status, body = agent_call(url, "PUT", {"ProtectionEnabled": True, "ExpiresInMinutes": 0})
    assert status == 400 and body["error"]["Code"] == "InvalidParameterException", body
    assert body["error"]["Arn"] == arn
    status, body = agent_call(url, "PUT", {"ExpiresInMinutes": 5})
    assert status == 400, body


def test_unknown_ids_and_versions_get_404(start):
    ecs = start()
    task = run_task(ecs, "unknown")
    url = environment_of(by_name(task)["app"]["runtimeId"])["ECS_CONTAINER_METADATA_URI_V4"]
    base = url.rsplit("/v4/", 1)[0]
    for path in ("/v4/bm90LWEtdGFzaw.app", "/v4/garbage", "/v5/" + url.rsplit("/", 1)[1]):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + path, timeout=10)
        assert e.value.code == 404, path
