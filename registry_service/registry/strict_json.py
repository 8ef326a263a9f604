"""Strict JSON for everything the registry accepts: what it stores, it can serve as JSON.

Python's json module accepts `NaN`, `Infinity` and `-Infinity`, turns `1e400` into infinity,
keeps lone surrogates (`"\\ud800"`) as unencodable strings, raises ValueError (not
JSONDecodeError) for integers of more than 4,300 digits, and recurses per nesting level. Each
of those either made the registry answer 500 or store a schema it later served as invalid
JSON. This parser refuses all of them up front, with the nesting checked by a linear scan
before the recursive parser runs.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from compat.source import nesting_overflow

_SURROGATE = re.compile("[\ud800-\udfff]")


class StrictJSONError(ValueError):
    """The text is not strict JSON; the message says what and where, for a client to read."""


def _refuse_constant(name: str) -> NoReturn:
    raise StrictJSONError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StrictJSONError(f"number {text[:40]} is out of range for a JSON number")
    return value


def loads(text: str, *, max_depth: int) -> Any:
    """Parse `text` as strict RFC 8259 JSON nested at most `max_depth` levels."""
    too_deep = nesting_overflow(text, max_depth)
    if too_deep is not None:
        line, column = too_deep
        raise StrictJSONError(
            f"nested deeper than {max_depth} levels at line {line} column {column}"
        )
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except StrictJSONError:
        raise
    except json.JSONDecodeError as exc:
        raise StrictJSONError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise StrictJSONError(str(exc).split(";")[0]) from None
    _refuse_surrogates(value)
    return value


def _refuse_surrogates(value: Any) -> None:
    """A lone surrogate cannot be encoded as UTF-8: refuse it instead of failing later."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            strings = [node]
        elif isinstance(node, dict):
            strings = list(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            strings = []
            stack.extend(node)
        else:
            continue
        for text in strings:
            if _SURROGATE.search(text):
                raise StrictJSONError(
                    "a string holds a lone UTF-16 surrogate (such as \\ud800), which is not "
                    "a Unicode character"
                )


def count_nodes(value: Any, limit: int) -> int:
    """JSON values in `value`, counting stops once past `limit` (the caller refuses then)."""
    count, stack = 0, [value]
    while stack and count <= limit:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count
