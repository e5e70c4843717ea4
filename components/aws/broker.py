"""Broker: Amazon MQ for RabbitMQ in the private subnets, reachable only from the app tier, over AMQPS.

Amazon MQ encrypts RabbitMQ brokers at rest with an AWS-owned key and refuses a customer-managed one
("encryptionOptions is not supported for RabbitMQ brokers"; see limits.RABBITMQ_VERSIONS), so unlike the other data
parts the broker does not use the stack's KMS key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pulumi
import pulumi_aws as aws

from components.aws import defaults
from components.aws.secret_store import keep_secret, secret_ref
from components.aws.site import Site
from components.contracts import Binding, SecretEnv, amqp_url
from config import model
from config.model import StackConfig

if TYPE_CHECKING:
    from components.aws.network import Network

PORT = 5671  # AMQP over TLS; Amazon MQ offers no plain AMQP


@dataclass(frozen=True)
class BrokerArgs:
    settings: model.Broker
    password: pulumi.Output[str]
    site: Site
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets, one per AZ
    security_group_id: pulumi.Input[str]  # the data tier's group for AMQPS: admits the app tier only
    deployment_mode: str  # SINGLE_INSTANCE or CLUSTER_MULTI_AZ (defaults.broker_mode)
    instance_type: str  # defaults.broker_instance_type


def build(name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Broker | None:
    """The adapter: the broker's arguments from the stack (mode and instance type by environment, defaults)."""
    if stack.broker is None:
        return None
    assert password is not None
    return Broker(name, BrokerArgs(
        settings=stack.broker, password=password, site=network.site, subnet_ids=network.private_subnet_ids,
        security_group_id=network.data_groups["broker"].id, deployment_mode=defaults.broker_mode(stack),
        instance_type=defaults.broker_instance_type(stack)), opts)


class Broker(pulumi.ComponentResource):
    def __init__(self, name: str, args: BrokerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Broker", name, None, opts)
        self.operations = None  # nothing tools/ops.py operates
        broker, site, password, prefix = args.settings, args.site, args.password, args.site.prefix
        mode = args.deployment_mode
        clustered = mode == "CLUSTER_MULTI_AZ"
        self.broker_name = f"{prefix}-rabbitmq"
        self.broker = aws.mq.Broker(
            f"{name}-rabbitmq",
            broker_name=self.broker_name,
            engine_type="RabbitMQ",
            engine_version=broker.version,
            host_instance_type=args.instance_type,
            deployment_mode=mode,
            # A single-instance broker lives in one subnet; a cluster spreads over the AZs.
            subnet_ids=args.subnet_ids if clustered else args.subnet_ids[:1],
            security_groups=[args.security_group_id],
            publicly_accessible=False,
            users=[{"username": broker.username, "password": pulumi.Output.secret(password)}],
            logs={"general": True},
            auto_minor_version_upgrade=True,  # required from RabbitMQ 3.13 on (botocore mq CreateBrokerRequest)
            maintenance_window_start_time={"day_of_week": "SUNDAY", "time_of_day": "05:00", "time_zone": "UTC"},
            opts=pulumi.ResourceOptions(parent=self, protect=site.protect_data),
        )
        host = self.broker.instances.apply(lambda instances: urlparse(instances[0].endpoints[0]).hostname)
        self.url: pulumi.Output[str] = amqp_url(broker.username, password, host, PORT, tls=True)
        secret, version = keep_secret(f"{name}-connection", site, "broker",
                                      pulumi.Output.json_dumps({"url": self.url}), self, f"{prefix} RabbitMQ: AMQP_URL")
        self.secret = secret
        self.binding = Binding(
            secrets={"AMQP_URL": SecretEnv(value=self.url, reference=secret_ref(secret, version, "url"))},
            depends_on=[self.broker],
        )
        self.register_outputs({"url": self.url, "brokerName": self.broker_name, "secretArn": secret.arn})

