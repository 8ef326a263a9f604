"""`refract lint`: one fixture (or tmp_path variant of the valid tree) per rule."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compat.lint import RULES, Finding, lint, suggests_personal_data
from compat.source import InvalidInput

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "lint"
PAGE_VIEW = "events/page_view"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(FIXTURES / "valid", root)
    return root


def edit(root: Path, relative: str, change: Callable[[Any], object]) -> None:
    """Rewrite one JSON file of the tree after `change` mutated it (its result is ignored)."""
    path = root / relative
    value = json.loads(path.read_text())
    change(value)
    path.write_text(json.dumps(value, indent=2))


def found(root: Path, *paths: Path) -> list[tuple[str, str, str]]:
    """(file relative to root, rule, message) of every finding."""
    findings = lint(list(paths) or [root])
    assert all(f.rule in RULES and f.severity == "error" for f in findings)
    return [
        (str(Path(f.file).resolve().relative_to(root.resolve())), f.rule, f.message)
        for f in findings
    ]


def rules(root: Path) -> set[str]:
    return {rule for _, rule, _ in found(root)}


def test_valid_fixture_is_clean(tree: Path) -> None:
    assert lint([tree]) == []


def test_default_is_the_contracts_tree_of_the_cwd(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(tree, f"{PAGE_VIEW}/1.0.0.json", lambda s: s.pop("title"))
    monkeypatch.chdir(tree.parent)
    assert [(f.file, f.rule) for f in lint([])] == [
        ("contracts/events/page_view/1.0.0.json", "schema-structure")
    ]


# -- per-file rules ---------------------------------------------------------------------------


def test_json_invalid_reports_line_and_column() -> None:
    root = FIXTURES / "json_invalid"
    findings = lint([root])
    assert [(Path(f.file).name, f.line, f.column, f.rule) for f in findings] == [
        ("1.0.0.json", 6, 31, "json-invalid")
    ]
    assert "invalid JSON" in findings[0].message


def test_schema_invalid_points_at_the_keyword(tree: Path) -> None:
    edit(tree, f"{PAGE_VIEW}/1.0.0.json", lambda s: s["properties"]["url"].update(type="strin"))
    findings = [f for f in lint([tree]) if f.rule == "schema-invalid"]
    assert len(findings) == 1
    assert findings[0].file.endswith("1.0.0.json")
    assert "not valid Draft 2020-12 at #/properties/url/type" in findings[0].message
    source = (tree / PAGE_VIEW / "1.0.0.json").read_text().splitlines()
    assert '"strin"' in source[findings[0].line - 1][findings[0].column - 1 :]


def test_unresolvable_ref(tree: Path) -> None:
    edit(
        tree,
        f"{PAGE_VIEW}/1.0.0.json",
        lambda s: s["properties"]["user"].update({"$ref": "../../common/user/9.0.0.json"}),
    )
    messages = [m for _, rule, m in found(tree) if rule == "schema-invalid"]
    assert messages and all(
        "'../../common/user/9.0.0.json' does not resolve" in m or "cannot validate examples" in m
        for m in messages
    )


def test_schema_structure(tree: Path) -> None:
    def change(s: dict[str, Any]) -> None:
        s["additionalProperties"] = True
        s["$id"] = "https://example.com/page_view"
        s["$schema"] = "https://json-schema.org/draft/2019-09/schema"
        s["required"].remove("event_name")

    edit(tree, f"{PAGE_VIEW}/1.0.0.json", change)
    assert sorted(m for _, rule, m in found(tree) if rule == "schema-structure") == [
        "'$schema' must be 'https://json-schema.org/draft/2020-12/schema'",
        "'event_name' must be required",
        "an event schema is closed: 'additionalProperties': false",
        "event schemas have no '$id' (relative $refs resolve against the file)",
    ]


def test_description_missing_behind_ref_is_reported_once_in_the_common_file(tree: Path) -> None:
    edit(tree, "common/user/1.0.0.json", lambda s: s["properties"]["email"].pop("description"))
    assert found(tree) == [
        ("common/user/1.0.0.json", "description-missing", "property 'email' has no description")
    ]


def test_description_through_ref_target_counts(tree: Path) -> None:
    edit(tree, f"{PAGE_VIEW}/1.0.0.json", lambda s: s["properties"]["user"].pop("description"))
    assert found(tree) == []  # the common user schema has its own description


def test_standalone_schema_walks_items_defs_and_combinators() -> None:
    path = FIXTURES / "standalone" / "undocumented.json"
    findings = [(f.line, f.rule, f.message) for f in lint([path])]
    assert findings == [
        (5, "description-missing", "property 'email' has no description"),
        (
            5,
            "pii-missing",
            "property 'email' looks like personal data but has no x-pii ('direct' or 'indirect')",
        ),
        (6, "description-missing", "property 'label' has no description"),
        (7, "pii-invalid", "x-pii is 'maybe'; allowed: 'direct' or 'indirect'"),
        (10, "description-missing", "property 'phone_number' has no description"),
        (
            10,
            "pii-missing",
            "property 'phone_number' looks like personal data but has no x-pii ('direct' or 'indirect')",
        ),
        (
            12,
            "example-invalid",
            "examples[0] does not validate at /email: 3 is not of type 'string'",
        ),
    ]


def test_version_mismatch(tree: Path) -> None:
    def change(s: dict[str, Any]) -> None:
        s["properties"]["schema"]["const"] = "page_view/1.0.1"
        s["properties"]["event_name"] = {"type": "string", "description": "Event name."}
        s["examples"][0]["schema"] = "page_view/1.0.1"

    edit(tree, f"{PAGE_VIEW}/1.0.0.json", change)
    assert sorted(m for _, rule, m in found(tree) if rule == "version-mismatch") == [
        "examples[0] says schema 'page_view/1.0.1', but this file is 'page_view/1.0.0'",
        "property 'event_name' must be {'const': 'page_view'}",
        "schema const 'page_view/1.0.1' does not match 'page_view/1.0.0' (from the directory and file name)",
    ]


def test_event_config_name_mismatch(tree: Path) -> None:
    edit(tree, f"{PAGE_VIEW}/event.json", lambda c: c.update(name="pageview"))
    assert found(tree) == [
        (
            f"{PAGE_VIEW}/event.json",
            "version-mismatch",
            "name 'pageview' does not match the directory name 'page_view'",
        )
    ]


def test_version_invalid_file_name(tree: Path) -> None:
    shutil.copy(tree / PAGE_VIEW / "1.0.0.json", tree / PAGE_VIEW / "1.0.json")
    assert [(f, r) for f, r, _ in found(tree)] == [(f"{PAGE_VIEW}/1.0.json", "version-invalid")]


def test_version_sequence(tree: Path) -> None:
    edit(tree, f"{PAGE_VIEW}/1.1.0.json", lambda s: None)
    shutil.copy(tree / PAGE_VIEW / "1.1.0.json", tree / PAGE_VIEW / "1.3.0.json")

    def bump(s: dict[str, Any]) -> None:
        s["properties"]["schema"]["const"] = "page_view/1.3.0"
        for example in s["examples"]:
            example["schema"] = "page_view/1.3.0"

    edit(tree, f"{PAGE_VIEW}/1.3.0.json", bump)
    assert found(tree) == [
        (
            f"{PAGE_VIEW}/1.3.0.json",
            "version-sequence",
            "page_view: version 1.3.0 skips versions after 1.1.0: the next minor version is 1.2.0",
        ),
        (
            f"{PAGE_VIEW}/lenses/1-to-2.json",
            "lens-invalid",
            "from: 1.1.0 is not the newest version of major 1 (1.3.0)",
        ),
    ]


def test_pii_invalid(tree: Path) -> None:
    edit(
        tree, "common/user/1.0.0.json", lambda s: s["properties"]["email"].update({"x-pii": "yes"})
    )
    assert found(tree) == [
        ("common/user/1.0.0.json", "pii-invalid", "x-pii is 'yes'; allowed: 'direct' or 'indirect'")
    ]


def test_pii_missing(tree: Path) -> None:
    def change(s: dict[str, Any]) -> None:
        s["properties"]["client_ip"] = {"type": "string", "description": "Address of the client."}
        s["properties"]["userAgent"] = {"$ref": "#/$defs/ua", "description": "Browser."}
        s["$defs"] = {
            "ua": {"type": "string", "x-pii": "indirect"}
        }  # annotation behind $ref counts

    edit(tree, f"{PAGE_VIEW}/1.0.0.json", change)
    assert found(tree) == [
        (
            f"{PAGE_VIEW}/1.0.0.json",
            "pii-missing",
            "property 'client_ip' looks like personal data but has no x-pii ('direct' or 'indirect')",
        )
    ]


@pytest.mark.parametrize(
    ("name", "personal"),
    [
        ("email", True),
        ("user_email", True),
        ("emailAddress", True),
        ("phone_number", True),
        ("ip", True),
        ("client_ip", True),
        ("ip_address", True),
        ("user_agent", True),
        ("name", False),  # sdk.name, screen.name, plan name: not a person by itself
        ("display_name", True),
        ("owner_contact_name", True),
        ("first_name", True),
        ("lastName", True),
        ("full_name", True),
        ("billing_address", True),
        ("address", True),
        ("event_name", False),
        ("page_name", False),
        ("zip", False),
        ("description", False),
        ("shipping", False),
        ("agent", False),
        ("user_id", False),
        ("tip", False),
    ],
)
def test_personal_data_names(name: str, personal: bool) -> None:
    assert suggests_personal_data(name) is personal


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            None,
            "missing top-level x-dedup-key (JSON pointers naming the fields that identify the business event)",
        ),
        ([], "x-dedup-key must be a non-empty list of JSON pointers"),
        ("/url", "x-dedup-key must be a non-empty list of JSON pointers"),
        (["url"], "'url' is not a JSON pointer into the event (like '/user/user_id')"),
        (["/url", "/url"], "'/url' is listed twice"),
        (
            ["/event_id"],
            "'/event_id' identifies a delivery, not the business event; never use event_id, received_at, sent_at",
        ),
        (["/user/name"], "'/user/name' does not name a property of the schema"),
        (["/user/user_id/x"], "'/user/user_id/x' does not name a property of the schema"),
    ],
)
def test_dedup_key_invalid(tree: Path, key: Any, message: str) -> None:
    def change(s: dict[str, Any]) -> None:
        if key is None:
            del s["x-dedup-key"]
        else:
            s["x-dedup-key"] = key

    edit(tree, f"{PAGE_VIEW}/1.0.0.json", change)
    assert found(tree) == [(f"{PAGE_VIEW}/1.0.0.json", "dedup-key-invalid", message)]


def test_dedup_key_follows_refs_and_combinators(tree: Path) -> None:
    def change(s: dict[str, Any]) -> None:
        s["properties"]["cart"] = {
            "description": "Cart.",
            "allOf": [{"$ref": "#/$defs/cart"}],
        }
        s["$defs"] = {
            "cart": {
                "type": "object",
                "properties": {
                    "lines": {
                        "type": "array",
                        "description": "Lines.",
                        "items": {
                            "type": "object",
                            "properties": {"sku": {"type": "string", "description": "Sku."}},
                        },
                    }
                },
            }
        }
        s["x-dedup-key"] = ["/user/user_id", "/cart/lines/0/sku"]

    edit(tree, f"{PAGE_VIEW}/1.0.0.json", change)
    assert found(tree) == []


def test_example_missing(tree: Path) -> None:
    edit(tree, f"{PAGE_VIEW}/1.0.0.json", lambda s: s.pop("examples"))
    assert found(tree) == [
        (
            f"{PAGE_VIEW}/1.0.0.json",
            "example-missing",
            "needs a top-level 'examples' list with at least one valid instance",
        )
    ]


def test_example_invalid(tree: Path) -> None:
    def change(s: dict[str, Any]) -> None:
        s["examples"].append({**s["examples"][0], "device_type": "tv"})
        s["examples"].append({**s["examples"][0], "user": {"user_id": ""}})

    edit(tree, f"{PAGE_VIEW}/1.0.0.json", change)
    assert found(tree) == [
        (
            f"{PAGE_VIEW}/1.0.0.json",
            "example-invalid",
            "examples[1] does not validate at /device_type: 'tv' is not one of ['desktop', 'mobile']",
        ),
        (
            f"{PAGE_VIEW}/1.0.0.json",
            "example-invalid",
            "examples[2] does not validate at /user/user_id: '' should be non-empty",
        ),
    ]


def test_event_config(tree: Path) -> None:
    edit(tree, f"{PAGE_VIEW}/event.json", lambda c: c.update(compatibility="sometimes"))
    assert [(f, r) for f, r, _ in found(tree)] == [(f"{PAGE_VIEW}/event.json", "event-config")]
    (tree / PAGE_VIEW / "event.json").unlink()
    assert found(tree) == [
        (
            f"{PAGE_VIEW}/event.json",
            "event-config",
            "missing event.json (name, description, owner, compatibility)",
        )
    ]


def test_layout_invalid(tree: Path) -> None:
    (tree / "events" / "stray.json").write_text("{}")
    assert [(f, r) for f, r, _ in found(tree)] == [("events/stray.json", "layout-invalid")]


# -- lenses -----------------------------------------------------------------------------------


LENS = f"{PAGE_VIEW}/lenses/1-to-2.json"


def test_lens_missing(tree: Path) -> None:
    (tree / LENS).unlink()
    assert found(tree) == [
        (
            f"{PAGE_VIEW}/2.0.0.json",
            "lens-missing",
            "page_view 2.0.0 starts major 2 but there is no lens lenses/1-to-2.json",
        )
    ]


def test_lens_invalid_structure(tree: Path) -> None:
    edit(tree, LENS, lambda lens: lens["operations"][0].pop("to"))
    assert found(tree) == [(LENS, "lens-invalid", "operations[0]: 'to' is a required property")]


def test_lens_invalid_placement(tree: Path) -> None:
    edit(tree, LENS, lambda lens: lens.update({"from": "page_view/1.0.0"}))
    assert found(tree) == [
        (LENS, "lens-invalid", "from: 1.0.0 is not the newest version of major 1 (1.1.0)")
    ]


def test_lens_invalid_json(tree: Path) -> None:
    (tree / LENS).write_text('{"from": ')
    assert [(f, r) for f, r, _ in found(tree)] == [(LENS, "json-invalid")]


def test_lens_uses_the_trees_lens_schema(tree: Path) -> None:
    (tree / "lens.schema.json").write_text(
        (REPO / "contracts" / "lens.schema.json").read_text()
        if (REPO / "contracts" / "lens.schema.json").is_file()
        else json.dumps({"required": ["description"]})
    )
    edit(tree, LENS, lambda lens: lens.pop("description"))
    assert found(tree) == [(LENS, "lens-invalid", "'description' is a required property")]


def test_lens_output_must_validate(tree: Path) -> None:
    edit(tree, LENS, lambda lens: lens["operations"].pop())  # no longer adds channel
    assert found(tree) == [
        (
            LENS,
            "lens-fails-example",
            "page_view/1.1.0 examples[0] translated is not a valid page_view/2.0.0 at /: 'channel' is a required property",
        ),
        (
            LENS,
            "lens-fails-example",
            "page_view/1.1.0 examples[1] translated is not a valid page_view/2.0.0 at /: 'channel' is a required property",
        ),
    ]


def test_lens_apply_error(tree: Path) -> None:
    edit(tree, LENS, lambda lens: lens["operations"][3]["mapping"].pop())  # mobile unmapped
    assert found(tree) == [
        (
            LENS,
            "lens-fails-example",
            'page_view/1.1.0 examples[0]: operations[3] (convert): /device: value "mobile" has no mapping and the convert has no default',
        )
    ]


def test_lens_round_trip_must_restore_the_example(tree: Path) -> None:
    edit(
        tree,
        LENS,
        lambda lens: lens["operations"].__setitem__(
            1, {"op": "remove", "name": "referrer", "default": ""}
        ),
    )
    assert found(tree) == [
        (
            LENS,
            "lens-fails-example",
            "page_view/1.1.0 examples[0]: the inverse lens does not restore it: /referrer was 'https://example.org/', is '' after the round trip",
        ),
        (
            LENS,
            "lens-fails-example",
            "page_view/1.1.0 examples[1]: the inverse lens does not restore it: /referrer appears after the round trip",
        ),
    ]


def test_irreversible_lens_skips_the_round_trip(tree: Path) -> None:
    def change(lens: dict[str, Any]) -> None:
        lens["operations"][3]["mapping"] = [
            {"from": "desktop", "to": "DESKTOP"},
            {"from": "mobile", "to": "DESKTOP"},
        ]

    edit(tree, LENS, change)
    assert found(tree) == []  # mobile -> DESKTOP is valid 2.0.0; no inverse to check


# -- selection and usage ----------------------------------------------------------------------


def test_paths_select_part_of_the_tree(tree: Path) -> None:
    edit(
        tree, "common/user/1.0.0.json", lambda s: s["properties"]["email"].update({"x-pii": "yes"})
    )
    edit(tree, f"{PAGE_VIEW}/event.json", lambda c: c.update(owner=""))
    all_rules = [(f, r) for f, r, _ in found(tree)]
    assert all_rules == [
        ("common/user/1.0.0.json", "pii-invalid"),
        (f"{PAGE_VIEW}/event.json", "event-config"),
    ]
    assert [(f, r) for f, r, _ in found(tree, tree / "common")] == [
        ("common/user/1.0.0.json", "pii-invalid")
    ]
    # an event version selects its whole event (config, neighbours, lenses) and what it references
    assert [(f, r) for f, r, _ in found(tree, tree / PAGE_VIEW / "1.0.0.json")] == all_rules


def test_usage_errors_raise(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file or directory"):
        lint([tree / "nope"])
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(InvalidInput, match="not inside a contracts tree"):
        lint([outside])


def test_findings_are_sorted_and_render() -> None:
    finding = Finding("a.json", 3, 4, "pii-missing", "why")
    assert str(finding) == "a.json:3:4: pii-missing: why"
    assert sorted([Finding("b", 1, 1, "r", "m"), finding]) == [
        finding,
        Finding("b", 1, 1, "r", "m"),
    ]


# -- the real contracts -----------------------------------------------------------------------


def test_repository_contracts_lint_clean() -> None:
    contracts = REPO / "contracts"
    if not (contracts / "events").is_dir():
        pytest.skip("contracts/ not present")
    findings = lint([contracts])
    assert [str(f) for f in findings] == []


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (
            {
                "pattern": "^page_view/1\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$",
                "default": "page_view/1.0.0",
            },
            None,
        ),
        ({"pattern": "^page_view/1\\.", "default": "page_view/1.0.0"}, None),
        (
            {"pattern": "^page_view/", "default": "page_view/1.0.0"},
            "schema pattern '^page_view/' admits 'page_view/2.0.0': it must name only page_view/1.x.y",
        ),
        (
            {"pattern": "page_view/1\\."},
            "schema pattern 'page_view/1\\\\.' admits 'xpage_view/1.0.0': it must name only page_view/1.x.y",
        ),
        (
            {"pattern": "^page_view/2\\."},
            "schema pattern '^page_view/2\\\\.' does not admit 'page_view/1.0.0'",
        ),
        (
            {"pattern": "^page_view/1\\.", "default": "page_view/1.1.0"},
            "schema default 'page_view/1.1.0' does not match 'page_view/1.0.0' (from the directory and file name)",
        ),
        (
            {"pattern": "(", "default": "page_view/1.0.0"},
            "schema pattern '(' is not a regular expression",
        ),
    ],
)
def test_major_scoped_schema_pattern(tree: Path, node: dict[str, Any], message: str | None) -> None:
    edit(
        tree,
        f"{PAGE_VIEW}/1.0.0.json",
        lambda s: s["properties"].update(
            schema={"type": "string", "description": "Version.", **node}
        ),
    )
    findings = [m for _, rule, m in found(tree) if rule == "version-mismatch"]
    assert findings == ([] if message is None else [message])


def test_examples_carry_their_files_version(tree: Path) -> None:
    def change(s: dict[str, Any]) -> None:
        s["properties"]["schema"] = {
            "type": "string",
            "pattern": "^page_view/1\\.",
            "description": "Version.",
        }
        s["examples"][0]["schema"] = "page_view/1.1.0"

    edit(tree, f"{PAGE_VIEW}/1.0.0.json", change)
    assert found(tree) == [
        (
            f"{PAGE_VIEW}/1.0.0.json",
            "version-mismatch",
            "examples[0] says schema 'page_view/1.1.0', but this file is 'page_view/1.0.0'",
        )
    ]
