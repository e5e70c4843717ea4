"""The Pulumi CLI that `make` runs: a pinned one in `.cache/pulumi/<version>/`, installed there on first use, else the
one on your PATH.

    python -m tools.cli --ensure      # install the pinned CLI if no CLI is found; print its path
    python -m tools.cli ARGS...       # run the CLI with ARGS (the Makefile's `$(PULUMI)`)

The download and its version check are the Pulumi SDK's own (`pulumi.automation.PulumiCommand.install`, which runs
get.pulumi.com's install script with `--install-root` and `--version`). Where it cannot download (no network, a proxy),
it says so in one line with the command that installs the CLI by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The CLI version matches the Pulumi SDK pinned in requirements.txt (tests/test_newcomer.py checks that).
VERSION = "3.272.0"
INSTALL_ROOT = ROOT / ".cache" / "pulumi" / VERSION
MANUAL = f"curl -fsSL https://get.pulumi.com | sh -s -- --version {VERSION}"


class CliMissingError(Exception):
    """No Pulumi CLI, and it could not be installed: one line, with the manual command."""


def local_binary(root: Path = INSTALL_ROOT) -> Path:
    return root / "bin" / ("pulumi.exe" if os.name == "nt" else "pulumi")


def find(root: Path = INSTALL_ROOT) -> str | None:
    """The project's pinned CLI if installed, else a `pulumi` on PATH, else None."""
    local = local_binary(root)
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("pulumi")


def ensure(root: Path = INSTALL_ROOT, log=None) -> str:
    """The path of a Pulumi CLI, installing the pinned version into `root` when there is none."""
    if found := find(root):
        return found
    print(f"installing the Pulumi CLI {VERSION} into {_shown(root)} (once, about 1 minute)", file=log or sys.stderr,
          flush=True)
    try:
        from pulumi.automation import PulumiCommand
        from semver import VersionInfo

        command = PulumiCommand.install(root=str(root), version=VersionInfo.parse(VERSION))
    except Exception as e:  # any failure ends in one line: no traceback for a missing network
        raise CliMissingError(f"could not download the Pulumi CLI {VERSION} ({_reason(e)}); "
                         f"install it by hand: {MANUAL}") from None
    return command.command


def _reason(e: Exception) -> str:
    import urllib.error

    if isinstance(e, urllib.error.URLError):
        return f"no connection to get.pulumi.com: {e.reason}"
    if isinstance(e, subprocess.CalledProcessError):
        out = (e.output or b"").decode(errors="replace").strip().splitlines()
        return f"the install script failed: {out[-1] if out else f'exit {e.returncode}'}"
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        path = ensure()
    except CliMissingError as e:
        print(e, file=sys.stderr)
        return 1
    if args == ["--ensure"]:
        print(path)
        return 0
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(path).parent), env.get("PATH", "")])  # its language plugins first
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    os.execve(path, [path, *args], env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
