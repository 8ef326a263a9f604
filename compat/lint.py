"""`refract lint`: the checks every contract must pass before anyone can depend on it.

Compatibility checking compares versions; linting judges each contract on its own and the
tree as a whole: valid Draft 2020-12, documented fields, file names that agree with the
`schema`/`event_name` constants, privacy annotations, a dedup key that points at real fields,
examples that validate, versions that skip nothing, and for every major bump a lens that
actually translates the old examples into valid new events. Every finding names the file,
line and column to fix (in the shared file when the problem is behind a `$ref`), so the same
list reads well in a terminal and as GitHub annotations.

Bad usage (a path that does not exist, a directory outside any contracts tree) raises
InvalidInput; problems in the contracts are findings.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.exceptions
import referencing.exceptions

from compat.catalogue import (
    Catalogue,
    Event,
    EventVersion,
    LayoutProblem,
    find_contracts_root,
    position_of,
    scan_catalogue,
)
from compat.lens import (
    LENS_SCHEMA,
    Lens,
    LensApplyError,
    apply,
    check_lens_placement,
    invert,
    json_key,
    read_lens,
)
from compat.source import (
    InvalidInput,
    SchemaSet,
    SourceFile,
    display_path,
    pointer_join,
    pointer_tokens,
    read_json_file,
)
from compat.versions import Version, check_sequence

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
PII_VALUES = ("direct", "indirect")
# Instance fields that identify one *delivery*, not the business event: two emitters reporting
# the same page view have different event ids and send times, so they cannot deduplicate.
DEDUP_FORBIDDEN = frozenset({"event_id", "sent_at", "received_at"})

RULES: dict[str, str] = {
    "json-invalid": "a contract file is not valid JSON",
    "schema-invalid": "a schema is not valid Draft 2020-12 (metaschema) or a $ref does not resolve",
    "schema-structure": "an event schema lacks the shape every event has ($schema, title, description, closed object, ...)",
    "description-missing": "a property (also behind $ref, in $defs, items, combinators) has no description",
    "version-invalid": "a version file name is not <MAJOR.MINOR.PATCH>.json",
    "version-mismatch": "the schema/event_name constants (or event.json name) disagree with directory and file name",
    "version-sequence": "consecutive versions skip a version or do not increase",
    "pii-invalid": "x-pii is not 'direct' or 'indirect'",
    "pii-missing": "a field whose name suggests personal data has no x-pii",
    "dedup-key-invalid": "x-dedup-key is missing, empty, or names no real property (or a delivery field)",
    "example-missing": "an event version has no examples",
    "example-invalid": "an example does not validate against its schema",
    "event-config": "event.json is missing or invalid",
    "layout-invalid": "a file or directory does not fit the contracts layout",
    "lens-missing": "a major bump has no lens <prev>-to-<next>.json",
    "lens-invalid": "a lens file is malformed or connects the wrong versions",
    "lens-fails-example": "a lens does not turn the old major's examples into valid new events (or back)",
}

# Field names that suggest personal data. Whole names match, and so do names containing one of
# the tokens (user_email, phone_number, client_ip, billing_address) - split on '_' and case.
# A bare `name` is deliberately absent: in events it names SDKs, screens and plans far more
# often than people, and person names are spelled out (full_name, display_name, contact_name).
_PII_NAMES = frozenset(
    {
        "email",
        "phone",
        "ip",
        "ip_address",
        "user_agent",
        "first_name",
        "last_name",
        "address",
    }
)
_PII_TOKENS = frozenset({"email", "emails", "phone", "phones", "ip", "ips", "address", "addresses"})
_PII_SUFFIXES = (
    "_ip_address",
    "_user_agent",
    "_first_name",
    "_last_name",
    "full_name",
    "display_name",
    "contact_name",
)

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
)
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


@dataclass(order=True)
class Finding:
    """One lint finding: where to fix it, which rule, and why.

    Plain (not frozen) so it satisfies the renderers' FindingLike protocol in refract.output.
    """

    file: str
    line: int
    column: int
    rule: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.rule}: {self.message}"


def suggests_personal_data(name: str) -> bool:
    """Whether a property name suggests personal data (see _PII_NAMES/_PII_TOKENS)."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    if snake in _PII_NAMES or snake.endswith(_PII_SUFFIXES):
        return True
    return any(token in _PII_TOKENS for token in snake.split("_"))


def lint(paths: Sequence[Path]) -> list[Finding]:
    """Findings for the given files/directories (default: the contracts tree above the cwd).

    A path inside a contracts tree selects what it contains: the whole tree, one event (every
    version, its config and lenses, since bumps involve neighbours) or common files. A schema
    file outside any contracts tree is linted on its own (no layout rules).
    """
    targets = list(paths) or [find_contracts_root(Path.cwd())]
    linter = _Linter()
    for path in targets:
        if not path.exists():
            raise InvalidInput(f"{display_path(path)}: no such file or directory")
        try:
            root = find_contracts_root(path)
        except InvalidInput:
            if not path.is_file():
                raise
            linter.standalone(path)
            continue
        linter.tree(root, path.resolve())
    return sorted(linter.findings.values())


def _within(path: Path, scope: Path) -> bool:
    """Whether `path` is selected by `scope`: one contains the other."""
    return path == scope or scope in path.parents or path in scope.parents


class _Linter:
    def __init__(self) -> None:
        # keyed by content: a problem in a shared file reached from many events is reported once
        self.findings: dict[tuple[str, int, int, str, str], Finding] = {}
        self.sources: dict[Path, SourceFile | None] = {}

    # -- reporting ------------------------------------------------------------------------------

    def add(self, file: str, line: int, column: int, rule: str, message: str) -> None:
        self.findings.setdefault(
            (file, line, column, rule, message), Finding(file, line, column, rule, message)
        )

    def at(self, source: SourceFile, pointer: str, rule: str, message: str) -> None:
        loc = source.locate(pointer)
        self.add(loc.file, loc.line, loc.column, rule, message)

    def at_uri(self, sset: SchemaSet, uri: str, pointer: str, rule: str, message: str) -> None:
        loc = sset.locate(uri, pointer)
        self.add(loc.file, loc.line, loc.column, rule, message)

    # -- files ----------------------------------------------------------------------------------

    def read(self, path: Path) -> SourceFile | None:
        """The parsed file, or None after reporting why it cannot be read (json-invalid)."""
        path = path.resolve()
        if path not in self.sources:
            try:
                self.sources[path] = read_json_file(path)
            except InvalidInput as exc:
                line, column = position_of(exc)
                self.add(
                    display_path(path), line, column, "json-invalid", str(exc).split(": ", 1)[-1]
                )
                self.sources[path] = None
        return self.sources[path]

    def read_schema(self, path: Path) -> SourceFile | None:
        """The parsed schema when it is valid JSON and valid against the 2020-12 metaschema."""
        source = self.read(path)
        if source is None:
            return None
        validator = jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA)
        errors = list(validator.iter_errors(source.contents))
        for error in errors:
            best = jsonschema.exceptions.best_match([error])
            pointer = pointer_join("", *best.absolute_path)
            self.at(
                source,
                pointer,
                "schema-invalid",
                f"not valid Draft 2020-12 at #{pointer}: {best.message}",
            )
        return None if errors else source

    # -- entry points ---------------------------------------------------------------------------

    def standalone(self, path: Path) -> None:
        source = self.read_schema(path)
        if source is None:
            return
        sset = SchemaSet.for_source(source, check=False)
        self.walk(sset)
        if isinstance(source.contents, Mapping) and "examples" in source.contents:
            self.examples(sset, source)

    def tree(self, root: Path, scope: Path) -> None:
        catalogue, problems = scan_catalogue(root)
        events = [e for e in catalogue.events.values() if _within(e.directory, scope)]
        for problem in problems:
            if _within(problem.path, scope) or any(
                e.directory in problem.path.parents for e in events
            ):
                self.layout(problem)
        # The lens format is an input of every lens check, so it is linted whenever lenses are.
        lens_schema = (
            self.lens_schema(catalogue)
            if events or _within(catalogue.lens_schema_path, scope)
            else None
        )
        for event in events:
            self.event(event, lens_schema)
        for files in catalogue.common.values():
            for common in files:
                if _within(common.path, scope):
                    self.common(common.path)

    def layout(self, problem: LayoutProblem) -> None:
        self.add(
            display_path(problem.path), problem.line, problem.column, problem.rule, problem.message
        )

    def lens_schema(self, catalogue: Catalogue) -> Any:
        """The tree's lens.schema.json when usable (reported otherwise), else the embedded one."""
        path = catalogue.lens_schema_path
        if not path.is_file():
            return LENS_SCHEMA
        source = self.read_schema(path)
        return source.contents if source is not None else LENS_SCHEMA

    def common(self, path: Path) -> None:
        source = self.read_schema(path)
        if source is not None:
            self.walk(SchemaSet.for_source(source, check=False))

    # -- events ---------------------------------------------------------------------------------

    def event(self, event: Event, lens_schema: Any) -> None:
        valid: dict[Version, SchemaSet] = {}
        for version in event.versions:
            sset = self.version(event, version)
            if sset is not None:
                valid[version.version] = sset
        for prev, cur in itertools.pairwise(event.versions):
            for message in check_sequence(prev.version, cur.version):
                self.add(
                    display_path(cur.path), 1, 1, "version-sequence", f"{event.name}: {message}"
                )
        self.lenses(event, valid, lens_schema if lens_schema is not None else LENS_SCHEMA)

    def version(self, event: Event, version: EventVersion) -> SchemaSet | None:
        """Lint one event version; its SchemaSet when it is sound enough for lens checks."""
        source = self.read_schema(version.path)
        if source is None:
            return None
        schema = source.contents
        if not isinstance(schema, Mapping):
            self.at(
                source, "", "schema-structure", "an event schema must be an object, not a boolean"
            )
            return None
        self.structure(source, schema)
        self.constants(source, schema, event.name, version)
        sset = SchemaSet.for_source(source, check=False)
        self.walk(sset)
        self.dedup_key(sset, source, schema)
        examples_ok = self.examples(sset, source)
        return sset if examples_ok else None

    def structure(self, source: SourceFile, schema: Mapping[str, Any]) -> None:
        def need(key: str, ok: bool, message: str) -> None:
            if not ok:
                self.at(source, f"/{key}" if key in schema else "", "schema-structure", message)

        need(
            "$schema",
            schema.get("$schema") == DRAFT_2020_12,
            f"'$schema' must be {DRAFT_2020_12!r}",
        )
        need(
            "$id",
            "$id" not in schema,
            "event schemas have no '$id' (relative $refs resolve against the file)",
        )
        for key in ("title", "description"):
            value = schema.get(key)
            need(
                key,
                isinstance(value, str) and bool(value.strip()),
                f"the schema needs a non-empty {key!r}",
            )
        need("type", schema.get("type") == "object", "an event schema has 'type': 'object'")
        need(
            "additionalProperties",
            schema.get("additionalProperties") is False,
            "an event schema is closed: 'additionalProperties': false",
        )
        required = schema.get("required")
        need(
            "required",
            isinstance(required, list) and bool(required),
            "an event schema lists its 'required' fields",
        )
        if isinstance(required, list):
            for field in ("schema", "event_name"):
                need("required", field in required, f"{field!r} must be required")

    def constants(
        self, source: SourceFile, schema: Mapping[str, Any], event: str, version: EventVersion
    ) -> None:
        """`schema`/`event_name` must name this file's event and version, and so must examples.

        The spec's form is `{"const": "<event>/<version>"}`. A major-scoped form is accepted
        too: a `pattern` that admits this version's reference and no other major's or event's
        (with `default`/`const`, when present, equal to this version's reference). It keeps
        minor and patch bumps from changing the accepted instances only through this field;
        the examples must still carry the exact reference of the file they are in.
        """
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        for field, expected in (("schema", version.ref), ("event_name", event)):
            node = properties.get(field)
            const = node.get("const") if isinstance(node, Mapping) else None
            if const == expected:
                continue
            origin = "the directory and file name" if field == "schema" else "the directory name"
            if const is not None:
                pointer = f"/properties/{field}/const"
                message = f"{field} const {const!r} does not match {expected!r} (from {origin})"
            elif field == "schema" and isinstance(node, Mapping) and "pattern" in node:
                problem = _major_pattern_problem(node, event, version.version)
                if problem is None:
                    continue
                pointer, message = f"/properties/schema/{problem[0]}", problem[1]
            else:
                pointer = f"/properties/{field}" if isinstance(node, Mapping) else ""
                message = f"property {field!r} must be {{'const': {expected!r}}}"
            self.at(source, pointer, "version-mismatch", message)
        examples = schema.get("examples")
        for index, example in enumerate(examples if isinstance(examples, list) else []):
            if isinstance(example, Mapping) and example.get("schema", version.ref) != version.ref:
                self.at(
                    source,
                    f"/examples/{index}/schema",
                    "version-mismatch",
                    f"examples[{index}] says schema {example['schema']!r}, but this file is {version.ref!r}",
                )

    # -- walking schemas through $ref ------------------------------------------------------------

    def walk(self, sset: SchemaSet) -> None:
        """Descriptions and privacy annotations on every property reachable from the root."""
        seen: set[tuple[str, str]] = set()
        for uri, pointer, node in _nodes(self, sset, sset.root.uri, "", sset.schema, seen):
            if "x-pii" in node and node["x-pii"] not in PII_VALUES:
                self.at_uri(
                    sset,
                    uri,
                    pointer_join(pointer, "x-pii"),
                    "pii-invalid",
                    f"x-pii is {node['x-pii']!r}; allowed: 'direct' or 'indirect'",
                )
            for keyword in ("properties", "patternProperties"):
                children = node.get(keyword)
                if not isinstance(children, Mapping):
                    continue
                for name, child in children.items():
                    child_pointer = pointer_join(pointer, keyword, name)
                    if child is False:
                        continue
                    if _annotation(self, sset, uri, child, "description") is None:
                        self.at_uri(
                            sset,
                            uri,
                            child_pointer,
                            "description-missing",
                            f"property {name!r} has no description",
                        )
                    if (
                        keyword == "properties"
                        and suggests_personal_data(name)
                        and _annotation(self, sset, uri, child, "x-pii") is None
                    ):
                        self.at_uri(
                            sset,
                            uri,
                            child_pointer,
                            "pii-missing",
                            f"property {name!r} looks like personal data but has no x-pii ('direct' or 'indirect')",
                        )

    def unresolvable(
        self, sset: SchemaSet, uri: str, pointer: str, ref: str, exc: Exception
    ) -> None:
        self.at_uri(
            sset,
            uri,
            pointer_join(pointer, "$ref"),
            "schema-invalid",
            f"$ref {ref!r} does not resolve: {exc}",
        )

    # -- annotations ----------------------------------------------------------------------------

    def dedup_key(self, sset: SchemaSet, source: SourceFile, schema: Mapping[str, Any]) -> None:
        if "x-dedup-key" not in schema:
            self.at(
                source,
                "",
                "dedup-key-invalid",
                "missing top-level x-dedup-key (JSON pointers naming the fields that identify the business event)",
            )
            return
        keys = schema["x-dedup-key"]
        if not isinstance(keys, list) or not keys:
            self.at(
                source,
                "/x-dedup-key",
                "dedup-key-invalid",
                "x-dedup-key must be a non-empty list of JSON pointers",
            )
            return
        seen: set[str] = set()
        for index, key in enumerate(keys):
            where = f"/x-dedup-key/{index}"
            if not isinstance(key, str) or not key.startswith("/"):
                self.at(
                    source,
                    where,
                    "dedup-key-invalid",
                    f"{key!r} is not a JSON pointer into the event (like '/user/user_id')",
                )
                continue
            if key in seen:
                self.at(source, where, "dedup-key-invalid", f"{key!r} is listed twice")
                continue
            seen.add(key)
            tokens = pointer_tokens(key)
            if tokens and tokens[-1] in DEDUP_FORBIDDEN:
                self.at(
                    source,
                    where,
                    "dedup-key-invalid",
                    f"{key!r} identifies a delivery, not the business event; never use {', '.join(sorted(DEDUP_FORBIDDEN))}",
                )
                continue
            if not _property_exists(self, sset, sset.root.uri, "", sset.schema, tokens, set()):
                self.at(
                    source,
                    where,
                    "dedup-key-invalid",
                    f"{key!r} does not name a property of the schema",
                )

    def examples(self, sset: SchemaSet, source: SourceFile) -> bool:
        """Report missing or invalid examples; True when all present examples validate."""
        examples = source.contents.get("examples") if isinstance(source.contents, Mapping) else None
        if not isinstance(examples, list) or not examples:
            self.at(
                source,
                "/examples" if examples is not None else "",
                "example-missing",
                "needs a top-level 'examples' list with at least one valid instance",
            )
            return False
        try:
            validator = sset.validator()
            ok = True
            for index, example in enumerate(examples):
                error = jsonschema.exceptions.best_match(validator.iter_errors(example))
                if error is not None:
                    ok = False
                    at = pointer_join("", *error.absolute_path) or "/"
                    self.at(
                        source,
                        f"/examples/{index}",
                        "example-invalid",
                        f"examples[{index}] does not validate at {at}: {error.message}",
                    )
            return ok
        except (InvalidInput, referencing.exceptions.Unresolvable, re.error) as exc:
            self.at(source, "", "schema-invalid", f"cannot validate examples: {exc}")
            return False

    # -- lenses ---------------------------------------------------------------------------------

    def lenses(self, event: Event, valid: dict[Version, SchemaSet], lens_schema: Any) -> None:
        majors = event.majors()
        for prev, nxt in itertools.pairwise(majors):
            if (prev, nxt) not in event.lenses:
                first = event.first_of_major(nxt)
                assert first is not None
                self.add(
                    display_path(first.path),
                    1,
                    1,
                    "lens-missing",
                    f"{event.name} {first.version} starts major {nxt} but there is no lens lenses/{prev}-to-{nxt}.json",
                )
        versions = [v.version for v in event.versions]
        for majors_pair, path in sorted(event.lenses.items()):
            source = self.read(path)
            if source is None:
                continue
            lens, problems = read_lens(path, lens_schema)
            for problem in problems:
                self.add(
                    problem.file,
                    problem.line,
                    problem.column,
                    "lens-invalid",
                    f"{problem.path}: {problem.message}" if problem.path else problem.message,
                )
            if lens is None:
                continue
            placement = check_lens_placement(lens, event.name, versions, majors_pair)
            for message in placement:
                self.at(source, "/" + message.split(":", 1)[0], "lens-invalid", message)
            if not placement:
                self.lens_examples(event, lens, source, valid)

    def lens_examples(
        self, event: Event, lens: Lens, source: SourceFile, valid: dict[Version, SchemaSet]
    ) -> None:
        old = event.get(Version.parse(lens.source.rpartition("/")[2]))
        new = event.get(Version.parse(lens.target.rpartition("/")[2]))
        if old is None or new is None or old.version not in valid or new.version not in valid:
            return  # the versions' own findings explain why their examples cannot be used
        old_source = self.read(old.path)
        assert old_source is not None
        examples = old_source.contents.get("examples", [])
        validator = valid[new.version].validator()
        inverse = invert(lens) if lens.reversible else None
        for index, example in enumerate(examples):
            label = f"{old.ref} examples[{index}]"
            try:
                translated = apply(lens, example)
            except LensApplyError as exc:
                self.at(source, "/operations", "lens-fails-example", f"{label}: {exc}")
                continue
            error = jsonschema.exceptions.best_match(validator.iter_errors(translated))
            if error is not None:
                at = pointer_join("", *error.absolute_path) or "/"
                self.at(
                    source,
                    "/to",
                    "lens-fails-example",
                    f"{label} translated is not a valid {new.ref} at {at}: {error.message}",
                )
                continue
            if inverse is None:
                continue
            try:
                back = apply(inverse, translated)
            except LensApplyError as exc:
                self.at(
                    source,
                    "/operations",
                    "lens-fails-example",
                    f"{label}: the inverse lens fails: {exc}",
                )
                continue
            difference = _first_difference(example, back, "")
            if difference is not None:
                self.at(
                    source,
                    "/operations",
                    "lens-fails-example",
                    f"{label}: the inverse lens does not restore it: {difference}",
                )


def _major_pattern_problem(
    node: Mapping[str, Any], event: str, version: Version
) -> tuple[str, str] | None:
    """Why a `schema` pattern is not scoped to exactly this event's major (keyword, message)."""
    ref = f"{event}/{version}"
    pattern = node["pattern"]
    try:
        regex = re.compile(pattern) if isinstance(pattern, str) else None
    except re.error:
        regex = None
    if regex is None:
        return "pattern", f"schema pattern {pattern!r} is not a regular expression"
    if not regex.search(ref):
        return "pattern", f"schema pattern {pattern!r} does not admit {ref!r}"
    others = [f"{event}/{version.major + 1}.0.0", f"{event}x/{version}", f"x{event}/{version}"]
    if version.major > 0:
        others.append(f"{event}/{version.major - 1}.0.0")
    admitted = [other for other in others if regex.search(other)]
    if admitted:
        return (
            "pattern",
            f"schema pattern {pattern!r} admits {admitted[0]!r}: it must name only {event}/{version.major}.x.y",
        )
    for keyword in ("default", "const"):
        if keyword in node and node[keyword] != ref:
            return (
                keyword,
                f"schema {keyword} {node[keyword]!r} does not match {ref!r} (from the directory and file name)",
            )
    return None


def _annotation(linter: _Linter, sset: SchemaSet, uri: str, node: Any, key: str) -> Any:
    """The value of `key` on a schema node or, through its `$ref` chain, on the target."""
    seen: set[tuple[str, str]] = set()
    while isinstance(node, Mapping):
        if key in node:
            return node[key]
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return None
        try:
            node, uri, pointer = sset.resolve(ref, uri)
        except (InvalidInput, referencing.exceptions.Unresolvable):
            return ""  # reported as schema-invalid by the walk; don't pile on
        if (uri, pointer) in seen:
            return None
        seen.add((uri, pointer))
    return None


def _nodes(
    linter: _Linter, sset: SchemaSet, uri: str, pointer: str, node: Any, seen: set[tuple[str, str]]
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Every schema object reachable from `node` (subschemas and `$ref` targets), once each."""
    if not isinstance(node, Mapping) or (uri, pointer) in seen:
        return
    seen.add((uri, pointer))
    yield uri, pointer, node
    ref = node.get("$ref")
    if isinstance(ref, str):
        try:
            target, target_uri, target_pointer = sset.resolve(ref, uri)
        except (InvalidInput, referencing.exceptions.Unresolvable) as exc:
            linter.unresolvable(sset, uri, pointer, ref, exc)
        else:
            yield from _nodes(linter, sset, target_uri, target_pointer, target, seen)
    for keyword in _SCHEMA_MAPS:
        children = node.get(keyword)
        if isinstance(children, Mapping):
            for name, child in children.items():
                yield from _nodes(
                    linter, sset, uri, pointer_join(pointer, keyword, name), child, seen
                )
    for keyword in _SCHEMA_ONE:
        yield from _nodes(
            linter, sset, uri, pointer_join(pointer, keyword), node.get(keyword), seen
        )
    for keyword in _SCHEMA_LISTS:
        children = node.get(keyword)
        if isinstance(children, list):
            for index, child in enumerate(children):
                yield from _nodes(
                    linter, sset, uri, pointer_join(pointer, keyword, index), child, seen
                )


def _property_exists(
    linter: _Linter,
    sset: SchemaSet,
    uri: str,
    pointer: str,
    node: Any,
    tokens: list[str],
    seen: set[tuple[str, str, int]],
) -> bool:
    """Whether an instance pointer (as tokens) names a property the schema declares.

    Follows `$ref`, looks into allOf/anyOf/oneOf branches, and through items/prefixItems for
    array indices.
    """
    if not tokens:
        return True
    if not isinstance(node, Mapping) or (uri, pointer, len(tokens)) in seen:
        return False
    seen.add((uri, pointer, len(tokens)))
    head, rest = tokens[0], tokens[1:]
    properties = node.get("properties")
    if isinstance(properties, Mapping) and head in properties:
        child_pointer = pointer_join(pointer, "properties", head)
        if _property_exists(linter, sset, uri, child_pointer, properties[head], rest, seen):
            return True
    if head.isdigit():
        prefix = node.get("prefixItems")
        if (
            isinstance(prefix, list)
            and int(head) < len(prefix)
            and _property_exists(
                linter,
                sset,
                uri,
                pointer_join(pointer, "prefixItems", head),
                prefix[int(head)],
                rest,
                seen,
            )
        ):
            return True
        if _property_exists(
            linter, sset, uri, pointer_join(pointer, "items"), node.get("items"), rest, seen
        ):
            return True
    ref = node.get("$ref")
    if isinstance(ref, str):
        try:
            target, target_uri, target_pointer = sset.resolve(ref, uri)
        except (InvalidInput, referencing.exceptions.Unresolvable):
            return False
        if _property_exists(linter, sset, target_uri, target_pointer, target, tokens, seen):
            return True
    for keyword in ("allOf", "anyOf", "oneOf"):
        branches = node.get(keyword)
        if isinstance(branches, list):
            for index, branch in enumerate(branches):
                if _property_exists(
                    linter, sset, uri, pointer_join(pointer, keyword, index), branch, tokens, seen
                ):
                    return True
    return False


def _first_difference(expected: Any, actual: Any, pointer: str) -> str | None:
    """Where two JSON values first differ, for a readable round-trip message."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key in sorted(set(expected) | set(actual)):
            here = pointer_join(pointer, key)
            if key not in actual:
                return f"{here} is missing after the round trip"
            if key not in expected:
                return f"{here} appears after the round trip"
            found = _first_difference(expected[key], actual[key], here)
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{pointer or '/'} has {len(actual)} items after the round trip, {len(expected)} before"
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found = _first_difference(left, right, pointer_join(pointer, index))
            if found is not None:
                return found
        return None
    if json_key(expected) != json_key(actual):
        return f"{pointer or '/'} was {expected!r}, is {actual!r} after the round trip"
    return None
