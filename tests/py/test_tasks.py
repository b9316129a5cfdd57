"""Tasks on the `none` runtime (no containers; tasks go straight to RUNNING): RunTask, StopTask,
DescribeTasks, ListTasks, cluster task counts and deletion, task tags, waiters, persistence
across restarts and the AWS CLI."""
import datetime
import json
import re
import signal

import pytest
from botocore.exceptions import WaiterError

from conftest import assert_error, cluster_arn, container, td_arn

ACCOUNT = "000000000000"
TASK_ARN = re.compile(r"^arn:aws:ecs:(?P<region>[a-z0-9-]+):000000000000:task/(?P<cluster>[^/]+)/(?P<id>[0-9a-f]{32})$")
NETWORK = {
    "awsvpcConfiguration": {
        "subnets": ["subnet-0123456789abcdef0"],
        "securityGroups": ["sg-0123456789abcdef0"],
        "assignPublicIp": "DISABLED",
    }
}
NO_OVERRIDES = {"containerOverrides": [], "inferenceAcceleratorOverrides": []}
FAST = {"Delay": 1, "MaxAttempts": 5}


def task_arn(cluster, task_id, region="us-east-1"):
    return f"arn:aws:ecs:{region}:{ACCOUNT}:task/{cluster}/{task_id}"


def task_id(arn):
    return arn.rsplit("/", 1)[1]


def setup(ecs, cluster="c", family="web", containers=None, **td_kwargs):
    """Creates `cluster` and registers `family`; returns the task definition."""
    if cluster:
        ecs.create_cluster(clusterName=cluster)
    return ecs.register_task_definition(
        family=family, containerDefinitions=containers or [container()], **td_kwargs
    )["taskDefinition"]


def setup_fargate(ecs, cluster="c", family="fg", cpu="256", memory="512"):
    return setup(
        ecs, cluster, family, [container(memory=None)],
        networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu=cpu, memory=memory,
    )


def run(ecs, cluster="c", td="web", **kwargs):
    r = ecs.run_task(cluster=cluster, taskDefinition=td, **kwargs)
    assert r["failures"] == []
    return r["tasks"]


def run_one(ecs, cluster="c", td="web", **kwargs):
    tasks = run(ecs, cluster, td, **kwargs)
    assert len(tasks) == 1
    return tasks[0]


def describe(ecs, cluster, arns, **kwargs):
    return ecs.describe_tasks(cluster=cluster, tasks=arns, **kwargs)


def describe_one(ecs, cluster, arn, **kwargs):
    r = describe(ecs, cluster, [arn], **kwargs)
    assert r["failures"] == []
    assert len(r["tasks"]) == 1
    return r["tasks"][0]


def listed(ecs, cluster="c", **kwargs):
    return ecs.list_tasks(cluster=cluster, **kwargs)["taskArns"]


def strip(r):
    r = dict(r)
    r.pop("ResponseMetadata", None)
    return r


def assert_recent(ts, before, after):
    assert isinstance(ts, datetime.datetime), ts
    slack = datetime.timedelta(seconds=5)
    assert before - slack <= ts <= after + slack, (ts, before, after)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def sorted_tags(tags):
    return sorted((t["key"], t["value"]) for t in tags)


# --- RunTask -------------------------------------------------------------------------------------

def test_run_task_returns_running_task(ecs):
    setup(ecs, containers=[
        container("web", "nginx:latest", memory=128, cpu=100),
        container("side", "busybox:1", memory=256),
    ])
    before = utcnow()
    r = ecs.run_task(cluster="c", taskDefinition="web")
    after = utcnow()
    assert r["failures"] == []
    assert len(r["tasks"]) == 1
    t = r["tasks"][0]
    m = TASK_ARN.match(t["taskArn"])
    assert m, t["taskArn"]
    assert (m["region"], m["cluster"]) == ("us-east-1", "c")
    tid = m["id"]
    assert t["clusterArn"] == cluster_arn("c")
    assert t["taskDefinitionArn"] == td_arn("web", 1)
    assert t["lastStatus"] == "RUNNING"
    assert t["desiredStatus"] == "RUNNING"
    for key in ["createdAt", "startedAt", "pullStartedAt", "pullStoppedAt", "connectivityAt"]:
        assert_recent(t[key], before, after)
    assert t["createdAt"] <= t["pullStartedAt"] <= t["pullStoppedAt"] <= t["startedAt"]
    assert t["connectivity"] == "CONNECTED"
    assert t["version"] == 2
    assert t["group"] == "family:web"
    assert "startedBy" not in t
    assert t["launchType"] == "EC2"
    assert t["availabilityZone"] == "us-east-1a"
    assert t["healthStatus"] == "UNKNOWN"
    assert t["overrides"] == NO_OVERRIDES
    # no task-level size in the definition: the sums of the containers'
    assert t["cpu"] == "100"
    assert t["memory"] == "384"
    for absent in ["stopCode", "stoppedReason", "stoppedAt", "stoppingAt", "executionStoppedAt",
                   "platformVersion", "platformFamily", "capacityProviderName"]:
        assert absent not in t, absent
    assert [c["name"] for c in t["containers"]] == ["web", "side"]
    web, side = t["containers"]
    for c in t["containers"]:
        assert re.fullmatch(
            rf"arn:aws:ecs:us-east-1:000000000000:container/c/{tid}/[0-9a-f-]{{32,36}}", c["containerArn"]
        ), c["containerArn"]
        assert c["taskArn"] == t["taskArn"]
        assert c["lastStatus"] == "RUNNING"
        assert c["networkBindings"] == []
        assert c["healthStatus"] == "UNKNOWN"
    assert web["containerArn"] != side["containerArn"]
    assert (web["image"], web["cpu"], web["memory"]) == ("nginx:latest", "100", "128")
    assert (side["image"], side["cpu"], side["memory"]) == ("busybox:1", "0", "256")


def test_run_task_task_level_size_from_definition(ecs):
    setup(ecs, containers=[container(memory=None, memoryReservation=64)], cpu="512", memory="1024")
    t = run_one(ecs)
    assert (t["cpu"], t["memory"]) == ("512", "1024")
    assert t["containers"][0]["cpu"] == "0"
    assert "memory" not in t["containers"][0]


def test_run_task_response_matches_describe(ecs):
    setup(ecs)
    t = run_one(ecs, tags=[{"key": "k", "value": "v"}])
    d = describe_one(ecs, "c", t["taskArn"], include=["TAGS"])
    assert d == t


def test_run_task_count(ecs):
    setup(ecs)
    tasks = run(ecs, count=3)
    arns = [t["taskArn"] for t in tasks]
    assert len(set(arns)) == 3
    assert all(TASK_ARN.match(a)["cluster"] == "c" for a in arns)
    assert len({c["containerArn"] for t in tasks for c in t["containers"]}) == 3
    assert listed(ecs) == sorted(arns)


@pytest.mark.parametrize("count", [0, -1, 11, 100])
def test_run_task_count_out_of_range(ecs_raw, count):
    setup(ecs_raw)
    assert_error("InvalidParameterException", ecs_raw.run_task, cluster="c", taskDefinition="web", count=count)
    assert listed(ecs_raw) == []


def test_run_task_count_ten(ecs):
    setup(ecs)
    assert len(run(ecs, count=10)) == 10
    assert len(listed(ecs)) == 10


def test_run_task_definition_identifiers(ecs):
    setup(ecs)
    ecs.register_task_definition(family="web", containerDefinitions=[container(image="nginx:2")])
    assert run_one(ecs, td="web")["taskDefinitionArn"] == td_arn("web", 2)
    assert run_one(ecs, td="web:1")["taskDefinitionArn"] == td_arn("web", 1)
    t = run_one(ecs, td=td_arn("web", 1))
    assert t["taskDefinitionArn"] == td_arn("web", 1)
    assert t["containers"][0]["image"] == "nginx:latest"
    assert run_one(ecs, td=td_arn("web", 2))["containers"][0]["image"] == "nginx:2"


def test_run_task_family_uses_latest_active_revision(ecs):
    setup(ecs)
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    ecs.deregister_task_definition(taskDefinition="web:2")
    assert run_one(ecs, td="web")["taskDefinitionArn"] == td_arn("web", 1)


def test_run_task_inactive_definition(ecs):
    setup(ecs)
    ecs.deregister_task_definition(taskDefinition="web:1")
    for ident in ["web:1", td_arn("web", 1), "web"]:
        assert_error("ClientException", ecs.run_task, cluster="c", taskDefinition=ident)
    assert listed(ecs) == []


def test_run_task_deleted_definition(ecs):
    setup(ecs)
    ecs.deregister_task_definition(taskDefinition="web:1")
    ecs.delete_task_definitions(taskDefinitions=["web:1"])
    assert_error("ClientException", ecs.run_task, cluster="c", taskDefinition="web:1")


def test_run_task_unknown_definition(ecs):
    setup(ecs)
    for ident in ["ghost", "ghost:1", "web:2", td_arn("ghost", 1), td_arn("web", 9)]:
        assert_error("ClientException", ecs.run_task, cluster="c", taskDefinition=ident)
    assert listed(ecs) == []


def test_run_task_other_region_definition_arn(ecs, ecs_eu):
    setup(ecs)
    ecs_eu.register_task_definition(family="euonly", containerDefinitions=[container()])
    assert_error("ClientException", ecs.run_task, cluster="c",
                 taskDefinition=td_arn("euonly", 1, "eu-west-1"))


def test_run_task_unknown_cluster(ecs):
    setup(ecs, cluster=None)
    assert_error("ClusterNotFoundException", ecs.run_task, cluster="ghost", taskDefinition="web")
    assert_error("ClusterNotFoundException", ecs.run_task, cluster=cluster_arn("ghost"), taskDefinition="web")
    # no cluster means "default", which does not exist yet
    assert_error("ClusterNotFoundException", ecs.run_task, taskDefinition="web")


def test_run_task_default_cluster_and_cluster_arn(ecs):
    setup(ecs, cluster="default")
    t = ecs.run_task(taskDefinition="web")["tasks"][0]
    assert t["clusterArn"] == cluster_arn("default")
    assert TASK_ARN.match(t["taskArn"])["cluster"] == "default"
    t2 = run_one(ecs, cluster=cluster_arn("default"))
    assert t2["clusterArn"] == cluster_arn("default")
    assert ecs.list_tasks()["taskArns"] == sorted([t["taskArn"], t2["taskArn"]])


def test_run_task_deleted_cluster(ecs):
    setup(ecs)
    ecs.delete_cluster(cluster="c")
    assert_error("ClusterNotFoundException", ecs.run_task, cluster="c", taskDefinition="web")


def test_run_task_container_overrides(ecs):
    setup(ecs, containers=[container("web", memory=128, cpu=64), container("side", memory=64)])
    overrides = [{
        "name": "web",
        "command": ["sh", "-c", "echo hi"],
        "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "two"}],
        "cpu": 512,
        "memory": 256,
    }]
    t = run_one(ecs, overrides={"containerOverrides": overrides})
    assert t["overrides"]["containerOverrides"] == overrides
    web, side = t["containers"]
    assert (web["name"], web["cpu"], web["memory"]) == ("web", "512", "256")
    assert (side["name"], side["cpu"], side["memory"]) == ("side", "0", "64")
    d = describe_one(ecs, "c", t["taskArn"])
    assert d["overrides"]["containerOverrides"] == overrides
    assert [(c["cpu"], c["memory"]) for c in d["containers"]] == [("512", "256"), ("0", "64")]


def test_run_task_override_of_unknown_container(ecs):
    setup(ecs)
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="web",
                 overrides={"containerOverrides": [{"name": "nope", "command": ["x"]}]})
    assert listed(ecs) == []


def test_run_task_task_level_overrides(ecs):
    """ECS runs the task with the overridden task size and reports it in cpu/memory."""
    setup_fargate(ecs)
    t = run_one(ecs, td="fg", launchType="FARGATE", networkConfiguration=NETWORK,
                overrides={"cpu": "512", "memory": "1024"})
    assert (t["overrides"]["cpu"], t["overrides"]["memory"]) == ("512", "1024")
    assert (t["cpu"], t["memory"]) == ("512", "1024")


def test_run_task_started_by_and_group(ecs):
    setup(ecs)
    t = run_one(ecs, startedBy="deployer", group="batch:nightly")
    assert (t["startedBy"], t["group"]) == ("deployer", "batch:nightly")
    assert run_one(ecs, startedBy="s" * 128)["startedBy"] == "s" * 128


def test_run_task_started_by_too_long(ecs_raw):
    setup(ecs_raw)
    assert_error("InvalidParameterException", ecs_raw.run_task, cluster="c", taskDefinition="web",
                 startedBy="s" * 129)
    assert listed(ecs_raw) == []


def test_run_task_tags(ecs):
    setup(ecs)
    tags = [{"key": "team", "value": "core"}, {"key": "env", "value": ""}]
    t = run_one(ecs, tags=tags)
    assert sorted_tags(ecs.list_tags_for_resource(resourceArn=t["taskArn"])["tags"]) == sorted_tags(tags)
    assert sorted_tags(describe_one(ecs, "c", t["taskArn"], include=["TAGS"])["tags"]) == sorted_tags(tags)
    # without include=TAGS the tags are not shown
    assert describe_one(ecs, "c", t["taskArn"]).get("tags", []) == []


def test_run_task_propagates_definition_tags(ecs):
    setup(ecs, tags=[{"key": "from", "value": "td"}, {"key": "shared", "value": "td"}])
    t = run_one(ecs, propagateTags="TASK_DEFINITION", tags=[{"key": "own", "value": "1"}])
    got = sorted_tags(ecs.list_tags_for_resource(resourceArn=t["taskArn"])["tags"])
    assert got == [("from", "td"), ("own", "1"), ("shared", "td")]
    # without propagation (or with NONE) only the task's own tags
    t = run_one(ecs, tags=[{"key": "own", "value": "2"}])
    assert ecs.list_tags_for_resource(resourceArn=t["taskArn"])["tags"] == [{"key": "own", "value": "2"}]
    t = run_one(ecs, propagateTags="NONE")
    assert ecs.list_tags_for_resource(resourceArn=t["taskArn"])["tags"] == []


def test_run_task_propagate_tags_service_is_rejected(ecs):
    """RunTask's documentation: 'An error will be received if you specify the SERVICE option
    when running a task.'"""
    setup(ecs)
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="web",
                 propagateTags="SERVICE")


def test_run_task_ecs_managed_tags(ecs):
    setup(ecs)
    t = run_one(ecs, enableECSManagedTags=True, tags=[{"key": "own", "value": "1"}])
    got = sorted_tags(ecs.list_tags_for_resource(resourceArn=t["taskArn"])["tags"])
    assert got == [("aws:ecs:clusterName", "c"), ("own", "1")]
    t = run_one(ecs, enableECSManagedTags=False)
    assert ecs.list_tags_for_resource(resourceArn=t["taskArn"])["tags"] == []


def test_run_task_rejects_bad_tags(ecs_raw):
    setup(ecs_raw)
    assert_error("InvalidParameterException", ecs_raw.run_task, cluster="c", taskDefinition="web",
                 tags=[{"key": "aws:mine", "value": "x"}])
    assert_error("InvalidParameterException", ecs_raw.run_task, cluster="c", taskDefinition="web",
                 tags=[{"key": f"k{i}", "value": ""} for i in range(51)])
    assert listed(ecs_raw) == []


def test_run_task_client_token_is_idempotent(ecs):
    setup(ecs)
    ecs.create_cluster(clusterName="other")
    first = run(ecs, count=2, clientToken="tok-1")
    again = run(ecs, count=2, clientToken="tok-1")
    assert sorted(t["taskArn"] for t in again) == sorted(t["taskArn"] for t in first)
    assert listed(ecs) == sorted(t["taskArn"] for t in first)
    # another token, or the same token in another cluster, starts new tasks
    new = run_one(ecs, clientToken="tok-2")
    assert new["taskArn"] not in {t["taskArn"] for t in first}
    elsewhere = run(ecs, cluster="other", count=2, clientToken="tok-1")
    assert all(TASK_ARN.match(t["taskArn"])["cluster"] == "other" for t in elsewhere)
    assert len(listed(ecs)) == 3
    assert len(listed(ecs, cluster="other")) == 2


def test_run_task_launch_types(ecs):
    setup(ecs)
    assert run_one(ecs)["launchType"] == "EC2"
    assert run_one(ecs, launchType="EC2")["launchType"] == "EC2"
    t = run_one(ecs, launchType="EXTERNAL")
    assert t["launchType"] == "EXTERNAL"
    assert "platformVersion" not in t


def test_run_task_fargate(ecs):
    setup_fargate(ecs)
    t = run_one(ecs, td="fg", launchType="FARGATE", networkConfiguration=NETWORK)
    assert t["launchType"] == "FARGATE"
    assert t["platformVersion"] == "1.4.0"
    assert t["platformFamily"] == "Linux"
    assert (t["cpu"], t["memory"]) == ("256", "512")
    assert (t["lastStatus"], t["desiredStatus"]) == ("RUNNING", "RUNNING")
    assert t["containers"][0]["cpu"] == "0"
    assert "memory" not in t["containers"][0]
    assert listed(ecs, launchType="FARGATE") == [t["taskArn"]]


def test_fargate_tasks_report_their_ephemeral_storage(ecs):
    setup_fargate(ecs)
    t = run_one(ecs, td="fg", launchType="FARGATE", networkConfiguration=NETWORK)
    assert t["ephemeralStorage"] == {"sizeInGiB": 20}, "Fargate's default"
    assert t["fargateEphemeralStorage"] == {"sizeInGiB": 20}
    t = run_one(ecs, td="fg", launchType="FARGATE", networkConfiguration=NETWORK,
                overrides={"ephemeralStorage": {"sizeInGiB": 50}})
    assert (t["ephemeralStorage"], t["fargateEphemeralStorage"]) == ({"sizeInGiB": 50},) * 2
    setup(ecs, "c", "big", [container(memory=None)], networkMode="awsvpc",
          requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
          ephemeralStorage={"sizeInGiB": 40})
    t = run_one(ecs, td="big", launchType="FARGATE", networkConfiguration=NETWORK)
    assert t["ephemeralStorage"] == {"sizeInGiB": 40}
    setup(ecs, "c", "web")
    ec2 = run_one(ecs, td="web")
    assert "ephemeralStorage" not in ec2 and "fargateEphemeralStorage" not in ec2


def test_run_task_fargate_latest_platform_version_is_resolved(ecs):
    setup_fargate(ecs)
    t = run_one(ecs, td="fg", launchType="FARGATE", networkConfiguration=NETWORK, platformVersion="LATEST")
    assert t["platformVersion"] == "1.4.0"


def test_run_task_fargate_needs_compatible_definition(ecs):
    setup(ecs)  # bridge mode, no task size
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="web",
                 launchType="FARGATE", networkConfiguration=NETWORK)
    # awsvpc, but a size Fargate does not offer
    ecs.register_task_definition(family="big", containerDefinitions=[container()],
                                 networkMode="awsvpc", cpu="256", memory="4096")
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="big",
                 launchType="FARGATE", networkConfiguration=NETWORK)
    assert listed(ecs) == []


def test_run_task_awsvpc_needs_network_configuration(ecs):
    setup_fargate(ecs)
    ecs.register_task_definition(family="vpc", containerDefinitions=[container()], networkMode="awsvpc")
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="fg",
                 launchType="FARGATE")
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="vpc")
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="vpc",
                 networkConfiguration={})
    assert listed(ecs) == []
    assert run_one(ecs, td="vpc", networkConfiguration=NETWORK)["launchType"] == "EC2"


def test_run_task_network_configuration_needs_awsvpc(ecs):
    """ECS: 'Network Configuration is not valid for the given networkMode of this task
    definition.'"""
    setup(ecs)  # bridge mode
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="web",
                 networkConfiguration=NETWORK)
    assert listed(ecs) == []


def test_run_task_capacity_provider_strategy(ecs):
    ecs.create_cluster(clusterName="c", capacityProviders=["FARGATE"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    setup_fargate(ecs, cluster=None)
    t = run_one(ecs, td="fg", networkConfiguration=NETWORK)
    assert t["capacityProviderName"] == "FARGATE"
    assert t["launchType"] == "FARGATE"
    assert t["platformVersion"] == "1.4.0"
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="fg",
                 networkConfiguration=NETWORK, launchType="FARGATE",
                 capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])


def test_run_task_capacity_provider_not_in_cluster(ecs):
    setup_fargate(ecs)
    assert_error("InvalidParameterException", ecs.run_task, cluster="c", taskDefinition="fg",
                 networkConfiguration=NETWORK,
                 capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert listed(ecs) == []


def test_run_task_other_region(ecs, ecs_eu):
    setup(ecs_eu)
    t = run_one(ecs_eu)
    m = TASK_ARN.match(t["taskArn"])
    assert (m["region"], m["cluster"]) == ("eu-west-1", "c")
    assert t["clusterArn"] == cluster_arn("c", "eu-west-1")
    assert t["taskDefinitionArn"] == td_arn("web", 1, "eu-west-1")
    assert t["availabilityZone"] == "eu-west-1a"
    assert t["containers"][0]["containerArn"].startswith("arn:aws:ecs:eu-west-1:000000000000:container/c/")
    # us-east-1 sees none of it
    ecs.create_cluster(clusterName="c")
    assert listed(ecs) == []
    r = describe(ecs, "c", [t["taskArn"]])
    assert r["tasks"] == []
    assert r["failures"] == [{"arn": t["taskArn"], "reason": "MISSING"}]
    assert_error("InvalidParameterException", ecs.stop_task, cluster="c", task=t["taskArn"])
    assert describe_one(ecs_eu, "c", t["taskArn"])["lastStatus"] == "RUNNING"


# --- StopTask ------------------------------------------------------------------------------------

def test_stop_task(ecs):
    setup(ecs, containers=[container("web"), container("side")])
    t = run_one(ecs)
    before = utcnow()
    s = ecs.stop_task(cluster="c", task=t["taskArn"], reason="done with it")["task"]
    after = utcnow()
    assert s["taskArn"] == t["taskArn"]
    assert (s["lastStatus"], s["desiredStatus"]) == ("STOPPED", "STOPPED")
    assert s["stopCode"] == "UserInitiated"
    assert s["stoppedReason"] == "done with it"
    for key in ["stoppedAt", "stoppingAt", "executionStoppedAt"]:
        assert_recent(s[key], before, after)
    assert s["startedAt"] == t["startedAt"]
    assert s["createdAt"] == t["createdAt"]
    assert s["stoppingAt"] <= s["stoppedAt"]
    assert s["stoppedAt"] >= s["startedAt"]
    assert s["version"] > t["version"]
    assert [(c["name"], c["lastStatus"]) for c in s["containers"]] == [("web", "STOPPED"), ("side", "STOPPED")]
    assert [c["containerArn"] for c in s["containers"]] == [c["containerArn"] for c in t["containers"]]
    d = describe_one(ecs, "c", t["taskArn"])
    assert d == s


def test_stop_task_by_id_default_reason(ecs):
    setup(ecs)
    t = run_one(ecs)
    s = ecs.stop_task(cluster="c", task=task_id(t["taskArn"]))["task"]
    assert s["taskArn"] == t["taskArn"]
    assert s["lastStatus"] == "STOPPED"
    assert s["stoppedReason"] == "Task stopped by user"
    assert s["stopCode"] == "UserInitiated"


def test_stop_task_twice_returns_it_unchanged(ecs):
    setup(ecs)
    t = run_one(ecs)
    first = ecs.stop_task(cluster="c", task=t["taskArn"], reason="first")["task"]
    second = ecs.stop_task(cluster="c", task=t["taskArn"], reason="second")["task"]
    assert second == first
    assert describe_one(ecs, "c", t["taskArn"])["stoppedReason"] == "first"


def test_stop_task_errors(ecs_raw):
    ecs = ecs_raw
    setup(ecs)
    ecs.create_cluster(clusterName="other")
    t = run_one(ecs)
    assert_error("InvalidParameterException", ecs.stop_task, cluster="c", task="0" * 32)
    assert_error("InvalidParameterException", ecs.stop_task, cluster="c", task=task_arn("c", "0" * 32))
    # a task of another cluster is not found in this one
    assert_error("InvalidParameterException", ecs.stop_task, cluster="other", task=t["taskArn"])
    assert_error("InvalidParameterException", ecs.stop_task, cluster="other", task=task_id(t["taskArn"]))
    assert_error("ClusterNotFoundException", ecs.stop_task, cluster="ghost", task=t["taskArn"])
    assert_error("InvalidParameterException", ecs.stop_task, cluster="c", task=t["taskArn"], reason="r" * 256)
    assert describe_one(ecs, "c", t["taskArn"])["lastStatus"] == "RUNNING"
    s = ecs.stop_task(cluster="c", task=t["taskArn"], reason="r" * 255)["task"]
    assert s["stoppedReason"] == "r" * 255


# --- DescribeTasks -------------------------------------------------------------------------------

def test_describe_tasks_by_id_and_arn_with_missing(ecs):
    setup(ecs)
    a, b = run(ecs, count=2)
    missing_id = "f" * 32
    missing_arn = task_arn("c", "e" * 32)
    r = describe(ecs, "c", [task_id(b["taskArn"]), missing_id, a["taskArn"], missing_arn])
    assert [t["taskArn"] for t in r["tasks"]] == [b["taskArn"], a["taskArn"]]
    assert r["failures"] == [
        {"arn": task_arn("c", missing_id), "reason": "MISSING"},
        {"arn": missing_arn, "reason": "MISSING"},
    ]
    for t in r["tasks"]:
        assert t.get("tags", []) == []


def test_describe_tasks_of_another_cluster_is_missing(ecs):
    setup(ecs)
    ecs.create_cluster(clusterName="other")
    t = run_one(ecs)
    r = describe(ecs, "other", [t["taskArn"]])
    assert r["tasks"] == []
    assert r["failures"] == [{"arn": t["taskArn"], "reason": "MISSING"}]


def test_describe_tasks_include_tags(ecs):
    setup(ecs)
    t = run_one(ecs, tags=[{"key": "a", "value": "1"}])
    u = run_one(ecs)
    r = describe(ecs, "c", [t["taskArn"], u["taskArn"]], include=["TAGS"])
    assert [x["tags"] for x in r["tasks"]] == [[{"key": "a", "value": "1"}], []]


def test_describe_tasks_limits(ecs_raw):
    setup(ecs_raw)
    ids = [f"{i:032x}" for i in range(100)]
    r = describe(ecs_raw, "c", ids)
    assert r["tasks"] == []
    assert r["failures"] == [{"arn": task_arn("c", i), "reason": "MISSING"} for i in ids]
    assert_error("InvalidParameterException", ecs_raw.describe_tasks, cluster="c", tasks=ids + ["1" * 32])


def test_describe_tasks_empty_list(ecs_raw):
    """ECS: InvalidParameterException 'Tasks cannot be empty.'"""
    setup(ecs_raw)
    assert_error("InvalidParameterException", ecs_raw.describe_tasks, cluster="c", tasks=[])


def test_describe_tasks_unknown_cluster(ecs):
    assert_error("ClusterNotFoundException", ecs.describe_tasks, cluster="ghost", tasks=["0" * 32])
    assert_error("ClusterNotFoundException", ecs.describe_tasks, tasks=["0" * 32])


def test_describe_tasks_default_cluster(ecs):
    setup(ecs, cluster="default")
    t = ecs.run_task(taskDefinition="web")["tasks"][0]
    r = ecs.describe_tasks(tasks=[task_id(t["taskArn"])])
    assert [x["taskArn"] for x in r["tasks"]] == [t["taskArn"]]


# --- ListTasks -----------------------------------------------------------------------------------

def test_list_tasks_desired_status(ecs):
    setup(ecs)
    tasks = [t["taskArn"] for t in run(ecs, count=3)]
    ecs.stop_task(cluster="c", task=tasks[1])
    running = sorted([tasks[0], tasks[2]])
    assert listed(ecs) == running
    assert listed(ecs, desiredStatus="RUNNING") == running
    assert listed(ecs, desiredStatus="STOPPED") == [tasks[1]]
    assert listed(ecs, desiredStatus="PENDING") == []


def test_list_tasks_filters(ecs):
    setup(ecs)
    ecs.register_task_definition(family="api", containerDefinitions=[container()])
    web = run_one(ecs)["taskArn"]
    web_by_me = run_one(ecs, startedBy="me")["taskArn"]
    api = run_one(ecs, td="api", startedBy="me", launchType="EXTERNAL")["taskArn"]
    svc = run_one(ecs, td="api", group="service:svc")["taskArn"]
    assert listed(ecs, family="web") == sorted([web, web_by_me])
    assert listed(ecs, family="api") == sorted([api, svc])
    assert listed(ecs, family="nothing") == []
    assert listed(ecs, startedBy="me") == sorted([web_by_me, api])
    assert listed(ecs, startedBy="me", family="api") == [api]
    assert listed(ecs, launchType="EXTERNAL") == [api]
    assert listed(ecs, launchType="EC2") == sorted([web, web_by_me, svc])
    assert listed(ecs, launchType="FARGATE") == []
    assert listed(ecs, serviceName="svc") == [svc]
    assert listed(ecs, serviceName="other") == []
    assert listed(ecs, containerInstance="0123456789abcdef0123456789abcdef") == []
    ecs.stop_task(cluster="c", task=web_by_me)
    assert listed(ecs, startedBy="me") == [api]
    assert listed(ecs, startedBy="me", desiredStatus="STOPPED") == [web_by_me]


def test_list_tasks_is_per_cluster(ecs):
    setup(ecs)
    ecs.create_cluster(clusterName="c2")
    ecs.create_cluster(clusterName="empty")
    a = run_one(ecs)["taskArn"]
    b = run_one(ecs, cluster="c2")["taskArn"]
    assert listed(ecs) == [a]
    assert listed(ecs, cluster="c2") == [b]
    assert listed(ecs, cluster=cluster_arn("c2")) == [b]
    assert listed(ecs, cluster="empty") == []


def test_list_tasks_pagination(ecs):
    setup(ecs)
    arns = sorted(t["taskArn"] for t in run(ecs, count=7))
    seen, token, pages = [], None, 0
    while True:
        r = ecs.list_tasks(cluster="c", maxResults=3, **({"nextToken": token} if token else {}))
        pages += 1
        assert len(r["taskArns"]) <= 3
        seen += r["taskArns"]
        token = r.get("nextToken")
        if not token:
            break
    assert pages == 3
    assert seen == arns
    full = ecs.list_tasks(cluster="c")
    assert full["taskArns"] == arns
    assert "nextToken" not in full
    paged = [a for page in ecs.get_paginator("list_tasks").paginate(
        cluster="c", PaginationConfig={"PageSize": 2}) for a in page["taskArns"]]
    assert paged == arns


@pytest.mark.parametrize("max_results", [0, 101])
def test_list_tasks_bad_max_results(ecs_raw, max_results):
    setup(ecs_raw)
    assert_error("InvalidParameterException", ecs_raw.list_tasks, cluster="c", maxResults=max_results)


def test_list_tasks_unknown_cluster(ecs):
    assert_error("ClusterNotFoundException", ecs.list_tasks, cluster="ghost")
    assert_error("ClusterNotFoundException", ecs.list_tasks)


# --- clusters ------------------------------------------------------------------------------------

def test_cluster_counts_running_tasks(ecs):
    setup(ecs)
    ecs.create_cluster(clusterName="other")
    tasks = run(ecs, count=3)
    c = ecs.describe_clusters(clusters=["c"])["clusters"][0]
    assert (c["runningTasksCount"], c["pendingTasksCount"]) == (3, 0)
    ecs.stop_task(cluster="c", task=tasks[0]["taskArn"])
    c, o = ecs.describe_clusters(clusters=["c", "other"])["clusters"]
    assert (c["runningTasksCount"], c["pendingTasksCount"]) == (2, 0)
    assert (o["runningTasksCount"], o["pendingTasksCount"]) == (0, 0)


def test_delete_cluster_with_tasks(ecs):
    setup(ecs)
    tasks = run(ecs, count=2)
    assert_error("ClusterContainsTasksException", ecs.delete_cluster, cluster="c")
    ecs.stop_task(cluster="c", task=tasks[0]["taskArn"])
    assert_error("ClusterContainsTasksException", ecs.delete_cluster, cluster="c")
    assert ecs.describe_clusters(clusters=["c"])["clusters"][0]["status"] == "ACTIVE"
    ecs.stop_task(cluster="c", task=tasks[1]["taskArn"])
    d = ecs.delete_cluster(cluster="c")["cluster"]
    assert (d["clusterArn"], d["status"]) == (cluster_arn("c"), "INACTIVE")
    assert_error("ClusterNotFoundException", ecs.list_tasks, cluster="c")


# --- tags on tasks -------------------------------------------------------------------------------

def test_tag_untag_task(ecs):
    setup(ecs)
    arn = run_one(ecs, tags=[{"key": "a", "value": "1"}])["taskArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "10"}, {"key": "b", "value": "2"}])
    assert sorted_tags(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == [("a", "10"), ("b", "2")]
    assert sorted_tags(describe_one(ecs, "c", arn, include=["TAGS"])["tags"]) == [("a", "10"), ("b", "2")]
    ecs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]
    assert_error("InvalidParameterException", ecs.tag_resource, resourceArn=arn,
                 tags=[{"key": "aws:x", "value": "1"}])
    # a stopped task keeps its tags and can still be tagged
    ecs.stop_task(cluster="c", task=arn)
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "c", "value": "3"}])
    assert sorted_tags(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == [("b", "2"), ("c", "3")]


# --- waiters -------------------------------------------------------------------------------------

def test_waiters(ecs):
    setup(ecs)
    arns = [t["taskArn"] for t in run(ecs, count=2)]
    ecs.get_waiter("tasks_running").wait(cluster="c", tasks=arns, WaiterConfig=FAST)
    for a in arns:
        ecs.stop_task(cluster="c", task=a)
    ecs.get_waiter("tasks_stopped").wait(cluster="c", tasks=arns, WaiterConfig=FAST)


def test_waiters_fail(ecs):
    setup(ecs)
    running, stopped = [t["taskArn"] for t in run(ecs, count=2)]
    ecs.stop_task(cluster="c", task=stopped)
    with pytest.raises(WaiterError):
        ecs.get_waiter("tasks_running").wait(cluster="c", tasks=[stopped], WaiterConfig=FAST)
    with pytest.raises(WaiterError):
        ecs.get_waiter("tasks_running").wait(cluster="c", tasks=[task_arn("c", "0" * 32)], WaiterConfig=FAST)
    with pytest.raises(WaiterError):
        ecs.get_waiter("tasks_stopped").wait(cluster="c", tasks=[running],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 2})


# --- reset and restarts --------------------------------------------------------------------------

def test_reset_wipes_tasks(server, ecs):
    setup(ecs)
    arn = run_one(ecs)["taskArn"]
    server.reset()
    ecs.create_cluster(clusterName="c")
    assert listed(ecs) == []
    assert listed(ecs, desiredStatus="STOPPED") == []
    assert describe(ecs, "c", [arn])["failures"] == [{"arn": arn, "reason": "MISSING"}]
    assert ecs.describe_clusters(clusters=["c"])["clusters"][0]["runningTasksCount"] == 0
    ecs.delete_cluster(cluster="c")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_tasks_survive_restart(start_server, tmp_path, sig):
    data = tmp_path / "persist"
    first = start_server(data)
    ecs = first.client()
    setup(ecs, tags=[{"key": "td", "value": "1"}])
    tasks = run(ecs, count=2, startedBy="me", tags=[{"key": "k", "value": "v"}],
                overrides={"containerOverrides": [{"name": "web", "command": ["run"]}]})
    token_task = run_one(ecs, clientToken="persisted-token")
    arns = sorted([t["taskArn"] for t in tasks] + [token_task["taskArn"]])
    ecs.stop_task(cluster="c", task=tasks[0]["taskArn"], reason="stopped before restart")
    before = strip(describe(ecs, "c", arns, include=["TAGS"]))
    assert len(before["tasks"]) == 3
    code = first.stop(sig)
    if sig == signal.SIGTERM:
        assert code == 0, f"graceful shutdown should exit 0, got {code}"

    second = start_server(data)
    ecs = second.client()
    assert strip(describe(ecs, "c", arns, include=["TAGS"])) == before
    assert listed(ecs, desiredStatus="STOPPED") == [tasks[0]["taskArn"]]
    assert listed(ecs) == sorted([tasks[1]["taskArn"], token_task["taskArn"]])
    assert listed(ecs, startedBy="me") == [tasks[1]["taskArn"]]
    assert ecs.describe_clusters(clusters=["c"])["clusters"][0]["runningTasksCount"] == 2
    assert ecs.list_tags_for_resource(resourceArn=tasks[1]["taskArn"])["tags"] == [{"key": "k", "value": "v"}]
    # the client token still replays
    assert [t["taskArn"] for t in run(ecs, clientToken="persisted-token")] == [token_task["taskArn"]]
    assert len(listed(ecs)) == 2
    # and the restarted server keeps working on them
    s = ecs.stop_task(cluster="c", task=tasks[1]["taskArn"])["task"]
    assert s["lastStatus"] == "STOPPED"
    assert_error("ClusterContainsTasksException", ecs.delete_cluster, cluster="c")


# --- AWS CLI -------------------------------------------------------------------------------------

CLI_CONTAINERS = json.dumps([{"name": "web", "image": "nginx:latest", "memory": 128}])


def fails_with(res, code):
    assert res.returncode != 0, f"expected failure, got success: {res.stdout}"
    assert code in res.stderr, res.stderr


def test_cli_run_list_describe_stop_wait(aws):
    aws("create-cluster", "--cluster-name", "c")
    aws("register-task-definition", "--family", "f", "--container-definitions", CLI_CONTAINERS)
    out = aws("run-task", "--cluster", "c", "--task-definition", "f", "--count", "2")
    assert out["failures"] == []
    arns = [t["taskArn"] for t in out["tasks"]]
    assert len(arns) == 2 and all(TASK_ARN.match(a)["cluster"] == "c" for a in arns)
    assert all(t["lastStatus"] == "RUNNING" for t in out["tasks"])
    assert all(t["taskDefinitionArn"] == td_arn("f", 1) for t in out["tasks"])
    assert aws("list-tasks", "--cluster", "c")["taskArns"] == sorted(arns)
    assert aws("wait", "tasks-running", "--cluster", "c", "--tasks", *arns) == {}

    d = aws("describe-tasks", "--cluster", "c", "--tasks", task_id(arns[0]), arns[1], "f" * 32)
    assert [t["taskArn"] for t in d["tasks"]] == arns
    assert d["failures"] == [{"arn": task_arn("c", "f" * 32), "reason": "MISSING"}]

    s = aws("stop-task", "--cluster", "c", "--task", arns[0], "--reason", "cli stop")["task"]
    assert (s["lastStatus"], s["desiredStatus"], s["stoppedReason"], s["stopCode"]) == (
        "STOPPED", "STOPPED", "cli stop", "UserInitiated")
    assert aws("wait", "tasks-stopped", "--cluster", "c", "--tasks", arns[0]) == {}
    assert aws("list-tasks", "--cluster", "c")["taskArns"] == [arns[1]]
    assert aws("list-tasks", "--cluster", "c", "--desired-status", "STOPPED")["taskArns"] == [arns[0]]
    assert aws("stop-task", "--cluster", "c", "--task", task_id(arns[1]))["task"]["lastStatus"] == "STOPPED"
    assert aws("wait", "tasks-stopped", "--cluster", "c", "--tasks", *arns) == {}
    assert aws("list-tasks", "--cluster", "c")["taskArns"] == []


def test_cli_task_errors(aws):
    aws("create-cluster", "--cluster-name", "c")
    fails_with(aws("run-task", "--cluster", "c", "--task-definition", "ghost", ok=False), "ClientException")
    fails_with(aws("run-task", "--cluster", "ghost", "--task-definition", "ghost", ok=False),
               "ClusterNotFoundException")
    fails_with(aws("stop-task", "--cluster", "c", "--task", "0" * 32, ok=False), "InvalidParameterException")
    fails_with(aws("list-tasks", "--cluster", "ghost", ok=False), "ClusterNotFoundException")


def test_start_task_runs_one_task_per_container_instance(ecs):
    setup(ecs)
    ci = f"arn:aws:ecs:us-east-1:000000000000:container-instance/c/{'a' * 32}"
    out = ecs.start_task(cluster="c", taskDefinition="web", containerInstances=[ci, "b" * 32],
                         startedBy="me")
    tasks = out["tasks"]
    assert out["failures"] == []
    assert [t["containerInstanceArn"] for t in tasks] == [
        ci, f"arn:aws:ecs:us-east-1:000000000000:container-instance/c/{'b' * 32}"]
    assert all(t["launchType"] == "EC2" and t["startedBy"] == "me" for t in tasks)
    assert all(t["lastStatus"] == "RUNNING" for t in tasks)
    assert listed(ecs, containerInstance="b" * 32) == [tasks[1]["taskArn"]]
    assert listed(ecs, containerInstance=ci) == [tasks[0]["taskArn"]]


def test_start_task_needs_container_instances(ecs_raw):
    setup(ecs_raw)
    assert_error("InvalidParameterException", ecs_raw.start_task,
                 cluster="c", taskDefinition="web", containerInstances=[])
