"""IAM policy documents built from Pulumi inputs, and the account facts (id, region, partition) ARNs are made of."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


def document(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """A policy JSON whose statements may hold Outputs (ARNs); resolved before serialising, never creating resources.

    The Output leaves are collected once and resolved together by one `Output.all`, then put back in their places."""
    leaves: list[Any] = []

    def hollow(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: hollow(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [hollow(v) for v in value]
        if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
            leaves.append(value)
            return _Leaf(len(leaves) - 1)
        return value

    def fill(value: Any, resolved: Sequence[Any]) -> Any:
        if isinstance(value, dict):
            return {k: fill(v, resolved) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, resolved) for v in value]
        return resolved[value.index] if isinstance(value, _Leaf) else value

    template = hollow({"Version": "2012-10-17", "Statement": list(statements)})
    return pulumi.Output.all(*leaves).apply(lambda resolved: json.dumps(fill(template, resolved), sort_keys=True))


@dataclass(frozen=True)
class _Leaf:
    """Where an Output of a policy document goes back once resolved: its index among the document's leaves."""

    index: int


def assume_role(service: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """Trust a service principal, only on behalf of this account (the confused-deputy guard)."""
    return document([{
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    }])


class Account:
    """Where this stack runs, read once per component from the provider (so an explicit provider's region wins)."""

    def __init__(self, parent: pulumi.Resource):
        invoke = pulumi.InvokeOptions(parent=parent)
        self.id: pulumi.Output[str] = aws.get_caller_identity_output(opts=invoke).account_id
        self.region: pulumi.Output[str] = aws.get_region_output(opts=invoke).region
        self.partition: pulumi.Output[str] = aws.get_partition_output(opts=invoke).partition

    def arn(self, service: str, resource: str, regional: bool = True) -> pulumi.Output[str]:
        return pulumi.Output.format("arn:{0}:{1}:{2}:{3}:{4}", self.partition, service,
                                    self.region if regional else "", self.id, resource)
