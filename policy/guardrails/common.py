"""What every policy needs: safe reads of resource properties, links between resources, and whether this is prod.

Properties arrive as the engine sends them: camelCase keys, numbers as floats, secrets already unwrapped, and maps and
lists wrapped in read-only proxies (`Mapping` / `Sequence`, not `dict` / `list`) that raise `UnknownValueError` when a
value is not known yet (a preview of resources that do not exist). Resource policies let that error through, so the
SDK reports "can't run during preview" and the check runs for real at `pulumi up`. Stack policies look at many
resources at once: they skip only the resource whose value is unknown, so one unknown never hides the others.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

PROJECT = Path(__file__).resolve().parents[2]


def project_module(name: str, relative: str) -> ModuleType:
    """A module of the project that imports nothing beyond the standard library (the AWS limits, the part registry),
    loaded by file path under `name`, once per process: the pack runs in its own environment without the project's
    packages, and loads the very same file rather than a copy of it."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, PROJECT / relative)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses resolve their module by name
        spec.loader.exec_module(module)
    return sys.modules[name]


PRODUCTION_SCHEMA = PolicyConfigSchema(properties={
    "production": {
        "type": "boolean",
        "description": "Treat the stack as production. Unset: read twinstack:environment from the stack's config.",
    },
})


def is_production(config: Mapping[str, Any]) -> bool:
    """Production is said explicitly in the policy's config, or read from the stack's own config.

    The CLI hands a policy pack the stack's config and name, so `pulumi preview -s prod --policy-pack policy` needs no
    extra flag. The explicit `production` key is for CLIs too old to pass stack config, and for a pack applied by
    Pulumi Cloud policy groups; it wins when set.
    """
    explicit = config.get("production")
    if explicit is not None:
        return bool(explicit)
    environment = pulumi.Config("twinstack").get("environment")
    if environment:
        return environment == "production"
    # The same default as config/load.py: a stack named prod* is production unless its config says otherwise.
    return (pulumi.get_stack() or "").lower().startswith("prod")


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def number(value: Any, default: float = 0) -> float:
    if isinstance(value, bool) or value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def items(value: Any) -> list[Any]:
    """A list property as a list; absent or a scalar gives an empty one."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def dig(value: Any, *path: str | int) -> Any:
    """Nested lookup that returns None for anything missing (the path may cross maps and lists)."""
    for key in path:
        if isinstance(key, int):
            seq = items(value)
            value = seq[key] if -len(seq) <= key < len(seq) else None
        else:
            value = mapping(value).get(key)
        if value is None:
            return None
    return value


def parse_json(value: Any) -> Any:
    """A JSON-string property (IAM and bucket policies, ECS container definitions), parsed; None if it is not JSON."""
    if isinstance(value, (Mapping, Sequence)) and not isinstance(value, str):
        return value
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------- stack policies


def of_type(args: StackValidationArgs, types: Iterable[str]) -> list[PolicyResource]:
    wanted = set(types)
    return [r for r in args.resources if r.resource_type in wanted]


def identities(resource: PolicyResource) -> set[str]:
    """The values other resources use to point at this one (its id, ARN, name, or a bucket's name)."""
    found = set()
    for key in ("id", "arn", "name", "bucket"):
        try:
            value = resource.props.get(key)
        except UnknownValueError:
            continue
        if isinstance(value, str) and value:
            found.add(value)
    return found


def refers_to(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """Whether `resource.<prop>` points at `target`: through the recorded property dependency (always known, even in
    a preview), else by value (for references written as literals)."""
    if any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, ())):
        return True
    try:
        value = resource.props.get(prop)
    except UnknownValueError:
        return False
    values = items(value) or [value]
    return bool(identities(target) & {v for v in values if isinstance(v, str)})


def referring(args: StackValidationArgs, types: Iterable[str], prop: str, target: PolicyResource) -> list[PolicyResource]:
    return [r for r in of_type(args, types) if refers_to(r, prop, target)]


def check_each(resources: Iterable[PolicyResource], check: Callable[[PolicyResource], Iterable[str]],
               report_violation: ReportViolation) -> None:
    """Run `check` on every resource and report each problem it finds against that resource's URN. A resource whose
    properties are not known yet is skipped, not failed: `pulumi up` checks it again once they are."""
    for resource in resources:
        try:
            problems = list(dict.fromkeys(check(resource)))  # one report per distinct problem
        except UnknownValueError:
            continue
        for problem in problems:
            report_violation(problem, resource.urn)


def resource_policy(name: str, description: str, types: Iterable[str],
                    check: Callable[[ResourceValidationArgs], Iterable[str]],
                    config_schema: PolicyConfigSchema | None = None) -> ResourceValidationPolicy:
    """A policy over the resources of `types`; `check` yields one message per problem it finds."""
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in wanted:
            for problem in check(args):
                report_violation(problem, None)

    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    config_schema=config_schema)
