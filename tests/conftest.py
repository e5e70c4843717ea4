"""Fixtures shared across test modules."""

import pytest

from tests.harness import Graph
from tests.test_aws_variants import shared


# The AWS graphs, recorded once per test process and read by every test_aws_* module (a module may define its own
# fixture of the same name, which then wins).
@pytest.fixture(scope="module")
def staging() -> Graph:
    return shared("staging")


@pytest.fixture(scope="module")
def prod() -> Graph:
    return shared("prod")


@pytest.fixture(scope="module")
def rich_graph() -> Graph:
    return shared("rich")
