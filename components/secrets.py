"""Generated secrets, the same on both backends, each rotated by bumping a counter in config.

`pulumi config set --path twinstack:rotation.database 2` changes the password's keeper, so the next `pulumi up`
replaces that RandomPassword; everything built from its value (the RDS master password, the Secrets Manager version,
container env, task definitions) changes with it, and nothing else does.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_random as random

from config.model import StackConfig
from config.parts import WITH_PASSWORD


def rotations(stack: StackConfig) -> dict[str, int]:
    """Every secret the stack generates, with its rotation counter: one password per configured part kind that has
    one (named, and rotated, after the part), then each name in twinstack:generatedSecrets."""
    wanted = [p for p in WITH_PASSWORD if stack.part(p) is not None] + list(stack.generated_secrets)
    return {key: stack.rotation_of(key) for key in wanted}


class GeneratedSecrets(pulumi.ComponentResource):
    """One RandomPassword per secret in `rotations` (name -> rotation counter)."""

    def __init__(self, name: str, rotations: Mapping[str, int], opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:secrets:GeneratedSecrets", name, None, opts)
        self.passwords: dict[str, random.RandomPassword] = {
            key: random.RandomPassword(
                f"{name}-{key.lower().replace('_', '-')}",
                length=32,
                # URL-safe only: the values end up inside postgresql://, rediss:// and amqps:// URLs, and RDS,
                # ElastiCache and Amazon MQ each reject some punctuation.
                special=False,
                min_lower=4,
                min_upper=4,
                min_numeric=4,
                keepers={"rotation": str(counter)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key, counter in rotations.items()
        }
        self.values: dict[str, pulumi.Output[str]] = {k: p.result for k, p in self.passwords.items()}
        self.register_outputs({"names": sorted(self.passwords)})

    def value(self, key: str) -> pulumi.Output[str]:
        return self.values[key]
