"""The dev stack (Pulumi.dev.yaml) on the docker backend: what each container gets and what it waits for."""

from __future__ import annotations

import pytest

from components.docker.container import job_failure
from tests.harness import Graph, Resource, fake_outputs, run_stack

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
PASSWORD = "random:index/randomPassword:RandomPassword"


@pytest.fixture(scope="module")
def dev() -> Graph:
    return run_stack("dev")


def container(graph: Graph, docker_name: str) -> Resource:
    hits = [r for r in graph.of_type(CONTAINER) if r.get("name") == docker_name]
    assert len(hits) == 1, [r.get("name") for r in graph.of_type(CONTAINER)]
    return hits[0]


def env(r: Resource) -> dict[str, str]:
    return dict(item.split("=", 1) for item in r.get("envs") or [])


def network_names(r: Resource) -> dict[str, list[str]]:
    return {n["name"]: n.get("aliases", []) for n in r.get("networksAdvanced") or []}


def long_running(graph: Graph) -> list[Resource]:
    return [r for r in graph.of_type(CONTAINER) if r.get("mustRun") is not False]


def test_docker_objects_have_deterministic_prefixed_names(dev):
    names = {r.get("name") for r in dev.of_type(CONTAINER) + dev.of_type(NETWORK) + dev.of_type(VOLUME)}
    assert {"dev-postgres", "dev-postgres-password", "dev-redis", "dev-proxy", "dev-demo", "dev-demo-migrate",
            "dev-prometheus",
            "dev-public", "dev-internal", "dev-pgdata", "dev-redisdata", "dev-workspace", "dev-prometheus-data"} <= names
    assert all(n.startswith("dev-") for n in names)


def test_the_data_network_is_internal_and_the_public_one_is_not(dev):
    nets = {r.get("name"): r for r in dev.of_type(NETWORK)}
    assert nets["dev-internal"].get("internal") is True
    assert not nets["dev-public"].get("internal")


def test_data_containers_sit_on_the_internal_network_only_with_their_aliases(dev):
    assert network_names(container(dev, "dev-postgres")) == {"dev-internal": ["postgres"]}
    assert network_names(container(dev, "dev-redis")) == {"dev-internal": ["redis"]}


def test_the_app_joins_both_networks_under_its_service_name_and_the_proxy_only_public(dev):
    assert network_names(container(dev, "dev-demo")) == {"dev-public": ["demo"], "dev-internal": ["demo"]}
    assert network_names(container(dev, "dev-proxy")) == {"dev-public": ["proxy"]}


def generated(graph: Graph, name_contains: str) -> str:
    """The value the mocks give a RandomPassword (what its `result` resolves to in this graph)."""
    r = graph.one(PASSWORD, name_contains)
    return fake_outputs(r.type, r.name, r.inputs)["result"]


def test_database_url_names_the_postgres_alias_port_and_generated_password(dev):
    app = container(dev, "dev-demo")
    password = generated(dev, "secrets-database")
    assert password != generated(dev, "secrets-cache")
    url = env(app)["DATABASE_URL"]
    assert url == f"postgresql://demo:{password}@postgres:5432/demo"
    assert env(container(dev, "dev-postgres"))["POSTGRES_PASSWORD"] == password
    assert env(app)["PGPASSWORD"] == password
    assert {k: env(app)[k] for k in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER")} == {
        "PGHOST": "postgres", "PGPORT": "5432", "PGDATABASE": "demo", "PGUSER": "demo"}
    assert app.is_secret("envs") and container(dev, "dev-postgres").is_secret("envs")
    assert dev.output_is_secret("databaseUrl") and dev.output("databaseUrl") == url


def test_redis_url_carries_the_password_redis_requires(dev):
    redis = container(dev, "dev-redis")
    command = redis.get("command")
    password = command[command.index("--requirepass") + 1]
    assert password == generated(dev, "secrets-cache")
    assert env(container(dev, "dev-demo"))["REDIS_URL"] == f"redis://:{password}@redis:6379/0"
    assert redis.is_secret("command")
    # the health check authenticates through REDISCLI_AUTH, never with the password on its command line
    assert env(redis)["REDISCLI_AUTH"] == password
    assert password not in " ".join(redis.get("healthcheck")["tests"])
    assert command[command.index("--appendonly") + 1] == "yes"
    assert [v["containerPath"] for v in redis.get("volumes")] == ["/data"]


def test_the_app_gets_its_contract_env_secrets_and_workspace(dev):
    app = env(container(dev, "dev-demo"))
    assert app["PORT"] == "8000" and app["SERVICE_NAME"] == "demo" and app["LOG_LEVEL"] == "info"
    assert app["STORAGE_URL"] == "file:///workspace" and app["STORAGE_PATH"] == "/workspace"
    assert app["SESSION_SECRET"] == generated(dev, "session-secret")
    volumes = {v["containerPath"]: v["volumeName"] for v in container(dev, "dev-demo").get("volumes")}
    assert volumes == {"/workspace": "dev-workspace"}


def test_only_the_proxy_publishes_ports_and_only_on_loopback(dev):
    publishing = {r.get("name"): r.get("ports") for r in dev.of_type(CONTAINER) if r.get("ports")}
    assert publishing == {"dev-proxy": [{"internal": 80, "external": 8080, "ip": "127.0.0.1"}]}
    assert dev.output("url") == "http://127.0.0.1:8080"


def test_every_long_running_container_is_hardened(dev):
    running = long_running(dev)
    assert len(running) == 5
    for r in running:
        name = r.get("name")
        assert r.get("healthcheck", {}).get("tests"), name
        assert r.get("restart") == "unless-stopped", name
        assert r.get("memory", 0) > 0, name
        assert "no-new-privileges:true" in r.get("securityOpts"), name
        assert r.get("privileged") is False, name
        assert r.get("logOpts") == {"max-size": "10m", "max-file": "3"}, name
        # created only once healthy: dependents start after health, not after start
        assert r.get("wait") is True and r.get("waitTimeout") >= 60, name


def test_the_app_runs_as_configured_user_with_a_read_only_root_and_limits(dev):
    app = container(dev, "dev-demo")
    assert app.get("user") == "10001" and app.get("readOnly") is True
    assert "/tmp" in app.get("tmpfs")
    assert app.get("memory") == 256 and app.get("cpus") == "0.25"
    assert app.get("init") is True


def test_the_app_health_check_probes_its_port_and_path_with_any_client(dev):
    test = container(dev, "dev-demo").get("healthcheck")["tests"]
    assert test[0] == "CMD-SHELL"
    for tool in ("wget", "curl", "python3", "node"):
        assert f"command -v {tool}" in test[1]
    assert "http://127.0.0.1:8000/health" in test[1]
    hc = container(dev, "dev-demo").get("healthcheck")
    assert (hc["interval"], hc["timeout"], hc["startPeriod"]) == ("5s", "3s", "10s")


def test_postgres_checks_readiness_over_tcp_and_keeps_its_data_in_the_volume(dev):
    pg = container(dev, "dev-postgres")
    assert "pg_isready" in pg.get("healthcheck")["tests"][1] and "-h 127.0.0.1" in pg.get("healthcheck")["tests"][1]
    assert pg.get("volumes")[0] == {"volumeName": "dev-pgdata", "containerPath": "/var/lib/postgresql/data"}
    image = dev.one("docker:index/remoteImage:RemoteImage", "database")
    assert image.get("name") == "postgres:16-alpine" and image.get("keepLocally") is True
    assert dev.depends_on(pg, image)
    assert not pg.get("ports") and not pg.get("uploads")


def test_volumes_outlive_destroy_when_data_is_protected(dev):
    volumes = {v.get("name"): v for v in dev.of_type(VOLUME)}
    assert sorted(volumes) == ["dev-pgdata", "dev-pgsocket", "dev-prometheus-data", "dev-redisdata", "dev-workspace"]
    assert all(v.retain_on_delete for v in volumes.values())
    assert not any(v.protect for v in volumes.values())  # development: destroy works, the data stays


def test_the_app_waits_for_the_data_containers_and_its_migration(dev):
    app, migration = container(dev, "dev-demo"), container(dev, "dev-demo-migrate")
    for data in ("dev-postgres", "dev-redis"):
        assert dev.depends_on(app, container(dev, data))
        assert dev.depends_on(migration, container(dev, data))
    assert dev.depends_on(app, migration)
    assert not dev.depends_on(migration, app)
    # the proxy needs none of them: it resolves upstreams per request
    assert not dev.depends_on(container(dev, "dev-proxy"), app)


def test_the_database_password_is_synced_to_the_running_server_before_anyone_connects(dev):
    """POSTGRES_PASSWORD only initialises an empty volume; after a rotation this one-off carries the new password."""
    pg, sync = container(dev, "dev-postgres"), container(dev, "dev-postgres-password")
    # through the server's unix socket, shared in a volume, on the internal network only
    socket = {"volumeName": "dev-pgsocket", "containerPath": "/var/run/postgresql"}
    assert socket in pg.get("volumes") and sync.get("volumes") == [socket]
    assert network_names(sync) == {"dev-internal": []} and not sync.get("networkMode")
    assert env(sync)["POSTGRES_PASSWORD"] == generated(dev, "secrets-database") and sync.is_secret("envs")
    script = " ".join(sync.get("command"))
    assert "ALTER ROLE" in script and "-h /var/run/postgresql" in script
    assert generated(dev, "secrets-database") not in script
    assert (sync.get("attach"), sync.get("mustRun"), sync.get("restart")) == (True, False, "no")
    assert dev.depends_on(sync, pg)
    for user in ("dev-demo", "dev-demo-migrate"):
        assert dev.depends_on(container(dev, user), sync)


def test_the_app_starts_only_after_the_migration_and_password_sync_succeeded(dev):
    """The provider records a one-off's exit code without failing on it: a label waits for and checks it."""
    app, migration, sync = (container(dev, n) for n in ("dev-demo", "dev-demo-migrate", "dev-postgres-password"))
    prepare = container(dev, "dev-demo-prepare-volumes")  # hands the workspace to uid 10001 first
    assert app.get("labels") == [{"label": "twinstack.after",
                                  "value": "dev-postgres-password,dev-demo-prepare-volumes,dev-demo-migrate"}]
    assert {migration.urn, sync.urn, prepare.urn} <= set(app.property_dependencies["labels"])
    assert migration.get("labels") == [{"label": "twinstack.after",
                                        "value": "dev-postgres-password,dev-demo-prepare-volumes"}]
    # the env does not wait for the jobs, so a preview still shows it
    assert not {migration.urn, sync.urn} & set(app.property_dependencies["envs"])


def test_a_failed_migration_stops_the_deployment_with_its_output(monkeypatch):
    from tests.harness import ProgramError
    from tools import mocks as recorder

    real = recorder.fake_outputs

    def migration_fails(typ, name, inputs):
        out = real(typ, name, inputs)
        if name.endswith("-migration"):
            out.update(exitCode=3, containerLogs="applying 0001\nERROR: relation \"users\" already exists\n")
        return out

    monkeypatch.setattr(recorder, "fake_outputs", migration_fails)
    with pytest.raises(ProgramError, match=r"(?s)the demo migration failed: container dev-demo-migrate exited with "
                                           r"code 3.*relation \"users\" already exists"):
        run_stack("dev")


def test_job_failure_reads_only_a_non_zero_exit_as_failure():
    assert job_failure("x", "c", 0, "ok") is None and job_failure("x", "c", None, None) is None
    lines = "\n".join(f"line {i}" for i in range(40))
    message = job_failure("the sync", "dev-sync", 1, lines)
    assert message.startswith("the sync failed: container dev-sync exited with code 1")
    assert "line 39" in message and "line 24" not in message  # the last 15 lines


def test_containers_with_fixed_names_are_removed_before_their_replacement(dev):
    assert all(r.delete_before_replace for r in dev.of_type(CONTAINER))


def test_the_migration_is_a_one_off_run_of_the_same_image_and_env(dev):
    app, migration = container(dev, "dev-demo"), container(dev, "dev-demo-migrate")
    assert migration.get("command") == ["python", "app.py", "migrate"]
    assert (migration.get("attach"), migration.get("mustRun"), migration.get("logs")) == (True, False, True)
    assert migration.get("restart") == "no"
    assert migration.get("image") == app.get("image")
    assert env(migration) == env(app)
    assert migration.get("user") == "10001" and migration.get("readOnly") is True


def test_the_app_image_is_built_from_app_with_a_content_tag(dev):
    image = dev.one("docker:index/image:Image")
    assert image.get("build")["context"] == "app" and image.get("build")["dockerfile"] == "app/Dockerfile"
    assert image.get("skipPush") is True
    name, tag = image.get("imageName").split(":")
    assert name == "dev-demo" and len(tag) == 16
    assert container(dev, "dev-demo").get("image") == image.get("imageName")


def test_prometheus_scrapes_the_demo_metrics_through_dns_discovery(dev):
    import yaml

    prom = container(dev, "dev-prometheus")
    upload = prom.get("uploads")[0]
    assert upload["file"] == "/etc/prometheus/prometheus.yml"
    jobs = {j["job_name"]: j for j in yaml.safe_load(upload["content"])["scrape_configs"]}
    assert jobs["demo"]["metrics_path"] == "/metrics"
    assert jobs["demo"]["dns_sd_configs"] == [{"names": ["demo"], "type": "A", "port": 8000,
                                               "refresh_interval": "30s"}]
    # it reaches the app on the public network and never sits next to the database
    assert network_names(prom) == {"dev-public": ["prometheus"]}
    assert dev.output("dashboardUrl") == "http://prometheus:9090"


def test_no_plaintext_secret_in_outputs(dev):
    assert dev.output_is_secret("databaseUrl") and dev.output_is_secret("cacheUrl")
    assert not dev.output_is_secret("url")
    assert dev.output("internalUrls") == {"demo": "http://demo:8000"}


def test_no_custom_docker_provider_without_a_docker_host(dev):
    assert not dev.of_type("pulumi:providers:docker")


@pytest.mark.benchmark
def test_benchmark_dev_program_evaluation(benchmark):
    graph = benchmark.pedantic(run_stack, args=("dev",), rounds=5, iterations=1)
    assert len(graph.of_type(CONTAINER)) == 8  # with the one-off that hands the workspace to uid 10001
