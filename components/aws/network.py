"""Network: the VPC, its subnets over `network.azCount` AZs, egress (NAT or VPC endpoints) and one security group per tier.

Subnets are carved from `network.cidr`: the block is split into equal parts, private subnets first, then public ones.
The ALB and NAT gateways live in public subnets; tasks, RDS, ElastiCache and Amazon MQ only in private ones.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.key import StackKey, StackKeyArgs
from components.aws.policy import Account, assume_role, document
from components.aws.rules import port_ranges
from components.aws.site import Site
from config import model

# What private tasks reach when there is no NAT: image pulls (ECR api + dkr, layers from S3), logs and secrets.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


def subnet_cidrs(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """(private, public) subnet blocks, one of each per AZ, all the same size."""
    blocks = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=math.ceil(math.log2(2 * az_count))))
    return [str(b) for b in blocks[:az_count]], [str(b) for b in blocks[az_count:2 * az_count]]


@dataclass(frozen=True)
class DataTier:
    """A data part's own security group: it admits the app tier on the part's port, and nothing else."""

    part: str  # the part kind's key (config/parts.py)
    role: str  # the group's role in logical and physical names
    port: int  # what the part listens on, on AWS


@dataclass(frozen=True)
class NetworkArgs:
    settings: model.Network  # the VPC's block and AZ count
    prefix: str  # twinstack:namePrefix: the start of every physical name
    production: bool
    protect_data: bool
    log_retention_days: int  # the flow logs' (and, through the Site, every other log group's)
    nat: str  # "none", "single" or "perAz" (defaults.nat)
    flow_logs: bool
    tls: bool  # the ALB serves HTTPS on 443 (and redirects 80) rather than plain HTTP on 80
    data_tiers: tuple[DataTier, ...]  # each configured data-tier part kind, in the registry's order
    routed_ports: Mapping[str, int]  # {service: port} of the services behind the ALB
    service_ports: Mapping[str, int]  # {service: port} of every service that listens


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.prefix
        self.account = Account(self)
        self.key = StackKey(f"{name}-key", StackKeyArgs(prefix=prefix, protect=args.protect_data), opts=child)
        # what every other part of the stack shares (components/aws/site.py)
        self.site = Site(prefix=prefix, production=args.production, protect_data=args.protect_data,
                         log_retention_days=args.log_retention_days, key=self.key, account=self.account)

        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.settings.cidr, enable_dns_support=True,
                               enable_dns_hostnames=True, tags={"Name": prefix}, opts=child)
        # Adopting the default group strips its allow-all rules: nothing can be attached to it by accident.
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
            tags={"Name": f"{prefix}-default-closed"}, opts=child)

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": prefix}, opts=child)
        self.public_subnets, self.private_subnets, self.private_route_tables = self._subnets(name, args, igw, child)
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]

        self.nat_gateways = self._nat(name, args, igw, child)
        self.security_groups = self._security_groups(name, args, child)
        self.endpoints = self._endpoints(name, args, child) if args.nat == "none" else {}
        self._app_egress(name, args, child)
        if args.flow_logs:
            self._flow_logs(name, args, child)

        self.vpc_id: pulumi.Output[str] = self.vpc.id
        self.register_outputs({
            "vpcId": self.vpc_id,
            "publicSubnetIds": self.public_subnet_ids,
            "privateSubnetIds": self.private_subnet_ids,
            "securityGroupIds": {tier: sg.id for tier, sg in self.security_groups.items()},
            "natGateways": len(self.nat_gateways),
            "keyArn": self.key.arn,
        })

    def _subnets(self, name: str, args: NetworkArgs, igw: aws.ec2.InternetGateway, child: pulumi.ResourceOptions,
                 ) -> tuple[list[aws.ec2.Subnet], list[aws.ec2.Subnet], list[aws.ec2.RouteTable]]:
        """(public subnets, private subnets, private route tables), one of each per AZ: the public subnets share a
        route to the internet gateway, each private one has a route table of its own (`_nat` adds its default
        route)."""
        prefix, az_count = args.prefix, args.settings.az_count
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOptions(parent=self)).names
        private_cidrs, public_cidrs = subnet_cidrs(args.settings.cidr, az_count)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-public"},
                                       opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=child)

        publics: list[aws.ec2.Subnet] = []
        privates: list[aws.ec2.Subnet] = []
        route_tables: list[aws.ec2.RouteTable] = []
        for i in range(az_count):
            az = chr(ord("a") + i)
            zone = zones.apply(lambda names, i=i: _zone(names, i, az_count))
            public = aws.ec2.Subnet(f"{name}-public-{az}", vpc_id=self.vpc.id, cidr_block=public_cidrs[i],
                                    availability_zone=zone, map_public_ip_on_launch=False,
                                    tags={"Name": f"{prefix}-public-{az}", "tier": "public"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{az}", subnet_id=public.id, route_table_id=public_rt.id,
                                          opts=child)
            private = aws.ec2.Subnet(f"{name}-private-{az}", vpc_id=self.vpc.id, cidr_block=private_cidrs[i],
                                     availability_zone=zone, map_public_ip_on_launch=False,
                                     tags={"Name": f"{prefix}-private-{az}", "tier": "private"}, opts=child)
            # One private route table per AZ whatever the NAT strategy, so switching strategy only edits routes.
            private_rt = aws.ec2.RouteTable(f"{name}-private-{az}", vpc_id=self.vpc.id,
                                            tags={"Name": f"{prefix}-private-{az}"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{az}", subnet_id=private.id, route_table_id=private_rt.id,
                                          opts=child)
            publics.append(public)
            privates.append(private)
            route_tables.append(private_rt)
        return publics, privates, route_tables

    def _nat(self, name: str, args: NetworkArgs, igw: aws.ec2.InternetGateway,
             child: pulumi.ResourceOptions) -> list[aws.ec2.NatGateway]:
        count = {"none": 0, "single": 1, "perAz": args.settings.az_count}[args.nat]
        gateways = []
        for i in range(count):
            az = chr(ord("a") + i)
            eip = aws.ec2.Eip(f"{name}-nat-{az}", domain="vpc", tags={"Name": f"{args.prefix}-nat-{az}"},
                              opts=child)
            gateways.append(aws.ec2.NatGateway(
                f"{name}-nat-{az}", allocation_id=eip.id, subnet_id=self.public_subnets[i].id,
                tags={"Name": f"{args.prefix}-nat-{az}"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))
        for i, rt in enumerate(self.private_route_tables):
            if gateways:
                # perAz: each AZ egresses through its own gateway, so losing one AZ never cuts the others off.
                nat = gateways[i] if len(gateways) > 1 else gateways[0]
                aws.ec2.Route(f"{name}-private-{chr(ord('a') + i)}-default", route_table_id=rt.id,
                              destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child)
        return gateways

    def _security_groups(self, name: str, args: NetworkArgs,
                         child: pulumi.ResourceOptions) -> dict[str, aws.ec2.SecurityGroup]:
        tiers = {"alb": "Application load balancer: HTTPS (and HTTP) from the internet",
                 "app": "ECS tasks: only from the load balancer and each other"}
        for data in args.data_tiers:
            tiers[data.role] = f"{data.part.capitalize()}: only from the app tier"
        if args.nat == "none":
            tiers["endpoints"] = "VPC interface endpoints: HTTPS from the app tier"
        groups = {
            tier: aws.ec2.SecurityGroup(f"{name}-{tier}-sg", vpc_id=self.vpc.id, description=description,
                                        tags={"Name": f"{args.prefix}-{tier}"}, opts=child)
            for tier, description in tiers.items()
        }
        alb, app = groups["alb"].id, groups["app"].id

        def ingress(role: str, sg: pulumi.Input[str], ports: int | tuple[int, int], description: str, *,
                    cidr: str | None = None, source: pulumi.Input[str] | None = None) -> None:
            low, high = ports if isinstance(ports, tuple) else (ports, ports)
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{role}", security_group_id=sg, ip_protocol="tcp", from_port=low, to_port=high,
                cidr_ipv4=cidr, referenced_security_group_id=source, description=description, opts=child)

        def egress(role: str, sg: pulumi.Input[str], ports: int | tuple[int, int], description: str,
                   target: pulumi.Input[str]) -> None:
            low, high = ports if isinstance(ports, tuple) else (ports, ports)
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-{role}", security_group_id=sg, ip_protocol="tcp", from_port=low, to_port=high,
                referenced_security_group_id=target, description=description, opts=child)

        tls = args.tls
        if tls:
            ingress("alb-in-https", alb, 443, "HTTPS from the internet", cidr="0.0.0.0/0")
        ingress("alb-in-http", alb, 80,
                "HTTP from the internet, redirected to HTTPS" if tls else "HTTP from the internet (allowHttp, no TLS)",
                cidr="0.0.0.0/0")
        for ports, label, users in port_ranges(dict(args.routed_ports)):
            egress(f"alb-out-app-{label}", alb, ports, f"To the app tier on {label} ({users})", app)
            ingress(f"app-in-alb-{label}", app, ports, f"From the load balancer on {label} ({users})", source=alb)
        for ports, label, users in port_ranges(dict(args.service_ports)):
            # Service-to-service calls (http://<service>:<port>) through the Service Connect proxies.
            ingress(f"app-in-app-{label}", app, ports, f"From other services on {label} ({users})", source=app)
            egress(f"app-out-app-{label}", app, ports, f"To other services on {label} ({users})", app)
        for data in args.data_tiers:
            group = groups[data.role].id
            ingress(f"{data.role}-in-app", group, data.port, f"{data.part.capitalize()} from the app tier", source=app)
            egress(f"app-out-{data.role}", app, data.port, f"To the {data.part} on {data.port}", group)
        self.data_groups: dict[str, aws.ec2.SecurityGroup] = {data.part: groups[data.role] for data in args.data_tiers}
        if "endpoints" in groups:
            ingress("endpoints-in-app", groups["endpoints"].id, 443, "AWS APIs from the app tier", source=app)
        return groups

    def _app_egress(self, name: str, args: NetworkArgs, child: pulumi.ResourceOptions) -> None:
        app = self.security_groups["app"].id
        if args.nat == "none":
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-app-out-endpoints", security_group_id=app, ip_protocol="tcp", from_port=443, to_port=443,
                referenced_security_group_id=self.security_groups["endpoints"].id,
                description="HTTPS to the ECR, CloudWatch Logs and Secrets Manager endpoints", opts=child)
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-app-out-s3", security_group_id=app, ip_protocol="tcp", from_port=443, to_port=443,
                prefix_list_id=self.endpoints["s3"].prefix_list_id,
                description="HTTPS to S3 through the gateway endpoint (image layers, the bucket)", opts=child)
        else:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-app-out-https", security_group_id=app, ip_protocol="tcp", from_port=443, to_port=443,
                cidr_ipv4="0.0.0.0/0",
                description="HTTPS out through NAT: ECR, Secrets Manager, CloudWatch Logs, S3 and external APIs",
                opts=child)

    def _endpoints(self, name: str, args: NetworkArgs,
                   child: pulumi.ResourceOptions) -> dict[str, aws.ec2.VpcEndpoint]:
        endpoints = {
            "s3": aws.ec2.VpcEndpoint(
                f"{name}-s3-endpoint", vpc_id=self.vpc.id, vpc_endpoint_type="Gateway",
                service_name=pulumi.Output.concat("com.amazonaws.", self.account.region, ".s3"),
                route_table_ids=[rt.id for rt in self.private_route_tables],
                tags={"Name": f"{args.prefix}-s3"}, opts=child),
        }
        for service in INTERFACE_ENDPOINTS:
            role = service.replace(".", "-")
            endpoints[service] = aws.ec2.VpcEndpoint(
                f"{name}-{role}-endpoint", vpc_id=self.vpc.id, vpc_endpoint_type="Interface",
                service_name=pulumi.Output.concat("com.amazonaws.", self.account.region, f".{service}"),
                private_dns_enabled=True, subnet_ids=self.private_subnet_ids,
                security_group_ids=[self.security_groups["endpoints"].id],
                tags={"Name": f"{args.prefix}-{role}"}, opts=child)
        return endpoints

    def _flow_logs(self, name: str, args: NetworkArgs, child: pulumi.ResourceOptions) -> None:
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs", name=f"/twinstack/{args.prefix}/vpc-flow-logs",
            retention_in_days=args.log_retention_days, kms_key_id=self.key.arn, opts=child)
        role = aws.iam.Role(f"{name}-flow-logs-role", assume_role_policy=assume_role(
            "vpc-flow-logs.amazonaws.com", self.account.id), description="VPC flow logs writer", opts=child)
        aws.iam.RolePolicy(f"{name}-flow-logs-write", role=role.id, policy=document([{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group.arn, pulumi.Output.concat(group.arn, ":log-stream:*")],
        }]), opts=child)
        aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=self.vpc.id, traffic_type="ALL",
                        log_destination_type="cloud-watch-logs", log_destination=group.arn, iam_role_arn=role.arn,
                        max_aggregation_interval=60, tags={"Name": f"{args.prefix}-flow-log"}, opts=child)


def _zone(names: list[str], i: int, wanted: int) -> str:
    if len(names) < wanted:
        raise ValueError(f"twinstack:network.azCount is {wanted} but the region has {len(names)} available AZs")
    return names[i]
