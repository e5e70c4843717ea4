"""What the AWS backend can deploy: the names it derives from config, and every rule config must meet for AWS to
accept them, reported by key path with the rest of the loader's problems (config/load.py calls `check`).

Limits and their sources are in `limits.py`; this module applies them to config. What only the built graph shows
(policy sizes, task definition sizes, rules per security group or listener, duplicate physical names) is checked on
the graph by `limits.graph_problems`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator

from components.aws import defaults, limits
from components.contracts import PREPARE_VOLUMES
from config.model import Route, StackConfig
from config.parts import WITH_PASSWORD

Problem = tuple[str, str]

# The Platform's logical name (`__main__.py`): every logical name, and so every autonamed resource, starts with it.
PLATFORM = "twinstack"
# The container that runs a service's migration before it, in the same task definition.
MIGRATION_CONTAINER = "migrate"
# PostgreSQL key words that cannot name a role or database unquoted: the "reserved" and "reserved (can be function or
# type)" categories of https://www.postgresql.org/docs/current/sql-keywords-appendix.html (tests compare this list
# with the parser's own, through pglast).
POSTGRES_RESERVED = frozenset({
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary",
    "both", "case", "cast", "check", "collate", "collation", "column", "concurrently", "constraint", "create",
    "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time",
    "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except",
    "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike", "in",
    "initially", "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left", "like",
    "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or",
    "order", "outer", "overlaps", "placing", "primary", "references", "returning", "right", "select",
    "session_user", "similar", "some", "symmetric", "system_user", "table", "tablesample", "then", "to", "trailing",
    "true", "union", "unique", "user", "using", "variadic", "verbose", "when", "where", "window", "with",
})
# Names RDS keeps for itself (AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.html), and the
# superuser's namesake, so the app never runs as `postgres`.
RDS_RESERVED_USERS = frozenset({"rdsadmin", "rdsrepladmin", "rds_superuser", "rds_replication", "rds_password",
                                "rdstopmgr", "postgres", "public", "admin"})
RDS_RESERVED_DATABASES = frozenset({"rdsadmin", "template0", "template1"})


# --------------------------------------------------------------------------------------------- derived names


def alb_name(prefix: str) -> str:
    return f"{prefix}-alb"


def target_group_name(prefix: str, service: str) -> str:
    return f"{prefix}-{service}"


def cache_node_ids(stack: StackConfig) -> list[str]:
    """The replication group's node ids, as ElastiCache names them (`<group>-001`, ...): CloudWatch reports per node."""
    return [f"{stack.name_prefix}-redis-{i + 1:03d}" for i in range(1 + defaults.cache_replicas(stack))]


def route_service(stack: StackConfig, route: Route) -> str | None:
    """The service a route forwards to (None for a name no service has, which config rules report). An ALB cannot
    serve files, so a `volume` route goes to the service that declares that volume (its writer first), which must
    serve those files itself on AWS."""
    if route.service is not None:
        return route.service if any(s.name == route.service for s in stack.services) else None
    declaring = sorted((v.read_only, s.name) for s in stack.services for v in s.volumes
                       if v.name == route.volume and s.port is not None)
    return declaring[0][1] if declaring else None


def routed_services(stack: StackConfig) -> list[str]:
    """Services behind the ALB, in route order, each once."""
    return [s for s in dict.fromkeys(route_service(stack, r) for r in stack.proxy.routes) if s is not None]


def path_patterns(path: str) -> list[str]:
    """The ALB path-pattern values of a route: nginx-like prefix matching, `/api` and `/api/...`."""
    base = path.rstrip("/")
    return ["/*"] if not base else [base, f"{base}/*"]


def port_ranges(ports: dict[str, int]) -> list[tuple[tuple[int, int], str, str]]:
    """Services' ports ({service: port}) as runs of consecutive ports: ((from, to), "3001-3020", who listens).

    One rule per run opens exactly the same ports as one rule per port, in fewer rules (limits.SG_RULES_PER_DIRECTION):
    Castiel's 21 services on 3000-3020 need one, not 21. Descriptions name the services while they fit EC2's 255
    characters, and count them otherwise.
    """
    runs: list[list[int]] = []
    for port in sorted(set(ports.values())):
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    out = []
    for run in runs:
        users = [name for name, port in ports.items() if port in run]
        who = ", ".join(users) if len(", ".join(users)) <= 150 else f"{len(users)} services"
        label = str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"
        out.append(((run[0], run[-1]), label, who))
    return out


def service_alarm_roles(service: str) -> tuple[str, str]:
    return f"{service}-cpu", f"{service}-memory"


# Alarms of the load balancer and the database (monitoring.py); the cache's are per node, `<node>-<metric>`.
ALB_ALARM_ROLES = ("alb-target-5xx", "alb-elb-5xx", "alb-latency")
DATABASE_ALARM_ROLES = ("db-cpu", "db-connections", "db-free-storage")
CACHE_NODE_ALARMS = ("cpu", "memory", "evictions")


def part_alarm_roles(stack: StackConfig) -> dict[str, str]:
    """{alarm role: the config key that makes it} for the alarms that are not a service's."""
    roles = {role: "proxy" for role in ALB_ALARM_ROLES}
    if stack.database:
        roles.update({role: "database" for role in DATABASE_ALARM_ROLES})
    if stack.cache:
        for node in cache_node_ids(stack):
            roles.update({f"{node.removeprefix(stack.name_prefix + '-')}-{m}": "cache" for m in CACHE_NODE_ALARMS})
    return roles


# ------------------------------------------------------------------------------------------------------ checks


Rule = Callable[[StackConfig], Iterator[Problem]]
RULES: list[Rule] = []


def rule(each: Rule) -> Rule:
    """Registers a check: `check` runs them all, in the order this file defines them."""
    RULES.append(each)
    return each


def check(stack: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    for each in RULES:
        problems.extend(each(stack))
    return problems


@rule
def _stack_names(stack: StackConfig) -> Iterator[Problem]:
    """Every name derived from namePrefix alone, against its rule: one message per rule the prefix breaks."""
    p = stack.name_prefix
    named: list[tuple[limits.Name, str, int]] = [
        (limits.LOAD_BALANCER, alb_name(p), 0), (limits.ECS_NAME, p, 0), (limits.SNS_TOPIC, f"{p}-alarms", 0),
        (limits.DASHBOARD, p, 0), (limits.KMS_ALIAS, f"alias/twinstack/{p}", 0),
        (limits.SERVICE_CONNECT_NAMESPACE, f"{p}-services", 0)]
    if stack.database:
        named += [(limits.RDS_IDENTIFIER, f"{p}-postgres", 0), (limits.RDS_IDENTIFIER, f"{p}-postgres-final", 0)]
    if stack.cache:
        named += [(limits.CACHE_GROUP_ID, f"{p}-redis", 0)]
    if stack.broker:
        named += [(limits.MQ_BROKER, f"{p}-rabbitmq", 0)]
    buckets = [f"{p}-alb-logs-"] if stack.production else []
    if stack.storage and stack.storage.bucket_name is None:
        buckets.append(f"{p}-workspace-")
        if stack.production:
            buckets.append(f"{p}-workspace-logs-")
    seen: set[str] = set()
    for rule, name, suffix in named:
        bad = rule.problem(name, suffix)
        if bad and rule.what not in seen:
            seen.add(rule.what)
            yield "namePrefix", f"{bad} ({rule.source})"
    for bucket in buckets:
        bad = limits.bucket_problem(bucket, limits.PREFIX_SUFFIX)
        if bad:
            yield "namePrefix", f"{bad} ({limits.BUCKET.source})"
            break
    if stack.storage and stack.storage.bucket_name is not None:
        bad = limits.bucket_problem(stack.storage.bucket_name)
        if bad:
            yield "storage.bucketName", f"{bad} ({limits.BUCKET.source})"


def _autoname(*logical: str) -> str:
    return "-".join((PLATFORM, *logical)) + "-"


@rule
def _service_names(stack: StackConfig) -> Iterator[Problem]:
    p = stack.name_prefix
    routed = set(routed_services(stack))
    part_alarms = part_alarm_roles(stack)
    for i, svc in enumerate(stack.services):
        s = svc.name
        named: list[tuple[limits.Name, str, int]] = [
            (limits.IAM_ROLE, _autoname("services", s, "execution-role"), limits.AUTONAME_SUFFIX - 1),
            (limits.ECS_NAME, f"{p}-{s}", 0), (limits.LOG_GROUP, f"/twinstack/{p}/services/{s}", 0),
            *((limits.ALARM, f"{p}-{role}", 0) for role in service_alarm_roles(s))]
        if "storage" in svc.uses and stack.storage:
            named.append((limits.IAM_ROLE, _autoname("services", s, "task-role"), limits.AUTONAME_SUFFIX - 1))
        if s in routed:
            named.append((limits.TARGET_GROUP, target_group_name(p, s), 0))
        if svc.build:
            named.append((limits.ECR_REPOSITORY, f"{p}/{s}", 0))
        for rule, name, suffix in named:
            bad = rule.problem(name, suffix)
            if bad:
                yield f"services[{i}].name", f"{bad}: shorten the service name or twinstack:namePrefix ({rule.source})"
        for role in service_alarm_roles(s):
            if role in part_alarms:
                yield (f"services[{i}].name", f"its alarm '{p}-{role}' has the name of an alarm of "
                       f"twinstack:{part_alarms[role]}; rename the service")
        if svc.migration and s == MIGRATION_CONTAINER:
            yield (f"services[{i}].name", f"'{s}' is the name of the container that runs its migration in the same "
                   "task definition, and ECS needs distinct container names; rename the service")
        if s == PREPARE_VOLUMES and (svc.read_only_root_filesystem or (svc.user and any(
                not v.read_only for v in svc.volumes))):
            yield (f"services[{i}].name", f"'{s}' is the name of the container that prepares its volumes in the same "
                   "task definition, and ECS needs distinct container names; rename the service")


@rule
def _secret_names(stack: StackConfig) -> Iterator[Problem]:
    p = stack.name_prefix
    for key, names in (("generatedSecrets", stack.generated_secrets), ("secrets", stack.secret_names)):
        for name in names:
            bad = limits.SECRET.problem(f"{p}/app/{name}-", limits.PREFIX_SUFFIX - 1)
            if bad:
                yield f"{key}.{name}", f"{bad} ({limits.SECRET.source})"


@rule
def _fargate(stack: StackConfig) -> Iterator[Problem]:
    for i, svc in enumerate(stack.services):
        allowed = limits.fargate_memory(svc.cpu)
        if allowed is None:
            yield (f"services[{i}].cpu", f"Fargate accepts {', '.join(map(str, limits.FARGATE_MEMORY))} CPU units, "
                   f"not {svc.cpu}")
        elif svc.memory not in allowed:
            sizes = ", ".join(map(str, allowed)) + " MiB" if len(allowed) <= 4 else (
                f"{allowed[0]}-{allowed[-1]} MiB in steps of {allowed[1] - allowed[0]}")
            yield f"services[{i}].memory", (f"Fargate with cpu {svc.cpu} accepts {sizes}, not {svc.memory} "
                                            f"({limits.FARGATE_SOURCE})")


@rule
def _routes(stack: StackConfig) -> Iterator[Problem]:
    routes = stack.proxy.routes
    if len(routes) > limits.ALB_RULES:
        yield "proxy.routes", (f"{len(routes)} routes, one listener rule each; an ALB takes {limits.ALB_RULES} "
                               f"({limits.QUOTAS_ALB})")
    routed = routed_services(stack)
    if len(routed) > limits.ALB_TARGET_GROUPS:
        yield "proxy.routes", (f"routes reach {len(routed)} services, one target group each; an ALB takes "
                               f"{limits.ALB_TARGET_GROUPS} ({limits.QUOTAS_ALB})")
    for j, route in enumerate(routes):
        if route.volume is not None and route_service(stack, route) is None and any(
                v.name == route.volume for s in stack.services for v in s.volumes):
            yield (f"proxy.routes[{j}].volume", f"an ALB cannot serve files: on AWS a route to '{route.volume}' goes "
                   "to a service with a port that mounts it, and only workers do")
        longest = max(path_patterns(route.path), key=len)
        if len(longest) > limits.PATH_PATTERN:
            yield (f"proxy.routes[{j}].path", f"becomes the ALB path pattern '{longest[:30]}...', {len(longest)} "
                   f"characters; AWS allows {limits.PATH_PATTERN}")
    for i, svc in enumerate(stack.services):
        path = svc.health_check.path
        if svc.name in routed and path and len(path) not in limits.HEALTH_PATH:
            yield (f"services[{i}].healthCheck.path", f"is {len(path)} characters; an ALB health check path takes "
                   f"{limits.HEALTH_PATH.stop - 1} (botocore elbv2.Path)")


def app_security_group_rules(stack: StackConfig) -> dict[str, int]:
    """How many rules network.py puts on the app tier's security group, by direction (and on the ALB's, egress)."""
    routed = {s: stack.service(s).port for s in routed_services(stack)}
    everyone = {s.name: s.port for s in stack.services if s.port is not None}
    data_parts = sum(1 for part in (stack.database, stack.cache, stack.broker) if part is not None)
    egress_out = 2 if defaults.nat(stack) == "none" else 1  # HTTPS to the endpoints and S3, or out through NAT
    return {"app inbound": len(port_ranges(routed)) + len(port_ranges(everyone)),
            "app outbound": len(port_ranges(everyone)) + data_parts + egress_out,
            "alb outbound": len(port_ranges(routed))}


@rule
def _security_groups(stack: StackConfig) -> Iterator[Problem]:
    for where, count in app_security_group_rules(stack).items():
        if count > limits.SG_RULES_PER_DIRECTION:
            yield "services", (f"the services' ports need {count} {where} security group rules (one per run of "
                               f"consecutive ports); AWS allows {limits.SG_RULES_PER_DIRECTION} ({limits.QUOTAS_VPC}): "
                               "give the services consecutive ports")


@rule
def _vpc(stack: StackConfig) -> Iterator[Problem]:
    try:
        vpc = ipaddress.ip_network(stack.network.cidr)
    except ValueError as e:
        yield "network.cidr", f"not a CIDR block: {e}"
        return
    if vpc.version != 4 or not vpc.is_private:
        yield "network.cidr", "must be a private IPv4 range (10/8, 172.16/12 or 192.168/16)"
    if not 16 <= vpc.prefixlen <= 22:
        yield "network.cidr", (f"prefix /{vpc.prefixlen} leaves no room for {2 * stack.network.az_count} subnets: "
                               "use /16 to /22")


@rule
def _tls(stack: StackConfig) -> Iterator[Problem]:
    tls = stack.proxy.tls
    if tls is None:
        return
    if not tls.certificate_arn and not (tls.domain and tls.zone_id):
        yield "proxy.tls", "set certificateArn, or domain and zoneId to create a DNS-validated certificate"
    domain = limits.SHAPES["acm.DomainNameString"]
    if tls.domain is not None and not (len(tls.domain) <= domain["max"] and re.fullmatch(domain["pattern"], tls.domain)):
        yield "proxy.tls.domain", f"'{tls.domain}' is not a domain name ACM accepts (botocore acm.DomainNameString)"
    if tls.zone_id is not None and len(tls.zone_id) > limits.SHAPES["route53.ResourceId"]["max"]:
        yield "proxy.tls.zoneId", "is longer than a Route 53 hosted zone id can be (botocore route53.ResourceId)"


@rule
def _database(stack: StackConfig) -> Iterator[Problem]:
    db = stack.database
    if db is None:
        return
    source = "botocore rds CreateDBInstanceMessage"
    if len(db.username) > 16:
        yield "database.username", f"RDS allows at most 16 characters, not {len(db.username)} ({source}.MasterUsername)"
    if db.username in POSTGRES_RESERVED or db.username in RDS_RESERVED_USERS:
        yield "database.username", (f"'{db.username}' is reserved on RDS PostgreSQL; use an application role name (a "
                                    f"PostgreSQL key word or a name RDS keeps: {source}.MasterUsername)")
    listed = " ".join(db.extensions)  # database.py tags the instance with them (twinstack:pgExtensions)
    if len(listed) > limits.TAG_VALUE:
        yield "database.extensions", (f"{len(db.extensions)} extensions make a {len(listed)}-character tag value; AWS "
                                      f"allows {limits.TAG_VALUE}")
    if db.name in POSTGRES_RESERVED or db.name in RDS_RESERVED_DATABASES:
        yield "database.name", f"'{db.name}' is a PostgreSQL key word or a database RDS reserves ({source}.DBName)"
    # Storage autoscaling's ceiling must be at least 10% above the allocated storage, or RDS answers "Invalid max
    # storage size" (AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html); equal means autoscaling off.
    if db.allocated_storage_gb < db.max_allocated_storage_gb < db.allocated_storage_gb * 1.1:
        yield "database.maxAllocatedStorageGb", (f"must be at least 10% above allocatedStorageGb "
                                                 f"({-(-db.allocated_storage_gb * 11 // 10)}), or equal to it to turn "
                                                 "storage autoscaling off")
    # A restore replaces the instance (docs/operations.md); a protected database is replaced only when asked twice.
    if db.restore_from_snapshot and stack.protects_data and not db.allow_protected_replacement:
        yield "database.restoreFromSnapshot", ("replaces the database, which is protected (protectData"
                                               f"{', production' if stack.production else ''}): set "
                                               "database.allowProtectedReplacement: true as well to allow it")


@rule
def _cache(stack: StackConfig) -> Iterator[Problem]:
    if stack.cache is None:
        return
    if limits.redis_engine_version(stack.cache.version) is None:
        yield "cache.version", (f"ElastiCache offers Redis OSS {', '.join(limits.REDIS_VERSIONS)} (or 6, 7 for the "
                                f"newest minor), not {stack.cache.version} "
                                "(AmazonElastiCache/latest/dg/engine-versions.html)")


@rule
def _broker(stack: StackConfig) -> Iterator[Problem]:
    broker = stack.broker
    if broker is None:
        return
    instance = defaults.broker_instance_type(stack)
    families = limits.RABBITMQ_VERSIONS.get(broker.version)
    if families is None:
        yield "broker.version", (f"Amazon MQ creates RabbitMQ {', '.join(limits.RABBITMQ_VERSIONS)} brokers, not "
                                 f"{broker.version} (amazon-mq/latest/developer-guide/rabbitmq-version-management.html)")
    elif not instance.startswith(families):
        yield "broker.instanceType", (f"RabbitMQ {broker.version} runs on {', '.join(f + '*' for f in families)}, not "
                                      f"{instance}")
    if broker.username in limits.RABBITMQ_RESERVED_USERS:
        yield "broker.username", f"'{broker.username}' is reserved by Amazon MQ (botocore mq User.Username); choose another"
    if defaults.broker_mode(stack) == "CLUSTER_MULTI_AZ" and instance.startswith("mq.t3."):
        yield "broker.instanceType", (f"{instance} only runs SINGLE_INSTANCE brokers; a Multi-AZ cluster needs "
                                      "mq.m5.large or larger")


@rule
def _docker_only(stack: StackConfig) -> Iterator[Problem]:
    if stack.docker_host:
        yield "dockerHost", "only applies to the docker backend"
    if stack.database and stack.database.init_sql:
        yield "database.initSql", "only applies to the docker backend; on RDS run it as a service migration"


@rule
def _replicas(stack: StackConfig) -> Iterator[Problem]:
    for i, svc in enumerate(stack.services):
        if svc.autoscaling and svc.replicas > svc.autoscaling.max:
            yield f"services[{i}].replicas", f"{svc.replicas} exceeds autoscaling.max {svc.autoscaling.max}"


# Upper bounds of what a service's secrets and env add to its execution policy and task definition, so that a
# config that would break those limits is refused before anything exists (the recorded graph is checked exactly by
# limits.graph_problems). A secret's ARN: partition, the longest region name, account, `secret:`, its name and the
# provider's 26-character suffix, and the 7 characters Secrets Manager appends.
ARN_OVERHEAD = len("arn:aws-us-gov:secretsmanager:ap-southeast-5:123456789012:secret:") + limits.PREFIX_SUFFIX + 7
POLICY_OVERHEAD = 1_500  # the statements around the secret ARNs: logs, image pulls, KMS (measured: about 900)
# a container's fixed fields: logging, mounts, health check, port mappings (measured: 1.6 KiB with the HTTP probe)
TASK_OVERHEAD = 4_096


@rule
def _sizes(stack: StackConfig) -> Iterator[Problem]:
    p = stack.name_prefix
    for i, svc in enumerate(stack.services):
        secrets = {f"{p}/app/{name}" for name in [*svc.secrets, *svc.optional_secrets]}
        secrets |= {f"{p}/{part}" for part in svc.uses if part in WITH_PASSWORD}
        policy = POLICY_OVERHEAD + sum(len(s) + ARN_OVERHEAD + 3 for s in secrets)
        if policy > limits.ROLE_INLINE_POLICIES:
            yield (f"services[{i}].secrets", f"{len(secrets)} secrets make its execution role's policy about {policy} "
                   f"characters; IAM allows {limits.ROLE_INLINE_POLICIES} per role ({limits.QUOTAS_IAM}): share fewer "
                   "secrets with this service, or group values in one secret")
        # each env var: {"name": .., "value": ..}; each secret: {"name": .., "valueFrom": "<arn>:<json key>::<version>"}
        env = sum(len(k) + len(json.dumps(v)) + 30 for k, v in svc.env.items())  # as JSON: quotes escaped
        env += sum(2 * len(k) + len(p) + ARN_OVERHEAD + 80 for k in [*svc.secrets, *svc.optional_secrets])
        container = env + TASK_OVERHEAD + len(json.dumps(svc.health_check.test or []))
        size = container + len(json.dumps(svc.command or []))
        if svc.migration:  # it runs with the same env in the same task definition
            size += container + len(json.dumps(svc.migration.command))
        if size > limits.TASK_DEFINITION_BYTES:
            yield (f"services[{i}].env", f"its env and commands make a task definition of about {size // 1024} KiB"
                   f"{' (the migration container carries it too)' if svc.migration else ''}; ECS allows "
                   f"{limits.TASK_DEFINITION_BYTES // 1024} KiB ({limits.QUOTAS_ECS}): move large values and commands "
                   "to a file or a secret")
