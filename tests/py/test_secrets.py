"""A container's `secrets` (SSM parameters, Secrets Manager secrets with their JSON-key suffix)
and `environmentFiles` (S3 objects), resolved at launch from `--secrets-file` into the
environment, on Docker (and a log driver's `secretOptions` into its options); never shown by
DescribeTasks; a secret that cannot be had stops the task `ResourceInitializationError`, a
malformed one is refused at registration."""
import json
import subprocess
import sys
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import free_port, make_client

WAIT = {"Delay": 1, "MaxAttempts": 60}
DB = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf"
SECRETS_FILE = f'''
[parameters]
"/kecs/db/host" = "db.internal"

[secrets]
"{DB}" = '{{"username":"app","password":"pa55-word"}}'

[objects]
"arn:aws:s3:::config/app.env" = """
# comment
FROM_FILE=yes
LOG_LEVEL=from-file
"""
'''


@pytest.fixture
def start(start_docker):
    return start_docker


@pytest.fixture
def with_file(start, tmp_path):
    """An ECS client of a KECS with the secrets file above."""
    path = tmp_path / "secrets.toml"
    path.write_text(SECRETS_FILE)
    return start(KECS_SECRETS_FILE=str(path))


def uses_every_kind(ecs, family, secret_arn, **container):
    """Runs a task whose container checks a parameter, a secret's JSON key and an env file's
    variable; returns it stopped. The expected values are split in two, so that the command
    itself does not show them."""
    ecs.create_cluster(clusterName="sec")
    check = ('[ "$DB_HOST" = "db"".internal" ] && [ "$DB_PASSWORD" = "pa55""-word" ] '
             '&& [ "$FROM_FILE" = yes ] && [ "$LOG_LEVEL" = ${WANT_LOG:-from-file} ] || exit 3')
    return run(ecs, family, {
        "command": ["sh", "-c", check],
        "environmentFiles": [{"value": "arn:aws:s3:::config/app.env", "type": "s3"}],
        "secrets": [{"name": "DB_HOST", "valueFrom": "/kecs/db/host"},
                    {"name": "DB_PASSWORD", "valueFrom": f"{secret_arn}:password::"}],
        **container})


def run(ecs, family, container):
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "app", "image": "kecs-test/busybox:latest", "memory": 32, **container}])
    arn = ecs.run_task(cluster="sec", taskDefinition=family)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_stopped").wait(cluster="sec", tasks=[arn], WaiterConfig=WAIT)
    return ecs.describe_tasks(cluster="sec", tasks=[arn])["tasks"][0]


def test_secrets_and_environment_files_reach_the_container(with_file):
    ecs = with_file
    # `environment` wins over an environment file.
    task = uses_every_kind(ecs, "uses-secrets", DB, environment=[
        {"name": "LOG_LEVEL", "value": "from-environment"},
        {"name": "WANT_LOG", "value": "from-environment"}])
    assert task["containers"][0]["exitCode"] == 0, task
    shown = json.dumps([task, ecs.describe_task_definition(taskDefinition="uses-secrets")], default=str)
    assert "pa55-word" not in shown and "db.internal" not in shown, shown


@pytest.mark.parametrize("value_from,named", [
    ("/kecs/missing", "parameter '/kecs/missing'"),
    (f"{DB}:nokey::", "no key 'nokey'"),
])
def test_a_secret_that_cannot_be_had_stops_the_task(with_file, value_from, named):
    ecs = with_file
    ecs.create_cluster(clusterName="sec")
    task = run(ecs, "missing", {"command": ["true"],
                                "secrets": [{"name": "X", "valueFrom": value_from}]})
    assert task["stopCode"] == "TaskFailedToStart"
    reason = task["stoppedReason"]
    assert reason.startswith("ResourceInitializationError: unable to pull secrets"), reason
    assert named in reason, reason


def test_log_driver_secret_options_are_resolved_at_launch(with_file):
    ecs = with_file
    ecs.create_cluster(clusterName="sec")
    # Registered with secretOptions KECS can resolve: the task runs and never shows the value.
    config = {"logDriver": "json-file", "options": {"max-size": "1m"},
              "secretOptions": [{"name": "token", "valueFrom": "/kecs/db/host"}]}
    task = run(ecs, "log-secret", {"command": ["true"], "logConfiguration": config})
    assert task["stopCode"] == "EssentialContainerExited", task
    assert task["containers"][0]["exitCode"] == 0
    assert "db.internal" not in json.dumps(task, default=str)
    # One it cannot: the task stops before its container is created, naming the parameter.
    config["secretOptions"] = [{"name": "token", "valueFrom": "/kecs/no-token"}]
    task = run(ecs, "log-secret-missing", {"command": ["true"], "logConfiguration": config})
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("ResourceInitializationError: unable to pull secrets")
    assert "parameter '/kecs/no-token'" in task["stoppedReason"], task


def test_a_malformed_reference_is_refused_at_registration(with_file):
    ecs = with_file
    log_secret = {"logDriver": "json-file",
                  "secretOptions": [{"name": "t", "valueFrom": "arn:aws:s3:::bucket/key"}]}
    for container in ({"secrets": [{"name": "X", "valueFrom": "arn:aws:s3:::bucket/key"}]},
                      {"logConfiguration": log_secret},
                      {"environmentFiles": [{"value": "s3://bucket/app.env", "type": "s3"}]}):
        with pytest.raises(ClientError) as e:
            ecs.register_task_definition(family="bad", containerDefinitions=[{
                "name": "app", "image": "busybox", "memory": 32, **container}])
        assert e.value.response["Error"]["Code"] == "ClientException", container


def test_without_a_source_the_task_says_so(docker_server):
    ecs = make_client(docker_server.api_url)
    ecs.create_cluster(clusterName="sec")
    task = run(ecs, "nosource", {"command": ["true"],
                                 "secrets": [{"name": "X", "valueFrom": "/kecs/db/host"}]})
    assert task["stopCode"] == "TaskFailedToStart"
    assert "no source of SSM parameters is configured" in task["stoppedReason"], task


@pytest.fixture
def moto(tmp_path):
    """moto's server on a loopback port, holding a parameter, a secret and an env file."""
    port = free_port()
    log = open(tmp_path / "moto.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
              aws_secret_access_key="test")
    deadline = time.monotonic() + 30
    while True:
        try:
            boto3.client("ssm", **kw).put_parameter(Name="/kecs/db/host", Value="db.internal",
                                                    Type="SecureString")
            break
        except Exception:
            assert time.monotonic() < deadline, (tmp_path / "moto.log").read_text()
            time.sleep(0.2)
    arn = boto3.client("secretsmanager", **kw).create_secret(
        Name="db", SecretString='{"username":"app","password":"pa55-word"}')["ARN"]
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket="config")
    s3.put_object(Bucket="config", Key="app.env", Body=b"FROM_FILE=yes\nLOG_LEVEL=from-file\n")
    yield url, arn
    proc.terminate()
    proc.wait(timeout=10)


AWS_TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def test_values_come_from_an_aws_compatible_endpoint(start, moto):
    url, secret_arn = moto
    ecs = start(KECS_AWS_ENDPOINT_URL=url, **AWS_TEST_CREDENTIALS)
    task = uses_every_kind(ecs, "from-moto", secret_arn)
    assert task["containers"][0]["exitCode"] == 0, task
    missing = run(ecs, "missing-in-moto", {
        "command": ["true"], "secrets": [{"name": "X", "valueFrom": "/kecs/nope"}]})
    assert missing["stopCode"] == "TaskFailedToStart"
    assert "parameter '/kecs/nope'" in missing["stoppedReason"], missing["stoppedReason"]


def test_an_unreachable_endpoint_stops_the_task_with_why(start):
    ecs = start(KECS_AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", **AWS_TEST_CREDENTIALS)
    ecs.create_cluster(clusterName="sec")
    task = run(ecs, "unreachable", {"command": ["true"],
                                    "secrets": [{"name": "X", "valueFrom": "/kecs/db/host"}]})
    assert task["stopCode"] == "TaskFailedToStart"
    reason = task["stoppedReason"]
    assert reason.startswith("ResourceInitializationError: unable to pull secrets"), reason
    assert "GetParameter /kecs/db/host" in reason, reason
