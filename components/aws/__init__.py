"""The AWS backend (staging, prod): VPC, RDS, ElastiCache, Amazon MQ, S3, ECS Fargate behind an ALB, CloudWatch.

Exports the same classes as `components.docker`, with the same constructor arguments (see components/platform.py).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.broker import Broker
from components.aws.cache import Cache
from components.aws.database import Database
from components.aws.monitoring import Monitoring
from components.aws.network import Network
from components.aws.proxy import Proxy
from components.aws.secret_store import SecretStore
from components.aws.services import Services
from components.aws.storage import Storage
from config.model import StackConfig

__all__ = ["Broker", "Cache", "Database", "Monitoring", "Network", "Proxy", "SecretStore", "Services", "Storage",
           "provider_options"]


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
