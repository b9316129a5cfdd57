"""Services on the `none` runtime: the API (create, describe, list, update, delete), the
scheduler keeping desiredCount, rolling deployments, events, and ECS's waiters."""
import time


from conftest import assert_error, cluster_arn, container, error_of, td_arn

FAST = {"Delay": 1, "MaxAttempts": 60}


def svc_arn(name, cluster="c"):
    return f"arn:aws:ecs:us-east-1:000000000000:service/{cluster}/{name}"


def setup(ecs, cluster="c", family="web", revisions=1):
    ecs.create_cluster(clusterName=cluster)
    for _ in range(revisions):
        ecs.register_task_definition(family=family, containerDefinitions=[container()])


def describe(ecs, name="svc", cluster="c", **kw):
    return ecs.describe_services(cluster=cluster, services=[name], **kw)["services"][0]


def wait_until(fn, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def running_tasks(ecs, name="svc", cluster="c"):
    return ecs.list_tasks(cluster=cluster, serviceName=name)["taskArns"]


def test_create_service_shape(ecs):
    setup(ecs)
    s = ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=2,
                           tags=[{"key": "k", "value": "v"}])["service"]
    assert s["serviceArn"] == svc_arn("svc")
    assert s["serviceName"] == "svc"
    assert s["clusterArn"] == cluster_arn("c")
    assert s["status"] == "ACTIVE"
    assert s["desiredCount"] == 2
    assert s["taskDefinition"] == td_arn("web", 1)
    assert s["launchType"] == "EC2"
    assert s["schedulingStrategy"] == "REPLICA"
    assert s["deploymentController"] == {"type": "ECS"}
    assert s["deploymentConfiguration"]["maximumPercent"] == 200
    assert s["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert s["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}
    assert s["deploymentConfiguration"]["alarms"] == {"alarmNames": [], "enable": False, "rollback": False}
    assert s["availabilityZoneRebalancing"] == "ENABLED"
    assert s["tags"] == [{"key": "k", "value": "v"}]
    (d,) = s["deployments"]
    assert d["status"] == "PRIMARY"
    assert d["id"].startswith("ecs-svc/") and len(d["id"]) == len("ecs-svc/") + 19
    assert d["rolloutState"] == "IN_PROGRESS"
    assert d["taskDefinition"] == td_arn("web", 1)


def test_availability_zone_rebalancing_defaults_as_ecs_documents(ecs):
    setup(ecs)
    daemon = ecs.create_service(cluster="c", serviceName="d", taskDefinition="web",
                                schedulingStrategy="DAEMON")["service"]
    assert daemon["availabilityZoneRebalancing"] == "DISABLED", "a daemon cannot rebalance"
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=0,
                       availabilityZoneRebalancing="DISABLED")
    # An update without a value keeps the service's own.
    s = ecs.update_service(cluster="c", service="svc", desiredCount=1)["service"]
    assert s["availabilityZoneRebalancing"] == "DISABLED"
    s = ecs.update_service(cluster="c", service="svc", availabilityZoneRebalancing="ENABLED")["service"]
    assert s["availabilityZoneRebalancing"] == "ENABLED"


def test_service_reaches_its_desired_count_and_steady_state(ecs):
    setup(ecs)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=3)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    s = describe(ecs)
    assert (s["runningCount"], s["pendingCount"], s["desiredCount"]) == (3, 0, 3)
    (d,) = s["deployments"]
    assert (d["runningCount"], d["rolloutState"]) == (3, "COMPLETED")
    messages = [e["message"] for e in s["events"]]
    assert messages[0] == "(service svc) has reached a steady state."
    assert any(m.startswith("(service svc) has started 3 tasks: (task ") for m in messages)
    assert f"(service svc) (deployment {d['id']}) deployment completed." in messages
    tasks = ecs.describe_tasks(cluster="c", tasks=running_tasks(ecs))["tasks"]
    assert len(tasks) == 3
    assert {t["group"] for t in tasks} == {"service:svc"}
    assert {t["startedBy"] for t in tasks} == {d["id"]}


def test_scale_up_and_down(ecs):
    setup(ecs)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=0)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    assert running_tasks(ecs) == []
    ecs.update_service(cluster="c", service="svc", desiredCount=3)
    assert wait_until(lambda: len(running_tasks(ecs)) == 3)
    ecs.update_service(cluster="c", service="svc", desiredCount=1)
    assert wait_until(lambda: len(running_tasks(ecs)) == 1)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    s = describe(ecs)
    assert (s["runningCount"], s["desiredCount"]) == (1, 1)
    stopped = ecs.list_tasks(cluster="c", serviceName="svc", desiredStatus="STOPPED")["taskArns"]
    assert len(stopped) == 2
    t = ecs.describe_tasks(cluster="c", tasks=stopped)["tasks"][0]
    assert t["stopCode"] == "ServiceSchedulerInitiated"
    assert t["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
    assert any(e["message"].startswith("(service svc) has stopped 2 running tasks:") for e in s["events"])


def test_a_stopped_task_is_replaced(ecs):
    setup(ecs)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=2)
    assert wait_until(lambda: len(running_tasks(ecs)) == 2)
    victim = running_tasks(ecs)[0]
    ecs.stop_task(cluster="c", task=victim)
    assert wait_until(lambda: len(running_tasks(ecs)) == 2 and victim not in running_tasks(ecs))


def test_rolling_deployment_to_a_new_task_definition(ecs):
    setup(ecs, revisions=2)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web:1", desiredCount=2)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    old = set(running_tasks(ecs))
    s = ecs.update_service(cluster="c", service="svc", taskDefinition="web:2")["service"]
    assert s["taskDefinition"] == td_arn("web", 2)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    s = describe(ecs)
    (d,) = s["deployments"]
    assert (d["taskDefinition"], d["rolloutState"]) == (td_arn("web", 2), "COMPLETED")
    new = set(running_tasks(ecs))
    assert len(new) == 2 and not (new & old)
    tasks = ecs.describe_tasks(cluster="c", tasks=list(new))["tasks"]
    assert {t["taskDefinitionArn"] for t in tasks} == {td_arn("web", 2)}


def test_force_new_deployment_replaces_tasks(ecs):
    setup(ecs)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=1)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    first = describe(ecs)["deployments"][0]["id"]
    old = running_tasks(ecs)
    ecs.update_service(cluster="c", service="svc", forceNewDeployment=True)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    (d,) = describe(ecs)["deployments"]
    assert d["id"] != first
    assert running_tasks(ecs) != old


def test_delete_service_needs_scale_to_zero_or_force(ecs):
    setup(ecs)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=2)
    assert wait_until(lambda: len(running_tasks(ecs)) == 2)
    msg = assert_error("InvalidParameterException", ecs.delete_service, cluster="c", service="svc")
    assert "scaled above 0" in msg
    assert_error("ClusterContainsServicesException", ecs.delete_cluster, cluster="c")
    s = ecs.delete_service(cluster="c", service="svc", force=True)["service"]
    assert s["status"] == "DRAINING"
    ecs.get_waiter("services_inactive").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    assert describe(ecs)["status"] == "INACTIVE"
    assert running_tasks(ecs) == []
    assert ecs.list_services(cluster="c")["serviceArns"] == []
    assert_error("ServiceNotActiveException", ecs.update_service, cluster="c", service="svc", desiredCount=1)
    # The name is free again.
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=0)
    assert describe(ecs)["status"] == "ACTIVE"


def test_create_service_errors(ecs_raw):
    setup(ecs_raw)
    ecs_raw.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=0)
    msg = assert_error("InvalidParameterException", ecs_raw.create_service, cluster="c",
                       serviceName="svc", taskDefinition="web", desiredCount=0)
    assert "not idempotent" in msg
    assert_error("InvalidParameterException", ecs_raw.create_service, cluster="c",
                 serviceName="bad name!", taskDefinition="web", desiredCount=0)
    assert_error("ClusterNotFoundException", ecs_raw.create_service, cluster="nope",
                 serviceName="x", taskDefinition="web", desiredCount=0)
    assert_error("InvalidParameterException", ecs_raw.create_service, cluster="c",
                 serviceName="x", taskDefinition="nope", desiredCount=0)
    assert_error("ServiceNotFoundException", ecs_raw.update_service, cluster="c",
                 service="ghost", desiredCount=1)
    assert_error("ServiceNotFoundException", ecs_raw.delete_service, cluster="c", service="ghost")


def test_create_service_client_token_is_idempotent(ecs):
    setup(ecs)
    a = ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=0,
                           clientToken="tok")["service"]
    b = ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=0,
                           clientToken="tok")["service"]
    assert a["serviceArn"] == b["serviceArn"]
    assert a["deployments"][0]["id"] == b["deployments"][0]["id"]


def test_describe_and_list_services(ecs):
    setup(ecs)
    for name in ["a", "b", "c"]:
        ecs.create_service(cluster="c", serviceName=name, taskDefinition="web", desiredCount=0,
                           tags=[{"key": "n", "value": name}])
    out = ecs.describe_services(cluster="c", services=["a", svc_arn("b"), "ghost", svc_arn("gone")],
                                include=["TAGS"])
    assert [s["serviceName"] for s in out["services"]] == ["a", "b"]
    assert out["services"][0]["tags"] == [{"key": "n", "value": "a"}]
    # As ECS: a bare name comes back in the short ARN form, a given ARN as given.
    assert out["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:000000000000:service/ghost", "reason": "MISSING"},
        {"arn": svc_arn("gone"), "reason": "MISSING"},
    ]
    assert "tags" not in ecs.describe_services(cluster="c", services=["a"])["services"][0]
    page = ecs.list_services(cluster="c", maxResults=2)
    assert page["serviceArns"] == [svc_arn("a"), svc_arn("b")]
    rest = ecs.list_services(cluster="c", nextToken=page["nextToken"])
    assert rest["serviceArns"] == [svc_arn("c")]
    assert ecs.list_services(cluster="c", launchType="FARGATE")["serviceArns"] == []


# --- service deployments and revisions -------------------------------------------------------


def newest_deployment(ecs, name="svc"):
    briefs = ecs.list_service_deployments(cluster="c", service=name)["serviceDeployments"]
    arn = briefs[0]["serviceDeploymentArn"]
    return ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def test_service_deployments_record_each_deployment(ecs):
    setup(ecs, revisions=2)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web:1", desiredCount=2)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    first = wait_until(lambda: (d := newest_deployment(ecs))["status"] == "SUCCESSFUL" and d)
    assert first["serviceDeploymentArn"].startswith(
        "arn:aws:ecs:us-east-1:000000000000:service-deployment/c/svc/")
    assert first["serviceArn"] == svc_arn("svc")
    assert first["sourceServiceRevisions"] == []
    assert first["targetServiceRevision"]["requestedTaskCount"] == 2
    assert first["deploymentCircuitBreaker"] == {"status": "DISABLED", "failureCount": 0, "threshold": 3}

    ecs.update_service(cluster="c", service="svc", taskDefinition="web:2")
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    second = wait_until(lambda: (d := newest_deployment(ecs))["status"] == "SUCCESSFUL"
                        and d["serviceDeploymentArn"] != first["serviceDeploymentArn"] and d)
    assert second, "the update's service deployment never succeeded"
    (source,) = second["sourceServiceRevisions"]
    assert source["arn"] == first["targetServiceRevision"]["arn"]
    assert source["runningTaskCount"] == 0
    assert second["targetServiceRevision"]["runningTaskCount"] == 2

    briefs = ecs.list_service_deployments(cluster="c", service="svc")["serviceDeployments"]
    assert [b["serviceDeploymentArn"] for b in briefs] == [
        second["serviceDeploymentArn"], first["serviceDeploymentArn"]]
    page = ecs.list_service_deployments(cluster="c", service="svc", maxResults=1)
    assert len(page["serviceDeployments"]) == 1 and page["nextToken"]

    revisions = ecs.describe_service_revisions(serviceRevisionArns=[
        first["targetServiceRevision"]["arn"], second["targetServiceRevision"]["arn"]])
    assert [r["taskDefinition"] for r in revisions["serviceRevisions"]] == [
        td_arn("web", 1), td_arn("web", 2)]
    assert revisions["serviceRevisions"][0]["containerImages"] == [
        {"containerName": "web", "image": "nginx:latest"}]

    code, _, status = error_of(ecs.stop_service_deployment,
                               serviceDeploymentArn=second["serviceDeploymentArn"])
    assert (code, status) == ("ConflictException", 400)
    code, _, _ = error_of(ecs.stop_service_deployment,
                          serviceDeploymentArn=second["serviceDeploymentArn"] + "0")
    assert code == "ServiceDeploymentNotFoundException"
    code, _, _ = error_of(ecs.list_service_deployments, cluster="c", service="nope")
    assert code == "ServiceNotFoundException"


def test_list_services_by_namespace(ecs):
    setup(ecs)
    ns = "arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-local"
    ecs.create_service(cluster="c", serviceName="a", taskDefinition="web", desiredCount=0,
                       serviceConnectConfiguration={"enabled": True, "namespace": ns})
    ecs.create_service(cluster="c", serviceName="b", taskDefinition="web", desiredCount=0)
    assert ecs.list_services_by_namespace(namespace=ns)["serviceArns"] == [svc_arn("a")]
    assert ecs.list_services_by_namespace(namespace="other")["serviceArns"] == []


# --- task sets (EXTERNAL deployment controller) ----------------------------------------------


def test_external_service_task_sets(ecs):
    setup(ecs, revisions=2)
    s = ecs.create_service(cluster="c", serviceName="ext", desiredCount=2,
                           deploymentController={"type": "EXTERNAL"})["service"]
    assert s["deploymentController"] == {"type": "EXTERNAL"}
    assert s["taskSets"] == [] and "taskDefinition" not in s
    blue = ecs.create_task_set(cluster="c", service="ext", taskDefinition="web:1",
                               externalId="blue", scale={"value": 100, "unit": "PERCENT"},
                               tags=[{"key": "color", "value": "blue"}])["taskSet"]
    assert blue["taskSetArn"] == (
        f"arn:aws:ecs:us-east-1:000000000000:task-set/c/ext/{blue['id']}")
    assert (blue["status"], blue["computedDesiredCount"], blue["stabilityStatus"]) == (
        "ACTIVE", 2, "STABILIZING")
    primary = ecs.update_service_primary_task_set(cluster="c", service="ext",
                                                  primaryTaskSet=blue["id"])["taskSet"]
    assert primary["status"] == "PRIMARY"
    green = ecs.create_task_set(cluster="c", service="ext", taskDefinition="web:2",
                                scale={"value": 50, "unit": "PERCENT"})["taskSet"]
    assert green["computedDesiredCount"] == 1

    def settled():
        sets = ecs.describe_task_sets(cluster="c", service="ext")["taskSets"]
        return all(t["stabilityStatus"] == "STEADY_STATE" for t in sets) and sets
    sets = wait_until(settled)
    assert [(t["id"], t["runningCount"]) for t in sets] == [(blue["id"], 2), (green["id"], 1)]
    assert describe(ecs, "ext")["runningCount"] == 3
    # Each task set's tasks are reported under its name, as ECS words it.
    messages = [e["message"] for e in describe(ecs, "ext")["events"]]
    for set_id in (blue["id"], green["id"]):
        prefix = f"(service ext, taskSet {set_id}) has started "
        assert any(m.startswith(prefix) for m in messages), messages
    tagged = ecs.describe_task_sets(cluster="c", service="ext", taskSets=[blue["taskSetArn"]],
                                    include=["TAGS"])["taskSets"]
    assert tagged[0]["tags"] == [{"key": "color", "value": "blue"}]

    updated = ecs.update_task_set(cluster="c", service="ext", taskSet=green["id"],
                                  scale={"value": 100, "unit": "PERCENT"})["taskSet"]
    assert updated["computedDesiredCount"] == 2
    ecs.update_service_primary_task_set(cluster="c", service="ext", primaryTaskSet=green["id"])
    gone = ecs.delete_task_set(cluster="c", service="ext", taskSet=blue["id"], force=True)
    assert gone["taskSet"]["status"] == "DRAINING"
    left = wait_until(lambda: len(s := describe(ecs, "ext")["taskSets"]) == 1 and s)
    assert left[0]["id"] == green["id"] and left[0]["status"] == "PRIMARY"
    assert describe(ecs, "ext")["taskDefinition"] == td_arn("web", 2)
    missing = ecs.describe_task_sets(cluster="c", service="ext", taskSets=[blue["id"]])
    assert missing["failures"][0]["reason"] == "MISSING"

    code, _, _ = error_of(ecs.update_task_set, cluster="c", service="ext", taskSet=blue["id"],
                          scale={"value": 10, "unit": "PERCENT"})
    assert code == "TaskSetNotFoundException"
    ecs.create_service(cluster="c", serviceName="rolling", taskDefinition="web", desiredCount=0)
    code, message, _ = error_of(ecs.create_task_set, cluster="c", service="rolling",
                                taskDefinition="web:1")
    assert code == "InvalidParameterException" and "external" in message


def test_cli_lists_service_deployments(aws):
    aws("create-cluster", "--cluster-name", "c")
    aws("register-task-definition", "--family", "web", "--container-definitions",
        '[{"name":"app","image":"busybox","memory":32}]')
    aws("create-service", "--cluster", "c", "--service-name", "svc", "--task-definition", "web",
        "--desired-count", "1")
    aws("wait", "services-stable", "--cluster", "c", "--services", "svc")
    out = aws("list-service-deployments", "--cluster", "c", "--service", "svc")
    (brief,) = out["serviceDeployments"]
    assert brief["status"] in ("IN_PROGRESS", "SUCCESSFUL")
    assert brief["targetServiceRevisionArn"].startswith(
        "arn:aws:ecs:us-east-1:000000000000:service-revision/c/svc/")


def test_stop_service_deployment_rolls_back(ecs):
    # minimumHealthyPercent 100 with maximumPercent 100 leaves a rolling update no room: it
    # stays IN_PROGRESS until stopped.
    setup(ecs, revisions=2)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web:1", desiredCount=1,
                       deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 100})
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    first = wait_until(lambda: (d := newest_deployment(ecs))["status"] == "SUCCESSFUL" and d)
    ecs.update_service(cluster="c", service="svc", taskDefinition="web:2")
    stuck = newest_deployment(ecs)
    assert stuck["status"] == "IN_PROGRESS"
    arn = ecs.stop_service_deployment(serviceDeploymentArn=stuck["serviceDeploymentArn"],
                                      stopType="ROLLBACK")["serviceDeploymentArn"]
    assert arn == stuck["serviceDeploymentArn"]
    done = wait_until(lambda: (d := newest_deployment(ecs))["status"] == "ROLLBACK_SUCCESSFUL" and d)
    assert done, newest_deployment(ecs)
    assert done["rollback"]["serviceRevisionArn"] == first["targetServiceRevision"]["arn"]
    s = describe(ecs)
    assert s["taskDefinition"] == td_arn("web", 1)
    assert s["runningCount"] == 1
    assert any("rolling back" in e["message"] for e in s["events"])


def test_counts_beyond_ecs_bounds_are_refused_and_change_nothing(ecs):
    ecs.create_cluster(clusterName="bounds")
    ecs.register_task_definition(family="bounded", containerDefinitions=[container()])
    code, msg, status = error_of(ecs.create_service, cluster="bounds", serviceName="huge",
                                 taskDefinition="bounded", desiredCount=2147483647)
    assert (code, status) == ("InvalidParameterException", 400), msg
    assert "5000" in msg
    code, msg, _ = error_of(ecs.create_service, cluster="bounds", serviceName="wide",
                            taskDefinition="bounded", desiredCount=1,
                            deploymentConfiguration={"maximumPercent": 2000000000})
    assert code == "InvalidParameterException", msg
    assert ecs.list_services(cluster="bounds")["serviceArns"] == []
    ecs.create_service(cluster="bounds", serviceName="ok", taskDefinition="bounded", desiredCount=0)
    code, _, _ = error_of(ecs.update_service, cluster="bounds", service="ok", desiredCount=5001)
    assert code == "InvalidParameterException"
    assert ecs.describe_services(cluster="bounds", services=["ok"])["services"][0]["desiredCount"] == 0


def test_services_and_task_sets_are_taggable_like_other_resources(ecs):
    setup(ecs, revisions=1)
    svc = ecs.create_service(cluster="c", serviceName="tagged", taskDefinition="web:1",
                             desiredCount=0, tags=[{"key": "team", "value": "a"}])["service"]
    arn = svc["serviceArn"]
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "a"}]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
    ecs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    shown = ecs.describe_services(cluster="c", services=["tagged"], include=["TAGS"])["services"][0]
    assert shown["tags"] == [{"key": "env", "value": "dev"}]

    ecs.create_service(cluster="c", serviceName="ext-tags", desiredCount=1,
                       deploymentController={"type": "EXTERNAL"})
    ts = ecs.create_task_set(cluster="c", service="ext-tags", taskDefinition="web:1",
                             tags=[{"key": "color", "value": "blue"}])["taskSet"]
    ecs.tag_resource(resourceArn=ts["taskSetArn"], tags=[{"key": "tier", "value": "1"}])
    tags = ecs.list_tags_for_resource(resourceArn=ts["taskSetArn"])["tags"]
    assert sorted(t["key"] for t in tags) == ["color", "tier"]
    missing = arn.replace("/tagged", "/nope")
    code, _, _ = error_of(ecs.tag_resource, resourceArn=missing, tags=[{"key": "k", "value": "v"}])
    assert code == "ResourceNotFoundException"


def test_validation_comes_in_the_order_ecs_checks(ecs):
    # DescribeTasks looks the cluster up (the default one too) before the list.
    code, msg, _ = error_of(ecs.describe_tasks, tasks=[])
    assert (code, msg) == ("ClusterNotFoundException", "Cluster not found."), msg
    ecs.create_cluster(clusterName="default")
    code, msg, _ = error_of(ecs.describe_tasks, tasks=[])
    assert (code, msg) == ("InvalidParameterException", "Tasks cannot be empty.")
    # DeregisterTaskDefinition of a bare family.
    ecs.register_task_definition(family="fam", containerDefinitions=[container()])
    code, msg, _ = error_of(ecs.deregister_task_definition, taskDefinition="fam")
    assert (code, msg) == ("ClientException", "Revision is missing.")


def test_a_task_set_created_without_scale_is_at_zero_percent_and_deletes_without_force(ecs):
    setup(ecs, revisions=1)
    ecs.create_service(cluster="c", serviceName="ext0", desiredCount=2,
                       deploymentController={"type": "EXTERNAL"})
    ts = ecs.create_task_set(cluster="c", service="ext0", taskDefinition="web:1")["taskSet"]
    assert ts["scale"] == {"value": 0.0, "unit": "PERCENT"}
    assert ts["computedDesiredCount"] == 0
    gone = ecs.delete_task_set(cluster="c", service="ext0", taskSet=ts["id"])["taskSet"]
    assert gone["status"] == "DRAINING"


def test_a_daemon_service_takes_no_desired_count(ecs_raw):
    ecs_raw.create_cluster(clusterName="d")
    ecs_raw.register_task_definition(family="dmn", containerDefinitions=[container()])
    code, msg, _ = error_of(ecs_raw.create_service, cluster="d", serviceName="agent",
                            taskDefinition="dmn", schedulingStrategy="DAEMON", desiredCount=1)
    assert (code, msg) == ("InvalidParameterException",
                           "The daemon scheduling strategy does not support a desired count for services.")
    ecs_raw.create_service(cluster="d", serviceName="agent", taskDefinition="dmn",
                           schedulingStrategy="DAEMON")
