"""Suite-wide pytest hooks.

The Confluent conformance figures are printed at the end of every run (also under xdist, where
test output is captured on workers), so every CI log shows them.
"""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.compat.test_confluent_conformance import agreement

    summary, *_ = agreement()
    terminalreporter.write_sep("-", "compat")
    terminalreporter.write_line(summary)
