"""Services: the ECS cluster, its Service Connect namespace, and every app service in dependency order.

Service Connect gives each service the short name it has in dev (`http://<service>:<port>`), resolved by the
proxy ECS runs beside each task, with no DNS suffix and no code change between backends.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.aws import defaults
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
        # ECS Exec sessions (`make shell`) are logged to their own log group, encrypted with the stack's key, and the
        # sessions themselves are encrypted with it too; declared only where some service has exec on.
        self.exec_logs: aws.cloudwatch.LogGroup | None = None
        execute_command = None
        if any(defaults.exec_enabled(stack, svc) for svc in stack.services):
            self.exec_logs = aws.cloudwatch.LogGroup(
                f"{name}-exec-logs", name=f"/twinstack/{stack.name_prefix}/exec-sessions",
                retention_in_days=stack.monitoring.log_retention_days, kms_key_id=network.key.arn, opts=child)
            execute_command = {"execute_command_configuration": {
                "kms_key_id": network.key.arn, "logging": "OVERRIDE",
                "log_configuration": {"cloud_watch_log_group_name": self.exec_logs.name,
                                      "cloud_watch_encryption_enabled": True}}}
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster", name=stack.name_prefix,
            settings=[{"name": "containerInsights", "value": "enabled"}],
            configuration=execute_command,
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
                wait_until_stable=svc.name in depended_on, opts=child, exec_logs=self.exec_logs)
        # the stack's `operations` output (tools/ops.py): how to reach each service, nothing secret
        self.operations: dict[str, pulumi.Input] = {
            "backend": "aws", "region": network.account.region, "cluster": self.cluster.name,
            "execLogGroup": self.exec_logs.name if self.exec_logs is not None else None,
            "services": {svc_name: s.operations for svc_name, s in self.services.items()},
        }
        self.register_outputs({"cluster": self.cluster.name, "services": sorted(self.services)})
