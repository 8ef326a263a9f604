"""Discovery of a contracts tree: events, versions in SemVer order, lenses, common files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from compat.catalogue import find_contracts_root, load_catalogue, scan_catalogue
from compat.model import Mode
from compat.source import InvalidInput
from compat.versions import Version

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(FIXTURES / "valid", root)
    return root


def test_loads_events_versions_lenses_and_common(tree: Path) -> None:
    catalogue = load_catalogue(tree)
    assert list(catalogue.events) == ["page_view"]
    event = catalogue.events["page_view"]
    assert event.config.compatibility is Mode.BACKWARD_TRANSITIVE
    assert event.config.owner == "web"
    assert [str(v.version) for v in event.versions] == ["1.0.0", "1.1.0", "2.0.0"]
    assert [v.ref for v in event.versions] == [
        "page_view/1.0.0",
        "page_view/1.1.0",
        "page_view/2.0.0",
    ]
    assert event.lenses == {(1, 2): tree / "events" / "page_view" / "lenses" / "1-to-2.json"}
    assert event.majors() == [1, 2]
    assert event.newest_of_major(1) is event.versions[1]
    assert event.first_of_major(2) is event.versions[2]
    assert [(c.name, str(c.version)) for c in catalogue.common["user"]] == [("user", "1.0.0")]


def test_schema_sets_load_lazily_and_resolve_common_refs(tree: Path) -> None:
    version = load_catalogue(tree).events["page_view"].versions[0]
    assert "schema_set" not in vars(version)
    sset = version.schema_set
    assert sset.accepts(sset.schema["examples"][0])
    assert not sset.accepts({**sset.schema["examples"][0], "user": {}})


def test_versions_sort_numerically(tree: Path) -> None:
    event_dir = tree / "events" / "page_view"
    for name in ("1.10.0", "1.9.0", "1.2.0"):
        (event_dir / f"{name}.json").write_text("{}")
    versions = [str(v.version) for v in load_catalogue(tree).events["page_view"].versions]
    assert versions == ["1.0.0", "1.1.0", "1.2.0", "1.9.0", "1.10.0", "2.0.0"]


def test_compatibility_defaults_to_backward_transitive(tree: Path) -> None:
    config = tree / "events" / "page_view" / "event.json"
    config.write_text(json.dumps({"name": "page_view", "description": "d", "owner": "o"}))
    assert load_catalogue(tree).events["page_view"].config.compatibility is Mode.BACKWARD_TRANSITIVE


def test_find_contracts_root(tree: Path) -> None:
    deep = tree / "events" / "page_view" / "1.0.0.json"
    assert find_contracts_root(deep) == tree
    assert find_contracts_root(tree / "events") == tree
    assert find_contracts_root(tree) == tree
    assert find_contracts_root(tree.parent) == tree  # from the repository root: its contracts/
    with pytest.raises(InvalidInput, match="not inside a contracts tree"):
        find_contracts_root(Path("/"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "event.json").unlink(), r"event\.json:1:1: missing event\.json"),
        (
            lambda d: (d / "1.2.json").write_text("{}"),
            r"1\.2\.json:1:1: file name of a event version must be <MAJOR\.MINOR\.PATCH>\.json: '1\.2' is not a SemVer",
        ),
        (
            lambda d: (d / "v2.0.0.json").write_text("{}"),
            r"v2\.0\.0\.json:1:1: file name .* 'v2\.0\.0' is not a SemVer",
        ),
        (
            lambda d: (d / "lenses" / "one-to-two.json").write_text("{}"),
            r"one-to-two\.json:1:1: lens file name must be <FROM_MAJOR>-to-<TO_MAJOR>\.json",
        ),
        (
            lambda d: (d / "event.json").write_text(
                '{"name": "page_view", "description": "d", "owner": "o",\n "compatibility": "sideways"}'
            ),
            r"event\.json:2:19: compatibility 'sideways' is not a mode",
        ),
        (lambda d: (d / "event.json").write_text('{"name": '), r"event\.json:1:10: invalid JSON"),
        (
            lambda d: (d / "event.json").write_text(
                '{"name": "pageview", "description": "d", "owner": "o"}'
            ),
            r"event\.json:1:10: name 'pageview' does not match the directory name 'page_view'",
        ),
        (
            lambda d: (d.parent / "README.json").write_text("{}"),
            r"README\.json:1:1: unexpected file in events/",
        ),
        (
            lambda d: (d.parent / "PageView").mkdir(),
            r"PageView:1:1: event name 'PageView' must be snake_case",
        ),
    ],
)
def test_malformed_layout_names_the_file_and_why(tree: Path, mutate: object, message: str) -> None:
    assert callable(mutate)
    mutate(tree / "events" / "page_view")
    with pytest.raises(InvalidInput, match=message):
        load_catalogue(tree)


def test_scan_reports_every_problem_and_keeps_the_rest(tree: Path) -> None:
    event_dir = tree / "events" / "page_view"
    (event_dir / "1.2.json").write_text("{}")
    (event_dir / "lenses" / "2to3.json").write_text("{}")
    catalogue, problems = scan_catalogue(tree)
    assert sorted((p.path.name, p.rule) for p in problems) == [
        ("1.2.json", "version-invalid"),
        ("2to3.json", "lens-invalid"),
    ]
    assert [v.version for v in catalogue.events["page_view"].versions] == [
        Version(1, 0, 0),
        Version(1, 1, 0),
        Version(2, 0, 0),
    ]


def test_not_a_contracts_root(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a contracts root"):
        load_catalogue(tmp_path)


def test_ignores_notes_and_hidden_files(tree: Path) -> None:
    (tree / "events" / "page_view" / "README.md").write_text("notes")
    (tree / "events" / ".gitkeep").write_text("")
    (tree / "common" / "user" / ".DS_Store").write_text("")
    assert [str(v.version) for v in load_catalogue(tree).events["page_view"].versions] == [
        "1.0.0",
        "1.1.0",
        "2.0.0",
    ]
