"""Checkov's Terraform checks over every production AWS graph: prod and each example promoted to production.

The recorded graph becomes the Terraform plan a first deploy would show (tools/tfplan.py), and Checkov reads it with its
`terraform_plan` framework, offline, from its own virtualenv (.cache/checkov, `scripts/install-checkov.sh`, which
`make install` runs); without it these tests skip and say why. One Checkov run per test process reads all plans.

A failed check fails the test unless SKIPS says why it does not apply here or is a deliberate, documented choice. A key
is a check id, or a check id and a resource address (a glob) where the reason holds for that resource only. Nothing
goes in SKIPS because it fails: a real gap stays a failure until the stack is fixed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from tests.harness import ROOT, Graph, run_stack
from tests.test_examples import EXAMPLES, example_file, production_on_aws
from tools.tfplan import terraform_type, to_plan

CHECKOV = ROOT / ".cache" / "checkov" / "bin" / "checkov"
INSTALL = ROOT / "scripts" / "install-checkov.sh"
INSTALL_ERROR = ROOT / ".cache" / "checkov.error"
STACKS = ("prod", *EXAMPLES)
ALB_LOGS = "aws_s3_bucket.twinstack_proxy_access_logs"
LOG_BUCKETS = "aws_s3_bucket.twinstack_*_logs"  # where the load balancer and S3 deliver logs

SKIPS: dict[str, str] = {
    "CKV2_AWS_57": "Secrets rotate through the stack, not a Secrets Manager rotation Lambda: each generated secret is a "
                   "RandomPassword keyed to a twinstack:rotation counter, and one `pulumi up` changes it at its source "
                   "(RDS, ElastiCache, MQ) and in Secrets Manager together (docs/rotation.md). A Lambda "
                   "would change passwords behind Pulumi's back.",
    "CKV2_AWS_62": "Nothing consumes S3 events: the workspace bucket is the services' object store, the others "
                   "receive logs. Notifications without a consumer add nothing.",
    "CKV_AWS_209": "Amazon MQ for RabbitMQ, the only engine twinstack deploys, encrypts at rest with an AWS-owned key and "
                   "refuses a customer-managed one (components/aws/broker.py).",
    "CKV_AWS_338": "Log retention is a per-stack choice, twinstack:monitoring.logRetentionDays (docs/configuration.md: "
                   "30 by default, 90 in prod); CKV_AWS_66, that a retention is set, passes. A year is a compliance rule some "
                   "deployments have, not this project's default.",
    "CKV_AWS_378": "TLS ends at the load balancer: the listeners serve HTTPS with a TLS 1.2+ policy (CKV_AWS_2 and "
                   "CKV_AWS_103 pass) and forward plain HTTP to tasks in private subnets whose security group admits "
                   "only the load balancer's; the tasks have no certificate to serve TLS with.",
    f"CKV_AWS_18 {LOG_BUCKETS}": "A bucket that receives logs (the load balancer's access logs, the workspace "
                                 "bucket's server access logs). Logging access to it would need another log bucket, "
                                 "and that one another; AWS advises against a bucket logging into itself.",
    f"CKV_AWS_145 {LOG_BUCKETS}": "Load balancer access logs and S3 server access logs can only be delivered to a "
                                  "bucket whose default encryption is SSE-S3, not SSE-KMS (ELB and S3 documentation); "
                                  "these buckets have SSE-S3 (CKV_AWS_19 passes).",
    f"CKV_AWS_144 {LOG_BUCKETS}": "Logs expired by a lifecycle rule after 90 days: a copy in another region restores "
                                  "nothing the stack needs.",
    "CKV2_AWS_28": "A web application firewall is not a default: AWS's managed rule groups block real requests of some "
                   "applications until tuned, and a web ACL costs $5 a month plus $1 per rule group and $0.60 per "
                   "million requests (AWS WAF pricing). The ALB takes one with aws.wafv2.WebAclAssociation where an "
                   "application needs it.",
    "CKV_AWS_144 aws_s3_bucket.twinstack_storage_bucket": "Cross-region replication is a disaster-recovery choice "
        "that needs a bucket and a KMS key in a second region, and doubles storage cost; the workspace is versioned "
        "and keeps noncurrent versions (CKV_AWS_21 passes), which covers deletion and overwrite in its region.",
    "CKV_AWS_336 aws_ecs_task_definition.twinstack_services_web_task": "Pliers' `web` is the stock nginx image, which "
        "writes its pid file and cache under /var/run and /var/cache/nginx; the example runs it as its seed document "
        "does. Services whose images allow it set readOnlyRootFilesystem (the other examples do).",
    "CKV_AWS_260 aws_vpc_security_group_ingress_rule.twinstack_network_alb_in_http":
        "Port 80 is open on the load balancer only to redirect to HTTPS (CKV2_AWS_20 passes; CrossGuard "
        "alb-http-redirects-only).",
    "CKV_AWS_260 aws_vpc_security_group_ingress_rule.twinstack_network_app_in_*":
        "A false positive: these rules admit a security group (referenced_security_group_id: the load balancer's or "
        "the app tier's), never a CIDR, and the check reads only cidr_ipv4/cidr_ipv6 of "
        "aws_vpc_security_group_ingress_rule, so it flags every rule without one on port 80.",
}

# Checks that pass on prod only if the plan says what the program means: types and attributes named as Terraform names
# them, blocks shaped as blocks, and separate resources linked to what they configure.
MUST_PASS_ON_PROD = {
    "CKV_AWS_16": "aws_db_instance",  # storage_encrypted
    "CKV2_AWS_30": "aws_db_instance",  # query logging, through the linked aws_db_parameter_group
    "CKV2_AWS_6": "aws_s3_bucket",  # the separate aws_s3_bucket_public_access_block, linked by reference
    "CKV_AWS_21": "aws_s3_bucket",  # the separate aws_s3_bucket_versioning
    "CKV2_AWS_61": "aws_s3_bucket",  # the separate aws_s3_bucket_lifecycle_configuration
    "CKV_AWS_91": "aws_lb",  # access_logs, a block
    "CKV2_AWS_20": "aws_lb",  # the port-80 aws_lb_listener only redirects
    "CKV_AWS_136": "aws_ecr_repository",  # encryption_configuration, a repeated block (Pulumi: encryptionConfigurations)
    "CKV_AWS_191": "aws_elasticache_replication_group",  # kms_key_id, a reference to the key
    "CKV2_AWS_50": "aws_elasticache_replication_group",  # prod is replicated: Multi-AZ with failover
    "CKV2_AWS_11": "aws_vpc",  # the aws_flow_log that names the VPC
    "CKV2_AWS_23": "aws_route53_record",  # alias to the load balancer's dns_name
}


@dataclass
class Scan:
    plan: dict[str, Any]
    failed: list[dict[str, Any]]
    passed: list[dict[str, Any]]


def skip_reason(check_id: str, resource: str) -> str | None:
    for key, reason in SKIPS.items():
        cid, _, pattern = key.partition(" ")
        if cid == check_id and (not pattern or fnmatch(resource, pattern)):
            return reason
    return None


def installed_checkov() -> Path:
    wanted = re.search(r"^CHECKOV_VERSION=(\S+)", INSTALL.read_text(), re.M).group(1)
    have = CHECKOV.parent.parent / ".version"
    if not CHECKOV.exists():
        why = INSTALL_ERROR.read_text().strip() if INSTALL_ERROR.exists() else "scripts/install-checkov.sh has not run"
        pytest.skip(f"Checkov is not installed in .cache/checkov (make install): {why}")
    if not have.exists() or have.read_text().strip() != wanted:
        pytest.skip(f"Checkov in .cache/checkov is not the pinned {wanted}: run scripts/install-checkov.sh")
    return CHECKOV


def run_checkov(checkov: Path, plans: dict[str, dict[str, Any]], workdir: Path) -> dict[str, Scan]:
    """Checkov over several plans in one run (it takes seconds to start), offline: no policy download, no mapping or
    version look-up, no platform key."""
    for name, plan in plans.items():
        (workdir / f"{name}.json").write_text(json.dumps(plan))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_", "CHECKOV_"))}
    env.update(BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE", LOG_LEVEL="WARNING")
    files = [arg for name in plans for arg in ("-f", f"{name}.json")]
    args = [str(checkov), "--framework", "terraform_plan", *files, "--output", "json", "--skip-download", "--soft-fail"]
    done = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"checkov exited {done.returncode}:\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout)
    assert isinstance(report, dict), f"one framework, one report: {str(report)[:500]}"
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, summary
    assert summary["resource_count"] == sum(len(p["planned_values"]["root_module"]["resources"]) for p in plans.values())
    results = report.get("results", {})

    def of(name: str, outcome: str) -> list[dict[str, Any]]:
        return [c for c in results.get(f"{outcome}_checks", []) if Path(c["file_path"]).name == f"{name}.json"]

    return {name: Scan(plan, of(name, "failed"), of(name, "passed")) for name, plan in plans.items()}


def production_graph(stack: str) -> Graph:
    if stack == "prod":
        return run_stack("prod")
    return run_stack(stack, file=example_file(stack), set=production_on_aws(stack))


def unencrypted_database(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with its RDS instance's storage encryption turned off."""
    plan = json.loads(json.dumps(plan))
    for resource in plan["planned_values"]["root_module"]["resources"]:
        if resource["type"] == "aws_db_instance":
            assert resource["values"]["storage_encrypted"] is True
            resource["values"]["storage_encrypted"] = False
    for change in plan["resource_changes"]:
        if change["type"] == "aws_db_instance":
            change["change"]["after"]["storage_encrypted"] = False
    return plan


@pytest.fixture(scope="module")
def prod_graph() -> Graph:
    return production_graph("prod")


@pytest.fixture(scope="module")
def prod_plan(prod_graph) -> dict[str, Any]:
    return to_plan(prod_graph)


@pytest.fixture(scope="module")
def checkov() -> Path:
    return installed_checkov()


@pytest.fixture(scope="module")
def scans(checkov, prod_plan, tmp_path_factory) -> dict[str, Scan]:
    """Every stack's plan, and prod's with an unencrypted database, through one Checkov run."""
    plans = {stack: prod_plan if stack == "prod" else to_plan(production_graph(stack)) for stack in STACKS}
    plans["prod-unencrypted-db"] = unencrypted_database(prod_plan)
    return run_checkov(checkov, plans, tmp_path_factory.mktemp("checkov"))


# ---------------------------------------------------------------------------------------------------- the checks


@pytest.mark.parametrize("stack", STACKS)
def test_no_failed_checks_but_documented_ones(scans, stack):
    failures = sorted(f"{c['check_id']} {c['resource']}: {c['check_name']}"
                      for c in scans[stack].failed if not skip_reason(c["check_id"], c["resource"]))
    assert not failures, f"{stack}: {len(failures)} failed Checkov checks not in SKIPS:\n" + "\n".join(failures)


def test_every_skip_is_still_needed_and_explained(scans):
    """A skip that no stack needs any more goes, so SKIPS never hides a regression behind an old reason."""
    used = {key for stack in STACKS for c in scans[stack].failed
            for key in SKIPS if skip_reason(c["check_id"], c["resource"]) == SKIPS[key]}
    assert set(SKIPS) == used, f"skips no stack needs: {sorted(set(SKIPS) - used)}"
    assert all(len(reason) > 40 for reason in SKIPS.values())


def test_checkov_reads_what_the_program_means(scans):
    passed = {(c["check_id"], c["resource"].split(".")[0]) for c in scans["prod"].passed}
    missing = {cid: typ for cid, typ in MUST_PASS_ON_PROD.items() if (cid, typ) not in passed}
    assert not missing, f"checks that should pass on prod but did not run or failed: {missing}"


def test_an_unencrypted_database_fails(scans):
    """The pipeline can catch something: prod's plan, its RDS instance's storage_encrypted flipped to false."""
    [db] = [r["address"] for r in scans["prod"].plan["planned_values"]["root_module"]["resources"]
            if r["type"] == "aws_db_instance"]
    assert ("CKV_AWS_16", db) in {(c["check_id"], c["resource"]) for c in scans["prod"].passed}
    new = {(c["check_id"], c["resource"]) for c in scans["prod-unencrypted-db"].failed} - {
        (c["check_id"], c["resource"]) for c in scans["prod"].failed}
    assert new == {("CKV_AWS_16", db)}


# ------------------------------------------------------------------------------------------- the conversion itself


@pytest.mark.parametrize(("token", "expected"), [
    ("aws:rds/instance:Instance", "aws_db_instance"),
    ("aws:rds/parameterGroup:ParameterGroup", "aws_db_parameter_group"),
    ("aws:elasticache/replicationGroup:ReplicationGroup", "aws_elasticache_replication_group"),
    ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block"),
    ("aws:lb/loadBalancer:LoadBalancer", "aws_lb"),
    ("aws:lb/listenerRule:ListenerRule", "aws_lb_listener_rule"),
    ("aws:ec2/vpc:Vpc", "aws_vpc"),
    ("aws:ec2/flowLog:FlowLog", "aws_flow_log"),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
    ("aws:servicediscovery/httpNamespace:HttpNamespace", "aws_service_discovery_http_namespace"),
    ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
])
def test_pulumi_types_are_terraform_types(token, expected):
    assert terraform_type(token) == expected


def test_plan_shapes_blocks_maps_references_and_secrets(prod_graph, prod_plan):
    planned = {r["address"]: r for r in prod_plan["planned_values"]["root_module"]["resources"]}
    configured = {r["address"]: r["expressions"] for r in prod_plan["configuration"]["root_module"]["resources"]}
    changes = {r["address"]: r["change"] for r in prod_plan["resource_changes"]}
    assert all(r["mode"] == "managed" and r["address"] == f"{r['type']}.{r['name']}" for r in planned.values())
    assert len(planned) == len([r for r in prod_graph.custom() if r.type.startswith("aws:")])

    alb = "aws_lb.twinstack_proxy_alb"
    [logs] = planned[alb]["values"]["access_logs"]  # a block, a list of one; its bucket is known only after apply
    assert logs["enabled"] is True and "bucket" not in logs
    assert configured[alb]["access_logs"] == [{"bucket": {"references": [f"{ALB_LOGS}.id", ALB_LOGS]}}]
    assert changes[alb]["after_unknown"]["access_logs"] == [{"bucket": True}]

    pab = "aws_s3_bucket_public_access_block.twinstack_storage_public_access"
    assert "bucket" not in planned[pab]["values"]
    assert configured[pab]["bucket"]["references"][-1] == "aws_s3_bucket.twinstack_storage_bucket"

    [vpc] = [r["values"] for r in planned.values() if r["type"] == "aws_vpc"]
    assert vpc["tags"] == {"Name": "prod"}  # a map keeps its keys

    [db] = [r for r in planned.values() if r["type"] == "aws_db_instance"]
    assert db["values"]["password"] == "(sensitive)" and db["sensitive_values"] == {"password": True}
    text = json.dumps(prod_plan)
    secrets = {r.get(k) for r in prod_graph.custom() for k in r.inputs if r.is_secret(k) and isinstance(r.get(k), str)}
    assert secrets and not [v for v in secrets if v in text]
