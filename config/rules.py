"""Rules that span fields: each returns every problem it finds as (key path, message), never stopping early."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from config.model import StackConfig
from config.parts import KINDS, WITH_PASSWORD

Problem = tuple[str, str]


def injected_env(part: str) -> tuple[str, ...]:
    """The env vars a part hands to the services that use it (the contract; see components/contracts.py)."""
    return KINDS[part].env


def check(cfg: StackConfig) -> list[Problem]:
    """The rules of the stack itself, then the chosen backend's (`components/<backend>/rules.py`): what it can deploy."""
    problems: list[Problem] = []
    for rule in (_services, _dependencies, _secrets, _duplicates, _networks, _routes, _tls, _environment, _consistency):
        problems.extend(rule(cfg))
    backend_rules = importlib.import_module(f"components.{cfg.backend}.rules")
    problems.extend(backend_rules.check(cfg))
    return problems


def _services(cfg: StackConfig) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, svc in enumerate(cfg.services):
        if svc.name in first:
            yield f"services[{i}].name", f"duplicate service name '{svc.name}' (also services[{first[svc.name]}])"
        first.setdefault(svc.name, i)
        for k, part in enumerate(svc.uses):
            if cfg.part(part) is None:
                yield f"services[{i}].uses[{k}]", f"uses '{part}' but twinstack:{part} is not configured"
            for env in injected_env(part):
                if env in svc.env:
                    yield f"services[{i}].env.{env}", f"is set by '{part}' (uses); remove it from env"
        for env in svc.env:
            if env in svc.secrets or env in svc.optional_secrets:
                yield f"services[{i}].env.{env}", "is also a secret of this service; keep it in one place"
        if svc.worker and svc.health_check.path is not None:
            yield (f"services[{i}].healthCheck.path", "a worker (no port) has nothing to GET: give its health check a "
                   "command, e.g. [\"CMD-SHELL\", \"celery inspect ping\"]")
        if svc.worker and svc.metrics is not None and svc.metrics.port is None:
            yield f"services[{i}].metrics.port", "a worker has no service port: say where its metrics listen"
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
    parts = {key: cfg.part(key) for key in WITH_PASSWORD}
    for name in cfg.generated_secrets:
        if name.lower() in parts:
            yield (f"generatedSecrets.{name}", f"'{name}' is the rotation key of twinstack:{name.lower()}'s own password;"
                   " name the secret after what uses it")
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


def _routes(cfg: StackConfig) -> Iterator[Problem]:
    names = {s.name for s in cfg.services}
    volumes = {v.name for s in cfg.services for v in s.volumes}
    first: dict[str, int] = {}
    for j, route in enumerate(cfg.proxy.routes):
        if route.path in first:
            yield f"proxy.routes[{j}].path", f"duplicate route '{route.path}' (also proxy.routes[{first[route.path]}])"
        first.setdefault(route.path, j)
        if route.service is not None and route.service not in names:
                yield f"proxy.routes[{j}].service", f"unknown service '{route.service}'"
        elif route.service is not None and cfg.service(route.service).worker:
            yield (f"proxy.routes[{j}].service", f"'{route.service}' is a worker (no port): a route needs a service "
                   "that listens; give it a port or route elsewhere")
        if route.volume is not None and route.volume not in volumes:
            yield f"proxy.routes[{j}].volume", f"unknown volume '{route.volume}' (declare it in a service's volumes)"
        if route.strip_prefix and route.path == "/":
            yield f"proxy.routes[{j}].stripPrefix", "the root route has no prefix to strip"


def _tls(cfg: StackConfig) -> Iterator[Problem]:
    tls = cfg.proxy.tls
    if tls is None and cfg.environment != "development" and not cfg.proxy.allow_http:
            yield "proxy.tls", "required outside development (or set proxy.allowHttp where plain HTTP is acceptable)"


def _environment(cfg: StackConfig) -> Iterator[Problem]:
    if not cfg.production:
        return
    if cfg.proxy.allow_http:
        yield "proxy.allowHttp", "not allowed in production: configure proxy.tls"
    if cfg.database and cfg.database.backup_retention_days < 7:
        yield "database.backupRetentionDays", "must be at least 7 in production"
    if cfg.protect_data is False:
        yield "protectData", "cannot be turned off in production"


def _duplicates(cfg: StackConfig) -> Iterator[Problem]:
    """A name listed twice would make two resources (a generated secret) or two env vars (a service's secrets) of
    one name; the second is a mistake, never a wish."""
    lists = [("generatedSecrets", cfg.generated_secrets)]
    if cfg.database:
        lists.append(("database.extensions", cfg.database.extensions))
    for i, svc in enumerate(cfg.services):
        lists += [(f"services[{i}].secrets", svc.secrets), (f"services[{i}].optionalSecrets", svc.optional_secrets),
                  (f"services[{i}].uses", svc.uses), (f"services[{i}].dependsOn", svc.depends_on)]
    for key, names in lists:
        first: dict[str, int] = {}
        for k, name in enumerate(names):
            if name in first:
                yield f"{key}[{k}]", f"'{name}' is listed twice (also {key}[{first[name]}])"
            first.setdefault(name, k)


def _consistency(cfg: StackConfig) -> Iterator[Problem]:
    if cfg.monitoring.grafana and not cfg.monitoring.prometheus:
        yield "monitoring.grafana", "needs monitoring.prometheus as its data source"
    if cfg.database and cfg.database.max_allocated_storage_gb < cfg.database.allocated_storage_gb:
        yield "database.maxAllocatedStorageGb", "must be at least allocatedStorageGb"
