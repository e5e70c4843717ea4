"""The test harness is the project's graph recorder (tools/graph.py), shared with `python -m tools.plan`, and the fake
provider it records against (tools/mocks.py)."""

from typing import Any

from tools.graph import (  # noqa: F401 - re-exported for tests
    ROOT,
    Graph,
    ProgramError,
    Resource,
    contains_secret_marker,
    reveal,
    run_components,
    run_config,
    run_program,
    run_stack,
    stack_file_config,
)
from tools.mocks import Mocks, fake_outputs  # noqa: F401 - re-exported for tests


def provided(r: Resource, key: str = "id") -> Any:
    """The value the mocks gave this resource's output `key` in its graph (its `id`, `arn`, ...), to follow a
    reference from one resource to another."""
    return fake_outputs(r.type, r.name, reveal(r.inputs))[key]
