"""The AWS network on the recorded graphs of staging, prod and a NAT-less variant: subnets, egress, flow logs, security
groups (every rule described, nothing from the internet but 80/443 on the ALB, the data tier only from the app tier)."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest

from components.aws.rules import port_ranges
from tests.harness import Graph, provided, run_stack

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
WORLD = {"0.0.0.0/0", "::/0"}

NO_NAT = {
    "twinstack:network": {"cidr": "10.40.0.0/20", "azCount": 3, "nat": "none"},
    "twinstack:broker": {"version": "3.13"},
}


@pytest.fixture(scope="module")
def no_nat() -> Graph:
    return run_stack("staging", set=NO_NAT)


@pytest.fixture(scope="module", params=["staging", "prod", "no_nat"])
def graph(request) -> Graph:
    return request.getfixturevalue(request.param)


def by_id(graph: Graph, type_: str) -> dict[str, object]:
    """Resources of a type by the id the mocks give them, to follow references between resources."""
    return {provided(r): r for r in graph.of_type(type_)}


def tier(graph: Graph, sg_id: str) -> str:
    return by_id(graph, SG)[sg_id].name.removeprefix("twinstack-network-").removesuffix("-sg")


# ------------------------------------------------------------------------------------------------------- subnets


@pytest.mark.parametrize("stack, cidr, azs", [("staging", "10.20.0.0/16", 2), ("prod", "10.30.0.0/16", 3),
                                              ("no_nat", "10.40.0.0/20", 3)])
def test_public_and_private_subnet_per_az_carved_from_the_vpc(request, stack, cidr, azs):
    graph = request.getfixturevalue(stack)
    vpc = graph.one(VPC)
    assert vpc.get("cidrBlock") == cidr
    assert vpc.get("enableDnsHostnames") and vpc.get("enableDnsSupport")
    subnets = graph.of_type(SUBNET)
    blocks = [ipaddress.ip_network(s.get("cidrBlock")) for s in subnets]
    assert len(subnets) == 2 * azs
    assert all(b.subnet_of(ipaddress.ip_network(cidr)) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
    for kind in ("public", "private"):
        zones = [s.get("availabilityZone") for s in subnets if s.get("tags")["tier"] == kind]
        assert sorted(zones) == ["us-east-1a", "us-east-1b", "us-east-1c"][:azs]
    assert not any(s.get("mapPublicIpOnLaunch") for s in subnets)


def test_public_subnets_route_to_the_internet_gateway_only(graph):
    igw_routes = [r for r in graph.of_type(ROUTE) if r.get("gatewayId")]
    assert len(igw_routes) == 1 and igw_routes[0].get("destinationCidrBlock") == "0.0.0.0/0"
    public_rt = graph.one(ROUTE_TABLE, "public")
    assert igw_routes[0].get("routeTableId") == provided(public_rt)


@pytest.mark.parametrize("stack, gateways", [("staging", 1), ("prod", 3), ("no_nat", 0)])
def test_nat_strategy(request, stack, gateways):
    graph = request.getfixturevalue(stack)
    nats = graph.of_type(NAT)
    assert len(nats) == gateways
    public_subnets = {provided(s) for s in graph.of_type(SUBNET) if s.get("tags")["tier"] == "public"}
    assert all(n.get("subnetId") in public_subnets for n in nats)
    assert all(graph.depends_on(n, graph.one("aws:ec2/internetGateway:InternetGateway")) for n in nats)
    private_tables = [t for t in graph.of_type(ROUTE_TABLE) if "private" in t.name]
    nat_routes = {r.get("routeTableId"): r.get("natGatewayId") for r in graph.of_type(ROUTE) if r.get("natGatewayId")}
    if gateways == 0:
        assert nat_routes == {}
        return
    assert set(nat_routes) == {provided(t) for t in private_tables}
    # perAz: every AZ has its own gateway; single: all share one
    assert len(set(nat_routes.values())) == gateways


def test_without_nat_private_tasks_get_the_endpoints_they_need(no_nat, staging):
    endpoints = {e.get("serviceName"): e for e in no_nat.of_type(ENDPOINT)}
    assert set(endpoints) == {f"com.amazonaws.us-east-1.{s}" for s in
                              ("s3", "ecr.api", "ecr.dkr", "logs", "secretsmanager")}
    s3 = endpoints.pop("com.amazonaws.us-east-1.s3")
    assert s3.get("vpcEndpointType") == "Gateway"
    private_tables = {provided(t) for t in no_nat.of_type(ROUTE_TABLE) if "private" in t.name}
    assert set(s3.get("routeTableIds")) == private_tables
    private_subnets = {provided(s) for s in no_nat.of_type(SUBNET) if s.get("tags")["tier"] == "private"}
    for endpoint in endpoints.values():
        assert endpoint.get("vpcEndpointType") == "Interface" and endpoint.get("privateDnsEnabled")
        assert set(endpoint.get("subnetIds")) == private_subnets
        assert [tier(no_nat, g) for g in endpoint.get("securityGroupIds")] == ["endpoints"]
    # the app tier's HTTPS egress goes to the endpoints and the S3 prefix list, not to the internet
    https_out = [r for r in no_nat.of_type(EGRESS) if r.get("fromPort") == 443]
    assert [r.get("cidrIpv4") for r in https_out] == [None, None]
    to_s3 = next(r for r in https_out if r.get("prefixListId"))
    assert to_s3.get("prefixListId").startswith("pl-") and no_nat.depends_on(to_s3, s3)
    to_endpoints = next(r for r in https_out if r.get("referencedSecurityGroupId"))
    assert tier(no_nat, to_endpoints.get("referencedSecurityGroupId")) == "endpoints"
    assert staging.of_type(ENDPOINT) == []


# ----------------------------------------------------------------------------------------------------- flow logs


def test_flow_logs_in_production_to_an_encrypted_log_group_with_retention(prod, staging):
    flow = prod.one("aws:ec2/flowLog:FlowLog")
    group = prod.one("aws:cloudwatch/logGroup:LogGroup", "flow-logs")
    role = prod.one("aws:iam/role:Role", "flow-logs")
    assert flow.get("vpcId") == provided(prod.one(VPC))
    assert flow.get("trafficType") == "ALL" and flow.get("logDestinationType") == "cloud-watch-logs"
    assert flow.get("logDestination") == provided(group, "arn")
    assert flow.get("logDestination").startswith("arn:aws:logs:us-east-1:123456789012:log-group:")
    assert flow.get("iamRoleArn") == provided(role, "arn")
    assert group.get("retentionInDays") == 90 and group.get("kmsKeyId")
    trust = json.loads(role.get("assumeRolePolicy"))["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    write = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "flow-logs").get("policy"))["Statement"]
    assert all(res.startswith(provided(group, "arn")) for st in write for res in st["Resource"])
    assert staging.of_type("aws:ec2/flowLog:FlowLog") == []


# ----------------------------------------------------------------------------------------------- security groups


def test_default_security_group_is_adopted_with_no_rules(graph):
    default = graph.one(DEFAULT_SG)
    assert default.get("vpcId") == provided(graph.one(VPC))
    assert default.get("ingress") == [] and default.get("egress") == []


@pytest.mark.parametrize("stack, tiers", [
    ("staging", {"alb", "app", "db", "cache"}),
    ("prod", {"alb", "app", "db", "cache"}),
    ("no_nat", {"alb", "app", "db", "cache", "broker", "endpoints"}),
])
def test_one_security_group_per_tier_without_inline_rules(request, stack, tiers):
    graph = request.getfixturevalue(stack)
    groups = graph.of_type(SG)
    assert {tier(graph, provided(g)) for g in groups} == tiers
    assert all(g.get("description") and not g.get("ingress") and not g.get("egress") for g in groups)
    assert graph.of_type(LEGACY_RULE) == []


def test_every_rule_has_a_description(graph):
    rules = graph.of_type(INGRESS) + graph.of_type(EGRESS)
    assert rules and all(len(r.get("description") or "") > 10 for r in rules)


def test_nothing_from_the_internet_but_80_and_443_on_the_alb(graph):
    groups = graph.of_type(SG) + graph.of_type(DEFAULT_SG)
    inline = [(g.name, rule) for g in groups for rule in g.get("ingress") or []]
    assert not [n for n, rule in inline if WORLD & set(rule.get("cidrBlocks", []) + rule.get("ipv6CidrBlocks", []))]
    open_to_world = [r for r in graph.of_type(INGRESS) + graph.of_type(LEGACY_RULE)
                     if WORLD & {r.get("cidrIpv4"), r.get("cidrIpv6"), *(r.get("cidrBlocks") or [])}]
    assert open_to_world
    for rule in open_to_world:
        assert tier(graph, rule.get("securityGroupId")) == "alb"
        assert rule.get("ipProtocol") == "tcp" and rule.get("fromPort") == rule.get("toPort") in (80, 443)


def test_https_only_opens_when_there_is_tls(staging, prod):
    assert {r.get("fromPort") for r in prod.of_type(INGRESS) if r.get("cidrIpv4")} == {80, 443}
    assert {r.get("fromPort") for r in staging.of_type(INGRESS) if r.get("cidrIpv4")} == {80}


def test_data_tier_accepts_only_the_app_tier_on_its_port(graph):
    ports = {"db": 5432, "cache": 6379, "broker": 5671, "endpoints": 443}
    for rule in graph.of_type(INGRESS):
        target = tier(graph, rule.get("securityGroupId"))
        if target in ports:
            assert tier(graph, rule.get("referencedSecurityGroupId")) == "app"
            assert rule.get("fromPort") == rule.get("toPort") == ports[target]
            assert rule.get("cidrIpv4") is None


def test_app_tier_admits_the_alb_and_itself_on_service_ports(graph):
    sources = {(tier(graph, r.get("referencedSecurityGroupId")), r.get("fromPort"))
               for r in graph.of_type(INGRESS) if tier(graph, r.get("securityGroupId")) == "app"}
    assert sources == {("alb", 8000), ("app", 8000)}
    alb_out = [r for r in graph.of_type(EGRESS) if tier(graph, r.get("securityGroupId")) == "alb"]
    assert [(tier(graph, r.get("referencedSecurityGroupId")), r.get("fromPort")) for r in alb_out] == [("app", 8000)]


def test_consecutive_service_ports_share_one_rule_and_gaps_split_it():
    ports = {"b": 3001, "a": 3000, "c": 3002, "d": 8000, "e": 8000, "f": 9000}
    assert port_ranges(ports) == [((3000, 3002), "3000-3002", "b, a, c"), ((8000, 8000), "8000", "d, e"),
                                  ((9000, 9000), "9000", "f")]
    many = {f"service-{i:03d}": 3000 + i for i in range(100)}
    [(span, label, who)] = port_ranges(many)
    assert span == (3000, 3099) and label == "3000-3099" and who == "100 services"


def test_castiel_opens_its_21_service_ports_in_one_rule_each_way():
    from tests.test_examples import example_file, production_on_aws

    graph = run_stack("castiel", file=example_file("castiel"), set=production_on_aws("castiel"))
    def within_app(rules: list) -> list:
        return [r for r in rules if r.get("referencedSecurityGroupId")
                and tier(graph, r.get("securityGroupId")) == tier(graph, r.get("referencedSecurityGroupId")) == "app"]

    app_in, app_out = within_app(graph.of_type(INGRESS)), within_app(graph.of_type(EGRESS))
    assert [(r.get("fromPort"), r.get("toPort")) for r in app_in + app_out] == [(3000, 3020)] * 2
    allowed = re.compile(r"^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{1,255}$")
    assert all(allowed.match(r.get("description")) for r in app_in + app_out)
    # only the gateway is routed: the load balancer reaches 3000 and nothing else
    alb_out = [r for r in graph.of_type(EGRESS) if tier(graph, r.get("securityGroupId")) == "alb"]
    assert [(r.get("fromPort"), r.get("toPort")) for r in alb_out] == [(3000, 3000)]


def test_data_tier_groups_have_no_egress(graph):
    egress_groups = {tier(graph, r.get("securityGroupId")) for r in graph.of_type(EGRESS)}
    assert egress_groups == {"alb", "app"}


def test_descriptions_use_only_what_ec2_accepts(graph):
    # EC2 rejects a security group or rule description outside this set (no apostrophes, for one)
    allowed = re.compile(r"^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{1,255}$")
    described = graph.of_type(SG) + graph.of_type(INGRESS) + graph.of_type(EGRESS)
    assert [r.name for r in described if not allowed.match(r.get("description") or "")] == []
