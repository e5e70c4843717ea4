"""Operate a deployed stack the same way on both backends: logs, a shell, a command, a one-off task, a DB snapshot.

    python -m tools.ops logs   STACK [--service a,b] [--since 15m] [--follow]
    python -m tools.ops exec   STACK [--service S] [--cmd "…"]        (shell: exec with /bin/sh)
    python -m tools.ops run    STACK [--service S] --cmd "…"
    python -m tools.ops backup STACK [--name LABEL]

(`make logs|shell|exec|run|backup`, see docs/operations.md.) Everything it touches comes from the stack's non-secret
`operations` output (`pulumi stack output --json --show-secrets=false`), never from a guess at names: per service the
docker container names, or the ECS cluster, service, task-definition family, log group, subnets and security groups.
`--outputs FILE` reads the outputs from a JSON file instead (tests, or a machine without the Pulumi CLI).

docker: the `docker` CLI (`logs`, `exec`, and a removed-after container created from a running replica's own image,
env, user, mounts and networks). aws: botocore (CloudWatch Logs FilterLogEvents and StartLiveTail, ECS ExecuteCommand
through the Session Manager plugin, ECS RunTask, RDS CreateDBSnapshot). Every failure is one line, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
SESSION_MANAGER_PLUGIN = "session-manager-plugin"
PLUGIN_DOCS = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html"
STARTED_BY = "twinstack-ops"
DEFAULT_SHELL = "/bin/sh"


class OpsError(Exception):
    """A failure the user can act on, printed as one line."""


# ------------------------------------------------------------------------------------------------ stack outputs


def stack_outputs(stack: str, outputs_file: str | None = None,
                  run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> dict[str, Any]:
    """The stack's outputs, secrets left out: from `--outputs FILE`, or from the Pulumi CLI."""
    if outputs_file:
        try:
            return json.loads(Path(outputs_file).read_text())
        except (OSError, ValueError) as error:
            raise OpsError(f"cannot read the outputs file {outputs_file}: {error}") from None
    cli = pulumi_cli()
    if cli is None:
        raise OpsError("the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/): it reads the stack's "
                       "outputs; or pass --outputs FILE with `pulumi stack output --json` saved elsewhere")
    done = run([cli, "--non-interactive", "stack", "output", "--json", "--show-secrets=false", "--stack", stack],
               capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
        reason = lines[-1] if lines else f"pulumi exited with {done.returncode}"
        reason = re.sub(r"^error:\s*", "", reason)
        if "no stack named" in reason or "not found" in reason:
            raise OpsError(f"no stack '{stack}' here ({reason}): deploy it first (make up STACK={stack})")
        raise OpsError(f"cannot read the outputs of stack '{stack}': {reason}")
    try:
        return json.loads(done.stdout or "{}")
    except ValueError:
        raise OpsError(f"`pulumi stack output --json` for '{stack}' did not print JSON") from None


def pulumi_cli() -> str | None:
    """The project's pinned CLI where tools/cli.py has installed one, else a `pulumi` on PATH."""
    try:
        from tools.cli import find
    except ImportError:
        return shutil.which("pulumi")
    return find()


def operations_of(outputs: Mapping[str, Any], stack: str) -> dict[str, Any]:
    ops = outputs.get("operations")
    if not isinstance(ops, dict) or "services" not in ops:
        raise OpsError(f"stack '{stack}' has no `operations` output: it is not deployed, or was deployed by an older "
                       f"twinstack; run `make up STACK={stack}` once")
    return ops


def pick(ops: Mapping[str, Any], stack: str, names: str | Sequence[str] | None, *, one: bool) -> dict[str, dict]:
    """The services asked for by name (all of them, or the only one, when none is named)."""
    services: dict[str, dict] = ops["services"]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names or [])
    unknown = [n for n in names if n not in services]
    if unknown:
        raise OpsError(f"unknown service {', '.join(repr(n) for n in unknown)} in stack '{stack}' "
                       f"(its services: {', '.join(sorted(services))})")
    if not names:
        if one and len(services) != 1:
            raise OpsError(f"which service? stack '{stack}' has {', '.join(sorted(services))}: set SERVICE=<name>")
        names = sorted(services)
    if one and len(names) != 1:
        raise OpsError(f"one service at a time here, not {', '.join(names)}")
    return {n: services[n] for n in names}


def parse_since(since: str) -> dt.timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", since or "")
    if not match:
        raise OpsError(f"SINCE must be a number and a unit (30s, 15m, 2h, 1d), not {since!r}")
    return dt.timedelta(seconds=int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]])


def command_of(cmd: str | None, default: str | None = None) -> list[str]:
    line = cmd if cmd else default
    if not line:
        raise OpsError('no command: set CMD="<command and arguments>"')
    try:
        argv = shlex.split(line)
    except ValueError as error:
        raise OpsError(f"cannot split CMD {line!r}: {error}") from None
    if not argv:
        raise OpsError('no command: set CMD="<command and arguments>"')
    return argv


class Printer:
    """Interleaves lines from several sources, each with its `[service]` prefix, one whole line at a time."""

    def __init__(self, out: TextIO | None = None):
        self.out = out
        self.lock = threading.Lock()
        self.width = 0

    def prefix(self, names: Iterable[str]) -> None:
        self.width = max([len(n) for n in names] + [0])

    def line(self, source: str, text: str) -> None:
        with self.lock:
            out = self.out or sys.stdout  # looked up when written: the stdout of the moment
            out.write(f"[{source}]{' ' * (self.width - len(source))} {text.rstrip()}\n")
            out.flush()


# ------------------------------------------------------------------------------------------------------- docker


class Docker:
    """The docker CLI, on the stack's engine (twinstack:dockerHost when it sets one)."""

    def __init__(self, host: str | None = None, binary: str | None = None):
        self.binary = binary or shutil.which("docker")
        if self.binary is None:
            raise OpsError("the docker CLI is not installed: the docker backend's commands need it")
        self.env = {**os.environ, **({"DOCKER_HOST": host} if host else {})}
        self.host = host

    def argv(self, *args: str) -> list[str]:
        return [self.binary, *args]  # type: ignore[list-item]

    def capture(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), capture_output=True, text=True, env=self.env)

    def inspect(self, container: str) -> dict[str, Any]:
        done = self.capture("container", "inspect", container)
        if done.returncode != 0:
            reason = (done.stderr or "").strip().splitlines()[-1:] or [""]
            if "No such" in reason[0] or "no such" in reason[0]:
                raise OpsError(f"no container {container}{self.where()}: deploy the stack first (make up)")
            raise OpsError(f"docker cannot inspect {container}{self.where()}: {reason[0] or done.returncode}")
        return json.loads(done.stdout)[0]

    def running(self, container: str) -> dict[str, Any]:
        info = self.inspect(container)
        state = info.get("State") or {}
        if not state.get("Running"):
            raise OpsError(f"container {container} is not running ({state.get('Status', 'stopped')}, exit code "
                           f"{state.get('ExitCode')}){self.where()}: start the stack again (make up), or see "
                           f"`make logs SERVICE=...`")
        return info

    def where(self) -> str:
        return f" on {self.host}" if self.host else ""


def docker_logs(docker: Docker, services: Mapping[str, dict], since: str, follow: bool,
                printer: Printer | None = None) -> int:
    printer = printer or Printer()
    sources = {c: (name if len(entry["containers"]) == 1 else c)
               for name, entry in services.items() for c in entry["containers"]}
    for container in sources:
        docker.inspect(container)  # a missing container is one clear line, before any output
    printer.prefix(sources.values())
    args = ["logs", "--timestamps", "--since", since]
    if not follow:
        lines: list[tuple[str, str, str]] = []
        for container, source in sources.items():
            done = subprocess.run(docker.argv(*args, container), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, env=docker.env)
            lines += [(line.split(" ", 1)[0], source, line) for line in done.stdout.splitlines() if line]
        for _, source, line in sorted(lines, key=lambda x: x[0]):  # RFC 3339 stamps in UTC sort as times
            printer.line(source, line)
        return 0
    procs = [(source, subprocess.Popen(docker.argv(*args, "--follow", container), stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, env=docker.env))
             for container, source in sources.items()]

    def pump(source: str, proc: subprocess.Popen) -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            printer.line(source, line)

    threads = [threading.Thread(target=pump, args=p, daemon=True) for p in procs]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.terminate()
    return 0


def docker_exec(docker: Docker, container: str, argv: Sequence[str], tty: bool | None = None) -> int:
    docker.running(container)
    tty = sys.stdin.isatty() if tty is None else tty
    return subprocess.call(docker.argv("exec", *(["-it"] if tty else ["-i"]), container, *argv), env=docker.env)


def one_off_args(info: Mapping[str, Any], name: str, service: str) -> tuple[list[str], dict[str, str], list[str]]:
    """`docker create` arguments for a one-off copy of a running replica (its image, env, user, limits, mounts and
    first network), the env to hand the CLI (values travel in the environment, never on the command line), and
    the other networks to connect before it starts."""
    config, host = info.get("Config") or {}, info.get("HostConfig") or {}
    args = ["create", "--rm", "--name", name, "--label", f"twinstack.oneoff={service}"]
    env: dict[str, str] = {}
    for item in config.get("Env") or []:
        key, _, value = item.partition("=")
        if key.startswith("DOCKER_") or key in ("PATH", "HOME"):
            args += ["-e", item]  # the CLI reads these itself: passed inline (they are not secrets)
        else:
            env[key] = value
            args += ["-e", key]
    if config.get("User"):
        args += ["--user", config["User"]]
    if config.get("WorkingDir"):
        args += ["--workdir", config["WorkingDir"]]
    if host.get("Init"):
        args.append("--init")
    if host.get("ReadonlyRootfs"):
        args.append("--read-only")
    for path, opts in (host.get("Tmpfs") or {}).items():
        args += ["--tmpfs", f"{path}:{opts}" if opts else path]
    if host.get("Memory"):
        args += ["--memory", str(host["Memory"])]
    for opt in host.get("SecurityOpt") or []:
        args += ["--security-opt", opt]
    for mount in info.get("Mounts") or []:
        if mount.get("Type") == "volume":
            spec = f"type=volume,src={mount['Name']},dst={mount['Destination']}"
            args += ["--mount", spec + ("" if mount.get("RW", True) else ",readonly")]
    networks = list((info.get("NetworkSettings") or {}).get("Networks") or {})
    if networks:
        args += ["--network", networks[0]]
    args.append(info["Image"])
    return args, env, networks[1:]


def docker_run(docker: Docker, container: str, service: str, argv: Sequence[str], tty: bool | None = None) -> int:
    info = docker.running(container)
    name = f"{container}-run-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}-{os.getpid()}"
    args, env, more_networks = one_off_args(info, name, service)
    full_env = {**docker.env, **env}
    created = subprocess.run(docker.argv(*args, *argv), capture_output=True, text=True, env=full_env)
    if created.returncode != 0:
        raise OpsError(f"docker could not create the one-off container: {created.stderr.strip().splitlines()[-1:]}")
    for network in more_networks:
        joined = docker.capture("network", "connect", network, name)
        if joined.returncode != 0:
            docker.capture("rm", "-f", name)
            raise OpsError(f"could not connect the one-off container to {network}: {joined.stderr.strip()}")
    tty = sys.stdin.isatty() if tty is None else tty
    try:
        return subprocess.call(docker.argv("start", "--attach", *(["--interactive"] if tty else []), name),
                               env=docker.env)
    except KeyboardInterrupt:
        docker.capture("rm", "-f", name)
        raise


# ---------------------------------------------------------------------------------------------------------- aws


class Clients:
    """botocore clients for the stack's region, created on first use."""

    def __init__(self, region: str, session: Any = None):
        self.region = region
        self._session = session
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            if self._session is None:
                try:
                    import botocore.session
                except ImportError:
                    raise OpsError("botocore is not installed: `make install` (or pip install botocore)") from None
                self._session = botocore.session.get_session()
            self._clients[service] = self._session.create_client(service, region_name=self.region)
        return self._clients[service]


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def _stamp(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def filter_requests(services: Mapping[str, dict], start_ms: int) -> dict[str, dict[str, Any]]:
    """The FilterLogEvents request of each service (before paging)."""
    return {name: {"logGroupName": entry["logGroup"], "startTime": start_ms} for name, entry in services.items()}


def aws_logs(clients: Clients, services: Mapping[str, dict], since: str, follow: bool,
             printer: Printer | None = None, now: dt.datetime | None = None) -> int:
    printer = printer or Printer()
    printer.prefix(services)
    logs = clients("logs")
    start = _ms((now or dt.datetime.now(dt.UTC)) - parse_since(since))
    events: list[tuple[int, str, str]] = []
    for name, request in filter_requests(services, start).items():
        token = None
        while True:  # FilterLogEvents pages by nextToken, and may return an empty page before the end
            page = logs.filter_log_events(**request, **({"nextToken": token} if token else {}))
            events += [(e["timestamp"], name, e["message"]) for e in page.get("events", [])]
            token = page.get("nextToken")
            if not token:
                break
    for ms, name, message in sorted(events, key=lambda e: e[0]):
        printer.line(name, f"{_stamp(ms)} {message}")
    if follow:
        live_tail(logs, services, printer)
    return 0


def live_tail(logs: Any, services: Mapping[str, dict], printer: Printer) -> None:
    """CloudWatch Logs Live Tail (StartLiveTail, at most 10 log groups a session, up to 3 hours)."""
    if len(services) > 10:
        raise OpsError(f"live tail follows at most 10 log groups at once, not {len(services)}: name fewer services")
    by_group = {}
    for name, entry in services.items():
        by_group[entry["logGroupArn"]] = by_group[entry["logGroup"]] = name
    response = logs.start_live_tail(logGroupIdentifiers=[e["logGroupArn"] for e in services.values()])
    stream = response["responseStream"]
    try:
        for event in stream:
            for result in (event.get("sessionUpdate") or {}).get("sessionResults", []):
                group = result.get("logGroupIdentifier", "")
                name = by_group.get(group) or by_group.get(group.removesuffix(":*")) or group
                printer.line(name, f"{_stamp(result['timestamp'])} {result.get('message', '')}")
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()


def running_task(ecs: Any, entry: Mapping[str, Any], service: str) -> tuple[str, str]:
    """A running task of the service and its container's runtime id (ExecuteCommand's SSM target needs both)."""
    arns = ecs.list_tasks(cluster=entry["cluster"], serviceName=entry["service"], desiredStatus="RUNNING")["taskArns"]
    if not arns:
        raise OpsError(f"service {service} has no running task in cluster {entry['cluster']}: see `make logs "
                       f"SERVICE={service}`")
    task = ecs.describe_tasks(cluster=entry["cluster"], tasks=[arns[0]])["tasks"][0]
    for container in task.get("containers", []):
        if container.get("name") == entry["container"] and container.get("runtimeId"):
            return task["taskArn"], container["runtimeId"]
    raise OpsError(f"task {arns[0].rsplit('/', 1)[-1]} of {service} has no running {entry['container']} container yet")


def execute_command_request(entry: Mapping[str, Any], task_arn: str, argv: Sequence[str]) -> dict[str, Any]:
    """ECS ExecuteCommand takes one command string (interactive is the only mode ECS offers)."""
    return {"cluster": entry["cluster"], "task": task_arn, "container": entry["container"], "interactive": True,
            "command": shlex.join(argv)}


def aws_exec(clients: Clients, entry: Mapping[str, Any], service: str, stack: str, argv: Sequence[str],
             plugin: str | None = None, call: Callable[..., int] = subprocess.call) -> int:
    if not entry.get("exec"):
        raise OpsError(f"ECS Exec is off for {service} in stack '{stack}': set `exec: true` on the service and "
                       "`make up` (it is off by default in production)")
    plugin = plugin or shutil.which(SESSION_MANAGER_PLUGIN)
    if plugin is None:
        raise OpsError(f"the AWS Session Manager plugin ({SESSION_MANAGER_PLUGIN}) is not installed, and ECS Exec "
                       f"needs it on this machine: {PLUGIN_DOCS}")
    ecs = clients("ecs")
    task_arn, runtime_id = running_task(ecs, entry, service)
    response = ecs.execute_command(**execute_command_request(entry, task_arn, argv))
    target = f"ecs:{entry['cluster']}_{task_arn.rsplit('/', 1)[-1]}_{runtime_id}"
    # what `aws ecs execute-command` hands the plugin: the session, the region, the operation, a profile, the target
    return call([plugin, json.dumps(response["session"]), clients.region, "StartSession",
                 os.environ.get("AWS_PROFILE", ""), json.dumps({"Target": target}), ecs.meta.endpoint_url])


def run_task_request(entry: Mapping[str, Any], argv: Sequence[str]) -> dict[str, Any]:
    """RunTask: the service's own task definition (image, env, secrets, roles), network and a command override."""
    return {
        "cluster": entry["cluster"],
        "taskDefinition": entry["taskDefinitionFamily"],  # the family's latest ACTIVE revision: what the service runs
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "count": 1,
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": list(entry["subnets"]), "securityGroups": list(entry["securityGroups"]),
            "assignPublicIp": "DISABLED"}},
        "overrides": {"containerOverrides": [{"name": entry["container"], "command": list(argv)}]},
        "startedBy": STARTED_BY,
        "enableECSManagedTags": True,
        "propagateTags": "TASK_DEFINITION",
    }


def aws_run(clients: Clients, entry: Mapping[str, Any], service: str, argv: Sequence[str],
            printer: Printer | None = None, poll_seconds: float = 5.0, sleep: Callable[[float], None] = time.sleep,
            timeout_seconds: float = 6 * 3600) -> int:
    """Runs the one-off task, streams its log until it stops, and returns the container's exit code."""
    printer = printer or Printer()
    printer.prefix([service])
    ecs, logs = clients("ecs"), clients("logs")
    response = ecs.run_task(**run_task_request(entry, argv))
    if response.get("failures") or not response.get("tasks"):
        failure = (response.get("failures") or [{}])[0]
        raise OpsError(f"ECS did not start the task: {failure.get('reason', 'no task')} {failure.get('detail', '')}"
                       .rstrip())
    task_arn = response["tasks"][0]["taskArn"]
    task_id = task_arn.rsplit("/", 1)[-1]
    stream = f"{entry.get('logStreamPrefix', 'app')}/{entry['container']}/{task_id}"
    sys.stderr.write(f"started task {task_id} in {entry['cluster']}; its log: {entry['logGroup']} {stream}\n")
    token: str | None = None
    deadline = time.monotonic() + timeout_seconds

    def drain() -> None:
        nonlocal token
        while True:
            try:
                page = logs.get_log_events(logGroupName=entry["logGroup"], logStreamName=stream, startFromHead=True,
                                           **({"nextToken": token} if token else {}))
            except Exception as error:  # the stream exists only once the container has written to it
                if getattr(error, "response", {}).get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return
                raise
            for event in page.get("events", []):
                printer.line(service, event["message"])
            if page.get("nextForwardToken") in (None, token):
                return
            token = page["nextForwardToken"]

    while True:
        task = ecs.describe_tasks(cluster=entry["cluster"], tasks=[task_arn])["tasks"][0]
        drain()
        if task.get("lastStatus") == "STOPPED":
            drain()
            container = next((c for c in task.get("containers", []) if c.get("name") == entry["container"]), {})
            code = container.get("exitCode")
            if code is None:
                raise OpsError(f"task {task_id} stopped without running {entry['container']}: "
                               f"{task.get('stoppedReason') or container.get('reason') or 'no reason given'}")
            sys.stderr.write(f"task {task_id} exited with {code}\n")
            return int(code)
        if time.monotonic() > deadline:
            raise OpsError(f"task {task_id} still runs after {timeout_seconds:.0f} s; it goes on without us")
        sleep(poll_seconds)


def snapshot_request(identifier: str, stack: str, label: str | None, now: dt.datetime | None = None,
                     user: str | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    label = re.sub(r"[^a-z0-9-]+", "-", (label or "manual").lower()).strip("-") or "manual"
    name = re.sub(r"-+", "-", f"{identifier}-{label}-{now:%Y%m%d-%H%M%S}")[:255]
    return {"DBSnapshotIdentifier": name, "DBInstanceIdentifier": identifier, "Tags": [
        {"Key": "twinstack:stack", "Value": stack},
        {"Key": "twinstack:kind", "Value": "manual"},
        {"Key": "twinstack:label", "Value": label},
        {"Key": "twinstack:createdBy", "Value": user or _user()},
    ]}


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name is no reason to fail a backup
        return "unknown"


def aws_backup(clients: Clients, ops: Mapping[str, Any], stack: str, label: str | None = None,
               delay_seconds: int = 30, now: dt.datetime | None = None, user: str | None = None) -> str:
    database = ops.get("database") or {}
    if "identifier" not in database:
        raise OpsError(f"stack '{stack}' has no database to snapshot")
    rds = clients("rds")
    request = snapshot_request(database["identifier"], stack, label, now, user)
    rds.create_db_snapshot(**request)
    name = request["DBSnapshotIdentifier"]
    sys.stderr.write(f"creating snapshot {name} of {database['identifier']}; waiting until it is available\n")
    rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier=name,
                                                 WaiterConfig={"Delay": delay_seconds, "MaxAttempts": 240})
    print(name)
    return name


# ------------------------------------------------------------------------------------------------------ the CLI


def main(argv: Sequence[str] | None = None, clients: Clients | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["logs", "exec", "shell", "run", "backup"])
    parser.add_argument("stack")
    parser.add_argument("--service", default=os.environ.get("SERVICE") or None)
    parser.add_argument("--since", default="15m")
    parser.add_argument("--follow", action="store_true")
    parser.add_argument("--cmd", default=None, help="the command line (default: $CMD)")
    parser.add_argument("--name", default=None, help="backup: a label in the snapshot's name")
    parser.add_argument("--outputs", default=os.environ.get("TWINSTACK_OUTPUTS") or None)
    args = parser.parse_args(argv)
    cmd = args.cmd if args.cmd is not None else os.environ.get("CMD") or None
    try:
        return _dispatch(args, cmd, clients)
    except OpsError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # botocore's, one line each; anything else still without a traceback
        return _fail(_explain(error))


def _dispatch(args: argparse.Namespace, cmd: str | None, clients: Clients | None) -> int:
    ops = operations_of(stack_outputs(args.stack, args.outputs), args.stack)
    action = "exec" if args.action == "shell" else args.action
    if action == "exec" and args.action == "shell":
        cmd = cmd or DEFAULT_SHELL
    if ops.get("backend") == "docker":
        docker = Docker(ops.get("dockerHost"))
        if action == "logs":
            return docker_logs(docker, pick(ops, args.stack, args.service, one=False), args.since, args.follow)
        if action == "backup":
            return subprocess.call(["bash", str(ROOT / "scripts" / "backup.sh"), args.stack])
        [(name, entry)] = pick(ops, args.stack, args.service, one=True).items()
        container = entry["containers"][0]
        if action == "exec":
            return docker_exec(docker, container, command_of(cmd, DEFAULT_SHELL))
        return docker_run(docker, container, name, command_of(cmd))
    clients = clients or Clients(ops["region"])
    if action == "logs":
        return aws_logs(clients, pick(ops, args.stack, args.service, one=False), args.since, args.follow)
    if action == "backup":
        aws_backup(clients, ops, args.stack, args.name)
        return 0
    [(name, entry)] = pick(ops, args.stack, args.service, one=True).items()
    if action == "exec":
        return aws_exec(clients, entry, name, args.stack, command_of(cmd, DEFAULT_SHELL))
    return aws_run(clients, entry, name, command_of(cmd))


def _explain(error: Exception) -> str:
    kind = type(error).__name__
    if kind in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
        return f"no usable AWS credentials ({error}): set AWS_PROFILE, or run `aws sso login`, then try again"
    if kind in ("UnauthorizedSSOTokenError", "SSOTokenLoadError", "TokenRetrievalError"):
        return f"the AWS SSO session has expired ({error}): run `aws sso login`"
    if kind == "NoRegionError":
        return "no AWS region: the stack's operations output names one; set AWS_REGION to override"
    if kind in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"cannot reach AWS: {error}"
    if kind == "WaiterError":
        return f"gave up waiting: {error}"
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"AWS refused {getattr(error, 'operation_name', 'the call')}: {err.get('Code')}: {err.get('Message')}"
    return f"{kind}: {error}"


def _fail(message: str) -> int:
    sys.stderr.write(f"ops: {message}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
