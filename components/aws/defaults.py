"""The AWS backend's defaults by environment: secure and highly available in production, cheap elsewhere.

An explicit setting in config always wins; these apply only where config leaves a key unset.
"""

from __future__ import annotations

from config.model import Service, StackConfig


def nat(stack: StackConfig) -> str:
    """One NAT gateway per AZ in production (losing an AZ never cuts the others off), a single one elsewhere."""
    return stack.network.nat or ("perAz" if stack.production else "single")


def flow_logs(stack: StackConfig) -> bool:
    return stack.production if stack.network.flow_logs is None else stack.network.flow_logs


def db_multi_az(stack: StackConfig) -> bool:
    assert stack.database is not None
    return stack.production if stack.database.multi_az is None else stack.database.multi_az


def cache_replicas(stack: StackConfig) -> int:
    """One replica in production, so the group fails over to another AZ (Checkov CKV2_AWS_50); none elsewhere."""
    assert stack.cache is not None
    return stack.cache.replicas if stack.cache.replicas is not None else (1 if stack.production else 0)


def exec_enabled(stack: StackConfig, svc: Service) -> bool:
    """ECS Exec into the service's tasks: its own `exec` setting, else on everywhere but production."""
    return (not stack.production) if svc.exec is None else svc.exec


def broker_instance_type(stack: StackConfig) -> str:
    """mq.m5.large in production, where the broker is a Multi-AZ cluster (which needs m5), mq.t3.micro elsewhere."""
    assert stack.broker is not None
    return stack.broker.instance_type or ("mq.m5.large" if stack.production else "mq.t3.micro")


def broker_mode(stack: StackConfig) -> str:
    assert stack.broker is not None
    return stack.broker.deployment_mode or ("CLUSTER_MULTI_AZ" if stack.production else "SINGLE_INSTANCE")
