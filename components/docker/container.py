"""What every long-running container of the docker backend shares: hardening, logging, health checks, start waits.

Helpers, not components: each part passes `hardened(...)` into its `docker.Container` so the security baseline
(no-new-privileges, never privileged, a memory limit, a restart policy, rotated logs) holds for every container. Only
`host_access` declares a resource, as a child of the part that calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker

from components.contracts import health_test, http_probe
from components.docker.network import Network
from components.docker.site import Site
from config.model import HealthCheck

# json-file grows without bound by default; three 10 MB files keep `docker logs` useful without filling the disk.
LOG_OPTS = {"max-size": "10m", "max-file": "3"}
# Space on /tmp for containers whose root filesystem is read-only.
TMPFS = {"/tmp": "rw,nosuid,nodev,size=64m"}


@dataclass(frozen=True)
class Probe:
    """A health check: the command docker runs inside the container and how patiently it runs it."""

    test: list[str]
    interval: int = 5
    timeout: int = 3
    retries: int = 10
    start_period: int = 10

    def args(self) -> docker.ContainerHealthcheckArgs:
        return docker.ContainerHealthcheckArgs(
            tests=self.test,
            interval=f"{self.interval}s",
            timeout=f"{self.timeout}s",
            retries=self.retries,
            start_period=f"{self.start_period}s",
        )

    @property
    def wait_timeout(self) -> int:
        """Seconds `pulumi up` waits for healthy: the start period, every retry, and a margin for a slow host."""
        return self.start_period + self.interval * (self.retries + 1) + 30


def shell_probe(command: str, **timing: int) -> Probe:
    return Probe(test=["CMD-SHELL", command], **timing)


def http_check(port: int, path: str, **timing: int) -> Probe:
    """An HTTP GET health check (contracts.http_probe) with this timing."""
    return Probe(test=http_probe(port, path, timing.get("timeout", Probe.timeout)), **timing)


def service_probe(check: HealthCheck, port: int | None) -> Probe:
    """The service's own health check (contracts.health_test), with its timing."""
    return Probe(test=health_test(check, port), interval=check.interval_seconds, timeout=check.timeout_seconds,
                 retries=check.retries, start_period=check.start_period_seconds)


def env_list(plain: Mapping[str, pulumi.Input[str]],
             secret: Mapping[str, pulumi.Input[str]] | None = None) -> pulumi.Output[list[str]]:
    """`KEY=value` strings in key order (stable diffs), a secret key winning over a plain one of the same name. Any
    secret value keeps the whole list secret; without one it is secret only if a plain value already is."""
    secret = dict(secret or {})

    def render(values: dict[str, dict[str, str]]) -> list[str]:
        merged = {**values["plain"], **values["secret"]}
        return [f"{key}={merged[key]}" for key in sorted(merged)]

    env = pulumi.Output.all(plain=dict(plain), secret=secret).apply(render)
    return pulumi.Output.secret(env) if secret else env


def attach(network: Network, segments: Sequence[str],
           aliases: Sequence[str]) -> list[docker.ContainerNetworksAdvancedArgs]:
    """Join these segments of `network` under these DNS names on each."""
    return [docker.ContainerNetworksAdvancedArgs(name=network.networks[s].name, aliases=list(aliases))
            for s in segments]


def host_access(site: Site, network: Network, segment: str, role: str, parent: pulumi.Resource,
                name: str) -> list[docker.ContainerNetworksAdvancedArgs]:
    """A bridge network holding only this container, for a port published to the host from the data tier.

    Docker publishes no ports from a container whose networks are all `internal`; joining a segment other containers
    share would open the data tier to them, so the port gets a network of its own that nothing else joins.
    """
    if not network.internal[segment]:
        return []
    own = docker.Network(f"{name}-host-access", name=f"{site.prefix}-{role}-host", driver="bridge",
                         labels=[docker.NetworkLabelArgs(label="twinstack.stack", value=site.prefix)],
                         opts=pulumi.ResourceOptions(parent=parent))
    return [docker.ContainerNetworksAdvancedArgs(name=own.name)]


def hardened(site: Site, container_name: str, probe: Probe | None, memory: int,
             **args: Any) -> dict[str, Any]:
    """Arguments for a long-running container: named deterministically, restarted unless stopped, limited,
    unprivileged, logs rotated, and (with a probe) created only once healthy, so dependents start after it."""
    base: dict[str, Any] = {
        "name": f"{site.prefix}-{container_name}",
        "restart": "unless-stopped",
        "memory": memory,
        "privileged": False,
        "security_opts": ["no-new-privileges:true"],
        "log_driver": "json-file",
        "log_opts": LOG_OPTS,
    }
    if probe is not None:
        base.update(healthcheck=probe.args(), wait=True, wait_timeout=probe.wait_timeout)
    base.update(args)
    return base


def one_off(site: Site, container_name: str, memory: int, **args: Any) -> dict[str, Any]:
    """Arguments for a run-to-completion container (a migration, a password sync): `pulumi up` attaches, waits for
    the exit and fails on a non-zero code, so whatever depends on it starts only after it succeeded. It is never
    restarted, and re-runs only when its inputs change (a new image, a new password)."""
    return hardened(site, container_name, None, memory, attach=True, logs=True, must_run=False, restart="no", **args)


def job_failure(what: str, name: str, code: int | None, logs: str | None) -> str | None:
    """Why a finished one-off counts as failed, or None. No exit code yet (a preview) is not a failure."""
    if code in (None, 0):
        return None
    tail = "\n".join((logs or "").strip().splitlines()[-15:]) or "(no output)"
    return f"{what} failed: container {name} exited with code {code}. Its last output:\n{tail}"


def succeeded(job: docker.Container, what: str) -> pulumi.Output[str]:
    """The job's name, once it exited 0; a non-zero exit fails the deployment with the job's last output.

    The docker provider waits for an attached container to finish but records its exit code without failing on it,
    so without this gate (see `after_jobs`) the services would start after a failed migration.
    """
    def check(args: list[Any]) -> str:
        name, code, logs = args
        if problem := job_failure(what, name, code, logs):
            raise pulumi.RunError(problem)
        return name

    return pulumi.Output.all(job.name, job.exit_code, job.container_logs).apply(check)


def after_jobs(gates: Sequence[pulumi.Output[str]]) -> list[docker.ContainerLabelArgs] | None:
    """A label naming the one-offs a container starts after, known only once each of them exited 0.

    A label rather than the env: the env stays visible in a preview, and only this label waits for the jobs.
    """
    if not gates:
        return None
    names = pulumi.Output.all(*gates).apply(lambda done: ",".join(done))
    return [docker.ContainerLabelArgs(label="twinstack.after", value=names)]


def options(parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
    """Options for a container: its docker name is fixed, so a replacement must remove the old one first (docker
    refuses a second container by the same name)."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on), delete_before_replace=True)


def volume_labels(site: Site, role: str) -> list[docker.VolumeLabelArgs]:
    """Labels that let `docker volume ls --filter label=twinstack.stack=<prefix>` find a stack's retained data."""
    return [docker.VolumeLabelArgs(label="twinstack.stack", value=site.prefix),
            docker.VolumeLabelArgs(label="twinstack.role", value=role)]


def volume_options(site: Site, parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """Data outlives `pulumi destroy` when the stack protects data, as `docker compose down` keeps volumes."""
    return pulumi.ResourceOptions(parent=parent, retain_on_delete=site.protect_data, protect=site.production)
