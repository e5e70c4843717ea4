"""StackKey: the customer-managed KMS key that encrypts the stack's secrets, logs, topic, database, cache and bucket.

One key per stack, rotated yearly by KMS. A customer-managed key rather than AWS-managed ones because the alarm topic
can only be encrypted with a key whose policy lets CloudWatch publish to it, and because one key policy then says who
may read every secret and log of the stack. It costs about $1 a month, so staging gets it too and tests the same
policy it will meet in production.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.policy import Account, document


@dataclass(frozen=True)
class StackKeyArgs:
    prefix: str  # twinstack:namePrefix: names the key and its alias
    protect: bool  # protectData: `pulumi destroy` may not schedule the key's deletion


class StackKey(pulumi.ComponentResource):
    def __init__(self, name: str, args: StackKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:StackKey", name, None, opts)
        account = Account(self)
        logs_principal = pulumi.Output.concat("logs.", account.region, ".amazonaws.com")
        self.key = aws.kms.Key(
            f"{name}-kms",
            description=f"twinstack {args.prefix}: secrets, logs, alarm topic and data at rest",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=document([
                {
                    # Lets IAM policies grant use of the key (the roles in this stack scope it per service).
                    "Sid": "AccountAdministersThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": pulumi.Output.format("arn:{0}:iam::{1}:root", account.partition, account.id)},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchLogsOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": logs_principal},
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    "Resource": "*",
                    "Condition": {"ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": account.arn("logs", "log-group:*")}},
                },
                {
                    # CloudWatch alarms publish to the encrypted SNS topic.
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account.id}},
                },
            ]),
            # Scheduling this key's deletion would make every snapshot, secret and log it encrypted unreadable.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.alias = aws.kms.Alias(f"{name}-alias", name=f"alias/twinstack/{args.prefix}",
                                   target_key_id=self.key.key_id, opts=pulumi.ResourceOptions(parent=self))
        self.arn: pulumi.Output[str] = self.key.arn
        self.register_outputs({"arn": self.arn, "alias": self.alias.name})
