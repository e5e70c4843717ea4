"""`python -m tools.plan`: the diagram, the monthly cost and the first-deploy critical path.

Costs are checked against hand calculations written out here (rate x quantity, from the AWS price pages), on a small
hand-built graph and on the real staging and prod graphs. The schedule is checked for what would make it lie: false
serialisation of independent services, a missed wait on the database, components not expanded to their insides.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from config.load import load
from config.parts import KINDS, PART_KINDS, PLATFORM_PARTS
from tools import cost, deploy_time, diagram
from tools.graph import ROOT, Graph, Resource, run_config, run_stack
from tools.parts import PART_ORDER, PLATFORM_TYPE, Parts, resource_tree
from tools.plan import main, make_plan, readme_section
from tools.pricing import AS_OF, US_EAST_1, UnknownRegionError, price_book

H = 730  # hours in AWS's pricing month
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))


# ------------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def dev():
    return make_plan("dev")


@pytest.fixture(scope="module")
def staging():
    return make_plan("staging")


@pytest.fixture(scope="module")
def prod():
    return make_plan("prod")


@functools.cache
def example_plan(name: str):
    return make_plan("dev", example=name)


@pytest.fixture(scope="module")
def castiel():
    if "castiel" not in EXAMPLES:
        pytest.skip("examples/castiel.yaml is not there")
    return example_plan("castiel")


def _three_services(backend: str) -> dict:
    """alpha and beta need nothing from each other; gamma depends on alpha."""
    svc = {"image": "nginx:1.27-alpine", "port": 8080, "healthCheck": {"path": "/"}}
    return {
        "backend": backend,
        "environment": "development" if backend == "docker" else "staging",
        "database": {},
        "services": [
            {"name": "alpha", **svc, "uses": ["database"]},
            {"name": "beta", **svc, "uses": ["database"]},
            {"name": "gamma", **svc, "dependsOn": ["alpha"]},
        ],
        "proxy": {"allowHttp": True, "routes": [{"path": "/", "service": "alpha"}, {"path": "/b/", "service": "beta"}]},
    }


@pytest.fixture(scope="module", params=["docker", "aws"])
def three(request):
    backend = request.param
    graph = run_config(_three_services(backend), stack="dev" if backend == "docker" else "staging")
    return graph, deploy_time.schedule(graph)


# ------------------------------------------------------------------------------------------- hand-built graphs


def res(type_: str, logical: str, parent: Resource | None = None, deps: tuple[Resource, ...] = (),
        props: dict[str, list[Resource]] | None = None, custom: bool = True, **inputs) -> Resource:
    return Resource(urn=f"urn:pulumi:t::twinstack::{type_}::{logical}", type=type_, name=logical, custom=custom,
                    parent=parent.urn if parent else None, inputs=inputs, dependencies=[d.urn for d in deps],
                    property_dependencies={k: [d.urn for d in v] for k, v in (props or {}).items()}, protect=False,
                    retain_on_delete=False, delete_before_replace=False, ignore_changes=[], replace_on_changes=[],
                    additional_secret_outputs=[], aliases=[], provider=None)


COMPONENT_OF = {part: components[0] for part, components in PLATFORM_PARTS}


def component(name: str, parent: Resource | None = None, deps: tuple[Resource, ...] = ()) -> Resource:
    """The component of the part its name ends in (`twinstack-app-secrets`: secrets), typed as the registry says."""
    return res(f"twinstack:test:{COMPONENT_OF[name.rsplit('-', 1)[-1]]}", name, parent, deps, custom=False)


def hand_built_aws() -> Graph:
    platform = res("twinstack:platform:Platform", "twinstack", custom=False)
    parts = {p: component(f"twinstack-{p}", platform) for p in
             ("network", "database", "cache", "broker", "proxy", "services", "app-secrets", "monitoring")}
    td = res("aws:ecs/taskDefinition:TaskDefinition", "api-task", parts["services"], cpu="512", memory="1024",
             runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"})
    resources = [
        platform, *parts.values(),
        res("aws:ec2/natGateway:NatGateway", "nat-a", parts["network"]),
        res("aws:ec2/eip:Eip", "nat-a-ip", parts["network"]),
        res("aws:rds/instance:Instance", "db", parts["database"], engine="postgres", instanceClass="db.t4g.micro",
            multiAz=False, allocatedStorage=20, storageType="gp3"),
        res("aws:elasticache/replicationGroup:ReplicationGroup", "redis", parts["cache"], nodeType="cache.t4g.micro",
            numCacheClusters=1, engine="redis"),
        res("aws:mq/broker:Broker", "mq", parts["broker"], engineType="RabbitMQ", hostInstanceType="mq.m5.large",
            deploymentMode="CLUSTER_MULTI_AZ"),
        res("aws:lb/loadBalancer:LoadBalancer", "alb", parts["proxy"], loadBalancerType="application", internal=False,
            subnets=["public-a-id", "public-b-id"]),
        td,
        res("aws:ecs/service:Service", "api", parts["services"], props={"taskDefinition": [td]}, name="api",
            desiredCount=3),
        res("aws:secretsmanager/secret:Secret", "s1", parts["app-secrets"]),
        res("aws:secretsmanager/secret:Secret", "s2", parts["app-secrets"]),
        *(res("aws:cloudwatch/metricAlarm:MetricAlarm", f"alarm-{i}", parts["monitoring"]) for i in range(4)),
        res("aws:cloudwatch/dashboard:Dashboard", "dash", parts["monitoring"]),
    ]
    return Graph(resources, {}, 0.0, "hand")


# ------------------------------------------------------------------------------------------------- price table


def test_price_table_is_dated_and_every_rate_has_a_source():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", AS_OF)
    for key, rate in US_EAST_1.items():
        assert rate.usd > 0, key
        assert rate.unit, key
        assert rate.source.startswith("https://aws.amazon.com/"), key


def test_other_region_uses_documented_factors_and_unknown_region_is_refused():
    ireland = price_book("eu-west-1")
    assert ireland.get("nat.hour").usd == pytest.approx(0.048)
    assert ireland.get("alb.hour").usd == pytest.approx(0.0252)
    assert ireland.get("fargate.arm64.vcpu").usd == US_EAST_1["fargate.arm64.vcpu"].usd
    assert "eu-west-1" in ireland.method and "nat x1.067" in ireland.method
    assert price_book("us-west-2").get("rds.postgres.db.t4g.micro").usd == 0.016
    with pytest.raises(UnknownRegionError, match=r"known: .*eu-west-1"):
        price_book("mars-north-1")


# ------------------------------------------------------------------------------------------------------- cost


def test_cost_of_a_hand_built_graph_matches_the_hand_calculation():
    est = cost.estimate(hand_built_aws())
    by_part = est.by_part()
    assert by_part["network"] == pytest.approx(H * 0.045 + H * 0.005)  # NAT + its Elastic IP
    assert by_part["database"] == pytest.approx(H * 0.016 + 20 * 0.115)  # single-AZ db.t4g.micro + 20 GB gp3
    assert by_part["cache"] == pytest.approx(H * 0.016)  # one cache.t4g.micro
    assert by_part["broker"] == pytest.approx(3 * H * 0.288)  # a RabbitMQ cluster is three mq.m5.large nodes
    assert by_part["proxy"] == pytest.approx(H * 0.0225 + 2 * H * 0.005)  # ALB + a public IPv4 in each of 2 AZs
    # 3 x86 tasks of 0.5 vCPU and 1 GB
    assert by_part["services"] == pytest.approx(3 * 0.5 * H * 0.04048 + 3 * 1 * H * 0.004445)
    assert by_part["secrets"] == pytest.approx(2 * 0.40)
    assert by_part["monitoring"] == pytest.approx(4 * 0.10 + 3.00)
    assert est.total == pytest.approx(774.86515)
    assert not est.unpriced
    assert all(line.assumed for line in est.usage) and est.usage_total > 0


def test_identical_items_become_one_line_with_a_count():
    est = cost.estimate(hand_built_aws())
    alarms = [line for line in est.lines if line.item == "CloudWatch alarm"]
    assert len(alarms) == 1 and alarms[0].label == "CloudWatch alarm x4" and alarms[0].monthly == pytest.approx(0.4)


def test_an_instance_class_missing_from_the_table_is_reported_not_guessed():
    graph = hand_built_aws()
    db = next(r for r in graph.resources if r.type == "aws:rds/instance:Instance")
    db.inputs["instanceClass"] = "db.x2iedn.large"
    est = cost.estimate(graph)
    assert any("db.x2iedn.large" in miss for miss in est.unpriced)
    assert not any("db.x2iedn" in line.item and line.item.startswith("RDS PostgreSQL") for line in est.lines)


def _line(est: cost.Estimate, prefix: str) -> cost.Line:
    hits = [line for line in est.fixed if line.item.startswith(prefix)]
    assert len(hits) == 1, f"{prefix!r}: {[line.item for line in est.fixed]}"
    return hits[0]


def test_staging_cost_matches_the_hand_calculation(staging):
    est, graph = staging.estimate, staging.graph
    hand = {
        "NAT gateway": H * 0.045,  # nat: single
        "RDS PostgreSQL db.t4g.micro, single-AZ": H * 0.016,
        "RDS gp3 storage, 20 GB, single-AZ": 20 * 0.115,
        "ElastiCache redis cache.t4g.micro, 1 node": H * 0.016,
        "Application Load Balancer": H * 0.0225,
        "Fargate ARM64 vCPU: demo, 1 task x 0.25 vCPU / 0.5 GB": 1 * 0.25 * H * 0.03238,
        "Fargate ARM64 memory: demo, 1 task x 0.25 vCPU / 0.5 GB": 1 * 0.5 * H * 0.00356,
    }
    for prefix, usd in hand.items():
        assert _line(est, prefix).monthly == pytest.approx(usd), prefix
    # the rest is one price per resource the graph holds: count them here, price them by hand
    count = {t: len(graph.of_type(t)) for t in ("aws:ec2/eip:Eip", "aws:secretsmanager/secret:Secret",
                                                "aws:cloudwatch/metricAlarm:MetricAlarm",
                                                "aws:cloudwatch/dashboard:Dashboard", "aws:kms/key:Key")}
    assert count["aws:ec2/eip:Eip"] == 1
    alb = graph.of_type("aws:lb/loadBalancer:LoadBalancer")[0]
    public_ips = count["aws:ec2/eip:Eip"] + len(alb.get("subnets"))
    assert public_ips == 3  # the NAT's Elastic IP and the ALB's address in each of the 2 AZs
    total = (sum(hand.values()) + public_ips * H * 0.005 + count["aws:secretsmanager/secret:Secret"] * 0.40
             + count["aws:cloudwatch/metricAlarm:MetricAlarm"] * 0.10 + count["aws:cloudwatch/dashboard:Dashboard"] * 3
             + count["aws:kms/key:Key"] * 1.00)
    assert est.total == pytest.approx(total)
    assert not est.unpriced


def test_prod_prices_multi_az_and_three_nat_gateways_and_costs_more_than_staging(staging, prod):
    est = prod.estimate
    assert _line(est, "RDS PostgreSQL db.t4g.medium, Multi-AZ").monthly == pytest.approx(2 * H * 0.065)
    assert _line(est, "RDS gp3 storage, 50 GB, Multi-AZ").monthly == pytest.approx(50 * 0.23)
    nat = _line(est, "NAT gateway")
    assert len(nat.resources) == 3 and nat.monthly == pytest.approx(3 * H * 0.045)  # perAz over 3 AZs
    assert _line(est, "ElastiCache redis cache.t4g.small, 2 nodes").monthly == pytest.approx(2 * H * 0.032)
    tasks = prod.graph.of_type("aws:ecs/service:Service")[0].get("desiredCount")
    assert _line(est, "Fargate ARM64 vCPU: demo").monthly == pytest.approx(tasks * 0.5 * H * 0.03238)
    assert any("autoscales from 2 to 6 tasks" in note for note in est.notes)
    assert est.total > staging.estimate.total
    assert est.by_part()["database"] > 5 * staging.estimate.by_part()["database"]


def test_usage_based_items_state_their_assumption(prod):
    usage = {line.item.split(":")[0]: line.assumed for line in prod.estimate.usage}
    for item in ("ALB capacity units (LCU)", "NAT gateway data processed", "data transfer out to the internet",
                 "CloudWatch Logs ingested", "S3 storage"):
        assert usage.get(item), f"{item} has no stated assumption: {usage}"
    text = cost.format_estimate(prod.estimate)
    assert "[assumed: 1 LCU on average]" in text and "not estimated:" in text


def test_without_nat_the_interface_endpoints_are_priced_per_az_instead():
    graph = run_stack("staging", set={"twinstack:network": {"cidr": "10.20.0.0/16", "azCount": 2, "nat": "none"}})
    est = cost.estimate(graph)
    assert not graph.of_type("aws:ec2/natGateway:NatGateway")
    assert not [line for line in est.lines if line.item.startswith("NAT gateway")]
    interface = [r for r in graph.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if r.get("vpcEndpointType") == "Interface"]
    assert interface, "nat: none should add interface endpoints for ECR, logs and secrets"
    eni_hours = sum(len(r.get("subnetIds")) for r in interface) * H
    priced = [line for line in est.fixed if line.item.startswith("VPC interface endpoint")]
    assert sum(line.quantity for line in priced) == eni_hours
    assert sum(line.monthly for line in priced) == pytest.approx(eni_hours * 0.01)


def test_region_flag_changes_the_prices(staging):
    ireland = cost.estimate(staging.graph, "eu-west-1")
    assert ireland.total > staging.estimate.total
    assert _line(ireland, "NAT gateway").monthly == pytest.approx(H * 0.048)


# ------------------------------------------------------------------------------------------------- schedule


def test_prod_critical_path_is_the_multi_az_database_chain(prod):
    sched = prod.schedule
    slowest = max(sched.critical_path, key=lambda s: s.duration.typical)
    assert slowest.resource.type == "aws:rds/instance:Instance" and slowest.resource.get("multiAz") is True
    assert 15 * 60 <= slowest.duration.typical <= 20 * 60
    assert sched.total >= slowest.finish
    db = slowest.resource
    for svc in prod.graph.of_type("aws:ecs/service:Service"):  # the services use the database: they wait for it
        assert sched.start_of(svc) >= sched.step(db).finish
    assert "twinstack-database-instance" in deploy_time.critical_summary(sched)


def test_staging_deploys_faster_than_prod(staging, prod):
    assert staging.schedule.total < prod.schedule.total
    assert all(s.resource.get("multiAz") is not True for s in staging.schedule.critical_path)


def _workload(graph: Graph, name: str) -> Resource:
    hits = [r for r in diagram.service_resources(graph, name)
            if r.type in ("aws:ecs/service:Service", "docker:index/container:Container")
            and r.get("mustRun") is not False]
    assert hits, f"no workload for {name}"
    return hits[0]


def test_independent_services_start_together_and_a_dependent_one_waits(three):
    graph, sched = three
    alpha, beta, gamma = (_workload(graph, n) for n in ("alpha", "beta", "gamma"))
    assert sched.start_of(alpha) == pytest.approx(sched.start_of(beta))  # no false serialisation
    assert sched.start_of(gamma) >= sched.step(alpha).finish
    assert sched.start_of(gamma) > sched.start_of(beta)


def test_waiting_for_a_component_means_waiting_for_everything_inside_it():
    parent = component("twinstack-database")
    slow = res("aws:rds/instance:Instance", "db", parent, multiAz=True)
    fast = res("aws:rds/subnetGroup:SubnetGroup", "subnets", parent)
    app = res("aws:ecs/service:Service", "app", deps=(parent,), waitForSteadyState=False)
    child_of_late = res("aws:cloudwatch/logGroup:LogGroup", "logs", parent)  # a child never waits for its parent
    graph = Graph([parent, fast, slow, child_of_late, app], {}, 0.0, "t")
    sched = deploy_time.schedule(graph, "aws")
    assert sched.start_of(app) == sched.step(slow).finish == 17 * 60
    assert sched.start_of(child_of_late) == 0 and sched.start_of(fast) == 0
    assert [s.resource.name for s in sched.critical_path] == ["db", "app"]
    assert sched.low < sched.total < sched.high


def test_a_dependency_cycle_is_reported():
    a = res("aws:iam/role:Role", "a")
    b = res("aws:iam/role:Role", "b", deps=(a,))
    a.dependencies.append(b.urn)
    with pytest.raises(ValueError, match="dependency cycle"):
        deploy_time.schedule(Graph([a, b], {}, 0.0, "t"), "aws")


def test_docker_estimate_comes_from_builds_pulls_and_health_waits(dev):
    sched = dev.schedule
    kinds = {s.resource.type for s in sched.critical_path if s.duration.typical > 0}
    assert "docker:index/image:Image" in kinds or "docker:index/remoteImage:RemoteImage" in kinds
    postgres = next(r for r in dev.graph.of_type("docker:index/container:Container") if r.get("name", "").endswith(
        "postgres"))
    step = sched.step(postgres)
    interval = int(re.match(r"(\d+)s", postgres.get("healthcheck")["interval"]).group(1))
    assert step.duration.typical >= interval  # waits for at least one passing probe
    assert "healthy" in step.duration.why
    app = _workload(dev.graph, "demo")
    assert sched.start_of(app) >= step.finish  # the app waits for a healthy database
    assert 30 <= sched.total <= 10 * 60


# -------------------------------------------------------------------------------------------------- diagram


def _names_every_service_and_route(plan) -> None:
    text = plan.diagram.mermaid()
    for svc in plan.cfg.services:
        shown = f"{svc.name} :{svc.port}" if svc.port is not None else f"{svc.name} (worker)"
        assert re.search(rf'\["{re.escape(shown)}', text), f"service {svc.name} missing"
    for route in plan.cfg.proxy.routes:
        assert re.search(rf'-->\|"[^"]*{re.escape(route.path)}', text), f"route {route.path} missing"


def test_dev_diagram_names_every_service_and_route_and_places_the_data_tier_on_the_internal_network(dev):
    _names_every_service_and_route(dev)
    text = dev.diagram.mermaid()
    internal = re.search(r'subgraph \w+\["docker network dev-internal \(internal[^"]*"\]\n(.*?)\n\s*end', text, re.S)
    assert internal and "PostgreSQL" in internal.group(1) and "Redis" in internal.group(1)
    assert "svc_demo --> db" in text and "svc_demo --> cache" in text and "svc_demo --> storage" in text


def test_prod_diagram_places_the_alb_in_public_and_the_rest_in_private_subnets(prod):
    _names_every_service_and_route(prod)
    text = prod.diagram.mermaid()
    public = re.search(r'subgraph zone_public\["public subnets[^"]*"\]\n(.*?)\n\s*end', text, re.S).group(1)
    private = re.search(r'subgraph zone_private\["private subnets[^"]*"\]\n(.*?)\n\s*end', text, re.S).group(1)
    assert "ALB HTTPS :443" in public and "NAT gateway x3" in public
    assert "svc_demo" in private and "Multi-AZ" in private and "ElastiCache" in private
    assert text.index('subgraph vpc["VPC 10.30.0.0/16 (3 AZs)"]') < text.index("subgraph zone_p")


def test_castiel_diagram_names_all_21_services_and_the_documented_dependencies(castiel):
    _names_every_service_and_route(castiel)
    text = castiel.diagram.mermaid()
    assert len(castiel.cfg.services) == 21
    for svc in castiel.cfg.services:
        for dep in svc.depends_on:
            assert f'{diagram.service_id(svc.name)} -.->|"dependsOn"| {diagram.service_id(dep)}' in text


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_diagram_names_its_services_and_routes(example):
    _names_every_service_and_route(example_plan(example))


def test_mermaid_parses_with_the_real_mermaid_parser(dev, prod, castiel, tmp_path):
    """Mermaid 11's own parser (under jsdom). `npm install --prefix .cache/mermaid mermaid@11 jsdom@24` sets it up."""
    modules = Path(os.environ.get("TWINSTACK_MERMAID_DIR", ROOT / ".cache" / "mermaid")) / "node_modules"
    if not shutil.which("node") or not (modules / "mermaid").is_dir() or not (modules / "jsdom").is_dir():
        pytest.skip(f"needs node and mermaid + jsdom in {modules} "
                    "(npm install --prefix .cache/mermaid mermaid@11 jsdom@24)")
    script = tmp_path / "parse.mjs"
    script.write_text(MERMAID_PARSE_JS)
    files = []
    for plan in (dev, prod, castiel):
        f = tmp_path / f"{plan.name}.mmd"
        f.write_text(plan.diagram.mermaid())
        files.append(str(f))
    broken = tmp_path / "broken.mmd"
    broken.write_text("flowchart LR\n  a --> |unclosed\n")
    run = subprocess.run(["node", str(script), str(modules), *files, str(broken)], capture_output=True, text=True,
                         timeout=120)
    results = dict(line.split(" ", 1)[::-1] for line in run.stdout.splitlines() if line.startswith(("ok ", "FAIL ")))
    assert [results.get(f) for f in files] == ["ok"] * len(files), run.stdout + run.stderr
    assert run.returncode == 1 and "FAIL" in run.stdout.splitlines()[-1]  # the check can fail


MERMAID_PARSE_JS = """
import { createRequire } from 'module';
import { pathToFileURL } from 'url';
import fs from 'fs';
const modules = process.argv[2];
const require = createRequire(modules + '/');
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import(pathToFileURL(modules + '/mermaid/dist/mermaid.core.mjs').href);
mermaid.initialize({ startOnLoad: false });
let failed = 0;
for (const file of process.argv.slice(3)) {
  try { await mermaid.parse(fs.readFileSync(file, 'utf8')); console.log('ok', file); }
  catch (e) { failed++; console.log('FAIL', file); console.error(String(e.message || e).slice(0, 300)); }
}
process.exit(failed ? 1 : 0);
"""


# ------------------------------------------------------------------------------------------ tree and command


def test_resource_tree_counts_add_up_per_part(prod):
    parts = Parts(prod.graph)
    names = parts.names()
    for part in ("network", "secrets", "database", "cache", "storage", "proxy", "services", "monitoring"):
        assert part in names
    assert sum(len(parts.members(p)) for p in names) == len(prod.graph.custom())
    tree = resource_tree(prod.graph)
    for part in names:
        assert re.search(rf"^[├└]─ {part}: {len(parts.members(part))}$", tree, re.M), part
    assert re.search(r"aws:NatGateway x3", tree)


def test_parts_come_from_the_registry_not_from_logical_names(prod):
    """Every Platform child renamed (its logical name says nothing of its part any more): each resource keeps its
    part, the tree its counts per part and the estimate its cost per part."""
    graph = copy.deepcopy(prod.graph)
    platform = graph.of_type(PLATFORM_TYPE)[0]
    for i, child in enumerate(graph.children(platform)):
        child.name = f"part-{i}"
    before, after = Parts(prod.graph), Parts(graph)
    assert [after.of(r) for r in graph.resources] == [before.of(r) for r in prod.graph.resources]
    assert after.names() == before.names() and set(after.names()) <= set(PART_ORDER)
    assert {p: len(after.members(p)) for p in after.names()} == {p: len(before.members(p)) for p in before.names()}
    assert cost.estimate(graph).by_part() == pytest.approx(prod.estimate.by_part())
    assert before.of(prod.graph.one("aws:rds/instance:Instance")) == "database"


def test_a_resource_belongs_to_the_nearest_component_the_registry_knows():
    platform = res(PLATFORM_TYPE, "p", custom=False)
    db = res("twinstack:aws:Database", "p-postgres", platform, custom=False)
    helper = res("twinstack:aws:Helper", "p-postgres-helper", db, custom=False)  # no kind: the part above it
    instance = res("aws:rds/instance:Instance", "db", helper)
    store = res("twinstack:docker:SecretStore", "p-db-store", db, custom=False)  # a part's own kind wins
    secret = res("aws:secretsmanager/secret:Secret", "s", store)
    stray = res("twinstack:aws:Extra", "p-database", platform, custom=False)  # named like a part, of no kind
    bucket = res("aws:s3/bucket:Bucket", "b", stray)
    provider = res("pulumi:providers:aws", "default")
    parts = Parts(Graph([platform, db, helper, instance, store, secret, stray, bucket, provider], {}, 0.0, "t"))
    assert [parts.of(r) for r in (instance, helper, secret, bucket, provider, platform)] == [
        "database", "database", "secrets", "stack", "stack", "stack"]
    assert parts.roots == {"database": [db], "secrets": [store]}
    assert parts.names() == ["secrets", "database", "stack"]  # the registry's order, stack last


def _every_kind(backend: str) -> dict:
    return {"backend": backend, "environment": "staging" if backend == "aws" else "development",
            **{kind.key: {} for kind in PART_KINDS},
            "services": [{"name": f"uses-{kind.key}", "image": "nginx:1.27-alpine", "port": 8000 + i,
                          "uses": [kind.key], "healthCheck": {"path": "/"}} for i, kind in enumerate(PART_KINDS)],
            "proxy": {"allowHttp": True, "routes": [{"path": "/", "service": f"uses-{PART_KINDS[0].key}"}]}}


@pytest.mark.parametrize("backend", ["docker", "aws"])
def test_the_diagram_draws_every_part_kind_and_a_kind_without_a_label_of_its_own_still(backend, monkeypatch):
    config = _every_kind(backend)
    stack = "dev" if backend == "docker" else "staging"
    cfg = load(stack, {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}).stack
    graph = run_config(config, stack=stack)
    specific = diagram.build(cfg, graph)
    monkeypatch.setattr(diagram, "LABELS", {})  # as for a kind added to the registry after the diagram was written
    generic = diagram.build(cfg, graph)
    for d in (specific, generic):
        nodes = {n.id: n for n in d.nodes}
        for kind in PART_KINDS:
            node = nodes[diagram.kind_id(kind.key)]
            assert node.shape == "store" and node.css == "data" and node.label, kind.key
            assert (diagram.service_id(f"uses-{kind.key}"), node.id, "", "solid") in d.edges
    for kind in PART_KINDS:
        label = next(n.label for n in generic.nodes if n.id == diagram.kind_id(kind.key))
        assert label.startswith(KINDS[kind.key].summary), label
    db = next(n.label for n in specific.nodes if n.id == diagram.kind_id("database"))
    assert db.startswith(f"PostgreSQL {cfg.database.version}<br/>"), db  # the specific label: the engine version


def test_the_command_prints_every_section_and_writes_the_architecture_doc(tmp_path, capsys):
    assert main(["staging", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for section in ("staging: ", "== architecture (Mermaid)", "flowchart LR", "Monthly cost estimate for staging",
                    "First `pulumi up` of staging", "critical path"):
        assert section in printed
    doc = (tmp_path / "architecture-staging.md").read_text()
    assert "```mermaid\nflowchart LR" in doc and "## Monthly cost" in doc and "python -m tools.plan staging" in doc


def test_the_command_refuses_an_unknown_region(tmp_path, capsys):
    assert main(["staging", "--region", "mars-north-1", "--no-write"]) == 2
    assert "known:" in capsys.readouterr().err


def test_readme_section_has_dev_and_prod_diagrams_and_staging_and_prod_costs(dev, staging, prod):
    text = readme_section({"dev": dev, "staging": staging, "prod": prod})
    assert text.count("```mermaid") == 2
    assert "### Monthly cost: staging" in text and "### Monthly cost: prod" in text
    assert f"**{staging.estimate.total:,.2f}**" in text and f"**{prod.estimate.total:,.2f}**" in text
    assert "python -m tools.plan --all" in text


def test_totals_do_not_depend_on_the_order_resources_registered_in():
    """Resources register in an order that varies between runs; a sum in that order drifted by a float's last bit, so
    a total on a half cent printed $14.27 or $14.28 from one run to the next."""
    import random

    from tools.cost import Estimate, Line

    amounts = [0.1, 0.2, 0.3, 1e-3, 7.125, 3.3333, 0.005] * 7
    totals, by_part = set(), set()
    for seed in range(30):
        shuffled = list(amounts)
        random.Random(seed).shuffle(shuffled)
        est = Estimate("t", "us-east-1", "test", lines=[Line("p", f"item {i}", 1, "month", amount, (f"r{i}",))
                                                         for i, amount in enumerate(shuffled)])
        totals.add(est.total)
        by_part.add(est.by_part()["p"])
    assert len(totals) == 1 and len(by_part) == 1


def test_the_generated_plan_pages_are_current(tmp_path, capsys):
    """docs/architecture-<stack>.md and docs/plan-tables.md are what `python -m tools.plan --all` writes today: a change
    to the graph, the prices or the schedule regenerates them in the same commit."""
    from tools.plan import write_all

    stale = [path.name for path in write_all(tmp_path, None)
             if path.read_text() != (ROOT / "docs" / path.name).read_text()]
    assert not stale, f"stale: {stale}; run `.venv/bin/python -m tools.plan --all`"
