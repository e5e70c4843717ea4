"""Service: one app service on Fargate: log group, roles, task definition (with its migration as an init container),
ECS service in the private subnets with Service Connect, and target-tracking autoscaling.

Secrets reach the container only through `secrets[].valueFrom` (pinned Secrets Manager versions); `environment`
holds plain settings only. The execution role may read exactly the secrets this service uses and write its own logs;
the task role (what the app itself may call) gets the workspace bucket when the service uses storage and ECS Exec's
session channels where exec is on (docs/operations.md), nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.image import Image
from components.aws.policy import assume_role, document
from components.aws.rules import MIGRATION_CONTAINER
from components.aws.secret_store import secret_arn
from components.aws.site import Site
from components.contracts import (
    PREPARE_VOLUMES,
    Binding,
    SecretEnv,
    ServiceEndpoint,
    assemble_env,
    health_test,
    volume_preparation,
)
from config import model

ARCHITECTURES = {"x86_64": "X86_64", "arm64": "ARM64"}
# What ECS Exec's SSM agent calls with the task role (AmazonECS/latest/developerguide/ecs-exec.html)
EXEC_CHANNEL_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
TMP_VOLUME = "tmp"


def health_check(svc: model.Service) -> dict:
    """The container health check ECS runs (contracts.health_test: the same command docker runs)."""
    hc = svc.health_check
    return {"command": health_test(hc, svc.port), "interval": hc.interval_seconds, "timeout": hc.timeout_seconds,
            "retries": hc.retries, "startPeriod": hc.start_period_seconds}


def task_volumes(svc: model.Service) -> list[tuple[str, str, bool]]:
    """(volume, container path, read-only): Fargate ephemeral volumes for the writable paths a read-only root needs
    and for the service's shared volumes (which on Fargate are private to the task)."""
    mounts = [(v.name, v.path, v.read_only) for v in svc.volumes]
    if svc.read_only_root_filesystem and all(path != "/tmp" for _, path, _ in mounts):
        mounts.append((TMP_VOLUME, "/tmp", False))
    return mounts


def container_definitions(svc: model.Service, image: str, env: Mapping[str, str], secrets: Mapping[str, str],
                          log_group: str, region: str) -> str:
    """The task's containers as ECS's JSON (`RegisterTaskDefinition.containerDefinitions`)."""

    def container(name: str, stream_prefix: str) -> dict:
        definition = {
            "name": name,
            "image": image,
            "environment": [{"name": k, "value": env[k]} for k in sorted(env)],
            "secrets": [{"name": k, "valueFrom": secrets[k]} for k in sorted(secrets)],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": stream_prefix}},
            "mountPoints": [{"sourceVolume": v, "containerPath": p, "readOnly": ro} for v, p, ro in task_volumes(svc)],
            "readonlyRootFilesystem": svc.read_only_root_filesystem,
            "privileged": False,
            "linuxParameters": {"initProcessEnabled": True},
        }
        if svc.user:
            definition["user"] = svc.user
        return definition

    main = container(svc.name, "app")
    main.update(essential=True, healthCheck=health_check(svc))
    if svc.port is not None:  # a worker listens on nothing
        main["portMappings"] = [{"name": svc.name, "containerPort": svc.port, "protocol": "tcp",
                                 **({"appProtocol": "http"} if svc.health_check.path else {})}]
    if svc.command:
        main["command"] = svc.command
    mounts = task_volumes(svc)
    prepare = volume_preparation(svc.user, [p for v, p, ro in mounts if not ro and v != TMP_VOLUME],
                                 [p for v, p, _ in mounts if v == TMP_VOLUME])
    # One-offs that must succeed, in order, before the main container starts: a failure stops the task, and the
    # deployment circuit breaker rolls the service back.
    before: list[dict] = []
    if prepare:
        # As root: task volumes start writable only by root (contracts.volume_preparation).
        preparation = container(PREPARE_VOLUMES, PREPARE_VOLUMES)
        preparation.update(user="0", entryPoint=prepare[:2], command=prepare[2:], environment=[], secrets=[])
        before.append(preparation)
    if svc.migration:
        migrate = container(MIGRATION_CONTAINER, MIGRATION_CONTAINER)
        migrate.update(command=svc.migration.command)
        before.append(migrate)
    for i, job in enumerate(before):
        job["essential"] = False
        if i:
            job["dependsOn"] = [{"containerName": before[i - 1]["name"], "condition": "SUCCESS"}]
    if before:
        main["dependsOn"] = [{"containerName": job["name"], "condition": "SUCCESS"} for job in before]
    definitions = [*before, main]
    return json.dumps(definitions, sort_keys=True)


@dataclass(frozen=True)
class ServiceArgs:
    """What one app service's task and ECS service are made of, handed over by the Services component."""

    settings: model.Service
    site: Site
    cluster: aws.ecs.Cluster
    namespace: aws.servicediscovery.HttpNamespace  # Service Connect's
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets, one per AZ
    security_group_id: pulumi.Input[str]  # the app tier's group
    bindings: Mapping[str, Binding]  # what each data part hands the services that use it
    secrets: Mapping[str, SecretEnv]  # the app secrets, by env var
    after: Sequence[pulumi.Resource]  # what must exist first: the parts it uses, the services it depends on
    image: Image | None = None  # the pushed build it runs; None where it runs `settings.image`
    storage_policy: pulumi.Input[str] | None = None  # the workspace's task policy, where the service uses storage
    target_group: aws.lb.TargetGroup | None = None  # where it is routed: the ALB's group for it
    listener_rules: Sequence[aws.lb.ListenerRule] = ()  # the rules forwarding to that group
    wait_until_stable: bool = False  # other services depend on it: created once its tasks are healthy
    exec_logs: aws.cloudwatch.LogGroup | None = None  # ECS Exec's session log group, where exec is on for it


class Service(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Service", name, None, opts)
        svc, account = args.settings, args.site.account
        image_ref = _image_ref(args)
        plain, refs = self._environment(args)
        self.log_group = self._log_group(name, args)
        self.execution_role, execution_policy = self._execution_role(name, args, refs)
        # ECS Exec (`make shell`): on where the cluster logs sessions for this service (Services decides, by `exec`).
        self.exec_enabled = args.exec_logs is not None
        self.task_role, task_policies = self._task_role(name, args)
        self.task_definition = self._task_definition(name, args, image_ref, plain, refs)
        # ECS rejects a target group that no listener rule uses yet; roles must hold their policies first.
        self.service = self._ecs_service(
            name, args, depends_on=[*args.listener_rules, execution_policy, *task_policies, *args.after])
        if svc.autoscaling:
            self._autoscaling(name, args.cluster, svc.autoscaling)

        self.internal_url = ServiceEndpoint(svc.name, svc.port).internal_url if svc.port is not None else None
        # What `tools/ops.py` needs to reach this service (the stack's `operations` output): no secret in it.
        self.operations: dict[str, pulumi.Input] = {
            "backend": "aws", "region": account.region, "cluster": args.cluster.name, "service": self.service.name,
            "taskDefinitionFamily": self.task_definition.family, "container": svc.name,
            "logGroup": self.log_group.name, "logGroupArn": self.log_group.arn, "logStreamPrefix": "app",
            "subnets": args.subnet_ids, "securityGroups": [args.security_group_id],
            "exec": self.exec_enabled,
        }
        self.register_outputs({"internalUrl": self.internal_url, "taskDefinition": self.task_definition.arn,
                               "logGroup": self.log_group.name, "image": image_ref})

    def _environment(self, args: ServiceArgs) -> tuple[Mapping[str, pulumi.Input[str]], dict[str, pulumi.Input[str]]]:
        """(plain env, {secret env var: its Secrets Manager `valueFrom`}): every secret must have a reference."""
        svc = args.settings
        env = assemble_env(svc, args.bindings, args.secrets, self)
        refs: dict[str, pulumi.Input[str]] = {}
        missing = []
        for key, secret in env.secrets.items():
            if secret.reference is None:
                missing.append(key)
            else:
                refs[key] = secret.reference
        if missing:
            raise ValueError(f"{svc.name}: no Secrets Manager reference for {', '.join(missing)}")
        return env.plain, refs

    def _log_group(self, name: str, args: ServiceArgs) -> aws.cloudwatch.LogGroup:
        site = args.site
        return aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/twinstack/{site.prefix}/services/{args.settings.name}",
            retention_in_days=site.log_retention_days, kms_key_id=site.key.arn, opts=pulumi.ResourceOptions(parent=self))

    def _execution_role(self, name: str, args: ServiceArgs,
                        refs: Mapping[str, pulumi.Input[str]]) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """What ECS itself needs to start the task: its image, its own logs, exactly the secrets it uses."""
        site, image = args.site, args.image
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-execution-role",
            description=f"ECS starts {site.prefix}/{args.settings.name}: its image, logs and secrets",
            assume_role_policy=assume_role("ecs-tasks.amazonaws.com", site.account.id), opts=child)
        statements: list[dict] = [{
            "Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": pulumi.Output.concat(self.log_group.arn, ":log-stream:*"),
        }]
        if image is not None:
            statements += [
                # AWS offers no resource-level scoping for this call; the pulls below are scoped to one repository.
                {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {"Sid": "PullOwnImage", "Effect": "Allow",
                 "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                 "Resource": image.repository.arn},
            ]
        if refs:
            statements += [
                {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                 "Resource": pulumi.Output.all(*[secret_arn(r) for r in refs.values()]).apply(
                     lambda arns: sorted(set(arns)))},
                {"Sid": "DecryptSecretsThroughSecretsManager", "Effect": "Allow", "Action": "kms:Decrypt",
                 "Resource": site.key.arn, "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                     "secretsmanager.", site.account.region, ".amazonaws.com")}}},
            ]
        policy = aws.iam.RolePolicy(f"{name}-execution-policy", role=role.id, policy=document(statements), opts=child)
        return role, policy

    def _task_role(self, name: str, args: ServiceArgs) -> tuple[aws.iam.Role | None, list[aws.iam.RolePolicy]]:
        """What the app may call, only where there is something to grant. A role with no policy would hand the app
        credentials good for nothing; without one, its tasks get no AWS credentials at all."""
        site, exec_logs = args.site, args.exec_logs
        if args.storage_policy is None and exec_logs is None:
            return None, []
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-task-role", description=f"The {site.prefix}/{args.settings.name} app's own AWS permissions",
            assume_role_policy=assume_role("ecs-tasks.amazonaws.com", site.account.id), opts=child)
        policies: list[aws.iam.RolePolicy] = []
        if args.storage_policy is not None:
            policies.append(aws.iam.RolePolicy(f"{name}-storage-policy", role=role.id, policy=args.storage_policy,
                                               opts=child))
        if exec_logs is not None:
            # ECS Exec: the task's SSM agent opens its channels with the task role, writes the session log to the
            # cluster's exec log group and decrypts the session with the stack's key.
            policies.append(aws.iam.RolePolicy(f"{name}-exec-policy", role=role.id, policy=document([
                {"Sid": "ExecSessionChannels", "Effect": "Allow", "Action": EXEC_CHANNEL_ACTIONS, "Resource": "*"},
                {"Sid": "ExecSessionLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups",
                 "Resource": site.account.arn("logs", "log-group:*")},
                {"Sid": "ExecSessionLog", "Effect": "Allow",
                 "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                 "Resource": pulumi.Output.concat(exec_logs.arn, ":log-stream:*")},
                # the task's SSM agent calls KMS itself, not through another service: no kms:ViaService to pin
                {"Sid": "ExecSessionKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": site.key.arn},
            ]), opts=child))
        return role, policies

    def _task_definition(self, name: str, args: ServiceArgs, image_ref: pulumi.Input[str],
                         plain: Mapping[str, pulumi.Input[str]],
                         refs: Mapping[str, pulumi.Input[str]]) -> aws.ecs.TaskDefinition:
        svc, site = args.settings, args.site
        definitions = pulumi.Output.all(image_ref, plain, refs, self.log_group.name, site.account.region).apply(
            lambda a: container_definitions(svc, a[0], a[1], a[2], a[3], a[4]))
        return aws.ecs.TaskDefinition(
            f"{name}-task",
            family=f"{site.prefix}-{svc.name}",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(svc.cpu),
            memory=str(svc.memory),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": ARCHITECTURES[svc.architecture]},
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn if self.task_role is not None else None,
            container_definitions=definitions,
            volumes=[{"name": v} for v in dict.fromkeys(v for v, _, _ in task_volumes(svc))],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _ecs_service(self, name: str, args: ServiceArgs, depends_on: list[pulumi.Resource]) -> aws.ecs.Service:
        """The ECS service in the private subnets, behind its target group where it is routed, named in Service
        Connect."""
        svc, target_group = args.settings, args.target_group
        hc = svc.health_check
        autoscaling = svc.autoscaling
        return aws.ecs.Service(
            f"{name}-service",
            name=svc.name,
            cluster=args.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=autoscaling.min if autoscaling else svc.replicas,
            launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration={"subnets": args.subnet_ids, "security_groups": [args.security_group_id],
                                   "assign_public_ip": False},
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            load_balancers=[{"target_group_arn": target_group.arn, "container_name": svc.name,
                             "container_port": svc.port}] if target_group else None,
            health_check_grace_period_seconds=(hc.start_period_seconds + hc.interval_seconds * hc.retries
                                               if target_group else None),
            service_connect_configuration={
                "enabled": True,
                "namespace": args.namespace.arn,
                # The short name answers exactly as in dev: http://<service>:<port>. A worker is a client only: it
                # reaches the others by their names and offers no endpoint of its own.
                "services": [{"port_name": svc.name, "discovery_name": svc.name,
                              "client_alias": [{"port": svc.port, "dns_name": svc.name}]}]
                if svc.port is not None else None,
                "log_configuration": {"log_driver": "awslogs", "options": {
                    "awslogs-group": self.log_group.name, "awslogs-region": args.site.account.region,
                    "awslogs-stream-prefix": "service-connect"}},
            },
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            enable_execute_command=self.exec_enabled,
            # Like Compose's `service_healthy`: a service others depend on counts as created once its tasks are
            # healthy, so the dependents start after it, not merely after its definition.
            wait_for_steady_state=args.wait_until_stable,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                # Autoscaling owns the task count once it is on; a deploy must not reset it.
                ignore_changes=["desiredCount"] if autoscaling else None,
            ),
        )

    def _autoscaling(self, name: str, cluster: aws.ecs.Cluster, autoscaling: model.Autoscaling) -> None:
        """Target tracking on CPU and/or memory between `autoscaling.min` and `.max` tasks."""
        child = pulumi.ResourceOptions(parent=self)
        target = aws.appautoscaling.Target(
            f"{name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", cluster.name, "/", self.service.name),
            min_capacity=autoscaling.min, max_capacity=autoscaling.max, opts=child)
        metrics = {"cpu": ("ECSServiceAverageCPUUtilization", autoscaling.cpu_target),
                   "memory": ("ECSServiceAverageMemoryUtilization", autoscaling.memory_target)}
        for metric, (predefined, target_value) in metrics.items():
            if target_value is None:
                continue
            aws.appautoscaling.Policy(
                f"{name}-{metric}-scaling", policy_type="TargetTrackingScaling",
                resource_id=target.resource_id, scalable_dimension=target.scalable_dimension,
                service_namespace=target.service_namespace,
                target_tracking_scaling_policy_configuration={
                    "predefined_metric_specification": {"predefined_metric_type": predefined},
                    "target_value": target_value, "scale_in_cooldown": 300, "scale_out_cooldown": 60},
                opts=child)


def _image_ref(args: ServiceArgs) -> pulumi.Input[str]:
    """What the task runs: the pushed build's digest, or the configured image."""
    if args.image is not None:
        return args.image.ref
    assert args.settings.image is not None  # model.Service: exactly one of `image` and `build`
    return args.settings.image
