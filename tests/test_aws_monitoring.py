"""CloudWatch on the recorded graphs: the dashboard, alarms on the same signals, and the encrypted SNS topic."""

from __future__ import annotations

import json
import re

import pytest

from components.aws.monitoring import rds_max_connections
from tests.harness import Graph, fake_outputs, provided, run_stack
from tests.test_aws_variants import shared

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:prod-alarms"  # prod's topic
KEY_ARN = fake_outputs("aws:kms/key:Key", "twinstack-network-key-kms", {})["arn"]  # the stack key, as the mocks have it


@pytest.fixture(scope="module")
def tuned() -> Graph:
    return run_stack("staging", set={"twinstack:monitoring": {
        "logRetentionDays": 7, "cpuAlarmPercent": 70, "memoryAlarmPercent": 85, "errorRateAlarmCount": 25,
        "latencyAlarmSeconds": 0.5}})


def alb_suffix(graph: Graph) -> str:
    """The ALB's ARN suffix (`app/<name>/<16 hex>`), what CloudWatch names it by."""
    suffix = provided(graph.one("aws:lb/loadBalancer:LoadBalancer"), "arnSuffix")
    assert re.fullmatch(r"app/prod-alb/[0-9a-f]{16}", suffix)
    return suffix


def alarms(graph: Graph) -> dict[str, dict]:
    return {a.get("name"): a for a in graph.of_type(ALARM)}


def test_alarm_topic_is_encrypted_and_only_cloudwatch_publishes(prod):
    topic = prod.one("aws:sns/topic:Topic")
    assert topic.get("name") == "prod-alarms"
    assert topic.get("kmsMasterKeyId") == KEY_ARN == provided(prod.one("aws:kms/key:Key"), "arn")
    statements = {s["Sid"]: s for s in json.loads(prod.one("aws:sns/topicPolicy:TopicPolicy").get("policy"))[
        "Statement"]}
    publish = statements["CloudWatchAlarmsOfThisAccount"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Action"] == "sns:Publish"
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def test_email_subscription_only_when_configured(prod, tuned):
    sub = prod.one("aws:sns/topicSubscription:TopicSubscription")
    assert (sub.get("protocol"), sub.get("endpoint"), sub.get("topic")) == ("email", "oncall@example.com", TOPIC_ARN)
    assert tuned.of_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_alarms_cover_alb_services_database_and_every_redis_node(prod):
    found = alarms(prod)
    assert set(found) == {
        "prod-alb-target-5xx", "prod-alb-elb-5xx", "prod-alb-latency", "prod-demo-cpu", "prod-demo-memory",
        "prod-db-cpu", "prod-db-connections", "prod-db-free-storage",
        *(f"prod-redis-00{n}-{m}" for n in (1, 2) for m in ("cpu", "memory", "evictions")),
    }
    for alarm in found.values():
        assert alarm.get("alarmActions") == [TOPIC_ARN] and alarm.get("okActions") == [TOPIC_ARN]
        assert alarm.get("treatMissingData") == "notBreaching" and alarm.get("alarmDescription")
    assert found["prod-alb-target-5xx"].get("dimensions") == {"LoadBalancer": alb_suffix(prod)}
    assert found["prod-demo-cpu"].get("dimensions") == {"ClusterName": "prod", "ServiceName": "demo"}
    assert found["prod-db-connections"].get("dimensions") == {"DBInstanceIdentifier": "prod-postgres"}
    assert found["prod-redis-002-evictions"].get("dimensions") == {"CacheClusterId": "prod-redis-002"}
    assert found["prod-alb-latency"].get("extendedStatistic") == "p95"
    assert found["prod-alb-latency"].get("statistic") is None


def test_thresholds_come_from_config(prod, tuned):
    default, custom = alarms(prod), alarms(tuned)
    for key, want, have in (("alb-target-5xx", 10, 25), ("alb-latency", 2, 0.5), ("demo-cpu", 80, 70),
                            ("demo-memory", 80, 85), ("db-cpu", 80, 70), ("redis-001-memory", 80, 85)):
        assert default[f"prod-{key}"].get("threshold") == want
        assert custom[f"staging-{key}"].get("threshold") == have
    # 80% of RDS's default max_connections for the instance class; 10% of the allocated storage
    assert default["prod-db-connections"].get("threshold") == int(rds_max_connections("db.t4g.medium") * 0.8)
    assert custom["staging-db-connections"].get("threshold") == int(rds_max_connections("db.t4g.micro") * 0.8)
    free = default["prod-db-free-storage"]
    assert free.get("threshold") == 5 * 1024**3 and free.get("comparisonOperator") == "LessThanOrEqualToThreshold"


@pytest.mark.parametrize("instance_class, connections", [("db.t4g.micro", 101), ("db.t4g.medium", 405),
                                                         ("db.r6g.large", 1622), ("db.m7g.24xlarge", 5000)])
def test_max_connections_estimate_follows_rds_formula(instance_class, connections):
    assert rds_max_connections(instance_class) == connections


def test_dashboard_shows_the_same_signals(prod):
    dashboard = prod.one("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.get("dashboardName") == "prod"
    widgets = {w["properties"]["title"]: w["properties"] for w in json.loads(dashboard.get("dashboardBody"))["widgets"]}
    assert set(widgets) == {"ALB requests", "ALB 5xx", "ALB latency (p50, p95)", "ECS CPU %", "ECS memory %",
                            "RDS CPU %", "RDS connections", "RDS free storage (bytes)", "Redis engine CPU %",
                            "Redis memory %", "Redis evictions"}
    assert widgets["ALB requests"]["metrics"] == [["AWS/ApplicationELB", "RequestCount", "LoadBalancer",
                                                     alb_suffix(prod)]]
    assert widgets["ECS CPU %"]["metrics"] == [["AWS/ECS", "CPUUtilization", "ClusterName", "prod", "ServiceName",
                                                "demo"]]
    assert widgets["RDS connections"]["metrics"] == [["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier",
                                                      "prod-postgres"]]
    assert [m[3] for m in widgets["Redis evictions"]["metrics"]] == ["prod-redis-001", "prod-redis-002"]
    assert all(w["region"] == "us-east-1" for w in widgets.values())


def test_dashboard_url_is_exported(prod):
    assert prod.output("dashboardUrl") == ("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
                                           "#dashboards/dashboard/prod")


def test_every_service_is_watched():
    names = set(alarms(shared("rich")))
    assert {f"prod-{s}-{m}" for s in ("api", "worker", "frontend") for m in ("cpu", "memory")} <= names
