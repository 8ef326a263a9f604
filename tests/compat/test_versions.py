"""SemVer parsing and the bump rule that ties a version number to what changed."""

from __future__ import annotations

import pytest

from compat.model import Change
from compat.versions import Version, check_bump, check_sequence, classify_bump, parse_schema_ref


def v(text: str) -> Version:
    return Version.parse(text)


def change(type_: str, compatible: bool = True) -> Change:
    return Change(type_, "#/properties/x", "#/properties/x", compatible, f"{type_} at x")


def test_parse_and_str_round_trip() -> None:
    assert v("1.2.3") == Version(1, 2, 3)
    assert str(v("10.0.7")) == "10.0.7"


@pytest.mark.parametrize(
    "text",
    ["1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "v1.2.3", "1.2.3-rc.1", "", "a.b.c", "-1.0.0"],
)
def test_parse_rejects_non_semver(text: str) -> None:
    with pytest.raises(ValueError, match="not a SemVer version"):
        Version.parse(text)


def test_ordering_is_numeric_not_lexical() -> None:
    versions = [v("1.10.0"), v("1.9.0"), v("2.0.0"), v("1.9.10"), v("1.9.2"), v("0.1.0")]
    assert [str(x) for x in sorted(versions)] == [
        "0.1.0",
        "1.9.0",
        "1.9.2",
        "1.9.10",
        "1.10.0",
        "2.0.0",
    ]


def test_parse_schema_ref() -> None:
    assert parse_schema_ref("page_view/2.0.0") == ("page_view", Version(2, 0, 0))
    for bad in ("page_view", "/1.0.0", "page_view/2.0", "a/b/1.0.0", "page_view/latest"):
        with pytest.raises(ValueError, match="schema reference"):
            parse_schema_ref(bad)


@pytest.mark.parametrize(
    ("prev", "cur", "bump"),
    [
        ("1.0.0", "1.0.1", "patch"),
        ("1.0.3", "1.1.0", "minor"),
        ("1.4.2", "2.0.0", "major"),
        ("2.0.0", "1.0.0", "major"),
    ],
)
def test_classify_bump(prev: str, cur: str, bump: str) -> None:
    assert classify_bump(v(prev), v(cur)) == bump


@pytest.mark.parametrize(
    ("prev", "cur", "error"),
    [
        ("1.0.0", "1.0.1", None),
        ("1.2.3", "1.3.0", None),
        ("1.2.3", "2.0.0", None),
        (
            "1.0.0",
            "1.2.0",
            "version 1.2.0 skips versions after 1.0.0: the next minor version is 1.1.0",
        ),
        (
            "1.0.0",
            "3.0.0",
            "version 3.0.0 skips versions after 1.0.0: the next major version is 2.0.0",
        ),
        (
            "1.2.3",
            "1.2.5",
            "version 1.2.5 skips versions after 1.2.3: the next patch version is 1.2.4",
        ),
        (
            "1.2.3",
            "1.3.1",
            "version 1.3.1 skips versions after 1.2.3: the next minor version is 1.3.0",
        ),
        (
            "1.2.3",
            "2.1.0",
            "version 2.1.0 skips versions after 1.2.3: the next major version is 2.0.0",
        ),
        ("1.2.3", "1.2.3", "version 1.2.3 does not increase on 1.2.3"),
        ("2.0.0", "1.9.0", "version 1.9.0 does not increase on 2.0.0"),
    ],
)
def test_sequence_table(prev: str, cur: str, error: str | None) -> None:
    assert check_sequence(v(prev), v(cur)) == ([] if error is None else [error])


BREAKING = [change("TYPE_CHANGED", compatible=False)]
COMPATIBLE = [change("PROPERTY_ADDED_TO_CLOSED_CONTENT_MODEL")]
METADATA = [
    change(t)
    for t in (
        "DESCRIPTION_CHANGED",
        "TITLE_CHANGED",
        "ID_CHANGED",
        "DEFAULT_CHANGED",
        "REFRACT_ANNOTATION_CHANGED",
    )
]


@pytest.mark.parametrize(
    ("prev", "cur", "changes", "has_lens", "expected"),
    [
        # patch: metadata only
        ("1.0.0", "1.0.1", METADATA, False, []),
        ("1.0.0", "1.0.1", [], False, []),
        ("1.0.0", "1.0.1", COMPATIBLE, False, ["patch must not change accepted instances"]),
        (
            "1.0.0",
            "1.0.1",
            BREAKING,
            False,
            ["breaking change needs a major version", "patch must not change accepted instances"],
        ),
        # minor: compatible changes
        ("1.0.0", "1.1.0", COMPATIBLE + METADATA, False, []),
        (
            "1.0.0",
            "1.1.0",
            BREAKING,
            False,
            ["1.0.0 -> 1.1.0 is a minor bump but has 1 breaking change(s) (TYPE_CHANGED)"],
        ),
        # major: needs a lens
        ("1.1.0", "2.0.0", BREAKING, True, []),
        (
            "1.1.0",
            "2.0.0",
            BREAKING,
            False,
            ["1.1.0 -> 2.0.0 is a major bump without a lens 1-to-2.json"],
        ),
        ("1.1.0", "2.0.0", COMPATIBLE, True, []),
        # sequence errors come first and short-circuit on non-increasing versions
        ("1.0.0", "1.2.0", COMPATIBLE, False, ["skips versions after 1.0.0"]),
        ("1.0.0", "3.0.0", BREAKING, True, ["skips versions after 1.0.0"]),
        ("1.1.0", "1.0.0", BREAKING, False, ["does not increase on 1.1.0"]),
    ],
)
def test_bump_rule_table(
    prev: str, cur: str, changes: list[Change], has_lens: bool, expected: list[str]
) -> None:
    errors = check_bump(v(prev), v(cur), changes, has_lens)
    assert len(errors) == len(expected), errors
    for error, fragment in zip(errors, expected, strict=True):
        assert fragment in error


def test_patch_error_names_the_offending_change_types() -> None:
    errors = check_bump(
        v("1.0.0"),
        v("1.0.1"),
        [*METADATA, change("MAX_LENGTH_INCREASED"), change("ENUM_ARRAY_EXTENDED")],
        False,
    )
    assert errors == [
        "1.0.0 -> 1.0.1 is a patch bump but changes ENUM_ARRAY_EXTENDED, MAX_LENGTH_INCREASED: patch must not "
        "change accepted instances (only descriptions, titles, ids, defaults and annotations)"
    ]
