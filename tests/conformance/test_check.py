"""Self-test for check.py: feed it hand-written logs and compare the FAIL lines."""
import json
import subprocess
import sys
from pathlib import Path

CHECK = Path(__file__).with_name("check.py")


def cluster(**extra):
    c = {
        "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/default",
        "clusterName": "default", "status": "ACTIVE",
        "registeredContainerInstancesCount": 0, "runningTasksCount": 0,
        "pendingTasksCount": 0, "activeServicesCount": 0,
        "tags": [{"key": "k", "value": "v"}],
        "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
    }
    c.update(extra)
    return c


def task_def(**extra):
    td = {
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
        "family": "web", "revision": 1, "status": "ACTIVE", "networkMode": "awsvpc",
        "registeredAt": 1700000000.5, "compatibilities": ["EC2", "FARGATE"],
        "containerDefinitions": [{"name": "web", "image": "nginx", "essential": True,
                                  "environment": [{"name": "A", "value": "b"}]}],
    }
    td.update(extra)
    return {"taskDefinition": td}


# (record, expected set of failing JSON paths; empty set = must pass)
CASES = [
    ({"operation": "DescribeClusters", "status": 200, "body": {"clusters": [cluster()], "failures": []}}, set()),
    ({"operation": "DescribeTaskDefinition", "status": 200, "body": task_def()}, set()),
    ({"operation": "TagResource", "status": 200, "body": None}, set()),
    ({"operation": "DescribeServices", "status": 400,
      "body": {"__type": "ClusterNotFoundException", "message": "Cluster not found."}}, set()),
    ({"operation": "ListClusters", "status": 500, "body": {"__type": "ServerException", "message": "boom"}}, set()),
    ({"operation": None, "status": 400, "body": {"__type": "UnknownOperationException", "message": "?"}}, set()),
    # --- violations ---
    ({"operation": "DescribeClusters", "status": 200, "body": {"clusters": [cluster(bogus=1)]}},
     {"$.clusters[0].bogus"}),
    ({"operation": "DescribeTaskDefinition", "status": 200, "body": task_def(networkMode="bridged")},
     {"$.taskDefinition.networkMode"}),
    ({"operation": "DescribeTaskDefinition", "status": 200, "body": task_def(registeredAt="2024-01-01T00:00:00Z")},
     {"$.taskDefinition.registeredAt"}),
    ({"operation": "DescribeClusters", "status": 200,
      "body": {"clusters": [cluster(defaultCapacityProviderStrategy=[{"weight": 1}])]}},
     {"$.clusters[0].defaultCapacityProviderStrategy[0].capacityProvider"}),
    ({"operation": "DescribeClusters", "status": 400,  # not in DescribeClusters' declared errors
      "body": {"__type": "ClusterNotFoundException", "message": "nope"}}, {"$.__type"}),
]


def run(tmp_path, records, *extra):
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    p = subprocess.run([sys.executable, str(CHECK), *extra, str(log)], capture_output=True, text=True)
    return p, log


def test_flags_exactly_the_bad_lines(tmp_path):
    p, log = run(tmp_path, [r for r, _ in CASES])
    got = set()
    for line in p.stdout.splitlines():
        if line.startswith("FAIL "):
            loc, op, path = line.split(" ")[1:4]
            got.add((int(loc.rsplit(":", 1)[1]), op, path.rstrip(":")))
    want = {(i, r["operation"], path) for i, (r, paths) in enumerate(CASES, 1) for path in paths}
    assert got == want, p.stdout
    bad = sum(1 for _, paths in CASES if paths)
    assert p.stdout.splitlines()[-1] == f"{len(CASES) - bad} passed, {bad} failed"
    assert p.returncode == 1


def test_all_good_exits_zero_and_require_ops(tmp_path):
    good = [r for r, paths in CASES if not paths]
    p, _ = run(tmp_path, good, "--require-ops", "DescribeClusters,TagResource")
    assert p.returncode == 0, p.stdout
    assert "CreateCluster" in p.stdout  # listed among never-seen operations
    p, _ = run(tmp_path, good, "--require-ops", "DescribeClusters,CreateCluster")
    assert p.returncode == 1 and "MISSING CreateCluster" in p.stdout


def test_empty_log_exits_two(tmp_path):
    p, _ = run(tmp_path, [])
    assert p.returncode == 2
    assert p.stdout.splitlines()[-1] == "0 passed, 0 failed"
