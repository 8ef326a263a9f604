"""Write keys: how producers authenticate to the gateway.

A raw key is `rfk_<key_id>_<secret>`. The key id is public (it appears in logs and in every
event's gateway metadata); the secret is shown once, when the key is created, and only its
SHA-256 is stored. The secret is 256 random bits, so a plain hash is as strong as a slow one
here (slow hashes defend guessable passwords) and keeps verification cheap on every request.
Digests are compared with hmac.compare_digest, so timing does not reveal how much matched.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

from registry_service.model import Producer, Source
from registry_service.registry.store import KeyRow, Store

PREFIX = "rfk_"
SOURCES: tuple[str, ...] = get_args(Source)
_KEY = re.compile(r"^rfk_([0-9a-f]{16})_([A-Za-z0-9_-]{20,200})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class InvalidKeyRequest(ValueError):
    """A key cannot be created as asked (unknown source, bad producer name)."""


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: never the secret, nor its hash."""

    key_id: str
    source: str
    name: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# A digest compared against when the key id is unknown, so that unknown ids and wrong secrets
# take the same time.
_DUMMY = _digest("refract-unknown-key")


class KeyStore:
    """Create, revoke, list and verify write keys kept in the registry's database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, source: str, name: str) -> tuple[str, str]:
        """A new key for producer `name` of `source`: (key_id, raw key). The raw key is not
        stored anywhere and cannot be shown again."""
        if source not in SOURCES:
            raise InvalidKeyRequest(
                f"unknown source {source!r}: expected one of {', '.join(SOURCES)}"
            )
        if not _NAME.match(name):
            raise InvalidKeyRequest(
                f"producer name {name!r} must be 1-100 characters of letters, digits, '.', '_' "
                "or '-', starting with a letter or digit"
            )
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        row = KeyRow(key_id, source, name, _digest(secret), _now(), None)
        with self.store.write() as tx:
            tx.insert_key(row)
        return key_id, f"{PREFIX}{key_id}_{secret}"

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; False when no active key has this id."""
        with self.store.write() as tx:
            return tx.revoke_key(key_id, _now())

    def list(self) -> list[KeyInfo]:
        with self.store.read() as tx:
            rows = tx.keys()
        return [KeyInfo(r.key_id, r.source, r.name, r.created_at, r.revoked_at) for r in rows]

    def verify(self, raw_key: str) -> Producer | None:
        """The producer a raw key belongs to; None when malformed, unknown, wrong or revoked."""
        match = _KEY.match(raw_key.strip()) if isinstance(raw_key, str) else None
        if match is None:
            return None
        key_id, secret = match.groups()
        with self.store.read() as tx:
            row = tx.key(key_id)
        expected = row.secret_sha256 if row is not None else _DUMMY
        matches = hmac.compare_digest(_digest(secret), expected)
        if row is None or not matches or row.revoked_at is not None:
            return None
        return Producer(key_id=row.key_id, source=row.source, name=row.name)
