"""Suite-wide pytest hooks.

The Confluent conformance figures are printed at the end of every run (also under xdist, where
test output is captured on workers), so every CI log shows them.
"""

from __future__ import annotations

import pytest

# kinesis-local, fakesnow and the contracts' registry template: one of each per test session
# (xdist worker), for every test that asks for it.
pytest_plugins = [
    "tests.support.kinesis_local",
    "tests.support.fakesnow_server",
    "tests.support.registry_template",
]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.compat.test_confluent_conformance import agreement

    summary, *_ = agreement()
    terminalreporter.write_sep("-", "compat")
    terminalreporter.write_line(summary)
