"""One app service: its image (pulled, or built by Services), its one-off migration, and its replica containers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker

from components.contracts import (
    PREPARE_VOLUMES,
    Binding,
    SecretEnv,
    ServiceEndpoint,
    assemble_env,
    volume_preparation,
)
from components.docker.container import (
    TMPFS,
    after_jobs,
    attach,
    env_list,
    hardened,
    one_off,
    options,
    service_probe,
    succeeded,
)
from components.docker.network import Network
from components.docker.site import Site
from components.docker.storage import Workspace
from config import model


@dataclass(frozen=True)
class ServiceArgs:
    settings: model.Service
    site: Site
    network: Network
    segments: Sequence[str]  # the docker networks it joins (rules.service_segments)
    bindings: Mapping[str, Binding]  # what each part it `uses` hands it
    secrets: Mapping[str, SecretEnv]  # the app secrets it names (required or optional) that are set
    # containers it starts after: those of the parts it uses and of the services it depends on
    after: Sequence[pulumi.Resource] = ()
    # the one-offs of the parts it uses (password syncs) that must have succeeded before it starts (DataComponent.ready)
    gates: Sequence[pulumi.Output[str]] = ()
    workspace: Workspace | None = None  # the storage workspace, where it `uses: storage`
    shared: Mapping[str, docker.Volume] = field(default_factory=dict)  # its shared volumes (`volumes`), by name
    built: docker.Image | None = None  # the image Services built for it; None: it runs `image`, pulled


def container_name(svc: model.Service, replica: int) -> str:
    return svc.name if svc.replicas == 1 else f"{svc.name}-{replica}"


class Service(pulumi.ComponentResource):
    """Every replica joins the service's segments under the alias `<service>` (Docker's DNS answers with all of
    them), starts after `after` (data containers and the services it depends on) and after its migration, and counts
    as created only once healthy."""

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Service", name, None, opts)
        svc = args.settings
        self.image_ref = self._image(name, args)
        volumes, writable = self._volumes(args)
        common = self._container_args(args, volumes)
        after = list(args.after)
        gates = list(args.gates)

        self.preparation = self._preparation(name, args, volumes, writable, after)
        if self.preparation is not None:
            after.append(self.preparation)
            gates.append(succeeded(self.preparation, f"preparing the {svc.name} volumes"))

        self.migration: docker.Container | None = None
        if svc.migration:
            self.migration = docker.Container(f"{name}-migration", **one_off(
                args.site, f"{svc.name}-migrate", svc.memory, **common, command=svc.migration.command,
                labels=after_jobs(gates),
            ), opts=options(self, after))
            after.append(self.migration)
            gates.append(succeeded(self.migration, f"the {svc.name} migration"))

        probe = service_probe(svc.health_check, svc.port)
        self.containers: list[docker.Container] = [
            docker.Container(f"{name}-replica-{n}", **hardened(
                args.site, container_name(svc, n), probe, svc.memory, **common, command=svc.command,
                labels=after_jobs(gates),
            ), opts=options(self, after))
            for n in range(1, svc.replicas + 1)
        ]
        self.internal_url = ServiceEndpoint(svc.name, svc.port).internal_url if svc.port is not None else None
        self.register_outputs({
            "internalUrl": self.internal_url,
            "image": self.image_ref,
            "containers": [c.name for c in self.containers],
        })

    def _image(self, name: str, args: ServiceArgs) -> pulumi.Output[str]:
        """The image its containers run: the one Services built, or its `image`, pulled and kept locally."""
        if args.built is not None:
            return args.built.image_name
        assert args.settings.image is not None
        return docker.RemoteImage(f"{name}-image", name=args.settings.image, keep_locally=True,
                                  opts=pulumi.ResourceOptions(parent=self)).image_id

    @staticmethod
    def _volumes(args: ServiceArgs) -> tuple[list[docker.ContainerVolumeArgs], list[str]]:
        """Its mounts (the workspace, then its shared volumes) and the paths among them it writes to."""
        volumes, writable = [], []
        if args.workspace is not None:
            volumes.append(docker.ContainerVolumeArgs(volume_name=args.workspace.volume.name,
                                                      container_path=args.workspace.path))
            writable.append(args.workspace.path)
        writable += [v.path for v in args.settings.volumes if not v.read_only]
        volumes += [docker.ContainerVolumeArgs(volume_name=args.shared[v.name].name, container_path=v.path,
                                               read_only=v.read_only) for v in args.settings.volumes]
        return volumes, writable

    def _container_args(self, args: ServiceArgs, volumes: list[docker.ContainerVolumeArgs]) -> dict[str, Any]:
        """What its migration and its replicas share: image, env, networks, mounts, user and limits."""
        svc = args.settings
        env = assemble_env(svc, args.bindings, args.secrets, self)
        return {
            "image": self.image_ref,
            "envs": env_list(env.plain, {k: s.value for k, s in env.secrets.items()}),
            "networks_advanced": attach(args.network, args.segments, [svc.name]),
            "volumes": volumes or None,
            "user": svc.user,
            "read_only": svc.read_only_root_filesystem,
            "tmpfs": TMPFS if svc.read_only_root_filesystem else None,
            "cpus": f"{svc.cpu / 1024:g}",
            # an init as PID 1 forwards SIGTERM and reaps zombies: most app processes do neither as PID 1
            "init": True,
        }

    def _preparation(self, name: str, args: ServiceArgs, volumes: list[docker.ContainerVolumeArgs],
                     writable: list[str], after: Sequence[pulumi.Resource]) -> docker.Container | None:
        """Docker creates a named volume root-owned where the image lacks its path: hand the service's volumes to its
        user first (contracts.volume_preparation), as root, in its own image, with no network and no env. None when
        there is nothing to hand over."""
        svc = args.settings
        prepare = volume_preparation(svc.user, writable)
        if not prepare:
            return None
        return docker.Container(f"{name}-prepare-volumes", **one_off(
            args.site, f"{svc.name}-{PREPARE_VOLUMES}", 64, image=self.image_ref, volumes=volumes, user="0",
            entrypoints=prepare[:2], command=prepare[2:], network_mode="none",
        ), opts=options(self, after))
