"""The registry's rules: Confluent Schema Registry semantics plus Refract's contract versions.

Subjects are event contracts (`page_view`), versions are Confluent's consecutive integers per
subject, ids are global per distinct schema. What Refract adds:

- Each version also has the SemVer its schema declares (`properties.schema.default`,
  "page_view/1.1.0"); it must increase, and a published SemVer never gets another schema.
- Compatibility under the subject's level applies *within a major*: a new version is compared
  with the earlier versions of its own major. The first version of a new major needs a lens
  from the newest version of the previous major, and the lens is verified on that version's
  examples and generated instances before anything is written.
- Every compatibility answer carries the change list (types, paths, counterexamples) of
  compat.check, not only Confluent's yes/no.

The check and the insert run inside one write transaction that holds the subject's lock, so
concurrent registrations cannot both pass against the same history.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compat.check import check_compatibility
from compat.model import Change, Mode
from compat.versions import Version
from registry_service.registry import errors
from registry_service.registry.errors import RegistryError
from registry_service.registry.lens_check import GENERATED_INSTANCES, read_lens, verify_lens
from registry_service.registry.limits import (
    COUNTEREXAMPLE_SECONDS,
    MAX_SCHEMA_ID,
    MAX_SUBJECT_LENGTH,
)
from registry_service.registry.schemas import ParsedSchema, parse_schema, stored_schema
from registry_service.registry.store import Store, StoreTx, VersionRow

LEVELS = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)
MODES = ("READWRITE", "READONLY", "IMPORT")
DEFAULT_LEVEL = "BACKWARD_TRANSITIVE"
DEFAULT_MODE = "READWRITE"
MAX_VERSION = 2**31 - 1
LATEST = "latest"


def parse_version(text: str | int) -> int | None:
    """A version path segment: a positive integer, or None for 'latest' (and Confluent's -1)."""
    raw = str(text).strip()
    if raw.lower() == LATEST or raw == "-1":
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_VERSION:
        return int(raw)
    raise RegistryError(
        errors.INVALID_VERSION,
        f"The specified version '{raw}' is not a valid version id. Allowed values are between "
        f'[1, {MAX_VERSION}] and the string "latest"',
    )


def parse_level(value: Any) -> str:
    level = value.upper() if isinstance(value, str) else value
    if level not in LEVELS:
        raise RegistryError(
            errors.INVALID_COMPATIBILITY_LEVEL,
            f"Invalid compatibility level {value!r}. Valid values are: {', '.join(LEVELS)}",
        )
    return str(level)


def parse_mode(value: Any) -> str:
    mode = value.upper() if isinstance(value, str) else value
    if mode not in MODES:
        raise RegistryError(
            errors.INVALID_MODE, f"Invalid mode {value!r}. Valid values are: {', '.join(MODES)}"
        )
    return str(mode)


@dataclass(frozen=True)
class Registration:
    """The body of `POST /subjects/{s}/versions` (and of compatibility checks)."""

    schema: ParsedSchema
    lens: Any = None  # Refract extension: the lens into a new major (lens file format)
    schema_id: int | None = None  # IMPORT mode only
    version: int | None = None  # IMPORT mode only

    @classmethod
    def from_json(cls, body: Any) -> Registration:
        if not isinstance(body, Mapping):
            raise RegistryError(errors.BAD_REQUEST, "The request body must be a JSON object")
        if "schema" not in body:
            raise RegistryError(
                errors.INVALID_SCHEMA, "Invalid schema: the 'schema' field is missing"
            )
        schema_type = body.get("schemaType", "JSON")
        if schema_type is not None and str(schema_type).upper() != "JSON":
            raise RegistryError(
                errors.INVALID_SCHEMA,
                f"Invalid schema: schemaType {schema_type!r} is not supported; this registry "
                "holds JSON Schema contracts (schemaType JSON)",
            )
        if body.get("references"):
            raise RegistryError(
                errors.INVALID_SCHEMA,
                "Invalid schema: schema references are not supported; register the bundled, "
                "self-contained schema (refract registry push bundles contracts)",
            )
        schema_id = _optional_int(body, "id")
        version = _optional_int(body, "version")
        if version is not None and not 1 <= version <= MAX_VERSION:
            parse_version(version)
        lens = body.get("lens")
        if lens is not None and not isinstance(lens, Mapping):
            raise RegistryError(errors.LENS_INVALID, "Invalid lens: 'lens' must be a JSON object")
        return cls(parse_schema(body["schema"]), lens, schema_id, version)


def _optional_int(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None or (key in ("id", "version") and value in (0, -1)):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SCHEMA_ID:
        raise RegistryError(
            errors.BAD_REQUEST, f"'{key}' must be a positive integer up to {MAX_SCHEMA_ID}"
        )
    return int(value)


@dataclass
class Evaluation:
    """What the registry concluded about a candidate schema for a subject."""

    compatible: bool
    level: str
    compared_with: list[int] = field(default_factory=list)  # subject versions checked against
    changes: list[Change] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    lens_from: str | None = None  # set when the candidate opens a new major
    lens_checked: int = 0
    counterexamples_cut_short: bool = False  # the per-request search budget ran out

    def to_json(self, verbose: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"is_compatible": self.compatible}
        if verbose:
            body["messages"] = self.messages
        body["compatibility"] = self.level
        body["compared_with"] = self.compared_with
        body["changes"] = [_change_json(change) for change in self.changes]
        if self.counterexamples_cut_short:
            body["counterexamples_cut_short"] = True
        if self.lens_from is not None:
            body["lens"] = {"from": self.lens_from, "instances_checked": self.lens_checked}
        return body


def _change_json(change: Change) -> dict[str, Any]:
    body = change.to_json()
    body.pop("file", None)
    body.pop("line", None)
    body.pop("column", None)
    body["direction"] = change.direction.value
    if change.versions is not None:
        body["writer"], body["reader"] = change.versions
    return body


def version_json(row: VersionRow) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": row.subject,
        "version": row.version,
        "id": row.schema_id,
        "schemaType": "JSON",
        "schema": row.schema,
        "semver": row.semver,
    }
    if row.lens is not None:
        body["lens"] = json.loads(row.lens)
    if row.deleted:
        body["deleted"] = True
    return body


class Registry:
    """The schema registry over one store: Confluent operations and the gateway's lookups."""

    def __init__(
        self,
        store: Store,
        *,
        lens_instances: int = GENERATED_INSTANCES,
        counterexample_seconds: float = COUNTEREXAMPLE_SECONDS,
    ) -> None:
        self.store = store
        self.lens_instances = lens_instances
        self.counterexample_seconds = counterexample_seconds

    # -- the interface the gateway uses ------------------------------------------------------

    def contract(self, event: str, version: str) -> dict[str, Any] | None:
        """The bundled, self-contained schema of contract version `event`/`version`."""
        with self.store.read() as tx:
            for row in tx.versions(event):
                if not row.deleted and row.semver == version:
                    value = json.loads(row.schema)
                    return value if isinstance(value, dict) else None
        return None

    def versions(self, event: str) -> list[str]:
        """The SemVer versions of an event's live contract versions, oldest first."""
        with self.store.read() as tx:
            found = {row.semver for row in tx.versions(event) if not row.deleted and row.semver}
        return [str(v) for v in sorted(Version.parse(s) for s in found)]

    def lens(self, event: str, version: str) -> dict[str, Any] | None:
        """The lens registered with `version` (the first of its major), if any."""
        with self.store.read() as tx:
            for row in tx.versions(event):
                if not row.deleted and row.semver == version and row.lens is not None:
                    value = json.loads(row.lens)
                    return value if isinstance(value, dict) else None
        return None

    def generation(self) -> int:
        """A number that increases with every write; caches of contracts compare it."""
        with self.store.read() as tx:
            return tx.generation()

    # -- subjects and versions ---------------------------------------------------------------

    def subjects(self, *, deleted: bool = False) -> list[str]:
        with self.store.read() as tx:
            names = tx.subjects()
            if deleted:
                return names
            return [name for name in names if any(not r.deleted for r in tx.versions(name))]

    def subject_versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        with self.store.read() as tx:
            return [row.version for row in self._rows(tx, subject, deleted=deleted)]

    def get_version(self, subject: str, version: str, *, deleted: bool = False) -> VersionRow:
        with self.store.read() as tx:
            return self._find(tx, subject, version, deleted=deleted)

    def schema(self, schema_id: int) -> str:
        _check_schema_id(schema_id)
        with self.store.read() as tx:
            found = tx.schema_by_id(schema_id)
        if found is None:
            raise RegistryError(errors.SCHEMA_NOT_FOUND, f"Schema {schema_id} not found")
        return found[0]

    def schema_versions(self, schema_id: int, *, deleted: bool = False) -> list[VersionRow]:
        _check_schema_id(schema_id)
        with self.store.read() as tx:
            if tx.schema_by_id(schema_id) is None:
                raise RegistryError(errors.SCHEMA_NOT_FOUND, f"Schema {schema_id} not found")
            return [r for r in tx.versions_of_schema(schema_id) if deleted or not r.deleted]

    def lookup(self, subject: str, body: Any, *, deleted: bool = False) -> VersionRow:
        """The version of `subject` holding this schema (`POST /subjects/{s}`)."""
        candidate = Registration.from_json(body).schema
        with self.store.read() as tx:
            rows = self._rows(tx, subject, deleted=deleted)
        for row in rows:
            if row.fingerprint == candidate.fingerprint:
                return row
        raise RegistryError(errors.SCHEMA_NOT_FOUND, "Schema not found")

    def _rows(self, tx: StoreTx, subject: str, *, deleted: bool) -> list[VersionRow]:
        """The subject's versions (live ones unless `deleted`); 40401 when there are none."""
        rows = [r for r in tx.versions(subject) if deleted or not r.deleted]
        if not rows:
            raise RegistryError(errors.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")
        return rows

    def _find(self, tx: StoreTx, subject: str, version: str, *, deleted: bool) -> VersionRow:
        number = parse_version(version)
        rows = self._rows(tx, subject, deleted=deleted)
        if number is None:
            return rows[-1]
        for row in rows:
            if row.version == number:
                return row
        raise RegistryError(
            errors.VERSION_NOT_FOUND, f"Version {number} not found for subject '{subject}'."
        )

    # -- registration ------------------------------------------------------------------------

    def register(self, subject: str, body: Any) -> int:
        """Register a schema under `subject`; returns its global id (existing one if identical)."""
        _check_subject(subject)
        request = Registration.from_json(body)
        candidate = request.schema
        _check_event(subject, candidate)
        with self.store.write(subject) as tx:
            mode = self._mode(tx, subject)
            if mode == "READONLY":
                raise RegistryError(
                    errors.OPERATION_NOT_PERMITTED,
                    f"Subject '{subject}' is in read-only mode",
                )
            importing = mode == "IMPORT"
            if not importing and (request.schema_id is not None or request.version is not None):
                raise RegistryError(
                    errors.OPERATION_NOT_PERMITTED,
                    "Explicit 'id' and 'version' are only accepted in IMPORT mode "
                    f"(subject '{subject}' is in {mode} mode)",
                )
            rows = tx.versions(subject)
            live = [r for r in rows if not r.deleted]
            for row in live:
                if row.fingerprint == candidate.fingerprint and (
                    request.version is None or request.version == row.version
                ):
                    return row.schema_id  # identical schema: idempotent
            if importing:
                return self._import(tx, subject, request, rows)
            _check_semver(subject, candidate, live)
            evaluation, lens = self._evaluate(tx, subject, candidate, request.lens, live, None)
            if not evaluation.compatible:
                raise _incompatible(subject, evaluation)
            schema_id = tx.insert_schema(candidate.fingerprint, candidate.text, None)
            number = max((r.version for r in rows), default=0) + 1
            tx.insert_version(
                subject,
                number,
                schema_id,
                str(candidate.semver) if candidate.semver else None,
                json.dumps(lens, separators=(",", ":")) if lens is not None else None,
            )
            return schema_id

    def _import(
        self, tx: StoreTx, subject: str, request: Registration, rows: list[VersionRow]
    ) -> int:
        """IMPORT mode: keep the given id and version (as when migrating another registry)."""
        candidate = request.schema
        if request.schema_id is not None:
            existing = tx.schema_by_id(request.schema_id)
            if existing is not None and existing[1] != candidate.fingerprint:
                raise RegistryError(
                    errors.ID_CONFLICT,
                    f"Schema id {request.schema_id} is already used by a different schema",
                )
            known = tx.schema_id_of(candidate.fingerprint)
            if known is not None and known != request.schema_id:
                raise RegistryError(
                    errors.ID_CONFLICT,
                    f"This schema is already registered with id {known}, not {request.schema_id}",
                )
        number = request.version or max((r.version for r in rows), default=0) + 1
        if any(r.version == number for r in rows):
            raise RegistryError(
                errors.OPERATION_NOT_PERMITTED,
                f"Version {number} of subject '{subject}' already exists with another schema",
            )
        schema_id = tx.insert_schema(candidate.fingerprint, candidate.text, request.schema_id)
        lens = json.dumps(request.lens, separators=(",", ":")) if request.lens else None
        semver = str(candidate.semver) if candidate.semver else None
        tx.insert_version(subject, number, schema_id, semver, lens)
        return schema_id

    def check(
        self, subject: str, version: str | None, body: Any, *, verbose: bool = False
    ) -> dict[str, Any]:
        """`POST /compatibility/subjects/{s}/versions[/{v}]`: would this schema be accepted?

        Without a version: the same rule as registration (the subject's level, transitive or
        not, within the candidate's major; a lens for a new major). With one: against that
        version only, in the direction(s) of the subject's level.
        """
        request = Registration.from_json(body)
        candidate = request.schema
        with self.store.read() as tx:
            live = self._rows(tx, subject, deleted=False)
            against = None if version is None else [self._find(tx, subject, version, deleted=False)]
            try:
                evaluation, _ = self._evaluate(tx, subject, candidate, request.lens, live, against)
            except RegistryError as exc:
                if exc.error_code not in (
                    errors.LENS_REQUIRED,
                    errors.LENS_INVALID,
                    errors.LENS_VERIFICATION_FAILED,
                ):
                    raise
                level = self._level(tx, subject)
                evaluation = Evaluation(False, level, messages=[exc.message])
                result = evaluation.to_json(verbose)
                result["lens_error"] = exc.to_json()
                return result
        return evaluation.to_json(verbose)

    def _evaluate(
        self,
        tx: StoreTx,
        subject: str,
        candidate: ParsedSchema,
        lens_value: Any,
        live: list[VersionRow],
        against: list[VersionRow] | None,
    ) -> tuple[Evaluation, Any]:
        """Compatibility of `candidate` with the subject's live versions (or `against`)."""
        level = self._level(tx, subject)
        mode = Mode(level.lower())
        major = candidate.semver.major if candidate.semver else None
        pool = against if against is not None else live

        def same_major(row: VersionRow) -> bool:
            return major is None or row.semver is None or Version.parse(row.semver).major == major

        history = [r for r in pool if same_major(r)]
        older = [
            r
            for r in live
            if major is not None and r.semver and Version.parse(r.semver).major < major
        ]
        opens_major = bool(older) and not any(same_major(r) for r in live)
        evaluation = Evaluation(True, level)
        lens: Any = None
        if opens_major:
            previous_row = max(older, key=lambda r: Version.parse(r.semver or "0.0.0"))
            previous = stored_schema(previous_row.schema, previous_row.semver)
            if lens_value is None:
                raise RegistryError(
                    errors.LENS_REQUIRED,
                    f"{candidate.ref} starts a new major version of '{subject}': register it "
                    f"with a 'lens' from {previous.ref} (the newest version of the previous "
                    "major) to it",
                )
            lens = read_lens(lens_value, previous, candidate)
            evaluation.lens_from = previous.ref
            evaluation.lens_checked = verify_lens(
                lens, previous, candidate, generated=self.lens_instances
            )
            evaluation.compared_with = [previous_row.version]
            return evaluation, lens.to_json()
        if lens_value is not None:
            raise RegistryError(
                errors.LENS_INVALID,
                "Invalid lens: a lens accompanies only the first version of a new major, and "
                f"{candidate.ref or 'this schema'} continues an existing major of '{subject}'",
            )
        if against is not None and mode.transitive:
            mode = Mode(mode.value.removesuffix("_transitive"))
        if not history or mode is Mode.NONE:
            evaluation.compared_with = []
            return evaluation, None
        if not mode.transitive:
            history = history[-1:]
        schemas = [stored_schema(r.schema, r.semver).schema_set() for r in history]
        labels = [f"version {r.version}" + (f" ({r.semver})" if r.semver else "") for r in history]
        report = check_compatibility(
            [*schemas, candidate.schema_set()],
            mode,
            labels=[*labels, candidate.ref or "the new schema"],
            counterexample_seconds=self.counterexample_seconds,
        )
        evaluation.compatible = report.compatible
        evaluation.counterexamples_cut_short = report.counterexamples_cut_short
        evaluation.compared_with = [r.version for r in history]
        evaluation.changes = report.changes
        evaluation.messages = [
            f"{change.type} at {change.new_path or change.old_path}: {change.message}"
            for change in report.incompatible_changes
        ]
        return evaluation, None

    # -- deletion ----------------------------------------------------------------------------

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        with self.store.write(subject) as tx:
            self._writable(tx, subject)
            rows = tx.versions(subject)
            if not rows:
                raise RegistryError(errors.SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")
            live = [r for r in rows if not r.deleted]
            if permanent:
                if live:
                    raise RegistryError(
                        errors.SUBJECT_NOT_SOFT_DELETED,
                        f"Subject '{subject}' was not deleted first before being permanently "
                        "deleted",
                    )
                for row in rows:
                    tx.delete_version(subject, row.version)
                tx.set_compatibility(subject, None)
                tx.set_mode(subject, None)
                return [row.version for row in rows]
            if not live:
                raise RegistryError(
                    errors.SUBJECT_SOFT_DELETED,
                    f"Subject '{subject}' was soft deleted. Set permanent=true to delete "
                    "permanently",
                )
            for row in live:
                tx.mark_deleted(subject, row.version)
            return [row.version for row in live]

    def delete_version(self, subject: str, version: str, *, permanent: bool = False) -> int:
        with self.store.write(subject) as tx:
            self._writable(tx, subject)
            row = self._find(tx, subject, version, deleted=True)
            if permanent:
                if not row.deleted:
                    raise RegistryError(
                        errors.VERSION_NOT_SOFT_DELETED,
                        f"Subject '{subject}' Version {row.version} was not deleted first "
                        "before being permanently deleted",
                    )
                tx.delete_version(subject, row.version)
                return row.version
            if row.deleted:
                raise RegistryError(
                    errors.VERSION_SOFT_DELETED,
                    f"Subject '{subject}' Version {row.version} was soft deleted. Set "
                    "permanent=true to delete permanently",
                )
            tx.mark_deleted(subject, row.version)
            return row.version

    def _writable(self, tx: StoreTx, subject: str) -> None:
        if self._mode(tx, subject) == "READONLY":
            raise RegistryError(
                errors.OPERATION_NOT_PERMITTED, f"Subject '{subject}' is in read-only mode"
            )

    # -- configuration and modes -------------------------------------------------------------

    def _level(self, tx: StoreTx, subject: str | None) -> str:
        return (
            (tx.get_compatibility(subject) if subject is not None else None)
            or tx.get_compatibility(None)
            or DEFAULT_LEVEL
        )

    def _mode(self, tx: StoreTx, subject: str | None) -> str:
        return (
            (tx.get_mode(subject) if subject is not None else None)
            or tx.get_mode(None)
            or DEFAULT_MODE
        )

    def get_config(self, subject: str | None, *, default_to_global: bool = False) -> str:
        with self.store.read() as tx:
            if subject is None:
                return tx.get_compatibility(None) or DEFAULT_LEVEL
            level = tx.get_compatibility(subject)
            if level is None and default_to_global:
                return self._level(tx, None)
        if level is None:
            raise RegistryError(
                errors.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
                f"Subject '{subject}' does not have subject-level compatibility configured",
            )
        return level

    def set_config(self, subject: str | None, level: Any) -> str:
        chosen = parse_level(level)
        if subject is not None:
            _check_subject(subject)
        with self.store.write(subject) as tx:
            tx.set_compatibility(subject, chosen)
        return chosen

    def delete_config(self, subject: str | None) -> str:
        with self.store.write(subject) as tx:
            previous = self._level(tx, subject)
            tx.set_compatibility(subject, None)
        return previous

    def get_mode(self, subject: str | None, *, default_to_global: bool = False) -> str:
        with self.store.read() as tx:
            if subject is None:
                return tx.get_mode(None) or DEFAULT_MODE
            mode = tx.get_mode(subject)
            if mode is None and default_to_global:
                return self._mode(tx, None)
        if mode is None:
            raise RegistryError(
                errors.SUBJECT_LEVEL_MODE_NOT_CONFIGURED,
                f"Subject '{subject}' does not have subject-level mode configured",
            )
        return mode

    def set_mode(self, subject: str | None, mode: Any, *, force: bool = False) -> str:
        chosen = parse_mode(mode)
        if subject is not None:
            _check_subject(subject)
        with self.store.write(subject) as tx:
            if chosen == "IMPORT" and not force:
                names = [subject] if subject is not None else tx.subjects()
                if any(not r.deleted for name in names for r in tx.versions(name)):
                    where = f"subject '{subject}'" if subject else "the registry"
                    raise RegistryError(
                        errors.OPERATION_NOT_PERMITTED,
                        f"Cannot import since found existing subjects in {where}; "
                        "set force=true to switch to IMPORT mode anyway",
                    )
            tx.set_mode(subject, chosen)
        return chosen

    def delete_mode(self, subject: str) -> str:
        with self.store.write(subject) as tx:
            previous = self._mode(tx, subject)
            tx.set_mode(subject, None)
        return previous


def _check_subject(subject: str) -> None:
    """42208 (Confluent's invalid subject) for a name no subject can have.

    Control and format characters (Unicode Cc/Cf, which include the bidirectional overrides
    U+202A-U+202E and isolates U+2066-U+2069 that make a name display as another), lone
    surrogates and private-use or unassigned code points are refused, as are blank names and
    names over MAX_SUBJECT_LENGTH characters. Checked on every route that names a subject, so
    such a name never reaches a store (PostgreSQL refuses NUL with an error of its own).
    """
    if not subject or not subject.strip():
        raise RegistryError(errors.INVALID_SUBJECT, "Invalid subject name: it is empty")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise RegistryError(
            errors.INVALID_SUBJECT,
            f"Invalid subject name: {len(subject)} characters, more than {MAX_SUBJECT_LENGTH}",
        )
    for index, char in enumerate(subject):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise RegistryError(
                errors.INVALID_SUBJECT,
                f"Invalid subject name: character U+{ord(char):04X} at position {index} is a "
                "control, format (e.g. bidirectional override) or unassigned character",
            )


def _check_schema_id(schema_id: int) -> None:
    if not 1 <= schema_id <= MAX_SCHEMA_ID:
        raise RegistryError(errors.SCHEMA_NOT_FOUND, f"Schema {schema_id} not found")


def check_path_parameters(params: Mapping[str, Any]) -> None:
    """Validate the path parameters every registry route shares, before the handler runs.

    `subject` must be a valid subject name (42208); `schema_id`, when it is an integer
    outside the stores' int64 range (or not positive), names no schema (40403) - a number
    too large for the store must not reach it. Non-numeric ids are left to FastAPI (40001).
    """
    subject = params.get("subject")
    if isinstance(subject, str):
        _check_subject(subject)
    raw = params.get("schema_id")
    if isinstance(raw, str):
        text = raw.strip()
        digits = text.removeprefix("-").removeprefix("+")
        if digits.isascii() and digits.isdigit():
            if len(digits) > 19 or text.startswith("-"):
                raise RegistryError(errors.SCHEMA_NOT_FOUND, f"Schema {text[:40]} not found")
            _check_schema_id(int(digits))


def _check_event(subject: str, candidate: ParsedSchema) -> None:
    if candidate.event is not None and candidate.event != subject:
        raise RegistryError(
            errors.INVALID_SCHEMA,
            f"Invalid schema: properties.schema.default declares {candidate.ref}, but the "
            f"subject is '{subject}' (a contract registers under its event name)",
        )


def _check_semver(subject: str, candidate: ParsedSchema, live: list[VersionRow]) -> None:
    """A published contract version is immutable, and versions only move forward."""
    if candidate.semver is None:
        return
    for row in live:
        if row.semver == str(candidate.semver):
            raise RegistryError(
                errors.INVALID_SCHEMA,
                f"Invalid schema: {candidate.ref} is already registered as version "
                f"{row.version} of '{subject}' with a different schema; published contract "
                "versions are immutable (publish a new PATCH version instead)",
            )
    known = [Version.parse(r.semver) for r in live if r.semver]
    if known and candidate.semver < max(known):
        raise RegistryError(
            errors.INVALID_SCHEMA,
            f"Invalid schema: {candidate.ref} is older than {subject}/{max(known)}, the newest "
            "registered version; contract versions are registered in SemVer order",
        )


def _incompatible(subject: str, evaluation: Evaluation) -> RegistryError:
    details = "; ".join(evaluation.messages) or "incompatible"
    return RegistryError(
        errors.INCOMPATIBLE_SCHEMA,
        f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
        f"details: [{details}]",
        compatibility=evaluation.level,
        compared_with=evaluation.compared_with,
        changes=[_change_json(change) for change in evaluation.changes],
    )
