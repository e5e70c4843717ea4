"""A recorded graph as a Terraform plan JSON document, so Terraform's static checkers (Checkov) can read a Pulumi stack.

Why: Checkov has hundreds of AWS checks written against Terraform resource types and attributes, and none against
Pulumi's. pulumi-aws is a bridge of the Terraform AWS provider, so every `aws:` resource is a Terraform resource under
another spelling; this module undoes the spelling and writes what `terraform show -json` would print for a first
deploy of the same resources, offline, from the graph `tools/graph.py` records (no Pulumi CLI, no AWS account):

    python -m tools.tfplan prod > prod.tfplan.json
    checkov --framework terraform_plan -f prod.tfplan.json

How the spelling is undone:
- Type: `aws:<module>/<member>:<Class>` is `aws_<prefix>_<member in snake_case>`, the inverse of the bridge's rule
  (pulumi-aws provider/resources.go, `moduleMap`: Terraform prefix -> module). `_PREFIX` lists the modules whose
  Terraform prefix is not the module's name, `_TYPES` the few resources the bridge named by hand.
- Attributes: camelCase -> snake_case. A nested object is a Terraform block, which a plan writes as a list of one; a
  list of objects is a repeated block, which the bridge named in the plural (`rules` for `rule`). Whether an object is
  a block or a map (`tags`, `dimensions`) comes from the pulumi_aws SDK's own `*Args` classes.
- References: where an input holds an attribute the provider computes (the mocks' id `<name>-id`, ARN, DNS name, ...)
  of a resource it depends on (Pulumi's property dependencies say which), the value is unknown until apply, as in a
  real plan: left out of `values`, marked in `after_unknown`, and named under `configuration` as
  `<type>.<name>.<attribute>`, which is how Checkov links a bucket to its public access block, logging and the rest.
- Secret values are written as "(sensitive)" and listed in `sensitive_values`, as Terraform writes a sensitive
  attribute: the checks see that the attribute is set, never its value.

Only `aws:` custom resources are written: components, the provider and other packages (random, docker) have no
Terraform AWS resource to check.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from typing import Any

from tools.graph import SECRET, Graph, Resource, run_stack
from tools.mocks import fake_outputs

PROVIDER = "registry.terraform.io/hashicorp/aws"
SENSITIVE = "(sensitive)"

# pulumi module -> Terraform prefix, where they differ: pulumi-aws's `moduleMap` (provider/resources.go) inverted. Two
# prefixes share a module: rds is `db` (aws_db_instance) but for the cluster resources in _TYPES, and ec2 is none at
# all for the VPC-era resources (aws_vpc, aws_subnet, aws_eip, aws_flow_log, ...), `ec2` for newer ones (not used here).
_PREFIX = {
    "ec2": "", "rds": "db", "amp": "prometheus", "apigateway": "api_gateway", "bcmdata": "bcmdataexports",
    "bedrockfoundation": "bedrock_foundation", "bedrockmodel": "bedrock_model", "cfg": "config",
    "cloudcontrol": "cloudcontrolapi", "cloudhsmv2": "cloudhsm_v2", "costexplorer": "ce", "directconnect": "dx",
    "directoryservice": "directory_service", "ec2clientvpn": "ec2_client_vpn", "ec2transitgateway": "ec2_transit_gateway",
    "elasticbeanstalk": "elastic_beanstalk", "mediaconvert": "media_convert", "mediapackage": "media_package",
    "mediapackagev2": "media_packagev2", "mediastore": "media_store", "opensearchingest": "osis",
    "resourceexplorer": "resourceexplorer2", "route53recoverycontrol": "route53recoverycontrolconfig",
    "serverlessrepository": "serverlessapplicationrepository", "servicediscovery": "service_discovery",
}
# Resources the bridge mapped by hand rather than by the rule above.
_TYPES = {
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:alb/loadBalancer:LoadBalancer": "aws_alb",
    "aws:rds/cluster:Cluster": "aws_rds_cluster",
    "aws:rds/clusterInstance:ClusterInstance": "aws_rds_cluster_instance",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "aws_rds_cluster_parameter_group",
    "aws:rds/globalCluster:GlobalCluster": "aws_rds_global_cluster",
}
# Repeated blocks whose Pulumi name is not the Terraform name plus "s".
_BLOCK_NAMES = {"aliases": "alias"}


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def terraform_type(token: str) -> str:
    """`aws:rds/instance:Instance` -> `aws_db_instance`."""
    if token in _TYPES:
        return _TYPES[token]
    module, member = token.split(":")[1].split("/")
    prefix = _PREFIX.get(module, module)
    return "aws_" + (f"{prefix}_" if prefix else "") + snake(member)


def _block_name(key: str) -> str:
    """A repeated block's Terraform name from the bridge's plural (`defaultActions` -> `default_action`)."""
    name = snake(key)
    if name in _BLOCK_NAMES:
        return _BLOCK_NAMES[name]
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith(("ss", "us", "as")):
        return name[:-1]
    return name


def _sdk_fields(args: type | None) -> dict[str, str]:
    """{python name: type annotation as text} of a pulumi_aws `*Args` class: tells maps from blocks."""
    if args is None:
        return {}
    return {n: str(p.annotation) for n, p in inspect.signature(args.__init__).parameters.items() if n != "__self__"}


def _nested_args(module: Any, annotation: str) -> type | None:
    found = re.search(r"ForwardRef\('(\w+Args)'\)", annotation)
    return getattr(module, found.group(1), None) if found else None


class _Converter:
    """Pulumi inputs -> (values, after_unknown, configuration expressions) of one resource, with references resolved."""

    def __init__(self, graph: Graph, addresses: dict[str, str]):
        self.addresses = addresses  # urn -> Terraform address
        # what the provider computes on create (the mocks' outputs that are not inputs): id, arn, dns_name, ...
        self.computed = {r.urn: {k: v for k, v in fake_outputs(r.type, r.name, r.inputs).items() if k not in r.inputs}
                         for r in graph.custom() if r.urn in addresses}

    def resource(self, r: Resource) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        module = importlib.import_module(f"pulumi_aws.{r.type.split(':')[1].split('/')[0]}")
        args = getattr(module, r.type.rsplit(":", 1)[1] + "Args", None)
        deps = {k: [u for u in r.property_dependencies.get(k) or r.all_deps() if u in self.addresses] for k in r.inputs}
        return self.block(_redact(r.inputs), module, args, deps)

    def block(self, obj: dict[str, Any], module: Any, args: type | None,
              deps: dict[str, list[str]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        values: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        config: dict[str, Any] = {}
        fields = _sdk_fields(args)
        for key, value in obj.items():
            annotation = fields.get(snake(key), "")
            nested = _nested_args(module, annotation)
            if isinstance(value, dict) and "Mapping[" not in annotation:
                name, items = snake(key), [value]  # a nested object: a block, which a plan writes as a list of one
            elif isinstance(value, list) and (nested or any(isinstance(v, dict) for v in value)):
                name, items = _block_name(key), value  # a repeated block
            else:
                name, items = snake(key), None
            if items is not None:
                converted = [self.block(v, module, nested, dict.fromkeys(v, deps.get(key, []))) for v in items]
                values[name] = [c[0] for c in converted]
                if any(c[1] for c in converted):
                    unknown[name] = [c[1] for c in converted]
                if any(c[2] for c in converted):
                    config[name] = [c[2] for c in converted]
            elif refs := self.references(value, deps.get(key, [])):
                config[name] = {"references": refs}
                unknown[name] = True  # known only after apply: Checkov follows the reference instead
            else:
                values[name] = value
        return values, unknown, config

    def references(self, value: Any, deps: list[str]) -> list[str]:
        """`<address>.<attribute>` for each item of the value that is an attribute the provider computes (id, ARN,
        DNS name, ...) of a resource this input depends on."""
        refs: list[str] = []
        for item in value if isinstance(value, list) else [value]:
            for urn in deps:
                attr = next((a for a, v in self.computed[urn].items() if isinstance(item, str) and v == item), None)
                if attr:
                    refs += [f"{self.addresses[urn]}.{snake(attr)}", self.addresses[urn]]
                    break
        return refs


def _redact(v: Any, secret: bool = False) -> Any:
    """Secrets stay present (checks test that a password or token is set) but their values do not travel."""
    if isinstance(v, dict) and set(v) == {SECRET}:
        return _redact(v[SECRET], True)
    if isinstance(v, dict):
        return {k: _redact(x, secret) for k, x in v.items()}
    if isinstance(v, list):
        return [_redact(x, secret) for x in v]
    return SENSITIVE if secret and isinstance(v, str) else v


def _sensitive(inputs: dict[str, Any]) -> dict[str, Any]:
    return {snake(k): True for k, v in inputs.items() if isinstance(v, dict) and set(v) == {SECRET}}


def to_plan(graph: Graph) -> dict[str, Any]:
    """The `terraform show -json` document of a first deploy of the graph's AWS resources."""
    resources = [r for r in graph.custom() if r.type.startswith("aws:")]
    addresses: dict[str, str] = {}
    for r in resources:
        address = f"{terraform_type(r.type)}.{re.sub(r'[^A-Za-z0-9_]', '_', r.name)}"
        assert address not in addresses.values(), f"two resources would be {address}"
        addresses[r.urn] = address
    converter = _Converter(graph, addresses)
    planned, changes, configured = [], [], []
    for r in resources:
        address = addresses[r.urn]
        tf_type, name = address.split(".")
        values, unknown, expressions = converter.resource(r)
        head = {"address": address, "mode": "managed", "type": tf_type, "name": name, "provider_name": PROVIDER}
        planned.append({**head, "schema_version": 0, "values": values, "sensitive_values": _sensitive(r.inputs)})
        changes.append({**head, "change": {"actions": ["create"], "before": None, "after": values,
                                           "after_unknown": unknown, "before_sensitive": False,
                                           "after_sensitive": _sensitive(r.inputs)}})
        configured.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                           "provider_config_key": "aws", "expressions": expressions, "schema_version": 0})
    region = next((r.get("region") for r in graph.of_type("pulumi:providers:aws")), None) or "us-east-1"
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER,
                                        "expressions": {"region": {"constant_value": region}}}},
            "root_module": {"resources": configured},
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.tfplan", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="staging, prod (a Pulumi.<stack>.yaml on the aws backend)")
    args = parser.parse_args(argv)
    json.dump(to_plan(run_stack(args.stack)), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
