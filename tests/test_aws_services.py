"""ECS on the recorded graphs: task definitions checked against botocore's ECS model, the env and secret contract,
roles and their policies, ECS services, Service Connect names, autoscaling, ECR builds, and the container health
check run for real against a local HTTP server."""

from __future__ import annotations

import copy
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator

from components.aws.service import EXEC_CHANNEL_ACTIONS, health_check
from config import model
from tests.harness import Graph, Resource, contains_secret_marker, provided, run_stack

TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"
EXEC_CHANNELS = set(EXEC_CHANNEL_ACTIONS)
REGISTER_FIELDS = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu",
                   "memory", "runtimePlatform", "volumes")


@pytest.fixture(scope="module", params=["staging", "prod", "rich_graph"])
def graph(request) -> Graph:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def register_shape():
    return botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape


def task(graph: Graph, service: str) -> Resource:
    return graph.one(TASK, f"-{service}-task")


def containers(graph: Graph, service: str) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(task(graph, service).get("containerDefinitions"))}


def ecs_service(graph: Graph, service: str) -> Resource:
    return graph.one(SERVICE, f"-{service}-service")


def register_request(td: Resource) -> dict:
    """The RegisterTaskDefinition call the provider makes for this task definition."""
    request = {k: td.get(k) for k in REGISTER_FIELDS if td.get(k) is not None}
    request["containerDefinitions"] = json.loads(td.get("containerDefinitions"))
    return request


def policy_of(graph: Graph, role_part: str) -> list[dict]:
    return json.loads(graph.one(ROLE_POLICY, role_part).get("policy"))["Statement"]


# ------------------------------------------------------------------------------------------- botocore ECS model


def test_task_definitions_validate_against_the_ecs_api_model(graph, register_shape):
    tasks = graph.of_type(TASK)
    assert tasks
    for td in tasks:
        report = ParamValidator().validate(register_request(td), register_shape)
        assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("breakage", ["essential", "port", "health", "typo", "secret"])
def test_a_broken_task_definition_fails_the_same_validation(prod, register_shape, breakage):
    request = copy.deepcopy(register_request(task(prod, "demo")))
    main = request["containerDefinitions"][-1]
    if breakage == "essential":
        main["essential"] = "yes"
    elif breakage == "port":
        main["portMappings"][0]["containerPort"] = "8000"
    elif breakage == "health":
        main["healthCheck"]["interval"] = "10s"
    elif breakage == "typo":
        main["readOnlyRootFilesystem"] = main.pop("readonlyRootFilesystem")
    else:
        main["secrets"][0] = {"name": "DATABASE_URL", "value": "postgresql://u:p@h/db"}
    assert ParamValidator().validate(request, register_shape).has_errors()


def test_container_definitions_hang_together(graph):
    for td in graph.of_type(TASK):
        defs = json.loads(td.get("containerDefinitions"))
        names = [c["name"] for c in defs]
        assert len(set(names)) == len(names)
        essential = [c for c in defs if c["essential"]]
        assert len(essential) == 1
        for dep in essential[0].get("dependsOn", []):
            target = next(c for c in defs if c["name"] == dep["containerName"])
            assert dep["condition"] == "SUCCESS" and target["essential"] is False
        volumes = {v["name"] for v in td.get("volumes") or []}
        assert all(m["sourceVolume"] in volumes for c in defs for m in c["mountPoints"])
        hc = essential[0]["healthCheck"]
        assert 5 <= hc["interval"] <= 300 and 2 <= hc["timeout"] < hc["interval"] and 1 <= hc["retries"] <= 10


# ------------------------------------------------------------------------------------------ task definitions


@pytest.mark.parametrize("stack, cpu, memory, arch", [("staging", "256", "512", "ARM64"),
                                                      ("prod", "512", "1024", "ARM64")])
def test_fargate_size_and_platform_from_config(request, stack, cpu, memory, arch):
    td = task(request.getfixturevalue(stack), "demo")
    assert (td.get("cpu"), td.get("memory")) == (cpu, memory)
    assert td.get("requiresCompatibilities") == ["FARGATE"] and td.get("networkMode") == "awsvpc"
    assert td.get("runtimePlatform") == {"operatingSystemFamily": "LINUX", "cpuArchitecture": arch}
    assert td.get("family") == f"{stack}-demo"


def test_x86_is_the_default_architecture(rich_graph):
    assert task(rich_graph, "worker").get("runtimePlatform")["cpuArchitecture"] == "X86_64"
    assert task(rich_graph, "frontend").get("runtimePlatform")["cpuArchitecture"] == "ARM64"


def test_task_and_execution_roles_are_separate(graph):
    arns = {provided(r, "arn"): r.name for r in graph.of_type(ROLE)}
    for td in graph.of_type(TASK):
        assert arns[td.get("executionRoleArn")].endswith("-execution-role")
        assert td.get("taskRoleArn") is None or arns[td.get("taskRoleArn")].endswith("-task-role")


def test_only_services_with_something_to_grant_get_a_task_role(rich_graph):
    # api uses storage (its task role may use the bucket); the others call no AWS API, so get no credentials at all
    roles = {name: task(rich_graph, name).get("taskRoleArn") for name in ("api", "worker", "frontend")}
    api_role = provided(rich_graph.one(ROLE, "api-task-role"), "arn")
    assert api_role.startswith("arn:aws:iam::123456789012:role/")
    assert roles == {"api": api_role, "worker": None, "frontend": None}
    assert len([r for r in rich_graph.of_type(ROLE) if r.name.endswith("-task-role")]) == 1


def test_service_roles_trust_only_ecs_tasks_of_this_account(graph):
    for role in graph.of_type(ROLE):
        if "-services-" in role.name:
            trust = json.loads(role.get("assumeRolePolicy"))["Statement"]
            assert trust == [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                              "Action": "sts:AssumeRole",
                              "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]


def test_logs_go_to_the_services_own_group_with_retention(prod, staging):
    for graph, days in ((prod, 90), (staging, 14)):
        group = graph.one("aws:cloudwatch/logGroup:LogGroup", "services-demo-logs")
        assert group.get("retentionInDays") == days and group.get("kmsKeyId")
        stack = graph.stack
        for c in containers(graph, "demo").values():
            assert c["logConfiguration"] == {"logDriver": "awslogs", "options": {
                "awslogs-group": f"/twinstack/{stack}/services/demo", "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "app" if c["name"] == "demo" else c["name"]}}  # a one-off: its own name


def test_hardening_where_configured(prod, rich_graph):
    demo = containers(prod, "demo")["demo"]
    assert demo["user"] == "10001" and demo["readonlyRootFilesystem"] is True and demo["privileged"] is False
    # a read-only root still needs a writable /tmp: a Fargate ephemeral volume (Fargate has no tmpfs)
    assert {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False} in demo["mountPoints"]
    worker = containers(rich_graph, "worker")["worker"]
    assert "user" not in worker and worker["readonlyRootFilesystem"] is False and worker["mountPoints"] == []
    api = containers(rich_graph, "api")["api"]
    assert {m["containerPath"] for m in api["mountPoints"]} == {"/app/static", "/tmp"}


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def secrets_of(container: dict) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for s in container["secrets"]}


def test_env_contract_is_the_same_as_on_docker(prod):
    demo = containers(prod, "demo")["demo"]
    host = provided(prod.one("aws:rds/instance:Instance"), "address")
    bucket = provided(prod.one("aws:s3/bucket:Bucket", "storage-bucket"), "bucket")
    assert env_of(demo) == {
        "PORT": "8000", "SERVICE_NAME": "demo", "LOG_LEVEL": "warning",
        "PGHOST": host, "PGPORT": "5432", "PGDATABASE": "demo", "PGUSER": "demo",
        "STORAGE_URL": f"s3://{bucket}", "STORAGE_BUCKET": bucket,
    }
    assert host.endswith(".us-east-1.rds.amazonaws.com") and bucket.startswith("prod-workspace-")
    assert set(secrets_of(demo)) == {"DATABASE_URL", "PGPASSWORD", "REDIS_URL", "SESSION_SECRET"}


def test_each_service_gets_only_the_parts_it_uses(rich_graph):
    worker = containers(rich_graph, "worker")["worker"]
    assert set(secrets_of(worker)) == {"AMQP_URL"}
    assert set(env_of(worker)) == {"PORT", "SERVICE_NAME"}
    frontend = containers(rich_graph, "frontend")["frontend"]
    assert secrets_of(frontend) == {} and env_of(frontend)["API_URL"] == "http://api:8000"
    # an optional secret that is not set is left out (with a warning), not passed empty
    assert "OPENAI_API_KEY" not in secrets_of(containers(rich_graph, "api")["api"])


def test_secrets_are_pinned_references_never_values(graph):
    versions = {v.get("secretId"): v for v in graph.of_type("aws:secretsmanager/secretVersion:SecretVersion")}
    secrets = {provided(s): s for s in graph.of_type("aws:secretsmanager/secret:Secret")}
    secret_values = set()
    for v in versions.values():
        raw = v.get("secretString")
        secret_values.add(raw)
        if raw.startswith("{"):
            secret_values.update(json.loads(raw).values())
    for td in graph.of_type(TASK):
        assert not td.is_secret("containerDefinitions")
        text = td.get("containerDefinitions")
        assert not [s for s in secret_values if s in text]
        for c in json.loads(text):
            for name, ref in secrets_of(c).items():
                arn, json_key, stage, version_id = ref.rsplit(":", 3)
                assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:"), ref
                assert stage == "" and version_id == provided(versions[arn], "versionId"), (name, ref)
                secret = secrets[arn].name
                assert json_key == ("" if "app-secrets" in secret else {"PGPASSWORD": "password"}.get(name, "url"))


def test_migration_runs_first_as_an_init_container(prod, rich_graph):
    defs = containers(prod, "demo")
    migrate, demo = defs["migrate"], defs["demo"]
    assert migrate["essential"] is False and migrate["command"] == ["python", "app.py", "migrate"]
    assert migrate["image"] == demo["image"] and migrate["secrets"] == demo["secrets"]
    # after the volumes are prepared (tests/test_volume_ownership.py), then the migration
    assert demo["dependsOn"] == [{"containerName": "prepare-volumes", "condition": "SUCCESS"},
                                 {"containerName": "migrate", "condition": "SUCCESS"}]
    assert migrate["dependsOn"] == [{"containerName": "prepare-volumes", "condition": "SUCCESS"}]
    assert "migrate" not in containers(rich_graph, "worker")
    assert "dependsOn" not in containers(rich_graph, "worker")["worker"]


def test_commands_and_command_health_checks(rich_graph):
    worker = containers(rich_graph, "worker")["worker"]
    assert worker["command"] == ["celery", "worker"]
    assert worker["healthCheck"]["command"] == ["CMD", "celery", "inspect", "ping"]
    assert "appProtocol" not in worker["portMappings"][0]
    assert containers(rich_graph, "api")["api"]["portMappings"] == [
        {"name": "api", "containerPort": 8000, "protocol": "tcp", "appProtocol": "http"}]


# ---------------------------------------------------------------------------------------- the health check, run


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def health_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def only_clients(tmp_path: Path, names: list[str]) -> str:
    """A PATH holding just these HTTP clients (and nothing else), like a slim image."""
    for name in names:
        # the interpreter itself, not a version manager's shim that needs more of PATH
        found = os.path.realpath(sys.executable) if name == "python3" else shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed here")
        (tmp_path / name).symlink_to(found)
    return str(tmp_path)


@pytest.mark.parametrize("clients", [["wget"], ["curl"], ["python3"], ["node"], []])
def test_health_check_falls_back_to_whatever_client_the_image_has(health_server, tmp_path, clients):
    svc = model.Service.model_validate({"name": "probe", "image": "x", "port": health_server.server_port,
                                        "healthCheck": {"path": "/health", "timeoutSeconds": 3}})
    kind, script = health_check(svc)["command"]
    assert kind == "CMD-SHELL"
    env = {"PATH": only_clients(tmp_path, clients), "HOME": str(tmp_path)}

    def probe(status: int) -> int:
        _Health.status = status
        return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, timeout=30).returncode

    assert (probe(200) == 0) is bool(clients)
    assert probe(500) != 0


# ------------------------------------------------------------------------------------------------ ECS services


def test_cluster_has_container_insights_and_a_service_connect_namespace(graph):
    cluster = graph.one("aws:ecs/cluster:Cluster")
    assert cluster.get("settings") == [{"name": "containerInsights", "value": "enabled"}]
    namespace = graph.one("aws:servicediscovery/httpNamespace:HttpNamespace")
    assert cluster.get("serviceConnectDefaults") == {"namespace": provided(namespace, "arn")}


def test_services_run_privately_and_roll_back_failed_deployments(graph):
    private = {provided(s) for s in graph.of_type("aws:ec2/subnet:Subnet") if s.get("tags")["tier"] == "private"}
    for svc in graph.of_type(SERVICE):
        net = svc.get("networkConfiguration")
        assert net["assignPublicIp"] is False and set(net["subnets"]) == private
        assert net["securityGroups"] == [provided(graph.one("aws:ec2/securityGroup:SecurityGroup", "app-sg"))]
        assert svc.get("launchType") == "FARGATE"
        assert svc.get("deploymentCircuitBreaker") == {"enable": True, "rollback": True}
        assert svc.get("deploymentMinimumHealthyPercent") == 100 and svc.get("deploymentMaximumPercent") == 200
        # ECS Exec: on by default outside production, off in it (tests/test_ops.py)
        assert svc.get("enableExecuteCommand") is (graph.stack != "prod") and svc.get("propagateTags") == "SERVICE"
        assert graph.depends_on(svc, graph.one(TASK, svc.name.removesuffix("-service") + "-task"))


def test_short_names_resolve_as_in_dev(rich_graph):
    for name, port in (("api", 8000), ("worker", 9000), ("frontend", 3000)):
        connect = ecs_service(rich_graph, name).get("serviceConnectConfiguration")
        namespace = rich_graph.one("aws:servicediscovery/httpNamespace:HttpNamespace", "services-namespace")
        assert connect["enabled"] is True and connect["namespace"] == provided(namespace, "arn")
        assert connect["services"] == [{"portName": name, "discoveryName": name,
                                        "clientAlias": [{"dnsName": name, "port": port}]}]
        assert connect["logConfiguration"]["logDriver"] == "awslogs"
    assert rich_graph.output("internalUrls") == {"api": "http://api:8000", "worker": "http://worker:9000",
                                                 "frontend": "http://frontend:3000"}


@pytest.mark.parametrize("stack, service, desired, scaled", [
    ("staging", "demo", 1, False), ("prod", "demo", 2, True),
    ("rich_graph", "api", 2, True), ("rich_graph", "worker", 2, False), ("rich_graph", "frontend", 1, False)])
def test_desired_count_is_autoscaling_min_or_replicas(request, stack, service, desired, scaled):
    svc = ecs_service(request.getfixturevalue(stack), service)
    assert svc.get("desiredCount") == desired
    assert svc.ignore_changes == (["desiredCount"] if scaled else [])


def test_target_tracking_on_cpu_and_memory(prod, rich_graph):
    target = prod.one("aws:appautoscaling/target:Target")
    assert (target.get("minCapacity"), target.get("maxCapacity")) == (2, 6)
    assert target.get("resourceId") == "service/prod/demo"
    assert target.get("scalableDimension") == "ecs:service:DesiredCount" and target.get("serviceNamespace") == "ecs"
    policies = {p.get("targetTrackingScalingPolicyConfiguration")["predefinedMetricSpecification"][
        "predefinedMetricType"]: p.get("targetTrackingScalingPolicyConfiguration")["targetValue"]
        for p in prod.of_type("aws:appautoscaling/policy:Policy")}
    assert policies == {"ECSServiceAverageCPUUtilization": 60, "ECSServiceAverageMemoryUtilization": 75}
    assert len(rich_graph.of_type("aws:appautoscaling/policy:Policy")) == 1  # api: cpu only
    assert len(rich_graph.of_type("aws:appautoscaling/target:Target")) == 1


def test_routed_services_attach_after_their_listener_rules(rich_graph):
    for name, port in (("api", 8000), ("frontend", 3000)):
        svc = ecs_service(rich_graph, name)
        [lb] = svc.get("loadBalancers")
        group = rich_graph.one("aws:lb/targetGroup:TargetGroup", f"proxy-{name}")
        assert lb == {"targetGroupArn": provided(group, "arn"),
                      "containerName": name, "containerPort": port}
        rules = [r for r in rich_graph.of_type("aws:lb/listenerRule:ListenerRule")
                 if r.get("actions")[0]["targetGroupArn"] == lb["targetGroupArn"]]
        assert rules and all(rich_graph.depends_on(svc, r) for r in rules)
        assert svc.get("healthCheckGracePeriodSeconds") == 30 + 10 * 5
    worker = ecs_service(rich_graph, "worker")
    assert worker.get("loadBalancers") is None and worker.get("healthCheckGracePeriodSeconds") is None


def test_services_wait_for_their_data_and_dependencies(rich_graph):
    api, worker = ecs_service(rich_graph, "api"), ecs_service(rich_graph, "worker")
    for data in ("aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
                 "aws:mq/broker:Broker", "aws:s3/bucket:Bucket"):
        assert rich_graph.depends_on(api, rich_graph.one(data, "storage-bucket" if "s3" in data else ""))
    assert rich_graph.depends_on(worker, api) and not rich_graph.depends_on(api, worker)
    # like Compose's service_healthy: a service others depend on is created only once it is stable
    assert api.get("waitForSteadyState") is True and worker.get("waitForSteadyState") is False


# ------------------------------------------------------------------------------------------------------- ECR


def test_built_images_go_to_a_scanned_immutable_repository(prod):
    repo = prod.one("aws:ecr/repository:Repository")
    assert repo.get("name") == "prod/demo" and repo.get("imageTagMutability") == "IMMUTABLE"
    assert repo.get("imageScanningConfiguration") == {"scanOnPush": True}
    assert repo.get("encryptionConfigurations") == [{"encryptionType": "KMS",
                                                     "kmsKey": provided(prod.one(KEY), "arn")}]
    assert repo.get("forceDelete") is False and repo.protect
    lifecycle = json.loads(prod.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").get("policy"))
    assert [r["selection"]["tagStatus"] for r in lifecycle["rules"]] == ["untagged", "any"]
    assert all(r["action"] == {"type": "expire"} for r in lifecycle["rules"])


def test_image_is_built_for_the_task_architecture_and_pushed_with_ecr_credentials(prod):
    image = prod.one("docker:index/image:Image")
    assert image.get("build")["platform"] == "linux/arm64"
    assert image.get("build")["context"] == "app" and image.get("build")["dockerfile"] == "app/Dockerfile"
    name = image.get("imageName")
    assert name.startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/prod/demo:") and len(name.split(":")[-1]) == 16
    registry = image.get("registry")
    assert registry["server"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com" and registry["username"] == "AWS"
    assert contains_secret_marker(image.inputs["registry"])
    # the task runs the pushed digest, never a mutable tag
    digest = provided(image, "repoDigest")
    assert re.fullmatch(re.escape(name.rsplit(":", 1)[0]) + "@sha256:[0-9a-f]{64}", digest)
    assert containers(prod, "demo")["demo"]["image"] == digest


def test_image_tag_changes_with_what_shapes_the_image(prod):
    other = run_stack("prod", set={"twinstack:services": [
        {**svc, "build": {"context": "app", "args": {"RELEASE": "2"}}} for svc in _services("prod")]})
    assert other.one("docker:index/image:Image").get("imageName") != prod.one("docker:index/image:Image").get(
        "imageName")


def _services(stack: str) -> list[dict]:
    from tests.harness import ROOT, stack_file_config

    return stack_file_config(ROOT / f"Pulumi.{stack}.yaml")[0]["twinstack:services"]


def test_services_with_the_same_build_and_architecture_share_one_image():
    [demo] = _services("prod")
    worker = {k: v for k, v in demo.items() if k not in ("migration", "autoscaling")}
    graph = run_stack("prod", set={"twinstack:services": [
        demo,
        {**worker, "name": "copy", "port": 8001},  # the same build: runs demo's image
        {**worker, "name": "intel", "port": 8002, "architecture": "x86_64"},  # built again, for its CPU
        {**worker, "name": "release", "port": 8003, "build": {"context": "app", "args": {"RELEASE": "2"}}},
    ]})
    images = {i.get("imageName").split("/", 1)[1].split(":")[0]: i for i in graph.of_type("docker:index/image:Image")}
    assert sorted(images) == ["prod/demo", "prod/intel", "prod/release"]
    assert sorted(r.get("name") for r in graph.of_type("aws:ecr/repository:Repository")) == sorted(images)
    assert images["prod/intel"].get("build")["platform"] == "linux/amd64"
    ref = {name: containers(graph, name)[name]["image"] for name in ("demo", "copy", "intel", "release")}
    assert ref["copy"] == ref["demo"] and len(set(ref.values())) == 3
    # the shared image is pulled from the first service's repository, and only that one
    repo_arn = provided(graph.one("aws:ecr/repository:Repository", "demo-build-repo"), "arn")
    pull = {s.get("Sid"): s for s in policy_of(graph, "services-copy-execution-policy")}["PullOwnImage"]
    assert pull["Resource"] == repo_arn


def test_images_by_reference_are_used_as_given(rich_graph):
    assert containers(rich_graph, "worker")["worker"]["image"] == "ghcr.io/acme/worker:1.2"
    assert len(rich_graph.of_type("docker:index/image:Image")) == 1


# ------------------------------------------------------------------------------------------------------- IAM


def test_role_policies_are_least_privilege(graph):
    policies = graph.of_type(ROLE_POLICY)
    assert policies
    for policy in policies:
        for statement in json.loads(policy.get("policy"))["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert statement["Effect"] == "Allow"
            assert not [a for a in actions if "*" in a], (policy.name, actions)
            if resources == ["*"]:
                # the calls AWS cannot scope to a resource: ECR's login, ECS Exec's session channels
                assert actions == ["ecr:GetAuthorizationToken"] or set(actions) == EXEC_CHANNELS, policy.name
            else:
                assert all(r.startswith("arn:") and r != "*" for r in resources), (policy.name, resources)
            if any(a.startswith("kms:") for a in actions) and statement.get("Sid") != "ExecSessionKey":
                # ECS Exec's agent decrypts its session itself, on the stack's key alone (tests/test_ops.py)
                assert "kms:ViaService" in statement["Condition"]["StringEquals"]


def test_execution_roles_read_exactly_the_secrets_their_service_uses(graph):
    for td in graph.of_type(TASK):
        service = td.name.removeprefix("twinstack-services-").removesuffix("-task")
        used = {ref.rsplit(":", 3)[0] for c in containers(graph, service).values() for ref in secrets_of(c).values()}
        statements = {s.get("Sid"): s for s in policy_of(graph, f"services-{service}-execution-policy")}
        granted = statements["ReadOwnSecrets"]["Resource"] if used else []
        assert set(granted) == used
        group = graph.one("aws:cloudwatch/logGroup:LogGroup", f"services-{service}-logs")
        assert statements["WriteOwnLogs"]["Resource"] == f"{provided(group, 'arn')}:log-stream:*"
        built = graph.of_type("aws:ecr/repository:Repository") and service in ("demo", "api")
        assert ("PullOwnImage" in statements) == bool(built)


def test_only_storage_users_get_the_bucket(rich_graph, prod):
    assert [p.name for p in rich_graph.of_type(ROLE_POLICY) if "storage-policy" in p.name] == [
        "twinstack-services-api-storage-policy"]
    statements = policy_of(prod, "demo-storage-policy")
    bucket_arn = provided(prod.one("aws:s3/bucket:Bucket", "storage-bucket"), "arn")
    assert [s["Resource"] for s in statements] == [bucket_arn, f"{bucket_arn}/*", provided(prod.one(KEY), "arn")]
    assert prod.one(ROLE_POLICY, "demo-storage-policy").get("role") == provided(prod.one(ROLE, "demo-task-role"))
