"""Checks before `make up`: the Pulumi CLI, a Docker daemon for docker stacks, a valid config, and for AWS stacks a
graph within AWS's limits. `make check STACK=dev` runs it (in .venv); `make up`, `make preview` and `make destroy`
run it first. A missing Pulumi CLI is installed, pinned, into .cache/pulumi/ (tools/cli.py).

    python -m tools.preflight dev                     # check the dev stack
    python -m tools.preflight dev --destroy           # what `make destroy` needs: the CLI and the backend
    python -m tools.preflight dev --example castiel   # copy examples/castiel.yaml to Pulumi.castiel.yaml, check it
    python -m tools.preflight dev --example castiel --stack-name   # print the stack name `make up` should use

Exits 1 with one line per missing piece, saying how to get it. Validation runs the real config loader offline, so a
typo is reported before Pulumi starts; on AWS it then records the program's graph under mocks and checks what only
the whole graph shows (policy and task definition sizes, rules per security group or load balancer, duplicate names)
against `components/aws/limits.py`, naming the config key that caused each problem.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stack_file(stack: str, example: str | None) -> tuple[str, Path, list[str]]:
    """The stack name and file to deploy; for an example, its copy as Pulumi.<example>.yaml."""
    if not example:
        return stack, ROOT / f"Pulumi.{stack}.yaml", []
    source = ROOT / "examples" / f"{example}.yaml"
    if not source.exists():
        known = ", ".join(sorted(p.stem for p in (ROOT / "examples").glob("*.yaml")))
        return example, source, [f"no example '{example}' (known: {known})"]
    target = ROOT / f"Pulumi.{example}.yaml"
    if not target.exists():
        shutil.copyfile(source, target)
        print(f"copied examples/{example}.yaml to {target.name}", file=sys.stderr)
    elif target.read_text() != source.read_text():
        print(f"keeping your edited {target.name} (examples/{example}.yaml differs)", file=sys.stderr)
    return example, target, []


def docker_daemon_problem(docker_host: str | None) -> str | None:
    if docker_host and not docker_host.startswith("unix://"):
        return None  # a remote engine (ssh://, tcp://) is the provider's to reach; nothing to check locally
    host = docker_host or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return None
    path = host[len("unix://"):]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            if b"200 OK" in sock.recv(256):
                return None
    except OSError as e:
        return (f"no Docker daemon at {path} ({e.strerror or e}): install Docker (https://docs.docker.com/engine/install/)"
                " and start it, or set twinstack:dockerHost to a remote engine")
    return f"the Docker daemon at {path} did not answer /_ping"


def check(stack: str, example: str | None, destroy: bool = False) -> tuple[str, list[str]]:
    """What stops `make up` (or, with `destroy`, `make destroy`: the CLI and the backend, not the config's rules)."""
    from config.load import ConfigError, load
    from tools.cli import CliMissingError, ensure
    from tools.graph import ProgramError, run_program, stack_file_config

    name, path, problems = stack_file(stack, example)
    if problems:
        return name, problems
    try:
        ensure()  # installs the pinned Pulumi CLI into .cache/pulumi/ when there is none
    except CliMissingError as e:
        problems.append(str(e))
    if not path.exists():
        return name, [*problems, f"no stack file {path.name}"]
    try:
        config, secret_keys = stack_file_config(path)
    except ConfigError as e:  # the file itself: YAML syntax, encoding, root, duplicate keys
        return name, [*problems, str(e)]
    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v)
           for k, v in config.items() if k.startswith("twinstack:")}
    if destroy:  # destroying needs the backend, not a config that passes today's rules
        docker_host = config.get("twinstack:dockerHost")
        if config.get("twinstack:backend") == "docker" and (bad := docker_daemon_problem(docker_host)):
            problems.append(bad)
        if config.get("twinstack:backend") == "aws" and (bad := aws_credentials_problem()):
            problems.append(bad)
        return name, problems
    try:
        stack_cfg = load(name, raw).stack
    except ConfigError as e:
        return name, [*problems, str(e)]
    if stack_cfg.backend == "docker" and (bad := docker_daemon_problem(stack_cfg.docker_host)):
        problems.append(bad)
    if stack_cfg.backend == "aws":
        try:
            graph = run_program(config, secret_keys, name)
        except ProgramError as e:
            return name, [*problems, f"the program failed under mocks: {e}"]
        problems += [str(p) for p in graph.aws_limit_problems([s.name for s in stack_cfg.services])]
        problems += budget_problems(graph, stack_cfg, str(config.get("aws:region") or "us-east-1"))
    if stack_cfg.backend == "aws" and (bad := aws_credentials_problem()):
        problems.append(bad)
    return name, problems


def aws_credentials_problem() -> str | None:
    if os.environ.get("AWS_PROFILE") or os.environ.get("AWS_ACCESS_KEY_ID") or (Path.home() / ".aws").exists():
        return None
    return "no AWS credentials found (AWS_PROFILE, AWS_ACCESS_KEY_ID or ~/.aws): run `aws configure`"


def budget_problems(graph, stack_cfg, region: str) -> list[str]:
    """`twinstack:budget` against the estimate `make plan` prints (tools/budget.py): over it is a problem; over
    `warnAt` of it a warning, printed here and not failing."""
    from tools import budget, cost
    from tools.pricing import UnknownRegionError

    if stack_cfg.budget is None:
        return []
    try:
        estimate = cost.estimate(graph, region)
    except UnknownRegionError as e:
        return [f"twinstack:budget: cannot price the stack: {e}"]
    findings = budget.check(estimate, stack_cfg.budget)
    for warning in (f for f in findings if f.level == "warning"):
        print(f"warning: {warning}", file=sys.stderr)
    return [str(f) for f in findings if f.level == "error"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.preflight", description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--example")
    parser.add_argument("--stack-name", action="store_true", help="print the stack name to deploy and exit")
    parser.add_argument("--destroy", action="store_true", help="check what `make destroy` needs (CLI, backend)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.stack_name:
        print(args.example or args.stack)
        return 0
    if (missing := _outside_venv()) is not None:
        return missing
    name, problems = check(args.stack, args.example, destroy=args.destroy)
    if problems:
        print(f"cannot {'destroy' if args.destroy else 'deploy'} stack '{name}' yet:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"stack '{name}': Pulumi CLI, config and backend look ready", file=sys.stderr)
    return 0


def _outside_venv() -> int | None:
    """Run by a Python without the project's packages (`python -m tools.preflight`): use .venv's, or say how."""
    try:
        import pulumi  # noqa: F401
    except ModuleNotFoundError:
        venv = ROOT / ".venv" / "bin" / "python"
        if venv.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
            os.execv(str(venv), [str(venv), "-m", "tools.preflight", *sys.argv[1:]])
        print("the project's Python packages are not installed: run `make check STACK=<stack>`, which installs them "
              "into .venv first", file=sys.stderr)
        return 2
    return None


if __name__ == "__main__":
    sys.exit(main())
