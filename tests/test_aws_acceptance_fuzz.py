"""AWS acceptance as a property: a config the loader accepts builds a graph AWS accepts.

The strategy writes twinstack configs with `backend: aws` across the config space, as users write them (plain dicts,
camelCase keys): 1-120 services (workers without a port among them) with names at and near their length limits,
sparse or consecutive ports, many routes (nested, long, colliding once slugged, stripPrefix), env and secrets of every
size and escaping, generated secrets, the data parts in every version the model admits (a database restored from a
snapshot too), fixed or generated bucket names, prefixes AWS reserves, health checks as a path or a command in every
form, migrations, Fargate sizes valid and not, autoscaling, and every environment with its TLS.

Each config runs through the real program under mocks (`run_config`). The property: either the loader refused it,
with every problem a `twinstack:<key path>: <message>` line and nothing registered, or the recorded graph breaks no
limit that `components/aws/limits.graph_problems` knows. Anything else (a config the loader accepts but AWS would
refuse, or a traceback) is a finding.

A per-config `risk` (0 in three draws of seven, else 1, 2, 5 or 20%) decides how often a field takes a value meant
to be refused: shrinking drives it to 0, so a minimal failing example carries only the values that matter.

Profiles: `make test` runs `twinstack-aws-acceptance` (25 derandomised examples of at most 40 services, no shrinking:
well under a minute on two cores); `TWINSTACK_FUZZ=1` selects `twinstack-aws-acceptance-fuzz` (300 random examples,
or TWINSTACK_FUZZ_EXAMPLES, up to 120 services, with shrinking; a failure is replayed from .hypothesis/ first on the
next run). `--hypothesis-show-statistics` shows how many configs were accepted and refused, and where.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, note, settings
from hypothesis import strategies as st

from config.load import OBJECT_KEYS, SCALAR_KEYS
from tests.harness import ProgramError, run_config

FUZZ = os.environ.get("TWINSTACK_FUZZ", "") not in ("", "0")
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                 HealthCheck.large_base_example]
settings.register_profile("twinstack-aws-acceptance", max_examples=25, deadline=None, derandomize=True,
                          phases=(Phase.explicit, Phase.generate), suppress_health_check=_SLOW_IS_FINE)
settings.register_profile("twinstack-aws-acceptance-fuzz",
                          max_examples=int(os.environ.get("TWINSTACK_FUZZ_EXAMPLES", "300")), deadline=None,
                          suppress_health_check=_SLOW_IS_FINE, print_blob=True)
ACCEPTANCE = settings.get_profile("twinstack-aws-acceptance-fuzz" if FUZZ else "twinstack-aws-acceptance")


@dataclass(frozen=True)
class Case:
    """One program run: the stack name, the twinstack keys, and the user-provided secret values."""

    stack: str
    config: dict[str, Any]
    secrets: dict[str, str] | None = None
    risk: int = 0  # the percentage of fields drawn to be refused (0: every field drawn to be accepted)


# ------------------------------------------------------------------------------------------------------ the property

HEADER = re.compile(r"twinstack config has (\d+) problems?:")
# `twinstack:<key path>: <message>`: a top-level key, then `[i]` or `.key` steps (env and secret names included).
PROBLEM = re.compile(r"  - twinstack:(?P<key>[A-Za-z]+)(?P<rest>(?:\[\d+\]|\.[^\s.\[\]:]+)*): (?P<message>\S.*)")
KNOWN_KEYS = SCALAR_KEYS | OBJECT_KEYS


def abbreviated(value: Any) -> Any:
    """The config for a failure message: strings over 120 characters shortened (Hypothesis prints the whole case)."""
    if isinstance(value, dict):
        return {k if len(k) <= 120 else f"{k[:40]}...<{len(k)} chars>": abbreviated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [abbreviated(v) for v in value]
    if isinstance(value, str) and len(value) > 120:
        return f"{value[:40]}...<{len(value)} chars>"
    return value


def shown(case: Case) -> str:
    return (f"stack {case.stack!r}, secrets {sorted(case.secrets or {})}, config:\n"
            + json.dumps(abbreviated(case.config), indent=1))


def refusal_problems(text: str) -> list[re.Match[str]] | None:
    """The loader's problems in a ProgramError's text, each a `twinstack:<key path>: <message>` line; None when the
    text is not a refusal. A refusal whose lines do not all have that shape fails the assertion."""
    header = HEADER.search(text)
    if header is None:
        return None
    lines = text[header.end():].strip("\n").split("\n")
    matches = [PROBLEM.fullmatch(line) for line in lines]
    bad = [line for line, m in zip(lines, matches, strict=True) if m is None or m["key"] not in KNOWN_KEYS]
    assert not bad, f"problems that are not `  - twinstack:<key path>: <message>` lines: {bad}"
    assert len(lines) == int(header[1]), f"the header counts {header[1]} problems, the list has {len(lines)}"
    return [m for m in matches if m is not None]


def check_acceptance(case: Case) -> list[re.Match[str]] | None:
    """The property. Returns the loader's problems when it refused the config, None when it built a graph."""
    try:
        graph = run_config(case.config, stack=case.stack, secrets=case.secrets)
    except ProgramError as error:
        text = str(error)
        if "twinstack config has" not in text:
            raise AssertionError(f"the program raised on a config the loader accepted: {type(error.__cause__).__name__}: "
                                 f"{text}\n{shown(case)}") from error
        problems = refusal_problems(text)
        assert problems is not None, f"a refusal without its header: {text}\n{shown(case)}"
        assert error.graph.resources == [], f"refused config registered {len(error.graph.resources)} resources"
        return problems
    names = [s["name"] for s in case.config["services"]]
    broken = graph.aws_limit_problems(names)
    assert not broken, ("the loader accepted a config whose graph AWS would refuse:\n"
                        + "\n".join(f"  - {p}" for p in broken) + f"\n{shown(case)}")
    return None


# ------------------------------------------------------------------------------------------------------ the strategy


class Dice:
    """Draws that are safe unless a risk roll (`risk` percent of them) says otherwise; shrinking makes them safe."""

    def __init__(self, draw: st.DrawFn, risk: int):
        self.draw, self.risk = draw, risk

    def risky(self) -> bool:
        return self.risk > 0 and self.draw(st.integers(0, 99)) < self.risk

    def pick(self, safe: Sequence[Any], risky: Sequence[Any] = ()) -> Any:
        return self.draw(st.sampled_from(risky if risky and self.risky() else safe))

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent


def label(text: str, length: int) -> str:
    """A DNS-label-shaped name of exactly `length` characters made from `text` (64+ breaks the pattern on purpose)."""
    core = re.sub(r"[^a-z0-9-]", "-", text.lower())
    if not core[:1].isalpha():
        core = "s" + core
    core = (core + "x" * length)[:length]
    return core[:-1] + "x" if core.endswith("-") else core


def unique(name: str, used: set[str], limit: int) -> str:
    i = 2
    while name in used:
        tag = str(i)
        name = label(name, max(1, min(len(name), limit) - len(tag))) + tag
        i += 1
    return name


ENVIRONMENT_STACKS = {"development": ["dev", "feature-x", "Dev_EU"], "staging": ["staging", "stg-eu", "stage"],
                      "production": ["prod", "production-us-east-1", "Prod_EU"]}
ODD_STACKS = ["internal-tools", "a" * 40, "sthree-lab", "feature--x", "x"]
SAFE_PREFIXES = ["demo", "app", "shop", "tw", "acme-prod", "castiel", "a1"]
RISKY_PREFIXES = ["internal", "internal-x", "sthree", "sthree-x", "xn--site", "amzn-s3-demo-x", "a-", "a--b",
                  "sg-app", "Demo", "1app", "a" * 21]
SERVICE_WORDS = ["web", "api", "worker", "alb-target", "admin", "app", "frontend", "scheduler", "redis", "cache",
                 "postgres", "rabbitmq", "alarms", "services", "namespace", "alb", "https", "build", "task"]
RISKY_SERVICE_WORDS = ["db", "redis-001", "redis-002", "migrate", "prepare-volumes", "Web", "1api", "api-", "a" * 64]
IMAGES = ["nginx:1.27-alpine", "ghcr.io/acme/api:1.4.2", "public.ecr.aws/docker/library/python:3.12-slim",
          "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64]
PARTS = ("database", "cache", "broker", "storage")
INJECTED = {"database": "DATABASE_URL", "cache": "REDIS_URL", "broker": "AMQP_URL", "storage": "STORAGE_URL"}
# Fargate task sizes from the AWS page (fargate-tasks-services.html#fargate-tasks-size), written out here rather than
# read from limits.py, so a wrong table there shows up as a finding.
FARGATE_SIZES = {256: [512, 1024, 2048], 512: [1024, 2048, 3072, 4096], 1024: list(range(2048, 8193, 1024)),
                 2048: list(range(4096, 16385, 1024)), 4096: list(range(8192, 30721, 1024)),
                 8192: list(range(16384, 61441, 4096)), 16384: list(range(32768, 122881, 8192))}
BAD_FARGATE_SIZES = [(256, 1536), (512, 512), (1024, 1024), (2048, 3072), (4096, 31744), (128, 256), (300, 512),
                     (16384, 16384), (8192, 20000), (256, 4096)]
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f6d0b5e-8d7c-4d4f-9a61-1b2c3d4e5f60"
ROUTE_SEGMENTS = ["api", "v1", "v2", "static", "a-b", "a.b", "a_b", "A-B", "admin", "~user", "x-1", "1", "2", "users",
                  "health", "ws"]


def name_prefix(draw: st.DrawFn, dice: Dice) -> str | None:
    """None leaves namePrefix to the loader (the stack name, lowercased, at most 20 characters)."""
    if dice.chance(10):
        return None
    if dice.risky():
        return draw(st.sampled_from(RISKY_PREFIXES))
    if dice.chance(30):
        return label(draw(st.sampled_from(SAFE_PREFIXES)), draw(st.integers(1, 20)))
    return draw(st.sampled_from(SAFE_PREFIXES))


def effective_prefix(prefix: str | None, stack: str) -> str:
    return prefix if prefix is not None else re.sub(r"[^a-z0-9-]", "-", stack.lower())[:20]


def service_names(draw: st.DrawFn, dice: Dice, count: int, detailed: int, prefix: str) -> list[str]:
    # A routed service's target group is `<prefix>-<service>` (32 characters), every service's execution role
    # `twinstack-services-<service>-execution-role-` + 7 (64): the longest safe name fits both exactly.
    longest = max(1, min(22, 31 - len(prefix)))
    names: list[str] = []
    used: set[str] = set()
    for i in range(count):
        if i < detailed:
            if names and dice.risky() and dice.chance(30):
                names.append(names[-1])  # a duplicate, refused
                continue
            if dice.risky():
                name = dice.draw(st.sampled_from(RISKY_SERVICE_WORDS)) if dice.chance(50) else label(
                    dice.draw(st.sampled_from(SERVICE_WORDS)),
                    dice.draw(st.sampled_from([longest + 1, 23, 32, 62, 63, 64])))
            elif dice.chance(50):
                name = label(dice.draw(st.sampled_from(SERVICE_WORDS)), dice.draw(st.integers(1, longest)))
            else:
                name = dice.draw(st.sampled_from([w for w in SERVICE_WORDS if len(w) <= longest] or ["w"]))
        else:
            tag = str(i)
            name = label("svc", max(1, min(longest, 3 + len(tag)) - len(tag))) + tag
        name = unique(name, used, max(longest, len(name)))
        used.add(name)
        names.append(name)
    return names


def service_ports(draw: st.DrawFn, dice: Dice, count: int) -> list[int]:
    # one security group rule per run of consecutive ports (60 per group): sparse ports only for a few services
    mode = draw(st.sampled_from(["consecutive", "consecutive", "sparse", "random", "shared"] if count <= 25 or dice.risky()
                                else ["consecutive", "shared"]))
    base = draw(st.sampled_from([80, 3000, 8000, 8080, 1, 65535 - count])) if dice.chance(70) else draw(
        st.integers(1, 65535 - count))
    if mode == "consecutive":
        ports = [base + i for i in range(count)]
    elif mode == "sparse":
        step = draw(st.integers(2, 500))
        ports = [1 + (base + i * step - 1) % 65535 for i in range(count)]
    elif mode == "random":
        ports = [draw(st.integers(1, 65535)) if i < 6 else 1 + (base + i * 7919) % 65535 for i in range(count)]
    else:
        ports = [base] * count
    if dice.risky():
        ports[draw(st.integers(0, count - 1))] = draw(st.sampled_from([0, 65536, 70000, -1]))
    return ports


def health_check(draw: st.DrawFn, dice: Dice, port: int | None, worker: bool = False) -> dict[str, Any]:
    kind = draw(st.sampled_from(["CMD", "CMD-SHELL", "argv"] if worker and not dice.risky() else
                                ["path", "path", "long-path", "CMD", "CMD-SHELL", "argv"]))
    port = port or 8000
    if dice.risky():
        check: dict[str, Any] = dice.pick([
            {"command": ["CMD"]}, {"command": ["CMD-SHELL"]}, {"command": ["CMD-SHELL", "true", "false"]},
            {"command": ["NONE"]}, {"command": []}, {"command": ["CMD", "CMD-SHELL", "curl -f http://localhost/"]},
            {"command": ["CMD", "CMD", "true"]}, {"path": "/health", "command": ["true"]}, {}, {"path": "health"},
            {"path": "/with space"}, {"path": "/" + "h" * 1024}])
    elif kind == "path":
        check = {"path": draw(st.sampled_from(["/health", "/", "/healthz", "/api/v1/health", "/status?full=1",
                                               "/ping/", "/_/ready"]))}
    elif kind == "long-path":
        check = {"path": "/" + "h" * (draw(st.sampled_from([127, 128, 255, 1022, 1023])) - 1)}
    elif kind == "CMD":
        check = {"command": ["CMD", draw(st.sampled_from(["curl", "wget", "/bin/healthcheck", "pg_isready"])),
                             *draw(st.sampled_from([[], ["-f", f"http://localhost:{port}/health"], ["--quiet"]]))]}
    elif kind == "CMD-SHELL":
        line = draw(st.sampled_from([f"curl -fsS http://localhost:{port}/health || exit 1", "test -f /tmp/ready",
                                     "redis-cli ping | grep -q PONG", ""]))
        check = {"command": ["CMD-SHELL", line + " " * draw(st.sampled_from([0, 0, 5000]))]}
    else:
        check = {"command": draw(st.sampled_from([["pg_isready"], ["/healthcheck", "--port", str(port)],
                                                  ["celery", "inspect", "ping"], ["cmd"], ["CMD-shell", "x"]]))}
    if dice.chance(30):
        interval = draw(st.sampled_from([5, 10, 30, 300]))
        timeout = draw(st.sampled_from([t for t in (2, 4, 5, 60) if t < interval]))
        if dice.risky():
            timeout = interval
        check.update(intervalSeconds=interval, timeoutSeconds=timeout, retries=draw(st.integers(1, 10)),
                     startPeriodSeconds=draw(st.sampled_from([0, 30, 300])))
    return check


def env_vars(draw: st.DrawFn, dice: Dice, uses: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    mode = draw(st.sampled_from(["none", "few", "few", "big-values", "long-names", "many"]))
    if mode == "few":
        for name in draw(st.lists(st.sampled_from(["LOG_LEVEL", "NODE_ENV", "PORT", "_PRIVATE", "lower_case",
                                                   "FEATURE_FLAGS", "TZ"]), max_size=4, unique=True)):
            env[name] = draw(st.sampled_from(["info", "", "production", "8000", '{"a": 1}', "x" * 500]))
    elif mode == "big-values":  # certificates, JSON blobs, text: JSON escapes quotes and non-ASCII characters
        size = draw(st.sampled_from([1000, 2500, 4000, 6000]))
        total = draw(st.sampled_from([4000, 16_000, 26_000, 30_000])) if not dice.risky() else 62_000
        char = draw(st.sampled_from(["B", "B", "\n", '"', "\\", "\u00e9", "\U0001f600"]))
        for i in range(draw(st.integers(1, max(1, total // size)))):
            env[f"BLOB_{i}"] = char * size
    elif mode == "long-names":
        length = draw(st.sampled_from([64, 255, 256, 1000, 3000]))
        for i in range(draw(st.integers(1, 6))):
            env[f"V{i}_" + "N" * (length - 3 - len(str(i)))] = "v"
    elif mode == "many":
        for i in range(draw(st.sampled_from([50, 200, 600]))):
            env[f"SETTING_{i:04d}"] = f"value-{i}"
    if dice.risky():
        env[draw(st.sampled_from([INJECTED[p] for p in uses] or ["DATABASE_URL"]))] = "postgres://elsewhere"
    return env


def secret_names(draw: st.DrawFn, dice: Dice, pool: Sequence[str]) -> list[str]:
    if not pool:
        return []
    names = draw(st.lists(st.sampled_from(list(pool)), max_size=min(len(pool), 4), unique=True))
    if len(pool) > 4 and dice.chance(20):
        names = list(pool)  # every secret of the stack
    return names


def service(draw: st.DrawFn, dice: Dice, name: str, port: int | None, parts: list[str], pool: Sequence[str],
            earlier: list[str], later: list[str]) -> dict[str, Any]:
    """A service; `port` None makes a worker (no port, no route, a command health check)."""
    svc: dict[str, Any] = {"name": name} if port is None else {"name": name, "port": port}
    source = dice.pick(["image", "image", "image", "build"], ["both", "neither"])
    if source in ("image", "both"):
        svc["image"] = draw(st.sampled_from(IMAGES))
    if source in ("build", "both"):
        svc["build"] = draw(st.sampled_from([{"context": "app"}, {"context": "app", "target": "runtime",
                                                                   "args": {"PY_VERSION": "3.12"}}]))
    svc["healthCheck"] = health_check(draw, dice, port, worker=port is None)
    if dice.chance(20):
        svc["command"] = draw(st.sampled_from([["gunicorn", "app:app"], ["celery", "-A", "app", "worker"], [],
                                               ["sh", "-c", "s" * 6000], ["sh", "-c", "s" * 66000]]))
    uses = draw(st.lists(st.sampled_from(parts), max_size=len(parts), unique=True)) if parts else []
    if dice.risky():
        uses.append(draw(st.sampled_from([p for p in PARTS if p not in parts] or ["database"])))
    if uses:
        svc["uses"] = uses
    env = env_vars(draw, dice, uses)
    if env:
        svc["env"] = env
    secrets = secret_names(draw, dice, pool)
    if dice.risky():
        secrets.append(draw(st.sampled_from(["NOT_SET_ANYWHERE", *env][:3])))
    if secrets:
        svc["secrets"] = secrets
    if dice.chance(15):
        svc["optionalSecrets"] = draw(st.sampled_from([["OPENAI_API_KEY"], ["SENTRY_DSN", "OPENAI_API_KEY"]]))
    depends = draw(st.lists(st.sampled_from(earlier), max_size=min(3, len(earlier)), unique=True)) if earlier else []
    if dice.risky():
        depends.append(draw(st.sampled_from([name, "nowhere", *later])))
    if depends:
        svc["dependsOn"] = depends
    if dice.chance(25):
        svc["migration"] = {"command": draw(st.sampled_from([["python", "manage.py", "migrate"], ["alembic", "upgrade",
                                                              "head"], ["sh", "-c", "x" * 3000]]))}
    if dice.chance(30):
        svc["replicas"] = draw(st.sampled_from([0, 1, 2, 3, 100]))
    if dice.chance(25):
        low = draw(st.integers(1, 10))
        autoscaling: dict[str, Any] = {"min": low, "max": draw(st.sampled_from([low, low + 3, 100]))}
        svc["replicas"] = min(svc.get("replicas", 1), autoscaling["max"])
        if dice.chance(50):
            autoscaling.update(cpuTarget=draw(st.integers(10, 95)), memoryTarget=draw(st.integers(10, 95)))
        if dice.risky():
            autoscaling = dice.pick([{"min": 5, "max": 2}, {"min": 0, "max": 4}, {"max": 101}, {"cpuTarget": 99}])
        svc["autoscaling"] = autoscaling
    if dice.chance(50):
        if dice.risky():
            cpu, memory = draw(st.sampled_from(BAD_FARGATE_SIZES))
        else:
            cpu = draw(st.sampled_from(sorted(FARGATE_SIZES)))
            memory = draw(st.sampled_from(FARGATE_SIZES[cpu]))
        svc.update(cpu=cpu, memory=memory)
    if dice.chance(30):
        svc["architecture"] = draw(st.sampled_from(["x86_64", "arm64"]))
    if dice.chance(20):
        svc.update(user="10001", readOnlyRootFilesystem=True)
    if dice.chance(10):
        svc["exec"] = draw(st.booleans())
    if dice.chance(10):
        svc["volumes"] = [{"name": draw(st.sampled_from(["static", "tmp", "media"])), "path": "/srv/shared",
                           "readOnly": draw(st.booleans())}]
    return svc


def route_path(draw: st.DrawFn, dice: Dice) -> str:
    if dice.chance(10):
        length = draw(st.sampled_from([100, 124, 125, 126])) if not dice.risky() else draw(st.sampled_from([127, 128,
                                                                                                            140]))
        return "/" + "p" * (length - 1)
    segments = draw(st.lists(st.sampled_from(ROUTE_SEGMENTS), min_size=1, max_size=4))
    path = "/" + "/".join(segments)
    if dice.chance(15):
        path += "/"
    if dice.risky():
        path = dice.pick(["api", "/api*", "/a b", "/%20", "/api?x=1"])
    return path


def routes(draw: st.DrawFn, dice: Dice, names: list[str]) -> list[dict[str, Any]]:
    size = draw(st.integers(0, 99))
    count = 1 if size < 35 else draw(st.integers(2, 6)) if size < 80 else draw(st.integers(7, 40)) if size < 95 else (
        draw(st.sampled_from([95, 100])) if not dice.risky() else 101)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for j in range(count):
        if j == 0 and dice.chance(80):
            path = "/"
        elif j >= 12:
            path = f"/r{j}/" + draw(st.sampled_from(ROUTE_SEGMENTS))  # cheap, unique
        else:
            path = route_path(draw, dice)
        if path in seen and not dice.risky():
            continue
        seen.add(path)
        route: dict[str, Any] = {"path": path}
        target = names[j % len(names)] if j >= 12 else draw(st.sampled_from(names))
        route["service"] = target if not dice.risky() else dice.pick(["nowhere", names[0]])
        if (path != "/" and dice.chance(25)) or dice.risky():
            route["stripPrefix"] = True
        if dice.chance(10):
            route["websocket"] = False
        out.append(route)
    return out


def database(draw: st.DrawFn, dice: Dice, production: bool) -> dict[str, Any]:
    db: dict[str, Any] = {"version": dice.pick(["13", "14", "15", "16", "17", "18"], ["12", "19", "16.4", 16])}
    if dice.chance(50):
        db["name"] = dice.pick(["app", "demo", "shop_db", "d" * 63], ["select", "template1", "rdsadmin", "user", "D"])
    if dice.chance(70):
        db["username"] = dice.pick(["app", "demo", "appuser", "svc_1", "u" * 16],
                                   ["user", "select", "postgres", "admin", "rdsadmin", "u" * 17, "current_user"])
    if dice.chance(40):
        db["extensions"] = draw(st.lists(st.sampled_from(
            ["pg_stat_statements", "pg_cron", "pgaudit", "vector", "postgis", "pg_trgm", "pglogical", "hstore",
             "pg_tle", "pg_hint_plan", "uuid_ossp"]), max_size=8, unique=True))
    if dice.chance(30):
        db["instanceClass"] = dice.pick(["db.t4g.micro", "db.r6g.large", "db.m7g.xlarge"], ["db.t4g", "t4g.micro"])
    if dice.chance(30):
        db["allocatedStorageGb"], db["maxAllocatedStorageGb"] = dice.pick(
            [(20, 100), (20, 20), (100, 110), (50, 500), (65536, 65536)], [(100, 105), (100, 50), (10, 100)])
    if dice.chance(30) or production:
        db["backupRetentionDays"] = dice.pick([7, 14, 35], [0, 3, 36])
    if dice.chance(30):
        db["multiAz"] = draw(st.booleans())
    if dice.chance(20):
        db["performanceInsights"] = draw(st.booleans())
    if dice.chance(10):  # a restore replaces the instance: refused on protected data unless allowed as well
        db["restoreFromSnapshot"] = draw(st.sampled_from(
            ["demo-postgres-final", "arn:aws:rds:us-east-1:123456789012:snapshot:rds:demo-2025-01-01"]))
        if dice.chance(50) or (production and not dice.risky()):
            db["allowProtectedReplacement"] = True
    if dice.risky():
        db["initSql"] = "init.sql"
    return db


def cache(draw: st.DrawFn, dice: Dice) -> dict[str, Any]:
    c: dict[str, Any] = {"version": dice.pick(["6", "6.0", "6.2", "7", "7.0", "7.1"], ["6.1", "7.2", "5.0", "8"])}
    if dice.chance(60):
        c["replicas"] = draw(st.integers(0, 5)) if not dice.risky() else 6
    if dice.chance(30):
        c["nodeType"] = draw(st.sampled_from(["cache.t4g.micro", "cache.r7g.large"]))
    if dice.chance(20):
        c["snapshotRetentionDays"] = draw(st.sampled_from([0, 1, 35]))
    return c


def broker(draw: st.DrawFn, dice: Dice) -> dict[str, Any]:
    b: dict[str, Any] = {"version": dice.pick(["3.13", "3.13", "4.2"], ["3.12", "3.11", "4.0"])}
    instances = {"3.13": [None, "mq.t3.micro", "mq.m5.large", "mq.m7g.large"], "4.2": ["mq.m7g.large", "mq.m7g.medium"]}
    instance = dice.pick(instances.get(b["version"], [None]), [None, "mq.t3.micro", "mq.m5.large", "mq.m7g.large"])
    if instance is not None:
        b["instanceType"] = instance
    mode = dice.pick([None, "SINGLE_INSTANCE"] if instance in (None, "mq.t3.micro") else
                     [None, "SINGLE_INSTANCE", "CLUSTER_MULTI_AZ"], ["CLUSTER_MULTI_AZ"])
    if mode is not None:
        b["deploymentMode"] = mode
    if dice.chance(50):
        b["username"] = dice.pick(["app", "worker-1", "svc_queue", "u" * 100], ["guest", "u" * 101, "a"])
    return b


def storage(draw: st.DrawFn, dice: Dice, prefix: str) -> dict[str, Any]:
    s: dict[str, Any] = {}
    if dice.chance(50):
        s["bucketName"] = dice.pick(
            [f"{prefix}-workspace-123456789012", "my.bucket.name", "b" * 63, "abc", "acme-uploads-eu-west-1"],
            ["sthree-x", "amzn-s3-demo-x", "x--ol-s3", "x--table-s3", "x-s3alias", "x.mrap", "x--x-s3", "xn--abc",
             "192.168.1.1", "my..bucket", "My-Bucket", "bucket-", "ab", "b" * 64])
    if dice.chance(30):
        s["mountPath"] = draw(st.sampled_from(["/workspace", "/data", "/srv/static"]))
    if dice.chance(20):
        s["noncurrentVersionDays"] = draw(st.sampled_from([1, 30, 3650]))
    return s


def proxy(draw: st.DrawFn, dice: Dice, environment: str, route_list: list[dict[str, Any]]) -> dict[str, Any]:
    p: dict[str, Any] = {"routes": route_list}
    tls_kind = dice.pick({"development": ["none", "none", "arn"], "staging": ["arn", "domain", "http"],
                          "production": ["arn", "domain"]}[environment], ["none", "http", "domain-only", "bad-arn"])
    if tls_kind == "arn":
        p["tls"] = {"certificateArn": draw(st.sampled_from(
            [CERTIFICATE, "arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/abc"]))}
    elif tls_kind == "domain":
        p["tls"] = {"domain": draw(st.sampled_from(["app.example.com", "x.example.co.uk"])), "zoneId": "Z0123456789EXAMPLE"}
    elif tls_kind == "domain-only":
        p["tls"] = {"domain": "app.example.com"}
    elif tls_kind == "bad-arn":
        p["tls"] = {"certificateArn": "arn:aws:acm:us-east-1:123:certificate/x"}
    elif tls_kind == "http":
        p["allowHttp"] = True
    if dice.chance(20):
        p["timeoutSeconds"] = draw(st.sampled_from([1, 60, 4000]))
    if dice.chance(10):
        p["clientMaxBodySizeMb"] = draw(st.sampled_from([1, 25, 10240]))
    return p


def service_count(draw: st.DrawFn, largest: int) -> int:
    size = draw(st.integers(0, 99))
    if size < 70:
        return draw(st.integers(1, 4))
    if size < 92:
        return draw(st.integers(5, 25))
    return draw(st.integers(26, largest))


@st.composite
def aws_cases(draw: st.DrawFn, largest: int = 120) -> Case:
    risk = draw(st.sampled_from([0, 0, 0, 1, 2, 5, 20]))
    dice = Dice(draw, risk)
    environment = draw(st.sampled_from(sorted(ENVIRONMENT_STACKS)))
    stack = draw(st.sampled_from(ENVIRONMENT_STACKS[environment] + ODD_STACKS))
    production = environment == "production"
    cfg: dict[str, Any] = {"backend": "aws", "environment": environment}
    if dice.chance(10) and stack in ENVIRONMENT_STACKS[environment]:
        del cfg["environment"]  # the loader derives it from the stack name
    prefix = name_prefix(draw, dice)
    if prefix is not None:
        cfg["namePrefix"] = prefix
    prefix = effective_prefix(prefix, stack)

    if dice.chance(30):
        net: dict[str, Any] = {"cidr": dice.pick(["10.0.0.0/16", "10.20.0.0/16", "172.16.0.0/20", "192.168.0.0/22"],
                                                 ["10.0.0.0/24", "8.8.0.0/16", "10.0.0.0/8", "not-a-cidr"])}
        # azCount 4-6 is left out: the mocks' region has 3 AZs, and the program (rightly) stops on more.
        net["azCount"] = draw(st.sampled_from([2, 3]))
        net["nat"] = draw(st.sampled_from(["none", "single", "perAz"]))
        net["flowLogs"] = draw(st.booleans())
        cfg["network"] = net
    if dice.chance(15) or (production and dice.risky()):
        cfg["protectData"] = dice.pick([True, None], [False])
        if cfg["protectData"] is None:
            del cfg["protectData"]

    parts = []
    if dice.chance(55):
        cfg["database"] = database(draw, dice, production)
        parts.append("database")
    if dice.chance(45):
        cfg["cache"] = cache(draw, dice)
        parts.append("cache")
    if dice.chance(35):
        cfg["broker"] = broker(draw, dice)
        parts.append("broker")
    if dice.chance(40):
        cfg["storage"] = storage(draw, dice, prefix)
        parts.append("storage")

    # secrets: generated ones in config, provided ones as (encrypted) secret config
    generated = draw(st.lists(st.sampled_from(["SESSION_SECRET", "JWT_SIGNING_KEY", "CSRF_KEY", "DATABASE_KEY"]),
                              max_size=3, unique=True))
    if dice.risky():
        generated.append(dice.pick(["DATABASE", "CACHE", "BROKER", "S" * 480, *generated[:1]]))
    provided: dict[str, str] = {}
    secret_mode = draw(st.sampled_from(["none", "few", "few", "long-names", "many"]))
    if secret_mode == "few":
        provided = {n: "s3cr3t" for n in draw(st.lists(st.sampled_from(["API_KEY", "STRIPE_SECRET", "SENTRY_DSN"]),
                                                       max_size=3, unique=True))}
    elif secret_mode == "long-names":
        length = draw(st.sampled_from([100, 255, 400, 460])) if not dice.risky() else draw(st.sampled_from([470, 600]))
        provided = {f"K{i}_" + "S" * (length - 3 - len(str(i))): "v" for i in range(draw(st.integers(1, 30)))}
    elif secret_mode == "many":
        provided = {f"API_KEY_{i:03d}": "v" for i in range(dice.pick([20, 60], [130]))}
    if dice.risky() and generated:
        provided[generated[0]] = "both"  # generated and provided, refused
    if generated:
        cfg["generatedSecrets"] = generated
    if dice.chance(10):
        cfg["rotation"] = dice.pick([{p: 1} for p in parts if p != "storage"] + [{g: "2"} for g in generated] or
                                    [{}], [{"nothing": 1}, {"storage": 1}])
    pool = list(dict.fromkeys([*generated, *provided]))

    count = service_count(draw, largest)
    detailed = min(count, 6)
    names = service_names(draw, dice, count, detailed, prefix)
    ports = service_ports(draw, dice, count)
    workers = {i for i in range(detailed) if (i > 0 or dice.risky()) and dice.chance(12)}
    services = [service(draw, dice, names[i], None if i in workers else ports[i], parts, pool, names[:i], names[i + 1:])
                for i in range(detailed)]
    if count > detailed:
        template = service(draw, dice, names[detailed], ports[detailed], parts, pool, [], [])
        services += [{**template, "name": names[i], "port": ports[i]} for i in range(detailed, count)]
    cfg["services"] = services
    listening = [n for i, n in enumerate(names) if i not in workers] or names
    cfg["proxy"] = proxy(draw, dice, environment, routes(draw, dice, listening if not dice.risky() else names))
    if dice.chance(10):
        cfg["budget"] = {"monthlyUsd": dice.pick([50, 1500.5, "300"], [0, -5]), "warnAt": dice.pick([0.5, 0.8, 1], [1.5])}
    if dice.chance(30):
        cfg["monitoring"] = {"logRetentionDays": dice.pick([1, 14, 30, 3653], [2, 0]),
                             "alarmEmail": "oncall@example.com", "cpuAlarmPercent": draw(st.integers(1, 100))}
    note(f"risk {risk}%, {count} services, {len(cfg['proxy']['routes'])} routes")
    return Case(stack, cfg, provided or None, risk)


# ----------------------------------------------------------------------------------------------------- known findings
# Configs this property found: the loader accepted them although their graphs broke an AWS limit. Each is an explicit
# example of the property: FIXED ones hold (refused with a key path, or a valid graph) and must keep holding; OPEN ones
# fail until the loader refuses them with a key path or the program builds a graph within the limits.


def minimal(**overrides: Any) -> dict[str, Any]:
    """A small staging config that deploys, with `overrides` applied to its keys."""
    cfg: dict[str, Any] = {
        "backend": "aws", "environment": "staging", "namePrefix": "demo",
        "services": [{"name": "web", "image": "nginx:1.27-alpine", "port": 8000, "healthCheck": {"path": "/health"}}],
        "proxy": {"allowHttp": True, "routes": [{"path": "/", "service": "web"}]},
    }
    cfg.update(overrides)
    return cfg


def with_service(**fields: Any) -> dict[str, Any]:
    cfg = minimal()
    cfg["services"][0].update(fields)
    return cfg


FIXED = {
    # Two RandomPasswords `twinstack-secrets-session-secret`: Pulumi refuses the duplicate URN (refused since 9e31662).
    "duplicate-generated-secret": Case("staging", minimal(generatedSecrets=["SESSION_SECRET", "SESSION_SECRET"])),
    # Routes `/a/b` and `/a-b` both slug to `a-b`; the second becomes `a-b-2` (its rank), the slug of `/a-b-2`:
    # two ListenerRules `twinstack-proxy-route-a-b-2` (distinct slugs since 9e31662).
    "route-slug-collision": Case("staging", minimal(proxy={"allowHttp": True, "routes": [
        {"path": "/a-b-2", "service": "web"}, {"path": "/a-b", "service": "web"}, {"path": "/a/b", "service": "web"}]})),
    # ECS would run `CMD-SHELL` as the program: the model took ["CMD", <anything>] (refused since 9e31662).
    "health-check-cmd-then-cmd-shell": Case("staging", with_service(
        healthCheck={"command": ["CMD", "CMD-SHELL", "curl -f http://localhost:8000/health"]})),
    # A 60 KB JSON value: the loader's size estimate counts its characters, but the task definition is JSON, where
    # every `"` of the value becomes `\"` (and every non-ASCII character `\uXXXX`): 69 KiB, ECS allows 64 (the estimate
    # counts values as JSON since).
    "task-definition-escaped-env": Case("staging", with_service(env={"FEATURE_FLAGS": json.dumps(
        {f"flag_{i:04d}": {"on": True} for i in range(2500)}, separators=(",", ":"))})),
}
OPEN: dict[str, Case] = {}


# ------------------------------------------------------------------------------------------------------------- tests


def _with_findings(test):
    for case in reversed([*FIXED.values(), *OPEN.values()]):
        test = example(case=case)(test)
    return test


@ACCEPTANCE
@given(case=aws_cases(largest=120 if FUZZ else 40))
@_with_findings
def test_accepted_configs_deploy_on_aws(case: Case) -> None:
    problems = check_acceptance(case)
    count = len(case.config["services"])
    event("refused by the loader" if problems is not None else "accepted, graph within AWS limits")
    event(f"services: {'1-4' if count <= 4 else '5-25' if count <= 25 else '26+'}")
    if problems:
        event(f"first problem at {problems[0]['key']}")


# Configs that must be refused, each with the key path its problem names (and a fragment of the message).
REFUSED = {
    "prefix-internal": (minimal(namePrefix="internal"), "namePrefix", "internal-"),
    "prefix-internal-x": (minimal(namePrefix="internal-x"), "namePrefix", "internal-"),
    "prefix-sthree-with-storage": (minimal(namePrefix="sthree", storage={}), "namePrefix", "sthree-"),
    "prefix-double-hyphen-database": (minimal(namePrefix="a--b", database={}), "namePrefix", "two hyphens"),
    "service-name-23": (with_service(name="w" * 23), "services[0].name", "IAM role name"),
    "service-name-target-group": (minimal(namePrefix="p" * 20, services=[
        {"name": "w" * 12, "image": "x", "port": 80, "healthCheck": {"path": "/"}}],
        proxy={"allowHttp": True, "routes": [{"path": "/", "service": "w" * 12}]}), "services[0].name", "target group"),
    "service-db-alarms": (with_service(name="db") | {"database": {}}, "services[0].name", "alarm"),
    "service-redis-001-alarms": (with_service(name="redis-001") | {"cache": {}}, "services[0].name", "alarm"),
    "service-migrate-with-migration": (with_service(name="migrate", migration={"command": ["x"]}),
                                       "services[0].name", "container"),
    "cache-6.1": (minimal(cache={"version": "6.1"}), "cache.version", "6.1"),
    "cache-7.2": (minimal(cache={"version": "7.2"}), "cache.version", "7.2"),
    "broker-guest": (minimal(broker={"username": "guest"}), "broker.username", "guest"),
    "broker-3.12": (minimal(broker={"version": "3.12"}), "broker.version", "3.12"),
    "broker-4.2-on-t3": (minimal(broker={"version": "4.2", "instanceType": "mq.t3.micro"}), "broker.instanceType",
                         "mq.m7g"),
    "broker-cluster-on-t3": (minimal(broker={"instanceType": "mq.t3.micro", "deploymentMode": "CLUSTER_MULTI_AZ"}),
                             "broker.instanceType", "SINGLE_INSTANCE"),
    "fargate-256-1536": (with_service(cpu=256, memory=1536), "services[0].memory", "1536"),
    "fargate-cpu-300": (with_service(cpu=300, memory=512), "services[0].cpu", "300"),
    "database-user": (minimal(database={"username": "user"}), "database.username", "reserved"),
    "database-select": (minimal(database={"username": "select"}), "database.username", "reserved"),
    "database-17-chars": (minimal(database={"username": "u" * 17}), "database.username", "16"),
    "generated-DATABASE": (minimal(generatedSecrets=["DATABASE"]), "generatedSecrets.DATABASE", "rotation key"),
    "bucket-sthree": (minimal(storage={"bucketName": "sthree-x"}), "storage.bucketName", "sthree-"),
    "bucket-amzn-s3-demo": (minimal(storage={"bucketName": "amzn-s3-demo-x"}), "storage.bucketName", "amzn-s3-demo-"),
    "bucket-ol-s3": (minimal(storage={"bucketName": "x--ol-s3"}), "storage.bucketName", "--ol-s3"),
    "bucket-table-s3": (minimal(storage={"bucketName": "x--table-s3"}), "storage.bucketName", "--table-s3"),
    "route-path-127": (minimal(proxy={"allowHttp": True, "routes": [{"path": "/" + "p" * 126, "service": "web"}]}),
                       "proxy.routes[0].path", "128"),
    "health-path-1025": (with_service(healthCheck={"path": "/" + "h" * 1024}), "services[0].healthCheck.path", "1024"),
    "health-cmd-alone": (with_service(healthCheck={"command": ["CMD"]}), "services[0].healthCheck", "CMD"),
    "health-cmd-shell-two-lines": (with_service(healthCheck={"command": ["CMD-SHELL", "a", "b"]}),
                                   "services[0].healthCheck", "CMD-SHELL"),
    "production-without-tls": (minimal(environment="production", proxy={"routes": [{"path": "/", "service": "web"}]}),
                               "proxy.tls", "required"),
    "production-allow-http": (minimal(environment="production"), "proxy.allowHttp", "production"),
    "secret-name-too-long": (minimal(generatedSecrets=["S" * 480]), "generatedSecrets." + "S" * 480, "secret name"),
    # found by this file before the loader estimated sizes: env copied into the migration container (72 KiB), and an
    # execution role listing 25 long-named secrets (12 KB of policy, IAM allows 10,240)
    "task-definition-over-64-kib": (with_service(env={f"PEM_{i}": "B" * 4000 for i in range(9)},
                                                 migration={"command": ["python", "manage.py", "migrate"]}),
                                    "services[0].env", "64 KiB"),
    "execution-policy-over-10240": (with_service(secrets=[f"K{i}_" + "S" * 400 for i in range(25)]) | {
        "generatedSecrets": [f"K{i}_" + "S" * 400 for i in range(25)]}, "services[0].secrets", "10240"),
    "command-over-64-kib": (with_service(command=["sh", "-c", "s" * 66000]), "services[0].env", "64 KiB"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_key_path(name: str) -> None:
    cfg, key, fragment = REFUSED[name]
    problems = check_acceptance(Case("staging", cfg))
    assert problems is not None, f"{name}: the loader accepted it"
    paths = {m["key"] + m["rest"]: m["message"] for m in problems}
    assert key in paths, f"{name}: no problem at {key}: {paths}"
    assert fragment in paths[key], f"{name}: {key}: {paths[key]!r} does not mention {fragment!r}"
