"""Rotation through Pulumi config: bump `twinstack:rotation.<secret>`, one `pulumi up` changes the secret at its
source and rolls exactly the services that use it. Each test records the graph before and after and diffs inputs."""

from __future__ import annotations

import json

import pytest

from tests.harness import Graph, Resource, run_stack

# Two services that share nothing but the cache: `demo` uses the database and SESSION_SECRET, `worker` neither.
WORKER = {"name": "worker", "image": "python:3.12-slim", "port": 9000, "command": ["python", "-m", "http.server", "9000"],
          "uses": ["cache"], "healthCheck": {"path": "/"}}


def services(stack: str) -> list[dict]:
    from tests.harness import ROOT, stack_file_config

    config, _ = stack_file_config(ROOT / f"Pulumi.{stack}.yaml")
    return [*config["twinstack:services"], WORKER]


def before_after(stack: str, secret: str) -> tuple[Graph, Graph]:
    base = {"twinstack:services": services(stack)}
    before = run_stack(stack, set=base)
    after = run_stack(stack, set={**base, "twinstack:rotation": {secret: 1}})
    return before, after


def changed(before: Graph, after: Graph) -> set[str]:
    """URNs whose inputs differ: what `pulumi preview` would show as updated or replaced."""
    assert set(before.by_urn) == set(after.by_urn), "a rotation must not add or remove resources"
    return {urn for urn, r in before.by_urn.items() if r.inputs != after.by_urn[urn].inputs}


def named(graph: Graph, type_: str, contains: str) -> list[Resource]:
    return [r for r in graph.of_type(type_) if contains in r.name]


# --------------------------------------------------------------------------------------------------------- docker

CONTAINER = "docker:index/container:Container"


@pytest.fixture(scope="module")
def dev_database() -> tuple[Graph, Graph]:
    return before_after("dev", "database")


@pytest.fixture(scope="module")
def dev_session_secret() -> tuple[Graph, Graph]:
    return before_after("dev", "SESSION_SECRET")


def test_dev_database_rotation_replaces_the_password(dev_database):
    before, after = dev_database
    pw_before = before.one("random:index/randomPassword:RandomPassword", "secrets-database")
    pw_after = after.by_urn[pw_before.urn]
    assert pw_before.get("keepers") == {"rotation": "0"} and pw_after.get("keepers") == {"rotation": "1"}
    # nothing else random changes
    others = [r for r in before.of_type("random:index/randomPassword:RandomPassword") if r.urn != pw_before.urn]
    assert all(r.inputs == after.by_urn[r.urn].inputs for r in others)


def env_of(r: Resource) -> dict[str, str]:
    return dict(e.split("=", 1) for e in r.get("envs") or [])


def preparation(container) -> bool:
    """The one-off that hands a service's volumes to its user (contracts.volume_preparation): no env, no secrets."""
    return container.name.endswith("-prepare-volumes")


def test_dev_database_rotation_rolls_the_users_and_only_them(dev_database):
    before, after = dev_database
    diff = changed(before, after)
    demo = [r for r in before.of_type(CONTAINER) if "services-demo" in r.name and not preparation(r)]
    worker = [r for r in before.of_type(CONTAINER) if "services-worker" in r.name]
    assert demo and worker
    # the one-off that prepares the volumes carries no env, so no secret: rotation leaves it alone
    assert not {r.urn for r in before.of_type(CONTAINER) if preparation(r)} & diff
    for r in demo:  # the replicas and the migration get the new DATABASE_URL / PGPASSWORD
        assert r.urn in diff
        assert env_of(r)["DATABASE_URL"] != env_of(after.by_urn[r.urn])["DATABASE_URL"]
        assert env_of(after.by_urn[r.urn])["PGPASSWORD"] in env_of(after.by_urn[r.urn])["DATABASE_URL"]
    assert not {r.urn for r in worker} & diff, "a service that does not use the database must not roll"
    assert not {r.urn for r in before.of_type(CONTAINER) if "cache" in r.name or "proxy" in r.name} & diff


def test_dev_database_rotation_reaches_the_running_postgres(dev_database):
    """POSTGRES_PASSWORD only initialises an empty volume: the sync job must carry the new password to the server
    before the services that use it start."""
    before, after = dev_database
    postgres = before.one(CONTAINER, "database-postgres")
    sync = before.one(CONTAINER, "database-password")
    new_pw = env_of(after.by_urn[postgres.urn])["POSTGRES_PASSWORD"]
    assert env_of(after.by_urn[sync.urn])["POSTGRES_PASSWORD"] == new_pw != env_of(sync)["POSTGRES_PASSWORD"]
    assert after.by_urn[sync.urn].get("attach") is True and after.by_urn[sync.urn].get("mustRun") is False
    assert "ALTER ROLE" in " ".join(sync.get("command"))
    assert after.depends_on(after.by_urn[sync.urn], after.by_urn[postgres.urn])
    for replica in [r for r in after.of_type(CONTAINER) if "services-demo" in r.name]:
        assert after.depends_on(replica, after.by_urn[sync.urn])
    # the volume (the data) is never touched
    assert all(before.by_urn[v.urn].inputs == v.inputs for v in after.of_type("docker:index/volume:Volume"))


def test_dev_app_secret_rotation_rolls_only_its_users(dev_session_secret):
    before, after = dev_session_secret
    diff = changed(before, after)
    demo = [r for r in before.of_type(CONTAINER) if "services-demo" in r.name and not preparation(r)]
    assert all(r.urn in diff for r in demo)
    assert all(env_of(r)["SESSION_SECRET"] != env_of(after.by_urn[r.urn])["SESSION_SECRET"] for r in demo)
    untouched = [r for r in before.of_type(CONTAINER) if "services-demo" not in r.name or preparation(r)]
    assert untouched and not {r.urn for r in untouched} & diff


# ------------------------------------------------------------------------------------------------------------ aws

TASK = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


@pytest.fixture(scope="module")
def aws_database() -> tuple[Graph, Graph]:
    return before_after("staging", "database")


@pytest.fixture(scope="module")
def aws_cache() -> tuple[Graph, Graph]:
    return before_after("staging", "cache")


@pytest.fixture(scope="module")
def aws_session_secret() -> tuple[Graph, Graph]:
    return before_after("staging", "SESSION_SECRET")


def secrets_of(task: Resource) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for c in json.loads(task.get("containerDefinitions")) for s in c.get("secrets", [])}


def rolls(before: Graph, after: Graph, service: str) -> bool:
    """A new task-definition revision for the service: what makes ECS start new tasks."""
    task = before.one(TASK, f"services-{service}-")
    return task.inputs != after.by_urn[task.urn].inputs


def test_aws_database_rotation_changes_the_rds_password_in_place(aws_database):
    before, after = aws_database
    db = before.one("aws:rds/instance:Instance")
    new = after.by_urn[db.urn]
    assert db.is_secret("password") and new.is_secret("password")
    assert db.get("password") != new.get("password")
    # only the password: the instance is modified, never replaced, and keeps its data
    assert {k for k in db.inputs if db.inputs[k] != new.inputs[k]} == {"password"}


def test_aws_database_rotation_writes_a_new_secret_version(aws_database):
    before, after = aws_database
    version = before.one(VERSION, "database-connection")
    assert version.get("secretString") != after.by_urn[version.urn].get("secretString")
    assert after.by_urn[version.urn].is_secret("secretString")
    untouched = [v for v in before.of_type(VERSION) if v.urn != version.urn]
    assert untouched and all(v.inputs == after.by_urn[v.urn].inputs for v in untouched)


def test_aws_database_rotation_rolls_its_users_and_only_them(aws_database):
    before, after = aws_database
    demo_before = secrets_of(before.one(TASK, "services-demo-"))
    demo_after = secrets_of(after.one(TASK, "services-demo-"))
    assert demo_before["DATABASE_URL"] != demo_after["DATABASE_URL"]  # pinned to the new version
    assert demo_before["SESSION_SECRET"] == demo_after["SESSION_SECRET"]
    assert rolls(before, after, "demo")
    assert not rolls(before, after, "worker")
    worker_service = before.one(ECS_SERVICE, "services-worker")
    assert worker_service.inputs == after.by_urn[worker_service.urn].inputs


def test_aws_cache_rotation_uses_the_rotate_strategy(aws_cache):
    before, after = aws_cache
    group = before.one("aws:elasticache/replicationGroup:ReplicationGroup")
    new = after.by_urn[group.urn]
    assert group.get("authToken") != new.get("authToken") and new.is_secret("authToken")
    # ROTATE keeps the old token valid next to the new one while the services roll
    assert new.get("authTokenUpdateStrategy") == "ROTATE"
    assert rolls(before, after, "demo") and rolls(before, after, "worker")  # both use the cache
    db = before.one("aws:rds/instance:Instance")
    assert db.inputs == after.by_urn[db.urn].inputs


def test_aws_app_secret_rotation_rolls_only_its_users(aws_session_secret):
    before, after = aws_session_secret
    version = before.one(VERSION, "app-secrets-session-secret")
    assert version.get("secretString") != after.by_urn[version.urn].get("secretString")
    assert rolls(before, after, "demo")
    assert not rolls(before, after, "worker")
    data = [r for r in before.resources if r.type in ("aws:rds/instance:Instance",
                                                      "aws:elasticache/replicationGroup:ReplicationGroup")]
    assert data and all(r.inputs == after.by_urn[r.urn].inputs for r in data)


def test_dev_broker_rotation_reaches_the_running_rabbitmq():
    """RABBITMQ_DEFAULT_PASS only seeds an empty node database, like POSTGRES_PASSWORD: a one-off carries it over."""
    from tests.harness import ROOT, stack_file_config

    config, _ = stack_file_config(ROOT / "Pulumi.dev.yaml")
    demo = {**config["twinstack:services"][0], "uses": ["database", "cache", "storage", "broker"]}
    base = {"twinstack:broker": {}, "twinstack:services": [demo, WORKER]}
    before = run_stack("dev", set=base)
    after = run_stack("dev", set={**base, "twinstack:rotation": {"broker": 1}})
    rabbit = before.one(CONTAINER, "broker-rabbitmq")
    sync = before.one(CONTAINER, "broker-password")
    new_pw = env_of(after.by_urn[rabbit.urn])["RABBITMQ_DEFAULT_PASS"]
    assert env_of(after.by_urn[sync.urn])["RABBITMQ_DEFAULT_PASS"] == new_pw != env_of(sync)["RABBITMQ_DEFAULT_PASS"]
    assert "change_password" in " ".join(sync.get("command")) and sync.get("user") == "rabbitmq"
    assert f"rabbit@{rabbit.get('hostname')}" in " ".join(sync.get("command"))  # the node its hostname names
    diff = changed(before, after)
    assert all(r.urn in diff for r in before.of_type(CONTAINER) if "services-demo" in r.name and not preparation(r))
    assert not {r.urn for r in before.of_type(CONTAINER) if "services-worker" in r.name} & diff
    for replica in [r for r in after.of_type(CONTAINER) if "services-demo-replica" in r.name]:
        assert after.depends_on(replica, after.by_urn[sync.urn])
