"""The reverse proxy: an nginx container, the only one publishing ports, with a config generated from the routes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.docker import nginx
from components.docker.container import attach, hardened, http_check, options
from components.docker.network import Network
from components.docker.site import Site
from config import model

ALIAS = "proxy"
MEMORY_MB = 128


@dataclass(frozen=True)
class ProxyArgs:
    settings: model.Proxy
    site: Site
    network: Network
    segment: str  # the proxy segment (network.proxySegment), where the services it forwards to are
    config: str  # the nginx config (nginx.render)
    served: Mapping[str, docker.Volume]  # the shared volumes that routes serve, by name


def _pem_upload(path: str, target: str) -> docker.ContainerUploadArgs:
    source = Path(path)  # config rules checked it exists
    # `source` keeps the PEM out of Pulumi state; the hash makes a renewed certificate replace the container.
    return docker.ContainerUploadArgs(file=target, source=path,
                                      source_hash=hashlib.sha256(source.read_bytes()).hexdigest())


def public_url(proxy: model.Proxy) -> str:
    host = proxy.bind_address if proxy.bind_address not in ("0.0.0.0", "::") else "localhost"
    if proxy.tls:
        host = proxy.tls.domain or host
        return f"https://{host}" + ("" if proxy.https_port == 443 else f":{proxy.https_port}")
    return f"http://{host}" + ("" if proxy.http_port == 80 else f":{proxy.http_port}")


def published(proxy: model.Proxy) -> list[docker.ContainerPortArgs]:
    """The host ports: HTTP, and HTTPS with TLS, on the configured bind address."""
    ports = [docker.ContainerPortArgs(internal=nginx.HTTP_PORT, external=proxy.http_port, ip=proxy.bind_address)]
    if proxy.tls:
        ports.append(docker.ContainerPortArgs(internal=nginx.HTTPS_PORT, external=proxy.https_port,
                                              ip=proxy.bind_address))
    return ports


def uploads(proxy: model.Proxy, config: str) -> list[docker.ContainerUploadArgs]:
    """The files nginx reads: its config, and with TLS the certificate and key."""
    files = [docker.ContainerUploadArgs(file=nginx.CONF_FILE, content=config)]
    if proxy.tls:
        assert proxy.tls.cert_file and proxy.tls.key_file
        files += [_pem_upload(proxy.tls.cert_file, nginx.CERT_FILE), _pem_upload(proxy.tls.key_file, nginx.KEY_FILE)]
    return files


def mounts(served: Mapping[str, docker.Volume]) -> list[docker.ContainerVolumeArgs] | None:
    """The served shared volumes, read-only, where the config's locations alias them; None when routes serve none."""
    return [docker.ContainerVolumeArgs(volume_name=volume.name, container_path=nginx.volume_mount(name),
                                       read_only=True) for name, volume in served.items()] or None


class Proxy(pulumi.ComponentResource):
    """Resolves its upstreams per request through Docker's DNS, so it needs nothing from the services to start and
    comes up before them; shared volumes that routes serve are mounted read-only."""

    def __init__(self, name: str, args: ProxyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Proxy", name, None, opts)
        proxy = args.settings
        self.config: str = args.config
        self.image = docker.RemoteImage(f"{name}-image", name=proxy.image, keep_locally=True,
                                        opts=pulumi.ResourceOptions(parent=self))
        probe = http_check(nginx.HEALTH_PORT, nginx.HEALTH_PATH, interval=5, timeout=3, retries=6, start_period=5)
        self.container = docker.Container(f"{name}-nginx", **hardened(
            args.site, "proxy", probe, MEMORY_MB,
            image=self.image.image_id,
            networks_advanced=attach(args.network, [args.segment], [ALIAS]),
            ports=published(proxy),
            uploads=uploads(proxy, args.config),
            volumes=mounts(args.served),
        ), opts=options(self))

        # resolves once the container is up, so whatever reads the url waits for the proxy
        url = public_url(proxy)
        self.url: pulumi.Output[str] = self.container.name.apply(lambda _: url)
        self.register_outputs({"url": self.url, "container": self.container.name})
