"""The fake provider the recorder (tools/graph.py) runs the program against: what AWS, Docker and random would report.

Every output the program can read gets a value of the real shape, derived from the resource's type, name and inputs
only (a hash, never a clock or a random number), so a recorded graph is the same on every run:

- ids as the services make them: `vpc-0123456789abcdef0`, `subnet-…`, `sg-…`, a KMS key's UUID, a log group's name,
  a secret's ARN, a docker container's 64 hex digits;
- ARNs in each service's own format (`arn:aws:kms:us-east-1:123456789012:key/<uuid>`,
  `arn:aws:secretsmanager:…:secret:<name>-AbCdEf`, `arn:aws:iam::123456789012:role/<name>`, `arn:aws:s3:::<bucket>`);
- the names the provider picks for what the program leaves unnamed (`<name>-<7 hex>`), and the rest a provider
  computes on create: endpoints, DNS names, a KMS key's `keyId`, a job container's exit code.

Which outputs a resource type has is not guessed: `outputs_of` reads them from the pulumi_aws / pulumi_docker /
pulumi_random class itself (`@pulumi.getter(name=...)` on its properties); tests/test_mocks.py checks with it that no
recorded input of the stacks is left without a value because the mocks lacked an output.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
import string
from collections.abc import Callable
from typing import Any

from pulumi.runtime import mocks as pm
from pulumi.runtime import rpc

from tools.records import SECRET

ACCOUNT = "123456789012"
REGION = "us-east-1"
PROVIDER_PACKAGES = {"aws": "pulumi_aws", "docker": "pulumi_docker", "random": "pulumi_random"}


# ------------------------------------------------------------------------------------------------ deterministic values


def _stable(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def hex_of(n: int, *parts: Any) -> str:
    """n lowercase hex digits, a hash of the parts."""
    digits = _stable(*parts)
    while len(digits) < n:
        digits += _stable(digits)
    return digits[:n]


def chars_of(n: int, alphabet: str, *parts: Any) -> str:
    """n characters of the alphabet, a hash of the parts."""
    value, out = int(hex_of(64, *parts), 16), []
    for _ in range(n):
        value, i = divmod(value, len(alphabet))
        out.append(alphabet[i])
    return "".join(out)


def uuid_of(*parts: Any) -> str:
    """A version-4 shaped UUID, a hash of the parts."""
    h = hex_of(32, *parts)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def arn(service: str, resource: str, region: str | None = REGION, account: str | None = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region or ''}:{account or ''}:{resource}"


def ec2_id(prefix: str, *parts: Any) -> str:
    """An EC2 id: `vpc-`, `subnet-`, `sg-`, ... and 17 hex digits."""
    return f"{prefix}-{hex_of(17, prefix, *parts)}"


# ------------------------------------------------------------------------------------------- the provider's schema


@functools.cache
def resource_class(typ: str) -> type | None:
    """The SDK class of a type token (`aws:kms/key:Key` -> pulumi_aws.kms.Key), or None for a type of no package."""
    pkg, mod, cls = [*typ.split(":"), "", ""][:3]
    if pkg not in PROVIDER_PACKAGES:
        return None
    module = mod.split("/")[0]
    try:
        found = importlib.import_module(PROVIDER_PACKAGES[pkg] + ("" if module == "index" else f".{module}"))
    except ImportError:
        return None
    return getattr(found, cls, None)


def _pulumi_names(cls: type | None) -> frozenset[str]:
    names = set()
    for base in reversed((cls or object).__mro__):
        for value in vars(base).values():
            name = getattr(getattr(value, "fget", None), "_pulumi_name", None)
            if isinstance(value, property) and name:
                names.add(name)
    return frozenset(names)


@functools.cache
def outputs_of(typ: str) -> frozenset[str]:
    """The output properties a resource type declares (`keyId`, `arn`, ...), as its SDK class says."""
    return _pulumi_names(resource_class(typ))


# ------------------------------------------------------------------------------------------------------- names


def auto_name(name: str, inputs: dict[str, Any], key: str = "name") -> str:
    """The name a property gets: the program's, else `<namePrefix><26 digits>`, else Pulumi's `<name>-<7 hex>`."""
    if inputs.get(key):
        return inputs[key]
    prefix = inputs.get(f"{key}Prefix")
    if prefix:
        return prefix + chars_of(26, string.digits, "prefix", name)
    return f"{name}-{_stable(name)[:7]}"


def _last(value: Any, sep: str = "/") -> str:
    return str(value or "").rstrip(sep).rsplit(sep, 1)[-1]


# --------------------------------------------------------------------------------------------- per resource type
# Each computes (id, outputs not already among the inputs) of one type from its name and inputs.

Computed = tuple[str, dict[str, Any]]
_TYPES: dict[str, Callable[[str, dict[str, Any]], Computed]] = {}


def _type(*tokens: str) -> Callable[[Callable[[str, dict[str, Any]], Computed]], Callable[..., Computed]]:
    def register(fn: Callable[[str, dict[str, Any]], Computed]) -> Callable[..., Computed]:
        for token in tokens:
            _TYPES[token] = fn
        return fn
    return register


_EC2 = {  # type -> (id prefix, ARN resource kind or None)
    "aws:ec2/vpc:Vpc": ("vpc", "vpc"),
    "aws:ec2/subnet:Subnet": ("subnet", "subnet"),
    "aws:ec2/securityGroup:SecurityGroup": ("sg", "security-group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("sg", "security-group"),
    "aws:ec2/routeTable:RouteTable": ("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("rtbassoc", None),
    "aws:ec2/internetGateway:InternetGateway": ("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": ("nat", None),
    "aws:ec2/eip:Eip": ("eipalloc", "elastic-ip"),
    "aws:ec2/flowLog:FlowLog": ("fl", "vpc-flow-log"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce", "vpc-endpoint"),
    "aws:ec2/networkAcl:NetworkAcl": ("acl", "network-acl"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("sgr", "security-group-rule"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("sgr", "security-group-rule"),
}


def _ec2(typ: str, name: str, inputs: dict[str, Any]) -> Computed:
    prefix, kind = _EC2[typ]
    id_ = ec2_id(prefix, typ, name)
    out: dict[str, Any] = {"ownerId": ACCOUNT} if "ownerId" in outputs_of(typ) else {}
    if kind:
        out["arn"] = arn("ec2", f"{kind}/{id_}")
    if typ == "aws:ec2/vpc:Vpc":
        out.update(defaultNetworkAclId=ec2_id("acl", name), defaultRouteTableId=ec2_id("rtb", "main", name),
                   mainRouteTableId=ec2_id("rtb", "main", name), defaultSecurityGroupId=ec2_id("sg", "default", name),
                   dhcpOptionsId=ec2_id("dopt", name))
    elif typ.startswith("aws:ec2/") and typ.endswith("SecurityGroup"):
        out["name"] = auto_name(name, inputs) if typ.endswith(":SecurityGroup") else "default"
    elif typ == "aws:ec2/eip:Eip":
        out.update(allocationId=id_, publicIp=_public_ip(name), publicDns=f"ec2-{_public_ip(name).replace('.', '-')}"
                   f".compute-1.amazonaws.com", domain=inputs.get("domain", "vpc"))
    elif typ == "aws:ec2/natGateway:NatGateway":
        out.update(networkInterfaceId=ec2_id("eni", name), privateIp=_private_ip(name), publicIp=_public_ip(name),
                   associationId=ec2_id("eipassoc", name))
    elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        out.update(state="available", requesterManaged=False)
        if inputs.get("vpcEndpointType", "Gateway") == "Gateway":
            out.update(prefixListId="pl-" + hex_of(8, "pl", inputs.get("serviceName")), cidrBlocks=["52.216.0.0/15"])
        else:
            out["networkInterfaceIds"] = [ec2_id("eni", name, i) for i in range(len(inputs.get("subnetIds") or []))]
            host = f"{id_}-{chars_of(8, string.ascii_lowercase + string.digits, name)}.{inputs.get('serviceName', '')}"
            out["dnsEntries"] = [{"dnsName": host.replace("com.amazonaws.", "") + ".vpce.amazonaws.com",
                                  "hostedZoneId": "Z7HUB22UULQXV"}]
    elif typ.startswith("aws:vpc/"):
        out["securityGroupRuleId"] = id_
    return id_, out


for _token in _EC2:
    _TYPES[_token] = functools.partial(_ec2, _token)


def _public_ip(*parts: Any) -> str:
    h = bytes.fromhex(hex_of(6, "public-ip", *parts))
    return f"54.{h[0]}.{h[1]}.{h[2] or 1}"


def _private_ip(*parts: Any) -> str:
    h = bytes.fromhex(hex_of(4, "private-ip", *parts))
    return f"10.0.{h[0]}.{h[1] or 1}"


@_type("aws:ec2/route:Route")
def _route(name: str, inputs: dict[str, Any]) -> Computed:
    # the provider's id: the route table's and a hash of the destination
    return f"r-{inputs.get('routeTableId')}{chars_of(10, string.digits, inputs.get('destinationCidrBlock'))}", {
        "origin": "CreateRoute", "state": "active"}


@_type("aws:kms/key:Key")
def _kms_key(name: str, inputs: dict[str, Any]) -> Computed:
    key_id = uuid_of("kms", name)
    return key_id, {"keyId": key_id, "arn": arn("kms", f"key/{key_id}")}


@_type("aws:kms/alias:Alias")
def _kms_alias(name: str, inputs: dict[str, Any]) -> Computed:
    alias = auto_name(name, inputs)
    target = str(inputs.get("targetKeyId") or "")
    return alias, {"name": alias, "arn": arn("kms", alias),
                   "targetKeyArn": target if target.startswith("arn:") else arn("kms", f"key/{target}")}


@_type("aws:secretsmanager/secret:Secret")
def _secret(name: str, inputs: dict[str, Any]) -> Computed:
    secret = auto_name(name, inputs)
    # Secrets Manager appends a hyphen and six random characters to the name in the ARN
    found = arn("secretsmanager", f"secret:{secret}-{chars_of(6, string.ascii_letters, 'secret', name)}")
    return found, {"name": secret, "arn": found}


@_type("aws:secretsmanager/secretVersion:SecretVersion")
def _secret_version(name: str, inputs: dict[str, Any]) -> Computed:
    # a new version exactly when the value changes, as a real update would make
    version = uuid_of("version", name, inputs.get("secretString"))
    secret = str(inputs.get("secretId") or "")
    return f"{secret}|{version}", {"versionId": version, "arn": secret, "secretArn": secret,
                                   "versionStages": inputs.get("versionStages") or ["AWSCURRENT"]}


@_type("aws:cloudwatch/logGroup:LogGroup")
def _log_group(name: str, inputs: dict[str, Any]) -> Computed:
    group = auto_name(name, inputs)
    return group, {"name": group, "arn": arn("logs", f"log-group:{group}")}


@_type("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(name: str, inputs: dict[str, Any]) -> Computed:
    alarm = auto_name(name, inputs)
    return alarm, {"name": alarm, "arn": arn("cloudwatch", f"alarm:{alarm}")}


@_type("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(name: str, inputs: dict[str, Any]) -> Computed:
    board = inputs.get("dashboardName") or auto_name(name, {})
    return board, {"dashboardName": board, "dashboardArn": arn("cloudwatch", f"dashboard/{board}", region=None)}


@_type("aws:iam/role:Role")
def _role(name: str, inputs: dict[str, Any]) -> Computed:
    role = auto_name(name, inputs)
    return role, {"name": role, "arn": arn("iam", f"role{inputs.get('path') or '/'}{role}", region=None),
                  "uniqueId": "AROA" + chars_of(17, string.ascii_uppercase + string.digits, "role", name),
                  "createDate": "2026-01-01T00:00:00Z"}


@_type("aws:iam/policy:Policy")
def _policy(name: str, inputs: dict[str, Any]) -> Computed:
    policy = auto_name(name, inputs)
    found = arn("iam", f"policy{inputs.get('path') or '/'}{policy}", region=None)
    return found, {"name": policy, "arn": found, "policyId": "ANPA" + chars_of(17, string.ascii_uppercase, name)}


@_type("aws:iam/rolePolicy:RolePolicy")
def _role_policy(name: str, inputs: dict[str, Any]) -> Computed:
    policy = auto_name(name, inputs)
    return f"{inputs.get('role')}:{policy}", {"name": policy}


@_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _role_policy_attachment(name: str, inputs: dict[str, Any]) -> Computed:
    return f"{inputs.get('role')}-{chars_of(26, string.digits, name)}", {}


@_type("aws:ecs/cluster:Cluster")
def _cluster(name: str, inputs: dict[str, Any]) -> Computed:
    cluster = auto_name(name, inputs)
    found = arn("ecs", f"cluster/{cluster}")
    return found, {"name": cluster, "arn": found}


@_type("aws:ecs/service:Service")
def _ecs_service(name: str, inputs: dict[str, Any]) -> Computed:
    service = auto_name(name, inputs)
    found = arn("ecs", f"service/{_last(inputs.get('cluster')) or 'default'}/{service}")
    return found, {"name": service, "arn": found}


@_type("aws:ecs/taskDefinition:TaskDefinition")
def _task_definition(name: str, inputs: dict[str, Any]) -> Computed:
    family = inputs.get("family") or auto_name(name, {})
    return family, {"family": family, "revision": 1, "arn": arn("ecs", f"task-definition/{family}:1"),
                    "arnWithoutRevision": arn("ecs", f"task-definition/{family}")}


@_type("aws:ecr/repository:Repository")
def _repository(name: str, inputs: dict[str, Any]) -> Computed:
    repo = auto_name(name, inputs)
    return repo, {"name": repo, "arn": arn("ecr", f"repository/{repo}"), "registryId": ACCOUNT,
                  "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repo}"}


@_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
def _lifecycle_policy(name: str, inputs: dict[str, Any]) -> Computed:
    return str(inputs.get("repository") or name), {"registryId": ACCOUNT}


@_type("aws:lb/loadBalancer:LoadBalancer")
def _load_balancer(name: str, inputs: dict[str, Any]) -> Computed:
    lb = auto_name(name, inputs)
    kind = {"network": "net", "gateway": "gwy"}.get(inputs.get("loadBalancerType", "application"), "app")
    suffix = f"{kind}/{lb}/{hex_of(16, 'lb', name)}"
    dns = f"{lb}-{chars_of(10, string.digits, 'dns', name)}.{REGION}.elb.amazonaws.com"
    return arn("elasticloadbalancing", f"loadbalancer/{suffix}"), {
        "name": lb, "arn": arn("elasticloadbalancing", f"loadbalancer/{suffix}"), "arnSuffix": suffix,
        "dnsName": ("internal-" if inputs.get("internal") else "") + dns, "zoneId": "Z35SXDOTRQ7X7K"}


@_type("aws:lb/targetGroup:TargetGroup")
def _target_group(name: str, inputs: dict[str, Any]) -> Computed:
    group = auto_name(name, inputs)
    suffix = f"targetgroup/{group}/{hex_of(16, 'tg', name)}"
    return arn("elasticloadbalancing", suffix), {"name": group, "arn": arn("elasticloadbalancing", suffix),
                                                  "arnSuffix": suffix, "loadBalancerArns": []}


@_type("aws:lb/listener:Listener")
def _listener(name: str, inputs: dict[str, Any]) -> Computed:
    lb = str(inputs.get("loadBalancerArn") or "").replace(":loadbalancer/", ":listener/")
    found = f"{lb}/{hex_of(16, 'listener', name)}"
    return found, {"arn": found}


@_type("aws:lb/listenerRule:ListenerRule")
def _listener_rule(name: str, inputs: dict[str, Any]) -> Computed:
    listener = str(inputs.get("listenerArn") or "").replace(":listener/", ":listener-rule/")
    found = f"{listener}/{hex_of(16, 'rule', name)}"
    return found, {"arn": found}


@_type("aws:acm/certificate:Certificate")
def _certificate(name: str, inputs: dict[str, Any]) -> Computed:
    found = arn("acm", f"certificate/{uuid_of('acm', name)}")
    domains = [inputs.get("domainName") or "example.com", *(inputs.get("subjectAlternativeNames") or [])]
    options = [{"domainName": d, "resourceRecordName": f"_{hex_of(32, 'record', d)}.{d.lstrip('*.')}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{hex_of(32, 'value', d)}.{chars_of(10, string.ascii_lowercase, d)}"
                                       ".acm-validations.aws."} for d in dict.fromkeys(domains)]
    return found, {"arn": found, "domainValidationOptions": options, "status": "ISSUED", "type": "AMAZON_ISSUED",
                   "notBefore": "2026-01-01T00:00:00Z", "notAfter": "2027-01-31T23:59:59Z"}


@_type("aws:acm/certificateValidation:CertificateValidation")
def _certificate_validation(name: str, inputs: dict[str, Any]) -> Computed:
    return "2026-01-01 00:00:00 +0000 UTC", {}


@_type("aws:route53/record:Record")
def _record(name: str, inputs: dict[str, Any]) -> Computed:
    fqdn = str(inputs.get("name") or name).rstrip(".").lower()
    return f"{inputs.get('zoneId')}_{fqdn}_{inputs.get('type')}", {"fqdn": fqdn}


@_type("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _bucket(name: str, inputs: dict[str, Any]) -> Computed:
    bucket = auto_name(name, inputs, "bucket").lower()
    return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                    "bucketRegionalDomainName": f"{bucket}.s3.{REGION}.amazonaws.com", "bucketRegion": REGION,
                    "region": REGION, "hostedZoneId": "Z3AQBSTGFYJSTF"}


@_type("aws:rds/instance:Instance")
def _db_instance(name: str, inputs: dict[str, Any]) -> Computed:
    identifier = auto_name(name, inputs, "identifier").lower()
    port = inputs.get("port") or {"mysql": 3306, "mariadb": 3306}.get(inputs.get("engine", ""), 5432)
    address = f"{identifier}.{chars_of(12, string.ascii_lowercase + string.digits, 'rds')}.{REGION}.rds.amazonaws.com"
    resource_id = "db-" + chars_of(26, string.ascii_uppercase + string.digits, "db", name)
    return resource_id, {"identifier": identifier, "address": address, "port": port, "endpoint": f"{address}:{port}",
                         "arn": arn("rds", f"db:{identifier}"), "resourceId": resource_id,
                         "hostedZoneId": "Z2R2ITUGPM61AM", "status": "available",
                         "engineVersionActual": inputs.get("engineVersion") or "16.4"}


def _db_group_for(kind: str) -> Callable[[str, dict[str, Any]], Computed]:
    def fn(name: str, inputs: dict[str, Any]) -> Computed:
        group = auto_name(name, inputs).lower()
        return group, {"name": group, "arn": arn("rds", f"{kind}:{group}")}
    return fn


_TYPES["aws:rds/subnetGroup:SubnetGroup"] = _db_group_for("subgrp")
_TYPES["aws:rds/parameterGroup:ParameterGroup"] = _db_group_for("pg")


@_type("aws:elasticache/replicationGroup:ReplicationGroup")
def _replication_group(name: str, inputs: dict[str, Any]) -> Computed:
    group = auto_name(name, inputs, "replicationGroupId").lower()
    host = f"{group}.{chars_of(6, string.ascii_lowercase + string.digits, 'cache', name)}.use1.cache.amazonaws.com"
    count = int(inputs.get("numCacheClusters") or 1)
    return group, {"replicationGroupId": group, "arn": arn("elasticache", f"replicationgroup:{group}"),
                   "primaryEndpointAddress": f"master.{host}", "readerEndpointAddress": f"replica.{host}",
                   "port": inputs.get("port") or 6379, "memberClusters": [f"{group}-{i:03d}" for i in
                                                                           range(1, count + 1)],
                   "clusterEnabled": False, "engineVersionActual": inputs.get("engineVersion") or "7.1.0"}


@_type("aws:elasticache/subnetGroup:SubnetGroup")
def _cache_subnet_group(name: str, inputs: dict[str, Any]) -> Computed:
    group = auto_name(name, inputs).lower()
    return group, {"name": group, "arn": arn("elasticache", f"subnetgroup:{group}")}


@_type("aws:mq/broker:Broker")
def _broker(name: str, inputs: dict[str, Any]) -> Computed:
    broker_id = "b-" + uuid_of("mq", name)
    broker = inputs.get("brokerName") or auto_name(name, {})
    rabbit = str(inputs.get("engineType", "")).lower() == "rabbitmq"
    count = 3 if inputs.get("deploymentMode") == "CLUSTER_MULTI_AZ" else (
        2 if inputs.get("deploymentMode") == "ACTIVE_STANDBY_MULTI_AZ" else 1)
    host = f"{broker_id}.mq.{REGION}.amazonaws.com"
    instances = [{"consoleUrl": f"https://{host}", "ipAddress": _private_ip("mq", name, i),
                  "endpoints": [f"amqps://{host}:5671"] if rabbit else
                  [f"ssl://{broker_id}-{i + 1}.mq.{REGION}.amazonaws.com:61617"]} for i in range(1 if rabbit else count)]
    return broker_id, {"brokerName": broker, "arn": arn("mq", f"broker:{broker}:{broker_id}"), "instances": instances}


@_type("aws:servicediscovery/httpNamespace:HttpNamespace", "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
def _namespace(name: str, inputs: dict[str, Any]) -> Computed:
    found = "ns-" + chars_of(16, string.ascii_lowercase + string.digits, "ns", name)
    namespace = auto_name(name, inputs)
    return found, {"name": namespace, "httpName": namespace, "arn": arn("servicediscovery", f"namespace/{found}")}


@_type("aws:servicediscovery/service:Service")
def _discovery_service(name: str, inputs: dict[str, Any]) -> Computed:
    found = "srv-" + chars_of(16, string.ascii_lowercase + string.digits, "srv", name)
    return found, {"name": auto_name(name, inputs), "arn": arn("servicediscovery", f"service/{found}")}


@_type("aws:sns/topic:Topic")
def _topic(name: str, inputs: dict[str, Any]) -> Computed:
    topic = auto_name(name, inputs)
    found = arn("sns", topic)
    return found, {"name": topic, "arn": found, "owner": ACCOUNT}


@_type("aws:sns/topicPolicy:TopicPolicy")
def _topic_policy(name: str, inputs: dict[str, Any]) -> Computed:
    return str(inputs.get("arn") or name), {"owner": ACCOUNT}


@_type("aws:sns/topicSubscription:TopicSubscription")
def _subscription(name: str, inputs: dict[str, Any]) -> Computed:
    found = f"{inputs.get('topic')}:{uuid_of('subscription', name)}"
    return found, {"arn": found, "ownerId": ACCOUNT, "pendingConfirmation": inputs.get("protocol") == "email",
                   "confirmationWasAuthenticated": inputs.get("protocol") != "email"}


@_type("aws:appautoscaling/target:Target")
def _scaling_target(name: str, inputs: dict[str, Any]) -> Computed:
    return str(inputs.get("resourceId") or name), {
        "arn": arn("application-autoscaling", f"scalable-target/{hex_of(36, 'target', name)}")}


@_type("aws:appautoscaling/policy:Policy")
def _scaling_policy(name: str, inputs: dict[str, Any]) -> Computed:
    policy = auto_name(name, inputs)
    return policy, {"name": policy, "alarmArns": [], "arn": arn(
        "autoscaling", f"scalingPolicy:{uuid_of('policy', name)}:resource/{inputs.get('serviceNamespace', 'ecs')}/"
                       f"{inputs.get('resourceId', '')}:policyName/{policy}")}


@_type("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2",
       "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2",
       "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
       "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
       "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
       "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
       "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketPolicy:BucketPolicy",
       "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
def _bucket_part(name: str, inputs: dict[str, Any]) -> Computed:
    return str(inputs.get("bucket") or name), {"region": REGION}


@_type("docker:index/container:Container")
def _container(name: str, inputs: dict[str, Any]) -> Computed:
    out: dict[str, Any] = {"name": inputs.get("name") or auto_name(name, {}),
                           "networkDatas": [{"networkName": n.get("name"), "ipAddress": _private_ip("docker", name, i),
                                             "ipPrefixLength": 16, "gateway": "172.18.0.1", "macAddress":
                                             "02:42:" + ":".join(hex_of(8, "mac", name, i)[j:j + 2]
                                                                 for j in range(0, 8, 2))}
                                            for i, n in enumerate(inputs.get("networksAdvanced") or [])]}
    if inputs.get("mustRun") is False:
        out["exitCode"] = 0  # a one-off that ran to completion, as `pulumi up` waits for it when attached
    if inputs.get("logs"):
        out["containerLogs"] = ""
    return hex_of(64, "container", name), out


@_type("docker:index/network:Network")
def _network(name: str, inputs: dict[str, Any]) -> Computed:
    return hex_of(64, "network", name), {"name": inputs.get("name") or auto_name(name, {}), "scope": "local",
                                          "driver": inputs.get("driver") or "bridge"}


@_type("docker:index/volume:Volume")
def _volume(name: str, inputs: dict[str, Any]) -> Computed:
    volume = inputs.get("name") or auto_name(name, {})
    return volume, {"name": volume, "driver": inputs.get("driver") or "local",
                    "mountpoint": f"/var/lib/docker/volumes/{volume}/_data"}


@_type("docker:index/remoteImage:RemoteImage")
def _remote_image(name: str, inputs: dict[str, Any]) -> Computed:
    image = inputs.get("name", name)
    image_id = "sha256:" + hex_of(64, "id", image)
    repo = image.split("@")[0].rsplit(":", 1)[0] if "/" in image or ":" in image else image
    return f"{image_id}{image}", {"imageId": image_id, "repoDigest": f"{repo}@sha256:" + hex_of(64, image)}


@_type("docker:index/image:Image")
def _image(name: str, inputs: dict[str, Any]) -> Computed:
    image = inputs.get("imageName", name)
    build = inputs.get("build") or {}
    digest = "sha256:" + hex_of(64, image)
    return digest, {"imageName": image, "repoDigest": f"{image.rsplit(':', 1)[0]}@{digest}",
                    "registryServer": image.split("/")[0] if "." in image.split("/")[0] else "docker.io",
                    "context": build.get("context", "."), "dockerfile": build.get("dockerfile", "Dockerfile"),
                    "platform": build.get("platform", "linux/amd64"), "baseImageName": image}


@_type("random:index/randomPassword:RandomPassword")
def _password(name: str, inputs: dict[str, Any]) -> Computed:
    # changes exactly when the keepers change, as a real replacement would
    result = "pw" + _stable(name, inputs.get("keepers"))[:30]
    return "none", {"result": result, "bcryptHash": "$2a$10$" + chars_of(
        53, string.ascii_letters + string.digits + "./", "bcrypt", result)}


def _random(name: str, inputs: dict[str, Any]) -> Computed:
    digest = _stable(name, inputs)
    return digest[:16], {"result": "rnd" + digest[:12], "hex": digest[:16], "b64Url": digest[16:32],
                         "b64Std": digest[16:32], "dec": str(int(digest[:12], 16))}


def plain(value: Any) -> Any:
    """Inputs with secrets unwrapped, as the engine marks them (`rpc`) or as a recorded graph does (`SECRET`): a value
    computed from inputs is the same from the inputs the mocks get and from those a graph recorded."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return plain(value.get("value"))
        if set(value) == {SECRET}:
            return plain(value[SECRET])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def fake_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What the provider would report after create: the inputs, and what it computes (`id` among them)."""
    out = dict(inputs)
    inputs = plain(inputs)
    handler = _TYPES.get(typ)
    if handler is None and typ.startswith("random:"):
        handler = _random
    if handler is not None:
        id_, computed = handler(name, inputs)
    elif typ.startswith("pulumi:providers:"):
        id_, computed = uuid_of("provider", typ, name), {}
    else:  # a type this table does not know yet: tests/test_mocks.py names it
        id_, computed = f"{name}-{hex_of(8, typ, name)}", {}
        outputs = outputs_of(typ)
        if "name" in outputs:
            computed["name"] = auto_name(name, inputs)
        if "arn" in outputs and typ.startswith("aws:"):
            service = typ.split(":")[1].split("/")[0]
            computed["arn"] = arn(service, f"{typ.split('/')[-1].split(':')[0].lower()}/{computed.get('name', id_)}")
        # Every other output its SDK class declares gets a value too (a string named after the resource and the
        # output), so a new part's wiring (an endpoint into a service's env) records before the type has a handler.
        for output in sorted(outputs - set(computed) - set(inputs) - {"id", "tagsAll"}):
            computed[output] = f"{name}-{re.sub(r'(?<!^)(?=[A-Z])', '-', output).lower()}"
    for key, value in computed.items():
        if out.get(key) in (None, "", [], {}) or key not in inputs:
            out[key] = value
    if "tagsAll" in outputs_of(typ):
        out["tagsAll"] = dict(inputs.get("tags") or {})
    return {"id": id_, **out}  # the id first: of equal values, a Terraform reference names `.id` (tools/tfplan.py)


# ----------------------------------------------------------------------------------------------------- the mocks


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """What a data source (an invoke) returns."""
    if token.endswith("getAvailabilityZones"):
        return {"names": ["us-east-1a", "us-east-1b", "us-east-1c"], "zoneIds": ["use1-az1", "use1-az2", "use1-az4"],
                "id": REGION}
    if token.endswith("getCallerIdentity"):
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/twinstack-ci",
                "userId": "AIDA" + chars_of(17, string.ascii_uppercase + string.digits, "user"), "id": ACCOUNT}
    if token.endswith("getRegion"):
        return {"name": REGION, "region": REGION, "id": REGION, "description": "US East (N. Virginia)",
                "endpoint": f"ec2.{REGION}.amazonaws.com"}
    if token.endswith("getPartition"):
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}
    if token.endswith("getServicePrincipal"):
        service = args.get("serviceName", "svc")
        return {"name": f"{service}.amazonaws.com", "id": f"{service}.{REGION}", "suffix": "amazonaws.com",
                "region": REGION}
    if token.endswith("getElbServiceAccount") or token.endswith("getServiceAccount"):
        return {"arn": "arn:aws:iam::127311923021:root", "id": "127311923021"}  # us-east-1's ELB account
    if token.endswith("getPolicyDocument"):
        return {"json": json.dumps(args), "minifiedJson": json.dumps(args, separators=(",", ":")), "id": "0"}
    if token.endswith("getAuthorizationToken"):
        return {"authorizationToken": "QVdTOm1vY2stZWNyLXBhc3N3b3Jk", "userName": "AWS",
                "password": "mock-ecr-password", "expiresAt": "2030-01-01T00:00:00Z", "id": REGION,
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"}
    return {}


class Mocks(pm.Mocks):
    """The fake provider: `fake_outputs` for every resource, `call_result` for every data source."""

    def new_resource(self, args: pm.MockResourceArgs):
        if args.custom is False:
            return [None, {}]  # a component: the engine gives it no id and no state of its own
        out = fake_outputs(args.typ, args.name, args.inputs)
        return [args.resource_id or out["id"], out]

    def call(self, args: pm.MockCallArgs):
        return call_result(args.token, args.args)

