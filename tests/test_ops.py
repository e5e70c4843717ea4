"""Operating a stack (tools/ops.py, docs/operations.md): what the graphs grant for it, and what it sends.

AWS: the exact RunTask, ExecuteCommand, FilterLogEvents and CreateDBSnapshot requests, built from a recorded stack's
`operations` output and checked by botocore's Stubber against botocore's own service models. Docker: a real engine
with a tiny image built here from the host's own /bin/sh (skipped, with the reason, where there is no engine).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import botocore.session
import pytest
from botocore.stub import Stubber

from config.load import ConfigError, load
from tests.harness import ProgramError, provided, reveal, run_stack, stack_file_config
from tests.test_policy import evaluate
from tools import ops
from tools.graph import ROOT

EXEC_ACTIONS = {"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}
NOW = dt.datetime(2026, 12, 2, 5, 0, 0, tzinfo=dt.UTC)

SUBNET = "aws:ec2/subnet:Subnet"


def role_policies(graph) -> dict[str, dict]:
    return {r.name: json.loads(r.get("policy")) for r in graph.of_type("aws:iam/rolePolicy:RolePolicy")}


def actions(doc: dict) -> set[str]:
    out: set[str] = set()
    for statement in doc["Statement"]:
        act = statement["Action"]
        out.update([act] if isinstance(act, str) else act)
    return out


# ------------------------------------------------------------------------------------------------- the graphs


def test_staging_opens_exec_with_logged_encrypted_sessions(staging):
    [service] = staging.of_type("aws:ecs/service:Service")
    assert service.get("enableExecuteCommand") is True
    [cluster] = staging.of_type("aws:ecs/cluster:Cluster")
    conf = cluster.get("configuration")["executeCommandConfiguration"]
    key = staging.one("aws:kms/key:Key")
    exec_logs = staging.one("aws:cloudwatch/logGroup:LogGroup", "exec-logs")
    assert conf["logging"] == "OVERRIDE" and conf["logConfiguration"]["cloudWatchEncryptionEnabled"] is True
    assert conf["logConfiguration"]["cloudWatchLogGroupName"] == exec_logs.get("name") == "/twinstack/staging/exec-sessions"
    assert key.urn in cluster.property_dependencies["configuration"] and conf["kmsKeyId"]
    assert exec_logs.get("retentionInDays") == 14 and key.urn in exec_logs.property_dependencies["kmsKeyId"]
    [doc] = [d for name, d in role_policies(staging).items() if name.endswith("-exec-policy")]
    assert actions(doc) >= EXEC_ACTIONS and "kms:Decrypt" in actions(doc)
    # the task definition runs with the role that holds it
    task = staging.one("aws:ecs/taskDefinition:TaskDefinition")
    role = staging.one("aws:iam/role:Role", "demo-task-role")
    assert role.urn in task.property_dependencies["taskRoleArn"]


def test_prod_keeps_exec_off_and_grants_no_session_channel(prod):
    assert all(s.get("enableExecuteCommand") is False for s in prod.of_type("aws:ecs/service:Service"))
    assert not any(a.startswith("ssmmessages:") for d in role_policies(prod).values() for a in actions(d))
    [cluster] = prod.of_type("aws:ecs/cluster:Cluster")
    assert cluster.get("configuration") is None
    assert not [g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup") if "exec" in g.name]
    assert prod.output("operations")["services"]["demo"]["exec"] is False


def test_a_service_gets_a_task_role_for_exec_only_where_it_is_on():
    config, _ = stack_file_config(ROOT / "Pulumi.staging.yaml")
    services = [{**config["twinstack:services"][0], "uses": ["database", "cache"]}]
    off = run_stack("staging", set={"twinstack:services": [{**services[0], "exec": False}]})
    assert off.of_type("aws:iam/role:Role") and not [r for r in off.of_type("aws:iam/role:Role") if "task-role" in r.name]
    assert off.one("aws:ecs/taskDefinition:TaskDefinition").get("taskRoleArn") is None
    assert off.one("aws:ecs/cluster:Cluster").get("configuration") is None
    assert not evaluate(off.resources, {"twinstack:environment": "staging"}, "staging")
    on = run_stack("staging", set={"twinstack:services": services})  # default: on outside production
    [doc] = [d for n, d in role_policies(on).items() if n.endswith("-exec-policy")]
    assert actions(doc) >= EXEC_ACTIONS
    assert on.one("aws:iam/role:Role", "task-role")


def test_the_operations_output_is_plain_and_complete(staging):
    assert not staging.output_is_secret("operations")
    out = staging.output("operations")
    demo = out["services"]["demo"]
    task = staging.one("aws:ecs/taskDefinition:TaskDefinition")
    assert demo["taskDefinitionFamily"] == task.get("family") == "staging-demo"
    assert demo["cluster"] == out["cluster"] == "staging" and demo["service"] == "demo" and demo["container"] == "demo"
    assert demo["logGroup"] == "/twinstack/staging/services/demo" and demo["exec"] is True
    subnets = [r for r in staging.of_type("aws:ec2/subnet:Subnet") if "private" in r.name]
    assert sorted(demo["subnets"]) == sorted(provided(s) for s in subnets) and len(subnets) == 2
    assert demo["securityGroups"] == [provided(staging.one("aws:ec2/securityGroup:SecurityGroup", "app-sg"))]
    assert out["database"] == {"identifier": "staging-postgres"}


# ---------------------------------------------------------------------------------------------------- restore


def raw_stack(stack: str, **database) -> dict:
    config, _ = stack_file_config(ROOT / f"Pulumi.{stack}.yaml")
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("twinstack:")}
    raw["database"] = {**raw["database"], **database}
    return raw


def test_a_restore_on_a_protected_database_needs_a_second_key():
    with pytest.raises(ConfigError) as refused:
        load("prod", raw_stack("prod", restoreFromSnapshot="prod-postgres-manual-20261202-050000"))
    assert "database.restoreFromSnapshot: replaces the database, which is protected" in str(refused.value)
    assert "allowProtectedReplacement" in str(refused.value)
    load("prod", raw_stack("prod", allowProtectedReplacement=True))  # the first step: lift protection alone
    load("prod", raw_stack("prod", restoreFromSnapshot="snap-1", allowProtectedReplacement=True))
    load("staging", raw_stack("staging", restoreFromSnapshot="snap-1"))  # unprotected: one key is enough
    with pytest.raises(ConfigError, match="on docker, restore a dump with `make restore`"):
        load("dev", raw_stack("dev", restoreFromSnapshot="snap-1"))


def test_a_restore_replaces_the_instance_and_nothing_else_does(staging):
    before = staging.one("aws:rds/instance:Instance")
    assert before.ignore_changes == ["snapshotIdentifier"] and not before.delete_before_replace
    config, _ = stack_file_config(ROOT / "Pulumi.staging.yaml")
    after = run_stack("staging", set={"twinstack:database": {**config["twinstack:database"],
                                                             "restoreFromSnapshot": "staging-postgres-manual-1"}})
    instance = after.one("aws:rds/instance:Instance")
    assert instance.urn == before.urn  # the same resource, replaced in place, not a new one beside it
    assert instance.get("snapshotIdentifier") == "staging-postgres-manual-1"
    assert instance.ignore_changes == [] and instance.delete_before_replace
    assert "twinstack:allowProtectedReplacement" not in (instance.get("tags") or {})


def test_an_allowed_production_restore_lifts_protection_and_the_pack_knows_why():
    config, _ = stack_file_config(ROOT / "Pulumi.prod.yaml")
    database = {**config["twinstack:database"], "restoreFromSnapshot": "prod-postgres-manual-1",
                "allowProtectedReplacement": True}
    graph = run_stack("prod", set={"twinstack:database": database})
    instance = graph.one("aws:rds/instance:Instance")
    assert not instance.protect and instance.get("deletionProtection") is False
    assert instance.get("tags")["twinstack:allowProtectedReplacement"] == "true"
    assert instance.get("snapshotIdentifier") == "prod-postgres-manual-1" and instance.delete_before_replace
    assert not evaluate(graph.resources, {"twinstack:environment": "production"}, "prod")
    # the same lifted protection without the config's consent (no marker tag) is what the pack refuses
    instance.inputs["tags"] = {k: v for k, v in reveal(instance.inputs["tags"]).items() if not k.startswith("twinstack:a")}
    policies = {v.policy for v in evaluate(graph.resources, {"twinstack:environment": "production"}, "prod")}
    assert {"rds-production-safeguards", "stateful-resources-protected"} <= policies


def test_restore_keys_are_refused_by_a_graph_run_with_one_line_per_problem():
    config, _ = stack_file_config(ROOT / "Pulumi.prod.yaml")
    with pytest.raises(ProgramError, match="restoreFromSnapshot"):
        run_stack("prod", set={"twinstack:database": {**config["twinstack:database"], "restoreFromSnapshot": "x-1"}})


# -------------------------------------------------------------------------------------------------- AWS calls


@pytest.fixture(scope="module")
def staging_ops(staging) -> dict:
    return staging.output("operations")


class Stubbed(ops.Clients):
    """Real botocore clients (fake credentials, never sent) whose calls Stubber answers and checks."""

    def __init__(self, region: str = "us-east-1"):
        session = botocore.session.get_session()
        session.set_credentials("AKIAEXAMPLE", "secret")
        super().__init__(region, session)
        self.stubbers: dict[str, Stubber] = {}

    def stub(self, service: str) -> Stubber:
        if service not in self.stubbers:
            self.stubbers[service] = Stubber(self(service))
            self.stubbers[service].activate()
        return self.stubbers[service]

    def done(self) -> None:
        for s in self.stubbers.values():
            s.assert_no_pending_responses()


def test_logs_filter_every_group_with_paging_and_interleave(staging_ops, capsys):
    clients = Stubbed()
    logs = clients.stub("logs")
    services = dict(staging_ops["services"], worker={**staging_ops["services"]["demo"], "logGroup": "/w"})
    start = int((NOW - dt.timedelta(minutes=15)).timestamp() * 1000)
    t = start + 1000
    request = {"logGroupName": "/twinstack/staging/services/demo", "startTime": start}
    logs.add_response("filter_log_events", {"events": [{"timestamp": t, "message": "one"}], "nextToken": "p2"}, request)
    logs.add_response("filter_log_events", {"events": [{"timestamp": t + 20, "message": "three"}]},
                      {**request, "nextToken": "p2"})
    logs.add_response("filter_log_events", {"events": [{"timestamp": t + 10, "message": "two"}]},
                      {"logGroupName": "/w", "startTime": start})
    assert ops.aws_logs(clients, services, "15m", follow=False, now=NOW) == 0
    clients.done()
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["[demo]   2026-12-02T04:45:01.000Z one", "[worker] 2026-12-02T04:45:01.010Z two",
                     "[demo]   2026-12-02T04:45:01.020Z three"]


def test_following_opens_one_live_tail_on_the_groups_arns(staging_ops, capsys):
    calls = []

    class Logs:
        def filter_log_events(self, **request):
            return {"events": []}

        def start_live_tail(self, **request):
            calls.append(request)
            arn = staging_ops["services"]["demo"]["logGroupArn"]
            return {"responseStream": iter([{"sessionStart": {}}, {"sessionUpdate": {"sessionResults": [
                {"logGroupIdentifier": arn, "timestamp": 1_764_651_600_000, "message": "live"}]}}])}

    ops.aws_logs(lambda _: Logs(), staging_ops["services"], "1m", follow=True)
    assert calls == [{"logGroupIdentifiers": [staging_ops["services"]["demo"]["logGroupArn"]]}]
    assert capsys.readouterr().out.endswith("[demo] 2025-12-02T05:00:00.000Z live\n")
    # the live tail's input, as botocore's model knows it
    model = botocore.session.get_session().get_service_model("logs").operation_model("StartLiveTail")
    assert model.has_event_stream_output and "logGroupIdentifiers" in model.input_shape.required_members


def test_run_starts_the_services_task_with_a_command_and_returns_its_exit_code(staging_ops, staging, capsys):
    clients = Stubbed()
    ecs, logs = clients.stub("ecs"), clients.stub("logs")
    demo = staging_ops["services"]["demo"]
    arn = "arn:aws:ecs:us-east-1:123456789012:task/staging/0123456789abcdef"
    ecs.add_response("run_task", {"tasks": [{"taskArn": arn}], "failures": []}, {
        "cluster": "staging", "taskDefinition": "staging-demo", "launchType": "FARGATE", "platformVersion": "LATEST",
        "count": 1, "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": [provided(staging.one(SUBNET, f"private-{z}")) for z in "ab"],
            "securityGroups": [provided(staging.one("aws:ec2/securityGroup:SecurityGroup", "app-sg"))],
            "assignPublicIp": "DISABLED"}},
        "overrides": {"containerOverrides": [{"name": "demo", "command": ["python", "app.py", "migrate", "--check"]}]},
        "startedBy": "twinstack-ops", "enableECSManagedTags": True, "propagateTags": "TASK_DEFINITION"})
    described = {"cluster": "staging", "tasks": [arn]}
    stream = {"logGroupName": "/twinstack/staging/services/demo", "logStreamName": "app/demo/0123456789abcdef",
              "startFromHead": True}
    ecs.add_response("describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": "PROVISIONING"}]}, described)
    logs.add_client_error("get_log_events", "ResourceNotFoundException", "The specified log stream does not exist.",
                          expected_params=stream)
    ecs.add_response("describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": "STOPPED", "containers": [
        {"name": "migrate", "exitCode": 0}, {"name": "demo", "exitCode": 3}]}]}, described)
    logs.add_response("get_log_events", {"events": [{"timestamp": 1, "message": "checking"}],
                                         "nextForwardToken": "f/1"}, stream)
    logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"}, {**stream, "nextToken": "f/1"})
    logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"}, {**stream, "nextToken": "f/1"})
    code = ops.aws_run(clients, demo, "demo", ["python", "app.py", "migrate", "--check"], sleep=lambda _: None)
    clients.done()
    assert code == 3
    assert capsys.readouterr().out == "[demo] checking\n"


def test_run_says_why_a_task_never_ran(staging_ops):
    clients = Stubbed()
    ecs, logs = clients.stub("ecs"), clients.stub("logs")
    ecs.add_response("run_task", {"tasks": [], "failures": [{"reason": "RESOURCE:ENI", "detail": "no free IP"}]}, None)
    with pytest.raises(ops.OpsError, match="ECS did not start the task: RESOURCE:ENI no free IP"):
        ops.aws_run(clients, staging_ops["services"]["demo"], "demo", ["true"])
    arn = "arn:aws:ecs:us-east-1:123456789012:task/staging/abc"
    ecs.add_response("run_task", {"tasks": [{"taskArn": arn}]}, None)
    ecs.add_response("describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": "STOPPED", "stoppedReason":
                                                   "CannotPullContainerError: denied", "containers": [{"name": "demo"}]}]})
    logs.add_client_error("get_log_events", "ResourceNotFoundException", "none")
    logs.add_client_error("get_log_events", "ResourceNotFoundException", "none")
    with pytest.raises(ops.OpsError, match="stopped without running demo: CannotPullContainerError"):
        ops.aws_run(clients, staging_ops["services"]["demo"], "demo", ["true"], sleep=lambda _: None)


def test_exec_opens_a_session_on_a_running_task_through_the_plugin(staging_ops):
    clients = Stubbed()
    ecs = clients.stub("ecs")
    demo = staging_ops["services"]["demo"]
    arn = "arn:aws:ecs:us-east-1:123456789012:task/staging/feedc0de"
    ecs.add_response("list_tasks", {"taskArns": [arn]},
                     {"cluster": "staging", "serviceName": "demo", "desiredStatus": "RUNNING"})
    ecs.add_response("describe_tasks", {"tasks": [{"taskArn": arn, "containers": [
        {"name": "migrate", "runtimeId": "feedc0de-1"}, {"name": "demo", "runtimeId": "feedc0de-2"}]}]},
        {"cluster": "staging", "tasks": [arn]})
    session = {"sessionId": "ecs-execute-command-1", "streamUrl": "wss://ssmmessages.example/1", "tokenValue": "t"}
    ecs.add_response("execute_command", {"clusterArn": "c", "containerName": "demo", "interactive": True,
                                         "session": session, "taskArn": arn},
                     {"cluster": "staging", "task": arn, "container": "demo", "interactive": True,
                      "command": "sh -c 'echo $PORT'"})
    called = []
    code = ops.aws_exec(clients, demo, "demo", "staging", ["sh", "-c", "echo $PORT"], plugin="/opt/smp",
                        call=lambda argv: called.append(argv) or 0)
    clients.done()
    assert code == 0
    [argv] = called
    assert argv[0] == "/opt/smp" and json.loads(argv[1]) == session and argv[2:4] == ["us-east-1", "StartSession"]
    assert json.loads(argv[5]) == {"Target": "ecs:staging_feedc0de_feedc0de-2"}
    assert argv[6] == "https://ecs.us-east-1.amazonaws.com"


def test_exec_says_plainly_what_is_missing(staging_ops, prod, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ops.OpsError, match=r"Session Manager plugin .* is not installed") as missing:
        ops.aws_exec(Stubbed(), staging_ops["services"]["demo"], "demo", "staging", ["sh"])
    assert "session-manager-working-with-install-plugin" in str(missing.value)
    with pytest.raises(ops.OpsError, match="ECS Exec is off for demo in stack 'prod'"):
        ops.aws_exec(Stubbed(), prod.output("operations")["services"]["demo"], "demo", "prod", ["sh"], plugin="/x")


def test_backup_takes_a_named_tagged_manual_snapshot_and_waits(prod, capsys):
    clients = Stubbed()
    rds = clients.stub("rds")
    name = "prod-postgres-before-upgrade-20261202-050000"
    rds.add_response("create_db_snapshot", {"DBSnapshot": {"DBSnapshotIdentifier": name, "Status": "creating"}}, {
        "DBSnapshotIdentifier": name, "DBInstanceIdentifier": "prod-postgres", "Tags": [
            {"Key": "twinstack:stack", "Value": "prod"}, {"Key": "twinstack:kind", "Value": "manual"},
            {"Key": "twinstack:label", "Value": "before-upgrade"}, {"Key": "twinstack:createdBy", "Value": "alice"}]})
    rds.add_response("describe_db_snapshots", {"DBSnapshots": [{"DBSnapshotIdentifier": name, "Status": "creating"}]},
                     {"DBSnapshotIdentifier": name})
    rds.add_response("describe_db_snapshots", {"DBSnapshots": [{"DBSnapshotIdentifier": name, "Status": "available"}]},
                     {"DBSnapshotIdentifier": name})
    assert ops.aws_backup(clients, prod.output("operations"), "prod", "Before upgrade", delay_seconds=0, now=NOW,
                          user="alice") == name
    clients.done()
    assert capsys.readouterr().out == f"{name}\n"


# ------------------------------------------------------------------------------------------ one-line failures


@pytest.fixture
def outputs_file(tmp_path, staging) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({k: reveal(v) for k, v in staging.outputs.items() if not staging.output_is_secret(k)}))
    return path


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_an_unknown_service_is_one_line(outputs_file, capsys):
    assert ops.main(["logs", "staging", "--service", "demo,nope", "--outputs", str(outputs_file)]) == 1
    assert one_line(capsys) == "ops: unknown service 'nope' in stack 'staging' (its services: demo)\n"


def test_missing_credentials_are_one_line(outputs_file, capsys, monkeypatch, tmp_path):
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert ops.main(["logs", "staging", "--outputs", str(outputs_file)]) == 1
    assert one_line(capsys).startswith("ops: no usable AWS credentials")


def test_a_missing_cli_or_stack_or_output_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(ops, "pulumi_cli", lambda: None)
    assert ops.main(["logs", "staging"]) == 1
    assert one_line(capsys).startswith("ops: the Pulumi CLI is not installed")
    fake = tmp_path / "pulumi"
    monkeypatch.setattr(ops, "pulumi_cli", lambda: str(fake))
    fake.write_text("#!/bin/sh\necho \"error: no stack named 'nope' found\" >&2\nexit 255\n")
    fake.chmod(0o755)
    assert ops.main(["logs", "nope"]) == 1
    assert one_line(capsys) == ("ops: no stack 'nope' here (no stack named 'nope' found): deploy it first "
                                "(make up STACK=nope)\n")
    fake.write_text("#!/bin/sh\necho '{\"url\": \"http://x\"}'\n")
    assert ops.main(["logs", "old"]) == 1
    assert "has no `operations` output" in one_line(capsys)


def test_make_backup_of_an_aws_stack_takes_the_snapshot_path(outputs_file, tmp_path):
    """scripts/backup.sh (`make backup`) hands an AWS stack to tools/ops.py; here it gets as far as the credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(TWINSTACK_OUTPUTS=str(outputs_file), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run(["bash", "scripts/backup.sh", "staging"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 1 and done.stderr.startswith("ops: no usable AWS credentials"), done.stderr
    assert done.stderr.count("\n") == 1


def test_make_targets_pass_what_they_are_given():
    done = subprocess.run(["make", "-n", "run", "STACK=staging", "SERVICE=demo", 'CMD=echo "hi there"'],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "-m tools.ops run staging --service demo" in done.stdout
    done = subprocess.run(["make", "-n", "logs", "STACK=prod", "SERVICE=a,b", "SINCE=2h", "FOLLOW=1"],
                          capture_output=True, text=True, cwd=ROOT)
    assert "-m tools.ops logs prod --service a,b --since 2h --follow" in done.stdout


# --------------------------------------------------------------------------------------------- docker engine


def _engine() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI"
    done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    return None if done.returncode == 0 else f"no docker engine: {done.stderr.strip()[:120]}"


def _rootfs_tar() -> bytes:
    """An image with the host's own sh, sleep and their libraries: nothing to pull."""
    files: set[str] = set()
    for binary in ("/bin/sh", "/bin/sleep", "/bin/cat"):
        files.add(binary)
        ldd = subprocess.run(["ldd", os.path.realpath(binary)], capture_output=True, text=True).stdout
        files.update(p for line in ldd.splitlines() for p in line.split() if p.startswith("/"))
    buf = io.BytesIO()
    folders = {str(parent) for path in files for parent in Path(path).parents if str(parent) != "/"}
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for folder in sorted(folders):  # readable by the unprivileged user the service runs as
            info = tarfile.TarInfo(folder.lstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path in sorted(files):  # each file's content at the path it is asked for (no symlinks to follow)
            tar.add(os.path.realpath(path), arcname=path.lstrip("/"), recursive=False)
        for folder in ("tmp", "data"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(info)
    return buf.getvalue()


@pytest.fixture(scope="module")
def engine():
    reason = _engine()
    if reason:
        pytest.skip(f"{reason}: the docker paths of tools/ops.py need a running engine")
    tag = f"twinstack-ops-test:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "import", "-", tag], input=_rootfs_tar(), check=True, capture_output=True)
    made: list[list[str]] = []
    yield tag, made
    for cleanup in reversed(made):
        subprocess.run(cleanup, capture_output=True)
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


@pytest.fixture(scope="module")
def dev_ops(engine) -> tuple[dict, str]:
    """The dev stack's operations output under another prefix, and its `demo` container running for real."""
    tag, made = engine
    prefix = f"ops{uuid.uuid4().hex[:6]}"
    graph = run_stack("dev", set={"twinstack:namePrefix": prefix})
    ops_out = graph.output("operations")
    [container] = ops_out["services"]["demo"]["containers"]
    assert container == f"{prefix}-demo"
    net, vol = f"{prefix}-internal", f"{prefix}-data"
    for cmd, cleanup in ((["network", "create", net], ["network", "rm", net]),
                         (["volume", "create", vol], ["volume", "rm", vol])):
        subprocess.run(["docker", *cmd], check=True, capture_output=True)
        made.append(["docker", *cleanup])
    subprocess.run(["docker", "run", "-d", "--name", container, "--network", net, "--init", "--read-only",
                    "--tmpfs", "/tmp", "--user", "10001", "--mount", f"type=volume,src={vol},dst=/data",
                    "-e", "SESSION_SECRET=s3cret value", "-e", "LOG_LEVEL=info", tag,
                    "/bin/sh", "-c", "echo started $LOG_LEVEL; exec /bin/sleep 600"], check=True, capture_output=True)
    made.append(["docker", "rm", "-f", container])
    return ops_out, container


def test_docker_logs_exec_and_a_one_off_run(dev_ops, capfd):
    ops_out, container = dev_ops
    docker = ops.Docker(ops_out["dockerHost"])
    assert ops.docker_logs(docker, ops_out["services"], "10m", follow=False) == 0
    out = capfd.readouterr().out
    assert out.startswith("[demo] 20") and out.rstrip().endswith("started info")
    assert ops.docker_exec(docker, container, ["/bin/sh", "-c", "echo in $LOG_LEVEL; exit 4"], tty=False) == 4
    assert capfd.readouterr().out == "in info\n"
    code = ops.docker_run(docker, container, "demo", ["/bin/sh", "-c",
                                                       'echo "$SESSION_SECRET" > /data/x; cat /data/x; exit 5'],
                          tty=False)
    assert code == 5 and capfd.readouterr().out == "s3cret value\n"
    left = subprocess.run(["docker", "ps", "-aq", "--filter", "label=twinstack.oneoff=demo"], capture_output=True,
                          text=True)
    assert left.stdout.strip() == ""  # removed after it ran


def test_docker_a_stopped_or_missing_container_is_one_line(dev_ops, engine, capsys, tmp_path):
    ops_out, container = dev_ops
    tag, made = engine
    stopped = f"{container}-stopped"
    subprocess.run(["docker", "create", "--name", stopped, tag, "/bin/sh", "-c", "exit 0"], check=True,
                   capture_output=True)
    made.append(["docker", "rm", "-f", stopped])
    outputs = {"operations": {**ops_out, "services": {"demo": {"containers": [stopped]},
                                                      "gone": {"containers": [f"{container}-gone"]}}}}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert ops.main(["exec", "dev", "--service", "demo", "--cmd", "true", "--outputs", str(path)]) == 1
    assert one_line(capsys).startswith(f"ops: container {stopped} is not running (created")
    assert ops.main(["run", "dev", "--service", "gone", "--cmd", "true", "--outputs", str(path)]) == 1
    assert one_line(capsys) == f"ops: no container {container}-gone: deploy the stack first (make up)\n"
