"""Concrete proof of an incompatible change: an instance the writer accepts and the reader rejects.

A verdict like MAX_LENGTH_DECREASED is easy to dismiss; a real event that the new consumer would
reject is not. Every instance returned here has been validated by the reference `jsonschema`
validator (formats asserted) against both whole schemas, so a counterexample is never a guess.

Two strategies, cheapest first:

1. Targeted. The difference's path (in the writer, the diff's "original") is walked to the
   instance location it governs (`properties/x` -> key `x`, `items` -> index 0, `oneOf/1` -> the
   same place with branch 1 chosen, `$ref` followed). There we build small values the writer
   accepts under one extra constraint that negates one of the reader's keywords at that place
   (`maxLength: 10` -> `minLength: 11`, `required: [x]` -> `x` absent, `type: integer` -> not an
   integer, a closed model -> a property it does not declare ...), the changed keyword first. Each
   value is planted into a minimal valid writer instance with every ancestor present, and the
   whole instance is checked against both schemas.
2. Search. A bounded, derandomized hypothesis search over instances generated from the writer
   schema (its `$ref`s inlined), looking for one the reader rejects.

Both are deterministic for the same input and bounded in time, so checking a compatible change
(where no counterexample exists) stays cheap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from compat.instances import FORMAT_EXAMPLES, Focus, InstanceBuilder, Node, synthetic
from compat.source import InvalidInput, SchemaSet, pointer_tokens

# The work is bounded by counts (candidate instances tried, examples generated) so that results
# do not depend on machine load; the wall-clock limits are only a safety net for huge schemas.
TARGETED_ATTEMPTS = 150
TARGETED_SECONDS = 5.0
SEARCH_SECONDS = 3.0
# Beyond this nesting depth of the writer schema (containers only, refs inlined) no search is
# made: instance generation cost grows steeply with depth (20 nested `items` took ~40 s), while
# event contracts nest 8 levels. Such changes are still reported, with no counterexample.
SEARCH_MAX_DEPTH = 16
SEARCH_EXAMPLES = 300
_LOCAL_PER_CONSTRAINT = 3
_RECURSION_DEPTH = 2
_FRESH_KEY = "refract_extra"

# Keywords whose value is not a schema: never rewritten when inlining `$ref`s.
_LITERAL_KEYWORDS = frozenset({"const", "enum", "examples", "default", "required"})
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$anchor",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)


class DiffPaths(Protocol):
    """What the targeted strategy reads from a compat.diff.Difference: its two schema paths."""

    @property
    def old_path(self) -> str: ...

    @property
    def new_path(self) -> str: ...


class _OutOfTime(Exception):
    """Raised inside a hypothesis condition to stop a search at its time budget."""


@dataclass(frozen=True)
class _Target:
    """Where a difference lands in instances of the writer schema."""

    path: tuple[str | int, ...]  # instance location (keys and indices)
    writer: list[Node]  # writer nodes that apply there, including branches chosen on the way
    keyword: str | None  # the keyword the schema path ends with, if any (e.g. "maxLength")
    argument: str | None  # the token after it (e.g. the property of "required/<name>")


def find_counterexample(
    writer: SchemaSet,
    reader: SchemaSet,
    diff: DiffPaths | None = None,
    *,
    search: bool = True,
    deadline: float | None = None,
) -> tuple[bool, Any]:
    """(True, instance) with writer.accepts(instance) and not reader.accepts(instance), else (False, None).

    `diff` is a compat.diff.Difference computed as diff_schemas(writer, reader); its `old_path`
    (falling back to `new_path`) aims the targeted strategy. Without it, the targeted strategy
    starts at the root. `search=False` skips the fallback search, which does not depend on
    `diff`: a caller that already saw it fail for this writer/reader pair need not repeat it.
    `deadline` (a time.monotonic() value) cuts both strategies short where their own time
    limits would run longer: a caller with a budget for many searches (the registry, per
    request) passes it so that the total, not only each search, stays bounded.
    """
    try:
        if _json_depth(inline_refs(writer)) > SEARCH_MAX_DEPTH:
            return False, None
        found, instance = _targeted(writer, reader, diff, deadline)
        if found or not search:
            return found, instance
        return _search(writer, reader, deadline)
    except (InvalidInput, RecursionError):
        return False, None


def _separator(writer: SchemaSet, reader: SchemaSet) -> Callable[[Any], bool]:
    """The final judge: the reference validators of both whole schemas, built once per search."""
    accepts, rejects = writer.validator().is_valid, reader.validator().is_valid

    def separates(instance: Any) -> bool:
        return bool(accepts(instance)) and not rejects(instance)

    return separates


# -- targeted ------------------------------------------------------------------------------


def _targeted(
    writer: SchemaSet, reader: SchemaSet, diff: DiffPaths | None, limit: float | None = None
) -> tuple[bool, Any]:
    deadline = min(time.monotonic() + TARGETED_SECONDS, limit if limit is not None else math.inf)
    wbuild = InstanceBuilder(writer)
    rbuild = InstanceBuilder(reader)
    paths: list[str] = []
    if diff is not None:
        paths = [p for p in (diff.old_path, diff.new_path) if p]
    targets = [_walk(wbuild, _tokens(p)) for p in dict.fromkeys(paths)] or [_walk(wbuild, [])]
    parents = [parent for target in targets for parent in _ancestors(wbuild, target)]
    reachable: dict[tuple[str | int, ...], bool] = {}
    tried: list[Any] = []
    attempts = 0
    separates = _separator(writer, reader)
    # First the named location and its ancestors, one level each; then below the named location.
    plan = [(t, _RECURSION_DEPTH) for t in [*targets, *parents]] + [(t, 0) for t in targets]
    for target, depth in plan:
        separations = _local(
            wbuild,
            rbuild,
            target.path,
            target.writer,
            target.keyword,
            target.argument,
            deadline,
            depth,
            reachable,
        )
        for path, leaf in separations:
            attempts += 1
            if time.monotonic() > deadline or attempts > TARGETED_ATTEMPTS:
                return False, None
            found, instance = wbuild.first([wbuild.root()], Focus(path, leaf))
            if not found or any(instance == t for t in tried):
                continue
            tried.append(instance)
            if separates(instance):
                return True, instance
    return False, None


def _reachable(
    wbuild: InstanceBuilder,
    path: tuple[str | int, ...],
    nodes: list[Node],
    cache: dict[tuple[str | int, ...], bool],
) -> bool:
    """Whether some writer instance has a value at `path` (a closed writer may have none there).

    Checked once per location so that hopeless locations cost one embedding, not one per candidate.
    """
    if path not in cache:
        found, value = wbuild.first(nodes)
        cache[path] = found and wbuild.first([wbuild.root()], Focus(path, value))[0]
    return cache[path]


def _tokens(path: str) -> list[str]:
    """Pointer tokens of a diff path; Confluent writes the root as `#/`."""
    try:
        tokens = pointer_tokens(path)
    except ValueError:
        return []
    while tokens and tokens[-1] == "":
        tokens.pop()
    return tokens


def _index(token: str | None) -> int | None:
    return int(token) if token is not None and token.isdigit() else None


def _walk(build: InstanceBuilder, tokens: Sequence[str]) -> _Target:
    """Follow a schema path through the writer to the instance location it governs."""
    conj: list[Node] = [build.root()]
    current: Node | None = build.root()
    path: list[str | int] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        while (
            current is not None
            and token not in current.keywords
            and isinstance(current.keywords.get("$ref"), str)
        ):
            current = _deref(build, current)
        keywords = current.keywords if current is not None else {}
        if token == "$ref" and current is not None:
            i += 1
            continue
        if token == "properties" and following is not None:
            conj = build.key_nodes(build.expand(conj), following)
            current = _child(current, "properties", following)
            path.append(following)
            i += 2
        elif token in ("additionalProperties", "patternProperties"):
            key = _fresh_key(build, conj, following if token == "patternProperties" else None)
            if key is None:
                break
            conj = build.key_nodes(build.expand(conj), key)
            current = (
                _child(current, token, following)
                if token == "patternProperties"
                else _child(current, token)
            )
            path.append(key)
            i += 2 if token == "patternProperties" else 1
        elif token in ("items", "prefixItems", "additionalItems", "contains"):
            index, step = _item_index(keywords, token, following)
            if step == 2 and following is not None:
                current = _child(current, token, int(following))
            else:
                current = _child(current, token)
            contains = [current] if token == "contains" and current is not None else []
            conj = [*build.index_nodes(build.expand(conj), index), *contains]
            path.append(index)
            i += step
        elif (
            token in ("allOf", "anyOf", "oneOf")
            and _index(following) is not None
            and current is not None
        ):
            current = _child(current, token, _index(following))
            if current is None:
                break
            conj = [*conj, current]
            i += 2
        elif token in ("dependencies", "dependentSchemas") and _is_schema(
            _child(current, token, following)
        ):
            current = _child(current, token, following)
            assert current is not None and following is not None
            conj = [*conj, current, synthetic({"required": [following]})]
            i += 2
        else:
            return _Target(tuple(path), conj, token, following)
    return _Target(tuple(path), conj, None, None)


def _deref(build: InstanceBuilder, node: Node) -> Node | None:
    if node.uri is None:
        return None
    contents, uri, pointer = build.schemas.resolve(node.keywords["$ref"], node.uri)
    return Node(contents, uri, pointer)


def _child(node: Node | None, *tokens: str | int | None) -> Node | None:
    """The sub-schema at `tokens` below `node`, or None when the writer has none there."""
    if node is None or any(t is None for t in tokens):
        return None
    value = node.schema
    for token in tokens:
        try:
            value = value[token]
        except (KeyError, IndexError, TypeError):
            return None
    return node.child(*[t for t in tokens if t is not None])


def _is_schema(node: Node | None) -> bool:
    """A schema (object or boolean), as opposed to e.g. a draft-07 dependency's name list."""
    return node is not None and isinstance(node.schema, (Mapping, bool))


def _item_index(keywords: Mapping[str, Any], token: str, following: str | None) -> tuple[int, int]:
    """(instance index, number of path tokens consumed) for an array keyword in a schema path."""
    position = _index(following)
    if (
        token in ("items", "prefixItems")
        and isinstance(keywords.get(token), list)
        and position is not None
    ):
        return position, 2
    if token == "prefixItems" and position is not None:
        return position, 2
    if token == "items":
        prefix = keywords.get("prefixItems")
        return (len(prefix) if isinstance(prefix, list) else 0), 1
    if token == "additionalItems":
        items = keywords.get("items")
        return (len(items) if isinstance(items, list) else 0), 1
    return 0, 1


def _fresh_key(build: InstanceBuilder, conj: list[Node], pattern: str | None) -> str | None:
    """A property name no `properties` declares (matching `pattern` when given)."""
    declared = sorted(
        {
            k
            for n in build.expand(conj)
            if isinstance(n.keywords.get("properties"), Mapping)
            for k in n.keywords["properties"]
        }
    )
    if pattern is None:
        name = _FRESH_KEY
        while name in declared:
            name += "_"
        return name
    found, key = build.first(
        [
            synthetic({"type": "string", "pattern": pattern}),
            synthetic({"not": {"enum": declared}} if declared else {}),
        ]
    )
    return key if found and isinstance(key, str) else None


def _ancestors(build: InstanceBuilder, target: _Target) -> list[_Target]:
    """The target's enclosing instance locations, innermost first.

    A difference can name a place the writer never fills (a property the reader added and made
    required, in a closed writer): the evidence then lies one level up, in the object that lacks
    or carries that property. Each ancestor remembers which child led to it.
    """
    result = []
    for depth in range(len(target.path) - 1, -1, -1):
        step = target.path[depth]
        keyword = "properties" if isinstance(step, str) else "items"
        result.append(
            _Target(target.path[:depth], _nodes_at(build, target.path[:depth]), keyword, str(step))
        )
    return result


def _nodes_at(build: InstanceBuilder, path: Sequence[str | int]) -> list[Node]:
    """The nodes that apply at an instance location (found by the instance path, not a schema path)."""
    nodes = [build.root()]
    for step in path:
        flat = build.expand(nodes)
        nodes = (
            build.index_nodes(flat, step) if isinstance(step, int) else build.key_nodes(flat, step)
        )
    return nodes


def _local(
    wbuild: InstanceBuilder,
    rbuild: InstanceBuilder,
    path: tuple[str | int, ...],
    writer: list[Node],
    keyword: str | None,
    argument: str | None,
    deadline: float,
    depth: int,
    reachable: dict[tuple[str | int, ...], bool],
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(instance path, local value) pairs: values the writer accepts there that the reader may not.

    Below `_RECURSION_DEPTH`, the children of the location are searched too, since a change
    reported at an object (or a `$ref` to one) may only show in one of its properties.
    """
    if not _reachable(wbuild, path, writer, reachable):
        return
    reader = rbuild.expand(_nodes_at(rbuild, path))
    flat_writer = wbuild.expand(writer)
    constraints = _negations(flat_writer, reader, keyword, argument)
    for constraint in [*constraints, None]:
        if time.monotonic() > deadline:
            return
        nodes = writer if constraint is None else [*writer, synthetic(constraint)]
        limit = _LOCAL_PER_CONSTRAINT * (3 if constraint is None else 1)
        for value in islice(wbuild.values(nodes), limit):
            if not rbuild.accepts(reader, value) or constraint is None:
                yield path, value
    if depth >= _RECURSION_DEPTH:
        return
    # The change may sit below this location (e.g. a `$ref`'d object whose inside changed).
    keys = dict.fromkeys(
        k
        for n in [*flat_writer, *reader]
        if isinstance(n.keywords.get("properties"), Mapping)
        for k in n.keywords["properties"]
    )
    for key in keys:
        child = wbuild.key_nodes(flat_writer, key)
        yield from _local(
            wbuild, rbuild, (*path, key), child, None, None, deadline, depth + 1, reachable
        )
    if any(k in n.keywords for n in flat_writer for k in ("items", "prefixItems")):
        child = wbuild.index_nodes(flat_writer, 0)
        yield from _local(
            wbuild, rbuild, (*path, 0), child, None, None, deadline, depth + 1, reachable
        )


def _negations(
    writer: list[Node], reader: list[Node], keyword: str | None, argument: str | None
) -> list[dict[str, Any]]:
    """Constraints that, added to the writer's, describe values some reader keyword rejects.

    Ordered with the keyword the difference names first; each is only a proposal, since every
    candidate is validated against both whole schemas before it counts.
    """
    first: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    declared_by_writer = [
        k
        for n in writer
        if isinstance(n.keywords.get("properties"), Mapping)
        for k in n.keywords["properties"]
    ]
    for node in reader:
        if node.schema is False:
            first.append({})
            continue
        for name, value in node.keywords.items():
            found = _negate(name, value, node.keywords, declared_by_writer)
            if name == keyword:
                first.extend(found)
            else:
                rest.extend(found)
    if keyword in ("required", "properties") and argument is not None:
        # A property the reader requires and the writer may omit, or one the writer may carry
        # and the reader rejects (closed model, other type): both start from its presence.
        first[:0] = [
            {"type": "object", "not": {"required": [argument]}},
            {"type": "object", "required": [argument]},
        ]
    if keyword == "type" or keyword is None:
        first.extend({"type": t} for t in _writer_types(writer))
    unique: list[dict[str, Any]] = []
    for constraint in [*first, *rest]:
        if constraint not in unique:
            unique.append(constraint)
    return unique


def _writer_types(writer: list[Node]) -> list[str]:
    for node in writer:
        declared = node.keywords.get("type")
        if isinstance(declared, str):
            return [declared]
        if isinstance(declared, list):
            return [t for t in declared if isinstance(t, str)]
    return []


def _negate(
    name: str, value: Any, keywords: Mapping[str, Any], declared: list[str]
) -> list[dict[str, Any]]:
    """Constraints under which a value violates keyword `name: value` of one reader node."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "type":
        result: list[dict[str, Any]] = [{"not": {"type": value}}]
        names = [value] if isinstance(value, str) else list(value)
        if "integer" in names and "number" not in names:
            result.append({"type": "number", "not": {"type": "integer"}})
        return result
    if name == "const":
        return [{"not": {"const": value}}]
    if name == "enum" and isinstance(value, list):
        return [{"not": {"enum": value}}]
    if name in ("maxLength", "maxItems", "maxProperties") and number:
        return [{name.replace("max", "min"): int(value) + 1}]
    if name in ("minLength", "minItems", "minProperties") and number and value > 0:
        return [{name.replace("min", "max"): int(value) - 1}]
    if name == "maximum" and number:
        return [{"exclusiveMinimum": value}]
    if name == "exclusiveMaximum" and number:
        return [{"minimum": value}]
    if name == "minimum" and number:
        return [{"exclusiveMaximum": value}]
    if name == "exclusiveMinimum" and number:
        return [{"maximum": value}]
    if name == "multipleOf" and number:
        return [{"not": {"multipleOf": value}}]
    if name in ("pattern", "format") and isinstance(value, str):
        return [{"type": "string", "not": {name: value}}]
    if name == "uniqueItems" and value is True:
        return [{"type": "array", "minItems": 2, "not": {"uniqueItems": True}}]
    if name == "required" and isinstance(value, list):
        return [{"not": {"required": [r]}} for r in value if isinstance(r, str)]
    if name in ("additionalProperties", "properties", "patternProperties"):
        own = keywords.get("properties")
        own_names = set(own) if isinstance(own, Mapping) else set()
        extra = [k for k in declared if k not in own_names]
        result = [{"type": "object", "required": [k]} for k in extra]
        if keywords.get("additionalProperties", True) is not True:
            result.append({"type": "object", "required": [_FRESH_KEY]})
        return result
    if name == "not" and isinstance(value, Mapping) and _ref_free(value):
        return [dict(value)]
    if name == "contains":
        return [{"type": "array", "maxItems": 0}]
    return []


def _json_depth(value: Any) -> int:
    """How deeply a JSON value nests (a scalar is 0)."""
    if isinstance(value, Mapping):
        return 1 + max((_json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_json_depth(v) for v in value), default=0)
    return 0


def _ref_free(value: Any) -> bool:
    """True when a reader sub-schema can be reused literally (no `$ref` to another document)."""
    if isinstance(value, Mapping):
        return "$ref" not in value and all(_ref_free(v) for v in value.values())
    if isinstance(value, list):
        return all(_ref_free(v) for v in value)
    return True


# -- search --------------------------------------------------------------------------------


def _search(writer: SchemaSet, reader: SchemaSet, limit: float | None = None) -> tuple[bool, Any]:
    """A bounded, derandomized hypothesis search for a writer instance the reader rejects."""
    from hypothesis_jsonschema import from_schema

    deadline = min(time.monotonic() + SEARCH_SECONDS, limit if limit is not None else math.inf)
    try:
        bundled = inline_refs(writer)
        formats = {
            name: st.sampled_from(examples)
            for name, examples in FORMAT_EXAMPLES.items()
            if name in ("uuid", "duration")
        }
        strategy = from_schema(bundled, custom_formats=formats)
    except Exception:  # hypothesis-jsonschema rejects what it cannot canonicalise
        return False, None

    judge = _separator(writer, reader)

    def separates(instance: Any) -> bool:
        if time.monotonic() > deadline:
            raise _OutOfTime
        return judge(instance)

    config = settings(
        database=None,
        derandomize=True,
        max_examples=SEARCH_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )
    try:
        instance = find(strategy, separates, settings=config)
    except (_OutOfTime, HypothesisException):
        return False, None
    except Exception:  # a strategy that fails to draw is no counterexample
        return False, None
    return (True, instance) if judge(instance) else (False, None)


def inline_refs(schemas: SchemaSet, max_depth: int = 8) -> Any:
    """The root schema with every `$ref` replaced by its target, so single-document tools work.

    Recursive references are cut at `max_depth` (replaced by `{}`, i.e. anything), which only
    widens what a generator may produce; the reference validator still judges every instance.
    """

    def inline(schema: Any, base: str, stack: tuple[tuple[str, str], ...]) -> Any:
        if isinstance(schema, list):
            return [inline(v, base, stack) for v in schema]
        if not isinstance(schema, Mapping):
            return schema
        result: dict[str, Any] = {}
        for key, value in schema.items():
            if key in _LITERAL_KEYWORDS or key.startswith("x-"):
                if key in ("const", "enum", "required"):
                    result[key] = value
                continue
            if key in ("$ref", "$defs", "definitions") or key in _ANNOTATIONS:
                continue
            if key in (
                "properties",
                "patternProperties",
                "dependencies",
                "dependentSchemas",
            ) and isinstance(value, Mapping):
                result[key] = {k: inline(v, base, stack) for k, v in value.items()}
            else:
                result[key] = inline(value, base, stack)
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return result
        contents, uri, pointer = schemas.resolve(ref, base)
        if (uri, pointer) in stack or len(stack) >= max_depth:
            target: Any = {}
        else:
            target = inline(contents, uri, (*stack, (uri, pointer)))
        if not result:
            return target
        return {"allOf": [target, result]}

    return inline(schemas.schema, schemas.root.uri, ())
