"""Where a `$ref` may lead: inside the document (in memory), inside the contracts root (files).

Schemas that arrive over HTTP are built with SchemaSet.from_value: every reference that does
not land inside the document is refused before anything is resolved, and the set has no way
to read a file at all. Files read by the CLI resolve relative references, but only to regular
files inside the confinement root (the contracts root holding the file, else its directory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import referencing.exceptions

from compat.source import (
    MAX_FILE_BYTES,
    OUTSIDE_REFS,
    InvalidInput,
    SchemaSet,
    confinement_root,
    read_json_file,
)

SECRET = {"type": "object", "properties": {"api_secret": {"const": "hunter2"}}}


def _write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def _holder(ref: str, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"x": {"$ref": ref}}, **extra}


@pytest.mark.parametrize(
    "ref",
    [
        "file:///dev/zero",
        "file:///etc/passwd",
        "file:///nonexistent/missing.json",
        "file:///etc/",
        "https://example.com/schema.json",
        "http://127.0.0.1:1/schema.json",
        "other.json",
        "../../../../etc/passwd",
        "urn:example:elsewhere",
        "//example.com/x.json",
    ],
)
def test_in_memory_schema_refuses_every_outside_ref(ref: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        SchemaSet.from_value(_holder(ref))
    message = str(caught.value)
    assert message.endswith(OUTSIDE_REFS)
    assert f"$ref {ref!r} at #/properties/x" in message


def test_outside_ref_message_is_the_same_whatever_the_target_is(tmp_path: Path) -> None:
    """No oracle: a file, a missing file, a directory and a device give the same message."""
    _write(tmp_path / "there.json", SECRET)
    targets = [
        (tmp_path / "there.json").as_uri(),
        (tmp_path / "missing.json").as_uri(),
        tmp_path.as_uri(),
        "file:///dev/zero",
    ]
    messages = set()
    for target in targets:
        with pytest.raises(InvalidInput) as caught:
            SchemaSet.from_value(_holder(target))
        messages.add(str(caught.value).replace(target, "TARGET"))
    assert len(messages) == 1, messages


def test_id_rebasing_onto_the_file_system_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "secret.json", SECRET)
    schema = _holder("secret.json", **{"$id": tmp_path.as_uri() + "/"})
    with pytest.raises(InvalidInput, match=OUTSIDE_REFS):
        SchemaSet.from_value(schema)
    embedded = {
        "type": "object",
        "properties": {"x": {"$id": tmp_path.as_uri() + "/sub/", "$ref": "../secret.json"}},
    }
    with pytest.raises(InvalidInput, match=OUTSIDE_REFS):
        SchemaSet.from_value(embedded)


@pytest.mark.parametrize("keyword", ["$dynamicRef", "$recursiveRef"])
def test_dynamic_references_outside_are_refused_too(keyword: str) -> None:
    with pytest.raises(InvalidInput, match=OUTSIDE_REFS):
        SchemaSet.from_value({"properties": {"x": {keyword: "file:///etc/passwd"}}})


def test_in_memory_set_cannot_retrieve_even_an_existing_file(tmp_path: Path) -> None:
    """By construction: the registry of an in-memory set has no retriever at all."""
    path = _write(tmp_path / "secret.json", SECRET)
    sset = SchemaSet.from_value({"type": "object"})
    with pytest.raises(referencing.exceptions.Unresolvable):
        sset.registry.resolver().lookup(path.as_uri())
    with pytest.raises(InvalidInput):
        sset.resolve(path.as_uri())


def test_references_inside_the_document_still_resolve() -> None:
    schema = {
        "$id": "https://example.com/root.json",
        "type": "object",
        "$defs": {
            "name": {"$anchor": "name", "type": "string"},
            "inner": {
                "$id": "https://example.com/inner.json",
                "type": "integer",
                "minimum": 1,
            },
        },
        "properties": {
            "a": {"$ref": "#/$defs/name"},
            "b": {"$ref": "#name"},
            "c": {"$ref": "https://example.com/inner.json"},
            "d": {"$ref": "https://example.com/root.json#/$defs/name"},
            "e": {"$ref": ""},
        },
    }
    sset = SchemaSet.from_value(schema)
    assert sset.accepts({"a": "x", "b": "y", "c": 3})
    assert not sset.accepts({"c": 0})
    plain = SchemaSet.from_value({"$defs": {"n": {"type": "string"}}, "$ref": "#/$defs/n"})
    assert plain.accepts("x") and not plain.accepts(1)


def test_data_keywords_holding_a_ref_key_are_not_references() -> None:
    sset = SchemaSet.from_value({"const": {"$ref": "file:///etc/passwd"}})
    assert sset.accepts({"$ref": "file:///etc/passwd"})


# -- files: confined to the contracts root ------------------------------------------------------


def test_confinement_root_is_the_contracts_root_else_the_files_directory(tmp_path: Path) -> None:
    event = _write(tmp_path / "tree" / "events" / "e" / "1.0.0.json", {"type": "object"})
    common = _write(tmp_path / "tree" / "common" / "u" / "1.0.0.json", {"type": "object"})
    loose = _write(tmp_path / "loose" / "a.json", {"type": "object"})
    assert confinement_root(event) == (tmp_path / "tree").resolve()
    assert confinement_root(common) == (tmp_path / "tree").resolve()
    assert confinement_root(loose) == (tmp_path / "loose").resolve()


def test_contract_reaches_shared_files_of_its_tree(tmp_path: Path) -> None:
    _write(tmp_path / "common" / "user" / "1.0.0.json", {"type": "string"})
    event = _write(
        tmp_path / "events" / "e" / "1.0.0.json", _holder("../../common/user/1.0.0.json")
    )
    sset = SchemaSet.from_file(event)
    assert sset.accepts({"x": "a"}) and not sset.accepts({"x": 1})


def test_dotdot_escape_from_the_root_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "secret.json", SECRET)
    schema = _write(tmp_path / "work" / "a.json", _holder("../secret.json"))
    with pytest.raises(InvalidInput, match="outside") as caught:
        SchemaSet.from_file(schema)
    assert "hunter2" not in str(caught.value)
    deep = _write(tmp_path / "work" / "b.json", _holder("../../../../../../../../etc/passwd"))
    with pytest.raises(InvalidInput, match="outside"):
        SchemaSet.from_file(deep)


def test_absolute_file_ref_outside_the_root_is_refused(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.json", SECRET)
    schema = _write(tmp_path / "work" / "a.json", _holder(secret.as_uri()))
    with pytest.raises(InvalidInput, match="outside"):
        SchemaSet.from_file(schema)


def test_symlink_escaping_the_root_is_refused(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.json", SECRET)
    work = tmp_path / "work"
    work.mkdir()
    (work / "link.json").symlink_to(secret)
    (work / "dir").symlink_to(tmp_path)
    for ref in ("link.json", "dir/secret.json"):
        schema = _write(work / "a.json", _holder(ref))
        with pytest.raises(InvalidInput, match="outside"):
            SchemaSet.from_file(schema)


def test_symlink_inside_the_root_is_followed(tmp_path: Path) -> None:
    _write(tmp_path / "real.json", {"type": "string"})
    (tmp_path / "alias.json").symlink_to(tmp_path / "real.json")
    schema = _write(tmp_path / "a.json", _holder("alias.json"))
    assert SchemaSet.from_file(schema).accepts({"x": "s"})


def test_explicit_root_narrows_what_is_reachable(tmp_path: Path) -> None:
    _write(tmp_path / "shared.json", {"type": "string"})
    schema = _write(tmp_path / "sub" / "a.json", _holder("../shared.json"))
    assert SchemaSet.from_file(schema, root=tmp_path).accepts({"x": "s"})
    with pytest.raises(InvalidInput, match="outside"):
        SchemaSet.from_file(schema, root=tmp_path / "sub")


def test_non_regular_files_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # opening it for reading blocks without O_NONBLOCK: this must not hang
    with pytest.raises(InvalidInput, match="not a regular file"):
        read_json_file(fifo)
    with pytest.raises(InvalidInput, match="not a regular file"):
        read_json_file("/dev/zero")
    schema = _write(tmp_path / "a.json", _holder("pipe.json"))
    with pytest.raises(InvalidInput, match="not a regular file"):
        SchemaSet.from_file(schema)


def test_files_above_the_size_cap_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('"' + "x" * MAX_FILE_BYTES + '"', encoding="utf-8")
    with pytest.raises(InvalidInput, match=f"larger than {MAX_FILE_BYTES} bytes"):
        read_json_file(big)
    schema = _write(tmp_path / "a.json", _holder("big.json"))
    with pytest.raises(InvalidInput, match="larger than"):
        SchemaSet.from_file(schema)
