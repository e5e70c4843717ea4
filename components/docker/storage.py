"""The workspace and the shared volumes, as named docker volumes."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.contracts import Binding
from components.docker.container import volume_labels, volume_options
from components.docker.network import Network
from config.model import StackConfig


class Storage(pulumi.ComponentResource):
    """`workspace` is what aws keeps in S3: mounted at `storage.mountPath` in every service that `uses: storage`,
    announced as `STORAGE_URL=file://<path>` and `STORAGE_PATH`. `volumes` are the services' shared volumes by name
    (e.g. Django's static files, written by one service and served read-only by the proxy)."""

    def __init__(self, name: str, stack: StackConfig, network: Network, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Storage", name, None, opts)
        self.operations = None  # nothing tools/ops.py operates
        self.url = None  # no connection URL: storage has no password
        self.workspace: docker.Volume | None = None
        binding = Binding()
        if stack.storage:
            self.workspace = docker.Volume(f"{name}-workspace", name=f"{stack.name_prefix}-workspace",
                                           labels=volume_labels(stack, "workspace"), opts=volume_options(stack, self))
            path = stack.storage.mount_path
            binding = Binding(env={"STORAGE_URL": f"file://{path}", "STORAGE_PATH": path})
        self.binding = binding

        shared = sorted({v.name for s in stack.services for v in s.volumes})
        self.volumes: dict[str, docker.Volume] = {
            # "shared-" keeps a volume called e.g. `pgdata` or `workspace` from colliding with the parts' own
            vol: docker.Volume(f"{name}-shared-{vol}", name=f"{stack.name_prefix}-shared-{vol}",
                               labels=volume_labels(stack, vol), opts=volume_options(stack, self))
            for vol in shared
        }
        self.register_outputs({
            "workspace": self.workspace.name if self.workspace else None,
            "volumes": {k: v.name for k, v in self.volumes.items()},
        })


def build(name: str, stack: StackConfig, network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Storage | None:
    """The adapter: the storage from the stack."""
    if stack.storage is None and not any(s.volumes for s in stack.services):
        return None
    return Storage(name, stack, network, opts=opts)
