"""Tasks' `awslogs` output as CloudWatch Logs, and the CloudWatch Logs API KECS serves for it on
the API port (`Logs_20140328.*`): log groups (create, describe, retention, tags, delete), each
awslogs container of a task a stream named as ECS names it, its lines as events
(GetLogEvents with both tokens, FilterLogEvents with patterns and stable event IDs), driven by
boto3's and the AWS CLI's `logs` clients."""
import re
import time

import boto3
import pytest
from botocore.config import Config

from conftest import ACCOUNT, REGION, assert_error

WAIT = {"Delay": 1, "MaxAttempts": 60}
IMAGE = "kecs-test/busybox:latest"


def logs_client(url, validate=True):
    return boto3.client(
        "logs", endpoint_url=url, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=validate),
    )


@pytest.fixture
def logs(server):
    return logs_client(server.api_url)


def test_log_groups_are_created_described_kept_and_deleted(logs, aws):
    before = int(time.time() * 1000)
    logs.create_log_group(logGroupName="/ecs/web", tags={"team": "kecs"})
    logs.create_log_group(logGroupName="/ecs/worker")
    logs.create_log_group(logGroupName="other")
    assert_error("ResourceAlreadyExistsException", logs.create_log_group, logGroupName="/ecs/web")
    assert_error("InvalidParameterException", logs_client(logs.meta.endpoint_url, validate=False)
                 .create_log_group, logGroupName="bad name")

    groups = logs.describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/ecs/web", "/ecs/worker"]
    web = groups[0]
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/web"
    assert web["logGroupArn"] == arn and web["arn"] == arn + ":*"
    assert before <= web["creationTime"] <= int(time.time() * 1000) + 1000, "epoch milliseconds"
    assert web["logGroupClass"] == "STANDARD" and "retentionInDays" not in web
    assert [g["logGroupName"] for g in
            logs.describe_log_groups(logGroupNamePattern="WORK")["logGroups"]] == ["/ecs/worker"]

    # Pages of one, as the CLI's paginator walks them.
    first = logs.describe_log_groups(limit=1)
    assert len(first["logGroups"]) == 1 and first["nextToken"]
    names = [g["logGroupName"] for g in
             aws("describe-log-groups", service="logs")["logGroups"]]
    assert names == ["/ecs/web", "/ecs/worker", "other"]

    logs.put_retention_policy(logGroupName="/ecs/web", retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix="/ecs/web")["logGroups"][0]["retentionInDays"] == 7
    assert_error("InvalidParameterException", logs.put_retention_policy, logGroupName="/ecs/web",
                 retentionInDays=8)
    logs.delete_retention_policy(logGroupName="/ecs/web")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="/ecs/web")["logGroups"][0]
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "kecs"}

    logs.delete_log_group(logGroupName="/ecs/web")
    assert_error("ResourceNotFoundException", logs.delete_log_group, logGroupName="/ecs/web")
    assert_error("ResourceNotFoundException", logs.put_retention_policy, logGroupName="/ecs/web",
                 retentionInDays=1)
    assert_error("ResourceNotFoundException", logs.list_tags_for_resource, resourceArn=arn)
    assert_error("ResourceNotFoundException", logs.describe_log_streams, logGroupName="/ecs/web")
    assert_error("ResourceNotFoundException", logs.get_log_events, logGroupName="/ecs/worker",
                 logStreamName="nope")
    # An operation of the model KECS does not serve says so.
    message = assert_error("UnknownOperationException", logs.create_log_stream,
                           logGroupName="/ecs/worker", logStreamName="s")
    assert "CreateLogStream" in message


def register(ecs, family, options, command):
    return ecs.register_task_definition(
        family=family,
        containerDefinitions=[{
            "name": "app", "image": IMAGE, "memory": 32, "essential": True, "stopTimeout": 1,
            "command": ["sh", "-c", command],
            "logConfiguration": {"logDriver": "awslogs", "options": options},
        }],
    )["taskDefinition"]["taskDefinitionArn"]


def run_to_stop(ecs, cluster, family):
    arn = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig=WAIT)
    return ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]


def test_a_tasks_awslogs_output_is_a_stream_of_its_group(docker_server, aws_docker):
    ecs = docker_server.client()
    logs = logs_client(docker_server.api_url)
    ecs.create_cluster(clusterName="logs")
    register(ecs, "echo", {"awslogs-group": "/ecs/echo", "awslogs-region": REGION,
                           "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"},
             "echo first line; echo 'ERROR: disk full'; sleep 1; echo third; echo 'WARN: slow'")
    task = run_to_stop(ecs, "logs", "echo")
    assert task["stopCode"] == "EssentialContainerExited", task.get("stoppedReason")
    task_id = task["taskArn"].rsplit("/", 1)[1]
    stream = f"ecs/app/{task_id}"

    # awslogs-create-group created the group; the container is its stream.
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/ecs/echo"]
    streams = logs.describe_log_streams(logGroupName="/ecs/echo")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [stream]
    assert streams[0]["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/echo:log-stream:{stream}"
    assert streams[0]["firstEventTimestamp"] <= streams[0]["lastEventTimestamp"]
    assert streams[0]["creationTime"] <= streams[0]["firstEventTimestamp"]

    got = logs.get_log_events(logGroupName="/ecs/echo", logStreamName=stream, startFromHead=True)
    lines = ["first line", "ERROR: disk full", "third", "WARN: slow"]
    assert [e["message"] for e in got["events"]] == lines
    stamps = [e["timestamp"] for e in got["events"]]
    assert stamps == sorted(stamps) and stamps[2] - stamps[0] >= 900, "the engine's times, in ms"
    # At the end the forward token comes back unchanged: that is how clients stop.
    again = logs.get_log_events(logGroupName="/ecs/echo", logStreamName=stream,
                                nextToken=got["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == got["nextForwardToken"]
    # The tail by default; the backward token pages towards the head.
    last = logs.get_log_events(logGroupName="/ecs/echo", logStreamName=stream, limit=2)
    assert [e["message"] for e in last["events"]] == lines[2:]
    before = logs.get_log_events(logGroupName="/ecs/echo", logStreamName=stream, limit=2,
                                 nextToken=last["nextBackwardToken"])
    assert [e["message"] for e in before["events"]] == lines[:2]
    later = logs.get_log_events(logGroupName="/ecs/echo", logStreamName=stream, startTime=stamps[2])
    assert [e["message"] for e in later["events"]] == lines[2:]

    # FilterLogEvents: patterns of terms, stable 56-digit event IDs, pages by nextToken.
    errors = logs.filter_log_events(logGroupName="/ecs/echo", filterPattern="ERROR")["events"]
    assert [(e["message"], e["logStreamName"]) for e in errors] == [("ERROR: disk full", stream)]
    assert re.fullmatch(r"\d{56}", errors[0]["eventId"])
    either = logs.filter_log_events(logGroupName="/ecs/echo", filterPattern="?ERROR ?WARN")["events"]
    assert [e["message"] for e in either] == ["ERROR: disk full", "WARN: slow"]
    page = logs.filter_log_events(logGroupName="/ecs/echo", limit=3)
    rest = logs.filter_log_events(logGroupName="/ecs/echo", limit=3, nextToken=page["nextToken"])
    assert [e["message"] for e in page["events"] + rest["events"]] == lines
    assert "nextToken" not in rest
    assert errors[0]["eventId"] == page["events"][1]["eventId"]
    assert_error("InvalidParameterException", logs.filter_log_events, logGroupName="/ecs/echo",
                 filterPattern='{ $.level = "error" }')

    # The AWS CLI reads the same.
    cli = aws_docker("get-log-events", "--log-group-name", "/ecs/echo", "--log-stream-name", stream,
                     "--start-from-head", service="logs")
    assert [e["message"] for e in cli["events"]] == lines


def test_without_a_prefix_the_stream_is_the_container_id_and_a_missing_group_fails_the_task(
        docker_server):
    ecs = docker_server.client()
    logs = logs_client(docker_server.api_url)
    ecs.create_cluster(clusterName="nogroup")
    register(ecs, "missing-group", {"awslogs-group": "/ecs/absent"}, "echo never")
    task = run_to_stop(ecs, "nogroup", "missing-group")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("ResourceInitializationError: ")
    assert "The specified log group does not exist." in task["stoppedReason"]
    assert_error("ResourceNotFoundException", logs.describe_log_streams, logGroupName="/ecs/absent")

    logs.create_log_group(logGroupName="/ecs/bare")
    register(ecs, "bare", {"awslogs-group": "/ecs/bare"}, "echo hello")
    task = run_to_stop(ecs, "nogroup", "bare")
    runtime_id = task["containers"][0]["runtimeId"]
    streams = logs.describe_log_streams(logGroupName="/ecs/bare")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [runtime_id]
    events = logs.get_log_events(logGroupName="/ecs/bare", logStreamName=runtime_id)["events"]
    assert [e["message"] for e in events] == ["hello"]


def test_following_a_running_task_as_aws_logs_tail_follow_does(docker_server):
    """`aws logs tail --follow` (AWS CLI v2) polls FilterLogEvents from the last event's time and
    drops the event IDs it has already shown: new lines must arrive, none twice."""
    ecs = docker_server.client()
    logs = logs_client(docker_server.api_url)
    ecs.create_cluster(clusterName="follow")
    logs.create_log_group(logGroupName="/ecs/ticks")
    register(ecs, "ticks", {"awslogs-group": "/ecs/ticks", "awslogs-stream-prefix": "t"},
             'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.3; done')
    arn = ecs.run_task(cluster="follow", taskDefinition="ticks")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="follow", tasks=[arn], WaiterConfig=WAIT)
    shown, seen_ids, start = [], set(), 0
    deadline = time.monotonic() + 30
    while len(shown) < 8 and time.monotonic() < deadline:
        kwargs = {"logGroupName": "/ecs/ticks", "startTime": start, "interleaved": True}
        while True:
            page = logs.filter_log_events(**kwargs)
            for e in page["events"]:
                if e["eventId"] not in seen_ids:
                    seen_ids.add(e["eventId"])
                    shown.append(e["message"])
                    start = max(start, e["timestamp"])
            if "nextToken" not in page:
                break
            kwargs["nextToken"] = page["nextToken"]
        time.sleep(0.5)
    ecs.stop_task(cluster="follow", task=arn)
    assert shown[:8] == [f"tick {i}" for i in range(8)], shown

