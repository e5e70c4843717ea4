"""The part registry (config/parts.py), for the policies that loop over part kinds rather than naming them.

config/parts.py has no dependency beyond the standard library so that this pack, which runs in its own environment
without the project's packages, loads the very same file by path (as it loads components/aws/limits.py and tools/),
under the name tools/parts.py gives it when the pack loads that too: one registry module per process.
"""

from __future__ import annotations

from typing import Any

from .common import project_module

MODULE = "twinstack_parts"  # tools/parts.py REGISTRY_MODULE
parts = project_module(MODULE, "config/parts.py")


def under_data_tier(resource: Any) -> bool:
    """Whether a resource (a `PolicyResource`) sits under the twinstack component of one of the registry's data-tier
    kinds (`twinstack:docker:Database`, `twinstack:aws:Cache`, ...): on any backend, it is then data tier."""
    parent = resource.parent
    while parent is not None:
        if parts.part_of_type(parent.resource_type) in parts.DATA_TIER:
            return True
        parent = parent.parent
    return False


def said(words: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`: the kinds' summaries in a sentence."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
