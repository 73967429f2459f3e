"""Start the longest rule tests first, so pytest-xdist does not leave them for the end of the run."""

from __future__ import annotations

import pytest

LONG_FIRST = ("tests/rules/test_month_backfill.py", "tests/rules/test_generated_promtool.py::test_promtool_case")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        for index, prefix in enumerate(LONG_FIRST):
            if item.nodeid.startswith(prefix):
                return index
        return len(LONG_FIRST)

    items.sort(key=rank)  # stable: the order within each rank is kept
