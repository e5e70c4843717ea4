"""The docker backend: hardened containers, and a data tier that only the app can reach."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import registry, tokens
from .common import check_each, dig, identities, is_true, items, number, of_type, refers_to, resource_policy

# Images of the data tier, by repository name: a container that runs one is data tier wherever it is declared. The
# registry knows no images (a per-kind detail), so a new data-tier kind is caught by its component alone: a container
# under the component of any of the registry's data-tier kinds is data tier, whatever image it runs.
DATA_IMAGES = {"postgres", "postgresql", "pgvector", "postgis", "redis", "valkey", "rabbitmq"}
DATA_TIER_SERVERS = registry.said([registry.parts.KINDS[key].summary for key in registry.parts.DATA_TIER])
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
RESTART_POLICIES = {"always", "unless-stopped", "on-failure"}


def one_off(props) -> bool:
    """A run-to-completion container (a migration): pulumi-docker waits for it to exit instead of keeping it up."""
    return props.get("mustRun") is False or is_true(props.get("attach"))


def _not_privileged(args: ResourceValidationArgs) -> Iterator[str]:
    if is_true(args.props.get("privileged")):
        yield "the container is privileged: it is root on the host"


def _no_new_privileges(args: ResourceValidationArgs) -> Iterator[str]:
    options = {str(o).replace("=", ":") for o in items(args.props.get("securityOpts"))}
    if not options & {"no-new-privileges", "no-new-privileges:true"}:
        yield "processes may gain privileges (setuid): add security_opts=['no-new-privileges:true']"


def _health_check(args: ResourceValidationArgs) -> Iterator[str]:
    if one_off(args.props):
        return
    tests = items(dig(args.props, "healthcheck", "tests"))
    if not tests or tests[0] == "NONE":
        yield "no health check: dependants cannot wait for it to be ready and a hung process goes unnoticed"


def _memory_limit(args: ResourceValidationArgs) -> Iterator[str]:
    if number(args.props.get("memory")) <= 0:
        yield "no memory limit: one leaking container can take the whole host down; set memory (MiB)"


def _restart_policy(args: ResourceValidationArgs) -> Iterator[str]:
    if not one_off(args.props) and args.props.get("restart") not in RESTART_POLICIES:
        yield f"restart policy {args.props.get('restart') or 'no'!r}: a crashed container stays down; use unless-stopped"


def image_name(reference: str) -> str:
    """`registry:5000/library/postgres:16-alpine@sha256:...` -> `postgres`."""
    last = reference.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def data_tier(args: StackValidationArgs) -> list[PolicyResource]:
    images = of_type(args, [tokens.DOCKER_REMOTE_IMAGE])

    def is_data(container: PolicyResource) -> bool:
        names = [str(container.props.get("image") or "")]
        names += [str(i.props.get("name") or "") for i in images if refers_to(container, "image", i)]
        return any(image_name(n) in DATA_IMAGES for n in names) or registry.under_data_tier(container)

    return [c for c in of_type(args, [tokens.DOCKER_CONTAINER]) if is_data(c)]


def _data_not_published(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    def check(container: PolicyResource) -> Iterator[str]:
        if is_true(container.props.get("publishAllPorts")):
            yield "publishes all its ports on the host"
        for port in items(container.props.get("ports")):
            ip = dig(port, "ip") or "0.0.0.0"
            if ip not in LOOPBACK:
                yield (f"publishes port {dig(port, 'internal')} on {ip}: the data tier is reached over the internal "
                       "network (publish on 127.0.0.1 only, for a local client)")

    check_each(data_tier(args), check, report_violation)


def _data_internal_network(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Internal networks only, with one exception: Docker publishes no port from a container whose networks are all
    internal, so a data container that publishes on 127.0.0.1 (database.hostPort, the broker's management UI) may
    also join a bridge network of its own, one that no other container joins."""
    networks = of_type(args, [tokens.DOCKER_NETWORK])
    containers = of_type(args, [tokens.DOCKER_CONTAINER])

    def attached(container: PolicyResource, network: PolicyResource) -> bool:
        names = {dig(a, "name") for a in items(container.props.get("networksAdvanced"))}
        return bool(names & identities(network)) or refers_to(container, "networksAdvanced", network)

    def members(network: PolicyResource) -> list[PolicyResource]:
        return [c for c in containers if attached(c, network)]

    def check(container: PolicyResource) -> Iterator[str]:
        mode = str(container.props.get("networkMode") or "")
        if mode == "host":
            yield "runs in the host's network namespace"
            return
        if mode.startswith("container:"):
            # the one-offs beside a server (password syncs) join the data network like the server itself
            yield f"shares the network namespace of {mode.split(':', 1)[1]!r} instead of joining the data network"
            return
        attachments = items(container.props.get("networksAdvanced"))
        if not attachments:
            yield "joins Docker's default bridge network, which every container can reach and which routes out"
        # Attachments name their network; when the names are ids unknown here, the property dependencies still say
        # which networks they are (one per attachment).
        linked = [n for n in networks if refers_to(container, "networksAdvanced", n)]
        for attachment in attachments:
            name = dig(attachment, "name")
            found = [n for n in networks if name in identities(n)]
            found = found or (linked if len(linked) == len(attachments) else [])
            if not found:
                yield f"joins {name!r}, a network outside this stack; the data tier belongs on internal networks only"
            for network in found:
                if not (is_true(network.props.get("internal")) or members(network) == [container]):
                    yield (f"joins '{network.name}', which is not internal and which other containers share; the data "
                           "tier belongs on internal networks")

    data = data_tier(args)
    check_each(data, check, report_violation)


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    resource_policy("docker-no-privileged", "Containers never run privileged.", [tokens.DOCKER_CONTAINER],
                    _not_privileged),
    resource_policy("docker-no-new-privileges", "Containers run with no-new-privileges.", [tokens.DOCKER_CONTAINER],
                    _no_new_privileges),
    resource_policy("docker-health-checks", "Long-running containers have a health check.", [tokens.DOCKER_CONTAINER],
                    _health_check),
    resource_policy("docker-memory-limits", "Containers have a memory limit.", [tokens.DOCKER_CONTAINER],
                    _memory_limit),
    resource_policy("docker-restart-policy", "Long-running containers restart after a crash.",
                    [tokens.DOCKER_CONTAINER], _restart_policy),
    StackValidationPolicy(name="docker-data-tier-not-published", description=f"{DATA_TIER_SERVERS} containers "
                          "publish no ports beyond the loopback address.", validate=_data_not_published),
    StackValidationPolicy(name="docker-data-tier-internal-network", description=f"{DATA_TIER_SERVERS} containers "
                          "join only internal networks.", validate=_data_internal_network),
]
