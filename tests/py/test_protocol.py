"""The AWS JSON 1.1 wire protocol, spoken by hand with urllib."""
import json

import pytest

from conftest import TARGET_PREFIX, cluster_arn, http

CT = "application/x-amz-json-1.1"


def auth(region):
    return (
        f"AWS4-HMAC-SHA256 Credential=test/20240101/{region}/ecs/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
    )


def call(server, op, body, region="us-east-1", target=None, content_type=CT, extra_headers=None):
    """POSTs to / and returns (status, headers, parsed body or raw bytes)."""
    if not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    headers = {
        "Content-Type": content_type,
        "X-Amz-Target": target if target is not None else TARGET_PREFIX + op,
        "X-Amz-Date": "20240101T000000Z",
        "Authorization": auth(region),
    }
    headers.update(extra_headers or {})
    status, h, raw = http("POST", server.api_url + "/", body=body, headers=headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return status, h, parsed


def request_id(headers):
    rid = headers.get("x-amzn-RequestId")
    assert rid, f"no x-amzn-RequestId in {dict(headers)}"
    return rid


def list_clusters(server):
    status, _, body = call(server, "ListClusters", {})
    assert status == 200, body
    return body["clusterArns"]


def assert_error(status, body, code, http_status=400):
    assert status == http_status, (status, body)
    assert isinstance(body, dict), body
    assert body["__type"].split("#")[-1] == code, body
    assert isinstance(body.get("message"), str) and body["message"], body


def no_nulls(value, path="$"):
    if value is None:
        raise AssertionError(f"null at {path}")
    if isinstance(value, dict):
        for k, v in value.items():
            no_nulls(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_nulls(v, f"{path}[{i}]")


def test_success_shape(server):
    status, h, body = call(server, "CreateCluster", {"clusterName": "raw"})
    assert status == 200
    assert h.get("Content-Type", "").startswith(CT)
    request_id(h)
    c = body["cluster"]
    assert c["clusterArn"] == cluster_arn("raw")
    assert c["status"] == "ACTIVE"
    assert c["registeredContainerInstancesCount"] == 0
    no_nulls(body)
    assert list_clusters(server) == [cluster_arn("raw")]


def test_request_ids_are_unique(server):
    ids = {request_id(call(server, "ListClusters", {})[1]) for _ in range(5)}
    assert len(ids) == 5


def test_register_task_definition_wire_types(server):
    status, _, body = call(server, "RegisterTaskDefinition", {
        "family": "wire",
        "containerDefinitions": [{"name": "c", "image": "busybox", "memory": 64}],
    })
    assert status == 200, body
    td = body["taskDefinition"]
    assert isinstance(td["registeredAt"], (int, float)) and not isinstance(td["registeredAt"], bool)
    assert td["revision"] == 1
    assert body["tags"] == []
    no_nulls(body)


def test_region_from_credential_scope(server):
    status, _, body = call(server, "CreateCluster", {"clusterName": "scoped"}, region="ap-southeast-2")
    assert status == 200, body
    assert body["cluster"]["clusterArn"] == cluster_arn("scoped", "ap-southeast-2")
    assert list_clusters(server) == []
    status, _, body = call(server, "ListClusters", {}, region="ap-southeast-2")
    assert body["clusterArns"] == [cluster_arn("scoped", "ap-southeast-2")]


def test_error_shape(server):
    status, h, body = call(server, "DeleteCluster", {"cluster": "ghost"})
    assert_error(status, body, "ClusterNotFoundException")
    request_id(h)
    assert h.get("Content-Type", "").startswith(CT)


@pytest.mark.parametrize("target", [
    TARGET_PREFIX + "NoSuchOperation",
    TARGET_PREFIX + "listClusters",
    "SomeOtherService.ListClusters",
    TARGET_PREFIX,
])
def test_unknown_operation(server, target):
    status, h, body = call(server, None, {}, target=target)
    assert_error(status, body, "UnknownOperationException")
    request_id(h)
    assert list_clusters(server) == []


def test_missing_target(server):
    status, h, body = http("POST", server.api_url + "/", body=b"{}",
                           headers={"Content-Type": CT, "Authorization": auth("us-east-1")})
    assert status == 400
    request_id(h)
    parsed = json.loads(body)
    assert parsed["__type"].split("#")[-1] == "UnknownOperationException"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2", b"\xff\xfe", b'{"clusterName": "x"} trailing', b"[]", b'["named"]', b'"str"', b"null", b"5"])
def test_malformed_json(server, raw):
    status, h, body = call(server, "CreateCluster", raw)
    assert_error(status, body, "SerializationException")
    request_id(h)
    assert list_clusters(server) == []


@pytest.mark.parametrize("op,body", [
    ("CreateCluster", {"clusterName": 5}),
    ("CreateCluster", {"clusterName": ["x"]}),
    ("CreateCluster", {"clusterName": "x", "tags": {"key": "a"}}),
    ("CreateCluster", {"clusterName": "x", "tags": [{"key": 1, "value": "v"}]}),
    ("ListClusters", {"maxResults": "ten"}),
    ("DescribeClusters", {"clusters": "x"}),
    ("RegisterTaskDefinition", {"family": "f", "containerDefinitions": [{"name": "c", "image": "i", "memory": "128"}]}),
    ("RegisterTaskDefinition", {"family": "f", "containerDefinitions": [{"name": "c", "image": "i", "memory": 128, "essential": "yes"}]}),
])
def test_wrong_member_type(server, op, body):
    status, h, parsed = call(server, op, body)
    assert_error(status, parsed, "SerializationException")
    request_id(h)
    assert list_clusters(server) == []
    status, _, fams = call(server, "ListTaskDefinitionFamilies", {})
    assert fams["families"] == []


def test_missing_required_member(server):
    status, h, body = call(server, "RegisterTaskDefinition", {"family": "f"})
    assert_error(status, body, "InvalidParameterException")
    assert "containerDefinitions" in body["message"]
    status, h, body = call(server, "TagResource", {"resourceArn": cluster_arn("x")})
    assert_error(status, body, "InvalidParameterException")
    request_id(h)


def test_body_too_large(server):
    big = b'{"clusterName": "' + b"a" * (1024 * 1024 + 16) + b'"}'
    try:
        status, h, _ = http("POST", server.api_url + "/", body=big, headers={
            "Content-Type": CT,
            "X-Amz-Target": TARGET_PREFIX + "CreateCluster",
            "Authorization": auth("us-east-1"),
        })
    except (ConnectionError, OSError) as e:  # the server may close before reading everything
        pytest.fail(f"server dropped the connection instead of answering 413: {e!r}")
    assert status == 413
    request_id(h)
    assert list_clusters(server) == []


def test_body_just_under_limit_is_parsed(server):
    # a large but legal body is decoded normally (and rejected on its merits)
    name = "a" * (1024 * 1024 - 100)
    status, _, body = call(server, "CreateCluster", {"clusterName": name})
    assert_error(status, body, "InvalidParameterException")
    assert list_clusters(server) == []



def test_null_members_are_absent(server):
    status, _, body = call(server, "CreateCluster", {"clusterName": "n", "tags": None, "settings": None})
    assert status == 200, body
    assert body["cluster"]["clusterName"] == "n"
    assert body["cluster"]["tags"] == []
