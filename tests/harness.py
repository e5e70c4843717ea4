"""The test harness is the project's graph recorder (tools/graph.py), shared with `python -m tools.plan`."""

from tools.graph import (  # noqa: F401 - re-exported for tests
    ROOT,
    Graph,
    ProgramError,
    Resource,
    contains_secret_marker,
    reveal,
    run_components,
    run_config,
    run_program,
    run_stack,
    stack_file_config,
)
