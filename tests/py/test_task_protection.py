"""Task scale-in protection (GetTaskProtection, UpdateTaskProtection): a service's task kept
from scale-in and deployments until its protection expires or is turned off; ECS's defaults,
bounds and failures."""
import time

from conftest import assert_error

FAST = {"Delay": 1, "MaxAttempts": 30}


def service_tasks(ecs, desired):
    ecs.create_cluster(clusterName="prot")
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 32}])
    ecs.create_service(cluster="prot", serviceName="web", taskDefinition="web", desiredCount=desired)
    ecs.get_waiter("services_stable").wait(cluster="prot", services=["web"], WaiterConfig=FAST)
    return ecs.list_tasks(cluster="prot", serviceName="web")["taskArns"]


def running(ecs):
    return set(ecs.list_tasks(cluster="prot", serviceName="web", desiredStatus="RUNNING")["taskArns"])


def test_protection_is_reported_with_its_expiry_and_failures(ecs):
    first, second = service_tasks(ecs, 2)
    before = time.time()
    answer = ecs.update_task_protection(cluster="prot", tasks=[first], protectionEnabled=True)
    (p,) = answer["protectedTasks"]
    assert (p["taskArn"], p["protectionEnabled"]) == (first, True)
    expires = p["expirationDate"].timestamp()
    assert before + 7200 - 5 <= expires <= time.time() + 7200 + 5, "two hours by default"
    assert answer["failures"] == []
    ghost = first.rsplit("/", 1)[0] + "/0123456789abcdef0123456789abcdef"
    got = ecs.get_task_protection(cluster="prot", tasks=[first, second, ghost])
    shown = {t["taskArn"]: t for t in got["protectedTasks"]}
    assert shown[first]["protectionEnabled"] is True
    assert shown[second] == {"taskArn": second, "protectionEnabled": False}
    assert got["failures"] == [{"arn": ghost, "reason": "MISSING"}]
    short = ecs.update_task_protection(cluster="prot", tasks=[second], protectionEnabled=True,
                                       expiresInMinutes=5)["protectedTasks"][0]
    assert abs(short["expirationDate"].timestamp() - (time.time() + 300)) < 5


def test_bounds_and_standalone_tasks(ecs):
    (task,) = service_tasks(ecs, 1)
    for minutes in (0, 2881):
        assert_error("InvalidParameterException", ecs.update_task_protection, cluster="prot",
                     tasks=[task], protectionEnabled=True, expiresInMinutes=minutes)
    assert_error("InvalidParameterException", ecs.update_task_protection, cluster="prot",
                 tasks=[task] * 11, protectionEnabled=True)
    assert_error("ClusterNotFoundException", ecs.get_task_protection, cluster="nope", tasks=[task])
    alone = ecs.run_task(cluster="prot", taskDefinition="web")["tasks"][0]["taskArn"]
    failures = ecs.update_task_protection(cluster="prot", tasks=[alone],
                                          protectionEnabled=True)["failures"]
    assert [(f["arn"], f["reason"]) for f in failures] == [(alone, "TASK_NOT_VALID")]


def test_scale_in_spares_a_protected_task_until_protection_ends(ecs):
    tasks = service_tasks(ecs, 3)
    kept = tasks[0]
    ecs.update_task_protection(cluster="prot", tasks=[kept], protectionEnabled=True,
                               expiresInMinutes=60)
    ecs.update_service(cluster="prot", service="web", desiredCount=0)
    deadline = time.monotonic() + 30
    while running(ecs) != {kept}:
        assert time.monotonic() < deadline, running(ecs)
        time.sleep(0.2)
    time.sleep(1)
    assert running(ecs) == {kept}, "the protected task stays"
    ecs.update_task_protection(cluster="prot", tasks=[kept], protectionEnabled=False)
    deadline = time.monotonic() + 30
    while running(ecs):
        assert time.monotonic() < deadline, "scale-in goes on once protection is off"
        time.sleep(0.2)
