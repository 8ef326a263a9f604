"""The rules file: schema validation with positions, compilation, and reload without restart."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from registry_service.referral import Classifier, RulesError, load_rules
from registry_service.referral.rules import RULES_DIR, newest_rules_file, rules_files

SHIPPED = RULES_DIR / "1.0.0.json"


def _rules() -> dict[str, object]:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def _write(directory: Path, name: str, rules: object, indent: int = 2) -> Path:
    path = directory / name
    path.write_text(json.dumps(rules, indent=indent), encoding="utf-8")
    return path


def test_shipped_rules_load_and_know_the_required_signals() -> None:
    rules = load_rules(newest_rules_file())
    assert rules.version == newest_rules_file().name.removesuffix(".json")
    for host in [
        "chatgpt.com",
        "chat.openai.com",
        "claude.ai",
        "gemini.google.com",
        "bard.google.com",
        "perplexity.ai",
        "copilot.microsoft.com",
        "chat.deepseek.com",
        "grok.com",
        "chat.mistral.ai",
        "meta.ai",
    ]:
        assert rules.hosts[host][0] == "ai_assistant", host
    for source in ["chatgpt.com", "chatgpt", "openai"]:
        assert rules.utm_sources[source] == ("ai_assistant", "chatgpt")
    assert rules.app_referrers["ios-app://6448311069"] == ("ai_assistant", "chatgpt")
    assert rules.app_referrers["ios-app://6736252404"] == ("ai_assistant", "claude")
    assert rules.app_referrers["android-app://com.google.android.apps.bard"] == (
        "ai_assistant",
        "gemini",
    )
    assert rules.hosts["promptflow.io"] == ("internal", None)


def test_schema_violation_names_file_line_and_pointer(tmp_path: Path) -> None:
    rules = _rules()
    rules["ai_platforms"]["claude"]["hosts"].append("Claude.AI")  # type: ignore[index]
    path = _write(tmp_path, "1.0.0.json", rules)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if '"Claude.AI"' in text
    )
    assert f"1.0.0.json:{line}:" in message
    assert "#/ai_platforms/claude/hosts/1" in message
    assert "Claude.AI" in message


def test_unknown_platform_and_missing_key_are_refused(tmp_path: Path) -> None:
    rules = _rules()
    rules["ai_platforms"]["chatgtp"] = {"hosts": [], "utm_sources": [], "app_referrers": []}  # type: ignore[index]
    with pytest.raises(RulesError, match="chatgtp"):
        load_rules(_write(tmp_path, "1.0.0.json", rules))
    rules = _rules()
    del rules["click_ids"]
    with pytest.raises(RulesError, match="click_ids"):
        load_rules(_write(tmp_path, "1.0.0.json", rules))


def test_invalid_json_names_the_position(tmp_path: Path) -> None:
    path = tmp_path / "1.0.0.json"
    path.write_text('{\n  "version": "1.0.0",\n  oops\n}', encoding="utf-8")
    with pytest.raises(RulesError, match=r"1\.0\.0\.json:3:3: invalid JSON"):
        load_rules(path)


def test_version_must_match_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=re.escape("does not match the file name '1.2.0.json'")):
        load_rules(_write(tmp_path, "1.2.0.json", _rules()))


def test_a_signal_with_two_meanings_is_refused(tmp_path: Path) -> None:
    rules = _rules()
    rules["channels"]["search"]["hosts"].append("chatgpt.com")  # type: ignore[index]
    with pytest.raises(
        RulesError,
        match=re.escape("'chatgpt.com' is listed for channel search and for ai platform chatgpt"),
    ):
        load_rules(_write(tmp_path, "1.0.0.json", rules))


def test_newest_version_is_semver_ordered(tmp_path: Path) -> None:
    for version in ["1.2.0", "1.10.0", "1.9.3"]:
        rules = _rules() | {"version": version}
        _write(tmp_path, f"{version}.json", rules)
    (tmp_path / "rules.schema.json").write_text("{}")
    assert [p.name for p in rules_files(tmp_path)] == ["1.2.0.json", "1.9.3.json", "1.10.0.json"]
    assert Classifier(tmp_path).rules_version == "1.10.0"


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no referral rules file"):
        Classifier(tmp_path)


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_edited_rules_are_picked_up_without_restart(tmp_path: Path) -> None:
    path = tmp_path / "1.0.0.json"
    shutil.copy(SHIPPED, path)
    classifier = Classifier(tmp_path, check_interval=0.0)
    assert classifier.classify(referrer="https://chat.newbot.example/").channel == "referral"
    rules = _rules()
    rules["ai_platforms"]["grok"]["hosts"].append("chat.newbot.example")  # type: ignore[index]
    _write(tmp_path, "1.0.0.json", rules)
    _touch_later(path)
    result = classifier.classify(referrer="https://chat.newbot.example/")
    assert (result.channel, result.ai_platform) == ("ai_assistant", "grok")


def test_a_new_version_file_takes_over(tmp_path: Path) -> None:
    shutil.copy(SHIPPED, tmp_path / "1.0.0.json")
    classifier = Classifier(tmp_path, check_interval=0.0)
    rules = _rules() | {"version": "1.1.0", "internal_hosts": ["promptflow.io", "pf.example"]}
    _write(tmp_path, "1.1.0.json", rules)
    assert classifier.classify(referrer="https://pf.example/").channel == "internal"
    assert classifier.rules_version == "1.1.0"


def test_a_bad_edit_keeps_the_previous_rules_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "1.0.0.json"
    shutil.copy(SHIPPED, path)
    classifier = Classifier(tmp_path, check_interval=0.0)
    path.write_text('{"version": "1.0.0"}', encoding="utf-8")
    _touch_later(path)
    assert classifier.classify(referrer="https://claude.ai/").ai_platform == "claude"
    assert classifier.last_error is not None and "1.0.0.json" in classifier.last_error
    shutil.copy(SHIPPED, path)
    _touch_later(path)
    assert classifier.reload_if_changed() is True
    assert classifier.last_error is None


def test_reload_checks_are_rate_limited(tmp_path: Path) -> None:
    path = tmp_path / "1.0.0.json"
    shutil.copy(SHIPPED, path)
    classifier = Classifier(tmp_path, check_interval=3600.0)
    rules = _rules()
    rules["ai_platforms"]["grok"]["hosts"].append("chat.newbot.example")  # type: ignore[index]
    _write(tmp_path, "1.0.0.json", rules)
    _touch_later(path)
    assert classifier.classify(referrer="https://chat.newbot.example/").channel == "referral"
    assert classifier.reload_if_changed() is True
    assert classifier.classify(referrer="https://chat.newbot.example/").channel == "ai_assistant"
