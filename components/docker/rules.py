"""What the docker backend can deploy: container names and networks, host ports, and files it uploads.

config/load.py runs `check` with the stack's own rules, so every problem is reported at once, by key path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from config.model import StackConfig
from config.parts import DATA_TIER

Problem = tuple[str, str]


def service_segments(cfg: StackConfig, name: str) -> list[str]:
    """The docker networks a service joins: as configured, or the proxy segment plus the data one if it needs data."""
    svc = cfg.service(name)
    if svc.networks is not None:
        return svc.networks
    needs_data = any(p in svc.uses for p in DATA_TIER)
    net = cfg.network
    return [net.proxy_segment, net.data_segment] if needs_data else [net.proxy_segment]


def check(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    for rule in (_networks, _routes, _host_ports, _tls, _names, _files):
        problems.extend(rule(cfg))
    if cfg.database and (cfg.database.restore_from_snapshot or cfg.database.allow_protected_replacement):
        problems.append(("database.restoreFromSnapshot", "restores an RDS snapshot (aws); on docker, restore a dump "
                         "with `make restore` (docs/operations.md)"))
    return problems


def _networks(cfg: StackConfig) -> Iterator[Problem]:
    net = cfg.network
    segments = [s.name for s in net.segments]
    joined = {s.name: service_segments(cfg, s.name) for s in cfg.services}
    for i, svc in enumerate(cfg.services):
        for k, seg in enumerate(svc.networks or ()):
            if seg not in segments:
                yield f"services[{i}].networks[{k}]", f"unknown segment '{seg}' (known: {', '.join(segments)})"
        data_parts = [p for p in svc.uses if p in DATA_TIER]
        if data_parts and net.data_segment not in joined[svc.name]:
            yield f"services[{i}].networks", f"uses {', '.join(data_parts)} but does not join '{net.data_segment}'"
        for k, dep in enumerate(svc.depends_on):
            if dep in joined and not set(joined[svc.name]) & set(joined[dep]):
                yield f"services[{i}].dependsOn[{k}]", f"shares no network with '{dep}', so it cannot reach it"


def _routes(cfg: StackConfig) -> Iterator[Problem]:
    names = {s.name for s in cfg.services}
    for j, route in enumerate(cfg.proxy.routes):
        if route.service in names and cfg.network.proxy_segment not in service_segments(cfg, route.service):
            yield (f"proxy.routes[{j}].service",
                   f"'{route.service}' does not join '{cfg.network.proxy_segment}', where the proxy is")


def _host_ports(cfg: StackConfig) -> Iterator[Problem]:
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
    if tls is not None and not (tls.cert_file and tls.key_file):
        yield "proxy.tls", "the docker proxy needs certFile and keyFile"


def _names(cfg: StackConfig) -> Iterator[Problem]:
    """A service named like a container the docker backend runs for a configured part would share its container name
    and network alias (a service called `postgres` is fine when twinstack:database is not set)."""
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
    wanted = []
    if cfg.database and cfg.database.init_sql:
        wanted.append(("database.initSql", cfg.database.init_sql))
    if cfg.proxy.tls:
        wanted += [(f"proxy.tls.{key}", path) for key, path in (("certFile", cfg.proxy.tls.cert_file),
                                                                ("keyFile", cfg.proxy.tls.key_file)) if path]
    for key, path in wanted:
        if not Path(path).is_file():
            yield key, f"no such file {path!r} (paths are relative to the project directory)"
