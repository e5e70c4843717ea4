"""All app services, declared in dependency order so each one can wait for the containers it depends on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.contracts import Binding, SecretEnv
from components.docker.image import built_image
from components.docker.network import Network
from components.docker.service import Service, ServiceArgs
from components.docker.site import Site
from components.docker.storage import Storage
from config import model


@dataclass(frozen=True)
class ServicesArgs:
    services: Sequence[model.Service]  # every service after the services it depends on
    owners: Mapping[str, str]  # each built service's image owner (components.source.image_owners, in config order)
    site: Site
    network: Network
    segments: Mapping[str, Sequence[str]]  # each service's docker networks (rules.service_segments)
    bindings: Mapping[str, Binding]  # each part's, by part kind
    gates: Mapping[str, pulumi.Output[str]]  # each part's one-off to wait for (DataComponent.ready), where it has one
    secrets: Mapping[str, SecretEnv]  # the app secrets, by name
    storage: Storage | None  # the workspace and the shared volumes
    docker_host: str | None  # twinstack:dockerHost, for the operations output


class Services(pulumi.ComponentResource):
    """Compose's `depends_on: condition: service_healthy`, in Pulumi terms: a service's containers depend on the data
    containers it uses and on its dependencies' containers, all of which are created with `wait`, so creation follows
    health, not just start."""

    def __init__(self, name: str, args: ServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Services", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        by_name = {svc.name: svc for svc in args.services}
        # built before any service is declared: a shared build's first service may start after the others
        images = {owner: built_image(f"{name}-{owner}-image", args.site, by_name[owner], child)
                  for owner in dict.fromkeys(args.owners.values())}
        self.services: dict[str, Service] = {}
        for svc in args.services:
            built = images[args.owners[svc.name]] if svc.name in args.owners else None
            self.services[svc.name] = Service(f"{name}-{svc.name}", self._service_args(args, svc, built), opts=child)
        # the stack's `operations` output (tools/ops.py): each service's containers by name, nothing secret
        self.operations: dict[str, pulumi.Input] = {
            "backend": "docker", "dockerHost": args.docker_host,
            "services": {svc_name: {"containers": [c.name for c in s.containers]}
                         for svc_name, s in self.services.items()},
        }
        self.register_outputs({"services": sorted(self.services)})

    def _service_args(self, args: ServicesArgs, svc: model.Service, built: docker.Image | None) -> ServiceArgs:
        """One service's arguments: what the parts it uses hand it, and the containers declared before it that it
        starts after."""
        after: list[pulumi.Resource] = []
        for part in svc.uses:
            after += args.bindings[part].depends_on
        for dep in svc.depends_on:
            after += self.services[dep].containers
        storage = args.storage
        return ServiceArgs(
            settings=svc, site=args.site, network=args.network, segments=args.segments[svc.name],
            bindings={part: args.bindings[part] for part in svc.uses},
            secrets={key: args.secrets[key] for key in [*svc.secrets, *svc.optional_secrets] if key in args.secrets},
            after=after,
            gates=[args.gates[part] for part in svc.uses if part in args.gates],
            workspace=storage.workspace if storage is not None and "storage" in svc.uses else None,
            shared={v.name: storage.volumes[v.name] for v in svc.volumes} if storage is not None else {},
            built=built,
        )
