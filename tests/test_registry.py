"""The part registry (config/parts.py) is what the loader, Platform and both backends follow.

Each test checks a declaration of the registry against what the program really does: the keys the loader accepts,
the modules each backend builds a kind with, the env a service that uses the part really receives on each backend, the
passwords generated and the URLs exported. A kind added to the registry without its backend modules, or a backend
that injects env the registry does not declare, fails here.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from config import load as loader
from config.model import StackConfig
from config.parts import KINDS, PART_KINDS, PLATFORM_PARTS, part_of_type
from tests.harness import Graph, run_config

BACKENDS = ("docker", "aws")
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
SETTINGS = {"database": {}, "cache": {}, "broker": {}, "storage": {}}


def every_part(backend: str) -> dict:
    """A stack with every part kind, and one service using each of them alone (so its env shows that part's)."""
    return {
        "backend": backend, "environment": "staging" if backend == "aws" else "development",
        **{kind.key: SETTINGS[kind.key] for kind in PART_KINDS},
        "services": [{"name": f"uses-{kind.key}", "image": "nginx:1.27-alpine", "port": 8000 + i,
                      "uses": [kind.key], "healthCheck": {"path": "/"}} for i, kind in enumerate(PART_KINDS)]
        + [{"name": "uses-nothing", "image": "nginx:1.27-alpine", "port": 8100, "healthCheck": {"path": "/"}}],
        "proxy": {"routes": [{"path": "/", "service": "uses-nothing"}],
                  **({"tls": {"certificateArn": CERT_ARN}} if backend == "aws" else {})},
    }


@pytest.fixture(scope="module")
def graphs() -> dict[str, Graph]:
    return {backend: run_config(every_part(backend), stack=f"registry-{backend}") for backend in BACKENDS}


def env_names(graph: Graph, service: str) -> set[str]:
    """The env var names a service's running container gets, read from the backend's own resource."""
    if graph.of_type("twinstack:aws:Services"):
        import json

        task = graph.one("aws:ecs/taskDefinition:TaskDefinition", f"-services-{service}-task")
        main = next(c for c in json.loads(task.get("containerDefinitions")) if c["name"] == service)
        return {e["name"] for e in main["environment"]} | {s["name"] for s in main["secrets"]}
    container = next(r for r in graph.of_type("docker:index/container:Container") if r.get("name").endswith(f"-{service}"))
    return {item.split("=", 1)[0] for item in container.get("envs")}


def test_every_kind_is_a_config_key_a_model_field_and_a_uses_entry():
    assert SETTINGS.keys() == KINDS.keys(), "every kind needs a setting in this test's every_part stack"
    for kind in PART_KINDS:
        assert kind.key in loader.OBJECT_KEYS
        assert kind.key in StackConfig.model_fields
    uses = every_part("docker")
    stack = StackConfig.model_validate({**uses, "namePrefix": "t", "proxy": uses["proxy"]})
    assert [s.uses for s in stack.services[:-1]] == [[kind.key] for kind in PART_KINDS]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_kind_has_a_module_in_every_backend_with_its_adapter_and_component(backend):
    for kind in PART_KINDS:
        module = importlib.import_module(f"components.{backend}.{kind.key}")
        component = getattr(module, kind.component)
        assert list(inspect.signature(module.build).parameters) == ["name", "stack", "network", "password", "opts"]
        source = inspect.getsource(component.__init__)
        assert f'"twinstack:{backend}:{kind.component}"' in source
        assert part_of_type(f"twinstack:{backend}:{kind.component}") == kind.key


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_service_receives_exactly_the_env_its_part_declares(graphs, backend):
    graph = graphs[backend]
    own = env_names(graph, "uses-nothing")
    assert own >= {"SERVICE_NAME", "PORT"}
    declared_somewhere: dict[str, set[str]] = {}
    for kind in PART_KINDS:
        injected = env_names(graph, f"uses-{kind.key}") - own
        assert injected, f"{backend}: using {kind.key} injects nothing"
        assert injected <= set(kind.env), f"{backend}: {kind.key} injects {injected - set(kind.env)} undeclared"
        declared_somewhere[kind.key] = injected
    for kind in PART_KINDS:  # the registry's list is what some backend injects, nothing imagined
        other = "aws" if backend == "docker" else "docker"
        assert set(kind.env) >= declared_somewhere[kind.key]
        assert set(kind.env) <= declared_somewhere[kind.key] | set(env_names(graphs[other], f"uses-{kind.key}"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_passwords_urls_and_parts_follow_the_registry(graphs, backend):
    graph = graphs[backend]
    passwords = {r.name.removeprefix("twinstack-secrets-") for r in graph.of_type("random:index/randomPassword:RandomPassword")}
    assert passwords == {kind.key for kind in PART_KINDS if kind.password}
    exported = {key.removesuffix("Url") for key in graph.outputs if key.endswith("Url") and key != "dashboardUrl"}
    assert exported == {kind.key for kind in PART_KINDS if kind.password}
    platform = graph.one("twinstack:platform:Platform")
    children = {part_of_type(r.type) for r in graph.children(platform)}
    assert children == {part for part, _ in PLATFORM_PARTS}, "every platform part is one of the Platform's components"


def test_the_credentials_a_kind_declares_are_the_ones_aws_hands_over_as_secrets(graphs):
    """ECS receives a credential only through `secrets[].valueFrom`: what the AWS backend passes that way for each
    part is exactly the registry's `secret_env`, and nothing of it travels as plain `environment`."""
    import json

    graph = graphs["aws"]
    for kind in PART_KINDS:
        task = graph.one("aws:ecs/taskDefinition:TaskDefinition", f"-services-uses-{kind.key}-task")
        main = next(c for c in json.loads(task.get("containerDefinitions")) if c["name"] == f"uses-{kind.key}")
        assert {s["name"] for s in main["secrets"]} == set(kind.secret_env), kind.key
        assert not {e["name"] for e in main["environment"]} & set(kind.secret_env), kind.key
        assert set(kind.secret_env) <= set(kind.env)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_provides_the_backend_interface(backend):
    """components.interface.Backend is what Platform calls: each backend package has every one of its functions, with
    the same parameters, so a backend cannot drift from the interface unnoticed."""
    from components.interface import Backend

    package = importlib.import_module(f"components.{backend}")
    for name, declared in inspect.getmembers(Backend, inspect.isfunction):
        if name.startswith("_"):
            continue
        provided = getattr(package, name)
        expected = [p for p in inspect.signature(declared).parameters if p != "self"]
        assert list(inspect.signature(provided).parameters) == expected, f"{backend}.{name}"
