"""The docker backend (dev): every part of the platform as containers, networks and volumes on one Docker engine.

The functions below are the backend's side of `components.interface.Backend`: Platform calls them, each builds one
part from the stack. A part kind of config/parts.py is built by its module's `build` (`components/docker/<key>.py`),
the adapter that reads the stack and hands the component its narrow arguments.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import pulumi
import pulumi_docker as docker

from components.contracts import SecretEnv
from components.docker.monitoring import Monitoring
from components.docker.network import Network
from components.docker.proxy import Proxy
from components.docker.secret_store import SecretStore
from components.docker.services import Services
from components.interface import DataPart
from config.model import StackConfig
from config.parts import PartKind


def provider_options(stack: StackConfig) -> pulumi.ResourceOptions | None:
    """A provider for `twinstack:dockerHost` (e.g. `ssh://deploy@staging-host`), else the default one, which follows
    DOCKER_HOST and the active docker context like the docker CLI does."""
    if stack.docker_host is None:
        return None
    engine = docker.Provider(f"{stack.name_prefix}-docker", host=stack.docker_host)
    return pulumi.ResourceOptions(providers={"docker": engine})


def network(name: str, stack: StackConfig, opts: pulumi.ResourceOptions) -> Network:
    return Network(name, stack, opts=opts)


def secret_store(name: str, stack: StackConfig, network: Network, values: Mapping[str, pulumi.Output[str]],
                 opts: pulumi.ResourceOptions) -> SecretStore:
    return SecretStore(name, stack, values, opts=opts)


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
