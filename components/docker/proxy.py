"""The reverse proxy: an nginx container, the only one publishing ports, with a config generated from the routes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.docker import nginx
from components.docker.container import attach, hardened, http_check, options
from components.docker.network import Network
from config.model import StackConfig

ALIAS = "proxy"
MEMORY_MB = 128


def _pem_upload(path: str, target: str) -> docker.ContainerUploadArgs:
    source = Path(path)  # config rules checked it exists
    # `source` keeps the PEM out of Pulumi state; the hash makes a renewed certificate replace the container.
    return docker.ContainerUploadArgs(file=target, source=path,
                                      source_hash=hashlib.sha256(source.read_bytes()).hexdigest())


def public_url(stack: StackConfig) -> str:
    proxy = stack.proxy
    host = proxy.bind_address if proxy.bind_address not in ("0.0.0.0", "::") else "localhost"
    if proxy.tls:
        host = proxy.tls.domain or host
        return f"https://{host}" + ("" if proxy.https_port == 443 else f":{proxy.https_port}")
    return f"http://{host}" + ("" if proxy.http_port == 80 else f":{proxy.http_port}")


class Proxy(pulumi.ComponentResource):
    """Resolves its upstreams per request through Docker's DNS, so it needs nothing from the services to start and
    comes up before them; shared volumes that routes serve are mounted read-only."""

    def __init__(self, name: str, stack: StackConfig, network: Network, parts: Mapping[str, pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Proxy", name, None, opts)
        proxy = stack.proxy
        child = pulumi.ResourceOptions(parent=self)
        self.config: str = nginx.render(stack)

        uploads = [docker.ContainerUploadArgs(file=nginx.CONF_FILE, content=self.config)]
        ports = [docker.ContainerPortArgs(internal=nginx.HTTP_PORT, external=proxy.http_port, ip=proxy.bind_address)]
        if proxy.tls:
            assert proxy.tls.cert_file and proxy.tls.key_file
            uploads += [_pem_upload(proxy.tls.cert_file, nginx.CERT_FILE),
                        _pem_upload(proxy.tls.key_file, nginx.KEY_FILE)]
            ports.append(docker.ContainerPortArgs(internal=nginx.HTTPS_PORT, external=proxy.https_port,
                                                  ip=proxy.bind_address))

        served = sorted({r.volume for r in proxy.routes if r.volume is not None})
        volumes = None
        if served:
            shared = parts["storage"].volumes  # type: ignore[attr-defined]
            volumes = [docker.ContainerVolumeArgs(volume_name=shared[v].name, container_path=nginx.volume_mount(v),
                                                  read_only=True) for v in served]

        self.image = docker.RemoteImage(f"{name}-image", name=proxy.image, keep_locally=True, opts=child)
        probe = http_check(nginx.HEALTH_PORT, nginx.HEALTH_PATH, interval=5, timeout=3, retries=6, start_period=5)
        self.container = docker.Container(f"{name}-nginx", **hardened(
            stack, "proxy", probe, MEMORY_MB,
            image=self.image.image_id,
            networks_advanced=attach(network, [stack.network.proxy_segment], [ALIAS]),
            ports=ports,
            uploads=uploads,
            volumes=volumes,
        ), opts=options(self))

        # resolves once the container is up, so whatever reads the url waits for the proxy
        self.url: pulumi.Output[str] = self.container.name.apply(lambda _: public_url(stack))
        self.register_outputs({"url": self.url, "container": self.container.name})
