"""Refresh `components/aws/shapes.json`: the botocore shapes whose min/max/pattern the AWS rules read.

    python -m tools.aws_shapes          # rewrite the snapshot from the installed botocore
    python -m tools.aws_shapes --check  # exit 1 if the snapshot differs from the installed botocore

The AWS backend reads the snapshot, not botocore: the program then needs no botocore at `pulumi up`, and the policy
pack (its own small environment) reads the same numbers. `tests/test_aws_rules.py` checks the snapshot against
botocore's service models, so a botocore upgrade that changes a limit fails the tests until the snapshot is refreshed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent.parent / "components" / "aws" / "shapes.json"
# service -> shapes, as botocore names them (service-2.json of each service)
WANTED = {
    "acm": ["DomainNameString"],
    "application-autoscaling": ["PolicyName"],
    "cloudwatch": ["AlarmName", "AlarmDescription"],
    "ecr": ["RepositoryName"],
    "elbv2": ["Path", "RulePriority", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
              "HealthCheckThresholdCount"],
    "iam": ["roleNameType", "policyNameType", "roleDescriptionType"],
    "kms": ["AliasNameType"],
    "logs": ["LogGroupName"],
    "route53": ["ResourceId"],
    "secretsmanager": ["NameType", "DescriptionType"],
    "servicediscovery": ["ServiceName", "NamespaceNameHttp"],
}


def read_botocore() -> dict[str, dict]:
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    shapes: dict[str, dict] = {}
    for service, names in WANTED.items():
        model = loader.load_service_model(service, "service-2")
        version = model["metadata"]["apiVersion"]
        for name in names:
            shape = model["shapes"][name]
            shapes[f"{service}.{name}"] = {"apiVersion": version, **{k: shape[k] for k in ("min", "max", "pattern")
                                                                     if k in shape}}
    return shapes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.aws_shapes", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    fresh = read_botocore()
    if args.check:
        stored = json.loads(SNAPSHOT.read_text())
        if stored != fresh:
            print(f"{SNAPSHOT.name} differs from the installed botocore: run python -m tools.aws_shapes", file=sys.stderr)
            return 1
        return 0
    SNAPSHOT.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(fresh)} shapes to {SNAPSHOT.relative_to(SNAPSHOT.parents[2])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
