"""Configuration of the registry service and ingestion gateway, from flags and environment.

One frozen object built once at start-up (``Settings.from_env``, then ``replace`` for command
line flags) so that every part of the service reads the same values, and a typo in a limit
fails at start-up rather than on the first busy hour. Secrets are never kept in clear: the
admin token is reduced to its SHA-256 digest as soon as it is read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

StreamKind = Literal["local", "kinesis"]

KIB = 1024
MAX_EVENT_DEPTH_CEILING = 200
MIB = 1024 * 1024


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def token_digest(token: str) -> str:
    """The stored form of a secret token: hex SHA-256 (tokens are random, so no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with. Environment names in the field docs."""

    data_dir: Path = Path(".refract")
    """REFRACT_DATA_DIR: the embedded registry (registry.db) and the local streams live here."""
    host: str = "127.0.0.1"
    """REFRACT_HOST."""
    port: int = 8080
    """REFRACT_PORT."""

    registry_dsn: str | None = None
    """REFRACT_REGISTRY_DSN: a PostgreSQL DSN; unset means SQLite under data_dir."""

    stream: StreamKind = "local"
    """REFRACT_STREAM: ``local`` (segment files under data_dir) or ``kinesis``."""
    kinesis_stream: str | None = None
    """REFRACT_KINESIS_STREAM: the events stream name (required for ``kinesis``)."""
    kinesis_dead_letter_stream: str | None = None
    """REFRACT_KINESIS_DEAD_LETTER_STREAM (default ``<kinesis_stream>-dead-letters``)."""
    kinesis_region: str | None = None
    """REFRACT_KINESIS_REGION (default: boto3's own resolution, then us-east-1)."""
    kinesis_endpoint: str | None = None
    """REFRACT_KINESIS_ENDPOINT: e.g. http://127.0.0.1:4567 for kinesis-local."""
    kinesis_max_retry_seconds: float = 4.0
    """REFRACT_KINESIS_MAX_RETRY_SECONDS: how long one put() retries throttling, failed records
    and refused connections before the request is answered 503. A request can wait for it
    twice (the events stream, then the dead-letter rescue of its events), so the default keeps
    twice this (8 s) below the SDK's 10 s request timeout: producers see the 503 and retry."""

    admin_token_sha256: str | None = field(default=None, repr=False)
    """Digest of REFRACT_ADMIN_TOKEN (or REFRACT_ADMIN_TOKEN_SHA256 given directly)."""
    read_auth: bool = False
    """REFRACT_READ_AUTH=1: registry reads need a write key or the admin token too."""
    cors_origins: tuple[str, ...] = ()
    """REFRACT_CORS_ORIGINS: comma-separated origins allowed by CORS; empty means no CORS."""

    pii_key: bytes | None = field(default=None, repr=False)
    """REFRACT_PII_KEY: HMAC key for direct identifiers. Unset: a random key kept in
    <data_dir>/pii.key, so that hashes stay joinable across restarts of one installation."""

    max_body_bytes: int = 1 * MIB
    """REFRACT_MAX_BODY_BYTES: a request body as sent (compressed or not)."""
    max_decompressed_bytes: int = 4 * MIB
    """REFRACT_MAX_DECOMPRESSED_BYTES: a request body after gzip (zip-bomb cap)."""
    max_event_bytes: int = 64 * KIB
    """REFRACT_MAX_EVENT_BYTES: one serialized event (the SDK's own limit is 32 KiB)."""
    max_event_depth: int = 32
    """REFRACT_MAX_EVENT_DEPTH: nesting of one event (objects and arrays); a deeper event is
    rejected alone (``too_deep``) before anything recursive touches it. At most 200 (orjson
    writes 255 levels, and a stream record wraps the event)."""
    max_batch_events: int = 1000
    """REFRACT_MAX_BATCH_EVENTS: events in one request (the SDK sends at most 500)."""
    dead_letter_payload_cap: int = 64 * KIB
    """REFRACT_DEAD_LETTER_PAYLOAD_CAP: bytes of an oversize or unreadable body kept in its
    dead letter (base64); the rest is dropped and the record says how long the body was."""

    schema_refresh_seconds: float = 5.0
    """REFRACT_SCHEMA_REFRESH_SECONDS: how often the registry generation is polled."""
    negative_cache_seconds: float = 2.0
    """REFRACT_NEGATIVE_CACHE_SECONDS: an unknown contract version is asked again after this."""

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced (command line flags win over environment);
        ``None`` values are ignored so unset flags keep the environment's value."""
        kept = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **kept)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``REFRACT_*`` variables (``os.environ`` by default)."""
        env = os.environ if env is None else env

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int, minimum: int = 1) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw!r} is not an integer") from None
            if value < minimum:
                raise SettingsError(f"{name}={value} is below the minimum {minimum}")
            return value

        def number(name: str, default: float) -> float:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw!r} is not a number") from None
            if value < 0:
                raise SettingsError(f"{name}={value} is negative")
            return value

        stream = (text("REFRACT_STREAM") or "local").lower()
        if stream not in ("local", "kinesis"):
            raise SettingsError(f"REFRACT_STREAM={stream!r}: expected 'local' or 'kinesis'")
        admin_digest = text("REFRACT_ADMIN_TOKEN_SHA256")
        admin_token = text("REFRACT_ADMIN_TOKEN")
        if admin_token is not None:
            admin_digest = token_digest(admin_token)
        pii = text("REFRACT_PII_KEY")
        origins = tuple(
            o.strip() for o in (text("REFRACT_CORS_ORIGINS") or "").split(",") if o.strip()
        )
        settings = cls(
            data_dir=Path(text("REFRACT_DATA_DIR") or ".refract"),
            host=text("REFRACT_HOST") or "127.0.0.1",
            port=integer("REFRACT_PORT", 8080, minimum=0),
            registry_dsn=text("REFRACT_REGISTRY_DSN"),
            stream=stream,  # type: ignore[arg-type]
            kinesis_stream=text("REFRACT_KINESIS_STREAM"),
            kinesis_dead_letter_stream=text("REFRACT_KINESIS_DEAD_LETTER_STREAM"),
            kinesis_region=text("REFRACT_KINESIS_REGION"),
            kinesis_endpoint=text("REFRACT_KINESIS_ENDPOINT"),
            kinesis_max_retry_seconds=number(
                "REFRACT_KINESIS_MAX_RETRY_SECONDS", cls.kinesis_max_retry_seconds
            ),
            admin_token_sha256=admin_digest,
            read_auth=(text("REFRACT_READ_AUTH") or "0").lower() in ("1", "true", "yes", "on"),
            cors_origins=origins,
            pii_key=pii.encode() if pii else None,
            max_body_bytes=integer("REFRACT_MAX_BODY_BYTES", cls.max_body_bytes),
            max_decompressed_bytes=integer(
                "REFRACT_MAX_DECOMPRESSED_BYTES", cls.max_decompressed_bytes
            ),
            max_event_bytes=integer("REFRACT_MAX_EVENT_BYTES", cls.max_event_bytes),
            max_event_depth=integer("REFRACT_MAX_EVENT_DEPTH", cls.max_event_depth),
            max_batch_events=integer("REFRACT_MAX_BATCH_EVENTS", cls.max_batch_events),
            dead_letter_payload_cap=integer(
                "REFRACT_DEAD_LETTER_PAYLOAD_CAP", cls.dead_letter_payload_cap
            ),
            schema_refresh_seconds=number(
                "REFRACT_SCHEMA_REFRESH_SECONDS", cls.schema_refresh_seconds
            ),
            negative_cache_seconds=number(
                "REFRACT_NEGATIVE_CACHE_SECONDS", cls.negative_cache_seconds
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError for combinations that cannot work."""
        if self.stream == "kinesis" and not self.kinesis_stream:
            raise SettingsError("REFRACT_STREAM=kinesis needs REFRACT_KINESIS_STREAM")
        if self.negative_cache_seconds > 10:
            raise SettingsError(
                "REFRACT_NEGATIVE_CACHE_SECONDS above 10 s would hide newly registered versions"
            )
        if not 1 <= self.max_event_depth <= MAX_EVENT_DEPTH_CEILING:
            raise SettingsError(
                f"REFRACT_MAX_EVENT_DEPTH={self.max_event_depth}: expected 1 to "
                f"{MAX_EVENT_DEPTH_CEILING}"
            )
        if self.max_decompressed_bytes < self.max_event_bytes:
            raise SettingsError("REFRACT_MAX_DECOMPRESSED_BYTES is below REFRACT_MAX_EVENT_BYTES")

    @property
    def dead_letter_stream_name(self) -> str | None:
        if self.kinesis_dead_letter_stream:
            return self.kinesis_dead_letter_stream
        return f"{self.kinesis_stream}-dead-letters" if self.kinesis_stream else None

    def admin_token_matches(self, candidate: str) -> bool:
        """Whether ``candidate`` is the admin token; constant time, False when none is set."""
        if not self.admin_token_sha256:
            return False
        return hmac.compare_digest(token_digest(candidate), self.admin_token_sha256)

    def resolved_pii_key(self) -> bytes:
        """The configured PII key, or the installation's own (created on first use, 0600)."""
        if self.pii_key:
            return self.pii_key
        path = self.data_dir / "pii.key"
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            pass
        from pipeline.streams.private import private_directory

        private_directory(self.data_dir)
        key = secrets.token_hex(32).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        return key
