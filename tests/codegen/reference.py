"""The reference semantics of upcasting, built from compat.lens directly (not the generated code).

Tests compare the compiled upcasters against this: within a major the newest minor only
restamps `schema`; across majors the lens file is interpreted by `compat.lens.apply`.
"""

from __future__ import annotations

import copy
from typing import Any

from compat.catalogue import Event
from compat.lens import Lens, Op, Remove, apply, invert, load_lens


def lens_of(event: Event, major: int) -> Lens:
    """The lens from `major` into the next major of `event`."""
    following = next(m for m in event.majors() if m > major)
    return load_lens(event.lenses[(major, following)])


def reference_upcast(event: Event, document: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(document)
    latest = event.versions[-1]
    while result["schema"] != latest.ref:
        current = next(v for v in event.versions if v.ref == result["schema"])
        newest = event.newest_of_major(current.version.major)
        assert newest is not None
        if current.version != newest.version:
            result["schema"] = newest.ref
        else:
            result = apply(lens_of(event, current.version.major), result)
    return result


def reference_downcast(lens: Lens, document: dict[str, Any]) -> Any:
    return apply(invert(lens), document)


def with_removed_defaults(ops: tuple[Op, ...], document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every top-level field the lens removes set to the lens's default.

    A `remove` drops information the inverse cannot know, and the inverse restores the
    declared default; a round trip returns the original exactly when those fields already
    hold their defaults.
    """
    result = dict(document)
    for op in ops:
        if isinstance(op, Remove):
            result[op.name] = copy.deepcopy(op.default)
    return result
