"""scripts/backup.sh and restore.sh against a recording stand-in for the docker CLI: which container, which engine,
which command, and that a dump round-trips through a restore."""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT

FAKE_DOCKER = r"""#!/usr/bin/env bash
# records every call; `inspect` says running for $FAKE_RUNNING; `exec` dumps or swallows stdin
echo "DOCKER_HOST=${DOCKER_HOST:-} $*" >> "$FAKE_LOG"
case "$1" in
  inspect) [ "${@: -1}" = "$FAKE_RUNNING" ] && echo true || exit 1 ;;
  exec)
    if [ "$2" = "-i" ]; then cat > "$FAKE_RESTORED"; else printf -- '-- dump of %s\nCREATE TABLE t (id int);\n' "$2"; fi ;;
  *) exit 2 ;;
esac
"""


@pytest.fixture
def project(tmp_path):
    """A project directory with the scripts, and `docker` on PATH replaced by the recorder."""
    (tmp_path / "scripts").mkdir()
    for script in ("backup.sh", "restore.sh", "stack-postgres.sh"):
        shutil.copy2(ROOT / "scripts" / script, tmp_path / "scripts" / script)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def run(project: Path, script: str, *args: str, running: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{project / 'bin'}:{os.environ['PATH']}", "FAKE_LOG": str(project / "calls.log"),
           "FAKE_RUNNING": running, "FAKE_RESTORED": str(project / "restored.sql")}
    env.pop("DOCKER_HOST", None)
    return subprocess.run(["bash", str(project / "scripts" / script), *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)


def calls(project: Path) -> list[str]:
    return (project / "calls.log").read_text().splitlines()


def test_backup_dumps_the_stack_postgres_container_into_backups(project):
    (project / "Pulumi.dev.yaml").write_text("config:\n  twinstack:backend: docker\n")
    result = run(project, "backup.sh", running="dev-postgres")
    assert result.returncode == 0, result.stderr
    [dump] = list((project / "backups").glob("dev-*.sql.gz"))
    assert gzip.decompress(dump.read_bytes()).decode().startswith("-- dump of dev-postgres\n")
    [exec_call] = [c for c in calls(project) if " exec " in f" {c}"]
    assert "pg_dump" in exec_call and "--clean --if-exists" in exec_call and "$POSTGRES_PASSWORD" in exec_call
    assert not list((project / "backups").glob("*.partial"))


def test_the_prefix_and_engine_come_from_the_stack_file(project):
    (project / "Pulumi.castiel.yaml").write_text(
        'config:\n  twinstack:backend: docker\n  twinstack:namePrefix: "cst"\n'
        "  twinstack:dockerHost: ssh://deploy@staging-host\n")
    result = run(project, "backup.sh", "castiel", running="cst-postgres")
    assert result.returncode == 0, result.stderr
    assert all(c.startswith("DOCKER_HOST=ssh://deploy@staging-host ") for c in calls(project))
    assert list((project / "backups").glob("castiel-*.sql.gz"))


def test_without_a_name_prefix_it_is_derived_from_the_stack_name_as_the_program_does(project):
    (project / "Pulumi.Team.QA_1.yaml").write_text("config:\n  twinstack:backend: docker\n")
    assert run(project, "backup.sh", "Team.QA_1", running="team-qa-1-postgres").returncode == 0


def test_a_stack_that_is_not_running_is_refused_with_a_hint(project):
    (project / "Pulumi.dev.yaml").write_text("config:\n  twinstack:backend: docker\n")
    result = run(project, "backup.sh", "dev", running="other-postgres")
    assert result.returncode == 1 and "dev-postgres is not running" in result.stderr
    assert not (project / "backups").exists() or not list((project / "backups").iterdir())


def test_restore_replays_the_newest_backup_in_one_transaction(project):
    (project / "Pulumi.dev.yaml").write_text("config:\n  twinstack:backend: docker\n")
    backups = project / "backups"
    backups.mkdir()
    (backups / "dev-20250101T000000Z.sql.gz").write_bytes(gzip.compress(b"-- old\n"))
    newest = backups / "dev-20250102T000000Z.sql.gz"
    newest.write_bytes(gzip.compress(b"-- newest\n"))
    os.utime(backups / "dev-20250101T000000Z.sql.gz", (1, 1))
    result = run(project, "restore.sh", running="dev-postgres")
    assert result.returncode == 0, result.stderr
    assert (project / "restored.sql").read_text() == "-- newest\n"
    [exec_call] = [c for c in calls(project) if " exec " in f" {c}"]
    assert "exec -i dev-postgres" in exec_call
    assert "--single-transaction" in exec_call and "ON_ERROR_STOP=1" in exec_call


def test_restore_refuses_a_file_that_is_not_a_backup(project):
    (project / "Pulumi.dev.yaml").write_text("config:\n  twinstack:backend: docker\n")
    (project / "broken.sql.gz").write_text("not gzip")
    result = run(project, "restore.sh", "dev", str(project / "broken.sql.gz"), running="dev-postgres")
    assert result.returncode == 1 and "not a readable gzip file" in result.stderr
    assert not (project / "restored.sql").exists()


def test_backup_then_restore_round_trips(project):
    (project / "Pulumi.dev.yaml").write_text("config:\n  twinstack:backend: docker\n")
    assert run(project, "backup.sh", running="dev-postgres").returncode == 0
    [dump] = list((project / "backups").glob("dev-*.sql.gz"))
    assert run(project, "restore.sh", "dev", str(dump), running="dev-postgres").returncode == 0
    assert (project / "restored.sql").read_text() == gzip.decompress(dump.read_bytes()).decode()
