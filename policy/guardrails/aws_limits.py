"""AWS's own limits on the whole graph: what AWS would refuse after minutes of provisioning, stopped at preview.

The limits, their sources and the checks are the AWS backend's (`components/aws/limits.py`). That module has no
dependency beyond the standard library so that this pack, which runs in its own environment without the project's
packages, loads the very same file rather than a copy of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from .common import project_module

limits = project_module("twinstack_aws_limits", "components/aws/limits.py")


def plain(value: Any) -> Any:
    """A property as plain values; what a preview does not know yet becomes None (checks skip what they cannot see)."""
    try:
        if isinstance(value, Mapping):
            return {k: plain(_get(value, k)) for k in list(value.keys())}
        if isinstance(value, Sequence) and not isinstance(value, str):
            return [plain(_get(value, i)) for i in range(len(value))]
    except UnknownValueError:
        return None
    return value


def _get(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except UnknownValueError:
        return None


def service_names() -> list[str]:
    """The stack's services in config order (the CLI passes a pack the stack's config), for messages by key path."""
    try:
        services = pulumi.Config("twinstack").get_object("services") or []
    except Exception:  # config the pack cannot read: messages then name resources, not key paths
        return []
    return [s.get("name", "") for s in services if isinstance(s, Mapping)]


def _within_limits(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    records = [limits.Record(r.urn, r.resource_type, r.name, plain(r.props),
                             {k: [d.urn for d in deps] for k, deps in r.property_dependencies.items()})
               for r in args.resources if r.resource_type.startswith("aws:")]
    for problem in limits.graph_problems(records, service_names()):
        report_violation(str(problem), problem.urn)


POLICIES = [
    StackValidationPolicy(
        name="aws-limits",
        description="Names, sizes, quotas and engine options within what AWS accepts (components/aws/limits.py).",
        validate=_within_limits),
]
