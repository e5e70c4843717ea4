"""The stack as data: pydantic models of every `twinstack:*` config key.

Field names are snake_case in Python and camelCase in config (`protectData`, `dependsOn`), exactly as users write
them in `Pulumi.<stack>.yaml`. Models are strict and forbid unknown keys, so a typo is an error, not a silent
default. Rules that involve more than one field live in `config/rules.py`, which reports all problems at once.

One stack file serves both backends, so a setting that only one backend reads says which (`docker:`, `aws:`). What a
backend accepts and what it defaults to by environment where a setting is left unset (None) are that backend's:
`components/<backend>/rules.py` and `components/aws/defaults.py` (docs/configuration.md lists every default).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from config.parts import PART_KEYS

# A DNS label: what Docker aliases, Cloud Map names and URLs like http://<service>:<port> all accept.
DNS_LABEL = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
SECRET_NAME = r"^[A-Z_][A-Z0-9_]*$"
# An RDS snapshot: its identifier, or its ARN (a shared or copied snapshot)
SNAPSHOT_ID = r"^([a-zA-Z][a-zA-Z0-9-]{0,254}|arn:aws[a-z-]*:rds:\S+)$"

Port = Annotated[int, Field(ge=1, le=65535)]
# Pulumi's `config set --path x 2` stores "2" as a string, so counters accept numeric strings.
Counter = Annotated[int, Field(ge=0, strict=False)]


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=False, extra="forbid", strict=True, frozen=True
    )


# ---------------------------------------------------------------------------------------------------- network


class Segment(Model):
    """A Docker network. `internal` segments have no route out of the host and cannot publish ports."""

    name: Annotated[str, Field(pattern=DNS_LABEL)]
    internal: bool = False


def _default_segments() -> list[Segment]:
    return [Segment(name="public"), Segment(name="internal", internal=True)]


class Network(Model):
    # aws: the VPC
    cidr: str = "10.0.0.0/16"
    az_count: Annotated[int, Field(ge=2, le=6)] = 2
    # none: private subnets have no internet route (services then need VPC endpoints for ECR/logs);
    # single: one NAT gateway (cheap, one AZ is a single point of egress); perAz: one per AZ (HA).
    nat: Literal["none", "single", "perAz"] | None = None  # None: the backend's default for the environment
    flow_logs: bool | None = None  # None: the backend's default for the environment
    # docker: the networks a container may join, and which one holds the proxy and which the data tier
    segments: list[Segment] = Field(default_factory=_default_segments)
    proxy_segment: str = "public"
    data_segment: str = "internal"


# -------------------------------------------------------------------------------------------------- data tier


class Database(Model):
    version: Annotated[str, Field(pattern=r"^1[3-8]$")] = "16"  # PostgreSQL major version
    image: str | None = None  # docker: defaults to postgres:<version>-alpine
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = "app"
    username: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = "app"
    extensions: list[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]] = []
    init_sql: str | None = None  # docker: a SQL file run once when the volume is first initialised
    host_port: Port | None = None  # docker: publish on 127.0.0.1 (for a local psql); never on 0.0.0.0
    # aws
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = "db.t4g.micro"
    allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 20
    max_allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 100
    backup_retention_days: Annotated[int, Field(ge=0, le=35)] = 7
    multi_az: bool | None = None  # None: the backend's default for the environment
    performance_insights: bool = True
    # aws: (re)create the database from this RDS snapshot (name or ARN). Setting or changing it REPLACES the instance
    # (see docs/operations.md); on a protected database it is refused unless allowProtectedReplacement is also true.
    restore_from_snapshot: Annotated[str, Field(pattern=SNAPSHOT_ID)] | None = None
    allow_protected_replacement: bool = False  # aws: lifts protect and deletion protection for a restore; remove after


class Cache(Model):
    version: Annotated[str, Field(pattern=r"^[67](\.[0-9])?$")] = "7"  # Redis
    image: str | None = None  # docker: defaults to redis:<version>-alpine
    persistence: Literal["aof", "none"] = "aof"  # docker: append-only file on a volume, or memory only
    # aws
    node_type: Annotated[str, Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")] = "cache.t4g.micro"
    # read replicas; > 0 turns on failover and Multi-AZ. None: the backend's default for the environment
    replicas: Annotated[int, Field(ge=0, le=5)] | None = None
    snapshot_retention_days: Annotated[int, Field(ge=0, le=35)] = 1


class Broker(Model):
    version: Annotated[str, Field(pattern=r"^[34]\.[0-9]+$")] = "3.13"  # RabbitMQ
    image: str | None = None  # docker: defaults to rabbitmq:<version>-management-alpine or -alpine
    username: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,99}$")] = "app"
    management_ui: bool = False  # docker: publish the management UI on 127.0.0.1 (dev only)
    management_port: Port = 15672
    # aws: Amazon MQ; None: the backend's default for the environment
    instance_type: Annotated[str, Field(pattern=r"^mq\.[a-z0-9]+\.[a-z0-9]+$")] | None = None
    deployment_mode: Literal["SINGLE_INSTANCE", "CLUSTER_MULTI_AZ"] | None = None


class Storage(Model):
    """The workspace: a named volume in docker, an S3 bucket on aws."""

    mount_path: Annotated[str, Field(pattern=r"^/[^\s]*$")] = "/workspace"
    bucket_name: str | None = None  # aws: a fixed name (checked against S3's rules); default: generated
    noncurrent_version_days: Annotated[int, Field(ge=1, le=3650)] = 30


# --------------------------------------------------------------------------------------------------- services


class Build(Model):
    context: str
    dockerfile: str = "Dockerfile"
    args: dict[Annotated[str, Field(pattern=ENV_NAME)], str] = Field(default_factory=dict)
    target: str | None = None


class HealthCheck(Model):
    """HTTP GET on the service's own port (`path`) or a command run inside the container (`command`).

    `command` takes Docker's forms and means the same on both backends: `["CMD", "prog", "arg"]` or a bare argv
    `["prog", "arg"]` runs the program itself; `["CMD-SHELL", "one shell line"]` runs the line with `/bin/sh -c`.
    """

    path: Annotated[str, Field(pattern=r"^/\S*$")] | None = None
    command: Annotated[list[str], Field(min_length=1)] | None = None
    interval_seconds: Annotated[int, Field(ge=5, le=300)] = 10
    timeout_seconds: Annotated[int, Field(ge=2, le=60)] = 5
    retries: Annotated[int, Field(ge=1, le=10)] = 5
    start_period_seconds: Annotated[int, Field(ge=0, le=300)] = 30

    @model_validator(mode="after")
    def _one_probe(self) -> HealthCheck:
        if (self.path is None) == (self.command is None):
            raise ValueError("set exactly one of `path` or `command`")
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError("timeoutSeconds must be less than intervalSeconds")
        if self.command is not None:
            form, rest = self.command[0], self.command[1:]
            if form == "CMD-SHELL" and len(rest) != 1:
                raise ValueError('command: "CMD-SHELL" takes exactly one string, the shell line to run')
            if form == "CMD" and not rest:
                raise ValueError('command: "CMD" needs the program to run after it')
            if form == "CMD" and rest[0] in ("CMD", "CMD-SHELL", "NONE"):
                raise ValueError(f'command: "CMD" then "{rest[0]}" would run a program called {rest[0]}; '
                                 'give one form')
            if form == "NONE":
                raise ValueError('command: "NONE" turns the check off, but every service needs one; give a command')
        return self

    @property
    def test(self) -> list[str] | None:
        """The command in the form Docker's `HEALTHCHECK` and ECS's `healthCheck.command` both take."""
        if self.command is None:
            return None
        return list(self.command) if self.command[0] in ("CMD", "CMD-SHELL") else ["CMD", *self.command]


class Autoscaling(Model):
    min: Annotated[int, Field(ge=1, le=100)] = 1
    max: Annotated[int, Field(ge=1, le=100)] = 4
    cpu_target: Annotated[int, Field(ge=10, le=95)] = 60
    memory_target: Annotated[int, Field(ge=10, le=95)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Migration(Model):
    """A one-off command in the service's image that must succeed before the service starts."""

    command: Annotated[list[str], Field(min_length=1)]


class Metrics(Model):
    path: Annotated[str, Field(pattern=r"^/\S*$")] = "/metrics"
    port: Port | None = None  # default: the service port


class SharedVolume(Model):
    """A docker named volume shared between services and the proxy (e.g. Django's static files)."""

    name: Annotated[str, Field(pattern=DNS_LABEL)]
    path: Annotated[str, Field(pattern=r"^/[^\s]*$")]
    read_only: bool = False


# what a service may name in `uses`: the part kinds of config/parts.py
Part = Literal[PART_KEYS]  # type: ignore[valid-type]


class Service(Model):
    """An app service. One without a `port` is a worker (a queue consumer, a scheduler): it listens on nothing, so
    it has no route, no internal URL and no HTTP health check; its health check is a command."""

    name: Annotated[str, Field(pattern=DNS_LABEL)]
    image: str | None = None
    build: Build | None = None
    port: Port | None = None
    command: list[str] | None = None
    env: dict[Annotated[str, Field(pattern=ENV_NAME)], str] = Field(default_factory=dict)
    # names from twinstack:secrets (user-provided) or twinstack:generatedSecrets, injected as env vars
    secrets: list[Annotated[str, Field(pattern=SECRET_NAME)]] = []
    # user-provided secrets that may be unset (like `${OPENAI_API_KEY}` left empty in Compose): skipped with a warning
    optional_secrets: list[Annotated[str, Field(pattern=SECRET_NAME)]] = []
    health_check: HealthCheck
    uses: list[Part] = []
    depends_on: list[str] = []
    migration: Migration | None = None
    replicas: Annotated[int, Field(ge=0, le=100)] = 1
    autoscaling: Autoscaling | None = None
    cpu: Annotated[int, Field(ge=128, le=16384)] = 256  # CPU units: 1024 = one vCPU
    memory: Annotated[int, Field(ge=64, le=122880)] = 512  # MiB, a hard limit
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    user: str | None = None  # run as this user (uid[:gid]); default: the image's
    read_only_root_filesystem: bool = False
    networks: list[str] | None = None  # docker segments; default: proxy segment (+ data segment if it uses data)
    volumes: list[SharedVolume] = []
    metrics: Metrics | None = None
    # aws: ECS Exec (`make shell`/`make exec`) into this service's tasks. None: the backend's default for the environment.
    # docker: `docker exec` always works; the key changes nothing there.
    exec: bool | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Service:
        if (self.image is None) == (self.build is None):
            raise ValueError("set exactly one of `image` or `build`")
        return self

    @property
    def worker(self) -> bool:
        return self.port is None



# ------------------------------------------------------------------------------------------------------ proxy


class Route(Model):
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/-]*$")]
    service: str | None = None  # forward to this service's port
    volume: str | None = None  # or serve files from this shared volume (docker); on aws the volume's writer serves it
    strip_prefix: bool = False
    websocket: bool = True

    @model_validator(mode="after")
    def _one_target(self) -> Route:
        if (self.service is None) == (self.volume is None):
            raise ValueError("set exactly one of `service` or `volume`")
        return self


class Tls(Model):
    # aws: an existing ACM certificate, or one created and DNS-validated in a Route 53 zone
    certificate_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/.+$")] | None = None
    domain: str | None = None
    zone_id: str | None = None
    # docker: PEM files on the deploying machine
    cert_file: str | None = None
    key_file: str | None = None


class Proxy(Model):
    image: str = "nginx:1.27-alpine"
    http_port: Port = 8080  # docker: host port
    https_port: Port = 8443
    bind_address: str = "127.0.0.1"  # docker: 0.0.0.0 only on a server that should be reachable
    tls: Tls | None = None
    allow_http: bool = False  # serve plain HTTP without TLS (dev always may; production never)
    client_max_body_size_mb: Annotated[int, Field(ge=1, le=10240)] = 25
    timeout_seconds: Annotated[int, Field(ge=1, le=4000)] = 60
    routes: Annotated[list[Route], Field(min_length=1)]


# ------------------------------------------------------------------------------------------------- monitoring


class Monitoring(Model):
    prometheus: bool = False  # docker
    grafana: bool = False  # docker (needs prometheus)
    grafana_port: Port = 3003
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653] = 30
    alarm_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    cpu_alarm_percent: Annotated[int, Field(ge=1, le=100)] = 80
    memory_alarm_percent: Annotated[int, Field(ge=1, le=100)] = 80
    error_rate_alarm_count: Annotated[int, Field(ge=1)] = 10  # ALB 5xx per 5 minutes
    latency_alarm_seconds: Annotated[float, Field(gt=0, strict=False)] = 2.0


# ---------------------------------------------------------------------------------------------------- budget


class Budget(Model):
    """A monthly cost ceiling for an AWS stack, checked by preflight and the policy pack (docs/plan.md)."""

    monthly_usd: Annotated[float, Field(gt=0, le=10_000_000, strict=False, allow_inf_nan=False)]
    warn_at: Annotated[float, Field(gt=0, le=1, strict=False, allow_inf_nan=False)] = 0.8  # fraction of monthlyUsd


# ------------------------------------------------------------------------------------------------ whole stack


class StackConfig(Model):
    backend: Literal["docker", "aws"]
    environment: Literal["development", "staging", "production"]
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")]
    protect_data: bool | None = None  # default: on in production
    docker_host: Annotated[str, Field(pattern=r"^(unix|tcp|ssh|npipe)://\S+$")] | None = None
    network: Network = Field(default_factory=Network)
    database: Database | None = None
    cache: Cache | None = None
    broker: Broker | None = None
    storage: Storage | None = None
    services: Annotated[list[Service], Field(min_length=1)]
    proxy: Proxy
    monitoring: Monitoring = Field(default_factory=Monitoring)
    budget: Budget | None = None
    generated_secrets: list[Annotated[str, Field(pattern=SECRET_NAME)]] = []
    rotation: dict[str, Counter] = Field(default_factory=dict)
    # names only: the values stay in Pulumi's secret config and are read as secrets (see config/load.py)
    secret_names: list[str] = []

    # -- environment defaults: secure in production, cheap elsewhere; an explicit setting always wins
    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def protects_data(self) -> bool:
        return self.production if self.protect_data is None else self.protect_data

    def services_in_dependency_order(self) -> list[Service]:
        """Every service after the services it depends on, otherwise in config order (rules reject cycles)."""
        done: dict[str, Service] = {}

        def visit(svc: Service) -> None:
            if svc.name not in done:
                for dep in svc.depends_on:
                    visit(self.service(dep))
                done[svc.name] = svc

        for svc in self.services:
            visit(svc)
        return list(done.values())

    def part(self, key: str) -> BaseModel | None:
        """The settings of a part kind (config/parts.py), or None where the stack does not configure it."""
        return getattr(self, key)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def rotation_of(self, secret: str) -> int:
        return self.rotation.get(secret, 0)
