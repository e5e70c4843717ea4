"""A newcomer's first hour: the Pulumi CLI installs itself (or says in one line how to), every `make` target runs in
.venv, `make destroy` checks first, `make plan` warns once after the plan and prices a docker stack on Fargate sizes,
and example copies stay out of git."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import urllib.error
from pathlib import Path

import pytest

from tests.harness import ROOT
from tools import cli

MAKEFILE = (ROOT / "Makefile").read_text()


def recipe(target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n?)*)", MAKEFILE, re.MULTILINE)
    assert match, f"no make target {target}"
    return match.group(1)


# ------------------------------------------------------------------------------------------------ the Pulumi CLI


@pytest.fixture
def no_cli(tmp_path, monkeypatch):
    """No `pulumi` on PATH and an empty install root: what a fresh machine has."""
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    return tmp_path / "pulumi" / cli.VERSION


def fake_install_script(path: str) -> None:
    """What get.pulumi.com/install.sh does with --install-root and --version: a `pulumi` that reports the version."""
    Path(path).write_text('#!/bin/sh\nwhile [ $# -gt 0 ]; do case $1 in --install-root) root=$2;; --version) v=$2;; '
                          'esac; shift; done\nmkdir -p "$root/bin"\nprintf \'#!/bin/sh\\necho v%s\\n\' "$v" '
                          '> "$root/bin/pulumi"\nchmod +x "$root/bin/pulumi"\n')


def test_a_missing_cli_is_installed_pinned_into_the_project_by_the_sdk(no_cli, monkeypatch, capsys):
    """The SDK's own PulumiCommand.install runs (install script, then its version check); only the download is faked."""
    from pulumi.automation import _cmd

    downloads = []
    monkeypatch.setattr(_cmd, "_download_to_file", lambda url, path: (downloads.append(url), fake_install_script(path)))
    path = cli.ensure(root=no_cli)
    assert path == str(no_cli / "bin" / "pulumi")
    assert downloads == ["https://get.pulumi.com/install.sh"]
    assert subprocess.check_output([path, "version"], text=True).strip() == f"v{cli.VERSION}"
    assert f"installing the Pulumi CLI {cli.VERSION}" in capsys.readouterr().err
    assert cli.ensure(root=no_cli) == path and len(downloads) == 1  # the second run finds it


def test_no_network_ends_in_one_line_with_the_manual_command(no_cli, monkeypatch, capsys):
    from pulumi.automation import _cmd

    def offline(url, path):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(_cmd, "_download_to_file", offline)
    with pytest.raises(cli.CliMissingError) as caught:
        cli.ensure(root=no_cli)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"could not download the Pulumi CLI {cli.VERSION} (no connection to get.pulumi.com")
    assert message.endswith(f"install it by hand: curl -fsSL https://get.pulumi.com | sh -s -- --version {cli.VERSION}")
    assert not (no_cli / "bin" / "pulumi").exists()


def test_a_failing_install_script_is_one_line_too(no_cli, monkeypatch):
    from pulumi.automation import _cmd

    def broken(url, path):
        Path(path).write_text("#!/bin/sh\necho 'curl: (6) Could not resolve host: github.com' >&2\nexit 1\n")

    monkeypatch.setattr(_cmd, "_download_to_file", broken)
    with pytest.raises(cli.CliMissingError, match=r"the install script failed: curl: \(6\) Could not resolve host"):
        cli.ensure(root=no_cli)


def test_the_wrapper_runs_the_cli_with_its_plugins_first_on_path(tmp_path, monkeypatch):
    binary = tmp_path / "bin" / "pulumi"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(cli, "INSTALL_ROOT", tmp_path)
    calls = []
    monkeypatch.setattr(cli.os, "execve", lambda path, args, env: calls.append((path, args, env)))
    monkeypatch.setattr(cli, "ensure", lambda: str(binary))
    cli.main(["--non-interactive", "up", "--yes"])
    [(path, args, env)] = calls
    assert (path, args[1:]) == (str(binary), ["--non-interactive", "up", "--yes"])
    assert env["PATH"].split(":")[0] == str(binary.parent)


def test_the_cli_version_is_the_pinned_sdk_version():
    pinned = re.search(r"^pulumi==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned and pinned.group(1) == cli.VERSION
    assert ".cache/" in (ROOT / ".gitignore").read_text().splitlines()  # where the CLI is installed


# ---------------------------------------------------------------------------------------------------- make targets


def test_every_pulumi_call_goes_through_the_projects_cli_in_venv():
    assert re.search(r"^PULUMI = \$\(PY\) -m tools\.cli --non-interactive$", MAKEFILE, re.MULTILINE)
    for line in MAKEFILE.splitlines():
        if line.startswith("\t"):
            assert not re.match(r"\t@?(pulumi|python3?|pytest|ruff) ", line), f"runs outside .venv: {line}"


@pytest.mark.parametrize("target", ["check", "up", "preview", "destroy"])
def test_targets_that_touch_a_stack_check_first(target):
    first = recipe(target).splitlines()[0]
    assert "$(PY) -m tools.preflight $(STACK)" in first, first
    assert ("--destroy" in first) == (target == "destroy")


def test_make_test_shows_what_it_installs_and_why_tests_skip():
    assert "-rs" in recipe("test")
    installed = recipe("$(VENV)/.installed")
    assert "--quiet -r requirements-dev.txt" not in installed and "echo" in installed


def test_preflight_destroy_needs_the_cli_and_docker_but_not_a_config_that_passes(tmp_path, monkeypatch, capsys):
    from tools import preflight

    (tmp_path / "Pulumi.old.yaml").write_text("config:\n  twinstack:backend: docker\n  twinstack:services: []\n")
    monkeypatch.setattr(preflight, "ROOT", tmp_path)
    monkeypatch.setattr(preflight, "docker_daemon_problem", lambda host: "no Docker daemon at /var/run/docker.sock")

    def offline(*args, **kwargs):
        raise cli.CliMissingError("could not download the Pulumi CLI (offline); install it by hand: curl ...")

    monkeypatch.setattr(cli, "ensure", offline)
    assert preflight.main(["old", "--destroy"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "cannot destroy stack 'old' yet:",
        "  - could not download the Pulumi CLI (offline); install it by hand: curl ...",
        "  - no Docker daemon at /var/run/docker.sock"]


def test_preflight_outside_venv_reruns_itself_in_venv():
    """`python3 -m tools.preflight dev` with a Python that lacks the project's packages: .venv's Python takes over."""
    system = shutil.which("python3")
    probe = subprocess.run([system, "-c", "import pulumi"], capture_output=True) if system else None
    if probe is None or probe.returncode == 0:
        pytest.skip("no python3 without the pulumi package on this machine to try it with")
    done = subprocess.run([system, "-m", "tools.preflight", "dev", "--example", "nosuchexample"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert "ModuleNotFoundError" not in done.stderr and "Traceback" not in done.stderr
    assert "no example 'nosuchexample'" in done.stderr


# ------------------------------------------------------------------------------------------------------- make plan


def test_plan_prints_each_warning_once_after_the_plan(capsys):
    from tools import plan

    assert plan.main(["dev", "--example", "castiel", "--no-write"]) == 0
    out, err = capsys.readouterr()
    warnings = err.strip().splitlines()
    assert warnings and all(w.startswith("warning: ") for w in warnings), err
    assert len(warnings) == len(set(warnings))
    assert "optional secret" not in out


def test_plan_prices_a_docker_stack_on_the_nearest_fargate_sizes(capsys):
    from tools import plan

    assert plan.main(["dev", "--backend", "aws", "--no-write"]) == 0
    out, err = capsys.readouterr()
    assert "Monthly cost" in out and "none on AWS" not in out
    assert ("warning: --backend aws: services[0] demo: cpu 256 / memory 256 MiB is not a Fargate size; priced as "
            "cpu 256 / memory 512 MiB") in err


@pytest.mark.parametrize(("asked", "fitted"), [((256, 256), (256, 512)), ((128, 64), (256, 512)),
                                                ((256, 3072), (512, 3072)), ((512, 1024), (512, 1024)),
                                                ((1024, 1024), (1024, 2048)), ((300, 600), (512, 1024)),
                                                ((16384, 200000), (16384, 122880))])
def test_fargate_sizes_round_up_to_the_nearest_accepted(asked, fitted):
    from components.aws.limits import fargate_memory
    from tools.fargate import nearest

    assert nearest(*asked) == fitted
    assert fitted[1] in fargate_memory(fitted[0])


# ------------------------------------------------------------------------------------------------------ git hygiene


def test_example_copies_are_ignored_by_git():
    names = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
    copies = [f"Pulumi.{name}.yaml" for name in names]
    if shutil.which("git") and (ROOT / ".git").exists():
        done = subprocess.run(["git", "check-ignore", "--no-index", *copies], cwd=ROOT, capture_output=True, text=True)
        assert sorted(done.stdout.split()) == copies, "list each example's copy in .gitignore"
        for tracked in ("Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"):
            assert subprocess.run(["git", "check-ignore", "-q", "--no-index", tracked], cwd=ROOT).returncode == 1
    else:
        assert set(copies) <= set((ROOT / ".gitignore").read_text().splitlines())
