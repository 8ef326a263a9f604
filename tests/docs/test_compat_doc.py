"""docs/compat.md cannot drift from compat/differences.py.

The table of difference types in the doc is what contract authors and CI owners read to learn
what a type means and whether it breaks; the engine's verdicts come from compat.differences.
This test holds the table to exactly the types compat.differences defines, with the strict and
lenient verdicts `is_compatible` gives. Regenerate the table after changing the types with

    uv run python -m tests.docs.test_compat_doc

and paste it between the markers in docs/compat.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from compat.diff import Difference
from compat.differences import ALL_TYPES, CONFLUENT_TYPES, REFRACT_TYPES, explain, is_compatible
from compat.model import Policy

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "compat.md"
START, END = "<!-- difference-types:start -->", "<!-- difference-types:end -->"
ROW = re.compile(r"^\|\s*`([A-Z_]+)`\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|(.*)\|\s*$")


def verdict(type_: str, policy: Policy) -> str:
    return "compatible" if is_compatible(type_, policy) else "breaking"


def table() -> str:
    """The table as docs/compat.md should hold it: every type, its verdicts, its message."""
    lines = [
        "| type | strict | lenient | message (`…` is the path) |",
        "| --- | --- | --- | --- |",
    ]
    for type_ in (*CONFLUENT_TYPES, *REFRACT_TYPES):
        message = explain(Difference(type_, "…", "…", None, None)).replace("|", "\\|")
        lines.append(
            f"| `{type_}` | {verdict(type_, Policy.STRICT)} | {verdict(type_, Policy.LENIENT)} "
            f"| {message} |"
        )
    return "\n".join(lines)


def documented() -> list[tuple[str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    assert START in text and END in text, f"{DOC} lacks the {START} ... {END} markers"
    section = text[text.index(START) + len(START) : text.index(END)]
    rows = []
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            rows.append((match.group(1), match.group(2), match.group(3)))
    return rows


def test_table_lists_exactly_the_defined_types() -> None:
    names = [name for name, _, _ in documented()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"listed twice: {duplicates}"
    missing = sorted(ALL_TYPES - set(names))
    unknown = sorted(set(names) - ALL_TYPES)
    assert not missing and not unknown, (
        f"docs/compat.md misses {missing} and lists unknown {unknown}; "
        "regenerate with `uv run python -m tests.docs.test_compat_doc`"
    )


def test_table_verdicts_match_the_policies() -> None:
    wrong = [
        f"{name}: doc says strict={strict} lenient={lenient}, engine says "
        f"strict={verdict(name, Policy.STRICT)} lenient={verdict(name, Policy.LENIENT)}"
        for name, strict, lenient in documented()
        if name in ALL_TYPES
        and (strict, lenient) != (verdict(name, Policy.STRICT), verdict(name, Policy.LENIENT))
    ]
    assert not wrong, "\n".join(wrong)


def test_doc_covers_every_mode_and_policy() -> None:
    from compat.model import Mode

    text = DOC.read_text(encoding="utf-8")
    for name in [m.value for m in Mode] + [p.value for p in Policy]:
        assert f"`{name}`" in text, f"docs/compat.md does not describe `{name}`"


def test_readme_links_the_doc() -> None:
    assert "(docs/compat.md)" in (REPO / "README.md").read_text(encoding="utf-8")


if __name__ == "__main__":
    print(table())
