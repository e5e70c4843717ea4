"""The five seed platforms (`examples/*.yaml`) on both backends.

Each example is a Pulumi stack file that must validate and build a full graph on docker (as written: dev) and on aws
(switched to production with TLS, the way a user promotes it), and show what its seed document asks for. One graph per
example per backend, built once per module.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from components.aws.rules import target_group_name
from config.load import load
from tests.harness import ROOT, Graph, Resource, provided, run_stack, stack_file_config

EXAMPLES = ("perseus", "pliers", "edusphere", "castiel", "agentlab")
BACKENDS = ("docker", "aws")
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
# AgentLab's documented AWS TLS (see the comment at its twinstack:proxy): an ACM certificate for its domain.
AGENTLAB_TLS = {"domain": "agentlab.example.com", "zoneId": "Z0123456789EXAMPLE"}

CONTAINER = "docker:index/container:Container"
DOCKER_SERVICE = "twinstack:docker:Service"
ECS_SERVICE = "aws:ecs/service:Service"


def example_file(name: str) -> Path:
    return ROOT / "examples" / f"{name}.yaml"


def example_config(name: str) -> dict:
    return stack_file_config(example_file(name))[0]


def production_on_aws(name: str) -> dict:
    """What a user changes to promote an example: the backend, the environment, and a certificate."""
    proxy = dict(example_config(name)["twinstack:proxy"])
    proxy["tls"] = AGENTLAB_TLS if name == "agentlab" else {"certificateArn": CERT_ARN}
    return {"twinstack:backend": "aws", "twinstack:environment": "production", "twinstack:proxy": proxy}


@pytest.fixture(scope="module")
def graphs():
    built: dict[tuple[str, str], Graph] = {}

    def get(name: str, backend: str) -> Graph:
        if (name, backend) not in built:
            overrides = production_on_aws(name) if backend == "aws" else None
            built[name, backend] = run_stack(name, file=example_file(name), set=overrides)
        return built[name, backend]

    return get


# ------------------------------------------------------------------------------------------------ finding things


def service_component(graph: Graph, service: str) -> Resource:
    backend = "aws" if graph.of_type("twinstack:aws:Services") else "docker"
    return graph.one(f"twinstack:{backend}:Service", f"-services-{service}")


def replicas(graph: Graph, service: str) -> list[Resource]:
    """The long-running containers of a docker service (its migration, a one-off, is not one of them)."""
    component = service_component(graph, service)
    return [r for r in graph.children(component) if r.type == CONTAINER and r.get("mustRun") is not False]


def ecs_service(graph: Graph, service: str) -> Resource:
    hits = [r for r in graph.of_type(ECS_SERVICE) if r.get("name") == service]
    assert len(hits) == 1, f"{len(hits)} ECS services named {service!r}"
    return hits[0]


def runtime_of(graph: Graph, backend: str, service: str) -> list[Resource]:
    """What `dependsOn` orders: the replica containers on docker, the ECS service on aws."""
    return replicas(graph, service) if backend == "docker" else [ecs_service(graph, service)]


def container_named(graph: Graph, name: str) -> Resource:
    hits = [r for r in graph.of_type(CONTAINER) if r.get("name") == name]
    assert len(hits) == 1, f"{len(hits)} containers named {name!r}"
    return hits[0]


def proxy_config(graph: Graph) -> str:
    proxy = graph.one(CONTAINER, "proxy-nginx")
    (conf,) = [u["content"] for u in proxy.get("uploads") if u["file"].endswith("default.conf")]
    return conf


def env_of(container: Resource) -> dict[str, str]:
    return dict(e.split("=", 1) for e in container.get("envs"))


def segments_of(container: Resource) -> set[str]:
    return {n["name"] for n in container.get("networksAdvanced")}


def task_containers(graph: Graph, service: str) -> list[dict]:
    task = graph.one("aws:ecs/taskDefinition:TaskDefinition", f"-services-{service}-task")
    return json.loads(task.get("containerDefinitions"))


def closure(edges: dict[str, list[str]], node: str) -> set[str]:
    seen: set[str] = set()
    frontier = list(edges.get(node, ()))
    while frontier:
        nxt = frontier.pop()
        if nxt not in seen:
            seen.add(nxt)
            frontier += edges.get(nxt, ())
    return seen


# ----------------------------------------------------------------------------------------------- every example


def test_the_examples_are_the_five_seeds():
    # the five seeds, and examples/worker.yaml (a web service and a worker, tests/test_workers.py)
    assert sorted(p.stem for p in (ROOT / "examples").glob("*.yaml")) == sorted([*EXAMPLES, "worker"])


@pytest.mark.parametrize("name", EXAMPLES)
def test_is_a_pulumi_stack_file_of_twinstack_keys(name):
    doc = yaml.safe_load(example_file(name).read_text())
    assert list(doc) == ["config"]
    assert all(key.startswith("twinstack:") for key in doc["config"]), list(doc["config"])
    assert doc["config"]["twinstack:backend"] == "docker"
    assert doc["config"]["twinstack:environment"] == "development"


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_backend_key_alone_switches_it(name, backend):
    raw = {key.split(":", 1)[1]: value for key, value in example_config(name).items()}
    raw["backend"] = backend
    stack = load(name, raw).stack  # raises ConfigError, listing every problem, if the other backend refuses it
    assert stack.backend == backend
    assert stack.secret_names == []  # deploys with zero secrets set


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_builds_a_full_graph(graphs, name, backend):
    graph = graphs(name, backend)
    stack = load(name, {k.split(":", 1)[1]: v for k, v in example_config(name).items()}).stack
    for svc in stack.services:
        if backend == "docker":
            containers = replicas(graph, svc.name)
            assert len(containers) == svc.replicas
            assert all(c.get("wait") and c.get("healthcheck") for c in containers)
        else:
            assert ecs_service(graph, svc.name).get("desiredCount") == svc.replicas
    if backend == "docker":
        assert not [r for r in graph.resources if r.type.startswith("aws:")]
        assert graph.output("url").startswith("http://")
    else:
        assert not graph.of_type(CONTAINER)
        assert graph.output("url").startswith("https://")
        assert len(graph.of_type(ECS_SERVICE)) == len(stack.services)
    assert graph.output("internalUrls") == {s.name: f"http://{s.name}:{s.port}" for s in stack.services}
    assert graph.output_is_secret("databaseUrl")


def test_the_examples_page_lists_every_example_with_its_command():
    section = (ROOT / "docs" / "examples.md").read_text()
    for name in EXAMPLES:
        assert f"make up EXAMPLE={name}" in section, name
        assert f"examples/{name}.yaml" in section, name


# ----------------------------------------------------------------------------------------------------- Castiel

# The document's dependency graph (seeds/003, "Dependency Graph" and "Each microservice follows this pattern"):
# service -> what it starts after. The gateway starts after all of them.
CASTIEL_FOUNDATION = ("secret-management", "usage-tracking", "notification-manager")
CASTIEL_DOCUMENTED = {
    "ai-service": ["secret-management"],
    "embeddings": ["secret-management"],
    "prompt-management": ["secret-management"],
    "mcp-server": ["ai-service"],
    "knowledge-base": ["embeddings", "mcp-server"],
    "planning": ["prompt-management", "knowledge-base"],
    "execution": ["planning"],
    **{svc: ["secret-management"] for svc in ("dashboard", "calendar", "messaging", "logging", "learning-development",
                                              "collaboration", "quality", "resource-management", "workflow",
                                              "observability")},
    **{svc: [] for svc in CASTIEL_FOUNDATION},
}
CASTIEL_PORTS = {
    "api-gateway": 3000, "notification-manager": 3001, "prompt-management": 3002, "secret-management": 3003,
    "usage-tracking": 3004, "embeddings": 3005, "ai-service": 3006, "planning": 3007, "execution": 3008,
    "mcp-server": 3009, "knowledge-base": 3010, "dashboard": 3011, "calendar": 3012, "messaging": 3013,
    "logging": 3014, "learning-development": 3015, "collaboration": 3016, "quality": 3017,
    "resource-management": 3018, "workflow": 3019, "observability": 3020,
}


def test_castiel_config_is_the_documented_graph():
    stack = load("castiel", {k.split(":", 1)[1]: v for k, v in example_config("castiel").items()}).stack
    assert {s.name: s.port for s in stack.services} == CASTIEL_PORTS
    declared = {s.name: sorted(s.depends_on) for s in stack.services}
    assert declared.pop("api-gateway") == sorted(CASTIEL_DOCUMENTED)
    assert declared == {k: sorted(v) for k, v in CASTIEL_DOCUMENTED.items()}


@pytest.mark.parametrize("backend", BACKENDS)
def test_castiel_starts_in_the_documented_order(graphs, backend):
    graph = graphs("castiel", backend)
    edges = {**CASTIEL_DOCUMENTED, "api-gateway": list(CASTIEL_DOCUMENTED)}
    runtime = {svc: runtime_of(graph, backend, svc) for svc in CASTIEL_PORTS}
    wrong = []
    for svc, own in runtime.items():
        expected = closure(edges, svc)
        for other, theirs in runtime.items():
            if other == svc:
                continue
            waits = [graph.depends_on(a, b) for a in own for b in theirs]
            if other in expected and not all(waits):
                wrong.append(f"{svc} does not wait for {other}")
            if other not in expected and any(waits):
                wrong.append(f"{svc} waits for {other}, which it does not depend on")
    assert wrong == []
    # spot checks that read like the document
    assert graph.depends_on(runtime["knowledge-base"][0], runtime["mcp-server"][0])
    assert not graph.depends_on(runtime["usage-tracking"][0], runtime["notification-manager"][0])
    assert not graph.depends_on(runtime["ai-service"][0], runtime["embeddings"][0])


def test_castiel_on_docker_only_the_gateway_is_public(graphs):
    graph = graphs("castiel", "docker")
    upstreams = set(re.findall(r"set \$twinstack_upstream (\S+);", proxy_config(graph)))
    assert upstreams == {"http://api-gateway:3000"}
    published = {c.get("name"): c.get("ports") for c in graph.of_type(CONTAINER) if c.get("ports")}
    # the proxy on the document's port 3000, and RabbitMQ's management UI (dev only), both on loopback
    assert published == {
        "castiel-proxy": [{"ip": "127.0.0.1", "internal": 80, "external": 3000}],
        "castiel-rabbitmq": [{"ip": "127.0.0.1", "internal": 15672, "external": 15672}],
    }
    assert len(graph.of_type(DOCKER_SERVICE)) == 21
    assert len(replicas(graph, "ai-service")) == 3


def test_castiel_on_aws_only_the_gateway_has_a_target_group(graphs):
    graph = graphs("castiel", "aws")
    groups = graph.of_type("aws:lb/targetGroup:TargetGroup")
    assert [g.get("name") for g in groups] == [target_group_name("castiel", "api-gateway")]
    balanced = [s.get("name") for s in graph.of_type(ECS_SERVICE) if s.get("loadBalancers")]
    assert balanced == ["api-gateway"]
    forwarded = {a["targetGroupArn"] for rule in graph.of_type("aws:lb/listenerRule:ListenerRule")
                 for a in rule.get("actions") if a["type"] == "forward"}
    assert forwarded == {provided(groups[0], "arn")}
    # every service still answers at the name and port it has in dev, through Service Connect
    for svc, port in CASTIEL_PORTS.items():
        (alias,) = ecs_service(graph, svc).get("serviceConnectConfiguration")["services"][0]["clientAlias"]
        assert alias == {"port": port, "dnsName": svc}


# ---------------------------------------------------------------------------------------------------- AgentLab


def test_agentlab_on_docker_creates_pgvector_on_init(graphs):
    graph = graphs("agentlab", "docker")
    assert graph.one("docker:index/remoteImage:RemoteImage", "database-image").get("name") == "pgvector/pgvector:pg17"
    postgres = container_named(graph, "agentlab-postgres")
    init = {u["file"]: u["content"] for u in postgres.get("uploads")}
    assert init == {"/docker-entrypoint-initdb.d/00-extensions.sql": 'CREATE EXTENSION IF NOT EXISTS "vector";\n'}


def test_agentlab_on_aws_is_rds_17_with_the_vector_extension(graphs):
    graph = graphs("agentlab", "aws")
    instance = graph.one("aws:rds/instance:Instance")
    assert instance.get("engine") == "postgres" and instance.get("engineVersion") == "17"
    assert instance.get("tags")["twinstack:pgExtensions"] == "vector"
    assert instance.get("backupRetentionPeriod") == 30  # the document's backup script keeps 30 days
    params = graph.one("aws:rds/parameterGroup:ParameterGroup")
    assert params.get("family") == "postgres17"
    # pgvector needs no preloaded library, so nothing but TLS enforcement is set
    assert [p["name"] for p in params.get("parameters")] == ["rds.force_ssl"]
    # the api's migration, which creates the extension on RDS, runs before the api
    api = {c["name"]: c for c in task_containers(graph, "api")}
    assert api["api"]["dependsOn"][-1] == {"containerName": "migrate", "condition": "SUCCESS"}


def test_agentlab_on_aws_terminates_tls_for_its_domain(graphs):
    graph = graphs("agentlab", "aws")
    assert graph.one("aws:acm/certificate:Certificate").get("domainName") == "agentlab.example.com"
    https = [listener for listener in graph.of_type("aws:lb/listener:Listener") if listener.get("port") == 443]
    assert len(https) == 1 and https[0].get("protocol") == "HTTPS"
    assert https[0].get("sslPolicy").startswith("ELBSecurityPolicy-TLS13")


def test_agentlab_documented_docker_tls_serves_https_and_redirects(tmp_path):
    """The comment's production variant for a server: nginx on 80 and 443 with the document's TLS 1.2/1.3."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    proxy = dict(example_config("agentlab")["twinstack:proxy"])
    proxy.update(httpPort=80, httpsPort=443, tls={"certFile": str(cert), "keyFile": str(key)})
    graph = run_stack("agentlab", file=example_file("agentlab"), set={"twinstack:proxy": proxy})
    conf = proxy_config(graph)
    assert "listen 443 ssl default_server;" in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "return 301 https://$host$request_uri;" in conf
    nginx = graph.one(CONTAINER, "proxy-nginx")
    assert {p["external"] for p in nginx.get("ports")} == {80, 443}
    assert {u["file"] for u in nginx.get("uploads")} >= {"/etc/nginx/twinstack-cert.pem", "/etc/nginx/twinstack-key.pem"}


# ------------------------------------------------------------------------------------------------------ Pliers


def test_pliers_has_three_networks_in_dev(graphs):
    graph = graphs("pliers", "docker")
    networks = {n.get("name"): n.get("internal") for n in graph.of_type("docker:index/network:Network")}
    assert networks == {"pliers-frontend": False, "pliers-backend": True, "pliers-database": True}


def test_pliers_services_join_the_documented_networks(graphs):
    graph = graphs("pliers", "docker")
    everything = {"pliers-frontend", "pliers-backend", "pliers-database"}
    expected = {"web": {"pliers-frontend"}, "api": everything, "ai-service": everything}
    for svc, segments in expected.items():
        for container in replicas(graph, svc):
            assert segments_of(container) == segments, container.get("name")
    # the data tier only on the internal database network; the proxy only on frontend
    assert segments_of(container_named(graph, "pliers-postgres")) == {"pliers-database"}
    assert segments_of(container_named(graph, "pliers-redis")) == {"pliers-database"}
    assert segments_of(container_named(graph, "pliers-proxy")) == {"pliers-frontend"}


def test_pliers_ai_service_waits_for_a_healthy_api(graphs):
    graph = graphs("pliers", "docker")
    api, ai = replicas(graph, "api"), replicas(graph, "ai-service")
    assert (len(api), len(ai)) == (3, 2)  # docker-compose.scale.yml
    assert all(c.get("wait") is True and c.get("waitTimeout") > 0 for c in api)
    assert all(graph.depends_on(a, b) for a in ai for b in api)
    assert not any(graph.depends_on(b, a) for a in ai for b in api)
    assert env_of(api[0])["REDIS_URL"].startswith("redis://")
    assert env_of(ai[0])["API_URL"] == "http://api:3000"


def test_pliers_scale_file_limits(graphs):
    docker_graph, aws_graph = graphs("pliers", "docker"), graphs("pliers", "aws")
    for svc, (cpus, memory) in {"api": ("0.5", 1024), "ai-service": ("1", 2048)}.items():
        assert all((c.get("cpus"), c.get("memory")) == (cpus, memory) for c in replicas(docker_graph, svc))
        task = aws_graph.one("aws:ecs/taskDefinition:TaskDefinition", f"-services-{svc}-task")
        assert (task.get("cpu"), task.get("memory")) == (str(int(float(cpus) * 1024)), str(memory))
    # ai-service on aws also waits for api, and api is created only once its tasks are steady
    assert aws_graph.depends_on(ecs_service(aws_graph, "ai-service"), ecs_service(aws_graph, "api"))
    assert ecs_service(aws_graph, "api").get("waitForSteadyState") is True


def test_pliers_routes_and_monitoring(graphs):
    graph = graphs("pliers", "docker")
    upstreams = dict(re.findall(r"location (/\S*) \{\s+set \$twinstack_upstream (\S+);", proxy_config(graph)))
    assert upstreams == {"/": "http://web:80", "/api/": "http://api:3000", "/ai/": "http://ai-service:3001"}
    prometheus = container_named(graph, "pliers-prometheus")
    (scrape,) = [yaml.safe_load(u["content"]) for u in prometheus.get("uploads")]
    jobs = {job["job_name"]: job.get("dns_sd_configs") for job in scrape["scrape_configs"]}
    assert jobs["api"] == [{"names": ["api"], "type": "A", "port": 3000, "refresh_interval": "30s"}]
    assert jobs["ai-service"][0]["port"] == 3001
    grafana = container_named(graph, "pliers-grafana")
    assert grafana.get("ports") == [{"ip": "127.0.0.1", "internal": 3000, "external": 3003}]


# --------------------------------------------------------------------------------------------------- EduSphere


def test_edusphere_proxy_serves_static_and_media_from_the_volumes(graphs):
    graph = graphs("edusphere", "docker")
    conf = proxy_config(graph)
    served = dict(re.findall(r"location (/\w+/) \{\s+alias (\S+);", conf))
    assert served == {"/static/": "/srv/staticfiles/", "/media/": "/srv/media/"}
    nginx = graph.one(CONTAINER, "proxy-nginx")
    mounts = {v["volumeName"]: (v["containerPath"], v.get("readOnly")) for v in nginx.get("volumes")}
    assert mounts == {"edusphere-shared-staticfiles": ("/srv/staticfiles", True),
                      "edusphere-shared-media": ("/srv/media", True)}
    # the backend writes the same volumes where Django puts collectstatic output and uploads
    (backend,) = replicas(graph, "backend")
    written = {v["volumeName"]: (v["containerPath"], v.get("readOnly")) for v in backend.get("volumes")}
    assert written == {"edusphere-shared-staticfiles": ("/app/staticfiles", False),
                       "edusphere-shared-media": ("/app/media", False)}
    assert set(re.findall(r"set \$twinstack_upstream (\S+);", conf)) == {"http://frontend:5173", "http://backend:8000"}


def test_edusphere_redis_keeps_nothing(graphs):
    redis = container_named(graphs("edusphere", "docker"), "edusphere-redis")
    assert not redis.get("volumes")
    assert redis.get("command")[-4:] == ["--appendonly", "no", "--save", ""]


def test_edusphere_on_aws_sends_file_routes_to_the_backend(graphs):
    graph = graphs("edusphere", "aws")
    backend_group = graph.one("aws:lb/targetGroup:TargetGroup", "-backend")
    for route in ("static", "media"):
        rule = graph.one("aws:lb/listenerRule:ListenerRule", f"route-{route}")
        assert rule.get("actions")[0]["targetGroupArn"] == provided(backend_group, "arn")
        assert rule.get("conditions")[0]["pathPattern"]["values"] == [f"/{route}", f"/{route}/*"]


# ----------------------------------------------------------------------------------------------------- Perseus


def test_perseus_workspace_is_a_docker_volume_in_dev(graphs):
    graph = graphs("perseus", "docker")
    assert graph.one("docker:index/volume:Volume", "workspace").get("name") == "perseus-workspace"
    (platform,) = replicas(graph, "platform")
    assert {"volumeName": "perseus-workspace", "containerPath": "/workspace"} in platform.get("volumes")
    env = env_of(platform)
    assert (env["STORAGE_URL"], env["STORAGE_PATH"]) == ("file:///workspace", "/workspace")
    assert not graph.of_type("aws:s3/bucket:Bucket")


def test_perseus_workspace_is_an_s3_bucket_on_aws(graphs):
    graph = graphs("perseus", "aws")
    bucket = graph.one("aws:s3/bucket:Bucket", "storage-bucket")
    assert bucket.protect and bucket.get("forceDestroy") is False  # production keeps the files
    (main,) = [c for c in task_containers(graph, "platform") if c["name"] == "platform"]
    env = {e["name"]: e["value"] for e in main["environment"]}
    assert env["STORAGE_URL"] == f"s3://{env['STORAGE_BUCKET']}" and env["STORAGE_BUCKET"] == provided(bucket, "bucket")
    assert not graph.of_type("docker:index/volume:Volume")


def test_perseus_exposes_only_the_platform_on_3000(graphs):
    graph = graphs("perseus", "docker")
    published = {c.get("name"): c.get("ports") for c in graph.of_type(CONTAINER) if c.get("ports")}
    assert published == {"perseus-proxy": [{"ip": "127.0.0.1", "internal": 80, "external": 3000}]}
    assert graph.output("url") == "http://127.0.0.1:3000"
