"""App secrets on the docker backend: there is no secret service on a laptop engine, so values go straight into
the containers' env, kept secret in Pulumi state and outputs."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.contracts import SecretEnv
from config.model import StackConfig


class SecretStore(pulumi.ComponentResource):
    """Each app secret (generated or user-provided) as one `SecretEnv`, the same contract aws fills from Secrets
    Manager. Rotation needs nothing here: a new generated value changes the env of exactly the containers using it.
    """

    def __init__(self, name: str, stack: StackConfig, values: Mapping[str, pulumi.Input[str]],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:SecretStore", name, None, opts)
        self.env: dict[str, SecretEnv] = {
            key: SecretEnv(value=pulumi.Output.secret(value)) for key, value in sorted(values.items())
        }
        self.register_outputs({"names": sorted(self.env)})
