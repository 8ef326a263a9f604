"""Lenses: the declarative translation from one major version of an event to the next.

A major bump breaks consumers, so it ships a lens (Cambria-style operations) that rewrites
events of the previous major's newest version into the new major's first version, and, run
backwards, new events into the old shape. This module is the lens format's one definition:
it parses and validates lens files (structure against `lens.schema.json`, then the semantic
rules a schema cannot express), inverts lenses, and interprets them. The interpreter `apply`
is the reference semantics; code generated from lenses is tested against it.

Semantics (per operation, on the current JSON object; absent source fields are skipped so an
optional field stays absent; moving or renaming a value onto a field that is already present
is an error, never a silent overwrite):

- rename from/to: move the value of `from` to `to`.
- hoist host/name: move host.name up to name; the host is dropped when that leaves it empty
  (so hoist exactly undoes plunge); a null or absent host, or a host without name, is skipped.
- plunge host/name: move name down into host.name, creating host when absent.
- wrap name: value v becomes [v].
- head name: [x, ...] becomes x; an empty array leaves the field absent.
- convert name/mapping/default/reverse_default: a value equal to a mapping `from` becomes its
  `to` (JSON equality: 1 == 1.0, but true != 1); other values become `default`, and without
  one they are an error. The inverse swaps the mapping, keeping only `to` values with a single
  source, and uses `reverse_default` for everything else.
- add name/default: set name to default when absent (a present value is kept).
- remove name/default: drop name; default is what the inverse adds back.
- in name/operations: apply operations inside the object at name (null/absent: skipped).
- map name/operations: apply operations to every object element of the array at name.

After the operations, the top-level `schema` field is set to the lens's `to` reference.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias

import jsonschema
import jsonschema.exceptions

from compat.catalogue import LENS_SCHEMA as LENS_SCHEMA_FILE
from compat.catalogue import find_contracts_root
from compat.source import InvalidInput, SourceFile, pointer_join, pointer_tokens, read_json_file
from compat.versions import Version, parse_schema_ref

_NAME = {"type": "string", "minLength": 1}


def _op_schema(
    op: str, required: dict[str, Any], optional: dict[str, Any] | None = None
) -> dict[str, Any]:
    properties = {"op": {"const": op}, **required, **(optional or {})}
    return {
        "if": {"properties": {"op": {"const": op}}, "required": ["op"]},
        "then": {
            "required": ["op", *required],
            "properties": properties,
            "additionalProperties": False,
        },
    }


OPS = ("rename", "hoist", "plunge", "wrap", "head", "convert", "add", "remove", "in", "map")

# The lens file format, used when the contracts tree has no lens.schema.json of its own (the
# tree's file is the single source of truth; this mirrors the shared spec for trees without one).
LENS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Refract lens",
    "description": "Translation between the newest version of one major of an event and the first version of the next.",
    "type": "object",
    "required": ["from", "to", "operations"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string"},
        "from": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]*/(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$",
        },
        "to": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]*/(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$",
        },
        "description": {"type": "string"},
        "operations": {"$ref": "#/$defs/operations"},
    },
    "$defs": {
        "operations": {"type": "array", "items": {"$ref": "#/$defs/operation"}},
        "operation": {
            "type": "object",
            "required": ["op"],
            "properties": {"op": {"enum": list(OPS)}},
            "allOf": [
                _op_schema("rename", {"from": _NAME, "to": _NAME}),
                _op_schema("hoist", {"host": _NAME, "name": _NAME}),
                _op_schema("plunge", {"host": _NAME, "name": _NAME}),
                _op_schema("wrap", {"name": _NAME}),
                _op_schema("head", {"name": _NAME}),
                _op_schema(
                    "convert",
                    {
                        "name": _NAME,
                        "mapping": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["from", "to"],
                                "properties": {"from": True, "to": True},
                                "additionalProperties": False,
                            },
                        },
                    },
                    {"default": True, "reverse_default": True},
                ),
                _op_schema("add", {"name": _NAME, "default": True}),
                _op_schema("remove", {"name": _NAME, "default": True}),
                _op_schema("in", {"name": _NAME, "operations": {"$ref": "#/$defs/operations"}}),
                _op_schema("map", {"name": _NAME, "operations": {"$ref": "#/$defs/operations"}}),
            ],
        },
    },
}


# ----------------------------------------------------------------------------------------------
# Operations


def json_key(value: Any) -> Any:
    """A hashable key with JSON equality: numbers compare by value, booleans are not numbers."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("num", int(value) if isinstance(value, float) and value.is_integer() else value)
    if isinstance(value, str):
        return ("str", value)
    if value is None:
        return ("null",)
    if isinstance(value, list):
        return ("list", tuple(json_key(v) for v in value))
    if isinstance(value, Mapping):
        return ("obj", tuple(sorted((k, json_key(v)) for k, v in value.items())))
    raise TypeError(f"not a JSON value: {value!r}")


@dataclass(frozen=True)
class Rename:
    source: str
    target: str

    def inverse(self) -> Op:
        return Rename(self.target, self.source)

    def to_json(self) -> dict[str, Any]:
        return {"op": "rename", "from": self.source, "to": self.target}


@dataclass(frozen=True)
class Hoist:
    host: str
    name: str

    def inverse(self) -> Op:
        return Plunge(self.host, self.name)

    def to_json(self) -> dict[str, Any]:
        return {"op": "hoist", "host": self.host, "name": self.name}


@dataclass(frozen=True)
class Plunge:
    host: str
    name: str

    def inverse(self) -> Op:
        return Hoist(self.host, self.name)

    def to_json(self) -> dict[str, Any]:
        return {"op": "plunge", "host": self.host, "name": self.name}


@dataclass(frozen=True)
class Wrap:
    name: str

    def inverse(self) -> Op:
        return Head(self.name)

    def to_json(self) -> dict[str, Any]:
        return {"op": "wrap", "name": self.name}


@dataclass(frozen=True)
class Head:
    name: str

    def inverse(self) -> Op:
        return Wrap(self.name)

    def to_json(self) -> dict[str, Any]:
        return {"op": "head", "name": self.name}


_UNSET: Any = object()


@dataclass(frozen=True)
class Convert:
    """A value mapping; `default`/`reverse_default` are `UNSET` when the file omits them."""

    name: str
    mapping: tuple[tuple[Any, Any], ...]
    default: Any = _UNSET
    reverse_default: Any = _UNSET

    @property
    def has_default(self) -> bool:
        return self.default is not _UNSET

    @property
    def has_reverse_default(self) -> bool:
        return self.reverse_default is not _UNSET

    def injective(self) -> bool:
        """Whether every output has one source, so the inverse can recover the input exactly.

        A `default` collapses every unmapped input into one output, so it is never injective.
        """
        targets = [json_key(to) for _, to in self.mapping]
        return len(set(targets)) == len(targets) and not self.has_default

    @property
    def reversible(self) -> bool:
        return self.injective() or self.has_reverse_default

    def lookup(self, value: Any) -> tuple[bool, Any]:
        key = json_key(value)
        for source, target in self.mapping:
            if json_key(source) == key:
                return True, copy.deepcopy(target)
        if self.has_default:
            return True, copy.deepcopy(self.default)
        return False, None

    def inverse(self) -> Op:
        counts: dict[Any, int] = {}
        for _, to in self.mapping:
            counts[json_key(to)] = counts.get(json_key(to), 0) + 1
        if self.has_default:  # the default is one more source of its output value
            counts[json_key(self.default)] = counts.get(json_key(self.default), 0) + 1
        swapped = tuple((to, source) for source, to in self.mapping if counts[json_key(to)] == 1)
        return Convert(self.name, swapped, self.reverse_default, self.default)

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "op": "convert",
            "name": self.name,
            "mapping": [{"from": source, "to": target} for source, target in self.mapping],
        }
        if self.has_default:
            result["default"] = self.default
        if self.has_reverse_default:
            result["reverse_default"] = self.reverse_default
        return result


@dataclass(frozen=True)
class Add:
    name: str
    default: Any

    def inverse(self) -> Op:
        return Remove(self.name, self.default)

    def to_json(self) -> dict[str, Any]:
        return {"op": "add", "name": self.name, "default": self.default}


@dataclass(frozen=True)
class Remove:
    name: str
    default: Any

    def inverse(self) -> Op:
        return Add(self.name, self.default)

    def to_json(self) -> dict[str, Any]:
        return {"op": "remove", "name": self.name, "default": self.default}


@dataclass(frozen=True)
class In:
    name: str
    operations: tuple[Op, ...]

    def inverse(self) -> Op:
        return In(self.name, invert_operations(self.operations))

    def to_json(self) -> dict[str, Any]:
        return {"op": "in", "name": self.name, "operations": [o.to_json() for o in self.operations]}


@dataclass(frozen=True)
class Map:
    name: str
    operations: tuple[Op, ...]

    def inverse(self) -> Op:
        return Map(self.name, invert_operations(self.operations))

    def to_json(self) -> dict[str, Any]:
        return {
            "op": "map",
            "name": self.name,
            "operations": [o.to_json() for o in self.operations],
        }


Op: TypeAlias = Rename | Hoist | Plunge | Wrap | Head | Convert | Add | Remove | In | Map


def invert_operations(operations: Sequence[Op]) -> tuple[Op, ...]:
    """The inverse of a sequence: each operation inverted, in reverse order."""
    return tuple(op.inverse() for op in reversed(operations))


@dataclass(frozen=True)
class Lens:
    """A parsed lens: `source`/`target` are the 'from'/'to' schema references."""

    source: str
    target: str
    operations: tuple[Op, ...]
    description: str = ""
    file: str = "<inline>"

    @property
    def irreversible(self) -> list[str]:
        """Why the lens cannot be run backwards (op path and reason); empty when it can."""
        return [
            f"{path}: convert of {op.name!r} is not injective and has no reverse_default"
            for path, op in _walk_ops(self.operations, "operations")
            if isinstance(op, Convert) and not op.reversible
        ]

    @property
    def reversible(self) -> bool:
        return not self.irreversible

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"from": self.source, "to": self.target}
        if self.description:
            result["description"] = self.description
        result["operations"] = [op.to_json() for op in self.operations]
        return result


def _walk_ops(operations: Sequence[Op], path: str) -> list[tuple[str, Op]]:
    result: list[tuple[str, Op]] = []
    for index, op in enumerate(operations):
        here = f"{path}[{index}]"
        result.append((here, op))
        if isinstance(op, In | Map):
            result.extend(_walk_ops(op.operations, f"{here}.operations"))
    return result


def invert(lens: Lens) -> Lens:
    """The lens from `to` back to `from`; ValueError when a convert cannot be inverted."""
    reasons = lens.irreversible
    if reasons:
        raise ValueError(f"{lens.file}: lens is not reversible: {'; '.join(reasons)}")
    return replace(
        lens,
        source=lens.target,
        target=lens.source,
        operations=invert_operations(lens.operations),
        description=f"inverse of: {lens.description}" if lens.description else "",
    )


# ----------------------------------------------------------------------------------------------
# Interpreter


class LensApplyError(ValueError):
    """An instance the lens cannot translate; the message names the operation and field."""


def apply(lens_ops: Lens | Sequence[Op], document: Any) -> Any:
    """Translate `document` (never mutated) through a lens or a sequence of operations.

    A whole `Lens` also sets the top-level `schema` field to its `to` reference.
    """
    result = copy.deepcopy(document)
    operations = lens_ops.operations if isinstance(lens_ops, Lens) else tuple(lens_ops)
    if not isinstance(result, dict):
        raise LensApplyError(
            f"cannot apply a lens to a {type(result).__name__}: events are objects"
        )
    _apply_all(operations, result, "operations", "")
    if isinstance(lens_ops, Lens):
        result["schema"] = lens_ops.target
    return result


def _apply_all(operations: Sequence[Op], obj: dict[str, Any], path: str, where: str) -> None:
    for index, op in enumerate(operations):
        _apply_one(op, obj, f"{path}[{index}]", where)


def _apply_one(op: Op, obj: dict[str, Any], path: str, where: str) -> None:
    def fail(name: str | int, message: str, *more: str | int) -> LensApplyError:
        at = pointer_join(where, name, *more)
        return LensApplyError(f"{path} ({type(op).__name__.lower()}): {at}: {message}")

    def put(name: str, value: Any) -> None:
        if name in obj:
            raise fail(name, "field already present; a lens never overwrites a value")
        obj[name] = value

    if isinstance(op, Rename):
        if op.source in obj:
            value = obj.pop(op.source)
            put(op.target, value)
    elif isinstance(op, Hoist):
        host = obj.get(op.host)
        if isinstance(host, dict) and op.name in host:
            put(op.name, host.pop(op.name))
            if not host:
                del obj[op.host]
        elif host is not None and not isinstance(host, dict):
            raise fail(op.host, f"host is a {type(host).__name__}, not an object")
    elif isinstance(op, Plunge):
        if op.name in obj:
            host = obj.setdefault(op.host, {})
            if not isinstance(host, dict):
                raise fail(op.host, f"host is a {type(host).__name__}, not an object")
            if op.name in host:
                raise fail(
                    op.host, "field already present; a lens never overwrites a value", op.name
                )
            host[op.name] = obj.pop(op.name)
    elif isinstance(op, Wrap):
        if op.name in obj:
            obj[op.name] = [obj[op.name]]
    elif isinstance(op, Head):
        if op.name in obj:
            value = obj[op.name]
            if not isinstance(value, list):
                raise fail(op.name, f"head needs an array, found {type(value).__name__}")
            if value:
                obj[op.name] = value[0]
            else:
                del obj[op.name]
    elif isinstance(op, Convert):
        if op.name in obj:
            found, value = op.lookup(obj[op.name])
            if not found:
                raise fail(
                    op.name,
                    f"value {json.dumps(obj[op.name])} has no mapping and the convert has no default",
                )
            obj[op.name] = value
    elif isinstance(op, Add):
        if op.name not in obj:
            obj[op.name] = copy.deepcopy(op.default)
    elif isinstance(op, Remove):
        obj.pop(op.name, None)
    elif isinstance(op, In):
        inner = obj.get(op.name)
        if isinstance(inner, dict):
            _apply_all(op.operations, inner, f"{path}.operations", pointer_join(where, op.name))
        elif inner is not None:
            raise fail(op.name, f"'in' needs an object, found {type(inner).__name__}")
    elif isinstance(op, Map):
        items = obj.get(op.name)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    kind = type(item).__name__
                    raise fail(op.name, f"'map' needs object elements, found {kind}", index)
                _apply_all(
                    op.operations, item, f"{path}.operations", pointer_join(where, op.name, index)
                )
        elif items is not None:
            raise fail(op.name, f"'map' needs an array, found {type(items).__name__}")


# ----------------------------------------------------------------------------------------------
# Parsing and validation


@dataclass(frozen=True)
class LensProblem:
    """One reason a lens file is invalid: the file, op path (e.g. operations[2].to) and why."""

    file: str
    path: str
    message: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class LensInvalid(InvalidInput):
    """A lens file that fails validation; carries every problem found."""

    def __init__(self, problems: Sequence[LensProblem]) -> None:
        self.problems = list(problems)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


def pointer_to_path(pointer: str) -> str:
    """'/operations/2/operations/0/to' -> 'operations[2].operations[0].to'."""
    text = ""
    for token in pointer_tokens(pointer):
        if token.isdigit():
            text += f"[{token}]"
        else:
            text += f".{token}" if text else token
    return text


def lens_schema_for(path: Path | None) -> Any:
    """The lens format schema of the contracts tree holding `path`, else the embedded one."""
    if path is not None:
        try:
            root = find_contracts_root(path)
        except InvalidInput:
            return LENS_SCHEMA
        candidate = root / LENS_SCHEMA_FILE
        if candidate.is_file():
            return read_json_file(candidate).contents
    return LENS_SCHEMA


def read_lens(path: Path, lens_schema: Any | None = None) -> tuple[Lens | None, list[LensProblem]]:
    """Parse and validate a lens file, returning every problem (InvalidInput if unreadable)."""
    source = read_json_file(path)
    schema = lens_schema if lens_schema is not None else lens_schema_for(path)
    return check_lens_source(source, schema)


def load_lens(path: Path, lens_schema: Any | None = None) -> Lens:
    """A valid lens from `path`; LensInvalid (an InvalidInput) listing what is wrong."""
    lens, problems = read_lens(path, lens_schema)
    if problems or lens is None:
        raise LensInvalid(problems)
    return lens


def parse_lens(value: Any, display: str = "<inline>", lens_schema: Any | None = None) -> Lens:
    """A valid lens from a JSON value (tests, codegen, registry payloads)."""
    lens, problems = check_lens_source(
        SourceFile("urn:refract:lens", display, value, {}), lens_schema or LENS_SCHEMA
    )
    if problems or lens is None:
        raise LensInvalid(problems)
    return lens


def check_lens_source(
    source: SourceFile, lens_schema: Any
) -> tuple[Lens | None, list[LensProblem]]:
    """Structure (against the lens schema), then semantics; the lens only when both pass."""

    def problem(pointer: str, message: str) -> LensProblem:
        loc = source.locate(pointer)
        return LensProblem(source.display, pointer_to_path(pointer), message, loc.line, loc.column)

    validator_cls = jsonschema.validators.validator_for(
        lens_schema, default=jsonschema.Draft202012Validator
    )
    structural = []
    for error in validator_cls(lens_schema).iter_errors(source.contents):
        for leaf in _discriminated(error):
            structural.append(problem(pointer_join("", *leaf.absolute_path), leaf.message))
    if structural:
        return None, _sorted(structural)
    parser = _Parser(problem)
    lens = parser.lens(source.contents, source.display)
    return (lens if not parser.problems else None), _sorted(parser.problems)


def _discriminated(error: jsonschema.exceptions.ValidationError) -> list[Any]:
    """The errors worth showing for one validation error.

    A lens schema may pick the operation's shape with `oneOf` (one branch per op); the
    generic "not valid under any of the given schemas" hides the real mistake, so when exactly
    one branch accepts the `op` value, that branch's own errors are reported instead.
    """
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[jsonschema.exceptions.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        chosen = [
            errors
            for errors in branches.values()
            if not any(list(e.relative_path) == ["op"] for e in errors)
        ]
        if len(chosen) == 1:
            return [leaf for sub in chosen[0] for leaf in _discriminated(sub)]
    return [jsonschema.exceptions.best_match([error])]


def _sorted(problems: list[LensProblem]) -> list[LensProblem]:
    return sorted(problems, key=lambda p: (p.line, p.column, p.path, p.message))


@dataclass
class _Scope:
    """Fields this lens has put into or taken out of one object, to catch collisions early."""

    created: dict[str, str] = field(default_factory=dict)  # name -> op path that created it
    removed: dict[str, str] = field(default_factory=dict)  # name -> op path that removed it

    def write(self, name: str) -> str | None:
        """Record a write; the op path of an earlier write it would collide with, if any."""
        earlier = self.created.get(name)
        self.removed.pop(name, None)
        return earlier

    def read(self, name: str) -> str | None:
        return self.removed.get(name)


class _Parser:
    """Builds Op objects from validated JSON and applies the rules a schema cannot express.

    It stays defensive about shapes because a tree's own lens.schema.json may be looser than
    the embedded one.
    """

    def __init__(self, problem: Callable[[str, str], LensProblem]) -> None:
        self.problem = problem
        self.problems: list[LensProblem] = []

    def error(self, pointer: str, message: str) -> None:
        self.problems.append(self.problem(pointer, message))

    def lens(self, value: Any, display: str) -> Lens | None:
        if not isinstance(value, Mapping):
            self.error("", "a lens must be a JSON object")
            return None
        refs: dict[str, tuple[str, Version]] = {}
        for key in ("from", "to"):
            try:
                refs[key] = parse_schema_ref(str(value.get(key, "")))
            except ValueError as exc:
                self.error(f"/{key}", str(exc))
        if len(refs) == 2:
            (src_name, src), (dst_name, dst) = refs["from"], refs["to"]
            if src_name != dst_name:
                self.error(
                    "/to", f"'from' and 'to' name different events ({src_name!r}, {dst_name!r})"
                )
            if dst.major <= src.major:
                self.error("/to", f"'to' {dst} must be in a later major than 'from' {src}")
            elif (dst.minor, dst.patch) != (0, 0):
                self.error(
                    "/to", f"'to' {dst} must be the first version of its major ({dst.major}.0.0)"
                )
        operations = self.operations(value.get("operations"), "/operations", top=True)
        if len(refs) < 2:
            return None
        description = value.get("description", "")
        return Lens(
            str(value["from"]),
            str(value["to"]),
            operations,
            description if isinstance(description, str) else "",
            display,
        )

    def operations(self, value: Any, pointer: str, top: bool = False) -> tuple[Op, ...]:
        if not isinstance(value, list):
            self.error(pointer, "'operations' must be an array of operations")
            return ()
        if not value and not top:
            self.error(pointer, "'in'/'map' needs at least one operation")
        scope = _Scope()
        ops = []
        for index, raw in enumerate(value):
            op = self.operation(raw, pointer_join(pointer, index), scope, top)
            if op is not None:
                ops.append(op)
        return tuple(ops)

    def name(self, raw: Mapping[str, Any], key: str, pointer: str, top: bool) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value:
            self.error(pointer_join(pointer, key), f"{key!r} must be a non-empty property name")
            return ""
        if top and value == "schema":
            self.error(
                pointer_join(pointer, key),
                "the top-level 'schema' field is set by the lens itself; operations must not touch it",
            )
        return value

    def operation(self, raw: Any, pointer: str, scope: _Scope, top: bool) -> Op | None:
        if not isinstance(raw, Mapping):
            self.error(pointer, "an operation must be an object")
            return None
        kind = raw.get("op")

        def name(key: str) -> str:
            return self.name(raw, key, pointer, top)

        def write(key: str, target: str) -> None:
            earlier = scope.write(target)
            if earlier is not None:
                self.error(
                    pointer_join(pointer, key),
                    f"target {target!r} collides with the field {earlier} already put there",
                )
            scope.created[target] = pointer_to_path(pointer)

        def read(key: str, source: str) -> None:
            earlier = scope.read(source)
            if earlier is not None:
                self.error(
                    pointer_join(pointer, key),
                    f"field {source!r} was already moved or removed by {earlier}",
                )

        def take(source: str) -> None:
            scope.created.pop(source, None)
            scope.removed[source] = pointer_to_path(pointer)

        if kind == "rename":
            src, dst = name("from"), name("to")
            if src and src == dst:
                self.error(pointer_join(pointer, "to"), f"rename of {src!r} to itself")
            read("from", src)
            take(src)
            write("to", dst)
            return Rename(src, dst)
        if kind in ("hoist", "plunge"):
            host, field_name = name("host"), name("name")
            if host and host == field_name:
                self.error(pointer_join(pointer, "name"), f"host and name are both {host!r}")
            if kind == "hoist":
                read("host", host)
                write("name", field_name)
                return Hoist(host, field_name)
            read("name", field_name)
            take(field_name)
            scope.removed.pop(host, None)
            return Plunge(host, field_name)
        if kind in ("wrap", "head"):
            field_name = name("name")
            read("name", field_name)
            return Wrap(field_name) if kind == "wrap" else Head(field_name)
        if kind == "convert":
            return self.convert(raw, pointer, name("name"), read)
        if kind in ("add", "remove"):
            field_name = name("name")
            if "default" not in raw:
                self.error(pointer, f"{kind!r} needs a 'default' (the inverse uses it)")
            if kind == "add":
                write("name", field_name)
                return Add(field_name, raw.get("default"))
            read("name", field_name)
            take(field_name)
            return Remove(field_name, raw.get("default"))
        if kind in ("in", "map"):
            field_name = name("name")
            read("name", field_name)
            inner = self.operations(raw.get("operations"), pointer_join(pointer, "operations"))
            return In(field_name, inner) if kind == "in" else Map(field_name, inner)
        self.error(
            pointer_join(pointer, "op"), f"unknown operation {kind!r} (one of {', '.join(OPS)})"
        )
        return None

    def convert(
        self, raw: Mapping[str, Any], pointer: str, name: str, read: Callable[[str, str], None]
    ) -> Op | None:
        read("name", name)
        mapping = raw.get("mapping")
        if not isinstance(mapping, list) or not mapping:
            self.error(
                pointer_join(pointer, "mapping"),
                "'mapping' must be a non-empty array of {from, to}",
            )
            return None
        pairs: list[tuple[Any, Any]] = []
        seen: dict[Any, int] = {}
        for index, entry in enumerate(mapping):
            where = pointer_join(pointer, "mapping", index)
            if not isinstance(entry, Mapping) or "from" not in entry or "to" not in entry:
                self.error(where, "a mapping entry must be an object with 'from' and 'to'")
                continue
            key = json_key(entry["from"])
            if key in seen:
                self.error(
                    pointer_join(where, "from"),
                    f"value {json.dumps(entry['from'])} is already mapped by mapping[{seen[key]}]",
                )
                continue
            seen[key] = index
            pairs.append((entry["from"], entry["to"]))
        return Convert(
            name, tuple(pairs), raw.get("default", _UNSET), raw.get("reverse_default", _UNSET)
        )


def check_lens_placement(
    lens: Lens, event: str, versions: Sequence[Version], file_majors: tuple[int, int] | None = None
) -> list[str]:
    """Rules that need the event's versions: what the lens connects must exist and be adjacent.

    `from` must be the newest version of the previous major and `to` the first version of the
    next major (the two ends of the major bump), both of `event`; `file_majors` are the
    majors in the file name <FROM>-to-<TO>.json. Returns messages prefixed with the field.
    """
    errors: list[str] = []
    src_name, src = parse_schema_ref(lens.source)
    dst_name, dst = parse_schema_ref(lens.target)
    for key, name in (("from", src_name), ("to", dst_name)):
        if name != event:
            errors.append(f"{key}: names event {name!r}, but the lens belongs to {event!r}")
    if file_majors is not None and file_majors != (src.major, dst.major):
        errors.append(
            f"from: the file name says {file_majors[0]}-to-{file_majors[1]}, "
            f"but the lens goes from major {src.major} to major {dst.major}"
        )
    majors = sorted({v.major for v in versions})
    newest = max((v for v in versions if v.major == src.major), default=None)
    if newest is None:
        errors.append(f"from: there is no version {src} of {event} (no major {src.major})")
    elif newest != src:
        errors.append(f"from: {src} is not the newest version of major {src.major} ({newest})")
    first = min((v for v in versions if v.major == dst.major), default=None)
    if first is None:
        errors.append(f"to: there is no version {dst} of {event} (no major {dst.major})")
    elif first != dst:
        errors.append(f"to: {dst} is not the first version of major {dst.major} ({first})")
    later = [m for m in majors if src.major < m < dst.major]
    if later:
        errors.append(
            f"to: the lens skips major(s) {', '.join(map(str, later))}; lenses connect adjacent majors"
        )
    return errors
