"""The gateway's compiled validator (jsonschema_rs) agrees with the reference `jsonschema`.

For every version of every contract, on the contract's examples, on instances generated from
the schema with hypothesis-jsonschema, and on mutations of those instances (a required field
dropped, a value of the wrong type, an unknown property, a string spoiled against its format
or pattern): the compiled validator of the bundled schema the registry serves and the reference
validator of the contract file as written (compat.source.SchemaSet, Draft 2020-12 with its
format checker) give the same verdict. Mutations are checked to be invalid often enough that
the agreement on invalid instances is not vacuous.

One documented deviation (docs/gateway.md): Python's `re` lets a pattern's final `$` match
before a trailing newline, so the reference accepts "2026-03-14T09:26:53.589Z\n" as a
timestamp; JSON Schema specifies ECMA-262 regular expressions, where `$` is the end of the
string, and jsonschema_rs (like pydantic-core in the SDK) rejects it. The tests therefore also
run the reference with ECMA-262 `$` (`reference_ecma`): the compiled validator must agree with
it always, and with the plain reference except where exactly this rule explains the difference.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from codegen.bundle import bundle
from compat.catalogue import EventVersion, load_catalogue
from registry_service.gateway.validators import compile_schema
from tests.codegen.conftest import CONTRACTS

_CATALOGUE = load_catalogue(CONTRACTS)
VERSIONS = [v for e in _CATALOGUE.events.values() for v in e.versions]
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _generation_view(node: Any) -> Any:
    """The schema without `format` where a `pattern` pins the spelling (generating from the
    format and filtering by the pattern rejects nearly everything), and without examples."""
    if isinstance(node, list):
        return [_generation_view(item) for item in node]
    if isinstance(node, dict):
        drop = "format" if "pattern" in node else None
        return {
            key: value if key in ("const", "enum") else _generation_view(value)
            for key, value in node.items()
            if key != drop and key != "examples"
        }
    return node


def ecma_dollar(pattern: str) -> str:
    """``pattern`` with every unescaped ``$`` outside a character class as ``\\Z`` (what
    ECMA-262's ``$`` means without the multiline flag)."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append("\\Z" if char == "$" and not in_class else char)
        i += 1
    return "".join(out)


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if isinstance(instance, str) and not re.search(ecma_dollar(pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


EcmaValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
)


class Pair:
    """The validators of one contract version: compiled, reference, reference with ECMA `$`."""

    def __init__(self, version: EventVersion) -> None:
        self.version = version
        self.bundled = bundle(version.schema_set)
        self.compiled = compile_schema(self.bundled)
        self.reference = version.schema_set.validator()
        self.reference_ecma = EcmaValidator(
            self.bundled, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )

    def verdicts(self, instance: Any) -> tuple[bool, bool]:
        """(compiled, reference) verdicts, after checking the documented deviation: the
        compiled one always agrees with ECMA-262 `$`, and differs from the plain reference
        only where that rule does."""
        compiled = bool(self.compiled.is_valid(instance))
        reference = bool(self.reference.is_valid(instance))
        ecma = bool(self.reference_ecma.is_valid(instance))
        assert compiled == ecma, (self.version.ref, instance)
        if compiled != reference:
            assert ecma != reference and _has_trailing_newline(instance), instance
            return compiled, compiled  # the documented deviation, explained
        return compiled, reference


def _has_trailing_newline(node: Any) -> bool:
    if isinstance(node, str):
        return node.endswith("\n")
    if isinstance(node, dict):
        return any(_has_trailing_newline(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_trailing_newline(v) for v in node)
    return False


_PAIRS: dict[str, Pair] = {}


def pair(version: EventVersion) -> Pair:
    if version.ref not in _PAIRS:
        _PAIRS[version.ref] = Pair(version)
    return _PAIRS[version.ref]


def instances(version: EventVersion) -> st.SearchStrategy[dict[str, Any]]:
    schema = _generation_view(bundle(version.schema_set))
    return from_schema(schema).map(lambda doc: {**doc, "schema": version.ref})


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


SPOILERS: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    "not an email",
    "a@b",
    "2026-02-31T10:00:00.000Z",  # a day that does not exist, in the pinned spelling
    "2026-03-14T09:26:53Z",  # no milliseconds
    "2026-03-14T09:26:53.589+01:00",
    "0F8E2D6C-4B1A-4E9F-8D7C-6B5A4F3E2D1C",  # upper-case UUID
    "192.168.000.001",
    "256.1.1.1",
    "2001:db8::1",
    "fe80::1%eth0",
    "https://example.com/a b",
    "en-US\n",
    "2026-03-14T09:26:53.589Z\n",
    "x" * 3000,
    [],
    {},
]


@st.composite
def mutated(draw: st.DrawFn, version: EventVersion) -> dict[str, Any]:
    """A generated instance with one value replaced, removed, or one property added."""
    instance = copy.deepcopy(draw(instances(version)))
    paths = _paths(instance)
    path = draw(st.sampled_from(paths))
    parent: Any = instance
    for step in path[:-1]:
        parent = parent[step]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "remove" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent["unexpected_field"] = draw(st.sampled_from(SPOILERS))
    else:
        parent[path[-1]] = draw(st.sampled_from(SPOILERS))
    return instance


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.ref)
def test_examples_agree_and_are_valid(version: EventVersion) -> None:
    p = pair(version)
    examples = version.schema_set.schema.get("examples", [])
    assert examples, f"{version.ref} has no examples"
    for example in examples:
        assert p.verdicts(example) == (True, True)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.ref)
@SETTINGS
@given(data=st.data())
def test_generated_instances_agree(version: EventVersion, data: st.DataObject) -> None:
    p = pair(version)
    instance = data.draw(instances(version))
    compiled, reference = p.verdicts(instance)
    assert compiled == reference, (version.ref, instance)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.ref)
def test_mutated_instances_agree(version: EventVersion) -> None:
    """Verdicts agree on mutated instances, most of which are invalid (so the agreement on
    invalid instances is not vacuous)."""
    p = pair(version)
    invalid = 0

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def count(data: st.DataObject) -> None:
        nonlocal invalid
        instance = data.draw(mutated(version))
        compiled, reference = p.verdicts(instance)
        assert compiled == reference, (version.ref, instance)
        invalid += not reference

    count()
    assert invalid >= 5, f"only {invalid} of 30 mutations of {version.ref} were invalid"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-03-14T09:26:53.589Z", True),
        ("2026-02-31T09:26:53.589Z", True),  # the reference does not check date-time: nor do we
        ("2026-03-14T09:26:53Z", False),  # the pattern does
        ("2026-13-14T09:26:53.589Z", False),
    ],
)
def test_timestamps_follow_the_reference_and_the_pattern(value: str, valid: bool) -> None:
    version = _CATALOGUE.events["page_view"].versions[-1]
    p = pair(version)
    example = copy.deepcopy(version.schema_set.schema["examples"][0])
    example["occurred_at"] = value
    assert p.verdicts(example) == (valid, valid)


@pytest.mark.parametrize(
    ("email", "valid"),
    [("ada@example.com", True), ("a@b", True), ("no-at-sign", False)],
)
def test_email_format_follows_the_reference(email: str, valid: bool) -> None:
    version = _CATALOGUE.events["lead_created"].versions[-1]
    p = pair(version)
    example = copy.deepcopy(version.schema_set.schema["examples"][0])
    example["email"] = email
    assert p.verdicts(example) == (valid, valid)


@pytest.mark.parametrize(
    "field",
    [("occurred_at",), ("device", "locale"), ("event_id",)],
)
def test_a_trailing_newline_is_the_one_documented_deviation(field: tuple[str, ...]) -> None:
    version = _CATALOGUE.events["page_view"].versions[-1]
    p = pair(version)
    example = copy.deepcopy(version.schema_set.schema["examples"][0])
    parent = example
    for step in field[:-1]:
        parent = parent[step]
    parent[field[-1]] += "\n"
    assert not p.compiled.is_valid(example)
    assert not p.reference_ecma.is_valid(example)
    if field != ("event_id",):  # event_id's format check (uuid) rejects it in the reference too
        assert p.reference.is_valid(example)


def test_ecma_dollar_translation() -> None:
    assert ecma_dollar("^a$") == "^a\\Z"
    assert ecma_dollar("^[$]\\$$") == "^[$]\\$\\Z"
