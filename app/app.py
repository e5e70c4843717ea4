"""twinstack's demo service: proves the wiring a platform hands a service, and stands in for other stacks' services.

    python app.py            serve on $PORT (default 8000)
    python app.py migrate    create the app's table (the stack's one-off migration)
    python app.py work       a worker: no port; every 5 s records a heartbeat in Postgres (when given DATABASE_URL)
    python app.py alive      the worker's health check: exit 0 while its last good heartbeat is under 30 s old

GET /health, or any path ending in /health (e.g. /api/health): 200 when every part the service was given answers,
503 naming what failed, as {"status": ..., "database": "ok", "cache": "failed: ...", "failed": ["cache"]}. Only configured parts are checked: Postgres (`SELECT 1`) when DATABASE_URL is set, Redis
(PING) when REDIS_URL is, the workspace (write and read a file) when STORAGE_PATH is, RabbitMQ (TCP connect) when
AMQP_URL is. GET /metrics: Prometheus text. Any other GET: 200 with a small JSON naming SERVICE_NAME.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SERVICE = os.environ.get("SERVICE_NAME", "demo")
STARTED = time.time()
TIMEOUT = 2  # seconds per dependency check: a health check must answer well within docker's timeout

_lock = threading.Lock()
_requests: dict[tuple[str, int], int] = {}
_checks: dict[tuple[str, str], int] = {}


def check_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, connect_timeout=TIMEOUT) as conn:
        conn.execute("SELECT 1").fetchone()


def check_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    try:
        if not client.ping():
            raise RuntimeError("PING did not answer PONG")
    finally:
        client.close()


def check_storage(path: str) -> None:
    probe = os.path.join(path, f".health-{socket.gethostname()}-{uuid.uuid4().hex[:8]}")
    token = uuid.uuid4().hex
    try:
        with open(probe, "w") as f:
            f.write(token)
        with open(probe) as f:
            if f.read() != token:
                raise RuntimeError("read back something else than was written")
    finally:
        if os.path.exists(probe):
            os.remove(probe)


def check_amqp(url: str) -> None:
    parts = urlsplit(url)
    default = 5671 if parts.scheme == "amqps" else 5672
    with socket.create_connection((parts.hostname or "localhost", parts.port or default), timeout=TIMEOUT):
        pass


# (the part's name in twinstack config, the env var that hands it over, the check)
CHECKS = (
    ("database", "DATABASE_URL", check_postgres),
    ("cache", "REDIS_URL", check_redis),
    ("storage", "STORAGE_PATH", check_storage),
    ("broker", "AMQP_URL", check_amqp),
)


def health() -> tuple[int, dict]:
    results: dict[str, str] = {}
    for name, variable, check in CHECKS:
        target = os.environ.get(variable)
        if not target:
            continue
        try:
            check(target)
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure is a health answer, not a crash
            results[name] = f"failed: {type(error).__name__}: {str(error).strip()[:200]}"
        with _lock:
            key = (name, "ok" if results[name] == "ok" else "failed")
            _checks[key] = _checks.get(key, 0) + 1
    failed = sorted(name for name, result in results.items() if result != "ok")
    body: dict = {"service": SERVICE, "status": "failed" if failed else "ok", **results}
    if failed:
        body["failed"] = failed
    return (503 if failed else 200), body


def metrics() -> str:
    lines = [
        "# HELP app_requests_total HTTP requests served, by path kind and status.",
        "# TYPE app_requests_total counter",
    ]
    with _lock:
        requests = dict(_requests)
        checks = dict(_checks)
    for (kind, status), count in sorted(requests.items()):
        lines.append(f'app_requests_total{{service="{SERVICE}",kind="{kind}",status="{status}"}} {count}')
    lines += ["# HELP app_health_checks_total Dependency checks run by /health, by part and result.",
              "# TYPE app_health_checks_total counter"]
    for (part, result), count in sorted(checks.items()):
        lines.append(f'app_health_checks_total{{service="{SERVICE}",part="{part}",result="{result}"}} {count}')
    lines += ["# HELP process_start_time_seconds Start time of the process since the epoch.",
              "# TYPE process_start_time_seconds gauge",
              f"process_start_time_seconds {STARTED:.3f}", ""]
    return "\n".join(lines)


class Handler(BaseHTTPRequestHandler):
    server_version = "twinstack-demo"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if path == "/health" or path.endswith("/health"):
            status, body = health()
            self._send(status, "health", json.dumps(body).encode(), "application/json")
        elif path == "/metrics":
            self._send(200, "metrics", metrics().encode(), "text/plain; version=0.0.4")
        else:
            body = {"service": SERVICE, "path": path, "message": f"{SERVICE} is running",
                    "uptime_seconds": round(time.time() - STARTED, 1)}
            self._send(200, "page", json.dumps(body).encode(), "application/json")

    def _send(self, status: int, kind: str, body: bytes, content_type: str) -> None:
        # counted before the answer leaves, so a client's next /metrics always includes it
        with _lock:
            _requests[(kind, status)] = _requests.get((kind, status), 0) + 1
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args) -> None:
        # health checks every few seconds would drown everything else; LOG_LEVEL=debug shows them too
        if "/health" in self.path and os.environ.get("LOG_LEVEL", "info") != "debug":
            return
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")


def migrate() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("migrate: DATABASE_URL is not set, nothing to migrate")
        return 0
    import psycopg

    deadline = time.time() + 60
    while True:
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                conn.execute("""
                    CREATE TABLE IF NOT EXISTS app_events (
                        id bigserial PRIMARY KEY,
                        service text NOT NULL,
                        kind text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    )""")
                conn.execute("INSERT INTO app_events (service, kind) VALUES (%s, 'migrated')", (SERVICE,))
            print("migrate: table app_events is ready")
            return 0
        except psycopg.OperationalError as error:
            if time.time() > deadline:
                print(f"migrate: database unreachable: {error}", file=sys.stderr)
                return 1
            time.sleep(2)


HEARTBEAT = "/tmp/worker-heartbeat"


def work() -> None:
    """A worker's loop. The heartbeat file is touched only after a good tick, so `alive` fails while the database it
    was given is down, as the server's /health does."""
    url = os.environ.get("DATABASE_URL")
    print(f"{SERVICE} working (no port)", flush=True)
    while True:
        try:
            if url:
                import psycopg

                with psycopg.connect(url, connect_timeout=TIMEOUT) as conn:
                    conn.execute("INSERT INTO app_events (service, kind) VALUES (%s, 'heartbeat')", (SERVICE,))
            with open(HEARTBEAT, "w") as beat:
                beat.write(str(time.time()))
        except Exception as error:  # a worker keeps going; its health check reports the stale heartbeat
            print(f"{SERVICE}: tick failed: {error}", file=sys.stderr, flush=True)
        time.sleep(5)


def alive() -> int:
    try:
        return 0 if time.time() - os.path.getmtime(HEARTBEAT) < 30 else 1
    except OSError:
        return 1


def serve() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    print(f"{SERVICE} listening on :{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1:] == ["migrate"]:
        sys.exit(migrate())
    if sys.argv[1:] == ["alive"]:
        sys.exit(alive())
    if sys.argv[1:] == ["work"]:
        work()
    serve()
