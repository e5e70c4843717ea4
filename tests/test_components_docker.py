"""Docker components built alone from their narrow arguments (no stack file, no Platform), checked against what Docker
does with the inputs they declare: a volume outlives its container only if kept, a published port needs a network that
is not `internal`, containers sharing an alias are what Docker's DNS balances over, an attached one-off blocks until it
exits."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker
import pytest

from components.contracts import Binding, SecretEnv
from components.docker.container import env_list
from components.docker.database import Database, DatabaseArgs
from components.docker.network import Network, NetworkArgs
from components.docker.service import Service, ServiceArgs
from components.docker.site import Site
from components.docker.storage import Storage, StorageArgs
from config import model
from tests.harness import Graph, Resource, reveal, run_components

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
PASSWORD = "correct-horse-battery"
SEGMENTS = [model.Segment.model_validate({"name": "front"}),
            model.Segment.model_validate({"name": "back", "internal": True})]


def site(production: bool = False, protect_data: bool = False) -> Site:
    return Site(prefix="t", production=production, protect_data=protect_data)


def network(at: Site) -> Network:
    return Network("net", NetworkArgs(site=at, segments=SEGMENTS))


def container(graph: Graph, docker_name: str) -> Resource:
    hits = [r for r in graph.of_type(CONTAINER) if r.get("name") == docker_name]
    assert len(hits) == 1, [r.get("name") for r in graph.of_type(CONTAINER)]
    return hits[0]


def volume(graph: Graph, docker_name: str) -> Resource:
    hits = [r for r in graph.of_type(VOLUME) if r.get("name") == docker_name]
    assert len(hits) == 1, [r.get("name") for r in graph.of_type(VOLUME)]
    return hits[0]


def env(r: Resource) -> dict[str, str]:
    return dict(item.split("=", 1) for item in r.get("envs") or [])


def labels(r: Resource) -> dict[str, str]:
    return {item["label"]: item["value"] for item in r.get("labels") or []}


def mounts(r: Resource) -> dict[str, tuple[str, bool]]:
    return {v["containerPath"]: (v["volumeName"], bool(v.get("readOnly"))) for v in r.get("volumes") or []}


def contains(value: Any, text: str) -> bool:
    return text in repr(reveal(value))


# ------------------------------------------------------------------------------------------------------ database


def database_graph(at: Site, **settings: Any) -> Graph:
    def build() -> None:
        net = network(at)
        Database("db", DatabaseArgs(settings=model.Database.model_validate(settings), password=PASSWORD, site=at,
                                    network=net, segment="back"))

    return run_components(build)


@pytest.mark.parametrize("production, protect_data", [(False, False), (False, True), (True, True)])
def test_database_volumes_outlive_a_destroy_exactly_where_the_site_keeps_data(production, protect_data):
    graph = database_graph(site(production, protect_data))
    for name in ("t-pgdata", "t-pgsocket"):
        vol = volume(graph, name)
        assert vol.retain_on_delete is protect_data  # `pulumi destroy` leaves the docker volume (and the data) behind
        assert vol.protect is production  # Pulumi refuses to delete it at all


def test_database_keeps_its_data_where_the_postgres_image_writes_it():
    graph = database_graph(site(), version="16")
    # the official image's PGDATA up to 17; a volume anywhere else would leave the data in the container's layer
    assert mounts(container(graph, "t-postgres"))["/var/lib/postgresql/data"] == ("t-pgdata", False)


def test_database_password_is_only_in_secret_env():
    graph = database_graph(site())
    server, sync = container(graph, "t-postgres"), container(graph, "t-postgres-password")
    for r in (server, sync):
        assert env(r)["POSTGRES_PASSWORD"] == PASSWORD
        assert r.is_secret("envs")
    # nowhere else: not in a command, a label or a health check, which `docker inspect` shows to anyone
    for r in graph.resources:
        assert not any(contains(v, PASSWORD) for k, v in r.inputs.items() if not (k == "envs" and r.is_secret(k))), r.name


def test_database_password_sync_runs_to_completion_after_the_server():
    graph = database_graph(site())
    server, sync = container(graph, "t-postgres"), container(graph, "t-postgres-password")
    assert graph.depends_on(sync, server)
    # attached and never restarted: the deployment waits for its exit instead of leaving it running
    assert sync.get("attach") is True and sync.get("mustRun") is False and sync.get("restart") == "no"
    assert server.get("restart") == "unless-stopped" and server.get("wait") is True


def test_database_host_port_is_published_on_loopback_through_a_network_of_its_own():
    graph = database_graph(site(), hostPort=15432)
    server = container(graph, "t-postgres")
    assert server.get("ports") == [{"internal": 5432, "external": 15432, "ip": "127.0.0.1"}]
    # Docker publishes no port of a container whose networks are all internal: the extra one must not be
    nets = {r.get("name"): r for r in graph.of_type(NETWORK)}
    joined = {n["name"] for n in server.get("networksAdvanced")}
    assert joined == {"t-back", "t-postgres-host"}
    assert nets["t-back"].get("internal") is True and not nets["t-postgres-host"].get("internal")


# ------------------------------------------------------------------------------------------------------- service

WEB = {"name": "web", "image": "example/web:1", "port": 8000, "healthCheck": {"path": "/health"}, "replicas": 2,
       "migration": {"command": ["./manage.py", "migrate"]}, "uses": ["database"], "secrets": ["API_KEY"]}


def service_graph(settings: dict[str, Any], **extra: Any) -> Graph:
    at = site()

    def build() -> None:
        net = network(at)
        db = docker.Container("postgres", name="t-postgres", image="postgres:16-alpine")
        binding = Binding(env={"PGHOST": "postgres"},
                          secrets={"DATABASE_URL": SecretEnv(pulumi.Output.secret("postgresql://app:pw@postgres/app"))},
                          depends_on=[db])
        Service("svc", ServiceArgs(
            settings=model.Service.model_validate(settings), site=at, network=net, segments=["front", "back"],
            bindings={"database": binding} if "database" in settings.get("uses", []) else {},
            secrets={"API_KEY": SecretEnv(pulumi.Output.secret("k-123"))}, after=[db],
            gates=[pulumi.Output.from_input("t-postgres-password")], **extra))

    return run_components(build)


def test_service_replicas_have_distinct_container_names_and_share_the_service_alias():
    graph = service_graph(WEB)
    replicas = [container(graph, "t-web-1"), container(graph, "t-web-2")]
    for r in replicas:
        # Docker's DNS answers the alias with every container that has it: that is the load balancing
        assert {n["name"]: n["aliases"] for n in r.get("networksAdvanced")} == {"t-front": ["web"], "t-back": ["web"]}
        assert r.get("restart") == "unless-stopped" and r.get("wait") is True  # created only once healthy


def test_service_replicas_start_only_after_the_migration_succeeded():
    graph = service_graph(WEB)
    migration = container(graph, "t-web-migrate")
    assert migration.get("attach") is True and migration.get("mustRun") is False and migration.get("restart") == "no"
    assert migration.get("command") == ["./manage.py", "migrate"]
    assert graph.depends_on(migration, graph.one(CONTAINER, "postgres"))
    assert labels(migration)["twinstack.after"] == "t-postgres-password"  # the part's gate, before migrating
    for name in ("t-web-1", "t-web-2"):
        replica = container(graph, name)
        assert graph.depends_on(replica, migration)
        # known only once the migration exited 0, so a failed one holds the replicas back
        assert labels(replica)["twinstack.after"].split(",") == ["t-postgres-password", "t-web-migrate"]


def test_service_env_tells_it_its_name_and_port_and_keeps_secrets_secret():
    graph = service_graph(WEB)
    for name in ("t-web-migrate", "t-web-1", "t-web-2"):
        r = container(graph, name)
        assert env(r) == {"SERVICE_NAME": "web", "PORT": "8000", "PGHOST": "postgres", "API_KEY": "k-123",
                          "DATABASE_URL": "postgresql://app:pw@postgres/app"}
        assert r.is_secret("envs")


def test_service_without_secrets_has_plain_env():
    worker = {"name": "worker", "image": "example/worker:1", "healthCheck": {"command": ["true"]},
              "env": {"QUEUE": "jobs"}}
    graph = service_graph(worker)
    r = container(graph, "t-worker")
    assert env(r) == {"SERVICE_NAME": "worker", "QUEUE": "jobs"}  # a worker listens on nothing: no PORT
    assert not r.is_secret("envs")


def test_env_list_is_secret_only_when_a_secret_value_is_given():
    def build() -> None:
        docker.Container("plain", name="plain", image="i", envs=env_list({"B": "2", "A": "1"}))
        docker.Container("mixed", name="mixed", image="i", envs=env_list({"B": "2", "A": "1"}, {"C": "3"}))

    graph = run_components(build)
    plain, mixed = graph.one(CONTAINER, "plain"), graph.one(CONTAINER, "mixed")
    assert plain.get("envs") == ["A=1", "B=2"] and not plain.is_secret("envs")
    assert mixed.get("envs") == ["A=1", "B=2", "C=3"] and mixed.is_secret("envs")


# ------------------------------------------------------------------------------------------------------- storage


def storage_graph(at: Site) -> tuple[Graph, dict[str, Storage]]:
    built: dict[str, Storage] = {}
    app = {"name": "app", "image": "example/app:1", "port": 8000, "healthCheck": {"path": "/"}, "user": "1000",
           "uses": ["storage"], "volumes": [{"name": "static", "path": "/app/static"},
                                            {"name": "media", "path": "/app/media", "readOnly": True}]}

    def build() -> None:
        net = network(at)
        storage = built["storage"] = Storage("storage", StorageArgs(
            site=at, workspace=model.Storage.model_validate({"mountPath": "/data"}), shared=["media", "static"]))
        assert storage.workspace is not None
        Service("svc", ServiceArgs(settings=model.Service.model_validate(app), site=at, network=net,
                                   segments=["front"], bindings={"storage": storage.binding}, secrets={},
                                   workspace=storage.workspace, shared=storage.volumes))

    return run_components(build), built


def test_storage_makes_the_workspace_and_each_shared_volume_a_kept_labelled_volume():
    graph, built = storage_graph(site(protect_data=True))
    assert {r.get("name") for r in graph.of_type(VOLUME)} == {"t-workspace", "t-shared-media", "t-shared-static"}
    for r in graph.of_type(VOLUME):
        assert r.retain_on_delete  # `docker volume ls --filter label=twinstack.stack=t` finds what is left
        assert {item["label"]: item["value"] for item in r.get("labels")}["twinstack.stack"] == "t"
    assert built["storage"].binding.env == {"STORAGE_URL": "file:///data", "STORAGE_PATH": "/data"}


def test_a_service_mounts_the_workspace_and_its_shared_volumes_after_handing_them_to_its_user():
    graph, _ = storage_graph(site())
    app = container(graph, "t-app")
    assert mounts(app) == {"/data": ("t-workspace", False), "/app/static": ("t-shared-static", False),
                           "/app/media": ("t-shared-media", True)}
    # a fresh named volume is root-owned: a root one-off without network chowns what user 1000 writes, not the rest
    prepare = container(graph, "t-app-prepare-volumes")
    assert prepare.get("user") == "0" and prepare.get("networkMode") == "none" and not prepare.get("envs")
    assert prepare.get("command") == ["chown 1000 /data /app/static"]
    assert graph.depends_on(app, prepare)
