"""The lens format: operations, inverses, round trips, validation with exact locations."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compat.lens import (
    LENS_SCHEMA,
    Add,
    Convert,
    Head,
    Hoist,
    In,
    Lens,
    LensApplyError,
    LensInvalid,
    Map,
    Op,
    Plunge,
    Remove,
    Rename,
    Wrap,
    apply,
    check_lens_placement,
    invert,
    invert_operations,
    lens_schema_for,
    load_lens,
    parse_lens,
    read_lens,
)
from compat.versions import Version

REPO = Path(__file__).resolve().parents[2]


def lens(*ops: dict[str, Any], src: str = "page_view/1.1.0", dst: str = "page_view/2.0.0") -> Lens:
    return parse_lens({"from": src, "to": dst, "description": "test", "operations": list(ops)})


def round_trip(ops: tuple[Op, ...], document: dict[str, Any]) -> Any:
    return apply(invert_operations(ops), apply(ops, document))


# -- single operations and their inverses ------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "before", "after"),
    [
        (Rename("a", "b"), {"a": 1, "c": 2}, {"b": 1, "c": 2}),
        (Rename("a", "b"), {"c": 2}, {"c": 2}),  # absent source: skipped
        (Hoist("obj", "f"), {"obj": {"f": 1, "g": 2}}, {"obj": {"g": 2}, "f": 1}),
        (Hoist("obj", "f"), {"obj": {"f": 1}}, {"f": 1}),  # an emptied host is dropped
        (Hoist("obj", "f"), {"obj": {"g": 2}}, {"obj": {"g": 2}}),
        (Hoist("obj", "f"), {"obj": None}, {"obj": None}),
        (Plunge("obj", "f"), {"f": 1}, {"obj": {"f": 1}}),  # host created
        (Plunge("obj", "f"), {"f": 1, "obj": {"g": 2}}, {"obj": {"g": 2, "f": 1}}),
        (Plunge("obj", "f"), {"g": 2}, {"g": 2}),  # no field: no host either
        (Wrap("f"), {"f": "x"}, {"f": ["x"]}),
        (Wrap("f"), {"f": None}, {"f": [None]}),
        (Head("f"), {"f": ["x", "y"]}, {"f": "x"}),
        (Head("f"), {"f": []}, {}),
        (Add("f", {"k": 1}), {}, {"f": {"k": 1}}),
        (Add("f", 0), {"f": 5}, {"f": 5}),
        (Remove("f", 0), {"f": 5, "g": 1}, {"g": 1}),
        (Remove("f", 0), {"g": 1}, {"g": 1}),
        (Convert("f", (("a", "A"), ("b", "B"))), {"f": "b"}, {"f": "B"}),
        (Convert("f", (("a", "A"),), default="OTHER"), {"f": "zzz"}, {"f": "OTHER"}),
        (Convert("f", ((1, "one"),)), {"f": 1.0}, {"f": "one"}),  # JSON equality: 1 == 1.0
    ],
)
def test_operation(op: Op, before: dict[str, Any], after: dict[str, Any]) -> None:
    assert apply([op], before) == after


@pytest.mark.parametrize(
    ("op", "inverse"),
    [
        (Rename("a", "b"), Rename("b", "a")),
        (Hoist("h", "f"), Plunge("h", "f")),
        (Plunge("h", "f"), Hoist("h", "f")),
        (Wrap("f"), Head("f")),
        (Head("f"), Wrap("f")),
        (Add("f", 1), Remove("f", 1)),
        (Remove("f", 1), Add("f", 1)),
        (Convert("f", (("a", "A"),), "X", "x"), Convert("f", (("A", "a"),), "x", "X")),
        (In("o", (Rename("a", "b"), Wrap("b"))), In("o", (Head("b"), Rename("b", "a")))),
        (Map("l", (Add("k", 0),)), Map("l", (Remove("k", 0),))),
    ],
)
def test_inverse(op: Op, inverse: Op) -> None:
    assert op.inverse() == inverse
    assert inverse.inverse() == op


@pytest.mark.parametrize(
    ("ops", "document"),
    [
        ((Rename("a", "b"),), {"a": 1}),
        ((Plunge("obj", "f"),), {"f": 1}),
        ((Plunge("obj", "f"),), {"f": 1, "obj": {"g": 1}}),
        ((Hoist("obj", "f"),), {"obj": {"f": 1}}),
        ((Hoist("obj", "f"),), {"obj": {"f": 1, "g": 2}}),
        ((Hoist("obj", "f"),), {}),
        ((Wrap("f"),), {"f": {"deep": [1]}}),
        ((Add("f", "d"),), {}),
        ((Remove("f", "d"),), {"f": "d"}),
        ((Convert("f", (("a", "A"), ("b", "B"))),), {"f": "a"}),
        ((Convert("f", ((True, 1), (False, 0))),), {"f": False}),
        (
            (
                Rename("url", "page_url"),
                Plunge("page", "page_url"),
                In("page", (Rename("page_url", "url"), Add("title", ""))),
                Map(
                    "items",
                    (
                        Rename("sku", "id"),
                        Wrap("id"),
                        In("price", (Convert("currency", (("usd", "USD"),)),)),
                    ),
                ),
            ),
            {
                "url": "https://x",
                "items": [
                    {"sku": "a", "price": {"amount": 1, "currency": "usd"}},
                    {"sku": "b", "price": {"amount": 2, "currency": "usd"}},
                ],
            },
        ),
    ],
)
def test_round_trip(ops: tuple[Op, ...], document: dict[str, Any]) -> None:
    assert round_trip(ops, document) == document


def test_nested_in_and_map() -> None:
    ops = (
        In("user", (Rename("mail", "email"), Plunge("contact", "email"))),
        Map("items", (Rename("sku", "id"), In("price", (Convert("currency", (("usd", "USD"),)),)))),
    )
    document = {
        "user": {"mail": "a@b.c"},
        "items": [{"sku": "a", "price": {"currency": "usd"}}, {"sku": "b"}],
        "other": None,
    }
    assert apply(ops, document) == {
        "user": {"contact": {"email": "a@b.c"}},
        "items": [{"id": "a", "price": {"currency": "USD"}}, {"id": "b"}],
        "other": None,
    }


def test_in_and_map_skip_absent_and_null() -> None:
    ops = (In("user", (Add("x", 1),)), Map("items", (Add("y", 2),)))
    assert apply(ops, {}) == {}
    assert apply(ops, {"user": None, "items": None}) == {"user": None, "items": None}


def test_apply_does_not_mutate_and_lens_sets_schema() -> None:
    document = {"schema": "page_view/1.1.0", "url": "u", "nested": {"k": [1]}}
    snapshot = json.loads(json.dumps(document))
    the_lens = lens({"op": "rename", "from": "url", "to": "page_url"})
    result = apply(the_lens, document)
    assert document == snapshot
    assert result == {"schema": "page_view/2.0.0", "page_url": "u", "nested": {"k": [1]}}
    assert apply(invert(the_lens), result) == document
    assert apply(the_lens.operations, document)["schema"] == "page_view/1.1.0"  # bare ops leave it


@pytest.mark.parametrize(
    ("ops", "document", "message"),
    [
        (
            (Rename("a", "b"),),
            {"a": 1, "b": 2},
            "operations[0] (rename): /b: field already present",
        ),
        (
            (Hoist("h", "f"),),
            {"h": {"f": 1}, "f": 2},
            "operations[0] (hoist): /f: field already present",
        ),
        ((Hoist("h", "f"),), {"h": 3}, "operations[0] (hoist): /h: host is a int, not an object"),
        (
            (Plunge("h", "f"),),
            {"f": 1, "h": {"f": 2}},
            "operations[0] (plunge): /h/f: field already present",
        ),
        ((Plunge("h", "f"),), {"f": 1, "h": "x"}, "operations[0] (plunge): /h: host is a str"),
        ((Head("f"),), {"f": "x"}, "operations[0] (head): /f: head needs an array, found str"),
        (
            (Convert("f", (("a", "A"),)),),
            {"f": "b"},
            'operations[0] (convert): /f: value "b" has no mapping',
        ),
        ((Convert("f", ((1, "one"),)),), {"f": True}, "value true has no mapping"),  # true is not 1
        (
            (Rename("x", "y"), Map("l", (In("o", (Rename("a", "b"),)),))),
            {"l": [{"o": {"a": 1}}, {"o": {"a": 1, "b": 2}}]},
            "operations[1].operations[0].operations[0] (rename): /l/1/o/b: field already present",
        ),
        (
            (Map("l", (Add("k", 1),)),),
            {"l": [{}, 3]},
            "operations[0] (map): /l/1: 'map' needs object elements, found int",
        ),
        (
            (In("o", (Add("k", 1),)),),
            {"o": []},
            "operations[0] (in): /o: 'in' needs an object, found list",
        ),
    ],
)
def test_apply_errors_name_the_operation_and_field(
    ops: tuple[Op, ...], document: dict[str, Any], message: str
) -> None:
    with pytest.raises(LensApplyError) as info:
        apply(ops, document)
    assert message in str(info.value)


# -- reversibility -----------------------------------------------------------------------------


def test_injective_convert_is_reversible() -> None:
    the_lens = lens(
        {
            "op": "convert",
            "name": "d",
            "mapping": [{"from": "a", "to": "A"}, {"from": "b", "to": "B"}],
        }
    )
    assert the_lens.reversible
    assert apply(invert(the_lens), {"d": "B"})["d"] == "b"


def test_non_injective_convert_without_reverse_default_is_flagged() -> None:
    the_lens = lens(
        {
            "op": "in",
            "name": "o",
            "operations": [
                {
                    "op": "convert",
                    "name": "d",
                    "mapping": [{"from": "a", "to": "X"}, {"from": "b", "to": "X"}],
                }
            ],
        }
    )
    assert not the_lens.reversible
    assert the_lens.irreversible == [
        "operations[0].operations[0]: convert of 'd' is not injective and has no reverse_default"
    ]
    with pytest.raises(
        ValueError, match=r"lens is not reversible: operations\[0\]\.operations\[0\]"
    ):
        invert(the_lens)


def test_default_without_reverse_default_is_not_reversible() -> None:
    assert not lens(
        {"op": "convert", "name": "d", "mapping": [{"from": "a", "to": "A"}], "default": "Z"}
    ).reversible


def test_non_injective_convert_with_reverse_default_inverts_ambiguous_values_to_it() -> None:
    the_lens = lens(
        {
            "op": "convert",
            "name": "d",
            "mapping": [
                {"from": "a", "to": "X"},
                {"from": "b", "to": "X"},
                {"from": "c", "to": "C"},
            ],
            "default": "OTHER",
            "reverse_default": "unknown",
        }
    )
    assert the_lens.reversible
    back = invert(the_lens)
    assert back.operations == (Convert("d", (("C", "c"),), "unknown", "OTHER"),)
    assert [apply(back, {"d": v})["d"] for v in ("X", "C", "OTHER", "?")] == [
        "unknown",
        "c",
        "unknown",
        "unknown",
    ]


def test_invert_swaps_ends_and_twice_is_identity() -> None:
    the_lens = lens({"op": "rename", "from": "a", "to": "b"}, {"op": "wrap", "name": "b"})
    back = invert(the_lens)
    assert (back.source, back.target) == ("page_view/2.0.0", "page_view/1.1.0")
    assert invert(back).operations == the_lens.operations
    assert parse_lens(the_lens.to_json()) == the_lens


# -- validation with exact locations ---------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "1-to-2.json"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def problems_of(path: Path, schema: Any = LENS_SCHEMA) -> list[tuple[int, int, str, str]]:
    lens_, problems = read_lens(path, schema)
    assert lens_ is None
    return [(p.line, p.column, p.path, p.message) for p in problems]


def test_structural_error_in_nested_operation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        {
          "from": "page_view/1.1.0",
          "to": "page_view/2.0.0",
          "operations": [
            {"op": "add", "name": "a", "default": 1},
            {"op": "in", "name": "o", "operations": [
              {"op": "rename", "from": "x"}
            ]}
          ]
        }
        """,
    )
    assert problems_of(path) == [
        (7, 7, "operations[1].operations[0]", "'to' is a required property")
    ]
    with pytest.raises(
        LensInvalid,
        match=r"1-to-2\.json:7:7: operations\[1\]\.operations\[0\]: 'to' is a required property",
    ):
        load_lens(path, LENS_SCHEMA)


def test_unknown_op_and_unknown_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        {"from": "page_view/1.1.0", "to": "page_view/2.0.0", "operations": [
          {"op": "explode", "name": "a"},
          {"op": "wrap", "name": "b", "extra": 1}
        ]}
        """,
    )
    found = problems_of(path)
    assert (
        2,
        10,
        "operations[0].op",
        f"'explode' is not one of {list(LENS_SCHEMA['$defs']['operation']['properties']['op']['enum'])}",
    ) in found
    assert any(p[:3] == (3, 3, "operations[1]") and "'extra' was unexpected" in p[3] for p in found)


def test_semantic_errors_with_locations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        {"from": "page_view/1.1.0", "to": "screen_view/2.0.0", "operations": [
          {"op": "rename", "from": "a", "to": "b"},
          {"op": "add", "name": "b", "default": 0},
          {"op": "remove", "name": "c", "default": 0},
          {"op": "wrap", "name": "c"},
          {"op": "rename", "from": "schema", "to": "version"},
          {"op": "convert", "name": "d", "mapping": [{"from": 1, "to": "one"}, {"from": 1.0, "to": "uno"}]},
          {"op": "map", "name": "l", "operations": []},
          {"op": "rename", "from": "e", "to": "e"},
          {"op": "plunge", "host": "h", "name": "h"}
        ]}
        """,
    )
    assert problems_of(path) == [
        (1, 35, "to", "'from' and 'to' name different events ('page_view', 'screen_view')"),
        (
            3,
            25,
            "operations[1].name",
            "target 'b' collides with the field operations[0] already put there",
        ),
        (5, 26, "operations[3].name", "field 'c' was already moved or removed by operations[2]"),
        (
            6,
            28,
            "operations[4].from",
            "the top-level 'schema' field is set by the lens itself; operations must not touch it",
        ),
        (7, 81, "operations[5].mapping[1].from", "value 1.0 is already mapped by mapping[0]"),
        (8, 44, "operations[6].operations", "'in'/'map' needs at least one operation"),
        (9, 39, "operations[7].to", "rename of 'e' to itself"),
        (10, 41, "operations[8].name", "host and name are both 'h'"),
    ]


def test_versions_must_cross_a_major(tmp_path: Path) -> None:
    same = {"from": "page_view/1.1.0", "to": "page_view/1.2.0", "operations": []}
    with pytest.raises(
        LensInvalid, match=r"to: 'to' 1\.2\.0 must be in a later major than 'from' 1\.1\.0"
    ):
        parse_lens(same)
    with pytest.raises(LensInvalid, match=r"must be the first version of its major \(2\.0\.0\)"):
        parse_lens({**same, "to": "page_view/2.1.0"})


def test_schema_touching_is_allowed_inside_objects() -> None:
    assert lens(
        {"op": "in", "name": "meta", "operations": [{"op": "rename", "from": "schema", "to": "s"}]}
    ).reversible


def test_lens_schema_comes_from_the_contracts_tree(tmp_path: Path) -> None:
    (tmp_path / "events" / "e" / "lenses").mkdir(parents=True)
    strict = {**LENS_SCHEMA, "required": [*LENS_SCHEMA["required"], "description"]}
    (tmp_path / "lens.schema.json").write_text(json.dumps(strict))
    path = tmp_path / "events" / "e" / "lenses" / "1-to-2.json"
    path.write_text(json.dumps({"from": "e/1.0.0", "to": "e/2.0.0", "operations": []}))
    assert lens_schema_for(path) == strict
    with pytest.raises(LensInvalid, match="'description' is a required property"):
        load_lens(path)
    (tmp_path / "lens.schema.json").unlink()
    assert lens_schema_for(path) is LENS_SCHEMA
    assert load_lens(path).target == "e/2.0.0"


def test_repository_lens_schema_agrees_with_the_embedded_one() -> None:
    """Both schemas must accept the spec's ops and reject the same malformed ones."""
    repo_schema_path = REPO / "contracts" / "lens.schema.json"
    if not repo_schema_path.is_file():
        pytest.skip("contracts/lens.schema.json not present")
    repo_schema = json.loads(repo_schema_path.read_text())
    good = {
        "from": "e/1.0.0",
        "to": "e/2.0.0",
        "description": "all ops",
        "operations": [
            {"op": "rename", "from": "a", "to": "b"},
            {"op": "hoist", "host": "h", "name": "x"},
            {"op": "plunge", "host": "p", "name": "y"},
            {"op": "wrap", "name": "w"},
            {"op": "head", "name": "z"},
            {
                "op": "convert",
                "name": "c",
                "mapping": [{"from": 1, "to": "1"}],
                "default": "?",
                "reverse_default": 0,
            },
            {"op": "add", "name": "n", "default": None},
            {"op": "remove", "name": "r", "default": []},
            {"op": "in", "name": "i", "operations": [{"op": "wrap", "name": "q"}]},
            {"op": "map", "name": "m", "operations": [{"op": "head", "name": "q"}]},
        ],
    }
    for schema in (repo_schema, LENS_SCHEMA):
        assert parse_lens(good, lens_schema=schema).to_json() == good
    bad_ops = [
        {"op": "rename", "from": "a"},
        {"op": "add", "name": "a"},
        {"op": "convert", "name": "c", "mapping": []},
        {"op": "in", "name": "i"},
        {"op": "nope"},
        {"op": "wrap", "name": ""},
    ]
    for op in bad_ops:
        for schema in (repo_schema, LENS_SCHEMA):
            with pytest.raises(LensInvalid):
                parse_lens({**good, "operations": [op]}, lens_schema=schema)


# -- placement in the catalogue ------------------------------------------------------------------


def test_placement() -> None:
    versions = [Version.parse(t) for t in ("1.0.0", "1.1.0", "2.0.0", "2.1.0", "3.0.0")]
    ok = lens(src="page_view/1.1.0", dst="page_view/2.0.0")
    assert check_lens_placement(ok, "page_view", versions, (1, 2)) == []
    assert check_lens_placement(
        lens(src="page_view/1.0.0", dst="page_view/2.0.0"), "page_view", versions, (1, 2)
    ) == ["from: 1.0.0 is not the newest version of major 1 (1.1.0)"]
    assert check_lens_placement(ok, "page_view", versions, (2, 3)) == [
        "from: the file name says 2-to-3, but the lens goes from major 1 to major 2"
    ]
    assert check_lens_placement(ok, "screen_view", versions, (1, 2)) == [
        "from: names event 'page_view', but the lens belongs to 'screen_view'",
        "to: names event 'page_view', but the lens belongs to 'screen_view'",
    ]
    assert check_lens_placement(
        lens(src="page_view/1.1.0", dst="page_view/3.0.0"), "page_view", versions
    ) == ["to: the lens skips major(s) 2; lenses connect adjacent majors"]
    assert check_lens_placement(
        lens(src="page_view/3.0.0", dst="page_view/4.0.0"), "page_view", versions
    ) == ["to: there is no version 4.0.0 of page_view (no major 4)"]


def test_one_of_lens_schemas_report_the_chosen_operations_error() -> None:
    """A oneOf-per-op lens schema (like contracts/lens.schema.json) still names the real mistake."""
    one_of_schema = {
        "type": "object",
        "properties": {"operations": {"type": "array", "items": {"$ref": "#/$defs/op"}}},
        "$defs": {
            "op": {
                "oneOf": [
                    {"properties": {"op": {"const": "rename"}}, "required": ["from", "to"]},
                    {
                        "properties": {"op": {"const": "wrap"}},
                        "required": ["name"],
                        "additionalProperties": False,
                        "patternProperties": {"^(op|name)$": True},
                    },
                ]
            }
        },
    }
    value = {
        "from": "e/1.0.0",
        "to": "e/2.0.0",
        "operations": [{"op": "wrap", "name": "a"}, {"op": "rename", "from": "a"}],
    }
    with pytest.raises(LensInvalid) as info:
        parse_lens(value, lens_schema=one_of_schema)
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("operations[1]", "'to' is a required property")
    ]


_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    a=st.none() | _JSON,
    b=st.none() | _JSON,
    c=st.none() | _JSON,
    inner=st.none() | st.dictionaries(st.sampled_from(["p", "r"]), _JSON, max_size=2),
    items=st.none()
    | st.lists(
        st.dictionaries(st.sampled_from(["k", "m"]), st.sampled_from(["x", "y"]), max_size=2),
        max_size=3,
    ),
)
def test_round_trip_property(a: Any, b: Any, c: Any, inner: Any, items: Any) -> None:
    """Any document without the lens's target names survives lens then inverse unchanged.

    `None` from a strategy means the field is absent (so skipping absent fields is covered).
    """
    ops = (
        Rename("a", "x"),
        Plunge("host", "b"),
        Wrap("c"),
        In("inner", (Rename("p", "q"), Add("added", 0))),
        Map("items", (Convert("k", (("x", "X"), ("y", "Y"))), Rename("m", "n"))),
    )
    document = {
        key: value
        for key, value in {"a": a, "b": b, "c": c, "inner": inner, "items": items}.items()
        if value is not None
    }
    assert round_trip(ops, document) == document
