"""Express Gateway services: CreateExpressGatewayService registers the task definition of the
primary container (Fargate, awsvpc, its port mapped) and creates a service scaled to the
scaling target's minimum; Describe shows it with what KECS does not create said in its status
reason (no load balancer: no ingress paths); Update rolls a new task definition out; Delete
drains it."""
from conftest import assert_error, cluster_arn

ROLE = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole"
INFRA = "arn:aws:iam::000000000000:role/ecsInfrastructureRole"


def test_an_express_service_is_created_described_updated_and_deleted(ecs):
    ecs.create_cluster(clusterName="default")
    created = ecs.create_express_gateway_service(
        serviceName="shop", executionRoleArn=ROLE, infrastructureRoleArn=INFRA,
        primaryContainer={"image": "nginx:latest", "containerPort": 8080,
                          "environment": [{"name": "MODE", "value": "demo"}]},
        scalingTarget={"minTaskCount": 2, "maxTaskCount": 4},
        tags=[{"key": "team", "value": "web"}])["service"]
    arn = created["serviceArn"]
    assert arn.endswith(":service/default/shop")
    assert created["cluster"] == cluster_arn("default")
    assert created["status"]["statusCode"] == "ACTIVE"
    assert "no Application Load Balancer" in created["status"]["statusReason"]
    assert created["infrastructureRoleArn"] == INFRA
    [config] = created["activeConfigurations"]
    assert config["ingressPaths"] == []
    assert config["healthCheckPath"] == "/ping"
    assert config["primaryContainer"]["containerPort"] == 8080
    assert config["serviceRevisionArn"].startswith(arn.replace(":service/", ":service-revision/"))
    service = ecs.describe_services(cluster="default", services=["shop"])["services"][0]
    assert service["desiredCount"] == 2 and service["launchType"] == "FARGATE"
    td = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert td["family"] == "shop" and td["networkMode"] == "awsvpc"
    assert td["requiresCompatibilities"] == ["FARGATE"] and td["executionRoleArn"] == ROLE
    [main] = td["containerDefinitions"]
    assert main["image"] == "nginx:latest"
    assert main["portMappings"][0]["containerPort"] == 8080
    assert main["environment"] == [{"name": "MODE", "value": "demo"}]
    shown = ecs.describe_express_gateway_service(serviceArn=arn, include=["TAGS"])["service"]
    assert shown["tags"] == [{"key": "team", "value": "web"}]
    assert shown["currentDeployment"].startswith(arn.replace(":service/", ":service-deployment/"))
    updated = ecs.update_express_gateway_service(
        serviceArn=arn, primaryContainer={"image": "nginx:1.27"},
        scalingTarget={"minTaskCount": 1, "maxTaskCount": 2})["service"]
    assert updated["targetConfiguration"]["primaryContainer"]["image"] == "nginx:1.27"
    service = ecs.describe_services(cluster="default", services=["shop"])["services"][0]
    assert service["taskDefinition"].endswith("task-definition/shop:2")
    assert service["desiredCount"] == 1
    gone = ecs.delete_express_gateway_service(serviceArn=arn)["service"]
    assert gone["status"]["statusCode"] in ("DRAINING", "INACTIVE")
    assert_error("ServiceNotActiveException", ecs.update_express_gateway_service, serviceArn=arn,
                 cpu="512")


def test_express_services_are_checked_as_ecs_checks_them(ecs):
    ecs.create_cluster(clusterName="default")
    ok = dict(executionRoleArn=ROLE, infrastructureRoleArn=INFRA,
              primaryContainer={"image": "nginx:latest"})
    assert_error("ClusterNotFoundException", ecs.create_express_gateway_service,
                 cluster="nowhere", **ok)
    assert_error("InvalidParameterException", ecs.create_express_gateway_service,
                 scalingTarget={"minTaskCount": 3, "maxTaskCount": 2}, **ok)
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []
    made = ecs.create_express_gateway_service(**ok)["service"]
    assert made["serviceName"].startswith("express-")
    assert made["activeConfigurations"][0]["primaryContainer"]["containerPort"] == 80
    missing = made["serviceArn"] + "x"
    assert_error("ResourceNotFoundException", ecs.describe_express_gateway_service,
                 serviceArn=missing)
    assert_error("ServiceNotFoundException", ecs.delete_express_gateway_service,
                 serviceArn=missing)
    # A plain service is no Express service.
    ecs.register_task_definition(family="plain", containerDefinitions=[
        {"name": "a", "image": "busybox", "memory": 32}])
    plain = ecs.create_service(cluster="default", serviceName="plain", taskDefinition="plain",
                               desiredCount=0)["service"]["serviceArn"]
    assert_error("ResourceNotFoundException", ecs.describe_express_gateway_service,
                 serviceArn=plain)
