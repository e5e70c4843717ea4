"""No refactor changes a URN: every stack and example is checked against the URNs recorded in `tests/fixtures/urns.json`.

A changed URN is, to the engine, a resource deleted and another created: for a database, a bucket or a volume, the
user's data. So the recorded graphs of the three stack files and of every example (on docker as written, and promoted
to production on aws) must register exactly the URNs of the baseline, and export exactly its output keys. A change
that really adds or removes resources (a feature, not a refactor) rewrites the baseline on purpose:

    .venv/bin/python -m tests.test_urns --write

and the diff of `tests/fixtures/urns.json` shows every URN it adds or drops, for review.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness import ROOT, Graph, run_stack, stack_file_config

BASELINE = ROOT / "tests" / "fixtures" / "urns.json"
STACKS = ("dev", "staging", "prod")
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


def _example_on_aws(name: str) -> Graph:
    """An example promoted the way a user does it: the backend, production, and a certificate."""
    file = ROOT / "examples" / f"{name}.yaml"
    proxy = dict(stack_file_config(file)[0]["twinstack:proxy"])
    proxy["tls"] = {"certificateArn": CERT_ARN}
    return run_stack(name, file=file, set={"twinstack:backend": "aws", "twinstack:environment": "production",
                                           "twinstack:proxy": proxy})


def cases() -> dict[str, Callable[[], Graph]]:
    found: dict[str, Callable[[], Graph]] = {stack: (lambda stack=stack: run_stack(stack)) for stack in STACKS}
    for name in EXAMPLES:
        found[f"{name}@docker"] = lambda name=name: run_stack(name, file=ROOT / "examples" / f"{name}.yaml")
        found[f"{name}@aws"] = lambda name=name: _example_on_aws(name)
    return found


def output_keys(value: Any, path: str = "") -> list[str]:
    """The key paths of the stack outputs (values come from the mocks; the shape is the contract)."""
    if isinstance(value, dict) and set(value) == {"__secret__"}:
        return output_keys(value["__secret__"], path)
    if isinstance(value, dict):
        keys = []
        for k, v in value.items():
            here = f"{path}.{k}" if path else k
            keys += [here, *output_keys(v, here)]
        return keys
    return []


def snapshot(graph: Graph) -> dict[str, list[str]]:
    return {"urns": sorted(r.urn for r in graph.resources), "outputs": sorted(output_keys(graph.outputs))}


def baseline() -> dict[str, dict[str, list[str]]]:
    return json.loads(BASELINE.read_text())


@pytest.mark.parametrize("case", sorted(cases()))
def test_no_urn_changes(case: str) -> None:
    recorded = baseline()
    assert case in recorded, f"{case} has no baseline: run `.venv/bin/python -m tests.test_urns --write`"
    now, before = snapshot(cases()[case]()), recorded[case]
    gone = sorted(set(before["urns"]) - set(now["urns"]))
    new = sorted(set(now["urns"]) - set(before["urns"]))
    assert not gone and not new, (f"{case}: {len(gone)} URNs would be deleted and {len(new)} created:\n  - "
                                  + "\n  - ".join(gone) + "\n  + " + "\n  + ".join(new))
    assert now["outputs"] == before["outputs"]


def test_every_case_has_a_baseline_and_no_baseline_is_stale() -> None:
    assert sorted(baseline()) == sorted(cases())


def test_the_comparison_catches_a_renamed_resource() -> None:
    """The check itself: renaming one logical name is reported as one deletion and one creation."""
    graph = run_stack("dev")
    before = snapshot(graph)
    graph.resources[0].urn = graph.resources[0].urn + "-renamed"
    after = snapshot(graph)
    assert len(set(before["urns"]) - set(after["urns"])) == 1 and len(set(after["urns"]) - set(before["urns"])) == 1


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.test_urns --write   (records every case's URNs into tests/fixtures/urns.json)")
    BASELINE.write_text(json.dumps({case: snapshot(run()) for case, run in sorted(cases().items())}, indent=1) + "\n")
    print(f"wrote {BASELINE.relative_to(ROOT)}")
