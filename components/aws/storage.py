"""Storage: the workspace as an S3 bucket: private, owner-enforced, KMS-encrypted, versioned, TLS-only.

Services that `use` storage get `STORAGE_URL=s3://<bucket>` and `STORAGE_BUCKET`, and a task-role policy for objects
in this bucket only. Docker shared volumes (`services[].volumes`) are not storage here: on Fargate each becomes an
ephemeral volume inside its own service's task (see service.py), so without `twinstack:storage` no bucket exists.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.policy import document
from components.contracts import Binding
from config.model import StackConfig


def tls_only_statements(bucket_arn: pulumi.Input[str]) -> list[dict]:
    """Bucket-policy statements refusing plain HTTP and TLS older than 1.2, for the bucket and every object in it."""
    resources = [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")]
    return [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutdatedTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
    ]


class Storage(pulumi.ComponentResource):
    def __init__(self, name: str, stack: StackConfig, network, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Storage", name, None, opts)
        self.bucket: aws.s3.Bucket | None = None
        self.task_policy: pulumi.Output[str] | None = None
        self.binding = Binding()
        if stack.storage is None:
            self.register_outputs({"bucket": None})
            return
        child = pulumi.ResourceOptions(parent=self)
        prefix, key = stack.name_prefix, network.key
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=stack.storage.bucket_name,
            bucket_prefix=None if stack.storage.bucket_name else f"{prefix}-workspace-",
            # Outside production `pulumi destroy` may empty the bucket; in production it must be emptied by hand.
            force_destroy=not stack.production,
            opts=pulumi.ResourceOptions(parent=self, protect=stack.protects_data),
        )
        bucket = self.bucket.id
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                "kms_master_key_id": key.arn},
                    # One data key per bucket rather than per object: far fewer KMS calls, same protection.
                    "bucket_key_enabled": True}],
            opts=child)
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket,
                                versioning_configuration={"status": "Enabled"}, opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket,
            rules=[
                {"id": "abort-incomplete-uploads", "status": "Enabled", "filter": {},
                 "abort_incomplete_multipart_upload": {"days_after_initiation": 7}},
                {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {},
                 "noncurrent_version_expiration": {"noncurrent_days": stack.storage.noncurrent_version_days}},
            ],
            opts=child)
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket, policy=document(tls_only_statements(self.bucket.arn)),
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_block]))

        self.task_policy = document([
            {"Sid": "ListWorkspace", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
             "Resource": self.bucket.arn},
            {"Sid": "ObjectsInWorkspace", "Effect": "Allow",
             "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts"],
             "Resource": pulumi.Output.concat(self.bucket.arn, "/*")},
            {"Sid": "WorkspaceKeyThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": key.arn,
             "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat("s3.", network.account.region,
                                                                                   ".amazonaws.com")}}},
        ])
        self.binding = Binding(
            env={"STORAGE_URL": pulumi.Output.concat("s3://", self.bucket.bucket), "STORAGE_BUCKET": self.bucket.bucket},
            depends_on=[self.bucket],
        )
        self.register_outputs({"bucket": self.bucket.bucket, "bucketArn": self.bucket.arn})
