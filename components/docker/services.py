"""All app services, declared in dependency order so each one can wait for the containers it depends on."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.contracts import Binding, SecretEnv
from components.docker.image import built_image
from components.docker.network import Network
from components.docker.service import Service
from components.source import image_owners
from config.model import StackConfig


class Services(pulumi.ComponentResource):
    """Compose's `depends_on: condition: service_healthy`, in Pulumi terms: a service's containers depend on the data
    containers it uses and on its dependencies' containers, all of which are created with `wait`, so creation follows
    health, not just start."""

    def __init__(self, name: str, stack: StackConfig, network: Network, parts: Mapping[str, pulumi.Resource],
                 bindings: Mapping[str, Binding], secrets: Mapping[str, SecretEnv], proxy: pulumi.Resource,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Services", name, None, opts)
        # built before any service is declared: a shared build's first service may start after the others
        owners = image_owners(stack.services, per_architecture=False)
        images = {owner: built_image(f"{name}-{owner}-image", stack, stack.service(owner), pulumi.ResourceOptions(parent=self))
                  for owner in dict.fromkeys(owners.values())}
        self.services: dict[str, Service] = {}
        for svc in stack.services_in_dependency_order():
            after: list[pulumi.Resource] = []
            for part in svc.uses:
                after += bindings[part].depends_on
            for dep in svc.depends_on:
                after += self.services[dep].containers
            self.services[svc.name] = Service(f"{name}-{svc.name}", stack, svc, network, parts, bindings, secrets,
                                              after, built=images[owners[svc.name]] if svc.name in owners else None,
                                              opts=pulumi.ResourceOptions(parent=self))
        # the stack's `operations` output (tools/ops.py): each service's containers by name, nothing secret
        self.operations: dict[str, pulumi.Input] = {
            "backend": "docker", "dockerHost": stack.docker_host,
            "services": {svc_name: {"containers": [c.name for c in s.containers]}
                         for svc_name, s in self.services.items()},
        }
        self.register_outputs({"services": sorted(self.services)})
