"""RabbitMQ as a container on the data network, its node data in a named volume."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.contracts import Binding, SecretEnv, amqp_url
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

ALIAS = "rabbitmq"
PORT = 5672
MANAGEMENT_PORT = 15672
MEMORY_MB = 512
DATA_DIR = "/var/lib/rabbitmq"


@dataclass(frozen=True)
class BrokerArgs:
    settings: model.Broker
    password: pulumi.Input[str]
    site: Site
    network: Network
    segment: str  # the data segment (network.dataSegment), where the services reach it as `rabbitmq`


def build(name: str, stack: StackConfig, network: Network, password: pulumi.Output[str] | None,
          opts: pulumi.ResourceOptions) -> Broker | None:
    """The adapter: the container's arguments from the stack."""
    if stack.broker is None:
        return None
    assert password is not None
    return Broker(name, BrokerArgs(settings=stack.broker, password=password, site=network.site, network=network,
                                   segment=stack.network.data_segment), opts)


class Broker(DataComponent):
    """The management UI (and the `-management` image) only when asked for, published on 127.0.0.1 alone."""

    def __init__(self, name: str, args: BrokerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:docker:Broker", name, None, opts)
        self.operations = None  # nothing tools/ops.py operates
        broker = args.settings
        password = pulumi.Output.secret(args.password)

        flavour = "-management-alpine" if broker.management_ui else "-alpine"
        self.image = docker.RemoteImage(f"{name}-image", name=broker.image or f"rabbitmq:{broker.version}{flavour}",
                                        keep_locally=True, opts=pulumi.ResourceOptions(parent=self))
        self.volume = docker.Volume(f"{name}-data", name=f"{args.site.prefix}-rabbitmq-data",
                                    labels=volume_labels(args.site, "rabbitmq"), opts=volume_options(args.site, self))
        self.container = self._node(name, args, password)
        self.password_sync = self._password_sync(name, args, password)

        # the password is only good once the node has it: the services' containers wait for this
        self.ready = succeeded(self.password_sync, "the rabbitmq password sync")
        self.url = amqp_url(broker.username, password, ALIAS, PORT, tls=False)
        self.binding = Binding(secrets={"AMQP_URL": SecretEnv(self.url)},
                               depends_on=[self.container, self.password_sync])
        self.register_outputs({"url": self.url, "container": self.container.name,
                               "passwordSync": self.password_sync.name})

    def _node(self, name: str, args: BrokerArgs, password: pulumi.Output[str]) -> docker.Container:
        """The RabbitMQ node, created only once it answers a ping."""
        broker = args.settings
        networks = attach(args.network, [args.segment], [ALIAS])
        if broker.management_ui:
            networks += host_access(args.site, args.network, args.segment, "rabbitmq", self, name)
        probe = shell_probe("rabbitmq-diagnostics -q ping", interval=10, timeout=8, retries=6, start_period=30)
        return docker.Container(f"{name}-rabbitmq", **hardened(
            args.site, "rabbitmq", probe, MEMORY_MB,
            image=self.image.image_id,
            # RabbitMQ keeps its data under a node name derived from the hostname; a fixed one lets a replaced
            # container find the queues in the volume again.
            hostname=ALIAS,
            envs=env_list({"RABBITMQ_DEFAULT_USER": broker.username}, {"RABBITMQ_DEFAULT_PASS": password}),
            networks_advanced=networks,
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=DATA_DIR)],
            ports=[docker.ContainerPortArgs(internal=MANAGEMENT_PORT, external=broker.management_port, ip="127.0.0.1")]
            if broker.management_ui else None,
            stop_timeout=30,
            destroy_grace_seconds=30,
        ), opts=options(self))

    def _password_sync(self, name: str, args: BrokerArgs, password: pulumi.Output[str]) -> docker.Container:
        """RABBITMQ_DEFAULT_PASS only applies when the node first boots on an empty volume: after a rotation the user
        in the retained volume keeps the old password. This one-off talks to the node (rabbit@<its hostname>) over
        the data network, authenticated by the Erlang cookie in the shared volume, and sets the current one."""
        broker = args.settings
        return docker.Container(f"{name}-password", **one_off(
            args.site, "rabbitmq-password", 256,
            image=self.image.image_id,
            networks_advanced=attach(args.network, [args.segment], []),
            user="rabbitmq",
            envs=env_list({"RABBITMQ_DEFAULT_USER": broker.username}, {"RABBITMQ_DEFAULT_PASS": password}),
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=DATA_DIR)],
            command=["sh", "-c", f'rabbitmqctl -n rabbit@{ALIAS} change_password "$RABBITMQ_DEFAULT_USER" '
                                 '"$RABBITMQ_DEFAULT_PASS"'],
        ), opts=options(self, [self.container]))
