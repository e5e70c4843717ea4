"""Run the real `__main__.py` under Pulumi mocks and record the resource graph it declares (tests and tools.plan).

No Pulumi CLI, no Docker, no AWS: `pulumi.runtime.set_mocks` stands in for the engine. Every RegisterResource call is
recorded with its type, name, URN, inputs (secrets kept marked), parent, dependencies and options, so tests assert on
the graph a real `pulumi preview` would see.

    graph = run_stack("dev")                                  # Pulumi.dev.yaml
    graph = run_stack("prod", set={"twinstack:cache": {...}})  # with overrides
    graph = run_config({"backend": "docker", ...}, stack="dev")  # a config dict, no file
"""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import os
import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pm
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from config.stackfile import read as read_stack_file
from tools.records import SECRET, Graph, Resource, contains_secret_marker, reveal  # noqa: F401 - re-exported

ROOT = Path(__file__).resolve().parent.parent  # the project root
PROJECT = "twinstack"


# -------------------------------------------------------------------------------------------------------- mocks


def _stable(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def fake_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What the provider would report after create, enough for every Output the program reads."""
    out = dict(inputs)
    low = typ.lower()
    out.setdefault("arn", f"arn:aws:mock:us-east-1:123456789012:{name}")
    out.setdefault("id", f"{name}-id")
    if typ.startswith("aws:"):
        # the provider auto-names what the program leaves unnamed; without it, wiring through `.name` records nothing
        out.setdefault("name", f"{name}-{_stable(name)[:7]}")
    if typ == "random:index/randomPassword:RandomPassword":
        # changes exactly when the keepers change, as a real replacement would
        out["result"] = "pw" + _stable(name, inputs.get("keepers"))[:30]
    elif low.startswith("random:"):
        out["result"] = "rnd" + _stable(name, inputs)[:12]
        out.setdefault("hex", _stable(name, inputs)[:16])
    if "rds/instance" in low:
        out.update(address=f"{name}.abc123.us-east-1.rds.amazonaws.com", port=inputs.get("port", 5432),
                   endpoint=f"{name}.abc123.us-east-1.rds.amazonaws.com:5432", resourceId=f"db-{name}")
    if "elasticache/replicationgroup" in low:
        out.update(primaryEndpointAddress=f"master.{name}.abc123.use1.cache.amazonaws.com",
                   readerEndpointAddress=f"replica.{name}.abc123.use1.cache.amazonaws.com", port=inputs.get("port", 6379))
    if "mq/broker" in low:
        out["instances"] = [{"endpoints": [f"amqps://b-{name}.mq.us-east-1.amazonaws.com:5671"],
                             "consoleUrl": f"https://b-{name}.mq.us-east-1.amazonaws.com", "ipAddress": "10.0.0.9"}]
    if "lb/loadbalancer" in low:
        out.update(dnsName=f"{name}.us-east-1.elb.amazonaws.com", zoneId="Z35SXDOTRQ7X7K",
                   arnSuffix=f"app/{name}/50dc6c495c0c9188")
    if "lb/targetgroup" in low:
        out["arnSuffix"] = f"targetgroup/{name}/73e2d6bc24d8a067"
    if "s3/bucket" in low and "bucket" not in inputs:
        out["bucket"] = f"{name}-mock1234"
    if "s3/bucket" in low:
        out.setdefault("bucketRegionalDomainName", f"{out.get('bucket', name)}.s3.us-east-1.amazonaws.com")
    if "secretsmanager/secretversion" in low:
        out["versionId"] = "v-" + _stable(name, inputs.get("secretString"))[:24]
    if "ecs/cluster" in low or "ecs/service" in low:
        out.setdefault("name", inputs.get("name", name))
    if "ec2/vpcendpoint" in low and inputs.get("vpcEndpointType") == "Gateway":
        out["prefixListId"] = "pl-" + _stable(name)[:8]
    if "ecr/repository" in low:
        out["registryId"] = "123456789012"
        out["repositoryUrl"] = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{inputs.get('name', name)}"
    if "servicediscovery" in low:
        out.setdefault("name", inputs.get("name", name))
    if "acm/certificate" in low:
        out["domainValidationOptions"] = [{"domainName": inputs.get("domainName", "example.com"),
                                           "resourceRecordName": "_x.example.com.", "resourceRecordType": "CNAME",
                                           "resourceRecordValue": "_y.acm-validations.aws."}]
    if "cloudwatch/dashboard" in low:
        out.setdefault("dashboardName", inputs.get("dashboardName", name))
    if typ.startswith("docker:"):
        out.setdefault("name", inputs.get("name", name))
        if typ == "docker:index/remoteImage:RemoteImage":
            out["repoDigest"] = f"{inputs.get('name', name)}@sha256:" + _stable(inputs.get("name"))[:64]
            out["imageId"] = "sha256:" + _stable("id", inputs.get("name"))[:64]
        if typ == "docker:index/image:Image":
            out["repoDigest"] = f"{inputs.get('imageName', name)}@sha256:" + _stable(inputs.get("imageName"))[:64]
            out["imageName"] = inputs.get("imageName", name)
    return out


class Mocks(pm.Mocks):
    def new_resource(self, args: pm.MockResourceArgs):
        return [f"{args.name}-id", fake_outputs(args.typ, args.name, args.inputs)]

    def call(self, args: pm.MockCallArgs):
        tok = args.token
        if tok.endswith("getAvailabilityZones"):
            return {"names": ["us-east-1a", "us-east-1b", "us-east-1c"], "zoneIds": ["use1-az1", "use1-az2", "use1-az4"]}
        if tok.endswith("getCallerIdentity"):
            return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/mock", "userId": "mock"}
        if tok.endswith("getRegion"):
            return {"name": "us-east-1", "region": "us-east-1", "id": "us-east-1", "description": "US East"}
        if tok.endswith("getPartition"):
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if tok.endswith("getServicePrincipal"):
            service = args.args.get("serviceName", "svc")
            return {"name": f"{service}.amazonaws.com", "id": service, "suffix": "amazonaws.com"}
        if tok.endswith("getElbServiceAccount") or tok.endswith("getServiceAccount"):
            return {"arn": "arn:aws:iam::127311923021:root", "id": "127311923021"}
        if tok.endswith("getPolicyDocument"):
            return {"json": json.dumps(args.args)}
        if tok.endswith("getAuthorizationToken"):
            return {"authorizationToken": "QVdTOm1vY2stZWNyLXBhc3N3b3Jk", "userName": "AWS",
                    "password": "mock-ecr-password", "expiresAt": "2030-01-01T00:00:00Z", "id": "us-east-1",
                    "proxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"}
        return {}


class RecordingMonitor(pm.MockMonitor):
    def __init__(self, mocks: pm.Mocks):
        super().__init__(mocks)
        self.records: list[Resource] = []

    def RegisterResource(self, request):  # noqa: N802 (grpc method name)
        resp = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return resp
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True) if request.object else {}
        self.records.append(Resource(
            urn=resp.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            inputs=_plain(inputs),
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            protect=bool(request.protect) if request.HasField("protect") else False,
            retain_on_delete=bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=list(request.ignoreChanges),
            replace_on_changes=list(request.replaceOnChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            aliases=[_alias_repr(a) for a in request.aliases],
            provider=request.provider or None,
        ))
        return resp


def _alias_repr(alias: Any) -> str:
    """An alias as the engine receives it: a URN, or the whole Alias message (a spec: name, type, parent) as
    protobuf text, which `google.protobuf.text_format.Parse` reads back."""
    return alias.urn if alias.HasField("urn") else str(alias)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        if v.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return {SECRET: _plain(v.get("value"))}
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)


# ------------------------------------------------------------------------------------------------------ running


class ProgramError(Exception):
    """The program raised; `graph` holds whatever was registered before it did (tests assert it is empty)."""

    def __init__(self, message: str, graph: Graph):
        super().__init__(message)
        self.graph = graph


def stack_file_config(path: Path) -> tuple[dict[str, Any], list[str]]:
    """A stack file's `config:` block as {key: value}.

    A `secure:` value is ciphertext only the stack's secrets provider can open, and the recorder has no passphrase or
    KMS key: it passes a known value in its place, still marked secret, so the program sees a secret as it would.
    """
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in read_stack_file(path).items():  # a StackFileError names the file, line and reason
        full = key if ":" in key else f"{PROJECT}:{key}"

        def unsecure(x: Any, full: str = full) -> Any:
            if isinstance(x, dict) and set(x) == {"secure"}:
                if full not in secret_keys:
                    secret_keys.append(full)
                return f"decrypted-{full.split(':')[-1]}"
            if isinstance(x, dict):
                return {a: unsecure(b) for a, b in x.items()}
            if isinstance(x, list):
                return [unsecure(b) for b in x]
            return x

        config[full] = unsecure(value)
    return config, secret_keys


def run_stack(stack: str, set: dict[str, Any] | None = None, file: Path | None = None,
              secret: dict[str, Any] | None = None, stack_name: str | None = None) -> Graph:
    """Run a stack file (`Pulumi.<stack>.yaml`, or `file`), with `set` overriding keys and `secret` adding secret ones."""
    config, secret_keys = stack_file_config(file or ROOT / f"Pulumi.{stack}.yaml")
    for key, value in (set or {}).items():
        config[key] = value
    for key, value in (secret or {}).items():
        config[key] = value
        secret_keys.append(key)
    return run_program(config, secret_keys, stack_name or stack)


def run_config(twinstack: dict[str, Any], stack: str = "dev", secrets: dict[str, str] | None = None,
               extra: dict[str, Any] | None = None) -> Graph:
    """Run a config given as a dict of twinstack keys (without the `twinstack:` prefix)."""
    config = {f"{PROJECT}:{k}": v for k, v in twinstack.items()}
    secret_keys = []
    if secrets:
        config[f"{PROJECT}:secrets"] = secrets
        secret_keys.append(f"{PROJECT}:secrets")
    config.update(extra or {})
    return run_program(config, secret_keys, stack)


def run_program(config: dict[str, Any], secret_keys: list[str], stack: str) -> Graph:
    """Run `__main__.py` with this config and record what it registers."""

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    return _record(program, config, secret_keys, stack)


def run_components(build: Callable[[], Any], stack: str = "components", config: dict[str, Any] | None = None) -> Graph:
    """Run `build` (which declares some components from their narrow arguments, no stack file) under the same mocks
    and record what it registers: the component tests."""
    return _record(build, dict(config or {}), [], stack)


def _record(program: Callable[[], Any], config: dict[str, Any], secret_keys: list[str], stack: str) -> Graph:
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in copy.deepcopy(config).items()}
    raw.setdefault("aws:region", "us-east-1")
    pulumi.runtime.set_all_config(raw, secret_keys)
    mocks = Mocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    # set_mocks keeps the previous run's root Stack, and with it that run's exports: start from none.
    root = settings.get_root_resource()
    if root is not None:
        root.outputs = {}  # type: ignore[attr-defined]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    cwd = os.getcwd()
    # The program tunes the garbage collector for a process of its own (see __main__.py); the recorder's process goes
    # on to other runs and tests, so it gets its own settings back.
    thresholds = gc.get_threshold()
    os.chdir(ROOT)
    started = time.perf_counter()
    error: BaseException | None = None
    outputs: dict[str, Any] = {}
    try:
        _sync_await(run_pulumi_func(program))
        outputs = _stack_outputs()
    except BaseException as e:  # the caller decides; the graph so far travels with the error
        error = e
    finally:
        os.chdir(cwd)
        gc.set_threshold(*thresholds)
    graph = Graph(monitor.records, outputs, time.perf_counter() - started, stack)
    if error is not None:
        raise ProgramError(str(error), graph) from error
    return graph


def _stack_outputs() -> dict[str, Any]:
    from pulumi.runtime.settings import get_root_resource

    outputs = {}
    for key, value in (getattr(get_root_resource(), "outputs", {}) or {}).items():
        out = pulumi.Output.from_input(value)
        val = _sync_await(out.future(with_unknowns=True))
        outputs[key] = {SECRET: _plain(val)} if _sync_await(out.is_secret()) else _plain(val)
    return outputs
