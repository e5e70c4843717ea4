"""A Mermaid architecture diagram of a stack: the logical picture from the validated config, the physical one from the
recorded graph.

From the config: the proxy's routes, the services, one node per part kind of the registry (config/parts.py) the stack
has, and what talks to what (a service's `uses` give edges to those nodes; its `dependsOn` give service-to-service
edges). From the graph: where each of them lands, i.e. the docker networks its containers join, or the AWS subnets its
ECS service, RDS instance, ElastiCache group, broker, ALB or NAT gateway is placed in (followed through subnet groups),
and what each is made of (image, instance class, Multi-AZ, node count, task size and count).
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from config import model
from config.model import StackConfig
from config.parts import KINDS, PART_KEYS, PartKind
from tools.graph import Graph, Resource
from tools.parts import Parts, short_type

NETWORK_TYPES = ("docker:index/network:Network", "aws:ec2/subnet:Subnet")
# What runs (as opposed to what configures): the resources whose placement is the component's placement.
WORKLOAD_TYPES = ("docker:index/container:Container", "aws:ecs/service:Service", "aws:rds/instance:Instance",
                  "aws:elasticache/replicationGroup:ReplicationGroup", "aws:mq/broker:Broker",
                  "aws:lb/loadBalancer:LoadBalancer", "aws:ec2/natGateway:NatGateway")


@dataclass
class Node:
    id: str
    label: str
    shape: str = "box"  # box | store | stadium
    zone: tuple[str, ...] = ()  # the networks / subnet tiers it lands in; () = outside any
    css: str = ""


@dataclass
class Diagram:
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # (from, to, label, style)
    zones: dict[tuple[str, ...], str] = field(default_factory=dict)  # zone -> its title
    enclosure: str | None = None  # the VPC every zone sits in (aws)

    def mermaid(self) -> str:
        out = ["flowchart LR"]
        by_zone: dict[tuple[str, ...], list[Node]] = defaultdict(list)
        for node in self.nodes:
            by_zone[node.zone].append(node)
        pad = "  "
        for node in by_zone.pop((), []):
            out.append(f"{pad}{_node(node)}")
        if self.enclosure and by_zone:
            out.append(f'{pad}subgraph vpc["{_esc(self.enclosure)}"]')
            pad = "    "
        for zone in sorted(by_zone, key=lambda z: (len(z), z)):
            out.append(f'{pad}subgraph {_id("zone", "_".join(zone))}["{_esc(self.zones.get(zone, " + ".join(zone)))}"]')
            out.extend(f"{pad}  {_node(node)}" for node in by_zone[zone])
            out.append(f"{pad}end")
        if self.enclosure and by_zone:
            out.append("  end")
        for src, dst, label, style in self.edges:
            arrow = {"solid": "-->", "dotted": "-.->", "thick": "==>"}[style]
            out.append(f'  {src} {arrow}|"{_esc(label)}"| {dst}' if label else f"  {src} {arrow} {dst}")
        out.append("  classDef data fill:#eef5ff,stroke:#4a78c2")
        out.append("  classDef internal stroke-dasharray: 4 3")
        for css in ("data", "internal"):
            ids = [n.id for n in self.nodes if n.css == css]
            if ids:
                out.append(f"  class {','.join(ids)} {css}")
        return "\n".join(out)


def _node(node: Node) -> str:
    label = _esc(node.label)
    if node.shape == "store":
        return f'{node.id}[("{label}")]'
    if node.shape == "stadium":
        return f'{node.id}(["{label}"])'
    return f'{node.id}["{label}"]'


def _esc(text: str) -> str:
    return text.replace('"', "#quot;")


def _id(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def service_id(name: str) -> str:
    return _id("svc", name)


class _Physical:
    """Looks up, in the recorded graph, what a logical piece of the stack is made of and where it lands."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.parts = Parts(graph)
        self.by_id = {f"{r.name}-id": r for r in graph.resources}  # the mocks give every resource the id <name>-id

    def part(self, name: str) -> list[Resource]:
        out: list[Resource] = []
        for root in self.parts.roots.get(name, []):
            out.extend(self.graph.descendants(root))
        return out

    def service(self, name: str) -> list[Resource]:
        """The resources of one service: the component `<services>-<name>` under the services part."""
        for root in self.parts.roots.get("services", []):
            for child in self.graph.children(root):
                if not child.custom and child.name == f"{root.name}-{name}":
                    return self.graph.descendants(child)
        return []

    def networks(self, resources: list[Resource]) -> list[Resource]:
        """The docker networks or AWS subnets that the running resources among `resources` are placed in."""
        found: dict[str, Resource] = {}
        for r in resources:
            # a part's subnet group says where its instances go, whether or not the instance input was resolved
            if (r.type not in WORKLOAD_TYPES and "subnetGroup" not in r.type) or r.get("mustRun") is False:
                continue
            frontier, depth = [r], 0
            while frontier and depth < 2:
                nxt = []
                for node in frontier:
                    for urn in node.all_deps():
                        dep = self.graph.by_urn.get(urn)
                        if dep is None:
                            continue
                        if dep.type in NETWORK_TYPES:
                            found[dep.urn] = dep
                        elif "subnetGroup" in dep.type:
                            nxt.append(dep)
                frontier, depth = nxt, depth + 1
        return sorted(found.values(), key=lambda n: n.name)


def service_resources(graph: Graph, name: str) -> list[Resource]:
    """Everything one service is made of (containers and images, or ECS service, task definition, roles...)."""
    return _Physical(graph).service(name)


def network_label(net: Resource) -> str:
    if net.type == "docker:index/network:Network":
        return str(net.get("name") or net.name)
    return subnet_tier(net)


def subnet_tier(subnet: Resource) -> str:
    tags = subnet.get("tags") or {}
    text = f"{subnet.name} {tags.get('Name', '')} {tags.get('tier', '')} {tags.get('Tier', '')}".lower()
    for tier in ("public", "private", "isolated", "data", "database"):
        if tier in text:
            return tier
    return "private" if not subnet.get("mapPublicIpOnLaunch") else "public"


def build(cfg: StackConfig, graph: Graph) -> Diagram:
    phys = _Physical(graph)
    aws = cfg.backend == "aws"
    d = Diagram()
    zone_titles: dict[tuple[str, ...], list[Resource]] = defaultdict(list)

    def place(resources: list[Resource]) -> tuple[str, ...]:
        nets = phys.networks(resources)
        zone = tuple(sorted({network_label(n) for n in nets}))
        zone_titles[zone].extend(nets)
        return zone

    # the way in
    d.nodes.append(Node("users", "users", shape="stadium"))
    proxy_res = phys.part("proxy")
    tls = cfg.proxy.tls is not None
    if aws:
        proxy_label = f"ALB {'HTTPS :443' if tls else 'HTTP :80'}"
        entry = "https" if tls else "http"
    else:
        port = cfg.proxy.https_port if tls else cfg.proxy.http_port
        proxy_label = f"nginx {cfg.proxy.image}<br/>{cfg.proxy.bind_address}:{port}"
        entry = f"{'https' if tls else 'http'} :{port}"
    d.nodes.append(Node("proxy", f"proxy: {proxy_label}", zone=place(proxy_res)))
    d.edges.append(("users", "proxy", entry, "thick"))
    if aws:
        nats = [r for r in graph.of_type("aws:ec2/natGateway:NatGateway")]
        if nats:
            d.nodes.append(Node("nat", f"NAT gateway x{len(nats)}<br/>(egress)", zone=place(nats)))

    # the services
    routes: dict[str, list[str]] = defaultdict(list)
    volume_routes: dict[str, list[str]] = defaultdict(list)
    for route in cfg.proxy.routes:
        if route.service:
            routes[route.service].append(route.path)
        elif route.volume:
            volume_routes[route.volume].append(route.path)
    for svc in cfg.services:
        res = phys.service(svc.name)
        detail = _service_detail(graph, svc, res, aws)
        label = (f"{svc.name} :{svc.port}" if svc.port is not None else f"{svc.name} (worker)") + (
            f"<br/>{detail}" if detail else "")
        d.nodes.append(Node(service_id(svc.name), label, zone=place(res),
                            css="" if svc.name in routes else "internal"))
    for name, paths in routes.items():
        d.edges.append(("proxy", service_id(name), ", ".join(paths), "solid"))

    # the parts of the registry's kinds the stack has (the data tier and the workspace), in the registry's order
    present = [key for key in PART_KEYS if getattr(cfg, key, None) is not None
               or IMPLIED.get(key, _never)(phys.part(key), aws)]
    for key in present:
        label = LABELS.get(key, _generic_label)(KINDS[key], cfg, phys.part(key), aws)
        d.nodes.append(Node(kind_id(key), label, shape="store", zone=place(phys.part(key)), css="data"))
    for svc in cfg.services:
        for part in svc.uses:
            if part in present:
                d.edges.append((service_id(svc.name), kind_id(part), "", "solid"))
        for dep in svc.depends_on:
            d.edges.append((service_id(svc.name), service_id(dep), "dependsOn", "dotted"))

    # shared volumes the proxy serves (docker); on aws the service that declares the volume serves the path
    writers = {v.name: s.name for s in cfg.services for v in s.volumes}
    for volume, paths in volume_routes.items():
        if aws:
            d.edges.append(("proxy", service_id(writers[volume]), ", ".join(paths) + " (files)", "solid"))
        else:
            vid = _id("vol", volume)
            docker_name = next((r.get("name") for r in phys.part("storage")
                                if r.type == "docker:index/volume:Volume" and r.name.endswith(f"-{volume}")), volume)
            d.nodes.append(Node(vid, f"shared volume {docker_name}", shape="store", css="data"))
            d.edges.append(("proxy", vid, ", ".join(paths), "solid"))
            d.edges.append((service_id(writers[volume]), vid, "writes", "dotted"))

    monitoring = _monitoring(cfg, graph, phys, aws)
    if monitoring:
        d.nodes.append(Node("monitoring", monitoring, zone=place(phys.part("monitoring"))))
        if not aws and cfg.monitoring.prometheus:
            for svc in cfg.services:
                if svc.metrics:
                    d.edges.append(("monitoring", service_id(svc.name), f"scrape {svc.metrics.path}", "dotted"))

    for zone, nets in zone_titles.items():
        if zone:
            d.zones[zone] = _zone_title(zone, nets, aws)
    if aws:
        vpcs = graph.of_type("aws:ec2/vpc:Vpc")
        cidr = vpcs[0].get("cidrBlock") if vpcs else cfg.network.cidr
        d.enclosure = f"VPC {cidr} ({cfg.network.az_count} AZs)"
    return d


def _zone_title(zone: tuple[str, ...], nets: list[Resource], aws: bool) -> str:
    unique = {n.urn: n for n in nets}.values()
    if aws:
        azs = sorted({str(n.get("availabilityZone")) for n in unique if n.get("availabilityZone")})
        cidrs = sorted({str(n.get("cidrBlock")) for n in unique if n.get("cidrBlock")}, key=ipaddress.ip_network)
        where = f": {', '.join(azs)}" if azs else ""
        return f"{' + '.join(zone)} subnets{where}" + (f" ({', '.join(cidrs)})" if cidrs else "")
    internal = {str(n.get("name") or n.name) for n in unique if n.get("internal")}
    names = " + ".join(f"{z} (internal, no route out)" if z in internal else z for z in zone)
    return f"docker network{'s' * (len(zone) > 1)} {names}"


def _service_detail(graph: Graph, svc_cfg: model.Service, res: list[Resource], aws: bool) -> str:
    if aws:
        services = [r for r in res if r.type == "aws:ecs/service:Service"]
        if not services:
            return ""
        svc = services[0]
        tds = [graph.by_urn[u] for u in svc.property_dependencies.get("taskDefinition", []) if u in graph.by_urn]
        size = ""
        if tds:
            td = tds[0]
            arch = str((td.get("runtimePlatform") or {}).get("cpuArchitecture") or "X86_64")
            size = f" {int(td.get('cpu') or 0) / 1024:g} vCPU / {int(td.get('memory') or 0) / 1024:g} GB {arch}"
        return f"Fargate x{svc.get('desiredCount')}{size}"
    running = [r for r in res if r.type == "docker:index/container:Container" and r.get("mustRun") is not False]
    source = "built image" if svc_cfg.build is not None else "pulled image"  # built once for the services sharing it
    return f"{len(running)} container{'s' * (len(running) != 1)}, {source}"


def _first(resources: list[Resource], type_: str) -> Resource | None:
    hits = [r for r in resources if r.type == type_]
    return hits[0] if hits else None


def _image(resources: list[Resource]) -> str:
    img = _first(resources, "docker:index/remoteImage:RemoteImage")
    return str(img.get("name")) if img else ""


def _database_label(kind: PartKind, cfg: StackConfig, res: list[Resource], aws: bool) -> str:
    if cfg.database is None:
        return ""
    ext = f"<br/>extensions: {', '.join(cfg.database.extensions)}" if cfg.database.extensions else ""
    rds = _first(res, "aws:rds/instance:Instance")
    if rds:
        az = "Multi-AZ" if rds.get("multiAz") else "single-AZ"
        where = f"RDS {rds.get('instanceClass')} {az}, {rds.get('allocatedStorage')} GB {rds.get('storageType') or ''}"
    else:
        where = _image(res) or "container"
    return f"PostgreSQL {cfg.database.version}<br/>{where.strip()}{ext}"


def _cache_label(kind: PartKind, cfg: StackConfig, res: list[Resource], aws: bool) -> str:
    if cfg.cache is None:
        return ""
    rg = _first(res, "aws:elasticache/replicationGroup:ReplicationGroup")
    if rg:
        nodes = rg.get("numCacheClusters") or 1
        return f"Redis {cfg.cache.version}<br/>ElastiCache {rg.get('nodeType')} x{nodes}"
    return f"Redis {cfg.cache.version}<br/>{_image(res) or 'container'}"


def _broker_label(kind: PartKind, cfg: StackConfig, res: list[Resource], aws: bool) -> str:
    if cfg.broker is None:
        return ""
    mq = _first(res, "aws:mq/broker:Broker")
    if mq:
        return f"RabbitMQ {cfg.broker.version}<br/>Amazon MQ {mq.get('hostInstanceType')} {mq.get('deploymentMode')}"
    return f"RabbitMQ {cfg.broker.version}<br/>{_image(res) or 'container'}"


def _storage_label(kind: PartKind, cfg: StackConfig, res: list[Resource], aws: bool) -> str:
    mount = cfg.storage.mount_path if cfg.storage else "/workspace"
    if aws:
        bucket = _first(res, "aws:s3/bucket:Bucket") or _first(res, "aws:s3/bucketV2:BucketV2")
        name = (bucket.get("bucket") or bucket.get("bucketPrefix") or bucket.name) if bucket else "bucket"
        return f"workspace<br/>S3 bucket {name}{'*' if bucket and not bucket.get('bucket') else ''}"
    vols = [r for r in res if r.type == "docker:index/volume:Volume" and r.name.endswith("-workspace")]
    name = vols[0].get("name") if vols else "workspace"
    return f"workspace<br/>volume {name} at {mount}"


def _generic_label(kind: PartKind, cfg: StackConfig, res: list[Resource], aws: bool) -> str:
    """A kind with no label of its own: what it is (its summary and configured version), then what it runs on (the
    image it pulls, else the first server in its part: `aws:SomeServer`)."""
    version = getattr(getattr(cfg, kind.key, None), "version", None)
    workload = next((r for r in res if r.custom and r.type in WORKLOAD_TYPES), None)
    where = _image(res) or (short_type(workload.type) if workload else "container")
    return f"{kind.summary}{f' {version}' if version else ''}<br/>{where}"


def _never(res: list[Resource], aws: bool) -> bool:
    return False


def _aws_bucket(res: list[Resource], aws: bool) -> bool:
    return aws and any(r.type.startswith("aws:s3/bucket") for r in res)


# Per kind, what only that kind can say: its label (the engine version, the instance class, the bucket), its node id
# and whether it is drawn without being configured. A kind of the registry missing here still gets a node with the
# generic label (`_generic_label`) and its key as the id: a new part kind needs no change here to be drawn.
LABELS: dict[str, Callable[[PartKind, StackConfig, list[Resource], bool], str]] = {
    "database": _database_label,
    "cache": _cache_label,
    "broker": _broker_label,
    "storage": _storage_label,
}
NODE_IDS = {"database": "db"}
# on aws, shared volumes without a workspace still make the bucket
IMPLIED: dict[str, Callable[[list[Resource], bool], bool]] = {"storage": _aws_bucket}


def kind_id(key: str) -> str:
    """The diagram node of a part kind."""
    return NODE_IDS.get(key, _id(key))


def _monitoring(cfg: StackConfig, graph: Graph, phys: _Physical, aws: bool) -> str:
    res = phys.part("monitoring")
    if aws:
        alarms = len([r for r in res if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"])
        dashboards = len([r for r in res if r.type == "aws:cloudwatch/dashboard:Dashboard"])
        if not (alarms or dashboards):
            return ""
        return f"CloudWatch<br/>{dashboards} dashboard{'s' * (dashboards != 1)}, {alarms} alarms"
    names = [n for n, on in (("Prometheus", cfg.monitoring.prometheus), ("Grafana", cfg.monitoring.grafana)) if on]
    return " + ".join(names)
