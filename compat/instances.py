"""Building small instances that a schema accepts, optionally with a chosen value at a chosen place.

A counterexample for one reported change is a whole event, not just the offending field: the
writing schema must accept all of it. So we need valid instances of arbitrary (realistic) schemas,
with a given value planted at a given instance location and every ancestor on the way present.

The builder works on *conjunctions*: a list of schema nodes that must all hold at one instance
location (a `$ref` target, the branches of `allOf`, the `additionalProperties` of one node and the
`properties` entry of another ...). It proposes candidates from the keywords it understands and
keeps only those the reference validator accepts for every node, so anything it does not
understand (`not`, `if`/`then`, `unevaluatedProperties`, odd regexes) can cost a candidate but
never yields an invalid instance. Candidates come in a fixed order, so results are deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any
from urllib.parse import quote

import jsonschema
import jsonschema.validators
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from referencing import Registry

from compat.source import SchemaSet, pointer_join

# Deterministic, generate-only searches: shrinking is what makes `find` slow, and derandomize
# keeps the output stable from run to run.
_FIND_SETTINGS = settings(
    database=None,
    derandomize=True,
    max_examples=200,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],
)

# One representative value per format the reference validator asserts; verified like the rest.
FORMAT_EXAMPLES: dict[str, list[str]] = {
    "uuid": ["00000000-0000-4000-8000-000000000000", "123e4567-e89b-42d3-a456-426614174000"],
    "date-time": ["2024-01-01T00:00:00.000Z", "2024-06-30T12:34:56.789Z"],
    "date": ["2024-01-01", "2024-06-30"],
    "time": ["00:00:00Z", "12:34:56.789Z"],
    "email": ["user@example.com", "someone.else@example.org"],
    "idn-email": ["user@example.com"],
    "uri": ["https://example.com/", "https://example.org/path?q=1"],
    "iri": ["https://example.com/"],
    "uri-reference": ["https://example.com/", "/path"],
    "iri-reference": ["https://example.com/"],
    "uri-template": ["https://example.com/{id}"],
    "ipv4": ["192.0.2.1", "198.51.100.7"],
    "ipv6": ["2001:db8::1", "::1"],
    "hostname": ["example.com", "api.example.org"],
    "idn-hostname": ["example.com"],
    "duration": ["P1D", "PT1H"],
    "regex": ["^a$", ".*"],
    "json-pointer": ["/a", ""],
    "relative-json-pointer": ["0", "1/a"],
}

_TYPE_ORDER = ("string", "integer", "number", "boolean", "null", "object", "array")
_MAX_DEPTH = 16
_STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_KEYWORDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
)
_OBJECT_KEYWORDS = (
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "minProperties",
    "maxProperties",
    "propertyNames",
)
_ARRAY_KEYWORDS = (
    "items",
    "prefixItems",
    "additionalItems",
    "contains",
    "minItems",
    "maxItems",
    "uniqueItems",
)


@dataclass(frozen=True)
class Node:
    """One schema that applies at an instance location.

    `uri`/`pointer` say where it lives so the reference validator can check a value against it
    with `$ref`s resolving as in its file; synthetic nodes (constraints we add ourselves, never
    with `$ref`s) have `uri` None and are validated as literals.
    """

    schema: Any
    uri: str | None
    pointer: str = ""

    def child(self, *tokens: str | int) -> Node:
        value = self.schema
        for token in tokens:
            value = value[token]
        pointer = pointer_join(self.pointer, *tokens) if self.uri is not None else ""
        return Node(value, self.uri, pointer)

    @property
    def keywords(self) -> Mapping[str, Any]:
        return self.schema if isinstance(self.schema, Mapping) else {}


def synthetic(schema: Mapping[str, Any]) -> Node:
    """A constraint of our own, e.g. `{"minLength": 11}` to look for a too-long string."""
    return Node(dict(schema), None)


@dataclass(frozen=True)
class Focus:
    """Plant `leaf` at instance `path` (keys and indices), making every ancestor present."""

    path: tuple[str | int, ...]
    leaf: Any


@dataclass
class InstanceBuilder:
    """Proposes verified instances of conjunctions of nodes from one SchemaSet."""

    schemas: SchemaSet
    _validators: dict[tuple[str | None, str, str], Any] = field(default_factory=dict)

    # -- nodes and validation -------------------------------------------------------------

    def root(self) -> Node:
        return Node(self.schemas.schema, self.schemas.root.uri, "")

    def accepts(self, nodes: Iterable[Node], value: Any) -> bool:
        """Whether the reference validator accepts `value` for every node."""
        return all(self._validator(node).is_valid(value) for node in nodes)

    def _validator(self, node: Node) -> Any:
        if node.uri is None:
            key: tuple[str | None, str, str] = (None, "", repr(node.schema))
        else:
            key = (node.uri, node.pointer, "")
        validator = self._validators.get(key)
        if validator is None:
            cls: type[Any] = jsonschema.Draft202012Validator
            if node.uri is None:
                # An empty registry, not jsonschema's default (which fetches remote $refs with
                # a warning): a schema fragment never reaches the network or the disk.
                validator = cls(node.schema, registry=Registry(), format_checker=cls.FORMAT_CHECKER)
            else:
                # The file's own dialect, so draft-07 tuples (`items: [...]`) mean what they say.
                source = self.schemas.files.get(node.uri)
                root_contents = source.contents if source is not None else {}
                cls = jsonschema.validators.validator_for(root_contents, default=cls)
                target = node.uri + "#" + quote(node.pointer, safe="/~!$&'()*+,;=:@")
                validator = cls(
                    {"$ref": target},
                    registry=self.schemas.registry,
                    format_checker=cls.FORMAT_CHECKER,
                )
            self._validators[key] = validator
        return validator

    def expand(self, nodes: Iterable[Node]) -> list[Node]:
        """Flatten `$ref` targets and `allOf` branches into one list of nodes (cycle-safe)."""
        result: list[Node] = []
        seen: set[tuple[str | None, str, str]] = set()
        stack = list(reversed(list(nodes)))
        while stack:
            node = stack.pop()
            ident = (node.uri, node.pointer, "" if node.uri is not None else repr(node.schema))
            if ident in seen:
                continue
            seen.add(ident)
            result.append(node)
            keywords = node.keywords
            pending: list[Node] = []
            ref = keywords.get("$ref")
            if isinstance(ref, str) and node.uri is not None:
                contents, uri, pointer = self.schemas.resolve(ref, node.uri)
                pending.append(Node(contents, uri, pointer))
            branches = keywords.get("allOf")
            if isinstance(branches, list):
                pending.extend(node.child("allOf", i) for i in range(len(branches)))
            stack.extend(reversed(pending))
        return result

    # -- instance locations ---------------------------------------------------------------

    def key_nodes(self, flat: Sequence[Node], key: str) -> list[Node]:
        """The nodes that apply to property `key` of an object valid for all of `flat`."""
        result: list[Node] = []
        for node in flat:
            keywords = node.keywords
            matched = False
            properties = keywords.get("properties")
            if isinstance(properties, Mapping) and key in properties:
                result.append(node.child("properties", key))
                matched = True
            patterns = keywords.get("patternProperties")
            if isinstance(patterns, Mapping):
                for pattern in patterns:
                    if _search(pattern, key):
                        result.append(node.child("patternProperties", pattern))
                        matched = True
            if not matched and "additionalProperties" in keywords:
                result.append(node.child("additionalProperties"))
        return result

    def index_nodes(self, flat: Sequence[Node], index: int) -> list[Node]:
        """The nodes that apply to item `index` of an array valid for all of `flat`."""
        result: list[Node] = []
        for node in flat:
            keywords = node.keywords
            items = keywords.get("items")
            if isinstance(items, list):  # draft-07 tuple
                if index < len(items):
                    result.append(node.child("items", index))
                elif "additionalItems" in keywords:
                    result.append(node.child("additionalItems"))
                continue
            prefix = keywords.get("prefixItems")
            if isinstance(prefix, list) and index < len(prefix):
                result.append(node.child("prefixItems", index))
            elif "items" in keywords:
                result.append(node.child("items"))
        return result

    # -- generation -----------------------------------------------------------------------

    def first(self, nodes: Sequence[Node], focus: Focus | None = None) -> tuple[bool, Any]:
        """(True, value) for the first verified candidate, else (False, None)."""
        for value in self.values(nodes, focus):
            return True, value
        return False, None

    def values(
        self, nodes: Sequence[Node], focus: Focus | None = None, depth: int = 0
    ) -> Iterator[Any]:
        """Verified candidates for the conjunction `nodes`, simplest first."""
        if depth > _MAX_DEPTH:
            return
        seen: list[Any] = []
        for value in self._choose(self.expand(nodes), focus, depth, frozenset()):
            if any(_same(value, other) for other in seen):
                continue
            if self.accepts(nodes, value):
                seen.append(value)
                yield value

    def _choose(
        self,
        flat: list[Node],
        focus: Focus | None,
        depth: int,
        decided: frozenset[tuple[str | None, str, str]],
    ) -> Iterator[Any]:
        """Pick one branch of each `anyOf`/`oneOf` (first ones first), then generate."""
        if any(node.schema is False for node in flat):
            return
        for node in flat:
            for keyword in ("anyOf", "oneOf"):
                branches = node.keywords.get(keyword)
                ident = (node.uri, node.pointer, keyword + repr(node.schema) * (node.uri is None))
                if isinstance(branches, list) and ident not in decided:
                    for index in range(len(branches)):
                        chosen = self.expand([*flat, node.child(keyword, index)])
                        yield from self._choose(chosen, focus, depth, decided | {ident})
                    return
        yield from self._generate(flat, focus, depth)

    def _generate(self, flat: list[Node], focus: Focus | None, depth: int) -> Iterator[Any]:
        if focus is not None and not focus.path:
            yield focus.leaf
            return
        if focus is not None:
            if isinstance(focus.path[0], int):
                yield from self._arrays(flat, focus, depth)
            else:
                yield from self._objects(flat, focus, depth)
            return
        for node in flat:  # a declared default is the most natural value, when it is valid
            if "default" in node.keywords:
                yield node.keywords["default"]
        enum = _enum(flat)
        if enum is not None:
            yield from enum
            return
        for kind in _types(flat):
            if kind == "null":
                yield None
            elif kind == "boolean":
                yield from (False, True)
            elif kind == "integer":
                yield from _numbers(flat, integer=True)
            elif kind == "number":
                yield from _numbers(flat, integer=False)
            elif kind == "string":
                yield from self._strings(flat)
            elif kind == "object":
                yield from self._objects(flat, None, depth)
            elif kind == "array":
                yield from self._arrays(flat, None, depth)

    def _strings(self, flat: list[Node]) -> Iterator[str]:
        low = max((int(n.keywords["minLength"]) for n in flat if _num(n, "minLength")), default=0)
        high = min(
            (int(n.keywords["maxLength"]) for n in flat if _num(n, "maxLength")), default=None
        )
        formats = [n.keywords["format"] for n in flat if isinstance(n.keywords.get("format"), str)]
        patterns = [
            n.keywords["pattern"] for n in flat if isinstance(n.keywords.get("pattern"), str)
        ]
        for name in formats:
            yield from FORMAT_EXAMPLES.get(name, [])
        lengths = [max(low, 1), low, *([high] if high is not None else []), low + 1, max(low, 8)]
        lengths = [n for n in dict.fromkeys(lengths) if high is None or n <= high]
        for text in ("x", "y", "refract"):
            for length in lengths:
                yield (text * (length // len(text) + 1))[:length]
        if patterns:
            yield from self._pattern_strings(flat, patterns[0])

    def _pattern_strings(self, flat: list[Node], pattern: str) -> Iterator[str]:
        """Strings matching `pattern` that also satisfy the rest of the conjunction."""
        try:
            strategy = st.from_regex(pattern)
        except (re.error, HypothesisException, TypeError, ValueError):
            return
        rejected: list[str] = []
        for _ in range(3):  # a few distinct strings, for searches that need variety

            def wanted(text: str) -> bool:
                return text not in rejected and self.accepts(flat, text)

            try:
                found = find(strategy, wanted, settings=_FIND_SETTINGS)
            except (HypothesisException, re.error, RecursionError):
                return
            rejected.append(found)
            yield found

    def _objects(
        self, flat: list[Node], focus: Focus | None, depth: int
    ) -> Iterator[dict[str, Any]]:
        required: list[str] = []
        declared: list[str] = []
        for node in flat:
            keywords = node.keywords
            if isinstance(keywords.get("required"), list):
                required.extend(k for k in keywords["required"] if isinstance(k, str))
            if isinstance(keywords.get("properties"), Mapping):
                declared.extend(keywords["properties"])
        required = list(dict.fromkeys(required))
        declared = list(dict.fromkeys(declared))
        forced = [str(focus.path[0])] if focus is not None else []
        min_props = max(
            (int(n.keywords["minProperties"]) for n in flat if _num(n, "minProperties")), default=0
        )
        variants = [list(dict.fromkeys([*required, *forced]))]
        full = list(dict.fromkeys([*required, *forced, *declared]))
        if full != variants[0]:
            variants.append(full)
        for keys in variants:
            keys = self._close_dependencies(flat, keys)
            optional = [k for k in declared if k not in keys]
            extra = 0
            while len(keys) < min_props:
                if optional:
                    keys.append(optional.pop(0))
                else:
                    extra += 1
                    keys.append(f"extra_{extra}")
            built = self._object(flat, keys, focus, depth)
            if built is not None:
                yield built

    @staticmethod
    def _close_dependencies(flat: list[Node], keys: list[str]) -> list[str]:
        """Add the properties that `dependentRequired` (or array `dependencies`) demand."""
        result = list(keys)
        changed = True
        while changed:
            changed = False
            for node in flat:
                for keyword in ("dependentRequired", "dependencies"):
                    table = node.keywords.get(keyword)
                    if not isinstance(table, Mapping):
                        continue
                    for key, needed in table.items():
                        if key in result and isinstance(needed, list):
                            for name in needed:
                                if isinstance(name, str) and name not in result:
                                    result.append(name)
                                    changed = True
        return result

    def _object(
        self, flat: list[Node], keys: list[str], focus: Focus | None, depth: int
    ) -> dict[str, Any] | None:
        result: dict[str, Any] = {}
        for key in keys:
            nodes = self.key_nodes(flat, key)
            child_focus = None
            if focus is not None and key == focus.path[0]:
                child_focus = Focus(focus.path[1:], focus.leaf)
            found = False
            for value in self.values(nodes, child_focus, depth + 1):
                result[key] = value
                found = True
                break
            if not found:
                return None
        return result

    def _arrays(self, flat: list[Node], focus: Focus | None, depth: int) -> Iterator[list[Any]]:
        low = max((int(n.keywords["minItems"]) for n in flat if _num(n, "minItems")), default=0)
        high = min((int(n.keywords["maxItems"]) for n in flat if _num(n, "maxItems")), default=None)
        contains = [n.child("contains") for n in flat if "contains" in n.keywords]
        unique = any(n.keywords.get("uniqueItems") is True for n in flat)
        if contains:
            low = max(low, 1)
        if focus is not None:
            low = max(low, int(focus.path[0]) + 1)
        lengths = [low, low + 1, *([high] if high is not None else []), max(low, 2)]
        lengths = [n for n in dict.fromkeys(lengths) if high is None or n <= high]
        for length in lengths:
            built = self._array(flat, length, contains, unique, focus, depth)
            if built is not None:
                yield built
        if not unique and focus is None and max(low, 2) <= (high if high is not None else 2):
            first = self._array(flat, 1, contains, unique, None, depth)
            if first:  # duplicates, for searches against `uniqueItems`
                yield first * max(low, 2)

    def _array(
        self,
        flat: list[Node],
        length: int,
        contains: list[Node],
        unique: bool,
        focus: Focus | None,
        depth: int,
    ) -> list[Any] | None:
        result: list[Any] = []
        for index in range(length):
            nodes = self.index_nodes(flat, index)
            if index == 0:
                nodes = [*nodes, *contains]
            child_focus = None
            if focus is not None and index == focus.path[0]:
                child_focus = Focus(focus.path[1:], focus.leaf)
            candidates = self.values(nodes, child_focus, depth + 1)
            chosen = next(
                (
                    v
                    for v in islice(candidates, 12)
                    if not unique or all(not _same(v, o) for o in result)
                ),
                _MISSING,
            )
            if chosen is _MISSING:
                return None
            result.append(chosen)
        return result


_MISSING = object()


def _num(node: Node, keyword: str) -> bool:
    value = node.keywords.get(keyword)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 and True differ, 1 and 1.0 do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _enum(flat: list[Node]) -> list[Any] | None:
    """Values allowed by every `enum`/`const` in the conjunction, or None when unconstrained."""
    allowed: list[Any] | None = None
    for node in flat:
        keywords = node.keywords
        options: list[Any] | None = None
        if "const" in keywords:
            options = [keywords["const"]]
        elif isinstance(keywords.get("enum"), list):
            options = list(keywords["enum"])
        if options is None:
            continue
        if allowed is None:
            allowed = options
        else:
            allowed = [v for v in allowed if any(_same(v, o) for o in options)]
    return allowed


def _types(flat: list[Node]) -> list[str]:
    """Types allowed by every `type` in the conjunction, in the schema's own order.

    Without a `type`, the keywords present suggest one first (so `{"maxLength": 3}` yields a
    string before anything else), then every other type in a fixed order.
    """
    allowed: list[str] | None = None
    for node in flat:
        declared = node.keywords.get("type")
        if declared is None:
            continue
        names = (
            [declared] if isinstance(declared, str) else [t for t in declared if isinstance(t, str)]
        )
        if allowed is None:
            allowed = names
            continue
        merged = [t for t in allowed if t in names]
        if "number" in allowed and "integer" in names and "integer" not in merged:
            merged.append("integer")
        if "integer" in allowed and "number" in names and "integer" not in merged:
            merged.append("integer")
        allowed = merged
    if allowed is not None:
        if "number" in allowed and "integer" not in allowed:
            return allowed  # number candidates include integers already
        return allowed
    hinted: list[str] = []
    for node in flat:
        keywords = node.keywords
        if any(k in keywords for k in _OBJECT_KEYWORDS):
            hinted.append("object")
        if any(k in keywords for k in _ARRAY_KEYWORDS):
            hinted.append("array")
        if any(k in keywords for k in _STRING_KEYWORDS):
            hinted.append("string")
        if any(k in keywords for k in _NUMBER_KEYWORDS):
            hinted.append("number")
    return list(dict.fromkeys([*hinted, *_TYPE_ORDER]))


def _numbers(flat: list[Node], *, integer: bool) -> Iterator[int | float]:
    """Numbers in the bounds (and multiples) of the conjunction: zero, the bounds, then fractions."""
    low: float = -math.inf
    high: float = math.inf
    low_open = high_open = False
    steps: list[float] = []
    for node in flat:
        keywords = node.keywords
        if _num(node, "minimum") and keywords["minimum"] >= low:
            low, low_open = keywords["minimum"], False
        if _num(node, "exclusiveMinimum") and keywords["exclusiveMinimum"] >= low:
            low, low_open = keywords["exclusiveMinimum"], True
        if _num(node, "maximum") and keywords["maximum"] <= high:
            high, high_open = keywords["maximum"], False
        if _num(node, "exclusiveMaximum") and keywords["exclusiveMaximum"] <= high:
            high, high_open = keywords["exclusiveMaximum"], True
        if _num(node, "multipleOf") and keywords["multipleOf"] > 0:
            steps.append(keywords["multipleOf"])
    anchors: list[float] = [0, 1, -1]
    if math.isfinite(low):
        anchors += [low + 1 if low_open else low, math.floor(low) + 1]
    if math.isfinite(high):
        anchors += [high - 1 if high_open else high, math.ceil(high) - 1]
    step = steps[0] if steps else (1 if integer else None)
    candidates: list[int | float] = []
    for anchor in anchors:
        if step is not None:
            for value in (math.ceil(anchor / step) * step, math.floor(anchor / step) * step):
                candidates.append(_tidy(value))
        else:
            candidates.append(_tidy(anchor))
    if not integer and not steps:
        fractions: list[float] = [0.5, -0.5]
        if math.isfinite(low):
            fractions.append(low + 0.5)
        if math.isfinite(high):
            fractions.append(high - 0.5)
        if math.isfinite(low) and math.isfinite(high):
            fractions.append((low + high) / 2)
        candidates += fractions
    elif not integer and steps:
        candidates += [_tidy(steps[0] * k + steps[0] / 2) for k in range(2)]
    for value in dict.fromkeys(candidates):
        if _inside(value, low, high, low_open, high_open):
            yield value


def _tidy(value: float) -> int | float:
    """Integral floats as ints, so instances read naturally (`10`, not `10.0`)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _inside(value: float, low: float, high: float, low_open: bool, high_open: bool) -> bool:
    if value < low or (low_open and value == low):
        return False
    return not (value > high or (high_open and value == high))
