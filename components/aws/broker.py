"""Broker: Amazon MQ for RabbitMQ in the private subnets, reachable only from the app tier, over AMQPS.

Amazon MQ encrypts RabbitMQ brokers at rest with an AWS-owned key and refuses a customer-managed one
("encryptionOptions is not supported for RabbitMQ brokers"; see limits.RABBITMQ_VERSIONS), so unlike the other data
parts the broker does not use the stack's KMS key.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pulumi
import pulumi_aws as aws

from components.aws import defaults
from components.aws.secret_store import keep_secret, secret_ref
from components.contracts import Binding, SecretEnv, amqp_url
from config.model import StackConfig

PORT = 5671  # AMQP over TLS; Amazon MQ offers no plain AMQP


class Broker(pulumi.ComponentResource):
    def __init__(self, name: str, stack: StackConfig, network, password: pulumi.Output[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Broker", name, None, opts)
        self.operations = None  # nothing tools/ops.py operates
        assert stack.broker is not None
        broker, prefix = stack.broker, stack.name_prefix
        mode = defaults.broker_mode(stack)
        clustered = mode == "CLUSTER_MULTI_AZ"
        self.broker_name = f"{prefix}-rabbitmq"
        self.broker = aws.mq.Broker(
            f"{name}-rabbitmq",
            broker_name=self.broker_name,
            engine_type="RabbitMQ",
            engine_version=broker.version,
            host_instance_type=defaults.broker_instance_type(stack),
            deployment_mode=mode,
            # A single-instance broker lives in one subnet; a cluster spreads over the AZs.
            subnet_ids=network.private_subnet_ids if clustered else network.private_subnet_ids[:1],
            security_groups=[network.security_groups["broker"].id],
            publicly_accessible=False,
            users=[{"username": broker.username, "password": pulumi.Output.secret(password)}],
            logs={"general": True},
            auto_minor_version_upgrade=True,  # required from RabbitMQ 3.13 on (botocore mq CreateBrokerRequest)
            maintenance_window_start_time={"day_of_week": "SUNDAY", "time_of_day": "05:00", "time_zone": "UTC"},
            opts=pulumi.ResourceOptions(parent=self, protect=stack.protects_data),
        )
        host = self.broker.instances.apply(lambda instances: urlparse(instances[0].endpoints[0]).hostname)
        self.url: pulumi.Output[str] = amqp_url(broker.username, password, host, PORT, tls=True)
        secret, version = keep_secret(f"{name}-connection", network.site, "broker",
                                      pulumi.Output.json_dumps({"url": self.url}), self, f"{prefix} RabbitMQ: AMQP_URL")
        self.secret = secret
        self.binding = Binding(
            secrets={"AMQP_URL": SecretEnv(value=self.url, reference=secret_ref(secret, version, "url"))},
            depends_on=[self.broker],
        )
        self.register_outputs({"url": self.url, "brokerName": self.broker_name, "secretArn": secret.arn})


def build(name: str, stack: StackConfig, network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Broker | None:
    """The adapter: the broker from the stack."""
    if stack.broker is None:
        return None
    return Broker(name, stack, network, password, opts=opts)
