"""The CrossGuard policy pack: `pulumi preview --stack <stack> --policy-pack policy` (see guardrails/__init__.py)."""

from guardrails import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="twinstack-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
    description="twinstack's security baseline (docs/architecture.md) for the docker and aws backends.",
)
