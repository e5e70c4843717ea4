"""How the prod program scales: evaluation time (pytest-benchmark; `make bench`) and resources per service."""

from __future__ import annotations

import json

import pytest

from tests.harness import ROOT, Graph, run_stack, stack_file_config


def prod_with(services: int) -> dict:
    """Pulumi.prod.yaml with its demo service (built, migrated, autoscaled, using every part) cloned `services` times,
    each with its own route and its own build (a build arg tells them apart), as distinct services have."""
    config, _ = stack_file_config(ROOT / "Pulumi.prod.yaml")
    [demo] = config["twinstack:services"]
    clones = [{**demo, "name": f"demo{i}", "build": {**demo["build"], "args": {"SERVICE": f"demo{i}"}}}
              for i in range(services)]
    routes = [{"path": "/", "service": "demo0"}] + [{"path": f"/d{i}", "service": f"demo{i}"}
                                                      for i in range(1, services)]
    return {"twinstack:services": clones, "twinstack:proxy": {**config["twinstack:proxy"], "routes": routes}}


def counts(graph: Graph) -> tuple[int, int]:
    """(cloud resources, all resources including components and the provider)."""
    return len([r for r in graph.custom() if not r.type.startswith("pulumi:providers:")]), len(graph.resources)


@pytest.mark.benchmark
@pytest.mark.parametrize("services", [1, 10])
def test_prod_program_evaluation(benchmark, services):
    overrides = prod_with(services)
    graph = benchmark.pedantic(run_stack, args=("prod",), kwargs={"set": overrides}, rounds=3, iterations=1)
    benchmark.extra_info.update(services=services, resources=counts(graph)[0])
    assert len(graph.of_type("aws:ecs/service:Service")) == services


def test_resources_grow_linearly_per_service(record_property):
    one, two, ten = (counts(run_stack("prod", set=prod_with(n))) for n in (1, 2, 10))
    per_service = (ten[0] - one[0]) / 9
    record_property("prod_resources_1_service", one[0])
    record_property("prod_resources_10_services", ten[0])
    record_property("prod_resources_per_service", per_service)
    assert two[0] - one[0] == per_service  # no hidden per-pair cost: each service adds the same set
    # what one built, routed, autoscaled service costs: image (ECR repo, lifecycle, build), log group, two roles and
    # their policies, task definition, ECS service, target group, listener rule, scaling target and two policies,
    # two alarms, and its security-group rules when it opens a new port
    assert 15 <= per_service <= 24
    assert one[0] >= 100


@pytest.mark.benchmark
@pytest.mark.parametrize("check", ["config-rules", "graph-limits"])
def test_castiel_aws_rules_cost(benchmark, check):
    """What the AWS rules add to Castiel on AWS: the config rules run in every `pulumi up` (compare with
    test_examples' evaluation benchmark of the same stack), the graph limits in preflight and the policy pack."""
    from components.aws import rules
    from config.load import load
    from tests.test_examples import example_file, production_on_aws
    from tools.graph import stack_file_config

    config, _ = stack_file_config(example_file("castiel"))
    config.update(production_on_aws("castiel"))
    raw = {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()
           if k.startswith("twinstack:")}
    stack = load("castiel", raw).stack
    if check == "config-rules":
        assert benchmark(rules.check, stack) == []
    else:
        graph = run_stack("castiel", file=example_file("castiel"), set=production_on_aws("castiel"))
        names = [s.name for s in stack.services]
        assert benchmark(graph.aws_limit_problems, names) == []
