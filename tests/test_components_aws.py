"""AWS components built alone from their narrow arguments (no stack file, no Platform), under the recorder's mocks.

Each test builds one component the way its adapter would, with the facts that matter to it set by hand, and checks
what AWS documents those facts to mean: a protected RDS instance keeps a final snapshot and refuses deletion, a Redis
group with a replica fails over to another AZ, a worker registers with no load balancer, secrets reach a container
only as Secrets Manager references.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.cache import Cache, CacheArgs
from components.aws.database import Database, DatabaseArgs
from components.aws.key import StackKey, StackKeyArgs
from components.aws.policy import Account, document
from components.aws.proxy import Proxy, ProxyArgs, RoutedPath, Target
from components.aws.secret_store import SecretStore, SecretStoreArgs
from components.aws.service import Service, ServiceArgs
from components.aws.site import Site
from config import model
from tests.harness import Graph, Resource, contains_secret_marker, provided, reveal, run_components

PREFIX = "ct"
RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SUBNETS = ["subnet-a", "subnet-b"]


def site(protect_data: bool = False, production: bool = False) -> Site:
    """What every part of a stack shares, with a real stack key built from its own narrow arguments."""
    key = StackKey("key", StackKeyArgs(prefix=PREFIX, protect=protect_data))
    return Site(prefix=PREFIX, production=production, protect_data=protect_data, log_retention_days=14, key=key,
                account=Account(key))


def arn(resource: Resource) -> str:
    """The ARN the recorder's mocks gave a created resource (its format is checked in tests/test_mocks.py)."""
    return provided(resource, "arn")


# --------------------------------------------------------------------------------------------------- Database


def database(protect_data: bool, settings: model.Database | None = None) -> Graph:
    def build() -> None:
        Database("db", DatabaseArgs(
            settings=settings or model.Database(), password=pulumi.Output.secret("pw-database"),
            site=site(protect_data=protect_data), subnet_ids=SUBNETS, security_group_id="sg-db", multi_az=False))

    return run_components(build)


def test_protected_database_keeps_a_final_snapshot_and_refuses_deletion():
    instance = database(protect_data=True).one(RDS)
    # `pulumi destroy` stops at it, and so does the RDS API (DeletionProtection)
    assert instance.protect is True
    assert instance.get("deletionProtection") is True
    # RDS takes a final snapshot on delete unless SkipFinalSnapshot, and then needs its identifier
    assert instance.get("skipFinalSnapshot") is False
    assert instance.get("finalSnapshotIdentifier") == f"{PREFIX}-postgres-final"
    # automated backups outlive the instance
    assert instance.get("deleteAutomatedBackups") is False


def test_unprotected_database_can_be_deleted_without_a_snapshot():
    instance = database(protect_data=False).one(RDS)
    assert instance.protect is False
    assert instance.get("deletionProtection") is False
    assert instance.get("skipFinalSnapshot") is True
    assert instance.get("finalSnapshotIdentifier") is None
    assert instance.get("deleteAutomatedBackups") is True


def test_protected_database_lifted_for_a_restore_says_so():
    settings = model.Database(restoreFromSnapshot="ct-postgres-before", allowProtectedReplacement=True)
    instance = database(protect_data=True, settings=settings).one(RDS)
    assert instance.protect is False and instance.get("deletionProtection") is False
    # still snapshotted on the way out: the data matters even when a replacement was asked for
    assert instance.get("skipFinalSnapshot") is False
    assert instance.get("snapshotIdentifier") == "ct-postgres-before"
    assert instance.get("tags")["twinstack:allowProtectedReplacement"] == "true"
    # the identifier is fixed, so the old instance must go before the restored one can take its name
    assert instance.delete_before_replace is True


def test_database_password_and_url_stay_secret():
    graph = database(protect_data=False)
    assert graph.one(RDS).is_secret("password")
    connection = graph.one(VERSION, "db-connection")
    assert connection.is_secret("secretString")
    assert json.loads(connection.get("secretString"))["url"].startswith("postgresql://")


# ------------------------------------------------------------------------------------------------------ Cache


def cache(replicas: int, version: str = "7") -> Graph:
    def build() -> None:
        node_ids = [f"{PREFIX}-redis-{i + 1:03d}" for i in range(1 + replicas)]
        Cache("cache", CacheArgs(
            settings=model.Cache(version=version), password=pulumi.Output.secret("pw-cache-token"), site=site(),
            subnet_ids=SUBNETS, security_group_id="sg-cache", replicas=replicas, node_ids=node_ids))

    return run_components(build)


def test_cache_with_a_replica_fails_over_to_another_az():
    group = cache(replicas=1).one(REDIS)
    # one primary and one replica; ElastiCache's Multi-AZ requires automatic failover and at least one replica
    assert group.get("numCacheClusters") == 2
    assert group.get("automaticFailoverEnabled") is True
    assert group.get("multiAzEnabled") is True


def test_cache_without_replicas_has_nothing_to_fail_over_to():
    group = cache(replicas=0).one(REDIS)
    assert group.get("numCacheClusters") == 1
    assert group.get("automaticFailoverEnabled") is False
    assert group.get("multiAzEnabled") is False


@pytest.mark.parametrize("version", ["6.0", "7"])
def test_cache_is_tls_only_with_an_auth_token(version):
    group = cache(replicas=0, version=version).one(REDIS)
    # an AUTH token needs in-transit encryption; ElastiCache rotates it without dropping clients under ROTATE
    assert group.get("transitEncryptionEnabled") is True
    assert group.is_secret("authToken") and group.get("authTokenUpdateStrategy") == "ROTATE"
    assert group.get("atRestEncryptionEnabled") is True


def test_redis_6_0_gets_no_transit_encryption_mode():
    # TransitEncryptionMode (preferred/required) exists from Redis OSS 7.0.5 on; 6.0 refuses the parameter
    old, new = cache(replicas=0, version="6.0").one(REDIS), cache(replicas=0, version="7").one(REDIS)
    assert old.get("transitEncryptionMode") is None
    assert new.get("transitEncryptionMode") == "required"
    # the engine log is delivered from Redis 6.2 on; 6.0 delivers only its slow log
    assert [c["logType"] for c in old.get("logDeliveryConfigurations")] == ["slow-log"]
    assert {c["logType"] for c in new.get("logDeliveryConfigurations")} == {"slow-log", "engine-log"}


# -------------------------------------------------------------------------------------------------- SecretStore


def secret_store(protect_data: bool) -> Graph:
    def build() -> None:
        store = SecretStore("app-secrets", SecretStoreArgs(
            site=site(protect_data=protect_data),
            values={"SESSION_KEY": pulumi.Output.secret("s3cret-session"), "API_TOKEN": pulumi.Output.secret("t0k")}))
        pulumi.export("references", {k: s.reference for k, s in store.env.items()})

    return run_components(build)


@pytest.mark.parametrize("protect_data,recovery_days", [(False, 7), (True, 30)])
def test_secret_store_keeps_each_secret_encrypted_and_recoverable(protect_data, recovery_days):
    graph = secret_store(protect_data)
    secrets = {s.get("namePrefix"): s for s in graph.of_type(SECRET)}
    assert set(secrets) == {f"{PREFIX}/app/SESSION_KEY-", f"{PREFIX}/app/API_TOKEN-"}
    for secret in secrets.values():
        assert secret.get("kmsKeyId") == arn(graph.one("aws:kms/key:Key"))
        # Secrets Manager waits 7 to 30 days before deleting a secret for good
        assert secret.get("recoveryWindowInDays") == recovery_days
    versions = graph.of_type(VERSION)
    assert len(versions) == 2 and all(v.is_secret("secretString") for v in versions)
    assert {v.get("secretString") for v in versions} == {"s3cret-session", "t0k"}


def test_secret_store_references_pin_a_version():
    graph = secret_store(protect_data=False)
    references = graph.outputs["references"]
    by_name = {s.get("namePrefix").split("/")[-1].rstrip("-"): s for s in graph.of_type(SECRET)}
    assert set(references) == set(by_name)
    for env_name, reference in references.items():
        # ECS valueFrom: <secret arn>:<json key>:<version stage>:<version id>; the whole secret, by version id
        secret_arn, json_key, stage, version = reference.rsplit(":", 3)
        assert secret_arn == arn(by_name[env_name])
        assert (json_key, stage) == ("", "") and version


# ---------------------------------------------------------------------------------------------------- Service


def worker_graph() -> Graph:
    def build() -> None:
        shared = site()
        store = SecretStore("app-secrets", SecretStoreArgs(
            site=shared, values={"QUEUE_TOKEN": pulumi.Output.secret("queue-t0ken")}))
        cluster = aws.ecs.Cluster("cluster", name=PREFIX)
        namespace = aws.servicediscovery.HttpNamespace("namespace", name=f"{PREFIX}-services")
        worker = model.Service.model_validate({
            "name": "worker", "image": "example/worker:1", "command": ["run-worker"], "secrets": ["QUEUE_TOKEN"],
            "env": {"QUEUE": "jobs"}, "healthCheck": {"command": ["CMD", "test", "-f", "/tmp/alive"]}})
        Service("svc-worker", ServiceArgs(
            settings=worker, site=shared, cluster=cluster, namespace=namespace, subnet_ids=SUBNETS,
            security_group_id="sg-app", bindings={}, secrets=store.env, after=[]))

    return run_components(build)


@pytest.fixture(scope="module")
def worker() -> Graph:
    return worker_graph()


def containers(graph: Graph) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(graph.one(TASK).get("containerDefinitions"))}


def test_worker_listens_on_nothing_and_sits_behind_no_load_balancer(worker):
    container = containers(worker)["worker"]
    assert "portMappings" not in container
    assert container["healthCheck"]["command"] == ["CMD", "test", "-f", "/tmp/alive"]
    service = worker.one(ECS_SERVICE)
    assert service.get("loadBalancers") in (None, [])
    # ECS accepts a grace period only for a service with a load balancer
    assert service.get("healthCheckGracePeriodSeconds") is None
    # a Service Connect client: it reaches the others by name and offers no endpoint of its own
    connect = service.get("serviceConnectConfiguration")
    assert connect["enabled"] is True and not connect.get("services")
    assert service.get("networkConfiguration")["assignPublicIp"] is False


def test_worker_gets_its_secrets_only_as_references(worker):
    container = containers(worker)["worker"]
    secret = worker.one(SECRET)
    assert [s["name"] for s in container["secrets"]] == ["QUEUE_TOKEN"]
    reference = container["secrets"][0]
    assert set(reference) == {"name", "valueFrom"}
    assert reference["valueFrom"].startswith(f"{arn(secret)}:")
    # the plain environment holds settings only: the value itself appears nowhere in the task definition
    assert {e["name"] for e in container["environment"]} == {"SERVICE_NAME", "QUEUE"}
    assert "queue-t0ken" not in worker.one(TASK).get("containerDefinitions")
    assert not contains_secret_marker(worker.one(TASK).inputs["containerDefinitions"])


def test_worker_execution_role_reads_exactly_its_secret(worker):
    policy = json.loads(worker.one(ROLE_POLICY, "execution-policy").get("policy"))
    reads = [s for s in policy["Statement"] if s["Action"] == "secretsmanager:GetSecretValue"]
    secret = worker.one(SECRET)
    assert [s["Resource"] for s in reads] == [[arn(secret)]]
    # neither storage nor ECS Exec: no task role, so the app's tasks get no AWS credentials at all
    assert worker.one(TASK).get("taskRoleArn") is None
    assert not [r for r in worker.of_type("aws:iam/role:Role") if "task-role" in r.name]


# ----------------------------------------------------------------------------------------------------- policy


def test_policy_document_serialises_resolved_outputs_in_place():
    def build() -> None:
        arn = pulumi.Output.from_input("arn:aws:s3:::bucket")
        doc = document([{"Effect": "Allow", "Action": ["s3:GetObject"],
                         "Resource": [arn, pulumi.Output.concat(arn, "/*")],
                         "Condition": {"StringEquals": {"aws:SourceAccount": pulumi.Output.secret("123456789012")}}}])
        pulumi.export("document", doc)

    exported = run_components(build).outputs["document"]
    assert contains_secret_marker(exported)  # a secret leaf keeps the whole document secret
    plain = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"],
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}
    assert reveal(exported) == json.dumps(plain, sort_keys=True)


# ------------------------------------------------------------------------------------------------------ Proxy


def test_proxy_evaluates_the_more_specific_route_first():
    def build() -> None:
        services = [model.Service.model_validate({"name": "web", "image": "web:1", "port": 3000,
                                                  "healthCheck": {"path": "/health"}}),
                    model.Service.model_validate({"name": "api", "image": "api:1", "port": 8000,
                                                  "healthCheck": {"command": ["CMD", "true"]}})]
        proxy = model.Proxy.model_validate({"allowHttp": True, "routes": [
            {"path": "/", "service": "web"}, {"path": "/api", "service": "api", "stripPrefix": True}]})
        Proxy("proxy", ProxyArgs(
            settings=proxy, site=site(), alb_name=f"{PREFIX}-alb", subnet_ids=SUBNETS, security_group_id="sg-alb",
            vpc_id="vpc-1", targets=[Target(service=s, target_group_name=f"{PREFIX}-{s.name}") for s in services],
            routes=[RoutedPath(route=proxy.routes[0], service="web", path_patterns=["/*"]),
                    RoutedPath(route=proxy.routes[1], service="api", path_patterns=["/api", "/api/*"])]))

    graph = run_components(build)
    rules = {r.get("priority"): r for r in graph.of_type("aws:lb/listenerRule:ListenerRule")}
    # the ALB evaluates rules from the lowest priority up: `/api` must win over the catch-all `/`
    assert sorted(rules) == [10, 20]
    assert rules[10].get("conditions")[0]["pathPattern"]["values"] == ["/api", "/api/*"]
    assert rules[20].get("conditions")[0]["pathPattern"]["values"] == ["/*"]
    assert rules[10].get("transforms")[0]["urlRewriteConfig"]["rewrite"] == {"regex": "^/api/?(.*)$",
                                                                              "replace": "/$1"}
    assert rules[20].get("transforms") is None
    # no TLS: port 80 answers the routes itself, and anything unrouted gets a 404
    listener = graph.one("aws:lb/listener:Listener")
    assert listener.get("port") == 80 and listener.get("protocol") == "HTTP"
    assert listener.get("defaultActions")[0]["fixedResponse"]["statusCode"] == "404"
    # a command-checked service's target group accepts any non-5xx answer on `/`
    api = graph.one("aws:lb/targetGroup:TargetGroup", "proxy-api")
    assert api.get("healthCheck")["path"] == "/" and api.get("healthCheck")["matcher"] == "200-499"
    assert graph.one("aws:lb/loadBalancer:LoadBalancer").get("enableDeletionProtection") is False
