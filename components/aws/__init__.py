"""The AWS backend (staging, prod): VPC, RDS, ElastiCache, Amazon MQ, S3, ECS Fargate behind an ALB, CloudWatch.

The functions below are the backend's side of `components.interface.Backend`: Platform calls them, and each is the
adapter of one part: it reads the stack, resolves the defaults (components/aws/defaults.py) and the names rules.py
derives, and builds the component from its narrow arguments (`<Component>Args` beside it). A part kind of
config/parts.py has its adapter in its own module, `build` in `components/aws/<key>.py`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TypeVar

import pulumi
import pulumi_aws as aws

from components.aws import defaults
from components.aws.cache import Cache
from components.aws.database import Database
from components.aws.monitoring import Monitoring, MonitoringArgs, WatchedDatabase
from components.aws.network import DataTier, Network, NetworkArgs
from components.aws.proxy import Proxy, ProxyArgs, RoutedPath, Target
from components.aws.rules import alb_name, path_patterns, route_service, routed_services, target_group_name
from components.aws.secret_store import SecretStore, SecretStoreArgs
from components.aws.services import Services, ServicesArgs
from components.aws.storage import Storage
from components.contracts import SecretEnv
from components.interface import DataPart
from components.source import image_owners
from config.model import StackConfig
from config.parts import PART_KINDS, PartKind

P = TypeVar("P")
# A data part's security group is named after the part, but the database's has always been `db`: renaming a security
# group replaces it, and everything attached to it with it.
GROUP_ROLES = {"database": "db"}


def provider_options(stack: StackConfig) -> pulumi.ResourceOptions:
    """An AWS provider in `aws:region` that tags everything it creates with the stack it belongs to (cost reports,
    and finding what a stack owns in the console)."""
    provider = aws.Provider(
        "aws",
        region=aws.config.region,
        default_tags={"tags": {
            "twinstack:project": pulumi.get_project(),
            "twinstack:stack": pulumi.get_stack(),
            "twinstack:environment": stack.environment,
        }},
    )
    return pulumi.ResourceOptions(providers=[provider])


def network(name: str, stack: StackConfig, opts: pulumi.ResourceOptions) -> Network:
    """The VPC's arguments: egress and flow logs by environment (defaults), a security group per configured data part
    and the ports the ALB and the services reach each other on."""
    data_tiers = tuple(
        DataTier(part=kind.key, role=GROUP_ROLES.get(kind.key, kind.key),
                 port=importlib.import_module(f"{__name__}.{kind.key}").PORT)
        for kind in PART_KINDS if kind.data_tier and stack.part(kind.key) is not None)
    return Network(name, NetworkArgs(
        settings=stack.network, prefix=stack.name_prefix, production=stack.production,
        protect_data=stack.protects_data, log_retention_days=stack.monitoring.log_retention_days,
        nat=defaults.nat(stack), flow_logs=defaults.flow_logs(stack), tls=stack.proxy.tls is not None,
        data_tiers=data_tiers,
        routed_ports={s: _port(stack, s) for s in routed_services(stack)},
        service_ports={s.name: s.port for s in stack.services if s.port is not None}), opts=opts)


def secret_store(name: str, stack: StackConfig, network: Network, values: Mapping[str, pulumi.Output[str]],
                 opts: pulumi.ResourceOptions) -> SecretStore:
    return SecretStore(name, SecretStoreArgs(site=network.site, values=values), opts=opts)


def part(kind: PartKind, name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
         opts: pulumi.ResourceOptions) -> DataPart | None:
    return importlib.import_module(f"{__name__}.{kind.key}").build(name, stack, network, password, opts)


def proxy(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart],
          opts: pulumi.ResourceOptions) -> Proxy:
    """The ALB's arguments: its name, a target group per routed service and every route with the service it reaches
    (rules.py derives them, as its checks do)."""
    prefix = stack.name_prefix
    routes = []
    for route in stack.proxy.routes:
        service = route_service(stack, route)
        assert service is not None  # config rules refuse a route to no service
        routes.append(RoutedPath(route=route, service=service, path_patterns=path_patterns(route.path)))
    return Proxy(name, ProxyArgs(
        settings=stack.proxy, site=network.site, alb_name=alb_name(prefix), subnet_ids=network.public_subnet_ids,
        security_group_id=network.security_groups["alb"].id, vpc_id=network.vpc_id,
        targets=[Target(service=stack.service(s), target_group_name=target_group_name(prefix, s))
                 for s in routed_services(stack)],
        routes=routes), opts=opts)


def services(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart],
             secrets: Mapping[str, SecretEnv], proxy: Proxy, opts: pulumi.ResourceOptions) -> Services:
    """The services' arguments: dependency order, shared images, ECS Exec by environment (defaults), and what the
    parts and the ALB hand them."""
    storage = _part(parts, "storage", Storage)
    return Services(name, ServicesArgs(
        site=network.site, services=stack.services_in_dependency_order(),
        image_owners=image_owners(stack.services, per_architecture=True),
        exec_services=frozenset(s.name for s in stack.services if defaults.exec_enabled(stack, s)),
        subnet_ids=network.private_subnet_ids, security_group_id=network.security_groups["app"].id,
        bindings={key: p.binding for key, p in parts.items()}, secrets=secrets,
        storage_policy=storage.task_policy if storage is not None else None,
        target_groups=proxy.target_groups, listener_rules=proxy.listener_rules), opts=opts)


def monitoring(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart], proxy: Proxy,
               services: Services, opts: pulumi.ResourceOptions) -> Monitoring:
    """The dashboard's and alarms' arguments: the thresholds, and what each watched part is called in CloudWatch."""
    database, cache = _part(parts, "database", Database), _part(parts, "cache", Cache)
    watched = None
    if database is not None:
        assert stack.database is not None
        watched = WatchedDatabase(identifier=database.identifier, settings=stack.database)
    return Monitoring(name, MonitoringArgs(
        settings=stack.monitoring, site=network.site, alb_arn_suffix=proxy.arn_suffix,
        cluster_name=services.cluster.name, services=[s.name for s in stack.services], database=watched,
        cache_node_ids=cache.node_ids if cache is not None else ()), opts=opts)


def _part(parts: Mapping[str, DataPart], key: str, kind: type[P]) -> P | None:
    """This backend's own part under `key` (what its `build` made), or None where the stack has none."""
    found = parts.get(key)
    assert found is None or isinstance(found, kind)
    return found


def _port(stack: StackConfig, service: str) -> int:
    port = stack.service(service).port
    assert port is not None  # rules.route_service routes only to services with a port
    return port
