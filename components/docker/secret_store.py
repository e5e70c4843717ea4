"""App secrets on the docker backend: there is no secret service on a laptop engine, so values go straight into
the containers' env, kept secret in Pulumi state and outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.contracts import SecretEnv


@dataclass(frozen=True)
class SecretStoreArgs:
    values: Mapping[str, pulumi.Input[str]]  # each app secret's value (generated or user-provided), by name


class SecretStore(pulumi.ComponentResource):
    """Each app secret as one `SecretEnv`, the same contract aws fills from Secrets Manager. Rotation needs nothing
    here: a new generated value changes the env of exactly the containers using it.
    """

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:SecretStore", name, None, opts)
        self.env: dict[str, SecretEnv] = {
            key: SecretEnv(value=pulumi.Output.secret(value)) for key, value in sorted(args.values.items())
        }
        self.register_outputs({"names": sorted(self.env)})
