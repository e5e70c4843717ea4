"""The workspace and the shared volumes, as named docker volumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.contracts import Binding
from components.docker.container import volume_labels, volume_options
from components.docker.network import Network
from components.docker.site import DataComponent, Site
from config import model
from config.model import StackConfig


@dataclass(frozen=True)
class StorageArgs:
    site: Site
    workspace: model.Storage | None  # twinstack:storage, or None: shared volumes only
    shared: Sequence[str]  # the services' shared volumes (`services[].volumes`), by name


@dataclass(frozen=True)
class Workspace:
    """The workspace volume and where every service that `uses: storage` mounts it."""

    volume: docker.Volume
    path: str


def build(name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Storage | None:
    """The adapter: the volumes from the stack (the workspace, and every shared volume a service declares)."""
    shared = sorted({v.name for s in stack.services for v in s.volumes})
    if stack.storage is None and not shared:
        return None
    return Storage(name, StorageArgs(site=network.site, workspace=stack.storage, shared=shared), opts)


class Storage(DataComponent):
    """The workspace is what aws keeps in S3: mounted at `storage.mountPath` in every service that `uses: storage`,
    announced as `STORAGE_URL=file://<path>` and `STORAGE_PATH`. `volumes` are the services' shared volumes by name
    (e.g. Django's static files, written by one service and served read-only by the proxy)."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Storage", name, None, opts)
        site = args.site
        self.operations = None  # nothing tools/ops.py operates
        self.url = None  # no connection URL: storage has no password
        self.workspace: Workspace | None = None
        binding = Binding()
        if args.workspace is not None:
            path = args.workspace.mount_path
            self.workspace = Workspace(
                docker.Volume(f"{name}-workspace", name=f"{site.prefix}-workspace",
                              labels=volume_labels(site, "workspace"), opts=volume_options(site, self)), path)
            binding = Binding(env={"STORAGE_URL": f"file://{path}", "STORAGE_PATH": path})
        self.binding = binding

        self.volumes: dict[str, docker.Volume] = {
            # "shared-" keeps a volume called e.g. `pgdata` or `workspace` from colliding with the parts' own
            vol: docker.Volume(f"{name}-shared-{vol}", name=f"{site.prefix}-shared-{vol}",
                               labels=volume_labels(site, vol), opts=volume_options(site, self))
            for vol in args.shared
        }
        self.register_outputs({
            "workspace": self.workspace.volume.name if self.workspace else None,
            "volumes": {k: v.name for k, v in self.volumes.items()},
        })
