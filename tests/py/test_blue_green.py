"""Blue/green service deployments (strategy BLUE_GREEN): the green revision runs beside the
blue one, the deployment walks ECS's lifecycle stages, a PAUSE lifecycle hook holds it until
ContinueServiceDeployment continues it (blue goes, green stays) or rolls it back (green goes),
an AWS_LAMBDA hook is reported SUCCEEDED (no Lambda here) and the settings are checked."""
from conftest import assert_error, td_arn
from test_services import FAST, describe, newest_deployment, setup, wait_until

PAUSE_AFTER_SCALE_UP = {
    "strategy": "BLUE_GREEN",
    "bakeTimeInMinutes": 0,
    "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"],
                        "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"}}],
}


def families(ecs, desired="RUNNING"):
    arns = ecs.list_tasks(cluster="c", serviceName="svc", desiredStatus=desired)["taskArns"]
    if not arns:
        return []
    return sorted(t["taskDefinitionArn"].rsplit("/", 1)[1]
                  for t in ecs.describe_tasks(cluster="c", tasks=arns)["tasks"])


def paused_deployment(ecs):
    setup(ecs, revisions=2)
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web:1", desiredCount=2,
                       deploymentConfiguration=PAUSE_AFTER_SCALE_UP)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    first = wait_until(lambda: (d := newest_deployment(ecs))["status"] == "SUCCESSFUL" and d)
    assert first and "lifecycleStage" not in first, first
    ecs.update_service(cluster="c", service="svc", taskDefinition="web:2")
    paused = wait_until(lambda: (d := newest_deployment(ecs)).get("lifecycleStage") == "POST_SCALE_UP"
                        and d)
    assert paused, newest_deployment(ecs)
    return first, paused


def test_a_pause_hook_holds_green_beside_blue_until_continued(ecs):
    first, paused = paused_deployment(ecs)
    assert paused["status"] == "IN_PROGRESS"
    [hook] = paused["lifecycleHookDetails"]
    assert hook["targetType"] == "PAUSE" and hook["status"] == "AWAITING_ACTION"
    assert hook["timeoutAction"] == "ROLLBACK" and "expiresAt" in hook and "targetArn" not in hook
    assert hook["hookId"].startswith("ecs-pause-")
    assert paused["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    # Green runs beside the whole of blue while the deployment waits.
    assert wait_until(lambda: families(ecs) == ["web:1", "web:1", "web:2", "web:2"]), families(ecs)
    assert newest_deployment(ecs)["lifecycleStage"] == "POST_SCALE_UP"
    assert_error("InvalidParameterException", ecs.continue_service_deployment,
                 serviceDeploymentArn=paused["serviceDeploymentArn"], hookId="ecs-pause-nope")
    arn = paused["serviceDeploymentArn"]
    assert ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"],
                                           action="CONTINUE")["serviceDeploymentArn"] == arn
    done = wait_until(lambda: (d := newest_deployment(ecs))["status"] == "SUCCESSFUL" and d)
    assert done, newest_deployment(ecs)
    assert done["lifecycleStage"] == "CLEAN_UP"
    assert done["lifecycleHookDetails"][0]["status"] == "SUCCEEDED"
    assert wait_until(lambda: families(ecs) == ["web:2", "web:2"]), families(ecs)
    s = describe(ecs)
    assert s["taskDefinition"] == td_arn("web", 2) and s["runningCount"] == 2
    # Nothing waits any more.
    assert_error("InvalidParameterException", ecs.continue_service_deployment,
                 serviceDeploymentArn=arn, hookId=hook["hookId"])
    assert_error("ServiceDeploymentNotFoundException", ecs.continue_service_deployment,
                 serviceDeploymentArn=arn + "0", hookId=hook["hookId"])


def test_a_pause_hook_rolls_the_deployment_back(ecs):
    first, paused = paused_deployment(ecs)
    [hook] = paused["lifecycleHookDetails"]
    ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"],
                                    hookId=hook["hookId"], action="ROLLBACK")
    done = wait_until(lambda: (d := newest_deployment(ecs))["status"] == "ROLLBACK_SUCCESSFUL" and d)
    assert done, newest_deployment(ecs)
    assert done["rollback"]["serviceRevisionArn"] == first["targetServiceRevision"]["arn"]
    assert done["lifecycleHookDetails"][0]["status"] == "FAILED"
    assert wait_until(lambda: families(ecs) == ["web:1", "web:1"]), families(ecs)
    assert describe(ecs)["taskDefinition"] == td_arn("web", 1)


def test_lambda_hooks_are_reported_and_settings_checked(ecs, ecs_raw):
    setup(ecs, revisions=2)
    lam = "arn:aws:lambda:us-east-1:000000000000:function:check"
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0,
              "lifecycleHooks": [{"targetType": "AWS_LAMBDA", "hookTargetArn": lam,
                                  "roleArn": "arn:aws:iam::000000000000:role/hooks",
                                  "lifecycleStages": ["PRE_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"]}]}
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web:1", desiredCount=1,
                       deploymentConfiguration=config)
    ecs.get_waiter("services_stable").wait(cluster="c", services=["svc"], WaiterConfig=FAST)
    kept = describe(ecs)["deploymentConfiguration"]
    assert kept["strategy"] == "BLUE_GREEN" and kept["lifecycleHooks"][0]["hookTargetArn"] == lam
    ecs.update_service(cluster="c", service="svc", taskDefinition="web:2")
    done = wait_until(lambda: (d := newest_deployment(ecs))["status"] == "SUCCESSFUL" and d)
    assert done, newest_deployment(ecs)
    hooks = done["lifecycleHookDetails"]
    assert [h["status"] for h in hooks] == ["SUCCEEDED", "SUCCEEDED"]
    assert {h["targetArn"] for h in hooks} == {lam}
    assert any("KECS runs no Lambda functions" in e["message"] for e in describe(ecs)["events"])
    # An update keeps what it does not change.
    ecs.update_service(cluster="c", service="svc", deploymentConfiguration={"maximumPercent": 200})
    assert describe(ecs)["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    bad = [
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2000},
        {"strategy": "BLUE_GREEN", "lifecycleHooks": [{"targetType": "AWS_LAMBDA",
                                                       "lifecycleStages": ["POST_SCALE_UP"]}]},
        {"strategy": "BLUE_GREEN", "lifecycleHooks": [{"targetType": "PAUSE",
                                                       "lifecycleStages": ["POST_SCALE_UP"],
                                                       "timeoutConfiguration": {"timeoutInMinutes": 0}}]},
    ]
    for config in bad:
        assert_error("InvalidParameterException", ecs_raw.update_service, cluster="c",
                     service="svc", deploymentConfiguration=config)
    assert describe(ecs)["deploymentConfiguration"].get("bakeTimeInMinutes") == 0
