"""The worked example of docs/architecture.md ("Adding a part kind"), applied to a copy of the project.

The page's code blocks are the whole change: each starts with the file it belongs to, as `# <path> (new)` (the block
is the new file), `# <path>, after: <line>` (the block goes in after that line) or `# <path>, at the end`. This test
copies the project, applies every block, and builds a stack that uses the new part on both backends under the mocks.
So the page's count of files is measured, and a change that makes a new part kind need one more file (a hard-coded
list of part names somewhere) fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT

PAGE = ROOT / "docs" / "architecture.md"
COPIED = ("__main__.py", "Pulumi.yaml", "config", "components", "tools", "tests", "app", "policy")
BLOCK = re.compile(r"```python\n# (?P<path>\S+)(?:(?P<new> \(new\))|, after: (?P<anchor>[^\n]+)|(?P<end>, at the end))\n"
                   r"(?P<code>.*?)```", re.S)


def example_blocks() -> list[re.Match[str]]:
    section = PAGE.read_text().split("## Adding a part kind", 1)[1].split("\n## ", 1)[0]
    return list(BLOCK.finditer(section))


def apply(tree: Path) -> set[str]:
    touched = set()
    for block in example_blocks():
        path, anchor, code = block["path"], block["anchor"], block["code"]
        target = tree / path
        if block["new"]:
            assert not target.exists(), f"{path} is marked new but exists"
            target.write_text(code)
        elif anchor is None:
            target.write_text(target.read_text() + "\n\n" + code)
        else:
            text = target.read_text()
            assert text.count(anchor + "\n") == 1, f"{path}: the anchor {anchor!r} must be one whole line"
            target.write_text(text.replace(anchor + "\n", anchor + "\n" + code, 1))
        touched.add(path)
    return touched


RECORD = """
import json, sys
from tools.graph import run_config
from config.load import ConfigError, load
stack = json.loads(sys.argv[1])
out = {}
for backend in ("docker", "aws"):
    g = run_config({**stack, "backend": backend, **({"environment": "staging"} if backend == "aws" else {})},
                   stack="newpart-" + backend)
    out[backend] = {"types": sorted({r.type for r in g.resources}),
                    "outputs": sorted(g.outputs),
                    "resources": [{"type": r.type, "name": r.name, "inputs": r.inputs, "protect": r.protect}
                                  for r in g.resources]}
def problems(config):
    try:
        load("dev", {k: json.dumps(v) if not isinstance(v, str) else v for k, v in config.items()})
    except ConfigError as error:
        return error.problems
    return []
misused = dict(stack, backend="docker", services=[dict(stack["services"][0], env={"MEMCACHED_SERVERS": "x"})])
misused.pop("memcached")
out["problems"] = problems(misused)
out["aws_problems"] = problems(dict(stack, backend="aws", memcached={"version": "1.6.6"}))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def applied(tmp_path_factory) -> tuple[set[str], dict]:
    tree = tmp_path_factory.mktemp("newpart")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "fixtures"))
        else:
            shutil.copy2(source, tree / name)
    touched = apply(tree)
    stack = {
        "environment": "development",
        "database": {},
        "memcached": {},
        # it uses the new part alone, so reaching the data segment on docker is the new part's doing
        "services": [{"name": "web", "image": "nginx:1.27-alpine", "port": 8000, "uses": ["memcached"],
                      "healthCheck": {"path": "/"}}],
        "proxy": {"routes": [{"path": "/", "service": "web"}], "allowHttp": True},
    }
    run = subprocess.run([sys.executable, "-c", RECORD, json.dumps(stack)], cwd=tree, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return touched, json.loads(run.stdout.strip().splitlines()[-1])


def test_a_new_part_kind_is_five_files_or_fewer(applied):
    touched, _ = applied
    assert len(touched) <= 5, sorted(touched)
    assert {"config/parts.py", "config/model.py"} <= touched


def test_the_page_says_how_many_files(applied):
    touched, _ = applied
    assert f"**{len(touched)} files**" in PAGE.read_text()


def test_the_new_part_is_built_on_both_backends_and_handed_to_its_services(applied):
    _, built = applied
    for backend in ("docker", "aws"):
        parts = [r for r in built[backend]["resources"] if r["type"] == f"twinstack:{backend}:Memcached"]
        assert len(parts) == 1, backend
    web = next(r for r in built["docker"]["resources"] if r["type"] == "docker:index/container:Container"
               and r["inputs"].get("name", "").endswith("-web"))
    env = dict(e.split("=", 1) for e in _reveal(web["inputs"]["envs"]))
    assert env["MEMCACHED_SERVERS"].endswith(":11211")
    # a data-tier part puts the services that use it on the data segment, beside its container
    cache = next(r for r in built["docker"]["resources"] if r["type"] == "docker:index/container:Container"
                 and r["inputs"].get("name", "").endswith("-memcached"))
    internal = {n["name"] for n in _reveal(cache["inputs"]["networksAdvanced"])}
    assert internal and None not in internal
    assert internal <= {n["name"] for n in _reveal(web["inputs"]["networksAdvanced"])}
    task = next(r for r in built["aws"]["resources"] if r["type"] == "aws:ecs/taskDefinition:TaskDefinition")
    main = next(c for c in json.loads(_reveal(task["inputs"]["containerDefinitions"])) if c["name"] == "web")
    assert {e["name"] for e in main["environment"]} >= {"MEMCACHED_SERVERS", "MEMCACHED_TLS"}


def test_the_aws_network_admits_the_app_tier_to_the_new_data_tier(applied):
    _, built = applied
    rules = [r for r in built["aws"]["resources"] if r["type"] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    assert any(r["inputs"].get("fromPort") == 11211 and r["inputs"].get("referencedSecurityGroupId") for r in rules)
    assert not any(r["inputs"].get("fromPort") == 11211 and r["inputs"].get("cidrIpv4") for r in rules)


def test_the_config_rules_know_the_new_part(applied):
    _, built = applied
    problems = "\n".join(built["problems"])
    assert "twinstack:services[0].uses[0]: uses 'memcached' but twinstack:memcached is not configured" in problems
    assert "twinstack:services[0].env.MEMCACHED_SERVERS: is set by 'memcached' (uses)" in problems
    assert any(p.startswith("twinstack:memcached.version: ElastiCache encrypts Memcached in transit from 1.6.12")
               for p in built["aws_problems"])


def _reveal(value):
    if isinstance(value, dict) and set(value) == {"__secret__"}:
        return _reveal(value["__secret__"])
    return value
