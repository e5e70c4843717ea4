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


@dataclass(frozen=True)
class SecretEnv:
    """A secret a service receives as one env var.

    `value` is the secret itself (docker puts it in the container env). `value_from` is where the secret store keeps
    it, pinned to the current version (aws: `<secret arn>:::<version id>` for ECS `secrets.valueFrom`), so a rotation
    changes the reference and rolls exactly the services that use it.
    """

    value: pulumi.Output[str]
    value_from: pulumi.Output[str] | None = None


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
