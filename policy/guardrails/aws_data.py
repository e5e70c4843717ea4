"""The AWS data tier: RDS, ElastiCache, Amazon MQ, S3, and protection of everything that holds data."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import tokens
from .common import (
    PRODUCTION_SCHEMA,
    check_each,
    dig,
    is_production,
    is_true,
    items,
    mapping,
    number,
    of_type,
    parse_json,
    referring,
    refers_to,
    resource_policy,
)

MIN_BACKUP_DAYS = 7
SSE_ALGORITHMS = {"AES256", "aws:kms", "aws:kms:dsse"}
STATEFUL = (tokens.RDS_INSTANCE, tokens.ELASTICACHE_REPLICATION_GROUP, tokens.MQ_BROKER, tokens.ECR_REPOSITORY,
            *tokens.S3_BUCKET)


# ------------------------------------------------------------------------------------------------------------ RDS


def _rds_baseline(args: ResourceValidationArgs) -> Iterator[str]:
    p = args.props
    if not is_true(p.get("storageEncrypted")):
        yield "storage is not encrypted: set storage_encrypted=True"
    if is_true(p.get("publiclyAccessible")):
        yield "the instance is publicly accessible: set publicly_accessible=False"
    backups = number(p.get("backupRetentionPeriod"))
    if backups < MIN_BACKUP_DAYS:
        yield f"backups are kept {backups:g} days; the baseline is at least {MIN_BACKUP_DAYS}"
    if p.get("autoMinorVersionUpgrade") is False:
        yield "minor version upgrades are off: keep auto_minor_version_upgrade on for security patches"
    if not is_true(p.get("copyTagsToSnapshot")):
        yield "snapshots would lose the instance's tags: set copy_tags_to_snapshot=True"
    if "postgres" in str(p.get("engine") or "") and "postgresql" not in items(p.get("enabledCloudwatchLogsExports")):
        yield "PostgreSQL logs are not exported to CloudWatch: enabled_cloudwatch_logs_exports=['postgresql', ...]"
    if not (is_true(p.get("performanceInsightsEnabled")) or p.get("databaseInsightsMode") == "advanced"):
        yield "Performance Insights is off: set performance_insights_enabled=True"


def restoring(props: Mapping[str, Any]) -> bool:
    """An RDS instance whose protection its config lifted explicitly for a restore from a snapshot
    (database.allowProtectedReplacement, docs/operations.md): the program marks it with a tag."""
    return dig(props, "tags", "twinstack:allowProtectedReplacement") == "true"


def _rds_production(args: ResourceValidationArgs) -> Iterator[str]:
    if not is_production(args.get_config()):
        return
    p = args.props
    if not is_true(p.get("deletionProtection")) and not restoring(p):
        yield "a production database without deletion protection: set deletion_protection=True"
    if is_true(p.get("skipFinalSnapshot")) or not p.get("finalSnapshotIdentifier"):
        yield "a production database deleted without a final snapshot: set final_snapshot_identifier"
    if not is_true(p.get("multiAz")):
        yield "a production database in one availability zone: set multi_az=True"


def _rds_force_ssl(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    groups = of_type(args, [tokens.RDS_PARAMETER_GROUP])

    def forces_ssl(group: PolicyResource) -> bool:
        return any(dig(p, "name") == "rds.force_ssl" and str(dig(p, "value")) == "1"
                   for p in items(group.props.get("parameters")))

    def check(instance: PolicyResource) -> Iterator[str]:
        linked = [g for g in groups if refers_to(instance, "parameterGroupName", g)]
        if not linked:
            name = instance.props.get("parameterGroupName")
            yield (f"parameter group {name!r} is not in this stack, so rds.force_ssl=1 cannot be checked" if name
                   else "uses the engine's default parameter group: attach one that sets rds.force_ssl=1")
        elif not any(forces_ssl(g) for g in linked):
            yield "its parameter group does not set rds.force_ssl=1, so clients may connect without TLS"

    check_each(of_type(args, [tokens.RDS_INSTANCE]), check, report_violation)


# ---------------------------------------------------------------------------------------------- ElastiCache, MQ


def _elasticache_baseline(args: ResourceValidationArgs) -> Iterator[str]:
    p = args.props
    if not is_true(p.get("atRestEncryptionEnabled")):
        yield "data at rest is not encrypted: set at_rest_encryption_enabled=True"
    if not is_true(p.get("transitEncryptionEnabled")):
        yield "clients connect without TLS: set transit_encryption_enabled=True"
    if not (p.get("authToken") or p.get("authTokenWo") or items(p.get("userGroupIds"))):
        yield "no AUTH token or user group: anyone who reaches the port can read and write"
    if number(p.get("snapshotRetentionLimit")) < 1:
        yield "no snapshots are kept: set snapshot_retention_limit to 1 or more"
    replicated = (number(p.get("numCacheClusters"), 1) > 1 or number(p.get("replicasPerNodeGroup")) > 0
                  or number(p.get("numNodeGroups"), 1) > 1)
    if replicated and not (is_true(p.get("automaticFailoverEnabled")) and is_true(p.get("multiAzEnabled"))):
        yield "replicas without automatic failover across AZs: set automatic_failover_enabled and multi_az_enabled"


def _mq_private(args: ResourceValidationArgs) -> Iterator[str]:
    p = args.props
    if is_true(p.get("publiclyAccessible")):
        yield "the broker is reachable from the internet: set publicly_accessible=False"
    if not is_true(dig(p, "logs", "general")):
        yield "broker logs are off: set logs.general=True"


def _stateful_protected(args: ResourceValidationArgs) -> Iterator[str]:
    if is_production(args.get_config()) and not args.opts.protect and not restoring(args.props):
        yield (f"{args.resource_type.split(':')[-1]} '{args.name}' holds data but is not protected: "
               "give it protect=True so no `pulumi up` or `destroy` can delete it")


# ------------------------------------------------------------------------------------------------------------- S3


def _bucket_policy(name: str, description: str,
                   check: Callable[[PolicyResource, StackValidationArgs], Iterator[str]]) -> StackValidationPolicy:
    """pulumi-aws 7 configures a bucket through separate resources, so each S3 rule looks across the stack."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        check_each(of_type(args, tokens.S3_BUCKET), lambda bucket: check(bucket, args), report_violation)

    return StackValidationPolicy(name=name, description=description, validate=validate)


def _public_access_blocked(bucket: PolicyResource, args: StackValidationArgs) -> Iterator[str]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    blocks = referring(args, tokens.S3_PUBLIC_ACCESS_BLOCK, "bucket", bucket)
    if not any(all(is_true(b.props.get(f)) for f in flags) for b in blocks):
        yield "no BucketPublicAccessBlock with all four of " + ", ".join(flags) + " set to true"


def _encrypted(bucket: PolicyResource, args: StackValidationArgs) -> Iterator[str]:
    rules = [rule for sse in referring(args, tokens.S3_ENCRYPTION, "bucket", bucket) for rule in items(sse.props.get("rules"))]
    inline = dig(bucket.props, "serverSideEncryptionConfiguration", "rule")
    algorithms = {dig(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in [*rules, inline]}
    if not algorithms & SSE_ALGORITHMS:
        yield "no default server-side encryption: add a BucketServerSideEncryptionConfiguration (AES256 or aws:kms)"


def _versioned(bucket: PolicyResource, args: StackValidationArgs) -> Iterator[str]:
    versioning = referring(args, tokens.S3_VERSIONING, "bucket", bucket)
    enabled = any(dig(v.props, "versioningConfiguration", "status") == "Enabled" for v in versioning)
    if not (enabled or is_true(dig(bucket.props, "versioning", "enabled"))):
        yield "versioning is not enabled: add a BucketVersioning with status Enabled"


def _owner_enforced(bucket: PolicyResource, args: StackValidationArgs) -> Iterator[str]:
    controls = referring(args, tokens.S3_OWNERSHIP, "bucket", bucket)
    if not any(dig(c.props, "rule", "objectOwnership") == "BucketOwnerEnforced" for c in controls):
        yield "ACLs are still in effect: add BucketOwnershipControls with object_ownership BucketOwnerEnforced"


def denies_insecure_transport(document: object) -> bool:
    """Whether an IAM policy document denies every request made without TLS (aws:SecureTransport false)."""
    statements = dig(document, "Statement")
    statements = items(statements) or [statements]
    for statement in statements:
        condition = mapping(dig(statement, "Condition", "Bool"))
        secure = condition.get("aws:SecureTransport")
        secure = items(secure) or [secure]
        principal = dig(statement, "Principal")
        everyone = principal == "*" or "*" in (items(dig(principal, "AWS")) or [dig(principal, "AWS")])
        if (dig(statement, "Effect") == "Deny" and everyone
                and any(v is False or str(v).lower() == "false" for v in secure)):
            return True
    return False


def _tls_only(bucket: PolicyResource, args: StackValidationArgs) -> Iterator[str]:
    documents = [parse_json(p.props.get("policy")) for p in referring(args, tokens.S3_POLICY, "bucket", bucket)]
    documents.append(parse_json(bucket.props.get("policy")))
    if not any(denies_insecure_transport(d) for d in documents if d is not None):
        yield "no bucket policy denies requests without TLS: Deny * when aws:SecureTransport is false"


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    resource_policy("rds-baseline", "RDS instances are encrypted, private, backed up for 7+ days, patched, "
                    "log to CloudWatch and have Performance Insights.", [tokens.RDS_INSTANCE], _rds_baseline),
    resource_policy("rds-production-safeguards", "Production RDS instances have deletion protection, a final "
                    "snapshot and Multi-AZ.", [tokens.RDS_INSTANCE], _rds_production, PRODUCTION_SCHEMA),
    StackValidationPolicy(name="rds-force-ssl", description="Every RDS instance uses a parameter group that sets "
                          "rds.force_ssl=1.", validate=_rds_force_ssl),
    resource_policy("elasticache-baseline", "ElastiCache replication groups encrypt at rest and in transit, require "
                    "an AUTH token, keep snapshots, and fail over across AZs when replicated.",
                    [tokens.ELASTICACHE_REPLICATION_GROUP], _elasticache_baseline),
    resource_policy("mq-broker-private", "Amazon MQ brokers are not publicly accessible and keep general logs.",
                    [tokens.MQ_BROKER], _mq_private),
    resource_policy("stateful-resources-protected", "In production, RDS, ElastiCache, S3, Amazon MQ and ECR "
                    "resources are protected from deletion.", STATEFUL, _stateful_protected, PRODUCTION_SCHEMA),
    _bucket_policy("s3-public-access-blocked", "Every S3 bucket blocks all public access.", _public_access_blocked),
    _bucket_policy("s3-encrypted", "Every S3 bucket has default server-side encryption.", _encrypted),
    _bucket_policy("s3-versioned", "Every S3 bucket has versioning enabled.", _versioned),
    _bucket_policy("s3-owner-enforced", "Every S3 bucket disables ACLs (BucketOwnerEnforced).", _owner_enforced),
    _bucket_policy("s3-tls-only", "Every S3 bucket's policy denies requests made without TLS.", _tls_only),
]
