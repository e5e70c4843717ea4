"""The docker backend (dev): every part of the platform as containers, networks and volumes on one Docker engine.

Exports the same names as `components.aws`; `components/platform.py` picks the package by `twinstack:backend`.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.docker.broker import Broker
from components.docker.cache import Cache
from components.docker.database import Database
from components.docker.monitoring import Monitoring
from components.docker.network import Network
from components.docker.proxy import Proxy
from components.docker.secret_store import SecretStore
from components.docker.services import Services
from components.docker.storage import Storage
from config.model import StackConfig

__all__ = ["Broker", "Cache", "Database", "Monitoring", "Network", "Proxy", "SecretStore", "Services", "Storage",
           "provider_options"]


def provider_options(stack: StackConfig) -> pulumi.ResourceOptions | None:
    """A provider for `twinstack:dockerHost` (e.g. `ssh://deploy@staging-host`), else the default one, which follows
    DOCKER_HOST and the active docker context like the docker CLI does."""
    if stack.docker_host is None:
        return None
    engine = docker.Provider(f"{stack.name_prefix}-docker", host=stack.docker_host)
    return pulumi.ResourceOptions(providers={"docker": engine})
