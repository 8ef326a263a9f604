"""`refract registry push`, `refract keys ...` and `refract check --registry URL`.

push and check talk to a running registry over its REST API (the same one Confluent-style
tools use), so they work against any replica set; the key commands open the registry's
database directly, because keys are created by operators on the machine that holds the
database, and a key's secret is shown exactly once, here.

Exit codes as everywhere in refract: 0 done / compatible, 1 rejected / incompatible, 2 usage
error, bad input or an unreachable registry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
import httpx

from compat.source import InvalidInput
from registry_service.registry.contracts import ContractVersion, contract_versions

DEFAULT_REGISTRY = "http://127.0.0.1:8080"
MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class RegistryUnavailable(InvalidInput):
    """The registry could not be reached or answered something that is not its API."""


class Client:
    """A thin client of the registry's REST API (status and JSON body per call)."""

    def __init__(self, url: str, token: str | None, timeout: float = 60.0) -> None:
        headers = {"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            response = self.http.request(
                method, path, content=None if body is None else json.dumps(body)
            )
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(f"registry {self.url} unreachable: {exc}") from None
        try:
            payload = response.json()
        except ValueError:
            raise RegistryUnavailable(
                f"registry {self.url}: {method} {path} answered {response.status_code} with a "
                "body that is not JSON (is this a Refract registry?)"
            ) from None
        if response.status_code in (401, 403):
            message = payload.get("message") if isinstance(payload, dict) else payload
            raise RegistryUnavailable(f"registry {self.url}: {message}")
        return response.status_code, payload

    def close(self) -> None:
        self.http.close()


def _subject(name: str) -> str:
    return quote(name, safe="")


def _contracts(contracts_dir: Path | None) -> list[ContractVersion]:
    from refract.cli import _contracts_dir, _default_contracts_root

    root = _contracts_dir(contracts_dir) if contracts_dir else _default_contracts_root()
    return list(contract_versions(root.resolve()))


def _message(payload: Any) -> str:
    if isinstance(payload, dict):
        return str(payload.get("message") or payload)
    return str(payload)


# -- refract registry push ---------------------------------------------------------------------


@dataclass
class PushResult:
    registered: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    configured: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def push(client: Client, versions: list[ContractVersion]) -> PushResult:
    """Sync contracts into the registry: set levels that differ, register missing versions.

    Versions already registered (same schema) are left alone, so a second push writes nothing.
    After a version of an event is refused, that event's later versions are skipped: they
    would be checked against a history that lacks the refused one.
    """
    result = PushResult()
    blocked: set[str] = set()
    for item in versions:
        label = f"{item.subject} {item.semver}"
        if item.subject in blocked:
            result.failed.append(f"{label}: skipped (an earlier version was refused)")
            continue
        path = f"/config/{_subject(item.subject)}?defaultToGlobal=true"
        status, payload = client.call("GET", path)
        level = payload.get("compatibilityLevel") if isinstance(payload, dict) else None
        if status == 200 and level != item.level:
            status, payload = client.call(
                "PUT", f"/config/{_subject(item.subject)}", {"compatibility": item.level}
            )
            if status != 200:
                result.failed.append(f"{item.subject}: config not set: {_message(payload)}")
                blocked.add(item.subject)
                continue
            result.configured.append(f"{item.subject} {item.level}")
        status, payload = client.call("POST", f"/subjects/{_subject(item.subject)}", item.body())
        if status == 200:
            result.present.append(label)
            continue
        status, payload = client.call(
            "POST", f"/subjects/{_subject(item.subject)}/versions", item.body()
        )
        if status == 200:
            result.registered.append(f"{label} (id {payload.get('id')})")
        else:
            result.failed.append(f"{label}: {_message(payload)}")
            blocked.add(item.subject)
    return result


@click.group("registry")
def registry_group() -> None:
    """Work with a running schema registry."""


_REGISTRY_OPTION = click.option(
    "--registry",
    "url",
    default=lambda: os.environ.get("REFRACT_REGISTRY_URL", DEFAULT_REGISTRY),
    show_default="REFRACT_REGISTRY_URL or " + DEFAULT_REGISTRY,
    help="Base URL of the registry.",
)
_TOKEN_OPTION = click.option(
    "--token",
    default=lambda: os.environ.get("REFRACT_ADMIN_TOKEN"),
    show_default="REFRACT_ADMIN_TOKEN",
    help="Admin token (sent as Authorization: Bearer).",
)
_CONTRACTS_OPTION = click.option(
    "--contracts",
    "contracts_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The contracts root (default: contracts/ of the repository).",
)


@registry_group.command("push")
@_REGISTRY_OPTION
@_TOKEN_OPTION
@_CONTRACTS_OPTION
def push_command(url: str, token: str | None, contracts_dir: Path | None) -> int:
    """Register every contract version the registry lacks (idempotent)."""
    versions = _contracts(contracts_dir)
    client = Client(url, token)
    try:
        result = push(client, versions)
    finally:
        client.close()
    lines = [f"configured {line}" for line in result.configured]
    lines += [f"registered {line}" for line in result.registered]
    lines += [f"REFUSED {line}" for line in result.failed]
    lines.append(
        f"{len(result.registered)} registered, {len(result.present)} already present, "
        f"{len(result.failed)} refused ({client.url})"
    )
    _emit("\n".join(lines))
    return EXIT_FINDINGS if result.failed else EXIT_OK


# -- refract check --registry ------------------------------------------------------------------


@dataclass
class Verdict:
    label: str
    ok: bool
    status: str  # registered | new-event | compatible | incompatible | edited
    detail: str = ""
    changes: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.label,
            "ok": self.ok,
            "status": self.status,
            "detail": self.detail,
            "changes": self.changes,
        }


def check_against(client: Client, versions: list[ContractVersion]) -> list[Verdict]:
    """Judge each local contract version against what the registry has published."""
    verdicts: list[Verdict] = []
    published: dict[str, dict[str, Any]] = {}
    for item in versions:
        label = f"{item.subject}/{item.semver}"
        subject = _subject(item.subject)
        status, payload = client.call("POST", f"/subjects/{subject}", item.body())
        if status == 200:
            verdicts.append(Verdict(label, True, "registered", f"version {payload['version']}"))
            continue
        code = payload.get("error_code") if isinstance(payload, dict) else None
        if code == 40401:
            verdicts.append(Verdict(label, True, "new-event", "subject not in the registry"))
            continue
        if code != 40403:
            raise RegistryUnavailable(f"{label}: unexpected answer {status}: {_message(payload)}")
        if item.subject not in published:
            published[item.subject] = _published_semvers(client, subject)
        if item.semver in published[item.subject]:
            version = published[item.subject][item.semver]
            verdicts.append(
                Verdict(
                    label,
                    False,
                    "edited",
                    f"published as version {version} with a different schema; published "
                    "versions are immutable (add a new version instead)",
                )
            )
            continue
        status, payload = client.call(
            "POST", f"/compatibility/subjects/{subject}/versions?verbose=true", item.body()
        )
        if status != 200 or not isinstance(payload, dict):
            verdicts.append(Verdict(label, False, "incompatible", _message(payload)))
            continue
        compatible = bool(payload.get("is_compatible"))
        detail = "; ".join(payload.get("messages") or [])
        if "lens_error" in payload:
            detail = _message(payload["lens_error"])
        elif compatible:
            against = payload.get("compared_with") or []
            detail = f"compatible with versions {against}" if against else "compatible"
        verdicts.append(
            Verdict(
                label,
                compatible,
                "compatible" if compatible else "incompatible",
                detail,
                [c for c in payload.get("changes", []) if not c.get("compatible", True)],
            )
        )
    return verdicts


def _published_semvers(client: Client, subject: str) -> dict[str, int]:
    status, numbers = client.call("GET", f"/subjects/{subject}/versions")
    found: dict[str, int] = {}
    if status != 200 or not isinstance(numbers, list):
        return found
    for number in numbers:
        status, payload = client.call("GET", f"/subjects/{subject}/versions/{number}")
        if status == 200 and isinstance(payload, dict) and payload.get("semver"):
            found[str(payload["semver"])] = int(number)
    return found


def check_registry(url: str, token: str | None, contracts_dir: Path | None, fmt: str) -> int:
    """`refract check --registry URL`: local contracts against a live registry."""
    versions = _contracts(contracts_dir)
    client = Client(url, token)
    try:
        verdicts = check_against(client, versions)
    finally:
        client.close()
    ok = all(v.ok for v in verdicts)
    if fmt == "json":
        document = {
            "registry": client.url,
            "compatible": ok,
            "results": [v.to_json() for v in verdicts],
        }
        _emit(json.dumps(document, indent=2, ensure_ascii=False))
    elif fmt == "github":
        lines = [
            f"::error::{v.label}: {v.status}: {v.detail}".replace("\n", " ")
            for v in verdicts
            if not v.ok
        ]
        if lines:
            _emit("\n".join(lines))
    else:
        lines = [
            f"{'ok  ' if v.ok else 'FAIL'} {v.label:<32} {v.status:<12} {v.detail}".rstrip()
            for v in verdicts
        ]
        bad = sum(not v.ok for v in verdicts)
        lines.append(
            f"{len(verdicts)} contract version(s) checked against {client.url}: {bad} failing"
        )
        _emit("\n".join(lines))
    return EXIT_OK if ok else EXIT_FINDINGS


# -- refract keys ------------------------------------------------------------------------------


def _key_store(data_dir: Path | None, dsn: str | None) -> Any:
    from registry_service.registry.bootstrap import open_store
    from registry_service.registry.keys import KeyStore
    from registry_service.settings import Settings, SettingsError

    try:
        settings = Settings.from_env().with_overrides(data_dir=data_dir, registry_dsn=dsn)
    except SettingsError as exc:
        raise InvalidInput(str(exc)) from None
    return KeyStore(open_store(settings))


_DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Data directory of the embedded registry (default: REFRACT_DATA_DIR or ./.refract).",
)
_DSN_OPTION = click.option(
    "--dsn", default=None, help="PostgreSQL DSN of the registry (default: REFRACT_REGISTRY_DSN)."
)


@click.group("keys")
def keys_group() -> None:
    """Create, revoke and list producers' write keys."""


@keys_group.command("create")
@click.option("--source", required=True, help="web, mobile, backend or crm.")
@click.option("--producer", "name", required=True, help="The producing team or app.")
@_DATA_DIR_OPTION
@_DSN_OPTION
def create_key(source: str, name: str, data_dir: Path | None, dsn: str | None) -> int:
    """Create a write key and print it once (only its hash is stored)."""
    from registry_service.registry.keys import InvalidKeyRequest

    try:
        key_id, raw = _key_store(data_dir, dsn).create(source, name)
    except InvalidKeyRequest as exc:
        raise click.BadParameter(str(exc)) from None
    _emit(raw)
    click.echo(
        f"key {key_id} for {source} producer {name!r}: store it now, it is not shown again",
        err=True,
    )
    return EXIT_OK


@keys_group.command("revoke")
@click.argument("key_id")
@_DATA_DIR_OPTION
@_DSN_OPTION
def revoke_key(key_id: str, data_dir: Path | None, dsn: str | None) -> int:
    """Revoke a key by its id; requests with it are refused from then on."""
    if _key_store(data_dir, dsn).revoke(key_id):
        _emit(f"revoked {key_id}")
        return EXIT_OK
    click.echo(f"refract: no active key {key_id!r}", err=True)
    return EXIT_FINDINGS


@keys_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@_DATA_DIR_OPTION
@_DSN_OPTION
def list_keys(fmt: str, data_dir: Path | None, dsn: str | None) -> int:
    """List keys (ids, producers, dates; never secrets)."""
    keys = _key_store(data_dir, dsn).list()
    if fmt == "json":
        _emit(json.dumps([k.__dict__ for k in keys], indent=2))
    else:
        _emit(
            "\n".join(
                f"{k.key_id}  {k.source:<8} {k.name:<24} created {k.created_at}"
                + (f"  REVOKED {k.revoked_at}" if k.revoked_at else "")
                for k in keys
            )
            or "no keys"
        )
    return EXIT_OK


def _emit(text: str) -> None:
    from refract.cli import emit

    emit(text)


def commands() -> Iterator[click.Command]:
    """The commands this module adds to `refract`."""
    yield registry_group
    yield keys_group
