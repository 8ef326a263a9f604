"""check_compatibility: modes over a version history, directions, policies and locations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compat.check import Report, check_compatibility, comparisons
from compat.model import Direction, Mode, Policy
from compat.source import InvalidInput, SchemaSet
from tests.support.shared import SHARED


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def name_max(length: int) -> dict[str, Any]:
    return obj({"name": {"type": "string", "maxLength": length}}, required=["name"])


def history(*schemas: Any) -> list[SchemaSet]:
    return [SchemaSet.from_value(schema) for schema in schemas]


def types(report: Report) -> list[tuple[str, Direction, bool]]:
    return [(c.type, c.direction, c.compatible) for c in report.changes]


# v1 -> v2 tightened maxLength (registered while the subject's mode was none); v3 loosens it
# again, but not back to v1's bound: compatible with v2, not with v1.
V1, V2, V3 = name_max(10), name_max(5), name_max(8)
LABELS = ["1.0.0", "1.1.0", "1.2.0"]


def test_backward_compares_with_the_previous_version_only() -> None:
    report = check_compatibility(history(V1, V2, V3), Mode.BACKWARD, labels=LABELS)
    assert report.compatible
    assert types(report) == [("MAX_LENGTH_INCREASED", Direction.BACKWARD, True)]
    assert report.changes[0].versions == ("1.1.0", "1.2.0")


def test_backward_transitive_catches_what_backward_misses() -> None:
    report = check_compatibility(history(V1, V2, V3), Mode.BACKWARD_TRANSITIVE, labels=LABELS)
    assert not report.compatible
    assert types(report) == [
        ("MAX_LENGTH_DECREASED", Direction.BACKWARD, False),
        ("MAX_LENGTH_INCREASED", Direction.BACKWARD, True),
    ]
    broken = report.changes[0]
    assert broken.versions == ("1.0.0", "1.2.0")
    assert broken.message.startswith("backward (1.0.0 data read by 1.2.0): ")
    assert broken.has_counterexample
    assert broken.counterexample == {"name": "x" * 9}
    assert SchemaSet.from_value(V1).accepts(broken.counterexample)
    assert not SchemaSet.from_value(V3).accepts(broken.counterexample)


def test_forward_lets_the_old_schema_read_new_data() -> None:
    report = check_compatibility(history(V1, V2, V3), Mode.FORWARD, labels=LABELS)
    assert not report.compatible
    (change,) = report.changes
    assert (change.type, change.direction, change.compatible) == (
        "MAX_LENGTH_DECREASED",
        Direction.FORWARD,
        False,
    )
    assert change.versions == ("1.2.0", "1.1.0")  # new data, read by the previous version
    assert change.has_counterexample
    assert len(change.counterexample["name"]) == 6
    assert SchemaSet.from_value(V3).accepts(change.counterexample)
    assert not SchemaSet.from_value(V2).accepts(change.counterexample)


def test_forward_transitive_and_full_modes() -> None:
    forward_all = check_compatibility(history(V1, V2, V3), Mode.FORWARD_TRANSITIVE, labels=LABELS)
    assert [(c.type, c.versions) for c in forward_all.changes] == [
        ("MAX_LENGTH_INCREASED", ("1.2.0", "1.0.0")),
        ("MAX_LENGTH_DECREASED", ("1.2.0", "1.1.0")),
    ]
    assert not forward_all.compatible

    full = check_compatibility(history(V1, V2, V3), Mode.FULL, labels=LABELS)
    assert types(full) == [
        ("MAX_LENGTH_INCREASED", Direction.BACKWARD, True),
        ("MAX_LENGTH_DECREASED", Direction.FORWARD, False),
    ]
    assert not full.compatible

    full_all = check_compatibility(history(V1, V2, V3), Mode.FULL_TRANSITIVE, labels=LABELS)
    assert [(c.direction, c.versions) for c in full_all.changes] == [
        (Direction.BACKWARD, ("1.0.0", "1.2.0")),
        (Direction.FORWARD, ("1.2.0", "1.0.0")),
        (Direction.BACKWARD, ("1.1.0", "1.2.0")),
        (Direction.FORWARD, ("1.2.0", "1.1.0")),
    ]


def test_full_is_compatible_only_when_both_directions_are() -> None:
    same_bound = obj({"name": {"type": "string", "maxLength": 5, "description": "changed"}})
    report = check_compatibility(
        history(obj({"name": {"type": "string", "maxLength": 5}}), same_bound), Mode.FULL
    )
    assert report.compatible
    assert {c.direction for c in report.changes} == {Direction.BACKWARD, Direction.FORWARD}
    assert all(c.compatible and not c.has_counterexample for c in report.changes)


def test_none_mode_reports_nothing() -> None:
    report = check_compatibility(history(V1, V2, V3), Mode.NONE)
    assert report.compatible
    assert report.changes == []


def test_a_single_schema_is_compatible_in_every_mode() -> None:
    for mode in Mode:
        report = check_compatibility(history(V1), mode)
        assert report.compatible and report.changes == []


def test_comparison_plan_per_mode() -> None:
    assert [(c.earlier, c.direction) for c in comparisons(3, Mode.BACKWARD)] == [
        (1, Direction.BACKWARD)
    ]
    assert [c.earlier for c in comparisons(4, Mode.BACKWARD_TRANSITIVE)] == [0, 1, 2]
    assert [c.direction for c in comparisons(2, Mode.FULL)] == [
        Direction.BACKWARD,
        Direction.FORWARD,
    ]
    assert comparisons(3, Mode.NONE) == []


OPEN_V1 = obj({"a": {"type": "string"}})
OPEN_V2 = obj({"a": {"type": "string"}, "b": {"type": "integer"}})


def test_strict_rejects_an_optional_property_added_to_an_open_model() -> None:
    report = check_compatibility(history(OPEN_V1, OPEN_V2), Mode.BACKWARD, Policy.STRICT)
    assert not report.compatible
    (change,) = report.changes
    assert change.type == "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
    assert change.new_path == "#/properties/b"
    # Old data may already carry `b`, with another type: the counterexample shows it.
    assert change.has_counterexample
    assert "b" in change.counterexample and not isinstance(change.counterexample["b"], int)


def test_lenient_accepts_an_optional_property_added_to_an_open_model() -> None:
    report = check_compatibility(history(OPEN_V1, OPEN_V2), Mode.BACKWARD, Policy.LENIENT)
    assert report.compatible
    (change,) = report.changes
    assert change.compatible
    assert change.counterexample is None and not change.has_counterexample


def test_incompatible_change_without_a_counterexample_keeps_none() -> None:
    """Confluent flags a new unknown keyword as breaking; no instance can show it, so none is invented."""
    report = check_compatibility(
        history({"type": "string"}, {"type": "string", "frobnicate": 1}), Mode.BACKWARD
    )
    incompatible = report.incompatible_changes
    assert incompatible, report.changes
    assert all(c.counterexample is None and not c.has_counterexample for c in incompatible)


def test_report_json() -> None:
    report = check_compatibility(history(V2, V3), Mode.FORWARD, labels=LABELS[1:])
    data = report.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["compatible"] is False
    assert data["mode"] == "forward" and data["policy"] == "strict"
    (change,) = data["changes"]
    assert change["type"] == "MAX_LENGTH_DECREASED"
    assert change["compatible"] is False
    assert len(change["counterexample"]["name"]) == 6
    assert set(change) == {
        "type",
        "old_path",
        "new_path",
        "file",
        "line",
        "column",
        "compatible",
        "message",
        "counterexample",
    }


def test_labels_must_match_the_history() -> None:
    with pytest.raises(ValueError):
        check_compatibility(history(V1, V2), Mode.BACKWARD, labels=["only one"])


# -- locations --------------------------------------------------------------------------


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    return path


def position(path: Path, needle: str) -> tuple[int, int]:
    """1-based line and column of the value after `needle` in a file."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + len(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


def event(user_ref: str, *, title_max: int) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["event_name", "user"],
        "properties": {
            "event_name": {"const": "page_view"},
            "title": {"type": "string", "maxLength": title_max},
            "user": {"$ref": user_ref},
        },
    }


def user(id_max: int) -> dict[str, Any]:
    return obj({"user_id": {"type": "string", "maxLength": id_max}}, required=["user_id"])


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)  # display paths are relative to the working directory
    return {
        "user1": write(tmp_path / "common/user/1.0.0.json", user(64)),
        "user2": write(tmp_path / "common/user/2.0.0.json", user(32)),
        "old": write(
            tmp_path / "events/page_view/1.0.0.json",
            event("../../common/user/1.0.0.json", title_max=200),
        ),
        "new": write(
            tmp_path / "events/page_view/2.0.0.json",
            event("../../common/user/2.0.0.json", title_max=100),
        ),
    }


def test_locations_point_at_the_keyword_in_the_new_file(files: dict[str, Path]) -> None:
    schemas = [SchemaSet.from_file(files["old"]), SchemaSet.from_file(files["new"])]
    report = check_compatibility(schemas, Mode.BACKWARD)
    by_path = {c.new_path: c for c in report.changes}

    title = by_path["#/properties/title/maxLength"]
    assert title.type == "MAX_LENGTH_DECREASED"
    assert title.file == "events/page_view/2.0.0.json"
    assert (title.line, title.column) == position(files["new"], '"maxLength": ')
    assert len(title.counterexample["title"]) == 101

    # A change inside a $ref'd shared file is located in that file, not in the event.
    user_id = by_path["#/properties/user/properties/user_id/maxLength"]
    assert user_id.type == "MAX_LENGTH_DECREASED"
    assert user_id.file == "common/user/2.0.0.json"
    assert (user_id.line, user_id.column) == position(files["user2"], '"maxLength": ')
    assert len(user_id.counterexample["user"]["user_id"]) == 33
    assert user_id.counterexample["event_name"] == "page_view"


def test_forward_locations_still_point_into_the_checked_version(files: dict[str, Path]) -> None:
    # Checking 1.0.0 as the "new" version against 2.0.0 forward: 1.0.0 writes, 2.0.0 reads.
    schemas = [SchemaSet.from_file(files["new"]), SchemaSet.from_file(files["old"])]
    report = check_compatibility(schemas, Mode.FORWARD)
    title = next(c for c in report.changes if c.new_path.startswith("#/properties/title"))
    assert title.direction is Direction.FORWARD
    assert not title.compatible
    assert title.file == "events/page_view/1.0.0.json"
    assert (title.line, title.column) == position(files["old"], '"maxLength": ')
    assert len(title.counterexample["title"]) == 101


# -- Confluent's own examples ---------------------------------------------------------------

CONFLUENT = SHARED / "data" / "compat" / "confluent"


def confluent_examples() -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = []
    for name in ("diff-schema-examples.json", "diff-combined-schema-examples.json"):
        examples += json.loads((CONFLUENT / name).read_text(encoding="utf-8"))
    return examples


@pytest.mark.skipif(not CONFLUENT.is_dir(), reason="shared Confluent examples not available")
def test_confluent_incompatible_examples_get_verified_counterexamples() -> None:
    """Every counterexample separates; every breaking example gets one unless none can exist.

    Examples that use draft-07 tuples without declaring draft-07 are not valid 2020-12 schemas
    and are skipped; draft-07-only keywords in a 2020-12 schema are unknown keywords that no
    validator applies, so no instance can show their change.
    """
    checked = 0
    for example in confluent_examples():
        try:
            old = SchemaSet.from_value(example["original_schema"])
            new = SchemaSet.from_value(example["update_schema"])
        except InvalidInput:
            continue
        report = check_compatibility([old, new], Mode.BACKWARD)
        for change in report.changes:
            if change.has_counterexample:
                assert old.accepts(change.counterexample), example["description"]
                assert not new.accepts(change.counterexample), example["description"]
        breaking = {c.type for c in report.incompatible_changes}
        if example["compatible"] or breaking <= {"REFRACT_UNKNOWN_KEYWORD_CHANGED"}:
            continue
        assert any(c.has_counterexample for c in report.changes), example["description"]
        checked += 1
    assert checked >= 35


# -- the project's own contracts ------------------------------------------------------------

EVENTS = Path(__file__).resolve().parents[2] / "contracts" / "events"


def event_histories() -> list[list[Path]]:
    def semver(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.stem.split("."))

    histories = [
        sorted(d.glob("[0-9]*.json"), key=semver) for d in sorted(EVENTS.glob("*")) if d.is_dir()
    ]
    return [h for h in histories if len(h) > 1]


@pytest.mark.parametrize("files", event_histories(), ids=lambda h: h[0].parent.name)
def test_every_breaking_change_in_real_histories_has_a_realistic_counterexample(
    files: list[Path],
) -> None:
    schemas = [SchemaSet.from_file(f) for f in files]
    report = check_compatibility(schemas, Mode.FULL_TRANSITIVE)
    for change in report.incompatible_changes:
        assert change.has_counterexample, change
        writer_label, reader_label = change.versions or ("", "")
        by_label = {s.root.display: s for s in schemas}
        writer, reader = by_label[writer_label], by_label[reader_label]
        assert writer.accepts(change.counterexample)
        assert not reader.accepts(change.counterexample)
        assert change.counterexample["event_name"] == files[0].parent.name
        if change.type == "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL":
            added = change.new_path.rsplit("/", 1)[-1]
            assert added not in change.counterexample


def test_counterexamples_can_be_skipped() -> None:
    report = check_compatibility(history(V1, V2), Mode.BACKWARD, counterexamples=False)
    assert types(report) == [("MAX_LENGTH_DECREASED", Direction.BACKWARD, False)]
    assert report.changes[0].counterexample is None
    assert not report.changes[0].has_counterexample
