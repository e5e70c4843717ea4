"""Cache: an ElastiCache Redis replication group, TLS-only with an AUTH token, encrypted at rest, snapshotted.

Rotating the token (`twinstack:rotation.cache`) uses the ROTATE strategy: ElastiCache accepts the old and the new
token until the next change, so tasks still holding the old REDIS_URL keep working while ECS rolls them.

What the group may ask for depends on the engine version (`limits.RedisVersion`): TLS is on for every version, but only
Redis OSS 7 takes `transitEncryptionMode`, and 6.0 delivers its slow log but no engine log. In production it has a
replica in another AZ with automatic failover unless `cache.replicas` says otherwise (defaults.cache_replicas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.aws import defaults, limits
from components.aws.rules import cache_node_ids
from components.aws.secret_store import keep_secret, secret_ref
from components.aws.site import Site
from components.contracts import Binding, SecretEnv, redis_url
from config import model
from config.model import StackConfig

if TYPE_CHECKING:
    from components.aws.network import Network

PORT = 6379


@dataclass(frozen=True)
class CacheArgs:
    settings: model.Cache
    password: pulumi.Output[str]  # the AUTH token
    site: Site
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets, one per AZ
    security_group_id: pulumi.Input[str]  # the data tier's group for Redis: admits the app tier only
    replicas: int  # nodes beside the primary: with one or more, the group fails over to another AZ
    node_ids: Sequence[str]  # the group's node ids as ElastiCache names them (rules.cache_node_ids)


def build(name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Cache | None:
    """The adapter: the replication group's arguments from the stack (replicas by environment, defaults)."""
    if stack.cache is None:
        return None
    assert password is not None
    return Cache(name, CacheArgs(
        settings=stack.cache, password=password, site=network.site, subnet_ids=network.private_subnet_ids,
        security_group_id=network.data_groups["cache"].id, replicas=defaults.cache_replicas(stack),
        node_ids=cache_node_ids(stack)), opts)


class Cache(pulumi.ComponentResource):
    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Cache", name, None, opts)
        self.operations = None  # nothing tools/ops.py operates
        cache, site, password, prefix = args.settings, args.site, args.password, args.site.prefix
        child = pulumi.ResourceOptions(parent=self)
        replicated = args.replicas > 0
        engine_version = limits.redis_engine_version(cache.version)
        assert engine_version is not None  # rules.check refused any other version
        offers = limits.REDIS_VERSIONS[engine_version]
        self.replication_group_id = f"{prefix}-redis"
        self.node_ids = list(args.node_ids)

        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                              description=f"{prefix} Redis: private subnets only", opts=child)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/twinstack/{prefix}/redis", retention_in_days=site.log_retention_days,
            kms_key_id=site.key.arn, opts=child)
        self.group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            replication_group_id=self.replication_group_id,
            description=f"{prefix} Redis",
            engine="redis",
            engine_version=engine_version,
            node_type=cache.node_type,
            num_cache_clusters=1 + args.replicas,
            port=PORT,
            subnet_group_name=subnets.id,
            security_group_ids=[args.security_group_id],
            at_rest_encryption_enabled=True,
            kms_key_id=site.key.arn,
            transit_encryption_enabled=True,
            # TLS only (no plaintext fallback) where the version can say so; TLS is on either way.
            transit_encryption_mode="required" if offers.transit_encryption_mode else None,
            auth_token=password,
            auth_token_update_strategy="ROTATE",
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            snapshot_retention_limit=cache.snapshot_retention_days,
            snapshot_window="02:00-03:00",
            maintenance_window="sun:05:00-sun:06:00",
            final_snapshot_identifier=f"{self.replication_group_id}-final" if site.protect_data else None,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                {"destination": logs.name, "destination_type": "cloudwatch-logs", "log_format": "json",
                 "log_type": log_type}
                for log_type in offers.log_types
            ],
            opts=pulumi.ResourceOptions(parent=self, protect=site.protect_data),
        )

        self.url: pulumi.Output[str] = redis_url(password, self.group.primary_endpoint_address, PORT, tls=True)
        secret, version = keep_secret(f"{name}-connection", site, "cache",
                                      pulumi.Output.json_dumps({"url": self.url}), self, f"{prefix} Redis: REDIS_URL")
        self.secret = secret
        self.binding = Binding(
            secrets={"REDIS_URL": SecretEnv(value=self.url, reference=secret_ref(secret, version, "url"))},
            depends_on=[self.group],
        )
        self.register_outputs({"url": self.url, "replicationGroupId": self.replication_group_id,
                               "nodeIds": self.node_ids, "secretArn": secret.arn})

