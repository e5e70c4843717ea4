"""Storage: the workspace as an S3 bucket: private, owner-enforced, KMS-encrypted, versioned, TLS-only, and in
production with server access logs in a log bucket of its own (Checkov CKV_AWS_18).

Services that `use` storage get `STORAGE_URL=s3://<bucket>` and `STORAGE_BUCKET`, and a task-role policy for objects
in this bucket only. Docker shared volumes (`services[].volumes`) are not storage here: on Fargate each becomes an
ephemeral volume inside its own service's task (see service.py), so without `twinstack:storage` no bucket exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.aws.policy import document
from components.aws.site import Site
from components.contracts import Binding
from config import model
from config.model import StackConfig

if TYPE_CHECKING:
    from components.aws.network import Network


def tls_only_statements(bucket_arn: pulumi.Input[str]) -> list[dict]:
    """Bucket-policy statements refusing plain HTTP and TLS older than 1.2, for the bucket and every object in it."""
    resources = [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")]
    return [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutdatedTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
    ]


def workspace_policy(bucket_arn: pulumi.Output[str], site: Site) -> pulumi.Output[str]:
    """The task-role policy of a service that uses storage: objects in this bucket, through S3 with the stack key."""
    return document([
        {"Sid": "ListWorkspace", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": bucket_arn},
        {"Sid": "ObjectsInWorkspace", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts"],
         "Resource": pulumi.Output.concat(bucket_arn, "/*")},
        {"Sid": "WorkspaceKeyThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": site.key.arn,
         "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat("s3.", site.account.region,
                                                                               ".amazonaws.com")}}},
    ])


def private_and_versioned(name: str, bucket: aws.s3.Bucket,
                          child: pulumi.ResourceOptions) -> aws.s3.BucketPublicAccessBlock:
    """What every bucket of the stack has: all four public-access blocks, owner-enforced ownership (no ACLs) and
    versioning. Returns the public-access block, which a bucket policy must wait for."""
    public_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=child)
    aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                   rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
    aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                            versioning_configuration={"status": "Enabled"}, opts=child)
    return public_block


def log_bucket(name: str, site: Site, bucket_prefix: str,
               writers: Callable[[pulumi.Output[str]], list[dict]],
               parent: pulumi.Resource) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
    """A bucket that receives an AWS service's logs: private, owner-enforced, versioned, TLS-only, expiring after the
    stack's log retention. `writers` are the policy statements letting the service deliver (given the bucket's ARN).

    Encrypted with SSE-S3, not the stack's KMS key: ALB access logs and S3 server access logs are delivered only to
    SSE-S3 buckets. A log bucket has no access logging of its own (it would log its own deliveries).
    """
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(name, bucket_prefix=bucket_prefix, force_destroy=not site.production,
                           opts=pulumi.ResourceOptions(parent=parent, protect=site.protect_data))
    public_block = private_and_versioned(name, bucket, child)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}], opts=child)
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle", bucket=bucket.id,
        rules=[{"id": "expire-logs", "status": "Enabled", "filter": {},
                "expiration": {"days": site.log_retention_days},
                "noncurrent_version_expiration": {"noncurrent_days": 1},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}],
        opts=child)
    policy = aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id,
                                 policy=document([*writers(bucket.arn), *tls_only_statements(bucket.arn)]),
                                 opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_block]))
    return bucket, policy


@dataclass(frozen=True)
class StorageArgs:
    # None where only shared volumes asked for storage: on Fargate those stay inside each task, so there is no bucket
    settings: model.Storage | None
    site: Site


def build(name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Storage | None:
    """The adapter: the workspace's arguments from the stack, wherever storage or a shared volume is configured."""
    if stack.storage is None and not any(s.volumes for s in stack.services):
        return None
    return Storage(name, StorageArgs(settings=stack.storage, site=network.site), opts)


class Storage(pulumi.ComponentResource):
    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Storage", name, None, opts)
        self.operations = None  # nothing tools/ops.py operates
        self.url = None  # no connection URL: storage has no password
        self.bucket: aws.s3.Bucket | None = None
        self.task_policy: pulumi.Output[str] | None = None
        self.binding = Binding()
        if args.settings is None:
            self.register_outputs({"bucket": None})
            return
        site = args.site
        self.bucket = bucket = self._bucket(name, args.settings, site)
        if site.production:
            self._access_logs(name, site, bucket)
        self.task_policy = workspace_policy(bucket.arn, site)
        self.binding = Binding(
            env={"STORAGE_URL": pulumi.Output.concat("s3://", bucket.bucket), "STORAGE_BUCKET": bucket.bucket},
            depends_on=[bucket],
        )
        self.register_outputs({"bucket": bucket.bucket, "bucketArn": bucket.arn})

    def _bucket(self, name: str, storage: model.Storage, site: Site) -> aws.s3.Bucket:
        """The workspace bucket: private, owner-enforced, encrypted with the stack key, versioned, TLS-only."""
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=storage.bucket_name,
            bucket_prefix=None if storage.bucket_name else f"{site.prefix}-workspace-",
            # Outside production `pulumi destroy` may empty the bucket; in production it must be emptied by hand.
            force_destroy=not site.production,
            opts=pulumi.ResourceOptions(parent=self, protect=site.protect_data),
        )
        public_block = private_and_versioned(name, bucket, child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                "kms_master_key_id": site.key.arn},
                    # One data key per bucket rather than per object: far fewer KMS calls, same protection.
                    "bucket_key_enabled": True}],
            opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[
                {"id": "abort-incomplete-uploads", "status": "Enabled", "filter": {},
                 "abort_incomplete_multipart_upload": {"days_after_initiation": 7}},
                {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {},
                 "noncurrent_version_expiration": {"noncurrent_days": storage.noncurrent_version_days}},
            ],
            opts=child)
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=document(tls_only_statements(bucket.arn)),
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_block]))
        return bucket

    def _access_logs(self, name: str, site: Site, source: aws.s3.Bucket) -> None:
        """S3 server access logs of the workspace, delivered by the logging service to a log bucket under
        `workspace/` (AmazonS3/latest/userguide/enable-server-access-logging.html: a bucket policy for
        logging.s3.amazonaws.com, limited to this source bucket and account)."""

        def writers(bucket_arn: pulumi.Output[str]) -> list[dict]:
            return [{"Sid": "S3ServerAccessLogsOfTheWorkspace", "Effect": "Allow",
                     "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                     "Resource": pulumi.Output.concat(bucket_arn, "/workspace/*"),
                     "Condition": {"ArnLike": {"aws:SourceArn": source.arn},
                                   "StringEquals": {"aws:SourceAccount": site.account.id}}}]

        logs, policy = log_bucket(f"{name}-logs", site, f"{site.prefix}-workspace-logs-", writers, self)
        aws.s3.BucketLogging(f"{name}-access-logging", bucket=source.id, target_bucket=logs.id,
                             target_prefix="workspace/",
                             opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))

