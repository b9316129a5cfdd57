"""The AWS CLI v1 (`aws ecs ... --endpoint-url`) against KECS."""
import json

from conftest import ASG_ARN, ROOT, cluster_arn, cp_arn, td_arn

CONTAINERS = json.dumps([{"name": "web", "image": "nginx:latest", "memory": 128,
                          "portMappings": [{"containerPort": 80}]}])


def fails_with(res, code):
    assert res.returncode != 0, f"expected failure, got success: {res.stdout}"
    assert code in res.stderr, res.stderr


def test_create_describe_delete_cluster(aws):
    c = aws("create-cluster", "--cluster-name", "cli", "--tags", "key=team,value=core")["cluster"]
    assert c["clusterArn"] == cluster_arn("cli")
    assert c["clusterName"] == "cli"
    assert c["status"] == "ACTIVE"
    assert c["tags"] == [{"key": "team", "value": "core"}]
    assert c["settings"] == [{"name": "containerInsights", "value": "disabled"}]
    assert (c["runningTasksCount"], c["pendingTasksCount"], c["activeServicesCount"],
            c["registeredContainerInstancesCount"]) == (0, 0, 0, 0)

    r = aws("describe-clusters", "--clusters", "cli", "ghost", "--include", "TAGS")
    assert [x["clusterArn"] for x in r["clusters"]] == [cluster_arn("cli")]
    assert r["clusters"][0]["tags"] == [{"key": "team", "value": "core"}]
    assert r["failures"] == [{"arn": cluster_arn("ghost"), "reason": "MISSING"}]

    d = aws("delete-cluster", "--cluster", "cli")["cluster"]
    assert d["status"] == "INACTIVE"
    r = aws("describe-clusters", "--clusters", "cli")
    assert r["clusters"][0]["status"] == "INACTIVE"
    # Still listed for a while, as ECS keeps deleted clusters discoverable.
    assert aws("list-clusters")["clusterArns"] == [cluster_arn("cli")]


def test_create_default_cluster(aws):
    c = aws("create-cluster")["cluster"]
    assert c["clusterArn"] == cluster_arn("default")
    assert aws("describe-clusters")["clusters"][0]["clusterName"] == "default"


def test_list_clusters_auto_pagination(aws):
    names = [f"c{i}" for i in range(5)]
    for n in names:
        aws("create-cluster", "--cluster-name", n)
    expected = [cluster_arn(n) for n in names]
    # the CLI follows nextToken itself and merges the pages
    assert aws("list-clusters", "--page-size", "2")["clusterArns"] == expected
    assert aws("list-clusters")["clusterArns"] == expected
    # --max-items stops early and hands out a resumable token
    first = aws("list-clusters", "--max-items", "3", "--page-size", "2")
    assert first["clusterArns"] == expected[:3]
    assert first["NextToken"]
    rest = aws("list-clusters", "--starting-token", first["NextToken"], "--page-size", "2")
    assert rest["clusterArns"] == expected[3:]
    # --no-paginate gives the server's single page and its token
    one = aws("list-clusters", "--no-paginate", "--max-results", "2")
    assert one["clusterArns"] == expected[:2]
    assert one["nextToken"]


def test_cluster_errors(aws):
    fails_with(aws("delete-cluster", "--cluster", "ghost", ok=False), "ClusterNotFoundException")
    fails_with(aws("create-cluster", "--cluster-name", "bad name", ok=False), "InvalidParameterException")
    fails_with(aws("list-clusters", "--no-paginate", "--max-results", "0", ok=False), "InvalidParameterException")
    fails_with(aws("update-cluster-settings", "--cluster", "ghost",
                   "--settings", "name=containerInsights,value=enabled", ok=False), "ClusterNotFoundException")
    assert aws("list-clusters")["clusterArns"] == []


def test_update_cluster_settings(aws):
    aws("create-cluster", "--cluster-name", "s")
    c = aws("update-cluster-settings", "--cluster", "s",
            "--settings", "name=containerInsights,value=enhanced")["cluster"]
    assert c["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    fails_with(aws("update-cluster-settings", "--cluster", "s",
                   "--settings", "name=containerInsights,value=maybe", ok=False), "InvalidParameterException")


def test_put_cluster_capacity_providers(aws):
    aws("create-cluster", "--cluster-name", "p")
    c = aws("put-cluster-capacity-providers", "--cluster", "p",
            "--capacity-providers", "FARGATE", "FARGATE_SPOT",
            "--default-capacity-provider-strategy", "capacityProvider=FARGATE,weight=1,base=1")["cluster"]
    assert c["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert c["defaultCapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}]


def test_register_describe_deregister_task_definition(aws):
    td = aws("register-task-definition", "--family", "cli-web",
             "--container-definitions", CONTAINERS)["taskDefinition"]
    assert td["taskDefinitionArn"] == td_arn("cli-web", 1)
    assert td["revision"] == 1
    assert td["status"] == "ACTIVE"
    assert td["registeredBy"] == ROOT
    assert td["registeredAt"]
    assert td["compatibilities"] == ["EC2", "EXTERNAL"]
    c = td["containerDefinitions"][0]
    assert (c["name"], c["image"], c["memory"], c["cpu"], c["essential"]) == ("web", "nginx:latest", 128, 0, True)
    assert c["portMappings"][0]["containerPort"] == 80
    assert c["portMappings"][0]["protocol"] == "tcp"
    assert (c["environment"], c["mountPoints"], c["volumesFrom"]) == ([], [], [])

    td2 = aws("register-task-definition", "--family", "cli-web",
              "--container-definitions", CONTAINERS)["taskDefinition"]
    assert td2["revision"] == 2
    d = aws("describe-task-definition", "--task-definition", "cli-web")["taskDefinition"]
    assert d["revision"] == 2
    d = aws("describe-task-definition", "--task-definition", "cli-web:1")["taskDefinition"]
    assert d["taskDefinitionArn"] == td_arn("cli-web", 1)

    arns = aws("list-task-definitions", "--family-prefix", "cli-web")["taskDefinitionArns"]
    assert arns == [td_arn("cli-web", 1), td_arn("cli-web", 2)]
    arns = aws("list-task-definitions", "--sort", "DESC")["taskDefinitionArns"]
    assert arns == [td_arn("cli-web", 2), td_arn("cli-web", 1)]

    dr = aws("deregister-task-definition", "--task-definition", "cli-web:1")["taskDefinition"]
    assert dr["status"] == "INACTIVE"
    assert dr["deregisteredAt"]
    assert aws("list-task-definitions", "--status", "INACTIVE")["taskDefinitionArns"] == [td_arn("cli-web", 1)]
    assert aws("list-task-definition-families", "--status", "ACTIVE")["families"] == ["cli-web"]

    r = aws("delete-task-definitions", "--task-definitions", "cli-web:1", "cli-web:2")
    assert [(t["taskDefinitionArn"], t["status"]) for t in r["taskDefinitions"]] == [
        (td_arn("cli-web", 1), "DELETE_IN_PROGRESS")]
    assert len(r["failures"]) == 1
    assert r["failures"][0]["arn"] in ("cli-web:2", td_arn("cli-web", 2))


def test_register_task_definition_from_cli_input_json(aws, tmp_path):
    spec = {
        "family": "from-json",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [{"name": "app", "image": "busybox",
                                  "portMappings": [{"containerPort": 8080}]}],
        "tags": [{"key": "src", "value": "json"}],
    }
    f = tmp_path / "td.json"
    f.write_text(json.dumps(spec))
    r = aws("register-task-definition", "--cli-input-json", f"file://{f}")
    td = r["taskDefinition"]
    assert r["tags"] == [{"key": "src", "value": "json"}]
    assert (td["cpu"], td["memory"], td["networkMode"]) == ("512", "1024", "awsvpc")
    assert td["compatibilities"] == ["EC2", "FARGATE"]
    assert td["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]
    assert "ecs.capability.task-eni" in {a["name"] for a in td["requiresAttributes"]}
    d = aws("describe-task-definition", "--task-definition", "from-json:1", "--include", "TAGS")
    assert d["tags"] == [{"key": "src", "value": "json"}]


def test_task_definition_errors(aws):
    fails_with(aws("describe-task-definition", "--task-definition", "ghost", ok=False), "ClientException")
    fails_with(aws("register-task-definition", "--family", "x",
                   "--container-definitions", json.dumps([{"name": "a", "memory": 64}]), ok=False),
               "ClientException")
    aws("register-task-definition", "--family", "x", "--container-definitions", CONTAINERS)
    fails_with(aws("deregister-task-definition", "--task-definition", "x", ok=False), "ClientException")
    assert aws("list-task-definitions")["taskDefinitionArns"] == [td_arn("x", 1)]


def test_tags(aws):
    aws("create-cluster", "--cluster-name", "t")
    arn = cluster_arn("t")
    out = aws("tag-resource", "--resource-arn", arn, "--tags", "key=a,value=1", "key=b,value=2")
    assert out == {}
    aws("tag-resource", "--resource-arn", arn, "--tags", "key=a,value=10")
    tags = aws("list-tags-for-resource", "--resource-arn", arn)["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("a", "10"), ("b", "2")]
    aws("untag-resource", "--resource-arn", arn, "--tag-keys", "a")
    assert aws("list-tags-for-resource", "--resource-arn", arn)["tags"] == [{"key": "b", "value": "2"}]
    fails_with(aws("tag-resource", "--resource-arn", arn, "--tags", "key=aws:x,value=1", ok=False),
               "InvalidParameterException")
    fails_with(aws("list-tags-for-resource", "--resource-arn", cluster_arn("ghost"), ok=False),
               "ClusterNotFoundException")
    # ListTagsForResource declares no ResourceNotFoundException; TagResource does.
    fails_with(aws("list-tags-for-resource", "--resource-arn", td_arn("ghost", 1), ok=False),
               "InvalidParameterException")
    fails_with(aws("tag-resource", "--resource-arn", td_arn("ghost", 1), "--tags", "key=a,value=1", ok=False),
               "ResourceNotFoundException")


def test_account_settings(aws):
    s = aws("put-account-setting", "--name", "containerInsights", "--value", "enabled")["setting"]
    assert s == {"name": "containerInsights", "value": "enabled", "principalArn": ROOT, "type": "user"}
    s = aws("put-account-setting-default", "--name", "awsvpcTrunking", "--value", "enabled")["setting"]
    assert (s["name"], s["value"], s["principalArn"]) == ("awsvpcTrunking", "enabled", ROOT)
    listed = aws("list-account-settings")["settings"]
    assert sorted((x["name"], x["value"]) for x in listed) == [
        ("awsvpcTrunking", "enabled"), ("containerInsights", "enabled")]
    # the CLI pages through every effective setting
    eff = {x["name"]: x for x in aws("list-account-settings", "--effective-settings")["settings"]}
    assert eff["containerInsights"]["value"] == "enabled"
    assert eff["taskLongArnFormat"] == {"name": "taskLongArnFormat", "value": "enabled",
                                        "principalArn": ROOT, "type": "aws_managed"}
    import botocore.session
    model = botocore.session.get_session().get_service_model("ecs")
    assert set(eff) == set(model.shape_for("SettingName").enum)
    assert aws("create-cluster", "--cluster-name", "ci")["cluster"]["settings"] == [
        {"name": "containerInsights", "value": "enabled"}]
    aws("delete-account-setting", "--name", "containerInsights")
    eff = aws("list-account-settings", "--effective-settings", "--name", "containerInsights")["settings"]
    assert [(x["value"], x["type"]) for x in eff] == [("disabled", "aws_managed")]
    fails_with(aws("put-account-setting", "--name", "containerInsights", "--value", "maybe", ok=False),
               "InvalidParameterException")


def test_attributes(aws):
    aws("create-cluster", "--cluster-name", "ac")
    r = aws("put-attributes", "--cluster", "ac",
            "--attributes", "name=stack,value=prod,targetId=i-123")["attributes"]
    ci = "arn:aws:ecs:us-east-1:000000000000:container-instance/ac/i-123"
    assert r == [{"name": "stack", "value": "prod", "targetType": "container-instance", "targetId": ci}]
    listed = aws("list-attributes", "--cluster", "ac", "--target-type", "container-instance")["attributes"]
    assert listed == r
    aws("delete-attributes", "--cluster", "ac", "--attributes", "name=stack,targetId=i-123")
    assert aws("list-attributes", "--cluster", "ac", "--target-type", "container-instance")["attributes"] == []


def test_capacity_providers(aws):
    p = aws("create-capacity-provider", "--name", "cli-cp",
            "--auto-scaling-group-provider", f"autoScalingGroupArn={ASG_ARN}")["capacityProvider"]
    assert (p["capacityProviderArn"], p["status"]) == (cp_arn("cli-cp"), "ACTIVE")
    assert p["autoScalingGroupProvider"]["managedScaling"]["status"] == "DISABLED"
    assert p["autoScalingGroupProvider"]["managedTerminationProtection"] == "DISABLED"
    names = sorted(x["name"] for x in aws("describe-capacity-providers")["capacityProviders"])
    assert names == ["FARGATE", "FARGATE_SPOT", "cli-cp"]
    u = aws("update-capacity-provider", "--name", "cli-cp",
            "--auto-scaling-group-provider", "managedTerminationProtection=DISABLED")["capacityProvider"]
    assert u["updateStatus"] == "UPDATE_COMPLETE"
    fails_with(aws("create-capacity-provider", "--name", "fargate-x",
                   "--auto-scaling-group-provider", f"autoScalingGroupArn={ASG_ARN}", ok=False),
               "InvalidParameterException")
    d = aws("delete-capacity-provider", "--capacity-provider", "cli-cp")["capacityProvider"]
    assert d["status"] == "INACTIVE"


def test_region_from_cli(aws):
    c = aws("create-cluster", "--cluster-name", "eu", region="eu-west-1")["cluster"]
    assert c["clusterArn"] == cluster_arn("eu", "eu-west-1")
    assert aws("list-clusters")["clusterArns"] == []
    assert aws("list-clusters", region="eu-west-1")["clusterArns"] == [cluster_arn("eu", "eu-west-1")]


def test_read_only_commands_on_empty_state(aws):
    assert aws("describe-clusters", "--clusters", "x") == {
        "clusters": [], "failures": [{"arn": cluster_arn("x"), "reason": "MISSING"}]}
    assert aws("list-task-definition-families") == {"families": []}
    assert aws("list-task-definitions") == {"taskDefinitionArns": []}
    ps = aws("describe-capacity-providers")["capacityProviders"]
    assert [(p["name"], p["capacityProviderArn"], p["status"]) for p in ps] == [
        ("FARGATE", cp_arn("FARGATE"), "ACTIVE"), ("FARGATE_SPOT", cp_arn("FARGATE_SPOT"), "ACTIVE")]
