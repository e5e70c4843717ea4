"""The AWS data tier on the recorded graphs: RDS, ElastiCache, Amazon MQ, the S3 workspace, Secrets Manager, the stack
KMS key, protection of stateful resources, and what a service rename or a secret rotation may (not) replace."""

from __future__ import annotations

import json

import pytest

from tests.harness import Graph, contains_secret_marker, fake_outputs, provided, run_stack
from tests.test_aws_variants import rich

RDS = "aws:rds/instance:Instance"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
MQ = "aws:mq/broker:Broker"
BUCKET = "aws:s3/bucket:Bucket"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
KEY_ARN = fake_outputs("aws:kms/key:Key", "twinstack-network-key-kms", {})["arn"]  # the stack key, as the mocks have it
STATEFUL = (RDS, REDIS, MQ, BUCKET, "aws:ecr/repository:Repository", "aws:kms/key:Key")


@pytest.fixture(scope="module")
def staging_broker() -> Graph:
    return run_stack("staging", set={"twinstack:broker": {"version": "3.13", "username": "events"}})


def private_subnets(graph: Graph) -> set[str]:
    return {provided(s) for s in graph.of_type("aws:ec2/subnet:Subnet") if s.get("tags")["tier"] == "private"}


def secret_json(graph: Graph, part: str) -> dict:
    return json.loads(graph.one(VERSION, f"{part}-connection").get("secretString"))


# -------------------------------------------------------------------------------------------------------- RDS


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_rds_baseline(request, stack):
    graph = request.getfixturevalue(stack)
    db = graph.one(RDS)
    assert db.get("engine") == "postgres" and db.get("engineVersion") == "16"
    assert db.get("storageEncrypted") is True and db.get("kmsKeyId") == KEY_ARN and db.get("storageType") == "gp3"
    assert db.get("publiclyAccessible") is False
    assert db.get("autoMinorVersionUpgrade") is True and db.get("allowMajorVersionUpgrade") is False
    assert db.get("copyTagsToSnapshot") is True
    assert db.get("enabledCloudwatchLogsExports") == ["postgresql", "upgrade"]
    for log in ("postgresql", "upgrade"):
        group = graph.one("aws:cloudwatch/logGroup:LogGroup", f"database-{log}-logs")
        assert group.get("name") == f"/aws/rds/instance/{stack}-postgres/{log}"
        assert group.get("retentionInDays") == {"staging": 14, "prod": 90}[stack] and group.get("kmsKeyId") == KEY_ARN
        assert graph.depends_on(db, group)
    assert db.get("performanceInsightsEnabled") is True and db.get("performanceInsightsKmsKeyId") == KEY_ARN
    assert db.get("iamDatabaseAuthenticationEnabled") is True
    assert db.get("monitoringInterval") == 60
    assert db.get("monitoringRoleArn") == provided(graph.one("aws:iam/role:Role", "monitoring-role"), "arn")
    assert db.get("identifier") == f"{stack}-postgres"
    assert db.is_secret("password")
    subnets = graph.one("aws:rds/subnetGroup:SubnetGroup")
    assert set(subnets.get("subnetIds")) == private_subnets(graph)
    assert graph.depends_on(db, subnets)
    assert db.get("vpcSecurityGroupIds") == [provided(graph.one(SECURITY_GROUP, "db-sg"))]


def test_rds_sizes_and_backups_come_from_config(staging, prod):
    assert [prod.one(RDS).get(k) for k in ("instanceClass", "allocatedStorage", "maxAllocatedStorage",
                                           "backupRetentionPeriod")] == ["db.t4g.medium", 50, 500, 14]
    assert [staging.one(RDS).get(k) for k in ("instanceClass", "allocatedStorage", "maxAllocatedStorage",
                                              "backupRetentionPeriod")] == ["db.t4g.micro", 20, 50, 7]


def test_rds_production_is_multi_az_protected_and_snapshotted(prod, staging):
    db = prod.one(RDS)
    assert db.get("multiAz") is True and db.get("deletionProtection") is True
    assert db.get("skipFinalSnapshot") is False and db.get("finalSnapshotIdentifier") == "prod-postgres-final"
    assert db.get("deleteAutomatedBackups") is False
    assert db.protect
    cheap = staging.one(RDS)
    assert cheap.get("multiAz") is False and cheap.get("deletionProtection") is False
    assert cheap.get("skipFinalSnapshot") is True and cheap.get("finalSnapshotIdentifier") is None
    assert not cheap.protect


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_parameter_group_forces_tls(request, stack):
    graph = request.getfixturevalue(stack)
    group = graph.one(PARAMS)
    assert group.get("family") == "postgres16"
    assert group.get("parameters") == [{"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"}]
    assert graph.depends_on(graph.one(RDS), group)


def test_extensions_preload_what_they_need_and_are_recorded(rich_graph):
    params = {p["name"]: p for p in rich_graph.one(PARAMS).get("parameters")}
    # pg_cron must be preloaded (and RDS's default pg_stat_statements kept); pgvector's `vector` needs nothing
    assert params["shared_preload_libraries"]["value"] == "pg_stat_statements,pg_cron"
    assert params["shared_preload_libraries"]["applyMethod"] == "pending-reboot"
    assert params["cron.database_name"]["value"] == "shop"
    assert rich_graph.one(RDS).get("tags") == {"twinstack:pgExtensions": "vector pg_cron"}


def test_database_connection_is_kept_in_secrets_manager(prod):
    stored = secret_json(prod, "database")
    assert stored["url"].startswith("postgresql://demo:pw") and stored["url"].endswith("/demo?sslmode=require")
    assert stored["password"] == prod.one(RDS).get("password")
    assert prod.one(VERSION, "database-connection").is_secret("secretString")
    assert prod.output_is_secret("databaseUrl") and prod.output("databaseUrl") == stored["url"]


# ------------------------------------------------------------------------------------------------ ElastiCache


@pytest.mark.parametrize("stack, nodes", [("staging", 1), ("prod", 2)])
def test_redis_encrypted_with_rotatable_auth_token(request, stack, nodes):
    graph = request.getfixturevalue(stack)
    redis = graph.one(REDIS)
    assert redis.get("engine") == "redis" and redis.get("engineVersion") == "7.1"
    assert redis.get("atRestEncryptionEnabled") is True and redis.get("kmsKeyId") == KEY_ARN
    assert redis.get("transitEncryptionEnabled") is True and redis.get("transitEncryptionMode") == "required"
    assert redis.is_secret("authToken") and redis.get("authTokenUpdateStrategy") == "ROTATE"
    assert redis.get("numCacheClusters") == nodes
    assert redis.get("automaticFailoverEnabled") is (nodes > 1) and redis.get("multiAzEnabled") is (nodes > 1)
    assert redis.get("snapshotRetentionLimit") == {"staging": 1, "prod": 7}[stack]
    assert {c["logType"] for c in redis.get("logDeliveryConfigurations")} == {"slow-log", "engine-log"}
    subnets = graph.one("aws:elasticache/subnetGroup:SubnetGroup")
    assert set(subnets.get("subnetIds")) == private_subnets(graph)
    assert redis.protect is (stack == "prod")
    assert (redis.get("finalSnapshotIdentifier") == "prod-redis-final") is (stack == "prod")


def test_redis_url_is_tls_with_the_token(prod):
    url = secret_json(prod, "cache")["url"]
    primary = provided(prod.one(REDIS), "primaryEndpointAddress")
    assert primary.startswith("master.") and primary.endswith(".use1.cache.amazonaws.com")
    assert url == f"rediss://:{prod.one(REDIS).get('authToken')}@{primary}:6379/0"
    assert prod.output_is_secret("cacheUrl")


# ------------------------------------------------------------------------------------------------- Amazon MQ


def test_broker_private_encrypted_logged(staging_broker, rich_graph):
    for graph, mode, subnets in ((staging_broker, "SINGLE_INSTANCE", 1), (rich_graph, "CLUSTER_MULTI_AZ", 2)):
        broker = graph.one(MQ)
        assert broker.get("engineType") == "RabbitMQ" and broker.get("engineVersion") == "3.13"
        assert broker.get("deploymentMode") == mode
        assert broker.get("publiclyAccessible") is False
        assert len(broker.get("subnetIds")) == subnets and set(broker.get("subnetIds")) <= private_subnets(graph)
        assert broker.get("securityGroups") == [provided(graph.one(SECURITY_GROUP, "broker-sg"))]
        assert broker.get("logs") == {"general": True}
        # Amazon MQ refuses a customer-managed key for RabbitMQ: EncryptionOptions "Does not apply to RabbitMQ brokers"
        # (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-amazonmq-broker-encryptionoptions.html;
        # the API answers "encryptionOptions is not supported for RabbitMQ brokers"). AWS-owned keys encrypt it.
        assert "encryptionOptions" not in broker.inputs
        assert broker.get("autoMinorVersionUpgrade") is True
        assert contains_secret_marker(broker.inputs["users"])
    assert not staging_broker.one(MQ).protect and rich_graph.one(MQ).protect


def test_amqp_url_is_amqps_with_generated_credentials(staging_broker):
    url = secret_json(staging_broker, "broker")["url"]
    password = staging_broker.one(MQ).get("users")[0]["password"]
    [endpoint] = provided(staging_broker.one(MQ), "instances")[0]["endpoints"]
    assert endpoint.startswith("amqps://b-") and endpoint.endswith(".mq.us-east-1.amazonaws.com:5671")
    assert url == endpoint.replace("amqps://", f"amqps://events:{password}@")
    assert staging_broker.output_is_secret("brokerUrl")


# ------------------------------------------------------------------------------------------------------- S3


def bucket_children(graph: Graph, type_: str, bucket_name: str = "storage-bucket"):
    bucket = graph.one(BUCKET, bucket_name)
    return [r for r in graph.of_type(type_) if r.get("bucket") == provided(bucket)]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_workspace_bucket_baseline(request, stack):
    graph = request.getfixturevalue(stack)
    bucket = graph.one(BUCKET, "storage-bucket")
    assert bucket.get("bucketPrefix") == f"{stack}-workspace-"
    assert bucket.get("forceDestroy") is (stack != "prod") and bucket.protect is (stack == "prod")
    [block] = bucket_children(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.get(k) is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                              "restrictPublicBuckets"))
    [ownership] = bucket_children(graph, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.get("rule") == {"objectOwnership": "BucketOwnerEnforced"}
    [sse] = bucket_children(graph, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                   "BucketServerSideEncryptionConfiguration")
    assert sse.get("rules") == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                                        "kmsMasterKeyId": KEY_ARN},
                                 "bucketKeyEnabled": True}]
    [versioning] = bucket_children(graph, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.get("versioningConfiguration") == {"status": "Enabled"}
    [lifecycle] = bucket_children(graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rules = {r["id"]: r for r in lifecycle.get("rules")}
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert all(r["status"] == "Enabled" for r in rules.values())
    [policy] = bucket_children(graph, "aws:s3/bucketPolicy:BucketPolicy")
    assert graph.depends_on(policy, block)
    denies = [s for s in json.loads(policy.get("policy"))["Statement"] if s["Effect"] == "Deny"]
    conditions = [s["Condition"] for s in denies]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": "1.2"}} in conditions
    assert all(s["Principal"] == "*" and s["Action"] == "s3:*" and len(s["Resource"]) == 2 for s in denies)


def test_noncurrent_version_expiry_follows_config():
    graph = run_stack("staging", set={"twinstack:storage": {"noncurrentVersionDays": 90,
                                                            "bucketName": "acme-staging-workspace"}})
    assert graph.one(BUCKET, "storage-bucket").get("bucket") == "acme-staging-workspace"
    assert graph.one(BUCKET, "storage-bucket").get("bucketPrefix") is None
    [lifecycle] = bucket_children(graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.get("rules")[1]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}


def test_shared_volumes_alone_create_no_bucket():
    graph = run_stack("staging", set={
        "twinstack:storage": None,
        "twinstack:services": [{"name": "web", "image": "ghcr.io/acme/web:1", "port": 8000,
                                "healthCheck": {"path": "/"}, "volumes": [{"name": "static", "path": "/srv/static"}]}],
        "twinstack:proxy": {"allowHttp": True, "routes": [{"path": "/", "service": "web"},
                                                          {"path": "/static", "volume": "static"}]},
    })
    assert graph.one("twinstack:aws:Storage") and graph.of_type(BUCKET) == []


# ------------------------------------------------------------------------------------------- Secrets Manager


@pytest.mark.parametrize("stack, window", [("staging", 7), ("prod", 30)])
def test_every_secret_is_encrypted_with_the_stack_key_and_recoverable(request, stack, window):
    graph = request.getfixturevalue(stack)
    secrets = graph.of_type(SECRET)
    assert {s.get("namePrefix") for s in secrets} == {f"{stack}/app/SESSION_SECRET-", f"{stack}/database-",
                                                      f"{stack}/cache-"}
    assert all(s.get("kmsKeyId") == KEY_ARN and s.get("recoveryWindowInDays") == window for s in secrets)
    versions = graph.of_type(VERSION)
    assert len(versions) == len(secrets) and all(v.is_secret("secretString") for v in versions)


def test_stack_key_rotates_and_lets_only_logs_and_alarms_in(prod):
    key = prod.one("aws:kms/key:Key")
    assert key.get("enableKeyRotation") is True and key.get("deletionWindowInDays") == 30 and key.protect
    statements = {s["Sid"]: s for s in json.loads(key.get("policy"))["Statement"]}
    assert statements["AccountAdministersThroughIam"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    logs = statements["CloudWatchLogsOfThisAccount"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"] == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"}
    alarms = statements["CloudWatchAlarmsPublish"]
    assert alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert prod.one("aws:kms/alias:Alias").get("name") == "alias/twinstack/prod"


def test_every_log_group_is_encrypted_and_expires(rich_graph):
    groups = rich_graph.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) >= 5
    assert all(g.get("kmsKeyId") == KEY_ARN and g.get("retentionInDays") == 90 for g in groups)


# ------------------------------------------------------------------------------------------------- protection


def test_every_stateful_resource_is_protected_in_production_only(rich_graph, staging):
    stateful = [r for r in rich_graph.resources if r.type in STATEFUL]
    assert {r.type for r in stateful} == set(STATEFUL)
    assert [r.name for r in stateful if not r.protect] == []
    assert [r.name for r in staging.resources if r.protect] == []
    # and nothing else is: protect is for data, not for what a deploy must be free to replace
    assert {r.type for r in rich_graph.resources if r.protect} == set(STATEFUL)


def test_renaming_a_service_never_touches_stateful_resources(prod):
    renamed = run_stack("prod", set={
        "twinstack:services": [{**svc, "name": "web"} for svc in _prod_services()],
        "twinstack:proxy": {"tls": {"domain": "app.example.com", "zoneId": "Z0123456789EXAMPLE"},
                            "routes": [{"path": "/", "service": "web"}]},
    })
    kept = (*STATEFUL, SECRET, VERSION, PARAMS, "aws:rds/subnetGroup:SubnetGroup",
            "aws:elasticache/subnetGroup:SubnetGroup", "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet")
    for type_ in kept:
        if type_ == "aws:ecr/repository:Repository":
            continue  # a service's own image repository is the service's, named after it
        before = {r.urn: r.inputs for r in prod.of_type(type_)}
        after = {r.urn: r.inputs for r in renamed.of_type(type_)}
        assert before == after, type_
    assert {r.get("name") for r in renamed.of_type("aws:ecs/service:Service")} == {"web"}


def _prod_services() -> list[dict]:
    from tests.harness import ROOT, stack_file_config

    config, _ = stack_file_config(ROOT / "Pulumi.prod.yaml")
    return config["twinstack:services"]


# --------------------------------------------------------------------------------------------------- rotation


def containers(graph: Graph, service: str) -> list[dict]:
    return json.loads(graph.one(TASK, f"-{service}-task").get("containerDefinitions"))


def test_rotating_the_cache_token_rolls_only_the_services_that_use_the_cache(rich_graph):
    rotated = rich(**{"twinstack:rotation": {"cache": 1}})
    assert rotated.one(REDIS).get("authToken") != rich_graph.one(REDIS).get("authToken")
    assert rotated.one(REDIS).get("authTokenUpdateStrategy") == "ROTATE"
    assert secret_json(rotated, "cache") != secret_json(rich_graph, "cache")
    assert secret_json(rotated, "database") == secret_json(rich_graph, "database")
    # api uses the cache: its REDIS_URL reference moves to the new version, so ECS registers a new revision
    assert containers(rotated, "api") != containers(rich_graph, "api")
    changed = {s["name"] for before, after in zip(containers(rich_graph, "api"), containers(rotated, "api"),
                                                  strict=True)
               for s, t in zip(before["secrets"], after["secrets"], strict=True) if s != t}
    assert changed == {"REDIS_URL"}
    for untouched in ("worker", "frontend"):
        assert containers(rotated, untouched) == containers(rich_graph, untouched)

