"""Proxy: an internet-facing ALB in the public subnets, HTTPS only (port 80 redirects), one target group per routed
service and one listener rule per route.

Routes match like nginx prefixes: `/api` matches `/api` and `/api/...`, `/` everything else; more specific paths
get lower rule priorities, so they win. `stripPrefix` uses the ALB's URL rewrite transform.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.site import Site
from components.aws.storage import log_bucket
from config import model

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
NOT_FOUND = {"type": "fixed-response",
             "fixed_response": {"content_type": "text/plain", "message_body": "Not Found", "status_code": "404"}}


def route_slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"


@dataclass(frozen=True)
class Target:
    """A routed service: its target group and the health check the ALB runs against it."""

    service: model.Service
    target_group_name: str  # rules.target_group_name


@dataclass(frozen=True)
class RoutedPath:
    route: model.Route
    service: str  # the service it forwards to (rules.route_service)
    path_patterns: Sequence[str]  # the ALB's path-pattern values (rules.path_patterns)


@dataclass(frozen=True)
class ProxyArgs:
    settings: model.Proxy  # idle timeout and TLS (the routes come resolved in `routes`)
    site: Site
    alb_name: str  # rules.alb_name
    subnet_ids: Sequence[pulumi.Input[str]]  # public subnets, one per AZ
    security_group_id: pulumi.Input[str]  # the ALB's group
    vpc_id: pulumi.Input[str]
    targets: Sequence[Target]  # the services behind the ALB, in route order, each once
    routes: Sequence[RoutedPath]  # every route, in config order


class Proxy(pulumi.ComponentResource):
    def __init__(self, name: str, args: ProxyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Proxy", name, None, opts)
        tls = args.settings.tls
        self.alb = self._load_balancer(name, args)
        self.target_groups = self._target_groups(name, args)
        self.listener, self.redirect_listener = self._listeners(name, tls)
        self.listener_rules = self._route_rules(name, args)

        if tls and tls.domain and tls.zone_id:
            aws.route53.Record(f"{name}-alias", zone_id=tls.zone_id, name=tls.domain, type="A",
                               aliases=[{"name": self.alb.dns_name, "zone_id": self.alb.zone_id,
                                         "evaluate_target_health": True}], opts=pulumi.ResourceOptions(parent=self))
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

    def _load_balancer(self, name: str, args: ProxyArgs) -> aws.lb.LoadBalancer:
        """The internet-facing ALB, with access logs in a bucket of their own in production."""
        site = args.site
        log_bucket, log_policy = self._access_log_bucket(name, site) if site.production else (None, None)
        return aws.lb.LoadBalancer(
            f"{name}-alb",
            name=args.alb_name,
            load_balancer_type="application",
            internal=False,
            subnets=args.subnet_ids,
            security_groups=[args.security_group_id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            idle_timeout=args.settings.timeout_seconds,
            enable_deletion_protection=site.production,
            access_logs={"bucket": log_bucket.id, "prefix": "alb", "enabled": True} if log_bucket else None,
            # The ALB checks it may write to the bucket when logging is turned on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy] if log_policy else None),
        )

    def _target_groups(self, name: str, args: ProxyArgs) -> dict[str, aws.lb.TargetGroup]:
        """One target group per routed service: its tasks' IPs on its port."""
        groups: dict[str, aws.lb.TargetGroup] = {}
        for target in args.targets:
            svc = target.service
            hc = svc.health_check
            groups[svc.name] = aws.lb.TargetGroup(
                f"{name}-{svc.name}",
                name=target.target_group_name,
                port=svc.port,
                protocol="HTTP",
                target_type="ip",
                vpc_id=args.vpc_id,
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
                opts=pulumi.ResourceOptions(parent=self),
            )
        return groups

    def _listeners(self, name: str, tls: model.Tls | None) -> tuple[aws.lb.Listener, aws.lb.Listener | None]:
        """(the listener the routes hang on, the HTTP-to-HTTPS redirect where there is TLS)."""
        child = pulumi.ResourceOptions(parent=self)
        if not tls:
            # allowHttp without TLS (config rules refuse it in production): port 80 serves the routes itself.
            return aws.lb.Listener(f"{name}-http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP",
                                   default_actions=[NOT_FOUND], opts=child), None
        certificate_arn = tls.certificate_arn or self._certificate(name, tls.domain, tls.zone_id)
        listener = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=self.alb.arn, port=443, protocol="HTTPS", ssl_policy=TLS_POLICY,
            certificate_arn=certificate_arn, default_actions=[NOT_FOUND],
            routing_http_response_strict_transport_security_header_value="max-age=31536000",
            opts=child)
        redirect = aws.lb.Listener(
            f"{name}-http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP",
            default_actions=[{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                               "status_code": "HTTP_301"}}],
            opts=child)
        return listener, redirect

    def _route_rules(self, name: str, args: ProxyArgs) -> dict[str, list[aws.lb.ListenerRule]]:
        """One listener rule per route, the most specific path first; {service: the rules forwarding to it}."""
        rules: dict[str, list[aws.lb.ListenerRule]] = {s: [] for s in self.target_groups}
        by_specificity = sorted(args.routes, key=lambda r: (-len(r.route.path.rstrip("/")), r.route.path))
        slugs: set[str] = set()
        for rank, routed in enumerate(by_specificity):
            route = routed.route
            slug = route_slug(route.path)
            while slug in slugs:  # `/a-b` and `/a/b` share a slug; the rank (unique) tells them apart
                slug = f"{slug}-{rank}"
            slugs.add(slug)
            base = route.path.rstrip("/")
            rules[routed.service].append(aws.lb.ListenerRule(
                f"{name}-route-{slug}",
                listener_arn=self.listener.arn,
                priority=(rank + 1) * 10,
                conditions=[{"path_pattern": {"values": list(routed.path_patterns)}}],
                actions=[{"type": "forward", "target_group_arn": self.target_groups[routed.service].arn}],
                transforms=[{"type": "url-rewrite", "url_rewrite_config": {
                    "rewrite": {"regex": f"^{re.escape(base)}/?(.*)$", "replace": "/$1"}}}]
                if route.strip_prefix else None,
                opts=pulumi.ResourceOptions(parent=self),
            ))
        return rules

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

    def _access_log_bucket(self, name: str, site: Site) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        elb_account = aws.elb.get_service_account_output(opts=pulumi.InvokeOptions(parent=self))

        def writers(bucket_arn: pulumi.Output[str]) -> list[dict]:
            objects = pulumi.Output.concat(bucket_arn, "/alb/AWSLogs/", site.account.id, "/*")
            # Regions older than August 2022 deliver as the regional ELB account, newer ones as the service.
            return [{"Sid": "ElbAccountDelivers", "Effect": "Allow", "Principal": {"AWS": elb_account.arn},
                     "Action": "s3:PutObject", "Resource": objects},
                    {"Sid": "ElbServiceDelivers", "Effect": "Allow",
                     "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                     "Action": "s3:PutObject", "Resource": objects}]

        return log_bucket(f"{name}-access-logs", site, f"{site.prefix}-alb-logs-", writers, self)
