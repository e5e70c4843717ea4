"""SecretStore: every app secret in Secrets Manager, handed to ECS as `valueFrom` pinned to the current version.

The reference is `<secret arn>:<json key>::<version id>`. Pinning the version id means a rotation (a new value, so a
new version) changes the task definitions of exactly the services that use that secret, and `pulumi up` rolls only
those services. Data parts store their connection URLs the same way, through `keep_secret`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.site import Site
from components.contracts import SecretEnv


def keep_secret(name: str, site: Site, path: str, value: pulumi.Input[str], parent: pulumi.Resource,
                description: str) -> tuple[aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion]:
    """One secret (named `<prefix>/<path>-<random>`) and its current version, encrypted with the stack key."""
    child = pulumi.ResourceOptions(parent=parent)
    secret = aws.secretsmanager.Secret(
        name, name_prefix=f"{site.prefix}/{path}-", description=description, kms_key_id=site.key.arn,
        recovery_window_in_days=site.secret_recovery_days, opts=child)
    version = aws.secretsmanager.SecretVersion(
        f"{name}-version", secret_id=secret.id, secret_string=pulumi.Output.secret(value), opts=child)
    return secret, version


def secret_ref(secret: aws.secretsmanager.Secret, version: aws.secretsmanager.SecretVersion,
               json_key: str = "") -> pulumi.Output[str]:
    """The ECS `valueFrom` for one value of a secret, pinned to its version."""
    return pulumi.Output.concat(secret.arn, ":", json_key, "::", version.version_id)


def secret_arn(reference: pulumi.Input[str]) -> pulumi.Output[str]:
    """The secret's ARN inside a `valueFrom` reference (what IAM policies grant): all but its last three fields."""
    return pulumi.Output.from_input(reference).apply(lambda ref: ref.rsplit(":", 3)[0])


@dataclass(frozen=True)
class SecretStoreArgs:
    site: Site
    values: Mapping[str, pulumi.Output[str]]  # {env var: value} of every app secret a service uses


class SecretStore(pulumi.ComponentResource):
    """Each app secret (generated or user-provided) once, for every service that uses it."""

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:SecretStore", name, None, opts)
        site, values = args.site, args.values
        self.secrets: dict[str, aws.secretsmanager.Secret] = {}
        self.env: dict[str, SecretEnv] = {}
        for env_name in sorted(values):
            secret, version = keep_secret(
                f"{name}-{env_name.lower().replace('_', '-')}", site, f"app/{env_name}", values[env_name], self,
                f"{env_name} for the services of {site.prefix}")
            self.secrets[env_name] = secret
            self.env[env_name] = SecretEnv(value=pulumi.Output.secret(values[env_name]),
                                           reference=secret_ref(secret, version))
        self.register_outputs({"secretArns": {k: s.arn for k, s in self.secrets.items()}})
