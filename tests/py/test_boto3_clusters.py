"""Clusters through boto3: create, describe, list, update, capacity providers, delete,
region scoping and persistence across restarts."""
import signal

import pytest

from conftest import ASG_ARN, assert_error, cluster_arn, container, cp_arn, error_of

DEFAULT_SETTINGS = [{"name": "containerInsights", "value": "disabled"}]


def test_create_cluster_returns_full_cluster(ecs):
    c = ecs.create_cluster(clusterName="alpha")["cluster"]
    assert c["clusterArn"] == cluster_arn("alpha")
    assert c["clusterName"] == "alpha"
    assert c["status"] == "ACTIVE"
    assert c["registeredContainerInstancesCount"] == 0
    assert c["runningTasksCount"] == 0
    assert c["pendingTasksCount"] == 0
    assert c["activeServicesCount"] == 0
    assert c["settings"] == DEFAULT_SETTINGS
    assert c["tags"] == []
    assert c["capacityProviders"] == []
    assert c["defaultCapacityProviderStrategy"] == []
    assert c.get("statistics", []) == []


def test_create_cluster_default_name(ecs):
    c = ecs.create_cluster()["cluster"]
    assert (c["clusterName"], c["clusterArn"]) == ("default", cluster_arn("default"))
    assert ecs.list_clusters()["clusterArns"] == [cluster_arn("default")]


def test_create_cluster_echoes_tags_and_settings(ecs):
    tags = [{"key": "team", "value": "core"}, {"key": "env", "value": ""}]
    c = ecs.create_cluster(
        clusterName="tagged",
        tags=tags,
        settings=[{"name": "containerInsights", "value": "enabled"}],
    )["cluster"]
    assert c["tags"] == tags
    assert c["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert ecs.list_tags_for_resource(resourceArn=cluster_arn("tagged"))["tags"] == tags


def test_create_cluster_is_idempotent(ecs):
    first = ecs.create_cluster(clusterName="same", tags=[{"key": "a", "value": "1"}])["cluster"]
    second = ecs.create_cluster(clusterName="same")["cluster"]
    assert second["clusterArn"] == first["clusterArn"]
    assert second["status"] == "ACTIVE"
    assert ecs.list_clusters()["clusterArns"] == [cluster_arn("same")]
    # the original tags stay
    assert ecs.list_tags_for_resource(resourceArn=cluster_arn("same"))["tags"] == [{"key": "a", "value": "1"}]


def test_create_cluster_uses_account_container_insights(ecs):
    ecs.put_account_setting_default(name="containerInsights", value="enabled")
    c = ecs.create_cluster(clusterName="insightful")["cluster"]
    assert c["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    # an explicit cluster setting wins over the account setting
    c = ecs.create_cluster(
        clusterName="explicit", settings=[{"name": "containerInsights", "value": "disabled"}]
    )["cluster"]
    assert c["settings"] == DEFAULT_SETTINGS


def test_create_cluster_name_limits(ecs):
    ok = "a" * 255
    assert ecs.create_cluster(clusterName=ok)["cluster"]["clusterName"] == ok
    assert_error("InvalidParameterException", ecs.create_cluster, clusterName="b" * 256)
    assert_error("InvalidParameterException", ecs.create_cluster, clusterName="has space")
    assert_error("InvalidParameterException", ecs.create_cluster, clusterName="slash/name")
    assert ecs.list_clusters()["clusterArns"] == [cluster_arn(ok)]


def test_create_cluster_with_capacity_providers(ecs):
    strategy = [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 2},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
    ]
    c = ecs.create_cluster(
        clusterName="cp",
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=strategy,
    )["cluster"]
    assert c["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert c["defaultCapacityProviderStrategy"] == strategy


def test_create_cluster_with_user_capacity_provider(ecs):
    ecs.create_capacity_provider(name="mine", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    c = ecs.create_cluster(clusterName="cp", capacityProviders=["mine"])["cluster"]
    assert c["capacityProviders"] == ["mine"]


def test_create_cluster_rejects_unknown_capacity_provider(ecs):
    assert_error("InvalidParameterException", ecs.create_cluster, clusterName="cp", capacityProviders=["nope"])
    assert ecs.list_clusters()["clusterArns"] == []


def test_create_cluster_rejects_strategy_of_unassociated_provider(ecs):
    assert_error(
        "InvalidParameterException",
        ecs.create_cluster,
        clusterName="cp",
        capacityProviders=["FARGATE"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
    )


def test_create_cluster_rejects_bad_container_insights(ecs):
    assert_error(
        "InvalidParameterException",
        ecs.create_cluster,
        clusterName="x",
        settings=[{"name": "containerInsights", "value": "maybe"}],
    )


def test_describe_clusters_default_is_default_cluster(ecs):
    r = ecs.describe_clusters()
    assert r["clusters"] == []
    assert r["failures"] == [{"arn": cluster_arn("default"), "reason": "MISSING"}]
    ecs.create_cluster()
    r = ecs.describe_clusters()
    assert [c["clusterName"] for c in r["clusters"]] == ["default"]
    assert r["failures"] == []


def test_describe_clusters_by_name_and_arn_with_missing(ecs):
    ecs.create_cluster(clusterName="one")
    ecs.create_cluster(clusterName="two")
    r = ecs.describe_clusters(clusters=["one", cluster_arn("two"), "ghost"])
    assert [c["clusterArn"] for c in r["clusters"]] == [cluster_arn("one"), cluster_arn("two")]
    assert r["failures"] == [{"arn": cluster_arn("ghost"), "reason": "MISSING"}]
    for c in r["clusters"]:
        assert c["status"] == "ACTIVE"
        assert c["runningTasksCount"] == 0
        assert c["registeredContainerInstancesCount"] == 0


def test_describe_clusters_include_controls_parts(ecs):
    ecs.create_cluster(
        clusterName="inc",
        tags=[{"key": "k", "value": "v"}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}},
    )
    plain = ecs.describe_clusters(clusters=["inc"])["clusters"][0]
    # as ECS answers: parts not asked for are empty lists (tags, settings) or absent
    assert plain.get("tags", []) == []
    assert plain.get("settings", []) == []
    assert "configuration" not in plain
    assert plain.get("statistics", []) == []

    full = ecs.describe_clusters(
        clusters=["inc"], include=["TAGS", "SETTINGS", "CONFIGURATIONS", "STATISTICS"]
    )["clusters"][0]
    assert full["tags"] == [{"key": "k", "value": "v"}]
    assert full["settings"] == DEFAULT_SETTINGS
    assert full["configuration"] == {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    stats = full["statistics"]
    assert stats, "STATISTICS must give a non-empty list"
    for s in stats:
        assert set(s) == {"name", "value"}
        assert s["value"] == "0"
    names = {s["name"] for s in stats}
    assert {"runningFargateTasksCount", "pendingEC2TasksCount", "activeFargateServiceCount"} <= names

    attached = ecs.describe_clusters(clusters=["inc"], include=["ATTACHMENTS"])["clusters"][0]
    assert attached["attachments"] == [], "no Auto Scaling policy or Service Connect link here"

    tags_only = ecs.describe_clusters(clusters=["inc"], include=["TAGS"])["clusters"][0]
    assert tags_only["tags"] == [{"key": "k", "value": "v"}]
    assert "configuration" not in tags_only
    assert tags_only.get("settings", []) == []


def test_cluster_statistics_count_tasks_and_services_by_launch_type(ecs):
    ecs.create_cluster(clusterName="stats")
    ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE", "EC2"],
        cpu="256", memory="512", containerDefinitions=[{"name": "app", "image": "busybox"}])
    net = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    for _ in range(2):
        ecs.run_task(cluster="stats", taskDefinition="web", launchType="FARGATE",
                     networkConfiguration=net)
    ecs.run_task(cluster="stats", taskDefinition="web", launchType="EC2", networkConfiguration=net)
    ecs.create_service(cluster="stats", serviceName="s", taskDefinition="web", desiredCount=0,
                       launchType="FARGATE", networkConfiguration=net)
    ecs.create_service(cluster="stats", serviceName="gone", taskDefinition="web", desiredCount=0,
                       launchType="EC2", networkConfiguration=net)
    ecs.delete_service(cluster="stats", service="gone")
    stats = ecs.describe_clusters(clusters=["stats"], include=["STATISTICS"])["clusters"][0]["statistics"]
    got = {s["name"]: s["value"] for s in stats if s["value"] != "0"}
    # The runtime `none` runs tasks at once; a deleted service is DRAINING or already INACTIVE.
    assert {k: v for k, v in got.items() if not k.startswith("draining")} == {
        "runningFargateTasksCount": "2", "runningEC2TasksCount": "1",
        "activeFargateServiceCount": "1"}, got


def test_describe_clusters_include_settings(ecs):
    ecs.create_cluster(clusterName="s", settings=[{"name": "containerInsights", "value": "enhanced"}])
    c = ecs.describe_clusters(clusters=["s"], include=["SETTINGS"])["clusters"][0]
    assert c["settings"] == [{"name": "containerInsights", "value": "enhanced"}]


def test_list_clusters_sorted(ecs):
    for name in ["zeta", "alpha", "Mid", "beta"]:
        ecs.create_cluster(clusterName=name)
    arns = ecs.list_clusters()["clusterArns"]
    assert arns == sorted(cluster_arn(n) for n in ["zeta", "alpha", "Mid", "beta"])
    assert "nextToken" not in ecs.list_clusters()


def test_list_clusters_pagination(ecs):
    names = [f"c{i:02d}" for i in range(7)]
    for n in reversed(names):
        ecs.create_cluster(clusterName=n)
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"maxResults": 3}
        if token:
            kwargs["nextToken"] = token
        r = ecs.list_clusters(**kwargs)
        pages += 1
        assert len(r["clusterArns"]) <= 3
        seen += r["clusterArns"]
        token = r.get("nextToken")
        if not token:
            break
    assert pages == 3
    assert seen == [cluster_arn(n) for n in names]
    # the botocore paginator walks the same list
    pag = ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2})
    assert [a for p in pag for a in p["clusterArns"]] == [cluster_arn(n) for n in names]


def test_list_clusters_exact_page_has_no_token(ecs):
    for n in ["a", "b"]:
        ecs.create_cluster(clusterName=n)
    r = ecs.list_clusters(maxResults=2)
    assert r["clusterArns"] == [cluster_arn("a"), cluster_arn("b")]
    assert "nextToken" not in r


@pytest.mark.parametrize("max_results", [0, 101, -1])
def test_list_clusters_max_results_bounds(ecs_raw, max_results):
    assert_error("InvalidParameterException", ecs_raw.list_clusters, maxResults=max_results)


def test_list_clusters_max_results_edges(ecs):
    ecs.create_cluster(clusterName="x")
    assert ecs.list_clusters(maxResults=1)["clusterArns"] == [cluster_arn("x")]
    assert ecs.list_clusters(maxResults=100)["clusterArns"] == [cluster_arn("x")]


def test_list_clusters_garbage_token(ecs):
    ecs.create_cluster(clusterName="x")
    assert_error("InvalidParameterException", ecs.list_clusters, nextToken="not-a-token!!")


def test_list_clusters_keeps_a_deleted_cluster_for_a_while(ecs):
    # DeleteCluster: "it might remain discoverable in your account for a period of time";
    # test_retention.py checks that it goes after the retention.
    ecs.create_cluster(clusterName="keep")
    ecs.create_cluster(clusterName="gone")
    ecs.delete_cluster(cluster="gone")
    assert ecs.list_clusters()["clusterArns"] == [cluster_arn("gone"), cluster_arn("keep")]
    listed = ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
    assert [c["status"] for c in listed] == ["INACTIVE", "ACTIVE"]


def test_update_cluster(ecs):
    ecs.create_cluster(clusterName="u")
    ns = "arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-abcdef0123456789"
    c = ecs.update_cluster(
        cluster="u",
        settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}},
        serviceConnectDefaults={"namespace": ns},
    )["cluster"]
    assert c["clusterArn"] == cluster_arn("u")
    assert c["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert c["configuration"] == {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    assert c["serviceConnectDefaults"] == {"namespace": ns}
    d = ecs.describe_clusters(clusters=["u"], include=["SETTINGS", "CONFIGURATIONS"])["clusters"][0]
    assert d["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert d["configuration"] == {"executeCommandConfiguration": {"logging": "DEFAULT"}}


def test_update_cluster_by_arn_and_unknown(ecs):
    ecs.create_cluster(clusterName="u")
    c = ecs.update_cluster(
        cluster=cluster_arn("u"), settings=[{"name": "containerInsights", "value": "enhanced"}]
    )["cluster"]
    assert c["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert_error("ClusterNotFoundException", ecs.update_cluster, cluster="nope",
                 settings=[{"name": "containerInsights", "value": "enabled"}])


@pytest.mark.parametrize("value", ["enabled", "disabled", "enhanced"])
def test_update_cluster_settings_values(ecs, value):
    ecs.create_cluster(clusterName="s")
    c = ecs.update_cluster_settings(cluster="s", settings=[{"name": "containerInsights", "value": value}])["cluster"]
    assert c["settings"] == [{"name": "containerInsights", "value": value}]
    d = ecs.describe_clusters(clusters=["s"], include=["SETTINGS"])["clusters"][0]
    assert d["settings"] == [{"name": "containerInsights", "value": value}]


def test_update_cluster_settings_rejects_bad_value(ecs):
    ecs.create_cluster(clusterName="s")
    assert_error("InvalidParameterException", ecs.update_cluster_settings, cluster="s",
                 settings=[{"name": "containerInsights", "value": "maybe"}])
    d = ecs.describe_clusters(clusters=["s"], include=["SETTINGS"])["clusters"][0]
    assert d["settings"] == DEFAULT_SETTINGS


def test_update_cluster_settings_unknown_cluster(ecs):
    assert_error("ClusterNotFoundException", ecs.update_cluster_settings, cluster="nope",
                 settings=[{"name": "containerInsights", "value": "enabled"}])


def test_put_cluster_capacity_providers_replaces(ecs):
    ecs.create_cluster(clusterName="p", capacityProviders=["FARGATE"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1}]
    c = ecs.put_cluster_capacity_providers(
        cluster="p", capacityProviders=["FARGATE_SPOT"], defaultCapacityProviderStrategy=strategy
    )["cluster"]
    assert c["capacityProviders"] == ["FARGATE_SPOT"]
    assert c["defaultCapacityProviderStrategy"] == strategy
    d = ecs.describe_clusters(clusters=["p"])["clusters"][0]
    assert d["capacityProviders"] == ["FARGATE_SPOT"]
    assert d["defaultCapacityProviderStrategy"] == strategy
    c = ecs.put_cluster_capacity_providers(cluster="p", capacityProviders=[], defaultCapacityProviderStrategy=[])["cluster"]
    assert c["capacityProviders"] == []
    assert c["defaultCapacityProviderStrategy"] == []


def test_put_cluster_capacity_providers_errors(ecs):
    ecs.create_cluster(clusterName="p")
    assert_error("InvalidParameterException", ecs.put_cluster_capacity_providers, cluster="p",
                 capacityProviders=["FARGATE"],
                 defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert_error("InvalidParameterException", ecs.put_cluster_capacity_providers, cluster="p",
                 capacityProviders=["ghost"], defaultCapacityProviderStrategy=[])
    assert_error("ClusterNotFoundException", ecs.put_cluster_capacity_providers, cluster="nope",
                 capacityProviders=[], defaultCapacityProviderStrategy=[])
    d = ecs.describe_clusters(clusters=["p"])["clusters"][0]
    assert (d["capacityProviders"], d["defaultCapacityProviderStrategy"]) == ([], [])


def test_delete_cluster(ecs):
    ecs.create_cluster(clusterName="d")
    c = ecs.delete_cluster(cluster="d")["cluster"]
    assert (c["clusterArn"], c["clusterName"], c["status"]) == (cluster_arn("d"), "d", "INACTIVE")
    r = ecs.describe_clusters(clusters=["d"])
    assert [(x["clusterArn"], x["status"]) for x in r["clusters"]] == [(cluster_arn("d"), "INACTIVE")]
    assert r["failures"] == []


def test_deleted_cluster_refuses_mutations(ecs):
    ecs.create_cluster(clusterName="d")
    ecs.delete_cluster(cluster=cluster_arn("d"))
    assert_error("ClusterNotFoundException", ecs.delete_cluster, cluster="d")
    assert_error("ClusterNotFoundException", ecs.update_cluster_settings, cluster="d",
                 settings=[{"name": "containerInsights", "value": "enabled"}])
    assert_error("ClusterNotFoundException", ecs.update_cluster, cluster="d",
                 settings=[{"name": "containerInsights", "value": "enabled"}])
    assert_error("ClusterNotFoundException", ecs.put_cluster_capacity_providers, cluster="d",
                 capacityProviders=[], defaultCapacityProviderStrategy=[])
    assert_error("ClusterNotFoundException", ecs.put_attributes, cluster="d",
                 attributes=[{"name": "a", "targetId": "i-1"}])


def test_delete_unknown_cluster(ecs):
    assert_error("ClusterNotFoundException", ecs.delete_cluster, cluster="never")


def test_recreate_deleted_cluster(ecs):
    ecs.create_cluster(clusterName="again")
    ecs.delete_cluster(cluster="again")
    c = ecs.create_cluster(clusterName="again")["cluster"]
    assert (c["clusterArn"], c["status"]) == (cluster_arn("again"), "ACTIVE")
    assert ecs.list_clusters()["clusterArns"] == [cluster_arn("again")]
    assert ecs.describe_clusters(clusters=["again"])["clusters"][0]["status"] == "ACTIVE"


def test_missing_required_member(ecs_raw):
    assert_error("InvalidParameterException", ecs_raw.delete_cluster)
    assert_error("InvalidParameterException", ecs_raw.update_cluster_settings, cluster="x")


def test_invalid_cluster_arn_identifier(ecs):
    assert_error(
        "InvalidParameterException", ecs.delete_cluster,
        cluster="arn:aws:ecs:us-east-1:000000000000:task-definition/x:1",
    )


def test_region_scoping(ecs, ecs_eu):
    eu = ecs_eu.create_cluster(clusterName="shared")["cluster"]
    assert eu["clusterArn"] == cluster_arn("shared", "eu-west-1")
    assert ecs.list_clusters()["clusterArns"] == []
    assert ecs.describe_clusters(clusters=["shared"])["failures"] == [
        {"arn": cluster_arn("shared"), "reason": "MISSING"}
    ]
    us = ecs.create_cluster(clusterName="shared", tags=[{"key": "r", "value": "us"}])["cluster"]
    assert us["clusterArn"] == cluster_arn("shared")
    assert ecs.list_clusters()["clusterArns"] == [cluster_arn("shared")]
    assert ecs_eu.list_clusters()["clusterArns"] == [cluster_arn("shared", "eu-west-1")]
    ecs_eu.delete_cluster(cluster="shared")
    assert ecs.describe_clusters(clusters=["shared"])["clusters"][0]["status"] == "ACTIVE"


def test_foreign_region_cluster_arn_is_not_found(ecs, ecs_eu):
    """A request signed for us-east-1 must not see or change an eu-west-1 cluster named by ARN."""
    ecs_eu.create_cluster(clusterName="e", tags=[{"key": "k", "value": "v"}])
    eu_arn = cluster_arn("e", "eu-west-1")
    r = ecs.describe_clusters(clusters=[eu_arn])
    assert r["clusters"] == []
    assert r["failures"] == [{"arn": eu_arn, "reason": "MISSING"}]
    not_found = {"ClusterNotFoundException", "InvalidParameterException"}
    for fn, kwargs in [
        (ecs.update_cluster_settings, {"cluster": eu_arn, "settings": [{"name": "containerInsights", "value": "enabled"}]}),
        (ecs.put_cluster_capacity_providers, {"cluster": eu_arn, "capacityProviders": ["FARGATE"],
                                              "defaultCapacityProviderStrategy": []}),
        (ecs.put_attributes, {"cluster": eu_arn, "attributes": [{"name": "a", "targetId": "i-1"}]}),
        (ecs.tag_resource, {"resourceArn": eu_arn, "tags": [{"key": "x", "value": "y"}]}),
        (ecs.list_tags_for_resource, {"resourceArn": eu_arn}),
        (ecs.delete_cluster, {"cluster": eu_arn}),
    ]:
        code, message, status = error_of(fn, **kwargs)
        assert status == 400 and code in not_found, (fn.__name__, code, message)
    c = ecs_eu.describe_clusters(clusters=["e"], include=["TAGS", "SETTINGS"])["clusters"][0]
    assert c["status"] == "ACTIVE"
    assert c["tags"] == [{"key": "k", "value": "v"}]
    assert c["settings"] == DEFAULT_SETTINGS
    assert c["capacityProviders"] == []
    assert ecs_eu.list_attributes(cluster="e", targetType="container-instance")["attributes"] == []


def test_region_scoping_task_definitions(ecs, ecs_eu):
    td = ecs_eu.register_task_definition(family="fam", containerDefinitions=[container()])["taskDefinition"]
    assert td["taskDefinitionArn"] == "arn:aws:ecs:eu-west-1:000000000000:task-definition/fam:1"
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []
    td = ecs.register_task_definition(family="fam", containerDefinitions=[container()])["taskDefinition"]
    assert td["revision"] == 1


def test_error_message_is_present(ecs):
    code, message, status = error_of(ecs.delete_cluster, cluster="never")
    assert (code, status) == ("ClusterNotFoundException", 400)
    assert message


# --- persistence ---------------------------------------------------------------------------

def _populate(client):
    client.create_cluster(clusterName="p1", tags=[{"key": "k", "value": "v"}],
                          settings=[{"name": "containerInsights", "value": "enhanced"}])
    client.create_cluster(clusterName="p2")
    client.delete_cluster(cluster="p2")
    client.register_task_definition(family="fam", containerDefinitions=[container()])
    client.register_task_definition(family="fam", containerDefinitions=[container()])
    client.deregister_task_definition(taskDefinition="fam:1")
    client.put_account_setting(name="awsvpcTrunking", value="enabled")
    client.create_capacity_provider(name="cp1", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    client.put_attributes(cluster="p1", attributes=[{"name": "stack", "value": "prod", "targetId": "i-1"}])


def _check_populated(client):
    # p2 was deleted: still listed (INACTIVE) until the retention forgets it.
    assert client.list_clusters()["clusterArns"] == [cluster_arn("p1"), cluster_arn("p2")]
    d = client.describe_clusters(clusters=["p1", "p2"], include=["TAGS", "SETTINGS"])["clusters"]
    assert [(c["clusterName"], c["status"]) for c in d] == [("p1", "ACTIVE"), ("p2", "INACTIVE")]
    assert d[0]["tags"] == [{"key": "k", "value": "v"}]
    assert d[0]["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert client.list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == [
        "arn:aws:ecs:us-east-1:000000000000:task-definition/fam:2"]
    assert client.list_task_definitions(status="INACTIVE")["taskDefinitionArns"] == [
        "arn:aws:ecs:us-east-1:000000000000:task-definition/fam:1"]
    assert client.register_task_definition(
        family="fam", containerDefinitions=[container()])["taskDefinition"]["revision"] == 3
    s = client.list_account_settings(name="awsvpcTrunking")["settings"]
    assert [(x["name"], x["value"]) for x in s] == [("awsvpcTrunking", "enabled")]
    cps = client.describe_capacity_providers(capacityProviders=["cp1"])["capacityProviders"]
    assert [(p["capacityProviderArn"], p["status"]) for p in cps] == [(cp_arn("cp1"), "ACTIVE")]
    attrs = client.list_attributes(cluster="p1", targetType="container-instance")["attributes"]
    assert [(a["name"], a.get("value")) for a in attrs] == [("stack", "prod")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_state_survives_restart(start_server, tmp_path, sig):
    data = tmp_path / "persist"
    first = start_server(data)
    _populate(first.client())
    code = first.stop(sig)
    if sig == signal.SIGTERM:
        assert code == 0, f"graceful shutdown should exit 0, got {code}"
    second = start_server(data)
    _check_populated(second.client())


def test_reset_wipes_everything(server, ecs):
    _populate(ecs)
    server.reset()
    assert ecs.list_clusters()["clusterArns"] == []
    assert ecs.list_task_definition_families()["families"] == []
    assert ecs.list_account_settings()["settings"] == []
    names = [p["name"] for p in ecs.describe_capacity_providers()["capacityProviders"]]
    assert names == ["FARGATE", "FARGATE_SPOT"]
