"""Read `twinstack:*` from Pulumi config into a validated StackConfig, or fail with every problem at once.

Nothing here declares a resource: `__main__.py` calls `load()` first, so bad config never leaves a partial graph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from config.model import DNS_LABEL, ENV_NAME, SECRET_NAME, StackConfig
from config.parts import PART_KEYS
from config.rules import check

NAMESPACE = "twinstack"
SCALAR_KEYS = {"backend", "environment", "namePrefix", "protectData", "dockerHost"}
OBJECT_KEYS = {"network", *PART_KEYS, "services", "proxy", "monitoring", "generatedSecrets", "rotation", "secrets",
               "budget"}
BOOL_KEYS = {"protectData"}
# What a regex in config/model.py means, in words, for error messages.
PATTERN_HINTS = {
    DNS_LABEL: "must be a DNS label: lowercase letters, digits and hyphens, starting with a letter, at most 63",
    ENV_NAME: "must be an environment variable name: letters, digits and underscores, not starting with a digit",
    SECRET_NAME: "must be an UPPER_SNAKE_CASE environment variable name",
}


class ConfigError(Exception):
    """Every problem in the stack's config, each as `twinstack:<key path>: <message>`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"twinstack config has {len(problems)} problem{'s' * (len(problems) != 1)}:\n{lines}")


class Loaded:
    """A validated stack and the user-provided secret values, kept apart so they are only ever read as secrets."""

    def __init__(self, stack: StackConfig, secret_values: Mapping[str, str]):
        self.stack = stack
        self._secret_values = dict(secret_values)

    def secret(self, name: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(self._secret_values[name])


def raw_config() -> dict[str, str]:
    """Every `twinstack:*` key the engine passed in, as the raw strings Pulumi stores (objects are JSON)."""
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {k.split(":", 1)[1]: v for k, v in merged.items() if k.startswith(f"{NAMESPACE}:")}


def load(stack_name: str | None = None, raw: Mapping[str, Any] | None = None) -> Loaded:
    stack_name = stack_name or pulumi.get_stack()
    from_engine = raw is None
    raw = raw_config() if raw is None else raw
    problems: list[str] = []
    doc: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SCALAR_KEYS | OBJECT_KEYS:
            problems.append(f"{NAMESPACE}:{key}: unknown key (known: {', '.join(sorted(SCALAR_KEYS | OBJECT_KEYS))})")
            continue
        parsed = _parse(key, value, problems)
        if parsed is not None:
            doc[key] = parsed

    secret_values = doc.pop("secrets", None) or {}
    if not isinstance(secret_values, dict):
        problems.append(f"{NAMESPACE}:secrets: must be a map of NAME: value")
        secret_values = {}
    for name, value in secret_values.items():
        if not re.fullmatch(SECRET_NAME, name):
            problems.append(f"{NAMESPACE}:secrets.{name}: secret names are UPPER_SNAKE_CASE env var names")
        elif not isinstance(value, str):
            problems.append(f"{NAMESPACE}:secrets.{name}: must be a string")
    if secret_values and from_engine and not _is_secret("secrets"):
        problems.append(f"{NAMESPACE}:secrets: values must be encrypted: set them with "
                        f"`pulumi config set --secret --path '{NAMESPACE}:secrets.<NAME>' <value>`")
    doc["secretNames"] = sorted(k for k, v in secret_values.items() if isinstance(v, str))
    doc.setdefault("environment", default_environment(stack_name))
    doc.setdefault("namePrefix", re.sub(r"[^a-z0-9-]", "-", stack_name.lower())[:20])

    stack = None
    try:
        stack = StackConfig.model_validate(doc)
    except ValidationError as e:
        problems.extend(_format(err) for err in e.errors())
    if stack is not None:
        problems.extend(f"{NAMESPACE}:{path}: {msg}" for path, msg in check(stack))
    if problems:
        raise ConfigError(problems)
    assert stack is not None
    return Loaded(stack, {k: v for k, v in secret_values.items() if isinstance(v, str)})


def default_environment(stack_name: str) -> str:
    low = stack_name.lower()
    if low.startswith("prod"):
        return "production"
    if low.startswith(("staging", "stage", "stg")):
        return "staging"
    return "development"


def _is_secret(key: str) -> bool:
    return runtime_config.is_config_secret(f"{NAMESPACE}:{key}")


def _parse(key: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, str):
        return value
    if key in BOOL_KEYS:
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        problems.append(f"{NAMESPACE}:{key}: must be true or false, not {value!r}")
        return None
    if key in SCALAR_KEYS:
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        problems.append(f"{NAMESPACE}:{key}: must be a structured value (a map or list in the stack file), "
                        f"not the string {value!r}")
        return None
    except (ValueError, RecursionError) as error:  # JSON that Python refuses: nested too deep, a 4300+ digit number
        problems.append(f"{NAMESPACE}:{key}: cannot be read: {error}")
        return None


def _format(err: Mapping[str, Any]) -> str:
    path = ""
    for part in err["loc"]:
        if part == "[key]":  # pydantic's marker for a problem with a map key rather than its value
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; keys are camelCase)"
    elif err["type"] == "missing":
        msg = "required"
    elif err["type"] == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        msg = f"{PATTERN_HINTS.get(pattern, 'must match ' + pattern)}, not {err.get('input')!r}"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    # model-level checks report at the model's path; point at it rather than at the first field
    return f"{NAMESPACE}:{path}: {msg}" if path else f"{NAMESPACE}: {msg}"
