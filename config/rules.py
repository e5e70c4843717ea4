"""Rules that span fields: each returns every problem it finds as (key path, message), never stopping early."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path

from config.model import StackConfig

Problem = tuple[str, str]

# Fargate's allowed (cpu units -> memory MiB) combinations.
FARGATE_MEMORY: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}
# Names AWS gives the parts, from the prefix; the same functions name the resources in components/aws.
AWS_NAME_LIMIT = 32  # ALB and target group names
# Master user names RDS PostgreSQL refuses; `postgres` too, so the app never runs as the superuser's namesake.
RDS_RESERVED_USERS = {"postgres", "rdsadmin", "rdsrepladmin", "rds_superuser", "user", "public", "admin"}


def target_group_name(prefix: str, service: str) -> str:
    return f"{prefix}-{service}"


def alb_name(prefix: str) -> str:
    return f"{prefix}-alb"


def injected_env(part: str) -> tuple[str, ...]:
    """The env vars a part hands to the services that use it (the contract; see components/contracts.py)."""
    return {
        "database": ("DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"),
        "cache": ("REDIS_URL",),
        "broker": ("AMQP_URL",),
        "storage": ("STORAGE_URL", "STORAGE_PATH", "STORAGE_BUCKET"),
    }[part]


def check(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    for rule in (_services, _dependencies, _secrets, _networks, _routes, _host_ports, _tls, _environment, _aws_names,
                 _fargate_sizes, _vpc, _backend_only, _docker_names, _files):
        problems.extend(rule(cfg))
    return problems


def _services(cfg: StackConfig) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, svc in enumerate(cfg.services):
        if svc.name in first:
            yield f"services[{i}].name", f"duplicate service name '{svc.name}' (also services[{first[svc.name]}])"
        first.setdefault(svc.name, i)
        for k, part in enumerate(svc.uses):
            if getattr(cfg, part) is None:
                yield f"services[{i}].uses[{k}]", f"uses '{part}' but twinstack:{part} is not configured"
            for env in injected_env(part):
                if env in svc.env:
                    yield f"services[{i}].env.{env}", f"is set by '{part}' (uses); remove it from env"
        for env in svc.env:
            if env in svc.secrets or env in svc.optional_secrets:
                yield f"services[{i}].env.{env}", "is also a secret of this service; keep it in one place"
        if svc.autoscaling and cfg.backend == "aws" and svc.replicas > svc.autoscaling.max:
            yield f"services[{i}].replicas", f"{svc.replicas} exceeds autoscaling.max {svc.autoscaling.max}"
        seen_paths: set[str] = set()
        for k, vol in enumerate(svc.volumes):
            if vol.path in seen_paths or (cfg.storage and "storage" in svc.uses and vol.path == cfg.storage.mount_path):
                yield f"services[{i}].volumes[{k}].path", f"'{vol.path}' is mounted twice in this service"
            seen_paths.add(vol.path)


def _dependencies(cfg: StackConfig) -> Iterator[Problem]:
    names = {s.name for s in cfg.services}
    graph: dict[str, list[str]] = {}
    for i, svc in enumerate(cfg.services):
        graph[svc.name] = []
        for k, dep in enumerate(svc.depends_on):
            if dep == svc.name:
                yield f"services[{i}].dependsOn[{k}]", "a service cannot depend on itself"
            elif dep not in names:
                yield f"services[{i}].dependsOn[{k}]", f"unknown service '{dep}' (known: {', '.join(sorted(names))})"
            else:
                graph[svc.name].append(dep)
    cycle = find_cycle(graph)
    if cycle:
        i = next(i for i, s in enumerate(cfg.services) if s.name == cycle[0])
        yield f"services[{i}].dependsOn", "dependency cycle: " + " -> ".join(cycle)


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def _secrets(cfg: StackConfig) -> Iterator[Problem]:
    provided, generated = set(cfg.secret_names), set(cfg.generated_secrets)
    for name in sorted(provided & generated):
        yield f"generatedSecrets.{name}", "is also set in twinstack:secrets; a secret is either generated or provided"
    for i, svc in enumerate(cfg.services):
        for k, name in enumerate(svc.secrets):
            if name not in provided | generated:
                yield (f"services[{i}].secrets[{k}]",
                       f"'{name}' is not set: run `pulumi config set --secret --path 'twinstack:secrets.{name}' <value>`"
                       " or add it to twinstack:generatedSecrets")
    parts = {"database": cfg.database, "cache": cfg.cache, "broker": cfg.broker}
    for key in cfg.rotation:
        if key not in generated and parts.get(key) is None:
            yield f"rotation.{key}", ("not a generated secret: rotate one of "
                                      + ", ".join(sorted([p for p, v in parts.items() if v] + list(generated))))


def _networks(cfg: StackConfig) -> Iterator[Problem]:
    net = cfg.network
    segments = {s.name: s for s in net.segments}
    if len(segments) != len(net.segments):
        yield "network.segments", "segment names must be unique"
    for key, name in (("proxySegment", net.proxy_segment), ("dataSegment", net.data_segment)):
        if name not in segments:
            yield f"network.{key}", f"unknown segment '{name}' (known: {', '.join(segments)})"
    if net.proxy_segment in segments and segments[net.proxy_segment].internal:
        yield "network.proxySegment", "the proxy publishes ports, so its segment cannot be internal"
    if cfg.backend != "docker":
        return
    joined = {s.name: service_segments(cfg, s.name) for s in cfg.services}
    for i, svc in enumerate(cfg.services):
        for k, seg in enumerate(svc.networks or ()):
            if seg not in segments:
                yield f"services[{i}].networks[{k}]", f"unknown segment '{seg}' (known: {', '.join(segments)})"
        data_parts = [p for p in svc.uses if p in ("database", "cache", "broker")]
        if data_parts and net.data_segment not in joined[svc.name]:
            yield f"services[{i}].networks", f"uses {', '.join(data_parts)} but does not join '{net.data_segment}'"
        for k, dep in enumerate(svc.depends_on):
            if dep in joined and not set(joined[svc.name]) & set(joined[dep]):
                yield f"services[{i}].dependsOn[{k}]", f"shares no network with '{dep}', so it cannot reach it"


def service_segments(cfg: StackConfig, name: str) -> list[str]:
    """The docker networks a service joins: as configured, or the proxy segment plus the data one if it needs data."""
    svc = cfg.service(name)
    if svc.networks is not None:
        return svc.networks
    needs_data = any(p in svc.uses for p in ("database", "cache", "broker"))
    net = cfg.network
    return [net.proxy_segment, net.data_segment] if needs_data else [net.proxy_segment]


def _routes(cfg: StackConfig) -> Iterator[Problem]:
    names = {s.name for s in cfg.services}
    volumes = {v.name for s in cfg.services for v in s.volumes}
    first: dict[str, int] = {}
    for j, route in enumerate(cfg.proxy.routes):
        if route.path in first:
            yield f"proxy.routes[{j}].path", f"duplicate route '{route.path}' (also proxy.routes[{first[route.path]}])"
        first.setdefault(route.path, j)
        if route.service is not None:
            if route.service not in names:
                yield f"proxy.routes[{j}].service", f"unknown service '{route.service}'"
            elif cfg.backend == "docker" and cfg.network.proxy_segment not in service_segments(cfg, route.service):
                yield (f"proxy.routes[{j}].service",
                       f"'{route.service}' does not join '{cfg.network.proxy_segment}', where the proxy is")
        if route.volume is not None and route.volume not in volumes:
            yield f"proxy.routes[{j}].volume", f"unknown volume '{route.volume}' (declare it in a service's volumes)"
        if route.strip_prefix and route.path == "/":
            yield f"proxy.routes[{j}].stripPrefix", "the root route has no prefix to strip"


def _host_ports(cfg: StackConfig) -> Iterator[Problem]:
    if cfg.backend != "docker":
        return
    used: dict[int, str] = {}
    claims = [("proxy.httpPort", cfg.proxy.http_port)]
    if cfg.proxy.tls:
        claims.append(("proxy.httpsPort", cfg.proxy.https_port))
    if cfg.database and cfg.database.host_port:
        claims.append(("database.hostPort", cfg.database.host_port))
    if cfg.broker and cfg.broker.management_ui:
        claims.append(("broker.managementPort", cfg.broker.management_port))
    if cfg.monitoring.grafana:
        claims.append(("monitoring.grafanaPort", cfg.monitoring.grafana_port))
    for key, port in claims:
        if port in used:
            yield key, f"host port {port} is already used by {used[port]}"
        used.setdefault(port, key)


def _tls(cfg: StackConfig) -> Iterator[Problem]:
    tls = cfg.proxy.tls
    if tls is None:
        if cfg.environment != "development" and not cfg.proxy.allow_http:
            yield "proxy.tls", "required outside development (or set proxy.allowHttp where plain HTTP is acceptable)"
        return
    if cfg.backend == "aws" and not tls.certificate_arn and not (tls.domain and tls.zone_id):
        yield "proxy.tls", "set certificateArn, or domain and zoneId to create a DNS-validated certificate"
    if cfg.backend == "docker" and not (tls.cert_file and tls.key_file):
        yield "proxy.tls", "the docker proxy needs certFile and keyFile"


def _environment(cfg: StackConfig) -> Iterator[Problem]:
    if not cfg.production:
        return
    if cfg.proxy.allow_http:
        yield "proxy.allowHttp", "not allowed in production: configure proxy.tls"
    if cfg.database and cfg.database.backup_retention_days < 7:
        yield "database.backupRetentionDays", "must be at least 7 in production"
    if cfg.protect_data is False:
        yield "protectData", "cannot be turned off in production"


def _aws_names(cfg: StackConfig) -> Iterator[Problem]:
    if cfg.backend != "aws":
        return
    if "--" in cfg.name_prefix or cfg.name_prefix.endswith("-"):
        yield "namePrefix", "must not contain '--' or end with '-' (RDS identifier rules)"
    for i, svc in enumerate(cfg.services):
        tg = target_group_name(cfg.name_prefix, svc.name)
        if len(tg) > AWS_NAME_LIMIT:
            yield (f"services[{i}].name", f"target group name '{tg}' is {len(tg)} characters, AWS allows "
                   f"{AWS_NAME_LIMIT}: shorten the service name or twinstack:namePrefix")
    if cfg.database:
        user = cfg.database.username
        if len(user) > 16:
            yield "database.username", f"RDS allows at most 16 characters, not {len(user)}"
        if user in RDS_RESERVED_USERS:
            yield "database.username", f"'{user}' is reserved on RDS PostgreSQL; use an application role name"
    if cfg.broker and cfg.broker_mode == "CLUSTER_MULTI_AZ" and cfg.broker_instance_type.startswith("mq.t3."):
        yield "broker.instanceType", (f"{cfg.broker_instance_type} only runs SINGLE_INSTANCE brokers; a Multi-AZ "
                                      "cluster needs mq.m5.large or larger")
    bucket = cfg.storage.bucket_name if cfg.storage else None
    if bucket is not None:
        bad = bucket_name_problem(bucket)
        if bad:
            yield "storage.bucketName", bad


def bucket_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        return "only lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "no adjacent dots, or dots next to hyphens"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "must not look like an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
        return "uses a prefix or suffix S3 reserves"
    return None


def _fargate_sizes(cfg: StackConfig) -> Iterator[Problem]:
    if cfg.backend != "aws":
        return
    for i, svc in enumerate(cfg.services):
        allowed = FARGATE_MEMORY.get(svc.cpu)
        if allowed is None:
            yield f"services[{i}].cpu", f"Fargate accepts {', '.join(map(str, FARGATE_MEMORY))} CPU units, not {svc.cpu}"
        elif svc.memory not in allowed:
            yield (f"services[{i}].memory", f"Fargate with cpu {svc.cpu} accepts {allowed.start}-{allowed.stop - 1} "
                   f"MiB in steps of {allowed.step}, not {svc.memory}")


def _vpc(cfg: StackConfig) -> Iterator[Problem]:
    if cfg.backend != "aws":
        return
    try:
        vpc = ipaddress.ip_network(cfg.network.cidr)
    except ValueError as e:
        yield "network.cidr", f"not a CIDR block: {e}"
        return
    if vpc.version != 4 or not vpc.is_private:
        yield "network.cidr", "must be a private IPv4 range (10/8, 172.16/12 or 192.168/16)"
    if not 16 <= vpc.prefixlen <= 22:
        yield "network.cidr", f"prefix /{vpc.prefixlen} leaves no room for {2 * cfg.network.az_count} subnets: use /16 to /22"


def _backend_only(cfg: StackConfig) -> Iterator[Problem]:
    if cfg.backend == "aws":
        if cfg.docker_host:
            yield "dockerHost", "only applies to the docker backend"
        if cfg.database and cfg.database.init_sql:
            yield "database.initSql", "only applies to the docker backend; on RDS run it as a service migration"
    if cfg.monitoring.grafana and not cfg.monitoring.prometheus:
        yield "monitoring.grafana", "needs monitoring.prometheus as its data source"
    if cfg.database and cfg.database.max_allocated_storage_gb < cfg.database.allocated_storage_gb:
        yield "database.maxAllocatedStorageGb", "must be at least allocatedStorageGb"


def _docker_names(cfg: StackConfig) -> Iterator[Problem]:
    """A service named like a container the docker backend runs for a configured part would share its container name
    and network alias (a service called `postgres` is fine when twinstack:database is not set)."""
    if cfg.backend != "docker":
        return
    taken = {"proxy": "the proxy"}
    for alias, part, on in (("postgres", "twinstack:database", cfg.database), ("redis", "twinstack:cache", cfg.cache),
                            ("rabbitmq", "twinstack:broker", cfg.broker),
                            ("prometheus", "monitoring.prometheus", cfg.monitoring.prometheus),
                            ("grafana", "monitoring.grafana", cfg.monitoring.grafana)):
        if on:
            taken[alias] = part
    for i, svc in enumerate(cfg.services):
        if svc.name in taken:
            yield (f"services[{i}].name", f"'{svc.name}' is the container name and network alias the docker backend "
                   f"uses for {taken[svc.name]}; rename the service")


def _files(cfg: StackConfig) -> Iterator[Problem]:
    """Files the docker backend uploads into containers, relative to the project directory (where Pulumi runs)."""
    if cfg.backend != "docker":
        return
    wanted = []
    if cfg.database and cfg.database.init_sql:
        wanted.append(("database.initSql", cfg.database.init_sql))
    if cfg.proxy.tls:
        wanted += [(f"proxy.tls.{key}", path) for key, path in (("certFile", cfg.proxy.tls.cert_file),
                                                                ("keyFile", cfg.proxy.tls.key_file)) if path]
    for key, path in wanted:
        if not Path(path).is_file():
            yield key, f"no such file {path!r} (paths are relative to the project directory)"

