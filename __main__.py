"""twinstack: load the stack's config, build the Platform on the chosen backend, export what users open."""

import gc
import importlib

import pulumi

from components.platform import Platform
from config.load import ConfigError, load

# A Pulumi program is one short batch that builds a graph of long-lived objects (resources, their Outputs, the
# asyncio tasks that resolve them). CPython's default collector thresholds suit long-running processes that churn
# short-lived objects: here its full collections rescan the whole growing graph again and again and free
# little. Measured on Castiel on AWS (281 resources, each run in a fresh interpreter, alternating): 2.5-2.9 s of CPU
# with the defaults, 2.1-2.3 s with these.
# Young collections still run, every 100,000 allocations; full ones practically never before the program ends. Set
# before the backend's provider package is imported, which allocates a lot too.
gc.set_threshold(100_000, 50, 100)

try:
    loaded = load()
except ConfigError as error:
    # RunError prints the message alone, without a traceback: every problem, before any resource exists.
    raise pulumi.RunError(str(error)) from None

backend = importlib.import_module(f"components.{loaded.stack.backend}")
platform = Platform("twinstack", loaded, opts=backend.provider_options(loaded.stack))

pulumi.export("url", platform.url)
pulumi.export("internalUrls", platform.internal_urls)
pulumi.export("operations", platform.operations)  # not secret: names and ids for tools/ops.py (docs/operations.md)
for part, url in platform.connection_urls.items():
    pulumi.export(f"{part}Url", pulumi.Output.secret(url))
if platform.dashboard_url is not None:
    pulumi.export("dashboardUrl", platform.dashboard_url)
if platform.dashboard_password is not None:
    pulumi.export("dashboardPassword", pulumi.Output.secret(platform.dashboard_password))
