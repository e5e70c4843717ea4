"""What the parts hand each other, the same on both backends.

A service never asks which backend it runs on: it gets `DATABASE_URL`, `REDIS_URL`, `AMQP_URL`, `STORAGE_URL` and its
secrets as environment variables in dev and in prod alike (the SST pattern). Each data part builds a `Binding`; the
backend's Services part turns bindings into container env (docker) or task-definition env and `secrets` (aws).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from config import model


@dataclass(frozen=True)
class SecretEnv:
    """A secret a service receives as one env var.

    `value` is the secret itself. `reference` is where the backend's secret store keeps it, pinned to the current
    version, for a backend whose runtime fetches secrets itself (aws: ECS's `secrets.valueFrom`); None where the
    backend hands the runtime the value (docker). Pinned, a rotation changes the reference and rolls exactly the
    services that use it.
    """

    value: pulumi.Output[str]
    reference: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class Binding:
    """What a part hands to every service that `uses` it: plain env, secret env, and what to wait for."""

    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secrets: Mapping[str, SecretEnv] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()


def service_env(name: str, port: int | None) -> dict[str, str]:
    """What every service is told about itself, on both backends: its name, and the port to listen on (a worker
    listens on none, so it gets no PORT)."""
    return {"SERVICE_NAME": name, **({"PORT": str(port)} if port is not None else {})}


@dataclass(frozen=True)
class ServiceEnv:
    """Everything a service's containers receive as env: plain settings and secrets, kept apart so that each backend
    hands secrets over its own safe way (docker: a secret env list; aws: `secrets[].valueFrom`)."""

    plain: dict[str, pulumi.Input[str]]
    secrets: dict[str, SecretEnv]


def assemble_env(svc: model.Service, bindings: Mapping[str, Binding], secrets: Mapping[str, SecretEnv],
                 resource: pulumi.Resource) -> ServiceEnv:
    """A service's env, the same on every backend: what it is told about itself, what the parts it uses inject,
    its own settings, then its secrets. An optional secret that is not set is skipped with a warning on `resource`."""
    plain: dict[str, pulumi.Input[str]] = dict(service_env(svc.name, svc.port))
    secret_env: dict[str, SecretEnv] = {}
    for part in svc.uses:
        plain.update(bindings[part].env)
        secret_env.update(bindings[part].secrets)
    plain.update(svc.env)  # the service's own settings; config rules keep them from overriding what parts inject
    for key in [*svc.secrets, *svc.optional_secrets]:
        if key in secrets:
            secret_env[key] = secrets[key]
        else:
            pulumi.log.warn(f"{svc.name}: optional secret {key} is not set, so the service starts without it; "
                            f"set it with `pulumi config set --secret --path 'twinstack:secrets.{key}' <value>`",
                            resource=resource)
    return ServiceEnv(plain, secret_env)


def http_probe(port: int, path: str, timeout: int) -> list[str]:
    """A health check that GETs http://127.0.0.1:<port><path> with whichever client the image has, in the form
    Docker's HEALTHCHECK and ECS's `healthCheck.command` both take.

    Images differ: alpine has busybox wget, Debian slim images have neither wget nor curl but python3, node images
    have node. The first client found decides, so an unhealthy app fails once, not four times; no client at all is
    unhealthy, never a silent pass.
    """
    url = shlex.quote(f"http://127.0.0.1:{port}{path}")
    python = shlex.quote(f"import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout={timeout})")
    node = shlex.quote("require('http').get(process.argv[1], r => process.exit(r.statusCode < 400 ? 0 : 1))"
                       ".on('error', () => process.exit(1))")
    return ["CMD-SHELL", (
        f"if command -v wget >/dev/null 2>&1; then wget -q -T {timeout} -O /dev/null {url}; "
        f"elif command -v curl >/dev/null 2>&1; then curl -fsS -m {timeout} -o /dev/null {url}; "
        f"elif command -v python3 >/dev/null 2>&1; then python3 -c {python} {url}; "
        f"elif command -v node >/dev/null 2>&1; then node -e {node} {url}; "
        "else echo 'no wget, curl, python3 or node in the image for the HTTP health check' >&2; exit 1; fi"
    )]


def health_test(check: model.HealthCheck, port: int | None) -> list[str]:
    """The service's health check as a command, on every backend: its own command, or the HTTP probe of its path."""
    if check.test is not None:
        return check.test
    assert port is not None and check.path is not None  # config rules give a worker (no port) a command check
    return http_probe(port, check.path, check.timeout_seconds)


# The one-off that makes a service's volumes writable by the user it runs as, before it (or its migration) starts.
PREPARE_VOLUMES = "prepare-volumes"


def volume_preparation(user: str | None, writable: Sequence[str], scratch: Sequence[str] = ()) -> list[str] | None:
    """The command (run as root, in the service's own image) that hands each volume to the user that writes it.

    A volume starts root-owned where the image lacks its path: Docker creates named volumes that way, and Fargate
    mounts its task volumes "writable only by root" (aws/containers-roadmap#938). So a service running as `user`
    could not write its own volumes. `scratch` paths (the /tmp a read-only root gets) become world-writable with the
    sticky bit, as /tmp is everywhere. None when there is nothing to prepare.
    """
    steps = []
    if user and writable:
        steps.append("chown " + " ".join(shlex.quote(p) for p in [user, *writable]))
    if scratch:
        steps.append("chmod 1777 " + " ".join(shlex.quote(p) for p in scratch))
    return ["sh", "-c", " && ".join(steps)] if steps else None


@dataclass(frozen=True)
class ServiceEndpoint:
    """How other services and the proxy reach a service: `http://<name>:<port>` on both backends."""

    name: str
    port: int

    @property
    def internal_url(self) -> str:
        return f"http://{self.name}:{self.port}"


def postgres_url(user: str, password: pulumi.Input[str], host: pulumi.Input[str], port: pulumi.Input[int],
                 database: str, tls: bool) -> pulumi.Output[str]:
    query = "?sslmode=require" if tls else ""
    return pulumi.Output.secret(pulumi.Output.format("postgresql://{0}:{1}@{2}:{3}/{4}{5}",
                                                     user, password, host, port, database, query))


def redis_url(password: pulumi.Input[str], host: pulumi.Input[str], port: pulumi.Input[int], tls: bool) -> pulumi.Output[str]:
    scheme = "rediss" if tls else "redis"
    return pulumi.Output.secret(pulumi.Output.format("{0}://:{1}@{2}:{3}/0", scheme, password, host, port))


def amqp_url(user: str, password: pulumi.Input[str], host: pulumi.Input[str], port: pulumi.Input[int],
             tls: bool) -> pulumi.Output[str]:
    scheme = "amqps" if tls else "amqp"
    return pulumi.Output.secret(pulumi.Output.format("{0}://{1}:{2}@{3}:{4}", scheme, user, password, host, port))
