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

import pulumi
import pulumi_aws as aws

from components.aws import defaults
from components.aws.image import Image
from components.aws.policy import assume_role, document
from components.aws.rules import MIGRATION_CONTAINER
from components.aws.secret_store import secret_arn
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
from config.model import StackConfig

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


class Service(pulumi.ComponentResource):
    def __init__(self, name: str, stack: StackConfig, svc: model.Service, network, cluster: aws.ecs.Cluster,
                 namespace: aws.servicediscovery.HttpNamespace, parts: Mapping[str, pulumi.Resource],
                 bindings: Mapping[str, Binding], secrets: Mapping[str, SecretEnv], proxy,
                 after: Sequence[pulumi.Resource], image: Image | None = None, wait_until_stable: bool = False,
                 opts: pulumi.ResourceOptions | None = None, exec_logs: aws.cloudwatch.LogGroup | None = None):
        super().__init__("twinstack:aws:Service", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix, account, key = stack.name_prefix, network.account, network.key

        image_ref: pulumi.Input[str] = image.ref if image else svc.image  # type: ignore[assignment]

        env = assemble_env(svc, bindings, secrets, self)
        plain = env.plain
        refs = {k: s.reference for k, s in env.secrets.items()}
        missing = [k for k, ref in refs.items() if ref is None]
        if missing:
            raise ValueError(f"{svc.name}: no Secrets Manager reference for {', '.join(missing)}")

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/twinstack/{prefix}/services/{svc.name}",
            retention_in_days=stack.monitoring.log_retention_days, kms_key_id=key.arn, opts=child)

        # --- execution role: what ECS itself needs to start the task
        self.execution_role = aws.iam.Role(
            f"{name}-execution-role", description=f"ECS starts {prefix}/{svc.name}: its image, logs and secrets",
            assume_role_policy=assume_role("ecs-tasks.amazonaws.com", account.id), opts=child)
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
                 "Resource": key.arn, "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                     "secretsmanager.", account.region, ".amazonaws.com")}}},
            ]
        execution_policy = aws.iam.RolePolicy(f"{name}-execution-policy", role=self.execution_role.id,
                                              policy=document(statements), opts=child)

        # --- task role: what the app may call, only where there is something to grant. A role with no policy would
        # hand the app credentials good for nothing; without one, its tasks get no AWS credentials at all.
        self.task_role: aws.iam.Role | None = None
        task_policies: list[pulumi.Resource] = []
        storage = parts.get("storage")
        uses_storage = "storage" in svc.uses and storage is not None and storage.task_policy is not None
        # ECS Exec (`make shell`): the task's SSM agent opens its channels with the task role, writes the session
        # log to the cluster's exec log group and decrypts the session with the stack's key. Only where it is on.
        self.exec_enabled = defaults.exec_enabled(stack, svc) and exec_logs is not None
        if uses_storage or self.exec_enabled:
            self.task_role = aws.iam.Role(
                f"{name}-task-role", description=f"The {prefix}/{svc.name} app's own AWS permissions",
                assume_role_policy=assume_role("ecs-tasks.amazonaws.com", account.id), opts=child)
        if uses_storage and self.task_role is not None:
            task_policies.append(aws.iam.RolePolicy(f"{name}-storage-policy", role=self.task_role.id,
                                                    policy=storage.task_policy, opts=child))  # type: ignore[union-attr]
        if self.exec_enabled and self.task_role is not None and exec_logs is not None:
            task_policies.append(aws.iam.RolePolicy(f"{name}-exec-policy", role=self.task_role.id, policy=document([
                {"Sid": "ExecSessionChannels", "Effect": "Allow", "Action": EXEC_CHANNEL_ACTIONS, "Resource": "*"},
                {"Sid": "ExecSessionLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups",
                 "Resource": account.arn("logs", "log-group:*")},
                {"Sid": "ExecSessionLog", "Effect": "Allow",
                 "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                 "Resource": pulumi.Output.concat(exec_logs.arn, ":log-stream:*")},
                # the task's SSM agent calls KMS itself, not through another service: no kms:ViaService to pin
                {"Sid": "ExecSessionKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn},
            ]), opts=child))

        definitions = pulumi.Output.all(image_ref, plain, refs, self.log_group.name, account.region).apply(
            lambda a: container_definitions(svc, a[0], a[1], a[2], a[3], a[4]))
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=f"{prefix}-{svc.name}",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(svc.cpu),
            memory=str(svc.memory),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": ARCHITECTURES[svc.architecture]},
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn if self.task_role is not None else None,
            container_definitions=definitions,
            volumes=[{"name": v} for v in dict.fromkeys(v for v, _, _ in task_volumes(svc))],
            opts=child,
        )

        target_group = proxy.target_groups.get(svc.name)
        hc = svc.health_check
        autoscaling = svc.autoscaling
        self.service = aws.ecs.Service(
            f"{name}-service",
            name=svc.name,
            cluster=cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=autoscaling.min if autoscaling else svc.replicas,
            launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration={"subnets": network.private_subnet_ids,
                                   "security_groups": [network.security_groups["app"].id],
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
                "namespace": namespace.arn,
                # The short name answers exactly as in dev: http://<service>:<port>. A worker is a client only: it
                # reaches the others by their names and offers no endpoint of its own.
                "services": [{"port_name": svc.name, "discovery_name": svc.name,
                              "client_alias": [{"port": svc.port, "dns_name": svc.name}]}]
                if svc.port is not None else None,
                "log_configuration": {"log_driver": "awslogs", "options": {
                    "awslogs-group": self.log_group.name, "awslogs-region": account.region,
                    "awslogs-stream-prefix": "service-connect"}},
            },
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            enable_execute_command=self.exec_enabled,
            # Like Compose's `service_healthy`: a service others depend on counts as created once its tasks are
            # healthy, so the dependents start after it, not merely after its definition.
            wait_for_steady_state=wait_until_stable,
            opts=pulumi.ResourceOptions(
                parent=self,
                # ECS rejects a target group that no listener rule uses yet; roles must hold their policies first.
                depends_on=[*proxy.listener_rules.get(svc.name, []), execution_policy, *task_policies, *after],
                # Autoscaling owns the task count once it is on; a deploy must not reset it.
                ignore_changes=["desiredCount"] if autoscaling else None,
            ),
        )

        if autoscaling:
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

        self.internal_url = ServiceEndpoint(svc.name, svc.port).internal_url if svc.port is not None else None
        # What `tools/ops.py` needs to reach this service (the stack's `operations` output): no secret in it.
        self.operations: dict[str, pulumi.Input] = {
            "backend": "aws", "region": account.region, "cluster": cluster.name, "service": self.service.name,
            "taskDefinitionFamily": self.task_definition.family, "container": svc.name,
            "logGroup": self.log_group.name, "logGroupArn": self.log_group.arn, "logStreamPrefix": "app",
            "subnets": network.private_subnet_ids, "securityGroups": [network.security_groups["app"].id],
            "exec": self.exec_enabled,
        }
        self.register_outputs({"internalUrl": self.internal_url, "taskDefinition": self.task_definition.arn,
                               "logGroup": self.log_group.name, "image": image_ref})
