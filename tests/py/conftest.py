"""Fixtures driving the real `kecs` binary: a session server, per-test reset, extra servers
for restart tests, boto3 clients and an AWS CLI runner."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
REGION = "us-east-1"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ASG_ARN = (
    "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:"
    "0f6b2bb4-1f1e-4a38-9d6c-3b8d0d0c8b3a:autoScalingGroupName/asg"
)
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
BIN_WAIT_SECONDS = int(os.environ.get("KECS_BIN_WAIT", "2400"))


def cluster_arn(name, region=REGION):
    return f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{name}"


def td_arn(family, rev, region=REGION):
    return f"arn:aws:ecs:{region}:{ACCOUNT}:task-definition/{family}:{rev}"


def cp_arn(name, region=REGION):
    return f"arn:aws:ecs:{region}:{ACCOUNT}:capacity-provider/{name}"


def kecs_bin():
    return os.environ.get("KECS_BIN", os.path.expanduser("~/.cache/kecs-target/debug/kecs"))


def _wait_for_binary():
    path = kecs_bin()
    deadline = time.monotonic() + BIN_WAIT_SECONDS
    while not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if time.monotonic() > deadline:
            pytest.exit(f"kecs binary not found at {path}", returncode=3)
        time.sleep(min(60, max(1, deadline - time.monotonic())))
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=10):
    """(status, headers, body bytes) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class KecsServer:
    """One `kecs server` process on free ports over `data_dir`."""

    def __init__(self, data_dir, runtime="none", env=None):
        self.data_dir = str(data_dir)
        self.runtime = runtime
        # The test image exists only on this engine: asking Docker Hub for it first (the default
        # behaviour) would only cost a round trip per container. test_image_pulls.py covers
        # every behaviour.
        self.env = {"KECS_IMAGE_PULL": "prefer-cached", **(env or {})}
        # The image the container tests run (the locally built test image by default).
        self.image = "kecs-test/busybox:latest"
        self.api_port = free_port()
        self.admin_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.proc = None
        self.log_path = Path(self.data_dir).parent / f"kecs-{self.api_port}.log"

    def start(self, timeout=30):
        env = dict(os.environ, **self.env)
        conf = os.environ.get("KECS_CONFORMANCE_DIR")
        if conf:
            os.makedirs(conf, exist_ok=True)
            env["KECS_CONFORMANCE_LOG"] = os.path.join(conf, f"py-{uuid.uuid4()}.jsonl")
        cmd = [
            kecs_bin(), "server",
            "--api-addr", f"127.0.0.1:{self.api_port}",
            "--admin-addr", f"127.0.0.1:{self.admin_port}",
            "--data-dir", self.data_dir,
            "--runtime", self.runtime,
            "--allow-reset",
        ]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kecs exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _, _ = http("GET", f"{self.admin_url}/ready", timeout=2)
                if status == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"kecs not ready within {timeout}s:\n{self.log()}")

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends `sig` and waits for the exit; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def reset(self):
        status, _, body = http("POST", f"{self.admin_url}/_kecs/reset", body=b"")
        assert status in (200, 204), (status, body)

    def client(self, region=REGION, validate=True):
        return make_client(self.api_url, region, validate)


def make_client(url, region=REGION, validate=True):
    return boto3.client(
        "ecs",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"},
            parameter_validation=validate,
            connect_timeout=5,
            read_timeout=30,
        ),
    )


@pytest.fixture(scope="session")
def kecs_binary():
    return _wait_for_binary()


@pytest.fixture(scope="session")
def server(kecs_binary, tmp_path_factory):
    s = KecsServer(tmp_path_factory.mktemp("kecs-session") / "data").start()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _reset(request):
    """Wipes the session server before each test that uses it."""
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset()
    yield


@pytest.fixture
def ecs(server):
    return server.client()


@pytest.fixture
def ecs_raw(server):
    """A client without botocore's own parameter checks, so the server sees bad input."""
    return server.client(validate=False)


@pytest.fixture
def ecs_eu(server):
    return server.client(region="eu-west-1")


@pytest.fixture
def start_server(kecs_binary, tmp_path):
    """Starts extra servers: start_server(data_dir=None) -> started KecsServer."""
    started = []

    def start(data_dir=None):
        d = data_dir or (tmp_path / f"data-{len(started)}")
        s = KecsServer(d).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop(signal.SIGKILL)


class CliResult:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else {}


@pytest.fixture
def aws(server):
    """aws(*args, region=..., ok=True, service="ecs"): runs `aws ecs <args>` (or another
    service's); with ok, checks success and returns the parsed JSON, else returns the CliResult."""
    yield from _aws_cli(server)


@pytest.fixture(scope="module")
def docker_server(kecs_binary, tmp_path_factory):
    """A KECS on the docker runtime (its containers removed afterwards)."""
    s = KecsServer(tmp_path_factory.mktemp("kecs-docker") / "data", runtime="docker").start()
    yield s
    s.stop()
    remove_containers_of(s)


def remove_containers_of(s):
    """Removes the containers a stopped docker-runtime KECS left, and its clusters' networks."""
    instance = (Path(s.data_dir) / "instance-id").read_text().strip()
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=kecs.instance={instance}"],
        capture_output=True, text=True,
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)
    # The clusters' networks, now unused (a network still in use is left alone by prune).
    subprocess.run(["docker", "network", "prune", "-f", "--filter", "label=kecs.cluster"],
                   capture_output=True)


@pytest.fixture
def start_docker(kecs_binary, tmp_path):
    """Starts docker-runtime KECSes with extra environment (`start(**env)` answers an ECS
    client); all stopped, and their containers removed, afterwards."""
    started = []

    def start(**env):
        s = KecsServer(tmp_path / f"data{len(started)}", runtime="docker", env=env).start()
        started.append(s)
        return make_client(s.api_url)

    yield start
    for s in started:
        s.stop()
        remove_containers_of(s)


@pytest.fixture
def aws_docker(docker_server):
    """`aws` against the docker-runtime KECS."""
    yield from _aws_cli(docker_server)


def fake_kube_bin():
    return os.path.join(os.path.dirname(kecs_bin()), "kecs-fake-kube")


class FakeKube:
    """The fake Kubernetes API server (crates/kecs-fake-kube) as a process, whose registry holds
    the test image; `kubeconfig` points at it, `url` is its address."""

    def __init__(self, directory):
        self.kubeconfig = str(directory / "kubeconfig")
        self.proc = subprocess.Popen(
            [fake_kube_bin(), "--listen", "127.0.0.1:0", "--kubeconfig", self.kubeconfig,
             "--images", "kecs-test/busybox:latest"],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), line
        self.url = "http://" + line.split()[-1]

    def kecs(self, data_dir):
        return KecsServer(data_dir, runtime="kubernetes", env={"KUBECONFIG": self.kubeconfig})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def kube_server(kecs_binary, tmp_path_factory):
    """A KECS on the kubernetes runtime, against the fake API server."""
    d = tmp_path_factory.mktemp("kecs-kube")
    fake = FakeKube(d)
    s = fake.kecs(d / "data").start()
    yield s
    s.stop()
    fake.stop()


@pytest.fixture(scope="module")
def real_kube_server(kecs_binary, tmp_path_factory):
    """A KECS on the kubernetes runtime against the real cluster $KECS_TEST_KUBECONFIG names
    (tasks run $KECS_TEST_IMAGE, busybox:1.36 by default); skipped without one."""
    kubeconfig = os.environ.get("KECS_TEST_KUBECONFIG")
    if not kubeconfig:
        pytest.skip("KECS_TEST_KUBECONFIG is not set: no real Kubernetes cluster to test against")
    d = tmp_path_factory.mktemp("kecs-real-kube")
    s = KecsServer(d / "data", runtime="kubernetes", env={"KUBECONFIG": kubeconfig})
    s.image = os.environ.get("KECS_TEST_IMAGE", "busybox:1.36")
    s.start(timeout=60)
    yield s
    s.stop()


@pytest.fixture(scope="module", params=["docker", "kubernetes", "kubernetes-real"])
def task_server(request):
    """The same tests on each runtime that runs containers: the local Docker engine, Kubernetes
    through the fake API server, and a real cluster when $KECS_TEST_KUBECONFIG names one."""
    return request.getfixturevalue({
        "docker": "docker_server",
        "kubernetes": "kube_server",
        "kubernetes-real": "real_kube_server",
    }[request.param])


@pytest.fixture
def aws_tasks(task_server):
    """`aws` against `task_server`."""
    yield from _aws_cli(task_server)


def _aws_cli(server):
    exe = shutil.which("aws")
    assert exe, "aws CLI not installed"
    home = tempfile.mkdtemp(prefix="awscli-home-")
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_CONFIG_FILE=os.path.join(home, "config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"),
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
    )

    def run(*args, region=REGION, ok=True, service="ecs"):
        cmd = [exe, service, *args, "--endpoint-url", server.api_url, "--region", region, "--output", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        res = CliResult(proc)
        if ok:
            assert res.returncode == 0, f"{cmd} failed ({res.returncode}): {res.stderr}"
            return res.json
        return res

    yield run
    shutil.rmtree(home, ignore_errors=True)


def error_of(fn, *args, **kwargs):
    """Calls fn expecting a ClientError; returns (code, message, http status)."""
    with pytest.raises(ClientError) as info:
        fn(*args, **kwargs)
    r = info.value.response
    return r["Error"]["Code"], r["Error"].get("Message", ""), r["ResponseMetadata"]["HTTPStatusCode"]


def assert_error(code, fn, *args, **kwargs):
    got, message, status = error_of(fn, *args, **kwargs)
    assert (got, status) == (code, 400), f"expected {code}/400, got {got}/{status}: {message}"
    return message


def container(name="web", image="nginx:latest", memory=128, **extra):
    c = {"name": name, "image": image}
    if memory is not None:
        c["memory"] = memory
    c.update(extra)
    return c
