"""Tags, account settings, attributes and capacity providers through boto3."""
import pytest
from botocore.exceptions import ClientError

from conftest import ASG_ARN, ROOT, assert_error, error_of, cluster_arn, container, cp_arn, td_arn

ASG2_ARN = ASG_ARN.replace("autoScalingGroupName/asg", "autoScalingGroupName/asg2")
DEFAULT_SCALING = {
    "status": "DISABLED",
    "targetCapacity": 100,
    "minimumScalingStepSize": 1,
    "maximumScalingStepSize": 10000,
    "instanceWarmupPeriod": 300,
}


def ci_arn(cluster, ident, region="us-east-1"):
    return f"arn:aws:ecs:{region}:000000000000:container-instance/{cluster}/{ident}"


def tags_of(ecs, arn):
    return ecs.list_tags_for_resource(resourceArn=arn)["tags"]


# --- tags ----------------------------------------------------------------------------------------

@pytest.fixture
def taggable(ecs):
    """ARNs of one resource of each taggable kind."""
    ecs.create_cluster(clusterName="tc")
    ecs.register_task_definition(family="tf", containerDefinitions=[container()])
    ecs.create_capacity_provider(name="tcp", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    return {"cluster": cluster_arn("tc"), "taskdef": td_arn("tf", 1), "cp": cp_arn("tcp")}


@pytest.mark.parametrize("kind", ["cluster", "taskdef", "cp"])
def test_tag_merge_overwrite_untag(ecs, taggable, kind):
    arn = taggable[kind]
    assert tags_of(ecs, arn) == []
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "20"}, {"key": "c", "value": "3"}])
    got = sorted((t["key"], t["value"]) for t in tags_of(ecs, arn))
    assert got == [("a", "1"), ("b", "20"), ("c", "3")]
    ecs.untag_resource(resourceArn=arn, tagKeys=["a", "nonexistent"])
    got = sorted((t["key"], t["value"]) for t in tags_of(ecs, arn))
    assert got == [("b", "20"), ("c", "3")]
    ecs.untag_resource(resourceArn=arn, tagKeys=["b", "c"])
    assert tags_of(ecs, arn) == []


def test_tags_show_in_describe(ecs, taggable):
    ecs.tag_resource(resourceArn=taggable["cluster"], tags=[{"key": "k", "value": "v"}])
    c = ecs.describe_clusters(clusters=["tc"], include=["TAGS"])["clusters"][0]
    assert c["tags"] == [{"key": "k", "value": "v"}]
    ecs.tag_resource(resourceArn=taggable["taskdef"], tags=[{"key": "k", "value": "td"}])
    assert ecs.describe_task_definition(taskDefinition="tf:1", include=["TAGS"])["tags"] == [{"key": "k", "value": "td"}]
    ecs.tag_resource(resourceArn=taggable["cp"], tags=[{"key": "k", "value": "cp"}])
    p = ecs.describe_capacity_providers(capacityProviders=["tcp"], include=["TAGS"])["capacityProviders"][0]
    assert p["tags"] == [{"key": "k", "value": "cp"}]


@pytest.mark.parametrize("kind", ["cluster", "taskdef", "cp"])
def test_tag_reserved_prefix(ecs, taggable, kind):
    for key in ["aws:owner", "AWS:owner"]:
        assert_error("InvalidParameterException", ecs.tag_resource,
                     resourceArn=taggable[kind], tags=[{"key": key, "value": "x"}])
    assert tags_of(ecs, taggable[kind]) == []


def test_tag_limit(ecs_raw, taggable):
    arn = taggable["cluster"]
    fifty = [{"key": f"k{i}", "value": str(i)} for i in range(50)]
    ecs_raw.tag_resource(resourceArn=arn, tags=fifty)
    assert len(tags_of(ecs_raw, arn)) == 50
    # overwriting existing keys keeps the count at 50
    ecs_raw.tag_resource(resourceArn=arn, tags=[{"key": "k0", "value": "new"}])
    assert len(tags_of(ecs_raw, arn)) == 50
    assert_error("InvalidParameterException", ecs_raw.tag_resource,
                 resourceArn=arn, tags=[{"key": "one-too-many", "value": ""}])
    assert len(tags_of(ecs_raw, arn)) == 50


def test_tag_limit_single_request(ecs_raw, taggable):
    many = [{"key": f"k{i}", "value": ""} for i in range(51)]
    assert_error("InvalidParameterException", ecs_raw.tag_resource, resourceArn=taggable["taskdef"], tags=many)
    assert_error("InvalidParameterException", ecs_raw.create_cluster, clusterName="many", tags=many)


def test_tag_unknown_resources(ecs):
    assert_error("ClusterNotFoundException", ecs.tag_resource,
                 resourceArn=cluster_arn("ghost"), tags=[{"key": "k", "value": "v"}])
    assert_error("ClusterNotFoundException", ecs.list_tags_for_resource, resourceArn=cluster_arn("ghost"))
    assert_error("ClusterNotFoundException", ecs.untag_resource, resourceArn=cluster_arn("ghost"), tagKeys=["k"])
    assert_error("ResourceNotFoundException", ecs.tag_resource,
                 resourceArn=td_arn("ghost", 1), tags=[{"key": "k", "value": "v"}])
    assert_error("ResourceNotFoundException", ecs.untag_resource, resourceArn=td_arn("ghost", 1), tagKeys=["k"])
    assert_error("ResourceNotFoundException", ecs.tag_resource,
                 resourceArn=cp_arn("ghost"), tags=[{"key": "k", "value": "v"}])


def test_list_tags_unknown_task_definition(ecs):
    # ListTagsForResource does not declare ResourceNotFoundException in the ECS model; its
    # answer must be one of the errors the operation declares.
    code, message, status = error_of(ecs.list_tags_for_resource, resourceArn=td_arn("ghost", 1))
    declared = {s.name for s in ecs.meta.service_model.operation_model("ListTagsForResource").error_shapes}
    assert status == 400
    assert code in declared - {"AccessDeniedException", "ServerException", "ClusterNotFoundException"}, code


def test_tag_key_and_value_lengths(ecs_raw, taggable):
    arn = taggable["cluster"]
    ecs_raw.tag_resource(resourceArn=arn, tags=[{"key": "k" * 128, "value": "v" * 256}])
    assert_error("InvalidParameterException", ecs_raw.tag_resource, resourceArn=arn,
                 tags=[{"key": "k" * 129, "value": "v"}])
    assert_error("InvalidParameterException", ecs_raw.tag_resource, resourceArn=arn,
                 tags=[{"key": "k", "value": "v" * 257}])
    assert tags_of(ecs_raw, arn) == [{"key": "k" * 128, "value": "v" * 256}]


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:ecs:us-east-1:000000000000:cluster", "cluster/x"])
def test_tag_malformed_arn(ecs, arn):
    assert_error("InvalidParameterException", ecs.tag_resource, resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    assert_error("InvalidParameterException", ecs.list_tags_for_resource, resourceArn=arn)


def test_tags_of_deleted_cluster(ecs):
    ecs.create_cluster(clusterName="gone", tags=[{"key": "k", "value": "v"}])
    ecs.delete_cluster(cluster="gone")
    code, msg, _ = error_of(ecs.tag_resource, resourceArn=cluster_arn("gone"),
                            tags=[{"key": "k", "value": "v"}])
    assert (code, msg) == ("InvalidParameterException",
                           "The specified cluster is inactive. Specify an active cluster and try again.")


# --- account settings ---------------------------------------------------------------------------

def all_settings(ecs, **kwargs):
    out, token = [], None
    while True:
        r = ecs.list_account_settings(**kwargs, **({"nextToken": token} if token else {}))
        assert len(r["settings"]) <= kwargs.get("maxResults", 10)
        out += r["settings"]
        token = r.get("nextToken")
        if not token:
            return out


def test_put_account_setting(ecs):
    s = ecs.put_account_setting(name="awsvpcTrunking", value="disabled")["setting"]
    assert s == {"name": "awsvpcTrunking", "value": "disabled", "principalArn": ROOT, "type": "user"}
    got = ecs.list_account_settings(name="awsvpcTrunking")["settings"]
    assert got == [s]


@pytest.mark.parametrize("name", ["serviceLongArnFormat", "taskLongArnFormat",
                                  "containerInstanceLongArnFormat"])
def test_long_arn_settings_can_no_longer_be_disabled(ecs, name):
    for put in (ecs.put_account_setting, ecs.put_account_setting_default):
        with pytest.raises(ClientError) as info:
            put(name=name, value="disabled")
        err = info.value.response["Error"]
        assert (err["Code"], err["Message"]) == (
            "InvalidParameterException", "You can no longer disable Long Arn settings.")
    assert ecs.put_account_setting(name=name, value="enabled")["setting"]["value"] == "enabled"


def test_put_account_setting_for_principal(ecs):
    role = "arn:aws:iam::000000000000:role/dev"
    s = ecs.put_account_setting(name="containerInsights", value="enabled", principalArn=role)["setting"]
    assert s == {"name": "containerInsights", "value": "enabled", "principalArn": role, "type": "user"}
    assert ecs.list_account_settings(principalArn=role)["settings"] == [s]
    # the root's own list is unaffected
    assert ecs.list_account_settings()["settings"] == []
    eff = {x["name"]: x for x in all_settings(ecs, effectiveSettings=True, principalArn=role)}
    assert eff["containerInsights"]["value"] == "enabled"


def test_put_account_setting_default(ecs):
    s = ecs.put_account_setting_default(name="containerInsights", value="enhanced")["setting"]
    assert s == {"name": "containerInsights", "value": "enhanced", "principalArn": ROOT, "type": "user"}
    # a principal without its own setting inherits the default
    role = "arn:aws:iam::000000000000:role/other"
    eff = ecs.list_account_settings(effectiveSettings=True, principalArn=role, name="containerInsights")["settings"]
    assert [(x["name"], x["value"]) for x in eff] == [("containerInsights", "enhanced")]


def test_effective_settings_cover_every_name(ecs):
    ecs.put_account_setting(name="awsvpcTrunking", value="enabled")
    eff = all_settings(ecs, effectiveSettings=True)
    by_name = {x["name"]: x for x in eff}
    assert len(by_name) == len(eff)
    model_names = set(ecs.meta.service_model.shape_for("SettingName").enum)
    assert set(by_name) == model_names
    assert by_name["serviceLongArnFormat"]["value"] == "enabled"
    assert by_name["serviceLongArnFormat"]["type"] == "aws_managed"
    assert by_name["containerInsights"]["value"] == "disabled"
    assert by_name["containerInsights"]["type"] == "aws_managed"
    assert by_name["awsvpcTrunking"] == {
        "name": "awsvpcTrunking", "value": "enabled", "principalArn": ROOT, "type": "user"}
    for x in eff:
        assert x["principalArn"] == ROOT


def test_list_account_settings_filters(ecs):
    ecs.put_account_setting(name="awsvpcTrunking", value="disabled")
    ecs.put_account_setting(name="taskLongArnFormat", value="enabled")
    ecs.put_account_setting(name="containerInsights", value="disabled")
    names = lambda r: sorted(x["name"] for x in r["settings"])  # noqa: E731
    assert names(ecs.list_account_settings()) == ["awsvpcTrunking", "containerInsights", "taskLongArnFormat"]
    assert names(ecs.list_account_settings(value="disabled")) == ["awsvpcTrunking", "containerInsights"]
    assert names(ecs.list_account_settings(name="taskLongArnFormat")) == ["taskLongArnFormat"]
    assert names(ecs.list_account_settings(name="taskLongArnFormat", value="disabled")) == []


def test_list_account_settings_pagination(ecs):
    eff = all_settings(ecs, effectiveSettings=True, maxResults=3)
    first = ecs.list_account_settings(effectiveSettings=True, maxResults=3)
    assert len(first["settings"]) == 3 and "nextToken" in first
    assert len({x["name"] for x in eff}) == len(eff) == len(all_settings(ecs, effectiveSettings=True))


@pytest.mark.parametrize("max_results", [0, 11])
def test_list_account_settings_bad_max_results(ecs_raw, max_results):
    assert_error("InvalidParameterException", ecs_raw.list_account_settings, maxResults=max_results)


def test_delete_account_setting_falls_back(ecs):
    ecs.put_account_setting(name="containerInsights", value="enabled")
    d = ecs.delete_account_setting(name="containerInsights")["setting"]
    assert (d["name"], d["value"], d["principalArn"]) == ("containerInsights", "enabled", ROOT)
    assert ecs.list_account_settings()["settings"] == []
    eff = ecs.list_account_settings(effectiveSettings=True, name="containerInsights")["settings"]
    assert [(x["value"], x["type"]) for x in eff] == [("disabled", "aws_managed")]
    assert ecs.create_cluster(clusterName="c")["cluster"]["settings"] == [
        {"name": "containerInsights", "value": "disabled"}]


def test_principal_setting_falls_back_to_default(ecs):
    role = "arn:aws:iam::000000000000:role/r"
    ecs.put_account_setting_default(name="containerInsights", value="enhanced")
    ecs.put_account_setting(name="containerInsights", value="enabled", principalArn=role)
    ecs.delete_account_setting(name="containerInsights", principalArn=role)
    eff = ecs.list_account_settings(effectiveSettings=True, name="containerInsights", principalArn=role)["settings"]
    assert [x["value"] for x in eff] == ["enhanced"]


@pytest.mark.parametrize("name,value", [
    ("containerInsights", "maybe"),
    ("serviceLongArnFormat", "yes"),
    ("awsvpcTrunking", ""),
])
def test_put_account_setting_invalid_value(ecs, name, value):
    assert_error("InvalidParameterException", ecs.put_account_setting, name=name, value=value)
    assert_error("InvalidParameterException", ecs.put_account_setting_default, name=name, value=value)
    assert ecs.list_account_settings()["settings"] == []


@pytest.mark.parametrize("principal", ["not-an-arn", "arn:aws:s3:::bucket", "arn:aws:iam::000000000000:group/g"])
def test_put_account_setting_invalid_principal(ecs, principal):
    assert_error("InvalidParameterException", ecs.put_account_setting,
                 name="containerInsights", value="enabled", principalArn=principal)


def test_put_account_setting_invalid_name(ecs_raw):
    with pytest.raises(ClientError) as info:
        ecs_raw.put_account_setting(name="noSuchSetting", value="enabled")
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Error"]["Code"] == "InvalidParameterException"
    assert "Value 'noSuchSetting' at 'name'" in err["Error"]["Message"]
    assert "containerInsights" in err["Error"]["Message"]
    assert ecs_raw.list_account_settings()["settings"] == []


def test_an_enum_value_ecs_does_not_know_is_an_invalid_parameter_naming_member_and_values(ecs_raw):
    ecs_raw.create_cluster(clusterName="enums")
    with pytest.raises(ClientError) as info:
        ecs_raw.run_task(cluster="enums", taskDefinition="none", launchType="Fargate")
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Error"]["Code"] == "InvalidParameterException"
    assert err["Error"]["Message"] == (
        "1 validation error detected: Value 'Fargate' at 'launchType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]")
    # Validation comes before any lookup: the unknown task definition is not what is reported.
    with pytest.raises(ClientError) as info:
        ecs_raw.register_task_definition(family="f", containerDefinitions=[{
            "name": "c", "image": "i", "memory": 64,
            "logConfiguration": {"logDriver": "stdout"}}])
    assert "at 'containerDefinitions.1.member.logConfiguration.logDriver'" in \
        info.value.response["Error"]["Message"]


def test_account_settings_are_per_region(ecs, ecs_eu):
    ecs_eu.put_account_setting(name="containerInsights", value="enabled")
    assert ecs.list_account_settings()["settings"] == []
    assert [x["value"] for x in ecs_eu.list_account_settings()["settings"]] == ["enabled"]
    assert ecs_eu.create_cluster(clusterName="c")["cluster"]["settings"] == [
        {"name": "containerInsights", "value": "enabled"}]
    assert ecs.create_cluster(clusterName="c")["cluster"]["settings"] == [
        {"name": "containerInsights", "value": "disabled"}]


# --- attributes ----------------------------------------------------------------------------------

def test_put_list_delete_attributes(ecs):
    ecs.create_cluster(clusterName="ac")
    put = ecs.put_attributes(cluster="ac", attributes=[
        {"name": "stack", "value": "prod", "targetId": "i-abc"},
        {"name": "gpu", "targetId": "i-abc", "targetType": "container-instance"},
        {"name": "stack", "value": "dev", "targetId": ci_arn("ac", "i-def")},
    ])["attributes"]
    assert put == [
        {"name": "stack", "value": "prod", "targetType": "container-instance", "targetId": ci_arn("ac", "i-abc")},
        {"name": "gpu", "targetType": "container-instance", "targetId": ci_arn("ac", "i-abc")},
        {"name": "stack", "value": "dev", "targetType": "container-instance", "targetId": ci_arn("ac", "i-def")},
    ]
    listed = ecs.list_attributes(cluster="ac", targetType="container-instance")["attributes"]
    key = lambda a: (a["targetId"], a["name"])  # noqa: E731
    assert sorted(listed, key=key) == sorted(put, key=key)
    stacks = ecs.list_attributes(cluster="ac", targetType="container-instance", attributeName="stack")["attributes"]
    assert sorted(a["value"] for a in stacks) == ["dev", "prod"]
    prod = ecs.list_attributes(cluster="ac", targetType="container-instance",
                               attributeName="stack", attributeValue="prod")["attributes"]
    assert [(a["targetId"], a["value"]) for a in prod] == [(ci_arn("ac", "i-abc"), "prod")]

    deleted = ecs.delete_attributes(cluster="ac", attributes=[{"name": "stack", "targetId": "i-abc"}])["attributes"]
    assert [(a["name"], a["targetId"]) for a in deleted] == [("stack", ci_arn("ac", "i-abc"))]
    left = ecs.list_attributes(cluster="ac", targetType="container-instance")["attributes"]
    assert sorted(key(a) for a in left) == [(ci_arn("ac", "i-abc"), "gpu"), (ci_arn("ac", "i-def"), "stack")]


def test_put_attributes_overwrites_value(ecs):
    ecs.create_cluster(clusterName="ac")
    ecs.put_attributes(cluster="ac", attributes=[{"name": "stack", "value": "a", "targetId": "i-1"}])
    ecs.put_attributes(cluster="ac", attributes=[{"name": "stack", "value": "b", "targetId": "i-1"}])
    listed = ecs.list_attributes(cluster="ac", targetType="container-instance")["attributes"]
    assert [(a["name"], a["value"]) for a in listed] == [("stack", "b")]


def test_attributes_default_cluster(ecs):
    ecs.create_cluster()
    put = ecs.put_attributes(attributes=[{"name": "x", "targetId": "i-1"}])["attributes"]
    assert put[0]["targetId"] == ci_arn("default", "i-1")
    assert len(ecs.list_attributes(targetType="container-instance")["attributes"]) == 1


def test_attributes_are_per_cluster(ecs):
    ecs.create_cluster(clusterName="a")
    ecs.create_cluster(clusterName="b")
    ecs.put_attributes(cluster="a", attributes=[{"name": "x", "targetId": "i-1"}])
    assert ecs.list_attributes(cluster="b", targetType="container-instance")["attributes"] == []


def test_attribute_limit(ecs):
    ecs.create_cluster(clusterName="ac")
    ten = [{"name": f"attr{i}", "value": "v", "targetId": "i-1"} for i in range(10)]
    ecs.put_attributes(cluster="ac", attributes=ten)
    # re-putting an existing name is fine; a different target has its own budget
    ecs.put_attributes(cluster="ac", attributes=[{"name": "attr0", "value": "w", "targetId": "i-1"}])
    ecs.put_attributes(cluster="ac", attributes=[{"name": "attr10", "targetId": "i-2"}])
    assert_error("AttributeLimitExceededException", ecs.put_attributes, cluster="ac",
                 attributes=[{"name": "attr10", "targetId": "i-1"}])
    names = [a["name"] for a in ecs.list_attributes(cluster="ac", targetType="container-instance")["attributes"]
             if a["targetId"] == ci_arn("ac", "i-1")]
    assert sorted(names) == sorted(f"attr{i}" for i in range(10))


def test_attribute_limit_single_request(ecs):
    ecs.create_cluster(clusterName="ac")
    eleven = [{"name": f"attr{i}", "targetId": "i-1"} for i in range(11)]
    assert_error("AttributeLimitExceededException", ecs.put_attributes, cluster="ac", attributes=eleven)
    assert ecs.list_attributes(cluster="ac", targetType="container-instance")["attributes"] == []


def test_attributes_errors(ecs, ecs_raw):
    assert_error("ClusterNotFoundException", ecs.put_attributes, cluster="ghost",
                 attributes=[{"name": "x", "targetId": "i-1"}])
    assert_error("ClusterNotFoundException", ecs.list_attributes, cluster="ghost", targetType="container-instance")
    ecs.create_cluster(clusterName="ac")
    assert_error("InvalidParameterException", ecs.put_attributes, cluster="ac", attributes=[{"name": "x"}])
    assert_error("InvalidParameterException", ecs_raw.list_attributes, cluster="ac")
    assert_error("InvalidParameterException", ecs.put_attributes, cluster="ac",
                 attributes=[{"name": "bad name!", "targetId": "i-1"}])
    assert ecs.list_attributes(cluster="ac", targetType="container-instance")["attributes"] == []


def test_list_attributes_pagination(ecs):
    ecs.create_cluster(clusterName="ac")
    for t in range(5):
        ecs.put_attributes(cluster="ac", attributes=[{"name": f"n{i}", "targetId": f"i-{t}"} for i in range(3)])
    seen, token, pages = [], None, 0
    while True:
        r = ecs.list_attributes(cluster="ac", targetType="container-instance", maxResults=4,
                                **({"nextToken": token} if token else {}))
        assert len(r["attributes"]) <= 4
        seen += [(a["targetId"], a["name"]) for a in r["attributes"]]
        pages += 1
        token = r.get("nextToken")
        if not token:
            break
    assert pages == 4
    assert len(seen) == 15 == len(set(seen))
    assert_error("InvalidParameterException", ecs.list_attributes, cluster="ac",
                 targetType="container-instance", nextToken="garbage")


# --- capacity providers --------------------------------------------------------------------------

def test_create_capacity_provider_defaults(ecs):
    p = ecs.create_capacity_provider(name="cp1", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})[
        "capacityProvider"]
    assert p["capacityProviderArn"] == cp_arn("cp1")
    assert p["name"] == "cp1"
    assert p["status"] == "ACTIVE"
    asg = p["autoScalingGroupProvider"]
    assert asg["autoScalingGroupArn"] == ASG_ARN
    assert asg["managedScaling"] == DEFAULT_SCALING
    assert asg["managedTerminationProtection"] == "DISABLED"
    assert p.get("tags", []) == []


def test_create_capacity_provider_with_settings_and_tags(ecs):
    scaling = {"status": "ENABLED", "targetCapacity": 80, "minimumScalingStepSize": 2,
               "maximumScalingStepSize": 50, "instanceWarmupPeriod": 60}
    tags = [{"key": "team", "value": "infra"}]
    p = ecs.create_capacity_provider(
        name="cp2",
        autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN, "managedScaling": scaling,
                                  "managedTerminationProtection": "ENABLED"},
        tags=tags,
    )["capacityProvider"]
    assert p["autoScalingGroupProvider"]["managedScaling"] == scaling
    assert p["autoScalingGroupProvider"]["managedTerminationProtection"] == "ENABLED"
    assert p["tags"] == tags
    assert tags_of(ecs, cp_arn("cp2")) == tags


def test_create_capacity_provider_partial_scaling_gets_defaults(ecs):
    p = ecs.create_capacity_provider(
        name="cp3",
        autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN, "managedScaling": {"targetCapacity": 75}},
    )["capacityProvider"]
    assert p["autoScalingGroupProvider"]["managedScaling"] == dict(DEFAULT_SCALING, targetCapacity=75)


@pytest.mark.parametrize("name", ["aws-cp", "ecs_cp", "fargate2", "FARGATE", "bad name"])
def test_create_capacity_provider_bad_name(ecs, name):
    assert_error("InvalidParameterException", ecs.create_capacity_provider,
                 name=name, autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})


def test_create_capacity_provider_duplicate(ecs):
    ecs.create_capacity_provider(name="dup", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    assert_error("ClientException", ecs.create_capacity_provider,
                 name="dup", autoScalingGroupProvider={"autoScalingGroupArn": ASG2_ARN})


def test_create_capacity_provider_missing_asg(ecs_raw):
    assert_error("InvalidParameterException", ecs_raw.create_capacity_provider, name="x")
    assert_error("InvalidParameterException", ecs_raw.create_capacity_provider, name="x",
                 autoScalingGroupProvider={"autoScalingGroupArn": "arn:aws:s3:::not-a-group"})


def test_create_capacity_provider_takes_an_auto_scaling_group_name_too(ecs):
    cp = ecs.create_capacity_provider(
        name="by-name", autoScalingGroupProvider={"autoScalingGroupArn": "my-asg"})["capacityProvider"]
    assert cp["autoScalingGroupProvider"]["autoScalingGroupArn"] == "my-asg"


def test_describe_capacity_providers_all(ecs):
    ecs.create_capacity_provider(name="zeta", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    ecs.create_capacity_provider(name="alpha", autoScalingGroupProvider={"autoScalingGroupArn": ASG2_ARN})
    r = ecs.describe_capacity_providers()
    ps = r["capacityProviders"]
    assert {p["name"] for p in ps} == {"FARGATE", "FARGATE_SPOT", "alpha", "zeta"}
    by = {p["name"]: p for p in ps}
    assert by["FARGATE"]["capacityProviderArn"] == cp_arn("FARGATE")
    assert by["FARGATE"]["status"] == "ACTIVE"
    assert by["FARGATE_SPOT"]["capacityProviderArn"] == cp_arn("FARGATE_SPOT")
    assert by["alpha"]["capacityProviderArn"] == cp_arn("alpha")
    assert r.get("failures", []) == []


def test_describe_capacity_providers_named_and_missing(ecs):
    ecs.create_capacity_provider(name="one", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN},
                                 tags=[{"key": "k", "value": "v"}])
    r = ecs.describe_capacity_providers(capacityProviders=["one", "FARGATE", "ghost", cp_arn("one")])
    assert [p["name"] for p in r["capacityProviders"]] == ["one", "FARGATE", "one"]
    assert r["failures"] == [{"arn": cp_arn("ghost"), "reason": "MISSING"}]
    assert r["capacityProviders"][0].get("tags", []) == []  # not shown without TAGS
    r = ecs.describe_capacity_providers(capacityProviders=["one"], include=["TAGS"])
    assert r["capacityProviders"][0]["tags"] == [{"key": "k", "value": "v"}]


def test_describe_capacity_providers_region(ecs, ecs_eu):
    ecs.create_capacity_provider(name="one", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    eu = ecs_eu.describe_capacity_providers()["capacityProviders"]
    assert sorted(p["name"] for p in eu) == ["FARGATE", "FARGATE_SPOT"]
    assert {p["capacityProviderArn"] for p in eu} == {cp_arn("FARGATE", "eu-west-1"), cp_arn("FARGATE_SPOT", "eu-west-1")}


def test_update_capacity_provider(ecs):
    ecs.create_capacity_provider(name="up", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    p = ecs.update_capacity_provider(
        name="up",
        autoScalingGroupProvider={"managedScaling": {"status": "ENABLED", "targetCapacity": 90},
                                  "managedTerminationProtection": "DISABLED"},
    )["capacityProvider"]
    assert p["updateStatus"] == "UPDATE_COMPLETE"
    assert p["status"] == "ACTIVE"
    assert p["autoScalingGroupProvider"]["autoScalingGroupArn"] == ASG_ARN
    assert p["autoScalingGroupProvider"]["managedScaling"]["status"] == "ENABLED"
    assert p["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] == 90
    d = ecs.describe_capacity_providers(capacityProviders=["up"])["capacityProviders"][0]
    assert d["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] == 90
    assert d["updateStatus"] == "UPDATE_COMPLETE"


def test_update_capacity_provider_errors(ecs):
    assert_error("ClientException", ecs.update_capacity_provider, name="ghost",
                 autoScalingGroupProvider={"managedTerminationProtection": "DISABLED"})
    ecs.create_capacity_provider(name="up", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    assert_error("InvalidParameterException", ecs.update_capacity_provider, name="up",
                 autoScalingGroupProvider={"managedScaling": {"targetCapacity": 101}})


def test_delete_capacity_provider(ecs):
    ecs.create_capacity_provider(name="del", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    p = ecs.delete_capacity_provider(capacityProvider="del")["capacityProvider"]
    assert (p["capacityProviderArn"], p["name"], p["status"]) == (cp_arn("del"), "del", "INACTIVE")
    names = [x["name"] for x in ecs.describe_capacity_providers()["capacityProviders"]
             if x["status"] == "ACTIVE"]
    assert "del" not in names
    assert_error("ClientException", ecs.delete_capacity_provider, capacityProvider="del")
    assert_error("InvalidParameterException", ecs.create_cluster, clusterName="c", capacityProviders=["del"])


def test_delete_capacity_provider_by_arn(ecs):
    ecs.create_capacity_provider(name="del", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    p = ecs.delete_capacity_provider(capacityProvider=cp_arn("del"))["capacityProvider"]
    assert p["status"] == "INACTIVE"


def test_delete_capacity_provider_in_use(ecs):
    ecs.create_capacity_provider(name="used", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    ecs.create_cluster(clusterName="c", capacityProviders=["used"])
    assert_error("ClientException", ecs.delete_capacity_provider, capacityProvider="used")
    ecs.put_cluster_capacity_providers(cluster="c", capacityProviders=[], defaultCapacityProviderStrategy=[])
    assert ecs.delete_capacity_provider(capacityProvider="used")["capacityProvider"]["status"] == "INACTIVE"


def test_delete_capacity_provider_used_by_deleted_cluster(ecs):
    ecs.create_capacity_provider(name="used", autoScalingGroupProvider={"autoScalingGroupArn": ASG_ARN})
    ecs.create_cluster(clusterName="c", capacityProviders=["used"])
    ecs.delete_cluster(cluster="c")
    assert ecs.delete_capacity_provider(capacityProvider="used")["capacityProvider"]["status"] == "INACTIVE"


def test_builtin_capacity_providers_are_read_only(ecs):
    assert_error("ClientException", ecs.delete_capacity_provider, capacityProvider="FARGATE")
