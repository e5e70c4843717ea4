"""Platform: the whole stack, wired in dependency order, knowing nothing of Docker or AWS.

It asks the chosen backend package (`components.docker` or `components.aws`) for each part. Both packages export the
same classes with the same constructor arguments, and every part hands the others the contracts in
`components/contracts.py`, so adding a backend never touches this file.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import pulumi

from components.contracts import Binding, SecretEnv, ServiceEndpoint
from components.secrets import GeneratedSecrets
from config.load import Loaded
from config.model import StackConfig


class Platform(pulumi.ComponentResource):
    def __init__(self, name: str, loaded: Loaded, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:platform:Platform", name, None, opts)
        stack = loaded.stack
        backend = importlib.import_module(f"components.{stack.backend}")
        child = pulumi.ResourceOptions(parent=self)

        self.network = backend.Network(f"{name}-network", stack, opts=child)
        self.generated = GeneratedSecrets(f"{name}-secrets", stack, opts=child)

        # App secrets (generated or user-provided), each kept once in the backend's secret store.
        app_values = {key: self.generated.value(key) for key in stack.generated_secrets}
        app_values.update({key: loaded.secret(key) for key in stack.secret_names if _used(stack, key)})
        self.secret_store = backend.SecretStore(f"{name}-app-secrets", stack, app_values, opts=child)

        parts: dict[str, pulumi.ComponentResource] = {}
        if stack.database:
            parts["database"] = backend.Database(f"{name}-database", stack, self.network,
                                                 self.generated.value("database"), opts=child)
        if stack.cache:
            parts["cache"] = backend.Cache(f"{name}-cache", stack, self.network, self.generated.value("cache"),
                                           opts=child)
        if stack.broker:
            parts["broker"] = backend.Broker(f"{name}-broker", stack, self.network, self.generated.value("broker"),
                                             opts=child)
        if stack.storage or any(s.volumes for s in stack.services):
            parts["storage"] = backend.Storage(f"{name}-storage", stack, self.network, opts=child)
        self.parts = parts

        bindings: Mapping[str, Binding] = {key: part.binding for key, part in parts.items()}
        secrets: Mapping[str, SecretEnv] = self.secret_store.env

        # The proxy comes before the services: on aws a service registers with the ALB's target groups, and the
        # docker proxy resolves upstreams lazily, so it needs nothing from the containers to start.
        self.proxy = backend.Proxy(f"{name}-proxy", stack, self.network, parts, opts=child)
        self.services = backend.Services(f"{name}-services", stack, self.network, parts, bindings, secrets,
                                         self.proxy, opts=child)
        self.monitoring = backend.Monitoring(f"{name}-monitoring", stack, self.network, parts, self.proxy,
                                             self.services, opts=child)

        self.url: pulumi.Output[str] = self.proxy.url
        # A contract, not a lookup: every backend makes http://<service>:<port> resolve (see its services part).
        self.internal_urls: dict[str, str] = {s.name: ServiceEndpoint(s.name, s.port).internal_url
                                              for s in stack.services if s.port is not None}
        self.connection_urls: dict[str, pulumi.Output[str]] = {
            key: part.url for key, part in parts.items() if key in ("database", "cache", "broker")
        }
        self.dashboard_url: pulumi.Output[str] | None = self.monitoring.url
        # Grafana's generated admin password in dev; None where the dashboard signs in another way (aws: IAM)
        self.dashboard_password: pulumi.Output[str] | None = self.monitoring.dashboard_password
        # How to operate the stack (tools/ops.py: logs, exec, one-off runs, snapshots), read from this output.
        self.operations: dict[str, pulumi.Input] = dict(self.services.operations)  # type: ignore[attr-defined]
        database = parts.get("database")
        if database is not None:  # the RDS identifier (aws) or the postgres container (docker)
            found = getattr(database, "identifier", None) or getattr(database, "container", None)
            self.operations["database"] = ({"identifier": found} if isinstance(found, str) else {"container": found.name})
        self.register_outputs({
            "url": self.url,
            "internalUrls": self.internal_urls,
            "connectionUrls": self.connection_urls,
            "dashboardUrl": self.dashboard_url,
            "dashboardPassword": self.dashboard_password,
        })


def _used(stack: StackConfig, key: str) -> bool:
    return any(key in s.secrets or key in s.optional_secrets for s in stack.services)
