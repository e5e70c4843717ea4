"""The part registry: every part kind of the platform, declared once.

A part kind is what a stack may configure under its own `twinstack:<key>` and what a service names in `uses`: its
config key, the component each backend builds for it, the env it injects into the services that use it (the
contract of components/contracts.py), whether it owns a generated password (rotated under `twinstack:rotation.<key>`
and exported as the secret `<key>Url`), whether it sits in the data tier (private, reached only by the app tier) and
the port its protocol listens on by default.

The loader, the config rules, the generated secrets, Platform, the backends' network placement, the plan tools and
the policy pack loop over this table rather than naming parts, so a new part kind is a model, an entry here and one
module per backend (docs/architecture.md, "Adding a part kind").

Standard library only: the policy pack runs without the project's packages and loads this file by path.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartKind:
    key: str  # `twinstack:<key>`, the StackConfig field, the `uses` entry, the backend module `components/<b>/<key>.py`
    component: str  # the ComponentResource class each backend's module exports (type `twinstack:<backend>:<component>`)
    env: tuple[str, ...]  # what a service that uses it receives (plain and secret), on every backend
    secret_env: tuple[str, ...]  # which of `env` carry a credential: kept in the secret store, never in plain env
    password: bool  # a generated password (rotation key = `key`), and a connection URL exported as `<key>Url`
    data_tier: bool  # a server in the private data tier that only the app tier may reach
    port: int | None  # the port its protocol listens on by default (a backend may use another, e.g. for TLS)
    summary: str  # what it is, in the user's words (docs, the Compose importer's report)


PART_KINDS: tuple[PartKind, ...] = (
    PartKind("database", "Database", ("DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"),
             ("DATABASE_URL", "PGPASSWORD"), password=True, data_tier=True, port=5432, summary="PostgreSQL"),
    PartKind("cache", "Cache", ("REDIS_URL",), ("REDIS_URL",), password=True, data_tier=True, port=6379,
             summary="Redis"),
    PartKind("broker", "Broker", ("AMQP_URL",), ("AMQP_URL",), password=True, data_tier=True, port=5672,
             summary="RabbitMQ"),
    PartKind("storage", "Storage", ("STORAGE_URL", "STORAGE_PATH", "STORAGE_BUCKET"), (), password=False,
             data_tier=False, port=None, summary="the workspace: files shared by the services that use it"),
)
KINDS: dict[str, PartKind] = {kind.key: kind for kind in PART_KINDS}
PART_KEYS: tuple[str, ...] = tuple(KINDS)
DATA_TIER: tuple[str, ...] = tuple(k.key for k in PART_KINDS if k.data_tier)
WITH_PASSWORD: tuple[str, ...] = tuple(k.key for k in PART_KINDS if k.password)

# The platform's own parts, in the order Platform builds them, each with the components that make it up on any
# backend. A recorded resource belongs to the part of the component above it (tools/parts.py), whatever it is named.
PLATFORM_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("network", ("Network",)),
    ("secrets", ("GeneratedSecrets", "SecretStore")),
    *((kind.key, (kind.component,)) for kind in PART_KINDS),
    ("proxy", ("Proxy",)),
    ("services", ("Services",)),
    ("monitoring", ("Monitoring",)),
)
PART_OF_COMPONENT: dict[str, str] = {component: part for part, components in PLATFORM_PARTS for component in components}


def part_of_type(type_token: str) -> str | None:
    """The platform part a twinstack component type (`twinstack:aws:Database`) makes up, or None for any other."""
    if not type_token.startswith("twinstack:"):
        return None
    return PART_OF_COMPONENT.get(type_token.rsplit(":", 1)[-1])
