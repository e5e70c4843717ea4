"""The ALB on the recorded graphs: listeners, TLS, certificates, DNS, access logs, target groups and one rule per route."""

from __future__ import annotations

import json
import re

import pytest

from components.aws.limits import LOAD_BALANCER, TARGET_GROUP
from tests.harness import Graph, provided, run_stack

ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
TG = "aws:lb/targetGroup:TargetGroup"
RECORD = "aws:route53/record:Record"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"


def listeners(graph: Graph) -> dict[int, dict]:
    return {r.get("port"): r for r in graph.of_type(LISTENER)}


# -------------------------------------------------------------------------------------------------------- ALB


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_alb_is_public_in_the_public_subnets_and_drops_invalid_headers(request, stack):
    graph = request.getfixturevalue(stack)
    alb = graph.one(ALB)
    assert alb.get("name") == f"{stack}-alb" and LOAD_BALANCER.problem(alb.get("name")) is None
    assert alb.get("loadBalancerType") == "application" and alb.get("internal") is False
    public = {provided(s) for s in graph.of_type("aws:ec2/subnet:Subnet") if s.get("tags")["tier"] == "public"}
    assert set(alb.get("subnets")) == public
    assert alb.get("securityGroups") == [provided(graph.one(SECURITY_GROUP, "alb-sg"))]
    assert alb.get("dropInvalidHeaderFields") is True and alb.get("desyncMitigationMode") == "defensive"
    assert alb.get("idleTimeout") == 60


def test_production_alb_is_deletion_protected_and_logs_to_a_private_bucket(prod, staging):
    alb = prod.one(ALB)
    assert alb.get("enableDeletionProtection") is True
    bucket = prod.one("aws:s3/bucket:Bucket", "access-logs")
    assert alb.get("accessLogs") == {"bucket": provided(bucket), "prefix": "alb", "enabled": True}
    policy = prod.one("aws:s3/bucketPolicy:BucketPolicy", "access-logs")
    assert prod.depends_on(alb, policy)
    statements = {s["Sid"]: s for s in json.loads(policy.get("policy"))["Statement"]}
    logs = f"{provided(bucket, 'arn')}/alb/AWSLogs/123456789012/*"
    assert logs.startswith("arn:aws:s3:::")
    assert statements["ElbAccountDelivers"]["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert statements["ElbServiceDelivers"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert all(statements[s]["Action"] == "s3:PutObject" and statements[s]["Resource"] == logs
               for s in ("ElbAccountDelivers", "ElbServiceDelivers"))
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    sse = next(r for r in prod.of_type("aws:s3/bucketServerSideEncryptionConfiguration:"
                                       "BucketServerSideEncryptionConfiguration") if "access-logs" in r.name)
    assert sse.get("rules")[0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    block = prod.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "access-logs")
    assert all(block.get(k) for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                      "restrictPublicBuckets"))
    expiry = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "access-logs")
    assert expiry.get("rules")[0]["expiration"] == {"days": 90}
    assert bucket.protect
    cheap = staging.one(ALB)
    assert cheap.get("enableDeletionProtection") is False and cheap.get("accessLogs") is None
    assert [b.name for b in staging.of_type("aws:s3/bucket:Bucket")] == ["twinstack-storage-bucket"]


# --------------------------------------------------------------------------------------------------- listeners


def test_https_with_a_tls13_policy_and_port_80_only_redirects(prod):
    by_port = listeners(prod)
    assert set(by_port) == {80, 443}
    https = by_port[443]
    assert https.get("protocol") == "HTTPS" and https.get("sslPolicy") == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https.get("certificateArn") == provided(prod.one("aws:acm/certificate:Certificate"), "arn")
    assert https.get("routingHttpResponseStrictTransportSecurityHeaderValue") == "max-age=31536000"
    assert https.get("defaultActions")[0]["fixedResponse"]["statusCode"] == "404"
    http = by_port[80]
    assert http.get("protocol") == "HTTP"
    assert http.get("defaultActions") == [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                                            "statusCode": "HTTP_301"}}]
    assert all(r.get("listenerArn") == provided(https, "arn") for r in prod.of_type(RULE))


def test_staging_without_tls_serves_http_because_it_allows_it(staging):
    assert set(listeners(staging)) == {80}
    http = listeners(staging)[80]
    assert http.get("defaultActions")[0]["type"] == "fixed-response"
    assert all(r.get("listenerArn") == provided(http, "arn") for r in staging.of_type(RULE))
    dns = provided(staging.one(ALB), "dnsName")
    assert re.fullmatch(r"staging-alb-\d{10}\.us-east-1\.elb\.amazonaws\.com", dns)
    assert staging.output("url") == f"http://{dns}"
    assert staging.of_type("aws:acm/certificate:Certificate") == []


def test_certificate_is_created_and_dns_validated_in_the_zone(prod):
    cert = prod.one("aws:acm/certificate:Certificate")
    assert cert.get("domainName") == "app.example.com" and cert.get("validationMethod") == "DNS"
    validation_record = prod.one(RECORD, "certificate-validation")
    assert validation_record.get("zoneId") == "Z0123456789EXAMPLE"
    [option] = provided(cert, "domainValidationOptions")  # the record ACM asks for, in the zone
    assert option["resourceRecordName"].endswith("._app.example.com.".removeprefix("._"))
    assert (validation_record.get("name"), validation_record.get("type"), validation_record.get("records")) == (
        option["resourceRecordName"], "CNAME", [option["resourceRecordValue"]])
    validation = prod.one("aws:acm/certificateValidation:CertificateValidation")
    assert prod.depends_on(validation, validation_record) and prod.depends_on(validation, cert)
    # the listener waits for the issued certificate, not just the request
    assert prod.depends_on(listeners(prod)[443], validation)


def test_the_domain_points_at_the_alb(prod, rich_graph):
    for graph, domain, zone in ((prod, "app.example.com", "Z0123456789EXAMPLE"),
                                (rich_graph, "shop.example.com", "Z0EXAMPLE")):
        alias = graph.one(RECORD, "alias")
        assert (alias.get("name"), alias.get("type"), alias.get("zoneId")) == (domain, "A", zone)
        assert alias.get("aliases") == [{"name": provided(graph.one(ALB), "dnsName"),
                                         "zoneId": "Z35SXDOTRQ7X7K", "evaluateTargetHealth": True}]
        assert graph.output("url") == f"https://{domain}"


def test_an_existing_certificate_is_used_as_given(rich_graph):
    assert rich_graph.of_type("aws:acm/certificate:Certificate") == []
    assert listeners(rich_graph)[443].get("certificateArn") == "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"


# ------------------------------------------------------------------------------------------ routes and targets


def test_one_target_group_per_routed_service_named_within_limits(rich_graph, prod):
    groups = {tg.get("name"): tg for tg in rich_graph.of_type(TG)}
    assert set(groups) == {"prod-frontend", "prod-api"}  # the worker has no route
    for name, tg in groups.items():
        assert TARGET_GROUP.problem(name) is None
        assert tg.get("targetType") == "ip" and tg.get("protocol") == "HTTP"
        assert tg.get("vpcId") == provided(rich_graph.one("aws:ec2/vpc:Vpc"))
    assert groups["prod-api"].get("port") == 8000 and groups["prod-frontend"].get("port") == 3000
    hc = prod.one(TG).get("healthCheck")
    assert hc == {"path": "/health", "matcher": "200-399", "interval": 10, "timeout": 5, "healthyThreshold": 2,
                  "unhealthyThreshold": 5}


def test_one_rule_per_route_most_specific_first(rich_graph):
    rules = {r.name.removeprefix("twinstack-proxy-route-"): r for r in rich_graph.of_type(RULE)}
    assert set(rules) == {"root", "api", "static"}
    priorities = {k: r.get("priority") for k, r in rules.items()}
    assert priorities["root"] > max(priorities["api"], priorities["static"])
    assert len(set(priorities.values())) == 3
    patterns = {k: r.get("conditions")[0]["pathPattern"]["values"] for k, r in rules.items()}
    assert patterns == {"root": ["/*"], "api": ["/api", "/api/*"], "static": ["/static", "/static/*"]}
    group_of = {provided(tg, "arn"): tg.name.removeprefix("twinstack-proxy-") for tg in rich_graph.of_type(TG)}
    target = {k: group_of[r.get("actions")[0]["targetGroupArn"]] for k, r in rules.items()}
    # an ALB cannot serve files: the volume route goes to the service that declares (writes) the volume
    assert target == {"root": "frontend", "api": "api", "static": "api"}


def test_strip_prefix_rewrites_the_path(rich_graph):
    api = rich_graph.one(RULE, "route-api")
    [transform] = api.get("transforms")
    rewrite = transform["urlRewriteConfig"]["rewrite"]
    assert transform["type"] == "url-rewrite"
    as_alb = {path: re.sub(rewrite["regex"], rewrite["replace"].replace("$1", r"\1"), path)
              for path in ("/api", "/api/", "/api/orders/7")}
    assert as_alb == {"/api": "/", "/api/": "/", "/api/orders/7": "/orders/7"}
    assert rich_graph.one(RULE, "route-root").get("transforms") is None


def test_command_only_services_get_an_http_liveness_check():
    graph = run_stack("staging", set={
        "twinstack:services": [{"name": "ws", "image": "ghcr.io/acme/ws:1", "port": 8080,
                                "healthCheck": {"command": ["/bin/healthcheck"]}}],
        "twinstack:proxy": {"allowHttp": True, "routes": [{"path": "/", "service": "ws"}]},
    })
    assert graph.one(TG).get("healthCheck")["path"] == "/"
    assert graph.one(TG).get("healthCheck")["matcher"] == "200-499"
