"""All app services, declared in dependency order so each one can wait for the containers it depends on."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.contracts import Binding, SecretEnv, ServiceEndpoint
from components.docker.network import Network
from components.docker.service import Service
from config import model
from config.model import StackConfig


def dependency_order(stack: StackConfig) -> list[model.Service]:
    """Services with every `dependsOn` before the service itself, otherwise in config order (rules reject cycles)."""
    done: dict[str, model.Service] = {}

    def visit(svc: model.Service) -> None:
        if svc.name in done:
            return
        for dep in svc.depends_on:
            visit(stack.service(dep))
        done[svc.name] = svc

    for svc in stack.services:
        visit(svc)
    return list(done.values())


def name_clashes(stack: StackConfig) -> list[str]:
    """Services named like a container the backend runs for a configured part, whose container name and network
    alias they would share (a service called `postgres` is fine when twinstack:database is not set)."""
    taken = {"proxy": "the proxy"}
    for alias, part, on in (("postgres", "twinstack:database", stack.database), ("redis", "twinstack:cache", stack.cache),
                            ("rabbitmq", "twinstack:broker", stack.broker),
                            ("prometheus", "monitoring.prometheus", stack.monitoring.prometheus),
                            ("grafana", "monitoring.grafana", stack.monitoring.grafana)):
        if on:
            taken[alias] = part
    return [f"twinstack:services[{i}].name: '{svc.name}' is the container name and network alias the docker backend "
            f"uses for {taken[svc.name]}; rename the service" for i, svc in enumerate(stack.services) if svc.name in taken]


class Services(pulumi.ComponentResource):
    """Compose's `depends_on: condition: service_healthy`, in Pulumi terms: a service's containers depend on the data
    containers it uses and on its dependencies' containers, all of which are created with `wait`, so creation follows
    health, not just start."""

    def __init__(self, name: str, stack: StackConfig, network: Network, parts: Mapping[str, pulumi.Resource],
                 bindings: Mapping[str, Binding], secrets: Mapping[str, SecretEnv], proxy: pulumi.Resource,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Services", name, None, opts)
        if clashes := name_clashes(stack):
            raise pulumi.RunError("\n".join(clashes))
        self.services: dict[str, Service] = {}
        for svc in dependency_order(stack):
            after: list[pulumi.Resource] = []
            for part in svc.uses:
                after += bindings[part].depends_on
            for dep in svc.depends_on:
                after += self.services[dep].containers
            self.services[svc.name] = Service(f"{name}-{svc.name}", stack, svc, network, parts, bindings, secrets,
                                              after, opts=pulumi.ResourceOptions(parent=self))
        self.internal_urls: dict[str, str] = {
            svc.name: ServiceEndpoint(svc.name, svc.port).internal_url for svc in stack.services
        }
        self.register_outputs({"internalUrls": self.internal_urls})
