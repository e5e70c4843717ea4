"""The docker networks: one per `twinstack:network.segments`, the data tier's marked `internal`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker.site import Site
from config import model


@dataclass(frozen=True)
class NetworkArgs:
    site: Site
    segments: Sequence[model.Segment]


class Network(pulumi.ComponentResource):
    """User-defined bridge networks. Docker's embedded DNS resolves container aliases only on these, which is what
    gives every service the same `http://<service>:<port>` names as Cloud Map on aws. An `internal` network has no
    route off the host and cannot publish ports, so the data tier is unreachable from outside even if misconfigured.

    It carries the stack's Site to the other parts' adapters, as the aws Network does.
    """

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Network", name, None, opts)
        prefix = args.site.prefix
        self.site = args.site
        # whether each segment is `internal` (see container.host_access)
        self.internal: dict[str, bool] = {segment.name: segment.internal for segment in args.segments}
        self.networks: dict[str, docker.Network] = {
            segment.name: docker.Network(
                f"{name}-{segment.name}",
                # the prefix keeps two stacks on one engine apart and lets a re-created stack find its networks
                name=f"{prefix}-{segment.name}",
                driver="bridge",
                internal=segment.internal,
                labels=[docker.NetworkLabelArgs(label="twinstack.stack", value=prefix)],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for segment in args.segments
        }
        self.names: dict[str, pulumi.Output[str]] = {key: net.name for key, net in self.networks.items()}
        self.register_outputs({"names": self.names})
