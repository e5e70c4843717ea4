"""PostgreSQL as a container on the data network, its data in a named volume."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.contracts import Binding, SecretEnv, postgres_url
from components.docker.container import (
    attach,
    env_list,
    hardened,
    host_access,
    one_off,
    options,
    shell_probe,
    succeeded,
    volume_labels,
    volume_options,
)
from components.docker.network import Network
from components.docker.site import DataComponent, Site
from config import model
from config.model import StackConfig

ALIAS = "postgres"
PORT = 5432
MEMORY_MB = 512
INITDB_DIR = "/docker-entrypoint-initdb.d"


# psql quotes the values itself (:"user", :'password'); the container's command holds only variable names.
SOCKET_DIR = "/var/run/postgresql"
SYNC_PASSWORD = f"""PGPASSWORD="$POSTGRES_PASSWORD" psql -h {SOCKET_DIR} -U "$POSTGRES_USER" -d "$POSTGRES_DB" \\
  -v ON_ERROR_STOP=1 -q -v user="$POSTGRES_USER" -v password="$POSTGRES_PASSWORD" <<'SQL'
ALTER ROLE :"user" WITH PASSWORD :'password';
SQL"""


def data_path(version: str) -> str:
    """Where the image keeps PGDATA: PostgreSQL 18 images moved it under a versioned directory and expect the volume
    one level up, so that `pg_upgrade --link` can later work within one mount."""
    return "/var/lib/postgresql" if int(version) >= 18 else "/var/lib/postgresql/data"


def extensions_sql(extensions: list[str]) -> str:
    return "".join(f'CREATE EXTENSION IF NOT EXISTS "{ext}";\n' for ext in extensions)


def init_uploads(db: model.Database) -> list[docker.ContainerUploadArgs]:
    """The files the image runs once on an empty volume: the extensions to create, then the stack's own SQL."""
    uploads = []
    if db.extensions:
        uploads.append(docker.ContainerUploadArgs(file=f"{INITDB_DIR}/00-extensions.sql",
                                                  content=extensions_sql(db.extensions)))
    if db.init_sql:
        source = Path(db.init_sql)  # config rules checked it exists
        uploads.append(docker.ContainerUploadArgs(
            file=f"{INITDB_DIR}/10-init.sql", source=db.init_sql,
            # the provider only sees the path; the hash makes an edited file replace the container
            source_hash=hashlib.sha256(source.read_bytes()).hexdigest()))
    return uploads


@dataclass(frozen=True)
class DatabaseArgs:
    settings: model.Database
    password: pulumi.Input[str]
    site: Site
    network: Network
    segment: str  # the data segment (network.dataSegment), where the services reach it as `postgres`


def build(name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Database | None:
    """The adapter: the container's arguments from the stack."""
    if stack.database is None:
        return None
    assert password is not None
    return Database(name, DatabaseArgs(settings=stack.database, password=password, site=network.site,
                                       network=network, segment=stack.network.data_segment), opts)


class Database(DataComponent):
    """The official image's contract: POSTGRES_USER/DB/PASSWORD create the role and database on first start, files
    in /docker-entrypoint-initdb.d run once when the volume is empty. No host port unless `hostPort` asks for one,
    and then only on 127.0.0.1."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Database", name, None, opts)
        db = args.settings
        password = pulumi.Output.secret(args.password)
        self.image = docker.RemoteImage(f"{name}-image", name=db.image or f"postgres:{db.version}-alpine",
                                        keep_locally=True, opts=pulumi.ResourceOptions(parent=self))
        self.volume = docker.Volume(f"{name}-data", name=f"{args.site.prefix}-pgdata",
                                    labels=volume_labels(args.site, "postgres"), opts=volume_options(args.site, self))
        # the server's unix socket directory, shared with the password sync below (kept like the other volumes, so
        # every volume of the stack follows one rule)
        self.socket = docker.Volume(f"{name}-socket", name=f"{args.site.prefix}-pgsocket",
                                    labels=volume_labels(args.site, "postgres-socket"),
                                    opts=volume_options(args.site, self))
        self.container = self._server(name, args, password)
        self.password_sync = self._password_sync(name, args, password)

        # the password is only good once the server has it: the services' containers wait for this
        self.ready = succeeded(self.password_sync, "the postgres password sync")
        self.url = postgres_url(db.username, password, ALIAS, PORT, db.name, tls=False)
        self.operations = {"container": self.container.name}  # where `make backup`/`restore` run (tools/ops.py)
        self.binding = Binding(
            env={"PGHOST": ALIAS, "PGPORT": str(PORT), "PGDATABASE": db.name, "PGUSER": db.username},
            secrets={"DATABASE_URL": SecretEnv(self.url), "PGPASSWORD": SecretEnv(password)},
            depends_on=[self.container, self.password_sync],
        )
        self.register_outputs({"url": self.url, "container": self.container.name, "volume": self.volume.name,
                               "passwordSync": self.password_sync.name})

    def _server(self, name: str, args: DatabaseArgs, password: pulumi.Output[str]) -> docker.Container:
        """The server, created only once it accepts connections."""
        db = args.settings
        networks = attach(args.network, [args.segment], [ALIAS])
        if db.host_port:
            networks += host_access(args.site, args.network, args.segment, "postgres", self, name)
        # -h 127.0.0.1: during first-start init the entrypoint runs a socket-only server, which must not count as
        # ready, or services would connect before the database and role exist.
        probe = shell_probe('pg_isready -q -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
                            interval=5, timeout=3, retries=12, start_period=20)
        uploads = init_uploads(db)
        return docker.Container(f"{name}-postgres", **hardened(
            args.site, "postgres", probe, MEMORY_MB,
            image=self.image.image_id,
            envs=env_list({"POSTGRES_DB": db.name, "POSTGRES_USER": db.username}, {"POSTGRES_PASSWORD": password}),
            networks_advanced=networks,
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=data_path(db.version)),
                     docker.ContainerVolumeArgs(volume_name=self.socket.name, container_path=SOCKET_DIR)],
            ports=[docker.ContainerPortArgs(internal=PORT, external=db.host_port, ip="127.0.0.1")]
            if db.host_port else None,
            uploads=uploads or None,
            # a clean shutdown checkpoints; docker's 10 s (or the provider's kill on replace) can cut it off mid-write
            stop_timeout=60,
            destroy_grace_seconds=60,
        ), opts=options(self))

    def _password_sync(self, name: str, args: DatabaseArgs, password: pulumi.Output[str]) -> docker.Container:
        """POSTGRES_PASSWORD only initialises an empty data directory: after a rotation the role in the retained
        volume still has the old password. This one-off sets the current one through the server's unix socket, shared
        in a volume; the official image trusts local socket connections (initdb's default), so the old password is
        never needed. Services start only after it succeeded."""
        db = args.settings
        return docker.Container(f"{name}-password", **one_off(
            args.site, "postgres-password", 64,
            image=self.image.image_id,
            networks_advanced=attach(args.network, [args.segment], []),
            volumes=[docker.ContainerVolumeArgs(volume_name=self.socket.name, container_path=SOCKET_DIR)],
            envs=env_list({"POSTGRES_DB": db.name, "POSTGRES_USER": db.username}, {"POSTGRES_PASSWORD": password}),
            command=["sh", "-c", SYNC_PASSWORD],
        ), opts=options(self, [self.container]))
