"""Nesting depth: bounded per event without recursion, and JSON for any parsed value.

orjson parses up to 1024 levels but serializes at most 255, and Python's ``repr`` and most
tree walks recurse, so an event nested a few hundred levels deep used to fail the batch
(RecursionError, a 500) or land in the dead-letter stream as a Python ``repr`` that nothing
can replay (issue 10). Three tools close that class:

* ``exceeds_depth`` tells, with an explicit stack, whether a value nests deeper than a limit,
  stopping at the first branch that does: the gateway rejects such an event alone
  (``too_deep``) before any recursive work touches it;
* ``schema_depth_bound`` is the deepest instance a schema can accept, or None when it cannot
  tell (an open object, an array without ``items``, a recursive ``$ref``): for a contract whose
  schema bounds the depth below the limit, validation itself refuses anything deeper and the
  per-event walk (about 10 µs for a 1.5 KB event) is skipped on the hot path;
* ``dumps_any_depth`` serializes a parsed JSON value of any depth iteratively, so a dead letter
  always carries JSON.
"""

from __future__ import annotations

from typing import Any

import orjson


def exceeds_depth(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` containers deep (a scalar is depth 0, ``{}``
    and ``[]`` depth 1)."""
    if type(value) is not dict and type(value) is not list:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > limit:
            return True
        for child in node.values() if type(node) is dict else node:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, depth + 1))
    return False


_SCALARS = frozenset({"string", "number", "integer", "boolean", "null"})


def schema_depth_bound(schema: Any) -> int | None:
    """The deepest instance ``schema`` validates (0 for scalars), or None when unbounded or
    unknown. Conservative: None is always a safe answer; a number is a proven bound."""
    return _bound(schema, schema, frozenset())


def _bound(node: Any, root: Any, resolving: frozenset[str]) -> int | None:
    if node is False:
        return 0
    if not isinstance(node, dict):
        return None  # True, {} and anything unexpected accept every value
    candidates: list[int] = []  # every one of these applies (allOf semantics): the min bounds
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in resolving or not ref.startswith("#/"):
            return None  # recursive or external: unbounded as far as we can prove
        target: Any = root
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            target = target.get(token) if isinstance(target, dict) else None
        found = _bound(target, root, resolving | {ref})
        if found is not None:
            candidates.append(found)
    if "const" in node:
        candidates.append(_value_depth(node["const"]))
    if isinstance(node.get("enum"), list):
        candidates.append(max((_value_depth(v) for v in node["enum"]), default=0))
    types = node.get("type")
    type_set = (
        {types} if isinstance(types, str) else set(types) if isinstance(types, list) else None
    )
    if type_set is not None:
        depth = 0
        for kind in type_set:
            if kind in _SCALARS:
                continue
            inner = _container_bound(node, kind, root, resolving)
            if inner is None:
                depth = -1
                break
            depth = max(depth, inner)
        if depth >= 0:
            candidates.append(depth)
    for keyword in ("allOf",):
        for part in node.get(keyword) or []:
            found = _bound(part, root, resolving)
            if found is not None:
                candidates.append(found)
    for keyword in ("anyOf", "oneOf"):
        parts = node.get(keyword)
        if isinstance(parts, list) and parts:
            bounds = [_bound(part, root, resolving) for part in parts]
            if all(b is not None for b in bounds):
                candidates.append(max(b for b in bounds if b is not None))
    return min(candidates) if candidates else None


def _container_bound(
    node: dict[str, Any], kind: str, root: Any, resolving: frozenset[str]
) -> int | None:
    if kind == "object":
        closed = (
            node.get("additionalProperties") is False or node.get("unevaluatedProperties") is False
        )
        if not closed or node.get("patternProperties"):
            return None
        inner = 0
        for child in (node.get("properties") or {}).values():
            found = _bound(child, root, resolving)
            if found is None:
                return None
            inner = max(inner, found)
        return 1 + inner
    if kind == "array":
        parts = list(node.get("prefixItems") or [])
        items = node.get("items")
        if items is False:
            pass
        elif items is None:
            return None
        else:
            parts.append(items)
        inner = 0
        for part in parts:
            found = _bound(part, root, resolving)
            if found is None:
                return None
            inner = max(inner, found)
        return 1 + inner
    return None


def _value_depth(value: Any) -> int:
    """Depth of a schema literal (const/enum values), level by level."""
    depth, level = 0, [value]
    while True:
        containers = [node for node in level if isinstance(node, dict | list)]
        if not containers:
            return depth
        depth += 1
        level = [
            child
            for node in containers
            for child in (node.values() if isinstance(node, dict) else node)
        ]


def dumps_any_depth(value: Any) -> bytes:
    """``value`` (made of dict, list, str, int, float, bool, None) as JSON bytes, whatever its
    depth, without recursion. Leaves are written by orjson; anything that is not JSON becomes
    ``null`` (parsed payloads never hold such values)."""
    out: list[bytes] = []
    # the stack holds values to write, and bytes to emit verbatim (separators, closers)
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is _Raw:
            out.append(item.data)
            continue
        if isinstance(item, dict):
            entries = list(item.items())
            stack.append(_Raw(b"}"))
            for index in range(len(entries) - 1, -1, -1):
                key, child = entries[index]
                stack.append(child)
                prefix = b"," if index else b""
                stack.append(_Raw(prefix + _leaf(str(key)) + b":"))
            out.append(b"{")
        elif isinstance(item, list | tuple):
            stack.append(_Raw(b"]"))
            for index in range(len(item) - 1, -1, -1):
                stack.append(item[index])
                if index:
                    stack.append(_Raw(b","))
            out.append(b"[")
        else:
            out.append(_leaf(item))
    return b"".join(out)


class _Raw:
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _leaf(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return b"null"
