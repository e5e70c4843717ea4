"""Security groups (inline rules and the three kinds of separate rule resources) and log retention."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import registry, tokens
from .common import check_each, items, number, of_type, refers_to, resource_policy

WORLD = {"0.0.0.0/0", "::/0"}
PUBLIC_PORTS = {80, 443}
GROUPS = (tokens.SECURITY_GROUP, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
RULE_RESOURCES = (tokens.SECURITY_GROUP_RULE, tokens.INGRESS_RULE, tokens.EGRESS_RULE)
# Where each data service lists its security groups. A data server of a kind not listed here (a new data-tier kind of
# the registry) is found by its component instead: whatever sits under the component of a data-tier kind and lists
# security groups under one of these properties (`data_servers`).
DATA_TIER_GROUPS = {
    tokens.RDS_INSTANCE: "vpcSecurityGroupIds",
    tokens.ELASTICACHE_REPLICATION_GROUP: "securityGroupIds",
    tokens.MQ_BROKER: "securityGroups",
}
GROUP_PROPERTIES = tuple(dict.fromkeys(DATA_TIER_GROUPS.values()))


@dataclass(frozen=True)
class Rule:
    """One security-group rule, whichever resource declares it."""

    direction: str  # ingress | egress
    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...]  # CIDR and prefix-list sources or destinations (anything that is not another group)
    description: str
    where: str  # for messages: "ingress[0]" or the rule resource's name


def _protocol(value: Any) -> str:
    text = str(value if value is not None else "-1").lower()
    return {"6": "tcp", "17": "udp", "all": "-1"}.get(text, text)


def rules_of(resource_type: str, props: Mapping[str, Any], name: str) -> list[Rule]:
    """Normalise a security group's inline rules or a rule resource into `Rule`s."""
    if resource_type in GROUPS:
        return [
            Rule(direction, _protocol(r.get("protocol")), int(number(r.get("fromPort"))), int(number(r.get("toPort"))),
                 (*items(r.get("cidrBlocks")), *items(r.get("ipv6CidrBlocks")), *items(r.get("prefixListIds"))),
                 str(r.get("description") or ""), f"{direction}[{i}]")
            for direction in ("ingress", "egress")
            for i, r in enumerate(items(props.get(direction)))
            if isinstance(r, Mapping)
        ]
    if resource_type == tokens.SECURITY_GROUP_RULE:
        cidrs = (*items(props.get("cidrBlocks")), *items(props.get("ipv6CidrBlocks")),
                 *items(props.get("prefixListIds")))
        return [Rule(str(props.get("type")), _protocol(props.get("protocol")), int(number(props.get("fromPort"))),
                     int(number(props.get("toPort"))), cidrs, str(props.get("description") or ""), name)]
    if resource_type in (tokens.INGRESS_RULE, tokens.EGRESS_RULE):
        cidrs = tuple(c for c in (props.get("cidrIpv4"), props.get("cidrIpv6"), props.get("prefixListId")) if c)
        direction = "ingress" if resource_type == tokens.INGRESS_RULE else "egress"
        protocol = _protocol(props.get("ipProtocol"))
        # ip_protocol -1 means every port, whatever from/to say
        low, high = (0, 65535) if protocol == "-1" else (int(number(props.get("fromPort"))),
                                                           int(number(props.get("toPort"))))
        return [Rule(direction, protocol, low, high, cidrs, str(props.get("description") or ""), name)]
    return []


def _no_public_ingress(args: ResourceValidationArgs) -> Iterator[str]:
    for rule in rules_of(args.resource_type, args.props, args.name):
        if rule.direction != "ingress" or not WORLD & set(rule.cidrs):
            continue
        web = rule.protocol == "tcp" and rule.from_port == rule.to_port and rule.from_port in PUBLIC_PORTS
        if not web:
            ports = "all ports" if rule.protocol == "-1" else f"{rule.protocol} {rule.from_port}-{rule.to_port}"
            yield f"{rule.where} opens {ports} to the internet; only 80 and 443 may be open to 0.0.0.0/0"


def _described(args: ResourceValidationArgs) -> Iterator[str]:
    for rule in rules_of(args.resource_type, args.props, args.name):
        if not rule.description.strip():
            yield f"{rule.where} has no description: say who the rule lets in or out and why"


def _groups_property(resource: PolicyResource) -> str | None:
    """Where a data server lists its security groups: by its type, else the first such property it has."""
    if resource.resource_type in DATA_TIER_GROUPS:
        return DATA_TIER_GROUPS[resource.resource_type]
    listed = {*resource.props, *resource.property_dependencies}  # keys only: a value unknown in a preview is no error
    return next((p for p in GROUP_PROPERTIES if p in listed), None)


def data_servers(args: StackValidationArgs) -> list[PolicyResource]:
    """The data tier's servers: RDS, ElastiCache and Amazon MQ by type, and anything else that lists security groups
    from under the component of one of the registry's data-tier kinds."""
    return [r for r in args.resources if r.resource_type in DATA_TIER_GROUPS
            or (r.resource_type.startswith("aws:") and _groups_property(r) and registry.under_data_tier(r))]


def _data_tier_from_groups_only(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    groups = of_type(args, GROUPS)
    rule_resources = of_type(args, RULE_RESOURCES)

    def check(data: PolicyResource) -> Iterator[str]:
        prop = _groups_property(data)
        assert prop is not None
        attached = [g for g in groups if refers_to(data, prop, g)]
        for group in attached:
            rules = rules_of(group.resource_type, group.props, group.name)
            rules += [rule for r in rule_resources if refers_to(r, "securityGroupId", group)
                      for rule in rules_of(r.resource_type, r.props, r.name)]
            for rule in rules:
                if rule.direction == "ingress" and rule.cidrs:
                    yield (f"security group '{group.name}' ({rule.where}) admits {', '.join(rule.cidrs)}: the data "
                           "tier accepts only the app tier's security group")

    check_each(data_servers(args), check, report_violation)


def _log_retention(args: ResourceValidationArgs) -> Iterator[str]:
    if number(args.props.get("retentionInDays")) <= 0:
        yield "logs are kept forever (and billed forever): set retention_in_days"


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    resource_policy("security-group-no-public-ingress", "Nothing is open to 0.0.0.0/0 or ::/0 except TCP 80 and 443.",
                    (*GROUPS, *RULE_RESOURCES), _no_public_ingress),
    resource_policy("security-group-rules-described", "Every security-group rule has a description.",
                    (*GROUPS, *RULE_RESOURCES), _described),
    StackValidationPolicy(name="data-tier-ingress-from-app-only", description="Security groups of RDS, ElastiCache "
                          "and Amazon MQ admit other security groups only, never CIDR ranges.",
                          validate=_data_tier_from_groups_only),
    resource_policy("log-group-retention", "CloudWatch log groups have a retention period.", [tokens.LOG_GROUP],
                    _log_retention),
]
