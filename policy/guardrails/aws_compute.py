"""ECS Fargate services and the ALB in front of them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import registry, tokens
from .common import (
    PRODUCTION_SCHEMA,
    check_each,
    dig,
    is_production,
    is_true,
    items,
    mapping,
    of_type,
    parse_json,
    referring,
    refers_to,
    resource_policy,
)

# Env var names that carry credentials: by convention, and the connection URLs twinstack's contract hands services.
SECRET_ENV_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|SECRET_KEY|TOKEN|API_KEY|APIKEY|PRIVATE_KEY|ACCESS_KEY|"
                             r"SIGNING_KEY|ENCRYPTION_KEY|CREDENTIALS?)$")
# The contract's credentials: what each part kind hands its services as secrets (the registry's `secret_env`).
CONTRACT_SECRETS = {env for kind in registry.parts.PART_KINDS for env in kind.secret_env}
# scheme://user:password@host: a URL that embeds a password
URL_WITH_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@")
# ALB policies that allow only TLS 1.2 and 1.3 (the TLS13-*, TLS-1-2-* and FS-1-2-* families, FIPS variants included).
TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-")


# ------------------------------------------------------------------------------------------------------------ ECS


def containers(args: ResourceValidationArgs) -> list[Mapping[str, Any]]:
    """A task definition's container definitions: a JSON string in the resource, parsed."""
    return [c for c in items(parse_json(args.props.get("containerDefinitions"))) if isinstance(c, Mapping)]


def _not_privileged(args: ResourceValidationArgs) -> Iterator[str]:
    for c in containers(args):
        if is_true(c.get("privileged")):
            yield f"container '{c.get('name')}' is privileged"


def looks_secret(name: str, value: Any) -> bool:
    return (name in CONTRACT_SECRETS or bool(SECRET_ENV_NAME.search(name.upper()))
            or bool(URL_WITH_PASSWORD.match(str(value or ""))))


def _secrets_not_in_environment(args: ResourceValidationArgs) -> Iterator[str]:
    for c in containers(args):
        for entry in items(c.get("environment")):
            name = str(dig(entry, "name") or "")
            if looks_secret(name, dig(entry, "value")):
                yield (f"container '{c.get('name')}' gets {name} in plain `environment`, visible to anyone who can "
                       "describe the task: pass it in `secrets` (valueFrom Secrets Manager)")


def _awslogs(args: ResourceValidationArgs) -> Iterator[str]:
    for c in containers(args):
        if dig(c, "logConfiguration", "logDriver") != "awslogs":
            yield f"container '{c.get('name')}' does not log with the awslogs driver"


def _separate_roles(args: ResourceValidationArgs) -> Iterator[str]:
    task, execution = args.props.get("taskRoleArn"), args.props.get("executionRoleArn")
    if task and task == execution:
        yield ("the task role is the execution role: the app would get the rights to pull images and read every "
               "secret of the task; give it its own role")


def _no_public_ip(args: ResourceValidationArgs) -> Iterator[str]:
    if is_true(dig(args.props, "networkConfiguration", "assignPublicIp")):
        yield "tasks get public IP addresses: run them in private subnets with assign_public_ip=False"


def _container_insights(args: ResourceValidationArgs) -> Iterator[str]:
    settings = {dig(s, "name"): dig(s, "value") for s in items(args.props.get("settings"))}
    if settings.get("containerInsights") not in ("enabled", "enhanced"):
        yield "Container Insights is off: settings=[{name: containerInsights, value: enabled}]"


# ------------------------------------------------------------------------------------------------------- ECS Exec


EXEC_ACTION = re.compile(r"^ssmmessages:(\*|(Create|Open)(Control|Data)Channel)$", re.IGNORECASE)


def _exec_on(service: PolicyResource) -> bool:
    return is_true(service.props.get("enableExecuteCommand"))


def _exec_sessions_logged(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """A service open to ECS Exec sits in a cluster that logs every session to CloudWatch, encrypted, and encrypts
    the sessions with a customer-managed key."""
    clusters = of_type(args, [tokens.ECS_CLUSTER])

    def check(service: PolicyResource) -> Iterator[str]:
        if not _exec_on(service):
            return
        mine = [c for c in clusters if refers_to(service, "cluster", c)]
        if not mine:
            yield "ECS Exec is on, but the service's cluster is not in the stack, so its session logging is unknown"
        for cluster in mine:
            conf = dig(cluster.props, "configuration", "executeCommandConfiguration")
            if dig(conf, "logging") != "OVERRIDE" or not dig(conf, "logConfiguration", "cloudWatchLogGroupName"):
                yield (f"ECS Exec is on, but cluster '{cluster.name}' does not log the sessions to CloudWatch: "
                       "executeCommandConfiguration logging=OVERRIDE with a cloudWatchLogGroupName")
            elif not is_true(dig(conf, "logConfiguration", "cloudWatchEncryptionEnabled")):
                yield f"ECS Exec session logs of cluster '{cluster.name}' are not encrypted: cloudWatchEncryptionEnabled"
            if not dig(conf, "kmsKeyId"):
                yield f"ECS Exec sessions of cluster '{cluster.name}' are not encrypted with the stack's key: kmsKeyId"

    check_each(of_type(args, [tokens.ECS_SERVICE]), check, report_violation)


def _statement_actions(policy: Any) -> list[str]:
    actions: list[str] = []
    for statement in items(dig(parse_json(policy), "Statement")) or [dig(parse_json(policy), "Statement")]:
        if dig(statement, "Effect") == "Allow":
            action = dig(statement, "Action")
            actions += [str(a) for a in (items(action) or [action]) if a]
    return actions


def _exec_permissions_only_where_on(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """The ssmmessages channels ECS Exec needs are granted only to the task role of a service that has exec on."""
    tasks, services = of_type(args, [tokens.ECS_TASK_DEFINITION]), of_type(args, [tokens.ECS_SERVICE])

    def check(policy: PolicyResource) -> Iterator[str]:
        granted = [a for a in _statement_actions(policy.props.get("policy")) if EXEC_ACTION.match(a)]
        if not granted:
            return
        roles = [r for r in of_type(args, [tokens.IAM_ROLE]) if refers_to(policy, "role", r)]
        users = [s for t in tasks for r in roles if refers_to(t, "taskRoleArn", r)
                 for s in services if refers_to(s, "taskDefinition", t)]
        if not any(_exec_on(s) for s in users):
            yield (f"grants {', '.join(sorted(set(granted)))} (ECS Exec) to a role no exec-enabled service runs "
                   "with: grant it only where enableExecuteCommand is on")

    check_each(of_type(args, [tokens.IAM_ROLE_POLICY]), check, report_violation)


# ------------------------------------------------------------------------------------------------------------ ALB


def _application(props: Mapping[str, Any]) -> bool:
    return (props.get("loadBalancerType") or "application") == "application"


def _drop_invalid_headers(args: ResourceValidationArgs) -> Iterator[str]:
    if _application(args.props) and not is_true(args.props.get("dropInvalidHeaderFields")):
        yield "invalid HTTP headers reach the services: set drop_invalid_header_fields=True"


def _alb_deletion_protection(args: ResourceValidationArgs) -> Iterator[str]:
    if is_production(args.get_config()) and not is_true(args.props.get("enableDeletionProtection")):
        yield "a production load balancer can be deleted: set enable_deletion_protection=True"


def _https_tls_policy(args: ResourceValidationArgs) -> Iterator[str]:
    if args.props.get("protocol") != "HTTPS":
        return
    policy = args.props.get("sslPolicy")
    if not TLS12_POLICY.match(str(policy or "")):
        yield (f"TLS policy {policy or 'ELBSecurityPolicy-2016-08 (the default)'} allows TLS before 1.2: use "
               "ELBSecurityPolicy-TLS13-1-2-2021-06")
    if not args.props.get("certificateArn"):
        yield "an HTTPS listener without a certificate"


def redirects_to_https(action: Any) -> bool:
    return dig(action, "type") == "redirect" and dig(action, "redirect", "protocol") == "HTTPS"


def _http_redirects_only(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    production = is_production(args.get_config())

    def check_balancer(balancer: PolicyResource) -> Iterator[str]:
        listeners = referring(args, tokens.LISTENER, "loadBalancerArn", balancer)
        if production and not any(listener.props.get("protocol") == "HTTPS" for listener in listeners):
            yield "a production load balancer without an HTTPS listener"

    def check_listener(listener: PolicyResource) -> Iterator[str]:
        if (listener.props.get("protocol") or "HTTP") != "HTTP":  # HTTPS, or a network load balancer's TCP/TLS/UDP
            return
        siblings = [other for balancer in of_type(args, tokens.LOAD_BALANCER)
                    if refers_to(listener, "loadBalancerArn", balancer)
                    for other in referring(args, tokens.LISTENER, "loadBalancerArn", balancer)]
        # Plain HTTP is a choice (proxy.allowHttp) only outside production and only where there is no HTTPS at all.
        if not production and not any(s.props.get("protocol") == "HTTPS" for s in siblings):
            return
        if not all(redirects_to_https(a) for a in items(listener.props.get("defaultActions"))):
            yield f"port {listener.props.get('port')} serves plain HTTP: its default action must redirect to HTTPS"
        for rule in referring(args, tokens.LISTENER_RULE, "listenerArn", listener):
            if not all(redirects_to_https(a) for a in items(rule.props.get("actions"))):
                yield f"listener rule '{rule.name}' forwards plain HTTP: rules belong on the HTTPS listener"

    check_each([b for b in of_type(args, tokens.LOAD_BALANCER) if _application(mapping(b.props))], check_balancer,
               report_violation)
    check_each(of_type(args, tokens.LISTENER), check_listener, report_violation)


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    resource_policy("ecs-containers-not-privileged", "ECS containers never run privileged.",
                    [tokens.ECS_TASK_DEFINITION], _not_privileged),
    resource_policy("ecs-secrets-not-in-environment", "Credentials reach ECS containers through `secrets` "
                    "(Secrets Manager), never plain `environment`.", [tokens.ECS_TASK_DEFINITION],
                    _secrets_not_in_environment),
    resource_policy("ecs-awslogs", "Every ECS container logs to CloudWatch with the awslogs driver.",
                    [tokens.ECS_TASK_DEFINITION], _awslogs),
    resource_policy("ecs-task-role-separate", "An ECS task's role is not its execution role.",
                    [tokens.ECS_TASK_DEFINITION], _separate_roles),
    resource_policy("ecs-service-no-public-ip", "ECS services run without public IP addresses.",
                    [tokens.ECS_SERVICE], _no_public_ip),
    resource_policy("ecs-container-insights", "ECS clusters have Container Insights on.", [tokens.ECS_CLUSTER],
                    _container_insights),
    StackValidationPolicy(name="ecs-exec-sessions-logged", description="ECS Exec sessions are logged to CloudWatch, "
                          "encrypted, and encrypted in transit with the stack's KMS key.", validate=_exec_sessions_logged),
    StackValidationPolicy(name="ecs-exec-permissions-only-where-on", description="Only the task role of a service "
                          "with ECS Exec on may open Session Manager channels (ssmmessages).",
                          validate=_exec_permissions_only_where_on),
    resource_policy("alb-drop-invalid-headers", "Application load balancers drop invalid HTTP header fields.",
                    tokens.LOAD_BALANCER, _drop_invalid_headers),
    resource_policy("alb-deletion-protection", "Production load balancers have deletion protection.",
                    tokens.LOAD_BALANCER, _alb_deletion_protection, PRODUCTION_SCHEMA),
    resource_policy("alb-https-tls-policy", "HTTPS listeners have a certificate and a TLS 1.2+ security policy.",
                    tokens.LISTENER, _https_tls_policy),
    StackValidationPolicy(name="alb-http-redirects-only", description="Plain HTTP listeners only redirect to HTTPS "
                          "(outside production, a load balancer with no HTTPS at all may serve HTTP: proxy.allowHttp).",
                          validate=_http_redirects_only, config_schema=PRODUCTION_SCHEMA),
]
