"""Data outlives refactors, deploys and `pulumi destroy`: proven on the recorded graphs of both backends.

URNs are compared as the engine builds them: `urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`, with the
whole chain of ancestor types. (Pulumi's mock monitor keeps only the immediate parent's type, which would hide a move
higher up the tree.) A URN that changes without an alias is a delete and a create: for a database, data loss.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import text_format
from pulumi.runtime.proto import alias_pb2

from config.parts import KINDS, part_of_type
from tests.harness import ROOT, Graph, Resource, run_stack, stack_file_config

STATEFUL = {
    "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:s3/bucket:Bucket",
    "aws:mq/broker:Broker",
    "docker:index/volume:Volume",
}
PROTECTED_IN_PROD = STATEFUL - {"docker:index/volume:Volume"} | {"aws:ecr/repository:Repository"}
# What holds data, and so must not change when only a service does.
BROKER = {"twinstack:broker": {"instanceType": "mq.m5.large"}}  # prod has none; Amazon MQ clusters need an m5


def config_of(stack: str, file: str | None = None) -> dict[str, Any]:
    config, _ = stack_file_config(ROOT / (file or f"Pulumi.{stack}.yaml"))
    return config


def engine_urn(graph: Graph, r: Resource) -> str:
    types = [r.type]
    parent = graph.by_urn.get(r.parent or "")
    while parent is not None:
        types.insert(0, parent.type)
        parent = graph.by_urn.get(parent.parent or "")
    return f"urn:pulumi:{graph.stack}::twinstack::{'$'.join(types)}::{r.name}"


def alias_urns(graph: Graph, r: Resource) -> Iterator[str]:
    """The URNs a resource's aliases stand for (an alias is a URN or a spec: old name, type or parent)."""
    for alias in r.aliases:
        if isinstance(alias, str) and alias.startswith("urn:"):
            yield alias
            continue
        spec = text_format.Parse(str(alias), alias_pb2.Alias()).spec
        parent = None if spec.noParent else graph.by_urn.get(spec.parentUrn or r.parent or "")
        moved = copy.copy(r)
        moved.name, moved.type, moved.parent = spec.name or r.name, spec.type or r.type, parent.urn if parent else None
        yield engine_urn(graph, moved)


def stateful(graph: Graph) -> dict[str, Resource]:
    return {engine_urn(graph, r): r for r in graph.resources if r.type in STATEFUL}


def lost(before: Graph, after: Graph) -> list[str]:
    """Stateful URNs of `before` that `after` neither keeps nor aliases: what the refactor would delete."""
    kept = set(stateful(after))
    kept |= {u for r in after.resources if r.type in STATEFUL for u in alias_urns(after, r)}
    return sorted(set(stateful(before)) - kept)


def renamed(config: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    services = copy.deepcopy(config["twinstack:services"])
    for svc in services:
        svc["name"] = new if svc["name"] == old else svc["name"]
        svc["dependsOn"] = [new if d == old else d for d in svc.get("dependsOn", [])]
    proxy = copy.deepcopy(config["twinstack:proxy"])
    for route in proxy["routes"]:
        route["service"] = new if route.get("service") == old else route.get("service")
        if route["service"] is None:
            del route["service"]
    return {"twinstack:services": services, "twinstack:proxy": proxy}


def with_worker_first(config: dict[str, Any]) -> dict[str, Any]:
    """A new service added at the head of the list: every existing service moves down one place."""
    worker = {"name": "worker", "image": "busybox:1.36", "port": 9000, "command": ["sleep", "infinity"],
              "healthCheck": {"command": ["true"]}, "uses": ["database", "cache"], "cpu": 256, "memory": 512}
    return {"twinstack:services": [worker, *config["twinstack:services"]]}


def service_changed(config: dict[str, Any]) -> dict[str, Any]:
    services = copy.deepcopy(config["twinstack:services"])
    services[0].pop("build", None)
    services[0]["image"] = "ghcr.io/example/demo:2.0.0"
    services[0]["env"] = {**services[0].get("env", {}), "LOG_LEVEL": "debug", "FEATURE_X": "on"}
    return {"twinstack:services": services}


# ---------------------------------------------------------------------------------------------------- graphs


@pytest.fixture(scope="module")
def prod() -> Graph:
    return run_stack("prod", set=BROKER)


@pytest.fixture(scope="module")
def dev() -> Graph:
    return run_stack("dev")


# ------------------------------------------------------------------------------------ prod keeps what it holds


def test_prod_protects_every_stateful_resource(prod: Graph) -> None:
    found = [r for r in prod.resources if r.type in PROTECTED_IN_PROD]
    assert {r.type for r in found} == PROTECTED_IN_PROD, "each kind of stateful resource is in the prod graph"
    assert [r.name for r in found if not r.protect] == []


def test_prod_database_has_deletion_protection_and_a_final_snapshot(prod: Graph) -> None:
    db = prod.one("aws:rds/instance:Instance")
    assert db.get("deletionProtection") is True
    assert db.get("skipFinalSnapshot") is not True and db.get("finalSnapshotIdentifier")


def test_staging_follows_protect_data() -> None:
    """Staging is disposable by default (destroy works), and protected as soon as protectData says so."""
    loose, kept = run_stack("staging"), run_stack("staging", set={"twinstack:protectData": True})
    assert not any(r.protect for r in loose.resources if r.type in PROTECTED_IN_PROD)
    assert all(r.protect for r in kept.resources if r.type in PROTECTED_IN_PROD)
    assert kept.one("aws:rds/instance:Instance").get("deletionProtection") is True


# --------------------------------------------------------------------------------- refactors keep their URNs


@pytest.mark.parametrize("backend", ["dev", "prod"])
def test_renaming_a_service_keeps_every_stateful_urn(backend: str, dev: Graph, prod: Graph) -> None:
    before = {"dev": dev, "prod": prod}[backend]
    after = run_stack(backend, set={**(BROKER if backend == "prod" else {}),
                                    **renamed(config_of(backend), "demo", "storefront")})
    assert any("storefront" in r.name for r in after.resources), "the rename applied"
    assert lost(before, after) == []


@pytest.mark.parametrize("backend", ["dev", "prod"])
def test_adding_a_service_ahead_of_the_others_keeps_every_stateful_urn(backend: str, dev: Graph, prod: Graph) -> None:
    before = {"dev": dev, "prod": prod}[backend]
    after = run_stack(backend, set={**(BROKER if backend == "prod" else {}), **with_worker_first(config_of(backend))})
    assert lost(before, after) == []


def test_moving_a_shared_volume_to_another_service_keeps_its_urn() -> None:
    """EduSphere's static and media volumes move from the backend's declaration to the frontend's."""
    config = config_of("edusphere", "examples/edusphere.yaml")
    services = copy.deepcopy(config["twinstack:services"])
    backend = next(s for s in services if s.get("volumes"))
    other = next(s for s in services if s is not backend)
    other["volumes"], backend["volumes"] = backend["volumes"], []
    file = ROOT / "examples" / "edusphere.yaml"
    before = run_stack("edusphere", file=file)
    after = run_stack("edusphere", file=file, set={"twinstack:services": services})
    volumes = {r.get("name") for r in after.of_type("docker:index/volume:Volume")}
    assert {f"edusphere-shared-{v['name']}" for v in other["volumes"]} <= volumes
    assert lost(before, after) == []


def test_the_urn_check_sees_a_move_and_accepts_an_alias(dev: Graph) -> None:
    """The check itself can fail: moving the database volume under another component loses it; an alias to its old
    URN covers the move."""
    moved = copy.deepcopy(dev)
    volume = next(r for r in moved.resources if r.type == "docker:index/volume:Volume" and "database" in r.name)
    volume.parent = next(r for r in moved.resources if r.type == "twinstack:docker:Storage").urn
    assert lost(dev, moved) == [engine_urn(dev, next(r for r in dev.resources if r.urn == volume.urn))]
    volume.aliases = [engine_urn(dev, next(r for r in dev.resources if r.urn == volume.urn))]
    assert lost(dev, moved) == []


# ----------------------------------------------------------------------------- service changes leave data alone


def data_inputs(graph: Graph) -> dict[str, dict[str, Any]]:
    parts = [r for r in graph.resources if not r.custom and part_of_type(r.type) in KINDS]  # every part kind
    assert {p.type.rsplit(":", 1)[-1] for p in parts} >= {"Database", "Cache", "Storage"}
    inputs = {engine_urn(graph, r): r.inputs for p in parts for r in graph.descendants(p)}
    assert any(r.type in STATEFUL for p in parts for r in graph.descendants(p))
    return inputs


@pytest.mark.parametrize("backend", ["dev", "prod"])
def test_changing_a_service_image_and_env_leaves_the_data_tier_untouched(backend: str, dev: Graph,
                                                                          prod: Graph) -> None:
    before = {"dev": dev, "prod": prod}[backend]
    after = run_stack(backend, set={**(BROKER if backend == "prod" else {}), **service_changed(config_of(backend))})
    changed = [r for r in after.resources if "demo" in r.name and r.custom]
    assert any("ghcr.io/example/demo:2.0.0" in str(r.inputs) for r in changed), "the new image reached the service"
    assert data_inputs(after) == data_inputs(before)


# -------------------------------------------------------------------------------------- dev volumes and destroy


def test_dev_volumes_survive_destroy(dev: Graph) -> None:
    volumes = dev.of_type("docker:index/volume:Volume")
    assert {v.get("name") for v in volumes} >= {"dev-pgdata", "dev-redisdata", "dev-workspace"}
    assert [v.name for v in volumes if not v.retain_on_delete] == []


def test_dev_volumes_go_with_the_stack_when_protect_data_is_off() -> None:
    volumes = run_stack("dev", set={"twinstack:protectData": False}).of_type("docker:index/volume:Volume")
    assert volumes and [v.name for v in volumes if v.retain_on_delete] == []
