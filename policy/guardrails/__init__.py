"""twinstack's guardrails: the security baseline of docs/architecture.md as CrossGuard policies, for both backends.

Every policy is mandatory: a violation stops `pulumi preview` and `pulumi up`. Run them with

    pulumi preview --stack <stack> --policy-pack policy

Which stack is production: `rds-production-safeguards`, `stateful-resources-protected`, `alb-deletion-protection` and
`alb-http-redirects-only` tighten in production. They read `twinstack:environment` from the stack's config (the CLI
passes a policy pack the stack's config), or, when it is unset, apply config/load.py's default (a stack named
`prod*` is production). A policy config file can say it outright, per policy, for CLIs that do not pass stack config:
`--policy-pack-config prod.json` with `{"rds-production-safeguards": {"production": true}, ...}`.

Policies that span resources (an S3 bucket and its separate public-access-block, encryption, versioning, ownership and
policy resources; an RDS instance and its parameter group; an ALB and its listeners; a data store and its security
groups; a container and its networks) are stack policies and link resources through their recorded property
dependencies, which are known even in a preview.
"""

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from . import aws_compute, aws_data, aws_limits, aws_network, budget, docker

POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    *aws_data.POLICIES,
    *aws_compute.POLICIES,
    *aws_network.POLICIES,
    *aws_limits.POLICIES,
    *budget.POLICIES,
    *docker.POLICIES,
]
