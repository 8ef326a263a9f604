"""Bad and odd input through a real `refract` subprocess: exit code, one line, never a traceback.

CI pipelines script against the exit codes (0 ok, 1 findings/incompatible, 2 usage or invalid
input), and people read the single stderr line, so every case checks both, plus the fragment of
the message that says what is wrong and where.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_diff_cli import V1, refract, write

REPO = Path(__file__).resolve().parents[2]

DRAFT7_V1 = {**V1, "$schema": "http://json-schema.org/draft-07/schema#"}
NODE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"next": {"$ref": "#/$defs/node"}, "value": {"type": "integer"}},
        }
    },
    "$ref": "#/$defs/node",
}
NODE_NUMBER = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"next": {"$ref": "#/$defs/node"}, "value": {"type": "number"}},
        }
    },
    "$ref": "#/$defs/node",
}


def nested(levels: int) -> str:
    """A schema nesting `levels` object schemas (two JSON levels each), as text."""
    return '{"type": "object", "properties": {"x": ' * levels + "{}" + "}}" * levels


def make_files(tmp: Path) -> dict[str, str]:
    """Every odd input file, by name; paths are absolute so any cwd works."""
    (tmp / "a_directory").mkdir()
    raw: dict[str, bytes] = {
        "empty": b"",
        "array": b"[1, 2]\n",
        "number": b"42\n",
        "bom": b"\xef\xbb\xbf" + json.dumps(V1).encode(),
        "latin1": b'{\n  "type": "string",\n  "description": "caf\xe9"\n}\n',
        "true": b"true\n",
        "false": b"false\n",
        "nan": b'{\n  "type": "number",\n  "maximum": NaN\n}\n',
        "overflow": b'{"type": "number", "maximum": 1e400}',
        "schema_not_string": b'{"$schema": 5, "type": "string"}',
        "too_deep": nested(40).encode(),
        "deep_ok": nested(20).encode(),
        "ref_missing_file": b'{\n  "properties": {\n    "a": {"$ref": "absent.json"}\n  }\n}\n',
        "ref_missing_pointer": b'{\n  "properties": {\n    "a": {"$ref": "#/$defs/nope"}\n  }\n}\n',
        "ref_broken_file": b'{"properties": {"a": {"$ref": "broken.json"}}}',
        "broken": b'{\n  "type": "object",\n',
        "ref_remote": b'{"properties": {"a": {"$ref": "https://example.com/a.json"}}}',
    }
    paths = {"dir": str(tmp / "a_directory")}
    for name, data in raw.items():
        target = tmp / f"{name}.json"
        target.write_bytes(data)
        paths[name] = str(target)
    for name, value in (
        ("v1", V1),
        ("draft7", DRAFT7_V1),
        ("node", NODE),
        ("node_number", NODE_NUMBER),
    ):
        paths[name] = str(write(tmp / f"{name}.json", value))
    paths["tmp"] = str(tmp)
    return paths


# (case id, argv with {file} placeholders, expected exit code, fragments of the stderr line)
ERRORS: list[tuple[str, list[str], list[str]]] = [
    ("directory", ["diff", "{dir}", "{v1}"], ["a_directory", "is a directory"]),
    ("empty file", ["diff", "{empty}", "{v1}"], ["empty.json:1:1:", "invalid JSON"]),
    ("array file", ["diff", "{array}", "{v1}"], ["array.json:1:1:", "invalid schema"]),
    ("number file", ["diff", "{v1}", "{number}"], ["number.json:1:1:", "invalid schema"]),
    ("non-UTF-8", ["diff", "{latin1}", "{v1}"], ["latin1.json:3:22:", "not UTF-8", "0xe9"]),
    ("NaN", ["diff", "{nan}", "{v1}"], ["nan.json:3:14:", "#/maximum", "not finite"]),
    ("1e400", ["diff", "{v1}", "{overflow}"], ["overflow.json:1:31:", "not finite"]),
    ("$schema 5", ["diff", "{schema_not_string}", "{v1}"], ["schema_not_string.json:1:13:"]),
    ("too deep", ["diff", "{too_deep}", "{v1}"], ["too_deep.json:1:", "nested deeper"]),
    (
        "$ref to missing file",
        ["diff", "{v1}", "{ref_missing_file}"],
        [
            "ref_missing_file.json:3:19: unresolvable $ref 'absent.json'",
            "absent.json: no such file",
        ],
    ),
    (
        "$ref to missing pointer",
        ["diff", "{ref_missing_pointer}", "{v1}"],
        ["ref_missing_pointer.json:3:19:", "nothing at #/$defs/nope"],
    ),
    (
        "$ref to invalid JSON",
        ["diff", "{v1}", "{ref_broken_file}"],
        ["ref_broken_file.json:1:31: unresolvable $ref", "broken.json:3:1: invalid JSON"],
    ),
    ("$ref to the web", ["diff", "{v1}", "{ref_remote}"], ["ref_remote.json:1:31:", "not fetched"]),
    ("--format typo", ["diff", "{v1}", "{v1}", "--format", "jsno"], ["--format", "jsno"]),
    ("unknown mode", ["diff", "{v1}", "{v1}", "--mode", "sideways"], ["--mode", "sideways"]),
    ("unknown subcommand", ["frobnicate"], ["No such command", "frobnicate"]),
    ("one schema", ["diff", "{v1}"], ["at least two"]),
    ("lint missing path", ["lint", "{tmp}/nope.json"], ["nope.json", "no such file"]),
    ("lint directory outside contracts", ["lint", "{dir}"], ["not inside a contracts tree"]),
    ("check --all outside contracts", ["check", "--all", "--contracts", "{dir}"], ["events/"]),
    ("check --contracts missing", ["check", "--contracts", "{tmp}/nope"], ["no such directory"]),
    ("check outside git", ["check", "--contracts", "{dir}"], ["not inside a git work tree"]),
    ("check --against empty", ["check", "--against", ""], ["--against"]),
]


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, str]:
    return make_files(tmp_path)


def run(args: list[str], paths: dict[str, str], cwd: Path | None = None) -> Any:
    return refract(*[a.format(**paths) for a in args], cwd=cwd)


def assert_one_line_error(result: Any, fragments: list[str]) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize(("args", "fragments"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_bad_input_exits_2_with_one_line(
    paths: dict[str, str], args: list[str], fragments: list[str]
) -> None:
    assert_one_line_error(run(args, paths, cwd=Path(paths["tmp"])), fragments)


def test_check_outside_a_git_repository(tmp_path: Path) -> None:
    """A contracts tree that is not in git: `check` says so and points at `--all`."""
    shutil.copytree(REPO / "contracts", tmp_path / "contracts")
    result = refract("check", cwd=tmp_path)
    assert_one_line_error(result, ["not inside a git work tree", "--all"])
    assert refract("check", "--all", cwd=tmp_path).returncode == 0


def test_check_against_a_directory_instead_of_a_ref() -> None:
    result = refract("check", "--against", str(REPO / "contracts"), cwd=REPO)
    assert_one_line_error(result, ["--against", "not a git commit, branch or tag"])


# (case id, argv, exit code, a fragment of stdout): odd input that is valid and has an answer.
ANSWERS: list[tuple[str, list[str], int, str]] = [
    (
        "same file twice",
        ["diff", "{v1}", "{v1}"],
        0,
        "compatible (mode backward, policy strict): no changes",
    ),
    ("same file twice, json", ["diff", "{v1}", "{v1}", "--format", "json"], 0, '"changes": []'),
    ("byte order mark", ["diff", "{bom}", "{v1}"], 0, "no changes"),
    ("recursive $ref widened", ["diff", "{node}", "{node_number}"], 0, "TYPE_EXTENDED"),
    ("recursive $ref narrowed", ["diff", "{node_number}", "{node}"], 1, "TYPE_NARROWED"),
    ("draft-07 then 2020-12", ["diff", "{draft7}", "{v1}"], 0, "REFRACT_DIALECT_CHANGED"),
    ("true then false", ["diff", "{true}", "{false}"], 1, "INCOMPATIBLE"),
    ("false then true", ["diff", "{false}", "{true}"], 0, "compatible"),
    ("true then object", ["diff", "{true}", "{v1}"], 1, "counterexample: "),
    ("deep but allowed", ["diff", "{deep_ok}", "{deep_ok}"], 0, "no changes"),
    ("mode case", ["diff", "{v1}", "{v1}", "--mode", "FULL_TRANSITIVE"], 0, "full_transitive"),
    ("lint file outside contracts", ["lint", "{v1}"], 1, "description-missing"),
    ("lint invalid JSON", ["lint", "{broken}"], 1, "broken.json:3:1: json-invalid"),
    ("lint non-UTF-8", ["lint", "{latin1}"], 1, "latin1.json:3:22: json-invalid: not UTF-8"),
]


@pytest.mark.parametrize(
    ("args", "code", "fragment"), [c[1:] for c in ANSWERS], ids=[c[0] for c in ANSWERS]
)
def test_odd_but_valid_input(
    paths: dict[str, str], args: list[str], code: int, fragment: str
) -> None:
    result = run(args, paths)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    assert fragment in result.stdout


def closed_stdout(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run refract with a stdout pipe whose reader is already gone (`refract ... | head -0`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "refract", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)


def many_properties(tmp: Path, name: str, edit: Callable[[int], dict[str, Any]]) -> str:
    schema = {"type": "object", "properties": {f"p{i}": edit(i) for i in range(150)}}
    return str(write(tmp / name, schema))


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_closed_stdout_keeps_the_verdict(tmp_path: Path, fmt: str) -> None:
    """`refract diff ... | head -1`: no BrokenPipe traceback, and the exit code is still the verdict."""
    old = many_properties(tmp_path, "old.json", lambda i: {"type": "string", "maxLength": 9})
    documented = many_properties(
        tmp_path, "doc.json", lambda i: {"type": "string", "maxLength": 9, "description": "d"}
    )
    tighter = many_properties(tmp_path, "tight.json", lambda i: {"type": "string", "maxLength": 3})
    for new, code in ((documented, 0), (tighter, 1)):
        result = closed_stdout(["diff", old, new, "--format", fmt])
        assert result.returncode == code
        assert result.stderr == ""


def test_closed_stdout_in_lint(tmp_path: Path) -> None:
    schema = many_properties(tmp_path, "undocumented.json", lambda i: {"type": "string"})
    result = closed_stdout(["lint", schema])
    assert result.returncode == 1
    assert result.stderr == ""
