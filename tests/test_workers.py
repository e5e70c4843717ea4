"""Workers: services without a port (queue consumers, schedulers), on both backends (examples/worker.yaml).

A worker listens on nothing: no PORT, no route, no target group, no Service Connect endpoint, no internal URL, and a
command health check; it still gets its parts' env, secrets, logs, alarms and autoscaling.
"""

from __future__ import annotations

import json

import pytest

from tests.harness import Graph, ProgramError, run_config, run_stack
from tests.test_examples import CERT_ARN, example_file

CONTAINER = "docker:index/container:Container"


@pytest.fixture(scope="module")
def docker() -> Graph:
    return run_stack("worker", file=example_file("worker"))


@pytest.fixture(scope="module")
def aws() -> Graph:
    return run_stack("worker", file=example_file("worker"), set={
        "twinstack:backend": "aws", "twinstack:environment": "production",
        "twinstack:proxy": {"tls": {"certificateArn": CERT_ARN}, "routes": [{"path": "/", "service": "web"}]}})


def env_of(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.get("envs"))


def test_the_example_is_a_web_service_and_a_worker():
    from config.load import load
    from tools.graph import stack_file_config

    config, _ = stack_file_config(example_file("worker"))
    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    stack = load("worker", raw).stack
    assert [(s.name, s.worker) for s in stack.services] == [("web", False), ("worker", True)]


def test_on_docker_a_worker_has_no_port_and_a_command_check(docker):
    worker = next(c for c in docker.of_type(CONTAINER) if c.get("name") == "worker-worker")
    env = env_of(worker)
    assert "PORT" not in env and env["SERVICE_NAME"] == "worker"
    assert env["DATABASE_URL"].startswith("postgresql://shop:")  # its parts' contract, as any service
    assert worker.get("healthcheck")["tests"] == ["CMD", "python", "app.py", "alive"]
    assert worker.get("command") == ["python", "app.py", "work"]
    assert not worker.get("ports")
    assert docker.output("internalUrls") == {"web": "http://web:8000"}
    nginx = next(r for r in docker.resources if r.type == "docker:index/container:Container" and "proxy" in r.name)
    config = "\n".join(u.get("content") or "" for u in nginx.get("uploads"))
    assert "http://web:8000" in config and "http://worker" not in config  # no upstream for the worker


def test_on_docker_the_worker_starts_after_the_web_service_is_healthy(docker):
    web = next(c for c in docker.of_type(CONTAINER) if c.get("name") == "worker-web")
    worker = next(c for c in docker.of_type(CONTAINER) if c.get("name") == "worker-worker")
    assert docker.depends_on(worker, web) and web.get("wait") is True


def test_on_aws_a_worker_gets_no_endpoint(aws):
    [definition] = [json.loads(t.get("containerDefinitions")) for t in aws.of_type("aws:ecs/taskDefinition:TaskDefinition")
                    if t.get("family").endswith("-worker")]
    main = next(c for c in definition if c["name"] == "worker")
    assert "portMappings" not in main
    assert main["healthCheck"]["command"] == ["CMD", "python", "app.py", "alive"]
    assert "PORT" not in {e["name"] for e in main["environment"]}
    assert {s["name"] for s in main["secrets"]} >= {"DATABASE_URL", "PGPASSWORD"}
    service = next(s for s in aws.of_type("aws:ecs/service:Service") if s.get("name") == "worker")
    assert not service.get("loadBalancers")
    connect = service.get("serviceConnectConfiguration")
    assert connect["enabled"] is True and not connect.get("services")  # a client of the others, no endpoint
    assert [tg.get("name") for tg in aws.of_type("aws:lb/targetGroup:TargetGroup")] == ["worker-web"]
    assert aws.output("internalUrls") == {"web": "http://web:8000"}


def test_on_aws_a_worker_keeps_logs_alarms_and_autoscaling(aws):
    assert any(g.get("name", "").endswith("/services/worker") for g in aws.of_type("aws:cloudwatch/logGroup:LogGroup"))
    alarms = {a.get("name") for a in aws.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {"worker-worker-cpu", "worker-worker-memory"} <= alarms
    targets = [t for t in aws.of_type("aws:appautoscaling/target:Target") if "worker" in t.name.split("-services-")[-1]]
    assert len(targets) == 1 and targets[0].get("maxCapacity") == 3
    # its security group opens no port for it: the only service port is web's
    rules = [r.get("fromPort") for r in aws.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if "app-in" in r.name]
    assert set(rules) == {8000}


def test_on_aws_the_example_is_within_aws_limits(aws):
    assert aws.aws_limit_problems(["web", "worker"]) == []


BASE = {
    "backend": "docker", "environment": "development",
    "services": [{"name": "web", "image": "nginx:1.27-alpine", "port": 80, "healthCheck": {"path": "/"}},
                 {"name": "jobs", "image": "acme/jobs:1", "healthCheck": {"command": ["CMD-SHELL", "true"]}}],
    "proxy": {"routes": [{"path": "/", "service": "web"}]},
}


@pytest.mark.parametrize(("change", "expected"), [
    ({"proxy": {"routes": [{"path": "/", "service": "jobs"}]}},
     "twinstack:proxy.routes[0].service: 'jobs' is a worker (no port): a route needs a service that listens"),
    ({"services": [BASE["services"][0], {**BASE["services"][1], "healthCheck": {"path": "/health"}}]},
     "twinstack:services[1].healthCheck.path: a worker (no port) has nothing to GET"),
    ({"services": [BASE["services"][0], {**BASE["services"][1], "metrics": {"path": "/metrics"}}]},
     "twinstack:services[1].metrics.port: a worker has no service port"),
])
@pytest.mark.parametrize("backend", ["docker", "aws"])
def test_what_cannot_work_for_a_worker_is_refused(change, expected, backend):
    cfg = {**BASE, **change, "backend": backend}
    with pytest.raises(ProgramError) as caught:
        run_config(cfg, stack="dev")
    assert expected in str(caught.value)
    assert caught.value.graph.resources == []


def test_a_file_route_on_aws_needs_a_service_with_a_port_that_mounts_it():
    services = [BASE["services"][0], {**BASE["services"][1], "volumes": [{"name": "media", "path": "/media"}]}]
    cfg = {**BASE, "backend": "aws", "services": services, "proxy": {"allowHttp": True, "routes": [
        {"path": "/", "service": "web"}, {"path": "/media", "volume": "media"}]}}
    with pytest.raises(ProgramError) as caught:
        run_config(cfg, stack="dev")
    assert "twinstack:proxy.routes[1].volume: an ALB cannot serve files" in str(caught.value)
