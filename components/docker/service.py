"""One app service: its image (pulled, or built by Services), its one-off migration, and its replica containers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
from components.docker.rules import service_segments
from config import model
from config.model import StackConfig


def container_name(svc: model.Service, replica: int) -> str:
    return svc.name if svc.replicas == 1 else f"{svc.name}-{replica}"


class Service(pulumi.ComponentResource):
    """Every replica joins the service's segments under the alias `<service>` (Docker's DNS answers with all of
    them), starts after `after` (data containers and the services it depends on) and after its migration, and counts
    as created only once healthy."""

    def __init__(self, name: str, stack: StackConfig, svc: model.Service, network: Network,
                 parts: Mapping[str, pulumi.Resource], bindings: Mapping[str, Binding],
                 secrets: Mapping[str, SecretEnv], after: Sequence[pulumi.Resource],
                 built: docker.Image | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Service", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if built is not None:
            self.image_ref: pulumi.Output[str] = built.image_name
        else:
            assert svc.image is not None
            self.image_ref = docker.RemoteImage(f"{name}-image", name=svc.image, keep_locally=True, opts=child).image_id

        env = assemble_env(svc, bindings, secrets, self)

        volumes = []
        writable: list[str] = []
        storage = parts.get("storage")
        if "storage" in svc.uses and stack.storage and storage is not None:
            volumes.append(docker.ContainerVolumeArgs(volume_name=storage.workspace.name,  # type: ignore[attr-defined]
                                                      container_path=stack.storage.mount_path))
            writable.append(stack.storage.mount_path)
        writable += [v.path for v in svc.volumes if not v.read_only]
        volumes += [docker.ContainerVolumeArgs(volume_name=storage.volumes[v.name].name,  # type: ignore[union-attr]
                                               container_path=v.path, read_only=v.read_only) for v in svc.volumes]

        common = {
            "image": self.image_ref,
            "envs": env_list(env.plain, {k: s.value for k, s in env.secrets.items()}),
            "networks_advanced": attach(network, service_segments(stack, svc.name), [svc.name]),
            "volumes": volumes or None,
            "user": svc.user,
            "read_only": svc.read_only_root_filesystem,
            "tmpfs": TMPFS if svc.read_only_root_filesystem else None,
            "cpus": f"{svc.cpu / 1024:g}",
            # an init as PID 1 forwards SIGTERM and reaps zombies: most app processes do neither as PID 1
            "init": True,
        }

        # one-offs of the parts this service uses (password syncs) that must have succeeded before it starts
        gates = [gate for part in svc.uses if (gate := getattr(parts[part], "ready", None)) is not None]

        # Docker creates a named volume root-owned where the image lacks its path: hand the service's volumes to its
        # user first (contracts.volume_preparation), as root, in its own image, with no network and no env.
        self.preparation: docker.Container | None = None
        prepare = volume_preparation(svc.user, writable)
        if prepare:
            self.preparation = docker.Container(f"{name}-prepare-volumes", **one_off(
                stack, f"{svc.name}-{PREPARE_VOLUMES}", 64, image=self.image_ref, volumes=volumes, user="0",
                entrypoints=prepare[:2], command=prepare[2:], network_mode="none",
            ), opts=options(self, after))
            after = [*after, self.preparation]
            gates.append(succeeded(self.preparation, f"preparing the {svc.name} volumes"))

        self.migration: docker.Container | None = None
        if svc.migration:
            self.migration = docker.Container(f"{name}-migration", **one_off(
                stack, f"{svc.name}-migrate", svc.memory, **common, command=svc.migration.command,
                labels=after_jobs(gates),
            ), opts=options(self, after))

        probe = service_probe(svc.health_check, svc.port)
        waits = list(after)
        if self.migration is not None:
            waits.append(self.migration)
            gates.append(succeeded(self.migration, f"the {svc.name} migration"))
        self.containers: list[docker.Container] = [
            docker.Container(f"{name}-replica-{n}", **hardened(
                stack, container_name(svc, n), probe, svc.memory, **common, command=svc.command,
                labels=after_jobs(gates),
            ), opts=options(self, waits))
            for n in range(1, svc.replicas + 1)
        ]
        self.internal_url = ServiceEndpoint(svc.name, svc.port).internal_url if svc.port is not None else None
        self.register_outputs({
            "internalUrl": self.internal_url,
            "image": self.image_ref,
            "containers": [c.name for c in self.containers],
        })
