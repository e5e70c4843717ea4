"""Run the real `__main__.py` under Pulumi mocks and record the resource graph it declares (tests and tools.plan).

No Pulumi CLI, no Docker, no AWS: `pulumi.runtime.set_mocks` stands in for the engine, with the fake provider of
tools/mocks.py answering for AWS, Docker and random. Every RegisterResource call is
recorded with its type, name, URN, inputs (secrets kept marked), parent, dependencies and options, so tests assert on
the graph a real `pulumi preview` would see.

    graph = run_stack("dev")                                  # Pulumi.dev.yaml
    graph = run_stack("prod", set={"twinstack:cache": {...}})  # with overrides
    graph = run_config({"backend": "docker", ...}, stack="dev")  # a config dict, no file
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import os
import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pm
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from config.stackfile import read as read_stack_file
from tools.mocks import Mocks
from tools.records import SECRET, Graph, Resource, contains_secret_marker, reveal  # noqa: F401 - re-exported

ROOT = Path(__file__).resolve().parent.parent  # the project root
PROJECT = "twinstack"


# ----------------------------------------------------------------------------------------------------- recording


class RecordingMonitor(pm.MockMonitor):
    def __init__(self, mocks: pm.Mocks):
        super().__init__(mocks)
        self.records: list[Resource] = []

    def RegisterResource(self, request):  # noqa: N802 (grpc method name)
        resp = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return resp
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True) if request.object else {}
        self.records.append(Resource(
            urn=resp.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            inputs=_plain(inputs),
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            protect=bool(request.protect) if request.HasField("protect") else False,
            retain_on_delete=bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=list(request.ignoreChanges),
            replace_on_changes=list(request.replaceOnChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            aliases=[_alias_repr(a) for a in request.aliases],
            provider=request.provider or None,
        ))
        return resp


def _alias_repr(alias: Any) -> str:
    """An alias as the engine receives it: a URN, or the whole Alias message (a spec: name, type, parent) as
    protobuf text, which `google.protobuf.text_format.Parse` reads back."""
    return alias.urn if alias.HasField("urn") else str(alias)


def _plain(v: Any) -> Any:
    if isinstance(v, pulumi.output.Unknown):  # a preview's unknown, as the engine writes it
        return rpc.UNKNOWN
    if isinstance(v, dict):
        if v.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return {SECRET: _plain(v.get("value"))}
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)


# ------------------------------------------------------------------------------------------------------ running


class ProgramError(Exception):
    """The program raised; `graph` holds whatever was registered before it did (tests assert it is empty)."""

    def __init__(self, message: str, graph: Graph):
        super().__init__(message)
        self.graph = graph


def stack_file_config(path: Path) -> tuple[dict[str, Any], list[str]]:
    """A stack file's `config:` block as {key: value}.

    A `secure:` value is ciphertext only the stack's secrets provider can open, and the recorder has no passphrase or
    KMS key: it passes a known value in its place, still marked secret, so the program sees a secret as it would.
    """
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in read_stack_file(path).items():  # a StackFileError names the file, line and reason
        full = key if ":" in key else f"{PROJECT}:{key}"

        def unsecure(x: Any, full: str = full) -> Any:
            if isinstance(x, dict) and set(x) == {"secure"}:
                if full not in secret_keys:
                    secret_keys.append(full)
                return f"decrypted-{full.split(':')[-1]}"
            if isinstance(x, dict):
                return {a: unsecure(b) for a, b in x.items()}
            if isinstance(x, list):
                return [unsecure(b) for b in x]
            return x

        config[full] = unsecure(value)
    return config, secret_keys


def run_stack(stack: str, set: dict[str, Any] | None = None, file: Path | None = None,
              secret: dict[str, Any] | None = None, stack_name: str | None = None, preview: bool = False) -> Graph:
    """Run a stack file (`Pulumi.<stack>.yaml`, or `file`), with `set` overriding keys and `secret` adding secret ones.

    `preview=True` runs it as `pulumi preview` does: an output the mocks do not give is unknown, not None, and so is
    every input made from it (tests/test_mocks.py looks for those)."""
    config, secret_keys = stack_file_config(file or ROOT / f"Pulumi.{stack}.yaml")
    for key, value in (set or {}).items():
        config[key] = value
    for key, value in (secret or {}).items():
        config[key] = value
        secret_keys.append(key)
    return run_program(config, secret_keys, stack_name or stack, preview=preview)


def run_config(twinstack: dict[str, Any], stack: str = "dev", secrets: dict[str, str] | None = None,
               extra: dict[str, Any] | None = None) -> Graph:
    """Run a config given as a dict of twinstack keys (without the `twinstack:` prefix)."""
    config = {f"{PROJECT}:{k}": v for k, v in twinstack.items()}
    secret_keys = []
    if secrets:
        config[f"{PROJECT}:secrets"] = secrets
        secret_keys.append(f"{PROJECT}:secrets")
    config.update(extra or {})
    return run_program(config, secret_keys, stack)


def run_program(config: dict[str, Any], secret_keys: list[str], stack: str, preview: bool = False) -> Graph:
    """Run `__main__.py` with this config and record what it registers."""

    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    return _record(program, config, secret_keys, stack, preview)


def run_components(build: Callable[[], Any], stack: str = "components", config: dict[str, Any] | None = None) -> Graph:
    """Run `build` (which declares some components from their narrow arguments, no stack file) under the same mocks
    and record what it registers: the component tests."""
    return _record(build, dict(config or {}), [], stack)


def _record(program: Callable[[], Any], config: dict[str, Any], secret_keys: list[str], stack: str,
            preview: bool = False) -> Graph:
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in copy.deepcopy(config).items()}
    raw.setdefault("aws:region", "us-east-1")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    # Each run on an event loop of its own, closed after it, so no task of a run (a failed one leaves some) runs on.
    loop = asyncio.new_event_loop()
    tasks = 0

    def counted(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task:
        nonlocal tasks
        tasks += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counted)
    previous_loop = _current_loop()
    asyncio.set_event_loop(loop)
    cwd = os.getcwd()
    # The program tunes the garbage collector for a process of its own (see __main__.py); the recorder's process goes
    # on to other runs and tests, so it gets its own settings back.
    thresholds = gc.get_threshold()
    error: BaseException | None = None
    outputs: dict[str, Any] = {}
    monitor = RecordingMonitor(Mocks())
    started = time.perf_counter()
    try:
        pulumi.runtime.set_all_config(raw, secret_keys)
        _fresh_runtime()
        pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
        os.chdir(ROOT)
        _sync_await(run_pulumi_func(program))
        outputs = _stack_outputs()
    except BaseException as e:  # the caller decides; the graph so far travels with the error
        error = e
    finally:
        os.chdir(cwd)
        gc.set_threshold(*thresholds)
        _close(loop, failed=error is not None)
        asyncio.set_event_loop(previous_loop)
    graph = Graph(monitor.records, outputs, time.perf_counter() - started, stack, tasks)
    if error is not None:
        raise ProgramError(str(error), graph) from error
    return graph


def _fresh_runtime() -> None:
    """Forget the previous run before `set_mocks` starts this one.

    set_mocks makes a root Stack only when there is none, so without this every run in a process would hang its
    resources under the FIRST run's Stack (that stack's name in their parent URN) and export that run's outputs too.
    And its settings renew the RPC manager but not the set of the program's pending outputs: a run that failed leaves
    its failed tasks there, and the next run's `wait_for_rpcs` would await them and raise the old error again.
    """
    settings.ROOT.set(None)
    settings.SETTINGS.outputs = set()


def _current_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return None


def _close(loop: asyncio.AbstractEventLoop, failed: bool) -> None:
    """Cancel and drain what a run left on its loop (nothing after a success; after a failure, the tasks that were
    waiting on what failed), read the errors of its finished futures, and close it."""
    for _ in range(10):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    # A failed run leaves futures holding its error. Collected later, each would log that its exception was never
    # retrieved, from whatever code the collector interrupts (CPython 3.11's ast.parse, under pytest's failure report,
    # then fails with "AST constructor recursion depth mismatch"). Read them now.
    for found in gc.get_objects() if failed else []:
        if isinstance(found, asyncio.Future) and found.get_loop() is loop and found.done() and not found.cancelled():
            found.exception()
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _stack_outputs() -> dict[str, Any]:
    from pulumi.runtime.settings import get_root_resource

    outputs = {}
    for key, value in (getattr(get_root_resource(), "outputs", {}) or {}).items():
        out = pulumi.Output.from_input(value)
        val = _sync_await(out.future(with_unknowns=True))
        outputs[key] = {SECRET: _plain(val)} if _sync_await(out.is_secret()) else _plain(val)
    return outputs
