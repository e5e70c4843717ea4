"""Stack variants the AWS tests share, beyond Pulumi.staging.yaml and Pulumi.prod.yaml, and what each must exercise.

RICH (on prod): three services (one built, two by image reference, one with only a command health check), every
part including Amazon MQ, no NAT, an existing ACM certificate, a stripped prefix and a volume route.
"""

from __future__ import annotations

import functools
import json

from tests.harness import Graph, run_stack

RICH = {
    "twinstack:network": {"cidr": "10.40.0.0/16", "azCount": 2, "nat": "none", "flowLogs": True},
    "twinstack:broker": {"version": "3.13", "instanceType": "mq.m5.large"},
    "twinstack:database": {"version": "16", "name": "shop", "username": "shop", "extensions": ["vector", "pg_cron"],
                           "backupRetentionDays": 7},
    "twinstack:services": [
        {"name": "api", "build": {"context": "app", "args": {"VERSION": "1"}}, "port": 8000,
         "uses": ["database", "cache", "broker", "storage"], "secrets": ["SESSION_SECRET"],
         "optionalSecrets": ["OPENAI_API_KEY"], "healthCheck": {"path": "/health"},
         "migration": {"command": ["python", "app.py", "migrate"]},
         "autoscaling": {"min": 2, "max": 4, "cpuTarget": 60}, "cpu": 512, "memory": 1024,
         "volumes": [{"name": "static", "path": "/app/static"}], "readOnlyRootFilesystem": True, "user": "10001"},
        {"name": "worker", "image": "ghcr.io/acme/worker:1.2", "port": 9000, "command": ["celery", "worker"],
         "healthCheck": {"command": ["celery", "inspect", "ping"]}, "uses": ["broker"], "replicas": 2,
         "dependsOn": ["api"]},
        {"name": "frontend", "image": "ghcr.io/acme/web:3", "port": 3000, "healthCheck": {"path": "/"},
         "env": {"API_URL": "http://api:8000"}, "dependsOn": ["api"], "architecture": "arm64"},
    ],
    "twinstack:proxy": {
        "tls": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123",
                "domain": "shop.example.com", "zoneId": "Z0EXAMPLE"},
        "routes": [{"path": "/", "service": "frontend"}, {"path": "/api", "service": "api", "stripPrefix": True},
                   {"path": "/static", "volume": "static"}],
    },
}


def rich(**overrides) -> Graph:
    return run_stack("prod", set={**RICH, **overrides})


@functools.cache
def shared(stack: str) -> Graph:
    """staging, prod or rich, run once per test process and shared by every AWS test module (tests only read graphs:
    `Resource.get` hands out copies)."""
    return rich() if stack == "rich" else run_stack(stack)


def test_rich_variant_exercises_every_part_and_service_kind(rich_graph):
    types = {r.type for r in rich_graph.resources}
    for part in ("Database", "Cache", "Broker", "Storage"):
        assert f"twinstack:aws:{part}" in types
    assert "aws:mq/broker:Broker" in types and "aws:s3/bucket:Bucket" in types
    services = {r.get("name") for r in rich_graph.of_type("aws:ecs/service:Service")}
    assert services == {"api", "worker", "frontend"}
    assert len(rich_graph.of_type("aws:ecr/repository:Repository")) == 1
    assert rich_graph.of_type("aws:ec2/natGateway:NatGateway") == []
    assert rich_graph.of_type("aws:acm/certificate:Certificate") == []


def test_every_aws_resource_goes_through_the_tagging_provider(rich_graph):
    [provider] = rich_graph.of_type("pulumi:providers:aws")
    assert provider.get("region") == "us-east-1"
    assert json.loads(provider.get("defaultTags")) == {"tags": {
        "twinstack:project": "twinstack", "twinstack:stack": "prod", "twinstack:environment": "production"}}
    aws_resources = [r for r in rich_graph.custom() if r.type.startswith("aws:")]
    assert aws_resources and {r.provider.rsplit("::", 1)[0] for r in aws_resources} == {provider.urn}
