"""The fake provider (tools/mocks.py) gives every output the program reads a value of the real shape, and the recorder
(tools/graph.py) starts every run afresh, even after a run that failed.

Which outputs a type has comes from the provider SDK itself (`@pulumi.getter` on pulumi_aws / pulumi_docker /
pulumi_random classes), not from the mocks. The strongest check needs no list of what the program reads: recorded as
`pulumi preview` records (`preview=True`), an output the mocks do not give is unknown, and so is every input made from
it; so no input anywhere in the stacks' graphs may be unknown.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

from tests.harness import ROOT, Graph, ProgramError, provided, run_components, run_stack, stack_file_config
from tests.test_aws_variants import RICH
from tests.test_urns import CERT_ARN, EXAMPLES, baseline, snapshot
from tools import mocks
from tools.mocks import ACCOUNT, REGION, fake_outputs, outputs_of

STACKS = ("dev", "staging", "prod", "rich")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
HEX17 = r"[0-9a-f]{17}"
AT = f"{REGION}:{ACCOUNT}"

# type -> (the id it gets, its ARN), as AWS, Docker and random make them
SHAPES: dict[str, tuple[str, str | None]] = {
    "aws:kms/key:Key": (UUID, rf"arn:aws:kms:{AT}:key/{UUID}"),
    "aws:kms/alias:Alias": (r"alias/[\w/-]+", rf"arn:aws:kms:{AT}:alias/[\w/-]+"),
    "aws:secretsmanager/secret:Secret": (rf"arn:aws:secretsmanager:{AT}:secret:[\w/+=.@-]+-[A-Za-z]{{6}}",
                                         rf"arn:aws:secretsmanager:{AT}:secret:[\w/+=.@-]+-[A-Za-z]{{6}}"),
    "aws:secretsmanager/secretVersion:SecretVersion": (rf"arn:aws:secretsmanager:{AT}:secret:\S+-[A-Za-z]{{6}}\|{UUID}",
                                                       rf"arn:aws:secretsmanager:{AT}:secret:\S+-[A-Za-z]{{6}}"),
    "aws:cloudwatch/logGroup:LogGroup": (r"[\w/.-]+", rf"arn:aws:logs:{AT}:log-group:[\w/.-]+"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (r"[\w .-]+", rf"arn:aws:cloudwatch:{AT}:alarm:[\w .-]+"),
    "aws:iam/role:Role": (r"[\w+=,.@-]+", rf"arn:aws:iam::{ACCOUNT}:role/[\w+=,.@/-]+"),
    "aws:ecs/cluster:Cluster": (rf"arn:aws:ecs:{AT}:cluster/[\w-]+", rf"arn:aws:ecs:{AT}:cluster/[\w-]+"),
    "aws:ecs/service:Service": (rf"arn:aws:ecs:{AT}:service/[\w-]+/[\w-]+", rf"arn:aws:ecs:{AT}:service/[\w-]+/[\w-]+"),
    "aws:ecs/taskDefinition:TaskDefinition": (r"[\w-]+", rf"arn:aws:ecs:{AT}:task-definition/[\w-]+:\d+"),
    "aws:lb/loadBalancer:LoadBalancer": (rf"arn:aws:elasticloadbalancing:{AT}:loadbalancer/app/[\w-]+/[0-9a-f]{{16}}",
                                         rf"arn:aws:elasticloadbalancing:{AT}:loadbalancer/app/[\w-]+/[0-9a-f]{{16}}"),
    "aws:lb/targetGroup:TargetGroup": (rf"arn:aws:elasticloadbalancing:{AT}:targetgroup/[\w-]+/[0-9a-f]{{16}}",
                                       rf"arn:aws:elasticloadbalancing:{AT}:targetgroup/[\w-]+/[0-9a-f]{{16}}"),
    "aws:lb/listener:Listener": (rf"arn:aws:elasticloadbalancing:{AT}:listener/app/[\w-]+/[0-9a-f]{{16}}/[0-9a-f]{{16}}",
                                 None),
    "aws:s3/bucket:Bucket": (r"[a-z0-9.-]{3,63}", r"arn:aws:s3:::[a-z0-9.-]{3,63}"),
    "aws:ec2/vpc:Vpc": (f"vpc-{HEX17}", rf"arn:aws:ec2:{AT}:vpc/vpc-{HEX17}"),
    "aws:ec2/subnet:Subnet": (f"subnet-{HEX17}", rf"arn:aws:ec2:{AT}:subnet/subnet-{HEX17}"),
    "aws:ec2/securityGroup:SecurityGroup": (f"sg-{HEX17}", rf"arn:aws:ec2:{AT}:security-group/sg-{HEX17}"),
    "aws:ec2/routeTable:RouteTable": (f"rtb-{HEX17}", rf"arn:aws:ec2:{AT}:route-table/rtb-{HEX17}"),
    "aws:ec2/internetGateway:InternetGateway": (f"igw-{HEX17}", rf"arn:aws:ec2:{AT}:internet-gateway/igw-{HEX17}"),
    "aws:ec2/natGateway:NatGateway": (f"nat-{HEX17}", None),
    "aws:ec2/eip:Eip": (f"eipalloc-{HEX17}", rf"arn:aws:ec2:{AT}:elastic-ip/eipalloc-{HEX17}"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (f"vpce-{HEX17}", rf"arn:aws:ec2:{AT}:vpc-endpoint/vpce-{HEX17}"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (f"sgr-{HEX17}", None),
    "aws:rds/instance:Instance": (r"db-[A-Z0-9]{26}", rf"arn:aws:rds:{AT}:db:[a-z][a-z0-9-]*"),
    "aws:elasticache/replicationGroup:ReplicationGroup": (r"[a-z][a-z0-9-]*",
                                                          rf"arn:aws:elasticache:{AT}:replicationgroup:[a-z0-9-]+"),
    "aws:mq/broker:Broker": (rf"b-{UUID}", rf"arn:aws:mq:{AT}:broker:[\w-]+:b-{UUID}"),
    "aws:ecr/repository:Repository": (r"[a-z0-9._/-]+", rf"arn:aws:ecr:{AT}:repository/[a-z0-9._/-]+"),
    "aws:sns/topic:Topic": (rf"arn:aws:sns:{AT}:[\w-]+", rf"arn:aws:sns:{AT}:[\w-]+"),
    "docker:index/container:Container": (r"[0-9a-f]{64}", None),
    "docker:index/network:Network": (r"[0-9a-f]{64}", None),
    "pulumi:providers:aws": (UUID, None),
}


@functools.cache
def recorded(stack: str, preview: bool = False) -> Graph:
    if stack == "rich":
        return run_stack("prod", set=RICH, preview=preview)
    return run_stack(stack, preview=preview)


def unknowns(value: Any, path: str = "") -> list[str]:
    """The paths in a recorded value that are unknown (what an output the mocks did not give turns into)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unknowns(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in unknowns(v, f"{path}[{i}]")]
    return [path] if value == rpc.UNKNOWN else []


def missing(graph: Graph) -> list[str]:
    found = [f"{r.type} {r.name}: {p}" for r in graph.resources for p in unknowns(r.inputs)]
    return found + [f"export {p}" for p in unknowns(graph.outputs)]


@pytest.mark.parametrize("stack", STACKS)
def test_no_recorded_input_lacks_a_value_because_the_mocks_lack_an_output(stack):
    preview = recorded(stack, preview=True)
    assert missing(preview) == []
    # and no resource hid behind an unknown: the preview declares what the recording does, wired the same
    real = recorded(stack)
    assert sorted(r.urn for r in preview.resources) == sorted(r.urn for r in real.resources)
    assert {r.urn: r.inputs for r in preview.resources} == {r.urn: r.inputs for r in real.resources}


def _example(name: str, backend: str, preview: bool) -> Graph:
    """An example as tests/test_urns.py records it: on docker as written, or promoted to production on aws."""
    file = ROOT / "examples" / f"{name}.yaml"
    if backend == "docker":
        return run_stack(name, file=file, preview=preview)
    proxy = {**stack_file_config(file)[0]["twinstack:proxy"], "tls": {"certificateArn": CERT_ARN}}
    return run_stack(name, file=file, preview=preview, set={
        "twinstack:backend": "aws", "twinstack:environment": "production", "twinstack:proxy": proxy})


@pytest.mark.parametrize("backend", ["docker", "aws"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_no_example_input_lacks_a_value_either(name, backend):
    graph = _example(name, backend, preview=True)
    assert missing(graph) == []
    # and every type it registers is one the mocks know, not left to the generic fallback
    assert {r.type for r in graph.custom()} - set(mocks._TYPES) - {"pulumi:providers:aws", "pulumi:providers:docker",
                                                                    "random:index/randomPassword:RandomPassword"} == set()


def test_the_check_finds_an_output_the_mocks_leave_out(monkeypatch):
    """As the mocks once did: a KMS key without its `keyId` leaves the alias's `targetKeyId` unknown."""
    real = mocks.fake_outputs

    def no_key_id(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        out = real(typ, name, inputs)
        if typ == "aws:kms/key:Key":
            del out["keyId"]
        return out

    monkeypatch.setattr(mocks, "fake_outputs", no_key_id)
    assert missing(run_stack("staging", preview=True)) == ["aws:kms/alias:Alias twinstack-network-key-alias: .targetKeyId"]


def test_the_kms_alias_targets_its_keys_key_id_a_uuid(staging):
    [key], [alias] = staging.of_type("aws:kms/key:Key"), staging.of_type("aws:kms/alias:Alias")
    key_id = provided(key, "keyId")
    assert re.fullmatch(UUID, key_id)
    assert alias.get("targetKeyId") == key_id == provided(key)
    assert provided(key, "arn") == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
    assert provided(alias, "targetKeyArn") == provided(key, "arn")
    assert key.urn in alias.property_dependencies["targetKeyId"]


@pytest.mark.parametrize("stack", STACKS)
def test_ids_and_arns_have_each_services_format(stack):
    graph, checked = recorded(stack), set()
    for r in graph.custom():
        if r.type not in SHAPES:
            continue
        id_shape, arn_shape = SHAPES[r.type]
        assert re.fullmatch(id_shape, provided(r)), (r.type, r.name, provided(r))
        if arn_shape:
            assert re.fullmatch(arn_shape, provided(r, "arn")), (r.type, r.name, provided(r, "arn"))
        checked.add(r.type)
    assert checked, "no resource of a known shape"


@pytest.mark.parametrize("stack", STACKS)
def test_the_mocks_give_only_outputs_the_type_declares_and_every_arn_is_an_arn(stack):
    """Every key the mocks add is an output of the SDK class (no invented property), each ARN one of this account and
    region (or of none, for IAM, S3 and dashboards), and no value they add is empty."""
    for r in recorded(stack).custom():
        out = fake_outputs(r.type, r.name, r.inputs)
        added = {k: v for k, v in out.items() if k not in r.inputs and k != "id"}
        if r.type.startswith("pulumi:providers:"):
            assert added == {}
            continue
        assert set(added) <= outputs_of(r.type), (r.type, set(added) - outputs_of(r.type))
        for key, value in added.items():
            # a one-off's logs may be empty (it printed nothing): the one output whose real value can be ""
            assert value not in (None, "") or key == "containerLogs", (r.type, r.name, key)
            if key == "arn" or key.endswith("Arn"):
                assert re.fullmatch(rf"arn:aws:[a-z0-9-]+:({REGION})?:({ACCOUNT})?:\S+", value), (r.type, key, value)


def test_outputs_of_reads_the_provider_sdk():
    assert {"keyId", "arn", "tagsAll"} <= outputs_of("aws:kms/key:Key")
    assert {"exitCode", "containerLogs"} <= outputs_of("docker:index/container:Container")
    assert "result" in outputs_of("random:index/randomPassword:RandomPassword")
    assert outputs_of("twinstack:aws:Service") == frozenset()


def test_values_are_a_function_of_type_name_and_inputs():
    key = fake_outputs("aws:kms/key:Key", "k", {})
    assert key == fake_outputs("aws:kms/key:Key", "k", {}) != fake_outputs("aws:kms/key:Key", "other", {})
    bucket = fake_outputs("aws:s3/bucket:Bucket", "logs", {})
    assert re.fullmatch(r"logs-[0-9a-f]{7}", bucket["bucket"]) and bucket["arn"] == f"arn:aws:s3:::{bucket['bucket']}"
    secret = fake_outputs("aws:secretsmanager/secret:Secret", "s", {"name": "app/db"})
    assert re.fullmatch(rf"arn:aws:secretsmanager:{AT}:secret:app/db-[A-Za-z]{{6}}", secret["arn"])
    assert secret["id"] == secret["arn"]


# ------------------------------------------------------------------------------------------- a fresh run each time


def _fails() -> None:
    box = pulumi.ComponentResource("test:index:Box", "first-box")
    pulumi.export("fromTheFirstRun", "leaked")

    def boom(_: Any) -> str:
        raise pulumi.RunError("the first run fails")

    pulumi.export("broken", pulumi.Output.from_input("x").apply(boom))
    del box


def _succeeds() -> None:
    pulumi.ComponentResource("test:index:Box", "second-box")
    pulumi.export("fromTheSecondRun", "ok")


def test_a_run_after_a_failed_one_has_its_own_root_stack_and_exports():
    with pytest.raises(ProgramError, match="the first run fails"):
        run_components(_fails, stack="first")
    second = run_components(_succeeds, stack="second")
    [box] = second.resources
    assert box.parent == "urn:pulumi:second::twinstack::pulumi:pulumi:Stack::twinstack-second"
    assert second.outputs == {"fromTheSecondRun": "ok"}


def test_a_stack_recorded_after_a_failed_deployment_is_the_stack_recorded_alone(monkeypatch):
    real = mocks.fake_outputs

    def migration_fails(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        out = real(typ, name, inputs)
        if name.endswith("-migration"):
            out.update(exitCode=3, containerLogs="ERROR\n")
        return out

    monkeypatch.setattr(mocks, "fake_outputs", migration_fails)
    with pytest.raises(ProgramError, match="the demo migration failed"):
        run_stack("dev")
    monkeypatch.setattr(mocks, "fake_outputs", real)
    staging = run_stack("staging")
    roots = {r.parent for r in staging.resources if r.parent and "::pulumi:pulumi:Stack::" in r.parent}
    assert roots == {"urn:pulumi:staging::twinstack::pulumi:pulumi:Stack::twinstack-staging"}
    assert snapshot(staging) == baseline()["staging"]
