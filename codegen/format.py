"""Formatting of generated Python, so checked-in code is what `ruff format` would write.

ruff is a binary and a development dependency only, while `refract codegen` must work wherever
the `refract` distribution is installed. black is a runtime dependency of
datamodel-code-generator (which `refract` depends on) and is importable as a library; with the
repository's line length and target version its output is also `ruff format`-clean, which the
codegen tests check. Formatting is a pure function of the text, so it keeps output
byte-identical across runs and machines (no project configuration is read).
"""

from __future__ import annotations

import black
from black.mode import Mode, TargetVersion
from black.parsing import InvalidInput

LINE_LENGTH = 100  # [tool.ruff] line-length of this repository


def format_python(source: str) -> str:
    """`source` formatted like the rest of the repository; ValueError if it is not Python."""
    mode = Mode(
        target_versions={TargetVersion.PY311},
        line_length=LINE_LENGTH,
    )
    try:
        return black.format_str(source, mode=mode)
    except InvalidInput as exc:  # a generator bug, reported with the offending text
        raise ValueError(f"generated code is not valid Python: {exc}\n{source}") from None
