"""The docker backend (dev): every part of the platform as containers, networks and volumes on one Docker engine.

The functions below are the backend's side of `components.interface.Backend`: Platform calls them, each the adapter
of one part, which reads the stack, resolves what the part needs and hands the component its narrow arguments. A part
kind of config/parts.py is built by its module's `build` (`components/docker/<key>.py`), the same kind of adapter.
The network adapter builds the stack's Site once; the Network carries it to the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import pulumi
import pulumi_docker as docker

from components.contracts import SecretEnv
from components.docker import nginx
from components.docker.monitoring import Monitoring, MonitoringArgs, monitoring_segments, prometheus_config
from components.docker.network import Network, NetworkArgs
from components.docker.proxy import Proxy, ProxyArgs
from components.docker.rules import service_segments
from components.docker.secret_store import SecretStore, SecretStoreArgs
from components.docker.services import Services, ServicesArgs
from components.docker.site import DataComponent, Site
from components.docker.storage import Storage
from components.interface import DataPart
from components.source import image_owners
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
    site = Site(prefix=stack.name_prefix, production=stack.production, protect_data=stack.protects_data)
    return Network(name, NetworkArgs(site=site, segments=stack.network.segments), opts=opts)


def secret_store(name: str, stack: StackConfig, network: Network, values: Mapping[str, pulumi.Output[str]],
                 opts: pulumi.ResourceOptions) -> SecretStore:
    return SecretStore(name, SecretStoreArgs(values=values), opts=opts)


def part(kind: PartKind, name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
         opts: pulumi.ResourceOptions) -> DataPart | None:
    return importlib.import_module(f"{__name__}.{kind.key}").build(name, stack, network, password, opts)


def proxy(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart],
          opts: pulumi.ResourceOptions) -> Proxy:
    storage = _storage(parts)
    shared = storage.volumes if storage is not None else {}
    served = sorted({r.volume for r in stack.proxy.routes if r.volume is not None})
    return Proxy(name, ProxyArgs(settings=stack.proxy, site=network.site, network=network,
                                 segment=stack.network.proxy_segment, config=nginx.render(stack),
                                 served={volume: shared[volume] for volume in served}), opts=opts)


def services(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart],
             secrets: Mapping[str, SecretEnv], proxy: Proxy, opts: pulumi.ResourceOptions) -> Services:
    own = _own(parts)
    return Services(name, ServicesArgs(
        services=stack.services_in_dependency_order(),
        owners=image_owners(stack.services, per_architecture=False),
        site=network.site, network=network,
        segments={svc.name: service_segments(stack, svc.name) for svc in stack.services},
        bindings={key: p.binding for key, p in own.items()},
        gates={key: p.ready for key, p in own.items() if p.ready is not None},
        secrets=secrets, storage=_storage(parts), docker_host=stack.docker_host,
    ), opts=opts)


def monitoring(name: str, stack: StackConfig, network: Network, parts: Mapping[str, DataPart], proxy: Proxy,
               services: Services, opts: pulumi.ResourceOptions) -> Monitoring:
    return Monitoring(name, MonitoringArgs(settings=stack.monitoring, site=network.site, network=network,
                                           segments=monitoring_segments(stack),
                                           scrape_config=prometheus_config(stack.services)), opts=opts)


def _own(parts: Mapping[str, DataPart]) -> dict[str, DataComponent]:
    """The parts as this backend built them (`part` above), with the attributes only docker parts have."""
    own = {key: p for key, p in parts.items() if isinstance(p, DataComponent)}
    assert own.keys() == parts.keys(), "every docker data part derives from components.docker.site.DataComponent"
    return own


def _storage(parts: Mapping[str, DataPart]) -> Storage | None:
    storage = parts.get("storage")
    assert storage is None or isinstance(storage, Storage)
    return storage
