"""Cache: an ElastiCache Redis replication group, TLS-only with an AUTH token, encrypted at rest, snapshotted.

Rotating the token (`twinstack:rotation.cache`) uses the ROTATE strategy: ElastiCache accepts the old and the new
token until the next change, so tasks still holding the old REDIS_URL keep working while ECS rolls them.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.secret_store import keep_secret, secret_ref
from components.contracts import Binding, SecretEnv, redis_url
from config.model import StackConfig

PORT = 6379


def engine_version(version: str) -> str:
    """ElastiCache wants major.minor for Redis 6 and later; a bare major means its newest minor."""
    return version if "." in version else {"6": "6.2", "7": "7.1"}[version]


class Cache(pulumi.ComponentResource):
    def __init__(self, name: str, stack: StackConfig, network, password: pulumi.Output[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Cache", name, None, opts)
        assert stack.cache is not None
        cache, prefix = stack.cache, stack.name_prefix
        child = pulumi.ResourceOptions(parent=self)
        replicated = cache.replicas > 0
        self.replication_group_id = f"{prefix}-redis"
        self.node_ids = [f"{self.replication_group_id}-{i + 1:03d}" for i in range(1 + cache.replicas)]

        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=network.private_subnet_ids,
                                              description=f"{prefix} Redis: private subnets only", opts=child)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/twinstack/{prefix}/redis", retention_in_days=stack.monitoring.log_retention_days,
            kms_key_id=network.key.arn, opts=child)
        self.group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            replication_group_id=self.replication_group_id,
            description=f"{prefix} Redis",
            engine="redis",
            engine_version=engine_version(cache.version),
            node_type=cache.node_type,
            num_cache_clusters=1 + cache.replicas,
            port=PORT,
            subnet_group_name=subnets.id,
            security_group_ids=[network.security_groups["cache"].id],
            at_rest_encryption_enabled=True,
            kms_key_id=network.key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=password,
            auth_token_update_strategy="ROTATE",
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            snapshot_retention_limit=cache.snapshot_retention_days,
            snapshot_window="02:00-03:00",
            maintenance_window="sun:05:00-sun:06:00",
            final_snapshot_identifier=f"{self.replication_group_id}-final" if stack.protects_data else None,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                {"destination": logs.name, "destination_type": "cloudwatch-logs", "log_format": "json",
                 "log_type": log_type}
                for log_type in ("slow-log", "engine-log")
            ],
            opts=pulumi.ResourceOptions(parent=self, protect=stack.protects_data),
        )

        self.url: pulumi.Output[str] = redis_url(password, self.group.primary_endpoint_address, PORT, tls=True)
        secret, version = keep_secret(f"{name}-connection", stack, "cache", pulumi.Output.json_dumps({"url": self.url}),
                                      network.key, self, f"{prefix} Redis: REDIS_URL")
        self.secret = secret
        self.binding = Binding(
            secrets={"REDIS_URL": SecretEnv(value=self.url, value_from=secret_ref(secret, version, "url"))},
            depends_on=[self.group],
        )
        self.register_outputs({"url": self.url, "replicationGroupId": self.replication_group_id,
                               "nodeIds": self.node_ids, "secretArn": secret.arn})
