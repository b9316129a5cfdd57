"""`--auth sigv4` with the clients people use: boto3 and the AWS CLI sign with the configured
credentials and are served; a wrong secret gets InvalidSignatureException, an unknown key
UnrecognizedClientException, and nothing a refused request asked for is done. (aws-sdk-rust and
unsigned requests: tests/e2e/tests/auth.rs.)"""
import os
import shutil
import subprocess
import tempfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import KecsServer

KEY, SECRET = "AKIAKECSPYTEST", "py/secret+key"


@pytest.fixture(scope="module")
def signed_server(kecs_binary, tmp_path_factory):
    env = {"KECS_AUTH": "sigv4", "KECS_ACCESS_KEY_ID": KEY, "KECS_SECRET_ACCESS_KEY": SECRET}
    s = KecsServer(tmp_path_factory.mktemp("kecs-auth") / "data", env=env).start()
    yield s
    s.stop()


def client(server, key=KEY, secret=SECRET):
    return boto3.client(
        "ecs", endpoint_url=server.api_url, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def cli(server, *args, key=KEY, secret=SECRET):
    home = tempfile.mkdtemp(prefix="awscli-home-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
        AWS_CONFIG_FILE=os.path.join(home, "config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"),
        AWS_MAX_ATTEMPTS="1", AWS_PAGER="",
    )
    try:
        return subprocess.run(
            [shutil.which("aws"), "ecs", *args, "--endpoint-url", server.api_url,
             "--region", "us-east-1", "--output", "json"],
            capture_output=True, text=True, env=env, timeout=120,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def code_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def test_boto3_signed_with_the_right_secret_is_served_and_with_a_wrong_one_is_not(signed_server):
    good = client(signed_server)
    good.create_cluster(clusterName="py-signed")
    assert code_of(lambda: client(signed_server, secret="wrong").create_cluster(clusterName="x")) \
        == "InvalidSignatureException"
    assert code_of(lambda: client(signed_server, key="AKIAOTHER").list_clusters()) \
        == "UnrecognizedClientException"
    names = [a.rsplit("/", 1)[1] for a in good.list_clusters()["clusterArns"]]
    assert "py-signed" in names and "x" not in names


def test_the_cli_signed_with_the_right_secret_is_served_and_with_a_wrong_one_is_not(signed_server):
    ok = cli(signed_server, "create-cluster", "--cluster-name", "cli-signed")
    assert ok.returncode == 0, ok.stderr
    bad = cli(signed_server, "delete-cluster", "--cluster", "cli-signed", secret="wrong")
    assert bad.returncode != 0
    assert "InvalidSignatureException" in bad.stderr, bad.stderr
    listed = cli(signed_server, "list-clusters")
    assert "cluster/cli-signed" in listed.stdout, listed.stdout
