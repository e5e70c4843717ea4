"""Bad config fails before any resource exists, with every problem named by its full key path."""

from __future__ import annotations

import copy
import json

import pytest

from components.aws import defaults
from config.load import ConfigError, load
from tests.harness import ProgramError, run_config

SERVICE = {"name": "web", "image": "nginx:1.27-alpine", "port": 80, "healthCheck": {"path": "/"}}
BASE = {
    "backend": "docker",
    "database": {},
    "cache": {},
    "services": [SERVICE],
    "proxy": {"routes": [{"path": "/", "service": "web"}]},
}
AWS_TLS = {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}


def with_(base: dict | None = None, **changes) -> dict:
    cfg = copy.deepcopy(base or BASE)
    cfg.update(copy.deepcopy(changes))
    return cfg


def svc(**changes) -> dict:
    out = copy.deepcopy(SERVICE)
    out.update(changes)
    return out


def problems(cfg: dict, stack: str = "dev", secrets: dict | None = None) -> list[str]:
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()}
    if secrets:
        raw["secrets"] = json.dumps(secrets)
    with pytest.raises(ConfigError) as caught:
        load(stack, raw)
    return caught.value.problems


# (id, config, stack, expected problem line); each case is one distinct mistake a user makes.
CASES = [
    ("unknown-top-level-key", with_(servics=[]), "dev", "twinstack:servics: unknown key"),
    ("bad-backend", with_(backend="k8s"), "dev", "twinstack:backend: Input should be 'docker' or 'aws'"),
    ("missing-services", {k: v for k, v in BASE.items() if k != "services"}, "dev", "twinstack:services: required"),
    ("port-out-of-range", with_(services=[svc(port=70000)]), "dev",
     "twinstack:services[0].port: Input should be less than or equal to 65535"),
    ("port-not-a-number", with_(services=[svc(port="eighty")]), "dev",
     "twinstack:services[0].port: Input should be a valid integer"),
    ("service-name-not-dns", with_(services=[svc(name="Web_App")]), "dev",
     "twinstack:services[0].name: must be a DNS label"),
    ("typo-in-service-key", with_(services=[svc(dependson=["x"])]), "dev",
     "twinstack:services[0].dependson: unknown key (check the spelling; keys are camelCase)"),
    ("image-and-build", with_(services=[svc(build={"context": "app"})]), "dev",
     "twinstack:services[0]: set exactly one of `image` or `build`"),
    ("health-check-both", with_(services=[svc(healthCheck={"path": "/", "command": ["true"]})]), "dev",
     "twinstack:services[0].healthCheck: set exactly one of `path` or `command`"),
    ("health-timeout-too-long", with_(services=[svc(healthCheck={"path": "/", "intervalSeconds": 5,
                                                                 "timeoutSeconds": 5})]), "dev",
     "twinstack:services[0].healthCheck: timeoutSeconds must be less than intervalSeconds"),
    ("duplicate-service", with_(services=[SERVICE, svc(port=81)]), "dev",
     "twinstack:services[1].name: duplicate service name 'web' (also services[0])"),
    ("unknown-depends-on", with_(services=[svc(dependsOn=["api"])]), "dev",
     "twinstack:services[0].dependsOn[0]: unknown service 'api' (known: web)"),
    ("self-dependency", with_(services=[svc(dependsOn=["web"])]), "dev",
     "twinstack:services[0].dependsOn[0]: a service cannot depend on itself"),
    ("dependency-cycle", with_(services=[svc(dependsOn=["b"]), svc(name="b", dependsOn=["c"]),
                                         svc(name="c", dependsOn=["web"])]), "dev",
     "twinstack:services[0].dependsOn: dependency cycle: web -> b -> c -> web"),
    ("uses-unconfigured-part", with_(services=[svc(uses=["broker"])]), "dev",
     "twinstack:services[0].uses[0]: uses 'broker' but twinstack:broker is not configured"),
    ("env-overrides-binding", with_(services=[svc(uses=["database"], env={"DATABASE_URL": "x"})]), "dev",
     "twinstack:services[0].env.DATABASE_URL: is set by 'database' (uses); remove it from env"),
    ("secret-not-set", with_(services=[svc(secrets=["JWT_SECRET"])]), "dev",
     "twinstack:services[0].secrets[0]: 'JWT_SECRET' is not set: run `pulumi config set --secret --path "
     "'twinstack:secrets.JWT_SECRET' <value>` or add it to twinstack:generatedSecrets"),
    ("rotation-unknown-secret", with_(rotation={"JWT_SECRET": 2}), "dev",
     "twinstack:rotation.JWT_SECRET: not a generated secret: rotate one of cache, database"),
    ("duplicate-route", with_(proxy={"routes": [{"path": "/", "service": "web"}, {"path": "/", "service": "web"}]}),
     "dev", "twinstack:proxy.routes[1].path: duplicate route '/' (also proxy.routes[0])"),
    ("route-unknown-service", with_(proxy={"routes": [{"path": "/", "service": "api"}]}), "dev",
     "twinstack:proxy.routes[0].service: unknown service 'api'"),
    ("route-unknown-volume", with_(proxy={"routes": [{"path": "/", "service": "web"},
                                                     {"path": "/static/", "volume": "static"}]}), "dev",
     "twinstack:proxy.routes[1].volume: unknown volume 'static' (declare it in a service's volumes)"),
    ("host-port-collision", with_(database={"hostPort": 8080}), "dev",
     "twinstack:database.hostPort: host port 8080 is already used by proxy.httpPort"),
    ("service-off-data-network", with_(services=[svc(uses=["database"], networks=["public"])]), "dev",
     "twinstack:services[0].networks: uses database but does not join 'internal'"),
    ("unknown-network", with_(services=[svc(networks=["public", "backend"])]), "dev",
     "twinstack:services[0].networks[1]: unknown segment 'backend' (known: public, internal)"),
    ("internal-proxy-segment", with_(network={"proxySegment": "internal"}), "dev",
     "twinstack:network.proxySegment: the proxy publishes ports, so its segment cannot be internal"),
    ("prod-without-tls", with_(backend="aws"), "prod",
     "twinstack:proxy.tls: required outside development (or set proxy.allowHttp where plain HTTP is acceptable)"),
    ("prod-allow-http", with_(backend="aws", proxy={"allowHttp": True, "routes": [{"path": "/", "service": "web"}]}),
     "prod", "twinstack:proxy.allowHttp: not allowed in production: configure proxy.tls"),
    ("prod-short-backups", with_(backend="aws", database={"backupRetentionDays": 3},
                                 proxy={"tls": AWS_TLS, "routes": [{"path": "/", "service": "web"}]}), "prod",
     "twinstack:database.backupRetentionDays: must be at least 7 in production"),
    # a target group exists for a routed service only
    ("aws-target-group-too-long", with_(backend="aws", services=[svc(name="resource-management-service")],
                                        proxy={"routes": [{"path": "/", "service": "resource-management-service"}]}),
     "castiel-dev", "twinstack:services[0].name: target group name 'castiel-dev-resource-management-service' is 39 "
     "characters, AWS allows 32: shorten the service name or twinstack:namePrefix"),
    ("aws-bad-bucket-name", with_(backend="aws", storage={"bucketName": "My_Bucket"}), "dev",
     "twinstack:storage.bucketName: only lowercase letters, digits, dots and hyphens"),
    ("aws-fargate-size", with_(backend="aws", services=[svc(cpu=1024, memory=1024)]), "dev",
     "twinstack:services[0].memory: Fargate with cpu 1024 accepts 2048-8192 MiB in steps of 1024, not 1024"),
    ("aws-public-cidr", with_(backend="aws", network={"cidr": "8.8.0.0/16"}), "dev",
     "twinstack:network.cidr: must be a private IPv4 range (10/8, 172.16/12 or 192.168/16)"),
    ("aws-tiny-vpc", with_(backend="aws", network={"cidr": "10.0.0.0/26"}), "dev",
     "twinstack:network.cidr: prefix /26 leaves no room for 4 subnets: use /16 to /22"),
    ("az-count-one", with_(backend="aws", network={"azCount": 1}), "dev",
     "twinstack:network.azCount: Input should be greater than or equal to 2"),
    ("grafana-without-prometheus", with_(monitoring={"grafana": True}), "dev",
     "twinstack:monitoring.grafana: needs monitoring.prometheus as its data source"),
    ("bad-log-retention", with_(monitoring={"logRetentionDays": 10}), "dev",
     "twinstack:monitoring.logRetentionDays: Input should be 1, 3, 5, 7, 14, 30"),
    ("docker-host-on-aws", with_(backend="aws", dockerHost="ssh://deploy@host"), "dev",
     "twinstack:dockerHost: only applies to the docker backend"),
    ("protect-data-not-bool", with_(protectData="yes"), "dev",
     "twinstack:protectData: must be true or false, not 'yes'"),
    ("services-not-structured", with_(services="web"), "dev",
     "twinstack:services: must be a structured value (a map or list in the stack file), not the string 'web'"),
    ("autoscaling-min-over-max", with_(services=[svc(autoscaling={"min": 5, "max": 2})]), "dev",
     "twinstack:services[0].autoscaling: min must not exceed max"),
    ("env-name-invalid", with_(services=[svc(env={"MY-VAR": "1"})]), "dev",
     "twinstack:services[0].env.MY-VAR: must be an environment variable name"),
    ("strip-root-prefix", with_(proxy={"routes": [{"path": "/", "service": "web", "stripPrefix": True}]}), "dev",
     "twinstack:proxy.routes[0].stripPrefix: the root route has no prefix to strip"),
    ("rds-reserved-username", with_(backend="aws", database={"username": "postgres"}), "dev",
     "twinstack:database.username: 'postgres' is reserved on RDS PostgreSQL; use an application role name"),
    ("rds-long-username", with_(backend="aws", database={"username": "application_owner_role"}), "dev",
     "twinstack:database.username: RDS allows at most 16 characters, not 22"),
    ("mq-cluster-on-t3", with_(backend="aws", broker={"deploymentMode": "CLUSTER_MULTI_AZ",
                                                     "instanceType": "mq.t3.micro"}), "dev",
     "twinstack:broker.instanceType: mq.t3.micro only runs SINGLE_INSTANCE brokers"),
    ("generated-and-provided", with_(generatedSecrets=["API_KEY"], services=[svc(secrets=["API_KEY"])]), "dev",
     "twinstack:generatedSecrets.API_KEY: is also set in twinstack:secrets; a secret is either generated or provided"),
]


@pytest.mark.parametrize(("cfg", "stack", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_is_reported_with_its_key_path(cfg, stack, expected):
    secrets = {"API_KEY": "x"} if "generatedSecrets" in cfg else None
    found = problems(cfg, stack, secrets)
    assert any(p.startswith(expected) for p in found), f"expected {expected!r} in {found}"
    assert all(p.startswith("twinstack:") for p in found), found


def test_there_are_at_least_25_distinct_cases():
    assert len({c[0] for c in CASES}) == len(CASES) >= 25


def test_all_problems_are_reported_at_once():
    cfg = with_(services=[svc(port=0, name="Bad"), svc(dependsOn=["ghost"])], monitoring={"grafana": "on"})
    found = problems(cfg)
    assert "twinstack:services[0].port: Input should be greater than or equal to 1" in found
    assert any(p.startswith("twinstack:services[0].name: must be a DNS label") for p in found)
    assert "twinstack:monitoring.grafana: Input should be a valid boolean" in found
    assert len(found) >= 3


def test_message_lists_every_problem_on_its_own_line():
    with pytest.raises(ConfigError) as caught:
        load("dev", {k: json.dumps(v) if not isinstance(v, str) else v
                     for k, v in with_(services=[svc(port=0)], foo="1").items()})
    text = str(caught.value)
    assert text.startswith("twinstack config has 2 problems:\n")
    assert "\n  - twinstack:foo: unknown key" in text
    assert "\n  - twinstack:services[0].port:" in text


def test_plaintext_user_secrets_are_refused():
    """`twinstack:secrets` set without --secret would sit in the stack file in clear text."""
    from pulumi.runtime import config as runtime_config

    runtime_config.set_all_config({"twinstack:secrets": json.dumps({"API_KEY": "plain"})}, [])
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in BASE.items()}
    raw["secrets"] = json.dumps({"API_KEY": "plain"})
    runtime_config.set_all_config({f"twinstack:{k}": v for k, v in raw.items()}, [])
    with pytest.raises(ConfigError) as caught:
        load("dev")
    assert any(p.startswith("twinstack:secrets: values must be encrypted") for p in caught.value.problems)


def test_environment_defaults_follow_the_stack_name():
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in with_(backend="aws", proxy={
        "tls": AWS_TLS, "routes": [{"path": "/", "service": "web"}]}).items()}
    prod = load("prod", raw).stack
    assert (prod.environment, prod.protects_data, defaults.nat(prod), defaults.flow_logs(prod),
            defaults.db_multi_az(prod)) == ("production", True, "perAz", True, True)
    staging = load("staging", raw).stack
    assert (staging.environment, staging.protects_data, defaults.nat(staging), defaults.db_multi_az(staging)) == (
        "staging", False, "single", False)


@pytest.mark.parametrize("case", ["dependency-cycle", "prod-without-tls", "route-unknown-service", "port-out-of-range"])
def test_the_program_registers_nothing_on_bad_config(case):
    cfg, stack, expected = next(c[1:] for c in CASES if c[0] == case)
    with pytest.raises(ProgramError) as caught:
        run_config(cfg, stack=stack)
    assert expected in str(caught.value)
    assert caught.value.graph.resources == []


# ------------------------------------------------------------------------------------------------- the stack file

# Mistakes in the file itself, before any key is read: (id, bytes of Pulumi.bad.yaml, expected line).
GOOD_HEAD = b"config:\n  twinstack:backend: docker\n"
STACK_FILE_CASES = [
    ("unclosed-bracket", GOOD_HEAD + b"  twinstack:generatedSecrets: [JWT_SECRET\n",
     "Pulumi.bad.yaml, line 4, column 1: the '[' opened at line 3, column 31 is not closed"),
    ("bad-indentation", GOOD_HEAD + b"   twinstack:cache: {}\n",
     "Pulumi.bad.yaml, line 3, column 19: unexpected ':' (check this line's indentation"),
    ("dedent-mismatch", b"config:\n  twinstack:backend: docker\n twinstack:cache: {}\n",
     "Pulumi.bad.yaml, line 3, column 2: this line's indentation does not match the lines above it"),
    ("tab", b"config:\n\ttwinstack:backend: docker\n",
     "Pulumi.bad.yaml, line 2, column 1: a tab character: YAML indents with spaces only"),
    ("unclosed-quote", GOOD_HEAD + b"  twinstack:namePrefix: 'dev\n",
     "Pulumi.bad.yaml, line 4, column 1: the quote opened at line 3, column 25 is not closed"),
    ("not-utf8", b"config:\n  twinstack:namePrefix: d\xe9v\n",
     "Pulumi.bad.yaml, line 2, column 26: not UTF-8 (byte 0xe9): save the file as UTF-8"),
    ("duplicate-key", GOOD_HEAD + b"  twinstack:services:\n    - name: web\n      port: 80\n      port: 8080\n",
     "Pulumi.bad.yaml, line 6, column 7: duplicate key 'port' (first set at line 5); keep one"),
    ("duplicate-config-key", GOOD_HEAD + b"  twinstack:backend: aws\n",
     "Pulumi.bad.yaml, line 3, column 3: duplicate key 'twinstack:backend' (first set at line 2)"),
    ("empty-file", b"", "Pulumi.bad.yaml: the file is empty: a stack file is a map with a `config:` block"),
    ("only-comments", b"# todo\n\n", "Pulumi.bad.yaml: the file is empty"),
    ("list-at-root", b"- twinstack:backend: docker\n",
     "Pulumi.bad.yaml: the root is a list: a stack file is a map with a `config:` key"),
    ("scalar-at-root", b"twinstack\n", "Pulumi.bad.yaml: the root is a str ('twinstack')"),
    ("misspelled-config", b"confg:\n  twinstack:backend: docker\n",
     "Pulumi.bad.yaml, line 1, column 1: unknown root key `confg:` (did you mean `config:`?)"),
    ("capitalised-config", b"Config:\n  twinstack:backend: docker\n",
     "Pulumi.bad.yaml, line 1, column 1: unknown root key `Config:` (did you mean `config:`?)"),
    ("no-config", b"encryptionsalt: v1:abc\n", "Pulumi.bad.yaml: no `config:` block"),
    ("empty-config", b"config:\n", "Pulumi.bad.yaml, line 1, column 1: `config:` is empty"),
    ("config-is-a-list", b"config:\n  - twinstack:backend: docker\n",
     "Pulumi.bad.yaml, line 1, column 1: `config:` must be a map of key: value, not a list"),
]


@pytest.mark.parametrize(("content", "expected"), [c[1:] for c in STACK_FILE_CASES], ids=[c[0] for c in STACK_FILE_CASES])
def test_stack_file_mistakes_are_named_with_file_line_and_column(tmp_path, content, expected):
    from config.stackfile import StackFileError
    from tools.graph import stack_file_config

    path = tmp_path / "Pulumi.bad.yaml"
    path.write_bytes(content)
    with pytest.raises(StackFileError) as caught:
        stack_file_config(path)
    message = str(caught.value).replace(f"{tmp_path}/", "")  # a file outside the project is named in full
    assert message.startswith(expected), message
    assert "\n" not in message
    assert isinstance(caught.value, ConfigError)  # so every tool that reports config problems reports these too


def test_the_stack_file_cases_are_distinct():
    assert len({c[0] for c in STACK_FILE_CASES}) == len(STACK_FILE_CASES) >= 15


def test_merge_keys_may_override_what_they_merge(tmp_path):
    """`<<:` merges are YAML's own reuse; a key set beside one overrides it and is not a duplicate."""
    from tools.graph import stack_file_config

    path = tmp_path / "Pulumi.ok.yaml"
    path.write_text("config:\n  twinstack:cache: &base {version: '7', persistence: aof}\n"
                    "  twinstack:database: {}\n  aws:x: {<<: *base, version: '6.2'}\n")
    config, _ = stack_file_config(path)
    assert config["aws:x"] == {"version": "6.2", "persistence": "aof"}


@pytest.mark.parametrize("case", ["unclosed-bracket", "not-utf8", "duplicate-key", "empty-file", "misspelled-config"])
def test_preflight_and_plan_report_a_bad_stack_file_in_one_line_without_a_traceback(tmp_path, monkeypatch, capsys, case):
    from tools import cli, plan, preflight

    content, expected = next(c[1:] for c in STACK_FILE_CASES if c[0] == case)
    (tmp_path / "Pulumi.bad.yaml").write_bytes(content)
    monkeypatch.setattr(preflight, "ROOT", tmp_path)
    monkeypatch.setattr(plan, "ROOT", tmp_path)
    monkeypatch.setattr(cli, "ensure", lambda *a, **k: "/usr/bin/true")  # no CLI download from a test
    assert preflight.main(["bad"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["cannot deploy stack 'bad' yet:", f"  - {err.splitlines()[1][4:]}"], err
    assert expected.split(": ", 1)[1] in err and "Traceback" not in err
    assert plan.main(["bad", "--no-write"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected.split(": ", 1)[1] in err, err
