"""Task definitions through boto3: register, describe, list, families, deregister, delete."""
import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT, assert_error, container, error_of, td_arn

CONTAINER_DEFAULTS = {
    "cpu": 0,
    "essential": True,
    "portMappings": [],
    "environment": [],
    "mountPoints": [],
    "volumesFrom": [],
}


def register(ecs, family="web", containers=None, **kwargs):
    return ecs.register_task_definition(
        family=family, containerDefinitions=containers or [container()], **kwargs
    )["taskDefinition"]


def attr_names(td):
    return {a["name"] for a in td["requiresAttributes"]}


def all_pages(fn, key, **kwargs):
    out, token = [], None
    while True:
        r = fn(**kwargs, **({"nextToken": token} if token else {}))
        out += r[key]
        token = r.get("nextToken")
        if not token:
            return out


# --- RegisterTaskDefinition ------------------------------------------------------------------

def test_register_minimal(ecs):
    r = ecs.register_task_definition(family="web", containerDefinitions=[container()])
    td = r["taskDefinition"]
    assert r["tags"] == []
    assert td["taskDefinitionArn"] == td_arn("web", 1)
    assert td["family"] == "web"
    assert td["revision"] == 1
    assert td["status"] == "ACTIVE"
    assert isinstance(td["registeredAt"], datetime.datetime)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - td["registeredAt"]).total_seconds()) < 300
    assert td["registeredBy"] == ROOT
    assert td["volumes"] == []
    assert td["placementConstraints"] == []
    assert td["compatibilities"] == ["EC2", "EXTERNAL"]
    assert isinstance(td["requiresAttributes"], list)
    assert "deregisteredAt" not in td
    assert "cpu" not in td and "memory" not in td
    (c,) = td["containerDefinitions"]
    assert c["name"] == "web"
    assert c["image"] == "nginx:latest"
    assert c["memory"] == 128
    for k, v in CONTAINER_DEFAULTS.items():
        assert c[k] == v, k


def test_register_revisions_increment_per_family(ecs):
    assert [register(ecs, "a")["revision"] for _ in range(3)] == [1, 2, 3]
    assert register(ecs, "b")["revision"] == 1
    assert register(ecs, "a")["taskDefinitionArn"] == td_arn("a", 4)


def test_register_revision_continues_after_deregister(ecs):
    register(ecs, "a")
    register(ecs, "a")
    ecs.deregister_task_definition(taskDefinition="a:2")
    assert register(ecs, "a")["revision"] == 3


def test_register_echoes_every_container_field(ecs):
    app = {
        "name": "app",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.2",
        "cpu": 256,
        "memory": 512,
        "memoryReservation": 256,
        "links": ["db"],
        "portMappings": [{"containerPort": 8080, "hostPort": 80, "protocol": "udp"}],
        "essential": True,
        "entryPoint": ["/bin/sh", "-c"],
        "command": ["echo hello && sleep 5"],
        "environment": [{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "0"}],
        "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": False}],
        "volumesFrom": [{"sourceContainer": "db", "readOnly": True}],
        "hostname": "app-host",
        "user": "1000:1000",
        "workingDirectory": "/srv",
        "disableNetworking": False,
        "privileged": False,
        "readonlyRootFilesystem": True,
        "dnsServers": ["10.0.0.2"],
        "dnsSearchDomains": ["example.internal"],
        "extraHosts": [{"hostname": "db.local", "ipAddress": "10.0.0.5"}],
        "dockerSecurityOptions": ["no-new-privileges"],
        "interactive": False,
        "pseudoTerminal": False,
        "dockerLabels": {"com.example.team": "core"},
        "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
        "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}},
        "healthCheck": {
            "command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
            "interval": 10,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 15,
        },
        "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}],
        "startTimeout": 60,
        "stopTimeout": 30,
        "secrets": [{"name": "PW", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/pw"}],
        "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
    }
    db = {
        "name": "db",
        "image": "postgres:16",
        "memory": 256,
        "essential": False,
        "healthCheck": {"command": ["CMD", "pg_isready"], "interval": 5, "timeout": 2, "retries": 5, "startPeriod": 0},
    }
    td = register(
        ecs,
        "rich",
        [app, db],
        volumes=[{"name": "data", "host": {"sourcePath": "/var/data"}}],
        taskRoleArn="arn:aws:iam::000000000000:role/task",
        executionRoleArn="arn:aws:iam::000000000000:role/exec",
        networkMode="bridge",
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
        pidMode="task",
        ipcMode="none",
    )
    got = {c["name"]: c for c in td["containerDefinitions"]}
    assert list(got) == ["app", "db"]
    for k, v in app.items():
        assert got["app"][k] == v, k
    for k, v in db.items():
        assert got["db"][k] == v, k
    assert got["db"]["portMappings"] == []
    assert got["db"]["environment"] == []
    assert got["db"]["cpu"] == 0
    assert td["volumes"] == [{"name": "data", "host": {"sourcePath": "/var/data"}}]
    assert td["taskRoleArn"] == "arn:aws:iam::000000000000:role/task"
    assert td["executionRoleArn"] == "arn:aws:iam::000000000000:role/exec"
    assert td["networkMode"] == "bridge"
    assert td["placementConstraints"] == [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}]
    assert (td["pidMode"], td["ipcMode"]) == ("task", "none")
    assert td["compatibilities"] == ["EC2", "EXTERNAL"]
    names = attr_names(td)
    assert "com.amazonaws.ecs.capability.container-health-check" in names
    assert "com.amazonaws.ecs.capability.task-iam-role" in names
    assert "ecs.capability.container-ordering" in names
    assert "ecs.capability.execution-role-ecr-pull" in names
    assert "ecs.capability.secrets.ssm.environment-variables" in names
    assert "ecs.capability.task-eni" not in names
    # what Register answered is what Describe answers
    assert ecs.describe_task_definition(taskDefinition="rich:1")["taskDefinition"] == td


def test_register_port_mapping_defaults_bridge(ecs):
    c = container(portMappings=[{"containerPort": 80}, {"containerPort": 53, "hostPort": 5353, "protocol": "udp"}])
    td = register(ecs, containers=[c])
    pm = td["containerDefinitions"][0]["portMappings"]
    assert pm[0]["containerPort"] == 80
    assert pm[0]["protocol"] == "tcp"
    assert pm[0].get("hostPort", 0) == 0
    assert pm[1] == {"containerPort": 53, "hostPort": 5353, "protocol": "udp"}


@pytest.mark.parametrize("mode", ["awsvpc", "host"])
def test_register_port_mapping_host_port_follows_container_port(ecs, mode):
    c = container(portMappings=[{"containerPort": 8080}])
    td = register(ecs, containers=[c], networkMode=mode, cpu="256", memory="512")
    assert td["networkMode"] == mode
    assert td["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}
    ]


def test_register_awsvpc_mismatched_host_port(ecs):
    c = container(portMappings=[{"containerPort": 8080, "hostPort": 80}])
    assert_error("ClientException", ecs.register_task_definition, family="x",
                 containerDefinitions=[c], networkMode="awsvpc", cpu="256", memory="512")


def test_register_fargate(ecs):
    td = register(
        ecs, "fg", [container(memory=None)],
        networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="0.25 vCPU", memory="1 GB",
    )
    assert td["cpu"] == "256"
    assert td["memory"] == "1024"
    assert td["requiresCompatibilities"] == ["FARGATE"]
    assert td["compatibilities"] == ["EC2", "FARGATE"]
    assert "ecs.capability.task-eni" in attr_names(td)
    assert "memory" not in td["containerDefinitions"][0]


def test_register_awsvpc_compatibilities_need_fargate_size(ecs):
    td = register(ecs, "v1", networkMode="awsvpc", cpu="1024", memory="2048")
    assert td["compatibilities"] == ["EC2", "FARGATE"]
    td = register(ecs, "v2", networkMode="awsvpc", cpu="256", memory="4096")
    assert td["compatibilities"] == ["EC2"]
    td = register(ecs, "v3", networkMode="awsvpc")
    assert td["compatibilities"] == ["EC2"]
    assert "ecs.capability.task-eni" in attr_names(td)


def test_register_requires_attributes(ecs):
    td = register(ecs, "plain")
    assert "com.amazonaws.ecs.capability.task-iam-role" not in attr_names(td)
    td = register(ecs, "role", taskRoleArn="arn:aws:iam::000000000000:role/r")
    assert "com.amazonaws.ecs.capability.task-iam-role" in attr_names(td)
    td = register(ecs, "hc", [container(healthCheck={"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3})])
    assert "com.amazonaws.ecs.capability.container-health-check" in attr_names(td)
    td = register(ecs, "logs", [container(logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "g"}})])
    assert "com.amazonaws.ecs.capability.logging-driver.awslogs" in attr_names(td)
    for a in td["requiresAttributes"]:
        assert set(a) == {"name"}


def test_register_health_check_defaults(ecs):
    # ECS fills in the documented defaults: interval 30, timeout 5, retries 3
    td = register(ecs, "hcd", [container(healthCheck={"command": ["CMD-SHELL", "true"]})])
    hc = td["containerDefinitions"][0]["healthCheck"]
    assert hc == {"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3}
    d = ecs.describe_task_definition(taskDefinition="hcd:1")["taskDefinition"]
    assert d["containerDefinitions"][0]["healthCheck"] == hc


def test_register_tags(ecs):
    tags = [{"key": "app", "value": "web"}]
    r = ecs.register_task_definition(family="t", containerDefinitions=[container()], tags=tags)
    assert r["tags"] == tags
    d = ecs.describe_task_definition(taskDefinition="t", include=["TAGS"])
    assert d["tags"] == tags
    assert ecs.list_tags_for_resource(resourceArn=td_arn("t", 1))["tags"] == tags


def test_register_memory_reservation_or_task_memory_suffices(ecs):
    assert register(ecs, "r", [container(memory=None, memoryReservation=64)])["revision"] == 1
    td = register(ecs, "m", [container(memory=None)], memory="512")
    assert td["memory"] == "512"


@pytest.mark.parametrize(
    "case,family,containers,extra",
    [
        ("no-containers", "x", [], {}),
        ("no-image", "x", [{"name": "web", "memory": 128}], {}),
        ("empty-image", "x", [{"name": "web", "image": "", "memory": 128}], {}),
        ("duplicate-names", "x", [container(), container()], {}),
        ("no-memory", "x", [container(memory=None)], {}),
        ("fargate-bridge", "x", [container()], {"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"}),
        ("fargate-default-mode", "x", [container()], {"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "networkMode": "bridge"}),
        ("fargate-bad-size", "x", [container()], {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "4096"}),
        ("family-space", "my family", [container()], {}),
        ("family-too-long", "f" * 256, [container()], {}),
        ("depends-on-unknown", "x", [container(dependsOn=[{"containerName": "ghost", "condition": "START"}])], {}),
        ("no-essential", "x", [container(essential=False)], {}),
        ("links-awsvpc", "x", [container(name="a"), container(name="b", links=["a"])], {"networkMode": "awsvpc"}),
        ("unknown-volume", "x", [container(mountPoints=[{"sourceVolume": "nope", "containerPath": "/x"}])], {}),
    ],
)
def test_register_rejects(ecs_raw, case, family, containers, extra):
    assert_error("ClientException", ecs_raw.register_task_definition,
                 family=family, containerDefinitions=containers, **extra)
    assert ecs_raw.list_task_definitions()["taskDefinitionArns"] == []


def test_concurrent_registrations_get_distinct_revisions(server):
    clients = [server.client() for _ in range(8)]

    def reg(i):
        return register(clients[i % len(clients)], "race")["revision"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        revisions = list(pool.map(reg, range(24)))
    assert sorted(revisions) == list(range(1, 25))
    arns = clients[0].list_task_definitions(familyPrefix="race")["taskDefinitionArns"]
    assert arns == [td_arn("race", r) for r in range(1, 25)]


def test_register_family_max_length(ecs):
    fam = "f" * 255
    assert register(ecs, fam)["taskDefinitionArn"] == td_arn(fam, 1)


def test_register_missing_required(ecs_raw):
    assert_error("InvalidParameterException", ecs_raw.register_task_definition, containerDefinitions=[container()])
    assert_error("InvalidParameterException", ecs_raw.register_task_definition, family="x")


def test_register_reserved_tag(ecs):
    assert_error("InvalidParameterException", ecs.register_task_definition, family="x",
                 containerDefinitions=[container()], tags=[{"key": "aws:x", "value": "y"}])


# --- DescribeTaskDefinition ----------------------------------------------------------------------

def test_describe_by_family_rev_and_arn(ecs):
    for i in range(3):
        register(ecs, "d", [container(environment=[{"name": "N", "value": str(i + 1)}])])
    latest = ecs.describe_task_definition(taskDefinition="d")["taskDefinition"]
    assert latest["revision"] == 3
    two = ecs.describe_task_definition(taskDefinition="d:2")["taskDefinition"]
    assert (two["revision"], two["containerDefinitions"][0]["environment"]) == (2, [{"name": "N", "value": "2"}])
    one = ecs.describe_task_definition(taskDefinition=td_arn("d", 1))["taskDefinition"]
    assert one["taskDefinitionArn"] == td_arn("d", 1)
    assert "tags" not in ecs.describe_task_definition(taskDefinition="d")


def test_describe_family_skips_inactive(ecs):
    register(ecs, "d")
    register(ecs, "d")
    ecs.deregister_task_definition(taskDefinition="d:2")
    assert ecs.describe_task_definition(taskDefinition="d")["taskDefinition"]["revision"] == 1
    inactive = ecs.describe_task_definition(taskDefinition="d:2")["taskDefinition"]
    assert inactive["status"] == "INACTIVE"
    ecs.deregister_task_definition(taskDefinition="d:1")
    assert_error("ClientException", ecs.describe_task_definition, taskDefinition="d")


def test_describe_include_tags_empty(ecs):
    register(ecs, "d")
    assert ecs.describe_task_definition(taskDefinition="d:1", include=["TAGS"])["tags"] == []


@pytest.mark.parametrize("ident", ["ghost", "ghost:1", "d:9", td_arn("ghost", 1), "d:notanumber"])
def test_describe_unknown(ecs, ident):
    register(ecs, "d")
    assert_error("ClientException", ecs.describe_task_definition, taskDefinition=ident)


def test_foreign_region_task_definition_arn_is_not_found(ecs, ecs_eu):
    register(ecs_eu, "f")
    eu_arn = "arn:aws:ecs:eu-west-1:000000000000:task-definition/f:1"
    assert_error("ClientException", ecs.describe_task_definition, taskDefinition=eu_arn)
    assert_error("ClientException", ecs.deregister_task_definition, taskDefinition=eu_arn)
    assert ecs_eu.describe_task_definition(taskDefinition="f:1")["taskDefinition"]["status"] == "ACTIVE"


# --- ListTaskDefinitions ------------------------------------------------------------------------

def test_list_task_definitions_sort_numeric(ecs):
    for _ in range(11):
        register(ecs, "num")
    register(ecs, "alpha")
    asc = ecs.list_task_definitions()["taskDefinitionArns"]
    assert asc == [td_arn("alpha", 1)] + [td_arn("num", r) for r in range(1, 12)]
    assert ecs.list_task_definitions(sort="ASC")["taskDefinitionArns"] == asc
    desc = ecs.list_task_definitions(sort="DESC")["taskDefinitionArns"]
    assert desc == list(reversed(asc))


def test_list_task_definitions_family_prefix_is_exact(ecs):
    register(ecs, "web")
    register(ecs, "web")
    register(ecs, "webapp")
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == [td_arn("web", 1), td_arn("web", 2)]
    assert ecs.list_task_definitions(familyPrefix="we")["taskDefinitionArns"] == []
    assert ecs.list_task_definitions(familyPrefix="webapp")["taskDefinitionArns"] == [td_arn("webapp", 1)]


def test_list_task_definitions_status(ecs):
    for _ in range(3):
        register(ecs, "s")
    ecs.deregister_task_definition(taskDefinition="s:2")
    assert ecs.list_task_definitions()["taskDefinitionArns"] == [td_arn("s", 1), td_arn("s", 3)]
    assert ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == [td_arn("s", 1), td_arn("s", 3)]
    assert ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"] == [td_arn("s", 2)]


def test_list_task_definitions_pagination(ecs):
    for _ in range(12):
        register(ecs, "p")
    expected = [td_arn("p", r) for r in range(1, 13)]
    first = ecs.list_task_definitions(maxResults=5)
    assert first["taskDefinitionArns"] == expected[:5]
    assert all_pages(ecs.list_task_definitions, "taskDefinitionArns", maxResults=5) == expected
    assert all_pages(ecs.list_task_definitions, "taskDefinitionArns", maxResults=5, sort="DESC") == expected[::-1]
    pag = ecs.get_paginator("list_task_definitions").paginate(PaginationConfig={"PageSize": 4})
    assert [a for p in pag for a in p["taskDefinitionArns"]] == expected


def test_list_task_definitions_bad_paging(ecs_raw):
    assert_error("InvalidParameterException", ecs_raw.list_task_definitions, maxResults=0)
    assert_error("InvalidParameterException", ecs_raw.list_task_definitions, maxResults=101)
    assert_error("InvalidParameterException", ecs_raw.list_task_definitions, nextToken="garbage")


# --- ListTaskDefinitionFamilies -------------------------------------------------------------------

def test_list_families_prefix_and_status(ecs):
    for fam in ["web", "webapp", "worker", "api"]:
        register(ecs, fam)
    register(ecs, "web")
    ecs.deregister_task_definition(taskDefinition="worker:1")
    ecs.deregister_task_definition(taskDefinition="web:1")
    assert ecs.list_task_definition_families()["families"] == ["api", "web", "webapp", "worker"]
    assert ecs.list_task_definition_families(status="ALL")["families"] == ["api", "web", "webapp", "worker"]
    assert ecs.list_task_definition_families(status="ACTIVE")["families"] == ["api", "web", "webapp"]
    assert ecs.list_task_definition_families(status="INACTIVE")["families"] == ["worker"]
    assert ecs.list_task_definition_families(familyPrefix="w")["families"] == ["web", "webapp", "worker"]
    assert ecs.list_task_definition_families(familyPrefix="web")["families"] == ["web", "webapp"]
    assert ecs.list_task_definition_families(familyPrefix="web", status="INACTIVE")["families"] == []
    assert ecs.list_task_definition_families(familyPrefix="zzz")["families"] == []


def test_list_families_pagination(ecs):
    fams = [f"fam{i:02d}" for i in range(7)]
    for f in reversed(fams):
        register(ecs, f)
    r = ecs.list_task_definition_families(maxResults=3)
    assert r["families"] == fams[:3]
    assert "nextToken" in r
    assert all_pages(ecs.list_task_definition_families, "families", maxResults=3) == fams
    assert_error("InvalidParameterException", ecs.list_task_definition_families, nextToken="%%%")


# --- DeregisterTaskDefinition ---------------------------------------------------------------------

def test_deregister(ecs):
    register(ecs, "d")
    td = ecs.deregister_task_definition(taskDefinition="d:1")["taskDefinition"]
    assert (td["taskDefinitionArn"], td["status"]) == (td_arn("d", 1), "INACTIVE")
    assert isinstance(td["deregisteredAt"], datetime.datetime)
    assert td["deregisteredAt"] >= td["registeredAt"]
    d = ecs.describe_task_definition(taskDefinition=td_arn("d", 1))["taskDefinition"]
    assert d["status"] == "INACTIVE"
    assert d["deregisteredAt"] == td["deregisteredAt"]


def test_deregister_by_arn(ecs):
    register(ecs, "d")
    td = ecs.deregister_task_definition(taskDefinition=td_arn("d", 1))["taskDefinition"]
    assert td["status"] == "INACTIVE"


def test_deregister_needs_revision(ecs):
    register(ecs, "d")
    assert_error("ClientException", ecs.deregister_task_definition, taskDefinition="d")
    assert ecs.describe_task_definition(taskDefinition="d:1")["taskDefinition"]["status"] == "ACTIVE"


def test_deregister_unknown(ecs):
    assert_error("ClientException", ecs.deregister_task_definition, taskDefinition="ghost:1")


# --- DeleteTaskDefinitions ----------------------------------------------------------------------

def test_delete_task_definitions(ecs):
    for _ in range(3):
        register(ecs, "del")
    ecs.deregister_task_definition(taskDefinition="del:1")
    ecs.deregister_task_definition(taskDefinition="del:2")
    r = ecs.delete_task_definitions(taskDefinitions=["del:1", td_arn("del", 2), "del:3", "ghost:1"])
    deleted = r["taskDefinitions"]
    assert [(t["taskDefinitionArn"], t["status"]) for t in deleted] == [
        (td_arn("del", 1), "DELETE_IN_PROGRESS"),
        (td_arn("del", 2), "DELETE_IN_PROGRESS"),
    ]
    failures = {f["arn"]: f for f in r["failures"]}
    assert len(r["failures"]) == 2
    for key in ["del:3", "ghost:1"]:
        matches = [f for a, f in failures.items() if a in (key, td_arn(*key.split(":")))]
        assert len(matches) == 1, (key, r["failures"])
        assert matches[0]["reason"]
    # deleted ones no longer list as INACTIVE; the ACTIVE one is untouched
    assert ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"] == []
    assert ecs.list_task_definitions()["taskDefinitionArns"] == [td_arn("del", 3)]
    d = ecs.describe_task_definition(taskDefinition="del:1")["taskDefinition"]
    assert d["status"] == "DELETE_IN_PROGRESS"


def test_delete_task_definitions_limit(ecs_raw):
    assert_error("InvalidParameterException", ecs_raw.delete_task_definitions,
                 taskDefinitions=[f"x:{i}" for i in range(1, 12)])


def test_fargate_refuses_pid_mode_host_and_efs_root_directory_defaults_to_slash(ecs):
    code, msg, _ = error_of(
        ecs.register_task_definition, family="fg", requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc", cpu="256", memory="512", pidMode="host",
        containerDefinitions=[container()])
    assert (code, msg) == (
        "ClientException",
        "Tasks using the Fargate launch type do not support pidMode 'host'. "
        "The supported value for pidMode is 'task'.")
    td = ecs.register_task_definition(
        family="efs", containerDefinitions=[container()],
        volumes=[{"name": "shared", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678"}}],
    )["taskDefinition"]
    assert td["volumes"][0]["efsVolumeConfiguration"] == {
        "fileSystemId": "fs-12345678", "rootDirectory": "/"}
