"""Loading, validating and compiling the referral rules file (contracts/referral_rules/).

The rules are data so that marketing can add a new AI assistant or newsletter tool without a
code change, and so that a backfill can name the exact rules version it classified with. A
rules file is validated against contracts/referral_rules/rules.schema.json before it is used:
a typo in a host list must fail loudly (file, line, column) instead of quietly reclassifying
traffic. Compilation turns the lists into dicts and sets, so that classifying one event is a
handful of dictionary lookups and never a regular expression.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from compat.source import InvalidInput, SourceFile, display_path, pointer_join, read_json_file

RULES_DIR = Path(__file__).resolve().parents[2] / "contracts" / "referral_rules"
SCHEMA_FILE = "rules.schema.json"
_VERSION_FILE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.json$")

# What a host, UTM value or app referrer classifies as: (channel, ai_platform).
Verdict = tuple[str, str | None]


class RulesError(InvalidInput):
    """The rules file is missing, not JSON, or breaks the rules schema; says where."""


@dataclass(frozen=True)
class CompiledRules:
    """The rules as lookup tables, built once per (re)load."""

    version: str
    path: Path
    hosts: Mapping[str, Verdict]  # host or parent domain -> verdict, internal hosts included
    utm_sources: Mapping[str, Verdict]
    utm_mediums: Mapping[str, str]  # medium -> channel
    app_referrers: Mapping[str, Verdict]  # "android-app://<package>" -> verdict
    click_ids: frozenset[str]


def rules_files(directory: Path = RULES_DIR) -> list[Path]:
    """The version files of a rules directory, oldest first (SemVer order, not string order)."""
    found = [p for p in directory.iterdir() if _VERSION_FILE.match(p.name)]
    return sorted(found, key=lambda p: tuple(int(x) for x in p.name[:-5].split(".")))


def newest_rules_file(directory: Path = RULES_DIR) -> Path:
    """The newest version file of `directory`; RulesError when there is none."""
    try:
        files = rules_files(directory)
    except OSError as exc:
        raise RulesError(
            f"{display_path(directory)}: cannot list rules: {exc.strerror or exc}"
        ) from None
    if not files:
        raise RulesError(
            f"{display_path(directory)}: no referral rules file (expected MAJOR.MINOR.PATCH.json)"
        )
    return files[-1]


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((RULES_DIR / SCHEMA_FILE).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=None)


def load_rules(path: Path) -> CompiledRules:
    """Read, validate and compile one rules file; RulesError saying what is wrong and where."""
    try:
        source = read_json_file(path)
    except RulesError:
        raise
    except InvalidInput as exc:
        raise RulesError(str(exc)) from None
    errors = sorted(_validator().iter_errors(source.contents), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        pointer = pointer_join("", *first.absolute_path)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise RulesError(
            f"{source.locate(pointer)}: invalid referral rules at #{pointer}: {first.message}{more}"
        )
    expected = path.name.removesuffix(".json")
    if source.contents["version"] != expected:
        raise RulesError(
            f"{source.locate('/version')}: version {source.contents['version']!r} does not match "
            f"the file name {path.name!r}"
        )
    return _compile(source, path)


def _compile(source: SourceFile, path: Path) -> CompiledRules:
    """Build the lookup tables, refusing a signal listed twice with different meanings."""
    doc: dict[str, Any] = source.contents
    tables: dict[str, dict[str, Any]] = {
        "hosts": {},
        "utm_sources": {},
        "utm_mediums": {},
        "app_referrers": {},
    }

    def put(table: str, key: str, value: Any, pointer: str) -> None:
        known = tables[table].get(key)
        if known is not None and known != value:
            raise RulesError(
                f"{source.locate(pointer)}: {key!r} is listed for {_describe(value)} and for "
                f"{_describe(known)}; each signal must mean one thing"
            )
        tables[table][key] = value

    for index, host in enumerate(doc["internal_hosts"]):
        put("hosts", host, ("internal", None), f"/internal_hosts/{index}")
    for platform, signals in doc["ai_platforms"].items():
        verdict: Verdict = ("ai_assistant", platform)
        base = f"/ai_platforms/{platform}"
        for field in ("hosts", "utm_sources", "app_referrers"):
            for index, value in enumerate(signals[field]):
                put(field, value, verdict, f"{base}/{field}/{index}")
    for channel, signals in doc["channels"].items():
        base = f"/channels/{channel}"
        for field in ("hosts", "utm_sources", "app_referrers"):
            for index, value in enumerate(signals[field]):
                put(field, value, (channel, None), f"{base}/{field}/{index}")
        for index, value in enumerate(signals["utm_mediums"]):
            put("utm_mediums", value, channel, f"{base}/utm_mediums/{index}")
    return CompiledRules(
        version=doc["version"],
        path=path,
        hosts=tables["hosts"],
        utm_sources=tables["utm_sources"],
        utm_mediums=tables["utm_mediums"],
        app_referrers=tables["app_referrers"],
        click_ids=frozenset(doc["click_ids"]),
    )


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        channel, platform = value
        return f"ai platform {platform}" if platform else f"channel {channel}"
    return f"channel {value}"
