"""Loading schema and contract files with source positions and `$ref` resolution.

Every change the diff engine reports and every lint finding must say *where* it is, down to
the line and column of the file that holds the offending keyword, even when that keyword lives
in a shared file reached through `$ref`. This module is the one place that reads JSON from
disk: it keeps a source map per file and a `referencing.Registry` that resolves relative
references between files, so callers never re-parse or guess positions.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import referencing
import referencing.exceptions
import referencing.jsonschema
from json_source_map import calculate as _source_map
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

INLINE_URI = "urn:refract:inline"


class InvalidInput(Exception):
    """Bad input (missing file, invalid JSON, invalid schema): the message says what and where.

    The CLI turns this into exit code 2 with the message on one line of stderr.
    """


def pointer_escape(token: str) -> str:
    """Escape one JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer_tokens(pointer: str) -> list[str]:
    """Split a JSON pointer (with or without a leading `#`) into unescaped tokens."""
    pointer = unquote(pointer.removeprefix("#"))
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def pointer_join(pointer: str, *tokens: str | int) -> str:
    """Append reference tokens to a JSON pointer without a leading `#`."""
    return pointer + "".join("/" + pointer_escape(str(t)) for t in tokens)


def pointer_get(document: Any, pointer: str) -> Any:
    """The value at `pointer` in `document`; KeyError/IndexError when it does not exist."""
    node = document
    for token in pointer_tokens(pointer):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


@dataclass(frozen=True)
class Location:
    """A place in a source file: 1-based line and column of a JSON value."""

    file: str
    pointer: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class SourceFile:
    """One parsed JSON file and the source position of every value in it."""

    uri: str
    display: str
    contents: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def locate(self, pointer: str) -> Location:
        """Position of the value at `pointer`, or of its nearest existing ancestor."""
        pointer = pointer.removeprefix("#")
        tokens = pointer_tokens(pointer) if pointer else []
        while True:
            candidate = pointer_join("", *tokens)
            if candidate in self.positions:
                line, column = self.positions[candidate]
                return Location(self.display, pointer, line, column)
            if not tokens:
                return Location(self.display, pointer, 1, 1)
            tokens.pop()


# How deeply JSON values may nest. Contracts stay below 10 levels; the metaschema validator, the
# diff engine and the counterexample search all recurse per level and hit Python's recursion
# limit somewhere past 150, so deeper input is refused up front with its position instead.
MAX_NESTING = 64


def parse_json(text: str, display: str) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Parse JSON text, returning the value and its source map (1-based positions).

    Raises InvalidInput naming the file, line and column of a syntax error, of nesting deeper
    than MAX_NESTING, and of a number JSON cannot represent (NaN, Infinity, or a literal
    such as 1e400 that overflows): Python's parser accepts those, but they are not JSON and
    would leak into JSON reports as invalid output.
    """
    too_deep = _nesting_overflow(text, MAX_NESTING)
    if too_deep is not None:
        line, column = too_deep
        raise InvalidInput(
            f"{display}:{line}:{column}: nested deeper than {MAX_NESTING} levels, "
            "more than refract supports"
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{display}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        entries = _source_map(text)
    except Exception:  # the source map is a convenience; positions fall back to 1:1
        entries = {}
    positions = {
        pointer: (entry.value_start.line + 1, entry.value_start.column + 1)
        for pointer, entry in entries.items()
    }
    for pointer, node in _walk(value, ""):
        if isinstance(node, float) and not math.isfinite(node):
            line, column = positions.get(pointer, (1, 1))
            raise InvalidInput(
                f"{display}:{line}:{column}: invalid JSON: number at #{pointer} is not finite "
                "(NaN, Infinity and out-of-range literals are not JSON)"
            )
    return value, positions


def _nesting_overflow(text: str, limit: int) -> tuple[int, int] | None:
    """Line and column of the first bracket nested deeper than `limit`, or None.

    A linear scan that skips string contents, so it runs before (and protects) the recursive
    parsers; it does not validate anything else, which json.loads does right after.
    """
    depth, line, line_start, in_string, escaped = 0, 1, 0, False, False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return line, index - line_start + 1
        elif char in "]}":
            depth -= 1
        if char == "\n":
            line, line_start = line + 1, index + 1
    return None


def _decode_position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of byte `offset`, counting characters of the valid prefix."""
    prefix = data[:offset].decode("utf-8", errors="replace")
    line = prefix.count("\n") + 1
    return line, len(prefix) - (prefix.rfind("\n") + 1) + 1


def display_path(path: Path) -> str:
    """A path as users typed it relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_json_file(path: Path | str) -> SourceFile:
    """Read and parse one JSON file; InvalidInput when it is missing, unreadable or invalid.

    Files must be UTF-8 (RFC 8259 §8.1). A leading byte order mark is tolerated, as the RFC
    allows, because editors on Windows add one and refusing it helps nobody.
    """
    path = Path(path)
    display = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{display}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{display}: is a directory, expected a JSON file") from None
    except PermissionError:
        raise InvalidInput(f"{display}: permission denied") from None
    except OSError as exc:
        raise InvalidInput(f"{display}: cannot read: {exc.strerror or exc}") from None
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _decode_position(body, exc.start)
        raise InvalidInput(
            f"{display}:{line}:{column}: not UTF-8: byte 0x{body[exc.start]:02x} cannot be "
            "decoded (JSON files must be UTF-8)"
        ) from None
    value, positions = parse_json(text, display)
    return SourceFile(path.resolve().as_uri(), display, value, positions)


def _specification(contents: Any) -> referencing.Specification[Any]:
    """Draft 2020-12 unless the schema declares draft-07 (or earlier, read as draft-07)."""
    if isinstance(contents, Mapping):
        declared = str(contents.get("$schema", ""))
        if "draft-07" in declared or "draft-06" in declared or "draft-04" in declared:
            return DRAFT7
    return DRAFT202012


def check_schema(source: SourceFile) -> None:
    """Validate a schema against its metaschema; InvalidInput names the keyword and position."""
    contents = source.contents
    if not isinstance(contents, (Mapping, bool)):
        raise InvalidInput(
            f"{source.display}:1:1: invalid schema: a schema must be an object or a boolean"
        )
    if isinstance(contents, Mapping) and not isinstance(contents.get("$schema", ""), str):
        loc = source.locate("/$schema")
        raise InvalidInput(
            f"{loc}: invalid schema: keyword '$schema' at #/$schema: "
            f"{contents['$schema']!r} is not a string (expected a dialect URI)"
        )
    cls = jsonschema.validators.validator_for(contents, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(cls(cls.META_SCHEMA).iter_errors(contents))
    if error is not None:
        pointer = pointer_join("", *error.absolute_path)
        loc = source.locate(pointer)
        keyword = error.absolute_path[-1] if error.absolute_path else error.validator
        raise InvalidInput(
            f"{loc}: invalid schema: keyword '{keyword}' at #{pointer}: {error.message}"
        )


class SchemaSet:
    """A root schema plus every file its references reach.

    Relative `$ref`s resolve against the file's URI (or its `$id`), files are read lazily on
    first reference and checked against their metaschema, and `resolve()` reports which file
    and pointer a reference lands on so that positions stay exact across files.
    """

    def __init__(self, root: SourceFile, *, check: bool = True) -> None:
        if check:
            check_schema(root)
        self.root = root
        self.files: dict[str, SourceFile] = {root.uri: root}
        self._check = check
        resource = Resource.from_contents(
            root.contents, default_specification=_specification(root.contents)
        )
        # attrs-generated keyword the stubs do not show; `retrieve` loads referenced files lazily.
        empty: Registry[Any] = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]
        self.registry: Registry[Any] = empty.with_resource(root.uri, resource).crawl()
        if check:
            self._check_references()

    def _check_references(self) -> None:
        """Resolve every `$ref` of the root and of each file it reaches, once, up front.

        The diff engine only follows the references on paths it compares, so a dangling `$ref`
        under a property that exists on one side only would otherwise pass unnoticed; a schema
        that cannot be resolved is invalid input wherever its broken reference sits.
        """
        pending, seen = [self.root.uri], {self.root.uri}
        while pending:
            uri = pending.pop()
            source = self.files.get(uri)
            if source is None:
                continue
            for ref, base in _schema_refs(source.contents, uri):
                _, target, _ = self.resolve(ref, base)
                if target not in seen:
                    seen.add(target)
                    pending.append(target)

    @classmethod
    def from_file(cls, path: Path | str) -> SchemaSet:
        return cls(read_json_file(path))

    @classmethod
    def from_value(cls, value: Any, uri: str = INLINE_URI, display: str = "<inline>") -> SchemaSet:
        """A schema given as a Python value (tests, registry payloads); refs stay within it."""
        return cls(SourceFile(uri, display, value, {}))

    @property
    def schema(self) -> Any:
        return self.root.contents

    def _retrieve(self, uri: str) -> Resource[Any]:
        parts = urlsplit(uri)
        if parts.scheme != "file":
            raise referencing.exceptions.NoSuchResource(uri)
        source = read_json_file(Path(unquote(parts.path)))
        if self._check:
            check_schema(source)
        self.files[source.uri] = source
        return Resource.from_contents(
            source.contents, default_specification=_specification(source.contents)
        )

    def resolve(self, ref: str, base_uri: str | None = None) -> tuple[Any, str, str]:
        """Resolve `ref` from `base_uri`: returns (contents, file uri, JSON pointer).

        Raises InvalidInput when the reference cannot be resolved.
        """
        base = base_uri or self.root.uri
        resolver = self.registry.resolver(base_uri=base)
        try:
            resolved = resolver.lookup(ref)
        except InvalidInput:
            raise
        except referencing.exceptions.Unresolvable as exc:
            raise self._unresolvable(ref, base, exc) from None
        self.registry = resolved.resolver._registry  # keep retrieved resources cached
        target, fragment = urldefrag(_join(base, ref))
        if fragment and not fragment.startswith("/"):
            fragment = self._anchor_pointer(target, fragment)
        return resolved.contents, target, unquote(fragment)

    def _unresolvable(
        self, ref: str, base: str, exc: referencing.exceptions.Unresolvable
    ) -> InvalidInput:
        """The input error for a `$ref` that leads nowhere: where the `$ref` is, and why.

        `referencing` wraps what `_retrieve` raised (a missing or broken referenced file) in
        Unretrievable; that inner InvalidInput names the file and position at fault, so it is
        kept as the reason after the position of the referring `$ref`.
        """
        where = self._ref_location(ref, base)
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, InvalidInput):
            cause = cause.__cause__ or cause.__context__
        target, fragment = urldefrag(_join(base, ref))
        if cause is not None:
            why = str(cause)
        elif isinstance(exc, referencing.exceptions.PointerToNowhere):
            why = f"{self.display_of(target)} has nothing at #{unquote(fragment)}"
        elif isinstance(
            exc, referencing.exceptions.NoSuchAnchor | referencing.exceptions.InvalidAnchor
        ):
            why = f"{self.display_of(target)} has no $anchor {fragment!r}"
        elif urlsplit(target).scheme not in ("file", "urn"):
            why = f"only local files are referenced; {target} is not fetched"
        else:
            why = f"{self.display_of(target)} cannot be loaded"
        return InvalidInput(f"{where}: unresolvable $ref {ref!r}: {why}")

    def _ref_location(self, ref: str, base: str) -> Location | str:
        """Where a `$ref` with this value sits in the file `base` (the first one, if several)."""
        source = self.files.get(base)
        if source is None:
            return self.display_of(base)
        for pointer, node in _walk(source.contents, ""):
            if isinstance(node, Mapping) and node.get("$ref") == ref:
                return source.locate(pointer_join(pointer, "$ref"))
        return source.display

    def _anchor_pointer(self, uri: str, anchor: str) -> str:
        source = self.files.get(uri)
        if source is None:
            return ""
        for pointer, node in _walk(source.contents, ""):
            if isinstance(node, Mapping) and node.get("$anchor") == anchor:
                return pointer
        return ""

    def display_of(self, uri: str) -> str:
        source = self.files.get(uri)
        return source.display if source else uri

    def locate(self, uri: str, pointer: str) -> Location:
        source = self.files.get(uri)
        if source is None:
            return Location(uri, pointer, 1, 1)
        return source.locate(pointer)

    def validator(self) -> jsonschema.protocols.Validator:
        """A reference `jsonschema` validator for the root schema, with formats asserted."""
        # Validate through a `$ref` to the root's URI so relative references resolve against
        # the file the schema came from (jsonschema otherwise only knows a root's `$id`).
        self.registry = self.registry.crawl()
        cls = jsonschema.Draft202012Validator
        wrapper = {"$ref": self.root.uri}
        return cls(wrapper, registry=self.registry, format_checker=cls.FORMAT_CHECKER)

    def accepts(self, instance: Any) -> bool:
        return bool(self.validator().is_valid(instance))


def _join(base: str, ref: str) -> str:
    from urllib.parse import urljoin

    if base.startswith("urn:"):
        return base + ref if ref.startswith("#") else ref
    return urljoin(base, ref)


# Keywords whose values are data, not schemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "example"})


def _schema_refs(node: Any, base: str) -> Iterator[tuple[str, str]]:
    """Every string `$ref` in a schema document with the base URI it resolves against.

    An embedded `$id` changes the base for its subschema, as the registry's crawl does.
    """
    if isinstance(node, Mapping):
        identifier = node.get("$id")
        if isinstance(identifier, str) and identifier.split("#")[0]:
            base = _join(base, identifier).split("#")[0]
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref, base
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                yield from _schema_refs(value, base)
    elif isinstance(node, list):
        for item in node:
            yield from _schema_refs(item, base)


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _walk(value, pointer_join(pointer, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, pointer_join(pointer, index))
