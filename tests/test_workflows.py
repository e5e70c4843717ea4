"""The GitHub workflows: valid against GitHub's workflow schema, and doing what the team relies on.

The schema is the copy check-jsonschema vendors (`--builtin-schema vendor.github-workflows`), run through its real CLI.
The schema cannot know what a workflow is for, so the rest asserts that: `make test` is what CI tests with, every AWS
stack is previewed on pull requests with its diff in a PR comment, AWS credentials come from OIDC, each stack has one
concurrency group that never cancels a run halfway, prod deploys only through the `production` environment, the
policy pack runs where it exists, and docs/ci-cd.md documents every setting the workflows read.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ruamel.yaml import YAML

from tests.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
POLICY_GUARD = "hashFiles('policy/PulumiPolicy.yaml') != ''"
PREVIEW_PERMISSIONS = {"id-token": "write", "contents": "read", "pull-requests": "write"}

# The inputs the actions declare (pulumi/actions v6 action.yml, aws-actions/configure-aws-credentials v5): the schema
# accepts any `with:` key, so a misspelt input (`comment_on_pr`) would pass it and be silently ignored by the action.
PULUMI_ACTION_INPUTS = {
    "command", "stack-name", "work-dir", "cloud-url", "comment-on-pr", "comment-on-pr-number", "comment-on-summary",
    "edit-pr-comment", "github-token", "refresh", "secrets-provider", "color", "config-map", "diff",
    "expect-no-changes", "message", "parallel", "policyPacks", "policyPackConfigs", "pulumi-version",
    "pulumi-version-file", "remove", "replace", "target", "target-dependents", "upsert", "exclude-protected",
    "suppress-outputs", "suppress-progress", "plan", "always-include-summary", "continue-on-error",
}
AWS_CREDENTIALS_INPUTS = {
    "audience", "aws-access-key-id", "aws-secret-access-key", "aws-session-token", "aws-region", "mask-aws-account-id",
    "role-to-assume", "web-identity-token-file", "role-duration-seconds", "role-session-name", "role-external-id",
    "role-skip-session-tagging", "inline-session-policy", "managed-session-policies", "output-credentials",
    "unset-current-credentials", "disable-retry", "retry-max-attempts", "special-characters-workaround",
    "use-existing-credentials", "role-chaining",
}


def load(path: Path) -> dict:
    # YAML 1.2, as GitHub reads workflows: PyYAML's 1.1 rules would turn the `on:` key into the boolean True.
    return YAML(typ="safe", pure=True).load(path.read_text())


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict]:
    return {path.stem: load(path) for path in sorted(WORKFLOWS.glob("*.yml"))}


def check_schema(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True, text=True, check=False,
    )


def matrix_combinations(job: dict) -> list[dict]:
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    axes = {key: values for key, values in matrix.items() if key not in ("include", "exclude")}
    combinations = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] if axes else []
    return combinations + list(matrix.get("include", [])) or [{}]


def resolve(value, combination: dict):
    """`value` as this matrix combination sees it: `${{ matrix.stack }}` and `vars[matrix.role]` filled in."""
    if not isinstance(value, str):
        return value
    value = re.sub(r"\[matrix\.([\w-]+)\]", lambda m: f".{combination[m.group(1)]}", value)
    return re.sub(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", lambda m: str(combination[m.group(1)]), value)


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def pulumi_runs(workflow: dict):
    """(job id, job, matrix combination, step index, command, stack) of every `pulumi/actions` step with a command."""
    for job_id, job in workflow["jobs"].items():
        for combination in matrix_combinations(job):
            for index, step in enumerate(job.get("steps", [])):
                if uses(step, "pulumi/actions") and "command" in step.get("with", {}):
                    inputs = step["with"]
                    yield job_id, job, combination, index, inputs["command"], resolve(inputs["stack-name"], combination)


def aws_stacks() -> set[str]:
    stacks = set()
    for path in ROOT.glob("Pulumi.*.yaml"):
        config = (yaml.safe_load(path.read_text()) or {}).get("config", {})
        if config.get("twinstack:backend") == "aws":
            stacks.add(path.name.removeprefix("Pulumi.").removesuffix(".yaml"))
    return stacks


def needs_of(workflow: dict, job_id: str) -> set[str]:
    """Every job `job_id` waits for, directly or through other jobs."""
    direct = workflow["jobs"][job_id].get("needs", [])
    direct = [direct] if isinstance(direct, str) else direct
    return set(direct).union(*(needs_of(workflow, need) for need in direct))


# ------------------------------------------------------------------------------------------------------- schema


def test_the_three_workflows_exist_and_match_githubs_workflow_schema():
    paths = sorted(WORKFLOWS.glob("*.yml"))
    assert {p.stem for p in paths} == {"tests", "preview", "deploy"}
    result = check_schema(*paths)
    assert result.returncode == 0, result.stdout + result.stderr


BREAKAGES = {
    "a job without runs-on": lambda w: w["jobs"]["preview"].pop("runs-on"),
    "a misspelt permission level": lambda w: w["permissions"].update({"id-token": "writ"}),
    "a misspelt concurrency key": lambda w: w["jobs"]["preview"]["concurrency"].update({"cancel_in_progress": False}),
    "an unknown trigger": lambda w: w.update({"on": {"pull-request": None}}),
    "a step that both runs and uses": lambda w: w["jobs"]["preview"]["steps"][0].update({"run": "make test"}),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_the_schema_check_rejects_a_broken_workflow(breakage, tmp_path):
    workflow = load(WORKFLOWS / "preview.yml")
    BREAKAGES[breakage](workflow)
    broken = tmp_path / "preview.yml"
    broken.write_text(json.dumps(workflow))  # JSON is YAML: the CLI reads it as it reads the real file
    result = check_schema(broken)
    assert result.returncode == 1, f"{breakage} passed the schema:\n{result.stdout}"
    assert str(broken) in result.stdout + result.stderr


# -------------------------------------------------------------------------------------------------------- tests


def test_ci_tests_with_the_readmes_command_on_every_push_and_pull_request(workflows):
    tests = workflows["tests"]
    assert tests["on"]["push"] is None and tests["on"]["pull_request"] is None  # no branch filters
    job = tests["jobs"]["test"]
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert commands == ["make test"]
    python = next(step for step in job["steps"] if uses(step, "actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    # the CLI goes in first, or the integration test in `make test` skips itself on every CI run
    steps = [step.get("uses", step.get("run", "")).split("@")[0] for step in job["steps"]]
    assert steps.index("pulumi/actions") < steps.index("make test")
    assert re.search(r"^test:", (ROOT / "Makefile").read_text(), re.MULTILINE)


def test_deploys_wait_for_the_same_tests_on_the_merged_commit(workflows):
    assert "workflow_call" in workflows["tests"]["on"]
    deploy = workflows["deploy"]
    assert deploy["jobs"]["test"]["uses"] == "./.github/workflows/tests.yml"
    for job_id, *_ in pulumi_runs(deploy):
        assert "test" in needs_of(deploy, job_id), f"{job_id} deploys without waiting for the tests"


# ------------------------------------------------------------------------------------------------------ preview


def test_every_pull_request_previews_every_aws_stack(workflows):
    preview = workflows["preview"]
    assert set(preview["on"]) == {"pull_request"} and preview["on"]["pull_request"] is None
    previewed = {stack for *_, command, stack in pulumi_runs(preview) if command == "preview"}
    assert previewed == aws_stacks() == {"staging", "prod"}
    assert preview["permissions"] == PREVIEW_PERMISSIONS


def test_the_preview_diff_is_one_pr_comment_per_stack_edited_on_each_push(workflows):
    """The comment is built by tools/pr_comment.py (the cost table above the diff; tests/test_change.py) and posted or
    edited by the step after it, found by the stack's marker; the cost is estimated offline before any credentials."""
    for _, job, _, index, command, _ in pulumi_runs(workflows["preview"]):
        steps = job["steps"]
        inputs = steps[index]["with"]
        assert command == "preview"
        assert inputs["diff"] is True and inputs["comment-on-pr"] is False  # the comment is ours, with the cost
        build, post = steps[index + 1], steps[index + 2]
        assert build["if"] == post["if"] == "${{ !cancelled() }}"  # a failed preview (a policy) is still reported
        assert "tools.pr_comment" in build["run"] and build["env"]["PREVIEW_OUTPUT"] == (
            f"${{{{ steps.{steps[index]['id']}.outputs.output }}}}")
        assert all(build["env"][k] == "" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"))
        assert uses(post, "actions/github-script") and "twinstack-preview:${process.env.STACK}" in post["with"]["script"]
        assert "updateComment" in post["with"]["script"] and "createComment" in post["with"]["script"]
        estimate = next(s for s in steps[:index] if "tools.plan" in s.get("run", ""))
        credentials = next(i for i, s in enumerate(steps) if uses(s, "aws-actions/configure-aws-credentials"))
        assert steps.index(estimate) < credentials and "--against" in estimate["run"]
        assert estimate["env"]["BASE"] == "${{ github.event.pull_request.base.sha }}"
        assert steps[0]["with"]["fetch-depth"] == 0  # the base commit is there to build


# ---------------------------------------------------------------------------------------------- AWS credentials


def test_aws_credentials_come_from_github_oidc_never_from_stored_keys(workflows):
    for name, workflow in workflows.items():
        text = (WORKFLOWS / f"{name}.yml").read_text()
        assert "aws-access-key-id" not in text and "secrets.AWS_" not in text, name
        for job_id, job, combination, index, _, stack in pulumi_runs(workflow):
            assert workflow["permissions"]["id-token"] == "write", name
            earlier = job["steps"][:index]
            credentials = [s for s in earlier if uses(s, "aws-actions/configure-aws-credentials")]
            assert len(credentials) == 1, f"{name}.{job_id} ({stack}) runs pulumi without AWS credentials first"
            role = resolve(credentials[0]["with"]["role-to-assume"], combination)
            assert re.fullmatch(r"\$\{\{ vars\.\w+ \}\}", role), role
            assert credentials[0]["with"]["aws-region"]
            # after every install: pip and `pulumi install` run third-party code that has no business with them
            position = earlier.index(credentials[0])
            assert not [s for s in earlier[position:] if "run" in s], f"{name}.{job_id}: a step runs after credentials"


def test_state_backend_secrets_reach_only_the_pulumi_step(workflows):
    for name, workflow in workflows.items():
        assert "secrets." not in json.dumps(workflow.get("env", {})), name
        for job_id, job in workflow["jobs"].items():
            assert "secrets." not in json.dumps(job.get("env", {})), f"{name}.{job_id}"
            for step in job.get("steps", []):
                if "secrets." in json.dumps(step):
                    assert uses(step, "pulumi/actions") and "command" in step["with"], f"{name}.{job_id}: {step}"
                    assert "secrets." not in json.dumps(step["with"])


def test_previews_and_deploys_assume_different_roles(workflows):
    preview_roles = {
        combination["role"] for *_, combination, _, _, _ in pulumi_runs(workflows["preview"])
    }
    assert preview_roles == {"AWS_PREVIEW_ROLE_ARN_STAGING", "AWS_PREVIEW_ROLE_ARN_PROD"}
    deploy = workflows["deploy"]
    for job_id, job, *_ in pulumi_runs(deploy):
        step = next(s for s in job["steps"] if uses(s, "aws-actions/configure-aws-credentials"))
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
        # an environment variable: the deploy role is the environment's, and its trust policy names the environment
        assert job["environment"]["name"] in {"staging", "production"}, job_id


# -------------------------------------------------------------------------------------------------- concurrency


def test_each_stack_has_one_concurrency_group_that_never_cancels_a_run(workflows):
    seen: dict[str, set[str]] = {}
    for name, workflow in workflows.items():
        assert "concurrency" not in workflow, f"{name}: a workflow-wide group would serialise unrelated stacks"
        for job_id, job, combination, _, _, stack in pulumi_runs(workflow):
            concurrency = job.get("concurrency")
            assert isinstance(concurrency, dict), f"{name}.{job_id} ({stack}) has no concurrency group"
            assert resolve(concurrency["group"], combination) == f"pulumi-{stack}"
            assert concurrency["cancel-in-progress"] is False
            # the default queue keeps one pending run and cancels the one before it: a queued deploy could vanish
            assert concurrency["queue"] == "max"
            seen.setdefault(name, set()).add(stack)
    assert seen == {"preview": {"staging", "prod"}, "deploy": {"staging", "prod"}}


# ------------------------------------------------------------------------------------------------------- deploy


def test_merges_to_main_deploy_staging_then_prod_through_the_production_environment(workflows):
    deploy = workflows["deploy"]
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    runs = {stack: (job_id, job) for job_id, job, _, _, command, stack in pulumi_runs(deploy) if command == "up"}
    assert set(runs) == {"staging", "prod"}
    staging_job, staging = runs["staging"]
    prod_job, prod = runs["prod"]
    assert staging_job in needs_of(deploy, prod_job), "prod must wait for staging to succeed"
    assert prod["environment"]["name"] == "production"
    assert staging["environment"]["name"] != "production"
    for name, workflow in workflows.items():
        for job_id, job in workflow["jobs"].items():
            environment = job.get("environment")
            environment = environment.get("name") if isinstance(environment, dict) else environment
            if environment == "production":
                assert (name, job_id) == ("deploy", prod_job), f"{name}.{job_id} uses the production environment"


# ------------------------------------------------------------------------------------------- policy, dependencies


def test_the_policy_pack_runs_with_every_preview_and_deploy_where_it_exists(workflows):
    for name, workflow in workflows.items():
        for job_id, job, _, index, _, stack in pulumi_runs(workflow):
            packs = job["steps"][index]["with"].get("policyPacks", "")
            assert packs == f"${{{{ {POLICY_GUARD} && 'policy' || '' }}}}", f"{name}.{job_id} ({stack})"
            installs = [s for s in job["steps"][:index] if s.get("working-directory") == "policy"]
            assert [(s["if"], s["run"]) for s in installs] == [(POLICY_GUARD, "pulumi install")], f"{name}.{job_id}"
    if (ROOT / "policy").is_dir():
        assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file(), "the workflows' guard looks for this file"


def test_the_programs_dependencies_are_installed_before_pulumi_runs(workflows):
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"]["virtualenv"] == ".venv"  # what `pulumi install` installs into
    for name, workflow in workflows.items():
        for job_id, job, _, index, _, _ in pulumi_runs(workflow):
            steps = job["steps"][:index]
            cli = [i for i, s in enumerate(steps) if uses(s, "pulumi/actions") and "command" not in s.get("with", {})]
            install = [i for i, s in enumerate(steps) if s.get("run") == "pulumi install" and "working-directory" not in s]
            assert cli and install and cli[0] < install[0], f"{name}.{job_id}"
            python = [s for s in steps if uses(s, "actions/setup-python")]
            assert python and python[0]["with"]["python-version"] == "3.11", f"{name}.{job_id}"


def test_action_inputs_are_ones_the_actions_declare(workflows):
    for name, workflow in workflows.items():
        for job_id, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                if uses(step, "pulumi/actions"):
                    assert step["uses"] == "pulumi/actions@v6"
                    assert set(step.get("with", {})) <= PULUMI_ACTION_INPUTS, f"{name}.{job_id}: {step['with']}"
                if uses(step, "aws-actions/configure-aws-credentials"):
                    assert set(step["with"]) <= AWS_CREDENTIALS_INPUTS, f"{name}.{job_id}: {step['with']}"
                if "uses" in step:
                    assert re.search(r"@(v\d+|[0-9a-f]{40})$", step["uses"]), f"{step['uses']} is not pinned"


# ------------------------------------------------------------------------------------------------------- README


def readme_section(title: str) -> str:
    """The docs page for `title` (the README's long sections moved to docs/), or its `## title` section."""
    page = {"CI/CD": "ci-cd.md", "Environments": "environments.md"}.get(title)
    if page:
        return (ROOT / "docs" / page).read_text()
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme, re.MULTILINE | re.DOTALL)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_the_readme_documents_every_setting_the_workflows_read(workflows):
    text = "\n".join((WORKFLOWS / f"{name}.yml").read_text() for name in workflows)
    settings = set(re.findall(r"\b(?:vars|secrets)\.([A-Z][A-Z0-9_]*)", text))
    settings |= {combination["role"] for *_, combination, _, _, _ in pulumi_runs(workflows["preview"])}
    assert settings >= {"AWS_ROLE_ARN", "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"}
    section = readme_section("CI/CD")
    undocumented = sorted(s for s in settings if f"`{s}`" not in section)
    assert not undocumented, f"docs/ci-cd.md does not explain {undocumented}"
    for environment in ("staging", "production"):
        assert f"`{environment}`" in section
    assert "required reviewers" in section.lower()
    assert "pulumi stack init" in readme_section("Environments")
