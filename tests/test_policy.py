"""The CrossGuard pack (policy/) run as the Pulumi CLI runs it, without the CLI.

`evaluate` hands each policy what the engine would: resource properties through a protobuf Struct and the SDK's own
deserializer (numbers become floats, secrets are unwrapped, maps and lists are unknown-checking proxies), resource
options, providers, and for stack policies `PolicyResource`s linked to their parents and (property) dependencies. The
stack's config and name are set the way the CLI passes them to a pack, so production is detected as in real use.

Every stack and every example must pass every policy; every policy must catch at least one broken resource.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import importlib.metadata
import json
import os
import runpy
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pulumi
import pulumi_policy
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from config.load import default_environment
from config.parts import DATA_TIER, KINDS, PART_KINDS
from policy.guardrails import POLICIES, aws_compute
from policy.guardrails import registry as guardrail_registry
from policy.guardrails.common import is_production
from tests.harness import ROOT, Graph, Resource, run_stack, stack_file_config
from tools.graph import SECRET
from tools.mocks import fake_outputs

BY_NAME = {p.name: p for p in POLICIES}
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))


# ------------------------------------------------------------------------------------------- the engine's view


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str


def _wire(value: Any) -> Any:
    """A recorded input as the engine serialises it (secrets as the special signature map)."""
    if isinstance(value, dict):
        if set(value) == {SECRET}:
            return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": _wire(value[SECRET])}
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def engine_props(inputs: dict[str, Any]) -> Any:
    struct = struct_pb2.Struct()
    struct.update(_wire(inputs))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _options(r: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=r.protect, ignore_changes=list(r.ignore_changes),
                                 delete_before_replace=r.delete_before_replace or None,
                                 aliases=[str(a) for a in r.aliases], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=list(r.additional_secret_outputs), parent=r.parent)


def _provider(r: Resource, by_urn: dict[str, Resource]) -> PolicyProviderResource | None:
    # a provider reference is "<urn>::<id>"
    p = by_urn.get(r.provider.rsplit("::", 1)[0]) if r.provider else None
    return PolicyProviderResource(p.type, engine_props(p.inputs), p.urn, p.name) if p else None


def _stack_resources(resources: list[Resource]) -> list[PolicyResource]:
    """A stack policy sees each resource's state after the step, i.e. its outputs: what the mocks returned."""
    by_urn = {r.urn: r for r in resources}
    state = {r.urn: fake_outputs(r.type, r.name, r.inputs) if r.custom else r.inputs for r in resources}
    made = {r.urn: PolicyResource(r.type, engine_props(state[r.urn]), r.urn, r.name, _options(r),
                                  _provider(r, by_urn), None, [], {}) for r in resources}
    for r in resources:
        made[r.urn].parent = made.get(r.parent) if r.parent else None
        made[r.urn].dependencies = [made[u] for u in r.dependencies if u in made]
        made[r.urn].property_dependencies = {k: [made[u] for u in urns if u in made]
                                             for k, urns in r.property_dependencies.items()}
    return list(made.values())


def evaluate(resources: Iterable[Resource], stack_config: dict[str, str] | None = None, stack: str = "test",
             policy_config: dict[str, dict[str, Any]] | None = None,
             policies: Iterable[Any] = POLICIES) -> list[Violation]:
    """Run the policies over the resources with the stack's config and name set as the CLI sets them for a pack."""
    resources = list(resources)
    by_urn = {r.urn: r for r in resources}
    found: list[Violation] = []

    def run() -> None:
        pulumi.runtime.set_all_config(dict(stack_config or {}), [])
        # built once and shared: no policy writes to what it is given
        props = {r.urn: engine_props(r.inputs) for r in resources}
        options = {r.urn: _options(r) for r in resources}
        providers = {r.urn: _provider(r, by_urn) for r in resources}
        stack_resources = _stack_resources(resources)
        for policy in policies:
            config = (policy_config or {}).get(policy.name)

            def report(message: str, urn: str | None = None, policy: Any = policy, default: str = "") -> None:
                found.append(Violation(policy.name, urn or default, message))

            if isinstance(policy, ResourceValidationPolicy):
                for r in resources:
                    args = ResourceValidationArgs(r.type, props[r.urn], r.urn, r.name, options[r.urn],
                                                  providers[r.urn], config)
                    policy.validate(args, lambda m, u=None, r=r, p=policy: report(m, None, p, r.urn))
            else:
                assert isinstance(policy, StackValidationPolicy)
                policy.validate(StackValidationArgs(stack_resources, config), report)

    previous = runtime_settings.SETTINGS.stack
    runtime_settings._set_stack(stack)
    try:
        contextvars.copy_context().run(run)
    finally:
        runtime_settings._set_stack(previous)
    return found


def _raw(config: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


@dataclass
class Stack:
    graph: Graph
    config: dict[str, str]
    name: str

    def violations(self, **kwargs: Any) -> list[Violation]:
        return evaluate(self.graph.resources, self.config, self.name, **kwargs)


def record(stack: str, file: Path | None = None, overrides: dict[str, Any] | None = None) -> Stack:
    config, _ = stack_file_config(file or ROOT / f"Pulumi.{stack}.yaml")
    config.update(overrides or {})
    return Stack(run_stack(stack, set=overrides, file=file), _raw(config), stack)


def aws_production(example: str) -> dict[str, Any]:
    """An example moved to AWS as production: the backend, the environment and a certificate are all it needs."""
    config, _ = stack_file_config(ROOT / "examples" / f"{example}.yaml")
    proxy = {k: v for k, v in config["twinstack:proxy"].items() if k not in ("tls", "allowHttp")}
    proxy["tls"] = {"domain": f"{example}.example.com", "zoneId": "Z0123456789EXAMPLE"}
    overrides: dict[str, Any] = {"twinstack:backend": "aws", "twinstack:environment": "production",
                                 "twinstack:proxy": proxy}
    if "twinstack:database" in config:
        overrides["twinstack:database"] = {k: v for k, v in config["twinstack:database"].items() if k != "initSql"}
    return overrides


def describe(violations: list[Violation]) -> str:
    return "\n".join(f"{v.policy}: {v.urn.rsplit('::', 1)[-1]}: {v.message}" for v in violations)


# ------------------------------------------------------------------------------------------ the pack itself


def test_the_pack_builds_from_every_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: built.update(kwargs))
    monkeypatch.syspath_prepend(str(ROOT / "policy"))
    runpy.run_path(str(ROOT / "policy"), run_name="__main__")  # how the CLI's python host runs a pack
    assert built["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY
    assert [p.name for p in built["policies"]] == [p.name for p in POLICIES]
    assert len({p.name for p in POLICIES}) == len(POLICIES), "policy names must be unique"


def test_pack_project_file_and_pinned_sdk() -> None:
    project = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python" and project["name"] == "twinstack-guardrails"
    pins = dict(line.split("==") for line in (ROOT / "policy" / "requirements.txt").read_text().splitlines()
                if "==" in line)
    assert pins["pulumi-policy"] == importlib.metadata.version("pulumi-policy")
    assert pins["pulumi"] == importlib.metadata.version("pulumi")


@pytest.mark.parametrize("stack", ["prod", "production-eu", "prod-1", "staging", "dev", "preprod", "test"])
def test_production_falls_back_to_the_stack_name_as_config_load_does(stack: str) -> None:
    seen: list[bool] = []

    def run() -> None:
        pulumi.runtime.set_all_config({}, [])
        seen.append(is_production({}))

    previous = runtime_settings.SETTINGS.stack
    runtime_settings._set_stack(stack)
    try:
        contextvars.copy_context().run(run)
    finally:
        runtime_settings._set_stack(previous)
    assert seen == [default_environment(stack) == "production"]


@pytest.fixture(scope="module")
def pack_server() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack as a plugin: `python -m pulumi.policy <engine> policy`, the way the CLI's python host starts it, with
    the environment the CLI gives it (the stack's config as PULUMI_CONFIG, project, stack, dry run)."""
    env = {**os.environ, "PULUMI_CONFIG": json.dumps({"twinstack:environment": "production"}),
           "PULUMI_PROJECT": "twinstack", "PULUMI_STACK": "prod", "PULUMI_DRY_RUN": "true"}
    process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(ROOT / "policy")],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().strip() if process.stdout else ""
        assert port.isdigit(), f"the pack did not start: {process.stderr.read() if process.stderr else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_wire(props))
    return struct


def test_the_pack_serves_every_policy_as_mandatory(pack_server: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = pack_server.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "twinstack-guardrails"
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels.pop("budget-warning") == analyzer_pb2.ADVISORY  # a warning near the budget; over it is `budget`
    assert set(levels.values()) == {analyzer_pb2.MANDATORY}


def test_the_served_pack_reads_production_from_the_stack_config(pack_server: analyzer_pb2_grpc.AnalyzerStub) -> None:
    db = aws_world()["rds"]
    db.inputs["deletionProtection"] = False
    response = pack_server.Analyze(analyzer_pb2.AnalyzeRequest(
        type=db.type, properties=_struct(db.inputs), urn=db.urn, name=db.name,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=True)))
    assert [d.policyName for d in response.diagnostics] == ["rds-production-safeguards"]


def test_the_served_pack_runs_stack_policies(pack_server: analyzer_pb2_grpc.AnalyzerStub) -> None:
    world = aws_world()
    del world["pab"]
    response = pack_server.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name,
            options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect), parent=r.parent or "",
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                                  for k, v in r.property_dependencies.items()})
        for r in world.values()]))
    assert [(d.policyName, d.urn) for d in response.diagnostics] == [("s3-public-access-blocked", world["bucket"].urn)]


# --------------------------------------------------------------------------- hand-built compliant resources


def fake(type_: str, name: str, props: dict[str, Any] | None = None, *, protect: bool = False,
         parent: Resource | None = None, refs: dict[str, list[Resource]] | None = None) -> Resource:
    return Resource(urn=f"urn:pulumi:test::twinstack::{type_}::{name}", type=type_, name=name, custom=True,
                    parent=parent.urn if parent else None, inputs=props or {}, dependencies=[],
                    property_dependencies={k: [r.urn for r in v] for k, v in (refs or {}).items()}, protect=protect,
                    retain_on_delete=False, delete_before_replace=False, ignore_changes=[], replace_on_changes=[],
                    additional_secret_outputs=[], aliases=[], provider=None)


def component(type_: str, name: str) -> Resource:
    r = fake(type_, name)
    r.custom = False
    return r


def tls_only_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def containers_json(*defs: dict[str, Any]) -> str:
    return json.dumps(list(defs))


def app_container(**overrides: Any) -> dict[str, Any]:
    c = {"name": "api", "image": "api:1", "essential": True, "privileged": False, "readonlyRootFilesystem": True,
         "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PGHOST", "value": "db.internal"}],
         "secrets": [{"name": "DATABASE_URL", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db:::v1"}],
         "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api"}}}
    c.update(overrides)
    return c


def aws_world() -> dict[str, Resource]:
    """A small AWS stack that meets the whole baseline, production settings included."""
    w: dict[str, Resource] = {}
    w["app_sg"] = fake("aws:ec2/securityGroup:SecurityGroup", "app", {
        "description": "app tier", "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0,
                                               "cidrBlocks": ["0.0.0.0/0"], "description": "to AWS APIs"}]})
    w["alb_sg"] = fake("aws:ec2/securityGroup:SecurityGroup", "alb", {"description": "alb", "ingress": [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"], "description": "HTTPS"},
        {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["0.0.0.0/0"], "description": "redirect"}]})
    w["db_sg"] = fake("aws:ec2/securityGroup:SecurityGroup", "db", {"description": "db tier"})
    w["db_in"] = fake("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-app", {
        "securityGroupId": "db-id", "referencedSecurityGroupId": "app-id", "ipProtocol": "tcp", "fromPort": 5432,
        "toPort": 5432, "description": "postgres from the app tier"},
        refs={"securityGroupId": [w["db_sg"]], "referencedSecurityGroupId": [w["app_sg"]]})
    w["cache_sg"] = fake("aws:ec2/securityGroup:SecurityGroup", "cache", {"description": "cache tier"})
    w["cache_in"] = fake("aws:ec2/securityGroupRule:SecurityGroupRule", "cache-from-app", {
        "type": "ingress", "securityGroupId": "cache-id", "sourceSecurityGroupId": "app-id", "protocol": "tcp",
        "fromPort": 6379, "toPort": 6379, "description": "redis from the app tier"},
        refs={"securityGroupId": [w["cache_sg"]]})
    w["mq_sg"] = fake("aws:ec2/securityGroup:SecurityGroup", "mq", {"description": "broker tier", "ingress": [
        {"protocol": "tcp", "fromPort": 5671, "toPort": 5671, "securityGroups": ["app-id"],
         "description": "amqps from the app tier"}]})
    w["app_out"] = fake("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "app-out", {
        "securityGroupId": "app-id", "cidrIpv4": "0.0.0.0/0", "ipProtocol": "-1", "description": "egress"},
        refs={"securityGroupId": [w["app_sg"]]})
    w["pg"] = fake("aws:rds/parameterGroup:ParameterGroup", "pg", {
        "family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "1"}]})
    w["rds"] = fake("aws:rds/instance:Instance", "db", {
        "engine": "postgres", "storageEncrypted": True, "publiclyAccessible": False, "backupRetentionPeriod": 14,
        "autoMinorVersionUpgrade": True, "copyTagsToSnapshot": True, "performanceInsightsEnabled": True,
        "enabledCloudwatchLogsExports": ["postgresql", "upgrade"], "deletionProtection": True,
        "skipFinalSnapshot": False, "finalSnapshotIdentifier": "db-final", "multiAz": True,
        "parameterGroupName": "pg-name", "vpcSecurityGroupIds": ["db-id"], "password": {SECRET: "pw"}},
        protect=True, refs={"parameterGroupName": [w["pg"]], "vpcSecurityGroupIds": [w["db_sg"]]})
    w["redis"] = fake("aws:elasticache/replicationGroup:ReplicationGroup", "cache", {
        "atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "authToken": {SECRET: "tok"},
        "snapshotRetentionLimit": 7, "numCacheClusters": 2, "automaticFailoverEnabled": True, "multiAzEnabled": True,
        "securityGroupIds": ["cache-id"]}, protect=True, refs={"securityGroupIds": [w["cache_sg"]]})
    w["mq"] = fake("aws:mq/broker:Broker", "broker", {
        "publiclyAccessible": False, "logs": {"general": True}, "securityGroups": ["mq-id"]}, protect=True,
        refs={"securityGroups": [w["mq_sg"]]})
    w["ecr"] = fake("aws:ecr/repository:Repository", "api", {"imageTagMutability": "IMMUTABLE"}, protect=True)
    w["bucket"] = fake("aws:s3/bucket:Bucket", "workspace", {"bucketPrefix": "workspace-"}, protect=True)
    on_bucket = {"bucket": [w["bucket"]]}
    w["pab"] = fake("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "workspace-pab", {
        "bucket": "workspace-id", "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
        "restrictPublicBuckets": True}, refs=on_bucket)
    w["sse"] = fake("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    "workspace-sse", {"bucket": "workspace-id", "rules": [
                        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}]},
                    refs=on_bucket)
    w["versioning"] = fake("aws:s3/bucketVersioning:BucketVersioning", "workspace-versioning", {
        "bucket": "workspace-id", "versioningConfiguration": {"status": "Enabled"}}, refs=on_bucket)
    w["ownership"] = fake("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "workspace-ownership", {
        "bucket": "workspace-id", "rule": {"objectOwnership": "BucketOwnerEnforced"}}, refs=on_bucket)
    w["bucket_policy"] = fake("aws:s3/bucketPolicy:BucketPolicy", "workspace-policy", {
        "bucket": "workspace-id", "policy": tls_only_policy("workspace")}, refs=on_bucket)
    w["cluster"] = fake("aws:ecs/cluster:Cluster", "cluster", {
        "settings": [{"name": "containerInsights", "value": "enabled"}]})
    w["task"] = fake("aws:ecs/taskDefinition:TaskDefinition", "api", {
        "family": "api", "taskRoleArn": "arn:aws:iam::1:role/api-task", "executionRoleArn": "arn:aws:iam::1:role/api-exec",
        "containerDefinitions": containers_json(app_container())})
    w["service"] = fake("aws:ecs/service:Service", "api", {"networkConfiguration": {
        "assignPublicIp": False, "subnets": ["private-a"], "securityGroups": ["app-id"]}})
    w["alb"] = fake("aws:lb/loadBalancer:LoadBalancer", "alb", {
        "loadBalancerType": "application", "dropInvalidHeaderFields": True, "enableDeletionProtection": True})
    on_alb = {"loadBalancerArn": [w["alb"]]}
    w["https"] = fake("aws:lb/listener:Listener", "https", {
        "loadBalancerArn": "alb-arn", "port": 443, "protocol": "HTTPS",
        "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "certificateArn": "arn:aws:acm:us-east-1:1:certificate/x",
        "defaultActions": [{"type": "fixed-response", "fixedResponse": {"contentType": "text/plain", "statusCode": "404"}}]},
        refs=on_alb)
    w["http"] = fake("aws:lb/listener:Listener", "http", {
        "loadBalancerArn": "alb-arn", "port": 80, "protocol": "HTTP", "defaultActions": [
            {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]},
        refs=on_alb)
    w["rule"] = fake("aws:lb/listenerRule:ListenerRule", "api-route", {
        "listenerArn": "https-arn", "actions": [{"type": "forward", "targetGroupArn": "tg"}]},
        refs={"listenerArn": [w["https"]]})
    w["logs"] = fake("aws:cloudwatch/logGroup:LogGroup", "api-logs", {"retentionInDays": 90})
    return w


def docker_world() -> dict[str, Resource]:
    """A small docker stack that meets the baseline: data tier on an internal network, nothing else published."""
    w: dict[str, Resource] = {}
    hardened = {"privileged": False, "securityOpts": ["no-new-privileges:true"], "memory": 256,
                "restart": "unless-stopped", "healthcheck": {"tests": ["CMD-SHELL", "true"], "interval": "10s"}}
    w["public"] = fake("docker:index/network:Network", "net-public", {"name": "dev-public", "internal": False})
    w["internal"] = fake("docker:index/network:Network", "net-internal", {"name": "dev-internal", "internal": True})
    w["pg_image"] = fake("docker:index/remoteImage:RemoteImage", "pg-image", {"name": "postgres:16-alpine"})
    w["postgres"] = fake("docker:index/container:Container", "postgres", {
        **hardened, "name": "dev-postgres", "image": "sha256:abc",
        "networksAdvanced": [{"name": "dev-internal", "aliases": ["postgres"]}],
        "envs": [{SECRET: "POSTGRES_PASSWORD=pw"}]},
        refs={"image": [w["pg_image"]], "networksAdvanced": [w["internal"]]})
    # publishing on 127.0.0.1 needs a non-internal network: one of its own, which nothing else joins
    w["redis_host"] = fake("docker:index/network:Network", "redis-host", {"name": "dev-redis-host", "driver": "bridge"})
    w["redis"] = fake("docker:index/container:Container", "redis", {
        **hardened, "image": "redis:7-alpine", "networksAdvanced": [{"name": "dev-internal"}, {"name": "dev-redis-host"}],
        "ports": [{"internal": 6379, "external": 6379, "ip": "127.0.0.1"}]},
        refs={"networksAdvanced": [w["internal"], w["redis_host"]]})
    w["proxy"] = fake("docker:index/container:Container", "proxy", {
        **hardened, "image": "nginx:1.27-alpine", "networksAdvanced": [{"name": "dev-public"}],
        "ports": [{"internal": 80, "external": 8080, "ip": "127.0.0.1"}]}, refs={"networksAdvanced": [w["public"]]})
    # a one-off beside its server, on the data network like the server (the backend's password sync)
    w["pg_sync"] = fake("docker:index/container:Container", "postgres-password", {
        **{k: v for k, v in hardened.items() if k != "healthcheck"}, "restart": "no", "mustRun": False,
        "attach": True, "image": "sha256:abc", "networksAdvanced": [{"name": "dev-internal"}]},
        refs={"image": [w["pg_image"]], "networksAdvanced": [w["internal"]]})
    w["proxy"].inputs["name"] = "dev-proxy"
    w["migration"] = fake("docker:index/container:Container", "migrate", {
        **{k: v for k, v in hardened.items() if k != "healthcheck"}, "restart": "no", "mustRun": False,
        "attach": True, "image": "app:1", "networksAdvanced": [{"name": "dev-internal"}]},
        refs={"networksAdvanced": [w["internal"]]})
    return w


# A broken case: which policy must fire, on which world, after which change, in production or not.
@dataclass(frozen=True)
class Case:
    policy: str
    id: str
    world: Callable[[], dict[str, Resource]]
    breaks: Callable[[dict[str, Resource]], None]
    production: bool = False


def setting(key: str, prop: str, value: Any) -> Callable[[dict[str, Resource]], None]:
    def apply(w: dict[str, Resource]) -> None:
        w[key].inputs[prop] = value
    return apply


def removing(key: str, prop: str) -> Callable[[dict[str, Resource]], None]:
    return lambda w: w[key].inputs.pop(prop)


def dropping(*keys: str) -> Callable[[dict[str, Resource]], None]:
    def apply(w: dict[str, Resource]) -> None:
        for key in keys:
            del w[key]
    return apply


def container_def(**overrides: Any) -> Callable[[dict[str, Resource]], None]:
    return setting("task", "containerDefinitions", containers_json(app_container(**overrides)))


def unprotected(key: str) -> Callable[[dict[str, Resource]], None]:
    def apply(w: dict[str, Resource]) -> None:
        w[key].protect = False
    return apply


def with_parent(key: str, parent_type: str) -> Callable[[dict[str, Resource]], None]:
    def apply(w: dict[str, Resource]) -> None:
        parent = component(parent_type, "custom-db")
        w["custom_parent"] = parent
        w[key].parent = parent.urn
        w[key].inputs["image"] = "registry.example.com/team/custom-db:1"
        w[key].property_dependencies.pop("image", None)
        w[key].inputs["ports"] = [{"internal": 5432, "external": 5432}]
    return apply


def world_rule(key: str, rule: dict[str, Any], side: str = "ingress") -> Callable[[dict[str, Resource]], None]:
    def apply(w: dict[str, Resource]) -> None:
        w[key].inputs.setdefault(side, []).append(rule)
    return apply


def exec_grant_without_exec(w: dict[str, Resource]) -> None:
    """The ECS Exec channels granted to a task role whose service has exec off (tests/test_ops.py has the rest)."""
    w["task_role"] = fake("aws:iam/role:Role", "api-task", {"assumeRolePolicy": "{}"})
    w["exec_policy"] = fake("aws:iam/rolePolicy:RolePolicy", "api-exec", {"role": "api-task-id", "policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"]}]})}, refs={"role": [w["task_role"]]})
    w["task"].property_dependencies["taskRoleArn"] = [w["task_role"].urn]
    w["service"].property_dependencies["taskDefinition"] = [w["task"].urn]


CASES = [
    Case("rds-baseline", "unencrypted", aws_world, setting("rds", "storageEncrypted", False)),
    Case("rds-baseline", "public", aws_world, setting("rds", "publiclyAccessible", True)),
    Case("rds-baseline", "short-backups", aws_world, setting("rds", "backupRetentionPeriod", 3)),
    Case("rds-baseline", "no-minor-upgrades", aws_world, setting("rds", "autoMinorVersionUpgrade", False)),
    Case("rds-baseline", "tags-not-copied", aws_world, removing("rds", "copyTagsToSnapshot")),
    Case("rds-baseline", "logs-not-exported", aws_world, setting("rds", "enabledCloudwatchLogsExports", ["upgrade"])),
    Case("rds-baseline", "no-performance-insights", aws_world, setting("rds", "performanceInsightsEnabled", False)),
    Case("rds-production-safeguards", "no-deletion-protection", aws_world,
         setting("rds", "deletionProtection", False), production=True),
    Case("rds-production-safeguards", "skip-final-snapshot", aws_world,
         setting("rds", "skipFinalSnapshot", True), production=True),
    Case("rds-production-safeguards", "single-az", aws_world, setting("rds", "multiAz", False), production=True),
    Case("rds-force-ssl", "ssl-optional", aws_world,
         setting("pg", "parameters", [{"name": "rds.force_ssl", "value": "0"}])),
    Case("rds-force-ssl", "default-parameter-group", aws_world,
         lambda w: (dropping("pg")(w), w["rds"].inputs.pop("parameterGroupName"),
                    w["rds"].property_dependencies.pop("parameterGroupName"))),
    Case("elasticache-baseline", "plaintext-at-rest", aws_world, setting("redis", "atRestEncryptionEnabled", False)),
    Case("elasticache-baseline", "plaintext-in-transit", aws_world, removing("redis", "transitEncryptionEnabled")),
    Case("elasticache-baseline", "no-auth", aws_world, removing("redis", "authToken")),
    Case("elasticache-baseline", "no-snapshots", aws_world, setting("redis", "snapshotRetentionLimit", 0)),
    Case("elasticache-baseline", "replicas-without-failover", aws_world,
         setting("redis", "automaticFailoverEnabled", False)),
    Case("mq-broker-private", "public", aws_world, setting("mq", "publiclyAccessible", True)),
    Case("mq-broker-private", "no-logs", aws_world, setting("mq", "logs", {"general": False})),
    Case("stateful-resources-protected", "rds", aws_world, unprotected("rds"), production=True),
    Case("stateful-resources-protected", "bucket", aws_world, unprotected("bucket"), production=True),
    Case("stateful-resources-protected", "ecr", aws_world, unprotected("ecr"), production=True),
    Case("stateful-resources-protected", "mq", aws_world, unprotected("mq"), production=True),
    Case("stateful-resources-protected", "elasticache", aws_world, unprotected("redis"), production=True),
    Case("s3-public-access-blocked", "missing", aws_world, dropping("pab")),
    Case("s3-public-access-blocked", "policy-allowed", aws_world, setting("pab", "blockPublicPolicy", False)),
    Case("s3-encrypted", "missing", aws_world, dropping("sse")),
    Case("s3-versioned", "suspended", aws_world, setting("versioning", "versioningConfiguration", {"status": "Suspended"})),
    Case("s3-owner-enforced", "acls-on", aws_world,
         setting("ownership", "rule", {"objectOwnership": "BucketOwnerPreferred"})),
    Case("s3-tls-only", "missing", aws_world, dropping("bucket_policy")),
    Case("s3-tls-only", "allows-http", aws_world, setting("bucket_policy", "policy", tls_only_policy("w").replace(
        '"Deny"', '"Allow"'))),
    Case("ecs-containers-not-privileged", "privileged", aws_world, container_def(privileged=True)),
    Case("ecs-secrets-not-in-environment", "password-env", aws_world,
         container_def(environment=[{"name": "PGPASSWORD", "value": "hunter2"}])),
    Case("ecs-secrets-not-in-environment", "url-with-password", aws_world,
         container_def(environment=[{"name": "CACHE", "value": "rediss://:hunter2@cache:6379/0"}])),
    Case("ecs-secrets-not-in-environment", "api-key", aws_world,
         container_def(environment=[{"name": "OPENAI_API_KEY", "value": "sk-123"}])),
    Case("ecs-awslogs", "no-log-driver", aws_world, container_def(logConfiguration=None)),
    Case("ecs-task-role-separate", "same-role", aws_world,
         setting("task", "taskRoleArn", "arn:aws:iam::1:role/api-exec")),
    Case("ecs-service-no-public-ip", "public-ip", aws_world,
         setting("service", "networkConfiguration", {"assignPublicIp": True, "subnets": ["public-a"]})),
    Case("ecs-container-insights", "off", aws_world, setting("cluster", "settings", [])),
    Case("alb-drop-invalid-headers", "kept", aws_world, setting("alb", "dropInvalidHeaderFields", False)),
    Case("alb-deletion-protection", "off", aws_world, setting("alb", "enableDeletionProtection", False),
         production=True),
    Case("alb-https-tls-policy", "tls10", aws_world, setting("https", "sslPolicy", "ELBSecurityPolicy-2016-08")),
    Case("alb-https-tls-policy", "default-policy", aws_world, removing("https", "sslPolicy")),
    Case("alb-https-tls-policy", "no-certificate", aws_world, removing("https", "certificateArn")),
    Case("alb-http-redirects-only", "http-forwards", aws_world,
         setting("http", "defaultActions", [{"type": "forward", "targetGroupArn": "tg"}])),
    Case("alb-http-redirects-only", "rule-on-http", aws_world,
         lambda w: w["rule"].property_dependencies.update(listenerArn=[w["http"].urn])),
    Case("alb-http-redirects-only", "production-http-only", aws_world,
         lambda w: (dropping("https", "rule")(w), w["http"].inputs.update(
             defaultActions=[{"type": "forward", "targetGroupArn": "tg"}])), production=True),
    Case("security-group-no-public-ingress", "ssh-open", aws_world, world_rule("app_sg", {
        "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"], "description": "ssh"})),
    Case("security-group-no-public-ingress", "all-open-ipv6", aws_world, lambda w: w.update(open=fake(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "open", {
            "securityGroupId": "alb-id", "cidrIpv6": "::/0", "ipProtocol": "-1", "description": "everything"}))),
    Case("security-group-no-public-ingress", "port-range", aws_world, lambda w: w.update(open=fake(
        "aws:ec2/securityGroupRule:SecurityGroupRule", "open", {
            "type": "ingress", "securityGroupId": "alb-id", "cidrBlocks": ["0.0.0.0/0"], "protocol": "tcp",
            "fromPort": 80, "toPort": 443, "description": "web and everything between"}))),
    Case("security-group-rules-described", "inline", aws_world, world_rule("app_sg", {
        "protocol": "tcp", "fromPort": 8000, "toPort": 8000, "securityGroups": ["alb-id"]})),
    Case("security-group-rules-described", "rule-resource", aws_world, setting("db_in", "description", " ")),
    Case("security-group-rules-described", "egress-rule", aws_world, removing("app_out", "description")),
    Case("data-tier-ingress-from-app-only", "vpc-cidr-inline", aws_world, world_rule("mq_sg", {
        "protocol": "tcp", "fromPort": 5671, "toPort": 5671, "cidrBlocks": ["10.0.0.0/16"], "description": "vpc"})),
    Case("data-tier-ingress-from-app-only", "cidr-rule", aws_world, lambda w: w.update(wide=fake(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-vpc", {
            "securityGroupId": "db-id", "cidrIpv4": "10.0.0.0/8", "ipProtocol": "tcp", "fromPort": 5432,
            "toPort": 5432, "description": "vpc"}, refs={"securityGroupId": [w["db_sg"]]}))),
    Case("log-group-retention", "forever", aws_world, removing("logs", "retentionInDays")),
    Case("aws-limits", "internal-alb-name", aws_world, setting("alb", "name", "internal-web")),
    Case("aws-limits", "redis-6-transit-mode", aws_world, lambda w: w["redis"].inputs.update(
        engine="redis", engineVersion="6.2", transitEncryptionMode="required")),
    Case("aws-limits", "rabbitmq-customer-key", aws_world, lambda w: w["mq"].inputs.update(
        engineType="RabbitMQ", engineVersion="3.13", hostInstanceType="mq.m5.large", autoMinorVersionUpgrade=True,
        encryptionOptions={"kmsKeyId": "arn:aws:kms:us-east-1:1:key/k", "useAwsOwnedKey": False})),
    Case("aws-limits", "health-check-cmd-cmd-shell", aws_world, setting("task", "containerDefinitions", containers_json(
        {**app_container(), "healthCheck": {"command": ["CMD", "CMD-SHELL", "true"]}}))),
    Case("ecs-exec-sessions-logged", "exec-on-cluster-silent", aws_world, lambda w: (
        w["service"].inputs.update(enableExecuteCommand=True),
        w["service"].property_dependencies.update(cluster=[w["cluster"].urn]))),
    Case("ecs-exec-permissions-only-where-on", "ssmmessages-without-exec", aws_world, exec_grant_without_exec),
    Case("docker-no-privileged", "privileged", docker_world, setting("proxy", "privileged", True)),
    Case("docker-no-new-privileges", "missing", docker_world, setting("redis", "securityOpts", [])),
    Case("docker-health-checks", "missing", docker_world, removing("postgres", "healthcheck")),
    Case("docker-health-checks", "disabled", docker_world, setting("proxy", "healthcheck", {"tests": ["NONE"]})),
    Case("docker-memory-limits", "unlimited", docker_world, removing("proxy", "memory")),
    Case("docker-restart-policy", "never", docker_world, setting("proxy", "restart", "no")),
    Case("docker-data-tier-not-published", "postgres-on-all-interfaces", docker_world,
         setting("postgres", "ports", [{"internal": 5432, "external": 5432}])),
    Case("docker-data-tier-not-published", "publish-all", docker_world, setting("redis", "publishAllPorts", True)),
    Case("docker-data-tier-not-published", "custom-image-under-database", docker_world,
         with_parent("postgres", "twinstack:docker:Database")),
    Case("docker-data-tier-internal-network", "public-network", docker_world, lambda w: (
        w["postgres"].inputs["networksAdvanced"].append({"name": "dev-public"}),
        w["postgres"].property_dependencies["networksAdvanced"].append(w["public"].urn))),
    Case("docker-data-tier-internal-network", "shared-host-access-network", docker_world, lambda w: (
        w["proxy"].inputs["networksAdvanced"].append({"name": "dev-redis-host"}),
        w["proxy"].property_dependencies["networksAdvanced"].append(w["redis_host"].urn))),
    Case("docker-data-tier-internal-network", "default-bridge", docker_world, removing("redis", "networksAdvanced")),
    Case("docker-data-tier-internal-network", "namespace-of-the-proxy", docker_world,
         setting("pg_sync", "networkMode", "container:dev-proxy")),
    Case("docker-data-tier-internal-network", "namespace-of-its-server", docker_world,
         setting("pg_sync", "networkMode", "container:dev-postgres")),
    Case("docker-data-tier-internal-network", "host-network", docker_world, setting("redis", "networkMode", "host")),
]


def prod_config(production: bool) -> dict[str, str]:
    return {"twinstack:environment": "production" if production else "development"}


def test_every_policy_has_a_broken_case() -> None:
    # the budget policies are driven by the stack's config, not a broken resource: tests/test_change.py breaks them
    assert {c.policy for c in CASES} | {"budget", "budget-warning"} == set(BY_NAME)


@pytest.mark.parametrize("world", [aws_world, docker_world])
@pytest.mark.parametrize("production", [False, True])
def test_the_compliant_worlds_pass(world: Callable[[], dict[str, Resource]], production: bool) -> None:
    violations = evaluate(world().values(), prod_config(production))
    assert not violations, describe(violations)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.policy}:{c.id}" for c in CASES])
def test_each_policy_catches_its_violation(case: Case) -> None:
    world = case.world()
    case.breaks(world)
    violations = evaluate(world.values(), prod_config(case.production))
    assert case.policy in {v.policy for v in violations}, describe(violations) or "no violation at all"
    urns = {r.urn for r in world.values()}
    assert all(v.urn in urns for v in violations if v.policy == case.policy), "violations point at a resource"


@pytest.mark.parametrize("case", [c for c in CASES if c.production], ids=lambda c: f"{c.policy}:{c.id}")
def test_production_rules_hold_back_outside_production(case: Case) -> None:
    world = case.world()
    case.breaks(world)
    assert case.policy not in {v.policy for v in evaluate(world.values(), prod_config(False))}


def test_explicit_policy_config_overrides_the_stack_config() -> None:
    world = aws_world()
    world["rds"].inputs["deletionProtection"] = False
    explicit = {"rds-production-safeguards": {"production": True}}
    assert "rds-production-safeguards" in {v.policy for v in evaluate(world.values(), policy_config=explicit)}
    explicit = {"rds-production-safeguards": {"production": False}}
    assert not evaluate(world.values(), prod_config(True), policy_config=explicit)
    assert "production" in BY_NAME["rds-production-safeguards"].config_schema.properties


def test_a_preview_unknown_skips_only_that_resource() -> None:
    """In a preview a value may not be known yet: a stack policy skips that resource, not the whole stack."""
    world = aws_world()
    world["bucket_policy"].inputs["policy"] = UNKNOWN_STRING_VALUE
    world["logs_bucket"] = fake("aws:s3/bucket:Bucket", "logs", {})
    violations = evaluate(world.values(), prod_config(False), policies=[BY_NAME["s3-tls-only"]])
    assert {v.urn for v in violations} == {world["logs_bucket"].urn}
    # a resource policy leaves the unknown to the SDK, which reports "can't run during preview" (advisory)
    world["task"].inputs["containerDefinitions"] = UNKNOWN_STRING_VALUE
    with pytest.raises(UnknownValueError):
        evaluate([world["task"]], policies=[BY_NAME["ecs-awslogs"]])


# ------------------------------------------------------------------ the part registry, not names, drives the policies


DATA_TIER_KINDS = [KINDS[key] for key in DATA_TIER]


def server_under(parent_type: str) -> Callable[[dict[str, Resource]], None]:
    """A data server of a type no policy names, under `parent_type`, behind a group that admits a CIDR range."""
    def apply(w: dict[str, Resource]) -> None:
        w["custom_parent"] = component(parent_type, "custom-server")
        w["wide_sg"] = fake("aws:ec2/securityGroup:SecurityGroup", "wide", {"description": "custom tier", "ingress": [
            {"protocol": "tcp", "fromPort": 9200, "toPort": 9200, "cidrBlocks": ["10.0.0.0/16"],
             "description": "the whole VPC"}]})
        w["server"] = fake("aws:test/server:Server", "server", {"securityGroupIds": ["wide-id"]},
                           parent=w["custom_parent"], refs={"securityGroupIds": [w["wide_sg"]]})
    return apply


@pytest.mark.parametrize("kind", DATA_TIER_KINDS, ids=lambda k: k.key)
def test_whatever_sits_under_a_data_tier_kind_is_data_tier_to_the_policies(kind) -> None:
    docker = docker_world()
    with_parent("postgres", f"twinstack:docker:{kind.component}")(docker)  # a custom image: only its parent says
    assert "docker-data-tier-not-published" in {v.policy for v in evaluate(docker.values())}
    aws = aws_world()
    server_under(f"twinstack:aws:{kind.component}")(aws)
    found = [v for v in evaluate(aws.values()) if v.policy == "data-tier-ingress-from-app-only"]
    assert [v.urn for v in found] == [aws["server"].urn], describe(found)


@pytest.mark.parametrize("kind", [k for k in PART_KINDS if not k.data_tier], ids=lambda k: k.key)
def test_outside_the_data_tier_the_same_resources_are_not_data_tier(kind) -> None:
    docker = docker_world()
    with_parent("postgres", f"twinstack:docker:{kind.component}")(docker)
    assert "docker-data-tier-not-published" not in {v.policy for v in evaluate(docker.values())}
    aws = aws_world()
    server_under(f"twinstack:aws:{kind.component}")(aws)
    assert not evaluate(aws.values()), describe(evaluate(aws.values()))


def test_a_new_data_tier_kind_needs_no_policy_change(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = guardrail_registry.parts
    monkeypatch.setitem(parts.PART_OF_COMPONENT, "Search", "search")
    monkeypatch.setattr(parts, "DATA_TIER", (*parts.DATA_TIER, "search"))
    docker = docker_world()
    with_parent("postgres", "twinstack:docker:Search")(docker)
    assert "docker-data-tier-not-published" in {v.policy for v in evaluate(docker.values())}
    aws = aws_world()
    server_under("twinstack:aws:Search")(aws)
    assert "data-tier-ingress-from-app-only" in {v.policy for v in evaluate(aws.values())}


def test_the_contract_secrets_are_read_from_the_registry() -> None:
    secrets = aws_compute.CONTRACT_SECRETS
    assert secrets == {"DATABASE_URL", "REDIS_URL", "AMQP_URL", "PGPASSWORD"}
    assert all(secrets & set(kind.env) for kind in PART_KINDS if kind.password)
    assert not secrets & {env for kind in PART_KINDS if not kind.password for env in kind.env}


def test_the_pack_loads_the_registry_by_path_without_the_project_packages(tmp_path: Path) -> None:
    """As the CLI runs the pack: its own directory on the path, not the project's, so `config` is not importable."""
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from guardrails import registry; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('config', 'tools')), "
              "sys.modules['twinstack_tools.parts'].registry is registry.parts is sys.modules['twinstack_parts'])")
    out = subprocess.run([sys.executable, "-c", script, str(ROOT / "policy")], cwd=tmp_path, capture_output=True,
                         text=True, check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert out.stdout.split() == ["[]", "True"], out.stdout + out.stderr


# --------------------------------------------------------------------------------- the real stacks and examples


@functools.cache
def project_stack(name: str) -> Stack:
    """Pulumi.<name>.yaml recorded once per test process (tests that break it work on a deep copy)."""
    return record(name)


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def stack(request: pytest.FixtureRequest) -> Stack:
    return project_stack(request.param)


def test_every_stack_passes_every_policy(stack: Stack) -> None:
    violations = stack.violations()
    assert not violations, describe(violations)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_passes_on_docker(example: str) -> None:
    violations = record(example, file=ROOT / "examples" / f"{example}.yaml").violations()
    assert not violations, describe(violations)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_passes_on_aws_in_production(example: str) -> None:
    violations = record(example, ROOT / "examples" / f"{example}.yaml", aws_production(example)).violations()
    assert not violations, describe(violations)


# The policies must bite on the backends' real shapes too (how they link buckets, listeners, groups and networks):
# each mutation breaks one rule in a recorded graph.
def first(resources: list[Resource], type_: str, name_contains: str = "") -> Resource:
    return next(r for r in resources if r.type == type_ and name_contains in r.name)


def _put_env(resources: list[Resource]) -> None:
    task = first(resources, "aws:ecs/taskDefinition:TaskDefinition")
    definitions = json.loads(task.inputs["containerDefinitions"])
    definitions[-1]["environment"].append({"name": "DATABASE_URL", "value": "postgresql://demo:pw@db:5432/demo"})
    task.inputs["containerDefinitions"] = json.dumps(definitions)


def _drop(resources: list[Resource], type_: str, name_contains: str) -> None:
    resources.remove(first(resources, type_, name_contains))


REAL_BREAKS: list[tuple[str, str, Callable[[list[Resource]], None]]] = [
    ("prod", "s3-public-access-blocked",
     lambda rs: _drop(rs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "storage")),
    ("prod", "s3-tls-only", lambda rs: _drop(rs, "aws:s3/bucketPolicy:BucketPolicy", "storage")),
    ("prod", "alb-http-redirects-only", lambda rs: first(rs, "aws:lb/listenerRule:ListenerRule").property_dependencies
     .update(listenerArn=[next(r.urn for r in rs if r.type == "aws:lb/listener:Listener" and r.inputs["protocol"] == "HTTP")])),
    ("prod", "data-tier-ingress-from-app-only", lambda rs: first(
        rs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-in").inputs.update(cidrIpv4="10.30.0.0/16")),
    ("prod", "ecs-secrets-not-in-environment", _put_env),
    # production rules engage on prod through its own config (twinstack:environment), as the CLI passes it
    ("prod", "rds-production-safeguards", lambda rs: first(rs, "aws:rds/instance:Instance").inputs.update(
        deletionProtection=False)),
    ("prod", "stateful-resources-protected", lambda rs: setattr(first(rs, "aws:rds/instance:Instance"), "protect", False)),
    ("dev", "docker-data-tier-not-published", lambda rs: first(rs, "docker:index/container:Container", "postgres")
     .inputs.update(ports=[{"internal": 5432, "external": 5432}])),
    ("dev", "docker-data-tier-internal-network", lambda rs: first(rs, "docker:index/network:Network", "internal")
     .inputs.update(internal=False)),
    ("dev", "docker-health-checks", lambda rs: first(rs, "docker:index/container:Container", "demo-replica")
     .inputs.pop("healthcheck")),
]


@pytest.mark.parametrize(("stack_name", "policy", "breaks"), REAL_BREAKS, ids=[f"{s}:{p}" for s, p, _ in REAL_BREAKS])
def test_policies_bite_on_the_recorded_graphs(stack_name: str, policy: str,
                                              breaks: Callable[[list[Resource]], None]) -> None:
    stack = project_stack(stack_name)
    resources = copy.deepcopy(stack.graph.resources)
    breaks(resources)
    assert policy in {v.policy for v in evaluate(resources, stack.config, stack.name)}
