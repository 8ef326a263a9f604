"""How the diff engine sees a JSON Schema: typed "shapes" built the way Confluent's loader builds them.

Confluent's diff does not compare raw JSON; it compares the schema objects its loader (everit)
produces, and several of its verdicts depend on that normalisation: `"type": [..]` becomes an
`anyOf` of one typed schema per type, a schema holding keywords of several kinds (say `enum` and
`type: string`) becomes a synthetic `allOf` of one schema per kind, a schema without `type` is
typed by the keywords it uses (and, unlike a declared type, lets values of other types through),
and `{}`/`true`/`false` are distinct empty/true/false schemas.
Reproducing that here is what lets the engine agree with Confluent's examples.

Every shape keeps the `Node` it was built from (file URI and in-file pointer) so differences can
name the exact file, line and column even when a `$ref` led into another file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from compat.source import InvalidInput, SchemaSet, pointer_join


class Kind(Enum):
    """The schema classes Confluent's comparison dispatches on."""

    FALSE = "false"
    TRUE = "true"
    EMPTY = "empty"
    NULL = "null"
    BOOLEAN = "boolean"
    STRING = "string"
    NUMBER = "number"
    OBJECT = "object"
    ARRAY = "array"
    ENUM = "enum"
    CONST = "const"
    COMBINED = "combined"
    NOT = "not"


# Keywords that make a type-less schema an object/array/number/string schema (everit's sniffing).
OBJECT_KEYWORDS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "unevaluatedProperties",
    }
)
ARRAY_KEYWORDS = frozenset(
    {
        "items",
        "prefixItems",
        "additionalItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedItems",
    }
)
NUMBER_KEYWORDS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern"})
COMBINATORS = ("allOf", "anyOf", "oneOf")

# Keywords whose meaning changed between drafts: each is only understood in its own draft, and
# anywhere else it is an unknown keyword (validators ignore it, so the engine must not guess).
DRAFT7_ONLY = frozenset({"additionalItems", "dependencies"})
DRAFT2020_ONLY = frozenset(
    {
        "prefixItems",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedProperties",
        "unevaluatedItems",
        "minContains",
        "maxContains",
    }
)

# Keywords compared as metadata at the schema's own path (Confluent's ID/TITLE/DESCRIPTION/DEFAULT).
METADATA_KEYWORDS = {
    "$id": "ID_CHANGED",
    "title": "TITLE_CHANGED",
    "description": "DESCRIPTION_CHANGED",
    "default": "DEFAULT_CHANGED",
}
# Annotations with no effect on which instances are valid.
ANNOTATION_KEYWORDS = frozenset(
    {
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentMediaType",
        "contentEncoding",
        "contentSchema",
    }
)
# Containers and identifiers: their effect (if any) is seen through the references that use them.
STRUCTURAL_KEYWORDS = frozenset(
    {"$defs", "definitions", "$anchor", "$dynamicAnchor", "$vocabulary"}
)
# `if`/`then`/`else`: diffed structurally (an unchanged `if` lets `then`/`else` be compared).
CONDITIONAL_KEYWORDS = ("if", "then", "else")
VALIDATION_KEYWORDS = (
    OBJECT_KEYWORDS
    | ARRAY_KEYWORDS
    | NUMBER_KEYWORDS
    | STRING_KEYWORDS
    | frozenset({"type", "enum", "const", "not", "$ref", "format", *COMBINATORS})
    | frozenset(CONDITIONAL_KEYWORDS)
)


def known_keywords(draft7: bool) -> frozenset[str]:
    """Every keyword the engine interprets for this draft; anything else is reported as unknown."""
    base = (
        VALIDATION_KEYWORDS
        | ANNOTATION_KEYWORDS
        | STRUCTURAL_KEYWORDS
        | frozenset(METADATA_KEYWORDS)
        | {"$schema"}
    )
    return base - (DRAFT2020_ONLY if draft7 else DRAFT7_ONLY)


def is_annotation(keyword: str) -> bool:
    return keyword in ANNOTATION_KEYWORDS or keyword.startswith("x-")


def canonical(value: Any) -> str:
    """A JSON value as a canonical string: equality that keeps 1, 1.0 and true apart as JSON does."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Node:
    """A raw schema value at a place: which SchemaSet, which file, which pointer in that file."""

    __slots__ = ("draft7", "owner", "pointer", "uri", "value")

    def __init__(self, owner: SchemaSet, value: Any, uri: str, pointer: str, draft7: bool) -> None:
        self.owner = owner
        self.value = value
        self.uri = uri
        self.pointer = pointer
        self.draft7 = draft7

    @property
    def keywords(self) -> Mapping[str, Any]:
        return self.value if isinstance(self.value, Mapping) else {}

    def child(self, *tokens: str | int) -> Node | None:
        """The sub-schema at `tokens` below this node, or None when it is absent."""
        value = self.value
        for token in tokens:
            in_object = isinstance(value, Mapping) and token in value
            in_array = isinstance(value, list) and isinstance(token, int) and token < len(value)
            if not (in_object or in_array):
                return None
            value = value[token]
        return Node(self.owner, value, self.uri, pointer_join(self.pointer, *tokens), self.draft7)

    def key(self) -> tuple[int, str, str]:
        return (id(self.owner), self.uri, self.pointer)


@dataclass(frozen=True)
class Sub:
    """A sub-schema of a combined shape and the path tokens that lead to it (none if synthetic)."""

    tokens: tuple[str, ...]
    shape: Shape
    identity: str


@dataclass(frozen=True, eq=False)
class Shape:
    """One normalised schema: its kind, the node whose keywords it reads, and its metadata chain.

    `meta` lists the nodes that supply metadata and annotations, outermost first: a `$ref`
    with a sibling `description` describes the referenced schema, and the sibling wins.
    `variant` tells apart the several shapes one node can yield (e.g. the string and the null
    member of `"type": ["string", "null"]`), which cycle detection needs.
    """

    kind: Kind
    node: Node
    meta: tuple[Node, ...]
    variant: str = ""
    integer: bool = False
    typed: bool = True  # False when typed by its keywords alone: other types pass it unchecked
    criterion: str = ""
    subs: tuple[Sub, ...] = field(default=())

    def key(self) -> tuple[int, str, str, str]:
        return (*self.node.key(), self.variant)


_TYPE_KINDS = {
    "string": Kind.STRING,
    "number": Kind.NUMBER,
    "integer": Kind.NUMBER,
    "object": Kind.OBJECT,
    "array": Kind.ARRAY,
    "boolean": Kind.BOOLEAN,
    "null": Kind.NULL,
}


def _declares_draft7(contents: Any) -> bool:
    if isinstance(contents, Mapping):
        declared = str(contents.get("$schema", ""))
        return any(d in declared for d in ("draft-07", "draft-06", "draft-04"))
    return False


class ShapeBuilder:
    """Builds (and caches) shapes for the nodes of one SchemaSet, resolving `$ref`s lazily."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas
        self._cache: dict[tuple[str, str, str], Shape] = {}
        self._resolving: set[tuple[str, str]] = set()

    def root(self) -> Node:
        root = self.schemas.root
        return Node(self.schemas, root.contents, root.uri, "", _declares_draft7(root.contents))

    def _draft7_of(self, uri: str) -> bool:
        source = self.schemas.files.get(uri)
        return _declares_draft7(source.contents if source else self.schemas.schema)

    def shape(self, node: Node) -> Shape:
        key = (node.uri, node.pointer, "")
        cached = self._cache.get(key)
        if cached is None:
            cached = self._build(node, (node,), ignore_ref=False)
            self._cache[key] = cached
        return cached

    def _build(self, node: Node, meta: tuple[Node, ...], *, ignore_ref: bool) -> Shape:
        value = node.value
        if value is True:
            return Shape(Kind.TRUE, node, meta)
        if value is False:
            return Shape(Kind.FALSE, node, meta)
        if not isinstance(value, Mapping):
            return Shape(Kind.EMPTY, node, meta)
        if "$ref" in value and not ignore_ref:
            return self._build_reference(node, meta)

        parts: list[Shape] = []
        if "enum" in value:
            parts.append(Shape(Kind.ENUM, node, meta, variant="enum"))
        for criterion in COMBINATORS:
            members = value.get(criterion)
            if isinstance(members, list):
                parts.append(self._combined(node, meta, criterion, members))
        if "not" in value:
            parts.append(Shape(Kind.NOT, node, meta, variant="not"))
        if "const" in value:
            parts.append(Shape(Kind.CONST, node, meta, variant="const"))
        declared = value.get("type")
        if isinstance(declared, str) and declared in _TYPE_KINDS:
            parts.append(self._typed(node, meta, declared))
        elif isinstance(declared, list):
            members_t = [t for t in declared if isinstance(t, str) and t in _TYPE_KINDS]
            subs = tuple(
                Sub((), self._typed(node, meta, t), f"type:{t}") for t in dict.fromkeys(members_t)
            )
            parts.append(Shape(Kind.COMBINED, node, meta, "types", criterion="anyOf", subs=subs))
        elif declared is None:
            keys = set(value)
            for sniffed, keywords in (
                ("object", OBJECT_KEYWORDS),
                ("array", ARRAY_KEYWORDS),
                ("number", NUMBER_KEYWORDS),
                ("string", STRING_KEYWORDS),
            ):
                if keys & keywords:
                    parts.append(self._typed(node, meta, sniffed, typed=False))

        suffix = "rest" if ignore_ref else ""
        if not parts:
            return Shape(Kind.EMPTY, node, meta, variant=suffix)
        if len(parts) == 1:
            only = parts[0]
            return replace(only, variant=only.variant + suffix) if suffix else only
        subs = tuple(Sub((), p, f"synthetic:{p.variant}") for p in parts)
        return Shape(Kind.COMBINED, node, meta, "synthetic" + suffix, criterion="allOf", subs=subs)

    def _typed(
        self, node: Node, meta: tuple[Node, ...], type_name: str, *, typed: bool = True
    ) -> Shape:
        kind = _TYPE_KINDS[type_name]
        return Shape(
            kind,
            node,
            meta,
            variant=f"type:{type_name}",
            integer=type_name == "integer",
            typed=typed,
        )

    def _combined(
        self, node: Node, meta: tuple[Node, ...], criterion: str, members: list[Any]
    ) -> Shape:
        subs = []
        for index in range(len(members)):
            child = node.child(criterion, index)
            assert child is not None
            subs.append(Sub((criterion, str(index)), self.shape(child), canonical(child.value)))
        return Shape(Kind.COMBINED, node, meta, criterion, criterion=criterion, subs=tuple(subs))

    def _build_reference(self, node: Node, meta: tuple[Node, ...]) -> Shape:
        """Follow `$ref` into the file that holds its target, keeping that file's positions.

        Draft-07 ignores a `$ref`'s siblings; 2020-12 applies them too, which is an `allOf`
        of the target and the siblings when any sibling validates.
        """
        ref = node.keywords["$ref"]
        key = (node.uri, node.pointer)
        if not isinstance(ref, str) or key in self._resolving:
            return Shape(Kind.EMPTY, node, meta)  # a reference cycle with no schema in between
        try:
            contents, uri, pointer = self.schemas.resolve(ref, node.uri)
        except InvalidInput:
            raise
        except Exception as exc:  # the resolver's own errors become input errors
            raise InvalidInput(
                f"{self.schemas.display_of(node.uri)}: unresolvable $ref {ref!r}: {exc}"
            ) from None
        target = Node(node.owner, contents, uri, pointer, self._draft7_of(uri))
        self._resolving.add(key)
        try:
            if (
                target.value is True
                or target.value is False
                or not isinstance(target.value, Mapping)
            ):
                target_shape = self._build(target, (*meta, target), ignore_ref=False)
            else:
                base = self.shape(target)
                target_shape = replace(base, meta=(*meta, *base.meta))
        finally:
            self._resolving.discard(key)
        siblings = set(node.keywords) - {"$ref"}
        if node.draft7 or not siblings & VALIDATION_KEYWORDS:
            return target_shape
        rest = self._build(node, meta, ignore_ref=True)
        subs = (
            Sub((), target_shape, "ref-target"),
            Sub((), rest, "ref-siblings"),
        )
        return Shape(Kind.COMBINED, node, meta, "ref", criterion="allOf", subs=subs)
