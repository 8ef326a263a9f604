"""Loading schema and contract files with source positions and `$ref` resolution.

Every change the diff engine reports and every lint finding must say *where* it is, down to
the line and column of the file that holds the offending keyword, even when that keyword lives
in a shared file reached through `$ref`. This module is the one place that reads JSON from
disk: it keeps a source map per file and a `referencing.Registry` that resolves relative
references between files, so callers never re-parse or guess positions.

Where references may lead is decided here, once, by how a SchemaSet is built:

- `SchemaSet.from_value` (schemas that arrive over HTTP, or are read back from the registry's
  store) has no retriever at all: only references inside the document itself resolve
  (fragments, `$anchor`s, embedded `$id` resources). Any other `$ref` - `file:`, `http(s):`,
  relative paths, an `$id` that rebases them elsewhere - is refused before anything is
  resolved, and even a reference that slipped past that check could not be fetched, because
  nothing in the set can read a file or open a socket.
- `SchemaSet.from_file` (the CLI, reading contracts from a checkout) resolves relative files,
  but only regular files inside the contracts root (`confinement_root`) after resolving
  symlinks, and no larger than MAX_FILE_BYTES.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import stat
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
    too_deep = nesting_overflow(text, MAX_NESTING)
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


def nesting_overflow(text: str, limit: int) -> tuple[int, int] | None:
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


# The largest JSON file refract reads. Contracts are a few KiB; the cap keeps a `$ref` or a
# command-line argument naming a huge file from exhausting memory.
MAX_FILE_BYTES = 4 * 1024 * 1024


def _read_regular_file(path: Path, display: str) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES; InvalidInput for anything else.

    The file is opened non-blocking and checked with fstat on the open descriptor, so a FIFO
    cannot block the reader waiting for a writer, a device such as /dev/zero is never read,
    and the check applies to the very file that is read (no window to swap it).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InvalidInput(f"{display}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{display}: is a directory, expected a JSON file") from None
    except PermissionError:
        raise InvalidInput(f"{display}: permission denied") from None
    except OSError as exc:
        raise InvalidInput(f"{display}: cannot read: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise InvalidInput(f"{display}: is a directory, expected a JSON file")
        raise InvalidInput(f"{display}: not a regular file, expected a JSON file")
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise InvalidInput(f"{display}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"{display}: larger than {MAX_FILE_BYTES} bytes, more than refract reads"
        )
    return data


def read_json_file(path: Path | str) -> SourceFile:
    """Read and parse one JSON file; InvalidInput when it is missing, unreadable or invalid.

    Files must be UTF-8 (RFC 8259 §8.1). A leading byte order mark is tolerated, as the RFC
    allows, because editors on Windows add one and refusing it helps nobody. Only regular
    files up to MAX_FILE_BYTES are read (see _read_regular_file).
    """
    path = Path(path)
    display = display_path(path)
    data = _read_regular_file(path, display)
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


def confinement_root(path: Path | str) -> Path:
    """The directory a schema file's `$ref`s may reach: its contracts root, else its own directory.

    The contracts root is the nearest directory above the file (symlinks resolved) that holds
    an `events/` directory, the layout of a contracts tree, so `events/x/1.0.0.json` reaches
    `../../common/...`. A file outside any contracts tree (`refract diff old.json new.json`)
    reaches only files in its own directory and below.
    """
    resolved = Path(path).resolve()
    for directory in resolved.parents:
        if (directory / "events").is_dir():
            return directory
    return resolved.parent


OUTSIDE_REFS = "references outside the schema are not resolved"


class SchemaSet:
    """A root schema plus every file its references reach.

    Relative `$ref`s resolve against the file's URI (or its `$id`), files are read lazily on
    first reference and checked against their metaschema, and `resolve()` reports which file
    and pointer a reference lands on so that positions stay exact across files.

    Files are read only when `files_root` is given (from_file does), and only regular files
    inside it. Without it (from_value), the set has no retriever at all and every reference
    must land inside the root document: that is checked before anything is resolved.
    """

    def __init__(
        self, root: SourceFile, *, check: bool = True, files_root: Path | None = None
    ) -> None:
        if check:
            check_schema(root)
        self.root = root
        self.files: dict[str, SourceFile] = {root.uri: root}
        self._check = check
        self._files_root = files_root.resolve() if files_root is not None else None
        if self._files_root is None:
            _refuse_outside_refs(root)
        resource = Resource.from_contents(
            root.contents, default_specification=_specification(root.contents)
        )
        # attrs-generated keyword the stubs do not show; `retrieve` loads referenced files lazily.
        # An in-memory set gets referencing's default, which retrieves nothing.
        empty: Registry[Any] = (
            Registry(retrieve=self._retrieve)  # type: ignore[call-arg]
            if self._files_root is not None
            else Registry()
        )
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
    def from_file(cls, path: Path | str, *, root: Path | None = None) -> SchemaSet:
        """A schema file whose relative `$ref`s may reach files inside `root`.

        `root` defaults to confinement_root(path): the contracts root holding the file, else
        the file's own directory.
        """
        return cls.for_source(read_json_file(path), root=root)

    @classmethod
    def for_source(
        cls, source: SourceFile, *, check: bool = True, root: Path | None = None
    ) -> SchemaSet:
        """A set over a file already read (`source.uri` a file: URI), confined like from_file."""
        if root is None:
            root = confinement_root(Path(unquote(urlsplit(source.uri).path)))
        return cls(source, check=check, files_root=root)

    @classmethod
    def from_value(cls, value: Any, uri: str = INLINE_URI, display: str = "<inline>") -> SchemaSet:
        """A schema given as a Python value (registry payloads, stored schemas, tests).

        It has no retriever: references resolve only inside the value, and any other `$ref`
        is InvalidInput ending in OUTSIDE_REFS, raised before any resolution is attempted.
        """
        return cls(SourceFile(uri, display, value, {}))

    @property
    def schema(self) -> Any:
        return self.root.contents

    def _retrieve(self, uri: str) -> Resource[Any]:
        """Load a referenced file: a regular file inside the confinement root, nothing else."""
        parts = urlsplit(uri)
        root = self._files_root
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") or root is None:
            raise referencing.exceptions.NoSuchResource(uri)
        path = Path(unquote(parts.path))
        resolved = path.resolve()
        if not resolved.is_relative_to(root):
            raise InvalidInput(
                f"{display_path(path)}: outside {display_path(root)}, the directory this "
                "schema's $refs may reach (its contracts root, or its own directory)"
            )
        source = read_json_file(resolved)
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


def _refuse_outside_refs(root: SourceFile) -> None:
    """InvalidInput for the first reference that does not land inside the root document.

    "Inside" means the target, without its fragment, is the root's URI or the URI of a
    resource the document embeds with `$id`. Checked on the document alone, before the
    `referencing` registry is built, so a refused reference is never looked up at all.
    """
    inside = {root.uri, *_embedded_ids(root.contents, root.uri)}
    for pointer, ref, base in _located_refs(root.contents, "", root.uri):
        target, _ = urldefrag(_join(base, ref))
        if target not in inside:
            where = root.locate(pointer_join(pointer, "$ref"))
            raise InvalidInput(f"{where}: $ref {ref!r} at #{pointer}: {OUTSIDE_REFS}")


_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")


def _schema_objects(
    node: Any, pointer: str, base: str
) -> Iterator[tuple[str, Mapping[str, Any], str, bool]]:
    """(pointer, object, base URI, embeds a resource) for every schema object of a document.

    The one walk that knows how an embedded `$id` rebases its subschema and which keywords
    hold data rather than schemas; the reference and resource listings below read it.
    """
    if isinstance(node, Mapping):
        identifier = node.get("$id")
        embeds = False
        if isinstance(identifier, str) and identifier.split("#")[0]:
            base, embeds = _join(base, identifier).split("#")[0], True
        yield pointer, node, base, embeds
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                yield from _schema_objects(value, pointer_join(pointer, key), base)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _schema_objects(item, pointer_join(pointer, index), base)


def _embedded_ids(node: Any, base: str) -> Iterator[str]:
    """The URIs of the resources a document embeds with `$id`."""
    return (uri for _, _, uri, embeds in _schema_objects(node, "", base) if embeds)


def _located_refs(
    node: Any, pointer: str, base: str, keywords: tuple[str, ...] = _REF_KEYWORDS
) -> Iterator[tuple[str, str, str]]:
    """(pointer of the holding schema, reference, base URI) for every reference keyword."""
    for where, schema, uri, _ in _schema_objects(node, pointer, base):
        for keyword in keywords:
            ref = schema.get(keyword)
            if isinstance(ref, str):
                yield where, ref, uri


def _join(base: str, ref: str) -> str:
    from urllib.parse import urljoin

    if base.startswith("urn:"):
        return base + ref if ref.startswith("#") or not ref else ref
    return urljoin(base, ref)


# Keywords whose values are data, not schemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "example"})


def _schema_refs(node: Any, base: str) -> Iterator[tuple[str, str]]:
    """Every string `$ref` in a schema document with the base URI it resolves against.

    An embedded `$id` changes the base for its subschema, as the registry's crawl does.
    """
    return ((ref, uri) for _, ref, uri in _located_refs(node, "", base, ("$ref",)))


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _walk(value, pointer_join(pointer, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, pointer_join(pointer, index))
