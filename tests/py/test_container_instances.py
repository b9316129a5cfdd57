"""Container instances registered with RegisterContainerInstance: described and listed as ECS
shows them (task counts and remaining resources following the tasks StartTask places on them),
tagged, deregistered (with force while tasks run), and keeping their cluster from deletion;
DescribeContainerInstances validates in ECS's order; RunTask places EC2 tasks on them by
placement constraints, strategies and the resources left, with ECS's failure reasons (and a
service says in its events what it could not place); an agent-like client discovers KECS and
reports its tasks' state (Submit* operations)."""
import json
import os
import re
import time

from conftest import assert_error, error_of, make_client

DOCUMENT = json.dumps({"instanceId": "i-0123456789abcdef0", "region": "us-east-1"})
RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
]


def register(ecs, cluster="ci", **extra):
    return ecs.register_container_instance(
        cluster=cluster, instanceIdentityDocument=DOCUMENT, **{"totalResources": RESOURCES, **extra}
    )["containerInstance"]


def resources(instance, which):
    return {r["name"]: r["integerValue"] for r in instance[which]}


def test_a_registered_instance_is_described_listed_and_tagged(ecs):
    ecs.create_cluster(clusterName="ci")
    got = register(ecs, attributes=[{"name": "stack", "value": "blue"}],
                   tags=[{"key": "team", "value": "kecs"}])
    arn = got["containerInstanceArn"]
    assert re.fullmatch(r"arn:aws:ecs:us-east-1:000000000000:container-instance/ci/[0-9a-f]{32}", arn)
    assert got["ec2InstanceId"] == "i-0123456789abcdef0"
    assert got["status"] == "ACTIVE" and got["agentConnected"] is True
    assert resources(got, "registeredResources") == {"CPU": 2048, "MEMORY": 4096}
    assert resources(got, "remainingResources") == {"CPU": 2048, "MEMORY": 4096}
    assert (got["runningTasksCount"], got["pendingTasksCount"]) == (0, 0)
    attributes = {a["name"]: a.get("value") for a in got["attributes"]}
    assert attributes["ecs.os-type"] == "linux" and attributes["stack"] == "blue"
    assert got["versionInfo"]["agentVersion"]

    assert ecs.list_container_instances(cluster="ci")["containerInstanceArns"] == [arn]
    shown = ecs.describe_container_instances(cluster="ci", containerInstances=[arn.rsplit("/", 1)[1]],
                                             include=["TAGS"])["containerInstances"][0]
    assert shown["containerInstanceArn"] == arn
    assert shown["tags"] == [{"key": "team", "value": "kecs"}]
    cluster = ecs.describe_clusters(clusters=["ci"])["clusters"][0]
    assert cluster["registeredContainerInstancesCount"] == 1

    ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"}])
    assert {t["key"] for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"]} == {"team", "env"}
    ecs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "test"}]


def test_describe_checks_the_cluster_then_the_list(ecs):
    assert_error("ClusterNotFoundException", ecs.describe_container_instances,
                 cluster="nowhere", containerInstances=[])
    ecs.create_cluster(clusterName="ci")
    message = assert_error("InvalidParameterException", ecs.describe_container_instances,
                           cluster="ci", containerInstances=[])
    assert message == "Container Instances cannot be empty."
    got = ecs.describe_container_instances(cluster="ci", containerInstances=["0" * 32])
    assert got["containerInstances"] == []
    assert got["failures"] == [{
        "arn": "arn:aws:ecs:us-east-1:000000000000:container-instance/ci/" + "0" * 32,
        "reason": "MISSING"}]
    assert_error("ClusterNotFoundException", ecs.register_container_instance, cluster="nowhere")


def test_tasks_placed_on_an_instance_count_and_hold_it(ecs):
    ecs.create_cluster(clusterName="ci")
    arn = register(ecs)["containerInstanceArn"]
    ecs.register_task_definition(family="sized", cpu="512", memory="1024", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64}])
    task = ecs.start_task(cluster="ci", taskDefinition="sized",
                          containerInstances=[arn])["tasks"][0]
    assert task["containerInstanceArn"] == arn
    shown = ecs.describe_container_instances(cluster="ci", containerInstances=[arn])["containerInstances"][0]
    assert shown["runningTasksCount"] + shown["pendingTasksCount"] == 1
    assert resources(shown, "remainingResources") == {"CPU": 2048 - 512, "MEMORY": 4096 - 1024}

    # Tasks on it: no deregistration without force, and the cluster cannot go.
    assert_error("InvalidParameterException", ecs.deregister_container_instance,
                 cluster="ci", containerInstance=arn)
    assert_error("ClusterContainsContainerInstancesException", ecs.delete_cluster, cluster="ci")
    gone = ecs.deregister_container_instance(cluster="ci", containerInstance=arn,
                                             force=True)["containerInstance"]
    assert gone["status"] == "INACTIVE" and gone["agentConnected"] is False
    assert ecs.list_container_instances(cluster="ci")["containerInstanceArns"] == []
    assert ecs.describe_clusters(clusters=["ci"])["clusters"][0]["registeredContainerInstancesCount"] == 0
    code, _, _ = error_of(ecs.tag_resource, resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    assert code == "ResourceNotFoundException"
    ecs.stop_task(cluster="ci", task=task["taskArn"])
    ecs.delete_cluster(cluster="ci")


def test_list_filters_by_status_and_pages(ecs):
    ecs.create_cluster(clusterName="ci")
    arns = sorted(register(ecs)["containerInstanceArn"] for _ in range(3))
    first = ecs.list_container_instances(cluster="ci", maxResults=2)
    rest = ecs.list_container_instances(cluster="ci", nextToken=first["nextToken"])
    assert first["containerInstanceArns"] + rest["containerInstanceArns"] == arns
    assert ecs.list_container_instances(cluster="ci", status="DRAINING")["containerInstanceArns"] == []
    assert ecs.list_container_instances(cluster="ci", status="ACTIVE")["containerInstanceArns"] == arns


def test_list_filters_with_the_cluster_query_language(ecs):
    ecs.create_cluster(clusterName="ci")
    blue = register(ecs, attributes=[{"name": "stack", "value": "blue"}])["containerInstanceArn"]
    green = register(ecs, attributes=[{"name": "stack", "value": "green"}])["containerInstanceArn"]
    ecs.register_task_definition(family="grouped", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64}])
    ecs.start_task(cluster="ci", taskDefinition="grouped", containerInstances=[green],
                   group="batch")

    def listed(expression):
        return sorted(ecs.list_container_instances(cluster="ci", filter=expression)
                      ["containerInstanceArns"])

    assert listed("attribute:ecs.os-type == linux") == sorted([blue, green])
    assert listed("attribute:stack == blue") == [blue]
    assert listed("attribute:stack in [green, red] and runningTasksCount >= 1") == [green]
    assert listed("task:group == batch") == [green]
    assert listed("not task:group == batch") == [blue]
    assert listed("attribute:stack =~ gr*") == [green]
    assert listed("attribute:missing exists") == []
    assert listed("registeredAt > 2020-01-01 and agentConnected == true") == sorted([blue, green])
    message = assert_error("InvalidParameterException", ecs.list_container_instances,
                           cluster="ci", filter="colour == red")
    assert "not a subject" in message, message


def test_the_cli_registers_and_lists(aws):
    aws("create-cluster", "--cluster-name", "cli")
    got = aws("register-container-instance", "--cluster", "cli", "--total-resources",
              json.dumps(RESOURCES))["containerInstance"]
    assert got["ec2InstanceId"].startswith("i-")
    listed = aws("list-container-instances", "--cluster", "cli")["containerInstanceArns"]
    assert listed == [got["containerInstanceArn"]]


def test_an_instance_drains_and_comes_back(ecs):
    ecs.create_cluster(clusterName="ci")
    arn = register(ecs)["containerInstanceArn"]
    missing = "0" * 32
    got = ecs.update_container_instances_state(cluster="ci", containerInstances=[arn, missing],
                                               status="DRAINING")
    assert [i["status"] for i in got["containerInstances"]] == ["DRAINING"]
    assert got["failures"] == [{"arn": arn.rsplit("/", 1)[0] + "/" + missing, "reason": "MISSING"}]
    assert ecs.list_container_instances(cluster="ci", status="DRAINING")["containerInstanceArns"] == [arn]
    assert ecs.list_container_instances(cluster="ci")["containerInstanceArns"] == [arn]
    assert_error("InvalidParameterException", ecs.update_container_instances_state,
                 cluster="ci", containerInstances=[arn], status="REGISTERING")
    back = ecs.update_container_instances_state(cluster="ci", containerInstances=[arn],
                                                status="ACTIVE")["containerInstances"][0]
    assert back["status"] == "ACTIVE"
    # An instance on KECS's agent version has no update to take; an older one is updated.
    assert_error("NoUpdateAvailableException", ecs.update_container_agent,
                 cluster="ci", containerInstance=arn)
    old = register(ecs, versionInfo={"agentVersion": "1.50.0", "agentHash": "abc",
                                     "dockerVersion": "DockerVersion: 20.10"})
    started = ecs.update_container_agent(cluster="ci", containerInstance=old["containerInstanceArn"])
    assert started["containerInstance"]["agentUpdateStatus"] == "PENDING"
    after = ecs.describe_container_instances(
        cluster="ci", containerInstances=[old["containerInstanceArn"]])["containerInstances"][0]
    assert after["agentUpdateStatus"] == "UPDATED"
    assert after["versionInfo"]["agentVersion"] == got["containerInstances"][0]["versionInfo"]["agentVersion"]
    assert after["versionInfo"]["agentHash"] == "abc"


def test_ec2_tasks_run_on_kecs_own_machine_as_an_instance(docker_server):
    # On Docker, the machine is the container instance of each cluster that runs EC2 tasks,
    # registered with its real CPU units (1,024 per core) and memory.
    ecs = make_client(docker_server.api_url)
    ecs.create_cluster(clusterName="host")
    ecs.register_task_definition(family="on-host", containerDefinitions=[
        {"name": "app", "image": docker_server.image, "memory": 48, "cpu": 128,
         "stopTimeout": 1, "command": ["sleep", "300"]}])
    arns = [ecs.run_task(cluster="host", taskDefinition="on-host")["tasks"][0]["taskArn"]
            for _ in range(2)]
    ecs.get_waiter("tasks_running").wait(cluster="host", tasks=arns,
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    tasks = ecs.describe_tasks(cluster="host", tasks=arns)["tasks"]
    [instance_arn] = {t["containerInstanceArn"] for t in tasks}
    assert ecs.list_container_instances(cluster="host")["containerInstanceArns"] == [instance_arn]
    shown = ecs.describe_container_instances(
        cluster="host", containerInstances=[instance_arn])["containerInstances"][0]
    registered = resources(shown, "registeredResources")
    assert registered["CPU"] == 1024 * os.cpu_count()
    memory_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    assert abs(registered["MEMORY"] - memory_mib) < memory_mib // 10, (registered, memory_mib)
    assert resources(shown, "remainingResources") == {
        "CPU": registered["CPU"] - 2 * 128, "MEMORY": registered["MEMORY"] - 2 * 48}
    assert shown["runningTasksCount"] == 2
    assert {a["name"]: a.get("value") for a in shown["attributes"]}["kecs.host"] == "true"
    for arn in arns:
        ecs.stop_task(cluster="host", task=arn)
    ecs.get_waiter("tasks_stopped").wait(cluster="host", tasks=arns,
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    # KECS's own machine does not keep the cluster from deletion.
    assert ecs.delete_cluster(cluster="host")["cluster"]["status"] == "INACTIVE"


def placed_on(ecs, cluster, **run):
    out = ecs.run_task(cluster=cluster, launchType="EC2", **run)
    return [t["containerInstanceArn"] for t in out["tasks"]], out["failures"]


def test_run_task_places_by_constraints_strategies_and_resources(ecs):
    ecs.create_cluster(clusterName="pl")
    small = register(ecs, cluster="pl", attributes=[{"name": "stack", "value": "blue"}],
                     totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                                     {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}])
    big = register(ecs, cluster="pl", attributes=[{"name": "stack", "value": "green"}])
    small, big = small["containerInstanceArn"], big["containerInstanceArn"]
    ecs.register_task_definition(family="half", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 512, "cpu": 512}])

    # memberOf in the cluster query language.
    assert placed_on(ecs, "pl", taskDefinition="half", placementConstraints=[
        {"type": "memberOf", "expression": "attribute:stack == green"}]) == ([big], [])
    # binpack on memory fills the instance with the least left: the small one, twice.
    assert placed_on(ecs, "pl", taskDefinition="half", count=2, placementStrategy=[
        {"type": "binpack", "field": "memory"}]) == ([small, small], [])
    shown = ecs.describe_container_instances(cluster="pl", containerInstances=[small])
    assert resources(shown["containerInstances"][0], "remainingResources") == {"CPU": 0, "MEMORY": 0}
    # What fits nowhere is a failure per instance, with ECS's reasons, and no task.
    ecs.register_task_definition(family="huge", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 4000, "cpu": 512}])
    tasks, failures = placed_on(ecs, "pl", taskDefinition="huge")
    assert tasks == []
    assert sorted((f["arn"], f["reason"]) for f in failures) == sorted(
        [(small, "RESOURCE:CPU"), (big, "RESOURCE:MEMORY")])
    # A memberOf that no instance satisfies, and one that does not parse.
    tasks, failures = placed_on(ecs, "pl", taskDefinition="half", placementConstraints=[
        {"type": "memberOf", "expression": "attribute:stack == red"}])
    assert tasks == [] and {f["reason"] for f in failures} == {
        "MemberOf placement constraint unsatisfied."}
    assert_error("InvalidParameterException", ecs.run_task, cluster="pl", taskDefinition="half",
                 placementConstraints=[{"type": "memberOf", "expression": "attribute:stack =="}])
    # A draining instance takes no new task.
    ecs.update_container_instances_state(cluster="pl", containerInstances=[big], status="DRAINING")
    tasks, failures = placed_on(ecs, "pl", taskDefinition="half")
    assert tasks == [] and [f["arn"] for f in failures] == [small]


def test_spread_and_distinct_instance_keep_a_groups_tasks_apart(ecs):
    ecs.create_cluster(clusterName="sp")
    arns = sorted(register(ecs, cluster="sp")["containerInstanceArn"] for _ in range(2))
    ecs.register_task_definition(family="tiny", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64, "cpu": 64}])
    tasks, _ = placed_on(ecs, "sp", taskDefinition="tiny", count=4, group="web",
                         placementStrategy=[{"type": "spread", "field": "instanceId"}])
    assert sorted(tasks) == sorted(arns * 2)
    # distinctInstance: one task of the group per instance; the rest fail.
    tasks, failures = placed_on(ecs, "sp", taskDefinition="tiny", count=3, group="solo",
                                placementConstraints=[{"type": "distinctInstance"}])
    assert sorted(tasks) == arns
    assert {f["reason"] for f in failures} == {"DistinctInstance placement constraint unsatisfied."}


def test_a_service_places_what_fits_and_says_what_does_not(ecs):
    ecs.create_cluster(clusterName="svc")
    only = register(ecs, cluster="svc", totalResources=[
        {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}])["containerInstanceArn"]
    ecs.register_task_definition(family="fat", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 600, "cpu": 256}])
    ecs.create_service(cluster="svc", serviceName="web", taskDefinition="fat", desiredCount=2,
                       launchType="EC2")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        service = ecs.describe_services(cluster="svc", services=["web"])["services"][0]
        messages = [e["message"] for e in service["events"]]
        counted = service["runningCount"] + service["pendingCount"]
        if any("unable to place" in m for m in messages) and counted == 1:
            break
        time.sleep(0.3)
    wanted = ("service web was unable to place a task because no container instance met all of "
              f"its requirements. The closest matching container-instance {only.rsplit('/', 1)[1]} "
              "has insufficient memory available.")
    assert wanted in messages, messages
    time.sleep(3)  # past the scheduler's next passes (one follows each change of its tasks)
    later = ecs.describe_services(cluster="svc", services=["web"])["services"][0]["events"]
    assert [e["message"] for e in later].count(wanted) == 1, "said once while it lasts"
    assert service["runningCount"] + service["pendingCount"] == 1
    tasks = ecs.list_tasks(cluster="svc", serviceName="web")["taskArns"]
    placed = ecs.describe_tasks(cluster="svc", tasks=tasks)["tasks"]
    assert [t["containerInstanceArn"] for t in placed] == [only]


def test_an_agent_discovers_kecs_and_reports_its_tasks_state(ecs, server):
    ecs.create_cluster(clusterName="agent")
    instance = register(ecs, cluster="agent")["containerInstanceArn"]
    found = ecs.discover_poll_endpoint(cluster="agent", containerInstance=instance)
    assert found["endpoint"] == f"{server.api_url}/" == found["telemetryEndpoint"]
    assert_error("ClientException", ecs.discover_poll_endpoint, cluster="agent",
                 containerInstance="0" * 32)

    ecs.register_task_definition(family="agent-run", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64}])
    [arn] = [t["taskArn"] for t in ecs.start_task(
        cluster="agent", taskDefinition="agent-run", containerInstances=[instance])["tasks"]]
    ack = ecs.submit_container_state_change(cluster="agent", task=arn, containerName="app",
                                            runtimeId="c0ffee", status="RUNNING",
                                            networkBindings=[{"containerPort": 80, "hostPort": 8080}])
    assert ack["acknowledgment"] == "ACK"
    task = ecs.describe_tasks(cluster="agent", tasks=[arn])["tasks"][0]
    container = task["containers"][0]
    assert container["runtimeId"] == "c0ffee" and container["lastStatus"] == "RUNNING"
    assert container["networkBindings"][0]["hostPort"] == 8080

    ecs.submit_task_state_change(
        cluster="agent", task=arn, status="STOPPED", reason="Essential container in task exited",
        containers=[{"containerName": "app", "status": "STOPPED", "exitCode": 2}],
        executionStoppedAt=1_800_000_000)
    task = ecs.describe_tasks(cluster="agent", tasks=[arn])["tasks"][0]
    assert (task["lastStatus"], task["desiredStatus"]) == ("STOPPED", "STOPPED")
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 2
    # Bad reports change nothing and say why.
    assert_error("InvalidParameterException", ecs.submit_task_state_change, cluster="agent",
                 task="0" * 32, status="RUNNING")
    assert_error("InvalidParameterException", ecs.submit_container_state_change, cluster="agent",
                 task=arn, containerName="ghost", status="RUNNING")
    assert_error("ClusterNotFoundException", ecs.submit_task_state_change, cluster="nowhere",
                 task=arn, status="RUNNING")
    assert_error("InvalidParameterException", ecs.submit_attachment_state_changes,
                 cluster="agent", attachments=[
                     {"attachmentArn": "arn:aws:ecs:us-east-1:000000000000:attachment/nope",
                      "status": "ATTACHED"}])


def test_an_awsvpc_tasks_attachment_state_is_reported(ecs):
    ecs.create_cluster(clusterName="att")
    ecs.register_task_definition(family="eni", networkMode="awsvpc", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64}])
    task = ecs.run_task(cluster="att", taskDefinition="eni", launchType="EC2",
                        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    task = task["tasks"][0]
    attachment = task["attachments"][0]["id"]
    ack = ecs.submit_attachment_state_changes(cluster="att", attachments=[
        {"attachmentArn": f"arn:aws:ecs:us-east-1:000000000000:attachment/{attachment}",
         "status": "DELETED"}])
    assert ack["acknowledgment"] == "ACK"
    shown = ecs.describe_tasks(cluster="att", tasks=[task["taskArn"]])["tasks"][0]
    assert shown["attachments"][0]["status"] == "DELETED"


def test_draining_an_instance_moves_its_service_tasks_and_keeps_standalone_ones(ecs):
    ecs.create_cluster(clusterName="drain")
    first = register(ecs, cluster="drain")["containerInstanceArn"]
    second = register(ecs, cluster="drain")["containerInstanceArn"]
    ecs.register_task_definition(family="small", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64, "cpu": 64}])
    ecs.create_service(cluster="drain", serviceName="web", taskDefinition="small", desiredCount=2,
                       launchType="EC2", placementStrategy=[{"type": "spread", "field": "instanceId"}],
                       deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 200})
    [alone] = [t["taskArn"] for t in ecs.start_task(
        cluster="drain", taskDefinition="small", containerInstances=[first])["tasks"]]

    def where():
        arns = ecs.list_tasks(cluster="drain", serviceName="web")["taskArns"]
        tasks = ecs.describe_tasks(cluster="drain", tasks=arns)["tasks"] if arns else []
        return sorted(t["containerInstanceArn"] for t in tasks if t["lastStatus"] == "RUNNING")

    deadline = time.monotonic() + 20
    while where() != sorted([first, second]) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert where() == sorted([first, second])

    ecs.update_container_instances_state(cluster="drain", containerInstances=[first],
                                         status="DRAINING")
    deadline = time.monotonic() + 30
    while where() != [second, second] and time.monotonic() < deadline:
        time.sleep(0.3)
    assert where() == [second, second]
    # The standalone task on the draining instance keeps running.
    standalone = ecs.describe_tasks(cluster="drain", tasks=[alone])["tasks"][0]
    assert standalone["lastStatus"] == "RUNNING" and standalone["desiredStatus"] == "RUNNING"
