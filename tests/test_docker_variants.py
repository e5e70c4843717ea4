"""Docker backend options beyond the dev stack: replicas, dependsOn, broker, host ports, init SQL, shared volumes,
Grafana, a remote engine, and a production-like stack with TLS."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from tests.harness import ROOT, Graph, Resource, run_config, run_stack, stack_file_config
from tests.test_docker_wiring import CONTAINER, NETWORK, VOLUME, container, env, generated, network_names

INIT_SQL = "CREATE TABLE seeded (id int);\n"


def health(path: str = "/health") -> dict:
    return {"path": path}


@pytest.fixture(scope="module")
def sql_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sql") / "init.sql"
    path.write_text(INIT_SQL)
    return path


@pytest.fixture(scope="module")
def full(sql_file) -> Graph:
    return run_config({
        "backend": "docker",
        "environment": "development",
        "dockerHost": "ssh://deploy@staging-host",
        "protectData": False,
        "database": {"image": "pgvector/pgvector:pg16", "extensions": ["vector", "pg_trgm"],
                     "initSql": str(sql_file), "hostPort": 15432},
        "cache": {"persistence": "none"},
        "broker": {"managementUi": True},
        "storage": {"mountPath": "/data/workspace"},
        "generatedSecrets": ["JWT_SECRET"],
        "services": [
            {"name": "api", "image": "ghcr.io/acme/api:1.2", "port": 3000, "replicas": 3,
             "uses": ["database", "cache", "broker", "storage"], "dependsOn": ["auth"],
             "secrets": ["JWT_SECRET", "STRIPE_KEY"], "optionalSecrets": ["OPENAI_API_KEY"],
             "healthCheck": health("/api/health"), "metrics": {"port": 9100}, "cpu": 512, "memory": 1024},
            {"name": "auth", "image": "ghcr.io/acme/auth:1.0", "port": 3001, "uses": ["database"],
             "secrets": ["JWT_SECRET"], "healthCheck": {"command": ["CMD-SHELL", "test -f /tmp/ready"]}},
            {"name": "web", "build": {"context": "app", "args": {"RELEASE": "1"}}, "port": 8000,
             "networks": ["public"], "volumes": [{"name": "static", "path": "/app/static"}],
             "healthCheck": {"command": ["/bin/check", "--quick"]}},
        ],
        "proxy": {"httpPort": 8081, "timeoutSeconds": 120, "routes": [
            {"path": "/", "service": "web"},
            {"path": "/api", "service": "api", "stripPrefix": True},
            {"path": "/static", "volume": "static"},
        ]},
        "monitoring": {"prometheus": True, "grafana": True, "grafanaPort": 3003},
    }, secrets={"STRIPE_KEY": "sk_test_123"})


def containers_of(graph: Graph, prefix: str) -> list[Resource]:
    return sorted((r for r in graph.of_type(CONTAINER) if r.get("name").startswith(prefix)), key=lambda r: r.get("name"))


def test_a_docker_host_gets_its_own_provider_used_by_every_docker_resource(full):
    [provider] = full.of_type("pulumi:providers:docker")
    assert provider.get("host") == "ssh://deploy@staging-host"
    docker_resources = [r for r in full.custom() if r.type.startswith("docker:index/")]
    assert docker_resources and all(r.provider and r.provider.startswith(provider.urn) for r in docker_resources)


def test_replicas_are_numbered_and_share_the_service_alias_on_every_network(full):
    api = containers_of(full, "dev-api-")
    assert [r.get("name") for r in api] == ["dev-api-1", "dev-api-2", "dev-api-3"]
    for r in api:
        assert network_names(r) == {"dev-public": ["api"], "dev-internal": ["api"]}
        assert r.get("cpus") == "0.5" and r.get("memory") == 1024


def test_a_service_waits_for_the_services_it_depends_on_and_its_data(full):
    auth = container(full, "dev-auth")
    for api in containers_of(full, "dev-api-"):
        assert full.depends_on(api, auth)
        for data in ("dev-postgres", "dev-redis", "dev-rabbitmq"):
            assert full.depends_on(api, container(full, data))
    assert full.depends_on(auth, container(full, "dev-postgres"))
    assert not full.depends_on(auth, container(full, "dev-redis"))  # it does not use the cache
    assert not full.depends_on(auth, container(full, "dev-api-1"))


def test_services_get_exactly_the_parts_and_secrets_they_use(full):
    api, auth = env(container(full, "dev-api-1")), env(container(full, "dev-auth"))
    broker_pw = generated(full, "secrets-broker")
    assert api["AMQP_URL"] == f"amqp://app:{broker_pw}@rabbitmq:5672"
    assert api["STORAGE_URL"] == "file:///data/workspace" and api["STORAGE_PATH"] == "/data/workspace"
    assert api["JWT_SECRET"] == auth["JWT_SECRET"] == generated(full, "jwt-secret")
    assert api["STRIPE_KEY"] == "sk_test_123"
    assert "OPENAI_API_KEY" not in api  # optional and unset: skipped, not set empty
    assert "REDIS_URL" not in auth and "AMQP_URL" not in auth and "STRIPE_KEY" not in auth
    assert "DATABASE_URL" not in env(container(full, "dev-web"))


def test_rabbitmq_has_generated_credentials_a_fixed_node_name_and_a_loopback_ui(full):
    rabbit = container(full, "dev-rabbitmq")
    assert env(rabbit) == {"RABBITMQ_DEFAULT_USER": "app", "RABBITMQ_DEFAULT_PASS": generated(full, "secrets-broker")}
    assert rabbit.is_secret("envs")
    assert rabbit.get("hostname") == "rabbitmq"
    assert rabbit.get("ports") == [{"internal": 15672, "external": 15672, "ip": "127.0.0.1"}]
    assert full.one("docker:index/remoteImage:RemoteImage", "broker").get("name") == "rabbitmq:3.13-management-alpine"
    assert "rabbitmq-diagnostics" in rabbit.get("healthcheck")["tests"][1]


def test_the_broker_password_is_synced_into_the_retained_node(full):
    sync, rabbit = container(full, "dev-rabbitmq-password"), container(full, "dev-rabbitmq")
    assert network_names(sync) == {"dev-internal": []} and sync.get("user") == "rabbitmq"
    assert f"rabbitmqctl -n rabbit@{rabbit.get('hostname')} change_password" in " ".join(sync.get("command"))
    assert sync.get("volumes") == [{"volumeName": "dev-rabbitmq-data", "containerPath": "/var/lib/rabbitmq"}]
    assert env(sync)["RABBITMQ_DEFAULT_PASS"] == generated(full, "secrets-broker")
    assert full.depends_on(sync, rabbit)
    for api in containers_of(full, "dev-api-"):
        assert full.depends_on(api, sync)


def test_data_ports_published_for_the_host_use_a_network_nothing_else_joins(full):
    pg = container(full, "dev-postgres")
    assert pg.get("ports") == [{"internal": 5432, "external": 15432, "ip": "127.0.0.1"}]
    assert network_names(pg) == {"dev-internal": ["postgres"], "dev-postgres-host": []}
    host_net = next(r for r in full.of_type(NETWORK) if r.get("name") == "dev-postgres-host")
    assert not host_net.get("internal")
    joined = [r.get("name") for r in full.of_type(CONTAINER) if "dev-postgres-host" in network_names(r)]
    assert joined == ["dev-postgres"]


def test_postgres_runs_extensions_and_init_sql_once_from_the_initdb_directory(full, sql_file):
    uploads = {u["file"]: u for u in container(full, "dev-postgres").get("uploads")}
    assert uploads["/docker-entrypoint-initdb.d/00-extensions.sql"]["content"] == (
        'CREATE EXTENSION IF NOT EXISTS "vector";\nCREATE EXTENSION IF NOT EXISTS "pg_trgm";\n')
    init = uploads["/docker-entrypoint-initdb.d/10-init.sql"]
    assert init["source"] == str(sql_file)
    assert init["sourceHash"] == hashlib.sha256(INIT_SQL.encode()).hexdigest()
    assert full.one("docker:index/remoteImage:RemoteImage", "database").get("name") == "pgvector/pgvector:pg16"


def test_redis_without_persistence_writes_nothing(full):
    redis = container(full, "dev-redis")
    command = redis.get("command")
    assert command[command.index("--appendonly") + 1] == "no" and command[command.index("--save") + 1] == ""
    assert not redis.get("volumes")
    assert not [v for v in full.of_type(VOLUME) if "redis" in v.get("name")]


def test_shared_volumes_are_written_by_the_service_and_served_read_only_by_the_proxy(full):
    web, proxy = container(full, "dev-web"), container(full, "dev-proxy")
    assert web.get("volumes") == [{"volumeName": "dev-shared-static", "containerPath": "/app/static", "readOnly": False}]
    assert proxy.get("volumes") == [{"volumeName": "dev-shared-static", "containerPath": "/srv/static",
                                     "readOnly": True}]
    assert "alias /srv/static/;" in proxy.get("uploads")[0]["content"]


def test_volumes_are_deleted_with_the_stack_when_data_is_not_protected(full):
    assert full.of_type(VOLUME) and not any(v.retain_on_delete or v.protect for v in full.of_type(VOLUME))


def test_a_service_with_explicit_networks_joins_only_those(full):
    assert network_names(container(full, "dev-web")) == {"dev-public": ["web"]}


def test_given_health_commands_are_used_as_given(full):
    assert container(full, "dev-auth").get("healthcheck")["tests"] == ["CMD-SHELL", "test -f /tmp/ready"]
    assert container(full, "dev-web").get("healthcheck")["tests"] == ["CMD", "/bin/check", "--quick"]
    assert "http://127.0.0.1:3000/api/health" in container(full, "dev-api-1").get("healthcheck")["tests"][1]


def test_pulled_and_built_images(full):
    pulled = {r.get("name") for r in full.of_type("docker:index/remoteImage:RemoteImage")}
    assert {"ghcr.io/acme/api:1.2", "ghcr.io/acme/auth:1.0"} <= pulled
    built = full.one("docker:index/image:Image")
    assert built.get("build")["args"] == {"RELEASE": "1"} and built.get("imageName").startswith("dev-web:")


def test_services_with_the_same_build_share_one_image():
    [demo] = stack_file_config(ROOT / "Pulumi.dev.yaml")[0]["twinstack:services"]
    worker = {k: v for k, v in demo.items() if k not in ("migration", "metrics")}
    graph = run_stack("dev", set={"twinstack:services": [
        demo,
        {**worker, "name": "copy", "port": 8001},  # the same build: runs demo's image
        {**worker, "name": "arm", "port": 8002, "architecture": "arm64"},  # docker builds for the engine's CPU: shared
        {**worker, "name": "release", "port": 8003, "build": {"context": "app", "args": {"RELEASE": "2"}}},
    ]})
    images = {i.get("imageName").split(":")[0]: i.get("imageName") for i in graph.of_type("docker:index/image:Image")}
    assert sorted(images) == ["dev-demo", "dev-release"]
    running = {name: container(graph, f"dev-{name}").get("image") for name in ("demo", "copy", "arm", "release")}
    assert running == {"demo": images["dev-demo"], "copy": images["dev-demo"], "arm": images["dev-demo"],
                       "release": images["dev-release"]}


def test_grafana_gets_a_generated_admin_password_and_prometheus_provisioned(full):
    grafana = container(full, "dev-grafana")
    assert env(grafana)["GF_SECURITY_ADMIN_PASSWORD"] == generated(full, "grafana-admin")
    assert env(grafana)["GF_USERS_ALLOW_SIGN_UP"] == "false" and grafana.is_secret("envs")
    [upload] = grafana.get("uploads")
    assert upload["file"].startswith("/etc/grafana/provisioning/datasources/")
    assert yaml.safe_load(upload["content"])["datasources"][0]["url"] == "http://prometheus:9090"
    assert grafana.get("ports") == [{"internal": 3000, "external": 3003, "ip": "127.0.0.1"}]
    assert full.depends_on(grafana, container(full, "dev-prometheus"))
    assert full.output("dashboardUrl") == "http://127.0.0.1:3003"


def test_prometheus_scrapes_only_services_with_metrics_on_their_metrics_port(full):
    config = yaml.safe_load(container(full, "dev-prometheus").get("uploads")[0]["content"])
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "api"}
    assert jobs["api"]["dns_sd_configs"][0]["port"] == 9100 and jobs["api"]["metrics_path"] == "/metrics"


def test_every_long_running_container_is_hardened_here_too(full):
    running = [r for r in full.of_type(CONTAINER) if r.get("mustRun") is not False]
    assert len(running) == 11  # postgres, redis, rabbitmq, proxy, api x3, auth, web, prometheus, grafana
    for r in running:
        assert r.get("restart") == "unless-stopped" and r.get("memory") and r.get("privileged") is False
        assert "no-new-privileges:true" in r.get("securityOpts") and r.get("healthcheck")["tests"]


# ------------------------------------------------------------------------------------ production-like, with TLS


@pytest.fixture(scope="module")
def pems(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (d / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    return d


@pytest.fixture(scope="module")
def prod(pems) -> Graph:
    return run_config({
        "backend": "docker",
        "environment": "production",
        "database": {"version": "18"},
        "cache": {},
        "services": [{"name": "app", "image": "ghcr.io/acme/app:2", "port": 8000, "uses": ["database", "cache"],
                      "healthCheck": health()}],
        "proxy": {"bindAddress": "0.0.0.0", "httpPort": 80, "httpsPort": 443, "routes": [{"path": "/", "service": "app"}],
                  "tls": {"domain": "app.example.test", "certFile": str(pems / "cert.pem"),
                          "keyFile": str(pems / "key.pem")}},
    }, stack="production")


def test_production_protects_and_retains_every_volume(prod):
    volumes = prod.of_type(VOLUME)
    assert volumes and all(v.protect and v.retain_on_delete for v in volumes)


def test_tls_publishes_both_ports_and_uploads_the_pems_by_path(prod, pems):
    proxy = container(prod, "production-proxy")
    assert proxy.get("ports") == [{"internal": 80, "external": 80, "ip": "0.0.0.0"},
                                  {"internal": 443, "external": 443, "ip": "0.0.0.0"}]
    uploads = {u["file"]: u for u in proxy.get("uploads")}
    assert uploads["/etc/nginx/twinstack-key.pem"]["source"] == str(pems / "key.pem")
    assert "content" not in uploads["/etc/nginx/twinstack-key.pem"]  # the key stays out of Pulumi state
    assert uploads["/etc/nginx/twinstack-cert.pem"]["sourceHash"] == hashlib.sha256(
        (pems / "cert.pem").read_bytes()).hexdigest()
    assert prod.output("url") == "https://app.example.test"


def test_postgres_18_mounts_its_volume_where_the_image_expects_it(prod):
    pg = container(prod, "production-postgres")
    assert [v["containerPath"] for v in pg.get("volumes")] == ["/var/lib/postgresql", "/var/run/postgresql"]


def test_a_missing_pem_file_is_reported_with_its_key_path(pems):
    from tests.harness import ProgramError

    with pytest.raises(ProgramError, match=r"twinstack:proxy\.tls\.keyFile: no such file") as caught:
        run_config({
            "backend": "docker", "environment": "development",
            "services": [{"name": "app", "image": "nginx", "port": 80, "healthCheck": health()}],
            "proxy": {"routes": [{"path": "/", "service": "app"}],
                      "tls": {"certFile": str(pems / "cert.pem"), "keyFile": str(pems / "missing.pem")}},
        })
    assert caught.value.graph.resources == []  # a config problem: found before anything is declared


def test_app_secrets_keep_the_env_secret(full):
    for r in containers_of(full, "dev-api-"):
        assert r.is_secret("envs")


def minimal(services: list[dict], **parts) -> dict:
    return {"backend": "docker", "environment": "development", "services": services,
            "proxy": {"routes": [{"path": "/", "service": services[0]["name"]}]}, **parts}


def test_a_service_named_like_a_backend_container_is_refused_when_that_part_runs():
    from tests.harness import ProgramError

    redis = {"name": "redis", "image": "redis:7", "port": 6379, "healthCheck": {"command": ["redis-cli", "ping"]}}
    with pytest.raises(ProgramError, match=r"twinstack:services\[0\]\.name: 'redis' is the container name and network "
                                           r"alias the docker backend uses for twinstack:cache") as caught:
        run_config(minimal([redis], cache={}))
    assert caught.value.graph.resources == []
    # without twinstack:cache, running your own redis as a service is fine
    graph = run_config(minimal([redis]))
    assert network_names(container(graph, "dev-redis")) == {"dev-public": ["redis"]}


def test_grafana_admin_password_is_exported_as_a_secret():
    graph = run_config(minimal([{"name": "app", "image": "nginx", "port": 80, "healthCheck": health()}],
                               monitoring={"prometheus": True, "grafana": True}))
    assert graph.output_is_secret("dashboardPassword")
    grafana = container(graph, "dev-grafana")
    env = dict(e.split("=", 1) for e in grafana.get("envs"))
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == graph.output("dashboardPassword")
