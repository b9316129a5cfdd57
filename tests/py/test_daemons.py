"""Daemons: daemon task definitions registered, described, listed and deleted; a daemon runs
one task of its revision on every container instance of its capacity providers (instances
registered later get theirs, a deregistered one loses it), an update rolls a new revision out
as a deployment and records the revisions, a deleted daemon stops its tasks and goes; on Docker
the daemon's containers really run, once per instance, driven by the AWS CLI."""
import json
import subprocess
import time

from conftest import ASG_ARN, REGION, assert_error, cp_arn

DOCUMENT = json.dumps({"instanceId": "i-0123456789abcdef0", "region": REGION})
RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
]


def agent(image="busybox", command=("sleep", "300")):
    return [{"name": "agent", "image": image, "memory": 32, "command": list(command)}]


def setup_cluster(ecs, cluster="d", provider="pool"):
    ecs.create_capacity_provider(name=provider,
                                 autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    ecs.create_cluster(clusterName=cluster, capacityProviders=[provider])
    return cp_arn(provider)


def register_instance(ecs, cluster="d"):
    return ecs.register_container_instance(
        cluster=cluster, instanceIdentityDocument=DOCUMENT, totalResources=RESOURCES,
    )["containerInstance"]["containerInstanceArn"]


def live_tasks(ecs, cluster="d"):
    arns = ecs.list_tasks(cluster=cluster)["taskArns"]
    if not arns:
        return []
    return [t for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
            if t["group"].startswith("daemon:")]


def eventually(check, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError(f"never true: {check.__name__}")
        time.sleep(0.2)


def test_daemon_task_definitions_are_registered_numbered_listed_and_deleted(ecs):
    first = ecs.register_daemon_task_definition(
        family="agent", containerDefinitions=agent(), memory="64",
        tags=[{"key": "team", "value": "ops"}])["daemonTaskDefinitionArn"]
    assert first == f"arn:aws:ecs:{REGION}:000000000000:daemon-task-definition/agent:1"
    second = ecs.register_daemon_task_definition(
        family="agent", containerDefinitions=agent(command=("sleep", "600")))["daemonTaskDefinitionArn"]
    assert second.endswith("agent:2")
    ecs.register_daemon_task_definition(family="other", containerDefinitions=agent())
    shown = ecs.describe_daemon_task_definition(daemonTaskDefinition="agent")["daemonTaskDefinition"]
    assert shown["revision"] == 2 and shown["status"] == "ACTIVE"
    assert shown["containerDefinitions"][0]["command"] == ["sleep", "600"]
    assert shown["registeredBy"].startswith("arn:aws:iam::000000000000:")
    assert ecs.describe_daemon_task_definition(
        daemonTaskDefinition="agent:1")["daemonTaskDefinition"]["memory"] == "64"
    assert ecs.list_tags_for_resource(resourceArn=first)["tags"] == [{"key": "team", "value": "ops"}]

    def listed(**kw):
        return [d["arn"].rsplit("/", 1)[1]
                for d in ecs.list_daemon_task_definitions(**kw)["daemonTaskDefinitions"]]

    assert listed() == ["agent:1", "agent:2", "other:1"]
    assert listed(family="agent", sort="DESC") == ["agent:2", "agent:1"]
    assert listed(revision="LAST_REGISTERED") == ["agent:2", "other:1"]
    assert listed(familyPrefix="oth") == ["other:1"]
    page = ecs.list_daemon_task_definitions(maxResults=2)
    rest = ecs.list_daemon_task_definitions(maxResults=2, nextToken=page["nextToken"])
    assert [d["arn"] for d in page["daemonTaskDefinitions"] + rest["daemonTaskDefinitions"]] == [
        first, second, first.replace("agent:1", "other:1")]
    # Not used by any daemon: deleted at once, listed only with status ALL.
    gone = ecs.delete_daemon_task_definition(daemonTaskDefinition=first)
    assert gone["daemonTaskDefinitionArn"] == first
    assert ecs.describe_daemon_task_definition(
        daemonTaskDefinition=first)["daemonTaskDefinition"]["status"] == "DELETED"
    assert listed() == ["agent:2", "other:1"]
    assert listed(status="ALL") == ["agent:1", "agent:2", "other:1"]
    assert_error("ClientException", ecs.delete_daemon_task_definition, daemonTaskDefinition=first)
    assert_error("ClientException", ecs.describe_daemon_task_definition, daemonTaskDefinition="nope")
    # Checked as a task definition with the same members would be.
    assert_error("ClientException", ecs.register_daemon_task_definition, family="bad",
                 containerDefinitions=[{"name": "a", "image": "busybox", "memory": 2}])
    assert listed(status="ALL", familyPrefix="bad") == []


def test_a_daemon_runs_once_on_every_instance_and_rolls_out_updates(ecs):
    provider = setup_cluster(ecs)
    cluster = f"arn:aws:ecs:{REGION}:000000000000:cluster/d"
    first, second = register_instance(ecs), register_instance(ecs)
    v1 = ecs.register_daemon_task_definition(
        family="agent", containerDefinitions=agent())["daemonTaskDefinitionArn"]
    created = ecs.create_daemon(daemonName="monitor", clusterArn="d", daemonTaskDefinitionArn=v1,
                                capacityProviderArns=[provider], propagateTags="DAEMON",
                                tags=[{"key": "team", "value": "ops"}])
    daemon = created["daemonArn"]
    assert daemon == f"arn:aws:ecs:{REGION}:000000000000:daemon/d/monitor"
    assert created["status"] == "ACTIVE"
    assert created["deploymentArn"].startswith(
        f"arn:aws:ecs:{REGION}:000000000000:daemon-deployment/d/monitor/")

    def both_running():
        tasks = live_tasks(ecs)
        return len(tasks) == 2 and all(t["lastStatus"] == "RUNNING" for t in tasks) and tasks

    tasks = eventually(both_running)
    assert sorted(t["containerInstanceArn"] for t in tasks) == sorted([first, second])
    assert {t["taskDefinitionArn"] for t in tasks} == {v1}
    assert {t["group"] for t in tasks} == {"daemon:monitor"}
    assert {t["capacityProviderName"] for t in tasks} == {"pool"}
    assert ecs.list_tags_for_resource(resourceArn=tasks[0]["taskArn"])["tags"] == [
        {"key": "team", "value": "ops"}]

    def deployment(arn):
        return ecs.describe_daemon_deployments(daemonDeploymentArns=[arn])["daemonDeployments"][0]

    done = eventually(lambda: deployment(created["deploymentArn"])["status"] == "SUCCESSFUL"
                      and deployment(created["deploymentArn"]))
    assert done["clusterArn"] == cluster
    assert done["targetDaemonRevision"]["totalRunningInstanceCount"] == 2
    assert done["deploymentConfiguration"]["drainPercent"] == 25.0
    detail = ecs.describe_daemon(daemonArn=daemon)["daemon"]
    [revision] = detail["currentRevisions"]
    assert revision["totalRunningCount"] == 2
    assert revision["capacityProviders"] == [{"arn": provider, "runningCount": 2}]
    # A new instance gets its daemon task.
    third = register_instance(ecs)
    eventually(lambda: third in [t["containerInstanceArn"] for t in live_tasks(ecs)
                                 if t["lastStatus"] == "RUNNING"])
    # An update rolls the new revision out on every instance.
    v2 = ecs.register_daemon_task_definition(
        family="agent", containerDefinitions=agent(command=("sleep", "301")))["daemonTaskDefinitionArn"]
    updated = ecs.update_daemon(daemonArn=daemon, daemonTaskDefinitionArn=v2,
                                capacityProviderArns=[provider],
                                deploymentConfiguration={"drainPercent": 50.0})
    assert updated["deploymentArn"] != created["deploymentArn"]

    def rolled():
        tasks = live_tasks(ecs)
        running = [t for t in tasks if t["desiredStatus"] == "RUNNING"]
        return (len(running) == 3 and {t["taskDefinitionArn"] for t in running} == {v2}
                and all(t["lastStatus"] == "RUNNING" for t in running))

    eventually(rolled)
    rollout = eventually(lambda: deployment(updated["deploymentArn"])["status"] == "SUCCESSFUL"
                         and deployment(updated["deploymentArn"]))
    assert rollout["sourceDaemonRevisions"][0]["arn"] == revision["arn"]
    listed = ecs.list_daemon_deployments(daemonArn=daemon)["daemonDeployments"]
    assert [d["daemonDeploymentArn"] for d in listed] == [updated["deploymentArn"],
                                                          created["deploymentArn"]]
    assert ecs.list_daemon_deployments(daemonArn=daemon, status=["STOPPED"])["daemonDeployments"] == []
    target = rollout["targetDaemonRevision"]["arn"]
    got = ecs.describe_daemon_revisions(daemonRevisionArns=[target, target + "x"])
    assert got["daemonRevisions"][0]["daemonTaskDefinitionArn"] == v2
    assert got["daemonRevisions"][0]["containerImages"] == [{"containerName": "agent", "image": "busybox"}]
    assert got["failures"] == [{"arn": target + "x", "reason": "MISSING"}]
    # The definition a daemon deploys is only marked for deletion.
    ecs.delete_daemon_task_definition(daemonTaskDefinition=v2)
    assert ecs.describe_daemon_task_definition(
        daemonTaskDefinition=v2)["daemonTaskDefinition"]["status"] == "DELETE_IN_PROGRESS"
    # A deregistered instance loses its daemon task.
    ecs.deregister_container_instance(cluster="d", containerInstance=third, force=True)
    eventually(lambda: third not in [t["containerInstanceArn"] for t in live_tasks(ecs)
                                     if t["desiredStatus"] == "RUNNING"])
    summaries = ecs.list_daemons(clusterArn="d")["daemonSummariesList"]
    assert [s["daemonArn"] for s in summaries] == [daemon]
    assert ecs.list_daemons(capacityProviderArns=[cp_arn("elsewhere")])["daemonSummariesList"] == []
    # Deleting stops every task, then the daemon is gone.
    deleting = ecs.delete_daemon(daemonArn=daemon)
    assert deleting["status"] == "DELETE_IN_PROGRESS"
    eventually(lambda: all(t["lastStatus"] == "STOPPED" for t in live_tasks(ecs)))
    eventually(lambda: not ecs.list_daemons()["daemonSummariesList"])
    assert_error("DaemonNotFoundException", ecs.describe_daemon, daemonArn=daemon)
    assert_error("DaemonNotFoundException", ecs.update_daemon, daemonArn=daemon,
                 daemonTaskDefinitionArn=v1, capacityProviderArns=[provider])


def test_create_daemon_checks_its_input(ecs):
    provider = setup_cluster(ecs)
    v1 = ecs.register_daemon_task_definition(
        family="agent", containerDefinitions=agent())["daemonTaskDefinitionArn"]
    ok = dict(daemonName="m", clusterArn="d", daemonTaskDefinitionArn=v1,
              capacityProviderArns=[provider])
    assert_error("ClusterNotFoundException", ecs.create_daemon, **{**ok, "clusterArn": "nope"})
    assert_error("InvalidParameterException", ecs.create_daemon, **{**ok, "daemonName": "bad name"})
    assert_error("InvalidParameterException", ecs.create_daemon,
                 **{**ok, "capacityProviderArns": [cp_arn("FARGATE")]})
    assert_error("InvalidParameterException", ecs.create_daemon,
                 **{**ok, "capacityProviderArns": [cp_arn("elsewhere")]})
    assert_error("InvalidParameterException", ecs.create_daemon,
                 **{**ok, "deploymentConfiguration": {"drainPercent": 0.0}})
    assert_error("ClientException", ecs.create_daemon,
                 **{**ok, "daemonTaskDefinitionArn": v1.replace(":1", ":9")})
    assert ecs.list_daemons()["daemonSummariesList"] == []
    made = ecs.create_daemon(clientToken="t1", **ok)
    assert ecs.create_daemon(clientToken="t1", **ok)["daemonArn"] == made["daemonArn"]
    assert_error("InvalidParameterException", ecs.create_daemon, **ok)
    assert_error("DaemonNotFoundException", ecs.describe_daemon,
                 daemonArn=made["daemonArn"].replace("/m", "/other"))


def test_a_daemon_runs_its_containers_on_each_instance_with_docker(docker_server, aws_docker):
    ecs = docker_server.client()
    provider = setup_cluster(ecs, cluster="dd", provider="dpool")
    instances = [register_instance(ecs, "dd"), register_instance(ecs, "dd")]
    defn = aws_docker("register-daemon-task-definition", "--family", "node-agent",
                      "--container-definitions",
                      json.dumps(agent(image=docker_server.image)))["daemonTaskDefinitionArn"]
    daemon = aws_docker("create-daemon", "--daemon-name", "node-agent", "--cluster-arn", "dd",
                        "--daemon-task-definition-arn", defn,
                        "--capacity-provider-arns", provider)["daemonArn"]

    def running():
        tasks = live_tasks(ecs, "dd")
        return (len(tasks) == 2 and all(t["lastStatus"] == "RUNNING" for t in tasks)) and tasks

    tasks = eventually(running, timeout=60)
    assert sorted(t["containerInstanceArn"] for t in tasks) == sorted(instances)
    ids = [t["containers"][0]["runtimeId"] for t in tasks]
    for cid in ids:
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", cid],
                               capture_output=True, text=True).stdout.strip()
        assert state == "true", cid
    shown = aws_docker("describe-daemon", "--daemon-arn", daemon)["daemon"]
    assert shown["currentRevisions"][0]["totalRunningCount"] == 2
    aws_docker("delete-daemon", "--daemon-arn", daemon)
    eventually(lambda: all(t["lastStatus"] == "STOPPED" for t in live_tasks(ecs, "dd")), timeout=60)
