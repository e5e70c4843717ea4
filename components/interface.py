"""The backend interface: what Platform asks a backend for, and what it reads from each part it gets back.

A backend is a package `components/<backend>/` whose `__init__.py` provides the functions of `Backend`. Each function
is the backend's adapter for one part: it reads the stack's config, resolves the backend's defaults and builds the
part's narrow arguments (a dataclass beside the component: the settings the component uses and the parts it needs,
never the whole StackConfig). The component itself is built from those arguments alone, so a test can build one
component without a stack (tests/test_components_aws.py, tests/test_components_docker.py).

Platform reads from a part only what its protocol here names; a backend's parts read each other's backend-specific
attributes (the KMS key, the docker networks) through their own typed arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import pulumi

from components.contracts import Binding, SecretEnv
from config.model import StackConfig
from config.parts import PartKind


class SecretStorePart(Protocol):
    # each app secret as the env var a service receives it as
    env: Mapping[str, SecretEnv]


class DataPart(Protocol):
    """A part kind of config/parts.py: what it hands the services that use it."""

    binding: Binding
    # the connection URL (secret) of a part with a password; None for one without (storage)
    url: pulumi.Output[str] | None
    # what tools/ops.py needs to operate it (the stack's `operations` output), or None: nothing secret
    operations: Mapping[str, pulumi.Input[Any]] | None


class ProxyPart(Protocol):
    url: pulumi.Output[str]


class ServicesPart(Protocol):
    # the `operations` stack output: how tools/ops.py reaches each service
    operations: Mapping[str, pulumi.Input[Any]]


class MonitoringPart(Protocol):
    url: pulumi.Output[str] | None
    # a generated sign-in password (docker's Grafana), or None where the dashboard signs in another way
    dashboard_password: pulumi.Output[str] | None


class Backend(Protocol):
    """The functions a backend package provides. `network`, `parts`, `proxy` and `services` are what the same backend
    returned before: each backend knows its own parts' types."""

    def provider_options(self, stack: StackConfig) -> pulumi.ResourceOptions | None: ...

    def network(self, name: str, stack: StackConfig, opts: pulumi.ResourceOptions) -> pulumi.ComponentResource: ...

    def secret_store(self, name: str, stack: StackConfig, network: Any, values: Mapping[str, pulumi.Output[str]],
                     opts: pulumi.ResourceOptions) -> SecretStorePart: ...

    def part(self, kind: PartKind, name: str, stack: StackConfig, network: Any, password: pulumi.Output[str] | None,
             opts: pulumi.ResourceOptions) -> DataPart: ...

    def proxy(self, name: str, stack: StackConfig, network: Any, parts: Mapping[str, DataPart],
              opts: pulumi.ResourceOptions) -> ProxyPart: ...

    def services(self, name: str, stack: StackConfig, network: Any, parts: Mapping[str, DataPart],
                 secrets: Mapping[str, SecretEnv], proxy: ProxyPart, opts: pulumi.ResourceOptions) -> ServicesPart: ...

    def monitoring(self, name: str, stack: StackConfig, network: Any, parts: Mapping[str, DataPart],
                   proxy: ProxyPart, services: ServicesPart, opts: pulumi.ResourceOptions) -> MonitoringPart: ...
