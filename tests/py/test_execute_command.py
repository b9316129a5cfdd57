"""ExecuteCommand on Docker: a task run with enableExecuteCommand shows its ExecuteCommandAgent
RUNNING; ExecuteCommand answers a session whose stream (KECS's own framing over a WebSocket)
runs the command in the container, with its stdin, output and exit code; `kecs exec` does the
same from the command line; what ECS refuses is refused."""
import json
import subprocess

import websocket

from conftest import assert_error, kecs_bin


def run_exec_task(ecs, image, cluster="x", enable=True):
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="shell", containerDefinitions=[
        {"name": "app", "image": image, "memory": 32, "stopTimeout": 1,
         "command": ["sh", "-c", "echo inside > /tmp/marker; exec sleep 300"]}])
    arn = ecs.run_task(cluster=cluster, taskDefinition="shell",
                       enableExecuteCommand=enable)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[arn],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return arn


def talk(url, token, send=b"", tty=False):
    """Opens a session's stream, sends `send` then end of input; answers (output, last message)."""
    ws = websocket.create_connection(f"{url}?token={token}&tty={str(tty).lower()}", timeout=30)
    if send:
        ws.send_binary(send)
    ws.send(json.dumps({"eof": True}))
    output = b""
    while True:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_BINARY:
            output += data
        elif opcode == websocket.ABNF.OPCODE_TEXT:
            ws.close()
            return output, json.loads(data)
        else:
            raise AssertionError(f"unexpected frame {opcode}")


def test_a_session_runs_the_command_in_the_container(docker_server):
    ecs = docker_server.client()
    arn = run_exec_task(ecs, docker_server.image)
    task = ecs.describe_tasks(cluster="x", tasks=[arn])["tasks"][0]
    assert task["enableExecuteCommand"] is True
    [agent] = task["containers"][0]["managedAgents"]
    assert agent["name"] == "ExecuteCommandAgent" and agent["lastStatus"] == "RUNNING"
    got = ecs.execute_command(cluster="x", task=arn, interactive=True,
                              command="sh -c 'read line; echo got $line; cat /tmp/marker; exit 3'")
    assert got["containerName"] == "app" and got["interactive"] is True
    assert got["taskArn"] == arn and got["clusterArn"].endswith(":cluster/x")
    session = got["session"]
    assert session["sessionId"].startswith("ecs-execute-command-")
    assert session["streamUrl"].startswith(docker_server.api_url.replace("http://", "ws://"))
    output, last = talk(session["streamUrl"], session["tokenValue"], b"hello\n")
    assert output.decode().splitlines() == ["got hello", "inside"]
    assert last == {"exitCode": 3}
    # A session opens once.
    try:
        websocket.create_connection(f"{session['streamUrl']}?token={session['tokenValue']}",
                                    timeout=10)
        raise AssertionError("a used session opened again")
    except websocket.WebSocketBadStatusException as e:
        assert e.status_code == 401


def test_kecs_exec_runs_a_command_from_the_command_line(docker_server):
    ecs = docker_server.client()
    arn = run_exec_task(ecs, docker_server.image, cluster="cli")
    task_id = arn.rsplit("/", 1)[1]
    proc = subprocess.run(
        [kecs_bin(), "exec", "--endpoint-url", docker_server.api_url, "--cluster", "cli",
         task_id, "--", "sh", "-c", "read a; echo \"$a and more\"; exit 7"],
        input="words\n", capture_output=True, text=True, timeout=60)
    assert proc.stdout == "words and more\n", proc.stderr
    assert proc.returncode == 7
    refused = subprocess.run(
        [kecs_bin(), "exec", "--endpoint-url", docker_server.api_url, "--cluster", "cli",
         "0" * 32, "--", "true"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "InvalidParameterException" in refused.stderr


def test_execute_command_refuses_what_ecs_refuses(docker_server, ecs):
    docker = docker_server.client()
    arn = run_exec_task(docker, docker_server.image, cluster="off", enable=False)
    assert_error("InvalidParameterException", docker.execute_command, cluster="off", task=arn,
                 interactive=True, command="sh")
    on = run_exec_task(docker, docker_server.image, cluster="on")
    assert_error("InvalidParameterException", docker.execute_command, cluster="on", task=on,
                 interactive=False, command="sh")
    assert_error("InvalidParameterException", docker.execute_command, cluster="on", task=on,
                 interactive=True, command="sh", container="nope")
    assert_error("ClusterNotFoundException", docker.execute_command, cluster="nope", task=on,
                 interactive=True, command="sh")
    # The none runtime runs no container to run a command in.
    ecs.create_cluster(clusterName="none")
    ecs.register_task_definition(family="n", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 32}])
    task = ecs.run_task(cluster="none", taskDefinition="n", enableExecuteCommand=True)["tasks"][0]
    assert_error("TargetNotConnectedException", ecs.execute_command, cluster="none",
                 task=task["taskArn"], interactive=True, command="sh")
