"""twinstack: load the stack's config, build the Platform on the chosen backend, export what users open."""

import importlib

import pulumi

from components.platform import Platform
from config.load import ConfigError, load

try:
    loaded = load()
except ConfigError as error:
    # RunError prints the message alone, without a traceback: every problem, before any resource exists.
    raise pulumi.RunError(str(error)) from None

backend = importlib.import_module(f"components.{loaded.stack.backend}")
platform = Platform("twinstack", loaded, opts=backend.provider_options(loaded.stack))

pulumi.export("url", platform.url)
pulumi.export("internalUrls", platform.internal_urls)
for part, url in platform.connection_urls.items():
    pulumi.export(f"{part}Url", pulumi.Output.secret(url))
if platform.dashboard_url is not None:
    pulumi.export("dashboardUrl", platform.dashboard_url)
if platform.dashboard_password is not None:
    pulumi.export("dashboardPassword", pulumi.Output.secret(platform.dashboard_password))
