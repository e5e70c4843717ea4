"""Fit a docker stack's service sizes to Fargate, for `python -m tools.plan <docker stack> --backend aws`.

Docker accepts any CPU share and memory limit; Fargate accepts only its task sizes (`components/aws/limits.py`,
`FARGATE_MEMORY`). Pricing a docker stack on AWS therefore moves each size Fargate does not offer to the nearest one
that gives the service at least what it had (the smallest CPU, then the smallest memory, at or above both), and says so.
"""

from __future__ import annotations

import copy
from typing import Any

from components.aws.limits import FARGATE_MEMORY, fargate_memory

DEFAULT_CPU, DEFAULT_MEMORY = 256, 512  # config/model.py's defaults for a service


def sizes() -> list[tuple[int, int]]:
    """Every (cpu, memory) pair Fargate accepts, smallest first."""
    return [(cpu, mem) for cpu in sorted(FARGATE_MEMORY) for mem in (fargate_memory(cpu) or ())]


def nearest(cpu: int, memory: int) -> tuple[int, int]:
    """The smallest Fargate size with at least `cpu` units and `memory` MiB (the largest size if none is that big)."""
    for pair in sizes():
        if pair[0] >= cpu and pair[1] >= memory:
            return pair
    return sizes()[-1]


def fit_services(services: Any) -> tuple[Any, list[str]]:
    """`twinstack:services` with every size moved to a Fargate size, and one note per service that moved."""
    if not isinstance(services, list):
        return services, []
    fitted, notes = copy.deepcopy(services), []
    for index, svc in enumerate(fitted):
        if not isinstance(svc, dict):
            continue
        cpu, memory = svc.get("cpu", DEFAULT_CPU), svc.get("memory", DEFAULT_MEMORY)
        if not isinstance(cpu, int) or not isinstance(memory, int) or memory in (fargate_memory(cpu) or ()):
            continue
        new_cpu, new_memory = nearest(cpu, memory)
        svc["cpu"], svc["memory"] = new_cpu, new_memory
        notes.append(f"services[{index}] {svc.get('name', '?')}: cpu {cpu} / memory {memory} MiB is not a Fargate "
                     f"size; priced as cpu {new_cpu} / memory {new_memory} MiB, the nearest Fargate size above it")
    return fitted, notes
