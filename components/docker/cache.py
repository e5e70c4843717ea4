"""Redis as a container on the data network: password required, append-only file on a named volume."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.contracts import Binding, SecretEnv, redis_url
from components.docker.container import attach, env_list, hardened, options, shell_probe, volume_labels, volume_options
from components.docker.network import Network
from components.docker.site import DataComponent, Site
from config import model
from config.model import StackConfig

ALIAS = "redis"
PORT = 6379
MEMORY_MB = 256


@dataclass(frozen=True)
class CacheArgs:
    settings: model.Cache
    password: pulumi.Input[str]
    site: Site
    network: Network
    segment: str  # the data segment (network.dataSegment), where the services reach it as `redis`


def build(name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Cache | None:
    """The adapter: the container's arguments from the stack."""
    if stack.cache is None:
        return None
    assert password is not None
    return Cache(name, CacheArgs(settings=stack.cache, password=password, site=network.site, network=network,
                                 segment=stack.network.data_segment), opts)


class Cache(DataComponent):
    """`persistence: aof` keeps an fsync-per-second append-only file in a retained volume (what compose setups mount
    at /data); `none` is memory only, with RDB snapshots off too so nothing is written at all."""

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Cache", name, None, opts)
        self.operations = None  # nothing tools/ops.py operates
        cache, site = args.settings, args.site
        password = pulumi.Output.secret(args.password)

        self.image = docker.RemoteImage(f"{name}-image", name=cache.image or f"redis:{cache.version}-alpine",
                                        keep_locally=True, opts=pulumi.ResourceOptions(parent=self))
        self.volume: docker.Volume | None = None
        volumes = None
        if cache.persistence == "aof":
            self.volume = docker.Volume(f"{name}-data", name=f"{site.prefix}-redisdata",
                                        labels=volume_labels(site, "redis"), opts=volume_options(site, self))
            volumes = [docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path="/data")]
            persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            persistence = ["--appendonly", "no", "--save", ""]

        # The command starts with `redis-server` so the image's entrypoint drops root for the redis user.
        command = password.apply(lambda pw: ["redis-server", "--requirepass", pw, *persistence])
        # redis-cli reads REDISCLI_AUTH, which keeps the password off the health check's command line (visible in
        # `docker inspect` and `ps`); grep, because redis-cli exits 0 on an error reply such as NOAUTH.
        probe = shell_probe("redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG",
                            interval=5, timeout=3, retries=10, start_period=5)
        self.container = docker.Container(f"{name}-redis", **hardened(
            site, "redis", probe, MEMORY_MB,
            image=self.image.image_id,
            command=command,
            envs=env_list({}, {"REDISCLI_AUTH": password}),
            networks_advanced=attach(args.network, [args.segment], [ALIAS]),
            volumes=volumes,
            stop_timeout=30,
            destroy_grace_seconds=30,
        ), opts=options(self))

        self.url = redis_url(password, ALIAS, PORT, tls=False)
        self.binding = Binding(secrets={"REDIS_URL": SecretEnv(self.url)}, depends_on=[self.container])
        self.register_outputs({"url": self.url, "container": self.container.name})
