"""The recorded resource graph: plain records of what the program registered (stdlib only).

tools/graph.py records these under Pulumi mocks; the cost model (tools/cost.py, tools/parts.py) reads them. This
module imports nothing beyond the standard library so that the policy pack, which runs in its own environment
without the project's packages, builds the same records from what the engine hands it (docs/plan.md, "Budget").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.aws.limits import GraphProblem

SECRET = "__secret__"


# ------------------------------------------------------------------------------------------------------ records


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    replace_on_changes: list[str]
    additional_secret_outputs: list[str]
    aliases: list[Any]
    provider: str | None

    def get(self, key: str, default: Any = None) -> Any:
        """An input with secrets unwrapped (tests that care about secrecy use `is_secret`)."""
        return reveal(self.inputs.get(key, default))

    def is_secret(self, key: str) -> bool:
        v = self.inputs.get(key)
        return isinstance(v, dict) and set(v) == {SECRET}

    def all_deps(self) -> set[str]:
        deps = set(self.dependencies)
        for urns in self.property_dependencies.values():
            deps.update(urns)
        return deps


@dataclass
class Graph:
    resources: list[Resource]
    outputs: dict[str, Any]
    seconds: float
    stack: str
    tasks: int = 0  # asyncio tasks the run created: what resolving its Outputs cost (make bench reports it)
    by_urn: dict[str, Resource] = field(init=False)

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name_contains: str = "") -> Resource:
        hits = [r for r in self.of_type(type_) if name_contains in r.name]
        assert len(hits) == 1, f"{len(hits)} {type_} matching {name_contains!r}: {[r.name for r in hits]}"
        return hits[0]

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, parent: Resource) -> list[Resource]:
        out, frontier = [], [parent.urn]
        while frontier:
            kids = [r for r in self.resources if r.parent in frontier]
            out.extend(kids)
            frontier = [k.urn for k in kids]
        return out

    def ancestors(self, r: Resource) -> list[Resource]:
        out = []
        while r.parent and r.parent in self.by_urn:
            r = self.by_urn[r.parent]
            out.append(r)
        return out

    def depends_on(self, r: Resource, other: Resource) -> bool:
        """Whether `r` waits for `other`: through depends_on or property dependencies, transitively, where waiting for
        a component means waiting for everything inside it."""
        targets = {other.urn} | {a.urn for a in self.ancestors(other) if not a.custom}
        seen: set[str] = set()
        frontier = [r.urn]
        while frontier:
            urn = frontier.pop()
            if urn in seen or urn not in self.by_urn:
                continue
            seen.add(urn)
            for dep in self.by_urn[urn].all_deps():
                if dep in targets:
                    return True
                frontier.append(dep)
                if dep in self.by_urn and not self.by_urn[dep].custom:
                    frontier.extend(c.urn for c in self.descendants(self.by_urn[dep]))
        return False

    def output(self, key: str) -> Any:
        return reveal(self.outputs[key])

    def output_is_secret(self, key: str) -> bool:
        v = self.outputs[key]
        return isinstance(v, dict) and set(v) == {SECRET}

    def custom(self) -> list[Resource]:
        return [r for r in self.resources if r.custom]

    def aws_limit_problems(self, service_names: list[str] | tuple[str, ...] = ()) -> list[GraphProblem]:
        """The AWS limits this graph breaks (components/aws/limits.py), each naming the config that caused it."""
        from components.aws.limits import Record, graph_problems

        return graph_problems([Record(r.urn, r.type, r.name, reveal(r.inputs), r.property_dependencies)
                               for r in self.custom()], service_names)


def reveal(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {SECRET}:
            return reveal(v[SECRET])
        return {k: reveal(x) for k, x in v.items()}
    if isinstance(v, list):
        return [reveal(x) for x in v]
    return v


def contains_secret_marker(v: Any) -> bool:
    if isinstance(v, dict):
        return set(v) == {SECRET} or any(contains_secret_marker(x) for x in v.values())
    if isinstance(v, list):
        return any(contains_secret_marker(x) for x in v)
    return False
