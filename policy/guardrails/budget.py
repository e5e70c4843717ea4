"""The budget: `twinstack:budget: {monthlyUsd, warnAt}` against the stack's monthly estimate, at preview.

One implementation: this pack loads the project's own cost model (`tools/cost.py`, `tools/parts.py`, `tools/pricing.py`,
`tools/records.py`, `tools/budget.py`, all standard library only) by file path as a package of its own, builds the
same records `tools/graph.py` records from what the engine hands a stack policy, and judges the estimate with
`tools/budget.check`, exactly as `python -m tools.preflight` and `make plan` do. Over the budget is a mandatory
violation (`budget`); over `warnAt` of it an advisory one (`budget-warning`). Only AWS resources are priced.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

from .aws_limits import plain

TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools"
PACKAGE = "twinstack_tools"  # not `tools`: nothing in the pack's environment can shadow it or be shadowed


def _load_tools() -> Any:
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(PACKAGE, TOOLS_DIR / "__init__.py",
                                                      submodule_search_locations=[str(TOOLS_DIR)])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{PACKAGE}.budget")


budget = _load_tools()
cost = sys.modules[f"{PACKAGE}.cost"]
records = sys.modules[f"{PACKAGE}.records"]


def _is_component(type_: str) -> bool:
    return type_.startswith(("twinstack:", "pulumi:pulumi:"))


def graph_of(args: StackValidationArgs, stack: str) -> Any:
    """The stack as `tools.records.Graph`: what tools/graph.py records under mocks, from the engine's view."""
    resources = []
    for r in args.resources:
        resources.append(records.Resource(
            urn=r.urn, type=r.resource_type, name=r.name, custom=not _is_component(r.resource_type),
            parent=r.parent.urn if r.parent is not None else None,
            inputs=plain(r.props) if r.resource_type.startswith("aws:") else {},
            dependencies=[d.urn for d in r.dependencies],
            property_dependencies={k: [d.urn for d in deps] for k, deps in r.property_dependencies.items()},
            protect=False, retain_on_delete=False, delete_before_replace=False, ignore_changes=[],
            replace_on_changes=[], additional_secret_outputs=[], aliases=[], provider=None))
    return records.Graph(resources, {}, 0.0, stack)


def stack_budget() -> Mapping[str, Any] | None:
    try:
        value = pulumi.Config("twinstack").get_object("budget")
    except Exception:  # config the pack cannot read: the program's own loader reports it by key path
        return None
    return value if isinstance(value, Mapping) else None


def findings(args: StackValidationArgs) -> list[Any]:
    limit = stack_budget()
    if budget.limits(limit) is None or not any(r.resource_type.startswith("aws:") for r in args.resources):
        return []
    region = pulumi.Config("aws").get("region") or "us-east-1"
    try:
        estimate = cost.estimate(graph_of(args, pulumi.get_stack()), region)
    except Exception as e:  # an unknown region: said once, as a violation, rather than a crashed pack
        return [budget.Finding("error", "twinstack:budget", f"cannot price the stack: {e}")]
    return budget.check(estimate, limit)


def _over_budget(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for finding in findings(args):
        if finding.level == "error":
            report_violation(str(finding), None)


def _near_budget(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for finding in findings(args):
        if finding.level == "warning":
            report_violation(str(finding), None)


POLICIES = [
    StackValidationPolicy(
        name="budget",
        description="The monthly estimate (tools/cost.py, as `make plan` prints it) within twinstack:budget.monthlyUsd.",
        validate=_over_budget),
    StackValidationPolicy(
        name="budget-warning",
        description="The monthly estimate below twinstack:budget.warnAt of the budget (a warning).",
        validate=_near_budget, enforcement_level=EnforcementLevel.ADVISORY),
]
