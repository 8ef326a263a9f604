"""The contract catalogue is well-formed, self-consistent and its examples are valid.

These checks guard what every other part of Refract assumes about contracts/: the layout the
linter and registry read, schemas that pass their metaschema, `schema`/`event_name` consts
that match where the file lives, examples that really validate (through cross-file `$ref`s,
with formats asserted), descriptions on every property, PII and dedup annotations, and lens
files in the lens format. They run on the real files, so a broken contract fails CI here even
before the linter or compatibility checker looks at it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compat.source import SchemaSet, pointer_get, pointer_join

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = REPO / "contracts"
EVENTS = CONTRACTS / "events"
COMMON = CONTRACTS / "common"
LENS_SCHEMA = CONTRACTS / "lens.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
LENS_NAME = re.compile(r"^([1-9][0-9]*)-to-([1-9][0-9]*)$")

REQUIRED_CATALOGUE = {
    "page_view",
    "screen_view",
    "app_open",
    "identify",
    "signup",
    "trial_started",
    "subscription_started",
    "lead_created",
    "lead_updated",
    "api_request",
}
ENVELOPE_REQUIRED = {"event_id", "schema", "event_name", "occurred_at", "sent_at"}
# Required wherever the envelope objects are used (every version after the legacy flat shape).
ENVELOPE_OBJECTS_REQUIRED = {"source", "producer"}
COMPATIBILITY_MODES = {
    "backward",
    "backward_transitive",
    "forward",
    "forward_transitive",
    "full",
    "full_transitive",
    "none",
}
# Property names whose values are personal data wherever they appear, with the least class
# they must be annotated with. A contract that forgets x-pii on one of these leaks data past
# the gateway's hashing and truncation.
KNOWN_PII = {
    "email": "direct",
    "first_name": "direct",
    "last_name": "direct",
    "ip": "direct",
    "ip_address": "direct",
    "user_id": "indirect",
    "anonymous_id": "indirect",
    "device_id": "indirect",
    "session_id": "indirect",
    "user_agent": "indirect",
    "referrer": "indirect",
    "referrer_url": "indirect",
    "gclid": "indirect",
    "fbclid": "indirect",
}

# Keywords whose values are subschemas (single, list or name -> schema map). Walking only these
# keeps instance data (examples, const, enum, default) out of the schema walk.
SINGLE = (
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
LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def event_names() -> list[str]:
    return sorted(p.name for p in EVENTS.iterdir() if p.is_dir())


def versions_of(event: str) -> list[str]:
    names = [p.stem for p in (EVENTS / event).glob("*.json") if VERSION.match(p.stem)]
    return sorted(names, key=version_key)


def event_version_files() -> list[Path]:
    return [
        EVENTS / event / f"{version}.json"
        for event in event_names()
        for version in versions_of(event)
    ]


def common_files() -> list[Path]:
    return sorted(COMMON.glob("*/*.json"))


def schema_files() -> list[Path]:
    return [*common_files(), *event_version_files(), LENS_SCHEMA]


def lens_files() -> list[Path]:
    return sorted(EVENTS.glob("*/lenses/*.json"))


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def subschemas(schema: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object reachable through schema keywords, with its JSON pointer."""
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for key in SINGLE:
        if key in schema:
            yield from subschemas(schema[key], pointer_join(pointer, key))
    for key in LISTS:
        for index, sub in enumerate(schema.get(key, [])):
            yield from subschemas(sub, pointer_join(pointer, key, index))
    for key in MAPS:
        for name, sub in schema.get(key, {}).items():
            yield from subschemas(sub, pointer_join(pointer, key, name))


def properties(schema: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(pointer, property name, property schema) for every property declared anywhere."""
    for pointer, node in subschemas(schema):
        for name, sub in node.get("properties", {}).items():
            yield pointer_join(pointer, "properties", name), name, sub


# ---------------------------------------------------------------------------------- layout


def test_required_catalogue_exists() -> None:
    missing = REQUIRED_CATALOGUE - set(event_names())
    assert not missing, f"events missing from contracts/events: {sorted(missing)}"


def test_common_files_and_versions_are_named_by_semver() -> None:
    offenders = [rel(p) for p in common_files() if not VERSION.match(p.stem)]
    for event in event_names():
        for path in (EVENTS / event).glob("*.json"):
            if path.name != "event.json" and not VERSION.match(path.stem):
                offenders.append(rel(path))
    assert not offenders, f"files not named MAJOR.MINOR.PATCH.json: {offenders}"


@pytest.mark.parametrize("event", event_names())
def test_event_config(event: str) -> None:
    config = load(EVENTS / event / "event.json")
    assert set(config) == {"name", "description", "owner", "compatibility"}
    assert config["name"] == event
    assert config["description"].strip()
    assert re.match(r"^[a-z][a-z0-9-]+$", config["owner"])
    assert config["compatibility"] in COMPATIBILITY_MODES
    assert versions_of(event), f"{event} has no version files"
    assert versions_of(event)[0] == "1.0.0", f"{event}'s first version must be 1.0.0"


def test_json_files_are_formatted_with_two_space_indentation() -> None:
    offenders = []
    for path in sorted(CONTRACTS.rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        if text != json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n":
            offenders.append(rel(path))
    assert not offenders, f"not formatted as json.dumps(indent=2) plus newline: {offenders}"


# ---------------------------------------------------------------------------------- schemas


@pytest.mark.parametrize("path", schema_files(), ids=rel)
def test_schema_passes_metaschema(path: Path) -> None:
    schema = load(path)
    assert schema.get("$schema") == DRAFT
    assert "$id" not in schema, "an $id would stop relative $refs resolving against the file"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema.get("title") and schema.get("description")


@pytest.mark.parametrize("path", [*common_files(), *event_version_files()], ids=rel)
def test_every_property_has_a_description(path: Path) -> None:
    missing = [
        p for p, _, sub in properties(load(path)) if not str(sub.get("description", "")).strip()
    ]
    assert not missing, f"properties without description in {rel(path)}: {missing}"


@pytest.mark.parametrize("path", [*common_files(), *event_version_files()], ids=rel)
def test_objects_are_closed(path: Path) -> None:
    """Closed content models are what make optional additions backward compatible."""
    open_objects = [
        p or "/"
        for p, node in subschemas(load(path))
        if "properties" in node and node.get("additionalProperties") is not False
    ]
    assert not open_objects, (
        f"objects without additionalProperties: false in {rel(path)}: {open_objects}"
    )


@pytest.mark.parametrize("path", [*common_files(), *event_version_files()], ids=rel)
def test_pii_annotations(path: Path) -> None:
    problems = []
    for pointer, sub in subschemas(load(path)):
        if "x-pii" in sub and sub["x-pii"] not in ("direct", "indirect"):
            problems.append(f"{pointer}: x-pii {sub['x-pii']!r}")
    for pointer, name, sub in properties(load(path)):
        needed = KNOWN_PII.get(name)
        if needed is None:
            continue
        if sub.get("x-pii") is None:
            problems.append(f"{pointer}: {name} carries personal data but has no x-pii")
        elif needed == "direct" and sub["x-pii"] != "direct":
            problems.append(f"{pointer}: {name} must be x-pii direct")
    assert not problems, f"{rel(path)}: {problems}"


# ---------------------------------------------------------------------------------- events


@pytest.mark.parametrize("path", event_version_files(), ids=rel)
def test_event_schema_shape(path: Path) -> None:
    event, version = path.parent.name, path.stem
    schema = load(path)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    major = version.split(".")[0]
    assert props["schema"] == {
        "description": props["schema"]["description"],
        "type": "string",
        "pattern": f"^{event}/{major}\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$",
        "default": f"{event}/{version}",
    }
    assert props["event_name"]["const"] == event
    assert ENVELOPE_REQUIRED <= set(schema["required"]) <= set(props)
    if "producer" in props:
        assert set(schema["required"]) >= ENVELOPE_OBJECTS_REQUIRED


@pytest.mark.parametrize("path", event_version_files(), ids=rel)
def test_dedup_key_points_into_every_example(path: Path) -> None:
    schema = load(path)
    pointers = schema["x-dedup-key"]
    assert pointers and len(set(pointers)) == len(pointers)
    assert not {"/event_id", "/sent_at", "/dedup_key"} & set(pointers), (
        "x-dedup-key must name business fields, not per-emission ones"
    )
    for pointer in pointers:
        for index, example in enumerate(schema["examples"]):
            try:
                pointer_get(example, pointer)
            except (KeyError, IndexError):
                pytest.fail(f"{rel(path)}: example {index} has no value at {pointer}")


@pytest.mark.parametrize("path", event_version_files(), ids=rel)
def test_examples_validate(path: Path) -> None:
    """Examples validate through the cross-file $refs, with formats asserted."""
    schemas = SchemaSet.from_file(path)
    examples = schemas.schema["examples"]
    assert examples, f"{rel(path)} has no examples"
    validator = schemas.validator()
    for index, example in enumerate(examples):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(example)]
        assert not errors, f"{rel(path)} example {index}: {errors}"
        assert example["schema"] == f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("path", event_version_files(), ids=rel)
def test_examples_are_distinguishing(path: Path) -> None:
    """The validation above means something: a tampered example is rejected."""
    schemas = SchemaSet.from_file(path)
    example = schemas.schema["examples"][0]
    assert not schemas.accepts({**example, "unexpected_field": 1})
    assert not schemas.accepts({**example, "occurred_at": "2026-03-14T09:26:53Z"})
    assert not schemas.accepts({**example, "event_id": "not-a-uuid"})
    assert not schemas.accepts({**example, "schema": f"{path.parent.name}/99.0.0"})


def test_refs_reach_the_common_files() -> None:
    """The envelope parts come from contracts/common, so a fix lands everywhere at once."""
    for path in event_version_files():
        if path.parent.name == "page_view" and path.stem.startswith("1."):
            continue  # the legacy flat shape predates the common files
        schemas = SchemaSet.from_file(path)
        schemas.validator()  # crawls and loads every referenced file
        for ref in ("envelope", "producer", "user"):
            target = (COMMON / ref / "1.0.0.json").resolve().as_uri()
            schemas.resolve(target)
            assert target in schemas.files, f"{rel(path)} does not reference common/{ref}"


def test_minor_versions_only_add_optional_properties() -> None:
    """Within a major, each version keeps every property and the same required set."""
    for event in event_names():
        versions = versions_of(event)
        for older, newer in pairwise(versions):
            if older.split(".")[0] != newer.split(".")[0]:
                continue
            old, new = (
                load(EVENTS / event / f"{older}.json"),
                load(EVENTS / event / f"{newer}.json"),
            )
            assert set(old["properties"]) <= set(new["properties"]), (
                f"{event} {newer} dropped a property"
            )
            assert set(old["required"]) == set(new["required"]), f"{event} {newer} changed required"


def test_page_view_history() -> None:
    assert versions_of("page_view") == ["1.0.0", "1.1.0", "2.0.0"]
    assert (EVENTS / "page_view" / "lenses" / "1-to-2.json").is_file()
    legacy = load(EVENTS / "page_view" / "1.0.0.json")
    assert not any("$ref" in sub for _, _, sub in properties(legacy)), (
        "1.0.0 is the flat legacy shape"
    )
    canonical = load(EVENTS / "page_view" / "2.0.0.json")
    assert {"user", "page", "device", "referral"} <= set(canonical["required"])
    assert versions_of("signup") == ["1.0.0", "1.1.0"]


# ---------------------------------------------------------------------------------- lenses


def test_every_major_bump_has_a_lens() -> None:
    for event in event_names():
        majors = sorted({version_key(v)[0] for v in versions_of(event)})
        for previous, current in pairwise(majors):
            lens = EVENTS / event / "lenses" / f"{previous}-to-{current}.json"
            assert lens.is_file(), f"{event}: major {current} has no lens {rel(lens)}"


@pytest.mark.parametrize("path", lens_files(), ids=rel)
def test_lens_file(path: Path) -> None:
    event = path.parent.parent.name
    lens = load(path)
    jsonschema.Draft202012Validator(load(LENS_SCHEMA)).validate(lens)
    match = LENS_NAME.match(path.stem)
    assert match, f"{rel(path)} is not named <FROM_MAJOR>-to-<TO_MAJOR>.json"
    from_major, to_major = int(match[1]), int(match[2])
    versions = versions_of(event)
    source_event, source = lens["from"].split("/")
    target_event, target = lens["to"].split("/")
    assert source_event == target_event == event
    assert source == max((v for v in versions if version_key(v)[0] == from_major), key=version_key)
    assert target == f"{to_major}.0.0" and target in versions


def test_lens_schema_rejects_malformed_lenses() -> None:
    validator = jsonschema.Draft202012Validator(load(LENS_SCHEMA))
    good = load(EVENTS / "page_view" / "lenses" / "1-to-2.json")
    assert validator.is_valid(good)
    bad_ops: list[dict[str, Any]] = [
        {"op": "rename", "from": "a"},
        {"op": "plunge", "name": "f"},
        {"op": "add", "name": "f"},
        {"op": "remove", "name": "f", "default": 1, "extra": True},
        {"op": "convert", "name": "f", "mapping": []},
        {"op": "in", "name": "obj", "operations": [{"op": "wrap"}]},
        {"op": "map", "name": "arr", "operations": [{"op": "explode", "name": "x"}]},
        {"op": "teleport", "name": "f"},
    ]
    for op in bad_ops:
        assert not validator.is_valid({**good, "operations": [op]}), op
    assert not validator.is_valid({**good, "from": "page_view/1.1"})
    assert not validator.is_valid(
        {key: value for key, value in good.items() if key != "description"}
    )
    nested = {
        "op": "map",
        "name": "items",
        "operations": [
            {
                "op": "in",
                "name": "price",
                "operations": [
                    {
                        "op": "convert",
                        "name": "currency",
                        "mapping": [{"from": "usd", "to": "USD"}],
                        "default": "USD",
                    }
                ],
            },
            {"op": "head", "name": "tags"},
            {"op": "wrap", "name": "tag"},
            {"op": "hoist", "host": "meta", "name": "id"},
        ],
    }
    assert validator.is_valid({**good, "operations": [nested]})
