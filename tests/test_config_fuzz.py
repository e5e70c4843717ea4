"""Bad input never crashes the loader: every config either validates or fails with `twinstack:<path>: <message>` lines.

`config.load.load` gets what Pulumi passes: every `twinstack:*` value as a string, objects as JSON. Two kinds of input:
arbitrary JSON-ish values under the real keys (and some unknown ones), and mutations of the valid stack files and
examples (a key dropped, a value of another type, a number out of range, a random string, an unknown key). The
examples are derandomised so CI sees the same inputs on every run; a finding is a real bug, not a flake.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from config.load import OBJECT_KEYS, SCALAR_KEYS, ConfigError, Loaded, load
from tests.harness import ROOT, ProgramError, run_config, stack_file_config

# The project's stacks and examples (not whatever Pulumi.<stack>.yaml a user has added locally).
SOURCES = {**{s: ROOT / f"Pulumi.{s}.yaml" for s in ("dev", "staging", "prod")},
           **{p.stem: p for p in sorted((ROOT / "examples").glob("*.yaml"))}}
STACK_NAMES = ["dev", "staging", "prod", "production", "feature-x", "Prod_EU", "a" * 40, ""]
FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _read(path: Path) -> dict[str, Any]:
    config, _ = stack_file_config(path)
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("twinstack:")}


DOCS = {source: _read(path) for source, path in SOURCES.items()}


def valid_doc(source: str) -> dict[str, Any]:
    """A stack file's twinstack keys as Python values (what the YAML says, before Pulumi stringifies it)."""
    return copy.deepcopy(DOCS[source])


def to_raw(doc: dict[str, Any]) -> dict[str, str]:
    """As Pulumi passes config to a program: strings as they are, YAML scalars as text, objects as JSON."""
    raw = {}
    for key, value in doc.items():
        if isinstance(value, str):
            raw[key] = value
        elif isinstance(value, bool):
            raw[key] = "true" if value else "false"
        elif key in OBJECT_KEYS or isinstance(value, (dict, list)):
            raw[key] = json.dumps(value)
        else:
            raw[key] = str(value)
    return raw


def field_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from field_names(v)
    elif isinstance(value, list):
        for v in value:
            yield from field_names(v)


# The keys the real configs use at every depth: fuzzed maps use them so inputs get past the first layer of checks.
VOCABULARY = sorted({k for s in SOURCES for k in field_names(valid_doc(s))} | {"unknownKey", "", "__proto__"})

scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(["docker", "aws", "true", "/", "16", "production", "demo"]))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=8),
                                                               inner, max_size=5),
    max_leaves=20,
)
OUT_OF_RANGE = [-1, 0, 65536, 70000, 2**31, -(2**63), 10**30, 0.5, -0.0, 1e308, math.inf, -math.inf]


def raw_value(key: str, value: Any) -> str:
    if isinstance(value, str) and key in SCALAR_KEYS:
        return value
    return json.dumps(value)  # NaN and Infinity included: Python's json reads them back


def doc_to_raw(doc: dict[str, Any]) -> dict[str, str]:
    return {k: raw_value(k, v) if k in OBJECT_KEYS else to_raw({k: v})[k] for k, v in doc.items()}


def assert_clean(stack: str, raw: dict[str, str]) -> Loaded | None:
    """The property: a Loaded stack, or a ConfigError whose every problem names a twinstack key."""
    try:
        return load(stack, raw)
    except ConfigError as error:
        assert error.problems, "a ConfigError lists its problems"
        bad = [p for p in error.problems if not p.startswith("twinstack:")]
        assert not bad, bad
        return None


@FUZZ
@given(raw=st.dictionaries(st.sampled_from(sorted(SCALAR_KEYS | OBJECT_KEYS)) | st.text(max_size=10), json_values,
                           max_size=8),
       stack=st.sampled_from(STACK_NAMES),
       garbage=st.booleans())
def test_arbitrary_values_under_any_key(raw: dict[str, Any], stack: str, garbage: bool) -> None:
    # `garbage`: object keys given as text that is not JSON at all (a user typing a scalar where a map belongs)
    assert_clean(stack, {k: (str(v) if garbage else raw_value(k, v)) for k, v in raw.items()})


@st.composite
def pathological_json(draw: st.DrawFn) -> str:
    """JSON that Python's parser refuses although it is well-formed: nesting past the recursion limit, numbers past
    the 4300-digit limit. Found by this file; config/load.py reports both as problems now."""
    depth = draw(st.integers(1, 20_000))
    if draw(st.booleans()):
        return "[" * depth + "]" * depth
    if draw(st.booleans()):
        return '{"a":' * depth + "1" + "}" * depth
    return '[{"port": ' + "9" * draw(st.integers(4000, 6000)) + "}]"


@FUZZ
@given(key=st.sampled_from(sorted(OBJECT_KEYS)), text=pathological_json())
def test_json_python_cannot_read(key: str, text: str) -> None:
    assert_clean("dev", {key: text})


# ------------------------------------------------------------------------------------- mutations of valid configs


def nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from nodes(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from nodes(v, (*path, i))


def at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    source = draw(st.sampled_from(sorted(SOURCES)))
    doc = valid_doc(source)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in nodes(doc) if p]))
        parent, key = at(doc, path[:-1]), path[-1]
        how = draw(st.sampled_from(["drop", "retype", "out-of-range", "string", "unknown-key"]))
        if how == "drop":
            del parent[key]
        elif how == "retype":
            parent[key] = draw(json_values.filter(lambda v, old=parent[key]: type(v) is not type(old)))
        elif how == "out-of-range":
            parent[key] = draw(st.sampled_from(OUT_OF_RANGE))
        elif how == "string":
            parent[key] = draw(st.text(max_size=30))
        elif isinstance(parent[key], dict):
            parent[key][draw(st.text(min_size=1, max_size=10))] = draw(json_values)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    stack = draw(st.sampled_from([source, *STACK_NAMES]))
    return stack, doc


@FUZZ
@given(case=mutated())
def test_mutations_of_the_valid_configs(case: tuple[str, dict[str, Any]]) -> None:
    stack, doc = case
    assert_clean(stack, doc_to_raw(doc))


def test_every_source_is_valid_before_mutation() -> None:
    """The mutations start from configs that load: otherwise the fuzzer would only ever see broken input."""
    for source in SOURCES:
        assert isinstance(load(source, to_raw(valid_doc(source))), Loaded)


# ------------------------------------------------------------------------------------------ the whole program


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=mutated())
def test_invalid_config_registers_no_resource(case: tuple[str, dict[str, Any]]) -> None:
    stack, doc = case
    raw = doc_to_raw(doc)
    assume(stack and assert_clean(stack, raw) is None)
    try:
        graph = run_config(copy.deepcopy(raw), stack=stack)
    except ProgramError as error:
        assert error.graph.resources == []
        assert "twinstack config has" in str(error)
    else:
        raise AssertionError(f"the program accepted a config the loader refused: {len(graph.resources)} resources")
