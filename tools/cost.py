"""Monthly cost of an AWS stack, per part, from the resource graph the program declares (no credentials, no CLI).

Every quantity comes from the recorded resources: task sizes, architectures and desired counts from the ECS task
definitions and services, instance classes and Multi-AZ flags from RDS, node types and counts from ElastiCache,
deployment modes from Amazon MQ, and one line per NAT gateway, Elastic IP, ALB, secret, alarm, dashboard, KMS key and
interface endpoint that exists in the graph. What depends on traffic (data transfer, LCUs, NAT processing, log
ingestion, S3) is listed apart, each with the usage it assumes (`USAGE`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

# Relative imports of stdlib-only modules: the policy pack loads this package by file path (docs/plan.md, "Budget").
from .parts import Parts
from .pricing import HOURS_PER_MONTH, VALKEY_NODE_FACTOR, PriceBook, price_book
from .records import Graph, Resource

H = HOURS_PER_MONTH

# Assumed monthly usage for the traffic-dependent items; a small web app's month. Change here, not in the callers.
USAGE = {
    "alb_lcu": 1.0,  # average LCUs per ALB (1 LCU = 25 new conn/s, 3,000 active, 1 GB/h processed or 1,000 rules/s)
    "nat_gb": 20.0,  # GB processed per NAT gateway: image pulls, package mirrors, third-party APIs
    "internet_out_gb": 50.0,  # GB served to the internet per stack
    "log_gb_per_group": 1.0,  # GB ingested per CloudWatch log group
    "flow_log_gb": 5.0,  # GB of VPC flow logs per flow log
    "s3_gb": 10.0,  # GB stored per bucket
    "s3_put_k": 10.0,  # thousands of PUT/LIST requests per bucket
    "s3_get_k": 100.0,  # thousands of GET requests per bucket
    "ecr_gb": 1.0,  # GB of images kept per repository (its lifecycle policy bounds it)
    "vpce_gb": 10.0,  # GB through each interface endpoint
    "mq_storage_gb": 5.0,  # GB of broker storage used per broker node
    "secrets_api_10k": 1.0,  # tens of thousands of GetSecretValue calls (each task start reads its secrets)
    "kms_requests_10k": 1.0,  # tens of thousands of KMS requests (decrypting secrets, logs, SNS)
}
NOT_ESTIMATED = ("Container Insights metrics", "CloudWatch metric API calls", "cross-AZ traffic",
                 "RDS and ElastiCache backups beyond the free allowance", "support plan and taxes")


@dataclass(frozen=True)
class Line:
    part: str
    item: str  # what is billed, with the quantities read from the graph
    quantity: float  # units per month
    unit: str
    rate: float  # USD per unit
    resources: tuple[str, ...]  # the recorded resources it comes from (identical items are one line)
    assumed: str | None = None  # for usage-based lines: the usage assumed

    @property
    def monthly(self) -> float:
        return self.quantity * self.rate

    @property
    def label(self) -> str:
        return self.item if len(self.resources) == 1 else f"{self.item} x{len(self.resources)}"


@dataclass
class Estimate:
    stack: str
    region: str
    method: str
    lines: list[Line] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)  # resources the table has no rate for, with the reason
    notes: list[str] = field(default_factory=list)  # what may change the bill (autoscaling max, storage growth)

    @property
    def fixed(self) -> list[Line]:
        return [line for line in self.lines if line.assumed is None]

    @property
    def usage(self) -> list[Line]:
        return [line for line in self.lines if line.assumed is not None]

    # Sums with math.fsum: exact whatever the order the lines came in (resources register in an order that varies
    # between runs), so a total on a half cent always rounds the same way.
    @property
    def total(self) -> float:
        return math.fsum(line.monthly for line in self.fixed)

    @property
    def usage_total(self) -> float:
        return math.fsum(line.monthly for line in self.usage)

    def by_part(self, usage: bool = False) -> dict[str, float]:
        lines: dict[str, list[float]] = defaultdict(list)
        for line in self.fixed + (self.usage if usage else []):
            lines[line.part].append(line.monthly)
        return {part: math.fsum(amounts) for part, amounts in lines.items()}

    def add(self, line: Line) -> None:
        """Identical items of one part (three NAT gateways, fourteen alarms) become one line with their count."""
        for i, seen in enumerate(self.lines):
            if (seen.part, seen.item, seen.unit, seen.rate, seen.assumed) == (
                    line.part, line.item, line.unit, line.rate, line.assumed):
                self.lines[i] = Line(seen.part, seen.item, seen.quantity + line.quantity, seen.unit, seen.rate,
                                     seen.resources + line.resources, seen.assumed)
                return
        self.lines.append(line)

    def lines_for(self, part: str) -> list[Line]:
        return [line for line in self.lines if line.part == part]


class _Pricer:
    """Turns one recorded resource into cost lines; each `_<kind>` method handles one resource type."""

    def __init__(self, graph: Graph, prices: PriceBook, estimate: Estimate):
        self.graph = graph
        self.prices = prices
        self.est = estimate
        self.parts = Parts(graph)

    def line(self, r: Resource, item: str, quantity: float, key: str, assumed: str | None = None,
             factor: float = 1.0) -> None:
        rate = self.prices.get(key)
        if rate is None:
            self.est.unpriced.append(f"{r.name} ({item}): no rate '{key}' in tools/pricing.py")
            return
        self.est.add(Line(self.parts.of(r), item, quantity, rate.unit, rate.usd * factor, (r.name,), assumed))

    def linked(self, r: Resource, key: str, type_: str) -> list[Resource]:
        """Resources of `type_` that input `key` of `r` was built from (its property dependencies)."""
        urns = r.property_dependencies.get(key, [])
        return [self.graph.by_urn[u] for u in urns if u in self.graph.by_urn and self.graph.by_urn[u].type == type_]

    # ---------------------------------------------------------------------------------------------- compute

    def ecs_service(self, svc: Resource) -> None:
        name = svc.get("name") or svc.name
        tasks = _number(svc.get("desiredCount"), 0)
        td = self._task_definition(svc)
        if td is None:
            self.est.unpriced.append(f"{svc.name}: its task definition is not in the graph")
            return
        vcpu = _number(td.get("cpu"), 0) / 1024
        gb = _number(td.get("memory"), 0) / 1024
        arch = str((td.get("runtimePlatform") or {}).get("cpuArchitecture") or "X86_64").lower()
        arch = "arm64" if arch == "arm64" else "x86_64"
        label = "ARM64" if arch == "arm64" else "x86"
        size = f"{_n(tasks)} task{'s' * (tasks != 1)} x {_n(vcpu)} vCPU / {_n(gb)} GB"
        self.line(svc, f"Fargate {label} vCPU: {name}, {size}", tasks * vcpu * H, f"fargate.{arch}.vcpu")
        self.line(svc, f"Fargate {label} memory: {name}, {size}", tasks * gb * H, f"fargate.{arch}.memory")
        extra_gb = _number((td.get("ephemeralStorage") or {}).get("sizeInGib"), 20) - 20
        if extra_gb > 0:
            self.line(svc, f"Fargate ephemeral storage above 20 GB: {name}", tasks * extra_gb * H,
                      "fargate.ephemeral_storage")
        if (svc.get("networkConfiguration") or {}).get("assignPublicIp"):
            self.line(svc, f"public IPv4 per task: {name}", tasks * H, "ipv4.public")
        for target in self._scaling_targets(svc, name):
            most = _number(target.get("maxCapacity"), tasks)
            if most > tasks:
                per_task = (vcpu * self.prices.rates[f"fargate.{arch}.vcpu"].usd
                            + gb * self.prices.rates[f"fargate.{arch}.memory"].usd) * H
                self.est.notes.append(f"{name} autoscales from {_n(tasks)} to {_n(most)} tasks: "
                                      f"up to +${(most - tasks) * per_task:,.2f}/month at the maximum")

    def _task_definition(self, svc: Resource) -> Resource | None:
        linked = self.linked(svc, "taskDefinition", "aws:ecs/taskDefinition:TaskDefinition")
        if linked:
            return linked[0]
        arn = str(svc.get("taskDefinition") or "")
        hits = [td for td in self.graph.of_type("aws:ecs/taskDefinition:TaskDefinition")
                if arn and (arn.endswith(f":{td.name}") or td.get("family") == arn)]
        return hits[0] if hits else None

    def _scaling_targets(self, svc: Resource, name: str) -> Iterator[Resource]:
        for target in self.graph.of_type("aws:appautoscaling/target:Target"):
            if svc.urn in target.all_deps() or str(target.get("resourceId") or "").endswith(f"/{name}"):
                yield target

    # ----------------------------------------------------------------------------------------------- data tier

    def rds_instance(self, db: Resource) -> None:
        cls = str(db.get("instanceClass") or "")
        engine = str(db.get("engine") or "postgres")
        multi = bool(db.get("multiAz"))
        copies = 2 if multi else 1
        az = "Multi-AZ (primary + standby)" if multi else "single-AZ"
        if engine != "postgres":
            self.est.unpriced.append(f"{db.name}: engine '{engine}' (the table prices RDS for PostgreSQL)")
            return
        self.line(db, f"RDS PostgreSQL {cls}, {az}", copies * H, f"rds.postgres.{cls}")
        storage = _number(db.get("allocatedStorage"), 20)
        kind = str(db.get("storageType") or "gp2")
        key = f"rds.{kind}.{'multi_az' if multi else 'single_az'}"
        self.line(db, f"RDS {kind} storage, {_n(storage)} GB, {az}", storage, key)
        grow = _number(db.get("maxAllocatedStorage"), 0)
        rate = self.prices.get(key)
        if grow > storage and rate is not None:
            self.est.notes.append(f"RDS storage autoscaling may grow {_n(storage)} GB to {_n(grow)} GB: "
                                  f"up to +${(grow - storage) * rate.usd:,.2f}/month")
        if _number(db.get("performanceInsightsRetentionPeriod"), 7) > 7:
            self.est.unpriced.append(f"{db.name}: Performance Insights retention beyond the free 7 days")

    def cache(self, rg: Resource) -> None:
        node = str(rg.get("nodeType") or "")
        count = _number(rg.get("numCacheClusters"), 0)
        if not count:
            count = _number(rg.get("numNodeGroups"), 1) * (_number(rg.get("replicasPerNodeGroup"), 0) + 1)
        engine = str(rg.get("engine") or "redis")
        factor = VALKEY_NODE_FACTOR if engine == "valkey" else 1.0
        roles = "primary" if count == 1 else f"primary + {_n(count - 1)} replica{'s' * (count != 2)}"
        self.line(rg, f"ElastiCache {engine} {node}, {_n(count)} node{'s' * (count != 1)} ({roles})", count * H,
                  f"elasticache.redis.{node}", factor=factor)

    def broker(self, mq: Resource) -> None:
        kind = str(mq.get("hostInstanceType") or "")
        mode = str(mq.get("deploymentMode") or "SINGLE_INSTANCE")
        engine = str(mq.get("engineType") or "RabbitMQ")
        nodes = {"SINGLE_INSTANCE": 1, "ACTIVE_STANDBY_MULTI_AZ": 2, "CLUSTER_MULTI_AZ": 3}.get(mode, 1)
        if engine.lower() != "rabbitmq":
            self.est.unpriced.append(f"{mq.name}: Amazon MQ engine '{engine}' (the table prices RabbitMQ)")
            return
        self.line(mq, f"Amazon MQ RabbitMQ {kind}, {mode} ({nodes} node{'s' * (nodes != 1)})", nodes * H,
                  f"mq.rabbitmq.{kind}")
        gb = USAGE["mq_storage_gb"] * nodes
        self.line(mq, "Amazon MQ broker storage", gb, "mq.rabbitmq.storage",
                  assumed=f"{_n(USAGE['mq_storage_gb'])} GB per node")

    # ------------------------------------------------------------------------------------------------ network

    def nat(self, r: Resource) -> None:
        self.line(r, "NAT gateway", H, "nat.hour")
        self.line(r, "NAT gateway data processed", USAGE["nat_gb"], "nat.data",
                  assumed=f"{_n(USAGE['nat_gb'])} GB/month")

    def eip(self, r: Resource) -> None:
        self.line(r, "public IPv4 address (Elastic IP)", H, "ipv4.public")

    def load_balancer(self, lb: Resource) -> None:
        kind = str(lb.get("loadBalancerType") or "application")
        if kind != "application":
            self.est.unpriced.append(f"{lb.name}: a {kind} load balancer (the table prices ALBs)")
            return
        self.line(lb, "Application Load Balancer", H, "alb.hour")
        if not lb.get("internal"):
            azs = len(lb.get("subnets") or lb.get("subnetMappings") or []) or 2
            self.line(lb, f"public IPv4 addresses of the ALB (one per AZ, {azs})", azs * H, "ipv4.public")
        self.line(lb, "ALB capacity units (LCU)", USAGE["alb_lcu"] * H, "alb.lcu",
                  assumed=f"{_n(USAGE['alb_lcu'])} LCU on average")

    def endpoint(self, ep: Resource) -> None:
        service = str(ep.get("serviceName") or "").rsplit(".", 1)[-1]
        if str(ep.get("vpcEndpointType") or "Gateway") != "Interface":
            return  # gateway endpoints (S3, DynamoDB) are free
        azs = len(ep.get("subnetIds") or []) or 1
        self.line(ep, f"VPC interface endpoint {service} ({azs} AZ{'s' * (azs != 1)})", azs * H, "vpce.interface")
        self.line(ep, f"VPC endpoint data processed ({service})", USAGE["vpce_gb"], "vpce.data",
                  assumed=f"{_n(USAGE['vpce_gb'])} GB/month")

    def flow_log(self, r: Resource) -> None:
        self.line(r, "VPC flow logs ingested", USAGE["flow_log_gb"], "logs.vended_ingest",
                  assumed=f"{_n(USAGE['flow_log_gb'])} GB/month")

    # ------------------------------------------------------------------------------------------ everything else

    def secret(self, r: Resource) -> None:
        self.line(r, "Secrets Manager secret", 1, "secretsmanager.secret")

    def alarm(self, r: Resource) -> None:
        self.line(r, "CloudWatch alarm", 1, "cloudwatch.alarm")

    def dashboard(self, r: Resource) -> None:
        self.line(r, "CloudWatch dashboard", 1, "cloudwatch.dashboard")

    def kms_key(self, r: Resource) -> None:
        self.line(r, "KMS key", 1, "kms.key")
        self.line(r, "KMS requests", USAGE["kms_requests_10k"], "kms.requests",
                  assumed=f"{_n(USAGE['kms_requests_10k'] * 10_000)} requests/month")

    def log_group(self, r: Resource) -> None:
        gb = USAGE["log_gb_per_group"]
        days = _number(r.get("retentionInDays"), 30) or 3650
        name = r.get("name") or r.name
        self.line(r, f"CloudWatch Logs ingested: {name}", gb, "logs.ingest", assumed=f"{_n(gb)} GB/month")
        self.line(r, f"CloudWatch Logs stored: {name} ({_n(days)}-day retention)", gb * min(days, 3650) / 30,
                  "logs.storage", assumed=f"{_n(gb)} GB/month kept {_n(days)} days")

    def bucket(self, r: Resource) -> None:
        name = r.get("bucket") or (f"{r.get('bucketPrefix')}*" if r.get("bucketPrefix") else r.name)
        self.line(r, f"S3 storage: {name}", USAGE["s3_gb"], "s3.standard", assumed=f"{_n(USAGE['s3_gb'])} GB")
        self.line(r, f"S3 PUT/LIST requests: {name}", USAGE["s3_put_k"], "s3.put",
                  assumed=f"{_n(USAGE['s3_put_k'] * 1000)} requests/month")
        self.line(r, f"S3 GET requests: {name}", USAGE["s3_get_k"], "s3.get",
                  assumed=f"{_n(USAGE['s3_get_k'] * 1000)} requests/month")

    def repository(self, r: Resource) -> None:
        self.line(r, f"ECR image storage: {r.get('name') or r.name}", USAGE["ecr_gb"], "ecr.storage",
                  assumed=f"{_n(USAGE['ecr_gb'])} GB of images")

    def hosted_zone(self, r: Resource) -> None:
        self.line(r, f"Route 53 hosted zone ({r.get('name') or r.name})", 1, "route53.zone")


HANDLERS: dict[str, Callable[[_Pricer, Resource], None]] = {
    "aws:ecs/service:Service": _Pricer.ecs_service,
    "aws:rds/instance:Instance": _Pricer.rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _Pricer.cache,
    "aws:mq/broker:Broker": _Pricer.broker,
    "aws:ec2/natGateway:NatGateway": _Pricer.nat,
    "aws:ec2/eip:Eip": _Pricer.eip,
    "aws:lb/loadBalancer:LoadBalancer": _Pricer.load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": _Pricer.load_balancer,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _Pricer.endpoint,
    "aws:ec2/flowLog:FlowLog": _Pricer.flow_log,
    "aws:secretsmanager/secret:Secret": _Pricer.secret,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _Pricer.alarm,
    "aws:cloudwatch/dashboard:Dashboard": _Pricer.dashboard,
    "aws:kms/key:Key": _Pricer.kms_key,
    "aws:cloudwatch/logGroup:LogGroup": _Pricer.log_group,
    "aws:s3/bucket:Bucket": _Pricer.bucket,
    "aws:s3/bucketV2:BucketV2": _Pricer.bucket,
    "aws:ecr/repository:Repository": _Pricer.repository,
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": _Pricer.hosted_zone,
    "aws:route53/zone:Zone": _Pricer.hosted_zone,
}


def estimate(graph: Graph, region: str = "us-east-1", prices: PriceBook | None = None) -> Estimate:
    prices = prices or price_book(region)
    est = Estimate(graph.stack, region, prices.method)
    pricer = _Pricer(graph, prices, est)
    for r in graph.custom():
        handler = HANDLERS.get(r.type)
        if handler is not None:
            handler(pricer, r)
    if any(r.type.startswith("aws:lb/") or r.type.startswith("aws:alb/") for r in graph.custom()):
        rate = prices.rates["transfer.internet_out"]
        est.add(Line("proxy", "data transfer out to the internet", USAGE["internet_out_gb"], rate.unit, rate.usd,
                     ("(stack)",), assumed=f"{_n(USAGE['internet_out_gb'])} GB/month"))
    if any(r.type == "aws:secretsmanager/secret:Secret" for r in graph.custom()):
        rate = prices.rates["secretsmanager.api"]
        est.add(Line("secrets", "Secrets Manager API calls", USAGE["secrets_api_10k"], rate.unit, rate.usd,
                     ("(stack)",), assumed=f"{_n(USAGE['secrets_api_10k'] * 10_000)} calls/month"))
    return est


# --------------------------------------------------------------------------------------------------- formatting


def format_estimate(est: Estimate, detail: bool = True) -> str:
    out = [f"Monthly cost estimate for {est.stack} ({est.region}): ${est.total:,.2f} fixed"
           f" + ${est.usage_total:,.2f} assumed usage = ${est.total + est.usage_total:,.2f}",
           f"  prices: {est.method} (tools/pricing.py)"]
    fixed, usage = est.by_part(), est.by_part(usage=True)
    for part in sorted(usage, key=lambda p: -usage[p]):
        out.append(f"  {part:<11} ${fixed.get(part, 0.0):>10,.2f}   (with usage ${usage[part]:,.2f})")
        if detail:
            for line in sorted(est.lines_for(part), key=lambda x: (-x.monthly, x.label)):
                qty = f"{_n(line.quantity)} {line.unit} x ${_rate(line.rate)}"
                tag = f"  [assumed: {line.assumed}]" if line.assumed else ""
                out.append(f"      ${line.monthly:>9,.2f}  {line.label}  ({qty}){tag}")
    for note in est.notes:
        out.append(f"  note: {note}")
    for miss in est.unpriced:
        out.append(f"  not priced: {miss}")
    out.append(f"  not estimated: {', '.join(NOT_ESTIMATED)}")
    return "\n".join(out)


def markdown_table(est: Estimate) -> str:
    fixed, usage = est.by_part(), est.by_part(usage=True)
    rows = ["| part | fixed $/month | with assumed usage | main items |", "|---|---:|---:|---|"]
    for part in sorted(usage, key=lambda p: -usage[p]):
        top = sorted(est.lines_for(part), key=lambda x: (-x.monthly, x.label))[:3]  # ties by label: stable docs
        items = "; ".join(f"{line.label} ${line.monthly:,.2f}" for line in top)
        rows.append(f"| {part} | {fixed.get(part, 0.0):,.2f} | {usage[part]:,.2f} | {items} |")
    rows.append(f"| **total** | **{est.total:,.2f}** | **{est.total + est.usage_total:,.2f}** | |")
    return "\n".join(rows)


def _number(value: object, default: float) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return default if math.isnan(number) else number


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}".rstrip("0").rstrip(".")


def _rate(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") if x < 0.01 else f"{x:,.4f}".rstrip("0").rstrip(".")
