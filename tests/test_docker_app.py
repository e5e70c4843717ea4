"""The demo app (app/): its health contract, its image, and that it checks what the dev stack hands it."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.harness import ROOT, run_stack

APP = ROOT / "app"


def load_app():
    spec = importlib.util.spec_from_file_location("demo_app", APP / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    def __init__(self, **env: str):
        self.port = free_port()
        clean = {k: v for k, v in os.environ.items()
                 if k not in ("DATABASE_URL", "REDIS_URL", "STORAGE_PATH", "AMQP_URL", "SERVICE_NAME")}
        self.proc = subprocess.Popen([sys.executable, str(APP / "app.py")], env={**clean, "PORT": str(self.port), **env},
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.proc.kill()
        raise AssertionError(self.proc.communicate()[1])

    def get(self, path: str) -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.headers["Content-Type"], r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers["Content-Type"], e.read().decode()

    def json(self, path: str) -> tuple[int, dict]:
        status, content_type, body = self.get(path)
        assert content_type == "application/json"
        return status, json.loads(body)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def app_with():
    started: list[App] = []

    def start(**env: str) -> App:
        started.append(App(**env))
        return started[-1]

    yield start
    for a in started:
        a.stop()


@pytest.fixture
def listener():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_without_parts_health_is_ok_and_checks_nothing(app_with):
    status, body = app_with(SERVICE_NAME="api").json("/health")
    assert status == 200 and body == {"service": "api", "status": "ok"}


def test_health_answers_on_any_path_ending_in_health(app_with, tmp_path):
    app = app_with(STORAGE_PATH=str(tmp_path))
    for path in ("/health", "/api/health", "/v1/internal/health?verbose=1"):
        status, body = app.json(path)
        assert (status, body["storage"]) == (200, "ok"), path
    assert list(tmp_path.iterdir()) == []  # the probe file is cleaned up


def test_each_configured_part_that_fails_makes_it_503_and_is_named(app_with, tmp_path, listener):
    closed = free_port()
    app = app_with(STORAGE_PATH=str(tmp_path / "missing"), AMQP_URL=f"amqp://u:p@127.0.0.1:{closed}",
                   DATABASE_URL=f"postgresql://u:p@127.0.0.1:{closed}/db", REDIS_URL=f"redis://:p@127.0.0.1:{closed}/0")
    status, body = app.json("/health")
    assert status == 503 and body["status"] == "failed"
    assert body["failed"] == ["broker", "cache", "database", "storage"]
    assert all(body[part].startswith("failed: ") for part in body["failed"])


def test_a_reachable_broker_passes_its_tcp_check(app_with, listener):
    status, body = app_with(AMQP_URL=f"amqp://u:p@127.0.0.1:{listener}").json("/health")
    assert (status, body["broker"]) == (200, "ok")


def test_every_other_get_is_a_small_json_naming_the_service(app_with):
    app = app_with(SERVICE_NAME="ai-service")
    for path in ("/", "/anything/at/all", "/api/users?id=3"):
        status, body = app.json(path)
        assert status == 200 and body["service"] == "ai-service" and body["path"] == path.split("?")[0]


def test_metrics_are_prometheus_text(app_with):
    app = app_with(SERVICE_NAME="demo")
    app.get("/")
    app.get("/health")
    status, content_type, text = app.get("/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    assert 'app_requests_total{service="demo",kind="page",status="200"} 1' in text
    assert 'app_requests_total{service="demo",kind="health",status="200"} 1' in text
    assert re.search(r"^process_start_time_seconds \d+\.\d+$", text, re.M)
    assert "# TYPE app_requests_total counter" in text


def test_migrate_without_a_database_is_a_no_op():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([sys.executable, str(APP / "app.py"), "migrate"], env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and "nothing to migrate" in result.stdout


def test_the_app_checks_exactly_what_the_dev_stack_hands_it():
    graph = run_stack("dev")
    demo = next(r for r in graph.of_type("docker:index/container:Container") if r.get("name") == "dev-demo")
    env = dict(item.split("=", 1) for item in demo.get("envs"))
    checked = {variable for _, variable, _ in load_app().CHECKS}
    assert {v for v in checked if v in env} == {"DATABASE_URL", "REDIS_URL", "STORAGE_PATH"}
    assert env["PORT"] == "8000" and env["SERVICE_NAME"] == "demo"
    assert demo.get("healthcheck")["tests"][1].count("/health") >= 1


def test_the_image_runs_as_10001_with_a_writable_workspace_and_no_bytecode_writes():
    dockerfile = (APP / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12-slim$", dockerfile, re.M)
    assert re.search(r"^USER 10001$", dockerfile, re.M)
    assert "mkdir -p /workspace" in dockerfile and "chown 10001:10001 /workspace" in dockerfile
    assert "PYTHONDONTWRITEBYTECODE=1" in dockerfile
    assert re.search(r'^CMD \["python", "app.py"\]$', dockerfile, re.M)
    # the dev stack's user and migration command match the image
    dev = (ROOT / "Pulumi.dev.yaml").read_text()
    assert 'user: "10001"' in dev and "command: [python, app.py, migrate]" in dev


def test_requirements_are_pinned():
    lines = [ln for ln in (APP / "requirements.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.]*", ln) for ln in lines)
    assert {ln.split("==")[0].split("[")[0] for ln in lines} == {"psycopg", "redis"}

