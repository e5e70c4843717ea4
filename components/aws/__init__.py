"""The AWS backend (staging, prod): VPC, RDS, ElastiCache, Amazon MQ, S3, ECS Fargate behind an ALB, CloudWatch.

The functions below are the backend's side of `components.interface.Backend`: Platform calls them, each builds one
part from the stack. A part kind of config/parts.py is built by its module's `build` (`components/aws/<key>.py`), the
adapter that reads the stack and hands the component its narrow arguments.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.aws.monitoring import Monitoring
from components.aws.network import Network
from components.aws.proxy import Proxy
from components.aws.secret_store import SecretStore
from components.aws.services import Services
from components.contracts import SecretEnv
from components.interface import DataPart
from config.model import StackConfig
from config.parts import PartKind


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
    return Network(name, stack, opts=opts)


def secret_store(name: str, stack: StackConfig, network: Network, values: Mapping[str, pulumi.Output[str]],
                 opts: pulumi.ResourceOptions) -> SecretStore:
    return SecretStore(name, network.site, values, opts=opts)


def part(kind: PartKind, name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
         opts: pulumi.ResourceOptions) -> DataPart | None:
    return importlib.import_module(f"{__name__}.{kind.key}").build(name, stack, network, password, opts)


def proxy(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart],
          opts: pulumi.ResourceOptions) -> Proxy:
    return Proxy(name, stack, network, parts, opts=opts)


def services(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart],
             secrets: Mapping[str, SecretEnv], proxy: Proxy, opts: pulumi.ResourceOptions) -> Services:
    bindings = {key: p.binding for key, p in parts.items()}
    return Services(name, stack, network, parts, bindings, secrets, proxy, opts=opts)


def monitoring(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart], proxy: Proxy,
               services: Services, opts: pulumi.ResourceOptions) -> Monitoring:
    return Monitoring(name, stack, network, parts, proxy, services, opts=opts)
