"""References: into other files, recursive definitions, and positions inside referenced files.

Paths continue from the referring location (as Confluent's do); locations name the file that
holds the keyword, with its line and column, so a change in a shared file is reported there.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from compat.diff import Difference, diff_schemas
from compat.source import InvalidInput, SchemaSet


def _write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    return path


def _position(path: Path, key: str) -> tuple[int, int]:
    """1-based line and column of the value of `"key":` in a file written by `_write`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        marker = f'"{key}": '
        if marker in line:
            return number, line.index(marker) + len(marker) + 1
    raise AssertionError(f"{key} not in {path}")


def _event(user_ref: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {"user": {"$ref": user_ref, "description": "who"}, "n": {"type": "integer"}},
    }


def _user(max_length: int) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"user_id": {"type": "string", "maxLength": max_length}},
    }


def test_change_in_a_referenced_file_is_located_in_that_file(tmp_path: Path) -> None:
    old_user = _write(tmp_path / "common" / "user" / "1.0.0.json", _user(64))
    new_user = _write(tmp_path / "common" / "user" / "1.1.0.json", _user(32))
    old_event = _write(
        tmp_path / "events" / "e" / "1.0.0.json", _event("../../common/user/1.0.0.json")
    )
    new_event = _write(
        tmp_path / "events" / "e" / "1.1.0.json", _event("../../common/user/1.1.0.json")
    )

    diffs = diff_schemas(SchemaSet.from_file(old_event), SchemaSet.from_file(new_event))

    assert [(d.type, d.old_path, d.new_path) for d in diffs] == [
        (
            "MAX_LENGTH_DECREASED",
            "#/properties/user/properties/user_id/maxLength",
            "#/properties/user/properties/user_id/maxLength",
        )
    ]
    (diff,) = diffs
    assert diff.old_location is not None and diff.new_location is not None
    assert Path(diff.old_location.file).name == "1.0.0.json"
    assert Path(diff.old_location.file).parent.name == "user"
    assert Path(diff.new_location.file).name == "1.1.0.json"
    assert Path(diff.new_location.file).parent.name == "user"
    assert diff.new_location.pointer == "/properties/user_id/maxLength"
    assert (diff.old_location.line, diff.old_location.column) == _position(old_user, "maxLength")
    assert (diff.new_location.line, diff.new_location.column) == _position(new_user, "maxLength")


def test_same_shared_file_on_both_sides_has_no_differences(tmp_path: Path) -> None:
    _write(tmp_path / "common" / "user.json", _user(64))
    old_event = _write(tmp_path / "a.json", _event("common/user.json"))
    new_event = _write(tmp_path / "b.json", _event("common/user.json"))
    assert diff_schemas(SchemaSet.from_file(old_event), SchemaSet.from_file(new_event)) == []


def test_annotation_beside_a_cross_file_ref_is_located_in_the_referring_file(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "common" / "user.json", _user(64))
    old_event = _write(tmp_path / "a.json", _event("common/user.json"))
    changed = _event("common/user.json")
    changed["properties"]["user"]["description"] = "the signed-in user"
    new_event = _write(tmp_path / "b.json", changed)

    (diff,) = diff_schemas(SchemaSet.from_file(old_event), SchemaSet.from_file(new_event))

    assert (diff.type, diff.old_path) == ("DESCRIPTION_CHANGED", "#/properties/user")
    assert diff.new_location is not None
    assert Path(diff.new_location.file).name == "b.json"
    assert (diff.new_location.line, diff.new_location.column) == _position(new_event, "description")


def _tree(leaf_type: str) -> dict[str, Any]:
    """A tree whose nodes hold branches whose leaves point back at nodes (mutual recursion)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/$defs/node",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/branch"}},
                },
            },
            "branch": {
                "type": "object",
                "properties": {
                    "leaf": {"type": leaf_type},
                    "next": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/node"}]},
                },
            },
        },
    }


def _diff_values(original: Any, update: Any) -> list[Difference]:
    return diff_schemas(SchemaSet.from_value(original), SchemaSet.from_value(update))


def test_recursive_schema_terminates_and_finds_a_change_deep_inside() -> None:
    start = time.perf_counter()
    diffs = _diff_values(_tree("string"), _tree("integer"))
    elapsed = time.perf_counter() - start

    assert [(d.type, d.old_path) for d in diffs] == [
        ("TYPE_CHANGED", "#/properties/children/items/properties/leaf")
    ]
    assert diffs[0].old_location is not None
    assert diffs[0].old_location.pointer == "/$defs/branch/properties/leaf"
    assert elapsed < 30  # a guard against endless recursion, not a speed target


def test_identical_recursive_schemas_have_no_differences() -> None:
    assert _diff_values(_tree("string"), _tree("string")) == []


def test_self_referencing_linked_list() -> None:
    def linked(value_type: str) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "value": {"type": value_type},
                "next": {"anyOf": [{"type": "null"}, {"$ref": "#"}]},
            },
        }

    diffs = _diff_values(linked("integer"), linked("number"))
    assert [(d.type, d.old_path) for d in diffs] == [("TYPE_EXTENDED", "#/properties/value")]


def test_reference_cycle_without_a_schema_in_between_is_not_an_endless_loop() -> None:
    cyclic = {
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        "$ref": "#/$defs/a",
    }
    assert _diff_values(cyclic, cyclic) == []


def test_unresolvable_reference_is_bad_input_naming_the_reference(tmp_path: Path) -> None:
    _write(tmp_path / "common" / "user.json", _user(64))
    broken = _write(tmp_path / "e.json", _event("common/missing.json"))
    fine = _write(tmp_path / "f.json", _event("common/user.json"))
    with pytest.raises(InvalidInput, match=r"unresolvable \$ref .common/missing\.json"):
        diff_schemas(SchemaSet.from_file(broken), SchemaSet.from_file(fine))
