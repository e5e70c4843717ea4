"""Read a `Pulumi.<stack>.yaml` file, or say in one line what is wrong with it: file, line, column and the reason.

The YAML is PyYAML's safe loader with one change: a key given twice in the same map is refused (PyYAML's own loader
keeps the last value silently, so `port` set twice deployed whichever came second). Everything else is PyYAML's parser;
its errors (`yaml.MarkedYAMLError`, with `problem`, `problem_mark` and `context_mark`) are turned into one line.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from config.load import ConfigError

# The keys Pulumi reads at the root of a stack file (`config` is the one twinstack needs).
ROOT_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
MERGE_TAG = "tag:yaml.org,2002:merge"


class StackFileError(ConfigError):
    """A stack file that cannot be read as one: `<file>[, line L, column C]: <reason>`."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None, column: int | None = None):
        where = f"{_shown(path)}, line {line}, column {column}" if line is not None else _shown(path)
        self.line, self.column, self.reason = line, column, reason
        self.problems = [f"{where}: {reason}"]
        Exception.__init__(self, self.problems[0])


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, refusing a key that appears twice in one map (merge keys `<<:` may still be overridden)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Mark] = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: PyYAML's own error follows
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key {key!r} (first set at line {first.line + 1}); keep one", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def parse(text: str, path: Path | str = "<stack file>") -> Any:
    """The YAML document in `text`, or a StackFileError naming the line and column."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # UniqueKeyLoader is a SafeLoader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise StackFileError(path, _reason(e), line, column) from None
    except yaml.YAMLError as e:  # unmarked: e.g. a character YAML does not allow in a stream
        raise StackFileError(path, " ".join(str(e).split())) from None


def read(path: Path) -> dict[str, Any]:
    """The `config:` block of a stack file, with each mistake people make every day named as such."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StackFileError(path, f"cannot be read ({e.strerror or e})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise StackFileError(path, f"not UTF-8 (byte 0x{data[e.start]:02x}): save the file as UTF-8", line,
                             column) from None
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise StackFileError(path, "the file is empty: a stack file is a map with a `config:` block of "
                                   "`twinstack:` keys (see Pulumi.dev.yaml or examples/)")
    doc = parse(text, path)
    if not isinstance(doc, dict):
        kind = "a list" if isinstance(doc, list) else f"a {type(doc).__name__} ({str(doc)[:40]!r})"
        raise StackFileError(path, f"the root is {kind}: a stack file is a map with a `config:` key")
    for key in doc:
        if key not in ROOT_KEYS:
            close = difflib.get_close_matches(str(key), ROOT_KEYS, n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}:`?" if close else f"known: {', '.join(ROOT_KEYS)}"
            raise StackFileError(path, f"unknown root key `{key}:` ({hint})", _key_line(text, str(key)), 1)
    if "config" not in doc:
        raise StackFileError(path, "no `config:` block: the `twinstack:` keys go under `config:`")
    config = doc["config"]
    if config is None:
        raise StackFileError(path, "`config:` is empty: it holds the `twinstack:` keys", _key_line(text, "config"), 1)
    if not isinstance(config, dict):
        raise StackFileError(path, f"`config:` must be a map of key: value, not a {type(config).__name__}",
                             _key_line(text, "config"), 1)
    return config


def _reason(e: yaml.MarkedYAMLError) -> str:
    problem = " ".join((e.problem or e.context or "not valid YAML").split())
    ctx = e.context_mark
    opened = f"line {ctx.line + 1}, column {ctx.column + 1}" if ctx else ""
    if "'\\t'" in problem:
        return "a tab character: YAML indents with spaces only"
    if problem.startswith("duplicate key"):
        return problem
    if problem == "mapping values are not allowed here":
        return "unexpected ':' (check this line's indentation, or quote a value that contains ': ')"
    if problem.startswith("expected <block end>"):
        return "this line's indentation does not match the lines above it"
    if e.context in ("while parsing a flow sequence", "while parsing a flow mapping") and ctx:
        bracket = "[" if "sequence" in e.context else "{"
        return f"the '{bracket}' opened at {opened} is not closed ({problem})"
    if e.context and "quoted scalar" in e.context and ctx:
        return f"the quote opened at {opened} is not closed"
    return f"{problem} ({e.context} at {opened})" if e.context and ctx else problem


def _key_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith((f"{key}:", f"'{key}':", f'"{key}":')):
            return number
    return None


def _shown(path: Path | str) -> str:
    path = Path(path)
    root = Path(__file__).resolve().parent.parent
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)
