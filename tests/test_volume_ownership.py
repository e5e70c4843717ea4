"""A volume a service writes is writable by that service, on both backends.

A named Docker volume starts root-owned where the image lacks its path, and a Fargate task volume is "writable only
by root" (aws/containers-roadmap#938): a service running as a non-root `user` could not write its own volumes, nor the
/tmp a read-only root gets on Fargate. A one-off in the service's image, as root, hands them over first.
"""

from __future__ import annotations

import json

import pytest

from components.contracts import volume_preparation
from tests.harness import ProgramError, run_config
from tests.test_aws_variants import shared

CONTAINER = "docker:index/container:Container"


def test_the_preparation_chowns_what_the_user_writes_and_opens_scratch_space():
    assert volume_preparation("10001", ["/app/static", "/srv/my files"], ["/tmp"]) == [
        "sh", "-c", "chown 10001 /app/static '/srv/my files' && chmod 1777 /tmp"]
    assert volume_preparation(None, ["/data"], ["/tmp"]) == ["sh", "-c", "chmod 1777 /tmp"]
    assert volume_preparation("10001", [], []) is None and volume_preparation(None, ["/data"]) is None


def containers(graph, family_end: str) -> dict[str, dict]:
    task = next(t for t in graph.of_type("aws:ecs/taskDefinition:TaskDefinition") if t.get("family").endswith(family_end))
    return {c["name"]: c for c in json.loads(task.get("containerDefinitions"))}


def test_on_aws_a_root_one_off_prepares_the_task_volumes_first():
    defs = containers(shared("rich"), "-api")  # user 10001, a writable `static` volume, a read-only root
    prepare, migrate, api = defs["prepare-volumes"], defs["migrate"], defs["api"]
    assert prepare["user"] == "0" and prepare["essential"] is False
    assert prepare["entryPoint"] == ["sh", "-c"] and prepare["command"] == ["chown 10001 /app/static && chmod 1777 /tmp"]
    assert prepare["image"] == api["image"] and prepare["mountPoints"] == api["mountPoints"]
    assert prepare["environment"] == [] and prepare["secrets"] == []  # it needs no env, so it gets no secret
    assert migrate["dependsOn"] == [{"containerName": "prepare-volumes", "condition": "SUCCESS"}]
    assert api["dependsOn"][0] == {"containerName": "prepare-volumes", "condition": "SUCCESS"}
    assert "prepare-volumes" not in containers(shared("rich"), "-worker")  # root user, writable root: nothing to do


def test_on_aws_a_read_only_mount_is_not_handed_over():
    graph = run_config({
        "backend": "aws", "environment": "staging", "proxy": {"allowHttp": True, "routes": [{"path": "/", "service": "web"}]},
        "services": [{"name": "web", "image": "acme/web:1", "port": 80, "healthCheck": {"path": "/"}, "user": "app",
                      "volumes": [{"name": "static", "path": "/static", "readOnly": True},
                                  {"name": "cache", "path": "/var/cache/app"}]}]}, stack="staging")
    prepare = containers(graph, "-web")["prepare-volumes"]
    assert prepare["command"] == ["chown app /var/cache/app"]


def test_on_docker_a_root_one_off_prepares_the_named_volumes_first():
    graph = run_config({
        "backend": "docker", "environment": "development", "proxy": {"routes": [{"path": "/", "service": "web"}]},
        "services": [{"name": "web", "image": "acme/web:1", "port": 80, "healthCheck": {"path": "/"},
                      "user": "10001:10001", "volumes": [{"name": "uploads", "path": "/srv/uploads"},
                                                         {"name": "static", "path": "/static", "readOnly": True}]},
                     {"name": "reader", "image": "acme/reader:1", "port": 81, "healthCheck": {"path": "/"},
                      "volumes": [{"name": "uploads", "path": "/uploads", "readOnly": True}]}]}, stack="dev")
    by_name = {c.get("name"): c for c in graph.of_type(CONTAINER)}
    prepare, web = by_name["dev-web-prepare-volumes"], by_name["dev-web"]
    assert prepare.get("user") == "0" and prepare.get("networkMode") == "none"
    assert prepare.get("entrypoints") == ["sh", "-c"] and prepare.get("command") == ["chown 10001:10001 /srv/uploads"]
    assert prepare.get("envs") is None  # no env, no secret
    assert [v["containerPath"] for v in prepare.get("volumes")] == [v["containerPath"] for v in web.get("volumes")]
    assert (prepare.get("attach"), prepare.get("restart")) == (True, "no")
    assert graph.depends_on(web, prepare) and "dev-web-prepare-volumes" in web.get("labels")[0]["value"]
    assert "dev-reader-prepare-volumes" not in by_name  # it runs as the image's user and writes nothing


def test_a_service_named_like_the_preparation_container_is_refused_on_aws():
    with pytest.raises(ProgramError, match="'prepare-volumes' is the name of the container that prepares"):
        run_config({"backend": "aws", "environment": "staging",
                    "proxy": {"allowHttp": True, "routes": [{"path": "/", "service": "prepare-volumes"}]},
                    "services": [{"name": "prepare-volumes", "image": "a:1", "port": 80, "healthCheck": {"path": "/"},
                                  "readOnlyRootFilesystem": True}]}, stack="staging")
