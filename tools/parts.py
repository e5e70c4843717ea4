"""Which part of the platform each recorded resource belongs to, and the resource tree with counts per part.

The parts are the Platform's child components (network, secrets, database, cache, broker, storage, proxy, services,
monitoring); a resource belongs to the part whose subtree holds it. Providers and anything else outside the Platform
belong to "stack". Shared by the cost estimate, the deploy-time schedule and the diagram.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .records import Graph, Resource  # stdlib only: the policy pack loads this module too (docs/plan.md)

PLATFORM_TYPE = "twinstack:platform:Platform"
# Platform children whose names differ from the part they make up (see components/platform.py).
PART_ALIASES = {"app-secrets": "secrets"}
PART_ORDER = ("network", "secrets", "database", "cache", "broker", "storage", "proxy", "services", "monitoring", "stack")


@dataclass
class Parts:
    graph: Graph

    def __post_init__(self) -> None:
        platforms = self.graph.of_type(PLATFORM_TYPE)
        self.platform: Resource | None = platforms[0] if platforms else None
        self.roots: dict[str, list[Resource]] = {}
        if self.platform is not None:
            for child in self.graph.children(self.platform):
                self.roots.setdefault(self._part_name(child), []).append(child)
        self._cache: dict[str, str] = {}

    def _part_name(self, child: Resource) -> str:
        assert self.platform is not None
        short = child.name.removeprefix(f"{self.platform.name}-")
        return PART_ALIASES.get(short, short)

    def of(self, r: Resource) -> str:
        if r.urn in self._cache:
            return self._cache[r.urn]
        part = "stack"
        if self.platform is not None:
            if r.parent == self.platform.urn:
                part = self._part_name(r)
            else:
                for ancestor in self.graph.ancestors(r):
                    if ancestor.parent == self.platform.urn:
                        part = self._part_name(ancestor)
                        break
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
