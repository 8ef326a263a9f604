"""`refract registry push`, `refract check --registry` and `refract keys`, as subprocesses
against a real uvicorn server (both stores)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry_service.registry.keys import KeyStore
from registry_service.registry.service import Registry
from registry_service.registry.sqlite_store import SqliteStore
from tests.registry.conftest import ADMIN_TOKEN, CONTRACTS, Server, contracts, make_app, serve

REPO = CONTRACTS.parent


def refract(
    *args: str, token: str | None = ADMIN_TOKEN, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFRACT_")}
    if token is not None:
        env["REFRACT_ADMIN_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "refract", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def server(registry: Registry) -> Iterator[Server]:
    running = serve(make_app(registry))
    yield running
    running.stop()


def total_versions() -> int:
    return sum(len(v) for v in contracts().values())


def test_push_registers_everything_once(server: Server, registry: Registry) -> None:
    first = refract("registry", "push", "--registry", server.url)
    assert first.returncode == 0, first.stderr
    assert f"{total_versions()} registered, 0 already present, 0 refused" in first.stdout
    assert "registered page_view 2.0.0" in first.stdout
    assert registry.versions("page_view") == ["1.0.0", "1.1.0", "2.0.0"]
    assert registry.lens("page_view", "2.0.0") is not None
    generation = registry.generation()

    second = refract("registry", "push", "--registry", server.url)
    assert second.returncode == 0, second.stderr
    assert f"0 registered, {total_versions()} already present, 0 refused" in second.stdout
    assert registry.generation() == generation  # nothing was written


def test_push_needs_the_admin_token(server: Server) -> None:
    result = refract("registry", "push", "--registry", server.url, token=None)
    assert result.returncode == 2
    assert "admin token" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_registry_is_exit_2() -> None:
    result = refract("check", "--registry", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "unreachable" in result.stderr


def edited_tree(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, root)
    return root


def new_signup_version(root: Path, semver: str, *, required: bool) -> None:
    """signup/<semver>: 1.1.0 plus a `team_size` property, optional or required."""
    schema = json.loads((root / "events/signup/1.1.0.json").read_text())
    schema["properties"]["schema"]["default"] = f"signup/{semver}"
    schema["properties"]["team_size"] = {"type": "integer", "description": "Seats."}
    if required:
        schema["required"].append("team_size")
    for example in schema["examples"]:
        example["schema"] = f"signup/{semver}"
        example["team_size"] = 3
    (root / f"events/signup/{semver}.json").write_text(json.dumps(schema, indent=2))


def test_check_against_a_live_registry(server: Server, tmp_path: Path) -> None:
    assert refract("registry", "push", "--registry", server.url).returncode == 0
    clean = refract("check", "--registry", server.url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 failing" in clean.stdout

    root = edited_tree(tmp_path)
    new_signup_version(root, "1.2.0", required=False)
    compatible = refract("check", "--registry", server.url, "--contracts", str(root))
    assert compatible.returncode == 0, compatible.stdout
    assert "signup/1.2.0" in compatible.stdout and "compatible" in compatible.stdout

    new_signup_version(root, "1.2.0", required=True)
    broken = refract(
        "check", "--registry", server.url, "--contracts", str(root), "--format", "json"
    )
    assert broken.returncode == 1, broken.stdout + broken.stderr
    document = json.loads(broken.stdout)
    failing = [r for r in document["results"] if not r["ok"]]
    assert [r["contract"] for r in failing] == ["signup/1.2.0"]
    assert failing[0]["status"] == "incompatible"
    assert {c["type"] for c in failing[0]["changes"]} == {
        "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
    }
    assert failing[0]["changes"][0]["counterexample"] is not None

    edited = json.loads((root / "events/signup/1.0.0.json").read_text())
    edited["description"] += " Edited after publication."
    (root / "events/signup/1.0.0.json").write_text(json.dumps(edited, indent=2))
    (root / "events/signup/1.2.0.json").unlink()
    in_place = refract("check", "--registry", server.url, "--contracts", str(root))
    assert in_place.returncode == 1
    assert "signup/1.0.0" in in_place.stdout and "edited" in in_place.stdout


def test_check_a_new_event_and_a_refused_push(server: Server, tmp_path: Path) -> None:
    root = edited_tree(tmp_path)
    fresh = refract("check", "--registry", server.url, "--contracts", str(root))
    assert fresh.returncode == 0
    assert "new-event" in fresh.stdout
    assert refract("registry", "push", "--registry", server.url).returncode == 0
    new_signup_version(root, "1.2.0", required=True)
    refused = refract("registry", "push", "--registry", server.url, "--contracts", str(root))
    assert refused.returncode == 1
    assert "REFUSED signup 1.2.0" in refused.stdout and "incompatible" in refused.stdout


def test_keys_commands(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    created = refract(
        "keys", "create", "--source", "web", "--producer", "promptflow-web", "--data-dir", data
    )
    assert created.returncode == 0, created.stderr
    raw = created.stdout.strip()
    assert raw.startswith("rfk_") and "not shown again" in created.stderr
    store = SqliteStore(tmp_path / "data" / "registry.db")
    producer = KeyStore(store).verify(raw)
    assert producer is not None and producer.name == "promptflow-web"

    listed = refract("keys", "list", "--data-dir", data, "--format", "json")
    keys = json.loads(listed.stdout)
    assert [k["key_id"] for k in keys] == [producer.key_id]
    assert raw.split("_", 2)[2] not in listed.stdout

    assert refract("keys", "revoke", producer.key_id, "--data-dir", data).returncode == 0
    assert KeyStore(store).verify(raw) is None
    again = refract("keys", "revoke", producer.key_id, "--data-dir", data)
    assert again.returncode == 1
    assert "REVOKED" in refract("keys", "list", "--data-dir", data).stdout

    bad = refract("keys", "create", "--source", "fax", "--producer", "x", "--data-dir", data)
    assert bad.returncode == 2 and "unknown source" in bad.stderr
