"""The real thing, where it can run: Automation API `up` of the dev stack on Docker, probe health, destroy.

Needs the Pulumi CLI and a Docker daemon that can pull images; CI machines without them skip it and say which is
missing. Run it with `make integration`. It deploys under its own name prefix and ports, in a throwaway file backend,
so it never touches your dev stack.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.harness import ROOT, stack_file_config
from tools.cli import find as find_pulumi
from tools.preflight import docker_daemon_problem

pytestmark = pytest.mark.integration


def _missing() -> str | None:
    if not find_pulumi():
        return "the Pulumi CLI is not installed (`make up` installs it into .cache/pulumi/)"
    return docker_daemon_problem(None)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    if reason := _missing():
        pytest.skip(f"integration test skipped: {reason}")
    from pulumi import automation as auto

    name = f"it{uuid.uuid4().hex[:6]}"
    state = tmp_path_factory.mktemp("state")
    config, _ = stack_file_config(ROOT / "Pulumi.dev.yaml")
    config.update({"twinstack:namePrefix": name, "twinstack:protectData": False})
    config["twinstack:proxy"] = {**config["twinstack:proxy"], "httpPort": 18080}
    env = {"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": "integration"}
    cli = auto.PulumiCommand(root=str(Path(find_pulumi()).parent.parent))  # the pinned CLI, or the one on PATH
    stack = auto.create_stack(name, work_dir=str(ROOT), opts=auto.LocalWorkspaceOptions(env_vars=env,
                                                                                        pulumi_command=cli))
    stack.set_all_config({k: auto.ConfigValue(v if isinstance(v, str) else json.dumps(v)) for k, v in config.items()},
                         path=False)
    try:
        result = stack.up(on_output=print)
        yield result.outputs
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(name)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(2000).decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read(2000).decode()


def test_dev_stack_comes_up_healthy_and_answers_through_the_proxy(deployed):
    url = deployed["url"].value
    deadline = time.time() + 120
    status, body = 0, ""
    while time.time() < deadline:
        status, body = _get(f"{url}/health")
        if status == 200:
            break
        time.sleep(3)
    assert status == 200, body
    health = json.loads(body)
    assert health["database"] == "ok" and health["cache"] == "ok" and health["storage"] == "ok", health
    assert _get(url)[0] == 200
