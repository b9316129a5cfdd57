"""What only the kubernetes runtime does, against the fake API server: a KECS restarted after
kill -9 adopts the pods of its tasks, records exits that happened while it was down, and deletes
pods labelled as its own that belong to no task it knows; an ECS service with port mappings has
a Kubernetes Service while it lives; pods are told where the task endpoints are; an awslogs
container's output is a CloudWatch Logs stream, read from the pod's log; a traced launch writes
its trace context on its pod."""
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

from conftest import FakeKube, KecsServer, free_port, http, make_client


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

        # Crash, and let the brief task's container exit while KECS is down (waiting for the
        # exit itself, not for a time a slow machine could miss).
        kecs.stop(signal.SIGKILL)
        brief_pod = f"{pods}/{brief.rsplit('/', 1)[1]}"

        def brief_exited():
            status, _, body = http("GET", brief_pod)
            assert status == 200, body
            statuses = json.loads(body).get("status", {}).get("containerStatuses") or []
            return any((s.get("state") or {}).get("terminated") for s in statuses)
        deadline = time.monotonic() + 60
        while not brief_exited():
            assert time.monotonic() < deadline, "the brief task's container never exited"
            time.sleep(0.2)
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


def test_a_service_with_ports_has_a_kubernetes_service_while_it_lives(kecs_binary, tmp_path):
    fake = FakeKube(tmp_path)
    kecs = fake.kecs(tmp_path / "data").start()
    try:
        ecs = make_client(kecs.api_url)
        ecs.create_cluster(clusterName="named")
        ecs.register_task_definition(family="api", containerDefinitions=[{
            "name": "api", "image": kecs.image, "memory": 32, "stopTimeout": 1,
            "command": ["sleep", "300"], "portMappings": [{"containerPort": 9000}]}])
        ecs.create_service(cluster="named", serviceName="api", taskDefinition="api",
                           desiredCount=1)
        waiter = {"Delay": 1, "MaxAttempts": 60}
        ecs.get_waiter("services_stable").wait(cluster="named", services=["api"],
                                               WaiterConfig=waiter)
        [arn] = ecs.list_tasks(cluster="named", serviceName="api")["taskArns"]
        task = ecs.describe_tasks(cluster="named", tasks=[arn])["tasks"][0]
        namespace = task["containers"][0]["runtimeId"].split("/")[0]
        url = f"{fake.url}/api/v1/namespaces/{namespace}/services/api"
        status, _, body = http("GET", url)
        assert status == 200, body
        service = json.loads(body)
        assert service["spec"]["ports"][0]["port"] == 9000
        assert service["spec"]["selector"]["kecs.io/service"] == "api"
        ecs.delete_service(cluster="named", service="api", force=True)
        ecs.get_waiter("services_inactive").wait(cluster="named", services=["api"],
                                                 WaiterConfig=waiter)
        deadline = time.monotonic() + 60
        while http("GET", url)[0] != 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert http("GET", url)[0] == 404, "the Kubernetes Service goes with the ECS service"
    finally:
        kecs.stop(signal.SIGKILL)
        fake.stop()


def test_pods_are_told_where_the_task_endpoints_are(kecs_binary, tmp_path):
    # Pods cannot reach 169.254.170.2 on the KECS host: on Kubernetes the endpoints are served
    # where --metadata-addr says, and pods are told --metadata-url (here: the same address).
    fake = FakeKube(tmp_path)
    port = free_port()
    kecs = KecsServer(tmp_path / "data", runtime="kubernetes", env={
        "KUBECONFIG": fake.kubeconfig, "KECS_METADATA_ADDR": f"127.0.0.1:{port}"}).start()
    try:
        ecs = make_client(kecs.api_url)
        ecs.create_cluster(clusterName="meta")
        ecs.register_task_definition(
            family="meta", taskRoleArn="arn:aws:iam::000000000000:role/app",
            containerDefinitions=[{"name": "app", "image": kecs.image, "memory": 32,
                                   "stopTimeout": 1, "command": ["sleep", "300"]}])
        arn = ecs.run_task(cluster="meta", taskDefinition="meta")["tasks"][0]["taskArn"]
        task = wait_status(ecs, "meta", arn, "RUNNING")
        namespace, pod = task["containers"][0]["runtimeId"].split("/")[:2]
        status, _, body = http("GET", f"{fake.url}/api/v1/namespaces/{namespace}/pods/{pod}")
        assert status == 200, body
        env = {e["name"]: e.get("value") for e in json.loads(body)["spec"]["containers"][0]["env"]}
        uri = env["ECS_CONTAINER_METADATA_URI_V4"]
        assert uri.startswith(f"http://127.0.0.1:{port}/v4/"), uri
        status, _, body = http("GET", uri + "/task")
        assert status == 200, body
        assert json.loads(body)["TaskARN"] == arn
        status, _, body = http("GET", env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                               headers={"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
        assert status == 200, body
        assert json.loads(body)["RoleArn"] == "arn:aws:iam::000000000000:role/app"
        ecs.stop_task(cluster="meta", task=arn)
    finally:
        kecs.stop(signal.SIGKILL)
        fake.stop()


def test_a_pods_awslogs_output_is_a_cloudwatch_logs_stream(kecs_binary, tmp_path):
    fake = FakeKube(tmp_path)
    kecs = KecsServer(tmp_path / "data", runtime="kubernetes",
                      env={"KUBECONFIG": fake.kubeconfig}).start()
    try:
        ecs = make_client(kecs.api_url)
        logs = boto3.client("logs", endpoint_url=kecs.api_url, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")
        logs.create_log_group(logGroupName="/k8s/app")
        ecs.create_cluster(clusterName="logs")
        ecs.register_task_definition(
            family="logs",
            containerDefinitions=[{
                "name": "app", "image": kecs.image, "memory": 32,
                "command": ["sh", "-c", "echo one; echo two; sleep 300"],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/k8s/app", "awslogs-stream-prefix": "web"}}}])
        arn = ecs.run_task(cluster="logs", taskDefinition="logs")["tasks"][0]["taskArn"]
        wait_status(ecs, "logs", arn, "RUNNING")
        stream = f"web/app/{arn.rsplit('/', 1)[1]}"
        events = logs.get_log_events(logGroupName="/k8s/app", logStreamName=stream,
                                     startFromHead=True)["events"]
        assert [e["message"] for e in events] == ["one", "two"]
        assert all(e["timestamp"] > 1_700_000_000_000 for e in events), "the kubelet's times"
        ecs.stop_task(cluster="logs", task=arn)
    finally:
        kecs.stop(signal.SIGKILL)
        fake.stop()


def test_a_traced_launch_writes_the_callers_trace_on_its_pod(kecs_binary, tmp_path):
    # With traces exported (to a collector that takes everything), the pod carries its launch's
    # trace context, which continues the RunTask caller's trace.
    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    fake = FakeKube(tmp_path)
    kecs = KecsServer(tmp_path / "data", runtime="kubernetes", env={
        "KUBECONFIG": fake.kubeconfig,
        "KECS_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}"}).start()
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    try:
        ecs = make_client(kecs.api_url)
        ecs.create_cluster(clusterName="traced")
        ecs.register_task_definition(
            family="traced",
            containerDefinitions=[{"name": "app", "image": kecs.image, "memory": 32,
                                   "stopTimeout": 1, "command": ["sleep", "300"]}])

        def traceparent(request, **_):
            request.headers["traceparent"] = f"00-{trace_id}-b7ad6b7169203331-01"

        ecs.meta.events.register("before-send.ecs.RunTask", traceparent)
        arn = ecs.run_task(cluster="traced", taskDefinition="traced")["tasks"][0]["taskArn"]
        task = wait_status(ecs, "traced", arn, "RUNNING")
        namespace, pod = task["containers"][0]["runtimeId"].split("/")[:2]
        status, _, body = http("GET", f"{fake.url}/api/v1/namespaces/{namespace}/pods/{pod}")
        assert status == 200, body
        annotations = json.loads(body)["metadata"]["annotations"]
        version, trace, span, flags = annotations["kecs.io/traceparent"].split("-")
        assert (version, trace, flags) == ("00", trace_id, "01"), annotations
        assert span != "b7ad6b7169203331" and len(span) == 16, "the launch's own span"
        ecs.stop_task(cluster="traced", task=arn)
    finally:
        kecs.stop(signal.SIGKILL)
        fake.stop()
        collector.shutdown()
