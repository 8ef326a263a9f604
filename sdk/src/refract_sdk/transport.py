"""HTTP to the gateway: request building, response parsing and failure classification.

The wire protocol is docs/ingestion-protocol.md. Classification is the heart of the delivery
guarantees, so it is one pure function (``classify``) shared by the thread, sync and asyncio
senders:

* network errors, timeouts, 408, 429 and 5xx are retryable (the batch may not have been
  processed, and the event ids make a repeat harmless);
* any other 4xx is final for the whole batch: retrying a malformed or unauthorized request can
  only fail again, so its events go to ``on_error`` with the server's reason;
* 2xx means the batch was processed; a 200 body lists per-event results and only the events it
  marks ``rejected`` failed.
"""

from __future__ import annotations

import encodings.idna  # noqa: F401  (see below)
import json
from dataclasses import dataclass
from typing import Any

import httpx

from refract_sdk.errors import Reason
from refract_sdk.options import SDK_NAME, SDK_VERSION
from refract_sdk.retry import parse_retry_after

__all__ = [
    "Accepted",
    "AsyncTransport",
    "Failed",
    "Outcome",
    "Rejection",
    "Retryable",
    "SyncTransport",
    "classify",
    "classify_exception",
    "events_url",
]

# Fork safety: a module imported lazily by the sender thread can be caught half-initialized by
# a fork(), and the child then sees a broken module. ``encodings.idna`` is what the first
# connection imports (host name encoding); httpx's own lazy imports (httpcore) happen when the
# client is built, which emitters do in the constructing thread, never in the sender.

_RETRYABLE_STATUS = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class Rejection:
    """One event the server refused inside an otherwise processed batch."""

    event_id: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """The batch was processed; events not listed in ``rejected`` count as delivered."""

    rejected: tuple[Rejection, ...] = ()


@dataclass(frozen=True, slots=True)
class Retryable:
    reason: str
    message: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The whole batch failed for good (4xx other than 408 / 429)."""

    status: int
    reason: str
    message: str


Outcome = Accepted | Retryable | Failed


def events_url(endpoint: str) -> str:
    return endpoint.rstrip("/") + "/v1/events"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error_fields(body: bytes, status: int) -> tuple[str, str]:
    data = _json(body)
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        message = data.get("message")
        return data["error"], message if isinstance(message, str) else ""
    return f"{Reason.HTTP_ERROR}_{status}", f"HTTP {status}"


def classify(status: int, headers: httpx.Headers | dict[str, str], body: bytes) -> Outcome:
    """Turn a response into an outcome (see the module docstring)."""
    if 200 <= status < 300:
        data = _json(body)
        rejected: list[Rejection] = []
        results = data.get("results") if isinstance(data, dict) else None
        if isinstance(results, list):
            for item in results:
                if (
                    isinstance(item, dict)
                    and item.get("status") == "rejected"
                    and isinstance(item.get("event_id"), str)
                ):
                    reason = item.get("reason")
                    message = item.get("message")
                    rejected.append(
                        Rejection(
                            item["event_id"],
                            reason if isinstance(reason, str) else "rejected",
                            message if isinstance(message, str) else "",
                        )
                    )
        return Accepted(tuple(rejected))
    reason, message = _error_fields(body, status)
    if status in _RETRYABLE_STATUS or status >= 500:
        retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
        return Retryable(reason, message, retry_after)
    return Failed(status, reason, message)


def classify_exception(exc: BaseException) -> Retryable:
    """Network-level failures are always retryable: the server may never have seen the batch."""
    if isinstance(exc, httpx.TimeoutException):
        return Retryable("timeout", type(exc).__name__)
    return Retryable("network_error", type(exc).__name__)


def _headers(write_key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {write_key}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "User-Agent": f"{SDK_NAME}/{SDK_VERSION}",
    }


class SyncTransport:
    """A blocking httpx client bound to one endpoint (one per process generation: after a fork
    the child builds its own, because pooled sockets must not be shared across processes)."""

    def __init__(self, endpoint: str, write_key: str, timeout: float) -> None:
        self.url = events_url(endpoint)
        self._timeout = timeout
        self._client = httpx.Client(headers=_headers(write_key), timeout=timeout)

    def post(self, body: bytes, timeout: float | None = None) -> Outcome:
        try:
            response = self._client.post(
                self.url, content=body, timeout=self._timeout if timeout is None else timeout
            )
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: client closed by close()
            return classify_exception(exc)
        return classify(response.status_code, response.headers, response.content)

    def close(self) -> None:
        self._client.close()


class AsyncTransport:
    """The asyncio twin of ``SyncTransport``."""

    def __init__(self, endpoint: str, write_key: str, timeout: float) -> None:
        self.url = events_url(endpoint)
        self._timeout = timeout
        self._client = httpx.AsyncClient(headers=_headers(write_key), timeout=timeout)

    async def post(self, body: bytes, timeout: float | None = None) -> Outcome:
        try:
            response = await self._client.post(
                self.url, content=body, timeout=self._timeout if timeout is None else timeout
            )
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: client closed by close()
            return classify_exception(exc)
        return classify(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        await self._client.aclose()
