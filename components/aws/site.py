"""Site: what every AWS part of one stack shares, handed to each component in its narrow arguments.

Built once by the adapter (`components/aws/__init__.py`) from the stack's config and the network, which creates the
stack's KMS key and reads the account: a component gets these facts, not the whole StackConfig.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.aws.key import StackKey
from components.aws.policy import Account


@dataclass(frozen=True)
class Site:
    prefix: str  # twinstack:namePrefix: the start of every physical name
    production: bool
    protect_data: bool  # protect stateful resources, keep final snapshots, keep deleted secrets 30 days
    log_retention_days: int
    key: StackKey  # encrypts the stack's secrets, logs, topic and data at rest
    account: Account

    @property
    def secret_recovery_days(self) -> int:
        """How long a deleted secret can still be restored: the longest Secrets Manager allows where data matters."""
        return 30 if self.protect_data else 7
