"""The program's own warnings (`pulumi.log.warn`) when it runs under mocks, collected instead of printed as they come.

Under `pulumi.runtime.set_mocks` the SDK hands log messages to Python's root logger, which prints each one to stderr as
it is logged: `make plan` then showed every example's warnings, some twice, before the plan it was asked for. The
tools collect them here and print each one once, after their own output.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Collector(logging.Handler):
    def __init__(self, into: list[str]):
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.into:
            self.into.append(message)


@contextmanager
def collected() -> Iterator[list[str]]:
    """Within the block, warnings and errors logged to the root logger go to the list yielded, once each."""
    messages: list[str] = []
    root = logging.getLogger()
    handler = _Collector(messages)
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        yield messages
    finally:
        root.handlers = saved
