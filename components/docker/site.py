"""What the docker parts of one stack share, handed to each component in its narrow arguments.

`Site` holds the stack's facts every container, network and volume is named and kept by; the network adapter
(`components/docker/__init__.py`) builds it once from the stack's config and the Network carries it to the other
adapters, so a component gets these facts, not the whole StackConfig. `DataComponent` is the base of every data part
(a part kind of config/parts.py): what Platform reads from it (components.interface.DataPart) and what Services reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.contracts import Binding


@dataclass(frozen=True)
class Site:
    prefix: str  # twinstack:namePrefix: the start of every container, network and volume name, and their label
    production: bool  # volumes are protected: Pulumi refuses to delete them
    protect_data: bool  # volumes outlive `pulumi destroy` (retained), as `docker compose down` keeps them


class DataComponent(pulumi.ComponentResource):
    """A data part on docker. Each sets `binding`, `url` and `operations` in its constructor, and `ready` where it
    runs a one-off that services must wait for."""

    binding: Binding
    # the connection URL (secret) of a part with a password; None for one without (storage)
    url: pulumi.Output[str] | None
    # what tools/ops.py needs to operate it, or None
    operations: Mapping[str, pulumi.Input[Any]] | None
    # the name of a one-off (a password sync) that must have succeeded before a service using the part starts, known
    # only once it has; None where there is nothing to wait for beyond `binding.depends_on`
    ready: pulumi.Output[str] | None = None
