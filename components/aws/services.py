"""Services: the ECS cluster, its Service Connect namespace, and every app service in dependency order.

Service Connect gives each service the short name it has in dev (`http://<service>:<port>`), resolved by the
proxy ECS runs beside each task, with no DNS suffix and no code change between backends.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.aws.image import Image
from components.aws.service import Service
from components.contracts import Binding, SecretEnv
from components.source import image_owners
from config.model import StackConfig


class Services(pulumi.ComponentResource):
    def __init__(self, name: str, stack: StackConfig, network, parts: Mapping[str, pulumi.Resource],
                 bindings: Mapping[str, Binding], secrets: Mapping[str, SecretEnv], proxy,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Services", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = aws.servicediscovery.HttpNamespace(
            f"{name}-namespace", name=f"{stack.name_prefix}-services",
            description=f"Service Connect names of {stack.name_prefix}", opts=child)
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster", name=stack.name_prefix,
            settings=[{"name": "containerInsights", "value": "enabled"}],
            service_connect_defaults={"namespace": self.namespace.arn}, opts=child)

        # built before any service is declared: a shared build's first service may start after the others
        owners = image_owners(stack.services, per_architecture=True)
        images = {owner: Image(f"{name}-{owner}-build", stack, stack.service(owner), network.key, opts=child)
                  for owner in dict.fromkeys(owners.values())}

        depended_on = {dep for svc in stack.services for dep in svc.depends_on}
        self.services: dict[str, Service] = {}
        for svc in stack.services_in_dependency_order():
            after: list[pulumi.Resource] = []
            for part in svc.uses:
                after += bindings[part].depends_on
            after += [self.services[dep].service for dep in svc.depends_on]
            self.services[svc.name] = Service(
                f"{name}-{svc.name}", stack, svc, network, self.cluster, self.namespace, parts, bindings, secrets,
                proxy, after, image=images[owners[svc.name]] if svc.name in owners else None,
                wait_until_stable=svc.name in depended_on, opts=child)
        self.register_outputs({"cluster": self.cluster.name, "services": sorted(self.services)})
