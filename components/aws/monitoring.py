"""Monitoring: one CloudWatch dashboard and the alarms that matter, sent to an encrypted SNS topic.

Dashboard and alarms watch the same signals: ALB requests, 5xx and latency; CPU and memory of every ECS service;
RDS CPU, connections and free storage; Redis CPU, memory and evictions (per node, since ElastiCache reports per node).
Thresholds come from `twinstack:monitoring`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.policy import document
from components.aws.rules import ALB_ALARM_ROLES, CACHE_NODE_ALARMS, DATABASE_ALARM_ROLES, service_alarm_roles
from components.aws.site import Site
from config import model

# GiB of memory by instance size for general-purpose and burstable classes; memory-optimised families have twice as
# much per size (r), or four times (x).
SIZE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64,
            "8xlarge": 128, "12xlarge": 192, "16xlarge": 256, "24xlarge": 384, "32xlarge": 512}
FAMILY_FACTOR = {"r": 2, "x": 4}


def rds_max_connections(instance_class: str) -> int:
    """RDS PostgreSQL's default max_connections, LEAST(DBInstanceClassMemory / 9531392, 5000), estimated from the
    class name (RDS reserves some memory, hence 0.9)."""
    _, family, size = instance_class.split(".")
    gib = SIZE_GIB.get(size, 8) * FAMILY_FACTOR.get(re.sub(r"[^a-z].*$", "", family), 1)
    return min(int(gib * 1024**3 * 0.9 / 9531392), 5000)


@dataclass(frozen=True)
class WatchedDatabase:
    identifier: str  # the RDS instance's
    settings: model.Database  # its class (for max_connections) and allocated storage


@dataclass(frozen=True)
class MonitoringArgs:
    settings: model.Monitoring  # thresholds and the alarm email
    site: Site
    alb_arn_suffix: pulumi.Input[str]  # the ALB's CloudWatch dimension
    cluster_name: pulumi.Input[str]
    services: Sequence[str]  # the app services, in config order
    database: WatchedDatabase | None = None
    cache_node_ids: Sequence[str] = ()  # the Redis nodes (CloudWatch reports per node); none without a cache


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Monitoring", name, None, opts)
        account = args.site.account
        self.topic = self._alarm_topic(name, args)
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        # Alarm names are `<prefix>-<role>`; rules.py derives the same roles to refuse a service whose alarms would
        # take a name already in use.
        self._load_balancer_alarms(name, args)
        self._service_alarms(name, args)
        if args.database is not None:
            self._database_alarms(name, args, args.database)
        self._cache_alarms(name, args)

        database = args.database.identifier if args.database is not None else None
        body = pulumi.Output.all(account.region, args.alb_arn_suffix, args.cluster_name).apply(
            lambda a: dashboard_body(args.services, region=a[0], alb_suffix=a[1], cluster=a[2], rds_id=database,
                                     redis_nodes=list(args.cache_node_ids)))
        self.dashboard = aws.cloudwatch.Dashboard(f"{name}-dashboard", dashboard_name=args.site.prefix,
                                                  dashboard_body=body, opts=pulumi.ResourceOptions(parent=self))
        self.url: pulumi.Output[str] | None = pulumi.Output.concat(
            "https://", account.region, ".console.aws.amazon.com/cloudwatch/home?region=", account.region,
            "#dashboards/dashboard/", self.dashboard.dashboard_name)
        # the console signs in with IAM: no dashboard password of our own
        self.dashboard_password: pulumi.Output[str] | None = None
        self.register_outputs({"url": self.url, "topicArn": self.topic.arn, "alarms": len(self.alarms)})

    def _alarm_topic(self, name: str, args: MonitoringArgs) -> aws.sns.Topic:
        """The encrypted SNS topic alarms publish to (CloudWatch of this account only, over TLS only)."""
        site, child = args.site, pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(f"{name}-alarms", name=f"{site.prefix}-alarms", kms_master_key_id=site.key.arn,
                              opts=child)
        aws.sns.TopicPolicy(f"{name}-alarms-policy", arn=topic.arn, policy=document([
            {"Sid": "CloudWatchAlarmsOfThisAccount", "Effect": "Allow",
             "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Resource": topic.arn,
             "Condition": {"StringEquals": {"aws:SourceAccount": site.account.id}}},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
             "Resource": topic.arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ]), opts=child)
        if args.settings.alarm_email:
            # Email subscriptions stay pending until the recipient confirms the message AWS sends.
            aws.sns.TopicSubscription(f"{name}-alarms-email", topic=topic.arn, protocol="email",
                                      endpoint=args.settings.alarm_email, opts=child)
        return topic

    def _alarm(self, name: str, args: MonitoringArgs, role: str, description: str, namespace: str, metric: str,
               dimensions: dict, threshold: float, comparison: str = "GreaterThanOrEqualToThreshold",
               statistic: str | None = "Average", extended_statistic: str | None = None, period: int = 60,
               evaluations: int = 5, datapoints: int = 3) -> None:
        """One alarm, `<prefix>-<role>`, sent to the topic when it fires and when it clears."""
        self.alarms.append(aws.cloudwatch.MetricAlarm(
            f"{name}-{role}", name=f"{args.site.prefix}-{role}", alarm_description=description,
            namespace=namespace, metric_name=metric, dimensions=dimensions, statistic=statistic,
            extended_statistic=extended_statistic, period=period, evaluation_periods=evaluations,
            datapoints_to_alarm=datapoints, threshold=threshold, comparison_operator=comparison,
            treat_missing_data="notBreaching", alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn],
            opts=pulumi.ResourceOptions(parent=self)))

    def _load_balancer_alarms(self, name: str, args: MonitoringArgs) -> None:
        mon = args.settings
        target_5xx, elb_5xx, latency = ALB_ALARM_ROLES
        alb = {"LoadBalancer": args.alb_arn_suffix}
        self._alarm(name, args, target_5xx, f"Services answered {mon.error_rate_alarm_count}+ 5xx in 5 minutes",
                    "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, mon.error_rate_alarm_count,
                    statistic="Sum", period=300, evaluations=1, datapoints=1)
        self._alarm(name, args, elb_5xx, f"The load balancer answered {mon.error_rate_alarm_count}+ 5xx in 5 minutes "
                    "(no healthy target, timeouts)", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb,
                    mon.error_rate_alarm_count, statistic="Sum", period=300, evaluations=1, datapoints=1)
        self._alarm(name, args, latency, f"p95 response time above {mon.latency_alarm_seconds}s",
                    "AWS/ApplicationELB", "TargetResponseTime", alb, mon.latency_alarm_seconds, statistic=None,
                    extended_statistic="p95")

    def _service_alarms(self, name: str, args: MonitoringArgs) -> None:
        mon = args.settings
        for svc_name in args.services:
            ecs = {"ClusterName": args.cluster_name, "ServiceName": svc_name}
            cpu, memory = service_alarm_roles(svc_name)
            self._alarm(name, args, cpu, f"{svc_name}: CPU above {mon.cpu_alarm_percent}%", "AWS/ECS",
                        "CPUUtilization", ecs, mon.cpu_alarm_percent)
            self._alarm(name, args, memory, f"{svc_name}: memory above {mon.memory_alarm_percent}%", "AWS/ECS",
                        "MemoryUtilization", ecs, mon.memory_alarm_percent)

    def _database_alarms(self, name: str, args: MonitoringArgs, database: WatchedDatabase) -> None:
        mon, db = args.settings, database.settings
        rds = {"DBInstanceIdentifier": database.identifier}
        connections = int(rds_max_connections(db.instance_class) * 0.8)
        free_bytes = db.allocated_storage_gb * 1024**3 // 10
        cpu, connections_role, free_storage = DATABASE_ALARM_ROLES
        self._alarm(name, args, cpu, f"PostgreSQL CPU above {mon.cpu_alarm_percent}%", "AWS/RDS", "CPUUtilization",
                    rds, mon.cpu_alarm_percent)
        self._alarm(name, args, connections_role, f"PostgreSQL connections at 80% of the class's default "
                    f"max_connections ({connections})", "AWS/RDS", "DatabaseConnections", rds, connections)
        self._alarm(name, args, free_storage, "PostgreSQL free storage below 10% of the allocated size", "AWS/RDS",
                    "FreeStorageSpace", rds, free_bytes, comparison="LessThanOrEqualToThreshold")

    def _cache_alarms(self, name: str, args: MonitoringArgs) -> None:
        mon = args.settings
        node_cpu, node_memory, node_evictions = CACHE_NODE_ALARMS
        for node in args.cache_node_ids:
            redis, role = {"CacheClusterId": node}, node.removeprefix(f"{args.site.prefix}-")
            self._alarm(name, args, f"{role}-{node_cpu}", f"Redis {node}: engine CPU above {mon.cpu_alarm_percent}%",
                        "AWS/ElastiCache", "EngineCPUUtilization", redis, mon.cpu_alarm_percent)
            self._alarm(name, args, f"{role}-{node_memory}", f"Redis {node}: memory above {mon.memory_alarm_percent}%",
                        "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", redis, mon.memory_alarm_percent)
            self._alarm(name, args, f"{role}-{node_evictions}", f"Redis {node} evicted keys: memory is full",
                        "AWS/ElastiCache", "Evictions", redis, 1, statistic="Sum", period=300, evaluations=1,
                        datapoints=1)


def dashboard_body(services: Sequence[str], region: str, alb_suffix: str, cluster: str, rds_id: str | None,
                   redis_nodes: list[str]) -> str:
    def widget(title: str, metrics: list[list], stat: str = "Average", period: int = 60) -> dict:
        return {"type": "metric", "width": 12, "height": 6, "properties": {
            "title": title, "region": region, "view": "timeSeries", "stat": stat, "period": period,
            "metrics": metrics}}

    alb = ["AWS/ApplicationELB"]
    widgets = [
        widget("ALB requests", [[*alb, "RequestCount", "LoadBalancer", alb_suffix]], stat="Sum"),
        widget("ALB 5xx", [[*alb, "HTTPCode_Target_5XX_Count", "LoadBalancer", alb_suffix],
                           [*alb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb_suffix]], stat="Sum"),
        widget("ALB latency (p50, p95)", [[*alb, "TargetResponseTime", "LoadBalancer", alb_suffix, {"stat": "p50"}],
                                          [*alb, "TargetResponseTime", "LoadBalancer", alb_suffix, {"stat": "p95"}]]),
    ]
    for metric, title in (("CPUUtilization", "ECS CPU %"), ("MemoryUtilization", "ECS memory %")):
        widgets.append(widget(title, [["AWS/ECS", metric, "ClusterName", cluster, "ServiceName", s]
                                      for s in services]))
    if rds_id:
        rds = ["DBInstanceIdentifier", rds_id]
        widgets += [widget("RDS CPU %", [["AWS/RDS", "CPUUtilization", *rds]]),
                    widget("RDS connections", [["AWS/RDS", "DatabaseConnections", *rds]]),
                    widget("RDS free storage (bytes)", [["AWS/RDS", "FreeStorageSpace", *rds]], stat="Minimum")]
    if redis_nodes:
        def per_node(metric: str) -> list[list]:
            return [["AWS/ElastiCache", metric, "CacheClusterId", node] for node in redis_nodes]

        widgets += [widget("Redis engine CPU %", per_node("EngineCPUUtilization")),
                    widget("Redis memory %", per_node("DatabaseMemoryUsagePercentage")),
                    widget("Redis evictions", per_node("Evictions"), stat="Sum", period=300)]
    return json.dumps({"widgets": widgets}, sort_keys=True)
