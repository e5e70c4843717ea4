"""What AWS accepts: the limits the AWS backend's names and parameters must meet, each beside its source.

One module, standard library only, read by three checkers:
- the config rules (`components/aws/rules.py`), which report what follows from config before anything is declared;
- `graph_problems` below, run on the recorded graph by `tools/preflight.py` and the tests;
- the policy pack's stack policy (`policy/guardrails/aws_limits.py`), run by `pulumi preview` in its own environment.

Numbers that botocore's service models encode are read from `shapes.json`, a snapshot of those models (refresh with
`python -m tools.aws_shapes`; the tests compare it with botocore). The rest cite the AWS page that states them.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHAPES: dict[str, dict[str, Any]] = json.loads(Path(__file__).with_name("shapes.json").read_text())

DOCS = "https://docs.aws.amazon.com"


def shape_range(key: str) -> range:
    """The inclusive min..max a botocore shape allows, as a range."""
    shape = SHAPES[key]
    return range(shape.get("min", 0), shape["max"] + 1)


# ------------------------------------------------------------------------------------------------ physical names

# pulumi-aws autonames a resource the program leaves unnamed: its logical name, '-', and 7 random hex characters.
AUTONAME_SUFFIX = 8
# A Terraform `name_prefix` / `bucket_prefix` gets a 26-character unique suffix (terraform-plugin-sdk
# id.UniqueIDSuffixLength): a timestamp and a counter.
PREFIX_SUFFIX = 26


@dataclass(frozen=True)
class Name:
    """A physical-name rule: length, characters, and what the service reserves."""

    what: str
    max: int
    source: str
    pattern: str | None = None  # the whole name must match
    chars: str | None = None  # the pattern in words, for messages
    min: int = 1
    reserved_prefixes: tuple[str, ...] = ()
    reserved_suffixes: tuple[str, ...] = ()
    no_double_hyphen: bool = False
    no_trailing_hyphen: bool = False

    def problem(self, name: str, generated_suffix: int = 0) -> str | None:
        """Why AWS refuses `name` (with `generated_suffix` characters still to be appended by the provider), or
        None. Checks that need the final characters (patterns, suffixes) see the prefix only."""
        length = len(name) + generated_suffix
        extra = f" with the {generated_suffix} characters the provider appends" if generated_suffix else ""
        if length > self.max:
            return f"{self.what} '{name}' is {length} characters{extra}, AWS allows {self.max}"
        if length < self.min:
            return f"{self.what} '{name}' is {length} characters, AWS needs at least {self.min}"
        if self.pattern and not re.fullmatch(self.pattern, name + ("a" if generated_suffix else "")):
            return f"{self.chars or 'must match ' + self.pattern}: {self.what} '{name}' is not"
        for prefix in self.reserved_prefixes:
            if name.startswith(prefix):
                return f"{self.what} '{name}' starts with '{prefix}', which AWS reserves"
        if not generated_suffix:
            for suffix in self.reserved_suffixes:
                if name.endswith(suffix):
                    return f"{self.what} '{name}' ends with '{suffix}', which AWS reserves"
            if self.no_trailing_hyphen and name.endswith("-"):
                return f"{self.what} '{name}' must not end with a hyphen"
        if self.no_double_hyphen and "--" in name:
            return f"{self.what} '{name}' must not contain two hyphens in a row"
        return None


def _shape_name(what: str, key: str, source: str, **rules: Any) -> Name:
    shape = SHAPES[key]
    rules.setdefault("pattern", shape.get("pattern"))
    return Name(what, shape["max"], f"{source}; botocore {key}", min=shape.get("min", 1), **rules)


LOAD_BALANCER = Name(
    "load balancer name", 32, f"{DOCS}/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html (Name)",
    pattern=r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", chars="only letters, digits and hyphens, not at either end",
    reserved_prefixes=("internal-",))
TARGET_GROUP = Name(
    "target group name", 32, f"{DOCS}/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html (Name)",
    pattern=r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", chars="only letters, digits and hyphens, not at either end")
IAM_ROLE = _shape_name("IAM role name", "iam.roleNameType", f"{DOCS}/IAM/latest/UserGuide/reference_iam-quotas.html")
IAM_POLICY = _shape_name("IAM policy name", "iam.policyNameType", f"{DOCS}/IAM/latest/UserGuide/reference_iam-quotas.html")
SECRET = _shape_name("secret name", "secretsmanager.NameType",
                     f"{DOCS}/secretsmanager/latest/apireference/API_CreateSecret.html (Name)",
                     pattern=r"[A-Za-z0-9/_+=.@-]+")
LOG_GROUP = _shape_name("log group name", "logs.LogGroupName",
                        f"{DOCS}/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html")
ALARM = _shape_name("alarm name", "cloudwatch.AlarmName", f"{DOCS}/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html")
ECR_REPOSITORY = _shape_name("ECR repository name", "ecr.RepositoryName",
                             f"{DOCS}/AmazonECR/latest/APIReference/API_CreateRepository.html")
KMS_ALIAS = _shape_name("KMS alias", "kms.AliasNameType", f"{DOCS}/kms/latest/APIReference/API_CreateAlias.html",
                        reserved_prefixes=("alias/aws/",))
SCALING_POLICY = Name("scaling policy name", SHAPES["application-autoscaling.PolicyName"]["max"],
                      f"{DOCS}/autoscaling/application/APIReference/API_PutScalingPolicy.html; "
                      "botocore application-autoscaling.PolicyName")
ECS_NAME = Name("ECS name", 255, f"{DOCS}/AmazonECS/latest/APIReference/API_CreateService.html (serviceName, family, "
                "clusterName): up to 255 letters, numbers, underscores and hyphens", pattern=r"[A-Za-z0-9_-]+")
SNS_TOPIC = Name("SNS topic name", 256, f"{DOCS}/sns/latest/api/API_CreateTopic.html (Name)", pattern=r"[A-Za-z0-9_-]+")
DASHBOARD = Name("dashboard name", 255, f"{DOCS}/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
                 pattern=r"[A-Za-z0-9_-]+")
# RDS: DB instance, snapshot and parameter/subnet group identifiers.
RDS_IDENTIFIER = Name(
    "RDS identifier", 63, f"{DOCS}/AmazonRDS/latest/APIReference/API_CreateDBInstance.html (DBInstanceIdentifier): "
    "1 to 63 letters, digits or hyphens; first a letter; no two consecutive hyphens; not ending in a hyphen",
    pattern=r"[A-Za-z][A-Za-z0-9-]*", no_double_hyphen=True, no_trailing_hyphen=True)
RDS_GROUP = Name("RDS group name", 255, f"{DOCS}/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html",
                 pattern=r"[A-Za-z][A-Za-z0-9-]*", no_double_hyphen=True, no_trailing_hyphen=True)
CACHE_GROUP_ID = Name(
    "ElastiCache replication group id", 40,
    f"{DOCS}/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html (ReplicationGroupId): 1 to 40 "
    "alphanumerics or hyphens, first a letter, no two consecutive hyphens, not ending in a hyphen",
    pattern=r"[A-Za-z][A-Za-z0-9-]*", no_double_hyphen=True, no_trailing_hyphen=True)
CACHE_SUBNET_GROUP = Name("ElastiCache subnet group name", 255,
                          f"{DOCS}/AmazonElastiCache/latest/APIReference/API_CreateCacheSubnetGroup.html",
                          pattern=r"[A-Za-z0-9-]+")
MQ_BROKER = Name("Amazon MQ broker name", 50, "botocore mq CreateBrokerRequest.BrokerName: 1-50 letters, digits, dashes "
                 "and underscores", pattern=r"[A-Za-z0-9_-]+")
SECURITY_GROUP = Name("security group name", 255, f"{DOCS}/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
                      reserved_prefixes=("sg-",))
SERVICE_CONNECT_NAMESPACE = _shape_name("Cloud Map namespace", "servicediscovery.NamespaceNameHttp",
                                        f"{DOCS}/cloud-map/latest/api/API_CreateHttpNamespace.html")
# S3 bucket names, and the prefixes and suffixes S3 reserves for its own features.
BUCKET = Name(
    "S3 bucket name", 63, f"{DOCS}/AmazonS3/latest/userguide/bucketnamingrules.html", min=3,
    pattern=r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?",
    chars="only lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
    reserved_prefixes=("xn--", "sthree-", "amzn-s3-demo-"),
    reserved_suffixes=("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))


def bucket_problem(name: str, generated_suffix: int = 0) -> str | None:
    """S3's general-purpose bucket naming rules, beyond length and characters."""
    bad = BUCKET.problem(name, generated_suffix)
    if bad:
        return bad
    if ".." in name or ".-" in name or "-." in name:
        return f"S3 bucket name '{name}' has adjacent periods, or a period next to a hyphen"
    if not generated_suffix and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return f"S3 bucket name '{name}' looks like an IP address"
    return None


# Which input names each resource type, and the rule it must meet. `namePrefix`-style inputs get the provider's
# 26-character suffix; a resource with neither gets an autoname (logical name + 8).
NAMES: dict[str, tuple[str | None, str | None, Name]] = {
    # type: (name input, prefix input, rule)
    "aws:lb/loadBalancer:LoadBalancer": ("name", "namePrefix", LOAD_BALANCER),
    "aws:lb/targetGroup:TargetGroup": ("name", "namePrefix", TARGET_GROUP),
    "aws:iam/role:Role": ("name", "namePrefix", IAM_ROLE),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", IAM_POLICY),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix", SECRET),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", LOG_GROUP),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", None, ALARM),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName", None, DASHBOARD),
    "aws:ecr/repository:Repository": ("name", None, ECR_REPOSITORY),
    "aws:kms/alias:Alias": ("name", "namePrefix", KMS_ALIAS),
    "aws:appautoscaling/policy:Policy": ("name", None, SCALING_POLICY),
    "aws:ecs/cluster:Cluster": ("name", None, ECS_NAME),
    "aws:ecs/service:Service": ("name", None, ECS_NAME),
    "aws:ecs/taskDefinition:TaskDefinition": ("family", None, ECS_NAME),
    "aws:sns/topic:Topic": ("name", "namePrefix", SNS_TOPIC),
    "aws:rds/instance:Instance": ("identifier", "identifierPrefix", RDS_IDENTIFIER),
    "aws:rds/parameterGroup:ParameterGroup": ("name", "namePrefix", RDS_GROUP),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix", RDS_GROUP),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", None, CACHE_GROUP_ID),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name", None, CACHE_SUBNET_GROUP),
    "aws:mq/broker:Broker": ("brokerName", None, MQ_BROKER),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", SECURITY_GROUP),
    "aws:servicediscovery/httpNamespace:HttpNamespace": ("name", None, SERVICE_CONNECT_NAMESPACE),
}
BUCKET_TYPE = "aws:s3/bucket:Bucket"
# Names unique per account and region (or globally, S3): two resources of one type with one name cannot both exist.
UNIQUE_NAMES = {t for t in NAMES if t not in ("aws:iam/rolePolicy:RolePolicy", "aws:appautoscaling/policy:Policy")}


# ------------------------------------------------------------------------------------------------------ quotas

QUOTAS_VPC = f"{DOCS}/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups"
QUOTAS_ALB = f"{DOCS}/elasticloadbalancing/latest/application/load-balancer-limits.html"
QUOTAS_IAM = f"{DOCS}/IAM/latest/UserGuide/reference_iam-quotas.html"
QUOTAS_ECS = f"{DOCS}/AmazonECS/latest/developerguide/service-quotas.html"

SG_RULES_PER_DIRECTION = 60  # "Inbound or outbound rules per security group: 60" (QUOTAS_VPC)
# "Constraints: Up to 255 characters in length. Allowed characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
# (botocore ec2 IpRange.Description, UserIdGroupPair.Description)
SG_RULE_DESCRIPTION = re.compile(r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")
ALB_RULES = 100  # "Rules per Application Load Balancer (not counting default rules): 100" (QUOTAS_ALB)
ALB_TARGET_GROUPS = 100  # "Target groups per Application Load Balancer: 100" (QUOTAS_ALB)
RULE_CONDITION_VALUES = 5  # "Condition values per rule: 5" (QUOTAS_ALB)
RULE_WILDCARDS = 5  # "Condition wildcards per rule: 5" (QUOTAS_ALB)
# "A path pattern is case-sensitive, can be up to 128 characters in length" (application/rule-condition-types.html)
PATH_PATTERN = 128
RULE_PRIORITY = shape_range("elbv2.RulePriority")
HEALTH_PATH = shape_range("elbv2.Path")
TG_INTERVAL = shape_range("elbv2.HealthCheckIntervalSeconds")
TG_TIMEOUT = shape_range("elbv2.HealthCheckTimeoutSeconds")
TG_THRESHOLD = shape_range("elbv2.HealthCheckThresholdCount")
# "the total aggregate policy size (the sum size of all inline policies) per role cannot exceed 10,240 characters.
# IAM doesn't count white space" (QUOTAS_IAM)
ROLE_INLINE_POLICIES = 10_240
ROLE_TRUST_POLICY = 2_048  # "Role trust policy length: 2,048 characters" (QUOTAS_IAM)
TASK_DEFINITION_BYTES = 64 * 1024  # "Task definition size: 64 KiB" (QUOTAS_ECS)
# "Maximum key length: 128 Unicode characters ... Maximum value length: 256 Unicode characters"
# (tag-editor/latest/userguide/tagging.html#tag-conventions)
TAG_KEY, TAG_VALUE = 128, 256
# ECS HealthCheck (AmazonECS/latest/APIReference/API_HealthCheck.html): interval 5-300 s, timeout 2-60 s, retries
# 1-10, startPeriod 0-300 s; command ["CMD", prog, args...] or ["CMD-SHELL", "one shell line"].
ECS_HEALTH = {"interval": range(5, 301), "timeout": range(2, 61), "retries": range(1, 11), "startPeriod": range(0, 301)}
CONTAINER_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")  # API_ContainerDefinition.html (name)

# Fargate task sizes: CPU units -> the memory (MiB) each accepts.
FARGATE_SOURCE = f"{DOCS}/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"
FARGATE_MEMORY: dict[int, range] = {
    256: range(512, 2049, 512),  # 0.5, 1 or 2 GB: not 1.5
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}
FARGATE_MEMORY_256 = (512, 1024, 2048)


def fargate_memory(cpu: int) -> tuple[int, ...] | None:
    """The memory sizes Fargate accepts with `cpu` units, or None for a CPU size it does not offer."""
    if cpu == 256:
        return FARGATE_MEMORY_256
    allowed = FARGATE_MEMORY.get(cpu)
    return tuple(allowed) if allowed is not None else None


# -------------------------------------------------------------------------------------- engines and their features


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class RedisVersion:
    """What an ElastiCache Redis OSS minor version offers. From 6.0 on ElastiCache offers one version per minor and
    runs its newest patch ("Beginning with Redis 6.0, ElastiCache will offer a single version for each Redis OSS minor
    release", AmazonElastiCache/latest/dg/engine-versions.html)."""

    minor: tuple[int, int]

    @property
    def transit_encryption_mode(self) -> bool:
        # TransitEncryptionMode: Redis OSS 7.0.5 and later, which the 7.0 and 7.1 minors run; 6.2 answers "Transit
        # encryption mode is not supported for engine version 6.2.6" (AmazonElastiCache/latest/dg/in-transit-encryption.html)
        return self.minor >= (7, 0)

    @property
    def log_types(self) -> tuple[str, ...]:
        # "Slow Log is supported for ... Redis OSS ... engine version 6.0 onward. Engine Log ... 6.2 onward."
        # (AmazonElastiCache/latest/dg/Log_Delivery.html)
        return ("slow-log", "engine-log") if self.minor >= (6, 2) else ("slow-log",)


# The Redis OSS versions ElastiCache creates (AmazonElastiCache/latest/red-ug/supported-engine-versions.html), as
# CreateReplicationGroup's EngineVersion takes them: major.minor; the AWS provider refuses a bare major
# (terraform-provider-aws validRedisVersionString), so a configured `7` means its newest minor.
REDIS_VERSIONS: dict[str, RedisVersion] = {
    "6.0": RedisVersion((6, 0)),
    "6.2": RedisVersion((6, 2)),
    "7.0": RedisVersion((7, 0)),
    "7.1": RedisVersion((7, 1)),
}
REDIS_LATEST_MINOR = {"6": "6.2", "7": "7.1"}


def redis_engine_version(version: str) -> str | None:
    """The EngineVersion ElastiCache takes for a configured version ('7' means 7's newest minor), or None."""
    full = REDIS_LATEST_MINOR.get(version, version)
    return full if full in REDIS_VERSIONS else None


# Amazon MQ for RabbitMQ: the versions it creates, each with the instance families that run it
# (amazon-mq/latest/developer-guide/rabbitmq-version-management.html: "supports RabbitMQ 4.2 ... only on the mq.m7g
# ... RabbitMQ 3.13 ... on mq.t3, mq.m5, and mq.m7g"). 3.12 and older reached end of support on 2025-03-17.
RABBITMQ_VERSIONS: dict[str, tuple[str, ...]] = {"3.13": ("mq.t3.", "mq.m5.", "mq.m7g."), "4.2": ("mq.m7g.",)}
# "Amazon MQ prohibits using guest as a username" (botocore mq User.Username)
RABBITMQ_RESERVED_USERS = ("guest",)
# A customer-managed KMS key: "Does not apply to RabbitMQ brokers" (CloudFormation AWS::AmazonMQ::Broker
# EncryptionOptions); the API answers "encryptionOptions is not supported for RabbitMQ brokers". RabbitMQ brokers are
# encrypted at rest with an AWS-owned key.


# ------------------------------------------------------------------------------------------------- graph checks


@dataclass(frozen=True)
class Record:
    """One declared resource as the checks need it: what the recorded graph (tools/graph.py) and the policy pack
    both know, with inputs as plain values (secrets unwrapped)."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def refs(self, key: str) -> list[str]:
        """The URNs an input was built from (property dependencies), else the input's own value: the same link in a
        preview, where ids are unknown, and in a recorded graph."""
        deps = list(self.property_dependencies.get(key, ()))
        if deps:
            return deps
        value = self.inputs.get(key)
        return [value] if isinstance(value, str) else []


@dataclass(frozen=True)
class GraphProblem:
    """A limit the graph breaks: the config that caused it (`services[2]`), the resource, and why."""

    config: str
    resource: str
    message: str
    urn: str

    def __str__(self) -> str:
        return f"twinstack:{self.config}: {self.message} ({self.resource})"


def graph_problems(records: Iterable[Record], service_names: Sequence[str] = ()) -> list[GraphProblem]:
    """Every AWS limit the declared resources break. `service_names` (config order) lets a message name the
    config key (`services[3]`) that made the resource."""
    records = list(records)
    blame = _Blame(service_names)
    problems: list[GraphProblem] = []

    def report(record: Record, message: str) -> None:
        problems.append(GraphProblem(blame(record), f"{record.type.rsplit(':', 1)[-1]} {record.name}", message,
                                     record.urn))

    _names(records, report)
    _duplicates(records, report)
    _security_group_rules(records, report)
    _load_balancer(records, report)
    _role_policies(records, report)
    _task_definitions(records, report)
    _engines(records, report)
    _tags(records, report)
    return problems


def _tags(records: list[Record], report) -> None:
    for record in records:
        tags = record.inputs.get("tags")
        for key, value in (tags.items() if isinstance(tags, Mapping) else ()):
            if len(str(key)) > TAG_KEY or len(str(value)) > TAG_VALUE:
                report(record, f"tag {str(key)[:40]!r} is over {TAG_KEY} characters or its value over {TAG_VALUE}")


def _physical_name(record: Record) -> tuple[str, int] | None:
    """(name, characters the provider still appends) for a resource type with a naming rule."""
    if record.type == BUCKET_TYPE:
        keys: tuple[str | None, str | None] = ("bucket", "bucketPrefix")
    elif record.type in NAMES:
        keys = NAMES[record.type][:2]
    else:
        return None
    name_key, prefix_key = keys
    if name_key and isinstance(record.inputs.get(name_key), str):
        return record.inputs[name_key], 0
    if prefix_key and isinstance(record.inputs.get(prefix_key), str):
        return record.inputs[prefix_key], PREFIX_SUFFIX
    return record.name + "-", AUTONAME_SUFFIX - 1


def _names(records: list[Record], report) -> None:
    for record in records:
        named = _physical_name(record)
        if named is None:
            continue
        name, suffix = named
        bad = bucket_problem(name, suffix) if record.type == BUCKET_TYPE else NAMES[record.type][2].problem(name, suffix)
        if bad:
            report(record, bad)


def _duplicates(records: list[Record], report) -> None:
    seen: dict[tuple[str, str], Record] = {}
    urns: set[str] = set()
    for record in records:
        if record.urn in urns:
            report(record, "two resources have this URN; Pulumi refuses the second")
        urns.add(record.urn)
        if record.type not in UNIQUE_NAMES and record.type != BUCKET_TYPE:
            continue
        named = _physical_name(record)
        if named is None or named[1]:
            continue  # generated names are unique by construction
        key = (record.type, named[0])
        if key in seen:
            report(record, f"'{named[0]}' is also the name of {seen[key].name}; AWS allows one of each name")
        seen.setdefault(key, record)


def _security_group_rules(records: list[Record], report) -> None:
    counts: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        direction = {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "inbound",
                     "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "outbound"}.get(record.type)
        if direction:
            for group in record.refs("securityGroupId"):
                counts[(group, direction)].append(record)
            if not SG_RULE_DESCRIPTION.fullmatch(record.inputs.get("description") or ""):
                report(record, "rule description is over 255 characters or has characters EC2 refuses")
    for (group, direction), rules in counts.items():
        if len(rules) > SG_RULES_PER_DIRECTION:
            report(rules[-1], f"{len(rules)} {direction} rules on security group {group.rsplit('::', 1)[-1]}; AWS "
                              f"allows {SG_RULES_PER_DIRECTION} ({QUOTAS_VPC})")


def _load_balancer(records: list[Record], report) -> None:
    by_urn = {r.urn: r for r in records}
    rules_per_alb: dict[str, list[Record]] = defaultdict(list)
    groups_per_alb: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record.type == "aws:lb/targetGroup:TargetGroup":
            hc = record.inputs.get("healthCheck") or {}
            path = hc.get("path")
            if isinstance(path, str) and len(path) not in HEALTH_PATH:
                report(record, f"health check path is {len(path)} characters; AWS allows {HEALTH_PATH.stop - 1}")
            for key, allowed in (("interval", TG_INTERVAL), ("timeout", TG_TIMEOUT), ("healthyThreshold", TG_THRESHOLD),
                                 ("unhealthyThreshold", TG_THRESHOLD)):
                value = hc.get(key)
                if isinstance(value, (int, float)) and int(value) not in allowed:
                    report(record, f"health check {key} {value} is outside {allowed.start}-{allowed.stop - 1}")
        if record.type != "aws:lb/listenerRule:ListenerRule":
            continue
        for listener in record.refs("listenerArn"):
            albs = by_urn[listener].refs("loadBalancerArn") if listener in by_urn else [listener]
            for alb in albs:
                rules_per_alb[alb].append(record)
                for action in record.inputs.get("actions") or ():
                    groups_per_alb[alb].update(record.refs("actions") or [action.get("targetGroupArn", "")])
        priority = record.inputs.get("priority")
        if isinstance(priority, (int, float)) and int(priority) not in RULE_PRIORITY:
            report(record, f"priority {priority} is outside {RULE_PRIORITY.start}-{RULE_PRIORITY.stop - 1}")
        values = [v for c in record.inputs.get("conditions") or () for v in (c.get("pathPattern") or {}).get("values", ())]
        if len(values) > RULE_CONDITION_VALUES:
            report(record, f"{len(values)} condition values; AWS allows {RULE_CONDITION_VALUES} per rule ({QUOTAS_ALB})")
        if sum(v.count("*") + v.count("?") for v in values) > RULE_WILDCARDS:
            report(record, f"more than {RULE_WILDCARDS} wildcards in one rule ({QUOTAS_ALB})")
        for value in values:
            if len(value) > PATH_PATTERN:
                report(record, f"path pattern '{value[:40]}...' is {len(value)} characters; AWS allows {PATH_PATTERN}")
    for alb, rules in rules_per_alb.items():
        if len(rules) > ALB_RULES:
            report(rules[-1], f"{len(rules)} listener rules on one load balancer; AWS allows {ALB_RULES} ({QUOTAS_ALB})")
        if len(groups_per_alb[alb]) > ALB_TARGET_GROUPS:
            report(rules[-1], f"{len(groups_per_alb[alb])} target groups behind one load balancer; AWS allows "
                              f"{ALB_TARGET_GROUPS} ({QUOTAS_ALB})")


def policy_size(document: str) -> int:
    """A policy's size as IAM counts it against the quotas: its characters without white space."""
    return len(re.sub(r"\s", "", document))


def _role_policies(records: list[Record], report) -> None:
    per_role: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        if record.type == "aws:iam/rolePolicy:RolePolicy":
            for role in record.refs("role"):
                per_role[role].append(record)
        if record.type == "aws:iam/role:Role":
            trust = record.inputs.get("assumeRolePolicy")
            if isinstance(trust, str) and policy_size(trust) > ROLE_TRUST_POLICY:
                report(record, f"trust policy is {policy_size(trust)} characters; IAM allows {ROLE_TRUST_POLICY}")
    for policies in per_role.values():
        size = sum(policy_size(p.inputs.get("policy") or "") for p in policies)
        if size > ROLE_INLINE_POLICIES:
            report(policies[-1], f"the role's inline policies are {size} characters without white space; IAM allows "
                                 f"{ROLE_INLINE_POLICIES} per role ({QUOTAS_IAM})")


def _task_definitions(records: list[Record], report) -> None:
    for record in records:
        if record.type != "aws:ecs/taskDefinition:TaskDefinition":
            continue
        raw = record.inputs.get("containerDefinitions")
        if not isinstance(raw, str):
            continue
        containers = json.loads(raw)
        request = {k: v for k, v in record.inputs.items() if k != "containerDefinitions"}
        size = len(json.dumps({**request, "containerDefinitions": containers}, separators=(",", ":")).encode())
        if size > TASK_DEFINITION_BYTES:
            report(record, f"task definition is {size // 1024} KiB; ECS allows {TASK_DEFINITION_BYTES // 1024} KiB "
                           f"({QUOTAS_ECS})")
        names = [c.get("name", "") for c in containers]
        for name in sorted({n for n in names if names.count(n) > 1}):
            report(record, f"two containers are named '{name}'; names must be unique in a task definition")
        for container in containers:
            if not CONTAINER_NAME.fullmatch(container.get("name", "")):
                report(record, f"container name {container.get('name')!r} is not 1-255 letters, digits, _ or -")
            health = container.get("healthCheck")
            if health:
                for bad in ecs_health_problems(health):
                    report(record, f"container {container.get('name')}: {bad}")


def ecs_health_problems(health: Mapping[str, Any]) -> list[str]:
    problems = []
    command = list(health.get("command") or ())
    if not command or command[0] not in ("CMD", "CMD-SHELL"):
        problems.append(f"health check command must start with CMD or CMD-SHELL, not {command[:1]}")
    elif command[0] == "CMD-SHELL" and len(command) != 2:
        problems.append("a CMD-SHELL health check takes exactly one shell line")
    elif command[0] == "CMD" and (len(command) < 2 or command[1] in ("CMD", "CMD-SHELL")):
        problems.append(f"health check runs {command[1] if len(command) > 1 else 'nothing'!r} as its program")
    for key, allowed in ECS_HEALTH.items():
        value = health.get(key)
        if value is not None and value not in allowed:
            problems.append(f"health check {key} {value} is outside {allowed.start}-{allowed.stop - 1}")
    return problems


def _engines(records: list[Record], report) -> None:
    for record in records:
        inputs = record.inputs
        if record.type == "aws:elasticache/replicationGroup:ReplicationGroup" and inputs.get("engine") == "redis":
            version = REDIS_VERSIONS.get(str(inputs.get("engineVersion")))
            if version is None:
                report(record, f"ElastiCache offers no Redis OSS {inputs.get('engineVersion')}; it takes "
                               f"{', '.join(REDIS_VERSIONS)}")
                continue
            if inputs.get("transitEncryptionMode") and not version.transit_encryption_mode:
                report(record, f"transitEncryptionMode needs Redis OSS 7.0.5 or later, not {inputs.get('engineVersion')}")
            for config in inputs.get("logDeliveryConfigurations") or ():
                if config.get("logType") not in version.log_types:
                    report(record, f"Redis OSS {inputs.get('engineVersion')} cannot deliver its {config.get('logType')}")
            if inputs.get("multiAzEnabled") and not inputs.get("automaticFailoverEnabled"):
                report(record, "Multi-AZ needs automatic failover")
            if inputs.get("automaticFailoverEnabled") and (inputs.get("numCacheClusters") or 1) < 2:
                report(record, "automatic failover needs at least one replica (NumCacheClusters of 2 or more)")
        if record.type == "aws:mq/broker:Broker" and str(inputs.get("engineType", "")).lower() == "rabbitmq":
            for bad in rabbitmq_problems(inputs):
                report(record, bad)


def rabbitmq_problems(inputs: Mapping[str, Any]) -> list[str]:
    problems = []
    if inputs.get("encryptionOptions"):
        problems.append("encryptionOptions is not supported for RabbitMQ brokers (an AWS-owned key encrypts them)")
    for user in inputs.get("users") or ():
        if user.get("username") in RABBITMQ_RESERVED_USERS:
            problems.append(f"username '{user.get('username')}' is reserved by Amazon MQ")
    version, instance = str(inputs.get("engineVersion")), str(inputs.get("hostInstanceType"))
    if version not in RABBITMQ_VERSIONS:
        problems.append(f"Amazon MQ creates RabbitMQ {', '.join(RABBITMQ_VERSIONS)} brokers, not {version}")
    elif not instance.startswith(RABBITMQ_VERSIONS[version]):
        problems.append(f"RabbitMQ {version} runs on {', '.join(f + '*' for f in RABBITMQ_VERSIONS[version])}, "
                        f"not {instance}")
    if not inputs.get("autoMinorVersionUpgrade"):
        problems.append("autoMinorVersionUpgrade must be true for RabbitMQ 3.13 and later (botocore mq CreateBrokerRequest)")
    return problems


class _Blame:
    """Which config key made a resource, read from its logical name: Platform names each part's resources
    `<platform>-<part>-...`, and a service's `<platform>-services-<service>-...` (its alarms
    `<platform>-monitoring-<service>-...`, its target group `<platform>-proxy-<service>`)."""

    # Platform children whose logical name is not their config key; every other part (network, proxy, monitoring and
    # each part kind of config/parts.py) is named after its `twinstack:<key>`.
    RENAMED = {"app-secrets": "secrets", "secrets": "generatedSecrets"}

    def __init__(self, service_names: Sequence[str]):
        # longest first, so `api-v2` wins over `api` for `twinstack-services-api-v2-task`
        self.services = sorted(((n, i) for i, n in enumerate(service_names)), key=lambda p: -len(p[0]))

    def __call__(self, record: Record) -> str:
        _, _, rest = record.name.partition("-")
        for part in ("services", "monitoring", "proxy"):
            if rest.startswith(f"{part}-"):
                tail = rest[len(part) + 1:]
                for name, i in self.services:
                    if tail == name or tail.startswith(f"{name}-"):
                        return f"services[{i}]"
        if "ListenerRule" in record.type:
            return "proxy.routes"
        if "securityGroup" in record.type or "SecurityGroup" in record.type:
            return "services (their ports)"
        for renamed, key in self.RENAMED.items():
            if rest.startswith(f"{renamed}-"):
                return key
        part, dash, _ = rest.partition("-")
        return part if dash and part else "namePrefix"
