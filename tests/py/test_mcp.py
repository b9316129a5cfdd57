"""`kecs mcp` driven by a real MCP client (the Python `mcp` SDK): over stdio, an assistant's
session registers a task definition, creates a service and sees it stable, reads a container's
logs, explains a stopped task, reads the resources, and gets tool errors for bad arguments and
for what ECS refuses; `kecs server --mcp-http` serves the same tools at /mcp on the admin port."""
import json

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from conftest import KecsServer, kecs_bin, make_client, remove_containers_of

CLUSTER = "mcp"


@pytest.fixture(scope="module")
def mcp_server(kecs_binary, tmp_path_factory):
    """A docker-runtime KECS that also serves MCP on its admin port."""
    s = KecsServer(tmp_path_factory.mktemp("kecs-mcp") / "data", runtime="docker",
                   env={"KECS_MCP_HTTP": "true"}).start()
    make_client(s.api_url).create_cluster(clusterName=CLUSTER)
    yield s
    s.stop()
    remove_containers_of(s)


def stdio_session(server):
    """A session with `kecs mcp` over stdio, against `server`'s API."""
    params = StdioServerParameters(command=kecs_bin(),
                                   args=["mcp", "--endpoint-url", server.api_url])
    return stdio_client(params)


def text(result):
    return result.content[0].text


def ok(result):
    assert not result.is_error, text(result)
    return json.loads(text(result))


def test_an_assistant_runs_a_service_through_the_tools(mcp_server):
    async def session():
        async with stdio_session(mcp_server) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert {"list_clusters", "list_services", "describe_service", "list_tasks",
                    "describe_task", "list_task_definitions", "describe_task_definition",
                    "register_task_definition", "run_task", "stop_task", "create_service",
                    "scale_service", "update_service", "delete_service", "read_logs",
                    "wait_service_stable", "explain_task_stopped"} <= set(tools)
            assert tools["delete_service"].annotations.destructive_hint is True
            assert tools["stop_task"].annotations.destructive_hint is True
            assert tools["list_tasks"].annotations.read_only_hint is True
            assert "desired_count" in tools["scale_service"].input_schema["properties"]

            td = {"family": "mcp-web", "containerDefinitions": [{
                "name": "web", "image": mcp_server.image, "memory": 32, "essential": True,
                "command": ["sh", "-c", "echo hello from mcp; exec sleep 300"], "stopTimeout": 2,
            }]}
            arn = ok(await s.call_tool("register_task_definition", {"task_definition": td}))
            assert arn.endswith(":task-definition/mcp-web:1")
            created = ok(await s.call_tool("create_service", {
                "cluster": CLUSTER, "service_name": "web", "task_definition": "mcp-web",
                "desired_count": 1}))
            assert created["serviceName"] == "web" and created["desiredCount"] == 1
            stable = ok(await s.call_tool("wait_service_stable", {
                "cluster": CLUSTER, "service": "web", "timeout_seconds": 60}))
            assert stable["stable"] is True and stable["runningCount"] == 1, stable

            tasks = ok(await s.call_tool("list_tasks", {"cluster": CLUSTER, "service": "web"}))
            assert len(tasks) == 1 and tasks[0]["lastStatus"] == "RUNNING", tasks
            task = tasks[0]["taskArn"]
            lines = []
            for _ in range(50):
                logs = ok(await s.call_tool("read_logs", {"cluster": CLUSTER, "task": task}))
                lines = logs["lines"]
                if any("hello from mcp" in line for line in lines):
                    break
                await anyio.sleep(0.2)
            assert logs["container"] == "web"
            assert any("hello from mcp" in line for line in lines), lines

            # Resources: the overview, and the service's events.
            uris = [str(r.uri) for r in (await s.list_resources()).resources]
            assert "kecs://overview" in uris
            templates = (await s.list_resource_templates()).resource_templates
            assert any("{service}/events" in t.uri_template for t in templates)
            overview = json.loads((await s.read_resource("kecs://overview")).contents[0].text)
            mine = [c for c in overview["clusters"] if c["clusterName"] == CLUSTER][0]
            assert [svc["serviceName"] for svc in mine["services"]] == ["web"]
            events = json.loads((await s.read_resource(
                f"kecs://clusters/{CLUSTER}/services/web/events")).contents[0].text)
            assert any("has reached a steady state" in e["message"] for e in events), events

            # A bad argument and an ECS refusal are tool errors the assistant can read.
            bad = await s.call_tool("scale_service", {"cluster": CLUSTER, "service": "web"})
            assert bad.is_error and "desired_count" in text(bad), text(bad)
            bad = await s.call_tool("scale_service", {"cluster": CLUSTER, "service": "web",
                                                      "desired_count": "many"})
            assert bad.is_error, text(bad)
            refused = await s.call_tool("describe_service", {"cluster": CLUSTER,
                                                             "service": "nope"})
            assert refused.is_error and "MISSING" in text(refused), text(refused)
            refused = await s.call_tool("list_services", {"cluster": "no-such-cluster"})
            assert refused.is_error and "ClusterNotFoundException" in text(refused)

            # Why a task stopped.
            stopped = ok(await s.call_tool("stop_task", {"cluster": CLUSTER, "task": task,
                                                         "reason": "asked by the assistant"}))
            assert stopped["desiredStatus"] == "STOPPED"
            for _ in range(300):
                why = ok(await s.call_tool("explain_task_stopped", {"cluster": CLUSTER,
                                                                    "task": task}))
                if why["lastStatus"] == "STOPPED":
                    break
                await anyio.sleep(0.2)
            assert why["stopCode"] == "UserInitiated", why
            assert why["stoppedReason"] == "asked by the assistant"
            assert why["containers"][0]["name"] == "web"
            assert "exitCode" in why["containers"][0], why
            assert why["serviceEvents"], why

            deleted = ok(await s.call_tool("delete_service", {"cluster": CLUSTER,
                                                              "service": "web", "force": True}))
            assert deleted["status"] in ("DRAINING", "INACTIVE"), deleted

    anyio.run(session)


def test_the_admin_port_serves_the_same_tools_over_http(mcp_server):
    async def session():
        url = f"{mcp_server.admin_url}/mcp"
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            names = {t.name for t in (await s.list_tools()).tools}
            assert "wait_service_stable" in names
            clusters = ok(await s.call_tool("list_clusters", {}))
            assert CLUSTER in [c["clusterName"] for c in clusters]

    anyio.run(session)


def test_a_kecs_that_does_not_answer_is_a_tool_error(kecs_binary):
    async def session():
        params = StdioServerParameters(command=kecs_bin(),
                                       args=["mcp", "--endpoint-url", "http://127.0.0.1:9"])
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            result = await s.call_tool("list_clusters", {})
            assert result.is_error and "cannot call KECS at http://127.0.0.1:9" in text(result)

    anyio.run(session)
