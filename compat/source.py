"""Loading schema and contract files with source positions and `$ref` resolution.

Every change the diff engine reports and every lint finding must say *where* it is, down to
the line and column of the file that holds the offending keyword, even when that keyword lives
in a shared file reached through `$ref`. This module is the one place that reads JSON from
disk: it keeps a source map per file and a `referencing.Registry` that resolves relative
references between files, so callers never re-parse or guess positions.
"""

from __future__ import annotations

import json
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


def parse_json(text: str, display: str) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Parse JSON text, returning the value and its source map (1-based positions).

    Raises InvalidInput naming the file, line and column of a syntax error.
    """
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
    return value, positions


def display_path(path: Path) -> str:
    """A path as users typed it relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_json_file(path: Path | str) -> SourceFile:
    """Read and parse one JSON file; InvalidInput when it is missing, unreadable or invalid."""
    path = Path(path)
    display = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{display}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{display}: is a directory, expected a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{display}: cannot read: {exc}") from None
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
        except (referencing.exceptions.Unresolvable, InvalidInput) as exc:
            if isinstance(exc, InvalidInput):
                raise
            raise InvalidInput(f"{self.display_of(base)}: unresolvable $ref {ref!r}") from None
        self.registry = resolved.resolver._registry  # keep retrieved resources cached
        target, fragment = urldefrag(_join(base, ref))
        if fragment and not fragment.startswith("/"):
            fragment = self._anchor_pointer(target, fragment)
        return resolved.contents, target, unquote(fragment)

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


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _walk(value, pointer_join(pointer, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, pointer_join(pointer, index))
