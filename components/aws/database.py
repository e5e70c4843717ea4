"""Database: RDS PostgreSQL in the private subnets, TLS forced, encrypted, backed up, and protected in production.

Stateful resources carry fixed logical names (`<part>-instance`, never a service name) and a fixed identifier
(`<prefix>-postgres`), so renaming or adding services never plans a replacement; `protect` blocks a delete
outright wherever `protectData` holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.aws import defaults
from components.aws.policy import assume_role
from components.aws.secret_store import keep_secret, secret_ref
from components.aws.site import Site
from components.contracts import Binding, SecretEnv, postgres_url
from config import model
from config.model import StackConfig

if TYPE_CHECKING:
    from components.aws.network import Network

PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
# Extensions whose library must be preloaded before CREATE EXTENSION works (pgvector's `vector` needs nothing).
# pg_stat_statements is in RDS's default list, so it stays whenever the list is set.
PRELOADED = ("pg_stat_statements", "pg_cron", "pgaudit", "pg_hint_plan", "pglogical", "pg_tle")


def preload_libraries(extensions: list[str]) -> list[str]:
    needed = [e for e in PRELOADED if e in extensions]
    return ["pg_stat_statements", *(e for e in needed if e != "pg_stat_statements")] if needed else []


@dataclass(frozen=True)
class DatabaseArgs:
    settings: model.Database
    password: pulumi.Output[str]
    site: Site
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets, one per AZ
    security_group_id: pulumi.Input[str]  # the data tier's group for PostgreSQL: admits the app tier only
    multi_az: bool


def build(name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Database | None:
    """The adapter: the RDS instance's arguments from the stack (Multi-AZ by environment, components/aws/defaults)."""
    if stack.database is None:
        return None
    assert password is not None
    return Database(name, DatabaseArgs(
        settings=stack.database, password=password, site=network.site, subnet_ids=network.private_subnet_ids,
        security_group_id=network.data_groups["database"].id, multi_az=defaults.db_multi_az(stack)), opts)


class Database(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Database", name, None, opts)
        db, password = args.settings, args.password
        self.extensions: list[str] = list(db.extensions)
        self.identifier = f"{args.site.prefix}-postgres"
        self.operations = {"identifier": self.identifier}  # the RDS instance to snapshot and restore (tools/ops.py)

        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                      description=f"{args.site.prefix} PostgreSQL: private subnets only",
                                      opts=pulumi.ResourceOptions(parent=self))
        self.parameter_group = self._parameter_group(name, args)
        monitoring_role, attachment = self._monitoring_role(name, args)
        log_groups = self._log_groups(name, args)
        self.instance = self._instance(name, args, subnets, monitoring_role,
                                       depends_on=[attachment, *log_groups])

        self.url: pulumi.Output[str] = postgres_url(db.username, password, self.instance.address, PORT, db.name,
                                                    tls=True)
        secret, version = keep_secret(
            f"{name}-connection", args.site, "database",
            pulumi.Output.json_dumps({"url": self.url, "password": password}), self,
            f"{args.site.prefix} PostgreSQL: DATABASE_URL and PGPASSWORD")
        self.secret = secret
        self.binding = Binding(
            env={"PGHOST": self.instance.address, "PGPORT": str(PORT), "PGDATABASE": db.name, "PGUSER": db.username},
            secrets={
                "DATABASE_URL": SecretEnv(value=self.url, reference=secret_ref(secret, version, "url")),
                "PGPASSWORD": SecretEnv(value=pulumi.Output.secret(password),
                                        reference=secret_ref(secret, version, "password")),
            },
            depends_on=[self.instance],
        )
        self.register_outputs({"url": self.url, "address": self.instance.address, "identifier": self.identifier,
                               "extensions": self.extensions, "secretArn": secret.arn})

    def _parameter_group(self, name: str, args: DatabaseArgs) -> aws.rds.ParameterGroup:
        """TLS forced, and the libraries the extensions need preloaded (pg_cron in the app's database)."""
        db = args.settings
        parameters = [{"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"}]
        libraries = preload_libraries(self.extensions)
        if libraries:
            parameters.append({"name": "shared_preload_libraries", "value": ",".join(libraries),
                               "apply_method": "pending-reboot"})
        if "pg_cron" in self.extensions:
            parameters.append({"name": "cron.database_name", "value": db.name, "apply_method": "pending-reboot"})
        return aws.rds.ParameterGroup(
            f"{name}-params", family=f"postgres{db.version}", parameters=parameters,
            description=f"{args.site.prefix} PostgreSQL {db.version}: TLS only",
            opts=pulumi.ResourceOptions(parent=self))

    def _monitoring_role(self, name: str, args: DatabaseArgs) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        """The role RDS enhanced monitoring publishes OS metrics with, and its managed policy."""
        account, child = args.site.account, pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-monitoring-role", description="RDS enhanced monitoring",
            assume_role_policy=assume_role("monitoring.rds.amazonaws.com", account.id), opts=child)
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy", role=role.id,
            policy_arn=pulumi.Output.concat("arn:", account.partition,
                                            ":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"),
            opts=child)
        return role, attachment

    def _log_groups(self, name: str, args: DatabaseArgs) -> list[aws.cloudwatch.LogGroup]:
        """RDS would create these on first export and keep them forever; created first, they get retention and the
        key."""
        site = args.site
        return [
            aws.cloudwatch.LogGroup(f"{name}-{log}-logs", name=f"/aws/rds/instance/{self.identifier}/{log}",
                                    retention_in_days=site.log_retention_days, kms_key_id=site.key.arn,
                                    opts=pulumi.ResourceOptions(parent=self))
            for log in LOG_EXPORTS
        ]

    def _instance(self, name: str, args: DatabaseArgs, subnets: aws.rds.SubnetGroup, monitoring_role: aws.iam.Role,
                  depends_on: list[pulumi.Resource]) -> aws.rds.Instance:
        """The PostgreSQL instance: private, encrypted with the stack key, backed up, and protected where data is."""
        db, site = args.settings, args.site
        tags = {"twinstack:pgExtensions": " ".join(self.extensions)} if self.extensions else {}
        # A restore (docs/operations.md): the instance is created again from the snapshot. Its identifier is fixed, so
        # the old one is deleted first (with its final snapshot where data is protected). Without the key, a change
        # of snapshotIdentifier is ignored, so removing the key after a restore changes nothing.
        restore = db.restore_from_snapshot
        protect = site.protect_data and not db.allow_protected_replacement
        if site.protect_data and db.allow_protected_replacement:
            tags["twinstack:allowProtectedReplacement"] = "true"  # the policy pack's sign that this was asked for
        return aws.rds.Instance(
            f"{name}-instance",
            identifier=self.identifier,
            engine="postgres",
            # A major version only: RDS picks the newest minor and auto_minor_version_upgrade keeps it current.
            engine_version=db.version,
            instance_class=db.instance_class,
            db_name=db.name,
            username=db.username,
            password=args.password,
            port=PORT,
            db_subnet_group_name=subnets.id,
            vpc_security_group_ids=[args.security_group_id],
            parameter_group_name=self.parameter_group.id,
            publicly_accessible=False,
            storage_type="gp3",
            allocated_storage=db.allocated_storage_gb,
            max_allocated_storage=db.max_allocated_storage_gb,
            storage_encrypted=True,
            kms_key_id=site.key.arn,
            multi_az=args.multi_az,
            backup_retention_period=db.backup_retention_days,
            backup_window="03:00-03:30",
            maintenance_window="sun:04:00-sun:05:00",
            copy_tags_to_snapshot=True,
            delete_automated_backups=not site.protect_data,
            deletion_protection=protect,
            skip_final_snapshot=not site.protect_data,
            final_snapshot_identifier=f"{self.identifier}-final" if site.protect_data else None,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            performance_insights_enabled=db.performance_insights,
            performance_insights_kms_key_id=site.key.arn if db.performance_insights else None,
            performance_insights_retention_period=7 if db.performance_insights else None,
            monitoring_interval=60,
            monitoring_role_arn=monitoring_role.arn,
            # Password auth stays (the contract's DATABASE_URL); IAM auth is there for humans and future services.
            iam_database_authentication_enabled=True,
            snapshot_identifier=restore,
            tags=tags or None,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=depends_on,
                                        ignore_changes=None if restore else ["snapshotIdentifier"],
                                        delete_before_replace=True if restore else None),
        )
