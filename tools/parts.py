"""Which part of the platform each recorded resource belongs to, and the resource tree with counts per part.

The part registry (config/parts.py) says which part each twinstack component makes up: `twinstack:aws:Database` is
the database, `twinstack:docker:SecretStore` is secrets. A resource belongs to the part of the nearest component above
it (or of itself) whose type the registry knows, whatever anything is named; providers, the Platform itself and
anything else outside the registry's components belong to "stack". Parts come in the registry's order
(`PLATFORM_PARTS`), "stack" last. Shared by the cost estimate, the deploy-time schedule and the diagram.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .records import Graph, Resource  # stdlib only: the policy pack loads this module too (docs/plan.md)

REGISTRY_FILE = Path(__file__).resolve().parents[1] / "config" / "parts.py"
REGISTRY_MODULE = "twinstack_parts"  # the name the policy pack gives config/parts.py (policy/guardrails/registry.py)


def load_registry() -> ModuleType:
    """config/parts.py: the project's `config.parts` when this module is the project's `tools.parts`; loaded by file
    path otherwise (the policy pack loads tools/ as a package of its own, without the project's packages, and a
    `config` package of anyone else's could shadow ours there). The registry is standard library only."""
    if __package__ == "tools":
        return importlib.import_module("config.parts")
    if REGISTRY_MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(REGISTRY_MODULE, REGISTRY_FILE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[REGISTRY_MODULE] = module  # dataclasses resolve their module by name
        spec.loader.exec_module(module)
    return sys.modules[REGISTRY_MODULE]


registry = load_registry()

PLATFORM_TYPE = "twinstack:platform:Platform"
STACK = "stack"  # providers, the Platform itself and everything outside the registry's components
PART_ORDER: tuple[str, ...] = (*(part for part, _ in registry.PLATFORM_PARTS), STACK)


def part_of_type(type_token: str) -> str | None:
    """The part a component type makes up (the registry's `part_of_type`), None for any other type."""
    return registry.part_of_type(type_token)


@dataclass
class Parts:
    graph: Graph

    def __post_init__(self) -> None:
        platforms = self.graph.of_type(PLATFORM_TYPE)
        self.platform: Resource | None = platforms[0] if platforms else None
        self._cache: dict[str, str] = {}
        # Each part's roots: the components that make it up and sit in no component of the same part (on the
        # Platform, its children: the secrets part has two, the generated secrets and the secret store).
        self.roots: dict[str, list[Resource]] = {}
        for r in self.graph.resources:
            own = None if r.custom else part_of_type(r.type)
            parent = self.graph.by_urn.get(r.parent) if r.parent else None
            if own is not None and (parent is None or self.of(parent) != own):
                self.roots.setdefault(own, []).append(r)

    def of(self, r: Resource) -> str:
        """The part of the nearest component above `r` (or `r` itself) whose type the registry knows; else "stack"."""
        if r.urn in self._cache:
            return self._cache[r.urn]
        part = None if r.custom else part_of_type(r.type)
        if part is None:
            parent = self.graph.by_urn.get(r.parent) if r.parent else None
            part = self.of(parent) if parent is not None else STACK
        self._cache[r.urn] = part
        return part

    def members(self, part: str, custom_only: bool = True) -> list[Resource]:
        return [r for r in self.graph.resources if self.of(r) == part and r is not self.platform
                and (r.custom or not custom_only)]

    def names(self) -> list[str]:
        present = {self.of(r) for r in self.graph.custom()}
        ordered = [p for p in PART_ORDER if p in present]
        return ordered + sorted(present - set(ordered))


def short_type(type_: str) -> str:
    """`aws:ec2/subnet:Subnet` -> `aws:Subnet`; shorter lines, still unambiguous for this stack's resources."""
    package = type_.split(":", 1)[0]
    return f"{package}:{type_.rsplit(':', 1)[-1]}"


def resource_tree(graph: Graph) -> str:
    """Parts, the components inside each, and resource counts by type: what `pulumi up` would create."""
    parts = Parts(graph)
    custom = graph.custom()
    lines = [f"{graph.stack}: {len(custom)} resources ({len(graph.resources) - len(custom)} components)"]
    names = parts.names()
    for i, part in enumerate(names):
        last = i == len(names) - 1
        members = parts.members(part)
        branch, indent = ("└─ ", "   ") if last else ("├─ ", "│  ")
        lines.append(f"{branch}{part}: {len(members)}")
        groups = _by_component(graph, parts, part)
        for j, (label, resources) in enumerate(groups):
            sub_last = j == len(groups) - 1
            counts = Counter(short_type(r.type) for r in resources)
            detail = ", ".join(f"{t} x{n}" if n > 1 else t for t, n in sorted(counts.items()))
            lines.append(f"{indent}{'└─ ' if sub_last else '├─ '}{label} ({len(resources)}): {detail}")
    return "\n".join(lines)


def _by_component(graph: Graph, parts: Parts, part: str) -> list[tuple[str, list[Resource]]]:
    """A part's resources grouped by the component directly under the part's root (e.g. one group per service)."""
    roots = {r.urn: r for r in parts.roots.get(part, [])}
    groups: dict[str, list[Resource]] = {}
    for r in parts.members(part):
        label = r.name
        for node in (r, *graph.ancestors(r)):
            if node.parent in roots:
                label = node.name if node is not r and not node.custom else roots[node.parent].name
                break
        groups.setdefault(label, []).append(r)
    return sorted(groups.items())
