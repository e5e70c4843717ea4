"""Proxy: an internet-facing ALB in the public subnets, HTTPS only (port 80 redirects), one target group per routed
service and one listener rule per route.

Routes match like nginx prefixes: `/api` matches `/api` and `/api/...`, `/` everything else; more specific paths
get lower rule priorities, so they win. `stripPrefix` uses the ALB's URL rewrite transform.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

from components.aws.rules import alb_name, path_patterns, route_service, routed_services, target_group_name
from components.aws.storage import log_bucket
from config.model import StackConfig

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def route_slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"


class Proxy(pulumi.ComponentResource):
    def __init__(self, name: str, stack: StackConfig, network, parts: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Proxy", name, None, opts)
        prefix, proxy, tls = stack.name_prefix, stack.proxy, stack.proxy.tls
        child = pulumi.ResourceOptions(parent=self)

        log_bucket, log_policy = self._access_log_bucket(name, stack, network) if stack.production else (None, None)
        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=alb_name(prefix),
            load_balancer_type="application",
            internal=False,
            subnets=network.public_subnet_ids,
            security_groups=[network.security_groups["alb"].id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            idle_timeout=proxy.timeout_seconds,
            enable_deletion_protection=stack.production,
            access_logs={"bucket": log_bucket.id, "prefix": "alb", "enabled": True} if log_bucket else None,
            # The ALB checks it may write to the bucket when logging is turned on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy] if log_policy else None),
        )

        self.target_groups: dict[str, aws.lb.TargetGroup] = {}
        for svc_name in routed_services(stack):
            svc = stack.service(svc_name)
            hc = svc.health_check
            self.target_groups[svc_name] = aws.lb.TargetGroup(
                f"{name}-{svc_name}",
                name=target_group_name(prefix, svc_name),
                port=svc.port,
                protocol="HTTP",
                target_type="ip",
                vpc_id=network.vpc_id,
                deregistration_delay=30,
                health_check={
                    # A command-only service gets `/` answered with anything but a 5xx: proof the HTTP server is up,
                    # while its own command check (in the task definition) judges the rest.
                    "path": hc.path or "/",
                    "matcher": "200-399" if hc.path else "200-499",
                    "interval": hc.interval_seconds,
                    "timeout": hc.timeout_seconds,
                    "healthy_threshold": 2,
                    "unhealthy_threshold": max(2, hc.retries),
                },
                opts=child,
            )

        not_found = {"type": "fixed-response",
                     "fixed_response": {"content_type": "text/plain", "message_body": "Not Found", "status_code": "404"}}
        if tls:
            certificate_arn = tls.certificate_arn or self._certificate(name, tls.domain, tls.zone_id)
            self.listener = aws.lb.Listener(
                f"{name}-https", load_balancer_arn=self.alb.arn, port=443, protocol="HTTPS", ssl_policy=TLS_POLICY,
                certificate_arn=certificate_arn, default_actions=[not_found],
                routing_http_response_strict_transport_security_header_value="max-age=31536000",
                opts=child)
            self.redirect_listener: aws.lb.Listener | None = aws.lb.Listener(
                f"{name}-http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP",
                default_actions=[{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                                   "status_code": "HTTP_301"}}],
                opts=child)
        else:
            # allowHttp without TLS (config rules refuse it in production): port 80 serves the routes itself.
            self.redirect_listener = None
            self.listener = aws.lb.Listener(f"{name}-http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP",
                                            default_actions=[not_found], opts=child)

        self.listener_rules: dict[str, list[aws.lb.ListenerRule]] = {s: [] for s in self.target_groups}
        by_specificity = sorted(proxy.routes, key=lambda r: (-len(r.path.rstrip("/")), r.path))
        slugs: set[str] = set()
        for rank, route in enumerate(by_specificity):
            svc_name = route_service(stack, route)
            assert svc_name is not None  # config rules refuse a route to no service
            slug = route_slug(route.path)
            while slug in slugs:  # `/a-b` and `/a/b` share a slug; the rank (unique) tells them apart
                slug = f"{slug}-{rank}"
            slugs.add(slug)
            base = route.path.rstrip("/")
            self.listener_rules[svc_name].append(aws.lb.ListenerRule(
                f"{name}-route-{slug}",
                listener_arn=self.listener.arn,
                priority=(rank + 1) * 10,
                conditions=[{"path_pattern": {"values": path_patterns(route.path)}}],
                actions=[{"type": "forward", "target_group_arn": self.target_groups[svc_name].arn}],
                transforms=[{"type": "url-rewrite", "url_rewrite_config": {
                    "rewrite": {"regex": f"^{re.escape(base)}/?(.*)$", "replace": "/$1"}}}]
                if route.strip_prefix else None,
                opts=child,
            ))

        if tls and tls.domain and tls.zone_id:
            aws.route53.Record(f"{name}-alias", zone_id=tls.zone_id, name=tls.domain, type="A",
                               aliases=[{"name": self.alb.dns_name, "zone_id": self.alb.zone_id,
                                         "evaluate_target_health": True}], opts=child)
        if tls and tls.domain:
            self.url: pulumi.Output[str] = pulumi.Output.from_input(f"https://{tls.domain}")
        else:
            self.url = pulumi.Output.concat("https://" if tls else "http://", self.alb.dns_name)
        self.arn_suffix: pulumi.Output[str] = self.alb.arn_suffix
        self.register_outputs({
            "url": self.url,
            "albArn": self.alb.arn,
            "targetGroupArns": {s: tg.arn for s, tg in self.target_groups.items()},
            "listenerArn": self.listener.arn,
        })

    def _certificate(self, name: str, domain: str | None, zone_id: str | None) -> pulumi.Output[str]:
        """An ACM certificate for `domain`, DNS-validated in the Route 53 zone; its ARN once it is issued."""
        child = pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(f"{name}-certificate", domain_name=domain, validation_method="DNS",
                                          opts=child)
        option = certificate.domain_validation_options.apply(lambda options: options[0])
        record = aws.route53.Record(
            f"{name}-certificate-validation", zone_id=zone_id, name=option.resource_record_name,
            type=option.resource_record_type, records=[option.resource_record_value], ttl=60, allow_overwrite=True,
            opts=child)
        validation = aws.acm.CertificateValidation(f"{name}-certificate", certificate_arn=certificate.arn,
                                                   validation_record_fqdns=[record.fqdn], opts=child)
        return validation.certificate_arn

    def _access_log_bucket(self, name: str, stack: StackConfig, network) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        elb_account = aws.elb.get_service_account_output(opts=pulumi.InvokeOptions(parent=self))

        def writers(bucket_arn: pulumi.Output[str]) -> list[dict]:
            objects = pulumi.Output.concat(bucket_arn, "/alb/AWSLogs/", network.account.id, "/*")
            # Regions older than August 2022 deliver as the regional ELB account, newer ones as the service.
            return [{"Sid": "ElbAccountDelivers", "Effect": "Allow", "Principal": {"AWS": elb_account.arn},
                     "Action": "s3:PutObject", "Resource": objects},
                    {"Sid": "ElbServiceDelivers", "Effect": "Allow",
                     "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                     "Action": "s3:PutObject", "Resource": objects}]

        return log_bucket(f"{name}-access-logs", stack, f"{stack.name_prefix}-alb-logs-", writers, self)
