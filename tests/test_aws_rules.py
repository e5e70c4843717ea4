"""What twinstack accepts, AWS accepts: the AWS rules checked against independent sources, and adversarial configs.

Every config here is either refused by the loader with a key-path message, or builds a graph within AWS's limits
(components/aws/limits.py). The limits themselves are compared with botocore's service models and PostgreSQL's parser.
"""

from __future__ import annotations

import copy
import json

import pytest

from components.aws import limits, rules
from tests.harness import Graph, ProgramError, provided, reveal, run_config, run_stack
from tests.test_examples import EXAMPLES, example_file, production_on_aws
from tools import aws_shapes

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
BASE = {
    "backend": "aws",
    "environment": "staging",
    "proxy": {"tls": {"certificateArn": CERT}, "routes": [{"path": "/", "service": "web"}]},
    "services": [{"name": "web", "image": "nginx:1.27-alpine", "port": 8080, "healthCheck": {"path": "/health"}}],
}


def config(**changes) -> dict:
    cfg = copy.deepcopy(BASE)
    cfg.update(copy.deepcopy(changes))
    return cfg


def web(**fields) -> dict:
    return {**BASE["services"][0], **fields}


def build(cfg: dict, stack: str = "staging") -> tuple[list[str], Graph | None]:
    """(the loader's problems, or the graph it built)."""
    try:
        return [], run_config(cfg, stack=stack)
    except ProgramError as e:
        assert "twinstack config has" in str(e), f"not a config error: {e}"
        return [line.strip()[2:] for line in str(e).splitlines() if line.strip().startswith("- ")], None


# ------------------------------------------------------------------------------------------- independent sources


def test_the_shapes_snapshot_is_botocore():
    """Numbers read from botocore stay botocore's: a botocore upgrade that changes one fails here until
    `python -m tools.aws_shapes` refreshes the snapshot."""
    assert aws_shapes.read_botocore() == limits.SHAPES


def test_the_postgres_key_words_are_the_parsers():
    keywords = pytest.importorskip("pglast.keywords", reason="pglast (PostgreSQL's parser) is in requirements-dev")
    assert rules.POSTGRES_RESERVED == keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS


def test_fargate_sizes_are_ecs_documented_table():
    """RegisterTaskDefinition's `memory` documentation lists the Fargate combinations; compare ours with it."""
    import botocore.session

    model = botocore.session.get_session().get_component("data_loader").load_service_model("ecs", "service-2")
    doc = model["shapes"]["RegisterTaskDefinitionRequest"]["members"]["memory"]["documentation"]
    assert "512 (0.5 GB), 1024 (1 GB), 2048 (2 GB) - Available <code>cpu</code> values: 256 (.25 vCPU)" in doc
    assert limits.fargate_memory(256) == (512, 1024, 2048)
    assert 1536 not in limits.fargate_memory(256)
    assert "Between 16 GB and 60 GB in 4 GB increments" in doc and "Between 32GB and 120 GB in 8 GB increments" in doc
    assert limits.fargate_memory(8192) == tuple(range(16384, 61441, 4096))
    assert limits.fargate_memory(16384) == tuple(range(32768, 122881, 8192))


def test_rabbitmq_username_and_version_rules_are_botocores():
    import botocore.session

    model = botocore.session.get_session().get_component("data_loader").load_service_model("mq", "service-2")
    username = model["shapes"]["User"]["members"]["Username"]["documentation"]
    assert "guest" in username and "guest" in limits.RABBITMQ_RESERVED_USERS
    upgrade = model["shapes"]["CreateBrokerRequest"]["members"]["AutoMinorVersionUpgrade"]["documentation"]
    assert "RabbitMQ brokers version 3.13 and above" in upgrade


# --------------------------------------------------------------------------------- the examples, in production


@pytest.fixture(scope="module")
def production_graphs() -> dict[str, Graph]:
    return {name: run_stack(name, file=example_file(name), set=production_on_aws(name)) for name in EXAMPLES}


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_in_production_is_within_aws_limits(production_graphs, name):
    graph = production_graphs[name]
    services = [s.get("name") for s in graph.of_type("aws:ecs/service:Service")]
    assert graph.aws_limit_problems(services) == []


def test_rabbitmq_gets_no_customer_managed_key(production_graphs):
    """Castiel's broker: EncryptionOptions "Does not apply to RabbitMQ brokers" (AWSCloudFormation
    aws-properties-amazonmq-broker-encryptionoptions.html); the API refuses it."""
    broker = production_graphs["castiel"].one("aws:mq/broker:Broker")
    assert broker.get("engineType") == "RabbitMQ" and "encryptionOptions" not in broker.inputs
    inputs = reveal(broker.inputs)
    assert limits.rabbitmq_problems(inputs) == []
    assert limits.rabbitmq_problems({**inputs, "encryptionOptions": {"useAwsOwnedKey": False}})


def test_redis_6_gets_tls_without_a_transit_mode_and_only_its_slow_log(production_graphs):
    """EduSphere's cache is Redis 6.0: TransitEncryptionMode needs Redis OSS 7.0.5 ("Transit encryption mode is not
    supported for engine version 6.2.6"), the engine log needs 6.2 (AmazonElastiCache/latest/dg/Log_Delivery.html)."""
    redis = production_graphs["edusphere"].one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert redis.get("engineVersion") == "6.0"
    assert redis.get("transitEncryptionEnabled") is True and "transitEncryptionMode" not in redis.inputs
    assert [c["logType"] for c in redis.get("logDeliveryConfigurations")] == ["slow-log"]


@pytest.mark.parametrize(("version", "engine", "mode", "logs"), [
    ("6", "6.2", False, {"slow-log", "engine-log"}),
    ("6.2", "6.2", False, {"slow-log", "engine-log"}),
    ("7.0", "7.0", True, {"slow-log", "engine-log"}),
    ("7", "7.1", True, {"slow-log", "engine-log"}),
])
def test_every_offered_redis_version_gets_what_it_supports(version, engine, mode, logs):
    _, graph = build(config(cache={"version": version}))
    assert graph is not None
    redis = graph.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert redis.get("engineVersion") == engine
    assert ("transitEncryptionMode" in redis.inputs) is mode
    assert {c["logType"] for c in redis.get("logDeliveryConfigurations")} == logs


def test_production_cache_fails_over_to_a_replica_unless_config_says_otherwise():
    """Checkov CKV2_AWS_50 wants automatic failover; ElastiCache needs a replica for it."""
    prod = config(environment="production", cache={})
    redis = build(prod, "prod")[1].one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert (redis.get("numCacheClusters"), redis.get("automaticFailoverEnabled"), redis.get("multiAzEnabled")) == (
        2, True, True)
    single = build(config(environment="production", cache={"replicas": 0}), "prod")[1]
    assert single.one("aws:elasticache/replicationGroup:ReplicationGroup").get("automaticFailoverEnabled") is False
    staging = build(config(cache={}))[1].one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert staging.get("numCacheClusters") == 1


def test_production_workspace_logs_its_access_to_a_log_bucket():
    """Checkov CKV_AWS_18: server access logging, delivered by logging.s3.amazonaws.com under a bucket policy limited
    to the source bucket and account (AmazonS3/latest/userguide/enable-server-access-logging.html)."""
    graph = build(config(environment="production", storage={}), "prod")[1]
    logging = graph.one("aws:s3/bucketLogging:BucketLogging")
    workspace, logs = graph.one("aws:s3/bucket:Bucket", "storage-bucket"), graph.one("aws:s3/bucket:Bucket", "storage-logs")
    assert logging.get("bucket") == provided(workspace) and logging.get("targetBucket") == provided(logs)
    policy = json.loads(graph.one("aws:s3/bucketPolicy:BucketPolicy", "storage-logs").get("policy"))
    delivery = next(s for s in policy["Statement"] if s["Principal"] == {"Service": "logging.s3.amazonaws.com"})
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == provided(workspace, "arn")
    assert delivery["Resource"].endswith("/workspace/*")
    sse = graph.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    "storage-logs")
    # S3 server access logs are delivered only to SSE-S3 buckets
    assert sse.get("rules")[0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert not build(config(storage={}))[1].of_type("aws:s3/bucketLogging:BucketLogging")


# ------------------------------------------------------------------------------- health checks, both backends


@pytest.mark.parametrize("command", [["CMD", "/bin/check", "--quick"], ["/bin/check", "--quick"]])
def test_a_command_health_check_means_the_same_on_both_backends(command):
    check = {"command": command}
    aws = build(config(services=[web(healthCheck=check)]))[1]
    docker = run_config(config(backend="docker", environment="development", proxy={
        "routes": [{"path": "/", "service": "web"}]}, services=[web(healthCheck=check)]), stack="dev")
    task = json.loads(aws.one("aws:ecs/taskDefinition:TaskDefinition").get("containerDefinitions"))[0]
    container = next(c for c in docker.of_type("docker:index/container:Container") if c.get("name") == "dev-web")
    assert task["healthCheck"]["command"] == container.get("healthcheck")["tests"] == ["CMD", "/bin/check", "--quick"]


def test_a_shell_health_check_reaches_ecs_as_written():
    """ECS runs `["CMD-SHELL", line]` through the shell; a second CMD would run a program called CMD-SHELL
    (AmazonECS/latest/APIReference/API_HealthCheck.html)."""
    aws = build(config(services=[web(healthCheck={"command": ["CMD-SHELL", "test -f /tmp/ready"]})]))[1]
    task = json.loads(aws.one("aws:ecs/taskDefinition:TaskDefinition").get("containerDefinitions"))[0]
    assert task["healthCheck"]["command"] == ["CMD-SHELL", "test -f /tmp/ready"]
    assert limits.ecs_health_problems({"command": ["CMD", "CMD-SHELL", "test -f /tmp/ready"]})


@pytest.mark.parametrize(("command", "message"), [
    (["CMD-SHELL", "a", "b"], 'command: "CMD-SHELL" takes exactly one string'),
    (["CMD"], 'command: "CMD" needs the program to run'),
    (["NONE"], 'command: "NONE" turns the check off'),
])
def test_malformed_health_commands_are_refused(command, message):
    problems, _ = build(config(services=[web(healthCheck={"command": command})]))
    assert any(p.startswith("twinstack:services[0].healthCheck: " + message) for p in problems), problems


# ---------------------------------------------------------------------------------------- adversarial configs


def many_services(count: int, port_step: int) -> dict:
    """`services` and a proxy routing to each of them."""
    return {"services": [web(name=f"svc{i}", port=8000 + i * port_step) for i in range(count)],
            "proxy": {"tls": {"certificateArn": CERT}, "routes": [{"path": f"/s{i}", "service": f"svc{i}"}
                                                                   for i in range(count)]}}


REFUSED = [
    ("internal-prefix", config(namePrefix="internal"), "namePrefix", "load balancer name 'internal-alb' starts with"),
    ("s3-reserved-prefix", config(namePrefix="sthree", storage={}), "namePrefix", "S3 bucket name 'sthree-"),
    ("s3-demo-prefix", config(namePrefix="amzn-s3-demo", storage={}), "namePrefix", "S3 bucket name 'amzn-s3-demo"),
    ("bucket-table-suffix", config(storage={"bucketName": "reports--table-s3"}), "storage.bucketName",
     "S3 bucket name 'reports--table-s3' ends with '--table-s3'"),
    ("bucket-demo-prefix", config(storage={"bucketName": "amzn-s3-demo-bucket"}), "storage.bucketName",
     "S3 bucket name 'amzn-s3-demo-bucket' starts with"),
    ("role-name-too-long", config(services=[web(name="notification-dispatcher"), web(name="x", port=81)],
                                  proxy={"tls": {"certificateArn": CERT}, "routes": [{"path": "/", "service": "x"}]}),
     "services[0].name", "IAM role name 'twinstack-services-notification-dispatcher-execution-role-' is 65"),
    ("alarm-clash-db", config(database={}, services=[web(name="db")],
                              proxy={"tls": {"certificateArn": CERT}, "routes": [{"path": "/", "service": "db"}]}),
     "services[0].name", "its alarm 'staging-db-cpu' has the name of an alarm of twinstack:database"),
    ("alarm-clash-redis-node", config(cache={}, services=[web(name="redis-001")],
                                      proxy={"tls": {"certificateArn": CERT},
                                             "routes": [{"path": "/", "service": "redis-001"}]}),
     "services[0].name", "its alarm 'staging-redis-001-cpu' has the name of an alarm of twinstack:cache"),
    ("migrate-container", config(services=[web(name="migrate", migration={"command": ["./migrate"]})],
                                 proxy={"tls": {"certificateArn": CERT}, "routes": [{"path": "/", "service": "migrate"}]}),
     "services[0].name", "'migrate' is the name of the container that runs its migration"),
    ("generated-secret-named-like-a-part", config(generatedSecrets=["DATABASE"]), "generatedSecrets.DATABASE",
     "'DATABASE' is the rotation key"),
    ("sparse-ports", config(**many_services(31, 2)), "services",
     "the services' ports need 62 app inbound security group rules"),
    ("too-many-routes", config(proxy={"tls": {"certificateArn": CERT}, "routes": [
        {"path": f"/r{i}", "service": "web"} for i in range(101)]}), "proxy.routes", "101 routes, one listener rule each"),
    ("long-path-pattern", config(proxy={"tls": {"certificateArn": CERT}, "routes": [
        {"path": "/" + "a" * 126, "service": "web"}]}), "proxy.routes[0].path", "becomes the ALB path pattern"),
    ("long-health-path", config(services=[web(healthCheck={"path": "/" + "h" * 1024})]),
     "services[0].healthCheck.path", "is 1025 characters; an ALB health check path takes 1024"),
    ("fargate-256-1536", config(services=[web(cpu=256, memory=1536)]), "services[0].memory",
     "Fargate with cpu 256 accepts 512, 1024, 2048 MiB, not 1536"),
    ("mq-guest", config(broker={"username": "guest"}), "broker.username", "'guest' is reserved by Amazon MQ"),
    ("mq-old-version", config(broker={"version": "3.12"}), "broker.version", "Amazon MQ creates RabbitMQ 3.13, 4.2"),
    ("mq-4-on-m5", config(broker={"version": "4.2", "instanceType": "mq.m5.large"}), "broker.instanceType",
     "RabbitMQ 4.2 runs on mq.m7g.*, not mq.m5.large"),
    ("rds-user-keyword", config(database={"username": "user"}), "database.username", "'user' is reserved"),
    ("rds-user-select", config(database={"username": "select"}), "database.username", "'select' is reserved"),
    ("rds-db-keyword", config(database={"name": "table"}), "database.name", "'table' is a PostgreSQL key word"),
    ("rds-autoscaling-step", config(database={"allocatedStorageGb": 100, "maxAllocatedStorageGb": 105}),
     "database.maxAllocatedStorageGb", "must be at least 10% above allocatedStorageGb (110)"),
    ("redis-6.1", config(cache={"version": "6.1"}), "cache.version", "ElastiCache offers Redis OSS 6.0, 6.2, 7.0, 7.1"),
    ("redis-7.2", config(cache={"version": "7.2"}), "cache.version", "ElastiCache offers Redis OSS"),
    ("secret-name-too-long", config(generatedSecrets=["S" * 490]), "generatedSecrets." + "S" * 490,
     "secret name 'staging/app/"),
    ("policy-too-big", config(generatedSecrets=[f"SECRET_{i:03d}_OF_THE_SERVICE" for i in range(110)],
                              services=[web(secrets=[f"SECRET_{i:03d}_OF_THE_SERVICE" for i in range(110)])]),
     "services[0].secrets", "110 secrets make its execution role's policy about"),
    ("task-definition-too-big", config(services=[web(env={f"SETTING_{i}": "x" * 400 for i in range(80)},
                                                     migration={"command": ["./migrate"]})]),
     "services[0].env", "its env and commands make a task definition of about"),
    ("generated-secret-twice", config(generatedSecrets=["SESSION_SECRET", "SESSION_SECRET"]), "generatedSecrets[1]",
     "'SESSION_SECRET' is listed twice (also generatedSecrets[0])"),
    ("cmd-then-cmd-shell", config(services=[web(healthCheck={"command": ["CMD", "CMD-SHELL", "true"]})]),
     "services[0].healthCheck", 'command: "CMD" then "CMD-SHELL" would run a program called CMD-SHELL'),
    ("huge-command", config(services=[web(command=["sh", "-c", "s" * 66_000])]), "services[0].env",
     "its env and commands make a task definition of about"),
    ("extensions-tag", config(database={"extensions": [f"extension_number_{i:02d}" for i in range(20)]}),
     "database.extensions", "20 extensions make a 399-character tag value; AWS allows 256"),
    ("acm-domain", config(proxy={"tls": {"domain": "-bad-.example", "zoneId": "Z1"},
                                 "routes": [{"path": "/", "service": "web"}]}),
     "proxy.tls.domain", "'-bad-.example' is not a domain name ACM accepts"),
]


@pytest.mark.parametrize(("cfg", "key", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_configs_aws_would_refuse_are_refused_by_key_path(cfg, key, message):
    problems, graph = build(cfg)
    assert graph is None, "accepted a config AWS refuses"
    assert any(p.startswith(f"twinstack:{key}: {message}") for p in problems), problems


@pytest.mark.parametrize(("name", "cfg"), [
    ("consecutive-ports-scale", config(**many_services(60, 1))),
    ("at-the-limits", config(services=[web(name="s" * 22)],
                             proxy={"tls": {"certificateArn": CERT}, "routes": [{"path": "/", "service": "s" * 22}]})),
    ("redis-6.0-everything", config(environment="production", cache={"version": "6.0", "replicas": 2}, database={},
                                    broker={}, storage={})),
    ("mq-4.2-on-m7g", config(broker={"version": "4.2", "instanceType": "mq.m7g.large"})),
    ("many-secrets-within-the-policy", config(generatedSecrets=[f"S{i}" for i in range(40)],
                                              services=[web(secrets=[f"S{i}" for i in range(40)])])),
    ("routes-whose-slugs-collide-twice", config(proxy={"tls": {"certificateArn": CERT}, "routes": [
        {"path": p, "service": "web"} for p in ("/a-b-2", "/a-b", "/a/b")]})),
    ("long-route-within-128", config(proxy={"tls": {"certificateArn": CERT}, "routes": [
        {"path": "/" + "a" * 124, "service": "web"}]})),
], ids=lambda v: v if isinstance(v, str) else "")
def test_unusual_but_valid_configs_build_within_aws_limits(name, cfg):
    problems, graph = build(cfg, "prod" if cfg.get("environment") == "production" else "staging")
    assert graph is not None, problems
    assert graph.aws_limit_problems([s["name"] for s in cfg["services"]]) == []


# ----------------------------------------------------------------------------------------- graph-level checks


def records(graph: Graph) -> list[limits.Record]:
    from tools.graph import reveal

    return [limits.Record(r.urn, r.type, r.name, reveal(r.inputs), r.property_dependencies) for r in graph.custom()]


@pytest.fixture(scope="module")
def staging_graph() -> Graph:
    return build(config(database={}, cache={}, storage={}, services=[web(), web(name="api", port=8081,
                                                                                  uses=["database"])]))[1]


def mutate(graph: Graph, type_: str, logical: str, /, **inputs) -> list[limits.GraphProblem]:
    found = records(graph)
    for i, r in enumerate(found):
        if r.type == type_ and logical in r.name:
            found[i] = limits.Record(r.urn, r.type, r.name, {**r.inputs, **inputs}, r.property_dependencies)
            break
    else:
        raise AssertionError(f"no {type_} {logical}")
    return limits.graph_problems(found, ["web", "api"])


def test_graph_checks_name_the_config_that_caused_them(staging_graph):
    assert limits.graph_problems(records(staging_graph), ["web", "api"]) == []
    big = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                               "Resource": "arn:aws:s3:::b/" + "k" * 10_300}]})
    [problem] = mutate(staging_graph, "aws:iam/rolePolicy:RolePolicy", "services-api-execution-policy", policy=big)
    assert problem.config == "services[1]" and "IAM allows 10240 per role" in problem.message
    assert str(problem).startswith("twinstack:services[1]: the role's inline policies are")


def test_graph_checks_catch_each_kind_of_limit(staging_graph):
    task = staging_graph.one("aws:ecs/taskDefinition:TaskDefinition", "services-web")
    containers = json.loads(task.get("containerDefinitions"))
    huge = [{**containers[0], "environment": [{"name": "BLOB", "value": "x" * 70_000}]}]
    twice = [containers[0], containers[0]]
    shell_twice = [{**containers[0], "healthCheck": {**containers[0]["healthCheck"],
                                                     "command": ["CMD", "CMD-SHELL", "true"]}}]
    cases = [
        (("aws:ecs/taskDefinition:TaskDefinition", "services-web", {"containerDefinitions": json.dumps(huge)}),
         "ECS allows 64 KiB"),
        (("aws:ecs/taskDefinition:TaskDefinition", "services-web", {"containerDefinitions": json.dumps(twice)}),
         "two containers are named 'web'"),
        (("aws:ecs/taskDefinition:TaskDefinition", "services-web", {"containerDefinitions": json.dumps(shell_twice)}),
         "health check runs 'CMD-SHELL' as its program"),
        (("aws:lb/loadBalancer:LoadBalancer", "proxy-alb", {"name": "internal-web"}), "starts with 'internal-'"),
        (("aws:lb/targetGroup:TargetGroup", "proxy-web", {"healthCheck": {"path": "/" + "p" * 1100}}),
         "health check path is 1101 characters"),
        (("aws:elasticache/replicationGroup:ReplicationGroup", "cache-redis",
          {"engineVersion": "6.2", "transitEncryptionMode": "required"}), "transitEncryptionMode needs Redis OSS 7.0.5"),
        (("aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-web-cpu", {"name": "staging-db-cpu"}),
         "'staging-db-cpu' is also the name of"),
        (("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "app-in-app",
          {"description": "From <everyone>"}), "characters EC2 refuses"),
        (("aws:rds/instance:Instance", "database-instance", {"tags": {"twinstack:pgExtensions": "x" * 257}}),
         "its value over 256"),
        (("aws:lb/listenerRule:ListenerRule", "route-root",
          {"conditions": [{"pathPattern": {"values": ["/" + "x" * 130]}}]}), "AWS allows 128"),
    ]
    for (type_, name, inputs), expected in cases:
        problems = mutate(staging_graph, type_, name, **inputs)
        assert any(expected in p.message for p in problems), (expected, [str(p) for p in problems])


def test_too_many_rules_on_one_security_group_is_reported():
    graph = build(config(**many_services(25, 2)))[1]
    assert graph is not None and graph.aws_limit_problems() == []
    found = records(graph)
    rule = next(r for r in found if r.type.endswith("SecurityGroupIngressRule") and "app-in-app" in r.name)
    copies = [limits.Record(rule.urn + f"-{i}", rule.type, f"{rule.name}-{i}", rule.inputs,
                            rule.property_dependencies) for i in range(20)]
    [problem] = limits.graph_problems(found + copies)
    assert "inbound rules on security group" in problem.message and "AWS allows 60" in problem.message
