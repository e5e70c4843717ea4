"""What a change costs (tools/change.py, `make plan AGAINST=`), the PR comment (tools/pr_comment.py) and the budget
(tools/budget.py, in preflight and in the policy pack): hand calculations to the cent, from the us-east-1 table."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness import ROOT, Graph, run_stack, stack_file_config
from tests.test_aws_variants import shared
from tests.test_policy import BY_NAME, evaluate
from tools import budget, change, cost, plan, pr_comment, preflight

H = 730  # hours in AWS's month
STAGING, _ = stack_file_config(ROOT / "Pulumi.staging.yaml")
WORKER = {"name": "worker", "image": "nginx:1.27", "port": 8080, "healthCheck": {"path": "/"}, "cpu": 256,
          "memory": 512, "architecture": "arm64", "replicas": 1}


@pytest.fixture(scope="module")
def staging_graph() -> Graph:
    return shared("staging")


def compare(before: Graph, after: Graph) -> change.Change:
    return change.compare("staging", "base", before, after, cost.estimate(before), cost.estimate(after))


# -------------------------------------------------------------------------------------- three pull requests


def test_a_pull_request_that_adds_a_service(staging_graph: Graph) -> None:
    after = run_stack("staging", set={"twinstack:services": [*STAGING["twinstack:services"], WORKER]})
    result = compare(staging_graph, after)
    # by hand: 0.25 vCPU x $0.03238 + 0.5 GB x $0.00356 per hour (Fargate ARM64), two alarms (CPU, memory) at $0.10
    fargate = 0.25 * 0.03238 * H + 0.5 * 0.00356 * H  # 5.90935 + 1.29940
    alarms = 2 * 0.10
    assert result.fixed_delta == round(fargate + alarms, 2) == 7.41
    # its log group: 1 GB ingested at $0.50, kept 14 days at $0.03/GB-month
    assert result.usage_delta == round(0.50 + 1 * 14 / 30 * 0.03, 2) == 0.51
    assert result.delta == 7.92
    items = {c.item: c.delta for c in result.lines}
    assert items["CloudWatch alarm x13"] == 0.20  # 11 alarms to 13: one line, its count changed
    assert items["Fargate ARM64 vCPU: worker, 1 task x 0.25 vCPU / 0.5 GB"] == 5.91
    summary = result.resources.summary()
    assert summary["added"]["aws:Service"] == 1 and summary["added"]["aws:MetricAlarm"] == 2
    assert summary["removed"] == summary["replaced"] == {}
    assert not result.critical_path_changed


def test_a_pull_request_that_turns_on_multi_az(staging_graph: Graph) -> None:
    database = {**STAGING["twinstack:database"], "multiAz": True}
    result = compare(staging_graph, run_stack("staging", set={"twinstack:database": database}))
    # by hand: a standby doubles db.t4g.micro ($0.016/h) and the 20 GB of gp3 ($0.115 -> $0.230 per GB-month)
    assert result.fixed_delta == round(0.016 * H + 20 * (0.230 - 0.115), 2) == 13.98
    assert result.usage_delta == 0
    assert {(c.item, c.delta) for c in result.lines} == {
        ("RDS PostgreSQL db.t4g.micro, single-AZ", -11.68), ("RDS PostgreSQL db.t4g.micro, Multi-AZ (primary + standby)", 23.36),
        ("RDS gp3 storage, 20 GB, single-AZ", -2.30), ("RDS gp3 storage, 20 GB, Multi-AZ (primary + standby)", 4.60)}
    assert result.resources.summary() == {"added": {}, "removed": {}, "replaced": {}}  # modified in place
    # a Multi-AZ instance takes longer to create than the cache: it now sets the first deploy's time
    before, after = result.critical_path()
    assert result.critical_path_changed and "twinstack-database-instance" in after and before != after


def test_a_pull_request_that_changes_nothing(staging_graph: Graph) -> None:
    result = compare(staging_graph, run_stack("staging"))
    assert (result.fixed_delta, result.usage_delta, result.delta, result.lines) == (0, 0, 0, [])
    assert result.resources.summary() == {"added": {}, "removed": {}, "replaced": {}}
    text = change.format_change(result)
    assert "$0.00" in text and "critical path: unchanged" in text
    comment = pr_comment.cost_table(result.to_json())
    assert "→ $" in comment and "($0.00, 0.0%)" in comment and "no line item changed" in comment


def test_renaming_the_database_replaces_it(staging_graph: Graph) -> None:
    database = {**STAGING["twinstack:database"], "name": "other"}
    result = compare(staging_graph, run_stack("staging", set={"twinstack:database": database}))
    replaced = {r.type: keys for r, keys in result.resources.replaced}
    assert replaced["aws:rds/instance:Instance"] == ["dbName"]
    assert result.fixed_delta == 0


def test_the_other_revision_is_built_in_a_worktree_leaving_the_working_copy_alone(tmp_path: Path,
                                                                                   staging_graph: Graph) -> None:
    """A repository whose HEAD is this tree with single-AZ staging: its graph at HEAD, from a worktree and a
    subprocess, against Multi-AZ; the repository's working copy and worktrees are as before."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("__main__.py", "Pulumi.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, repo / name)
    for folder in ("config", "components", "tools", "app"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    before = change.graph_at("HEAD", "staging", repo=repo)
    assert sorted(r.urn for r in before.resources) == sorted(r.urn for r in staging_graph.resources)
    database = {**STAGING["twinstack:database"], "multiAz": True}
    result = compare(before, run_stack("staging", set={"twinstack:database": database}))
    assert result.fixed_delta == 13.98
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
    worktrees = subprocess.run([*git, "worktree", "list"], capture_output=True, text=True, check=True).stdout
    assert status == "" and len(worktrees.splitlines()) == 1
    with pytest.raises(change.ChangeError, match="no-such-ref"):
        change.graph_at("no-such-ref", "staging", repo=repo)


def test_plan_against_prints_and_writes_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, staging_graph: Graph,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(change, "graph_at", lambda *args, **kwargs: staging_graph)
    out = tmp_path / "cost.json"
    assert plan.main(["staging", "--against", "main", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "== staging: this working copy against main" in printed and "Resources added" in printed
    doc = json.loads(out.read_text())
    assert doc["stack"] == "staging" and doc["region"] == "us-east-1" and "2026" in doc["prices"]
    assert set(doc["delta"]) == {"fixed", "usage", "total"}


# ------------------------------------------------------------------------------------------ the PR comment


def cost_doc(**overrides: Any) -> dict[str, Any]:
    doc = {"stack": "prod", "against": "0123456789abcdef", "region": "us-east-1", "priced": True,
           "prices": "us-east-1 on-demand list prices as of 2026-11-23",
           "before": {"fixed": 100.0, "usage": 10.0}, "after": {"fixed": 113.98, "usage": 10.5},
           "delta": {"fixed": 13.98, "usage": 0.5, "total": 14.48},
           "lines": [{"part": "database", "item": "RDS Multi-AZ", "usage": False, "before": 0, "after": 23.36,
                      "delta": 23.36},
                     {"part": "database", "item": "RDS single-AZ", "usage": False, "before": 11.68, "after": 0,
                      "delta": -11.68},
                     {"part": "services", "item": "logs | ingested", "usage": True, "before": 0, "after": 0.5,
                      "delta": 0.5},
                     {"part": "database", "item": "gp3", "usage": False, "before": 2.3, "after": 4.6, "delta": 2.3}],
           "resources": {"added": {"aws:LogGroup": 1}, "removed": {}, "replaced": {"aws:Instance": 2}},
           "criticalPath": {"changed": True}}
    doc.update(overrides)
    return doc


def test_the_comment_puts_the_cost_table_above_the_diff() -> None:
    text = pr_comment.body("prod", cost_doc(), "\x1b[32m+ aws:rds:Instance created\x1b[0m\n", "success")
    lines = text.splitlines()
    assert lines[0] == "<!-- twinstack-preview:prod -->"
    assert "**Monthly estimate (prod)**: $110.00 → $124.48 (+$14.48, +13.2%)" in text
    assert "| fixed | 100.00 | 113.98 | +$13.98 | +14.0% |" in text
    assert "| **total** | 110.00 | 124.48 | +$14.48 | +13.2% |" in text
    # the three largest changes by size, whatever their sign; a pipe in an item does not break the table
    assert "Largest changes: +$23.36 database: RDS Multi-AZ; -$11.68 database: RDS single-AZ; +$2.30 database: gp3." in text
    assert "added aws:LogGroup; removed none; replaced aws:Instance x2" in text and "path: changed" in text
    assert "as of 2026-11-23 (region us-east-1)" in text and "http" not in text
    assert text.index("Monthly estimate") < text.index("```diff") < text.index("+ aws:rds:Instance created")
    assert "\x1b" not in text


def test_the_comment_of_an_unchanged_stack_says_zero() -> None:
    doc = cost_doc(after={"fixed": 100.0, "usage": 10.0}, delta={"fixed": 0.0, "usage": 0.0, "total": 0.0},
                   lines=[], resources={"added": {}, "removed": {}, "replaced": {}}, criticalPath={"changed": False})
    text = pr_comment.body("prod", doc, "no changes")
    assert "$110.00 → $110.00 ($0.00, 0.0%)" in text and "| fixed | 100.00 | 100.00 | $0.00 | 0.0% |" in text
    assert "no line item changed" in text and "critical path: unchanged" in text


def test_the_comment_without_an_estimate_a_failed_preview_and_a_huge_diff(tmp_path: Path) -> None:
    huge = "```\n" + "~ aws:ecs:TaskDefinition updated\n" * 5000
    text = pr_comment.body("staging", None, huge, "failure")
    assert "unavailable" in text and "`pulumi preview` failure" in text
    assert len(text) <= pr_comment.MAX_COMMENT and "trimmed" in text
    assert "````diff" in text  # a fence longer than any in the output
    docker = pr_comment.cost_table(cost_doc(priced=False))
    assert "not on AWS" in docker
    # the CLI, as the workflow runs it: the preview from $PREVIEW_OUTPUT, a missing cost file tolerated
    run = subprocess.run([sys.executable, "-m", "tools.pr_comment", "--stack", "prod", "--cost",
                          str(tmp_path / "missing.json"), "--outcome", "success"], cwd=ROOT, capture_output=True,
                         text=True, env={"PREVIEW_OUTPUT": "+ created", "PATH": "/usr/bin:/bin"}, check=True)
    assert run.stdout.startswith("<!-- twinstack-preview:prod -->") and "+ created" in run.stdout


# --------------------------------------------------------------------------------------------------- budget


@pytest.fixture(scope="module")
def prod_graph() -> Graph:
    return shared("prod")


def test_budget_findings_name_the_key_and_the_drivers(prod_graph: Graph) -> None:
    est = cost.estimate(prod_graph)
    total = round(est.total + est.usage_total, 2)
    [error] = budget.check(est, {"monthlyUsd": 300})
    assert error.level == "error" and error.key == "twinstack:budget.monthlyUsd"
    assert f"${total:,.2f}/month" in error.message and "over the budget of $300.00" in error.message
    top = budget.drivers(est)
    assert [line.label for line in top][:1] == ["NAT gateway x3"]  # $98.55, the largest line of prod
    assert all(f"{line.label} ({line.part}) ${line.monthly:,.2f}" in error.message for line in top)
    [warning] = budget.check(est, {"monthlyUsd": total / 0.9, "warnAt": 0.8})
    assert warning.level == "warning" and warning.key == "twinstack:budget.warnAt" and "90%" in warning.message
    assert budget.check(est, {"monthlyUsd": total / 0.7}) == []
    assert budget.check(est, None) == budget.check(est, {"monthlyUsd": -1}) == []


def with_budget(monthly: float, warn_at: float = 0.8) -> tuple[dict[str, Any], list[str]]:
    config, secrets = stack_file_config(ROOT / "Pulumi.prod.yaml")
    config["twinstack:budget"] = {"monthlyUsd": monthly, "warnAt": warn_at}
    return config, secrets


def preflight_problems(monkeypatch: pytest.MonkeyPatch, monthly: float) -> list[str]:
    import tools.graph

    monkeypatch.setattr(tools.graph, "stack_file_config", lambda path: with_budget(monthly))
    monkeypatch.setattr(preflight.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setenv("AWS_PROFILE", "test")
    return preflight.check("prod", None)[1]


def test_a_budget_below_the_prod_estimate_fails_preflight(monkeypatch: pytest.MonkeyPatch, prod_graph: Graph) -> None:
    est = cost.estimate(prod_graph)
    [problem] = preflight_problems(monkeypatch, 300)
    assert problem.startswith("twinstack:budget.monthlyUsd: prod's estimate is "
                              f"${est.total + est.usage_total:,.2f}/month")
    assert "top cost drivers: NAT gateway x3 (network) $98.55" in problem
    assert preflight_problems(monkeypatch, 1000) == []


def test_bad_budget_values_are_reported_by_key_path() -> None:
    from config.load import ConfigError, load

    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in STAGING.items()
           if k.startswith("twinstack:")}
    raw["budget"] = json.dumps({"monthlyUsd": 0, "warnAt": 1.5, "monthly": 3})
    with pytest.raises(ConfigError) as e:
        load("staging", raw)
    text = str(e.value)
    for key in ("twinstack:budget.monthlyUsd", "twinstack:budget.warnAt", "twinstack:budget.monthly"):
        assert key in text
    raw["budget"] = json.dumps({"warnAt": 0.5})
    with pytest.raises(ConfigError, match=r"twinstack:budget.monthlyUsd: required"):
        load("staging", raw)


def pack_config(monthly: float, warn_at: float = 0.8) -> dict[str, str]:
    config, _ = with_budget(monthly, warn_at)
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def test_the_policy_pack_reports_the_same_numbers_as_preflight(monkeypatch: pytest.MonkeyPatch,
                                                               prod_graph: Graph) -> None:
    policies = [BY_NAME["budget"], BY_NAME["budget-warning"]]
    [violation] = evaluate(prod_graph.resources, pack_config(300), "prod", policies=policies)
    assert violation.policy == "budget"
    assert violation.message == preflight_problems(monkeypatch, 300)[0]  # one implementation, the same text
    est = cost.estimate(prod_graph)
    near = (est.total + est.usage_total) / 0.9
    assert [v.policy for v in evaluate(prod_graph.resources, pack_config(near), "prod", policies=policies)] == [
        "budget-warning"]
    assert evaluate(prod_graph.resources, pack_config(1000), "prod", policies=policies) == []
    assert evaluate(prod_graph.resources, {}, "prod", policies=policies) == []  # no budget, no check


def test_the_cost_model_loads_with_the_standard_library_alone() -> None:
    """What the pack loads (tools/budget.py and what it imports, the part registry included) runs without
    site-packages: no pulumi, no pydantic, not the project's packages."""
    code = (
        "import importlib, importlib.util, sys\n"
        f"tools = {str(ROOT / 'tools')!r}\n"
        "spec = importlib.util.spec_from_file_location('t', tools + '/__init__.py', submodule_search_locations=[tools])\n"
        "sys.modules['t'] = importlib.util.module_from_spec(spec); spec.loader.exec_module(sys.modules['t'])\n"
        "budget = importlib.import_module('t.budget'); cost = sys.modules['t.cost']; rec = sys.modules['t.records']\n"
        "r = rec.Resource('urn:x', 'aws:ec2/natGateway:NatGateway', 'nat', True, None, {}, [], {}, False, False,\n"
        "                 False, [], [], [], [], None)\n"
        "est = cost.estimate(rec.Graph([r], {}, 0.0, 's'))\n"
        "print(budget.check(est, {'monthlyUsd': 10})[0].key, round(est.total, 2))\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pydantic', 'yaml', 'tools', 'config')]\n"
        "assert sys.modules['t.parts'].registry is sys.modules['twinstack_parts']  # config/parts.py, by path\n")
    run = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["twinstack:budget.monthlyUsd", f"{0.045 * H:.2f}"]  # one NAT gateway: $32.85


def test_a_resource_moved_under_an_alias_is_neither_added_nor_removed(prod_graph: Graph) -> None:
    """prod's buckets carry an alias spec to their former type (BucketV2): a revision that still had that type is the
    same bucket, as for the engine; without the alias it would be one added and one removed."""
    before = copy.deepcopy(prod_graph)
    bucket = next(r for r in before.resources if r.name == "twinstack-storage-bucket")
    bucket.urn = bucket.urn.replace("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
    bucket.type, bucket.aliases = "aws:s3/bucketV2:BucketV2", []
    before = Graph(before.resources, {}, 0.0, "prod")
    assert change.resource_changes(before, prod_graph).summary() == {"added": {}, "removed": {}, "replaced": {}}
    after = copy.deepcopy(prod_graph)
    next(r for r in after.resources if r.name == "twinstack-storage-bucket").aliases = []
    moved = change.resource_changes(before, Graph(after.resources, {}, 0.0, "prod")).summary()
    assert moved["added"] == {"aws:Bucket": 1} and moved["removed"] == {"aws:BucketV2": 1}
