"""Services: the ECS cluster, its Service Connect namespace, and every app service in dependency order.

Service Connect gives each service the short name it has in dev (`http://<service>:<port>`), resolved by the
proxy ECS runs beside each task, with no DNS suffix and no code change between backends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.image import Image, ImageArgs
from components.aws.service import Service, ServiceArgs
from components.aws.site import Site
from components.contracts import Binding, SecretEnv
from config import model


@dataclass(frozen=True)
class ServicesArgs:
    site: Site
    services: Sequence[model.Service]  # in dependency order: every service after those it depends on
    image_owners: Mapping[str, str]  # {built service: the service whose image it runs}, in config order
    exec_services: frozenset[str]  # the services with ECS Exec on (defaults.exec_enabled)
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets, one per AZ
    security_group_id: pulumi.Input[str]  # the app tier's group
    bindings: Mapping[str, Binding]  # what each data part hands the services that use it
    secrets: Mapping[str, SecretEnv]  # the app secrets, by env var
    storage_policy: pulumi.Input[str] | None  # the workspace's task policy (granted to the services using storage)
    target_groups: Mapping[str, aws.lb.TargetGroup]  # the ALB's group of each routed service
    listener_rules: Mapping[str, Sequence[aws.lb.ListenerRule]]  # the rules forwarding to each routed service


class Services(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Services", name, None, opts)
        site = args.site
        self.namespace = aws.servicediscovery.HttpNamespace(
            f"{name}-namespace", name=f"{site.prefix}-services",
            description=f"Service Connect names of {site.prefix}", opts=pulumi.ResourceOptions(parent=self))
        self.exec_logs = self._exec_logs(name, args)
        self.cluster = self._cluster(name, args)
        images = self._images(name, args)
        self.services = self._services(name, args, images)
        # the stack's `operations` output (tools/ops.py): how to reach each service, nothing secret
        self.operations: dict[str, pulumi.Input] = {
            "backend": "aws", "region": site.account.region, "cluster": self.cluster.name,
            "execLogGroup": self.exec_logs.name if self.exec_logs is not None else None,
            "services": {svc_name: s.operations for svc_name, s in self.services.items()},
        }
        self.register_outputs({"cluster": self.cluster.name, "services": sorted(self.services)})

    def _exec_logs(self, name: str, args: ServicesArgs) -> aws.cloudwatch.LogGroup | None:
        """ECS Exec sessions (`make shell`) are logged to their own log group, encrypted with the stack's key;
        declared only where some service has exec on."""
        if not args.exec_services:
            return None
        site = args.site
        return aws.cloudwatch.LogGroup(
            f"{name}-exec-logs", name=f"/twinstack/{site.prefix}/exec-sessions",
            retention_in_days=site.log_retention_days, kms_key_id=site.key.arn,
            opts=pulumi.ResourceOptions(parent=self))

    def _cluster(self, name: str, args: ServicesArgs) -> aws.ecs.Cluster:
        site = args.site
        # The exec sessions themselves are encrypted with the stack's key too, and logged to the exec log group.
        execute_command = {"execute_command_configuration": {
            "kms_key_id": site.key.arn, "logging": "OVERRIDE",
            "log_configuration": {"cloud_watch_log_group_name": self.exec_logs.name,
                                  "cloud_watch_encryption_enabled": True}}} if self.exec_logs is not None else None
        return aws.ecs.Cluster(
            f"{name}-cluster", name=site.prefix,
            settings=[{"name": "containerInsights", "value": "enabled"}],
            configuration=execute_command,
            service_connect_defaults={"namespace": self.namespace.arn}, opts=pulumi.ResourceOptions(parent=self))

    def _images(self, name: str, args: ServicesArgs) -> dict[str, Image]:
        """One image per distinct build, named after its owner; built before any service is declared: a shared
        build's first service may start after the others."""
        by_name = {svc.name: svc for svc in args.services}
        return {owner: Image(f"{name}-{owner}-build", ImageArgs(service=by_name[owner], site=args.site),
                             opts=pulumi.ResourceOptions(parent=self))
                for owner in dict.fromkeys(args.image_owners.values())}

    def _services(self, name: str, args: ServicesArgs, images: Mapping[str, Image]) -> dict[str, Service]:
        """Every app service, each after the parts it uses and the services it depends on."""
        depended_on = {dep for svc in args.services for dep in svc.depends_on}
        services: dict[str, Service] = {}
        for svc in args.services:
            after: list[pulumi.Resource] = []
            for part in svc.uses:
                after += args.bindings[part].depends_on
            after += [services[dep].service for dep in svc.depends_on]
            owner = args.image_owners.get(svc.name)
            services[svc.name] = Service(f"{name}-{svc.name}", ServiceArgs(
                settings=svc, site=args.site, cluster=self.cluster, namespace=self.namespace,
                subnet_ids=args.subnet_ids, security_group_id=args.security_group_id, bindings=args.bindings,
                secrets=args.secrets, after=after, image=images[owner] if owner is not None else None,
                storage_policy=args.storage_policy if "storage" in svc.uses else None,
                target_group=args.target_groups.get(svc.name), listener_rules=args.listener_rules.get(svc.name, ()),
                wait_until_stable=svc.name in depended_on,
                exec_logs=self.exec_logs if svc.name in args.exec_services else None),
                opts=pulumi.ResourceOptions(parent=self))
        return services
