"""Images pulled as the ECS agent pulls them, from a real registry (Debian's docker-registry,
distribution 2.8) on a loopback port, without and with htpasswd authentication: the pull
behaviours (`--image-pull`), credentials from Docker's configuration, the container's
imageDigest, and CannotPullContainerError with what the registry said."""
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import KecsServer, make_client, remove_containers_of

WAIT = {"Delay": 1, "MaxAttempts": 60}
TEST_IMAGE = "kecs-test/busybox:latest"

pytestmark = pytest.mark.skipif(not shutil.which("docker-registry") or not shutil.which("htpasswd"),
                                reason="docker-registry and htpasswd (apt: docker-registry apache2-utils)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker(*args, config=None):
    prefix = ["docker"] + (["--config", str(config)] if config else [])
    return subprocess.run(prefix + list(args), capture_output=True, text=True, check=True).stdout


class Registry:
    """A registry on a loopback port holding the test image as `<host>/kecs/busybox:v1`."""

    def __init__(self, root, auth):
        self.root, self.port = root, free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.image = f"{self.host}/kecs/busybox:v1"
        self.log = root / "registry.log"
        self.docker_config = root / "docker-config"  # `docker login` writes here, not in ~
        self.docker_config.mkdir(parents=True)
        config = {"version": 0.1, "log": {"level": "info"},
                  "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
                  "http": {"addr": self.host}}
        if auth:
            htpasswd = subprocess.run(["htpasswd", "-Bbn", "kecs", "s3cret"], capture_output=True,
                                      text=True, check=True).stdout
            (root / "htpasswd").write_text(htpasswd)
            config["auth"] = {"htpasswd": {"realm": "kecs", "path": str(root / "htpasswd")}}
        (root / "config.yml").write_text(json.dumps(config))  # YAML accepts JSON
        self.proc = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")],
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.1)
        if auth:
            subprocess.run(["docker", "--config", str(self.docker_config), "login", self.host,
                            "-u", "kecs", "--password-stdin"], input="s3cret", text=True,
                           capture_output=True, check=True)
        docker("tag", TEST_IMAGE, self.image)
        docker("push", self.image, config=self.docker_config)
        self.digest = docker("inspect", "-f", "{{index .RepoDigests 0}}", self.image).strip().split("@")[1]
        self.forget_local()

    def forget_local(self):
        subprocess.run(["docker", "rmi", "-f", self.image], capture_output=True)

    def pulls(self):
        """How many times the image's manifest was asked for by tag (once per pull)."""
        return len(re.findall(r'"(?:GET|HEAD) /v2/kecs/busybox/manifests/v1 ', self.log.read_text()))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.forget_local()


@pytest.fixture
def registry(tmp_path):
    r = Registry(tmp_path / "registry", auth=False)
    yield r
    r.stop()


@pytest.fixture
def private_registry(tmp_path):
    r = Registry(tmp_path / "private", auth=True)
    yield r
    r.stop()


@pytest.fixture
def start(kecs_binary, tmp_path):
    """Starts a docker-runtime KECS with extra environment; all stopped and cleaned afterwards."""
    started = []

    def start(name, **env):
        server = KecsServer(tmp_path / name, runtime="docker", env=env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        remove_containers_of(server)


def run(server, image, cluster="pull", **container):
    ecs = make_client(server.api_url)
    ecs.create_cluster(clusterName=cluster)
    family = "f" + str(abs(hash((image, str(container)))) % 10**8)
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "app", "image": image, "memory": 32, "stopTimeout": 1, "command": ["sleep", "300"],
        **container}])
    arn = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 60
    while True:
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if task["lastStatus"] in ("RUNNING", "STOPPED"):
            break
        assert time.monotonic() < deadline, task
        time.sleep(0.2)
    if task["lastStatus"] == "RUNNING":
        ecs.stop_task(cluster=cluster, task=arn)
    return task


def test_a_missing_image_is_pulled_and_its_digest_reported(registry, start):
    task = run(start("kecs"), registry.image)
    assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")
    assert task["containers"][0]["imageDigest"] == registry.digest
    assert task["pullStartedAt"] <= task["pullStoppedAt"]
    assert registry.pulls() == 1


def test_a_service_revision_records_its_images_digest(registry, start):
    # ECS resolves a deployment's image tags to digests; locally, once its first task pulled.
    ecs = make_client(start("kecs").api_url)
    ecs.create_cluster(clusterName="pull")
    ecs.register_task_definition(family="svc", containerDefinitions=[{
        "name": "app", "image": registry.image, "memory": 32, "stopTimeout": 1,
        "command": ["sleep", "300"]}])
    ecs.create_service(cluster="pull", serviceName="svc", taskDefinition="svc", desiredCount=1)
    ecs.get_waiter("services_stable").wait(cluster="pull", services=["svc"],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    deployments = ecs.list_service_deployments(cluster="pull", service="svc")["serviceDeployments"]
    deployment = ecs.describe_service_deployments(
        serviceDeploymentArns=[deployments[0]["serviceDeploymentArn"]])["serviceDeployments"][0]
    revision = ecs.describe_service_revisions(
        serviceRevisionArns=[deployment["targetServiceRevision"]["arn"]])["serviceRevisions"][0]
    assert revision["containerImages"] == [
        {"containerName": "app", "image": registry.image, "imageDigest": registry.digest}]
    ecs.update_service(cluster="pull", service="svc", desiredCount=0)


def test_credentials_come_from_dockers_configuration(private_registry, start, tmp_path):
    task = run(start("anon", DOCKER_CONFIG=str(tmp_path / "empty")), private_registry.image)
    assert (task["lastStatus"], task["stopCode"]) == ("STOPPED", "TaskFailedToStart")
    reason = task["stoppedReason"]
    assert reason.startswith("CannotPullContainerError: "), reason
    assert "no basic auth credentials" in reason, "what the registry said"
    assert "retried" not in reason
    logged_in = start("login", DOCKER_CONFIG=str(private_registry.docker_config))
    task = run(logged_in, private_registry.image)
    assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")
    assert task["containers"][0]["imageDigest"] == private_registry.digest


def test_repository_credentials_come_from_a_secret(private_registry, start, tmp_path):
    good = "arn:aws:secretsmanager:us-east-1:000000000000:secret:registry-AbCdEf"
    bad = "arn:aws:secretsmanager:us-east-1:000000000000:secret:wrong-AbCdEf"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f"""[secrets]
"{good}" = '{{"username":"kecs","password":"s3cret"}}'
"{bad}" = '{{"username":"kecs","password":"nope"}}'
""")
    # No Docker configuration: the secret is the only way in.
    server = start("creds", DOCKER_CONFIG=str(tmp_path / "empty"), KECS_SECRETS_FILE=str(secrets))
    task = run(server, private_registry.image, repositoryCredentials={"credentialsParameter": good})
    assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")
    assert task["containers"][0]["imageDigest"] == private_registry.digest
    private_registry.forget_local()
    task = run(server, private_registry.image, repositoryCredentials={"credentialsParameter": bad})
    assert task["stoppedReason"].startswith("CannotPullContainerError: "), task
    missing = good.replace("registry", "missing")
    task = run(server, private_registry.image, repositoryCredentials={"credentialsParameter": missing})
    reason = task["stoppedReason"]
    assert reason.startswith("ResourceInitializationError: unable to pull secrets or registry auth"), reason
    assert missing in reason


def test_pull_behaviours(registry, start):
    # The image is cached after the first pull; an unreachable registry's image is cached only.
    unreachable = f"127.0.0.1:{free_port()}/kecs/busybox:v1"
    docker("tag", TEST_IMAGE, unreachable)
    expected = {
        # behaviour: (pulls of the registry's image over two tasks, unreachable one RUNNING?)
        "default": (2, True),
        "always": (2, False),
        "once": (1, False),
        "prefer-cached": (1, True),
    }
    try:
        for behaviour, (pulls, cached_runs) in expected.items():
            registry.forget_local()
            before = registry.pulls()
            server = start(behaviour, KECS_IMAGE_PULL=behaviour)
            for _ in range(2):
                task = run(server, registry.image)
                assert task["lastStatus"] == "RUNNING", (behaviour, task.get("stoppedReason"))
            assert registry.pulls() - before == pulls, behaviour
            task = run(server, unreachable)
            assert (task["lastStatus"] == "RUNNING") == cached_runs, (behaviour, task)
            if not cached_runs:
                assert task["stoppedReason"].startswith("CannotPullContainerError: "), task
    finally:
        subprocess.run(["docker", "rmi", "-f", unreachable], capture_output=True)


def test_an_unknown_image_setting_is_refused(kecs_binary, tmp_path):
    env = dict(os.environ, KECS_IMAGE_PULL="sometimes")
    out = subprocess.run([kecs_binary, "server", "--data-dir", ":memory:"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "sometimes" in out.stderr and "prefer-cached" in out.stderr
