"""How long a first `pulumi up` takes: the critical path through the declared dependency graph.

A resource starts when everything it waits for has finished: its `dependsOn`, the resources its inputs came from
(property dependencies) and its provider. Waiting for a component means waiting for every resource inside it, as in
`Graph.depends_on`; a child never waits for its parent, so independent resources run in parallel exactly as the Pulumi
engine runs them (its default parallelism is assumed not to be the bottleneck). Each resource takes a typical create
time for its type (with a low-high range), read from its inputs where they matter: Multi-AZ RDS, replicated
ElastiCache, Amazon MQ clusters; on docker, image pulls and builds and each container's health-check wait.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tools.graph import Graph, Resource


@dataclass(frozen=True)
class Duration:
    typical: float  # seconds
    low: float
    high: float
    why: str

    def scaled(self, kind: str) -> float:
        return {"typical": self.typical, "low": self.low, "high": self.high}[kind]


def _d(typical: float, low: float | None = None, high: float | None = None, why: str = "") -> Duration:
    return Duration(typical, typical if low is None else low, typical if high is None else high, why)


MIN = 60.0
# Typical create times on AWS, from the providers' waiters and AWS's documented provisioning times.
AWS_TIMES: dict[str, Duration] = {
    "aws:ec2/vpc:Vpc": _d(5, 3, 15),
    "aws:ec2/subnet:Subnet": _d(8, 3, 20),
    "aws:ec2/internetGateway:InternetGateway": _d(5, 2, 15),
    "aws:ec2/eip:Eip": _d(3, 1, 10),
    "aws:ec2/natGateway:NatGateway": _d(1.5 * MIN, 1 * MIN, 2.5 * MIN, "NAT gateway becomes available"),
    "aws:ec2/routeTable:RouteTable": _d(4, 2, 10),
    "aws:ec2/route:Route": _d(3, 1, 10),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _d(3, 1, 10),
    "aws:ec2/securityGroup:SecurityGroup": _d(5, 2, 15),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _d(2, 1, 5),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _d(2, 1, 5),
    "aws:ec2/securityGroupRule:SecurityGroupRule": _d(3, 1, 8),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _d(5, 2, 10),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _d(1.5 * MIN, 1 * MIN, 3 * MIN, "interface endpoint ENIs become available"),
    "aws:ec2/flowLog:FlowLog": _d(5, 2, 15),
    "aws:iam/role:Role": _d(5, 2, 15),
    "aws:iam/rolePolicy:RolePolicy": _d(3, 1, 10),
    "aws:iam/policy:Policy": _d(3, 1, 10),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _d(3, 1, 10),
    "aws:kms/key:Key": _d(10, 5, 30),
    "aws:kms/alias:Alias": _d(2, 1, 5),
    "aws:secretsmanager/secret:Secret": _d(3, 1, 8),
    "aws:secretsmanager/secretVersion:SecretVersion": _d(2, 1, 5),
    "aws:rds/parameterGroup:ParameterGroup": _d(5, 3, 15),
    "aws:rds/subnetGroup:SubnetGroup": _d(4, 2, 10),
    "aws:elasticache/subnetGroup:SubnetGroup": _d(4, 2, 10),
    "aws:elasticache/parameterGroup:ParameterGroup": _d(5, 3, 15),
    "aws:s3/bucket:Bucket": _d(5, 2, 15),
    "aws:s3/bucketV2:BucketV2": _d(5, 2, 15),
    "aws:ecr/repository:Repository": _d(3, 1, 8),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _d(2, 1, 5),
    "aws:ecs/cluster:Cluster": _d(10, 5, 30),
    "aws:ecs/taskDefinition:TaskDefinition": _d(3, 1, 8),
    "aws:cloudwatch/logGroup:LogGroup": _d(3, 1, 8),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _d(2, 1, 5),
    "aws:cloudwatch/dashboard:Dashboard": _d(2, 1, 5),
    "aws:sns/topic:Topic": _d(3, 1, 8),
    "aws:sns/topicSubscription:TopicSubscription": _d(3, 1, 8),
    "aws:lb/loadBalancer:LoadBalancer": _d(3 * MIN, 2 * MIN, 5 * MIN, "ALB provisions and becomes active"),
    "aws:lb/targetGroup:TargetGroup": _d(5, 2, 15),
    "aws:lb/listener:Listener": _d(5, 2, 15),
    "aws:lb/listenerRule:ListenerRule": _d(3, 1, 10),
    "aws:acm/certificate:Certificate": _d(10, 5, 30),
    "aws:acm/certificateValidation:CertificateValidation": _d(4 * MIN, 1 * MIN, 30 * MIN,
                                                              "ACM sees the DNS record and issues"),
    "aws:route53/record:Record": _d(45, 20, 90, "Route 53 change reaches INSYNC"),
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": _d(1.5 * MIN, 1 * MIN, 4 * MIN,
                                                                       "Cloud Map creates the private zone"),
    "aws:servicediscovery/httpNamespace:HttpNamespace": _d(45, 20, 90, "Cloud Map operation completes"),
    "aws:servicediscovery/service:Service": _d(5, 2, 15),
    "aws:appautoscaling/target:Target": _d(5, 2, 15),
    "aws:appautoscaling/policy:Policy": _d(3, 1, 10),
    "docker:index/image:Image": _d(3 * MIN, 1.5 * MIN, 8 * MIN, "image build and push to ECR"),
}
DEFAULT = _d(5, 2, 15)
FREE = _d(0, 0, 0)  # computed locally by the engine or the provider: no cloud call


def duration(graph: Graph, r: Resource, backend: str) -> Duration:
    if not r.custom or r.type.startswith(("random:", "pulumi:providers:")):
        return FREE
    t = r.type
    if t == "aws:rds/instance:Instance":
        if r.get("multiAz"):
            return _d(17 * MIN, 15 * MIN, 25 * MIN, "RDS Multi-AZ: primary, standby and first backup")
        return _d(8 * MIN, 5 * MIN, 12 * MIN, "RDS single-AZ: create and first backup")
    if t == "aws:elasticache/replicationGroup:ReplicationGroup":
        if int(r.get("numCacheClusters") or 1) > 1 or r.get("multiAzEnabled"):
            return _d(12 * MIN, 8 * MIN, 18 * MIN, "ElastiCache primary and replicas across AZs")
        return _d(8 * MIN, 6 * MIN, 10 * MIN, "ElastiCache node")
    if t == "aws:mq/broker:Broker":
        if r.get("deploymentMode") == "CLUSTER_MULTI_AZ":
            return _d(20 * MIN, 17 * MIN, 30 * MIN, "Amazon MQ three-node cluster")
        return _d(17 * MIN, 15 * MIN, 20 * MIN, "Amazon MQ broker")
    if t == "aws:ecs/service:Service":
        if r.get("waitForSteadyState"):
            return _d(3.5 * MIN, 2 * MIN, 5 * MIN, "ECS tasks placed, healthy in the target group")
        return _d(30, 10, 60, "ECS service created (tasks start after `pulumi up` returns)")
    if backend == "docker" or t.startswith("docker:index/container") or t.startswith("docker:index/remoteImage"):
        docker = _docker_duration(graph, r)
        if docker is not None:
            return docker
    return AWS_TIMES.get(t, DEFAULT)


# Seconds from `docker start` to the process answering its health check, on a laptop, by image family.
BOOT_SECONDS = {"postgres": 6, "pgvector": 6, "redis": 1, "rabbitmq": 15, "nginx": 1, "prometheus": 3,
                "grafana": 8}
APP_BOOT_SECONDS = 4


def _docker_duration(graph: Graph, r: Resource) -> Duration | None:
    t = r.type
    if t == "docker:index/remoteImage:RemoteImage":
        image = str(r.get("name") or "")
        if "alpine" in image:
            return _d(12, 4, 40, f"pull {image}")
        return _d(30, 8, 90, f"pull {image}")
    if t == "docker:index/image:Image":
        return _d(75, 25, 4 * MIN, "first build of the image (no layer cache)")
    if t in ("docker:index/network:Network", "docker:index/volume:Volume"):
        return _d(1, 0.5, 3)
    if t == "docker:index/container:Container":
        return _container_duration(r, _image_name(graph, r))
    return None


def _image_name(graph: Graph, container: Resource) -> str:
    """The image a container runs, by name: its `image` input is the pulled image's id, so follow it to the pull."""
    for urn in container.property_dependencies.get("image", []):
        image = graph.by_urn.get(urn)
        if image is not None:
            return str(image.get("name") or image.get("imageName") or "")
    return str(container.get("image") or "")


def _container_duration(r: Resource, image: str) -> Duration:
    start = 2.0
    if r.get("mustRun") is False or r.get("attach"):
        return _d(start + APP_BOOT_SECONDS + 3, start + 2, start + 60, "one-off container runs to completion")
    if not r.get("wait"):
        return _d(start, 1, 5, "container started (not waited on)")
    hc = r.get("healthcheck") or {}
    interval = _seconds(hc.get("interval"), 30)
    start_period = _seconds(hc.get("startPeriod"), 0)
    retries = int(hc.get("retries") or 3)
    boot = next((s for family, s in BOOT_SECONDS.items() if family in image.lower()), APP_BOOT_SECONDS)
    # Docker probes every `interval` from the start; the first probe after the process is up marks it healthy.
    typical = max(1, math.ceil(boot / interval)) * interval
    high = start_period + interval * retries
    limit = float(r.get("waitTimeout") or 60)
    return _d(start + min(typical, limit), start + interval, start + min(max(high, typical), limit),
              f"healthy after ~{typical:.0f}s (probe every {interval:.0f}s)")


def _seconds(value: object, default: float) -> float:
    """Docker durations as pulumi-docker takes them: "5s", "1m30s", "500ms" (or plain seconds)."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    total = 0.0
    for amount, unit in re.findall(r"([\d.]+)(ms|s|m|h)", str(value)):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total or default


# ------------------------------------------------------------------------------------------------------ schedule


@dataclass(frozen=True)
class Step:
    resource: Resource
    start: float
    finish: float
    duration: Duration
    after: str | None  # the URN of the resource whose finish set this start (the critical predecessor)


@dataclass
class Schedule:
    steps: dict[str, Step]
    total: float
    low: float
    high: float
    critical_path: list[Step]

    def start_of(self, r: Resource) -> float:
        return self.steps[r.urn].start

    def step(self, r: Resource) -> Step:
        return self.steps[r.urn]


def waits_for(graph: Graph, r: Resource) -> set[str]:
    """The custom resources `r` directly waits for: its dependencies with components expanded to their insides."""
    own_ancestors = {a.urn for a in graph.ancestors(r)}
    out: set[str] = set()
    direct = set(r.all_deps())
    if r.provider:
        direct.add(r.provider.rsplit("::", 1)[0])
    for urn in direct:
        dep = graph.by_urn.get(urn)
        if dep is None or urn in own_ancestors or urn == r.urn:
            continue  # a resource never waits for the component that contains it
        if dep.custom:
            out.add(urn)
        else:
            out.update(d.urn for d in graph.descendants(dep) if d.custom and d.urn != r.urn)
    return out


def schedule(graph: Graph, backend: str | None = None) -> Schedule:
    backend = backend or _backend(graph)
    custom = [r for r in graph.resources if r.custom]
    known = {r.urn for r in custom}
    edges = {r.urn: waits_for(graph, r) & known for r in custom}
    durations = {r.urn: duration(graph, r, backend) for r in custom}
    order = _topological([r.urn for r in custom], edges)
    steps: dict[str, Step] = {}
    totals = {}
    for kind in ("low", "high", "typical"):
        finish: dict[str, float] = {}
        for urn in order:
            # the predecessor that finishes last sets the start; on a tie, the slower one is the one to name, then the
            # first by URN (edges are sets, whose order changes from process to process)
            after = max(sorted(edges[urn]), key=lambda p: (finish[p], durations[p].typical), default=None)
            start = finish[after] if after else 0.0
            finish[urn] = start + durations[urn].scaled(kind)
            if kind == "typical":
                steps[urn] = Step(graph.by_urn[urn], start, finish[urn], durations[urn], after)
        totals[kind] = max(finish.values(), default=0.0)
    path: list[Step] = []
    node = max(sorted(steps.values(), key=lambda s: s.resource.urn),
               key=lambda s: (s.finish, s.duration.typical), default=None)
    while node is not None:
        path.append(node)
        node = steps[node.after] if node.after else None
    path.reverse()
    return Schedule(steps, totals["typical"], totals["low"], totals["high"], path)


def _topological(urns: list[str], edges: dict[str, set[str]]) -> list[str]:
    """Dependencies first; registration order breaks ties, so the schedule is stable from run to run."""
    index = {urn: i for i, urn in enumerate(urns)}
    dependents: dict[str, list[str]] = {urn: [] for urn in urns}
    for urn in urns:
        for p in edges[urn]:
            dependents[p].append(urn)
    pending = {urn: len(edges[urn]) for urn in urns}
    ready = sorted((u for u in urns if pending[u] == 0), key=index.__getitem__)
    order: list[str] = []
    while ready:
        urn = ready.pop(0)
        order.append(urn)
        for nxt in dependents[urn]:
            pending[nxt] -= 1
            if pending[nxt] == 0:
                ready.append(nxt)
    if len(order) != len(urns):
        stuck = [u.rsplit("::", 1)[-1] for u in urns if u not in set(order)]
        raise ValueError(f"dependency cycle among: {', '.join(stuck[:6])}")
    return order


def _backend(graph: Graph) -> str:
    return "aws" if any(r.type.startswith("aws:") for r in graph.resources) else "docker"


# ---------------------------------------------------------------------------------------------------- formatting


def minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def format_schedule(graph: Graph, sched: Schedule, detail: bool = True) -> str:
    out = [f"First `pulumi up` of {graph.stack}: about {minutes(sched.total)} "
           f"(range {minutes(sched.low)} to {minutes(sched.high)})"]
    chain = [s for s in sched.critical_path if s.duration.typical > 0]
    out.append("  critical path (what sets it):")
    for s in chain if detail else [s for s in chain if s.duration.typical >= 60]:
        why = f" - {s.duration.why}" if s.duration.why else ""
        out.append(f"    {minutes(s.start):>8} +{minutes(s.duration.typical):>8}  {s.resource.name} "
                   f"[{s.resource.type.rsplit(':', 1)[-1]}]{why}")
    lagging = [s for s in sched.steps.values()
               if s.resource.type == "aws:ecs/service:Service" and not s.resource.get("waitForSteadyState")]
    if lagging:
        services = f"{len(lagging)} ECS service{' keeps' if len(lagging) == 1 else 's keep'}"
        out.append(f"  then: {services} starting tasks after "
                   "`pulumi up` returns (no waitForSteadyState): allow 2-5 min more until they pass health checks")
    if any(s.resource.type == "docker:index/image:Image" for s in sched.steps.values()):
        out.append("  later runs: image layers are cached, so builds and pulls take seconds")
    return "\n".join(out)


def critical_summary(sched: Schedule) -> str:
    """The slow links of the critical path in one line: `VPC -> ... -> RDS (17 min) -> ECS service`."""
    slow = [s for s in sched.critical_path if s.duration.typical >= 30]
    return " -> ".join(f"{s.resource.name} ({minutes(s.duration.typical)})" for s in slow)
