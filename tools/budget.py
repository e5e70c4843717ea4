"""The budget guardrail: `twinstack:budget: {monthlyUsd: 400, warnAt: 0.8}` against the stack's monthly estimate.

One implementation for preflight (`python -m tools.preflight`) and the policy pack (`budget`, `budget-warning`): both
price the recorded graph with `tools.cost.estimate` and judge it here, so they report the numbers `make plan` prints.
The estimate compared is the fixed cost plus the assumed usage (`tools.cost.USAGE`), i.e. the "with assumed usage"
total of `make plan`. Standard library only: the policy pack loads this package by file path (docs/plan.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .cost import Estimate, Line

KEY = "twinstack:budget"
DRIVERS = 3  # how many of the largest line items a message names


@dataclass(frozen=True)
class Finding:
    level: str  # "error" (over the budget) or "warning" (over warnAt of it)
    key: str  # the config key path it is about
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def limits(budget: Any) -> tuple[float, float] | None:
    """(monthlyUsd, warnAt) from the config's model (config.model.Budget) or its raw map; None when unset or unusable
    (the config loader reports a bad value by its key path)."""
    if budget is None:
        return None
    if isinstance(budget, Mapping):
        monthly, warn_at = budget.get("monthlyUsd"), budget.get("warnAt", 0.8)
    else:
        monthly, warn_at = getattr(budget, "monthly_usd", None), getattr(budget, "warn_at", 0.8)
    try:
        monthly, warn_at = float(monthly), float(warn_at)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(monthly) and monthly > 0 and math.isfinite(warn_at) and 0 < warn_at <= 1):
        return None
    return monthly, warn_at


def drivers(est: Estimate, count: int = DRIVERS) -> list[Line]:
    """The largest line items, fixed and assumed usage together (ties by label, so messages are stable)."""
    return sorted(est.lines, key=lambda line: (-line.monthly, line.part, line.label))[:count]


def describe_drivers(est: Estimate, count: int = DRIVERS) -> str:
    return "; ".join(f"{line.label} ({line.part}) ${line.monthly:,.2f}" for line in drivers(est, count))


def check(est: Estimate | None, budget: Any) -> list[Finding]:
    """An error when the estimate exceeds monthlyUsd, a warning when it exceeds warnAt x monthlyUsd, else nothing."""
    bounds = limits(budget)
    if est is None or bounds is None:
        return []
    monthly, warn_at = bounds
    total = round(est.total + est.usage_total, 2)
    summary = (f"{est.stack}'s estimate is ${total:,.2f}/month (${est.total:,.2f} fixed + ${est.usage_total:,.2f} "
               f"assumed usage; {est.method})")
    top = f"top cost drivers: {describe_drivers(est)}"
    if total > monthly:
        return [Finding("error", f"{KEY}.monthlyUsd", f"{summary}, over the budget of ${monthly:,.2f} "
                                                      f"by ${total - monthly:,.2f}; {top}")]
    if total > warn_at * monthly:
        return [Finding("warning", f"{KEY}.warnAt", f"{summary}, {total / monthly:.0%} of the budget of "
                                                    f"${monthly:,.2f} (warn at {warn_at:.0%}); {top}")]
    return []
