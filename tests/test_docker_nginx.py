"""The generated proxy config, checked by a real nginx: `nginx -t` on what the program uploads (dev stack and every
docker example), and a running nginx routing real requests to stand-in upstreams.

Needs Debian's nginx (`make install` puts nginx-light there); without it these tests skip and say so.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from components.docker import nginx
from config.load import load
from tests.harness import ROOT, run_stack

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make install adds Debian's nginx-light)")
CONTAINER = "docker:index/container:Container"


def main_conf(tmp: Path, site: Path) -> Path:
    """An nginx.conf shaped like the official image's: the generated file is included at `http` level."""
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
user root;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site};
}}
""")
    return conf


def nginx_t(config: str, tmp: Path) -> subprocess.CompletedProcess:
    site = tmp / "default.conf"
    site.write_text(config)
    return subprocess.run([NGINX, "-t", "-q", "-e", "stderr", "-p", str(tmp), "-c", str(main_conf(tmp, site))],
                          capture_output=True, text=True, timeout=30)


def uploaded_config(graph) -> str:
    proxy = next(r for r in graph.of_type(CONTAINER) if r.get("name", "").endswith("-proxy"))
    [upload] = [u for u in proxy.get("uploads") if u["file"] == nginx.CONF_FILE]
    return upload["content"]


def docker_examples() -> list[Path]:
    return [p for p in sorted((ROOT / "examples").glob("*.yaml"))
            if (yaml.safe_load(p.read_text()) or {}).get("config", {}).get("twinstack:backend") == "docker"]


@pytest.mark.parametrize("source", ["Pulumi.dev.yaml", *[f"examples/{p.name}" for p in docker_examples()]])
def test_the_uploaded_config_passes_nginx_t(source, tmp_path):
    graph = run_stack("dev", file=ROOT / source)
    result = nginx_t(uploaded_config(graph), tmp_path)
    assert result.returncode == 0, result.stderr


def stack(**proxy) -> object:
    """A loaded StackConfig with four upstream services and a shared volume, plus the given proxy settings."""
    def svc(name: str, port: int, **extra) -> dict:
        return {"name": name, "image": f"{name}:1", "port": port, "healthCheck": {"path": "/health"}, **extra}

    raw = {
        "backend": "docker",
        "environment": "development",
        "services": [svc("web", 3000), svc("api", 8000, volumes=[{"name": "static", "path": "/app/static"}]),
                     svc("chat", 9000), svc("down", 7000)],
        "proxy": {"clientMaxBodySizeMb": 1, "timeoutSeconds": 30, "routes": [
            {"path": "/", "service": "web"},
            {"path": "/api", "service": "api", "stripPrefix": True},
            {"path": "/legacy", "service": "api", "websocket": False},
            {"path": "/ws", "service": "chat"},
            {"path": "/static", "volume": "static"},
            {"path": "/down", "service": "down"},
        ], **proxy},
    }
    return load("dev", raw).stack


def test_timeouts_and_body_limit_follow_the_proxy_settings():
    config = nginx.render(stack())
    assert "client_max_body_size 1m;" in config
    assert "proxy_read_timeout 30s;" in config and "proxy_send_timeout 30s;" in config
    assert "resolver 127.0.0.11" in config
    assert "proxy_pass $twinstack_upstream;" in config and "proxy_pass http://" not in config


# ---------------------------------------------------------------------------------------- a running nginx


class Echo(BaseHTTPRequestHandler):
    """An upstream that answers with its own name, the path it received and the headers nginx sent."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"service": self.server.service, "path": self.path,  # type: ignore[attr-defined]
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, *args) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int) -> None:
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {port}")


class Running:
    """nginx on free local ports, the docker-only parts swapped for local ones: upstreams named in `upstreams`
    (`http://web:3000`) point at the echo servers, shared volumes at a temp dir. Upstreams left out keep their docker
    name, which nothing here resolves."""

    def __init__(self, config: str, tmp: Path, upstreams: dict[str, int]):
        self.http, self.https, self.health = free_port(), free_port(), free_port()
        for upstream, port in upstreams.items():
            config = config.replace(f"set $twinstack_upstream {upstream};",
                                    f"set $twinstack_upstream http://127.0.0.1:{port};")
        config = config.replace(f"listen {nginx.HTTP_PORT} ", f"listen 127.0.0.1:{self.http} ")
        config = config.replace(f"listen {nginx.HTTPS_PORT} ssl", f"listen 127.0.0.1:{self.https} ssl")
        config = config.replace(f"listen 127.0.0.1:{nginx.HEALTH_PORT};", f"listen 127.0.0.1:{self.health};")
        config = config.replace(f"alias {nginx.VOLUME_ROOT}/", f"alias {tmp}/srv/")
        config = config.replace("resolver_timeout 5s;", "resolver_timeout 1s;")  # no docker DNS here: fail fast
        config = config.replace(nginx.CERT_FILE, str(tmp / "cert.pem")).replace(nginx.KEY_FILE, str(tmp / "key.pem"))
        self.config = config
        site = tmp / "default.conf"
        site.write_text(config)
        self.proc = subprocess.Popen([NGINX, "-e", "stderr", "-p", str(tmp), "-c", str(main_conf(tmp, site)),
                                      "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
        try:
            wait_for(self.http)
        except AssertionError:
            self.proc.kill()
            raise AssertionError(self.proc.communicate()[1]) from None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def request(port: int, path: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
            tls: bool = False) -> tuple[int, dict, bytes]:
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


@pytest.fixture(scope="module")
def upstreams():
    servers, ports = [], {}
    for name, port in (("web", 3000), ("api", 8000), ("chat", 9000)):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        server.service = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        ports[f"http://{name}:{port}"] = server.server_address[1]
    yield ports
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="module")
def proxy(upstreams, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    (tmp / "srv" / "static").mkdir(parents=True)
    (tmp / "srv" / "static" / "app.css").write_text("body { color: teal }\n")
    running = Running(nginx.render(stack()), tmp, upstreams)
    yield running
    running.stop()


def echoed(port: int, path: str, **kw) -> dict:
    status, _, body = request(port, path, **kw)
    assert status == 200, (path, status, body[:300])
    return json.loads(body)


@pytest.mark.parametrize(("path", "service", "upstream_path"), [
    ("/", "web", "/"),
    ("/dashboard/settings?tab=2", "web", "/dashboard/settings?tab=2"),
    ("/api", "api", "/"),
    ("/api/users/7?expand=true", "api", "/users/7?expand=true"),
    ("/apiary", "web", "/apiary"),  # a prefix is a path segment, not a string prefix
    ("/legacy/report", "api", "/legacy/report"),  # no stripPrefix: the path goes through whole
    ("/ws/room/1", "chat", "/ws/room/1"),
])
def test_each_path_reaches_its_upstream(proxy, path, service, upstream_path):
    got = echoed(proxy.http, path)
    assert (got["service"], got["path"]) == (service, upstream_path)


def test_forwarded_headers_reach_the_upstream(proxy):
    got = echoed(proxy.http, "/api/me", headers={"X-Forwarded-For": "203.0.113.9"})
    h = got["headers"]
    assert h["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert h["x-real-ip"] == "127.0.0.1" and h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == f"127.0.0.1:{proxy.http}"
    assert h["x-forwarded-prefix"] == "/api"  # the app can rebuild its external URLs after the strip
    assert "x-forwarded-prefix" not in echoed(proxy.http, "/legacy/x")["headers"]


def test_websocket_upgrades_pass_through_only_where_enabled(proxy):
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
    ws = echoed(proxy.http, "/ws/socket", headers=upgrade)["headers"]
    assert ws["upgrade"] == "websocket" and ws["connection"] == "upgrade"
    plain = echoed(proxy.http, "/ws/poll")["headers"]
    assert plain["connection"] == "close" and "upgrade" not in plain
    legacy = echoed(proxy.http, "/legacy/socket", headers=upgrade)["headers"]
    assert "upgrade" not in legacy and legacy.get("connection", "") != "upgrade"


def test_files_are_served_from_the_shared_volume(proxy):
    status, headers, body = request(proxy.http, "/static/app.css")
    assert status == 200 and body == b"body { color: teal }\n" and headers["content-type"].startswith("text/css")
    status, headers, _ = request(proxy.http, "/static")
    assert status == 301 and headers["location"] == "/static/"  # relative: the host port is not nginx's port
    assert request(proxy.http, "/static/missing.css")[0] == 404


def test_bodies_over_the_limit_are_refused(proxy):
    assert request(proxy.http, "/api/upload", method="POST", body=b"x" * (2 * 1024 * 1024))[0] == 413
    assert echoed(proxy.http, "/api/upload", method="POST", body=b"x" * 1024)["path"] == "/upload"


def test_the_health_endpoint_answers_on_its_own_listener(proxy):
    assert request(proxy.health, nginx.HEALTH_PATH)[:1] == (200,)
    assert request(proxy.health, "/api/users")[0] == 404  # nothing is routed there
    assert f"listen 127.0.0.1:{nginx.HEALTH_PORT};" in nginx.render(stack())


def test_an_upstream_that_does_not_resolve_is_a_502_not_a_proxy_that_cannot_start(proxy):
    # `down` keeps its docker name, which nothing resolves here: nginx started anyway and answers for the others
    assert "set $twinstack_upstream http://down:7000;" in nginx.render(stack())
    assert request(proxy.http, "/down/x")[0] == 502
    assert echoed(proxy.http, "/")["service"] == "web"


# ----------------------------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_proxy(upstreams, tmp_path_factory):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no certificate for the TLS checks")
    tmp = tmp_path_factory.mktemp("nginx-tls")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")], check=True, capture_output=True)
    config = nginx.render(stack(httpsPort=8443, tls={"certFile": str(tmp / "cert.pem"), "keyFile": str(tmp / "key.pem")}))
    assert nginx_t(config.replace(nginx.CERT_FILE, str(tmp / "cert.pem")).replace(nginx.KEY_FILE, str(tmp / "key.pem")),
                   tmp).returncode == 0
    running = Running(config, tmp, upstreams)
    yield running
    running.stop()


def test_with_tls_plain_http_only_redirects_to_https_on_its_host_port(tls_proxy):
    status, headers, _ = request(tls_proxy.http, "/api/users?x=1")
    assert status == 301 and headers["location"] == "https://127.0.0.1:8443/api/users?x=1"


def test_with_tls_https_routes_and_says_so_upstream(tls_proxy):
    got = echoed(tls_proxy.https, "/api/users", tls=True)
    assert got["service"] == "api" and got["path"] == "/users"
    assert got["headers"]["x-forwarded-proto"] == "https"
    status, headers, _ = request(tls_proxy.https, "/", tls=True)
    assert status == 200 and headers["strict-transport-security"].startswith("max-age=")


def test_tls_speaks_tls12_and_13_only(tls_proxy):
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = ssl._create_unverified_context()
        context.minimum_version = context.maximum_version = version
        with socket.create_connection(("127.0.0.1", tls_proxy.https), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as conn:
            assert conn.version() == version.name.replace("_", ".")
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in tls_proxy.config
