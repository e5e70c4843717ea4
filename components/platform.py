"""Platform: the whole stack, wired in dependency order, knowing nothing of Docker or AWS.

It asks the chosen backend package (`components.docker` or `components.aws`) for each part through the functions of
`components.interface.Backend`, builds every part kind of the registry (config/parts.py) the stack configures, and
passes the contracts of `components/contracts.py` between them. Adding a backend or a part kind never touches this
file.
"""

from __future__ import annotations

import importlib
from typing import cast

import pulumi

from components.contracts import ServiceEndpoint
from components.interface import Backend, DataPart
from components.secrets import GeneratedSecrets, rotations
from config.load import Loaded
from config.model import StackConfig
from config.parts import PART_KINDS


class Platform(pulumi.ComponentResource):
    def __init__(self, name: str, loaded: Loaded, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:platform:Platform", name, None, opts)
        stack = loaded.stack
        backend = cast(Backend, importlib.import_module(f"components.{stack.backend}"))
        child = pulumi.ResourceOptions(parent=self)

        self.network = backend.network(f"{name}-network", stack, opts=child)
        self.generated = GeneratedSecrets(f"{name}-secrets", rotations(stack), opts=child)

        # App secrets (generated or user-provided), each kept once in the backend's secret store.
        app_values = {key: self.generated.value(key) for key in stack.generated_secrets}
        app_values.update({key: loaded.secret(key) for key in stack.secret_names if _used(stack, key)})
        self.secret_store = backend.secret_store(f"{name}-app-secrets", stack, self.network, app_values, opts=child)

        # Every part kind of the registry, in its order; the backend builds those the stack needs.
        parts: dict[str, DataPart] = {}
        for kind in PART_KINDS:
            password = self.generated.values.get(kind.key) if kind.password else None
            part = backend.part(kind, f"{name}-{kind.key}", stack, self.network, password, opts=child)
            if part is not None:
                parts[kind.key] = part
        self.parts = parts

        # The proxy comes before the services: on aws a service registers with the ALB's target groups, and the
        # docker proxy resolves upstreams lazily, so it needs nothing from the containers to start.
        self.proxy = backend.proxy(f"{name}-proxy", stack, self.network, parts, opts=child)
        self.services = backend.services(f"{name}-services", stack, self.network, parts, self.secret_store.env,
                                         self.proxy, opts=child)
        self.monitoring = backend.monitoring(f"{name}-monitoring", stack, self.network, parts, self.proxy,
                                             self.services, opts=child)

        self.url: pulumi.Output[str] = self.proxy.url
        # A contract, not a lookup: every backend makes http://<service>:<port> resolve (see its services part).
        self.internal_urls: dict[str, str] = {s.name: ServiceEndpoint(s.name, s.port).internal_url
                                              for s in stack.services if s.port is not None}
        self.connection_urls: dict[str, pulumi.Output[str]] = {
            key: part.url for key, part in parts.items() if part.url is not None
        }
        self.dashboard_url: pulumi.Output[str] | None = self.monitoring.url
        # Grafana's generated admin password in dev; None where the dashboard signs in another way (aws: IAM)
        self.dashboard_password: pulumi.Output[str] | None = self.monitoring.dashboard_password
        # How to operate the stack (tools/ops.py: logs, exec, one-off runs, snapshots), read from this output.
        self.operations: dict[str, pulumi.Input] = dict(self.services.operations)
        self.operations.update({key: part.operations for key, part in parts.items() if part.operations is not None})
        self.register_outputs({
            "url": self.url,
            "internalUrls": self.internal_urls,
            "connectionUrls": self.connection_urls,
            "dashboardUrl": self.dashboard_url,
            "dashboardPassword": self.dashboard_password,
        })


def _used(stack: StackConfig, key: str) -> bool:
    return any(key in s.secrets or key in s.optional_secrets for s in stack.services)
